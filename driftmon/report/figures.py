"""The report's charts: small PNG figures returned as ``data:`` URIs, one self-contained page.

Only the object-oriented `matplotlib.figure.Figure` API is used (never pyplot), so drawing
switches no global backend and leaks no figures: each figure is rendered by the Agg canvas into
memory and dropped. PNG rather than SVG keeps a 25-feature report small and free of any
``http://`` string (SVG carries its XML namespace). Text that comes from data (feature names,
category labels) is drawn with ``parse_math=False`` so a ``$`` in a name is not mathtext.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from driftmon.formatting import format_share, format_share_change
from driftmon.report.data import CategoricalView, NumericView, SideSlot, densities

__all__ = [
    "OKABE_ITO",
    "categorical_chart",
    "feature_chart",
    "numeric_chart",
]

#: Okabe & Ito's colour-blind-safe palette.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}
REFERENCE_COLOUR = OKABE_ITO["blue"]
CURRENT_COLOUR = OKABE_ITO["orange"]
DPI = 90
_LABEL_CHARS = 28
#: Inches: 864 px at `DPI`, three-quarters of a report's content column at its widest.
_WIDTH = 9.6
#: The least length a side bar of a non-zero share is drawn with, as a fraction of the panel's
#: largest share.
_MIN_SIDE_BAR = 0.025


def feature_chart(view: NumericView | CategoricalView) -> str:
    """A feature's reference-vs-current chart (see `driftmon.report.data.chart_view`) as a PNG
    data URI: `numeric_chart` or `categorical_chart`."""
    if isinstance(view, NumericView):
        return numeric_chart(view)
    return categorical_chart(view)


def numeric_chart(view: NumericView) -> str:
    """Reference (filled) and current (line) as step densities over the reference's bins, on
    the value axis: a shift reads as a shift. The bins that changed most are shaded; the open
    outer bins' shares are written at the ends (their drawn width is the reference's range, so
    a long tail is clipped, not squeezed into the axis); missing and out-of-range shares sit
    beside, on their own scale. Discrete features get bars at their values."""
    fig, values_ax, side_ax = _figure_with_side_panel(height=3.0)
    edges = view.edges
    n_values = view.reference.size
    if view.discrete or n_values < 2 or not edges[-1] > edges[0]:
        _discrete_bars(values_ax, view)
    else:
        _step_densities(values_ax, view)
    values_ax.set_xlabel("value", fontsize=9)
    values_ax.legend(fontsize=8.5, loc="upper right", frameon=False)
    _side_panel(side_ax, view.side)
    return _to_data_uri(fig)


def categorical_chart(view: CategoricalView) -> str:
    """Grouped bars of the categories that matter (most common first), and on their own scale
    beside them the long tail, never-seen and missing shares: a 90% long tail no longer
    flattens every kept category into invisibility."""
    n = max(len(view.categories), 1)
    height = 0.95 + 0.27 * n
    fig, values_ax, side_ax = _figure_with_side_panel(height=height)
    positions = np.arange(len(view.categories), dtype=np.float64)
    _paired_bars(values_ax.barh, positions, view.reference, view.current, slot=0.8)
    values_ax.set_yticks(
        positions, [_short(c) for c in view.categories], parse_math=False, fontsize=9
    )
    values_ax.invert_yaxis()
    top = _largest_share(view)
    values_ax.set_xlim(0, max(top * 1.12, 0.01))
    values_ax.xaxis.set_major_formatter(_percent(top))
    values_ax.grid(axis="x", color="#e3e3e3", linewidth=0.6)
    values_ax.set_axisbelow(True)
    label = "share of rows"
    if view.n_hidden:
        label += f" ({view.n_hidden} more kept categories not shown)"
    values_ax.set_xlabel(label, fontsize=9)
    # above the bars, not over them: any bar can be the longest
    values_ax.legend(fontsize=8.5, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2,
                     frameon=False, borderaxespad=0.1)  # fmt: skip
    _side_panel(side_ax, view.side)
    # room for the longest category label on the left, and for the legend on top
    longest = max((len(_short(c)) for c in view.categories), default=4)
    left = min((longest * 6.0 + 18) / (_WIDTH * DPI), 0.3)
    fig.subplots_adjust(left=left, top=1 - 0.3 / height)
    return _to_data_uri(fig)


# --------------------------------------------------------------------------------------------


def _figure_with_side_panel(*, height: float) -> tuple[Figure, Any, Any]:
    """A page-wide figure: the values on the left, the side slots on the right."""
    fig = Figure(figsize=(_WIDTH, height), dpi=DPI)
    values_ax, side_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": (3.3, 1), "wspace": 0.5})
    fig.subplots_adjust(
        left=0.09, right=0.985, top=1 - 0.16 / height, bottom=min(0.6 / height, 0.45)
    )
    for ax in (values_ax, side_ax):
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8.5)
    return fig, values_ax, side_ax


def _step_densities(ax: Any, view: NumericView) -> None:
    edges = view.edges
    reference = densities(edges, view.reference)
    ax.stairs(reference, edges, fill=True, color=REFERENCE_COLOUR, alpha=0.3, lw=0)
    ax.stairs(reference, edges, color=REFERENCE_COLOUR, lw=1.1, label="reference")
    tops = [float(reference.max(initial=0))]
    if view.current is not None:
        current = densities(edges, view.current)
        ax.stairs(current, edges, color=CURRENT_COLOUR, lw=2.0, label="current batch")
        tops.append(float(current.max(initial=0)))
    # the axis covers the inner bins and at most a quarter of their span beyond: a long tail
    # (the reference's extreme values) is clipped rather than squeezing everything else
    # (halves: no overflow for edges near +-1e308)
    inner_half = float(edges[-2] / 2 - edges[1] / 2) if edges.size > 3 else 0.0
    low = max(float(edges[0]), float(edges[1]) - 0.5 * inner_half)
    high = min(float(edges[-1]), float(edges[-2]) + 0.5 * inner_half)
    ax.set_xlim(low, high)
    ax.set_ylim(0, max(max(tops) * 1.2, 1e-12))
    for index in view.highlight:
        ax.axvspan(
            max(float(edges[index]), low),
            min(float(edges[index + 1]), high),
            color=OKABE_ITO["vermillion"],
            alpha=0.1,
            lw=0,
        )
    ax.set_ylabel("density", fontsize=9)
    ax.yaxis.set_major_formatter(lambda y, _: f"{y:.3g}")
    below = _shares_text(view, 0)
    above = _shares_text(view, view.reference.size - 1)
    ax.text(0.0, 1.0, f"below {_number(edges[1])}: {below}", transform=ax.transAxes,
            fontsize=8, va="bottom", ha="left", color="#444444")  # fmt: skip
    ax.text(1.0, 1.0, f"{_number(edges[-2])} and above: {above}", transform=ax.transAxes,
            fontsize=8, va="bottom", ha="right", color="#444444")  # fmt: skip


def _discrete_bars(ax: Any, view: NumericView) -> None:
    positions = view.edges[: view.reference.size]
    gaps = np.diff(positions)
    width = 0.8 * float(gaps.min()) if gaps.size and gaps.min() > 0 else 0.8
    _paired_bars(ax.bar, positions, view.reference, view.current, slot=width)
    top = _largest_share(view)
    ax.set_ylim(0, max(top * 1.2, 0.01))
    ax.yaxis.set_major_formatter(_percent(top))
    ax.set_ylabel("share of rows", fontsize=9)
    for index in view.highlight:
        ax.axvspan(positions[index] - width / 2, positions[index] + width / 2,
                   color=OKABE_ITO["vermillion"], alpha=0.1, lw=0)  # fmt: skip


def _paired_bars(
    draw: Any,
    positions: NDArray[np.float64],
    reference: NDArray[np.float64],
    current: NDArray[np.float64] | None,
    *,
    slot: float,
    **style: Any,
) -> float:
    """Reference and current bars side by side in a ``slot`` at each position (the reference
    alone fills it); ``draw`` is ``ax.bar`` or ``ax.barh``. Returns each bar's offset."""
    size = "height" if draw.__name__ == "barh" else "width"
    bar = slot / 2 if current is not None else slot
    offset = bar / 2 if current is not None else 0.0
    draw(positions - offset, reference, **{size: bar}, color=REFERENCE_COLOUR, label="reference",
         lw=0, **style)  # fmt: skip
    if current is not None:
        draw(positions + offset, current, **{size: bar}, color=CURRENT_COLOUR,
             label="current batch", lw=0, **style)  # fmt: skip
    return offset


def _side_panel(ax: Any, side: Sequence[SideSlot]) -> None:
    """The shares that are not values, each with its value written at the bar's end."""
    positions = np.arange(len(side), dtype=np.float64)
    reference = np.array([s.reference for s in side])
    has_current = all(s.current is not None for s in side)
    current = np.array([s.current or 0.0 for s in side])
    top = max(float(reference.max(initial=0)), float(current.max(initial=0)), 0.01)
    # a share too small to see beside a large one (0.2% never seen next to a 90% long tail)
    # is drawn a sliver wide; the value written beside it is exact
    drawn_reference, drawn_current = (
        np.where(shares > 0, np.maximum(shares, top * _MIN_SIDE_BAR), 0.0)
        for shares in (reference, current)
    )
    # lighter than the values' bars, without hatching (a quarter of a chart's drawing time)
    offset = _paired_bars(
        ax.barh,
        positions,
        drawn_reference,
        drawn_current if has_current else None,
        slot=0.76,
        alpha=0.75,
    )
    ax.set_xlim(0, top * 1.6)
    for position, share, drawn in zip(positions - offset, reference, drawn_reference, strict=True):
        ax.text(drawn + top * 0.04, position, format_share(share), va="center", fontsize=8)
    if has_current:
        for position, share, drawn in zip(positions + offset, current, drawn_current, strict=True):
            ax.text(drawn + top * 0.04, position, format_share(share), va="center", fontsize=8)
    ax.set_yticks(positions, [s.label for s in side], fontsize=8.5)
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlabel("not values (own scale)", fontsize=8.5, color="#444444")


def _largest_share(view: NumericView | CategoricalView) -> float:
    current = 0.0 if view.current is None else float(np.max(view.current, initial=0.0))
    return max(float(np.max(view.reference, initial=0.0)), current)


def _shares_text(view: NumericView, index: int) -> str:
    reference = float(view.reference[index])
    if view.current is None:
        return format_share(reference)
    return format_share_change(reference, float(view.current[index]))


def _percent(top: float) -> Any:
    return lambda x, _: f"{x:.0%}" if top >= 0.05 else f"{x:.1%}"


def _number(value: float) -> str:
    return f"{value:.4g}"


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _to_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # names in scripts the font lacks (CJK, emoji) draw as boxes; the page's text shows them
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        FigureCanvasAgg(fig).print_png(buffer)
    fig.clear()  # drop the artists now: nothing else holds the figure
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
