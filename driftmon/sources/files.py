"""Files: CSV (``.csv``, ``.csv.gz``) and Parquet (``.parquet``, ``.pq``), one at a time or a
folder or glob of them.

Finding files and their keys and batch times is cheap (paths, names, stat calls); the readers
(`driftmon.sources.csv_files`, `driftmon.sources.parquet_files`) load pyarrow when a file is
first read.
"""

from __future__ import annotations

import errno
import functools
import glob
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from driftmon.errors import SourceError
from driftmon.formatting import is_part_file
from driftmon.sources.base import Partition, Piece, ReadRequest, batch_time_from_path

__all__ = [
    "DATA_SUFFIXES",
    "SUCCESS_MARKER",
    "FileSource",
    "FolderSource",
    "data_folders",
    "feed_folders",
    "holds_data_files",
    "is_part_folder",
    "resolve_files",
    "unmarked_folders",
]

#: The file Spark (and Hadoop's committers) write into a dataset folder once it is complete.
SUCCESS_MARKER = "_SUCCESS"

#: File name endings read as data (case-insensitive); anything else in a folder is ignored.
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")

_SPECIAL_FILES = {
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


@dataclass(frozen=True, slots=True)
class FileSource:
    """A CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser())

    @property
    def format(self) -> Literal["csv", "parquet"]:
        return _file_format(self.path)

    def key(self, *, content_hash: bool = False) -> str:
        """``"<resolved path>|<size>|<mtime_ns>"`` (cheap; changes when the file is
        rewritten), or with ``content_hash`` ``"sha256:<hex>"`` of the bytes (stable across
        copies and touches). An empty file still gets a key: its failed run is recorded, and
        rewriting it changes the key."""
        info = _check_file(self.path, allow_empty=True)
        if content_hash:
            return "sha256:" + _file_sha256(self.path)
        return f"{self.path.resolve()}|{info.st_size}|{info.st_mtime_ns}"

    def describe(self) -> str:
        """The path as given, so the description doubles as a label."""
        return str(self.path)

    def batch_time(self) -> datetime:
        """The date or date-time in the path (`batch_time_from_path`), else the modification
        time."""
        named = batch_time_from_path(self.path)
        if named is not None:
            return named
        info = _check_file(self.path, allow_empty=True)
        return datetime.fromtimestamp(info.st_mtime, UTC)

    def columns(self) -> list[str]:
        _check_file(self.path)
        if self.format == "parquet":
            from driftmon.sources import parquet_files

            return parquet_files.columns(self.path)
        from driftmon.sources import csv_files

        return csv_files.columns(self.path)

    def partitions(self, target_rows: int) -> list[Partition]:
        """A Parquet file: runs of row groups of at least ``target_rows`` rows (one for a file
        of one row group); a CSV file: itself (a gzip stream cannot be entered midway)."""
        _check_file(self.path)
        # absolute, for a worker elsewhere: its working folder is not this process's
        source = FileSource(self.path.absolute())
        if self.format != "parquet":
            return [Partition(source)]
        from driftmon.sources import parquet_files

        groups = parquet_files.row_group_runs(source.path, target_rows)
        if len(groups) == 1:
            return [Partition(source, n_rows=groups[0][1])]
        return [Partition(source, subset=run, n_rows=n) for run, n in groups]

    def read(self, partition: Partition, request: ReadRequest) -> Iterator[Piece]:
        _check_file(self.path)
        if self.format == "parquet":
            from driftmon.sources import parquet_files

            return parquet_files.read(self.path, request, partition.subset)
        from driftmon.sources import csv_files

        return csv_files.read(self.path, request)

    def progress_weight(self, partition: Partition) -> tuple[str, int] | None:
        """The file's size in bytes, or its share by rows for some of its row groups."""
        size = _check_file(self.path, allow_empty=True).st_size
        if partition.subset is not None and partition.n_rows is not None:
            from driftmon.sources import parquet_files

            size = size * partition.n_rows // max(parquet_files.row_count(self.path), 1)
        return "bytes", size

    def no_rows_message(self) -> str:
        return f"`{self.path}` has no data rows; check that the file was written completely"

    def holds_rows(self) -> bool:
        """Whether the file has data rows: a Parquet file's metadata, a CSV file's first
        megabyte (an empty part of a dataset folder, even of 0 bytes, is no data, not an
        error)."""
        if _check_file(self.path, allow_empty=True).st_size == 0:
            return False
        if self.format == "parquet":
            from driftmon.sources import parquet_files

            return parquet_files.row_count(self.path) > 0
        from driftmon.sources import csv_files

        return csv_files.holds_rows(self.path)


@dataclass(frozen=True)
class FolderSource:
    """The data files directly inside one folder, read as one batch: a dataset folder that
    Spark, Dask or pyarrow wrote as parts (``2026-11-25/part-0.parquet``, ...; see
    `is_part_folder`). Its files are read in name order; parts without data rows (Spark
    writes some) add nothing. Make one with `FolderSource.of`: cheap (a folder listing, and
    stat calls for its key), so a feed's every folder can be listed; which parts hold rows,
    and their common columns, are read once, when first needed."""

    folder: Path
    files: tuple[FileSource, ...]

    @classmethod
    def of(cls, folder: str | Path) -> FolderSource:
        """The folder's data files (see `resolve_files`), found now."""
        folder = Path(folder).expanduser()
        return cls(folder, tuple(FileSource(path) for path in resolve_files(folder)))

    def _stats(self) -> list[os.stat_result]:
        return [_check_file(file.path, allow_empty=True) for file in self.files]

    def key(self, *, content_hash: bool = False) -> str:
        """``"<resolved folder>/|<bytes of its files>|<newest mtime_ns>"``: a file added to
        the folder or rewritten makes it a new batch; with ``content_hash`` ``"sha256:<hex>"``
        over its files' names and bytes."""
        stats = self._stats()
        if content_hash:
            digest = hashlib.sha256()
            for file in self.files:
                digest.update(f"{file.path.name}\0{_file_sha256(file.path)}\0".encode())
            return "sha256:" + digest.hexdigest()
        size = sum(info.st_size for info in stats)
        newest = max(info.st_mtime_ns for info in stats)
        return f"{self.folder.resolve()}/|{size}|{newest}"

    def describe(self) -> str:
        """The folder as given, with a trailing ``/``."""
        return f"{str(self.folder).rstrip('/')}/"

    def batch_time(self) -> datetime:
        """The date or date-time in the folder's path, else its newest file's modification
        time."""
        named = batch_time_from_path(f"{self.folder.absolute()}/")  # `.` in a day folder
        if named is not None:
            return named
        newest = max(info.st_mtime for info in self._stats())
        return datetime.fromtimestamp(newest, UTC)

    def columns(self) -> list[str]:
        """The first part's columns; every part must have them (see `_columns`)."""
        return list(self._columns)

    @functools.cached_property
    def _columns(self) -> tuple[str, ...]:
        """The first part's columns, checked against every other part's (a folder's parts
        share one schema: one lacking a column would count its rows as missing there)."""
        parts = self._parts
        first = parts[0].columns()
        for other in parts[1:]:
            has = set(other.columns())
            lacking = [name for name in first if name not in has]
            if lacking:
                raise SourceError(
                    f"parts of folder `{self.folder}` differ in their columns: "
                    f"`{other.path.name}` lacks {', '.join(f'`{n}`' for n in lacking)}, which "
                    f"`{parts[0].path.name}` has; its rows would count as missing values "
                    "there. Rewrite the folder with one schema"
                )
        return tuple(first)

    @functools.cached_property
    def _parts(self) -> tuple[FileSource, ...]:
        """The files with data rows; the first file when none has any (reading it says so)."""
        return tuple(file for file in self.files if file.holds_rows()) or self.files[:1]

    def partitions(self, target_rows: int) -> list[Partition]:
        """Every file's partitions, in name order (see `FileSource.partitions`)."""
        return [part for file in self._parts for part in file.partitions(target_rows)]

    def read(self, partition: Partition, request: ReadRequest) -> Iterator[Piece]:
        """A file's partition, or with the folder's own partition every file in turn, with
        progress in bytes over the folder."""
        if partition.source is not self:
            return partition.source.read(partition, request)
        return self._read_all(request)

    def _read_all(self, request: ReadRequest) -> Iterator[Piece]:
        files = self._parts
        sizes = [max(_check_file(file.path).st_size, 1) for file in files]
        total, before = sum(sizes), 0
        for file, size in zip(files, sizes, strict=True):
            for piece, done, file_total in file.read(Partition(file), request):
                share = done / file_total if file_total else 1.0
                yield piece, before + round(size * min(share, 1.0)), total
            before += size

    def progress_weight(self, partition: Partition) -> tuple[str, int] | None:
        if partition.source is not self:
            return partition.source.progress_weight(partition)
        return "bytes", sum(info.st_size for info in self._stats())

    def no_rows_message(self) -> str:
        return (
            f"folder `{self.folder}` has no data rows in its {len(self.files)} files; check "
            "that they were written completely"
        )

    def lacks_marker(self) -> bool:
        """Whether the folder has no `SUCCESS_MARKER` while folders beside it have one: its
        writer may not have finished (`check` says so; `check-new` waits for it)."""
        folder = self.folder.absolute()
        if (folder / SUCCESS_MARKER).is_file():
            return False
        return any(
            (sibling / SUCCESS_MARKER).is_file()
            for sibling in folder.parent.iterdir()
            if sibling != folder and sibling.is_dir()
        )


def holds_data_files(folder: Path) -> bool:
    """Whether ``folder`` holds data files directly (see `resolve_files`)."""
    return bool(_data_files(folder))


def is_part_folder(folder: Path) -> bool:
    """Whether ``folder`` holds data files directly and all are parts (`is_part_file`): what
    Spark, Dask and pyarrow write for one dataset, read as one batch."""
    files = _data_files(folder)
    return bool(files) and all(is_part_file(path.name) for path in files)


def _data_files(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.is_file() and _is_data_file(path)]


def feed_folders(folder: Path) -> list[Path]:
    """For a folder with no data files directly inside it, the folders under it that hold
    data (`data_folders`) if each holds part files: a partitioned feed, a batch per folder;
    else none."""
    if not folder.is_dir() or holds_data_files(folder):
        return []
    found = data_folders(folder)
    return found if all(is_part_folder(inner) for inner in found) else []


def unmarked_folders(folders: list[Path]) -> list[Path]:
    """Of a feed's folders, those still being written: where the writer marks the folders it
    finished with `SUCCESS_MARKER` (Spark), those without it (or left by a job that failed);
    none where no folder has the marker (pyarrow, Dask)."""
    marked = {folder for folder in folders if (folder / SUCCESS_MARKER).is_file()}
    return [folder for folder in folders if folder not in marked] if marked else []


def data_folders(folder: str | Path) -> list[Path]:
    """The folders under ``folder`` that hold data files directly, sorted by path with numbers
    as numbers (so dates and hive ``month=9``, ``month=10`` folders come out in order);
    folders named ``.name`` or ``_name`` (Spark's ``_temporary``) and their contents are left
    out; links to folders are followed (each folder once)."""
    found, seen = [], set()
    for root, subfolders, files in os.walk(Path(folder).expanduser(), followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = [name for name in subfolders if not name.startswith((".", "_"))]
        if any(_is_data_file(path) and path.is_file() for path in map(Path(root).joinpath, files)):
            found.append(Path(root))
    return sorted(found, key=_natural_key)


def _natural_key(path: Path) -> list[tuple[int, int | str]]:
    """Sorts ``month=9`` before ``month=10``: runs of digits compare as numbers."""
    return [
        (0, int(piece)) if piece.isdigit() else (1, piece)
        for piece in re.split(r"(\d+)", str(path))
        if piece
    ]


def resolve_files(spec: str | Path, *, allow_none: bool = False) -> list[Path]:
    """The data files a path, folder or glob pattern names, in a stable (sorted) order.

    A folder yields the data files directly inside it (see `DATA_SUFFIXES`), sorted by name, so
    batch files named by date come out in chronological order; hidden files (``.name``) and
    those Spark and Hive mark as not data (``_name``: ``_SUCCESS``, temporary parts) are
    skipped. A folder without data files but with subfolders that hold some is an error even
    with ``allow_none`` (a partitioned feed, ``year=2026/month=11/...``): the error gives the
    pattern that names them. A glob
    pattern (``*``, ``?``, ``[``; ``**`` recurses) yields its matching data files sorted by path.

    ``allow_none``: an existing folder with no data files, or a pattern whose folder exists but
    that matches none, yields no files instead of an error: an inbox of batches is empty at
    times (a job that moves checked files away empties it).

    Raises
    ------
    SourceError
        The path does not exist, a folder or pattern holds no data files (unless
        ``allow_none``), or a file's extension is not one driftmon reads.
    """
    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        files = sorted(_data_files(path), key=lambda p: p.name)
        if not files:
            nested = next(
                (
                    p
                    for p in path.rglob("*")
                    if p.is_file() and _is_data_file(p) and not _hidden_below(p, path)
                ),
                None,
            )
            if nested is not None:
                suffix = next(s for s in DATA_SUFFIXES if nested.name.lower().endswith(s))
                pattern = path / "**" / f"*{suffix}"
                raise SourceError(
                    f"folder `{path}` holds no data files directly inside it, but its subfolders "
                    f"do (`{nested}`); name them with a pattern, `'{pattern}'` (quoted, so "
                    "that driftmon expands it)"
                )
            if not allow_none:
                raise SourceError(
                    f"folder `{path}` holds no data files; driftmon reads files ending in "
                    f"{_suffix_list()} directly inside the folder (subfolders are not searched)"
                )
        return files
    if path.exists():
        _file_format(path)
        return [path]
    if path.is_symlink():
        _check_file(path)  # a symlink loop or a link to nothing: says which
    if any(char in text for char in "*?["):
        pattern = os.path.expanduser(text)
        matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
        searched = _pattern_folder(pattern)
        files = [
            m
            for m in matches
            if m.is_file() and _is_data_file(m) and not _hidden_below(m, searched)
        ]
        if not files and not (allow_none and _pattern_folder(pattern).is_dir()):
            hidden = sum(_is_data_file(m) and _hidden_below(m, searched) for m in matches)
            skipped = (
                f", {hidden} of them in folders whose names start with `_` or `.` (a write in "
                "progress, such as Spark's `_temporary`), which driftmon skips"
                if hidden
                else ""
            )
            raise SourceError(
                f"pattern `{text}` matches no data files ({len(matches)} other paths matched"
                f"{skipped}); driftmon reads files ending in {_suffix_list()}"
            )
        return files
    raise SourceError(
        f"`{path}` does not exist; check the path (relative paths start at `{Path.cwd()}`)"
    )


def _pattern_folder(pattern: str) -> Path:
    """The folder a glob pattern searches from: its leading parts without wildcards."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
    return Path(*parts[:fixed]) if fixed else Path(".")


def _hidden_below(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in a folder under ``folder`` named ``.name`` or ``_name``: a
    write in progress (Spark's ``_temporary``), not data."""
    try:
        inner = path.relative_to(folder).parts[:-1]
    except ValueError:
        return False
    return any(part.startswith((".", "_")) for part in inner)


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return not name.startswith((".", "_")) and name.endswith(DATA_SUFFIXES)


def _file_format(path: Path) -> Literal["csv", "parquet"]:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise SourceError(
        f"`{path}` has an unsupported extension; driftmon reads files ending in "
        f"{_suffix_list()} (rename the file if it is one of these formats)"
    )


def _check_file(path: Path, *, allow_empty: bool = False) -> os.stat_result:
    """The file's stat, or a SourceError saying why it cannot be read."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        if path.is_symlink():
            raise SourceError(
                f"`{path}` is a symbolic link to `{os.readlink(path)}`, which does not exist; "
                "fix or remove the link"
            ) from exc
        raise SourceError(
            f"`{path}` does not exist; check the path (relative paths start at `{Path.cwd()}`)"
        ) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceError(
                f"`{path}` is a symbolic link that loops back on itself; point it at a file"
            ) from exc
        raise SourceError(f"`{path}` cannot be accessed: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise SourceError(f"`{path}` is a folder; read it with `resolve_files` / `parse_source`")
    if not stat.S_ISREG(info.st_mode):
        kind = _SPECIAL_FILES.get(stat.S_IFMT(info.st_mode), "special file")
        raise SourceError(
            f"`{path}` is a {kind}, not a regular file; driftmon reads data files "
            "(write the data to a file first)"
        )
    if not os.access(path, os.R_OK):
        raise SourceError(
            f"`{path}` cannot be read: permission denied; grant read permission "
            f"(e.g. `chmod a+r {path}`)"
        )
    if info.st_size == 0 and not allow_empty:
        raise SourceError(f"`{path}` is empty (0 bytes); check that it was written completely")
    return info


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SourceError(f"`{path}` cannot be read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _suffix_list() -> str:
    return ", ".join(f"`{s}`" for s in DATA_SUFFIXES)
