"""kpconv.convert.assembly: the shapes → instances rules LabelMe and CVAT share (table-driven)."""

from __future__ import annotations

import pytest

from kpconv.convert.assembly import (
    OUTSIDE,
    Container,
    Region,
    box,
    boxes_else_polygons,
    by_group,
    claim,
    enclosing_box,
    lone_boxes_kept,
    members,
    place,
    polygon,
    union_box,
)

# a concave "L": the notch (6..10, 6..10) is inside its box but outside the polygon
L_SHAPE = (0, 0, 10, 0, 10, 6, 6, 6, 6, 10, 0, 10)
SQUARE = box(0, 0, 10, 10)
RIGHT = box(5, 5, 15, 15)  # overlaps SQUARE on (5..10, 5..10)
TRIANGLE = polygon((0, 0, 4, 0, 0, 4))


# --------------------------------------------------------------------------- regions


@pytest.mark.parametrize(
    "region, x, y, inside",
    [
        (SQUARE, 5, 5, True),
        (SQUARE, 0, 0, True),  # a corner
        (SQUARE, 10, 4, True),  # on the right edge
        (SQUARE, 4, 10, True),  # on the bottom edge
        (SQUARE, 10.000001, 4, False),
        (SQUARE, -1, 5, False),
        (polygon(L_SHAPE), 2, 8, True),  # in the L's foot
        (polygon(L_SHAPE), 8, 2, True),  # in the L's arm
        (polygon(L_SHAPE), 8, 8, False),  # in the notch: inside the box, outside the shape
        (polygon(L_SHAPE), 6, 8, True),  # on the notch's edge
        (polygon(L_SHAPE), 11, 2, False),  # outside the box
        (TRIANGLE, 1, 1, True),
        (TRIANGLE, 2, 2, True),  # on the hypotenuse
        (TRIANGLE, 3.5, 3.5, False),  # in the box, beyond the hypotenuse
    ],
)
def test_contains(region: Region, x: float, y: float, inside: bool) -> None:
    assert region.contains(x, y) is inside


def test_region_shapes() -> None:
    assert SQUARE.is_box and not TRIANGLE.is_box
    assert SQUARE.bbox == (0, 0, 10, 10)
    assert TRIANGLE.bbox == (0, 0, 4, 4)
    assert polygon(L_SHAPE).extent == (0, 0, 10, 10)
    assert enclosing_box([3, 4, 1, 9, 2, 2]) == (1, 2, 2, 7)


@pytest.mark.parametrize(
    "regions, expected",
    [
        ([], None),
        ([SQUARE], (0, 0, 10, 10)),
        ([SQUARE, RIGHT], (0, 0, 15, 15)),  # the union of several rectangles
        ([TRIANGLE, box(20, 20, 21, 22)], (0, 0, 21, 22)),
        ([polygon((0, 0, 5, 0, 10, 0))], None),  # a degenerate polygon: no area, no box
        ([polygon((3, 3))], None),
    ],
)
def test_union_box(regions: list[Region], expected) -> None:
    assert union_box(regions) == expected


# --------------------------------------------------------------------------- groups


@pytest.mark.parametrize(
    "points, areas, groups, loose",
    [
        ([], [], {}, ([], [])),
        # group id 0 is a group like any other; None is no group
        (
            [("a", 0), ("b", None), ("c", 0)],
            [("box", 0)],
            {0: (["a", "c"], ["box"])},
            (["b"], []),
        ),
        # group keys in first-seen order, points scanned before areas
        (
            [("a", 2), ("b", 1)],
            [("box3", 3), ("box1", 1)],
            {2: (["a"], []), 1: (["b"], ["box1"]), 3: ([], ["box3"])},
            ([], []),
        ),
        # string ids (CVAT) work the same; the format maps its own "no group" to None
        ([("a", "7"), ("b", "7")], [("r", None)], {"7": (["a", "b"], [])}, ([], ["r"])),
    ],
)
def test_by_group(points, areas, groups, loose) -> None:
    got_groups, got_loose = by_group(points, areas)
    assert got_groups == groups
    assert list(got_groups) == list(groups)  # order
    assert got_loose == loose


def test_by_group_one_kind() -> None:
    groups, (alone,) = by_group(iter([(1, "g"), (2, None), (3, "g")]))
    assert groups == {"g": ([1, 3],)}
    assert alone == [2]


# --------------------------------------------------------------------------- placing points


def _c(*regions: Region, label: str = "person") -> Container:
    return Container(list(regions), [label])


@pytest.mark.parametrize(
    "point, containers, expected",
    [
        ((1, 1, "nose"), [_c(SQUARE)], 0),
        ((10, 3, "nose"), [_c(SQUARE)], 0),  # on a box edge
        ((20, 20, "nose"), [_c(SQUARE)], OUTSIDE),  # none
        ((20, 20, "nose"), [], OUTSIDE),
        ((7, 7, "nose"), [_c(SQUARE), _c(RIGHT)], (0, 1)),  # in two boxes
        ((2, 2, "nose"), [_c(SQUARE), _c(RIGHT)], 0),
        # a concave polygon: its notch holds nothing, so only the box does
        ((8, 8, "nose"), [_c(polygon(L_SHAPE)), _c(RIGHT)], 1),
        ((8, 2, "nose"), [_c(polygon(L_SHAPE)), _c(RIGHT)], 0),
        # a box and a polygon of two instances are equal containers: both hold it
        ((1, 1, "nose"), [_c(TRIANGLE), _c(SQUARE)], (0, 1)),
        # an instance with several regions holds what any of them holds
        ((12, 12, "nose"), [_c(TRIANGLE, RIGHT)], 0),
        ((1, 1, "nose"), [_c(TRIANGLE, SQUARE)], 0),  # held by two regions of one instance: once
        # `person.nose` prefers the `person` box among several
        (
            (7, 7, "person.nose"),
            [_c(SQUARE, label="dog"), _c(RIGHT, label="person")],
            1,
        ),
        # ... but a prefix naming none of them leaves it ambiguous
        (
            (7, 7, "cat.nose"),
            [_c(SQUARE, label="dog"), _c(RIGHT, label="person")],
            (0, 1),
        ),
        # the prefix only decides among the containers that hold the point
        ((2, 2, "person.nose"), [_c(SQUARE, label="dog"), _c(RIGHT)], 0),
    ],
)
def test_place(point, containers, expected) -> None:
    # one container: its index; none: OUTSIDE, (); several: their indices, ambiguous
    assert place([point], containers) == [expected]


def test_members_in_container_order() -> None:
    containers = [_c(SQUARE), _c(box(20, 20, 30, 30))]
    placed = place([(25, 25, "a"), (1, 1, "b"), (50, 50, "c"), (2, 2, "d")], containers)
    assert members(placed) == {0: [1, 3], 1: [0]}
    assert list(members(placed)) == [0, 1]


@pytest.mark.parametrize(
    "kinds, expected",
    [
        (["box", "polygon", "box"], ["box", "box"]),  # boxes win where there are some
        (["polygon", "polygon"], ["polygon", "polygon"]),
        ([], []),
    ],
)
def test_boxes_else_polygons(kinds: list[str], expected: list[str]) -> None:
    assert boxes_else_polygons(kinds, lambda k: k == "box") == expected


# --------------------------------------------------------------------------- claiming boxes


@pytest.mark.parametrize(
    "instances, containers, expected",
    [
        # the one box of its label holding every visible point
        ([("person", [(1, 1), (9, 9)])], [_c(SQUARE)], [(0, 0)]),
        # another label: not claimed
        ([("dog", [(1, 1)])], [_c(SQUARE)], []),
        # a point outside: not claimed
        ([("person", [(1, 1), (12, 12)])], [_c(SQUARE)], []),
        # no visible point: claims nothing
        ([("person", [])], [_c(SQUARE)], []),
        # two boxes hold every point: the instance claims neither
        ([("person", [(7, 7)])], [_c(SQUARE), _c(RIGHT)], []),
        # two instances claim one box: it goes to neither
        ([("person", [(1, 1)]), ("person", [(2, 2)])], [_c(SQUARE)], []),
        # None takes nothing (it has its box already)
        ([None, ("person", [(12, 12)])], [_c(SQUARE), _c(RIGHT)], [(1, 1)]),
        # pairs in container order
        (
            [("person", [(12, 14)]), ("person", [(1, 1)])],
            [_c(SQUARE), _c(RIGHT)],
            [(0, 1), (1, 0)],
        ),
    ],
)
def test_claim(instances, containers, expected) -> None:
    assert claim(instances, containers) == expected


def test_lone_boxes_are_box_only_where_their_category_has_points() -> None:
    """LabelMe's and Label Studio's one rule for a box drawn alone."""
    from kpconv.convert.builder import RawInstance, RawPoint

    person = RawInstance("a.png", "person", [RawPoint("nose", 1.0, 1.0)])
    lone_person = RawInstance("a.png", "person", [], bbox=(0.0, 0.0, 4.0, 4.0))
    car = RawInstance("a.png", "car", [], bbox=(5.0, 5.0, 2.0, 2.0))
    kept, dropped = lone_boxes_kept([person, lone_person, car], [lone_person, car])
    assert kept == [person, lone_person] and dropped == {id(car)}
    everything = [person]
    assert lone_boxes_kept(everything, []) == (everything, set())
