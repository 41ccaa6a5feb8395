"""Profiles: per-feature histograms plus cheap summaries, built from chunks and merged by addition.

A `Profile` is all driftmon keeps of a data set: the reference's profile is stored, a batch's is
compared with it, and neither ever needs the raw rows again. Profiles serialize to plain
JSON-safe dicts (`Profile.to_dict`) and back without loss.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from driftmon._lazy import lazy_module
from driftmon.bins import (
    CATEGORICAL,
    DEFAULT_MAX_CATEGORIES,
    DEFAULT_N_BINS,
    KINDS,
    NUMERIC,
    BinSpec,
    Column,
    ColumnCounts,
    count_values,
    fit_bins,
)
from driftmon.errors import ConfigError, InputDataError, SchemaError
from driftmon.vocabulary import DEFAULT_VOCABULARY_CAP, Vocabulary, VocabularyBuilder

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported when first used: never by a file check

__all__ = [
    "Chunk",
    "FeatureProfile",
    "PartitionCounts",
    "Profile",
    "add_partitions",
    "count_partition_chunks",
    "fit_specs",
    "profile_chunks",
    "profile_frame",
    "profile_partitions",
]

#: Quantiles reported in numeric summaries (estimated from the histogram, so they merge).
SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

#: Below this many cells (rows x features) threads cost more than they save.
_PARALLEL_MIN_CELLS = 2_000_000


@dataclass(frozen=True, slots=True, repr=False)
class FeatureProfile:
    """One feature: its bin spec and what counting data into it gave."""

    spec: BinSpec
    tally: ColumnCounts

    def __repr__(self) -> str:
        return (
            f"<FeatureProfile {self.spec.name!r} {self.spec.kind}: {self.n_rows:,} rows, "
            f"{self.spec.n_slots} slots, {self.n_missing:,} missing>"
        )

    def __post_init__(self) -> None:
        if self.tally.counts.shape != (self.spec.n_slots,):
            raise InputDataError(
                f"feature `{self.spec.name}`: {self.tally.counts.size} counts do not fit "
                f"{self.spec.n_slots} slots"
            )

    @property
    def counts(self) -> NDArray[np.int64]:
        return self.tally.counts

    @property
    def n_rows(self) -> int:
        return int(self.tally.counts.sum())

    @property
    def n_missing(self) -> int:
        return int(self.tally.counts[self.spec.missing_slot])

    @property
    def n_values(self) -> int:
        """Rows with a value (not missing)."""
        return self.n_rows - self.n_missing

    @property
    def usable(self) -> bool:
        """Whether a reference with these counts has a distribution to compare with: at
        least two values. A feature that is all missing, or a reference of one row, is not
        monitored."""
        return self.n_values >= 2

    @property
    def n_other(self) -> int | None:
        """Values in the "other" slot of a categorical feature (long tail and never seen)."""
        if self.spec.kind == NUMERIC:
            return None
        return int(self.tally.counts[self.spec.other_slot])

    @property
    def n_unseen(self) -> int | None:
        """Values the reference never saw: outside its range (numeric), or categories it never
        met (categorical; None when the spec does not know what the reference saw)."""
        if self.spec.kind == NUMERIC:
            return self.tally.n_below + self.tally.n_above
        return self.tally.n_unseen

    def summary(self) -> dict[str, Any]:
        """Cheap descriptive statistics: moments and quantiles, or the top categories.

        Every figure is finite or None: values near the float limits give a finite mean, and a
        standard deviation of None when their spread cannot be squared in a float.
        """
        if self.spec.kind == CATEGORICAL:
            order = np.argsort(-self.counts[: len(self.spec.categories)], kind="stable")
            top = [
                (self.spec.categories[i], int(self.counts[i]))
                for i in order[:10]
                if self.counts[i] > 0
            ]
            return {"top_categories": top, "unseen_categories": dict(self.tally.unseen)}
        n = self.tally.n_finite
        return {
            "mean": self.tally.mean if n else None,
            "std": _std(self.tally.m2, n),
            "min": self.tally.minimum if n else None,
            "max": self.tally.maximum if n else None,
            "quantiles": dict(zip(SUMMARY_QUANTILES, self._histogram_quantiles(), strict=True)),
        }

    def _histogram_quantiles(self) -> list[float | None]:
        """Quantiles interpolated inside the bins (outer bins clipped to the observed range)."""
        value_counts = self.counts[: self.spec.n_bins].astype(np.float64)
        total = value_counts.sum()
        if total == 0 or self.tally.n_finite == 0:
            return [None] * len(SUMMARY_QUANTILES)
        edges = np.asarray(self.spec.edges, dtype=np.float64).copy()
        if self.spec.discrete:
            # one bin per reference value: a quantile is the value of the bin it falls in
            cumulative = np.cumsum(value_counts) / total
            index = np.searchsorted(cumulative, SUMMARY_QUANTILES, side="left")
            return [float(edges[min(i, len(edges) - 2)]) for i in index]
        edges[0] = min(edges[0], self.tally.minimum)
        edges[-1] = max(edges[-1], self.tally.maximum)
        cumulative = np.concatenate(([0.0], np.cumsum(value_counts) / total))
        return [float(v) for v in np.interp(SUMMARY_QUANTILES, cumulative, edges)]

    def __add__(self, other: FeatureProfile) -> FeatureProfile:
        if not isinstance(other, FeatureProfile):
            return NotImplemented
        if other.spec != self.spec:
            raise InputDataError(
                f"feature `{self.spec.name}`: cannot add profiles counted with different bins "
                "(each `driftmon.profile` call fits its own); count the other data with the "
                "first profile's bins, `driftmon.profile_frame(frame, first.specs)`, and add that"
            )
        return FeatureProfile(self.spec, self.tally + other.tally)

    def to_dict(self) -> dict[str, Any]:
        tally = self.tally
        return {
            "spec": self.spec.to_dict(),
            "counts": tally.counts.tolist(),
            "n_below": tally.n_below,
            "n_above": tally.n_above,
            "n_finite": tally.n_finite,
            "mean": tally.mean,
            "m2": tally.m2 if math.isfinite(tally.m2) else None,
            "minimum": tally.minimum if math.isfinite(tally.minimum) else None,
            "maximum": tally.maximum if math.isfinite(tally.maximum) else None,
            "unseen": dict(tally.unseen),
            "observed_type": tally.observed_type,
            "n_unseen": tally.n_unseen,
            "tail": dict(tally.tail),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureProfile:
        minimum, maximum, m2 = data.get("minimum"), data.get("maximum"), data.get("m2", 0.0)
        n_unseen = data.get("n_unseen")
        tally = ColumnCounts(
            counts=np.asarray(data["counts"], dtype=np.int64),
            n_below=int(data.get("n_below", 0)),
            n_above=int(data.get("n_above", 0)),
            n_finite=int(data.get("n_finite", 0)),
            mean=float(data.get("mean", 0.0)),
            m2=math.inf if m2 is None else float(m2),
            minimum=math.inf if minimum is None else float(minimum),
            maximum=-math.inf if maximum is None else float(maximum),
            unseen={str(k): int(v) for k, v in data.get("unseen", {}).items()},
            observed_type=data.get("observed_type"),
            n_unseen=None if n_unseen is None else int(n_unseen),
            tail={str(k): int(v) for k, v in data.get("tail", {}).items()},
        )
        spec = BinSpec.from_dict(data["spec"])
        if "text" not in data["spec"] and spec.kind == CATEGORICAL:
            # stored before specs said so: what the reference saw says it
            spec = replace(spec, text=tally.observed_type in ("string", "mixed"))
        return cls(spec, tally)


@dataclass(frozen=True, slots=True, repr=False)
class Profile:
    """Every monitored feature of one data set (or batch), plus the columns that arrived.

    ``columns`` lists all columns of the data, monitored or not, so a comparison can report new
    columns. Profiles of chunks merge with `+` into the profile of the whole.
    """

    features: Mapping[str, FeatureProfile]
    n_rows: int
    columns: tuple[str, ...] = ()

    def __repr__(self) -> str:
        kinds = [f.spec.kind for f in self.features.values()]
        shown = ", ".join(list(self.features)[:8]) + (", ..." if len(kinds) > 8 else "")
        return (
            f"<Profile: {self.n_rows:,} rows, {len(kinds)} features "
            f"({kinds.count('numeric')} numeric, {kinds.count('categorical')} categorical): "
            f"{shown}>"
        )

    def summary(self) -> dict[str, dict[str, Any]]:
        """Each feature's `FeatureProfile.summary` (moments and quantiles, or the top
        categories), from the counts alone: what a profile says about its data at a glance."""
        return {name: feature.summary() for name, feature in self.features.items()}

    @property
    def column_types(self) -> dict[str, str | None]:
        """Each monitored feature's type as the data arrived (None: only missing values)."""
        return {name: f.tally.observed_type for name, f in self.features.items()}

    def __add__(self, other: Profile) -> Profile:
        if not isinstance(other, Profile):
            return NotImplemented  # `profile + 1`: Python's TypeError names both types
        names = list(self.features) + [n for n in other.features if n not in self.features]
        merged = {
            name: (
                self.features[name] + other.features[name]
                if name in self.features and name in other.features
                else self.features.get(name) or other.features[name]
            )
            for name in names
        }
        columns = self.columns + tuple(c for c in other.columns if c not in self.columns)
        return Profile(merged, self.n_rows + other.n_rows, columns)

    @property
    def specs(self) -> dict[str, BinSpec]:
        return {name: feature.spec for name, feature in self.features.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict (lists, numbers, strings); `from_dict` restores it exactly."""
        return {
            "n_rows": self.n_rows,
            "columns": list(self.columns),
            "features": {name: f.to_dict() for name, f in self.features.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            features={n: FeatureProfile.from_dict(f) for n, f in data["features"].items()},
            n_rows=int(data["n_rows"]),
            columns=tuple(data.get("columns", ())),
        )

    def with_vocabularies(self, vocabularies: Mapping[str, Vocabulary]) -> Profile:
        """This profile with each named categorical feature's spec knowing what it saw."""
        features = {
            name: (
                FeatureProfile(replace(f.spec, seen=vocabularies[name]), f.tally)
                if name in vocabularies
                else f
            )
            for name, f in self.features.items()
        }
        return Profile(features, self.n_rows, self.columns)

    @classmethod
    def empty(cls, specs: Mapping[str, BinSpec]) -> Profile:
        """The profile of zero rows: the identity of `+`."""
        features = {
            name: FeatureProfile(spec, ColumnCounts(np.zeros(spec.n_slots, dtype=np.int64)))
            for name, spec in specs.items()
        }
        return cls(features, 0, ())


def fit_specs(
    frame: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    kinds: Mapping[str, str] | None = None,
    n_bins: int | Mapping[str, int] = DEFAULT_N_BINS,
    max_categories: int | Mapping[str, int] = DEFAULT_MAX_CATEGORIES,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> dict[str, BinSpec]:
    """Fit bins for every feature column of a reference frame.

    ``features`` selects columns (default: all), ``exclude`` drops some; ``kinds`` overrides the
    inferred kind per column; ``n_bins`` and ``max_categories`` take one value for all or a
    mapping of per-feature values (features not in the mapping get the default). Categorical
    specs remember every category of the frame (see `fit_bins`).
    """
    frame = _string_columns(frame)
    selected = _select_columns(frame.columns, features, exclude)
    kinds = dict(kinds or {})
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise ConfigError(f"feature `{name}`: type `{kind}` is not one of {', '.join(KINDS)}")

    def fit(name: str) -> BinSpec:
        return fit_bins(
            frame[name],
            name=name,
            kind=kinds.get(name),  # type: ignore[arg-type]
            n_bins=_per_feature(n_bins, name, DEFAULT_N_BINS),
            max_categories=_per_feature(max_categories, name, DEFAULT_MAX_CATEGORIES),
            vocabulary_cap=vocabulary_cap,
        )

    # quantiles and value counts release the GIL: a column per core, as in counting
    if len(frame) * len(selected) >= _PARALLEL_MIN_CELLS and len(selected) > 1:
        return dict(zip(selected, _counting_pool().map(fit, selected), strict=True))
    return {name: fit(name) for name in selected}


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some rows of a source, column by column, as readers hand them over: each column a
    pandas Series, a `NumberColumn` (numbers in Arrow's layout) or `ValueCounts` (a
    categorical column already tallied). ``n_rows`` counts the rows."""

    n_rows: int
    columns: Mapping[str, Column]

    def __len__(self) -> int:
        return self.n_rows


def profile_frame(
    frame: pd.DataFrame | Chunk,
    specs: Mapping[str, BinSpec],
    *,
    collect: Mapping[str, VocabularyBuilder] | None = None,
) -> Profile:
    """Count one frame or `Chunk` (a whole batch or one chunk of it) with fixed bins.

    Features whose column is absent are left out of the profile (the comparison reports them
    as missing). Large frames are counted column-parallel: the numeric kernel releases the GIL.
    ``collect`` maps categorical features to builders fed every category seen (for a reference).
    """
    if isinstance(frame, Chunk):
        n_rows, columns = frame.n_rows, dict(frame.columns)
    else:
        frame = _string_columns(frame)
        n_rows, columns = len(frame), {name: frame[name] for name in frame.columns}
    present = [name for name in specs if name in columns]
    cells = n_rows * max(len(present), 1)
    collect = collect or {}

    def count(name: str) -> FeatureProfile:
        counted = count_values(specs[name], columns[name], collect=collect.get(name))
        return FeatureProfile(specs[name], counted)

    if cells >= _PARALLEL_MIN_CELLS and len(present) > 1:
        counted = list(_counting_pool().map(count, present))
    else:
        counted = [count(name) for name in present]
    features = {f.spec.name: f for f in counted}
    return Profile(features, n_rows, tuple(str(c) for c in columns))


def profile_chunks(
    chunks: Iterable[pd.DataFrame | Chunk],
    specs: Mapping[str, BinSpec],
    *,
    columns: Sequence[str] | None = None,
    collect: Mapping[str, VocabularyBuilder] | None = None,
) -> Profile:
    """Profile a stream of chunks: count each with `profile_frame` and add the profiles.

    ``columns`` (all columns of the source, monitored or not) replaces the chunk's own column
    list, so a comparison can report new columns that were never read. ``collect`` as in
    `profile_frame`.
    """
    total = Profile.empty(specs)
    seen_any = False
    for chunk in chunks:
        counted = profile_frame(chunk, specs, collect=collect)
        total = (total + counted) if seen_any else counted
        seen_any = True
    if not seen_any:
        total = Profile(total.features, 0, ())
    if columns is not None:
        total = Profile(total.features, total.n_rows, tuple(columns))
    return total


@dataclass(frozen=True, slots=True)
class PartitionCounts:
    """What counting one partition of a source yields (see `driftmon.sources.partitions`):
    its profile and, when asked for (a reference), what each categorical feature saw."""

    profile: Profile
    vocabularies: Mapping[str, VocabularyBuilder] = field(default_factory=dict)


def count_partition_chunks(
    chunks: Iterable[pd.DataFrame | Chunk],
    specs: Mapping[str, BinSpec],
    *,
    vocabulary_cap: int | None = None,
) -> PartitionCounts:
    """Count one partition's chunks; with ``vocabulary_cap``, also collect every category of
    each categorical feature (up to the cap exactly) for the reference's vocabularies."""
    builders = (
        {n: VocabularyBuilder(vocabulary_cap) for n, s in specs.items() if s.kind == CATEGORICAL}
        if vocabulary_cap is not None
        else {}
    )
    return PartitionCounts(profile_chunks(chunks, specs, collect=builders), builders)


def add_partitions(
    parts: Iterable[PartitionCounts],
    specs: Mapping[str, BinSpec],
    *,
    columns: Sequence[str] | None = None,
    vocabulary_cap: int | None = None,
) -> PartitionCounts:
    """Add the partitions' counts in their order, skipping empty ones.

    Counts add exactly; the moments of numeric features are floating-point sums, so they are
    the same to the last bit only when added in the same order and grouping: that is why local
    counting folds by partition too (`profile_partitions`), and a cluster's results are added
    here in partition order. ``columns`` as in `profile_chunks`; ``vocabulary_cap`` gives empty
    builders when nothing was counted.
    """
    total: PartitionCounts | None = None
    for part in parts:
        if part.profile.n_rows == 0:
            continue
        if total is None:
            total = part
            continue
        for name, builder in part.vocabularies.items():
            total.vocabularies[name].merge(builder)
        total = PartitionCounts(total.profile + part.profile, total.vocabularies)
    if total is None:
        total = count_partition_chunks((), specs, vocabulary_cap=vocabulary_cap)
    if columns is not None:
        profile = total.profile
        total = PartitionCounts(
            Profile(profile.features, profile.n_rows, tuple(columns)), total.vocabularies
        )
    return total


def profile_partitions(
    tagged_chunks: Iterable[tuple[int, pd.DataFrame | Chunk]],
    specs: Mapping[str, BinSpec],
    *,
    columns: Sequence[str] | None = None,
    vocabulary_cap: int | None = None,
) -> PartitionCounts:
    """Count a stream of ``(partition, chunk)`` pairs partition by partition and add them
    (`add_partitions`): the same result, to the last bit, as counting each partition
    elsewhere (a Dask worker) and adding the results in order."""
    parts = (
        count_partition_chunks(map(itemgetter(1), group), specs, vocabulary_cap=vocabulary_cap)
        for _, group in itertools.groupby(tagged_chunks, key=itemgetter(0))
    )
    return add_partitions(parts, specs, columns=columns, vocabulary_cap=vocabulary_cap)


@functools.cache
def _counting_pool() -> ThreadPoolExecutor:
    """One thread per core, started once per process: a pool per chunk cost ~20 ms a chunk.
    A forked child gets its own (an inherited pool has no threads and would wait forever)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="driftmon-count")


os.register_at_fork(after_in_child=_counting_pool.cache_clear)


def _string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Feature names are strings everywhere (JSON, the database): rename 0 to "0".

    Names must be unique (after that renaming), or a name would stand for two columns.
    """
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    with_nul = [name for name in frame.columns if "\x00" in name]
    if with_nul:
        raise SchemaError(
            f"column name(s) {', '.join(repr(n) for n in with_nul)} contain a NUL character "
            "(\\x00), which no database can store; rename them"
        )
    if not frame.columns.is_unique:
        repeated = frame.columns[frame.columns.duplicated()].unique().tolist()
        raise SchemaError(
            f"column name(s) {', '.join(f'`{name}`' for name in repeated)} appear more than "
            "once in the data; rename the columns so that each name is unique"
        )
    return frame


def _select_columns(
    columns: Iterable[Any], features: Sequence[str] | None, exclude: Iterable[str]
) -> list[str]:
    available = [str(c) for c in columns]
    excluded = set(exclude)
    if features is None:
        return [c for c in available if c not in excluded]
    absent = [f for f in features if f not in available]
    if absent:
        raise SchemaError(
            f"feature column(s) {', '.join(f'`{a}`' for a in absent)} not in the data; "
            f"available columns: {', '.join(available)}"
        )
    return [f for f in features if f not in excluded]


def _std(m2: float, n: int) -> float | None:
    if n < 2 or not math.isfinite(m2):
        return None
    return math.sqrt(m2 / (n - 1))


def _per_feature(value: int | Mapping[str, int], name: str, default: int) -> int:
    if isinstance(value, Mapping):
        return int(value.get(name, default))
    return int(value)
