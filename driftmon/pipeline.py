"""The steps of driftmon's jobs, each a complete unit of work the flows wrap as one task.

Flows only orchestrate (order, retries, artifacts); what each step does lives here, where it
can be tested and used without Prefect. A step combines the edges (sources, store) with the
pure core; none of them holds SQL or reads files itself.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
from sqlalchemy import Engine

import driftmon
from driftmon import notify, progress, sources, store
from driftmon.alerts import (
    AlertChange,
    Message,
    compose_message,
    decide_alerts,
    has_full_windows,
)
from driftmon.bins import CATEGORICAL, NUMERIC, BinSpec, value_text
from driftmon.compare import Comparison, compare
from driftmon.errors import ConfigError, NotificationError, SourceError
from driftmon.formatting import file_label, format_share
from driftmon.options import DatasetOptions
from driftmon.policy import Verdict, calibrate_kl_thresholds, evaluate
from driftmon.profile import (
    PartitionCounts,
    Profile,
    add_partitions,
    count_partition_chunks,
    fit_specs,
    profile_frame,
    profile_partitions,
)
from driftmon.report.paths import run_report_path
from driftmon.results import BatchSkip, CheckResult, build_check_result

__all__ = [
    "BatchPlan",
    "DeliveryReport",
    "PartitionCounter",
    "build_reference_profile",
    "check_reference_source",
    "count_partition",
    "count_partitions",
    "counter_like_features",
    "deliver_dataset_notifications",
    "deliver_notifications",
    "evaluate_batch",
    "identifier_like_features",
    "load_reference",
    "notification_targets",
    "now",
    "plan_batch",
    "profile_batch",
    "record_run",
    "save_reference",
    "skip_batch",
    "unmonitored_features",
    "unprocessed_batches",
    "write_report",
]


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """One batch to check: where it is (None for a batch handed over already counted, as a
    profile), its key, a description without secrets, when its data was produced
    (`sources.batch_time` unless given), and a short label for people (the batch key given,
    else the file name or the source's description: a key given that is the source's own,
    ``path|size|mtime`` or ``sql:<hash>`` as the command line passes it on to the job, is no
    name). ``future`` says that a batch time not given, but read from its name or
    file, lies more than a day ahead (see `refuse_future_batch_time`)."""

    source: sources.Source | None
    batch_key: str
    description: str
    batch_time: datetime
    label: str
    future: bool = False


def build_reference_profile(
    source_spec: str | sources.Source,
    options: DatasetOptions,
    dask: str | None = None,
    counter: PartitionCounter | None = None,
) -> tuple[Profile, str, dict[str, dict[str, float]] | None]:
    """Read reference data, fit bins on (a sample of) it and count all of it.

    Bins need quantiles, so they are fitted on a uniform sample of at most
    ``reference_sample_rows`` rows; the counts then cover every row (a second pass, skipped when
    the sample already is the whole data), and so does what each categorical feature saw.
    Returns the profile, a description of the source, and per-feature KL thresholds when
    ``calibration`` is configured (else None). With ``dask`` (a scheduler address, or
    ``local``) or a ``counter``, the counting pass runs partition by partition there.
    """
    counter = counter or _dask_counter(dask)
    files = check_reference_source(source_spec, options)
    columns = list(options.features) if options.features is not None else None
    all_columns = sources.column_names(files[0])
    sample, n_total = sources.sample_rows(
        files,
        columns=columns,
        categorical=[name for name, kind in options.kinds().items() if kind == CATEGORICAL],
        max_rows=options.reference_sample_rows,
        # the sample holds up to 2.25x its rows while it is drawn: chunks of at most a quarter
        # of it keep the transient memory of reading small beside that
        chunk_rows=min(
            options.rows_per_chunk(len(columns or all_columns)),
            max(options.reference_sample_rows // 4, 10_000),
        ),
        on_progress=_reporter("sampling reference"),
    )
    if n_total == 0:
        raise SourceError(f"reference `{source_spec}` has no data rows")
    names = [str(c) for c in sample.columns]
    specs = fit_specs(
        sample,
        exclude=options.exclude,
        kinds=options.kinds(),
        n_bins=options.n_bins_for(names),
        max_categories=options.max_categories_for(names),
        vocabulary_cap=options.vocabulary_cap,
    )
    if n_total <= len(sample):
        profile = profile_frame(sample, specs)
        profile = Profile(profile.features, profile.n_rows, tuple(all_columns))
    else:
        # counted without the sample's vocabularies (a reference never meets a value it never
        # saw, and looking every tail value up in them would only cost time), collecting
        # every category instead: the sample's vocabularies miss the unsampled rows' values
        unseeing = {name: replace(spec, seen=None) for name, spec in specs.items()}
        counted = count_partitions(
            sources.partitions(files, options.partition_rows),
            unseeing,
            options,
            columns=all_columns,
            label="counting reference",
            vocabularies=True,
            counter=counter,
        )
        profile = counted.profile.with_vocabularies(
            {name: builder.build() for name, builder in counted.vocabularies.items()}
        )
    calibrated = _calibrate(profile, sample, specs, options) if options.calibration else None
    return profile, "; ".join(sources.describe(f) for f in files), calibrated


def unmonitored_features(profile: Profile) -> list[str]:
    """Features of a reference with no usable values (all missing, or one row): they are
    reported when the reference is built and not monitored by checks."""
    return [name for name, feature in profile.features.items() if not feature.usable]


#: A categorical feature whose reference values were mostly seen once looks like an identifier
#: (`identifier_like_features`), from this many distinct values up.
IDENTIFIER_MIN_DISTINCT = 1_000
IDENTIFIER_SINGLETON_SHARE = 0.5


def identifier_like_features(profile: Profile) -> dict[str, dict[str, Any]]:
    """Categorical features of a reference that look like identifiers: at least
    `IDENTIFIER_MIN_DISTINCT` distinct values, most rows holding a value seen only once (the
    share of singletons, `Vocabulary.singleton_share`). Each with its ``distinct`` count and
    that ``singleton_share`` (JSON-ready). Every batch brings new values of such a column;
    checks expect about that share of new values (Good-Turing) and flag the column when a
    batch brings more. The reference command says so, and how to exclude the column."""
    found = {}
    for name, feature in profile.features.items():
        seen = feature.spec.seen
        if (
            seen is not None
            and seen.n_distinct >= IDENTIFIER_MIN_DISTINCT
            and seen.singleton_share >= IDENTIFIER_SINGLETON_SHARE
        ):
            found[name] = {"distinct": seen.n_distinct, "singleton_share": seen.singleton_share}
    return found


#: A date feature whose reference reaches this close to the build (or later) looks like a
#: time of arrival (`time_like_features`).
RECENT_TIMES = timedelta(days=366)


def time_like_features(profile: Profile, built_at: datetime) -> dict[str, dict[str, str]]:
    """Date features of a reference whose latest value is within `RECENT_TIMES` of
    ``built_at`` (or after it): times of events such as ``created_at``. If they are when rows
    arrived, every later batch lies beyond the reference's range and checks flag it; the
    reference command says so (a birth date ends decades back and is not listed). Each with
    its reference range, ``from`` and ``to``, as dates read (JSON-ready)."""
    latest_allowed = (built_at - RECENT_TIMES).timestamp()
    found = {}
    for name, feature in profile.features.items():
        spec = feature.spec
        if spec.kind == NUMERIC and spec.dates and feature.usable and spec.edges:
            low, high = spec.edges[0], spec.edges[-1]
            if high >= latest_allowed:
                found[name] = {
                    "from": value_text(low, dates=True),
                    "to": value_text(high, dates=True),
                }
    return found


#: A numeric feature of whole numbers spread evenly over a range of about one value per row
#: looks like a count up (`counter_like_features`): its range may be at most this many values
#: a row, its quantile edges this far (a share of the range) from evenly spaced.
COUNTER_SPAN_PER_ROW = 2.0
COUNTER_EVEN_TOLERANCE = 0.05


def counter_like_features(profile: Profile) -> dict[str, dict[str, str]]:
    """Numeric features of a reference that look like IDs or sequence numbers counting up:
    whole numbers no two alike in the fitted sample (uniformly random integers repeat some),
    at least `IDENTIFIER_MIN_DISTINCT` values, a range of one to
    `COUNTER_SPAN_PER_ROW` values a row, spread evenly (quantile edges within
    `COUNTER_EVEN_TOLERANCE` of the range from evenly spaced). If they count up, every later
    batch lies beyond the reference's range and checks flag it; the reference command says
    so. Each with its range, ``from`` and ``to`` (JSON-ready)."""
    found = {}
    for name, feature in profile.features.items():
        spec = feature.spec
        n_values = feature.n_values
        if (
            spec.kind != NUMERIC
            or spec.dates
            or spec.discrete
            or not spec.distinct_integers
            or n_values < IDENTIFIER_MIN_DISTINCT
            or len(spec.edges) < 3
        ):
            continue
        edges = np.asarray(spec.edges, dtype=np.float64)
        low, high = edges[0], edges[-1]
        span = high - low
        quantiles = np.linspace(0.0, 1.0, edges.size)
        # quantile edges interpolate between values: only the range's ends must be whole
        if (
            low.is_integer()
            and high.is_integer()
            and n_values - 1 <= span <= COUNTER_SPAN_PER_ROW * n_values
            and np.abs(edges - (low + span * quantiles)).max() <= COUNTER_EVEN_TOLERANCE * span
        ):
            found[name] = {"from": value_text(low), "to": value_text(high)}
    return found


def reference_warnings(
    unmonitored: Sequence[str],
    identifier_like: Mapping[str, Mapping[str, Any]],
    time_like: Mapping[str, Mapping[str, str]],
    counter_like: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """What building a reference tells the user (plain text; the CLI prints them, `Monitor`
    warns with them): features it cannot monitor, identifier-like ones, times of events and
    counts up, each with the `exclude` line to paste (a TOML string: any name pastes as it is)."""

    def exclude(name: str) -> str:
        return (
            f"`exclude = [{json.dumps(name, ensure_ascii=False)}]` in the dataset's configuration"
        )

    warnings = []
    if unmonitored:
        warnings.append(
            f"no usable values (all missing, or a single row) in {', '.join(unmonitored)}: "
            "not monitored until a reference has values for them"
        )
    warnings += [
        f"{name} looks like an identifier ({found['distinct']:,} distinct values, "
        f"{format_share(found['singleton_share'])} of rows holding one seen once): checks "
        "expect about that share of a batch's rows to hold values the reference never saw and "
        f"flag it when more do; it has little else to watch, so exclude it ({exclude(name)}) "
        "unless new values are what you want to watch"
        for name, found in identifier_like.items()
    ]
    warnings += [
        f"{name} holds recent times ({span['from']} to {span['to']}): if they are when rows "
        "arrived, every later batch lies beyond that range and checks will flag it; exclude it "
        f"({exclude(name)}) unless it is what you want to watch"
        for name, span in time_like.items()
    ]
    warnings += [
        f"{name} holds whole numbers from {span['from']} to {span['to']}, about one a row: if it "
        "counts up (an ID, a sequence number), every later batch lies beyond that range and "
        f"checks will flag it; exclude it ({exclude(name)}) unless it is what you want to watch"
        for name, span in (counter_like or {}).items()
    ]
    return warnings


def _calibrate(
    profile: Profile, sample: Any, specs: dict[str, BinSpec], options: DatasetOptions
) -> dict[str, dict[str, float]]:
    """Resample contiguous blocks of reference rows and calibrate KL thresholds on them."""
    calibration = options.calibration
    assert calibration is not None
    if len(sample) < 2 * calibration.batch_rows:
        raise ConfigError(
            f"`calibration.batch_rows` = {calibration.batch_rows} needs a reference of at least "
            f"{2 * calibration.batch_rows} rows (sampled: {len(sample)}); lower it or drop "
            "`calibration`"
        )
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(sample) - calibration.batch_rows + 1, calibration.resamples)
    batches = [
        profile_frame(sample.iloc[start : start + calibration.batch_rows], specs)
        for start in starts
    ]
    return calibrate_kl_thresholds(
        profile,
        batches,
        quantile=calibration.quantile,
        base=options.thresholds,
        alpha=options.alpha,
    )


def save_reference(
    engine: Engine,
    dataset: str,
    profile: Profile,
    source: str,
    options: DatasetOptions,
    calibrated: dict[str, dict[str, float]] | None = None,
) -> store.ReferenceVersion:
    """Store a reference profile (and any calibrated thresholds) as the new active version."""
    with store.session_scope(engine) as session:
        return store.save_reference(
            session,
            dataset,
            profile,
            source=source,
            settings={**options.fit_record(), "calibrated_kl": calibrated},
        )


def load_reference(engine: Engine, dataset: str) -> store.StoredReference:
    """The dataset's active reference; `ReferenceNotFoundError` says how to create one."""
    with store.session_scope(engine) as session:
        return store.load_reference(session, dataset)


def plan_batch(
    source_spec: str | sources.Source,
    batch_key: str | None = None,
    batch_time: datetime | None = None,
) -> BatchPlan:
    """Resolve a batch given on the command line (one file, or a folder of part files read
    as one batch) or in Python (a source), with its batch key and batch time (``batch_time``
    wins over the one its path or modification time gives; one read from them that lies
    ahead is refused: `refuse_future_batch_time`)."""
    if isinstance(source_spec, str):
        source_spec = sources.batch_source(source_spec)
    sources.column_names(source_spec)  # an empty or corrupt file fails here, before any work
    plan = _plan(source_spec, batch_key, batch_time)
    refuse_future_batch_time(plan)
    return plan


def unprocessed_batches(engine: Engine, dataset: str, folder: str) -> list[BatchPlan]:
    """Batches in ``folder`` (or glob) not yet checked for ``dataset``, in name order: its
    files, or its subfolders of part files (`sources.batch_sources`).

    An existing folder with no batch files has none to check (not an error: a job that moves
    checked files away empties it); a folder that does not exist is a `SourceError`."""
    with store.session_scope(engine) as session:
        done = store.processed_batch_keys(session, dataset)
    plans = [_plan(batch, None, None) for batch in sources.batch_sources(folder)]
    return [p for p in plans if p.batch_key not in done]


def waiting_batches(engine: Engine, dataset: str, folder: str) -> list[str]:
    """Folders of part files in ``folder`` that `unprocessed_batches` leaves until their
    writer marks them complete (`sources.unfinished_folders`) and that were not checked as
    they are (by `check`): their descriptions."""
    waiting = [sources.FolderSource.of(path) for path in sources.unfinished_folders(folder)]
    if not waiting:
        return []
    with store.session_scope(engine) as session:
        done = store.processed_batch_keys(session, dataset)
    return [batch.describe() for batch in waiting if batch.key() not in done]


def claim_batch(engine: Engine, dataset: str, plan: BatchPlan) -> bool:
    """Take a batch for this process before reading it; False if it was checked meanwhile or
    another run is checking it (see `driftmon.store.claims`)."""
    with store.session_scope(engine) as session:
        return store.claim_batch(session, dataset, plan.batch_key, _claim_owner())


def release_batch(engine: Engine, dataset: str, plan: BatchPlan) -> None:
    """Give a batch back once this process is done with it (checked, or failed)."""
    with store.session_scope(engine) as session:
        store.release_batch(session, dataset, plan.batch_key, _claim_owner())


#: Why `check-new` skips a batch without data rows (`skip_batch`).
NO_DATA_ROWS = "no data rows"


def skip_batch(engine: Engine, dataset: str, plan: BatchPlan, reason: str) -> BatchSkip:
    """Record a claimed batch as handled without a run (``reason``: `NO_DATA_ROWS`), so
    `check-new` does not try it again; rewriting the file changes its key, so rows written
    to it later are still checked."""
    with store.session_scope(engine) as session:
        store.record_skipped_batch(
            session,
            dataset,
            batch_key=plan.batch_key,
            batch_time=plan.batch_time,
            source=plan.description,
            reason=reason,
        )
    return BatchSkip(plan.description, plan.batch_key, reason)


def _claim_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def profile_batch(
    plan: BatchPlan,
    reference: Profile,
    options: DatasetOptions,
    dask: str | None = None,
    counter: PartitionCounter | None = None,
) -> Profile:
    """Stream one batch in chunks and count it with the reference's bins: here, or partition
    by partition on a Dask cluster (``dask``: its scheduler address, or ``local``) or through
    another ``counter``, with the same result to the last bit."""
    assert plan.source is not None, "a batch given as a profile is counted already"
    all_columns = sources.column_names(plan.source)
    specs = {name: spec for name, spec in reference.specs.items() if name in all_columns}
    counted = count_partitions(
        sources.partitions(plan.source, options.partition_rows),
        specs,
        options,
        columns=all_columns,
        label=f"reading {plan.description}",
        counter=counter or _dask_counter(dask),
    )
    return counted.profile


#: Counts partitions elsewhere: called with the partitions and `count_partition`'s keyword
#: arguments, yields each partition's counts in partition order.
PartitionCounter: TypeAlias = Callable[..., Iterable[PartitionCounts]]


def count_partitions(
    parts: Sequence[sources.Partition],
    specs: dict[str, BinSpec],
    options: DatasetOptions,
    *,
    columns: Sequence[str],
    label: str,
    vocabularies: bool = False,
    counter: PartitionCounter | None = None,
) -> PartitionCounts:
    """Count a source's partitions and add them in order: in this process (one stream of
    chunks, the next read while this one is counted), or each by ``counter`` (a cluster),
    which sends only counts back. ``vocabularies`` also collects every category seen."""
    chunk_rows = options.rows_per_chunk(len(specs))
    cap = options.vocabulary_cap if vocabularies else None
    if counter is not None:
        counted = counter(parts, specs=specs, chunk_rows=chunk_rows, vocabulary_cap=cap)

        def reported() -> Iterable[PartitionCounts]:
            progress.report(f"{label} (partitions, on the cluster)", 0, len(parts))
            for done, part in enumerate(counted, 1):
                progress.report(f"{label} (partitions, on the cluster)", done, len(parts))
                yield part

        return add_partitions(reported(), specs, columns=columns, vocabulary_cap=cap)
    tagged = sources.iter_source_chunks(
        parts,
        columns=list(specs),
        chunk_rows=chunk_rows,
        **_type_hints(specs),
        on_progress=_reporter(label),
        as_chunks=True,
        read_ahead=True,
        tagged=True,
    )
    return profile_partitions(tagged, specs, columns=columns, vocabulary_cap=cap)


def count_partition(
    partition: sources.Partition,
    *,
    specs: dict[str, BinSpec],
    chunk_rows: int,
    vocabulary_cap: int | None = None,
) -> PartitionCounts:
    """Read and count one partition: the task a cluster's worker runs. It returns only counts
    (and, with ``vocabulary_cap``, the categories seen), never rows."""
    chunks = sources.iter_chunks(
        partition, columns=list(specs), chunk_rows=chunk_rows, **_type_hints(specs), as_chunks=True
    )
    return count_partition_chunks(chunks, specs, vocabulary_cap=vocabulary_cap)


def _dask_counter(address: str | None) -> PartitionCounter | None:
    if not address:
        return None
    from driftmon import compute  # dask.distributed loads only when a cluster is used

    return compute.dask_counter(address)


def evaluate_batch(
    reference: Profile,
    current: Profile,
    options: DatasetOptions,
    calibrated: dict[str, dict[str, float]] | None = None,
) -> tuple[Comparison, Verdict]:
    """Compare a batch with the reference and apply the dataset's drift policy, each feature
    judged by `DatasetOptions.thresholds_for` (with the reference's calibrated thresholds)."""
    comparison = compare(reference, current, alpha=options.alpha, correction=options.correction)
    per_feature = {name: options.thresholds_for(name, calibrated) for name in reference.features}
    return comparison, evaluate(comparison, options.thresholds, per_feature)


def record_run(
    engine: Engine,
    *,
    dataset: str,
    plan: BatchPlan,
    reference: store.StoredReference,
    comparison: Comparison,
    verdict: Verdict,
    current: Profile,
    options: DatasetOptions,
    started_at: datetime,
    flow_run_id: str | None = None,
    on_duplicate: Literal["replace", "skip", "new"] = "replace",
    reports_dir: str | None = None,
) -> CheckResult:
    """Persist a checked batch in one transaction: the run, every feature result, the alert
    changes and one pending notification per target if any alert changed state; or nothing.

    Alerts are decided on the readings of the newest batches in batch time, this one among
    them wherever its batch time puts it (see `driftmon.alerts`). The report is not drawn
    here (drawing must never hold the database's write lock; `write_report` draws it after
    commit), but with ``reports_dir`` the notification links to the path it will have.
    """
    targets = notification_targets(options)
    with store.session_scope(engine) as session:
        run = store.save_run(
            session,
            dataset=dataset,
            batch_key=plan.batch_key,
            batch_time=plan.batch_time,
            reference_id=reference.id,
            comparison=comparison,
            statuses=verdict.statuses,
            verdict=verdict.overall,
            n_rows=comparison.n_rows,
            source=plan.description,
            settings=options.check_record(),
            flow_run_id=flow_run_id,
            driftmon_version=driftmon.__version__,
            started_at=started_at,
            on_duplicate=on_duplicate,
            current=current,
            readings=verdict.readings,
        )
        changes: list[AlertChange] = []
        if not run.skipped:
            changes = _decide_alerts(
                session, dataset, options.resolve_after, list(reference.profile.features)
            )
            changes = store.apply_alert_changes(session, dataset, run.id, changes)
        report_link = (
            str(run_report_path(reports_dir, dataset, run.id, store.database_label(engine.url)))
            if reports_dir and not run.skipped
            else None
        )
        result = build_check_result(
            run_id=run.id,
            dataset=dataset,
            batch_key=run.batch_key,
            batch_time=run.batch_time,
            source=plan.description,
            reference_version=reference.version,
            comparison=comparison,
            verdict=verdict,
            alert_changes=changes,
            report_path=run.report_path,
            replaced=run.replaced,
            skipped=run.skipped,
            label=plan.label,
        )
        message = compose_message(
            dataset=dataset,
            batch_label=plan.label,
            batch_key=run.batch_key,
            run_id=run.id,
            changes=changes,
            top_features=result.to_dict()["features"],
            report_link=report_link or result.report_path,
        )
        if message is not None:
            store.enqueue_message(
                session,
                dataset=dataset,
                run_id=run.id,
                message=message,
                targets=[(target.key, target.label) for target in targets],
            )
    return result


#: At most this many runs are read back to decide alerts: a key not observed in that many
#: batches (a feature gone from every batch) neither holds nor clears on older evidence.
_MAX_HISTORY = 4096


def _decide_alerts(
    session: Any, dataset: str, resolve_after: int, monitored: Sequence[str]
) -> list[AlertChange]:
    """The dataset's alert changes, from enough of its newest runs' readings that every key
    that matters has ``resolve_after`` observations (or there are no older runs)."""
    active = store.active_alerts(session, dataset)
    limit = max(16, 8 * resolve_after)
    while True:
        history = store.recent_readings(session, dataset, limit)
        enough = len(history) < limit or limit >= _MAX_HISTORY
        if enough or has_full_windows(active, history, resolve_after):
            return decide_alerts(active, history, resolve_after=resolve_after, monitored=monitored)
        limit *= 4


def write_report(engine: Engine, run_id: int, reports_dir: str) -> str | None:
    """Draw a committed run's HTML report (and refresh the index pages), then record its path
    in a short transaction of its own; the path, or None when drawing failed.

    Drawing runs outside any write transaction, so it never holds the database's lock; a
    report that fails (or a process killed while drawing) leaves the run stored, listed and
    without a page, and `driftmon report` draws it again. A failure is logged, never raised:
    it must not cost the check its result.
    """
    from driftmon.report import write_reports  # matplotlib loads only when reports are made

    try:
        with store.read_scope(engine) as session:
            path = write_reports(session, run_id, Path(reports_dir).resolve(), record_path=False)
        with store.session_scope(engine) as session:
            store.set_report_path(session, run_id, str(path))
    except Exception as error:  # the run is stored: say what failed and go on
        logging.getLogger("driftmon").warning(
            "the report of run %s could not be written: %s", run_id, error
        )
        return None
    return str(path)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one delivery pass did: notifications sent, still pending, and why (no secrets)."""

    sent: int = 0
    pending: int = 0
    errors: tuple[str, ...] = ()


def notification_targets(options: DatasetOptions) -> list[notify.Target]:
    """The dataset's notification targets (configured, then ``DRIFTMON_NOTIFY``'s)."""
    return notify.parse_targets(list(options.notify))


#: How long a check spends delivering notifications, whatever the backlog: one attempt per
#: message, the receiver's timeout cut to what is left. What is not delivered stays pending for
#: the next run or `driftmon notify --retry` (which has `RETRY_BUDGET_SECONDS`, 3 attempts).
CHECK_DELIVERY_BUDGET_SECONDS = 5.0
RETRY_BUDGET_SECONDS = 60.0


def deliver_dataset_notifications(
    engine: Engine,
    dataset: str,
    options: DatasetOptions,
    *,
    budget_seconds: float = CHECK_DELIVERY_BUDGET_SECONDS,
    attempts: int = 1,
    honour_backoff: bool = True,
) -> DeliveryReport:
    """Deliver the dataset's due notifications to its configured targets, within the budget
    (see `deliver_notifications`)."""
    return deliver_notifications(
        engine,
        notification_targets(options),
        dataset=dataset,
        attempts=attempts,
        budget_seconds=budget_seconds,
        honour_backoff=honour_backoff,
    )


def deliver_notifications(
    engine: Engine,
    targets: Sequence[notify.Target],
    *,
    dataset: str | None = None,
    attempts: int = 3,
    budget_seconds: float = RETRY_BUDGET_SECONDS,
    honour_backoff: bool = True,
) -> DeliveryReport:
    """Send due notifications (after the run committed), each claimed before sending, for at
    most about ``budget_seconds`` in all.

    Each target's messages go in order, and the targets at the same time (a thread each): a
    hung or slow receiver costs the others nothing. A failure leaves the notification pending
    for the next run or `driftmon notify --retry`; so does a message the budget leaves no time
    for, and every further message to a target that failed in this round (a hung receiver is
    waited for once, not once per message). A target that failed twice in a row is backed off
    in the store (`driftmon.store.outbox.BACKOFF_FIRST`, doubled per further failure): checks
    do not try it again before then, unless ``honour_backoff`` is False (`driftmon notify
    --retry`, asked for by a person). Every attempt carries the notification's idempotency key
    (a header for webhooks, a line of the body everywhere): an attempt that timed out may still
    have arrived. A sent one is never selected again. Never raises for a failed delivery:
    detected drift and a down receiver are not failures of the check.
    """
    by_key = {t.key: t for t in targets}
    with store.session_scope(engine) as session:
        due = store.due_notifications(session, dataset=dataset)
        backed_off = store.backed_off_targets(session) if honour_backoff else {}
    deadline = time.monotonic() + budget_seconds
    queues: dict[str, list[Any]] = {}
    pending, errors = 0, []
    for item in due:
        target = by_key.get(item.target_key)
        if target is None:  # not configured here (or another dataset's, when not asked for one)
            pending += 1
            unconfigured = (
                f"notifications to `{item.target_label}` wait for a target not configured "
                f"here: give `{dataset}` that target again (`notify` in its configuration, or "
                "DRIFTMON_NOTIFY; the store keeps only a hash of its URL)"
            )
            if dataset is not None and unconfigured not in errors:
                errors.append(unconfigured)
        elif item.target_key in backed_off:
            pending += 1
            until = backed_off[item.target_key]
            waiting = (
                f"notifications to `{target.label}` wait until {until:%Y-%m-%d %H:%M:%S} UTC "
                "(it failed lately; `driftmon notify --retry` tries now)"
            )
            if waiting not in errors:
                errors.append(waiting)
        else:
            queues.setdefault(item.target_key, []).append(item)

    def deliver(key: str) -> DeliveryReport:
        return _deliver_to_target(engine, by_key[key], queues[key], deadline, attempts)

    if len(queues) > 1:
        with ThreadPoolExecutor(min(len(queues), 8), thread_name_prefix="driftmon-notify") as pool:
            reports = list(pool.map(deliver, queues))
    else:
        reports = [deliver(key) for key in queues]
    return DeliveryReport(
        sum(r.sent for r in reports),
        pending + sum(r.pending for r in reports),
        (*errors, *(error for r in reports for error in r.errors)),
    )


def _deliver_to_target(
    engine: Engine, target: notify.Target, items: list[Any], deadline: float, attempts: int
) -> DeliveryReport:
    """One target's due notifications in order, until one fails or the budget runs out
    (those left stay pending)."""
    sent = 0
    for position, item in enumerate(items):
        left = deadline - time.monotonic()
        if left < _MIN_ATTEMPT_SECONDS:
            return DeliveryReport(sent, len(items) - position)
        with store.session_scope(engine) as session:
            if not store.claim_notification(session, item.id):
                continue  # another run is sending it
        payload = item.payload
        key = item.idempotency_key
        message = Message(
            payload["title"],
            f"{payload['body']}\n\nNotification id: {key}",
            payload["level"],
            payload["data"],
            f"{payload['markdown']}\n\nNotification id: `{key}`"
            if payload.get("markdown")
            else None,
        )
        try:
            # connect and read timeouts both apply: half of what is left each
            made = notify.send(
                target,
                message,
                attempts=attempts,
                timeout_seconds=min(10.0, left / 2),
                idempotency_key=key,
            )
        except NotificationError as error:
            with store.session_scope(engine) as session:
                store.mark_notification_failed(session, item.id, str(error), error.attempts)
                store.record_target_failure(session, item.target_key, str(error))
            return DeliveryReport(sent, len(items) - position, (str(error),))
        with store.session_scope(engine) as session:
            store.mark_notification_sent(session, item.id, made)
            store.record_target_success(session, item.target_key)
        sent += 1
    return DeliveryReport(sent, 0)


#: Less time than this left in the budget: the message waits for the next delivery.
_MIN_ATTEMPT_SECONDS = 0.5


def now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------


def _plan(source: sources.Source, batch_key: str | None, batch_time: datetime | None) -> BatchPlan:
    description = sources.describe(source)
    own_key = (
        sources.batch_key(source)
        # a frame's own key hashes its rows: not worth it to tell a key given from it
        if batch_key is None
        or isinstance(source, sources.FileSource | sources.FolderSource | sources.SqlSource)
        else None
    )
    if batch_key and batch_key != own_key:
        label = batch_key  # named by the user (--batch-key)
    elif isinstance(source, sources.FileSource):
        label = file_label(str(source.path.absolute()))
    elif isinstance(source, sources.FolderSource):
        label = file_label(f"{source.folder.absolute()}/")
    else:
        label = description
    moment = batch_time or sources.batch_time(source)
    return BatchPlan(
        source=source,
        batch_key=batch_key or own_key,
        description=description,
        batch_time=moment,
        label=label,
        # a time given (--batch-time, batch_time=) is the user's to choose
        future=batch_time is None and moment > now() + timedelta(days=1),
    )


def refuse_future_batch_time(plan: BatchPlan) -> None:
    """Refuse a batch whose time, read from its name or file, lies ahead: it would count as
    the newest batch, and every batch checked after it as older, which changes no alert (an
    ID such as ``id20301231`` in a name reads as a date)."""
    if plan.future:
        raise SourceError(
            f"the batch time of {plan.description}, {plan.batch_time.date().isoformat()}, "
            "read from its name or file, is in the future: checked with it, this batch would "
            "hold every alert as the newest; give the real time with --batch-time (in Python "
            "`batch_time=`), or rename the file"
        )


def check_reference_source(
    source_spec: str | sources.Source, options: DatasetOptions
) -> list[sources.Source]:
    """Resolve reference files (or take the source given) and check that every column the
    config names exists, and that every file has the columns the reference will use.

    Cheap (file names and headers only), so the CLI runs it before Prefect starts: a typo in
    ``features``, ``exclude`` or a ``feature.NAME`` table must not pass silently.
    """
    files = sources.parse_source(source_spec) if isinstance(source_spec, str) else [source_spec]
    available = sources.column_names(files[0])
    named = {
        "features": list(options.features or []),
        "exclude": list(options.exclude),
        "feature": list(options.feature),
    }
    absent = {key: [n for n in names if n not in available] for key, names in named.items()}
    problems = [
        f"`{key}` names {', '.join(f'`{n}`' for n in names)}"
        for key, names in absent.items()
        if names
    ]
    if problems:
        raise SourceError(
            f"{sources.describe(files[0])}: configured column(s) that do not exist "
            f"({'; '.join(problems)}); available columns: {', '.join(available)}"
        )
    used = [n for n in (options.features or available) if n not in options.exclude]
    for other in files[1:]:
        has = set(sources.column_names(other))
        lacking = [n for n in used if n not in has]
        if lacking:
            raise SourceError(
                f"reference files differ in their columns: {sources.describe(other)} lacks "
                f"{', '.join(f'`{n}`' for n in lacking)}, which {sources.describe(files[0])} "
                "has; its rows would count as missing values there, and every complete batch "
                "would look changed. Build from files with the same columns, or leave those "
                f"out (`exclude = {json.dumps(lacking, ensure_ascii=False)}` in the dataset's "
                "configuration)"
            )
    return files


def _type_hints(specs: dict[str, BinSpec]) -> dict[str, Sequence[str]]:
    return {
        "numeric": [n for n, s in specs.items() if s.kind == NUMERIC],
        "categorical": [n for n, s in specs.items() if s.kind == CATEGORICAL],
        "text": [n for n, s in specs.items() if s.text],
    }


def _reporter(label: str):
    return lambda done, total: progress.report(label, done, total)
