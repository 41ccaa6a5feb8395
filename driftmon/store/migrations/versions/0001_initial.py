"""Initial schema: datasets, reference profiles, runs and per-feature results.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "reference_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("driftmon_version", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reference_profiles"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name="fk_reference_profiles_dataset_id_datasets",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "dataset_id", "version", name="uq_reference_profiles_dataset_id_version"
        ),
    )
    op.create_index(
        "uq_reference_profiles_active",
        "reference_profiles",
        ["dataset_id"],
        unique=True,
        sqlite_where=sa.text("is_active"),
        postgresql_where=sa.text("is_active"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("batch_key", sa.Text(), nullable=False),
        sa.Column("reference_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        _timestamp("started_at"),
        _timestamp("finished_at"),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("driftmon_version", sa.String(64), nullable=False),
        sa.Column("flow_run_id", sa.String(64), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("schema_diff", sa.JSON(), nullable=False),
        sa.Column("n_features", sa.Integer(), nullable=False),
        sa.Column("n_drifted", sa.Integer(), nullable=False),
        sa.Column("max_kl", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_runs_dataset_id_datasets", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reference_id"],
            ["reference_profiles.id"],
            name="fk_runs_reference_id_reference_profiles",
        ),
        sa.UniqueConstraint("dataset_id", "batch_key", name="uq_runs_dataset_id_batch_key"),
    )
    op.create_index("ix_runs_reference_id", "runs", ["reference_id"])
    op.create_table(
        "feature_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("compare_status", sa.String(32), nullable=False),
        sa.Column("kl", sa.Float(), nullable=True),
        sa.Column("kl_reverse", sa.Float(), nullable=True),
        sa.Column("js", sa.Float(), nullable=True),
        sa.Column("psi", sa.Float(), nullable=True),
        sa.Column("g_statistic", sa.Float(), nullable=True),
        sa.Column("dof", sa.Integer(), nullable=True),
        sa.Column("p_value_raw", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("expected_kl_no_drift", sa.Float(), nullable=True),
        sa.Column("n_reference", sa.Integer(), nullable=False),
        sa.Column("n_current", sa.Integer(), nullable=False),
        sa.Column("missing_share_reference", sa.Float(), nullable=True),
        sa.Column("missing_share_current", sa.Float(), nullable=True),
        sa.Column("unseen_share_reference", sa.Float(), nullable=True),
        sa.Column("unseen_share_current", sa.Float(), nullable=True),
        sa.Column("reference_type", sa.String(64), nullable=True),
        sa.Column("current_type", sa.String(64), nullable=True),
        sa.Column("top_bins", sa.JSON(), nullable=False),
        sa.Column("current_counts", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_feature_results"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_feature_results_run_id_runs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("run_id", "feature", name="uq_feature_results_run_id_feature"),
    )


def downgrade() -> None:
    op.drop_table("feature_results")
    op.drop_index("ix_runs_reference_id", table_name="runs")
    op.drop_table("runs")
    op.drop_index("uq_reference_profiles_active", table_name="reference_profiles")
    op.drop_table("reference_profiles")
    op.drop_table("datasets")
