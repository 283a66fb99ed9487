"""kpconv.formats.cvat.writer: COCO → CVAT for images / video 1.1 XML, and back through from-cvat."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from kpconv.formats.cvat import WriteOptions, write
from kpconv.formats.cvat.writer import num, plan
from tests.conftest import FIXTURES, invoke_cli, realdata_file
from tests.formats.test_labelme_writer import (
    DATASETS,
    assert_same_coco,
    validated,
    written_annotations,
)


def _doc() -> dict[str, Any]:
    return {
        "images": [{"id": 1, "file_name": "sub/a.jpg", "width": 100, "height": 80},
                   {"id": 2, "file_name": "b.png", "width": 100, "height": 80}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0,
             "num_keypoints": 2, "keypoints": [15.25, 25.5, 2, 0, 0, 0, 20.123456789, 30, 1]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [50, 10, 20, 20], "area": 400, "iscrowd": 0,
             "num_keypoints": 1, "keypoints": [55, 15, 2, 0, 0, 0, 0, 0, 0]},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"],
                        "skeleton": [[1, 2], [1, 3]], "supercategory": "person"}],
    }  # fmt: skip


def _xml(doc: dict[str, Any], **kw: Any) -> ET.Element:
    p = plan(doc, WriteOptions(**kw))
    assert not p.findings or all(f.severity.value != "error" for f in p.findings)
    return ET.fromstring(p.xml)


def test_meta_declares_each_category_as_a_skeleton_with_its_sublabels_and_edges() -> None:
    root = _xml(_doc())
    assert root.tag == "annotations" and root.findtext("version") == "1.1"
    task = root.find("meta/task")
    assert (
        task is not None and task.findtext("mode") == "annotation" and task.findtext("size") == "2"
    )
    labels = task.findall("labels/label")
    assert [(x.findtext("name"), x.findtext("type"), x.findtext("parent")) for x in labels] == [
        ("person", "skeleton", None),
        ("nose", "points", "person"), ("left_eye", "points", "person"), ("right_eye", "points", "person"),
        ("person_box", "rectangle", None),
    ]  # fmt: skip
    svg = ET.fromstring(f"<svg>{labels[0].findtext('svg')}</svg>")
    edges = [
        (e.get("data-type"), e.get("data-node-from"), e.get("data-node-to"))
        for e in svg.iter("line")
    ]
    assert edges == [("edge", "1", "2"), ("edge", "1", "3")]
    nodes = [(c.get("data-type"), c.get("data-node-id"), c.get("data-element-id"), c.get("data-label-name"))
             for c in svg.iter("circle")]  # fmt: skip
    assert nodes == [
        ("element node", str(i), str(i), n)
        for i, n in enumerate(["nose", "left_eye", "right_eye"], 1)
    ]


def test_each_instance_is_a_skeleton_with_all_k_points_and_a_grouped_box() -> None:
    root = _xml(_doc())
    images = root.findall("image")
    assert [(i.get("id"), i.get("name"), i.get("width"), i.get("height")) for i in images] == [
        ("0", "sub/a.jpg", "100", "80"), ("1", "b.png", "100", "80"),
    ]  # fmt: skip
    box, skel = list(images[0])
    assert box.tag == "box" and box.attrib == {
        "label": "person_box", "source": "manual", "occluded": "0", "xtl": "10.00", "ytl": "20.00",
        "xbr": "40.00", "ybr": "60.00", "z_order": "0", "group_id": "1",
    }  # fmt: skip
    assert skel.tag == "skeleton" and skel.attrib == {
        "label": "person",
        "source": "manual",
        "z_order": "0",
        "group_id": "1",
    }
    points = skel.findall("points")
    assert [(p.get("label"), p.get("outside"), p.get("occluded"), p.get("source")) for p in points] == [
        ("nose", "0", "0", "manual"), ("left_eye", "1", "0", "manual"), ("right_eye", "0", "1", "manual"),
    ]  # fmt: skip
    assert points[0].get("points") == "15.25,25.50"
    assert (
        points[2].get("points") == "20.123456789,30.00"
    )  # every digit where 2 decimals would round
    assert points[1].get("points") == "25.00,40.00"  # v=0: outside, at the box centre


def test_no_boxes_writes_skeletons_alone() -> None:
    root = _xml(_doc(), boxes=False)
    assert root.find(".//box") is None and root.find(".//skeleton").get("group_id") is None  # type: ignore[union-attr]
    assert "person_box" not in {x.findtext("name") for x in root.iter("label")}


@pytest.mark.parametrize(
    ("x", "text"), [(1.0, "1.00"), (150.5, "150.50"), (0.125, "0.125"), (1 / 3, repr(1 / 3))]
)
def test_num_keeps_every_digit(x: float, text: str) -> None:
    assert num(x) == text and float(text) == x


def test_video_writes_one_track_per_instance_in_cvats_layout() -> None:
    root = _xml(_doc(), video=True)
    task = root.find("meta/task")
    assert task is not None and task.findtext("mode") == "interpolation"
    assert (task.findtext("original_size/width"), task.findtext("original_size/height")) == (
        "100",
        "80",
    )
    tracks = root.findall("track")
    assert [(t.get("id"), t.get("label"), t.get("group_id")) for t in tracks] == [
        ("0", "person", "1"), ("1", "person_box", "1"), ("2", "person", "3"), ("3", "person_box", "3"),
    ]  # fmt: skip
    # frames by file name order: b.png is frame 0, sub/a.jpg frame 1
    first = tracks[0].findall("skeleton")
    assert [(s.get("frame"), s.get("keyframe"), s.get("z_order")) for s in first] == [
        ("1", "1", "0")
    ]
    assert {p.get("keyframe") for p in first[0].findall("points")} == {"1"}
    ended = tracks[2].findall(
        "skeleton"
    )  # frame 0, then the all-outside keyframe CVAT ends a track with
    assert [s.get("frame") for s in ended] == ["0", "1"]
    assert {p.get("outside") for p in ended[1].findall("points")} == {"1"}
    assert [b.get("outside") for b in tracks[3].findall("box")] == ["0", "1"]


def test_video_refuses_images_of_different_sizes(tmp_path: Path) -> None:
    doc = _doc()
    doc["images"][1]["width"] = 99
    report = write(doc, tmp_path / "a.xml", WriteOptions(video=True))
    assert "cvat.video_sizes_differ" in {f.code for f in report.findings}
    assert report.summary["written"] is None and not (tmp_path / "a.xml").exists()


def test_zip_holds_annotations_xml_and_reruns_are_byte_identical(tmp_path: Path) -> None:
    write(_doc(), tmp_path / "a.zip")
    write(_doc(), tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.namelist() == ["annotations.xml"]
        assert zf.read("annotations.xml") == plan(_doc()).xml


def test_names_with_markup_are_escaped() -> None:
    doc = _doc()
    doc["images"][0]["file_name"] = 'a "b" & <c>.jpg'
    doc["categories"][0]["keypoints"][0] = "n<o>se&"
    root = _xml(doc)
    assert root.find("image").get("name") == 'a "b" & <c>.jpg'  # type: ignore[union-attr]
    assert root.find(".//skeleton/points").get("label") == "n<o>se&"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ round trips
def round_trip(dataset: Path, tmp_path: Path, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """COCO → to-cvat → from-cvat → COCO (the spec comes from the XML's own <meta>)."""
    before = json.loads(dataset.read_text())
    xml = tmp_path / "annotations.zip"
    first = invoke_cli("to-cvat", dataset, "-o", xml, *extra)
    assert first.exit_code == 0, first.stderr
    back = tmp_path / "back.json"
    second = invoke_cli("from-cvat", xml, "-o", back)
    assert second.exit_code == 0, second.stderr
    return before, json.loads(back.read_text())


@pytest.mark.parametrize(("dataset", "images"), DATASETS, ids=lambda p: getattr(p, "name", ""))
def test_round_trip_gives_the_same_coco(dataset: Path, images: Path | None, tmp_path: Path) -> None:
    dataset = validated(dataset, images, tmp_path)
    before, after = round_trip(dataset, tmp_path)
    # a box-only annotation (num_keypoints 0) comes back from its box and all-outside skeleton
    assert_same_coco(before, after, written_annotations(before, box_only=True))
    assert [c["skeleton"] for c in after["categories"]] == [
        c["skeleton"] for c in before["categories"]
    ]
    again = tmp_path / "again"
    again.mkdir()
    (again / "d.json").write_text(json.dumps(after))
    _, after2 = round_trip(again / "d.json", again)
    assert_same_coco(after, after2)


def test_video_round_trip_keeps_tracks(tmp_path: Path) -> None:
    coco = tmp_path / "video.json"
    first = invoke_cli("from-cvat", FIXTURES / "cvat" / "video.xml", "-o", coco)
    assert first.exit_code in (0, 1), first.stderr
    doc = json.loads(coco.read_text())
    before, after = round_trip(coco, tmp_path, "--video")
    assert_same_coco(before, after, written_annotations(doc))
    tracks_before = sorted(
        {(a["category_id"], a["attributes"]["track_id"]) for a in written_annotations(doc)}
    )
    assert len(
        {(a["category_id"], a["attributes"]["track_id"]) for a in after["annotations"]}
    ) == len(tracks_before)
    assert [i.get("frame") for i in after["images"]] == [i.get("frame") for i in before["images"]]


def test_video_round_trip_of_the_cross_format_scene(tmp_path: Path) -> None:
    before, after = round_trip(
        FIXTURES / "crossformat" / "expected.json", tmp_path, "--video", "--no-boxes"
    )
    # no boxes written: they are derived again from the points by the same box rule
    assert_same_coco(before, after)


@pytest.mark.parametrize(
    "relative",
    [
        "cvat-to-coco-duytue/annotations.xml",
        "datumaro/tests/assets/cvat_dataset/for_images/export_task/train.xml",
        "datumaro/tests/assets/cvat_dataset/for_video/annotations.xml",
    ],
)
def test_round_trip_of_real_cvat_files(relative: str, tmp_path: Path) -> None:
    source = realdata_file(relative)
    coco = tmp_path / "coco.json"
    first = invoke_cli("from-cvat", source, "-o", coco)
    if first.exit_code != 0 or not coco.exists():
        pytest.skip(f"from-cvat does not convert {relative} cleanly: {first.stderr[-300:]}")
    doc = json.loads(coco.read_text())
    doc["annotations"] = written_annotations(doc)
    (tmp_path / "clean.json").write_text(json.dumps(doc))
    assert doc["annotations"], "nothing to round-trip"
    before, after = round_trip(tmp_path / "clean.json", tmp_path)
    assert_same_coco(before, after)
