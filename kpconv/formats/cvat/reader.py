"""Streaming reader: CVAT for images / video 1.1 XML → raw instances, one ParseResult per subset.

expat parses the XML chunk by chunk into ElementTree elements (its calls go straight to the C
tree builder: no Python code runs per element). After each chunk the reader takes the
elements directly under the root that are complete (an ``<image>``, a ``<track>``, ``<meta>``)
and drops them, so memory holds about one chunk of elements plus what has been converted so far.
Per image the shapes are first collected, then assembled into instances:

1. ``<skeleton>`` and multi-point ``<points>`` are instances by themselves;
2. shapes sharing a ``group_id`` form one instance (its box → bbox, its polygon → segmentation);
3. ungrouped single-point ``<points>`` go to the one box (else polygon) of an instance label that
   contains them; a point inside none or several is reported and left out; an image with
   ungrouped points and no such box is one instance per category;
4. remaining boxes/polygons attach to the instance of the same label whose points they contain.

An image that holds only skeletons (the bulk of a big export) needs no assembly: its skeletons
are read together, their points at C speed (:func:`~kpconv.convert.builder.instances_from_columns`).

Video tracks become one image per frame where some shape is not ``outside`` (see
:meth:`CvatReader._track`). A skeleton track's element points come in one of two layouts: CVAT's
(``dump_as_cvat_interpolation``), where each ``<skeleton frame=N>`` holds one ``<points
label=element>`` per element and carries no ``outside``/``occluded`` of its own, or the nested
layout, where the skeleton track holds one ``<track label=element>`` per element whose
``<points frame=N>`` give that element's point on frame N.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter, contains, itemgetter
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

import numpy as np
import numpy.typing as npt

from ...convert.assembly import (
    OUTSIDE,
    Container,
    Region,
    box,
    boxes_else_polygons,
    by_group,
    claim,
    extent_of,
    members,
    place,
    polygon,
    union_box,
)
from ...convert.builder import ParseResult, RawImage, RawInstance, RawPoint, instances_from_columns
from ...errors import DataError
from ...finding import Finding, error, info, warning
from ...memory import gc_paused
from ...spec import KeypointSpec, spec_from_mapping
from .meta import Meta, read_meta, typed_value
from .xmlsource import XmlSource, feed, new_parser

DEFAULT_FRAME_PATTERN = "frame_{frame:06d}.png"
DEFAULT_SUBSET = "default"

#: values of the --visibility-attribute (case-insensitive) → COCO v
VISIBILITY_WORDS: dict[str, int] = {
    "2": 2, "visible": 2, "true": 2, "yes": 2,
    "1": 1, "occluded": 1, "invisible": 1, "hidden": 1, "false": 1, "no": 1,
    "0": 0, "absent": 0, "outside": 0, "missing": 0, "none": 0, "not_labeled": 0, "not labeled": 0,
}  # fmt: skip

#: category placeholder for point-only instances (no box, no group box, no `category.` prefix)
_UNDECIDED = "\x00point-only"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_ATTRIB = attrgetter("attrib")
_KIND = itemgetter("label", "outside", "occluded")
_COORDS = itemgetter("points")


@dataclass
class CvatOptions:
    """How to read a CVAT export (see the ``from-cvat`` command for the user-facing side)."""

    frame_pattern: str = DEFAULT_FRAME_PATTERN
    visibility_attribute: str | None = None
    subset: str | None = None
    default_category: str | None = None  # None: decided at the end (see _resolve_undecided)


@dataclass
class CvatExport:
    """A parsed export: one :class:`ParseResult` per subset ('' when the export has none)."""

    source: XmlSource
    subsets: dict[str, ParseResult]
    spec: KeypointSpec | None
    spec_from_labels: bool  # some category was not defined by a skeleton in <meta>
    mode: str  # "images", "video", "images+video" or "empty"
    numbered: list[tuple[ParseResult, RawInstance]] = field(default_factory=list)
    subsets_seen: list[str] = field(default_factory=list)

    def keypoint_categories(self) -> list[str]:
        return self.spec.names() if self.spec is not None else []


@dataclass(slots=True)
class _Single:
    label: str
    point: RawPoint
    group: str | None


@dataclass(slots=True)
class _Area:
    kind: str  # "box" | "polygon"
    label: str
    group: str | None
    region: Region
    source: str
    attributes: dict[str, Any]
    used: bool = False


@dataclass(slots=True)
class _Frame:
    """The shapes of one image or video frame, before they are assembled into instances."""

    whole: list[tuple[RawInstance, str | None]] = field(default_factory=list)
    singles: list[_Single] = field(default_factory=list)
    areas: list[_Area] = field(default_factory=list)
    task: str | None = None


@dataclass(slots=True)
class _Points:
    """The element points of some skeletons: per skeleton how many, then per point its label
    (a code: see :meth:`CvatReader._code`), x, y and v."""

    counts: list[int]
    label: IntArray
    x: FloatArray
    y: FloatArray
    v: IntArray


class _Tally:
    """Findings that would repeat per shape, counted instead (bounded memory on big exports)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], list[Any]] = {}

    def add(self, code: str, what: str, source: str, n: int = 1) -> None:
        entry = self.items.get((code, what))
        if entry is None:
            self.items[(code, what)] = [n, source]
        else:
            entry[0] += n

    def findings(self) -> list[Finding]:
        out = []
        for (code, what), (count, first) in self.items.items():
            msg = f"{count} {what}" + (" (located at the first)" if count > 1 else "")
            make = warning if code in _TALLY_WARNINGS else info
            out.append(make(code, msg, source=first))
        return out


_TALLY_WARNINGS = {"cvat.visibility_value"}


def _group(value: str | None) -> str | None:
    # CVAT writes group_id only for grouped shapes; 0 means "no group" in CVAT's model.
    if not value or value == "0":
        return None
    return value


def _bad_skeleton_point(label: str, points: str | None, source: str) -> Finding:
    """The finding for a skeleton element point whose ``points`` is not ``x,y`` (left out)."""
    return error(
        "cvat.bad_points",
        f'skeleton point {label!r}: expected points="x,y", found {points!r}; point left out',
        source=source,
    )


def _xy(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    xs, _, ys = text.partition(",")
    try:
        x, y = float(xs), float(ys)
    except ValueError:
        return None
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return x, y


def _coords(text: str | None) -> list[float] | None:
    """``"x1,y1;x2,y2"`` → flat list; None when malformed."""
    if not text:
        return None
    out: list[float] = []
    for pair in text.split(";"):
        xy = _xy(pair.strip())
        if xy is None:
            return None
        out += xy
    return out


def rotated_box(xtl: float, ytl: float, xbr: float, ybr: float, degrees: float) -> Region:
    """A CVAT ``<box>`` as a region: rotated by ``degrees`` about its centre, its enclosing box."""
    if not degrees:
        return box(xtl, ytl, xbr, ybr)
    cx, cy = (xtl + xbr) / 2, (ytl + ybr) / 2
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    corners = []
    for x, y in ((xtl, ytl), (xbr, ytl), (xbr, ybr), (xtl, ybr)):
        dx, dy = x - cx, y - cy
        corners += [cx + dx * c - dy * s, cy + dx * s + dy * c]
    return Region(extent_of(corners))


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _bulk_xy(coords: list[str]) -> FloatArray | None:
    """``points="x,y"`` of many points as an (n, 2) array at C speed; None when one is not
    two finite numbers (as :func:`_xy` reads them)."""
    parts = ",".join(coords).split(",")
    if len(parts) != 2 * len(coords) or not all(map(contains, coords, repeat(","))):
        return None  # some has no comma, or several
    try:
        xy = np.fromiter(map(float, parts), np.float64, len(parts)).reshape(-1, 2)
    except ValueError:
        return None
    return xy if np.isfinite(xy).all() else None


class CvatReader:
    """One pass over one export; :meth:`read` returns the :class:`CvatExport`."""

    def __init__(
        self,
        source: XmlSource,
        options: CvatOptions | None = None,
        spec: KeypointSpec | None = None,
    ):
        self.source = source
        self.where = source.display
        self.opts = options or CvatOptions()
        self.user_categories = set(spec.names()) if spec is not None else None
        self.meta = Meta()
        self.results: dict[str, ParseResult] = {}
        self.tallies: dict[str, _Tally] = {}
        self.image_names: dict[str, set[str]] = {}
        self.subsets_seen: dict[str, None] = {}
        self.global_findings: list[Finding] = []
        self.numbered: list[tuple[ParseResult, RawInstance]] = []
        self.multi_sizes: dict[str, int] = {}
        self.singles_seen: dict[str, dict[str, str]] = {}  # category -> {keypoint: source label}
        # skeleton label not in <meta> -> sublabels
        self.skeletons_unknown: dict[str, list[str]] = {}
        self.frames: dict[int, _Frame] = {}
        self.undecided: list[tuple[ParseResult, RawInstance]] = []  # with the subset result it is in
        self.n_images = 0
        self.n_tracks = 0
        self.vis_attr = self.opts.visibility_attribute
        self._label_rank: dict[str, int] = {}
        self._names: dict[str, str] = {}  # one string object per point label name
        self._labels: list[str] = []  # point labels by code
        self._kinds: dict[tuple[str, str | None, str | None], int] = {}  # see _kinds_of
        self._codes: dict[str, int] = {}  # point label -> its code
        self._root: Element | None = None
        self._queued: list[tuple[str, list[Element]]] = []  # images of skeletons, read together
        self._queued_subset = ""

    # ----------------------------------------------------------------------------- streaming
    def read(self) -> CvatExport:
        """Stream the export once; returns the per-subset results and the export's spec."""
        parser = new_parser()
        builder = TreeBuilder()

        def root_start(tag: str, attrs: dict[str, str]) -> Element:
            self._root = builder.start(tag, attrs)
            parser.StartElementHandler = builder.start
            return self._root

        parser.StartElementHandler = root_start
        parser.EndElementHandler = builder.end
        parser.CharacterDataHandler = builder.data
        with gc_paused():  # nothing read forms cycles; collections would rescan all of it
            feed(self.source, parser, after_chunk=self._drain)
            self._drain(final=True)
        if self.frames:
            self._emit_frames()
        return self._finish()

    def _drain(self, final: bool = False) -> None:
        """Read and drop the root's complete children (all of them once the document ended)."""
        root = self._root
        if root is None:
            return
        done = list(root) if final else root[:-1]  # the last one may still be open
        if not done:
            return
        del root[: len(done)]
        for elem in done:
            if not self._queue(elem):
                self._flush()
                if not self._queue(elem):
                    self._element(elem)
        self._flush()

    def _element(self, elem: Element) -> None:
        """One element directly under the root."""
        tag = elem.tag
        if tag == "image":
            self._image(elem)
        elif tag == "track":
            self._track(elem)
        elif tag == "meta":
            self.meta = read_meta(elem, self.where)
            self.global_findings.extend(self.meta.findings)
            self._label_rank = {name: i for i, name in enumerate(self.meta.labels)}
        elif tag == "version":
            version = (elem.text or "").strip()
            if version != "1.1":
                self.global_findings.append(
                    warning(
                        "cvat.version",
                        f"export format version {version!r}; kpconv reads CVAT for images/video 1.1",
                        source=f"{self.where}:<version>",
                    )
                )
        else:
            self._tally(
                "", "cvat.shape_ignored", f"<{tag}> element(s) at top level ignored",
                f"{self.where}:<{tag}>",
            )  # fmt: skip

    def _result(self, subset: str) -> ParseResult:
        res = self.results.get(subset)
        if res is None:
            res = self.results[subset] = ParseResult()
            self.tallies[subset] = _Tally()
            self.image_names[subset] = set()
        return res

    def _tally(self, subset: str, code: str, what: str, source: str, n: int = 1) -> None:
        self._result(subset)
        self.tallies[subset].add(code, what, source, n)

    # ----------------------------------------------------------------------------- images
    # An image that holds only skeletons is queued (its entry made at once), and the skeletons
    # of a run of such images are read together (:meth:`_flush`) before anything else is read.
    def _queue(self, img: Element) -> bool:
        """Queue ``img`` when it is a first image of that name, holding only skeletons, of the
        subset of the queue; False (nothing done) otherwise."""
        if img.tag != "image":
            return False
        a = img.attrib
        name, subset = a.get("name"), a.get("subset") or ""
        if not name or (self._queued and subset != self._queued_subset):
            return False
        if self.opts.subset is not None and (subset or DEFAULT_SUBSET) != self.opts.subset:
            return False
        names = self.image_names.get(subset)
        if names is not None and name in names:
            return False  # merged, with a warning, by _image
        skeletons = img.findall("skeleton")
        if len(skeletons) != len(img):
            return False
        self._add_image(a, name, subset)
        self._queued.append((name, skeletons))
        self._queued_subset = subset
        return True

    def _flush(self) -> None:
        """Read the skeletons of the queued images into their subset's instances."""
        queued, subset = self._queued, self._queued_subset
        if not queued:
            return
        self._queued = []
        res = self.results[subset]
        where = self.where
        images: list[str] = []
        sources: list[str] = []
        skeletons: list[Element] = []
        for name, skels in queued:
            n = len(skels)
            images += [name] * n
            loc = f'{where}:<image name="{name}">'
            sources += [f"{loc}/skeleton[{i}]" for i in range(1, n + 1)]
            skeletons += skels
        if skeletons:
            res.instances += self._skeleton_instances(skeletons, images, sources, subset, res)

    def _skeleton_instances(
        self, skeletons: list[Element], images: list[str], sources: list[str], subset: str, res: ParseResult
    ) -> list[RawInstance]:
        """Skeletons as instances, read together: their points in bulk (:meth:`_skeleton_points`),
        the objects made at C speed."""
        labels = [sk.get("label") or "" for sk in skeletons]
        pts = self._skeleton_points(skeletons, sources, subset, res)
        attributes = None
        if list(map(len, skeletons)) != pts.counts:  # something besides points: attributes?
            attributes = self._skeleton_attributes(skeletons, labels)
        if not self.meta.sublabels.keys() >= set(labels):
            names = [self._labels[c] for c in pts.label.tolist()]
            start = 0
            for label, count in zip(labels, pts.counts, strict=True):
                self._note_skeleton(label, names[start : start + count])
                start += count
        return instances_from_columns(
            images, labels, sources, np.array(pts.counts, dtype=np.int64), self._labels,
            pts.label, pts.x, pts.y, pts.v, attributes=attributes,
        )  # fmt: skip

    def _add_image(self, a: dict[str, str], name: str, subset: str) -> ParseResult:
        """The image entry of a read ``<image>`` with a name (``a``: its attributes)."""
        self.subsets_seen.setdefault(subset, None)
        self.n_images += 1
        res = self._result(subset)
        loc = f'{self.where}:<image name="{name}">'
        names = self.image_names[subset]
        if name in names:
            res.findings.append(
                warning(
                    "cvat.duplicate_image",
                    f"image {name!r} appears more than once"
                    + (f" in subset {subset!r}" if subset else "")
                    + "; its shapes are merged into one image entry",
                    source=loc,
                )
            )
        names.add(name)
        res.images.append(RawImage(name, _int(a.get("width")), _int(a.get("height")), source=loc))
        return res

    def _image(self, img: Element) -> None:
        """An image that was not queued: its shapes assembled into instances (objects)."""
        a = img.attrib
        subset = a.get("subset") or ""
        self.subsets_seen.setdefault(subset, None)
        if self.opts.subset is not None and (subset or DEFAULT_SUBSET) != self.opts.subset:
            return
        name = a.get("name")
        if not name:
            self.n_images += 1
            self._result(subset).findings.append(
                error(
                    "cvat.image_without_name",
                    f"<image id={a.get('id')!r}> has no name attribute; its shapes are skipped",
                    source=f'{self.where}:<image id="{a.get("id")}">',
                )
            )
            return
        res = self._add_image(a, name, subset)
        loc = f'{self.where}:<image name="{name}">'
        frame = _Frame()
        counts: dict[str, int] = {}
        skeletons: list[Element] = []
        sources: list[str] = []
        at: list[int] = []  # where each skeleton goes among the frame's whole instances
        for shape in img:
            tag = shape.tag
            n = counts[tag] = counts.get(tag, 0) + 1
            src = f"{loc}/{tag}[{n}]"
            if tag == "skeleton":
                skeletons.append(shape)
                sources.append(src)
                at.append(len(frame.whole) + len(at))
            else:
                self._shape(shape, tag, src, name, frame, subset, res)
        if skeletons:  # read together, then put back in document order
            made = self._skeleton_instances(skeletons, [name] * len(skeletons), sources, subset, res)
            for i, inst, sk in zip(at, made, skeletons, strict=True):
                frame.whole.insert(i, (inst, _group(sk.get("group_id"))))
        self._assemble(name, frame, subset, res)

    def _skeleton_points(
        self,
        skeletons: list[Element],
        sources: list[str],
        subset: str,
        res: ParseResult,
    ) -> _Points:
        """The element points (``<points>`` children) of ``skeletons``, in document order.

        ``outside="1"`` is v=0 (x=y=0) whatever its coordinates, ``occluded="1"`` v=1, else v=2
        (or what ``--visibility-attribute`` says). A point whose ``points`` is not two finite
        numbers ``x,y`` is reported and left out. Read in bulk while every point is well formed;
        the first that is not sends these skeletons through :meth:`_checked_points`.
        """
        groups = [sk.findall("points") for sk in skeletons]
        if self.vis_attr is not None:
            return self._checked_points(groups, sources, subset, res)
        attrs = list(map(_ATTRIB, [p for g in groups for p in g]))
        try:
            coords = list(map(_COORDS, attrs))
        except KeyError:  # a point without coordinates
            return self._checked_points(groups, sources, subset, res)
        xy = _bulk_xy(coords)
        if xy is None:  # something to report (or outside points with odd coordinates)
            return self._checked_points(groups, sources, subset, res)
        kinds = self._kinds_of(attrs)
        v = kinds & 3
        xy[v == 0] = 0.0
        return _Points(list(map(len, groups)), kinds >> 2, xy[:, 0], xy[:, 1], v)

    def _kinds_of(self, attrs: list[dict[str, str]]) -> IntArray:
        """Per point (``attrs``: its attributes) label code × 4 + v, from the point's label,
        outside and occluded through a table of the combinations seen (a few per export)."""
        try:
            keys = list(map(_KIND, attrs))
        except KeyError:  # outside or occluded left out (or the label: "")
            keys = [(a.get("label", ""), a.get("outside"), a.get("occluded")) for a in attrs]
        table = self._kinds
        try:
            return np.fromiter(map(table.__getitem__, keys), np.int64, len(keys))
        except KeyError:
            for key in dict.fromkeys(keys):  # new labels get codes in first-seen order
                if key not in table:
                    label, outside, occluded = key
                    v = 0 if outside == "1" else 1 if occluded == "1" else 2
                    table[key] = 4 * self._code(label) + v
            return np.fromiter(map(table.__getitem__, keys), np.int64, len(keys))

    def _code(self, label: str) -> int:
        """The code of a point label (its index in ``self._labels``)."""
        code = self._codes.get(label)
        if code is None:
            code = self._codes[label] = len(self._labels)
            self._labels.append(label)
        return code

    def _checked_points(
        self,
        groups: list[list[Element]],
        sources: list[str],
        subset: str,
        res: ParseResult,
    ) -> _Points:
        """:meth:`_skeleton_points` one point at a time (bad points reported, the visibility
        attribute read)."""
        counts: list[int] = []
        labels: list[str] = []
        xs: list[float] = []
        ys: list[float] = []
        vs: list[int] = []
        for points, src in zip(groups, sources, strict=True):
            n = len(labels)
            for elem in points:
                a = elem.attrib
                label = a.get("label", "")
                if a.get("outside") == "1":
                    x = y = 0.0
                    v = 0
                else:
                    xy = _xy(a.get("points"))
                    if xy is None:
                        res.findings.append(
                            _bad_skeleton_point(label, a.get("points"), f"{src}/points[label={label!r}]")
                        )
                        continue
                    x, y = xy
                    v = 1 if a.get("occluded") == "1" else 2
                    if self.vis_attr is not None:
                        for attr in elem.iterfind("attribute"):
                            if attr.get("name") == self.vis_attr:
                                text = "".join(attr.itertext())
                                v = self._visibility_value(text, v, src, subset)
                                if v == 0:
                                    x = y = 0.0
                labels.append(label)
                xs.append(x)
                ys.append(y)
                vs.append(v)
            counts.append(len(labels) - n)
        return _Points(
            counts,
            np.array([self._code(label) for label in labels], dtype=np.int64),
            np.array(xs, dtype=np.float64),
            np.array(ys, dtype=np.float64),
            np.array(vs, dtype=np.int64),
        )

    def _skeleton_attributes(
        self, skeletons: list[Element], labels: list[str]
    ) -> list[dict[str, Any]]:
        """The ``<attribute>`` children of each skeleton, typed by ``<meta>``."""
        out: list[dict[str, Any]] = []
        for sk, label in zip(skeletons, labels, strict=True):
            found: dict[str, Any] = {}
            for attr in sk.iterfind("attribute"):
                name = attr.get("name")
                if name:
                    types = self.meta.attribute_types(label)
                    found[name] = typed_value(types.get(name), "".join(attr.itertext()))
            out.append(found)
        return out

    def _shape(
        self,
        elem: Element,
        tag: str,
        src: str,
        image: str,
        frame: _Frame,
        subset: str,
        res: ParseResult,
    ) -> None:
        """One shape element of an image (or one frame of a track) into ``frame``."""
        a = elem.attrib
        label = a.get("label") or ""
        if tag == "points":
            self._points(elem, label, src, image, frame, subset, res)
        elif tag == "box" or tag == "polygon":
            area = self._area(elem, tag, label, src, res)
            if area is not None:
                frame.areas.append(area)
        else:
            what = f"<{tag}> shape(s)" + (f" with label {label!r}" if label else "")
            self._tally(
                subset, "cvat.shape_ignored", f"{what} are not keypoints and were ignored", src
            )

    def _attributes(self, elem: Element, label: str, parent: str | None = None) -> dict[str, Any]:
        types: dict[str, str] | None = None
        out: dict[str, Any] = {}
        for child in elem:
            if child.tag != "attribute":
                continue
            name = child.attrib.get("name")
            if not name:
                continue
            if types is None:
                types = self.meta.attribute_types(label, parent)
            out[name] = typed_value(types.get(name), child.text)
        return out

    def _visibility(self, elem: Element, v: int, src: str, subset: str) -> int:
        """Apply --visibility-attribute: the point's attribute value decides v (outside still wins)."""
        for child in elem:
            if child.tag == "attribute" and child.attrib.get("name") == self.vis_attr:
                return self._visibility_value(child.text or "", v, src, subset)
        return v

    def _visibility_value(self, text: str, v: int, src: str, subset: str) -> int:
        value = text.strip().lower()
        mapped = VISIBILITY_WORDS.get(value)
        if mapped is None:
            self._tally(
                subset,
                "cvat.visibility_value",
                f"point(s) with {self.vis_attr}={value!r}, which is not a visibility "
                f"(expected one of {', '.join(sorted(set(VISIBILITY_WORDS)))}); "
                "occluded/outside flags used instead",
                src,
            )
            return v
        return mapped

    def _note_skeleton(self, label: str, points: Iterable[str]) -> None:
        """Keypoints of a skeleton not in <meta>, in first-seen order (``points``: their labels)."""
        if label in self.meta.sublabels:
            return
        names = self.skeletons_unknown.setdefault(label, [])
        for p in points:
            if p not in names:
                names.append(p)

    def _points(
        self,
        elem: Element,
        label: str,
        src: str,
        image: str,
        frame: _Frame,
        subset: str,
        res: ParseResult,
    ) -> None:
        a = elem.attrib
        coords = _coords(a.get("points"))
        if not coords:
            res.findings.append(
                error(
                    "cvat.bad_points",
                    f'<points label={label!r}>: expected points="x1,y1;x2,y2;...", found '
                    f"{a.get('points')!r}; shape left out",
                    source=src,
                )
            )
            return
        if not label:
            self._tally(
                subset, "cvat.shape_ignored", "<points> shape(s) without a label were ignored", src
            )
            return
        v = 0 if a.get("outside") == "1" else 1 if a.get("occluded") == "1" else 2
        if self.vis_attr is not None and v:
            v = self._visibility(elem, v, src, subset)
        n = len(coords) // 2
        group = _group(a.get("group_id"))
        if n > 1 or (self.user_categories is not None and label in self.user_categories):
            # the i-th point is the i-th keypoint; named later from the spec (or label_1..N)
            pts = [
                RawPoint(f"{label}_{i + 1}", coords[2 * i], coords[2 * i + 1], v)
                if v
                else RawPoint(f"{label}_{i + 1}", 0.0, 0.0, 0)
                for i in range(n)
            ]
            inst = RawInstance(
                image=image,
                category=label,
                points=pts,
                source=src,
                attributes=self._attributes(elem, label),
            )
            self.numbered.append((res, inst))
            if n > self.multi_sizes.get(label, 0):
                self.multi_sizes[label] = n
            frame.whole.append((inst, group))
            return
        point = (
            RawPoint(label, coords[0], coords[1], v, src)
            if v
            else RawPoint(label, 0.0, 0.0, 0, src)
        )
        frame.singles.append(_Single(label, point, group))

    def _area(
        self, elem: Element, tag: str, label: str, src: str, res: ParseResult
    ) -> _Area | None:
        a = elem.attrib
        if tag == "box":
            try:
                xtl, ytl, xbr, ybr = (float(a[k]) for k in ("xtl", "ytl", "xbr", "ybr"))
                rotation = float(a.get("rotation") or 0)
            except (KeyError, ValueError):
                xtl = ytl = xbr = ybr = rotation = math.nan
            if (
                not all(math.isfinite(c) for c in (xtl, ytl, xbr, ybr, rotation))
                or xbr <= xtl
                or ybr <= ytl
            ):
                res.findings.append(
                    error(
                        "cvat.bad_box",
                        "box needs numbers with xtl < xbr and ytl < ybr, found "
                        f"xtl={a.get('xtl')!r} ytl={a.get('ytl')!r} xbr={a.get('xbr')!r} ybr={a.get('ybr')!r}; "
                        "box left out",
                        source=src,
                    )
                )
                return None
            region = rotated_box(xtl, ytl, xbr, ybr, rotation)
        else:
            coords = _coords(a.get("points"))
            if not coords or len(coords) < 6:
                res.findings.append(
                    error(
                        "cvat.bad_polygon",
                        f'polygon needs at least 3 points "x1,y1;x2,y2;x3,y3", found {a.get("points")!r}; '
                        "polygon left out",
                        source=src,
                    )
                )
                return None
            region = polygon(coords)
        return _Area(
            tag, label, _group(a.get("group_id")), region, src, self._attributes(elem, label)
        )

    # ----------------------------------------------------------------------------- assembly
    def _kp_name(self, label: str, category: str) -> str:
        # `tshirt.neck` in category `tshirt` is keypoint `neck` (as the builder resolves it)
        if "." in label:
            prefix, _, rest = label.rpartition(".")
            if prefix == category:
                return rest
        return label

    def _single_instance(
        self,
        image: str,
        category: str,
        singles: list[_Single],
        area: _Area | None,
        res: ParseResult,
    ) -> RawInstance:
        points: list[RawPoint] = []
        first: dict[str, str] = {}
        seen = self.singles_seen.setdefault(category, {})
        for s in singles:
            name = self._kp_name(s.label, category)
            if name in first:
                res.findings.append(
                    error(
                        "cvat.repeated_label",
                        f"label {s.label!r} appears twice in one "
                        + ("instance of single points on this image" if category == _UNDECIDED else f"{category!r} instance")
                        + f" (first at "
                        f"{first[name]}); this point is left out. Give the two points different "
                        "labels (e.g. left_/right_) or separate the instances with group_id",
                        source=s.point.source,
                    )
                )
                continue
            first[name] = s.point.source
            seen.setdefault(name, s.label)
            points.append(s.point)
        inst = RawInstance(
            image=image, category=category, points=points, source=singles[0].point.source
        )
        if category == _UNDECIDED:
            self.undecided.append((res, inst))
        if area is not None:
            self._use(inst, area)
        return inst

    @staticmethod
    def _use(inst: RawInstance, area: _Area) -> None:
        area.used = True
        if area.kind == "box":
            inst.bbox = area.region.bbox
        else:
            inst.polygon = [list(area.region.ring or ())]
            if inst.bbox is None:
                inst.bbox = union_box([area.region])  # COCO: the box of the segmented object
        for k, v in area.attributes.items():
            inst.attributes.setdefault(k, v)

    def _category_of(self, label: str) -> str:
        if "." in label:
            return label.rpartition(".")[0]
        return self.opts.default_category or _UNDECIDED

    def _resolve_undecided(self) -> None:
        """Name the category of point-only instances once the whole export has been seen, and
        say so in each subset's report (with that subset's count).

        The user's one-category spec wins; else the only category single points got elsewhere
        (from their boxes or prefixes); else ``object``.
        """
        seen = self.singles_seen.pop(_UNDECIDED, None)
        if not self.undecided:
            return
        others = [c for c in self.singles_seen if c != _UNDECIDED]
        if self.user_categories is not None and len(self.user_categories) == 1:
            name, why = next(iter(self.user_categories)), "the spec's only category"
        elif len(others) == 1:
            name, why = others[0], "the only category single points have elsewhere in the export"
        else:
            name, why = "object", "no box, group box or 'category.' prefix names one"
        for _, inst in self.undecided:
            inst.category = name
        merged = self.singles_seen.setdefault(name, {})
        for k, v in (seen or {}).items():
            merged.setdefault(k, v)
        per_result: dict[int, tuple[ParseResult, list[RawInstance]]] = {}
        for res, inst in self.undecided:
            per_result.setdefault(id(res), (res, []))[1].append(inst)
        for res, insts in per_result.values():
            res.findings.insert(0, info(
                "cvat.category_assumed",
                f"{len(insts)} instance(s) made of single points with no box: category "
                f"{name!r} assumed ({why}); --category-name chooses another",
                source=insts[0].source,
            ))  # fmt: skip

    def _assemble(self, image: str, frame: _Frame, subset: str, res: ParseResult) -> None:
        """Turn one image's shapes into instances (see the module docstring for the rules)."""
        out = res.instances
        if not frame.singles and not frame.areas:  # the common case: skeletons / multi-points only
            out.extend(inst for inst, _ in frame.whole)
            return
        built: list[RawInstance] = [inst for inst, _ in frame.whole]
        groups, (_, loose, free) = by_group(
            frame.whole,
            ((s, s.group) for s in frame.singles),
            ((x, x.group) for x in frame.areas),
        )
        for g, (wholes, singles, areas) in groups.items():
            owner = self._group_owner(g, wholes, singles, areas, image, res)
            if owner is not None and singles:
                built.append(owner)
        if loose:
            built += self._place(image, loose, frame, free, res)
        self._claim(built, free)
        for area in frame.areas:
            if not area.used:
                what = f"<{area.kind}> shape(s)" + (
                    f" with label {area.label!r}" if area.label else ""
                )
                self._tally(
                    subset,
                    "cvat.shape_ignored",
                    f"{what} belong to no keypoint instance and were ignored",
                    area.source,
                )
        out.extend(inst for inst in built if inst.points)

    def _group_owner(
        self,
        g: str,
        wholes: list[RawInstance],
        singles: list[_Single],
        areas: list[_Area],
        image: str,
        res: ParseResult,
    ) -> RawInstance | None:
        """The instance of one group_id, its box and polygon attached; None when unclear."""
        owner: RawInstance | None = None
        if singles:
            labels = {x.label for x in areas if x.label}
            category = labels.pop() if len(labels) == 1 else self._category_of(singles[0].label)
            owner = self._single_instance(image, category, singles, None, res)
        elif len(wholes) == 1:
            owner = wholes[0]
        elif wholes and areas:
            res.findings.append(
                warning(
                    "cvat.ambiguous_group",
                    f"group_id {g} holds {len(wholes)} skeleton/points instances and "
                    f"{len(areas)} box/polygon shape(s): which box belongs to which instance is "
                    "unknown, so none is attached (boxes derived from the points)",
                    source=areas[0].source,
                )
            )
        if owner is None:
            return None
        boxes = [x for x in areas if x.kind == "box"]
        polys = [x for x in areas if x.kind == "polygon"]
        if len(boxes) == 1:
            self._use(owner, boxes[0])
        if len(polys) == 1:
            self._use(owner, polys[0])
        if len(boxes) > 1 or len(polys) > 1:
            res.findings.append(
                warning(
                    "cvat.ambiguous_group",
                    f"group_id {g} holds {len(boxes)} boxes and {len(polys)} polygons for one "
                    "instance; only a single box / polygon can be its bbox / segmentation",
                    source=(boxes + polys)[0].source,
                )
            )
        return owner

    def _containers(self, frame: _Frame, free: list[_Area]) -> list[_Area]:
        """The ungrouped boxes (else polygons) that may hold ungrouped points: those of an
        instance label, i.e. not a keypoint, sublabel or multi-point label (and with a spec,
        one of its categories)."""
        kp_labels = {s.label for s in frame.singles}
        kp_labels.update(inst.category for inst, _ in frame.whole)
        eligible = [
            x
            for x in free
            if x.label
            and x.label not in kp_labels
            and x.label not in self.meta.sublabels
            and x.label not in self.multi_sizes
            and (self.user_categories is None or x.label in self.user_categories)
        ]
        return boxes_else_polygons(eligible, lambda x: x.kind == "box")

    def _place(
        self, image: str, loose: list[_Single], frame: _Frame, free: list[_Area], res: ParseResult
    ) -> list[RawInstance]:
        """Ungrouped single points: one instance per box (or polygon) holding them."""
        containers = self._containers(frame, free)
        if not containers:
            by_cat: dict[str, list[_Single]] = {}
            for s in loose:
                by_cat.setdefault(self._category_of(s.label), []).append(s)
            return [self._single_instance(image, c, ss, None, res) for c, ss in by_cat.items()]
        placed = place(
            [(s.point.x, s.point.y, s.label) for s in loose],
            [Container([c.region], [c.label]) for c in containers],
        )
        for s, p in zip(loose, placed, strict=True):
            if p == OUTSIDE:
                res.findings.append(
                    error(
                        "cvat.point_outside_boxes",
                        f"point {s.label!r} at ({s.point.x:g}, {s.point.y:g}) has no group_id and is "
                        f"inside none of the {len(containers)} "
                        f"{'box' if containers[0].kind == 'box' else 'polygon'}(s) of this image "
                        f"({', '.join(sorted({c.label for c in containers}))}); it belongs to no "
                        "instance and is left out",
                        source=s.point.source,
                    )
                )
            elif type(p) is tuple:
                res.findings.append(
                    error(
                        "cvat.point_in_several_boxes",
                        f"point {s.label!r} at ({s.point.x:g}, {s.point.y:g}) has no group_id and is "
                        f"inside {len(p)} boxes/polygons ("
                        + ", ".join(containers[i].source.rsplit("/", 1)[-1] for i in p)
                        + "); which instance it belongs to is ambiguous, so it is left out "
                        "(set group_id in CVAT to decide)",
                        source=s.point.source,
                    )
                )
        return [
            self._single_instance(
                image, containers[i].label, [loose[j] for j in js], containers[i], res
            )
            for i, js in members(placed).items()
        ]

    def _claim(self, built: list[RawInstance], free: list[_Area]) -> None:
        """Remaining boxes / polygons: the one of the instance's label that holds its visible points."""
        for kind in ("box", "polygon"):
            pool = [x for x in free if x.kind == kind and not x.used]
            if not pool:
                continue
            wants = [
                None
                if (inst.bbox if kind == "box" else inst.polygon) is not None
                else (inst.category, [(p.x, p.y) for p in inst.points if p.v > 0])
                for inst in built
            ]
            for i, j in claim(wants, [Container([x.region], [x.label]) for x in pool]):
                self._use(built[j], pool[i])

    # ----------------------------------------------------------------------------- video
    def _track(self, elem: Element) -> None:
        """One ``<track>``: each of its frames is one instance (or box, polygon...) on that frame.

        A skeleton frame whose element points are all outside (or unreadable) is left out and
        counted; other outside elements are v=0. Interpolated frames (``keyframe="0"``) are
        read like keyframes: CVAT writes their interpolated coordinates.
        """
        a = elem.attrib
        tid, label = a.get("id", "?"), a.get("label") or ""
        if self.opts.subset is not None and self.opts.subset != DEFAULT_SUBSET:
            if "" not in self.subsets_seen:
                self.subsets_seen[""] = None
            return
        if "" not in self.subsets_seen:
            self.subsets_seen[""] = None
        self.n_tracks += 1
        res = self._result("")
        loc = f'{self.where}:<track id="{tid}" label="{label}">'
        group = _group(a.get("group_id"))
        task = a.get("task_id")
        track_id = _int(tid)
        shapes = [c for c in elem if c.tag != "track" and c.tag != "attribute"]
        nested = [c for c in elem if c.tag == "track"]
        # the nested layout: one <track label=element> per skeleton element, its points by frame
        parts: dict[int, list[RawPoint]] = {}
        for sub in nested:
            slabel = sub.attrib.get("label", "")
            for p in sub:
                if p.tag != "points":
                    continue
                frame_no = _int(p.attrib.get("frame"))
                if frame_no is None:
                    continue
                point = self._element_point(
                    p, slabel, f"{loc}/track[label={slabel!r}]/points[frame={frame_no}]", res
                )
                if point is not None:
                    parts.setdefault(frame_no, []).append(point)
        dropped = 0
        for shape in shapes:
            tag = shape.tag
            frame_no = _int(shape.attrib.get("frame"))
            src = f"{loc}/{tag}[frame={shape.attrib.get('frame')}]"
            if frame_no is None:
                res.findings.append(
                    error(
                        "cvat.bad_frame",
                        f"<{tag}> in a track without a frame number; left out",
                        source=src,
                    )
                )
                continue
            if shape.attrib.get("outside") == "1":
                dropped += 1
                continue
            points = parts.get(frame_no, [])
            if tag == "skeleton" and any(c.tag == "points" for c in shape):
                # CVAT's layout: the frame's element points are children of its <skeleton>
                points = []
                for c in shape:
                    if c.tag != "points":
                        continue
                    elabel = c.attrib.get("label", "")
                    point = self._element_point(c, elabel, f"{src}/points[label={elabel!r}]", res)
                    if point is not None:
                        points.append(point)
            if tag == "skeleton" and not any(p.v > 0 for p in points):
                dropped += 1  # every element point is outside: the whole skeleton is
                continue
            frame = self.frames.get(frame_no)
            if frame is None:
                frame = self.frames[frame_no] = _Frame(task=task)
            image = self._frame_name(frame_no)
            if tag == "skeleton":
                self._note_skeleton(label, [p.label for p in points])
                attributes: dict[str, Any] = {"track_id": track_id if track_id is not None else tid}
                attributes.update(self._attributes(shape, label))
                inst = RawInstance(
                    image=image,
                    category=label,
                    points=list(points),
                    source=src,
                    attributes=attributes,
                )
                frame.whole.append((inst, group))
                continue
            before = (len(frame.whole), len(frame.singles), len(frame.areas))
            # a track's shapes carry neither label nor group: they are the track's
            if "label" not in shape.attrib:
                shape.set("label", label)
            if group is not None and "group_id" not in shape.attrib:
                shape.set("group_id", group)
            self._shape(shape, tag, src, image, frame, "", res)
            if len(frame.whole) > before[0]:
                frame.whole[-1][0].attributes["track_id"] = (
                    track_id if track_id is not None else tid
                )
            if len(frame.areas) > before[2]:
                frame.areas[-1].attributes.setdefault(
                    "track_id", track_id if track_id is not None else tid
                )
        if dropped:
            self._tally(
                "",
                "cvat.frame_outside",
                f"frame(s) of {label!r} tracks left out because the whole shape is outside (or has "
                "no visible point)",
                loc,
                dropped,
            )

    def _element_point(
        self, elem: Element, label: str, src: str, res: ParseResult
    ) -> RawPoint | None:
        """One skeleton element point of a track frame (either layout); None when unreadable.

        ``outside="1"`` is v=0 whatever its coordinates, ``occluded="1"`` v=1, else v=2 (or
        what ``--visibility-attribute`` says); a malformed ``points`` is reported at ``src``.
        """
        a = elem.attrib
        label = self._names.setdefault(label, label)
        if a.get("outside") == "1":
            return RawPoint(label, 0.0, 0.0, 0)
        xy = _xy(a.get("points"))
        if xy is None:
            res.findings.append(_bad_skeleton_point(label, a.get("points"), src))
            return None
        v = 1 if a.get("occluded") == "1" else 2
        if self.vis_attr is not None:
            v = self._visibility(elem, v, src, "")
        return RawPoint(label, xy[0], xy[1], v) if v else RawPoint(label, 0.0, 0.0, 0)

    def _frame_name(self, frame: int) -> str:
        return self.opts.frame_pattern.format(frame=frame)

    def _emit_frames(self) -> None:
        res = self._result("")
        for frame_no in sorted(self.frames):
            frame = self.frames[frame_no]
            size = self.meta.task_frame_sizes.get(frame.task or "") or self.meta.frame_size
            name = self._frame_name(frame_no)
            src = f"{self.where}:<frame {frame_no}>"
            if name in self.image_names[""]:
                res.findings.append(
                    warning(
                        "cvat.duplicate_image",
                        f"frame image {name!r} is also an <image> of the export; merged",
                        source=src,
                    )
                )
            self.image_names[""].add(name)
            res.images.append(
                RawImage(
                    name,
                    size[0] if size else None,
                    size[1] if size else None,
                    source=src,
                    extra={"frame": frame_no},
                )
            )
            self._assemble(name, frame, "", res)
        if self.meta.frame_size is None:
            res.findings.append(
                error(
                    "cvat.frame_size_unknown",
                    "video export without <original_size> in <meta>: frame width/height unknown",
                    source=f"{self.where}:<meta>",
                )
            )
        self.frames.clear()

    # ----------------------------------------------------------------------------- the end
    def _source_spec(self) -> tuple[KeypointSpec | None, bool, list[Finding]]:
        """The categories the export defines or uses: skeletons from <meta>, then label-derived ones."""
        findings: list[Finding] = []
        cats: list[dict[str, Any]] = []
        names: set[str] = set()
        from_labels = False
        rank = self._label_rank
        for label, subs in self.meta.sublabels.items():
            if not subs:
                findings.append(
                    warning(
                        "cvat.skeleton_without_points",
                        f"skeleton label {label!r} has no sublabels in <meta>; it cannot be a keypoint category",
                        source=f'{self.where}:<meta>/<label name="{label}">',
                    )
                )
                continue
            cats.append(
                {
                    "name": label,
                    "keypoints": [s.name for s in subs],
                    "skeleton": [list(e) for e in self.meta.edges.get(label, [])],
                }
            )
            names.add(label)
        derived: list[tuple[int, int, dict[str, Any]]] = []
        seq = 0
        for label, kps in self.skeletons_unknown.items():
            if label in names or not kps:
                continue
            findings.append(
                warning(
                    "cvat.skeleton_not_in_meta",
                    f"skeleton {label!r} is not described in <meta>: keypoints taken in first-seen order "
                    f"({', '.join(kps)}), no edges",
                    source=f"{self.where}:<meta>",
                )
            )
            derived.append(
                (rank.get(label, len(rank)), seq, {"name": label, "keypoints": list(kps)})
            )
            seq += 1
        for label, n in self.multi_sizes.items():
            if label in names:
                continue
            derived.append(
                (
                    rank.get(label, len(rank)),
                    seq,
                    {"name": label, "keypoints": [f"{label}_{i}" for i in range(1, n + 1)]},
                )
            )
            seq += 1
        for category, seen in self.singles_seen.items():
            if category in names or category in self.multi_sizes or not seen:
                continue
            first = list(seen)
            order = sorted(seen, key=lambda k: (rank.get(seen[k], len(rank)), first.index(k)))
            derived.append(
                (rank.get(category, len(rank)), seq, {"name": category, "keypoints": order})
            )
            seq += 1
        for _, _, cat in sorted(derived, key=lambda t: (t[0], t[1])):
            if cat["name"] in names:
                continue
            names.add(cat["name"])
            cats.append(cat)
            from_labels = True
        if not cats:
            return None, False, findings
        try:
            spec = spec_from_mapping({"categories": cats}, source=f"{self.where} <meta>")
        except DataError as exc:
            findings.append(
                error(
                    "cvat.spec",
                    f"the labels do not make a keypoint spec: {exc.message}",
                    source=self.where,
                )
            )
            return None, False, findings
        return spec, from_labels, findings

    def _finish(self) -> CvatExport:
        self._resolve_undecided()
        spec, from_labels, spec_findings = self._source_spec()
        seen = list(self.subsets_seen)
        if self.opts.subset is not None:
            wanted = self.opts.subset
            present = {s or DEFAULT_SUBSET for s in seen}
            if wanted not in present:
                from ...errors import UsageError

                raise UsageError(
                    f"--subset {wanted!r}: no such subset in {self.where}; subsets: "
                    + (", ".join(sorted(present)) or "none")
                )
        split = len(self.results) > 1
        subsets: dict[str, ParseResult] = {}
        for key, res in self.results.items():
            res.findings[:0] = self.global_findings + spec_findings
            res.findings.extend(self.tallies[key].findings())
            res.spec = spec
            name = (
                (key or DEFAULT_SUBSET)
                if split
                else (key if self.opts.subset is None else self.opts.subset)
            )
            subsets[name] = res
        if not subsets:
            res = ParseResult(findings=self.global_findings + spec_findings, spec=spec)
            subsets[self.opts.subset or ""] = res
        mode = (
            "images+video" if self.n_images and self.n_tracks
            else "video" if self.n_tracks
            else "images" if self.n_images
            else "empty"
        )  # fmt: skip
        return CvatExport(
            source=self.source,
            subsets=subsets,
            spec=spec,
            spec_from_labels=from_labels,
            mode=mode,
            numbered=self.numbered,
            subsets_seen=[s or DEFAULT_SUBSET for s in seen],
        )
