"""Reading CSV text: encodings, delimiters, quotes, located numbers (kpconv.formats.csv.table)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kpconv.errors import DataError, UsageError
from kpconv.formats.csv.table import NotANumber, parse_number, read_table, sniff_delimiter
from tests.conftest import FIXTURES

MALFORMED = FIXTURES / "csv" / "malformed"


def write(tmp_path: Path, data: bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a,b,c", ","),
        ("a;b;c", ";"),
        ("a\tb\tc", "\t"),
        ("a|b|c", "|"),
        ('"x,y";"z";w', ";"),  # commas inside quotes do not count
        ("single", ","),
        ("", ","),
    ],
)
def test_sniff_delimiter(line: str, expected: str) -> None:
    assert sniff_delimiter(line + "\n1,2\n") == expected


def test_bom_and_crlf_are_invisible() -> None:
    table = read_table(MALFORMED / "bom.csv")
    assert table.rows[0] == ["image", "keypoint", "x", "y"]  # no "\ufeffimage"
    assert table.rows[2] == ["images/a.png", "tail", "30", "20"]
    assert table.findings == []


def test_semicolon_file_with_decimal_comma() -> None:
    table = read_table(MALFORMED / "semicolon.csv")
    assert table.delimiter == ";"
    assert table.decimal_comma
    assert table.rows[1] == ["images/a.png", "1", "nose", "10,5", "8,25"]
    findings: list = []
    assert table.number("10,5", 1, "x", findings) == 10.5
    assert findings == []


def test_quoted_fields_and_line_numbers_across_a_multiline_cell() -> None:
    table = read_table(MALFORMED / "quoted.csv")
    assert table.rows[1][:2] == ["images/a.png", "nose"]
    assert table.rows[2][4] == "a note, with a comma\nand a second line"
    assert table.rows[3][4] == '"quoted" word'
    # record 3 starts on line 5, because record 2 spans lines 3-4
    assert [table.line(i) for i in range(4)] == [1, 2, 3, 5]
    assert table.where(3, "x") == f"{MALFORMED / 'quoted.csv'}:5:x"


def test_blank_lines_are_no_records_and_lines_stay_right(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b"\na,b\n\r\n\n1,2\n"))
    assert table.rows == [["a", "b"], ["1", "2"]]
    assert [table.line(0), table.line(1)] == [2, 5]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_lines_of_records_after_a_multiline_cell_and_blank_lines(tmp_path: Path, end: bytes) -> None:
    data = b'a,b\n\n"x\ny\n\nz",1\n\n2,"3"\n4,5\n'.replace(b"\n", end)
    table = read_table(write(tmp_path, data))
    assert [row[0] for row in table.rows] == ["a", "x\ny\n\nz".replace("\n", end.decode()), "2", "4"]
    assert table.lines(np.arange(4)).tolist() == [1, 3, 8, 9]


def test_spaces_after_the_delimiter_are_dropped(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b"image, keypoint, x, y\na.png, nose, 1, 2\n"))
    assert table.rows[1] == ["a.png", "nose", "1", "2"]


def test_a_space_before_a_quote_opens_a_quoted_cell(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b'a, b, c\n  x, "y, z"," w"\n'))
    assert table.rows == [["a", "b", "c"], ["x", "y, z", " w"]]


def test_rows_of_another_width_keep_their_cells(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b'a,b,c\n1,2\n"3\n4",5,6,7\n8,9,10\n'))
    assert table.rows == [["a", "b", "c"], ["1", "2"], ["3\n4", "5", "6", "7"], ["8", "9", "10"]]
    assert table.lines(np.arange(4)).tolist() == [1, 2, 3, 5]


def test_utf16_with_bom(tmp_path: Path) -> None:
    text = "image\tkeypoint\tx\ty\r\nä.png\tnose\t1\t2\r\n"
    table = read_table(write(tmp_path, text.encode("utf-16")))
    assert table.delimiter == "\t"
    assert table.rows[1][0] == "ä.png"


def test_latin1_is_read_with_a_located_warning(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "image,keypoint,x,y\ncaf\xe9.png,nose,1,2\n".encode("latin-1")))
    assert table.rows[1][0] == "café.png"
    (finding,) = table.findings
    assert finding.code == "csv.not_utf8"
    assert finding.source is not None and finding.source.endswith("t.csv:2")


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="file not found"):
        read_table(tmp_path / "nope.csv")


def test_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="NUL bytes"):
        read_table(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00"))


def test_explicit_delimiter_overrides_sniffing(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b"a;b,c\n1;2,3\n"), delimiter=";")
    assert table.rows[0] == ["a", "b,c"]
    with pytest.raises(UsageError, match="one character"):
        read_table(write(tmp_path, b"a\n"), delimiter="::")


@pytest.mark.parametrize(
    ("text", "comma", "expected"),
    [
        ("1.5", False, 1.5),
        (" 2 ", False, 2.0),
        ("-3e2", False, -300.0),
        ("", False, None),
        ("nan", False, None),
        ("NaN", False, None),
        ("NA", False, None),
        ("null", False, None),
        ("1,5", True, 1.5),
    ],
)
def test_parse_number(text: str, comma: bool, expected: float | None) -> None:
    assert parse_number(text, comma, "f.csv:3", "x") == expected


@pytest.mark.parametrize(
    ("text", "comma", "message"),
    [
        ("abc", False, 'f.csv:17: column "nose_x": "abc" is not a number'),
        ("1,5", False, 'f.csv:17: column "nose_x": "1,5" is not a number'),
        ("1,234,5", True, 'f.csv:17: column "nose_x": "1,234,5" is not a number'),
        ("inf", False, 'f.csv:17: column "nose_x": "inf" is not a finite number'),
    ],
)
def test_parse_number_errors_are_located(text: str, comma: bool, message: str) -> None:
    with pytest.raises(NotANumber) as exc:
        parse_number(text, comma, "f.csv:17", "nose_x")
    assert str(exc.value) == message


def test_numbers_of_a_column_plain_and_odd(tmp_path: Path) -> None:
    cells = ["1", "", "-2.5e1", "nan", " 3 ", "1_000", "abc", "-inf", "1e400", "NA", "+.5"]
    table = read_table(write(tmp_path, ("x\n" + "\n".join(f'"{c}"' for c in cells) + "\n").encode()))
    (values,), findings = table.body(1, 1).numbers([0], ["x"])
    nan = math.nan
    expected = [1.0, nan, -25.0, nan, 3.0, 1000.0, nan, nan, nan, nan, 0.5]
    assert np.array_equal(values, np.array(expected), equal_nan=True)
    assert [(f.code, f.source, f.message) for f in findings] == [
        ("csv.not_a_number", f"{tmp_path / 't.csv'}:8", 'column "x": "abc" is not a number'),
        ("csv.not_a_number", f"{tmp_path / 't.csv'}:9", 'column "x": "-inf" is not a finite number'),
        ("csv.not_a_number", f"{tmp_path / 't.csv'}:10", 'column "x": "1e400" is not a finite number'),
    ]


def test_numbers_with_a_decimal_comma(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b"x;y\n1,5;2\n-0,25;1.000,5\n"))
    (x, y), findings = table.body(1, 2).numbers([0, 1], ["x", "y"])
    assert x.tolist() == [1.5, -0.25]
    assert y[0] == 2.0 and math.isnan(y[1])
    assert [f.message for f in findings] == ['column "y": "1.000,5" is not a number']


def test_head_reads_only_the_start(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b"a,b\n1,2\n3,4\n"))
    assert table.head(2) == [["a", "b"], ["1", "2"]]
    assert table.head(10) == [["a", "b"], ["1", "2"], ["3", "4"]]


def test_head_of_a_file_with_a_quoted_line_break(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, b'a,b\n"x\ny",1\n2,3\n4,5\n'))
    assert table.head(2) == [["a", "b"], ["x\ny", "1"]]
    assert table.head(3) == [["a", "b"], ["x\ny", "1"], ["2", "3"]]
