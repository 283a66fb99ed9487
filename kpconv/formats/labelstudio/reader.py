"""Label Studio JSON / JSON-MIN exports → raw instances for the shared builder.

An export is a list of tasks. A full JSON task is ``{"id", "data": {"image": URL}, "annotations":
[{"id", "completed_by", "result": [...]}], "predictions": [{"model_version", "result": [...]}]}``;
each result region has ``id``, ``type``, ``from_name``, ``to_name``, ``original_width``,
``original_height`` and a ``value`` in **percent** of the original size. A JSON-MIN record is one
annotation flattened: the task's data keys, ``id``, ``annotator``, ``annotation_id`` and, per
control name, a list of region values (with ``original_width``/``height``, and in newer SDKs
``id`` and ``parentID``).

Regions: ``keypointlabels`` (x, y: the point; pixels = value / 100 × original size, never
rounded), ``rectanglelabels`` (x, y, width, height, rotation in degrees clockwise about the
top-left corner: a rotated box becomes the axis-aligned box around it), ``polygonlabels``
(points). ``relation`` results repeat what ``parentID`` says and are not needed; per-region
``choices`` / ``textarea`` / ``labels`` results (same ``id`` as their region) can carry
visibility (``visibility_attribute``). Other region types are ignored (info).

Instances, per annotation, decided by :mod:`kpconv.convert.assembly`:

* a point's ``parentID`` names its rectangle/polygon (followed through other points: a chain
  ending at a point with no parent makes a points-only instance rooted there);
* a point without ``parentID`` goes to the one rectangle/polygon that contains it; inside
  none or several it is reported and dropped; when no region holds any point and nothing is
  linked, the annotation's points are one instance (warning);
* a rectangle/polygon is one instance (its label the category); without points it is skipped.

Sources: ``annotations`` (default) or ``predictions``. A task labelled by several annotators has
several annotations; merging them would count every person twice, so one is taken: the one
``--annotator`` names (``completed_by`` id or e-mail; ``model_version`` for predictions), else the
``ground_truth`` one, else the first that is not cancelled, with a warning naming the others.

Image file names (:func:`file_name`): ``--image-root`` prefix removed when it matches; else
``/data/local-files/?d=PATH`` → PATH; ``/data/upload/N/<8 hex>-name.jpg`` → ``name.jpg`` (Label
Studio's upload prefix removed, unless two uploads would then clash); a URL → the last part of its
path; a path → itself when relative, else its base name. URL escapes are decoded. Sizes come
from ``original_width``/``original_height``; a task without regions has no size there, so its
image is left out unless ``data`` has ``image_width``/``image_height`` (``to-labelstudio`` writes
them, so that images without instances survive a round trip).
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ...convert.assembly import (
    OUTSIDE,
    Container,
    Region,
    box,
    by_group,
    lone_boxes_kept,
    place,
    polygon,
    union_box,
)
from ...convert.builder import ParseResult, RawImage, RawInstance, RawPoint
from ...errors import DataError
from ...finding import Finding, error, info, warning
from ...memory import gc_paused
from ...spec import KeypointSpec, spec_from_mapping
from .config import LabelConfig

#: ``info.description`` of the COCO files ``kpconv from-labelstudio`` writes
DESCRIPTION = "converted by kpconv from-labelstudio"
#: category of points-only instances when nothing else names one
DEFAULT_CATEGORY = "object"

#: values of a visibility choice (case-insensitive) → COCO v (the same words as from-cvat's)
VISIBILITY_WORDS: dict[str, int] = {
    "2": 2, "visible": 2, "true": 2, "yes": 2,
    "1": 1, "occluded": 1, "invisible": 1, "hidden": 1, "false": 1, "no": 1,
    "0": 0, "absent": 0, "outside": 0, "missing": 0, "none": 0, "not_labeled": 0, "not labeled": 0,
}  # fmt: skip

_REGION_TYPES = ("keypointlabels", "rectanglelabels", "polygonlabels")
_ATTRIBUTE_TYPES = ("choices", "textarea", "labels", "taxonomy")
_UPLOAD = re.compile(r"^/data/upload/\d+/(?:(?P<uuid>[0-9a-f]{8})-)?(?P<name>[^/]+)$")
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class LabelStudioOptions:
    """How an export is read: which regions (``source``), whose annotation (``annotator``), the
    config (keypoint order, image keys), the user's spec, a visibility attribute, the category of
    points-only instances and the URL prefix that file names are relative to."""

    source: Literal["annotations", "predictions"] = "annotations"
    annotator: str | None = None
    config: LabelConfig | None = None
    spec: KeypointSpec | None = None
    visibility_attribute: str | None = None
    category: str | None = None
    image_root: str | None = None


@dataclass
class LabelStudioParse:
    """What the builder needs, and the export's own facts for the report."""

    result: ParseResult
    tasks: int = 0
    minimal: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- small helpers


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)  # fmt: skip


def _number(v: Any) -> bool:
    return (type(v) is float and math.isfinite(v)) or type(v) is int


def file_name(url: str, image_root: str | None = None) -> str:
    """The COCO ``file_name`` of a task's image URL or path (the rules in the module docstring)."""
    if image_root and url.startswith(image_root) and len(url) > len(image_root):
        return unquote(url[len(image_root) :]).lstrip("/")
    parts = urlsplit(url)
    if parts.path.rstrip("/").endswith("/data/local-files"):
        d = parse_qs(parts.query).get("d")
        if d:
            return d[0].replace("\\", "/").lstrip("/")
    upload = _UPLOAD.match(parts.path) if not parts.scheme else None
    if upload is not None:
        return unquote(upload.group("name"))
    if parts.scheme and parts.scheme != "file" or url.startswith("/data/"):
        return unquote(posixpath.basename(parts.path)) or url
    path = unquote(parts.path if parts.scheme == "file" else url).replace("\\", "/")
    return (
        posixpath.basename(path) if path.startswith("/") or re.match(r"^[A-Za-z]:/", path) else path
    )


def _upload_prefixed(url: str) -> str | None:
    """The name with Label Studio's 8-hex upload prefix kept, when ``url`` is such an upload."""
    m = _UPLOAD.match(urlsplit(url).path)
    if m is None or not m.group("uuid"):
        return None
    return unquote(f"{m.group('uuid')}-{m.group('name')}")


# --------------------------------------------------------------------------- regions


@dataclass(slots=True)
class _Region:
    """A rectangle or polygon of one annotation, in pixels."""

    id: str | None
    label: str
    region: Region
    source: str
    polygon: list[float] | None = None
    points: list[RawPoint] = field(default_factory=list)


@dataclass(slots=True)
class _Point:
    id: str | None
    parent: str | None
    point: RawPoint


class _Tally:
    """Findings that would repeat for every task: one each, with a count and the first place."""

    def __init__(self) -> None:
        self.counts: dict[str, list[Any]] = {}

    def add(self, code: str, severity: str, message: str, source: str) -> None:
        entry = self.counts.get(code)
        if entry is None:
            self.counts[code] = [severity, message, source, 1]
        else:
            entry[3] += 1

    def findings(self) -> list[Finding]:
        make = {"error": error, "warning": warning, "info": info}
        out = []
        for code, (severity, message, source, n) in self.counts.items():
            more = f" ({n} times; the first here)" if n > 1 else ""
            out.append(make[severity](code, message + more, source=source))
        return out


class _Reader:
    """Reads the tasks of one export."""

    def __init__(self, opts: LabelStudioOptions, where: str) -> None:
        self.opts = opts
        self.where = where
        self.findings: list[Finding] = []
        self.tally = _Tally()
        self.images: list[RawImage] = []
        self.instances: list[RawInstance] = []
        self.urls: list[tuple[RawImage, str, list[RawInstance]]] = []
        self.points = 0
        self.skipped_tasks = 0
        self.pending: list[tuple[RawInstance, list[str]]] = []
        self.pointless: list[tuple[RawInstance, str]] = []  # rectangles/polygons holding no point

    # ------------------------------------------------------------------ tasks

    def task(self, i: int, task: Any) -> None:
        where = f"{self.where}:task[{i}]"
        if type(task) is not dict:
            self.findings.append(error("labelstudio.bad_task", f"a task must be an object, found {_kind(task)}; skipped",
                                       source=where))  # fmt: skip
            return
        key = self.opts.source
        entries = task.get(key)
        if entries is None:
            entries = []
        if type(entries) is not list:
            self.findings.append(error("labelstudio.bad_field", f"{key} must be an array, found {_kind(entries)}; task skipped",
                                       source=f"{where}/{key}"))  # fmt: skip
            return
        chosen = self._choose(where, key, entries)
        url = self._image_url(where, task.get("data"))
        if url is None:
            return
        if chosen is None and self._empty_image(where, task.get("data"), url):
            return
        if chosen is None:
            self.skipped_tasks += 1
            other = "predictions" if key == "annotations" else "annotations"
            hint = f" (it has {other}: --source {other} converts them)" if task.get(other) else ""
            self.tally.add("labelstudio.task_unlabelled", "info",
                           f"task without {key}{hint}: its image is left out (Label Studio gives an image's size "
                           "only with its regions)", where)  # fmt: skip
            return
        j, entry = chosen
        result = entry.get("result")
        if type(result) is not list:
            self.findings.append(error("labelstudio.bad_field", f"result must be an array, found {_kind(result)}; task skipped",
                                       source=f"{where}/{key}[{j}]/result"))  # fmt: skip
            return
        self.annotation(f"{where}/{key}[{j}]", result, url, task.get("data"))

    def _choose(
        self, where: str, key: str, entries: list[Any]
    ) -> tuple[int, dict[str, Any]] | None:
        """The one annotation (or prediction) of a task to convert; see the module docstring."""
        usable = [
            (j, e) for j, e in enumerate(entries) if type(e) is dict and not e.get("was_cancelled")
        ]
        for j, e in enumerate(entries):
            if type(e) is not dict:
                self.findings.append(error("labelstudio.bad_field", f"expected an object, found {_kind(e)}; skipped",
                                           source=f"{where}/{key}[{j}]"))  # fmt: skip
            elif e.get("was_cancelled"):
                self.tally.add("labelstudio.cancelled", "info", "cancelled (skipped) annotation left out",
                               f"{where}/{key}[{j}]")  # fmt: skip
        if not usable:
            return None
        wanted = self.opts.annotator
        if wanted is not None:
            mine = [(j, e) for j, e in usable if wanted in _who(e)]
            if not mine:
                self.tally.add("labelstudio.annotator_absent", "warning",
                               f"no {key[:-1]} by {wanted!r} in this task: task left out", where)  # fmt: skip
                return None
            return mine[0]
        ground = [(j, e) for j, e in usable if e.get("ground_truth") is True]
        j, chosen = (ground or usable)[0]
        others = [o for o in usable if o[0] != j]
        if others:
            names = ", ".join(f"{key}[{o}] ({_label_of(e)})" for o, e in others)
            why = "the ground-truth one" if ground else "the first"
            self.findings.append(warning(
                "labelstudio.several_annotations",
                f"{len(usable)} {key} on this task: {why} ({key}[{j}], {_label_of(chosen)}) is converted, not "
                f"{names}; merging them would count every object twice (choose with --annotator)",
                source=where,
            ))  # fmt: skip
        return j, chosen

    def _empty_image(self, where: str, data: Any, url: str) -> bool:
        """An image without regions, kept when ``data`` gives its size (``image_width`` and
        ``image_height``, which ``to-labelstudio`` writes); False when it does not."""
        size = [data.get(k) for k in ("image_width", "image_height")] if type(data) is dict else []
        if not size or not all(type(v) is int and v > 0 for v in size):
            return False
        image = RawImage(file_name="", width=size[0], height=size[1], source=where)
        self.images.append(image)
        self.urls.append((image, url, []))
        return True

    def _image_url(self, where: str, data: Any) -> str | None:
        if type(data) is not dict:
            self.findings.append(error("labelstudio.bad_field", f"data must be an object, found {_kind(data)}; task skipped",
                                       source=f"{where}/data"))  # fmt: skip
            return None
        keys = list(self.opts.config.image_keys.values() if self.opts.config else ()) + [
            "image",
            "img",
        ]
        for k in dict.fromkeys(keys):
            if type(data.get(k)) is str and data[k]:
                return str(data[k])
        guesses = [
            v
            for v in data.values()
            if type(v) is str and v.lower().split("?")[0].endswith(_IMAGE_EXT)
        ]
        if len(guesses) == 1:
            return str(guesses[0])
        self.findings.append(error("labelstudio.no_image", "data names no image (expected data.image, or the key of the "
                                   "config's <Image value=\"$key\">); task skipped", source=f"{where}/data"))  # fmt: skip
        return None

    # ------------------------------------------------------------------ one annotation

    def annotation(self, where: str, result: list[Any], url: str, data: Any = None) -> None:
        size: tuple[int, int] | None = None
        points: list[_Point] = []
        regions: list[_Region] = []
        visibility: dict[str, tuple[Any, str]] = {}
        regions_seen = False
        for r, res in enumerate(result):
            src = f"{where}/result[{r}]"
            if type(res) is not dict:
                self.findings.append(error("labelstudio.bad_region", f"a result must be an object, found {_kind(res)}; skipped",
                                           source=src))  # fmt: skip
                continue
            kind = res.get("type")
            if kind in _ATTRIBUTE_TYPES:
                if (
                    self.opts.visibility_attribute
                    and res.get("from_name") == self.opts.visibility_attribute
                ):
                    visibility[str(res.get("id"))] = (res.get("value"), src)
                continue
            if kind == "relation":
                continue
            if kind not in _REGION_TYPES:
                self.tally.add("labelstudio.region_ignored", "info",
                               f"{kind!r} region ignored (keypointlabels, rectanglelabels and polygonlabels make "
                               "keypoint instances)", src)  # fmt: skip
                continue
            regions_seen = True
            wh = self._size(res, src)
            if wh is None:
                continue
            if size is None:
                size = wh
            elif wh != size:
                self.findings.append(error("labelstudio.size_mismatch",
                                           f"original size {wh[0]}x{wh[1]} differs from {size[0]}x{size[1]} of an earlier "
                                           "region of this annotation; region skipped", source=src))  # fmt: skip
                continue
            if res.get("image_rotation") not in (None, 0):
                self.tally.add("labelstudio.image_rotated", "warning",
                               f"image_rotation {res.get('image_rotation')!r}: Label Studio showed the image rotated; "
                               "coordinates are taken as exported (relative to the unrotated image)", src)  # fmt: skip
            value = res.get("value")
            if type(value) is not dict:
                self.findings.append(error("labelstudio.bad_region", f"value must be an object, found {_kind(value)}; "
                                           "region skipped", source=f"{src}/value"))  # fmt: skip
                continue
            if kind == "keypointlabels":
                pt = self._point(res, value, wh, src)
                if pt is not None:
                    points.append(pt)
            else:
                area = self._area(kind, res, value, wh, src)
                if area is not None:
                    regions.append(area)
        if size is None and self._empty_image(where, data, url):
            return
        if size is None:
            self.skipped_tasks += 1
            why = ("every keypoint, rectangle or polygon region was skipped (see the errors above)" if regions_seen
                   else "annotation without keypoint, rectangle or polygon regions")  # fmt: skip
            self.tally.add("labelstudio.task_unlabelled", "info",
                           f"{why}: its image is left out (Label Studio gives an image's size only with its regions)",
                           where)  # fmt: skip
            return
        if visibility:
            self._apply_visibility(points, visibility)
        image = RawImage(file_name="", width=size[0], height=size[1], source=where)
        instances = self._instances(where, points, regions)
        self.images.append(image)
        self.instances.extend(instances)
        self.urls.append((image, url, instances))

    def _size(self, res: dict[str, Any], src: str) -> tuple[int, int] | None:
        w, h = res.get("original_width"), res.get("original_height")
        if type(w) is int and type(h) is int and w > 0 and h > 0:
            return w, h
        out = []
        for k in ("original_width", "original_height"):
            v = res.get(k)
            if type(v) is float and v.is_integer():
                v = int(v)
            if type(v) is not int or v <= 0:
                what = "missing" if v is None else f"{_kind(v)} {v!r}"
                self.findings.append(error("labelstudio.size_missing", f"{k} is {what}: a positive integer is needed to "
                                           "turn percent into pixels; region skipped", source=f"{src}/{k}"))  # fmt: skip
                return None
            out.append(v)
        return out[0], out[1]

    def _percent(self, value: dict[str, Any], key: str, src: str) -> float | None:
        v: Any = value.get(key)
        if not _number(v):
            what = "missing" if v is None else f"{_kind(v)} {v!r}"
            self.findings.append(error("labelstudio.bad_value", f"value.{key} is {what}, expected a number (percent); "
                                       "region skipped", source=f"{src}/value/{key}"))  # fmt: skip
            return None
        if not 0 <= v <= 100:
            self.findings.append(error("labelstudio.percent_range", f"value.{key} is {v!r}, expected a percent of the "
                                       "image size in 0..100; region skipped", source=f"{src}/value/{key}"))  # fmt: skip
            return None
        return float(v)

    def _labels(self, value: dict[str, Any], kind: str, src: str) -> str | None:
        labels = value.get(kind)
        if (
            type(labels) is not list
            or not labels
            or type(labels[0]) is not str
            or not labels[0].strip()
        ):
            self.findings.append(error("labelstudio.bad_value", f"value.{kind} must name a label, found "
                                       f"{labels!r}; region skipped", source=f"{src}/value/{kind}"))  # fmt: skip
            return None
        if len(labels) > 1:
            self.findings.append(warning("labelstudio.several_labels", f"region has {len(labels)} labels {labels!r}: the "
                                         f"first, {labels[0]!r}, is used", source=f"{src}/value/{kind}"))  # fmt: skip
        return labels[0].strip()

    def _point(
        self, res: dict[str, Any], value: dict[str, Any], wh: tuple[int, int], src: str
    ) -> _Point | None:
        label = self._labels(value, "keypointlabels", src)
        x, y = self._percent(value, "x", src), self._percent(value, "y", src)
        if label is None or x is None or y is None:
            return None
        parent = res.get("parentID")
        rid = res.get("id")
        return _Point(
            str(rid) if rid is not None else None,
            str(parent) if parent not in (None, "") else None,
            RawPoint(label, x / 100 * wh[0], y / 100 * wh[1], 2, src),
        )

    def _area(
        self, kind: str, res: dict[str, Any], value: dict[str, Any], wh: tuple[int, int], src: str
    ) -> _Region | None:
        label = self._labels(value, kind, src)
        if label is None:
            return None
        W, H = wh  # noqa: N806 - the image's width and height
        rid = str(res["id"]) if res.get("id") is not None else None
        if kind == "rectanglelabels":
            px, py, pw, ph = (self._percent(value, k, src) for k in ("x", "y", "width", "height"))
            if px is None or py is None or pw is None or ph is None:
                return None
            x, y, w, h = px / 100 * W, py / 100 * H, pw / 100 * W, ph / 100 * H
            if w <= 0 or h <= 0:
                self.findings.append(error("labelstudio.bad_value", f"rectangle {label!r} has zero width or height; "
                                           "region skipped", source=f"{src}/value"))  # fmt: skip
                return None
            rotation = value.get("rotation") or 0
            if not _number(rotation):
                rotation = 0
            if rotation % 360:
                t = math.radians(rotation)
                cos, sin = math.cos(t), math.sin(t)
                corners = [
                    v
                    for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))
                    for v in (x + dx * cos - dy * sin, y + dx * sin + dy * cos)
                ]
                self.tally.add("labelstudio.rotated_box", "info",
                               f"rectangle rotated by {rotation:g} degrees: its box is the axis-aligned box around "
                               "it (points are placed by the rotated rectangle itself)", src)  # fmt: skip
                return _Region(rid, label, polygon(corners), src)
            return _Region(rid, label, box(x, y, x + w, y + h), src)
        pts: Any = value.get("points")
        ok = (
            type(pts) is list
            and len(pts) >= 3
            and all(
                type(p) is list and len(p) == 2 and _number(p[0]) and _number(p[1]) for p in pts
            )
        )
        if not ok:
            self.findings.append(error("labelstudio.bad_value", "value.points must be at least 3 [x, y] percent pairs; "
                                       "region skipped", source=f"{src}/value/points"))  # fmt: skip
            return None
        if any(not (0 <= c <= 100) for p in pts for c in p):
            self.findings.append(error("labelstudio.percent_range", "value.points has a value outside 0..100 percent; "
                                       "region skipped", source=f"{src}/value/points"))  # fmt: skip
            return None
        flat = [v for px, py in pts for v in (px / 100 * W, py / 100 * H)]
        return _Region(rid, label, polygon(flat), src, polygon=flat)

    def _apply_visibility(
        self, points: list[_Point], visibility: dict[str, tuple[Any, str]]
    ) -> None:
        for pt in points:
            found = visibility.get(str(pt.id)) if pt.id is not None else None
            if found is None:
                continue
            value, src = found
            raw: Any = None
            if type(value) is dict:
                for k in ("choices", "text", "labels", "taxonomy"):
                    if type(value.get(k)) is list and value[k]:
                        raw = value[k][0]
                        raw = raw[0] if type(raw) is list and raw else raw
                        break
            v = VISIBILITY_WORDS.get(str(raw).strip().lower()) if raw is not None else None
            if v is None:
                self.tally.add("labelstudio.visibility_value", "warning",
                               f"{self.opts.visibility_attribute}={raw!r} is not a visibility (expected one of "
                               f"{', '.join(sorted(set(VISIBILITY_WORDS)))}); v=2 kept", src)  # fmt: skip
                continue
            pt.point.v = v

    # ------------------------------------------------------------------ instances

    def _root(self, pt: _Point, by_id: dict[str, Any]) -> tuple[str | None, bool]:
        """(group id, linked): the region a point's parentID chain ends at, or the root point of
        a points-only chain; (None, False) when it has no parent or the chain breaks."""
        seen: set[str] = set()
        cur: Any = pt
        while True:
            parent = cur.parent
            if parent is None:
                return (cur.id, True) if cur is not pt else (None, False)
            if parent in seen or parent == cur.id:
                self.findings.append(error("labelstudio.parent_cycle", f"parentID chain of point {pt.point.label!r} "
                                           "loops; placed by containment instead", source=pt.point.source))  # fmt: skip
                return None, False
            seen.add(parent)
            target = by_id.get(parent)
            if target is None:
                self.findings.append(error(
                    "labelstudio.parent_missing",
                    f"point {pt.point.label!r}: parentID {parent!r} names no region of this annotation; "
                    "placed by containment instead", source=pt.point.source,
                ))  # fmt: skip
                return None, False
            if isinstance(target, _Region):
                return target.id, True
            cur = target

    def _instances(
        self, where: str, points: list[_Point], regions: list[_Region]
    ) -> list[RawInstance]:
        by_id: dict[str, Any] = {r.id: r for r in regions if r.id is not None}
        by_id.update({p.id: p for p in points if p.id is not None and p.id not in by_id})
        gids = [self._root(pt, by_id)[0] if pt.parent is not None else None for pt in points]
        # a point that other points name as their parent, itself without one, roots their instance
        roots = set(gids)
        linked = [
            (pt.point, pt.id if gid is None and pt.id in roots else gid)
            for pt, gid in zip(points, gids, strict=True)
        ]
        kinds: tuple[list[tuple[Any, str | None]], ...] = (linked, [(r, r.id) for r in regions])
        groups, (loose, _) = by_group(*kinds)
        # regions without an id are groups of their own (nothing can name them as a parent)
        containers: list[_Region] = []
        chains: list[list[RawPoint]] = []
        for pts, areas in groups.values():
            if areas:
                areas[0].points.extend(pts)
                containers.append(areas[0])
            else:
                chains.append(pts)
        containers += [r for r in regions if r.id is None]
        position = {id(r): i for i, r in enumerate(regions)}
        containers.sort(key=lambda r: position[id(r)])
        grouped = any(r.points for r in containers) or bool(chains)
        if loose:
            if not containers:
                if not grouped:
                    self.tally.add("labelstudio.one_instance", "warning",
                                   "no parentID and no rectangle/polygon: the annotation's points are taken as one "
                                   "instance", where)  # fmt: skip
                chains.append(loose)
            else:
                placed = place(
                    [(p.x, p.y, p.label) for p in loose],
                    [Container([r.region], [r.label]) for r in containers],
                )
                if not grouped and all(p == OUTSIDE for p in placed):
                    self.tally.add("labelstudio.regions_ignored", "warning",
                                   "no rectangle/polygon contains any point and no point has a parentID: the "
                                   "annotation's points are taken as one instance", where)  # fmt: skip
                    chains.append(loose)
                else:
                    for pt, p in zip(loose, placed, strict=True):
                        if isinstance(p, int):
                            containers[p].points.append(pt)
                        elif not p:
                            self.findings.append(error("labelstudio.point_outside", f"point {pt.label!r} has no parentID "
                                                       "and lies inside no rectangle/polygon; point dropped",
                                                       source=pt.source))  # fmt: skip
                        else:
                            self.findings.append(error("labelstudio.point_ambiguous", f"point {pt.label!r} has no parentID "
                                                       f"and lies inside {len(p)} rectangles/polygons; point dropped",
                                                       source=pt.source))  # fmt: skip
        out: list[RawInstance] = []
        for r in containers:
            self.points += len(r.points)
            inst = RawInstance(image="", category=r.label, points=r.points, bbox=union_box([r.region]),
                               polygon=[r.polygon] if r.polygon else None, source=r.source)  # fmt: skip
            if not r.points:  # a box-only instance, if its label is a keypoint category (see parse_export)
                self.pointless.append((inst, "polygon" if r.polygon else "rectangle"))
            out.append(inst)
        for pts in chains:
            self.points += len(pts)
            raw = RawInstance(image="", category="", points=pts, source=pts[0].source)
            self.pending.append((raw, [p.label for p in pts]))
            out.append(raw)
        return out

    def keep_box_only(self) -> None:
        """Leave out the rectangles/polygons drawn alone that are not box-only instances
        (:func:`~kpconv.convert.assembly.lone_boxes_kept`), said once per label."""
        self.instances, dropped = lone_boxes_kept(self.instances, [inst for inst, _ in self.pointless])
        for inst, kind in self.pointless:
            if id(inst) in dropped:
                self.tally.add("labelstudio.region_without_points", "warning",
                               f"{kind} {inst.category!r} holds no keypoint and no instance of {inst.category!r} "
                               "has any: not an instance", inst.source)  # fmt: skip

    def points_only_category(self, labels: Sequence[str], box_categories: set[str]) -> str:
        """Category of a points-only instance: a common ``cat.`` prefix, ``--category-name``, the
        spec's or config's only category, the export's only box category, else ``object``."""
        prefixes = {lab.rsplit(".", 1)[0] for lab in labels if "." in lab}
        if len(prefixes) == 1 and all("." in lab for lab in labels):
            return prefixes.pop()
        if self.opts.category:
            return self.opts.category
        spec = self.opts.spec
        if spec is not None and len(spec.categories) == 1:
            return spec.categories[0].name
        cfg = self.opts.config
        if cfg is not None and len(cfg.box_labels) == 1:
            return cfg.box_labels[0]
        if len(box_categories) == 1:
            return next(iter(box_categories))
        return DEFAULT_CATEGORY

    # ------------------------------------------------------------------ the end

    def name_images(self) -> None:
        """``file_name`` of every image; Label Studio's upload prefix is kept where removing it
        would give two different uploads one name."""
        root = self.opts.image_root
        names = [file_name(url, root) for _, url, _ in self.urls]
        owner: dict[str, str] = {}
        clash: set[str] = set()
        for (_, url, _), name in zip(self.urls, names, strict=True):
            if owner.setdefault(name, url) != url and _upload_prefixed(url) is not None:
                clash.add(name)
        for (image, url, instances), name in zip(self.urls, names, strict=True):
            if name in clash:
                name = _upload_prefixed(url) or name
            image.file_name = name
            for inst in instances:
                inst.image = name
        if clash:
            self.findings.append(warning("labelstudio.upload_names_clash", f"{len(clash)} upload name(s) ({sorted(clash)[0]!r}"
                                         "...) are shared by different uploads: those keep Label Studio's prefix"))  # fmt: skip
        seen: dict[str, str] = {}
        for image, _, _ in self.urls:
            prev = seen.setdefault(image.file_name, image.source)
            if prev != image.source:
                self.findings.append(warning("labelstudio.image_shared", f"{prev} and this task both show image "
                                             f"{image.file_name!r}: their instances are merged", source=image.source))  # fmt: skip


def _who(entry: dict[str, Any]) -> set[str]:
    """Ways ``--annotator`` can name an annotation (or prediction)."""
    out = set()
    by = entry.get("completed_by")
    if type(by) is dict:
        out |= {str(by.get("id")), str(by.get("email"))}
    elif by is not None:
        out.add(str(by))
    for k in ("model_version", "annotator"):
        if entry.get(k) is not None:
            out.add(str(entry[k]))
    return out


def _label_of(entry: dict[str, Any]) -> str:
    by = entry.get("completed_by")
    if type(by) is dict:
        by = by.get("email") or by.get("id")
    if by is None:
        by = entry.get("model_version")
    return f"id {entry.get('id')}" + (f" by {by}" if by not in (None, "") else "")


# --------------------------------------------------------------------------- JSON-MIN


def _is_minimal(task: dict[str, Any]) -> bool:
    return not any(k in task for k in ("annotations", "predictions", "data"))


def _from_minimal(where: str, i: int, record: dict[str, Any]) -> dict[str, Any]:
    """A JSON-MIN record as a full task with one annotation (region lists back into results).

    A record whose regions carry no ``id`` lost ``parentID`` too: refused (DataError)."""
    data: dict[str, Any] = {}
    result: list[dict[str, Any]] = []
    has_ids = False
    for key, value in record.items():
        regions = value if type(value) is list else None
        kinds = [
            next((t for t in _REGION_TYPES if t in r), None) if type(r) is dict else None
            for r in regions or []
        ]
        if regions and all(kinds):
            for r, kind in zip(regions, kinds, strict=True):
                has_ids = has_ids or "id" in r
                val = {k: v for k, v in r.items() if k not in ("id", "parentID", "original_width", "original_height",
                                                                "image_rotation", "type")}  # fmt: skip
                res = {"type": kind, "from_name": key, "value": val}
                for k in ("id", "parentID", "original_width", "original_height", "image_rotation"):
                    if k in r:
                        res[k] = r[k]
                result.append(res)
        elif key not in (
            "id",
            "annotator",
            "annotation_id",
            "created_at",
            "updated_at",
            "lead_time",
        ):
            data[key] = value
    if result and not has_ids:
        msg = ("a JSON-MIN export without region ids: parentID is lost with them, so keypoints cannot be "
               "grouped into their instances; export the project as JSON (not JSON-MIN) and convert that")  # fmt: skip
        raise DataError(
            f"{where}:[{i}]: {msg}",
            [error("labelstudio.min_without_ids", msg, source=f"{where}:[{i}]")],
        )
    return {"id": record.get("id"), "data": data,
            "annotations": [{"id": record.get("annotation_id"), "completed_by": record.get("annotator"), "result": result}]}  # fmt: skip


# --------------------------------------------------------------------------- the export


def parse_export(
    doc: Any, where: str, options: LabelStudioOptions | None = None
) -> LabelStudioParse:
    """Parse a decoded Label Studio export (a list of tasks) into raw images and instances.

    Not a list, or an empty one, is a :class:`DataError`; a bad task or region is a located finding
    and is skipped.
    """
    opts = options or LabelStudioOptions()
    if type(doc) is dict and ("data" in doc or "annotations" in doc):
        doc = [doc]  # one task, as Label Studio's import also takes it
    if type(doc) is not list:
        msg = f"expected a Label Studio export (a JSON array of tasks), found {_kind(doc)}"
        raise DataError(f"{where}: {msg}", [error("labelstudio.not_tasks", msg, source=where)])
    if not doc:
        msg = "the export holds no tasks (an empty array): nothing to convert"
        raise DataError(f"{where}: {msg}", [error("labelstudio.no_tasks", msg, source=where)])
    if all(type(t) is dict and type(t.get("result")) is list and _is_minimal(t) for t in doc):
        msg = ("a list of predictions (model_version, result, score), not a Label Studio export: a task wraps "
               "its predictions with the data that names its image; import them into the project and export "
               "it as JSON, then convert that with --source predictions")  # fmt: skip
        raise DataError(f"{where}: {msg}", [error("labelstudio.not_tasks", msg, source=where)])
    reader = _Reader(opts, where)
    minimal = all(type(t) is dict and _is_minimal(t) for t in doc)
    with gc_paused():  # many small objects, no cycles: collections would only rescan them
        for i, task in enumerate(doc):
            if minimal:
                task = _from_minimal(where, i, task)
                if opts.source == "predictions":
                    raise DataError(
                        f"{where}: a JSON-MIN export holds annotations only; --source predictions needs the JSON export"
                    )
            reader.task(i, task)
    box_categories = {inst.category for inst in reader.instances if inst.category and inst.points}
    for raw, labels in reader.pending:
        raw.category = reader.points_only_category(labels, box_categories)
    reader.keep_box_only()
    reader.name_images()
    findings = reader.findings + reader.tally.findings()
    if reader.points and opts.visibility_attribute is None:
        findings.append(info("labelstudio.no_visibility", "Label Studio keypoints carry no visibility: every point is "
                             "v=2 (a per-point choice can give it: --visibility-attribute NAME)"))  # fmt: skip
    if opts.config is not None:
        findings += [info("labelstudio.config_note", note) for note in opts.config.notes]
    spec = None
    if opts.spec is None and opts.config is not None:
        spec = spec_from_config(opts.config, reader.instances)
    result = ParseResult(
        images=reader.images, instances=reader.instances, findings=findings, spec=spec
    )
    summary = {
        "tasks": len(doc),
        "json_min": minimal,
        "source": opts.source,
        "tasks_without_regions": reader.skipped_tasks,
        "keypoint_order": "config"
        if spec is not None
        else ("spec" if opts.spec is not None else "first appearance"),
    }
    return LabelStudioParse(result=result, tasks=len(doc), minimal=minimal, summary=summary)


def spec_from_config(config: LabelConfig, instances: Sequence[RawInstance]) -> KeypointSpec | None:
    """The spec a config gives: its keypoint labels in order, for each category used.

    Labels written ``category.keypoint`` (what ``to-labelstudio`` writes for several categories)
    give each category its own keypoints; otherwise every category gets the config's keypoints.
    Categories: those of the instances, in config order. None when the config has no keypoints.
    """
    if not config.keypoints:
        return None
    used = list(dict.fromkeys(inst.category for inst in instances if inst.category))
    order = {name: i for i, name in enumerate(config.box_labels)}
    used.sort(key=lambda c: order.get(c, len(order)))
    prefixed: dict[str, list[str]] = {}
    for label in config.keypoints:
        cat, dot, kp = label.rpartition(".")
        if dot and cat in config.box_labels:
            prefixed.setdefault(cat, []).append(kp)
    if prefixed and sum(map(len, prefixed.values())) == len(config.keypoints):
        cats = [
            {"name": c, "keypoints": prefixed[c]} for c in (used or list(prefixed)) if c in prefixed
        ]
    else:
        cats = [
            {"name": c, "keypoints": list(config.keypoints)}
            for c in (used or config.box_labels[:1] or [DEFAULT_CATEGORY])
        ]
    if not cats:
        return None
    return spec_from_mapping({"categories": cats}, source="the label config")
