"""Tail probabilities of the chi-square and binomial distributions, in numpy.

The significance of a check needs only integer degrees of freedom and integer counts, where
both tails are finite or fast-converging sums of probabilities: each sum starts at its largest
term and multiplies its way down by the ratio of neighbouring terms, so every term is positive
and the far tails keep full relative precision. The first term is Loader's saddle-point form
of the Poisson and binomial probabilities, exact to a few ulps even for millions of rows.

Written here rather than imported from `scipy.special` because that import costs 0.25-0.3 s
a process (its array-API layer loads `numpy.f2py` and `numpy.testing`), about 15% of a whole
check. `tests/unit/test_tails.py` pins every function against scipy.

References: C. Loader (2000), "Fast and accurate computation of binomial probabilities";
Abramowitz & Stegun 6.5.13 and 26.4.4 (the incomplete gamma as a Poisson sum).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["binomial_cdf", "binomial_sf", "chi2_sf", "rel_entr", "xlogy"]

#: Terms multiplied per pass of a sum; sums stop once a term is this small next to the first.
_BLOCK = 256
_NEGLIGIBLE = 1e-20
#: Passes at most: 2M terms, enough for 9 standard deviations of a binomial of up to ~5e10
#: trials or a chi-square of up to ~1e10 degrees of freedom. A sum not done by then is NaN.
_MAX_BLOCKS = 8192
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
#: Stirling's series of log(n!) is exact to double precision above this n (error ~2e-16).
_STIRLING_FROM = 15.0
_erfc = np.frompyfunc(math.erfc, 1, 1)
_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def chi2_sf(dof: ArrayLike, statistic: ArrayLike) -> NDArray[np.float64]:
    """P(X >= statistic) for X chi-square with integer ``dof`` >= 1 (``scipy.stats.chi2.sf``);
    NaN for any other ``dof``.

    The upper regularized gamma Q(dof/2, statistic/2), as a sum of Poisson terms.

    >>> round(float(chi2_sf(1, 3.841458820694124)), 12)
    0.05
    """
    dof, statistic = np.broadcast_arrays(
        np.asarray(dof, dtype=np.float64), np.asarray(statistic, dtype=np.float64)
    )
    with np.errstate(all="ignore"):  # extreme inputs over- and underflow on the way: handled
        q = _chi2_sf(dof, statistic)
    return q if q.ndim else q[()]


def _chi2_sf(dof: NDArray[np.float64], statistic: NDArray[np.float64]) -> NDArray[np.float64]:
    shape, x = dof / 2.0, statistic / 2.0
    q = np.full(shape.shape, np.nan)
    valid = (shape > 0) & (dof == np.floor(dof)) & ~np.isnan(x)
    q[valid & (x <= 0)] = 1.0
    q[valid & np.isposinf(x)] = 0.0
    todo = valid & (x > 0) & np.isfinite(x)
    # up to the mean, Q itself: the terms y^... at y = shape - 1, shape - 2, ... down to 0 or
    # 1/2 (A&S 6.5.13), plus erfc(sqrt(x)) for a half-integer shape
    below = todo & (shape <= x)
    if below.any():
        a, xb = shape[below], x[below]
        y = a - 1.0
        n_terms = np.floor(a)
        total = _decreasing_sum(lambda i: (y[:, None] - i) / xb[:, None], n_terms)
        sum_of_terms = np.where(n_terms > 0, _poisson_term(np.maximum(y, 0.0), xb) * total, 0.0)
        erfc = np.where(a != n_terms, _erfc(np.sqrt(xb)).astype(np.float64), 0.0)
        q[below] = np.minimum(erfc + sum_of_terms, 1.0)
    # above it, 1 - P, P the series of Poisson terms at shape, shape + 1, ... (P < ~0.6 here)
    above = todo & (shape > x)
    if above.any():
        a, xa = shape[above], x[above]
        total = _decreasing_sum(lambda i: xa[:, None] / (a[:, None] + i + 1.0), None)
        q[above] = 1.0 - _poisson_term(a, xa) * total
    return q


def binomial_sf(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> NDArray[np.float64]:
    """P(X > k) for X ~ Binomial(n, p) (``scipy.stats.binom.sf``; ``scipy.special.bdtrc`` is
    off by up to 0.3% near the mean of 1e7 trials).

    >>> round(float(binomial_sf(1, 4, 0.5)), 12)  # 11 of 16 outcomes have 2 or more
    0.6875
    """
    return _binomial_tails(k, n, p)[0]


def binomial_cdf(k: ArrayLike, n: ArrayLike, p: ArrayLike) -> NDArray[np.float64]:
    """P(X <= k) for X ~ Binomial(n, p) (``scipy.stats.binom.cdf``).

    >>> round(float(binomial_cdf(1, 4, 0.5)), 12)
    0.3125
    """
    return _binomial_tails(k, n, p)[1]


def xlogy(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """``x * log(y)``, 0 where ``x == 0`` (``scipy.special.xlogy``)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        terms = np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log(y))
    return terms if terms.ndim else terms[()]


def rel_entr(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """``x * log(x / y)``: 0 where ``x == 0 <= y``, inf where either is negative or only ``y``
    is 0 (``scipy.special.rel_entr``, the terms of KL divergence)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        terms = x * _log_ratio(x, y)
    terms = np.where((x == 0) & (y >= 0), 0.0, terms)
    terms = np.where((x < 0) | (y < 0) | ((x > 0) & (y == 0)), np.inf, terms)
    terms = np.where(np.isnan(x) | np.isnan(y), np.nan, terms)
    return terms if terms.ndim else terms[()]


def _binomial_tails(
    k: ArrayLike, n: ArrayLike, p: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(P(X > k), P(X <= k)): the side away from the mode summed from its largest term, the
    other side its complement (which is then above ~0.4, so nothing cancels)."""
    with np.errstate(all="ignore"):  # extreme inputs over- and underflow on the way: handled
        return _binomial_tails_of(k, n, p)


def _binomial_tails_of(
    k: ArrayLike, n: ArrayLike, p: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    k, n, p = np.broadcast_arrays(
        np.floor(np.asarray(k, dtype=np.float64)),
        np.asarray(n, dtype=np.float64),
        np.asarray(p, dtype=np.float64),
    )
    upper, lower = np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    valid = (n >= 0) & np.isfinite(n) & (n == np.floor(n)) & (p >= 0) & (p <= 1) & ~np.isnan(k)
    for where, up in (
        (valid & (k < 0), 1.0),
        (valid & (k >= n), 0.0),
        (valid & (k >= 0) & (k < n) & (p == 0), 0.0),
        (valid & (k >= 0) & (k < n) & (p == 1), 1.0),
    ):
        upper[where], lower[where] = up, 1.0 - up
    todo = valid & (k >= 0) & (k < n) & (p > 0) & (p < 1)
    mode = np.floor((n + 1.0) * p)
    high = todo & (k >= mode)
    if high.any():
        j, nh, ph = k[high] + 1.0, n[high], p[high]
        odds = (ph / (1.0 - ph))[:, None]
        total = _decreasing_sum(
            lambda i: (nh[:, None] - j[:, None] - i) / (j[:, None] + i + 1.0) * odds, nh - j + 1
        )
        upper[high] = np.minimum(_binomial_term(j, nh, ph) * total, 1.0)
        lower[high] = 1.0 - upper[high]
    low = todo & (k < mode)
    if low.any():
        j, nl, pl = k[low], n[low], p[low]
        odds = ((1.0 - pl) / pl)[:, None]
        total = _decreasing_sum(
            lambda i: (j[:, None] - i) / (nl[:, None] - j[:, None] + i + 1.0) * odds, j + 1.0
        )
        lower[low] = np.minimum(_binomial_term(j, nl, pl) * total, 1.0)
        upper[low] = 1.0 - lower[low]
    return (upper, lower) if upper.ndim else (upper[()], lower[()])


# The helpers below run inside the public functions' ``np.errstate(all="ignore")``.


def _decreasing_sum(
    ratio: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    n_terms: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """Per row, ``t_0 + t_1 + ...`` over at most ``n_terms`` terms (None: no limit), where
    ``t_0 = 1`` and ``t_{i+1} = t_i * ratio(i)``, every ratio below 1.

    ``ratio`` maps a row vector of steps ``i`` to a (rows, steps) array. Terms are built a
    block at a time by cumulative products, each exact to the rounding of its ratios, until
    every row's last term is negligible next to its first."""
    step = np.arange(_BLOCK, dtype=np.float64)[None, :]
    total: NDArray[np.float64] | None = None
    carry: NDArray[np.float64] | None = None
    done = 0.0
    while True:
        ratios = ratio(done + step)
        if total is None or carry is None:
            total, carry = np.ones(ratios.shape[0]), np.ones(ratios.shape[0])
        # ratios past n_terms may overflow: masked below
        terms = carry[:, None] * np.cumprod(ratios, axis=1)  # t_{done+1} .. t_{done+_BLOCK}
        if n_terms is not None:
            terms = np.where(done + step + 1.0 < n_terms[:, None], terms, 0.0)
        total = total + terms.sum(axis=1)
        carry = terms[:, -1]
        done += _BLOCK
        if not np.any(carry > _NEGLIGIBLE):
            return total
        if done >= _MAX_BLOCKS * _BLOCK:  # beyond any batch: say so rather than run on
            return np.where(carry > _NEGLIGIBLE, np.nan, total)


def _log_ratio(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(x / y)``, also where ``x / y`` is beyond the float range (1 / 1e-320): there,
    the logs apart (the caller ignores floating-point errors)."""
    ratio = x / y
    beyond = (x > 0) & (y > 0) & ((ratio == 0) | np.isinf(ratio))
    return np.where(beyond, np.log(x) - np.log(y), np.log(ratio))


def _poisson_term(y: NDArray[np.float64], mean: NDArray[np.float64]) -> NDArray[np.float64]:
    """``mean**y * exp(-mean) / gamma(y + 1)`` for y >= 0 (Loader's form, y need not be an
    integer)."""
    safe = np.maximum(y, 1.0)
    term = np.exp(-_stirlerr(safe) - _bd0(safe, mean)) / np.sqrt(2.0 * np.pi * safe)
    term = np.where(y == 0, np.exp(-mean), term)
    fraction = (y > 0) & (y < 1)  # 1/2, in practice: from logs, where that is exact
    if fraction.any():
        yf, mf = y[fraction], mean[fraction]
        term[fraction] = np.exp(yf * np.log(mf) - mf - _lgamma(yf + 1.0).astype(np.float64))
    return term


def _binomial_term(
    j: NDArray[np.float64], n: NDArray[np.float64], p: NDArray[np.float64]
) -> NDArray[np.float64]:
    """P(X = j) for X ~ Binomial(n, p), 0 <= j <= n, 0 < p < 1 (Loader's form)."""
    q = 1.0 - p
    inner = np.clip(j, 1.0, np.maximum(n - 1.0, 1.0))
    log_term = (
        _stirlerr(n)
        - _stirlerr(inner)
        - _stirlerr(n - inner)
        - _bd0(inner, n * p)
        - _bd0(n - inner, n * q)
    )
    term = np.exp(log_term) * np.sqrt(n / (2.0 * np.pi * inner * (n - inner)))
    term = np.where(j == 0, np.exp(n * np.log1p(-p)), term)
    return np.where(j == n, np.exp(n * np.log(p)), term)


def _stirlerr(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(n!) - log(sqrt(2 pi n) (n/e)**n)`` for n >= 1 (Stirling's error term)."""
    n = np.asarray(n, dtype=np.float64)
    small = n <= _STIRLING_FROM
    nn = n * n
    series = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * nn)) / nn) / nn) / nn) / n
    if not small.any():
        return series
    m = np.where(small, n, 1.0)
    direct = _lgamma(m + 1.0).astype(np.float64) - (m + 0.5) * np.log(m) + m - _HALF_LOG_2PI
    return np.where(small, direct, series)


def _bd0(x: NDArray[np.float64], mean: NDArray[np.float64]) -> NDArray[np.float64]:
    """``x log(x / mean) + mean - x``, without the cancellation near ``x == mean``."""
    x, mean = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(mean, np.float64))
    direct = x * _log_ratio(x, mean) + mean - x
    v = (x - mean) / (x + mean)
    close = np.abs(x - mean) < 0.1 * (x + mean)
    if not close.any():
        return direct
    xc, vc = x[close], v[close]
    s = (xc - mean[close]) * vc
    ej = 2.0 * xc * vc
    v2 = vc * vc
    for j in range(1, 1000):  # each pass gains two digits at least: |v| < 0.1
        ej = ej * v2
        following = s + ej / (2 * j + 1)
        if np.array_equal(following, s):
            break
        s = following
    result = direct.copy()
    result[close] = s
    return result
