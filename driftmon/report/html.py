"""Templating: one Jinja2 environment with autoescape, and number formats for people.

Every value reaches the page through a template with autoescape on, so a column named
``<script>`` is shown as text. The formatters are plain functions (usable and testable alone)
registered as filters.
"""

from __future__ import annotations

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

from driftmon.formatting import DASH, format_number, format_p_value, format_share
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
_WRAP_AFTER = re.compile(r"([_./|\\-])")


def format_time(value: datetime | None) -> str:
    """UTC time to the minute, e.g. ``2026-11-03 14:05 UTC`` (naive times are taken as UTC)."""
    if value is None:
        return DASH
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M") + " UTC"


def breakable(text: object) -> Markup:
    """An identifier (feature, dataset, batch key) escaped, with a line-break opportunity
    (``<wbr>``) after each ``_ . / | -`` and ``\\``: a narrow column wraps it there; only a
    segment wider than the whole column breaks inside (the CSS's ``overflow-wrap``).

    Examples
    --------
    >>> str(breakable("flight_code"))
    'flight_<wbr>code'
    >>> str(breakable("<b>x</b>.y"))
    '&lt;b&gt;x&lt;/<wbr>b&gt;.<wbr>y'
    """
    return Markup(_WRAP_AFTER.sub(r"\1<wbr>", str(escape(str(text)))))


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
    (compile every time) when that folder cannot be created."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    folder = Path(base) / "driftmon" / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))
