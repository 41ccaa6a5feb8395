"""Synthetic tabular feeds and drift scenarios, shared by the detection benchmark and its tests.

Pure numpy/pandas, no driftmon import: the generator only knows the *true* distributions, so
the benchmark measures driftmon against ground truth. 27 features, a realistic mix:

- 14 numeric: normals, lognormal / gamma / exponential (skewed), uniform, a bimodal mixture,
  integer codes with few values, Poisson counts (few and many distinct values), some with
  1-5% missing values;
- 13 categorical: cardinalities 2 to 40 with Zipf-like frequencies (pandas categoricals, as
  Parquet dictionary columns arrive), booleans (one nullable), some with missing values; and
  two with more categories than a reference keeps as bins (50 by default): ``sku``, 200
  categories with equal shares (0.5% each), and ``product_id`` (`HIGH_CARDINALITY`), 10,000
  ids with Zipf s=1.1, so a 100,000-row reference sees only ~7,400 of them and every batch
  holds ids from the reference's long tail and ids it never saw (~2.6% of rows).

A `Scenario` changes one feature of the batch and nothing else; `NO_DRIFT` changes nothing, so
the batch comes from the reference distribution itself. Every draw is vectorized per feature.

Tests load this file by path (``importlib.util``); the benchmark imports it as ``detection``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "FEATURES",
    "HIGH_CARDINALITY",
    "NEGLIGIBLE_SHIFT",
    "NO_DRIFT",
    "REFERENCE_ROWS",
    "RISEN_SHARE",
    "SCENARIOS",
    "Feature",
    "Scenario",
    "draw_column",
    "draw_frame",
    "feature",
    "scenario",
]

#: Rows of every reference.
REFERENCE_ROWS = 100_000

Draw = Callable[[np.random.Generator, int], NDArray]


@dataclass(frozen=True, slots=True)
class Feature:
    """One column's true distribution: values without missing, then a missing share.

    Numeric ``draw`` returns the values; categorical ``draw`` returns codes into
    ``categories``; boolean ``draw`` returns bools. ``mean`` / ``sd`` are the true moments
    (numeric only), used by scenarios that shift or scale in units of standard deviations;
    ``probs`` the true category shares (categorical only), used by scenarios that move one.
    """

    name: str
    kind: str  # "numeric", "categorical" or "boolean"
    description: str
    draw: Draw
    missing: float = 0.0
    categories: tuple[str, ...] = ()
    mean: float | None = None
    sd: float | None = None
    probs: tuple[float, ...] = ()


def _normal(mean: float, sd: float) -> Draw:
    return lambda rng, n: rng.normal(mean, sd, n)


def _zipf_codes(k: int, s: float) -> tuple[Draw, tuple[float, ...]]:
    weights = 1.0 / np.arange(1, k + 1) ** s
    probs = weights / weights.sum()
    return (lambda rng, n: rng.choice(k, n, p=probs)), tuple(probs.tolist())


def _bimodal(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    first = rng.random(n) < 0.6
    return np.where(first, rng.normal(5.0, 1.0, n), rng.normal(12.0, 2.0, n))


def _categorical(name: str, description: str, k: int, s: float, missing: float = 0.0) -> Feature:
    """``k`` categories ``{name}_00``, ... with Zipf shares of exponent ``s`` (0: equal)."""
    draw, probs = _zipf_codes(k, s)
    width = max(2, len(str(k - 1)))
    categories = tuple(f"{name}_{i:0{width}d}" for i in range(k))
    return Feature(name, "categorical", description, draw, missing, categories, probs=probs)


_RATING_P = (0.05, 0.1, 0.2, 0.35, 0.3)

#: The feature with far more categories than a reference sees: its batches always hold values
#: the reference never saw, which must not read as new categories.
HIGH_CARDINALITY = "product_id"

FEATURES: tuple[Feature, ...] = (
    # numeric ------------------------------------------------------------------------------
    Feature("height", "numeric", "normal(170, 10)", _normal(170.0, 10.0), mean=170.0, sd=10.0),
    Feature("temperature", "numeric", "normal(20, 5)", _normal(20.0, 5.0), mean=20.0, sd=5.0),
    Feature("score", "numeric", "normal(0, 1)", _normal(0.0, 1.0), mean=0.0, sd=1.0),
    Feature(
        "balance",
        "numeric",
        "normal(1000, 300), 5% missing",
        _normal(1000.0, 300.0),
        0.05,
        mean=1000.0,
        sd=300.0,
    ),
    Feature(
        "income",
        "numeric",
        "lognormal(10, 0.8), 3% missing",
        lambda rng, n: rng.lognormal(10.0, 0.8, n),
        0.03,
    ),
    Feature("latency_ms", "numeric", "lognormal(3, 1)", lambda rng, n: rng.lognormal(3.0, 1.0, n)),
    Feature("load", "numeric", "gamma(2, 2)", lambda rng, n: rng.gamma(2.0, 2.0, n)),
    Feature("ratio", "numeric", "uniform(0, 1)", lambda rng, n: rng.random(n)),
    Feature(
        "wait_time",
        "numeric",
        "exponential(30), 2% missing",
        lambda rng, n: rng.exponential(30.0, n),
        0.02,
    ),
    Feature("session_len", "numeric", "0.6 N(5, 1) + 0.4 N(12, 2)", _bimodal),
    Feature(
        "rating",
        "numeric",
        "integer codes 1-5, 1% missing",
        lambda rng, n: rng.choice(5, n, p=_RATING_P) + 1,
        0.01,
    ),
    Feature("priority", "numeric", "integer codes 0-2", lambda rng, n: rng.integers(0, 3, n)),
    Feature("n_items", "numeric", "Poisson(3)", lambda rng, n: rng.poisson(3.0, n)),
    Feature("n_visits", "numeric", "Poisson(12)", lambda rng, n: rng.poisson(12.0, n)),
    # categorical ----------------------------------------------------------------------------
    _categorical("country", "40 categories, Zipf s=1.1, 1% missing", 40, 1.1, 0.01),
    _categorical("city", "35 categories, Zipf s=1.3", 35, 1.3),
    _categorical("product", "25 categories, Zipf s=1.0, 2% missing", 25, 1.0, 0.02),
    _categorical("language", "15 categories, Zipf s=1.5, 3% missing", 15, 1.5, 0.03),
    _categorical("segment", "12 categories, Zipf s=0.8", 12, 0.8),
    _categorical("browser", "6 categories, Zipf s=1.2", 6, 1.2),
    _categorical("status", "5 categories, Zipf s=2.0", 5, 2.0),
    _categorical("plan", "4 categories, Zipf s=0.5", 4, 0.5),
    _categorical("device", "3 categories, Zipf s=1.0", 3, 1.0),
    _categorical("sku", "200 categories, equal shares (0.5% each)", 200, 0.0),
    _categorical(HIGH_CARDINALITY, "10,000 ids, Zipf s=1.1", 10_000, 1.1),
    Feature("is_member", "boolean", "boolean, 30% True", lambda rng, n: rng.random(n) < 0.3),
    Feature(
        "has_coupon",
        "boolean",
        "nullable boolean, 10% True, 2% missing",
        lambda rng, n: rng.random(n) < 0.1,
        0.02,
    ),
)

_BY_NAME = {f.name: f for f in FEATURES}


def feature(name: str) -> Feature:
    return _BY_NAME[name]


# --------------------------------------------------------------------------------------------
# Scenarios

#: A scenario's change: (rng, feature, values, missing mask) -> (values, missing mask).
Change = Callable[
    [np.random.Generator, Feature, NDArray, NDArray[np.bool_]],
    tuple[NDArray, NDArray[np.bool_]],
]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A change to one feature of a batch (none for `NO_DRIFT`).

    ``must_flag``: True for drift that must be caught, False for changes that must not be
    flagged (no drift, negligible differences). ``share``: the share the change moves, if any
    (``unseen``: new categories or out-of-range values; ``missing``: missing values;
    ``category``: one category's share).
    """

    name: str
    description: str
    feature: str | None
    change: Change | None
    must_flag: bool
    share: str | None = None


def _mean_shift(sds: float) -> Change:
    def change(rng, spec, values, missing):
        return values + sds * spec.sd, missing

    return change


def _variance_doubled(rng, spec, values, missing):
    return spec.mean + (values - spec.mean) * np.sqrt(2.0), missing


def _new_category(rng, spec, codes, missing):
    # 5% of all rows (missing ones included) now hold a category the reference never had
    moved = rng.random(codes.size) < 0.05
    codes = np.where(moved, len(spec.categories), codes)
    return codes, missing & ~moved


#: The share of rows the risen category of the "category rise" scenario ends with.
RISEN_SHARE = 0.03


def _category_rise(rng, spec, codes, missing):
    # one category, drawn per batch (any of them may be the one that rises), goes from its
    # true share of rows to RISEN_SHARE; every other category and missing values keep their
    # proportions among the remaining rows
    risen = rng.integers(len(spec.categories))
    before = spec.probs[risen] * (1.0 - spec.missing)
    held = (codes == risen) & ~missing
    moved = ~held & (rng.random(codes.size) < (RISEN_SHARE - before) / (1.0 - before))
    return np.where(moved, risen, codes), missing & ~moved


def _missing_rise(rng, spec, values, missing):
    # +10 percentage points: that share of all rows, taken from the rows that had a value
    extra = ~missing & (rng.random(values.size) < 0.10 / (1.0 - spec.missing))
    return values, missing | extra


def _out_of_range(rng, spec, values, missing):
    # 10% of the values move beyond the feature's support [0, 1) (so beyond any reference's
    # range), half below it and half above it
    moved = ~missing & (rng.random(values.size) < 0.10)
    beyond = rng.uniform(0.001, 0.5, values.size)
    outside = np.where(rng.random(values.size) < 0.5, -beyond, 1.0 + beyond)
    return np.where(moved, outside, values), missing


NO_DRIFT = Scenario("no drift", "batch drawn from the reference distribution", None, None, False)
NEGLIGIBLE_SHIFT = Scenario(
    "negligible shift", "score: mean + 0.02 sd", "score", _mean_shift(0.02), False
)
SCENARIOS: tuple[Scenario, ...] = (
    NO_DRIFT,
    Scenario("mean shift", "height: mean + 0.5 sd", "height", _mean_shift(0.5), True),
    Scenario(
        "variance doubled",
        "temperature: variance x 2, same mean",
        "temperature",
        _variance_doubled,
        True,
    ),
    Scenario(
        "new category",
        "segment: a new category holds 5% of rows",
        "segment",
        _new_category,
        True,
        "unseen",
    ),
    Scenario(
        "missing rise",
        "wait_time: missing share 2% -> 12%",
        "wait_time",
        _missing_rise,
        True,
        "missing",
    ),
    Scenario(
        "out of range",
        "ratio: 10% of values beyond the reference range",
        "ratio",
        _out_of_range,
        True,
        "unseen",
    ),
    NEGLIGIBLE_SHIFT,
    # last, so the scenarios before it keep their index (and seeds)
    Scenario(
        "category rise",
        "sku: one of 200 categories (drawn per batch) 0.5% -> 3% of rows",
        "sku",
        _category_rise,
        True,
        "category",
    ),
)


def scenario(name: str) -> Scenario:
    for candidate in SCENARIOS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Drawing


def draw_column(
    rng: np.random.Generator, spec: Feature, n_rows: int, change: Change | None = None
) -> pd.Series | NDArray:
    """One column of ``n_rows`` values from the feature's distribution, optionally changed."""
    values = spec.draw(rng, n_rows)
    missing = rng.random(n_rows) < spec.missing if spec.missing else np.zeros(n_rows, dtype=bool)
    if change is not None:
        values, missing = change(rng, spec, values, missing)
    if spec.kind == "categorical":
        categories = spec.categories
        if values.size and values.max() >= len(categories):
            categories = (*categories, f"{spec.name}_new")
        codes = np.where(missing, -1, values)
        return pd.Categorical.from_codes(codes, categories=list(categories))
    if spec.kind == "boolean":
        if not spec.missing:
            return values
        return pd.arrays.BooleanArray(values, missing)
    if missing.any() or spec.missing:
        # a column with missing values arrives as float (as from CSV or Parquet)
        return np.where(missing, np.nan, values.astype(np.float64))
    return values


def draw_frame(
    rng: np.random.Generator,
    n_rows: int,
    scenario: Scenario = NO_DRIFT,
    *,
    features: Sequence[Feature] = FEATURES,
) -> pd.DataFrame:
    """A batch of ``n_rows`` rows of every feature, with the scenario's change applied.

    Each feature draws from its own child generator (``rng.spawn``), so a scenario changes its
    feature's values only: the other columns are those of the same seed without the change.
    """
    streams = rng.spawn(len(features))
    columns = {
        spec.name: draw_column(
            stream, spec, n_rows, scenario.change if spec.name == scenario.feature else None
        )
        for stream, spec in zip(streams, features, strict=True)
    }
    return pd.DataFrame(columns, copy=False)
