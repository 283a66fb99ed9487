"""The YOLO pose rules: one small function per rule, listed in :data:`DATA_CHECKS`,
:data:`LINT_CHECKS` and :data:`LINE_CHECKS`.

Data-file rules look at ``data.yaml`` (``flip_idx`` a permutation and an involution that pairs
``left_x`` with ``right_x``, the split keys Ultralytics requires). Line rules look at the parsed
label lines (class ids, value ranges, boxes, visibility, repeats, ``[K, 2]`` points at 0 0) and
drop the lines that cannot be converted. Every finding says expected vs found and where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ...finding import Finding, error, info, warning
from ...spec import derive_flip_pairs
from .datafile import DataFile, KptShape
from .labels import SKIPS_IMAGE, LabelLines, LineFinding, column_name

#: Ultralytics' tolerance around 0–1 for normalised values (``verify_image_label``)
LOW, HIGH = -0.01, 1.01


# ============================================================================ data.yaml rules
def flip_problems(flip_idx: list[int], k: int) -> list[str]:
    """What is wrong with ``flip_idx`` for K keypoints (empty: a usable permutation and involution)."""
    if len(flip_idx) != k:
        return [f"flip_idx has {len(flip_idx)} entries, kpt_shape says {k} keypoints"]
    out = []
    outside = [v for v in flip_idx if not 0 <= v < k]
    if outside:
        out.append(f"flip_idx values must be 0..{k - 1}, found {outside}")
    elif len(set(flip_idx)) != k:
        twice = sorted({v for v in flip_idx if flip_idx.count(v) > 1})
        out.append(
            f"flip_idx is not a permutation: {twice} appear more than once, "
            f"{sorted(set(range(k)) - set(flip_idx))} never"
        )
    else:
        for i, j in enumerate(flip_idx):
            if flip_idx[j] != i:
                out.append(
                    f"flip_idx is not an involution (flipping twice must give the identity): "
                    f"flip_idx[{i}] = {j} but flip_idx[{j}] = {flip_idx[j]}"
                )
                break
    return out


def usable_flip_idx(data: DataFile) -> list[int] | None:
    """``flip_idx`` when it is a permutation and an involution of the K keypoints, else None."""
    if (
        data.flip_idx is None
        or data.kpt_shape is None
        or flip_problems(data.flip_idx, data.kpt_shape.k)
    ):
        return None
    return data.flip_idx


def derived_flip_idx(names: list[str]) -> list[int]:
    """The flip_idx that left/right naming implies (identity where a name has no partner)."""
    perm = list(range(len(names)))
    for a, b in derive_flip_pairs(names):
        perm[a - 1], perm[b - 1] = b - 1, a - 1
    return perm


def check_flip_idx_present(data: DataFile) -> None:
    """No flip_idx: Ultralytics turns horizontal flips off, saying so only in its log."""
    if data.flip_idx is not None or data.kpt_shape is None or "flip_idx" in data.doc:
        return
    names = next(iter(data.kpt_names.values()), None)
    suggestion = ""
    if names is not None:
        perm = derived_flip_idx(names)
        what = (
            "from the left/right names"
            if perm != list(range(len(names)))
            else "no left/right names: if symmetric"
        )
        suggestion = f"; {what}: flip_idx: {perm}"
    data.findings.append(warning(
        "yolo.flip_idx_missing",
        "no flip_idx: Ultralytics turns the horizontal flip augmentation off (fliplr = 0) for this dataset"
        + suggestion,
        source=data.where(),
    ))  # fmt: skip


def check_flip_idx_valid(data: DataFile) -> None:
    """flip_idx has K entries, is a permutation of 0..K-1 and an involution."""
    if data.flip_idx is None or data.kpt_shape is None:
        return
    for problem in flip_problems(data.flip_idx, data.kpt_shape.k):
        data.findings.append(error("yolo.flip_idx", problem, source=data.where("flip_idx")))


def check_flip_idx_names(data: DataFile) -> None:
    """flip_idx maps ``left_x`` to ``right_x`` (and back) wherever kpt_names pair up (warning)."""
    flip = usable_flip_idx(data)
    if flip is None:
        return
    for cls, names in sorted(data.kpt_names.items()):
        for a, b in derive_flip_pairs(names):
            for i, j in ((a - 1, b - 1), (b - 1, a - 1)):
                if flip[i] != j:
                    data.findings.append(warning(
                        "yolo.flip_idx_names",
                        f"flip_idx[{i}] = {flip[i]} maps {names[i]!r} to {names[flip[i]]!r}; "
                        f"the names say {names[j]!r} (index {j})"
                        + (f" for class {cls} ({data.names.get(cls, '?')})" if len(data.kpt_names) > 1 else ""),
                        source=data.where("flip_idx"),
                    ))  # fmt: skip
                    break


def check_kpt_names_present(data: DataFile) -> None:
    """Without kpt_names the keypoints have no names (kp1..kpK)."""
    if data.kpt_shape is not None and not data.kpt_names and not data.kpt_names_source:
        data.findings.append(info(
            "yolo.kpt_names_missing",
            f"no kpt_names: the {data.kpt_shape.k} keypoints are unnamed (kp1..kp{data.kpt_shape.k}) "
            "and flip pairs cannot be checked against names",
            source=data.where(),
        ))  # fmt: skip


def check_split_keys(data: DataFile) -> None:
    """Ultralytics refuses a data.yaml without ``train`` or ``val`` (``validation`` is read as val)."""
    for key in ("train", "val"):
        if key not in data.splits and not (key == "val" and data.doc.get("validation")):
            data.findings.append(error(
                "yolo.split_key", f"no {key!r}: Ultralytics requires both train and val in every data.yaml",
                source=data.where(),
            ))  # fmt: skip


DataCheck = Callable[[DataFile], None]
#: rules that decide how a dataset is read (run by from-yolo and the linter)
DATA_CHECKS: list[DataCheck] = [check_flip_idx_valid, check_flip_idx_names, check_flip_idx_present]
#: rules only the linter runs (they matter for training with Ultralytics, not for converting)
LINT_CHECKS: list[DataCheck] = [check_split_keys, check_kpt_names_present]


# ============================================================================ label-line rules
@dataclass
class LineContext:
    """The parsed lines of one split, which of them are still kept, and the findings so far."""

    lines: LabelLines
    shape: KptShape
    classes: int
    keep: npt.NDArray[np.bool_] = field(init=False)
    found: list[LineFinding] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keep = np.ones(len(self.lines), dtype=bool)

    def report(
        self, rows: npt.NDArray[np.intp], make: Callable[[int], Finding], *, drop: bool = True
    ) -> None:
        for i in rows.tolist():
            self.found.append((int(self.lines.file[i]), int(self.lines.line[i]), make(i)))
        if drop:
            self.keep[rows] = False

    def kept(self, bad: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Kept lines where ``bad`` holds (one finding per line: the first rule that fails)."""
        return np.flatnonzero(np.asarray(bad, dtype=bool) & self.keep)

    @property
    def points(self) -> npt.NDArray[np.float64]:
        """(lines, K, ndim) view of the keypoint columns."""
        return self.lines.values[:, 5:].reshape(len(self.lines), self.shape.k, self.shape.ndim)


def _first(values: npt.NDArray[np.float64], bad_row: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(bad_row)[0]) if bad_row.any() else 0


def check_finite(ctx: LineContext) -> None:
    """Every value is a finite number (``nan`` and ``inf`` parse, but mean nothing)."""
    values = ctx.lines.values
    bad = ~np.isfinite(values)

    def make(i: int) -> Finding:
        col = _first(values, bad[i])
        return error(
            "yolo.not_a_number",
            f"column {col + 1} ({column_name(col, ctx.shape.ndim)}) is "
            f"{float(values[i, col])}" + SKIPS_IMAGE,
            source=ctx.lines.source(i),
        )

    ctx.report(ctx.kept(bad.any(axis=1)), make)


def check_class_ids(ctx: LineContext) -> None:
    """The class is an integer in 0..len(names)-1."""
    cls = ctx.lines.values[:, 0]
    bad = (cls % 1 != 0) | (cls < 0) | (cls >= ctx.classes)

    def make(i: int) -> Finding:
        value = cls[i]
        shown = int(value) if value % 1 == 0 else float(value)
        return error(
            "yolo.class_id",
            f"class {shown} is not one of the {ctx.classes} classes in names "
            f"(0..{ctx.classes - 1})" + SKIPS_IMAGE,
            source=ctx.lines.source(i),
        )

    ctx.report(ctx.kept(bad), make)


def check_value_range(ctx: LineContext) -> None:
    """Box and point coordinates lie in -0.01..1.01 (normalised); no value below -0.01."""
    values = ctx.lines.values
    coord = np.ones(ctx.shape.columns, dtype=bool)
    coord[0] = False
    if ctx.shape.ndim == 3:
        coord[7::3] = False  # the v columns
    bad = (values < LOW) | ((values > HIGH) & coord)

    def make(i: int) -> Finding:
        col = _first(values, bad[i])
        return error(
            "yolo.out_of_range",
            f"column {col + 1} ({column_name(col, ctx.shape.ndim)}) is {values[i, col]:g}: normalised values must "
            f"lie within {LOW}..{HIGH} (pixel coordinates instead of fractions of the image?)"
            + SKIPS_IMAGE,
            source=ctx.lines.source(i),
        )

    ctx.report(ctx.kept(bad.any(axis=1)), make)


def check_box_size(ctx: LineContext) -> None:
    """The box has a positive width and height."""
    w, h = ctx.lines.values[:, 3], ctx.lines.values[:, 4]

    def make(i: int) -> Finding:
        return error(
            "yolo.empty_box",
            f"box width and height must be > 0, found w={w[i]:g} h={h[i]:g}",
            source=ctx.lines.source(i),
        )

    ctx.report(ctx.kept((w <= 0) | (h <= 0)), make)


def check_visibility(ctx: LineContext) -> None:
    """With ``[K, 3]`` each v is 0 (not labelled), 1 (labelled, occluded) or 2 (visible)."""
    if ctx.shape.ndim != 3:
        return
    v = ctx.points[..., 2]
    bad = (v != 0) & (v != 1) & (v != 2)

    def make(i: int) -> Finding:
        k = _first(v, bad[i])
        return error(
            "yolo.visibility",
            f"keypoint {k + 1} v is {v[i, k]:g}: expected 0, 1 or 2 "
            "(confidences from a prediction file?)",
            source=ctx.lines.source(i),
        )

    ctx.report(ctx.kept(bad.any(axis=1)), make)


def check_duplicate_lines(ctx: LineContext) -> None:
    """A line repeated in one file: Ultralytics drops the repeat, and so does kpconv (warning)."""
    rows = np.flatnonzero(ctx.keep)
    file = ctx.lines.file[rows]
    rows = rows[np.bincount(file)[file] > 1]  # only files with two lines or more can repeat one
    if len(rows) < 2:
        return
    # sort by (file, a weighted sum of the values): equal lines end up next to each other; the
    # neighbours are then compared whole, so a collision of sums costs nothing but a comparison
    values = ctx.lines.values[rows]
    weights = np.random.default_rng(0).uniform(0.5, 1.5, values.shape[1])
    order = np.lexsort((np.arange(len(rows)), values @ weights, ctx.lines.file[rows]))
    values, ordered = values[order], rows[order]
    same = (values[1:] == values[:-1]).all(axis=1) & (
        ctx.lines.file[ordered[1:]] == ctx.lines.file[ordered[:-1]]
    )
    if not same.any():
        return
    # the first line of each run of equal lines is the original of the others
    run_start = np.maximum.accumulate(
        np.where(np.concatenate([[True], ~same]), np.arange(len(ordered)), 0)
    )
    repeats = np.flatnonzero(np.concatenate([[False], same]))
    original = dict(
        zip(ordered[repeats].tolist(), ordered[run_start[repeats]].tolist(), strict=True)
    )

    def make(i: int) -> Finding:
        return warning(
            "yolo.duplicate_line",
            f"same as line {int(ctx.lines.line[original[i]])}; the repeat is dropped "
            "(as Ultralytics drops it)",
            source=ctx.lines.source(i),
        )

    ctx.report(np.sort(ordered[repeats]), make)


def check_zero_points_2d(ctx: LineContext) -> None:
    """``[K, 2]`` has no visibility: a point at 0 0 is a real point in the image corner to
    Ultralytics. kpconv reads it as not labelled (warning; the line is kept)."""
    if ctx.shape.ndim != 2:
        return
    p = ctx.points
    zero = (p[..., 0] == 0) & (p[..., 1] == 0)
    counts = zero.sum(axis=1)

    def make(i: int) -> Finding:
        ks = (np.flatnonzero(zero[i]) + 1).tolist()
        return warning(
            "yolo.zero_point_2d",
            f"{len(ks)} keypoint(s) at 0 0 ({', '.join(map(str, ks[:8]))}{'…' if len(ks) > 8 else ''}): with "
            "kpt_shape [K, 2] Ultralytics trains them as real points in the image corner; kpconv reads them as "
            "not labelled (use [K, 3] with v = 0)",
            source=ctx.lines.source(i),
        )

    ctx.report(ctx.kept(counts > 0), make, drop=False)


LineCheck = Callable[[LineContext], None]
#: in order: a line gets one finding, from the first rule it fails
LINE_CHECKS: list[LineCheck] = [
    check_finite, check_class_ids, check_value_range, check_box_size, check_visibility,
    check_duplicate_lines, check_zero_points_2d,
]  # fmt: skip


def check_lines(
    lines: LabelLines, shape: KptShape, classes: int
) -> tuple[LabelLines, list[LineFinding]]:
    """Run :data:`LINE_CHECKS`; the lines that pass and the findings."""
    ctx = LineContext(lines, shape, classes)
    for check in LINE_CHECKS:
        check(ctx)
    return lines.subset(ctx.keep), ctx.found
