"""Feature charts draw for every shape a feature can take, at the page's width."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from matplotlib.image import imread

from driftmon.report.data import CategoricalView, NumericView, SideSlot
from driftmon.report.figures import DPI, feature_chart

SIDE = (SideSlot("outside reference range", 0.0, 0.01), SideSlot("missing", 0.02, 0.0))
TAIL = (SideSlot("long tail (seen, not kept)", 0.9, 0.95), SideSlot("missing", 0.0, 0.0))


def _numeric(edges, reference, current, *, discrete=False, highlight=()):
    side = (
        SIDE if current is not None else tuple(SideSlot(s.label, s.reference, None) for s in SIDE)
    )
    return NumericView(
        edges=np.asarray(edges, dtype=float),
        discrete=discrete,
        reference=np.asarray(reference, dtype=float),
        current=None if current is None else np.asarray(current, dtype=float),
        highlight=highlight,
        side=side,
    )


@pytest.mark.parametrize(
    "view",
    [
        _numeric([0, 1, 2, 4], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8], highlight=(2, 0)),
        _numeric([0, 1, 2, 4], [0.5, 0.3, 0.2], None),  # stored without the batch histogram
        _numeric([0, 1, 2, 3, 4, 5], [0.2] * 5, [0.1, 0.1, 0.1, 0.1, 0.6], discrete=True),
        _numeric([0, 1, 2, 3], [0.5, 0.25, 0.25], None, discrete=True),
        _numeric([3.0, 3.0], [1.0], [1.0]),  # a constant reference: one bin of width 0
        _numeric([-1e300, 0, 1, 1e300], [0.3, 0.4, 0.3], [0.0, 0.5, 0.5]),  # extreme tails
        CategoricalView(("a",), np.array([0.1]), np.array([0.05]), 0, TAIL),
        CategoricalView((), np.array([]), np.array([]), 0, TAIL),  # everything in the tail
        CategoricalView(("x" * 80, "日本"), np.array([0.6, 0.4]), None, 12, TAIL),
    ],
    ids=[
        "shift",
        "no-current",
        "discrete",
        "discrete-no-current",
        "constant",
        "huge-tails",
        "one",
        "none",
        "long-no-cur",
    ],
)
def test_every_feature_shape_draws_a_png_at_the_page_width(view) -> None:
    uri = feature_chart(view)
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    image = imread(io.BytesIO(base64.b64decode(uri[len(prefix) :])), format="png")
    assert image.shape[1] == round(9.6 * DPI)  # 864 px: at least 600 px shown on a page
