"""The store: driftmon's database, and the only code in driftmon that speaks SQL.

`open_store` returns an engine on a database migrated to the newest schema; the repository
functions take a `sqlalchemy.orm.Session` whose transaction the caller owns::

    engine = open_store("sqlite:///driftmon.db")
    with Session(engine) as session, session.begin():   # or: with session_scope(engine) as session
        reference = load_reference(session, "orders")

They return plain frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftmon._lazy import lazy_exports

if TYPE_CHECKING:  # for type checkers; at run time each name loads on first use
    from driftmon.store.alerts import (
        StoredAlert,
        acknowledge_alert,
        active_alerts,
        apply_alert_changes,
        list_alerts,
    )
    from driftmon.store.claims import claim_batch, release_batch
    from driftmon.store.engine import (
        alembic_config,
        database_label,
        default_database_url,
        ensure_writable,
        open_store,
        read_scope,
        redact_url,
        session_scope,
        upgrade_database,
    )
    from driftmon.store.lookup import require_active_reference
    from driftmon.store.outbox import (
        OutboxItem,
        backed_off_targets,
        claim_notification,
        due_notifications,
        enqueue_message,
        enqueue_notification,
        list_notifications,
        mark_notification_failed,
        mark_notification_sent,
        record_target_failure,
        record_target_success,
    )
    from driftmon.store.repository import (
        ReferenceVersion,
        RunSummary,
        StoredFeatureResult,
        StoredReference,
        StoredRun,
        count_runs,
        drifted_features_by_run,
        list_datasets,
        list_references,
        list_runs,
        load_latest_run,
        load_reference,
        load_run,
        processed_batch_keys,
        recent_readings,
        record_skipped_batch,
        require_dataset,
        require_reference,
        save_reference,
        save_run,
        set_report_path,
    )

_EXPORTS = {
    "require_active_reference": "driftmon.store.lookup",
    **dict.fromkeys(
        (
            "StoredAlert",
            "acknowledge_alert",
            "active_alerts",
            "apply_alert_changes",
            "list_alerts",
        ),
        "driftmon.store.alerts",
    ),
    **dict.fromkeys(
        (
            "alembic_config",
            "database_label",
            "default_database_url",
            "ensure_writable",
            "open_store",
            "read_scope",
            "redact_url",
            "session_scope",
            "upgrade_database",
        ),
        "driftmon.store.engine",
    ),
    **dict.fromkeys(
        (
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
        ),
        "driftmon.store.outbox",
    ),
    **dict.fromkeys(
        (
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
        ),
        "driftmon.store.repository",
    ),
    **dict.fromkeys(
        (
            "claim_batch",
            "release_batch",
        ),
        "driftmon.store.claims",
    ),
}

__all__ = [
    "OutboxItem",
    "ReferenceVersion",
    "RunSummary",
    "StoredAlert",
    "StoredFeatureResult",
    "StoredReference",
    "StoredRun",
    "acknowledge_alert",
    "active_alerts",
    "alembic_config",
    "apply_alert_changes",
    "backed_off_targets",
    "claim_batch",
    "claim_notification",
    "count_runs",
    "database_label",
    "default_database_url",
    "drifted_features_by_run",
    "due_notifications",
    "enqueue_message",
    "enqueue_notification",
    "ensure_writable",
    "list_alerts",
    "list_datasets",
    "list_notifications",
    "list_references",
    "list_runs",
    "load_latest_run",
    "load_reference",
    "load_run",
    "mark_notification_failed",
    "mark_notification_sent",
    "open_store",
    "processed_batch_keys",
    "read_scope",
    "recent_readings",
    "record_skipped_batch",
    "record_target_failure",
    "record_target_success",
    "redact_url",
    "release_batch",
    "require_active_reference",
    "require_dataset",
    "require_reference",
    "save_reference",
    "save_run",
    "session_scope",
    "set_report_path",
    "upgrade_database",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
