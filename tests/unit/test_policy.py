from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import driftmon as dm
from driftmon.errors import ConfigError
from driftmon.policy import Thresholds, evaluate


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def _comparison(rng: np.random.Generator, n_current: int, shift: float) -> dm.Comparison:
    reference = pd.DataFrame({"x": rng.normal(size=50_000), "y": rng.normal(size=50_000)})
    current = pd.DataFrame(
        {"x": rng.normal(size=n_current) + shift, "y": rng.normal(size=n_current)}
    )
    specs = dm.fit_specs(reference)
    return dm.compare(dm.profile_frame(reference, specs), dm.profile_frame(current, specs))


def test_a_large_significant_shift_is_critical_and_the_untouched_feature_ok(rng) -> None:
    verdict = evaluate(_comparison(rng, 5_000, shift=1.0))
    assert verdict.statuses == {"x": "critical", "y": "ok"}
    assert verdict.overall == "critical"
    assert verdict.drifted == ("x",)


def test_a_negligible_shift_on_many_rows_is_significant_but_not_drift(rng) -> None:
    comparison = _comparison(rng, 1_000_000, shift=0.02)
    x = comparison.feature("x")
    assert x.p_value < 0.01  # the test sees it ...
    assert x.kl < 0.02  # ... but the effect is negligible
    assert evaluate(comparison).statuses["x"] == "ok"


def test_a_moderate_shift_is_a_warning_with_per_feature_thresholds_applied(rng) -> None:
    comparison = _comparison(rng, 20_000, shift=0.3)
    kl = comparison.feature("x").kl
    assert 0.02 < kl < 0.1
    assert evaluate(comparison).statuses["x"] == "warning"
    strict = {"x": Thresholds(kl_warning=kl / 2, kl_critical=kl / 1.5)}
    assert evaluate(comparison, per_feature=strict).statuses["x"] == "critical"


def test_an_empty_batch_is_empty_not_ok(rng) -> None:
    reference = pd.DataFrame({"x": rng.normal(size=1000)})
    specs = dm.fit_specs(reference)
    comparison = dm.compare(
        dm.profile_frame(reference, specs), dm.profile_frame(reference.iloc[:0], specs)
    )
    verdict = evaluate(comparison)
    assert verdict.statuses == {"x": "empty"}
    assert verdict.overall == "empty"


def test_thresholds_are_validated() -> None:
    with pytest.raises(ConfigError, match="kl_warning <= kl_critical"):
        Thresholds(kl_warning=0.2, kl_critical=0.1)
    with pytest.raises(ConfigError, match="significance must be in"):
        Thresholds(significance=1.5)
