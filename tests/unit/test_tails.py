"""`driftmon.tails` against scipy.special and exact sums: the significance of every check
rests on these tails."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy import special, stats

from driftmon import tails


@pytest.mark.parametrize(
    "dof", [1, 2, 3, 4, 5, 7, 10, 31, 32, 99, 100, 255, 1000, 4001, 20_000, 100_001]
)
def test_chi2_sf_matches_scipy_across_the_range(dof):
    statistic = np.concatenate(
        [np.linspace(0.0, 3.0 * dof + 60.0, 500), [1e-12, 1e-3, dof - 1.0, dof, dof + 1.0]]
    )
    statistic = statistic[statistic >= 0]
    theirs = special.chdtrc(dof, statistic)
    ours = tails.chi2_sf(dof, statistic)
    representable = theirs > 1e-290
    # both lose a few digits to ~1e-12 past 1e4 degrees of freedom (checked against mpmath)
    rtol = 1e-11 if dof < 10_000 else 1e-10
    np.testing.assert_allclose(ours[representable], theirs[representable], rtol=rtol, atol=0)
    assert np.all(ours[~representable] < 1e-280)


def test_chi2_sf_closed_forms_and_far_tail():
    x = np.array([1e-8, 0.5, 1.0, 3.841458820694124, 50.0, 700.0, 1400.0])
    # dof 2: exp(-x/2); dof 4: (1 + x/2) exp(-x/2); dof 3: erfc(sqrt(h)) + 2 sqrt(h/pi) e^-h
    np.testing.assert_allclose(tails.chi2_sf(2, x), np.exp(-x / 2), rtol=1e-14)
    np.testing.assert_allclose(tails.chi2_sf(4, x), (1 + x / 2) * np.exp(-x / 2), rtol=1e-14)
    np.testing.assert_allclose(tails.chi2_sf(1, x), stats.chi2.sf(x, 1), rtol=1e-13)
    erfc = np.array([math.erfc(math.sqrt(v / 2)) for v in x])
    h = x / 2
    np.testing.assert_allclose(
        tails.chi2_sf(3, x), erfc + 2 * np.sqrt(h / np.pi) * np.exp(-h), rtol=1e-13
    )
    assert tails.chi2_sf(1, 3.841458820694124) == pytest.approx(0.05, rel=1e-12)
    assert tails.chi2_sf(1, 1400.0) == pytest.approx(special.chdtrc(1, 1400.0), rel=1e-11)


def test_chi2_sf_edges_and_shapes():
    assert tails.chi2_sf(3, 0.0) == 1.0
    assert tails.chi2_sf(3, np.inf) == 0.0
    assert np.isnan(tails.chi2_sf(3, np.nan))
    assert isinstance(tails.chi2_sf(3, 2.0), float)  # a numpy scalar for scalar input
    grid = tails.chi2_sf(np.array([[1], [5]]), np.array([0.5, 5.0, 50.0]))
    assert grid.shape == (2, 3)
    np.testing.assert_allclose(grid, special.chdtrc([[1], [5]], [0.5, 5.0, 50.0]), rtol=1e-12)


def _exact_tails(k: int, n: int, p: Fraction) -> tuple[float, float]:
    """P(X > k) and P(X <= k) as exact rationals, then rounded once."""
    pmf = [math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(n + 1)]
    return float(sum(pmf[k + 1 :], Fraction(0))), float(sum(pmf[: k + 1], Fraction(0)))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 30, 120])
@pytest.mark.parametrize(
    "p", [Fraction(1, 10**7), Fraction(1, 1000), Fraction(1, 3), Fraction(3, 4)]
)
def test_binomial_tails_are_the_exact_sums(n, p):
    for k in range(n):
        upper, lower = _exact_tails(k, n, p)
        assert tails.binomial_sf(k, n, float(p)) == pytest.approx(upper, rel=1e-12, abs=1e-300)
        assert tails.binomial_cdf(k, n, float(p)) == pytest.approx(lower, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("n", [1000, 10**5, 10**7])
@pytest.mark.parametrize("p", [1e-7, 1e-4, 0.01, 0.3, 0.5, 0.9])
def test_binomial_tails_match_scipys_boost_binomial_for_large_batches(n, p):
    """Against `scipy.stats.binom` (Boost's incomplete beta). `scipy.special.bdtrc`, which
    driftmon used before, is off by up to 0.3% near the mean of 10M rows: 0.49956 for
    P(X > 3,000,000) of Binomial(1e7, 0.3), where an Edgeworth expansion gives 0.499844."""
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    k = np.unique(
        np.clip(
            np.array([0, 1, 2, mean - 5 * sd, mean - sd, mean, mean + sd, mean + 5 * sd + 3]),
            0,
            n - 1,
        ).astype(np.int64)
    )
    for ours, theirs in (
        (tails.binomial_sf(k, n, p), stats.binom.sf(k, n, p)),
        (tails.binomial_cdf(k, n, p), stats.binom.cdf(k, n, p)),
    ):
        representable = theirs > 1e-290
        np.testing.assert_allclose(ours[representable], theirs[representable], rtol=1e-10)
        np.testing.assert_array_less(ours[~representable], 1e-280)


def test_binomial_tails_at_the_edges():
    # k < 0: nothing is <= k; k >= n: everything is (scipy says nan beyond its domain)
    assert (tails.binomial_sf(-1, 5, 0.3), tails.binomial_cdf(-1, 5, 0.3)) == (1.0, 0.0)
    assert (tails.binomial_sf(5, 5, 0.3), tails.binomial_cdf(5, 5, 0.3)) == (0.0, 1.0)
    assert (tails.binomial_sf(0, 0, 0.3), tails.binomial_cdf(0, 0, 0.3)) == (0.0, 1.0)
    assert (tails.binomial_sf(2, 5, 0.0), tails.binomial_cdf(2, 5, 1.0)) == (0.0, 0.0)
    assert np.isnan(tails.binomial_sf(2, 5, 1.5))
    # vectorized over mixed cases, in input order
    k, n, p = np.array([-1, 0, 3, 9]), np.array([10, 10, 10, 10]), np.array([0.2, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(
        tails.binomial_sf(k, n, p), [1.0, *special.bdtrc(k[1:], n[1:], p[1:])], rtol=1e-13
    )


def test_tails_outside_their_domain_are_nan_and_never_hang():
    assert np.isnan(tails.chi2_sf(2.5, 3.0))  # an integer number of degrees of freedom only
    assert np.isnan(tails.chi2_sf(0, 3.0))
    # sums that would need more terms than any batch: NaN, at once
    assert np.isnan(tails.chi2_sf(2.0**56, 2.0**56 + 1e8))
    assert np.isnan(tails.binomial_sf(2.0**59, 2.0**60, 0.5))
    assert np.isnan(tails.binomial_sf(3, np.inf, 0.3)) and np.isnan(tails.binomial_cdf(3, 5.5, 0.3))


def test_extreme_inputs_raise_no_warning_and_keep_their_value():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tails.chi2_sf(1e307, 1.0) == 1.0
        assert tails.chi2_sf(1, 1e-310) == 1.0
        assert tails.binomial_sf(3, 1e160, 0.3) == 1.0
        # P(X > 0) = 1 - (1 - p)^n ~ n p, far below the smallest normal float
        assert tails.binomial_sf(0, 10**9, 1e-320) == pytest.approx(1e-311, rel=1e-4)
        assert tails.xlogy(1e308, 1e308) == np.inf


def test_binomial_tails_broadcast_and_pass_nan_through():
    k = np.array([[np.nan], [2.0], [np.inf]])
    ours = tails.binomial_sf(k, np.array([10, 20]), 0.25)
    assert ours.shape == (3, 2)
    assert np.isnan(ours[0]).all()
    np.testing.assert_allclose(ours[1], stats.binom.sf(2, [10, 20], 0.25), rtol=1e-13)
    np.testing.assert_array_equal(ours[2], [0.0, 0.0])  # nothing exceeds an infinite count


def test_xlogy_and_rel_entr_are_scipys():
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, -1.0, 0.5, 2.0, np.nan, 0.0])
    y = np.array([0.0, 1.0, np.nan, 0.0, -1.0, 1.0, 0.25, 3.0, 1.0, -1.0])
    np.testing.assert_allclose(tails.xlogy(x, y), special.xlogy(x, y), rtol=1e-15)
    np.testing.assert_allclose(tails.rel_entr(x, y), special.rel_entr(x, y), rtol=1e-15)
    # ratios beyond the float range, NaN before sign
    for a, b in ((1.0, 1e-320), (1e-320, 1e308), (np.nan, -1.0), (-1.0, np.nan)):
        assert tails.rel_entr(a, b) == pytest.approx(special.rel_entr(a, b), nan_ok=True)
    assert isinstance(tails.xlogy(1.0, 2.0), float) and isinstance(tails.rel_entr(1.0, 2.0), float)
