"""Input data behind one small contract, the `Source` protocol (key, description, batch time,
columns, partitions, reading a partition in bounded chunks), with one module per kind:
`files` (CSV and Parquet), `sql` (queries), `frames` (DataFrames from Python).

`parse_source` turns the strings of the command line and the configuration into sources: a
database URL with its query (see `driftmon.sources.sql`), else a path, folder or glob of files.
`chunks` reads any source; it loads on first use, so checking a path loads neither pandas nor
pyarrow.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from driftmon._lazy import lazy_exports
from driftmon.errors import SourceError
from driftmon.sources.base import (
    DEFAULT_CHUNK_ROWS,
    Partition,
    Progress,
    ReadRequest,
    Source,
    batch_time_from_path,
    checked,
    parse_batch_time,
)
from driftmon.sources.files import (
    DATA_SUFFIXES,
    FileSource,
    FolderSource,
    feed_folders,
    is_part_folder,
    resolve_files,
    unmarked_folders,
)
from driftmon.sources.frames import FrameSource
from driftmon.sources.sql import SqlSource, is_database_url

_READ = ["column_names", "iter_chunks", "iter_source_chunks", "partitions", "sample_rows"]

__all__ = [
    "DATA_SUFFIXES",
    "DEFAULT_CHUNK_ROWS",
    "FileSource",
    "FolderSource",
    "FrameSource",
    "Partition",
    "Progress",
    "ReadRequest",
    "Source",
    "SqlSource",
    "batch_key",
    "batch_source",
    "batch_sources",
    "batch_time",
    "batch_time_from_path",
    "column_names",
    "describe",
    "feed_folders",
    "is_part_folder",
    "iter_chunks",
    "iter_source_chunks",
    "parse_batch_time",
    "parse_source",
    "partitions",
    "resolve_files",
    "sample_rows",
    "unfinished_folders",
    "unmarked_folders",
]

__getattr__ = lazy_exports(__name__, dict.fromkeys(_READ, "driftmon.sources.chunks"))


def parse_source(spec: str | Path, *, allow_none: bool = False) -> list[Source]:
    """The sources a string names: a database URL with its query (one `SqlSource`), a folder
    of part files (one `FolderSource`: see `is_part_folder`), else the files of a path, folder
    or glob pattern (see `resolve_files`; ``allow_none``: an existing folder with no data files
    yields none rather than an error)."""
    if isinstance(spec, str) and is_database_url(spec):
        return [SqlSource.from_url(spec)]
    path = Path(spec).expanduser()
    if path.is_dir() and is_part_folder(path):
        return [FolderSource.of(path)]
    return [FileSource(path) for path in resolve_files(spec, allow_none=allow_none)]


def batch_source(spec: str | Path) -> Source:
    """The one batch a string names (`driftmon check`): a query, a file, or a folder of part
    files read as one (`FolderSource`, see `is_part_folder`).

    Raises
    ------
    SourceError
        It names several files, or a folder whose batches lie in its subfolders: the message
        says how to check one of them or all.
    """
    inner = _feed_folders(spec)
    if inner:
        raise SourceError(
            f"folder `{spec}` holds no data files directly inside it, but {len(inner)} of its "
            f"subfolders hold part files, each a batch; check one (`--source {inner[-1]}`) or "
            f"every new one (`check-new --folder {spec}`)"
        )
    found = parse_source(spec)
    if len(found) != 1:
        raise SourceError(
            f"`{spec}` matches {len(found)} files; `check` takes one batch: a file, or a "
            "folder of part files (`part-0.parquet`, ...) read as one (use `check-new "
            "--folder` for a folder of batches)"
        )
    return found[0]


def batch_sources(spec: str | Path) -> list[Source]:
    """The batches of a folder, pattern or query that `check-new` checks, in order: each data
    file directly inside the folder (or matching the pattern); a folder of part files is one
    batch (`FolderSource`), and a folder whose subfolders all hold part files (a partitioned
    feed: ``2026-11-25/part-0.parquet``, ``year=2026/month=11/day=25/part-0.parquet``) has a
    batch per subfolder, but for those still being written (`unmarked_folders`). An existing
    folder with nothing to check yields none."""
    inner = _feed_folders(spec)
    if inner:
        waiting = unmarked_folders(inner)
        return [FolderSource.of(folder) for folder in inner if folder not in waiting]
    return parse_source(spec, allow_none=True)


def unfinished_folders(spec: str | Path) -> list[Path]:
    """The folders of part files `batch_sources` leaves for a later run (`unmarked_folders`)."""
    return unmarked_folders(_feed_folders(spec))


def _feed_folders(spec: str | Path) -> list[Path]:
    if isinstance(spec, str) and is_database_url(spec):
        return []
    return feed_folders(Path(spec).expanduser())


def batch_key(source: Source, *, content_hash: bool = False) -> str:
    """A key unique per batch, so a re-run of the same batch updates its run, not duplicates it.

    Files: ``"<resolved path>|<size>|<mtime_ns>"`` (cheap; changes when the file is rewritten),
    or with ``content_hash`` ``"sha256:<hex>"`` of the bytes (stable across copies and
    touches). SQL: ``"sql:<sha256>"`` of the URL without password, the query and the sorted
    parameters. Frames: ``"frame:<sha256>"`` of the column names and the row hashes.
    """
    return checked(source).key(content_hash=content_hash)


def batch_time(source: Source) -> datetime:
    """When a batch's data was produced, as far as the source tells.

    A file: the date or date-time in its path (`batch_time_from_path`), else its modification
    time. A query or a frame: now (pass an explicit batch time for them).
    """
    return checked(source).batch_time()


def describe(source: Source) -> str:
    """A one-line human description for messages and reports; never shows a password.

    A file is described by its path as given, so the description doubles as a label.
    """
    return checked(source).describe()
