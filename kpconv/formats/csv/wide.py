"""The "wide" layout: one row per instance, keypoint coordinates in columns.

Keypoint columns are matched by name: ``{name}_x``, ``{name}_y`` and optional ``{name}_v``
(also ``{name}.x`` / ``{name}-x`` / ``{name} x``, and ``_visibility``/``_vis`` for ``_v``; the
coordinate letter in either case). Keypoint order is the column order. A file whose coordinate
columns are just numbered (``0,1,2,3,…`` = x0,y0,x1,y1,…) is matched by keypoint index: keypoint
*i* takes its name from the spec given (``--keypoints``/``--spec``), else ``kp{i}``.

Other columns: ``image`` (required; same accepted names as the long layout, or the only
non-numbered column), optional ``instance`` and ``category`` (several rows for one image are
several instances), and an optional box: ``bbox_x, bbox_y, bbox_w, bbox_h`` (or
``bbox_width``/``bbox_height``), or ``xmin, ymin, xmax, ymax`` (also ``x_min``…, ``bbox_x1``…).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ...convert.builder import ParseResult, RawInstance, RawPoint
from ...errors import DataError, UsageError
from ...finding import Finding, error, info
from ...memory import gc_paused
from ...spec import spec_from_mapping
from .imagefiles import normalize_name
from .options import CsvOptions, LayoutResult, find_column, header_record
from .table import CsvTable

COORD_COLUMN = re.compile(r"^(?P<name>.+?)[_.\- ](?P<coord>x|y|v|vis|visibility)$", re.IGNORECASE)
BBOX_FORMS: tuple[tuple[str, tuple[str, str, str, str]], ...] = (
    ("xywh", ("bbox_x", "bbox_y", "bbox_w", "bbox_h")),
    ("xywh", ("bbox_x", "bbox_y", "bbox_width", "bbox_height")),
    ("xyxy", ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2")),
    ("xyxy", ("xmin", "ymin", "xmax", "ymax")),
    ("xyxy", ("x_min", "y_min", "x_max", "y_max")),
)


@dataclass
class Columns:
    """Which column holds what."""

    image: int
    instance: int | None
    category: int | None
    keypoints: list[tuple[str, int, int, int | None]] = field(default_factory=list)  # name, x, y, v
    bbox: tuple[str, tuple[int, int, int, int]] | None = None
    ignored: list[str] = field(default_factory=list)


def _is_index(name: str) -> bool:
    return name.isdigit()


def looks_like(header: list[str]) -> bool:
    """True when the header has ``{name}_x``/``{name}_y`` pairs or numbered coordinate columns."""
    names = [h.strip() for h in header]
    xs = {m.group("name").lower() for n in names if (m := COORD_COLUMN.match(n)) and m.group("coord").lower() == "x"}
    ys = {m.group("name").lower() for n in names if (m := COORD_COLUMN.match(n)) and m.group("coord").lower() == "y"}
    if xs & ys:
        return True
    return sum(1 for n in names if _is_index(n)) >= 2


def read_columns(table: CsvTable, header: list[str], line: int, options: CsvOptions) -> Columns:
    """Work out the column roles from the header."""
    display = table.display
    lowered = [h.lower() for h in header]
    used: set[int] = set()
    bbox = None
    for form, names in BBOX_FORMS:
        if all(n in lowered for n in names):
            idx = tuple(lowered.index(n) for n in names)
            bbox = (form, (idx[0], idx[1], idx[2], idx[3]))
            used.update(idx)
            break
    numbered = [i for i, h in enumerate(header) if _is_index(h) and i not in used]
    named: dict[str, dict[str, int]] = {}
    for i, h in enumerate(header):
        if i in used:
            continue
        m = COORD_COLUMN.match(h)
        if m:
            coord = m.group("coord").lower()
            coord = "v" if coord.startswith("v") else coord
            slot = named.setdefault(m.group("name"), {})
            if coord in slot:
                raise DataError(
                    f"{display}:{line}: keypoint {m.group('name')!r} has two {coord!r} columns "
                    f"({header[slot[coord]]!r} and {h!r})"
                )
            slot[coord] = i
    named = {k: v for k, v in named.items() if "x" in v or "y" in v}

    image = find_column(header, "image", options, required=False, display=display, header_line=line)
    if image is None and numbered and not named:
        others = [i for i, h in enumerate(header) if i not in used and not _is_index(h)]
        if len(others) == 1:
            image = others[0]
    if image is None:
        image = find_column(header, "image", options, required=True, display=display, header_line=line)
    assert image is not None
    instance = find_column(header, "instance", options, required=False, display=display, header_line=line)
    category = find_column(header, "category", options, required=False, display=display, header_line=line)
    cols = Columns(image=image, instance=instance, category=category, bbox=bbox)
    used.update(i for i in (image, instance, category) if i is not None)

    if named:
        for name, slot in named.items():
            for coord in ("x", "y"):
                if coord not in slot:
                    have = header[slot["x" if coord == "y" else "y"]]
                    raise DataError(
                        f"{display}:{line}: keypoint {name!r} has a column {have!r} but no {coord!r} column"
                    )
            cols.keypoints.append((name, slot["x"], slot["y"], slot.get("v")))
            used.update(slot.values())
    elif numbered:
        numbers = sorted(numbered, key=lambda i: int(header[i]))
        values = [int(header[i]) for i in numbers]
        if values != list(range(len(values))) or len(values) % 2:
            raise DataError(
                f"{display}:{line}: numbered coordinate columns must be 0, 1, 2, … 2K-1 "
                f"(x0, y0, x1, y1, …); found {', '.join(header[i] for i in numbers)}"
            )
        k = len(values) // 2
        spec_names = options.keypoint_names
        if spec_names is not None and len(spec_names) != k:
            raise UsageError(
                f"{display}:{line}: the CSV has {k} numbered keypoints (x,y column pairs) but the "
                f"spec has {len(spec_names)} keypoints"
            )
        for i in range(k):
            label = spec_names[i] if spec_names is not None else f"kp{i}"
            cols.keypoints.append((label, numbers[2 * i], numbers[2 * i + 1], None))
        used.update(numbers)
    else:
        raise DataError(
            f"{display}:{line}: no keypoint columns: expected {{name}}_x / {{name}}_y pairs "
            f"(or numbered columns 0,1,2,… = x0,y0,x1,…); the header has: {', '.join(header)}"
        )
    cols.ignored = [h for i, h in enumerate(header) if i not in used and h]
    return cols


def parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    """Parse a wide-layout table: one instance per row."""
    with gc_paused():
        return _parse(table, options)


def _parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    findings: list[Finding] = list(table.findings)
    h, header = header_record(table)
    if not header:
        raise DataError(f"{table.display}: the file is empty")
    line = table.line(h)
    cols = read_columns(table, header, line, options)
    if cols.ignored:
        findings.append(
            info("csv.ignored_columns", f"columns not used: {', '.join(cols.ignored)}", source=f"{table.display}:{line}")
        )
    body = table.body(h + 1, len(header))
    findings.extend(body.findings)
    if not len(body):
        return LayoutResult(ParseResult(findings=findings), {}, [table.path.parent])
    index = body.records(np.arange(len(body))).tolist()
    texts = {c: body.cells(c, np.arange(len(body))) for c in (cols.image, cols.instance, cols.category) if c is not None}

    # every number column at once: x, y (and v) of each keypoint, then the box
    wanted = [c for _, xc, yc, vc in cols.keypoints for c in (xc, yc, vc) if c is not None]
    wanted += list(cols.bbox[1]) if cols.bbox else []
    values, bad = body.numbers(wanted, header)
    findings.extend(bad)
    by_column = dict(zip(wanted, values.tolist(), strict=True))
    kp_values = [
        (name, by_column[xc], by_column[yc], by_column[vc] if vc is not None else None, header[vc] if vc is not None else "")
        for name, xc, yc, vc in cols.keypoints
    ]
    box_values = [by_column[c] for c in cols.bbox[1]] if cols.bbox else None
    default_category = options.category_or("object")
    instances: list[RawInstance] = []
    image_names: dict[str, str] = {}
    seen: dict[tuple[str, str, str], int] = {}
    lines = table.lines(np.array(index, dtype=np.int64)).tolist()
    for j, r in enumerate(index):
        where = f"{table.display}:{lines[j]}"
        image = normalize_name(texts[cols.image][j])
        if not image:
            findings.append(error("csv.missing_image_name", "the image cell is empty; row skipped", source=where))
            continue
        image_names.setdefault(image, where)
        category = texts[cols.category][j].strip() if cols.category is not None else ""
        category = category or default_category
        if cols.instance is not None:
            key = (image, category, texts[cols.instance][j].strip())
            if key in seen:
                findings.append(
                    error(
                        "csv.duplicate_instance",
                        f"instance {key[2]!r} on image {image!r} is given again "
                        f"(first at line {table.line(seen[key])}); row skipped",
                        source=where,
                    )
                )
                continue
            seen[key] = r
        points: list[RawPoint] = []
        for name, xs, ys, vs, vname in kp_values:
            x, y = xs[j], ys[j]
            v = 2
            if vs is not None:
                v_raw = vs[j]
                if math.isnan(v_raw):
                    v = 2
                elif v_raw in (0.0, 1.0, 2.0):
                    v = int(v_raw)
                else:
                    findings.append(
                        error(
                            "csv.bad_visibility",
                            f'column "{vname}": {v_raw:g} is not a visibility (expected 0, 1, 2, or empty); '
                            "point dropped",
                            source=where,
                        )
                    )
                    continue
            if v > 0 and not math.isnan(x) and not math.isnan(y):
                points.append(RawPoint(name, x, y, v, f"{where}:{name}"))
        bbox = _bbox(cols, box_values, j, where, findings) if box_values is not None else None
        if not points and bbox is None:
            continue  # nothing labelled on this row: the image still appears, without this instance
        instances.append(RawInstance(image=image, category=category, points=points, bbox=bbox, source=where))
    # the header gives the keypoint order, also of keypoints no row labels
    names = list(dict.fromkeys(name for name, _, _, _ in cols.keypoints))
    categories = list(dict.fromkeys(inst.category for inst in instances)) or [default_category]
    spec = spec_from_mapping(
        {"categories": [{"name": c, "keypoints": names} for c in categories]}, source=table.display
    )
    parsed = ParseResult(instances=instances, findings=findings, spec=spec)
    return LayoutResult(parsed, image_names, [table.path.parent])


def _bbox(
    cols: Columns, values: list[list[float]], j: int, where: str, findings: list[Finding]
) -> tuple[float, float, float, float] | None:
    assert cols.bbox is not None
    a, b, c, d = (v[j] for v in values)
    if any(math.isnan(t) for t in (a, b, c, d)):
        return None
    w, h = (c, d) if cols.bbox[0] == "xywh" else (c - a, d - b)
    if w <= 0 or h <= 0:
        findings.append(
            error(
                "csv.bad_bbox",
                f"box {a:g}, {b:g}, {c:g}, {d:g} ({cols.bbox[0]}) has no area; box ignored",
                source=where,
            )
        )
        return None
    return (a, b, w, h)
