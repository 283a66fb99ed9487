"""The shared converter machinery.

A format module only *parses*: it turns its source into :class:`RawImage` and
:class:`RawInstance` values (image reference, category, named points with visibility, optional
box/polygon, and where each came from in the source) plus findings; a reader that parses many
points at once (a million-row CSV) makes its instances with :func:`instances_from_columns`.
Everything else happens here, the same way for every format: stable ids
(images sorted by file name), keypoint order from the spec, ``0,0,0`` for unlabelled points,
``num_keypoints``, bbox and area, ``iscrowd``, ``segmentation`` and the categories. The result is
checked with :func:`kpconv.validate`.

There is one build routine: the instances are first read into columns, then
whole columns are resolved, checked and measured at once (numpy), so the cost per point is a
few array operations whatever the source format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from .. import __version__
from ..fileio import atomic_write_bytes, dumps_json, loads_json
from ..finding import Finding, Report, Severity, error, info, warning
from ..geometry import boxes_from_points, polygon_area, round_px, round_px_array
from ..memory import gc_paused
from ..spec import CategorySpec, KeypointSpec, spec_from_mapping
from ..validation import validate_bytes

if TYPE_CHECKING:
    from ..model import Dataset

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class RawPoint(msgspec.Struct, gc=False):
    """One labelled point: ``label`` names the keypoint (resolved through the spec).

    ``v`` is 2 (visible), 1 (labelled, occluded) or 0 (known to be absent: coordinates dropped).
    A struct with a C constructor the garbage collector does not track: readers make one per
    point, a million-row CSV a million of them (a third of a slotted dataclass's time).
    """

    label: str
    x: float
    y: float
    v: int = 2
    source: str = ""


@dataclass(slots=True)
class RawImage:
    """An image the source refers to; ``file_name`` is what goes into COCO (relative path)."""

    file_name: str
    width: int | None
    height: int | None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class RawInstance(msgspec.Struct):
    """One object instance as the source describes it (a struct, as :class:`RawPoint`)."""

    image: str  # RawImage.file_name
    category: str
    points: list[RawPoint] = msgspec.field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None  # x, y, w, h as drawn in the source
    polygon: list[list[float]] | None = None  # COCO polygon segmentation
    source: str = ""
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


_LABEL, _X, _Y, _V, _SOURCE = (attrgetter(a) for a in ("label", "x", "y", "v", "source"))
_POINTS = attrgetter("points")


def instances_from_columns(
    image: Sequence[str],
    category: Sequence[str],
    source: Sequence[str],
    counts: IntArray,
    labels: Sequence[str],
    label: IntArray,
    x: FloatArray,
    y: FloatArray,
    v: IntArray,
    bbox: FloatArray | None = None,
    attributes: Sequence[dict[str, Any]] | None = None,
) -> list[RawInstance]:
    """Instances from what a reader that parses many points at once has: per instance ``i`` its
    image, category, source, ``counts[i]`` points and optionally its drawn ``bbox`` (x, y, w, h;
    a NaN row where none is drawn) and attributes; per point, in instance order, its label (an
    index into ``labels``), x, y and v. The objects are made at C speed (no per-point code)."""
    if not len(image) == len(category) == len(source) == len(counts) or int(counts.sum()) != len(label):
        raise ValueError("instances_from_columns: columns of different lengths")
    with gc_paused():
        names = np.array(labels, dtype=object)[label].tolist()
        points = list(map(RawPoint, names, x.tolist(), y.tolist(), v.tolist(), repeat("")))
        ends = np.cumsum(counts).tolist()
        starts = [0, *ends[:-1]]
        boxes: Iterable[Any] = repeat(None)
        if bbox is not None:
            boxes = [None if b[0] != b[0] else tuple(b) for b in bbox.tolist()]  # NaN: none drawn
        return [
            RawInstance(img, cat, points[a:b], box, None, src, dict(attrs) if attrs else {})
            for img, cat, src, a, b, box, attrs in zip(
                image, category, source, starts, ends, boxes,
                attributes if attributes is not None else repeat(None), strict=False,
            )
        ]  # fmt: skip


@dataclass
class _Columns:
    """The builder's view of the instances as columns, so that whole columns are resolved,
    checked and measured at once (numpy).

    Per instance (index ``i``): ``image``, ``category``, ``source``, ``counts[i]`` (its number
    of points) and optionally ``bbox`` (an ``(N, 4)`` x, y, w, h array, a NaN row where none is
    drawn), ``polygon`` and ``attributes``. Per point: ``label`` (an index into ``labels``),
    ``x``, ``y``, ``v``; the points of instance ``i`` follow those of instance ``i - 1``, in
    source order: that order decides which of two points given for one keypoint is kept.
    ``point_source`` gives a point's place in the source where it has its own; ``exact`` holds
    the x and y values as the source gave them when they are not all floats (integer
    coordinates stay integers in the output).
    """

    image: list[str]
    category: list[str]
    source: list[str]
    counts: IntArray
    labels: list[str]
    label: IntArray
    x: FloatArray
    y: FloatArray
    v: IntArray
    point_source: list[str] | None
    exact: tuple[list[Any], list[Any]] | None
    bbox: FloatArray | None
    polygon: list[list[list[float]] | None] | None
    attributes: list[dict[str, Any]] | None

    def __len__(self) -> int:
        return len(self.image)

    @property
    def rows(self) -> int:
        """The number of points."""
        return len(self.label)

    @classmethod
    def of(cls, instances: Sequence[RawInstance]) -> _Columns:
        """C-speed attribute reads, no per-point code."""
        n = len(instances)
        points = list(chain.from_iterable(map(_POINTS, instances)))
        names = list(map(_LABEL, points))
        labels = list(dict.fromkeys(names))
        code = {name: i for i, name in enumerate(labels)}
        xs, ys = list(map(_X, points)), list(map(_Y, points))
        sources = list(map(_SOURCE, points)) if any(map(_SOURCE, points)) else None
        boxes = [inst.bbox for inst in instances]
        polygons = [inst.polygon for inst in instances]
        attributes = [inst.attributes for inst in instances]
        return cls(
            image=[inst.image for inst in instances],
            category=[inst.category for inst in instances],
            source=[inst.source for inst in instances],
            counts=np.fromiter(map(len, map(_POINTS, instances)), np.int64, n),
            labels=labels,
            label=np.fromiter(map(code.__getitem__, names), np.int64, len(names)),
            x=np.array(xs, dtype=np.float64).reshape(-1),
            y=np.array(ys, dtype=np.float64).reshape(-1),
            v=np.fromiter(map(_V, points), np.int64, len(points)),
            point_source=sources,
            exact=None if set(map(type, xs)) | set(map(type, ys)) <= {float} else (xs, ys),
            bbox=(
                np.array([b if b is not None else (np.nan,) * 4 for b in boxes], dtype=np.float64)
                if any(b is not None for b in boxes)
                else None
            ),
            polygon=polygons if any(polygons) else None,
            attributes=attributes if any(attributes) else None,
        )


@dataclass
class ParseResult:
    """What a format module returns: images, instances, findings, and a spec if the source has one."""

    images: list[RawImage] = field(default_factory=list)
    instances: list[RawInstance] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    spec: KeypointSpec | None = None

    def extend(self, other: ParseResult) -> None:
        self.images.extend(other.images)
        self.instances.extend(other.instances)
        self.findings.extend(other.findings)
        if self.spec is None:
            self.spec = other.spec


BBoxSource = Literal["auto", "points"]


@dataclass
class BuildOptions:
    """How the builder fills what sources leave open.

    ``bbox_source``: ``auto`` uses the drawn box when the instance has one, else the visible
    points; ``points`` always derives from the points. ``bbox_margin`` is the fraction of the
    points' extent added on each side of a derived box, at least ``min_box_size / 2`` pixels; an
    instance with a single labelled point gets a square sized from its image instead (the box rule
    in :mod:`kpconv.geometry`).
    """

    bbox_source: BBoxSource = "auto"
    bbox_margin: float = 0.1
    min_box_size: float = 2.0
    description: str = "converted by kpconv"
    #: write the JSON without indentation: about 40 % of the size, same content
    compact: bool = False


@dataclass
class Conversion:
    """The built dataset and the report (parse findings + build findings + validation).

    ``data`` is the deterministic JSON bytes (what gets written and what was validated);
    ``document`` the plain COCO dict decoded from them and ``dataset`` the pydantic model, each
    made on first use, for library callers (the CLI needs neither: a big conversion does not
    keep a second copy of its dataset as Python objects).
    """

    data: bytes
    report: Report
    spec: KeypointSpec | None = None
    spec_inferred: bool = False
    _document: dict[str, Any] | None = field(default=None, repr=False)
    _dataset: Dataset | None = field(default=None, repr=False)

    @property
    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = loads_json(self.data)
        return self._document

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            from ..model import Dataset  # pydantic: only for library callers who ask

            self._dataset = Dataset.model_validate(self.document)
        return self._dataset

    def write(self, path: Path) -> None:
        """Write the output JSON atomically."""
        atomic_write_bytes(Path(path), self.data)


def infer_spec(instances: Iterable[RawInstance]) -> KeypointSpec:
    """A spec from the labels seen, per category in first-seen order (``cat.nose`` → ``nose``)."""
    return _infer_spec(_Columns.of(list(instances)))


def _infer_spec(cols: _Columns) -> KeypointSpec:
    order: dict[str, list[str]] = {name: [] for name in dict.fromkeys(cols.category)}
    if cols.rows:
        # first row of each (category, label) pair, with one scatter-min over the rows
        cat_code = {name: i for i, name in enumerate(order)}
        n_labels = len(cols.labels)
        inst_cat = np.fromiter(map(cat_code.__getitem__, cols.category), np.int64, len(cols))
        pair = np.repeat(inst_cat, cols.counts) * n_labels + cols.label
        first = np.full(len(order) * n_labels, cols.rows, dtype=np.int64)
        np.minimum.at(first, pair, np.arange(cols.rows, dtype=np.int64))
        seen = np.flatnonzero(first < cols.rows)
        categories = list(order)
        for p in seen[np.argsort(first[seen], kind="stable")].tolist():
            c, j = divmod(p, n_labels)
            label = cols.labels[j]
            name = label.rsplit(".", 1)[-1] if "." in label else label
            names = order[categories[c]]
            if name not in names:
                names.append(name)
    cats = [{"name": c, "keypoints": k} for c, k in order.items() if k]
    return spec_from_mapping({"categories": cats}, source="inferred from labels")


def _choose_spec(
    user: KeypointSpec | None, parsed: ParseResult, cols: _Columns
) -> tuple[KeypointSpec, list[Finding]]:
    """The user's spec wins, then the one the source defines, else one inferred from labels."""
    if user is not None:
        return user, []
    if parsed.spec is not None and parsed.spec.categories:
        return parsed.spec, []
    spec = _infer_spec(cols)
    if not spec.categories:
        return spec, [error("convert.no_keypoints", "no keypoint labels found in the source; nothing to convert")]
    notes = [
        info(
            "convert.spec_inferred",
            f"no spec given: category {c.name!r} keypoints inferred in first-seen order: "
            f"{', '.join(c.keypoints)} (save the printed spec, edit it, pass --spec)",
        )
        for c in spec.categories
    ]
    return spec, notes


def build(
    parsed: ParseResult,
    spec: KeypointSpec,
    options: BuildOptions | None = None,
) -> Conversion:
    """Build a COCO keypoint dataset from parsed raw instances, then validate it.

    The instances are taken over: ``parsed.instances`` is empty afterwards (a big conversion
    does not keep them beside the document it builds from them).
    """
    # A dict and lists per annotation, none in a cycle: collections triggered by building them
    # would rescan the whole growing document again and again (about 10 % of a big conversion).
    with gc_paused():
        return _build(parsed, spec, options)


def _build(parsed: ParseResult, user_spec: KeypointSpec | None, options: BuildOptions | None) -> Conversion:
    """Choose the spec (:func:`_choose_spec`), build, validate."""
    cols = _Columns.of(parsed.instances)
    parsed.instances = []
    spec, notes = _choose_spec(user_spec, parsed, cols)
    parsed.findings.extend(notes)
    opts = options or BuildOptions()
    findings: list[Finding] = list(parsed.findings)
    images, usable = _images(parsed.images, findings)
    cat_ids, categories = _category_ids(spec)

    names = sorted(usable)
    out_images: list[dict[str, Any]] = []
    for image_id, name in enumerate(names, start=1):
        img = usable[name]
        entry: dict[str, Any] = dict(img.extra)
        entry.update({"id": image_id, "file_name": name, "width": int(img.width or 0), "height": int(img.height or 0)})
        out_images.append(entry)

    out_anns, ann_findings = _annotations(cols, spec, cat_ids, out_images, opts)
    findings.extend(ann_findings)
    findings.extend(_unknown_images(cols, images))
    del cols

    doc = {
        "info": {"description": opts.description, "version": __version__},
        "licenses": [],
        "images": out_images,
        "annotations": out_anns,
        "categories": categories,
    }
    converted = {
        "images": len(out_images),
        "instances": len(out_anns),
        "keypoints_labelled": sum(a["num_keypoints"] for a in out_anns),
        "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
    }
    # The output is validated by the same route as `kpconv validate` on a file: the exact bytes
    # that get written, decoded again (strict decode, keypoints parsed in bulk). The dicts are
    # dropped first: the validator's arrays, not a second copy of the dataset, fill the memory.
    data = dumps_json(doc, compact=opts.compact)
    del doc, out_images, out_anns
    checked = validate_bytes(data)
    report = Report(findings=findings + checked.findings, summary=dict(checked.summary))
    report.summary["converted"] = converted
    return Conversion(data=data, report=report, spec=spec)


def _images(raw: list[RawImage], findings: list[Finding]) -> tuple[dict[str, RawImage], dict[str, RawImage]]:
    """(every image by file name, those with a known size); conflicts and unknown sizes reported."""
    images: dict[str, RawImage] = {}
    for img in raw:
        prev = images.get(img.file_name)
        if prev is None:
            images[img.file_name] = img
        elif (prev.width, prev.height) != (img.width, img.height) and img.width and prev.width:
            findings.append(
                error(
                    "convert.image_conflict",
                    f"image {img.file_name!r} appears twice with different sizes: "
                    f"{prev.width}x{prev.height} ({prev.source}) vs {img.width}x{img.height}",
                    source=img.source,
                )
            )
    usable: dict[str, RawImage] = {}
    for name, img in images.items():
        if not img.width or not img.height or img.width <= 0 or img.height <= 0:
            findings.append(
                error(
                    "convert.image_size_unknown",
                    f"image {name!r}: width/height unknown (found {img.width}x{img.height}); "
                    "its instances are skipped",
                    source=img.source,
                )
            )
            continue
        usable[name] = img
    return images, usable


def _category_ids(spec: KeypointSpec) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Category ids (the spec's, else the lowest free ones) and the COCO ``categories``."""
    cat_ids: dict[str, int] = {}
    categories: list[dict[str, Any]] = []
    used_ids = {c.id for c in spec.categories if c.id is not None}
    next_id = 1
    for cat_spec in spec.categories:
        if cat_spec.id is not None:
            cid = cat_spec.id
        else:
            while next_id in used_ids:
                next_id += 1
            cid = next_id
            used_ids.add(cid)
        cat_ids[cat_spec.name] = cid
        categories.append(cat_spec.to_coco_category(cid))
    return cat_ids, categories


def _unknown_images(cols: _Columns, images: dict[str, RawImage]) -> list[Finding]:
    """One error per image name that instances use but the source does not describe."""
    unknown = set(cols.image) - images.keys()
    if not unknown:
        return []
    count: dict[str, int] = {}
    first: dict[str, str] = {}
    for name, source in zip(cols.image, cols.source, strict=True):
        if name in unknown:
            count[name] = count.get(name, 0) + 1
            first.setdefault(name, source)
    return [
        error(
            "convert.unknown_image",
            f"{count[name]} instance(s) refer to image {name!r}, which the source does not describe",
            source=first[name],
        )
        for name in sorted(unknown)
    ]


def _annotations(
    cols: _Columns,
    spec: KeypointSpec,
    cat_ids: dict[str, int],
    out_images: list[dict[str, Any]],
    opts: BuildOptions,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The COCO annotations of every instance and the findings about them in document order.

    Whole columns at a time: resolve each (category, label) pair once, scatter the point rows
    into dense ``(instances, keypoints)`` arrays, derive counts and boxes from those.
    """
    n, n_rows = len(cols), cols.rows
    image_ids = {entry["file_name"]: entry["id"] for entry in out_images}
    cats = spec.categories
    inst_image = np.fromiter(map(image_ids.get, cols.image, repeat(0)), np.int64, n)
    cat_index = {name: _category_index(spec, name) for name in dict.fromkeys(cols.category)}
    inst_cat = np.fromiter(map(cat_index.__getitem__, cols.category), np.int64, n)

    # document order: images by file name, instances in source order within one image
    on_image = np.flatnonzero(inst_image > 0)
    order = on_image[np.argsort(inst_image[on_image], kind="stable")]
    rank = np.full(n, -1, dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    # findings are gathered as (instance rank, row, finding) and sorted into document order
    keyed: list[tuple[int, int, Finding]] = []
    for i in order[inst_cat[order] < 0].tolist():
        keyed.append((int(rank[i]), -1, error(
            "convert.unknown_category",
            f"instance category {cols.category[i]!r} is not in the spec "
            f"(spec categories: {', '.join(spec.names())}); instance skipped",
            source=cols.source[i],
            image_id=int(inst_image[i]),
        )))  # fmt: skip
    active = np.zeros(n, dtype=bool)
    active[order] = True
    active &= inst_cat >= 0

    # each row's keypoint index: one spec lookup per (category, label) pair that occurs
    k_max = max((c.num_keypoints for c in cats), default=0)
    row_inst = np.repeat(np.arange(n, dtype=np.int64), cols.counts)
    all_active = bool(active.all())  # the usual case: no row to leave out
    row_active = np.ones(n_rows, dtype=bool) if all_active else active[row_inst]
    n_labels = max(len(cols.labels), 1)
    pair = inst_cat[row_inst] * n_labels + cols.label
    active_pair = pair if all_active else pair[row_active]
    lookup = np.full(len(cats) * n_labels, -1, dtype=np.int64)
    occurs = np.zeros(len(cats) * n_labels, dtype=bool)
    occurs[active_pair] = True
    for p in np.flatnonzero(occurs).tolist():
        c, j = divmod(p, n_labels)
        idx = cats[c].index_of(cols.labels[j])
        lookup[p] = -1 if idx is None else idx
    if all_active:
        kp = lookup[pair]
    else:
        kp = np.full(n_rows, -1, dtype=np.int64)
        kp[row_active] = lookup[active_pair]

    def row_source(r: int) -> str:
        own = cols.point_source[r] if cols.point_source is not None else ""
        return own or cols.source[row_inst[r]]

    for r in np.flatnonzero(row_active & (kp < 0)).tolist():
        i = int(row_inst[r])
        cat = cats[inst_cat[i]]
        keyed.append((int(rank[i]), r, error(
            "convert.unknown_keypoint",
            f"label {cols.labels[cols.label[r]]!r} is not a keypoint of {cat.name!r} "
            f"(expected one of: {', '.join(cat.keypoints)}); point dropped",
            source=row_source(r),
            image_id=int(inst_image[i]),
        )))  # fmt: skip

    # the first row given for a keypoint of an instance wins (also an unlabelled one)
    known = np.flatnonzero(row_active & (kp >= 0))
    slot = row_inst[known] * k_max + kp[known]
    if len(slot) and np.bincount(slot, minlength=n * k_max).max() > 1:
        first_row: dict[int, int] = {}
        dropped: list[int] = []
        for r, s in zip(known.tolist(), slot.tolist(), strict=True):
            f = first_row.setdefault(s, r)
            if f != r:
                dropped.append(r)
                i = int(row_inst[r])
                keyed.append((int(rank[i]), r, error(
                    "convert.duplicate_keypoint",
                    f"keypoint {cats[inst_cat[i]].keypoints[kp[r]]!r} given twice in one instance "
                    f"(first at {row_source(f) or '?'}); the second is dropped",
                    source=row_source(r),
                    image_id=int(inst_image[i]),
                )))  # fmt: skip
        keep = np.ones(len(known), dtype=bool)
        keep[np.searchsorted(known, dropped)] = False
        known, slot = known[keep], slot[keep]

    # dense (instance, keypoint) arrays of the labelled points
    v = cols.v[known]
    labelled = v > 0
    rows, slot = known[labelled], slot[labelled]
    xs = np.zeros(n * k_max)
    ys = np.zeros(n * k_max)
    vs = np.zeros(n * k_max, dtype=np.int8)
    xs[slot] = cols.x[rows]
    ys[slot] = cols.y[rows]
    vs[slot] = np.where(v[labelled] >= 2, 2, 1)
    num = np.count_nonzero(vs.reshape(n, k_max), axis=1) if k_max else np.zeros(n, dtype=np.int64)

    # an instance with a drawn box and no labelled keypoint is a box-only annotation
    # (num_keypoints 0), as COCO has them and training keeps them; without a box it is nothing
    boxed = np.zeros(n, dtype=bool)
    if cols.bbox is not None and opts.bbox_source == "auto":
        boxed = ~np.isnan(cols.bbox[:, 0])
    for i in order[active[order] & (num[order] == 0) & ~boxed[order]].tolist():
        keyed.append((int(rank[i]), n_rows, warning(
            "convert.instance_without_keypoints",
            f"instance of {cats[inst_cat[i]].name!r} on {cols.image[i]!r} has no labelled keypoint and "
            "no box; it is not a keypoint annotation and is skipped",
            source=cols.source[i],
            image_id=int(inst_image[i]),
        )))  # fmt: skip
    box_only = order[active[order] & (num[order] == 0) & boxed[order]]
    if len(box_only):
        i = int(box_only[0])
        keyed.append((int(rank[i]), n_rows, info(
            "convert.box_only",
            f"{len(box_only)} instance(s) with a box and no labelled keypoint kept as box-only annotations "
            "(num_keypoints 0, as COCO has them; training keeps them as detection targets)"
            + (" (located at the first)" if len(box_only) > 1 else ""),
            source=cols.source[i],
            image_id=int(inst_image[i]),
        )))  # fmt: skip
    keyed.sort(key=lambda item: (item[0], item[1]))
    findings = [f for _, _, f in keyed]

    final = order[active[order] & ((num[order] > 0) | boxed[order])]
    m = len(final)
    if m == 0:
        return [], findings
    if m == n and bool((final[1:] > final[:-1]).all()):  # all of them, in source order
        grid: IntArray | slice = slice(None)
    else:
        grid = (final[:, None] * k_max + np.arange(k_max)).reshape(-1)
    fx, fy, fv = xs[grid].reshape(m, k_max), ys[grid].reshape(m, k_max), vs[grid].reshape(m, k_max)
    seen = fv > 0

    widths = np.array([0] + [e["width"] for e in out_images], dtype=np.float64)
    heights = np.array([0] + [e["height"] for e in out_images], dtype=np.float64)
    image_of = inst_image[final]
    pointed = seen.any(axis=1)  # the others are box-only: their drawn box is theirs
    if pointed.all():
        boxes = boxes_from_points(fx, fy, seen, widths[image_of], heights[image_of], opts.bbox_margin, opts.min_box_size)
    else:
        boxes = np.empty((m, 4), dtype=np.float64)
        boxes[pointed] = boxes_from_points(
            fx[pointed], fy[pointed], seen[pointed], widths[image_of][pointed], heights[image_of][pointed],
            opts.bbox_margin, opts.min_box_size,
        )
    has = boxed[final]  # the drawn box wins (auto)
    if has.any():
        assert cols.bbox is not None
        boxes[has] = round_px_array(cols.bbox[final][has])
    areas = round_px_array(boxes[:, 2] * boxes[:, 3])

    # keypoint lists: floats where labelled (the source's own values), int 0 elsewhere
    flat = np.zeros((m, k_max, 3), dtype=object)
    if cols.exact is not None:
        ex = np.empty(n * k_max, dtype=object)
        ey = np.empty(n * k_max, dtype=object)
        ex[slot] = np.array(cols.exact[0], dtype=object)[rows]
        ey[slot] = np.array(cols.exact[1], dtype=object)[rows]
        flat[..., 0][seen] = ex[grid].reshape(m, k_max)[seen]
        flat[..., 1][seen] = ey[grid].reshape(m, k_max)[seen]
    else:
        flat[..., 0][seen] = fx[seen]
        flat[..., 1][seen] = fy[seen]
    flat[..., 2][seen] = fv[seen]
    keypoints = flat.reshape(m, 3 * k_max).tolist()
    final_cat = inst_cat[final].tolist()
    short = {c: 3 * cat.num_keypoints for c, cat in enumerate(cats) if cat.num_keypoints < k_max}
    if short:
        keypoints = [kps[: short[c]] if c in short else kps for kps, c in zip(keypoints, final_cat, strict=True)]

    cat_id_of = [cat_ids[cat.name] for cat in cats]
    final_list = final.tolist()
    polygons = cols.polygon
    segmentations: list[Any] = [[] for _ in range(m)]
    area_list = areas.tolist()
    if polygons is not None:
        for a, i in enumerate(final_list):
            if polygons[i]:
                segmentations[a] = [list(ring) for ring in polygons[i] or []]
                area_list[a] = round_px(polygon_area(segmentations[a]) or 0.0)
    anns: list[dict[str, Any]] = [
        {
            "id": ann_id,
            "image_id": image_id,
            "category_id": cat_id_of[c],
            "keypoints": kps,
            "num_keypoints": count,
            "bbox": box,
            "area": area,
            "iscrowd": 0,
            "segmentation": seg,
        }
        for ann_id, image_id, c, kps, count, box, area, seg in zip(
            range(1, m + 1), image_of.tolist(), final_cat, keypoints, num[final].tolist(),
            boxes.tolist(), area_list, segmentations, strict=True,
        )
    ]  # fmt: skip
    if cols.attributes is not None:
        for ann, i in zip(anns, final_list, strict=True):
            if cols.attributes[i]:
                ann["attributes"] = dict(cols.attributes[i])
    return anns, findings


def _category_index(spec: KeypointSpec, name: str) -> int:
    """Position in ``spec.categories`` of the category :meth:`KeypointSpec.category` finds, or -1."""
    found: CategorySpec | None = spec.category(name)
    for i, cat in enumerate(spec.categories):
        if cat is found:
            return i
    return -1


def convert(
    parsed: ParseResult, user_spec: KeypointSpec | None, options: BuildOptions | None = None
) -> Conversion:
    """Choose the spec (user's, the source's, or inferred), build, validate (as :func:`build`,
    which see: the instances are taken over)."""
    with gc_paused():
        conv = _build(parsed, user_spec, options)
    conv.spec_inferred = user_spec is None and (parsed.spec is None or not parsed.spec.categories)
    return conv
