"""Where input is and what it is called: sources, their files, keys and batch times.

Everything here is cheap (paths, names, stat calls): a command can find a mistake in a path or
a batch time before it loads the libraries that read data (`driftmon.sources.read`).
"""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from driftmon.errors import ConfigError, SourceError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATA_SUFFIXES",
    "DEFAULT_CHUNK_ROWS",
    "FileSource",
    "FrameSource",
    "Partition",
    "Progress",
    "Source",
    "SqlSource",
    "batch_key",
    "batch_time",
    "batch_time_from_path",
    "describe",
    "parse_batch_time",
    "parse_source",
    "resolve_files",
]

#: File name endings read as data (case-insensitive); anything else in a folder is ignored.
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
#: Rows per chunk unless the caller says otherwise: ~100k rows x 20 columns is ~16 MB of floats.
DEFAULT_CHUNK_ROWS = 100_000
#: ``on_progress(done, total)``: units done and the total (None when unknown, as for SQL).
Progress: TypeAlias = Callable[[int, int | None], None]

_SPECIAL_FILES = {
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}

_SECRET_URL_KEYS = {"password", "passwd", "pwd", "secret", "token", "access_token", "sslpassword"}


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
        import pandas as pd

        if not isinstance(self.frame, pd.DataFrame):
            raise ConfigError(
                f"frame source `{self.name}`: expected a pandas DataFrame, "
                f"got `{type(self.frame).__name__}`"
            )

    def __repr__(self) -> str:
        rows, cols = self.frame.shape
        return f"FrameSource(name={self.name!r}, rows={rows}, columns={cols})"


Source: TypeAlias = FileSource | SqlSource | FrameSource


@dataclass(frozen=True, slots=True)
class Partition:
    """A piece of a source read and counted on its own: the unit of parallel work.

    Counting every partition of a source and adding the counts gives the source's counts
    (`driftmon.sources.partitions` makes them). ``row_groups`` selects row groups of a Parquet
    file (None: the whole source); ``n_rows`` is the partition's row count when the source
    tells it without reading (Parquet metadata, frames), and ``index`` its position.
    """

    source: Source
    index: int = 0
    row_groups: tuple[int, ...] | None = None
    n_rows: int | None = None


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
        import numpy as np
        import pandas as pd

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


def _not_a_source(value: object) -> ConfigError:
    return ConfigError(
        f"`{type(value).__name__}` is not a source; use FileSource, SqlSource or FrameSource"
    )


def _suffix_list() -> str:
    return ", ".join(f"`{s}`" for s in DATA_SUFFIXES)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)
