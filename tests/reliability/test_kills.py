"""A check killed with SIGKILL at 20 points spread over its run, from start-up to drawing the
report: the database is never corrupt and holds each run whole or not at all, no page exists
for a run that was not committed, and the next check succeeds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
from commands import DRIFTMON

DATASET = "orders"
N_KILLS = 20


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {f"x{i}": rng.normal(shift, 1, n) for i in range(10)}
    columns["country"] = rng.choice(["DE", "FR", "GB", "IT"], n)
    return pd.DataFrame(columns)


def _database(folder: Path) -> str:
    return f"sqlite:///{folder / 'driftmon.db'}"


def _start(folder: Path, key: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))}
    env["DRIFTMON_PREFECT"] = "never"
    return subprocess.Popen(
        [
            DRIFTMON,
            "--db",
            f"sqlite:///{folder / 'driftmon.db'}",
            "check",
            DATASET,
            "-s",
            "batch.parquet",
            "--batch-key",
            key,
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(folder: Path) -> tuple[str, dict[str, tuple[int, int, str | None]]]:
    """``PRAGMA integrity_check``, and each run's id, feature results and report path."""
    with sqlite3.connect(folder / "driftmon.db") as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        runs = connection.execute(
            "SELECT runs.batch_key, runs.id, COUNT(feature_results.id), runs.report_path "
            "FROM runs LEFT JOIN feature_results ON feature_results.run_id = runs.id "
            "GROUP BY runs.id"
        ).fetchall()
    return integrity, {key: (run_id, n, report) for key, run_id, n, report in runs}


def test_a_check_killed_anywhere_leaves_every_run_whole_or_absent(tmp_path: Path) -> None:
    _frame(20_000, 0).to_parquet(tmp_path / "reference.parquet")
    _frame(300_000, 1, shift=0.3).to_parquet(tmp_path / "batch.parquet")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))}
    env["DRIFTMON_PREFECT"] = "never"
    subprocess.run(
        [
            DRIFTMON,
            "--db",
            f"sqlite:///{tmp_path / 'driftmon.db'}",
            "reference",
            DATASET,
            "-s",
            "reference.parquet",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    started = time.monotonic()
    whole = _start(tmp_path, "untouched")
    assert whole.wait(timeout=120) == 0, whole.stderr.read() if whole.stderr else ""
    duration = time.monotonic() - started
    outcomes = []
    for i in range(N_KILLS):
        key = f"killed-{i}"
        check = _start(tmp_path, key)
        time.sleep(duration * 1.1 * (i + 0.5) / N_KILLS)
        check.send_signal(signal.SIGKILL)
        check.wait(timeout=60)
        integrity, runs = _state(tmp_path)
        assert integrity == "ok"
        if key in runs:
            run_id, n_results, report = runs[key]
            assert n_results == 11  # whole: every feature's result with its run
            page = tmp_path / "reports" / DATASET / f"run-{run_id}.html"
            outcomes.append("committed" if report is None else "reported")
            if report is not None:
                assert Path(report) == page.resolve() and page.is_file()
        else:
            outcomes.append("absent")
        # no page for a run that is not in the database
        committed = {f"run-{run_id}.html" for run_id, _, _ in runs.values()}
        pages = {p.name for p in (tmp_path / "reports" / DATASET).glob("run-*.html")}
        assert pages <= committed, (pages - committed, outcomes)
        if i % 5 == 4:  # and the next check succeeds
            after = _start(tmp_path, f"after-{i}")
            assert after.wait(timeout=120) == 0, after.stderr.read() if after.stderr else ""
    # the kills landed before the commit, between the commit and the report, and after it
    assert {"absent", "committed"} <= set(outcomes), outcomes
    integrity, runs = _state(tmp_path)
    assert integrity == "ok"
    assert all(n == 11 for _, n, _ in runs.values())
