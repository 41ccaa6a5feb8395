"""Payloads in every string a user controls (column, category, dataset, file name, batch key)
are inert: shown as text by the command, escaped in the report (checked in Chromium) and in an
e-mail's HTML, harmless to the store, and no file lands outside the reports folder."""

from __future__ import annotations

import email
import email.policy
import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import DRIFTMON
from receivers import smtp_mailbox

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE runs; --"
PAYLOAD = f'{SCRIPT}{SQL}"'
DATASET = f"{PAYLOAD}/../../outside"
FILE = "2026-11-02 <img src=x onerror=alert(2)>.csv"
CHROMIUM = Path("/usr/bin/chromium")


def test_payloads_everywhere_are_inert(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    rng = np.random.default_rng(9)
    reference = pd.DataFrame(
        {PAYLOAD: rng.normal(size=2_000), "kind": rng.choice([PAYLOAD, "plain"], 2_000)}
    )
    reference.to_csv(work / "reference.csv", index=False)
    batch = pd.DataFrame({PAYLOAD: rng.normal(3, 1, 500), "kind": [PAYLOAD] * 500})
    batch.to_csv(work / FILE, index=False)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with smtp_mailbox() as mailbox:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))
        }
        env.update(
            DRIFTMON_PREFECT="never",
            DRIFTMON_NOTIFY=f"mailto://ops:pass@127.0.0.1:{mailbox.port}?to=a@example.org"
            "&from=driftmon@example.org&secure=no",
        )
        outputs = []
        for args in (
            ["reference", DATASET, "-s", "reference.csv"],
            ["check", DATASET, "-s", FILE, "--batch-key", PAYLOAD],
            ["history", DATASET],
            ["alerts", "list"],
        ):
            done = subprocess.run(
                [DRIFTMON, *args], cwd=work, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout)
    # the command prints names as written: as text, never as markup or escapes
    assert PAYLOAD in outputs[1] and "\x1b" not in "".join(outputs)
    # the store holds the names as data; no statement ran from them
    with sqlite3.connect(work / "driftmon.db") as connection:
        assert connection.execute("SELECT name FROM datasets").fetchall() == [(DATASET,)]
        assert connection.execute("SELECT batch_key FROM runs").fetchall() == [(PAYLOAD,)]
    # files: the database and the reports folder, nothing elsewhere (not above `work`)
    written = sorted(set(str(p) for p in tmp_path.rglob("*")) - set(before))
    outside = [
        p for p in written if not p.startswith((str(work / "reports"), str(work / "driftmon.db")))
    ]
    assert outside == [], outside
    pages = list((work / "reports").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert SCRIPT not in html and "<img src=x" not in html, page
    # the e-mail: plain text (no part a mail client renders as HTML), or escaped HTML
    [envelope] = mailbox.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    parts = [p for p in mail.walk() if not p.is_multipart()]
    for part in parts:
        if part.get_content_type() == "text/html":
            assert SCRIPT not in part.get_content() and "&lt;script&gt;" in part.get_content()
        else:
            assert part.get_content_type() == "text/plain"
            assert PAYLOAD in part.get_content()  # as written, in text nothing renders
    # and in a real browser the report runs no script and shows the payload as text
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    run_page = next(p for p in pages if p.name.startswith("run-"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(run_page.as_uri(), wait_until="load")
        assert page.evaluate("document.scripts.length") == 0
        assert page.get_by_text(PAYLOAD, exact=False).first.is_visible()
        assert dialogs == []
        browser.close()
