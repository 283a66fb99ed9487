"""A validated COCO keypoint dataset → an Ultralytics YOLO pose dataset (``kpconv to-yolo``).

The layout Ultralytics reads: ``images/<split>/`` (symlinks to the originals, or copies),
``labels/<split>/<stem>.txt`` (one line per instance: ``class cx cy w h`` then K × ``x y v``,
normalised; an empty file for an image without instances) and ``data.yaml`` (``kpt_shape``,
``flip_idx`` from the spec's left/right pairs, ``names``, ``kpt_names``, and a ``kpconv`` block
that lets ``from-yolo`` restore the COCO categories).

:func:`plan` decides everything in memory (numpy over all annotations, the label text included);
:func:`write` refuses on any error finding and otherwise builds each split in a hidden staging
folder inside the output and renames it into place, then writes ``data.yaml`` atomically: an
interrupted run leaves the previous output, never half a split.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ...errors import UsageError
from ...fileio import atomic_write_bytes
from ...finding import Finding, Report, error, info, pointer, warning
from ...spec import KeypointSpec, spec_from_coco_categories
from .checks import flip_problems
from .datafile import KPCONV_KEY, SPLIT_KEYS, is_image_name, load_data_file
from .reader import MIN_IMAGE_SIDE

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: rows formatted per numpy pass (bounds the digit arrays: rows × columns × decimals)
_FORMAT_ROWS = 4096


@dataclass
class WriteOptions:
    """How ``to-yolo`` lays the dataset out (see ``kpconv to-yolo --help``)."""

    split: str = "train"
    val_fraction: float | None = None
    seed: int = 0
    copy: bool = False
    clip_points: bool = False
    pad: bool = False
    kpt_dims: int = 3
    source: str = ""  # the COCO file's name, for data.yaml's header comment


@dataclass
class SplitPlan:
    """One split: per image its source file_name, its path under images/<split>/, its label text."""

    name: str
    file_names: list[str] = field(default_factory=list)
    dest: list[str] = field(default_factory=list)
    labels: list[bytes] = field(default_factory=list)
    instances: int = 0


@dataclass
class Plan:
    """Everything ``write`` would write, and the findings that decide whether it may."""

    findings: list[Finding] = field(default_factory=list)
    splits: dict[str, SplitPlan] = field(default_factory=dict)
    categories: list[dict[str, Any]] = field(default_factory=list)
    k: int = 0
    ndim: int = 3
    flip_idx: list[int] | None = None
    notes: list[str] = field(default_factory=list)  # data.yaml comments
    summary: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ planning
def plan(doc: dict[str, Any], options: WriteOptions, spec: KeypointSpec | None = None) -> Plan:
    """Decide the YOLO dataset for a validated COCO document (nothing is written)."""
    out = Plan(ndim=options.kpt_dims)
    cats = sorted(
        (c for c in doc.get("categories", []) if c.get("keypoints")), key=lambda c: c["id"]
    )
    if not cats:
        out.findings.append(
            error("yolo.no_keypoint_category", "no category defines keypoints: nothing to write")
        )
        return out
    ks = [len(c["keypoints"]) for c in cats]
    out.k = max(ks)
    if len(set(ks)) > 1:
        listed = ", ".join(f"{c['name']} ({k})" for c, k in zip(cats, ks, strict=True))
        if not options.pad:
            out.findings.append(error(
                "yolo.different_k", f"categories have different keypoint counts: {listed}; Ultralytics has one "
                f"kpt_shape for all classes: pass --pad to pad every category to {out.k} with 0 0 0 columns",
                pointer("categories"),
            ))  # fmt: skip
            return out
        out.notes.append(
            f"--pad: categories padded to {out.k} keypoints with 0 0 0 columns: {listed}"
        )
    out.categories = cats
    out.flip_idx = _flip_idx(cats, out.k, spec, out)
    images = doc.get("images", [])
    _check_images(images, out)
    _plan_labels(doc, images, cats, _split_of_images(images, options), options, out)
    return out


def _flip_idx(
    cats: list[dict[str, Any]], k: int, spec: KeypointSpec | None, out: Plan
) -> list[int] | None:
    """One flip_idx for all classes, from each category's left/right pairs (the spec's, else its names')."""
    derived = spec_from_coco_categories(cats)
    perms = []
    for cat in cats:
        own = spec.category(cat["name"]) if spec is not None else None
        base = derived.category(cat["name"])
        chosen = own if own is not None else base
        if chosen is None or not chosen.flip_safe:
            out.findings.append(warning(
                "yolo.flip_idx_unknown", f"category {cat['name']!r}: no left/right keypoint pairs known, so no flip_idx "
                "is written and Ultralytics turns horizontal flips off; give --spec with flip_pairs "
                "(flip_pairs: [] for a symmetric set)", pointer("categories"),
            ))  # fmt: skip
            return None
        index = {name: i for i, name in enumerate(cat["keypoints"])}
        perm = list(range(len(cat["keypoints"])))
        for a, b in chosen.flip_pairs:
            na, nb = chosen.keypoints[a - 1], chosen.keypoints[b - 1]
            if na not in index or nb not in index:
                raise UsageError(
                    f"--spec category {cat['name']!r}: flip pair {na}/{nb} is not in the dataset's "
                    f"keypoints {cat['keypoints']}"
                )
            perm[index[na]], perm[index[nb]] = index[nb], index[na]
        perms.append(perm)
    # one permutation agreeing with every category on its own keypoints (padding columns, always
    # 0 0 0, may go anywhere; the categories with the largest K fix them all)
    common: list[int | None] = [None] * k
    for perm in perms:
        for i, j in enumerate(perm):
            if common[i] not in (None, j):
                out.findings.append(warning(
                    "yolo.flip_idx_conflict", "the categories need different flip permutations and Ultralytics "
                    "has one flip_idx: none is written, so Ultralytics turns horizontal flips off",
                    pointer("categories"),
                ))  # fmt: skip
                return None
            common[i] = j
    flip = [i if j is None else j for i, j in enumerate(common)]
    problems = flip_problems(flip, k)
    if problems:  # pairs are disjoint by construction; checked all the same
        out.findings.append(error("yolo.flip_idx", "; ".join(problems), pointer("categories")))
        return None
    return flip


def _check_images(images: list[dict[str, Any]], out: Plan) -> None:
    for i, img in enumerate(images):
        if not is_image_name(posixpath.basename(img["file_name"])):
            out.findings.append(error(
                "yolo.image_format", f"{img['file_name']!r}: Ultralytics reads only image files named "
                "*.jpg, *.png, *.bmp, *.tif, *.webp, ...", pointer("images", i, "file_name"), image_id=img["id"],
            ))  # fmt: skip
        elif min(img["width"], img["height"]) < MIN_IMAGE_SIDE:
            out.findings.append(warning(
                "yolo.image_too_small", f"{img['width']}x{img['height']} px: Ultralytics skips images under "
                f"{MIN_IMAGE_SIDE} px on a side", pointer("images", i), image_id=img["id"],
            ))  # fmt: skip


def _split_of_images(images: list[dict[str, Any]], options: WriteOptions) -> list[str]:
    """Each image's split: all ``options.split``, or a seeded random ``val_fraction`` to val."""
    n = len(images)
    if options.val_fraction is None:
        return [options.split] * n
    order = sorted(range(n), key=lambda i: images[i]["id"])
    n_val = int(round(options.val_fraction * n))
    if options.val_fraction > 0 and n > 1:
        n_val = min(max(n_val, 1), n - 1)
    chosen = np.random.default_rng(options.seed).permutation(n)[:n_val]
    split = ["train"] * n
    for j in chosen.tolist():
        split[order[j]] = "val"
    return split


def dest_name(file_name: str) -> str:
    """Where an image goes under ``images/<split>/``: its file_name, less any folders up to a
    folder named ``images`` (Ultralytics finds labels by replacing the *last* ``/images/``)."""
    parts = file_name.replace("\\", "/").split("/")
    cut = max((i + 1 for i, p in enumerate(parts[:-1]) if p == "images"), default=0)
    return "/".join(p for p in parts[cut:] if p not in ("", "."))


@dataclass
class _Instances:
    """The annotations to write (crowds left out) as arrays, padded to K keypoints."""

    pos: IntArray  # position in the document's annotations
    ids: list[int]
    image: IntArray  # position in the document's images
    cls: IntArray
    own_k: IntArray
    kps: FloatArray  # (n, K, 3)
    boxes: FloatArray  # (n, 4) x, y, w, h
    width: FloatArray
    height: FloatArray


def _instances(
    doc: dict[str, Any], images: list[dict[str, Any]], cats: list[dict[str, Any]], k: int
) -> _Instances:
    class_of = {c["id"]: i for i, c in enumerate(cats)}
    pos_of_image = {img["id"]: i for i, img in enumerate(images)}
    rows = [(p, a) for p, a in enumerate(doc.get("annotations", []))
            if not a.get("iscrowd") and a["category_id"] in class_of and a["image_id"] in pos_of_image]  # fmt: skip
    n = len(rows)
    image = np.fromiter((pos_of_image[a["image_id"]] for _, a in rows), np.int64, n)
    cls = np.fromiter((class_of[a["category_id"]] for _, a in rows), np.int64, n)
    own_k = np.asarray([len(c["keypoints"]) for c in cats], dtype=np.int64)[cls]
    kps = np.zeros((n, k, 3))
    for kc in sorted(set(own_k.tolist())):  # one flat read per keypoint count
        sel = np.flatnonzero(own_k == kc)
        flat = chain.from_iterable(rows[i][1]["keypoints"] for i in sel.tolist())
        kps[sel, :kc] = np.fromiter(flat, np.float64, len(sel) * 3 * kc).reshape(len(sel), kc, 3)
    boxes = np.fromiter(chain.from_iterable(a["bbox"] for _, a in rows), np.float64, 4 * n).reshape(
        n, 4
    )
    return _Instances(
        pos=np.fromiter((p for p, _ in rows), np.int64, n), ids=[a["id"] for _, a in rows], image=image, cls=cls,
        own_k=own_k, kps=kps, boxes=boxes,
        width=np.asarray([img["width"] for img in images], dtype=np.float64)[image],
        height=np.asarray([img["height"] for img in images], dtype=np.float64)[image],
    )  # fmt: skip


def _labelled_points(inst: _Instances, options: WriteOptions, out: Plan) -> npt.NDArray[np.bool_]:
    """Which points are written as labelled: v > 0 and inside the image (else an error, or with
    --clip-points not labelled)."""
    kps, w, h = inst.kps, inst.width[:, None], inst.height[:, None]
    labelled = kps[..., 2] > 0
    outside = labelled & (
        (kps[..., 0] < 0) | (kps[..., 0] > w) | (kps[..., 1] < 0) | (kps[..., 1] > h)
    )
    if outside.any() and options.clip_points:
        out.findings.append(
            info(
                "yolo.points_clipped",
                f"{int(outside.sum())} labelled point(s) outside their "
                "image written as not labelled (0 0 0; --clip-points)",
                pointer("annotations"),
            )
        )
        out.summary["points_clipped"] = int(outside.sum())
        return labelled & ~outside
    for r, j in zip(*np.nonzero(outside), strict=True):
        out.findings.append(error(
            "yolo.point_outside_image",
            f"keypoint {j + 1} at ({kps[r, j, 0]:g}, {kps[r, j, 1]:g}) lies outside its "
            f"{inst.width[r]:g}x{inst.height[r]:g} image: YOLO coordinates must be 0..1 (--clip-points writes "
            "such points as not labelled)",
            pointer("annotations", int(inst.pos[r]), "keypoints", 3 * int(j)), annotation_id=inst.ids[r],
        ))  # fmt: skip
    return labelled


def _check_two_values(
    inst: _Instances, labelled: npt.NDArray[np.bool_], padded: bool, out: Plan
) -> None:
    """``--kpt-dims 2`` cannot say "not labelled": such a point would be a real one at 0 0."""
    unlabelled = ~labelled & (np.arange(labelled.shape[1]) < inst.own_k[:, None])
    for r in np.flatnonzero(unlabelled.any(axis=1)).tolist():
        out.findings.append(error(
            "yolo.unlabelled_point_2d", f"keypoint(s) {(np.flatnonzero(unlabelled[r]) + 1).tolist()} not "
            "labelled: with --kpt-dims 2 they would become real points at 0 0 (the image corner); write "
            "[K, 3] (the default)", pointer("annotations", int(inst.pos[r]), "keypoints"), annotation_id=inst.ids[r],
        ))  # fmt: skip
    if padded:  # --pad fills with 0 0 0, which [K, 2] cannot say
        out.findings.append(error("yolo.unlabelled_point_2d", "--pad needs [K, 3] (padding is written as "
                                  "v = 0); drop --kpt-dims 2", pointer("categories")))  # fmt: skip


def _normalised_boxes(inst: _Instances, out: Plan) -> FloatArray:
    """``cx cy w h`` of each box clipped to its image, as fractions of it; no area left: an error."""
    w, h = inst.width, inst.height
    x0, y0 = np.clip(inst.boxes[:, 0], 0, w), np.clip(inst.boxes[:, 1], 0, h)
    x1 = np.clip(inst.boxes[:, 0] + inst.boxes[:, 2], 0, w)
    y1 = np.clip(inst.boxes[:, 1] + inst.boxes[:, 3], 0, h)
    for r in np.flatnonzero((x1 <= x0) | (y1 <= y0)).tolist():
        out.findings.append(error(
            "yolo.box_outside_image", f"bbox {inst.boxes[r].tolist()} has no area inside its {w[r]:g}x{h[r]:g} "
            "image", pointer("annotations", int(inst.pos[r]), "bbox"), annotation_id=inst.ids[r],
        ))  # fmt: skip
    return np.column_stack([(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h])


def _plan_labels(
    doc: dict[str, Any],
    images: list[dict[str, Any]],
    cats: list[dict[str, Any]],
    split_of: list[str],
    options: WriteOptions,
    out: Plan,
) -> None:
    """The label text of every image, with the per-annotation checks (points, boxes, --kpt-dims)."""
    crowd = sum(1 for a in doc.get("annotations", []) if a.get("iscrowd"))
    if crowd:
        out.findings.append(info("yolo.crowd_skipped", f"{crowd} crowd annotation(s) (iscrowd 1) left out: "
                                 "YOLO has no crowd regions", pointer("annotations")))  # fmt: skip
    inst = _instances(doc, images, cats, out.k)
    n, k = len(inst.ids), out.k
    out.summary = {"images": len(images), "annotations": n, "categories": len(cats),
                   "kpt_shape": [k, options.kpt_dims], "crowd_skipped": crowd, "points_clipped": 0}  # fmt: skip
    labelled = _labelled_points(inst, options, out)
    if options.kpt_dims == 2:
        _check_two_values(inst, labelled, bool(out.notes), out)
    box = _normalised_boxes(inst, out)
    if any(f.severity.value == "error" for f in out.findings):
        return
    px = np.where(labelled, inst.kps[..., 0] / inst.width[:, None], 0.0)
    py = np.where(labelled, inst.kps[..., 1] / inst.height[:, None], 0.0)
    coords = np.column_stack([box, np.stack([px, py], axis=-1).reshape(n, 2 * k)])
    vis = (
        np.where(labelled, inst.kps[..., 2], 0).astype(np.int64) if options.kpt_dims == 3 else None
    )
    # lines grouped by image (document order within one): each image's label text is one slice
    order = np.argsort(inst.image, kind="stable")
    max_side = max((max(img["width"], img["height"]) for img in images), default=1)
    decimals = 10 if max_side < 10_000 else 15  # 10: within 0.5e-6 px for sides up to 9,999 px
    text, ends = format_lines(
        inst.cls[order], coords[order], None if vis is None else vis[order], decimals
    )
    starts = np.concatenate([[0], ends]).astype(np.int64)
    bounds = np.searchsorted(inst.image[order], np.arange(len(images) + 1))
    _fill_splits(images, split_of, [text[starts[a] : starts[b]] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
                 (bounds[1:] - bounds[:-1]).tolist(), out)  # fmt: skip
    out.summary["splits"] = {
        s.name: {"images": len(s.dest), "instances": s.instances} for s in out.splits.values()
    }


def _fill_splits(
    images: list[dict[str, Any]],
    split_of: list[str],
    labels: list[bytes],
    counts: list[int],
    out: Plan,
) -> None:
    """Each image into its split: where it goes, its label text; two images, one label file: an error."""
    seen: dict[tuple[str, str], int] = {}
    for i, img in enumerate(images):
        split = out.splits.setdefault(split_of[i], SplitPlan(split_of[i]))
        dest = dest_name(img["file_name"])
        label = dest.rsplit(".", 1)[0] + ".txt"
        clash = seen.setdefault((split.name, label), i)
        if clash != i:
            out.findings.append(error(
                "yolo.label_name_clash", f"{img['file_name']!r} and {images[clash]['file_name']!r} would share the "
                f"label file labels/{split.name}/{label}", pointer("images", i, "file_name"), image_id=img["id"],
            ))  # fmt: skip
        split.file_names.append(img["file_name"])
        split.dest.append(dest)
        split.labels.append(labels[i])
        split.instances += counts[i]


def format_lines(
    cls: IntArray, coords: FloatArray, vis: IntArray | None, decimals: int
) -> tuple[bytes, IntArray]:
    """Label lines ``class cx cy w h x1 y1 [v1] …\n`` and each line's end offset in the text.

    ``coords`` (rows × (4 + 2K), each in 0..1) are written in fixed point with ``decimals``
    digits (a multiple of 5), trailing zeros and a bare ``.`` dropped (``0.5``, ``0``, ``1``);
    ``vis`` (rows × K, 0..9, or None for ``[K, 2]``) as single digits. The digits come from a
    table of every 5-digit group, looked up for whole arrays at once: nothing is formatted one
    number at a time.
    """
    parts: list[bytes] = []
    lengths: list[IntArray] = []
    for s in range(0, len(coords), _FORMAT_ROWS):
        block = slice(s, s + _FORMAT_ROWS)
        text, length = _format_block(
            cls[block], coords[block], None if vis is None else vis[block], decimals
        )
        parts.append(text)
        lengths.append(length)
    if not parts:
        return b"", np.zeros(0, dtype=np.int64)
    return b"".join(parts), np.cumsum(np.concatenate(lengths))


def _format_block(
    cls: IntArray, coords: FloatArray, vis: IntArray | None, decimals: int
) -> tuple[bytes, IntArray]:
    n, m = coords.shape
    k = (m - 4) // 2
    table, last, masks = _digit_tables(decimals)
    whole, frac = np.divmod(np.rint(coords * 10**decimals).astype(np.int64), 10**decimals)
    width = decimals + 3  # whole digit, '.', the digits, a separator
    buf = np.empty((n, m, width), dtype=np.uint8)
    buf[..., 0] = whole + 48
    buf[..., 1] = 46
    buf[..., -1] = 32
    kept = np.zeros((n, m), dtype=np.int64)  # fraction digits up to the last non-zero one
    groups = decimals // 5
    for g in range(groups):
        part = (frac // 10 ** (5 * (groups - 1 - g))) % 100_000
        buf[..., 2 + 5 * g : 7 + 5 * g] = table[part]
        kept = np.where(part != 0, 5 * g + last[part], kept)
    keep = masks[kept]
    # the keypoints: x y (and v, one digit) per keypoint
    pts, pts_keep = buf[:, 4:].reshape(n, k, 2 * width), keep[:, 4:].reshape(n, k, 2 * width)
    if vis is not None:
        vbuf = np.empty((n, k, 2), dtype=np.uint8)
        vbuf[..., 0] = vis + 48
        vbuf[..., 1] = 32
        pts = np.concatenate([pts, vbuf], axis=2)
        pts_keep = np.concatenate([pts_keep, np.ones((n, k, 2), dtype=bool)], axis=2)
    cw = len(str(int(cls.max()))) if n else 1
    n_digits = np.ones(n, dtype=np.int64)
    for j in range(1, cw):
        n_digits += cls >= 10**j
    cbuf = np.empty((n, cw + 1), dtype=np.uint8)
    cbuf[:, :-1] = (cls[:, None] // 10 ** np.arange(cw - 1, -1, -1, dtype=np.int64)) % 10 + 48
    cbuf[:, -1] = 32
    ckeep = np.ones((n, cw + 1), dtype=bool)
    ckeep[:, :-1] = np.arange(cw) >= (cw - n_digits)[:, None]
    row = np.concatenate([cbuf, buf[:, :4].reshape(n, 4 * width), pts.reshape(n, -1)], axis=1)
    row_keep = np.concatenate(
        [ckeep, keep[:, :4].reshape(n, 4 * width), pts_keep.reshape(n, -1)], axis=1
    )
    row[:, -1] = 10  # the last separator ends the line
    return row[row_keep].tobytes(), row_keep.sum(axis=1).astype(np.int64)


@lru_cache(maxsize=4)
def _digit_tables(decimals: int) -> tuple[npt.NDArray[np.uint8], IntArray, npt.NDArray[np.bool_]]:
    """The ASCII of every 5-digit group, its digits up to the last non-zero one, and per count of
    fraction digits kept which bytes of a fixed-width field stay."""
    group = np.arange(100_000)
    table = ((group[:, None] // 10 ** np.arange(4, -1, -1)) % 10 + 48).astype(np.uint8)
    nonzero = table != 48
    last = np.where(nonzero.any(axis=1), 5 - np.argmax(nonzero[:, ::-1], axis=1), 0).astype(
        np.int64
    )
    j = np.arange(decimals + 1)[:, None]
    masks = np.ones((decimals + 1, decimals + 3), dtype=bool)
    masks[:, 1] = j[:, 0] > 0
    masks[:, 2:-1] = np.arange(decimals) < j
    return table, last, masks


# ------------------------------------------------------------------------------ data.yaml
def _q(text: str) -> str:
    """A YAML scalar that stays a string whatever it holds (JSON strings are YAML)."""
    return orjson.dumps(text).decode()


def data_yaml_text(p: Plan, splits: list[str], options: WriteOptions) -> str:
    """``data.yaml`` as Ultralytics reads it (no ``path:``: the folder of this file is the root)."""
    lines = [f"# Ultralytics YOLO pose dataset written by kpconv to-yolo{' from ' + options.source if options.source else ''}",
             "# (no path: key, so Ultralytics takes this file's folder as the dataset root)"]  # fmt: skip
    ordered = [s for s in SPLIT_KEYS if s in splits] + sorted(
        s for s in splits if s not in SPLIT_KEYS
    )
    for s in ordered:
        lines.append(f"{s}: images/{s}")
    if "train" not in splits:
        lines.append(
            f"train: images/{ordered[0]}  # no train split written yet: Ultralytics requires one"
        )
    if "val" not in splits:
        fallback = "train" if "train" in splits else ordered[0]
        lines.append(
            f"val: images/{fallback}  # no val split written yet: Ultralytics requires one"
        )
    lines.append(f"kpt_shape: [{p.k}, {p.ndim}]")
    if p.flip_idx is not None:
        lines.append(f"flip_idx: [{', '.join(map(str, p.flip_idx))}]")
    else:
        lines.append(
            "# no flip_idx: the left/right pairs are unknown, Ultralytics turns horizontal flips off"
        )
    lines.append("names:")
    lines += [f"  {i}: {_q(c['name'])}" for i, c in enumerate(p.categories)]
    lines.append("kpt_names:")
    for i, c in enumerate(p.categories):
        names = list(c["keypoints"]) + [f"_pad{j + 1}" for j in range(p.k - len(c["keypoints"]))]
        lines.append(f"  {i}: [{', '.join(map(_q, names))}]")
    lines += [f"# {note}" for note in p.notes]
    lines.append(
        f"{KPCONV_KEY}:  # for kpconv from-yolo: the COCO categories (Ultralytics ignores this key)"
    )
    lines.append(f"  splits: [{', '.join(ordered)}]")
    lines.append("  categories:")
    for i, c in enumerate(p.categories):
        fields = [f"class: {i}", f"id: {int(c['id'])}", f"name: {_q(c['name'])}"]
        if isinstance(c.get("supercategory"), str):
            fields.append(f"supercategory: {_q(c['supercategory'])}")
        fields.append(f"keypoints: {len(c['keypoints'])}")
        skeleton = [[int(a), int(b)] for a, b in (c.get("skeleton") or [])]
        fields.append(f"skeleton: {orjson.dumps(skeleton).decode()}")
        lines.append(f"    - {{{', '.join(fields)}}}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ writing
def write(
    dataset: Any,
    images_dir: Path,
    out_dir: Path,
    options: WriteOptions | None = None,
    spec: KeypointSpec | None = None,
    *,
    protect: tuple[Path, ...] = (),
    strict: bool = False,
) -> Report:
    """Write a validated dataset (a :class:`~kpconv.model.Dataset` or its document) as YOLO pose.

    Nothing is written when the plan has error findings (with ``strict``, warnings too; the
    report says why). ``images_dir`` is
    the folder the ``file_name`` values are relative to; ``protect`` lists more input files that
    must not lie inside a folder this replaces.
    """
    options = options or WriteOptions()
    to_document = getattr(dataset, "to_document", None)
    doc = to_document() if callable(to_document) and not isinstance(dataset, dict) else dataset
    p = plan(doc, options, spec)
    report = Report(findings=list(p.findings), summary=dict(p.summary))
    if not report.passes(strict=strict):
        report.summary["written"] = None
        return report
    out_dir = Path(out_dir)
    splits = _merged_splits(out_dir, p, options)
    _refuse_replacing_inputs(out_dir, p, Path(images_dir), protect)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".kpconv-to-yolo-", dir=out_dir))
    try:
        for sp in p.splits.values():
            _stage_split(sp, Path(images_dir), staging, options.copy)
        for sp in p.splits.values():
            for kind in ("images", "labels"):
                final = out_dir / kind / sp.name
                final.parent.mkdir(exist_ok=True)
                if final.exists() or final.is_symlink():
                    os.replace(final, staging / f"old-{kind}-{sp.name}")
                os.replace(staging / kind / sp.name, final)
        atomic_write_bytes(out_dir / "data.yaml", data_yaml_text(p, splits, options).encode())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.summary["written"] = str(out_dir)
    return report


def _merged_splits(out_dir: Path, p: Plan, options: WriteOptions) -> list[str]:
    """The splits data.yaml lists: those written now, and those of an earlier run into the same folder."""
    now = list(p.splits) or [options.split]
    existing = out_dir / "data.yaml"
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a folder; -o names the output folder")
    if not existing.exists():
        return now
    old = load_data_file(existing)
    if not old.kpconv:
        raise UsageError(
            f"{existing}: exists and was not written by kpconv to-yolo; choose another -o"
        )
    names = [c["name"] for c in p.categories]
    same = (list(old.names.values()) == names and old.kpt_shape is not None
            and (old.kpt_shape.k, old.kpt_shape.ndim) == (p.k, p.ndim))  # fmt: skip
    if not same:
        raise UsageError(
            f"{existing}: describes another dataset (names {list(old.names.values())}, kpt_shape "
            f"{old.doc.get('kpt_shape')}); write to another -o, or delete it first"
        )
    earlier = [
        s
        for s in old.kpconv.get("splits", [])
        if isinstance(s, str) and (out_dir / "images" / s).is_dir()
    ]
    return [s for s in earlier if s not in now] + now


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _refuse_replacing_inputs(
    out_dir: Path, p: Plan, images_dir: Path, protect: tuple[Path, ...]
) -> None:
    """The split folders are replaced whole: none may hold an input (the images, the COCO file)."""
    finals = [
        os.path.realpath(out_dir / kind / s) for s in p.splits for kind in ("images", "labels")
    ]
    root = os.path.realpath(images_dir)
    inputs = [root] + [os.path.realpath(x) for x in protect]
    for final in finals:
        for src in inputs:
            if _inside(src, final):
                raise UsageError(
                    f"{final} would be replaced, and it holds the input {src}; choose another -o"
                )
        if _inside(final, root):
            for sp in p.splits.values():
                for name in sp.file_names:
                    if _inside(os.path.realpath(os.path.join(root, name)), final):
                        raise UsageError(
                            f"{final} would be replaced, and it holds input images ({name}); "
                            "choose another -o"
                        )


def _stage_split(sp: SplitPlan, images_dir: Path, staging: Path, copy: bool) -> None:
    """Images (links or copies) and label files of one split, under ``staging``.

    Creating files is the slow part (a system call or three each): runs of them go to a few
    threads, which wait on the disk in parallel.
    """
    img_root = staging / "images" / sp.name
    lbl_root = staging / "labels" / sp.name
    for folder in sorted({posixpath.dirname(d) for d in sp.dest}):
        (img_root / folder).mkdir(parents=True, exist_ok=True)
        (lbl_root / folder).mkdir(parents=True, exist_ok=True)
    root = os.path.abspath(images_dir)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)

    def run(start: int) -> None:
        for i in range(start, min(start + 512, len(sp.dest))):
            dest = sp.dest[i]
            source, target = os.path.join(root, sp.file_names[i]), os.path.join(img_root, dest)
            if copy:
                shutil.copyfile(source, target)
            else:
                os.symlink(source, target)
            fd = os.open(os.path.join(lbl_root, dest.rsplit(".", 1)[0] + ".txt"), flags, 0o666)
            try:
                os.write(fd, sp.labels[i])
            finally:
                os.close(fd)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(run, range(0, len(sp.dest), 512)))
