"""SLEAP analysis CSV: ``track, frame_idx, instance.score, A.x, A.y, A.score, …``.

One row per instance and frame; ``nan`` or an empty cell is an unlabelled point; the per-point
``.score`` and ``instance.score`` columns are not keypoint data and are ignored. A frame is an
index into a video, so its image name comes from ``--frame-pattern`` (Python format fields
``{frame}`` and ``{video}``, default ``frame_{frame:06d}.png``; ``%06d`` style also works).
``{video}`` is the video name SLEAP puts in the file name
(``labels.000_<video>.analysis.csv``), else the CSV's stem. A non-empty ``track`` is kept as the
annotation's ``attributes.track``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...convert.builder import ParseResult, RawInstance, RawPoint
from ...errors import DataError, UsageError
from ...finding import Finding, error
from ...memory import gc_paused
from ...spec import spec_from_mapping
from .imagefiles import normalize_name
from .options import CsvOptions, LayoutResult, first_record
from .table import CsvTable

SLEAP_NAME = re.compile(r"^.*?\.\d+_(?P<video>.+)\.analysis$")


def looks_like(header: list[str]) -> bool:
    """True for SLEAP's analysis header: ``frame_idx`` and ``{node}.x`` columns."""
    names = [h.strip().lower() for h in header]
    return "frame_idx" in names and any(n.endswith(".x") for n in names)


def video_name(path: Path) -> str:
    """The video name SLEAP writes into analysis file names, else the file's stem."""
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.stem
    m = SLEAP_NAME.match(stem)
    if m:
        return m.group("video")
    return stem[: -len(".analysis")] if stem.endswith(".analysis") else stem


def frame_name(pattern: str, frame: int, video: str) -> str:
    """Apply ``--frame-pattern`` (``{frame:06d}`` or ``%06d`` style) to one frame index."""
    try:
        if "{" not in pattern and "%" in pattern:
            return pattern % frame
        return pattern.format(frame=frame, video=video)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise UsageError(
            f"--frame-pattern {pattern!r}: {exc}; use the fields {{frame}} and {{video}}, "
            "e.g. 'frame_{frame:06d}.png' or '{video}/img{frame:05d}.jpg'"
        ) from None


def check_pattern(pattern: str) -> None:
    """Refuse a pattern that would give every frame the same name."""
    if frame_name(pattern, 1, "v") == frame_name(pattern, 2, "v"):
        raise UsageError(f"--frame-pattern {pattern!r} must contain {{frame}} (e.g. 'frame_{{frame:06d}}.png')")


def parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    """Parse a SLEAP analysis CSV: one instance per row, image name from the frame index."""
    with gc_paused():
        return _parse(table, options)


def _parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    findings: list[Finding] = list(table.findings)
    check_pattern(options.frame_pattern)
    h = first_record(table.rows)
    if h >= len(table.rows):
        raise DataError(f"{table.display}: the file is empty")
    header = [c.strip() for c in table.rows[h]]
    line = table.line(h)
    lowered = [c.lower() for c in header]
    if "frame_idx" not in lowered:
        raise DataError(f"{table.display}:{line}: no frame_idx column; not a SLEAP analysis CSV")
    frame_col = lowered.index("frame_idx")
    track_col = lowered.index("track") if "track" in lowered else None
    nodes: dict[str, dict[str, int]] = {}
    for i, name in enumerate(header):
        base, dot, coord = name.rpartition(".")
        if dot and coord.lower() in ("x", "y") and base and base.lower() != "instance":
            nodes.setdefault(base, {})[coord.lower()] = i
    if not nodes:
        raise DataError(f"{table.display}:{line}: no node columns ({{node}}.x, {{node}}.y)")
    for node, cols in nodes.items():
        for coord in ("x", "y"):
            if coord not in cols:
                raise DataError(f"{table.display}:{line}: node {node!r} has no {node}.{coord} column")
    video = video_name(table.path)
    category = options.category_or("animal")
    spec = spec_from_mapping({"name": category, "keypoints": list(nodes)}, source=table.display)
    slots = [(node, cols["x"], cols["y"], header[cols["x"]], header[cols["y"]]) for node, cols in nodes.items()]
    width = len(header)

    instances: list[RawInstance] = []
    image_names: dict[str, str] = {}
    for r in range(h + 1, len(table.rows)):
        row = table.rows[r]
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        where = table.where(r)
        frame_value = table.number(row[frame_col], r, header[frame_col], findings)
        if frame_value is None or frame_value != int(frame_value) or frame_value < 0:
            if frame_value is not None or not row[frame_col].strip():
                findings.append(
                    error(
                        "csv.bad_frame",
                        f'column "{header[frame_col]}": {row[frame_col]!r} is not a frame index '
                        "(a whole number ≥ 0); row skipped",
                        source=where,
                    )
                )
            continue
        image = normalize_name(frame_name(options.frame_pattern, int(frame_value), video))
        image_names.setdefault(image, where)
        points: list[RawPoint] = []
        for node, xc, yc, xname, yname in slots:
            x = table.number(row[xc], r, xname, findings)
            y = table.number(row[yc], r, yname, findings)
            if x is not None and y is not None:
                points.append(RawPoint(node, x, y, 2, f"{where}:{node}"))
        if not points:
            continue
        track = row[track_col].strip() if track_col is not None else ""
        instances.append(
            RawInstance(
                image=image,
                category=category,
                points=points,
                source=where,
                attributes={"track": track} if track else {},
            )
        )
    parsed = ParseResult(instances=instances, findings=findings, spec=spec)
    return LayoutResult(parsed, image_names, [table.path.parent])
