"""Pipeline steps without Prefect: calibrated thresholds travel from reference to check."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import driftmon
from driftmon import pipeline, store
from driftmon.config import DatasetSettings
from driftmon.errors import ConfigError, DriftmonError
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
    ).resolve()
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
    settings = DatasetSettings.model_validate({"calibration": {"batch_rows": 1_000}}).resolve()
    with pytest.raises(ConfigError, match="needs a reference of at least 2000 rows"):
        pipeline.build_reference_profile(str(example.reference), settings)


# --------------------------------------------------------------------------------------------
# Batch time and alert state through the real store


def _options(**settings: object):
    return DatasetSettings.model_validate(settings).resolve()


def _reference_db(tmp_path: Path, example, options) -> tuple:
    engine = store.open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    profile, source, _ = pipeline.build_reference_profile(str(example.reference), options)
    pipeline.save_reference(engine, "orders", profile, source, options)
    return engine, pipeline.load_reference(engine, "orders")


def _check(engine, reference, path: Path, options, *, batch_time=None, reports_dir=None) -> object:
    """The check flow's steps, in its order, without Prefect."""
    plan = pipeline.plan_batch(str(path), batch_time=batch_time)
    current = pipeline.profile_batch(plan, reference.profile, options)
    comparison, verdict = pipeline.evaluate_batch(reference.profile, current, options)
    result = pipeline.record_run(
        engine,
        dataset=reference.dataset,
        plan=plan,
        reference=reference,
        comparison=comparison,
        verdict=verdict,
        current=current,
        options=options,
        started_at=pipeline.now(),
        reports_dir=reports_dir,
    )
    if reports_dir:
        result = result.with_report(pipeline.write_report(engine, result.run_id, reports_dir))
    return result


def _open_alerts(engine) -> set[tuple]:
    with store.session_scope(engine) as session:
        return {(a.feature, a.signal, a.severity) for a in store.list_alerts(session, "orders")}


def test_batches_checked_in_shuffled_order_end_with_the_alerts_of_checking_them_in_order(
    tmp_path: Path,
) -> None:
    example = generate_example_data(tmp_path / "data")
    options = _options()
    in_order_engine, reference = _reference_db(tmp_path / "a", example, options)
    for batch in example.batches:
        _check(in_order_engine, reference, batch, options)
    shuffled_engine, shuffled_reference = _reference_db(tmp_path / "b", example, options)
    for position in (4, 0, 5, 2, 1, 3):
        _check(shuffled_engine, shuffled_reference, example.batches[position], options)

    expected = _open_alerts(in_order_engine)
    assert ("customer_age", "missing", "critical") in expected  # the newest batch's drift
    assert _open_alerts(shuffled_engine) == expected
    with store.session_scope(shuffled_engine) as session:
        listed = [run.batch_time.date().isoformat() for run in store.list_runs(session, "orders")]
    assert listed == sorted(listed, reverse=True)  # history follows batch time, not check time


def test_re_checking_an_old_batch_leaves_the_alerts_of_newer_batches_alone(
    tmp_path: Path,
) -> None:
    example = generate_example_data(tmp_path / "data")
    options = _options()
    engine, reference = _reference_db(tmp_path, example, options)
    for batch in example.batches:
        _check(engine, reference, batch, options)
    before = _open_alerts(engine)
    with store.session_scope(engine) as session:
        ids_before = {a.id for a in store.list_alerts(session, "orders")}

    result = _check(engine, reference, example.batches[2], options)  # the shifted-mean batch

    assert result.replaced and all(a["change"] in ("held", "clearing") for a in result.alerts)
    assert _open_alerts(engine) == before
    with store.session_scope(engine) as session:
        assert {a.id for a in store.list_alerts(session, "orders")} == ids_before
        assert store.load_latest_run(session, "orders").batch_key.find("2026-11-06") >= 0


def test_a_batch_time_given_explicitly_wins_over_the_file_name(tmp_path: Path) -> None:
    example = generate_example_data(tmp_path / "data")
    options = _options()
    engine, reference = _reference_db(tmp_path, example, options)
    late = datetime(2027, 1, 1, tzinfo=UTC)
    result = _check(engine, reference, example.batches[0], options, batch_time=late)
    assert result.batch_time == late
    named = pipeline.plan_batch(str(example.batches[1]))
    assert named.batch_time == datetime(2026, 11, 2, tzinfo=UTC)
    assert named.label == "2026-11-02.parquet"


# --------------------------------------------------------------------------------------------
# Any name, any mixture of values


_NAMES = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
_CELLS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    st.text(max_size=12),
)


def test_any_names_and_mixed_values_give_a_run_or_a_driftmon_error(tmp_path: Path) -> None:
    """Random Unicode dataset and column names, columns mixing numbers, text, booleans and
    missing values: every check ends in a stored, listed run with its report, or in a
    `DriftmonError`; and most of them are runs, or the test would prove little."""
    outcomes: list[str] = []
    calls = itertools.count()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        dataset=_NAMES,
        columns=st.lists(_NAMES, min_size=1, max_size=4, unique=True),
        rows=st.integers(2, 30),
        data=st.data(),
    )
    def check(dataset, columns, rows, data) -> None:
        folder = tmp_path / f"case-{next(calls)}"
        folder.mkdir()
        width = len(columns)
        cells = data.draw(
            st.lists(st.lists(_CELLS, min_size=width, max_size=width), min_size=rows,
                     max_size=rows)
        )  # fmt: skip
        outcomes.append(_check_any(folder, dataset, pd.DataFrame(cells, columns=columns)))

    check()
    assert outcomes.count("run") >= len(outcomes) // 3, outcomes


def test_control_characters_in_names_and_values_give_a_run_or_a_clear_error(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame({"a\x1b[31m\tcol": ["x\x00y", "z\n", None, "x\x00y"], "n": [1, 2, 3, 4]})
    assert _check_any(tmp_path, "data\x1bset \u202e", frame, parquet=True) == "run"
    with_nul = pd.DataFrame({"bad\x00name": [1.0, 2.0, 3.0]})
    folder = tmp_path / "nul"
    folder.mkdir()
    assert _check_any(folder, "fine", with_nul) == "error"


def _check_any(folder: Path, dataset: str, frame: pd.DataFrame, *, parquet: bool = False) -> str:
    """Write ``frame`` as a reference and as a batch (CSV, or Parquet), check it through the
    steps, and say whether it made a run (asserting the run is listed and has its report) or
    an error."""
    reference, batch = folder / "ref.csv", folder / "2026-11-25.csv"
    if parquet:
        reference, batch = reference.with_suffix(".parquet"), batch.with_suffix(".parquet")
        frame.to_parquet(reference)
        frame.iloc[::-1].to_parquet(batch)
    else:
        reference.write_text(frame.to_csv(index=False), encoding="utf-8")
        batch.write_text(frame.iloc[::-1].to_csv(index=False), encoding="utf-8")
    engine = store.open_store(f"sqlite:///{folder / 'db.sqlite'}")
    options = _options()
    try:
        try:
            profile, source, _ = pipeline.build_reference_profile(str(reference), options)
            pipeline.save_reference(engine, dataset, profile, source, options)
            reference = pipeline.load_reference(engine, dataset)
            result = _check(engine, reference, batch, options, reports_dir=str(folder / "reports"))
        except DriftmonError:
            return "error"
        with store.session_scope(engine) as session:
            assert [r.id for r in store.list_runs(session, dataset)] == [result.run_id]
        assert result.report_path is not None
        assert Path(result.report_path).resolve().is_relative_to((folder / "reports").resolve())
        return "run"
    finally:
        engine.dispose()


def test_counter_like_features_are_whole_numbers_about_one_a_row_spread_evenly() -> None:
    """Sequential IDs (even shuffled, with gaps, stored as floats) are pointed out; values
    that repeat a few numbers, spread unevenly, are not whole, step by three, are too few or
    are random whole numbers over a range as wide (seconds waited: some repeat) are not."""
    rng = np.random.default_rng(7)
    n = 20_000
    frame = pd.DataFrame(
        {
            "order_id": np.arange(1_001, n + 1_001),
            "gappy_id": rng.permutation(np.sort(rng.choice(3 * n // 2, n, replace=False))),
            "float_id": np.arange(n) + 0.0,
            "amount": rng.uniform(0, n, n),  # not whole numbers
            "normal": np.round(rng.normal(n / 2, n / 8, n)),  # whole, not even
            "quantity": rng.poisson(3, n),  # a few values: one bin each
            "every_third": np.arange(n) * 3,  # three values a row
            "random_whole": rng.integers(0, 3 * n // 2, n),  # even, wide, but repeats
        }
    )
    profile = driftmon.profile(frame)
    few = driftmon.profile(pd.DataFrame({"id": np.arange(pipeline.IDENTIFIER_MIN_DISTINCT - 1)}))

    found = pipeline.counter_like_features(profile)

    assert found == {
        "order_id": {"from": "1001", "to": "21000"},
        "gappy_id": {"from": str(frame["gappy_id"].min()), "to": str(frame["gappy_id"].max())},
        "float_id": {"from": "0", "to": "19999"},
    }
    assert pipeline.counter_like_features(few) == {}
    [warning] = pipeline.reference_warnings([], {}, {}, {"order_id": found["order_id"]})
    assert warning == (
        "order_id holds whole numbers from 1001 to 21000, about one a row: if it counts up (an "
        "ID, a sequence number), every later batch lies beyond that range and checks will flag "
        'it; exclude it (`exclude = ["order_id"]` in the dataset\'s configuration) unless it is '
        "what you want to watch"
    )


def test_time_like_features_are_dates_reaching_within_a_year_of_the_build() -> None:
    built_at = datetime(2026, 12, 1, tzinfo=UTC)
    days = pd.to_timedelta(np.arange(100), unit="D")
    frame = pd.DataFrame(
        {
            "edge": pd.Timestamp("2025-11-30") + days - pd.Timedelta(days=99),  # ends 366 d back
            "older": pd.Timestamp("2025-11-29") + days - pd.Timedelta(days=99),  # 367 d back
            "future": pd.Timestamp("2027-01-01") + days,
            "amount": np.arange(100.0),
        }
    )
    profile = driftmon.profile(frame)

    assert pipeline.time_like_features(profile, built_at) == {
        "edge": {"from": "2025-08-23", "to": "2025-11-30"},
        "future": {"from": "2027-01-01", "to": "2027-04-10"},
    }
