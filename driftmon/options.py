"""Every setting's default and its reason, and a dataset's settings resolved into plain values.

The configuration file (`driftmon.config`, pydantic) validates what people write and resolves
``[defaults]``, ``[datasets.NAME]`` and the environment into one `DatasetOptions`; everything
downstream reads only these values. Each default lives here, once, with its reason; the
modules that use one (`driftmon.bins`, `driftmon.divergence`, ...) import it from here. This
module imports nothing heavy, so reading a configuration stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from driftmon.errors import ConfigError

__all__ = [
    "CHUNK_VALUES",
    "DEFAULT_ALPHA",
    "DEFAULT_MAX_CATEGORIES",
    "DEFAULT_N_BINS",
    "DEFAULT_OPTIONS",
    "DEFAULT_PARTITION_ROWS",
    "DEFAULT_RESOLVE_AFTER",
    "DEFAULT_THRESHOLDS",
    "DEFAULT_VOCABULARY_CAP",
    "CalibrationOptions",
    "DatasetOptions",
    "FeatureOptions",
    "ScheduleOptions",
    "Thresholds",
]

#: Quantile bins per numeric feature. Twenty bins resolve shifts of a fraction of a standard
#: deviation while keeping about 2.5 expected rows per bin in a 50-row batch, where the
#: significance test is still calibrated (tests/unit/test_calibration.py).
DEFAULT_N_BINS = 20
#: Categories kept as bins per categorical feature; rarer ones share the "other" slot (the long
#: tail), where `category_share` still finds one that surges.
DEFAULT_MAX_CATEGORIES = 50
#: Distinct categories per feature a reference remembers exactly; the rest go to a Bloom
#: filter. A million ids cost ~34 MB stored and load in milliseconds.
DEFAULT_VOCABULARY_CAP = 1_000_000
#: Pseudo-count added to every bin of both histograms. 0.5 is the Jeffreys /
#: Krichevsky–Trofimov prior: it keeps KL finite when a bin is empty in a small batch, and its
#: pull towards uniform fades like ``k / N`` as batches grow, unlike a fixed probability floor.
DEFAULT_ALPHA = 0.5
#: Consecutive batches that must agree before an alert resolves or de-escalates: one clean
#: batch must not close an alert that flaps.
DEFAULT_RESOLVE_AFTER = 2


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Thresholds of every signal, and the significance level of corrected p-values.

    This is the one place that holds each default and its reason; the configuration file's
    ``thresholds`` tables take their defaults from here.

    - ``kl_warning`` / ``kl_critical`` (0.02 / 0.1 nats): 0.02 sits well above negligible
      changes (a 0.02 sd mean shift gives ~0.0002) and below real ones (a 0.5 sd shift ~0.1, a
      doubled variance ~0.08, a new category with 5% of rows ~0.05).
    - ``significance`` (0.01): level of every corrected p-value; keeps healthy runs flagged
      well under 1% of feature checks even for 50-row batches over many features.
    - ``share_change_warning`` / ``share_change_critical`` (0.02 / 0.1): change of one
      category's share of known values (2 / 10 percentage points). One category going from
      0.5% to 3% of 200 moves KL by only ~0.01, below ``kl_warning``, but is a change people
      act on; healthy sampling noise of a share is far below 2 points from 1,000 rows up, and
      the test gate covers smaller batches. Its p-value is Bonferroni-corrected over every
      category the reference saw, so on a column of a million ids only large, clear moves
      pass it.
    - ``unseen_warning`` / ``unseen_critical`` (0.01 / 0.05): share of values the reference
      never saw (categories it never met, values outside its range) in excess of what it
      expects: 0 beyond a numeric range (about ``2 / n_reference`` happen by chance), and for
      categories the share of its values it saw only once (the Good-Turing estimate of unseen
      mass), so a feed with a long tail of rare values does not alarm on every new rare value.
    - ``unseen_min_count`` (5): fewest never-seen values that can raise that signal: a single
      value beyond a continuous reference's extremes happens by chance and proves nothing.
    - ``missing_warning`` / ``missing_critical`` (0.05 / 0.2): absolute change of the missing
      share, 5 / 20 percentage points.
    - ``min_drifted_features`` (3): a batch with this many drifted features gets a
      dataset-level critical finding: the source as a whole likely changed.
    """

    kl_warning: float = 0.02
    kl_critical: float = 0.1
    significance: float = 0.01
    share_change_warning: float = 0.02
    share_change_critical: float = 0.1
    unseen_warning: float = 0.01
    unseen_critical: float = 0.05
    unseen_min_count: int = 5
    missing_warning: float = 0.05
    missing_critical: float = 0.2
    min_drifted_features: int = 3

    def __post_init__(self) -> None:
        for low, high in (
            ("kl_warning", "kl_critical"),
            ("share_change_warning", "share_change_critical"),
            ("unseen_warning", "unseen_critical"),
            ("missing_warning", "missing_critical"),
        ):
            if not 0 < getattr(self, low) <= getattr(self, high):
                raise ConfigError(
                    f"thresholds: need 0 < {low} <= {high}, got `{getattr(self, low)}` and "
                    f"`{getattr(self, high)}`"
                )
        if not 0 < self.significance < 1:
            raise ConfigError(
                f"thresholds: significance must be in (0, 1), got `{self.significance}`"
            )
        for name in ("unseen_min_count", "min_drifted_features"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"thresholds: {name} must be at least 1, got `{getattr(self, name)}`"
                )


#: Every default threshold in one value (what the configuration file starts from).
DEFAULT_THRESHOLDS = Thresholds()


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


#: Values read at a time when ``chunk_rows`` is not set: 48 MB as floats. Fresh memory costs a
#: page fault per 4 KB on first touch, so smaller chunks that the allocator reuses count a
#: 1M x 25 batch in 0.35-0.4 s from a cold process against 0.5-1.0 s with 128 MB chunks.
CHUNK_VALUES = 6_000_000
#: Rows a partition (the unit of work of a Dask cluster) aims at: Parquet row groups are grouped
#: until they hold this many. Large enough that scheduling one costs little beside counting it,
#: small enough that a 10M-row file gives every core of a small cluster work.
DEFAULT_PARTITION_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class DatasetOptions:
    """Everything that decides how one dataset is fitted, read, judged and notified.

    Defaults and why:

    - ``n_bins`` (20), ``max_categories`` (50): see `driftmon.bins`; ``vocabulary_cap``
      (1,000,000): categories a reference remembers exactly (see `driftmon.vocabulary`).
    - ``alpha`` (0.5): the Jeffreys pseudo-count, see `driftmon.divergence`.
    - ``correction`` ("bh"): Benjamini-Hochberg controls the false-discovery rate across a
      batch's features and, when nothing drifted, bounds the chance of any false flag.
    - ``chunk_rows`` (None: as many rows as hold `CHUNK_VALUES` values of the columns read,
      ~48 MB of floats, between 10,000 and 1,000,000 rows): rows read at a time. Larger
      chunks cost less per value; the bound keeps memory flat for wide tables.
    - ``reference_sample_rows`` (1,000,000): bins are fitted on a uniform sample this large;
      quantile edges from a million rows are within a thousandth of the population's.
    - ``partition_rows`` (1,000,000): rows per partition, the unit of work on a Dask cluster
      (`DEFAULT_PARTITION_ROWS`); counts do not depend on it.
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
    chunk_rows: int | None = None
    reference_sample_rows: int = 1_000_000
    partition_rows: int = DEFAULT_PARTITION_ROWS
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    feature: Mapping[str, FeatureOptions] = field(default_factory=dict)
    schedule: ScheduleOptions | None = None
    notify: tuple[str, ...] = ()
    resolve_after: int = DEFAULT_RESOLVE_AFTER
    calibration: CalibrationOptions | None = None

    def rows_per_chunk(self, n_columns: int) -> int:
        """``chunk_rows``, or by default as many rows as hold `CHUNK_VALUES` values."""
        if self.chunk_rows is not None:
            return self.chunk_rows
        return min(max(CHUNK_VALUES // max(n_columns, 1), 10_000), 1_000_000)

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

    def fit_changes(self, recorded: Mapping[str, Any]) -> list[str]:
        """The fit settings (`fit_record`) that differ from those a reference was built with,
        ``recorded``: a check counts with the reference's bins and features, so these settings
        take effect only with a new reference. Settings a reference predates are not listed.

        Examples
        --------
        >>> DatasetOptions(n_bins=10, exclude=("id",)).fit_changes(
        ...     {"n_bins": 20, "exclude": [], "features": None})
        ['n_bins', 'exclude']
        >>> DatasetOptions().fit_changes({"feature": {"amount": {"thresholds": {"kl_warning": 1}}}})
        []
        """
        changed = []
        for key, value in self.fit_record().items():
            stored = recorded.get(key, value)
            if key == "feature":  # older references kept thresholds there too, and empty entries
                stored = _fitted_features(stored)
            if stored != value:
                changed.append(key)
        return changed

    def fit_change_warning(
        self, dataset: str, recorded: Mapping[str, Any], version: int
    ) -> str | None:
        """What to tell the user when `fit_changes` finds any: settings given for ``dataset``
        that a check of reference ``version`` (fitted with ``recorded``) does not use.

        >>> DatasetOptions(n_bins=10).fit_change_warning("shop", {"n_bins": 20}, 3)
        'n_bins of `shop` differ from those reference v3 was built with, which this check \
uses; build a new reference to use them (`driftmon reference shop --source PATH`)'
        """
        changed = self.fit_changes(recorded)
        if not changed:
            return None
        return (
            f"{', '.join(changed)} of `{dataset}` differ from those reference v{version} was "
            "built with, which this check uses; build a new reference to use them "
            f"(`driftmon reference {dataset} --source PATH`)"
        )

    def fit_record(self) -> dict[str, Any]:
        """How bins were fitted, stored with the reference (JSON-ready)."""
        return {
            "n_bins": self.n_bins,
            "max_categories": self.max_categories,
            "vocabulary_cap": self.vocabulary_cap,
            "features": list(self.features) if self.features is not None else None,
            "exclude": list(self.exclude),
            # only features whose bins are fitted otherwise (not those with only thresholds)
            "feature": _fitted_features(
                {
                    name: {"type": f.kind, "n_bins": f.n_bins, "max_categories": f.max_categories}
                    for name, f in self.feature.items()
                }
            ),
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


def _fitted_features(features: Any) -> dict[str, dict[str, Any]]:
    """The per-feature settings that fit bins (``type``, ``n_bins``, ``max_categories``, when
    set), features without any left out: they are fitted like every other."""
    if not isinstance(features, Mapping):
        return {}
    fitted = {}
    for name, settings in features.items():
        kept = {
            key: settings[key]
            for key in ("type", "n_bins", "max_categories")
            if isinstance(settings, Mapping) and settings.get(key) is not None
        }
        if kept:
            fitted[name] = kept
    return fitted
