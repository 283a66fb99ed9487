"""LabelMe / X-AnyLabeling JSON files → raw instances for the shared builder.

One JSON file describes one image (``imagePath``, ``imageWidth``/``imageHeight``, optional
base64 ``imageData``) and a list of ``shapes``. This module only *parses*; ids, keypoint order,
boxes and categories are done by :mod:`kpconv.convert.builder`.

Instances:

* shapes sharing a ``group_id`` (``0`` included: X-AnyLabeling writes it) form one instance;
* every ungrouped rectangle or polygon is an instance of its own;
* an ungrouped point belongs to the one instance whose rectangle/polygon contains it; inside none
  or several it is reported (``labelme.point_outside_boxes`` / ``labelme.point_ambiguous``) and
  dropped, never guessed (``person.nose`` prefers the ``person`` one among several);
* an image whose points are all ungrouped and which has no rectangle/polygon is one instance;
  if it has boxes but none of them contains any point (and nothing is grouped), the points are
  still one instance and the boxes are reported (``labelme.boxes_ignored``);
* ``circle``, ``line``, ``linestrip``, ``mask``, ``rotation`` ... shapes are ignored (info).

Rectangles are 2 points (LabelMe: two opposite corners, any order) or 4 corners (X-AnyLabeling).
Which shapes make one instance, and which box holds a point, is decided by
:mod:`kpconv.convert.assembly` (shared with CVAT); this module reads the shapes and words the findings.

Visibility: a labelled point is v=2; v=1 when the shape has ``difficult: true`` (X-AnyLabeling's
"occluded" tick box), a truthy ``flags`` entry named in :data:`OCCLUDED_FLAGS`, or a label ending
with one of the configured suffixes (``nose:occluded``). X-AnyLabeling's per-shape ``visible`` is
the canvas show/hide state and is ignored.

Images and ``file_name``: ``imagePath`` is resolved relative to the JSON file (``\\`` separators
and ``../`` allowed); when the file is not there, the same name next to the JSON file is tried.
With ``images_dir`` (``--images DIR``) the image is looked up inside DIR (the JSON-relative path if
it lies inside DIR, else ``DIR/imagePath``, else ``DIR/<basename>``) and ``file_name`` is relative
to DIR. Without it, ``file_name`` is relative to the deepest folder holding every image (the
common parent of the resolved image paths), reported as ``labelme.images_root`` so the user can
pass that folder to ``kpconv validate --images`` / ``kpconv visualize --images``.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

import orjson

from ...convert.assembly import (
    OUTSIDE,
    Container,
    Region,
    box,
    by_group,
    extent_of,
    lone_boxes_kept,
    place,
    union_box,
)
from ...convert.builder import ParseResult, RawImage, RawInstance, RawPoint
from ...errors import DataError, UsageError
from ...fileio import atomic_write_bytes, is_regular, loads_json, read_stream
from ...finding import Finding, error, info, warning
from ...memory import gc_paused
from ...progress import track
from ...spec import KeypointSpec

#: ``flags`` keys (case-insensitive) that mark a point as labelled but occluded (v=1) when true.
OCCLUDED_FLAGS = frozenset({"occluded", "occlusion", "difficult", "hidden", "invisible", "not_visible"})

#: Label suffixes that mark a point as occluded by default (``nose:occluded``).
DEFAULT_OCCLUDED_SUFFIXES: tuple[str, ...] = (":occluded",)

#: ``info.description`` of the COCO files ``kpconv from-labelme`` writes.
DESCRIPTION = "converted by kpconv from-labelme"

#: Name used for points-only instances when nothing better is known (``--category object=NAME``).
DEFAULT_CATEGORY = "object"

_IMAGE_EXT = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "BMP": ".bmp", "GIF": ".gif",
              "TIFF": ".tif", "WEBP": ".webp"}  # fmt: skip
_ROTATING_ORIENTATIONS = frozenset({2, 3, 4, 5, 6, 7, 8})
_TRUE_STRINGS = frozenset({"true", "1", "yes"})
_NUMBER = (float, int)  # JSON numbers as orjson gives them (bool is not one: type() is exact)
_SECOND = itemgetter(1)


@dataclass
class LabelmeOptions:
    """How LabelMe files are read.

    ``categories`` maps a rectangle/polygon label (or a points-only instance's label) to a spec
    category name (``--category LABEL=NAME``). ``spec`` is the user's spec when given: it decides
    categories (a one-category spec takes every label) and whether a suffix is really a suffix.
    ``read_images`` checks sizes against the image headers (off only for benchmarks of the parser).
    """

    categories: dict[str, str] = field(default_factory=dict)
    occluded_suffixes: tuple[str, ...] = DEFAULT_OCCLUDED_SUFFIXES
    images_dir: Path | None = None
    extract_dir: Path | None = None
    spec: KeypointSpec | None = None
    read_images: bool = True


@dataclass(frozen=True)
class Extraction:
    """An embedded ``imageData`` to write out: decoded from ``json_path`` into ``target``."""

    json_path: Path
    target: Path
    source: str


@dataclass
class LabelmeParse:
    """The parse of a set of LabelMe files: what the builder needs, plus LabelMe-side facts."""

    result: ParseResult
    files: list[Path]
    images_root: Path | None
    extractions: list[Extraction] = field(default_factory=list)
    files_failed: int = 0
    files_skipped: int = 0  # JSON of another format found in a folder

    def summary(self) -> dict[str, Any]:
        """Counts for the report (``summary["labelme"]``)."""
        return {
            "files": len(self.files),
            "files_failed": self.files_failed,
            "files_skipped": self.files_skipped,
            "images_root": str(self.images_root) if self.images_root is not None else None,
            "images_to_extract": len(self.extractions),
        }


# --------------------------------------------------------------------------- finding files


def find_json_files(sources: Sequence[Path], exclude: Iterable[Path] = ()) -> list[Path]:
    """The ``.json`` files named or found (recursively) under ``sources``, sorted, without duplicates.

    Hidden files and folders (``.name``) inside a folder are skipped; ``exclude`` (e.g. the output
    file, when it is written inside an input folder) is left out. A missing source is a
    :class:`UsageError`.
    """
    skip = {os.path.abspath(p) for p in exclude}
    found: dict[str, Path] = {}
    for src in sources:
        src = Path(src)
        if src.is_dir():
            for dirpath, dirnames, filenames in os.walk(src):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in filenames:
                    if name.startswith(".") or not name.lower().endswith(".json"):
                        continue
                    path = Path(dirpath, name)
                    key = os.path.abspath(path)
                    if key not in skip:
                        found.setdefault(key, path)
        elif src.exists():  # a file named as SRC (a pipe or device too), whatever its suffix
            key = os.path.abspath(src)
            if key not in skip:
                found.setdefault(key, src)
        else:
            raise UsageError(f"{src}: no such file or folder")
    return sorted(found.values(), key=lambda p: p.as_posix())


# --------------------------------------------------------------------------- parsing


@dataclass(slots=True)
class _Inst:
    """An instance being assembled from the shapes of one file."""

    first: int  # index of its first shape (instance order and source location)
    labels: list[str] = field(default_factory=list)  # container labels, shape order
    regions: list[Region] = field(default_factory=list)  # its rectangles and polygons
    rect_shapes: list[int] = field(default_factory=list)
    points: list[RawPoint] = field(default_factory=list)

    @classmethod
    def of(cls, points: list[tuple[int, RawPoint]], areas: list[tuple[int, str, Region]]) -> _Inst:
        """The instance of some point shapes and rectangles/polygons (``index, ...`` each)."""
        first = min(points[0][0], areas[0][0]) if points and areas else (points or areas)[0][0]
        return cls(
            first,
            [label for _, label, _ in areas],
            [r for _, _, r in areas],
            [i for i, _, r in areas if r.ring is None],
            list(map(_SECOND, points)),
        )


def _coords(pts: Any) -> tuple[list[tuple[float, float]] | None, str]:
    """``points`` as (x, y) floats, or None and what is wrong (``[3]: expected [x, y] ...``)."""
    if type(pts) is not list:
        return None, f": expected an array of [x, y] pairs, found {_kind(pts)}"
    out: list[tuple[float, float]] = []
    for j, p in enumerate(pts):
        if type(p) is not list or len(p) != 2:
            if type(p) is list:
                return None, f"[{j}]: expected [x, y], found {len(p)} values {_short(p)}"
            return None, f"[{j}]: expected [x, y], found {_kind(p)} {_short(p)}"
        x, y = p
        tx, ty = type(x), type(y)
        if (tx is not float and tx is not int) or (ty is not float and ty is not int):
            return None, f"[{j}]: expected two numbers, found {_short(p)}"
        out.append((float(x), float(y)))
    return out, ""


def _other_format(doc: Any) -> str | None:
    """What a JSON document that is no LabelMe file is, or None when it looks like a broken one
    (it has LabelMe's own keys: ``imagePath``, ``shapes``)."""
    if type(doc) is dict:
        if "imagePath" in doc or "shapes" in doc:
            return None
        if "images" in doc and ("annotations" in doc or "categories" in doc):
            return "COCO"
        return "JSON object without 'shapes'"
    if type(doc) is list:
        return "JSON list (Label Studio export, COCO results?)"
    return None


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)  # fmt: skip


def _short(v: Any) -> str:
    s = orjson.dumps(v).decode() if not isinstance(v, bytes) else repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _occluded_flag(flags: dict[str, Any]) -> bool:
    return any(type(k) is str and k.lower() in OCCLUDED_FLAGS and _truthy(val) for k, val in flags.items())


def _truthy(v: Any) -> bool:
    return v is True or (type(v) is str and v.strip().lower() in _TRUE_STRINGS) or (type(v) is int and v == 1)


class _Reader:
    """Parses LabelMe files one by one; holds the caches shared across files."""

    def __init__(self, opts: LabelmeOptions, json_root: str | None) -> None:
        self.opts = opts
        self.json_root = json_root
        self.images_dir = os.path.abspath(opts.images_dir) if opts.images_dir is not None else None
        self.findings: list[Finding] = []
        self.label_cache: dict[str, tuple[str, bool]] = {}
        self.category_cache: dict[str, str] = {}
        self.probe_cache: dict[str, tuple[int, int, int, str] | str | None] = {}
        self.extractions: list[Extraction] = []
        self.failed = 0
        self.other: list[tuple[str, str]] = []  # (file, what it is): JSON of another format, skipped
        self.pointless: list[tuple[RawInstance, str]] = []  # a rectangle/polygon alone (see keep_box_only)

    # ------------------------------------------------------------------ labels and categories

    def point_label(self, label: str) -> tuple[str, bool]:
        """(keypoint label, occluded-by-suffix) for a point label; cached."""
        hit = self.label_cache.get(label)
        if hit is not None:
            return hit
        clean = label.strip()
        out = (clean, False)
        for suffix in self.opts.occluded_suffixes:
            if suffix and clean.endswith(suffix) and len(clean) > len(suffix):
                spec = self.opts.spec
                # A spec that knows the whole label (a keypoint really named "x_occ") wins.
                if spec is not None and any(c.index_of(clean) is not None for c in spec.categories):
                    break
                out = (clean[: -len(suffix)].rstrip(), True)
                break
        self.label_cache[label] = out
        return out

    def category(self, label: str, source: str) -> str:
        """The spec category for an instance label (``--category`` first, then the spec)."""
        hit = self.category_cache.get(label)
        if hit is not None:
            return hit
        out = label
        if label in self.opts.categories:
            out = self.opts.categories[label]
        elif self.opts.spec is not None and self.opts.spec.category(label) is None:
            cats = self.opts.spec.categories
            same_case = [c.name for c in cats if c.name.lower() == label.lower()]
            if len(same_case) == 1:
                out = same_case[0]
            elif len(cats) == 1:
                out = cats[0].name
            if out != label:
                self.findings.append(
                    info(
                        "labelme.category_assumed",
                        f"instance label {label!r} is not a spec category: taken as {out!r} "
                        f"(say so explicitly with --category {label}={out})",
                        source=source,
                    )
                )
        self.category_cache[label] = out
        return out

    # ------------------------------------------------------------------ one file

    def read(
        self, path: Path, json_abs: str, scanned: bool = False
    ) -> tuple[RawImage | None, list[RawInstance], list[tuple[RawInstance, list[str]]]]:
        """Parse one file: its image, its instances, and the points-only instances whose
        category is settled after every file is read (with the point labels that may decide it).

        ``scanned``: the file was found in a folder, not named: JSON of another format (no
        ``shapes`` and no ``imagePath``: a COCO file, a config) is skipped and listed, not failed.
        """
        where = str(path)
        try:
            with open(json_abs, "rb") as fh:
                # a pipe or device named as SRC is read in bounded chunks (KPCONV_MAX_STREAM_BYTES)
                data = fh.read() if is_regular(fh) else read_stream(fh, where)
        except OSError as exc:
            self.failed += 1
            self.findings.append(error("labelme.unreadable", f"cannot read the file: {exc.strerror}", source=where))
            return None, [], []
        except DataError as exc:
            self.failed += 1
            self.findings.extend(exc.findings or [error("labelme.unreadable", exc.message, source=where)])
            return None, [], []
        try:
            # the one JSON decode (a UTF-8 BOM accepted, UTF-16 and NaN told as such)
            doc = loads_json(data, source=where, code="labelme.not_json")
        except DataError as exc:
            self.failed += 1
            self.findings.extend(exc.findings)
            return None, [], []
        if type(doc) is not dict or type(doc.get("shapes")) is not list:
            other = _other_format(doc)
            if scanned and other is not None:
                self.other.append((where, other))
                return None, [], []
            self.failed += 1
            found = (
                f"a JSON object without a 'shapes' array (keys: {', '.join(sorted(doc)[:6]) or 'none'})"
                if type(doc) is dict
                else f"{_kind(doc)}"
            )
            self.findings.append(
                error("labelme.not_labelme", f"expected a LabelMe object with a 'shapes' array, found {found}", source=where)
            )
            return None, [], []
        image = self._image(path, json_abs, where, doc)
        if image is None:
            self.failed += 1
            return None, [], []
        instances, pending = self._shapes(where, doc["shapes"], image.file_name)
        return image, instances, pending

    def _shapes(
        self, where: str, shapes: list[Any], image_key: str
    ) -> tuple[list[RawInstance], list[tuple[RawInstance, list[str]]]]:
        findings = self.findings
        point_shapes: list[tuple[tuple[int, RawPoint], int | None]] = []  # ((index, point), group_id)
        area_shapes: list[tuple[tuple[int, str, Region], int | None]] = []  # rectangles/polygons
        for i, s in enumerate(shapes):
            if type(s) is not dict:
                findings.append(error("labelme.bad_field", f"a shape must be an object, found {_kind(s)}",
                                      source=f"{where}:shapes[{i}]"))  # fmt: skip
                continue
            st = s.get("shape_type")
            if st is None:
                st = "polygon"  # LabelMe's own default for files older than shape_type
            label = s.get("label")
            gid = s.get("group_id")
            if type(st) is not str or type(label) is not str or not label.strip() or (
                gid is not None and type(gid) is not int
            ):
                findings.append(self._bad_shape_fields(where, i, st, label, gid))
                continue
            if st == "point":
                pt = self._point(where, i, s, label)
                if pt is not None:
                    point_shapes.append(((i, pt), gid))
            elif st == "rectangle" or st == "polygon":
                pts, problem = _coords(s.get("points"))
                ok_count = (len(pts) in (2, 4)) if (pts is not None and st == "rectangle") else (
                    pts is not None and len(pts) >= 3
                )
                if pts is None or not ok_count:
                    if pts is None:
                        msg = f"points{problem}"
                        loc = f"{where}:shapes[{i}].points{problem.split(':', 1)[0]}"
                    else:
                        need = "2 (LabelMe) or 4 (X-AnyLabeling) corners" if st == "rectangle" else "at least 3 points"
                        msg = f"a {st} needs {need}, found {len(pts)}"
                        loc = f"{where}:shapes[{i}].points"
                    findings.append(error("labelme.bad_points", msg + "; shape skipped", source=loc))
                    continue
                flat = [c for p in pts for c in p]
                if st == "polygon":
                    region = Region(extent_of(flat), tuple(flat))
                else:
                    region = box(*extent_of(flat))
                    _, _, w, h = region.bbox
                    if w <= 0 or h <= 0:
                        findings.append(error("labelme.bad_points", f"rectangle {label!r} has zero width or height "
                                              f"({_short(s.get('points'))}); shape skipped",
                                              source=f"{where}:shapes[{i}].points"))  # fmt: skip
                        continue
                area_shapes.append(((i, label.strip(), region), gid))
            else:
                findings.append(
                    info(
                        "labelme.shape_ignored",
                        f"{st!r} shape {label!r} ignored (only point, rectangle and polygon shapes make keypoint instances)",
                        source=f"{where}:shapes[{i}]",
                    )
                )

        groups, (loose_points, loose_areas) = by_group(point_shapes, area_shapes)
        instances = [_Inst.of(pts, areas) for pts, areas in groups.values()]
        instances += [_Inst.of([], [area]) for area in loose_areas]
        instances.sort(key=attrgetter("first"))
        if loose_points:
            points_only = self._place(where, loose_points, instances, bool(groups))
            if points_only is not None:
                instances.append(points_only)
        out: list[RawInstance] = []
        pending: list[tuple[RawInstance, list[str]]] = []
        for inst in instances:
            raw = self._instance(where, inst, image_key)
            if raw is None:
                continue
            if not inst.labels:
                pending.append((raw, [p.label for p in inst.points]))
            out.append(raw)
        return out, pending

    def _point(self, where: str, i: int, s: dict[str, Any], label: str) -> RawPoint | None:
        """A point shape's keypoint (its label and fields already checked), or None, reported.

        The usual shape (``points: [[x, y]]`` numbers, ``flags`` an object or absent) is tested
        first with plain type checks; only a shape that fails them pays for the located message.
        """
        pts = s.get("points")
        p = pts[0] if type(pts) is list and len(pts) == 1 else None
        if type(p) is list and len(p) == 2 and type(p[0]) in _NUMBER and type(p[1]) in _NUMBER:
            x, y = float(p[0]), float(p[1])
        else:
            coords, problem = _coords(pts)
            if coords is None or len(coords) != 1:
                msg = (f"points{problem}" if coords is None
                       else f"a point shape needs exactly 1 point, found {len(coords)}")  # fmt: skip
                loc = f"{where}:shapes[{i}].points{problem.split(':', 1)[0] if coords is None else ''}"
                self.findings.append(error("labelme.bad_points", msg + "; shape skipped", source=loc))
                return None
            x, y = coords[0]
        name, occluded = self.label_cache.get(label) or self.point_label(label)
        flags = s.get("flags")
        if flags and type(flags) is not dict:
            self.findings.append(error("labelme.bad_field", f"flags must be an object, found {_kind(flags)}; ignored",
                                       source=f"{where}:shapes[{i}].flags"))  # fmt: skip
            flags = None
        d = s.get("difficult")
        v = 1 if occluded or d is True or (d and _truthy(d)) or (flags and _occluded_flag(flags)) else 2
        return RawPoint(name, x, y, v, f"{where}:shapes[{i}]")

    def _place(
        self, where: str, loose: list[tuple[int, RawPoint]], instances: list[_Inst], grouped: bool
    ) -> _Inst | None:
        """Ungrouped points into the one instance whose rectangle/polygon holds them; the points-only
        instance when they are one (no rectangle/polygon, or none holds any point)."""
        findings = self.findings
        containers = [inst for inst in instances if inst.regions]
        if not containers:
            if not grouped:
                return _Inst.of(loose, [])
            for _, pt in loose:
                findings.append(
                    error(
                        "labelme.point_ungrouped",
                        f"point {pt.label!r} has no group_id, and the image has grouped shapes but no "
                        "rectangle/polygon to place it by; give it the group_id of its instance; point dropped",
                        source=pt.source,
                    )
                )
            return None
        placed = place([(pt.x, pt.y, pt.label) for _, pt in loose], [Container(c.regions, c.labels) for c in containers])
        if not grouped and all(p == OUTSIDE for p in placed):
            # No box holds any point: the boxes are not these points' instances.
            findings.append(
                warning(
                    "labelme.boxes_ignored",
                    f"none of the {len(containers)} rectangle(s)/polygon(s) contains any of the "
                    f"{len(loose)} ungrouped point(s): the points are taken as one instance",
                    source=f"{where}:shapes[{loose[0][0]}]",
                )
            )
            return _Inst.of(loose, [])
        for (_, pt), p in zip(loose, placed, strict=True):
            if isinstance(p, int):
                containers[p].points.append(pt)
            elif not p:
                findings.append(
                    error(
                        "labelme.point_outside_boxes",
                        f"point {pt.label!r} at ({pt.x:g}, {pt.y:g}) has no group_id and lies inside "
                        "no rectangle/polygon; give it a group_id or move it; point dropped",
                        source=pt.source,
                    )
                )
            else:
                shapes_s = ", ".join(f"shapes[{containers[c].first}] {containers[c].labels[0]!r}" for c in p)
                findings.append(
                    error(
                        "labelme.point_ambiguous",
                        f"point {pt.label!r} at ({pt.x:g}, {pt.y:g}) has no group_id and lies inside "
                        f"{len(p)} instances ({shapes_s}); give it a group_id; point dropped",
                        source=pt.source,
                    )
                )
        return None

    def _instance(self, where: str, inst: _Inst, image_key: str) -> RawInstance | None:
        """The RawInstance of an assembled instance (category "" while it is to be settled);
        None, reported, when it has no points."""
        findings = self.findings
        src = f"{where}:shapes[{inst.first}]"
        rects = [r for r in inst.regions if r.ring is None]
        polys = [r for r in inst.regions if r.ring is not None]
        if not inst.points and not inst.labels:
            findings.append(_without_points("group", src))
            return None
        if len(rects) > 1:
            findings.append(
                warning(
                    "labelme.group_multiple_boxes",
                    f"instance has {len(rects)} rectangles (shapes "
                    f"{', '.join(str(i) for i in inst.rect_shapes)}); their union is its box",
                    source=src,
                )
            )
        raw = RawInstance(
            image=image_key,
            category="",
            points=inst.points,
            bbox=union_box(rects or polys),
            polygon=[list(r.ring) for r in polys if r.ring is not None] or None,
            source=src,
        )
        if len(inst.labels) == 1:
            raw.category = self.category_cache.get(inst.labels[0]) or self.category(inst.labels[0], src)
        elif inst.labels:
            distinct = list(dict.fromkeys(inst.labels))
            if len(distinct) > 1:
                findings.append(
                    warning(
                        "labelme.group_label_conflict",
                        f"the rectangles/polygons of one instance have different labels "
                        f"{', '.join(repr(x) for x in distinct)}; the first, {distinct[0]!r}, is its category",
                        source=src,
                    )
                )
            raw.category = self.category(distinct[0], src)
        if not inst.points:  # a box-only instance, if its category has keypoints elsewhere
            self.pointless.append((raw, f"{'rectangle' if rects else 'polygon'} {inst.labels[0]!r}"))
        return raw

    def keep_box_only(self, instances: list[RawInstance]) -> list[RawInstance]:
        """The instances, without the boxes drawn alone that are not box-only instances
        (:func:`~kpconv.convert.assembly.lone_boxes_kept`), each of those reported."""
        kept, dropped = lone_boxes_kept(instances, [raw for raw, _ in self.pointless])
        self.findings += [_without_points(what, raw.source) for raw, what in self.pointless if id(raw) in dropped]
        return kept

    @staticmethod
    def _bad_shape_fields(where: str, i: int, st: Any, label: Any, gid: Any) -> Finding:
        if type(st) is not str:
            field_, msg = "shape_type", f"shape_type must be a string, found {_kind(st)} {_short(st)}"
        elif type(label) is not str:
            field_, msg = "label", f"label must be a string, found {_kind(label)} {_short(label)}"
        elif not label.strip():
            field_, msg = "label", "label is empty"
        else:
            field_, msg = "group_id", f"group_id must be an integer or null, found {_kind(gid)} {_short(gid)}"
        return error("labelme.bad_field", msg + "; shape skipped", source=f"{where}:shapes[{i}].{field_}")

    # ------------------------------------------------------------------ the image

    def _probe(self, path: str) -> tuple[int, int, int, str] | str | None:
        """The header facts of an image file (cached); None when missing; a message when unreadable."""
        hit = self.probe_cache.get(path, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        out: tuple[int, int, int, str] | str | None
        if not os.path.isfile(path):
            out = None
        else:
            out = _probe_image(path)
        self.probe_cache[path] = out
        return out

    def _image(self, path: Path, json_abs: str, where: str, doc: dict[str, Any]) -> RawImage | None:
        """The RawImage of one file (``file_name`` holds the absolute path until the root is known)."""
        findings = self.findings
        image_path = doc.get("imagePath")
        image_data = doc.get("imageData")
        if image_path is not None and type(image_path) is not str:
            findings.append(error("labelme.bad_field", f"imagePath must be a string, found {_kind(image_path)}",
                                  source=f"{where}:imagePath"))  # fmt: skip
            image_path = None
        if image_data is not None and type(image_data) is not str:
            findings.append(error("labelme.bad_field", f"imageData must be a base64 string or null, found {_kind(image_data)}",
                                  source=f"{where}:imageData"))  # fmt: skip
            image_data = None
        declared: list[int | None] = []
        for key in ("imageWidth", "imageHeight"):
            val = doc.get(key)
            if val is None or (type(val) is int and val <= 0):  # X-AnyLabeling writes -1 for unknown
                declared.append(None)
            elif type(val) is int:
                declared.append(val)
            else:
                findings.append(error("labelme.bad_field", f"{key} must be an integer, found {_kind(val)} {_short(val)}",
                                      source=f"{where}:{key}"))  # fmt: skip
                declared.append(None)
        width, height = declared
        if not image_path and not image_data:
            findings.append(error("labelme.bad_field", "imagePath is missing and there is no imageData: "
                                  "the file names no image; skipped", source=f"{where}:imagePath"))  # fmt: skip
            return None

        json_dir = os.path.dirname(json_abs)
        rel = (image_path or "").replace("\\", "/")
        base = rel.rsplit("/", 1)[-1]
        candidates: list[str] = []
        if rel:
            direct = os.path.normpath(os.path.join(json_dir, rel))
            if self.images_dir is None:
                candidates = [direct, os.path.join(json_dir, base)]
            else:
                root = self.images_dir
                if _inside(direct, root):
                    candidates.append(direct)
                under = os.path.normpath(os.path.join(root, rel.lstrip("/")))
                if _inside(under, root):
                    candidates.append(under)
                candidates.append(os.path.join(root, base))
            # apc2016_obj3.json: imagePath names the JSON itself, never an image
            candidates = [c for c in dict.fromkeys(candidates) if c != json_abs]

        located: str | None = None
        header: tuple[int, int, int, str] | None = None
        unreadable: str | None = None
        if self.opts.read_images:
            for cand in candidates:
                probe = self._probe(cand)
                if probe is None:
                    continue
                located = cand
                if isinstance(probe, str):
                    unreadable = probe
                else:
                    header = probe
                break
        elif candidates:
            located = candidates[0]

        use_data = bool(image_data) and (
            self.opts.extract_dir is not None or (self.opts.read_images and header is None)
        )
        if use_data:
            try:
                decoded = _probe_image(io.BytesIO(base64.b64decode(image_data)))  # type: ignore[arg-type]
            except (binascii.Error, ValueError) as exc:
                decoded = f"cannot decode base64: {exc}"
            if isinstance(decoded, str):
                findings.append(error("labelme.image_data_invalid", f"imageData is not an image: {decoded}",
                                      source=f"{where}:imageData"))  # fmt: skip
                use_data = False
            else:
                header, unreadable = decoded, None
                ext = _IMAGE_EXT.get(decoded[3], ".img")
                stem = os.path.splitext(os.path.basename(json_abs))[0]
                if self.opts.extract_dir is not None:
                    rel_json = os.path.relpath(json_abs, self.json_root or json_dir)
                    target = os.path.join(
                        os.path.abspath(self.opts.extract_dir), os.path.splitext(rel_json)[0] + ext
                    )
                    self.extractions.append(Extraction(path, Path(target), f"{where}:imageData"))
                    located = target
                else:
                    if located is None:
                        if candidates and _has_image_ext(base):
                            located = candidates[0]
                        else:
                            located = os.path.join(self.images_dir or json_dir, stem + ext)
                    findings.append(
                        warning(
                            "labelme.image_embedded",
                            "the image exists only as base64 imageData inside the JSON; pass "
                            "--extract-images DIR to write it out (it is never copied into the COCO file)",
                            source=f"{where}:imageData",
                        )
                    )
        if unreadable is not None:
            findings.append(error("labelme.image_unreadable", unreadable, source=f"{where}:imagePath"))
        elif header is None and self.opts.read_images:
            looked = " or ".join(repr(c) for c in candidates) or "nowhere (imagePath names the JSON itself)"
            findings.append(
                warning(
                    "labelme.image_missing",
                    f"image not found (looked for {looked}); "
                    + ("its size is taken from imageWidth/imageHeight" if width and height else "its size is unknown"),
                    source=f"{where}:imagePath",
                )
            )
        if located is None:
            located = os.path.normpath(os.path.join(json_dir, rel or os.path.basename(json_abs)))

        if header is not None:
            hw, hh, orientation, _ = header
            seen = (hh, hw) if orientation in (5, 6, 7, 8) else (hw, hh)
            if orientation in _ROTATING_ORIENTATIONS:
                findings.append(
                    warning(
                        "labelme.image_exif_rotated",
                        f"the image has EXIF orientation {orientation}: LabelMe showed it rotated, so the "
                        "keypoints are in the rotated frame, but most training readers ignore EXIF; "
                        "rotate the pixels (e.g. PIL.ImageOps.exif_transpose) before training",
                        source=f"{where}:imagePath",
                    )
                )
            if width is not None and height is not None and (width, height) != seen:
                findings.append(
                    error(
                        "labelme.image_size_mismatch",
                        f"imageWidth x imageHeight is {width}x{height}, the image is {seen[0]}x{seen[1]}; "
                        "the image's size is used (were the images resized after labelling?)",
                        source=f"{where}:imageWidth",
                    )
                )
                width, height = seen
            elif width is None or height is None:
                width, height = seen
        return RawImage(file_name=located, width=width, height=height, source=where)


def _probe_image(target: str | io.BytesIO) -> tuple[int, int, int, str] | str:
    """(width, height, EXIF orientation, format) from an image header, or why it cannot be read."""
    from ...images import pil

    Image = pil()  # noqa: N806 - PIL.Image, with kpconv's decompression-bomb setting

    try:
        with Image.open(target) as im:
            w, h = im.size
            orientation = 1
            # LabelMe applies EXIF orientation only for formats with _getexif (JPEG/MPO).
            if im.format in ("JPEG", "MPO") and "exif" in im.info:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            return int(w), int(h), orientation, im.format or ""
    except (Image.UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return f"cannot read image: {exc}"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _has_image_ext(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


# --------------------------------------------------------------------------- the whole set


def _without_points(what: str, source: str) -> Finding:
    return warning(
        "labelme.instance_without_points",
        f"{what} has no point shapes (none share its group_id or lie inside it), and no instance of its "
        "category has any: not a keypoint annotation, skipped",
        source=source,
    )


def parse_paths(
    sources: Sequence[Path], options: LabelmeOptions | None = None, *, exclude: Iterable[Path] = ()
) -> LabelmeParse:
    """Parse every LabelMe JSON file under ``sources`` into one :class:`LabelmeParse`.

    A bad file becomes located findings and is skipped; the others are converted. No file is
    written here (embedded images to extract are listed in ``extractions``; see
    :func:`write_extractions`).
    """
    opts = options or LabelmeOptions()
    files = find_json_files(sources, exclude)
    if not files:
        raise UsageError(f"no .json files found in {', '.join(str(s) for s in sources)}")
    cwd = os.getcwd()  # once: os.path.abspath would ask for it per file
    absolute = [os.path.normpath(os.path.join(cwd, p)) for p in files]
    named = {os.path.normpath(os.path.join(cwd, p)) for p in sources if Path(p).exists() and not Path(p).is_dir()}
    json_root = os.path.commonpath([os.path.dirname(a) for a in absolute])
    reader = _Reader(opts, json_root)
    images: list[RawImage] = []
    instances: list[RawInstance] = []
    pending: list[tuple[RawInstance, list[str]]] = []
    with gc_paused():
        for path, json_abs in track(zip(files, absolute, strict=True), total=len(files), description="reading LabelMe files"):
            image, insts, waiting = reader.read(path, json_abs, json_abs not in named)
            if image is not None:
                images.append(image)
                instances.extend(insts)
                pending.extend(waiting)

    _settle_categories(reader, instances, pending)
    instances = reader.keep_box_only(instances)
    root = _images_root(reader, images)
    _name_images(reader, images, instances, root)

    findings = reader.findings
    if reader.other:
        shown_other = "; ".join(f"{f} ({what})" for f, what in reader.other[:5])
        more = f"; and {len(reader.other) - 5} more" if len(reader.other) > 5 else ""
        findings.append(info(
            "labelme.other_files_skipped",
            f"{len(reader.other)} JSON file(s) found in the folders are not LabelMe files and were skipped: "
            f"{shown_other}{more}", source=reader.other[0][0],
        ))  # fmt: skip
    if root is not None and images:
        shown = os.path.relpath(root) if _inside(root, os.path.abspath(os.curdir)) else root
        findings.append(
            info(
                "labelme.images_root",
                f"image file_name values are relative to {shown!r}: pass --images {shown} to "
                "`kpconv validate` and `kpconv visualize`",
            )
        )
    result = ParseResult(images=images, instances=instances, findings=findings)
    return LabelmeParse(
        result=result,
        files=files,
        images_root=Path(root) if root is not None else None,
        extractions=reader.extractions,
        files_failed=reader.failed,
        files_skipped=len(reader.other),
    )


def _settle_categories(
    reader: _Reader, instances: list[RawInstance], pending: list[tuple[RawInstance, list[str]]]
) -> None:
    """Category of points-only instances, first that applies: a common ``cat.`` label prefix (through
    ``--category``); the one spec category that knows all their labels; ``--category object=NAME``;
    a one-category spec; the dataset's only rectangle/polygon category; else ``object``."""
    if not pending:
        return
    box_categories = {inst.category for inst in instances if inst.category and inst.points}
    spec = reader.opts.spec
    for raw, labels in pending:
        prefixes = {lab.rsplit(".", 1)[0] for lab in labels if "." in lab}
        label: str | None = None
        if len(prefixes) == 1 and all("." in lab for lab in labels):
            label = prefixes.pop()
        elif spec is not None and len(spec.categories) > 1:
            knowing = [c.name for c in spec.categories if all(c.index_of(lab) is not None for lab in labels)]
            if len(knowing) == 1:
                label = knowing[0]
        if label is not None:
            raw.category = reader.category(label, raw.source)
        elif DEFAULT_CATEGORY in reader.opts.categories:
            raw.category = reader.opts.categories[DEFAULT_CATEGORY]
        elif spec is not None and len(spec.categories) == 1:
            raw.category = spec.categories[0].name
        elif len(box_categories) == 1:
            raw.category = next(iter(box_categories))
        else:
            raw.category = reader.category(DEFAULT_CATEGORY, raw.source)


def _images_root(reader: _Reader, images: list[RawImage]) -> str | None:
    if reader.images_dir is not None:
        return reader.images_dir
    if not images:
        return None
    return os.path.commonpath([os.path.dirname(img.file_name) for img in images])


def _name_images(reader: _Reader, images: list[RawImage], instances: list[RawInstance], root: str | None) -> None:
    """Turn absolute image paths into ``file_name`` relative to the root; note shared images."""
    if root is None:
        return
    names: dict[str, str] = {}
    owners: dict[str, str] = {}
    for img in images:
        abs_path = img.file_name
        name = names.get(abs_path)
        if name is None:
            name = os.path.relpath(abs_path, root).replace(os.sep, "/")
            names[abs_path] = name
        prev = owners.get(name)
        if prev is not None:
            reader.findings.append(
                warning(
                    "labelme.image_shared",
                    f"{prev} and {img.source} both describe image {name!r}: their instances are merged",
                    source=img.source,
                )
            )
        else:
            owners[name] = img.source
        img.file_name = name
    for inst in instances:
        inst.image = names[inst.image]


# --------------------------------------------------------------------------- extracting images


def write_extractions(extractions: Sequence[Extraction]) -> tuple[int, list[Finding]]:
    """Decode each embedded image and write it (atomically) to its target.

    An existing identical file is left alone; an existing different file is never overwritten
    (``labelme.extract_conflict``). Returns (files written, findings).
    """
    written = 0
    findings: list[Finding] = []
    for ex in extractions:
        try:
            doc = loads_json(ex.json_path.read_bytes(), source=ex.source)
            data = base64.b64decode(doc["imageData"])
        except (OSError, DataError, KeyError, TypeError, binascii.Error) as exc:
            findings.append(error("labelme.extract_failed", f"cannot re-read the embedded image: {exc}", source=ex.source))
            continue
        if ex.target.exists():
            if ex.target.is_file() and ex.target.read_bytes() == data:
                continue
            findings.append(
                error(
                    "labelme.extract_conflict",
                    f"{ex.target} already exists with other content; not overwritten (choose another --extract-images DIR)",
                    source=ex.source,
                )
            )
            continue
        atomic_write_bytes(ex.target, data)
        written += 1
    return written, findings
