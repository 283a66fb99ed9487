"""The YOLO rules: a valid line (or data.yaml), one thing changed per case, the code and place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kpconv.finding import Severity
from kpconv.formats.yolo.checks import (
    DATA_CHECKS,
    LINE_CHECKS,
    check_lines,
    check_split_keys,
    derived_flip_idx,
    flip_problems,
    usable_flip_idx,
)
from kpconv.formats.yolo.datafile import KptShape, load_data_file
from kpconv.formats.yolo.labels import LabelLines

SHAPE3, SHAPE2 = KptShape(2, 3), KptShape(2, 2)
VALID3 = [0, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4, 2, 0.6, 0.6, 1]
VALID2 = [1, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4, 0.6, 0.6]


def _lines(rows: list[list[float]]) -> LabelLines:
    n = len(rows)
    return LabelLines(
        ["a.txt"],
        np.zeros(n, dtype=np.int64),
        np.arange(1, n + 1),
        np.array(rows, dtype=np.float64),
    )


def _changed(template: list[float], changes: dict[int, float]) -> list[float]:
    row = list(template)
    for col, value in changes.items():
        row[col] = value
    return row


@pytest.mark.parametrize(
    ("shape", "changes", "code", "in_message"),
    [
        (SHAPE3, {5: float("nan")}, "yolo.not_a_number", "column 6 (keypoint 1 x) is nan"),
        (SHAPE3, {0: 2}, "yolo.class_id", "class 2 is not one of the 2 classes"),
        (SHAPE3, {0: 0.5}, "yolo.class_id", "class 0.5"),
        (SHAPE3, {0: -1}, "yolo.class_id", "class -1"),
        (SHAPE3, {6: 1.02}, "yolo.out_of_range", "column 7 (keypoint 1 y) is 1.02"),
        (SHAPE3, {1: -0.02}, "yolo.out_of_range", "column 2 (cx) is -0.02"),
        (SHAPE3, {3: 0}, "yolo.empty_box", "w=0 h=0.4"),
        (SHAPE3, {7: 3}, "yolo.visibility", "keypoint 1 v is 3"),
        (SHAPE3, {10: 0.5}, "yolo.visibility", "keypoint 2 v is 0.5"),
        (SHAPE2, {7: 1.5}, "yolo.out_of_range", "keypoint 2 x"),
    ],
)
def test_line_rules_drop_the_line_and_say_where(
    shape: KptShape, changes: dict, code: str, in_message: str
) -> None:
    template = VALID3 if shape.ndim == 3 else VALID2
    kept, found = check_lines(
        _lines([template, _changed(template, changes), template[::1]]), shape, 2
    )
    assert kept.line.tolist() == [1]  # line 3 repeats line 1: dropped too, with a warning
    by_code = {f.code: (n, f) for _, n, f in found}
    line, finding = by_code[code]
    assert line == 2 and finding.source == "a.txt:2" and finding.severity is Severity.ERROR
    assert in_message in finding.message
    assert by_code["yolo.duplicate_line"][1].message.startswith("same as line 1")


def test_valid_lines_pass_every_rule() -> None:
    kept, found = check_lines(
        _lines([VALID3, _changed(VALID3, {5: 1.01, 6: -0.01, 7: 0, 10: 2})]), SHAPE3, 2
    )
    assert len(kept) == 2 and found == []


def test_tolerance_values_and_v_columns() -> None:
    # v is not a coordinate: 2 is fine; a coordinate may be 1.01 (Ultralytics' 1 % tolerance)
    kept, found = check_lines(_lines([_changed(VALID3, {8: 1.01, 9: 1.01})]), SHAPE3, 2)
    assert len(kept) == 1 and found == []


def test_zero_points_with_two_values_warn_but_keep_the_line() -> None:
    kept, found = check_lines(_lines([_changed(VALID2, {5: 0, 6: 0})]), SHAPE2, 2)
    assert len(kept) == 1
    ((_, line, finding),) = found
    assert finding.code == "yolo.zero_point_2d" and finding.severity is Severity.WARNING
    assert "1 keypoint(s) at 0 0 (1)" in finding.message


def test_one_finding_per_line_from_the_first_rule_it_fails() -> None:
    _, found = check_lines(_lines([_changed(VALID3, {0: 5, 6: 3.0, 7: 9})]), SHAPE3, 2)
    assert [f.code for _, _, f in found] == ["yolo.class_id"]


def test_duplicates_only_within_one_file() -> None:
    lines = LabelLines(
        ["a.txt", "b.txt"],
        np.array([0, 1, 1]),
        np.array([1, 1, 2]),
        np.array([VALID3] * 3, dtype=float),
    )
    kept, found = check_lines(lines, SHAPE3, 2)
    assert kept.source(0) == "a.txt:1" and kept.source(1) == "b.txt:1" and len(kept) == 2
    assert [f.source for _, _, f in found] == ["b.txt:2"]


def test_the_rule_table_is_complete() -> None:
    names = {c.__name__ for c in LINE_CHECKS}
    assert {"check_finite", "check_class_ids", "check_value_range", "check_box_size", "check_visibility",
            "check_duplicate_lines", "check_zero_points_2d"} == names  # fmt: skip


# ------------------------------------------------------------------------------ data.yaml rules
@pytest.mark.parametrize(
    ("flip", "problem"),
    [
        ([0, 2, 1, 4, 3], None),
        ([0, 1, 2, 3, 4], None),  # the identity: symmetric, fine
        ([0, 2, 1, 4], "flip_idx has 4 entries, kpt_shape says 5 keypoints"),
        ([0, 2, 1, 4, 5], "flip_idx values must be 0..4, found [5]"),
        ([0, 2, 2, 4, 3], "not a permutation: [2] appear more than once, [1] never"),
        (
            [1, 2, 0, 4, 3],
            "not an involution (flipping twice must give the identity): flip_idx[0] = 1 but flip_idx[1] = 2",
        ),
    ],
)
def test_flip_problems(flip: list[int], problem: str | None) -> None:
    found = flip_problems(flip, 5)
    assert (found == []) if problem is None else (problem in found[0])


def _data(
    tmp_path: Path, extra: str, names: str = "[head, left_eye, right_eye, left_ear, right_ear]"
):
    f = tmp_path / "data.yaml"
    f.write_text(
        f"train: images/train\nval: images/val\nkpt_shape: [5, 3]\nnames: [a]\nkpt_names: {{0: {names}}}\n{extra}"
    )
    data = load_data_file(f)
    for check in DATA_CHECKS:
        check(data)
    return data


@pytest.mark.parametrize(
    ("extra", "code", "severity", "line"),
    [
        ("flip_idx: [0, 2, 1, 4, 3]\n", None, None, None),
        ("flip_idx: [0, 1, 2, 4, 3]\n", "yolo.flip_idx_names", Severity.WARNING, 6),
        ("flip_idx: [0, 2, 1, 3, 4]\n", "yolo.flip_idx_names", Severity.WARNING, 6),
        (
            "flip_idx: [1, 0, 2, 4, 3]\n",
            "yolo.flip_idx_names",
            Severity.WARNING,
            6,
        ),  # a permutation, wrong pairs
        ("flip_idx: [0, 2, 1, 4]\n", "yolo.flip_idx", Severity.ERROR, 6),
        ("", "yolo.flip_idx_missing", Severity.WARNING, None),
    ],
)
def test_flip_idx_rules(
    tmp_path: Path, extra: str, code: str | None, severity, line: int | None
) -> None:
    data = _data(tmp_path, extra)
    if code is None:
        assert data.findings == []
        return
    finding = next(f for f in data.findings if f.code == code)
    assert finding.severity is severity
    assert finding.source == (f"{data.path}:{line}" if line else str(data.path))


def test_a_missing_flip_idx_suggests_the_one_the_names_imply(tmp_path: Path) -> None:
    (finding,) = _data(tmp_path, "").findings
    assert "flip_idx: [0, 2, 1, 4, 3]" in finding.message and "fliplr = 0" in finding.message
    (finding,) = _data(tmp_path, "", names="[a, b, c, d, e]").findings
    assert "if symmetric: flip_idx: [0, 1, 2, 3, 4]" in finding.message


def test_usable_flip_idx_and_derived(tmp_path: Path) -> None:
    assert usable_flip_idx(_data(tmp_path, "flip_idx: [0, 2, 1, 4, 3]\n")) == [0, 2, 1, 4, 3]
    assert usable_flip_idx(_data(tmp_path, "flip_idx: [1, 2, 0, 3, 4]\n")) is None
    assert derived_flip_idx(["nose", "l_eye", "r_eye"]) == [0, 2, 1]


def test_split_keys_ultralytics_requires(tmp_path: Path) -> None:
    f = tmp_path / "data.yaml"
    f.write_text("train: a\nkpt_shape: [1, 3]\nnames: [x]\n")
    data = load_data_file(f)
    check_split_keys(data)
    assert [x.message for x in data.findings] == [
        "no 'val': Ultralytics requires both train and val in every data.yaml"
    ]
    f.write_text("train: a\nvalidation: b\nkpt_shape: [1, 3]\nnames: [x]\n")
    data = load_data_file(f)
    check_split_keys(data)
    assert data.findings == [] and data.splits["val"] == ["b"]


def test_every_code_is_listed_and_documented() -> None:
    """Each ``yolo.*`` code the package can report is in FINDING_CODES and in docs/readme/yolo.md."""
    import re

    from kpconv.formats.yolo import FINDING_CODES
    from tests.conftest import REPO

    package = REPO / "kpconv" / "formats" / "yolo"
    used = {
        m for f in package.glob("*.py") for m in re.findall(r'"(yolo\.[a-z_0-9]+)"', f.read_text())
    }
    assert used == set(FINDING_CODES)
    docs = (REPO / "docs" / "readme" / "yolo.md").read_text()
    assert [c for c in FINDING_CODES if f"`{c}`" not in docs] == []
