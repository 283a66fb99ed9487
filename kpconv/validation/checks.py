"""The validation rules: one small function per rule, listed in :data:`STRUCTURAL_CHECKS`,
:data:`CHECKS` and :data:`TRAINING_CHECKS`.

Each check takes the :class:`~kpconv.validation.context.Context` and records findings with
``ctx.add``. Codes are stable and documented in the README. Pointers are RFC 6901 by array
position, down to the value at fault where one value is (``/annotations/17/keypoints/5``).
Structural checks read the raw dicts and are skipped when the strict typed decode already proved
them; the semantic checks read columns and numpy blocks, the same on both paths.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from ..finding import error, info, pointer, warning
from ..geometry import MIN_OKS_AREA, MIN_OKS_SIDE
from .context import (
    INT64_MAX,
    INT64_MIN,
    MISSING,
    REQUIRED_ANNOTATION_FIELDS,
    REQUIRED_CATEGORY_FIELDS,
    REQUIRED_IMAGE_FIELDS,
    Context,
    is_big_int,
    is_int,
    is_number,
    numeric_string,
)
from .skips import BOX_ONLY, BOX_ONLY_WORDS, skip_counts, training_roles

Check = Callable[[Context], None]

#: how far (pixels, and fraction of the box side) a visible keypoint may lie outside its bbox
BBOX_TOLERANCE_PX = 2.0
BBOX_TOLERANCE_FRAC = 0.05


def _typename(v: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(v), type(v).__name__)  # fmt: skip


def _ann_ptr(ctx: Context, row: int, *tokens: str | int) -> str:
    return pointer("annotations", int(ctx.ann.pos[row]), *tokens)


# =========================================================================== structural (dicts)
def check_document_sections(ctx: Context) -> None:
    """images / annotations / categories present and arrays (info/licenses may be anything)."""
    hint = ""
    if "shapes" in ctx.doc and ("imagePath" in ctx.doc or "version" in ctx.doc):
        hint = " (this looks like a LabelMe file: convert it with `kpconv from-labelme`)"
    for key in ("images", "annotations", "categories"):
        if key not in ctx.doc:
            ctx.add(error("document.missing_field", f"required top-level field {key!r} is missing{hint}",
                          pointer(key)))
        elif not isinstance(ctx.doc[key], list):
            ctx.add(error("document.wrong_type", f"{key!r} must be an array, found {_typename(ctx.doc[key])}",
                          pointer(key)))


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


def check_id_types(ctx: Context) -> None:
    """Image and annotation ids are integers (integral numeric strings are fixable)."""
    for key, fields in (("images", ("id",)), ("annotations", ("id", "image_id", "category_id"))):
        for i, rec in enumerate(ctx._list(key)):
            if type(rec) is not dict:
                continue
            for f in fields:
                if f in rec and not is_int(rec[f]) and not is_big_int(rec[f]):  # big: check_integer_range
                    _report_id_type(ctx, key, i, f, rec[f])


def _report_id_type(ctx: Context, key: str, i: int, f: str, v: object) -> None:
    num = numeric_string(v) if isinstance(v, str) else (v if type(v) is float else None)
    fixable = num is not None and float(num).is_integer()
    ctx.add(error("ids.wrong_type", f"{f} must be an integer, found {_typename(v)} {v!r}",
                  pointer(key, i, f), fixable=fixable))


def check_keypoint_types(ctx: Context) -> None:
    """keypoints is an array of finite numbers (first bad value located)."""
    anns = ctx.annotations
    for row, i in enumerate(ctx.ann.pos.tolist()):
        kps = anns[i].get("keypoints", MISSING)
        if kps is MISSING:
            continue
        if type(kps) is not list:
            ctx.add(error("keypoints.wrong_type", f"keypoints must be an array, found {_typename(kps)}",
                          pointer("annotations", i, "keypoints"), **ctx.ann_ids(row)))
            continue
        for j, x in enumerate(kps):
            if is_big_int(x):  # told by check_integer_range
                break
            if not is_number(x) or not np.isfinite(x):
                ctx.add(error("keypoints.not_number", f"expected a finite number, found {_typename(x)} {x!r}",
                              pointer("annotations", i, "keypoints", j), **ctx.ann_ids(row)))
                break


def check_image_field_types(ctx: Context) -> None:
    """width/height integers (numeric strings and integral floats are fixable); file_name a string."""
    im = ctx.img
    for p, img_id, fn, w, h in zip(im.pos, im.id, im.file_name, im.width, im.height, strict=True):
        if fn is not MISSING and not isinstance(fn, str):
            ctx.add(error("image.file_name", f"file_name must be a string, found {_typename(fn)} {fn!r}",
                          pointer("images", p, "file_name"), image_id=img_id))
        for f, v in (("width", w), ("height", h)):
            if v is MISSING or is_int(v) or is_big_int(v):  # big: check_integer_range
                continue
            num = numeric_string(v)
            if num is not None and num.is_integer() and num > 0:
                ctx.add(error("image.size_type", f"{f} must be an integer, found the string {v!r}",
                              pointer("images", p, f), image_id=img_id, fixable=True))
            elif type(v) is float and v.is_integer() and v > 0:
                ctx.add(warning("image.size_type", f"{f} should be an integer, found {v!r}",
                                pointer("images", p, f), image_id=img_id, fixable=True))
            else:
                ctx.add(error("image.size_invalid", f"{f} must be a positive integer, found {_typename(v)} {v!r}",
                              pointer("images", p, f), image_id=img_id))


# =========================================================================== integer range
#: why an integer must fit in 64 bits, said in every out-of-range finding
INT64_RANGE_WHY = (
    f"integers must fit in a signed 64-bit integer ({INT64_MIN}..{INT64_MAX}), as pycocotools and numpy need"
)
#: per section: the scalar fields and the array fields whose integers the checks read
_RANGE_FIELDS = {
    "images": (("id", "width", "height"), ()),
    "annotations": (("id", "image_id", "category_id", "num_keypoints", "iscrowd", "area"), ("keypoints", "bbox")),
    "categories": (("id",), ("skeleton",)),
}
_ID_FIELDS = frozenset({"id", "image_id", "category_id"})


def _int_shown(v: int) -> str:
    """A huge integer said by its size (``str`` of one over 4300 digits raises)."""
    if v.bit_length() <= 256:
        return str(v)
    return f"{'-' if v < 0 else ''}(an integer of about {int(v.bit_length() * 0.30103) + 1} digits)"


def _report_range(ctx: Context, key: str, field: str, v: int, *where: str | int) -> None:
    code = "ids.out_of_range" if field in _ID_FIELDS else "number.out_of_range"
    ctx.add(error(code, f"{field} {_int_shown(v)} is out of range: {INT64_RANGE_WHY}", pointer(key, *where)))


def check_integer_range(ctx: Context) -> None:
    """Every integer the checks read (ids, sizes, counts, flags, coordinates, skeleton indices)
    fits in a signed 64-bit integer; each array is reported at its first value out of range.

    The strict typed decode proves it for images and annotations (a larger integer does not fit
    its types); categories are always plain dicts, so they are walked on both paths.
    """
    for key, (scalars, arrays) in _RANGE_FIELDS.items():
        if ctx.structure_proven and key != "categories":
            continue
        for i, rec in enumerate(ctx._list(key)):
            if type(rec) is not dict:
                continue
            for f in scalars:
                v = rec.get(f)
                if type(v) is int and is_big_int(v):
                    _report_range(ctx, key, f, v, i, f)
            for f in arrays:
                arr = rec.get(f)
                if type(arr) is not list:
                    continue
                for j, v in enumerate(arr):
                    if type(v) is list:  # a skeleton edge
                        k = next((k for k, x in enumerate(v) if is_big_int(x)), None)
                        if k is not None:
                            _report_range(ctx, key, f, v[k], i, f, j, k)
                            break
                    elif is_big_int(v):
                        _report_range(ctx, key, f, v, i, f, j)
                        break


# =========================================================================== categories (always dicts)
def check_category_records(ctx: Context) -> None:
    """Each category is an object with an integer id and a name."""
    _check_records(ctx, "categories", REQUIRED_CATEGORY_FIELDS, "category")
    for i, cat in enumerate(ctx.categories):
        if type(cat) is dict and "id" in cat and not is_int(cat["id"]) and not is_big_int(cat["id"]):
            _report_id_type(ctx, "categories", i, "id", cat["id"])


def check_document_is_keypoint_dataset(ctx: Context) -> None:
    """At least one category defines keypoints, and there are annotations to check."""
    if ctx.categories and not any(
        isinstance(c, dict) and isinstance(c.get("keypoints"), list) and c["keypoints"] for c in ctx.categories
    ):
        lengths = ctx.keypoint_lengths
        carrying = int(lengths.max()) if len(lengths) else 0
        if carrying > 0:  # keypoints without names (mmpose's Halpe and 300W test files)
            message = (
                f"none of the {len(ctx.categories)} categories names its keypoints, though the annotations "
                f"carry up to {carrying // 3} each: add the keypoint names (and skeleton) to the categories"
            )
        else:
            message = (
                f"none of the {len(ctx.categories)} categories defines keypoints: this is not a keypoint "
                "dataset (CVAT writes this when each keypoint is its own `points` label instead of a "
                "skeleton; convert the CVAT XML with `kpconv from-cvat`)"
            )
        ctx.add(error("document.no_keypoint_categories", message, "/categories"))
    if isinstance(ctx.doc.get("annotations"), list) and not ctx.annotations:
        ctx.add(warning("document.no_annotations", "the dataset has no annotations", "/annotations"))


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
        if type(cat) is not dict or not is_int(cat.get("id")) or cat["id"] not in used or cat.get("keypoints"):
            continue
        rows = np.nonzero(ctx.ann.category_id == cat["id"])[0]
        lengths = Counter(ctx.keypoint_lengths[rows].tolist())
        carry = ", ".join(str(n // 3) for n in sorted(lengths) if n >= 0)
        carry = f" (its annotations carry {carry} points)" if carry else ""
        ctx.add(error(
            "category.no_keypoints",
            f"category {cat.get('name')!r} has {len(rows)} annotation(s) but `keypoints` is "
            f"{cat.get('keypoints', 'missing')!r}{carry}: the keypoint names and order are unknown",
            pointer("categories", i, "keypoints"),
        ))


def check_category_id_zero(ctx: Context) -> None:
    """Category id 0 is legal COCO but clashes with the background label of torchvision."""
    for i, cat in enumerate(ctx.categories):
        if type(cat) is dict and is_int(cat.get("id")) and cat["id"] == 0:
            ctx.add(warning(
                "category.id_zero",
                "category id 0: many tools (torchvision detection among them) reserve label 0 for "
                "background; kpconv train remaps ids, other trainers may not",
                pointer("categories", i, "id"),
            ))


def _is_pair(p: object) -> bool:
    return isinstance(p, list) and len(p) == 2 and all(is_int(x) for x in p)


def check_skeleton(ctx: Context) -> None:
    """Skeleton pairs are 1-based indices in 1..K; self-loops and duplicate edges warned; none → info."""
    for i, cat in enumerate(ctx.categories):
        if type(cat) is not dict:
            continue
        kps = cat.get("keypoints")
        k = len(kps) if isinstance(kps, list) else 0
        sk = cat.get("skeleton")
        if not k:
            # K unknown: only index 0 can be judged (never valid in a 1-based skeleton).
            if isinstance(sk, list) and any(isinstance(p, list) and 0 in p for p in sk):
                ctx.add(error("category.skeleton_index",
                              f"skeleton {sk} uses index 0: it looks 0-based (COCO skeletons are 1-based; --fix shifts it)",
                              pointer("categories", i, "skeleton"), fixable=True))
            continue
        if sk is None or sk is MISSING or sk == []:
            ctx.add(info("category.no_skeleton", f"category {cat.get('name')!r} has no skeleton edges",
                         pointer("categories", i, "skeleton")))
            continue
        if not isinstance(sk, list):
            ctx.add(error("category.skeleton_type", f"skeleton must be an array of pairs, found {_typename(sk)}",
                          pointer("categories", i, "skeleton")))
            continue
        flat = [x for p in sk if _is_pair(p) for x in p]
        zero_based = bool(flat) and min(flat) == 0 and max(flat) <= k - 1
        seen: dict[tuple[int, int], int] = {}
        for j, p in enumerate(sk):
            where = pointer("categories", i, "skeleton", j)
            if not _is_pair(p):
                if isinstance(p, list) and any(is_big_int(x) for x in p):
                    continue  # told by check_integer_range
                ctx.add(error("category.skeleton_type", f"a skeleton edge must be 2 integers, found {p!r}", where))
                continue
            a, b = p
            bad = [x for x in (a, b) if not 1 <= x <= k]
            if bad:
                hint = " (the skeleton looks 0-based: COCO skeletons are 1-based; --fix shifts it)" if zero_based else ""
                ctx.add(error("category.skeleton_index", f"edge {p} uses index {bad[0]} outside 1..{k}{hint}",
                              where, fixable=zero_based))
            elif a == b:
                ctx.add(warning("category.skeleton_self_loop", f"edge {p} joins keypoint {a} to itself", where))
            elif (min(a, b), max(a, b)) in seen:
                first = seen[(min(a, b), max(a, b))]
                ctx.add(warning("category.skeleton_duplicate_edge", f"edge {p} repeats edge {first} ({sk[first]})",
                                where))
            else:
                seen[(min(a, b), max(a, b))] = j


# =========================================================================== ids (columns)
def _duplicates(ctx: Context, key: str, ids: np.ndarray, positions: np.ndarray, code: str) -> None:
    if len(ids) < 2:
        return
    uniq, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts == 1).all():
        return
    first_pos = {int(u): int(positions[f]) for u, f, c in zip(uniq, first, counts, strict=True) if c > 1}
    for r in np.nonzero(np.isin(ids, uniq[counts > 1]))[0].tolist():
        i, p = int(ids[r]), int(positions[r])
        if p != first_pos[i]:
            extra = {"image_id": i} if key == "images" else {}
            ctx.add(error(code, f"{key[:-1]} id {i} is used again (first at /{key}/{first_pos[i]})",
                          pointer(key, p, "id"), **extra))


def check_duplicate_image_ids(ctx: Context) -> None:
    _duplicates(ctx, "images", np.asarray(ctx.img.id, dtype=np.int64), np.asarray(ctx.img.pos, dtype=np.int64),
                "ids.duplicate_image")


def check_duplicate_annotation_ids(ctx: Context) -> None:
    _duplicates(ctx, "annotations", ctx.ann.id, ctx.ann.pos, "ids.duplicate_annotation")


def check_duplicate_category_ids(ctx: Context) -> None:
    cats = [(i, c["id"]) for i, c in enumerate(ctx.categories) if type(c) is dict and is_int(c.get("id"))]
    _duplicates(ctx, "categories", np.asarray([c for _, c in cats], dtype=np.int64),
                np.asarray([i for i, _ in cats], dtype=np.int64), "ids.duplicate_category")


def check_annotation_id_zero(ctx: Context) -> None:
    """Annotation id 0: pycocotools' COCOeval marks "unmatched" with id 0 (error when training)."""
    make = error if ctx.for_training else warning
    for r in np.nonzero(ctx.ann.id == 0)[0].tolist():
        ctx.add(make(
            "ids.annotation_zero",
            "annotation id 0: pycocotools' COCOeval records a match by the ground truth's id and "
            "takes 0 as 'unmatched', so this instance never counts as found and keypoint/box AP "
            "come out silently low; --fix renumbers annotation ids from 1",
            _ann_ptr(ctx, r, "id"), fixable=True, **ctx.ann_ids(r),
        ))  # fmt: skip


def check_annotation_references(ctx: Context) -> None:
    """image_id and category_id name an existing image and category."""
    a = ctx.ann
    img_ids = np.asarray(list(ctx.image_by_id), dtype=np.int64)
    cat_ids = sorted(ctx.category_by_id)
    for r in np.nonzero(~np.isin(a.image_id, img_ids))[0].tolist():
        ctx.add(error("ids.unknown_image", f"image_id {int(a.image_id[r])} names no image",
                      _ann_ptr(ctx, r, "image_id"), annotation_id=int(a.id[r])))
    hint = f" (the only category has id {cat_ids[0]})" if len(cat_ids) == 1 else ""
    for r in np.nonzero(~np.isin(a.category_id, np.asarray(cat_ids, dtype=np.int64)))[0].tolist():
        ctx.add(error("ids.unknown_category",
                      f"category_id {int(a.category_id[r])} names no category; expected one of {cat_ids[:10]}{hint}",
                      _ann_ptr(ctx, r, "category_id"), **ctx.ann_ids(r)))


# =========================================================================== images (columns)
def check_image_values(ctx: Context) -> None:
    """file_name non-empty; width/height positive."""
    im = ctx.img
    for j in [j for j, fn in enumerate(im.file_name) if type(fn) is str and (not fn or fn.isspace())]:
        ctx.add(error("image.file_name", "file_name is empty", pointer("images", im.pos[j], "file_name"),
                      image_id=im.id[j]))
    for f, col in (("width", im.width), ("height", im.height)):
        for j in [j for j, v in enumerate(col) if is_int(v) and v <= 0]:
            ctx.add(error("image.size_invalid", f"{f} must be a positive integer, found {col[j]}",
                          pointer("images", im.pos[j], f), image_id=im.id[j]))


# =========================================================================== keypoints (columns)
def check_keypoint_length(ctx: Context) -> None:
    """keypoints has 3 × K values for its category's K (and a multiple of 3 in any case)."""
    n, exp = ctx.keypoint_lengths, ctx.expected_k
    not3 = (n >= 0) & (n % 3 != 0)
    for r in np.nonzero(not3)[0].tolist():
        ctx.add(error("keypoints.length_not_multiple_of_3",
                      f"keypoints has {int(n[r])} values, not a multiple of 3 (x, y, v per point)",
                      _ann_ptr(ctx, r, "keypoints"), **ctx.ann_ids(r)))
    wrong = (n >= 0) & ~not3 & (exp > 0) & (n != 3 * exp)
    for r in np.nonzero(wrong)[0].tolist():
        ctx.add(error("keypoints.length",
                      f"expected {3 * int(exp[r])} values (3 x {int(exp[r])} keypoints of its category), found {int(n[r])}",
                      _ann_ptr(ctx, r, "keypoints"), **ctx.ann_ids(r)))


def _points(ctx: Context, rows: np.ndarray, mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """(annotation row, keypoint index) for each True in a block-shaped mask."""
    r_idx, cols = np.nonzero(mask)
    yield from zip(rows[r_idx].tolist(), cols.tolist(), strict=True)


def check_visibility_values(ctx: Context) -> None:
    """v ∈ {0, 1, 2} (2.0 accepted as 2)."""
    for blk in ctx.blocks:
        v = blk.v
        for r, c in _points(ctx, blk.rows, (v != 0) & (v != 1) & (v != 2)):
            ctx.add(error("keypoints.visibility",
                          f"visibility must be 0, 1 or 2, found {ctx.keypoint_value(r, 3 * c + 2)!r} (keypoint {c + 1})",
                          _ann_ptr(ctx, r, "keypoints", 3 * c + 2), **ctx.ann_ids(r)))


def check_num_keypoints(ctx: Context) -> None:
    """num_keypoints present and equal to the count of points with v > 0 (warning, fixable)."""
    col = ctx.ann.num_keypoints
    for blk in ctx.blocks:
        counts = (blk.v > 0).sum(axis=1)
        given = np.asarray([col[r] if is_int(col[r]) else -1 for r in blk.rows.tolist()], dtype=np.int64)
        for j in np.nonzero(given != counts)[0].tolist():
            r = int(blk.rows[j])
            nk = col[r]
            if is_big_int(nk):
                continue  # told by check_integer_range
            if nk is MISSING or nk is None:
                ctx.add(warning("keypoints.num_keypoints_missing",
                                f"num_keypoints is {'missing' if nk is MISSING else 'null'}; the points say {int(counts[j])}",
                                _ann_ptr(ctx, r, "num_keypoints"), fixable=True, **ctx.ann_ids(r)))
            else:
                ctx.add(warning("keypoints.num_keypoints_mismatch",
                                f"num_keypoints is {nk!r} but {int(counts[j])} points have v > 0",
                                _ann_ptr(ctx, r, "num_keypoints"), fixable=True, **ctx.ann_ids(r)))


def check_invisible_with_coordinates(ctx: Context) -> None:
    """A v=0 point should be 0,0,0: its coordinates mean nothing (warning, fixable)."""
    for blk in ctx.blocks:
        for r, c in _points(ctx, blk.rows, (blk.v == 0) & ((blk.x != 0) | (blk.y != 0))):
            kp = ctx.ann.keypoints[r]
            ctx.add(warning("keypoints.invisible_with_coordinates",
                            f"keypoint {c + 1} has v=0 but coordinates ({kp[3 * c]}, {kp[3 * c + 1]}); expected 0, 0",
                            _ann_ptr(ctx, r, "keypoints", 3 * c), fixable=True, **ctx.ann_ids(r)))


def check_keypoints_inside_image(ctx: Context) -> None:
    """Visible points lie within [0, width] × [0, height] of their image (warning)."""
    wh_all = ctx.image_wh
    for blk in ctx.blocks:
        wh = wh_all[blk.rows]
        w, h = wh[:, :1], wh[:, 1:]
        bad = (blk.v > 0) & ((blk.x < 0) | (blk.y < 0) | (blk.x > w) | (blk.y > h))
        for r, c in _points(ctx, blk.rows, bad):
            kp = ctx.ann.keypoints[r]
            iw, ih = wh_all[r]
            ctx.add(warning("keypoints.outside_image",
                            f"visible keypoint {c + 1} at ({kp[3 * c]}, {kp[3 * c + 1]}) is outside the {iw:g}x{ih:g} image",
                            _ann_ptr(ctx, r, "keypoints", 3 * c), **ctx.ann_ids(r)))


def check_keypoints_inside_bbox(ctx: Context) -> None:
    """Visible points lie inside their bbox, within max(2 px, 5 % of the box side) (warning)."""
    brows, boxes = ctx.bboxes
    if not len(brows):
        return
    box_index = np.full(len(ctx.ann), -1, dtype=np.int64)
    box_index[brows] = np.arange(len(brows))
    for blk in ctx.blocks:
        sel = box_index[blk.rows]
        has = sel >= 0
        if not has.any():
            continue
        b = boxes[sel[has]]
        kp = blk.kp[has]
        tx = np.maximum(BBOX_TOLERANCE_PX, BBOX_TOLERANCE_FRAC * b[:, 2:3])
        ty = np.maximum(BBOX_TOLERANCE_PX, BBOX_TOLERANCE_FRAC * b[:, 3:4])
        x, y, v = kp[:, :, 0], kp[:, :, 1], kp[:, :, 2]
        bad = (v > 0) & (
            (x < b[:, 0:1] - tx) | (x > b[:, 0:1] + b[:, 2:3] + tx)
            | (y < b[:, 1:2] - ty) | (y > b[:, 1:2] + b[:, 3:4] + ty)
        )
        for r, c in _points(ctx, blk.rows[has], bad):
            kps = ctx.ann.keypoints[r]
            ctx.add(warning("keypoints.outside_bbox",
                            f"visible keypoint {c + 1} at ({kps[3 * c]}, {kps[3 * c + 1]}) is outside bbox {ctx.ann.bbox[r]}",
                            _ann_ptr(ctx, r, "keypoints", 3 * c), **ctx.ann_ids(r)))


# =========================================================================== bbox / area / crowd (columns)
def _crowd(v: object) -> bool:
    return v is not MISSING and bool(v)


def check_bbox(ctx: Context) -> None:
    """bbox present, 4 finite numbers, w > 0 and h > 0 unless crowd."""
    col, crowd = ctx.ann.bbox, ctx.ann.iscrowd
    brows, boxes = ctx.bboxes
    good = np.zeros(len(ctx.ann), dtype=bool)
    good[brows] = True
    for r in np.nonzero(~good)[0].tolist():
        b = col[r]
        if isinstance(b, list) and any(is_big_int(x) for x in b):
            continue  # told by check_integer_range
        if b is MISSING or b is None:
            ctx.add(error("bbox.missing",
                          "bbox is missing (Keypoint R-CNN and COCO evaluation need it; --fix derives it from the visible points)",
                          _ann_ptr(ctx, r, "bbox"), fixable=True, **ctx.ann_ids(r)))
        else:
            ctx.add(error("bbox.malformed", f"bbox must be 4 finite numbers [x, y, w, h], found {b!r}",
                          _ann_ptr(ctx, r, "bbox"), **ctx.ann_ids(r)))
    for j in np.nonzero((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))[0].tolist():
        r = int(brows[j])
        if not _crowd(crowd[r]):
            ctx.add(error("bbox.degenerate", f"bbox {col[r]} has width or height <= 0",
                          _ann_ptr(ctx, r, "bbox"), **ctx.ann_ids(r)))


def check_bbox_inside_image(ctx: Context) -> None:
    """bbox within its image (1 px tolerance; warning)."""
    brows, b = ctx.bboxes
    if not len(brows):
        return
    wh = ctx.image_wh[brows]
    bad = (b[:, 0] < -1) | (b[:, 1] < -1) | (b[:, 0] + b[:, 2] > wh[:, 0] + 1) | (b[:, 1] + b[:, 3] > wh[:, 1] + 1)
    for j in np.nonzero(bad)[0].tolist():
        r = int(brows[j])
        ctx.add(warning("bbox.outside_image",
                        f"bbox {ctx.ann.bbox[r]} extends outside the {wh[j, 0]:g}x{wh[j, 1]:g} image",
                        _ann_ptr(ctx, r, "bbox"), **ctx.ann_ids(r)))


def check_area(ctx: Context) -> None:
    """area present and a non-negative number (COCO evaluation reads it)."""
    inf = float("inf")
    col = ctx.ann.area
    for r in [r for r, v in enumerate(col) if not ((type(v) is float or type(v) is int) and 0 <= v < inf)]:
        v = col[r]
        if v is MISSING or v is None:
            ctx.add(error("area.missing",
                          "area is missing (pycocotools evaluation fails with KeyError: 'area'; --fix derives it)",
                          _ann_ptr(ctx, r, "area"), fixable=True, **ctx.ann_ids(r)))
        else:
            ctx.add(error("area.invalid", f"area must be a non-negative number, found {v!r}",
                          _ann_ptr(ctx, r, "area"), **ctx.ann_ids(r)))


def check_area_too_small_for_oks(ctx: Context) -> None:
    """A keypoint instance whose ``area`` is below :data:`kpconv.geometry.MIN_OKS_AREA` (warning).

    OKS divides squared distances by the area: below the floor a 1-px error on a keypoint with
    COCO's strictest sigma (0.025) already scores OKS < 0.5, so the instance can hardly ever
    match in keypoint AP. Typical cause: a box derived around a single point.
    """
    col, crowd = ctx.ann.area, ctx.ann.iscrowd
    for r in np.nonzero(ctx.visible_counts > 0)[0].tolist():
        a = col[r]
        if (type(a) is float or type(a) is int) and 0 <= a < MIN_OKS_AREA and not _crowd(crowd[r]):
            ctx.add(warning(
                "area.too_small_for_oks",
                f"area {a:g} px² is below {MIN_OKS_AREA:.1f} px² (a {MIN_OKS_SIDE:g}x{MIN_OKS_SIDE:g} px box): "
                "at that size a 1-px error on a keypoint with sigma 0.025 already scores OKS < 0.5, so "
                "this instance can hardly ever match in keypoint AP (a box around a single point?)",
                _ann_ptr(ctx, r, "area"), **ctx.ann_ids(r),
            ))  # fmt: skip


def check_iscrowd(ctx: Context) -> None:
    """iscrowd is 0 or 1 (missing: warning, fixable to 0)."""
    col = ctx.ann.iscrowd
    for r in [r for r, v in enumerate(col) if not (type(v) is int and (v == 0 or v == 1))]:
        v = col[r]
        if v is MISSING or v is None:
            ctx.add(warning("iscrowd.missing", "iscrowd is missing (taken as 0; --fix writes 0)",
                            _ann_ptr(ctx, r, "iscrowd"), fixable=True, **ctx.ann_ids(r)))
        elif type(v) is not bool and not is_big_int(v):  # big: check_integer_range
            ctx.add(error("iscrowd.invalid", f"iscrowd must be 0 or 1, found {v!r}",
                          _ann_ptr(ctx, r, "iscrowd"), **ctx.ann_ids(r)))


# =========================================================================== training rules
def check_training_single_k(ctx: Context) -> None:
    """Keypoint R-CNN has one keypoint head: all trained categories share one K."""
    ks: dict[int, list[str]] = {}
    for cid in sorted(ctx.used_category_ids):
        i = ctx.category_by_id.get(cid)
        if i is not None:
            ks.setdefault(ctx.category_k.get(cid, 0), []).append(str(ctx.categories[i].get("name", cid)))
    if len(ks) > 1:
        desc = "; ".join(f"K={k}: {', '.join(n)}" for k, n in sorted(ks.items()))
        ctx.add(error("training.mixed_keypoint_counts",
                      f"categories with annotations have different keypoint counts ({desc}); Keypoint R-CNN "
                      "predicts one K for all classes: train them separately or merge their keypoint sets",
                      "/categories"))


def check_training_has_visible_keypoints(ctx: Context) -> None:
    """At least one non-crowd annotation with a visible keypoint, or there is nothing to learn."""
    crowd = ctx.ann.iscrowd
    for blk in ctx.blocks:
        for r in blk.rows[(blk.v > 0).any(axis=1)].tolist():
            if not _crowd(crowd[r]):
                return
    ctx.add(error("training.no_visible_keypoints",
                  "no non-crowd annotation has a visible keypoint (v > 0): nothing to train on", "/annotations"))


def training_roles_of(ctx: Context) -> list[str | None]:
    """Per annotation row, what Keypoint R-CNN training does with it: a skip reason, box only, or
    None (used in full).

    The one rule of :mod:`kpconv.validation.skips`, on this document's columns.
    """
    n = len(ctx.ann)
    brows, found = ctx.bboxes
    boxes = np.full((n, 4), np.nan)
    boxes[brows] = found
    crowd = np.asarray([_crowd(v) for v in ctx.ann.iscrowd], dtype=bool)
    wh = ctx.image_wh
    return training_roles(crowd, ctx.visible_counts, boxes, wh[:, 0], wh[:, 1])


def training_skips(ctx: Context) -> dict[str, int]:
    """What Keypoint R-CNN training would skip: ``{reason: count}`` (each annotation once)."""
    return skip_counts(training_roles_of(ctx))


def check_training_dry_run(ctx: Context) -> None:
    """One info finding per reason an annotation would be skipped in training, with its count,
    and one for the annotations training keeps as boxes only."""
    roles = training_roles_of(ctx)
    for reason, n in skip_counts(roles).items():
        ctx.add(info("training.would_skip", f"{n} annotation(s) would be skipped in training: {reason}", "/annotations"))
    box_only = roles.count(BOX_ONLY)
    if box_only:
        ctx.add(info("training.box_only", f"{box_only} annotation(s) with {BOX_ONLY_WORDS}", "/annotations"))


#: rules over the raw dicts; skipped when the strict typed decode already proved them
STRUCTURAL_CHECKS: list[Check] = [
    check_document_sections,
    check_image_records,
    check_annotation_records,
    check_id_types,
    check_image_field_types,
    check_keypoint_types,
]

#: every other rule, in report order (both paths)
CHECKS: list[Check] = [
    check_integer_range,
    check_category_records,
    check_document_is_keypoint_dataset,
    check_duplicate_image_ids,
    check_duplicate_category_ids,
    check_duplicate_annotation_ids,
    check_annotation_id_zero,
    check_annotation_references,
    check_image_values,
    check_category_keypoint_names,
    check_category_without_keypoints,
    check_category_id_zero,
    check_skeleton,
    check_keypoint_length,
    check_visibility_values,
    check_num_keypoints,
    check_invisible_with_coordinates,
    check_keypoints_inside_image,
    check_bbox,
    check_keypoints_inside_bbox,
    check_bbox_inside_image,
    check_area,
    check_area_too_small_for_oks,
    check_iscrowd,
]

#: Keypoint R-CNN rules (``for_training``)
TRAINING_CHECKS: list[Check] = [
    check_training_single_k,
    check_training_has_visible_keypoints,
    check_training_dry_run,
]
