"""Signals people can trust on real feeds, through the `driftmon` command as a user runs it:
any name, batch time, the CI gate, long tail vs never seen, and clear refusals."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from receivers import Receiver, http_receiver
from test_cli import Completed, assert_one_line_error, run

from driftmon.examples import ExampleData, generate_example_data

# Markup, CJK, RTL, combining marks, quotes, HTML: every place a name shows must cope.
ODD_DATASET = "café [/b] 注文 <x>&\"'"
ODD_COLUMN = "x[/b]y [bold]é\u0301 שלום"
LONG_COLUMN = "n" * 5_000


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("data"))


# --------------------------------------------------------------------------------------------
# Any name works end to end


@dataclass
class OddNames:
    workdir: Path
    receiver: Receiver
    reference: Completed
    check: Completed
    check_new: Completed
    history: Completed
    alerts: Completed
    report: Completed


def _renamed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"order_value": ODD_COLUMN, "channel": LONG_COLUMN})


@pytest.fixture(scope="module")
def odd(example: ExampleData, tmp_path_factory: pytest.TempPathFactory) -> OddNames:
    workdir = tmp_path_factory.mktemp("odd")
    data = workdir / "data"
    (data / "incoming").mkdir(parents=True)
    _renamed(pd.read_parquet(example.reference)).to_parquet(data / "reference.parquet")
    for batch in example.batches:
        _renamed(pd.read_parquet(batch)).to_parquet(data / "incoming" / batch.name)
    drifted = data / "incoming" / "2026-11-03.parquet"  # order_value shifted
    with http_receiver() as receiver:
        env = {"DRIFTMON_NOTIFY": f"json://127.0.0.1:{receiver.port}/hook"}
        reference = run(
            workdir, "reference", ODD_DATASET, "--source", str(data / "reference.parquet")
        )
        check = run(workdir, "check", ODD_DATASET, "--source", str(drifted), env=env)
        check_new = run(
            workdir, "check-new", ODD_DATASET, "--folder", str(data / "incoming"), env=env
        )
        history = run(workdir, "history", ODD_DATASET)
        alerts = run(workdir, "alerts", ODD_DATASET)
        report = run(workdir, "report", ODD_DATASET)
    return OddNames(workdir, receiver, reference, check, check_new, history, alerts, report)


def test_every_command_works_with_odd_dataset_and_column_names(odd: OddNames) -> None:
    for name in ("reference", "check", "check_new", "history", "alerts", "report"):
        completed: Completed = getattr(odd, name)
        assert completed.code == 0, (name, completed.stderr)
        assert "Traceback" not in completed.stdout + completed.stderr, name
        assert "warning" not in completed.stderr.lower() or name == "reference", name


def test_odd_names_are_printed_as_written_not_as_markup(odd: OddNames) -> None:
    assert ODD_DATASET in odd.reference.stdout
    assert f"{ODD_COLUMN} distribution changed" in odd.check.stdout
    assert ODD_DATASET in odd.history.stdout.replace("\n", "")
    assert "[/b]" in odd.alerts.stdout


def test_notifications_and_reports_carry_odd_names_intact(odd: OddNames) -> None:
    bodies = [request["json"]["message"] for request in odd.receiver.requests]
    assert bodies and any(ODD_COLUMN in body for body in bodies)
    assert all("`" not in body for body in bodies)  # plain text for a plain-text channel
    pages = list((odd.workdir / "reports").rglob("run-*.html"))
    assert len(pages) == 6  # one per batch: check, then check-new of the other five
    page = pages[0].read_text(encoding="utf-8")
    assert "注文 &lt;x&gt;&amp;" in page and "<x>&" not in page


def test_runs_of_an_odd_name_are_all_listed_in_batch_time_order(odd: OddNames) -> None:
    with sqlite3.connect(odd.workdir / "driftmon.db") as connection:
        (runs,) = connection.execute("select count(*) from runs").fetchone()
    assert runs == 6
    dates = [line for line in odd.history.stdout.splitlines() if "2026-11-0" in line]
    days = [next(part for part in line.split() if part.startswith("2026-11-0")) for line in dates]
    assert days == sorted(days, reverse=True) and len(days) == 6


# --------------------------------------------------------------------------------------------
# Batch time and the CI gate


def test_history_follows_batch_time_not_check_time(example: ExampleData, tmp_path: Path) -> None:
    assert run(tmp_path, "reference", "orders", "--source", str(example.reference)).code == 0
    newest, older = example.batches[-1], example.batches[0]
    assert run(tmp_path, "check", "orders", "--source", str(newest)).code == 0
    explicit = run(
        tmp_path, "check", "orders", "--source", str(older), "--batch-time", "2025-01-31T12:00"
    )
    assert explicit.code == 0, explicit.stderr
    history = run(tmp_path, "history", "orders", "--json").json()
    assert [h["batch_time"] for h in history] == [
        "2026-11-06T00:00:00+00:00",
        "2025-01-31T12:00:00+00:00",
    ]
    bad = run(tmp_path, "check", "orders", "--source", str(older), "--batch-time", "yesterday")
    assert_one_line_error(bad, "batch time `yesterday` is not an ISO 8601 date")


def test_fail_on_exits_3_when_a_verdict_reaches_the_level(
    example: ExampleData, tmp_path: Path
) -> None:
    assert run(tmp_path, "reference", "orders", "--source", str(example.reference)).code == 0
    healthy, drifted = example.batches[0], example.batches[2]
    gate = run(tmp_path, "check", "orders", "--source", str(drifted), "--fail-on", "critical")
    assert gate.code == 3 and "verdict: critical" in gate.stdout
    calm = run(tmp_path, "check", "orders", "--source", str(healthy), "--fail-on", "warning")
    assert calm.code == 0, calm.stderr
    ungated = run(tmp_path, "check", "orders", "--source", str(drifted), "--json")
    assert ungated.code == 0 and ungated.json()["verdict"] == "critical"
    folder = tmp_path / "incoming"
    shutil.copytree(example.batches[0].parent, folder)
    new = run(tmp_path, "check-new", "orders", "--folder", str(folder), "--fail-on", "warning")
    assert new.code == 3, new.stderr
    usage = run(tmp_path, "check", "orders", "--source", str(healthy), "--fail-on", "bad")
    assert usage.code == 2


def test_empty_and_space_padded_names_are_quoted_where_people_read_them(tmp_path: Path) -> None:
    """A column named ``""``, `` price`` or ``qty `` would print as nothing or as an unpadded
    name in a table cell, a list or an alert: they are shown in double quotes, everywhere."""
    rng = np.random.default_rng(5)
    names = ["", " price", "qty ", "city"]

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "": rng.integers(0, 7 - 4 * int(shift), n),
                " price": rng.normal(10 * shift, 1, n).round(3),
                "qty ": rng.integers(1, 6 + 4 * int(shift), n),
                "city": rng.choice(["a", "b", "c"] if not shift else ["a", "b", "d"], n),
            },
            columns=names,
        )

    frame(2_000, 0.0).to_csv(tmp_path / "reference.csv", index=False)
    frame(2_000, 1.0).to_csv(tmp_path / "2026-11-25.csv", index=False)

    built = run(tmp_path, "reference", "shop", "--source", "reference.csv")
    checked = run(tmp_path, "check", "shop", "--source", "2026-11-25.csv")
    alerts = run(tmp_path, "alerts", "--json").json()

    assert built.code == 0, built.stderr
    assert '4 features ("", " price", "qty ", city)' in built.stdout
    assert checked.code == 0, checked.stderr
    [verdict] = [line for line in checked.stdout.splitlines() if line.startswith("verdict:")]
    drifted = verdict.split("drifted: ", 1)[1].split(", ")
    assert sorted(drifted) == sorted(['""', '" price"', '"qty "', "city"])
    rows = [line.split("│")[1].strip() for line in checked.stdout.splitlines() if "│" in line]
    assert sorted(rows) == sorted(['""', '" price"', '"qty "', "city"])
    messages = {a["message"] for a in alerts}
    assert any(m.startswith('" price" distribution changed: KL') for m in messages), messages
    assert any(m.startswith('"" distribution changed: KL') for m in messages), messages
    assert {a["feature"] for a in alerts if a["feature"] is not None} == set(names)  # as named


def test_a_batch_of_digit_codes_is_not_a_type_change_when_the_reference_saw_text(
    tmp_path: Path,
) -> None:
    """Zip codes (``007``, and one ``X01``) in the reference CSV; a batch whose codes are all
    digits is read as the same text, as its Parquet twin is: only the real change (``X01``
    gone) is found, not a type change with 100% never-seen values."""
    rng = np.random.default_rng(2)
    codes = [f"{i:03d}" for i in range(20)] + ["X01"]
    pd.DataFrame({"zip": rng.choice(codes, 5_000), "v": rng.normal(0, 1, 5_000)}).to_csv(
        tmp_path / "reference.csv", index=False
    )
    batch = pd.DataFrame({"zip": rng.choice(codes[:20], 1_000), "v": rng.normal(0, 1, 1_000)})
    batch.to_csv(tmp_path / "2026-04-01.csv", index=False)
    batch.to_parquet(tmp_path / "2026-04-01.parquet")
    assert run(tmp_path, "reference", "z", "--source", "reference.csv").code == 0

    from_csv = run(tmp_path, "check", "z", "--source", "2026-04-01.csv", "--json").json()
    from_parquet = run(tmp_path, "check", "z", "--source", "2026-04-01.parquet", "--json").json()

    [zip_csv] = [f for f in from_csv["features"] if f["name"] == "zip"]
    [zip_parquet] = [f for f in from_parquet["features"] if f["name"] == "zip"]
    assert from_csv["schema"]["retyped"] == [] == from_parquet["schema"]["retyped"]
    assert zip_csv["unseen_share_current"] == 0.0
    assert zip_csv["kl"] == pytest.approx(zip_parquet["kl"], rel=1e-12)
    signals = {f["signal"] for f in from_csv["findings"] if f["feature"] == "zip"}
    assert "new_categories" not in signals and "schema" not in signals
    assert "category_share" in signals  # X01 fell from 5% to 0%


# --------------------------------------------------------------------------------------------
# Long tail vs never seen


def test_the_long_tail_is_not_reported_as_never_seen(tmp_path: Path) -> None:
    """~100 airport codes, 50 kept: codes ranked 51+ are the tail, not new."""
    rng = np.random.default_rng(3)
    codes = np.array([f"A{i:02d}" for i in range(100)], dtype=object)
    weights = 1.0 / np.arange(1, 101)
    reference = pd.DataFrame({"dest": codes[rng.choice(100, 50_000, p=weights / weights.sum())]})
    batch = pd.DataFrame({"dest": codes[rng.choice(100, 5_000, p=weights / weights.sum())]})
    batch.loc[:14, "dest"] = "ZZZ"  # 0.3% truly new
    reference.to_csv(tmp_path / "reference.csv", index=False)
    batch.to_csv(tmp_path / "2026-11-25.csv", index=False)
    assert run(tmp_path, "reference", "air", "--source", "reference.csv").code == 0

    result = run(tmp_path, "check", "air", "--source", "2026-11-25.csv", "--json").json()

    [dest] = result["features"]
    counts = reference["dest"].value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [code for code, _ in ranked[:50]]
    tail = ~batch["dest"].isin([*kept, "ZZZ"])
    assert dest["other_share_current"] == pytest.approx(tail.mean(), rel=1e-12)
    assert dest["other_share_current"] > 0.05  # most of "other" is the tail ...
    assert dest["unseen_share_current"] == pytest.approx(15 / 5_000)  # ... only 0.3% is new
    assert dest["unseen_share_reference"] == 0.0
    assert dest["top_unseen"] == {"ZZZ": 15}
    assert not [f for f in result["findings"] if f["signal"] == "new_categories"]
    human = run(tmp_path, "check", "air", "--source", "2026-11-25.csv")
    assert "long tail" in human.stdout and "never seen by the reference" in human.stdout


# --------------------------------------------------------------------------------------------
# Clear refusals


def test_duplicate_column_names_are_refused_by_reference_and_check(
    example: ExampleData, tmp_path: Path
) -> None:
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n4,5,6\n")
    assert_one_line_error(
        run(tmp_path, "reference", "d", "--source", "dup.csv"), "more than one column named `a`"
    )
    assert run(tmp_path, "reference", "orders", "--source", str(example.reference)).code == 0
    assert_one_line_error(
        run(tmp_path, "check", "orders", "--source", "dup.csv"), "more than one column named `a`"
    )


def test_decimal_columns_are_numbers_and_nested_columns_are_refused_by_name(
    tmp_path: Path,
) -> None:
    """Parquet's decimal128 (money from a database) is binned as numbers, as its floats would
    be; a list or struct column has no bins: one error naming it and how to leave it out."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(4)
    cents = rng.integers(100, 10_000, 2_000)
    prices = [decimal.Decimal(int(c)) / 100 for c in cents]
    table = pa.table(
        {
            "price": pa.array(prices, pa.decimal128(10, 2)),
            "tags": pa.array([[int(c) % 3] for c in cents]),
            "qty": rng.integers(1, 9, 2_000),
        }
    )
    pq.write_table(table, tmp_path / "reference.parquet")
    pd.DataFrame({"price": cents / 100, "qty": table["qty"].to_numpy()}).to_parquet(
        tmp_path / "floats.parquet"
    )

    refused = run(tmp_path, "reference", "shop", "--source", "reference.parquet")
    (tmp_path / "driftmon.toml").write_text('[datasets.shop]\nexclude = ["tags"]\n')
    built = run(tmp_path, "reference", "shop", "--source", "reference.parquet")
    as_floats = run(tmp_path, "reference", "floats", "--source", "floats.parquet")

    assert_one_line_error(refused, "feature `tags`", "nested", 'exclude = ["tags"]')
    assert built.code == 0 and as_floats.code == 0, built.stderr + as_floats.stderr
    from driftmon import store

    engine = store.open_store(f"sqlite:///{tmp_path / 'driftmon.db'}", create=False)
    with store.session_scope(engine) as session:
        shop, floats = (store.load_reference(session, n).profile for n in ("shop", "floats"))
    engine.dispose()
    assert shop.features["price"].spec == floats.features["price"].spec
    assert shop.features["price"].spec.kind == "numeric"
    assert shop.features["price"].counts.tolist() == floats.features["price"].counts.tolist()


def test_a_reference_from_files_of_different_columns_is_refused_by_name(tmp_path: Path) -> None:
    """One file without `c` would count as a third of `c` missing in the reference, and every
    complete batch as a change: refused, naming the file and the `exclude` that builds it."""
    folder = tmp_path / "reference"
    folder.mkdir()
    (folder / "1.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    (folder / "2.csv").write_text("a,b\n1,2\n4,5\n")

    refused = run(tmp_path, "reference", "m", "--source", "reference")
    (tmp_path / "driftmon.toml").write_text('[datasets.m]\nexclude = ["c"]\n')
    built = run(tmp_path, "reference", "m", "--source", "reference")

    assert_one_line_error(refused, "reference/2.csv lacks `c`", 'exclude = ["c"]')
    assert built.code == 0, built.stderr
    assert "4 rows, 2 features (a, b)" in built.stdout


def test_a_fifo_and_a_symlink_loop_are_named_for_what_they_are(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")
    assert_one_line_error(
        run(tmp_path, "reference", "d", "--source", "pipe.csv"), "is a named pipe (FIFO)"
    )
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    assert_one_line_error(
        run(tmp_path, "reference", "d", "--source", "loop.csv"), "loops back on itself"
    )


def test_control_characters_in_an_error_are_escaped_on_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "reference", "d", "--source", "evil\x1b[31m\nname.csv")
    assert_one_line_error(result, "evil\\x1b[31m\\nname.csv")
    assert "\x1b" not in result.stderr


def test_a_feature_without_usable_reference_values_is_reported_and_not_monitored(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame({"x": np.arange(200.0), "blank": [None] * 200})
    frame.to_csv(tmp_path / "ref.csv", index=False)
    frame.to_csv(tmp_path / "2026-11-25.csv", index=False)
    built = run(tmp_path, "reference", "d", "--source", "ref.csv")
    assert built.code == 0
    assert "no usable values" in built.stderr and "blank" in built.stderr
    checked = run(tmp_path, "check", "d", "--source", "2026-11-25.csv", "--json").json()
    statuses = {f["name"]: f["status"] for f in checked["features"]}
    assert statuses == {"x": "ok", "blank": "unmonitored"}
    assert checked["verdict"] == "ok"
    assert all("[0, 0]" not in f["message"] for f in checked["findings"])
    page = Path(checked["report_path"]).read_text()
    blank = page[page.index('<h3>blank <span class="badge unmonitored">') :]
    blank = blank[: blank.index("</section>")]
    assert "Not monitored: the reference has no usable values" in blank
    assert "Reference range" not in blank and "--all-charts" not in blank


# --------------------------------------------------------------------------------------------
# The demo


def test_the_demo_uses_the_example_configuration_it_claims_to_use(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    shutil.copy(Path(__file__).parents[2] / "config" / "driftmon.toml", tmp_path / "config")

    result = run(tmp_path, "demo")

    assert result.code == 0, result.stderr
    assert "Configuration: config/driftmon.toml" in result.stderr
    with sqlite3.connect(tmp_path / "demo" / "driftmon.db") as connection:
        (settings,) = connection.execute("select settings from reference_profiles").fetchone()
        verdicts = [v for (v,) in connection.execute("select verdict from runs order by id")]
    assert '"order_value": {"n_bins": 32}' in settings  # [datasets.orders.feature.order_value]
    assert verdicts == ["ok", "ok", "critical", "critical", "critical", "critical"]
