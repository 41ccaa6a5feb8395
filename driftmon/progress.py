"""A process-wide hook for progress on long reads, so the CLI can draw a bar.

Flows and tasks cannot take a callback as a parameter (Prefect serialises parameters), so the
CLI installs a reporter here and readers call `report`. Without a reporter nothing happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Reporter", "report", "reporting"]

#: Called with (label, done, total); total is None when unknown.
Reporter = Callable[[str, int, int | None], None]

_reporter: Reporter | None = None


def report(label: str, done: int, total: int | None) -> None:
    if _reporter is not None:
        _reporter(label, done, total)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Install ``reporter`` for the duration of the block."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield
    finally:
        _reporter = previous
