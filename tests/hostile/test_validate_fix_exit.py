"""``validate --fix OUT`` exits by the state of the file it wrote, so that
``kpconv validate in.json --fix fixed.json && kpconv train fixed.json`` trains on a clean copy."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hostile.support import coco_doc


def _write(tmp: Path, doc: dict) -> Path:  # type: ignore[type-arg]
    path = tmp / "in.json"
    path.write_text(json.dumps(doc))
    return path


def test_exit_0_when_the_repaired_copy_is_clean(run_cli, tmp_path: Path) -> None:
    doc = coco_doc()
    del doc["annotations"][0]["area"]  # an error --fix repairs
    src, out = _write(tmp_path, doc), tmp_path / "fixed.json"
    assert run_cli("validate", src).exit_code == 1
    res = run_cli("validate", src, "--fix", out)
    assert res.exit_code == 0, res.stdout
    assert "after the fix: OK" in res.stdout
    assert run_cli("validate", out).exit_code == 0


def test_exit_1_when_problems_remain(run_cli, tmp_path: Path) -> None:
    doc = coco_doc()
    del doc["annotations"][0]["area"]
    doc["annotations"][0]["keypoints"][2] = 7  # a visibility no fix can guess
    src, out = _write(tmp_path, doc), tmp_path / "fixed.json"
    res = run_cli("validate", src, "--fix", out, "--format", "json")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["fix"]["ok_after_fix"] is False
    assert run_cli("validate", out).exit_code == 1


def test_strict_counts_the_copys_warnings(run_cli, tmp_path: Path) -> None:
    doc = coco_doc()
    del doc["annotations"][0]["area"]
    doc["categories"][0]["skeleton"] = [[1, 2], [1, 2]]  # a warning no fix removes
    src, out = _write(tmp_path, doc), tmp_path / "fixed.json"
    assert run_cli("validate", src, "--fix", out).exit_code == 0
    res = run_cli("validate", src, "--fix", out, "--strict")
    assert res.exit_code == 1
    assert "after the fix: FAILED" in res.stdout


def test_help_says_so(run_cli) -> None:
    res = run_cli("validate", "--help")
    assert "exit code is then that of the repaired copy" in " ".join(res.stdout.split())


def test_fix_to_stdout_keeps_the_report_on_stderr(run_cli, tmp_path: Path) -> None:
    doc = coco_doc()
    del doc["annotations"][0]["area"]
    res = run_cli("validate", _write(tmp_path, doc), "--fix", "-")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["annotations"][0]["area"] == 400.0
    assert "after the fix: OK" in res.stderr
