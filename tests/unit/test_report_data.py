"""The heatmap's colours, computed without matplotlib, against matplotlib's own cividis."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import LogNorm, to_hex, to_rgb
from numpy.typing import ArrayLike

from driftmon.report.data import CIVIDIS, KL_FLOOR, HistoryMatrix, heatmap


def _matrix(
    kl: ArrayLike,
    drifted: ArrayLike | None = None,
    *,
    names: Sequence[str] | None = None,
    runs: Sequence[str] | None = None,
    expected_kl: ArrayLike | None = None,
) -> HistoryMatrix:
    """A features x runs history; None in ``kl`` or ``expected_kl`` reads as not measured."""
    kl = np.array(kl, dtype=np.float64)
    n_features, n_runs = kl.shape
    return HistoryMatrix(
        features=tuple(names or (f"f{i}" for i in range(n_features))),
        run_labels=tuple(runs or (f"#{j}" for j in range(n_runs))),
        run_ids=tuple(range(n_runs)),
        kl=kl,
        expected_kl=np.full_like(kl, 0.01)
        if expected_kl is None
        else np.array(expected_kl, dtype=np.float64),
        drifted=np.zeros(kl.shape, dtype=bool) if drifted is None else np.array(drifted, bool),
    )


def test_the_colour_stops_are_matplotlibs_cividis() -> None:
    cividis = matplotlib.colormaps["cividis"]
    assert list(CIVIDIS) == [to_hex(cividis(x)) for x in np.linspace(0.0, 1.0, len(CIVIDIS))]


def test_cell_colours_follow_cividis_on_a_log_scale_within_a_few_levels() -> None:
    rng = np.random.default_rng(7)
    kl = 10.0 ** rng.uniform(-5.0, 0.0, (6, 9))
    kl[0, 0], kl[1, 1] = 0.0, np.nan  # exactly 0 (drawn at the floor) and not measured
    drawn = heatmap(_matrix(kl))

    finite = kl[np.isfinite(kl)]
    low = max(KL_FLOOR, finite.min())
    norm = LogNorm(vmin=low, vmax=finite.max())
    cividis = matplotlib.colormaps["cividis"]
    for i in range(kl.shape[0]):
        for j in range(kl.shape[1]):
            cell = drawn.rows[i][j]
            if np.isnan(kl[i, j]):
                assert cell.colour == "#ffffff" and "not measured" in cell.title
                continue
            expected = np.array(to_rgb(cividis(norm(max(kl[i, j], low)))))
            assert (
                np.abs(np.array(to_rgb(cell.colour)) - expected).max() < 8 / 255
            )  # linear between 17 stops: within 3% of the scale
    assert (drawn.low, drawn.high) == (pytest.approx(low), pytest.approx(finite.max()))


def test_drifted_cells_are_marked_and_titles_carry_the_value() -> None:
    kl = np.array([[0.002, 0.3]])
    drawn = heatmap(_matrix(kl, np.array([[False, True]])))
    quiet, drifted = drawn.rows[0]
    assert (quiet.drifted, drifted.drifted) == (False, True)
    assert quiet.title == "f0 · #0: KL 0.002"
    assert drifted.title == "f0 · #1: KL 0.3, drifted"
    assert drifted.ink == "#1d1d1f" and quiet.ink == "#ffffff"  # dark text on yellow only


def test_a_batch_is_labelled_by_its_file_name_or_its_given_key() -> None:
    from driftmon.report.data import batch_label

    assert batch_label("/data/feeds/2026-11-25.csv.gz|383547|1796013478487772554") == (
        "2026-11-25.csv.gz"
    )
    assert batch_label("2026-11-25") == "2026-11-25"
    assert batch_label("a|b") == "a|b"  # a key given with --batch-key stays as it is


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/feed/2026-11-25/part-0.parquet", "2026-11-25/part-0.parquet"),  # pyarrow
        ("/out/orders/part.12.parquet", "orders/part.12.parquet"),  # Dask
        (
            "/lake/orders/year=2026/month=11/part-00003-9f1c-c000.snappy.parquet",  # Spark
            "orders/year=2026/month=11/part-00003-9f1c-c000.snappy.parquet",
        ),
        (  # pandas / pyarrow partition_cols
            "/tmp/orders/p=u/2fdc3611323940bdadb8997fc2100bc9-0.parquet",
            "orders/p=u/2fdc3611323940bdadb8997fc2100bc9-0.parquet",
        ),
        ("/feed/partners.csv", "partners.csv"),
        ("/feed/20261125.parquet", "20261125.parquet"),
        ("/p=u/part-0.parquet", "p=u/part-0.parquet"),
    ],
)
def test_a_part_file_of_a_dataset_folder_is_labelled_with_its_folder(path: str, label: str) -> None:
    from driftmon.report.data import batch_label

    assert batch_label(f"{path}|7250|1796150504246469750") == label


def _view(reference: pd.DataFrame, batch: pd.DataFrame, name: str, **fit: object):
    from driftmon.compare import compare
    from driftmon.profile import fit_specs, profile_frame
    from driftmon.report.data import chart_view
    from driftmon.store import StoredFeatureResult

    specs = fit_specs(reference, **fit)
    reference_profile = profile_frame(reference, specs)
    batch_profile = profile_frame(batch, specs)
    result = compare(reference_profile, batch_profile).feature(name)
    counts = batch_profile.features[name].counts.tolist()
    stored = StoredFeatureResult(id=1, run_id=1, status="ok", result=result, current_counts=counts)
    return chart_view(reference_profile.features[name], stored), specs[name], batch_profile, stored


def test_a_numeric_chart_keeps_the_value_axis_and_sets_missing_and_outside_apart() -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 10_000)})
    batch_values = np.concatenate([rng.normal(0.8, 1, 900), [50.0] * 50, [np.nan] * 50])
    view, spec, batch, stored = _view(reference, pd.DataFrame({"x": batch_values}), "x")
    assert view.edges.tolist() == list(spec.edges)  # the reference's own edges, min and max
    n_values = len(spec.edges) - 1
    counts = batch.features["x"].counts
    np.testing.assert_allclose(view.current, counts[:n_values] / 1_000)
    np.testing.assert_allclose(view.reference.sum(), 1.0)  # no missing in the reference
    assert [s.label for s in view.side] == ["outside reference range", "missing"]
    low, high = reference["x"].min(), reference["x"].max()
    outside = np.count_nonzero((batch_values < low) | (batch_values > high))  # 50.0s and more
    assert outside >= 50 and view.side[0].current == pytest.approx(outside / 1_000)
    assert view.side[1].current == pytest.approx(0.05) and view.side[1].reference == 0.0
    # the shaded bins are the ones the page lists as the largest changes, in its order
    labels = spec.labels()
    listed = [b.label for b in stored.top_bins if b.label in labels[:n_values]]
    assert [labels[i] for i in view.highlight] == listed[:3]
    assert n_values - 1 in view.highlight  # the top bin, holding the 50.0s


def test_a_run_stored_with_exponent_labels_still_shades_the_bins_it_lists() -> None:
    """Runs stored before bin labels wrote plain digits name their top bins
    ``[1.39e+04, 1.57e+04)``; the chart finds those bins all the same."""
    from dataclasses import replace

    from driftmon.report.data import chart_view

    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"amount": rng.uniform(0, 50_000, 10_000)})
    batch = pd.DataFrame({"amount": rng.uniform(0, 30_000, 2_000)})
    view, spec, _, stored = _view(reference, batch, "amount")
    edges = spec.edges

    def old_label(i: int) -> str:
        low = "-inf" if i == 0 else f"{edges[i]:.4g}"
        high = "inf" if i == len(edges) - 2 else f"{edges[i + 1]:.4g}"
        return f"[{low}, {high})"

    position = {label: i for i, label in enumerate(spec.labels())}
    old_bins = tuple(
        replace(b, label=old_label(position[b.label]))
        for b in stored.top_bins
        if b.label in position
    )
    assert any("e+04" in b.label for b in old_bins)
    old_result = replace(stored.result, top_bins=old_bins)
    old = replace(stored, result=old_result)

    from driftmon.profile import fit_specs, profile_frame

    reference_profile = profile_frame(reference, fit_specs(reference))
    assert chart_view(reference_profile.features["amount"], old).highlight == view.highlight


def test_a_categorical_chart_shows_what_changed_and_what_is_common_within_a_cap() -> None:
    from driftmon.report.data import MAX_CHART_CATEGORIES

    names = [f"c{i:02d}" for i in range(40)]
    weights = np.linspace(3, 1, 40)
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({"c": rng.choice(names, 20_000, p=weights / weights.sum())})
    batch = reference.sample(4_000, random_state=1).reset_index(drop=True)
    batch.loc[:599, "c"] = "c39"  # the rarest kept category jumps
    batch.loc[600:799, "c"] = "brand new"
    view, spec, _, _ = _view(reference, batch, "c", max_categories=30)
    assert len(view.categories) == MAX_CHART_CATEGORIES
    assert view.n_hidden == len(spec.categories) - MAX_CHART_CATEGORIES
    shown = dict(zip(view.categories, view.current, strict=True))
    # c39 is not kept (30 most common kept), so the jump shows in the long tail
    assert "c00" in shown  # the most common
    tail, unseen, missing = view.side
    assert tail.label.startswith("long tail") and tail.current > tail.reference
    assert unseen.current == pytest.approx(0.05) and missing.current == 0.0
    # most common first
    assert list(view.reference) == sorted(view.reference, reverse=True)


def test_densities_are_shares_over_the_true_bin_widths_even_for_skewed_bins() -> None:
    from driftmon.bins import fit_bins
    from driftmon.report.data import densities

    values = np.random.default_rng(8).lognormal(0.0, 3.0, 200_000)  # widths over 9 decades
    edges = np.asarray(fit_bins(values, n_bins=20).edges)
    shares = np.histogram(values, bins=edges)[0] / values.size
    np.testing.assert_array_equal(densities(edges, shares), shares / np.diff(edges))
    # edges at the float limits: no overflow, the unbounded bins drawn flat
    extreme = densities(np.array([-1.7e308, 0.0, 1.0, 1.7e308]), np.array([0.2, 0.6, 0.2]))
    assert extreme.tolist() == [0.2 / 1.7e308, 0.6, 0.2 / (1.7e308 - 1.0)]
    assert densities(np.array([-1.7e308, 1.7e308]), np.array([1.0])).tolist() == [0.0]


def test_kl_panels_place_every_run_on_the_shared_log_scale() -> None:
    from driftmon.report.data import PANELS_WIDTH, kl_panels

    runs = [f"#{i}" for i in range(1, 7)]
    names = [
        f"feature_{i}" + ("_with_a_name_far_too_long_to_fit" if i == 0 else "") for i in range(5)
    ]
    matrix = _matrix(
        [(0.0, 0.002, None, 0.05, 3.0, 0.0004)] * 5,
        [(False, False, False, True, True, False)] * 5,
        names=names,
        runs=runs,
        expected_kl=[(0.001,) * 5 + (None,)] * 5,
    )
    chart = kl_panels(matrix, range(5), kl_warning=0.02)
    # 3.0 lifts the scale's top to the next decade: 1e-4 .. 10, four panels a row, two rows
    assert len(chart.panels) == 5 and chart.width <= PANELS_WIDTH
    first, fifth = chart.panels[0], chart.panels[4]
    assert fifth.x == first.x and fifth.y > first.y + first.height

    def height(kl: float, panel) -> float:  # independently: log10 of KL on [1e-4, 10]
        share = (np.log10(max(kl, KL_FLOOR)) + 4) / 5
        return panel.y + panel.height * (1 - share)

    points = [tuple(map(float, p.split(","))) for p in first.line.split()]
    measured = [0.0, 0.002, 0.05, 3.0, 0.0004]  # the unmeasured run leaves no point
    assert len(points) == 5
    for (x, y), kl in zip(points, measured, strict=True):
        assert y == pytest.approx(height(kl, first), abs=0.051)
        assert first.x <= x <= first.x + first.width
    xs = [x for x, _ in points]
    assert xs == sorted(xs)
    # runs 4 and 5 drifted, each dot with its run and value for a tooltip
    assert [(x, y) for x, y, _ in first.dots] == points[2:4]
    assert [tip for _, _, tip in first.dots] == ["#4: KL 0.05, drifted", "#5: KL 3, drifted"]
    assert first.threshold == pytest.approx(height(0.02, first), abs=0.051)
    # more than four decades: a tick every other one
    assert [label for _, label in first.ticks] == ["0.0001", "0.01", "1"]
    assert fifth.ticks and not chart.panels[1].ticks  # tick labels in the first column only
    # the band closes on the frame's bottom; a run without an expectation sits on the floor
    band = [tuple(map(float, p.split(","))) for p in first.band.split()]
    bottom = first.y + first.height
    assert band[0][1] == band[-1][1] == bottom and band[-2][1] == bottom
    # run labels under the last panel of each column only; long names shortened, kept whole
    assert [p.run_labels != () for p in chart.panels] == [False, True, True, True, True]
    assert fifth.run_labels[0][1:] == ("#1", "start") and fifth.run_labels[1][1:] == ("#6", "end")
    assert first.label.endswith("…") and len(first.label) == 30
    assert first.name == names[0]
    assert "nan" not in first.line + first.band


def test_kl_panels_edge_cases_draw_only_numbers() -> None:
    from driftmon.report.data import kl_panels

    one_run = _matrix([(0.2,)], [(True,)], names=["x"], runs=["#1"])
    single = kl_panels(one_run, [0], kl_warning=None)
    (panel,) = single.panels
    x, _ = map(float, panel.line.split(","))
    assert x == pytest.approx(panel.x + panel.width / 2, abs=0.051)  # one run: the middle
    assert panel.threshold is None and [d[0] for d in panel.dots] == [x]
    assert panel.run_labels == ()  # nothing to span
    unmeasured = _matrix([(None, None)], names=["y"], runs=["#1", "#2"], expected_kl=[(None, None)])
    blank = kl_panels(unmeasured, [0], kl_warning=float("inf")).panels[0]
    assert blank.line == "" and blank.dots == () and blank.threshold is None
    wide_name = "注文" * 20
    wide = _matrix([(0.1, float("inf"))], [(False, True)], names=[wide_name], runs=["#1", "#2"])
    drawn = kl_panels(wide, [0], kl_warning=0.05).panels[0]
    assert drawn.label == "注文" * 7 + "…"  # 14 wide characters fill 28 of 30 columns
    assert len(drawn.line.split()) == 1 and "inf" not in drawn.line + str(drawn.dots)


def test_panels_show_the_drifted_features_most_moved_first() -> None:
    from driftmon.report.data import most_moved

    matrix = _matrix(
        [(0.001, 0.001), (0.01, 0.02), (0.5, 0.001), (None, None)],
        [(False, False), (False, True), (True, False), (False, True)],
        names=["calm", "small", "large", "unmeasured"],
        expected_kl=[(0.001, 0.001)] * 4,
    )
    # KL over its expectation: large 500, small 20, unmeasured never; calm did not drift
    assert most_moved(matrix, 8) == [2, 1, 3]
    assert most_moved(matrix, 2) == [2, 1]
