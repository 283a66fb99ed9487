"""``kpconv from-csv`` through the real entry point: golden output, exit codes, options, real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kpconv.model import load
from kpconv.validation import validate
from tests.conftest import FIXTURES, realdata_file

CSV = FIXTURES / "csv"
SINGLE = CSV / "dlc-project" / "labeled-data" / "mouse1" / "CollectedData_kp.csv"
GOLDEN = CSV / "expected" / "dlc-project.json"
OPENFIELD_CSV = "deeplabcut/examples/openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.csv"


def test_golden_output_byte_for_byte(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-csv", SINGLE, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert out.read_bytes() == GOLDEN.read_bytes()
    # rerun: byte-identical
    res = run_cli("from-csv", SINGLE, "-o", tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == GOLDEN.read_bytes()
    # the report names the images root to pass to validate/visualize, and that root works
    assert f"--images {CSV / 'dlc-project'}" in res.stderr
    assert validate(load(out), images=CSV / "dlc-project").errors == []


@pytest.mark.parametrize(
    ("src", "images"),
    [
        ("long.csv", "."),
        ("wide.csv", "."),
        ("wide_dotted.csv", "."),
        ("wide_numbered.csv", "."),
        ("sleap/labels.000_clip.analysis.csv", "sleap"),
        ("dlc-ma-project/labeled-data/pair/CollectedData_kp.csv", "dlc-ma-project"),
    ],
)
def test_each_fixture_converts_and_validates_against_its_images(run_cli, tmp_path: Path, src: str, images: str) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-csv", CSV / src, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert f"wrote {out}" in res.stderr
    assert validate(load(out), images=CSV / images).errors == []


def test_layout_option_and_column_options(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    src.write_text("pic|pid|joint|u|w|seen\nimages/a.png|1|nose|1|2|1\nimages/a.png|1|tail|3|4|2\n")
    out = tmp_path / "out.json"
    res = run_cli(
        "from-csv", src, "-o", out, "--layout", "long", "--images", CSV,
        "--image-column", "pic", "--instance-column", "pid", "--keypoint-column", "joint",
        "--x-column", "u", "--y-column", "w", "--visibility-column", "seen",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    ds = load(out)
    assert ds.annotations[0].keypoints == [1.0, 2.0, 1, 3.0, 4.0, 2]
    assert ds.images[0].file_name == "images/a.png" and ds.images[0].width == 48


def test_delimiter_option(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "p.tsv"
    src.write_text("image\tkeypoint\tx\ty\na.png\tnose\t1\t2\n")
    res = run_cli("from-csv", src, "-o", tmp_path / "o.json", "--delimiter", "tab", "--image-size", "8x8")
    assert res.exit_code == 0, res.stderr


def test_spec_options_name_and_order_the_keypoints(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-csv", CSV / "wide_numbered.csv", "-o", out, "--keypoints", "nose,left_eye,right_eye")
    assert res.exit_code == 0, res.stderr
    (cat,) = load(out).categories
    # the spec's only category names the instances (no --category-name needed)
    assert (cat.name, cat.keypoints) == ("object", ["nose", "left_eye", "right_eye"])
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: person\nkeypoints: [right_eye, left_eye, nose]\n")
    res = run_cli("from-csv", CSV / "long.csv", "-o", out, "--spec", spec)
    assert res.exit_code == 0, res.stderr
    ds = load(out)
    assert ds.categories[0].name == "person"
    assert ds.annotations[0].keypoints == [13.0, 6.0, 1, 8.0, 6.0, 2, 10.5, 8.0, 2]


def test_inferred_spec_is_printed(run_cli, tmp_path: Path) -> None:
    res = run_cli("from-csv", CSV / "long.csv", "-o", tmp_path / "o.json")
    assert "inferred spec" in res.stderr and "keypoints: [nose, left_eye, right_eye]" in res.stderr


def test_missing_images_write_nothing(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-csv", CSV / "malformed" / "missing_image.csv", "-o", out, "--images", CSV)
    assert res.exit_code == 1
    assert "kpconv: error:" in res.stderr and "images/missing.png (line 3)" in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_skip_missing_images_lists_the_skips(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_cli(
        "from-csv", CSV / "malformed" / "missing_image.csv", "-o", out, "--images", CSV,
        "--skip-missing-images", "--format", "json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    skipped = [i for i in doc["issues"] if i["code"] == "csv.image_skipped"]
    assert [i["source"].rsplit(":", 1)[1] for i in skipped] == ["3", "4"]
    assert doc["output"] == str(out)
    assert [i.file_name for i in load(out).images] == ["images/a.png"]


def test_data_errors_exit_1_and_strict_writes_nothing(run_cli, tmp_path: Path) -> None:
    src = CSV / "malformed" / "not_a_number.csv"
    out = tmp_path / "out.json"
    res = run_cli("from-csv", src, "-o", out, "--image-size", "64x48")
    assert res.exit_code == 1
    assert f'{src}:3: column "nose_x": "abc" is not a number' in res.stderr
    assert out.exists()  # everything that converted is written
    strict_out = tmp_path / "strict.json"
    res = run_cli("from-csv", src, "-o", strict_out, "--image-size", "64x48", "--strict")
    assert res.exit_code == 1 and not strict_out.exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--image-size", "640"], "WIDTHxHEIGHT"),
        (["--image-size", "0x5"], "WIDTHxHEIGHT"),
        (["--image-size", "9" * 5000 + "x10"], "WIDTHxHEIGHT"),  # too large for int(): not an internal error
        (["--layout", "excel"], "Invalid value for '--layout'"),
        (["--frame-pattern", "same.png"], "--frame-pattern"),
        (["--keypoints", "a", "--preset", "coco-person"], "at most one"),
    ],
)
def test_usage_errors_exit_2(run_cli, tmp_path: Path, args: list[str], match: str) -> None:
    res = run_cli("from-csv", CSV / "long.csv", "-o", tmp_path / "o.json", *args)
    assert res.exit_code == 2
    assert match in res.stderr


def test_missing_source_and_output_over_input(run_cli, tmp_path: Path) -> None:
    res = run_cli("from-csv", tmp_path / "nope.csv", "-o", tmp_path / "o.json")
    assert res.exit_code == 2 and "file not found" in res.stderr
    src = tmp_path / "p.csv"
    shutil.copy(CSV / "long.csv", src)
    res = run_cli("from-csv", src, "-o", src)
    assert res.exit_code == 2 and "refusing to overwrite an input" in res.stderr
    assert src.read_bytes() == (CSV / "long.csv").read_bytes()


def test_unknown_layout_exits_1_with_location(run_cli, tmp_path: Path) -> None:
    res = run_cli("from-csv", CSV / "malformed" / "unknown_layout.csv", "-o", tmp_path / "o.json")
    assert res.exit_code == 1
    assert "unknown_layout.csv:1: cannot tell the CSV layout" in res.stderr


def test_help_documents_the_layouts(run_cli) -> None:
    res = run_cli("from-csv", "--help")
    assert res.exit_code == 0
    for word in ("--layout", "--images", "--image-size", "--skip-missing-images", "--frame-pattern", "--config"):
        assert word in res.stdout


def test_openfield_real_file(run_cli, tmp_path: Path) -> None:
    src = realdata_file(OPENFIELD_CSV)
    out = tmp_path / "out.json"
    res = run_cli("from-csv", src, "-o", out)
    assert res.exit_code == 1 and not out.exists()
    assert "img0020.png" in res.stderr and "96 of 116" in res.stderr
    res = run_cli("from-csv", src, "-o", out, "--skip-missing-images")
    assert res.exit_code == 0, res.stderr
    assert "WARNING csv.image_skipped (96)" in res.stderr
    ds = load(out)
    assert len(ds.images) == 20
    assert ds.categories[0].keypoints == ["snout", "leftear", "rightear", "tailbase"]
    assert validate(ds, images=src.parents[2]).errors == []
