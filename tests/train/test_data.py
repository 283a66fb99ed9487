"""The training gate and the targets kpconv builds (no torch needed)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from kpconv.errors import DataError
from kpconv.spec import load_spec, spec_from_mapping
from kpconv.train.data import DatasetRefused, ValidatedDataset, validated

pytestmark = pytest.mark.train


def _doc(tf):
    return json.loads(tf.train_json.read_text())


def test_fixture_passes_and_skips_are_counted(tf):
    vds = validated(tf.train_json, tf.images, spec=load_spec(tf.spec))
    assert vds.num_keypoints == 5 and vds.num_classes == 2
    assert [c.name for c in vds.categories] == ["critter"]
    assert vds.skipped == {"crowd": 1, "unusable_keypoints": 0, "missing_box": 0, "degenerate_box": 0}
    assert vds.box_only == 1 and vds.counts()["annotations_box_only"] == 1
    counts = vds.counts()
    assert counts["annotations_used"] == 11  # the one without visible keypoints stays as a box
    assert counts["negative_images"] == 1 and counts["negative_images_kept"] == 1
    assert counts["training_images"] == 8
    skipped_notes = [n for n in vds.notes if n.code == "train.annotation_skipped"]
    assert sorted(n.annotation_id for n in skipped_notes) == [12]
    box_only = [n for n in vds.notes if n.code == "train.annotation_box_only"]
    assert [n.annotation_id for n in box_only] == [11]


def test_an_object_without_visible_keypoints_is_a_box_target_not_background(tf):
    """As torchvision's reference: the box is a detection target, every keypoint v=0."""
    vds = validated(tf.train_json, tf.images)
    s = next(s for s in vds.samples if s.image_id == 3)
    j = s.annotation_ids.index(11)
    assert s.boxes[j].tolist() == [100.0, 4.0, 120.0, 24.0]
    assert s.labels[j] == 1
    assert not s.keypoints[j].any()
    assert s in vds.training_samples()
    assert "crowd annotation (iscrowd 1): 1" in vds.describe()
    assert vds.flip_permutations() == [[0, 1, 2, 3, 4], [0, 2, 1, 4, 3]]


def test_targets_are_xyxy_labels_and_nk3(tf):
    vds = validated(tf.train_json, tf.images)
    s = next(s for s in vds.samples if s.image_id == 2)  # one critter, right foot v=1
    assert s.boxes.dtype == np.float32 and s.boxes.shape == (1, 4)
    doc = _doc(tf)
    ann = next(a for a in doc["annotations"] if a["image_id"] == 2)
    x, y, w, h = ann["bbox"]
    np.testing.assert_allclose(s.boxes[0], [x, y, x + w, y + h], rtol=1e-6)
    assert s.labels.tolist() == [1]
    assert s.keypoints.shape == (1, 5, 3)
    np.testing.assert_allclose(s.keypoints[0].reshape(-1), ann["keypoints"], rtol=1e-6)


def test_labels_are_contiguous_in_category_id_order(tf):
    doc = _doc(tf)
    cat2 = dict(doc["categories"][0], id=7, name="other")
    doc["categories"].append(cat2)
    doc["annotations"][0]["category_id"] = 7
    vds = validated(doc, tf.images)
    assert [(c.label, c.category_id, c.name) for c in vds.categories] == [(1, 1, "critter"), (2, 7, "other")]
    first = next(s for s in vds.samples if s.image_id == 1)
    assert first.labels.tolist() == [2, 1]
    only = validated(doc, tf.images, categories=["other"])
    assert [c.name for c in only.categories] == ["other"]
    assert only.counts()["annotations_used"] == 1


def test_invalid_dataset_is_refused_with_its_findings(tf):
    with pytest.raises(DatasetRefused) as info:
        validated(tf.invalid_json, tf.images)
    codes = {f.code for f in info.value.report.errors}
    assert {"keypoints.length", "area.missing"} <= codes
    assert info.value.exit_code == 1
    assert "failed validation for training" in info.value.message


def test_validated_dataset_cannot_be_built_directly(tf):
    with pytest.raises(TypeError, match="validated"):
        ValidatedDataset(object(), dataset=None, images=tf.images, spec=None, categories=[],  # type: ignore[arg-type]
                         samples=[], report=None, notes=[], skipped={}, negatives="keep", source="x")


def test_degenerate_box_and_all_skipped_image_are_counted(tf):
    doc = _doc(tf)
    ann = next(a for a in doc["annotations"] if a["image_id"] == 2)
    ann["bbox"] = [ann["bbox"][0], ann["bbox"][1], 0.5, ann["bbox"][3]]  # < 1 px wide
    vds = validated(doc, tf.images)
    assert vds.skipped["degenerate_box"] == 1
    img2 = next(s for s in vds.samples if s.image_id == 2)
    assert img2.annotation_ids == () and img2.skipped == 1
    assert img2 not in vds.training_samples()
    assert vds.counts()["images_skipped_all_annotations_unusable"] == 1
    assert any(n.code == "train.image_skipped" and n.image_id == 2 for n in vds.notes)


def test_negatives_can_be_left_out(tf):
    keep = validated(tf.train_json, tf.images)
    skip = validated(tf.train_json, tf.images, negatives="skip")
    assert len(keep.training_samples()) == len(skip.training_samples()) + 1
    assert all(not s.is_negative for s in skip.training_samples())


def test_visibility_zero_points_have_zero_coordinates(tf):
    doc = _doc(tf)
    doc["annotations"][0]["keypoints"][3:6] = [50, 60, 0]  # v=0 with coordinates
    vds = validated(doc, tf.images)
    kp = vds.samples[0].keypoints[0]
    assert kp[1].tolist() == [0.0, 0.0, 0.0]


def test_user_spec_must_keep_the_dataset_order(tf):
    spec = spec_from_mapping({"name": "critter",
                              "keypoints": ["head", "right_hand", "left_hand", "left_foot", "right_foot"]})
    with pytest.raises(DataError, match="order must match"):
        validated(tf.train_json, tf.images, spec=spec)


def test_spec_without_pairs_makes_flip_unsafe(tf):
    doc = copy.deepcopy(_doc(tf))
    names = ["a", "b", "c", "d", "e"]
    doc["categories"][0]["keypoints"] = names
    vds = validated(doc, tf.images)
    assert vds.flip_permutations() is None
    assert any(n.code == "train.flip_unsafe" for n in vds.notes)


def test_nothing_usable_is_refused_before_training(tf, tmp_path):
    pytest.importorskip("torch")
    from kpconv.train.config import TrainConfig
    from kpconv.train.trainer import fit

    doc = _doc(tf)
    for ann in doc["annotations"]:
        if not ann["iscrowd"] and ann["num_keypoints"]:
            ann["bbox"][2] = 0.5  # every usable annotation gets a sub-pixel box
    path = tmp_path / "thin.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="nothing to train"):
        fit(TrainConfig(dataset=str(path), images=str(tf.images), output=str(tmp_path / "r"),
                        negatives="skip", device="cpu"))
    assert not (tmp_path / "r").exists()


def test_structural_problems_in_a_file_reach_the_validation_report(tf, tmp_path):
    doc = json.loads(tf.train_json.read_text())
    doc["images"][0]["id"] = "one"  # pydantic would have stopped at this with a one-line error
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DatasetRefused) as info:
        validated(path, tf.images)
    codes = {f.code for f in info.value.report.findings}
    assert "ids.wrong_type" in codes
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(DatasetRefused) as info:
        validated(listed, tf.images)
    assert [f.code for f in info.value.report.findings] == ["document.not_object"]
