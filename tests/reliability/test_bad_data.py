"""Bad input, table-driven: every case asserts its exact outcome through the real command.

Either the check runs and each feature gets the status it should (a data problem is a
finding, not a crash), or the command prints one ``error:`` line naming what is wrong and
exits 1, and the database is byte-for-byte the same logical content as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import DRIFTMON

DATASET = "orders"
N = 1_000


def _rows(n: int = N, seed: int = 1, **overrides: object) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": np.round(rng.normal(50, 10, n), 2),
            "country": rng.choice(["DE", "FR", "GB", "IT"], n),
            "items": rng.integers(1, 6, n),
        }
    )
    for name, value in overrides.items():
        frame[name] = value
    return frame


@dataclass(frozen=True)
class Case:
    """``write`` puts the case's files in the folder and returns the command's arguments.
    ``error``: fragments of the one error line (exit 1, database unchanged); else the check
    succeeds with ``statuses`` per feature (``verdict`` overall)."""

    id: str
    write: Callable[[Path], list[str]]
    error: tuple[str, ...] = ()
    statuses: dict[str, str] = field(default_factory=dict)
    verdict: str | None = None
    findings: tuple[str, ...] = ()


def check(name: str) -> list[str]:
    return ["check", DATASET, "--json", "-s", name]


def csv_text(text: str, name: str = "batch.csv") -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        (folder / name).write_text(text, encoding="utf-8")
        return check(name)

    return write


def csv_bytes(data: bytes, name: str = "batch.csv") -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        (folder / name).write_bytes(data)
        return check(name)

    return write


def frame(
    make: Callable[[], pd.DataFrame], name: str = "batch.parquet"
) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        data = make()
        if name.endswith(".parquet"):
            data.to_parquet(folder / name, index=False)
        else:
            data.to_csv(folder / name, index=False)
        return check(name)

    return write


def truncated_parquet(folder: Path) -> list[str]:
    _rows().to_parquet(folder / "whole.parquet", index=False)
    data = (folder / "whole.parquet").read_bytes()
    (folder / "batch.parquet").write_bytes(data[: len(data) // 2])
    return check("batch.parquet")


def fifo(folder: Path) -> list[str]:
    os.mkfifo(folder / "batch.csv")
    return check("batch.csv")


def symlink_loop(folder: Path) -> list[str]:
    (folder / "batch.csv").symlink_to(folder / "batch.csv")
    return check("batch.csv")


def a_folder(folder: Path) -> list[str]:
    (folder / "batches").mkdir()
    _rows().to_csv(folder / "batches" / "a.csv", index=False)
    _rows(seed=2).to_csv(folder / "batches" / "b.csv", index=False)
    return check("batches")


def with_db(url_of: Callable[[Path], str]) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        _rows().to_csv(folder / "batch.csv", index=False)
        return ["--db", url_of(folder), *check("batch.csv")]

    return write


def not_a_database(folder: Path) -> str:
    (folder / "notes.db").write_text("just some notes\n" * 100)
    return f"sqlite:///{folder / 'notes.db'}"


def future_schema(folder: Path) -> str:
    shutil.copy(folder / "driftmon.db", folder / "future.db")
    with sqlite3.connect(folder / "future.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    return f"sqlite:///{folder / 'future.db'}"


def read_only(folder: Path) -> str:
    if os.geteuid() == 0:
        pytest.skip("root writes any file")
    (folder / "driftmon.db").chmod(0o444)
    return f"sqlite:///{folder / 'driftmon.db'}"


def with_config(text: str) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        (folder / "driftmon.toml").write_text(text)
        _rows().to_csv(folder / "batch.csv", index=False)
        return check("batch.csv")

    return write


def dataset_named(name: str) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        _rows().to_csv(folder / "batch.csv", index=False)
        return ["check", name, "--json", "-s", "batch.csv"]

    return write


OK = {"amount": "ok", "country": "ok", "items": "ok"}
CASES = [
    # --- files that are not data ------------------------------------------------------------
    Case("empty file", csv_bytes(b""), ("batch.csv` is empty (0 bytes)",)),
    Case("header only", csv_text("amount,country,items\n"), ("has no data rows",)),
    Case("zero-byte parquet", csv_bytes(b"", "batch.parquet"), ("is empty (0 bytes)",)),
    Case("truncated parquet", truncated_parquet, ("is not a readable Parquet file",)),
    Case("csv.gz that is not gzip", csv_bytes(b"amount\n1\n", "batch.csv.gz"), ("cannot be read",)),
    Case("binary garbage", csv_bytes(bytes(range(256)) * 64), ("batch.csv",)),
    Case("ragged rows", csv_text("amount,country,items\n1,DE,2\n3,FR,4,5\n"), ("malformed",)),
    Case(
        "unbalanced quote",
        csv_text('amount,country,items\n1,"DE,2\n3,FR,4\n'),
        ("quoted value runs across lines",),
    ),
    Case("a folder", a_folder, ("matches 2 files", "check-new")),
    Case("a fifo", fifo, ("named pipe (FIFO)",)),
    Case("a symlink loop", symlink_loop, ("loops back on itself",)),
    Case("a missing file", lambda folder: check("nope.csv"), ("nope.csv` does not exist",)),
    Case("an unknown extension", csv_text("a\n1\n", "batch.txt"), ("unsupported extension",)),
    Case(
        "duplicate column names",
        csv_text("amount,amount,country,items\n1,2,DE,3\n"),
        ("more than one column named `amount`",),
    ),
    # --- data that is odd, not broken: findings, never a crash --------------------------------
    Case(
        "wrong encoding (latin-1)",
        csv_bytes(_rows().assign(country="Köln").to_csv(index=False).encode("latin-1")),
        ("batch.csv", "not in UTF-8"),
    ),
    Case(
        "all values missing",
        frame(lambda: _rows(amount=np.nan, country=None, items=np.nan)),
        statuses={"amount": "critical", "country": "critical", "items": "critical"},
        verdict="critical",
    ),
    Case(
        "a constant column",
        frame(lambda: _rows(amount=50.0)),
        statuses={**OK, "amount": "critical"},
        verdict="critical",
    ),
    Case(
        "inf and -inf",
        frame(lambda: _rows(amount=np.where(np.arange(N) % 2, np.inf, -np.inf))),
        statuses={**OK, "amount": "critical"},
        verdict="critical",
    ),
    Case(
        "1e308 and 5e-324",
        frame(lambda: _rows(amount=np.where(np.arange(N) % 2, 1e308, 5e-324))),
        statuses={**OK, "amount": "critical"},
        verdict="critical",
    ),
    Case(
        "numbers and strings mixed in a numeric column",
        frame(lambda: _rows(amount=[50.0, "n/a"] * (N // 2)).astype({"amount": str})),
        statuses={**OK, "amount": "critical"},
        verdict="critical",
    ),
    Case(
        "a numeric column arriving as strings",
        frame(lambda: _rows().astype({"items": str})),
        statuses={**OK, "items": "warning"},
        findings=("items", "type"),
        verdict="warning",
    ),
    Case(
        "100,000 distinct categories",
        frame(lambda: _rows(100_000, country=[f"c{i}" for i in range(100_000)])),
        statuses={**OK, "country": "critical"},
        verdict="critical",
    ),
    Case(
        "booleans and datetimes",
        frame(
            lambda: _rows(
                country=np.arange(N) % 2 == 0,
                items=pd.date_range("2026-01-01", periods=N, freq="h"),
            )
        ),
        statuses={"amount": "ok", "country": "critical", "items": "critical"},
        verdict="critical",
    ),
    Case("a one-row batch", frame(lambda: _rows(1)), statuses=OK, verdict="ok"),
    Case(
        "a missing monitored column",
        frame(lambda: _rows().drop(columns=["items"])),
        statuses={"amount": "ok", "country": "ok"},
        findings=("items",),
        verdict="critical",
    ),
    Case(
        "extra columns",
        frame(lambda: _rows(extra=1.0, another="x")),
        statuses=OK,
        findings=("extra", "another"),
        verdict="ok",
    ),
    Case(
        "a column name of markup, quotes and SQL",
        frame(lambda: _rows(**{"<b>x</b>'; DROP TABLE runs; --\"": 1.0})),
        statuses=OK,
        findings=("<b>x</b>'; DROP TABLE runs; --\"",),
        verdict="ok",
    ),
    Case(
        "a 5,000-character column name",
        frame(lambda: _rows(**{"é" * 5_000: 1.0})),
        statuses=OK,
        findings=("é" * 5_000,),
        verdict="ok",
    ),
    # --- names, paths and databases ---------------------------------------------------------
    Case("dataset ../../etc", dataset_named("../../etc"), ("no reference",)),
    Case("dataset /etc/passwd", dataset_named("/etc/passwd"), ("no reference",)),
    Case("dataset .", dataset_named("."), ("no reference",)),
    Case("dataset ..", dataset_named(".."), ("no reference",)),
    Case("dataset empty", dataset_named(""), ("the dataset name is empty", "orders")),
    Case(
        "dataset with quotes and spaces",
        dataset_named("my 'feed'"),
        (
            "`my 'feed'` has no reference yet",
            "`driftmon reference 'my '\"'\"'feed'\"'\"'' --source",
        ),
    ),
    Case("invalid --db URL", with_db(lambda folder: "nosuchdb://x"), ("nosuchdb",)),
    Case("--db not a database", with_db(not_a_database), ("notes.db",)),
    Case("--db of a future schema", with_db(future_schema), ("9999", "newer driftmon")),
    Case("--db read-only", with_db(read_only), ("read-only",)),
    Case(
        "--db in a missing folder",
        with_db(lambda f: f"sqlite:///{f}/no/such/x.db"),
        ("/no/such/x.db` does not exist", "driftmon reference DATASET --source PATH"),
    ),
    Case("batch time not a date", lambda f: [*frame(_rows)(f), "--batch-time", "soon"], ("soon",)),
    # --- configuration errors ---------------------------------------------------------------
    Case("config: unknown key", with_config("[defaults]\nn_binz = 3\n"), ("n_binz",)),
    Case("config: wrong type", with_config('[defaults]\nn_bins = "many"\n'), ("n_bins",)),
    Case("config: out of range", with_config("[defaults]\nn_bins = 0\n"), ("n_bins",)),
    Case(
        "config: thresholds out of order",
        with_config("[defaults.thresholds]\nkl_warning = 0.5\nkl_critical = 0.1\n"),
        ("kl_warning <= kl_critical",),
    ),
    Case("config: not TOML", with_config("[defaults\nn_bins = 3\n"), ("driftmon.toml",)),
    Case(
        "config: schedule without folder",
        with_config(f"[datasets.{DATASET}]\nschedule.interval_seconds = 60\n"),
        ("folder",),
    ),
    Case(
        "config: bad notification target",
        with_config(f'[datasets.{DATASET}]\nnotify = ["nosuchscheme://x"]\n'),
        ("nosuchscheme",),
    ),
    Case(
        "config: a feature that does not exist",
        lambda folder: [
            *with_config('[defaults]\nexclude = ["amout"]\n')(folder)[:0],
            "reference",
            DATASET,
            "-s",
            "batch.csv",
        ],
        ("`exclude` names `amout`",),
    ),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the reference of ``orders`` (amount, country, items)."""
    folder = tmp_path_factory.mktemp("template")
    _rows(2_000, seed=0).to_csv(folder / "reference.csv", index=False)
    done = _run(folder, "reference", DATASET, "-s", "reference.csv")
    assert done.returncode == 0, done.stderr
    return folder / "driftmon.db"


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))}
    env["DRIFTMON_PREFECT"] = "never"
    command = (
        [DRIFTMON, *args]
        if "--db" in args
        else [DRIFTMON, "--db", f"sqlite:///{folder / 'driftmon.db'}", *args]
    )
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def _content(db: Path) -> str:
    """The database's logical content (every table's rows), as a digest."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()


def test_the_table_has_at_least_40_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, template: Path, tmp_path: Path) -> None:
    shutil.copy(template, tmp_path / "driftmon.db")
    args = case.write(tmp_path)
    before = _content(tmp_path / "driftmon.db")
    done = _run(tmp_path, *args)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    if case.error:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 1 and len(lines) == 1, done.stderr
        assert lines[0].startswith("error: "), lines[0]
        for fragment in case.error:
            assert fragment in lines[0], (fragment, lines[0])
        assert _content(tmp_path / "driftmon.db") == before
        return
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {f["name"]: f["status"] for f in result["features"]} == case.statuses
    assert result["verdict"] == case.verdict
    schema = result["schema"]
    messages = " ".join([*schema["new"], *schema["missing"], *map(str, schema["retyped"])])
    messages += " ".join(f["message"] for f in result["findings"])
    for fragment in case.findings:
        assert fragment in messages, messages
