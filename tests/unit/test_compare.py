"""Comparing a batch's profile with the reference's, checked against direct 1-D calls.

Every per-feature number of `compare` must equal what the divergence functions give on that
feature's own counts: the vectorized, padded ``(features, slots)`` path is an optimisation.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import driftmon as dm
from driftmon.compare import MEASURE_NAMES, FeatureResult, SchemaDiff, TypeChange, compare
from driftmon.profile import Profile, fit_specs, profile_frame

MEASURES = {
    "kl": dm.kl_divergence,
    "kl_reverse": dm.reverse_kl_divergence,
    "js": dm.js_divergence,
    "psi": dm.population_stability_index,
}


def make_frame(rng: np.random.Generator, n: int, *, score_shift: float = 0.0) -> pd.DataFrame:
    """Features of different slot counts: 21 (score, amount), 5 (tier), 7 (region), 4 (flag)."""
    regions = np.array(["north", "south", "east", "west", "central"], dtype=object)
    frame = pd.DataFrame(
        {
            "score": rng.normal(score_shift, 1.0, n),
            "amount": rng.lognormal(3.0, 1.0, n),
            "tier": rng.integers(1, 5, n),
            "region": regions[rng.choice(5, n, p=[0.4, 0.25, 0.2, 0.1, 0.05])],
            "flag": rng.random(n) < 0.7,
        }
    )
    frame.loc[rng.random(n) < 0.03, "amount"] = np.nan
    frame.loc[rng.random(n) < 0.02, "region"] = None
    return frame


@pytest.fixture
def reference_frame(rng) -> pd.DataFrame:
    return make_frame(rng, 20_000)


@pytest.fixture
def specs(reference_frame) -> dict[str, dm.BinSpec]:
    return fit_specs(reference_frame)


@pytest.fixture
def reference(reference_frame, specs) -> Profile:
    return profile_frame(reference_frame, specs)


@pytest.fixture
def batch_frame(rng) -> pd.DataFrame:
    frame = make_frame(rng, 800, score_shift=0.4)
    frame.loc[:5, "region"] = "atlantis"
    return frame


@pytest.fixture
def current(batch_frame, specs) -> Profile:
    return profile_frame(batch_frame, specs)


def _counts(profile: Profile, name: str) -> np.ndarray:
    return profile.features[name].counts


# --------------------------------------------------------------------------------------------
# Per-feature measures equal direct calls


def test_features_have_different_numbers_of_slots(specs):
    assert {name: spec.n_slots for name, spec in specs.items()} == {
        "score": 21,
        "amount": 21,
        "tier": 5,
        "region": 7,
        "flag": 4,
    }


@pytest.mark.parametrize("alpha", [dm.DEFAULT_ALPHA, 0.1, 2.0])
def test_divergences_equal_direct_calls_on_each_features_counts(reference, current, alpha):
    comparison = compare(reference, current, alpha=alpha)

    assert comparison.alpha == alpha
    assert [f.name for f in comparison.features] == list(reference.features)
    for result in comparison.features:
        p = _counts(reference, result.name)
        q = _counts(current, result.name)
        for field, measure in MEASURES.items():
            expected = measure(p, q, alpha=alpha)
            assert getattr(result, field) == pytest.approx(expected, rel=1e-12, abs=1e-15), field


def test_kl_equals_the_closed_form_on_smoothed_counts(reference, current):
    result = compare(reference, current).feature("tier")

    p_counts, q_counts = _counts(reference, "tier"), _counts(current, "tier")
    k, alpha = p_counts.size, dm.DEFAULT_ALPHA
    p = (p_counts + alpha) / (p_counts.sum() + k * alpha)
    q = (q_counts + alpha) / (q_counts.sum() + k * alpha)
    assert result.kl == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-12)
    assert result.kl_reverse == pytest.approx(np.sum(q * np.log(q / p)), rel=1e-12)
    assert result.psi == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-12)


def test_raw_p_values_equal_the_g_test_on_each_features_counts(reference, current):
    comparison = compare(reference, current)

    for result in comparison.features:
        expected = dm.g_test(_counts(reference, result.name), _counts(current, result.name))
        assert result.p_value_raw == pytest.approx(expected.p_value, rel=1e-12, abs=1e-300)
        assert result.g_statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-12)
        assert result.dof == expected.dof


def test_p_values_are_benjamini_hochberg_corrected_across_features(reference, current):
    comparison = compare(reference, current)

    raw = [f.p_value_raw for f in comparison.features]
    corrected = dm.adjust_p_values(raw, method="bh")
    assert [f.p_value for f in comparison.features] == pytest.approx(corrected.tolist())
    assert comparison.correction == "bh"


def test_holm_correction_is_applied_when_asked(reference, current):
    comparison = compare(reference, current, correction="holm")

    raw = [f.p_value_raw for f in comparison.features]
    expected = dm.adjust_p_values(raw, method="holm")
    assert [f.p_value for f in comparison.features] == pytest.approx(expected.tolist())


def test_expected_kl_without_drift_uses_the_bins_occupied_in_either_histogram(reference, current):
    for result in compare(reference, current).features:
        p, q = _counts(reference, result.name), _counts(current, result.name)
        k = int(np.count_nonzero((p + q) > 0))
        closed_form = (k - 1) / 2 * (1 / p.sum() + 1 / q.sum())
        assert result.expected_kl_no_drift == pytest.approx(closed_form, rel=1e-12)
        assert result.expected_kl_no_drift == pytest.approx(
            dm.expected_kl_no_drift(p.sum(), q.sum(), k), rel=1e-12
        )


def test_row_counts_and_missing_shares_come_from_the_frames(
    reference_frame, batch_frame, reference, current
):
    comparison = compare(reference, current)

    assert comparison.n_rows == len(batch_frame)
    for result in comparison.features:
        assert result.measured
        assert result.n_reference == len(reference_frame)
        assert result.n_current == len(batch_frame)
        assert result.missing_share_reference == pytest.approx(
            reference_frame[result.name].isna().mean(), rel=1e-12
        )
        assert result.missing_share_current == pytest.approx(
            batch_frame[result.name].isna().mean(), rel=1e-12
        )
    assert comparison.feature("amount").missing_share_current > 0
    assert comparison.feature("flag").missing_share_current == 0.0


def test_unseen_share_is_the_share_outside_the_reference_range_or_in_other(
    reference_frame, batch_frame, specs, reference, current
):
    batch_frame = batch_frame.copy()
    batch_frame.loc[10:29, "score"] = 100.0
    batch_frame.loc[30:34, "score"] = -np.inf
    current = profile_frame(batch_frame, specs)

    comparison = compare(reference, current)

    score = batch_frame["score"]
    low, high = reference_frame["score"].min(), reference_frame["score"].max()
    outside = ((score < low) | (score > high)).mean()
    assert comparison.feature("score").unseen_share_current == pytest.approx(outside, rel=1e-12)
    assert comparison.feature("score").unseen_share_reference == 0.0
    region = batch_frame["region"]
    other = (region.notna() & ~region.isin(specs["region"].categories)).mean()
    assert comparison.feature("region").unseen_share_current == pytest.approx(other, rel=1e-12)
    assert comparison.feature("region").unseen_share_current == 6 / len(batch_frame)


def test_ragged_features_of_a_small_batch_equal_their_one_dimensional_comparison(
    rng, specs, reference
):
    for n_rows in (15, 30, 60):
        current = profile_frame(make_frame(rng, n_rows, score_shift=0.5), specs)

        comparison = compare(reference, current)

        for result in comparison.features:
            p, q = _counts(reference, result.name), _counts(current, result.name)
            for field, measure in MEASURES.items():
                assert getattr(result, field) == pytest.approx(measure(p, q), rel=1e-12), field
            expected = dm.g_test(p, q)
            assert result.dof == expected.dof, (n_rows, result.name)
            assert result.g_statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-12)
            assert result.p_value_raw == pytest.approx(expected.p_value, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Top bins


def test_top_bins_are_the_largest_absolute_kl_terms_with_their_labels(rng):
    reference_frame = pd.DataFrame({"x": rng.normal(0.0, 1.0, 20_000)})
    specs = fit_specs(reference_frame)
    reference = profile_frame(reference_frame, specs)
    current = profile_frame(pd.DataFrame({"x": rng.normal(1.0, 1.0, 2_000)}), specs)

    result = compare(reference, current, n_top_bins=4).feature("x")

    p_counts, q_counts = _counts(reference, "x"), _counts(current, "x")
    alpha, k = dm.DEFAULT_ALPHA, p_counts.size
    p = (p_counts + alpha) / (p_counts.sum() + k * alpha)
    q = (q_counts + alpha) / (q_counts.sum() + k * alpha)
    terms = p * np.log(p / q)
    order = np.argsort(-np.abs(terms), kind="stable")[:4]
    labels = specs["x"].labels()
    assert [b.label for b in result.top_bins] == [labels[i] for i in order]
    for contribution, i in zip(result.top_bins, order, strict=True):
        assert contribution.contribution == pytest.approx(terms[i], rel=1e-12)
        assert contribution.reference_share == p_counts[i] / p_counts.sum()
        assert contribution.current_share == q_counts[i] / q_counts.sum()
    # the shift moved mass to the upper bins (P(X + 1 > 0) = 0.84); the lowest bins, which the
    # batch nearly emptied, carry the largest terms
    assert q_counts[10:20].sum() / q_counts.sum() > 0.8
    assert [b.label for b in result.top_bins[:2]] == [labels[0], labels[1]]
    assert all(b.current_share < b.reference_share / 4 for b in result.top_bins[:2])


def test_default_number_of_top_bins_is_three_occupied_bins_and_zero_gives_none(reference, current):
    for result in compare(reference, current).features:
        p, q = _counts(reference, result.name), _counts(current, result.name)
        occupied = int(np.count_nonzero((p + q) > 0))
        assert len(result.top_bins) == min(3, occupied), result.name
        assert all(b.reference_share + b.current_share > 0 for b in result.top_bins)
    assert all(f.top_bins == () for f in compare(reference, current, n_top_bins=0).features)


def test_top_bins_skip_slots_empty_in_both_histograms_before_taking_the_top_three():
    reference_frame = pd.DataFrame({"tier": np.repeat([1, 2, 3, 4], 5_000)})
    batch = pd.DataFrame({"tier": np.repeat([1, 2, 3, 4], [2_000, 2_000, 1_500, 2_500])})
    specs = fit_specs(reference_frame)

    result = compare(profile_frame(reference_frame, specs), profile_frame(batch, specs))

    assert [b.label for b in result.feature("tier").top_bins] == ["= 3", "= 4", "= 1"]


# --------------------------------------------------------------------------------------------
# Schema differences


def test_schema_diff_reports_missing_new_and_retyped_features(batch_frame, specs, reference):
    batch = batch_frame.drop(columns=["tier"]).assign(comment="new")
    batch["score"] = batch["score"].map(lambda v: f"{v:.3f}").astype(object)
    batch.loc[:9, "score"] = "n/a"
    current = profile_frame(batch, specs)

    comparison = compare(reference, current)

    assert comparison.schema == SchemaDiff(
        missing=("tier",),
        new=("comment",),
        retyped=(TypeChange("score", "numeric", "string"),),
    )
    assert comparison.schema.changed
    assert [f.name for f in comparison.features] == ["score", "amount", "region", "flag"]
    with pytest.raises(KeyError):
        comparison.feature("tier")
    score = comparison.feature("score")
    assert score.measured
    assert score.reference_type == "numeric"
    assert score.current_type == "string"
    assert score.missing_share_current == pytest.approx(10 / len(batch), rel=1e-12)
    expected_kl = dm.kl_divergence(_counts(reference, "score"), _counts(current, "score"))
    assert score.kl == pytest.approx(expected_kl, rel=1e-12)


def test_a_feature_arriving_with_only_missing_values_is_not_retyped(batch_frame, specs, reference):
    batch = batch_frame.assign(region=pd.Series([None] * len(batch_frame), dtype=object))

    comparison = compare(reference, profile_frame(batch, specs))

    region = comparison.feature("region")
    assert region.current_type is None
    assert region.missing_share_current == 1.0
    assert comparison.schema.retyped == ()


def test_an_unchanged_schema_reports_no_difference(reference, current):
    schema = compare(reference, current).schema

    assert schema == SchemaDiff()
    assert not schema.changed
    assert all(f.reference_type == f.current_type for f in compare(reference, current).features)


# --------------------------------------------------------------------------------------------
# Empty batches


def test_an_empty_batch_is_reported_as_empty_with_no_measures(batch_frame, specs, reference):
    empty = profile_frame(batch_frame.iloc[:0], specs)

    comparison = compare(reference, empty)

    assert comparison.n_rows == 0
    assert len(comparison.features) == len(specs)
    for result in comparison.features:
        assert not result.measured
        for field in (
            "kl",
            "kl_reverse",
            "js",
            "psi",
            "g_statistic",
            "dof",
            "p_value_raw",
            "p_value",
            "expected_kl_no_drift",
            "missing_share_current",
            "unseen_share_current",
        ):
            assert getattr(result, field) is None, field
        assert result.n_current == 0
        assert result.top_bins == ()
        assert result.n_reference == reference.n_rows


def test_an_empty_profile_compares_as_empty_too(specs, reference):
    comparison = compare(reference, Profile.empty(specs))

    assert not any(f.measured for f in comparison.features)
    assert all(f.kl is None for f in comparison.features)


# --------------------------------------------------------------------------------------------
# Behaviour on healthy and drifted batches


def test_a_sample_of_the_reference_shows_no_drift_while_a_shifted_feature_does(
    rng, reference_frame, specs, reference
):
    rows = rng.choice(len(reference_frame), 2_000, replace=False)
    batch = reference_frame.iloc[rows].reset_index(drop=True)
    healthy = compare(reference, profile_frame(batch, specs))
    shifted_batch = batch.assign(score=batch["score"] + reference_frame["score"].std())
    drifted = compare(reference, profile_frame(shifted_batch, specs))

    p_values = [f.p_value for f in healthy.features]
    assert min(p_values) > 0.05
    assert np.median(p_values) > 0.5
    for result in healthy.features:
        assert 0.0 <= result.kl < 2 * result.expected_kl_no_drift, result.name
    score = drifted.feature("score")
    assert score.p_value < 1e-6
    assert score.kl > 20 * score.expected_kl_no_drift
    assert max(drifted.features, key=lambda f: f.kl).name == "score"
    others = [f for f in drifted.features if f.name != "score"]
    assert all(f.p_value > 0.05 for f in others)


# --------------------------------------------------------------------------------------------
# Serialization


def test_feature_results_and_schema_diff_serialize_to_json(batch_frame, specs, reference):
    batch = batch_frame.drop(columns=["tier"]).assign(comment="new")
    batch["score"] = "text"
    comparison = compare(reference, profile_frame(batch, specs))
    empty = compare(reference, profile_frame(batch_frame.iloc[:0], specs))

    for result in (*comparison.features, *empty.features):
        data = result.to_dict()
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        assert set(data) == {
            "name",
            "kind",
            "monitored",
            "n_reference",
            "n_current",
            *MEASURE_NAMES,
            "top_bins",
            "top_unseen",
            "reference_type",
            "current_type",
            "reference_range",
            "seen_known",
            "dates",
        }
        assert FeatureResult.from_dict(data) == result
        assert data["name"] == result.name
        assert len(data["top_bins"]) == len(result.top_bins)
    schema = json.loads(json.dumps(comparison.schema.to_dict(), allow_nan=False))
    assert schema == {
        "missing": ["tier"],
        "new": ["comment"],
        "retyped": [{"name": "score", "reference_type": "numeric", "current_type": "string"}],
    }


# --------------------------------------------------------------------------------------------
# Long tail, never seen, and one category's share


def _codes(rng: np.random.Generator, n: int, n_codes: int = 100) -> pd.Series:
    """Airport-like codes with falling frequencies: more than 50 of them, so a tail."""
    weights = 1.0 / np.arange(1, n_codes + 1)
    codes = np.array([f"C{i:03d}" for i in range(n_codes)], dtype=object)
    return pd.Series(codes[rng.choice(n_codes, n, p=weights / weights.sum())])


def test_the_long_tail_and_values_never_seen_are_told_apart(rng):
    reference_frame = pd.DataFrame({"dest": _codes(rng, 20_000)})
    reference_frame.loc[0, "dest"] = "ONCE"  # seen exactly once, beyond the kept categories
    specs = fit_specs(reference_frame)  # keeps 50 of the 101 codes
    batch = pd.DataFrame({"dest": _codes(rng, 2_000)})
    batch.loc[:29, "dest"] = "NEW"
    batch.loc[30:34, "dest"] = "ONCE"

    result = compare(profile_frame(reference_frame, specs), profile_frame(batch, specs)).feature(
        "dest"
    )

    kept = set(specs["dest"].categories)
    known = set(reference_frame["dest"])
    in_tail = batch["dest"].isin(known - kept)
    assert result.other_share_current == pytest.approx(in_tail.mean(), rel=1e-12)
    assert result.unseen_share_current == pytest.approx(30 / 2_000, rel=1e-12)
    assert result.top_unseen == {"NEW": 30}
    tail = ~reference_frame["dest"].isin(kept)
    assert result.other_share_reference == pytest.approx(tail.mean(), rel=1e-12)
    counts = reference_frame["dest"].value_counts()
    good_turing = (counts == 1).sum() / len(reference_frame)
    assert result.unseen_share_reference == pytest.approx(good_turing, rel=1e-12)
    assert good_turing > 0


@pytest.mark.parametrize("surge", ["C060", "C020"])  # in the long tail, and a kept category
def test_max_share_change_is_the_most_moved_category_with_a_bonferroni_g_test(rng, surge):
    from scipy.stats import chi2, chi2_contingency, false_discovery_control

    reference_frame = pd.DataFrame({"dest": _codes(rng, 20_000), "x": rng.normal(size=20_000)})
    specs = fit_specs(reference_frame)
    assert ("C060" in specs["dest"].categories, "C020" in specs["dest"].categories) == (False, True)
    batch = pd.DataFrame({"dest": _codes(rng, 3_000), "x": rng.normal(size=3_000)})
    batch.loc[:89, "dest"] = surge
    batch.loc[150:159, "dest"] = None
    batch.loc[160:169, "dest"] = "NEVER"

    result = compare(profile_frame(reference_frame, specs), profile_frame(batch, specs)).feature(
        "dest"
    )

    # every category the reference saw, kept or in its tail; shares among known values
    categories = sorted(reference_frame["dest"].unique())
    ref_known = reference_frame["dest"].notna().sum()
    cur_known = batch["dest"].notna().sum() - 10  # never-seen values are not known values
    ref_counts = reference_frame["dest"].value_counts().reindex(categories).to_numpy()
    cur_counts = batch["dest"].value_counts().reindex(categories, fill_value=0).to_numpy()
    change = cur_counts / cur_known - ref_counts / ref_known
    largest = int(np.argmax(np.abs(change)))
    assert categories[largest] == surge
    assert result.max_share_change_category == surge
    assert result.max_share_change == pytest.approx(change[largest], rel=1e-12)
    assert result.max_share_change_reference == pytest.approx(
        ref_counts[largest] / ref_known, rel=1e-12
    )
    table = np.array(
        [
            [ref_counts[largest], ref_known - ref_counts[largest]],
            [cur_counts[largest], cur_known - cur_counts[largest]],
        ]
    )
    g = chi2_contingency(table, lambda_="log-likelihood", correction=False)[0]
    n = table.sum()
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    williams = 1 + (n * (1 / rows).sum() - 1) * (n * (1 / cols).sum() - 1) / (6 * n)
    bonferroni = min(1.0, len(categories) * chi2.sf(g / williams, 1))
    # BH over the categorical features of the batch: `dest` is the only one
    assert result.max_share_change_p_value == pytest.approx(
        false_discovery_control([bonferroni])[0], rel=1e-9
    )
    assert result.max_share_change_p_value < 1e-6


def test_numeric_features_have_no_tail_and_no_category_share():
    frame = pd.DataFrame({"x": np.arange(100.0)})
    specs = fit_specs(frame)
    result = compare(profile_frame(frame, specs), profile_frame(frame, specs)).feature("x")
    for name in (
        "other_share_reference",
        "other_share_current",
        "max_share_change",
        "max_share_change_category",
        "max_share_change_p_value",
    ):
        assert result.measures[name] is None, name
    assert result.unseen_share_reference == 0.0


def test_a_reference_feature_without_two_values_is_not_monitored():
    reference_frame = pd.DataFrame({"empty": [np.nan] * 50, "x": np.arange(50.0)})
    specs = fit_specs(reference_frame)
    comparison = compare(
        profile_frame(reference_frame, specs), profile_frame(reference_frame, specs)
    )
    empty = comparison.feature("empty")
    assert not empty.monitored and not empty.measured
    assert all(value is None for value in empty.measures.values())
    assert comparison.feature("x").measured
    one_row = profile_frame(reference_frame.iloc[:1], specs)
    assert not compare(one_row, profile_frame(reference_frame, specs)).feature("x").monitored
