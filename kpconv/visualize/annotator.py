"""The drawing object: style in the constructor, one ``annotate`` method, usable without the CLI.

    from kpconv.visualize import KeypointAnnotator, load_image
    import kpconv

    ds = kpconv.load("fixtures/visualize/dataset.json")
    cats = {c.id: c for c in ds.categories}
    anns = [a for a in ds.annotations if a.image_id == 1]
    picture = KeypointAnnotator(show_names=True).annotate(load_image(path), anns, cats)

Conventions: keypoints with v=2 are filled discs, v=1 hollow rings, v=0 are not drawn (any other
v>0 is a cross: the validator reports it); skeleton edges (1-based, from the COCO category) join
only points with v>0; left/right keypoints are blue/orange shades (matched per flip pair), centre
points green; a missing bbox is derived from the visible points and drawn dashed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from ..finding import Finding, Severity
from ..geometry import bbox_from_points
from ..model import Category
from ..spec import CategorySpec
from . import drawing as d
from .imagefile import to_bgr8
from .palette import RGB, KeypointColours, keypoint_colours
from .targets import parse_target

CategoryLike = Category | CategorySpec | Mapping[str, Any]

#: RGB per severity for finding marks and their text
SEVERITY_COLOURS: dict[Severity, RGB] = {
    Severity.ERROR: (255, 40, 200),
    Severity.WARNING: (255, 225, 0),
    Severity.INFO: (235, 235, 235),
}
_DARK: RGB = (20, 20, 20)


@dataclass(frozen=True)
class _Cat:
    name: str
    keypoints: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...] | None


@dataclass
class _Instance:
    id: Any
    category_id: Any
    kp: np.ndarray  # (n, 3) float64: complete triples only
    bbox: tuple[float, float, float, float] | None  # x0, y0, x1, y1 as given
    box: tuple[float, float, float, float] | None  # what is drawn (given or derived)
    derived: bool


@dataclass(frozen=True)
class Metrics:
    """Pixel sizes for one image: they scale with its larger side unless the style fixes them."""

    radius: float
    thickness: int
    font_scale: float
    font_thickness: int
    dash: float


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def keypoint_array(keypoints: Any) -> np.ndarray:
    """The complete ``(x, y, v)`` triples of a flat COCO keypoint list as an (n, 3) float array.

    Tolerant on purpose (this draws broken files): a trailing partial triple is dropped and a
    triple with a non-number or non-finite value gets v=0 so it is not drawn.
    """
    if not isinstance(keypoints, list | tuple):
        return np.zeros((0, 3), np.float64)
    n = len(keypoints) // 3
    # Fast path: all numbers (the normal case). Strings or None give a non-numeric dtype.
    arr = np.asarray(keypoints[: 3 * n])
    if arr.dtype.kind in "iuf":
        out = arr.astype(np.float64).reshape(n, 3)
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():
            out[bad] = 0.0
        return out
    out = np.zeros((n, 3), np.float64)
    for i in range(n):
        x, y, v = (_number(keypoints[3 * i + j]) for j in range(3))
        if x is None or y is None or v is None:
            continue
        out[i] = (x, y, v)
    return out


def given_box(bbox: Any) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) from a COCO ``[x, y, w, h]`` when it is 4 finite numbers, else None."""
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        return None
    nums = [_number(v) for v in bbox]
    if any(v is None for v in nums):
        return None
    x, y, w, h = (float(v) for v in nums)  # type: ignore[arg-type]
    return x, y, x + w, y + h


def display_box(
    bbox: Any, kp: np.ndarray, width: float | None, height: float | None
) -> tuple[tuple[float, float, float, float] | None, bool]:
    """The box to draw and whether it was derived from the visible points (the annotation has none).

    Derived like the converters and ``validate --fix`` derive it
    (:func:`kpconv.geometry.bbox_from_points`, 10 % margin), so the picture shows what a fix writes.
    """
    box = given_box(bbox)
    if box is not None:
        return box, False
    vis = kp[kp[:, 2] > 0] if len(kp) else kp
    if len(vis) == 0:
        return None, False
    x, y, w, h = bbox_from_points(vis[:, 0].tolist(), vis[:, 1].tolist(), width, height)
    return (x, y, x + w, y + h), True


class KeypointAnnotator:
    """Draws keypoints, skeletons, boxes, labels and finding marks onto an image array.

    Style is fixed here; sizes left as None scale with each image's larger side (a 640-px image
    gets 4-px points and 2-px lines, a 64-px one 2-px points and 1-px lines).

    ``channel_order`` says how the arrays given to :meth:`annotate` are laid out: ``"bgr"``
    (OpenCV, the default) or ``"rgb"`` (Pillow, matplotlib).
    """

    def __init__(
        self,
        *,
        radius: float | None = None,
        thickness: int | None = None,
        font_scale: float | None = None,
        show_boxes: bool = True,
        show_labels: bool = True,
        show_names: bool = False,
        show_skeleton: bool = True,
        box_colour: RGB = (225, 225, 225),
        panel_alpha: float = 0.65,
        channel_order: Literal["bgr", "rgb"] = "bgr",
    ) -> None:
        if channel_order not in ("bgr", "rgb"):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', found {channel_order!r}")
        self.radius = radius
        self.thickness = thickness
        self.font_scale = font_scale
        self.show_boxes = show_boxes
        self.show_labels = show_labels
        self.show_names = show_names
        self.show_skeleton = show_skeleton
        self.box_colour = box_colour
        self.panel_alpha = panel_alpha
        self.channel_order = channel_order
        self._colour_cache: dict[tuple[Any, ...], KeypointColours] = {}
        self._resolver_cache: dict[int, tuple[Any, Any]] = {}

    # -- public --------------------------------------------------------------------------------
    def metrics(self, height: int, width: int) -> Metrics:
        """The pixel sizes used for an image of this size."""
        base = max(height, width, 1)
        radius = self.radius if self.radius is not None else max(2.0, base * 0.0065)
        thickness = self.thickness if self.thickness is not None else max(1, round(base / 400))
        font_scale = self.font_scale if self.font_scale is not None else max(0.28, base / 1400)
        return Metrics(
            radius=float(radius),
            thickness=int(thickness),
            font_scale=float(font_scale),
            font_thickness=1 if font_scale < 0.7 else 2,
            dash=max(3.0, base / 80),
        )

    def annotate(
        self,
        image: np.ndarray,
        annotations: Iterable[Any],
        category: CategoryLike | Mapping[int, CategoryLike] | None,
        *,
        findings: Sequence[Finding] = (),
        copy: bool = True,
    ) -> np.ndarray:
        """Return a copy of ``image`` (as 8-bit 3-channel) with ``annotations`` drawn on it.

        ``annotations``: :class:`kpconv.model.Annotation` objects or plain COCO dicts.
        ``category``: one category used for all of them, or a mapping ``category_id → category``
        (a :class:`~kpconv.model.Category`, a COCO dict or a :class:`~kpconv.spec.CategorySpec`);
        annotations whose category is unknown are drawn without skeleton or names.
        ``findings``: numbered 1.. in this order and listed in a panel at the bottom; a finding
        whose ``annotation_id`` matches an annotation marks the keypoint or box its pointer names.
        ``copy=False`` draws straight onto ``image`` when it already is contiguous 8-bit
        3-channel (saves a copy per image in bulk rendering).
        """
        if not _is_bgr8(image):
            out = to_bgr8(np.asarray(image))
        elif copy or not image.flags.c_contiguous:
            out = np.array(image, copy=True, order="C")
        else:
            out = image
        h, w = out.shape[:2]
        m = self.metrics(h, w)
        resolve = self._resolver(category)
        insts: list[tuple[_Instance, _Cat | None]] = []
        for ann in annotations:
            kp = keypoint_array(_get(ann, "keypoints"))
            box, derived = display_box(_get(ann, "bbox"), kp, w, h)
            inst = _Instance(
                _get(ann, "id"),
                _get(ann, "category_id"),
                kp,
                given_box(_get(ann, "bbox")),
                box,
                derived,
            )
            insts.append((inst, resolve(inst.category_id)))
        if self.show_boxes:
            for inst, _ in insts:
                if inst.box is not None:
                    d.rectangle(
                        out, inst.box, self._c(self.box_colour), m.thickness, inst.derived, m.dash
                    )
        # Labels go under the skeleton and points: the points are what is being checked.
        if self.show_labels:
            for inst, cat in insts:
                self._draw_label(out, inst, cat, m)
        for inst, cat in insts:
            colours = self._colours(cat, len(inst.kp))
            if self.show_skeleton and cat is not None:
                self._draw_skeleton(out, inst, cat, colours, m)
            self._draw_points(out, inst, colours, m)
        if self.show_names:
            for inst, cat in insts:
                if cat is not None:
                    self._draw_names(out, inst, cat, self._colours(cat, len(inst.kp)), m)
        if findings:
            self._draw_finding_marks(out, insts, findings, m)
            self._draw_panel(out, findings, m, [i for i, _ in insts])
        return out

    # -- pieces --------------------------------------------------------------------------------
    def _resolver(self, category: Any) -> Any:
        """category_id → _Cat, converted once per category object (bulk rendering reuses them)."""
        key = id(category)
        hit = self._resolver_cache.get(key)
        if hit is not None and hit[0] is category:
            return hit[1]
        resolve = _category_resolver(category)
        if len(self._resolver_cache) > 64:
            self._resolver_cache.clear()
        # The object is kept alive with its entry, so its id cannot be reused by another.
        self._resolver_cache[key] = (category, resolve)
        return resolve

    def _c(self, rgb: RGB) -> tuple[int, int, int]:
        return (rgb[2], rgb[1], rgb[0]) if self.channel_order == "bgr" else rgb

    def _colours(self, cat: _Cat | None, n: int) -> KeypointColours:
        key = (cat, n)
        found = self._colour_cache.get(key)
        if found is None:
            names = cat.keypoints if cat is not None else ()
            pairs = cat.flip_pairs if cat is not None else None
            found = keypoint_colours(names, n, pairs)
            self._colour_cache[key] = found
        return found

    def _draw_skeleton(
        self, img: np.ndarray, inst: _Instance, cat: _Cat, colours: KeypointColours, m: Metrics
    ) -> None:
        n = len(inst.kp)
        vis = (inst.kp[:, 2] > 0).tolist()
        pts = d.fixed_points(inst.kp[:, :2])
        for a, b in cat.skeleton:
            if not (1 <= a <= n and 1 <= b <= n) or a == b:
                continue
            if vis[a - 1] and vis[b - 1]:
                colour = self._c(colours.edge_colour(a - 1, b - 1))
                cv2.line(img, pts[a - 1], pts[b - 1], colour, m.thickness, d.AA, d.SHIFT)

    def _draw_points(
        self, img: np.ndarray, inst: _Instance, colours: KeypointColours, m: Metrics
    ) -> None:
        r = m.radius
        dark = self._c(_DARK)
        ring = max(1, round(r * 0.45))
        rf, rf1 = d.fx(r), d.fx(r + 1)
        pts = d.fixed_points(inst.kp[:, :2])
        for i, (x, y, v) in enumerate(inst.kp.tolist()):
            if v <= 0:
                continue
            colour = self._c(colours.colours[i])
            if v == 2:
                cv2.circle(img, pts[i], rf1, dark, -1, d.AA, d.SHIFT)
                cv2.circle(img, pts[i], rf, colour, -1, d.AA, d.SHIFT)
            elif v == 1:
                cv2.circle(img, pts[i], rf, dark, ring + 2, d.AA, d.SHIFT)
                cv2.circle(img, pts[i], rf, colour, ring, d.AA, d.SHIFT)
            else:  # not a COCO visibility: a cross, so it stands out (the validator reports it)
                for sx in (-1, 1):
                    d.line(img, (x - r, y - sx * r), (x + r, y + sx * r), dark, ring + 2)
                    d.line(img, (x - r, y - sx * r), (x + r, y + sx * r), colour, ring)

    def _label_anchor(self, inst: _Instance, m: Metrics) -> tuple[float, float] | None:
        if inst.box is not None:
            return inst.box[0], inst.box[1]
        vis = inst.kp[inst.kp[:, 2] > 0] if len(inst.kp) else inst.kp
        if len(vis):
            return float(vis[:, 0].min()), float(vis[:, 1].min())
        return None

    def _draw_label(self, img: np.ndarray, inst: _Instance, cat: _Cat | None, m: Metrics) -> None:
        anchor = self._label_anchor(inst, m)
        if anchor is None:
            return
        name = cat.name if cat is not None else f"category {inst.category_id}?"
        text = f"{name} #{inst.id}"
        _, th, base = d.text_size(text, m.font_scale, m.font_thickness)
        bh = th + base + 2 * max(1, round(th * 0.25))
        x, y = anchor
        # Above the box when there is room, else just inside its top edge.
        y = y - bh if y - bh >= 0 else y + 1
        d.label(
            img,
            text,
            x,
            y,
            m.font_scale,
            m.font_thickness,
            self._c((255, 255, 255)),
            self._c(_DARK),
        )

    def _draw_names(
        self, img: np.ndarray, inst: _Instance, cat: _Cat, colours: KeypointColours, m: Metrics
    ) -> None:
        scale = m.font_scale * 0.85
        off = int(round(m.radius + 2))
        for i, (x, y, v) in enumerate(inst.kp.tolist()):
            if v <= 0 or i >= len(cat.keypoints):
                continue
            org = (int(round(x)) + off, int(round(y)) - off)
            d.put_text(
                img,
                cat.keypoints[i],
                org,
                scale,
                self._c(colours.colours[i]),
                1,
                outline=self._c(_DARK),
            )

    def _draw_finding_marks(
        self,
        img: np.ndarray,
        insts: list[tuple[_Instance, _Cat | None]],
        findings: Sequence[Finding],
        m: Metrics,
    ) -> None:
        h, w = img.shape[:2]
        # Group by what is marked, so two findings on one keypoint share a mark tagged "1,3".
        marks: dict[tuple[int, str, int], list[tuple[int, Finding]]] = {}
        for number, f in enumerate(findings, start=1):
            if f.annotation_id is None:
                continue
            target = parse_target(f.pointer)
            for pos, (inst, _) in enumerate(insts):
                if inst.id != f.annotation_id:
                    continue
                if (
                    target.kind == "keypoint"
                    and target.keypoint is not None
                    and target.keypoint < len(inst.kp)
                ):
                    key = (pos, "keypoint", target.keypoint)
                else:  # the box, or the annotation as a whole: one mark around its box
                    key = (pos, "box", 0)
                marks.setdefault(key, []).append((number, f))
        t = m.thickness + 1
        for (pos, kind, k), items in marks.items():
            inst = insts[pos][0]
            worst = min((f.severity for _, f in items), key=lambda s: s.rank)
            colour = self._c(SEVERITY_COLOURS[worst])
            tag = ",".join(str(n) for n, _ in items)
            if kind == "keypoint":
                x, y = (float(v) for v in inst.kp[k, :2])
                # A point outside the picture is marked at the border, where the eye can find it.
                x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
                s = m.radius * 2 + 2
                d.rectangle(img, (x - s, y - s, x + s, y + s), colour, t)
                tx, ty = x + s + 1, y - s - 1
            else:
                about_bbox = any(parse_target(f.pointer).kind == "bbox" for _, f in items)
                box = inst.bbox if about_bbox and inst.bbox is not None else inst.box
                if box is None:
                    continue
                x0, y0, x1, y1 = box
                x0, x1 = min(max(x0, -t), w - 1.0 + t), min(max(x1, -t), w - 1.0 + t)
                y0, y1 = min(max(y0, -t), h - 1.0 + t), min(max(y1, -t), h - 1.0 + t)
                d.rectangle(img, (x0, y0, x1, y1), colour, t)
                tx, ty = x1 + 2, y0
            d.label(img, tag, tx, ty, m.font_scale, m.font_thickness, colour, self._c(_DARK), 0.75)

    def _draw_panel(
        self, img: np.ndarray, findings: Sequence[Finding], m: Metrics, insts: list[_Instance]
    ) -> None:
        h, w = img.shape[:2]
        scale, thick = m.font_scale, m.font_thickness
        _, th, base = d.text_size("Ag", scale, thick)
        line_h = th + base + 2
        max_lines = max(1, int(h * 0.45) // line_h)
        lines: list[tuple[str, RGB]] = []
        for number, f in enumerate(findings, start=1):
            lines.append(
                (
                    f"{number} {f.severity.value[0].upper()} {f.code}: {f.message}",
                    SEVERITY_COLOURS[f.severity],
                )
            )
        if len(lines) > max_lines:
            extra = len(lines) - (max_lines - 1)
            lines = lines[: max_lines - 1] + [
                (f"+{extra} more (see the report)", SEVERITY_COLOURS[Severity.INFO])
            ]
        panel_h = len(lines) * line_h + 2
        # At the bottom, unless the top band hides less of the annotations being reported on.
        top = h - panel_h
        if _band_overlap(insts, 0, panel_h) < _band_overlap(insts, top, h):
            top = 0
        d.shade_rect(img, 0, top, w, top + panel_h, self._c(_DARK), self.panel_alpha)
        pad = 2
        for i, (text, colour) in enumerate(lines):
            fitted = d.fit_text(text, w - 2 * pad, scale, thick)
            d.put_text(img, fitted, (pad, top + 1 + i * line_h + th), scale, self._c(colour), thick)


def _band_overlap(insts: list[_Instance], y0: float, y1: float) -> float:
    """How much of the instances' boxes (height × width) a horizontal band covers."""
    total = 0.0
    for inst in insts:
        if inst.box is not None:
            bx0, by0, bx1, by1 = inst.box
            total += max(0.0, min(by1, y1) - max(by0, y0)) * max(0.0, bx1 - bx0)
    return total


def _is_bgr8(image: Any) -> bool:
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
    )


def _to_cat(obj: CategoryLike) -> _Cat:
    if isinstance(obj, CategorySpec):
        return _Cat(obj.name, tuple(obj.keypoints), tuple(obj.skeleton), tuple(obj.flip_pairs))
    names = _get(obj, "keypoints") or []
    names = [str(n) for n in names] if isinstance(names, list | tuple) else []
    skeleton: list[tuple[int, int]] = []
    raw = _get(obj, "skeleton") or []
    for pair in raw if isinstance(raw, list | tuple) else []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            a, b = _number(pair[0]), _number(pair[1])
            if a is not None and b is not None and a == int(a) and b == int(b):
                skeleton.append((int(a), int(b)))
    return _Cat(str(_get(obj, "name", "?")), tuple(names), tuple(skeleton), None)


def _category_resolver(category: Any) -> Any:
    """A function category_id → _Cat | None for one category or a mapping of them."""
    if category is None:
        return lambda _cid: None
    if isinstance(category, Category | CategorySpec) or (
        isinstance(category, Mapping) and ("keypoints" in category or "name" in category)
    ):
        one = _to_cat(category)
        return lambda _cid: one
    converted: dict[Any, _Cat] = {}
    for cid, cat in category.items():
        converted.setdefault(cid, _to_cat(cat))
    return converted.get
