"""Screenshots of the demo's report pages, for people reviewing a change to the reports.

Runs ``driftmon demo`` in a temporary folder, opens its pages in headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright, as the tests do) at 1280 px wide and writes PNGs to
``docs/screenshots/``: the status board, the dataset page, a drifted and a healthy run page
(whole pages), and ``report.png``, the top of the drifted run page that the README shows.

Run: ``make screenshots`` (not part of the tests).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
DRIFTMON = str(Path(sys.executable).with_name("driftmon"))
#: PNG name -> page under the demo's folder; run 3 is the batch where order_value moved.
PAGES = {
    "status-board.png": "reports/index.html",
    "dataset.png": "reports/orders/index.html",
    "run-drifted.png": "reports/orders/run-3.html",
    "run-healthy.png": "reports/orders/run-1.html",
}
README_SHOT = ("report.png", "reports/orders/run-3.html", 1_500)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent / "screenshots"
    parser.add_argument("--out", type=Path, default=default, help=f"default {default}")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"error: {CHROMIUM} is absent; install Debian's chromium (apt-get install chromium)")
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [DRIFTMON, "demo"], cwd=work, check=True, stdout=subprocess.DEVNULL, env=_quiet_env()
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for name, relative in PAGES.items():
                page.goto((Path(work) / relative).as_uri(), wait_until="load")
                page.screenshot(path=str(args.out / name), full_page=True)
                print(f"wrote {args.out / name}")
            name, relative, height = README_SHOT
            page.set_viewport_size({"width": 1280, "height": height})
            page.goto((Path(work) / relative).as_uri(), wait_until="load")
            page.screenshot(path=str(args.out / name))
            print(f"wrote {args.out / name}")
            browser.close()
    return 0


def _quiet_env() -> dict[str, str]:
    """This environment without a Prefect API or any driftmon setting (database, config,
    notification targets): the demo as a new user runs it, in its own folder."""
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DRIFTMON_"))}


if __name__ == "__main__":
    sys.exit(main())
