"""What Keypoint R-CNN training does with each annotation: the one rule.

``validate --for-training`` counts it as a dry run (:func:`kpconv.validation.checks.training_skips`)
and ``train`` applies it when it builds targets (:mod:`kpconv.train.data`): both call
:func:`training_roles`, so what the dry run prints is what training does.

An annotation is skipped (crowd, unusable keypoints, no usable box), kept as a *box only* (no
visible keypoint: its box is a detection target and every keypoint is v=0, which the keypoint loss
ignores, as torchvision's reference does; dropping it would teach its object as background), or
used in full.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: skip reason -> the words both commands print
SKIP_REASONS: dict[str, str] = {
    "crowd": "crowd annotation (iscrowd 1)",
    "unusable_keypoints": "unusable keypoints (see errors)",
    "missing_box": "missing or malformed bbox",
    "degenerate_box": "degenerate box (w or h < 1 px inside the image)",
}
#: the role of an annotation without a visible keypoint, and the words both commands print
BOX_ONLY = "box_only"
BOX_ONLY_WORDS = (
    "no visible keypoint (num_keypoints 0): kept as a box target with every keypoint v=0, "
    "so its object is not taught as background"
)


def training_roles(
    crowd: npt.NDArray[np.bool_],
    visible: npt.NDArray[np.int64],
    boxes: npt.NDArray[np.float64],
    widths: npt.NDArray[np.float64],
    heights: npt.NDArray[np.float64],
) -> list[str | None]:
    """Per annotation: the :data:`SKIP_REASONS` key training leaves it out for, :data:`BOX_ONLY`,
    or None (used in full).

    ``crowd``: iscrowd per annotation; ``visible``: its number of points with v > 0, -1 when its
    keypoints are unusable; ``boxes``: (n, 4) COCO [x, y, w, h], NaN where missing or malformed;
    ``widths``/``heights``: its image's size, ``inf`` when unknown. The first reason that applies
    wins, in the order of :data:`SKIP_REASONS`; an annotation not skipped with no visible keypoint
    is :data:`BOX_ONLY`. A box counts after clipping to the image.
    """
    n = len(crowd)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(n, 4)
    missing = ~np.isfinite(boxes).all(axis=1)
    with np.errstate(invalid="ignore"):
        x0, y0 = np.maximum(0.0, boxes[:, 0]), np.maximum(0.0, boxes[:, 1])
        x1 = np.minimum(widths, boxes[:, 0] + boxes[:, 2])
        y1 = np.minimum(heights, boxes[:, 1] + boxes[:, 3])
        usable_box = (x1 - x0 >= 1) & (y1 - y0 >= 1)
    rules = [
        ("crowd", np.asarray(crowd, dtype=bool)),
        ("unusable_keypoints", visible < 0),
        ("missing_box", missing),
        ("degenerate_box", ~usable_box),
        (BOX_ONLY, visible == 0),
    ]
    out: list[str | None] = [None] * n
    decided = np.zeros(n, dtype=bool)
    for reason, applies in rules:
        for i in np.nonzero(applies & ~decided)[0].tolist():
            out[i] = reason
        decided |= applies
    return out


def skip_counts(roles: list[str | None]) -> dict[str, int]:
    """``{words: count}`` of the skip reasons that occur, in :data:`SKIP_REASONS` order."""
    counts = {k: 0 for k in SKIP_REASONS}
    for r in roles:
        if r is not None and r != BOX_ONLY:
            counts[r] += 1
    return {SKIP_REASONS[k]: v for k, v in counts.items() if v}
