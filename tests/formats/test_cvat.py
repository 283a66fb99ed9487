"""CVAT for images / video 1.1 reader: hostile XML, skeletons, points, grouping, video, subsets, real files."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path
from typing import Any

import pytest

from kpconv.convert.builder import BuildOptions, RawInstance
from kpconv.convert.pipeline import convert
from kpconv.errors import DataError, UsageError
from kpconv.finding import Severity
from kpconv.formats.cvat import (
    CvatOptions,
    as_parsed,
    bind_spec,
    check_frame_pattern,
    open_source,
    parse_cvat,
    xmlsource,
)
from kpconv.formats.cvat.reader import rotated_box
from kpconv.formats.cvat.xmlsource import feed, new_parser
from kpconv.geometry import point_in_polygon
from kpconv.spec import spec_from_keypoints, spec_from_mapping
from kpconv.validation import validate
from tests.conftest import FIXTURES, realdata_file

CVAT = FIXTURES / "cvat"


def _by_image(export, subset: str = "") -> dict[str, list[RawInstance]]:
    out: dict[str, list[RawInstance]] = {}
    for inst in export.subsets[subset].instances:
        out.setdefault(inst.image, []).append(inst)
    return out


def _points(inst: RawInstance) -> dict[str, tuple[float, float, int]]:
    return {p.label: (p.x, p.y, p.v) for p in inst.points}


def _codes(export, subset: str = "") -> list[str]:
    return [f.code for f in export.subsets[subset].findings]


def _xml(tmp_path: Path, body: str, meta: str = "", name: str = "annotations.xml") -> Path:
    """A minimal CVAT for images 1.1 document around ``body`` (image elements)."""
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
        f"  <meta><task><labels>{meta}</labels></task></meta>\n{body}\n</annotations>\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- hostile / broken XML

HOSTILE = [
    (
        "billion_laughs.xml",
        "cvat.entity_refused",
        "billion_laughs.xml:3: refused: entity declaration 'lol'",
    ),
    (
        "external_entity.xml",
        "cvat.external_entity_refused",
        "external_entity.xml:3: refused: external entity 'xxe'",
    ),
    (
        "external_dtd.xml",
        "cvat.dtd_refused",
        "external_dtd.xml:3: refused: the XML declares a DOCTYPE",
    ),
    (
        "truncated.xml",
        "cvat.xml_syntax",
        "truncated.xml:128:6: not well-formed XML: unclosed token",
    ),
    (
        "wrong_root.xml",
        "cvat.wrong_root",
        "wrong_root.xml:2:<annotation>: root element is <annotation>",
    ),
    ("not_xml.xml", "cvat.xml_syntax", "not_xml.xml:1:0: not well-formed XML"),
]


@pytest.mark.parametrize(("name", "code", "start"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_or_broken_xml_is_refused_with_a_located_error(
    name: str, code: str, start: str
) -> None:
    with pytest.raises(DataError) as info:
        parse_cvat(CVAT / "hostile" / name)
    assert info.value.exit_code == 1
    assert info.value.message.startswith(start), info.value.message
    assert [f.code for f in info.value.findings] == [code]
    assert info.value.findings[0].source and info.value.findings[0].source.startswith(name)


def test_entity_is_refused_before_the_c_parser_expands_it(tmp_path: Path) -> None:
    # A DTD after the first MiB chunk boundary would still be in the prolog: the guard keeps reading.
    path = tmp_path / "late.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!--'
        + "x" * 5000
        + '-->\n<!DOCTYPE annotations [<!ENTITY a "b">]>\n'
        "<annotations>&a;</annotations>\n"
    )
    with pytest.raises(DataError, match="late.xml:3: refused: entity declaration 'a'"):
        feed(open_source(path), new_parser(), chunk_size=64)


def test_undeclared_entity_without_dtd_is_a_syntax_error(tmp_path: Path) -> None:
    path = _xml(tmp_path, '<image id="0" name="&xxe;" width="1" height="1"/>')
    with pytest.raises(
        DataError, match=r"annotations.xml:5:\d+: not well-formed XML: undefined entity"
    ):
        parse_cvat(path)


def test_zip_without_annotations_and_missing_file(tmp_path: Path) -> None:
    import zipfile

    bad = tmp_path / "export.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("images/a.jpg", b"x")
        zf.writestr("a.xml", b"<annotations/>")
        zf.writestr("b.xml", b"<annotations/>")
    with pytest.raises(DataError, match="expected one annotations.xml in the zip"):
        parse_cvat(bad)
    with pytest.raises(UsageError, match="file not found"):
        parse_cvat(tmp_path / "nope.xml")
    with pytest.raises(UsageError, match="folder has no annotations.xml"):
        parse_cvat(tmp_path)


# --------------------------------------------------------------------------- skeletons


def test_skeleton_visibility_order_edges_and_attributes() -> None:
    export = parse_cvat(CVAT / "skeleton.xml")
    assert export.mode == "images" and list(export.subsets) == [""]
    cat = export.spec.category("person")
    assert cat is not None and not export.spec_from_labels
    assert cat.keypoints == ["nose", "left_eye", "right_eye", "left_wrist", "right_wrist"]
    assert cat.skeleton == [(1, 2), (1, 3), (2, 4), (3, 5)]
    assert cat.flip_pairs == [(2, 3), (4, 5)]  # derived from the names by the spec module
    a = _by_image(export)["a.jpg"]
    assert len(a) == 2
    first, second = a
    assert _points(first) == {
        "nose": (150.5, 80.25, 2),
        "left_eye": (140.0, 70.0, 1),  # occluded=1
        "right_eye": (0.0, 0.0, 0),  # outside=1: coordinates dropped
        "left_wrist": (100.0, 300.0, 2),  # per-point attribute ignored without the option
        "right_wrist": (220.0, 310.0, 2),
    }
    assert first.bbox == (90.0, 40.0, 140.0, 230.0 + 60.0)  # the grouped box
    assert first.polygon == [[95.0, 45.0, 225.0, 45.0, 225.0, 325.0, 95.0, 325.0]]
    assert first.attributes == {"pose": "standing", "crowded": False}  # checkbox typed by <meta>
    assert first.source == 'skeleton.xml:<image name="a.jpg">/skeleton[1]'
    assert "right_wrist" not in _points(second) and second.bbox is None
    assert second.attributes == {"pose": "sitting", "crowded": True}
    assert _codes(export) == ["cvat.shape_ignored"]  # the polyline


@pytest.mark.parametrize(
    ("value", "v"),
    [("occluded", 1), ("visible", 2), ("absent", 0), ("0", 0), ("2", 2), ("False", 1)],
)
def test_visibility_attribute_maps_values(tmp_path: Path, value: str, v: int) -> None:
    body = (
        '<image id="0" name="a.jpg" width="10" height="10"><skeleton label="s">'
        f'<points label="p" outside="0" occluded="0" points="1,2"><attribute name="vis">{value}</attribute></points>'
        '<points label="q" outside="0" occluded="0" points="3,4"/></skeleton></image>'
    )
    export = parse_cvat(_xml(tmp_path, body), CvatOptions(visibility_attribute="vis"))
    pts = _points(export.subsets[""].instances[0])
    assert pts["p"][2] == v and pts["q"][2] == 2
    if v == 0:
        assert pts["p"][:2] == (0.0, 0.0)


def test_visibility_attribute_unknown_value_is_a_warning(tmp_path: Path) -> None:
    body = (
        '<image id="0" name="a.jpg" width="10" height="10"><skeleton label="s">'
        '<points label="p" outside="0" occluded="1" points="1,2"><attribute name="vis">maybe</attribute></points>'
        "</skeleton></image>"
    )
    export = parse_cvat(_xml(tmp_path, body), CvatOptions(visibility_attribute="vis"))
    assert _points(export.subsets[""].instances[0])["p"][2] == 1  # the occluded flag stays
    (finding,) = [f for f in export.subsets[""].findings if f.code == "cvat.visibility_value"]
    assert finding.severity is Severity.WARNING and "'maybe'" in finding.message


def test_skeleton_missing_from_meta_gets_first_seen_keypoints(tmp_path: Path) -> None:
    body = (
        '<image id="0" name="a.jpg" width="10" height="10"><skeleton label="s">'
        '<points label="b" points="1,2"/><points label="a" points="3,4"/></skeleton></image>'
    )
    export = parse_cvat(_xml(tmp_path, body))
    assert export.spec.category("s").keypoints == ["b", "a"]
    assert "cvat.skeleton_not_in_meta" in _codes(export)


# --------------------------------------------------------------------------- points


def test_multi_point_points_are_positional_and_named_by_a_spec(tmp_path: Path) -> None:
    body = (
        '<image id="0" name="a.jpg" width="100" height="100">'
        '<points label="estop" occluded="0" points="1,1;2,2;3,3"/></image>'
        '<image id="1" name="b.jpg" width="100" height="100">'
        '<points label="estop" occluded="1" points="1,1;2,2;3,3;4,4"/></image>'
    )
    path = _xml(tmp_path, body)
    export = parse_cvat(path)
    assert export.spec.category("estop").keypoints == ["estop_1", "estop_2", "estop_3", "estop_4"]
    bind_spec(export, None)
    assert "cvat.points_unnamed" in _codes(export)

    export = parse_cvat(path)
    spec = spec_from_keypoints(["tl", "tr", "c"], "estop")
    bind_spec(export, spec)
    b = _by_image(export)["b.jpg"][0]
    assert [p.label for p in b.points] == ["tl", "tr", "c"] and {p.v for p in b.points} == {1}
    (finding,) = [f for f in export.subsets[""].findings if f.code == "cvat.points_count"]
    assert finding.severity is Severity.ERROR and "hold 4 points" in finding.message


SINGLE_CASES = [
    # image, expected instances as (category, {label: (x, y, v)}, bbox), finding codes on that image
    (
        "grouped.jpg",
        [
            ("person", {"nose": (150.0, 40.0, 2), "right_eye": (160.0, 30.0, 2)}, None),
            (
                "person",
                {"nose": (30.0, 40.0, 2), "left_eye": (25.0, 30.0, 1)},
                (10.0, 10.0, 50.0, 80.0),
            ),
        ],
        [],
    ),
    (
        "contained.jpg",
        [
            (
                "person",
                {"nose": (50.0, 40.0, 2), "left_eye": (40.0, 30.0, 2)},
                (0.0, 0.0, 120.0, 150.0),
            ),
            ("person", {"nose": (180.0, 40.0, 2)}, (100.0, 0.0, 120.0, 150.0)),
        ],
        ["cvat.repeated_label", "cvat.point_in_several_boxes", "cvat.point_outside_boxes"],
    ),
    ("nobox.jpg", [("person", {"nose": (50.0, 50.0, 2), "right_eye": (55.0, 45.0, 2)}, None)], []),
    ("blank.jpg", [], []),
]


@pytest.mark.parametrize(
    ("image", "expected", "codes"), SINGLE_CASES, ids=[c[0] for c in SINGLE_CASES]
)
def test_single_points_grouped_by_group_id_or_box(image: str, expected, codes: list[str]) -> None:
    export = parse_cvat(CVAT / "single_points.xml")
    got = sorted(
        ((i.category, _points(i), i.bbox) for i in _by_image(export).get(image, [])),
        key=lambda t: sorted(t[1].values()),
    )
    assert got == sorted(expected, key=lambda t: sorted(t[1].values()))
    located = [
        f.code for f in export.subsets[""].findings if f.source and f'name="{image}"' in f.source
    ]
    assert sorted(c for c in located if c != "cvat.category_assumed") == sorted(codes)


def test_single_points_findings_are_located_and_category_assumed() -> None:
    export = parse_cvat(CVAT / "single_points.xml")
    by_code = {f.code: f for f in export.subsets[""].findings}
    assert (
        by_code["cvat.point_outside_boxes"].source
        == 'single_points.xml:<image name="contained.jpg">/points[6]'
    )
    assert "box[1], box[2]" in by_code["cvat.point_in_several_boxes"].message
    assert by_code["cvat.repeated_label"].severity is Severity.ERROR
    assert "category 'person' assumed" in by_code["cvat.category_assumed"].message
    assert export.spec.category("person").keypoints == [
        "nose",
        "left_eye",
        "right_eye",
    ]  # <meta> order


def test_category_name_option_decides_point_only_instances() -> None:
    export = parse_cvat(CVAT / "single_points.xml", CvatOptions(default_category="head"))
    assert {i.category for i in _by_image(export)["nobox.jpg"]} == {"head"}
    assert "cvat.category_assumed" not in _codes(export)


GROUPING_XML = [
    # name, body, expected (category, sorted labels, bbox or None) per instance, codes
    (
        "dotted labels without box: category from prefix",
        '<points label="cat.nose" points="1,1"/><points label="cat.tail" points="5,5"/>',
        [("cat", ["cat.nose", "cat.tail"], None)],
        [],
    ),
    (
        "prefix picks the box of its category when boxes overlap",
        '<box label="cat" xtl="0" ytl="0" xbr="50" ybr="50"/><box label="dog" xtl="0" ytl="0" xbr="60" ybr="60"/>'
        '<points label="cat.nose" points="10,10"/><points label="dog.nose" points="55,55"/>',
        [
            ("cat", ["cat.nose"], (0.0, 0.0, 50.0, 50.0)),
            ("dog", ["dog.nose"], (0.0, 0.0, 60.0, 60.0)),
        ],
        [],
    ),
    (
        "polygons hold points when there is no box",
        '<polygon label="fish" points="0,0;40,0;0,40"/><points label="eye" points="5,5"/>'
        '<points label="fin" points="35,35"/>',
        [("fish", ["eye"], (0.0, 0.0, 40.0, 40.0))],  # the polygon's box
        ["cvat.point_outside_boxes"],
    ),
    (
        "group with several skeletons cannot give its box to one",
        '<skeleton label="s" group_id="4"><points label="a" points="1,1"/></skeleton>'
        '<skeleton label="s" group_id="4"><points label="a" points="2,2"/></skeleton>'
        '<box label="b" group_id="4" xtl="0" ytl="0" xbr="9" ybr="9"/>',
        [("s", ["a"], None), ("s", ["a"], None)],
        ["cvat.ambiguous_group", "cvat.shape_ignored", "cvat.skeleton_not_in_meta"],
    ),
    (
        "group_id 0 is no group in CVAT: containment decides",
        '<box label="b" group_id="0" xtl="0" ytl="0" xbr="9" ybr="9"/><points label="a" group_id="0" points="2,2"/>',
        [("b", ["a"], (0.0, 0.0, 9.0, 9.0))],
        [],
    ),
    (
        "rotated box contains by its enclosing box",
        '<box label="b" xtl="40" ytl="45" xbr="60" ybr="55" rotation="90"/><points label="a" points="50,42"/>',
        [("b", ["a"], (45.0, 40.0, 10.0, 20.0))],
        [],
    ),
    (
        "bad shapes are reported and left out",
        '<points label="a" points="1;2"/><box label="b" xtl="5" ytl="0" xbr="1" ybr="9"/>'
        '<polygon label="c" points="1,1;2,2"/><points label="" points="1,1"/>',
        [],
        ["cvat.bad_points", "cvat.bad_box", "cvat.bad_polygon", "cvat.shape_ignored"],
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "expected", "codes"), GROUPING_XML, ids=[g[0] for g in GROUPING_XML]
)
def test_grouping_rules(tmp_path: Path, name: str, body: str, expected, codes: list[str]) -> None:
    export = parse_cvat(
        _xml(tmp_path, f'<image id="0" name="a.jpg" width="100" height="100">{body}</image>')
    )
    got = sorted(
        (i.category, sorted(p.label for p in i.points), i.bbox)
        for i in export.subsets[""].instances
    )
    assert got == sorted(expected)
    assert sorted(c for c in _codes(export) if c != "cvat.category_assumed") == sorted(codes)


def test_box_of_same_label_attaches_to_the_points_it_contains(tmp_path: Path) -> None:
    body = (
        '<image id="0" name="a.jpg" width="100" height="100">'
        '<points label="plate" points="10,10;20,10;20,20"/><box label="plate" xtl="5" ytl="5" xbr="25" ybr="25"/>'
        '<points label="plate" points="60,60;70,60;70,70"/></image>'
    )
    export = parse_cvat(_xml(tmp_path, body))
    boxes = sorted((i.bbox is not None) for i in export.subsets[""].instances)
    assert boxes == [False, True]


def test_duplicate_image_name_and_version_are_reported(tmp_path: Path) -> None:
    path = _xml(
        tmp_path,
        '<image id="0" name="a.jpg" width="10" height="10"/><image id="1" name="a.jpg" width="10" height="10"/>'
        '<image id="2" width="10" height="10"/>',
    )
    path.write_text(path.read_text().replace("<version>1.1</version>", "<version>1.0</version>"))
    codes = _codes(parse_cvat(path))
    assert {"cvat.duplicate_image", "cvat.version", "cvat.image_without_name"} <= set(codes)


def _plain_images(n: int) -> str:
    """``n`` images of two 3-point skeletons each (visible, occluded, outside points)."""
    point = '<points label="{}" outside="{}" occluded="{}" points="{},{}">\n  </points>\n'
    skeleton = (
        '<skeleton label="person" z_order="0">\n'
        + point.format("nose", 0, 0, "10.5", "20.25")
        + point.format("left_eye", 0, 1, "13", "21")
        + point.format("right_eye", 1, 0, "7", "21")
        + "</skeleton>\n"
    )
    return "".join(
        f'<image id="{i}" name="img_{i:03d}.jpg" width="100" height="80">\n{skeleton * 2}</image>\n'
        for i in range(n)
    )


BROKEN = {
    "truncated in an image": lambda t: t[: t.index("img_003.jpg") + 200],
    "truncated after an image": lambda t: t[: t.index("img_004.jpg") - 13],
    "junk after the root": lambda t: t + _plain_images(2),
    "unclosed image": lambda t: t.replace('</image>\n<image id="3"', '<image id="3"', 1),
    "control character in whitespace": lambda t: t.replace("\n  </points>", "\n \x01 </points>", 9),
    "invalid UTF-8 in a value": lambda t: t.replace('z_order="0"', 'z_order="\udcff"', 5),
    "duplicate attribute": lambda t: t.replace('z_order="0">', 'z_order="0" z_order="1">', 4),
    "< in a value": lambda t: t.replace('label="left_eye"', 'label="left<eye"', 7),
    "mismatched end tag": lambda t: t.replace("</skeleton>", "</skeletons>", 5),
    "undefined entity": lambda t: t.replace('name="img_002.jpg"', 'name="img&x;002.jpg"'),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_xml_is_one_located_error_whatever_the_chunk_size(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Elements are read once a chunk is parsed: an error later in the file still wins, located."""
    path = _xml(tmp_path, _plain_images(6))
    text = BROKEN[case](path.read_text(encoding="utf-8"))
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    messages = set()
    for chunk in (1 << 20, 64, 333):
        monkeypatch.setattr(xmlsource, "CHUNK_SIZE", chunk)
        with pytest.raises(DataError) as info:
            parse_cvat(path)
        assert [f.code for f in info.value.findings] == ["cvat.xml_syntax"]
        assert re.match(r"annotations\.xml:\d+:\d+: not well-formed XML: ", info.value.message)
        messages.add(info.value.message)
    assert len(messages) == 1, messages


def test_a_merged_duplicate_image_keeps_document_order(tmp_path: Path) -> None:
    """Skeleton-only images are read as columns, an image with a box as objects: an image name
    given to both still lists its instances in document order."""
    box = '<box label="car" xtl="1" ytl="2" xbr="30" ybr="40" z_order="0"></box>\n'
    body = _plain_images(2) + _plain_images(1).replace("</image>", box + "</image>")
    export = parse_cvat(_xml(tmp_path, body))
    res = export.subsets[""]
    assert [r.file_name for r in res.images] == ["img_000.jpg", "img_001.jpg", "img_000.jpg"]
    assert _codes(export).count("cvat.duplicate_image") == 1
    assert [
        i.source.rsplit(":", 1)[-1] for i in res.instances if i.image == "img_000.jpg"
    ] == [
        '<image name="img_000.jpg">/skeleton[1]',
        '<image name="img_000.jpg">/skeleton[2]',
        '<image name="img_000.jpg">/skeleton[1]',
        '<image name="img_000.jpg">/skeleton[2]',
    ]
    coco = convert(as_parsed(export), None)[""].document
    assert [a["image_id"] for a in coco["annotations"]] == [1, 1, 1, 1, 2, 2]


def test_coordinates_are_read_as_float_reads_them(tmp_path: Path) -> None:
    """Every notation Python's float() reads, bit for bit, also in the bulk read of a big image."""
    rng = random.Random(7)
    texts = []
    for _ in range(1000):
        value = rng.uniform(-5000, 5000) * 10 ** rng.randint(-12, 12)
        texts += [
            repr(value),
            f"{value:.{rng.randint(0, 25)}f}",
            f"{value:.{rng.randint(1, 20)}e}",
            str(rng.randint(-(10**20), 10**20)),
            " 1_000.5 ",
        ]
    pairs = list(zip(texts, reversed(texts), strict=True))
    points = "".join(
        f'<points label="k{i}" outside="0" occluded="0" points="{x},{y}"/>'
        for i, (x, y) in enumerate(pairs)
    )
    export = parse_cvat(
        _xml(
            tmp_path, f'<image id="0" name="a.jpg"><skeleton label="s">{points}</skeleton></image>'
        )
    )
    (inst,) = export.subsets[""].instances
    got = [(p.x, p.y) for p in inst.points]
    assert got == [(float(x), float(y)) for x, y in pairs]
    assert [math.copysign(1, x) for x, _ in got] == [math.copysign(1, float(x)) for x, _ in pairs]


def test_bad_skeleton_points_are_reported_in_document_order(tmp_path: Path) -> None:
    """A bad point among thousands of good ones: the others are read, each bad one located."""
    body = _plain_images(40)
    body = body.replace('points="13,21"', 'points="13;21"', 3).replace(
        'points="7,21"', 'points="inf,1"', 1
    )
    body = body.replace('points="10.5,20.25"', 'points="1,2,3"', 1)
    export = parse_cvat(_xml(tmp_path, body))
    bad = [f for f in export.subsets[""].findings if f.code == "cvat.bad_points"]
    assert [f.source.rsplit(":", 1)[-1] for f in bad] == [
        "<image name=\"img_000.jpg\">/skeleton[1]/points[label='nose']",
        "<image name=\"img_000.jpg\">/skeleton[1]/points[label='left_eye']",
        "<image name=\"img_000.jpg\">/skeleton[2]/points[label='left_eye']",
        "<image name=\"img_001.jpg\">/skeleton[1]/points[label='left_eye']",
    ]  # the outside point with inf coordinates is v=0, not bad
    instances = export.subsets[""].instances
    assert len(instances) == 80
    assert sum(len(i.points) for i in instances) == 240 - 4
    assert _points(instances[0])["right_eye"] == (0.0, 0.0, 0)


# --------------------------------------------------------------------------- video, subsets, zip


def test_video_in_cvats_layout_becomes_one_instance_per_frame() -> None:
    """fixtures/cvat/video.xml is written as CVAT's dump_as_cvat_interpolation writes a task."""
    export = parse_cvat(CVAT / "video.xml")
    assert export.mode == "video"
    res = export.subsets[""]
    assert [(i.file_name, i.width, i.height, i.extra) for i in res.images] == [
        ("frame_000000.png", 640, 360, {"frame": 0}),
        ("frame_000001.png", 640, 360, {"frame": 1}),
        ("frame_000002.png", 640, 360, {"frame": 2}),
        ("frame_000003.png", 640, 360, {"frame": 3}),  # the hand is all outside; corners are not
    ]
    hands = [i for i in res.instances if i.category == "hand"]
    assert [i.image for i in hands] == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]
    assert [_points(h) for h in hands] == [
        {"wrist": (100.0, 200.0, 2), "thumb": (120.0, 180.0, 1), "index": (130.0, 170.0, 2)},
        # frame 1 is interpolated (keyframe="0"): its written coordinates are taken as they are
        {"wrist": (105.0, 202.0, 2), "thumb": (121.0, 181.0, 1), "index": (131.0, 171.0, 2)},
        # frame 2: thumb outside (its occluded="1" and coordinates do not count)
        {"wrist": (110.0, 204.0, 2), "thumb": (0.0, 0.0, 0), "index": (132.0, 172.0, 2)},
    ]
    assert all(h.attributes == {"track_id": 0, "side": "left"} for h in hands)
    assert hands[2].source == 'video.xml:<track id="0" label="hand">/skeleton[frame=2]'
    corners = [i for i in res.instances if i.category == "corners"]
    assert [(i.image, i.attributes) for i in corners] == [("frame_000003.png", {"track_id": 2})]
    assert export.spec.category("hand").skeleton == [(1, 2), (1, 3)]
    # counted per track label: hand frame 3, car frame 2, corners frame 4
    outside = sorted(f.message.split(" left out")[0] for f in res.findings if f.code == "cvat.frame_outside")
    assert outside == ["1 frame(s) of 'car' tracks", "1 frame(s) of 'corners' tracks", "1 frame(s) of 'hand' tracks"]
    assert not [f for f in res.findings if f.severity is Severity.ERROR]


def test_nested_track_layout_still_reads() -> None:
    """The nested layout (per-element <track> inside the skeleton track) that some tools write."""
    export = parse_cvat(CVAT / "video_nested.xml")
    assert export.mode == "video"
    res = export.subsets[""]
    assert [(i.file_name, i.width, i.height, i.extra) for i in res.images] == [
        ("frame_000000.png", 640, 360, {"frame": 0}),
        ("frame_000001.png", 640, 360, {"frame": 1}),
        (
            "frame_000003.png",
            640,
            360,
            {"frame": 3},
        ),  # frame 2: the hand is outside; frame 4: outside
    ]
    hands = [i for i in res.instances if i.category == "hand"]
    assert [i.image for i in hands] == ["frame_000000.png", "frame_000001.png"]
    assert _points(hands[1]) == {
        "wrist": (105.0, 202.0, 1),
        "thumb": (0.0, 0.0, 0),
        "index": (131.0, 171.0, 2),
    }
    assert hands[0].attributes == {"track_id": 0, "side": "left"}
    assert export.spec.category("hand").skeleton == [(1, 2), (1, 3)]  # edge to node 9 dropped
    assert {"cvat.svg_edge_unknown_node", "cvat.frame_outside"} <= set(_codes(export))


_VIDEO_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
    "  <meta>\n    <task>\n      <id>3</id>\n      <name>mice</name>\n      <size>2</size>\n"
    "      <mode>interpolation</mode>\n      <start_frame>0</start_frame>\n"
    "      <stop_frame>1</stop_frame>\n      <frame_filter></frame_filter>\n      <labels>\n"
    "        <label>\n          <name>mouse</name>\n          <type>skeleton</type>\n"
    "          <attributes>\n          </attributes>\n"
    '          <svg>&lt;line data-type="edge" data-node-from="1" data-node-to="2"&gt;&lt;/line&gt;'
    '&lt;circle data-type="element node" data-node-id="1" data-label-name="head"&gt;&lt;/circle&gt;'
    '&lt;circle data-type="element node" data-node-id="2" data-label-name="neck"&gt;&lt;/circle&gt;'
    "</svg>\n        </label>\n"
    + "".join(
        f"        <label>\n          <name>{k}</name>\n          <type>points</type>\n"
        "          <attributes>\n          </attributes>\n          <parent>mouse</parent>\n"
        "        </label>\n"
        for k in ("head", "neck", "tail")
    )
    + "        <label>\n          <name>cage</name>\n          <type>rectangle</type>\n"
    "          <attributes>\n          </attributes>\n        </label>\n"
    "      </labels>\n      <original_size>\n        <width>64</width>\n"
    "        <height>48</height>\n      </original_size>\n    </task>\n  </meta>\n"
)
_CAGE = (
    '  <track id="1" label="cage" source="manual">\n'
    '    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1.00" ytl="1.00" xbr="60.00" ybr="44.00" z_order="0">\n    </box>\n'
    '    <box frame="1" keyframe="0" outside="0" occluded="0" xtl="1.00" ytl="1.00" xbr="60.00" ybr="44.00" z_order="0">\n    </box>\n'
    "  </track>\n"
)


def _element(label: str, keyframe: int, outside: int, occluded: int, xy: str) -> str:
    return (
        f'      <points label="{label}" keyframe="{keyframe}" outside="{outside}" '
        f'occluded="{occluded}" points="{xy}">\n      </points>\n'
    )


#: two frames as CVAT writes them (dump_as_cvat_interpolation): the element points are children
#: of each per-frame <skeleton>, which has no outside/occluded of its own; frame 1 is interpolated
VIDEO_TWO_FRAMES = (
    _VIDEO_HEAD + '  <track id="0" label="mouse" source="manual">\n'
    '    <skeleton frame="0" keyframe="1" z_order="0">\n'
    + _element("head", 1, 0, 0, "10.00,20.00")
    + _element("neck", 1, 0, 1, "15.00,25.00")
    + _element("tail", 1, 0, 0, "30.00,40.00")
    + "    </skeleton>\n"
    '    <skeleton frame="1" keyframe="0" z_order="0">\n'
    + _element("head", 0, 0, 0, "12.50,21.00")
    + _element("neck", 0, 0, 1, "16.00,26.00")
    + _element("tail", 1, 1, 0, "30.00,40.00")
    + "    </skeleton>\n  </track>\n"
    + _CAGE
    + "</annotations>\n"
)


def _nested(label: str, tid: int, *shapes: tuple[int, int, int, int, str]) -> str:
    return (
        f'    <track id="{tid}" label="{label}" source="manual">\n'
        + "".join(
            f'      <points frame="{f}" keyframe="{k}" outside="{o}" occluded="{c}" points="{xy}" z_order="0">\n'
            "      </points>\n"
            for f, k, o, c, xy in shapes
        )
        + "    </track>\n"
    )


#: the same two frames in the nested layout (a <track> per element inside the skeleton track)
VIDEO_TWO_FRAMES_NESTED = (
    _VIDEO_HEAD + '  <track id="0" label="mouse" source="manual">\n'
    '    <skeleton frame="0" keyframe="1" outside="0" occluded="0" z_order="0">\n    </skeleton>\n'
    '    <skeleton frame="1" keyframe="0" outside="0" occluded="0" z_order="0">\n    </skeleton>\n'
    + _nested("head", 0, (0, 1, 0, 0, "10.00,20.00"), (1, 0, 0, 0, "12.50,21.00"))
    + _nested("neck", 1, (0, 1, 0, 1, "15.00,25.00"), (1, 0, 0, 1, "16.00,26.00"))
    + _nested("tail", 2, (0, 1, 0, 0, "30.00,40.00"), (1, 1, 1, 0, "30.00,40.00"))
    + "  </track>\n"
    + _CAGE
    + "</annotations>\n"
)


def _video(tmp_path: Path, text: str, name: str = "annotations.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_two_frames_in_cvats_layout_give_two_instances(tmp_path: Path) -> None:
    export = parse_cvat(_video(tmp_path, VIDEO_TWO_FRAMES))
    res = export.subsets[""]
    assert [i.file_name for i in res.images] == ["frame_000000.png", "frame_000001.png"]
    mice = res.instances
    assert [(i.image, i.category, i.attributes) for i in mice] == [
        ("frame_000000.png", "mouse", {"track_id": 0}),
        ("frame_000001.png", "mouse", {"track_id": 0}),
    ]
    assert _points(mice[0]) == {
        "head": (10.0, 20.0, 2),
        "neck": (15.0, 25.0, 1),  # occluded="1"
        "tail": (30.0, 40.0, 2),
    }
    # an interpolated frame (keyframe="0") with one element outside: the instance stays, tail v=0
    assert _points(mice[1]) == {
        "head": (12.5, 21.0, 2),
        "neck": (16.0, 26.0, 1),
        "tail": (0.0, 0.0, 0),
    }
    assert "cvat.frame_outside" not in _codes(export)
    conv = convert(as_parsed(export), None)[""]
    assert len(conv.dataset.annotations) == 2 and conv.report.ok
    assert conv.dataset.annotations[1].keypoints == [12.5, 21.0, 2, 16.0, 26.0, 1, 0, 0, 0]
    assert conv.dataset.annotations[1].num_keypoints == 2


def test_a_frame_with_every_element_outside_is_left_out_and_counted(tmp_path: Path) -> None:
    frame_2 = (
        '    <skeleton frame="2" keyframe="1" z_order="0">\n'
        + _element("head", 1, 1, 0, "12.50,21.00")
        + _element("neck", 1, 1, 1, "16.00,26.00")
        + _element("tail", 0, 1, 0, "30.00,40.00")
        + "    </skeleton>\n  </track>\n"
    )
    text = VIDEO_TWO_FRAMES.replace(
        "    </skeleton>\n  </track>\n", "    </skeleton>\n" + frame_2, 1
    )
    export = parse_cvat(_video(tmp_path, text.replace("<stop_frame>1<", "<stop_frame>2<")))
    res = export.subsets[""]
    assert [i.image for i in res.instances] == ["frame_000000.png", "frame_000001.png"]
    assert "frame_000002.png" not in [i.file_name for i in res.images]
    (outside,) = [f for f in res.findings if f.code == "cvat.frame_outside"]
    assert outside.message.startswith(
        "1 frame(s) of 'mouse' tracks left out because the whole shape is outside"
    )
    assert outside.source == 'annotations.xml:<track id="0" label="mouse">'


def test_both_track_layouts_give_the_same_coco(tmp_path: Path) -> None:
    docs = []
    for name, text in (("real.xml", VIDEO_TWO_FRAMES), ("nested.xml", VIDEO_TWO_FRAMES_NESTED)):
        conv = convert(as_parsed(parse_cvat(_video(tmp_path, text, name))), None)[""]
        doc = {k: v for k, v in conv.document.items() if k != "info"}
        docs.append((doc, sorted(f.code for f in conv.report.findings)))
    assert docs[0] == docs[1]
    assert len(docs[0][0]["annotations"]) == 2


def test_element_points_of_cvats_layout_bad_or_with_a_visibility_attribute(tmp_path: Path) -> None:
    text = VIDEO_TWO_FRAMES.replace('points="15.00,25.00">', 'points="15.00;x">').replace(
        'points="12.50,21.00">\n      </points>',
        'points="12.50,21.00">\n        <attribute name="vis">occluded</attribute>\n      </points>',
    )
    path = _video(tmp_path, text)
    export = parse_cvat(path, CvatOptions(visibility_attribute="vis"))
    mice = export.subsets[""].instances
    assert "neck" not in _points(mice[0])  # left out, reported where it is
    (bad,) = [f for f in export.subsets[""].findings if f.code == "cvat.bad_points"]
    assert bad.severity is Severity.ERROR
    assert bad.source == (
        'annotations.xml:<track id="0" label="mouse">/skeleton[frame=0]/points[label=\'neck\']'
    )
    assert _points(mice[1])["head"] == (12.5, 21.0, 1)  # vis=occluded


def test_video_frame_whose_skeleton_points_are_all_outside_gives_no_image(tmp_path: Path) -> None:
    path = tmp_path / "video.xml"
    path.write_text(
        "<annotations><version>1.1</version><meta><task><labels>"
        "<label><name>s</name><type>skeleton</type></label><label><name>a</name><parent>s</parent></label>"
        "</labels><original_size><width>9</width><height>9</height></original_size></task></meta>"
        '<track id="4" label="s"><skeleton frame="0" outside="0"/><skeleton frame="1" outside="0"/>'
        '<track id="0" label="a"><points frame="0" outside="0" points="1,1"/>'
        '<points frame="1" outside="1" points="1,1"/></track></track></annotations>'
    )
    export = parse_cvat(path)
    assert [i.file_name for i in export.subsets[""].images] == ["frame_000000.png"]
    assert [i.attributes for i in export.subsets[""].instances] == [{"track_id": 4}]


def test_frame_pattern_option_and_its_check() -> None:
    export = parse_cvat(CVAT / "video.xml", CvatOptions(frame_pattern="clip/{frame:04d}.jpg"))
    assert [i.file_name for i in export.subsets[""].images][0] == "clip/0000.jpg"
    for bad in ("frame.png", "{frame", "{name}.png"):
        with pytest.raises(UsageError, match="--frame-pattern"):
            check_frame_pattern(bad)


def test_project_subsets_one_result_each_and_selection() -> None:
    export = parse_cvat(CVAT / "project_subsets.xml")
    assert list(export.subsets) == ["Train", "Validation"]
    assert [i.file_name for i in export.subsets["Train"].images] == [
        "img0.jpg",
        "folder a/img 1.jpg",
    ]
    assert [(i.width, i.height) for i in export.subsets["Validation"].images] == [(64, 48)]
    only = parse_cvat(CVAT / "project_subsets.xml", CvatOptions(subset="Validation"))
    assert list(only.subsets) == ["Validation"] and len(only.subsets["Validation"].images) == 1
    with pytest.raises(UsageError, match="no such subset .* subsets: Train, Validation"):
        parse_cvat(CVAT / "project_subsets.xml", CvatOptions(subset="Test"))


def test_zip_is_read_in_place_and_matches_the_xml() -> None:
    from_zip = parse_cvat(CVAT / "skeleton.zip")
    from_xml = parse_cvat(CVAT / "skeleton.xml")
    assert from_zip.source.display == "skeleton.zip/annotations.xml"
    assert [(_points(i), i.bbox) for i in from_zip.subsets[""].instances] == [
        (_points(i), i.bbox) for i in from_xml.subsets[""].instances
    ]


def transient_peak(path: Path) -> tuple[int, Any]:
    """Bytes allocated at the peak of a parse beyond what the parse keeps (its output), and the export."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        export = parse_cvat(path)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - max(current, before), export


def test_memory_does_not_grow_with_the_number_of_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming: the transient memory is one chunk and one <image>, whatever the file size."""
    monkeypatch.setattr(xmlsource, "CHUNK_SIZE", 1 << 14)
    points = "".join(
        f'<points label="k{j}" outside="0" occluded="0" points="{j},{j}"/>' for j in range(17)
    )
    sizes = {}
    for n in (200, 2000):
        body = "".join(
            f'<image id="{i}" name="{i}.jpg" width="99" height="99"><skeleton label="s">{points}</skeleton></image>'
            for i in range(n)
        )
        path = _xml(tmp_path, body, name=f"a{n}.xml")
        peak, export = transient_peak(path)
        assert export.subsets[""].instances
        sizes[n] = (path.stat().st_size, peak)
    (small_xml, small_peak), (big_xml, big_peak) = sizes[200], sizes[2000]
    assert big_xml > 9 * small_xml
    # 10x the XML, about the same transient memory (list growth aside): no document tree is built
    assert big_peak < 1.5 * small_peak, sizes


# --------------------------------------------------------------------------- geometry (pure)


TRIANGLE = (0.0, 0.0, 10.0, 0.0, 0.0, 10.0)
SQUARE = (0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0)


@pytest.mark.parametrize(
    ("ring", "x", "y", "inside"),
    [
        (SQUARE, 5, 5, True),
        (TRIANGLE, 0, 0, True),  # a vertex
        (TRIANGLE, 5, 5, True),  # on the hypotenuse
        (TRIANGLE, 2, 1, True),
        (TRIANGLE, 9, 9, False),
        (TRIANGLE, 11, 0, False),
    ],
)
def test_point_in_polygon(ring: tuple[float, ...], x: float, y: float, inside: bool) -> None:
    assert point_in_polygon(x, y, ring) is inside


def test_rotated_box() -> None:
    # (containment and holders moved to kpconv.convert.assembly: tests/convert/test_assembly.py)
    assert rotated_box(0, 0, 4, 2, 0).bbox == (0, 0, 4, 2)
    x, y, w, h = rotated_box(0, 0, 4, 2, 90).bbox
    assert (x, y, w, h) == pytest.approx((1, -1, 2, 4))


# --------------------------------------------------------------------------- real files

REAL = [
    # path, subsets -> (images, annotations), finding codes expected, errors expected
    (
        "datumaro-cvat-ai/tests/assets/cvat_dataset/for_images/train.xml",
        {"": (2, 3)},
        ["cvat.points_unnamed"],
        0,
    ),
    (
        "datumaro-cvat-ai/tests/assets/cvat_dataset/for_video/annotations.xml",
        {"": (3, 4)},
        ["cvat.frame_outside"],
        0,
    ),
    (
        "datumaro/tests/assets/cvat_dataset/for_images/export_project/annotations.xml",
        {"Test": (2, 1), "Train": (2, 1), "Validation": (2, 1)},
        ["cvat.points_unnamed", "cvat.shape_ignored"],
        0,
    ),
    (
        "datumaro/tests/assets/cvat_dataset/for_images/export_task/train.xml",
        {"": (2, 1)},
        ["cvat.shape_ignored"],
        0,
    ),
    (
        "datumaro/tests/assets/cvat_dataset/for_video/annotations.xml",
        {"": (2, 1)},
        ["cvat.frame_outside"],
        0,
    ),
    ("cvat-to-coco-duytue/annotations.xml", {"": (7, 3)}, [], 0),
    (
        "keypoint-detection-tlpss/labeling/example/annotations.xml",
        {"": (4, 4)},
        ["cvat.repeated_label"],
        3,
    ),
    ("estop-keypoints-rrl/data/annotations.xml", {"": (19, 19)}, ["cvat.points_unnamed"], 0),
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("rel", "sizes", "codes", "errors"),
    REAL,
    ids=[r[0].split("/")[0] + ":" + r[0].rsplit("/", 1)[-1] for r in REAL],
)
def test_real_file_converts_and_validates(
    rel: str, sizes: dict, codes: list[str], errors: int
) -> None:
    export = parse_cvat(realdata_file(rel))
    convs = convert(as_parsed(export), None, BuildOptions())
    assert {
        k: (len(c.dataset.images), len(c.dataset.annotations)) for k, c in convs.items()
    } == sizes
    for conv in convs.values():
        found = conv.report.codes()
        assert all(found[c] for c in codes), found
        assert sum(1 for f in conv.report.findings if f.severity is Severity.ERROR) == errors
        assert validate(conv.dataset).ok  # the output itself is a valid COCO keypoint dataset
        for f in conv.report.findings:
            if f.code.startswith("cvat.") and f.severity is not Severity.INFO:
                assert f.source, f  # every cvat finding says where


@pytest.mark.realdata
def test_real_skeleton_export_keeps_outside_as_v0_and_svg_edges() -> None:
    export = parse_cvat(
        realdata_file("datumaro-cvat-ai/tests/assets/cvat_dataset/for_images/train.xml")
    )
    conv = convert(as_parsed(export), None)[""]
    cat = next(c for c in conv.dataset.categories if c.name == "skeleton")
    assert cat.keypoints == ["1", "2", "3", "4"] and cat.skeleton == [[3, 2], [1, 4]]
    ann = next(a for a in conv.dataset.annotations if a.category_id == cat.id)
    assert ann.keypoints == [0, 0, 0, 2.0, 2.0, 2, 3.0, 3.0, 2, 4.0, 4.0, 2]


@pytest.mark.realdata
def test_real_forklifts_are_separated_by_their_boxes() -> None:
    export = parse_cvat(realdata_file("cvat-to-coco-duytue/annotations.xml"))
    conv = convert(as_parsed(export), None)[""]
    by_name = {i.id: i.file_name for i in conv.dataset.images}
    big = [a for a in conv.dataset.annotations if by_name[a.image_id] == "forklift annotations.jpg"]
    assert sorted(a.bbox for a in big) == [
        [471.11, 1147.12, 664.63, 978.75],
        [2014.34, 273.08, 769.33, 587.25],
    ]
    assert all(a.num_keypoints == 10 for a in conv.dataset.annotations)
    cat = conv.dataset.categories[0]
    assert cat.name == "Forklift" and cat.keypoints[:2] == [
        "LFrontWheel",
        "RFrontWheel",
    ]  # <meta> order


@pytest.mark.realdata
def test_real_estop_with_user_keypoints() -> None:
    export = parse_cvat(realdata_file("estop-keypoints-rrl/data/annotations.xml"))
    spec = spec_from_mapping({"name": "estop", "keypoints": ["tl", "tr", "bl", "br", "centre"]})
    conv = convert(as_parsed(export), spec)[""]
    assert conv.report.ok and "cvat.points_unnamed" not in conv.report.codes()
    assert conv.dataset.categories[0].keypoints == ["tl", "tr", "bl", "br", "centre"]


def test_the_assumed_category_is_counted_per_subset(tmp_path: Path) -> None:
    """A project export with subsets: each subset's report says how many of its own instances got
    the assumed category (it repeated the count over the whole export)."""

    def image(i: int, subset: str) -> str:
        return (
            f'<image id="{i}" name="f{i}.png" subset="{subset}" width="64" height="48">'
            f'<points label="nose" occluded="0" points="{10 + i}.0,10.0" z_order="0"></points>'
            f'<points label="tail" occluded="0" points="{20 + i}.0,30.0" z_order="0"></points></image>'
        )

    body = "\n".join([image(0, "Train"), image(1, "Train"), image(2, "Train"), image(3, "Validation")])
    export = parse_cvat(_xml(tmp_path, body))
    counts = {
        name: [f.message.split(" ")[0] for f in res.findings if f.code == "cvat.category_assumed"]
        for name, res in export.subsets.items()
    }
    assert counts == {"Train": ["3"], "Validation": ["1"]}
