"""Decoding and augmentation: every geometric transform moves the boxes and keypoints with the image.

A sample is a dict: ``image`` (``tv_tensors.Image`` uint8 [3, H, W]), ``boxes``
(``tv_tensors.BoundingBoxes`` XYXY), ``keypoints`` (``tv_tensors.KeyPoints`` [N, K, 2]),
``visibility`` [N, K] and ``labels`` [N] (plain tensors carried alongside, since ``KeyPoints``
has no visibility). torchvision v2 moves points and boxes; kpconv adds what v2 cannot know:

- a horizontal flip also permutes left/right keypoints with the spec's flip pairs (per label), and
  visibility travels with its point;
- points that leave the image get v = 0 (coordinates zeroed), boxes are clamped to the image and
  instances whose box became degenerate (< 1 px) are dropped;
- what that costs is counted, never silent: each sample carries ``dropped`` (:data:`DROP_COUNTS`),
  the visible keypoints and whole instances it lost, which the loader returns with the target and
  the training loop sums into the log and ``metrics.jsonl``. Counting draws no random number.

Keypoints use torchvision's pixel-index convention (a flip maps x to W - 1 - x), which is COCO's.
The validator accepts a point anywhere in [0, W] x [0, H]; :func:`make_sample` moves the points of
the last half-open pixel row/column (x in (W - 1, W], y in (H - 1, H]) onto the last pixel, so no
point the validator accepts is dropped before augmentation (and a flip keeps it in the image). A
visible point outside that rule (the validator warns, ``keypoints.outside_image``) gets v = 0
there, counted as ``keypoints_outside_image``: every visible point that reaches the transforms is
in the image, so what :class:`Finalize` finds outside was pushed out by them.

A pipeline called with a ``seed`` draws its random parameters from a generator seeded with it,
leaving the process's own torch generator as it was: the augmentation of an image is then the
same in a loader worker or in the main process, and after ``--resume``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ._deps import F, torch, tv_tensors, v2

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]

#: What a sample's targets lost, per sample (``sample["dropped"]``, the loader's ``target["dropped"]``)
#: and summed per step in ``metrics.jsonl`` under these names:
#:
#: - ``keypoints_pushed_out``: visible keypoints the augmentation moved out of the image (v = 0),
#:   or that went with an instance pushed out;
#: - ``instances_pushed_out``: instances whose box left the image (< 1 px once clamped): dropped;
#: - ``instances_lost_keypoints``: instances that kept their box but lost every visible keypoint
#:   (they stay box-only targets);
#: - ``keypoints_outside_image``: visible keypoints annotated outside the image by the validator's
#:   rule (it warns), v = 0 before any augmentation.
DROP_COUNTS = ("keypoints_pushed_out", "instances_pushed_out", "instances_lost_keypoints",
               "keypoints_outside_image")


def no_drops() -> dict[str, int]:
    """A zero count of every :data:`DROP_COUNTS` field."""
    return dict.fromkeys(DROP_COUNTS, 0)


def describe_dropped(counts: dict[str, int]) -> str:
    """The non-zero :data:`DROP_COUNTS` in words, for the log ('' when nothing was lost)."""
    parts = []
    kps, inst = counts.get("keypoints_pushed_out", 0), counts.get("instances_pushed_out", 0)
    if kps or inst:
        parts.append(f"augmentation pushed {kps} visible keypoint(s) and {inst} instance(s) out of the image")
    if lost := counts.get("instances_lost_keypoints", 0):
        parts.append(f"{lost} instance(s) lost every visible keypoint (kept as box targets)")
    if outside := counts.get("keypoints_outside_image", 0):
        parts.append(f"{outside} visible keypoint(s) annotated outside the image trained as v=0")
    return "; ".join(parts)

def decode_rgb(path: Path) -> torch.Tensor:
    """The image as a uint8 [3, H, W] RGB tensor, whatever its mode (gray, palette, CMYK, 16-bit).

    Pillow decodes (libjpeg-turbo, libpng; it releases the GIL, and torchvision's own decoders
    are deprecated since 0.29). High-bit-depth gray is scaled to 8 bits rather than clipped.
    EXIF orientation is *not* applied: annotations refer to the stored pixel grid, whose size is
    what the validator checked.
    """
    from ..images import pil

    Image = pil()  # noqa: N806 - PIL.Image, with kpconv's decompression-bomb setting

    try:
        with Image.open(path) as im:
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(im, dtype=np.float32)
                top = float(arr.max()) or 1.0
                gray = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
                rgb = np.repeat(gray[:, :, None], 3, axis=2)
            else:
                rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found") from None
    except (Image.UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot decode image: {exc}") from None
    return torch.from_numpy(np.array(rgb, copy=True)).permute(2, 0, 1).contiguous()


def make_sample(image: torch.Tensor, boxes: np.ndarray, labels: np.ndarray, keypoints: np.ndarray) -> Sample:
    """Wrap a decoded image and numpy targets ([N,4] xyxy, [N], [N,K,3]) as a transformable sample.

    Visible points outside the validator's rule get v = 0 here, counted in ``dropped``.
    """
    h, w = int(image.shape[-2]), int(image.shape[-1])
    kps = onto_pixel_grid(torch.as_tensor(keypoints, dtype=torch.float32), w, h)
    outside = (kps[..., 2] > 0) & outside_image(kps, w, h)
    kps[..., 2][outside] = 0
    dropped = no_drops()
    dropped["keypoints_outside_image"] = int(outside.sum())
    return {
        "image": tv_tensors.Image(image),
        "boxes": tv_tensors.BoundingBoxes(torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                          format="XYXY", canvas_size=(h, w)),
        "keypoints": tv_tensors.KeyPoints(kps[..., :2].contiguous(), canvas_size=(h, w)),
        "visibility": kps[..., 2].clone(),
        "labels": torch.as_tensor(labels, dtype=torch.int64),
        "dropped": dropped,
    }


def onto_pixel_grid(keypoints: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """[N, K, 3] points with the validator's inside rule (0 <= x <= W, 0 <= y <= H) moved into the
    pixel grid (x <= W - 1, y <= H - 1); points outside that rule are left for :class:`Finalize`."""
    x, y = keypoints[..., 0], keypoints[..., 1]
    inside = (x >= 0) & (y >= 0) & (x <= width) & (y <= height)
    out = keypoints.clone()
    out[..., 0] = torch.where(inside, x.clamp(max=width - 1), x)
    out[..., 1] = torch.where(inside, y.clamp(max=height - 1), y)
    return out


def outside_image(points: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """[...] mask of the points ([..., 2+] x, y) off the pixel grid: x < 0, y < 0, x > W - 1, y > H - 1."""
    x, y = points[..., 0], points[..., 1]
    return (x < 0) | (y < 0) | (x > width - 1) | (y > height - 1)


def to_target(sample: Sample) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The plain (image, target) pair Keypoint R-CNN takes: boxes, labels, keypoints [N,K,3]."""
    kps = sample["keypoints"].as_subclass(torch.Tensor)
    vis = sample["visibility"]
    target = {
        "boxes": sample["boxes"].as_subclass(torch.Tensor).float(),
        "labels": sample["labels"],
        "keypoints": torch.cat([kps, vis.unsqueeze(-1)], dim=-1).float(),
    }
    return sample["image"].as_subclass(torch.Tensor), target


class HorizontalFlip:
    """Flip image, boxes and keypoints with probability ``p``; swap left/right keypoints by label.

    ``permutations[label]`` is the spec's 0-based flip permutation for that label (row 0 is the
    background's identity). After the flip, keypoint slot ``j`` takes the point that was in slot
    ``perm[j]``: the old right hand, mirrored, becomes the new left hand, with its visibility.
    """

    def __init__(self, permutations: Sequence[Sequence[int]], p: float = 0.5) -> None:
        self.permutations = torch.as_tensor(permutations, dtype=torch.int64)
        self.p = p

    def __call__(self, sample: Sample) -> Sample:
        if self.p <= 0 or (self.p < 1 and float(torch.rand(())) >= self.p):
            return sample
        return self.flip(sample)

    def flip(self, sample: Sample) -> Sample:
        out = dict(sample)
        out["image"] = F.horizontal_flip(sample["image"])
        out["boxes"] = F.horizontal_flip(sample["boxes"])
        kps = F.horizontal_flip(sample["keypoints"])
        labels = sample["labels"]
        if labels.numel():
            perm = self.permutations[labels]  # [N, K]
            rows = torch.arange(labels.numel()).unsqueeze(1)
            kps = tv_tensors.wrap(kps.as_subclass(torch.Tensor)[rows, perm], like=kps)
            out["visibility"] = sample["visibility"][rows, perm]
        out["keypoints"] = kps
        return out


class ScaleJitter:
    """Zoom in or out by a random factor in ``scale`` and shift by up to ``translate`` of the size.

    The model resizes every image to ``min_size`` anyway, so resizing the whole image would be a
    no-op; scaling the *content* inside a fixed canvas is what varies object size. Points pushed
    out of the canvas are marked invisible (and counted) by :class:`Finalize`.
    """

    def __init__(self, scale: tuple[float, float] = (0.75, 1.25), translate: float = 0.1) -> None:
        self.scale = scale
        self.translate = translate

    def __call__(self, sample: Sample) -> Sample:
        lo, hi = self.scale
        if lo == hi == 1 and self.translate == 0:
            return sample
        h, w = sample["image"].shape[-2:]
        s = float(torch.empty(()).uniform_(lo, hi))
        tx = round(float(torch.empty(()).uniform_(-self.translate, self.translate)) * w)
        ty = round(float(torch.empty(()).uniform_(-self.translate, self.translate)) * h)
        out = dict(sample)
        kw: dict[str, Any] = {"angle": 0.0, "translate": [tx, ty], "scale": s, "shear": [0.0, 0.0]}
        out["image"] = F.affine(sample["image"], interpolation=v2.InterpolationMode.BILINEAR, **kw)
        out["boxes"] = F.affine(sample["boxes"], **kw)
        out["keypoints"] = F.affine(sample["keypoints"], **kw)
        return out


class Photometric:
    """Brightness, contrast and saturation jitter (image only)."""

    def __init__(self, strength: float = 0.3) -> None:
        self.jitter = v2.ColorJitter(brightness=strength, contrast=strength, saturation=strength)

    def __call__(self, sample: Sample) -> Sample:
        out = dict(sample)
        out["image"] = self.jitter(sample["image"])
        return out


class Finalize:
    """Points outside the image → v = 0; boxes clamped; instances with a < 1 px box dropped.

    What that cost is added to the sample's ``dropped`` counts (see :data:`DROP_COUNTS`).
    """

    def __call__(self, sample: Sample) -> Sample:
        out = dict(sample)
        h, w = sample["image"].shape[-2:]
        kps = sample["keypoints"].as_subclass(torch.Tensor).clone()
        visible = sample["visibility"] > 0
        vis = sample["visibility"].clone()
        vis[outside_image(kps, w, h)] = 0
        kps[vis == 0] = 0
        boxes = sample["boxes"]
        clamped = F.clamp_bounding_boxes(boxes).as_subclass(torch.Tensor)
        keep = ((clamped[:, 2] - clamped[:, 0]) >= 1) & ((clamped[:, 3] - clamped[:, 1]) >= 1)
        out["boxes"] = tv_tensors.wrap(clamped[keep], like=boxes)
        out["keypoints"] = tv_tensors.wrap(kps[keep], like=sample["keypoints"])
        out["visibility"] = vis[keep]
        out["labels"] = sample["labels"][keep]
        out["dropped"] = count_dropped(sample.get("dropped"), visible, out["visibility"] > 0, keep)
        return out


def count_dropped(before: dict[str, int] | None, visible: torch.Tensor, still_visible: torch.Tensor,
                  keep: torch.Tensor) -> dict[str, int]:
    """``before`` plus what :class:`Finalize` cost: ``visible`` [N, K] the visible points it got,
    ``keep`` [N] the instances it kept, ``still_visible`` [n_kept, K] their visible points after."""
    counts = no_drops() if before is None else dict(before)
    counts["keypoints_pushed_out"] += int(visible.sum()) - int(still_visible.sum())
    counts["instances_pushed_out"] += int((~keep).sum())
    lost_all = visible[keep].any(dim=1) & ~still_visible.any(dim=1)
    counts["instances_lost_keypoints"] += int(lost_all.sum())
    return counts


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Draw torch's CPU random numbers from ``seed`` inside, restore the generator after (None: as is)."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # CPU only: the CUDA generators are not touched
        yield


class Pipeline:
    """Apply transforms in order (their random draws from ``seed`` when given), then :class:`Finalize`."""

    def __init__(self, steps: Sequence[Transform]) -> None:
        self.steps = list(steps)
        self.finalize = Finalize()

    def __call__(self, sample: Sample, seed: int | None = None) -> Sample:
        with seeded(seed if self.steps else None):
            for step in self.steps:
                sample = step(sample)
        return self.finalize(sample)

    def __repr__(self) -> str:
        return f"Pipeline({', '.join(type(s).__name__ for s in self.steps)})"


def train_pipeline(
    permutations: Sequence[Sequence[int]] | None,
    *,
    flip_prob: float = 0.5,
    scale: tuple[float, float] = (0.75, 1.25),
    translate: float = 0.1,
    photometric: float = 0.3,
) -> Pipeline:
    """The training augmentations; the flip is left out when ``permutations`` is None (unsafe)."""
    steps: list[Transform] = []
    if photometric > 0:
        steps.append(Photometric(photometric))
    if permutations is not None and flip_prob > 0:
        steps.append(HorizontalFlip(permutations, flip_prob))
    if scale != (1.0, 1.0) or translate > 0:
        steps.append(ScaleJitter(scale, translate))
    return Pipeline(steps)


__all__ = [
    "DROP_COUNTS", "Finalize", "HorizontalFlip", "Photometric", "Pipeline", "ScaleJitter",
    "count_dropped", "decode_rgb", "describe_dropped", "make_sample", "no_drops", "onto_pixel_grid", "outside_image",
    "seeded", "to_target", "train_pipeline",
]
