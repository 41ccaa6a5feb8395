"""Reading Parquet files: in bounded slices of their row groups, string columns the reference
knows as categorical decoded as dictionaries (small integer codes: the cheapest to count)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from driftmon.errors import SourceError
from driftmon.sources.base import Piece, ReadRequest, select_columns, unique_columns

__all__ = ["columns", "is_string_type", "read", "row_count", "row_group_runs"]

_PARQUET_BUFFER_BYTES = 1 << 20


def columns(path: Path) -> list[str]:
    """Column names of the file's schema, without the columns pandas stored its index in."""
    return _parquet_columns(_open_parquet(path), path)


def row_count(path: Path) -> int:
    return _open_parquet(path).metadata.num_rows


def row_group_runs(path: Path, target_rows: int) -> list[tuple[tuple[int, ...], int]]:
    """Consecutive row groups grouped until each run holds at least ``target_rows`` rows, with
    the rows of each run: the file's partitions."""
    metadata = _open_parquet(path).metadata
    runs: list[tuple[list[int], int]] = []
    for group in range(metadata.num_row_groups):
        if not runs or runs[-1][1] >= target_rows:
            runs.append(([], 0))
        members, rows = runs[-1]
        members.append(group)
        runs[-1] = (members, rows + metadata.row_group(group).num_rows)
    return [(tuple(members), rows) for members, rows in runs] or [((), 0)]


def read(
    path: Path, request: ReadRequest, row_groups: Sequence[int] | None = None
) -> Iterator[Piece]:
    """The file (or only ``row_groups``) as record batches of at most ``request.chunk_rows``
    rows; progress in rows."""
    chunk_rows = request.chunk_rows
    parquet = _open_parquet(path)
    schema = parquet.schema_arrow
    selected = select_columns(
        _parquet_columns(parquet, path), request.columns, f"Parquet file `{path}`"
    )
    # Dictionary-decoding string columns straight from the file keeps them as small integer
    # codes plus a few distinct values: the cheapest form to count.
    as_dictionary = [
        name
        for name in selected
        if name in request.categorical and is_string_type(schema.field(name).type)
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
    return unique_columns(names, f"Parquet file `{path}`")


def is_string_type(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    )
