"""A validated COCO keypoint dataset → LabelMe 5.x JSON files, one per image (``kpconv to-labelme``).

Each file is what LabelMe itself saves: ``version``, ``flags: {}``, ``shapes``, ``imagePath``
(relative to the JSON file), ``imageData: null``, ``imageHeight``, ``imageWidth``; each shape
``label``, ``points``, ``group_id``, ``description``, ``shape_type``, ``flags``, ``mask`` in
LabelMe's key order. An instance is one ``rectangle`` (its bbox, two corners) and one ``point``
per labelled keypoint (label = keypoint name), all with the same ``group_id`` (0, 1, ... within
the image, as LabelMe numbers groups). An occluded keypoint (v=1) carries ``flags: {"occluded":
true}`` (a LabelMe shape flag) and ``difficult: true`` (X-AnyLabeling's "occluded" tick; LabelMe
keeps unknown shape keys); a keypoint with v=0 is left out. ``kpconv from-labelme`` reads both
back, so the round trip gives the same COCO (with the same spec).

:func:`plan` decides every file in memory; :func:`write` refuses on any error finding and
otherwise writes each file atomically (temp file + rename; not fsynced one by one: the files
are regenerable and an fsync each costs more than writing them).
"""

from __future__ import annotations

import os
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from ...errors import UsageError
from ...fileio import atomic_write_bytes
from ...finding import Finding, Report, error, info, pointer, warning

#: the LabelMe version the files say they are (the shape layout of LabelMe 5.x)
LABELME_VERSION = "5.5.0"

_JSON = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
# shared by every shape (only serialised, never changed)
_OCCLUDED: dict[str, bool] = {"occluded": True}
_NO_FLAGS: dict[str, bool] = {}


@dataclass
class WriteOptions:
    """How ``to-labelme`` lays the files out.

    ``images``: the folder the dataset's ``file_name`` values are relative to; ``imagePath`` is
    the image's path from its JSON file. None: the JSON files sit beside the images (``-o`` is the
    image root), so ``imagePath`` is the image's file name.
    """

    images: Path | None = None
    version: str = LABELME_VERSION


@dataclass
class Plan:
    """The files ``write`` would write (path relative to the output folder → bytes) and the findings."""

    files: dict[str, bytes] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def json_name(file_name: str) -> str | None:
    """Where an image's LabelMe file goes under the output folder: its ``file_name`` with ``.json``
    for its suffix; None when the name would leave the folder (absolute, ``..``)."""
    path = PurePosixPath(file_name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.name or path.name in (".", ".."):
        return None
    parts = [p for p in path.parts if p != "."]
    return posixpath.join(*parts[:-1], PurePosixPath(parts[-1]).stem + ".json")


def _image_path(file_name: str, json_rel: str, out_dir: Path, images: Path | None) -> str:
    """``imagePath`` as LabelMe writes it: the image relative to the JSON file's folder."""
    if images is None:
        return PurePosixPath(file_name.replace("\\", "/")).name
    image = os.path.abspath(images / file_name)
    folder = os.path.abspath(out_dir / posixpath.dirname(json_rel))
    return Path(os.path.relpath(image, folder)).as_posix()


def _shape(
    label: str, points: list[list[float]], group: int, kind: str, occluded: bool = False
) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "label": label, "points": points, "group_id": group, "description": "",
        "shape_type": kind, "flags": {"occluded": True} if occluded else {}, "mask": None,
    }  # fmt: skip
    if occluded:
        shape["difficult"] = True
    return shape


def _instance_shapes(
    ann: dict[str, Any], cat: dict[str, Any], group: int, prefix: bool
) -> list[dict[str, Any]]:
    """One instance: its rectangle, then a point per labelled keypoint (v=0 left out)."""
    shapes = []
    bbox = ann.get("bbox")
    has_box = bbox is not None and len(bbox) == 4 and bbox[2] > 0 and bbox[3] > 0
    if bbox is not None and has_box:
        x, y, w, h = bbox
        shapes.append(_shape(cat["name"], [[x, y], [x + w, y + h]], group, "rectangle"))
    # without a rectangle, the `category.keypoint` prefix is what names the category on reading
    head = f"{cat['name']}." if prefix and not has_box else ""
    kps = ann.get("keypoints") or []
    for name, x, y, v in zip(cat["keypoints"], kps[0::3], kps[1::3], kps[2::3], strict=False):
        if v == 1:
            shapes.append({"label": head + name, "points": [[x, y]], "group_id": group, "description": "",
                           "shape_type": "point", "flags": _OCCLUDED, "mask": None, "difficult": True})  # fmt: skip
        elif v > 0:
            shapes.append({"label": head + name, "points": [[x, y]], "group_id": group, "description": "",
                           "shape_type": "point", "flags": _NO_FLAGS, "mask": None})  # fmt: skip
    return shapes


def plan(doc: dict[str, Any], out_dir: Path, options: WriteOptions | None = None) -> Plan:
    """Decide every LabelMe file for a validated COCO document (nothing is written)."""
    options = options or WriteOptions()
    out = Plan()
    cats = {c["id"]: c for c in doc.get("categories", []) if c.get("keypoints")}
    prefix = len({c["name"] for c in cats.values()}) > 1
    by_image: dict[Any, list[tuple[int, dict[str, Any]]]] = {}
    crowds = 0
    for pos, ann in enumerate(doc.get("annotations", [])):
        if ann.get("iscrowd"):
            crowds += 1
            continue
        if ann.get("category_id") not in cats:
            out.findings.append(warning(
                "labelme.category_without_keypoints", f"category {ann.get('category_id')} defines no "
                "keypoints: annotation not written", pointer("annotations", pos), annotation_id=ann.get("id"),
            ))  # fmt: skip
            continue
        by_image.setdefault(ann["image_id"], []).append((pos, ann))
    if crowds:
        out.findings.append(info(
            "labelme.crowd_left_out", f"{crowds} iscrowd annotation(s) not written: LabelMe has no crowd regions",
            pointer("annotations"),
        ))  # fmt: skip
    seen: dict[str, int] = {}
    instances = points = 0
    for i, img in enumerate(doc.get("images", [])):
        rel = json_name(str(img["file_name"]))
        if rel is None:
            out.findings.append(error(
                "labelme.file_name_outside", f"file_name {img['file_name']!r} leaves the image folder "
                "(absolute or ..): its LabelMe file would be written outside -o", pointer("images", i, "file_name"),
                image_id=img["id"],
            ))  # fmt: skip
            continue
        if rel in seen:
            out.findings.append(error(
                "labelme.json_name_clash", f"{img['file_name']!r} and image {seen[rel]} both give the LabelMe "
                f"file {rel!r} (same name, different extension)", pointer("images", i, "file_name"),
                image_id=img["id"],
            ))  # fmt: skip
            continue
        seen[rel] = img["id"]
        shapes: list[dict[str, Any]] = []
        for group, (pos, ann) in enumerate(by_image.get(img["id"], [])):
            inst = _instance_shapes(ann, cats[ann["category_id"]], group, prefix)
            if not any(s["shape_type"] == "point" for s in inst):
                out.findings.append(warning(
                    "labelme.instance_without_points", "no labelled keypoint: written as a rectangle alone, "
                    "which from-labelme skips", pointer("annotations", pos, "keypoints"), annotation_id=ann.get("id"),
                ))  # fmt: skip
            shapes.extend(inst)
            instances += 1
            points += sum(s["shape_type"] == "point" for s in inst)
        labelme = {
            "version": options.version, "flags": {}, "shapes": shapes,
            "imagePath": _image_path(str(img["file_name"]), rel, out_dir, options.images),
            "imageData": None, "imageHeight": img["height"], "imageWidth": img["width"],
        }  # fmt: skip
        out.files[rel] = orjson.dumps(labelme, option=_JSON)
    out.summary = {"files": len(out.files), "instances": instances, "points": points}
    return out


def write(
    document: Any, target_dir: Path, options: WriteOptions | None = None, *, strict: bool = False
) -> Report:
    """Write a validated dataset (a :class:`~kpconv.model.Dataset` or its document) as LabelMe files.

    Nothing is written when the plan has error findings (with ``strict``, warnings too);
    ``summary["written"]`` is then None. Existing files of the same names are replaced.
    """
    to_document = getattr(document, "to_document", None)
    doc = to_document() if callable(to_document) and not isinstance(document, dict) else document
    target_dir = Path(target_dir)
    if target_dir.exists() and not target_dir.is_dir():
        raise UsageError(f"{target_dir}: exists and is not a folder; -o names the output folder")
    p = plan(doc, target_dir, options)
    report = Report(findings=list(p.findings), summary=dict(p.summary))
    if not report.passes(strict=strict):
        report.summary["written"] = None
        return report
    target_dir.mkdir(parents=True, exist_ok=True)
    # file system calls release the GIL: a few threads overlap them (list() re-raises any error)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda item: atomic_write_bytes(target_dir / item[0], item[1], durable=False),
                p.files.items(),
            )
        )
    report.summary["written"] = str(target_dir)
    return report
