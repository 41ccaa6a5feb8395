"""Alerts, read and written through a caller-owned `Session`.

Alert changes are written in the run's own transaction (with the notifications they cause,
`driftmon.store.outbox`), so a run, its alerts and its pending notifications exist together or
not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from driftmon.errors import StoreError
from driftmon.store.models import AlertRow, DatasetRow, record_from_row

if TYPE_CHECKING:
    from driftmon.alerts import Alert, AlertChange

__all__ = [
    "ACTIVE_STATES",
    "StoredAlert",
    "acknowledge_alert",
    "active_alerts",
    "apply_alert_changes",
    "list_alerts",
]

ACTIVE_STATES = ("open", "escalated")


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


def acknowledge_alert(session: Session, alert_id: int, by: str) -> tuple[StoredAlert, bool]:
    """Mark an alert as seen by a person; it keeps its state and can still escalate.

    Returns the alert and whether this call acknowledged it: an alert acknowledged already
    keeps its first acknowledgement (who saw it first, and when, is what the team needs).
    """
    found = session.execute(
        select(AlertRow, DatasetRow.name)
        .join(DatasetRow, DatasetRow.id == AlertRow.dataset_id)
        .where(AlertRow.id == alert_id)
    ).one_or_none()
    if found is None:
        raise StoreError(f"alert `{alert_id}` does not exist; `driftmon alerts` lists them")
    row, name = found
    if row.acknowledged_at is not None:
        return _stored_alert(row, name), False
    row.acknowledged_at = datetime.now(UTC)
    row.acknowledged_by = by
    session.flush()
    return _stored_alert(row, name), True


def _stored_alert(row: AlertRow, dataset: str) -> StoredAlert:
    return record_from_row(StoredAlert, row, dataset=dataset)
