"""Divergences between a reference histogram and a current one, and their significance.

Conventions (``KL_NOTES.md``): the reference is P, the current batch is Q, and the headline
measure is ``D(P || Q) = sum p_i ln(p_i / q_i)``. Bins are the last axis, so one call covers a
whole ``(features, bins)`` matrix. Inputs are counts or probabilities:

- integer arrays, and floating arrays whose rows do not sum to 1, are **counts**; they are
  smoothed with ``alpha`` pseudo-counts per bin (Lidstone): ``p_i = (c_i + alpha) / (N + k alpha)``;
- floating arrays whose every row sums to 1 are **probabilities** and are used as given
  (a pseudo-count has no meaning without a sample size).

``alpha = 0`` gives the plug-in estimate: `scipy.stats.entropy` to the last bits, ``inf`` included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftmon.errors import ConfigError, EmptyHistogramError, InputDataError
from driftmon.options import DEFAULT_ALPHA
from driftmon.tails import chi2_sf, rel_entr, xlogy

__all__ = [
    "CORRECTIONS",
    "DEFAULT_ALPHA",
    "DEFAULT_MIN_EXPECTED",
    "REDUCTIONS",
    "GTestResult",
    "adjust_p_values",
    "expected_kl_no_drift",
    "g_test",
    "js_divergence",
    "kl_divergence",
    "population_stability_index",
    "reverse_kl_divergence",
    "smoothed_probabilities",
]

REDUCTIONS = ("none", "sum", "batchmean", "mean")
#: Pool adjacent bins for the G-test until each expects this many rows (Cochran's rule of 5).
DEFAULT_MIN_EXPECTED = 5.0
CORRECTIONS = ("bh", "holm", "none")
Reduction = Literal["none", "sum", "batchmean", "mean"]

_PROBABILITY_TOLERANCE = 1e-9


def smoothed_probabilities(
    histogram: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    where: ArrayLike | None = None,
    floor: float | None = None,
    name: str = "histogram",
) -> NDArray[np.float64]:
    """Turn counts (smoothed with ``alpha``) or probabilities into probabilities, last axis.

    ``where`` marks the bins that exist (ragged features padded into one matrix): excluded bins
    must be empty and get neither a pseudo-count nor probability. ``floor`` optionally applies
    an epsilon floor ``max(p, floor)`` and renormalises, for comparison with tools that do so.

    Examples
    --------
    >>> smoothed_probabilities([3, 0, 1], alpha=0.5).round(4).tolist()  # (c + 0.5) / (4 + 1.5)
    [0.6364, 0.0909, 0.2727]
    >>> smoothed_probabilities([0.25, 0.75]).tolist()
    [0.25, 0.75]
    """
    values = _validated(histogram, name)
    mask = _bin_mask(where, values.shape, name)
    if mask is not None:
        if np.any(values[~mask] != 0):
            raise InputDataError(f"{name}: bins excluded by `where` must be empty")
        values = np.where(mask, values, 0.0)
    if alpha < 0 or not np.isfinite(alpha):
        raise ConfigError(f"alpha must be a finite number >= 0, got `{alpha}`")
    totals = values.sum(axis=-1, keepdims=True)
    if _is_probability(histogram, totals):
        probabilities = values / totals
    else:
        empty = np.flatnonzero(totals.reshape(-1) == 0)
        if empty.size:
            rows = tuple(int(r) for r in empty)
            raise EmptyHistogramError(
                f"{name} is empty (total count 0) at row(s) {list(rows)}: no divergence can be "
                "computed for an empty histogram",
                rows=rows,
            )
        pseudo = np.full(values.shape, float(alpha)) if mask is None else np.where(mask, alpha, 0.0)
        probabilities = (values + pseudo) / (totals + pseudo.sum(axis=-1, keepdims=True))
    if floor is not None:
        if not 0 < floor < 1:
            raise ConfigError(f"floor must be in (0, 1), got `{floor}`")
        floored = np.maximum(probabilities, floor)
        if mask is not None:
            floored = np.where(mask, floored, 0.0)
        probabilities = floored / floored.sum(axis=-1, keepdims=True)
    return probabilities


def kl_divergence(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    base: float | None = None,
    reduction: Reduction = "none",
    where: ArrayLike | None = None,
    floor: float | None = None,
) -> float | NDArray[np.float64]:
    """Kullback–Leibler divergence ``D(reference || current)`` along the last axis.

    The reference is the distribution trusted; the current batch is the one measured. Both are
    counts (smoothed with ``alpha``) or probabilities, shape ``(..., bins)``.

    Parameters
    ----------
    reference, current
        Histograms with bins on the last axis; leading axes broadcast.
    alpha
        Pseudo-count per bin for count inputs; 0 gives the plug-in value (``inf`` possible).
    base
        Logarithm base; natural log (nats) when None, 2 for bits.
    reduction
        ``none``: one value per histogram; ``sum``: their sum; ``batchmean``: their mean (sum
        divided by the number of histograms); ``mean``: sum divided by the number of elements
        (histograms x bins), as in PyTorch, kept only for comparisons.
    where
        Boolean mask of the bins that exist, for ragged features padded into one matrix.
    floor
        Optional epsilon floor on probabilities, then renormalised (see
        `smoothed_probabilities`).

    Returns
    -------
    A float for 1-D input or any reduction other than ``none``, else an array of the leading
    shape.

    Raises
    ------
    InputDataError
        Negative, NaN or infinite counts; different numbers of bins.
    EmptyHistogramError
        A count histogram with total 0 (an empty batch): that is not a divergence of 0.

    References
    ----------
    Kullback & Leibler (1951); ``scipy.stats.entropy(reference, current)``.

    Examples
    --------
    >>> round(kl_divergence([0.4, 0.6], [0.3, 0.7]), 10)
    0.0225824211
    >>> round(kl_divergence([0.4, 0.6], [0.3, 0.7], base=2), 10)
    0.0325795
    >>> kl_divergence([[5, 5], [1, 3]], [[5, 5], [1, 3]]).tolist()
    [0.0, 0.0]
    """
    return _divergence(_kl_terms, reference, current, alpha, base, reduction, where, floor)


def reverse_kl_divergence(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    base: float | None = None,
    reduction: Reduction = "none",
    where: ArrayLike | None = None,
    floor: float | None = None,
) -> float | NDArray[np.float64]:
    """``D(current || reference)``: reacts more to mass where the reference had little.

    Same arguments as `kl_divergence` (whose arguments it swaps).

    Examples
    --------
    >>> round(reverse_kl_divergence([0.4, 0.6], [0.3, 0.7]), 10)
    0.0216008541
    """
    return _divergence(
        _kl_terms, current, reference, alpha, base, reduction, where, floor, swapped=True
    )


def js_divergence(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    base: float | None = None,
    reduction: Reduction = "none",
    where: ArrayLike | None = None,
    floor: float | None = None,
) -> float | NDArray[np.float64]:
    """Jensen–Shannon divergence: symmetric, finite, at most ``ln 2`` (1 bit).

    ``JS = D(P || M) / 2 + D(Q || M) / 2`` with ``M = (P + Q) / 2``. This is the divergence,
    the square of `scipy.spatial.distance.jensenshannon` (a distance).

    Examples
    --------
    >>> from scipy.spatial.distance import jensenshannon
    >>> bool(np.isclose(js_divergence([1, 0], [0, 1], alpha=0), np.log(2)))
    True
    >>> distance = jensenshannon([0.4, 0.6], [0.3, 0.7])
    >>> bool(np.isclose(js_divergence([0.4, 0.6], [0.3, 0.7]), distance**2))
    True
    """
    return _divergence(_js_terms, reference, current, alpha, base, reduction, where, floor)


def population_stability_index(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    base: float | None = None,
    reduction: Reduction = "none",
    where: ArrayLike | None = None,
    floor: float | None = None,
) -> float | NDArray[np.float64]:
    """PSI ``sum (q - p) ln(q / p)``, which equals ``D(P || Q) + D(Q || P)``.

    Examples
    --------
    >>> psi = population_stability_index([0.4, 0.6], [0.3, 0.7])
    >>> bool(np.isclose(psi, kl_divergence([0.4, 0.6], [0.3, 0.7])
    ...                 + reverse_kl_divergence([0.4, 0.6], [0.3, 0.7])))
    True
    """
    return _divergence(_psi_terms, reference, current, alpha, base, reduction, where, floor)


# --------------------------------------------------------------------------------------------
# Significance


@dataclass(frozen=True, slots=True)
class GTestResult:
    """G-test of homogeneity per histogram: statistic, degrees of freedom and p-value.

    Arrays of the leading shape (floats for 1-D input). ``dof`` is the number of bins occupied
    in either histogram, minus one.
    """

    statistic: float | NDArray[np.float64]
    dof: int | NDArray[np.int64]
    p_value: float | NDArray[np.float64]


def g_test(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    where: ArrayLike | None = None,
    williams: bool = True,
    min_expected: float | None = DEFAULT_MIN_EXPECTED,
) -> GTestResult:
    """Likelihood-ratio (G) test that two count histograms come from one distribution.

    Vectorized over leading axes. On the ``2 x k`` table with bins empty in both dropped, and
    ``williams=False, min_expected=None``, this equals ``scipy.stats.chi2_contingency(table,
    lambda_="log-likelihood", correction=False)``.

    The chi-square approximation is liberal when expected counts are small (50-row batches over
    20 bins flag about twice as often as they should), so by default two remedies apply:
    adjacent bins are pooled (for the test only) until each pooled bin expects at least
    ``min_expected`` rows in the smaller sample, and the statistic is divided by Williams'
    factor ``q = 1 + (N (1/N_ref + 1/N_cur) - 1) (N sum_j 1/t_j - 1) / (6 N (k - 1))``
    (``t_j`` bin totals). ``tests/unit/test_calibration.py`` measures the result.

    References
    ----------
    Williams, D. A. (1976). Improved likelihood ratio tests for complete contingency tables.
    Biometrika 63(1), 33–37. Sokal & Rohlf, *Biometry*, G-test of independence.

    Examples
    --------
    >>> from scipy.stats import chi2_contingency
    >>> table = np.array([[10, 20, 30], [15, 15, 40]])
    >>> ours = g_test(table[0], table[1], williams=False, min_expected=None)
    >>> theirs = chi2_contingency(table, lambda_="log-likelihood", correction=False)
    >>> bool(np.isclose(ours.statistic, theirs.statistic))
    True
    >>> bool(np.isclose(ours.p_value, theirs.pvalue))
    True
    """
    reference = _validated(reference_counts, "reference counts")
    current = _validated(current_counts, "current counts")
    reference, current = _broadcast(reference, current)
    mask = _bin_mask(where, reference.shape, "counts")
    if mask is not None:
        if np.any(reference[~mask] != 0) or np.any(current[~mask] != 0):
            raise InputDataError("counts: bins excluded by `where` must be empty")
        reference = np.where(mask, reference, 0.0)
        current = np.where(mask, current, 0.0)
    n_reference = reference.sum(axis=-1, keepdims=True)
    n_current = current.sum(axis=-1, keepdims=True)
    for total, name in ((n_reference, "reference counts"), (n_current, "current counts")):
        empty = np.flatnonzero(total.reshape(-1) == 0)
        if empty.size:
            rows = tuple(int(r) for r in empty)
            raise EmptyHistogramError(
                f"{name} are empty (total 0) at row(s) {list(rows)}: nothing to test", rows=rows
            )
    if min_expected is not None and min_expected > 0:
        reference, current = _pool_sparse_bins(reference, current, float(min_expected))
    n_total = n_reference + n_current
    bin_totals = reference + current
    occupied = bin_totals > 0
    expected_reference = n_reference * bin_totals / n_total
    expected_current = n_current * bin_totals / n_total
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xlogy(reference, reference / expected_reference) + xlogy(
            current, current / expected_current
        )
    statistic = 2.0 * np.where(occupied, terms, 0.0).sum(axis=-1)
    statistic = np.maximum(statistic, 0.0)  # rounding can leave -1e-16 for identical shapes
    dof = occupied.sum(axis=-1) - 1
    if williams:
        n = n_total[..., 0]
        inverse_bin_totals = np.where(occupied, 1.0 / np.where(occupied, bin_totals, 1.0), 0.0)
        row_term = n * (1.0 / n_reference[..., 0] + 1.0 / n_current[..., 0]) - 1.0
        column_term = n * inverse_bin_totals.sum(axis=-1) - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            q = 1.0 + row_term * column_term / (6.0 * n * dof)
        statistic = np.where(dof > 0, statistic / np.where(dof > 0, q, 1.0), 0.0)
    p_value = np.where(dof > 0, chi2_sf(np.maximum(dof, 1), statistic), 1.0)
    if statistic.ndim == 0:
        return GTestResult(float(statistic), int(dof), float(p_value))
    return GTestResult(statistic, dof.astype(np.int64), p_value)


def expected_kl_no_drift(
    n_reference: ArrayLike, n_current: ArrayLike, n_bins: ArrayLike
) -> float | NDArray[np.float64]:
    """Expected plug-in KL when the current batch comes from the reference distribution.

    ``2 N D`` is approximately chi-square with ``k - 1`` degrees of freedom, so each sample
    contributes ``(k - 1) / (2 N)``: the bias a fixed KL threshold must clear.

    Examples
    --------
    >>> expected_kl_no_drift(1_000_000, 100, 21)
    0.10001
    """
    k = np.asarray(n_bins, dtype=np.float64)
    n_ref = np.asarray(n_reference, dtype=np.float64)
    n_cur = np.asarray(n_current, dtype=np.float64)
    with np.errstate(divide="ignore"):
        value = (np.maximum(k, 1.0) - 1.0) / 2.0 * (1.0 / n_ref + 1.0 / n_cur)
    return float(value) if value.ndim == 0 else value


def adjust_p_values(
    p_values: ArrayLike, *, method: Literal["bh", "holm", "none"] = "bh"
) -> NDArray[np.float64]:
    """Correct p-values for testing many features at once, along the last axis.

    ``bh`` (Benjamini–Hochberg, the default) controls the false discovery rate, and when no
    feature drifted at all, the chance of any false flag; ``holm`` controls the family-wise
    error rate under any dependence, at some cost in power. NaN entries (features that could not
    be tested) stay NaN and do not count as tests.

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, 0.03], method="bh").round(4).tolist()
    [0.03, 0.04, 0.04]
    >>> adjust_p_values([0.01, 0.04, 0.03], method="holm").round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    if method not in CORRECTIONS:
        raise ConfigError(f"p-value correction `{method}` is not one of {', '.join(CORRECTIONS)}")
    p = np.array(p_values, dtype=np.float64, ndmin=1)
    if method == "none":
        return p
    if np.any((p < 0) | (p > 1)):
        raise InputDataError("p-values must lie in [0, 1]")
    valid = ~np.isnan(p)
    m = valid.sum(axis=-1, keepdims=True)
    # NaNs sort last (as +inf), so ranks 1..m cover exactly the valid entries.
    order = np.argsort(np.where(valid, p, np.inf), axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    rank = np.arange(1, p.shape[-1] + 1)
    if method == "bh":
        scaled = ranked * m / rank
        # enforce monotonicity from the largest p down
        adjusted = np.minimum.accumulate(
            np.where(np.isnan(scaled), np.inf, scaled)[..., ::-1], axis=-1
        )[..., ::-1]
    else:
        scaled = ranked * (m - rank + 1)
        adjusted = np.maximum.accumulate(np.where(np.isnan(scaled), -np.inf, scaled), axis=-1)
    adjusted = np.clip(adjusted, 0.0, 1.0)
    result = np.empty_like(p)
    np.put_along_axis(result, order, adjusted, axis=-1)
    return np.where(valid, result, np.nan)


def _pool_sparse_bins(
    reference: NDArray[np.float64], current: NDArray[np.float64], min_expected: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Merge runs of adjacent bins so each merged bin expects >= ``min_expected`` rows.

    The expectation is taken for the smaller sample under homogeneity. A group closes as soon
    as it expects ``min_expected`` rows; a short last group joins the one before it. Quantile
    bins and frequency-ordered categories make adjacent bins the natural ones to merge.
    """
    shape = reference.shape
    width = shape[-1]
    ref2 = reference.reshape(-1, width)
    cur2 = current.reshape(-1, width)
    totals = ref2 + cur2
    n_ref = ref2.sum(axis=-1, keepdims=True)
    n_cur = cur2.sum(axis=-1, keepdims=True)
    expected = np.minimum(n_ref, n_cur) * totals / (n_ref + n_cur)
    group = _greedy_groups(np.ascontiguousarray(expected), min_expected)
    flat = (np.arange(ref2.shape[0])[:, None] * width + group).reshape(-1)
    size = ref2.shape[0] * width
    pooled_ref = np.bincount(flat, weights=ref2.reshape(-1), minlength=size)
    pooled_cur = np.bincount(flat, weights=cur2.reshape(-1), minlength=size)
    return pooled_ref.reshape(shape), pooled_cur.reshape(shape)


def _greedy_groups(expected: NDArray[np.float64], min_expected: float) -> NDArray[np.int64]:
    """Group index per bin (row-wise): close a group once it expects ``min_expected`` rows.

    Walks the bins once, every row (feature) at a time in numpy.
    """
    n_rows, width = expected.shape
    group = np.zeros((n_rows, width), dtype=np.int64)
    current = np.zeros(n_rows, dtype=np.int64)
    running = np.zeros(n_rows)
    for j in range(width):
        group[:, j] = current
        running += expected[:, j]
        if j < width - 1:
            closed = running >= min_expected
            current += closed
            running[closed] = 0.0
    # a short last group joins the one before it
    short = (running < min_expected) & (current > 0)
    group[short[:, None] & (group == current[:, None])] -= 1
    return group


# --------------------------------------------------------------------------------------------
# Shared machinery


def _kl_terms(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    return rel_entr(p, q)


def _js_terms(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    m = (p + q) / 2.0
    return (rel_entr(p, m) + rel_entr(q, m)) / 2.0


def _psi_terms(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    return rel_entr(p, q) + rel_entr(q, p)


def _divergence(
    terms,
    first: ArrayLike,
    second: ArrayLike,
    alpha: float,
    base: float | None,
    reduction: str,
    where: ArrayLike | None,
    floor: float | None,
    swapped: bool = False,
) -> float | NDArray[np.float64]:
    if reduction not in REDUCTIONS:
        raise ConfigError(f"reduction `{reduction}` is not one of {', '.join(REDUCTIONS)}")
    first_name, second_name = ("current", "reference") if swapped else ("reference", "current")
    n_first, n_second = _shape(first, first_name)[-1:], _shape(second, second_name)[-1:]
    if n_first and n_second and n_first != n_second:
        raise InputDataError(
            f"mismatched bin counts: {first_name} has {n_first[0]} bins, "
            f"{second_name} has {n_second[0]}"
        )
    p = smoothed_probabilities(first, alpha=alpha, where=where, floor=floor, name=first_name)
    q = smoothed_probabilities(second, alpha=alpha, where=where, floor=floor, name=second_name)
    p, q = _broadcast(p, q)
    # Every measure here is >= 0 in exact arithmetic; rounding can leave -1e-16.
    values = np.maximum(terms(p, q).sum(axis=-1), 0.0)
    if base is not None:
        if base <= 0 or base == 1 or not np.isfinite(base):
            raise ConfigError(f"base must be a positive number other than 1, got `{base}`")
        values = values / np.log(base)
    if reduction == "sum":
        return float(values.sum())
    if reduction == "batchmean":
        return float(values.sum() / max(values.size, 1))
    if reduction == "mean":
        return float(values.sum() / (max(values.size, 1) * p.shape[-1]))
    return float(values) if values.ndim == 0 else values


def _shape(histogram: ArrayLike, name: str) -> tuple[int, ...]:
    try:
        return np.shape(histogram)
    except ValueError:
        raise InputDataError(
            f"{name} is ragged: every histogram in one call needs the same number of bins "
            "(pad with zeros and pass `where=` to mark the real bins)"
        ) from None


def _validated(histogram: ArrayLike, name: str) -> NDArray[np.float64]:
    _shape(histogram, name)
    values = np.asarray(histogram)
    if values.dtype == object or not (
        np.issubdtype(values.dtype, np.number) or values.dtype == bool
    ):
        raise InputDataError(f"{name} must be numeric counts or probabilities, got {values.dtype}")
    values = values.astype(np.float64, copy=False)
    if values.ndim == 0 or values.shape[-1] == 0:
        raise InputDataError(f"{name} must have at least one bin on its last axis")
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise InputDataError(f"{name} has a NaN or infinite value at index {where}")
    if np.any(values < 0):
        where = np.argwhere(values < 0)[0].tolist()
        raise InputDataError(f"{name} has a negative value at index {where}")
    return values


def _is_probability(original: ArrayLike, totals: NDArray[np.float64]) -> bool:
    if np.issubdtype(np.asarray(original).dtype, np.integer) or np.asarray(original).dtype == bool:
        return False
    return bool(np.all(np.abs(totals - 1.0) <= _PROBABILITY_TOLERANCE))


def _bin_mask(
    where: ArrayLike | None, shape: tuple[int, ...], name: str
) -> NDArray[np.bool_] | None:
    if where is None:
        return None
    mask = np.asarray(where, dtype=bool)
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        raise InputDataError(
            f"{name}: `where` of shape {mask.shape} does not fit histograms of shape {shape}"
        ) from None


def _broadcast(
    first: NDArray[np.float64], second: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if first.shape[-1] != second.shape[-1]:
        raise InputDataError(
            f"mismatched bin counts: reference has {first.shape[-1]} bins, "
            f"current has {second.shape[-1]}"
        )
    try:
        return tuple(np.broadcast_arrays(first, second))  # type: ignore[return-value]
    except ValueError:
        raise InputDataError(
            f"histogram shapes {first.shape} and {second.shape} do not broadcast"
        ) from None
