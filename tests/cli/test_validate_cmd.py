"""``kpconv validate``: exit codes, formats, --fix, hostile inputs."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from tests.validation.test_checks import template


def write(tmp_path: Path, doc: object, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(doc))
    return path


def test_valid_file_exits_0(run_cli, tmp_path: Path) -> None:
    res = run_cli("validate", write(tmp_path, template()))
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "OK: 0 error(s)" in res.stdout


def test_errors_exit_1_with_located_text(run_cli, tmp_path: Path) -> None:
    doc = template()
    doc["annotations"][0]["keypoints"][5] = 4
    res = run_cli("validate", write(tmp_path, doc))
    assert res.exit_code == 1
    assert "ERROR keypoints.visibility (1)" in res.stdout
    assert "/annotations/0/keypoints/5" in res.stdout


def test_warnings_pass_unless_strict(run_cli, tmp_path: Path) -> None:
    doc = template()
    doc["annotations"][1]["num_keypoints"] = 2
    path = write(tmp_path, doc)
    assert run_cli("validate", path).exit_code == 0
    assert run_cli("validate", path, "--strict").exit_code == 1


def test_json_format_has_ok_issues_summary(run_cli, tmp_path: Path) -> None:
    doc = template()
    del doc["annotations"][2]["area"]
    res = run_cli("validate", write(tmp_path, doc), "--format", "json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["ok"] is False
    assert {"code": "area.missing", "severity": "error", "pointer": "/annotations/2/area"}.items() <= out["issues"][0].items()
    assert out["summary"]["annotations"] == 3


def test_usage_errors_exit_2(run_cli, tmp_path: Path) -> None:
    assert run_cli("validate", tmp_path / "missing.json").exit_code == 2
    assert run_cli("validate", write(tmp_path, template()), "--format", "xml").exit_code == 2
    assert run_cli("validate").exit_code == 2


def test_for_training_adds_rules(run_cli, tmp_path: Path) -> None:
    doc = template()
    for a in doc["annotations"]:
        a["keypoints"] = [0] * 9
        a["num_keypoints"] = 0
    path = write(tmp_path, doc)
    assert run_cli("validate", path).exit_code == 0
    res = run_cli("validate", path, "--for-training")
    assert res.exit_code == 1
    assert "training.no_visible_keypoints" in res.stdout


def test_images_folder_checks(run_cli, tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (100, 80)).save(tmp_path / "imgs" / "a.png")
    Image.new("RGB", (61, 40)).save(tmp_path / "imgs" / "b.png")
    doc = template()
    doc["images"].append({"id": 3, "file_name": "../escape.png", "width": 5, "height": 5})
    doc["images"].append({"id": 4, "file_name": "gone.png", "width": 5, "height": 5})
    res = run_cli("validate", write(tmp_path, doc), "--images", tmp_path / "imgs", "--format", "json")
    assert res.exit_code == 1
    found = {(i["code"], i["pointer"]) for i in json.loads(res.stdout)["issues"]}
    assert ("image.size_mismatch", "/images/1") in found
    assert ("image.path_escapes", "/images/2/file_name") in found
    assert ("image.file_missing", "/images/3/file_name") in found


# ------------------------------------------------------------------ hostile / broken inputs
def test_not_json_truncated_list_garbage_all_exit_1_without_traceback(run_cli, tmp_path: Path) -> None:
    cases = {
        "text.json": b"this is not json",
        "truncated.json": orjson.dumps(template())[:200],
        "list.json": b'[{"image_id": 1, "category_id": 1, "keypoints": [], "score": 1.0}]',
        "empty.json": b"",
        "number.json": b"42",
        "garbage.json": bytes(range(256)) * 64,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        res = run_cli("validate", path)
        assert res.exit_code == 1, name
        assert "Traceback" not in res.stdout + res.stderr, name
        assert "ERROR document." in res.stdout, (name, res.stdout, res.stderr)
    res = run_cli("validate", tmp_path / "truncated.json")
    assert "truncated.json:1:201" in res.stdout  # line:column of the break


def test_large_garbage_is_refused_without_reading_it_all(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as fh:  # sparse 1 GB file: cheap to create, would be slow to read
        fh.write(b"\x00\x01garbage")
        fh.truncate(1 << 30)
    res = run_cli("validate", path, "--format", "json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["issues"][0]["code"] == "document.not_json"


# ------------------------------------------------------------------ --fix
def test_fix_writes_repaired_copy_and_lists_changes(run_cli, tmp_path: Path) -> None:
    doc = template()
    doc["images"][0]["width"] = "100"
    doc["categories"][0]["skeleton"] = [[0, 1], [0, 2]]
    doc["annotations"][1]["keypoints"][3:6] = [7, 8, 0]
    doc["annotations"][1]["num_keypoints"] = None
    del doc["annotations"][2]["bbox"]
    del doc["annotations"][2]["area"]
    del doc["annotations"][0]["iscrowd"]
    src = write(tmp_path, doc)
    before = src.read_bytes()
    out = tmp_path / "fixed.json"
    res = run_cli("validate", src, "--fix", out, "--format", "json")
    assert res.exit_code == 0  # the exit code is the repaired copy's, and it is clean
    assert src.read_bytes() == before  # never touches the input
    report = json.loads(res.stdout)
    assert report["ok"] is False  # the report is the input's: it has errors
    changed = {c["code"]: c["pointer"] for c in report["fix"]["changes"]}
    assert changed == {
        "fix.coerce_number": "/images/0/width",
        "fix.skeleton_zero_based": "/categories/0/skeleton",
        "fix.invisible_coordinates": "/annotations/1/keypoints/3",
        "fix.num_keypoints": "/annotations/1/num_keypoints",
        "fix.bbox_derived": "/annotations/2/bbox",
        "fix.area_derived": "/annotations/2/area",
        "fix.iscrowd_default": "/annotations/0/iscrowd",
    }
    assert report["fix"]["ok_after_fix"] is True
    fixed = json.loads(out.read_text())
    assert fixed["categories"][0]["skeleton"] == [[1, 2], [1, 3]]
    assert fixed["annotations"][2]["area"] == 300.0  # polygon area of the 20x15 rectangle
    assert run_cli("validate", out).exit_code == 0


def test_fix_compact_writes_the_same_repair_on_one_line(run_cli, tmp_path: Path) -> None:
    doc = template()
    doc["annotations"][1]["num_keypoints"] = None
    src = write(tmp_path, doc)
    pretty, compact = tmp_path / "pretty.json", tmp_path / "compact.json"
    assert run_cli("validate", src, "--fix", pretty).exit_code == run_cli("validate", src, "--fix", compact, "--compact").exit_code
    data = compact.read_bytes()
    assert data.count(b"\n") == 1 and pretty.read_bytes().count(b"\n") > 10
    assert json.loads(data) == json.loads(pretty.read_bytes())
    assert type(json.loads(data)["annotations"][1]["num_keypoints"]) is int  # repaired (was null)


def test_compact_without_fix_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    res = run_cli("validate", write(tmp_path, template()), "--compact")
    assert res.exit_code == 2
    assert "--compact applies to the --fix output" in res.stderr


def test_fix_refuses_to_overwrite_input(run_cli, tmp_path: Path) -> None:
    src = write(tmp_path, template())
    res = run_cli("validate", src, "--fix", src)
    assert res.exit_code == 2
    assert "refusing to overwrite an input" in res.stderr


def test_fix_on_a_non_coco_file_reports_and_writes_nothing(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "list.json"
    src.write_text("[1, 2]")
    out = tmp_path / "fixed.json"
    res = run_cli("validate", src, "--fix", out)
    assert res.exit_code == 1
    assert "ERROR document.not_object" in res.stdout
    assert not out.exists()
