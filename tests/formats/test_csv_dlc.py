"""DeepLabCut CollectedData CSV (kpconv.formats.csv.dlc) on the bundled fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpconv.convert.builder import Conversion
from kpconv.errors import DataError, UsageError
from kpconv.finding import Severity
from kpconv.formats.csv import ImageOptions, detect_layout, read_table
from kpconv.validation import validate
from tests.formats.csv_support import CSV, errors, run

SINGLE = CSV / "dlc-project" / "labeled-data" / "mouse1" / "CollectedData_kp.csv"
MULTI = CSV / "dlc-ma-project" / "labeled-data" / "pair" / "CollectedData_kp.csv"




def codes(conv: Conversion) -> list[str]:
    return [f.code for f in conv.report.findings]


def test_detected_as_dlc() -> None:
    assert detect_layout(read_table(SINGLE)) == "dlc"
    assert detect_layout(read_table(MULTI)) == "dlc"


def test_single_animal_project() -> None:
    conv = run(SINGLE)
    assert errors(conv) == []
    ds = conv.dataset
    (cat,) = ds.categories
    # config.yaml order wins over the CSV column order (leftear, rightear, snout, tailbase)
    assert cat.name == "animal"
    assert cat.keypoints == ["snout", "leftear", "rightear", "tailbase"]
    assert cat.skeleton == [[1, 2], [1, 3], [2, 4], [3, 4]]
    assert "csv.config_order" in codes(conv)
    # file names are relative to the project root; the backslash path is normalized
    assert [(i.file_name, i.width, i.height) for i in ds.images] == [
        ("labeled-data/mouse1/img000.png", 64, 48),
        ("labeled-data/mouse1/img001.jpg", 64, 48),  # a PNG named .jpg
        ("labeled-data/mouse1/img002.png", 60, 40),  # RGBA, another size in the same folder
        ("labeled-data/mouse1/img003.png", 64, 48),  # grayscale
    ]
    first = ds.annotations[0]
    assert first.keypoints == [25.0, 5.125, 2, 20.5, 10.25, 2, 30.5, 10.75, 2, 26.0, 40.0, 2]
    # empty cells are unlabelled points: img001 has no tailbase, img003 no leftear
    assert ds.annotations[1].keypoints[9:] == [0, 0, 0]
    assert ds.annotations[3].keypoints[3:6] == [0, 0, 0]
    assert [a.num_keypoints for a in ds.annotations] == [4, 3, 4, 3]
    report = validate(ds, images=CSV / "dlc-project")
    assert report.errors == []


def test_multi_animal_project_with_unique_bodyparts() -> None:
    conv = run(MULTI)
    assert errors(conv) == []
    ds = conv.dataset
    assert [(c.name, c.keypoints, c.skeleton) for c in ds.categories] == [
        ("animal", ["head", "body", "tail"], [[1, 2], [2, 3]]),
        ("unique_bodyparts", ["feeder"], []),
    ]
    assert [i.file_name for i in ds.images] == [
        "labeled-data/pair/frame000.png",  # 3 index columns joined
        "labeled-data/pair/frame001.png",
        "labeled-data/pair/frame002.png",  # short row, all empty: an image without annotations
    ]
    per_image = [(a.image_id, a.category_id, a.model_extra.get("attributes")) for a in ds.annotations]
    assert per_image == [
        (1, 1, {"individual": "m1"}),
        (1, 1, {"individual": "m2"}),
        (1, 2, None),
        (2, 1, {"individual": "m1"}),
        (2, 2, None),
    ]
    # the duplicated identical frame000 row is kept once, with a warning naming both lines
    (dup,) = [f for f in conv.report.findings if f.code == "csv.duplicate_row"]
    assert dup.severity is Severity.WARNING
    assert dup.source is not None and dup.source.endswith("CollectedData_kp.csv:7")
    assert "first at line 5" in dup.message
    assert validate(ds, images=CSV / "dlc-ma-project").errors == []


def test_without_config_the_csv_order_is_used(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(CSV / "dlc-project", project)
    (project / "config.yaml").unlink()
    conv = run(project / "labeled-data" / "mouse1" / "CollectedData_kp.csv")
    assert conv.dataset.categories[0].keypoints == ["leftear", "rightear", "snout", "tailbase"]
    assert conv.dataset.categories[0].skeleton == []


def test_explicit_config(tmp_path: Path) -> None:
    config = tmp_path / "other.yaml"
    config.write_text("bodyparts: [tailbase, snout, leftear, rightear]\nskeleton: [[tailbase, snout]]\n")
    conv = run(SINGLE, config=config)
    (cat,) = conv.dataset.categories
    assert cat.keypoints == ["tailbase", "snout", "leftear", "rightear"]
    assert cat.skeleton == [[1, 2]]


def test_config_missing_a_bodypart_appends_it_with_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("bodyparts: [snout, tailbase]\nskeleton: [[snout, nose]]\n")
    conv = run(SINGLE, config=config)
    assert conv.dataset.categories[0].keypoints == ["snout", "tailbase", "leftear", "rightear"]
    assert {"csv.config_mismatch", "csv.skeleton_unknown"} <= set(codes(conv))
    assert errors(conv) == []


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("bodyparts: [a\n", "not valid YAML"),
        ("- just a list\n", "expected a DeepLabCut config"),
        ("bodyparts: [snout]\nskeleton: [[snout]]\n", r"skeleton\[0\]"),
    ],
)
def test_bad_config_is_located(tmp_path: Path, text: str, match: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(DataError, match=match):
        run(SINGLE, config=config)


def test_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="config file not found"):
        run(SINGLE, config=tmp_path / "nope.yaml")


def test_duplicated_and_conflicting_rows() -> None:
    conv = run(CSV / "malformed" / "duplicated_rows.csv", images=ImageOptions(image_size=(64, 48)))
    found = {f.code: f for f in conv.report.findings}
    assert found["csv.duplicate_row"].severity is Severity.WARNING
    assert found["csv.conflicting_rows"].severity is Severity.ERROR
    assert found["csv.conflicting_rows"].source.endswith("duplicated_rows.csv:7")  # type: ignore[union-attr]
    assert "first at line 5" in found["csv.conflicting_rows"].message
    # each image once; the first of the conflicting rows is kept
    assert [i.file_name for i in conv.dataset.images] == ["images/a.png", "images/c.png"]
    assert conv.dataset.annotations[1].keypoints == [40.0, 30.0, 2, 41.0, 32.0, 2]


def test_header_without_y_column_is_refused_with_its_line() -> None:
    with pytest.raises(DataError, match=r"dlc_missing_y\.csv:3: bodypart 'tail' has no 'y' column"):
        run(CSV / "malformed" / "dlc_missing_y.csv", images=ImageOptions(image_size=(10, 10)))


def test_header_without_coords_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("scorer,a,a\nbodyparts,n,n\nimg.png,1,2\n")
    with pytest.raises(DataError, match="no 'coords' row"):
        run(path, layout="dlc", images=ImageOptions(image_size=(10, 10)))


def test_not_a_number_in_a_dlc_cell_is_located(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("scorer,s,s\nbodyparts,nose,nose\ncoords,x,y\nimg.png,1,oops\n")
    conv = run(path, images=ImageOptions(image_size=(10, 10)))
    (f,) = [f for f in conv.report.findings if f.code == "csv.not_a_number"]
    assert f.source == f"{path}:4"
    assert f.message == 'column "nose/y": "oops" is not a number'


def test_likelihood_columns_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "scorer;s;s;s\nbodyparts;nose;nose;nose\ncoords;x;y;likelihood\nimg.png;1,5;2,25;0,9\n"
    )
    conv = run(path, images=ImageOptions(image_size=(10, 10)))
    assert errors(conv) == []
    assert conv.dataset.annotations[0].keypoints == [1.5, 2.25, 2]


def test_merged_header_cells_are_carried_forward(tmp_path: Path) -> None:
    # a spreadsheet that merged the scorer/bodypart cells leaves them blank after the first
    path = tmp_path / "c.csv"
    path.write_text("scorer,s\nbodyparts,nose,,tail,\ncoords,x,y,x,y\nimg.png,1,2,3,4\n")
    conv = run(path, images=ImageOptions(image_size=(10, 10)))
    assert conv.dataset.categories[0].keypoints == ["nose", "tail"]
    assert conv.dataset.annotations[0].keypoints == [1.0, 2.0, 2, 3.0, 4.0, 2]


def test_category_name_option() -> None:
    conv = run(SINGLE, category_name="mouse")
    assert [c.name for c in conv.dataset.categories] == ["mouse"]


def test_a_config_yaml_that_is_not_deeplabcut_is_ignored(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(CSV / "dlc-project", project)
    (project / "config.yaml").write_text("model: resnet\nepochs: 3\n")
    conv = run(project / "labeled-data" / "mouse1" / "CollectedData_kp.csv")
    assert "csv.config_ignored" in codes(conv)
    assert conv.dataset.categories[0].keypoints == ["leftear", "rightear", "snout", "tailbase"]


def test_the_training_set_csv_finds_its_project_config_and_images(tmp_path: Path) -> None:
    """DeepLabCut merges the labels into training-datasets/iteration-N/UnaugmentedDataSet_*/ when it
    creates a training set: the project root (config.yaml, labeled-data/) is three folders up."""
    project = tmp_path / "p"
    shutil.copytree(CSV / "dlc-project", project)
    merged = project / "training-datasets" / "iteration-0" / "UnaugmentedDataSet_miceJan1"
    merged.mkdir(parents=True)
    shutil.copy(project / "labeled-data" / "mouse1" / "CollectedData_kp.csv", merged / "CollectedData_kp.csv")
    conv = run(merged / "CollectedData_kp.csv")
    assert errors(conv) == []
    (cat,) = conv.dataset.categories
    assert cat.keypoints == ["snout", "leftear", "rightear", "tailbase"]  # config.yaml's order
    assert cat.skeleton == [[1, 2], [1, 3], [2, 4], [3, 4]]
    direct = run(project / "labeled-data" / "mouse1" / "CollectedData_kp.csv").document
    assert conv.document["images"] == direct["images"]  # found under the project root
    assert conv.document["annotations"] == direct["annotations"]
