"""The numbers a validation summary shows: counts, per-keypoint visibility, instances per image."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .context import Context


def visibility_table(ctx: Context) -> dict[str, dict[str, list[int]]]:
    """{category name: {keypoint name: [n_v0, n_v1, n_v2]}} over well-formed annotations."""
    out: dict[str, dict[str, list[int]]] = {}
    for cid, ci in sorted(ctx.category_by_id.items()):
        cat = ctx.categories[ci]
        names = cat.get("keypoints")
        if not isinstance(names, list) or not names:
            continue
        k = len(names)
        blk = next((b for b in ctx.blocks if b.k == k), None)
        if blk is None:
            continue
        sel = ctx.ann.category_id[blk.rows] == cid
        if not sel.any():
            continue
        v = blk.v[sel]
        counts = [(v == level).sum(axis=0).astype(int).tolist() for level in (0, 1, 2)]
        label = str(cat.get("name", cid))
        if label in out:
            label = f"{label} (id {cid})"
        out[label] = {str(names[j]): [counts[0][j], counts[1][j], counts[2][j]] for j in range(k)}
    return out


def instances_per_image(ctx: Context) -> dict[str, int]:
    """{number of annotations: number of images with that many} (as string keys for JSON)."""
    per = Counter(ctx.ann.image_id.tolist())
    hist = Counter(per.get(img_id, 0) for img_id in ctx.image_by_id)
    return {str(k): hist[k] for k in sorted(hist)}


def summarize(ctx: Context) -> dict[str, Any]:
    codes = Counter(f.code for f in ctx.findings)
    for code, n in ctx._overflow.items():
        codes[code] += n
    return {
        "images": len(ctx.images),
        "annotations": len(ctx.annotations),
        "categories": len(ctx.categories),
        "keypoints_visible": int(sum(int((b.v > 0).sum()) for b in ctx.blocks)),
        "codes": dict(sorted(codes.items())),
        "visibility": visibility_table(ctx),
        "instances_per_image": instances_per_image(ctx),
    }
