"""Box and polygon arithmetic shared by the builder and ``validate --fix``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def round_px(v: float) -> float:
    """Round to 1/1000 px: plenty for annotations, and stable bytes across platforms."""
    return round(float(v), 3) + 0.0  # + 0.0 turns -0.0 into 0.0


def bbox_from_points(
    xs: Sequence[float],
    ys: Sequence[float],
    width: float | None,
    height: float | None,
    margin: float = 0.1,
    min_size: float = 2.0,
) -> list[float]:
    """[x, y, w, h] around the points, ``margin`` × extent on each side (≥ min_size/2 px).

    Clipped to the image when its size is known; never 0×0, even for one point.
    """
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    half = min_size / 2
    mx = max((x1 - x0) * margin, half)
    my = max((y1 - y0) * margin, half)
    bx0, by0, bx1, by1 = x0 - mx, y0 - my, x1 + mx, y1 + my
    if width and height:
        cx0, cy0 = max(0.0, bx0), max(0.0, by0)
        cx1, cy1 = min(float(width), bx1), min(float(height), by1)
        if cx1 - cx0 > 0 and cy1 - cy0 > 0:  # else the points lie outside: keep the honest box
            bx0, by0, bx1, by1 = cx0, cy0, cx1, cy1
    return [round_px(bx0), round_px(by0), round_px(bx1 - bx0), round_px(by1 - by0)]


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
