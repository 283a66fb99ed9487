"""``validate --fix``: repair mechanical problems only, and list every change.

What is repaired: numeric strings in ids and image sizes (and integral float sizes); 0-based
skeletons (shifted by one); coordinates of v=0 points (zeroed); ``num_keypoints`` (recounted);
a missing bbox (derived from the visible points by the box rule of :mod:`kpconv.geometry`); a
missing ``area`` (polygon area, else bbox w×h); a missing ``iscrowd`` (0); annotation ids when
one of them is 0 (renumbered 1..N in file order: COCOeval takes id 0 as "unmatched"). Anything that needs a human decision (unknown
ids, wrong lengths, bad visibility values) is left for the report.
"""

from __future__ import annotations

from typing import Any

from ..finding import Finding, info, pointer
from ..geometry import bbox_from_points, polygon_area, round_px
from .context import is_int, is_number, numeric_string


def _change(code: str, ptr: str, old: Any, new: Any, **ids: Any) -> Finding:
    return info(f"fix.{code}", f"{old!r} -> {new!r}", ptr, **ids)


def _as_int(v: Any) -> int | None:
    if is_int(v):
        return None
    if type(v) is float and v.is_integer():
        return int(v)
    num = numeric_string(v)
    if num is not None and num.is_integer():
        return int(num)
    return None


def fix_document(doc: dict[str, Any]) -> list[Finding]:
    """Repair ``doc`` in place (the caller's copy, never the file) and return the changes."""
    changes: list[Finding] = []
    def section(key: str) -> list[Any]:
        value = doc.get(key)
        return value if isinstance(value, list) else []

    images, anns, cats = section("images"), section("annotations"), section("categories")

    # numeric strings / integral floats
    for key, recs, fields in (
        ("images", images, ("id", "width", "height")),
        ("categories", cats, ("id",)),
        ("annotations", anns, ("id", "image_id", "category_id")),
    ):
        for i, rec in enumerate(recs):
            if type(rec) is not dict:
                continue
            for f in fields:
                if f in rec:
                    new = _as_int(rec[f])
                    if new is not None:
                        changes.append(_change("coerce_number", pointer(key, i, f), rec[f], new))
                        rec[f] = new

    # annotation id 0 is COCOeval's "unmatched": annotation ids renumbered 1..N in file order
    if any(type(a) is dict and is_int(a.get("id")) and a["id"] == 0 for a in anns):
        n = 0
        for i, a in enumerate(anns):
            if type(a) is not dict:
                continue
            n += 1
            if a.get("id") != n:
                changes.append(_change("annotation_ids_renumbered", pointer("annotations", i, "id"),
                                       a.get("id"), n, annotation_id=n))
                a["id"] = n

    # 0-based skeletons
    for i, cat in enumerate(cats):
        if type(cat) is not dict:
            continue
        sk = cat.get("skeleton")
        if not isinstance(sk, list) or not sk:
            continue
        if not all(isinstance(p, list) and len(p) == 2 and all(is_int(x) for x in p) for p in sk):
            continue
        flat = [x for p in sk for x in p]
        k = len(cat["keypoints"]) if isinstance(cat.get("keypoints"), list) else 0
        if min(flat) == 0 and (k == 0 or max(flat) <= k - 1):
            new_sk = [[a + 1, b + 1] for a, b in sk]
            changes.append(_change("skeleton_zero_based", pointer("categories", i, "skeleton"), sk, new_sk))
            cat["skeleton"] = new_sk

    sizes: dict[int, tuple[float, float]] = {}
    for img in images:
        if type(img) is dict and is_int(img.get("id")) and is_number(img.get("width")) and is_number(img.get("height")):
            sizes[img["id"]] = (float(img["width"]), float(img["height"]))
    cat_k = {
        c["id"]: len(c["keypoints"])
        for c in cats
        if type(c) is dict and is_int(c.get("id")) and isinstance(c.get("keypoints"), list)
    }

    for i, a in enumerate(anns):
        if type(a) is not dict:
            continue
        ids = {"annotation_id": a.get("id") if is_int(a.get("id")) else None}
        kps = a.get("keypoints")
        k = cat_k.get(a.get("category_id"), 0)  # type: ignore[arg-type]
        good_kps = (
            isinstance(kps, list) and k and len(kps) == 3 * k and all(is_number(x) for x in kps)
            and all(kps[j] in (0, 1, 2) for j in range(2, len(kps), 3))
        )
        visible: list[tuple[float, float]] = []
        if good_kps:
            assert isinstance(kps, list)
            for j in range(0, len(kps), 3):
                if kps[j + 2] == 0 and (kps[j] != 0 or kps[j + 1] != 0):
                    changes.append(_change("invisible_coordinates", pointer("annotations", i, "keypoints", j),
                                           [kps[j], kps[j + 1], kps[j + 2]], [0, 0, 0], **ids))
                    kps[j], kps[j + 1] = 0, 0
                elif kps[j + 2] > 0:
                    visible.append((kps[j], kps[j + 1]))
            if a.get("num_keypoints") != len(visible):
                changes.append(_change("num_keypoints", pointer("annotations", i, "num_keypoints"),
                                       a.get("num_keypoints"), len(visible), **ids))
                a["num_keypoints"] = len(visible)
        if a.get("bbox") is None and visible:
            w, h = sizes.get(a.get("image_id"), (None, None))  # type: ignore[arg-type]
            box = bbox_from_points([x for x, _ in visible], [y for _, y in visible], w, h)
            changes.append(_change("bbox_derived", pointer("annotations", i, "bbox"), None, box, **ids))
            a["bbox"] = box
        if a.get("area") is None:
            area = polygon_area(a.get("segmentation"))
            b = a.get("bbox")
            if area is None and isinstance(b, list) and len(b) == 4 and all(is_number(x) for x in b):
                area = float(b[2]) * float(b[3])
            if area is not None:
                area = round_px(area)
                changes.append(_change("area_derived", pointer("annotations", i, "area"), None, area, **ids))
                a["area"] = area
        if a.get("iscrowd") is None:
            changes.append(_change("iscrowd_default", pointer("annotations", i, "iscrowd"), a.get("iscrowd"), 0, **ids))
            a["iscrowd"] = 0
    return changes
