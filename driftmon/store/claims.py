"""Batch claims: a `check-new` run takes a batch before reading it, so two runs over one
folder read and count each file once.

A claim is taken in a short transaction of its own (on SQLite an immediate one, as every
`session_scope`; on PostgreSQL the unique key decides between concurrent inserts) and removed
when its run is done with the batch, stored or failed. A claim left by a process that died is
taken over once it is `STALE_CLAIM` old.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from driftmon.store.models import BatchClaimRow, DatasetRow, RunRow, SkippedBatchRow

__all__ = ["STALE_CLAIM", "claim_batch", "release_batch"]

#: A claim this old was left by a run that died: another run may take the batch.
STALE_CLAIM = timedelta(hours=1)


def claim_batch(session: Session, dataset: str, batch_key: str, owner: str) -> bool:
    """Take ``batch_key`` of ``dataset`` for ``owner``; False if it is already checked (or
    skipped as empty) or another run holds it."""
    dataset_id = session.scalars(select(DatasetRow.id).where(DatasetRow.name == dataset)).one()
    checked = session.scalars(
        select(RunRow.id).where(RunRow.dataset_id == dataset_id, RunRow.batch_key == batch_key)
    ).first()
    skipped = session.scalars(
        select(SkippedBatchRow.id).where(
            SkippedBatchRow.dataset_id == dataset_id, SkippedBatchRow.batch_key == batch_key
        )
    ).first()
    if checked is not None or skipped is not None:
        return False
    now = datetime.now(UTC)
    held = session.scalars(
        select(BatchClaimRow).where(
            BatchClaimRow.dataset_id == dataset_id, BatchClaimRow.batch_key == batch_key
        )
    ).first()
    if held is not None:
        if held.owner == owner:
            return True  # this run's own claim (a retried step whose first try committed)
        if held.claimed_at > now - STALE_CLAIM:
            return False
        session.execute(  # taken over; a run racing for it too finds nothing left to delete
            delete(BatchClaimRow).where(
                BatchClaimRow.id == held.id, BatchClaimRow.claimed_at <= now - STALE_CLAIM
            )
        )
    try:
        with session.begin_nested():
            session.add(
                BatchClaimRow(
                    dataset_id=dataset_id, batch_key=batch_key, owner=owner, claimed_at=now
                )
            )
    except IntegrityError:  # another run inserted it first
        return False
    return True


def release_batch(session: Session, dataset: str, batch_key: str, owner: str) -> None:
    """Give up ``owner``'s claim of ``batch_key`` (no effect if it holds none)."""
    dataset_id = select(DatasetRow.id).where(DatasetRow.name == dataset).scalar_subquery()
    session.execute(
        delete(BatchClaimRow).where(
            BatchClaimRow.dataset_id == dataset_id,
            BatchClaimRow.batch_key == batch_key,
            BatchClaimRow.owner == owner,
        )
    )
