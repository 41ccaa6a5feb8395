"""Runs keep the policy's findings; feature results keep unseen categories and the range.

Both serve reports rebuilt from the store alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("findings", sa.JSON(), nullable=True))
    with op.batch_alter_table("feature_results") as batch:
        batch.add_column(sa.Column("top_unseen", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reference_range", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feature_results") as batch:
        batch.drop_column("reference_range")
        batch.drop_column("top_unseen")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("findings")
