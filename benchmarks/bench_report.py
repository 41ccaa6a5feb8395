"""How long a 25-feature run report takes to render, and how large it is.

Targets: render <= 0.6 s, file < 2 MB, for 25 features with 30 runs of history. The store is a
temporary SQLite file filled by driftmon's real pipeline pieces (fit, profile, compare,
evaluate, save); every seventh run carries deliberate drift so every part of the page is drawn.
Timed twice, each in a new process that has opened the store and imported what a check has
(the report package and what it draws with not yet), each for the newest run as a check
writes it: a drifted run, whose moved features get matplotlib charts, then (a copy of the
store with one more batch) a quiet run, whose 30-run window holds earlier drift so the
dataset page has KL-over-runs panels.

Run: ``.venv/bin/python benchmarks/bench_report.py``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

import driftmon
from driftmon import store
from driftmon.compare import compare
from driftmon.policy import evaluate

N_NUMERIC, N_CATEGORICAL = 18, 7
N_RUNS = 30
REFERENCE_ROWS, BATCH_ROWS = 20_000, 5_000
TARGET_SECONDS, TARGET_BYTES = 0.6, 2_000_000


def make_frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for i in range(N_NUMERIC):
        values = rng.normal(loc=shift if i % 6 == 0 else 0.0, scale=1.0 + i / 10, size=n)
        values[rng.random(n) < 0.02] = np.nan
        columns[f"numeric_{i:02d}"] = values
    categories = np.array([f"cat_{c}" for c in range(40)])
    weights = np.linspace(2, 0.2, categories.size)
    for i in range(N_CATEGORICAL):
        probs = weights / weights.sum()
        if shift and i == 0:
            probs = probs[::-1]
        columns[f"category_{i}"] = rng.choice(categories[: 5 + 5 * i], size=n, p=None)
        if i == 0:
            columns[f"category_{i}"] = rng.choice(categories, size=n, p=probs)
    return pd.DataFrame(columns)


def build_store(folder: Path) -> tuple[int, int]:
    """``drifted.db`` with 30 runs, the newest drifted, and ``quiet.db``: the same and a
    quiet 31st; the two runs' ids."""
    rng = np.random.default_rng(20261103)
    engine = store.open_store(f"sqlite:///{folder / 'drifted.db'}")
    reference_frame = make_frame(rng, REFERENCE_ROWS)
    specs = driftmon.fit_specs(reference_frame)
    reference = driftmon.profile_frame(reference_frame, specs)
    with store.session_scope(engine) as session:
        info = store.save_reference(
            session, "bench", reference, source="synthetic", settings={"n_bins": 20}
        )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for day in range(N_RUNS + 1):
        if day == N_RUNS:  # the drifted store is complete: the quiet one gets one more run
            engine.dispose()
            shutil.copyfile(folder / "drifted.db", folder / "quiet.db")
            engine = store.open_store(f"sqlite:///{folder / 'quiet.db'}")
        shift = 0.6 if day % 7 == 1 else 0.0  # days 1, 8, ..., 29: the 30th run drifts
        current = driftmon.profile_frame(make_frame(rng, BATCH_ROWS, shift), specs)
        comparison = compare(reference, current)
        verdict = evaluate(comparison)
        with store.session_scope(engine) as session:
            run = store.save_run(
                session,
                dataset="bench",
                batch_key=f"2026-01-{day + 1:02d}",
                batch_time=start + timedelta(days=day),
                reference_id=info.id,
                comparison=comparison,
                statuses=verdict.statuses,
                verdict=verdict.overall,
                n_rows=comparison.n_rows,
                source="synthetic",
                settings={"alpha": 0.5, "correction": "bh", "thresholds": {"kl_warning": 0.02}},
                flow_run_id=None,
                driftmon_version=driftmon.__version__,
                started_at=start + timedelta(days=day),
                current=current,
                readings=verdict.readings,
            )
            ids.append(run.id)
    engine.dispose()
    return ids[-2], ids[-1]


def time_reports(url: str, run_id: int, folder: str) -> None:
    """In a new process: seconds to write a run's three pages, then to draw its page again,
    and the page's size and charts (one line of JSON)."""
    import json

    engine = store.open_store(url)
    with store.session_scope(engine) as session:
        began = time.perf_counter()
        from driftmon.report import render_run_report, write_reports

        path = write_reports(session, run_id, Path(folder), history=N_RUNS)
        write_seconds = time.perf_counter() - began
        began = time.perf_counter()
        page = render_run_report(session, run_id, history=N_RUNS)
        render_seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "write": write_seconds,
                "render": render_seconds,
                "bytes": len(page.encode()),
                "charts": page.count('src="data:image/png;base64,'),
                "index_bytes": (path.parent / "index.html").stat().st_size,
            }
        )
    )


def main() -> None:
    import json

    from bench_check import compile_sources

    compile_sources()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        drifted_id, quiet_id = build_store(folder)
        print(f"stores with {N_RUNS} runs built in {time.perf_counter() - began:.1f} s")
        timed = {}
        for label, run in (("quiet", quiet_id), ("drifted", drifted_id)):
            url = f"sqlite:///{folder / f'{label}.db'}"
            done = subprocess.run(
                [sys.executable, __file__, "--time", url, str(run), str(folder / label)],
                capture_output=True,
                text=True,
                check=True,
            )
            timed[label] = json.loads(done.stdout.strip().splitlines()[-1])
    features = N_NUMERIC + N_CATEGORICAL
    ok = lambda good: "OK  " if good else "FAIL"  # noqa: E731
    for label, detail in (
        ("quiet", "no feature moved, KL-over-runs panels of earlier drift"),
        ("drifted", f"{timed['drifted']['charts']} features moved: charts drawn with matplotlib"),
    ):
        seconds = timed[label]["write"]
        print(
            f"{ok(seconds <= TARGET_SECONDS)} a {label} check's reports (run page, dataset page, "
            f"status board; {features} features, {N_RUNS} runs; {detail}): {seconds:.2f} s "
            f"(target <= {TARGET_SECONDS:g} s)"
        )
    size = timed["drifted"]["bytes"]
    print(
        f"{ok(size < TARGET_BYTES)} drifted run report size: {size / 1e6:.2f} MB "
        f"(target < {TARGET_BYTES / 1e6:g} MB)"
    )
    print(f"     the drifted run page alone, drawn again: {timed['drifted']['render']:.2f} s")
    print(f"     dataset index size: {timed['drifted']['index_bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--time"]:
        time_reports(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
