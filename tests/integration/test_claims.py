"""Batch claims: `check-new` runs over one folder at the same time read and count each batch
once between them (real processes, a real SQLite file)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from commands import DRIFTMON, database_url, run_driftmon
from sqlalchemy import update

from driftmon import store
from driftmon.examples import generate_example_data
from driftmon.store.models import BatchClaimRow


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> str:
    """Claims are tested on a SQLite file and on a real PostgreSQL database."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return "driftmon.db"


@pytest.fixture
def folder_of_batches(tmp_path: Path) -> tuple[Path, Path]:
    example = generate_example_data(tmp_path / "example")
    batches = tmp_path / "batches"
    batches.mkdir()
    for week in range(2):  # 12 batches: runs overlap long enough to race for them
        for batch in example.batches:
            day = int(batch.stem[-2:]) + 7 * week
            shutil.copy(batch, batches / f"2026-11-{day:02d}.parquet")
    return example.reference, batches


def test_claims_are_exclusive_released_and_taken_over_when_stale(
    folder_of_batches: tuple[Path, Path], tmp_path: Path, db: str
) -> None:
    reference, _ = folder_of_batches
    run_driftmon(tmp_path, "reference", "orders", "--source", str(reference), db=db)
    engine = store.open_store(database_url(tmp_path, db))

    def claim(owner: str) -> bool:
        with store.session_scope(engine) as session:
            return store.claim_batch(session, "orders", "key-1", owner)

    assert claim("a") and not claim("b")
    assert claim("a")  # its own claim again (a retried step): still its own
    with store.session_scope(engine) as session:
        store.release_batch(session, "orders", "key-1", "b")  # not b's: no effect
    assert not claim("b")
    with store.session_scope(engine) as session:
        store.release_batch(session, "orders", "key-1", "a")
    assert claim("b")
    with store.session_scope(engine) as session:  # b died an hour and a minute ago
        old = datetime.now(UTC) - store.claims.STALE_CLAIM - timedelta(minutes=1)
        session.execute(update(BatchClaimRow).values(claimed_at=old))
    assert claim("c")


def test_two_check_new_runs_on_one_folder_check_each_batch_once(
    folder_of_batches: tuple[Path, Path], tmp_path: Path, db: str
) -> None:
    reference, batches = folder_of_batches
    run_driftmon(tmp_path, "reference", "orders", "--source", str(reference), db=db)
    env = {k: v for k, v in os.environ.items() if k not in ("DRIFTMON_CONFIG", "PREFECT_API_URL")}
    env["DRIFTMON_PREFECT"] = "never"
    command = [DRIFTMON, "--db", database_url(tmp_path, db), "check-new", "orders"]
    command += ["--folder", str(batches), "--json"]

    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [json.loads(run.communicate(timeout=600)[0]) for run in runs]

    assert all(run.returncode == 0 for run in runs)
    checked = [result["batch_key"] for output in outputs for result in output]
    assert len(checked) == len(set(checked)) == 12  # each batch once, by one of the runs
    history = json.loads(run_driftmon(tmp_path, "history", "orders", "--json", db=db))
    assert len(history) == 12


def test_a_batch_skipped_as_empty_is_processed_and_cannot_be_claimed(
    folder_of_batches: tuple[Path, Path], tmp_path: Path, db: str
) -> None:
    reference, _ = folder_of_batches
    run_driftmon(tmp_path, "reference", "orders", "--source", str(reference), db=db)
    engine = store.open_store(database_url(tmp_path, db))
    moment = datetime(2026, 11, 25, tzinfo=UTC)
    for _ in range(2):  # a second record (a retried step) keeps the first
        with store.session_scope(engine) as session:
            store.record_skipped_batch(
                session,
                "orders",
                batch_key="key-1",
                batch_time=moment,
                source="a.csv",
                reason="no data rows",
            )
    with store.session_scope(engine) as session:
        assert store.processed_batch_keys(session, "orders") == {"key-1"}
        assert not store.claim_batch(session, "orders", "key-1", "a")
        assert store.claim_batch(session, "orders", "key-2", "a")
