"""The report's pictures: flagged images (and a few clean ones) drawn by the visualizer's annotator."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from ..errors import KpconvError
from ..fileio import atomic_write_bytes
from ..finding import Finding
from ..images import ImageReadError
from ..visualize import KeypointAnnotator, encode_image, load_image
from ..visualize.render import default_workers, image_path, ordered_map
from .dataset import ReportImage

#: pictures are shown at most this many pixels on their larger side (keeps the folder small)
MAX_SIDE = 960
PICTURES_SUBDIR = "images"
_DRAW_LOCK = threading.Lock()  # drawing is many tiny GIL-bound OpenCV calls: one at a time


@dataclass
class Picture:
    """One image to draw: its entry, what to draw on it, and (once drawn) its file or why not."""

    image: ReportImage
    annotations: list[Any]
    findings: list[Finding] = field(default_factory=list)
    src: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"src": self.src, "note": self.note, "file_name": self.image.file_name,
                "findings": len(self.findings)}


def choose_images(
    flagged: Sequence[int], clean: Sequence[int], max_images: int, clean_sample: int = 8
) -> list[int]:
    """Flagged image ids first (in finding order), then an even sample of clean ones, ≤ max_images."""
    chosen = list(flagged[:max_images])
    room = min(clean_sample, max_images - len(chosen))
    if room > 0 and clean:
        step = len(clean) / room
        chosen += [clean[int(i * step)] for i in range(min(room, len(clean)))]
    return chosen


def draw_pictures(pictures: Sequence[Picture], images_root: Path, out_dir: Path,
                  categories: dict[int, Any]) -> None:
    """Draw each picture into ``out_dir/images/<n>.jpg`` in parallel; set its ``src`` or ``note``."""
    annotator = KeypointAnnotator()

    def work(item: tuple[int, Picture]) -> None:
        number, pic = item
        path, inside = image_path(images_root, pic.image.file_name)
        if path is None or not inside:
            pic.note = f"{pic.image.file_name}: outside the images folder {images_root}; not read"
            return
        try:
            pixels = load_image(path)
        except FileNotFoundError:
            pic.note = f"image file not found: {path}"
            return
        except (ImageReadError, OSError) as exc:
            pic.note = f"cannot read image {path}: {exc}"
            return
        with _DRAW_LOCK:
            drawn = annotator.annotate(pixels, pic.annotations, categories, findings=pic.findings, copy=False)
        h, w = drawn.shape[:2]
        if max(h, w) > MAX_SIDE:
            scale = MAX_SIDE / max(h, w)
            drawn = cv2.resize(drawn, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        name = f"{PICTURES_SUBDIR}/{number}.jpg"
        try:
            atomic_write_bytes(out_dir / name, encode_image(drawn, "jpg"), durable=False)
        except OSError as exc:
            raise KpconvError(f"{out_dir / name}: cannot write: {exc.strerror or exc}") from None
        pic.src = name

    (out_dir / PICTURES_SUBDIR).mkdir(parents=True, exist_ok=True)
    for _ in ordered_map(work, list(enumerate(pictures)), default_workers()):
        pass
