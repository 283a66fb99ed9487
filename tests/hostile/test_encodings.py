"""Encodings: every JSON reader (and the spec loader) decodes through one function, so a UTF-8
BOM is accepted everywhere, UTF-16/32 text and NaN are named as what they are, and a binary
file is a located message, never "internal error: UnicodeDecodeError"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpconv.errors import DataError
from kpconv.fileio import loads_json
from tests.hostile.support import LONG_CSV, coco_doc, labelme_doc, one_report, write_labelme

BOM = b"\xef\xbb\xbf"
SPEC = {"name": "object", "keypoints": ["nose", "left_eye"]}


def test_labelme_accepts_a_utf8_bom_as_validate_does(run_cli, tmp_path: Path) -> None:
    src = write_labelme(tmp_path / "lm", data=BOM + json.dumps(labelme_doc()).encode())
    res = run_cli("from-labelme", src, "-o", tmp_path / "out.json")
    assert res.exit_code == 0, res.stderr
    coco = tmp_path / "coco.json"
    coco.write_bytes(BOM + json.dumps(coco_doc()).encode())
    assert run_cli("validate", coco).exit_code == 0


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_spec_with_a_bom_is_read(run_cli, tmp_path: Path, suffix: str) -> None:
    spec = tmp_path / f"spec{suffix}"
    spec.write_bytes(BOM + json.dumps(SPEC).encode())  # JSON is YAML too
    (tmp_path / "in.csv").write_text(LONG_CSV)
    res = run_cli(
        "from-csv",
        tmp_path / "in.csv",
        "--spec",
        spec,
        "--image-size",
        "64x48",
        "-o",
        tmp_path / "o.json",
    )
    assert res.exit_code == 0, res.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_json_is_named_in_every_reader(run_cli, tmp_path: Path, encoding: str) -> None:
    word = "UTF-32" if "32" in encoding else "UTF-16"
    coco = tmp_path / "coco.json"
    coco.write_bytes(json.dumps(coco_doc()).encode(encoding))
    res = run_cli("validate", coco, "--format", "json")
    assert res.exit_code == 1
    (issue,) = one_report(res.stdout)["issues"]
    assert issue["message"] == f"{word} text: save as UTF-8" and issue["source"] == str(coco)

    src = write_labelme(tmp_path / "lm", data=json.dumps(labelme_doc()).encode(encoding))
    res = run_cli("from-labelme", src, "-o", tmp_path / "out.json")
    assert res.exit_code == 1
    assert f"{src}: {word} text: save as UTF-8" in res.stderr

    spec = tmp_path / "spec.json"
    spec.write_bytes(json.dumps(SPEC).encode(encoding))
    (tmp_path / "in.csv").write_text(LONG_CSV)
    res = run_cli("from-csv", tmp_path / "in.csv", "--spec", spec, "-o", tmp_path / "o.json")
    assert res.exit_code == 1
    assert f"kpconv: error: {spec}: {word} text: save as UTF-8" in res.stderr


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "nan"])
def test_nan_is_a_located_message_that_says_it_is_not_json(
    run_cli, tmp_path: Path, token: str
) -> None:
    text = json.dumps(coco_doc(), indent=1).replace('"width": 64', f'"width": {token}')
    coco = tmp_path / "coco.json"
    coco.write_text(text)
    line = text[: text.index(token)].count("\n") + 1
    res = run_cli("validate", coco, "--format", "json")
    assert res.exit_code == 1
    (issue,) = one_report(res.stdout)["issues"]
    assert issue["source"].startswith(f"{coco}:{line}:")
    assert issue["message"].startswith(f"{token} is not JSON")

    doc = json.dumps(labelme_doc()).replace('"imageWidth": 32', f'"imageWidth": {token}')
    src = write_labelme(tmp_path / "lm", data=doc.encode())
    res = run_cli("from-labelme", src, "-o", tmp_path / "out.json")
    assert res.exit_code == 1
    assert f"{src}:1:" in res.stderr and f"{token} is not JSON" in res.stderr


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json", ""])
def test_a_binary_spec_is_a_located_message(run_cli, tmp_path: Path, suffix: str) -> None:
    spec = tmp_path / f"spec{suffix}"
    spec.write_bytes(b"name: x\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "in.csv").write_text(LONG_CSV)
    for command in (
        ["from-csv", tmp_path / "in.csv", "-o", tmp_path / "o.json"],
        ["from-labelme", write_labelme(tmp_path / "lm"), "-o", tmp_path / "o.json"],
    ):
        res = run_cli(*command, "--spec", spec)
        assert res.exit_code == 1, res.stderr
        assert "internal error" not in res.stderr
        assert f"{spec}:2:1: byte 0x89 is not UTF-8 text" in res.stderr


def test_bytes_that_are_not_utf8_are_located() -> None:
    with pytest.raises(DataError) as caught:
        loads_json(b'{"a":\n  "caf\xe9"}', source="x.json")
    assert caught.value.message.startswith("x.json:2:7: byte 0xe9 is not UTF-8 text")


def test_a_binary_file_is_not_called_utf16() -> None:
    # NULs alone do not make UTF-16: a zip or an image is reported by its first non-UTF-8 byte
    with pytest.raises(DataError) as caught:
        loads_json(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xa0", source="x.json")
    assert "UTF-16" not in caught.value.message
