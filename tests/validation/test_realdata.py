"""Verdicts on real COCO-like files written by other people (skipped when ../shared/realdata is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpconv.validation import validate_bytes
from tests.conftest import REALDATA, realdata_file


def codes(path: Path, **kw: object) -> tuple[bool, dict[str, int], object]:
    report = validate_bytes(path.read_bytes(), **kw)  # type: ignore[arg-type]
    return report.ok, dict(report.codes()), report


def test_mmpose_coco_subset_is_valid_and_zero_keypoint_annotations_only_in_dry_run() -> None:
    path = realdata_file("mmpose/tests/data/coco/test_coco.json")
    ok, found, report = codes(path, images=path.parent, for_training=True)
    assert ok
    assert not any(c.startswith(("keypoints.num", "bbox.", "area.", "ids.", "image.")) for c in found)
    assert report.summary["training_skips"] == {}  # type: ignore[attr-defined]
    assert found["training.box_only"] == 1  # the two small people without keypoints stay as boxes
    assert "2 annotation(s) with no visible keypoint" in next(f.message for f in report.findings if f.code == "training.box_only")  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["datumaro", "datumaro-cvat-ai"])
@pytest.mark.parametrize("split", ["train", "val"])
def test_datumaro_empty_keypoint_categories_and_zero_based_skeleton(name: str, split: str) -> None:
    path = realdata_file(f"{name}/tests/assets/coco_dataset/coco_person_keypoints/annotations/person_keypoints_{split}.json")
    ok, found, report = codes(path)
    assert not ok
    assert found["category.no_keypoints"] >= 1
    no_kp = [f for f in report.findings if f.code == "category.no_keypoints"]  # type: ignore[attr-defined]
    assert "carry 3 points" in no_kp[0].message
    assert found["category.skeleton_index"] >= 1  # [[0, 1], [1, 2]] is 0-based
    # the RLE crowd annotation (val) is accepted: no bbox/area/segmentation complaint for it
    crowd = [i for i, a in enumerate(json.loads(path.read_text())["annotations"]) if a.get("iscrowd")]
    about_crowd = [f for f in report.findings if any(f.pointer.startswith(f"/annotations/{i}/") for i in crowd)]  # type: ignore[attr-defined]
    assert not about_crowd
    assert not any(c.startswith(("bbox.", "area.", "iscrowd.")) and c != "area.too_small_for_oks" for c in found)


def test_cvat_to_coco_string_sizes_and_category_zero() -> None:
    path = realdata_file("cvat-to-coco-duytue/annotations.json")
    ok, found, report = codes(path)
    assert not ok
    assert found["image.size_type"] == 14  # 7 images x width/height as strings
    assert found["ids.unknown_category"] == 3
    unknown = [f for f in report.findings if f.code == "ids.unknown_category"]  # type: ignore[attr-defined]
    assert "the only category has id 0" in unknown[0].message
    assert unknown[0].pointer == "/annotations/0/category_id"


def test_indoor_working_no_keypoint_categories_no_annotations() -> None:
    path = realdata_file("indoor-working-laliming/annotations/person_keypoints_train.json")
    ok, found, _ = codes(path)
    assert not ok
    assert found == {"document.no_keypoint_categories": 1, "document.no_annotations": 1}


def test_tlpss_missing_bbox_area_and_null_num_keypoints() -> None:
    path = realdata_file("keypoint-detection-tlpss/labeling/example/annotations.json")
    ok, found, _ = codes(path)
    assert not ok
    assert found["bbox.missing"] == 4 and found["area.missing"] == 4
    assert found["keypoints.num_keypoints_missing"] == 4
    assert found["category.skeleton_index"] == 1  # [[1, 0]]
    assert found["category.id_zero"] == 1


def test_tlpss_test_dataset_missing_bbox_with_images() -> None:
    path = realdata_file("keypoint-detection-tlpss/test/test_dataset/coco_dataset.json")
    ok, found, _ = codes(path, images=path.parent)
    assert not ok
    assert found["bbox.missing"] == 4 and found["area.missing"] == 4 and found["iscrowd.missing"] == 4
    assert not any(c.startswith("image.") for c in found)  # file_name "images/0.png" resolves


def test_every_realdata_json_gets_a_verdict_without_exception() -> None:
    if not REALDATA.is_dir():
        pytest.skip("real data folder not present")
    files = sorted(REALDATA.rglob("*.json"))
    assert files
    for path in files:
        report = validate_bytes(path.read_bytes(), source=str(path))
        assert isinstance(report.ok, bool)
        for f in report.findings:
            assert f.code and f.message


def test_labelme_and_label_studio_files_are_named_for_what_they_are() -> None:
    labelme = realdata_file("labelme-wkentaro/examples/primitives/primitives.json")
    report = validate_bytes(labelme.read_bytes())
    assert "kpconv from-labelme" in report.findings[0].message
    ls = realdata_file("label-studio-sdk/tests/custom/converter/data/test_export_coco/data.json")
    report = validate_bytes(ls.read_bytes())
    assert report.findings[0].code == "document.not_object" and "Label Studio" in report.findings[0].message
