"""Profiles of frames: fitting specs, counting, merging chunks, summaries and serialization.

Expected values come from pandas and numpy applied to the same frames.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

import driftmon
from driftmon.bins import CATEGORICAL, DEFAULT_N_BINS, NUMERIC, BinSpec, count_values, fit_bins
from driftmon.errors import ConfigError, InputDataError, SchemaError
from driftmon.profile import (
    SUMMARY_QUANTILES,
    FeatureProfile,
    Profile,
    fit_specs,
    profile_chunks,
    profile_frame,
)

# the module; `driftmon.profile` is the function that profiles data
profile_module = importlib.import_module("driftmon.profile")

COLUMNS = ["amount", "region", "tier", "active", "blank"]


def make_frame(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Mixed feed: skewed numeric with NaN, strings with None, int codes, booleans, all-NaN."""
    regions = np.array(["north", "south", "east", "west", "central"], dtype=object)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3.0 + shift, 1.0, n),
            "region": pd.Series(regions[rng.choice(5, n, p=[0.4, 0.25, 0.2, 0.1, 0.05])]),
            "tier": rng.integers(1, 5, n),
            "active": rng.random(n) < 0.7,
            "blank": np.full(n, np.nan),
        }
    )
    frame.loc[rng.random(n) < 0.05, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.03, "region"] = None
    return frame


@pytest.fixture
def frame(rng) -> pd.DataFrame:
    return make_frame(rng, 3_000)


@pytest.fixture
def specs(frame) -> dict[str, BinSpec]:
    return fit_specs(frame)


# --------------------------------------------------------------------------------------------
# fit_specs


def test_fit_specs_fits_every_column_with_its_inferred_kind(frame):
    specs = fit_specs(frame)

    assert list(specs) == COLUMNS
    assert {name: spec.kind for name, spec in specs.items()} == {
        "amount": NUMERIC,
        "region": CATEGORICAL,
        "tier": NUMERIC,
        "active": CATEGORICAL,
        "blank": NUMERIC,
    }
    assert not specs["amount"].discrete
    assert specs["amount"].n_bins == DEFAULT_N_BINS
    assert specs["tier"].discrete
    assert specs["tier"].labels() == ("= 1", "= 2", "= 3", "= 4", "missing")
    assert specs["active"].categories == ("True", "False")
    for name, spec in specs.items():
        assert spec.name == name
        assert spec == fit_bins(frame[name], name=name)


def test_fit_specs_numeric_edges_are_quantiles_of_the_non_missing_reference_values(frame):
    spec = fit_specs(frame)["amount"]

    values = frame["amount"].dropna().to_numpy()
    expected = np.quantile(values, np.linspace(0.0, 1.0, DEFAULT_N_BINS + 1))
    np.testing.assert_array_equal(spec.edges, expected)


def test_fit_specs_categories_are_ordered_by_reference_frequency(frame):
    spec = fit_specs(frame)["region"]

    assert spec.categories == tuple(frame["region"].value_counts().index)


def test_fit_specs_selects_the_named_features_in_the_given_order(frame):
    specs = fit_specs(frame, features=["tier", "amount"])

    assert list(specs) == ["tier", "amount"]


def test_fit_specs_leaves_out_excluded_columns(frame):
    assert list(fit_specs(frame, exclude=["region", "blank"])) == ["amount", "tier", "active"]
    assert list(fit_specs(frame, features=["tier", "region"], exclude=["region"])) == ["tier"]


def test_fit_specs_kinds_override_the_inferred_kind(frame):
    specs = fit_specs(frame, kinds={"tier": "categorical", "active": "numeric"})

    assert specs["tier"].kind == CATEGORICAL
    assert set(specs["tier"].categories) == {"1", "2", "3", "4"}
    assert specs["active"].kind == NUMERIC
    assert specs["active"].labels() == ("= 0", "= 1", "missing")
    assert specs["amount"].kind == NUMERIC


def test_fit_specs_takes_one_number_of_bins_for_all_or_a_mapping_per_feature(frame):
    for_all = fit_specs(frame, n_bins=8)
    per_feature = fit_specs(frame, n_bins={"amount": 5})

    assert for_all["amount"].n_bins == 8
    assert per_feature["amount"].n_bins == 5
    values = frame["amount"].dropna().to_numpy()
    np.testing.assert_array_equal(
        per_feature["amount"].edges, np.quantile(values, np.linspace(0.0, 1.0, 6))
    )
    assert per_feature["tier"] == fit_bins(frame["tier"], name="tier")


def test_fit_specs_takes_a_category_cap_per_feature(frame):
    specs = fit_specs(frame, max_categories={"region": 2})

    assert specs["region"].categories == tuple(frame["region"].value_counts().index[:2])
    assert specs["active"].categories == ("True", "False")


def test_a_large_frame_is_fitted_a_column_per_core_with_the_same_specs(rng):
    """Above the parallel threshold (2M cells) columns are fitted on the counting pool: the
    specs are those of fitting each column alone, in the frame's order; an error still names
    its column."""
    n = 250_000
    large = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i, n) for i in range(6)})
    large["code"] = rng.integers(0, 4, n)
    large["city"] = rng.choice(["paris", "lyon", "nice"], n)

    specs = fit_specs(large)

    assert list(specs) == list(large.columns)
    assert specs == {name: fit_bins(large[name], name=name) for name in large.columns}
    with pytest.raises(ConfigError, match="feature `x2`: n_bins must be at least 1"):
        fit_specs(large, n_bins={"x2": 0})


def test_an_unknown_feature_raises_schema_error_naming_it_and_the_available_columns(frame):
    with pytest.raises(SchemaError) as raised:
        fit_specs(frame, features=["amount", "income"])

    message = str(raised.value)
    assert "`income`" in message
    assert "available columns: amount, region, tier, active, blank" in message
    assert isinstance(raised.value, driftmon.SchemaError)
    assert isinstance(raised.value, driftmon.DriftmonError)


def test_an_invalid_kind_raises_config_error_listing_the_valid_kinds(frame):
    with pytest.raises(ConfigError, match=r"`tier`.*`ordinal`.*numeric, categorical"):
        fit_specs(frame, kinds={"tier": "ordinal"})


def test_fit_specs_and_profile_frame_handle_integer_column_labels(rng):
    frame = pd.DataFrame(rng.normal(size=(50, 3)))

    specs = fit_specs(frame)
    profile = profile_frame(frame, specs)

    assert list(specs) == ["0", "1", "2"]
    assert list(profile.features) == ["0", "1", "2"]


# --------------------------------------------------------------------------------------------
# profile_frame


def test_profile_counts_every_feature_like_count_values(frame, specs):
    profile = profile_frame(frame, specs)

    assert profile.n_rows == len(frame)
    assert profile.columns == tuple(COLUMNS)
    assert list(profile.features) == COLUMNS
    for name, feature in profile.features.items():
        expected = count_values(specs[name], frame[name])
        np.testing.assert_array_equal(feature.counts, expected.counts)
        assert feature.spec == specs[name]
        assert feature.n_rows == len(frame)
        assert feature.n_missing == int(frame[name].isna().sum())
    assert profile.column_types == {
        "amount": "numeric",
        "region": "string",
        "tier": "numeric",
        "active": "boolean",
        "blank": "numeric",
    }


def test_numeric_counts_match_pandas_cut_on_the_spec_edges(frame, specs):
    feature = profile_frame(frame, specs).features["amount"]

    edges = np.asarray(specs["amount"].edges)
    open_edges = np.concatenate(([-np.inf], edges[1:-1], [np.inf]))
    binned = pd.cut(frame["amount"], open_edges, right=False)
    expected = binned.value_counts(sort=False).to_numpy()
    assert feature.counts.tolist() == [*expected.tolist(), int(frame["amount"].isna().sum())]


def test_n_unseen_counts_out_of_range_numbers_and_unknown_categories(rng, frame, specs):
    batch = make_frame(rng, 1_000, shift=1.0)
    batch.loc[:9, "amount"] = -np.inf
    batch.loc[10:14, "region"] = "atlantis"

    profile = profile_frame(batch, specs)

    amount = batch["amount"]
    reference = frame["amount"]
    outside = (amount < reference.min()) | (amount > reference.max())
    assert profile.features["amount"].n_unseen == int(outside.sum())
    assert profile.features["amount"].tally.n_below == int((amount < reference.min()).sum())
    known = batch["region"].isin(specs["region"].categories) | batch["region"].isna()
    assert profile.features["region"].n_unseen == int((~known).sum()) == 5
    assert dict(profile.features["region"].tally.unseen) == {"atlantis": 5}
    assert profile.features["tier"].n_unseen == 0


def test_features_whose_column_is_absent_are_left_out_of_the_profile(frame, specs):
    profile = profile_frame(frame.drop(columns=["region", "blank"]), specs)

    assert list(profile.features) == ["amount", "tier", "active"]
    assert profile.columns == ("amount", "tier", "active")
    assert set(profile.column_types) == {"amount", "tier", "active"}
    assert profile.n_rows == len(frame)


def test_unmonitored_columns_are_listed_but_not_profiled(frame, specs):
    wider = frame.assign(comment="free text")

    profile = profile_frame(wider, specs)

    assert profile.columns == (*COLUMNS, "comment")
    assert "comment" not in profile.features


def test_profiles_of_chunks_add_up_to_the_profile_of_the_whole_frame(frame, specs):
    whole = profile_frame(frame, specs)
    bounds = [0, 1, 700, 701, 2_000, len(frame)]
    chunks = [profile_frame(frame.iloc[a:b], specs) for a, b in itertools.pairwise(bounds)]

    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk

    assert merged.n_rows == whole.n_rows
    assert merged.columns == whole.columns
    assert merged.column_types == whole.column_types
    for name in COLUMNS:
        np.testing.assert_array_equal(merged.features[name].counts, whole.features[name].counts)
        assert merged.features[name].tally.unseen == whole.features[name].tally.unseen
    for name in ("amount", "tier"):
        merged_summary = merged.features[name].summary()
        whole_summary = whole.features[name].summary()
        assert merged_summary["mean"] == pytest.approx(whole_summary["mean"], rel=1e-12)
        assert merged_summary["std"] == pytest.approx(whole_summary["std"], rel=1e-10)
        assert merged_summary["min"] == whole_summary["min"]
        assert merged_summary["max"] == whole_summary["max"]
        assert merged_summary["quantiles"] == pytest.approx(whole_summary["quantiles"])


def test_profile_chunks_equals_profile_frame_of_the_concatenated_chunks(frame, specs):
    chunks = [frame.iloc[:1_000], frame.iloc[1_000:2_500], frame.iloc[2_500:]]

    streamed = profile_chunks(chunks, specs)
    whole = profile_frame(frame, specs)

    assert streamed.n_rows == whole.n_rows
    for name in COLUMNS:
        np.testing.assert_array_equal(streamed.features[name].counts, whole.features[name].counts)
    assert profile_chunks([], specs).n_rows == 0


def test_merging_profiles_counted_with_different_specs_raises_input_data_error(frame, specs):
    other_specs = fit_specs(frame, n_bins={"amount": 5})

    with pytest.raises(InputDataError, match=r"`amount`.*different bins"):
        profile_frame(frame, specs) + profile_frame(frame, other_specs)


def test_adding_something_that_is_not_a_profile_is_a_type_error(frame, specs):
    profile = profile_frame(frame, specs)
    for other in (1, "x", None):
        with pytest.raises(TypeError, match="unsupported operand type"):
            profile + other
        with pytest.raises(TypeError, match="unsupported operand type"):
            next(iter(profile.features.values())) + other


def test_the_empty_profile_is_the_identity_of_addition(frame, specs):
    profile = profile_frame(frame, specs)
    empty = Profile.empty(specs)

    assert empty.n_rows == 0
    assert all(f.counts.sum() == 0 for f in empty.features.values())
    for merged in (empty + profile, profile + empty):
        assert merged.n_rows == profile.n_rows
        assert merged.columns == profile.columns
        assert merged.column_types == profile.column_types
        for name, feature in profile.features.items():
            left, right = merged.features[name].tally, feature.tally
            np.testing.assert_array_equal(left.counts, right.counts)
            assert (left.n_below, left.n_above, left.n_finite) == (
                right.n_below,
                right.n_above,
                right.n_finite,
            )
            assert (left.minimum, left.maximum, left.m2) == (right.minimum, right.maximum, right.m2)
            assert left.mean == pytest.approx(right.mean, rel=1e-15)
            assert left.unseen == right.unseen
    assert (profile + empty).to_dict() == profile.to_dict()


def test_adding_a_profile_to_the_empty_profile_reproduces_it_exactly():
    specs = {"x": BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0, 5.0))}
    profile = profile_frame(pd.DataFrame({"x": [-0.8, 1.7, 1.5]}), specs)

    merged = Profile.empty(specs) + profile

    assert merged.features["x"].tally.mean == profile.features["x"].tally.mean
    assert merged.to_dict() == profile.to_dict()


# --------------------------------------------------------------------------------------------
# Summaries


def test_numeric_summary_moments_equal_pandas_on_the_finite_values(rng, frame, specs):
    batch = make_frame(rng, 2_000, shift=0.5)
    batch.loc[:4, "amount"] = [np.inf, -np.inf, np.inf, 1e6, -3.0]

    summary = profile_frame(batch, specs).features["amount"].summary()

    finite = batch["amount"][np.isfinite(batch["amount"])]
    # one streaming pass with shifted sums, not pairwise summation: ~1e-12 relative, not 1 ulp
    assert summary["mean"] == pytest.approx(finite.mean(), rel=1e-10)
    assert summary["std"] == pytest.approx(finite.std(ddof=1), rel=1e-10)
    assert summary["min"] == finite.min() == -3.0
    assert summary["max"] == finite.max() == 1e6


def _clipped_edges(feature: FeatureProfile) -> np.ndarray:
    edges = np.asarray(feature.spec.edges, dtype=np.float64).copy()
    edges[0] = min(edges[0], feature.tally.minimum)
    edges[-1] = max(edges[-1], feature.tally.maximum)
    return edges


@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_numeric_summary_quantiles_are_within_one_bin_of_numpy(rng, specs, shift):
    batch = make_frame(rng, 5_000, shift=shift)

    feature = profile_frame(batch, specs).features["amount"]
    estimated = feature.summary()["quantiles"]

    finite = batch["amount"].dropna().to_numpy()
    edges = _clipped_edges(feature)
    assert list(estimated) == list(SUMMARY_QUANTILES)
    for q in SUMMARY_QUANTILES:
        true = np.quantile(finite, q)
        index = np.searchsorted(edges[1:-1], true, side="right")
        width = edges[index + 1] - edges[index]
        assert abs(estimated[q] - true) <= width, (q, estimated[q], true, width)


def test_discrete_summary_quantiles_are_the_inverted_cdf_quantiles(frame, specs):
    summary = profile_frame(frame, specs).features["tier"].summary()

    expected = np.quantile(frame["tier"], SUMMARY_QUANTILES, method="inverted_cdf")
    assert list(summary["quantiles"].values()) == expected.tolist()
    assert summary["mean"] == pytest.approx(frame["tier"].mean(), rel=1e-12)
    assert summary["std"] == pytest.approx(frame["tier"].std(ddof=1), rel=1e-10)


def test_discrete_summary_quantiles_ignore_a_single_value_below_the_reference_codes():
    spec = fit_bins(np.array([1, 2, 3, 1, 2, 3, 1]), name="tier")
    batch = np.array([0, 1, 1, 1, 1, 1, 1, 1, 2, 3])

    summary = FeatureProfile(spec, count_values(spec, batch)).summary()

    # the 0 shares the first bin "= 1" with seven 1s: the bins cannot tell it apart, but the
    # median of this batch is 1, not 0
    assert summary["quantiles"][0.5] == np.quantile(batch, 0.5) == 1.0


def test_numeric_summary_std_equals_pandas_for_a_batch_far_outside_the_reference_range(rng):
    specs = fit_specs(pd.DataFrame({"x": rng.normal(0.0, 1.0, 1_000)}))
    batch = pd.DataFrame({"x": 1e8 + rng.normal(0.0, 1.0, 1_000)})

    summary = profile_frame(batch, specs).features["x"].summary()

    assert summary["std"] == pytest.approx(batch["x"].std(ddof=1), rel=1e-6)


def test_categorical_summary_lists_the_top_categories_by_count(rng, frame, specs):
    batch = make_frame(rng, 1_000)
    batch.loc[:599, "region"] = "west"
    batch.loc[600:602, "region"] = "atlantis"

    summary = profile_frame(batch, specs).features["region"].summary()

    counts = batch["region"].value_counts()
    kept = counts[counts.index.isin(specs["region"].categories)]
    assert summary["top_categories"] == [(str(k), int(v)) for k, v in kept.items()]
    assert summary["top_categories"][0][0] == "west"
    assert summary["unseen_categories"] == {"atlantis": 3}


def test_summary_of_an_all_missing_numeric_feature_has_no_values(frame, specs):
    summary = profile_frame(frame, specs).features["blank"].summary()

    assert summary["mean"] is None
    assert summary["std"] is None
    assert summary["min"] is None
    assert summary["max"] is None
    assert all(v is None for v in summary["quantiles"].values())


# --------------------------------------------------------------------------------------------
# Serialization


def test_profile_dict_is_json_serializable_without_nan_or_infinity(rng, frame, specs):
    batch = make_frame(rng, 500)
    batch.loc[:2, "region"] = "atlantis"
    batch.loc[3:5, "amount"] = [np.inf, -np.inf, 1e9]

    for profile in (profile_frame(frame, specs), profile_frame(batch, specs)):
        text = json.dumps(profile.to_dict(), allow_nan=False)
        assert json.loads(text) == profile.to_dict()


def test_profile_round_trips_through_its_dict_exactly(rng, frame, specs):
    batch = make_frame(rng, 500)
    batch.loc[:2, "region"] = "atlantis"
    profile = profile_frame(batch, specs)

    data = profile.to_dict()
    restored = Profile.from_dict(json.loads(json.dumps(data, allow_nan=False)))

    assert restored.to_dict() == data
    assert restored.specs == profile.specs
    assert data["features"]["blank"]["minimum"] is None
    assert data["features"]["blank"]["maximum"] is None
    assert data["features"]["blank"]["counts"] == [0, 500]
    assert restored.features["blank"].tally.minimum == math.inf
    assert restored.features["blank"].tally.maximum == -math.inf
    assert data["features"]["region"]["unseen"] == {"atlantis": 3}
    assert restored.features["region"].summary() == profile.features["region"].summary()
    assert restored.features["amount"].summary() == profile.features["amount"].summary()


def test_a_feature_profile_rejects_counts_that_do_not_fit_its_spec():
    spec = BinSpec("x", NUMERIC, edges=(0.0, 1.0, 2.0))
    wrong = count_values(BinSpec("x", NUMERIC, edges=(0.0, 1.0)), [0.5])

    with pytest.raises(InputDataError, match="`x`: 2 counts do not fit 3 slots"):
        FeatureProfile(spec, wrong)


# --------------------------------------------------------------------------------------------
# Large frames: the threaded path


def test_large_frames_are_counted_in_threads_with_the_same_result_as_sequentially(rng, monkeypatch):
    n = 300_000
    codes = np.array(["a", "b", "c", "d", "e", "f"], dtype=object)
    large = pd.DataFrame(
        {
            **{f"x{i}": rng.normal(i, 1.0 + i, n) for i in range(5)},
            "ints": rng.integers(0, 1_000, n),
            "city": codes[rng.integers(0, 6, n)],
            "flag": rng.random(n) < 0.3,
        }
    )
    large.loc[rng.random(n) < 0.01, "x0"] = np.nan
    assert large.size > profile_module._PARALLEL_MIN_CELLS
    specs = fit_specs(large.iloc[:20_000])
    pools: list[int] = []

    class RecordingPool(profile_module.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(1)
            super().__init__(*args, **kwargs)

    # the pool is made once per process: record the one this test makes, then drop it
    monkeypatch.setattr(profile_module, "ThreadPoolExecutor", RecordingPool)
    profile_module._counting_pool.cache_clear()
    try:
        threaded = profile_frame(large, specs)
        profile_frame(large, specs)
    finally:
        profile_module._counting_pool.cache_clear()
    assert pools == [1]  # two frames, one pool

    monkeypatch.setattr(profile_module, "_PARALLEL_MIN_CELLS", 10**12)
    sequential = profile_frame(large, specs)
    assert pools == [1]

    assert threaded.to_dict() == sequential.to_dict()
    for name in large.columns:
        expected = count_values(specs[name], large[name]).counts
        np.testing.assert_array_equal(threaded.features[name].counts, expected)


# --------------------------------------------------------------------------------------------
# What a reference saw, odd data


def test_profiling_chunks_collects_every_category_the_reference_saw(rng):
    from driftmon.vocabulary import VocabularyBuilder

    frame = pd.DataFrame({"code": [f"c{i % 500}" for i in range(5_000)]})
    specs = fit_specs(frame.iloc[:100], max_categories=10)  # fitted on a sample: 100 codes
    builders = {"code": VocabularyBuilder()}
    chunks = (frame.iloc[i : i + 1_000] for i in range(0, 5_000, 1_000))

    profile = profile_chunks(chunks, specs, collect=builders)
    seen = builders["code"].build()

    assert seen.n_distinct == 500
    assert seen.contains(["c0", "c499", "c500"]).tolist() == [True, True, False]
    with_seen = profile.with_vocabularies({"code": seen})
    assert with_seen.features["code"].spec.seen is seen
    assert with_seen.features["code"].spec == specs["code"]  # what it saw is not its identity


def test_duplicate_column_names_are_a_clear_error(specs):
    frame = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(SchemaError, match="column name\\(s\\) `x` appear more than once"):
        profile_frame(frame, specs)


def test_values_near_the_float_limits_give_finite_summaries_and_no_warning():
    import warnings

    values = pd.DataFrame({"big": [1e308, -1e308, 5e307, -1.7e308, 1.7e308, 0.0, 5e-324]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        specs = fit_specs(values)
        feature = profile_frame(values, specs).features["big"]
        summary = feature.summary()
    assert np.all(np.isfinite(specs["big"].edges))
    assert summary["mean"] == pytest.approx(math.fsum(values["big"]) / len(values), rel=1e-12)
    assert summary["std"] is None  # its square overflows: unknown, never NaN or -inf
    assert summary["min"] == -1.7e308 and summary["max"] == 1.7e308
    assert all(q is None or np.isfinite(q) for q in summary["quantiles"].values())
    data = feature.to_dict()
    assert data["m2"] is None
    assert FeatureProfile.from_dict(data).summary() == summary


def _count_wide_frame(seed: int) -> list[int]:
    frame = pd.DataFrame(np.random.default_rng(seed).normal(size=(200_000, 12)))
    frame.columns = [f"x{i}" for i in range(12)]
    profile = profile_frame(frame, fit_specs(frame))  # 2.4M cells: counted on the thread pool
    return profile.features["x0"].counts.tolist()


def test_a_forked_child_counts_on_its_own_threads() -> None:
    """The counting pool is per process: a child forked after the parent counted would
    otherwise wait forever on the parent's threads, which it does not have."""
    import multiprocessing

    expected = _count_wide_frame(3)  # the parent's pool now exists
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=lambda: results.put(_count_wide_frame(3)))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child never finished counting")
    assert results.get(timeout=10) == expected


def test_a_categorical_spec_says_whether_the_reference_saw_text() -> None:
    """Codes read as text (``007``) stay text in a CSV batch: the spec says so, is stored with
    it, and a reference stored before specs said so gets it from what its counts saw."""
    frame = pd.DataFrame({"zip": ["007", "012", "007"], "code": [1, 2, 2]})
    specs = fit_specs(frame, kinds={"code": CATEGORICAL})
    profile = profile_frame(frame, specs)

    assert (specs["zip"].text, specs["code"].text) == (True, False)
    stored = profile.to_dict()
    assert Profile.from_dict(stored).specs["zip"].text is True
    for feature in stored["features"].values():
        feature["spec"].pop("text", None)  # as stored before
    old = Profile.from_dict(stored)
    assert (old.specs["zip"].text, old.specs["code"].text) == (True, False)
