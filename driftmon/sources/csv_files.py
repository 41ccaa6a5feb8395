"""Reading CSV files, plain or gzip: byte segments cut at line ends, each parsed by Arrow's
multi-threaded table reader, every column's type decided per chunk (see `read`)."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from driftmon.errors import SourceError
from driftmon.sources.base import Piece, ReadRequest, select_columns, unique_columns

__all__ = ["columns", "read"]

_MIN_CSV_BLOCK = 4 << 20


_MAX_CSV_BLOCK = 512 << 20


_CSV_SAMPLE_BYTES = 1 << 20


_MAX_CSV_SEGMENT = 64 << 20


_CSV_SEGMENT_BLOCK = 1 << 20


_PARSE_PROBE_ROWS = 64


_DICTIONARY_STRING = pa.dictionary(pa.int32(), pa.string())


_UNBALANCED_QUOTE_HINT = (
    'this usually means an unbalanced quote `"`: close it (values spanning lines are not '
    "supported in CSV; use Parquet for such text)"
)


def columns(path: Path) -> list[str]:
    """The header's column names (reads the first megabyte)."""
    return _csv_head(path).names


def holds_rows(path: Path) -> bool:
    """Whether the file has a data row after its header (reads the first megabyte)."""
    return _csv_head(path).has_rows


def read(path: Path, request: ReadRequest) -> Iterator[Piece]:
    """The file's rows as record batches of at most ``request.chunk_rows`` rows; progress in
    bytes of the file read."""
    return _read_csv(
        path,
        request.columns,
        request.chunk_rows,
        set(request.numeric),
        set(request.categorical),
        set(request.text),
    )


class _CsvHead(NamedTuple):
    """What the first megabyte of a CSV file says: its column names, where the data rows
    start (bytes), its longest and mean line (bytes), and whether a data row follows the
    header (a header alone is a file without rows, which reading it reports)."""

    names: list[str]
    data_start: int
    longest_line: int
    mean_line: float
    has_rows: bool


def _csv_head(path: Path) -> _CsvHead:
    """The header's column names and the layout of the lines in the first megabyte."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                sample = handle.read(_CSV_SAMPLE_BYTES)
        else:
            with path.open("rb") as handle:
                sample = handle.read(_CSV_SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise SourceError(
            f"CSV file `{path}` cannot be read: {exc}; check that it is a complete "
            f"{'gzip-compressed ' if path.name.lower().endswith('.gz') else ''}CSV file"
        ) from exc
    if not sample.strip():
        raise SourceError(f"CSV file `{path}` is empty; write a header line and data rows")
    text = sample.decode("utf-8-sig", errors="replace")
    header = unique_columns(
        next(csv.reader(io.StringIO(text, newline="")), []), f"CSV file `{path}`"
    )
    separator = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), None)
    if separator is not None:
        shown = {";": "semicolons", "\t": "tabs", "|": "bars"}[separator]
        raise SourceError(
            f"CSV file `{path}` has one column, named `{header[0]}`: its values look separated "
            f"by {shown}, and driftmon reads comma-separated files; write it with commas (or "
            "as Parquet)"
        )
    header_bytes = sample.find(b"\n") + 1 or len(sample)
    has_rows = len(sample) >= _CSV_SAMPLE_BYTES or bool(sample[header_bytes:].strip())
    lines = sample[header_bytes:].split(b"\n")
    longest = max(header_bytes, *map(len, lines))
    mean = (len(sample) - header_bytes) / max(len(lines), 1)
    return _CsvHead(header, header_bytes, longest, mean, has_rows)


def _read_csv(
    path: Path,
    requested: list[str] | None,
    chunk_rows: int,
    numeric: set[str],
    categorical: set[str],
    text: set[str],
) -> Iterator[Piece]:
    """Chunks of a CSV file (plain or gzip) read as byte segments cut at line ends, each parsed
    by Arrow's multi-threaded table reader: twice the speed of its streaming reader on two cores
    (``benchmarks/bench_check.py``). Segments hold about a chunk's rows, at most
    ``_MAX_CSV_SEGMENT`` bytes, so memory stays bounded by the chunk size. Columns hinted
    numeric are parsed as numbers, the fast way; a segment where one holds text is parsed again
    with them as text, so every chunk's column is numbers if all its values parse, else
    timestamps if they all do (ISO 8601 dates and times; not for columns hinted categorical),
    else strings, as for any column; a
    column hinted numeric that turned out not to be numbers (dates, say) is read as text from
    then on, so later segments are not parsed twice. Columns in ``text`` are never parsed."""
    head = _csv_head(path)
    selected = select_columns(head.names, requested, f"CSV file `{path}`")
    read_columns = selected or head.names[:1]
    typed = [name for name in read_columns if name in numeric]
    block_size = int(min(max(64 * head.longest_line, _CSV_SEGMENT_BLOCK), _MAX_CSV_BLOCK))
    segment_bytes = int(
        min(max(chunk_rows * head.mean_line, 16 * block_size, _MIN_CSV_BLOCK), _MAX_CSV_SEGMENT)
    )
    read_options = pa_csv.ReadOptions(column_names=head.names, block_size=block_size)
    column_types = {
        name: _DICTIONARY_STRING if name in categorical else pa.string() for name in read_columns
    }

    def converting(numbers: Collection[str]) -> pa_csv.ConvertOptions:
        """Read ``numbers`` as float64 and every other column as text."""
        return pa_csv.ConvertOptions(
            column_types=column_types | dict.fromkeys(numbers, pa.float64()),
            include_columns=read_columns,
            strings_can_be_null=True,
        )

    as_text, as_numbers = converting(()), converting(typed)
    total = path.stat().st_size
    rows_done, before = 0, 0
    for data, end, after in _csv_segments(path, head.data_start, segment_bytes):
        segment = pa.py_buffer(data)[:end]
        try:
            table = _csv_segment(path, segment, read_options, as_numbers, typed=bool(typed))
        except _TextInNumbers:
            table = _csv_segment(path, segment, read_options, as_text)
            texts = [
                name
                for name in typed
                if _parse_text_values(table[name], try_boolean=False, try_dates=False) is None
            ]
            if texts:  # not numbers in this segment: read as text from now on
                typed = [name for name in typed if name not in texts]
                as_numbers = converting(typed)
        if data.find(b'"', 0, end) >= 0 and table.num_rows != _non_blank_lines(data, end):
            # a quote left open swallowed line ends: Arrow's table reader drops those rows
            # without a word (its streaming reader reports them), so count the lines
            raise SourceError(
                f"CSV file `{path}` is malformed: a quoted value runs across lines after "
                f"data row {rows_done}; {_UNBALANCED_QUOTE_HINT}"
            )
        del segment
        if table.num_rows:
            batch = _joined_batches(table.to_batches())
            for offset in range(0, table.num_rows, chunk_rows):
                piece = batch.slice(offset, chunk_rows)
                parsed = _parse_csv_batch(piece, path, rows_done, numeric, categorical, text)
                rows_done += piece.num_rows
                # bytes of the file read, pro rata within the segment
                done = before + (after - before) * (offset + piece.num_rows) // table.num_rows
                yield (parsed if selected else parsed.select([])), done, total
        before = after


def _csv_segments(
    path: Path, data_start: int, segment_bytes: int
) -> Iterator[tuple[bytearray, int, int]]:
    """The file's data rows as ``(buffer, end, done)``: the buffer's first ``end`` bytes are
    whole lines, ``done`` the bytes of the file (compressed, for gzip) read so far.

    One buffer serves every segment (Arrow copies what it parses; a fresh buffer would cost a
    page fault per 4 KB each time); the partial line after ``end`` moves to its front for the
    next segment. A gzip file is decompressed as a stream: it cannot be entered midway.
    """
    buffer = bytearray(segment_bytes)
    with pa.OSFile(str(path), "r") as raw, memoryview(buffer) as view:
        try:
            if _is_gzip(path):
                # Arrow decompresses without holding the GIL, so parsing goes on meanwhile
                stream: Any = pa.CompressedInputStream(raw, "gzip")
                stream.read(data_start)  # past the header: a stream only goes forward
            else:
                stream = raw
                stream.seek(data_start)
            size, at_end = 0, False
            while not at_end:
                while size < segment_bytes:
                    read = stream.readinto(view[size:])
                    if not read:
                        at_end = True
                        break
                    size += read
                end = size if at_end else buffer.rfind(b"\n", 0, size) + 1
                if not end and not at_end:
                    raise SourceError(
                        f"CSV file `{path}` has a line longer than {segment_bytes:,} bytes; "
                        "is it a CSV file with one row per line?"
                    )
                if end:
                    yield buffer, end, raw.tell()
                buffer[: size - end] = buffer[end:size]
                size -= end
        except (OSError, EOFError, pa.ArrowException) as exc:
            raise SourceError(
                f"CSV file `{path}` cannot be read: {exc}; check that it is a complete "
                f"{'gzip-compressed ' if _is_gzip(path) else ''}CSV file"
            ) from exc


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _non_blank_lines(data: bytes, end: int) -> int:
    """Lines of ``data[:end]`` (whole lines, the last one maybe without its line end) that are
    neither empty nor a lone carriage return: the rows Arrow reads when no value is quoted
    across lines."""
    buffer = np.frombuffer(data, dtype=np.uint8, count=end)
    line_ends = np.flatnonzero(buffer == 10)
    starts = np.concatenate(([0], line_ends + 1))
    stops = np.concatenate((line_ends, [end]))
    lengths = stops - starts
    blank = (lengths == 0) | ((lengths == 1) & (buffer[np.minimum(starts, end - 1)] == 13))
    return int(np.count_nonzero(~blank))


def _csv_segment(
    path: Path,
    segment: pa.Buffer,
    read_options: pa_csv.ReadOptions,
    convert: pa_csv.ConvertOptions,
    *,
    typed: bool = False,
) -> pa.Table:
    try:
        try:
            return pa_csv.read_csv(
                pa.BufferReader(segment), read_options=read_options, convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc):
                raise
            # a row longer than the blocks sized on the first megabyte's lines: the whole
            # segment as one block (in memory already; only Arrow's parallelism is lost)
            whole = pa_csv.ReadOptions(
                column_names=read_options.column_names, block_size=segment.size + 1
            )
            return pa_csv.read_csv(
                pa.BufferReader(segment), read_options=whole, convert_options=convert
            )
    except (pa.ArrowException, OSError) as exc:
        raise _csv_error(path, exc, typed) from exc


class _TextInNumbers(Exception):
    """A segment's column read as numbers holds text: read the segment again as text."""


def _joined_batches(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    """Record batches (each dictionary column with its own dictionary) as one batch."""
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches).unify_dictionaries().combine_chunks()
    return table.to_batches(max_chunksize=table.num_rows)[0]


def _csv_error(path: Path, exc: BaseException, typed: bool) -> Exception:
    """What Arrow's CSV error means for the user (or `_TextInNumbers` for a typed read)."""
    message = str(exc)
    if typed and "CSV conversion error to double" in message:
        return _TextInNumbers()
    if message.startswith("Empty CSV file"):
        return SourceError(f"CSV file `{path}` is empty; write a header line and data rows")
    row = message.rpartition(": ")[2] if "Expected" in message and "columns" in message else ""
    if "out of sync" in message or row.count('"') % 2:
        # Arrow reports an open quote as a row of too few fields: the row it quotes says which
        message, hint = "a quoted value runs across lines", _UNBALANCED_QUOTE_HINT
    else:
        hint = "fix the file (a row with too many or too few fields, or text not in UTF-8?)"
    return SourceError(f"CSV file `{path}` is malformed: {message.rstrip('. ')}; {hint}")


def _parse_csv_batch(
    batch: pa.RecordBatch,
    path: Path,
    first_row: int,
    numeric: set[str],
    categorical: Collection[str],
    text: Collection[str] = (),
) -> pa.RecordBatch:
    """One chunk of text columns with each column parsed as numbers, timestamps or booleans
    where it can; a column hinted categorical is never parsed as timestamps (a reference that
    kept its dates as categories keeps matching them), one in ``text`` not at all (the
    reference saw text: ``007`` is a code, not the number 7)."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        typed = (
            column
            if name in text
            else _parse_text_column(
                column, try_boolean=name not in numeric, try_dates=name not in categorical
            )
        )
        if typed is column and not pa.types.is_floating(column.type):
            _reject_line_breaks(column, path, name, first_row)
        arrays.append(typed)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _parse_text_column(column: pa.Array, *, try_boolean: bool, try_dates: bool) -> pa.Array:
    """Numbers if every value parses as one, else timestamps (``try_dates``), else booleans
    (``try_boolean``), else the column unchanged.

    Dictionary columns (hinted categorical, so read with ``try_dates`` off) parse their (few)
    distinct values and keep the codes: numbers or booleans as without the hint, only as
    pandas ``category`` dtype; date text stays text.
    """
    if pa.types.is_floating(column.type):  # read as numbers already
        return column
    if isinstance(column, pa.DictionaryArray):
        values = _parse_text_values(column.dictionary, try_boolean, try_dates)
        if values is None or len(values) == 0:
            return column
        if len(pc.unique(values)) < len(values):  # "1" and "1.0" both became 1.0
            return pc.dictionary_encode(pc.take(values, column.indices))
        return pa.DictionaryArray.from_arrays(column.indices, values)
    values = _parse_text_values(column, try_boolean, try_dates)
    return column if values is None else values


def _parse_text_values(strings: pa.Array, try_boolean: bool, try_dates: bool) -> pa.Array | None:
    targets = [pa.float64()]
    if try_dates:  # ISO 8601, as Arrow casts it: without an offset, or with one (UTC)
        # microseconds: a 9999-12-31 sentinel is beyond nanoseconds' range (year 2262)
        targets += [pa.timestamp("us"), pa.timestamp("us", tz="UTC")]
    if try_boolean:
        targets.append(pa.bool_())
    for target in targets:
        # A failing cast costs ~15x a successful one per bad value, so a text column is
        # recognised on its first values before the whole column is tried.
        if _cast_or_none(strings.slice(0, _PARSE_PROBE_ROWS), target) is None:
            continue
        parsed = _cast_or_none(strings, target)
        if parsed is not None:
            return parsed
    return None


def _cast_or_none(strings: pa.Array, target: pa.DataType) -> pa.Array | None:
    """``strings`` cast to ``target``, around spaces as Arrow's CSV parser reads ``1, 2.5``;
    None when one does not parse."""
    try:
        return pc.cast(pc.utf8_trim_whitespace(strings), target)
    except pa.ArrowInvalid:
        return None


def _reject_line_breaks(column: pa.Array, path: Path, name: str, first_row: int) -> None:
    """A value holding a line break means a quote opened and never closed (or multi-line text).

    pyarrow then silently reads the rest of the block as one value; refusing is the only way
    not to lose those rows.
    """
    if isinstance(column, pa.DictionaryArray):
        if not pc.any(pc.match_substring(column.dictionary, "\n")).as_py():
            return
        column = column.dictionary_decode()
    has_break = pc.match_substring(column, "\n")
    if not pc.any(has_break).as_py():
        return
    row = first_row + pc.index(has_break, True).as_py() + 1
    raise SourceError(
        f"CSV file `{path}` is malformed: column `{name}` of data row {row} holds a line break "
        f"inside quotes; {_UNBALANCED_QUOTE_HINT}"
    )
