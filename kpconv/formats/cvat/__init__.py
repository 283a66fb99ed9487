"""CVAT for images 1.1 / CVAT for video 1.1 XML (file, folder or CVAT's zip) → COCO keypoints.

Reading only: :func:`read` streams the XML (:func:`parse_cvat`) into one
:class:`~kpconv.convert.builder.ParseResult` per subset plus the spec the export defines
(skeleton sublabels and SVG edges from ``<meta>``, else categories derived from the labels), as
the :class:`~kpconv.convert.pipeline.Parsed` every format returns; once the spec is chosen,
:func:`bind_spec` names the positional keypoints of multi-point ``<points>``. The shared
pipeline (:func:`kpconv.convert.pipeline.convert`) builds each subset.

Finding codes (all prefixed ``cvat.``) are listed in :data:`FINDING_CODES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...convert.builder import ParseResult, RawInstance
from ...convert.pipeline import Parsed
from ...errors import UsageError
from ...finding import error, warning
from ...spec import KeypointSpec
from .reader import (
    DEFAULT_FRAME_PATTERN,
    DEFAULT_SUBSET,
    VISIBILITY_WORDS,
    CvatExport,
    CvatOptions,
    CvatReader,
)
from .writer import WriteOptions, write
from .xmlsource import XmlSource, open_source

__all__ = [
    "DEFAULT_FRAME_PATTERN",
    "DEFAULT_SUBSET",
    "FINDING_CODES",
    "VISIBILITY_WORDS",
    "as_parsed",
    "CvatExport",
    "CvatOptions",
    "XmlSource",
    "bind_spec",
    "check_frame_pattern",
    "open_source",
    "parse_cvat",
    "read",
    "write",
    "WriteOptions",
]

#: code -> what it means (documented in docs/readme/from-cvat.md)
FINDING_CODES: dict[str, str] = {
    "cvat.entity_refused": "the XML declares an entity (billion laughs); refused",
    "cvat.external_entity_refused": "the XML declares an external entity or reference; refused",
    "cvat.dtd_refused": "the XML has a DOCTYPE; refused",
    "cvat.xml_syntax": "not well-formed XML (truncated, broken)",
    "cvat.wrong_root": "root element is not <annotations>",
    "cvat.bad_zip": "not a zip archive (truncated, damaged), or its member cannot be read",
    "cvat.zip_encrypted": "the zip member is encrypted; refused",
    "cvat.zip_too_large": "the zip member declares or reaches more unzipped bytes than the limit",
    "cvat.zip_without_annotations": "the zip holds no annotations.xml",
    "cvat.version": "format version other than 1.1",
    "cvat.image_without_name": "<image> without name; skipped",
    "cvat.duplicate_image": "an image name repeats within one subset; merged",
    "cvat.bad_points": "points attribute is not x,y;x,y...; shape or point left out",
    "cvat.bad_box": "box coordinates missing or inverted; box left out",
    "cvat.bad_polygon": "polygon with fewer than 3 points; left out",
    "cvat.bad_frame": "track shape without frame number",
    "cvat.repeated_label": "a keypoint label appears twice in one instance; the second is left out",
    "cvat.point_outside_boxes": "ungrouped single point inside no box; left out",
    "cvat.point_in_several_boxes": "ungrouped single point inside several boxes; left out",
    "cvat.ambiguous_group": "a group_id holds several instances or several boxes",
    "cvat.points_unnamed": "multi-point <points> without a spec: keypoints named <label>_1..N",
    "cvat.points_count": "multi-point <points> with more/fewer points than the spec's keypoints",
    "cvat.visibility_value": "--visibility-attribute value not understood",
    "cvat.shape_ignored": "shapes that are not keypoints (polyline, unrelated boxes, ...)",
    "cvat.frame_outside": "video frames left out because the whole shape is outside",
    "cvat.frame_size_unknown": "video export without <original_size>",
    "cvat.svg_edge_unknown_node": "skeleton SVG edge to an unknown node; dropped",
    "cvat.skeleton_without_points": "skeleton label without sublabels",
    "cvat.skeleton_not_in_meta": "skeleton not described in <meta>; keypoints in first-seen order",
    "cvat.spec": "the labels do not form a valid spec",
}


def check_frame_pattern(pattern: str) -> None:
    """Refuse a ``--frame-pattern`` that does not format a frame number (usage error)."""
    try:
        a, b = pattern.format(frame=0), pattern.format(frame=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"--frame-pattern {pattern!r}: {exc}; expected a Python format string using {{frame}}, "
            f"e.g. {DEFAULT_FRAME_PATTERN!r}"
        ) from None
    if a == b:
        raise UsageError(
            f"--frame-pattern {pattern!r} does not use {{frame}}: every frame would get the same name"
        )


def parse_cvat(
    path: str | Path, options: CvatOptions | None = None, spec: KeypointSpec | None = None
) -> CvatExport:
    """Stream a CVAT export into one ParseResult per subset.

    ``path`` is ``annotations.xml``, CVAT's ``.zip`` (annotations.xml is read from the archive,
    nothing is extracted) or an unzipped export folder. ``spec`` (the user's, optional) only
    narrows which boxes can hold single points and marks labels that are categories. Hostile or
    broken XML raises a located :class:`kpconv.errors.DataError`.
    """
    opts = options or CvatOptions()
    check_frame_pattern(opts.frame_pattern)
    return CvatReader(open_source(Path(path)), opts, spec).read()


@dataclass
class _Mismatch:
    res: ParseResult
    inst: RawInstance
    n: int
    k: int
    times: int = 0


def bind_spec(export: CvatExport, spec: KeypointSpec | None) -> None:
    """Name positional keypoints of multi-point ``<points>`` from ``spec`` (or say they are unnamed).

    Mismatched counts are reported once per label and subset: extra points are dropped, missing
    ones stay unlabelled (v=0).
    """
    mismatched: dict[tuple[int, str, int], _Mismatch] = {}
    unnamed: dict[tuple[int, str], tuple[ParseResult, RawInstance, int]] = {}
    for res, inst in export.numbered:
        cat = spec.category(inst.category) if spec is not None else None
        if cat is None:
            if spec is None:
                key = (id(res), inst.category)
                prev = unnamed.get(key)
                n = max(len(inst.points), prev[2] if prev else 0)
                unnamed[key] = (res, prev[1] if prev else inst, n)
            continue  # with a spec lacking this category the builder reports it
        k, n = cat.num_keypoints, len(inst.points)
        if n != k:
            entry = mismatched.setdefault((id(res), inst.category, n), _Mismatch(res, inst, n, k))
            entry.times += 1
            del inst.points[k:]
        for i, p in enumerate(inst.points):
            p.label = cat.keypoints[i]
    for m in mismatched.values():
        what = (
            f"{m.times} <points label={m.inst.category!r}> shape(s) hold {m.n} points but the spec's "
            f"category {m.inst.category!r} has {m.k} keypoints"
        )
        m.res.findings.append(
            error(
                "cvat.points_count", f"{what}: the extra points are left out", source=m.inst.source
            )
            if m.n > m.k
            else warning(
                "cvat.points_count",
                f"{what}: the missing ones are unlabelled (v=0)",
                source=m.inst.source,
            )
        )
    for (_, label), (res, inst, n) in unnamed.items():
        res.findings.append(
            warning(
                "cvat.points_unnamed",
                f"<points label={label!r}> holds {n} points and no spec names them: keypoints are "
                f"named {label}_1 ... {label}_{n} in point order (pass --spec or --keypoints to name "
                "them; the i-th point is the i-th keypoint)",
                source=inst.source,
            )
        )


def read(path: str | Path, options: CvatOptions | None = None, spec: KeypointSpec | None = None) -> Parsed:
    """A CVAT export as the pipeline's :class:`Parsed` (one entry per subset; see :func:`parse_cvat`)."""
    return as_parsed(parse_cvat(path, options, spec))


def as_parsed(export: CvatExport) -> Parsed:
    """A parsed export as the pipeline's :class:`Parsed`."""
    return Parsed(
        format="cvat",
        title=f"{export.source.display} ({export.mode})",
        subsets=export.subsets,
        spec=export.spec,
        spec_from_labels=export.spec_from_labels,
        bind_spec=lambda chosen: bind_spec(export, chosen),
    )
