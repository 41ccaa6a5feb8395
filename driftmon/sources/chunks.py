"""Reading any source in chunks: the one loop over the `Source` protocol that every reader of
driftmon goes through (counting, sampling, partitions), and the turning of Arrow record
batches into counting `Chunk`s.

Every reader streams: memory is bounded by the chunk size (``chunk_rows`` rows), not by the
size of the file or query result, because everything downstream turns a chunk into counts
that merge by addition.

Types come from the data as it arrives, so a changed type is reported by the core rather than
hidden here: Parquet keeps the file's schema; CSV is read as strings and each chunk's column is
parsed as numbers (or booleans) when every value in that chunk parses, otherwise kept as
strings. The ``categorical`` hint only changes the representation (pandas ``category`` dtype,
which counts ~20x faster), never the values or their type.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from driftmon._lazy import lazy_module
from driftmon.bins import Column, NumberColumn, ValueCounts
from driftmon.errors import ConfigError, NoRowsError, SourceError
from driftmon.options import DEFAULT_PARTITION_ROWS
from driftmon.profile import Chunk
from driftmon.sources.base import (
    DEFAULT_CHUNK_ROWS,
    Partition,
    Piece,
    Progress,
    ReadRequest,
    Source,
    checked,
    quoted,
)
from driftmon.sources.parquet_files import is_string_type
from driftmon.vocabulary import EncodedKeys

# Arrow's compute functions take 0.07 s to import; a dictionary-encoded file never needs them
pc = lazy_module("pyarrow.compute")

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")  # imported when first used: never by a file check

__all__ = ["column_names", "iter_chunks", "iter_source_chunks", "partitions", "sample_rows"]

_T = TypeVar("_T")


def column_names(source: Source) -> list[str]:
    """The source's column names, reading no data rows (Parquet schema, CSV header, SQL keys)."""
    return checked(source).columns()


def partitions(
    source: Source | Sequence[Source], target_rows: int = DEFAULT_PARTITION_ROWS
) -> list[Partition]:
    """The source(s) cut into partitions, in reading order, whose counts add up to the whole
    (see each kind's `Source.partitions`): runs of a Parquet file's row groups of at least
    ``target_rows`` rows, a CSV file, a query (or its key ranges), a frame. Reads only
    metadata."""
    if isinstance(target_rows, bool) or not isinstance(target_rows, int) or target_rows < 1:
        raise ConfigError(f"target_rows must be a positive integer, got `{target_rows}`")
    many = [source] if isinstance(source, Source) else list(source)
    parts: list[Partition] = []
    for one in many:
        for piece in checked(one).partitions(target_rows):
            parts.append(Partition(piece.source, len(parts), piece.subset, piece.n_rows))
    if not parts:
        raise SourceError("no sources given; name at least one file, folder, pattern or query")
    return parts


def iter_chunks(
    source: Source | Partition,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
    text: Collection[str] = (),
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
        numbers, then ISO 8601 timestamps (not those in ``categorical``: their text is their
        category), then booleans, then left as strings.
    text
        Columns the reference holds as text (zip codes, product codes): CSV reads them as
        strings, never parsed, so ``007`` stays ``007`` in a chunk where every value looks
        like a number.
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
    return iter_source_chunks(
        [source],
        columns=columns,
        chunk_rows=chunk_rows,
        numeric=numeric,
        categorical=categorical,
        text=text,
        on_progress=on_progress,
        as_chunks=as_chunks,
        read_ahead=read_ahead,
    )


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
    text: Collection[str] = (),
    on_progress: Progress | None = None,
    as_chunks: bool = False,
    read_ahead: bool = False,
    tagged: bool = False,
) -> Iterator[Any]:
    """Chunks of several sources or partitions one after the other (a reference spread over
    many files, a file's row groups). One without data rows among them adds nothing (an hour
    without data, an empty part of a dataset folder); all of them empty is a `NoRowsError`.

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
                source,
                columns,
                chunk_rows,
                numeric,
                categorical,
                as_chunks,
                text,
                empty_ok=len(sources) > 1,
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
        if rows_done == 0 and len(sources) > 1:  # one empty file among many adds nothing
            first = sources[0].source if isinstance(sources[0], Partition) else sources[0]
            raise NoRowsError(
                f"{checked(first).no_rows_message()} (nor have the other {len(sources) - 1})"
            )

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
    categorical: Collection[str] = (),
) -> tuple[pd.DataFrame, int]:
    """A uniform random sample of at most ``max_rows`` rows, and the total row count.

    Why: bins are fitted on a sample when the reference is larger than memory. Every row gets
    a random priority key; the rows with the ``max_rows`` smallest keys form the sample, so
    each subset of that size is equally likely. Rows whose key cannot make the cut any more are
    dropped as they stream by and the kept rows are compacted (each kept frame filtered, then
    joined) when they reach 1.25 ``max_rows``, so the work stays linear (compactions get rarer
    as the cut tightens) and peak memory is about 2.25 ``max_rows`` rows plus a chunk. The sample
    keeps the source's row order; with at most ``max_rows`` rows it is all of them. The keys do
    not depend on ``chunk_rows``, so the sample does not either. ``categorical`` names columns
    declared categorical: read as text, never parsed (a CSV's dates and codes like ``007``
    stay their text), as a check of the reference built from them reads them.

    A CSV column parsed in some chunks (only numbers, dates or booleans there) and left as text
    in others (``A12`` after 300,000 numbers), sampled rows of them or not, is text: the
    sample is drawn again, the same rows, with it read as text in every chunk, so its values
    are categories of one type rather than numbers whose text would count as missing.
    """
    if max_rows < 1:
        raise ConfigError(f"max_rows must be at least 1, got `{max_rows}`")
    sources = (
        [source_or_sources] if isinstance(source_or_sources, Source) else list(source_or_sources)
    )
    draw = functools.partial(
        _draw_sample,
        sources,
        columns=columns,
        max_rows=max_rows,
        seed=seed,
        chunk_rows=chunk_rows,
        on_progress=on_progress,
    )
    sample, n_rows, mixed = draw(categorical=categorical)
    if mixed:  # every chunk was read, sampled or not: text anywhere makes the column text
        sample, n_rows, _ = draw(categorical=[*categorical, *mixed])
    return sample, n_rows


def _draw_sample(
    sources: list[Source],
    *,
    columns: Sequence[str] | None,
    max_rows: int,
    seed: int,
    chunk_rows: int,
    on_progress: Progress | None,
    categorical: Collection[str],
) -> tuple[pd.DataFrame, int, list[str]]:
    """`sample_rows`'s one pass: the sample, the row count, and the columns that arrived as
    text in some chunks and parsed in others."""
    rng = np.random.default_rng(seed)
    text_somewhere: dict[str, None] = {}  # dicts: sets in the order columns came
    parsed_somewhere: dict[str, None] = {}
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
        sources,
        columns=columns,
        chunk_rows=chunk_rows,
        categorical=categorical,
        text=categorical,
        on_progress=on_progress,
    )
    for chunk in chunks:
        for name in chunk.columns:
            text = pd.api.types.is_string_dtype(chunk[name].dtype)
            seen = text_somewhere if text else parsed_somewhere
            seen.setdefault(name, None)
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
    both = [name for name in text_somewhere if name in parsed_somewhere]
    return sample, n_rows, [name for name in both if name not in categorical]


def _read(
    source: Source | Partition,
    columns: Sequence[str] | None,
    chunk_rows: int,
    numeric: Collection[str],
    categorical: Collection[str],
    as_chunks: bool = False,
    text: Collection[str] = (),
    *,
    empty_ok: bool = False,
) -> Iterator[Piece]:
    """Chunks with progress, row-position index, and the empty-source check (``empty_ok``:
    none, for one of many sources).

    Files are read as Arrow record batches, turned into DataFrames or, with ``as_chunks``,
    into counting `Chunk`s (`_arrow_chunk`); queries and frames come as DataFrames.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a positive integer, got `{chunk_rows}`")
    numeric, categorical = set(numeric), set(categorical)
    both = sorted(numeric & categorical)
    if both:
        raise ConfigError(
            f"column(s) {quoted(both)} are hinted both numeric and categorical; give one kind"
        )
    if isinstance(columns, str):
        columns = [columns]
    requested = None if columns is None else list(dict.fromkeys(columns))
    partition = source if isinstance(source, Partition) else Partition(checked(source))
    request = ReadRequest(
        requested, chunk_rows, frozenset(numeric), frozenset(categorical), frozenset(text)
    )
    n_rows = 0
    for piece, done, total in partition.source.read(partition, request):
        if len(piece) == 0:
            continue
        if isinstance(piece, pa.RecordBatch):
            piece = _arrow_chunk(piece, numeric) if as_chunks else piece.to_pandas()
        if not isinstance(piece, Chunk):  # a DataFrame
            piece.index = pd.RangeIndex(n_rows, n_rows + len(piece))
        n_rows += len(piece)
        yield piece, done, total
    if n_rows == 0 and partition.subset is None and not empty_ok:  # a piece may be empty
        raise NoRowsError(partition.source.no_rows_message())


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
        or is_string_type(data_type)
        or is_number
    )
    if numeric or not categorical_types:
        return array.to_pandas()
    if pa.types.is_dictionary(data_type):
        # a dictionary column's codes are counted straight from Arrow's buffer
        values = array.dictionary
        counts = np.bincount(_valid_codes(array), minlength=len(values))
        n_missing = array.null_count
        occurring = np.flatnonzero(counts)
        large = len(values) > _LARGE_DICTIONARY
        if large and occurring.size < len(values) // 2:
            # Parquet's dictionary grows batch by batch through a row group: of an ID-like
            # column's, keep only the values that occur here rather than making Python strings
            # of all of them (the take loads Arrow's compute functions, 0.07 s: not worth it
            # for an ordinary column's few categories)
            positions = pa.Array.from_buffers(
                pa.int64(), occurring.size, [None, pa.py_buffer(occurring.astype(np.int64))]
            )  # not `pa.array`, which imports pandas to ask whether this is a pandas object
            values, counts = values.take(positions), counts[occurring]
    else:
        counted = pc.value_counts(array)
        values, counts = counted.field("values"), _as_numpy(counted.field("counts"))
        n_missing = 0
        large = len(values) > _LARGE_DICTIONARY
    # nulls and NaN among the values are missing; the usual dictionary has neither, and then
    # needs no Arrow compute functions (0.07 s to import)
    if values.null_count or pa.types.is_floating(values.type):
        missing_flags = values.is_null()
        if pa.types.is_floating(values.type):
            missing_flags = pc.or_(missing_flags, pc.is_nan(values).fill_null(False))
        missing = _as_bools(missing_flags)
        n_missing += int(counts[missing].sum())
        values, counts = values.filter(pc.invert(missing_flags)), counts[~missing]
    strings = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    if large and strings and len(values):
        # an ID-like column: its keys stay UTF-8 bytes, Python strings only for a few
        return ValueCounts(
            values=_encoded_keys(values),
            counts=counts.astype(np.int64, copy=False),
            n_missing=n_missing,
            observed_type=_observed_type(values.type),
        )
    kept = values.to_pylist()
    return ValueCounts(
        values=kept,
        counts=counts.astype(np.int64, copy=False),
        n_missing=n_missing,
        observed_type=_observed_type(values.type) if kept else None,
    )


#: Distinct values of a chunk's column (a dictionary's, or Arrow's ``value_counts``) beyond
#: which they are handed over as `EncodedKeys`; a dictionary that large keys only those that
#: occur in the chunk.
_LARGE_DICTIONARY = 1 << 16


def _encoded_keys(strings: pa.Array) -> EncodedKeys:
    """A string array without nulls as `EncodedKeys` over Arrow's own buffers (no copy of the
    bytes; the offsets as int64)."""
    wide = pa.types.is_large_string(strings.type)
    _, offsets, data = strings.buffers()
    positions = np.frombuffer(
        offsets, dtype=np.int64 if wide else np.int32, count=strings.offset + len(strings) + 1
    )[strings.offset :]
    return EncodedKeys(
        np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8),
        positions.astype(np.int64),
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


def _progress_weights(sources: Sequence[Source | Partition]) -> list[int] | None:
    """Each one's share of the work in one unit (bytes of files, rows of frames); None when
    one does not know it (a query) or the units differ."""
    parts = [s if isinstance(s, Partition) else Partition(checked(s)) for s in sources]
    weights = [part.source.progress_weight(part) for part in parts]
    if any(w is None for w in weights) or len({w[0] for w in weights}) > 1:  # type: ignore[index]
        return None
    return [w[1] for w in weights]  # type: ignore[index]
