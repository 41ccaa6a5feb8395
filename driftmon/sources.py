"""Reading input data in chunks: CSV (plain or gzip), Parquet, SQL queries and in-memory frames.

This is the only module that reads input. Every reader streams: memory is bounded by the chunk
size (``chunk_rows`` rows), not by the size of the file or query result, because everything
downstream turns a chunk into counts that merge by addition.

Types come from the data as it arrives, so a changed type is reported by the core rather than
hidden here: Parquet keeps the file's schema; CSV is read as strings and each chunk's column is
parsed as numbers (or booleans) when every value in that chunk parses, otherwise kept as
strings. The ``categorical`` hint only changes the representation (pandas ``category`` dtype,
which counts ~20x faster), never the values or their type.
"""

from __future__ import annotations

import csv
import errno
import glob
import gzip
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from driftmon.errors import ConfigError, SourceError

if TYPE_CHECKING:
    # Imported where SQL is used, so reading files never loads SQLAlchemy.
    import sqlalchemy

__all__ = [
    "DATA_SUFFIXES",
    "DEFAULT_CHUNK_ROWS",
    "FileSource",
    "FrameSource",
    "Progress",
    "Source",
    "SqlSource",
    "batch_key",
    "batch_time",
    "batch_time_from_path",
    "column_names",
    "describe",
    "iter_chunks",
    "iter_source_chunks",
    "parse_batch_time",
    "parse_source",
    "resolve_files",
    "sample_rows",
]

#: File name endings read as data (case-insensitive); anything else in a folder is ignored.
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
#: Rows per chunk unless the caller says otherwise: ~100k rows x 20 columns is ~16 MB of floats.
DEFAULT_CHUNK_ROWS = 100_000

#: ``on_progress(done, total)``: units done and the total (None when unknown, as for SQL).
Progress: TypeAlias = Callable[[int, int | None], None]

# CSV block sizes: large enough that no realistic row straddles two blocks (pyarrow fails on
# that), small enough to stay within a few chunks' worth of memory.
_MIN_CSV_BLOCK = 4 << 20
_MAX_CSV_BLOCK = 512 << 20
_CSV_SAMPLE_BYTES = 1 << 20
_PARSE_PROBE_ROWS = 64
_DICTIONARY_STRING = pa.dictionary(pa.int32(), pa.string())
_UNBALANCED_QUOTE_HINT = (
    'this usually means an unbalanced quote `"`: close it (values spanning lines are not '
    "supported in CSV; use Parquet for such text)"
)
_SPECIAL_FILES = {
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}
_SECRET_URL_KEYS = {"password", "passwd", "pwd", "secret", "token", "access_token", "sslpassword"}


# --------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True, slots=True)
class FileSource:
    """A CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser())


@dataclass(frozen=True, slots=True, repr=False)
class SqlSource:
    """A query against a database URL; ``params`` are bound, never formatted into the SQL.

    The repr and every message show the URL with its password redacted.
    """

    url: str
    query: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not str(self.url).strip():
            raise ConfigError("SQL source: `url` is empty; give a SQLAlchemy database URL")
        if not str(self.query).strip():
            raise ConfigError(f"SQL source on `{_redact_url(self.url)}`: `query` is empty")
        object.__setattr__(self, "params", dict(self.params))

    def __repr__(self) -> str:
        return (
            f"SqlSource(url={_redact_url(self.url)!r}, query={self.query!r}, "
            f"params={dict(self.params)!r})"
        )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FrameSource:
    """A pandas DataFrame handed in from Python code; ``name`` labels it in messages."""

    frame: pd.DataFrame
    name: str = "dataframe"

    def __post_init__(self) -> None:
        if not isinstance(self.frame, pd.DataFrame):
            raise ConfigError(
                f"frame source `{self.name}`: expected a pandas DataFrame, "
                f"got `{type(self.frame).__name__}`"
            )

    def __repr__(self) -> str:
        rows, cols = self.frame.shape
        return f"FrameSource(name={self.name!r}, rows={rows}, columns={cols})"


Source: TypeAlias = FileSource | SqlSource | FrameSource


# --------------------------------------------------------------------------------------------
# Finding files


def resolve_files(spec: str | Path) -> list[Path]:
    """The data files a path, folder or glob pattern names, in a stable (sorted) order.

    A folder yields the data files directly inside it (see `DATA_SUFFIXES`), sorted by name, so
    batch files named by date come out in chronological order; hidden files are skipped. A glob
    pattern (``*``, ``?``, ``[``; ``**`` recurses) yields its matching data files sorted by path.

    Raises
    ------
    SourceError
        The path does not exist, a folder or pattern holds no data files, or a file's
        extension is not one driftmon reads.
    """
    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.is_file() and _is_data_file(p)),
            key=lambda p: p.name,
        )
        if not files:
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
        files = [m for m in matches if m.is_file() and _is_data_file(m)]
        if not files:
            raise SourceError(
                f"pattern `{text}` matches no data files ({len(matches)} other paths matched); "
                f"driftmon reads files ending in {_suffix_list()}"
            )
        return files
    raise SourceError(
        f"`{path}` does not exist; check the path (relative paths start at `{Path.cwd()}`)"
    )


def parse_source(spec: str | Path) -> list[FileSource]:
    """File sources for a path, folder or glob pattern (see `resolve_files`)."""
    return [FileSource(path) for path in resolve_files(spec)]


# --------------------------------------------------------------------------------------------
# Identity and description


def batch_key(source: Source, *, content_hash: bool = False) -> str:
    """A key unique per batch, so a re-run of the same batch updates its run, not duplicates it.

    Files: ``"<resolved path>|<size>|<mtime_ns>"`` (cheap; changes when the file is rewritten),
    or with ``content_hash`` ``"sha256:<hex>"`` of the bytes (stable across copies and
    touches). SQL: ``"sql:<sha256>"`` of the URL without password, the query and the sorted
    parameters. Frames: ``"frame:<sha256>"`` of the column names and the row hashes.
    """
    if isinstance(source, FileSource):
        path = source.path
        # An empty file still gets a key: its failed run is recorded, and rewriting it
        # changes the key.
        info = _check_file(path, allow_empty=True)
        if content_hash:
            return "sha256:" + _file_sha256(path)
        return f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}"
    if isinstance(source, SqlSource):
        identity = [
            _redact_url(source.url),
            source.query,
            sorted((str(k), v) for k, v in source.params.items()),
        ]
        encoded = json.dumps(identity, default=str, sort_keys=True).encode()
        return "sql:" + hashlib.sha256(encoded).hexdigest()
    if isinstance(source, FrameSource):
        digest = hashlib.sha256(json.dumps([str(c) for c in source.frame.columns]).encode())
        row_hashes = pd.util.hash_pandas_object(source.frame, index=False)
        digest.update(np.ascontiguousarray(row_hashes.to_numpy()).tobytes())
        return "frame:" + digest.hexdigest()
    raise _not_a_source(source)


_DATE_IN_PATH = re.compile(
    r"""(?<![0-9])
    (?:
        (?P<y1>\d{4})-(?P<m1>\d{2})-(?P<d1>\d{2})              # 2026-11-25
        (?:[T_ ](?P<h1>\d{2})(?::?(?P<n1>\d{2})(?::?(?P<s1>\d{2}))?)?)?   # T13, T13:45, _134501
      | (?P<y2>\d{4})(?P<m2>\d{2})(?P<d2>\d{2})                 # 20261125
        (?:T?(?P<h2>\d{2})(?:(?P<n2>\d{2})(?P<s2>\d{2})?)?)?    # 20261125T13, 202611251345
      | (?:year=)?(?P<y3>\d{4})/(?:month=)?(?P<m3>\d{2})/(?:day=)?(?P<d3>\d{2})(?=/)
        (?:/(?:hour=)?(?P<h3>\d{2})(?=/))?                        # 2026/11/25/[13/], hive
    )
    (?![0-9])""",
    re.VERBOSE,
)


def batch_time_from_path(path: str | Path) -> datetime | None:
    """The date or date-time a batch's path names, as UTC; None when it names none.

    Recognised anywhere in the path, the last (innermost) match winning: ``2026-11-25``,
    ``2026-11-25T13``, ``2026-11-25T13:45[:10]``, ``2026-11-25_1345``, ``20261125``,
    ``20261125T13``, ``202611251345``, and folders ``2026/11/25/`` (optionally ``/13/``) or
    ``year=2026/month=11/day=25/``. Impossible dates (``2026-13-45``) are not dates.

    Examples
    --------
    >>> batch_time_from_path("incoming/orders_2026-11-25.csv").isoformat()
    '2026-11-25T00:00:00+00:00'
    >>> batch_time_from_path("feeds/2026/11/25/part-0.parquet").isoformat()
    '2026-11-25T00:00:00+00:00'
    >>> batch_time_from_path("dump_20261125T13.csv.gz").isoformat()
    '2026-11-25T13:00:00+00:00'
    >>> batch_time_from_path("batch_07.csv") is None
    True
    """
    found = None
    for match in _DATE_IN_PATH.finditer(str(path).replace("\\", "/")):
        parts = match.groupdict()
        for group in "123":
            if parts[f"y{group}"] is None:
                continue
            try:
                found = datetime(
                    int(parts[f"y{group}"]),
                    int(parts[f"m{group}"]),
                    int(parts[f"d{group}"]),
                    int(parts.get(f"h{group}") or 0),
                    int(parts.get(f"n{group}") or 0),
                    int(parts.get(f"s{group}") or 0),
                    tzinfo=UTC,
                )
            except ValueError:
                pass
    return found


def parse_batch_time(text: str) -> datetime:
    """An ISO 8601 date or date-time given by a person (``--batch-time``), as aware UTC.

    A time without a zone is taken as UTC.

    Raises
    ------
    ConfigError
        The text is not an ISO 8601 date or date-time.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"batch time `{text}` is not an ISO 8601 date or date-time; write e.g. "
            "`2026-11-25` or `2026-11-25T13:00:00+01:00`"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def batch_time(source: Source) -> datetime:
    """When a batch's data was produced, as far as the source tells.

    A file: the date or date-time in its path (`batch_time_from_path`), else its modification
    time. A query or a frame: now (pass an explicit batch time for them).
    """
    if isinstance(source, FileSource):
        named = batch_time_from_path(source.path)
        if named is not None:
            return named
        info = _check_file(source.path, allow_empty=True)
        return datetime.fromtimestamp(info.st_mtime, UTC)
    return datetime.now(UTC)


def describe(source: Source) -> str:
    """A one-line human description for messages and reports; never shows a password.

    A file is described by its path as given, so the description doubles as a label.
    """
    if isinstance(source, FileSource):
        return str(source.path)
    if isinstance(source, SqlSource):
        query = " ".join(source.query.split())
        if len(query) > 80:
            query = query[:77] + "..."
        return f"SQL query `{query}` on `{_redact_url(source.url)}`"
    if isinstance(source, FrameSource):
        rows, cols = source.frame.shape
        return f"data frame `{source.name}` ({rows} rows x {cols} columns)"
    raise _not_a_source(source)


def column_names(source: Source) -> list[str]:
    """The source's column names, reading no data rows (Parquet schema, CSV header, SQL keys)."""
    if isinstance(source, FileSource):
        path = source.path
        _check_file(path)
        if _file_format(path) == "parquet":
            return _parquet_columns(_open_parquet(path), path)
        return _csv_head(path)[0]
    if isinstance(source, SqlSource):
        return _sql_columns(source)
    if isinstance(source, FrameSource):
        return [str(c) for c in source.frame.columns]
    raise _not_a_source(source)


# --------------------------------------------------------------------------------------------
# Chunks


def iter_chunks(
    source: Source,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
    on_progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a source as DataFrames of at most ``chunk_rows`` rows.

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

    Yields
    ------
    DataFrame
        A chunk indexed by row position in the source; empty chunks are never yielded.

    Raises
    ------
    SourceError
        The file is missing, unreadable, malformed or has no data rows, a requested column
        does not exist, or the query fails.
    """
    for frame, done, total in _read(source, columns, chunk_rows, numeric, categorical):
        if on_progress is not None:
            on_progress(done, total)
        yield frame


def iter_source_chunks(
    sources: Sequence[Source],
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    numeric: Collection[str] = (),
    categorical: Collection[str] = (),
    on_progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """Chunks of several sources one after the other (a reference spread over many files).

    Chunks never span two sources. Progress counts bytes over all files (each file's progress
    scaled to its size), rows over all frames, and rows with an unknown total otherwise.
    Each chunk's index is the row position within its own source.
    """
    sources = list(sources)
    if not sources:
        raise SourceError("no sources given; name at least one file, folder, pattern or query")
    if len(sources) == 1:
        yield from iter_chunks(
            sources[0],
            columns=columns,
            chunk_rows=chunk_rows,
            numeric=numeric,
            categorical=categorical,
            on_progress=on_progress,
        )
        return
    weights = _progress_weights(sources)
    total = None if weights is None else sum(weights)
    finished_weight = 0
    rows_done = 0
    for position, source in enumerate(sources):
        for frame, done, source_total in _read(source, columns, chunk_rows, numeric, categorical):
            rows_done += len(frame)
            if on_progress is None:
                yield frame
                continue
            if weights is None:
                on_progress(rows_done, None)
            else:
                fraction = done / source_total if source_total else 1.0
                on_progress(finished_weight + round(weights[position] * fraction), total)
            yield frame
        if weights is not None:
            finished_weight += weights[position]


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
    dropped as they stream by and the kept rows are compacted only when they reach twice
    ``max_rows``, so the work is linear and peak memory about ``2 * max_rows`` rows. The sample
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
        frame = pd.concat(kept_frames, ignore_index=True)
        keys = np.concatenate(kept_keys)
        positions = np.concatenate(kept_positions)
        if len(keys) > max_rows:
            smallest = np.argpartition(keys, max_rows - 1)[:max_rows]
            frame, keys, positions = frame.take(smallest), keys[smallest], positions[smallest]
            threshold = float(keys.max())
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
        if n_kept >= 2 * max_rows:
            compact()
    compact()
    order = np.argsort(kept_positions[0], kind="stable")
    sample = kept_frames[0].take(order).reset_index(drop=True)
    return sample, n_rows


# --------------------------------------------------------------------------------------------
# Dispatch

_Chunk: TypeAlias = tuple[pd.DataFrame, int, int | None]


def _read(
    source: Source,
    columns: Sequence[str] | None,
    chunk_rows: int,
    numeric: Collection[str],
    categorical: Collection[str],
) -> Iterator[_Chunk]:
    """Chunks with progress, row-position index, and the empty-source check."""
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
    if isinstance(source, FileSource):
        _check_file(source.path)
        if _file_format(source.path) == "parquet":
            chunks = _read_parquet(source.path, requested, chunk_rows, categorical)
        else:
            chunks = _read_csv(source.path, requested, chunk_rows, numeric, categorical)
    elif isinstance(source, SqlSource):
        chunks = _read_sql(source, requested, chunk_rows)
    elif isinstance(source, FrameSource):
        chunks = _read_frame(source, requested, chunk_rows)
    else:
        raise _not_a_source(source)
    n_rows = 0
    for frame, done, total in chunks:
        if len(frame) == 0:
            continue
        frame.index = pd.RangeIndex(n_rows, n_rows + len(frame))
        n_rows += len(frame)
        yield frame, done, total
    if n_rows == 0:
        raise SourceError(_no_rows_message(source))


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


def _progress_weights(sources: Sequence[Source]) -> list[int] | None:
    """File sizes for files, row counts for frames; None for SQL or a mix of kinds."""
    files = [s for s in sources if isinstance(s, FileSource)]
    frames = [s for s in sources if isinstance(s, FrameSource)]
    if len(files) == len(sources):
        return [_check_file(f.path, allow_empty=True).st_size for f in files]
    if len(frames) == len(sources):
        return [len(f.frame) for f in frames]
    return None


# --------------------------------------------------------------------------------------------
# Files: common checks


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return not name.startswith(".") and name.endswith(DATA_SUFFIXES)


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


# --------------------------------------------------------------------------------------------
# Parquet


def _open_parquet(path: Path, read_dictionary: Sequence[str] = ()) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path, read_dictionary=list(read_dictionary) or None)
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
    """The names, if no two are the same: a repeated name would stand for two columns."""
    seen: set[str] = set()
    repeated = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if repeated:
        raise SourceError(
            f"{where} has more than one column named {_quoted(list(dict.fromkeys(repeated)))}; "
            "rename the columns so that each name is unique"
        )
    return names


def _read_parquet(
    path: Path, requested: list[str] | None, chunk_rows: int, categorical: set[str]
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
    total = parquet.metadata.num_rows
    read_columns = selected or _parquet_columns(parquet, path)[:1]
    done = 0
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=read_columns):
            for start in range(0, batch.num_rows, chunk_rows):
                piece = batch.slice(start, chunk_rows)
                frame = piece.to_pandas()
                done += piece.num_rows
                yield (frame if selected else frame.iloc[:, :0]), done, total
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


def _csv_head(path: Path) -> tuple[list[str], float]:
    """The header's column names and the mean bytes per data row in the first megabyte."""
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
    data_lines = sample.count(b"\n") - 1
    row_bytes = (len(sample) - header_bytes) / data_lines if data_lines > 0 else len(sample)
    return header, max(row_bytes, 1.0)


def _read_csv(
    path: Path,
    requested: list[str] | None,
    chunk_rows: int,
    numeric: set[str],
    categorical: set[str],
) -> Iterator[_Chunk]:
    header, row_bytes = _csv_head(path)
    selected = _select_columns(header, requested, f"CSV file `{path}`")
    read_columns = selected or header[:1]
    block_size = int(min(max(row_bytes * chunk_rows * 1.1, _MIN_CSV_BLOCK), _MAX_CSV_BLOCK))
    # Every column is read as text and parsed per chunk below: pyarrow infers types from the
    # first block only and fails on a later block that does not fit (ints then "1.5").
    convert = pa_csv.ConvertOptions(
        column_types={
            name: _DICTIONARY_STRING if name in categorical else pa.string()
            for name in read_columns
        },
        include_columns=read_columns,
        strings_can_be_null=True,
    )
    total = path.stat().st_size
    raw = pa.OSFile(str(path), "r")
    try:
        stream = pa.CompressedInputStream(raw, "gzip") if path.name.lower().endswith(".gz") else raw
        batches = _csv_batches(path, stream, block_size, convert)
        current = next(batches, None)
        position = raw.tell()
        start_bytes = 0
        rows_done = 0
        while current is not None:
            following = next(batches, None)
            end_bytes = total if following is None else min(position, total)
            for start in range(0, current.num_rows, chunk_rows):
                piece = current.slice(start, chunk_rows)
                frame = _csv_frame(piece, path, rows_done, numeric)
                rows_done += piece.num_rows
                through = (start + piece.num_rows) / current.num_rows
                done = start_bytes + round((end_bytes - start_bytes) * through)
                yield (frame if selected else frame.iloc[:, :0]), done, total
            start_bytes = end_bytes
            position = raw.tell()
            current = following
    finally:
        raw.close()


def _csv_batches(
    path: Path, stream: pa.NativeFile, block_size: int, convert: pa_csv.ConvertOptions
) -> Iterator[pa.RecordBatch]:
    try:
        reader = pa_csv.open_csv(
            stream, read_options=pa_csv.ReadOptions(block_size=block_size), convert_options=convert
        )
        yield from reader
    except (pa.ArrowException, OSError) as exc:
        message = str(exc)
        if message.startswith("Empty CSV file"):
            raise SourceError(
                f"CSV file `{path}` is empty; write a header line and data rows"
            ) from exc
        if "out of sync" in message:
            message, hint = "a quoted value runs across lines", _UNBALANCED_QUOTE_HINT
        else:
            hint = "fix the file (a row with too many or too few fields, or text not in UTF-8?)"
        raise SourceError(
            f"CSV file `{path}` is malformed: {message.rstrip('. ')}; {hint}"
        ) from exc


def _csv_frame(
    batch: pa.RecordBatch, path: Path, first_row: int, numeric: set[str]
) -> pd.DataFrame:
    """One chunk of text columns with each column parsed as numbers or booleans where it can."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        typed = _parse_text_column(column, try_boolean=name not in numeric)
        if typed is column:
            _reject_line_breaks(column, path, name, first_row)
        arrays.append(typed)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names).to_pandas()


def _parse_text_column(column: pa.Array, *, try_boolean: bool) -> pa.Array:
    """Numbers if every value parses as one, else booleans, else the column unchanged.

    Dictionary columns parse their (few) distinct values and keep the codes, so the result is
    the same values as without the categorical hint, only as pandas ``category`` dtype.
    """
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


def _redact_url(url: str) -> str:
    """The URL with its password (and password-like query arguments) replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))
    query = {
        key: ("***" if key.lower() in _SECRET_URL_KEYS else value)
        for key, value in parsed.query.items()
    }
    return parsed.set(query=query).render_as_string(hide_password=True)


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


def _not_a_source(value: object) -> ConfigError:
    return ConfigError(
        f"`{type(value).__name__}` is not a source; use FileSource, SqlSource or FrameSource"
    )


def _suffix_list() -> str:
    return ", ".join(f"`{s}`" for s in DATA_SUFFIXES)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)
