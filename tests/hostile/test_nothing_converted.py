"""Converters write nothing when no input converted: exit 1, no output file, a message saying
nothing converted (an empty COCO file only hid that every input had failed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.support import one_report, write_labelme

EMPTY_CVAT = (
    '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta><task><labels>'
    "<label><name>nose</name><type>points</type></label></labels></task></meta></annotations>\n"
)


def _cases(tmp: Path) -> dict[str, list[str | Path]]:
    write_labelme(tmp / "one", "empty.json", b"")
    write_labelme(tmp / "bad", "a.json", b"{ nope")
    write_labelme(tmp / "bad", "b.json", b"[]")
    write_labelme(tmp / "bad", "c.json", b'{"shapes": 3}')
    (tmp / "header.csv").write_text("image,instance,keypoint,x,y,v\n")
    (tmp / "empty.xml").write_text(EMPTY_CVAT)
    return {
        "labelme empty.json": ["from-labelme", tmp / "one" / "empty.json"],
        "labelme folder, every file bad": ["from-labelme", tmp / "bad"],
        "csv header only": ["from-csv", tmp / "header.csv", "--image-size", "64x48"],
        "cvat without images": ["from-cvat", tmp / "empty.xml"],
    }


CASES = [
    "labelme empty.json",
    "labelme folder, every file bad",
    "csv header only",
    "cvat without images",
]


@pytest.mark.parametrize("case", CASES)
def test_nothing_converted_writes_nothing(run_cli, tmp_path: Path, case: str) -> None:
    out = tmp_path / "out.json"
    res = run_cli(*_cases(tmp_path)[case], "-o", out)
    assert res.exit_code == 1
    assert not out.exists()
    assert f"nothing converted: nothing written to {out}" in res.stderr


@pytest.mark.parametrize("case", CASES)
def test_the_json_report_says_why(run_cli, tmp_path: Path, case: str) -> None:
    out = tmp_path / "out.json"
    res = run_cli(*_cases(tmp_path)[case], "-o", out, "--format", "json")
    assert res.exit_code == 1
    report = one_report(res.stdout)
    assert report["output"] is None and report["ok"] is False
    assert "convert.nothing_converted" in {i["code"] for i in report["issues"]}
    assert not out.exists()


def test_an_unreadable_file_in_a_folder_writes_nothing_unless_partial_is_allowed(run_cli, tmp_path: Path) -> None:
    write_labelme(tmp_path / "src", "good.json")
    write_labelme(tmp_path / "src", "bad.json", b"{ nope")
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", tmp_path / "src", "-o", out)
    assert res.exit_code == 1 and not out.exists()
    assert "bad.json" in res.stderr and "convert.inputs_failed" in res.stderr and "--allow-partial" in res.stderr
    res = run_cli("from-labelme", tmp_path / "src", "-o", out, "--allow-partial")
    assert res.exit_code == 1  # the bad file is still an error; what the others hold is written
    assert out.exists() and "bad.json" in res.stderr
