"""Pipeline steps without Prefect: calibrated thresholds travel from reference to check."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftmon import pipeline, store
from driftmon.config import DatasetSettings
from driftmon.errors import ConfigError
from driftmon.examples import generate_example_data


def test_calibrated_thresholds_are_stored_with_the_reference_and_used_by_checks(
    tmp_path: Path,
) -> None:
    example = generate_example_data(tmp_path / "data")
    settings = DatasetSettings.model_validate(
        {
            "calibration": {"batch_rows": 1_000, "resamples": 50},
            "feature": {"items": {"thresholds": {"kl_warning": 0.5, "kl_critical": 0.9}}},
        }
    )
    profile, source, calibrated = pipeline.build_reference_profile(str(example.reference), settings)
    assert calibrated is not None and set(calibrated) == set(profile.features)
    assert all(t["kl_warning"] >= 0.02 for t in calibrated.values())

    engine = store.open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    pipeline.save_reference(engine, "orders", profile, source, settings, calibrated)
    reference = pipeline.load_reference(engine, "orders")
    assert reference.settings["calibrated_kl"] == calibrated

    plan = pipeline.plan_batch(str(example.batches[2]))
    current = pipeline.profile_batch(plan, reference.profile, settings)
    inflated = {name: {"kl_warning": 5.0, "kl_critical": 9.0} for name in calibrated}
    _, verdict = pipeline.evaluate_batch(reference.profile, current, settings, inflated)
    assert not [f for f in verdict.findings if f.signal == "kl"]  # calibrated limits applied
    _, plain = pipeline.evaluate_batch(reference.profile, current, settings, None)
    assert [f.feature for f in plain.findings if f.signal == "kl"] == ["order_value"]


def test_calibration_needs_a_reference_of_at_least_two_batches(tmp_path: Path) -> None:
    example = generate_example_data(tmp_path / "data", reference_rows=1_500)
    settings = DatasetSettings.model_validate({"calibration": {"batch_rows": 1_000}})
    with pytest.raises(ConfigError, match="needs a reference of at least 2000 rows"):
        pipeline.build_reference_profile(str(example.reference), settings)
