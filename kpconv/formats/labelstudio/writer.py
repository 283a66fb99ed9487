"""A validated COCO keypoint dataset → Label Studio tasks to import, plus their labelling config
(``kpconv to-labelstudio``).

``tasks.json`` is a list of tasks as Label Studio imports them: ``{"data": {"image": URL},
"predictions": [{"model_version": "kpconv", "result": [...]}]}`` (pre-annotations to correct), or
``"annotations": [{"result": [...]}]``. URL is ``image_root`` + the image's ``file_name`` (URL-
escaped; default root ``/data/local-files/?d=``, Label Studio's local-files storage). Each instance
is a ``rectanglelabels`` region (its bbox; label = category) and one ``keypointlabels`` region per
labelled keypoint whose ``parentID`` is the rectangle's id, so Label Studio shows the points under
their box and ``from-labelstudio`` (and label-studio-sdk) group them back. Every region carries
``original_width``/``original_height``, ``image_rotation: 0`` and its geometry in percent of the
image size. Ids are ``a<annotation id>`` (the box) and ``a<annotation id>_<keypoint index>``:
stable across reruns. An instance without a box gets its points chained to its first point.

Predictions (``to-labelstudio results.json --dataset DATASET.json``: annotations with a ``score``)
carry it on each of their regions, and the task's prediction the mean score.

Visibility: Label Studio has none. v=0 points are left out; v=1 points are written as plain
points (a note says how many; they read back as v=2) unless ``visibility_attribute`` is set: then
every point also gets a per-region ``choices`` result (``visible`` / ``occluded``, same id as the
point) and the config a matching ``<Choices perRegion="true">``, which ``from-labelstudio
--visibility-attribute NAME`` reads back.

The config (:func:`~.config.config_xml`) declares the categories as ``RectangleLabels`` and the
keypoints as ``KeyPointLabels`` with ``model_index`` = the keypoint's index in its category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from ...errors import UsageError
from ...fileio import STDOUT, atomic_write_bytes
from ...finding import Finding, Report, error, info, pointer, warning
from ...memory import gc_paused
from .config import BOX_CONTROL, IMAGE_NAME, KEYPOINT_CONTROL, config_xml

#: Label Studio's local-files storage URL (files under LOCAL_FILES_DOCUMENT_ROOT)
LOCAL_FILES = "/data/local-files/?d="
#: the point size Label Studio draws (value.width, percent of the image width)
POINT_WIDTH = 0.5

_JSON = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE


@dataclass
class WriteOptions:
    """How ``to-labelstudio`` writes: the image URL prefix, regions as ``predictions`` or
    ``annotations``, the config file (None: beside the tasks, ``<stem>.label_config.xml``), the
    prediction's ``model_version`` and an optional per-point visibility choice."""

    image_root: str = LOCAL_FILES
    as_: str = "predictions"
    config_out: Path | None = None
    model_version: str = "kpconv"
    visibility_attribute: str | None = None


@dataclass
class Plan:
    """The tasks and config ``write`` would write, and the findings that decide whether it may."""

    tasks: bytes = b""
    config: str = ""
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def config_path(target: Path, options: WriteOptions) -> Path:
    """Where the config goes: ``--config-out``, else ``<stem>.label_config.xml`` beside the tasks."""
    if options.config_out is not None:
        return options.config_out
    if str(target) == STDOUT:
        raise UsageError("-o -: name the label config file with --config-out FILE")
    return target.with_name(f"{target.stem}.label_config.xml")


def _region(
    rid: str, kind: str, control: str, w: int, h: int, value: dict[str, Any]
) -> dict[str, Any]:
    return {"id": rid, "type": kind, "from_name": control, "to_name": IMAGE_NAME, "original_width": w,
            "original_height": h, "image_rotation": 0, "value": value}  # fmt: skip


def _labels(
    cat: dict[str, Any], prefix: bool, cache: dict[int, tuple[list[str], list[str]]]
) -> tuple[list[str], list[str]]:
    """A category's keypoint labels (``category.keypoint`` with ``prefix``) and region id suffixes."""
    hit = cache.get(cat["id"])
    if hit is None:
        names = [f"{cat['name']}.{kp}" if prefix else kp for kp in cat["keypoints"]]
        hit = cache[cat["id"]] = (names, [f"_{k}" for k in range(len(names))])
    return hit


def plan(doc: dict[str, Any], options: WriteOptions | None = None) -> Plan:
    """Decide the tasks and config for a validated COCO document (nothing is written)."""
    # millions of small dicts, none in a cycle: collections would rescan the growing task list
    with gc_paused():
        return _plan(doc, options)


def _plan(doc: dict[str, Any], options: WriteOptions | None) -> Plan:
    options = options or WriteOptions()
    out = Plan()
    cats = {c["id"]: c for c in doc.get("categories", []) if c.get("keypoints")}
    if not cats:
        out.findings.append(error("labelstudio.no_keypoint_category", "no category defines keypoints: nothing to write",
                                  pointer("categories")))  # fmt: skip
        return out
    prefix = len({c["name"] for c in cats.values()}) > 1
    by_image: dict[Any, list[tuple[int, dict[str, Any]]]] = {}
    crowds = 0
    for pos, ann in enumerate(doc.get("annotations", [])):
        if ann.get("iscrowd"):
            crowds += 1
        elif ann.get("category_id") not in cats:
            out.findings.append(warning("labelstudio.category_without_keypoints", f"category {ann.get('category_id')} "
                                        "defines no keypoints: annotation not written", pointer("annotations", pos),
                                        annotation_id=ann.get("id")))  # fmt: skip
        else:
            by_image.setdefault(ann["image_id"], []).append((pos, ann))
    if crowds:
        out.findings.append(info("labelstudio.crowd_left_out", f"{crowds} iscrowd annotation(s) not written: Label "
                                 "Studio has no crowd regions", pointer("annotations")))  # fmt: skip
    vis = options.visibility_attribute
    label_cache: dict[int, tuple[list[str], list[str]]] = {}
    tasks: list[dict[str, Any]] = []
    instances = points = occluded = outside = 0
    for img in doc.get("images", []):
        W, H = img["width"], img["height"]  # noqa: N806 - the image's width and height
        result: list[dict[str, Any]] = []
        scores: list[float] = []
        for _, ann in by_image.get(img["id"], []):
            first = len(result)
            cat = cats[ann["category_id"]]
            aid = f"a{ann['id']}"
            bbox = ann.get("bbox")
            parent: str | None = None
            if bbox is not None and len(bbox) == 4 and bbox[2] > 0 and bbox[3] > 0:
                x, y, w, h = bbox
                parent = aid
                result.append(_region(aid, "rectanglelabels", BOX_CONTROL, W, H, {
                    "x": x / W * 100, "y": y / H * 100, "width": w / W * 100, "height": h / H * 100,
                    "rotation": 0, "rectanglelabels": [cat["name"]]}))  # fmt: skip
            kps = ann.get("keypoints") or []
            labels, suffixes = _labels(cat, prefix, label_cache)
            for k in range(min(len(labels), len(kps) // 3)):
                px, py, v = kps[3 * k], kps[3 * k + 1], kps[3 * k + 2]
                if v <= 0:
                    continue
                if not (0 <= px <= W and 0 <= py <= H):
                    outside += 1
                    continue
                rid = aid + suffixes[k]
                x, y = px / W * 100, py / H * 100
                region = {"id": rid, "type": "keypointlabels", "from_name": KEYPOINT_CONTROL, "to_name": IMAGE_NAME,
                          "original_width": W, "original_height": H, "image_rotation": 0,
                          "value": {"x": x, "y": y, "width": POINT_WIDTH, "keypointlabels": [labels[k]]}}  # fmt: skip
                if parent is not None:
                    region["parentID"] = parent
                else:
                    parent = rid  # no box: the instance's points chain to its first point
                result.append(region)
                if vis:
                    choice = {
                        "x": x,
                        "y": y,
                        "width": POINT_WIDTH,
                        "choices": ["occluded" if v == 1 else "visible"],
                    }
                    result.append(_region(rid, "choices", vis, W, H, choice))
                points += 1
                occluded += v == 1
            score = ann.get("score")
            if isinstance(score, int | float) and not isinstance(score, bool):
                for region in result[first:]:  # a prediction's score, shown on each of its regions
                    region["score"] = score
                scores.append(float(score))
            instances += 1
        url = options.image_root + quote(str(img["file_name"]).replace("\\", "/"), safe="/")
        # the size also travels in data: an image without regions has it nowhere else
        task: dict[str, Any] = {"data": {IMAGE_NAME: url, "image_width": W, "image_height": H}}
        if options.as_ == "annotations":
            task["annotations"] = [{"result": result, "ground_truth": False}]
        else:
            prediction: dict[str, Any] = {"model_version": options.model_version, "result": result}
            if scores:  # the task's score (Label Studio sorts and samples tasks by it): the mean
                prediction["score"] = sum(scores) / len(scores)
            task["predictions"] = [prediction]
        tasks.append(task)
    if outside:
        out.findings.append(warning("labelstudio.point_outside_image", f"{outside} labelled point(s) lie outside their "
                                    "image: Label Studio cannot place them; left out", pointer("annotations")))  # fmt: skip
    if occluded and not vis:
        out.findings.append(info("labelstudio.visibility_lost", f"{occluded} occluded point(s) (v=1) written as plain "
                                 "keypoints: Label Studio has no visibility, so they read back as v=2 "
                                 "(--visibility-attribute NAME keeps it as a per-point choice)",
                                 pointer("annotations")))  # fmt: skip
    ordered = sorted(cats.values(), key=lambda c: c["id"])
    out.config = config_xml(
        [(c["name"], list(c["keypoints"])) for c in ordered], visibility_attribute=vis
    )
    out.tasks = orjson.dumps(tasks, option=_JSON)
    out.summary = {
        "tasks": len(tasks),
        "instances": instances,
        "points": points,
        "mode": options.as_,
    }
    return out


def write(
    document: Any, target: Path, options: WriteOptions | None = None, *, strict: bool = False
) -> Report:
    """Write a validated dataset (a :class:`~kpconv.model.Dataset` or its document) as Label Studio
    tasks (``target``; ``-`` for standard output) and its labelling config.

    Nothing is written when the plan has error findings (with ``strict``, warnings too);
    ``summary["written"]`` is then None.
    """
    options = options or WriteOptions()
    to_document = getattr(document, "to_document", None)
    doc = to_document() if callable(to_document) and not isinstance(document, dict) else document
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"{target}: is a folder; -o names the tasks JSON file to write")
    cfg = config_path(target, options)
    p = plan(doc, options)
    report = Report(findings=list(p.findings), summary=dict(p.summary))
    if not report.passes(strict=strict):
        report.summary["written"] = None
        return report
    atomic_write_bytes(cfg, p.config.encode())
    atomic_write_bytes(target, p.tasks)
    report.summary["config"] = str(cfg)
    report.summary["written"] = str(target)
    return report
