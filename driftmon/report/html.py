"""Templating: one Jinja2 environment with autoescape, and number formats for people.

Every value reaches the page through a template with autoescape on, so a column named
``<script>`` is shown as text. The formatters are plain functions (usable and testable alone)
registered as filters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["format_number", "format_p_value", "format_share", "format_time", "render_page"]

_DASH = "–"


def format_number(value: float | None, digits: int = 3) -> str:
    """Significant digits with thousands separators; integers exactly.

    Examples
    --------
    >>> format_number(1234567), format_number(0.0123456), format_number(12345.678)
    ('1,234,567', '0.0123', '12,346')
    >>> format_number(None), format_number(float("nan"))
    ('–', '–')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _DASH if value is None or math.isnan(value) else str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1):
        return f"{int(value):,}"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits - 1:
        return f"{round(value):,}"
    if magnitude < -4:
        return f"{value:.{digits - 1}e}"
    return f"{value:,.{digits - 1 - magnitude}f}"


def format_share(value: float | None) -> str:
    """A fraction of rows as a percentage, with more decimals for small shares.

    Examples
    --------
    >>> format_share(0.123), format_share(0.0004), format_share(0), format_share(1)
    ('12.3%', '0.04%', '0%', '100%')
    """
    if value is None:
        return _DASH
    if value == 0 or value == 1:
        return f"{value:.0%}"
    if abs(value) < 0.001:
        return f"{value:.2%}"
    return f"{value:.1%}"


def format_p_value(value: float | None) -> str:
    """Three decimals, or scientific notation below 0.001.

    Examples
    --------
    >>> format_p_value(0.5), format_p_value(2.5e-9), format_p_value(0.0)
    ('0.500', '2.5e-09', '< 1e-300')
    """
    if value is None:
        return _DASH
    if value == 0:
        return "< 1e-300"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def format_time(value: datetime | None) -> str:
    """UTC time to the minute, e.g. ``2026-11-03 14:05 UTC`` (naive times are taken as UTC)."""
    if value is None:
        return _DASH
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M") + " UTC"


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
        )
        env.filters.update(
            num=format_number, pct=format_share, pval=format_p_value, time=format_time
        )
        _ENVIRONMENT = env
    return _ENVIRONMENT
