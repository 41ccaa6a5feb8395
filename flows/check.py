"""Drift-check flows: one batch, or every batch in a folder not yet checked.

The flows hold no logic: each runs the job body of `driftmon.jobs` with every pipeline step as
a Prefect task, so runs, steps, logs and a drift-table artifact show in Prefect's UI.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from driftmon.flows._tasks import IO_TASK, PURE_TASK, plain_parameters, step_task
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.runtime import flow_run

from driftmon import jobs, pipeline
from driftmon.formatting import markdown_code, markdown_text
from driftmon.results import BatchFailure, BatchSkip, CheckResult
from driftmon.sources import Partition


def _publish_drift_table(result: CheckResult) -> None:
    """A Prefect artifact with the short drift table, keyed by an ASCII slug of the dataset
    name plus a short hash (artifact keys allow only a-z, 0-9 and dashes)."""
    key = artifact_key(result.dataset)
    if result.report_path:
        create_link_artifact(
            key=f"{key}-report",
            link=Path(result.report_path).resolve().as_uri(),
            description=(
                f"{markdown_text(result.dataset)} `{markdown_code(result.label)}`: {result.verdict}"
            ),
        )
    create_table_artifact(
        table=result.drift_table(), key=key, description=result.markdown_summary()
    )


publish_drift_table = step_task(_publish_drift_table, "publish drift table", **PURE_TASK)


count_partition = task(name="count partition", **IO_TASK)(pipeline.count_partition)
_build_reference_profile = step_task(
    pipeline.build_reference_profile, "read and profile reference", **IO_TASK
)
_profile_batch = step_task(pipeline.profile_batch, "read and count batch", **IO_TASK)


def count_on_task_runner(parts: list[Partition], **options: Any) -> Iterator[Any]:
    """Count each partition as a task on the flow's task runner (Prefect's Dask task runner
    when a cluster is named, see `driftmon.runner.run_job`), yielding counts in order."""
    futures = count_partition.map(parts, **{k: unmapped(v) for k, v in options.items()})
    for future in futures:
        yield future.result()


def build_reference_profile(source: Any, options: Any, dask: str | None = None) -> Any:
    """One task; on Prefect's Dask task runner, the sample read here and a task per
    partition."""
    if dask is None or not _on_dask_task_runner():
        return _build_reference_profile(source, options, dask)
    return pipeline.build_reference_profile(source, options, counter=count_on_task_runner)


def profile_batch(plan: Any, reference: Any, options: Any, dask: str | None = None) -> Any:
    """One task; on Prefect's Dask task runner, a task per partition."""
    if dask is None or not _on_dask_task_runner():
        return _profile_batch(plan, reference, options, dask)
    return pipeline.profile_batch(plan, reference, options, counter=count_on_task_runner)


def _on_dask_task_runner() -> bool:
    """Whether this flow run's tasks run on Prefect's Dask task runner (a command's run with a
    cluster named); a served deployment's run keeps the default one and counts on the cluster
    from its task, through `driftmon.compute`."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return type(getattr(context, "task_runner", None)).__name__ == "DaskTaskRunner"


#: Set by `driftmon serve` for the flow runs it starts (each in a process of its own, with
#: Prefect's console logging quiet): their one line per batch also goes to serve's output.
SERVE_OUTPUT_ENV = "DRIFTMON_SERVE_OUTPUT"


def log_line(line: str, outcome: bool = False) -> None:
    """A job's line in the flow run's logs (Prefect's UI and API); under `driftmon serve`, a
    batch's outcome also on its standard error, with the time."""
    get_run_logger().info(line)
    if outcome and os.environ.get(SERVE_OUTPUT_ENV):
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        print(f"{stamp} {line}", file=sys.stderr, flush=True)


STEPS = jobs.Steps(
    build_reference_profile=build_reference_profile,
    save_reference=step_task(pipeline.save_reference, "save reference", **IO_TASK),
    load_reference=step_task(pipeline.load_reference, "load reference", **IO_TASK),
    find_new_batches=step_task(pipeline.unprocessed_batches, "find new batches", **IO_TASK),
    claim_batch=step_task(pipeline.claim_batch, "claim batch", **IO_TASK),
    release_batch=step_task(pipeline.release_batch, "release batch", **IO_TASK),
    skip_batch=step_task(pipeline.skip_batch, "skip empty batch", **IO_TASK),
    profile_batch=profile_batch,
    evaluate_batch=step_task(pipeline.evaluate_batch, "compare with reference", **PURE_TASK),
    record_run=step_task(pipeline.record_run, "record run", **IO_TASK),
    write_report=step_task(pipeline.write_report, "write report", **PURE_TASK),
    deliver_notifications=step_task(
        pipeline.deliver_dataset_notifications, "deliver notifications", **IO_TASK
    ),
    publish=lambda result: publish_drift_table(result),
    log=lambda line, outcome=False: log_line(line, outcome=outcome),
    run_id=lambda: flow_run.id,
)


@plain_parameters
@flow(name="driftmon-check", log_prints=False)
def check_batch_flow(
    dataset: str,
    source: str,
    batch_key: str | None = None,
    db_url: str | None = None,
    config_path: str | None = None,
    on_duplicate: str = "replace",
    batch_time: str | None = None,
    dask: str | None = None,
) -> CheckResult:
    """Check one batch file against the dataset's active reference and record the run.

    ``batch_time`` (ISO 8601) overrides the batch time its path or modification time gives.
    Detected drift is a result, not a failure, and so is an undelivered notification (it stays
    pending for the next run): the flow fails only when the check itself broke.
    """
    return jobs.check_batch(
        STEPS,
        dataset=dataset,
        source=source,
        batch_key=batch_key,
        db_url=db_url,
        config_path=config_path,
        on_duplicate=on_duplicate,
        batch_time=batch_time,
        dask=dask,
    )


@plain_parameters
@flow(name="driftmon-check-new", log_prints=False)
def check_new_batches_flow(
    dataset: str,
    folder: str,
    db_url: str | None = None,
    config_path: str | None = None,
    dask: str | None = None,
) -> list[CheckResult | BatchFailure | BatchSkip]:
    """Check every batch file in ``folder`` (or glob) not yet checked, each once, in order.

    A batch that cannot be read is reported as a `BatchFailure` and the others are still
    checked; it is tried again by the next run. A file without data rows is a `BatchSkip`,
    recorded once (`driftmon.jobs.check_new_batches`).
    """
    return jobs.check_new_batches(
        STEPS, dataset=dataset, folder=folder, db_url=db_url, config_path=config_path, dask=dask
    )


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
