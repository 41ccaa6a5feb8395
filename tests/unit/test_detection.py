"""Detection with default settings, end to end: healthy batches stay quiet, drift that matters
is caught, negligible differences are not flagged even at a million rows, one category rising
among 200 is caught, and a long tail of ids the reference never saw is not "new categories".

The scenarios of ``benchmarks/bench_detection.py`` at reduced trial counts; the feed and the
scenarios come from ``benchmarks/detection.py`` (loaded by path). Seeded and deterministic.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftmon as dm
from driftmon.bins import DEFAULT_MAX_CATEGORIES
from driftmon.policy import SEVERITIES, Thresholds, Verdict, evaluate


def _load_detection():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "detection.py"
    spec = importlib.util.spec_from_file_location("driftmon_bench_detection", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


detection = _load_detection()

SEED = 4_242
MAX_FEATURE_RATE = 0.01
MAX_RUN_RATE = 0.05
MIN_CATCH_RATE = 0.99
CATEGORY_RISE = "category rise"
# caught in every run from 1,000 rows; the category rise (a target from 10,000 rows) has a test
# of its own with enough trials for a rate
DRIFT_SCENARIOS = [s.name for s in detection.SCENARIOS if s.must_flag and s.name != CATEGORY_RISE]
TAIL = detection.HIGH_CARDINALITY


def _upper_tolerance(rate: float, trials: int) -> float:
    """Target rate plus three standard errors of a Monte-Carlo estimate at that rate."""
    return rate + 3 * np.sqrt(rate * (1 - rate) / trials)


def _lower_tolerance(rate: float, trials: int) -> float:
    """Target rate minus three standard errors of a Monte-Carlo estimate at that rate."""
    return rate - 3 * np.sqrt(rate * (1 - rate) / trials)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *key])


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, dm.BinSpec], dm.Profile]:
    frame = detection.draw_frame(_rng(0), detection.REFERENCE_ROWS)
    specs = dm.fit_specs(frame)
    return specs, dm.profile_frame(frame, specs)


def _batch(scenario, n_rows: int, trial: int) -> pd.DataFrame:
    key = detection.SCENARIOS.index(scenario)
    return detection.draw_frame(_rng(1, key, n_rows, trial), n_rows, scenario)


def _judge(
    reference, scenario, n_rows: int, trial: int, frame: pd.DataFrame | None = None
) -> tuple[dm.Comparison, Verdict]:
    specs, profile = reference
    if frame is None:
        frame = _batch(scenario, n_rows, trial)
    comparison = dm.compare(profile, dm.profile_frame(frame, specs))
    return comparison, evaluate(comparison)


def _flagged(verdict: Verdict) -> list[str]:
    return [name for name, status in verdict.statuses.items() if status in SEVERITIES]


def _new_categories_fired(verdict: Verdict, name: str) -> bool:
    return any(f.feature == name and f.signal == "new_categories" for f in verdict.findings)


# --------------------------------------------------------------------------------------------
# The feed and its scenarios


def test_the_feed_mixes_numeric_and_categorical_features_with_missing_values(reference) -> None:
    specs, profile = reference
    kinds = [spec.kind for spec in specs.values()]
    assert (kinds.count("numeric"), kinds.count("categorical")) == (14, 13)
    categorical = [spec.n_bins - 1 for spec in specs.values() if spec.kind == "categorical"]
    assert min(categorical) == 2 and max(categorical) == DEFAULT_MAX_CATEGORIES
    with_missing = [n for n, f in profile.features.items() if f.n_missing > 0]
    assert len(with_missing) >= 5


def test_the_feed_has_features_with_more_categories_than_a_reference_keeps(reference) -> None:
    specs, profile = reference
    kept = DEFAULT_MAX_CATEGORIES
    # sku: all 200 categories seen, 150 of them in the long tail ("other"), a little under 75%
    # of rows since the kept ones are the reference's most frequent
    assert len(specs["sku"].categories) == kept
    assert specs["sku"].seen.n_distinct == 200
    assert 0.7 < profile.features["sku"].n_other / profile.n_rows < 0.75
    # product_id: a reference sees only part of its 10,000 ids, so batches hold unseen ones
    tail = specs[TAIL].seen
    assert len(specs[TAIL].categories) == kept
    assert 5_000 < tail.n_distinct < 9_000
    assert 0.01 < tail.singleton_share < 0.05


@pytest.mark.parametrize("name", [s.name for s in detection.SCENARIOS if s.feature])
def test_a_scenario_changes_its_feature_and_nothing_else(name: str) -> None:
    scenario = detection.scenario(name)
    plain = detection.draw_frame(_rng(2), 100_000)
    changed = detection.draw_frame(_rng(2), 100_000, scenario)
    others = [c for c in plain.columns if c != scenario.feature]
    # Series.equals: dtypes and values, NaN equal to NaN (assert_frame_equal is slow on
    # categoricals)
    assert [c for c in others if not plain[c].equals(changed[c])] == []
    assert not plain[scenario.feature].equals(changed[scenario.feature])


def test_each_scenario_moves_its_feature_by_the_stated_amount() -> None:
    plain = detection.draw_frame(_rng(3), 100_000)

    def changed(name: str) -> pd.Series:
        scenario = detection.scenario(name)
        return detection.draw_frame(_rng(3), 100_000, scenario)[scenario.feature]

    height_sd = detection.feature("height").sd
    assert np.allclose(changed("mean shift") - plain["height"], 0.5 * height_sd)
    assert np.allclose(changed("negligible shift") - plain["score"], 0.02)
    temperature = changed("variance doubled")
    assert temperature.var() / plain["temperature"].var() == pytest.approx(2.0)
    assert temperature.mean() - 20.0 == pytest.approx(
        np.sqrt(2) * (plain["temperature"].mean() - 20)
    )
    assert (changed("new category") == "segment_new").mean() == pytest.approx(0.05, abs=0.003)
    assert plain["wait_time"].isna().mean() == pytest.approx(0.02, abs=0.002)
    assert changed("missing rise").isna().mean() == pytest.approx(0.12, abs=0.003)
    ratio = changed("out of range")
    assert ((ratio < 0) | (ratio >= 1)).mean() == pytest.approx(0.10, abs=0.003)
    before = plain["sku"].value_counts(normalize=True)
    after = changed(CATEGORY_RISE).value_counts(normalize=True)
    risen = after.idxmax()
    assert before.max() < 0.007
    assert after[risen] == pytest.approx(detection.RISEN_SHARE, abs=0.002)
    # every other category scaled down by the same factor, 0.97 / 0.995
    others = after.drop(risen) / before.drop(risen)
    assert others.mean() == pytest.approx(0.97 / 0.995, abs=0.005)


# --------------------------------------------------------------------------------------------
# Detection with the default bins, comparison and thresholds


@pytest.mark.slow
@pytest.mark.parametrize(("n_rows", "trials"), [(50, 200), (1_000, 200), (100_000, 40)])
def test_batches_without_drift_are_rarely_flagged(reference, n_rows: int, trials: int) -> None:
    runs_flagged = 0
    features_flagged = 0
    features_checked = 0
    new_categories = 0
    for trial in range(trials):
        _, verdict = _judge(reference, detection.NO_DRIFT, n_rows, trial)
        features_flagged += len(_flagged(verdict))
        features_checked += len(verdict.statuses)
        # dataset-level (and any other) findings flag the run too
        runs_flagged += verdict.overall in SEVERITIES
        new_categories += _new_categories_fired(verdict, TAIL)
    assert features_checked == trials * len(detection.FEATURES)
    assert runs_flagged / trials <= _upper_tolerance(MAX_RUN_RATE, trials)
    assert features_flagged / features_checked <= _upper_tolerance(
        MAX_FEATURE_RATE, features_checked
    )
    assert new_categories == 0


@pytest.mark.slow
@pytest.mark.parametrize("n_rows", [1_000, 10_000])
@pytest.mark.parametrize("name", DRIFT_SCENARIOS)
def test_drift_that_matters_is_caught_in_every_run(reference, name: str, n_rows: int) -> None:
    scenario = detection.scenario(name)
    trials = 25
    missed = []
    for trial in range(trials):
        comparison, verdict = _judge(reference, scenario, n_rows, trial)
        if verdict.statuses[scenario.feature] not in SEVERITIES:
            result = comparison.feature(scenario.feature)
            missed.append(
                f"trial {trial}: KL {result.kl:.4f}, p {result.p_value:.2g}, unseen "
                f"{result.unseen_share_current:.3f}, missing {result.missing_share_current:.3f}"
            )
    assert not missed, f"{name} at {n_rows} rows missed in {len(missed)}/{trials}: {missed}"


@pytest.mark.slow
def test_a_negligible_shift_is_not_flagged_at_a_million_rows(reference) -> None:
    """Counted at the level of the changed feature: the other 24 features' counts come from one
    million-row batch without drift, and every trial draws a fresh million-row ``score``."""
    specs, profile = reference
    n_rows = 1_000_000
    scenario = detection.NEGLIGIBLE_SHIFT
    others = [f for f in detection.FEATURES if f.name != scenario.feature]
    background = dm.profile_frame(detection.draw_frame(_rng(4), n_rows, features=others), specs)
    score = detection.feature(scenario.feature)
    trials = 40
    flagged, kls = 0, []
    for trial in range(trials):
        column = detection.draw_column(_rng(5, trial), score, n_rows, scenario.change)
        counted = dm.FeatureProfile(specs[score.name], dm.count_values(specs[score.name], column))
        current = dm.Profile(
            {**background.features, score.name: counted},
            n_rows,
            (*background.columns, score.name),
        )
        comparison = dm.compare(profile, current)
        verdict = evaluate(comparison)
        assert not comparison.schema.changed
        flagged += verdict.statuses[score.name] in SEVERITIES
        kls.append(comparison.feature(score.name).kl)
    # at most 1% of runs: with 40 trials, none
    assert flagged == 0, f"flagged in {flagged}/{trials} runs; KL up to {max(kls):.5f}"
    assert max(kls) < Thresholds().kl_warning


@pytest.mark.slow
def test_one_category_rising_from_half_a_percent_to_three_among_200_is_caught(reference) -> None:
    """The risen category is drawn per batch, so the rate covers every category of ``sku``,
    those the reference keeps as bins and those in its long tail alike."""
    specs, _ = reference
    scenario = detection.scenario(CATEGORY_RISE)
    n_rows, trials = 10_000, 200
    caught = {True: 0, False: 0}
    runs = {True: 0, False: 0}
    for trial in range(trials):
        frame = _batch(scenario, n_rows, trial)
        # the risen category holds 3% of rows, every other one ~0.5%
        kept = frame[scenario.feature].value_counts().idxmax() in specs[scenario.feature].categories
        _, verdict = _judge(reference, scenario, n_rows, trial, frame)
        runs[kept] += 1
        caught[kept] += verdict.statuses[scenario.feature] in SEVERITIES
    rate = (caught[True] + caught[False]) / trials
    assert rate >= _lower_tolerance(MIN_CATCH_RATE, trials), (
        f"caught in {rate:.1%} of {trials} runs: {caught[True]}/{runs[True]} where the risen "
        f"category is one of the {len(specs[scenario.feature].categories)} kept bins, "
        f"{caught[False]}/{runs[False]} where it is in the reference's long tail"
    )


@pytest.mark.slow
def test_a_long_tail_of_ids_the_reference_never_saw_is_not_new_categories(reference) -> None:
    """Batches of 10,000 rows from the reference distribution: ~2.6% of their ids are ones the
    100,000-row reference never saw, as its Good-Turing share expects. None may fire."""
    n_rows, trials = 10_000, 200
    fired, unseen, excess = 0, [], []
    for trial in range(trials):
        comparison, verdict = _judge(reference, detection.NO_DRIFT, n_rows, trial)
        fired += _new_categories_fired(verdict, TAIL)
        result = comparison.feature(TAIL)
        unseen.append(result.unseen_share_current)
        excess.append(result.unseen_share_current - result.unseen_share_reference)
    # never-seen ids in every batch, scattered around the reference's expectation
    assert min(unseen) > 0.01
    assert min(excess) < 0 < max(excess)
    assert fired == 0, f"new_categories fired in {fired}/{trials} runs, excess up to {max(excess)}"
