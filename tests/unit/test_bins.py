"""Bins fitted on a reference and values counted into them, checked against numpy and pandas.

The independent baseline for numeric counting is ``np.searchsorted(inner_edges, x,
side="right")`` + ``np.bincount`` with NaN sent to the missing slot (the last one).
"""

from __future__ import annotations

import enum
import inspect
import itertools
import json
import math
import operator
import subprocess
import sys
import textwrap
from collections.abc import Callable
from functools import reduce

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from driftmon import bins
from driftmon.bins import (
    CATEGORICAL,
    NUMERIC,
    BinSpec,
    ColumnCounts,
    NumberColumn,
    ValueCounts,
    category_key,
    count_values,
    fit_bins,
    infer_kind,
    observed_type,
)
from driftmon.errors import ConfigError, InputDataError
from driftmon.vocabulary import EncodedKeys, Vocabulary

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)

#: A fixed numeric layout for the properties: 8 value bins and the missing slot.
PROPERTY_SPEC = BinSpec("x", NUMERIC, edges=(-30.0, -12.5, -4.0, -1.0, 0.0, 0.5, 2.0, 7.5, 30.0))
#: A fixed categorical layout: three kept categories, "other" and missing.
PROPERTY_CATEGORIES = BinSpec("c", CATEGORICAL, categories=("a", "b", "c"))

NUMBERS = st.one_of(
    st.floats(min_value=-60.0, max_value=60.0),
    st.sampled_from(PROPERTY_SPEC.edges),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
NUMBER_ARRAYS = hnp.arrays(np.float64, st.integers(0, 300), elements=NUMBERS)
LABELS = st.lists(st.sampled_from(["a", "b", "c", "y", "z", None]), max_size=300)


def searchsorted_counts(edges: tuple[float, ...], values) -> np.ndarray:
    """Independent numeric counting: searchsorted on the inner edges, NaN to the last slot."""
    numbers = np.asarray(values, dtype=np.float64)
    inner = np.asarray(edges[1:-1], dtype=np.float64)
    slot = np.searchsorted(inner, numbers, side="right")
    missing_slot = len(edges) - 1
    slot[np.isnan(numbers)] = missing_slot
    return np.bincount(slot, minlength=missing_slot + 1)


# --------------------------------------------------------------------------------------------
# Fitting numeric bins


def test_numeric_edges_are_the_reference_quantiles_at_the_default_number_of_bins(rng):
    reference = rng.normal(5.0, 2.0, 10_000)

    spec = fit_bins(reference)

    expected = np.quantile(reference, np.linspace(0.0, 1.0, bins.DEFAULT_N_BINS + 1))
    np.testing.assert_array_equal(spec.edges, expected)
    assert spec.kind == NUMERIC
    assert not spec.discrete
    assert spec.n_bins == bins.DEFAULT_N_BINS
    assert spec.n_slots == bins.DEFAULT_N_BINS + 1


def test_default_number_of_bins_is_the_module_constant_twenty():
    assert bins.DEFAULT_N_BINS == 20
    assert inspect.signature(fit_bins).parameters["n_bins"].default == bins.DEFAULT_N_BINS


@pytest.mark.parametrize("n_bins", [1, 2, 5, 37, 100])
def test_numeric_edges_follow_a_configured_number_of_bins(rng, n_bins):
    reference = rng.lognormal(0.0, 1.0, 5_000)

    spec = fit_bins(reference, n_bins=n_bins)

    expected = np.quantile(reference, np.linspace(0.0, 1.0, n_bins + 1))
    np.testing.assert_array_equal(spec.edges, expected)
    assert spec.n_bins == n_bins


def test_tied_quantile_edges_collapse_so_heavy_ties_get_fewer_bins(rng):
    n = 5_000
    reference = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(3.0, n))

    spec = fit_bins(reference)

    quantiles = np.quantile(reference, np.linspace(0.0, 1.0, bins.DEFAULT_N_BINS + 1))
    np.testing.assert_array_equal(spec.edges, np.unique(quantiles))
    assert np.all(np.diff(spec.edges) > 0)
    assert spec.edges[0] == 0.0
    # quantiles 0.00 .. 0.55 are all 0 and collapse into a single edge
    assert spec.n_bins <= bins.DEFAULT_N_BINS - 11
    counts = count_values(spec, reference).counts
    assert counts[0] == np.count_nonzero(reference < spec.edges[1])
    assert counts[0] >= np.count_nonzero(reference == 0.0)
    np.testing.assert_array_equal(counts, searchsorted_counts(spec.edges, reference))


def test_an_all_missing_reference_gets_a_single_bin_and_counts_only_missing_values():
    spec = fit_bins(np.full(10, np.nan))

    assert spec.n_slots == 2
    assert count_values(spec, [np.nan, np.nan, 3.0]).counts.tolist() == [1, 2]


# --------------------------------------------------------------------------------------------
# Counting numeric values against the searchsorted + bincount baseline


def _normal(rng, spec):
    values = rng.normal(0.3, 1.2, 20_000)
    values[rng.random(values.size) < 0.02] = np.nan
    return values


def _cauchy(rng, spec):
    values = rng.standard_cauchy(20_000)
    values[rng.random(values.size) < 0.02] = np.nan
    values[:3] = [np.inf, -np.inf, np.nan]
    return values


def _int64(rng, spec):
    return rng.integers(-5, 6, 20_000)


def _int32(rng, spec):
    return rng.integers(-5, 6, 20_000).astype(np.int32)


def _float32(rng, spec):
    values = rng.normal(0.0, 1.0, 20_000).astype(np.float32)
    values[rng.random(values.size) < 0.02] = np.nan
    return values


def _strided(rng, spec):
    values = rng.normal(0.0, 1.5, 60_000)[::3]
    assert not values.flags.c_contiguous
    return values


def _on_edges(rng, spec):
    edges = np.asarray(spec.edges)
    neighbours = np.concatenate(
        (edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf), [np.nan])
    )
    return rng.permutation(np.repeat(neighbours, 7))


def _series(rng, spec):
    return pd.Series(rng.normal(0.0, 1.0, 5_000))


CURRENT_BATCHES: dict[str, Callable] = {
    "normal": _normal,
    "standard_cauchy": _cauchy,
    "int64": _int64,
    "int32": _int32,
    "float32": _float32,
    "strided": _strided,
    "on_edges": _on_edges,
    "series": _series,
}


@pytest.mark.parametrize("reference_kind", ["normal", "standard_cauchy"])
@pytest.mark.parametrize("batch", list(CURRENT_BATCHES))
def test_numeric_counts_equal_the_searchsorted_bincount_baseline(rng, reference_kind, batch):
    reference = (
        rng.normal(0.0, 1.0, 5_000) if reference_kind == "normal" else rng.standard_cauchy(5_000)
    )
    spec = fit_bins(reference, n_bins=32)
    values = CURRENT_BATCHES[batch](rng, spec)
    expected = searchsorted_counts(spec.edges, values)

    counted = count_values(spec, values)

    np.testing.assert_array_equal(counted.counts, expected)
    assert counted.counts.dtype == np.int64
    array = values.to_numpy() if isinstance(values, pd.Series) else values
    np.testing.assert_array_equal(bins.count_numeric_baseline(spec, array), expected)


def test_float32_values_are_binned_against_the_float64_edges_exactly(rng):
    """float32 batches (a Parquet column read without copying) are compared with the
    reference's float64 edges in float64: in float32 the grid's origin rounds by half an ulp,
    more than a cell when the values sit far from zero, and the largest values overflow."""
    pressure = fit_bins(rng.normal(101_325.0, 0.3, 20_000), n_bins=20)
    readings = rng.normal(101_325.0, 0.3, 20_000).astype(np.float32)
    wide = BinSpec("x", NUMERIC, edges=(-3e38, -1e38, 0.0, 1e38, 3e38))
    extremes = np.array([np.finfo(np.float32).max, 1.0, 2e38], dtype=np.float32)
    step = 0.0625
    fine = BinSpec("x", NUMERIC, edges=tuple(1e6 + step * k for k in (0, 0.4, 1.2, 2.4, 3)))
    near = (1e6 + step * np.array([1.0, 2.0, 3.0])).astype(np.float32)

    for spec, values in ((pressure, readings), (wide, extremes), (fine, near)):
        counted = count_values(spec, NumberColumn(values))
        as_float64 = values.astype(np.float64)
        assert counted.counts.tolist() == searchsorted_counts(spec.edges, as_float64).tolist()
        assert counted.n_below == int(np.sum(as_float64 < spec.edges[0]))
        assert counted.n_above == int(np.sum(as_float64 > spec.edges[-1]))
    assert count_values(fine, NumberColumn(near)).counts.tolist() == [0, 1, 1, 1, 0]


def test_values_exactly_on_an_inner_edge_count_in_the_bin_above_it():
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0, 3.0))

    counted = count_values(spec, [0.0, 1.0, 2.0, 3.0])

    # bins: [-inf, 1), [1, 2), [2, inf), missing
    assert counted.counts.tolist() == [1, 1, 2, 0]
    assert counted.n_below == 0
    assert counted.n_above == 0


def test_out_of_range_values_land_in_the_outermost_bins_and_are_tallied():
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0, 3.0))
    values = np.array([-5.0, -np.inf, 0.0, 1.5, 3.0, 3.5, np.inf, np.nan])

    counted = count_values(spec, values)

    assert counted.counts.tolist() == [3, 1, 3, 1]
    assert counted.counts.sum() == values.size
    assert counted.n_below == 2  # -5 and -inf
    assert counted.n_above == 2  # 3.5 and inf
    finite = values[np.isfinite(values)]
    assert counted.n_finite == finite.size
    assert counted.minimum == finite.min()
    assert counted.maximum == finite.max()
    assert counted.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert counted.m2 == pytest.approx(np.sum((finite - finite.mean()) ** 2), rel=1e-12)


def test_infinities_are_out_of_range_values_not_missing_ones():
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0))

    counted = count_values(spec, [np.inf, -np.inf, np.inf])

    assert counted.counts.tolist() == [1, 2, 0]
    assert (counted.n_below, counted.n_above, counted.n_finite) == (1, 2, 0)


MISSING_NUMBERS = {
    "float NaN": pd.Series([0.5, np.nan, 1.5, np.nan]),
    "None in object": pd.Series(np.array([0.5, None, 1.5, None], dtype=object)),
    "Float64 NA": pd.Series([0.5, pd.NA, 1.5, pd.NA], dtype="Float64"),
    "Int64 NA": pd.Series([0, pd.NA, 1, pd.NA], dtype="Int64"),
    "list with None": [0.5, None, 1.5, None],
}


@pytest.mark.parametrize("values", list(MISSING_NUMBERS.values()), ids=list(MISSING_NUMBERS))
def test_nan_none_and_pandas_na_count_in_the_missing_slot(values):
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0))

    counted = count_values(spec, values)

    assert counted.counts.tolist() == [1, 1, 2]
    assert counted.n_finite == 2
    assert counted.observed_type == "numeric"


def test_nat_in_a_datetime_column_counts_as_missing_and_times_count_as_seconds(rng):
    reference = pd.Series(pd.date_range("2024-01-01", periods=500, freq="37min"))
    current = reference.sample(300, random_state=1).reset_index(drop=True)
    current[rng.random(300) < 0.1] = pd.NaT
    seconds = (current - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
    reference_seconds = (reference - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)

    spec = fit_bins(reference)
    counted = count_values(spec, current)

    assert observed_type(current) == "datetime"
    assert spec.kind == NUMERIC
    np.testing.assert_array_equal(
        spec.edges, np.quantile(reference_seconds, np.linspace(0, 1, bins.DEFAULT_N_BINS + 1))
    )
    assert counted.counts[-1] == current.isna().sum() > 0
    np.testing.assert_array_equal(counted.counts, searchsorted_counts(spec.edges, seconds))


def test_durations_are_numeric_and_count_as_seconds(rng):
    reference_seconds = rng.integers(0, 86_400, 500).astype(float)
    seconds = rng.integers(0, 2 * 86_400, 300).astype(float)
    seconds[rng.random(300) < 0.1] = np.nan
    current = pd.Series(pd.to_timedelta(seconds, unit="s"))

    spec = fit_bins(pd.Series(pd.to_timedelta(reference_seconds, unit="s")))
    counted = count_values(spec, current)

    assert (spec.kind, spec.dates) == (NUMERIC, False)
    assert spec.edges == fit_bins(reference_seconds).edges
    assert counted.counts[-1] == np.isnan(seconds).sum() > 0
    np.testing.assert_array_equal(counted.counts, count_values(spec, seconds).counts)


def test_timezone_aware_datetimes_count_as_their_utc_instant(rng):
    naive = pd.Series(pd.date_range("2024-03-01", periods=400, freq="h"))
    spec = fit_bins(naive)
    aware = naive.dt.tz_localize("UTC").dt.tz_convert("America/New_York")

    np.testing.assert_array_equal(
        count_values(spec, aware).counts, count_values(spec, naive).counts
    )


# --------------------------------------------------------------------------------------------
# Low-cardinality numeric features


@settings(max_examples=200, deadline=None)
@given(
    head=st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=1, max_size=20),
    repeats=st.integers(1, 40),
    tail=st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0, 7.0, 0.25]), max_size=6),
    n_bins=st.integers(1, 4),
)
def test_a_column_is_discrete_exactly_when_it_has_at_most_n_bins_distinct_values(
    head, repeats, tail, n_bins
):
    """Whatever the prefix the fit looks at first (64 values a bin) shows, the decision is
    that of all the values, those after it included."""
    values = np.concatenate([np.tile(np.asarray(head), repeats), np.asarray(tail, dtype=float)])
    distinct = np.unique(values)

    spec = fit_bins(values, n_bins=n_bins)

    assert spec.discrete == (distinct.size <= n_bins)
    if spec.discrete:
        assert spec.edges == (*distinct.tolist(), distinct[-1])


@pytest.mark.parametrize("late", ["codes", "continuous"])
def test_whether_a_column_is_discrete_depends_on_all_its_values_not_its_head(rng, late):
    """The fit looks at a prefix first (a shortcut for continuous columns); values that
    only come after it still decide: late codes get their bins, a late continuous tail
    makes the column continuous."""
    head = np.zeros(100_000)
    tail = rng.integers(1, 6, 1_000).astype(float) if late == "codes" else rng.normal(size=1_000)
    values = np.concatenate([head, tail])

    spec = fit_bins(values, n_bins=10)

    distinct = np.unique(values)
    assert spec.discrete == (late == "codes")
    if late == "codes":
        assert spec.edges == (*distinct.tolist(), distinct[-1])
    else:
        assert spec.edges == tuple(np.unique(np.quantile(values, np.linspace(0, 1, 11))))


@pytest.mark.parametrize("n_values", [3, 4, 5])
def test_integer_codes_get_one_bin_per_value(rng, n_values):
    codes = rng.integers(10, 10 + n_values, 2_000)

    spec = fit_bins(codes)
    counted = count_values(spec, codes)

    values = np.arange(10, 10 + n_values)
    assert spec.kind == NUMERIC
    assert spec.discrete
    assert spec.n_bins == n_values
    assert spec.labels() == (*(f"= {v}" for v in values), "missing")
    expected = np.bincount(codes - 10, minlength=n_values)
    assert counted.counts.tolist() == [*expected.tolist(), 0]


def test_integer_codes_that_gained_missing_values_count_into_the_same_bins(rng):
    codes = rng.integers(1, 4, 1_000)
    spec = fit_bins(codes)
    with_gaps = pd.Series(codes, dtype=np.float64)
    with_gaps[rng.random(codes.size) < 0.1] = np.nan

    counted = count_values(spec, with_gaps)

    frequencies = with_gaps.value_counts()
    assert counted.counts.tolist() == [
        frequencies[1.0],
        frequencies[2.0],
        frequencies[3.0],
        with_gaps.isna().sum(),
    ]


# --------------------------------------------------------------------------------------------
# Categorical bins


def _expected_categories(values: pd.Series, max_categories: int) -> tuple[str, ...]:
    frequencies = values.dropna().astype(str).value_counts()
    ordered = sorted(frequencies.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(name for name, _ in ordered[:max_categories])


def test_categories_are_ordered_most_frequent_first_with_ties_broken_by_name():
    values = pd.Series(["b"] * 5 + ["a"] * 5 + ["c"] * 7 + ["d"] + [None] * 2)

    spec = fit_bins(values)

    assert spec.kind == CATEGORICAL
    assert spec.categories == ("c", "a", "b", "d")
    assert spec.categories == _expected_categories(values, 50)
    assert spec.labels() == ("c", "a", "b", "d", bins.OTHER_LABEL, "missing")
    assert spec.n_slots == 6


def test_categories_are_capped_and_the_rest_share_the_other_slot():
    values = pd.Series(["b"] * 5 + ["a"] * 5 + ["c"] * 7 + ["d"] + [None] * 2)

    spec = fit_bins(values, max_categories=2)
    counted = count_values(spec, values)

    assert spec.categories == ("c", "a")
    assert spec.other_slot == 2
    assert counted.counts.tolist() == [7, 5, 6, 2]


def test_default_category_cap_is_the_module_constant(rng):
    values = pd.Series([f"k{i:03d}" for i in rng.integers(0, 200, 5_000)])

    spec = fit_bins(values)

    assert len(spec.categories) == bins.DEFAULT_MAX_CATEGORIES
    assert spec.categories == _expected_categories(values, bins.DEFAULT_MAX_CATEGORIES)


def test_values_never_seen_go_to_other_and_are_remembered_by_name():
    spec = fit_bins(pd.Series(["a", "b", "a"]))

    counted = count_values(spec, pd.Series(["a", "z", "y", "z", None, "b"]))

    assert counted.counts.tolist() == [1, 1, 3, 1]
    assert dict(counted.unseen) == {"z": 2, "y": 1}
    assert counted.n_unseen == 3


def test_unseen_categories_kept_by_name_are_the_most_frequent_up_to_the_limit():
    spec = BinSpec("c", CATEGORICAL, categories=("a",), seen=Vocabulary.from_keys(["a"]))
    names = [f"u{i:02d}" for i in range(bins.UNSEEN_KEPT + 5)]
    values = [name for i, name in enumerate(names) for _ in range(i + 1)]

    counted = count_values(spec, values)

    kept = names[::-1][: bins.UNSEEN_KEPT]
    assert list(counted.unseen) == kept
    assert counted.unseen == {name: names.index(name) + 1 for name in kept}
    assert counted.counts[spec.other_slot] == len(values)


def test_unseen_counts_add_up_raw_values_that_share_a_category_key():
    spec = BinSpec("c", CATEGORICAL, categories=("a", "b"), seen=Vocabulary.from_keys(["a", "b"]))

    counted = count_values(spec, pd.Series(np.array([5, "5", 5.0, "z"], dtype=object)))

    assert counted.counts.tolist() == [0, 0, 4, 0]
    assert dict(counted.unseen) == {"5": 3, "z": 1}
    assert counted.n_unseen == 4


def test_a_value_in_the_long_tail_goes_to_other_but_is_not_unseen():
    """The reference saw `c` and `d` but kept only its most frequent category."""
    spec = fit_bins(pd.Series(["a", "a", "a", "c", "d"]), max_categories=1)

    counted = count_values(spec, pd.Series(["a", "c", "d", "d", "z", None]))

    assert counted.counts.tolist() == [1, 4, 1]
    assert counted.n_unseen == 1
    assert dict(counted.unseen) == {"z": 1}


def test_without_knowing_what_the_reference_saw_nothing_is_called_unseen():
    spec = BinSpec("c", CATEGORICAL, categories=("a",))

    counted = count_values(spec, ["a", "z"])

    assert counted.counts.tolist() == [1, 1, 0]
    assert counted.n_unseen is None
    assert dict(counted.unseen) == {}


def test_none_and_nan_in_a_categorical_column_are_missing():
    spec = BinSpec("c", CATEGORICAL, categories=("a", "b"))

    counted = count_values(spec, pd.Series(["a", None, np.nan, "b", pd.NA], dtype=object))

    assert counted.counts.tolist() == [1, 1, 0, 3]
    assert dict(counted.unseen) == {}


def test_boolean_columns_are_categorical_with_true_and_false_categories(rng):
    flags = pd.Series(rng.random(1_000) < 0.7)

    spec = fit_bins(flags)
    with_missing = flags.astype(object)
    with_missing[:10] = None
    counted = count_values(spec, with_missing)

    assert infer_kind(flags) == CATEGORICAL
    assert observed_type(flags) == "boolean"
    assert observed_type(with_missing) == "boolean"
    assert spec.categories == ("True", "False")
    assert counted.counts.tolist() == [
        int(flags[10:].sum()),
        int((~flags[10:]).sum()),
        0,
        10,
    ]


def test_a_str_subclass_value_is_its_own_text_as_a_key():
    """A `str` Enum member (`class Tier(str, Enum)`) is keyed by its value, as a plain
    string would be, not by `str()`, which writes `Tier.GOLD`."""

    class Tier(str, enum.Enum):  # noqa: UP042 - the case itself: str() gives "Tier.GOLD"
        GOLD = "gold"
        SILVER = "silver"

    members = np.array([Tier.GOLD, Tier.SILVER], dtype=object)
    assert bins.category_keys(members).tolist() == ["gold", "silver"]
    spec = BinSpec("tier", CATEGORICAL, categories=("gold", "silver"))
    tallied = ValueCounts(values=[Tier.GOLD, Tier.SILVER], counts=np.array([1, 2]))
    assert count_values(spec, tallied).counts.tolist() == [1, 2, 0, 0]


@pytest.mark.parametrize("dtype", ["object", "category", "string", "str"])
def test_category_object_and_string_dtypes_give_the_same_bins_and_counts(rng, dtype):
    colours = np.array(["red", "green", "blue", "violet", "teal"], dtype=object)
    values = pd.Series(colours[rng.choice(5, 2_000, p=[0.4, 0.3, 0.15, 0.1, 0.05])], dtype=object)
    values[rng.random(values.size) < 0.05] = None
    spec = fit_bins(values, max_categories=3)
    typed = values.astype(dtype)

    counted = count_values(spec, typed)

    assert fit_bins(typed, max_categories=3) == spec
    assert spec.categories == _expected_categories(values, 3)
    frequencies = values.value_counts()
    kept = [int(frequencies[c]) for c in spec.categories]
    other = int(frequencies[~frequencies.index.isin(spec.categories)].sum())
    assert counted.counts.tolist() == [*kept, other, int(values.isna().sum())]
    assert dict(counted.unseen) == dict(count_values(spec, values).unseen)


def test_category_key_matches_integral_floats_with_their_integer_form():
    assert category_key(2.0) == "2"
    assert category_key(np.float32(2.0)) == "2"
    assert category_key(np.int64(2)) == "2"
    assert category_key(2) == "2"
    assert category_key(2.5) == "2.5"
    assert category_key(-0.0) == "0"
    assert category_key(True) == "True"
    assert category_key(np.bool_(False)) == "False"
    assert category_key("x") == "x"


def test_binary_values_are_categories_by_their_text_or_an_escaped_bytes_literal():
    """A Parquet `binary` column arrives as bytes; its categories used to read ``b'x'``."""
    import pyarrow as pa

    column = pa.chunked_array([pa.array([b"x", b"y", b"x", b"\xff\xfe", None], pa.binary())])
    values = column.to_pandas()

    spec = fit_bins(values, kind=CATEGORICAL)
    counts = count_values(spec, values)
    as_text = count_values(spec, pd.Series(["x", "y", "x", "new", None]))  # the same, from a CSV

    assert spec.categories == ("x", "b'\\xff\\xfe'", "y")
    assert counts.counts.tolist() == [2, 1, 1, 0, 1]
    assert as_text.counts.tolist() == [2, 0, 1, 1, 1] and as_text.unseen == {"new": 1}
    assert category_key(b"caf\xc3\xa9") == "café"
    assert category_key(b"\xff") == "b'\\xff'"


def test_a_reference_built_when_bytes_were_literals_still_counts_binary_batches_into_its_slots():
    """References stored before bytes were keyed by their text hold ``b'x'``: batches of bytes
    are keyed as they were, so nothing reads as never seen until the reference is rebuilt."""
    old = BinSpec(
        "code",
        CATEGORICAL,
        categories=("b'x'", "b'\\xff\\xfe'"),
        seen=Vocabulary.from_keys(["b'x'", "b'\\xff\\xfe'", "b'y'"], np.array([5, 2, 1])),
    )
    batch = pd.Series([b"x", b"x", b"\xff\xfe", b"y", b"z"], dtype=object)
    distinct = ValueCounts(values=[b"x", b"\xff\xfe", b"y", b"z"], counts=np.array([2, 1, 1, 1]))

    for counted in (count_values(old, batch), count_values(old, distinct)):
        assert counted.counts.tolist() == [2, 1, 2, 0]
        assert counted.n_unseen == 1 and counted.unseen == {"b'z'": 1}
        assert counted.tail == {"b'y'": 1}


def test_float_codes_match_integer_categories(rng):
    codes = rng.integers(1, 4, 500)
    spec = fit_bins(codes, kind=CATEGORICAL)
    as_float = pd.Series(codes.astype(np.float64))
    as_float[:5] = np.nan

    counted = count_values(spec, as_float)

    frequencies = pd.Series(codes[5:]).astype(str).value_counts()
    assert set(spec.categories) == {"1", "2", "3"}
    assert counted.counts.tolist() == [*(int(frequencies[c]) for c in spec.categories), 0, 5]


# --------------------------------------------------------------------------------------------
# Type inference and overrides

INFERRED = {
    "floats": (pd.Series([1.5, 2.5, np.nan]), "numeric", NUMERIC),
    "int list": ([1, 2, 3], "numeric", NUMERIC),
    "nullable Int64": (pd.Series([1, pd.NA], dtype="Int64"), "numeric", NUMERIC),
    "datetimes": (pd.Series(pd.to_datetime(["2024-01-01", None])), "datetime", NUMERIC),
    "durations": (pd.Series(pd.to_timedelta(["1h", None])), "numeric", NUMERIC),
    "booleans": (pd.Series([True, False]), "boolean", CATEGORICAL),
    "booleans with None": (pd.Series([True, None], dtype=object), "boolean", CATEGORICAL),
    "strings": (pd.Series(["a", "b", None]), "string", CATEGORICAL),
    "numpy strings": (np.array(["a", "b"]), "string", CATEGORICAL),
    "string categories": (pd.Series(["a", "b"], dtype="category"), "string", CATEGORICAL),
    "all None": (pd.Series([None, None], dtype=object), None, CATEGORICAL),
}


@pytest.mark.parametrize(
    ("values", "expected_type", "expected_kind"), list(INFERRED.values()), ids=list(INFERRED)
)
def test_observed_type_and_inferred_kind(values, expected_type, expected_kind):
    assert observed_type(values) == expected_type
    assert infer_kind(values) == expected_kind


def test_a_category_dtype_column_of_integer_codes_is_fitted_as_categorical():
    codes = pd.Series([1, 2, 3, 1, 2, 1], dtype="category")

    assert infer_kind(codes) == CATEGORICAL
    assert fit_bins(codes).categories == ("1", "2", "3")


def test_kind_override_fits_integer_codes_as_categories(rng):
    codes = rng.integers(1, 4, 300)

    spec = fit_bins(codes, kind=CATEGORICAL)

    assert spec.kind == CATEGORICAL
    assert spec.categories == _expected_categories(pd.Series(codes), 50)


def test_kind_override_fits_booleans_as_numeric_zero_one_bins():
    spec = fit_bins(pd.Series([True, False, True]), kind=NUMERIC)

    assert spec.kind == NUMERIC
    assert spec.discrete
    assert spec.labels() == ("= 0", "= 1", "missing")


def test_kind_override_to_numeric_on_strings_raises_input_data_error_naming_the_feature():
    with pytest.raises(InputDataError, match=r"`city`.*not numeric"):
        fit_bins(pd.Series(["a", "b"]), name="city", kind=NUMERIC)


def test_an_unknown_kind_raises_config_error_listing_the_valid_kinds():
    with pytest.raises(ConfigError, match=r"`ordinal`.*numeric, categorical"):
        fit_bins([1.0, 2.0], kind="ordinal")


@pytest.mark.parametrize("dtype", [object, "str", "string"])
def test_strings_arriving_in_a_numeric_feature_are_counted_and_reported_as_string(dtype):
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0, 3.0))
    values = pd.Series(["0.5", "oops", "2.5", None, "1e3", ""], dtype=dtype)

    counted = count_values(spec, values)

    parsed = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    assert counted.observed_type == "string"
    np.testing.assert_array_equal(counted.counts, searchsorted_counts(spec.edges, parsed))
    assert counted.counts.tolist() == [1, 0, 2, 3]
    assert counted.n_above == 1


# --------------------------------------------------------------------------------------------
# Properties: chunking, totals and order


def _assert_same_moments(merged: ColumnCounts, whole: ColumnCounts, values: np.ndarray) -> None:
    """Moments agree to 1e-9, relative to the scale their one-pass sums carry.

    Counting accumulates sums of values (and their squares) measured from the middle of the
    reference range, so rounding is relative to those sums, not to m2 itself (two nearly equal
    values have a tiny m2 whose relative error can be large in any one-pass method).
    """
    finite = values[np.isfinite(values)]
    centre = (PROPERTY_SPEC.edges[0] + PROPERTY_SPEC.edges[-1]) / 2.0
    first_scale = float(np.max(np.abs(finite - centre), initial=0.0))
    # ... and squares below the normal range (values ~1e-160) carry absolute rounding of a few
    # subnormal steps, whatever the method
    subnormal_slack = 16 * np.finfo(np.float64).smallest_subnormal * max(finite.size, 1)
    second_scale = float(np.sum((finite - centre) ** 2)) + subnormal_slack / 1e-9
    assert merged.mean == pytest.approx(whole.mean, rel=1e-9, abs=1e-9 * first_scale)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-9, abs=1e-9 * second_scale)
    if finite.size:
        assert whole.mean == pytest.approx(finite.mean(), rel=1e-9, abs=1e-9 * first_scale)
        expected_m2 = float(np.sum((finite - finite.mean()) ** 2))
        assert whole.m2 == pytest.approx(expected_m2, rel=1e-9, abs=1e-9 * second_scale)


@PROPERTY_SETTINGS
@given(values=NUMBER_ARRAYS, data=st.data())
def test_counting_numeric_chunks_and_adding_equals_counting_the_whole(values, data):
    cuts = data.draw(st.lists(st.integers(0, values.size), max_size=6))
    chunks = np.split(values, sorted(cuts))

    merged = reduce(operator.add, (count_values(PROPERTY_SPEC, chunk) for chunk in chunks))
    whole = count_values(PROPERTY_SPEC, values)

    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert merged.n_below == whole.n_below
    assert merged.n_above == whole.n_above
    assert merged.n_finite == whole.n_finite
    assert merged.minimum == whole.minimum
    assert merged.maximum == whole.maximum
    _assert_same_moments(merged, whole, values)


@PROPERTY_SETTINGS
@given(values=LABELS, data=st.data())
def test_counting_categorical_chunks_and_adding_equals_counting_the_whole(values, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=6)))
    bounds = [0, *cuts, len(values)]
    chunks = [pd.Series(values[a:b], dtype=object) for a, b in itertools.pairwise(bounds)]

    merged = reduce(operator.add, (count_values(PROPERTY_CATEGORIES, chunk) for chunk in chunks))
    whole = count_values(PROPERTY_CATEGORIES, pd.Series(values, dtype=object))

    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert dict(merged.unseen) == dict(whole.unseen)


def _most_frequent(pairs: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:limit]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_top_lists_from_keys_as_bytes_and_as_strings_are_the_most_frequent_ties_by_key(data):
    """The never-seen and long-tail lists hold the most frequent keys, ties at the cut broken
    by key (counts of 0-3 tie there nearly always), in that order, whether the keys arrive as
    strings or as UTF-8 bytes."""
    n_keys = data.draw(st.integers(0, 3 * bins.TAIL_KEPT), label="n_keys")
    keys = data.draw(st.lists(st.text(max_size=4), min_size=n_keys, max_size=n_keys, unique=True))
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_keys, max_size=n_keys)))
    flags = data.draw(st.lists(st.booleans(), min_size=n_keys, max_size=n_keys))
    seen = list(itertools.compress(keys, flags))
    categories = tuple(keys[:2])
    spec = BinSpec("c", CATEGORICAL, categories=categories, seen=Vocabulary.from_keys(seen))

    as_strings = count_values(spec, ValueCounts(keys, counts, 3))
    as_bytes = count_values(spec, ValueCounts(EncodedKeys.from_strings(keys), counts, 3))

    other = [
        (key, int(count))
        for key, count in zip(keys, counts, strict=True)
        if count and key not in categories
    ]
    unseen = _most_frequent([pair for pair in other if pair[0] not in seen], bins.UNSEEN_KEPT)
    tail = _most_frequent([pair for pair in other if pair[0] in seen], bins.TAIL_KEPT)
    for counted in (as_strings, as_bytes):
        assert list(counted.unseen.items()) == unseen
        assert list(counted.tail.items()) == tail
    np.testing.assert_array_equal(as_bytes.counts, as_strings.counts)
    assert as_bytes.n_unseen == as_strings.n_unseen


@PROPERTY_SETTINGS
@given(values=NUMBER_ARRAYS)
def test_numeric_counts_sum_to_the_number_of_rows_including_missing(values):
    counted = count_values(PROPERTY_SPEC, values)

    assert counted.counts.sum() == values.size
    assert counted.counts[-1] == np.count_nonzero(np.isnan(values))
    assert counted.n_finite == np.count_nonzero(np.isfinite(values))
    assert counted.n_below == np.count_nonzero(values < PROPERTY_SPEC.edges[0])
    assert counted.n_above == np.count_nonzero(values > PROPERTY_SPEC.edges[-1])


@PROPERTY_SETTINGS
@given(values=LABELS)
def test_categorical_counts_sum_to_the_number_of_rows_including_missing(values):
    counted = count_values(PROPERTY_CATEGORIES, pd.Series(values, dtype=object))

    assert counted.counts.sum() == len(values)
    assert counted.counts[-1] == values.count(None)
    assert counted.counts[3] == sum(v in ("y", "z") for v in values)


@PROPERTY_SETTINGS
@given(values=NUMBER_ARRAYS, data=st.data())
def test_numeric_counts_do_not_depend_on_row_order(values, data):
    # a seeded numpy permutation: st.permutations warns of its own use of `random` for size
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    shuffled = values[np.random.default_rng(seed).permutation(values.size)]

    original = count_values(PROPERTY_SPEC, values)
    permuted = count_values(PROPERTY_SPEC, shuffled)

    np.testing.assert_array_equal(permuted.counts, original.counts)
    assert (permuted.n_below, permuted.n_above, permuted.n_finite) == (
        original.n_below,
        original.n_above,
        original.n_finite,
    )
    assert (permuted.minimum, permuted.maximum) == (original.minimum, original.maximum)
    _assert_same_moments(permuted, original, values)


@PROPERTY_SETTINGS
@given(values=LABELS, data=st.data())
def test_categorical_counts_do_not_depend_on_row_order(values, data):
    shuffled = data.draw(st.permutations(values))

    original = count_values(PROPERTY_CATEGORIES, pd.Series(values, dtype=object))
    permuted = count_values(PROPERTY_CATEGORIES, pd.Series(shuffled, dtype=object))

    np.testing.assert_array_equal(permuted.counts, original.counts)
    assert dict(permuted.unseen) == dict(original.unseen)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # moments of +-1e308 overflow, as in numpy
@PROPERTY_SETTINGS
@given(values=hnp.arrays(np.float64, st.integers(0, 200), elements=st.floats()))
def test_table_counting_equals_the_baseline_for_any_float(values):
    expected = searchsorted_counts(PROPERTY_SPEC.edges, values)

    np.testing.assert_array_equal(count_values(PROPERTY_SPEC, values).counts, expected)
    np.testing.assert_array_equal(bins.count_numeric_baseline(PROPERTY_SPEC, values), expected)


EDGE_SETS = st.lists(
    st.one_of(
        st.floats(-1e6, 1e6),
        st.floats(-1.0, 1.0),
        st.integers(-1000, 1000).map(float),
        st.floats(0.0, 1e-9),  # clusters: cells spanning several edges, searched
    ),
    min_size=2,
    max_size=70,
    unique=True,
).map(sorted)


@PROPERTY_SETTINGS
@given(inner=EDGE_SETS, data=st.data())
def test_table_counting_equals_the_baseline_for_any_edges(inner, data):
    spec = BinSpec("x", NUMERIC, edges=(inner[0] - 1.0, *inner, inner[-1] + 1.0))
    near_edges = np.concatenate([inner, np.nextafter(inner, -np.inf), np.nextafter(inner, np.inf)])
    values = np.concatenate(
        [
            data.draw(hnp.arrays(np.float64, st.integers(0, 100), elements=st.floats())),
            near_edges,
            np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).uniform(
                inner[0] - 1.0, inner[-1] + 1.0, 500
            ),
        ]
    )
    with np.errstate(all="ignore"):
        counted = count_values(spec, values)

    np.testing.assert_array_equal(counted.counts, searchsorted_counts(spec.edges, values))


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.float32])
@pytest.mark.parametrize("offset", [0, 3, 8, 13])
def test_numbers_in_arrow_layout_count_only_their_valid_values(rng, dtype, offset):
    """Values under a cleared validity bit are missing, whatever they hold; several blocks."""
    n = 150_000
    values = (rng.normal(0.0, 3.0, n + offset) * 10).astype(dtype)
    is_valid = rng.random(n + offset) > 0.1
    bitmap = np.packbits(is_valid, bitorder="little")
    spec = fit_bins(rng.normal(0.0, 30.0, 5_000))
    column = bins.NumberColumn(values[offset:], bitmap, offset)

    counted = count_values(spec, column)

    kept = values[offset:].astype(np.float64)
    kept[~is_valid[offset:]] = np.nan
    np.testing.assert_array_equal(counted.counts, searchsorted_counts(spec.edges, kept))
    finite = kept[np.isfinite(kept)]
    assert counted.n_finite == finite.size
    assert counted.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert counted.m2 == pytest.approx(np.sum((finite - finite.mean()) ** 2), rel=1e-9)
    assert (counted.minimum, counted.maximum) == (finite.min(), finite.max())


def test_counting_with_edges_near_the_float_limit_equals_the_baseline():
    script = textwrap.dedent(
        """
        import warnings
        import numpy as np
        from driftmon.bins import BinSpec, count_numeric_baseline, count_values

        warnings.simplefilter("ignore")
        correct = 0
        for i in range(200):
            top = 1.5e308 - i * 1e305
            spec = BinSpec("x", "numeric", edges=(-1.7e308, -top, 0.0, top, 1.7e308))
            values = np.linspace(-1.4e308, 1.4e308, 101)
            got = count_values(spec, values).counts.tolist()
            correct += got == count_numeric_baseline(spec, values).tolist()
        print(correct)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "200"


# --------------------------------------------------------------------------------------------
# ColumnCounts merging


def test_adding_counts_with_different_slot_layouts_raises_input_data_error():
    left = count_values(BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0)), [0.5])
    right = count_values(BinSpec("x", NUMERIC, edges=(0.0, 1.0)), [0.5])

    with pytest.raises(InputDataError, match="3 and 2 slots"):
        left + right


def test_adding_counts_merges_observed_types_and_marks_conflicts_as_mixed():
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0))
    numbers = count_values(spec, [0.5, 1.5])
    strings = count_values(spec, pd.Series(["0.5", "x"]))
    nothing = count_values(spec, pd.Series([None], dtype=object))

    assert (numbers + numbers).observed_type == "numeric"
    assert (numbers + nothing).observed_type == "numeric"
    assert (nothing + strings).observed_type == "string"
    assert (numbers + strings).observed_type == "mixed"


# --------------------------------------------------------------------------------------------
# BinSpec: labels, round trip and validation


def test_numeric_labels_show_open_outer_bins_and_the_missing_slot():
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.5, 3.0))

    assert spec.labels() == ("[-inf, 1)", "[1, 2.5)", "[2.5, inf)", "missing")
    assert spec.missing_slot == 3
    assert spec.other_slot is None
    np.testing.assert_array_equal(spec.inner_edges, [1.0, 2.5])


def test_labels_of_large_and_small_values_are_plain_digits_without_padding_zeros():
    """Python's ``g`` wrote ``[2e+04, 4.998e+04)``; `format_number`'s rule, four significant
    digits and whole parts in full, writes what a person reads, without thousands separators
    that would read as the interval's own comma (``[1,000, 2,000)``)."""
    amounts = BinSpec("amount", NUMERIC, edges=(0.0, 20_000.0, 49_984.42, 1e6, 2e16))
    shares = BinSpec("share", NUMERIC, edges=(0.0, 0.123456, 0.25, 1.0), discrete=True)

    assert amounts.labels() == (
        "[-inf, 20000)", "[20000, 49984)", "[49984, 1000000)", "[1000000, inf)", "missing"
    )  # fmt: skip
    assert shares.labels() == ("= 0", "= 0.1235", "= 0.25", "missing")
    assert bins.value_text(-0.0) == "0" and bins.value_text(2e16) == "2e+16"


def test_categorical_slots_are_categories_then_other_then_missing():
    spec = BinSpec("c", CATEGORICAL, categories=("a", "b"))

    assert spec.labels() == ("a", "b", bins.OTHER_LABEL, "missing")
    assert (spec.n_bins, spec.n_slots, spec.other_slot, spec.missing_slot) == (3, 4, 2, 3)


def _round_trip_specs(rng) -> list[BinSpec]:
    return [
        fit_bins(rng.normal(size=1_000), name="score"),
        fit_bins(rng.integers(1, 5, 100), name="tier"),
        fit_bins(pd.Series(["x", "y", "x", None]), name="city"),
        fit_bins(np.full(3, np.nan), name="empty"),
    ]


def test_bin_spec_round_trips_through_a_json_safe_dict(rng):
    for spec in _round_trip_specs(rng):
        data = spec.to_dict()
        restored = BinSpec.from_dict(json.loads(json.dumps(data, allow_nan=False)))

        assert restored == spec
        assert restored.to_dict() == data
        assert restored.labels() == spec.labels()


def test_unsorted_edges_raise_input_data_error_naming_the_feature():
    with pytest.raises(InputDataError, match=r"`x`.*increase strictly"):
        BinSpec("x", NUMERIC, edges=(0.0, 2.0, 1.0, 3.0))


def test_inner_edges_outside_the_range_raise_input_data_error():
    with pytest.raises(InputDataError, match="within"):
        BinSpec("x", NUMERIC, edges=(1.0, 0.5, 2.0))


@pytest.mark.parametrize("edges", [(), (1.0,), (0.0, np.inf), (np.nan, 1.0)])
def test_too_few_or_non_finite_edges_raise_input_data_error(edges):
    with pytest.raises(InputDataError, match="at least 2 finite edges"):
        BinSpec("x", NUMERIC, edges=edges)


def test_duplicate_categories_raise_input_data_error():
    with pytest.raises(InputDataError, match="unique"):
        BinSpec("c", CATEGORICAL, categories=("a", "a"))


def test_an_unknown_bin_spec_kind_raises_config_error():
    with pytest.raises(ConfigError, match="`ordinal` is not one of numeric, categorical"):
        BinSpec("x", "ordinal")  # type: ignore[arg-type]


@pytest.mark.parametrize("n_bins", [0, -3])
def test_fitting_with_fewer_than_one_bin_raises_config_error_naming_n_bins(n_bins):
    with pytest.raises(ConfigError, match=f"n_bins must be at least 1, got `{n_bins}`"):
        fit_bins([1.0, 2.0, 3.0], n_bins=n_bins)


def test_fitting_with_no_categories_allowed_raises_config_error_naming_max_categories():
    with pytest.raises(ConfigError, match="max_categories"):
        fit_bins(["a", "b"], max_categories=0)


def test_two_dimensional_values_raise_input_data_error():
    with pytest.raises(InputDataError, match=r"shape \(2, 2\)"):
        count_values(PROPERTY_SPEC, np.zeros((2, 2)))


def test_a_date_column_is_binned_in_seconds_and_labelled_in_dates() -> None:
    """Dates count as seconds since the epoch; the spec remembers they were dates, so its
    labels (the "most changed" bins of messages and pages) read as dates, and it says so when
    stored; a spec stored before it could say so reads as plain numbers."""
    days = pd.Series(pd.date_range("2025-01-01", periods=201, freq="D"))  # edges at days
    moments = days + pd.Timedelta(hours=9, minutes=30)

    spec = fit_bins(days, n_bins=4)
    timed = fit_bins(moments, n_bins=4)
    numbers = fit_bins((days - pd.Timestamp("1970-01-01")).dt.total_seconds(), n_bins=4)

    assert spec.dates and timed.dates and not numbers.dates
    assert spec.edges == numbers.edges
    assert spec.labels()[:2] == ("[-inf, 2025-02-20)", "[2025-02-20, 2025-04-11)")
    assert timed.labels()[0] == "[-inf, 2025-02-20 09:30)"
    assert numbers.labels()[0] == "[-inf, 1740009600)"  # plain digits, as all numbers
    assert BinSpec.from_dict(spec.to_dict()) == spec
    assert "dates" not in numbers.to_dict()
    old = {key: value for key, value in spec.to_dict().items() if key != "dates"}
    assert not BinSpec.from_dict(old).dates


def test_far_dates_and_text_among_dates_count_without_wrapping_around() -> None:
    """9999-12-31 (a common "no end" sentinel) is seconds since the epoch like any date,
    not a value wrapped past year 2262; text among dates (one chunk of a CSV) is missing;
    whether a spec says dates takes no part in equality (older specs did not say)."""
    import datetime as dt

    far = pd.Series([dt.date(2025, 1, 1), dt.date(9999, 12, 31), None] * 10)
    mixed = pd.Series([pd.Timestamp("2025-01-01")] * 20_000 + ["unknown"], dtype=object)

    spec = fit_bins(far)
    counted = count_values(fit_bins(mixed), mixed)

    assert spec.dates and spec.edges[-1] == 253_402_214_400.0  # 9999-12-31T00:00:00Z
    assert counted.counts[-1] == 1  # "unknown": missing
    assert spec == BinSpec(spec.name, NUMERIC, edges=spec.edges, discrete=spec.discrete)
