"""Templating: one Jinja2 environment with autoescape, and number formats for people.

Every value reaches the page through a template with autoescape on, so a column named
``<script>`` is shown as text, and with its control characters shown as escapes (``\\x1b``,
as the CLI shows them), so a name with an escape sequence or a line break is visible. The
formatters are plain functions (usable and testable alone) registered as filters.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup, escape

from driftmon.formatting import DASH, format_number, format_p_value, format_share, printable
from driftmon.report.data import batch_label

__all__ = [
    "breakable",
    "format_number",
    "format_p_value",
    "format_share",
    "format_time",
    "render_page",
]

#: Characters after which an identifier may wrap: ``flight_code`` wraps as ``flight_`` /
#: ``code``, never as ``flight_cod`` / ``e``.
_WRAP_AFTER = re.compile(r"(?<=[_./|\\-])")


def format_time(value: datetime | None) -> str:
    """UTC time to the minute, e.g. ``2026-11-03 14:05 UTC`` (naive times are taken as UTC)."""
    if value is None:
        return DASH
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M") + " UTC"


def breakable(text: object) -> Markup:
    """An identifier (feature, dataset, batch key) escaped, control characters shown as
    escapes (`printable`), with a line-break opportunity (``<wbr>``) after each ``_ . / | -``
    and ``\\``: a narrow column wraps it there; only a segment wider than the whole column
    breaks inside (the CSS's ``overflow-wrap``).

    Examples
    --------
    >>> str(breakable("flight_code"))
    'flight_<wbr>code'
    >>> str(breakable("<b>x</b>.y"))
    '&lt;b&gt;x&lt;/<wbr>b&gt;.<wbr>y'
    >>> str(breakable("run_\\x1b[31m"))
    'run_<wbr>\\\\x1b[31m'
    """
    pieces = _WRAP_AFTER.split(str(text))  # split first: an escape (\x1b) stays whole
    return Markup("<wbr>".join(str(escape(printable(piece))) for piece in pieces))


def _shown(value: object) -> object:
    """Every value a template writes (Jinja's ``finalize``): text with its control characters
    shown as escapes, wherever a name lands (titles, attributes, sentences); markup (the
    filters' output, escaped already) and other values as they are."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def render_page(template: str, context: Mapping[str, Any]) -> str:
    """Render one of the package's templates (``run.html``, ``dataset.html``, ``index.html``)."""
    return _environment().get_template(template).render(**context)


_ENVIRONMENT: Environment | None = None


def _environment() -> Environment:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        env = Environment(
            loader=PackageLoader("driftmon.report"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=_bytecode_cache(),
            finalize=_shown,
        )
        env.filters.update(
            num=format_number,
            pct=format_share,
            pval=format_p_value,
            time=format_time,
            ident=breakable,
            label=batch_label,
            shell=shlex.quote,
        )
        _ENVIRONMENT = env
    return _ENVIRONMENT


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept in the user's cache folder (``$XDG_CACHE_HOME/driftmon`` or
    ``~/.cache/driftmon``): compiling them costs more than drawing a small report. None
    (compile every time) when that folder cannot be created.

    Jinja knows a cached template by its source only, but the environment set up here
    (``finalize``, autoescape) is compiled into it too: the file names carry a digest of this
    module, so a driftmon that sets it up differently never runs code compiled for another."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    folder = Path(base) / "driftmon" / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    setup = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return FileSystemBytecodeCache(str(folder), pattern=f"__jinja2_{setup}_%s.cache")
