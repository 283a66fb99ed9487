"""``kpconv predict``: run a checkpoint on image files → COCO results JSON (optionally drawn).

Image ids: with a dataset, each file is matched to its ``images`` entry by file name (path
relative to ``images_root`` when given, else the unique entry with that base name); without
one, files are numbered 1..N in the given order and each result carries its ``file_name``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ..fileio import atomic_write_bytes
from ..finding import Finding, error
from ..images import ImageTooLargeError, check_pixel_limit
from ..model import Dataset
from ._deps import torch
from .checkpoint import LoadedModel, model_from_checkpoint
from .distributed import resolve_device
from .evaluate import to_coco_results
from .transforms import decode_rgb

log = logging.getLogger("kpconv.train")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class ImageEntry:
    image_id: int
    file_name: str
    path: Path


@dataclass
class PredictResult:
    results: list[dict[str, Any]]
    images: list[ImageEntry]
    rendered: list[Path] = field(default_factory=list)
    #: one per image left out (its header declares more pixels than the limit)
    findings: list[Finding] = field(default_factory=list)


def collect_images(inputs: Sequence[Path]) -> list[Path]:
    """Files as given; folders expanded to their image files (sorted, not recursive)."""
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UsageError(f"{p}: no image files in this folder")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def assign_ids(paths: Sequence[Path], dataset: Dataset | None, images_root: Path | None) -> list[ImageEntry]:
    """Give every file its image id (see the module docstring)."""
    entries: list[ImageEntry] = []
    if dataset is None:
        for i, p in enumerate(paths, start=1):
            name = str(p)
            if images_root is not None:
                try:
                    name = p.resolve().relative_to(images_root.resolve()).as_posix()
                except ValueError:
                    pass
            entries.append(ImageEntry(i, name, p))
        return entries
    by_name = {im.file_name: im for im in dataset.images}
    by_base: dict[str, list[Any]] = {}
    for im in dataset.images:
        by_base.setdefault(Path(im.file_name).name, []).append(im)
    unmatched: list[str] = []
    for p in paths:
        found: Any = None
        if images_root is not None:
            try:
                found = by_name.get(p.resolve().relative_to(images_root.resolve()).as_posix())
            except ValueError:
                found = None
        if found is None:
            cands = by_base.get(p.name, [])
            found = cands[0] if len(cands) == 1 else None
        if found is None:
            unmatched.append(str(p))
        else:
            entries.append(ImageEntry(found.id, found.file_name, p))
    if unmatched:
        more = f" (and {len(unmatched) - 5} more)" if len(unmatched) > 5 else ""
        raise DataError(f"--dataset: no unique images entry for {', '.join(unmatched[:5])}{more} "
                        "(match is by path relative to --images, else by base name)")
    return entries


def refuse_too_large(entries: Sequence[ImageEntry]) -> tuple[list[ImageEntry], list[Finding]]:
    """The entries within the pixel limit, and a finding (also logged) for each one left out."""
    kept: list[ImageEntry] = []
    refused: list[Finding] = []
    for e in entries:
        try:
            check_pixel_limit(e.path)
        except ImageTooLargeError as exc:
            msg = f"image {e.path} is {exc.reason}; no prediction for it"
            refused.append(error("predict.image_too_large", msg, image_id=e.image_id, source=str(e.path)))
            log.warning("error predict.image_too_large: %s", msg)
        else:
            kept.append(e)
    return kept, refused


@torch.inference_mode()
def run_model(loaded: LoadedModel, entries: Sequence[ImageEntry], device: torch.device,
              batch_size: int, score_threshold: float) -> list[dict[str, Any]]:
    """COCO results for ``entries`` (labels mapped back to the trained categories' ids)."""
    category_of_label = {c.label: c.category_id for c in loaded.categories}
    results: list[dict[str, Any]] = []
    for start in range(0, len(entries), batch_size):
        chunk = entries[start:start + batch_size]
        batch = [decode_rgb(e.path).to(device).float().div_(255) for e in chunk]
        outputs = [{k: v.float().cpu() for k, v in o.items()} for o in loaded.model(batch)]
        results += to_coco_results(outputs, [e.image_id for e in chunk], category_of_label,
                                   score_threshold)
    results.sort(key=lambda r: (r["image_id"], -r["score"], r["category_id"]))
    return results


def render(loaded: LoadedModel, entries: Sequence[ImageEntry], results: Sequence[dict[str, Any]],
           out_dir: Path, threshold: float) -> list[Path]:
    """Draw the detections scoring ≥ ``threshold`` with kpconv's visualizer into ``out_dir``."""
    try:
        from ..visualize import KeypointAnnotator, encode_image, load_image
    except ImportError as exc:
        raise UsageError(f"--render needs kpconv.visualize, which is not available: {exc}") from None
    specs: dict[int, Any] = {c.category_id: loaded.spec.category(c.name) for c in loaded.categories}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for r in results:
        if r["score"] >= threshold:
            kp = list(r["keypoints"])
            kp[2::3] = [2] * (len(kp) // 3)  # drawn as visible points
            dets = by_image.setdefault(r["image_id"], [])
            dets.append({**r, "keypoints": kp, "id": len(dets) + 1})  # the label shows "#rank"
    annotator = KeypointAnnotator(show_names=False)
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    stems = [Path(e.file_name).stem for e in entries]
    for e, stem in zip(entries, stems, strict=True):
        picture = annotator.annotate(load_image(e.path), by_image.get(e.image_id, []), specs)
        name = stem if stems.count(stem) == 1 else f"{stem}_{e.image_id}"
        target = out_dir / f"{name}.png"
        atomic_write_bytes(target, encode_image(picture, "png"))
        written.append(target)
    return written


def predict(
    checkpoint: Path,
    inputs: Sequence[Path],
    *,
    dataset: Dataset | None = None,
    images_root: Path | None = None,
    device: str = "auto",
    batch_size: int = 2,
    score_threshold: float = 0.05,
    render_dir: Path | None = None,
    render_threshold: float = 0.5,
) -> PredictResult:
    """Run ``checkpoint`` over ``inputs`` (files or folders) and return COCO results.

    An image whose header declares more pixels than :func:`kpconv.images.max_image_pixels` is
    not decoded: it gets a finding (``PredictResult.findings``) and the others are predicted.
    """
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, found {batch_size}")
    dev = resolve_device(device)
    loaded = model_from_checkpoint(checkpoint, dev)
    entries, refused = refuse_too_large(assign_ids(collect_images(inputs), dataset, images_root))
    results = run_model(loaded, entries, dev, batch_size, score_threshold)
    if dataset is None:
        names = {e.image_id: e.file_name for e in entries}
        for r in results:
            r["file_name"] = names[r["image_id"]]
    rendered = render(loaded, entries, results, render_dir, render_threshold) if render_dir else []
    return PredictResult(results, entries, rendered, refused)
