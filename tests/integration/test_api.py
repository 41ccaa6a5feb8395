"""The Python API (`driftmon.check`, `driftmon.profile`, `driftmon.Monitor`) on the example
data, against the `driftmon` command run as a subprocess on the same files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import run_driftmon

import driftmon
from driftmon.api import TABLE_COLUMNS
from driftmon.examples import ExampleData, example_frames, generate_example_data

STORED_KEYS = {"run_id", "reference_version", "alerts", "report_path", "replaced", "skipped"}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, frozenset[str]]]:
    return example_frames()


def _cli_json(cwd: Path, *args: str) -> dict[str, object]:
    output = run_driftmon(cwd, *args, db="cli.db")
    return json.loads(output) if "--json" in args else {}


def test_check_flags_exactly_the_features_changed_on_purpose(frames) -> None:
    reference, batches, expected = frames
    for name, batch in batches.items():
        report = driftmon.check(reference, batch)
        assert set(report.drifted) == expected[name], name
        assert (report.verdict == "ok") == (not expected[name]), name


def test_check_of_files_is_the_cli_json_without_the_stored_fields(
    example: ExampleData, tmp_path: Path
) -> None:
    batch = next(b for b in example.batches if example.expected_drift[b.name])
    _cli_json(tmp_path, "reference", "orders", "--source", str(example.reference))
    cli = _cli_json(tmp_path, "check", "orders", "--source", str(batch), "--json")

    report = driftmon.check(example.reference, batch, dataset="orders")

    expected = {k: v for k, v in cli.items() if k not in STORED_KEYS | {"notifications"}}
    assert report.to_dict() == expected
    assert report.verdict == cli["verdict"] != "ok"


def test_monitor_check_is_the_cli_check(
    example: ExampleData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = next(b for b in example.batches if example.expected_drift[b.name])
    (tmp_path / "cli").mkdir()
    (tmp_path / "api").mkdir()
    _cli_json(tmp_path / "cli", "reference", "orders", "--source", str(example.reference))
    cli = _cli_json(tmp_path / "cli", "check", "orders", "--source", str(batch), "--json")

    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'api' / 'api.db'}")
    monitor.reference("orders", example.reference)
    monkeypatch.chdir(tmp_path / "api")  # reports go under ./reports, as for the CLI
    report = monitor.check("orders", batch)

    data = report.to_dict()
    assert Path(str(data.pop("report_path"))).name == Path(str(cli.pop("report_path"))).name
    assert data == cli
    assert report.stored and report.result.run_id == 1


def test_monitor_history_and_alerts_are_frames_of_what_the_cli_lists(
    frames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, batches, expected = frames
    monkeypatch.chdir(tmp_path)
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'm.db'}")
    monitor.reference("orders", reference)
    names = sorted(batches)
    for name in names:
        monitor.check("orders", batches[name], batch_key=name, batch_time=name[:10])

    history = monitor.history("orders")
    alerts = monitor.alerts("orders")

    assert list(history["batch_key"]) == names[::-1]  # newest first
    assert list(history["n_drifted"]) == [len(expected[n]) for n in names[::-1]]
    assert str(history["batch_time"].dtype).startswith("datetime64")
    assert set(alerts["state"]) <= {"open", "escalated"}
    for column in ("opened_at", "acknowledged_at", "resolved_at"):  # times, as in history
        assert str(alerts[column].dtype).startswith("datetime64"), column
    assert (alerts["opened_at"] >= history["started_at"].min()).all()
    assert set(alerts["feature"].dropna()) <= set().union(*expected.values())
    with pytest.raises(driftmon.DriftmonError, match="unknown dataset `nope`"):
        monitor.history("nope")


def test_a_monitor_mistake_gives_advice_for_python_too(frames, tmp_path: Path) -> None:
    """The store's messages serve both doors: the command and the `Monitor` call to use."""
    reference, batches, _ = frames
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'api.db'}", config=None)
    monitor.reference("other", reference)
    with pytest.raises(driftmon.errors.ReferenceNotFoundError) as no_reference:
        monitor.check("orders", next(iter(batches.values())))
    assert "(in Python: `Monitor.reference('orders', data)`)" in str(no_reference.value)
    assert "`driftmon reference orders --source PATH`" in str(no_reference.value)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda m, batch: m.history("orders"), id="history"),
        pytest.param(lambda m, batch: m.alerts(), id="alerts"),
        pytest.param(lambda m, batch: m.alerts("orders"), id="alerts-of-dataset"),
        pytest.param(lambda m, batch: m.check("orders", batch), id="check"),
    ],
)
def test_a_monitor_on_a_mistyped_database_says_so_and_creates_nothing(
    frames, tmp_path: Path, call
) -> None:
    """Like the command line: only a reference creates the database; reading a missing one
    is the CLI's error, and no folder or empty migrated file is left behind."""
    reference, batches, _ = frames
    batch = next(iter(batches.values()))
    database = tmp_path / "nosuchdir" / "a.db"
    monitor = driftmon.Monitor(db=f"sqlite:///{database}", reports_dir=tmp_path, config=None)

    with pytest.raises(driftmon.errors.StoreError) as error:
        call(monitor, batch)

    assert str(error.value).startswith(
        f"database `sqlite:///{database}` does not exist; check the path"
    )
    assert "`Monitor.reference(DATASET, data)`" in str(error.value)
    assert not database.parent.exists()
    # the same monitor's reference creates it, and then the call works
    monitor.reference("orders", reference)
    assert database.is_file()
    call(monitor, batch)


def test_monitor_check_warns_of_settings_its_reference_was_not_fitted_with(
    frames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, batches, _ = frames
    monkeypatch.chdir(tmp_path)
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'api.db'}", config=None)
    monitor.reference("orders", reference)
    batch = next(iter(batches.values()))

    with pytest.warns(driftmon.DriftmonWarning) as warned:
        report = monitor.check("orders", batch, n_bins=7)

    assert [str(w.message) for w in warned] == [
        "n_bins of `orders` differ from those reference v1 was built with, which this check "
        "uses; build a new reference to use them (`driftmon reference orders --source PATH`)"
    ]
    assert report.to_dict()["warnings"] == [str(warned[0].message)]
    assert report.to_dict()["features"] == monitor.check("orders", batch).to_dict()["features"]


def test_monitor_reference_names_identifier_like_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"order": [f"o-{i}" for i in range(2_000)], "tier": ["a", "b"] * 1_000})
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'api.db'}", config=None)
    with pytest.warns(driftmon.DriftmonWarning, match="order looks like an identifier"):
        info = monitor.reference("shop", frame)
    assert info["identifier_like"] == {"order": {"distinct": 2_000, "singleton_share": 1.0}}


def test_settings_are_keywords_validated_like_the_configuration(frames) -> None:
    reference, batches, expected = frames
    name = next(n for n in sorted(batches) if expected[n])
    lenient = {"kl_warning": 50.0, "kl_critical": 100.0, "significance": 1e-300}

    report = driftmon.check(reference, batches[name], thresholds=lenient)

    assert set(report.drifted) < expected[name] or not report.drifted
    with pytest.raises(driftmon.ConfigError, match=r"`n_bins`: Input should be greater than"):
        driftmon.check(reference, batches[name], n_bins=0)
    with pytest.raises(driftmon.ConfigError, match=r"unknown keyword argument `nbins`"):
        driftmon.check(reference, batches[name], nbins=10)
    with pytest.raises(driftmon.ConfigError, match=r"expected a pandas DataFrame.*got `list`"):
        driftmon.check([1, 2, 3], batches[name])


def test_a_frame_with_a_repeated_column_name_is_refused_as_its_csv_is(tmp_path: Path) -> None:
    """A second `amount` would be silently ignored; the same rows as a CSV file are an error,
    and so is the frame, wherever it is handed in."""
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"amount": rng.normal(50, 10, 2_000), "tier": ["a", "b"] * 1_000})
    batch = reference.iloc[:500]
    doubled = pd.concat([batch, batch[["amount"]] * 10], axis=1)
    doubled.to_csv(tmp_path / "doubled.csv", index=False)
    how = "has more than one column named `amount`; rename the columns so that each name is unique"
    with pytest.raises(driftmon.errors.SourceError, match=f"doubled.csv` {how}"):
        driftmon.check(reference, tmp_path / "doubled.csv")
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'm.db'}", reports_dir=tmp_path)
    monitor.reference("orders", reference)

    calls = [
        ("current", lambda: driftmon.check(reference, doubled)),
        ("reference", lambda: driftmon.check(doubled, batch)),
        ("reference", lambda: driftmon.profile(doubled)),
        ("orders", lambda: monitor.reference("orders", doubled)),
        ("orders", lambda: monitor.check("orders", doubled)),
        ("day-1", lambda: monitor.check("orders", doubled, batch_key="day-1")),
    ]
    for name, call in calls:
        with pytest.raises(driftmon.errors.SourceError) as raised:
            call()
        assert str(raised.value) == f"data frame `{name}` {how}"
    assert monitor.history("orders").empty


def test_a_profile_is_a_reusable_reference(frames) -> None:
    reference, batches, _ = frames
    name = sorted(batches)[1]
    fitted = driftmon.profile(reference, n_bins=12)

    from_profile = driftmon.check(fitted, batches[name], batch_time=name)
    from_frame = driftmon.check(reference, batches[name], n_bins=12, batch_time=name)
    with pytest.warns(driftmon.DriftmonWarning, match="n_bins fit a reference's bins"):
        refitted = driftmon.check(fitted, batches[name], n_bins=5, batch_time=name)

    assert from_profile.to_dict() == from_frame.to_dict() == refitted.to_dict()
    # 12 quantile bins of a continuous feature, and the missing slot
    assert fitted.features["order_value"].spec.n_slots == 12 + 1
    halves = driftmon.profile(reference.iloc[:10_000]).features["order_value"].counts
    assert int(halves.sum()) == 10_000
    summary = fitted.summary()
    assert summary["order_value"]["mean"] == pytest.approx(reference["order_value"].mean())
    assert summary["country"]["top_categories"][0] == (
        reference["country"].value_counts().index[0],
        int(reference["country"].value_counts().iloc[0]),
    )


def test_adding_separately_fitted_profiles_says_how_to_count_with_the_same_bins(frames) -> None:
    """Each `driftmon.profile` fits its own bins, so two of them do not add up; the error
    gives the call that makes them add up, and that call works."""
    reference, _, _ = frames
    first_rows, other_rows = reference.iloc[:10_000], reference.iloc[10_000:]
    first = driftmon.profile(first_rows)

    with pytest.raises(driftmon.InputDataError) as raised:
        first + driftmon.profile(other_rows)
    message = str(raised.value)
    assert "different bins" in message
    assert "driftmon.profile_frame(frame, first.specs)" in message

    whole = first + driftmon.profile_frame(other_rows, first.specs)
    counted_at_once = driftmon.profile_frame(reference, first.specs)
    assert whole.n_rows == len(reference)
    for name, feature in counted_at_once.features.items():
        np.testing.assert_array_equal(whole.features[name].counts, feature.counts)


def test_reprs_are_a_few_words_not_data(frames) -> None:
    reference, batches, _ = frames
    fitted = driftmon.profile(reference)
    report = driftmon.check(fitted, batches[sorted(batches)[0]])

    assert repr(fitted).startswith("<Profile: 20,000 rows, ")
    assert len(repr(fitted)) < 200 and "array" not in repr(fitted)
    assert repr(report).startswith(f"<DriftReport 'data': {report.verdict}, 5,000 rows")
    assert len(repr(report.result)) < 200


def test_to_pandas_has_one_row_per_feature_most_severe_first(frames) -> None:
    reference, batches, expected = frames
    name = next(n for n in sorted(batches) if len(expected[n]) == 1)
    report = driftmon.check(reference, batches[name])

    table = report.to_pandas()

    assert list(table.columns) == list(TABLE_COLUMNS)
    assert set(table["name"]) == set(reference.columns)
    assert table["name"].iloc[0] in expected[name]
    assert table["status"].iloc[0] in ("warning", "critical")
    drifted = table.set_index("name").loc[sorted(expected[name])[0]]
    assert drifted["message"]  # what the finding says
    row = next(f for f in report.result.features if f.name == table["name"].iloc[0])
    assert table["kl"].iloc[0] == row.result.kl


def test_save_html_writes_the_page_a_stored_run_gets(
    frames, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, batches, expected = frames
    name = next(n for n in sorted(batches) if expected[n])
    report = driftmon.check(reference, batches[name], dataset="orders", batch_time=name)
    monkeypatch.chdir(tmp_path)
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'm.db'}")
    monitor.reference("orders", reference)
    stored = monitor.check("orders", batches[name], batch_time=name)

    path = report.save_html(tmp_path / "out" / "drift.html")

    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for feature in expected[name]:
        assert feature in page
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page
    # the stored run's page differs only in its run's identity and timestamps
    stored_page = stored.save_html(tmp_path / "stored.html").read_text(encoding="utf-8")
    assert _table(page, "features") == _table(stored_page, "features")


def test_save_html_wants_a_file_not_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder is a one-line error naming it, not an IsADirectoryError traceback; a file in
    folders not made yet is written, as the command line makes its reports folder."""
    rng = np.random.default_rng(4)
    report = driftmon.check(
        pd.DataFrame({"x": rng.normal(size=1_000)}), pd.DataFrame({"x": rng.normal(size=500)})
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a folder")

    for folder, shown in [(".", "."), (tmp_path, str(tmp_path)), ("new/", "new/")]:
        with pytest.raises(driftmon.ConfigError) as raised:
            report.save_html(folder)
        assert str(raised.value) == (
            f"cannot save the report to `{shown}`: it is a folder; pass a file path such as "
            f"`{Path(folder) / 'drift.html'}`"
        )
    with pytest.raises(driftmon.ConfigError, match=r"`notes.txt/drift.html`: .*writable file"):
        report.save_html("notes.txt/drift.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    written = report.save_html(Path("new") / "deeper" / "drift.html")
    assert written.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _table(page: str, css_class: str) -> str:
    start = page.index(f'<table class="{css_class}">')
    return page[start : page.index("</table>", start)]


def test_the_notebook_view_shows_verdict_table_and_charts_of_what_moved(frames) -> None:
    reference, batches, expected = frames
    name = next(n for n in sorted(batches) if len(expected[n]) == 1)
    odd = reference.rename(columns={"country": "<script>alert(1)</script>"})
    batch = batches[name].rename(columns={"country": "<script>alert(1)</script>"})

    view = driftmon.check(odd, batch)._repr_html_()

    assert view.startswith('<div class="driftmon-summary">')
    assert f'<span class="badge {driftmon.check(odd, batch).verdict}">' in view
    assert view.count("<tr>") == 1 + len(reference.columns)  # the header and one per feature
    assert view.count("data:image/png;base64,") == len(expected[name])
    assert "<script>" not in view and "&lt;script&gt;" in view


def test_a_clean_batch_has_no_chart_in_the_notebook_view() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(size=4_000)})
    current = pd.DataFrame({"x": rng.normal(size=1_000)})

    report = driftmon.check(reference, current)

    assert report.verdict == "ok" and report.drifted == ()
    assert "data:image/png" not in report._repr_html_()


def test_a_current_profile_with_bins_of_its_own_is_refused(frames) -> None:
    reference, batches, _ = frames
    batch = batches[sorted(batches)[2]]

    with pytest.raises(driftmon.InputDataError, match=r"counted with other bins than the ref"):
        driftmon.check(driftmon.profile(reference), driftmon.profile(batch))
    counted = driftmon.profile_frame(batch, driftmon.profile(reference).specs)
    assert driftmon.check(reference, counted).verdict == driftmon.check(reference, batch).verdict


def test_calibrated_thresholds_apply_to_a_check_from_data(tmp_path: Path) -> None:
    # a reference of day-level clumps: a healthy day differs from it more than sampling noise
    rng = np.random.default_rng(0)
    days = rng.normal(0, 0.5, 40)
    reference = pd.DataFrame({"x": np.concatenate([rng.normal(m, 1, 500) for m in days])})
    batch = pd.DataFrame({"x": rng.normal(0.3, 1, 500)})
    calibration = {"batch_rows": 500}

    plain = driftmon.check(reference, batch)
    calibrated = driftmon.check(reference, batch, calibration=calibration)
    monitor = driftmon.Monitor(db=f"sqlite:///{tmp_path / 'm.db'}", reports_dir=tmp_path)
    monitor.reference("days", reference, calibration=calibration)

    assert plain.verdict == "warning"
    assert calibrated.verdict == "ok" == monitor.check("days", batch).verdict


def test_a_query_or_any_source_is_data_too(tmp_path: Path) -> None:
    """A database URL with its query, or a `Source` object, checks like the same rows."""
    import sqlite3

    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(size=2_000)})
    batch = pd.DataFrame({"x": rng.normal(0.5, 1, 1_000)})
    with sqlite3.connect(tmp_path / "feed.db") as connection:
        batch.to_sql("batch", connection, index=False)
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    by_frame = driftmon.check(reference, batch)
    by_url = driftmon.check(reference, f"{url}?query=SELECT x FROM batch")
    by_source = driftmon.check(reference, driftmon.sources.SqlSource(url, "SELECT x FROM batch"))
    kls = [r.to_dict()["features"][0]["kl"] for r in (by_url, by_source, by_frame)]
    assert kls[0] == kls[1] == kls[2] > 0.05


@pytest.mark.parametrize("reference_format", ["parquet", "csv"])
def test_dates_count_the_same_from_parquet_and_csv(tmp_path: Path, reference_format: str) -> None:
    """A reference with a timestamp and a date column (Arrow's date32), checked against the
    same rows as Parquet and as CSV (ISO text): identical figures, nothing drifted, no type
    change. Dates used to arrive from CSV as text: every row "missing", a critical alarm."""
    rng = np.random.default_rng(7)
    n = 4_000
    days = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame(
        {"amount": rng.normal(100, 10, n), "signup": days + pd.Timedelta(hours=9),
         "day": days.date}
    )  # fmt: skip
    frame.to_parquet(tmp_path / "batch.parquet", index=False)
    frame.to_csv(tmp_path / "batch.csv", index=False)
    reference = tmp_path / f"batch.{reference_format}"

    from_parquet = driftmon.check(reference, tmp_path / "batch.parquet")
    from_csv = driftmon.check(reference, tmp_path / "batch.csv")

    for report in (from_parquet, from_csv):
        assert report.verdict == "ok", report.to_dict()["findings"]
        assert report.to_dict()["schema"] == {"missing": [], "new": [], "retyped": []}
    parquet_rows, csv_rows = from_parquet.to_pandas(), from_csv.to_pandas()
    pd.testing.assert_frame_equal(parquet_rows, csv_rows)
    assert parquet_rows.loc[parquet_rows["name"] == "day", "kl"].item() == pytest.approx(0)


def test_a_date_column_declared_categorical_stays_its_text(tmp_path: Path) -> None:
    """Declared categorical, a CSV's dates are categories of their text when the reference is
    sampled as when a batch is read: a file checked against itself is quiet."""
    days = pd.date_range("2025-01-01", periods=30, freq="D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"day": np.tile(days, 20), "amount": np.arange(600.0)})
    frame.to_csv(tmp_path / "a.csv", index=False)

    report = driftmon.check(
        tmp_path / "a.csv", tmp_path / "a.csv", feature={"day": {"type": "categorical"}}
    )

    assert report.verdict == "ok", report.to_dict()["findings"]
    rows = report.to_pandas().set_index("name")
    assert rows.loc["day", "kind"] == "categorical"
    assert rows.loc["day", "kl"] == pytest.approx(0)


def test_a_folder_of_part_files_is_one_batch_in_python_too(frames, tmp_path: Path) -> None:
    """`driftmon.check` and `Monitor.check` take a dataset folder written as parts, as
    `driftmon check` does; a feed's root names a folder to check."""
    reference, batches, _ = frames
    current = next(iter(batches.values()))
    day = tmp_path / "feed" / "2026-11-25"
    day.mkdir(parents=True)
    half = len(current) // 2
    current[:half].to_parquet(day / "part-0.parquet", index=False)
    current[half:].to_parquet(day / "part-1.parquet", index=False)

    report = driftmon.check(reference, day)
    monitor = driftmon.Monitor(f"sqlite:///{tmp_path / 'm.db'}", reports_dir=tmp_path / "r")
    monitor.reference("orders", reference)
    stored = monitor.check("orders", str(day))

    assert report.to_dict()["n_rows"] == stored.to_dict()["n_rows"] == len(current)
    assert report.verdict == stored.verdict
    assert stored.to_dict()["source"] == f"{day}/"
    with pytest.raises(driftmon.SourceError, match=r"check-new --folder"):
        driftmon.check(reference, tmp_path / "feed")
