"""What the checks share: the raw document, id indexes and numpy columns built in one pass.

Validation works on the plain JSON document (dicts and lists from orjson), not on pydantic
objects: building a model per annotation costs more than the whole check budget on a COCO-scale
file. Structure is checked field by field here and in the checks; the numeric rules then run
vectorised over all keypoints of a keypoint count ``K`` at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..finding import Finding, Severity

MAX_PER_CODE = 10_000

REQUIRED_ANNOTATION_FIELDS = ("id", "image_id", "category_id", "keypoints")
REQUIRED_IMAGE_FIELDS = ("id", "file_name", "width", "height")
REQUIRED_CATEGORY_FIELDS = ("id", "name")


def is_int(v: Any) -> bool:
    return type(v) is int


def is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def numeric_string(v: Any) -> float | None:
    """The number a string like ``"3264"`` holds, or None."""
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


@dataclass
class KeypointBlock:
    """All annotations whose keypoints have the expected length ``3*K`` for one ``K``.

    ``pos`` are positions in ``annotations``; ``kp`` is float64 of shape (n, K, 3).
    """

    k: int
    pos: np.ndarray
    kp: np.ndarray

    @property
    def x(self) -> np.ndarray:
        return self.kp[:, :, 0]

    @property
    def y(self) -> np.ndarray:
        return self.kp[:, :, 1]

    @property
    def v(self) -> np.ndarray:
        return self.kp[:, :, 2]


@dataclass
class Context:
    """The document being validated and everything derived from it once."""

    doc: dict[str, Any]
    images_dir: Path | None = None
    for_training: bool = False
    max_per_code: int = MAX_PER_CODE
    findings: list[Finding] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _overflow: dict[str, int] = field(default_factory=dict)

    # -- the lists (non-lists are reported by the document checks and treated as empty) --------
    def _list(self, key: str) -> list[Any]:
        value = self.doc.get(key)
        return value if isinstance(value, list) else []

    @cached_property
    def images(self) -> list[Any]:
        return self._list("images")

    @cached_property
    def annotations(self) -> list[Any]:
        return self._list("annotations")

    @cached_property
    def categories(self) -> list[Any]:
        return self._list("categories")

    # -- reporting ---------------------------------------------------------------------------
    def add(self, f: Finding) -> None:
        """Record a finding; beyond ``max_per_code`` per code only the count is kept."""
        n = self._counts.get(f.code, 0)
        self._counts[f.code] = n + 1
        if n < self.max_per_code:
            self.findings.append(f)
        else:
            self._overflow[f.code] = self._overflow.get(f.code, 0) + 1

    def overflow_findings(self) -> list[Finding]:
        out = []
        for code, n in self._overflow.items():
            sev = next((f.severity for f in self.findings if f.code == code), Severity.WARNING)
            out.append(
                Finding(
                    code,
                    sev,
                    f"{n} more findings with this code not listed (the first {self.max_per_code} are)",
                )
            )
        return out

    # -- indexes -----------------------------------------------------------------------------
    @cached_property
    def image_by_id(self) -> dict[int, int]:
        """Image id → position (first occurrence), for structurally usable images."""
        out: dict[int, int] = {}
        for i, img in enumerate(self.images):
            if isinstance(img, dict) and is_int(img.get("id")):
                out.setdefault(img["id"], i)
        return out

    @cached_property
    def image_size(self) -> dict[int, tuple[float, float]]:
        """Image id → (width, height) where both are positive numbers (numeric strings too)."""
        out: dict[int, tuple[float, float]] = {}
        for img_id, i in self.image_by_id.items():
            img = self.images[i]
            w, h = img.get("width"), img.get("height")
            w = w if is_number(w) else numeric_string(w)
            h = h if is_number(h) else numeric_string(h)
            if w is not None and h is not None and w > 0 and h > 0:
                out[img_id] = (float(w), float(h))
        return out

    @cached_property
    def category_by_id(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for i, cat in enumerate(self.categories):
            if isinstance(cat, dict) and is_int(cat.get("id")):
                out.setdefault(cat["id"], i)
        return out

    @cached_property
    def category_k(self) -> dict[int, int]:
        """Category id → number of keypoints (only categories whose ``keypoints`` is a list)."""
        out: dict[int, int] = {}
        for cid, i in self.category_by_id.items():
            kps = self.categories[i].get("keypoints")
            if isinstance(kps, list):
                out[cid] = len(kps)
        return out

    @cached_property
    def usable_annotations(self) -> list[int]:
        """Positions of annotations that are objects with int id, image_id and category_id."""
        out = []
        for i, a in enumerate(self.annotations):
            if (
                type(a) is dict
                and type(a.get("id")) is int
                and type(a.get("image_id")) is int
                and type(a.get("category_id")) is int
            ):
                out.append(i)
        return out

    @cached_property
    def used_category_ids(self) -> set[int]:
        anns = self.annotations
        return {anns[i]["category_id"] for i in self.usable_annotations}

    @cached_property
    def blocks(self) -> list[KeypointBlock]:
        """Keypoint arrays grouped by K for annotations whose keypoints are well-formed.

        Annotations with a wrong length, non-numeric or non-finite values are left out (their
        findings come from the keypoint structure check).
        """
        anns = self.annotations
        cat_k = self.category_k
        by_k: dict[int, list[int]] = {}
        for i in self.usable_annotations:
            a = anns[i]
            k = cat_k.get(a["category_id"])
            kps = a.get("keypoints")
            if k and type(kps) is list and len(kps) == 3 * k:
                by_k.setdefault(k, []).append(i)
        out = []
        for k, pos in sorted(by_k.items()):
            rows = [anns[i]["keypoints"] for i in pos]
            try:
                arr = np.array(rows, dtype=np.float64)
                good = np.isfinite(arr).all(axis=1)
                if not good.all():
                    pos = [p for p, g in zip(pos, good.tolist(), strict=True) if g]
                    arr = arr[good]
            except (TypeError, ValueError):
                keep = [j for j, row in enumerate(rows) if all(is_number(x) for x in row)]
                pos = [pos[j] for j in keep]
                arr = np.array([rows[j] for j in keep], dtype=np.float64).reshape(len(keep), 3 * k)
                good = np.isfinite(arr).all(axis=1)
                pos = [p for p, g in zip(pos, good.tolist(), strict=True) if g]
                arr = arr[good]
            out.append(KeypointBlock(k=k, pos=np.asarray(pos, dtype=np.int64), kp=arr.reshape(-1, k, 3)))
        return out

    @cached_property
    def bboxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(positions, boxes[n, 4]) for usable annotations whose bbox is 4 finite numbers."""
        anns = self.annotations
        pos = []
        rows = []
        for i in self.usable_annotations:
            b = anns[i].get("bbox")
            if type(b) is list and len(b) == 4 and all(is_number(x) for x in b):
                pos.append(i)
                rows.append(b)
        arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
        good = np.isfinite(arr).all(axis=1)
        return np.asarray(pos, dtype=np.int64)[good], arr[good]

    def ids_of(self, positions: np.ndarray | list[int]) -> tuple[list[int], list[int]]:
        """(annotation ids, image ids) for annotation positions."""
        anns = self.annotations
        return [anns[int(i)]["id"] for i in positions], [anns[int(i)]["image_id"] for i in positions]
