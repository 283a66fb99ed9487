"""Real YOLO pose files (``../shared/realdata``; skipped when absent): read as their quirks demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.convert.pipeline import convert
from kpconv.formats.yolo import lint, read
from kpconv.validation import validate
from tests.conftest import realdata_file

pytestmark = pytest.mark.realdata
DOG = "yolo-dog-fayedoneaway/training/dog_attributes.yaml"
DATUMARO = "datumaro-cvat-ai/tests/assets/yolo_dataset"


def test_dog_dataset_lint() -> None:
    report = lint(realdata_file(DOG))
    codes = report.codes()
    # 3 lines with the wrong column count (Ultralytics drops those 3 images whole), located
    columns = sorted(f.source for f in report.findings if f.code == "yolo.columns")
    assert len(columns) == 3 and all(
        s.startswith("data2/test/labels/") and s.endswith(".txt:1") for s in columns
    )
    assert any(
        "found 17" in f.message and "[6, 2]?" in f.message
        for f in report.findings
        if f.code == "yolo.columns"
    )
    assert codes["yolo.label_without_image"] == 14  # labels without images
    assert codes["yolo.not_an_image"] == 1  # desktop.ini
    assert codes["yolo.flip_idx_missing"] == 1  # no flip_idx; the names imply one
    (missing,) = [f for f in report.findings if f.code == "yolo.flip_idx_missing"]
    assert (
        "flip_idx: [0, 2, 1, 4, 3, 5]" in missing.message
    )  # Left Eye/Right Eye are listed out of order
    assert codes["yolo.split_missing"] == 2  # train/ and val/ are not in the sample
    assert report.summary["splits"]["test"] == {"images": 142, "label_files": 138, "instances": 135}


def test_dog_dataset_converts_the_good_lines() -> None:
    data_yaml = realdata_file(DOG)
    parsed = read(data_yaml, "test")
    root = Path(parsed.summary["images_root"])
    conv = convert(parsed, None)[""]
    doc = conv.document
    assert len(doc["images"]) == 142  # background images (no label file) kept
    assert doc["categories"][0]["keypoints"] == [
        "Nose",
        "Left Ear",
        "Right Ear",
        "Right Eye",
        "Left Eye",
        "Tail",
    ]
    assert conv.spec is not None and conv.spec.categories[0].flip_pairs == [(2, 3), (4, 5)]
    # 135 good lines; 6 of them have no labelled point: box-only annotations (num_keypoints 0)
    assert len(doc["annotations"]) == 135 and sum(a["num_keypoints"] == 0 for a in doc["annotations"]) == 6
    assert "6 instance(s) with a box and no labelled keypoint" in next(
        f.message for f in conv.report.findings if f.code == "convert.box_only"
    )
    # this labeller used v = 1 for visible: kept as it is (COCO v = 1)
    assert {v for a in doc["annotations"] for v in a["keypoints"][2::3]} <= {0, 1}
    assert validate(doc, images=root).errors == []


@pytest.mark.parametrize(
    ("variant", "ndim"), [("yolov8_pose", 3), ("yolov8_pose_two_values_per_point", 2)]
)
def test_datumaro_assets(variant: str, ndim: int) -> None:
    data_yaml = realdata_file(f"{DATUMARO}/{variant}/data.yaml")
    report = lint(data_yaml)
    assert [f.code for f in report.errors] == [
        "yolo.split_key"
    ]  # no val: Ultralytics would refuse it
    assert (
        report.codes()["yolo.kpt_names_missing"] == 1
        and report.codes()["yolo.flip_idx_missing"] == 1
    )
    parsed = read(data_yaml, "train")
    root = Path(parsed.summary["images_root"])
    conv = convert(parsed, None)[""]
    (ann,) = conv.document["annotations"]
    image = conv.document["images"][0]
    assert (image["width"], image["height"]) == (15, 10)
    assert ann["keypoints"] == pytest.approx([1.5, 2.0, 2, 4.5, 4.0, 2, 7.5, 6.0, 2])
    assert ann["bbox"] == pytest.approx([0.0, 2.0, 4.0, 2.0], abs=1e-3)
    assert conv.report.ok and Path(root).is_dir()
