"""kpconv.formats.labelstudio writer: COCO → Label Studio tasks + label config, and back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kpconv.convert.pipeline import convert
from kpconv.errors import UsageError
from kpconv.formats import labelstudio
from kpconv.formats.labelstudio import (
    LabelStudioOptions,
    WriteOptions,
    parse_config,
    read_config,
    write,
)
from kpconv.spec import load_spec
from tests.conftest import FIXTURES, realdata_file

#: datasets that validate (to-labelstudio writes only those)
DATASETS = [
    FIXTURES / "train" / "train.json",
    FIXTURES / "crossformat" / "expected.json",
]


def _doc() -> dict[str, Any]:
    return {
        "images": [{"id": 1, "file_name": "sub/a b.jpg", "width": 200, "height": 100},
                   {"id": 2, "file_name": "b.png", "width": 50, "height": 40}],
        "annotations": [
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0,
             "num_keypoints": 2, "keypoints": [15.25, 25.5, 2, 0, 0, 0, 20, 30, 1]},
            {"id": 8, "image_id": 1, "category_id": 1, "bbox": [50, 10, 20, 20], "area": 400, "iscrowd": 1,
             "num_keypoints": 1, "keypoints": [55, 15, 2, 0, 0, 0, 0, 0, 0]},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"],
                        "skeleton": [[1, 2], [1, 3]], "supercategory": "person"}],
    }  # fmt: skip


def _back(tasks: Path, config: Path, **kw: Any) -> dict[str, Any]:
    """from-labelstudio of written tasks with the written config."""
    source = "annotations" if kw.pop("annotations", False) else "predictions"
    opts = LabelStudioOptions(source=source, config=read_config(config), **kw)  # type: ignore[arg-type]
    conv = convert(labelstudio.read(tasks, opts), opts.spec)[""]
    assert conv.report.ok, [f.to_dict() for f in conv.report.errors]
    return conv.document


# ------------------------------------------------------------------------------ structure
def test_tasks_as_label_studio_imports_them(tmp_path: Path) -> None:
    report = write(_doc(), tmp_path / "tasks.json")
    assert report.summary == {"tasks": 2, "instances": 1, "points": 2, "mode": "predictions",
                              "config": str(tmp_path / "tasks.label_config.xml"), "written": str(tmp_path / "tasks.json")}  # fmt: skip
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert [t["data"]["image"] for t in tasks] == [
        "/data/local-files/?d=sub/a%20b.jpg",
        "/data/local-files/?d=b.png",
    ]
    (pred,) = tasks[0]["predictions"]
    assert pred["model_version"] == "kpconv" and "annotations" not in tasks[0]
    box, nose, right_eye = pred["result"]  # left_eye v=0: left out; the crowd: left out
    assert box["type"] == "rectanglelabels" and box["id"] == "a7"
    assert box["value"] == {
        "x": 5.0,
        "y": 20.0,
        "width": 15.0,
        "height": 40.0,
        "rotation": 0,
        "rectanglelabels": ["person"],
    }
    assert (box["original_width"], box["original_height"], box["from_name"], box["to_name"]) == (
        200,
        100,
        "bbox",
        "image",
    )
    assert nose["type"] == "keypointlabels" and nose["parentID"] == "a7" and nose["id"] == "a7_0"
    assert (nose["value"]["x"], nose["value"]["y"], nose["value"]["keypointlabels"]) == (
        7.625,
        25.5,
        ["nose"],
    )
    assert right_eye["id"] == "a7_2" and right_eye["parentID"] == "a7"
    assert {"labelstudio.crowd_left_out", "labelstudio.visibility_lost"} <= {
        f.code for f in report.findings
    }


def test_config_declares_the_categories_and_keypoints_with_model_index(tmp_path: Path) -> None:
    write(_doc(), tmp_path / "tasks.json", WriteOptions(config_out=tmp_path / "cfg.xml"))
    text = (tmp_path / "cfg.xml").read_text()
    assert '<Label value="left_eye" model_index="1"/>' in text
    cfg = parse_config(text.encode(), "cfg.xml")
    assert cfg.keypoints == ["nose", "left_eye", "right_eye"] and cfg.box_labels == ["person"]
    assert cfg.image_keys == {"image": "image"}


def test_annotations_mode_and_image_root(tmp_path: Path) -> None:
    write(
        _doc(), tmp_path / "t.json", WriteOptions(as_="annotations", image_root="https://h/bucket/")
    )
    tasks = json.loads((tmp_path / "t.json").read_text())
    assert tasks[0]["data"]["image"] == "https://h/bucket/sub/a%20b.jpg"
    assert "predictions" not in tasks[0] and tasks[0]["annotations"][0]["result"]


def test_deterministic_output(tmp_path: Path) -> None:
    write(_doc(), tmp_path / "1.json")
    write(_doc(), tmp_path / "2.json")
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()
    assert (tmp_path / "1.label_config.xml").read_bytes() == (
        tmp_path / "2.label_config.xml"
    ).read_bytes()


def test_a_point_outside_its_image_is_left_out_and_said(tmp_path: Path) -> None:
    doc = _doc()
    doc["annotations"][0]["keypoints"][:3] = [250, 50, 2]  # x beyond the 200 px width
    report = write(doc, tmp_path / "t.json")
    assert report.summary["points"] == 1
    assert "labelstudio.point_outside_image" in {f.code for f in report.findings}


def test_stdout_needs_config_out() -> None:
    with pytest.raises(UsageError, match="--config-out"):
        write(_doc(), Path("-"))


def test_nothing_to_write_without_keypoint_categories(tmp_path: Path) -> None:
    doc = _doc()
    doc["categories"][0]["keypoints"] = []
    report = write(doc, tmp_path / "t.json")
    assert report.summary["written"] is None and not (tmp_path / "t.json").exists()


# ------------------------------------------------------------------------------ round trips
def _instances(doc: dict[str, Any], annotations: list[dict[str, Any]] | None = None) -> list[Any]:
    """Per instance (file name, category, keypoints, bbox or None), in a stable order."""
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    anns = doc["annotations"] if annotations is None else annotations
    return sorted(
        (
            (names[a["image_id"]], cats[a["category_id"]], a["keypoints"], a.get("bbox"))
            for a in anns
        ),
        key=lambda row: (row[0], row[1], [round(v, 3) for v in row[2]]),
    )


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda p: p.parent.name)
def test_round_trip_gives_the_same_coco(dataset: Path, tmp_path: Path) -> None:
    from tests.formats.test_labelme_writer import spec_file, written_annotations

    before = json.loads(dataset.read_text())
    report = write(before, tmp_path / "tasks.json", WriteOptions(visibility_attribute="visibility"))
    assert report.summary["written"]
    spec = load_spec(spec_file(before, tmp_path / "spec.json"))
    after = _back(
        tmp_path / "tasks.json",
        tmp_path / "tasks.label_config.xml",
        spec=spec,
        visibility_attribute="visibility",
    )
    assert sorted((i["file_name"], i["width"], i["height"]) for i in before["images"]) == [
        (i["file_name"], i["width"], i["height"]) for i in after["images"]
    ]  # images without instances too (their size travels in data)
    keep = ("name", "keypoints", "skeleton")
    assert [{k: c[k] for k in keep} for c in before["categories"] if c.get("keypoints")] == [
        {k: c[k] for k in keep} for c in after["categories"]
    ]
    # a box-only annotation (num_keypoints 0) comes back from its rectangle
    rows_before, rows_after = _instances(before, written_annotations(before, box_only=True)), _instances(after)
    assert len(rows_before) == len(rows_after)
    for (fa, ca, ka, ba), (fb, cb, kb, bb) in zip(rows_before, rows_after, strict=True):
        assert (fa, ca) == (fb, cb)
        assert ka[2::3] == kb[2::3]  # visibility, kept by the per-point choice
        assert ka == pytest.approx(kb, abs=1e-6)
        if ba is not None:  # an instance without a box gets one derived from its points
            assert ba == pytest.approx(bb, abs=1e-6)


def test_round_trip_without_the_attribute_loses_only_occlusion(tmp_path: Path) -> None:
    before = _doc()
    write(before, tmp_path / "tasks.json", WriteOptions(as_="annotations"))
    after = _back(tmp_path / "tasks.json", tmp_path / "tasks.label_config.xml", annotations=True)
    (ann,) = after["annotations"]
    assert ann["keypoints"] == pytest.approx(
        [15.25, 25.5, 2, 0, 0, 0, 20, 30, 2], abs=1e-6
    )  # v=1 -> v=2
    assert ann["bbox"] == pytest.approx([10, 20, 30, 40], abs=1e-6)
    assert [c["keypoints"] for c in after["categories"]] == [["nose", "left_eye", "right_eye"]]


def test_round_trip_of_several_categories_and_a_boxless_instance(tmp_path: Path) -> None:
    doc = _doc()
    doc["annotations"] = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0,
         "num_keypoints": 2, "keypoints": [15, 25, 2, 20, 30, 2, 0, 0, 0]},
        {"id": 2, "image_id": 1, "category_id": 2, "area": 0, "iscrowd": 0,
         "num_keypoints": 2, "keypoints": [120, 60, 2, 150, 70, 2]},
    ]  # fmt: skip
    doc["categories"].append(
        {
            "id": 2,
            "name": "dog",
            "keypoints": ["nose", "tail"],
            "skeleton": [],
            "supercategory": "animal",
        }
    )
    write(doc, tmp_path / "t.json")
    text = (tmp_path / "t.label_config.xml").read_text()
    assert '"dog.tail" model_index="1"' in text and '"person.nose" model_index="0"' in text
    tasks = json.loads((tmp_path / "t.json").read_text())
    dog = [r for r in tasks[0]["predictions"][0]["result"] if r["id"].startswith("a2")]
    assert [r.get("parentID") for r in dog] == [None, "a2_0"]  # no box: chained to the first point
    after = _back(tmp_path / "t.json", tmp_path / "t.label_config.xml")
    assert [(c["name"], c["keypoints"]) for c in after["categories"]] == [("person", ["nose", "left_eye", "right_eye"]),
                                                                          ("dog", ["nose", "tail"])]  # fmt: skip
    anns = {a["category_id"]: a for a in after["annotations"]}
    assert anns[1]["keypoints"] == pytest.approx([15, 25, 2, 20, 30, 2, 0, 0, 0])
    assert anns[2]["keypoints"] == pytest.approx([120, 60, 2, 150, 70, 2])


def test_round_trip_of_the_real_export(tmp_path: Path) -> None:
    export = realdata_file(
        "label-studio-sdk/tests/custom/converter/data/test_export_yolo/data_keypoints.json"
    )
    config = realdata_file(
        "label-studio-sdk/tests/custom/converter/data/test_export_yolo/label_config_keypoints.xml"
    )
    opts = LabelStudioOptions(config=read_config(config))
    first = convert(labelstudio.read(export, opts), None)[""].document
    write(first, tmp_path / "tasks.json", WriteOptions(image_root="/data/upload/18/"))
    again = _back(tmp_path / "tasks.json", tmp_path / "tasks.label_config.xml")
    assert again["images"] == first["images"] and again["categories"] == first["categories"]
    assert again["annotations"][0]["keypoints"] == pytest.approx(
        first["annotations"][0]["keypoints"], abs=1e-6
    )
    assert again["annotations"][0]["bbox"] == pytest.approx(
        first["annotations"][0]["bbox"], abs=1e-6
    )


# ------------------------------------------------------------------------------ the real client
LS_PYTHON = os.environ.get("KPCONV_LABEL_STUDIO_PYTHON", "")


def _sdk_python() -> str:
    """An interpreter that has label-studio-sdk (this one, or $KPCONV_LABEL_STUDIO_PYTHON)."""
    for python in (sys.executable, LS_PYTHON):
        if (
            python
            and subprocess.run(
                [python, "-c", "import label_studio_sdk.converter"], capture_output=True
            ).returncode
            == 0
        ):
            return python
    pytest.skip(
        "label-studio-sdk is not installed (set KPCONV_LABEL_STUDIO_PYTHON to an interpreter that has it)"
    )


SDK_SCRIPT = """
import json, os, sys
from label_studio_sdk.converter import Converter
config, tasks, out = sys.argv[1:4]
c = Converter(config=open(config).read(), project_dir=None, download_resources=False)
c.convert_to_coco(tasks, out + "/coco", is_dir=False)
c.convert_to_yolo(tasks, out + "/yolo", is_dir=False)
labels = {}
for name in sorted(os.listdir(out + "/yolo/labels")):
    labels[name] = [list(map(float, line.split())) for line in open(out + "/yolo/labels/" + name) if line.strip()]
print(json.dumps({"coco": json.load(open(out + "/coco/result.json")), "yolo": labels}))
"""


def test_label_studio_sdk_reads_the_tasks_back(tmp_path: Path) -> None:
    python = _sdk_python()
    doc = _doc()
    doc["annotations"][1]["iscrowd"] = 0
    write(doc, tmp_path / "tasks.json", WriteOptions(as_="annotations"))
    # the SDK converts exports: the same tasks with an id each, as Label Studio exports them
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    for i, t in enumerate(tasks, start=1):
        t["id"] = i
        t["annotations"][0].update(id=i, completed_by=1, was_cancelled=False)
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    run = subprocess.run([python, "-c", SDK_SCRIPT, str(tmp_path / "tasks.label_config.xml"), str(tmp_path / "export.json"),
                          str(tmp_path / "sdk")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # its COCO export takes the keypoint order from model_index
    (cat,) = [c for c in result["coco"]["categories"] if c.get("keypoints")]
    assert cat["keypoints"] == ["nose", "left_eye", "right_eye"]
    # its YOLO export groups points by parentID: one line per instance, with that instance's points
    (lines,) = [
        rows for rows in result["yolo"].values() if rows
    ]  # image sub/a b.jpg (the SDK keeps %20)
    got = sorted((row[5] * 200, row[6] * 100, row[11] * 200, row[12] * 100) for row in lines)
    assert [v for row in got for v in row] == pytest.approx(
        [15.25, 25.5, 20, 30, 55, 15, 0, 0], abs=1e-6
    )
