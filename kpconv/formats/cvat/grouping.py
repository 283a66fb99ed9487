"""Which box or polygon holds which point: small pure functions, no findings, no I/O.

CVAT has no instance id for single-point ``<points>``; the instance is recovered from a shared
``group_id`` or, failing that, from the one box (or polygon) of an instance label that contains
the point. These helpers answer the geometric part; the reader decides what an ambiguous answer
means and reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...geometry import point_in_polygon

BBox = tuple[float, float, float, float]  # x, y, w, h


@dataclass(frozen=True, slots=True)
class Region:
    """An axis-aligned box, or a polygon (flat ``x1, y1, x2, y2, ...`` ring) with its enclosing box."""

    bbox: BBox
    ring: tuple[float, ...] | None = None

    def contains(self, x: float, y: float) -> bool:
        """True when (x, y) is inside or on the border."""
        bx, by, bw, bh = self.bbox
        if not (bx <= x <= bx + bw and by <= y <= by + bh):
            return False
        return True if self.ring is None else point_in_polygon(x, y, self.ring)


def containing(points: Sequence[tuple[float, float]], regions: Sequence[Region]) -> list[list[int]]:
    """For each point, the indices of the regions that contain it (0, 1 or several)."""
    return [[i for i, r in enumerate(regions) if r.contains(x, y)] for x, y in points]


def holders(points: Sequence[tuple[float, float]], regions: Sequence[Region]) -> list[int]:
    """Indices of the regions that contain *every* point (none when ``points`` is empty)."""
    if not points:
        return []
    return [i for i, r in enumerate(regions) if all(r.contains(x, y) for x, y in points)]


def enclosing_box(coords: Sequence[float]) -> BBox:
    """The axis-aligned box around a flat ``x1, y1, x2, y2, ...`` list."""
    xs, ys = coords[0::2], coords[1::2]
    x0, y0 = min(xs), min(ys)
    return (x0, y0, max(xs) - x0, max(ys) - y0)


def rotated_box(xtl: float, ytl: float, xbr: float, ybr: float, degrees: float) -> BBox:
    """Axis-aligned box around a CVAT box rotated by ``degrees`` about its centre."""
    if not degrees:
        return (xtl, ytl, xbr - xtl, ybr - ytl)
    import math

    cx, cy = (xtl + xbr) / 2, (ytl + ybr) / 2
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    corners = []
    for x, y in ((xtl, ytl), (xbr, ytl), (xbr, ybr), (xtl, ybr)):
        dx, dy = x - cx, y - cy
        corners += [cx + dx * c - dy * s, cy + dx * s + dy * c]
    return enclosing_box(corners)
