"""The notification outbox, read and written through a caller-owned `Session`.

The notifications a run causes are written in the run's own transaction (`enqueue_message`),
so a run, its alerts and its pending notifications exist together or not at all. Delivery
happens after commit: a notification is claimed (``sending``, its first attempt counted, so
one whose process died sending still shows it) in its own short transaction before it is sent,
then marked ``sent`` or returned to ``pending`` with the error, its ``attempts`` then counting
every request made (`driftmon.notify.send` may retry within one claim). A ``sent``
notification is never selected again, and one message is enqueued once per target whatever
retries the run's transaction sees.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from driftmon.store.models import (
    DatasetRow,
    NotificationRow,
    NotificationTargetRow,
    record_from_row,
)

if TYPE_CHECKING:
    from driftmon.alerts import Message

__all__ = [
    "BACKOFF_FIRST",
    "BACKOFF_MAX",
    "OutboxItem",
    "backed_off_targets",
    "claim_notification",
    "due_notifications",
    "enqueue_message",
    "enqueue_notification",
    "list_notifications",
    "mark_notification_failed",
    "mark_notification_sent",
    "record_target_failure",
    "record_target_success",
]

#: A notification left ``sending`` this long (a process died mid-send) is due again.
STALE_SENDING = timedelta(minutes=10)
#: A target that failed twice in a row is not tried again for this long, doubled for each
#: further failure up to `BACKOFF_MAX`: a receiver that is down is not hit by every check,
#: while one failure (a blip) is retried by the next run.
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """One notification to one target: what to send and how delivery went so far."""

    id: int
    dataset: str
    run_id: int | None
    dedupe_key: str
    target_key: str
    target_label: str
    payload: Mapping[str, Any]
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt to deliver this notification, different for any other:
        a receiver can drop a repeat (an attempt that timed out may have arrived)."""
        return "driftmon-" + hashlib.sha256(self.dedupe_key.encode()).hexdigest()[:32]


def enqueue_message(
    session: Session,
    *,
    dataset: str,
    run_id: int,
    message: Message,
    targets: Sequence[tuple[str, str]],
) -> None:
    """One pending notification of ``message`` per target (``(key, label)``), keyed by the
    dataset, run, target and a digest of the alert changes it reports, so the same state is
    never enqueued twice."""
    payload = {
        "title": message.title,
        "body": message.body,
        "markdown": message.markdown,
        "level": message.level,
        "data": message.data,
    }
    changes = json.dumps(message.data["changes"], sort_keys=True).encode()
    digest = hashlib.sha256(changes).hexdigest()[:16]
    for key, label in targets:
        enqueue_notification(
            session,
            dataset=dataset,
            run_id=run_id,
            target_key=key,
            target_label=label,
            dedupe_key=f"{dataset}|{run_id}|{key}|{digest}",
            payload=payload,
        )


def enqueue_notification(
    session: Session,
    *,
    dataset: str,
    run_id: int,
    target_key: str,
    target_label: str,
    dedupe_key: str,
    payload: Mapping[str, Any],
) -> int | None:
    """Add a pending notification; None when one with the same dedupe key already exists."""
    existing = session.scalars(
        select(NotificationRow.id).where(NotificationRow.dedupe_key == dedupe_key)
    ).first()
    if existing is not None:
        return None
    dataset_row = session.scalars(select(DatasetRow).where(DatasetRow.name == dataset)).one()
    now = datetime.now(UTC)
    row = NotificationRow(
        run_id=run_id,
        dataset_id=dataset_row.id,
        target_key=target_key,
        target_label=target_label,
        dedupe_key=dedupe_key,
        payload=dict(payload),
        status="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def due_notifications(
    session: Session, *, dataset: str | None = None, now: datetime | None = None
) -> list[OutboxItem]:
    """Notifications to (re)try, oldest first: every pending one, and stale ``sending`` ones.

    Failed deliveries are retried by the next run or `driftmon notify --retry`, whenever that
    comes; ``next_attempt_at`` marks when a ``sending`` claim was taken.
    """
    now = now or datetime.now(UTC)
    query = (
        select(NotificationRow, DatasetRow.name)
        .join(DatasetRow, DatasetRow.id == NotificationRow.dataset_id)
        .where(
            or_(
                NotificationRow.status == "pending",
                (NotificationRow.status == "sending")
                & (NotificationRow.next_attempt_at <= now - STALE_SENDING),
            )
        )
        .order_by(NotificationRow.id)
    )
    if dataset is not None:
        query = query.where(DatasetRow.name == dataset)
    return [_outbox_item(row, name) for row, name in session.execute(query).all()]


def claim_notification(session: Session, notification_id: int) -> bool:
    """Take a due notification for sending, counting its first attempt (the outcome counts
    the others: `mark_notification_sent`); False if another process has taken it."""
    now = datetime.now(UTC)
    claimed = session.execute(
        update(NotificationRow)
        .where(
            NotificationRow.id == notification_id,
            or_(
                NotificationRow.status == "pending",
                (NotificationRow.status == "sending")
                & (NotificationRow.next_attempt_at <= now - STALE_SENDING),
            ),
        )
        .values(status="sending", attempts=NotificationRow.attempts + 1, next_attempt_at=now)
    )
    return claimed.rowcount == 1


def mark_notification_sent(session: Session, notification_id: int, attempts: int = 1) -> None:
    """Sent, after ``attempts`` requests since it was claimed."""
    session.execute(
        update(NotificationRow)
        .where(NotificationRow.id == notification_id)
        .values(
            status="sent",
            sent_at=datetime.now(UTC),
            last_error=None,
            next_attempt_at=None,
            attempts=_counted(attempts),
        )
    )


def mark_notification_failed(
    session: Session, notification_id: int, error: str, attempts: int = 1
) -> None:
    """Back to pending with the (secret-free) error, for the next run or `notify --retry`,
    after ``attempts`` requests since it was claimed (0: none was made)."""
    session.execute(
        update(NotificationRow)
        .where(NotificationRow.id == notification_id)
        .values(
            status="pending", last_error=error, next_attempt_at=None, attempts=_counted(attempts)
        )
    )


def _counted(attempts: int) -> Any:
    """The stored count after ``attempts`` requests, of which the claim counted one."""
    return NotificationRow.attempts + (attempts - 1)


def list_notifications(
    session: Session, *, dataset: str | None = None, status: str | None = None
) -> list[OutboxItem]:
    query = select(NotificationRow, DatasetRow.name).join(
        DatasetRow, DatasetRow.id == NotificationRow.dataset_id
    )
    if dataset is not None:
        query = query.where(DatasetRow.name == dataset)
    if status is not None:
        query = query.where(NotificationRow.status == status)
    rows = session.execute(query.order_by(NotificationRow.id)).all()
    return [_outbox_item(row, name) for row, name in rows]


def _outbox_item(row: NotificationRow, dataset: str) -> OutboxItem:
    return record_from_row(OutboxItem, row, dataset=dataset)


def backed_off_targets(session: Session, now: datetime | None = None) -> dict[str, datetime]:
    """Targets not to be tried before a time (key -> that time): they failed lately."""
    now = now or datetime.now(UTC)
    rows = session.execute(
        select(NotificationTargetRow.target_key, NotificationTargetRow.retry_after).where(
            NotificationTargetRow.retry_after > now
        )
    ).all()
    return dict(rows)


def record_target_failure(
    session: Session, target_key: str, error: str, now: datetime | None = None
) -> datetime:
    """Count one more failure in a row for the target; returns when it may be tried again:
    now after one failure, then `BACKOFF_FIRST` doubled per further failure, at most
    `BACKOFF_MAX`."""
    now = now or datetime.now(UTC)
    row = _target_row(session, target_key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    NotificationTargetRow(
                        target_key=target_key, failures=0, retry_after=now, last_error=None
                    )
                )
        except IntegrityError:  # another process recorded it first
            pass
        row = _target_row(session, target_key)
        assert row is not None
    row.failures += 1
    pause = BACKOFF_FIRST * 2 ** (row.failures - 2) if row.failures > 1 else timedelta(0)
    row.retry_after = now + min(pause, BACKOFF_MAX)
    row.last_error = error
    session.flush()
    return row.retry_after


def record_target_success(session: Session, target_key: str) -> None:
    """The target works: forget its failures."""
    session.execute(
        delete(NotificationTargetRow).where(NotificationTargetRow.target_key == target_key)
    )


def _target_row(session: Session, target_key: str) -> NotificationTargetRow | None:
    query = select(NotificationTargetRow).where(NotificationTargetRow.target_key == target_key)
    return session.scalars(query.with_for_update()).one_or_none()
