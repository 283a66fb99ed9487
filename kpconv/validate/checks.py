"""The validation rules: one small function per rule, listed in :data:`CHECKS`.

Each check takes the :class:`Context` and records findings with ``ctx.add``. Codes are stable
and documented in the README. Pointers are RFC 6901 by array position, down to the value at
fault where one value is (``/annotations/17/keypoints/5``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from ..finding import error, info, pointer, warning
from .context import (
    REQUIRED_ANNOTATION_FIELDS,
    REQUIRED_CATEGORY_FIELDS,
    REQUIRED_IMAGE_FIELDS,
    Context,
    is_int,
    is_number,
    numeric_string,
)

Check = Callable[[Context], None]

#: how far (pixels, and fraction of the box side) a visible keypoint may lie outside its bbox
BBOX_TOLERANCE_PX = 2.0
BBOX_TOLERANCE_FRAC = 0.05


def _typename(v: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(v), type(v).__name__)  # fmt: skip


# --------------------------------------------------------------------------- document
def check_document_sections(ctx: Context) -> None:
    """images / annotations / categories present and arrays; info/licenses of any shape."""
    for key in ("images", "annotations", "categories"):
        if key not in ctx.doc:
            ctx.add(error("document.missing_field", f"required top-level field {key!r} is missing", pointer(key)))
        elif not isinstance(ctx.doc[key], list):
            ctx.add(
                error(
                    "document.wrong_type",
                    f"{key!r} must be an array, found {_typename(ctx.doc[key])}",
                    pointer(key),
                )
            )


def check_document_is_keypoint_dataset(ctx: Context) -> None:
    """At least one category defines keypoints, and there are annotations to check."""
    if ctx.categories and not any(
        isinstance(c, dict) and isinstance(c.get("keypoints"), list) and c["keypoints"] for c in ctx.categories
    ):
        ctx.add(
            error(
                "document.no_keypoint_categories",
                f"none of the {len(ctx.categories)} categories defines keypoints: this is not a "
                "keypoint dataset (CVAT writes this when each keypoint is its own `points` label "
                "instead of a skeleton; convert the CVAT XML with `kpconv from-cvat`)",
                "/categories",
            )
        )
    if isinstance(ctx.doc.get("annotations"), list) and not ctx.annotations:
        ctx.add(warning("document.no_annotations", "the dataset has no annotations", "/annotations"))


# --------------------------------------------------------------------------- records
def _check_records(ctx: Context, key: str, required: tuple[str, ...], code: str) -> None:
    for i, rec in enumerate(ctx._list(key)):
        if type(rec) is not dict:
            ctx.add(error(f"{code}.not_object", f"expected an object, found {_typename(rec)}", pointer(key, i)))
            continue
        for f in required:
            if f not in rec:
                ctx.add(error(f"{code}.missing_field", f"required field {f!r} is missing", pointer(key, i, f)))


def check_image_records(ctx: Context) -> None:
    """Each image is an object with id, file_name, width, height."""
    _check_records(ctx, "images", REQUIRED_IMAGE_FIELDS, "image")


def check_annotation_records(ctx: Context) -> None:
    """Each annotation is an object with id, image_id, category_id, keypoints."""
    _check_records(ctx, "annotations", REQUIRED_ANNOTATION_FIELDS, "annotation")


def check_category_records(ctx: Context) -> None:
    """Each category is an object with id and name."""
    _check_records(ctx, "categories", REQUIRED_CATEGORY_FIELDS, "category")


def check_id_types(ctx: Context) -> None:
    """Ids are integers (numeric strings are reported as fixable)."""
    for key, fields in (
        ("images", ("id",)),
        ("categories", ("id",)),
        ("annotations", ("id", "image_id", "category_id")),
    ):
        for i, rec in enumerate(ctx._list(key)):
            if type(rec) is not dict:
                continue
            for f in fields:
                if f in rec and not is_int(rec[f]):
                    v = rec[f]
                    num = numeric_string(v)
                    fixable = num is not None and num.is_integer()
                    ctx.add(
                        error(
                            "ids.wrong_type",
                            f"{f} must be an integer, found {_typename(v)} {v!r}",
                            pointer(key, i, f),
                            fixable=fixable,
                        )
                    )


# --------------------------------------------------------------------------- ids
def _duplicates(ctx: Context, key: str, code: str, what: str) -> None:
    first: dict[int, int] = {}
    for i, rec in enumerate(ctx._list(key)):
        if type(rec) is dict and is_int(rec.get("id")):
            j = first.setdefault(rec["id"], i)
            if j != i:
                ctx.add(
                    error(
                        code,
                        f"{what} id {rec['id']} is used again (first at /{key}/{j})",
                        pointer(key, i, "id"),
                        **({"image_id": rec["id"]} if key == "images" else {}),
                    )
                )


def check_duplicate_image_ids(ctx: Context) -> None:
    _duplicates(ctx, "images", "ids.duplicate_image", "image")


def check_duplicate_annotation_ids(ctx: Context) -> None:
    _duplicates(ctx, "annotations", "ids.duplicate_annotation", "annotation")


def check_duplicate_category_ids(ctx: Context) -> None:
    _duplicates(ctx, "categories", "ids.duplicate_category", "category")


def check_annotation_references(ctx: Context) -> None:
    """image_id and category_id name an existing image and category."""
    images, cats = ctx.image_by_id, ctx.category_by_id
    anns = ctx.annotations
    cat_ids = sorted(cats)
    for i in ctx.usable_annotations:
        a = anns[i]
        if a["image_id"] not in images:
            ctx.add(
                error(
                    "ids.unknown_image",
                    f"image_id {a['image_id']} names no image",
                    pointer("annotations", i, "image_id"),
                    annotation_id=a["id"],
                )
            )
        if a["category_id"] not in cats:
            hint = ""
            if len(cat_ids) == 1:
                hint = f" (the only category has id {cat_ids[0]})"
            ctx.add(
                error(
                    "ids.unknown_category",
                    f"category_id {a['category_id']} names no category; expected one of {cat_ids[:10]}{hint}",
                    pointer("annotations", i, "category_id"),
                    annotation_id=a["id"],
                    image_id=a["image_id"],
                )
            )


# --------------------------------------------------------------------------- images
def check_image_fields(ctx: Context) -> None:
    """file_name a non-empty string; width/height positive integers (numeric strings fixable)."""
    for i, img in enumerate(ctx.images):
        if type(img) is not dict:
            continue
        img_id = img.get("id") if is_int(img.get("id")) else None
        fn = img.get("file_name")
        if "file_name" in img and (not isinstance(fn, str) or not fn):
            ctx.add(
                error("image.file_name", f"file_name must be a non-empty string, found {fn!r}",
                      pointer("images", i, "file_name"), image_id=img_id)
            )
        for f in ("width", "height"):
            if f not in img:
                continue
            v = img[f]
            if is_int(v) and v > 0:
                continue
            num = numeric_string(v)
            if num is not None and num.is_integer() and num > 0:
                ctx.add(
                    error("image.size_type", f"{f} must be a positive integer, found the string {v!r}",
                          pointer("images", i, f), image_id=img_id, fixable=True)
                )
            elif type(v) is float and v.is_integer() and v > 0:
                ctx.add(
                    warning("image.size_type", f"{f} should be an integer, found {v!r}",
                            pointer("images", i, f), image_id=img_id, fixable=True)
                )
            else:
                ctx.add(
                    error("image.size_invalid", f"{f} must be a positive integer, found {_typename(v)} {v!r}",
                          pointer("images", i, f), image_id=img_id)
                )


# --------------------------------------------------------------------------- categories
def check_category_keypoint_names(ctx: Context) -> None:
    """keypoints is a list of unique strings."""
    for i, cat in enumerate(ctx.categories):
        if type(cat) is not dict or "keypoints" not in cat:
            continue
        kps = cat["keypoints"]
        if not isinstance(kps, list):
            ctx.add(error("category.keypoints_type", f"keypoints must be an array of names, found {_typename(kps)}",
                          pointer("categories", i, "keypoints")))
            continue
        seen: dict[str, int] = {}
        for j, name in enumerate(kps):
            if not isinstance(name, str):
                ctx.add(error("category.keypoints_type", f"keypoint name must be a string, found {name!r}",
                              pointer("categories", i, "keypoints", j)))
            elif name in seen:
                ctx.add(error("category.duplicate_keypoint_name",
                              f"keypoint name {name!r} appears again (first at index {seen[name]})",
                              pointer("categories", i, "keypoints", j)))
            else:
                seen[name] = j


def check_category_without_keypoints(ctx: Context) -> None:
    """A category that has annotations must define its keypoints."""
    used = ctx.used_category_ids
    for i, cat in enumerate(ctx.categories):
        if type(cat) is not dict or not is_int(cat.get("id")):
            continue
        if cat["id"] in used and not cat.get("keypoints"):
            anns = [ctx.annotations[j] for j in ctx.usable_annotations if ctx.annotations[j]["category_id"] == cat["id"]]
            lengths = Counter(len(a["keypoints"]) // 3 for a in anns if isinstance(a.get("keypoints"), list))
            carry = f" (its annotations carry {', '.join(str(n) for n in sorted(lengths))} points)" if lengths else ""
            ctx.add(
                error(
                    "category.no_keypoints",
                    f"category {cat.get('name')!r} has {len(anns)} annotation(s) but `keypoints` is "
                    f"{cat.get('keypoints')!r}{carry}: the keypoint names and order are unknown",
                    pointer("categories", i, "keypoints"),
                )
            )


def check_category_id_zero(ctx: Context) -> None:
    """Category id 0 is legal COCO but clashes with the background label of torchvision."""
    for i, cat in enumerate(ctx.categories):
        if type(cat) is dict and cat.get("id") == 0 and is_int(cat.get("id")):
            ctx.add(
                warning(
                    "category.id_zero",
                    "category id 0: many tools (torchvision detection among them) reserve label 0 "
                    "for background; kpconv train remaps ids, other trainers may not",
                    pointer("categories", i, "id"),
                )
            )


def check_skeleton(ctx: Context) -> None:
    """Skeleton pairs: 1-based indices within 1..K; self-loops and duplicates warned; none → info."""
    for i, cat in enumerate(ctx.categories):
        if type(cat) is not dict:
            continue
        kps = cat.get("keypoints")
        k = len(kps) if isinstance(kps, list) else 0
        sk = cat.get("skeleton")
        if not k:
            # K unknown: only a 0 index can be judged (it is never valid in a 1-based skeleton).
            if isinstance(sk, list) and any(isinstance(p, list) and 0 in p for p in sk):
                ctx.add(error("category.skeleton_index",
                              f"skeleton {sk} uses index 0: it looks 0-based (COCO skeletons are 1-based; --fix shifts it)",
                              pointer("categories", i, "skeleton"), fixable=True))
            continue
        if sk is None or sk == []:
            ctx.add(info("category.no_skeleton", f"category {cat.get('name')!r} has no skeleton edges",
                         pointer("categories", i, "skeleton")))
            continue
        if not isinstance(sk, list):
            ctx.add(error("category.skeleton_type", f"skeleton must be an array of pairs, found {_typename(sk)}",
                          pointer("categories", i, "skeleton")))
            continue
        pairs = [p for p in sk if isinstance(p, list) and len(p) == 2 and all(is_int(x) for x in p)]
        flat = [x for p in pairs for x in p]
        looks_zero_based = bool(flat) and min(flat) == 0 and max(flat) <= k - 1
        seen: dict[tuple[int, int], int] = {}
        for j, p in enumerate(sk):
            if not (isinstance(p, list) and len(p) == 2 and all(is_int(x) for x in p)):
                ctx.add(error("category.skeleton_type", f"a skeleton edge must be 2 integers, found {p!r}",
                              pointer("categories", i, "skeleton", j)))
                continue
            a, b = p
            bad = [x for x in (a, b) if not 1 <= x <= k]
            if bad:
                hint = " (the skeleton looks 0-based: COCO skeletons are 1-based; --fix shifts it)" if looks_zero_based else ""
                ctx.add(
                    error(
                        "category.skeleton_index",
                        f"edge {p} uses index {bad[0]} outside 1..{k}{hint}",
                        pointer("categories", i, "skeleton", j),
                        fixable=looks_zero_based,
                    )
                )
                continue
            if a == b:
                ctx.add(warning("category.skeleton_self_loop", f"edge {p} joins a keypoint to itself",
                                pointer("categories", i, "skeleton", j)))
                continue
            key = (min(a, b), max(a, b))
            if key in seen:
                ctx.add(warning("category.skeleton_duplicate_edge",
                                f"edge {p} repeats edge {seen[key]} ({sk[seen[key]]})",
                                pointer("categories", i, "skeleton", j)))
            else:
                seen[key] = j


# --------------------------------------------------------------------------- keypoints
def check_keypoint_structure(ctx: Context) -> None:
    """keypoints is an array of 3×K finite numbers for its category's K."""
    anns = ctx.annotations
    cat_k = ctx.category_k
    for i in ctx.usable_annotations:
        a = anns[i]
        kps = a.get("keypoints")
        if kps is None:
            continue  # reported as a missing field
        ids = {"annotation_id": a["id"], "image_id": a["image_id"]}
        if type(kps) is not list:
            ctx.add(error("keypoints.wrong_type", f"keypoints must be an array, found {_typename(kps)}",
                          pointer("annotations", i, "keypoints"), **ids))
            continue
        n = len(kps)
        k = cat_k.get(a["category_id"])
        if n % 3:
            ctx.add(error("keypoints.length_not_multiple_of_3",
                          f"keypoints has {n} values, not a multiple of 3 (x, y, v per point)",
                          pointer("annotations", i, "keypoints"), **ids))
        elif k and n != 3 * k:
            ctx.add(error("keypoints.length",
                          f"expected {3 * k} values (3 x {k} keypoints of its category), found {n}",
                          pointer("annotations", i, "keypoints"), **ids))
        if k is not None and n == 3 * k:
            continue  # values are checked vectorised (below) unless they fail conversion
        for j, x in enumerate(kps):
            if not is_number(x):
                ctx.add(error("keypoints.not_number", f"expected a number, found {_typename(x)} {x!r}",
                              pointer("annotations", i, "keypoints", j), **ids))
                break


def check_keypoint_values(ctx: Context) -> None:
    """Values of right-length keypoint arrays that could not become numbers, or are not finite."""
    anns = ctx.annotations
    in_blocks = set()
    for blk in ctx.blocks:
        in_blocks.update(blk.pos.tolist())
    cat_k = ctx.category_k
    for i in ctx.usable_annotations:
        a = anns[i]
        kps = a.get("keypoints")
        k = cat_k.get(a["category_id"])
        if not k or type(kps) is not list or len(kps) != 3 * k or i in in_blocks:
            continue
        for j, x in enumerate(kps):
            if not is_number(x) or not np.isfinite(x):
                ctx.add(error("keypoints.not_number", f"expected a finite number, found {x!r}",
                              pointer("annotations", i, "keypoints", j),
                              annotation_id=a["id"], image_id=a["image_id"]))
                break


def _each_point(ctx: Context, blk_pos: np.ndarray, rows: np.ndarray, cols: np.ndarray):  # type: ignore[no-untyped-def]
    anns = ctx.annotations
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        i = int(blk_pos[r])
        yield i, c, anns[i]


def check_visibility_values(ctx: Context) -> None:
    """v ∈ {0, 1, 2} (2.0 accepted as 2)."""
    for blk in ctx.blocks:
        v = blk.v
        bad = (v != 0) & (v != 1) & (v != 2)
        rows, cols = np.nonzero(bad)
        for i, c, a in _each_point(ctx, blk.pos, rows, cols):
            ctx.add(error("keypoints.visibility",
                          f"visibility must be 0, 1 or 2, found {a['keypoints'][3 * c + 2]!r} (keypoint {c + 1})",
                          pointer("annotations", i, "keypoints", 3 * c + 2),
                          annotation_id=a["id"], image_id=a["image_id"]))


def check_num_keypoints(ctx: Context) -> None:
    """num_keypoints present and equal to the count of points with v > 0 (warning, fixable)."""
    anns = ctx.annotations
    for blk in ctx.blocks:
        counts = (blk.v > 0).sum(axis=1).tolist()
        for r, i in enumerate(blk.pos.tolist()):
            a = anns[i]
            nk = a.get("num_keypoints")
            if nk is None:
                state = "missing" if "num_keypoints" not in a else "null"
                ctx.add(warning("keypoints.num_keypoints_missing",
                                f"num_keypoints is {state}; the points say {counts[r]}",
                                pointer("annotations", i, "num_keypoints"),
                                annotation_id=a["id"], image_id=a["image_id"], fixable=True))
            elif nk != counts[r]:
                ctx.add(warning("keypoints.num_keypoints_mismatch",
                                f"num_keypoints is {nk!r} but {counts[r]} points have v > 0",
                                pointer("annotations", i, "num_keypoints"),
                                annotation_id=a["id"], image_id=a["image_id"], fixable=True))


def check_invisible_with_coordinates(ctx: Context) -> None:
    """A v=0 point should be 0,0,0: its coordinates mean nothing (warning, fixable)."""
    for blk in ctx.blocks:
        bad = (blk.v == 0) & ((blk.x != 0) | (blk.y != 0))
        rows, cols = np.nonzero(bad)
        for i, c, a in _each_point(ctx, blk.pos, rows, cols):
            ctx.add(warning("keypoints.invisible_with_coordinates",
                            f"keypoint {c + 1} has v=0 but coordinates "
                            f"({a['keypoints'][3 * c]}, {a['keypoints'][3 * c + 1]}); expected 0, 0",
                            pointer("annotations", i, "keypoints", 3 * c),
                            annotation_id=a["id"], image_id=a["image_id"], fixable=True))


def check_keypoints_inside_image(ctx: Context) -> None:
    """Visible points lie within [0, width] × [0, height] of their image (warning)."""
    sizes = ctx.image_size
    anns = ctx.annotations
    for blk in ctx.blocks:
        wh = np.array([sizes.get(anns[i]["image_id"], (np.inf, np.inf)) for i in blk.pos.tolist()],
                      dtype=np.float64).reshape(-1, 2)
        w, h = wh[:, :1], wh[:, 1:]
        bad = (blk.v > 0) & ((blk.x < 0) | (blk.y < 0) | (blk.x > w) | (blk.y > h))
        rows, cols = np.nonzero(bad)
        for i, c, a in _each_point(ctx, blk.pos, rows, cols):
            iw, ih = sizes[a["image_id"]]
            ctx.add(warning("keypoints.outside_image",
                            f"visible keypoint {c + 1} at ({a['keypoints'][3 * c]}, "
                            f"{a['keypoints'][3 * c + 1]}) is outside the {iw:g}x{ih:g} image",
                            pointer("annotations", i, "keypoints", 3 * c),
                            annotation_id=a["id"], image_id=a["image_id"]))


def check_keypoints_inside_bbox(ctx: Context) -> None:
    """Visible points lie inside their bbox, with a small tolerance (warning)."""
    bpos, boxes = ctx.bboxes
    if not len(bpos):
        return
    box_of = dict(zip(bpos.tolist(), range(len(bpos)), strict=True))
    for blk in ctx.blocks:
        sel = [box_of.get(i, -1) for i in blk.pos.tolist()]
        has = np.array(sel, dtype=np.int64) >= 0
        if not has.any():
            continue
        b = boxes[np.array(sel, dtype=np.int64)[has]]
        kp = blk.kp[has]
        pos = blk.pos[has]
        tx = np.maximum(BBOX_TOLERANCE_PX, BBOX_TOLERANCE_FRAC * b[:, 2:3])
        ty = np.maximum(BBOX_TOLERANCE_PX, BBOX_TOLERANCE_FRAC * b[:, 3:4])
        x, y, v = kp[:, :, 0], kp[:, :, 1], kp[:, :, 2]
        bad = (v > 0) & (
            (x < b[:, 0:1] - tx) | (x > b[:, 0:1] + b[:, 2:3] + tx)
            | (y < b[:, 1:2] - ty) | (y > b[:, 1:2] + b[:, 3:4] + ty)
        )
        rows, cols = np.nonzero(bad)
        for i, c, a in _each_point(ctx, pos, rows, cols):
            ctx.add(warning("keypoints.outside_bbox",
                            f"visible keypoint {c + 1} at ({a['keypoints'][3 * c]}, {a['keypoints'][3 * c + 1]}) "
                            f"is outside bbox {a['bbox']}",
                            pointer("annotations", i, "keypoints", 3 * c),
                            annotation_id=a["id"], image_id=a["image_id"]))


# --------------------------------------------------------------------------- bbox / area / crowd
def check_bbox(ctx: Context) -> None:
    """bbox present, 4 finite numbers, w > 0 and h > 0 unless crowd."""
    anns = ctx.annotations
    for i in ctx.usable_annotations:
        a = anns[i]
        ids = {"annotation_id": a["id"], "image_id": a["image_id"]}
        if "bbox" not in a or a["bbox"] is None:
            ctx.add(error("bbox.missing",
                          "bbox is missing (Keypoint R-CNN and COCO evaluation need it; --fix derives it from the visible points)",
                          pointer("annotations", i, "bbox"), fixable=True, **ids))
            continue
        b = a["bbox"]
        if type(b) is not list or len(b) != 4 or not all(is_number(x) for x in b) or not all(np.isfinite(b)):
            ctx.add(error("bbox.malformed", f"bbox must be 4 finite numbers [x, y, w, h], found {b!r}",
                          pointer("annotations", i, "bbox"), **ids))
            continue
        if (b[2] <= 0 or b[3] <= 0) and not a.get("iscrowd"):
            ctx.add(error("bbox.degenerate", f"bbox {b} has width or height <= 0",
                          pointer("annotations", i, "bbox"), **ids))


def check_bbox_inside_image(ctx: Context) -> None:
    """bbox within its image (1 px tolerance; warning)."""
    bpos, boxes = ctx.bboxes
    if not len(bpos):
        return
    anns = ctx.annotations
    sizes = ctx.image_size
    wh = np.array([sizes.get(anns[i]["image_id"], (np.inf, np.inf)) for i in bpos.tolist()],
                  dtype=np.float64).reshape(-1, 2)
    bad = (boxes[:, 0] < -1) | (boxes[:, 1] < -1) | (boxes[:, 0] + boxes[:, 2] > wh[:, 0] + 1) | (
        boxes[:, 1] + boxes[:, 3] > wh[:, 1] + 1
    )
    for r in np.nonzero(bad)[0].tolist():
        i = int(bpos[r])
        a = anns[i]
        w, h = wh[r]
        ctx.add(warning("bbox.outside_image", f"bbox {a['bbox']} extends outside the {w:g}x{h:g} image",
                        pointer("annotations", i, "bbox"), annotation_id=a["id"], image_id=a["image_id"]))


def check_area(ctx: Context) -> None:
    """area present and a non-negative number (COCO evaluation reads it)."""
    anns = ctx.annotations
    for i in ctx.usable_annotations:
        a = anns[i]
        ids = {"annotation_id": a["id"], "image_id": a["image_id"]}
        if "area" not in a or a["area"] is None:
            ctx.add(error("area.missing", "area is missing (pycocotools evaluation fails with KeyError: 'area'; --fix derives it)",
                          pointer("annotations", i, "area"), fixable=True, **ids))
        elif not is_number(a["area"]) or not np.isfinite(a["area"]) or a["area"] < 0:
            ctx.add(error("area.invalid", f"area must be a non-negative number, found {a['area']!r}",
                          pointer("annotations", i, "area"), **ids))


def check_iscrowd(ctx: Context) -> None:
    """iscrowd present and 0 or 1 (missing: warning, fixable to 0)."""
    anns = ctx.annotations
    for i in ctx.usable_annotations:
        a = anns[i]
        ids = {"annotation_id": a["id"], "image_id": a["image_id"]}
        if "iscrowd" not in a or a["iscrowd"] is None:
            ctx.add(warning("iscrowd.missing", "iscrowd is missing (taken as 0; --fix writes 0)",
                            pointer("annotations", i, "iscrowd"), fixable=True, **ids))
        elif a["iscrowd"] not in (0, 1) or type(a["iscrowd"]) not in (int, bool):
            ctx.add(error("iscrowd.invalid", f"iscrowd must be 0 or 1, found {a['iscrowd']!r}",
                          pointer("annotations", i, "iscrowd"), **ids))


# --------------------------------------------------------------------------- training rules
def check_training_single_k(ctx: Context) -> None:
    """Keypoint R-CNN has one keypoint head: all trained categories share one K."""
    ks: dict[int, list[str]] = {}
    for cid in sorted(ctx.used_category_ids):
        i = ctx.category_by_id.get(cid)
        if i is None:
            continue
        k = ctx.category_k.get(cid, 0)
        ks.setdefault(k, []).append(str(ctx.categories[i].get("name", cid)))
    if len(ks) > 1:
        desc = "; ".join(f"K={k}: {', '.join(n)}" for k, n in sorted(ks.items()))
        ctx.add(error("training.mixed_keypoint_counts",
                      f"categories with annotations have different keypoint counts ({desc}); Keypoint R-CNN "
                      "predicts one K for all classes: train them separately or merge their keypoint sets",
                      "/categories"))


def check_training_has_visible_keypoints(ctx: Context) -> None:
    """At least one non-crowd annotation with a visible keypoint, or there is nothing to learn."""
    anns = ctx.annotations
    for blk in ctx.blocks:
        vis = (blk.v > 0).any(axis=1)
        for r in np.nonzero(vis)[0].tolist():
            if not anns[int(blk.pos[r])].get("iscrowd"):
                return
    ctx.add(error("training.no_visible_keypoints",
                  "no non-crowd annotation has a visible keypoint (v > 0): nothing to train on",
                  "/annotations"))


def training_skips(ctx: Context) -> dict[str, int]:
    """What Keypoint R-CNN training would skip, per reason (each annotation counted once)."""
    anns = ctx.annotations
    reasons: Counter[str] = Counter()
    visible: dict[int, int] = {}
    for blk in ctx.blocks:
        for i, n in zip(blk.pos.tolist(), (blk.v > 0).sum(axis=1).tolist(), strict=True):
            visible[i] = n
    for i in ctx.usable_annotations:
        a = anns[i]
        b = a.get("bbox")
        if a.get("iscrowd"):
            reasons["crowd"] += 1
        elif i not in visible:
            reasons["unusable keypoints (see errors)"] += 1
        elif visible[i] == 0:
            reasons["no visible keypoint (num_keypoints 0)"] += 1
        elif type(b) is not list or len(b) != 4 or not all(is_number(x) for x in b):
            reasons["missing or malformed bbox"] += 1
        elif b[2] < 1 or b[3] < 1:
            reasons["degenerate bbox (w or h < 1 px)"] += 1
    return dict(sorted(reasons.items()))


def check_training_dry_run(ctx: Context) -> None:
    """One info finding per reason an annotation would be skipped in training, with counts."""
    for reason, n in training_skips(ctx).items():
        ctx.add(info("training.would_skip", f"{n} annotation(s) would be skipped in training: {reason}",
                     "/annotations"))


#: every rule, in report order; TRAINING_CHECKS run only with ``for_training``
CHECKS: list[Check] = [
    check_document_sections,
    check_document_is_keypoint_dataset,
    check_image_records,
    check_category_records,
    check_annotation_records,
    check_id_types,
    check_duplicate_image_ids,
    check_duplicate_category_ids,
    check_duplicate_annotation_ids,
    check_annotation_references,
    check_image_fields,
    check_category_keypoint_names,
    check_category_without_keypoints,
    check_category_id_zero,
    check_skeleton,
    check_keypoint_structure,
    check_keypoint_values,
    check_visibility_values,
    check_num_keypoints,
    check_invisible_with_coordinates,
    check_keypoints_inside_image,
    check_bbox,
    check_keypoints_inside_bbox,
    check_bbox_inside_image,
    check_area,
    check_iscrowd,
]

TRAINING_CHECKS: list[Check] = [
    check_training_single_k,
    check_training_has_visible_keypoints,
    check_training_dry_run,
]
