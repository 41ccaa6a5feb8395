"""The database tables as SQLAlchemy 2 typed ORM rows.

Models are plain rows: no methods, no relationships, no defaults that hide logic. The repository
functions read and write them; nothing outside `driftmon.store` sees them. Migrations under
``migrations/versions`` must create exactly these tables (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ACTIVE_REFERENCE_INDEX",
    "AlertRow",
    "Base",
    "DatasetRow",
    "FeatureResultRow",
    "NotificationRow",
    "ReferenceProfileRow",
    "ReferenceVocabularyRow",
    "RunRow",
    "SkippedBatchRow",
    "UtcDateTime",
    "declare_postgresql_options",
]

#: Constraint names are spelled out so migrations (and SQLite batch moves) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite keeps no offset, so values are converted to UTC on the way in and marked UTC on the
    way out; a naive value is refused because its zone is unknown.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime `{value}`: pass a timezone-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


T = TypeVar("T")


def record_from_row(record_type: type[T], row: Any, **extra: Any) -> T:
    """Build a plain frozen record from an ORM row: every field the row has, plus ``extra``.

    Repository functions return records, never rows; this keeps the copy in one place.
    """
    fields = record_type.__dataclass_fields__  # type: ignore[attr-defined]
    values = {name: getattr(row, name) for name in fields if name not in extra}
    return record_type(**values, **extra)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        str: Text(),
    }


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime]


#: PostgreSQL's `WHERE` of this partial index is added by `declare_postgresql_options` when a
#: PostgreSQL store is opened: naming `postgresql_where` here would import SQLAlchemy's PostgreSQL
#: dialect (~70 ms) into every command, SQLite ones included. The migrations create both.
ACTIVE_REFERENCE_INDEX = Index(
    "uq_reference_profiles_active", "dataset_id", unique=True, sqlite_where=text("is_active")
)


def declare_postgresql_options() -> None:
    """Complete the models' PostgreSQL-only options (idempotent)."""
    ACTIVE_REFERENCE_INDEX.dialect_options["postgresql"]["where"] = text("is_active")


class ReferenceProfileRow(Base):
    __tablename__ = "reference_profiles"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        # At most one active reference per dataset; the repository keeps it so, this enforces it.
        ACTIVE_REFERENCE_INDEX,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int]
    is_active: Mapped[bool]
    created_at: Mapped[datetime]
    source: Mapped[str]
    n_rows: Mapped[int]
    settings: Mapped[dict[str, Any]]
    profile: Mapped[dict[str, Any]]
    driftmon_version: Mapped[str] = mapped_column(String(64))


class ReferenceVocabularyRow(Base):
    """Every category a reference version saw, for one feature: a compact binary blob
    (`driftmon.vocabulary.Vocabulary.to_bytes`), read without parsing per value."""

    __tablename__ = "reference_vocabularies"
    __table_args__ = (UniqueConstraint("reference_id", "feature"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference_id: Mapped[int] = mapped_column(
        ForeignKey("reference_profiles.id", ondelete="CASCADE")
    )
    feature: Mapped[str]
    n_values: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("dataset_id", "batch_key"),
        Index("ix_runs_dataset_id_batch_time", "dataset_id", "batch_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    batch_key: Mapped[str]
    batch_time: Mapped[datetime]
    reference_id: Mapped[int] = mapped_column(ForeignKey("reference_profiles.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    n_rows: Mapped[int]
    source: Mapped[str]
    settings: Mapped[dict[str, Any]]
    driftmon_version: Mapped[str] = mapped_column(String(64))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    report_path: Mapped[str | None]
    schema_diff: Mapped[dict[str, Any]]
    n_features: Mapped[int]
    n_drifted: Mapped[int]
    max_kl: Mapped[float | None] = mapped_column(Float)
    readings: Mapped[list[Any]]


class FeatureResultRow(Base):
    """One feature's result in one run: the policy's status, the comparison's result as JSON
    (`driftmon.compare.FeatureResult.to_dict`: every measure by name), and the batch's
    histogram in the reference's slot layout."""

    __tablename__ = "feature_results"
    __table_args__ = (UniqueConstraint("run_id", "feature"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    feature: Mapped[str]
    status: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any]]
    current_counts: Mapped[list[Any] | None]


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_dataset_id_state", "dataset_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    feature: Mapped[str | None]
    signal: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    message: Mapped[str]
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None]
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    clear_streak: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    target_key: Mapped[str] = mapped_column(String(128))
    target_label: Mapped[str]
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]


class NotificationTargetRow(Base):
    """A notification target that keeps failing, known by its URL's hash only: failures in a
    row, and not to be tried before ``retry_after`` (exponential backoff). Removed when a
    delivery to it succeeds."""

    __tablename__ = "notification_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_key: Mapped[str] = mapped_column(String(128), unique=True)
    failures: Mapped[int]
    retry_after: Mapped[datetime]
    last_error: Mapped[str | None]


class BatchClaimRow(Base):
    """A batch file a `check-new` run is checking: concurrent runs skip it, so each file is
    read and counted once. Removed when that run is done with it; a claim older than
    `driftmon.store.claims.STALE_CLAIM` (its process died) can be taken over."""

    __tablename__ = "batch_claims"
    __table_args__ = (UniqueConstraint("dataset_id", "batch_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    batch_key: Mapped[str]
    owner: Mapped[str]
    claimed_at: Mapped[datetime]


class SkippedBatchRow(Base):
    """A batch file `check-new` found complete but without data rows (a header alone): handled
    once, not tried again every run. Rewriting the file changes its key, so rows written
    later are checked."""

    __tablename__ = "skipped_batches"
    __table_args__ = (UniqueConstraint("dataset_id", "batch_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    batch_key: Mapped[str]
    batch_time: Mapped[datetime]
    source: Mapped[str]
    reason: Mapped[str]
    skipped_at: Mapped[datetime]
