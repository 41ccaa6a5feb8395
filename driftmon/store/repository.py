"""Repository functions: read and write driftmon's records through a caller-owned `Session`.

Each function takes a session and leaves the transaction to the caller, so one check writes
its run and every feature result in one transaction (``with Session(engine) as s, s.begin():``):
a crash leaves the whole run or none of it. Results are plain frozen dataclasses, never ORM
rows, so callers never touch SQL or a session's lifetime.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, load_only

from driftmon.errors import ReferenceNotFoundError, StoreError
from driftmon.formatting import json_safe
from driftmon.status import SEVERITIES, Status
from driftmon.store.lookup import no_reference_error
from driftmon.store.models import (
    DatasetRow,
    FeatureResultRow,
    ReferenceProfileRow,
    ReferenceVocabularyRow,
    RunRow,
    SkippedBatchRow,
    record_from_row,
)

if TYPE_CHECKING:
    # The core loads where records are built or read back, not to open a database: a
    # command that only needs to know whether a reference exists answers fast.
    from driftmon.compare import Comparison, FeatureResult
    from driftmon.policy import Reading
    from driftmon.profile import Profile

__all__ = [
    "ON_DUPLICATE",
    "ReferenceVersion",
    "RunSummary",
    "StoredFeatureResult",
    "StoredReference",
    "StoredRun",
    "count_runs",
    "drifted_features_by_run",
    "list_datasets",
    "list_references",
    "list_runs",
    "load_latest_run",
    "load_reference",
    "load_run",
    "processed_batch_keys",
    "recent_readings",
    "record_skipped_batch",
    "require_dataset",
    "require_reference",
    "save_reference",
    "save_run",
    "set_report_path",
]

#: What `save_run` does when the dataset already has a run with the same batch key.
ON_DUPLICATE = ("replace", "skip", "new")
#: Feature statuses that count as drift in `RunSummary.n_drifted`.
DRIFTED_STATUSES = tuple(str(status) for status in SEVERITIES)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceVersion:
    """One stored reference version, without its (possibly large) profile."""

    id: int
    dataset: str
    version: int
    is_active: bool
    created_at: datetime
    n_rows: int
    source: str
    settings: Mapping[str, Any]
    driftmon_version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReference(ReferenceVersion):
    """A reference version with its profile: what a check compares batches against."""

    profile: Profile


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """A checked batch's headline: what history tables and `save_run` callers need.

    ``batch_time`` is when the batch's data was produced (from ``--batch-time``, its file name
    or its modification time): runs are ordered by it, check time breaking ties.
    ``replaced`` is true when `save_run` overwrote an earlier run of the same batch key;
    ``skipped`` when it left that earlier run untouched (and this is the earlier run).
    """

    id: int
    dataset: str
    batch_key: str
    batch_time: datetime
    reference_id: int
    reference_version: int
    status: str
    verdict: str
    n_rows: int
    n_features: int
    n_drifted: int
    max_kl: float | None
    source: str
    started_at: datetime
    finished_at: datetime
    report_path: str | None
    replaced: bool = False
    skipped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFeatureResult:
    """One feature's stored result in one run.

    ``status`` is the policy's (ok / warning / critical / empty / unmonitored); ``result`` the
    comparison's `FeatureResult`, whose fields and measures also read as this record's own
    (``stored.kl``). ``current_counts`` is the batch histogram in the reference's slot layout,
    or None when the run was saved without the batch profile.
    """

    id: int
    run_id: int
    status: str
    result: FeatureResult
    current_counts: list[int] | None

    @property
    def feature(self) -> str:
        return self.result.name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.result, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRun(RunSummary):
    """A run with everything needed to rebuild its report from the store alone."""

    settings: Mapping[str, Any]
    schema_diff: Mapping[str, Any]
    flow_run_id: str | None
    driftmon_version: str
    features: list[StoredFeatureResult]
    readings: list[Reading]

    @property
    def findings(self) -> list[Reading]:
        """The readings that fired."""
        return [r for r in self.readings if r.fired]


# --------------------------------------------------------------------------------------------
# References


def save_reference(
    session: Session,
    dataset: str,
    profile: Profile,
    *,
    source: str,
    settings: Mapping[str, Any],
) -> ReferenceVersion:
    """Store ``profile`` as the dataset's next version and make it the only active one.

    The dataset is created if it is new. ``settings`` records how the bins were fitted
    (bin counts, smoothing...) and must be JSON-serializable. What each categorical feature
    saw (``spec.seen``) is stored beside the profile, one compact blob per feature.
    """
    dataset_row = _locked_dataset(session, dataset)
    latest = session.scalar(
        select(func.max(ReferenceProfileRow.version)).where(
            ReferenceProfileRow.dataset_id == dataset_row.id
        )
    )
    # Deactivate first: the partial unique index allows one active row per dataset at a time.
    session.execute(
        update(ReferenceProfileRow)
        .where(ReferenceProfileRow.dataset_id == dataset_row.id, ReferenceProfileRow.is_active)
        .values(is_active=False)
    )
    row = ReferenceProfileRow(
        dataset_id=dataset_row.id,
        version=(latest or 0) + 1,
        is_active=True,
        created_at=_now(),
        source=source,
        n_rows=profile.n_rows,
        settings=_json_ready(settings, "reference settings"),
        profile=profile.to_dict(),
        driftmon_version=_driftmon_version(),
    )
    session.add(row)
    session.flush()
    for name, feature in profile.features.items():
        seen = feature.spec.seen
        if seen is not None:
            session.add(
                ReferenceVocabularyRow(
                    reference_id=row.id,
                    feature=name,
                    n_values=seen.n_distinct,
                    data=seen.to_bytes(),
                )
            )
    session.flush()
    return _reference_info(row, dataset)


def load_reference(session: Session, dataset: str, version: int | None = None) -> StoredReference:
    """The dataset's active reference, or the given ``version`` of it.

    Raises
    ------
    ReferenceNotFoundError
        The dataset has no reference, or not that version; the message lists what exists.
    """
    return _stored_reference(session, _reference_row(session, dataset, version), dataset)


def require_dataset(session: Session, dataset: str) -> None:
    """Fail with the known datasets' names unless ``dataset`` has anything stored."""
    known = list_datasets(session)
    if dataset not in known:
        listed = ", ".join(known) or "none yet"
        raise StoreError(f"unknown dataset `{dataset}` (known datasets: {listed})")


def require_reference(session: Session, dataset: str) -> ReferenceVersion:
    """The dataset's active reference without its profile: a cheap check that one exists.

    Raises
    ------
    ReferenceNotFoundError
        As `load_reference`.
    """
    return _reference_info(_reference_row(session, dataset, None), dataset)


def _reference_row(session: Session, dataset: str, version: int | None) -> ReferenceProfileRow:
    dataset_row = _dataset_row(session, dataset)
    query = select(ReferenceProfileRow)
    if dataset_row is not None:
        query = query.where(ReferenceProfileRow.dataset_id == dataset_row.id)
        if version is None:
            query = query.where(ReferenceProfileRow.is_active)
        else:
            query = query.where(ReferenceProfileRow.version == version)
        row = session.scalars(query).one_or_none()
        if row is not None:
            return row
        versions = _versions(session, dataset_row.id)
        if versions and version is not None:
            raise ReferenceNotFoundError(
                f"dataset `{dataset}` has no reference version `{version}`; available "
                f"versions: {', '.join(str(v) for v in versions)}"
            )
    raise no_reference_error(dataset, list_datasets(session))


def list_datasets(session: Session) -> list[str]:
    """Names of every dataset, sorted."""
    return list(session.scalars(select(DatasetRow.name).order_by(DatasetRow.name)))


def list_references(session: Session, dataset: str) -> list[ReferenceVersion]:
    """The dataset's reference versions, oldest first; empty for an unknown dataset."""
    rows = session.scalars(
        select(ReferenceProfileRow)
        .join(DatasetRow, DatasetRow.id == ReferenceProfileRow.dataset_id)
        .where(DatasetRow.name == dataset)
        .order_by(ReferenceProfileRow.version)
    )
    return [_reference_info(row, dataset) for row in rows]


# --------------------------------------------------------------------------------------------
# Runs


def save_run(
    session: Session,
    *,
    dataset: str,
    batch_key: str,
    batch_time: datetime,
    reference_id: int,
    comparison: Comparison,
    statuses: Mapping[str, str],
    verdict: str,
    n_rows: int,
    source: str,
    settings: Mapping[str, Any],
    flow_run_id: str | None,
    driftmon_version: str,
    started_at: datetime,
    on_duplicate: Literal["replace", "skip", "new"] = "replace",
    current: Profile | None = None,
    readings: Sequence[Reading] = (),
) -> RunSummary:
    """Store one checked batch: the run row and one result row per compared feature.

    ``statuses`` maps every feature of ``comparison`` to its policy status and ``readings`` are
    the policy's readings (what the alert lifecycle replays); ``settings`` records the check's
    parameters (alpha, correction, thresholds...). ``current``, the batch's
    profile, is optional; with it each feature's batch histogram is kept so a report can be
    rebuilt from the store alone.

    A run already stored under (``dataset``, ``batch_key``) is, by ``on_duplicate``:
    ``"replace"``d in place (same id, results replaced), kept as it is (``"skip"``; the
    returned `RunSummary` is the existing run with ``skipped=True``), or joined by a ``"new"`` run
    under ``batch_key#2`` (then ``#3``...).

    Raises
    ------
    ValueError
        ``on_duplicate`` is unknown, ``started_at`` or ``batch_time`` is naive, or a feature
        has no status.
    StoreError
        ``reference_id`` is not a reference of ``dataset``.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate `{on_duplicate}` is not one of {', '.join(ON_DUPLICATE)}")
    for name, moment in (("started_at", started_at), ("batch_time", batch_time)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} `{moment}` is naive; pass a timezone-aware datetime")
    unrated = [f.name for f in comparison.features if f.name not in statuses]
    if unrated:
        raise ValueError(f"no status for feature(s) {', '.join(f'`{n}`' for n in unrated)}")

    reference = session.get(ReferenceProfileRow, reference_id)
    dataset_row = _dataset_row(session, dataset, for_update=True)
    if reference is None or dataset_row is None or reference.dataset_id != dataset_row.id:
        raise StoreError(
            f"reference id `{reference_id}` is not a stored reference of dataset `{dataset}`; "
            f"load it with `load_reference(session, {dataset!r})` before saving a run"
        )

    existing = _run_row(session, dataset_row.id, batch_key)
    replaced = False
    if existing is not None and on_duplicate == "skip":
        return _run_info(existing, dataset, _reference_version(session, existing), skipped=True)
    if existing is not None and on_duplicate == "new":
        batch_key = _next_free_key(session, dataset_row.id, batch_key)
        existing = None
    if existing is not None:
        session.execute(delete(FeatureResultRow).where(FeatureResultRow.run_id == existing.id))
        row, replaced = existing, True
    else:
        row = RunRow(dataset_id=dataset_row.id, batch_key=batch_key)
        session.add(row)

    kls = [f.kl for f in comparison.features if f.kl is not None]
    row.reference_id = reference.id
    row.batch_time = batch_time
    row.status = "completed"
    row.verdict = verdict
    row.started_at = started_at
    row.finished_at = _now()
    row.n_rows = n_rows
    row.source = source
    row.settings = _json_ready(settings, "run settings")
    row.driftmon_version = driftmon_version
    row.flow_run_id = None if flow_run_id is None else str(flow_run_id)
    row.report_path = None
    row.schema_diff = comparison.schema.to_dict()
    row.n_features = len(comparison.features)
    row.n_drifted = sum(statuses[f.name] in DRIFTED_STATUSES for f in comparison.features)
    row.max_kl = max(kls) if kls else None
    row.readings = [_json_ready(r.to_dict(), "reading") for r in readings]
    session.flush()
    session.add_all(
        _feature_row(row.id, result, statuses[result.name], current)
        for result in comparison.features
    )
    session.flush()
    return _run_info(row, dataset, reference.version, replaced=replaced)


def processed_batch_keys(session: Session, dataset: str) -> set[str]:
    """Batch keys the dataset already has runs for (``#2``-style duplicates included), and
    those of batches skipped as empty (`record_skipped_batch`): `check-new` is done with
    them."""
    checked = select(RunRow.batch_key).join(DatasetRow, DatasetRow.id == RunRow.dataset_id)
    skipped = select(SkippedBatchRow.batch_key).join(
        DatasetRow, DatasetRow.id == SkippedBatchRow.dataset_id
    )
    return set(session.scalars(checked.where(DatasetRow.name == dataset))) | set(
        session.scalars(skipped.where(DatasetRow.name == dataset))
    )


def record_skipped_batch(
    session: Session,
    dataset: str,
    *,
    batch_key: str,
    batch_time: datetime,
    source: str,
    reason: str,
) -> None:
    """Record that `check-new` handled ``batch_key`` without a run (a file with no data
    rows), so it is not tried again; recording it twice keeps the first record."""
    dataset_id = _locked_dataset(session, dataset).id
    exists = session.scalars(
        select(SkippedBatchRow.id).where(
            SkippedBatchRow.dataset_id == dataset_id, SkippedBatchRow.batch_key == batch_key
        )
    ).first()
    if exists is None:
        session.add(
            SkippedBatchRow(
                dataset_id=dataset_id,
                batch_key=batch_key,
                batch_time=batch_time,
                source=source,
                reason=reason,
                skipped_at=_now(),
            )
        )


def list_runs(session: Session, dataset: str, limit: int | None = None) -> list[RunSummary]:
    """The dataset's runs, newest batch first (by batch time, then check time, then id);
    empty for an unknown dataset."""
    query = (
        select(RunRow, ReferenceProfileRow.version)
        .join(DatasetRow, DatasetRow.id == RunRow.dataset_id)
        .join(ReferenceProfileRow, ReferenceProfileRow.id == RunRow.reference_id)
        .where(DatasetRow.name == dataset)
        .order_by(*_NEWEST_BATCH_FIRST)
        .limit(limit)
        # only the headline's columns: decoding every run's JSON (settings, readings) made
        # each check's report slower with every run stored (benchmarks/bench_soak.py)
        .options(load_only(*_SUMMARY_COLUMNS))
    )
    return [_run_info(row, dataset, version) for row, version in session.execute(query)]


_SUMMARY_COLUMNS = [
    getattr(RunRow, name) for name in RunSummary.__dataclass_fields__ if name in RunRow.__table__.c
]


def count_runs(session: Session, dataset: str) -> int:
    """How many runs the dataset has (0 for an unknown dataset)."""
    query = (
        select(func.count(RunRow.id))
        .join(DatasetRow, DatasetRow.id == RunRow.dataset_id)
        .where(DatasetRow.name == dataset)
    )
    return int(session.execute(query).scalar_one())


def recent_readings(session: Session, dataset: str, limit: int) -> list[list[Reading]]:
    """The readings of the dataset's ``limit`` newest runs, newest batch first: what the
    alert lifecycle decides on (see `driftmon.alerts.decide_alerts`).

    A batch checked more than once and kept (``--keep-previous``: ``key#2``...) counts once,
    by its newest check: the same data must not count as two batches in a row.
    """
    from driftmon.policy import Reading

    query = (
        select(RunRow.batch_key, RunRow.readings)
        .join(DatasetRow, DatasetRow.id == RunRow.dataset_id)
        .where(DatasetRow.name == dataset)
        .order_by(*_NEWEST_BATCH_FIRST)
        .limit(limit)
    )
    seen: set[str] = set()
    history = []
    for batch_key, readings in session.execute(query):
        base = _DUPLICATE_SUFFIX.sub("", batch_key)
        if base in seen:
            continue
        seen.add(base)
        history.append([Reading.from_dict(r) for r in readings or []])
    return history


def load_run(session: Session, run_id: int, *, readings: bool = True) -> StoredRun:
    """One run with its settings, schema differences, every feature result and (unless
    ``readings`` is False: a history chart needs none) every reading.

    Raises
    ------
    StoreError
        No run has this id.
    """
    query = (
        select(RunRow, DatasetRow.name, ReferenceProfileRow.version)
        .join(DatasetRow, DatasetRow.id == RunRow.dataset_id)
        .join(ReferenceProfileRow, ReferenceProfileRow.id == RunRow.reference_id)
        .where(RunRow.id == run_id)
    )
    if not readings:
        query = query.options(defer(RunRow.readings))
    found = session.execute(query).one_or_none()
    if found is None:
        raise StoreError(
            f"run `{run_id}` does not exist in this database; "
            "`driftmon history DATASET` (in Python: `Monitor.history`) lists the stored runs"
        )
    row, dataset, version = found
    features = session.scalars(
        select(FeatureResultRow)
        .where(FeatureResultRow.run_id == row.id)
        .order_by(FeatureResultRow.id)
    )
    from driftmon.policy import Reading

    info = _run_info(row, dataset, version)
    return StoredRun(
        **{name: getattr(info, name) for name in _RUN_INFO_FIELDS},
        settings=row.settings,
        schema_diff=row.schema_diff,
        flow_run_id=row.flow_run_id,
        driftmon_version=row.driftmon_version,
        features=[_stored_feature(f) for f in features],
        readings=[Reading.from_dict(r) for r in row.readings or []] if readings else [],
    )


def load_latest_run(session: Session, dataset: str) -> StoredRun:
    """The dataset's newest run (as ordered by `list_runs`).

    Raises
    ------
    StoreError
        The dataset has no runs.
    """
    latest = list_runs(session, dataset, limit=1)
    if not latest:
        raise StoreError(
            f"dataset `{dataset}` has no runs yet; check a batch with "
            f"`driftmon check {shlex.quote(dataset)} --source PATH` (in Python: "
            f"`Monitor.check({dataset!r}, data)`)"
        )
    return load_run(session, latest[0].id)


def drifted_features_by_run(
    session: Session, dataset: str, run_ids: Sequence[int] | None = None
) -> dict[int, list[str]]:
    """Every run's (or only ``run_ids``') drifted features (warning or critical), critical
    first, by run id."""
    query = (
        select(FeatureResultRow.run_id, FeatureResultRow.feature, FeatureResultRow.status)
        .join(RunRow, RunRow.id == FeatureResultRow.run_id)
        .join(DatasetRow, DatasetRow.id == RunRow.dataset_id)
        .where(DatasetRow.name == dataset, FeatureResultRow.status.in_(DRIFTED_STATUSES))
        .order_by(FeatureResultRow.run_id, FeatureResultRow.id)
    )
    if run_ids is not None:
        query = query.where(FeatureResultRow.run_id.in_(list(run_ids)))
    found: dict[int, list[tuple[bool, str]]] = {}
    for run_id, feature, status in session.execute(query):
        found.setdefault(run_id, []).append((status != Status.CRITICAL, feature))
    return {run_id: [name for _, name in sorted(pairs)] for run_id, pairs in found.items()}


def set_report_path(session: Session, run_id: int, path: str) -> None:
    """Record where the run's HTML report was written."""
    row = session.get(RunRow, run_id)
    if row is None:
        raise StoreError(f"run `{run_id}` does not exist; cannot record its report `{path}`")
    row.report_path = path
    session.flush()


# --------------------------------------------------------------------------------------------
# Helpers


_RUN_INFO_FIELDS = tuple(RunSummary.__dataclass_fields__)
_NEWEST_BATCH_FIRST = (RunRow.batch_time.desc(), RunRow.started_at.desc(), RunRow.id.desc())
#: ``#2``, ``#3``...: a batch key stored again beside the first (`save_run`'s "new").
_DUPLICATE_SUFFIX = re.compile(r"#\d+$")


def _now() -> datetime:
    return datetime.now(UTC)


def _driftmon_version() -> str:
    import driftmon

    return driftmon.__version__


def _json_ready(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON round trip, so what is returned now equals what is loaded later (tuples → lists);
    non-finite floats become null, which every database's JSON accepts."""
    try:
        return json.loads(json.dumps(json_safe(dict(value)), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored as JSON: {exc}") from exc


def _dataset_row(session: Session, name: str, *, for_update: bool = False) -> DatasetRow | None:
    """The dataset's row; ``for_update`` locks it until the transaction ends, so writers of
    one dataset (its next reference version, a batch's run) queue on it. SQLite's immediate
    transactions serialise every writer anyway; PostgreSQL needs the row lock."""
    query = select(DatasetRow).where(DatasetRow.name == name)
    return session.scalars(query.with_for_update() if for_update else query).one_or_none()


def _locked_dataset(session: Session, name: str) -> DatasetRow:
    """The dataset's row, created if it is new, locked as in `_dataset_row`. Two transactions
    creating the same dataset at once (PostgreSQL): the second's insert fails inside a
    savepoint, and it takes the first's row once that one commits."""
    row = _dataset_row(session, name, for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            _create_dataset(session, name)
    except IntegrityError:
        pass
    row = _dataset_row(session, name, for_update=True)
    assert row is not None
    return row


def _create_dataset(session: Session, name: str) -> DatasetRow:
    if not name.strip() or "\x00" in name:
        raise StoreError(
            f"dataset name {name!r} cannot be stored: a name needs a visible character and no "
            "NUL character (\\x00); choose another name"
        )
    row = DatasetRow(name=name, created_at=_now())
    session.add(row)
    session.flush()
    return row


def _versions(session: Session, dataset_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ReferenceProfileRow.version)
            .where(ReferenceProfileRow.dataset_id == dataset_id)
            .order_by(ReferenceProfileRow.version)
        )
    )


def _run_row(session: Session, dataset_id: int, batch_key: str) -> RunRow | None:
    return session.scalars(
        select(RunRow).where(RunRow.dataset_id == dataset_id, RunRow.batch_key == batch_key)
    ).one_or_none()


def _next_free_key(session: Session, dataset_id: int, batch_key: str) -> str:
    taken = set(
        session.scalars(
            select(RunRow.batch_key).where(
                RunRow.dataset_id == dataset_id,
                RunRow.batch_key.startswith(f"{batch_key}#", autoescape=True),
            )
        )
    )
    number = 2
    while f"{batch_key}#{number}" in taken:
        number += 1
    return f"{batch_key}#{number}"


def _reference_version(session: Session, run: RunRow) -> int:
    version = session.scalar(
        select(ReferenceProfileRow.version).where(ReferenceProfileRow.id == run.reference_id)
    )
    assert version is not None  # the foreign key guarantees it
    return version


def _reference_info(row: ReferenceProfileRow, dataset: str) -> ReferenceVersion:
    return ReferenceVersion(**_reference_fields(row, dataset))


def _stored_reference(session: Session, row: ReferenceProfileRow, dataset: str) -> StoredReference:
    from driftmon.bins import CATEGORICAL
    from driftmon.profile import Profile
    from driftmon.vocabulary import Vocabulary

    profile = Profile.from_dict(row.profile)
    stored = session.execute(
        select(ReferenceVocabularyRow.feature, ReferenceVocabularyRow.data).where(
            ReferenceVocabularyRow.reference_id == row.id
        )
    ).all()
    vocabularies = {feature: Vocabulary.from_bytes(data) for feature, data in stored}
    for name, feature in profile.features.items():
        # References stored before vocabularies existed: where the kept categories hold every
        # value (nothing in "other"), they are exactly what the reference saw.
        if name not in vocabularies and feature.spec.kind == CATEGORICAL and not feature.n_other:
            categories = feature.spec.categories
            vocabularies[name] = Vocabulary.from_keys(
                list(categories), feature.counts[: len(categories)]
            )
    return StoredReference(
        **_reference_fields(row, dataset), profile=profile.with_vocabularies(vocabularies)
    )


def _reference_fields(row: ReferenceProfileRow, dataset: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "dataset": dataset,
        "version": row.version,
        "is_active": row.is_active,
        "created_at": row.created_at,
        "n_rows": row.n_rows,
        "source": row.source,
        "settings": row.settings,
        "driftmon_version": row.driftmon_version,
    }


def _run_info(
    row: RunRow,
    dataset: str,
    reference_version: int,
    *,
    replaced: bool = False,
    skipped: bool = False,
) -> RunSummary:
    return record_from_row(
        RunSummary,
        row,
        dataset=dataset,
        reference_version=reference_version,
        replaced=replaced,
        skipped=skipped,
    )


def _feature_row(
    run_id: int, result: FeatureResult, status: str, current: Profile | None
) -> FeatureResultRow:
    feature = current.features.get(result.name) if current is not None else None
    return FeatureResultRow(
        run_id=run_id,
        feature=result.name,
        status=status,
        result=_json_ready(result.to_dict(), f"result of feature `{result.name}`"),
        current_counts=feature.counts.tolist() if feature is not None else None,
    )


def _stored_feature(row: FeatureResultRow) -> StoredFeatureResult:
    from driftmon.compare import FeatureResult

    return StoredFeatureResult(
        id=row.id,
        run_id=row.run_id,
        status=row.status,
        result=FeatureResult.from_dict(row.result),
        current_counts=row.current_counts,
    )
