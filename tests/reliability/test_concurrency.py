"""Three processes checking batches of one dataset at once, 25 each, on a SQLite file and on
a real PostgreSQL database: 75 runs, nothing lost or duplicated, no "database is locked", one
open alert per key, and one pending notification per alert change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import database_url, run_driftmon
from sqlalchemy import func, select

from driftmon import store
from driftmon.store.models import AlertRow, NotificationRow

N_PROCESSES, N_CHECKS = 3, 25

# One process: 25 checks of its own batches, through the same jobs the command runs.
_CHECKER = """
import sys
from driftmon import jobs
db_url, folder, me, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):
    jobs.check_batch(
        jobs.local_steps(),
        dataset="orders",
        source=f"{folder}/batch-{i % 5}.parquet",
        batch_key=f"{me}-{i}",
        batch_time=f"2026-11-{1 + i % 28:02d}T{int(me[1:]):02d}:00:00",
        db_url=db_url,
        reports_dir=f"{folder}/reports-{me}",
    )
print("done", me)
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return "driftmon.db"


def test_three_processes_checking_at_once_lose_and_duplicate_nothing(
    tmp_path: Path, db: str
) -> None:
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"x": rng.normal(size=4_000), "c": rng.choice(list("abc"), 4_000)})
    reference.to_parquet(tmp_path / "reference.parquet")
    for i in range(5):  # healthy and drifted batches, so alerts open, hold and resolve
        shift = 1.0 if i % 2 else 0.0
        batch = pd.DataFrame({"x": rng.normal(shift, 1, 300), "c": rng.choice(list("abc"), 300)})
        batch.to_parquet(tmp_path / f"batch-{i}.parquet")
    run_driftmon(tmp_path, "reference", "orders", "-s", "reference.parquet", db=db)
    url = database_url(tmp_path, db)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTMON_")}
    checkers = [
        subprocess.Popen(
            [sys.executable, "-c", _CHECKER, url, str(tmp_path), f"p{me}", str(N_CHECKS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environment, "DRIFTMON_NOTIFY": "json://127.0.0.1:9/hook"},
        )
        for me in range(N_PROCESSES)
    ]
    outcomes = [checker.communicate(timeout=600) for checker in checkers]
    for checker, (_, stderr) in zip(checkers, outcomes, strict=True):
        assert checker.returncode == 0, stderr
        assert "locked" not in stderr
    engine = store.open_store(url)
    with store.read_scope(engine) as session:
        runs = store.list_runs(session, "orders")
        keys = sorted(run.batch_key for run in runs)
        assert keys == sorted(f"p{p}-{i}" for p in range(N_PROCESSES) for i in range(N_CHECKS))
        open_alerts = session.execute(
            select(AlertRow.feature, AlertRow.signal, func.count())
            .where(AlertRow.resolved_at.is_(None))
            .group_by(AlertRow.feature, AlertRow.signal)
        ).all()
        n_alerts = session.execute(select(func.count()).select_from(AlertRow)).scalar()
        n_notifications = session.execute(
            select(func.count()).select_from(NotificationRow)
        ).scalar()
    assert n_alerts > 0  # drifted batches opened alerts (the newest, healthy, resolve them)
    assert all(count == 1 for *_, count in open_alerts), open_alerts
    assert n_notifications > 0  # alerts changed state, and each change was enqueued
