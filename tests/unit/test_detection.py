"""Detection with default settings, end to end: healthy batches stay quiet, drift that matters
is caught, negligible differences are not flagged even at a million rows.

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
DRIFT_SCENARIOS = [s.name for s in detection.SCENARIOS if s.must_flag]


def _upper_tolerance(rate: float, trials: int) -> float:
    """Target rate plus three standard errors of a Monte-Carlo estimate at that rate."""
    return rate + 3 * np.sqrt(rate * (1 - rate) / trials)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *key])


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, dm.BinSpec], dm.Profile]:
    frame = detection.draw_frame(_rng(0), detection.REFERENCE_ROWS)
    specs = dm.fit_specs(frame)
    return specs, dm.profile_frame(frame, specs)


def _judge(reference, scenario, n_rows: int, trial: int) -> tuple[dm.Comparison, Verdict]:
    specs, profile = reference
    key = detection.SCENARIOS.index(scenario)
    frame = detection.draw_frame(_rng(1, key, n_rows, trial), n_rows, scenario)
    comparison = dm.compare(profile, dm.profile_frame(frame, specs))
    return comparison, evaluate(comparison)


def _flagged(verdict: Verdict) -> list[str]:
    return [name for name, status in verdict.statuses.items() if status in SEVERITIES]


# --------------------------------------------------------------------------------------------
# The feed and its scenarios


def test_the_feed_mixes_numeric_and_categorical_features_with_missing_values(reference) -> None:
    specs, profile = reference
    kinds = [spec.kind for spec in specs.values()]
    assert (kinds.count("numeric"), kinds.count("categorical")) == (14, 11)
    categorical = [spec.n_bins - 1 for spec in specs.values() if spec.kind == "categorical"]
    assert min(categorical) == 2 and max(categorical) == 40
    with_missing = [n for n, f in profile.features.items() if f.n_missing > 0]
    assert len(with_missing) >= 5


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


# --------------------------------------------------------------------------------------------
# Detection with the default bins, comparison and thresholds


@pytest.mark.slow
@pytest.mark.parametrize(("n_rows", "trials"), [(50, 200), (1_000, 200), (100_000, 40)])
def test_batches_without_drift_are_rarely_flagged(reference, n_rows: int, trials: int) -> None:
    runs_flagged = 0
    features_flagged = 0
    features_checked = 0
    for trial in range(trials):
        _, verdict = _judge(reference, detection.NO_DRIFT, n_rows, trial)
        features_flagged += len(_flagged(verdict))
        features_checked += len(verdict.statuses)
        # dataset-level (and any other) findings flag the run too
        runs_flagged += verdict.overall in SEVERITIES
    assert runs_flagged / trials <= _upper_tolerance(MAX_RUN_RATE, trials)
    assert features_flagged / features_checked <= _upper_tolerance(
        MAX_FEATURE_RATE, features_checked
    )


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
