"""The training configuration: one plain record, saved in every checkpoint (no torch here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import UsageError

#: torchvision's own defaults for Keypoint R-CNN (multi-scale training, test at the last size)
DEFAULT_MIN_SIZE = (640, 672, 704, 736, 768, 800)
DEFAULT_MAX_SIZE = 1333
#: torchvision's keypoint head: 8 conv layers of 512 channels
DEFAULT_KEYPOINT_HEAD = (512,) * 8


@dataclass
class TrainConfig:
    """Everything ``kpconv train`` was asked to do (paths as strings, JSON-friendly)."""

    dataset: str
    images: str
    output: str
    val: str | None = None
    val_images: str | None = None
    spec: str | None = None
    preset: str | None = None
    categories: list[str] = field(default_factory=list)
    negatives: Literal["keep", "skip"] = "keep"
    # model
    backbone: str = "resnet50"
    weights: str | None = None
    trainable_layers: int | None = None
    min_size: list[int] = field(default_factory=lambda: list(DEFAULT_MIN_SIZE))
    max_size: int = DEFAULT_MAX_SIZE
    keypoint_head: list[int] = field(default_factory=lambda: list(DEFAULT_KEYPOINT_HEAD))
    box_batch_size: int = 512
    detections_per_image: int = 100
    # schedule
    epochs: int = 20
    max_steps: int | None = None
    max_time: float | None = None
    batch_size: int = 4
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int | None = None
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    lr_steps: list[int] = field(default_factory=list)
    lr_gamma: float = 0.1
    clip_grad: float = 10.0
    # numerics and hardware
    amp: Literal["auto", "on", "off"] = "auto"
    amp_dtype: Literal["auto", "bfloat16", "float16"] = "auto"
    device: str = "auto"
    workers: int | None = None
    seed: int = 0
    # augmentation
    augment: bool = True
    flip_prob: float = 0.5
    scale_min: float = 0.75
    scale_max: float = 1.25
    translate: float = 0.1
    photometric: float = 0.3
    # bookkeeping
    eval_every: int = 1
    save_every: int | None = None
    log_every: int = 20
    eval_batch_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from a checkpoint's ``config`` (unknown keys from other versions are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def default_lr(self, world_size: int = 1) -> float:
        """``lr`` when not given: SGD 0.02 per 16 images (torchvision's recipe), AdamW 2e-4."""
        if self.lr is not None:
            return self.lr
        if self.optimizer == "adamw":
            return 2e-4
        return 0.02 * self.batch_size * world_size / 16

    def check(self) -> None:
        """Reject values that cannot work, with the option's name."""
        positive = {"--epochs": self.epochs, "--batch-size": self.batch_size,
                    "--max-size": self.max_size, "--eval-every": self.eval_every,
                    "--log-every": self.log_every, "--box-batch-size": self.box_batch_size,
                    "--detections-per-image": self.detections_per_image}
        for name, v in positive.items():
            if v < 1:
                raise UsageError(f"{name} must be at least 1, found {v}")
        if self.save_every is not None and self.save_every < 1:
            raise UsageError(f"--save-every must be at least 1, found {self.save_every}")
        if self.max_steps is not None and self.max_steps < 1:
            raise UsageError(f"--max-steps must be at least 1, found {self.max_steps}")
        if not self.min_size or any(s < 1 for s in self.min_size):
            raise UsageError(f"--min-size must be positive sizes, found {self.min_size}")
        if not 0 < self.scale_min <= self.scale_max:
            raise UsageError(f"--scale-range must be 0 < MIN <= MAX, found {self.scale_min},{self.scale_max}")
        if not 0 <= self.flip_prob <= 1:
            raise UsageError(f"--flip-prob must be in [0, 1], found {self.flip_prob}")
        if self.lr is not None and not self.lr > 0:
            raise UsageError(f"--lr must be positive, found {self.lr}")
        if not self.keypoint_head or any(c < 1 for c in self.keypoint_head):
            raise UsageError(f"--keypoint-head must be CHANNELSxLAYERS, found {self.keypoint_head}")
        if self.spec and self.preset:
            raise UsageError("give at most one of --spec and --preset")
