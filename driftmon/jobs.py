"""driftmon's jobs, each written once as the order of its steps: build a reference, check a
batch, check every new batch of a folder.

A job calls its steps through a `Steps` value. The Prefect flows (``flows/``) pass steps that
are Prefect tasks wrapping the pipeline functions, so every step shows in Prefect's UI; with no
Prefect API, the command line passes `local_steps()`, the same functions called directly:
same job, same results, no server to start and nothing imported from Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from driftmon import pipeline, sources, store
from driftmon.compute import dask_address
from driftmon.config import configured_dask, load_settings
from driftmon.errors import DriftmonError, NoRowsError
from driftmon.options import DatasetOptions
from driftmon.results import BatchFailure, BatchSkip, CheckResult

__all__ = ["Steps", "build_reference", "check_batch", "check_new_batches", "local_steps"]

_log = logging.getLogger("driftmon")


@dataclass(frozen=True, slots=True)
class Steps:
    """The steps a job calls, each one unit of work of `driftmon.pipeline` (or publishing).

    ``publish`` shows a finished check where it can be seen (a Prefect artifact); ``log``
    writes one line where the job's logs go (``outcome=True`` for a batch's result or
    failure, the one line per batch an unattended service prints); ``run_id`` names the
    orchestrator's run, if any.
    """

    build_reference_profile: Callable[..., Any]
    save_reference: Callable[..., Any]
    load_reference: Callable[..., Any]
    find_new_batches: Callable[..., Any]
    claim_batch: Callable[..., Any]
    release_batch: Callable[..., Any]
    skip_batch: Callable[..., Any]
    profile_batch: Callable[..., Any]
    evaluate_batch: Callable[..., Any]
    record_run: Callable[..., Any]
    write_report: Callable[..., Any]
    deliver_notifications: Callable[..., Any]
    publish: Callable[[CheckResult], None]
    log: Callable[..., None]
    run_id: Callable[[], str | None]


def local_steps() -> Steps:
    """The pipeline functions themselves: a job run in this process, without Prefect."""
    return Steps(
        build_reference_profile=pipeline.build_reference_profile,
        save_reference=pipeline.save_reference,
        load_reference=pipeline.load_reference,
        find_new_batches=pipeline.unprocessed_batches,
        claim_batch=pipeline.claim_batch,
        release_batch=pipeline.release_batch,
        skip_batch=pipeline.skip_batch,
        profile_batch=pipeline.profile_batch,
        evaluate_batch=pipeline.evaluate_batch,
        record_run=pipeline.record_run,
        write_report=pipeline.write_report,
        deliver_notifications=pipeline.deliver_dataset_notifications,
        publish=lambda result: None,
        log=lambda line, outcome=False: _log.info(line),
        run_id=lambda: None,
    )


def build_reference(
    steps: Steps,
    *,
    dataset: str,
    source: str | sources.Source,
    db_url: str | None = None,
    config_path: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    dask: str | None = None,
) -> dict[str, Any]:
    """Build and store a new reference version for ``dataset`` from ``source``.

    ``overrides`` are dataset settings given in Python (`driftmon.Monitor`), over the
    configuration's. Returns the stored reference's version, row count and feature names, the
    features with no usable values (not monitored), the identifier-like ones, the date
    features that look like times of events (`pipeline.time_like_features`) and the numeric
    ones that look like counts up (`pipeline.counter_like_features`).
    """
    config = load_settings(config_path)
    options = config.dataset(dataset, overrides)
    cluster = dask_address(dask, configured_dask(config))
    engine = store.open_store(db_url)
    profile, description, calibrated = steps.build_reference_profile(source, options, cluster)
    info = steps.save_reference(engine, dataset, profile, description, options, calibrated)
    unmonitored = pipeline.unmonitored_features(profile)
    identifiers = pipeline.identifier_like_features(profile)
    times = pipeline.time_like_features(profile, pipeline.now())
    counters = pipeline.counter_like_features(profile)
    steps.log(
        f"{dataset}: reference v{info.version} stored from {description}: {info.n_rows:,} rows, "
        f"{len(profile.features)} features"
        + (f"; not monitored (no usable values): {', '.join(unmonitored)}" if unmonitored else "")
        + (f"; identifier-like: {', '.join(identifiers)}" if identifiers else "")
        + (f"; times of events: {', '.join(times)}" if times else "")
        + (f"; counting up: {', '.join(counters)}" if counters else "")
    )
    return {
        "dataset": dataset,
        "version": info.version,
        "n_rows": info.n_rows,
        "features": list(profile.features),
        "unmonitored": unmonitored,
        "identifier_like": identifiers,
        "time_like": times,
        "counter_like": counters,
        "warnings": pipeline.reference_warnings(unmonitored, identifiers, times, counters),
        "source": description,
        "calibrated": calibrated is not None,
    }


def check_batch(
    steps: Steps,
    *,
    dataset: str,
    source: str | sources.Source,
    batch_key: str | None = None,
    db_url: str | None = None,
    config_path: str | None = None,
    on_duplicate: str = "replace",
    batch_time: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    reports_dir: str | None = None,
    dask: str | None = None,
) -> CheckResult:
    """Check one batch file (or source) against the dataset's active reference and record
    the run.

    ``batch_time`` (ISO 8601) overrides the batch time its path or modification time gives;
    ``overrides`` as in `build_reference`; ``reports_dir`` over the configuration's. Detected
    drift is a result, not a failure, and so
    is an undelivered notification (it stays pending for the next run) or a report that
    could not be drawn.
    """
    config = load_settings(config_path)
    engine = store.open_store(db_url, create=False)  # a check needs a stored reference
    moment = sources.parse_batch_time(batch_time) if batch_time else None
    plan = pipeline.plan_batch(source, batch_key, moment)
    options = config.dataset(dataset, overrides)
    reports = reports_dir or config.reports_dir
    cluster = dask_address(dask, configured_dask(config))
    return _check(steps, engine, dataset, plan, options, on_duplicate, reports, cluster)


def check_new_batches(
    steps: Steps,
    *,
    dataset: str,
    folder: str,
    db_url: str | None = None,
    config_path: str | None = None,
    dask: str | None = None,
) -> list[CheckResult | BatchFailure | BatchSkip]:
    """Check every batch file in ``folder`` (or glob) not yet checked, each once, in order.

    A batch that cannot be read is reported as a `BatchFailure` and the others are still
    checked; it is tried again by the next run. A complete file without data rows (a CSV
    header alone, a Parquet schema alone: an hour without data) is recorded as handled and
    reported as a `BatchSkip`, once: its key (path, size, modification time) changes if rows
    are written to it later, which makes it a new batch, as for any rewritten file (an empty,
    0-byte file may still be being written: it is a failure, tried again). Each batch is
    claimed before it is read, so runs over the same folder at the same time check each batch
    once between them.
    """
    config = load_settings(config_path)
    options = config.dataset(dataset)
    cluster = dask_address(dask, configured_dask(config))
    engine = store.open_store(db_url, create=False)  # a check needs a stored reference
    outcomes: list[CheckResult | BatchFailure | BatchSkip] = []
    for plan in steps.find_new_batches(engine, dataset, folder):
        if not steps.claim_batch(engine, dataset, plan):
            steps.log(f"{dataset}: {plan.description}: checked by another run")
            continue
        try:
            try:
                outcome: CheckResult | BatchSkip = _check(
                    steps, engine, dataset, plan, options, "skip", config.reports_dir, cluster
                )
            except NoRowsError:  # complete and empty: handled once, not an error every run
                outcome = steps.skip_batch(engine, dataset, plan, pipeline.NO_DATA_ROWS)
                steps.log(f"{dataset}: {plan.description}: skipped: no data rows", outcome=True)
            outcomes.append(outcome)
        except DriftmonError as error:  # one bad file must not hide or block the others
            steps.log(f"{dataset}: {plan.description}: not checked: {error}", outcome=True)
            outcomes.append(BatchFailure(plan.description, plan.batch_key, str(error)))
        finally:
            steps.release_batch(engine, dataset, plan)
    if not outcomes:
        steps.log(f"{dataset}: no new batches in {folder}")
    return outcomes


def _check(
    steps: Steps,
    engine: Any,
    dataset: str,
    plan: pipeline.BatchPlan,
    options: DatasetOptions,
    on_duplicate: str,
    reports_dir: str,
    cluster: str | None = None,
) -> CheckResult:
    pipeline.refuse_future_batch_time(plan)  # a batch of `check-new`'s folder, planned unchecked
    started_at = pipeline.now()
    reference = steps.load_reference(engine, dataset)
    fit_warning = options.fit_change_warning(dataset, reference.settings, reference.version)
    if fit_warning:
        steps.log(f"warning: {fit_warning}", outcome=True)
    current = steps.profile_batch(plan, reference.profile, options, cluster)
    comparison, verdict = steps.evaluate_batch(
        reference.profile, current, options, reference.settings.get("calibrated_kl")
    )
    result = steps.record_run(
        engine,
        dataset=dataset,
        plan=plan,
        reference=reference,
        comparison=comparison,
        verdict=verdict,
        current=current,
        options=options,
        started_at=started_at,
        flow_run_id=steps.run_id(),
        on_duplicate=on_duplicate,
        reports_dir=reports_dir,
    )
    if fit_warning:
        result = result.with_warnings(fit_warning)
    if not result.skipped:
        report = steps.write_report(engine, result.run_id, reports_dir)
        result = result.with_report(report)
    delivery = steps.deliver_notifications(engine, dataset, options)
    result = result.with_delivery(delivery.sent, delivery.pending)
    steps.log(result.summary_line(), outcome=True)
    try:
        steps.publish(result)
    except Exception as error:  # publishing only shows what is stored: a warning, not a failure
        _log.warning("the drift table of run %s could not be published: %s", result.run_id, error)
    return result
