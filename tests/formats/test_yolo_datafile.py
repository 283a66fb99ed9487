"""``data.yaml`` as Ultralytics reads it: root, splits (folders, lists, split-first), names, kpt_names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpconv.errors import DataError, UsageError
from kpconv.formats.yolo.datafile import (
    KptShape,
    label_path,
    load_data_file,
    looks_like_data_file,
    split_files,
)
from tests.formats.yolo_support import YOLO, make_dataset


def _codes(data) -> list[str]:
    return [f.code for f in data.findings]


def test_the_standard_layout_and_its_label_paths() -> None:
    data = load_data_file(YOLO / "hands" / "data.yaml")
    assert data.kpt_shape == KptShape(5, 3) and data.kpt_shape.columns == 20
    assert data.names == {0: "critter", 1: "robot"}
    assert data.kpt_names[1] == ["head", "left_hand", "right_hand", "left_foot", "right_foot"]
    assert data.flip_idx == [0, 2, 1, 4, 3]
    assert data.root == (YOLO / "hands").absolute()  # no path: key: this file's folder
    files = split_files(data, "train")
    shown = [data.display(p) for p in files.images]
    assert shown == ["images/train/a.png", "images/train/b.jpg", "images/train/background.png",
                     "images/train/empty.png", "images/train/extra/c.png"]  # fmt: skip
    assert data.display(label_path(files.images[-1])) == "labels/train/extra/c.txt"
    assert data.findings == []


def test_label_path_replaces_only_the_last_images_folder() -> None:
    sep = os.sep
    path = sep.join(["", "data", "images", "set", "images", "a.b.jpg"])
    assert label_path(path) == sep.join(["", "data", "images", "set", "labels", "a.b.txt"])
    assert label_path(sep.join(["", "x", "a.png"])) == sep.join(
        ["", "x", "a.txt"]
    )  # no images/ folder


def test_split_first_layout_list_files_and_non_images() -> None:
    data = load_data_file(YOLO / "broken" / "data.yaml")
    train = split_files(data, "train")
    assert [data.display(p) for p in train.images] == [
        "train/images/bad.png",
        "train/images/good.png",
    ]
    assert [f.code for f in train.findings] == ["yolo.not_an_image"]
    assert "desktop.ini" in train.findings[0].message
    val = split_files(data, "val")
    assert [data.display(p) for p in val.images] == ["val/images/v1.png"]
    (missing,) = val.findings
    assert missing.code == "yolo.image_missing" and missing.source == "val.txt:2"


@pytest.mark.parametrize(
    ("path_value", "where"),
    [
        ("", "yaml"),  # empty: this file's folder
        ("ds", "yaml"),  # relative: under this file's folder first
        ("ABS", "abs"),
    ],
)
def test_dataset_root(tmp_path: Path, path_value: str, where: str) -> None:
    ds = tmp_path / "ds"
    target = ds if path_value else tmp_path
    make_dataset(target, {"a": "0 0.5 0.5 0.2 0.2 0.5 0.5 2 0.5 0.5 2 0.5 0.5 2\n"})
    value = str(ds) if path_value == "ABS" else path_value
    yaml_file = tmp_path / "data.yaml"
    yaml_file.write_text(
        f"path: '{value}'\ntrain: images/train\nval: images/train\nkpt_shape: [3, 3]\nnames: [a]\n"
    )
    data = load_data_file(yaml_file)
    assert data.root == target
    assert len(split_files(data, "train").images) == 1


def test_relative_path_falls_back_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    make_dataset(tmp_path / "work" / "ds", {"a": None})
    (tmp_path / "cfg").mkdir()
    yaml_file = tmp_path / "cfg" / "data.yaml"
    yaml_file.write_text(
        "path: ds\ntrain: images/train\nval: images/train\nkpt_shape: [3, 3]\nnames: [a]\n"
    )
    monkeypatch.chdir(tmp_path / "work")
    data = load_data_file(yaml_file)
    assert data.root == tmp_path / "work" / "ds" and not data.findings


def test_names_forms_and_nc(tmp_path: Path) -> None:
    f = tmp_path / "d.yaml"
    f.write_text("kpt_shape: [2, 3]\nnames: {'1': b, '0': a}\ntrain: x\n")
    assert load_data_file(f).names == {0: "a", 1: "b"}
    f.write_text("kpt_shape: [2, 3]\nnc: 2\ntrain: x\n")
    data = load_data_file(f)
    assert data.names == {0: "class_0", 1: "class_1"} and _codes(data) == ["yolo.names"]
    f.write_text("kpt_shape: [2, 3]\nnames: {0: a, 2: c}\ntrain: x\n")
    data = load_data_file(f)
    assert data.names == {} and "indices 0..1" in data.findings[0].message


@pytest.mark.parametrize(
    ("kpt_names", "expected", "code"),
    [
        ("kpt_names: {0: [p, q]}", {0: ["p", "q"]}, None),
        ("kpt_names: [[p, q]]", {0: ["p", "q"]}, None),
        ("kpt_names: [p, q]", {0: ["p", "q"]}, None),  # one flat list: every class
        ("kpt_names: {0: [p]}", {}, "yolo.kpt_names"),  # wrong length: not used
        ("kpt_names: {0: [p, p]}", {}, "yolo.kpt_names"),  # names twice
        ("keypoints: [p, q]", {0: ["p", "q"]}, "yolo.kpt_names"),  # the non-standard key, noted
    ],
)
def test_kpt_names_forms(tmp_path: Path, kpt_names: str, expected: dict, code: str | None) -> None:
    f = tmp_path / "d.yaml"
    f.write_text(f"kpt_shape: [2, 3]\nnames: [a]\ntrain: x\n{kpt_names}\n")
    data = load_data_file(f)
    assert data.kpt_names == expected
    assert _codes(data) == ([code] if code else [])


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("names: [a]\ntrain: x\n", "yolo.kpt_shape"),
        ("kpt_shape: [3]\nnames: [a]\n", "yolo.kpt_shape"),
        ("kpt_shape: [3, 4]\nnames: [a]\n", "yolo.kpt_shape"),
        ("kpt_shape: [0, 3]\nnames: [a]\n", "yolo.kpt_shape"),
        ("kpt_shape: [3, 3]\n", "yolo.names"),
        ("kpt_shape: [3, 3]\nnames: [a]\nflip_idx: 0 1 2\n", "yolo.flip_idx"),
        ("kpt_shape: [3, 3]\nnames: [a]\ntrain: 3\n", "yolo.split"),
        ("kpt_shape: [3, 3]\nnames: [a]\npath: nowhere\n", "yolo.path"),
    ],
)
def test_bad_fields_are_located_findings(tmp_path: Path, text: str, code: str) -> None:
    f = tmp_path / "data.yaml"
    f.write_text(text)
    data = load_data_file(f)
    assert code in _codes(data)
    finding = next(x for x in data.findings if x.code == code)
    assert finding.source and finding.source.startswith(str(f))


def test_not_yaml_or_not_a_mapping_raises_located(tmp_path: Path) -> None:
    f = tmp_path / "data.yaml"
    f.write_text("kpt_shape: [3, 3\nnames: [a]\n")
    with pytest.raises(DataError) as exc:
        load_data_file(f)
    assert exc.value.message.startswith(f"{f}:") and "not valid YAML" in exc.value.message
    f.write_text("- a\n- b\n")
    with pytest.raises(DataError, match="expected a YAML mapping"):
        load_data_file(f)
    with pytest.raises(UsageError):
        load_data_file(tmp_path / "missing.yaml")


def test_a_missing_split_folder_is_located(tmp_path: Path) -> None:
    f = tmp_path / "data.yaml"
    f.write_text("kpt_shape: [3, 3]\nnames: [a]\ntrain: images/train\n")
    data = load_data_file(f)
    (finding,) = split_files(data, "train").findings
    assert finding.code == "yolo.split_missing" and finding.source == f"{f}:3"


def test_looks_like_data_file(tmp_path: Path) -> None:
    assert looks_like_data_file(YOLO / "hands" / "data.yaml")
    f = tmp_path / "x.txt"
    for text, expected in [
        ('{"images": []}', False),  # JSON is COCO's business
        ("names: [a]\ntrain: images\n", True),
        ("a: 1\n", False),
        ("[: not yaml", False),
    ]:
        f.write_text(text)
        assert looks_like_data_file(f) is expected, text
    f = tmp_path / "data.yaml"
    f.write_text("kpt_shape: [3, 3\n")  # by its name: its YAML error is then what the user hears
    assert looks_like_data_file(f)
    f.write_text('{"images": []}')
    assert not looks_like_data_file(f)
