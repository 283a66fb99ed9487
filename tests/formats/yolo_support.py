"""Helpers for the YOLO tests: write a small dataset (data.yaml, images, labels) into a folder."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.conftest import FIXTURES

YOLO = FIXTURES / "yolo"

DATA_YAML = """\
train: images/train
val: images/train
kpt_shape: [{k}, {ndim}]
names:
  0: critter
  1: robot
"""


def make_dataset(
    root: Path,
    labels: dict[str, str],
    *,
    k: int = 3,
    ndim: int = 3,
    data_yaml: str | None = None,
    sizes: dict[str, tuple[int, int]] | None = None,
) -> Path:
    """``root/data.yaml`` and ``images/train/<name>.png`` with ``labels/train/<name>.txt`` per entry
    of ``labels`` (name → file content; ``None`` content: an image without a label file)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text(
        data_yaml if data_yaml is not None else DATA_YAML.format(k=k, ndim=ndim)
    )
    for name, content in labels.items():
        w, h = (sizes or {}).get(name, (40, 20))
        img = root / "images" / "train" / f"{name}.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (w, h), (10, 20, 30)).save(img)
        if content is not None:
            lbl = root / "labels" / "train" / f"{name}.txt"
            lbl.parent.mkdir(parents=True, exist_ok=True)
            lbl.write_text(content)
    return root / "data.yaml"


def good_line(cls: int = 0, k: int = 3, ndim: int = 3) -> str:
    """A valid label line: a box in the middle, K points inside it (v = 2)."""
    pts = [f"{0.3 + 0.1 * j:.1f} 0.5" + (" 2" if ndim == 3 else "") for j in range(k)]
    return " ".join([str(cls), "0.5 0.5 0.6 0.6", *pts])
