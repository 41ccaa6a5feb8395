"""The example data: deterministic files, and drift exactly where it is declared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon.compare import compare
from driftmon.errors import ConfigError
from driftmon.examples import ExampleData, FileFormat, example_frames, generate_example_data
from driftmon.profile import fit_specs, profile_frame
from driftmon.sources import FileSource, iter_chunks, resolve_files

NUMERIC = ["order_value", "items", "delivery_days", "customer_age", "discount_rate"]
CATEGORICAL = ["country", "channel", "payment", "is_returning"]


Frames = tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, frozenset[str]]]


@pytest.fixture(scope="module")
def frames() -> Frames:
    return example_frames(seed=7)


def _file_bytes(data: ExampleData) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in [data.reference, *data.batches]}


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_same_seed_writes_identical_bytes(tmp_path: Path, file_format: FileFormat) -> None:
    first = generate_example_data(tmp_path / "one", seed=11, file_format=file_format)
    second = generate_example_data(tmp_path / "two", seed=11, file_format=file_format)
    other = generate_example_data(tmp_path / "three", seed=12, file_format=file_format)

    assert _file_bytes(first) == _file_bytes(second)
    assert (
        _file_bytes(first)["reference." + file_format]
        != (_file_bytes(other)["reference." + file_format])
    )


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_files_read_back_as_the_example_frames(tmp_path: Path, file_format: FileFormat) -> None:
    data = generate_example_data(
        tmp_path, seed=3, reference_rows=2_000, batch_rows=500, file_format=file_format
    )
    reference, batches, _ = example_frames(seed=3, reference_rows=2_000, batch_rows=500)

    for path, frame in [
        (data.reference, reference),
        *zip(data.batches, batches.values(), strict=True),
    ]:
        read = pd.concat(list(iter_chunks(FileSource(path), chunk_rows=700)))
        pd.testing.assert_frame_equal(read, frame, check_dtype=False, check_exact=True)
        assert read["is_returning"].dtype == bool


def test_batches_sort_chronologically_and_name_their_drift(tmp_path: Path) -> None:
    data = generate_example_data(tmp_path, reference_rows=1_000, batch_rows=200)

    names = [p.name for p in data.batches]
    assert len(names) == 6
    assert names == sorted(names)
    assert resolve_files(tmp_path / "batches") == data.batches
    assert data.reference == tmp_path / "reference.parquet"
    assert list(data.expected_drift) == names
    assert [data.expected_drift[n] for n in names] == [
        frozenset(),
        frozenset(),
        frozenset({"order_value"}),
        frozenset({"delivery_days"}),
        frozenset({"country"}),
        frozenset({"customer_age"}),
    ]
    assert data.scenarios[names[0]] == "healthy"
    assert data.scenarios[names[2]] == "shifted mean"


def test_switching_format_leaves_no_stale_batch_files(tmp_path: Path) -> None:
    generate_example_data(tmp_path, reference_rows=500, batch_rows=100, file_format="csv")
    data = generate_example_data(tmp_path, reference_rows=500, batch_rows=100)
    assert resolve_files(tmp_path / "batches") == data.batches
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batches", "reference.parquet"]


def test_invalid_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file_format `xlsx`"):
        generate_example_data(tmp_path, file_format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="`batch_rows` must be a positive integer"):
        example_frames(batch_rows=0)


def test_reference_looks_like_an_order_feed(frames: Frames) -> None:
    reference, _, _ = frames
    assert list(reference.columns) == NUMERIC + CATEGORICAL
    assert len(reference) == 20_000
    assert set(reference["items"].unique()) == set(range(1, 9))
    assert reference["order_value"].gt(0).all()
    assert reference["delivery_days"].ge(0).all()
    assert reference["discount_rate"].between(0.0, 0.5).all()
    assert reference["customer_age"].isna().mean() == pytest.approx(0.03, abs=0.005)
    assert reference["customer_age"].mean() == pytest.approx(40, abs=1)
    assert reference["payment"].isna().mean() == pytest.approx(0.01, abs=0.003)
    assert reference["country"].nunique() == 8
    assert reference["country"].value_counts(normalize=True).iloc[0] > 0.25
    assert set(reference["channel"]) == {"web", "app", "store", "phone"}
    assert reference["is_returning"].dtype == bool


def test_order_value_mean_shifts_only_in_the_shifted_batch(frames: Frames) -> None:
    reference, batches, expected = frames
    for name, batch in batches.items():
        ratio = batch["order_value"].mean() / reference["order_value"].mean()
        if "order_value" in expected[name]:
            assert ratio > 1.4
        else:
            assert 0.9 < ratio < 1.1


def test_delivery_days_variance_doubles_with_the_same_mean(frames: Frames) -> None:
    reference, batches, expected = frames
    for name, batch in batches.items():
        std_ratio = batch["delivery_days"].std() / reference["delivery_days"].std()
        mean_ratio = batch["delivery_days"].mean() / reference["delivery_days"].mean()
        assert 0.97 < mean_ratio < 1.03
        if "delivery_days" in expected[name]:
            assert 1.8 < std_ratio < 2.2
        else:
            assert 0.93 < std_ratio < 1.07


def test_new_country_appears_only_in_its_batch(frames: Frames) -> None:
    reference, batches, expected = frames
    assert "BR" not in set(reference["country"])
    for name, batch in batches.items():
        share = batch["country"].eq("BR").mean()
        if "country" in expected[name]:
            assert share == pytest.approx(0.08, abs=0.015)
        else:
            assert share == 0


def test_customer_age_missing_share_jumps_only_in_its_batch(frames: Frames) -> None:
    _, batches, expected = frames
    for name, batch in batches.items():
        share = batch["customer_age"].isna().mean()
        if "customer_age" in expected[name]:
            assert share == pytest.approx(0.25, abs=0.02)
        else:
            assert share == pytest.approx(0.03, abs=0.01)


def test_features_not_named_keep_the_reference_distribution(frames: Frames) -> None:
    reference, batches, expected = frames
    for name, batch in batches.items():
        for feature in NUMERIC:
            if feature in expected[name]:
                continue
            values, ref_values = batch[feature].dropna(), reference[feature].dropna()
            standard_error = ref_values.std() * np.sqrt(1 / len(values) + 1 / len(ref_values))
            assert abs(values.mean() - ref_values.mean()) < 4 * standard_error, (name, feature)
        for feature in CATEGORICAL:
            if feature in expected[name]:
                continue
            shares = batch[feature].value_counts(normalize=True, dropna=False)
            ref_shares = reference[feature].value_counts(normalize=True, dropna=False)
            gap = shares.sub(ref_shares, fill_value=0).abs().max()
            assert gap < 0.03, (name, feature)


def test_drift_check_flags_exactly_the_declared_features(frames: Frames) -> None:
    reference, batches, expected = frames
    specs = fit_specs(reference)
    reference_profile = profile_frame(reference, specs)
    for name, batch in batches.items():
        result = compare(reference_profile, profile_frame(batch, specs))
        flagged = {r.name for r in result.features if r.p_value is not None and r.p_value < 0.01}
        assert flagged == expected[name], name
        assert not result.schema.changed
