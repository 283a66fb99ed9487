"""The network for any K, built offline; local weights loaded by name and shape; downloads refused."""

from __future__ import annotations

import pytest

from kpconv.errors import DataError, UsageError

pytestmark = pytest.mark.train

torch = pytest.importorskip("torch")

from kpconv.train.model import (  # noqa: E402
    ModelConfig,
    build_model,
    check_weights_argument,
    load_weights,
)

SMALL = {"min_size": (64,), "max_size": 64, "keypoint_head": (16, 16), "box_batch_size": 16,
         "detections_per_image": 3}


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_large"])
def test_any_k_trains_one_step(torch_threads, backbone):
    model = build_model(ModelConfig(backbone, num_classes=3, num_keypoints=5, **SMALL))
    assert model.roi_heads.keypoint_predictor.kps_score_lowres.out_channels == 5
    assert model.roi_heads.box_predictor.cls_score.out_features == 3
    images = [torch.rand(3, 48, 64)]
    targets = [{"boxes": torch.tensor([[8.0, 8.0, 40.0, 40.0]]), "labels": torch.tensor([2]),
                "keypoints": torch.tensor([[[10.0, 12.0, 2.0]] * 5])}]
    losses = model(images, targets)
    assert set(losses) >= {"loss_keypoint", "loss_classifier", "loss_box_reg"}
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model(images)[0]
    assert out["keypoints"].shape[1:] == (5, 3)


def test_default_resnet50_matches_torchvision_layout(torch_threads):
    from torchvision.models.detection import keypointrcnn_resnet50_fpn

    ours = build_model(ModelConfig("resnet50", num_classes=2, num_keypoints=17)).state_dict()
    theirs = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None).state_dict()
    # same names and shapes: torchvision's COCO file loads as a full model with --weights
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}


@pytest.mark.parametrize("value", ["DEFAULT", "COCO_V1", "IMAGENET1K_V1", "https://x/y.pth", "pretrained"])
def test_weights_that_would_download_are_refused(value):
    with pytest.raises(UsageError) as info:
        check_weights_argument(value, "resnet50")
    msg = info.value.message
    assert "never downloads" in msg and "--weights /path/to/file.pth" in msg
    assert "keypointrcnn_resnet50_fpn_coco" in msg  # says which file to fetch by hand


def test_missing_weights_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="file not found"):
        check_weights_argument(str(tmp_path / "nope.pth"), "resnet18")


def test_full_model_weights_with_other_k_reinitialise_the_heads(torch_threads, tmp_path, caplog):
    src = build_model(ModelConfig("resnet18", num_classes=2, num_keypoints=17, **SMALL))
    path = tmp_path / "coco.pth"
    torch.save(src.state_dict(), path)
    dst = build_model(ModelConfig("resnet18", num_classes=3, num_keypoints=5, **SMALL))
    before = dst.roi_heads.keypoint_predictor.kps_score_lowres.weight.clone()
    with caplog.at_level("INFO", logger="kpconv.train"):
        report = load_weights(dst, path)
    assert report.kind == "full model"
    skipped = dict(report.skipped)
    assert "roi_heads.keypoint_predictor.kps_score_lowres.weight" in skipped
    assert "roi_heads.box_predictor.cls_score.weight" in skipped
    assert "re-initialised" in skipped["roi_heads.box_predictor.cls_score.weight"]
    assert torch.equal(dst.roi_heads.keypoint_predictor.kps_score_lowres.weight, before)
    assert torch.equal(dst.backbone.body.conv1.weight, src.backbone.body.conv1.weight)
    assert "skipped" in caplog.text


def test_backbone_weights_map_into_the_body(torch_threads, tmp_path):
    from torchvision.models import resnet18

    path = tmp_path / "resnet18.pth"
    net = resnet18(weights=None)
    torch.save(net.state_dict(), path)
    model = build_model(ModelConfig("resnet18", num_classes=2, num_keypoints=5, frozen_norm=True, **SMALL))
    report = load_weights(model, path)
    assert report.kind == "backbone"
    assert ("fc.weight", "not in this model") in report.skipped
    assert torch.equal(model.backbone.body.layer1[0].conv1.weight, net.layer1[0].conv1.weight)


def test_weights_that_fit_nothing_are_a_data_error(torch_threads, tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"foo.weight": torch.zeros(3)}, path)
    model = build_model(ModelConfig("resnet18", num_classes=2, num_keypoints=5, **SMALL))
    with pytest.raises(DataError, match="no tensor matches"):
        load_weights(model, path)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a PyTorch checkpoint"):
        load_weights(model, garbage)
