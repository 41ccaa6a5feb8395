"""The store on real SQLite files: round trips, one transaction per run, locking, migrations.

Profiles and comparisons come from the real core on small frames, so what is stored is what a
check really produces.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import driftmon
from driftmon import Comparison, Profile, ReferenceNotFoundError, StoreError
from driftmon.store import (
    RunSummary,
    alembic_config,
    default_database_url,
    list_datasets,
    list_references,
    list_runs,
    load_latest_run,
    load_reference,
    load_run,
    open_store,
    processed_batch_keys,
    require_active_reference,
    require_reference,
    save_reference,
    save_run,
    session_scope,
    set_report_path,
    upgrade_database,
)
from driftmon.store.models import ACTIVE_REFERENCE_INDEX, Base

T0 = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)
FIT_SETTINGS = {"n_bins": 10, "max_categories": 20, "alpha": 0.5}
CHECK_SETTINGS = {"alpha": 0.5, "correction": "bh", "thresholds": {"warning": 0.05}}


# --------------------------------------------------------------------------------------------
# Fixtures and builders


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on a SQLite file and on a real PostgreSQL database."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'db' / 'driftmon.db'}"


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = open_store(url)
    yield engine
    engine.dispose()


@pytest.fixture
def reference_frame(rng: np.random.Generator) -> pd.DataFrame:
    n = 400
    amount = rng.normal(50.0, 10.0, n)
    amount[::40] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "channel": rng.choice(["web", "store", "phone"], n, p=[0.6, 0.3, 0.1]),
            "items": rng.integers(1, 6, n),
            "note": ["x"] * n,  # not monitored: kept as a known column
        }
    )


@pytest.fixture
def reference(reference_frame: pd.DataFrame) -> Profile:
    specs = driftmon.fit_specs(reference_frame, features=["amount", "channel", "items"])
    return driftmon.profile_frame(reference_frame, specs)


def _batch(rng: np.random.Generator, n: int = 150, shift: float = 8.0) -> pd.DataFrame:
    """A drifted batch: ``amount`` shifted, a new channel, ``items`` gone, column ``extra`` new."""
    return pd.DataFrame(
        {
            "amount": rng.normal(50.0 + shift, 10.0, n),
            "channel": rng.choice(["web", "store", "kiosk"], n),
            "extra": rng.normal(size=n),
        }
    )


def _check(reference: Profile, frame: pd.DataFrame) -> tuple[Profile, Comparison, dict[str, str]]:
    current = driftmon.profile_frame(frame, reference.specs)
    comparison = driftmon.compare(reference, current)
    statuses = {
        f.name: "empty" if f.kl is None else "critical" if f.kl > 0.1 else "ok"
        for f in comparison.features
    }
    return current, comparison, statuses


def _save_run(
    session: Session,
    reference_id: int,
    comparison: Comparison,
    statuses: dict[str, str],
    *,
    batch_key: str = "batch-1",
    started_at: datetime = T0,
    batch_time: datetime | None = None,
    verdict: str = "critical",
    current: Profile | None = None,
    **options: Any,
) -> RunSummary:
    return save_run(
        session,
        dataset="orders",
        batch_key=batch_key,
        batch_time=batch_time or started_at,
        reference_id=reference_id,
        comparison=comparison,
        statuses=statuses,
        verdict=verdict,
        n_rows=comparison.n_rows,
        source=f"/data/{batch_key}.csv",
        settings=CHECK_SETTINGS,
        flow_run_id="3f2c-flow",
        driftmon_version="0.1.0",
        started_at=started_at,
        current=current,
        **options,
    )


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(Base.metadata.tables[table])
        return connection.execute(query).scalar_one()


@pytest.fixture
def reference_id(engine: Engine, reference: Profile) -> int:
    with session_scope(engine) as session:
        return save_reference(
            session, "orders", reference, source="ref.csv", settings=FIT_SETTINGS
        ).id


# --------------------------------------------------------------------------------------------
# References


def test_reference_round_trip_restores_an_equal_profile(engine: Engine, reference: Profile) -> None:
    with Session(engine) as session, session.begin():
        saved = save_reference(
            session, "orders", reference, source="ref.csv", settings=FIT_SETTINGS
        )
    with Session(engine) as session, session.begin():
        loaded = load_reference(session, "orders")
    assert loaded.profile.to_dict() == reference.to_dict()
    assert loaded.id == saved.id
    assert (loaded.dataset, loaded.version, loaded.is_active) == ("orders", 1, True)
    assert (loaded.n_rows, loaded.source, loaded.settings) == (400, "ref.csv", FIT_SETTINGS)
    assert loaded.created_at == saved.created_at
    assert loaded.created_at.tzinfo is not None
    assert loaded.driftmon_version == driftmon.__version__


def test_reference_versions_increment_and_only_the_newest_is_active(
    engine: Engine, reference: Profile, reference_frame: pd.DataFrame
) -> None:
    smaller = driftmon.profile_frame(reference_frame.iloc[:100], reference.specs)
    with session_scope(engine) as session:
        for profile in (reference, smaller, reference):
            save_reference(session, "orders", profile, source="ref.csv", settings={})
        save_reference(session, "payments", smaller, source="pay.csv", settings={})
    with session_scope(engine) as session:
        versions = list_references(session, "orders")
        assert [(r.version, r.is_active) for r in versions] == [(1, False), (2, False), (3, True)]
        assert load_reference(session, "orders").version == 3
        assert load_reference(session, "orders", version=2).n_rows == 100
        assert load_reference(session, "orders", version=2).profile.to_dict() == smaller.to_dict()
        assert load_reference(session, "payments").version == 1
        assert list_datasets(session) == ["orders", "payments"]
        assert list_references(session, "nobody") == []


def test_missing_reference_messages_say_what_exists_and_how_to_fix(
    engine: Engine, reference: Profile
) -> None:
    with session_scope(engine) as session:
        with pytest.raises(ReferenceNotFoundError) as empty:
            load_reference(session, "orders")
        save_reference(session, "orders", reference, source="a.csv", settings={})
        save_reference(session, "orders", reference, source="b.csv", settings={})
        with pytest.raises(ReferenceNotFoundError) as unknown_dataset:
            load_reference(session, "payments")
        with pytest.raises(ReferenceNotFoundError) as unknown_version:
            load_reference(session, "orders", version=7)
    assert str(empty.value) == (
        "dataset `orders` has no reference yet; "
        "build one with `driftmon reference orders --source PATH` "
        "(in Python: `Monitor.reference('orders', data)`)"
    )
    assert "`driftmon reference payments --source PATH`" in str(unknown_dataset.value)
    assert "known datasets: orders" in str(unknown_dataset.value)
    assert str(unknown_version.value) == (
        "dataset `orders` has no reference version `7`; available versions: 1, 2"
    )


def test_the_quick_reference_lookup_says_what_the_repository_says(
    engine: Engine, reference: Profile
) -> None:
    """`require_active_reference` (SQL text, no ORM: a command's first check) raises the
    repository's error, word for word, for a dataset without a reference, an empty name and
    an unknown one, and nothing once a reference is stored."""

    def both(dataset: str) -> tuple[str | None, str | None]:
        messages = []
        for lookup in (
            lambda: require_active_reference(engine, dataset),
            lambda: _require_in_session(engine, dataset),
        ):
            try:
                lookup()
                messages.append(None)
            except ReferenceNotFoundError as error:
                messages.append(str(error))
        return messages[0], messages[1]

    quick, full = both("orders")
    assert quick == full and quick is not None and "known datasets" not in quick
    with session_scope(engine) as session:
        save_reference(session, "orders", reference, source="a.csv", settings={})
        save_reference(session, "orders", reference, source="b.csv", settings={})
    assert both("orders") == (None, None)
    for name in ("payments", " ", "Orders"):
        quick, full = both(name)
        assert quick == full and quick is not None and "(known datasets: orders)" in quick


def _require_in_session(engine: Engine, dataset: str) -> None:
    with session_scope(engine) as session:
        require_reference(session, dataset)


# --------------------------------------------------------------------------------------------
# Runs


def test_run_round_trip_keeps_every_field(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    current, comparison, statuses = _check(reference, _batch(rng))
    started = datetime(2024, 5, 1, 10, 0, 0, 654321, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        saved = _save_run(
            session, reference_id, comparison, statuses, started_at=started, current=current
        )
    with session_scope(engine) as session:
        stored = load_run(session, saved.id)

    drifted = [n for n, s in statuses.items() if s == "critical"]
    assert drifted, "the batch is built to drift"
    assert (stored.dataset, stored.batch_key, stored.reference_id) == (
        "orders",
        "batch-1",
        reference_id,
    )
    assert (stored.reference_version, stored.status, stored.verdict) == (1, "completed", "critical")
    assert (stored.n_rows, stored.n_features, stored.n_drifted) == (150, 2, len(drifted))
    assert stored.max_kl == max(f.kl for f in comparison.features if f.kl is not None)
    assert stored.source == "/data/batch-1.csv"
    assert stored.started_at == started
    assert stored.started_at.tzinfo == UTC
    assert stored.started_at <= stored.finished_at
    assert stored.finished_at == saved.finished_at
    assert stored.report_path is None
    assert dict(stored.settings) == CHECK_SETTINGS
    assert dict(stored.schema_diff) == {"missing": ["items"], "new": ["extra"], "retyped": []}
    assert dict(stored.schema_diff) == comparison.schema.to_dict()
    assert (stored.flow_run_id, stored.driftmon_version) == ("3f2c-flow", "0.1.0")
    assert (stored.replaced, stored.skipped) == (False, False)

    assert [f.feature for f in stored.features] == [f.name for f in comparison.features]
    for row, result in zip(stored.features, comparison.features, strict=True):
        assert row.run_id == saved.id
        assert row.status == statuses[result.name]
        assert row.measured
        assert row.current_counts == current.features[result.name].counts.tolist()
        assert row.result == result
        assert row.result.to_dict() == result.to_dict()
        assert (row.feature, row.kl, row.p_value) == (result.name, result.kl, result.p_value)


def test_saving_the_same_batch_key_again_replaces_the_run_in_place(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    _, drifted, drifted_statuses = _check(reference, _batch(rng))
    empty_current, empty, empty_statuses = _check(reference, _batch(rng).iloc[:0])
    with session_scope(engine) as session:
        first = _save_run(session, reference_id, drifted, drifted_statuses)
        set_report_path(session, first.id, "reports/batch-1.html")
    with session_scope(engine) as session:
        second = _save_run(
            session,
            reference_id,
            empty,
            empty_statuses,
            verdict="empty",
            started_at=T0 + timedelta(hours=1),
            current=empty_current,
        )
    assert second.id == first.id
    assert (second.replaced, second.skipped) == (True, False)
    with session_scope(engine) as session:
        runs = list_runs(session, "orders")
        stored = load_run(session, first.id)
    assert [r.id for r in runs] == [first.id]
    assert (stored.verdict, stored.n_rows, stored.n_drifted, stored.max_kl) == ("empty", 0, 0, None)
    assert stored.started_at == T0 + timedelta(hours=1)
    assert stored.report_path is None, "the old report described the replaced results"
    assert not any(f.measured for f in stored.features)
    assert all(f.kl is None and f.p_value is None and f.dof is None for f in stored.features)
    assert [f.current_counts for f in stored.features] == [
        empty_current.features[f.feature].counts.tolist() for f in stored.features
    ]
    assert _count(engine, "feature_results") == len(empty.features)


def test_skip_keeps_the_existing_run_and_new_stores_beside_it(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    _, comparison, statuses = _check(reference, _batch(rng))
    _, calm, calm_statuses = _check(reference, _batch(rng, shift=0.0))
    with session_scope(engine) as session:
        first = _save_run(session, reference_id, comparison, statuses)
        skipped = _save_run(session, reference_id, calm, calm_statuses, on_duplicate="skip")
        second = _save_run(session, reference_id, calm, calm_statuses, on_duplicate="new")
        third = _save_run(session, reference_id, calm, calm_statuses, on_duplicate="new")
        assert processed_batch_keys(session, "orders") == {"batch-1", "batch-1#2", "batch-1#3"}
        assert processed_batch_keys(session, "payments") == set()
        kept = load_run(session, first.id)
    assert skipped.skipped and not skipped.replaced
    assert (skipped.id, skipped.verdict, skipped.max_kl) == (first.id, "critical", first.max_kl)
    assert [f.kl for f in kept.features] == [f.kl for f in comparison.features]
    assert (second.batch_key, third.batch_key) == ("batch-1#2", "batch-1#3")
    assert len({first.id, second.id, third.id}) == 3


def test_runs_are_listed_newest_first(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    _, comparison, statuses = _check(reference, _batch(rng))
    with session_scope(engine) as session:
        for hours, key in enumerate(["a", "b", "c"]):
            _save_run(
                session, reference_id, comparison, statuses, batch_key=key,
                started_at=T0 + timedelta(hours=hours),
            )  # fmt: skip
    with session_scope(engine) as session:
        assert [r.batch_key for r in list_runs(session, "orders")] == ["c", "b", "a"]
        assert [r.batch_key for r in list_runs(session, "orders", limit=2)] == ["c", "b"]
        _save_run(
            session, reference_id, comparison, statuses, batch_key="a",
            started_at=T0 + timedelta(hours=5),
        )  # fmt: skip
        assert [r.batch_key for r in list_runs(session, "orders")] == ["a", "c", "b"]
        latest = load_latest_run(session, "orders")
        assert latest.batch_key == "a"
        assert list_runs(session, "payments") == []


def test_report_path_is_recorded_and_unknown_runs_are_named(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    _, comparison, statuses = _check(reference, _batch(rng))
    with session_scope(engine) as session:
        run = _save_run(session, reference_id, comparison, statuses)
        set_report_path(session, run.id, "reports/orders/batch-1.html")
    with session_scope(engine) as session:
        assert load_run(session, run.id).report_path == "reports/orders/batch-1.html"
        assert list_runs(session, "orders")[0].report_path == "reports/orders/batch-1.html"
        with pytest.raises(StoreError, match="run `999` does not exist"):
            load_run(session, 999)
        with pytest.raises(StoreError, match="run `999` does not exist"):
            set_report_path(session, 999, "x.html")
        with pytest.raises(StoreError, match="dataset `payments` has no runs yet"):
            load_latest_run(session, "payments")


def test_save_run_refuses_a_reference_of_another_dataset_and_features_without_status(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    _, comparison, statuses = _check(reference, _batch(rng))
    with session_scope(engine) as session:
        other = save_reference(session, "payments", reference, source="p.csv", settings={})
        with pytest.raises(StoreError, match=f"reference id `{other.id}` is not a stored"):
            _save_run(session, other.id, comparison, statuses)
        with pytest.raises(ValueError, match="no status for feature"):
            _save_run(session, reference_id, comparison, {})


# --------------------------------------------------------------------------------------------
# Transactions and locking


def test_an_error_inside_the_transaction_leaves_no_trace_of_the_run(
    engine: Engine, reference: Profile, rng: np.random.Generator
) -> None:
    _, comparison, statuses = _check(reference, _batch(rng))
    with pytest.raises(RuntimeError, match="crash"), Session(engine) as s, s.begin():
        saved = save_reference(s, "orders", reference, source="ref.csv", settings={})
        _save_run(s, saved.id, comparison, statuses)
        assert len(load_run(s, 1).features) == 2, "written inside the transaction"
        raise RuntimeError("crash after save_run")
    for table in ("datasets", "reference_profiles", "runs", "feature_results"):
        assert _count(engine, table) == 0, table


def test_an_error_after_save_run_keeps_earlier_committed_data_only(
    engine: Engine, reference: Profile, reference_id: int, rng: np.random.Generator
) -> None:
    _, comparison, statuses = _check(reference, _batch(rng))
    with pytest.raises(RuntimeError), Session(engine) as s, s.begin():
        _save_run(s, reference_id, comparison, statuses)
        raise RuntimeError("crash after save_run")
    assert (_count(engine, "runs"), _count(engine, "feature_results")) == (0, 0)
    assert _count(engine, "reference_profiles") == 1


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    engine: Engine, url: str
) -> None:
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's connection settings")
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")
        }
    assert pragma == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": 30000,
        "synchronous": 1,
    }


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import pandas as pd
    from sqlalchemy.orm import Session

    import driftmon
    from driftmon.store import list_references, open_store, save_reference

    url, ready, other_ready, n = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    frame = pd.DataFrame({"x": [float(i) for i in range(20)]})
    profile = driftmon.profile_frame(frame, driftmon.fit_specs(frame))
    engine = open_store(url)
    ready.touch()
    deadline = time.monotonic() + 60
    while not other_ready.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    for i in range(n):
        with Session(engine) as session, session.begin():
            # Read, then hold the transaction open, then write: a deferred transaction would
            # fail here with "database is locked" when the other process writes meanwhile.
            list_references(session, "shared")
            time.sleep(0.01)
            save_reference(session, "shared", profile, source=f"{ready.name}-{i}", settings={})
    """
)


def test_two_processes_writing_at_once_wait_for_each_other(
    engine: Engine, url: str, tmp_path: Path
) -> None:
    n_transactions = 20
    flags = [tmp_path / "writer-a", tmp_path / "writer-b"]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, str(me), str(other), str(n_transactions)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me, other in (flags, flags[::-1])
    ]
    outcomes = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, stderr) in zip(writers, outcomes, strict=True):
        assert writer.returncode == 0, stderr
    with session_scope(engine) as session:
        references = list_references(session, "shared")
    assert [r.version for r in references] == list(range(1, 2 * n_transactions + 1))
    assert [r.version for r in references if r.is_active] == [2 * n_transactions]
    sources = {r.source for r in references}
    assert {s.split("-")[1] for s in sources} == {"a", "b"}


# --------------------------------------------------------------------------------------------
# Migrations and engine errors


def test_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_database_refuses_a_second_active_reference(engine: Engine, url: str) -> None:
    """The partial unique index exists on both backends (Alembic's comparison above does not
    compare an index's WHERE), and the models declare it as the migrations create it."""
    tables = Base.metadata.tables
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def reference(version: int, active: bool) -> dict[str, object]:
        return {
            "dataset_id": 1, "version": version, "is_active": active, "created_at": now,
            "source": "s", "n_rows": 1, "settings": {}, "profile": {}, "driftmon_version": "t",
        }  # fmt: skip

    with engine.begin() as connection:
        connection.execute(insert(tables["datasets"]), {"id": 1, "name": "d", "created_at": now})
        connection.execute(
            insert(tables["reference_profiles"]),
            [reference(1, False), reference(2, False), reference(3, True)],
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(tables["reference_profiles"]), reference(4, True))
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    assert str(ACTIVE_REFERENCE_INDEX.dialect_options[backend]["where"]) == "is_active"


def test_opening_an_older_database_upgrades_it_and_keeps_its_data(
    url: str, reference: Profile, tmp_path: Path
) -> None:
    (tmp_path / "db").mkdir()
    old = create_engine(url)
    upgrade_database(old, "0001")
    tables = Base.metadata.tables
    with old.begin() as connection:
        assert "alerts" not in inspect(connection).get_table_names()
        connection.execute(
            insert(tables["datasets"]), {"id": 1, "name": "legacy", "created_at": T0}
        )
        connection.execute(
            insert(tables["reference_profiles"]),
            {
                "id": 1, "dataset_id": 1, "version": 1, "is_active": True, "created_at": T0,
                "source": "old.csv", "n_rows": reference.n_rows, "settings": {"n_bins": 10},
                "profile": reference.to_dict(), "driftmon_version": "0.0.9",
            },
        )  # fmt: skip
        connection.execute(
            insert(tables["runs"]),
            {
                "id": 1, "dataset_id": 1, "batch_key": "old-batch", "reference_id": 1,
                "status": "completed", "verdict": "ok", "started_at": T0, "finished_at": T0,
                "n_rows": 10, "source": "old-batch.csv", "settings": {},
                "driftmon_version": "0.0.9", "n_features": 0, "n_drifted": 0,
                "schema_diff": {"missing": [], "new": [], "retyped": []},
            },
        )  # fmt: skip
    old.dispose()

    engine = open_store(url)
    try:
        with engine.connect() as connection:
            assert {"alerts", "notifications"} <= set(inspect(connection).get_table_names())
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert MigrationContext.configure(connection).get_current_revision() == head == "0007"
        with session_scope(engine) as session:
            assert load_reference(session, "legacy").profile.to_dict() == reference.to_dict()
            assert [r.batch_key for r in list_runs(session, "legacy")] == ["old-batch"]
            assert load_run(session, 1).started_at == T0
            assert load_run(session, 1).batch_time == T0
    finally:
        engine.dispose()


def test_upgrading_from_0003_folds_measures_into_results_and_keeps_every_figure(
    url: str, reference: Profile, tmp_path: Path
) -> None:
    """A run stored by driftmon 0.1 (per-measure columns, findings only) reads back whole."""
    (tmp_path / "db").mkdir()
    old = create_engine(url)
    upgrade_database(old, "0003")
    finding = {
        "feature": "channel", "signal": "new_categories", "severity": "warning", "value": 0.02,
        "threshold": 0.01, "p_value": 1e-5, "message": "old message",
    }  # fmt: skip
    with old.begin() as connection:
        connection.execute(
            text("INSERT INTO datasets VALUES (1, 'legacy', :t)"), {"t": T0.isoformat()}
        )
        connection.execute(
            text(
                "INSERT INTO reference_profiles (id, dataset_id, version, is_active, created_at, "
                "source, n_rows, settings, profile, driftmon_version) VALUES (1, 1, 1, TRUE, :t, "
                "'old.csv', :n, '{}', :profile, '0.1.0')"
            ),
            {
                "t": T0.isoformat(),
                "n": reference.n_rows,
                "profile": json.dumps(reference.to_dict()),
            },
        )
        connection.execute(
            text(
                "INSERT INTO runs (id, dataset_id, batch_key, reference_id, status, verdict, "
                "started_at, finished_at, n_rows, source, settings, driftmon_version, "
                "flow_run_id, report_path, schema_diff, n_features, n_drifted, max_kl, findings) "
                "VALUES (1, 1, 'b1', 1, 'completed', 'warning', :t, :t, 10, "
                "'feed_2024-04-30.csv', '{}', '0.1.0', NULL, NULL, :schema, 2, 1, 0.25, :findings)"
            ),
            {
                "t": T0.isoformat(),
                "schema": json.dumps({"missing": [], "new": [], "retyped": []}),
                "findings": json.dumps([finding]),
            },
        )
        for fid, feature, kind, kl, unseen in (
            (1, "amount", "numeric", 0.25, 0.01),
            (2, "channel", "categorical", 0.05, 0.03),
        ):
            connection.execute(
                text(
                    "INSERT INTO feature_results (id, run_id, feature, kind, status, "
                    "compare_status, kl, kl_reverse, js, psi, g_statistic, dof, p_value_raw, "
                    "p_value, expected_kl_no_drift, n_reference, n_current, "
                    "missing_share_reference, missing_share_current, unseen_share_reference, "
                    "unseen_share_current, reference_type, current_type, top_bins, "
                    "current_counts, top_unseen, reference_range) VALUES (:id, 1, :f, :k, 'ok', "
                    "'compared', :kl, 0.2, 0.05, 0.45, 30.0, 9, 1e-6, 2e-6, 0.001, 400, 10, 0.0, "
                    "0.1, 0.0, :unseen, 'numeric', 'numeric', '[]', NULL, :names, NULL)"
                ),
                {"id": fid, "f": feature, "k": kind, "kl": kl, "unseen": unseen,
                 "names": json.dumps({"kiosk": 3})},
            )  # fmt: skip
    old.dispose()

    engine = open_store(url)
    try:
        with session_scope(engine) as session:
            run = load_run(session, 1)
            amount, channel = run.features
            legacy = load_reference(session, "legacy")
    finally:
        engine.dispose()
    # the batch time an old run gets is the date in its file's path, as new runs get theirs
    assert run.batch_time == datetime(2024, 4, 30, tzinfo=UTC)
    assert (run.verdict, run.max_kl) == ("warning", 0.25)
    assert (amount.kl, amount.dof, amount.p_value, amount.n_current) == (0.25, 9, 2e-6, 10)
    assert (amount.unseen_share_current, amount.other_share_current) == (0.01, None)
    # the old "unseen" share of a categorical feature was its "other" slot: the long tail too
    assert (channel.other_share_current, channel.unseen_share_current) == (0.03, None)
    assert channel.top_unseen == {}
    assert [r.to_dict() for r in run.findings] == [finding]
    clear = {(r.feature, r.signal) for r in run.readings if not r.fired}
    assert clear == {
        ("amount", "kl"), ("amount", "missing"), ("amount", "schema"), ("amount", "out_of_range"),
        ("channel", "kl"), ("channel", "missing"), ("channel", "schema"), (None, "dataset"),
    }  # fmt: skip
    # a legacy reference whose kept categories hold every value knows exactly what it saw
    channel_spec = legacy.profile.features["channel"].spec
    assert channel_spec.seen is not None
    assert channel_spec.seen.contains(["web", "store", "phone", "kiosk"]).tolist() == [
        True, True, True, False,
    ]  # fmt: skip


def test_a_database_from_a_newer_driftmon_is_refused_with_advice(url: str) -> None:
    open_store(url).dispose()
    plain = create_engine(url)
    with plain.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    plain.dispose()
    with pytest.raises(StoreError, match="newer driftmon"):
        open_store(url)


@pytest.mark.parametrize(
    ("bad_url", "advice"),
    [
        ("not a database url", "not a valid SQLAlchemy URL"),
        ("nosuchdb://host/db", "unknown database type"),
        ("sqlite+aiosqlite:///x.db", "needs a synchronous one"),
        ("sqlite:////proc/nope/x.db", "writable"),
    ],
)
def test_unusable_urls_raise_store_error_naming_the_url(bad_url: str, advice: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(bad_url)
    assert f"`{bad_url}`" in str(caught.value)
    assert advice in str(caught.value)


def test_a_postgres_password_never_appears_in_the_error() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://u:secret@127.0.0.1:1/db")
    message = str(caught.value)
    assert "secret" not in message
    assert "postgresql+psycopg://u:***@127.0.0.1:1/db" in message
    if importlib.util.find_spec("psycopg") is None:
        assert "pip install psycopg[binary]" in message
    else:
        assert "cannot connect" in message


def test_the_default_database_is_driftmon_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_database_url() == f"sqlite:///{tmp_path.resolve() / 'driftmon.db'}"


def test_every_name_the_store_exports_loads_from_its_module() -> None:
    """The store loads its modules on first use (`open_store` needs no ORM): each name of a
    module's ``__all__`` resolves from the package, to the object that module defines, and no
    two modules export the same name."""
    import importlib

    import driftmon.store as store_package

    exported: dict[str, str] = {}
    for module_name in store_package.MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            assert name not in exported, (name, exported.get(name), module_name)
            exported[name] = module_name
            assert getattr(store_package, name) is getattr(module, name), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        store_package.nope  # noqa: B018
