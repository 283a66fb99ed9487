"""The long layout (one row per keypoint) and layout detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.errors import DataError, UsageError
from kpconv.finding import Severity
from kpconv.formats.csv import CsvOptions, detect_layout, read_table
from kpconv.validation import validate
from tests.formats.csv_support import CSV, MALFORMED, SIZED, errors, run, write_csv


def write(tmp_path: Path, text: str, name: str = "points.csv") -> Path:
    return write_csv(tmp_path, text, name)


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("long.csv", "long"),
        ("wide.csv", "wide"),
        ("wide_dotted.csv", "wide"),
        ("wide_numbered.csv", "wide"),
        ("sleap/labels.000_clip.analysis.csv", "sleap"),
        ("malformed/semicolon.csv", "long"),
        ("malformed/bom.csv", "long"),
    ],
)
def test_detect_layout(name: str, layout: str) -> None:
    assert detect_layout(read_table(CSV / name)) == layout


def test_unknown_layout_is_refused_with_the_header() -> None:
    with pytest.raises(
        DataError, match=r"unknown_layout\.csv:1: cannot tell the CSV layout.*'alpha'"
    ):
        run(MALFORMED / "unknown_layout.csv")


def test_long_fixture() -> None:
    conv = run(CSV / "long.csv")
    assert errors(conv) == []
    ds = conv.dataset
    assert ds.categories[0].keypoints == ["nose", "left_eye", "right_eye"]
    assert [(i.file_name, i.width, i.height) for i in ds.images] == [
        ("images/a.png", 48, 32),
        ("images/b.jpg", 40, 30),  # a PNG named .jpg
        ("images/c.png", 64, 48),  # RGBA
        ("images/d.png", 32, 24),  # grayscale; only an unlabelled row: no annotation
    ]
    assert [(a.image_id, a.keypoints) for a in ds.annotations] == [
        (1, [10.5, 8.0, 2, 8.0, 6.0, 2, 13.0, 6.0, 1]),
        (1, [30.0, 20.0, 2, 0, 0, 0, 33.0, 18.0, 2]),
        (2, [20.0, 15.0, 2, 0, 0, 0, 22.0, 12.0, 2]),  # empty visibility = 2
        (3, [40.0, 30.0, 2, 38.0, 28.0, 2, 42.0, 28.0, 2]),
    ]
    assert validate(ds, images=CSV).errors == []


def test_custom_column_names_and_categories(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "frame_file;who;part;px;py;kind\n"
        "a.png;1;nose;1,5;2;cat\n"
        "a.png;1;tail;3;4;cat\n"
        "a.png;2;beak;5;6;bird\n",
    )
    columns = {
        "image": "frame_file",
        "instance": "who",
        "keypoint": "part",
        "x": "px",
        "y": "py",
        "category": "KIND",
    }
    conv = run(path, layout="long", columns=columns, images=SIZED)
    assert errors(conv) == []
    ds = conv.dataset
    assert sorted((c.name, tuple(c.keypoints)) for c in ds.categories) == [
        ("bird", ("beak",)),
        ("cat", ("nose", "tail")),
    ]
    assert ds.annotations[0].keypoints == [1.5, 2.0, 2, 3.0, 4.0, 2]


def test_default_column_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, "filename,bodypart,x,y,visibility\na.png,nose,1,2,1\n")
    conv = run(path, images=SIZED)
    assert conv.dataset.annotations[0].keypoints == [1.0, 2.0, 1]


def test_without_instance_column_each_image_is_one_instance(tmp_path: Path) -> None:
    path = write(tmp_path, "image,keypoint,x,y\na.png,nose,1,2\nb.png,nose,3,4\na.png,tail,5,6\n")
    conv = run(path, images=SIZED)
    assert [(a.image_id, a.num_keypoints) for a in conv.dataset.annotations] == [(1, 2), (2, 1)]


def test_unknown_column_option_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "image,keypoint,x,y\na.png,nose,1,2\n")
    with pytest.raises(UsageError, match="--x-column 'px' is not a column"):
        run(path, layout="long", columns={"x": "px"}, images=SIZED)


def test_missing_required_column(tmp_path: Path) -> None:
    path = write(tmp_path, "image,keypoint,x\na.png,nose,1\n")
    with pytest.raises(DataError, match=r"points\.csv:1: no y column"):
        run(path, layout="long", images=SIZED)


def test_not_a_number_is_located() -> None:
    conv = run(MALFORMED / "quoted.csv", images=SIZED)
    (f,) = [f for f in conv.report.findings if f.code == "csv.not_a_number"]
    assert f.severity is Severity.ERROR
    assert f.source == f"{MALFORMED / 'quoted.csv'}:5"  # line 5: the record before spans two lines
    assert f.message == 'column "x": "4O" is not a number'


def test_semicolons_and_decimal_commas() -> None:
    conv = run(MALFORMED / "semicolon.csv", images=SIZED)
    assert errors(conv) == []
    assert [a.keypoints for a in conv.dataset.annotations] == [
        [10.5, 8.25, 2, 30.0, 20.0, 2],
        [40.75, 30.0, 2, 0, 0, 0],
    ]


def test_bad_visibility_drops_the_point_with_a_located_error() -> None:
    conv = run(MALFORMED / "bad_visibility.csv", images=SIZED)
    (f,) = [f for f in conv.report.findings if f.code == "csv.bad_visibility"]
    assert f.source == f"{MALFORMED / 'bad_visibility.csv'}:3"
    assert '"5" is not a visibility' in f.message
    assert conv.dataset.annotations[0].num_keypoints == 1


def test_visibility_words(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "image,keypoint,x,y,visible\na.png,a,1,2,true\na.png,b,3,4,false\na.png,c,5,6,2.0\n",
    )
    conv = run(path, images=SIZED)
    assert conv.dataset.annotations[0].keypoints == [1.0, 2.0, 2, 0, 0, 0, 5.0, 6.0, 2]


def test_ragged_rows_blank_lines_and_extra_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "image,keypoint,x,y,v\na.png,nose,1,2\n\na.png,tail,3,4,2,surprise\n")
    conv = run(path, images=SIZED)
    assert conv.dataset.annotations[0].keypoints == [1.0, 2.0, 2, 3.0, 4.0, 2]
    (f,) = [f for f in conv.report.findings if f.code == "csv.extra_cells"]
    assert f.source == f"{path}:4"


def test_empty_image_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "image,keypoint,x,y\n,nose,1,2\na.png,nose,3,4\n")
    conv = run(path, images=SIZED)
    (f,) = [f for f in conv.report.findings if f.code == "csv.missing_image_name"]
    assert f.source == f"{path}:2"
    assert len(conv.dataset.annotations) == 1


def test_duplicate_keypoint_in_an_instance_is_reported_by_the_builder(tmp_path: Path) -> None:
    path = write(tmp_path, "image,keypoint,x,y\na.png,nose,1,2\na.png,nose,3,4\n")
    conv = run(path, images=SIZED)
    assert "convert.duplicate_keypoint" in [f.code for f in conv.report.findings]


def test_header_only_file(tmp_path: Path) -> None:
    conv = run(write(tmp_path, "image,keypoint,x,y\n"), images=SIZED)
    assert conv.dataset.images == [] and conv.dataset.annotations == []


def test_long_column_options_select_the_long_layout(tmp_path: Path) -> None:
    path = write(tmp_path, "image,part,px,py\na.png,nose,1,2\n")
    table = read_table(path)
    assert (
        detect_layout(table, CsvOptions(columns={"keypoint": "part", "x": "px", "y": "py"}))
        == "long"
    )
    with pytest.raises(DataError, match="cannot tell the CSV layout"):
        detect_layout(table)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the file is empty"):
        run(write(tmp_path, "\n\n"), layout="long", images=SIZED)
    with pytest.raises(DataError, match="the file is empty"):
        run(write(tmp_path, ""), images=SIZED)


# Quoting a cell does not change what it says: every case, written again with every cell quoted,
# gives the same document and the same located findings.
PLAIN_CASES = {
    "crlf_no_final_newline": "image,instance,keypoint,x,y,v\r\na.png,1,nose,1.5,2,2\r\na.png,1,tail,3,4,1",
    "semicolons_decimal_commas": "image;keypoint;x;y\na.png;nose;1,5;2\na.png;tail;-0,25;4\n",
    "empty_and_nan_cells": "image,keypoint,x,y,v\na.png,nose,,,0\na.png,tail,nan,4,2\na.png,ear,5,6,\n",
    "bad_numbers_are_located": "image,keypoint,x,y\na.png,nose,4O,2\na.png,tail,inf,4\na.png,ear,1e2,-.5\n",
    "visibility_words_and_bad_values": "image,keypoint,x,y,vis\na.png,a,1,2,true\na.png,b,3,4,5\na.png,c,5,6,hidden\n",
    "interleaved_instances": (
        "image,instance,keypoint,x,y\na.png,1,nose,1,1\na.png,2,nose,2,2\na.png,1,tail,3,3\nb.png,1,nose,4,4\n"
        "a.png,2,tail,5,5\n"
    ),
    "long_and_precise_numbers": (
        "image,keypoint,x,y\na.png,nose,-1234.5678,0.000123456789\na.png,tail,12345678901234567,1.234567890123456789\n"
        "a.png,ear,+007,00.5\n"
    ),
    "names_beyond_ascii_and_long": (
        "image,keypoint,x,y\nbilder/größe.png,naseñ,1,2\nbilder/größe.png,a_keypoint_name_longer_than_sixteen_bytes,3,4\n"
    ),
    "empty_image_cells_and_normalized_names": "image,keypoint,x,y\n,nose,1,2\n./a.png,nose,3,4\na.png,tail,5,6\n,tail,7,8\n",
    "unlabelled_instance_and_categories": (
        "image,instance,keypoint,x,y,v,class\na.png,1,nose,1,2,0\nb.png,1,nose,3,4,2,cat\nb.png,1,tail,5,6,2,cat \n"
        "b.png,2,nose,7,8,2,\n"
    ).replace("2,0\n", "2,0,cat\n"),
    "blank_line_before_the_header": "\nimage,keypoint,x,y\na.png,nose,1,2\n",
    "header_only": "image,keypoint,x,y\n",
}


def _quoted(text: str) -> str:
    """The same table with every cell quoted."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        delimiter = ";" if ";" in body else ","
        out.append(
            delimiter.join(f'"{cell}"' for cell in body.split(delimiter)) + end if body else line
        )
    return "".join(out)


@pytest.mark.parametrize("name", list(PLAIN_CASES))
def test_quoted_cells_read_as_plain_ones(tmp_path: Path, name: str) -> None:
    text = PLAIN_CASES[name]
    a = run(write(tmp_path, text, "plain.csv"), layout="long", images=SIZED)
    b = run(write(tmp_path, _quoted(text), "quoted.csv"), layout="long", images=SIZED)
    assert a.data == b.data
    where = [
        (f.code, f.message, (f.source or "").replace("plain.csv", "?")) for f in a.report.findings
    ]
    assert where == [
        (f.code, f.message, (f.source or "").replace("quoted.csv", "?")) for f in b.report.findings
    ]


def test_plain_file_values_and_places(tmp_path: Path) -> None:
    conv = run(write(tmp_path, PLAIN_CASES["bad_numbers_are_located"]), images=SIZED)
    bad = [(f.source, f.message) for f in conv.report.findings if f.code == "csv.not_a_number"]
    assert bad == [
        (f"{tmp_path / 'points.csv'}:2", 'column "x": "4O" is not a number'),
        (f"{tmp_path / 'points.csv'}:3", 'column "x": "inf" is not a finite number'),
    ]
    nose_tail_ear = [0, 0, 0, 0, 0, 0, 100.0, -0.5, 2]
    assert conv.dataset.annotations[0].keypoints == nose_tail_ear
    conv = run(write(tmp_path, PLAIN_CASES["long_and_precise_numbers"]), images=SIZED)
    assert conv.document["annotations"][0]["keypoints"] == [
        -1234.5678, 0.000123456789, 2, 12345678901234567.0, 1.2345678901234568, 2, 7.0, 0.5, 2,
    ]  # fmt: skip
    conv = run(write(tmp_path, PLAIN_CASES["interleaved_instances"]), images=SIZED)
    assert [(a["image_id"], a["keypoints"][:6]) for a in conv.document["annotations"]] == [
        (1, [1.0, 1.0, 2, 3.0, 3.0, 2]),  # instance 1 of a.png: its two runs of rows
        (1, [2.0, 2.0, 2, 5.0, 5.0, 2]),
        (2, [4.0, 4.0, 2, 0, 0, 0]),
    ]
