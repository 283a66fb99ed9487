"""``kpconv to-labelme`` and ``kpconv to-cvat``: validate first, refuse on errors, report as the others do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, CliResult

TRAIN = FIXTURES / "train" / "train.json"
INVALID = FIXTURES / "train" / "invalid.json"
IMAGES = FIXTURES / "train" / "images"

Run = Callable[..., CliResult]


@pytest.mark.parametrize(
    ("command", "target"), [("to-labelme", "out"), ("to-cvat", "out.xml"), ("to-cvat", "out.zip")]
)
def test_an_invalid_dataset_is_refused_and_nothing_written(
    run_cli: Run, tmp_path: Path, command: str, target: str
) -> None:
    result = run_cli(command, INVALID, "-o", tmp_path / target)
    assert result.exit_code == 1
    assert "nothing written (the dataset does not validate)" in result.stderr
    assert not (tmp_path / target).exists()


@pytest.mark.parametrize("command", ["to-labelme", "to-cvat"])
def test_json_report_of_a_refusal(run_cli: Run, tmp_path: Path, command: str) -> None:
    result = run_cli(command, INVALID, "-o", tmp_path / "out.xml", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["output"] is None and report["counts"]["error"] > 0


def test_to_labelme_json_report(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli(
        "to-labelme", TRAIN, "--images", IMAGES, "-o", tmp_path / "lm", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["output"] == str(tmp_path / "lm")
    assert report["summary"]["labelme"]["files"] == report["summary"]["images"] == 8
    codes = {i["code"] for i in report["issues"]}
    assert {"labelme.crowd_left_out", "labelme.instance_without_points"} <= codes
    assert len(list((tmp_path / "lm").rglob("*.json"))) == 8


def test_to_labelme_strict_refuses_on_a_writer_warning(run_cli: Run, tmp_path: Path) -> None:
    # train.json has an instance with no labelled keypoint: LabelMe cannot carry it (a warning)
    result = run_cli("to-labelme", TRAIN, "--images", IMAGES, "-o", tmp_path / "lm", "--strict")
    assert result.exit_code == 1 and not (tmp_path / "lm").exists()


def test_to_cvat_text_report_and_options(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("to-cvat", TRAIN, "-o", tmp_path / "a.xml", "--no-boxes")
    assert result.exit_code == 0, result.stderr
    assert f"wrote {tmp_path / 'a.xml'}" in result.stderr
    text = (tmp_path / "a.xml").read_text()
    assert "<skeleton " in text and "<box " not in text
    video = run_cli("to-cvat", TRAIN, "-o", tmp_path / "v.xml", "--video", "--format", "json")
    report = json.loads(video.stdout)
    assert report["summary"]["cvat"]["mode"] == "video"
    assert video.exit_code == (0 if report["ok"] else 1)


def test_to_cvat_to_stdout(run_cli: Run) -> None:
    result = run_cli("to-cvat", FIXTURES / "crossformat" / "expected.json", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('<?xml version="1.0" encoding="utf-8"?>\n<annotations>')


@pytest.mark.parametrize("command", ["to-labelme", "to-cvat"])
def test_output_over_the_input_is_a_usage_error(run_cli: Run, tmp_path: Path, command: str) -> None:
    copy = tmp_path / "d.json"
    copy.write_bytes(TRAIN.read_bytes())
    result = run_cli(command, copy, "-o", copy)
    assert result.exit_code == 2
    assert copy.read_bytes() == TRAIN.read_bytes()


def test_help_lists_both_commands(run_cli: Run) -> None:
    result = run_cli("--help")
    assert "to-labelme" in result.stdout and "to-cvat" in result.stdout
