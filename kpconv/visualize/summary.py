"""The dataset summary figure: per-keypoint visibility bars and instances per image (cv2 only).

It draws the validator's summary (:func:`kpconv.validation.validate`'s ``summary["visibility"]``
and ``summary["instances_per_image"]``), so the picture and ``kpconv validate`` always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import drawing as d

WIDTH = 900
_NAME_W = 170
_COUNT_W = 190
_ROW = 16
_BG = (255, 255, 255)
_INK = (40, 40, 40)
_FAINT = (150, 150, 150)
#: BGR colours for v=0 / v=1 / v=2 (grey: not labelled; orange: labelled, hidden; green: visible)
V_COLOURS = ((190, 190, 190), (40, 160, 250), (80, 170, 40))
_BAR = (180, 110, 40)
_MAX_BUCKETS = 30
_FONT = 0.42


def _text(
    img: np.ndarray,
    text: str,
    x: int,
    y: int,
    colour: tuple[int, int, int] = _INK,
    scale: float = _FONT,
    right: bool = False,
) -> None:
    if right:
        x -= d.text_size(d.ascii_text(text), scale, 1)[0]
    d.put_text(img, text, (x, y), scale, colour, 1)


def _instance_buckets(per_image: Mapping[str, int]) -> list[tuple[str, int]]:
    """(label, images) for 0..N instances, the tail beyond ``_MAX_BUCKETS`` in one ``N+`` bucket."""
    counts: dict[int, int] = {}
    for k, n in per_image.items():
        try:
            counts[int(k)] = counts.get(int(k), 0) + int(n)
        except (TypeError, ValueError):
            continue
    if not counts:
        return []
    top = max(counts)
    out = [(str(k), counts.get(k, 0)) for k in range(min(top, _MAX_BUCKETS - 1) + 1)]
    if top >= _MAX_BUCKETS:
        tail = sum(n for k, n in counts.items() if k >= _MAX_BUCKETS)
        out.append((f"{_MAX_BUCKETS}+", tail))
    return out


def summary_figure(
    visibility: Mapping[str, Mapping[str, Sequence[int]]],
    instances_per_image: Mapping[str, int],
    title: str = "",
) -> np.ndarray:
    """A BGR figure: one stacked bar (v=0/1/2) per keypoint per category, then a histogram of
    how many instances each image holds."""
    buckets = _instance_buckets(instances_per_image)
    rows = sum(1 + len(table) + 1 for table in visibility.values())
    height = 40 + 24 + rows * _ROW + (200 if buckets else 30) + 20
    img = np.empty((height, WIDTH, 3), np.uint8)
    img[...] = _BG
    y = 24
    _text(img, title or "dataset summary", 10, y, scale=0.55)
    # legend
    lx = WIDTH - 330
    for level, colour in enumerate(V_COLOURS):
        img[y - 10 : y, lx : lx + 14] = colour
        _text(img, ("v=0 not labelled", "v=1 hidden", "v=2 visible")[level], lx + 18, y)
        lx += 110 if level == 0 else 100
    y += 24
    bar_x0, bar_x1 = _NAME_W, WIDTH - _COUNT_W
    if not visibility:
        _text(img, "no keypoint annotations to count", 10, y + 12, _FAINT)
        y += _ROW + 8
    for cat, table in visibility.items():
        first = next(iter(table.values()), [0, 0, 0])
        _text(
            img,
            f"{cat}: keypoint visibility over {sum(int(v) for v in first[:3])} instances",
            10,
            y + 12,
            scale=0.48,
        )
        _text(img, f"{'v=0':>6} {'v=1':>6} {'v=2':>6}", bar_x1 + 8, y + 12, _FAINT)
        y += _ROW + 4
        for name, counts in table.items():
            n0, n1, n2 = (int(c) for c in (list(counts) + [0, 0, 0])[:3])
            total = n0 + n1 + n2
            _text(img, d.fit_text(name, _NAME_W - 16, _FONT, 1), _NAME_W - 8, y + 11, right=True)
            x = bar_x0
            for n, colour in zip((n0, n1, n2), V_COLOURS, strict=True):
                if total and n:
                    w = round((bar_x1 - bar_x0) * n / total)
                    img[y + 2 : y + _ROW - 2, x : min(x + w, bar_x1)] = colour
                    x += w
            if not total:
                img[y + 2 : y + _ROW - 2, bar_x0:bar_x1] = (245, 245, 245)
            _text(img, f"{n0:>6} {n1:>6} {n2:>6}", bar_x1 + 8, y + 11)
            y += _ROW
        y += 8
    y += 10
    if not buckets:
        _text(img, "no images", 10, y + 12, _FAINT)
        return img
    _text(
        img,
        "instances per image (number of images with 0, 1, 2, ... annotations)",
        10,
        y + 12,
        scale=0.48,
    )
    y += 24
    chart_h = 130
    left, right = 40, WIDTH - 20
    slot = (right - left) / len(buckets)
    peak = max(n for _, n in buckets) or 1
    base_y = y + chart_h
    img[base_y : base_y + 1, left:right] = _FAINT
    for i, (label, n) in enumerate(buckets):
        x0 = int(round(left + i * slot + slot * 0.15))
        x1 = int(round(left + (i + 1) * slot - slot * 0.15))
        bh = int(round((chart_h - 18) * n / peak))
        if n:
            img[base_y - bh : base_y, x0 : max(x1, x0 + 1)] = _BAR
        cx = (x0 + x1) // 2
        lw = d.text_size(label, 0.38, 1)[0]
        _text(img, label, cx - lw // 2, base_y + 14, scale=0.38)
        cw = d.text_size(str(n), 0.38, 1)[0]
        _text(img, str(n), cx - cw // 2, base_y - bh - 4, _FAINT, scale=0.38)
    return img
