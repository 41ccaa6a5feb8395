"""Divergences and their significance, checked against scipy and closed forms.

P is the reference and Q the current batch throughout (``KL_NOTES.md``): ``kl_divergence(P, Q)``
is ``D(P || Q) = scipy.stats.entropy(P, Q)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from driftmon import ConfigError, EmptyHistogramError, InputDataError
from driftmon.divergence import (
    adjust_p_values,
    expected_kl_no_drift,
    g_test,
    js_divergence,
    kl_divergence,
    population_stability_index,
    reverse_kl_divergence,
    smoothed_probabilities,
)

MEASURES = [kl_divergence, reverse_kl_divergence, js_divergence, population_stability_index]
MEASURE_IDS = [measure.__name__ for measure in MEASURES]

P_EXAMPLE = [0.4, 0.6]
Q_EXAMPLE = [0.3, 0.7]
KL_EXAMPLE = 0.4 * math.log(0.4 / 0.3) + 0.6 * math.log(0.6 / 0.7)
REVERSE_KL_EXAMPLE = 0.3 * math.log(0.3 / 0.4) + 0.7 * math.log(0.7 / 0.6)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def _probability_rows(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random probability vectors along the last axis, every bin strictly positive."""
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])


def _scipy_measure(measure, reference, current, **options):
    """The same measure computed independently with scipy on smoothed probabilities."""
    p = smoothed_probabilities(reference, **options)
    q = smoothed_probabilities(current, **options)
    if measure is kl_divergence:
        return stats.entropy(p, q, axis=-1)
    if measure is reverse_kl_divergence:
        return stats.entropy(q, p, axis=-1)
    if measure is js_divergence:
        return jensenshannon(p, q, axis=-1) ** 2
    return ((q - p) * np.log(q / p)).sum(axis=-1)


# --------------------------------------------------------------------------------------------
# The worked example and the direction of KL


def test_kl_of_worked_example_matches_closed_form_in_nats():
    assert KL_EXAMPLE == pytest.approx(0.0225824211, abs=1e-10)
    assert kl_divergence(P_EXAMPLE, Q_EXAMPLE) == pytest.approx(KL_EXAMPLE, rel=1e-12)


def test_reverse_kl_of_worked_example_matches_closed_form_in_nats():
    assert REVERSE_KL_EXAMPLE == pytest.approx(0.0216008541, abs=1e-10)
    assert reverse_kl_divergence(P_EXAMPLE, Q_EXAMPLE) == pytest.approx(
        REVERSE_KL_EXAMPLE, rel=1e-12
    )


def test_kl_of_worked_example_in_bits_is_nats_divided_by_ln_2():
    bits = KL_EXAMPLE / math.log(2)
    assert bits == pytest.approx(0.0325795, abs=1e-7)
    assert kl_divergence(P_EXAMPLE, Q_EXAMPLE, base=2) == pytest.approx(bits, rel=1e-12)


def test_kl_argument_order_matters_and_the_reference_is_p():
    forward = kl_divergence(P_EXAMPLE, Q_EXAMPLE)
    backward = kl_divergence(Q_EXAMPLE, P_EXAMPLE)
    assert forward != pytest.approx(backward, rel=1e-6)
    assert forward == pytest.approx(stats.entropy(P_EXAMPLE, Q_EXAMPLE), rel=1e-12)
    assert backward == pytest.approx(REVERSE_KL_EXAMPLE, rel=1e-12)


def test_kl_of_1d_input_is_a_python_float():
    value = kl_divergence(P_EXAMPLE, Q_EXAMPLE)
    assert type(value) is float


# --------------------------------------------------------------------------------------------
# Agreement with scipy


def test_kl_of_probability_rows_matches_scipy_entropy_and_rel_entr(rng):
    reference = _probability_rows(rng, (40, 9))
    current = _probability_rows(rng, (40, 9))
    ours = kl_divergence(reference, current)
    assert ours.shape == (40,)
    np.testing.assert_allclose(ours, stats.entropy(reference, current, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(
        ours, special.rel_entr(reference, current).sum(-1), rtol=1e-12, atol=1e-15
    )


def test_plug_in_kl_of_counts_equals_scipy_entropy_to_the_last_bits(rng):
    reference = rng.integers(0, 30, size=(60, 7))
    current = rng.integers(0, 30, size=(60, 7))
    reference[:, 0] = 1  # no row is empty
    current[:, 0] = 1
    reference[::5, 3] = 4  # reference mass ...
    current[::5, 3] = 0  # ... in an empty current bin: plug-in KL is inf, as in scipy
    ours = kl_divergence(reference, current, alpha=0)
    theirs = stats.entropy(reference, current, axis=-1)
    assert np.isinf(ours[::5]).all()
    # numpy's vectorized log may round a last bit differently from the C library's
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)


def test_plug_in_kl_is_infinite_when_current_bin_is_empty_where_reference_has_mass():
    assert kl_divergence([3, 1], [4, 0], alpha=0) == math.inf
    assert stats.entropy([3, 1], [4, 0]) == math.inf


def test_smoothed_kl_of_counts_equals_scipy_entropy_of_counts_plus_alpha(rng):
    reference = rng.integers(0, 12, size=(50, 6))
    current = rng.integers(0, 12, size=(50, 6))
    reference[:, -1] = 2
    current[:, -1] = 2
    for alpha in (0.5, 1.0, 0.01, 3.7):
        ours = kl_divergence(reference, current, alpha=alpha)
        theirs = stats.entropy(reference + alpha, current + alpha, axis=-1)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_kl_of_nd_input_matches_scipy_entropy_along_the_last_axis(rng):
    reference = rng.integers(1, 50, size=(3, 4, 8))
    current = rng.integers(1, 50, size=(3, 4, 8))
    ours = kl_divergence(reference, current, alpha=0)
    assert ours.shape == (3, 4)
    np.testing.assert_allclose(ours, stats.entropy(reference, current, axis=-1), rtol=1e-14)


def test_kl_in_base_2_matches_scipy_entropy_in_base_2(rng):
    reference = _probability_rows(rng, (3, 4, 5))
    current = _probability_rows(rng, (3, 4, 5))
    np.testing.assert_allclose(
        kl_divergence(reference, current, base=2),
        stats.entropy(reference, current, axis=-1, base=2),
        rtol=1e-12,
    )


def test_kl_broadcasts_one_reference_against_many_current_rows(rng):
    reference = rng.integers(1, 40, size=6)
    current = rng.integers(1, 40, size=(10, 6))
    ours = kl_divergence(reference, current, alpha=0)
    theirs = [stats.entropy(reference, row) for row in current]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Reductions


@pytest.fixture
def feature_matrices(rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference and current counts ``(features, bins)`` and the scipy per-feature KL."""
    reference = rng.integers(0, 25, size=(7, 5))
    current = rng.integers(0, 25, size=(7, 5))
    reference[:, 0] += 1
    current[:, 0] += 1
    per_feature = stats.entropy(reference + 0.5, current + 0.5, axis=-1)
    return reference, current, per_feature


def test_reduction_none_returns_one_kl_per_feature(feature_matrices):
    reference, current, per_feature = feature_matrices
    ours = kl_divergence(reference, current, alpha=0.5, reduction="none")
    assert isinstance(ours, np.ndarray)
    assert ours.shape == (7,)
    np.testing.assert_allclose(ours, per_feature, rtol=1e-12)


def test_reduction_sum_is_the_sum_over_features(feature_matrices):
    reference, current, per_feature = feature_matrices
    ours = kl_divergence(reference, current, alpha=0.5, reduction="sum")
    assert type(ours) is float
    assert ours == pytest.approx(per_feature.sum(), rel=1e-12)


def test_reduction_batchmean_is_the_sum_divided_by_the_number_of_features(feature_matrices):
    reference, current, per_feature = feature_matrices
    ours = kl_divergence(reference, current, alpha=0.5, reduction="batchmean")
    assert type(ours) is float
    assert ours == pytest.approx(per_feature.sum() / 7, rel=1e-12)


def test_reduction_mean_divides_the_sum_by_features_times_bins(feature_matrices):
    reference, current, per_feature = feature_matrices
    ours = kl_divergence(reference, current, alpha=0.5, reduction="mean")
    assert type(ours) is float
    assert ours == pytest.approx(per_feature.sum() / (7 * 5), rel=1e-12)


def test_reduction_batchmean_over_nd_input_counts_every_histogram(rng):
    reference = _probability_rows(rng, (3, 4, 6))
    current = _probability_rows(rng, (3, 4, 6))
    total = stats.entropy(reference, current, axis=-1).sum()
    assert kl_divergence(reference, current, reduction="batchmean") == pytest.approx(
        total / 12, rel=1e-12
    )
    assert kl_divergence(reference, current, reduction="mean") == pytest.approx(
        total / (12 * 6), rel=1e-12
    )


def test_invalid_reduction_raises_config_error_listing_the_valid_options():
    with pytest.raises(ConfigError, match=r"`average`.*none, sum, batchmean, mean"):
        kl_divergence(P_EXAMPLE, Q_EXAMPLE, reduction="average")


# --------------------------------------------------------------------------------------------
# The other measures


def test_reverse_kl_equals_kl_with_arguments_swapped(rng):
    reference = rng.integers(0, 20, size=(30, 6))
    current = rng.integers(0, 20, size=(30, 6))
    reference[:, 2] += 1
    current[:, 2] += 1
    np.testing.assert_array_equal(
        reverse_kl_divergence(reference, current), kl_divergence(current, reference)
    )


def test_js_divergence_is_the_square_of_scipy_jensenshannon_distance(rng):
    reference = _probability_rows(rng, (25, 7))
    current = _probability_rows(rng, (25, 7))
    np.testing.assert_allclose(
        js_divergence(reference, current),
        jensenshannon(reference, current, axis=-1) ** 2,
        rtol=1e-10,
    )


def test_js_divergence_in_base_2_is_the_square_of_jensenshannon_in_base_2(rng):
    reference = _probability_rows(rng, (25, 7))
    current = _probability_rows(rng, (25, 7))
    np.testing.assert_allclose(
        js_divergence(reference, current, base=2),
        jensenshannon(reference, current, base=2, axis=-1) ** 2,
        rtol=1e-10,
    )


def test_js_divergence_of_disjoint_histograms_is_ln_2():
    assert js_divergence([4, 0], [0, 9], alpha=0) == pytest.approx(math.log(2), rel=1e-12)
    assert js_divergence([4, 0], [0, 9], alpha=0, base=2) == pytest.approx(1.0, rel=1e-12)


def test_psi_equals_kl_plus_reverse_kl(rng):
    reference = rng.integers(0, 20, size=(30, 6))
    current = rng.integers(0, 20, size=(30, 6))
    reference[:, 2] += 1
    current[:, 2] += 1
    np.testing.assert_allclose(
        population_stability_index(reference, current),
        kl_divergence(reference, current) + reverse_kl_divergence(reference, current),
        rtol=1e-12,
    )


def test_psi_equals_its_closed_form_sum_of_q_minus_p_times_log_ratio(rng):
    p = _probability_rows(rng, (25, 8))
    q = _probability_rows(rng, (25, 8))
    np.testing.assert_allclose(
        population_stability_index(p, q), ((q - p) * np.log(q / p)).sum(-1), rtol=1e-10
    )
    closed = (0.3 - 0.4) * math.log(0.3 / 0.4) + (0.7 - 0.6) * math.log(0.7 / 0.6)
    assert population_stability_index(P_EXAMPLE, Q_EXAMPLE) == pytest.approx(closed, rel=1e-12)
    assert closed == pytest.approx(KL_EXAMPLE + REVERSE_KL_EXAMPLE, rel=1e-12)


# --------------------------------------------------------------------------------------------
# One contract, every measure


@pytest.mark.parametrize("measure", MEASURES, ids=MEASURE_IDS)
class TestDivergenceContract:
    def test_is_zero_for_identical_count_histograms(self, measure, rng):
        counts = rng.integers(0, 30, size=(12, 6))
        counts[:, 0] += 1
        np.testing.assert_array_equal(measure(counts, counts), np.zeros(12))

    def test_is_zero_for_identical_probabilities(self, measure, rng):
        probs = _probability_rows(rng, (12, 6))
        np.testing.assert_array_equal(measure(probs, probs), np.zeros(12))

    def test_is_non_negative_on_random_histograms(self, measure, rng):
        reference = rng.integers(0, 10, size=(200, 5))
        current = rng.integers(0, 10, size=(200, 5))
        reference[:, 0] += 1
        current[:, 0] += 1
        assert (measure(reference, current) >= 0).all()

    def test_matches_an_independent_scipy_computation(self, measure, rng):
        reference = rng.integers(0, 15, size=(20, 6))
        current = rng.integers(0, 15, size=(20, 6))
        reference[:, 0] += 1
        current[:, 0] += 1
        np.testing.assert_allclose(
            measure(reference, current, alpha=0.5),
            _scipy_measure(measure, reference, current, alpha=0.5),
            rtol=1e-10,
        )

    def test_is_finite_with_alpha_even_when_bins_are_empty(self, measure):
        reference = np.array([[5, 0, 3, 0], [0, 0, 0, 1]])
        current = np.array([[0, 7, 0, 0], [2, 2, 2, 0]])
        values = measure(reference, current, alpha=0.5)
        assert np.isfinite(values).all()
        assert (values > 0).all()

    def test_in_base_2_is_the_value_in_nats_divided_by_ln_2(self, measure):
        nats = measure([3, 1, 6], [2, 5, 2])
        assert measure([3, 1, 6], [2, 5, 2], base=2) == pytest.approx(nats / math.log(2), rel=1e-12)

    def test_padded_empty_bins_excluded_by_where_leave_count_value_unchanged(self, measure):
        reference = np.array([4, 0, 7])
        current = np.array([1, 3, 2])
        padded_reference = np.array([4, 0, 7, 0, 0])
        padded_current = np.array([1, 3, 2, 0, 0])
        where = np.array([True, True, True, False, False])
        unpadded = measure(reference, current)
        padded = measure(padded_reference, padded_current, where=where)
        assert padded == pytest.approx(unpadded, rel=1e-12)
        # without the mask the pseudo-counts of the padding change the value
        assert measure(padded_reference, padded_current) != pytest.approx(unpadded, rel=1e-6)

    def test_padded_empty_bins_excluded_by_where_leave_probability_value_unchanged(self, measure):
        padded = measure([0.2, 0.5, 0.3, 0.0], [0.1, 0.1, 0.8, 0.0], where=[1, 1, 1, 0])
        assert padded == pytest.approx(measure([0.2, 0.5, 0.3], [0.1, 0.1, 0.8]), rel=1e-12)

    def test_ragged_features_padded_into_one_matrix_match_one_call_per_feature(self, measure, rng):
        widths = [3, 6, 4]
        reference = np.zeros((3, 6), dtype=np.int64)
        current = np.zeros((3, 6), dtype=np.int64)
        where = np.zeros((3, 6), dtype=bool)
        separate = []
        for row, width in enumerate(widths):
            ref_row = rng.integers(1, 20, size=width)
            cur_row = rng.integers(0, 20, size=width)
            reference[row, :width] = ref_row
            current[row, :width] = cur_row
            where[row, :width] = True
            separate.append(measure(ref_row, cur_row, alpha=0.5, floor=1e-3))
        np.testing.assert_allclose(
            measure(reference, current, alpha=0.5, floor=1e-3, where=where),
            separate,
            rtol=1e-12,
        )

    def test_where_rejects_counts_in_excluded_bins(self, measure):
        with pytest.raises(InputDataError, match="excluded by `where` must be empty"):
            measure([1, 2, 3], [1, 1, 1], where=[True, True, False])

    def test_where_of_the_wrong_shape_raises_input_data_error(self, measure):
        with pytest.raises(InputDataError, match=r"`where` of shape \(2,\) does not fit"):
            measure([1, 2, 3], [1, 1, 1], where=[True, False])

    @pytest.mark.parametrize(
        ("reference", "current", "match"),
        [
            ([1, -2, 3], [1, 1, 1], r"reference has a negative value at index \[1\]"),
            ([1, 2, 3], [[1, 1, 1], [0, 1, -1]], r"current has a negative value at index \[1, 2\]"),
            ([1.0, math.nan, 3.0], [1, 1, 1], r"reference has a NaN or infinite value at index"),
            ([1, 2, 3], [1.0, math.inf, 3.0], r"current has a NaN or infinite value at index"),
            ([1, 2, 3], [-math.inf, 2.0, 3.0], r"current has a NaN or infinite value at index"),
            (["a", "b"], [1, 1], r"reference must be numeric"),
            ([], [], r"at least one bin"),
        ],
        ids=["negative", "negative-2d", "nan", "inf", "minus-inf", "strings", "no-bins"],
    )
    def test_bad_values_raise_input_data_error(self, measure, reference, current, match):
        with pytest.raises(InputDataError, match=match):
            measure(reference, current)

    def test_mismatched_bin_counts_raise_input_data_error_naming_both(self, measure):
        with pytest.raises(InputDataError, match="mismatched bin counts") as excinfo:
            measure([1, 2, 3], [1, 2, 3, 4])
        message = str(excinfo.value)
        assert "reference has 3" in message
        assert "current has 4" in message

    def test_empty_current_row_raises_empty_histogram_error_with_its_rows(self, measure):
        reference = np.ones((4, 3), dtype=np.int64)
        current = np.array([[1, 2, 0], [0, 0, 0], [3, 0, 1], [0, 0, 0]])
        with pytest.raises(
            EmptyHistogramError, match=r"current is empty \(total count 0\) at row\(s\) \[1, 3\]"
        ) as excinfo:
            measure(reference, current)
        assert excinfo.value.rows == (1, 3)

    @pytest.mark.parametrize("alpha", [0.0, 0.5])
    def test_empty_reference_is_an_error_never_a_divergence_of_zero(self, measure, alpha):
        with pytest.raises(EmptyHistogramError, match=r"reference is empty") as excinfo:
            measure([0, 0, 0], [1, 2, 3], alpha=alpha)
        assert excinfo.value.rows == (0,)
        assert isinstance(excinfo.value, InputDataError)

    def test_empty_float_row_is_an_error_too(self, measure):
        with pytest.raises(EmptyHistogramError, match=r"row\(s\) \[0\]"):
            measure([0.5, 0.5], [0.0, 0.0])

    @pytest.mark.parametrize("alpha", [-0.5, -1e-9, math.nan, math.inf])
    def test_bad_alpha_raises_config_error(self, measure, alpha):
        with pytest.raises(ConfigError, match=r"alpha must be a finite number >= 0"):
            measure([1, 2], [2, 1], alpha=alpha)

    @pytest.mark.parametrize("base", [1, 0, -2, 1.0, math.inf])
    def test_bad_base_raises_config_error(self, measure, base):
        with pytest.raises(ConfigError, match=r"base must be a positive number other than 1"):
            measure([1, 2], [2, 1], base=base)

    def test_invalid_reduction_raises_config_error(self, measure):
        with pytest.raises(ConfigError, match=r"none, sum, batchmean, mean"):
            measure([1, 2], [2, 1], reduction="max")


def test_empty_histogram_error_is_an_input_data_error():
    assert issubclass(EmptyHistogramError, InputDataError)


def test_mismatched_bin_message_names_each_side_for_reverse_kl():
    with pytest.raises(InputDataError, match=r"current has 4 bins, reference has 3"):
        reverse_kl_divergence([1, 2, 3], [1, 2, 3, 4])


# --------------------------------------------------------------------------------------------
# Properties


@st.composite
def count_pairs(draw, min_bins: int = 1, max_bins: int = 12, max_count: int = 60):
    """Two integer count histograms with the same number of bins, each with a nonzero bin."""
    n_bins = draw(st.integers(min_bins, max_bins))
    histogram = hnp.arrays(np.int64, n_bins, elements=st.integers(0, max_count)).filter(
        lambda counts: counts.sum() > 0
    )
    return draw(histogram), draw(histogram)


alphas = st.floats(min_value=1e-3, max_value=5.0, allow_nan=False)


@PROPERTY_SETTINGS
@given(pair=count_pairs(), alpha=alphas, index=st.integers(0, 3))
def test_every_divergence_is_non_negative_up_to_rounding(pair, alpha, index):
    reference, current = pair
    assert MEASURES[index](reference, current, alpha=alpha) >= 0.0


def test_kl_is_never_negative_for_proportional_histograms():
    # [1, 1, 1] and [2, 2, 2] smooth to the same uniform distribution; scipy gives exactly 0.0
    assert stats.entropy(np.array([1, 1, 1]) + 0.001, np.array([2, 2, 2]) + 0.001) == 0.0
    assert kl_divergence([1, 1, 1], [2, 2, 2], alpha=0.001) >= 0.0


@PROPERTY_SETTINGS
@given(pair=count_pairs(), alpha=st.sampled_from([0.0, 0.5, 2.0]), index=st.integers(0, 3))
def test_every_divergence_is_zero_for_identical_histograms(pair, alpha, index):
    reference, _ = pair
    assert MEASURES[index](reference, reference.copy(), alpha=alpha) == 0.0


@PROPERTY_SETTINGS
@given(pair=count_pairs(), alpha=alphas, index=st.integers(0, 3))
def test_every_divergence_is_finite_with_alpha_whatever_bins_are_empty(pair, alpha, index):
    reference, current = pair
    assert math.isfinite(MEASURES[index](reference, current, alpha=alpha))


@PROPERTY_SETTINGS
@given(pair=count_pairs(), alpha=st.sampled_from([0.0, 0.5, 1.0]))
def test_js_is_symmetric_and_at_most_ln_2(pair, alpha):
    reference, current = pair
    forward = js_divergence(reference, current, alpha=alpha)
    assert forward == pytest.approx(js_divergence(current, reference, alpha=alpha), abs=1e-15)
    assert forward <= math.log(2) + 1e-12
    assert js_divergence(reference, current, alpha=alpha, base=2) <= 1.0 + 1e-12


@PROPERTY_SETTINGS
@given(pair=count_pairs(), alpha=alphas)
def test_psi_equals_kl_plus_reverse_kl_for_any_counts(pair, alpha):
    reference, current = pair
    expected = kl_divergence(reference, current, alpha=alpha) + reverse_kl_divergence(
        reference, current, alpha=alpha
    )
    assert population_stability_index(reference, current, alpha=alpha) == pytest.approx(
        expected, rel=1e-12, abs=1e-14
    )


# --------------------------------------------------------------------------------------------
# Smoothing semantics


def test_integer_counts_are_smoothed_with_lidstone_pseudo_counts(rng):
    counts = rng.integers(0, 9, size=(20, 7))
    counts[:, 3] += 1
    for alpha in (0.5, 1.0, 0.1, 2.5):
        expected = (counts + alpha) / (counts.sum(-1, keepdims=True) + 7 * alpha)
        np.testing.assert_allclose(
            smoothed_probabilities(counts, alpha=alpha), expected, rtol=1e-14
        )


def test_smoothing_uses_the_documented_example():
    assert smoothed_probabilities([3, 0, 1], alpha=0.5) == pytest.approx(
        [3.5 / 5.5, 0.5 / 5.5, 1.5 / 5.5], rel=1e-14
    )


def test_counts_with_alpha_zero_are_plain_frequencies():
    assert smoothed_probabilities([3, 0, 1], alpha=0).tolist() == [0.75, 0.0, 0.25]


def test_float_counts_not_summing_to_one_are_smoothed_as_counts():
    assert smoothed_probabilities([3.0, 0.0, 1.0], alpha=0.5) == pytest.approx(
        [3.5 / 5.5, 0.5 / 5.5, 1.5 / 5.5], rel=1e-14
    )


def test_float_rows_summing_to_one_are_probabilities_used_as_given(rng):
    probs = _probability_rows(rng, (10, 5))
    probs[0] = [0.0, 0.25, 0.25, 0.5, 0.0]
    smoothed = smoothed_probabilities(probs, alpha=0.5)
    np.testing.assert_allclose(smoothed, probs, rtol=1e-14, atol=0)
    assert smoothed[0].tolist() == [0.0, 0.25, 0.25, 0.5, 0.0]


def test_probability_inputs_ignore_alpha_in_the_divergence(rng):
    p = _probability_rows(rng, (10, 5))
    q = _probability_rows(rng, (10, 5))
    np.testing.assert_array_equal(kl_divergence(p, q, alpha=0.5), kl_divergence(p, q, alpha=3))


def test_floor_takes_max_of_probability_and_floor_then_renormalises():
    probs = np.array([0.0, 0.001, 0.2, 0.799])
    floored = np.array([0.01, 0.01, 0.2, 0.799])
    np.testing.assert_allclose(
        smoothed_probabilities(probs, floor=0.01), floored / floored.sum(), rtol=1e-14
    )


def test_floor_applies_after_count_smoothing(rng):
    counts = rng.integers(0, 100, size=(8, 6))
    counts[:, 0] = 0
    counts[:, 1] += 1
    smoothed = (counts + 0.5) / (counts.sum(-1, keepdims=True) + 6 * 0.5)
    floored = np.maximum(smoothed, 0.02)
    np.testing.assert_allclose(
        smoothed_probabilities(counts, alpha=0.5, floor=0.02),
        floored / floored.sum(-1, keepdims=True),
        rtol=1e-14,
    )


def test_kl_with_floor_equals_scipy_entropy_of_floored_probabilities():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.9, 0.0, 0.1])
    p_floor = np.maximum(p, 1e-3) / np.maximum(p, 1e-3).sum()
    q_floor = np.maximum(q, 1e-3) / np.maximum(q, 1e-3).sum()
    assert kl_divergence(p, q) == math.inf
    assert kl_divergence(p, q, floor=1e-3) == pytest.approx(
        stats.entropy(p_floor, q_floor), rel=1e-12
    )


@pytest.mark.parametrize("floor", [0.0, 1.0, -0.1, 1.5])
def test_floor_outside_the_open_unit_interval_raises_config_error(floor):
    with pytest.raises(ConfigError, match=r"floor must be in \(0, 1\)"):
        smoothed_probabilities([1, 2, 3], floor=floor)


# --------------------------------------------------------------------------------------------
# G-test


def _random_tables(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of count rows with sparse bins, some empty in both, >= 2 occupied bins."""
    reference = rng.poisson(rng.uniform(0.2, 30, size=(n, k)))
    current = rng.poisson(rng.uniform(0.2, 30, size=(n, k)))
    both_empty = rng.random((n, k)) < 0.15
    reference[both_empty] = 0
    current[both_empty] = 0
    reference[:, 0] += 1
    current[:, 1] += 1
    return reference, current


def _scipy_g_test(reference: np.ndarray, current: np.ndarray):
    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    return stats.chi2_contingency(table, lambda_="log-likelihood", correction=False)


def test_plain_g_test_matches_scipy_chi2_contingency_row_by_row(rng):
    reference, current = _random_tables(rng, 200, 8)
    ours = g_test(reference, current, williams=False, min_expected=None)
    assert ours.statistic.shape == ours.dof.shape == ours.p_value.shape == (200,)
    for row in range(200):
        theirs = _scipy_g_test(reference[row], current[row])
        assert ours.statistic[row] == pytest.approx(theirs.statistic, rel=1e-9, abs=1e-12)
        assert ours.dof[row] == theirs.dof
        assert ours.p_value[row] == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-15)


def test_g_test_of_1d_counts_returns_python_scalars():
    result = g_test([10, 20, 30], [15, 15, 40], williams=False, min_expected=None)
    theirs = _scipy_g_test(np.array([10, 20, 30]), np.array([15, 15, 40]))
    assert type(result.statistic) is float
    assert type(result.dof) is int
    assert type(result.p_value) is float
    assert result.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(theirs.pvalue, rel=1e-12)


@pytest.mark.parametrize("options", [{}, {"williams": False, "min_expected": None}])
def test_g_test_of_identical_histograms_has_statistic_zero_and_p_value_one(options):
    counts = np.array([[12, 30, 7, 0, 51], [1, 1, 2, 3, 5]])
    result = g_test(counts, counts, **options)
    np.testing.assert_array_equal(result.statistic, [0.0, 0.0])
    np.testing.assert_array_equal(result.p_value, [1.0, 1.0])


def test_g_test_of_proportional_histograms_has_statistic_zero_and_p_value_one():
    result = g_test([10, 20, 30], [20, 40, 60], williams=False, min_expected=None)
    assert result.statistic == 0.0
    assert result.p_value == 1.0


def test_g_test_dof_counts_bins_occupied_in_either_histogram_minus_one():
    reference = np.array([[3, 0, 0, 2, 0], [5, 5, 5, 5, 5], [0, 0, 4, 0, 0]])
    current = np.array([[0, 0, 1, 4, 0], [1, 1, 1, 1, 1], [0, 0, 9, 0, 0]])
    result = g_test(reference, current, williams=False, min_expected=None)
    np.testing.assert_array_equal(result.dof, [2, 4, 0])
    assert result.p_value[2] == 1.0


def test_g_test_default_statistic_is_at_most_the_plain_one(rng):
    # Williams' factor q exceeds 1 and merging bins cannot increase G (log-sum inequality).
    reference, current = _random_tables(rng, 300, 10)
    current = current // 4  # small batches, so pooling actually happens
    current[:, 1] += 1
    default = g_test(reference, current)
    plain = g_test(reference, current, williams=False, min_expected=None)
    assert (default.statistic <= plain.statistic + 1e-9).all()
    assert (default.dof <= plain.dof).all()
    assert (default.statistic < plain.statistic).any()


def test_williams_correction_divides_g_by_the_textbook_factor():
    reference = np.array([10, 20, 30, 5])
    current = np.array([15, 15, 40, 2])
    plain = _scipy_g_test(reference, current)
    n_ref, n_cur = reference.sum(), current.sum()
    n = n_ref + n_cur
    columns = reference + current
    q = 1 + (n * (1 / n_ref + 1 / n_cur) - 1) * (n * (1 / columns).sum() - 1) / (
        6 * n * (2 - 1) * 3
    )
    result = g_test(reference, current, williams=True, min_expected=None)
    assert result.statistic == pytest.approx(plain.statistic / q, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(plain.statistic / q, 3), rel=1e-12)


def test_pooling_merges_adjacent_sparse_bins_into_the_hand_computed_table():
    # the current batch of 20 expects [3.8, 6.0, 6.0, 4.2] rows per bin: bins 0+1 and 2+3 merge
    reference = np.array([40, 60, 60, 40])
    current = np.array([2, 6, 6, 6])
    pooled = g_test(reference, current, williams=False)
    unpooled = g_test(reference, current, williams=False, min_expected=None)
    theirs = stats.chi2_contingency(
        np.array([[100, 100], [8, 12]]), lambda_="log-likelihood", correction=False
    )
    assert pooled.dof == 1
    assert unpooled.dof == 3
    assert pooled.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert pooled.p_value == pytest.approx(theirs.pvalue, rel=1e-12)
    assert pooled.p_value != pytest.approx(unpooled.p_value, rel=1e-3)


def test_pooling_changes_the_p_value_for_a_small_current_sample(rng):
    probs = np.full(20, 1 / 20)
    reference = rng.multinomial(10_000, probs)
    current = rng.multinomial(50, probs)
    pooled = g_test(reference, current, williams=False)
    unpooled = g_test(reference, current, williams=False, min_expected=None)
    assert pooled.dof < unpooled.dof
    assert pooled.p_value != pytest.approx(unpooled.p_value, rel=1e-3)
    default = g_test(reference, current)
    assert default.p_value != pytest.approx(
        g_test(reference, current, min_expected=None).p_value, rel=1e-3
    )


def test_pooling_leaves_large_counts_untouched(rng):
    probs = rng.dirichlet(np.full(12, 5.0))
    reference = rng.multinomial(50_000, probs, size=30)
    current = rng.multinomial(5_000, probs, size=30)
    n_min = np.minimum(reference.sum(-1), current.sum(-1))[:, None]
    expected = n_min * (reference + current) / (reference + current).sum(-1, keepdims=True)
    assert (expected >= 5).all()
    pooled = g_test(reference, current, williams=False)
    unpooled = g_test(reference, current, williams=False, min_expected=None)
    np.testing.assert_array_equal(pooled.statistic, unpooled.statistic)
    np.testing.assert_array_equal(pooled.dof, unpooled.dof)
    np.testing.assert_array_equal(pooled.p_value, unpooled.p_value)


def test_g_test_pooled_bins_each_expect_at_least_min_expected():
    # Both samples have 21 rows; the smaller sample expects [1, 18, 1, 1] rows per bin. The
    # only pooling in which every pooled bin expects >= 5 rows is a single bin: no test possible.
    reference = np.array([0, 17, 2, 2])
    current = np.array([2, 19, 0, 0])
    result = g_test(reference, current, williams=False)
    assert result.dof == 0
    assert result.p_value == 1.0


@pytest.mark.parametrize(
    ("reference", "current", "match"),
    [
        ([0, 0, 0], [1, 2, 3], r"reference counts are empty \(total 0\) at row\(s\) \[0\]"),
        ([[1, 2], [3, 4]], [[1, 1], [0, 0]], r"current counts are empty .* row\(s\) \[1\]"),
    ],
)
def test_g_test_of_an_empty_histogram_raises_empty_histogram_error(reference, current, match):
    with pytest.raises(EmptyHistogramError, match=match):
        g_test(reference, current)


def test_g_test_rejects_negative_counts():
    with pytest.raises(InputDataError, match=r"current counts has a negative value"):
        g_test([1, 2, 3], [1, -2, 3])


def test_g_test_rejects_mismatched_bin_counts():
    with pytest.raises(InputDataError, match=r"reference has 3 bins, current has 2"):
        g_test([1, 2, 3], [1, 2])


# --------------------------------------------------------------------------------------------
# Expected KL under no drift


def test_expected_kl_no_drift_matches_its_closed_form():
    n_ref = np.array([1_000_000, 500, 200])
    n_cur = np.array([100, 200, 200])
    k = np.array([21, 5, 1])
    expected = (k - 1) / 2 * (1 / n_ref + 1 / n_cur)
    np.testing.assert_allclose(expected_kl_no_drift(n_ref, n_cur, k), expected, rtol=1e-15)
    assert expected_kl_no_drift(1_000_000, 100, 21) == pytest.approx(0.10001, rel=1e-12)
    assert type(expected_kl_no_drift(1000, 100, 10)) is float


def test_mean_plug_in_kl_of_healthy_batches_is_close_to_expected_kl_no_drift(rng):
    probs = np.array([0.05, 0.08, 0.1, 0.12, 0.15, 0.15, 0.12, 0.1, 0.08, 0.05])
    reference = rng.multinomial(2_000_000, probs)
    batches = rng.multinomial(2000, probs, size=1000)
    assert (batches > 0).all()  # plug-in KL stays finite
    observed = kl_divergence(reference, batches, alpha=0).mean()
    expected = expected_kl_no_drift(2_000_000, 2000, 10)
    assert observed == pytest.approx(expected, rel=0.15)


# --------------------------------------------------------------------------------------------
# Multiple-testing correction


def _holm_by_definition(p_values: np.ndarray) -> np.ndarray:
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def test_bh_matches_scipy_false_discovery_control(rng):
    for size in (1, 2, 7, 50):
        p = rng.uniform(size=size) ** 3
        np.testing.assert_allclose(
            adjust_p_values(p, method="bh"),
            stats.false_discovery_control(p, method="bh"),
            rtol=1e-12,
        )


def test_bh_matches_scipy_along_the_last_axis_of_a_matrix(rng):
    p = rng.uniform(size=(6, 15)) ** 2
    np.testing.assert_allclose(
        adjust_p_values(p), stats.false_discovery_control(p, axis=-1, method="bh"), rtol=1e-12
    )


def test_bh_handles_ties_like_scipy():
    p = np.array([0.01, 0.02, 0.02, 0.02, 0.5, 0.01])
    np.testing.assert_allclose(
        adjust_p_values(p, method="bh"), stats.false_discovery_control(p), rtol=1e-12
    )


def test_holm_matches_the_step_down_definition(rng):
    for size in (1, 3, 12, 40):
        p = rng.uniform(size=size) ** 3
        np.testing.assert_allclose(
            adjust_p_values(p, method="holm"), _holm_by_definition(p), rtol=1e-12
        )


@pytest.mark.parametrize("method", ["bh", "holm"])
def test_nan_p_values_stay_nan_and_do_not_count_as_tests(method, rng):
    valid = rng.uniform(size=8) ** 2
    with_nan = np.insert(valid, [0, 3, 8], np.nan)
    result = adjust_p_values(with_nan, method=method)
    nan_positions = np.isnan(with_nan)
    assert np.isnan(result[nan_positions]).all()
    np.testing.assert_allclose(
        result[~nan_positions], adjust_p_values(valid, method=method), rtol=1e-12
    )


def test_method_none_returns_the_p_values_unchanged():
    p = np.array([0.3, np.nan, 0.01, 1.0])
    np.testing.assert_array_equal(adjust_p_values(p, method="none"), p)


def test_invalid_correction_method_raises_config_error_listing_the_options():
    with pytest.raises(ConfigError, match=r"`bonferroni` is not one of bh, holm, none"):
        adjust_p_values([0.1, 0.2], method="bonferroni")


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_p_values_outside_the_unit_interval_raise_input_data_error(bad):
    with pytest.raises(InputDataError, match=r"p-values must lie in \[0, 1\]"):
        adjust_p_values([0.1, bad])


def test_ragged_nested_lists_raise_input_data_error_suggesting_where() -> None:
    with pytest.raises(InputDataError, match=r"ragged.*where="):
        kl_divergence([[1, 2], [1]], [[1, 2], [1]])


def test_g_test_rejects_counts_in_bins_excluded_by_where() -> None:
    with pytest.raises(InputDataError, match="excluded by `where` must be empty"):
        g_test([1, 2, 3], [1, 2, 3], where=[True, True, False])
