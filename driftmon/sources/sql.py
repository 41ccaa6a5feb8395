"""Queries: a SQLAlchemy database URL and a query whose parameters are bound, never formatted
into the SQL; read read-only, streamed in chunks, optionally cut into key ranges.

As a string (the command line, the configuration): the database URL with the query in its
``query`` argument, each bound parameter as ``param.NAME``, and optionally ``partition_by`` (a
numeric key column to cut the query into ranges of about ``partition_rows`` rows)::

    "postgresql+psycopg://reader@db/sales?query=SELECT * FROM orders WHERE day = :day"
    "&param.day=2026-11-25"      (one string; split here to fit)

(``%XX`` escapes are decoded; write ``&`` and ``%`` inside the query as ``%26`` and ``%25``).
Other URL arguments stay the driver's.
Every message and description shows the URL with its password redacted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from driftmon.errors import ConfigError, SourceError
from driftmon.sources.base import Partition, Piece, ReadRequest, select_columns
from driftmon.sqlite_url import home_hint, sqlite_file

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy

__all__ = ["SqlSource", "is_database_url"]

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SECRET_URL_KEYS = {"password", "passwd", "pwd", "secret", "token", "access_token", "sslpassword"}


@dataclass(frozen=True, slots=True, repr=False)
class SqlSource:
    """A query against a database URL; ``params`` are bound, never formatted into the SQL.

    ``partition_by`` names a numeric key column: the query is then cut into ranges of that key
    (plus its NULLs) of about ``partition_rows`` rows each, to count in parallel. The repr and
    every message show the URL with its password redacted.
    """

    url: str
    query: str
    params: Mapping[str, Any] = field(default_factory=dict)
    partition_by: str | None = None

    def __post_init__(self) -> None:
        if not str(self.url).strip():
            raise ConfigError("SQL source: `url` is empty; give a SQLAlchemy database URL")
        if not str(self.query).strip():
            raise ConfigError(f"SQL source on `{_redact_url(self.url)}`: `query` is empty")
        object.__setattr__(self, "params", dict(self.params))

    def __repr__(self) -> str:
        return (
            f"SqlSource(url={_redact_url(self.url)!r}, query={self.query!r}, "
            f"params={dict(self.params)!r}, partition_by={self.partition_by!r})"
        )

    @classmethod
    def from_url(cls, text: str) -> SqlSource:
        """A source from its string form (see the module): ``query``, ``param.NAME`` and
        ``partition_by`` taken out of the URL's arguments, the others left to the driver.

        Raises
        ------
        ConfigError
            The URL has no ``query`` argument.
        """
        base, _, arguments = text.partition("?")
        query, partition_by = None, None
        params: dict[str, str] = {}
        kept: list[str] = []
        for pair in arguments.split("&") if arguments else []:
            name, _, value = pair.partition("=")
            name, value = unquote(name), unquote(value)
            if name == "query":
                query = value
            elif name == "partition_by":
                partition_by = value
            elif name.startswith("param."):
                params[name.removeprefix("param.")] = value
            else:
                kept.append(pair)
        if not query:
            raise ConfigError(
                f"`{_redact_url(text)}` is a database URL without a query; add "
                "`?query=SELECT ...` (parameters as `&param.NAME=VALUE`, bound as `:NAME`)"
            )
        url = base + ("?" + "&".join(kept) if kept else "")
        return cls(url, query, params, partition_by or None)

    def key(self, *, content_hash: bool = False) -> str:
        """``"sql:<sha256>"`` of the URL without password, the query and the sorted
        parameters (``content_hash`` does not apply: the rows are not hashed)."""
        identity = [
            _redact_url(self.url),
            self.query,
            sorted((str(k), v) for k, v in self.params.items()),
        ]
        encoded = json.dumps(identity, default=str, sort_keys=True).encode()
        return "sql:" + hashlib.sha256(encoded).hexdigest()

    def describe(self) -> str:
        query = " ".join(self.query.split())
        if len(query) > 80:
            query = query[:77] + "..."
        return f"SQL query `{query}` on `{_redact_url(self.url)}`"

    def batch_time(self) -> datetime:
        """Now: a query does not say when its rows were produced (give ``--batch-time``)."""
        return datetime.now(UTC)

    def columns(self) -> list[str]:
        return _sql_columns(self)

    def partitions(self, target_rows: int) -> list[Partition]:
        """One partition, or with ``partition_by`` ranges of the key of about ``target_rows``
        rows each (equal widths between its minimum and maximum) and one for its NULLs."""
        if self.partition_by is None:
            return [Partition(self)]
        n_rows, n_keys, lowest, highest = _key_extent(self)
        if n_keys == 0 or lowest is None:
            return (
                [Partition(self, subset=("null",), n_rows=n_rows)] if n_rows else [Partition(self)]
            )
        n_ranges = max(1, -(-n_keys // target_rows))
        integral = isinstance(lowest, int) and isinstance(highest, int)
        span = highest - lowest + (1 if integral else 0)
        bounds = [
            lowest + (span * i // n_ranges if integral else span * i / n_ranges)
            for i in range(n_ranges)
        ]
        parts = [
            Partition(self, subset=("range", low, high, high is None))
            for low, high in zip(bounds, [*bounds[1:], None], strict=True)
        ]
        if n_rows > n_keys:
            parts.append(Partition(self, subset=("null",)))
        return parts

    def read(self, partition: Partition, request: ReadRequest) -> Iterator[Piece]:
        return _read_sql(self, request.columns, request.chunk_rows, partition.subset)

    def progress_weight(self, partition: Partition) -> tuple[str, int] | None:
        return None  # a query's size is not known before it runs

    def no_rows_message(self) -> str:
        return f"{self.describe()} has no data rows; check the query's filter and parameters"


def is_database_url(text: str) -> bool:
    """Whether a source string is a database URL (``scheme://...``, not ``file://``)."""
    match = _URL_SCHEME.match(text)
    return bool(match) and not text.lower().startswith("file://")


def _key_extent(source: SqlSource) -> tuple[int, int, Any, Any]:
    """Rows of the query, rows with a key, and the key's minimum and maximum."""
    import sqlalchemy

    with _read_only(source) as connection:
        key = connection.dialect.identifier_preparer.quote(source.partition_by)
        row = connection.execute(
            sqlalchemy.text(
                f"SELECT COUNT(*), COUNT({key}), MIN({key}), MAX({key}) "
                f"FROM ({source.query}) AS driftmon_source"
            ),
            dict(source.params),
        ).one()
    n_rows, n_keys, lowest, highest = row
    if n_keys and not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (lowest, highest)
    ):
        raise SourceError(
            f"{source.describe()}: `partition_by` column `{source.partition_by}` is not numeric "
            f"(its values look like `{lowest!r}`); name a numeric key column, or drop "
            "`partition_by`"
        )
    return int(n_rows), int(n_keys), lowest, highest


def _partition_query(source: SqlSource, subset: Any, quote_name: Any) -> tuple[str, dict[str, Any]]:
    """The query restricted to one partition's key range (or its NULL keys)."""
    if subset is None:
        return source.query, dict(source.params)
    key = quote_name(source.partition_by)
    wrapped = f"SELECT * FROM ({source.query}) AS driftmon_source WHERE "
    if subset[0] == "null":
        return wrapped + f"{key} IS NULL", dict(source.params)
    _, low, high, last = subset
    condition = f"{key} >= :driftmon_low" + ("" if last else f" AND {key} < :driftmon_high")
    params = {**source.params, "driftmon_low": low}
    if not last:
        params["driftmon_high"] = high
    return wrapped + condition, params


def _create_engine(source: SqlSource) -> sqlalchemy.Engine:
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = sqlalchemy.make_url(source.url)
        missing = _missing_sqlite_file(parsed)
        if missing is not None:
            hint = home_hint(parsed) or (
                "check the path in the URL (`sqlite:///` then a path relative to the current "
                "folder, `sqlite:////` then an absolute one)"
            )
            raise SourceError(
                f"SQL source `{_redact_url(source.url)}`: the SQLite database file `{missing}` "
                f"does not exist; {hint}"
            )
        return sqlalchemy.create_engine(parsed)
    except (ArgumentError, ValueError, ImportError, SQLAlchemyError) as exc:
        raise SourceError(
            f"database URL `{_redact_url(source.url)}` cannot be used: {exc}; give a SQLAlchemy "
            f"URL such as `sqlite:///data.db` or `postgresql+psycopg://user@host/db` and "
            f"install its driver"
        ) from exc


def _missing_sqlite_file(url: sqlalchemy.URL) -> Path | None:
    """The file a SQLite URL opens (`sqlite_file`) if it does not exist (None: it exists, is
    in memory, or the URL is not SQLite).

    SQLite creates a missing file on connect; a mistyped path would leave an empty file behind
    and fail with "no such table" (or succeed, on a query reading no table).
    """
    path = sqlite_file(url)
    return None if path is None or path.exists() else path


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


@contextmanager
def _read_only(source: SqlSource) -> Iterator[sqlalchemy.Connection]:
    """A connection in a read-only transaction (rolled back at the end) with server-side
    cursors where the driver has them, so rows arrive chunk by chunk; a database error
    becomes a `SourceError` naming the database without its password."""
    import pandas as pd
    from sqlalchemy.exc import SQLAlchemyError

    engine = _create_engine(source)
    try:
        with engine.connect() as base_connection:
            connection = base_connection.execution_options(stream_results=True)
            transaction = _begin_read_only(connection)
            try:
                yield connection
            finally:
                transaction.rollback()
    except SourceError:
        raise
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise _sql_error(source, exc) from exc
    finally:
        engine.dispose()


def _sql_columns(source: SqlSource) -> list[str]:
    import sqlalchemy

    with _read_only(source) as connection:
        result = connection.execute(sqlalchemy.text(source.query), dict(source.params))
        names = [str(k) for k in result.keys()]
        result.close()
    return names


def _read_sql(
    source: SqlSource, requested: list[str] | None, chunk_rows: int, subset: Any = None
) -> Iterator[Piece]:
    import pandas as pd
    import sqlalchemy

    with _read_only(source) as connection:
        query, params = _partition_query(
            source, subset, connection.dialect.identifier_preparer.quote
        )
        chunks = pd.read_sql_query(
            sqlalchemy.text(query), connection, params=params, chunksize=chunk_rows
        )
        selected: list[str] | None = None
        done = 0
        try:
            for frame in chunks:
                if selected is None:
                    available = [str(c) for c in frame.columns]
                    selected = select_columns(available, requested, source.describe())
                frame = _all_null_as_float(frame[selected])
                done += len(frame)
                yield frame, done, None
        finally:
            chunks.close()


def _all_null_as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of only NULLs arrive as object dtype holding None; make them float NaN."""
    import numpy as np

    empty = [
        name
        for name in frame.columns
        if frame[name].dtype == object and bool(frame[name].isna().all())
    ]
    if not empty:
        return frame
    return frame.assign(**{name: np.full(len(frame), np.nan) for name in empty})


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
