"""Measures in one JSON column, batch times, every reading of a run, reference vocabularies.

- ``feature_results``: the per-measure columns and ``compare_status`` become one JSON column
  ``result`` (a `FeatureResult` as a dict), so a new measure needs no migration. Old rows are
  converted: for categorical features the old "unseen" shares were the "other" slot's share, so
  they become ``other_share_*`` and the never-seen shares are unknown (None).
- ``runs.batch_time``: when the batch's data was produced; old runs get the date in their
  file's path when it has one (as driftmon now reads it), else their check time.
- ``runs.readings`` replaces ``runs.findings``: every signal's reading, fired or clear, which
  the alert lifecycle replays. Old runs keep their findings and get a clear reading for every
  signal of every feature they measured without a finding.
- ``reference_vocabularies``: every category a reference saw, one blob per feature.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The measure columns of 0001-0003, as they were; a migration never imports current code.
_OLD_MEASURES = (
    "kl",
    "kl_reverse",
    "js",
    "psi",
    "g_statistic",
    "dof",
    "p_value_raw",
    "p_value",
    "expected_kl_no_drift",
    "missing_share_reference",
    "missing_share_current",
)
_OLD_COLUMNS = (
    *_OLD_MEASURES,
    "kind",
    "compare_status",
    "n_reference",
    "n_current",
    "unseen_share_reference",
    "unseen_share_current",
    "reference_type",
    "current_type",
    "top_bins",
    "top_unseen",
    "reference_range",
)
_CLEAR = "within thresholds (checked before driftmon recorded clear readings)"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "reference_vocabularies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("n_values", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reference_vocabularies"),
        sa.ForeignKeyConstraint(
            ["reference_id"],
            ["reference_profiles.id"],
            name="fk_reference_vocabularies_reference_id_reference_profiles",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "reference_id", "feature", name="uq_reference_vocabularies_reference_id_feature"
        ),
    )

    with op.batch_alter_table("feature_results") as batch:
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("batch_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("readings", sa.JSON(), nullable=True))

    json_columns = ("top_bins", "top_unseen", "reference_range")
    features = sa.table(
        "feature_results",
        sa.column("id", sa.Integer()),
        sa.column("run_id", sa.Integer()),
        sa.column("feature", sa.Text()),
        sa.column("result", sa.JSON()),
        *[sa.column(name, sa.JSON() if name in json_columns else None) for name in _OLD_COLUMNS],
    )
    measured: dict[int, list[tuple[str, str]]] = {}
    for row in bind.execute(sa.select(features)).mappings().all():
        result = _result(row)
        if row["n_current"] and row["compare_status"] == "compared":
            measured.setdefault(row["run_id"], []).append((row["feature"], row["kind"]))
        bind.execute(sa.update(features).where(features.c.id == row["id"]).values(result=result))

    runs = sa.table(
        "runs",
        sa.column("id", sa.Integer()),
        sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("batch_time", sa.DateTime(timezone=True)),
        sa.column("source", sa.Text()),
        sa.column("findings", sa.JSON()),
        sa.column("readings", sa.JSON()),
    )
    query = sa.select(runs.c.id, runs.c.findings, runs.c.started_at, runs.c.source)
    for row in bind.execute(query).mappings().all():
        readings = _readings(list(row["findings"] or []), measured.get(row["id"], []))
        batch_time = _date_in_path(row["source"] or "") or row["started_at"]
        bind.execute(
            sa.update(runs)
            .where(runs.c.id == row["id"])
            .values(readings=readings, batch_time=batch_time)
        )

    with op.batch_alter_table("feature_results") as batch:
        batch.alter_column("result", existing_type=sa.JSON(), nullable=False)
        for name in _OLD_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("batch_time", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("readings", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("findings")
        batch.create_index("ix_runs_dataset_id_batch_time", ["dataset_id", "batch_time"])


def _result(row: Any) -> dict[str, Any]:
    """An old row's columns as a `FeatureResult.to_dict` of 0004."""
    categorical = row["kind"] == "categorical"
    result: dict[str, Any] = {
        "name": row["feature"],
        "kind": row["kind"],
        "monitored": True,
        "n_reference": row["n_reference"],
        "n_current": row["n_current"],
        **{name: row[name] for name in _OLD_MEASURES},
        "other_share_reference": row["unseen_share_reference"] if categorical else None,
        "other_share_current": row["unseen_share_current"] if categorical else None,
        "unseen_share_reference": None if categorical else row["unseen_share_reference"],
        "unseen_share_current": None if categorical else row["unseen_share_current"],
        "top_bins": _json(row["top_bins"]) or [],
        # the old names mixed the long tail with values never seen: not kept as "never seen"
        "top_unseen": {} if categorical else (_json(row["top_unseen"]) or {}),
        "reference_type": row["reference_type"],
        "current_type": row["current_type"],
        "reference_range": _json(row["reference_range"]),
    }
    return result


def _readings(
    findings: list[dict[str, Any]], measured: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The old findings, plus a clear reading for each signal a measured feature did not fire."""
    fired = {(f.get("feature"), f.get("signal")) for f in findings}
    readings = list(findings)
    for feature, kind in measured:
        signals = ("kl", "missing", "schema", "out_of_range" if kind == "numeric" else None)
        for signal in signals:
            if signal is not None and (feature, signal) not in fired:
                readings.append(_clear(feature, signal))
    if (measured or fired) and (None, "dataset") not in fired:
        readings.append(_clear(None, "dataset"))
    return readings


def _clear(feature: str | None, signal: str) -> dict[str, Any]:
    return {
        "feature": feature,
        "signal": signal,
        "severity": None,
        "value": None,
        "threshold": None,
        "p_value": None,
        "message": _CLEAR,
    }


# The batch-time rule of driftmon 0.2 (`sources.batch_time_from_path`), as of this migration.
_DATE = re.compile(
    r"(?<![0-9])(?:(\d{4})-(\d{2})-(\d{2})(?:[T_ ](\d{2})(?::?(\d{2})(?::?(\d{2}))?)?)?"
    r"|(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(?:(\d{2})(\d{2})?)?)?"
    r"|(?:year=)?(\d{4})/(?:month=)?(\d{2})/(?:day=)?(\d{2})(?=/)(?:/(?:hour=)?(\d{2})(?=/))?)"
    r"(?![0-9])"
)


def _date_in_path(path: str) -> datetime | None:
    found = None
    for match in _DATE.finditer(path.replace("\\", "/")):
        groups = match.groups()
        for start in (0, 6, 12):
            parts = groups[start : start + 6] if start < 12 else (*groups[12:16], None, None)
            if parts[0] is None:
                continue
            try:
                found = datetime(*(int(p or 0) for p in parts), tzinfo=UTC)
            except ValueError:
                pass
    return found


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def downgrade() -> None:
    raise NotImplementedError(
        "0004 folds per-measure columns into JSON and cannot be undone; restore a backup"
    )
