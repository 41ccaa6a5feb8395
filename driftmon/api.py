"""driftmon from Python: one call to compare data with a reference, or a `Monitor` that keeps
references, runs, alerts and reports in a database, as the command line does.

>>> import driftmon, numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> reference = pd.DataFrame({"amount": rng.normal(50, 10, 5_000)})
>>> current = pd.DataFrame({"amount": rng.normal(58, 10, 2_000)})
>>> report = driftmon.check(reference, current)
>>> report.verdict, report.drifted
('critical', ('amount',))

Data may be a pandas DataFrame, a path (CSV, gzip CSV or Parquet file), a database URL with
its query (`driftmon.sources.sql`), a `driftmon.sources.Source` or, for `check`, a
`Profile` from `driftmon.profile`. Settings are the configuration file's dataset settings as
keyword arguments (``n_bins=20``, ``thresholds={"kl_warning": 0.05}``, ``features=[...]``),
validated the same way, with the same one-line errors.

Both paths run the pipeline steps the command line runs (`driftmon.pipeline`, `driftmon.jobs`):
`check` without a database, `Monitor` through the same job as ``driftmon check``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftmon import jobs, pipeline, sources, store
from driftmon.config import NoConfig, find_config, load_settings
from driftmon.errors import ConfigError, DriftmonWarning
from driftmon.formatting import name_list
from driftmon.options import DatasetOptions
from driftmon.policy import Status
from driftmon.profile import Profile
from driftmon.results import CheckResult, alert_summary, build_check_result, run_summary

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from driftmon.compare import Comparison
    from driftmon.policy import Verdict

__all__ = ["DriftReport", "Monitor", "check", "profile"]

#: Keys of `CheckResult.to_dict` that only a stored run has.
_STORED_KEYS = (
    "run_id",
    "reference_version",
    "alerts",
    "report_path",
    "replaced",
    "skipped",
    "notifications",
)
#: The columns of `DriftReport.to_pandas`, in order.
TABLE_COLUMNS = (
    "name",
    "kind",
    "status",
    "kl",
    "kl_reverse",
    "js",
    "psi",
    "p_value",
    "expected_kl_no_drift",
    "missing_share_reference",
    "missing_share_current",
    "other_share_reference",
    "other_share_current",
    "unseen_share_reference",
    "unseen_share_current",
    "message",
)

#: a pandas DataFrame, a path to a CSV / Parquet file, a database URL with its query (see
#: `driftmon.sources.sql`), a `driftmon.sources.Source`, or (for `check`) a Profile
Data = Any


def profile(data: Data, **settings: Any) -> Profile:
    """Fit bins on ``data`` and count it: a reusable reference (profiles add up with ``+``).

    ``settings`` are dataset settings (``n_bins``, ``max_categories``, ``features``,
    ``exclude``, ``feature={"age": {"type": "categorical"}}``, ...).
    """
    options = _options("data", settings)
    fitted, _, _ = pipeline.build_reference_profile(_source(data, "reference"), options)
    return fitted


def check(
    reference: Data,
    current: Data,
    *,
    dataset: str = "data",
    batch_key: str | None = None,
    batch_time: str | datetime | None = None,
    **settings: Any,
) -> DriftReport:
    """Compare ``current`` with ``reference`` (each a DataFrame, a file path or a `Profile`)
    and judge it by the drift policy; nothing is stored. A `Profile` given as ``current`` must
    be counted with the reference's bins (``profile_frame(batch, reference.specs)``).

    ``settings`` are dataset settings as keyword arguments, e.g.
    ``thresholds={"kl_warning": 0.05}`` or ``features=["age", "country"]``; a reference given
    as data is fitted with them.
    """
    options = _options(dataset, settings)
    calibrated = None  # KL thresholds calibrated on a reference given as data (`calibration`)
    if isinstance(reference, Profile):
        reference_profile, description = reference, "a profile"
        # how bins are fitted: a profile's bins are fitted already (per-feature tables may
        # hold thresholds too, which apply, so `feature` is not among them)
        ignored = [key for key in settings if key in options.fit_record() and key != "feature"]
        if ignored:
            warnings.warn(
                f"{', '.join(ignored)} fit a reference's bins, and a reference given as a "
                "profile has its bins already: ignored; give the reference as data to fit with "
                "them",
                DriftmonWarning,
                stacklevel=2,
            )
    else:
        reference_profile, description, calibrated = pipeline.build_reference_profile(
            _source(reference, "reference"), options
        )
    moment = _moment(batch_time)
    if isinstance(current, Profile):
        current_profile = current
        plan = pipeline.BatchPlan(
            source=None,
            batch_key=batch_key or "profile",
            description="a profile",
            batch_time=moment or pipeline.now(),
            label=batch_key or "profile",
        )
    else:
        plan = pipeline.plan_batch(_source(current, "current", batch=True), batch_key, moment)
        current_profile = pipeline.profile_batch(plan, reference_profile, options)
    comparison, verdict = pipeline.evaluate_batch(
        reference_profile, current_profile, options, calibrated
    )
    result = build_check_result(
        run_id=0,
        dataset=dataset,
        batch_key=plan.batch_key,
        batch_time=plan.batch_time,
        source=plan.description,
        reference_version=0,
        comparison=comparison,
        verdict=verdict,
        label=plan.label,
    )
    return DriftReport(
        result,
        reference=reference_profile,
        _unstored=_Unstored(
            plan, comparison, verdict, current_profile, options, description, calibrated
        ),
    )


@dataclass(frozen=True)
class _Unstored:
    """What a report of an un-stored check needs to draw its page like a stored one."""

    plan: pipeline.BatchPlan
    comparison: Comparison
    verdict: Verdict
    current: Profile
    options: DatasetOptions
    reference_description: str
    calibrated: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class DriftReport:
    """The outcome of one check: verdict, drifted features, per-feature figures, report.

    ``result`` is the `CheckResult` the command line prints with ``--json``.
    """

    result: CheckResult
    reference: Profile | None = None
    _engine: Engine | None = field(default=None, repr=False)
    _unstored: _Unstored | None = field(default=None, repr=False)

    @property
    def verdict(self) -> str:
        """``ok``, ``warning`` or ``critical`` (``empty`` if no feature had rows to judge)."""
        return str(self.result.verdict)

    @property
    def drifted(self) -> tuple[str, ...]:
        """Drifted features, most severe first."""
        return tuple(row.name for row in self.result.features if row.name in self.result.drifted)

    @property
    def stored(self) -> bool:
        """Whether this check was recorded in a database (`Monitor.check`)."""
        return self._engine is not None

    def to_dict(self) -> dict[str, Any]:
        """The object ``driftmon check --json`` prints; without the run's database fields
        (``run_id``, ``alerts``, ``report_path``, ...) when nothing was stored."""
        data = self.result.to_dict()
        if not self.stored:
            for key in _STORED_KEYS:
                data.pop(key, None)
        return data

    def to_pandas(self) -> pd.DataFrame:
        """One row per feature, most severe first: `TABLE_COLUMNS` (name, kind, status, the
        divergences, the corrected p-value, the no-drift KL, the shares, a message)."""
        import pandas as pd

        messages: dict[str, list[str]] = {}
        for finding in self.result.findings:
            messages.setdefault(finding.get("feature") or "", []).append(finding["message"])
        rows = []
        for row in self.result.features:
            data = row.to_dict()
            data["message"] = "; ".join(messages.get(row.name, []))
            rows.append({column: data.get(column) for column in TABLE_COLUMNS})
        return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    def save_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the self-contained HTML page the command line writes for a run; its path.

        ``path`` is the file to write (e.g. ``drift.html``); missing parent folders are
        created, as the command line creates its ``reports_dir``. A folder is refused rather
        than filled with a file of a name the caller did not choose.

        Raises
        ------
        ConfigError
            ``path`` is a folder, or the file cannot be written there.
        """
        target = Path(path)
        if target.is_dir() or os.fspath(path).endswith(("/", os.sep)):
            raise ConfigError(
                f"cannot save the report to `{os.fspath(path)}`: it is a folder; pass a file "
                f"path such as `{target / 'drift.html'}`"
            )
        page = self._page()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page, encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"cannot save the report to `{target}`: {error.strerror or error}; pass a "
                "writable file path such as `drift.html`"
            ) from error
        return target

    def _page(self) -> str:
        from driftmon.report import render_run_report

        if self._engine is not None:
            with store.read_scope(self._engine) as session:
                return render_run_report(session, self.result.run_id)
        assert self._unstored is not None and self.reference is not None
        # the page is drawn from a run in a throw-away database: the very page a stored
        # run gets, from the same code
        with tempfile.TemporaryDirectory(prefix="driftmon-") as folder:
            engine = store.open_store(f"sqlite:///{Path(folder) / 'report.db'}")
            try:
                run_id = _record(engine, self.result.dataset, self.reference, self._unstored)
                with store.read_scope(engine) as session:
                    return render_run_report(session, run_id)
            finally:
                engine.dispose()

    def _repr_html_(self) -> str:
        """Jupyter's view: verdict, feature table, charts of the features that moved."""
        from driftmon.report import render_summary

        run = self.result
        if self._engine is not None:
            with store.read_scope(self._engine) as session:
                stored = store.load_run(session, run.run_id)
                reference = store.load_reference(session, run.dataset, run.reference_version)
            features, findings, profile_ = stored.features, stored.findings, reference.profile
        else:
            assert self._unstored is not None and self.reference is not None
            features = _feature_records(self._unstored)
            findings, profile_ = self._unstored.verdict.findings, self.reference
        return render_summary(
            dataset=run.dataset,
            label=run.label or run.batch_key,
            n_rows=run.n_rows,
            verdict=run.verdict,
            drifted=self.drifted,
            findings=findings,
            features=features,
            reference=profile_,
        )

    def __repr__(self) -> str:
        run = self.result
        drifted = name_list(self.drifted) or "none"
        where = f", run {run.run_id}" if self.stored else ""
        return (
            f"<DriftReport {run.dataset!r}{where}: {run.verdict}, {run.n_rows:,} rows, "
            f"{len(run.features)} features, drifted: {drifted}>"
        )


class Monitor:
    """References, checks, history and alerts of datasets in a database, as the command line
    keeps them: the same jobs, the same store, reports under the configuration's
    ``reports_dir``, notifications to its targets.

    ``db`` is a SQLAlchemy URL (default: the configuration's ``database``, else
    ``sqlite:///driftmon.db``); ``config`` a TOML file (default: ``DRIFTMON_CONFIG``, else
    ``./driftmon.toml`` if it exists, else none); ``reports_dir`` where HTML reports go
    (default: the configuration's ``reports_dir``, else ``reports``).

    Only `reference` creates the database; every other method needs it to exist already and
    raises `StoreError` otherwise, as the command line does, so a mistyped ``db`` leaves no
    file or folder behind.
    """

    def __init__(
        self,
        db: str | None = None,
        config: str | os.PathLike[str] | None = None,
        *,
        reports_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        path = find_config(str(config) if config is not None else None)
        self.config_path = str(path) if path else None
        self._settings = load_settings(self.config_path)
        self.db_url = db or self._settings.database or store.default_database_url()
        self.reports_dir = str(reports_dir or self._settings.reports_dir)
        self._opened: Engine | None = None

    def _engine(self) -> Engine:
        """The database's engine, opened on first use; a missing SQLite file is a
        `StoreError` (``create=False``), not a new empty database."""
        if self._opened is None:
            self._opened = store.open_store(self.db_url, create=False)
        return self._opened

    def __repr__(self) -> str:
        config = f", config={self.config_path!r}" if self.config_path else ""
        return f"Monitor(db={store.redact_url(self.db_url)!r}{config})"

    def reference(self, dataset: str, data: Data, **settings: Any) -> dict[str, Any]:
        """Build and store a new reference version of ``dataset``; its version, rows and
        features (what ``driftmon reference`` prints). What the command warns of (columns it
        cannot monitor, identifiers, times of events) comes as `DriftmonWarning`s."""
        info = jobs.build_reference(
            jobs.local_steps(),
            dataset=dataset,
            source=_source(data, dataset),
            db_url=self.db_url,
            config_path=self.config_path,
            overrides=settings or None,
        )
        for warning in info["warnings"]:
            warnings.warn(warning, DriftmonWarning, stacklevel=2)
        return info

    def check(
        self,
        dataset: str,
        data: Data,
        *,
        batch_key: str | None = None,
        batch_time: str | datetime | None = None,
        keep_previous: bool = False,
        **settings: Any,
    ) -> DriftReport:
        """Check a batch against the dataset's active reference and record the run, its
        alerts, notifications and report, as ``driftmon check`` does."""
        moment = _moment(batch_time)
        result = jobs.check_batch(
            jobs.local_steps(),
            dataset=dataset,
            source=_source(data, batch_key or dataset, batch=True),
            batch_key=batch_key,
            db_url=self.db_url,
            config_path=self.config_path,
            on_duplicate="new" if keep_previous else "replace",
            batch_time=moment.isoformat() if moment else None,
            overrides=settings or None,
            reports_dir=self.reports_dir,
        )
        for warning in result.warnings:
            warnings.warn(warning, DriftmonWarning, stacklevel=2)
        return DriftReport(result, _engine=self._engine())

    def history(self, dataset: str, limit: int | None = None) -> pd.DataFrame:
        """The dataset's checked batches, newest first (``driftmon history --json``)."""
        import pandas as pd

        with store.read_scope(self._engine()) as session:
            store.require_dataset(session, dataset)
            runs = store.list_runs(session, dataset, limit=limit)
        frame = pd.DataFrame([run_summary(run) for run in runs], columns=_HISTORY_COLUMNS)
        for column in ("batch_time", "started_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame

    def alerts(self, dataset: str | None = None, include_resolved: bool = False) -> pd.DataFrame:
        """Open alerts (all datasets, or one), most severe first (``driftmon alerts --json``)."""
        import pandas as pd

        with store.read_scope(self._engine()) as session:
            if dataset is not None:
                store.require_dataset(session, dataset)
            found = store.list_alerts(session, dataset, include_resolved=include_resolved)
        now = datetime.now(UTC)
        frame = pd.DataFrame([alert_summary(a, now) for a in found], columns=_ALERT_COLUMNS)
        for column in ("opened_at", "acknowledged_at", "resolved_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame


_HISTORY_COLUMNS = (
    "run_id",
    "batch_key",
    "batch_time",
    "reference_version",
    "verdict",
    "n_rows",
    "n_drifted",
    "max_kl",
    "started_at",
    "finished_at",
    "report_path",
)
_ALERT_COLUMNS = (
    "id",
    "dataset",
    "feature",
    "signal",
    "severity",
    "state",
    "message",
    "opened_at",
    "open_seconds",
    "acknowledged_by",
    "acknowledged_at",
    "resolved_at",
)


def _options(dataset: str, settings: Mapping[str, Any]) -> DatasetOptions:
    """Dataset settings given as keywords over the defaults (no configuration file)."""
    return NoConfig().dataset(dataset, settings or None)


def _source(data: Data, name: str, *, batch: bool = False) -> sources.Source:
    """A DataFrame, a path (or a database URL with its query) or a source; anything else is
    a clear error. A ``batch`` path is one as `driftmon check` takes it
    (`sources.batch_source`: a file or a folder of part files)."""
    if isinstance(data, sources.Source) and not isinstance(data, str):
        return data
    if batch and isinstance(data, str | os.PathLike):
        return sources.batch_source(os.fspath(data))
    if isinstance(data, str | os.PathLike):
        files = sources.parse_source(os.fspath(data))
        if len(files) != 1:
            raise ConfigError(
                f"`{os.fspath(data)}` matches {len(files)} files; give one file (or a DataFrame)"
            )
        return files[0]
    if type(data).__name__ == "DataFrame":
        return sources.FrameSource(data, name)
    raise ConfigError(
        f"expected a pandas DataFrame, a path to a CSV or Parquet file, or a driftmon Profile; "
        f"got `{type(data).__name__}`"
    )


def _moment(batch_time: str | datetime | None) -> datetime | None:
    if batch_time is None or isinstance(batch_time, datetime):
        return batch_time
    return sources.parse_batch_time(batch_time)


def _feature_records(unstored: _Unstored) -> list[store.StoredFeatureResult]:
    """The comparison's results with their batch counts, as the store would return them."""
    statuses = unstored.verdict.statuses
    return [
        store.StoredFeatureResult(
            id=0,
            run_id=0,
            status=statuses.get(result.name, Status.EMPTY),
            result=result,
            current_counts=(
                [int(c) for c in unstored.current.features[result.name].counts]
                if result.name in unstored.current.features
                else None
            ),
        )
        for result in unstored.comparison.features
    ]


def _record(engine: Engine, dataset: str, reference: Profile, unstored: _Unstored) -> int:
    """Store the reference and the run in ``engine``; the run's id."""
    options = unstored.options
    pipeline.save_reference(
        engine, dataset, reference, unstored.reference_description, options, unstored.calibrated
    )
    stored_reference = pipeline.load_reference(engine, dataset)
    result = pipeline.record_run(
        engine,
        dataset=dataset,
        plan=unstored.plan,
        reference=stored_reference,
        comparison=unstored.comparison,
        verdict=unstored.verdict,
        current=unstored.current,
        options=options,
        started_at=pipeline.now(),
    )
    return result.run_id
