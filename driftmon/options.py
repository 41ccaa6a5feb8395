"""A dataset's settings, resolved once into plain frozen values the pipeline and policy take.

The configuration file (`driftmon.config`, pydantic) validates what people write and resolves
``[defaults]``, ``[datasets.NAME]`` and the environment into one `DatasetOptions`; everything
downstream reads only these values. Each default lives here (thresholds: in
`driftmon.policy.Thresholds`) with its reason, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from driftmon.alerts import DEFAULT_RESOLVE_AFTER
from driftmon.bins import DEFAULT_MAX_CATEGORIES, DEFAULT_N_BINS
from driftmon.divergence import DEFAULT_ALPHA
from driftmon.policy import DEFAULT_THRESHOLDS, Thresholds
from driftmon.vocabulary import DEFAULT_VOCABULARY_CAP

__all__ = [
    "DEFAULT_OPTIONS",
    "CalibrationOptions",
    "DatasetOptions",
    "FeatureOptions",
    "ScheduleOptions",
]


@dataclass(frozen=True, slots=True)
class CalibrationOptions:
    """Opt-in KL thresholds calibrated on the reference by resampling batches of its rows.

    ``batch_rows``: the expected batch size. ``resamples`` (200): batches drawn, contiguous
    blocks of rows so clumped data keeps its clumps; 200 puts the 99th percentile between the
    two largest scores. ``quantile`` (0.99): the healthy score a warning must exceed.
    Calibration only raises thresholds: the defaults stay a floor.
    """

    batch_rows: int
    resamples: int = 200
    quantile: float = 0.99


@dataclass(frozen=True, slots=True)
class FeatureOptions:
    """Per-feature overrides; None keeps the dataset's value."""

    kind: Literal["numeric", "categorical"] | None = None
    n_bins: int | None = None
    max_categories: int | None = None
    thresholds: Thresholds | None = None


@dataclass(frozen=True, slots=True)
class ScheduleOptions:
    """When ``driftmon serve`` runs the dataset's check of new batches: cron or interval."""

    cron: str | None = None
    interval_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class DatasetOptions:
    """Everything that decides how one dataset is fitted, read, judged and notified.

    Defaults and why:

    - ``n_bins`` (20), ``max_categories`` (50): see `driftmon.bins`; ``vocabulary_cap``
      (1,000,000): categories a reference remembers exactly (see `driftmon.vocabulary`).
    - ``alpha`` (0.5): the Jeffreys pseudo-count, see `driftmon.divergence`.
    - ``correction`` ("bh"): Benjamini-Hochberg controls the false-discovery rate across a
      batch's features and, when nothing drifted, bounds the chance of any false flag.
    - ``chunk_rows`` (100,000): rows read at a time; ~16 MB of floats for 20 columns.
    - ``reference_sample_rows`` (1,000,000): bins are fitted on a uniform sample this large;
      quantile edges from a million rows are within a thousandth of the population's.
    - ``thresholds``: see `driftmon.policy.Thresholds`.
    - ``resolve_after`` (2): see `driftmon.alerts`.
    - ``notify``: apprise URLs, the configuration's and then ``DRIFTMON_NOTIFY``'s.
    """

    reference: str | None = None
    folder: str | None = None
    features: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    n_bins: int = DEFAULT_N_BINS
    max_categories: int = DEFAULT_MAX_CATEGORIES
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP
    alpha: float = DEFAULT_ALPHA
    correction: Literal["bh", "holm", "none"] = "bh"
    chunk_rows: int = 100_000
    reference_sample_rows: int = 1_000_000
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    feature: Mapping[str, FeatureOptions] = field(default_factory=dict)
    schedule: ScheduleOptions | None = None
    notify: tuple[str, ...] = ()
    resolve_after: int = DEFAULT_RESOLVE_AFTER
    calibration: CalibrationOptions | None = None

    def kinds(self) -> dict[str, str]:
        """The features whose kind is set explicitly."""
        return {name: f.kind for name, f in self.feature.items() if f.kind is not None}

    def n_bins_for(self, columns: Iterable[str]) -> dict[str, int]:
        """Bin count of every column: the feature's override, else the dataset's."""
        return {c: self._override(c, "n_bins") or self.n_bins for c in columns}

    def max_categories_for(self, columns: Iterable[str]) -> dict[str, int]:
        return {c: self._override(c, "max_categories") or self.max_categories for c in columns}

    def thresholds_for(
        self, name: str, calibrated: Mapping[str, Mapping[str, float]] | None = None
    ) -> Thresholds:
        """The thresholds that judge one feature, by the one precedence rule: the feature's own
        ``thresholds`` in the configuration, else the dataset's with the reference's calibrated
        KL thresholds (when it was built with ``calibration``), else the dataset's."""
        own = self._override(name, "thresholds")
        if own is not None:
            return own
        if calibrated and name in calibrated:
            return replace(self.thresholds, **dict(calibrated[name]))
        return self.thresholds

    def fit_record(self) -> dict[str, Any]:
        """How bins were fitted, stored with the reference (JSON-ready)."""
        return {
            "n_bins": self.n_bins,
            "max_categories": self.max_categories,
            "vocabulary_cap": self.vocabulary_cap,
            "features": list(self.features) if self.features is not None else None,
            "exclude": list(self.exclude),
            "feature": {
                name: {
                    key: value
                    for key, value in (
                        ("type", f.kind),
                        ("n_bins", f.n_bins),
                        ("max_categories", f.max_categories),
                    )
                    if value is not None
                }
                for name, f in self.feature.items()
            },
            "reference_sample_rows": self.reference_sample_rows,
        }

    def check_record(self) -> dict[str, Any]:
        """How a batch was judged, stored with its run (JSON-ready)."""
        return {
            "alpha": self.alpha,
            "correction": self.correction,
            "thresholds": _thresholds_record(self.thresholds),
            "chunk_rows": self.chunk_rows,
            "resolve_after": self.resolve_after,
        }

    def _override(self, name: str, key: str) -> Any:
        feature = self.feature.get(name)
        return None if feature is None else getattr(feature, key)


def _thresholds_record(thresholds: Thresholds) -> dict[str, float]:
    return {name: getattr(thresholds, name) for name in Thresholds.__dataclass_fields__}


#: Every default in one value.
DEFAULT_OPTIONS = DatasetOptions()
