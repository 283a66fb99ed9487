"""Model predictions (COCO results) → a COCO keypoint dataset the labelling tools can pre-load.

``kpconv predict`` (and any Keypoint R-CNN evaluation) writes COCO *results*: a JSON list of
``{image_id, category_id, bbox, score, keypoints [x, y, 1]*K, keypoint_scores}``. The writers
back into the tools (``to-cvat``, ``to-labelme``, ``to-labelstudio``) take a dataset; this turns
results into one, with the images and categories of the dataset they were predicted on, so a
trained model pre-labels the next batch and people correct instead of clicking every point.

Rules, in one place for every writer:

* a result scoring below ``score_threshold`` is left out (counted);
* a point is kept as visible (v=2: a prediction has no visibility; the third value ``1`` in
  results only means "predicted") unless its ``keypoint_scores`` entry is below
  ``keypoint_threshold``, or it lies outside its image: then it is left unlabelled (v=0) for the
  labeller to place, and counted;
* a result whose points were all left out is left out (counted): a box alone is not a keypoint
  annotation;
* the box is the result's ``bbox`` (Keypoint R-CNN's detection box), ids are 1..N in the order
  of the results sorted by image, then score (highest first);
* a result naming an image or category the dataset does not have, or not shaped like a result,
  is a located error (``results.json:/3/category_id``); nothing is written then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..finding import Finding, error, info


@dataclass
class PredictionOptions:
    """Which predictions become annotations (see the module docstring)."""

    score_threshold: float = 0.5
    keypoint_threshold: float | None = None


@dataclass
class _Counts:
    low_score: int = 0
    points_low_score: int = 0
    points_outside: int = 0
    no_points: int = 0
    kept: list[dict[str, Any]] = field(default_factory=list)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _result_problem(r: Any, k_of: dict[int, int], sizes: dict[int, tuple[float, float]]) -> tuple[str, str] | None:
    """(field, what is wrong) for a result that cannot be read, else None."""
    if not isinstance(r, dict):
        return "", f"expected a result object, found {type(r).__name__}"
    for key in ("image_id", "category_id"):
        if not isinstance(r.get(key), int) or isinstance(r.get(key), bool):
            return key, f"{key} must be an integer, found {r.get(key)!r}"
    if r["image_id"] not in sizes:
        return "image_id", f"image_id {r['image_id']} is not an image of the dataset"
    if r["category_id"] not in k_of:
        return "category_id", f"category_id {r['category_id']} is not a keypoint category of the dataset"
    if not _number(r.get("score")):
        return "score", f"score must be a number, found {r.get('score')!r}"
    kps, k = r.get("keypoints"), k_of[r["category_id"]]
    if not isinstance(kps, list) or len(kps) != 3 * k or not all(_number(v) for v in kps):
        return "keypoints", f"keypoints must be {3 * k} numbers (x, y, v for each of the category's {k} keypoints)"
    box = r.get("bbox")
    if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box) or box[2] < 0 or box[3] < 0:
        return "bbox", "bbox must be 4 numbers [x, y, width, height] with width, height >= 0"
    scores = r.get("keypoint_scores")
    if scores is not None and (not isinstance(scores, list) or len(scores) != k or not all(_number(v) for v in scores)):
        return "keypoint_scores", f"keypoint_scores must be {k} numbers"
    return None


def dataset_from_results(
    results: Any, dataset: dict[str, Any], options: PredictionOptions | None = None, *, source: str = "results"
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """(the dataset document with the predictions as its annotations, findings); the document
    is None when a result cannot be read (each such result is a located error)."""
    opts = options or PredictionOptions()
    if not isinstance(results, list):
        return None, [error("predictions.not_results", f"{source}: expected a JSON list of COCO results "
                            f"(what kpconv predict writes), found {type(results).__name__}")]  # fmt: skip
    images = [im for im in dataset.get("images", []) if isinstance(im, dict)]
    categories = [c for c in dataset.get("categories", []) if isinstance(c, dict)]
    sizes = {im["id"]: (float(im["width"]), float(im["height"])) for im in images}
    k_of = {c["id"]: len(c["keypoints"]) for c in categories if isinstance(c.get("keypoints"), list) and c["keypoints"]}
    problems: list[Finding] = []
    for i, r in enumerate(results):
        found = _result_problem(r, k_of, sizes)
        if found is not None:
            key, what = found
            problems.append(error("predictions.bad_result", f"{what}; nothing is written",
                                  source=f"{source}:/{i}" + (f"/{key}" if key else "")))  # fmt: skip
    if problems:
        return None, problems

    counts = _Counts()
    order = sorted(range(len(results)), key=lambda i: (results[i]["image_id"], -results[i]["score"], i))
    for i in order:
        r = results[i]
        if r["score"] < opts.score_threshold:
            counts.low_score += 1
            continue
        ann = _annotation(r, sizes[r["image_id"]], opts, counts)
        if ann is None:
            counts.no_points += 1
            continue
        ann["id"] = len(counts.kept) + 1
        counts.kept.append(ann)
    doc = {key: value for key, value in dataset.items() if key != "annotations"}
    doc["annotations"] = counts.kept
    return doc, _notes(counts, len(results), opts, source)


def _annotation(
    r: dict[str, Any], size: tuple[float, float], opts: PredictionOptions, counts: _Counts
) -> dict[str, Any] | None:
    w, h = size
    kps: list[float | int] = []
    scores = r.get("keypoint_scores")
    for j in range(len(r["keypoints"]) // 3):
        x, y = r["keypoints"][3 * j], r["keypoints"][3 * j + 1]
        if opts.keypoint_threshold is not None and scores is not None and scores[j] < opts.keypoint_threshold:
            counts.points_low_score += 1
            kps += [0, 0, 0]
        elif not (0 <= x <= w and 0 <= y <= h):
            counts.points_outside += 1
            kps += [0, 0, 0]
        else:
            kps += [x, y, 2]
    num = sum(1 for v in kps[2::3] if v)
    if num == 0:
        return None
    bx, by, bw, bh = r["bbox"]
    return {
        "id": 0,
        "image_id": r["image_id"],
        "category_id": r["category_id"],
        "keypoints": kps,
        "num_keypoints": num,
        "bbox": [bx, by, bw, bh],
        "area": round(bw * bh, 3),
        "iscrowd": 0,
        "score": r["score"],
    }


def _notes(counts: _Counts, total: int, opts: PredictionOptions, source: str) -> list[Finding]:
    notes = [info("predictions.kept", f"{len(counts.kept)} of {total} predictions become annotations "
                  f"(score >= {opts.score_threshold:g})", source=source)]  # fmt: skip
    if counts.low_score:
        notes.append(info("predictions.low_score", f"{counts.low_score} prediction(s) scoring below "
                          f"{opts.score_threshold:g} left out (--score-threshold)", source=source))  # fmt: skip
    if counts.points_low_score:
        notes.append(info("predictions.point_low_score", f"{counts.points_low_score} predicted point(s) scoring below "
                          f"{opts.keypoint_threshold:g} left unlabelled (--keypoint-threshold)", source=source))  # fmt: skip
    if counts.points_outside:
        notes.append(info("predictions.point_outside_image", f"{counts.points_outside} predicted point(s) outside "
                          "their image left unlabelled", source=source))  # fmt: skip
    if counts.no_points:
        notes.append(info("predictions.no_points", f"{counts.no_points} prediction(s) with every point left out "
                          "dropped (a box alone is not a keypoint annotation)", source=source))  # fmt: skip
    return notes
