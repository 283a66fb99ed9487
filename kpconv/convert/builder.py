"""The shared converter machinery.

A format module only *parses*: it turns its source into :class:`RawImage` and
:class:`RawInstance` values (image reference, category, named points with visibility, optional
box/polygon, and where each came from in the source) plus findings. Everything else happens here,
the same way for every format: stable ids (images sorted by file name), keypoint order from the
spec, ``0,0,0`` for unlabelled points, ``num_keypoints``, bbox and area, ``iscrowd``,
``segmentation`` and the categories. The result is checked with :func:`kpconv.validate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import __version__
from ..fileio import atomic_write_bytes, dumps_json
from ..finding import Finding, Report, Severity, error, info, warning
from ..geometry import bbox_from_points, polygon_area, round_px
from ..model import Dataset
from ..spec import KeypointSpec, spec_from_mapping


@dataclass(slots=True)
class RawPoint:
    """One labelled point: ``label`` names the keypoint (resolved through the spec).

    ``v`` is 2 (visible), 1 (labelled, occluded) or 0 (known to be absent: coordinates dropped).
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


@dataclass(slots=True)
class RawInstance:
    """One object instance as the source describes it."""

    image: str  # RawImage.file_name
    category: str
    points: list[RawPoint] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None  # x, y, w, h as drawn in the source
    polygon: list[list[float]] | None = None  # COCO polygon segmentation
    source: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


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
    points' extent added on each side of a derived box, at least ``min_box_size / 2`` pixels, so a
    single-point instance never gets a 0×0 box.
    """

    bbox_source: BBoxSource = "auto"
    bbox_margin: float = 0.1
    min_box_size: float = 2.0
    description: str = "converted by kpconv"


@dataclass
class Conversion:
    """The built document and the report (parse findings + build findings + validation).

    ``document`` is the plain COCO dict and ``data`` its deterministic JSON bytes (what gets
    written); ``dataset`` builds the pydantic model on first use, for library callers.
    """

    document: dict[str, Any]
    data: bytes
    report: Report
    spec: KeypointSpec | None = None
    spec_inferred: bool = False
    _dataset: Dataset | None = field(default=None, repr=False)

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            self._dataset = Dataset.model_validate(self.document)
        return self._dataset

    def write(self, path: Path) -> None:
        """Write the output JSON atomically."""
        atomic_write_bytes(Path(path), self.data)


def infer_spec(instances: Iterable[RawInstance]) -> KeypointSpec:
    """A spec from the labels seen, per category in first-seen order (``cat.nose`` → ``nose``)."""
    order: dict[str, list[str]] = {}
    for inst in instances:
        names = order.setdefault(inst.category, [])
        for p in inst.points:
            name = p.label.rsplit(".", 1)[-1] if "." in p.label else p.label
            if name not in names:
                names.append(name)
    cats = [{"name": c, "keypoints": k} for c, k in order.items() if k]
    return spec_from_mapping({"categories": cats}, source="inferred from labels")


def choose_spec(
    user: KeypointSpec | None, parsed: ParseResult
) -> tuple[KeypointSpec, list[Finding]]:
    """The user's spec wins, then the one the source defines, else one inferred from labels."""
    if user is not None:
        return user, []
    if parsed.spec is not None and parsed.spec.categories:
        return parsed.spec, []
    spec = infer_spec(parsed.instances)
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


def build(parsed: ParseResult, spec: KeypointSpec, options: BuildOptions | None = None) -> Conversion:
    """Build a COCO keypoint dataset from parsed raw instances, then validate it."""
    from ..validate import validate_bytes  # local: the validator imports the model, not the builder

    opts = options or BuildOptions()
    findings: list[Finding] = list(parsed.findings)

    images: dict[str, RawImage] = {}
    for img in parsed.images:
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

    by_image: dict[str, list[RawInstance]] = {}
    for inst in parsed.instances:
        by_image.setdefault(inst.image, []).append(inst)

    out_images: list[dict[str, Any]] = []
    out_anns: list[dict[str, Any]] = []
    ann_id = 0
    # label → keypoint index, resolved once per category: index_of tries aliases and prefixes,
    # and big sources (a million CSV rows) repeat the same few labels
    index_cache: dict[tuple[str, str], int | None] = {}
    for image_id, name in enumerate(sorted(usable), start=1):
        img = usable[name]
        entry: dict[str, Any] = dict(img.extra)
        entry.update({"id": image_id, "file_name": name, "width": int(img.width or 0), "height": int(img.height or 0)})
        out_images.append(entry)
        for inst in by_image.get(name, []):
            cat = spec.category(inst.category)
            if cat is None:
                findings.append(
                    error(
                        "convert.unknown_category",
                        f"instance category {inst.category!r} is not in the spec "
                        f"(spec categories: {', '.join(spec.names())}); instance skipped",
                        source=inst.source,
                        image_id=image_id,
                    )
                )
                continue
            k = cat.num_keypoints
            kps: list[float] = [0, 0, 0] * k
            filled: list[str | None] = [None] * k
            for p in inst.points:
                label_key = (cat.name, p.label)
                idx = index_cache.get(label_key, -1)
                if idx == -1:
                    idx = index_cache[label_key] = cat.index_of(p.label)
                if idx is None:
                    findings.append(
                        error(
                            "convert.unknown_keypoint",
                            f"label {p.label!r} is not a keypoint of {cat.name!r} "
                            f"(expected one of: {', '.join(cat.keypoints)}); point dropped",
                            source=p.source or inst.source,
                            image_id=image_id,
                        )
                    )
                    continue
                if filled[idx] is not None:
                    findings.append(
                        error(
                            "convert.duplicate_keypoint",
                            f"keypoint {cat.keypoints[idx]!r} given twice in one instance "
                            f"(first at {filled[idx]}); the second is dropped",
                            source=p.source or inst.source,
                            image_id=image_id,
                        )
                    )
                    continue
                filled[idx] = p.source or inst.source or "?"
                if p.v > 0:
                    # coordinates as the source gives them (no rounding: lossless, and cheaper)
                    j = 3 * idx
                    kps[j] = p.x
                    kps[j + 1] = p.y
                    kps[j + 2] = 2 if p.v >= 2 else 1
            vxs = [kps[j] for j in range(0, 3 * k, 3) if kps[j + 2]]
            vys = [kps[j + 1] for j in range(0, 3 * k, 3) if kps[j + 2]]
            if not vxs:
                findings.append(
                    warning(
                        "convert.instance_without_keypoints",
                        f"instance of {cat.name!r} on {name!r} has no labelled keypoint; "
                        "it is not a keypoint annotation and is skipped",
                        source=inst.source,
                        image_id=image_id,
                    )
                )
                continue
            if inst.bbox is not None and opts.bbox_source == "auto":
                bx, by, bw, bh = inst.bbox
                bbox = [round_px(bx), round_px(by), round_px(bw), round_px(bh)]
            else:
                bbox = bbox_from_points(vxs, vys, img.width, img.height, opts.bbox_margin, opts.min_box_size)
            if inst.polygon:
                seg: Any = [list(ring) for ring in inst.polygon]
                area = round_px(polygon_area(seg) or 0.0)
            else:
                seg = []
                area = round_px(bbox[2] * bbox[3])
            ann_id += 1
            ann: dict[str, Any] = {
                "id": ann_id,
                "image_id": image_id,
                "category_id": cat_ids[cat.name],
                "keypoints": kps,
                "num_keypoints": len(vxs),
                "bbox": bbox,
                "area": area,
                "iscrowd": 0,
                "segmentation": seg,
            }
            if inst.attributes:
                ann["attributes"] = dict(inst.attributes)
            out_anns.append(ann)

    unused = set(by_image) - set(usable)
    for name in sorted(unused):
        if name not in images:
            findings.append(
                error(
                    "convert.unknown_image",
                    f"{len(by_image[name])} instance(s) refer to image {name!r}, which the source does not describe",
                    source=by_image[name][0].source,
                )
            )

    doc = {
        "info": {"description": opts.description, "version": __version__},
        "licenses": [],
        "images": out_images,
        "annotations": out_anns,
        "categories": categories,
    }
    # Validate the very bytes that will be written, through the fast typed path: no pydantic
    # object per annotation, and what is checked is exactly what lands on disk.
    data = dumps_json(doc)
    checked = validate_bytes(data)
    report = Report(findings=findings + checked.findings, summary=dict(checked.summary))
    report.summary["converted"] = {
        "images": len(out_images),
        "instances": len(out_anns),
        "keypoints_labelled": sum(a["num_keypoints"] for a in out_anns),
        "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
    }
    return Conversion(document=doc, data=data, report=report)


def convert(
    parsed: ParseResult, user_spec: KeypointSpec | None, options: BuildOptions | None = None
) -> Conversion:
    """Choose the spec (user's, the source's, or inferred), build, validate."""
    spec, notes = choose_spec(user_spec, parsed)
    parsed.findings.extend(notes)
    conv = build(parsed, spec, options)
    conv.spec = spec
    conv.spec_inferred = user_spec is None and (parsed.spec is None or not parsed.spec.categories)
    return conv
