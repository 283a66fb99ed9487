"""The gate, the flips and the evaluation on real files (skipped when ../shared/realdata is absent)."""

from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from kpconv.spec import COCO_PERSON_KEYPOINTS, get_preset
from kpconv.train.data import DatasetRefused, validated
from tests.conftest import realdata_file

pytestmark = [pytest.mark.train, pytest.mark.realdata]


def _coco4():
    path = realdata_file("mmpose/tests/data/coco/test_coco.json")
    return path, path.parent


def _noisy(gt: dict, seed: int = 0) -> list[dict]:
    """The ground truth as detections, keypoints jittered by a few pixels, scores random."""
    rng = np.random.default_rng(seed)
    out = []
    for a in gt["annotations"]:
        if a["iscrowd"] or a["num_keypoints"] == 0:
            continue
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 4, size=(len(kp), 2))
        out.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                    "score": float(rng.uniform(0.5, 1)), "keypoints": kp.reshape(-1).tolist()})
    return out


def test_coco4_gate_counts_and_coco_flip_map():
    path, images = _coco4()
    vds = validated(path, images, spec=get_preset("coco-person"))
    assert vds.num_keypoints == 17
    assert vds.skipped == {"crowd": 0, "unusable_keypoints": 0, "missing_box": 0, "degenerate_box": 0}
    assert vds.box_only == 2  # the two small people without keypoints: detection targets
    assert vds.counts()["annotations_used"] == 14
    perm = vds.flip_permutations()[1]
    for i, name in enumerate(COCO_PERSON_KEYPOINTS):
        mirrored = name.replace("left", "#").replace("right", "left").replace("#", "right")
        assert COCO_PERSON_KEYPOINTS[perm[i]] == mirrored


def test_coco4_metrics_equal_plain_pycocotools_for_coco_person():
    """With COCO's own 17 sigmas kpconv's evaluation must give exactly pycocotools' numbers."""
    pytest.importorskip("torch")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from kpconv.train.evaluate import coco_metrics, ground_truth

    path, images = _coco4()
    vds = validated(path, images, spec=get_preset("coco-person"))
    gt_doc = ground_truth(vds)
    results = _noisy(gt_doc)
    ours = coco_metrics(gt_doc, copy.deepcopy(results), vds.categories, vds.category_specs())
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = json.loads(path.read_text())
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(copy.deepcopy(results)), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert 0.2 < ev.stats[0] < 1.0  # the jitter makes it a real test
    assert ours["keypoints"]["AP"] == pytest.approx(ev.stats[0], abs=1e-6)
    assert ours["keypoints"]["AP50"] == pytest.approx(ev.stats[1], abs=1e-6)


@pytest.mark.parametrize("rel, k", [("mmpose/tests/data/animalpose/test_animalpose.json", 20),
                                    ("mmpose/tests/data/zebra/test_zebra.json", 9)])
def test_non_person_sets_evaluate_with_their_k(rel, k):
    pytest.importorskip("torch")
    from kpconv.train.evaluate import coco_metrics, ground_truth

    path = realdata_file(rel)
    vds = validated(path, path.parent)
    assert vds.num_keypoints == k
    gt = ground_truth(vds)
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                "score": 0.9, "keypoints": a["keypoints"]} for a in gt["annotations"]]
    m = coco_metrics(gt, perfect, vds.categories, vds.category_specs())
    assert m["keypoints"]["AP"] == pytest.approx(1.0)
    assert len(m["per_category"][vds.categories[0].name]["sigmas"]) == k


def test_dataset_without_boxes_is_refused():
    path = realdata_file("keypoint-detection-tlpss/test/test_dataset/coco_dataset.json")
    with pytest.raises(DatasetRefused) as info:
        validated(path, path.parent)
    assert {"bbox.missing", "area.missing"} <= {f.code for f in info.value.report.errors}


@pytest.mark.slow
def test_one_step_on_real_zebra_jpegs(tf, tmp_path, torch_threads):
    from click.testing import CliRunner

    from kpconv.cli import main

    path = realdata_file("mmpose/tests/data/zebra/test_zebra.json")
    runner = CliRunner()
    with runner.isolation() as streams:
        with pytest.raises(SystemExit) as exit_info:
            main(["train", str(path), "--images", str(path.parent), "-o", str(tmp_path / "z"),
                  "--max-steps", "1", *tf.tiny])
        err = streams[1].getvalue().decode()
    assert exit_info.value.code == 0, err
    rec = [json.loads(line) for line in (tmp_path / "z" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rec if r["type"] == "step"] == [1]
    assert "K=9" in err
