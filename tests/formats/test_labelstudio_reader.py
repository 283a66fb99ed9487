"""kpconv.formats.labelstudio reader: Label Studio JSON / JSON-MIN exports → COCO keypoints."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kpconv.convert.pipeline import Parsed, convert
from kpconv.errors import DataError
from kpconv.formats import labelstudio
from kpconv.formats.labelstudio import (
    LabelStudioOptions,
    file_name,
    parse_config,
    parse_export,
    read_config,
)
from kpconv.spec import spec_from_keypoints
from tests.conftest import FIXTURES, realdata_file

LS = FIXTURES / "labelstudio"
REAL = "label-studio-sdk/tests/custom/converter/data"


def coco(
    source: Path, options: LabelStudioOptions | None = None
) -> tuple[dict[str, Any], list[Any]]:
    """The COCO document and the findings of converting an export."""
    parsed = labelstudio.read(source, options)
    conv = convert(parsed, options.spec if options else None)[""]
    return conv.document, conv.report.findings


def codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


# ------------------------------------------------------------------------------ real files
def test_real_export_with_parent_ids_and_model_index_config() -> None:
    export = realdata_file(f"{REAL}/test_export_yolo/data_keypoints.json")
    config = read_config(realdata_file(f"{REAL}/test_export_yolo/label_config_keypoints.xml"))
    doc, findings = coco(export, LabelStudioOptions(config=config))
    (image,) = doc["images"]
    assert (image["file_name"], image["width"], image["height"]) == ("image1.jpg", 216, 174)
    (cat,) = doc["categories"]
    assert (
        cat["name"] == "person"
        and len(cat["keypoints"]) == 17
        and cat["keypoints"][:3] == ["nose", "left_eye", "right_eye"]
    )
    (ann,) = doc["annotations"]  # the three points joined their box through parentID
    raw = json.loads(export.read_text())[0]["annotations"][0]["result"]
    x0, y0 = raw[0]["value"]["x"], raw[0]["value"]["y"]
    assert ann["keypoints"][:3] == pytest.approx(
        [x0 / 100 * 216, y0 / 100 * 174, 2], abs=1e-9
    )  # not rounded
    assert ann["num_keypoints"] == 3 and ann["keypoints"][9:] == [0] * 42
    box = raw[3]["value"]
    assert ann["bbox"] == pytest.approx(
        [box["x"] * 2.16, box["y"] * 1.74, box["width"] * 2.16, box["height"] * 1.74], abs=1e-3
    )
    assert "labelstudio.no_visibility" in codes(findings)
    assert not [f for f in findings if f.severity.value == "error"]


def test_real_export_without_config_infers_first_appearance_order() -> None:
    doc, findings = coco(realdata_file(f"{REAL}/test_export_yolo/data_keypoints.json"))
    assert doc["categories"][0]["keypoints"] == ["nose", "left_eye", "right_eye"]
    assert "convert.spec_inferred" in codes(findings)


def test_real_export_without_parent_ids_takes_the_points_as_one_instance() -> None:
    export = realdata_file(f"{REAL}/test_export_coco/data.json")
    config = read_config(realdata_file(f"{REAL}/test_export_coco/label_config.xml"))
    doc, findings = coco(export, LabelStudioOptions(config=config))
    assert doc["images"][0]["file_name"] == "test_image1.jpg"
    (ann,) = doc["annotations"]
    assert doc["categories"][0]["keypoints"] == ["keypoint_label1", "keypoint_label2"]
    assert ann["keypoints"][0] == pytest.approx(22.595281306715066 * 5)
    # neither the rectangle nor the polygon holds a point: they are not instances, and it is said
    assert {"labelstudio.regions_ignored", "labelstudio.region_without_points"} <= codes(findings)


# ------------------------------------------------------------------------------ the fixture
def test_fixture_instances_by_parent_id_chain_containment_and_rotation() -> None:
    config = read_config(LS / "label_config.xml")
    doc, findings = coco(
        LS / "export.json", LabelStudioOptions(config=config, visibility_attribute="visibility")
    )
    names = [i["file_name"] for i in doc["images"]]
    assert names == ["c.png", "images/sub dir/b.jpg", "walk.jpg"]  # task 4 has no regions: left out
    assert doc["categories"][0]["keypoints"] == [
        "nose",
        "left_eye",
        "right_eye",
        "left_shoulder",
        "right_shoulder",
    ]
    by_image: dict[str, list[list[float]]] = {}
    for a in doc["annotations"]:
        by_image.setdefault(names[a["image_id"] - 1], []).append(a["keypoints"])
    walk = by_image["walk.jpg"]
    assert walk[0][:12] == pytest.approx([160, 80, 2, 170, 72.5, 2, 150, 72.5, 2, 200, 140.25, 2])
    assert walk[1][:6] == pytest.approx([470, 130, 2, 480, 121, 2])  # left_eye -> nose -> box B
    b = by_image["images/sub dir/b.jpg"]  # the ground-truth annotation, placed by containment
    assert len(b) == 2 and b[0][3:6] == pytest.approx(
        [70, 30, 1]
    )  # the visibility choice: occluded
    (rotated,) = [a for a in doc["annotations"] if a["image_id"] == 1]
    assert rotated["bbox"] == pytest.approx([100, 100, 186.603, 223.205], abs=1e-3)
    assert {
        "labelstudio.several_annotations",
        "labelstudio.rotated_box",
        "labelstudio.task_unlabelled",
    } <= codes(findings)


def test_annotator_and_predictions_choose_the_source() -> None:
    doc, findings = coco(LS / "export.json", LabelStudioOptions(annotator="ann@example.com"))
    b = [
        a
        for a in doc["annotations"]
        if doc["images"][a["image_id"] - 1]["file_name"].endswith("b.jpg")
    ]
    assert len(b) == 1  # annotator 2 drew one person
    assert "labelstudio.several_annotations" not in codes(findings)
    assert "labelstudio.annotator_absent" in codes(findings)  # tasks 1 and 3 are by user 1
    doc, _ = coco(LS / "export.json", LabelStudioOptions(source="predictions"))
    assert [i["file_name"] for i in doc["images"]] == ["walk.jpg"]
    assert doc["annotations"][0]["keypoints"][:2] == pytest.approx([161, 81])


def test_json_min_with_ids_reads_like_the_full_export() -> None:
    config = read_config(LS / "label_config.xml")
    full, _ = coco(LS / "export.json", LabelStudioOptions(config=config))
    mini, _ = coco(LS / "export_min.json", LabelStudioOptions(config=config))
    walk = [a["keypoints"] for a in full["annotations"] if a["image_id"] == 3]
    assert [a["keypoints"] for a in mini["annotations"]] == walk


def test_json_min_without_ids_is_refused_with_the_reason() -> None:
    with pytest.raises(DataError, match="JSON-MIN export without region ids.*parentID"):
        labelstudio.read(LS / "export_min_noids.json")


def test_user_spec_wins_over_the_config() -> None:
    spec = spec_from_keypoints(
        ["right_shoulder", "nose", "left_eye", "right_eye", "left_shoulder"], "person"
    )
    doc, _ = coco(
        LS / "export.json",
        LabelStudioOptions(config=read_config(LS / "label_config.xml"), spec=spec),
    )
    assert doc["categories"][0]["keypoints"][0] == "right_shoulder"


# ------------------------------------------------------------------------------ file names
@pytest.mark.parametrize(
    ("url", "root", "expected"),
    [
        ("/data/upload/18/image1.jpg", None, "image1.jpg"),
        ("/data/upload/3/1a2b3c4d-frame 01.jpg", None, "frame 01.jpg"),
        ("/data/local-files/?d=dataset/images/a%20b.jpg", None, "dataset/images/a b.jpg"),
        ("http://localhost:8080/data/local-files/?d=x/y.png", None, "x/y.png"),
        ("https://bucket.s3.amazonaws.com/imgs/p%C3%A9.jpg?X-Amz=1", None, "pé.jpg"),
        ("s3://bucket/imgs/z.jpg", None, "z.jpg"),
        ("test_image1.jpg", None, "test_image1.jpg"),
        ("sub/dir/a.jpg", None, "sub/dir/a.jpg"),
        ("/home/me/a.jpg", None, "a.jpg"),
        ("https://h/b/sub/a%20b.jpg", "https://h/b/", "sub/a b.jpg"),
    ],
)
def test_file_name_rule(url: str, root: str | None, expected: str) -> None:
    assert file_name(url, root) == expected


def test_upload_prefix_is_kept_where_removing_it_would_merge_two_uploads() -> None:
    task = _task()
    other = copy.deepcopy(task)
    task["data"]["image"] = "/data/upload/1/aaaaaaaa-a.jpg"
    other["data"]["image"] = "/data/upload/1/bbbbbbbb-a.jpg"
    parsed = parse_export([task, other], "export.json")
    assert sorted(i.file_name for i in parsed.result.images) == ["aaaaaaaa-a.jpg", "bbbbbbbb-a.jpg"]
    assert "labelstudio.upload_names_clash" in codes(parsed.result.findings)


# ------------------------------------------------------------------------------ bad input
def _task() -> dict[str, Any]:
    """A valid task: one box with two points linked by parentID (one field changed per case)."""

    def region(
        rid: str, kind: str, value: dict[str, Any], parent: str | None = None
    ) -> dict[str, Any]:
        r = {"id": rid, "type": kind, "from_name": "kp" if kind == "keypointlabels" else "bbox", "to_name": "image",
             "original_width": 200, "original_height": 100, "image_rotation": 0, "value": value}  # fmt: skip
        if parent:
            r["parentID"] = parent
        return r

    return {
        "id": 1,
        "data": {"image": "/data/upload/1/a.jpg"},
        "annotations": [
            {
                "id": 1,
                "completed_by": 1,
                "result": [
                    region(
                        "box",
                        "rectanglelabels",
                        {
                            "x": 10,
                            "y": 10,
                            "width": 50,
                            "height": 80,
                            "rotation": 0,
                            "rectanglelabels": ["person"],
                        },
                    ),
                    region(
                        "p1",
                        "keypointlabels",
                        {"x": 20, "y": 30, "width": 0.5, "keypointlabels": ["nose"]},
                        "box",
                    ),
                    region(
                        "p2",
                        "keypointlabels",
                        {"x": 30, "y": 40, "width": 0.5, "keypointlabels": ["tail"]},
                        "box",
                    ),
                ],
            }
        ],  # fmt: skip
        "predictions": [],
    }


def _result(task: dict[str, Any], i: int) -> dict[str, Any]:
    return task["annotations"][0]["result"][i]


def test_the_valid_template_converts_cleanly() -> None:
    parsed = parse_export([_task()], "export.json")
    (inst,) = parsed.result.instances
    assert [(p.label, p.x, p.y) for p in inst.points] == [
        ("nose", 40.0, 30.0),
        ("tail", 60.0, 40.0),
    ]
    assert inst.bbox == (20.0, 10.0, 100.0, 80.0)
    assert not [f for f in parsed.result.findings if f.severity.value != "info"]


BAD_CASES = [
    ("percent above 100", lambda t: _result(t, 1)["value"].update(x=104.5),
     "labelstudio.percent_range", "export.json:task[0]/annotations[0]/result[1]/value/x"),
    ("negative percent", lambda t: _result(t, 0)["value"].update(y=-3),
     "labelstudio.percent_range", "export.json:task[0]/annotations[0]/result[0]/value/y"),
    ("missing original_width", lambda t: _result(t, 2).pop("original_width"),
     "labelstudio.size_missing", "export.json:task[0]/annotations[0]/result[2]/original_width"),
    ("original_height a string", lambda t: _result(t, 2).update(original_height="100"),
     "labelstudio.size_missing", "export.json:task[0]/annotations[0]/result[2]/original_height"),
    ("parentID to a missing region", lambda t: _result(t, 2).update(parentID="gone"),
     "labelstudio.parent_missing", "export.json:task[0]/annotations[0]/result[2]"),
    ("x not a number", lambda t: _result(t, 1)["value"].update(x="20"),
     "labelstudio.bad_value", "export.json:task[0]/annotations[0]/result[1]/value/x"),
    ("no label", lambda t: _result(t, 1)["value"].update(keypointlabels=[]),
     "labelstudio.bad_value", "export.json:task[0]/annotations[0]/result[1]/value/keypointlabels"),
    ("value not an object", lambda t: _result(t, 1).update(value=[1, 2]),
     "labelstudio.bad_region", "export.json:task[0]/annotations[0]/result[1]/value"),
    ("result not an array", lambda t: t["annotations"][0].update(result={}),
     "labelstudio.bad_field", "export.json:task[0]/annotations[0]/result"),
    ("data without an image", lambda t: t.update(data={"text": "hi"}),
     "labelstudio.no_image", "export.json:task[0]/data"),
    ("sizes differ within one annotation", lambda t: _result(t, 2).update(original_width=400),
     "labelstudio.size_mismatch", "export.json:task[0]/annotations[0]/result[2]"),
    ("a parent cycle", lambda t: (_result(t, 1).update(parentID="p2"), _result(t, 2).update(parentID="p1")),
     "labelstudio.parent_cycle", "export.json:task[0]/annotations[0]/result[1]"),
    ("zero-size rectangle", lambda t: _result(t, 0)["value"].update(width=0),
     "labelstudio.bad_value", "export.json:task[0]/annotations[0]/result[0]/value"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "change", "code", "source"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_input_is_a_located_finding(case: str, change: Any, code: str, source: str) -> None:
    task = _task()
    change(task)
    parsed = parse_export([task], "export.json")
    found = [f for f in parsed.result.findings if f.code == code]
    assert found, [f.code for f in parsed.result.findings]
    assert found[0].severity.value == "error" and found[0].source == source


def test_points_without_parent_outside_or_in_two_boxes_are_dropped_and_said() -> None:
    task = _task()
    res = task["annotations"][0]["result"]
    res.append(copy.deepcopy(res[0]) | {"id": "box2"})  # the same box twice: nose is in both
    for r in res[1:3]:
        r.pop("parentID")
    res[2]["value"]["x"] = 90  # outside both boxes
    parsed = parse_export([task], "export.json")
    assert {"labelstudio.point_outside", "labelstudio.point_ambiguous"} <= codes(
        parsed.result.findings
    )


def test_a_point_whose_parent_is_missing_falls_back_to_containment() -> None:
    task = _task()
    _result(task, 2)["parentID"] = "gone"
    (inst,) = parse_export([task], "export.json").result.instances
    assert [p.label for p in inst.points] == ["nose", "tail"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [({"tasks": []}, "expected a Label Studio export \\(a JSON array of tasks\\), found an object"),
     ("text", "found a string"),
     ([], "holds no tasks")],
)  # fmt: skip
def test_not_an_export_is_refused(doc: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_export(doc, "export.json")


def test_a_task_that_is_not_an_object_is_skipped_and_said() -> None:
    parsed = parse_export([7, _task()], "export.json")
    assert len(parsed.result.instances) == 1
    assert any(
        f.code == "labelstudio.bad_task" and f.source == "export.json:task[0]"
        for f in parsed.result.findings
    )


def test_cancelled_annotations_are_left_out() -> None:
    task = _task()
    task["annotations"].insert(0, copy.deepcopy(task["annotations"][0]) | {"was_cancelled": True})
    parsed = parse_export([task], "export.json")
    assert len(parsed.result.instances) == 1
    assert "labelstudio.cancelled" in codes(parsed.result.findings)
    assert "labelstudio.several_annotations" not in codes(parsed.result.findings)


# ------------------------------------------------------------------------------ config
def test_config_order_is_model_index_else_xml_order() -> None:
    cfg = parse_config(b'<View><Image name="img" value="$photo"/><KeyPointLabels name="k" toName="img">'
                       b'<Label value="b" model_index="1"/><Label value="a" model_index="0"/></KeyPointLabels>'
                       b'<RectangleLabels name="r" toName="img"><Label value="cat"/></RectangleLabels></View>', "c.xml")  # fmt: skip
    assert (
        cfg.keypoints == ["a", "b"]
        and cfg.box_labels == ["cat"]
        and cfg.image_keys == {"img": "photo"}
    )
    partial = parse_config(b'<View><KeyPointLabels name="k"><Label value="b" model_index="1"/>'
                           b'<Label value="a"/></KeyPointLabels></View>', "c.xml")  # fmt: skip
    assert partial.keypoints == ["b", "a"] and partial.notes


def test_config_that_is_not_xml_is_a_located_error() -> None:
    with pytest.raises(DataError, match="c.xml:1:"):
        parse_config(b"<View><KeyPointLabels>", "c.xml")
    with pytest.raises(DataError, match="model_index must be an integer"):
        parse_config(
            b'<View><KeyPointLabels name="k"><Label value="a" model_index="x"/></KeyPointLabels></View>',
            "c.xml",
        )


def test_a_task_without_regions_keeps_its_image_when_data_gives_the_size() -> None:
    empty = {
        "data": {"image": "/data/local-files/?d=neg.jpg", "image_width": 64, "image_height": 48},
        "predictions": [],
    }
    parsed = parse_export([_task(), empty], "export.json")
    assert sorted((i.file_name, i.width, i.height) for i in parsed.result.images) == [
        ("a.jpg", 200, 100),
        ("neg.jpg", 64, 48),
    ]
    assert parsed.summary["tasks_without_regions"] == 0


# ------------------------------------------------------------------ what the messages say (real exports)
def test_an_annotation_whose_regions_were_all_skipped_says_so() -> None:
    """Label Studio's editor example has no original_width/height: the size errors come first,
    then the image is left out, for that reason (not "without regions")."""
    task = _task()
    for r in task["annotations"][0]["result"]:
        r.pop("original_width")
    parsed = parse_export([task], "export.json")
    (note,) = [f for f in parsed.result.findings if f.code == "labelstudio.task_unlabelled"]
    assert note.message.startswith("every keypoint, rectangle or polygon region was skipped (see the errors above)")
    assert sum(f.code == "labelstudio.size_missing" for f in parsed.result.findings) == 3


def test_a_task_with_predictions_only_names_the_option_that_reads_them() -> None:
    task = _task()
    task["predictions"], task["annotations"] = [dict(task["annotations"][0], model_version="m")], []
    parsed = parse_export([task], "export.json")
    (note,) = [f for f in parsed.result.findings if f.code == "labelstudio.task_unlabelled"]
    assert "task without annotations (it has predictions: --source predictions converts them)" in note.message
    chosen = parse_export([task], "export.json", LabelStudioOptions(source="predictions"))
    assert len(chosen.result.instances) == 1


def test_a_bare_list_of_predictions_is_not_taken_for_json_min() -> None:
    """label-studio-ml-backend's test files: [{model_version, result, score}], no task around them."""
    result = _task()["annotations"][0]["result"]
    with pytest.raises(DataError, match="a list of predictions .*not a Label Studio export") as info:
        parse_export([{"model_version": "yolo", "score": 0.9, "result": result}], "preds.json")
    assert [f.code for f in info.value.findings] == ["labelstudio.not_tasks"]


def test_a_rectangle_without_points_of_a_keypoint_category_is_a_box_only_instance() -> None:
    """COCO's num_keypoints 0 annotations come back from their rectangle (to-labelstudio writes
    them so); a rectangle of a label no keypoint instance has is another kind of object."""
    task = _task()
    res = task["annotations"][0]["result"]
    empty = copy.deepcopy(res[0]) | {"id": "box2"}
    empty["value"].update(x=70, y=5, width=20, height=20)
    car = copy.deepcopy(res[0]) | {"id": "car"}
    car["value"].update(x=5, y=5, width=4, height=4, rectanglelabels=["car"])
    res += [empty, car]
    parsed = parse_export([task], "export.json")
    assert [(i.category, len(i.points), i.bbox) for i in parsed.result.instances] == [
        ("person", 2, (20.0, 10.0, 100.0, 80.0)),
        ("person", 0, (140.0, 5.0, 40.0, 20.0)),
    ]
    (said,) = [f for f in parsed.result.findings if f.code == "labelstudio.region_without_points"]
    assert said.message.startswith("rectangle 'car' holds no keypoint") and said.source.endswith("result[4]")
    doc = convert(Parsed.single("labelstudio", "export.json", parsed.result), None)[""].document
    (box_only,) = [a for a in doc["annotations"] if a["num_keypoints"] == 0]
    assert box_only["bbox"] == [140.0, 5.0, 40.0, 20.0] and set(box_only["keypoints"]) == {0}
