"""Every rule: a valid template with one change, asserting the code and the pointer.

Each case runs through both ways in: the dict path (``validate``) and the file path
(``validate_bytes``: strict typed decode, or the located fallback).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from kpconv.finding import Severity
from kpconv.validation import validate, validate_bytes


def template() -> dict[str, Any]:
    """A small valid dataset: one 3-keypoint category, two images, three annotations."""
    return {
        "info": {"description": "template"},
        "licenses": [],
        "images": [
            {"id": 1, "file_name": "a.png", "width": 100, "height": 80},
            {"id": 2, "file_name": "b.png", "width": 60, "height": 40},
        ],
        "categories": [
            {"id": 1, "name": "thing", "supercategory": "thing",
             "keypoints": ["head", "left_hand", "right_hand"], "skeleton": [[1, 2], [1, 3]]},
        ],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "keypoints": [50, 20, 2, 40, 30, 1, 60, 30, 2],
             "num_keypoints": 3, "bbox": [35, 15, 30, 20], "area": 600, "iscrowd": 0, "segmentation": []},
            {"id": 11, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2, 0, 0, 0, 0, 0, 0],
             "num_keypoints": 1, "bbox": [0, 0, 20, 20], "area": 400, "iscrowd": 0, "segmentation": []},
            {"id": 12, "image_id": 2, "category_id": 1, "keypoints": [30, 20, 2, 25, 25, 2, 35, 25, 2],
             "num_keypoints": 3, "bbox": [20, 15, 20, 15], "area": 300.5, "iscrowd": 0,
             "segmentation": [[20, 15, 40, 15, 40, 30, 20, 30]]},
        ],
    }


def run_both(doc: Any) -> list[Any]:
    """Reports from the dict path and the file path, for the same document."""
    return [validate(copy.deepcopy(doc)), validate_bytes(orjson.dumps(doc))]


def test_template_is_valid_on_both_paths() -> None:
    for report in run_both(template()):
        assert report.ok, [f.to_dict() for f in report.findings]
        assert [f for f in report.findings if f.severity is not Severity.INFO] == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return mutate


def _del(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        del node[last]
    return mutate


def _append(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for p in path.split("/"):
            node = node[int(p)] if isinstance(node, list) else node[p]
        node.append(copy.deepcopy(value))
    return mutate


DUP_ANN = {"id": 10, "image_id": 2, "category_id": 1, "keypoints": [1, 1, 2, 0, 0, 0, 0, 0, 0],
           "num_keypoints": 1, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}

# (name, mutation, expected code, expected pointer, expected severity)
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str, Severity]] = [
    ("images missing", _del("images"), "document.missing_field", "/images", Severity.ERROR),
    ("annotations not a list", _set("annotations", {}), "document.wrong_type", "/annotations", Severity.ERROR),
    ("image not an object", _set("images/1", 5), "image.not_object", "/images/1", Severity.ERROR),
    ("image without width", _del("images/0/width"), "image.missing_field", "/images/0/width", Severity.ERROR),
    ("annotation without keypoints", _del("annotations/1/keypoints"), "annotation.missing_field",
     "/annotations/1/keypoints", Severity.ERROR),
    ("category without name", _del("categories/0/name"), "category.missing_field", "/categories/0/name",
     Severity.ERROR),
    ("annotation id a float", _set("annotations/2/id", 12.5), "ids.wrong_type", "/annotations/2/id", Severity.ERROR),
    ("duplicate image id", _set("images/1/id", 1), "ids.duplicate_image", "/images/1/id", Severity.ERROR),
    ("duplicate annotation id", _append("annotations", DUP_ANN), "ids.duplicate_annotation", "/annotations/3/id",
     Severity.ERROR),
    ("duplicate category id", _append("categories", {"id": 1, "name": "x", "keypoints": ["a"]}),
     "ids.duplicate_category", "/categories/1/id", Severity.ERROR),
    ("unknown image", _set("annotations/1/image_id", 99), "ids.unknown_image", "/annotations/1/image_id",
     Severity.ERROR),
    ("unknown category", _set("annotations/0/category_id", 7), "ids.unknown_category",
     "/annotations/0/category_id", Severity.ERROR),
    ("width as string", _set("images/0/width", "100"), "image.size_type", "/images/0/width", Severity.ERROR),
    ("height zero", _set("images/1/height", 0), "image.size_invalid", "/images/1/height", Severity.ERROR),
    ("empty file_name", _set("images/1/file_name", ""), "image.file_name", "/images/1/file_name", Severity.ERROR),
    ("keypoints wrong length", _set("annotations/0/keypoints", [1, 2, 2, 3, 4, 2]), "keypoints.length",
     "/annotations/0/keypoints", Severity.ERROR),
    ("keypoints not multiple of 3", _set("annotations/0/keypoints", [1, 2, 2, 3]),
     "keypoints.length_not_multiple_of_3", "/annotations/0/keypoints", Severity.ERROR),
    ("keypoint value a string", _set("annotations/2/keypoints/4", "25"), "keypoints.not_number",
     "/annotations/2/keypoints/4", Severity.ERROR),
    ("visibility 3", _set("annotations/0/keypoints/5", 3), "keypoints.visibility", "/annotations/0/keypoints/5",
     Severity.ERROR),
    ("visibility -1", _set("annotations/2/keypoints/8", -1), "keypoints.visibility", "/annotations/2/keypoints/8",
     Severity.ERROR),
    ("category keypoints empty", _set("categories/0/keypoints", []), "category.no_keypoints",
     "/categories/0/keypoints", Severity.ERROR),
    ("duplicate keypoint name", _set("categories/0/keypoints/2", "left_hand"), "category.duplicate_keypoint_name",
     "/categories/0/keypoints/2", Severity.ERROR),
    ("num_keypoints wrong", _set("annotations/1/num_keypoints", 3), "keypoints.num_keypoints_mismatch",
     "/annotations/1/num_keypoints", Severity.WARNING),
    ("num_keypoints null", _set("annotations/1/num_keypoints", None), "keypoints.num_keypoints_missing",
     "/annotations/1/num_keypoints", Severity.WARNING),
    ("v=0 with coordinates", _set("annotations/1/keypoints/3", 7), "keypoints.invisible_with_coordinates",
     "/annotations/1/keypoints/3", Severity.WARNING),
    ("visible point outside image", _set("annotations/2/keypoints/0", 75), "keypoints.outside_image",
     "/annotations/2/keypoints/0", Severity.WARNING),
    ("visible point outside bbox", _set("annotations/0/keypoints/1", 60), "keypoints.outside_bbox",
     "/annotations/0/keypoints/0", Severity.WARNING),
    ("bbox missing", _del("annotations/0/bbox"), "bbox.missing", "/annotations/0/bbox", Severity.ERROR),
    ("bbox 3 numbers", _set("annotations/0/bbox", [1, 2, 3]), "bbox.malformed", "/annotations/0/bbox",
     Severity.ERROR),
    ("bbox zero width", _set("annotations/1/bbox", [5, 5, 0, 10]), "bbox.degenerate", "/annotations/1/bbox",
     Severity.ERROR),
    ("bbox outside image", _set("annotations/2/bbox", [20, 15, 50, 15]), "bbox.outside_image",
     "/annotations/2/bbox", Severity.WARNING),
    ("area missing", _del("annotations/2/area"), "area.missing", "/annotations/2/area", Severity.ERROR),
    ("area negative", _set("annotations/2/area", -3), "area.invalid", "/annotations/2/area", Severity.ERROR),
    ("iscrowd missing", _del("annotations/0/iscrowd"), "iscrowd.missing", "/annotations/0/iscrowd",
     Severity.WARNING),
    ("iscrowd 2", _set("annotations/0/iscrowd", 2), "iscrowd.invalid", "/annotations/0/iscrowd", Severity.ERROR),
    ("skeleton index out of range", _set("categories/0/skeleton/1", [1, 4]), "category.skeleton_index",
     "/categories/0/skeleton/1", Severity.ERROR),
    ("skeleton 0-based", _set("categories/0/skeleton", [[0, 1], [0, 2]]), "category.skeleton_index",
     "/categories/0/skeleton/0", Severity.ERROR),
    ("skeleton self loop", _set("categories/0/skeleton/1", [2, 2]), "category.skeleton_self_loop",
     "/categories/0/skeleton/1", Severity.WARNING),
    ("skeleton duplicate edge", _set("categories/0/skeleton/1", [2, 1]), "category.skeleton_duplicate_edge",
     "/categories/0/skeleton/1", Severity.WARNING),
    ("no skeleton", _set("categories/0/skeleton", []), "category.no_skeleton", "/categories/0/skeleton",
     Severity.INFO),
    ("category id 0", _set("categories/0/id", 0), "category.id_zero", "/categories/0/id", Severity.WARNING),
    ("no annotations", _set("annotations", []), "document.no_annotations", "/annotations", Severity.WARNING),
    ("annotation not an object", _set("annotations/2", "x"), "annotation.not_object", "/annotations/2",
     Severity.ERROR),
    ("category not an object", _append("categories", [1, "x"]), "category.not_object", "/categories/1",
     Severity.ERROR),
    ("keypoints an object", _set("annotations/1/keypoints", {"x": 1}), "keypoints.wrong_type",
     "/annotations/1/keypoints", Severity.ERROR),
    ("category keypoints a string", _set("categories/0/keypoints", "head,hand"), "category.keypoints_type",
     "/categories/0/keypoints", Severity.ERROR),
    ("keypoint name a number", _set("categories/0/keypoints/1", 7), "category.keypoints_type",
     "/categories/0/keypoints/1", Severity.ERROR),
    ("skeleton edge of 3", _set("categories/0/skeleton/0", [1, 2, 3]), "category.skeleton_type",
     "/categories/0/skeleton/0", Severity.ERROR),
    ("skeleton a string", _set("categories/0/skeleton", "1-2"), "category.skeleton_type",
     "/categories/0/skeleton", Severity.ERROR),
    ("category id a string", _set("categories/0/id", "1"), "ids.wrong_type", "/categories/0/id", Severity.ERROR),
    ("no category has keypoints", lambda d: [c.pop("keypoints") for c in d["categories"]],
     "document.no_keypoint_categories", "/categories", Severity.ERROR),
    ("image size float", _set("images/1/width", 60.0), "image.size_type", "/images/1/width", Severity.WARNING),
]


@pytest.mark.parametrize("name,mutate,code,ptr,severity", CASES, ids=[c[0] for c in CASES])
def test_one_change_one_finding(name: str, mutate: Callable[[dict[str, Any]], None], code: str, ptr: str,
                                severity: Severity) -> None:
    doc = template()
    mutate(doc)
    for report in run_both(doc):
        hits = [f for f in report.findings if f.code == code]
        assert hits, f"{name}: expected {code}, got {[f.to_dict() for f in report.findings]}"
        assert ptr in [f.pointer for f in hits], f"{name}: pointers {[f.pointer for f in hits]}"
        assert all(f.severity is severity for f in hits)
        if severity is Severity.ERROR:
            assert not report.ok


def test_findings_carry_annotation_and_image_ids() -> None:
    doc = template()
    doc["annotations"][2]["keypoints"][8] = 5
    for report in run_both(doc):
        (f,) = [f for f in report.findings if f.code == "keypoints.visibility"]
        assert (f.annotation_id, f.image_id) == (12, 2)


def test_float_visibility_is_accepted() -> None:
    doc = template()
    doc["annotations"][0]["keypoints"] = [50.0, 20.0, 2.0, 40.0, 30.0, 1.0, 60.0, 30.0, 2.0]
    for report in run_both(doc):
        assert report.ok
        assert not [f for f in report.findings if f.code.startswith("keypoints.")]


def test_crowd_annotation_with_rle_is_accepted() -> None:
    doc = template()
    doc["annotations"][1].update(iscrowd=1, segmentation={"counts": [0, 20, 30], "size": [80, 100]},
                                 bbox=[0, 0, 0, 0])
    for report in run_both(doc):
        assert report.ok, [f.to_dict() for f in report.errors]


def test_not_an_object() -> None:
    for report in run_both([{"image_id": 1, "category_id": 1, "keypoints": [], "score": 0.9}]):
        assert not report.ok
        assert report.findings[0].code == "document.not_object"
        assert "results" in report.findings[0].message


def test_many_findings_are_capped_per_code_and_counted() -> None:
    doc = template()
    for a in doc["annotations"]:
        a["keypoints"][2] = 7
    report = validate(doc, max_per_code=2)
    listed = [f for f in report.findings if f.code == "keypoints.visibility"]
    assert len(listed) == 3  # two listed + one "1 more not listed"
    assert "1 more" in listed[-1].message
    assert report.summary["codes"]["keypoints.visibility"] == 3


def test_summary_visibility_histogram() -> None:
    report = validate(template())
    assert report.summary["visibility"]["thing"] == {
        "head": [0, 0, 3], "left_hand": [1, 1, 1], "right_hand": [1, 0, 2],
    }
    assert report.summary["instances_per_image"] == {"1": 1, "2": 1}


# ------------------------------------------------------------------ training rules
def test_training_mixed_k() -> None:
    doc = template()
    doc["categories"].append({"id": 2, "name": "other", "keypoints": ["a"], "skeleton": []})
    doc["annotations"].append({"id": 20, "image_id": 2, "category_id": 2, "keypoints": [5, 5, 2],
                               "num_keypoints": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0})
    assert validate(doc).ok
    report = validate(doc, for_training=True)
    assert [f.code for f in report.errors] == ["training.mixed_keypoint_counts"]


def test_training_no_visible_keypoints() -> None:
    doc = template()
    for a in doc["annotations"]:
        a["keypoints"] = [0] * 9
        a["num_keypoints"] = 0
    report = validate(doc, for_training=True)
    assert "training.no_visible_keypoints" in [f.code for f in report.errors]


def test_training_dry_run_counts_skips_per_reason() -> None:
    doc = template()
    doc["annotations"][1].update(keypoints=[0] * 9, num_keypoints=0)
    doc["annotations"][2].update(iscrowd=1)
    report = validate(doc, for_training=True)
    assert report.ok
    assert report.summary["training_skips"] == {"crowd annotation (iscrowd 1)": 1}
    assert sorted(f.message for f in report.findings if f.code == "training.would_skip") == [
        "1 annotation(s) would be skipped in training: crowd annotation (iscrowd 1)",
    ]
    (box_only,) = [f.message for f in report.findings if f.code == "training.box_only"]
    assert box_only.startswith("1 annotation(s) with no visible keypoint (num_keypoints 0): kept as a box")


def test_unnamed_keypoints_are_told_apart_from_a_file_without_keypoints() -> None:
    """mmpose's Halpe and 300W test files: categories with empty keypoint lists, annotations that
    carry points. Not 'this is not a keypoint dataset' (the CVAT points-label case)."""
    doc = template()
    for c in doc["categories"]:
        c["keypoints"] = []
    for report in run_both(doc):
        (f,) = [f for f in report.findings if f.code == "document.no_keypoint_categories"]
        assert "names its keypoints, though the annotations carry up to 3 each" in f.message
    doc = template()
    for c in doc["categories"]:
        c["keypoints"] = []
    for a in doc["annotations"]:
        a["keypoints"], a["num_keypoints"] = [], 0
    for report in run_both(doc):
        (f,) = [f for f in report.findings if f.code == "document.no_keypoint_categories"]
        assert "this is not a keypoint dataset" in f.message
