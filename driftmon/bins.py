"""Bins fixed by a reference, and counting values into them.

Every feature's histogram has a fixed layout along its last axis, so histograms from any batch,
chunk or machine line up with the reference's and merge by addition:

- numeric: ``m`` value bins, then the missing slot (``m + 1`` slots). Bins are split at the
  reference's quantiles; the outermost bins are open-ended, so values below the reference
  minimum or above its maximum (``-inf`` and ``inf`` included) land in the first or last bin and
  are also tallied as out-of-range. Only NaN (and None/NA/NaT) is missing.
- categorical: the reference's categories (most frequent first), one "other" slot for every value
  the reference did not keep or never saw, then the missing slot (``c + 2`` slots).

Numeric counting looks most values up in a table from a fine grid of cells to bins instead of
binary-searching the edges, a few numpy passes per cache-sized block that release the GIL; see
``benchmarks/bench_counting.py``.
"""

from __future__ import annotations

import ast
import functools
import heapq
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftmon._lazy import lazy_module
from driftmon.errors import ConfigError, InputDataError
from driftmon.formatting import format_moment, format_number
from driftmon.options import DEFAULT_MAX_CATEGORIES, DEFAULT_N_BINS, DEFAULT_VOCABULARY_CAP
from driftmon.vocabulary import EncodedKeys, Vocabulary, VocabularyBuilder, match_keys

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported when first used: never by a file check

__all__ = [
    "CATEGORICAL",
    "DEFAULT_MAX_CATEGORIES",
    "DEFAULT_N_BINS",
    "KINDS",
    "NUMERIC",
    "BinSpec",
    "Column",
    "ColumnCounts",
    "NumberColumn",
    "ValueCounts",
    "category_key",
    "category_keys",
    "count_values",
    "fit_bins",
    "infer_kind",
    "observed_type",
    "value_text",
]

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)
Kind = Literal["numeric", "categorical"]

#: How the "other" slot is labelled for people: it holds the reference's long tail (categories it
#: saw but did not keep) and values it never saw, told apart by other measures.
OTHER_LABEL = "(long tail + new)"
#: How many distinct unseen categories a count remembers by name (the rest only as "other").
UNSEEN_KEPT = 20
#: How many of a batch's most frequent long-tail categories a count remembers with their
#: counts, so one tail category that surges can be found (see `driftmon.compare`). At most
#: 50 categories can each hold 2% of rows, so 64 keeps every category that could move by
#: the default 2 points in a chunk.
TAIL_KEPT = 64


@dataclass(frozen=True, slots=True)
class BinSpec:
    """How one feature is binned: fitted on the reference, reused for every batch.

    Numeric: ``edges`` has ``m + 1`` values: the reference minimum, the ``m - 1`` inner edges
    that split the bins (bin ``i`` is ``[edges[i], edges[i + 1])`` with open outer ends), and the
    reference maximum. ``discrete`` marks one bin per distinct reference value; ``dates`` marks
    values that are seconds since the epoch (a date or timestamp column), labelled as dates.
    Categorical: ``categories`` are the kept reference categories as strings (`category_key`);
    ``seen`` remembers every category the reference saw, kept or not (its long tail), so a
    count can tell a tail value from one the reference never saw. ``seen`` is stored apart from
    the spec (it can hold millions of values), so it takes no part in equality or `to_dict`;
    None means unknown. ``text`` marks categories the reference saw as text: a CSV batch reads
    them as text, never parsed, so codes such as ``007`` stay codes where all look numeric.
    ``distinct_integers`` marks numeric values that were whole numbers, no two alike, spanning
    at least one value per row (what IDs and sequence numbers look like).
    """

    name: str
    kind: Kind
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    discrete: bool = False
    # how values read, not how they are binned: a spec from before dates were told apart
    # still counts and adds up with one that tells them
    dates: bool = field(default=False, compare=False)
    text: bool = field(default=False, compare=False)
    distinct_integers: bool = field(default=False, compare=False)
    seen: Vocabulary | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind == NUMERIC:
            edges = np.asarray(self.edges, dtype=np.float64)
            if edges.size < 2 or not np.all(np.isfinite(edges)):
                raise InputDataError(
                    f"feature `{self.name}`: numeric bins need at least 2 finite edges, "
                    f"got {list(self.edges)}"
                )
            inner = edges[1:-1]
            if np.any(np.diff(inner) <= 0) or (
                inner.size and (inner[0] <= edges[0] or inner[-1] > edges[-1])
            ):
                raise InputDataError(
                    f"feature `{self.name}`: inner bin edges must increase strictly and lie "
                    f"within (min, max], got {list(self.edges)}"
                )
        elif self.kind == CATEGORICAL:
            if len(set(self.categories)) != len(self.categories):
                raise InputDataError(f"feature `{self.name}`: categories must be unique")
        else:
            raise ConfigError(
                f"feature `{self.name}`: kind `{self.kind}` is not one of {', '.join(KINDS)}"
            )

    @property
    def n_bins(self) -> int:
        """Value bins (numeric) or categories plus the "other" slot (categorical)."""
        if self.kind == NUMERIC:
            return len(self.edges) - 1
        return len(self.categories) + 1

    @property
    def n_slots(self) -> int:
        """Length of the histogram: `n_bins` plus the missing slot."""
        return self.n_bins + 1

    @property
    def missing_slot(self) -> int:
        return self.n_bins

    @property
    def other_slot(self) -> int | None:
        """Index of the "other" slot of a categorical feature; None for numeric features."""
        return len(self.categories) if self.kind == CATEGORICAL else None

    @property
    def inner_edges(self) -> NDArray[np.float64]:
        return np.asarray(self.edges[1:-1], dtype=np.float64)

    def labels(self) -> tuple[str, ...]:
        """A human label for every slot, e.g. ``[1.5, 2.7)``, ``= 3``, `OTHER_LABEL`,
        ``missing``."""
        if self.kind == CATEGORICAL:
            return (*self.categories, OTHER_LABEL, "missing")
        edges = self.edges
        m = len(edges) - 1
        text = functools.partial(value_text, dates=self.dates)
        if self.discrete:
            value_labels = [f"= {text(edges[i])}" for i in range(m)]
        else:
            value_labels = [
                f"[{'-inf' if i == 0 else text(edges[i])}, "
                f"{'inf' if i == m - 1 else text(edges[i + 1])})"
                for i in range(m)
            ]
        return (*value_labels, "missing")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe form; `from_dict` restores an equal spec."""
        return {
            "name": self.name,
            "kind": self.kind,
            "edges": [float(e) for e in self.edges],
            "categories": list(self.categories),
            "discrete": self.discrete,
            **({"dates": True} if self.dates else {}),
            **({"text": True} if self.text else {}),
            **({"distinct_integers": True} if self.distinct_integers else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BinSpec:
        return cls(
            name=str(data["name"]),
            kind=data["kind"],
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories=tuple(str(c) for c in data.get("categories", ())),
            discrete=bool(data.get("discrete", False)),
            dates=bool(data.get("dates", False)),
            text=bool(data.get("text", False)),
            distinct_integers=bool(data.get("distinct_integers", False)),
        )


@dataclass(frozen=True, slots=True)
class ColumnCounts:
    """What counting one column (or one chunk of it) yields; chunks merge with `+`.

    ``counts`` follows the spec's slot layout. Numeric columns also carry how many values fell
    below / above the reference range and the moments of their finite values (count, mean,
    sum of squared deviations ``m2``, min, max), merged exactly with Chan's formulas; ``m2`` is
    ``inf`` when the spread of the values exceeds what a float can square (values near 1e308).
    Categorical columns count in ``n_unseen`` the values of categories the reference never saw
    (they are also in the "other" slot, with the reference's long tail) and keep up to
    `UNSEEN_KEPT` of them by name; ``n_unseen`` is None when the spec does not know what the
    reference saw (``spec.seen`` is None). ``tail`` holds the `TAIL_KEPT` most frequent
    long-tail categories (seen by the reference, not kept) with their counts; merged chunks
    keep the most frequent of each side's, so a count can only be lower than the truth.
    """

    counts: NDArray[np.int64]
    n_below: int = 0
    n_above: int = 0
    n_finite: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    unseen: Mapping[str, int] = field(default_factory=dict)
    observed_type: str | None = None
    n_unseen: int | None = 0
    tail: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: ColumnCounts) -> ColumnCounts:
        if self.counts.shape != other.counts.shape:
            raise InputDataError(
                f"cannot merge histograms with {self.counts.size} and {other.counts.size} slots"
            )
        n = self.n_finite + other.n_finite
        if not self.n_finite or not other.n_finite:
            source = other if other.n_finite else self
            mean, m2 = source.mean, source.m2
        else:
            delta = other.mean - self.mean
            if math.isfinite(delta):
                mean = self.mean + delta * other.n_finite / n
            else:  # means near opposite float limits: weigh them instead of subtracting
                mean = self.mean * (self.n_finite / n) + other.mean * (other.n_finite / n)
            m2 = self.m2 + other.m2 + delta * delta * (self.n_finite * other.n_finite / n)
        return ColumnCounts(
            counts=self.counts + other.counts,
            n_below=self.n_below + other.n_below,
            n_above=self.n_above + other.n_above,
            n_finite=n,
            mean=mean,
            m2=m2,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            unseen=_merge_top(self.unseen, other.unseen, UNSEEN_KEPT),
            tail=_merge_top(self.tail, other.tail, TAIL_KEPT),
            observed_type=_merge_observed(self.observed_type, other.observed_type),
            n_unseen=(
                None
                if self.n_unseen is None or other.n_unseen is None
                else self.n_unseen + other.n_unseen
            ),
        )


@dataclass(frozen=True, slots=True)
class NumberColumn:
    """A column of numbers as Arrow lays it out: the values, and a bitmap of which are valid.

    ``valid`` holds bit ``i`` of the values at bit ``offset + i`` (least significant bit
    first), or is None when every value is valid; an invalid value is missing whatever it
    holds, and so is NaN. `driftmon.sources` builds these over Arrow's buffers without
    copying them, so counting a Parquet column allocates nothing.
    """

    values: NDArray[Any]
    valid: NDArray[np.uint8] | None = None
    offset: int = 0
    observed_type: str | None = "numeric"

    def __len__(self) -> int:
        return int(self.values.size)


@dataclass(frozen=True, slots=True)
class ValueCounts:
    """A column already tallied: its distinct values, how often each occurred, and how many
    values were missing. What a categorical column becomes cheaply (Arrow's ``value_counts``
    of a dictionary or string column); `count_values` needs nothing more."""

    values: Sequence[Any] | EncodedKeys
    counts: NDArray[np.int64]
    n_missing: int = 0
    observed_type: str | None = "string"

    def __len__(self) -> int:
        return int(self.counts.sum()) + self.n_missing


Column: TypeAlias = "pd.Series | NumberColumn | ValueCounts"


# --------------------------------------------------------------------------------------------
# Type inference


def observed_type(values: pd.Series | ArrayLike) -> str | None:
    """Coarse type of a column as data arrived: numeric, datetime, boolean or string.

    None when the column holds only missing values (its type is unknown, not changed).
    """
    series = _as_series(values)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"  # durations count as seconds (`_as_float_array`)
    if isinstance(dtype, pd.CategoricalDtype):
        return observed_type(pd.Series(dtype.categories)) if len(dtype.categories) else None
    inferred = pd.api.types.infer_dtype(series.iloc[:10_000], skipna=True)
    if inferred == "empty":
        return None
    if inferred == "boolean":
        return "boolean"
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return "numeric"
    if inferred in ("datetime64", "datetime", "date"):
        return "datetime"
    return "string"


def infer_kind(values: pd.Series | ArrayLike) -> Kind:
    """Numeric for numbers, datetimes and durations; categorical for strings, categories and
    booleans."""
    series = _as_series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return CATEGORICAL
    return NUMERIC if observed_type(series) in ("numeric", "datetime") else CATEGORICAL


# --------------------------------------------------------------------------------------------
# Fitting


def fit_bins(
    values: pd.Series | ArrayLike,
    *,
    name: str = "value",
    kind: Kind | None = None,
    n_bins: int = DEFAULT_N_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> BinSpec:
    """Fit one feature's bins on reference values.

    Numeric: edges at ``n_bins`` reference quantiles, duplicate edges from ties collapsed; a
    feature with at most ``n_bins`` distinct values (integer codes, flags) gets one bin per value.
    Categorical: the ``max_categories`` most frequent categories (ties broken by name), and
    in ``seen`` every category of ``values`` (exactly up to ``vocabulary_cap`` of them).

    Examples
    --------
    >>> spec = fit_bins(np.arange(100.0), n_bins=4)
    >>> spec.edges
    (0.0, 24.75, 49.5, 74.25, 99.0)
    >>> fit_bins(np.array([1, 2, 2, 3, 3, 3])).labels()
    ('= 1', '= 2', '= 3', 'missing')
    """
    if n_bins < 1:
        raise ConfigError(f"feature `{name}`: n_bins must be at least 1, got `{n_bins}`")
    if max_categories < 1:
        raise ConfigError(
            f"feature `{name}`: max_categories must be at least 1, got `{max_categories}`"
        )
    series = _as_series(values)
    kind = kind or infer_kind(series)
    if kind == CATEGORICAL:
        keys, key_counts, _ = _key_counts(series, name)
        # the most frequent keys, ties by key: chosen without sorting a long tail
        categories = tuple(_top_counts(keys, key_counts, max_categories))
        seen = Vocabulary.from_keys(keys.tolist(), key_counts, cap=vocabulary_cap)
        text = observed_type(series) == "string"
        return BinSpec(name=name, kind=CATEGORICAL, categories=categories, seen=seen, text=text)
    if kind != NUMERIC:
        raise ConfigError(f"feature `{name}`: kind `{kind}` is not one of {', '.join(KINDS)}")

    numbers = _as_float_array(series, name)
    dates = observed_type(series) == "datetime"
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return BinSpec(name=name, kind=NUMERIC, edges=(0.0, 0.0), discrete=True, dates=dates)
    distinct = _distinct_up_to(finite, n_bins)
    if distinct is not None:
        distinct = np.sort(distinct)
        return BinSpec(
            name=name,
            kind=NUMERIC,
            edges=(*distinct.tolist(), float(distinct[-1])),
            discrete=True,
            dates=dates,
        )
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        edges = np.quantile(finite, levels)
    if not np.all(np.isfinite(edges)):
        # values near the float limits: interpolating between them overflows, halves do not
        edges = 2.0 * np.quantile(finite * 0.5, levels)
    edges = np.unique(edges)
    return BinSpec(
        name=name,
        kind=NUMERIC,
        edges=tuple(edges.tolist()),
        dates=dates,
        distinct_integers=_distinct_integers(finite, edges[0], edges[-1]),
    )


def _distinct_integers(values: NDArray[np.float64], low: float, high: float) -> bool:
    """Whether ``values`` (from ``low`` to ``high``) are whole numbers, no two alike, spanning
    at least one value per row: IDs and counters do, uniformly random integers repeat some.
    Cheap tests first: only integer columns as wide as they are long are hashed."""
    if not (low.is_integer() and high.is_integer() and high - low >= values.size - 1):
        return False
    if not np.array_equal(values, np.round(values)):
        return False
    if pd.unique(values[:4096]).size < min(values.size, 4096):
        return False
    return bool(pd.unique(values).size == values.size)


def _distinct_up_to(values: NDArray[np.float64], limit: int) -> NDArray[np.float64] | None:
    """The distinct ``values`` if there are at most ``limit``, else None.

    A prefix settles most columns: if it already holds more than ``limit`` distinct values,
    so does the whole. Hashing every value of a continuous column only to learn that it is
    not a handful of codes cost 0.1 s per million values (a reference's fit, per column).
    """
    if pd.unique(values[: 64 * (limit + 1)]).size > limit:
        return None
    distinct = pd.unique(values)
    return distinct if distinct.size <= limit else None


# --------------------------------------------------------------------------------------------
# Counting


def count_values(
    spec: BinSpec,
    values: pd.Series | ArrayLike | NumberColumn | ValueCounts,
    *,
    collect: VocabularyBuilder | None = None,
) -> ColumnCounts:
    """Count one column (or one chunk of it) into the spec's slots.

    ``values`` is a column of any type (a pandas Series, an array, a list), or a column as
    readers hand it over: numbers in Arrow's layout (`NumberColumn`) or a categorical column
    already tallied (`ValueCounts`). Counting chunks and adding the results gives exactly the
    counts of the whole column. ``collect`` (categorical only) is fed every category key with
    its count: that is how a reference learns every category it saw, beyond the ones it keeps.

    Examples
    --------
    >>> spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0))
    >>> count_values(spec, [-5.0, 0.5, 1.0, 3.0, np.nan, np.inf]).counts.tolist()
    [2, 3, 1]
    >>> spec = BinSpec("c", CATEGORICAL, categories=("a", "b"))
    >>> count_values(spec, ["a", "z", None, "a"]).counts.tolist()
    [2, 0, 1, 1]
    """
    if isinstance(values, NumberColumn) and spec.kind == NUMERIC:
        return _count_numeric(
            spec, values.values, values.observed_type, values.valid, values.offset
        )
    if isinstance(values, ValueCounts) and spec.kind == CATEGORICAL:
        return _count_distinct(
            spec, values.values, values.counts, values.n_missing, values.observed_type, collect
        )
    series = _as_series(values)  # the other combinations are type changes: rare, and general
    seen_type = observed_type(series)
    if spec.kind == NUMERIC:
        return _count_numeric(spec, _as_float_array(series, spec.name, coerce=True), seen_type)
    return _count_categorical(spec, series, seen_type, collect)


def count_numeric_baseline(spec: BinSpec, numbers: NDArray[np.floating]) -> NDArray[np.int64]:
    """Reference implementation of numeric counting with `np.searchsorted` + `np.bincount`.

    Used by tests and benchmarks to check the compiled kernel; same slot layout.
    """
    missing = np.isnan(numbers)
    bin_index = np.searchsorted(spec.inner_edges, numbers, side="right")
    bin_index[missing] = spec.missing_slot
    return np.bincount(bin_index, minlength=spec.n_slots).astype(np.int64)


def _count_numeric(
    spec: BinSpec,
    numbers: NDArray[Any],
    seen_type: str | None,
    valid: NDArray[np.uint8] | None = None,
    offset: int = 0,
) -> ColumnCounts:
    """Count numbers (any int or float dtype; ``valid`` as in `NumberColumn`) into the slots.

    Works through the column in cache-sized blocks with a handful of numpy passes each, all of
    which release the GIL, so columns count in parallel threads. Exactly the counts of
    `count_numeric_baseline`, and the moments of the finite values.
    """
    table = _cell_table_of(spec.edges)
    missing_slot = spec.missing_slot
    ref_min, ref_max = spec.edges[0], spec.edges[-1]
    counts = np.zeros(spec.n_slots, dtype=np.int64)
    n_below = n_above = n_finite = 0
    total = total_sq = 0.0
    minimum, maximum = math.inf, -math.inf
    shift = _first_finite(numbers, valid, offset)
    scratch = _Scratch.get()
    # values near the float limits overflow positions and sums: handled below, not warned
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, numbers.size, _BLOCK):
            block = numbers[start : start + _BLOCK]
            size = block.size
            if valid is not None:
                block = _nan_where_invalid(block, valid, offset + start, scratch)
            elif block.dtype.kind == "f" and block.dtype != np.float64:
                # float32 arithmetic and comparisons would round the float64 edges and origin
                block = _as_floats(block, scratch)
            # NaN-ignoring extremes first: they tell whether the block holds infinities
            # (usually not, and then the missing values are exactly the NaNs) and whether
            # positions on the cell grid can be large enough to need clipping
            low, high = float(np.fmin.reduce(block)), float(np.fmax.reduce(block))
            nan = np.isnan(block, out=scratch.nan[:size])
            n_missing = int(np.count_nonzero(nan))
            n_infinite = 0
            if n_missing < size and not (math.isfinite(low) and math.isfinite(high)):
                n_infinite = int(np.count_nonzero(np.isinf(block, out=scratch.flag[:size])))
            n_block_finite = size - n_missing - n_infinite
            slots = table.bins(block, scratch, high)
            if n_missing:
                np.copyto(slots, missing_slot, where=nan)
            counts += np.bincount(slots, minlength=spec.n_slots)
            # the block's values out of the reference's range are counted only if there are
            # any (usually none: most blocks skip both passes)
            if low < ref_min:
                n_below += int(np.count_nonzero(np.less(block, ref_min, out=scratch.flag[:size])))
            if high > ref_max:
                n_above += int(
                    np.count_nonzero(np.greater(block, ref_max, out=scratch.flag[:size]))
                )
            if not n_block_finite:
                continue
            n_finite += n_block_finite
            deviation = np.subtract(block, shift, out=scratch.deviation[:size])
            if n_infinite:
                finite = np.isfinite(block, out=scratch.flag[:size])
                np.copyto(deviation, 0.0, where=np.logical_not(finite, out=nan))
                low, high = float(block[finite].min()), float(block[finite].max())
            elif n_missing:
                np.copyto(deviation, 0.0, where=nan)
            total += float(deviation.sum())
            total_sq += float(np.square(deviation, out=deviation).sum())
            minimum, maximum = min(minimum, low), max(maximum, high)
    if not n_finite:
        mean, m2 = 0.0, 0.0
    elif not (math.isfinite(total) and math.isfinite(total_sq)):
        # values near the float limits overflowed the sums
        mean, m2 = _robust_moments(numbers, valid, offset)
    else:
        mean = shift + total / n_finite
        squared = total * total
        squared_mean = squared / n_finite if math.isfinite(squared) else total * (total / n_finite)
        m2 = max(total_sq - squared_mean, 0.0)
    return ColumnCounts(
        counts=counts,
        n_below=n_below,
        n_above=n_above,
        n_finite=n_finite,
        mean=float(mean),
        m2=float(m2),
        minimum=minimum,
        maximum=maximum,
        observed_type=seen_type,
    )


#: Values per block: a block's scratch arrays stay in the CPU's cache between passes.
_BLOCK = 1 << 16
#: Upward steps from a cell's lowest bin; cells spanning more edges have their values searched.
_MAX_STEPS = 2
#: Grid positions below this cast to integers exactly (up to truncation).
_EXACT_CAST = 2.0**62


@dataclass(frozen=True, slots=True)
class _CellTable:
    """A uniform grid of cells over the inner edges, so most values find their bin by a table
    lookup and a step or two instead of a binary search (see ``benchmarks/bench_counting.py``).

    A value's computed cell may be one off its true cell by rounding, so each cell starts at
    the lowest bin of its two neighbours too and ``steps`` covers the highest: the result is
    exactly ``np.searchsorted(inner, x, side="right")`` whatever rounding did.
    """

    inner: NDArray[np.float64]
    origin: float = 0.0
    scale: float = 0.0  # cells per unit of the value; 0.0: no table, every value is searched
    start: NDArray[np.intp] = field(default_factory=lambda: np.zeros(1, dtype=np.intp))
    upper: NDArray[np.float64] = field(default_factory=lambda: np.zeros(1))  # bin b's upper edge
    steps: int = 0
    dense: NDArray[np.bool_] | None = None  # cells spanning too many edges to step through

    def bins(self, block: NDArray[Any], scratch: _Scratch, high: float) -> NDArray[np.intp]:
        """Bin index of every value of the block, whose largest non-NaN value is ``high``
        (NaN: an arbitrary bin, the caller's to fix)."""
        size = block.size
        if not self.scale:
            return np.searchsorted(self.inner, block, side="right")
        position = np.subtract(block, self.origin, out=scratch.position[:size])
        position *= self.scale
        if not (high - self.origin) * self.scale < _EXACT_CAST:
            # +inf or a huge value would cast to the smallest integer, cell 0
            np.minimum(position, self.start.size - 1, out=position)
        cell = scratch.cell[:size]
        # Positions below the grid, and NaN, cast to integers below 0 (or to an arbitrary one),
        # which take's "clip" mode keeps in the table; above it, to cells beyond the last.
        np.copyto(cell, position, casting="unsafe")
        slots = self.start.take(cell, out=scratch.slots[:size], mode="clip")
        for _ in range(self.steps):
            edge = self.upper.take(slots, out=scratch.edge[:size], mode="clip")
            slots += np.greater_equal(block, edge, out=scratch.flag[:size])
        if self.dense is not None:
            searched = np.flatnonzero(self.dense.take(cell, mode="clip"))
            if searched.size:
                slots[searched] = np.searchsorted(self.inner, block[searched], side="right")
        return slots


@functools.lru_cache(maxsize=1024)
def _cell_table_of(edges: tuple[float, ...]) -> _CellTable:
    """`_cell_table` of a spec's edges, built once per spec and process, not once per chunk."""
    return _cell_table(np.asarray(edges[1:-1], dtype=np.float64))


def _cell_table(inner: NDArray[np.float64]) -> _CellTable:
    """The cell table of a numeric spec's inner edges: ~16 cells per bin, at most 65,536."""
    if inner.size < 2:
        return _CellTable(inner)
    n_cells = int(min(max(16 * (inner.size + 1), 256), 1 << 16))
    with np.errstate(over="ignore"):
        span = float(inner[-1] - inner[0])
    resolution = float(np.spacing(max(abs(inner[0]), abs(inner[-1]))))
    if not math.isfinite(span) or not math.isfinite(n_cells / span):
        return _CellTable(inner)  # edges near the float limits: search every value
    scale = n_cells / span
    if resolution * scale > 0.125:
        return _CellTable(inner)  # cells near the float resolution: rounding beyond a cell
    cell = np.arange(n_cells)
    start = np.searchsorted(inner, inner[0] + (cell - 1) / scale, side="right")
    end = np.searchsorted(inner, inner[0] + (cell + 2) / scale, side="left")
    end[-1] = inner.size  # the last cell holds every value above the grid
    spanned = end - start
    dense = spanned > _MAX_STEPS
    return _CellTable(
        inner,
        origin=float(inner[0]),
        scale=scale,
        start=start.astype(np.intp),
        upper=np.append(inner, np.nan),  # nothing is >= NaN: the last bin is never left
        steps=int(spanned[~dense].max(initial=0)),
        dense=dense if dense.any() else None,
    )


class _Scratch:
    """Work arrays for the blocks of a column, one set per thread and reused: fresh large
    arrays cost a page fault every 4 KB, more than the counting itself on small VMs."""

    _local = threading.local()

    @classmethod
    def get(cls) -> _Scratch:
        scratch = getattr(cls._local, "scratch", None)
        if scratch is None:
            scratch = cls._local.scratch = cls(_BLOCK)
        return scratch

    def __init__(self, size: int) -> None:
        self.position = np.empty(size, dtype=np.float64)
        self.values = np.empty(size, dtype=np.float64)
        self.deviation = np.empty(size, dtype=np.float64)
        self.edge = np.empty(size, dtype=np.float64)
        self.cell = np.empty(size, dtype=np.intp)
        self.slots = np.empty(size, dtype=np.intp)
        self.flag = np.empty(size, dtype=np.bool_)
        self.nan = np.empty(size, dtype=np.bool_)


def _valid_bits(
    valid: NDArray[np.uint8], bit_offset: int, size: int, *, invert: bool = False
) -> NDArray[np.bool_]:
    """Bits ``bit_offset ..`` of an Arrow validity bitmap as booleans (with ``invert``: which
    values are invalid, inverted while packed, an eighth of the work)."""
    first_byte, skip = divmod(bit_offset, 8)
    packed = valid[first_byte : first_byte + (skip + size + 7) // 8]
    if invert:
        packed = np.invert(packed)
    return np.unpackbits(packed, bitorder="little")[skip : skip + size].view(np.bool_)


def _as_floats(block: NDArray[Any], scratch: _Scratch) -> NDArray[np.float64]:
    """The block as float64, in the thread's scratch array."""
    values = scratch.values[: block.size]
    np.copyto(values, block, casting="unsafe")
    return values


def _nan_where_invalid(
    block: NDArray[Any], valid: NDArray[np.uint8], bit_offset: int, scratch: _Scratch
) -> NDArray[np.float64]:
    """The block as floats, NaN where the bitmap marks a value invalid (whatever it holds)."""
    values = _as_floats(block, scratch)
    np.copyto(values, np.nan, where=_valid_bits(valid, bit_offset, block.size, invert=True))
    return values


def _finite_values(
    numbers: NDArray[Any], valid: NDArray[np.uint8] | None, offset: int, first: int = _BLOCK
) -> Iterator[NDArray[np.float64]]:
    """The finite, valid values of a column, block by block (the first of ``first`` values),
    as floats."""
    start, size = 0, first
    while start < numbers.size:
        block = numbers[start : start + size].astype(np.float64)
        keep = np.isfinite(block)
        if valid is not None:
            keep &= _valid_bits(valid, offset + start, block.size)
        yield block[keep]
        start, size = start + size, _BLOCK


def _first_finite(numbers: NDArray[Any], valid: NDArray[np.uint8] | None, offset: int) -> float:
    """The first finite, valid value (0.0 if none): the moments are summed around it, which
    keeps the sum of squares precise for data far from zero, whatever the batch's location."""
    head = numbers[:64]
    if valid is None and head.size and np.isfinite(head[0]):
        return float(head[0])  # the usual case, without copying a block
    # a short first block: it nearly always holds one (a whole block per chunk and column
    # cost a quarter as much again as counting a column with missing values)
    for values in _finite_values(numbers, valid, offset, first=64):
        if values.size:
            return float(values[0])
    return 0.0


def _robust_moments(
    numbers: NDArray[Any], valid: NDArray[np.uint8] | None, offset: int
) -> tuple[float, float]:
    """Mean and ``m2`` of the finite values by Chan's merge of blocks of halved values:
    nothing overflows but ``m2`` itself, which becomes ``inf`` when the values' spread is
    beyond what a float can square."""
    n, mean, m2 = 0, 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for values in _finite_values(numbers, valid, offset):
            k = values.size
            if not k:
                continue
            halves = values * 0.5
            block_mean = float(np.sum(halves / k))
            block_m2 = float(np.sum(np.square(halves - block_mean)))
            total = n + k
            delta = block_mean - mean
            m2 = m2 + block_m2 + delta * delta * (n * k / total)
            mean = mean * (n / total) + block_mean * (k / total)
            n = total
    return mean * 2.0, m2 * 4.0


def _count_categorical(
    spec: BinSpec, series: pd.Series, seen_type: str | None, collect: VocabularyBuilder | None
) -> ColumnCounts:
    keys, key_counts, n_missing = _key_counts(series, spec.name, _keying(spec))
    return _count_keys(spec, keys, key_counts, n_missing, seen_type, collect)


def _count_distinct(
    spec: BinSpec,
    values: Sequence[Any] | NDArray[Any],
    counts_of_values: NDArray[np.int64],
    n_missing: int,
    seen_type: str | None,
    collect: VocabularyBuilder | None,
) -> ColumnCounts:
    """Count a categorical column given as its distinct values and their counts."""
    counts_of_values = np.asarray(counts_of_values, dtype=np.int64)
    if isinstance(values, EncodedKeys):
        if collect is None:
            return _count_encoded(spec, values, counts_of_values, n_missing, seen_type)
        values = values.strings()  # a reference: its builder keeps the keys themselves
    # a dictionary column may declare many more values than occur: key only those that do
    occurring = np.flatnonzero(counts_of_values)
    keys, key_counts = _distinct_keys(
        np.asarray(values, dtype=object)[occurring], counts_of_values[occurring], _keying(spec)
    )
    return _count_keys(spec, keys, key_counts, n_missing, seen_type, collect)


def _count_keys(
    spec: BinSpec,
    keys: NDArray[np.object_],
    key_counts: NDArray[np.int64],
    n_missing: int,
    seen_type: str | None,
    collect: VocabularyBuilder | None,
) -> ColumnCounts:
    """Count a categorical column given as its distinct category keys (`_distinct_keys`)."""
    if collect is not None:
        collect.add(keys.tolist(), key_counts)
    slot_of = {category: slot for slot, category in enumerate(spec.categories)}
    slot_of_key = np.fromiter(
        map(slot_of.get, keys.tolist(), repeat(-1)), dtype=np.intp, count=keys.size
    )
    other_mask = slot_of_key < 0
    slot_of_key[other_mask] = spec.other_slot
    tallies = None
    if spec.seen is not None:
        # Only values outside the kept categories can be new; the vocabulary says which.
        other_keys, other_counts = keys[other_mask], key_counts[other_mask]
        never_seen = ~spec.seen.contains(other_keys.tolist())
        tallies = (
            int(other_counts[never_seen].sum()),
            _top_counts(other_keys[never_seen], other_counts[never_seen], UNSEEN_KEPT),
            _top_counts(other_keys[~never_seen], other_counts[~never_seen], TAIL_KEPT),
        )
    return _column_counts(spec, slot_of_key, key_counts, n_missing, seen_type, tallies)


def _column_counts(
    spec: BinSpec,
    slot_of_key: NDArray[np.intp],
    key_counts: NDArray[np.int64],
    n_missing: int,
    seen_type: str | None,
    tallies: tuple[int, dict[str, int], dict[str, int]] | None,
) -> ColumnCounts:
    """A categorical column's counts from each distinct key's slot and count, with its
    never-seen total and top lists (``tallies``: none without a vocabulary)."""
    counts = np.bincount(slot_of_key, weights=key_counts, minlength=spec.n_slots)
    counts[spec.missing_slot] += n_missing
    n_unseen, unseen, tail = tallies if tallies is not None else (None, {}, {})
    return ColumnCounts(
        counts=np.rint(counts).astype(np.int64),
        unseen=unseen,
        observed_type=seen_type,
        n_unseen=n_unseen,
        tail=tail,
    )


def _count_encoded(
    spec: BinSpec,
    keys: EncodedKeys,
    key_counts: NDArray[np.int64],
    n_missing: int,
    seen_type: str | None,
) -> ColumnCounts:
    """`_count_distinct` of distinct string keys held as UTF-8 bytes (a large dictionary's):
    the same counts, without a Python string per key. Keys are matched to the kept categories
    and looked up in the vocabulary by their hashes, each match verified byte by byte; only
    the keys of the top lists are decoded."""
    table, table_hashes, slot_of_entry = _category_table_of(spec.categories)
    entry = match_keys(keys, table, table_hashes)
    slot_of_key = np.full(entry.size, spec.other_slot, dtype=np.intp)
    kept = entry >= 0
    slot_of_key[kept] = slot_of_entry[entry[kept]]
    tallies = None
    if spec.seen is not None:
        other = np.flatnonzero((slot_of_key == spec.other_slot) & (key_counts > 0))
        seen = spec.seen.contains(keys)[other]
        tallies = (
            int(key_counts[other[~seen]].sum()),
            _top_rows(other[~seen], key_counts, UNSEEN_KEPT, keys.strings, keys.smallest),
            _top_rows(other[seen], key_counts, TAIL_KEPT, keys.strings, keys.smallest),
        )
    return _column_counts(spec, slot_of_key, key_counts, n_missing, seen_type, tallies)


@functools.lru_cache(maxsize=1024)
def _category_table_of(
    categories: tuple[str, ...],
) -> tuple[EncodedKeys, NDArray[np.uint64], NDArray[np.intp]]:
    """A spec's kept categories as a `match_keys` table (in hash order, with their hashes)
    and each entry's slot: built once per spec and process, not once per chunk."""
    hashes = EncodedKeys.from_strings(list(categories)).hashes()
    slot_of_entry = np.argsort(hashes, kind="stable")
    table = EncodedKeys.from_strings([categories[i] for i in slot_of_entry.tolist()])
    table_hashes = hashes[slot_of_entry]
    for array in (table.data, table.offsets, table_hashes, slot_of_entry):
        array.flags.writeable = False
    return table, table_hashes, slot_of_entry


# --------------------------------------------------------------------------------------------
# Helpers


def category_key(value: Any) -> str:
    """The string a category is stored and matched under.

    Integral floats match their integer form (``2.0`` and ``2`` are the category ``"2"``), so
    a code column that gained a missing value (and so became float) still matches. Bytes (a
    Parquet ``binary`` column) are their text when they are UTF-8, so ``b"x"`` reads ``x`` and
    matches the same value read as text from a CSV; other bytes are their Python literal
    (``b'\\xff\\xfe'``), escaped and marked as bytes.

    Examples
    --------
    >>> category_key(2.0), category_key(b"caf\\xc3\\xa9"), category_key(b"\\xff\\xfe")
    ('2', 'café', "b'\\\\xff\\\\xfe'")
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return repr(value)
    return str(value)


def category_keys(values: pd.Index | ArrayLike) -> NDArray[np.object_]:
    """`category_key` of every value, as an object array; strings (the common case, and the
    costly one with millions of distinct values) are their own keys."""
    array = np.asarray(values, dtype=object)
    if all(map(isinstance, array.tolist(), repeat(str))):
        return array
    return np.asarray([category_key(value) for value in array], dtype=object)


def _bytes_literal_keys(values: pd.Index | ArrayLike) -> NDArray[np.object_]:
    """`category_keys`, but bytes as their Python literal (``b'x'``) whatever they hold: the
    keys of references built before bytes were keyed by their text (`_keys_bytes_as_literals`)."""
    array = np.asarray(values, dtype=object)
    return np.asarray(
        [repr(v) if isinstance(v, bytes) else category_key(v) for v in array.tolist()],
        dtype=object,
    )


@functools.lru_cache(maxsize=1024)
def _keys_bytes_as_literals(categories: tuple[str, ...]) -> bool:
    """Whether a spec's categories were keyed as a reference built before driftmon keyed bytes
    by their text did: every category a bytes literal, one of them of UTF-8 bytes (which
    `category_key` now writes as text). A batch is counted against such a reference with the
    keys it was built with, so its categories still match; rebuilding it shows the text.

    Examples
    --------
    >>> _keys_bytes_as_literals(("b'x'", "b'\\\\xff'"))
    True
    >>> _keys_bytes_as_literals(("x", "b'\\\\xff'"))
    False
    >>> _keys_bytes_as_literals(("b'\\\\xff'",))  # as `category_key` writes them now
    False
    """
    literals = []
    for category in categories:
        if not (category[:2] in ("b'", 'b"') and category[-1:] == category[1]):
            return False
        try:
            literal = ast.literal_eval(category)
        except (ValueError, SyntaxError):
            return False
        if not isinstance(literal, bytes):
            return False
        literals.append(literal)
    return any(_is_utf8(literal) for literal in literals)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _keying(spec: BinSpec) -> Callable[[NDArray[np.object_]], NDArray[np.object_]]:
    """How values become keys to be counted against ``spec``: `category_keys`, or
    `_bytes_literal_keys` for a reference built when bytes were keyed as literals."""
    return _bytes_literal_keys if _keys_bytes_as_literals(spec.categories) else category_keys


def _key_counts(
    series: pd.Series,
    name: str,
    keying: Callable[[NDArray[np.object_]], NDArray[np.object_]] = category_keys,
) -> tuple[NDArray[np.object_], NDArray[np.int64], int]:
    """The distinct category keys of a column with how often each occurs, and the count of
    missing values. Values are counted per code first (one pass over the data), then only the
    distinct values are keyed (by ``keying``): the data is never touched again, whatever its
    size."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, found = series.cat.codes.to_numpy(), series.cat.categories
    else:
        try:
            codes, found = pd.factorize(series, use_na_sentinel=True)
        except TypeError as exc:  # lists, structs, maps (Parquet's nested types): unhashable
            raise InputDataError(
                f"feature `{name}`: its values are nested (lists, structs or maps), which have "
                f"no bins; leave the column out (`exclude = [{json.dumps(name)}]` in the "
                "dataset's configuration)"
            ) from exc
    code_counts = np.bincount(codes.astype(np.intp) + 1, minlength=len(found) + 1)
    counts = code_counts[1:]
    occurring = np.flatnonzero(counts)
    keys, key_counts = _distinct_keys(
        np.asarray(found, dtype=object)[occurring], counts[occurring], keying
    )
    return keys, key_counts, int(code_counts[0])


def _distinct_keys(
    values: NDArray[np.object_],
    counts: NDArray[np.int64],
    keying: Callable[[NDArray[np.object_]], NDArray[np.object_]] = category_keys,
) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Keys (`category_keys`, or ``keying``) of distinct values with their counts, values that
    share a key (5, "5", 5.0) added up: strings, the usual case, are distinct keys already."""
    keys = keying(values)
    if keys is values:
        return keys, counts
    totals: dict[str, int] = {}
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        totals[key] = totals.get(key, 0) + count
    distinct = np.empty(len(totals), dtype=object)
    distinct[:] = list(totals)
    return distinct, np.fromiter(totals.values(), dtype=np.int64, count=len(totals))


def _as_series(values: pd.Series | ArrayLike) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.Index):
        return values.to_series(index=None)
    array = (
        np.asarray(values) if not isinstance(values, pd.api.extensions.ExtensionArray) else values
    )
    if array.ndim != 1:
        raise InputDataError(f"expected one column of values, got an array of shape {array.shape}")
    return pd.Series(array, copy=False)


def _as_float_array(series: pd.Series, name: str, *, coerce: bool = False) -> NDArray[Any]:
    """Numbers as a numpy array for the kernel: int/float kept as they are, NA as NaN.

    Datetimes become seconds since the epoch, durations seconds. With ``coerce``, values that
    are not numbers (strings arriving in a numeric feature) count as missing; the caller
    reports the type change.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        # microseconds: nanoseconds end in 2262, and a 9999-12-31 sentinel would wrap around
        micros = series.to_numpy(dtype="datetime64[us]").view(np.int64).astype(np.float64)
        micros[series.isna().to_numpy()] = np.nan
        return micros / 1e6
    if pd.api.types.is_timedelta64_dtype(dtype):  # durations (Arrow's duration) in seconds
        micros = series.to_numpy(dtype="timedelta64[us]").view(np.int64).astype(np.float64)
        micros[series.isna().to_numpy()] = np.nan
        return micros / 1e6
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return series.to_numpy()
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    seen = observed_type(series)
    if seen == "datetime":  # dates as objects (Arrow's date32, `datetime.date`)
        # in UTC, a value that is not a date (text in one chunk of a CSV) missing
        return _as_float_array(pd.to_datetime(series, utc=True, errors="coerce"), name)
    if seen == "numeric":  # numbers as objects: decimals (Arrow's decimal128, SQL NUMERIC)
        return pd.to_numeric(series.astype(object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    if not coerce:
        raise InputDataError(
            f"feature `{name}`: column of type `{dtype}` is not numeric; declare it categorical"
        )
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _top_counts(keys: NDArray[np.object_], counts: NDArray[np.int64], limit: int) -> dict[str, int]:
    """The ``limit`` most frequent of distinct keys, ties by key (`_top_rows`)."""
    return _top_rows(
        np.arange(keys.size),
        counts,
        limit,
        lambda rows: keys[rows].tolist(),
        lambda rows, k: heapq.nsmallest(k, keys[rows].tolist()),
    )


def _top_rows(
    rows: NDArray[np.intp],
    counts: NDArray[np.int64],
    limit: int,
    strings: Callable[[NDArray[np.intp]], list[str]],
    smallest: Callable[[NDArray[np.intp], int], list[str]],
) -> dict[str, int]:
    """The ``limit`` most frequent of distinct keys ``rows`` (key ``i`` seen ``counts[i]``
    times), ties by key: narrowed in numpy to those above the ``limit``-th largest count and
    the ``smallest(tied, k)`` keys tied with it, so only those become ``strings(rows)`` (a
    tail can hold a million keys)."""
    counts_of_rows = counts[rows]
    if rows.size <= limit:
        return _top(dict(zip(strings(rows), counts_of_rows.tolist(), strict=True)), limit)
    threshold = np.partition(counts_of_rows, rows.size - limit)[rows.size - limit]
    above = rows[counts_of_rows > threshold]
    tied = rows[counts_of_rows == threshold]
    return _top(
        {
            **dict(zip(strings(above), counts[above].tolist(), strict=True)),
            **dict.fromkeys(smallest(tied, limit - above.size), int(threshold)),
        },
        limit,
    )


def _top(counts: Mapping[str, int], limit: int) -> dict[str, int]:
    """The ``limit`` largest counts, ties by key; a heap, as tails can hold many keys."""
    return dict(heapq.nsmallest(limit, counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _merge_top(left: Mapping[str, int], right: Mapping[str, int], limit: int) -> dict[str, int]:
    if not right:
        return dict(left)
    merged = dict(left)
    for key, count in right.items():
        merged[key] = merged.get(key, 0) + count
    return _top(merged, limit)


def _merge_observed(left: str | None, right: str | None) -> str | None:
    if left is None or left == right:
        return right
    if right is None:
        return left
    return "mixed"


def value_text(value: float, *, dates: bool = False) -> str:
    """A numeric feature's value as people read it (bin labels, ranges, messages): up to four
    significant digits as `format_number` writes numbers, without thousands separators, which
    would read as another comma of ``[1000, 2000)`` (``20000``, ``2.718``); with
    ``dates`` (seconds since the epoch) ``2025-04-22`` at midnight, else ``2025-04-22 13:47``
    (UTC).

    Examples
    --------
    >>> value_text(1745280000.0, dates=True), value_text(1745329620.0, dates=True)
    ('2025-04-22', '2025-04-22 13:47')
    >>> value_text(20000.0), value_text(12345.6), value_text(2.71828), value_text(0.25)
    ('20000', '12346', '2.718', '0.25')
    """
    if dates:
        try:
            moment = datetime.fromtimestamp(round(value), UTC)
        except (OverflowError, OSError, ValueError):  # beyond the calendar: as a number
            return format_number(value, 4, trailing_zeros=False, grouping=False)
        return format_moment(moment)
    return format_number(value, 4, trailing_zeros=False, grouping=False)
