"""Sources on real CSV, gzip CSV, Parquet and SQLite files under tmp_path."""

from __future__ import annotations

import gzip
import itertools
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon.errors import ConfigError, NoRowsError, SourceError
from driftmon.sources import (
    FileSource,
    FolderSource,
    FrameSource,
    SqlSource,
    batch_key,
    batch_source,
    batch_sources,
    batch_time,
    column_names,
    describe,
    iter_chunks,
    iter_source_chunks,
    parse_source,
    partitions,
    resolve_files,
    sample_rows,
)
from driftmon.vocabulary import EncodedKeys


@pytest.fixture
def orders(rng: np.random.Generator) -> pd.DataFrame:
    n = 1_000
    return pd.DataFrame(
        {
            "value": np.round(rng.lognormal(3.0, 0.5, n), 2),
            "items": rng.integers(1, 9, n),
            "country": pd.array(rng.choice(["DE", "FR", "GB"], n), dtype="str"),
            "returning": rng.random(n) < 0.5,
        }
    )


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)  # .csv.gz is compressed by the extension
    return path


def _read_all(source: FileSource | SqlSource | FrameSource, **options: object) -> pd.DataFrame:
    return pd.concat(list(iter_chunks(source, **options)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Reading files


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz", "orders.parquet"])
def test_chunks_are_bounded_and_concatenate_to_the_whole_file(
    tmp_path: Path, orders: pd.DataFrame, name: str
) -> None:
    path = _write(orders, tmp_path / name)

    chunks = list(iter_chunks(FileSource(path), chunk_rows=128))

    assert [len(c) for c in chunks] == [128] * 7 + [104]
    whole = pd.concat(chunks)
    assert whole.index.equals(pd.RangeIndex(len(orders)))
    # CSV numbers arrive as float64; Parquet keeps the file's integer type.
    expected_items = "int64" if name.endswith(".parquet") else "float64"
    assert whole["value"].dtype == np.float64
    assert whole["items"].dtype == expected_items
    assert pd.api.types.is_string_dtype(whole["country"].dtype)
    assert whole["returning"].dtype == bool
    pd.testing.assert_frame_equal(
        whole.astype({"items": "int64"}), orders, check_dtype=False, check_exact=True
    )


def test_columns_selects_and_orders_columns(tmp_path: Path, orders: pd.DataFrame) -> None:
    for name in ("orders.csv", "orders.parquet"):
        path = _write(orders, tmp_path / name)
        whole = _read_all(FileSource(path), columns=["country", "value"])
        assert list(whole.columns) == ["country", "value"]
        assert column_names(FileSource(path)) == list(orders.columns)
        assert describe(FileSource(path)) == str(path)


def test_parquet_without_a_categorical_hint_keeps_strings(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    path = _write(orders, tmp_path / "orders.parquet")
    whole = _read_all(FileSource(path))
    assert pd.api.types.is_string_dtype(whole["country"].dtype)


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet"])
def test_categorical_hint_yields_category_dtype_with_the_same_values(
    tmp_path: Path, orders: pd.DataFrame, name: str
) -> None:
    path = _write(orders, tmp_path / name)

    chunks = list(iter_chunks(FileSource(path), chunk_rows=300, categorical=["country"]))

    assert all(isinstance(c["country"].dtype, pd.CategoricalDtype) for c in chunks)
    countries = pd.concat([c["country"].astype(str) for c in chunks])
    assert countries.tolist() == orders["country"].tolist()


def test_categorical_hint_on_a_csv_code_column_keeps_numeric_values(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code\n" + "\n".join(["1", "2", "2", "3"] * 10) + "\n")

    whole = _read_all(FileSource(path), categorical=["code"])

    assert isinstance(whole["code"].dtype, pd.CategoricalDtype)
    assert whole["code"].cat.categories.dtype == np.float64
    assert whole["code"].astype(float).tolist() == [1.0, 2.0, 2.0, 3.0] * 10


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_separated_otherwise_than_by_commas_is_named_as_such(
    tmp_path: Path, separator: str, named: str
) -> None:
    """Read as one column named `a;b;when`, every check would be critical: refused."""
    path = tmp_path / "semi.csv"
    path.write_text(separator.join(["a", "b", "when"]) + "\n" + separator.join("12x") + "\n")
    with pytest.raises(SourceError, match=f"look separated by {named}.*comma-separated"):
        column_names(FileSource(path))
    (tmp_path / "one.csv").write_text("only\n1\n2\n")  # one column is fine
    assert column_names(FileSource(tmp_path / "one.csv")) == ["only"]


def test_a_partitioned_folder_is_named_with_a_pattern_and_marker_files_are_skipped(
    tmp_path: Path,
) -> None:
    """``year=2026/month=03/day=14/part-0.parquet``: the folder itself holds no batch, and an
    empty answer would read as "no new batches" forever; the error names the pattern that
    finds them. ``_SUCCESS``-style files (``_tmp_part.parquet``) are not batches."""
    day = tmp_path / "feed" / "year=2026" / "month=03" / "day=14"
    day.mkdir(parents=True)
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(day / "part-0.parquet")
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(day / "_tmp_part.parquet")
    (tmp_path / "empty").mkdir()

    for allow_none in (False, True):
        with pytest.raises(SourceError) as raised:
            resolve_files(tmp_path / "feed", allow_none=allow_none)
        assert f"`'{tmp_path / 'feed' / '**' / '*.parquet'}'`" in str(raised.value)
    assert resolve_files(str(tmp_path / "feed" / "**" / "*.parquet")) == [day / "part-0.parquet"]
    assert resolve_files(day) == [day / "part-0.parquet"]
    assert resolve_files(tmp_path / "empty", allow_none=True) == []


def _spark_folder(folder: Path, frames: list[pd.DataFrame]) -> Path:
    """A folder as Spark writes it: numbered parts (the last two empty, one of them of 0
    bytes), a ``_SUCCESS`` marker and, beside them, a ``_temporary`` folder of a write in
    progress."""
    folder.mkdir(parents=True)
    for i, frame in enumerate([*frames, frames[0].iloc[:0]]):
        frame.to_parquet(folder / f"part-{i:05d}-6f1b.c000.snappy.parquet", index=False)
    (folder / "part-00099-6f1b.c000.csv").write_bytes(b"")  # a part of 0 bytes: no rows
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "_temporary" / "0").mkdir(parents=True)
    frames[0].to_parquet(folder / "_temporary" / "0" / "part-00009.parquet", index=False)
    return folder


def test_a_folder_of_part_files_is_one_source_whose_empty_parts_add_nothing(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    """Spark, Dask and pyarrow write one dataset as part files: the folder is one source (one
    batch), its rows those of every part in name order; an empty part adds none; a part
    added makes it a new batch."""
    folder = _spark_folder(tmp_path / "feed" / "2026-11-25", [orders.iloc[:600], orders[600:]])

    [source] = parse_source(folder)
    read = _read_all(source)

    assert isinstance(source, FolderSource)
    assert len(source.files) == 4  # not `_SUCCESS`, not `_temporary`; the empty parts are
    assert len(partitions(source)) == 2
    pd.testing.assert_frame_equal(read.reset_index(drop=True), orders, check_dtype=False)
    assert describe(source) == f"{folder}/"
    assert batch_time(source).date().isoformat() == "2026-11-25"
    key = batch_key(source)
    assert key.startswith(f"{folder.resolve()}/|")
    assert batch_key(parse_source(folder)[0]) == key
    orders.iloc[:5].to_parquet(folder / "part-00003-6f1b.c000.snappy.parquet", index=False)
    assert batch_key(parse_source(folder)[0]) != key


def test_a_folder_read_from_inside_keeps_its_date_and_parts_must_share_columns(
    tmp_path: Path, orders: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check --source .`` in a day folder has the day's batch time, as the feed's root
    gives it; a part lacking a column would count its rows as missing there: refused, named."""
    day = _spark_folder(tmp_path / "2026-11-20", [orders[:500], orders[500:]])
    monkeypatch.chdir(day)

    assert batch_time(parse_source(".")[0]).date().isoformat() == "2026-11-20"
    assert batch_key(parse_source(".")[0]) == batch_key(parse_source(str(day))[0])
    orders.drop(columns=["items"]).to_parquet(day / "part-00005-x.parquet", index=False)
    with pytest.raises(SourceError) as raised:
        column_names(parse_source(".")[0])
    assert str(raised.value) == (
        "parts of folder `.` differ in their columns: `part-00005-x.parquet` lacks `items`, "
        "which `part-00000-6f1b.c000.snappy.parquet` has; its rows would count as missing "
        "values there. Rewrite the folder with one schema"
    )


def test_check_new_finds_a_batch_per_folder_of_part_files_and_files_elsewhere(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    """A feed partitioned by day (hive ``month=9/day=30``, as Spark writes it) is a batch per
    day folder, in date order (through links too), a folder Spark has not marked complete
    (``_SUCCESS``) waiting; a folder of batch files is a batch per file; a folder whose
    subfolders hold files named for themselves still asks for a pattern. `check` takes one
    batch: a folder of parts, never the feed's root or a folder of batch files."""
    feed = tmp_path / "feed"
    days = [
        feed / "year=2026" / f"month={month}" / f"day={day}"
        for month, day in (("9", "30"), ("11", "9"), ("11", "10"))  # as Spark writes them
    ]
    for day in reversed(days):
        _spark_folder(day, [orders])
    writing = feed / "year=2026" / "month=11" / "day=11"
    writing.mkdir()
    orders.to_parquet(writing / "part-00000-77.parquet")  # no `_SUCCESS` yet
    linked = tmp_path / "elsewhere" / "day=12"
    _spark_folder(linked, [orders])
    (feed / "year=2026" / "month=11" / "day=12").symlink_to(linked)
    days.append(feed / "year=2026" / "month=11" / "day=12")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("orders-2026-11-02.csv", "orders-2026-11-01.csv"):
        orders.to_csv(inbox / name, index=False)
    archive = tmp_path / "archive" / "2026-11"
    archive.mkdir(parents=True)
    orders.to_csv(archive / "orders-2026-11-01.csv", index=False)

    found = batch_sources(str(feed))

    assert [s.folder for s in found] == days  # type: ignore[attr-defined]
    assert [batch_time(s).date().isoformat() for s in found] == [
        "2026-09-30",
        "2026-11-09",
        "2026-11-10",
        "2026-11-12",
    ]
    assert [s.path.name for s in batch_sources(str(inbox))] == [  # type: ignore[attr-defined]
        "orders-2026-11-01.csv",
        "orders-2026-11-02.csv",
    ]
    with pytest.raises(SourceError, match=r"name them with a pattern"):
        batch_sources(str(tmp_path / "archive"))
    assert batch_source(str(days[0])) == found[0]
    with pytest.raises(SourceError) as root:
        batch_source(str(feed))
    assert f"`--source {days[-1]}`" in str(root.value)
    assert f"`check-new --folder {feed}`" in str(root.value)
    with pytest.raises(SourceError, match=r"matches 2 files; `check` takes one batch"):
        batch_source(str(inbox))


def test_a_write_in_progress_is_no_data_for_patterns_or_the_subfolder_hint(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    """Spark writes a day under ``_temporary`` first: a pattern does not read it (its error
    says why it matched nothing), and a folder holding only that has no data files, rather
    than pointing at a pattern that would read the half-written parts."""
    day = tmp_path / "feed" / "date=2026-11-27"
    (day / "_temporary" / "0").mkdir(parents=True)
    orders.to_parquet(day / "_temporary" / "0" / "part-00000.parquet", index=False)
    done = _spark_folder(tmp_path / "feed" / "date=2026-11-26", [orders])

    with pytest.raises(SourceError) as pattern:
        resolve_files(str(day / "**" / "*.parquet"))
    with pytest.raises(SourceError, match=r"holds no data files; driftmon reads"):
        resolve_files(day)

    assert "1 of them in folders whose names start with `_` or `.`" in str(pattern.value)
    assert resolve_files(str(tmp_path / "feed" / "*" / "*.parquet")) == sorted(
        p for p in done.glob("*.parquet")
    )
    assert [s.folder for s in batch_sources(str(tmp_path / "feed"))] == [done]  # type: ignore[attr-defined]


def test_an_empty_file_among_many_adds_nothing_and_all_empty_is_no_rows(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    """An hour without data among a reference's files (a header alone) adds no rows rather
    than failing the reference; files that are all empty have no rows to read."""
    full = _write(orders, tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("value,items,country,returning\n")
    (tmp_path / "c.csv").write_text("value,items,country,returning\n")

    rows = pd.concat(list(iter_source_chunks([FileSource(tmp_path / "b.csv"), FileSource(full)])))

    assert len(rows) == len(orders)
    with pytest.raises(NoRowsError, match=r"b\.csv` has no data rows.*nor have the other 1"):
        list(iter_source_chunks([FileSource(tmp_path / "b.csv"), FileSource(tmp_path / "c.csv")]))
    with pytest.raises(NoRowsError, match=r"b\.csv` has no data rows"):
        list(iter_chunks(FileSource(tmp_path / "b.csv")))


def test_a_csv_column_the_reference_saw_as_text_stays_text_where_it_looks_numeric(
    tmp_path: Path,
) -> None:
    """Codes such as ``007`` are text: with the ``text`` hint (a reference that saw strings)
    a chunk of only digit codes keeps them as written, not as the numbers 7 and 12; so does
    the reference's own sample of a column declared categorical."""
    codes = ["007", "012", "007", "100"] * 50 + ["X01"] + ["012"] * 99
    path = tmp_path / "codes.csv"
    path.write_text("zip,v\n" + "".join(f"{c},{i}\n" for i, c in enumerate(codes)))

    as_text = list(iter_chunks(FileSource(path), chunk_rows=100, text=["zip"]))
    parsed = list(iter_chunks(FileSource(path), chunk_rows=100))
    sample, n_rows = sample_rows(FileSource(path), categorical=["zip"], chunk_rows=100)

    assert pd.concat([c["zip"] for c in as_text]).tolist() == codes
    assert all(pd.api.types.is_numeric_dtype(c["v"]) for c in as_text)  # only the hinted one
    assert parsed[0]["zip"].tolist()[:2] == [7.0, 12.0]  # what a chunk of digits parses as
    assert (n_rows, sample["zip"].tolist()) == (len(codes), codes)


def test_csv_column_that_turns_to_text_in_a_later_chunk_is_strings_in_that_chunk(
    tmp_path: Path,
) -> None:
    values = [str(i) for i in range(250)] + ["1.5", "abc"] + [str(i) for i in range(248)]
    path = tmp_path / "drifting.csv"
    path.write_text("amount,other\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))

    chunks = list(iter_chunks(FileSource(path), chunk_rows=100))

    assert [len(c) for c in chunks] == [100] * 5
    kinds = [c["amount"].dtype == np.float64 for c in chunks]
    assert kinds == [True, True, False, True, True]
    assert chunks[2]["amount"].iloc[51] == "abc"
    assert all(c["other"].dtype == np.float64 for c in chunks)


def test_a_csv_file_read_in_several_segments_loses_and_repeats_no_row(tmp_path: Path) -> None:
    # ~30 MB: several of the reader's segments. CRLF line ends, blank lines, no final line end,
    # and text in the numeric column far into the file (its segment is read again as text)
    n = 2_000_000
    lines = [f"{i},{i % 7}" for i in range(n)]
    lines[1_700_000] = "1700000,seven"
    for at in (5, 1_000_000, 1_500_001):
        lines[at] += "\r\n"  # followed by a blank line
    path = tmp_path / "long.csv"
    path.write_bytes(("a,b\r\n" + "\r\n".join(lines)).encode())

    chunks = list(iter_chunks(FileSource(path), chunk_rows=300_000, numeric=["a", "b"]))

    whole = pd.concat(chunks)
    assert len(whole) == n
    np.testing.assert_array_equal(whole["a"].to_numpy(), np.arange(n, dtype=np.float64))
    text = [c for c in chunks if c["b"].dtype != np.float64]
    assert len(text) == 1 and "seven" in set(text[0]["b"])
    expected = pd.Series([i % 7 for i in range(n)], dtype=object)
    expected[1_700_000] = "seven"
    # the text chunk keeps its numbers as strings ("5"), as any column with text does
    numbers = whole["b"].map(lambda v: v if v == "seven" else int(float(v)))
    assert numbers.tolist() == expected.tolist()


@pytest.mark.parametrize("name", ["long.csv", "long.csv.gz"])
def test_a_row_far_longer_than_the_first_megabytes_lines_is_read(tmp_path: Path, name: str) -> None:
    rows = b"".join(b"%d,x\n" % i for i in range(300_000))
    text = b"a,b\n" + rows + b"1," + b"y" * (2 << 20) + b"\n2,z\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)

    whole = _read_all(FileSource(path))

    assert len(whole) == 300_002
    assert len(whole["b"].iloc[300_000]) == 2 << 20


def test_csv_progress_ends_at_the_file_size_after_trailing_blank_lines(tmp_path: Path) -> None:
    # ~17 MB of rows, then 4 MB of blank lines: a last segment that holds no row
    rows = "".join(f"{i},x\n" for i in range(1_500_000))
    path = tmp_path / "trailing.csv"
    path.write_text("a,b\n" + rows + "\n" * (4 << 20))
    progress: list[tuple[int, int | None]] = []

    counted = sum(
        len(c) for c in iter_chunks(FileSource(path), on_progress=lambda *p: progress.append(p))
    )

    size = path.stat().st_size
    assert counted == 1_500_000 and progress[-1] == (size, size)


def test_csv_blank_column_reads_as_float_nan(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("a,b\n1,\n2,\n")
    whole = _read_all(FileSource(path))
    assert whole["b"].dtype == np.float64
    assert whole["b"].isna().all()


def test_large_parquet_file_streams_in_bounded_chunks(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    n = 1_500_000
    path = tmp_path / "large.parquet"
    pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 10, n)}).to_parquet(
        path, index=False, row_group_size=400_000
    )
    progress: list[tuple[int, int | None]] = []

    sizes = [
        len(chunk)
        for chunk in iter_chunks(
            FileSource(path),
            chunk_rows=50_000,
            on_progress=lambda done, total: progress.append((done, total)),
        )
    ]

    assert max(sizes) <= 50_000
    assert sum(sizes) == n
    dones = [done for done, _ in progress]
    assert len(progress) == len(sizes)
    assert all(b > a for a, b in itertools.pairwise(dones))
    assert progress[-1] == (n, n)


# Counts a file in a fresh interpreter and prints the peak of Arrow's memory pool: every
# buffer Arrow decodes into comes from that pool, so a reader that materialised a whole row
# group (or file) would show it there, however the chunks it hands on are sliced.
_PEAK_ARROW_MEMORY = """
import sys
import pyarrow as pa
from driftmon.sources import FileSource, iter_chunks
chunks = iter_chunks(
    FileSource(sys.argv[1]), chunk_rows=50_000, numeric=["x", "y"], categorical=["k"],
    as_chunks=True, read_ahead=sys.argv[2] == "ahead",
)
rows = sum(len(chunk) for chunk in chunks)
print(rows, pa.default_memory_pool().max_memory())
"""


@pytest.mark.parametrize("read_ahead", ["ahead", "in-step"])
def test_a_huge_row_group_is_read_in_bounded_slices(
    tmp_path: Path, rng: np.random.Generator, read_ahead: str
) -> None:
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 2_000_000
    path = tmp_path / "one-row-group.parquet"
    table = pa.table(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "k": pa.array(rng.choice(["a", "b", "c"], n)).dictionary_encode(),
        }
    )
    pq.write_table(table, path, row_group_size=n)
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    one_row_group = table.nbytes  # 40 MB decoded

    done = subprocess.run(
        [sys.executable, "-c", _PEAK_ARROW_MEMORY, str(path), read_ahead],
        capture_output=True,
        text=True,
        check=True,
    )
    rows, peak = map(int, done.stdout.split())

    assert rows == n
    # two 50,000-row slices are 2 MB; Arrow's page buffers add a few MB
    assert peak < one_row_group * 0.4, f"peak {peak / 1e6:.1f} MB of Arrow memory"


def test_read_ahead_yields_the_same_chunks_and_progress_in_order(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    path = _write(pd.concat([orders] * 10, ignore_index=True), tmp_path / "orders.parquet")

    def read(read_ahead: bool) -> tuple[list[pd.DataFrame], list[tuple[int, int | None]]]:
        progress: list[tuple[int, int | None]] = []
        chunks = list(
            iter_chunks(
                FileSource(path),
                chunk_rows=700,
                read_ahead=read_ahead,
                on_progress=lambda done, total: progress.append((done, total)),
            )
        )
        return chunks, progress

    (in_step, in_step_progress), (ahead, ahead_progress) = read(False), read(True)
    assert len(ahead) == len(in_step) == 15
    for a, b in zip(ahead, in_step, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert ahead_progress == in_step_progress


def test_read_ahead_raises_the_readers_error_after_the_good_chunks(tmp_path: Path) -> None:
    # beyond the first segment the reader parses (16 MB)
    rows = "".join(f"{i},x{i}\n" for i in range(2_000_000))
    path = tmp_path / "late.csv"
    path.write_text("a,b\n" + rows + "3,4,5\n")
    seen = 0
    with pytest.raises(SourceError, match=r"late\.csv` is malformed.*Expected 2 columns, got 3"):
        for chunk in iter_chunks(FileSource(path), chunk_rows=50_000, read_ahead=True):
            seen += len(chunk)
    assert 0 < seen < 2_000_000


def test_a_consumer_that_stops_early_stops_the_read_ahead_thread(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    import threading

    path = _write(pd.concat([orders] * 20, ignore_index=True), tmp_path / "orders.parquet")
    chunks = iter_chunks(FileSource(path), chunk_rows=100, read_ahead=True)
    first = next(chunks)
    chunks.close()  # what a `break` out of the loop or an error in the consumer does

    assert len(first) == 100
    assert not [t for t in threading.enumerate() if t.name == "driftmon-read-ahead"]


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz"])
def test_csv_progress_counts_bytes_up_to_the_file_size(
    tmp_path: Path, orders: pd.DataFrame, name: str
) -> None:
    path = _write(pd.concat([orders] * 20, ignore_index=True), tmp_path / name)
    progress: list[tuple[int, int | None]] = []

    for _ in iter_chunks(
        FileSource(path), chunk_rows=1_000, on_progress=lambda d, t: progress.append((d, t))
    ):
        pass

    size = path.stat().st_size
    dones = [done for done, _ in progress]
    assert len(progress) == 20
    assert all(b >= a for a, b in itertools.pairwise(dones))
    assert progress[-1] == (size, size)


def test_pandas_index_column_of_a_parquet_file_is_not_a_data_column(tmp_path: Path) -> None:
    path = tmp_path / "indexed.parquet"
    pd.DataFrame({"a": [1.0, 2.0]}, index=pd.Index([10, 20], name="id")).to_parquet(path)
    assert column_names(FileSource(path)) == ["a"]
    assert list(_read_all(FileSource(path)).columns) == ["a"]


def test_frame_source_yields_slices_of_the_frame(orders: pd.DataFrame) -> None:
    progress: list[tuple[int, int | None]] = []
    source = FrameSource(orders, name="orders")

    chunks = list(
        iter_chunks(source, chunk_rows=400, on_progress=lambda d, t: progress.append((d, t)))
    )

    assert [len(c) for c in chunks] == [400, 400, 200]
    pd.testing.assert_frame_equal(pd.concat(chunks), orders)
    assert progress == [(400, 1000), (800, 1000), (1000, 1000)]
    assert "orders" in describe(source) and "1000 rows" in describe(source)


# --------------------------------------------------------------------------------------------
# Folders and patterns


def test_folder_yields_its_data_files_sorted_by_name(tmp_path: Path, orders: pd.DataFrame) -> None:
    folder = tmp_path / "batches"
    folder.mkdir()
    for name in ["2026-11-03.parquet", "2026-11-01.csv", "2026-11-02.csv.gz"]:
        _write(orders, folder / name)
    (folder / "README.md").write_text("not data")
    (folder / ".2026-11-04.parquet").write_text("hidden partial file")
    (folder / "nested").mkdir()
    _write(orders, folder / "nested" / "2026-10-31.csv")

    files = resolve_files(folder)

    assert [f.name for f in files] == ["2026-11-01.csv", "2026-11-02.csv.gz", "2026-11-03.parquet"]
    assert [s.path for s in parse_source(str(folder))] == files


def test_glob_pattern_yields_matching_files_sorted(tmp_path: Path, orders: pd.DataFrame) -> None:
    for name in ["b.parquet", "a.parquet", "c.csv"]:
        _write(orders, tmp_path / name)
    assert [f.name for f in resolve_files(str(tmp_path / "*.parquet"))] == [
        "a.parquet",
        "b.parquet",
    ]
    assert resolve_files(tmp_path / "c.csv") == [tmp_path / "c.csv"]


def test_chunks_of_several_files_follow_each_other(tmp_path: Path, orders: pd.DataFrame) -> None:
    first = _write(orders.iloc[:600], tmp_path / "part-1.parquet")
    second = _write(orders.iloc[600:], tmp_path / "part-2.csv")
    progress: list[tuple[int, int | None]] = []

    chunks = list(
        iter_source_chunks(
            parse_source(str(tmp_path / "part-*")),
            columns=["value", "country"],
            chunk_rows=250,
            on_progress=lambda d, t: progress.append((d, t)),
        )
    )

    assert [len(c) for c in chunks] == [250, 250, 100, 250, 150]
    values = pd.concat(chunks)["value"].to_numpy()
    np.testing.assert_array_equal(values, orders["value"].to_numpy())
    total = first.stat().st_size + second.stat().st_size
    assert progress[-1] == (total, total)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


# --------------------------------------------------------------------------------------------
# SQL


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER, country TEXT, value REAL)")
        connection.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)",
            [(i, ["DE", "FR", "x'; DROP TABLE orders; --"][i % 3], i * 1.5) for i in range(300)],
        )
    return path


def _row_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM orders").fetchone()[0]


def test_sql_query_streams_chunks_with_a_bound_parameter(database: Path) -> None:
    source = SqlSource(
        f"sqlite:///{database}",
        "SELECT id, country, value FROM orders WHERE country = :country ORDER BY id",
        {"country": "DE"},
    )
    progress: list[tuple[int, int | None]] = []

    chunks = list(
        iter_chunks(source, chunk_rows=40, on_progress=lambda d, t: progress.append((d, t)))
    )

    assert [len(c) for c in chunks] == [40, 40, 20]
    whole = pd.concat(chunks)
    assert whole["id"].tolist() == list(range(0, 300, 3))
    assert progress == [(40, None), (80, None), (100, None)]
    assert column_names(source) == ["id", "country", "value"]


def test_malicious_looking_sql_parameter_stays_data(database: Path) -> None:
    malicious = "x'; DROP TABLE orders; --"
    source = SqlSource(
        f"sqlite:///{database}", "SELECT * FROM orders WHERE country = :c", {"c": malicious}
    )

    whole = _read_all(source, columns=["country"])

    assert set(whole["country"]) == {malicious}
    assert len(whole) == 100
    assert _row_count(database) == 300


@pytest.mark.parametrize(
    "query", ["UPDATE orders SET value = 0 RETURNING id", "DELETE FROM orders RETURNING id"]
)
def test_sql_source_cannot_write(database: Path, query: str) -> None:
    with pytest.raises(SourceError, match=r"readonly|read-only|read only"):
        _read_all(SqlSource(f"sqlite:///{database}", query))
    assert _row_count(database) == 300
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT min(value) FROM orders").fetchone()[0] == 0.0
        assert connection.execute("SELECT max(value) FROM orders").fetchone()[0] == 448.5


def test_bad_sql_query_names_the_problem_and_the_database(database: Path) -> None:
    source = SqlSource(f"sqlite:///{database}", "SELECT * FROM no_such_table")
    with pytest.raises(SourceError, match="no such table: no_such_table") as raised:
        _read_all(source)
    assert str(database) in str(raised.value)


def test_a_mistyped_sqlite_path_is_named_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite would create the missing file on connect: "no such table", or for a query
    reading no table, a check of made-up rows; the source only reads. A database in memory
    has no file to miss."""
    monkeypatch.chdir(tmp_path)
    for query in ("SELECT * FROM orders", "SELECT 1 AS x"):
        (source,) = parse_source(f"sqlite:///typo.db?query={query}")

        with pytest.raises(SourceError) as raised:
            _read_all(source)

        assert str(raised.value) == (
            f"SQL source `sqlite:///typo.db`: the SQLite database file "
            f"`{tmp_path / 'typo.db'}` does not exist; check the path in the URL (`sqlite:///` "
            "then a path relative to the current folder, `sqlite:////` then an absolute one)"
        )
        with pytest.raises(SourceError, match=r"typo\.db` does not exist"):
            column_names(source)
        assert list(tmp_path.iterdir()) == []
    for url in ("sqlite://", "sqlite:///:memory:"):
        assert _read_all(SqlSource(url, "SELECT 1 AS x"))["x"].tolist() == [1], url


def test_sql_password_never_appears_in_descriptions_or_errors() -> None:
    source = SqlSource("postgresql://monitor:hunter2@127.0.0.1:1/shop", "SELECT 1")
    assert "hunter2" not in describe(source)
    assert "hunter2" not in repr(source)
    with pytest.raises(SourceError) as raised:
        _read_all(source)
    assert "hunter2" not in str(raised.value)
    assert "monitor:***@127.0.0.1" in str(raised.value)


def test_sql_query_without_rows_is_an_error(database: Path) -> None:
    source = SqlSource(f"sqlite:///{database}", "SELECT * FROM orders WHERE id < 0")
    with pytest.raises(SourceError, match="no data rows"):
        _read_all(source)


def test_a_database_url_with_its_query_is_a_sql_source(database: Path) -> None:
    """The string form the command line and the configuration take: the query, bound
    parameters and a key column come out of the URL's arguments; the driver's stay."""
    url = f"sqlite:///{database}"
    (source,) = parse_source(
        f"{url}?timeout=5&query=SELECT id, value FROM orders WHERE country = :c AND id >= :low"
        "&param.c=x%27%3B%20DROP%20TABLE%20orders%3B%20--&param.low=30&partition_by=id"
    )
    assert source == SqlSource(
        f"{url}?timeout=5",
        "SELECT id, value FROM orders WHERE country = :c AND id >= :low",
        {"c": "x'; DROP TABLE orders; --", "low": "30"},
        partition_by="id",
    )
    whole = _read_all(source)
    assert whole["id"].tolist() == list(range(32, 300, 3))
    assert _row_count(database) == 300
    with pytest.raises(ConfigError, match=r"without a query; add `\?query=SELECT"):
        parse_source("postgresql://monitor:hunter2@db/shop?sslmode=require")
    with pytest.raises(ConfigError) as raised:
        parse_source("postgresql://monitor:hunter2@db/shop")
    assert "hunter2" not in str(raised.value)


def test_a_query_is_cut_into_key_ranges_and_its_null_keys(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE orders SET id = NULL WHERE id % 50 = 0")
    source = SqlSource(f"sqlite:///{database}", "SELECT * FROM orders", partition_by="id")
    parts = partitions(source, target_rows=100)
    # keys 1..299 without the multiples of 50: 294 rows in 3 ranges of equal width, 6 NULLs
    assert [p.subset for p in parts] == [
        ("range", 1, 100, False),
        ("range", 100, 200, False),
        ("range", 200, None, True),
        ("null",),
    ]
    sizes = [len(pd.concat(iter_chunks(p, chunk_rows=1_000))) for p in parts]
    assert sizes == [98, 98, 98, 6]
    text = SqlSource(f"sqlite:///{database}", "SELECT * FROM orders", partition_by="country")
    with pytest.raises(SourceError, match="`partition_by` column `country` is not numeric"):
        partitions(text)


# --------------------------------------------------------------------------------------------
# Errors


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(SourceError, match=r"nope\.csv` does not exist"):
        _read_all(FileSource(missing))
    with pytest.raises(SourceError, match="does not exist"):
        resolve_files(missing)


def test_folder_without_data_files_lists_the_extensions_read(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no data")
    with pytest.raises(SourceError, match=r"holds no data files.*\.csv.*\.parquet"):
        resolve_files(tmp_path)
    with pytest.raises(SourceError, match=r"matches no data files.*\.csv\.gz"):
        resolve_files(str(tmp_path / "*.txt"))


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(SourceError, match=r"orders\.xlsx` has an unsupported extension"):
        resolve_files(path)


def test_garbage_parquet_file_is_reported_as_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(np.random.default_rng(0).bytes(2_000))
    with pytest.raises(SourceError, match=r"broken\.parquet` is not a readable Parquet file"):
        _read_all(FileSource(path))


def test_zero_byte_csv_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty\.csv` is empty \(0 bytes\)"):
        _read_all(FileSource(path))


def test_gzip_csv_of_nothing_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(SourceError, match="is empty"):
        _read_all(FileSource(path))


@pytest.mark.parametrize("name", ["header.csv", "header.csv.gz"])
def test_header_only_csv_has_no_data_rows(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    content = b"a,b,c\n"
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    with pytest.raises(SourceError, match=rf"{name.replace('.', '[.]')}` has no data rows"):
        _read_all(FileSource(path))


def test_empty_parquet_file_has_no_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(path)
    with pytest.raises(SourceError, match="has no data rows"):
        _read_all(FileSource(path))


@pytest.mark.parametrize("rows_around", [2, 1_500_000])
def test_csv_with_an_unbalanced_quote_is_malformed(tmp_path: Path, rows_around: int) -> None:
    # A few rows: pyarrow reads the rest of the file as one value (caught as a line break in a
    # value). Many rows: the quote desynchronises pyarrow's block chunker (its own error).
    rows = "".join(f"{i},x{i}\n" for i in range(rows_around))
    path = tmp_path / "quote.csv"
    path.write_text("a,b\n" + rows + '5,"oops\n' + rows)
    with pytest.raises(SourceError, match=r"quote\.csv` is malformed.*unbalanced quote `\"`"):
        _read_all(FileSource(path))


def test_csv_row_with_too_many_fields_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(SourceError, match=r"wide\.csv` is malformed.*Expected 2 columns, got 3"):
        _read_all(FileSource(path))


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet"])
def test_requested_column_that_does_not_exist_lists_the_available_ones(
    tmp_path: Path, orders: pd.DataFrame, name: str
) -> None:
    path = _write(orders, tmp_path / name)
    with pytest.raises(
        SourceError, match=r"`colour` not in .*available columns: value, items, country"
    ):
        _read_all(FileSource(path), columns=["value", "colour"])


def test_requested_column_missing_from_a_frame_is_named(orders: pd.DataFrame) -> None:
    with pytest.raises(SourceError, match=r"`colour` not in data frame `orders`"):
        _read_all(FrameSource(orders, name="orders"), columns=["colour"])


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_says_permission_denied(tmp_path: Path, orders: pd.DataFrame) -> None:
    path = _write(orders, tmp_path / "secret.csv")
    path.chmod(0)
    try:
        with pytest.raises(SourceError, match="permission denied"):
            _read_all(FileSource(path))
    finally:
        path.chmod(0o644)


# --------------------------------------------------------------------------------------------
# Batch keys


def test_file_batch_key_is_stable_and_changes_when_the_file_is_rewritten(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    path = _write(orders, tmp_path / "batch.parquet")
    source = FileSource(path)
    first = batch_key(source)
    assert batch_key(FileSource(path)) == first
    assert first.startswith(f"{path.resolve()}|{path.stat().st_size}|")

    _write(orders.iloc[:500], path)

    assert batch_key(source) != first


def test_empty_file_still_has_a_batch_key(tmp_path: Path) -> None:
    # So a failed run on a half-written file is recorded, and re-checked once it is rewritten.
    path = tmp_path / "partial.csv"
    path.write_bytes(b"")
    assert batch_key(FileSource(path)) == f"{path.resolve()}|0|{path.stat().st_mtime_ns}"


def test_content_hash_key_depends_only_on_the_bytes(tmp_path: Path, orders: pd.DataFrame) -> None:
    path = _write(orders, tmp_path / "batch.csv")
    copy = tmp_path / "copy.csv"
    shutil.copyfile(path, copy)
    key = batch_key(FileSource(path), content_hash=True)

    assert key.startswith("sha256:") and len(key) == len("sha256:") + 64
    assert batch_key(FileSource(copy), content_hash=True) == key
    copy.write_bytes(path.read_bytes().replace(b"DE", b"FR", 1))
    assert batch_key(FileSource(copy), content_hash=True) != key


def test_sql_batch_key_ignores_the_password_but_not_the_parameters() -> None:
    query = "SELECT * FROM orders WHERE day = :day"
    key = batch_key(SqlSource("postgresql://u:one@h/db", query, {"day": "2026-11-01"}))
    assert key.startswith("sql:")
    assert batch_key(SqlSource("postgresql://u:two@h/db", query, {"day": "2026-11-01"})) == key
    assert batch_key(SqlSource("postgresql://u:one@h/db", query, {"day": "2026-11-02"})) != key


def test_frame_batch_key_follows_the_values(orders: pd.DataFrame) -> None:
    key = batch_key(FrameSource(orders))
    assert batch_key(FrameSource(orders.copy())) == key
    changed = orders.copy()
    changed.loc[0, "value"] += 1
    assert batch_key(FrameSource(changed)) != key


# --------------------------------------------------------------------------------------------
# Sampling


def test_sample_of_a_small_source_is_every_row_in_order(
    tmp_path: Path, orders: pd.DataFrame
) -> None:
    path = _write(orders, tmp_path / "orders.parquet")
    sample, n_rows = sample_rows(FileSource(path), max_rows=5_000, chunk_rows=300)
    assert n_rows == len(orders)
    pd.testing.assert_frame_equal(sample, orders)


def test_sample_of_a_large_source_is_uniform_and_exactly_max_rows(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    n = 400_000
    position = np.arange(n, dtype=np.float64)
    frame = pd.DataFrame({"position": position, "x": rng.normal(10.0, 2.0, n)})
    halves = [
        _write(frame.iloc[: n // 2], tmp_path / "a.parquet"),
        _write(frame.iloc[n // 2 :], tmp_path / "b.parquet"),
    ]
    sources = [FileSource(p) for p in halves]

    sample, n_rows = sample_rows(sources, max_rows=20_000, chunk_rows=7_000, seed=3)

    assert n_rows == n
    assert len(sample) == 20_000
    assert sample["position"].is_unique
    assert sample["position"].is_monotonic_increasing
    # Uniform over positions: mean (n-1)/2, standard error n / sqrt(12 * 20000) ~ 816.
    assert abs(sample["position"].mean() - (n - 1) / 2) < 4 * 816
    assert abs(sample["x"].mean() - frame["x"].mean()) < 4 * 2.0 / np.sqrt(20_000)
    # Both files contribute about half.
    assert 9_400 < int((sample["position"] < n // 2).sum()) < 10_600
    again, _ = sample_rows(sources, max_rows=20_000, chunk_rows=50_000, seed=3)
    pd.testing.assert_frame_equal(again, sample)
    # exactly the rows whose priority keys (one draw per row, in row order) are smallest
    keys = np.random.default_rng(3).random(n)
    expected = np.sort(np.argpartition(keys, 20_000 - 1)[:20_000])
    np.testing.assert_array_equal(sample["position"].to_numpy(), expected.astype(np.float64))


# --------------------------------------------------------------------------------------------
# Counting chunks: Arrow's buffers and tallies give what pandas frames give


def _awkward_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Nulls, NaN, infinities, integers, booleans and strings, plain and dictionary-encoded."""
    numbers = rng.normal(10.0, 3.0, n)
    numbers[rng.random(n) < 0.05] = np.nan
    numbers[:3] = [np.inf, -np.inf, 1e308]
    counts = pd.array(rng.integers(0, 20, n), dtype="Int64")
    counts[rng.random(n) < 0.1] = pd.NA
    plain = rng.choice(["DE", "FR", "GB", "new-a", "new-b"], n).astype(object)
    plain[rng.random(n) < 0.07] = None
    coded = pd.Categorical(rng.choice(["gold", "silver", "bronze", "tin"], n))
    coded[rng.random(n) < 0.07] = np.nan
    return pd.DataFrame(
        {
            "amount": numbers,
            "count": counts,
            "country": plain,
            "tier": coded,
            "flag": rng.random(n) < 0.3,
        }
    )


@pytest.mark.parametrize("name", ["awkward.parquet", "awkward.csv"])
def test_counting_arrow_chunks_equals_counting_the_pandas_frame(
    tmp_path: Path, rng: np.random.Generator, name: str
) -> None:
    from driftmon.profile import fit_specs, profile_chunks, profile_frame

    n = 12_345
    frame = _awkward_frame(rng, n)
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False, row_group_size=5_000)  # chunks straddle groups
    else:
        frame.to_csv(path, index=False)
    whole = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
    # bins fitted on another sample, with some categories left out so "other" is counted too
    specs = fit_specs(_awkward_frame(rng, 2_000).head(500), max_categories={"country": 2})
    hints = {
        "numeric": [s for s, spec in specs.items() if spec.kind == "numeric"],
        "categorical": [s for s, spec in specs.items() if spec.kind == "categorical"],
    }

    expected = profile_frame(whole, specs)
    chunks = list(
        iter_chunks(
            FileSource(path), columns=list(specs), chunk_rows=3_001, as_chunks=True, **hints
        )
    )
    counted = profile_chunks(chunks, specs)

    assert max(len(c) for c in chunks) <= 3_001
    kinds = {type(column).__name__ for chunk in chunks for column in chunk.columns.values()}
    assert {"NumberColumn", "ValueCounts"} <= kinds  # the Arrow paths, not pandas, counted
    assert counted.n_rows == n
    for feature, profile in expected.features.items():
        np.testing.assert_array_equal(counted.features[feature].counts, profile.counts, feature)
        assert counted.features[feature].tally.observed_type == profile.tally.observed_type


def test_an_id_column_chunk_keys_only_its_own_values_of_a_growing_dictionary(
    tmp_path: Path,
) -> None:
    """Parquet's dictionary grows chunk by chunk through a row group; once it is large, a
    chunk hands over only the values that occur in it, with their exact counts, and as UTF-8
    bytes (`EncodedKeys`), not a Python string each."""
    rng = np.random.default_rng(21)
    ids = np.array([f"id-{i:06d}" for i in rng.permutation(150_000)], dtype=object)
    column = np.repeat(ids, 2)  # every ID twice, next to each other
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"id": column}).to_parquet(path, index=False, row_group_size=len(column))

    chunks = list(
        iter_chunks(FileSource(path), chunk_rows=20_000, categorical=["id"], as_chunks=True)
    )

    tallies = [chunk.columns["id"] for chunk in chunks]
    assert all(len(tally.values) == 10_000 for tally in tallies)  # its own IDs, not all so far
    assert all(tally.counts.tolist() == [2] * 10_000 for tally in tallies)
    assert all(isinstance(tally.values, EncodedKeys) for tally in tallies)
    seen = [key for tally in tallies for key in tally.values.strings()]
    assert seen == column[::2].tolist()


@pytest.mark.parametrize("name", ["ids.csv", "ids.parquet"])
def test_an_id_column_of_plain_strings_is_counted_from_its_bytes_as_pandas_counts_it(
    tmp_path: Path, rng: np.random.Generator, name: str
) -> None:
    """A CSV's (or a Parquet file's plain, not dictionary-encoded) string column with more
    distinct values per chunk than `_LARGE_DICTIONARY` is handed over as UTF-8 bytes, and
    counts, never-seen and long-tail lists come out as the pandas path's."""
    from driftmon.profile import fit_specs, profile_chunks, profile_frame

    def ids(n: int, low: int) -> pd.DataFrame:
        values = np.array([f"c-{i:07d}" for i in rng.integers(low, low + 400_000, n)], object)
        values[rng.random(n) < 0.01] = None
        return pd.DataFrame({"customer": values})

    specs = fit_specs(ids(50_000, 0), max_categories={"customer": 5})
    batch = ids(200_000, 200_000)  # half the range seen in the reference, half new
    path = tmp_path / name
    if name.endswith(".csv"):
        batch.to_csv(path, index=False)
    else:
        batch.to_parquet(path, index=False, use_dictionary=False)
    expected = profile_frame(batch, specs).features["customer"]
    for chunk_rows in (200_000, 100_000):  # one chunk, then two (top lists merge per chunk)
        source = FileSource(path)
        chunks = list(
            iter_chunks(source, chunk_rows=chunk_rows, categorical=["customer"], as_chunks=True)
        )
        assert len(chunks) == 200_000 // chunk_rows
        assert all(isinstance(c.columns["customer"].values, EncodedKeys) for c in chunks)
        counted = profile_chunks(chunks, specs).features["customer"]
        np.testing.assert_array_equal(counted.counts, expected.counts)
        assert counted.tally.n_unseen == expected.tally.n_unseen > 0
        if chunk_rows == 200_000:
            assert counted.tally.unseen == expected.tally.unseen
            assert counted.tally.tail == expected.tally.tail


# --------------------------------------------------------------------------------------------
# Dates in CSV files


def test_iso_dates_and_times_in_a_csv_are_read_as_timestamps(tmp_path: Path) -> None:
    """ISO 8601 dates, date-times and UTC date-times parse as timestamps, like numbers parse
    as numbers; a format that is not ISO (day first or month first?) stays text; a column
    hinted categorical keeps its text (a reference that kept dates as categories)."""
    path = tmp_path / "dates.csv"
    path.write_text(
        "day,moment,utc,local\n"
        "2025-01-31,2025-01-31 08:30:00,2025-01-31T08:30:00Z,31/01/2025\n"
        "2025-02-01,2025-02-01 09:00:00,2025-02-01T09:00:00Z,01/02/2025\n"
        ",,,\n"
    )

    whole = _read_all(FileSource(path))
    hinted = _read_all(FileSource(path), categorical=["day"], numeric=["moment"])

    assert whole["day"].tolist()[:2] == [pd.Timestamp("2025-01-31"), pd.Timestamp("2025-02-01")]
    assert whole["moment"].iloc[0] == pd.Timestamp("2025-01-31 08:30:00")
    assert whole["utc"].iloc[1] == pd.Timestamp("2025-02-01 09:00:00", tz="UTC")
    assert whole[["day", "moment", "utc"]].iloc[2].isna().all()
    assert pd.api.types.is_string_dtype(whole["local"].dtype)
    assert hinted["day"].astype(str).tolist()[:2] == ["2025-01-31", "2025-02-01"]
    assert hinted["moment"].iloc[1] == pd.Timestamp("2025-02-01 09:00:00")


def test_a_numeric_hinted_date_column_is_read_as_text_after_its_first_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column the reference calls numeric that holds dates fails the fast numeric read of a
    segment; later segments read it as text at once. Every chunk's dates are timestamps and
    the numbers beside them stay numbers."""
    n = 2_000_000  # ~40 MB: several of the reader's segments (16 MB each here)
    year = pd.date_range("2025-01-01", periods=365, freq="D")
    days = year[np.arange(n) % 365]
    frame = pd.DataFrame({"day": days, "amount": np.arange(n) / 4})
    path = tmp_path / "batch.csv"
    text = np.char.add(np.tile(year.strftime("%Y-%m-%d,").to_numpy(str), n // 365 + 1)[:n],
                       frame["amount"].to_numpy().astype(str))  # fmt: skip
    path.write_text("day,amount\n" + "\n".join(text) + "\n")

    import pyarrow as pa

    from driftmon.sources import csv_files

    day_types = []  # how each read of a segment was asked to convert `day`
    read_segment = csv_files._csv_segment

    def recording(path, segment, read_options, convert, **typed):
        day_types.append(convert.column_types["day"])
        return read_segment(path, segment, read_options, convert, **typed)

    monkeypatch.setattr(csv_files, "_csv_segment", recording)

    chunks = list(iter_chunks(FileSource(path), chunk_rows=100_000, numeric=["day", "amount"]))

    assert len(chunks) >= 3
    # numbers once, then text: the first segment twice, every later one once
    assert len(day_types) >= 4
    assert day_types.count(pa.float64()) == 1 and day_types[0] == pa.float64()
    whole = pd.concat(chunks)
    assert all(pd.api.types.is_datetime64_dtype(c["day"].dtype) for c in chunks)
    assert (whole["day"].to_numpy() == days.to_numpy()).all()
    assert whole["amount"].tolist() == frame["amount"].tolist()


def test_csv_values_parse_around_spaces_and_far_dates(tmp_path: Path) -> None:
    """As Arrow's CSV number parser does, spaces around a value do not keep it text; the
    common sentinel 9999-12-31 is a date like any other (microseconds reach year 294,000)."""
    path = tmp_path / "padded.csv"
    path.write_text("amount,until\n 1,2025-01-01\n2.5 ,9999-12-31\n")

    whole = _read_all(FileSource(path))

    assert whole["amount"].tolist() == [1.0, 2.5]
    assert whole["until"].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("9999-12-31")]
