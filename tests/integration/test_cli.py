"""The `driftmon` command run as a user would: a subprocess in an empty folder, real files,
a real SQLite database, and the Prefect flows in Prefect's default local mode."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from receivers import Receiver

from driftmon.examples import ExampleData, generate_example_data
from driftmon.formatting import format_share

DRIFTMON = str(Path(sys.executable).with_name("driftmon"))
DATASET = "orders"


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Completed:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DRIFTMON_CONFIG", "DRIFTMON_DB_URL")
    }
    environment.update(env or {})
    done = subprocess.run(
        [DRIFTMON, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Completed, *fragments: str) -> None:
    assert result.code == 1, result
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("data"))


@dataclass
class Story:
    """One user's session: every command's output, in order, in one empty folder."""

    workdir: Path
    example: ExampleData
    reference: Completed
    healthy: Completed
    drifted: Completed
    drifted_again: Completed
    history: Completed
    check_new: Completed
    check_new_again: Completed


@pytest.fixture(scope="module")
def story(example: ExampleData, tmp_path_factory: pytest.TempPathFactory) -> Story:
    workdir = tmp_path_factory.mktemp("empty")
    healthy_batch = next(b for b in example.batches if not example.expected_drift[b.name])
    drifted_batch = next(b for b in example.batches if example.expected_drift[b.name])
    # check-new gets its own copy of the folder, so its keys differ from the checks above
    new_folder = workdir.parent / f"{workdir.name}-incoming"
    shutil.copytree(example.batches[0].parent, new_folder)
    reference = run(workdir, "reference", DATASET, "--source", str(example.reference))
    healthy = run(workdir, "check", DATASET, "--source", str(healthy_batch), "--json")
    drifted = run(workdir, "check", DATASET, "--source", str(drifted_batch), "--json")
    drifted_again = run(workdir, "check", DATASET, "--source", str(drifted_batch), "--json")
    history = run(workdir, "history", DATASET, "--json")
    check_new = run(workdir, "check-new", DATASET, "--folder", str(new_folder), "--json")
    check_new_again = run(workdir, "check-new", DATASET, "--folder", str(new_folder))
    return Story(
        workdir, example, reference, healthy, drifted, drifted_again, history, check_new,
        check_new_again,
    )  # fmt: skip


def test_reference_stores_version_one_in_a_sqlite_file_in_the_working_directory(
    story: Story,
) -> None:
    assert story.reference.code == 0, story.reference.stderr
    assert "Stored reference v1 of orders: 20,000 rows" in story.reference.stdout
    assert (story.workdir / "driftmon.db").is_file()
    assert story.reference.stderr == ""  # no identifier-like column in the example data


def test_an_identifier_like_column_is_pointed_out_when_the_reference_is_built(
    tmp_path: Path,
) -> None:
    """A column of mostly one-off values (order IDs) brings new values in every batch: the
    reference command says so, with its figures and the setting that excludes it; a long
    tail of repeated values (SKUs) is not an identifier."""
    rng = np.random.default_rng(3)
    n = 4_000
    frame = pd.DataFrame(
        {
            "order id": [f"o-{i}" for i in rng.permutation(n)],  # every value once
            "sku": [f"sku-{i}" for i in rng.zipf(1.5, n) % 500],
            "amount": rng.normal(0.0, 1.0, n),
        }
    )
    frame.loc[frame.index[: n // 10], "order id"] = "o-shared"  # 10% of rows share one
    frame.to_parquet(tmp_path / "reference.parquet", index=False)

    result = run(tmp_path, "reference", "shop", "--source", "reference.parquet")

    assert result.code == 0, result.stderr
    singletons = (n - n // 10) / n  # rows whose value occurs once
    [warning] = result.stderr.splitlines()
    assert warning == (
        f"warning: order id looks like an identifier ({n - n // 10 + 1:,} distinct values, "
        f"{format_share(singletons)} of rows holding one seen once): checks expect about that "
        "share of a batch's rows to hold values the reference never saw and flag it when more "
        'do; it has little else to watch, so exclude it (`exclude = ["order id"]` in the '
        "dataset's configuration) unless new values are what you want to watch"
    )


def test_the_exclude_line_of_a_warning_pastes_into_the_configuration_as_it_is(
    tmp_path: Path,
) -> None:
    """A name rich could read as markup, or with an emoji, comes out whole in the `exclude`
    line, and that line is TOML that names the column."""
    name = 'id[bold]"😀'
    frame = pd.DataFrame({name: [f"o-{i}" for i in range(2_000)], "amount": np.arange(2_000.0)})
    frame.to_parquet(tmp_path / "reference.parquet", index=False)

    result = run(tmp_path, "reference", "shop", "--source", "reference.parquet")

    assert result.code == 0, result.stderr
    line = re.search(r"`(exclude = \[.*\])`", result.stderr)
    assert line is not None, result.stderr
    assert tomllib.loads(line.group(1)) == {"exclude": [name]}


def test_a_column_of_recent_times_is_pointed_out_when_the_reference_is_built(
    tmp_path: Path,
) -> None:
    """A timestamp of when rows arrived (``created_at``) lies beyond the reference's range in
    every later batch: the reference command says so, with the range and the setting that
    excludes it; a birth date, which ends decades back, is not pointed out."""
    now = pd.Timestamp.now(tz="UTC").floor("D")
    n = 2_000
    frame = pd.DataFrame(
        {
            "created_at": now - pd.to_timedelta(np.arange(n) * 3_600, unit="s"),
            "birth_date": pd.Timestamp("1990-01-01") - pd.to_timedelta(np.arange(n), unit="D"),
            "amount": np.random.default_rng(7).gamma(2.0, 30.0, n).round(2),
        }
    )
    frame.to_parquet(tmp_path / "reference.parquet", index=False)

    result = run(tmp_path, "reference", "shop", "--source", "reference.parquet")

    assert result.code == 0, result.stderr
    first = (now - pd.Timedelta(hours=n - 1)).strftime("%Y-%m-%d %H:%M")
    [warning] = result.stderr.splitlines()
    assert warning == (
        f"warning: created_at holds recent times ({first} to {now:%Y-%m-%d}): if they are when "
        "rows arrived, every later batch lies beyond that range and checks will flag it; "
        'exclude it (`exclude = ["created_at"]` in the dataset\'s configuration) unless it is '
        "what you want to watch"
    )


def test_check_of_an_unchanged_batch_finds_no_drift(story: Story) -> None:
    assert story.healthy.code == 0, story.healthy.stderr
    result = story.healthy.json()
    assert result["verdict"] == "ok"
    assert result["drifted"] == []
    assert {f["status"] for f in result["features"]} == {"ok"}


def test_check_of_a_drifted_batch_flags_exactly_the_changed_features(story: Story) -> None:
    result = story.drifted.json()
    changed = story.example.expected_drift[Path(result["source"]).name]
    flagged = {f["name"] for f in result["features"] if f["status"] in ("warning", "critical")}
    assert flagged == set(changed) and flagged


def test_check_json_has_the_documented_schema(story: Story) -> None:
    result = story.drifted.json()
    for key in ("run_id", "dataset", "batch_key", "n_rows", "reference_version", "features"):
        assert key in result
    assert result["dataset"] == DATASET
    assert result["n_rows"] == 5_000
    assert result["reference_version"] == 1
    assert set(result["schema"]) == {"missing", "new", "retyped"}
    opened = {a["feature"] for a in result["alerts"] if a["change"] == "opened"}
    assert opened == set(result["drifted"])
    assert all(a["state"] == "open" for a in result["alerts"])
    feature = result["features"][0]
    for key in ("name", "kind", "kl", "kl_reverse", "js", "psi", "p_value", "status"):
        assert key in feature
    assert feature["kind"] in ("numeric", "categorical")
    assert all(isinstance(feature[k], float) for k in ("kl", "kl_reverse", "js", "psi"))


def test_rechecking_the_same_batch_replaces_its_run_instead_of_adding_one(story: Story) -> None:
    first, again = story.drifted.json(), story.drifted_again.json()
    assert again["run_id"] == first["run_id"]
    assert again["batch_key"] == first["batch_key"]
    assert again["replaced"] is True
    history = story.history.json()
    assert [r["run_id"] for r in history].count(first["run_id"]) == 1
    assert len(history) == 2


def test_check_new_processes_each_file_once_in_order(story: Story) -> None:
    processed = story.check_new.json()
    assert [Path(r["source"]).name for r in processed] == [b.name for b in story.example.batches]
    assert story.check_new_again.code == 0
    assert "No new batches" in story.check_new_again.stdout
    with sqlite3.connect(story.workdir / "driftmon.db") as connection:
        (runs,) = connection.execute("select count(*) from runs").fetchone()
    assert runs == 2 + len(story.example.batches)


def test_check_new_on_an_empty_folder_finds_no_new_batches(story: Story) -> None:
    """A job that moves checked files away leaves the folder empty: nothing to check, exit 0,
    as when every file was checked already; a folder that does not exist stays an error."""
    empty = story.workdir.parent / f"{story.workdir.name}-emptied"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a batch")

    result = run(story.workdir, "check-new", DATASET, "--folder", str(empty))
    as_json = run(story.workdir, "check-new", DATASET, "--folder", str(empty), "--json")
    pattern = run(story.workdir, "check-new", DATASET, "--folder", str(empty / "*.csv"))

    assert result.code == 0, result.stderr
    assert "No new batches for orders in" in result.stdout
    assert as_json.code == 0, as_json.stderr
    assert as_json.json() == []
    assert pattern.code == 0, pattern.stderr
    assert "No new batches" in pattern.stdout
    missing = story.workdir / "no-such-folder"
    for folder in (str(missing), str(missing / "*.csv")):
        assert_one_line_error(
            run(story.workdir, "check-new", DATASET, "--folder", folder), "no-such-folder"
        )


def test_human_output_is_a_table_with_the_verdict(example: ExampleData, story: Story) -> None:
    batch = next(b for b in example.batches if example.expected_drift[b.name])
    result = run(story.workdir, "check", DATASET, "--source", str(batch))
    assert result.code == 0
    assert "feature" in result.stdout and "p (corr.)" in result.stdout
    assert "verdict: critical" in result.stdout or "verdict: warning" in result.stdout


def test_long_column_names_wrap_and_every_number_is_printed_whole(tmp_path: Path) -> None:
    """A 60-character column name used to squeeze every number of the table to `0…`; now the
    names fold onto more lines and the figures keep their width."""
    import numpy as np

    rng = np.random.default_rng(3)
    amount = "customer_lifetime_value_in_euros_adjusted_for_inflation_2026"
    country = "country_of_residence_as_reported_by_the_payment_provider"

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {amount: rng.normal(shift, 1, n), country: rng.choice(["FR", "DE", "ES"], n)}
        )

    frame(5_000, 0.0).to_parquet(tmp_path / "reference.parquet")
    frame(2_000, 0.5).to_parquet(tmp_path / "2026-11-29.parquet")
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    never = {"DRIFTMON_PREFECT": "never"}
    source = ["--source", str(tmp_path / "reference.parquet")]
    assert run(tmp_path, *db, "reference", "shop", *source, env=never).code == 0
    batch = ["--source", str(tmp_path / "2026-11-29.parquet")]
    human = run(tmp_path, *db, "check", "shop", *batch, env=never)
    assert human.code == 0, human.stderr
    rows = [line for line in human.stdout.splitlines() if line.startswith("│")]
    assert rows and not any("…" in line for line in rows)
    measured = run(tmp_path, *db, "check", "shop", *batch, "--json", env=never).json()
    for feature in measured["features"]:
        assert f"{feature['kl']:.4f}" in human.stdout, feature["name"]
    assert amount in "".join(line.split("│")[1].strip() for line in rows[:3])


def test_amounts_in_the_tens_of_thousands_read_as_plain_digits_everywhere(
    tmp_path: Path,
) -> None:
    """Bin edges, the reference range and chart ticks of an amount up to 50,000 used to read
    ``4.998e+04`` (Python's ``g``); and a top category move that rounds to zero read
    ``-0.0 pt``. Table, alert messages and the report now write plain digits, the move
    ``+0.0 pt``."""
    n = 10_000
    tags = ["a"] * 4_000 + ["b"] * 3_000 + ["c"] * 3_000
    reference = pd.DataFrame({"amount": np.linspace(0.0, 50_000.0, n), "tag": tags})
    # a's share falls by 0.04 points: the largest move, rounding to zero
    moved = ["a"] * 3_996 + ["b"] * 3_002 + ["c"] * 3_002
    batch = pd.DataFrame({"amount": np.linspace(60_000.0, 70_000.0, n), "tag": moved})
    reference.to_csv(tmp_path / "reference.csv", index=False)
    batch.to_csv(tmp_path / "2026-11-25.csv", index=False)
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    never = {"DRIFTMON_PREFECT": "never"}
    assert run(tmp_path, *db, "reference", "shop", "-s", "reference.csv", env=never).code == 0

    human = run(tmp_path, *db, "check", "shop", "-s", "2026-11-25.csv", env=never)

    assert human.code == 0, human.stderr
    [tag_row] = [line for line in human.stdout.splitlines() if line.startswith("│ tag ")]
    assert tag_row.split("│")[-2].strip() == "+0.0 pt a"
    alerts = [line for line in human.stdout.splitlines() if line.startswith("alert ")]
    assert any(
        line.endswith("amount: 100% of values are outside the reference range [0, 50000]")
        for line in alerts
    ), alerts
    [kl_alert] = [line for line in alerts if "amount distribution changed" in line]
    assert "most changed: [-inf, 2500) 5.0% → 0%, [2500, 5000) 5.0% → 0%" in kl_alert
    html = (tmp_path / "reports" / "shop" / "run-1.html").read_text(encoding="utf-8")
    assert "<code>[-inf, 2500)</code>" in html and "0 to 50000" in html
    text = re.sub(r"data:image/png;base64,[^\"]*", "", html)  # the page without its charts
    assert "e+" not in human.stdout and "e+" not in text


def test_a_binary_parquet_column_reads_as_text_where_its_bytes_are_utf8(tmp_path: Path) -> None:
    """Categories of a pyarrow `binary` column used to read ``b'y'``: now ``y`` (bytes that are
    not UTF-8 as an escaped bytes literal: `category_key`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(name: str, codes: list[bytes]) -> None:
        table = pa.table({"code": pa.array(codes * 500, pa.binary())})
        pq.write_table(table, tmp_path / name)

    write("reference.parquet", [b"x", b"y", b"\xff\xfe", b"x"])
    write("2026-11-26.parquet", [b"x", b"x", b"\xff\xfe", b"z"])
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    never = {"DRIFTMON_PREFECT": "never"}
    assert run(tmp_path, *db, "reference", "raw", "-s", "reference.parquet", env=never).code == 0

    human = run(tmp_path, *db, "check", "raw", "-s", "2026-11-26.parquet", env=never)
    measured = run(tmp_path, *db, "check", "raw", "-s", "2026-11-26.parquet", "--json").json()

    assert human.code == 0, human.stderr
    [row] = [line for line in human.stdout.splitlines() if line.startswith("│ code ")]
    assert row.split("│")[-2].strip() == "-25.0 pt y"
    assert "code: 25.0% of values are categories the reference never saw, e.g. z" in human.stdout
    [feature] = measured["features"]
    assert feature["top_unseen"] == {"z": 500}
    assert [b["label"] for b in feature["top_bins"]] == ["y", "(long tail + new)", "x"]
    assert "b'x'" not in human.stdout and "b'y'" not in human.stdout


# --------------------------------------------------------------------------------------------
# User mistakes: one clear line, exit 1, no traceback, nothing started


def test_progress_goes_to_a_log_as_plain_lines_only_for_long_work(
    example: ExampleData, story: Story
) -> None:
    """Where stderr is not a terminal (CI logs), progress is a plain line per read every
    DRIFTMON_PROGRESS_SECONDS; a check shorter than the default interval prints none."""
    batch = str(story.example.batches[0])
    human = run(story.workdir, "check", DATASET, "--source", batch)
    assert human.code == 0 and human.stderr == "", human.stderr
    every_read = run(
        story.workdir, "check", DATASET, "--source", batch,
        env={"DRIFTMON_PROGRESS_SECONDS": "0"},
    )  # fmt: skip
    assert every_read.code == 0, every_read.stderr
    lines = every_read.stderr.splitlines()
    read = re.escape(f"reading {batch}")
    assert lines and all(re.fullmatch(rf"{read}: \d+% after \d+ s", line) for line in lines)
    assert lines[-1].startswith(f"reading {batch}: 100% after ")
    as_json = run(
        story.workdir, "check", DATASET, "--source", batch, "--json",
        env={"DRIFTMON_PROGRESS_SECONDS": "0"},
    )  # fmt: skip
    assert as_json.json()["n_rows"] > 0  # stdout stays JSON; progress goes to stderr (CI logs)
    assert as_json.stderr.splitlines()[-1].startswith(f"reading {batch}: 100% after ")
    wrong = run(
        story.workdir, "check", DATASET, "--source", batch,
        env={"DRIFTMON_PROGRESS_SECONDS": "soon"},
    )  # fmt: skip
    assert_one_line_error(wrong, "DRIFTMON_PROGRESS_SECONDS=`soon`", "unset it")


def test_unknown_dataset_says_how_to_create_a_reference(example: ExampleData, story: Story) -> None:
    result = run(story.workdir, "check", "nope", "--source", str(example.batches[0]))
    assert_one_line_error(result, "`nope` has no reference yet", "driftmon reference nope")


@pytest.mark.parametrize(
    "command",
    [["check", "nope", "--source", "BATCH"], ["history", "nope"], ["alerts", "list"],
     ["report", "nope"], ["metrics"], ["notify"]],
    ids=lambda c: c[0] if c[0] != "alerts" else "alerts list",
)  # fmt: skip
def test_a_mistyped_database_is_an_error_and_no_command_but_reference_creates_one(
    example: ExampleData, tmp_path: Path, command: list[str]
) -> None:
    """A ``--db`` path with a typo: one `error:` line, and no file or folder left behind
    (only `driftmon reference` creates a database)."""
    database = tmp_path / "no" / "such" / "driftmon.db"
    command = [str(example.batches[0]) if part == "BATCH" else part for part in command]

    result = run(tmp_path, "--db", f"sqlite:///{database}", *command)

    assert_one_line_error(result, f"database `sqlite:///{database}` does not exist")
    assert "driftmon reference DATASET --source PATH" in result.stderr
    assert not (tmp_path / "no").exists()


def test_a_missing_source_file_is_named(tmp_path: Path) -> None:
    result = run(tmp_path, "reference", DATASET, "--source", str(tmp_path / "missing.csv"))
    assert_one_line_error(result, "missing.csv")


def test_a_folder_given_to_check_asks_for_one_file_or_check_new(
    example: ExampleData, story: Story
) -> None:
    result = run(story.workdir, "check", DATASET, "--source", str(example.batches[0].parent))
    assert_one_line_error(result, "check-new")


def test_a_bad_config_value_names_the_key_and_allowed_values(tmp_path: Path) -> None:
    (tmp_path / "driftmon.toml").write_text('[defaults]\ncorrection = "bonferroni"\n')
    result = run(tmp_path, "history", DATASET)
    assert_one_line_error(result, "defaults.correction", "'bh', 'holm' or 'none'")


def test_a_config_file_from_the_environment_is_used(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("[defaults]\nn_bins = -1\n")
    result = run(tmp_path, "history", DATASET, env={"DRIFTMON_CONFIG": str(config)})
    assert_one_line_error(result, "elsewhere.toml", "defaults.n_bins")


def test_history_of_an_unknown_dataset_lists_the_known_ones(story: Story) -> None:
    result = run(story.workdir, "history", "nope")
    assert_one_line_error(result, "unknown dataset `nope`", "orders")


@pytest.mark.parametrize("options", [[], ["--retry"], ["--json"]], ids=["plain", "retry", "json"])
def test_notify_of_an_unknown_dataset_lists_the_known_ones(
    story: Story, options: list[str]
) -> None:
    """As `history` says: a mistyped name is not an empty outbox."""
    result = run(story.workdir, "notify", "order", *options)
    assert_one_line_error(result, "unknown dataset `order` (known datasets: orders)")


def test_a_configured_feature_that_does_not_exist_is_named(
    example: ExampleData, tmp_path: Path
) -> None:
    (tmp_path / "driftmon.toml").write_text(
        '[datasets.orders]\nfeatures = ["order_value", "no_such_column"]\n'
    )
    result = run(tmp_path, "reference", DATASET, "--source", str(example.reference))
    assert_one_line_error(result, "no_such_column", "order_value")


def test_a_retry_says_when_pending_notifications_wait_for_a_target_not_configured(
    example: ExampleData, tmp_path: Path
) -> None:
    """The outbox keeps a hash of each target's URL, not the URL: a retry from a shell where
    the target is not set again cannot send, and says so instead of "Sent 0" alone."""
    dead = {"DRIFTMON_NOTIFY": "json://127.0.0.1:9/hook"}  # discard port: refused
    assert run(tmp_path, "reference", DATASET, "-s", str(example.reference)).code == 0
    batch = next(b for b in example.batches if example.expected_drift[b.name])
    drifted = run(tmp_path, "check", DATASET, "-s", str(batch), env=dead)
    assert drifted.code == 0, drifted.stderr

    unset = run(tmp_path, "notify", "--retry", "--json", env={"DRIFTMON_NOTIFY": ""}).json()
    configured = run(tmp_path, "notify", "--retry", "--json", env=dead).json()

    assert unset["sent"] == 0 and unset["pending"] >= 1
    assert any(
        "json://127.0.0.1:9/hook" in e and "wait for a target not configured here" in e
        for e in unset["errors"]
    ), unset["errors"]
    assert not any("not configured" in e for e in configured["errors"]), configured["errors"]


def test_a_notification_names_the_batch_by_its_file_or_the_key_given(
    example: ExampleData, tmp_path: Path, receiver: Receiver
) -> None:
    """`check` hands the job the key it computed (``path|size|mtime``), which the message
    used to show as the batch's name; a key given with --batch-key is still its name."""
    notify = {"DRIFTMON_NOTIFY": f"json://127.0.0.1:{receiver.port}/hook"}
    batch = next(b for b in example.batches if example.expected_drift[b.name])
    for folder, key in (("own", []), ("given", ["--batch-key", "nightly|42"])):
        (tmp_path / folder).mkdir()
        assert run(tmp_path / folder, "reference", DATASET, "-s", str(example.reference)).code == 0
        checked = run(tmp_path / folder, "check", DATASET, "-s", str(batch), *key, env=notify)
        assert checked.code == 0, checked.stderr

    own, given = (request["json"] for request in receiver.requests)
    assert own["message"].splitlines()[0] == f"Dataset orders, batch {batch.name} (run 1)."
    assert given["message"].splitlines()[0] == "Dataset orders, batch nightly|42 (run 1)."
    assert own["title"].startswith("driftmon: orders: ")
    assert own["title"].endswith(f" in {batch.name}")
    assert given["title"] == own["title"].replace(batch.name, "nightly|42")


def test_a_batch_named_with_a_future_date_is_refused_unless_its_time_is_given(
    example: ExampleData, tmp_path: Path
) -> None:
    """A date ahead in a name (an ID such as ``id20991231`` reads as one) would make the batch
    the newest and every later check an older batch that changes no alert: refused, with the
    way out; `check-new` checks the folder's other batches and leaves that one unchecked."""
    assert run(tmp_path, "reference", DATASET, "--source", str(example.reference)).code == 0
    feed = tmp_path / "feed"
    feed.mkdir()
    future = feed / "orders_id20991231.parquet"
    shutil.copy(example.batches[0], future)
    shutil.copy(example.batches[1], feed / example.batches[1].name)

    refused = run(tmp_path, "check", DATASET, "--source", str(future))
    folder = run(tmp_path, "check-new", DATASET, "--folder", str(feed), "--json")
    given = run(tmp_path, "check", DATASET, "-s", str(future), "--batch-time", "2099-01-01")

    assert_one_line_error(refused, "2099-12-31", "is in the future", "--batch-time")
    [failed] = [r for r in folder.json() if "error" in r]
    assert "is in the future" in failed["error"]
    assert [r["batch_key"] for r in folder.json() if "error" not in r] != []
    assert given.code == 0, given.stderr  # a time given is the user's to choose
    history = run(tmp_path, "history", DATASET, "--json").json()
    assert [r["batch_time"][:10] for r in history] == [
        "2099-01-01",
        example.batches[1].name[:10],
    ]


def test_an_error_mid_way_through_a_batch_leaves_the_database_as_it_was(
    example: ExampleData, tmp_path: Path
) -> None:
    """A CSV whose 40,000th row is broken fails after earlier chunks were counted."""
    (tmp_path / "driftmon.toml").write_text("[defaults]\nchunk_rows = 1000\n")
    assert run(tmp_path, "reference", DATASET, "--source", str(example.reference)).code == 0
    batch = pd.read_parquet(example.batches[0])
    csv = tmp_path / "broken.csv"
    rows = pd.concat([batch] * 8, ignore_index=True)
    rows.to_csv(csv, index=False)
    lines = csv.read_text().splitlines()
    lines[39_999] = lines[39_999] + ',"unterminated'
    csv.write_text("\n".join(lines) + "\n")
    before = (tmp_path / "driftmon.db").read_bytes()
    with sqlite3.connect(tmp_path / "driftmon.db") as connection:
        tables_before = _row_counts(connection)

    result = run(tmp_path, "check", DATASET, "--source", str(csv))

    assert_one_line_error(result, "broken.csv")
    with sqlite3.connect(tmp_path / "driftmon.db") as connection:
        assert _row_counts(connection) == tables_before
    assert before  # the file existed and still holds the reference


def _row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    tables = [
        name for (name,) in connection.execute("select name from sqlite_master where type='table'")
    ]
    return {t: connection.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def test_alerts_lists_open_alerts_with_their_age_and_ack_marks_one(story: Story) -> None:
    listed = run(story.workdir, "alerts", DATASET, "--json")
    assert listed.code == 0, listed.stderr
    alerts = listed.json()
    # which alerts are still open depends on the runs since (other tests here re-check
    # batches, which count as clear runs); each open one must come from a drifted batch
    open_kl = {a["feature"] for a in alerts if a["signal"] == "kl"}
    ever_drifted = set(story.drifted.json()["drifted"]).union(
        *(set(r["drifted"]) for r in story.check_new.json())
    )
    assert open_kl and open_kl <= ever_drifted
    assert all(a["state"] in ("open", "escalated") and a["open_seconds"] >= 0 for a in alerts)

    acked = run(story.workdir, "alerts", "ack", str(alerts[0]["id"]), "--by", "dana")
    assert acked.code == 0, acked.stderr
    assert f"Acknowledged alert {alerts[0]['id']}" in acked.stdout
    again = {a["id"]: a for a in run(story.workdir, "alerts", "--json").json()}
    assert again[alerts[0]["id"]]["acknowledged_by"] == "dana"
    assert alerts[0]["acknowledged_at"] is None
    acknowledged_at = datetime.fromisoformat(again[alerts[0]["id"]]["acknowledged_at"])
    assert acknowledged_at >= datetime.fromisoformat(alerts[0]["opened_at"])
    assert "open for" in run(story.workdir, "alerts").stdout

    # a second ack keeps the first: who saw it first, and when, and says so
    acked_again = run(story.workdir, "alerts", "ack", str(alerts[0]["id"]), "--by", "erin")
    assert acked_again.code == 0, acked_again.stderr
    assert re.search(
        rf"Alert {alerts[0]['id']} was already acknowledged by dana at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC",
        acked_again.stdout,
    ), acked_again.stdout
    after = {a["id"]: a for a in run(story.workdir, "alerts", "--json").json()}
    assert after[alerts[0]["id"]]["acknowledged_by"] == "dana"
    assert after[alerts[0]["id"]]["acknowledged_at"] == acknowledged_at.isoformat()
    assert f"dana at {acknowledged_at:%Y-%m-%d %H:%M} UTC" in acked_again.stdout


def test_acknowledging_an_unknown_alert_is_a_clear_error(story: Story) -> None:
    assert_one_line_error(
        run(story.workdir, "alerts", "ack", "9999"), "alert `9999` does not exist"
    )


def test_an_invalid_notification_target_is_refused_before_anything_runs(
    example: ExampleData, story: Story
) -> None:
    result = run(
        story.workdir,
        "check",
        DATASET,
        "--source",
        str(example.batches[0]),
        env={"DRIFTMON_NOTIFY": "nope://secret-token@host"},
    )
    assert_one_line_error(result, "nope://")
    assert "secret-token" not in result.stderr


def test_version_prints_without_a_command(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert (result.code, result.stdout.strip()) == (0, "driftmon 0.1.0")


def test_a_read_only_database_is_refused_before_any_work(
    example: ExampleData, story: Story
) -> None:
    read_only = f"sqlite:///file:{story.workdir / 'driftmon.db'}?mode=ro&uri=true"
    result = run(
        story.workdir, "--db", read_only, "check", DATASET, "--source", str(example.batches[0])
    )
    assert_one_line_error(result, "is read-only", "--db")


def test_metrics_to_a_missing_folder_names_the_path_given_and_how_to_create_it(
    story: Story,
) -> None:
    """The error used to name the temporary `.driftmon.prom.partial` beside the file."""
    target = Path("missing", "folder", "driftmon.prom")

    result = run(story.workdir, "metrics", "-o", str(target))

    assert_one_line_error(
        result,
        f"cannot write metrics to `{target}`: its folder `{target.parent}` does not exist; "
        f"create it (`mkdir -p {target.parent}`) or give a path in an existing folder",
    )
    assert ".partial" not in result.stderr and not (story.workdir / "missing").exists()


def test_metrics_onto_a_folder_names_the_path_given_and_leaves_no_temporary_file(
    story: Story,
) -> None:
    (story.workdir / "taken").mkdir()

    result = run(story.workdir, "metrics", "-o", "taken")

    assert_one_line_error(result, "cannot write metrics to `taken`: Is a directory")
    assert ".partial" not in result.stderr
    assert not list(story.workdir.glob(".*.partial"))


def test_a_misspelled_excluded_column_is_an_error_not_ignored(
    example: ExampleData, tmp_path: Path
) -> None:
    (tmp_path / "driftmon.toml").write_text('[datasets.orders]\nexclude = ["chanel"]\n')
    result = run(tmp_path, "reference", DATASET, "--source", str(example.reference))
    assert_one_line_error(result, "`exclude` names `chanel`", "channel")


def test_check_new_reports_a_bad_file_and_still_checks_the_others(
    example: ExampleData, tmp_path: Path
) -> None:
    assert run(tmp_path, "reference", DATASET, "--source", str(example.reference)).code == 0
    folder = tmp_path / "incoming"
    folder.mkdir()
    healthy = next(b for b in example.batches if not example.expected_drift[b.name])
    drifted = next(b for b in example.batches if example.expected_drift[b.name])
    shutil.copy(healthy, folder / "a1.parquet")
    (folder / "a2.parquet").write_bytes(b"not parquet at all")
    shutil.copy(drifted, folder / "a3.parquet")

    result = run(tmp_path, "check-new", DATASET, "--folder", str(folder), "--json")

    assert result.code == 1
    outcomes = result.json()
    assert [Path(o["source"]).name for o in outcomes] == ["a1.parquet", "a2.parquet", "a3.parquet"]
    assert "not a readable Parquet file" in outcomes[1]["error"]
    assert outcomes[2]["verdict"] == "critical"
    again = run(tmp_path, "check-new", DATASET, "--folder", str(folder), "--json")
    assert [Path(o["source"]).name for o in again.json()] == ["a2.parquet"]  # only the bad one


def test_check_new_records_a_file_without_data_rows_once_and_checks_rows_written_later(
    example: ExampleData, tmp_path: Path
) -> None:
    """A header alone (an hour without data) is handled once, not an error every run; rows
    written to it later change its key and are checked; a 0-byte file may still be being
    written and stays an error, tried again; `check` of a header alone stays an error."""
    assert run(tmp_path, "reference", DATASET, "--source", str(example.reference)).code == 0
    frame = pd.read_parquet(example.reference)
    folder = tmp_path / "incoming"
    folder.mkdir()
    header_only = folder / "a1.csv"
    header_only.write_text(",".join(frame.columns) + "\n")
    frame.iloc[:0].to_parquet(folder / "a2.parquet")
    healthy = next(b for b in example.batches if not example.expected_drift[b.name])
    shutil.copy(healthy, folder / "a3.parquet")
    (folder / "a4.csv").write_bytes(b"")

    first = run(tmp_path, "check-new", DATASET, "--folder", str(folder), "--json")
    again = run(tmp_path, "check-new", DATASET, "--folder", str(folder))

    assert first.code == 1  # the 0-byte file
    outcomes = first.json()
    names = ["a1.csv", "a2.parquet", "a3.parquet", "a4.csv"]
    assert [Path(o["source"]).name for o in outcomes] == names
    assert [o.get("reason") for o in outcomes[:2]] == ["no data rows"] * 2
    assert [o["skipped"] for o in outcomes[:3]] == [True, True, False]
    assert "is empty (0 bytes)" in outcomes[3]["error"]
    assert again.code == 1
    assert again.stdout.splitlines() == [
        "Checked 0 new batch(es); 1 could not be read (tried again next time). Database: "
        f"sqlite:///{tmp_path / 'driftmon.db'}"
    ]
    (folder / "a4.csv").unlink()
    nothing_new = run(tmp_path, "check-new", DATASET, "--folder", str(folder))
    assert (nothing_new.code, nothing_new.stderr) == (0, "")
    assert nothing_new.stdout.startswith("No new batches")
    history = run(tmp_path, "history", DATASET, "--json").json()
    assert len(history) == 1  # a skipped file has no run

    rows = pd.read_parquet(healthy).head(50)
    rows.to_csv(header_only, index=False)  # its writer finishes it
    late = run(tmp_path, "check-new", DATASET, "--folder", str(folder), "--json")
    assert late.code == 0
    assert [(Path(o["source"]).name, o["n_rows"]) for o in late.json()] == [("a1.csv", 50)]
    header_only.write_text(",".join(frame.columns) + "\n")
    assert_one_line_error(
        run(tmp_path, "check", DATASET, "--source", str(header_only)), "has no data rows"
    )


def test_a_folder_of_part_files_is_one_batch_named_by_its_folder(
    example: ExampleData, tmp_path: Path
) -> None:
    """Writers name every dataset folder's parts alike (``part-0.parquet``): such a folder is
    one batch, for `check` and `check-new` (a batch per day folder of the feed), named by its
    folder in the output, the history and the report; a pattern naming the parts makes each
    a batch, named with its folder."""
    import pyarrow.dataset as ds

    assert run(tmp_path, "reference", DATASET, "--source", str(example.reference)).code == 0
    rows = ds.dataset(example.batches[0]).to_table()
    for day in ("2026-11-01", "2026-11-02"):
        half = rows.num_rows // 2 + 1
        ds.write_dataset(
            rows,
            tmp_path / "feed" / day,
            format="parquet",
            max_rows_per_file=half,
            max_rows_per_group=half,
        )

    one = run(tmp_path, "check", DATASET, "--source", "feed/2026-11-01", "--json")
    new = run(tmp_path, "check-new", DATASET, "--folder", "feed", "--json")
    parts = run(tmp_path, "check-new", DATASET, "--folder", "feed/2026-11-02/*.parquet")
    history = run(tmp_path, "history", DATASET)

    assert (one.code, new.code, parts.code) == (0, 0, 0), new.stderr
    assert (one.json()["source"], one.json()["n_rows"]) == ("feed/2026-11-01/", rows.num_rows)
    page = Path(one.json()["report_path"]).read_text(encoding="utf-8")
    assert "<title>orders · 2026-11-01/ · " in page
    assert [(r["source"], r["n_rows"]) for r in new.json()] == [
        ("feed/2026-11-02/", rows.num_rows)  # 2026-11-01 was checked by `check`: same key
    ]
    assert [line.split(" · ")[1] for line in parts.stdout.splitlines() if " · " in line] == [
        "2026-11-02/part-0.parquet",
        "2026-11-02/part-1.parquet",
    ]
    for label in ("2026-11-01/ ", "2026-11-02/ ", "2026-11-02/part-1.parquet"):
        assert label in history.stdout


def test_a_reference_from_a_spark_folder_skips_its_empty_parts(tmp_path: Path) -> None:
    """Spark writes empty parts beside full ones and marks the folder ``_SUCCESS``: the
    reference is the full parts' rows; an hour without data (a CSV header alone) among a
    reference's files adds none either."""
    folder = tmp_path / "trusted"
    folder.mkdir()
    frame = pd.DataFrame({"amount": np.arange(3_000) % 97 * 1.5, "country": ["DE", "FR"] * 1_500})
    frame[:2_000].to_parquet(folder / "part-00000-a1.c000.snappy.parquet", index=False)
    frame[2_000:].to_parquet(folder / "part-00001-a1.c000.snappy.parquet", index=False)
    frame[:0].to_parquet(folder / "part-00002-a1.c000.snappy.parquet", index=False)
    (folder / "_SUCCESS").write_bytes(b"")

    hours = tmp_path / "hours"
    hours.mkdir()
    frame.to_csv(hours / "orders-2026-11-01T10.csv", index=False)
    (hours / "orders-2026-11-01T11.csv").write_text("amount,country\n")  # an hour without data

    built = run(tmp_path, "reference", DATASET, "--source", "trusted")
    from_hours = run(tmp_path, "reference", DATASET, "--source", "hours")
    checked = run(tmp_path, "check", DATASET, "--source", "trusted", "--json")

    assert (built.code, built.stderr) == (0, "")
    assert built.stdout.startswith(f"Stored reference v1 of {DATASET}: 3,000 rows, 2 features")
    assert (from_hours.code, from_hours.stderr) == (0, "")
    assert from_hours.stdout.startswith(f"Stored reference v2 of {DATASET}: 3,000 rows")
    assert (checked.code, checked.json()["n_rows"], checked.json()["verdict"]) == (0, 3_000, "ok")


def test_check_new_waits_for_a_folder_spark_has_not_marked_complete(tmp_path: Path) -> None:
    """Spark marks a finished folder ``_SUCCESS``: one without it is still being written (or
    its job failed), so `check-new` says it waits rather than checking half a day or
    passing over it in silence, and checks it once the marker is there; `check` of it warns,
    and what it checked does not wait."""
    frame = pd.DataFrame({"amount": np.arange(3_000) % 97 * 1.5, "country": ["DE", "FR"] * 1_500})
    frame.to_parquet(tmp_path / "reference.parquet", index=False)
    for day in ("day=24", "day=25"):
        folder = tmp_path / "feed" / "year=2026" / "month=11" / day
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "part-00000-a1.c000.snappy.parquet", index=False)
    day_25 = tmp_path / "feed" / "year=2026" / "month=11" / "day=25"
    (tmp_path / "feed" / "year=2026" / "month=11" / "day=24" / "_SUCCESS").write_bytes(b"")
    assert run(tmp_path, "reference", DATASET, "--source", "reference.parquet").code == 0

    first = run(tmp_path, "check-new", DATASET, "--folder", "feed", "--json")
    by_hand = run(tmp_path, "check", DATASET, "-s", "feed/year=2026/month=11/day=25", "--json")
    after_hand = run(tmp_path, "check-new", DATASET, "--folder", "feed", "--json")
    (tmp_path / "feed" / "year=2026" / "month=11" / "day=25" / "_SUCCESS").write_bytes(b"")
    frame.to_parquet(day_25 / "part-00001-a1.c000.snappy.parquet", index=False)  # all of it
    second = run(tmp_path, "check-new", DATASET, "--folder", "feed", "--json")

    assert first.code == 0, first.stderr
    assert [r["source"] for r in first.json()] == ["feed/year=2026/month=11/day=24/"]
    assert first.stderr == (
        "waiting: 1 folder(s) without `_SUCCESS` yet, checked once their writer marks them "
        "complete: feed/year=2026/month=11/day=25/\n"
    )
    assert by_hand.code == 0 and by_hand.stderr == (
        "warning: feed/year=2026/month=11/day=25/ has no `_SUCCESS` yet, as the folders beside "
        "it have: its writer may not have finished; checked as it is now (`check-new` waits "
        "for the marker)\n"
    )
    assert (after_hand.json(), after_hand.stderr) == ([], "")  # checked as it is: no wait
    assert [(r["source"], r["n_rows"]) for r in second.json()] == [
        ("feed/year=2026/month=11/day=25/", 6_000)
    ]
    assert second.stderr == ""


def _stored_reference_feature(db: Path, name: str) -> dict[str, Any]:
    """A feature of the one stored reference profile, read with sqlite3 as stored."""
    with sqlite3.connect(db) as connection:
        [profile] = connection.execute("SELECT profile FROM reference_profiles").fetchone()
    return json.loads(profile)["features"][name]


def _codes_csv(path: Path, n_numbers: int, n_codes: int) -> None:
    """A CSV whose `code` column holds only numbers for ``n_numbers`` rows, then codes."""
    numbers = [f"{i % 40},{i % 7}" for i in range(n_numbers)]
    codes = [f"A{i % 40},{i % 7}" for i in range(n_codes)]
    path.write_text("\n".join(["code,amount", *numbers, *codes]) + "\n", encoding="utf-8")


def test_a_reference_column_of_numbers_then_text_is_categorical_text(tmp_path: Path) -> None:
    """The CSV reader parses each chunk alone: chunks of numbers, then chunks of codes. The
    column is text, every value a category (`12` as well as `A12`), none counted missing."""
    (tmp_path / "driftmon.toml").write_text("[defaults]\nreference_sample_rows = 40000\n")
    _codes_csv(tmp_path / "ref.csv", 25_000, 5_000)  # chunks of 10,000 rows
    _codes_csv(tmp_path / "batch.csv", 600, 0)  # a batch of digits only reads as text too

    built = run(tmp_path, "reference", "codes", "--source", "ref.csv")
    checked = run(tmp_path, "check", "codes", "--source", "batch.csv", "--json")

    assert built.code == 0, built.stderr
    code = _stored_reference_feature(tmp_path / "driftmon.db", "code")
    assert (code["spec"]["kind"], code["spec"]["text"]) == ("categorical", True)
    assert sum(code["counts"]) == 30_000 and code["counts"][-1] == 0  # none missing
    assert checked.code == 0, checked.stderr
    result = checked.json()
    assert result["schema"] == {"missing": [], "new": [], "retyped": []}
    code_result = next(f for f in result["features"] if f["name"] == "code")
    assert (code_result["reference_type"], code_result["current_type"]) == ("string", "string")
    assert code_result["missing_share_current"] == 0.0


def test_text_in_rows_the_reference_sample_left_out_still_makes_a_column_text(
    tmp_path: Path,
) -> None:
    """Sampling reads every chunk: one code in the last chunk, which no sampled row comes
    from, makes the column text all the same; its numbers are not fitted as numbers."""
    (tmp_path / "driftmon.toml").write_text("[defaults]\nreference_sample_rows = 1000\n")
    _codes_csv(tmp_path / "ref.csv", 20_000, 1)  # the code is the last chunk's only row

    assert run(tmp_path, "reference", "codes", "--source", "ref.csv").code == 0

    code = _stored_reference_feature(tmp_path / "driftmon.db", "code")
    assert (code["spec"]["kind"], code["spec"]["text"]) == ("categorical", True)
    assert sum(code["counts"]) == 20_001 and code["counts"][-1] == 0  # "A0" is in "other"


def test_a_parquet_duration_column_is_a_numeric_feature_in_seconds(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """Arrow's duration type (pandas timedelta64) is numbers of seconds, binned by quantiles:
    a longer wait drifts, rather than every duration being a category seen once."""
    for name, n_rows, shift in (("ref", 5000, 0), ("batch", 2000, 1800)):
        seconds = rng.integers(0, 7200, n_rows) + shift
        pd.DataFrame({"wait": pd.to_timedelta(seconds, unit="s")}).to_parquet(
            tmp_path / f"{name}.parquet"
        )

    built = run(tmp_path, "reference", "waits", "--source", "ref.parquet")
    checked = run(tmp_path, "check", "waits", "--source", "batch.parquet", "--json")

    assert (built.code, built.stderr) == (0, "")  # no "looks like an identifier" warning
    wait = checked.json()["features"][0]
    assert (wait["kind"], wait["status"]) == ("numeric", "critical")
    assert wait["reference_range"][0] >= 0 and wait["reference_range"][1] < 7200


def test_every_check_writes_a_report_and_report_rebuilds_one_from_the_store(
    story: Story,
) -> None:
    drifted = story.drifted.json()
    path = Path(drifted["report_path"])
    assert path == story.workdir / "reports" / "orders" / f"run-{drifted['run_id']}.html"
    assert path.is_file()
    # the dataset's status for the board, and the board, from the real command's session
    status = json.loads((path.parent / "status.json").read_text(encoding="utf-8"))
    assert status["dataset"] == "orders" and status["runs"] >= 1
    assert "orders/index.html" in (story.workdir / "reports" / "index.html").read_text()
    path.unlink()
    rebuilt = run(story.workdir, "report", DATASET, "--run", str(drifted["run_id"]))
    assert rebuilt.code == 0, rebuilt.stderr
    assert str(path.name) in rebuilt.stdout
    html = path.read_text()
    assert all(name in html for name in drifted["drifted"])
    assert "https://" not in html and "http://" not in html.replace("http://www.w3.org", "")


def test_report_of_an_unknown_run_is_a_clear_error(story: Story) -> None:
    assert_one_line_error(run(story.workdir, "report", DATASET, "--run", "999"), "run `999`")


def test_a_database_query_is_checked_from_the_command_line_like_the_same_rows_in_a_file(
    example: ExampleData, tmp_path: Path
) -> None:
    """`check -s URL?query=...` (and `reference -s` the same way) reads the query's rows,
    with its parameters bound: the same verdict and figures as the file holding those rows."""
    drifted_batch = next(b for b in example.batches if example.expected_drift[b.name])

    def read(path: Path) -> pd.DataFrame:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)

    rows = read(drifted_batch)
    database = tmp_path / "feed.db"
    with sqlite3.connect(database) as connection:
        read(example.reference).to_sql("reference", connection, index=False)
        rows.assign(day="2026-11-25").to_sql("orders", connection, index=False)
        rows.assign(day="2026-11-24").iloc[:10].to_sql(
            "orders", connection, index=False, if_exists="append"
        )
    columns = ", ".join(f'"{c}"' for c in rows.columns)
    url = f"sqlite:///{database}"
    by_query_db = ["--db", f"sqlite:///{tmp_path / 'q.db'}"]
    reference = run(
        tmp_path, *by_query_db, "reference", DATASET, "-s", f"{url}?query=SELECT * FROM reference"
    )
    assert reference.code == 0, reference.stderr
    by_query = run(
        tmp_path, *by_query_db, "check", DATASET, "--batch-time", "2026-11-25", "--json", "-s",
        f"{url}?query=SELECT {columns} FROM orders WHERE day = :day&param.day=2026-11-25",
    )  # fmt: skip
    by_file_db = ["--db", f"sqlite:///{tmp_path / 'f.db'}"]
    assert run(tmp_path, *by_file_db, "reference", DATASET, "-s", str(example.reference)).code == 0
    by_file = run(tmp_path, *by_file_db, "check", DATASET, "--json", "-s", str(drifted_batch))
    assert by_query.code == by_file.code == 0, by_query.stderr
    query_result, file_result = by_query.json(), by_file.json()
    assert query_result["n_rows"] == len(rows)
    assert query_result["source"].startswith("SQL query `SELECT")
    assert query_result["batch_time"].startswith("2026-11-25")
    assert query_result["drifted"] == file_result["drifted"] != []
    booleans = {name for name in rows.columns if rows[name].dtype == bool}  # 0/1 in SQLite
    for from_query, from_file in zip(
        query_result["features"], file_result["features"], strict=True
    ):
        if from_query["name"] not in booleans:
            assert from_query["kl"] == pytest.approx(from_file["kl"], rel=1e-9), from_query["name"]

    missing_query = run(tmp_path, "check", DATASET, "-s", f"{url}?timeout=3")
    assert_one_line_error(missing_query, "is a database URL without a query")


def test_a_check_says_when_the_configuration_fits_bins_otherwise_than_its_reference(
    example: ExampleData, story: Story
) -> None:
    """``features``, ``exclude`` or ``n_bins`` changed in the configuration after the reference
    was built take effect only with a new reference: the check warns, then runs as before."""
    config = story.workdir / "changed.toml"
    config.write_text(f'[datasets.{DATASET}]\nn_bins = 7\nexclude = ["country"]\n')
    batch = str(example.batches[0])

    changed = run(story.workdir, "--config", str(config), "check", DATASET, "--source", batch)
    same = run(story.workdir, "check", DATASET, "--source", batch)

    assert changed.code == 0, changed.stderr
    warnings = [line for line in changed.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: n_bins, exclude of `{DATASET}` differ from those "
        "reference v1 was built with, which this check uses; build a new reference to use "
        f"them (`driftmon reference {DATASET} --source PATH`)"
    ]
    assert "warning:" not in same.stderr
    verbose = run(story.workdir, "--config", str(config), "-v", "check", DATASET, "--source", batch)
    assert verbose.code == 0, verbose.stderr
    said = [line for line in verbose.stderr.splitlines() if "differ from those" in line]
    assert said == [f"INFO driftmon: {warnings[0]}"], verbose.stderr  # the job's log, once
    as_json = run(
        story.workdir, "--config", str(config), "check", DATASET, "--source", batch, "--json"
    )
    assert as_json.json()["warnings"] == [warnings[0].removeprefix("warning: ")]
    unchanged = run(story.workdir, "check", DATASET, "--source", batch, "--json")
    assert unchanged.json()["warnings"] == []


def test_acknowledging_a_resolved_alert_says_it_was_resolved(tmp_path: Path) -> None:
    """The demo leaves resolved and open alerts: acknowledging either is recorded, and a
    resolved one is said to be resolved (nothing needs doing)."""
    assert run(tmp_path, "demo").code == 0
    db = ["--db", f"sqlite:///{tmp_path / 'demo' / 'driftmon.db'}"]
    alerts = run(tmp_path, *db, "alerts", "list", "--all", "--json").json()
    resolved = next(a for a in alerts if a["state"] == "resolved")
    still_open = next(a for a in alerts if a["state"] == "open")

    acked_resolved = run(tmp_path, *db, "alerts", "ack", str(resolved["id"]), "--by", "dana")
    acked_open = run(tmp_path, *db, "alerts", "ack", str(still_open["id"]), "--by", "dana")

    assert acked_resolved.code == acked_open.code == 0
    assert f"Acknowledged alert {resolved['id']}" in acked_resolved.stdout
    assert "It was already resolved (" in acked_resolved.stdout
    assert "already resolved" not in acked_open.stdout


def test_a_column_arriving_as_text_opens_one_alert_until_numbers_come_back(
    tmp_path: Path,
) -> None:
    """A CSV's integer column whose values arrive as ``12x``: none parses, so all count as
    missing. One cause, one alert (the schema one, critical), resolved by two batches of
    numbers, with no KL or missing alert on the way."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"amt": rng.integers(1, 100, 2_000), "cat": rng.choice(["a", "b"], 2_000)})
    frame.to_csv(tmp_path / "reference.csv", index=False)
    batch = frame.sample(1_000, random_state=1)
    batch.assign(amt=batch["amt"].astype(str) + "x").to_csv(tmp_path / "text.csv", index=False)
    batch.to_csv(tmp_path / "numbers-1.csv", index=False)
    batch.to_csv(tmp_path / "numbers-2.csv", index=False)
    assert run(tmp_path, "reference", "feed", "--source", "reference.csv").code == 0

    checks = [
        run(tmp_path, "check", "feed", "--source", f"{name}.csv", "--batch-time", day, "--json")
        for name, day in (("text", "2026-01-01"), ("numbers-1", "2026-01-02"),
                          ("numbers-2", "2026-01-03"))
    ]  # fmt: skip

    text, numbers_once, numbers = (check.json() for check in checks)
    kl = next(f["kl"] for f in text["features"] if f["name"] == "amt")
    message = (
        "column amt arrived as string, the reference had numeric: 100% of rows are missing or "
        f"do not parse (0% missing in the reference); distribution changed: KL {kl:.3f} ≥ 0.1 "
        "(p < 1e-16)"
    )
    assert [(f["feature"], f["signal"], f["severity"], f["message"]) for f in text["findings"]] == [
        ("amt", "schema", "critical", message)
    ]
    assert [(a["id"], a["change"], a["severity"], a["message"]) for a in text["alerts"]] == [
        (1, "opened", "critical", message)
    ]
    assert [(a["id"], a["change"]) for a in numbers_once["alerts"]] == [(1, "clearing")]
    assert [(a["id"], a["change"], a["message"]) for a in numbers["alerts"]] == [
        (1, "resolved", "amt back within thresholds for 2 batches: column present, same type")
    ]
    alerts = run(tmp_path, "alerts", "list", "--all", "--json").json()
    assert [(a["feature"], a["signal"], a["state"]) for a in alerts] == [
        ("amt", "schema", "resolved")
    ]
