"""Alerts and the notification outbox, read and written through a caller-owned `Session`.

Alert changes and the notifications they cause are written in the run's own transaction, so a
run, its alerts and its pending notifications exist together or not at all. Delivery happens
after commit: a notification is claimed (``sending``, one more attempt) in its own short
transaction before it is sent, then marked ``sent`` or returned to ``pending`` with the error
and the time of its next attempt. A ``sent`` notification is never selected again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from driftmon.errors import StoreError
from driftmon.store.models import AlertRow, DatasetRow, NotificationRow, record_from_row

if TYPE_CHECKING:
    from driftmon.alerts import Alert, AlertChange

__all__ = [
    "ACTIVE_STATES",
    "OutboxItem",
    "StoredAlert",
    "acknowledge_alert",
    "active_alerts",
    "apply_alert_changes",
    "claim_notification",
    "due_notifications",
    "enqueue_notification",
    "list_alerts",
    "list_notifications",
    "mark_notification_failed",
    "mark_notification_sent",
]

ACTIVE_STATES = ("open", "escalated")
#: A notification left ``sending`` this long (a process died mid-send) is due again.
STALE_SENDING = timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAlert:
    """An alert row with its dataset name and lifecycle times."""

    id: int
    dataset: str
    feature: str | None
    signal: str
    severity: str
    state: str
    message: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    first_run_id: int | None
    last_run_id: int | None
    clear_streak: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """One notification to one target: what to send and how delivery went so far."""

    id: int
    dataset: str
    run_id: int | None
    target_key: str
    target_label: str
    payload: Mapping[str, Any]
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def active_alerts(session: Session, dataset: str) -> list[Alert]:
    """The dataset's open and escalated alerts, as the lifecycle sees them."""
    from driftmon.alerts import Alert

    rows = session.scalars(
        select(AlertRow)
        .join(DatasetRow, DatasetRow.id == AlertRow.dataset_id)
        .where(DatasetRow.name == dataset, AlertRow.state.in_(ACTIVE_STATES))
        .order_by(AlertRow.id)
    )
    return [
        Alert(
            id=row.id,
            feature=row.feature,
            signal=row.signal,
            severity=row.severity,  # type: ignore[arg-type]
            state=row.state,  # type: ignore[arg-type]
            clear_streak=row.clear_streak,
            message=row.message,
            acknowledged=row.acknowledged_at is not None,
        )
        for row in rows
    ]


def apply_alert_changes(
    session: Session, dataset: str, run_id: int, changes: Sequence[AlertChange]
) -> list[AlertChange]:
    """Write a run's alert changes; returns them with the ids of newly opened alerts."""
    from driftmon.alerts import Alert, AlertChange

    dataset_row = session.scalars(select(DatasetRow).where(DatasetRow.name == dataset)).one()
    now = datetime.now(UTC)
    written = []
    for change in changes:
        alert = change.alert
        if alert.id is None:
            row = AlertRow(
                dataset_id=dataset_row.id,
                feature=alert.feature,
                signal=alert.signal,
                opened_at=now,
                first_run_id=run_id,
            )
            session.add(row)
        else:
            row = session.get(AlertRow, alert.id)
            if row is None:
                raise StoreError(f"alert `{alert.id}` vanished while a run updated it")
        row.severity = alert.severity
        row.state = alert.state
        row.message = alert.message
        row.clear_streak = alert.clear_streak
        row.last_run_id = run_id
        if change.is_news or alert.id is None:
            row.updated_at = now
        if alert.state == "resolved":
            row.resolved_at = now
        session.flush()
        written.append(
            AlertChange(
                Alert(
                    id=row.id,
                    feature=alert.feature,
                    signal=alert.signal,
                    severity=alert.severity,
                    state=alert.state,
                    clear_streak=alert.clear_streak,
                    message=alert.message,
                    acknowledged=row.acknowledged_at is not None,
                ),
                change.change,
                change.reading,
            )
        )
    return written


def list_alerts(
    session: Session, dataset: str | None = None, *, include_resolved: bool = False
) -> list[StoredAlert]:
    """Alerts, most severe and oldest first; only active ones unless asked otherwise."""
    query = select(AlertRow, DatasetRow.name).join(DatasetRow, DatasetRow.id == AlertRow.dataset_id)
    if dataset is not None:
        query = query.where(DatasetRow.name == dataset)
    if not include_resolved:
        query = query.where(AlertRow.state.in_(ACTIVE_STATES))
    rows = session.execute(query.order_by(AlertRow.opened_at, AlertRow.id)).all()
    alerts = [_stored_alert(row, name) for row, name in rows]
    return sorted(alerts, key=lambda a: (a.severity != "critical", a.opened_at, a.id))


def acknowledge_alert(session: Session, alert_id: int, by: str) -> StoredAlert:
    """Mark an alert as seen by a person; it keeps its state and can still escalate."""
    found = session.execute(
        select(AlertRow, DatasetRow.name)
        .join(DatasetRow, DatasetRow.id == AlertRow.dataset_id)
        .where(AlertRow.id == alert_id)
    ).one_or_none()
    if found is None:
        raise StoreError(f"alert `{alert_id}` does not exist; `driftmon alerts` lists them")
    row, name = found
    row.acknowledged_at = datetime.now(UTC)
    row.acknowledged_by = by
    session.flush()
    return _stored_alert(row, name)


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
    """Take a due notification for sending (one more attempt); False if another process has."""
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


def mark_notification_sent(session: Session, notification_id: int) -> None:
    session.execute(
        update(NotificationRow)
        .where(NotificationRow.id == notification_id)
        .values(status="sent", sent_at=datetime.now(UTC), last_error=None, next_attempt_at=None)
    )


def mark_notification_failed(session: Session, notification_id: int, error: str) -> None:
    """Back to pending with the (secret-free) error, for the next run or `notify --retry`."""
    session.execute(
        update(NotificationRow)
        .where(NotificationRow.id == notification_id)
        .values(status="pending", last_error=error, next_attempt_at=None)
    )


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


def _stored_alert(row: AlertRow, dataset: str) -> StoredAlert:
    return record_from_row(StoredAlert, row, dataset=dataset)


def _outbox_item(row: NotificationRow, dataset: str) -> OutboxItem:
    return record_from_row(OutboxItem, row, dataset=dataset)
