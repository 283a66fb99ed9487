"""The long layout's byte reader (``table.ByteColumns``) against the csv module, case by case.

A plain file (no quotes, every line as wide as the header) is read from its bytes with array
operations: cells found with one comparison, numbers parsed eight bytes at a time (a fast path
for a column's usual number of decimals), names coded through a hash table, key columns side by
side compared as one text. Every case is also written with every cell quoted, which only the
csv module reads: both must give the same document and the same located findings. Each case runs
with the usual chunk sizes and with tiny ones (a chunk boundary every few rows and bytes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.convert.csv import read_table
from kpconv.convert.csv import table as table_module
from kpconv.finding import Finding
from tests.convert.csv_support import SIZED, run

NUMBERS = [
    "12.50", "3.25", "-3.25", "7", "0.5", ".50", "5.", "+1.50", "-0", "-0.00", "12345.67", "-1234.56",
    "1e3", "2.5E-1", "12.5 ", "nan", "NaN", "-nan", "NA", "inf", "-inf", "1_000", "١٢", "abc", "4O",
    "1.2.3", "--1", "+", ".", "-.", "", "12.345", "123456789", "1234567.12345678", "-123456.1234567",
    "12345678901234567", "0.000123456789", "640.00", "00.5",
]  # fmt: skip
NAMES = [
    "nose", "abcdefg", "abcdefgh", "abcdefghi", "xyyyyyyyz", "xyyyyyyyyz", "sixteen_bytes_ab",
    "seventeen_bytes_a", "", "left eye", "naseñ", "a_keypoint_name_longer_than_sixteen_bytes",
    "a_name_of_150_bytes_" + "n" * 130, "a_name_of_150_bytes_" + "n" * 129 + "m",
]  # fmt: skip


def _long(
    rows: list[list[str]], header: str = "image,instance,keypoint,x,y,v", delimiter: str = ","
) -> str:
    return (
        "\n".join([header.replace(",", delimiter)] + [delimiter.join(row) for row in rows]) + "\n"
    )


def _numbers_case() -> str:
    rows = []
    for i, text in enumerate(NUMBERS):
        # x: the case; y: the case again a row later (a column whose first cell is plain)
        rows.append(["a.png", "1", f"k{i}", text, NUMBERS[i - 1], "2"])
    return _long(rows)


CASES = {
    "numbers_of_every_kind": _numbers_case(),
    "mostly_three_decimals_after_a_two": _long(
        [["a.png", "1", "nose", "1.25", "2.50", "2"]]
        + [["a.png", "1", f"k{i}", f"{i}.125", f"{i}.5", "2"] for i in range(40)]
    ),
    "integers_and_signs": _long(
        [
            ["a.png", "1", f"k{i}", t, "3", "1"]
            for i, t in enumerate(["1", "640", "-3", "007", "+8"])
        ]
    ),
    "names_at_word_edges": _long(
        [["a.png", "1", name or "", str(i), str(i), "2"] for i, name in enumerate(NAMES * 3)]
    ),
    "image_names_at_word_edges": _long(
        [
            [name, "1", "nose", "1", "2", "2"]
            for name in [
                "a.png",
                "abcdefgh",
                "abcdefghi",
                "images/0000001.jpg",
                "images/0010001.jpg",
                "images/0000001.jpg",
                "xyyyyyyyz",
                "xyyyyyyyyz",
                "./abcdefgh",
                "images/" + "long_" * 40 + "1.jpg",
                "images/" + "long_" * 40 + "2.jpg",
            ]
        ]
    ),
    "tab_crlf": _long(
        [
            ["a.png", "1", "nose", "1.5", "2", "2"],
            ["a.png", "1", "tail", "3", "4", ""],
            ["b.png", "1", "nose", "5", "6", "1"],
        ],
        delimiter="\t",
    ).replace("\n", "\r\n"),
    "semicolon_crlf_decimal_commas_no_final_newline": _long(
        [["a.png", "1", "nose", "1,5", "2", "2"], ["a.png", "1", "tail", "-0,25", "4,75", "1"]],
        delimiter=";",
    ).replace("\n", "\r\n")[:-2],
    "key_columns_apart_and_interleaved": _long(
        [
            ["a.png", "nose", "1", "1", "1", "cat"],
            ["a.png", "nose", "2", "2", "2", "cat"],
            ["a.png", "tail", "1", "3", "3", "cat"],
            ["a.png", "tail", "1", "4", "4", "dog"],
            ["b.png", "nose", "1", "5", "5", ""],
            ["a.png", "ear", "2", "6", "6", "cat"],
        ],
        header="image,keypoint,instance,x,y,category",
    ),
    "key_columns_side_by_side": _long(
        [
            ["a.png", "1", "cat", "nose", "1", "1"],
            ["a.png", "1", "dog", "nose", "2", "2"],
            ["a.png", "2", "cat", "tail", "3", "3"],
            ["a.png", "1", "cat", "tail", "4", "4"],
            ["a.png1", "", "cat", "nose", "5", "5"],
            ["a.png", "11", "cat", "ear", "6", "6"],
        ],
        header="image,instance,category,keypoint,x,y",
    ),
    "spaces_inside_and_before_delimiters": _long(
        [
            ["my image.png", "1 ", "left eye", "1.5 ", "2", "2 "],
            ["my image.png", "1", "nose ", " 3".strip(), "4", "1"],
        ]
    ),
    "visibility_words": _long(
        [
            ["a.png", "1", f"k{i}", "1", "2", v]
            for i, v in enumerate(["", "0", "1", "2", "true", "hidden", "5", "2.0", "nan"])
        ]
    ),
}


def _quoted(text: str) -> str:
    """The same table with every cell quoted: the csv module has to read it."""
    header = text.lstrip("\ufeff").splitlines()[0]
    delimiter = max("\t;,", key=header.count)
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        out.append(
            delimiter.join(f'"{cell}"' for cell in body.split(delimiter)) + end if body else line
        )
    return "".join(out)


@pytest.fixture(params=["usual_chunks", "tiny_chunks"])
def chunks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "tiny_chunks":
        monkeypatch.setattr(table_module, "_ROWS", 3)
        monkeypatch.setattr(table_module, "_SCAN_CHUNK", 7)
        monkeypatch.setattr(table_module, "_WORDS_AT_ONCE", 4)


@pytest.mark.parametrize("name", list(CASES))
def test_byte_reader_and_csv_module_read_the_same(tmp_path: Path, name: str, chunks: None) -> None:
    text = CASES[name]
    plain = tmp_path / "plain.csv"
    quoted = tmp_path / "quoted.csv"
    plain.write_text(text, encoding="utf-8", newline="")
    quoted.write_text(_quoted(text), encoding="utf-8", newline="")
    width = len(_quoted(text).splitlines()[0].split('"')) // 2
    assert read_table(plain).byte_columns(1, width) is not None
    assert read_table(quoted).byte_columns(1, width) is None
    a = run(plain, layout="long", images=SIZED)
    b = run(quoted, layout="long", images=SIZED)
    assert a.data == b.data
    assert _findings(a.report.findings, "plain.csv") == _findings(b.report.findings, "quoted.csv")


def _findings(findings: list[Finding], name: str) -> list[tuple[str, str, str]]:
    """(code, message, source) of each finding, the file's name left out."""
    return [
        (f.code, f.message.replace(name, "?"), (f.source or "").replace(name, "?"))
        for f in findings
    ]


@pytest.mark.parametrize(
    ("data", "plain"),
    [
        (b"a,b\n1,2\n3,4\n", True),
        (b"a,b\r\n1,2\r\n3,4", True),  # CRLF, no final newline
        (b"a,b\n1,2\r\n3,4\n", True),  # one CRLF among LFs
        (b"a,b\n1 ,2\n3,4 4\n", True),  # spaces, but none right after a delimiter
        (b"a,b\n+1,2\n3,'4'\n", True),  # other bytes below "0"
        (b"a,b\n1, 2\n3,4\n", False),  # a space after the delimiter: the csv module drops it
        (b"a, b\n1,2\n3,4\n", False),  # ... also in the header alone
        (b"a,b\n1,2\r3,4\n", False),  # a bare CR
        (b"a,b\n1,2\n3,4\r", False),  # ... at the very end
        (b"a,b\n1,2\n\n3,4\n", False),  # a blank line
        (b"a,b\n1,2\n3\n", False),  # a short row
        (b"a,b\n1,2\n3,4,5\n", False),  # a long row
        (b'a,b\n1,"2"\n3,4\n', False),  # a quoted cell
        (b"a\tb\n1\t2\r\n3\t4\n", True),  # tab
        (b"a\tb\n1\t 2\n3\t4\n", False),
        (b"a\tb\n1\t2\r3\t4\n", False),
        (b"a;b\n1;2\r\n3;4\n", True),  # semicolon
        (b"a;b\n1; 2\n3;4\n", False),
        (b"a;b\n1;2\r3;4\n", False),
    ],
)
def test_which_files_the_byte_reader_takes(
    tmp_path: Path, data: bytes, plain: bool, chunks: None
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert (read_table(path).byte_columns(1, 2) is not None) is plain


def test_cells_of_a_crlf_file_hold_no_cr(tmp_path: Path, chunks: None) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a\tb\r\nx\t\r\ny\tz\r\n")
    body = read_table(path).byte_columns(1, 2)
    assert body is not None
    codes, texts = body.codes(1)
    assert [texts[c] for c in codes.tolist()] == ["", "z"]
