"""Real CSV files written by DeepLabCut and SLEAP users (../shared/realdata; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.convert.builder import Conversion
from kpconv.errors import DataError
from kpconv.finding import Severity
from kpconv.formats.csv import ImageOptions
from kpconv.validation import validate
from tests.conftest import realdata_file
from tests.formats.csv_support import run

OPENFIELD = "deeplabcut/examples/openfield-Pranav-2018-10-30"
OPENFIELD_CSV = f"{OPENFIELD}/labeled-data/m4s1/CollectedData_Pranav.csv"
SLEAP_DLC = "sleap/tests/data/dlc"
SLEAP_VIDEO = f"{SLEAP_DLC}/labeled-data/video"
SLEAP_ANALYSIS = "sleap/tests/data/csv_format/minimal_instance.000_centered_pair_low_quality.analysis.csv"


def assert_valid(conv: Conversion, images: Path | None) -> None:
    build_errors = [f for f in conv.report.findings if f.severity is Severity.ERROR]
    assert build_errors == []
    assert validate(conv.dataset, images=images).errors == []


def test_openfield_missing_images_stop_the_conversion() -> None:
    path = realdata_file(OPENFIELD_CSV)
    with pytest.raises(DataError) as exc:
        run(path)
    assert "96 of 116 image(s) missing" in exc.value.message
    assert "labeled-data/m4s1/img0020.png (line 24)" in exc.value.message
    assert len(exc.value.findings) == 96


def test_openfield_skip_missing_images() -> None:
    path = realdata_file(OPENFIELD_CSV)
    conv = run(path, images=ImageOptions(skip_missing=True))
    ds = conv.dataset
    assert len(ds.images) == 20 and len(ds.annotations) == 20
    skips = [f for f in conv.report.findings if f.code == "csv.image_skipped"]
    assert len(skips) == 96
    assert skips[0].source == f"{path}:24" and "img0020.png" in skips[0].message
    # config.yaml gives the order; files are relative to the project root
    config_order = ["snout", "leftear", "rightear", "tailbase"]
    assert ds.categories[0].keypoints == config_order
    assert ds.images[0].file_name == "labeled-data/m4s1/img0000.png"
    assert (ds.images[0].width, ds.images[0].height) == (640, 480)
    # floats like 250.05599999999998 are rounded to 1/1000 px
    assert ds.annotations[0].keypoints[:3] == [21.521, 265.428, 2]
    assert_valid(conv, path.parents[2])


def test_openfield_with_image_size_converts_every_frame() -> None:
    path = realdata_file(OPENFIELD_CSV)
    conv = run(path, images=ImageOptions(image_size=(640, 480)))
    assert len(conv.dataset.images) == 116 and len(conv.dataset.annotations) == 116
    assert_valid(conv, None)


@pytest.mark.parametrize(
    ("name", "instances", "categories"),
    [
        ("dlc_testdata.csv", 3, ["animal"]),
        ("dlc_testdata_v2.csv", 3, ["animal"]),  # 3 index columns
        ("madlc_testdata.csv", 5, ["animal"]),
        ("madlc_testdata_v2.csv", 5, ["animal"]),
        ("maudlc_testdata.csv", 7, ["animal", "unique_bodyparts"]),  # short scorer row
        ("maudlc_testdata_v2.csv", 7, ["animal", "unique_bodyparts"]),  # short data row
        ("CollectedData_LM.csv", 7, ["animal", "unique_bodyparts"]),
    ],
)
def test_sleap_dlc_files(name: str, instances: int, categories: list[str]) -> None:
    path = realdata_file(f"{SLEAP_VIDEO}/{name}")
    conv = run(path)
    ds = conv.dataset
    assert [c.name for c in ds.categories] == categories
    assert len(ds.annotations) == instances
    # img002's row is empty: the image is kept without annotations; files are project-relative
    assert [i.file_name for i in ds.images] == [f"labeled-data/video/img00{i}.png" for i in range(4)]
    assert {(i.width, i.height) for i in ds.images} == {(30, 30)}
    assert_valid(conv, path.parents[2])


def test_sleap_maudlc_with_its_config() -> None:
    path = realdata_file(f"{SLEAP_VIDEO}/maudlc_testdata_v2.csv")
    config = realdata_file(f"{SLEAP_DLC}/madlc_230_config.yaml")
    conv = run(path, config=config)
    animal, unique = conv.dataset.categories
    # bodyparts: MULTI! -> multianimalbodyparts + uniquebodyparts; skeleton by names
    assert animal.keypoints == ["A", "B", "C"] and animal.skeleton == [[1, 2], [2, 3], [1, 3]]
    assert unique.keypoints == ["D", "E"] and unique.skeleton == []
    individuals = {a.model_extra["attributes"]["individual"] for a in conv.dataset.annotations if a.category_id == 1}
    assert individuals == {"Animal1", "Animal2"}
    assert_valid(conv, path.parents[2])


@pytest.mark.parametrize(
    ("rel", "images"),
    [
        ("sleap/tests/data/dlc_multiple_datasets/video1/dlc_dataset_1.csv", ["img000.jpg", "img001.jpg"]),
        ("sleap/tests/data/dlc_multiple_datasets/video2/dlc_dataset_2.csv", ["img002.jpg"]),
    ],
)
def test_sleap_images_next_to_the_csv(rel: str, images: list[str]) -> None:
    path = realdata_file(rel)
    conv = run(path)
    assert [(i.file_name, i.width, i.height) for i in conv.dataset.images] == [(n, 560, 320) for n in images]
    assert_valid(conv, path.parent)


def test_sleap_analysis_csv() -> None:
    path = realdata_file(SLEAP_ANALYSIS)
    with pytest.raises(DataError, match="frame_000000.png"):
        run(path)  # the video's frames are not there
    conv = run(path, images=ImageOptions(image_size=(384, 384)))
    ds = conv.dataset
    assert ds.categories[0].keypoints == ["A", "B"]
    assert [i.file_name for i in ds.images] == ["frame_000000.png"]
    assert ds.annotations[0].keypoints == pytest.approx([205.93, 187.89, 2, 278.635, 203.366, 2], abs=1e-3)
    assert_valid(conv, None)
