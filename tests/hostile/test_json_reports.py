"""``--format json`` prints one JSON report whatever happens: fatal input errors, usage errors
and internal errors included, in the shape a normal run prints and with the same exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.support import LONG_CSV, coco_doc, one_report

XXE = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE annotations [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<annotations><version>1.1</version>&xxe;</annotations>\n"
)


def _fatal_cases(tmp: Path) -> dict[str, tuple[list[str], int, str]]:
    """name -> (arguments, exit code, a word of the message)."""
    (tmp / "broken.xml").write_text('<?xml version="1.0"?>\n<annotations><version>1.1</ver')
    (tmp / "xxe.xml").write_text(XXE)
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "good.csv").write_text(LONG_CSV)
    (tmp / "spec.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    (tmp / "coco.json").write_text(json.dumps(coco_doc()))
    out = str(tmp / "out.json")
    return {
        "unreadable XML": (
            ["from-cvat", str(tmp / "broken.xml"), "-o", out],
            1,
            "not well-formed XML",
        ),
        "XXE refused": (["from-cvat", str(tmp / "xxe.xml"), "-o", out], 1, "refused"),
        "empty CSV": (["from-csv", str(tmp / "empty.csv"), "-o", out], 1, "empty"),
        "binary spec": (
            ["from-csv", str(tmp / "good.csv"), "--spec", str(tmp / "spec.yaml"), "-o", out],
            1,
            "not UTF-8",
        ),
        "missing converter input": (["from-csv", str(tmp / "nope.csv"), "-o", out], 2, "not found"),
        "missing labelme input": (
            ["from-labelme", str(tmp / "nope"), "-o", out],
            2,
            "no such file",
        ),
        "missing validate input": (["validate", str(tmp / "nope.json")], 2, "does not exist"),
        "unknown option": (
            ["validate", str(tmp / "coco.json"), "--no-such-option"],
            2,
            "no such option",
        ),
        "bad option value": (
            ["from-csv", str(tmp / "good.csv"), "--image-size", "big", "-o", out],
            2,
            "WIDTHxHEIGHT",
        ),
    }


CASES = [
    "unreadable XML", "XXE refused", "empty CSV", "binary spec", "missing converter input",
    "missing labelme input", "missing validate input", "unknown option", "bad option value",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_fatal_and_usage_errors_print_one_json_report(run_cli, tmp_path: Path, case: str) -> None:
    args, code, word = _fatal_cases(tmp_path)[case]
    res = run_cli(*args, "--format", "json")
    assert res.exit_code == code, res.stderr
    report = one_report(res.stdout)
    assert report["ok"] is False
    assert report["counts"]["error"] == len(report["issues"]) >= 1
    assert report["summary"]["exit_code"] == code
    messages = " ".join(i["message"] for i in report["issues"]) + report["summary"]["error"]
    assert word.lower() in messages.lower(), report
    assert all(i["severity"] == "error" for i in report["issues"])
    assert "internal error" not in res.stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("case", CASES)
def test_text_format_prints_nothing_on_stdout(run_cli, tmp_path: Path, case: str) -> None:
    args, code, _ = _fatal_cases(tmp_path)[case]
    res = run_cli(*args)
    assert res.exit_code == code
    assert res.stdout == ""
    assert "kpconv: error:" in res.stderr or "Error:" in res.stderr


def test_located_findings_keep_their_place(run_cli, tmp_path: Path) -> None:
    (tmp_path / "xxe.xml").write_text(XXE)
    res = run_cli(
        "from-cvat", tmp_path / "xxe.xml", "-o", tmp_path / "out.json", "--format", "json"
    )
    (issue,) = one_report(res.stdout)["issues"]  # the reader's own located finding
    assert issue["code"] == "cvat.external_entity_refused"
    assert issue["source"] == "xxe.xml:2"


def test_an_internal_error_is_a_json_report_too(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kpconv.cli.validate_cmd as validate_cmd

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(validate_cmd, "validate_bytes", broken)
    monkeypatch.delenv("KPCONV_DEBUG", raising=False)
    (tmp_path / "coco.json").write_text(json.dumps(coco_doc()))
    res = run_cli("validate", tmp_path / "coco.json", "--format=json")
    assert res.exit_code == 1
    (issue,) = one_report(res.stdout)["issues"]
    assert issue["code"] == "internal.error" and "RuntimeError: a bug" in issue["message"]
    assert "internal error" in res.stderr


def test_a_report_printed_before_a_failure_is_not_followed_by_a_second(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kpconv.cli import render

    real = render.emit_json

    def emit_then_fail(doc: object) -> None:
        real(doc)
        raise RuntimeError("after the report")

    monkeypatch.setattr(render, "emit_json", emit_then_fail)
    import kpconv.cli.validate_cmd as validate_cmd

    monkeypatch.setattr(validate_cmd, "emit_json", emit_then_fail)
    (tmp_path / "coco.json").write_text(json.dumps(coco_doc()))
    res = run_cli("validate", tmp_path / "coco.json", "--format", "json")
    assert res.exit_code == 1
    assert one_report(res.stdout)["ok"] is True  # the command's own report, alone
