"""The report's charts: small PNG figures returned as ``data:`` URIs, one self-contained page.

Drawn with matplotlib's Agg renderer on a bare `Figure`, without Axes: an Axes brings axis,
tick and spine machinery that cost most of a chart's time (0.15-0.20 s a chart with two
Axes; 0.06-0.09 s drawn this way, the same charts interleaved in one process). A chart here
is a few step lines, bars and labels at places known in advance, so it is laid out in
pixels: a `_Plot` maps data to its rectangle of the figure, and tick values come from
matplotlib's `MaxNLocator`. Only the object-oriented API is used (never pyplot): drawing
switches no global backend and leaks no figures. PNG rather than SVG keeps a 25-feature
report small and free of any ``http://`` string (SVG carries its XML namespace). Text is
drawn with ``parse_math=False``, so a ``$`` in a feature or category name is not mathtext.
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike, NDArray

from driftmon.bins import value_text
from driftmon.formatting import format_share, format_share_change, printable
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
MUTED = "#444444"
DPI = 90
_LABEL_CHARS = 28
#: Inches: 864 px at `DPI`, three-quarters of a report's content column at its widest.
_WIDTH = 9.6
_WIDTH_PX = round(_WIDTH * DPI)
#: Pixels: where the values are drawn (room on the left for the numeric axis' labels) and
#: where the side panel (the shares that are not values) sits.
_VALUES_LEFT, _VALUES_RIGHT, _SIDE_LEFT, _SIDE_RIGHT = 78.0, 553.0, 707.0, 851.0
#: Pixels below the plots (tick labels, axis label) and above them (a line of text, or the
#: legend when it sits above the bars).
_BELOW, _ABOVE, _ABOVE_FOR_LEGEND = 0.6 * DPI, 0.16 * DPI, 0.3 * DPI
#: The least length a side bar of a non-zero share is drawn with, as a fraction of the panel's
#: largest share.
_MIN_SIDE_BAR = 0.025
_TICK = 3.5  # pixels


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
    canvas = _Canvas(height=3.0)
    edges = view.edges
    if view.discrete or view.reference.size < 2 or not edges[-1] > edges[0]:
        top = canvas.height - _ABOVE_FOR_LEGEND
        _discrete_bars(canvas, view, _BELOW, top)
    else:
        top = canvas.height - _ABOVE
        _step_densities(canvas, view, _BELOW, top)
    _side_panel(canvas, view.side, _BELOW, top)
    return canvas.to_data_uri()


def categorical_chart(view: CategoricalView) -> str:
    """Grouped bars of the categories that matter (most common first), and on their own scale
    beside them the long tail, never-seen and missing shares: a 90% long tail no longer
    flattens every kept category into invisibility."""
    n = max(len(view.categories), 1)
    height = 0.95 + 0.27 * n
    canvas = _Canvas(height=height)
    bottom, top = min(_BELOW, 0.45 * canvas.height), canvas.height - _ABOVE_FOR_LEGEND
    labels = [_short(c) for c in view.categories]
    longest = max((len(label) for label in labels), default=4)
    left = min(longest * 6.8 + 18, 0.3 * _WIDTH_PX)
    share_top = _largest_share(view)
    plot = _Plot(
        left, bottom, _VALUES_RIGHT, top, (0.0, max(share_top * 1.12, 0.01)), (n - 0.5, -0.5)
    )
    ticks = _ticks(plot.xlim, 6)
    canvas.lines([[(x, bottom), (x, top)] for x in plot.x(ticks)], "#e3e3e3", 0.6)
    positions = np.arange(len(view.categories), dtype=np.float64)
    _paired_bars(canvas, plot, positions, view.reference, view.current, slot=0.8)
    canvas.axis_lines(plot)
    canvas.x_ticks(plot, ticks, _percent_labels(ticks, share_top))
    canvas.y_ticks(plot, positions, labels, size=9, pad=3)
    label = "share of rows"
    if view.n_hidden:
        label += f" ({view.n_hidden} more kept categories not shown)"
    canvas.text((left + _VALUES_RIGHT) / 2, bottom - 22, label, ha="center", va="top", size=9)
    # above the bars, not over them: any bar can be the longest
    canvas.legend(left, top + 4, view.current is not None, bars=True)
    _side_panel(canvas, view.side, bottom, top)
    return canvas.to_data_uri()


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plot:
    """A rectangle of the figure, in pixels from its bottom left, showing ``xlim`` across and
    ``ylim`` up (a reversed ``ylim`` puts the first value on top)."""

    left: float
    bottom: float
    right: float
    top: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, values: ArrayLike) -> NDArray[np.float64]:
        return _scaled(values, self.xlim, self.left, self.right)

    def y(self, values: ArrayLike) -> NDArray[np.float64]:
        return _scaled(values, self.ylim, self.bottom, self.top)


def _scaled(
    values: ArrayLike, limits: tuple[float, float], start: float, end: float
) -> NDArray[np.float64]:
    """``values`` mapped from ``limits`` onto ``start .. end``; in halves, so limits near the
    float range (a reference of +-1e308) do not overflow."""
    low, high = limits
    half_span = high / 2 - low / 2
    scale = (end - start) / half_span if half_span else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        return start + (np.asarray(values, dtype=np.float64) / 2 - low / 2) * scale


class _Canvas:
    """A figure ``height`` inches tall at the page's width, drawn in pixels from its bottom
    left; `to_data_uri` renders it."""

    def __init__(self, height: float) -> None:
        self.figure = Figure(figsize=(_WIDTH, height), dpi=DPI)
        self.height = height * DPI

    def rects(
        self, corners: list[tuple[float, float, float, float]], colour: str, alpha: float = 1.0
    ) -> None:
        """Filled rectangles, each ``(x0, y0, x1, y1)`` in pixels."""
        if corners:
            polygons = [[(a, b), (c, b), (c, d), (a, d)] for a, b, c, d in corners]
            self.polygons(polygons, colour, alpha)

    def polygons(self, polygons: list[ArrayLike], colour: str, alpha: float = 1.0) -> None:
        self.figure.add_artist(
            PolyCollection(polygons, facecolors=colour, alpha=alpha, linewidths=0, transform=None)
        )

    def lines(self, lines: list[ArrayLike], colour: str, width: float) -> None:
        if lines:
            self.figure.add_artist(
                LineCollection(lines, colors=colour, linewidths=width, transform=None)
            )

    def line(self, points: ArrayLike, colour: str, width: float) -> None:
        self.lines([points], colour, width)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float,
        colour: str = "black",
        rotation: float = 0.0,
        **align: str,
    ) -> None:
        self.figure.text(
            x / _WIDTH_PX,
            y / self.height,
            printable(text),  # a category's line break or escape sequence, shown as written
            fontsize=size,
            color=colour,
            rotation=rotation,
            parse_math=False,
            **align,
        )

    def axis_lines(self, plot: _Plot) -> None:
        """The plot's left and bottom edges."""
        corner = (plot.left, plot.bottom)
        self.lines(
            [[corner, (plot.right, plot.bottom)], [corner, (plot.left, plot.top)]], "black", 0.8
        )

    def x_ticks(self, plot: _Plot, values: NDArray[np.float64], labels: list[str]) -> None:
        xs = plot.x(values)
        self.lines([[(x, plot.bottom - _TICK), (x, plot.bottom)] for x in xs], "black", 0.8)
        for x, label in zip(xs, labels, strict=True):
            self.text(x, plot.bottom - _TICK - 2, label, ha="center", va="top", size=8.5)

    def y_ticks(
        self,
        plot: _Plot,
        values: ArrayLike,
        labels: Sequence[str],
        *,
        size: float = 8.5,
        pad: float = 2.0,
    ) -> None:
        """Ticks on the plot's left edge, each labelled ``pad`` pixels left of it."""
        ys = plot.y(values)
        self.lines([[(plot.left - _TICK, y), (plot.left, y)] for y in ys], "black", 0.8)
        for y, label in zip(ys, labels, strict=True):
            self.text(plot.left - _TICK - pad, y, label, ha="right", va="center", size=size)

    def value_axes(
        self,
        plot: _Plot,
        x_ticks: tuple[NDArray[np.float64], list[str]],
        y_ticks: tuple[NDArray[np.float64], list[str]],
        y_title: str,
    ) -> None:
        """A value plot's frame: its edges, both axes' ticks and their titles."""
        self.axis_lines(plot)
        self.x_ticks(plot, *x_ticks)
        self.y_ticks(plot, *y_ticks)
        middle_x, middle_y = (plot.left + plot.right) / 2, (plot.bottom + plot.top) / 2
        self.text(middle_x, plot.bottom - 22, "value", ha="center", va="top", size=9)
        self.text(24, middle_y, y_title, ha="center", va="center", size=9, rotation=90)

    def legend(
        self, x: float, y: float, has_current: bool, *, bars: bool, right: bool = False
    ) -> None:
        """The legend: each series' mark and name, in a row that starts at ``x`` (or ends
        there, with ``right``), its marks' foot at ``y``."""
        entries = [("reference", REFERENCE_COLOUR, 1.1)]
        if has_current:
            entries.append(("current batch", CURRENT_COLOUR, 2.0))
        widths = [28 + 6.2 * len(name) for name, _, _ in entries]
        at = x - sum(widths) if right else x
        for (name, colour, line_width), width in zip(entries, widths, strict=True):
            if bars:
                self.rects([(at, y + 2, at + 18, y + 9)], colour)
            else:
                self.line([(at, y + 5), (at + 18, y + 5)], colour, line_width)
            self.text(at + 24, y + 5.5, name, ha="left", va="center", size=8.5)
            at += width

    def to_data_uri(self) -> str:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            # names in scripts the font lacks (CJK, emoji) draw as boxes; the page's text shows them
            warnings.filterwarnings(
                "ignore", message="Glyph .* missing from font", category=UserWarning
            )
            FigureCanvasAgg(self.figure).print_png(buffer)
        self.figure.clear()  # drop the artists now: nothing else holds the figure
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _step_densities(canvas: _Canvas, view: NumericView, bottom: float, top: float) -> None:
    edges = view.edges
    reference = densities(edges, view.reference)
    current = None if view.current is None else densities(edges, view.current)
    low, high = _value_range(edges)
    tallest = max(
        float(reference.max(initial=0)), 0.0 if current is None else float(current.max(initial=0))
    )
    plot = _Plot(
        _VALUES_LEFT, bottom, _VALUES_RIGHT, top, (low, high), (0.0, max(tallest * 1.2, 1e-12))
    )
    xs = plot.x(np.clip(edges, low, high))
    for index in view.highlight:
        canvas.rects([(xs[index], bottom, xs[index + 1], top)], OKABE_ITO["vermillion"], 0.1)
    steps_x = np.repeat(xs, 2)[1:-1]
    reference_steps = np.column_stack([steps_x, np.repeat(plot.y(reference), 2)])
    filled = np.vstack([[(xs[0], bottom)], reference_steps, [(xs[-1], bottom)]])
    canvas.polygons([filled], REFERENCE_COLOUR, 0.3)
    canvas.line(reference_steps, REFERENCE_COLOUR, 1.1)
    if current is not None:
        current_steps = np.column_stack([steps_x, np.repeat(plot.y(current), 2)])
        canvas.line(current_steps, CURRENT_COLOUR, 2.0)
    y_ticks = _ticks(plot.ylim, 6)
    x_axis = _date_ticks(plot.xlim) if view.dates else _value_ticks(plot.xlim)
    canvas.value_axes(plot, x_axis, (y_ticks, _number_labels(y_ticks)), "density")
    below = _shares_text(view, 0)
    above = _shares_text(view, view.reference.size - 1)
    low_edge, high_edge = (value_text(e, dates=view.dates) for e in (edges[1], edges[-2]))
    canvas.text(
        plot.left,
        top + 2,
        f"below {low_edge}: {below}",
        ha="left",
        va="bottom",
        size=8,
        colour=MUTED,
    )
    canvas.text(
        plot.right,
        top + 2,
        f"{high_edge} and above: {above}",
        ha="right",
        va="bottom",
        size=8,
        colour=MUTED,
    )
    canvas.legend(plot.right - 4, top - 18, view.current is not None, bars=False, right=True)


def _discrete_bars(canvas: _Canvas, view: NumericView, bottom: float, top: float) -> None:
    positions = view.edges[: view.reference.size]
    gaps = np.diff(positions)
    width = 0.8 * float(gaps.min()) if gaps.size and gaps.min() > 0 else 0.8
    share_top = _largest_share(view)
    margin = 0.6 * width
    xlim = (float(positions[0]) - margin, float(positions[-1]) + margin)
    plot = _Plot(_VALUES_LEFT, bottom, _VALUES_RIGHT, top, xlim, (0.0, max(share_top * 1.2, 0.01)))
    for index in view.highlight:
        x0, x1 = plot.x([positions[index] - width / 2, positions[index] + width / 2])
        canvas.rects([(x0, bottom, x1, top)], OKABE_ITO["vermillion"], 0.1)
    _paired_bars(canvas, plot, positions, view.reference, view.current, slot=width, upright=True)
    if positions.size <= (6 if view.dates else 12):  # a tick at each value
        x_ticks = np.asarray(positions, dtype=np.float64)
        x_labels = (
            [value_text(p, dates=True) for p in x_ticks] if view.dates else _number_labels(x_ticks)
        )
        x_axis = (x_ticks, x_labels)
    else:
        x_axis = _date_ticks(plot.xlim) if view.dates else _value_ticks(plot.xlim)
    y_ticks = _ticks(plot.ylim, 6)
    y_axis = (y_ticks, _percent_labels(y_ticks, share_top))
    canvas.value_axes(plot, x_axis, y_axis, "share of rows")
    # above the bars, not over them: any bar can be the tallest
    canvas.legend(plot.left, top + 4, view.current is not None, bars=True)


def _paired_bars(
    canvas: _Canvas,
    plot: _Plot,
    positions: NDArray[np.float64],
    reference: NDArray[np.float64],
    current: NDArray[np.float64] | None,
    *,
    slot: float,
    alpha: float = 1.0,
    upright: bool = False,
) -> float:
    """Reference and current bars side by side in a ``slot`` at each position (the reference
    alone fills it), from zero: across the plot, or ``upright``. Returns each bar's offset
    from the position."""
    bar = slot / 2 if current is not None else slot
    offset = bar / 2 if current is not None else 0.0
    across, along = (plot.x, plot.y) if upright else (plot.y, plot.x)
    for shares, shift, colour in (
        (reference, -offset, REFERENCE_COLOUR),
        (current, offset, CURRENT_COLOUR),
    ):
        if shares is None:
            continue
        starts, ends = across(positions + shift - bar / 2), across(positions + shift + bar / 2)
        zero, tops = float(along(0.0)), along(shares)
        corners = [
            (a, zero, b, t) if upright else (zero, a, t, b)
            for a, b, t in zip(starts, ends, tops, strict=True)
        ]
        canvas.rects(corners, colour, alpha)
    return offset


def _side_panel(canvas: _Canvas, side: Sequence[SideSlot], bottom: float, top: float) -> None:
    """The shares that are not values, each with its value written at the bar's end."""
    positions = np.arange(len(side), dtype=np.float64)
    reference = np.array([s.reference for s in side])
    has_current = all(s.current is not None for s in side)
    current = np.array([s.current or 0.0 for s in side])
    largest = max(float(reference.max(initial=0)), float(current.max(initial=0)), 0.01)
    # a share too small to see beside a large one (0.2% never seen next to a 90% long tail)
    # is drawn a sliver wide; the value written beside it is exact
    drawn_reference, drawn_current = (
        np.where(shares > 0, np.maximum(shares, largest * _MIN_SIDE_BAR), 0.0)
        for shares in (reference, current)
    )
    plot = _Plot(
        _SIDE_LEFT, bottom, _SIDE_RIGHT, top, (0.0, largest * 1.6), (len(side) - 0.5, -0.5)
    )
    # lighter than the values' bars
    offset = _paired_bars(
        canvas,
        plot,
        positions,
        drawn_reference,
        drawn_current if has_current else None,
        slot=0.76,
        alpha=0.75,
    )
    pairs = [(positions - offset, reference, drawn_reference)]
    if has_current:
        pairs.append((positions + offset, current, drawn_current))
    for at, shares, drawn in pairs:
        for y, share, x in zip(plot.y(at), shares, plot.x(drawn + largest * 0.04), strict=True):
            canvas.text(x, y, format_share(share), ha="left", va="center", size=8)
    canvas.line([(plot.left, bottom), (plot.left, top)], "black", 0.8)
    canvas.y_ticks(plot, positions, [slot.label for slot in side], pad=3)
    canvas.text(
        (plot.left + plot.right) / 2,
        bottom - 6,
        "not values (own scale)",
        ha="center",
        va="top",
        size=8.5,
        colour=MUTED,
    )


def _value_range(edges: NDArray[np.float64]) -> tuple[float, float]:
    """The value axis of a step-density chart: the inner bins and at most a quarter of their
    span beyond, so a long tail (the reference's extreme values) is clipped rather than
    squeezing everything else; the whole range when there are no inner bins (two bins).
    Computed in halves: no overflow for edges near +-1e308.

    Examples
    --------
    >>> _value_range(np.array([-1e300, 0.0, 1.0, 2.0, 1e300]))
    (-0.5, 2.5)
    >>> _value_range(np.array([0.0, 1.0, 2.0, 3.0, 10.0]))
    (0.5, 3.5)
    >>> _value_range(np.array([0.0, 1e-4, 5.0]))  # two bins
    (0.0, 5.0)
    """
    inner_half = float(edges[-2] / 2 - edges[1] / 2) if edges.size > 3 else 0.0
    low = max(float(edges[0]), float(edges[1]) - 0.5 * inner_half)
    high = min(float(edges[-1]), float(edges[-2]) + 0.5 * inner_half)
    if not high > low:
        return float(edges[0]), float(edges[-1])
    return low, high


def _ticks(limits: tuple[float, float], most: int) -> NDArray[np.float64]:
    """Round tick values within ``limits`` (at most ``most`` + 1 of them)."""
    low, high = sorted(limits)
    if not high > low:
        return np.array([low])
    try:
        with np.errstate(over="raise", invalid="raise"):
            values = MaxNLocator(nbins=most, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    except (FloatingPointError, ValueError):  # a span near the float range: its ends
        return np.array([low, high])
    slack = (high - low) * 1e-9
    return values[(values >= low - slack) & (values <= high + slack)]


def _value_ticks(limits: tuple[float, float]) -> tuple[NDArray[np.float64], list[str]]:
    ticks = _ticks(limits, 8)
    return ticks, _number_labels(ticks)


def _date_ticks(limits: tuple[float, float]) -> tuple[NDArray[np.float64], list[str]]:
    """Ticks of seconds since the epoch where a calendar puts them (first of a month or year,
    whole days, hours or minutes: matplotlib's `AutoDateLocator`), labelled as dates; as
    plain numbers beyond the calendar."""
    from matplotlib.dates import AutoDateLocator  # only charts of dates need it

    low, high = limits
    try:
        start, end = (datetime.fromtimestamp(value, UTC) for value in (low, high))
        if not high > low:
            return np.array([low]), [value_text(low, dates=True)]
        days = AutoDateLocator(minticks=3, maxticks=6, tz=UTC).tick_values(start, end)
    except (OverflowError, OSError, ValueError):  # beyond the calendar
        return _value_ticks(limits)
    ticks = np.asarray(days, dtype=np.float64) * 86_400.0  # its numbers are days since 1970
    ticks = ticks[(ticks >= low) & (ticks <= high)]
    span = high - low
    form = "%Y-%m-%d" if span >= 2 * 86_400 else "%m-%d %H:%M" if span >= 600 else "%H:%M:%S"
    return ticks, [datetime.fromtimestamp(t, UTC).strftime(form) for t in ticks]


def _number_labels(values: ArrayLike) -> list[str]:
    """Tick labels with the decimals their spacing needs, and a true minus sign.

    From 1e-4 to a million, plain digits with thousands separators as `format_number` writes
    them; beyond, where such labels would run into each other or be rows of zeros, as few
    significant digits as tell them apart (``2e+06``).

    Examples
    --------
    >>> _number_labels([0.0, 0.25, 0.5])
    ['0.00', '0.25', '0.50']
    >>> _number_labels([-1.0, -0.5, 0.0])
    ['−1.0', '−0.5', '0.0']
    >>> _number_labels([0.0, 2.5, 5.0, 7.5])
    ['0.0', '2.5', '5.0', '7.5']
    >>> _number_labels([0.0, 20.0, 40.0])
    ['0', '20', '40']
    >>> _number_labels([0.0, 20000.0, 40000.0])
    ['0', '20,000', '40,000']
    >>> _number_labels([0.0, 5e-05, 1e-04])  # a density over values in the tens of thousands
    ['0.00000', '0.00005', '0.00010']
    >>> _number_labels([-1e-17, 0.5])
    ['0.0', '0.5']
    >>> _number_labels([1.7e9, 1.7005e9, 1.701e9])
    ['1.7e+09', '1.7005e+09', '1.701e+09']
    >>> _number_labels([0.0, 2e6, 4e6])
    ['0', '2e+06', '4e+06']
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return []
    largest = float(np.max(np.abs(values)))
    if largest >= 1e6 or 0 < largest < 1e-4:
        # as many significant digits as tell the ticks apart (seconds since the epoch of a
        # reference from before dates were told apart: 1.7e+09 six times otherwise)
        digits = next(
            (d for d in range(3, 16) if len({f"{v:.{d}g}" for v in values}) == values.size), 16
        )
        labels = [f"{v:.{digits}g}" for v in values]
    else:
        step = float(np.min(np.diff(values))) if values.size > 1 else largest or 1.0
        decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
        # one more where the spacing needs it (steps of 2.5 or 0.25)
        if not np.allclose(np.round(values, decimals), values, rtol=0, atol=step * 1e-6):
            decimals += 1
        rounded = np.round(values, decimals) + 0.0  # + 0.0: no "-0.0" for a tick at zero
        labels = [f"{v:,.{decimals}f}" for v in rounded]  # thousands as `format_number`
    return [label.replace("-", "\N{MINUS SIGN}") for label in labels]


def _percent_labels(values: NDArray[np.float64], top: float) -> list[str]:
    return [f"{v:.0%}" if top >= 0.05 else f"{v:.1%}" for v in values]


def _largest_share(view: NumericView | CategoricalView) -> float:
    current = 0.0 if view.current is None else float(np.max(view.current, initial=0.0))
    return max(float(np.max(view.reference, initial=0.0)), current)


def _shares_text(view: NumericView, index: int) -> str:
    reference = float(view.reference[index])
    if view.current is None:
        return format_share(reference)
    return format_share_change(reference, float(view.current[index]))


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    """A label as drawn: escaped (`printable`), then cut to ``limit`` characters."""
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
