"""Fixtures for the training tests: the fixture paths, the tiny CPU model options, few threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "train"


@dataclass(frozen=True)
class TrainFixture:
    """Paths of ``fixtures/train`` and the options of the tiny model used by every CPU run."""

    root: Path = FIXTURE
    train_json: Path = FIXTURE / "train.json"
    invalid_json: Path = FIXTURE / "invalid.json"
    images: Path = FIXTURE / "images"
    spec: Path = FIXTURE / "spec.yaml"
    # ResNet-18 FPN at 128 px, a narrow keypoint head, few sampled ROIs and detections: every part
    # of Keypoint R-CNN runs, in about a second per step on a shared 2-core CPU.
    tiny: tuple[str, ...] = field(default=(
        "--backbone", "resnet18", "--min-size", "128", "--max-size", "128",
        "--keypoint-head", "32x2", "--box-batch-size", "32", "--detections-per-image", "5",
        "--batch-size", "2", "--device", "cpu", "--threads", "2", "--log-every", "1",
    ))


@pytest.fixture(scope="session")
def tf() -> TrainFixture:
    return TrainFixture()


@pytest.fixture
def torch_threads():
    """torch with 2 threads (the machine is shared); skips when the train extra is missing."""
    torch = pytest.importorskip("torch")
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield torch
    torch.set_num_threads(old)
