"""Integer range and nesting depth: an id (or size, count, flag, coordinate, skeleton index) that
does not fit in a signed 64-bit integer is a located finding, never "internal error:
OverflowError", in every command that validates (issue 14); JSON nested past the parser's depth
is a located error in validate and from-labelme.

The validator decides once for every command: the strict typed decode refuses such an integer,
and the located slow path reads the document with its integers exact and names each one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.support import coco_doc, one_report, run_limited, write_labelme

BIG = 2**100  # the issue's example; orjson reads it as a float
JUST_OVER = 2**63  # one past int64: orjson still reads it as an int
HUGE = "1" + "0" * 400  # past float range too: orjson refuses it ("number is infinity")

#: (pointer, field) for every integer the validator reads
FIELDS = [
    ("/images/0/id", "id"),
    ("/images/0/width", "width"),
    ("/images/0/height", "height"),
    ("/annotations/0/id", "id"),
    ("/annotations/0/image_id", "image_id"),
    ("/annotations/0/category_id", "category_id"),
    ("/annotations/0/num_keypoints", "num_keypoints"),
    ("/annotations/0/iscrowd", "iscrowd"),
    ("/annotations/0/area", "area"),
    ("/annotations/0/keypoints/3", "keypoints"),
    ("/annotations/0/bbox/2", "bbox"),
    ("/categories/0/id", "id"),
    ("/categories/0/skeleton/0/1", "skeleton"),
]


def _with(ptr: str, literal: str) -> str:
    """The small COCO document as JSON text, the value at ``ptr`` replaced by ``literal``."""
    doc: Any = coco_doc()
    keys = ptr.strip("/").split("/")
    parent = doc
    for k in keys[:-1]:
        parent = parent[int(k)] if isinstance(parent, list) else parent[k]
    last = keys[-1]
    marker = "__VALUE__"
    if isinstance(parent, list):
        parent[int(last)] = marker
    else:
        parent[last] = marker
    return json.dumps(doc).replace(f'"{marker}"', literal)


def _code(ptr: str) -> str:
    return (
        "ids.out_of_range"
        if ptr.rsplit("/", 1)[-1] in ("id", "image_id", "category_id")
        else "number.out_of_range"
    )


def _range_issue(report: dict[str, Any], ptr: str) -> dict[str, Any]:
    found = [i for i in report["issues"] if i["pointer"] == ptr]
    assert found, report["issues"]
    issue = found[0]
    assert issue["code"] == _code(ptr) and issue["severity"] == "error", issue
    assert "out of range" in issue["message"] and "signed 64-bit integer" in issue["message"], issue
    return issue


@pytest.mark.parametrize(
    "value",
    [str(BIG), str(-BIG), str(JUST_OVER), str(-(2**63) - 1), HUGE],
    ids=["2**100", "-2**100", "2**63", "-2**63-1", "1e400-as-int"],
)
@pytest.mark.parametrize(("ptr", "field"), FIELDS, ids=[p for p, _ in FIELDS])
def test_an_integer_past_64_bits_is_a_located_finding(
    run_cli, tmp_path: Path, ptr: str, field: str, value: str
) -> None:
    src = tmp_path / "coco.json"
    src.write_text(_with(ptr, value))
    res = run_cli("validate", src, "--format", "json")
    assert res.exit_code == 1, res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    issue = _range_issue(one_report(res.stdout), ptr)
    assert issue["message"].startswith(f"{field} ")
    if value != HUGE:
        assert value in issue["message"]


def test_the_issue_example_in_text(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "big.json"
    src.write_text(
        '{"images":[{"id":1267650600228229401496703205376,"file_name":"a","width":1,"height":1}],'
        '"annotations":[],"categories":[]}'
    )
    res = run_cli("validate", src)
    assert res.exit_code == 1
    assert "internal error" not in res.stderr
    assert (
        "/images/0/id: id 1267650600228229401496703205376 is out of range: integers must fit in a "
        "signed 64-bit integer (-9223372036854775808..9223372036854775807), as pycocotools and numpy need"
    ) in res.stdout


def test_int64_bounds_themselves_are_fine(run_cli, tmp_path: Path) -> None:
    doc = coco_doc()
    doc["images"][0]["id"] = doc["annotations"][0]["image_id"] = 2**63 - 1
    doc["annotations"][0]["id"] = -(2**63)
    src = tmp_path / "coco.json"
    src.write_text(json.dumps(doc))
    res = run_cli("validate", src, "--format", "json")
    assert not [i for i in one_report(res.stdout)["issues"] if "out_of_range" in i["code"]]


@pytest.mark.parametrize("ptr", ["/images/0/id", "/images/0/width", "/annotations/0/bbox/2"])
def test_fix_writes_nothing_and_says_why(run_cli, tmp_path: Path, ptr: str) -> None:
    src = tmp_path / "coco.json"
    src.write_text(_with(ptr, str(BIG)))
    out = tmp_path / "fixed.json"
    res = run_cli("validate", src, "--fix", out, "--format", "json")
    assert res.exit_code == 1, res.stderr
    assert "internal error" not in res.stderr
    _range_issue(one_report(res.stdout), ptr)
    assert f"--fix: nothing written to {out}" in res.stderr
    assert not out.exists()
    # an existing file at the target is left as it was
    out.write_text("keep")
    assert run_cli("validate", src, "--fix", out).exit_code == 1
    assert out.read_text() == "keep"


@pytest.mark.parametrize(
    "ptr",
    [
        "/images/0/id",
        "/annotations/0/category_id",
        "/categories/0/id",
        "/annotations/0/keypoints/3",
    ],
)
def test_report_names_it_too(run_cli, tmp_path: Path, ptr: str) -> None:
    src = tmp_path / "coco.json"
    src.write_text(_with(ptr, str(BIG)))
    out = tmp_path / "rep"
    res = run_cli("report", src, "-o", out)
    assert res.exit_code == 1, res.stderr
    assert "internal error" not in res.stderr
    page = (out / "index.html").read_text()
    assert _code(ptr) in page and "signed 64-bit integer" in page


def test_report_of_a_keypoint_past_float64_is_the_finding_not_an_overflow(run_cli, tmp_path: Path) -> None:
    """10**400 is valid JSON and no float64: the page charts the other keypoints and the
    validation says where it is (it was 'internal error: OverflowError')."""
    src = tmp_path / "coco.json"
    src.write_text(_with("/annotations/0/keypoints/3", HUGE))
    out = tmp_path / "rep"
    res = run_cli("report", src, "-o", out)
    assert res.exit_code == 1, res.stderr
    assert "internal error" not in res.stderr
    assert "/annotations/0/keypoints/3" in (out / "index.html").read_text()


@pytest.mark.parametrize(
    "ptr", ["/images/0/id", "/annotations/0/id", "/images/0/width", "/annotations/0/bbox/0"]
)
@pytest.mark.parametrize("value", [str(BIG), HUGE], ids=["2**100", "1e400-as-int"])
def test_visualize_renders_without_an_internal_error(run_cli, tmp_path: Path, ptr: str, value: str) -> None:
    src = tmp_path / "coco.json"
    src.write_text(_with(ptr, value))
    res = run_cli("visualize", src, "-o", tmp_path / "vis", "--workers", "1")
    assert res.exit_code in (0, 1), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr


def test_train_refuses_before_training(tmp_path: Path) -> None:
    ptr = "/annotations/0/category_id"
    pytest.importorskip("torch")
    src = tmp_path / "coco.json"
    src.write_text(_with(ptr, str(BIG)))  # orjson alone reads it as a float
    run = tmp_path / "run"
    res = run_limited(
        "train",
        src,
        "--images",
        tmp_path,
        "-o",
        run,
        "--max-steps",
        "1",
        "--device",
        "cpu",
        cwd=tmp_path,
        memory=6 << 30,
    )
    assert res.returncode == 1, res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    assert "out of range" in res.stderr and ptr in res.stderr
    assert not (run / "last.pt").exists()


# --------------------------------------------------------------------------- nesting depth
DEEP = "[" * 100_000 + "]" * 100_000


def test_deep_nesting_is_located_in_validate(tmp_path: Path) -> None:
    src = tmp_path / "deep.json"
    src.write_text('{"images": ' + DEEP + "}")
    res = run_limited("validate", src, "--format", "json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    (issue,) = one_report(res.stdout)["issues"]
    assert issue["code"] == "document.not_json"
    assert "depth limit exceeded" in issue["message"] and issue["source"].startswith(f"{src}:1:")


def test_deep_nesting_is_located_in_from_labelme(tmp_path: Path) -> None:
    src = write_labelme(tmp_path / "lm", data=('{"shapes": ' + DEEP + "}").encode())
    out = tmp_path / "out.json"
    res = run_limited("from-labelme", src, "-o", out, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert f"{src}:1:" in res.stderr and "depth limit exceeded" in res.stderr
    assert "internal error" not in res.stderr and "RecursionError" not in res.stderr
    assert not out.exists()


#: a COCO document whose deep array sits under a key the validator's typed decode skips: msgspec
#: still walks it, and ran out of Python stack ("internal error: RecursionError") before orjson's
#: depth limit was ever asked
DEEP_ELSEWHERE = '{"images": [], "annotations": [], "categories": [], "x": ' + DEEP + "}"


def _depth_issue(report: dict[str, Any], src: Path) -> dict[str, Any]:
    found = [i for i in report["issues"] if i["code"] == "document.not_json"]
    assert len(found) == 1, report["issues"]
    issue = found[0]
    assert issue["message"] == "not valid JSON: depth limit exceeded", issue
    assert issue["source"].startswith(f"{src}:1:"), issue
    return issue


@pytest.mark.parametrize("fix", [False, True], ids=["validate", "validate --fix"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_deep_nesting_under_another_key_is_located_in_validate(tmp_path: Path, fmt: str, fix: bool) -> None:
    src, out = tmp_path / "deep.json", tmp_path / "fixed.json"
    src.write_text(DEEP_ELSEWHERE)
    res = run_limited("validate", src, *(["--fix", out] if fix else []), "--format", fmt, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "internal error" not in res.stderr + res.stdout and "RecursionError" not in res.stderr + res.stdout
    if fmt == "json":
        _depth_issue(one_report(res.stdout), src)
    else:
        assert f"{src}:1:1082: not valid JSON: depth limit exceeded" in res.stdout
    assert not out.exists()


def test_deep_nesting_under_another_key_is_located_in_report(tmp_path: Path) -> None:
    src, out = tmp_path / "deep.json", tmp_path / "rep"
    src.write_text(DEEP_ELSEWHERE)
    res = run_limited("report", src, "-o", out, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "internal error" not in res.stderr and "RecursionError" not in res.stderr
    page = (out / "index.html").read_text()
    assert "document.not_json" in page and "depth limit exceeded" in page and f"{src}:1:1082" in page


@pytest.mark.parametrize("where", ["images", "x"])
def test_the_depth_limit_is_the_parser_s_in_every_command(run_cli, tmp_path: Path, where: str) -> None:
    """1,024 levels in all (the outer object counts): read by validate, report and visualize
    alike, one level more refused by each with the same located words."""
    for arrays, readable in ((1023, True), (1024, False)):
        deep = "[" * arrays + "]" * arrays
        doc = {"images": "[]", "annotations": "[]", "categories": "[]", "x": "[]"}
        doc[where] = deep
        src = tmp_path / f"deep{arrays}.json"
        src.write_text("{" + ", ".join(f'"{k}": {v}' for k, v in doc.items()) + "}")
        for args in (("validate", src, "--format", "json"), ("report", src, "-o", tmp_path / "rep"),
                     ("visualize", src, "-o", tmp_path / "vis", "--workers", "1")):  # fmt: skip
            res = run_cli(*args)
            assert "internal error" not in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
            said = res.stdout + res.stderr
            if args[0] == "report":
                said += (tmp_path / "rep" / "index.html").read_text()
            told = "depth limit exceeded" in said
            assert told is not readable, (args, res.stdout, res.stderr)
            if not readable:
                assert res.exit_code == 1, (args, res.stderr)


def test_fix_writes_nothing_deeper_than_the_writer_goes(run_cli, tmp_path: Path) -> None:
    """orjson reads 1,024 levels but writes 254: a --fix copy of a deeper document is refused by
    name, in the report, and nothing is written (it was "internal error: TypeError")."""
    src, out = tmp_path / "deep.json", tmp_path / "fixed.json"
    for arrays, written in ((253, True), (254, False)):
        doc = coco_doc()
        doc["x"] = "__DEEP__"
        src.write_text(json.dumps(doc).replace('"__DEEP__"', "[" * arrays + "]" * arrays))
        res = run_cli("validate", src, "--fix", out, "--format", "json")
        assert "internal error" not in res.stderr + res.stdout
        assert out.exists() is written, res.stderr
        if written:
            assert res.exit_code == 0, res.stdout
            out.unlink()
            continue
        assert res.exit_code == 1, res.stderr
        (issue,) = [i for i in one_report(res.stdout)["issues"] if i["code"] == "document.too_deep"]
        assert issue["source"] == str(out)
        assert issue["message"] == (
            "nothing written: the document nests deeper than 254 levels, the most the JSON writer "
            "(orjson) writes: flatten the deep value"
        )
        assert f"--fix: {out}: nothing written: the document nests deeper" in res.stderr


def test_visualize_names_a_deep_entry_without_an_internal_error(run_cli, tmp_path: Path) -> None:
    """An image that is a list 1,000 levels deep: pydantic's message quoted it with repr(), which
    ran out of Python stack ("internal error: RecursionError")."""
    src = tmp_path / "deep.json"
    src.write_text('{"images": [' + "[" * 1000 + "]" * 1000 + '], "annotations": [], "categories": []}')
    res = run_cli("visualize", src, "-o", tmp_path / "vis", "--workers", "1")
    assert res.exit_code in (0, 1), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
