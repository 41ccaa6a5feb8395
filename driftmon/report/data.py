"""What the pages show, derived from stored runs and reference profiles: no SQL, no drawing.

The functions here are pure: they take the store's dataclasses (`StoredRun`,
`StoredFeatureResult`, `Profile`) and return plain values the templates and figures consume.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftmon.bins import NUMERIC, BinSpec
from driftmon.compare import BinContribution
from driftmon.formatting import batch_label, format_number, visible_name
from driftmon.policy import SEVERITIES
from driftmon.profile import FeatureProfile
from driftmon.status import severity_order
from driftmon.store import StoredFeatureResult, StoredRun

__all__ = [
    "KL_FLOOR",
    "CategoricalView",
    "HeatCell",
    "Heatmap",
    "HistoryMatrix",
    "KlPanel",
    "KlPanels",
    "NumericView",
    "SideSlot",
    "Sparkline",
    "batch_label",
    "chart_view",
    "densities",
    "drifted_features",
    "flatten_settings",
    "heatmap",
    "history_matrix",
    "kl_panels",
    "most_moved",
    "severity_key",
    "sort_by_severity",
    "sparkline",
    "top_bin_changes",
    "verdict_sentence",
]

#: The statuses of features that drifted.
DRIFTED = SEVERITIES
OUT_OF_RANGE_LABEL = "outside reference range"
#: Categories a chart shows at most: the most changed and the most common of those kept.
MAX_CHART_CATEGORIES = 14
#: Value bins of a numeric chart shaded as the ones that changed most.
HIGHLIGHTED_BINS = 3
#: KL below this is drawn as this on log scales (KL can be exactly 0).
KL_FLOOR = 1e-4
#: matplotlib's cividis colour map at 33 even stops (readable by colour-blind people; tested
#: against matplotlib), so a heatmap can be coloured without loading matplotlib.
CIVIDIS = (
    "#00224e", "#00285b", "#002e6a", "#053371", "#1a386f", "#273e6e", "#32436d", "#3b496c",
    "#434e6c", "#4b546c", "#535a6d", "#5a5f6e", "#61656f", "#686a71", "#6f7073", "#767676",
    "#7d7c78", "#848279", "#8c8878", "#938e78", "#9b9476", "#a39a74", "#aba072", "#b4a76f",
    "#bcae6c", "#c4b468", "#cdbb63", "#d5c25e", "#dec958", "#e7d150", "#f0d846", "#f9e03a",
    "#fee838",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SideSlot:
    """A share that is not a value bin (missing, outside the range, long tail, never seen),
    drawn beside the values on its own scale so a small one stays visible."""

    label: str
    reference: float
    current: float | None


@dataclass(frozen=True, slots=True)
class NumericView:
    """A numeric feature on its value axis: the reference's bin ``edges`` (the outer ones are
    the reference's minimum and maximum), each value bin's share of rows, the bins that changed
    most (indices: the stored largest KL terms, as the page lists them) and the side slots.
    ``discrete`` features have one bin per value, ``edges[i]`` for bin ``i``; ``dates``
    values are seconds since the epoch, shown as dates."""

    edges: NDArray[np.float64]
    discrete: bool
    reference: NDArray[np.float64]
    current: NDArray[np.float64] | None
    highlight: tuple[int, ...]
    side: tuple[SideSlot, ...]
    dates: bool = False


@dataclass(frozen=True, slots=True)
class CategoricalView:
    """A categorical feature's kept categories that matter (the most changed and the most
    common, most common first) with their shares of rows, how many kept ones are not shown,
    and the side slots."""

    categories: tuple[str, ...]
    reference: NDArray[np.float64]
    current: NDArray[np.float64] | None
    n_hidden: int
    side: tuple[SideSlot, ...]


@dataclass(frozen=True, slots=True)
class HistoryMatrix:
    """KL of every feature in every run, ``(features, runs)``, runs oldest first.

    Runs are labelled by id and batch time (``#12 2026-11-03``, ``#13 11-03 06:00``).

    NaN (and False in ``drifted``) where a run did not measure the feature.
    """

    features: tuple[str, ...]
    run_labels: tuple[str, ...]
    run_ids: tuple[int, ...]
    kl: NDArray[np.float64]
    expected_kl: NDArray[np.float64]
    drifted: NDArray[np.bool_]


def severity_key(result: StoredFeatureResult) -> tuple[int, float, str]:
    """Sort key: `severity_order` of a stored feature result."""
    return severity_order(result.status, result.kl, result.feature)


def sort_by_severity(features: Sequence[StoredFeatureResult]) -> list[StoredFeatureResult]:
    """Drifted features first (critical, then warning), each group by decreasing KL."""
    return sorted(features, key=severity_key)


def verdict_sentence(run: StoredRun) -> str:
    """The run's verdict in one sentence: how many features drifted, which, how badly."""
    drifted = [f for f in sort_by_severity(run.features) if f.status in DRIFTED]
    total = len(run.features)
    if not drifted:
        return f"No feature drifted ({total} checked); verdict {run.verdict}."
    named = ", ".join(f"{visible_name(f.feature)} ({f.status})" for f in drifted)
    return f"{len(drifted)} of {total} features drifted: {named}."


def drifted_features(run: StoredRun) -> list[str]:
    """Names of the run's warning and critical features, most severe first."""
    return [f.feature for f in sort_by_severity(run.features) if f.status in DRIFTED]


def chart_view(
    reference: FeatureProfile, result: StoredFeatureResult
) -> NumericView | CategoricalView:
    """What a feature's chart shows: numeric features on their value axis, categorical ones as
    the categories that matter; missing, out-of-range, long-tail and never-seen shares apart.

    """
    spec = reference.spec
    reference_shares = _shares(reference.counts)
    counts = result.current_counts
    current_shares = (
        _shares(np.asarray(counts)) if counts is not None and len(counts) == spec.n_slots else None
    )
    missing = SideSlot(
        "missing",
        float(reference_shares[spec.missing_slot]),
        None if current_shares is None else float(current_shares[spec.missing_slot]),
    )
    if spec.kind == NUMERIC:
        n_values = len(spec.edges) - 1
        values_reference = reference_shares[:n_values]
        values_current = None if current_shares is None else current_shares[:n_values]
        outside = SideSlot(
            OUT_OF_RANGE_LABEL,
            float(result.unseen_share_reference or 0.0),
            None if current_shares is None else float(result.unseen_share_current or 0.0),
        )
        # the bins the page lists as the largest changes (by their KL terms), so the shading
        # and the list agree; by the change of share when none was stored
        position = {
            **{label: i for i, label in enumerate(_labels_before_plain_digits(spec))},
            **{label: i for i, label in enumerate(spec.labels()[:n_values])},
        }
        listed = [position[b.label] for b in result.top_bins or () if b.label in position]
        highlight = tuple(listed[:HIGHLIGHTED_BINS])
        if not highlight and values_current is not None:
            change = np.abs(values_current - values_reference)
            order = np.argsort(-change, kind="stable")[:HIGHLIGHTED_BINS]
            highlight = tuple(int(i) for i in order if change[i] > 0)
        return NumericView(
            edges=np.asarray(spec.edges, dtype=np.float64),
            discrete=spec.discrete,
            reference=values_reference,
            current=values_current,
            highlight=highlight,
            side=(outside, missing),
            dates=spec.dates,
        )
    n_kept = len(spec.categories)
    kept_reference = reference_shares[:n_kept]
    kept_current = None if current_shares is None else current_shares[:n_kept]
    common = np.maximum(kept_reference, 0 if kept_current is None else kept_current)
    half = MAX_CHART_CATEGORIES // 2
    chosen = list(np.argsort(-common, kind="stable")[:half])
    if kept_current is not None:
        changed = np.argsort(-np.abs(kept_current - kept_reference), kind="stable")
        chosen += [i for i in changed[:half] if i not in chosen]
    chosen += [i for i in np.argsort(-common, kind="stable") if i not in chosen]
    shown = sorted(chosen[:MAX_CHART_CATEGORIES], key=lambda i: (-common[i], i))
    side = (
        SideSlot(
            "long tail (seen, not kept)",
            float(result.other_share_reference or 0.0),
            None if current_shares is None else float(result.other_share_current or 0.0),
        ),
        SideSlot(
            "never seen",
            float(result.unseen_share_reference or 0.0),
            None if current_shares is None else float(result.unseen_share_current or 0.0),
        ),
        missing,
    )
    return CategoricalView(
        categories=tuple(spec.categories[i] for i in shown),
        reference=kept_reference[shown],
        current=None if kept_current is None else kept_current[shown],
        n_hidden=n_kept - len(shown),
        side=side,
    )


def _labels_before_plain_digits(spec: BinSpec) -> list[str]:
    """A numeric spec's value labels as runs stored before labels used `format_number` name
    their top bins (``[1.39e+04, 1.57e+04)``, Python's ``.4g``): such a run's listed bins are
    still found on the chart. Dates read as they did."""
    if spec.dates:
        return []
    text = [f"{edge:.4g}" for edge in spec.edges]
    m = len(text) - 1
    if spec.discrete:
        return [f"= {text[i]}" for i in range(m)]
    lows, highs = ["-inf", *text[1:m]], [*text[1:m], "inf"]
    return [f"[{low}, {high})" for low, high in zip(lows, highs, strict=True)]


def densities(edges: NDArray[np.float64], shares: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each bin's share divided by its width: the height of a density drawn over the bins.

    A bin of zero width (one repeated value) is drawn a thousandth of the range wide; a width
    beyond the floats (edges near +-1e308) gives density 0.

    Examples
    --------
    >>> densities(np.array([0.0, 1.0, 3.0, 3.0]), np.array([0.5, 0.5, 0.0])).tolist()
    [0.5, 0.25, 0.0]
    """
    edges = np.asarray(edges, dtype=np.float64)
    half_span = float(edges[-1] / 2 - edges[0] / 2)
    with np.errstate(over="ignore"):
        widths = np.diff(edges)
    widths = np.where(widths > 0, widths, half_span * 2e-3 or 1.0)
    return np.asarray(shares, dtype=np.float64) / widths


def top_bin_changes(result: StoredFeatureResult) -> list[BinContribution]:
    """The stored top contributing bins of a feature, largest contribution first."""
    return list(result.top_bins)


def history_matrix(runs: Sequence[StoredRun], order: Sequence[str] = ()) -> HistoryMatrix:
    """Features x runs matrices of KL, expected no-drift KL and drift, from runs oldest first.

    Features follow ``order`` first, then any others in order of first appearance.
    """
    names = list(dict.fromkeys([*order, *(f.feature for r in runs for f in r.features)]))
    row = {name: i for i, name in enumerate(names)}
    kl = np.full((len(names), len(runs)), np.nan)
    expected = np.full_like(kl, np.nan)
    drifted = np.zeros(kl.shape, dtype=bool)
    for column, run in enumerate(runs):
        for result in run.features:
            i = row[result.feature]
            kl[i, column] = np.nan if result.kl is None else result.kl
            if result.expected_kl_no_drift is not None:
                expected[i, column] = result.expected_kl_no_drift
            drifted[i, column] = result.status in DRIFTED
    return HistoryMatrix(
        features=tuple(names),
        run_labels=tuple(_run_label(r) for r in runs),
        run_ids=tuple(r.id for r in runs),
        kl=kl,
        expected_kl=expected,
        drifted=drifted,
    )


@dataclass(frozen=True, slots=True)
class HeatCell:
    """One feature in one run: background and text colour, a tooltip, and drift."""

    colour: str
    ink: str
    title: str
    drifted: bool


@dataclass(frozen=True, slots=True)
class Heatmap:
    """KL of every feature in every run as coloured table cells (log colour scale)."""

    features: tuple[str, ...]
    run_labels: tuple[str, ...]
    rows: tuple[tuple[HeatCell, ...], ...]
    low: float
    high: float
    gradient: str  # the colour scale as a CSS gradient, for the legend


def heatmap(matrix: HistoryMatrix) -> Heatmap:
    """The history matrix as a table of colours: KL on a log scale from the smallest measured
    KL (at least `KL_FLOOR`) to the largest, in cividis; unmeasured cells white.

    Examples
    --------
    >>> m = HistoryMatrix(("x",), ("#1", "#2"), (1, 2), np.array([[0.001, 0.5]]),
    ...                   np.array([[0.01, 0.01]]), np.array([[False, True]]))
    >>> [(cell.colour, cell.drifted) for cell in heatmap(m).rows[0]]
    [('#00224e', False), ('#fee838', True)]
    """
    kl = np.asarray(matrix.kl, dtype=np.float64)
    finite = kl[np.isfinite(kl)]
    low = max(KL_FLOOR, float(finite.min())) if finite.size else KL_FLOOR
    high = max(float(finite.max()) if finite.size else 1.0, low * 10)
    with np.errstate(invalid="ignore", divide="ignore"):
        position = (np.log10(np.maximum(kl, low)) - np.log10(low)) / np.log10(high / low)
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in CIVIDIS], dtype=float)
    grid = np.linspace(0.0, 1.0, len(CIVIDIS))
    rgb = np.rint(
        np.stack(
            [np.interp(np.nan_to_num(position, nan=0.0), grid, stops[:, k]) for k in range(3)],
            -1,
        )
    ).astype(np.int64)
    dark = (rgb @ np.array([0.299, 0.587, 0.114])) < 140
    rows = []
    for i, feature in enumerate(matrix.features):
        cells = []
        for j, run_label in enumerate(matrix.run_labels):
            value = kl[i, j]
            drifted = bool(matrix.drifted[i, j])
            if not np.isfinite(value):
                cells.append(
                    HeatCell("#ffffff", "#1d1d1f", f"{feature} · {run_label}: not measured", False)
                )
                continue
            red, green, blue = rgb[i, j].tolist()
            cells.append(
                HeatCell(
                    colour=f"#{red:02x}{green:02x}{blue:02x}",
                    ink="#ffffff" if dark[i, j] else "#1d1d1f",
                    title=f"{feature} · {run_label}: KL {_kl_text(value)}"
                    + (", drifted" if drifted else ""),
                    drifted=drifted,
                )
            )
        rows.append(tuple(cells))
    gradient = "linear-gradient(to right, " + ", ".join(CIVIDIS) + ")"
    return Heatmap(matrix.features, matrix.run_labels, tuple(rows), low, high, gradient)


@dataclass(frozen=True, slots=True)
class Sparkline:
    """A tiny KL-over-runs line for the status board, in SVG user units: ``points`` for a
    ``<polyline>``, ``dots`` (x, y) where a run drifted, ``last`` the newest measured run (a
    single run draws no line), on a log scale from `KL_FLOOR`."""

    width: int
    height: int
    points: str
    dots: tuple[tuple[float, float], ...]
    last: tuple[float, float] | None


def sparkline(
    kl: Sequence[float | None], drifted: Sequence[bool], *, width: int = 120, height: int = 26
) -> Sparkline:
    """Each run's largest KL (oldest first; None: not measured) as a line on a log scale from
    `KL_FLOOR` to the largest of 1 and the values, drifted runs marked.

    Examples
    --------
    >>> line = sparkline([0.0001, None, 1.0], [False, False, True], width=100, height=20)
    >>> line.points, line.dots, line.last
    ('2.0,18.0 98.0,2.0', ((98.0, 2.0),), (98.0, 2.0))
    """
    values = _floats(kl)
    margin = 2.0
    finite = values[np.isfinite(values)]
    high = max(0.0, float(np.log10(max(finite.max(), KL_FLOOR)))) if finite.size else 0.0
    n = values.size
    xs = np.linspace(margin, width - margin, n) if n > 1 else np.full(n, width / 2, dtype=float)
    ys = height - margin - _log_share(values, high) * (height - 2 * margin)
    measured = np.isfinite(values)
    points = _points(xs[measured], ys[measured])
    marked = measured & np.asarray(list(drifted) or [False] * n, dtype=bool)
    dots = tuple(
        (round(float(x), 1), round(float(y), 1))
        for x, y in zip(xs[marked], ys[marked], strict=True)
    )
    last = (
        (round(float(xs[measured][-1]), 1), round(float(ys[measured][-1]), 1))
        if measured.any()
        else None
    )
    return Sparkline(width, height, points, dots, last)


@dataclass(frozen=True, slots=True)
class KlPanel:
    """One feature's panel of `KlPanels`, in SVG user units: its frame, the KL line and the
    no-drift band as point lists, drifted runs (x, y, tooltip), the warning threshold's height,
    the log grid's
    heights, and the tick and run labels it carries (the first column and the last row).
    ``label`` is the name as drawn, shortened to fit; ``name`` the whole one, for tooltips."""

    name: str
    label: str
    x: float
    y: float
    width: float
    height: float
    line: str
    band: str
    dots: tuple[tuple[float, float, str], ...]
    threshold: float | None
    grid: tuple[float, ...]
    ticks: tuple[tuple[float, str], ...]
    run_labels: tuple[tuple[float, str, str], ...]


@dataclass(frozen=True, slots=True)
class KlPanels:
    """Small multiples of KL over runs (log scale), one panel per feature, for inline SVG."""

    width: float
    height: float
    panels: tuple[KlPanel, ...]


#: Layout of `kl_panels`, in px: the width of the page's charts, four panels a row.
PANELS_WIDTH, PANEL_COLUMNS = 864, 4
_TICKS_WIDTH, _PANEL_GAP, _PANEL_HEIGHT, _TITLE_HEIGHT, _RUN_LABEL_HEIGHT = 40, 14, 80, 20, 16


def most_moved(matrix: HistoryMatrix, limit: int) -> list[int]:
    """Rows of the features that drifted in these runs, the most moved first (largest ratio
    of KL to its no-drift expectation; a feature never measured ranks last), at most
    ``limit``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = matrix.kl / np.maximum(matrix.expected_kl, 1e-12)
    moved = np.where(np.isnan(ratio), -1.0, ratio).max(axis=1, initial=-1.0)
    drifted = np.flatnonzero(matrix.drifted.any(axis=1)).tolist()
    return sorted(drifted, key=lambda i: -moved[i])[:limit]


def kl_panels(
    matrix: HistoryMatrix,
    rows: Sequence[int],
    *,
    kl_warning: float | None,
    name_chars: int = 30,
) -> KlPanels:
    """The KL over the runs of the matrix's ``rows`` (features), one panel each, on a shared
    log scale from `KL_FLOOR` to the next decade above 1, the values and the threshold:
    drifted runs marked, the warning threshold, and, as a band, the KL sampling noise alone
    gives (``expected_kl``): a line inside the band is indistinguishable from no drift. Drawn
    as SVG by the page, not by matplotlib: the dataset page redraws it on every check, which
    would otherwise load matplotlib (0.5 s) for every check after any drift in the window.

    Examples
    --------
    >>> matrix = HistoryMatrix(("amount",), ("#1", "#2", "#3"), (1, 2, 3),
    ...     kl=np.array([[0.001, np.nan, 0.5]]), expected_kl=np.full((1, 3), 0.001),
    ...     drifted=np.array([[False, False, True]]))
    >>> panel = kl_panels(matrix, [0], kl_warning=0.1).panels[0]
    >>> panel.line, panel.dots
    ('43.0,80.0 232.5,26.0', ((232.5, 26.0, '#3: KL 0.5, drifted'),))
    >>> [label for _, label in panel.ticks]
    ['0.0001', '0.001', '0.01', '0.1', '1']
    """
    run_labels = matrix.run_labels
    n_runs = len(run_labels)
    if kl_warning is not None and not math.isfinite(kl_warning):
        kl_warning = None
    shown = np.concatenate([matrix.kl[list(rows)], matrix.expected_kl[list(rows)]], axis=None)
    values = shown[np.isfinite(shown)]
    low = float(np.log10(KL_FLOOR))
    high = float(np.ceil(np.log10(max([1.0, *values.tolist(), kl_warning or 0.0]))))
    decades = np.arange(low, high + 1, 2 if high - low > 4 else 1)
    columns = min(PANEL_COLUMNS, max(len(rows), 1))
    panel_width = (PANELS_WIDTH - _TICKS_WIDTH - (PANEL_COLUMNS - 1) * _PANEL_GAP) / PANEL_COLUMNS
    row_height = _TITLE_HEIGHT + _PANEL_HEIGHT + _RUN_LABEL_HEIGHT
    n_rows = -(-len(rows) // columns)
    margin = 3.0
    steps = np.linspace(margin, panel_width - margin, n_runs) if n_runs > 1 else np.full(1, 0.5)

    def level(kl: NDArray[np.float64], top: float) -> NDArray[np.float64]:
        return np.round(top + _PANEL_HEIGHT * (1.0 - _log_share(kl, high)), 1)

    panels = []
    for index, row_index in enumerate(rows):
        name = matrix.features[row_index]
        row, column = divmod(index, columns)
        left = _TICKS_WIDTH + column * (panel_width + _PANEL_GAP)
        top = row * row_height + _TITLE_HEIGHT
        bottom = top + _PANEL_HEIGHT
        xs = np.round(left + (steps if n_runs > 1 else steps * panel_width), 1)[:n_runs]
        kl = matrix.kl[row_index]
        measured = np.isfinite(kl)
        expected = level(np.nan_to_num(matrix.expected_kl[row_index], nan=KL_FLOOR), top)
        drifted = matrix.drifted[row_index] & measured
        grid = level(10.0**decades, top)
        last_in_column = index + columns >= len(rows)
        panels.append(
            KlPanel(
                name=name,
                label=_fit(name, name_chars),
                x=round(left, 1),
                y=float(top),
                width=round(panel_width, 1),
                height=float(_PANEL_HEIGHT),
                line=_points(xs[measured], level(kl[measured], top)),
                band=_points(
                    np.concatenate(([xs[0]], xs, [xs[-1]])) if n_runs else xs,
                    np.concatenate(([bottom], expected, [bottom])) if n_runs else expected,
                ),
                dots=tuple(
                    (float(x), float(y), f"{run_labels[i]}: KL {_kl_text(kl[i])}, drifted")
                    for i, x, y in zip(
                        np.flatnonzero(drifted), xs[drifted], level(kl[drifted], top), strict=True
                    )
                ),
                threshold=None
                if kl_warning is None
                else float(level(np.array([kl_warning]), top)[0]),
                grid=tuple(float(y) for y in grid),
                ticks=tuple(
                    (float(y), f"{10.0**decade:g}") for y, decade in zip(grid, decades, strict=True)
                )
                if column == 0
                else (),
                run_labels=(
                    (float(xs[0]), run_labels[0], "start"),
                    (float(xs[-1]), run_labels[-1], "end"),
                )
                if last_in_column and n_runs > 1
                else (),
            )
        )
    width = _TICKS_WIDTH + columns * panel_width + (columns - 1) * _PANEL_GAP
    return KlPanels(round(width, 1), float(n_rows * row_height), tuple(panels))


def _fit(text: str, columns: int) -> str:
    """``text`` cut to ``columns`` character widths (wide East Asian characters take two)."""
    widths = [2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text]
    if sum(widths) <= columns:
        return text
    kept, used = [], 1  # room for the ellipsis
    for character, width in zip(text, widths, strict=True):
        if used + width > columns:
            break
        kept.append(character)
        used += width
    return "".join(kept) + "…"


def _log_share(kl: NDArray[np.float64], high: float) -> NDArray[np.float64]:
    """Where KL sits on a log scale from `KL_FLOOR` (0) to ``10**high`` (1), clipped."""
    low = np.log10(KL_FLOOR)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (np.log10(np.maximum(kl, KL_FLOOR)) - low) / max(high - low, 1e-9)
    return np.clip(share, 0.0, 1.0)


def _floats(values: Sequence[float | None]) -> NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _points(xs: NDArray[np.float64], ys: NDArray[np.float64]) -> str:
    """Coordinates as an SVG ``points`` attribute."""
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def flatten_settings(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as ``(dotted.key, value)`` pairs, in stored order.

    Examples
    --------
    >>> flatten_settings({"alpha": 0.5, "thresholds": {"kl_warning": 0.02}})
    [('alpha', '0.5'), ('thresholds.kl_warning', '0.02')]
    """
    pairs: list[tuple[str, str]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            pairs += flatten_settings(value, f"{name}.")
        else:
            pairs.append((name, _setting_text(value)))
    return pairs


def _run_label(run: StoredRun) -> str:
    """Short and chronological: batch keys can be long file descriptions."""
    moment = run.batch_time
    if (moment.hour, moment.minute) == (0, 0):
        return f"#{run.id} {moment:%Y-%m-%d}"
    return f"#{run.id} {moment:%m-%d %H:%M}"


def _kl_text(value: float) -> str:
    """A KL figure in a tooltip: three significant digits, `format_number`'s way."""
    return format_number(float(value), 3, trailing_zeros=False)


def _setting_text(value: Any) -> str:
    if isinstance(value, float):
        return format_number(value, 6, trailing_zeros=False)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if value is None:
        return "(not set)"
    return str(value)


def _shares(counts: NDArray[np.integer] | NDArray[np.floating]) -> NDArray[np.float64]:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)
