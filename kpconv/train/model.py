"""Keypoint R-CNN for K keypoints and C categories, built offline; local weights loaded by shape.

Nothing here downloads: every torchvision builder is called with ``weights=None``. A local file
(``--weights PATH``) may hold a full model (torchvision's COCO checkpoint, a kpconv checkpoint) or
only a backbone (ImageNet classification weights); tensors are matched by name and shape, so the
box predictor and keypoint head are re-initialised when K or the number of classes differ, and
the log says which tensors were skipped and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ._deps import detection, torch, torchvision
from .config import DEFAULT_KEYPOINT_HEAD, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE
from .torchfile import load_torch_file

log = logging.getLogger("kpconv.train")

#: backbone name -> what it is (``--backbone``)
BACKBONES = {
    "resnet50": "ResNet-50 FPN: torchvision's keypointrcnn_resnet50_fpn (the default)",
    "resnet18": "ResNet-18 FPN: ~3x fewer FLOPs, for small datasets and CPU",
    "mobilenet_v3_large": "MobileNetV3-Large FPN (strides 16/32): lightest, weaker on small objects",
}


# Names that make torchvision download something; kpconv refuses them with instructions.
_DOWNLOAD_WORDS = {"DEFAULT", "COCO_V1", "COCO_LEGACY", "IMAGENET1K_V1", "IMAGENET1K_V2",
                   "PRETRAINED", "TRUE", "IMAGENET", "COCO"}


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    backbone: str
    num_classes: int
    num_keypoints: int
    min_size: tuple[int, ...] = DEFAULT_MIN_SIZE
    max_size: int = DEFAULT_MAX_SIZE
    trainable_layers: int | None = None
    frozen_norm: bool = False
    keypoint_head: tuple[int, ...] = DEFAULT_KEYPOINT_HEAD
    box_batch_size: int = 512
    detections_per_image: int = 100

    def to_dict(self) -> dict[str, Any]:
        return {"backbone": self.backbone, "num_classes": self.num_classes,
                "num_keypoints": self.num_keypoints, "min_size": list(self.min_size),
                "max_size": self.max_size, "trainable_layers": self.trainable_layers,
                "frozen_norm": self.frozen_norm, "keypoint_head": list(self.keypoint_head),
                "box_batch_size": self.box_batch_size,
                "detections_per_image": self.detections_per_image}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(backbone=str(data["backbone"]), num_classes=int(data["num_classes"]),
                   num_keypoints=int(data["num_keypoints"]),
                   min_size=tuple(int(x) for x in data.get("min_size", DEFAULT_MIN_SIZE)),
                   max_size=int(data.get("max_size", DEFAULT_MAX_SIZE)),
                   trainable_layers=data.get("trainable_layers"),
                   frozen_norm=bool(data.get("frozen_norm", False)),
                   keypoint_head=tuple(int(x) for x in data.get("keypoint_head", DEFAULT_KEYPOINT_HEAD)),
                   box_batch_size=int(data.get("box_batch_size", 512)),
                   detections_per_image=int(data.get("detections_per_image", 100)))


def build_model(cfg: ModelConfig) -> torch.nn.Module:
    """A randomly initialised Keypoint R-CNN (``num_classes`` includes the background).

    From scratch the backbone uses ordinary BatchNorm and trains every layer (as torchvision does
    without weights); with ``frozen_norm`` (set when loading weights) it uses FrozenBatchNorm2d and
    ``trainable_layers`` (default 3), the usual fine-tuning setup.
    """
    if cfg.backbone not in BACKBONES:
        raise UsageError(f"--backbone {cfg.backbone!r}: choose one of {', '.join(BACKBONES)}")
    norm = torchvision.ops.misc.FrozenBatchNorm2d if cfg.frozen_norm else torch.nn.BatchNorm2d
    kwargs: dict[str, Any] = {"min_size": tuple(cfg.min_size), "max_size": cfg.max_size,
                              "num_keypoints": cfg.num_keypoints,
                              "box_batch_size_per_image": cfg.box_batch_size,
                              "box_detections_per_img": cfg.detections_per_image}
    bu = detection.backbone_utils
    if cfg.backbone.startswith("resnet"):
        layers = cfg.trainable_layers if cfg.trainable_layers is not None else (3 if cfg.frozen_norm else 5)
        backbone = bu.resnet_fpn_backbone(backbone_name=cfg.backbone, weights=None, norm_layer=norm,
                                          trainable_layers=layers)
    else:
        layers = cfg.trainable_layers if cfg.trainable_layers is not None else (3 if cfg.frozen_norm else 6)
        backbone = bu.mobilenet_backbone(backbone_name=cfg.backbone, weights=None, fpn=True,
                                         norm_layer=norm, trainable_layers=layers)
        # Its FPN has 3 levels (strides 16, 32, pool): one anchor set per level, as torchvision's
        # fasterrcnn_mobilenet_v3_large_fpn does.
        sizes = ((32, 64, 128, 256, 512),) * 3
        kwargs["rpn_anchor_generator"] = detection.anchor_utils.AnchorGenerator(
            sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    if tuple(cfg.keypoint_head) != DEFAULT_KEYPOINT_HEAD:
        # A narrower/shallower keypoint head: it dominates the cost per ROI (8 x 512-channel 3x3
        # convolutions at 14x14), which matters on CPU and for small data.
        kr = detection.keypoint_rcnn
        kwargs["keypoint_head"] = kr.KeypointRCNNHeads(backbone.out_channels, list(cfg.keypoint_head))
        kwargs["keypoint_predictor"] = kr.KeypointRCNNPredictor(cfg.keypoint_head[-1], cfg.num_keypoints)
        kwargs.pop("num_keypoints")  # torchvision refuses both
    return detection.KeypointRCNN(backbone, num_classes=cfg.num_classes, **kwargs)


def download_hint(backbone: str) -> str:
    """Where to get weight files by hand (the URLs torchvision itself would download)."""
    m = torchvision.models
    urls = [f"full model (COCO person, K=17): {detection.KeypointRCNN_ResNet50_FPN_Weights.DEFAULT.url}"]
    enum = {"resnet50": m.ResNet50_Weights, "resnet18": m.ResNet18_Weights,
            "mobilenet_v3_large": m.MobileNet_V3_Large_Weights}.get(backbone)
    if enum is not None:
        urls.append(f"{backbone} ImageNet backbone: {enum.DEFAULT.url}")
    return "; ".join(urls)


def check_weights_argument(value: str | None, backbone: str) -> Path | None:
    """The ``--weights`` file, or a UsageError when the value would mean a download."""
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        return path
    if value.upper() in _DOWNLOAD_WORDS or "://" in value or value.endswith("_Weights") or "Weights." in value:
        raise UsageError(
            f"--weights {value}: that would download weights, and kpconv never downloads anything. "
            f"Fetch the file on a machine with network access ({download_hint(backbone)}), copy "
            "it here and pass --weights /path/to/file.pth (a full model or a backbone; heads that "
            "do not fit your keypoints/categories are re-initialised)"
        )
    raise UsageError(f"--weights {value}: file not found")


@dataclass
class WeightsReport:
    """What :func:`load_weights` did."""

    kind: str
    loaded: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: int = 0


def _state_dict_from(obj: Any, path: Path) -> dict[str, Any]:
    if isinstance(obj, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            inner = obj.get(key)
            if isinstance(inner, dict) and any(hasattr(v, "shape") for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, dict) or not any(hasattr(v, "shape") for v in obj.values()):
        raise DataError(f"{path}: not a state dict (expected tensors by name, or a checkpoint with 'model')")
    out = {}
    for k, v in obj.items():
        if hasattr(v, "shape"):
            out[k.removeprefix("module.")] = v
    return out


def load_weights(model: torch.nn.Module, path: Path) -> WeightsReport:
    """Load the tensors of ``path`` that fit ``model`` by name and shape; report the rest.

    Accepts a full Keypoint R-CNN state dict (torchvision's, or a kpconv/reference checkpoint's
    ``model``) or a backbone (``resnet50-*.pth``: keys gain ``backbone.body.``; MobileNet's
    ``features.N`` become ``backbone.body.N``). Raises DataError when nothing fits.
    """
    obj = load_torch_file(path)  # a pickle with code, a truncated file...: one line that says so
    source = _state_dict_from(obj, path)
    target = model.state_dict()
    mappings = {
        "full model": lambda k: k,
        "backbone": lambda k: "backbone.body." + k,
        "backbone (features)": lambda k: "backbone.body." + k.removeprefix("features."),
    }
    best_name, best_hits = "full model", -1
    for name, fn in mappings.items():
        hits = sum(1 for k in source if fn(k) in target)
        if hits > best_hits:
            best_name, best_hits = name, hits
    fn = mappings[best_name]
    kept: dict[str, Any] = {}
    skipped: list[tuple[str, str]] = []
    for k, v in source.items():
        tk = fn(k)
        if tk not in target:
            skipped.append((k, "not in this model"))
        elif tuple(target[tk].shape) != tuple(v.shape):
            skipped.append((k, f"shape {list(v.shape)} in the file, {list(target[tk].shape)} in the model "
                               "(re-initialised)"))
        else:
            kept[tk] = v
    if not kept:
        raise DataError(f"{path}: no tensor matches this model by name and shape "
                        f"(is it weights for another architecture?)")
    model.load_state_dict(kept, strict=False)
    kind = "full model" if best_name == "full model" else "backbone"
    report = WeightsReport(kind=kind, loaded=len(kept), skipped=skipped,
                           missing=sum(1 for k in target if k not in kept))
    log.info("weights %s (%s): loaded %d tensors, %d skipped, %d model tensors keep their "
             "initialisation", path, kind, report.loaded, len(skipped), report.missing)
    for k, why in skipped:
        log.info("  skipped %s: %s", k, why)
    return report
