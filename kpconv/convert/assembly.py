"""Shapes → instances: the one place that decides which shapes make one keypoint instance.

LabelMe and CVAT (later Label Studio) draw an instance as loose shapes: points, boxes,
polygons. Which of them belong together is decided here, by small pure functions over plain
values (no I/O, no findings, no format knowledge):

1. :func:`by_group` — shapes sharing a group id are one instance (the format says what its
   "no group" is: ``None`` here);
2. :func:`place` — an ungrouped point goes to the one :class:`Container` (a box or polygon, or an
   instance's several) that holds it; inside none it is *outside*, inside several *ambiguous*,
   except that a ``person.nose`` label prefers the containers labelled ``person``. The answer is
   a value; the format turns *outside* / *ambiguous* into its own located findings;
3. :func:`union_box` — an instance's box from its boxes (their union) or polygons.

Policies one format has and the other has not are separate functions: :func:`boxes_else_polygons`
(CVAT: on an image with boxes, polygons hold no points), :func:`claim` (CVAT: a remaining box
goes to the one instance of its label whose visible points it holds) and
:func:`lone_boxes_kept` (LabelMe, Label Studio: which boxes drawn alone are box-only instances).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..geometry import point_in_polygon

BBox = tuple[float, float, float, float]  # x, y, w, h
Extent = tuple[float, float, float, float]  # x0, y0, x1, y1

K = TypeVar("K", bound=Hashable)


# --------------------------------------------------------------------------- regions


@dataclass(frozen=True, slots=True)
class Region:
    """An axis-aligned box, or a polygon (flat ``x1, y1, x2, y2, ...`` ring) with its extent.

    ``extent`` is the enclosing box as corners ``x0, y0, x1, y1`` (kept as corners so that a
    point on the right or bottom edge is tested against the edge itself, not ``x0 + w``).
    """

    extent: Extent
    ring: tuple[float, ...] | None = None

    @property
    def is_box(self) -> bool:
        return self.ring is None

    @property
    def bbox(self) -> BBox:
        x0, y0, x1, y1 = self.extent
        return (x0, y0, x1 - x0, y1 - y0)

    def contains(self, x: float, y: float) -> bool:
        """True when (x, y) is inside or on the border (:func:`~kpconv.geometry.point_in_polygon`)."""
        x0, y0, x1, y1 = self.extent
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        return True if self.ring is None else point_in_polygon(x, y, self.ring)


def box(x0: float, y0: float, x1: float, y1: float) -> Region:
    """The box with corners (x0, y0) and (x1, y1), x0 <= x1 and y0 <= y1."""
    return Region((x0, y0, x1, y1))


def polygon(coords: Sequence[float]) -> Region:
    """The polygon of a flat ``x1, y1, x2, y2, ...`` list (at least one point)."""
    return Region(extent_of(coords), tuple(coords))


def extent_of(coords: Sequence[float]) -> Extent:
    """The corners ``x0, y0, x1, y1`` of the box around a flat ``x1, y1, x2, y2, ...`` list."""
    xs, ys = coords[0::2], coords[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def enclosing_box(coords: Sequence[float]) -> BBox:
    """The axis-aligned box (x, y, w, h) around a flat ``x1, y1, x2, y2, ...`` list."""
    return Region(extent_of(coords)).bbox


def union_box(regions: Iterable[Region]) -> BBox | None:
    """The box around every region (x, y, w, h); None when there is none or it has no area
    (a degenerate polygon is no box: the box is then derived from the points)."""
    extents = [r.extent for r in regions]
    if not extents:
        return None
    if len(extents) == 1:
        x0, y0, x1, y1 = extents[0]
    else:
        x0 = min(e[0] for e in extents)
        y0 = min(e[1] for e in extents)
        x1 = max(e[2] for e in extents)
        y1 = max(e[3] for e in extents)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


# --------------------------------------------------------------------------- groups


def by_group(
    *kinds: Iterable[tuple[Any, K | None]],
) -> tuple[dict[K, tuple[list[Any], ...]], tuple[list[Any], ...]]:
    """Shapes sharing a group id form one instance.

    Each argument is one kind of shape as ``(shape, group id)`` pairs, ``None`` for no group.
    Returns the groups (keys in first-seen order, kinds scanned in argument order), each with
    one list per kind, and the ungrouped shapes, one list per kind. (The kinds differ in type,
    which a variadic signature cannot say: the lists are typed ``Any``.)
    """
    n = len(kinds)
    groups: dict[K, tuple[list[Any], ...]] = {}
    loose: tuple[list[Any], ...] = tuple([] for _ in range(n))
    get = groups.get
    for k, shapes in enumerate(kinds):
        alone = loose[k].append
        for shape, gid in shapes:
            if gid is None:
                alone(shape)
            else:
                members = get(gid)
                if members is None:
                    members = groups[gid] = tuple([] for _ in range(n))
                members[k].append(shape)
    return groups, loose


# --------------------------------------------------------------------------- placing points


@dataclass(slots=True)
class Container:
    """What may hold ungrouped points: one instance's boxes and polygons, and their labels."""

    regions: list[Region]
    labels: list[str]

    def contains(self, x: float, y: float) -> bool:
        return any(r.contains(x, y) for r in self.regions)


#: Where one ungrouped point goes (:func:`place`): the index of the one container holding it, or
#: a tuple of indices: ``()`` (:data:`OUTSIDE`) when none holds it, several when it is ambiguous.
Placement = int | tuple[int, ...]
OUTSIDE: tuple[int, ...] = ()


def place(
    points: Sequence[tuple[float, float, str]], containers: Sequence[Container]
) -> list[Placement]:
    """For each ``(x, y, label)`` point, where it goes (a :data:`Placement`).

    Exactly one container holds it: that container's index (an ``int``). None: ``()``, *outside*.
    Several: their indices, *ambiguous*, unless the label has a ``category.`` prefix that some
    of them carry as a label (``person.nose`` prefers a ``person`` box): then those.
    """
    # every region flat, with its container's index (in container order): one loop per point
    parts = [(i, *r.extent, r.ring) for i, c in enumerate(containers) for r in c.regions]
    out: list[Placement] = []
    for x, y, label in points:
        hits: list[int] = []
        for i, x0, y0, x1, y1, ring in parts:
            if (
                x0 <= x <= x1
                and y0 <= y <= y1
                and (not hits or hits[-1] != i)
                and (ring is None or point_in_polygon(x, y, ring))
            ):
                hits.append(i)
        if len(hits) > 1 and "." in label:
            prefix = label.rpartition(".")[0]
            hits = [i for i in hits if prefix in containers[i].labels] or hits
        out.append(hits[0] if len(hits) == 1 else tuple(hits))
    return out


def members(placements: Sequence[Placement]) -> dict[int, list[int]]:
    """Container index → the indices of the points placed in it (containers in index order)."""
    out: dict[int, list[int]] = {}
    for j, p in enumerate(placements):
        if type(p) is int:
            out.setdefault(p, []).append(j)
    return dict(sorted(out.items()))


def boxes_else_polygons(containers: Sequence[Any], is_box: Callable[[Any], bool]) -> list[Any]:
    """The boxes when there are some, else the rest (CVAT: where an image has boxes, its
    polygons are the segmentations of the boxed objects, not containers of their own)."""
    boxes = [c for c in containers if is_box(c)]
    return boxes or list(containers)


def holds_all(points: Sequence[tuple[float, float]], container: Container) -> bool:
    """True when the container holds every point (False for no points)."""
    return bool(points) and all(container.contains(x, y) for x, y in points)


def claim(
    instances: Sequence[tuple[str, Sequence[tuple[float, float]]] | None],
    containers: Sequence[Container],
) -> list[tuple[int, int]]:
    """Remaining containers go to instances: ``(container, instance)`` index pairs, in
    container order.

    ``instances`` are ``(label, visible points)`` (None: takes no container). An instance
    claims the one container carrying its label that holds all its visible points; a
    container claimed by exactly one instance goes to it. Anything less clear is left alone.
    """
    claims: dict[int, list[int]] = {}
    for j, inst in enumerate(instances):
        if inst is None:
            continue
        label, pts = inst
        found = [i for i, c in enumerate(containers) if label in c.labels and holds_all(pts, c)]
        if len(found) == 1:
            claims.setdefault(found[0], []).append(j)
    return [(i, owners[0]) for i, owners in sorted(claims.items()) if len(owners) == 1]


def lone_boxes_kept(instances: list[Any], lone: Sequence[Any]) -> tuple[list[Any], set[int]]:
    """A box or polygon drawn alone (``lone``: instances holding no point, among ``instances``)
    stays as a box-only instance when its ``category`` is one whose other instances have
    ``points``; the others are another kind of object. Returns the instances without those, and
    their ``id()`` (for the format's findings)."""
    if not lone:
        return instances, set()
    keypoint_categories = {inst.category for inst in instances if inst.points}
    dropped = {id(inst) for inst in lone if inst.category not in keypoint_categories}
    return ([inst for inst in instances if id(inst) not in dropped] if dropped else instances), dropped
