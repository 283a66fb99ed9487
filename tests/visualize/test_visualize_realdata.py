"""``kpconv visualize`` over real files written by other people (skipped when ../shared/realdata is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from tests.conftest import realdata_file

pytestmark = pytest.mark.realdata


def _render(
    run_cli, dataset: Path, out: Path, *args: str | Path
) -> tuple[int, str, dict[str, Path]]:
    res = run_cli("visualize", dataset, "-o", out, *args)
    files = {p.relative_to(out / "images").as_posix(): p for p in (out / "images").rglob("*.png")}
    return res.exit_code, res.stderr, files


def _sizes_match(dataset: Path, images: dict[str, Path]) -> None:
    doc = json.loads(dataset.read_text())
    for img in doc["images"]:
        out = images[str(Path(img["file_name"]).with_suffix(".png").as_posix())]
        h, w = cv2.imread(str(out)).shape[:2]
        assert (w, h) == (img["width"], img["height"]), img["file_name"]


def test_mmpose_coco_people(run_cli, tmp_path):
    ds = realdata_file("mmpose/tests/data/coco/test_coco.json")
    code, err, images = _render(run_cli, ds, tmp_path / "o", "--grid", "4", "--names")
    assert code == 0, err
    assert len(images) == 4
    _sizes_match(ds, images)
    assert (tmp_path / "o" / "summary.svg").is_file()
    assert "no bbox" not in err  # every annotation has a box


@pytest.mark.parametrize(
    "relative",
    [
        "mmpose/tests/data/animalpose/test_animalpose.json",
        "mmpose/tests/data/zebra/test_zebra.json",
    ],
)
def test_mmpose_other_skeletons(run_cli, tmp_path, relative):
    ds = realdata_file(relative)
    code, err, images = _render(run_cli, ds, tmp_path / "o")
    assert code == 0, err
    assert len(images) == 2
    _sizes_match(ds, images)


def test_tlpss_without_bbox_derives_and_marks_them(run_cli, tmp_path):
    ds = realdata_file("keypoint-detection-tlpss/test/test_dataset/coco_dataset.json")
    code, err, images = _render(run_cli, ds, tmp_path / "o")
    assert code == 0, err
    assert sorted(images) == [f"images/{i}.png" for i in range(4)]
    assert "4 annotation(s) have no bbox: drawn dashed" in err
    _sizes_match(ds, images)


def test_tlpss_issues_from_the_validator(run_cli, tmp_path):
    ds = realdata_file("keypoint-detection-tlpss/test/test_dataset/coco_dataset.json")
    res = run_cli("validate", ds, "--format", "json")
    report = tmp_path / "r.json"
    report.write_text(res.stdout)
    code, err, images = _render(run_cli, ds, tmp_path / "o", "--issues", report)
    assert code == 0, err
    assert len(images) == 4  # every annotation lacks bbox/area: every image is flagged


def test_broken_cvat_export_renders_what_it_can(run_cli, tmp_path):
    # width/height are strings, category id 0 while annotations use 1: fails validation, still drawable
    ds = realdata_file("cvat-to-coco-duytue/annotations.json")
    res = run_cli("visualize", ds, "-o", tmp_path / "o", "--no-summary")
    # its images are not in the real-data folder: each is a finding, exit 1, no traceback
    assert res.exit_code == 1 and "visualize.image_missing" in res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


def test_kkimgaug_zero_based_ids(run_cli, tmp_path):
    ds = realdata_file("kkimgaug/tests/json/coco.json")
    img_dir = realdata_file("kkimgaug/tests/src_labelme/img")
    doc = json.loads(ds.read_text())
    code, err, images = _render(run_cli, ds, tmp_path / "o", "--images", img_dir)
    assert code == 0, err
    assert len(images) == len(doc["images"])


def test_label_studio_export_is_not_coco(run_cli, tmp_path):
    ds = realdata_file("label-studio-sdk/tests/custom/converter/data/test_export_coco/data.json")
    res = run_cli("visualize", ds, "-o", tmp_path / "o")
    assert res.exit_code == 1 and "kpconv: error:" in res.stderr


def test_deeplabcut_openfield_after_from_csv(run_cli, tmp_path):
    project = realdata_file("deeplabcut/examples/openfield-Pranav-2018-10-30")
    csv = project / "labeled-data" / "m4s1" / "CollectedData_Pranav.csv"
    coco = tmp_path / "openfield.json"
    conv = run_cli("from-csv", csv, "-o", coco, "--skip-missing-images")
    if conv.exit_code != 0 or not coco.exists():
        pytest.skip(f"from-csv could not convert the openfield CSV here: {conv.stderr[-300:]}")
    code, err, images = _render(run_cli, coco, tmp_path / "o", "--images", project, "--limit", "5")
    assert code == 0, err
    assert len(images) == 5
    for p in images.values():
        assert cv2.imread(str(p)).shape == (480, 640, 3)
