"""``kpconv to-yolo``, ``kpconv from-yolo`` and ``kpconv validate DATA.yaml`` through the real entry point."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import orjson
import yaml

from kpconv.model import load
from kpconv.validation import validate
from tests.conftest import FIXTURES, REPO

YOLO = FIXTURES / "yolo"
TRAIN = FIXTURES / "train"
GOLDEN = YOLO / "expected" / "hands-train.json"


# ------------------------------------------------------------------------------ from-yolo
def test_from_yolo_golden_output_byte_for_byte(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "hands.json"
    res = run_cli("from-yolo", YOLO / "hands" / "data.yaml", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert out.read_bytes() == GOLDEN.read_bytes()
    assert (
        run_cli("from-yolo", YOLO / "hands" / "data.yaml", "-o", tmp_path / "again.json").exit_code
        == 0
    )
    assert (tmp_path / "again.json").read_bytes() == GOLDEN.read_bytes()
    # the report names the images root, and the output validates against it
    assert "--images " in res.stderr and f"wrote {out}" in res.stderr
    assert validate(load(out), images=YOLO / "hands").errors == []


def test_from_yolo_bad_lines_exit_1_located_the_rest_written(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "broken.json"
    res = run_cli("from-yolo", YOLO / "broken" / "data.yaml", "-o", out)
    assert res.exit_code == 1
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert "train/labels/bad.txt:2: expected 5 + 3*3 = 14 columns, found 11" in res.stderr
    assert "train/labels/bad.txt:4: class 3 is not one of the 2 classes" in res.stderr
    assert len(load(out).annotations) == 4
    strict = tmp_path / "strict.json"
    assert (
        run_cli("from-yolo", YOLO / "broken" / "data.yaml", "-o", strict, "--strict").exit_code == 1
    )
    assert not strict.exists()


def test_from_yolo_json_report(run_cli, tmp_path: Path) -> None:
    res = run_cli(
        "from-yolo", YOLO / "broken" / "data.yaml", "-o", tmp_path / "b.json", "--format", "json"
    )
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["output"] == str(tmp_path / "b.json")
    columns = [i for i in doc["issues"] if i["code"] == "yolo.columns"]
    assert columns == [{"code": "yolo.columns", "severity": "error", "pointer": "", "source": "train/labels/bad.txt:2",
                        "message": columns[0]["message"]}]  # fmt: skip
    assert doc["spec"]["categories"][0]["keypoints"] == ["beak", "left_wing", "right_wing"]


def test_from_yolo_usage_errors(run_cli, tmp_path: Path) -> None:
    res = run_cli(
        "from-yolo", YOLO / "hands" / "data.yaml", "-o", tmp_path / "x.json", "--split", "test"
    )
    assert res.exit_code == 2 and "no split 'test' (splits: train, val)" in res.stderr
    res = run_cli("from-yolo", tmp_path / "missing.yaml", "-o", tmp_path / "x.json")
    assert res.exit_code == 2
    res = run_cli("from-yolo", YOLO / "hands" / "data.yaml", "-o", YOLO / "hands" / "data.yaml")
    assert res.exit_code == 2 and "overwrite an input" in res.stderr
    res = run_cli(
        "from-yolo",
        YOLO / "hands" / "data.yaml",
        "-o",
        tmp_path / "x.json",
        "--keypoints",
        "a,b,c,d,e",
    )
    assert res.exit_code == 2 and "has 2 classes" in res.stderr


def test_from_yolo_keypoints_option_names_the_only_class(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "xy.json"
    res = run_cli(
        "from-yolo", YOLO / "xy" / "data.yaml", "-o", out, "--keypoints", "snout,tail,lp,rp"
    )
    assert res.exit_code == 0, res.stderr
    assert load(out).categories[0].keypoints == ["snout", "tail", "lp", "rp"]


def test_not_yaml_is_a_located_error(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "data.yaml"
    bad.write_text("kpt_shape: [3, 3\n")
    res = run_cli("from-yolo", bad, "-o", tmp_path / "x.json")
    assert res.exit_code == 1 and f"{bad}:2:1: not valid YAML" in res.stderr
    res = run_cli("validate", bad)
    assert res.exit_code == 1 and f"{bad}:2:1: not valid YAML" in res.stderr
    res = run_cli("validate", bad, "--format", "json")
    assert res.exit_code == 1 and json.loads(res.stdout)["ok"] is False


# ------------------------------------------------------------------------------ to-yolo
def test_to_yolo_then_lint_then_back(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    res = run_cli(
        "to-yolo",
        TRAIN / "train.json",
        "--images",
        TRAIN / "images",
        "-o",
        out,
        "--val-fraction",
        "0.25",
    )
    assert res.exit_code == 0, res.stderr
    assert (
        "wrote" in res.stderr
        and "train: 6 images" in res.stderr
        and "yolo pose train data=" in res.stderr
    )
    assert "yolo.crowd_skipped" in res.stderr
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["flip_idx"] == [0, 2, 1, 4, 3] and data["kpt_shape"] == [5, 3]
    assert sorted(p.name for p in (out / "labels" / "train").iterdir()) == [
        "c00.txt", "c01.txt", "c03.txt", "c05.txt", "c06.txt", "c07.txt"
    ]  # fmt: skip
    assert (out / "labels" / "train" / "c07.txt").read_bytes() == b""  # an image without instances
    lint = run_cli("validate", out / "data.yaml")
    assert lint.exit_code == 0 and "OK: 0 error(s), 0 warning(s)" in lint.stdout
    back = tmp_path / "back.json"
    assert run_cli("from-yolo", out / "data.yaml", "--split", "train", "-o", back).exit_code == 0
    original = load(TRAIN / "train.json")
    assert load(back).categories[0].model_dump() == original.categories[0].model_dump()


def test_to_yolo_refuses_a_dataset_that_does_not_validate(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    res = run_cli("to-yolo", TRAIN / "invalid.json", "--images", TRAIN / "images", "-o", out)
    assert res.exit_code == 1 and "nothing written (the dataset does not validate)" in res.stderr
    assert not out.exists()


def test_to_yolo_checks_the_image_files(run_cli, tmp_path: Path) -> None:
    doc = orjson.loads((TRAIN / "train.json").read_bytes())
    doc["images"][0]["width"] += (
        10  # the file says otherwise: normalised coordinates would be wrong
    )
    src = tmp_path / "wrong.json"
    src.write_bytes(orjson.dumps(doc))
    res = run_cli("to-yolo", src, "--images", TRAIN / "images", "-o", tmp_path / "yolo")
    assert (
        res.exit_code == 1
        and "image.size_mismatch" in res.stderr
        and not (tmp_path / "yolo").exists()
    )


def test_to_yolo_strict_json_and_usage(run_cli, tmp_path: Path) -> None:
    doc = orjson.loads((TRAIN / "train.json").read_bytes())
    doc["categories"][0]["keypoints"] = [
        "a",
        "b",
        "c",
        "d",
        "e",
    ]  # no left/right: no flip_idx (a warning)
    src = tmp_path / "plain.json"
    src.write_bytes(orjson.dumps(doc))
    res = run_cli("to-yolo", src, "--images", TRAIN / "images", "-o", tmp_path / "s", "--strict")
    assert (
        res.exit_code == 1
        and not (tmp_path / "s").exists()
        and "yolo.flip_idx_unknown" in res.stderr
    )
    res = run_cli(
        "to-yolo", src, "--images", TRAIN / "images", "-o", tmp_path / "j", "--format", "json"
    )
    report = json.loads(res.stdout)
    assert res.exit_code == 0 and report["output"] == str(tmp_path / "j") and report["ok"] is True
    assert report["summary"]["yolo"]["splits"] == {"train": {"images": 8, "instances": 11}}
    assert "flip_idx" not in yaml.safe_load((tmp_path / "j" / "data.yaml").read_text())
    base = ["to-yolo", TRAIN / "train.json", "--images", TRAIN / "images", "-o", tmp_path / "u"]
    assert run_cli(*base, "--split-name", "val", "--val-fraction", "0.2").exit_code == 2
    assert run_cli(*base, "--split-name", "../up").exit_code == 2
    assert (
        run_cli("to-yolo", TRAIN / "train.json", "-o", tmp_path / "u").exit_code == 2
    )  # --images is required
    assert not (tmp_path / "u").exists()


def test_to_yolo_split_name_and_kpt_dims(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    res = run_cli("to-yolo", TRAIN / "train.json", "--images", TRAIN / "images", "-o", out, "--split-name", "val",
                  "--kpt-dims", "2")  # fmt: skip
    assert (
        res.exit_code == 1 and "yolo.unlabelled_point_2d" in res.stderr
    )  # a v = 0 point in the fixture
    res = run_cli(
        "to-yolo",
        TRAIN / "train.json",
        "--images",
        TRAIN / "images",
        "-o",
        out,
        "--split-name",
        "val",
    )
    assert (
        res.exit_code == 0
        and (out / "images" / "val").is_dir()
        and not (out / "images" / "train").exists()
    )
    assert yaml.safe_load((out / "data.yaml").read_text())["train"] == "images/val"


# ------------------------------------------------------------------------------ validate DATA.yaml
def test_validate_lints_a_data_yaml(run_cli) -> None:
    res = run_cli("validate", YOLO / "hands" / "data.yaml")
    assert res.exit_code == 0 and "OK: 0 error(s)" in res.stdout
    res = run_cli("validate", YOLO / "broken" / "data.yaml")
    assert res.exit_code == 1
    assert "ERROR yolo.flip_idx (1)" in res.stdout and "not an involution" in res.stdout
    assert "train/labels/bad.txt:3: column 9 (keypoint 2 x) is 1.2" in res.stdout
    res = run_cli("validate", YOLO / "broken" / "data.yaml", "--format", "json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["ok"] is False and doc["file"].endswith("data.yaml")
    assert doc["summary"]["splits"]["train"] == {"images": 2, "label_files": 2, "instances": 4}
    assert {i["code"] for i in doc["issues"]} >= {
        "yolo.columns",
        "yolo.duplicate_line",
        "yolo.image_missing",
    }


def test_validate_data_yaml_strict_and_coco_only_options(run_cli) -> None:
    assert run_cli("validate", YOLO / "xy" / "data.yaml").exit_code == 0  # warnings only
    assert run_cli("validate", YOLO / "xy" / "data.yaml", "--strict").exit_code == 1
    res = run_cli("validate", YOLO / "xy" / "data.yaml", "--for-training")
    assert res.exit_code == 2 and "YOLO pose data.yaml" in res.stderr


# ------------------------------------------------------------------------------ README
def test_readme_yolo_section_runs(run_cli, tmp_path: Path, monkeypatch) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## To YOLO and back", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, re.S)
    monkeypatch.chdir(REPO)
    commands = [
        shlex.split(line.split("#")[0]) for line in block.splitlines() if line.startswith("kpconv ")
    ]
    assert len(commands) == 5
    for argv in commands:
        argv = [str(tmp_path / a) if a.startswith("out/") else a for a in argv]
        res = run_cli(*argv[1:])
        on_purpose = "broken" in " ".join(argv)
        assert res.exit_code == (1 if on_purpose else 0), (
            argv,
            res.stdout[-2000:],
            res.stderr[-2000:],
        )
