"""Drift-check flows: one batch, or every batch in a folder not yet checked."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.runtime import flow_run
from sqlalchemy import Engine

from driftmon import pipeline, sources, store
from driftmon.config import load_settings
from driftmon.errors import DriftmonError
from driftmon.options import DatasetOptions
from driftmon.results import BatchFailure, CheckResult
from flows._tasks import IO_TASK, PURE_TASK

load_reference = task(name="load reference", **IO_TASK)(pipeline.load_reference)
profile_batch = task(name="read and count batch", **IO_TASK)(pipeline.profile_batch)
evaluate_batch = task(name="compare with reference", **PURE_TASK)(pipeline.evaluate_batch)
record_run = task(name="record run", **IO_TASK)(pipeline.record_run)
unprocessed_batches = task(name="find new batches", **IO_TASK)(pipeline.unprocessed_batches)
deliver_notifications = task(name="deliver notifications", **IO_TASK)(
    pipeline.deliver_dataset_notifications
)


@task(name="publish drift table", **PURE_TASK)
def publish_drift_table(result: CheckResult) -> None:
    """A Prefect artifact with the short drift table, keyed by an ASCII slug of the dataset
    name plus a short hash (artifact keys allow only a-z, 0-9 and dashes)."""
    key = artifact_key(result.dataset)
    if result.report_path:
        create_link_artifact(
            key=f"{key}-report",
            link=Path(result.report_path).resolve().as_uri(),
            description=f"{result.dataset} {result.batch_key}: {result.verdict}",
        )
    create_table_artifact(
        table=result.drift_table(),
        key=key,
        description=result.markdown_summary(),
    )


def _publish(result: CheckResult) -> None:
    """Publishing only shows what is already committed: a failure is a warning, never a
    failed check."""
    try:
        publish_drift_table(result)
    except Exception as error:  # the run is stored: say what failed and go on
        logging.getLogger("driftmon").warning(
            "the drift table artifact of run %s could not be published: %s", result.run_id, error
        )


@flow(name="driftmon-check", log_prints=False)
def check_batch_flow(
    dataset: str,
    source: str,
    batch_key: str | None = None,
    db_url: str | None = None,
    config_path: str | None = None,
    on_duplicate: str = "replace",
    batch_time: str | None = None,
) -> CheckResult:
    """Check one batch file against the dataset's active reference and record the run.

    ``batch_time`` (ISO 8601) overrides the batch time its path or modification time gives.
    Detected drift is a result, not a failure, and so is an undelivered notification (it stays
    pending for the next run): the flow fails only when the check itself broke.
    """
    config = load_settings(config_path)
    engine = store.open_store(db_url)
    moment = sources.parse_batch_time(batch_time) if batch_time else None
    plan = pipeline.plan_batch(source, batch_key, moment)
    return _check(engine, dataset, plan, config.dataset(dataset), on_duplicate, config.reports_dir)


@flow(name="driftmon-check-new", log_prints=False)
def check_new_batches_flow(
    dataset: str, folder: str, db_url: str | None = None, config_path: str | None = None
) -> list[CheckResult | BatchFailure]:
    """Check every batch file in ``folder`` (or glob) not yet checked, each once, in order.

    A batch that cannot be read is reported as a `BatchFailure` and the others are still
    checked; it is tried again by the next run.
    """
    config = load_settings(config_path)
    options = config.dataset(dataset)
    engine = store.open_store(db_url)
    outcomes: list[CheckResult | BatchFailure] = []
    for plan in unprocessed_batches(engine, dataset, folder):
        try:
            outcomes.append(_check(engine, dataset, plan, options, "skip", config.reports_dir))
        except DriftmonError as error:  # one bad file must not hide or block the others
            outcomes.append(BatchFailure(plan.description, plan.batch_key, str(error)))
    return outcomes


def _check(
    engine: Engine,
    dataset: str,
    plan: pipeline.BatchPlan,
    options: DatasetOptions,
    on_duplicate: str,
    reports_dir: str,
) -> CheckResult:
    started_at = pipeline.now()
    reference = load_reference(engine, dataset)
    current = profile_batch(plan, reference.profile, options)
    comparison, verdict = evaluate_batch(
        reference.profile, current, options, reference.settings.get("calibrated_kl")
    )
    result = record_run(
        engine,
        dataset=dataset,
        plan=plan,
        reference=reference,
        comparison=comparison,
        verdict=verdict,
        current=current,
        options=options,
        started_at=started_at,
        flow_run_id=flow_run.id,
        on_duplicate=on_duplicate,
        reports_dir=reports_dir,
    )
    delivery = deliver_notifications(engine, dataset, options)
    result = result.with_delivery(delivery.sent, delivery.pending)
    _publish(result)
    return result


def artifact_key(dataset: str) -> str:
    """An artifact key for any dataset name: an ASCII slug plus a short hash of the name.

    Examples
    --------
    >>> artifact_key("orders")
    'drift-orders-1c168adb'
    >>> artifact_key("café [/b] 注文")
    'drift-caf-b-49e161af'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", dataset.lower().encode("ascii", "ignore").decode())
    digest = hashlib.sha256(dataset.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"drift-{slug.strip('-')[:60] or 'dataset'}-{digest}"
