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
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from numpy.typing import NDArray

from driftmon.report.data import KL_FLOOR

__all__ = [
    "OKABE_ITO",
    "FeatureHistory",
    "distribution_chart",
    "kl_history_chart",
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
#: Value bins drawn at most per distribution chart; the rest are summed into one bar.
MAX_BARS = 30
_LABEL_CHARS = 28
_WIDTH = 4.6


@dataclass(frozen=True, slots=True)
class FeatureHistory:
    """One feature's KL over runs (oldest first); None where the run did not measure it.

    ``drifted`` marks runs where the policy rated the feature warning or critical.
    """

    name: str
    kl: tuple[float | None, ...]
    expected_kl: tuple[float | None, ...]
    drifted: tuple[bool, ...]


def distribution_chart(
    labels: Sequence[str],
    reference_shares: NDArray[np.float64],
    current_shares: NDArray[np.float64] | None,
    *,
    special: Sequence[bool] = (),
) -> str:
    """Horizontal grouped bars of reference vs current share per slot, as a PNG data URI.

    ``special`` marks slots that are not value bins (missing, other, out of range); they are
    drawn hatched below a gap. Slots beyond `MAX_BARS` value bins are summed into one bar
    named after how many bins it holds. ``current_shares`` None draws the reference only.
    """
    labels = list(labels)
    reference_shares = np.asarray(reference_shares, dtype=np.float64)
    current = None if current_shares is None else np.asarray(current_shares, dtype=np.float64)
    special_mask = np.asarray(list(special) or [False] * len(labels), dtype=bool)
    labels, reference_shares, current, special_mask = _fold_small_bins(
        labels, reference_shares, current, special_mask
    )
    n = len(labels)
    # positions top to bottom, with a gap before the special slots
    positions = np.arange(n, dtype=np.float64) + np.where(special_mask, 0.6, 0.0)
    height = 0.75 + 0.17 * n + (0.1 if special_mask.any() else 0.0)
    fig = Figure(figsize=(_WIDTH, height), dpi=DPI)
    # fixed margins sized to the labels: constrained layout would cost most of the time
    left = (max(len(_short(label)) for label in labels) * 5.0 + 14) / (_WIDTH * DPI)
    fig.subplots_adjust(left=min(left, 0.5), right=0.97, top=1 - 0.1 / height, bottom=0.45 / height)
    ax = fig.add_subplot()
    bar = 0.4 if current is not None else 0.7
    hatch = ["//" if s else "" for s in special_mask]
    offset = bar / 2 if current is not None else 0.0
    ax.barh(
        positions - offset,
        reference_shares,
        height=bar,
        color=REFERENCE_COLOUR,
        hatch=hatch,
        edgecolor="white",
        linewidth=0,
        label="reference",
    )
    if current is not None:
        ax.barh(
            positions + offset,
            current,
            height=bar,
            color=CURRENT_COLOUR,
            hatch=hatch,
            edgecolor="white",
            linewidth=0,
            label="current",
        )
    ax.set_yticks(positions, [_short(label) for label in labels], parse_math=False, fontsize=7.5)
    ax.invert_yaxis()
    top = max(float(reference_shares.max(initial=0)), float(np.max(current, initial=0.0)))
    ax.set_xlim(0, max(top * 1.08, 0.01))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}" if top >= 0.05 else f"{x:.1%}")
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    ax.set_xlabel("share of rows", fontsize=7)
    return _to_data_uri(fig)


def kl_history_chart(
    histories: Sequence[FeatureHistory],
    run_labels: Sequence[str],
    *,
    kl_warning: float | None,
    columns: int = 4,
) -> str:
    """Small multiples of KL over runs, one panel per feature, as a PNG data URI.

    Each panel shows KL (log scale) with drifted runs marked, the warning threshold as a dashed
    line and, shaded, KL up to what sampling noise alone gives on average
    (``expected_kl_no_drift``): a line inside the band is indistinguishable from no drift.
    All panels are drawn in one Axes as a few collections: one Axes per feature would cost
    a second for 25 features.
    """
    n = max(len(histories), 1)
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    n_runs = len(run_labels)
    values = [v for h in histories for v in (*h.kl, *h.expected_kl) if v is not None]
    low = math.log10(KL_FLOOR)
    high = math.ceil(math.log10(max([1.0, *values, kl_warning or 0.0])))

    def scale(kl: NDArray[np.float64]) -> NDArray[np.float64]:
        return (np.log10(np.maximum(kl, KL_FLOOR)) - low) / (high - low)

    gap_x, gap_y = 0.1, 0.42
    xs = np.linspace(0.03, 0.97, n_runs) if n_runs > 1 else np.array([0.5])
    frames, bands, lines, markers, grid, thresholds = [], [], [], [], [], []
    decades = np.arange(low, high + 1, 2 if high - low > 4 else 1)
    fig = Figure(figsize=(2.4 * columns + 0.6, 0.55 + 1.25 * rows), dpi=DPI)
    fig.subplots_adjust(left=0.07, right=0.995, top=0.99, bottom=0.45 / (0.55 + 1.25 * rows))
    ax = fig.add_subplot()
    for index, history in enumerate(histories):
        row, column = divmod(index, columns)
        x0, y0 = column * (1 + gap_x), -row * (1 + gap_y)
        x = x0 + xs
        frames.append([(x0, y0), (x0 + 1, y0), (x0 + 1, y0 + 1), (x0, y0 + 1)])
        for decade in decades:
            level = y0 + (decade - low) / (high - low)
            grid.append([(x0, level), (x0 + 1, level)])
        expected = scale(np.nan_to_num(_as_float(history.expected_kl), nan=KL_FLOOR))
        bands.append([(x[0], y0), *zip(x, y0 + expected, strict=True), (x[-1], y0)])
        if kl_warning is not None:
            level = y0 + scale(np.array([kl_warning]))[0]
            thresholds.append([(x0, level), (x0 + 1, level)])
        kl = _as_float(history.kl)
        measured = ~np.isnan(kl)
        lines.append(np.column_stack((x[measured], y0 + scale(kl[measured]))))
        drifted = np.asarray(history.drifted, dtype=bool) & measured
        markers.append(np.column_stack((x[drifted], y0 + scale(kl[drifted]))))
        ax.text(x0, y0 + 1.05, _short(history.name), fontsize=8, parse_math=False)
        if column == 0:
            for decade in decades:
                ax.text(
                    x0 - 0.03,
                    y0 + (decade - low) / (high - low),
                    f"{10.0**decade:g}",
                    fontsize=6,
                    ha="right",
                    va="center",
                )
        last_in_column = index + columns >= len(histories)
        if last_in_column and n_runs:
            for position, label in ((0, run_labels[0]), (-1, run_labels[-1])):
                ax.text(
                    x[position],
                    y0 - 0.06,
                    _short(label, 16),
                    fontsize=6,
                    ha="left" if position == 0 else "right",
                    va="top",
                    parse_math=False,
                )
    ax.add_collection(PolyCollection(bands, facecolors=OKABE_ITO["sky"], alpha=0.35, lw=0))
    ax.add_collection(LineCollection(grid, colors="#e6e6e6", linewidths=0.5))
    ax.add_collection(
        LineCollection(thresholds, colors=OKABE_ITO["vermillion"], linewidths=0.8, linestyles="--")
    )
    ax.add_collection(LineCollection(lines, colors=OKABE_ITO["black"], linewidths=1.0))
    ax.add_collection(
        PolyCollection(frames, facecolors="none", edgecolors="#999999", linewidths=0.6)
    )
    points = np.concatenate(markers) if markers else np.empty((0, 2))
    ax.plot(*points.T, linestyle="none", marker="o", markersize=3.5, color=OKABE_ITO["vermillion"])
    ax.set_xlim(-0.36, columns * (1 + gap_x) - gap_x + 0.01)
    ax.set_ylim(-(rows - 1) * (1 + gap_y) - 0.3, 1.25)
    ax.set_axis_off()
    ax.text(-0.34, 0.5, "KL (log)", rotation=90, fontsize=7, va="center")
    return _to_data_uri(fig)


# --------------------------------------------------------------------------------------------


def _fold_small_bins(
    labels: list[str],
    reference: NDArray[np.float64],
    current: NDArray[np.float64] | None,
    special: NDArray[np.bool_],
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.bool_]]:
    """Keep the `MAX_BARS` value bins with the largest share (in bin order); sum the rest."""
    values = np.flatnonzero(~special)
    if values.size <= MAX_BARS:
        return labels, reference, current, special
    weight = np.maximum(reference[values], current[values] if current is not None else 0)
    kept = np.sort(values[np.argsort(-weight, kind="stable")[: MAX_BARS - 1]])
    dropped = np.setdiff1d(values, kept)
    order = [*kept, *np.flatnonzero(special)]

    def fold(shares: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.concatenate((shares[kept], [shares[dropped].sum()], shares[special]))

    new_labels = [labels[i] for i in kept] + [f"{dropped.size} more bins"]
    new_labels += [labels[i] for i in order[len(kept) :]]
    new_special = np.concatenate((np.zeros(kept.size + 1, dtype=bool), special[special]))
    return new_labels, fold(reference), None if current is None else fold(current), new_special


def _run_ticks(ax, run_labels: Sequence[str], *, fontsize: int, max_ticks: int) -> None:
    n = len(run_labels)
    if n == 0:
        return
    step = max(1, math.ceil(n / max_ticks))
    ticks = list(range(n - 1, -1, -step))[::-1]  # always label the newest run
    ax.set_xticks(
        ticks,
        [_short(run_labels[i], 14) for i in ticks],
        rotation=35,
        ha="right",
        fontsize=fontsize,
        parse_math=False,
    )


def _as_float(values: Sequence[float | None]) -> NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


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
