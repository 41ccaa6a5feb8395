"""Reading input data in chunks: CSV (plain or gzip), Parquet, SQL queries and in-memory frames.

With `driftmon.sources.locate`, the only code that reads input. Every reader streams: memory
is bounded by the chunk size (``chunk_rows`` rows), not by the size of the file or query
result, because everything downstream turns a chunk into counts that merge by addition.

Types come from the data as it arrives, so a changed type is reported by the core rather than
hidden here: Parquet keeps the file's schema; CSV is read as strings and each chunk's column is
parsed as numbers (or booleans) when every value in that chunk parses, otherwise kept as
strings. The ``categorical`` hint only changes the representation (pandas ``category`` dtype,
which counts ~20x faster), never the values or their type.
"""

from __future__ import annotations

import csv
import gzip
import io
import queue
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from driftmon._lazy import lazy_module
from driftmon.bins import Column, NumberColumn, ValueCounts
from driftmon.errors import ConfigError, SourceError
from driftmon.options import DEFAULT_PARTITION_ROWS
from driftmon.profile import Chunk
from driftmon.sources.locate import (
    DEFAULT_CHUNK_ROWS,
    FileSource,
    FrameSource,
    Partition,
    Progress,
    Source,
    SqlSource,
    _check_file,
    _file_format,
    _not_a_source,
    _quoted,
    _redact_url,
    describe,
)

if TYPE_CHECKING:
    import pandas as pd

    # Imported where SQL is used, so reading files never loads SQLAlchemy.
    import sqlalchemy
else:
    pd = lazy_module("pandas")  # imported when first used: never by a file check

__all__ = [
    "column_names",
    "iter_chunks",
    "iter_source_chunks",
    "partitions",
    "sample_rows",
]


# CSV block sizes: large enough that no realistic row straddles two blocks (pyarrow fails on
# that), small enough to stay within a few chunks' worth of memory.
_MIN_CSV_BLOCK = 4 << 20
_MAX_CSV_BLOCK = 512 << 20
_CSV_SAMPLE_BYTES = 1 << 20
# Plain CSV files are parsed in segments of about a chunk's rows (at most this many bytes), in
# blocks this small, so Arrow's threads share each segment (measured fastest at 1-2 MB).
_MAX_CSV_SEGMENT = 64 << 20
_CSV_SEGMENT_BLOCK = 1 << 20
_PARQUET_BUFFER_BYTES = 1 << 20
_PARSE_PROBE_ROWS = 64
_T = TypeVar("_T")
_DICTIONARY_STRING = pa.dictionary(pa.int32(), pa.string())
_UNBALANCED_QUOTE_HINT = (
    'this usually means an unbalanced quote `"`: close it (values spanning lines are not '
    "supported in CSV; use Parquet for such text)"
)
# --------------------------------------------------------------------------------------------
# Columns


def column_names(source: Source) -> list[str]:
    """The source's column names, reading no data rows (Parquet schema, CSV header, SQL keys)."""
    if isinstance(source, FileSource):
        path = source.path
        _check_file(path)
        if _file_format(path) == "parquet":
            return _parquet_columns(_open_parquet(path), path)
        return _csv_head(path).names
    if isinstance(source, SqlSource):
        return _sql_columns(source)
    if isinstance(source, FrameSource):
        return [str(c) for c in source.frame.columns]
    raise _not_a_source(source)


def partitions(
    source: Source | Sequence[Source], target_rows: int = DEFAULT_PARTITION_ROWS
) -> list[Partition]:
    """The source(s) cut into partitions, in reading order, whose counts add up to the whole.

    A Parquet file is cut at row-group boundaries into runs of row groups holding at least
    ``target_rows`` rows (a single-row-group file is one partition); a CSV file (plain or gzip),
    a query and a frame are one partition each. Reads only metadata.
    """
    if isinstance(target_rows, bool) or not isinstance(target_rows, int) or target_rows < 1:
        raise ConfigError(f"target_rows must be a positive integer, got `{target_rows}`")
    many = [source] if isinstance(source, FileSource | SqlSource | FrameSource) else source
    parts: list[Partition] = []
    for one in many:
        for piece in _partitions_of(one, target_rows):
            parts.append(Partition(piece.source, len(parts), piece.row_groups, piece.n_rows))
    if not parts:
        raise SourceError("no sources given; name at least one file, folder, pattern or query")
    return parts


def _partitions_of(source: Source, target_rows: int) -> list[Partition]:
    if isinstance(source, FrameSource):
        return [Partition(source, n_rows=len(source.frame))]
    if not isinstance(source, FileSource):
        if not isinstance(source, SqlSource):
            raise _not_a_source(source)
        return [Partition(source)]
    _check_file(source.path)
    # absolute, for a worker elsewhere: its working folder is not this process's
    source = FileSource(source.path.absolute())
    if _file_format(source.path) != "parquet":
        return [Partition(source)]
    metadata = _open_parquet(source.path).metadata
    if metadata.num_row_groups <= 1:
        return [Partition(source, n_rows=metadata.num_rows)]
    groups: list[list[int]] = [[]]
    rows: list[int] = [0]
    for group in range(metadata.num_row_groups):
        if rows[-1] >= target_rows:
            groups.append([])
            rows.append(0)
        groups[-1].append(group)
        rows[-1] += metadata.row_group(group).num_rows
    if len(groups) == 1:
        return [Partition(source, n_rows=metadata.num_rows)]
    return [
        Partition(source, row_groups=tuple(group), n_rows=n)
        for group, n in zip(groups, rows, strict=True)
    ]


# --------------------------------------------------------------------------------------------
# Chunks


def iter_chunks(
    source: Source | Partition,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
    on_progress: Progress | None = None,
    as_chunks: bool = False,
    read_ahead: bool = False,
) -> Iterator[pd.DataFrame | Chunk]:
    """Stream a source as DataFrames (or, for counting, `Chunk`s) of at most ``chunk_rows`` rows.

    Parameters
    ----------
    source
        The file, query or frame to read.
    columns
        Columns to read, in this order (default: all; for Parquet, without the pandas index).
    chunk_rows
        Upper bound on rows per chunk; memory use scales with it.
    numeric, categorical
        Hints from the reference's bin specs. Categorical string columns arrive as pandas
        ``category`` dtype; CSV columns in ``numeric`` are only tried as numbers, the others as
        numbers, then booleans, then left as strings.
    on_progress
        Called after each chunk with ``(done, total)``: rows of the Parquet file, bytes of the
        CSV file read (approximate), rows of the frame, or rows and None for SQL.
    as_chunks
        Yield files' chunks as `driftmon.profile.Chunk`s for counting: numbers stay in Arrow's
        buffers and categorical columns arrive tallied, so nothing large is allocated.
    read_ahead
        Read the next chunk in a background thread while the caller works on this one (at
        most one chunk ahead, so memory stays bounded by two chunks): decoding and counting
        both release the GIL, so on two cores they overlap. Errors arrive in the caller.

    Yields
    ------
    DataFrame or Chunk
        A chunk (DataFrames indexed by row position in the source); never an empty one.

    Raises
    ------
    SourceError
        The file is missing, unreadable, malformed or has no data rows, a requested column
        does not exist, or the query fails.
    """
    pieces = _read(source, columns, chunk_rows, numeric, categorical, as_chunks)
    done, total = 0, None
    for frame, done, total in _ahead(pieces) if read_ahead else pieces:
        if on_progress is not None:
            on_progress(done, total)
        yield frame
    if on_progress is not None and total is not None and done < total:
        on_progress(total, total)  # what followed the last rows (blank lines) was read too


def _ahead(items: Iterator[_T]) -> Iterator[_T]:
    """The items, produced one ahead of the consumer by a thread; its error re-raised here.
    If the consumer stops early, the thread stops at its next item."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            else:
                handoff.put(("end", None))
            close = getattr(items, "close", None)
            if close is not None:
                close()  # the file's handles, now rather than at garbage collection
        except BaseException as error:  # handed to the consumer, re-raised there
            handoff.put(("error", error))

    producer = threading.Thread(target=produce, name="driftmon-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while producer.is_alive():
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass
        producer.join()


def iter_source_chunks(
    sources: Sequence[Source | Partition],
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
    on_progress: Progress | None = None,
    as_chunks: bool = False,
    read_ahead: bool = False,
    tagged: bool = False,
) -> Iterator[Any]:
    """Chunks of several sources or partitions one after the other (a reference spread over
    many files, a file's row groups).

    Chunks never span two of them; with ``tagged`` each comes as ``(position, chunk)``, the
    position of its source or partition in ``sources``, so a caller can count each on its own.
    Progress counts bytes over all files (each file's progress scaled to its size), rows over
    all frames and Parquet partitions, and rows with an unknown total otherwise.
    ``read_ahead`` as in `iter_chunks`, across the boundaries too. Each chunk's index is the
    row position within its own source or partition.
    """
    sources = list(sources)
    if not sources:
        raise SourceError("no sources given; name at least one file, folder, pattern or query")
    weights = _progress_weights(sources) if len(sources) > 1 else None
    total = None if weights is None else sum(weights)

    def pieces() -> Iterator[tuple[int, Any, int, int | None]]:
        finished_weight = 0
        rows_done = 0
        for position, source in enumerate(sources):
            for frame, done, source_total in _read(
                source, columns, chunk_rows, numeric, categorical, as_chunks
            ):
                rows_done += len(frame)
                if len(sources) == 1:
                    yield position, frame, done, source_total
                elif weights is None:
                    yield position, frame, rows_done, None
                else:
                    fraction = done / source_total if source_total else 1.0
                    progress = finished_weight + round(weights[position] * fraction)
                    yield position, frame, progress, total
            if weights is not None:
                finished_weight += weights[position]

    done, last_total = 0, None
    for position, frame, done, last_total in _ahead(pieces()) if read_ahead else pieces():
        if on_progress is not None:
            on_progress(done, last_total)
        yield (position, frame) if tagged else frame
    if on_progress is not None and last_total is not None and done < last_total:
        on_progress(last_total, last_total)  # what followed the last rows was read too


def sample_rows(
    source_or_sources: Source | Sequence[Source],
    *,
    columns: Sequence[str] | None = None,
    max_rows: int = 1_000_000,
    seed: int = 0,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: Progress | None = None,
) -> tuple[pd.DataFrame, int]:
    """A uniform random sample of at most ``max_rows`` rows, and the total row count.

    Why: bins are fitted on a sample when the reference is larger than memory. Every row gets
    a random priority key; the rows with the ``max_rows`` smallest keys form the sample, so
    each subset of that size is equally likely. Rows whose key cannot make the cut any more are
    dropped as they stream by and the kept rows are compacted (each kept frame filtered, then
    joined) when they reach 1.25 ``max_rows``, so the work stays linear (compactions get rarer
    as the cut tightens) and peak memory is about 2.25 ``max_rows`` rows plus a chunk. The sample
    keeps the source's row order; with at most ``max_rows`` rows it is all of them. The keys do
    not depend on ``chunk_rows``, so the sample does not either.
    """
    if max_rows < 1:
        raise ConfigError(f"max_rows must be at least 1, got `{max_rows}`")
    sources = (
        [source_or_sources]
        if isinstance(source_or_sources, FileSource | SqlSource | FrameSource)
        else list(source_or_sources)
    )
    rng = np.random.default_rng(seed)
    kept_frames: list[pd.DataFrame] = []
    kept_keys: list[np.ndarray] = []
    kept_positions: list[np.ndarray] = []
    n_kept = 0
    n_rows = 0
    threshold = np.inf

    def compact() -> None:
        nonlocal n_kept, threshold
        keys = np.concatenate(kept_keys)
        positions = np.concatenate(kept_positions)
        frames = kept_frames
        if len(keys) > max_rows:
            threshold = float(np.partition(keys, max_rows - 1)[max_rows - 1])
            keep = keys < threshold
            ties = np.flatnonzero(keys == threshold)  # one, unless two keys are equal
            keep[ties[: max_rows - int(keep.sum())]] = True
            # filtered frame by frame: joining them first would hold every kept row twice
            bounds = np.cumsum([len(frame) for frame in kept_frames])[:-1]
            frames = [
                frame.iloc[np.flatnonzero(part)]
                for frame, part in zip(kept_frames, np.split(keep, bounds), strict=True)
            ]
            keys, positions = keys[keep], positions[keep]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        kept_frames[:], kept_keys[:], kept_positions[:] = [frame], [keys], [positions]
        n_kept = len(keys)

    chunks = iter_source_chunks(
        sources, columns=columns, chunk_rows=chunk_rows, on_progress=on_progress
    )
    for chunk in chunks:
        keys = rng.random(len(chunk))
        positions = np.arange(n_rows, n_rows + len(chunk))
        n_rows += len(chunk)
        if threshold < np.inf:
            candidates = np.flatnonzero(keys < threshold)
            chunk, keys, positions = chunk.take(candidates), keys[candidates], positions[candidates]
        if len(keys):
            kept_frames.append(chunk)
            kept_keys.append(keys)
            kept_positions.append(positions)
            n_kept += len(keys)
        if n_kept >= max_rows + max_rows // 4:
            compact()
    compact()
    order = np.argsort(kept_positions[0], kind="stable")
    sample = kept_frames[0].take(order).reset_index(drop=True)
    return sample, n_rows


# --------------------------------------------------------------------------------------------
# Dispatch

_Chunk: TypeAlias = "tuple[pd.DataFrame | pa.RecordBatch, int, int | None]"


def _read(
    source: Source | Partition,
    columns: Sequence[str] | None,
    chunk_rows: int,
    numeric: Collection[str],
    categorical: Collection[str],
    as_chunks: bool = False,
) -> Iterator[_Chunk]:
    """Chunks with progress, row-position index, and the empty-source check.

    Files are read as Arrow record batches, turned into DataFrames or, with ``as_chunks``,
    into counting `Chunk`s (`_arrow_chunk`); queries and frames come as DataFrames.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a positive integer, got `{chunk_rows}`")
    numeric, categorical = set(numeric), set(categorical)
    both = sorted(numeric & categorical)
    if both:
        raise ConfigError(
            f"column(s) {_quoted(both)} are hinted both numeric and categorical; give one kind"
        )
    if isinstance(columns, str):
        columns = [columns]
    requested = None if columns is None else list(dict.fromkeys(columns))
    row_groups = None
    if isinstance(source, Partition):
        source, row_groups = source.source, source.row_groups
    if isinstance(source, FileSource):
        _check_file(source.path)
        if _file_format(source.path) == "parquet":
            chunks = _read_parquet(source.path, requested, chunk_rows, categorical, row_groups)
        else:
            chunks = _read_csv(source.path, requested, chunk_rows, numeric, categorical)
    elif isinstance(source, SqlSource):
        chunks = _read_sql(source, requested, chunk_rows)
    elif isinstance(source, FrameSource):
        chunks = _read_frame(source, requested, chunk_rows)
    else:
        raise _not_a_source(source)
    n_rows = 0
    for piece, done, total in chunks:
        if len(piece) == 0:
            continue
        if isinstance(piece, pa.RecordBatch):
            piece = _arrow_chunk(piece, numeric) if as_chunks else piece.to_pandas()
        if not isinstance(piece, Chunk):  # a DataFrame
            piece.index = pd.RangeIndex(n_rows, n_rows + len(piece))
        n_rows += len(piece)
        yield piece, done, total
    if n_rows == 0 and row_groups is None:  # a whole source; some row groups may be empty
        raise SourceError(_no_rows_message(source))


def _arrow_chunk(batch: pa.RecordBatch, numeric: Collection[str]) -> Chunk:
    """A record batch as a counting `Chunk`, copying nothing it does not have to."""
    return Chunk(
        batch.num_rows,
        {
            name: _counting_column(column, name in numeric)
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        },
    )


def _counting_column(array: pa.Array, numeric: bool) -> Column:
    """One Arrow column the way counting wants it.

    Numbers of a numeric feature: a `NumberColumn` over Arrow's own value and validity
    buffers (no copy). A categorical feature's strings, dictionary codes, booleans or numbers:
    `ValueCounts` from Arrow's hash-based ``value_counts`` (NaN and nulls are missing).
    Anything else (dates, decimals, a type that changed): a pandas Series, the general path.
    """
    data_type = array.type
    is_number = (
        pa.types.is_integer(data_type)
        or pa.types.is_float32(data_type)
        or (pa.types.is_float64(data_type))
    )
    if numeric and is_number:
        values = np.frombuffer(
            array.buffers()[1],
            dtype=data_type.to_pandas_dtype(),
            count=array.offset + len(array),
        )[array.offset :]
        valid = None if array.null_count == 0 else np.frombuffer(array.buffers()[0], np.uint8)
        observed = None if array.null_count == len(array) else "numeric"
        return NumberColumn(values, valid, array.offset, observed)
    categorical_types = (
        pa.types.is_dictionary(data_type)
        or pa.types.is_boolean(data_type)
        or _is_string_type(data_type)
        or is_number
    )
    if numeric or not categorical_types:
        return array.to_pandas()
    if pa.types.is_dictionary(data_type):
        # a dictionary column's codes are counted straight from Arrow's buffer
        values = array.dictionary
        counts = np.bincount(_valid_codes(array), minlength=len(values))
        n_missing = array.null_count
    else:
        counted = pc.value_counts(array)
        values, counts = counted.field("values"), _as_numpy(counted.field("counts"))
        n_missing = 0
    missing_flags = values.is_null()
    if pa.types.is_floating(values.type):
        missing_flags = pc.or_(missing_flags, pc.is_nan(values).fill_null(False))
    missing = _as_bools(missing_flags)
    kept = values.filter(pc.invert(missing_flags)).to_pylist()
    return ValueCounts(
        values=kept,
        counts=counts[~missing].astype(np.int64, copy=False),
        n_missing=n_missing + int(counts[missing].sum()),
        observed_type=_observed_type(values.type) if kept else None,
    )


def _as_bools(flags: pa.BooleanArray) -> NDArray[np.bool_]:
    """A boolean Arrow array without nulls as numpy booleans."""
    return _as_numpy(pc.cast(flags, pa.uint8())).view(np.bool_)


def _as_numpy(array: pa.Array) -> NDArray[Any]:
    """A primitive Arrow array without nulls as a numpy view of its buffer (pyarrow's
    ``to_numpy`` imports pandas, which a file check otherwise never needs)."""
    return np.frombuffer(
        array.buffers()[1], dtype=array.type.to_pandas_dtype(), count=array.offset + len(array)
    )[array.offset :]


def _valid_codes(array: pa.DictionaryArray) -> NDArray[np.integer]:
    """The codes of a dictionary array's non-null values, viewed over its buffer."""
    indices = array.indices
    codes = np.frombuffer(
        indices.buffers()[1],
        dtype=indices.type.to_pandas_dtype(),
        count=indices.offset + len(indices),
    )[indices.offset :]
    if array.null_count == 0:
        return codes
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, count=array.offset + len(array), bitorder="little")[array.offset :]
    return codes[valid.view(bool)]


def _observed_type(data_type: pa.DataType) -> str:
    """The coarse type `driftmon.bins.observed_type` gives the same values in pandas."""
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return "numeric"
    return "string"


def _select_columns(available: Sequence[str], requested: list[str] | None, where: str) -> list[str]:
    if requested is None:
        return list(available)
    absent = [c for c in requested if c not in available]
    if absent:
        raise SourceError(
            f"column(s) {_quoted(absent)} not in {where}; available columns: "
            f"{', '.join(available) or '(none)'}"
        )
    return requested


def _progress_weights(sources: Sequence[Source | Partition]) -> list[int] | None:
    """File sizes for files (a share of it for some row groups of a Parquet file), row counts
    for frames; None for SQL or a mix of kinds."""
    parts = [s if isinstance(s, Partition) else Partition(s) for s in sources]
    if all(isinstance(p.source, FrameSource) for p in parts):
        return [len(p.source.frame) for p in parts]  # type: ignore[union-attr]
    if not all(isinstance(p.source, FileSource) for p in parts):
        return None
    weights = []
    file_rows: dict[Path, int] = {}
    for part in parts:
        path = part.source.path  # type: ignore[union-attr]
        size = _check_file(path, allow_empty=True).st_size
        if part.row_groups is not None and part.n_rows is not None:
            if path not in file_rows:
                file_rows[path] = _open_parquet(path).metadata.num_rows
            size = size * part.n_rows // max(file_rows[path], 1)
        weights.append(size)
    return weights


# --------------------------------------------------------------------------------------------
# Files: common checks


# --------------------------------------------------------------------------------------------
# Parquet


def _open_parquet(path: Path, read_dictionary: Sequence[str] = ()) -> pq.ParquetFile:
    """The file, read through a 1 MB buffer one batch at a time. Arrow's default pre-buffering
    (for object stores) loads a whole row group first: 0.5 s and its size in memory for a
    1M-row group on a local disk, for nothing."""
    try:
        return pq.ParquetFile(
            path,
            read_dictionary=list(read_dictionary) or None,
            pre_buffer=False,
            buffer_size=_PARQUET_BUFFER_BYTES,
        )
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            f"`{path}` is not a readable Parquet file ({exc}); check that it was written "
            f"completely, or rename it if it is in another format"
        ) from exc


def _parquet_columns(parquet: pq.ParquetFile, path: Path) -> list[str]:
    """Column names without the columns pandas stored its index in; unique."""
    schema = parquet.schema_arrow
    index_columns = {
        c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)
    }
    names = [name for name in schema.names if name not in index_columns]
    return _unique_columns(names, f"Parquet file `{path}`")


def _unique_columns(names: list[str], where: str) -> list[str]:
    """The names, if no two are the same (a repeated name would stand for two columns) and
    none holds a NUL character (no database can store one)."""
    with_nul = [name for name in names if "\x00" in name]
    if with_nul:
        raise SourceError(
            f"{where} has column name(s) {', '.join(repr(n) for n in with_nul)} with a NUL "
            "character (\\x00); rename them"
        )
    seen: set[str] = set()
    repeated = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if repeated:
        raise SourceError(
            f"{where} has more than one column named {_quoted(list(dict.fromkeys(repeated)))}; "
            "rename the columns so that each name is unique"
        )
    return names


def _read_parquet(
    path: Path,
    requested: list[str] | None,
    chunk_rows: int,
    categorical: set[str],
    row_groups: Sequence[int] | None = None,
) -> Iterator[_Chunk]:
    parquet = _open_parquet(path)
    schema = parquet.schema_arrow
    selected = _select_columns(_parquet_columns(parquet, path), requested, f"Parquet file `{path}`")
    # Dictionary-decoding string columns straight from the file keeps them as small integer
    # codes plus a few distinct values: the cheapest form to count.
    as_dictionary = [
        name
        for name in selected
        if name in categorical and _is_string_type(schema.field(name).type)
    ]
    if as_dictionary:
        parquet = _open_parquet(path, as_dictionary)
    metadata = parquet.metadata
    if row_groups is None:
        total = metadata.num_rows
    else:
        row_groups = list(row_groups)
        total = sum(metadata.row_group(group).num_rows for group in row_groups)
    read_columns = selected or _parquet_columns(parquet, path)[:1]
    done = 0
    try:
        batches = parquet.iter_batches(
            batch_size=chunk_rows, row_groups=row_groups, columns=read_columns
        )
        for batch in batches:
            for start in range(0, batch.num_rows, chunk_rows):
                piece = batch.slice(start, chunk_rows)
                done += piece.num_rows
                yield (piece if selected else piece.select([])), done, total
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(
            f"Parquet file `{path}` is malformed after row {done}: {exc}; rewrite the file"
        ) from exc


def _is_string_type(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    )


# --------------------------------------------------------------------------------------------
# CSV


class _CsvHead(NamedTuple):
    """What the first megabyte of a CSV file says: its column names, where the data rows
    start (bytes), and its longest and mean line (bytes)."""

    names: list[str]
    data_start: int
    longest_line: int
    mean_line: float


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
    header = _unique_columns(
        next(csv.reader(io.StringIO(text, newline="")), []), f"CSV file `{path}`"
    )
    header_bytes = sample.find(b"\n") + 1 or len(sample)
    if len(sample) < _CSV_SAMPLE_BYTES and not sample[header_bytes:].strip():
        raise SourceError(f"`{path}` has no data rows; check that the file was written completely")
    lines = sample[header_bytes:].split(b"\n")
    longest = max(header_bytes, *map(len, lines))
    mean = (len(sample) - header_bytes) / max(len(lines), 1)
    return _CsvHead(header, header_bytes, longest, mean)


def _read_csv(
    path: Path,
    requested: list[str] | None,
    chunk_rows: int,
    numeric: set[str],
    categorical: set[str],
) -> Iterator[_Chunk]:
    """Chunks of a CSV file (plain or gzip) read as byte segments cut at line ends, each parsed
    by Arrow's multi-threaded table reader: twice the speed of its streaming reader on two cores
    (``benchmarks/bench_check.py``). Segments hold about a chunk's rows, at most
    ``_MAX_CSV_SEGMENT`` bytes, so memory stays bounded by the chunk size. Columns hinted
    numeric are parsed as numbers, the fast way; a segment where one holds text is parsed again
    with them as text, so every chunk's column is numbers if all its values parse, else strings,
    as for any column."""
    head = _csv_head(path)
    selected = _select_columns(head.names, requested, f"CSV file `{path}`")
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
    as_text = pa_csv.ConvertOptions(
        column_types=column_types, include_columns=read_columns, strings_can_be_null=True
    )
    as_numbers = pa_csv.ConvertOptions(
        column_types=column_types | dict.fromkeys(typed, pa.float64()),
        include_columns=read_columns,
        strings_can_be_null=True,
    )
    total = path.stat().st_size
    rows_done, before = 0, 0
    for data, end, after in _csv_segments(path, head.data_start, segment_bytes):
        segment = pa.py_buffer(data)[:end]
        try:
            table = _csv_segment(path, segment, read_options, as_numbers, typed=bool(typed))
        except _TextInNumbers:
            table = _csv_segment(path, segment, read_options, as_text)
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
                parsed = _parse_csv_batch(piece, path, rows_done, numeric)
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
    if "out of sync" in message:
        message, hint = "a quoted value runs across lines", _UNBALANCED_QUOTE_HINT
    else:
        hint = "fix the file (a row with too many or too few fields, or text not in UTF-8?)"
    return SourceError(f"CSV file `{path}` is malformed: {message.rstrip('. ')}; {hint}")


def _parse_csv_batch(
    batch: pa.RecordBatch, path: Path, first_row: int, numeric: set[str]
) -> pa.RecordBatch:
    """One chunk of text columns with each column parsed as numbers or booleans where it can."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        typed = _parse_text_column(column, try_boolean=name not in numeric)
        if typed is column and not pa.types.is_floating(column.type):
            _reject_line_breaks(column, path, name, first_row)
        arrays.append(typed)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _parse_text_column(column: pa.Array, *, try_boolean: bool) -> pa.Array:
    """Numbers if every value parses as one, else booleans, else the column unchanged.

    Dictionary columns parse their (few) distinct values and keep the codes, so the result is
    the same values as without the categorical hint, only as pandas ``category`` dtype.
    """
    if pa.types.is_floating(column.type):  # read as numbers already
        return column
    if isinstance(column, pa.DictionaryArray):
        values = _parse_text_values(column.dictionary, try_boolean)
        if values is None or len(values) == 0:
            return column
        if len(pc.unique(values)) < len(values):  # "1" and "1.0" both became 1.0
            return pc.dictionary_encode(pc.take(values, column.indices))
        return pa.DictionaryArray.from_arrays(column.indices, values)
    values = _parse_text_values(column, try_boolean)
    return column if values is None else values


def _parse_text_values(strings: pa.Array, try_boolean: bool) -> pa.Array | None:
    targets = (pa.float64(), pa.bool_()) if try_boolean else (pa.float64(),)
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
    try:
        return pc.cast(strings, target)
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


# --------------------------------------------------------------------------------------------
# SQL


def _create_engine(source: SqlSource) -> sqlalchemy.Engine:
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        return sqlalchemy.create_engine(source.url)
    except (ArgumentError, ValueError, ImportError, SQLAlchemyError) as exc:
        raise SourceError(
            f"database URL `{_redact_url(source.url)}` cannot be used: {exc}; give a SQLAlchemy "
            f"URL such as `sqlite:///data.db` or `postgresql+psycopg://user@host/db` and "
            f"install its driver"
        ) from exc


def _begin_read_only(connection: sqlalchemy.Connection) -> sqlalchemy.RootTransaction:
    """A transaction that refuses writes where the database can say so; rolled back by callers."""
    transaction = connection.begin()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    return transaction


def _sql_error(source: SqlSource, exc: BaseException) -> SourceError:
    from sqlalchemy.exc import DBAPIError

    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, DBAPIError):
        cause = cause.__cause__
    detail = str(cause.orig) if isinstance(cause, DBAPIError) else str(exc).splitlines()[0]
    return SourceError(
        f"SQL query failed on `{_redact_url(source.url)}`: {detail}; check the query, its "
        f"tables and its parameters (`{source.query.strip()[:200]}`)"
    )


def _sql_columns(source: SqlSource) -> list[str]:
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    engine = _create_engine(source)
    try:
        with engine.connect() as connection:
            transaction = _begin_read_only(connection)
            try:
                result = connection.execution_options(stream_results=True).execute(
                    sqlalchemy.text(source.query), dict(source.params)
                )
                names = [str(k) for k in result.keys()]
                result.close()
            finally:
                transaction.rollback()
    except SQLAlchemyError as exc:
        raise _sql_error(source, exc) from exc
    finally:
        engine.dispose()
    return names


def _read_sql(source: SqlSource, requested: list[str] | None, chunk_rows: int) -> Iterator[_Chunk]:
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    engine = _create_engine(source)
    try:
        with engine.connect() as base_connection:
            # Server-side cursors where the driver has them: rows arrive chunk by chunk.
            connection = base_connection.execution_options(stream_results=True)
            transaction = _begin_read_only(connection)
            try:
                chunks = pd.read_sql_query(
                    sqlalchemy.text(source.query),
                    connection,
                    params=dict(source.params),
                    chunksize=chunk_rows,
                )
                selected: list[str] | None = None
                done = 0
                try:
                    for frame in chunks:
                        if selected is None:
                            available = [str(c) for c in frame.columns]
                            selected = _select_columns(available, requested, describe(source))
                        frame = _all_null_as_float(frame[selected])
                        done += len(frame)
                        yield frame, done, None
                finally:
                    chunks.close()
            finally:
                transaction.rollback()
    except SourceError:
        raise
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise _sql_error(source, exc) from exc
    finally:
        engine.dispose()


def _all_null_as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of only NULLs arrive as object dtype holding None; make them float NaN."""
    empty = [
        name
        for name in frame.columns
        if frame[name].dtype == object and bool(frame[name].isna().all())
    ]
    if not empty:
        return frame
    return frame.assign(**{name: np.full(len(frame), np.nan) for name in empty})


# --------------------------------------------------------------------------------------------
# Frames


def _read_frame(
    source: FrameSource, requested: list[str] | None, chunk_rows: int
) -> Iterator[_Chunk]:
    frame = source.frame
    names = [str(c) for c in frame.columns]
    selected = _select_columns(names, requested, describe(source))
    positions = [names.index(name) for name in selected]
    total = len(frame)
    for start in range(0, total, chunk_rows):
        piece = frame.iloc[start : start + chunk_rows, positions]
        piece.columns = selected
        yield piece, min(start + chunk_rows, total), total


# --------------------------------------------------------------------------------------------
# Messages


def _no_rows_message(source: Source) -> str:
    if isinstance(source, FileSource):
        return f"`{source.path}` has no data rows; check that the file was written completely"
    if isinstance(source, SqlSource):
        return f"{describe(source)} has no data rows; check the query's filter and parameters"
    return f"{describe(source)} has no data rows"
