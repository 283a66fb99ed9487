"""Three gaps found on real files: annotation id 0, areas too small for OKS, and (in
tests/train/test_skip_rule.py) one rule for what training skips.

``fixtures/validation/gaps.json`` is the project's own file with each of them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kpconv.finding import Severity
from kpconv.geometry import MIN_OKS_AREA
from kpconv.validation import validate
from kpconv.validation.fix import fix_document
from tests.conftest import FIXTURES, realdata_file
from tests.validation.test_checks import template

GAPS = FIXTURES / "validation" / "gaps.json"


def findings(doc: dict[str, Any], code: str, **kw: Any) -> list[Any]:
    return [f for f in validate(doc, **kw).findings if f.code == code]


# -- annotation id 0 ------------------------------------------------------------------------------
def test_annotation_id_zero_is_a_warning_and_an_error_for_training() -> None:
    doc = template()
    doc["annotations"][1]["id"] = 0
    (f,) = findings(doc, "ids.annotation_zero")
    assert f.severity is Severity.WARNING and f.pointer == "/annotations/1/id"
    assert "COCOeval" in f.message and "unmatched" in f.message and f.annotation_id == 0
    (f,) = findings(doc, "ids.annotation_zero", for_training=True)
    assert f.severity is Severity.ERROR
    assert not findings(template(), "ids.annotation_zero")


def test_fix_renumbers_annotation_ids_from_1_and_lists_each_change() -> None:
    doc = json.loads(GAPS.read_text())
    before = [a["id"] for a in doc["annotations"]]
    changes = fix_document(doc)
    renumbered = [c for c in changes if c.code == "fix.annotation_ids_renumbered"]
    assert [a["id"] for a in doc["annotations"]] == list(range(1, len(before) + 1))
    assert [c.pointer for c in renumbered] == [f"/annotations/{i}/id" for i in range(len(before))]
    assert renumbered[0].message == "0 -> 1"
    assert not findings(doc, "ids.annotation_zero", for_training=True)
    # without an id 0 nothing is renumbered
    assert not [c for c in fix_document(template()) if c.code == "fix.annotation_ids_renumbered"]


def test_validate_cli_on_the_gaps_fixture(run_cli, tmp_path: Path) -> None:
    res = run_cli("validate", GAPS, "--for-training", "--format", "json")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    codes = {(i["code"], i["severity"]) for i in report["issues"]}
    assert ("ids.annotation_zero", "error") in codes and (
        "area.too_small_for_oks",
        "warning",
    ) in codes
    fixed = tmp_path / "fixed.json"
    res = run_cli("validate", GAPS, "--fix", fixed)
    assert "annotation_ids_renumbered: 0 -> 1" in res.stdout
    res = run_cli("validate", fixed, "--for-training")
    assert res.exit_code == 0 and "ids.annotation_zero" not in res.stdout


def _self_evaluation_ap(doc: dict[str, Any]) -> float:
    """Keypoint AP of the ground truth scored against itself with pycocotools (1.0 when sound)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO()
    gt.dataset = copy.deepcopy(doc)
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        results = [
            {
                "image_id": a["image_id"],
                "category_id": a["category_id"],
                "keypoints": a["keypoints"],
                "score": 1.0,
            }
            for a in doc["annotations"]
        ]
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        k = max(len(c["keypoints"]) for c in doc["categories"])
        ev.params.kpt_oks_sigmas = np.full(k, 0.072)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


@pytest.mark.realdata
def test_real_file_with_id_zero_scores_low_against_itself_until_fixed() -> None:
    path = realdata_file("kkimgaug/tests/json/coco.json")
    doc = json.loads(path.read_text())
    (f,) = findings(doc, "ids.annotation_zero")
    assert f.pointer == "/annotations/0/id"
    assert _self_evaluation_ap(doc) < 0.9  # the id-0 instance never matches
    fix_document(doc)
    assert not findings(doc, "ids.annotation_zero")
    assert _self_evaluation_ap(doc) == pytest.approx(1.0)


# -- areas too small for OKS ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("area", "crowd", "visible", "warned"),
    [
        (4, 0, True, True),
        (288, 0, True, True),
        (289, 0, True, False),
        (4, 1, True, False),  # crowd regions are not matched by OKS
        (4, 0, False, False),  # no visible keypoint: COCOeval ignores it for keypoints
    ],
)
def test_area_too_small_for_oks(area: float, crowd: int, visible: bool, warned: bool) -> None:
    doc = template()
    ann = doc["annotations"][1]
    ann.update(area=area, iscrowd=crowd)
    if not visible:
        ann.update(keypoints=[0] * 9, num_keypoints=0)
    found = findings(doc, "area.too_small_for_oks")
    assert bool(found) is warned
    if warned:
        assert found[0].severity is Severity.WARNING and found[0].pointer == "/annotations/1/area"
        assert f"{MIN_OKS_AREA:.1f}" in found[0].message and "sigma 0.025" in found[0].message


def test_converters_give_single_point_instances_a_usable_box(run_cli, tmp_path: Path) -> None:
    """Landmarks sharing one label on a 4000x3000 photo: one instance per point, never 2x2."""
    shapes = [
        {"label": "landmark", "points": [[x, y]], "shape_type": "point", "group_id": g, "flags": {}}
        for g, (x, y) in enumerate(((1200.5, 900.0), (2400.0, 1500.25), (3990.0, 10.0)), start=1)
    ]
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": "face.jpg",
           "imageData": None, "imageHeight": 3000, "imageWidth": 4000}  # fmt: skip
    (tmp_path / "face.json").write_text(json.dumps(doc))
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", tmp_path / "face.json", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert "convert.duplicate_keypoint" not in res.stderr
    anns = json.loads(out.read_text())["annotations"]
    assert [a["bbox"] for a in anns] == [
        [1125.5, 825.0, 150.0, 150.0],
        [2325.0, 1425.25, 150.0, 150.0],
        [3850.0, 0.0, 150.0, 150.0],  # moved inside the image, not shrunk
    ]
    assert all(a["area"] == 22500.0 for a in anns)
    assert "area.too_small_for_oks" not in res.stderr


@pytest.mark.realdata
def test_real_tiny_keypoint_instances_are_flagged() -> None:
    """Datumaro's COCO test asset: a 3-keypoint instance of area 2 px², flagged where it lies."""
    path = realdata_file(
        "datumaro-cvat-ai/tests/assets/coco_dataset/coco_person_keypoints/annotations/person_keypoints_val.json"
    )
    (found,) = findings(json.loads(path.read_text()), "area.too_small_for_oks")
    assert found.pointer == "/annotations/0/area" and "area 2 px²" in found.message
