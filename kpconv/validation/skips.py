"""What Keypoint R-CNN training leaves out: the one rule.

``validate --for-training`` counts it as a dry run (:func:`kpconv.validation.checks.training_skips`)
and ``train`` applies it when it builds targets (:mod:`kpconv.train.data`): both call
:func:`skip_reasons`, so what the dry run prints is what training does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: skip reason -> the words both commands print
SKIP_REASONS: dict[str, str] = {
    "crowd": "crowd annotation (iscrowd 1)",
    "unusable_keypoints": "unusable keypoints (see errors)",
    "no_visible_keypoints": "no visible keypoint (num_keypoints 0)",
    "missing_box": "missing or malformed bbox",
    "degenerate_box": "degenerate box (w or h < 1 px inside the image)",
}


def skip_reasons(
    crowd: npt.NDArray[np.bool_],
    visible: npt.NDArray[np.int64],
    boxes: npt.NDArray[np.float64],
    widths: npt.NDArray[np.float64],
    heights: npt.NDArray[np.float64],
) -> list[str | None]:
    """Per annotation, the :data:`SKIP_REASONS` key training leaves it out for, or None (used).

    ``crowd``: iscrowd per annotation; ``visible``: its number of points with v > 0, -1 when its
    keypoints are unusable; ``boxes``: (n, 4) COCO [x, y, w, h], NaN where missing or malformed;
    ``widths``/``heights``: its image's size, ``inf`` when unknown. The first reason that applies
    wins, in the order of :data:`SKIP_REASONS`. A box counts after clipping to the image.
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
        ("no_visible_keypoints", visible == 0),
        ("missing_box", missing),
        ("degenerate_box", ~usable_box),
    ]
    out: list[str | None] = [None] * n
    decided = np.zeros(n, dtype=bool)
    for reason, applies in rules:
        for i in np.nonzero(applies & ~decided)[0].tolist():
            out[i] = reason
        decided |= applies
    return out


def skip_counts(reasons: list[str | None]) -> dict[str, int]:
    """``{words: count}`` of the reasons that occur, in :data:`SKIP_REASONS` order."""
    counts = {k: 0 for k in SKIP_REASONS}
    for r in reasons:
        if r is not None:
            counts[r] += 1
    return {SKIP_REASONS[k]: v for k, v in counts.items() if v}
