"""The store: driftmon's database, and the only code in driftmon that speaks SQL.

`open_store` returns an engine on a database migrated to the newest schema; the repository
functions take a `sqlalchemy.orm.Session` whose transaction the caller owns::

    engine = open_store("sqlite:///driftmon.db")
    with Session(engine) as session, session.begin():   # or: with session_scope(engine) as session
        reference = load_reference(session, "orders")

They return plain frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

from driftmon._lazy import lazy_exports

# each name loads its module on first use: `open_store` and a quick lookup need no ORM
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

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
