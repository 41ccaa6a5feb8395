"""HTML reports built from a real store: structure and safety of the files, then a real browser.

The store is filled end to end by the pipeline steps (files → profiles → comparison → policy →
store) for the example order feed and for a dataset whose column is named like an XSS attack.
Browser tests drive Debian's Chromium with Playwright (see /work/shared/TESTING_NOTES.md) and
are skipped only when ``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import run_driftmon
from sqlalchemy import Engine

from driftmon import StoreError, pipeline, store
from driftmon.examples import generate_example_data
from driftmon.options import DatasetOptions
from driftmon.report import (
    data,
    dataset_folder_name,
    render_dataset_index,
    render_run_report,
    render_status_board,
    write_reports,
)
from driftmon.report.html import breakable

EVIL = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_BYTES = 2_000_000
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*https?:|url\(\s*["']?\s*https?:""", re.I)


@dataclass(frozen=True)
class Reports:
    engine: Engine
    folder: Path
    paths: dict[str, list[Path]]  # dataset → run report paths, oldest first
    run_ids: dict[str, list[int]]


def _check_all(engine: Engine, dataset: str, batches: list[Path], start: datetime) -> list[int]:
    settings = DatasetOptions()
    reference = pipeline.load_reference(engine, dataset)
    ids = []
    for i, batch in enumerate(batches):
        plan = pipeline.plan_batch(str(batch))
        current = pipeline.profile_batch(plan, reference.profile, settings)
        comparison, verdict = pipeline.evaluate_batch(reference.profile, current, settings)
        result = pipeline.record_run(
            engine,
            dataset=dataset,
            plan=plan,
            reference=reference,
            comparison=comparison,
            verdict=verdict,
            current=current,
            options=settings,
            started_at=start + timedelta(hours=i),
        )
        ids.append(result.run_id)
    return ids


def _reference(engine: Engine, dataset: str, source: Path) -> None:
    settings = DatasetOptions()
    profile, description, _ = pipeline.build_reference_profile(str(source), settings)
    pipeline.save_reference(engine, dataset, profile, description, settings)


def _evil_frames(rng: np.random.Generator) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    def frame(n: int, shift: float, tiers: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                EVIL: rng.normal(shift, 1.0, n),
                "amount": rng.gamma(2.0, 10.0, n),
                "tier": rng.choice(tiers, n),
            }
        )

    reference = frame(4_000, 0.0, ["gold", "silver", "bronze"])
    healthy = frame(1_500, 0.0, ["gold", "silver", "bronze"])
    drifted = frame(1_500, 1.0, ["gold", "silver", "bronze", "<b>platinum</b>"])
    drifted["new_column"] = 1
    without_tier = frame(1_500, 0.0, ["gold"]).drop(columns="tier")
    return reference, [healthy, drifted, without_tier]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    root = tmp_path_factory.mktemp("reports")
    engine = store.open_store(f"sqlite:///{root / 'driftmon.db'}")
    start = datetime(2026, 11, 1, 6, tzinfo=UTC)

    example = generate_example_data(root / "orders", reference_rows=8_000, batch_rows=2_000)
    _reference(engine, "orders", example.reference)
    run_ids = {"orders": _check_all(engine, "orders", example.batches, start)}

    reference_frame, batch_frames = _evil_frames(np.random.default_rng(20261103))
    evil_folder = root / "evil"
    evil_folder.mkdir()
    reference_frame.to_parquet(evil_folder / "reference.parquet")
    batch_paths = []
    for i, batch in enumerate(batch_frames):
        batch_paths.append(evil_folder / f"2026-11-0{i + 1}.parquet")
        batch.to_parquet(batch_paths[-1])
    dataset = f"shop {EVIL}"
    _reference(engine, dataset, evil_folder / "reference.parquet")
    run_ids[dataset] = _check_all(engine, dataset, batch_paths, start)

    folder = root / "html"
    paths: dict[str, list[Path]] = {}
    for name, ids in run_ids.items():
        for run_id in ids:
            with store.session_scope(engine) as session:
                paths.setdefault(name, []).append(write_reports(session, run_id, folder))
    return Reports(engine, folder, paths, run_ids)


def _evil_run(reports: Reports) -> Path:
    """The run where the evil column drifted, a new column arrived and a category is new."""
    return reports.paths[f"shop {EVIL}"][1]


def _feature_sections(page: str) -> dict[str, str]:
    """Feature name (unescaped) → its detail section's HTML."""
    sections = re.findall(r'<section class="feature" id="[^"]+">(.*?)</section>', page, re.S)
    named = {}
    for section in sections:
        heading = re.search(r"<h3>(.*?) <span", section, re.S)
        assert heading, section[:200]
        named[html.unescape(heading.group(1).replace("<wbr>", ""))] = section
    return named


# --------------------------------------------------------------------------------------------
# Files


def test_write_reports_lays_out_run_dataset_and_overview_pages(reports: Reports) -> None:
    for dataset, paths in reports.paths.items():
        folder = reports.folder / dataset_folder_name(dataset)
        assert [p.name for p in paths] == [f"run-{i}.html" for i in reports.run_ids[dataset]]
        assert all(p.parent == folder and p.is_file() for p in paths)
        assert (folder / "index.html").is_file()
    assert (reports.folder / "index.html").is_file()
    assert dataset_folder_name(f"shop {EVIL}") != f"shop {EVIL}"  # sanitised for the disk


def test_write_reports_records_the_report_path_on_the_run(reports: Reports) -> None:
    run_id = reports.run_ids["orders"][-1]
    with store.session_scope(reports.engine) as session:
        assert store.load_run(session, run_id).report_path == str(reports.paths["orders"][-1])


def test_every_drifted_feature_is_shown_with_its_chart(reports: Reports) -> None:
    checked = 0
    for dataset, ids in reports.run_ids.items():
        for run_id, path in zip(ids, reports.paths[dataset], strict=True):
            with store.session_scope(reports.engine) as session:
                run = store.load_run(session, run_id)
            sections = _feature_sections(path.read_text(encoding="utf-8"))
            assert set(sections) == {f.feature for f in run.features}
            for feature in run.features:
                if feature.status not in ("warning", "critical"):
                    continue
                image = re.search(
                    r'<img class="chart" src="data:image/png;base64,([^"]+)"',
                    sections[feature.feature],
                )
                assert image, f"no chart for drifted `{feature.feature}` in run {run_id}"
                assert base64.b64decode(image.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
                checked += 1
    assert checked >= 5  # the example's four drifted batches and the evil column


def test_features_that_did_not_move_get_a_note_and_all_charts_draws_them(
    reports: Reports, tmp_path: Path
) -> None:
    run_id = reports.run_ids["orders"][0]  # the healthy first batch
    with store.session_scope(reports.engine) as session:
        run = store.load_run(session, run_id)
        with_findings = {reading.feature for reading in run.findings}
        quiet = [
            f.feature for f in run.features if f.status == "ok" and f.feature not in with_findings
        ]
        assert quiet, "the healthy batch should have features that did not move"
        default = _feature_sections(reports.paths["orders"][0].read_text(encoding="utf-8"))
        full_path = write_reports(session, run_id, tmp_path, all_charts=True)
    full = _feature_sections(full_path.read_text(encoding="utf-8"))
    for feature in quiet:
        assert "<img" not in default[feature]
        assert "--all-charts" in default[feature]
        assert '<img class="chart" src="data:image/png;base64,' in full[feature]
    assert all("<img" in section for section in full.values())


def test_drifted_features_come_first_in_the_feature_table(reports: Reports) -> None:
    page = reports.paths["orders"][2].read_text(encoding="utf-8")  # shifted order_value
    table = page.split('<table class="features">', 1)[1].split("</table>", 1)[0]
    statuses = re.findall(r'<tr class="(critical|warning|ok|empty)">', table)
    rank = {"critical": 0, "warning": 1, "ok": 2, "empty": 3}
    assert statuses and statuses == sorted(statuses, key=rank.__getitem__)
    assert statuses[0] in ("critical", "warning")
    assert re.search(r'<td class="name"><a href="#feature-0">order_<wbr>value</a>', table)


def test_top_bins_are_described_in_words(reports: Reports) -> None:
    page = reports.paths["orders"][2].read_text(encoding="utf-8")
    section = _feature_sections(page)["order_value"]
    assert re.search(r"<code>\[[^<]+\)</code>: \d+(\.\d+)?% → \d+(\.\d+)?% of rows", section)


def test_findings_and_schema_changes_are_all_shown(reports: Reports) -> None:
    dataset = f"shop {EVIL}"
    for run_id, path in zip(reports.run_ids[dataset], reports.paths[dataset], strict=True):
        page = path.read_text(encoding="utf-8")
        with store.session_scope(reports.engine) as session:
            run = store.load_run(session, run_id)
        for finding in run.findings:
            assert html.escape(finding.message, quote=False) in page.replace("&#39;", "'")
        for name in run.schema_diff["missing"] + run.schema_diff["new"]:
            assert f"<code>{breakable(name)}</code>" in page
    drifted, dropped = (p.read_text(encoding="utf-8") for p in reports.paths[dataset][1:])
    assert "<code>new_<wbr>column</code>" in drifted
    assert "<code>tier</code>" in dropped and "missing</strong> from the batch" in dropped


def test_pages_reference_no_remote_resources_and_carry_no_script(reports: Reports) -> None:
    pages = sorted(reports.folder.rglob("*.html"))
    assert len(pages) == sum(len(p) for p in reports.paths.values()) + len(reports.paths) + 1
    for path in pages:
        page = path.read_text(encoding="utf-8")
        assert not REMOTE.search(page), path
        assert "<script" not in page.lower(), path
        assert "<link" not in page.lower() and "@import" not in page, path


def test_a_column_named_like_a_script_is_escaped_text(reports: Reports) -> None:
    page = _evil_run(reports).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "&lt;b&gt;platinum&lt;/b&gt;" in page  # an unseen category, also escaped
    assert "<b>platinum" not in page


def test_reports_stay_under_two_megabytes(reports: Reports) -> None:
    for path in reports.folder.rglob("*.html"):
        assert path.stat().st_size < MAX_BYTES, path


def test_index_pages_link_to_every_run_report(reports: Reports) -> None:
    overview = (reports.folder / "index.html").read_text(encoding="utf-8")
    for dataset, paths in reports.paths.items():
        folder = dataset_folder_name(dataset)
        assert f'href="{folder}/index.html"' in overview
        assert f'href="{folder}/{paths[-1].name}"' in overview
        index = (reports.folder / folder / "index.html").read_text(encoding="utf-8")
        for path in paths:
            assert f'href="{path.name}"' in index
        # KL over runs of the features that drifted (both datasets drifted), one SVG panel
        # each, the most moved first; the heatmap is a table: no image on the page at all
        assert 'src="data:image/png;base64,' not in index
        assert index.count('<svg class="kl-panels"') == 1
        assert '<table class="heatmap">' in index
        with store.session_scope(reports.engine) as session:
            runs = [store.load_run(session, run_id) for run_id in reports.run_ids[dataset]]
        drifted = {
            f.feature for run in runs for f in run.features if f.status in ("warning", "critical")
        }
        panels = [html.unescape(name) for name in re.findall(r"<g><title>([^<]*)</title>", index)]
        assert drifted and sorted(panels) == sorted(drifted)
    for path in reports.folder.rglob("*.html"):
        for target in re.findall(r'href="([^"#]+)"', path.read_text(encoding="utf-8")):
            assert (path.parent / target).resolve().is_file(), f"{path}: broken link {target}"


def _dataset_page_in_a_new_process(
    tmp_path: Path, batches: str, verdicts: list[str]
) -> tuple[bool, str]:
    """Checks ``batches`` (an expression over the example data ``example``) into a new store in
    a new process, whose runs must have ``verdicts``, and renders the dataset page: whether
    that loaded matplotlib, and the page."""
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import UTC, datetime
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_report import _check_all, _reference
        from driftmon import store
        from driftmon.examples import generate_example_data
        from driftmon.report import render_dataset_index

        root = Path({str(tmp_path)!r})
        engine = store.open_store(f"sqlite:///{{root / 'driftmon.db'}}")
        example = generate_example_data(root / "orders", reference_rows=4_000, batch_rows=1_000)
        _reference(engine, "orders", example.reference)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        run_ids = _check_all(engine, "orders", {batches}, start)
        with store.session_scope(engine) as session:
            verdicts = [store.load_run(session, run_id).verdict for run_id in run_ids]
            assert verdicts == {verdicts!r}, verdicts
            page = render_dataset_index(session, "orders")
        (root / "page.html").write_text(page, encoding="utf-8")
        print("matplotlib" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip() == "True", (tmp_path / "page.html").read_text(encoding="utf-8")


def test_a_dataset_page_without_drift_draws_no_chart_and_loads_no_matplotlib(
    tmp_path: Path,
) -> None:
    # the reference itself, checked as a batch
    loaded, page = _dataset_page_in_a_new_process(tmp_path, "[example.reference]", ["ok"])
    assert not loaded
    assert 'src="data:image/png;base64,' not in page
    assert "No feature drifted in these runs" in page
    assert '<table class="heatmap">' in page


def test_a_quiet_check_after_a_drifted_one_redraws_history_without_matplotlib(
    tmp_path: Path,
) -> None:
    """The dataset page is redrawn on every check, and its KL-over-runs panels are SVG: once
    any run in the window drifted, matplotlib's 0.5 s import would otherwise be paid by every
    later check, however quiet."""
    drifted = "max(example.batches, key=lambda b: len(example.expected_drift[b.name]))"
    loaded, page = _dataset_page_in_a_new_process(
        tmp_path, f"[{drifted}, example.reference]", ["critical", "ok"]
    )
    assert not loaded
    assert page.count('<svg class="kl-panels"') == 1
    assert page.count("<polyline points=") >= 1
    # the drifted run (#1) is marked, with its run and KL for a tooltip
    assert re.search(r'fill="#D55E00"><title>#1 2026-11-\d\d: KL [0-9.]+, drifted</title>', page)


def test_the_never_seen_list_says_how_many_rows_it_covers(tmp_path: Path) -> None:
    """30 never-seen values in 465 rows: the page lists the 20 most frequent and says how many
    rows they hold of all the never-seen ones (the new-user trial could not tell)."""
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], 5_000)})
    new_values = [f"trial_{i:02d}" for i in range(30) for _ in range(i + 1)]  # 465 rows
    batch = pd.DataFrame({"plan": [*rng.choice(["basic", "plus", "pro"], 1_000), *new_values]})
    reference.to_parquet(tmp_path / "reference.parquet")
    batch.to_parquet(tmp_path / "2026-11-02.parquet")
    engine = store.open_store(f"sqlite:///{tmp_path / 'driftmon.db'}")
    _reference(engine, "plans", tmp_path / "reference.parquet")
    start = datetime(2026, 11, 2, tzinfo=UTC)
    (run_id,) = _check_all(engine, "plans", [tmp_path / "2026-11-02.parquet"], start)
    with store.session_scope(engine) as session:
        page = render_run_report(session, run_id)
    engine.dispose()
    listed = sum(range(11, 31))  # trial_10 .. trial_29: the 20 most frequent
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"Values the reference never saw, in 465 rows ({listed} of them in the 20 most" in text
    assert "trial_29 (30)" in text and "trial_09" not in text


def test_control_characters_in_names_are_shown_as_escapes_on_every_page(tmp_path: Path) -> None:
    """A column, a dataset and a batch file named with an escape character (ESC): every page
    shows it as the CLI does (`\\x1b`), in headings, titles, attributes and sentences alike."""
    rng = np.random.default_rng(5)
    column = "amount\x1b[31m"
    reference = pd.DataFrame(
        {column: rng.normal(0, 1, 4_000), "tier": rng.choice(["a", "b"], 4_000)}
    )
    batch = pd.DataFrame(
        {column: rng.normal(1.5, 1, 1_500), "tier": rng.choice(["a", "b", "c\x1b"], 1_500)}
    )
    reference.to_parquet(tmp_path / "reference.parquet")
    batch_path = tmp_path / "2026-11-02-late\x1b.parquet"
    batch.to_parquet(batch_path)
    engine = store.open_store(f"sqlite:///{tmp_path / 'driftmon.db'}")
    dataset = "shop\x1b"
    _reference(engine, dataset, tmp_path / "reference.parquet")
    (run_id,) = _check_all(engine, dataset, [batch_path], datetime(2026, 11, 2, tzinfo=UTC))
    with store.session_scope(engine) as session:
        run_page = write_reports(session, run_id, tmp_path / "html")
    engine.dispose()

    pages = sorted((tmp_path / "html").rglob("*.html"))
    assert run_page in pages and len(pages) == 3  # run page, dataset page, status board
    for path in pages:
        assert "\x1b" not in path.read_text(encoding="utf-8"), path
    page = run_page.read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "<title>shop\\x1b · 2026-11-02-late\\x1b.parquet" in page
    assert "amount\\x1b[31m (critical)" in text  # the verdict sentence
    assert "<h3>amount\\x1b[31m <span" in page
    assert 'alt="Reference and current distribution of amount\\x1b[31m"' in page
    assert "c\\x1b" in text  # a category the reference never saw


def test_heatmap_cells_show_each_runs_kl_and_drift(reports: Reports) -> None:
    dataset = f"shop {EVIL}"
    index = (reports.folder / dataset_folder_name(dataset) / "index.html").read_text("utf-8")
    titles = [html.unescape(t) for t in re.findall(r'<td style="[^"]*" title="([^"]*)"', index)]
    with store.session_scope(reports.engine) as session:
        runs = [store.load_run(session, run_id) for run_id in reports.run_ids[dataset]]
    expected = set()
    for run in runs:
        for feature in run.features:
            if feature.kl is None:
                continue
            suffix = ", drifted" if feature.status in ("warning", "critical") else ""
            expected.add((feature.feature, f"KL {feature.kl:.3g}{suffix}"))
    shown = {(t.split(" · ")[0], t.split(": ", 1)[1]) for t in titles if "not measured" not in t}
    assert shown == expected
    assert any(EVIL in t and "drifted" in t for t in titles)  # escaped, yet shown as text
    assert EVIL not in index  # the raw name never reaches the markup


def test_an_older_runs_page_says_its_alerts_are_todays(reports: Reports) -> None:
    """Alerts follow the newest batches: an older run's page (redrawn with `driftmon report
    --run`) says that the alerts it lists are those open now, not after that run."""
    oldest, *_, newest = reports.run_ids["orders"]
    with store.session_scope(reports.engine) as session:
        old_page = render_run_report(session, oldest)
        new_page = render_run_report(session, newest)
        open_now = store.list_alerts(session, "orders")

    assert "Alerts open now for orders" in old_page and "not the dataset's newest" in old_page
    assert "Open alerts for orders" in new_page and "not the dataset's newest" not in new_page
    for page in (old_page, new_page):  # the same alerts on both: today's
        assert all(html.escape(a.message, quote=False) in page for a in open_now)


def test_render_run_report_names_a_missing_run(reports: Reports) -> None:
    with store.session_scope(reports.engine) as session, pytest.raises(StoreError, match="999"):
        render_run_report(session, 999)


# --------------------------------------------------------------------------------------------
# A real browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, requests


def test_run_report_renders_in_chromium_without_errors_or_requests(
    reports: Reports, browser, tmp_path: Path
) -> None:
    path = _evil_run(reports)
    page, errors, requests = _open(browser, path)
    try:
        assert errors == []
        assert [u for u in requests if not u.startswith("data:")] == [path.as_uri()]
        assert page.locator("table.features").is_visible()
        first_chart = page.locator("section.feature img").first
        first_chart.scroll_into_view_if_needed()
        assert first_chart.is_visible()
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.get_by_text(EVIL, exact=True).first.is_visible()
        assert page.evaluate("document.scripts.length") == 0
        page.screenshot(path=str(tmp_path / "run-report.png"), full_page=True)
        assert (tmp_path / "run-report.png").stat().st_size > 10_000
    finally:
        page.close()


def test_index_pages_render_in_chromium_and_link_to_run_reports(
    reports: Reports, browser, tmp_path: Path
) -> None:
    page, errors, requests = _open(browser, reports.folder / "index.html")
    try:
        page.get_by_role("link", name="orders", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/orders/index.html")
        last = reports.run_ids["orders"][-1]
        page.get_by_role("link", name=f"#{last}", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/orders/run-{last}.html")
        assert page.locator("h1").inner_text().startswith("orders")
        page.screenshot(path=str(tmp_path / "orders-run.png"), full_page=True)
        assert errors == []
        assert all(u.startswith(("file://", "data:")) for u in requests)
    finally:
        page.close()


def test_the_verdict_sentence_is_the_first_text_after_the_title(reports: Reports, browser) -> None:
    last = reports.run_ids["orders"][-1]
    path = reports.folder / "orders" / f"run-{last}.html"
    page, errors, _ = _open(browser, path)
    try:
        after_title = page.evaluate("document.querySelector('h1').nextElementSibling.innerText")
        title = page.title()
        collapsed = page.locator("details.provenance").get_attribute("open") is None
        assert errors == []
    finally:
        page.close()
    html = path.read_text(encoding="utf-8")
    assert re.match(r"(No feature drifted|\d+ of \d+ features drifted: )", after_title)
    assert "|" not in title  # the batch's file name, not its key
    assert "Batch key" in html and html.index("Settings used") > html.index("<h2>History</h2>")
    assert collapsed  # provenance and settings: one click away, not in the way


def test_a_dataset_page_lists_the_newest_runs_and_counts_the_older(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset page (rewritten by every check) lists at most `MAX_LISTED_RUNS` runs, so a
    check's cost does not grow with years of runs; the rest are counted, with the command that
    lists them."""
    from driftmon.report import pages

    monkeypatch.setattr(pages, "MAX_LISTED_RUNS", 2)
    engine = store.open_store(f"sqlite:///{tmp_path / 'driftmon.db'}")
    example = generate_example_data(tmp_path / "orders", reference_rows=4_000, batch_rows=500)
    _reference(engine, "orders", example.reference)
    run_ids = _check_all(engine, "orders", example.batches[:4], datetime(2026, 11, 1, tzinfo=UTC))
    with store.session_scope(engine) as session:
        page = render_dataset_index(session, "orders")
    listed = re.findall(r'<td>(?:<a href="run-\d+\.html">)?#(\d+)', page)
    newest = sorted(run_ids)[-2:]  # batches in batch-time order: the last two are the newest
    assert sorted({int(i) for i in listed}) == newest
    assert "2 older run(s) not listed: <code>driftmon history orders --limit 4</code>" in page


LONG_NAMES = [
    "customer_lifetime_value_estimate_in_euros_after_discounts_v2",  # 60, with separators
    "x" * 60,  # 60, one word
    "country",
]
LONG_KEY = "s3://feeds/orders/year=2026/month=11/day=25/" + "part-0001.snappy.parquet|" * 7
LINE_BREAKS = """(() => {
  const breaks = [];
  for (const el of document.querySelectorAll('td.name, th[scope=row], h1, h3, dd code, td code')) {
    let lastTop = null, previous = '';
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i); range.setEnd(node, i + 1);
        const rects = range.getClientRects();
        if (!rects.length || !node.data[i].trim()) { previous = node.data[i]; continue; }
        if (lastTop !== null && rects[0].top > lastTop + 2 && previous.trim())
          breaks.push(`${previous} ${el.tagName} ${node.data.slice(Math.max(0, i - 8), i + 3)}`);
        lastTop = rects[0].top; previous = node.data[i];
      }
    }
  }
  return breaks;
})()"""
OVERFLOWING = """[...document.querySelectorAll('td, th, h1, h2, h3, dt, dd, nav, p, li')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')
  .map(e => e.tagName + ': ' + e.textContent.slice(0, 50))"""


def test_long_names_and_keys_never_overflow_their_boxes_at_1280_px(browser, tmp_path: Path) -> None:
    """60-character feature names and a 200-character batch key, on every page at 1280 px:
    no cell or heading overflows its box, identifiers wrap only after ``_ . / | -``, and the
    run page's charts are displayed at least 600 px wide."""
    rng = np.random.default_rng(4)
    reference = pd.DataFrame(
        {
            LONG_NAMES[0]: rng.gamma(2, 10, 4_000),
            LONG_NAMES[1]: rng.normal(size=4_000),
            LONG_NAMES[2]: rng.choice(["DE", "FR", "GB"], 4_000),
        }
    )
    batch = reference.sample(1_000, random_state=1).assign(
        **{LONG_NAMES[0]: rng.gamma(2, 14, 1_000), LONG_NAMES[1]: rng.normal(1, 1, 1_000)}
    )
    reference.to_parquet(tmp_path / "reference.parquet")
    batch.to_parquet(tmp_path / "batch.parquet")
    assert len(LONG_KEY) >= 200
    engine = store.open_store(f"sqlite:///{tmp_path / 'driftmon.db'}")
    dataset = "orders_" + "eu_west_" * 6  # a long dataset name too
    _reference(engine, dataset, tmp_path / "reference.parquet")
    settings = DatasetOptions()
    stored = pipeline.load_reference(engine, dataset)
    plan = pipeline.plan_batch(str(tmp_path / "batch.parquet"), batch_key=LONG_KEY)
    current = pipeline.profile_batch(plan, stored.profile, settings)
    comparison, verdict = pipeline.evaluate_batch(stored.profile, current, settings)
    result = pipeline.record_run(
        engine,
        dataset=dataset,
        plan=plan,
        reference=stored,
        comparison=comparison,
        verdict=verdict,
        current=current,
        options=settings,
        started_at=datetime(2026, 11, 25, tzinfo=UTC),
    )
    with store.session_scope(engine) as session:
        run_page = write_reports(session, result.run_id, tmp_path / "html")
    pages = [run_page, run_page.parent / "index.html", tmp_path / "html" / "index.html"]
    wrapped = 0
    for path in pages:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(path.as_uri(), wait_until="load")
            assert page.evaluate(OVERFLOWING) == [], path.name
            if path == run_page:
                # every chart is shown at least 600 px wide (two drifted features: two charts)
                widths = page.evaluate(
                    "[...document.querySelectorAll('img.chart')].map(i => i.clientWidth)"
                )
                assert len(widths) == 2 and min(widths) >= 600, widths
            # identifiers wrap only after a separator: the character before each line break
            # of every name cell and heading, measured on the rendered text
            breaks = page.evaluate(LINE_BREAKS)
            # a break inside a name only where one segment is wider than its box (the 60 x's)
            assert all(b[0] in "_./|-" or b.endswith("xxx") for b in breaks), breaks
            wrapped += len(breaks)
        finally:
            page.close()
    assert wrapped > 0  # long names and the key did wrap, so the check above means something


def test_the_status_board_lists_the_datasets_of_every_database_that_wrote_there(
    reports: Reports, browser, tmp_path: Path
) -> None:
    """A second database writes its dataset's pages into the same reports folder: the board
    (built from the folder's status files, not from one database) lists both databases'
    datasets, most severe first, links each to its pages, and draws each one's KL line."""
    folder = tmp_path / "html"
    shutil.copytree(reports.folder, folder)
    other_db = tmp_path / "team-b.db"
    engine = store.open_store(f"sqlite:///{other_db}")
    example = generate_example_data(tmp_path / "payments", reference_rows=4_000, batch_rows=1_000)
    _reference(engine, "payments", example.reference)
    healthy = [b for b in example.batches if not example.expected_drift[b.name]]
    [run_id, *_] = _check_all(engine, "payments", healthy[:1], datetime(2026, 11, 9, tzinfo=UTC))
    (folder / "broken").mkdir()
    (folder / "broken" / "status.json").write_text("{not json")
    with store.session_scope(engine) as session:
        write_reports(session, run_id, folder)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto((folder / "index.html").as_uri(), wait_until="load")
        rows = page.evaluate(
            "[...document.querySelectorAll('table.board tbody tr')]"
            ".map(r => [...r.cells].map(c => c.innerText.trim()))"
        )
        assert page.evaluate(OVERFLOWING) == []
        # the whole board fits the page: no sideways scrolling at 1280 px
        assert page.evaluate(
            "[...document.querySelectorAll('.table-wrap')]"
            ".every(w => w.scrollWidth <= w.clientWidth)"
        )
        sparklines = page.locator("table.board svg.sparkline polyline").count()
        page.get_by_role("link", name="payments", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/payments/index.html")
        page.go_back()
        page.get_by_role("link", name=healthy[0].name, exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/payments/run-{run_id}.html")
    finally:
        page.close()
    by_dataset = {row[0]: row for row in rows}
    assert set(by_dataset) == {"orders", f"shop {EVIL}", "payments", "broken"}
    # most severe first, the unreadable status last
    rank = {"critical": 0, "warning": 1, "ok": 2}
    assert rows[-1][0] == "broken"
    assert [rank[row[1]] for row in rows[:-1]] == sorted(rank[row[1]] for row in rows[:-1])
    with store.session_scope(engine) as session:
        assert by_dataset["payments"][1] == store.list_runs(session, "payments")[0].verdict
    assert by_dataset["orders"][1] == "critical"
    assert str(other_db) in by_dataset["payments"][-1]
    assert "driftmon.db" in by_dataset["orders"][-1]
    assert "cannot be read" in by_dataset["broken"][1]
    assert sparklines == 3
    with store.session_scope(reports.engine) as session:
        latest = store.list_runs(session, "orders", limit=1)[0]
    assert by_dataset["orders"][2] == data.batch_label(latest.batch_key)


def test_two_databases_with_a_dataset_of_one_name_never_overwrite_each_others_pages(
    tmp_path: Path,
) -> None:
    """Two teams' databases write one reports folder (one board) and both call their dataset
    `orders`: each run 1 keeps its own page, the board lists both, and the same database named
    by another spelling of its path (relative, absolute) stays in its own folder."""
    example = generate_example_data(tmp_path / "data", reference_rows=4_000, batch_rows=1_000)
    batches = {"team-a.db": example.batches[0], "team-b.db": example.batches[3]}
    checked = {}
    for db, batch in batches.items():
        run_driftmon(tmp_path, "reference", "orders", "--source", str(example.reference), db=db)
        output = run_driftmon(tmp_path, "check", "orders", "--source", str(batch), "--json", db=db)
        checked[db] = json.loads(output)
    again = run_driftmon(
        tmp_path,
        "check",
        "orders",
        "--source",
        str(example.batches[1]),
        "--json",
        db=f"sqlite:///{(tmp_path / 'team-a.db').resolve()}",
    )

    pages = {db: Path(result["report_path"]) for db, result in checked.items()}
    assert pages["team-a.db"] == (tmp_path / "reports" / "orders" / "run-1.html").resolve()
    assert pages["team-b.db"].name == "run-1.html"
    assert pages["team-b.db"].parent.name.startswith("orders-")
    for db, page in pages.items():
        assert f"<title>orders · {batches[db].name} ·" in page.read_text("utf-8"), db
    assert Path(json.loads(again)["report_path"]).parent == pages["team-a.db"].parent
    board = (tmp_path / "reports" / "index.html").read_text("utf-8")
    assert 'href="orders/index.html"' in board
    assert f'href="{pages["team-b.db"].parent.name}/index.html"' in board
    assert "team-<wbr>a.<wbr>db" in board and "team-<wbr>b.<wbr>db" in board  # breakable


def test_a_database_that_loses_the_claim_on_a_new_folder_gets_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two databases write their first `orders` pages at once: both see the folder free, the
    other one records itself first, and this one then writes to a folder of its own."""
    from driftmon.report import paths

    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / paths.OWNER_FILE).write_text("sqlite:////team-b.db\n")
    real_owner = paths._owner
    looked = []

    def free_at_first(folder: Path) -> str | None:
        looked.append(folder)
        return None if len(looked) == 1 else real_owner(folder)  # claimed in between

    monkeypatch.setattr(paths, "_owner", free_at_first)
    folder = paths.claim_dataset_folder(tmp_path, "orders", "sqlite:////team-a.db")

    assert folder.name.startswith("orders-") and folder.parent == tmp_path.resolve()
    assert (folder / paths.OWNER_FILE).read_text() == "sqlite:////team-a.db\n"
    assert (tmp_path / "orders" / paths.OWNER_FILE).read_text() == "sqlite:////team-b.db\n"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"format": 2, "dataset": "x"}',
        '{"format": 1, "dataset": "x", "database": "", "runs": 1, "open_alerts": {}, '
        '"history": [], "latest": {"verdict": [1]}}',
        '{"format": 1, "dataset": "x", "database": "", "runs": 1, "open_alerts": {}, '
        '"history": [], "latest": {"run": 1, "batch_time": "2026-11-01T00:00:00", '
        '"verdict": "ok", "n_features": 1, "drifted": 3, "page": true, "label": "b"}}',
        '{"format": 1, "dataset": "x", "database": "", "runs": 1, "open_alerts": {"x": 1}, '
        '"history": [], "latest": null}',
        '{"format": 1, "dataset": "x", "database": "", "runs": 1, "open_alerts": {}, '
        '"history": [{"kl": "</svg><script>"}], "latest": null}',
    ],
    ids=["json", "list", "format", "verdict", "drifted", "severity", "kl"],
)
def test_a_status_file_written_by_anything_else_is_listed_as_unreadable(
    reports: Reports, tmp_path: Path, content: str
) -> None:
    """A hand-edited or foreign status.json is one "cannot be read" row; the board of every
    other dataset still renders."""
    folder = tmp_path / "html"
    shutil.copytree(reports.folder, folder)
    (folder / "odd").mkdir()
    (folder / "odd" / "status.json").write_text(content)
    page = render_status_board(folder)
    assert page.count("cannot be read") == 1
    assert "<script" not in page
    assert 'href="orders/index.html"' in page


def test_a_dataset_with_pages_but_no_status_file_is_listed_and_says_why(
    reports: Reports, tmp_path: Path
) -> None:
    """Pages written before the status board have no status.json: the dataset still has its
    row, linking its history page and saying how to fill the row in; a folder without run
    pages (notes, another site's index.html) is not a dataset."""
    folder = tmp_path / "html"
    shutil.copytree(reports.folder, folder)
    (folder / "older").mkdir()
    (folder / "older" / "index.html").write_text("<html></html>")
    (folder / "older" / "run-3.html").write_text("<html></html>")
    (folder / "scratch").mkdir()
    (folder / "scratch" / "notes.txt").write_text("not a dataset")
    (folder / "handbook").mkdir()
    (folder / "handbook" / "index.html").write_text("<html>the team's handbook</html>")

    page = render_status_board(folder)

    assert 'href="older/index.html"' in page
    assert page.count("its pages are from a driftmon that wrote no status file") == 1
    assert "scratch" not in page and "handbook" not in page
    assert 'href="orders/index.html"' in page


def test_a_status_file_written_with_a_hostile_dataset_name_is_escaped(tmp_path: Path) -> None:
    status = {
        "format": 1,
        "dataset": EVIL,
        "database": '"><img src=x>',
        "runs": 1,
        "open_alerts": {"critical": 1},
        "history": [{"kl": 0.5, "drifted": True, "verdict": "critical"}],
        "latest": {
            "run": 1,
            "label": EVIL,
            "batch_time": "2026-11-01T00:00:00+00:00",
            "verdict": "critical",
            "n_features": 2,
            "drifted": [EVIL],
            "page": True,
        },
    }
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "status.json").write_text(json.dumps(status))
    page = render_status_board(tmp_path)
    assert EVIL not in page and "<img" not in page
    assert page.count("&lt;script&gt;") == 4  # dataset, its batch, its drifted feature, sentence
    assert 'href="evil/run-1.html"' in page


def test_the_board_names_a_database_without_user_password_or_query() -> None:
    url = "postgresql+psycopg://team:pw@db.example:5432/drift?sslpassword=k&application_name=x"
    assert store.database_label(url) == "postgresql+psycopg://db.example:5432/drift"
    assert (
        store.database_label("sqlite:////var/lib/driftmon.db") == "sqlite:////var/lib/driftmon.db"
    )
