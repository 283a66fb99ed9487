"""The shared builder: every case is one small source of :class:`RawInstance` objects, built
as written by hand and, where a columnar reader could carry it (float coordinates, no point
sources, no polygons), as :func:`instances_from_columns` makes them from columns the way the long
CSV layout, YOLO and CVAT readers hand them over. Both must give the same bytes and findings, and
the case's own expectations (keypoints, boxes, finding codes and places) must hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from kpconv.convert.builder import (
    BuildOptions,
    Conversion,
    ParseResult,
    RawImage,
    RawInstance,
    RawPoint,
    convert,
    instances_from_columns,
)
from kpconv.finding import Severity
from kpconv.spec import KeypointSpec, spec_from_mapping

PERSON = spec_from_mapping({"categories": [{"name": "person", "keypoints": ["nose", "left_eye", "right_eye"]}]})
TWO = spec_from_mapping(
    {
        "categories": [
            {"name": "person", "keypoints": ["nose", "left_eye", "right_eye"], "aliases": {"snout": "nose"}},
            {"name": "hand", "keypoints": ["tip"]},
        ]
    }
)


def P(label: str, x: float, y: float, v: int = 2, source: str = "") -> RawPoint:  # noqa: N802
    """A point with float coordinates (what most sources give)."""
    return RawPoint(label, float(x), float(y), v, source)


@dataclass
class Case:
    """One builder input and what must come out of it."""

    id: str
    instances: list[RawInstance]
    images: list[RawImage] = field(default_factory=lambda: [RawImage("a.png", 100, 80, "a.json")])
    spec: KeypointSpec | None = field(default_factory=lambda: PERSON)
    options: BuildOptions = field(default_factory=BuildOptions)
    keypoints: list[list[Any]] | None = None  # expected keypoints of each annotation
    boxes: list[list[float]] | None = None  # expected bbox of each annotation
    findings: list[tuple[str, str | None]] = field(default_factory=list)  # (code, source) of builder findings


CASES = [
    Case(
        "labelled_and_unlabelled",
        [RawInstance("a.png", "person", [P("nose", 10.5, 8), P("left_eye", 50, 60, 0), P("right_eye", 13, 6, 1)], source="a.json:0")],
        keypoints=[[10.5, 8.0, 2, 0, 0, 0, 13.0, 6.0, 1]],
        boxes=[[9.5, 5.0, 4.5, 4.0]],  # margin at least 1 px (min_box_size 2) each side
    ),
    Case(
        "v0_coordinates_are_dropped_and_not_counted",
        [RawInstance("a.png", "person", [P("nose", 1, 2), P("left_eye", 70, 70, 0), P("right_eye", 9, 9, 0)])],
        keypoints=[[1.0, 2.0, 2, 0, 0, 0, 0, 0, 0]],
        boxes=[[0.0, 0.0, 17.0, 17.0]],  # one point: a square (OKS floor), moved inside the image
    ),
    Case(
        "single_point_outside_the_image_keeps_its_honest_box",
        [RawInstance("a.png", "person", [P("nose", 150, 90)])],
        boxes=[[141.5, 81.5, 17.0, 17.0]],
    ),
    Case(
        "duplicate_keypoint_first_wins_even_unlabelled",
        [
            RawInstance(
                "a.png", "person",
                [P("nose", 1, 1, 0, "f:1"), P("nose", 5, 5, 2, "f:2"), P("left_eye", 3, 3), P("left_eye", 4, 4, 2, "f:4")],
                source="f:0",
            )
        ],  # fmt: skip
        keypoints=[[0, 0, 0, 3.0, 3.0, 2, 0, 0, 0]],
        findings=[("convert.duplicate_keypoint", "f:2"), ("convert.duplicate_keypoint", "f:4")],
    ),
    Case(
        "unknown_label_is_dropped_with_its_place",
        [RawInstance("a.png", "person", [P("tail", 1, 1, 2, "f:7"), P("Nose", 2, 2), P("person.left_eye", 3, 3)], source="f:6")],
        keypoints=[[2.0, 2.0, 2, 3.0, 3.0, 2, 0, 0, 0]],
        findings=[("convert.unknown_keypoint", "f:7")],
    ),
    Case(
        "instance_without_labelled_keypoint_and_unknown_category",
        [
            RawInstance("a.png", "person", [P("nose", 1, 1, 0)], source="f:1"),
            RawInstance("a.png", "dog", [P("nose", 1, 1)], source="f:2"),
            RawInstance("a.png", "person", [P("bogus", 1, 1)], source="f:3"),
            RawInstance("a.png", "person", [P("nose", 4, 4)], source="f:4"),
        ],
        keypoints=[[4.0, 4.0, 2, 0, 0, 0, 0, 0, 0]],
        findings=[
            ("convert.instance_without_keypoints", "f:1"),
            ("convert.unknown_category", "f:2"),
            ("convert.unknown_keypoint", "f:3"),
            ("convert.instance_without_keypoints", "f:3"),
        ],
    ),
    Case(
        "categories_of_different_sizes_and_aliases",
        [
            RawInstance("a.png", "hand", [P("tip", 5, 5)]),
            RawInstance("a.png", "person", [P("snout", 6, 6, 1), P("right_eye", 7, 7)]),
        ],
        spec=TWO,
        keypoints=[[5.0, 5.0, 2], [6.0, 6.0, 1, 0, 0, 0, 7.0, 7.0, 2]],
    ),
    Case(
        "drawn_box_and_polygon",
        [RawInstance("a.png", "person", [P("nose", 5, 5)], bbox=(1, 2, 30, 40.00049), polygon=[[0.0, 0.0, 10.0, 0.0, 10.0, 10.0]])],
        boxes=[[1.0, 2.0, 30.0, 40.0]],
    ),
    Case(
        "points_option_ignores_the_drawn_box",
        [RawInstance("a.png", "person", [P("nose", 5, 5), P("left_eye", 15, 25)], bbox=(1, 2, 30, 40))],
        options=BuildOptions(bbox_source="points", bbox_margin=0.5),
        boxes=[[0.0, 0.0, 20.0, 35.0]],
    ),
    Case(
        "integer_coordinates_stay_integers",
        [RawInstance("a.png", "person", [RawPoint("nose", 10, 8), RawPoint("left_eye", 8.5, 6.0)])],  # JSON 10, 8
        keypoints=[[10, 8, 2, 8.5, 6.0, 2, 0, 0, 0]],
    ),
    Case(
        "images_sorted_by_name_instances_in_source_order",
        [
            RawInstance("b.png", "person", [P("nose", 1, 1)]),
            RawInstance("a.png", "person", [P("nose", 2, 2)]),
            RawInstance("b.png", "person", [P("nose", 3, 3)]),
            RawInstance("a.png", "person", [P("nose", 4, 4)]),
        ],
        images=[RawImage("b.png", 50, 50), RawImage("a.png", 50, 50)],
        keypoints=[[x, x, 2, 0, 0, 0, 0, 0, 0] for x in (2.0, 4.0, 1.0, 3.0)],
    ),
    Case(
        "unknown_image_and_image_without_size",
        [
            RawInstance("ghost.png", "person", [P("nose", 1, 1)], source="g:1"),
            RawInstance("c.png", "person", [P("nose", 1, 1)], source="c:1"),
            RawInstance("a.png", "person", [P("nose", 1, 1)]),
        ],
        images=[RawImage("a.png", 10, 10), RawImage("c.png", None, None, "c")],
        findings=[("convert.image_size_unknown", "c"), ("convert.unknown_image", "g:1")],
    ),
    Case(
        "inferred_spec_first_seen_order",
        [
            RawInstance("a.png", "cat", [P("b", 1, 1), P("x.a", 2, 2)]),
            RawInstance("a.png", "cat", [P("c", 3, 3), P("a", 4, 4)]),
        ],
        spec=None,
        keypoints=[[1.0, 1.0, 2, 2.0, 2.0, 2, 0, 0, 0], [0, 0, 0, 4.0, 4.0, 2, 3.0, 3.0, 2]],  # b, a, c
    ),
]


def copied(instances: list[RawInstance]) -> list[RawInstance]:
    return [
        RawInstance(i.image, i.category, [RawPoint(p.label, p.x, p.y, p.v, p.source) for p in i.points],
                    i.bbox, i.polygon, i.source, dict(i.attributes))
        for i in instances
    ]  # fmt: skip


def by_columns(instances: list[RawInstance]) -> list[RawInstance]:
    """The instances as a columnar reader makes them: labels coded in reverse order."""
    points = [p for inst in instances for p in inst.points]
    labels = sorted({p.label for p in points}, reverse=True)
    boxes = [inst.bbox for inst in instances]
    return instances_from_columns(
        image=[inst.image for inst in instances],
        category=[inst.category for inst in instances],
        source=[inst.source for inst in instances],
        counts=np.array([len(inst.points) for inst in instances], dtype=np.int64),
        labels=labels,
        label=np.array([labels.index(p.label) for p in points], dtype=np.int64),
        x=np.array([p.x for p in points], dtype=np.float64),
        y=np.array([p.y for p in points], dtype=np.float64),
        v=np.array([p.v for p in points], dtype=np.int64),
        bbox=np.array([b if b is not None else (math.nan,) * 4 for b in boxes]) if any(boxes) else None,
        attributes=[inst.attributes for inst in instances] if any(inst.attributes for inst in instances) else None,
    )


def columnar(case: Case) -> bool:
    """Whether a columnar reader could hand this case over (what :func:`by_columns` carries)."""
    points = [p for inst in case.instances for p in inst.points]
    return (
        all(type(p.x) is float and type(p.y) is float and not p.source for p in points)
        and not any(inst.polygon for inst in case.instances)
    )


def run(case: Case, how: str) -> Conversion:
    instances = copied(case.instances) if how == "objects" else by_columns(copied(case.instances))
    return convert(ParseResult(images=list(case.images), instances=instances), case.spec, case.options)


def builder_findings(conv: Conversion) -> list[tuple[str, str | None]]:
    return [(f.code, f.source) for f in conv.report.findings if f.code.startswith("convert.") and f.code != "convert.spec_inferred"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_objects_and_columns_build_the_same_document(case: Case) -> None:
    objects = run(case, "objects")
    if columnar(case):
        by_cols = run(case, "columns")
        assert by_cols.data == objects.data
        assert by_cols.report.findings == objects.report.findings
    anns = objects.document["annotations"]
    if case.keypoints is not None:
        assert [a["keypoints"] for a in anns] == case.keypoints
        # the very types: floats where labelled (as given), int 0 where not, int visibility
        assert [[type(v) for v in a["keypoints"]] for a in anns] == [[type(v) for v in k] for k in case.keypoints]
    if case.boxes is not None:
        assert [a["bbox"] for a in anns] == case.boxes
    assert builder_findings(objects) == case.findings
    for a in anns:
        k = a["keypoints"]
        assert a["num_keypoints"] == sum(1 for v in k[2::3] if v > 0)
        assert all(k[j] == k[j + 1] == 0 for j in range(0, len(k), 3) if k[j + 2] == 0)
        assert a["bbox"][2] > 0 and a["bbox"][3] > 0
        assert a["iscrowd"] == 0


def test_finding_messages_are_the_ones_users_know() -> None:
    conv = run(CASES[3], "objects")
    dup = [f for f in conv.report.findings if f.code == "convert.duplicate_keypoint"]
    assert dup[0].message == "keypoint 'nose' given twice in one instance (first at f:1); the second is dropped"
    assert dup[0].severity is Severity.ERROR and dup[0].image_id == 1
    conv = run(CASES[4], "objects")
    (unknown,) = [f for f in conv.report.findings if f.code == "convert.unknown_keypoint"]
    assert unknown.message == (
        "label 'tail' is not a keypoint of 'person' (expected one of: nose, left_eye, right_eye); point dropped"
    )


def test_polygon_area_and_drawn_box() -> None:
    ann = run(CASES[7], "objects").document["annotations"][0]
    assert ann["segmentation"] == [[0.0, 0.0, 10.0, 0.0, 10.0, 10.0]]
    assert ann["area"] == 50.0


def test_attributes_are_copied() -> None:
    inst = RawInstance("a.png", "person", [P("nose", 1, 1)], attributes={"track_id": 3})
    conv = convert(ParseResult(images=[RawImage("a.png", 9, 9)], instances=[inst]), PERSON)
    assert conv.document["annotations"][0]["attributes"] == {"track_id": 3}


def test_instances_from_columns_are_the_objects_a_reader_would_write() -> None:
    insts = [
        RawInstance("a.png", "person", [P("nose", 1.0, 2.0)], bbox=(0.0, 0.0, 4.0, 4.0), source="s:0"),
        RawInstance("b.png", "person", [P("left_eye", 3.0, 4.0), P("nose", 5.0, 6.0, 1)], attributes={"k": 1}),
        RawInstance("c.png", "person", [], source="s:2"),
        RawInstance("c.png", "dog", [P("tail", 7.5, 8.0, 0)]),
    ]
    made = by_columns(copied(insts))
    assert made == insts
    assert all(type(p.x) is float and type(p.v) is int for i in made for p in i.points)
    made[1].attributes["k"] = 2  # each instance has its own attributes
    assert insts[1].attributes == {"k": 1}


def test_a_value_that_is_not_finite_is_checked_from_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON has no infinity (it is written as null): the written bytes show it, and the check reports it."""
    from kpconv.convert import builder

    routes: list[str] = []
    real_bytes = builder.validate_bytes
    monkeypatch.setattr(builder, "validate_bytes", lambda *a, **k: routes.append("bytes") or real_bytes(*a, **k))
    parsed = ParseResult(images=[RawImage("a.png", 100, 80)], instances=[RawInstance("a.png", "person", [P("nose", math.inf, 5)])])
    conv = convert(parsed, PERSON)
    assert routes == ["bytes"]
    assert not conv.report.ok


def test_an_instance_with_a_box_and_no_labelled_point_is_box_only() -> None:
    """As COCO has them (num_keypoints 0) and training keeps them as detection targets; without
    a box there is nothing to keep."""
    insts = [
        RawInstance("a.png", "person", [P("nose", 1, 1, 0)], bbox=(2.0, 3.0, 4.0, 5.0), source="f:1"),
        RawInstance("a.png", "person", [], bbox=(1.0, 1.0, 2.0, 2.0), source="f:2"),
        RawInstance("a.png", "person", [P("nose", 1, 1, 0)], source="f:3"),
        RawInstance("a.png", "person", [P("nose", 5, 6)], source="f:4"),
    ]
    conv = convert(ParseResult(images=[RawImage("a.png", 90, 90)], instances=insts), PERSON)
    anns = conv.document["annotations"]
    assert [(a["num_keypoints"], a["bbox"]) for a in anns][:2] == [(0, [2.0, 3.0, 4.0, 5.0]), (0, [1.0, 1.0, 2.0, 2.0])]
    assert len(anns) == 3 and anns[0]["keypoints"] == [0] * 9 and anns[0]["area"] == 20.0
    found = [(f.code, f.source) for f in conv.report.findings if f.code.startswith("convert.")]
    assert ("convert.box_only", "f:1") in found and ("convert.instance_without_keypoints", "f:3") in found
    assert conv.report.ok
