"""The heatmap's colours, computed without matplotlib, against matplotlib's own cividis."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import LogNorm, to_hex, to_rgb

from driftmon.report.data import CIVIDIS, KL_FLOOR, HistoryMatrix, heatmap


def _matrix(kl: np.ndarray, drifted: np.ndarray | None = None) -> HistoryMatrix:
    n_features, n_runs = kl.shape
    return HistoryMatrix(
        features=tuple(f"f{i}" for i in range(n_features)),
        run_labels=tuple(f"#{j}" for j in range(n_runs)),
        run_ids=tuple(range(n_runs)),
        kl=kl,
        expected_kl=np.full_like(kl, 0.01),
        drifted=np.zeros(kl.shape, dtype=bool) if drifted is None else drifted,
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
