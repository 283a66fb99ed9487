"""The "long" layout: one row per keypoint.

Columns (names case-insensitive; the first accepted name found wins, ``--<role>-column`` picks
another)::

    image       image, file_name, filename, image_path, image_name, img, file, path   (required)
    keypoint    keypoint, bodypart, keypoint_name, label, part, landmark, joint, name (required)
    x, y        x, y                                                                  (required)
    instance    instance, instance_id, individual, track, object, object_id, animal, person
    visibility  v, visibility, visible, vis      (0, 1, 2; true/false; empty = 2)
    category    category, category_name, class

Rows with the same image (and instance, and category) form one instance; without an instance
column every image holds one instance. An empty or NaN x/y, or visibility 0, is an unlabelled
point. This is the layout for big files, so it works column by column: the common case (every
cell a plain number) never runs Python code per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, islice, repeat
from operator import ne

from ...errors import DataError, UsageError
from ...finding import Finding, error, warning
from ..builder import ParseResult, RawInstance, RawPoint
from .imagefiles import normalize_name
from .options import CsvOptions, LayoutResult, find_column, header_record
from .table import CsvTable, gc_paused, parse_numbers

VISIBILITY_WORDS = {"true": 2, "false": 0, "yes": 2, "no": 0, "visible": 2, "occluded": 1, "hidden": 1}


def looks_like(header: list[str], options: CsvOptions) -> bool:
    """True when the header has keypoint, x and y columns (by name or by the user's options)."""
    try:
        return all(
            find_column(header, role, options, required=False, display="") is not None
            for role in ("image", "keypoint", "x", "y")
        )
    except UsageError:
        return False


def parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    """Parse a long-layout table into instances (images named as written)."""
    with gc_paused():
        return _parse(table, options)


def _parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    findings: list[Finding] = list(table.findings)
    h, header = header_record(table)
    if not header:
        raise DataError(f"{table.display}: the file is empty")
    line = table.line(h)
    col = {
        role: find_column(
            header, role, options, required=role in ("image", "keypoint", "x", "y"),
            display=table.display, header_line=line,
        )
        for role in ("image", "keypoint", "x", "y", "instance", "visibility", "category")
    }
    # required=True above raises rather than return None
    xi, yi, ii, ki = (int(col[role] or 0) for role in ("x", "y", "image", "keypoint"))
    width = len(header)
    index: list[int] | int = h + 1  # record index of the first row, or one per row once regularized
    split = table.split_columns(h + 1, width)
    if split is not None:
        columns: list[Sequence[str]] = list(split)
    else:
        body = table.rows[h + 1 :]
        if set(map(len, body)) - {width}:
            body, index, extra = _regularize(table, body, h + 1, width)
            findings.extend(extra)
        if not body:
            return LayoutResult(ParseResult(findings=findings), {}, [table.path.parent])
        columns = list(zip(*body, strict=True))
    xs, bad_x = parse_numbers(table, columns[xi], index, header[xi])
    ys, bad_y = parse_numbers(table, columns[yi], index, header[yi])
    findings.extend(bad_x)
    findings.extend(bad_y)
    n = len(columns[0])
    vi = col["visibility"]
    if vi is not None:
        vs, bad_v = _visibility(table, columns[vi], index, header[vi])
        findings.extend(bad_v)
    else:
        vs = [2] * n
    images = columns[ii]
    labels = columns[ki]
    instances = columns[col["instance"]] if col["instance"] is not None else repeat("")
    default_category = options.category_or("object")
    categories = columns[col["category"]] if col["category"] is not None else repeat(default_category)

    # One point per row, built at C speed (map); an unlabelled row (v=0, or x/y missing) stays
    # as a v=0 point, so a keypoint that is never labelled still names a spec entry.
    vs = [v if v > 0 and x == x and y == y else 0 for x, y, v in zip(xs, ys, vs, strict=True)]
    points = list(map(RawPoint, labels, xs, ys, vs))
    # Rows of one instance usually follow each other: find where the (image, category, instance)
    # key changes with C-level comparisons, then handle one run of rows at a time.
    keys = list(zip(images, categories, instances, strict=False))  # repeat() is endless
    starts = [0, *compress(range(1, n), map(ne, islice(keys, 1, None), keys))]
    groups: dict[tuple[str, str, str], RawInstance] = {}
    display = table.display
    for start, end in zip(starts, [*starts[1:], n], strict=True):
        key = keys[start]
        group = groups.get(key)
        if group is None:
            where = f"{display}:{table.line(index + start if isinstance(index, int) else index[start])}"
            image, cat, _ = key
            if not image.strip():
                findings.append(error("csv.missing_image_name", "the image cell is empty; row skipped", source=where))
                continue
            group = groups[key] = RawInstance(
                image=normalize_name(image), category=cat.strip() or default_category, source=where
            )
        group.points += points[start:end]

    image_names: dict[str, str] = {}
    for group in groups.values():
        image_names.setdefault(group.image, group.source)
    # an instance whose rows are all unlabelled is "nothing here": its image stays, it does not
    labelled = [g for g in groups.values() if any(p.v for p in g.points)]
    parsed = ParseResult(instances=labelled, findings=findings)
    return LayoutResult(parsed, image_names, [table.path.parent])


def _regularize(
    table: CsvTable, body: list[list[str]], first: int, width: int
) -> tuple[list[list[str]], list[int], list[Finding]]:
    """Drop blank records, pad short ones, report cells beyond the header (slow path, rare)."""
    out: list[list[str]] = []
    index: list[int] = []
    findings: list[Finding] = []
    for i, row in enumerate(body, start=first):
        if len(row) == width:
            out.append(row)
            index.append(i)
            continue
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        elif any(c.strip() for c in row[width:]):
            findings.append(
                warning(
                    "csv.extra_cells",
                    f"{len(row)} cells but the header has {width}; the cells beyond it are ignored",
                    source=table.where(i),
                )
            )
            row = row[:width]
        else:
            row = row[:width]
        out.append(row)
        index.append(i)
    return out, index, findings


def _visibility(
    table: CsvTable, values: Sequence[str], index: list[int] | int, column: str
) -> tuple[list[int], list[Finding]]:
    """Visibility per row: 0/1/2 (empty = 2); a bad value drops the point with an error."""
    try:
        out = list(map(int, values))
    except ValueError:
        pass
    else:
        if set(out) <= {0, 1, 2}:
            return out, []
    out = []
    findings: list[Finding] = []
    for i, text in enumerate(values):
        v = _one_visibility(text)
        if v is None:
            where = table.where(index + i if isinstance(index, int) else index[i])
            shown = text if len(text) <= 40 else text[:37] + "..."
            findings.append(
                error(
                    "csv.bad_visibility",
                    f'column "{column}": "{shown}" is not a visibility (expected 0, 1, 2, or empty); '
                    "point dropped",
                    source=where,
                )
            )
            v = -1
        out.append(v)
    return out, findings


def _one_visibility(text: str) -> int | None:
    t = text.strip().lower()
    if t == "":
        return 2
    if t in VISIBILITY_WORDS:
        return VISIBILITY_WORDS[t]
    try:
        f = float(t)
    except ValueError:
        return None
    if f in (0.0, 1.0, 2.0):
        return int(f)
    return None
