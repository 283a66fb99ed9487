"""Anti-aliased drawing primitives on BGR/RGB uint8 arrays (sub-pixel positions, dashed lines, text).

Points, skeleton edges and text use ``cv2.LINE_AA`` with a fixed-point ``shift`` so a point at
x=10.5 is drawn at 10.5, not rounded; coordinates are clamped first so a keypoint at 1e30 cannot
overflow OpenCV's int32 arithmetic. Boxes are axis-aligned, where anti-aliasing only blurs the
edge (and costs 5x the time of a plain rectangle): they are drawn on whole pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

SHIFT = 4
_ONE = 1 << SHIFT
_LIMIT = 1.0e6
FONT = cv2.FONT_HERSHEY_SIMPLEX
AA = cv2.LINE_AA

Colour = tuple[int, int, int]


def fx(v: float) -> int:
    """A coordinate in OpenCV fixed point (``SHIFT`` fractional bits), clamped to a safe range."""
    if not math.isfinite(v):
        v = 0.0
    return int(round(min(max(v, -_LIMIT), _LIMIT) * _ONE))


def fpt(x: float, y: float) -> tuple[int, int]:
    return fx(x), fx(y)


def fixed_points(xy: np.ndarray) -> list[tuple[int, int]]:
    """Many (x, y) rows in fixed point at once (finite values assumed, as keypoint arrays are)."""
    fixed = np.round(np.clip(xy, -_LIMIT, _LIMIT) * _ONE).astype(np.int64)
    return [(int(a), int(b)) for a, b in fixed.tolist()]


def ascii_text(text: str) -> str:
    """What Hershey fonts can draw: ASCII only (others become ``?``), no control characters."""
    out = text.encode("ascii", "replace").decode("ascii")
    return "".join(ch if ch.isprintable() else " " for ch in out)


def circle(img: np.ndarray, x: float, y: float, r: float, colour: Colour, thickness: int) -> None:
    cv2.circle(img, fpt(x, y), max(fx(r), 1), colour, thickness, AA, SHIFT)


def line(
    img: np.ndarray, p: tuple[float, float], q: tuple[float, float], colour: Colour, thickness: int
) -> None:
    cv2.line(img, fpt(*p), fpt(*q), colour, thickness, AA, SHIFT)


def _px(v: float) -> int:
    if not math.isfinite(v):
        return 0
    return int(round(min(max(v, -_LIMIT), _LIMIT)))


def rectangle(
    img: np.ndarray,
    box: Sequence[float],
    colour: Colour,
    thickness: int,
    dashed: bool = False,
    dash: float = 6.0,
) -> None:
    """``box`` is (x0, y0, x1, y1) on whole pixels; ``dashed``: dashes ``dash`` px long, equal gaps."""
    x0, y0, x1, y1 = (_px(float(v)) for v in box)
    if not dashed:
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, thickness, cv2.LINE_8)
        return
    h, w = img.shape[:2]
    step = max(1, int(round(dash)))
    # Only the part of an edge inside (a margin around) the image is walked: a box 1e6 px wide
    # must not cost a million dashes.
    lo_x, hi_x = max(min(x0, x1), -step), min(max(x0, x1), w + step)
    lo_y, hi_y = max(min(y0, y1), -step), min(max(y0, y1), h + step)
    for y in (y0, y1):
        if -step <= y <= h + step:
            for s in range(lo_x, hi_x, 2 * step):
                cv2.line(img, (s, y), (min(s + step, hi_x), y), colour, thickness, cv2.LINE_8)
    for x in (x0, x1):
        if -step <= x <= w + step:
            for s in range(lo_y, hi_y, 2 * step):
                cv2.line(img, (x, s), (x, min(s + step, hi_y)), colour, thickness, cv2.LINE_8)


def text_size(text: str, scale: float, thickness: int) -> tuple[int, int, int]:
    """(width, height above baseline, baseline) of ``text`` in pixels."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    return tw, th, base


def fit_text(text: str, max_width: int, scale: float, thickness: int) -> str:
    """``text`` shortened with ``...`` until it fits ``max_width`` pixels."""
    text = ascii_text(text)
    if text_size(text, scale, thickness)[0] <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if text_size(text[:mid] + "...", scale, thickness)[0] <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "..." if lo > 0 else ""


def put_text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    colour: Colour,
    thickness: int,
    outline: Colour | None = None,
) -> None:
    """Text with its baseline-left at ``org``; ``outline`` draws a darker halo first for contrast."""
    text = ascii_text(text)
    if outline is not None:
        cv2.putText(img, text, org, FONT, scale, outline, thickness + 2, AA)
    cv2.putText(img, text, org, FONT, scale, colour, thickness, AA)


def shade_rect(
    img: np.ndarray, x0: int, y0: int, x1: int, y1: int, colour: Colour, alpha: float
) -> None:
    """Blend a filled rectangle over the image (``alpha`` of ``colour``), clipped to the image."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    blended = roi.astype(np.float32) * (1.0 - alpha) + np.asarray(colour, np.float32) * alpha
    roi[...] = np.round(blended).astype(np.uint8)


def label(
    img: np.ndarray,
    text: str,
    x: float,
    y: float,
    scale: float,
    thickness: int,
    fg: Colour,
    bg: Colour,
    alpha: float = 0.7,
) -> None:
    """A text tag on a shaded background, its top-left corner near (x, y), kept inside the image."""
    text = ascii_text(text)
    if not text:
        return
    h, w = img.shape[:2]
    tw, th, base = text_size(text, scale, thickness)
    pad = max(1, int(round(th * 0.25)))
    bw, bh = tw + 2 * pad, th + base + 2 * pad
    x0 = int(round(min(max(x, 0), max(w - bw, 0))))
    y0 = int(round(min(max(y, 0), max(h - bh, 0))))
    shade_rect(img, x0, y0, x0 + bw, y0 + bh, bg, alpha)
    cv2.putText(img, text, (x0 + pad, y0 + pad + th), FONT, scale, fg, thickness, AA)
