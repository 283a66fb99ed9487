"""COCO keypoint AP for any K: the spec's sigmas replace pycocotools' fixed 17."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from kpconv.spec import load_spec

pytestmark = pytest.mark.train

torch = pytest.importorskip("torch")

from kpconv.train.data import validated  # noqa: E402
from kpconv.train.evaluate import coco_metrics, format_metrics, ground_truth, to_coco_results  # noqa: E402


def _perfect_results(gt, *, unlabelled=False):
    """The ground truth as detections (``unlabelled``: also the boxes with no visible keypoint)."""
    out = []
    for a in gt["annotations"]:
        if a["iscrowd"] or (a["num_keypoints"] == 0 and not unlabelled):
            continue
        out.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                    "score": 0.9, "keypoints": a["keypoints"]})
    return out


def test_perfect_predictions_score_ap_one_with_k5(tf):
    vds = validated(tf.train_json, tf.images, spec=load_spec(tf.spec))
    gt = ground_truth(vds)
    assert len(gt["categories"][0]["keypoints"]) == 5
    m = coco_metrics(gt, _perfect_results(gt), vds.categories, vds.category_specs())
    assert m["keypoints"]["AP"] == pytest.approx(1.0)
    boxes = coco_metrics(gt, _perfect_results(gt, unlabelled=True), vds.categories, vds.category_specs())
    assert boxes["bbox"]["AP"] == pytest.approx(1.0)
    assert m["per_category"]["critter"]["sigmas"] == [0.05, 0.08, 0.08, 0.09, 0.09]
    assert "keypoints AP 1.000" in format_metrics(m)


def test_pycocotools_default_sigmas_cannot_evaluate_k5(tf):
    """The bug kpconv works around (cocodataset/cocoapi #264)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    vds = validated(tf.train_json, tf.images)
    gt_doc = ground_truth(vds)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_doc
        gt.createIndex()
        dt = gt.loadRes(_perfect_results(gt_doc))
        ev = COCOeval(gt, dt, "keypoints")
        with pytest.raises(ValueError):
            ev.evaluate()


def test_sigmas_are_the_specs(tf):
    vds = validated(tf.train_json, tf.images, spec=load_spec(tf.spec))
    gt = ground_truth(vds)
    shifted = copy.deepcopy(_perfect_results(gt))
    for r in shifted:
        kp = r["keypoints"]
        for i in range(0, len(kp), 3):
            kp[i] += 3.0  # 3 px off: OKS depends on the sigmas
    tight = dataclasses.replace(vds.category_specs()[0], sigmas=[0.01] * 5)
    loose = dataclasses.replace(vds.category_specs()[0], sigmas=[0.5] * 5)
    ap_tight = coco_metrics(gt, shifted, vds.categories, [tight])["keypoints"]["AP"]
    ap_loose = coco_metrics(gt, shifted, vds.categories, [loose])["keypoints"]["AP"]
    assert ap_tight < 0.5 < ap_loose == pytest.approx(1.0)


def test_no_detections_is_zero_not_a_crash(tf):
    vds = validated(tf.train_json, tf.images)
    m = coco_metrics(ground_truth(vds), [], vds.categories, vds.category_specs())
    assert m["keypoints"]["AP"] == 0.0 and m["note"] == "no detections"


def test_ground_truth_recounts_num_keypoints(tf):
    doc = __import__("json").loads(tf.train_json.read_text())
    doc["annotations"][0]["num_keypoints"] = 0  # stale: COCOeval would ignore this person
    vds = validated(doc, tf.images)
    gt = ground_truth(vds)
    assert gt["annotations"][0]["num_keypoints"] == 5


def test_results_are_coco_shaped():
    out = {"boxes": torch.tensor([[1.0, 2.0, 11.0, 22.0]]), "scores": torch.tensor([0.75]),
           "labels": torch.tensor([1]), "keypoints": torch.tensor([[[3.0, 4.0, 1.0], [5.0, 6.0, 1.0]]]),
           "keypoints_scores": torch.tensor([[2.5, 0.1]])}
    res = to_coco_results([out], [42], {1: 7})
    assert res == [{"image_id": 42, "category_id": 7, "bbox": [1.0, 2.0, 10.0, 20.0], "score": 0.75,
                    "keypoints": [3.0, 4.0, 1, 5.0, 6.0, 1], "keypoint_scores": [2.5, 0.1]}]
    assert to_coco_results([out], [42], {1: 7}, score_threshold=0.8) == []
    assert np.isfinite(res[0]["score"])
