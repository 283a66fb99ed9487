"""Box and polygon arithmetic: the one box rule, shared by the converters' builder, ``validate
--fix`` and the visualizer.

Derived boxes. With two or more labelled points: the points' extent plus ``margin`` × extent on
each side (at least ``min_size / 2`` px), clipped to the image unless that empties it. With a
single labelled point there is no extent to go by, and a box of a few pixels makes the instance
useless for OKS (see :data:`MIN_OKS_AREA`): the box is a square centred on the point, of side
:data:`SINGLE_POINT_FRACTION` of the image's shorter side and at least :data:`MIN_OKS_SIDE` px,
moved (not shrunk) to lie inside the image where it fits (unless the point itself lies outside).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: The smallest COCO keypoint sigma (the eyes) ...
OKS_STRICTEST_SIGMA = 0.025
#: ... and the area (px², the ``area`` field OKS divides by) below which a 1-px error on such a
#: keypoint already scores OKS < 0.5: exp(-1 / (2 · area · (2σ)²)) < 0.5  ⇔  area < 288.5.
MIN_OKS_AREA = 1.0 / (2.0 * (2.0 * OKS_STRICTEST_SIGMA) ** 2 * math.log(2.0))
#: the side of the smallest square with that area, in whole pixels (17 px)
MIN_OKS_SIDE = float(math.ceil(math.sqrt(MIN_OKS_AREA)))
#: a box around a single labelled point is this fraction of the image's shorter side
SINGLE_POINT_FRACTION = 0.05


def round_px(v: float) -> float:
    """Round to 1/1000 px: plenty for annotations, and stable bytes across platforms."""
    return round(float(v), 3) + 0.0  # + 0.0 turns -0.0 into 0.0


def round_px_array(values: FloatArray) -> FloatArray:
    """:func:`round_px` on a whole array, bit for bit.

    ``round(v, 3)`` rounds the exact decimal value of ``v``; ``rint(v * 1000) / 1000`` gives the
    same double unless ``v * 1000`` lies within rounding error of a half (or is huge, or not
    finite): those few values go through ``round_px`` itself.
    """
    scaled = values * 1000.0
    out = np.rint(scaled) / 1000.0 + 0.0  # + 0.0 turns -0.0 into 0.0, as round_px does
    with np.errstate(invalid="ignore"):
        risky = ~(np.abs(scaled) < 2.0**31) | (
            np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-6
        )
    if risky.any():
        out[risky] = [round_px(v) for v in values[risky].tolist()]
    return out


def boxes_from_points(
    xs: FloatArray,
    ys: FloatArray,
    seen: npt.NDArray[np.bool_],
    widths: FloatArray,
    heights: FloatArray,
    margin: float = 0.1,
    min_size: float = 2.0,
) -> FloatArray:
    """[x, y, w, h] per row around the points marked ``seen`` (the module's box rule), rounded.

    ``xs``, ``ys``, ``seen``: (n, k); ``widths``, ``heights``: (n,) image sizes, 0 when unknown
    (no clipping). Every row needs at least one seen point; a non-finite point gives a NaN box
    (the validator reports it).
    """
    x0 = np.where(seen, xs, np.inf).min(axis=1)
    x1 = np.where(seen, xs, -np.inf).max(axis=1)
    y0 = np.where(seen, ys, np.inf).min(axis=1)
    y1 = np.where(seen, ys, -np.inf).max(axis=1)
    half = min_size / 2
    with np.errstate(invalid="ignore"):
        mx = np.maximum((x1 - x0) * margin, half)
        my = np.maximum((y1 - y0) * margin, half)
    bx0, by0, bx1, by1 = x0 - mx, y0 - my, x1 + mx, y1 + my
    known = (widths > 0) & (heights > 0)
    cx0, cy0 = np.maximum(0.0, bx0), np.maximum(0.0, by0)
    cx1, cy1 = np.minimum(widths, bx1), np.minimum(heights, by1)
    inside = known & (cx1 - cx0 > 0) & (cy1 - cy0 > 0)
    bx0, by0 = np.where(inside, cx0, bx0), np.where(inside, cy0, by0)
    bx1, by1 = np.where(inside, cx1, bx1), np.where(inside, cy1, by1)

    single = seen.sum(axis=1) < 2
    if single.any():
        side = np.where(known, np.minimum(widths, heights) * SINGLE_POINT_FRACTION, 0.0)
        side = np.maximum(side, MIN_OKS_SIDE)[single]
        px, py = x0[single], y0[single]
        sx0, sy0 = px - side / 2, py - side / 2
        w, h = widths[single], heights[single]
        # a point inside the image gets its square inside the image where the square fits, else
        # clipped to it (a tiny image); a point outside keeps the honest square around it
        k = known[single] & (px >= 0) & (px <= w) & (py >= 0) & (py <= h)
        with np.errstate(invalid="ignore"):
            sx0 = np.where(k & (side <= w), np.clip(sx0, 0.0, w - side), sx0)
            sy0 = np.where(k & (side <= h), np.clip(sy0, 0.0, h - side), sy0)
        sx1, sy1 = sx0 + side, sy0 + side
        fits_x, fits_y = k & (side > w), k & (side > h)
        sx0, sx1 = np.where(fits_x, 0.0, sx0), np.where(fits_x, w, sx1)
        sy0, sy1 = np.where(fits_y, 0.0, sy0), np.where(fits_y, h, sy1)
        bx0[single], by0[single], bx1[single], by1[single] = sx0, sy0, sx1, sy1
    return round_px_array(np.stack([bx0, by0, bx1 - bx0, by1 - by0], axis=1))


def bbox_from_points(
    xs: Sequence[float],
    ys: Sequence[float],
    width: float | None,
    height: float | None,
    margin: float = 0.1,
    min_size: float = 2.0,
) -> list[float]:
    """[x, y, w, h] around one instance's labelled points (:func:`boxes_from_points`, one row)."""
    row = boxes_from_points(
        np.asarray([xs], dtype=np.float64),
        np.asarray([ys], dtype=np.float64),
        np.ones((1, len(xs)), dtype=bool),
        np.asarray([float(width or 0.0)]),
        np.asarray([float(height or 0.0)]),
        margin,
        min_size,
    )
    return [float(v) for v in row[0]]


def point_in_polygon(x: float, y: float, ring: Sequence[float]) -> bool:
    """Is (x, y) inside the polygon ``ring`` (flat ``x1, y1, x2, y2, ...``)? Even-odd rule.

    The one containment rule of every converter: points on an edge count as inside (annotators
    click on borders).
    """
    n = len(ring) // 2
    inside = False
    j = n - 1
    for i in range(n):
        xi, yi = ring[2 * i], ring[2 * i + 1]
        xj, yj = ring[2 * j], ring[2 * j + 1]
        # on the segment (within a tiny tolerance): inside
        cross = (x - xi) * (yj - yi) - (y - yi) * (xj - xi)
        if (
            abs(cross) <= 1e-9 * max(1.0, abs(xj - xi) + abs(yj - yi))
            and min(xi, xj) <= x <= max(xi, xj)
            and min(yi, yj) <= y <= max(yi, yj)
        ):
            return True
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygon_area(polygons: Any) -> float | None:
    """Area of a COCO polygon segmentation (list of flat rings), or None if not polygons."""
    if not isinstance(polygons, list) or not polygons:
        return None
    total = 0.0
    for ring in polygons:
        if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2:
            return None
        xs, ys = ring[0::2], ring[1::2]
        n = len(xs)
        s = 0.0
        for i in range(n):
            j = (i + 1) % n
            s += xs[i] * ys[j] - xs[j] * ys[i]
        total += abs(s) / 2
    return total
