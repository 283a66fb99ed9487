"""Label files: tokenised and parsed a chunk at a time; every bad line located, the rest kept."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from kpconv.formats.yolo import labels
from kpconv.formats.yolo.datafile import KptShape
from kpconv.formats.yolo.labels import column_name, columns_message, read_label_files

SHAPE = KptShape(2, 3)  # 11 columns
GOOD = "0 0.5 0.5 0.4 0.4 0.4 0.4 2 0.6 0.6 1"


def _read(tmp_path: Path, files: dict[str, bytes], shape: KptShape = SHAPE):
    paths, shown = [], []
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        paths.append(str(p))
        shown.append(name)
    return read_label_files(paths, shown, shape)


def test_lines_values_and_places(tmp_path: Path) -> None:
    lines, found = _read(
        tmp_path, {"a.txt": f"{GOOD}\n\n  \n{GOOD}\n".encode(), "b.txt": GOOD.encode()}
    )
    assert found == []
    assert lines.files == ["a.txt", "b.txt"]
    assert lines.file.tolist() == [0, 0, 1] and lines.line.tolist() == [1, 4, 1]
    assert lines.values.shape == (3, 11) and lines.values[0, 7] == 2.0
    assert lines.source(1) == "a.txt:4"


def test_bom_crlf_tabs_and_exponents(tmp_path: Path) -> None:
    text = (
        b"\xef\xbb\xbf"
        + GOOD.replace(" ", "\t").encode()
        + b"\r\n"
        + b"0 5e-1 .5 4E-1 0.4 0.4 0.4 2 0.6 0.6 1\r\n"
    )
    lines, found = _read(tmp_path, {"a.txt": text})
    assert found == [] and len(lines) == 2
    assert lines.values[1, 1:4].tolist() == [0.5, 0.5, 0.4]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "0 0.5 0.5 0.4 0.4 0.4 0.4 0.6 0.6",
            "expected 5 + 2*3 = 11 columns, found 9 (2 keypoints of 2 values: kpt_shape [2, 2]?)",
        ),
        (
            "0 0.5 0.5 0.4 0.4",
            "expected 5 + 2*3 = 11 columns, found 5 (a box without keypoints (a detection label))",
        ),
        (
            "0 0.5 0.5 0.4 0.4 0.4 0.4 2 0.6 0.6 1 0.1 0.1 2",
            "expected 5 + 2*3 = 11 columns, found 14 (3 keypoints of 3 values, not 2)",
        ),
        ("0 0.5 0.5 0.4 0.4 0.4", "expected 5 + 2*3 = 11 columns, found 6"),
    ],
)
def test_wrong_column_counts_are_located_and_say_what_they_look_like(
    tmp_path: Path, line: str, message: str
) -> None:
    lines, found = _read(tmp_path, {"a.txt": f"{GOOD}\n{line}\n{GOOD}\n".encode()})
    assert lines.line.tolist() == [1, 3]  # the good lines are kept
    ((f_index, line_no, finding),) = found
    assert (f_index, line_no, finding.code, finding.source) == (0, 2, "yolo.columns", "a.txt:2")
    assert finding.message.startswith(message)


@pytest.mark.parametrize("token", ["abc", "0x1", "1,5", "0.5.5", "--1", "nan1"])
def test_a_word_sends_the_chunk_through_the_slow_path_and_is_located(
    tmp_path: Path, token: str
) -> None:
    bad = f"0 0.5 0.5 0.4 0.4 {token} 0.4 2 0.6 0.6 1"
    lines, found = _read(
        tmp_path, {"a.txt": f"{GOOD}\n{bad}\n".encode(), "b.txt": f"{GOOD}\n".encode()}
    )
    assert len(lines) == 2 and lines.source(1) == "b.txt:1"
    ((_, _, finding),) = found
    assert finding.code == "yolo.not_a_number" and finding.source == "a.txt:2"
    assert f"column 6 (keypoint 1 x): {token!r} is not a number" in finding.message


def test_unreadable_file_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "dir.txt").mkdir()
    lines, found = read_label_files([str(tmp_path / "dir.txt")], ["dir.txt"], SHAPE)
    assert len(lines) == 0 and found[0][2].code == "yolo.label_unreadable"


def test_many_files_over_several_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels, "CHUNK_BYTES", 100)
    files = {f"{i:03d}.txt": (f"{GOOD}\n" * (i % 3)).encode() for i in range(40)}
    files["020.txt"] = b"0 1 2\n" + files["020.txt"]
    lines, found = _read(tmp_path, files)
    assert len(lines) == sum(i % 3 for i in range(40))
    assert [f[2].source for f in found] == ["020.txt:1"]
    assert lines.source(len(lines) - 1) == "038.txt:2"


def test_json_route_gives_the_doubles_float_gives() -> None:
    rng = random.Random(3)
    tokens = []
    for i in range(20000):
        x = rng.random() * 10 ** rng.randint(-4, 3) * rng.choice([1, -1])
        tokens.append(repr(x) if i % 3 == 0 else f"%.{rng.randint(1, 12)}g" % x)
    text = (" ".join(tokens) + "\n").encode()
    arr = np.frombuffer(text, dtype=np.uint8)
    space = (arr == 32) | ((arr >= 9) & (arr <= 13))
    first = ~space
    first[1:] &= space[:-1]
    values = labels._json_numbers(arr, space, np.flatnonzero(first))
    assert values is not None
    assert values.tolist() == [float(t) for t in tokens]


def test_column_names() -> None:
    assert [column_name(c, 3) for c in (0, 4, 5, 7, 8)] == [
        "class",
        "h",
        "keypoint 1 x",
        "keypoint 1 v",
        "keypoint 2 x",
    ]
    assert column_name(8, 2) == "keypoint 2 y"
    assert "Ultralytics skips the whole image" in columns_message(3, SHAPE)
