"""No silent loss in CSV: a file cut inside its last line (fewer cells than the header, an
unclosed quote, a trailing delimiter) is a located error, not points silently turned v=0.

Both readers are covered: the numpy byte tokenizer (a plain long-layout file) and the csv module
(quoted cells; the wide and DeepLabCut layouts), because the cut is found where every table is
read (:func:`kpconv.formats.csv.table.read_table`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpconv.convert.builder import BuildOptions, convert
from kpconv.errors import KpconvError
from kpconv.formats.csv import CsvOptions, ImageOptions, parse_csv
from tests.conftest import FIXTURES
from tests.hostile.support import LONG_CSV, one_report

SIZED = ImageOptions(image_size=(64, 48))
QUOTED_CSV = LONG_CSV.replace("images/a.png,1,nose", '"images/a.png",1,"nose"')
WIDE_CSV = "image,nose_x,nose_y,tail_x,tail_y\nimages/a.png,10,8,30,20\nimages/b.png,40,30,42,28\n"
DLC_CSV = (
    FIXTURES / "csv" / "dlc-project" / "labeled-data" / "mouse1" / "CollectedData_kp.csv"
).read_text()


def _cut_inside_last_line(text: str, keep: int) -> str:
    """``text`` without its final line break and the last ``keep`` characters of its last line kept."""
    body, last = text.rstrip("\n").rsplit("\n", 1)
    return f"{body}\n{last[:keep]}"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        (
            "long, byte tokenizer",
            _cut_inside_last_line(LONG_CSV, len("images/b.png,1,left_eye,2")),
            5,
        ),
        (
            "long, csv module",
            _cut_inside_last_line(QUOTED_CSV, len("images/b.png,1,left_eye,2")),
            5,
        ),
        (
            "long, trailing delimiter",
            _cut_inside_last_line(LONG_CSV, len("images/b.png,1,left_eye,22,12,")),
            5,
        ),
        ("wide", _cut_inside_last_line(WIDE_CSV, len("images/b.png,40,30,4")), 3),
        (
            "wide, trailing delimiter",
            _cut_inside_last_line(WIDE_CSV, len("images/b.png,40,30,42,")),
            3,
        ),
        ("dlc", _cut_inside_last_line(DLC_CSV, len("labeled-data/mouse1/img003.png,,,33.0,1")), 7),
    ],
)
def test_a_line_cut_short_is_a_located_error(
    run_cli, tmp_path: Path, name: str, text: str, line: int
) -> None:
    src = tmp_path / "cut.csv"
    src.write_text(text)
    out = tmp_path / "out.json"
    res = run_cli("from-csv", src, "--image-size", "64x48", "-o", out, "--format", "json")
    assert res.exit_code == 1
    report = one_report(res.stdout)
    (cut,) = [i for i in report["issues"] if i["code"] == "csv.cut_line"]
    assert cut["source"] == f"{src}:{line}" and cut["severity"] == "error"
    assert "cut short" in cut["message"]
    # what converted is written (without --strict), and the cut line is not in it as v=0 points
    doc = json.loads(out.read_text())
    assert all(
        a["num_keypoints"] == sum(v > 0 for v in a["keypoints"][2::3]) for a in doc["annotations"]
    )


def test_the_issue_example_long_row_cut_after_x(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "cut.csv"
    src.write_text(
        "image,instance,keypoint,x,y,v\nimages/a.png,1,nose,10.5,8,2\nimages/a.png,1,left_eye,8"
    )
    res = run_cli("from-csv", src, "--image-size", "64x48", "-o", tmp_path / "out.json", "--strict")
    assert res.exit_code == 1
    assert f"{src}:3: the file ends inside this line (4 of the header's 6 cells)" in res.stderr
    assert not (tmp_path / "out.json").exists()


def test_short_lines_that_end_with_a_line_break_are_still_padded(run_cli, tmp_path: Path) -> None:
    """DeepLabCut leaves out trailing empty cells: such a row is whole, not cut."""
    src = tmp_path / "short.csv"
    src.write_text(
        "image,nose_x,nose_y,tail_x,tail_y\nimages/a.png,10,8,30,20\nimages/b.png,40,30\n"
    )
    res = run_cli("from-csv", src, "--image-size", "64x48", "-o", tmp_path / "out.json")
    assert res.exit_code == 0, res.stderr


def test_a_full_last_line_without_a_line_break_is_refused_and_says_how_to_fix_it(run_cli, tmp_path: Path) -> None:
    """Its last number may be cut short ("4" for "40.0"), which nothing in the line shows; every
    CSV writer ends the file with a line break, so the line is an error (changed consciously:
    it was accepted, and a file cut inside its last number converted with exit 0)."""
    src = tmp_path / "whole.csv"
    src.write_text(LONG_CSV.rstrip("\n"))
    res = run_cli("from-csv", src, "--image-size", "64x48", "-o", tmp_path / "out.json")
    assert res.exit_code == 1
    assert "no line break after it" in res.stderr and "end the file with a line break" in res.stderr
    src.write_text(LONG_CSV.rstrip("\n") + "\n")
    assert run_cli("from-csv", src, "--image-size", "64x48", "-o", tmp_path / "out.json").exit_code == 0


def _labelled(path: Path) -> tuple[int, bool] | None:
    """(labelled points, report ok) of a conversion, or None when it stopped with an error."""
    try:
        conv = convert(parse_csv(path, CsvOptions(images=SIZED)), None, BuildOptions())
    except KpconvError:
        return None
    return sum(
        1 for a in conv.document["annotations"] for v in a["keypoints"][2::3] if v
    ), conv.report.ok


@pytest.mark.parametrize(
    "text", [LONG_CSV, QUOTED_CSV, WIDE_CSV, DLC_CSV], ids=["long", "quoted", "wide", "dlc"]
)
def test_no_truncation_loses_points_silently(tmp_path: Path, text: str) -> None:
    """Every cut of the file: a clean report means no point of the cut line was lost.

    (A number cut short in the last cell of a full line cannot be told: its point converts with
    a shorter value, so it is not lost.)
    """
    data = text.encode()
    path = tmp_path / "t.csv"
    for cut in range(1, len(data)):
        path.write_bytes(data[:cut])
        got = _labelled(path)
        if got is None or not got[1]:
            continue  # refused, or reported: not silent
        end = data.find(b"\n", cut - 1)
        path.write_bytes(data if end < 0 else data[: end + 1])  # the cut line whole
        intact = _labelled(path)
        assert intact is not None
        assert got[0] >= intact[0], (cut, data[data.rfind(b"\n", 0, cut) + 1 : cut])


def test_a_utf16_file_cut_short_is_located_too(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "cut.csv"
    src.write_bytes(_cut_inside_last_line(LONG_CSV.replace("nose", "nosé"), 20).encode("utf-16"))
    res = run_cli("from-csv", src, "--image-size", "64x48", "-o", tmp_path / "out.json")
    assert res.exit_code == 1
    assert f"{src}:5: the file ends inside this line (3 of the header's 6 cells)" in res.stderr
