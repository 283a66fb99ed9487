"""``kpconv from-labelme`` end to end: exit codes, report formats, atomic output, real files."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from PIL import Image

from kpconv.model import load
from kpconv.validation import validate
from tests.conftest import FIXTURES, realdata_file

LM = FIXTURES / "labelme"
DEMO = LM / "demo"
PERSON = LM / "person.yaml"


def good_doc() -> dict:
    return {
        "version": "5.5.0",
        "flags": {},
        "shapes": [
            {"label": "person", "points": [[2, 2], [30, 30]], "group_id": 0, "shape_type": "rectangle", "flags": {}},
            {"label": "nose", "points": [[10, 10]], "group_id": 0, "shape_type": "point", "flags": {}},
        ],
        "imagePath": "img.png",
        "imageData": None,
        "imageHeight": 32,
        "imageWidth": 32,
    }


def make_folder(tmp_path: Path, bad: bytes | None = None) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.json").write_text(json.dumps(good_doc()))
    Image.new("RGB", (32, 32)).save(src / "img.png")
    if bad is not None:
        (src / "bad.json").write_bytes(bad)
    return src


def test_demo_exits_0_writes_golden_and_validates(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out" / "labelme.json"
    res = run_cli("from-labelme", DEMO, "--spec", PERSON, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert out.read_bytes() == (LM / "expected" / "demo.json").read_bytes()
    assert "OK: 0 error(s)" in res.stderr and f"wrote {out}" in res.stderr
    assert "--images fixtures/labelme/demo" in res.stderr or f"--images {DEMO}" in res.stderr
    report = validate(load(out), images=DEMO)
    assert report.ok, [f.to_dict() for f in report.errors]


def test_demo_without_spec_exits_0_and_prints_inferred_spec(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "labelme.json"
    res = run_cli("from-labelme", DEMO, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert "inferred spec" in res.stderr and "name: person" in res.stderr


def test_rerun_is_byte_identical(run_cli, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("from-labelme", DEMO, "-o", a).exit_code == 0
    assert run_cli("from-labelme", DEMO, "-o", b).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    # the bytes do not depend on the order the sources are named in
    c = tmp_path / "c.json"
    files = sorted(DEMO.rglob("*.json"), reverse=True)
    assert run_cli("from-labelme", *files, "-o", c).exit_code == 0
    assert c.read_bytes() == a.read_bytes()


def test_one_bad_file_exit_1_others_written(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path, bad=b'{"shapes": [{"label": "nose", "points": [[1, 2, 3]], "shape_type": "point"}], "imagePath": "img.png"}')
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", src, "--keypoints", "nose", "--category", "person=person", "-o", out)
    assert res.exit_code == 1
    assert f"{src / 'bad.json'}:shapes[0].points[0]" in res.stderr
    assert "found 3 values" in res.stderr
    doc = orjson.loads(out.read_bytes())
    assert len(doc["annotations"]) == 1 and doc["images"][0]["file_name"] == "img.png"


def test_strict_writes_nothing_on_errors(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path, bad=b"{ nope")
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", src, "--strict", "-o", out)
    assert res.exit_code == 1
    assert not out.exists()
    assert "nothing written" in res.stderr
    assert f"{src / 'bad.json'}:1:3" in res.stderr


def test_strict_with_clean_input_exits_0(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path)
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", src, "--strict", "--keypoints", "nose", "--category", "person=person", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert out.exists()


def test_json_report_on_stdout(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path, bad=b'{"imagePath": "x.png", "shapes": 3}')
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", src, "--format", "json", "-o", out, "--allow-partial")
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["ok"] is False and report["output"] == str(out)
    assert report["summary"]["labelme"]["files"] == 2 and report["summary"]["labelme"]["files_failed"] == 1
    assert report["summary"]["converted"]["instances"] == 1
    (bad,) = [i for i in report["issues"] if i["code"] == "labelme.not_labelme"]
    assert bad["source"] == str(src / "bad.json") and bad["severity"] == "error"
    assert report["spec"]["categories"][0]["keypoints"] == ["nose"]


def test_extract_images_writes_files_and_validates(run_cli, tmp_path: Path) -> None:
    out, images = tmp_path / "out.json", tmp_path / "images"
    res = run_cli("from-labelme", LM / "cases" / "embedded.json", "--spec", PERSON, "--extract-images", images, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert (images / "embedded.png").is_file()
    assert b"imageData" not in out.read_bytes()
    assert validate(load(out), images=images).ok


def test_extract_images_not_written_under_strict_errors(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "embedded.json").write_bytes((LM / "cases" / "embedded.json").read_bytes())
    (src / "broken.json").write_text("{")
    images = tmp_path / "images"
    res = run_cli("from-labelme", src, "--spec", PERSON, "--extract-images", images, "--strict", "-o", tmp_path / "o.json")
    assert res.exit_code == 1
    assert not images.exists()


def test_occluded_suffix_option(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path)
    doc = good_doc()
    doc["shapes"][1]["label"] = "nose_occ"
    (src / "good.json").write_text(json.dumps(doc))
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", src, "--occluded-suffix", "_occ", "-o", out)
    assert res.exit_code == 0, res.stderr
    ann = orjson.loads(out.read_bytes())["annotations"][0]
    assert ann["keypoints"] == [10.0, 10.0, 1]


def test_bbox_from_points_and_margin(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path)
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", src, "--bbox-from", "points", "--bbox-margin", "0", "-o", out)
    assert res.exit_code == 0, res.stderr
    # a single point: the square of the one box rule (kpconv.geometry), whatever the margin
    assert orjson.loads(out.read_bytes())["annotations"][0]["bbox"] == [1.5, 1.5, 17.0, 17.0]


def test_images_option_sets_the_root(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", DEMO / "labels", "--images", DEMO, "--spec", PERSON, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert orjson.loads(out.read_bytes())["images"][0]["file_name"] == "images/xany_person.png"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope-missing-folder"], "no such file or folder"),
        ([str(DEMO), "--category", "person"], "expected LABEL=NAME"),
        ([str(DEMO), "--spec", str(PERSON), "--category", "human=animal"], "not a category of the spec"),
        ([str(DEMO), "--spec", str(PERSON), "--preset", "coco-person"], "at most one"),
        ([str(DEMO), "--preset", "no-such-preset"], "unknown preset"),
        ([str(DEMO), "--images", "no/such/dir"], "no such folder"),
        ([str(DEMO), "--bbox-from", "magic"], "magic"),
    ],
)
def test_usage_errors_exit_2(run_cli, tmp_path: Path, args: list[str], message: str) -> None:
    res = run_cli("from-labelme", *args, "-o", tmp_path / "out.json")
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out.json").exists()


def test_refuses_to_overwrite_an_input(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path)
    before = (src / "good.json").read_bytes()
    res = run_cli("from-labelme", src / "good.json", "-o", src / "good.json")
    assert res.exit_code == 2
    assert "refusing to overwrite" in res.stderr
    assert (src / "good.json").read_bytes() == before


def test_output_inside_input_folder_is_not_read_back(run_cli, tmp_path: Path) -> None:
    src = make_folder(tmp_path)
    out = src / "coco.json"
    assert run_cli("from-labelme", src, "-o", out).exit_code == 0
    first = out.read_bytes()
    res = run_cli("from-labelme", src, "-o", out)  # the previous output is in the folder now
    assert res.exit_code == 0, res.stderr
    assert out.read_bytes() == first


def test_empty_folder_exit_2(run_cli, tmp_path: Path) -> None:
    res = run_cli("from-labelme", tmp_path, "-o", tmp_path / "o.json")
    assert res.exit_code == 2 and "no .json files" in res.stderr


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "args", "code", "anns"),
    [
        ("kkimgaug/tests/src_labelme/json/img_dog_cat.json", [], 0, 2),
        ("labelme-wkentaro/examples/primitives/primitives.json", [], 0, 1),
        ("labelme-wkentaro/examples/bbox_detection/data_annotated/2011_000003.json", [], 1, 0),
        ("labelme-wkentaro/examples/bbox_detection/data_annotated/2011_000003.json", ["--preset", "coco-person"], 0, 0),
        ("labelme-wkentaro/examples/tutorial/apc2016_obj3.json", ["--preset", "coco-person"], 0, 0),
    ],
)
def test_real_files_through_the_command(run_cli, tmp_path: Path, relative: str, args: list[str], code: int, anns: int) -> None:
    path = realdata_file(relative)
    out = tmp_path / "out.json"
    res = run_cli("from-labelme", path, *args, "-o", out, "--format", "json")
    assert res.exit_code == code, res.stdout[-2000:]
    doc = orjson.loads(out.read_bytes())
    assert len(doc["annotations"]) == anns
    assert validate(doc).ok or code == 1
    report = json.loads(res.stdout)
    sources = [i.get("source", "") for i in report["issues"]]
    assert all(s.startswith(str(path)) for s in sources if s)
