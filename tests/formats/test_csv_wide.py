"""The wide layout: one row per instance, keypoint coordinates in columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.errors import DataError, UsageError
from kpconv.validation import validate
from tests.formats.csv_support import CSV, MALFORMED, SIZED, errors, run, write_csv


def write(tmp_path: Path, text: str, name: str = "wide.csv") -> Path:
    return write_csv(tmp_path, text, name)


def test_wide_fixture_with_visibility_and_boxes() -> None:
    conv = run(CSV / "wide.csv")
    assert errors(conv) == []
    ds = conv.dataset
    assert ds.categories[0].keypoints == ["nose", "left_eye", "right_eye"]
    assert [(a.image_id, a.keypoints, a.bbox) for a in ds.annotations] == [
        (1, [10.5, 8.0, 2, 8.0, 6.0, 2, 13.0, 6.0, 1], [4.0, 2.0, 14.0, 10.0]),  # drawn box
        (1, [30.0, 20.0, 2, 0, 0, 0, 33.0, 18.0, 2], ds.annotations[1].bbox),  # derived box
        (2, [20.0, 15.0, 2, 0, 0, 0, 22.0, 12.0, 2], ds.annotations[2].bbox),
        (3, [40.0, 30.0, 2, 38.0, 28.0, 2, 42.0, 28.0, 2], [30.0, 20.0, 20.0, 15.0]),
    ]
    assert [i.file_name for i in ds.images] == ["images/a.png", "images/b.jpg", "images/c.png", "images/d.png"]
    assert validate(ds, images=CSV).errors == []


def test_wide_dotted_names_and_short_rows() -> None:
    conv = run(CSV / "wide_dotted.csv")
    assert errors(conv) == []
    assert [a.keypoints for a in conv.dataset.annotations] == [
        [10.0, 8.0, 2, 30.0, 20.0, 2],
        [40.0, 30.0, 2, 0, 0, 0],  # the row stops after tail.x: padded, not an error
    ]


def test_wide_numbered_columns_by_index() -> None:
    conv = run(CSV / "wide_numbered.csv")
    assert conv.dataset.categories[0].keypoints == ["kp0", "kp1", "kp2"]
    assert conv.dataset.annotations[0].keypoints == [10.0, 8.0, 2, 12.0, 6.0, 2, 14.0, 8.0, 2]


def test_wide_numbered_columns_take_names_from_the_spec() -> None:
    conv = run(CSV / "wide_numbered.csv", keypoint_names=["nose", "left_eye", "right_eye"])
    assert conv.dataset.categories[0].keypoints == ["nose", "left_eye", "right_eye"]
    with pytest.raises(UsageError, match="3 numbered keypoints .* spec has 2"):
        run(CSV / "wide_numbered.csv", keypoint_names=["a", "b"])


def test_wide_short_rows_are_padded() -> None:
    conv = run(MALFORMED / "short_rows.csv", images=SIZED)
    assert errors(conv) == []
    assert [i.file_name for i in conv.dataset.images] == ["images/a.png", "images/c.png", "images/d.png"]
    assert [a.keypoints for a in conv.dataset.annotations] == [
        [10.0, 8.0, 2, 30.0, 20.0, 2],
        [40.0, 30.0, 2, 0, 0, 0],
    ]


def test_wide_not_a_number_message_names_the_column() -> None:
    conv = run(MALFORMED / "not_a_number.csv", images=SIZED)
    (f,) = [f for f in conv.report.findings if f.code == "csv.not_a_number"]
    assert f"{f.source}: {f.message}" == f'{MALFORMED / "not_a_number.csv"}:3: column "nose_x": "abc" is not a number'
    # the other keypoint of that row still converts
    assert conv.dataset.annotations[1].keypoints == [0, 0, 0, 41.0, 32.0, 2]


def test_wide_corner_boxes_and_bad_boxes(tmp_path: Path) -> None:
    path = write(tmp_path, "image,xmin,ymin,xmax,ymax,a_x,a_y\na.png,1,2,11,22,5,6\nb.png,5,5,5,9,6,7\n")
    conv = run(path, images=SIZED)
    assert conv.dataset.annotations[0].bbox == [1.0, 2.0, 10.0, 20.0]
    (f,) = [f for f in conv.report.findings if f.code == "csv.bad_bbox"]
    assert f.source == f"{path}:3"


def test_wide_instance_column_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, "image,instance,a_x,a_y\na.png,1,1,2\na.png,1,3,4\na.png,2,5,6\n")
    conv = run(path, images=SIZED)
    (f,) = [f for f in conv.report.findings if f.code == "csv.duplicate_instance"]
    assert f.source == f"{path}:3" and "first at line 2" in f.message
    assert len(conv.dataset.annotations) == 2


def test_wide_unused_columns_are_noted(tmp_path: Path) -> None:
    path = write(tmp_path, "image,a_x,a_y,a_likelihood,comment\na.png,1,2,0.9,hi\n")
    conv = run(path, images=SIZED)
    (f,) = [f for f in conv.report.findings if f.code == "csv.ignored_columns"]
    assert "a_likelihood" in f.message and "comment" in f.message


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("image,a_x,b_y", "keypoint 'a' has a column 'a_x' but no 'y' column"),
        ("image,a_x,a_X,a_y", "keypoint 'a' has two 'x' columns"),
        ("image,0,1,3", "numbered coordinate columns must be 0, 1, 2"),
    ],
)
def test_wide_bad_headers_are_refused(tmp_path: Path, header: str, match: str) -> None:
    path = write(tmp_path, header + "\na.png,1,2,3\n")
    with pytest.raises(DataError, match=match):
        run(path, layout="wide", images=SIZED)


def test_wide_blank_lines_and_extra_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "image,nose_x,nose_y\na.png,1,2\n\nb.png,3,4,surprise\nc.png,5,6,\n")
    conv = run(path, images=SIZED)
    assert [a.keypoints for a in conv.dataset.annotations] == [[1.0, 2.0, 2], [3.0, 4.0, 2], [5.0, 6.0, 2]]
    (f,) = [f for f in conv.report.findings if f.code == "csv.extra_cells"]  # the empty extra cell is fine
    assert f.source == f"{path}:4"
