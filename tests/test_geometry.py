"""The one box rule (:mod:`kpconv.geometry`) and pixel rounding."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from kpconv.geometry import (
    MIN_OKS_AREA,
    MIN_OKS_SIDE,
    bbox_from_points,
    boxes_from_points,
    round_px,
    round_px_array,
)


@pytest.mark.parametrize(
    "value",
    [0.0005, 0.0015, 2.675, -2.675, 1.0005, -0.0004, 12.3455, 1e-9, 3e9, -1e12, 2.0**40 + 0.5,
     123456.0005, math.inf, math.nan],
)  # fmt: skip
def test_round_px_on_arrays_is_round_px(value: float) -> None:
    got = round_px_array(np.array([value]))[0]
    want = round_px(value)
    assert (math.isnan(got) and math.isnan(want)) or (
        got == want and math.copysign(1, got) == math.copysign(1, want)
    )


def test_round_px_on_arrays_matches_on_many_values() -> None:
    rng = random.Random(5)
    values = [
        round(rng.uniform(-1000, 1000), rng.randint(0, 6)) + rng.choice([0.0, 0.0005, -0.0005])
        for _ in range(20000)
    ]
    assert round_px_array(np.array(values)).tolist() == [round_px(v) for v in values]


def test_the_oks_floor_is_where_a_1px_error_fails_at_the_strictest_sigma() -> None:
    k2 = (2 * 0.025) ** 2
    oks = lambda area: math.exp(-1.0 / (2 * area * k2))  # noqa: E731
    assert oks(MIN_OKS_AREA) == pytest.approx(0.5)
    assert oks(MIN_OKS_AREA * 0.99) < 0.5 < oks(MIN_OKS_AREA * 1.01)
    assert MIN_OKS_SIDE == 17 and MIN_OKS_SIDE**2 >= MIN_OKS_AREA > (MIN_OKS_SIDE - 1) ** 2


def test_two_points_get_their_extent_plus_margin_clipped_to_the_image() -> None:
    assert bbox_from_points([10, 30], [20, 60], 100, 100) == [8.0, 16.0, 24.0, 48.0]
    assert bbox_from_points([0, 50], [0, 50], 100, 100) == [0.0, 0.0, 55.0, 55.0]
    # a flat pair keeps at least min_size in the flat direction
    assert bbox_from_points([10, 30], [20, 20], 100, 100) == [8.0, 19.0, 24.0, 2.0]


@pytest.mark.parametrize(
    ("point", "size", "box"),
    [
        ((2000.0, 1500.0), (4000, 3000), [1925.0, 1425.0, 150.0, 150.0]),  # 5 % of 3000 px
        ((320.0, 240.0), (640, 480), [308.0, 228.0, 24.0, 24.0]),  # 5 % of 480
        ((50.0, 40.0), (100, 80), [41.5, 31.5, 17.0, 17.0]),  # never under 17 px (OKS floor)
        ((50.0, 40.0), (None, None), [41.5, 31.5, 17.0, 17.0]),  # size unknown: the floor
        ((1.0, 3999.0), (6000, 4000), [0.0, 3800.0, 200.0, 200.0]),  # moved inside, not shrunk
        ((5.0, 5.0), (10, 12), [0.0, 0.0, 10.0, 12.0]),  # an image smaller than the square
        ((150.0, 90.0), (100, 80), [141.5, 81.5, 17.0, 17.0]),  # outside: the honest square
    ],
)
def test_a_single_point_gets_a_square_sized_from_its_image(point, size, box) -> None:
    got = bbox_from_points([point[0]], [point[1]], *size)
    assert got == box
    x, y, w, h = got
    assert x <= point[0] <= x + w and y <= point[1] <= y + h
    if size[0] is None or min(size) >= MIN_OKS_SIDE:
        assert w * h >= MIN_OKS_AREA


def test_rows_are_independent_and_unlabelled_slots_ignored() -> None:
    xs = np.array([[10.0, 30.0, 0.0], [2000.0, 0.0, 0.0]])
    ys = np.array([[20.0, 60.0, 0.0], [1500.0, 0.0, 0.0]])
    seen = np.array([[True, True, False], [True, False, False]])
    got = boxes_from_points(xs, ys, seen, np.array([100.0, 4000.0]), np.array([100.0, 3000.0]))
    assert got.tolist() == [[8.0, 16.0, 24.0, 48.0], [1925.0, 1425.0, 150.0, 150.0]]
