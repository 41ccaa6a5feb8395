"""Feature charts draw for every shape a feature can take, at the page's width."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from matplotlib.image import imread

from driftmon.report.data import CategoricalView, NumericView, SideSlot
from driftmon.report.figures import DPI, _date_ticks, feature_chart

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
        _numeric([0, 1e-4, 5], [0.9, 0.1], [0.8, 0.2]),  # two bins: no inner span
        _numeric([-1.7e308, -1, 1, 1.7e308], [0.3, 0.4, 0.3], None),  # at the float limits
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
        "two-bins",
        "float-limits",
        "one",
        "none",
        "long-no-cur",
    ],
)
def test_every_feature_shape_draws_its_series_at_the_page_width(view) -> None:
    uri = feature_chart(view)
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    image = imread(io.BytesIO(base64.b64decode(uri[len(prefix) :])), format="png")
    assert image.shape[1] == round(9.6 * DPI)  # 864 px: at least 600 px shown on a page
    red, blue = image[..., 0], image[..., 2]
    # the reference's blue (#0072B2) and the batch's orange (#E69F00), pure or lightened
    reference_pixels = np.count_nonzero(blue > red + 0.3)
    current_pixels = np.count_nonzero(red > blue + 0.3)
    shown = [view.current] if view.current is not None else []
    shown += [np.array([slot.current]) for slot in view.side if slot.current is not None]
    has_current = any(float(np.sum(shares)) > 0 for shares in shown)
    assert reference_pixels >= 50
    assert (current_pixels >= 50) == has_current, current_pixels


def _current_colour_pixels_right_of(view, fraction: float) -> int:
    """Pixels of the current batch's colour in the chart's rightmost ``fraction`` (the side
    panel), however light its bars are drawn."""
    uri = feature_chart(view)
    image = imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")[..., :3]
    panel = image[:, int(image.shape[1] * (1 - fraction)) :]
    red, green, blue = panel[..., 0], panel[..., 1], panel[..., 2]
    # orange (#E69F00), pure or lightened by the bars' alpha: red high, blue clearly lower
    return int(np.count_nonzero((red > 0.85) & (blue < red - 0.3) & (green < red - 0.05)))


def test_a_tiny_side_share_beside_a_large_one_is_still_drawn() -> None:
    """0.2% never seen next to a 90% long tail: a sliver of a bar (its label is exact), where
    the shared scale would draw it a fraction of a pixel wide."""

    def view(never_seen: float) -> CategoricalView:
        side = (
            SideSlot("long tail (seen, not kept)", 0.9, 0.9),
            SideSlot("never seen", 0.0, never_seen),
        )
        shares = np.full(8, 0.0125)
        return CategoricalView(tuple("abcdefgh"), shares, shares, 0, side)

    sliver = _current_colour_pixels_right_of(view(0.002), 0.25)
    none = _current_colour_pixels_right_of(view(0.0), 0.25)

    assert sliver - none >= 30


def test_control_characters_in_a_category_are_drawn_as_escapes() -> None:
    """A category holding a line break or a terminal escape is drawn as its escaped text on
    one line, pixel for pixel the chart of a category written with those escapes."""

    def chart(first: str) -> str:
        return feature_chart(
            CategoricalView((first, "b"), np.array([0.6, 0.4]), np.array([0.5, 0.5]), 0, TAIL)
        )

    raw = chart("a\nb\x1b[31m\tc")
    assert raw == chart("a\\nb\\x1b[31m\\tc")
    assert raw != chart("ab[31mc")


@pytest.mark.parametrize(
    ("edges", "discrete"),
    [
        (np.arange(5) * 86_400.0 * 30 + 1.7e9, False),  # months: ticks at days
        (np.arange(5) * 3_600.0 * 6 + 1.7e9, False),  # a day: ticks at hours
        (np.arange(4) * 86_400.0 + 1.7e9, True),  # one bar per day
        (np.array([1.0e300, 1.0e300 + 1e290, 1.1e300]), False),  # beyond the calendar
    ],
    ids=["months", "hours", "days", "beyond"],
)
def test_a_date_feature_draws_at_the_page_width(edges, discrete) -> None:
    n = edges.size - 1 if not discrete else edges.size
    shares = np.full(n, 1 / n)
    view = NumericView(
        edges=edges if not discrete else np.append(edges, edges[-1]),
        discrete=discrete,
        reference=shares,
        current=shares[::-1].copy(),
        highlight=(0,),
        side=SIDE,
        dates=True,
    )
    image = imread(io.BytesIO(base64.b64decode(feature_chart(view).split(",", 1)[1])))
    assert image.shape[1] == round(9.6 * DPI)


@pytest.mark.parametrize(
    ("limits", "label"),
    [
        ((1.7e9, 1.7e9 + 86_400.0 * 120), r"\d{4}-\d\d-\d\d"),  # months: dates
        ((1.7e9, 1.7e9 + 3_600.0 * 24), r"\d\d-\d\d \d\d:\d\d"),  # a day: hours
        ((1.7e9, 1.7e9 + 300.0), r"\d\d:\d\d:\d\d"),  # minutes: seconds
        ((1.0e300, 1.1e300), r"[\d.]+e\+?300"),  # beyond the calendar: numbers
    ],
    ids=["months", "hours", "minutes", "beyond"],
)
def test_date_axes_are_labelled_as_the_span_needs(limits, label) -> None:
    """Date features' ticks fall inside the axis and read as dates, times or, beyond the
    calendar, numbers: never seconds since 1970."""
    ticks, labels = _date_ticks(limits)
    assert 2 <= len(labels) <= 7 and len(labels) == len(ticks)
    slack = 1e-9 * (limits[1] - limits[0])  # a tick's rounding, not a tick off the axis
    assert np.all((ticks >= limits[0] - slack) & (ticks <= limits[1] + slack))
    assert all(re.fullmatch(label, text) for text in labels), labels
