"""What every kind of input offers (the `Source` protocol), the partitions sources are cut
into, and what the kinds share: batch times from paths, column selection, messages.

Cheap to import: no pandas, pyarrow or SQLAlchemy, so a command can reject a wrong path or
batch time before it loads what reads data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeAlias, runtime_checkable

from driftmon.errors import ConfigError, SourceError

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "Partition",
    "Piece",
    "Progress",
    "ReadRequest",
    "Source",
    "batch_time_from_path",
    "parse_batch_time",
]

#: Rows per chunk unless the caller says otherwise: ~100k rows x 20 columns is ~16 MB of floats.
DEFAULT_CHUNK_ROWS = 100_000
#: ``on_progress(done, total)``: units done and the total (None when unknown, as for SQL).
Progress: TypeAlias = Callable[[int, int | None], None]
#: What a source's reader yields: a pandas DataFrame or an Arrow record batch of at most
#: ``chunk_rows`` rows, the units of progress done so far, and their total (None: unknown).
Piece: TypeAlias = "tuple[Any, int, int | None]"


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """What to read: ``columns`` in this order (None: all), at most ``chunk_rows`` rows at a
    time; ``numeric`` / ``categorical`` / ``text`` are the reference's hints (see
    `iter_chunks`)."""

    columns: list[str] | None
    chunk_rows: int
    numeric: frozenset[str] = frozenset()
    categorical: frozenset[str] = frozenset()
    text: frozenset[str] = frozenset()


@runtime_checkable
class Source(Protocol):
    """One kind of input: files (`FileSource`), a query (`SqlSource`), a frame
    (`FrameSource`). Every method is cheap except `read`; none holds more than a chunk."""

    def key(self, *, content_hash: bool = False) -> str:
        """A key unique per batch: a re-run of the same batch updates its run."""
        ...

    def describe(self) -> str:
        """One line for people, without secrets."""
        ...

    def batch_time(self) -> datetime:
        """When the batch's data was produced, as far as the source tells (UTC)."""
        ...

    def columns(self) -> list[str]:
        """The column names, reading no data rows."""
        ...

    def partitions(self, target_rows: int) -> list[Partition]:
        """The source cut into partitions of about ``target_rows`` rows where it can be; the
        counts of the partitions add up to the source's."""
        ...

    def read(self, partition: Partition, request: ReadRequest) -> Iterator[Piece]:
        """One partition (of this source) in chunks."""
        ...

    def progress_weight(self, partition: Partition) -> tuple[str, int] | None:
        """The partition's share of work as ``(unit, amount)`` (bytes, rows), None if unknown."""
        ...

    def no_rows_message(self) -> str:
        """What to say when the whole source holds no data rows."""
        ...


@dataclass(frozen=True, slots=True)
class Partition:
    """A piece of a source read and counted on its own: the unit of parallel work.

    Counting every partition of a source and adding the counts gives the source's counts
    (`driftmon.sources.partitions` makes them). ``subset`` is the kind's own description of
    the piece (row groups of a Parquet file, a key range of a query; None: all of it),
    ``n_rows`` the row count when the source tells it without reading, ``index`` the position.
    """

    source: Source
    index: int = 0
    subset: Any = None
    n_rows: int | None = None


_DATE_IN_PATH = re.compile(
    r"""(?<![0-9])
    (?:
        (?P<y1>\d{4})-(?P<m1>\d{2})-(?P<d1>\d{2})              # 2026-11-25
        (?:[T_ ](?P<h1>\d{2})(?::?(?P<n1>\d{2})(?::?(?P<s1>\d{2}))?)?)?   # T13, T13:45, _134501
      | (?P<y2>\d{4})(?P<m2>\d{2})(?P<d2>\d{2})                 # 20261125
        (?:T?(?P<h2>\d{2})(?:(?P<n2>\d{2})(?P<s2>\d{2})?)?)?    # 20261125T13, 202611251345
      | (?:year=)?(?P<y3>\d{4})/(?:month=)?(?P<m3>\d{2})/(?:day=)?(?P<d3>\d{2})(?=/)
        (?:/(?:hour=)?(?P<h3>\d{2})(?=/))?                        # 2026/11/25/[13/], hive
      | year=(?P<y4>\d{4})/month=(?P<m4>\d{1,2})/day=(?P<d4>\d{1,2})(?=/)
        (?:/hour=(?P<h4>\d{1,2})(?=/))?                          # Spark's month=9/day=5/
    )
    (?![0-9])""",
    re.VERBOSE,
)


def batch_time_from_path(path: str | Path) -> datetime | None:
    """The date or date-time a batch's path names, as UTC; None when it names none.

    Recognised anywhere in the path, the last (innermost) match winning: ``2026-11-25``,
    ``2026-11-25T13``, ``2026-11-25T13:45[:10]``, ``2026-11-25_1345``, ``20261125``,
    ``20261125T13``, ``202611251345``, and folders ``2026/11/25/`` (optionally ``/13/``) or
    ``year=2026/month=11/day=25/`` (Spark writes ``month=9/day=5/``). Impossible dates
    (``2026-13-45``) are not dates.

    Examples
    --------
    >>> batch_time_from_path("incoming/orders_2026-11-25.csv").isoformat()
    '2026-11-25T00:00:00+00:00'
    >>> batch_time_from_path("feeds/2026/11/25/part-0.parquet").isoformat()
    '2026-11-25T00:00:00+00:00'
    >>> batch_time_from_path("feed/year=2026/month=9/day=5/part-0.parquet").isoformat()
    '2026-09-05T00:00:00+00:00'
    >>> batch_time_from_path("dump_20261125T13.csv.gz").isoformat()
    '2026-11-25T13:00:00+00:00'
    >>> batch_time_from_path("batch_07.csv") is None
    True
    """
    found = None
    for match in _DATE_IN_PATH.finditer(str(path).replace("\\", "/")):
        parts = match.groupdict()
        for group in "1234":
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


def select_columns(available: Sequence[str], requested: list[str] | None, where: str) -> list[str]:
    if requested is None:
        return list(available)
    absent = [c for c in requested if c not in available]
    if absent:
        raise SourceError(
            f"column(s) {quoted(absent)} not in {where}; available columns: "
            f"{', '.join(available) or '(none)'}"
        )
    return requested


def unique_columns(names: list[str], where: str) -> list[str]:
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
            f"{where} has more than one column named {quoted(list(dict.fromkeys(repeated)))}; "
            "rename the columns so that each name is unique"
        )
    return names


def checked(value: Any) -> Source:
    """``value`` if it is a source, else the `ConfigError` saying what is one."""
    if isinstance(value, str) or not isinstance(value, Source):
        raise not_a_source(value)
    return value


def not_a_source(value: object) -> ConfigError:
    return ConfigError(
        f"`{type(value).__name__}` is not a source; use FileSource, SqlSource or FrameSource"
    )


def quoted(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)
