"""A process-wide hook for progress on long reads, so the CLI can show it (a bar on a
terminal, plain lines in a log).

Flows and tasks cannot take a callback as a parameter (Prefect serialises parameters), so the
CLI installs a reporter here and readers call `report`. Without a reporter nothing happens.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from driftmon.errors import ConfigError

__all__ = [
    "INTERVAL_ENV",
    "PROGRESS_SECONDS",
    "Reporter",
    "interval_from_env",
    "report",
    "reporting",
]

#: Seconds between progress lines where stderr is not a terminal (a CI log, a pipe): work
#: that ends sooner prints none. `INTERVAL_ENV` overrides it.
PROGRESS_SECONDS = 30.0
INTERVAL_ENV = "DRIFTMON_PROGRESS_SECONDS"

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


def interval_from_env(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between progress lines: `INTERVAL_ENV` if set (``0``: every chunk), else
    `PROGRESS_SECONDS`.

    >>> interval_from_env({}), interval_from_env({"DRIFTMON_PROGRESS_SECONDS": "5"})
    (30.0, 5.0)
    """
    text = (os.environ if environ is None else environ).get(INTERVAL_ENV, "").strip()
    if not text:
        return PROGRESS_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConfigError(
            f"{INTERVAL_ENV}=`{text}` is not a number of seconds >= 0; set it to e.g. 60, or "
            f"unset it for the default {PROGRESS_SECONDS:g}"
        )
    return seconds
