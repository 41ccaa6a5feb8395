"""Counting throughput: driftmon's kernels against numpy baselines measured in the same run.

    .venv/bin/python benchmarks/bench_counting.py [--rows 10000000] [--rounds 5]

Numeric: a float64 column into 32 and 256 quantile bins (plus the missing slot), driftmon's
`count_values` vs ``np.searchsorted`` + ``np.bincount`` vs ``np.histogram(bins=edges)``.
Categorical: strings with 20 categories, as a pandas category column (what Parquet dictionary
columns arrive as) and as plain strings, vs ``pd.Categorical(...).codes`` + ``np.bincount``.
Prints median values per second over interleaved rounds, the ratio to the searchsorted baseline,
and whether the counts are identical. Target (issue 2): >= 5x the searchsorted baseline.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from driftmon.bins import count_numeric_baseline, count_values, fit_bins

TARGET_RATIO = 5.0


def _median_rate(function: Callable[[], object], n_values: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return n_values / statistics.median(times)


def bench_numeric(values: np.ndarray, n_bins: int, rounds: int) -> bool:
    spec = fit_bins(values[:1_000_000], n_bins=n_bins)
    inner = spec.inner_edges
    edges = np.asarray(spec.edges)
    count_values(spec, values[:1000])  # compile (or load the cached kernel) outside the timing

    ours = count_values(spec, values).counts
    baseline = count_numeric_baseline(spec, values)
    histogram = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)[0]
    identical = bool(np.array_equal(ours, baseline))
    # np.histogram closes its last bin and has no missing slot: compare the value bins only.
    histogram_matches = bool(np.array_equal(ours[:-1], histogram))

    rates = {"driftmon": [], "searchsorted+bincount": [], "np.histogram": []}
    for _ in range(rounds):  # interleaved, so machine noise hits all methods alike
        rates["driftmon"].append(_median_rate(lambda: count_values(spec, values), values.size, 1))
        rates["searchsorted+bincount"].append(
            _median_rate(
                lambda: np.bincount(
                    np.searchsorted(inner, values, side="right"), minlength=spec.n_slots
                ),
                values.size,
                1,
            )
        )
        rates["np.histogram"].append(
            _median_rate(lambda: np.histogram(values, bins=edges), values.size, 1)
        )
    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["searchsorted+bincount"]
    print(f"\nnumeric, {values.size:,} float64 values, {spec.n_bins} quantile bins")
    for name, rate in medians.items():
        print(f"  {name:<24} {rate / 1e6:8.1f} M values/s   {rate / base:5.2f}x")
    ratio = medians["driftmon"] / base
    print(f"  counts identical to searchsorted+bincount: {identical}")
    print(f"  value bins identical to np.histogram (clipped input): {histogram_matches}")
    passed = ratio >= TARGET_RATIO and identical
    print(f"  target >= {TARGET_RATIO:.0f}x: {'PASS' if passed else 'FAIL'} ({ratio:.2f}x)")
    return passed


def bench_categorical(n_values: int, rounds: int, rng: np.random.Generator) -> bool:
    names = np.array([f"category_{i:02d}" for i in range(20)], dtype=object)
    weights = rng.dirichlet(np.ones(20))
    strings = pd.Series(names[rng.choice(20, size=n_values, p=weights)], dtype=object)
    as_category = strings.astype("category")
    spec = fit_bins(as_category.iloc[:100_000], kind="categorical")
    reference_categories = list(spec.categories)

    def baseline() -> np.ndarray:
        codes = pd.Categorical(strings, categories=reference_categories).codes
        return np.bincount(codes + 1, minlength=len(reference_categories) + 1)

    ours = count_values(spec, as_category).counts
    base_counts = baseline()
    identical = bool(
        np.array_equal(ours[: len(reference_categories)], base_counts[1:])
        and ours[-1] == base_counts[0]
    )
    rates = {
        "driftmon (category dtype)": [],
        "driftmon (strings)": [],
        "pd.Categorical+bincount": [],
    }
    for _ in range(rounds):
        rates["driftmon (category dtype)"].append(
            _median_rate(lambda: count_values(spec, as_category), n_values, 1)
        )
        rates["driftmon (strings)"].append(
            _median_rate(lambda: count_values(spec, strings), n_values, 1)
        )
        rates["pd.Categorical+bincount"].append(_median_rate(baseline, n_values, 1))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["pd.Categorical+bincount"]
    print(f"\ncategorical, {n_values:,} values, 20 categories")
    for name, rate in medians.items():
        print(f"  {name:<26} {rate / 1e6:8.1f} M values/s   {rate / base:5.2f}x")
    print(f"  counts identical to the baseline: {identical}")
    return identical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(20261125)
    values = rng.normal(size=args.rows)
    values[rng.random(args.rows) < 0.01] = np.nan
    results = [bench_numeric(values, n_bins, args.rounds) for n_bins in (32, 256)]
    results.append(bench_categorical(args.rows, max(args.rounds // 2, 1), rng))
    print("\nall targets met" if all(results) else "\nSOME TARGETS MISSED")


if __name__ == "__main__":
    main()
