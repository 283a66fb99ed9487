"""YOLO pose → raw instances for the builder: names, spec, sizes, what is kept and what is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.convert.pipeline import convert
from kpconv.errors import DataError, UsageError
from kpconv.formats.yolo import read
from kpconv.formats.yolo.datafile import load_data_file
from kpconv.formats.yolo.reader import spec_from_data
from kpconv.spec import spec_from_mapping
from tests.formats.yolo_support import YOLO, good_line, make_dataset


def _convert(data_yaml: Path, split: str = "train", spec=None):
    parsed = read(data_yaml, split, spec)
    return convert(parsed, spec)[""], Path(parsed.summary["images_root"])


def test_hands_fixture(tmp_path: Path) -> None:
    conv, root = _convert(YOLO / "hands" / "data.yaml")
    doc = conv.document
    assert root == (YOLO / "hands").absolute()
    assert [i["file_name"] for i in doc["images"]] == [
        "images/train/a.png", "images/train/b.jpg", "images/train/background.png",
        "images/train/empty.png", "images/train/extra/c.png",
    ]  # fmt: skip
    assert [(c["id"], c["name"], c["keypoints"][1]) for c in doc["categories"]] == [
        (1, "critter", "left_hand"), (2, "robot", "left_hand")
    ]  # fmt: skip
    first = doc["annotations"][0]
    assert first["keypoints"] == [
        32.0,
        12.0,
        2,
        19.2,
        24.0,
        2,
        44.8,
        24.0,
        1,
        24.0,
        38.4,
        2,
        40.0,
        38.4,
        2,
    ]
    assert first["bbox"] == [16.0, 9.6, 32.0, 31.2]
    assert conv.spec is not None and conv.spec.categories[0].flip_pairs == [(2, 3), (4, 5)]
    assert conv.spec.categories[0].flip_source == "explicit"  # from flip_idx
    assert conv.report.ok


def test_bad_lines_are_errors_and_good_lines_still_convert() -> None:
    conv, _ = _convert(YOLO / "broken" / "data.yaml")
    codes = conv.report.codes()
    for code in ("yolo.columns", "yolo.out_of_range", "yolo.class_id", "yolo.not_a_number", "yolo.visibility",
                 "yolo.empty_box", "yolo.duplicate_line", "yolo.label_without_image", "yolo.flip_idx"):  # fmt: skip
        assert codes[code] >= 1, code
    assert "yolo.image_missing" not in codes  # that is the val split's
    lines = sorted(a["id"] for a in conv.document["annotations"])
    assert len(lines) == 4  # good.txt: 2 lines, bad.txt: lines 1 and 9
    sources = [f.source for f in conv.report.findings if f.code.startswith("yolo.") and f.source]
    assert "train/labels/bad.txt:2" in sources and "train/labels/bad.txt:8" in sources
    # the flip_idx is not an involution: the flip pairs come from the names instead
    assert conv.spec is not None and conv.spec.categories[0].flip_pairs == [(2, 3)]


def test_two_value_points_at_0_0_or_negative_are_not_labelled() -> None:
    conv, _ = _convert(YOLO / "xy" / "data.yaml")
    (ann,) = conv.document["annotations"]
    assert ann["keypoints"] == [10.0, 20.0, 2, 40.0, 20.0, 2, 20.0, 36.0, 2, 0, 0, 0]
    assert conv.report.codes()["yolo.zero_point_2d"] == 1


def test_keypoint_names_from_spec_kpt_names_or_numbered(tmp_path: Path) -> None:
    yaml_file = make_dataset(tmp_path, {"a": good_line() + "\n"})
    conv, _ = _convert(yaml_file)
    assert conv.document["categories"][0]["keypoints"] == ["kp1", "kp2", "kp3"]
    assert conv.report.codes()["yolo.keypoints_unnamed"] == 1
    spec = spec_from_mapping({"categories": [{"name": "critter", "keypoints": ["x", "left_y", "right_y"]},
                                             {"name": "robot", "keypoints": ["p", "q", "r"]}]})  # fmt: skip
    conv, _ = _convert(yaml_file, spec=spec)
    assert conv.document["categories"][0]["keypoints"] == ["x", "left_y", "right_y"]
    assert "yolo.keypoints_unnamed" not in conv.report.codes()
    too_many = spec_from_mapping({"name": "critter", "keypoints": ["a", "b", "c", "d"]})
    with pytest.raises(DataError, match="has 4 keypoints, but kpt_shape says 3"):
        read(yaml_file, "train", too_many)


def test_the_kpconv_block_restores_categories_and_cuts_padding(tmp_path: Path) -> None:
    yaml_text = (
        "train: images/train\nval: images/train\nkpt_shape: [3, 3]\nnames: {0: a, 1: b}\n"
        "kpt_names: {0: [p, q, r], 1: [s, _pad1, _pad2]}\n"
        "kpconv:\n  categories:\n"
        "    - {class: 0, id: 5, name: a, supercategory: thing, keypoints: 3, skeleton: [[1, 2]]}\n"
        "    - {class: 1, id: 9, name: b, keypoints: 1, skeleton: []}\n"
    )
    yaml_file = make_dataset(tmp_path, {"x": good_line(1) + "\n"}, data_yaml=yaml_text)
    data = load_data_file(yaml_file)
    spec, notes = spec_from_data(data)
    assert [c.keypoints for c in spec.categories] == [["p", "q", "r"], ["s"]] and notes == []
    conv, _ = _convert(yaml_file)
    cats = conv.document["categories"]
    assert [(c["id"], c["supercategory"], c["skeleton"]) for c in cats] == [
        (5, "thing", [[1, 2]]),
        (9, "b", []),
    ]
    # the padded columns of class b were labelled here: the builder reports them, the rest converts
    (ann,) = conv.document["annotations"]
    assert ann["category_id"] == 9 and ann["keypoints"] == [12.0, 10.0, 2]
    assert conv.report.codes()["convert.unknown_keypoint"] == 2


def test_unreadable_and_tiny_images(tmp_path: Path) -> None:
    yaml_file = make_dataset(
        tmp_path, {"a": good_line() + "\n", "b": good_line() + "\n"}, sizes={"b": (8, 30)}
    )
    (tmp_path / "images/train/a.png").write_bytes(b"not an image")
    conv, _ = _convert(yaml_file)
    codes = conv.report.codes()
    assert codes["yolo.image_unreadable"] == 1 and codes["yolo.image_too_small"] == 1
    assert [i["file_name"] for i in conv.document["images"]] == ["images/train/b.png"]
    assert len(conv.document["annotations"]) == 1


def test_background_images_are_kept_and_labels_without_images_reported(tmp_path: Path) -> None:
    yaml_file = make_dataset(tmp_path, {"a": None, "b": good_line() + "\n"})
    (tmp_path / "labels/train/ghost.txt").write_text(good_line() + "\n")
    conv, _ = _convert(yaml_file)
    assert len(conv.document["images"]) == 2 and len(conv.document["annotations"]) == 1
    (orphan,) = [f for f in conv.report.findings if f.code == "yolo.label_without_image"]
    assert orphan.source == "labels/train/ghost.txt"


def test_denormalised_to_a_millionth_of_a_pixel(tmp_path: Path) -> None:
    line = "0 0.5 0.5 0.6 0.6 0.123456789 0.987654321 2 0.3333333333 0.5 1 0.5 0.5 0"
    yaml_file = make_dataset(tmp_path, {"a": line + "\n"}, sizes={"a": (1000, 300)})
    conv, _ = _convert(yaml_file)
    kps = conv.document["annotations"][0]["keypoints"]
    assert kps == [123.456789, 296.296296, 2, 333.333333, 150.0, 1, 0, 0, 0]


def test_unknown_split_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"no split 'test' \(splits: train, val\)"):
        read(YOLO / "hands" / "data.yaml", "test")


def test_no_kpt_shape_cannot_be_read(tmp_path: Path) -> None:
    f = tmp_path / "data.yaml"
    f.write_text("train: images\nval: images\nnames: [a]\n")
    with pytest.raises(DataError, match="no kpt_shape: not a pose dataset"):
        read(f, "train")


def test_exif_rotated_jpeg_is_read_in_the_frame_ultralytics_uses(tmp_path: Path) -> None:
    """A 40x20 JPEG stored sideways (EXIF orientation 6): Ultralytics loads it as 20x40 and its
    labels are normalised by that, so the COCO size and points are in the rotated frame, flagged."""
    from PIL import Image

    data_yaml = make_dataset(tmp_path / "ds", {"a": None})
    (tmp_path / "ds" / "images" / "train" / "a.png").unlink()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 20), (10, 20, 30)).save(tmp_path / "ds" / "images" / "train" / "a.jpg", exif=exif.tobytes())
    label = tmp_path / "ds" / "labels" / "train" / "a.txt"
    label.parent.mkdir(parents=True, exist_ok=True)
    label.write_text("0 0.5 0.5 0.5 0.5 0.25 0.75 2 0.5 0.5 2 0.75 0.25 1\n")
    conv, _ = _convert(data_yaml)
    (image,) = conv.document["images"]
    assert (image["width"], image["height"]) == (20, 40)
    (ann,) = conv.document["annotations"]
    assert ann["keypoints"][:2] == [5, 30]  # 0.25 * 20, 0.75 * 40
    (found,) = [f for f in conv.report.findings if f.code == "yolo.image_exif_rotated"]
    assert "EXIF orientation 6" in found.message and found.source.endswith("a.jpg")
