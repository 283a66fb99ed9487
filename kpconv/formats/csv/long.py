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
point. This is the layout for big files, so it works column by column (:class:`.table.Body`): the
common case (every cell a plain number) never runs Python code per cell.
"""

from __future__ import annotations

from itertools import compress

import numpy as np

from ...convert.builder import ParseResult, instances_from_columns
from ...errors import DataError, UsageError
from ...finding import Finding, error
from ...memory import gc_paused
from .imagefiles import normalize_names
from .options import CsvOptions, LayoutResult, find_column, header_record
from .table import Body, CsvTable, IntArray

VISIBILITY_WORDS = {"true": 2, "false": 0, "yes": 2, "no": 0, "visible": 2, "occluded": 1, "hidden": 1}  # fmt: skip


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
            header,
            role,
            options,
            required=role in ("image", "keypoint", "x", "y"),
            display=table.display,
            header_line=line,
        )
        for role in ("image", "keypoint", "x", "y", "instance", "visibility", "category")
    }
    # required=True above raises rather than return None
    xi, yi, ii, ki = (int(col[role] or 0) for role in ("x", "y", "image", "keypoint"))
    body = table.body(h + 1, len(header))
    findings.extend(body.findings)
    n = len(body)
    if not n:
        return LayoutResult(ParseResult(findings=findings), {}, [table.path.parent])

    vi = col["visibility"]
    key_columns = [j for j in (ii, col["category"], col["instance"]) if j is not None]
    (xs, ys), bad = body.numbers([xi, yi], header)
    findings.extend(bad)
    if vi is not None:
        vs, bad_v = _visibility(body, vi, header[vi])
        findings.extend(bad_v)
    else:
        vs = np.full(n, 2, dtype=np.int64)
    # an unlabelled row (v=0, a bad visibility (-1), or x/y missing: the numbers are finite or NaN,
    # so their sum is NaN when one is) stays as a v=0 point, so a keypoint that is never labelled
    # still names a spec entry
    np.maximum(vs, 0, out=vs)
    vs[np.isnan(xs + ys)] = 0
    label, labels = body.codes(ki)
    default_category = options.category_or("object")

    # Rows with the same (image, category, instance) cells form one instance. They usually
    # follow each other: find where the key changes, then work with one key per run of rows.
    starts = np.flatnonzero(body.changes(key_columns))
    image_code, image_texts = body.codes(ii, starts)
    image_names = normalize_names(image_texts)
    named = np.array([bool(name) for name in image_names], dtype=bool)[image_code]
    display = table.display
    for start in starts[~named].tolist():
        where = f"{display}:{table.line(body.record(start))}"
        findings.append(
            error("csv.missing_image_name", "the image cell is empty; row skipped", source=where)
        )
    key = image_code
    category_code, category_texts = np.zeros(len(starts), dtype=np.int64), [""]
    for j in key_columns[1:]:
        code, texts = body.codes(j, starts)
        if j == col["category"]:
            category_code, category_texts = code, texts
        if len(texts) > 1:
            key = np.unique(key * len(texts) + code, return_inverse=True)[1].reshape(-1)
    # instances numbered in the order they first appear
    valid = np.flatnonzero(named)
    _, first, inverse = np.unique(key[valid], return_index=True, return_inverse=True)
    by_appearance = np.argsort(first, kind="stable")
    rank = np.empty(len(first), dtype=np.int64)
    rank[by_appearance] = np.arange(len(first), dtype=np.int64)
    run_group = np.full(len(starts), -1, dtype=np.int64)
    run_group[valid] = rank[inverse.reshape(-1)]
    first_run = valid[first[by_appearance]]
    images = list(map(image_names.__getitem__, image_code[first_run].tolist()))
    stripped = [text.strip() or default_category for text in category_texts]
    categories = list(map(stripped.__getitem__, category_code[first_run].tolist()))
    sources = [
        f"{display}:{line}" for line in table.lines(body.records(starts[first_run])).tolist()
    ]

    run_length = np.diff(starts, append=n)
    rows: IntArray | slice
    if len(images) == len(starts):
        # every run is a new instance, numbered in row order: rows already grouped
        rows = slice(None)
        counts = run_length
        labelled = np.maximum.reduceat(vs, starts) > 0
    else:
        row_group = np.repeat(run_group, run_length)
        kept = np.flatnonzero(row_group >= 0)
        rows = kept[np.argsort(row_group[kept], kind="stable")]
        row_group = row_group[rows]
        counts = np.bincount(row_group, minlength=len(images))
        labelled = np.bincount(row_group, weights=vs[rows] > 0, minlength=len(images)) > 0

    named_at: dict[str, str] = {}
    for name, where in zip(images, sources, strict=True):
        named_at.setdefault(name, where)
    # an instance whose rows are all unlabelled is "nothing here": its image stays, it does not
    row_kept = np.repeat(labelled, counts)
    keep = labelled.tolist()
    instances = instances_from_columns(
        list(compress(images, keep)), list(compress(categories, keep)), list(compress(sources, keep)),
        counts[labelled], labels, label[rows][row_kept], xs[rows][row_kept], ys[rows][row_kept],
        vs[rows][row_kept],
    )  # fmt: skip
    parsed = ParseResult(findings=findings, instances=instances)
    return LayoutResult(parsed, named_at, [table.path.parent])


def _visibility(body: Body, j: int, column: str) -> tuple[IntArray, list[Finding]]:
    """Visibility per row: 0/1/2 (empty = 2); a bad value is -1 (point dropped) with an error."""
    codes, texts = body.codes(j)
    values = [_one_visibility(text) for text in texts]  # once per distinct text
    out = np.array([-1 if v is None else v for v in values] or [2], dtype=np.int64)[codes]
    findings: list[Finding] = []
    if None in values:
        table = body.table
        for row in np.flatnonzero(out < 0).tolist():
            text = texts[codes[row]]
            shown = text if len(text) <= 40 else text[:37] + "..."
            findings.append(
                error(
                    "csv.bad_visibility",
                    f'column "{column}": "{shown}" is not a visibility (expected 0, 1, 2, or empty); '
                    "point dropped",
                    source=table.where(body.record(row)),
                )
            )
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
