"""The report's dataset charts: numbers computed with numpy, drawn as small inline SVG.

Each chart is one small function writing plain SVG (bars with a title per bar for the exact
number, axis labels as text), so the page needs no plotting library, no script and no network.
Heat maps are tiny PNGs (one pixel per bin, scaled up by the browser) so a 17-keypoint category
stays a few kilobytes. :func:`summary_svg` puts the visibility and instances charts in one
standalone SVG file (``kpconv visualize``'s ``summary.svg``): one chart code for both commands.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import cv2
import numpy as np

from .dataset import ReportDataset, field_of

#: COCO's object size buckets (``area`` in px², as pycocotools' COCOeval counts them)
SIZE_BUCKETS: tuple[tuple[str, float], ...] = (("small", 32.0**2), ("medium", 96.0**2), ("large", float("inf")))
#: bins per side of a keypoint heat map
HEAT_BINS = 24
_V_COLOURS = ("#b8b8b8", "#f0a030", "#2a8a4a")  # v=0 grey, v=1 orange (hollow), v=2 green


def box_sizes(ds: ReportDataset) -> dict[str, int]:
    """Annotations per COCO size bucket by their ``area`` (the box's w×h when area is absent)."""
    counts = {name: 0 for name, _ in SIZE_BUCKETS}
    for ann in ds.annotations:
        area = field_of(ann, "area")
        if not isinstance(area, int | float) or isinstance(area, bool):
            box = field_of(ann, "bbox")
            if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box)):
                continue
            area = float(box[2]) * float(box[3])
        for name, limit in SIZE_BUCKETS:
            if area < limit:
                counts[name] += 1
                break
    return counts


def keypoint_heat(ds: ReportDataset) -> dict[str, tuple[list[str], np.ndarray]]:
    """{category: (keypoint names, (K, bins, bins) counts)} of v>0 points normalised to their box."""
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    kl = ds.keypoints
    if kl is None:
        return out
    by_cat: dict[Any, list[int]] = {}
    boxes_of: list[Any] = []
    for i, ann in enumerate(ds.annotations):
        box = field_of(ann, "bbox")
        boxes_of.append(box)
        if isinstance(box, list) and len(box) == 4:
            by_cat.setdefault(field_of(ann, "category_id"), []).append(i)
    for cat in ds.categories:
        names = cat.get("keypoints")
        found = by_cat.get(cat.get("id"))
        if not isinstance(names, list) or not names or not found:
            continue
        k = len(names)
        rows = np.asarray(found, dtype=np.int64)
        rows = rows[kl.lengths[rows] == 3 * k]
        if not len(rows):
            continue
        try:  # a string or null in a box: no heat map
            boxes = np.array([boxes_of[i] for i in rows.tolist()], np.float64)
        except (TypeError, ValueError):
            continue
        kps = kl.values[kl.starts[rows][:, None] + np.arange(3 * k)]
        kps, boxes = kps.reshape(-1, k, 3), boxes.reshape(-1, 1, 4)
        with np.errstate(invalid="ignore", divide="ignore"):
            u = (kps[:, :, 0] - boxes[:, :, 0]) / boxes[:, :, 2]
            v = (kps[:, :, 1] - boxes[:, :, 1]) / boxes[:, :, 3]
        ok = (kps[:, :, 2] > 0) & np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
        ui = np.minimum((u * HEAT_BINS).astype(np.int64, copy=False), HEAT_BINS - 1, where=ok, out=np.zeros_like(ok, np.int64))
        vi = np.minimum((v * HEAT_BINS).astype(np.int64, copy=False), HEAT_BINS - 1, where=ok, out=np.zeros_like(ok, np.int64))
        joint = np.broadcast_to(np.arange(k), ok.shape)
        flat = (joint[ok] * HEAT_BINS + vi[ok]) * HEAT_BINS + ui[ok]
        grid = np.bincount(flat, minlength=k * HEAT_BINS * HEAT_BINS).reshape(k, HEAT_BINS, HEAT_BINS)
        label = str(cat.get("name", cat.get("id")))
        out[label if label not in out else f"{label} (id {cat.get('id')})"] = ([str(n) for n in names], grid)
    return out


# -- drawing -----------------------------------------------------------------------------------
#: one chart before it is wrapped in its own ``<svg>``: (width, height, SVG elements)
_Parts = tuple[int, int, list[str]]


def _svg(width: int, height: int, body: Sequence[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>"
    )


def _bar_parts(counts: Mapping[str, int], x_label: str, colour: str) -> _Parts:
    items = list(counts.items())
    bar, gap, top, bottom, left = 34, 10, 22, 40, 8
    width = max(160, left * 2 + len(items) * (bar + gap))
    height = 200
    plot = height - top - bottom
    peak = max((n for _, n in items), default=0) or 1
    body = []
    for i, (key, n) in enumerate(items):
        h = round(plot * n / peak)
        x = left + i * (bar + gap)
        y = top + plot - h
        body.append(
            f'<g><title>{escape(str(key))}: {n}</title><rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{colour}"/>'
            f'<text x="{x + bar / 2}" y="{y - 4}" text-anchor="middle" font-size="10">{n}</text>'
            f'<text x="{x + bar / 2}" y="{top + plot + 14}" text-anchor="middle" font-size="10">{escape(str(key))}</text></g>'
        )
    body.append(f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle" font-size="11">{escape(x_label)}</text>')
    return width, height, body


def bar_chart(counts: Mapping[str, int], title: str, x_label: str, colour: str = "#3a6ea5") -> str:
    """Vertical bars, one per key (in the given order), the count above each bar."""
    return _svg(*_bar_parts(counts, x_label, colour), title)


def _visibility_parts(table: Mapping[str, Sequence[int]], show_counts: bool = False) -> _Parts:
    rows = list(table.items())
    label_w, bar_w, row_h, top = 130, 260, 16, 24
    # the right column: each row's total, or (show_counts) its v=0 / v=1 / v=2 counts
    width, height = label_w + bar_w + (170 if show_counts else 70), top + row_h * len(rows) + 8
    body = []
    for j, (legend, colour) in enumerate(zip(("v=0", "v=1", "v=2"), _V_COLOURS, strict=True)):
        body.append(f'<rect x="{label_w + j * 60}" y="4" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{label_w + j * 60 + 14}" y="13" font-size="10">{legend}</text>')
        if show_counts:
            body.append(f'<text x="{label_w + bar_w + 50 * (j + 1)}" y="13" text-anchor="end" '
                        f'font-size="10" fill="#666">{legend}</text>')
    for i, (name, counts) in enumerate(rows):
        y = top + i * row_h
        total = sum(counts) or 1
        x = float(label_w)
        body.append(f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end" font-size="10">{escape(name)}</text>')
        for level, (n, colour) in enumerate(zip(counts, _V_COLOURS, strict=False)):
            part = bar_w * n / total
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{part:.1f}" height="{row_h - 3}" fill="{colour}">'
                        f'<title>{escape(name)} v={level}: {n}</title></rect>')
            x += part
        if show_counts:
            body.extend(f'<text x="{label_w + bar_w + 50 * (level + 1)}" y="{y + 11}" text-anchor="end" '
                        f'font-size="10">{n}</text>' for level, n in enumerate(counts))
        else:
            body.append(f'<text x="{label_w + bar_w + 6}" y="{y + 11}" font-size="10">{sum(counts)}</text>')
    return width, height, body


def visibility_chart(table: Mapping[str, Sequence[int]], title: str) -> str:
    """One horizontal 100 % bar per keypoint split into v=0 / v=1 / v=2."""
    return _svg(*_visibility_parts(table), title)


def heat_png(grid: np.ndarray) -> str:
    """A bins×bins count grid as a data: URI PNG (inferno colour map, 0 black)."""
    peak = grid.max()
    scaled = np.zeros(grid.shape, np.uint8) if peak == 0 else np.sqrt(grid / peak) * 255
    img = cv2.applyColorMap(scaled.astype(np.uint8), cv2.COLORMAP_INFERNO)
    ok, buf = cv2.imencode(".png", img)
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""


def _pooled_instances(per_image: Mapping[str, int]) -> dict[str, int]:
    pooled: Counter[str] = Counter()
    for key, n in per_image.items():
        k = int(key) if str(key).isdigit() else 0
        pooled[str(k) if k < 10 else "10+"] += n
    order = [str(k) for k in range(10)] + ["10+"]
    return {k: pooled[k] for k in order if k in pooled}


def instances_chart(per_image: Mapping[str, int]) -> str:
    """Images by their number of instances (the validator's ``instances_per_image``), 10+ pooled."""
    return bar_chart(_pooled_instances(per_image), "images by instances per image", "instances per image")


# -- the standalone summary (``kpconv visualize``'s summary.svg) ----------------------------------
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def summary_svg(summary: Mapping[str, Any], title: str = "dataset summary") -> str:
    """A standalone SVG document of a validation summary: the report's visibility chart per
    category (with each keypoint's v=0 / v=1 / v=2 counts written out) and its instances per
    image chart, on a white background, for any browser or image viewer.

    ``summary`` is :attr:`kpconv.finding.Report.summary` (the validator's numbers, the ones the
    report's page charts), so the file, the report and ``kpconv validate`` agree.
    """
    margin, gap = 16, 14
    visibility: Mapping[str, Mapping[str, Sequence[int]]] = summary.get("visibility") or {}
    per_image: Mapping[str, int] = summary.get("instances_per_image") or {}
    body: list[str] = []
    width = 0
    y = margin + 18
    body.append(f'<text x="{margin}" y="{y}" font-size="16" font-weight="bold">{escape(title)}</text>')
    y += 18
    body.append(f'<text x="{margin}" y="{y}" font-size="11" fill="#666">v=0 not labelled, v=1 labelled but '
                "hidden, v=2 visible; the counts kpconv validate reports</text>")
    y += gap

    def chart(heading: str, parts: _Parts) -> None:
        nonlocal y, width
        w, h, elements = parts
        y += 18
        body.append(f'<text x="{margin}" y="{y}" font-size="13" font-weight="bold">{escape(heading)}</text>')
        y += 4
        body.append(f'<g transform="translate({margin},{y})">' + "".join(elements) + "</g>")
        y += h + gap
        width = max(width, w)

    for cat, table in visibility.items():
        first = next(iter(table.values()), [])
        chart(f"keypoint visibility: {cat} ({sum(first)} instances)", _visibility_parts(table, show_counts=True))
    if not visibility:
        y += 18
        body.append(f'<text x="{margin}" y="{y}" font-size="12" fill="#666">no keypoint annotations to count</text>')
        y += gap
    if per_image:
        chart("images by number of instances", _bar_parts(_pooled_instances(per_image), "instances per image", "#3a6ea5"))
    else:
        y += 18
        body.append(f'<text x="{margin}" y="{y}" font-size="12" fill="#666">no images</text>')
        y += gap
    width = max(width, 560) + 2 * margin
    height = y + margin - gap
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + _svg(width, height, [f'<rect width="100%" height="100%" fill="#fff"/><g font-family="{escape(_FONT)}" '
                               f'fill="#222">', *body, "</g>"], title)
        + "\n"
    )
