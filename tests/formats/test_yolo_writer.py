"""COCO → YOLO pose: label text, data.yaml, the refusals, splits, and writing without half-states."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from kpconv.errors import UsageError
from kpconv.formats.yolo import WriteOptions, load_data_file, plan, write
from kpconv.formats.yolo.writer import data_yaml_text, dest_name, format_lines
from kpconv.spec import spec_from_mapping

KPS = ["nose", "left_eye", "right_eye"]


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 100, "height": 50},
            {"id": 2, "file_name": "sub/b.png", "width": 40, "height": 40},
            {"id": 3, "file_name": "c.png", "width": 20, "height": 20},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "keypoints": [50, 10, 2, 40, 20, 1, 0, 0, 0],
             "num_keypoints": 2, "bbox": [30, 5, 40, 30], "area": 1200, "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 7, "keypoints": [10.5, 10.25, 2, 20, 20, 2, 30, 30, 2],
             "num_keypoints": 3, "bbox": [5, 5, 30, 30], "area": 900, "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 7, "keypoints": [60, 30, 2, 0, 0, 0, 0, 0, 0],
             "num_keypoints": 1, "bbox": [50, 20, 20, 20], "area": 400, "iscrowd": 0},
        ],
        "categories": [{"id": 7, "name": "face", "supercategory": "person", "keypoints": KPS, "skeleton": [[1, 2], [1, 3]]}],
    }  # fmt: skip
    doc.update(over)
    return doc


def _images(root: Path, doc: dict[str, Any]) -> Path:
    for img in doc["images"]:
        p = root / img["file_name"]
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (img["width"], img["height"]), 80).save(p)
    return root


def _codes(p) -> list[str]:
    return [f.code for f in p.findings]


def test_label_lines_as_ultralytics_reads_them() -> None:
    p = plan(_doc(), WriteOptions())
    assert p.findings == [] and p.k == 3 and p.flip_idx == [0, 2, 1]
    sp = p.splits["train"]
    assert sp.dest == ["a.png", "sub/b.png", "c.png"]
    a, b, c = (t.decode() for t in sp.labels)
    assert a.splitlines() == [
        "0 0.5 0.4 0.4 0.6 0.5 0.2 2 0.4 0.4 1 0 0 0",  # v = 0 is written 0 0 0
        "0 0.6 0.6 0.2 0.4 0.6 0.6 2 0 0 0 0 0 0",  # the second instance of the same image
    ]
    assert b == "0 0.5 0.5 0.75 0.75 0.2625 0.25625 2 0.5 0.5 2 0.75 0.75 2\n"
    assert c == ""  # an image without instances: an empty label file
    assert p.summary["splits"] == {"train": {"images": 3, "instances": 3}}


def test_format_lines_fixed_point_without_trailing_zeros() -> None:
    coords = np.array(
        [[1.0, 0.0, 0.5, 0.12345678901, 0.25, 0.75], [0.1, 1 / 3, 0.999999999999, 1e-12, 0.0, 1.0]]
    )
    text, ends = format_lines(np.array([0, 12]), coords, np.array([[2], [0]]), decimals=10)
    assert text.decode().splitlines() == [
        "0 1 0 0.5 0.123456789 0.25 0.75 2",
        "12 0.1 0.3333333333 1 0 0 1 0",
    ]
    assert ends.tolist() == [len("0 1 0 0.5 0.123456789 0.25 0.75 2\n"), len(text)]
    text, _ = format_lines(np.array([3]), coords[:1], None, decimals=15)
    assert text == b"3 1 0 0.5 0.12345678901 0.25 0.75\n"
    rng = np.random.default_rng(0)
    coords = rng.uniform(0, 1, (20_000, 6))
    many = format_lines(np.arange(20_000) % 101, coords, rng.integers(0, 3, (20_000, 1)), 10)[0]
    rows = [line.split() for line in many.decode().splitlines()]
    assert len(rows) == 20_000 and rows[101][0] == "0" and rows[100][0] == "100"
    assert all(
        abs(float(r[1 + j]) - coords[i, j]) <= 0.5e-10
        for i, r in enumerate(rows[:2000])
        for j in range(6)
    )


@pytest.mark.parametrize(
    ("file_name", "dest"),
    [
        ("a.png", "a.png"),
        ("images/a.png", "a.png"),
        ("x/images/y/a.png", "y/a.png"),
        ("./a/b.png", "a/b.png"),
    ],
)
def test_dest_name_keeps_labels_where_ultralytics_looks(file_name: str, dest: str) -> None:
    assert dest_name(file_name) == dest


def test_crowd_left_out_and_counted() -> None:
    doc = _doc()
    doc["annotations"][1]["iscrowd"] = 1
    p = plan(doc, WriteOptions())
    assert _codes(p) == ["yolo.crowd_skipped"] and p.splits["train"].labels[1] == b""


def test_points_outside_the_image_refused_or_clipped() -> None:
    doc = _doc()
    doc["annotations"][0]["keypoints"][3] = 101.0  # left_eye x beyond the 100 px image
    p = plan(doc, WriteOptions())
    (finding,) = p.findings
    assert (
        finding.code == "yolo.point_outside_image"
        and finding.pointer == "/annotations/0/keypoints/3"
    )
    assert not p.splits
    p = plan(doc, WriteOptions(clip_points=True))
    assert _codes(p) == ["yolo.points_clipped"]
    assert p.splits["train"].labels[0].decode().splitlines()[0].endswith("0.5 0.2 2 0 0 0 0 0 0")


def test_different_k_refused_unless_padded() -> None:
    doc = _doc()
    doc["categories"].append({"id": 9, "name": "dot", "keypoints": ["centre"], "skeleton": []})
    doc["annotations"].append({"id": 4, "image_id": 3, "category_id": 9, "keypoints": [5, 5, 2], "num_keypoints": 1,
                               "bbox": [1, 1, 8, 8], "area": 64, "iscrowd": 0})  # fmt: skip
    p = plan(doc, WriteOptions())
    assert _codes(p) == ["yolo.different_k"] and "face (3), dot (1)" in p.findings[0].message
    p = plan(doc, WriteOptions(pad=True))
    assert (
        p.k == 3 and p.splits["train"].labels[2] == b"1 0.25 0.25 0.4 0.4 0.25 0.25 2 0 0 0 0 0 0\n"
    )
    assert p.flip_idx is None and _codes(p) == [
        "yolo.flip_idx_unknown"
    ]  # 'centre' pairs with nothing
    spec = spec_from_mapping({"categories": [{"name": "face", "keypoints": KPS},
                                             {"name": "dot", "keypoints": ["centre"], "flip_pairs": []}]})  # fmt: skip
    p = plan(doc, WriteOptions(pad=True), spec)
    assert p.flip_idx == [0, 2, 1]  # the dot's padding maps to itself
    text = yaml.safe_load(data_yaml_text(p, ["train"], WriteOptions()))
    assert (
        "# --pad: categories padded to 3 keypoints with 0 0 0 columns: face (3), dot (1)"
        in data_yaml_text(p, ["train"], WriteOptions())
    )
    assert text["kpt_names"][1] == ["centre", "_pad1", "_pad2"]
    assert text["kpconv"]["categories"][1] == {
        "class": 1,
        "id": 9,
        "name": "dot",
        "keypoints": 1,
        "skeleton": [],
    }


def test_kpt_dims_2_refuses_points_that_are_not_labelled() -> None:
    p = plan(_doc(), WriteOptions(kpt_dims=2))
    assert _codes(p) == ["yolo.unlabelled_point_2d", "yolo.unlabelled_point_2d"]
    doc = _doc()
    doc["annotations"] = [doc["annotations"][1]]
    p = plan(doc, WriteOptions(kpt_dims=2))
    assert (
        p.findings == []
        and p.splits["train"].labels[1] == b"0 0.5 0.5 0.75 0.75 0.2625 0.25625 0.5 0.5 0.75 0.75\n"
    )


def test_flip_idx_from_names_or_spec_or_none() -> None:
    doc = _doc()
    doc["categories"][0]["keypoints"] = ["a", "b", "c"]
    p = plan(doc, WriteOptions())
    assert p.flip_idx is None and _codes(p) == ["yolo.flip_idx_unknown"]
    spec = spec_from_mapping(
        {"name": "face", "keypoints": ["a", "b", "c"], "flip_pairs": [["b", "c"]]}
    )
    assert plan(doc, WriteOptions(), spec).flip_idx == [0, 2, 1]
    symmetric = spec_from_mapping({"name": "face", "keypoints": ["a", "b", "c"], "flip_pairs": []})
    assert plan(doc, WriteOptions(), symmetric).flip_idx == [0, 1, 2]


def test_categories_needing_different_flips_get_none() -> None:
    doc = _doc()
    doc["categories"].append(
        {"id": 8, "name": "other", "keypoints": ["right_eye", "nose", "left_eye"]}
    )
    p = plan(doc, WriteOptions())
    assert p.flip_idx is None and _codes(p) == ["yolo.flip_idx_conflict"]


def test_two_images_one_label_file_is_an_error() -> None:
    doc = _doc()
    doc["images"][2]["file_name"] = "a.jpg"
    p = plan(doc, WriteOptions())
    assert "yolo.label_name_clash" in _codes(p)
    doc["images"][2]["file_name"] = "c.gif"
    assert "yolo.image_format" in _codes(plan(doc, WriteOptions()))


def test_val_fraction_is_deterministic_by_image() -> None:
    doc = _doc()
    doc["images"] += [
        {"id": i, "file_name": f"x{i}.png", "width": 20, "height": 20} for i in range(4, 20)
    ]
    a = plan(doc, WriteOptions(val_fraction=0.25, seed=3))
    b = plan(copy.deepcopy(doc), WriteOptions(val_fraction=0.25, seed=3))
    assert a.splits["val"].dest == b.splits["val"].dest and len(a.splits["val"].dest) == 5
    assert len(a.splits["train"].dest) == 14
    assert (
        plan(doc, WriteOptions(val_fraction=0.25, seed=4)).splits["val"].dest
        != a.splits["val"].dest
    )


def test_write_layout_links_and_data_yaml(tmp_path: Path) -> None:
    doc = _doc()
    images = _images(tmp_path / "src", doc)
    out = tmp_path / "out"
    report = write(doc, images, out, WriteOptions(source="faces.json"))
    assert report.ok and report.summary["written"] == str(out)
    assert os.readlink(out / "images/train/sub/b.png") == str((images / "sub/b.png").absolute())
    assert (out / "labels/train/c.txt").read_bytes() == b""
    assert sorted(p.name for p in out.iterdir()) == [
        "data.yaml",
        "images",
        "labels",
    ]  # no staging left
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert "path" not in data  # Ultralytics then takes the file's folder as the root
    assert data["train"] == "images/train" and data["val"] == "images/train"
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [0, 2, 1]
    assert data["names"] == {0: "face"} and data["kpt_names"] == {0: KPS}
    assert data["kpconv"]["categories"] == [
        {
            "class": 0,
            "id": 7,
            "name": "face",
            "supercategory": "person",
            "keypoints": 3,
            "skeleton": [[1, 2], [1, 3]],
        }
    ]
    parsed = load_data_file(out / "data.yaml")
    assert parsed.findings == []
    again = tmp_path / "again"
    write(doc, images, again, WriteOptions(source="faces.json"))
    for rel in ("data.yaml", "labels/train/a.txt", "labels/train/sub/b.txt"):
        assert (again / rel).read_bytes() == (out / rel).read_bytes()


def test_copy_and_a_second_split_into_the_same_folder(tmp_path: Path) -> None:
    doc = _doc()
    images = _images(tmp_path / "src", doc)
    out = tmp_path / "out"
    assert write(doc, images, out, WriteOptions(split="train")).ok
    assert write(doc, images, out, WriteOptions(split="val", copy=True)).ok
    assert not (out / "images/val/a.png").is_symlink() and (out / "images/train/a.png").is_symlink()
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert (data["train"], data["val"], data["kpconv"]["splits"]) == (
        "images/train",
        "images/val",
        ["train", "val"],
    )
    # writing train again replaces that split only, whole
    (out / "labels/train/stale.txt").write_text("0 0.5 0.5 0.1 0.1 0 0 0 0 0 0 0 0 0\n")
    assert write(doc, images, out, WriteOptions(split="train")).ok
    assert not (out / "labels/train/stale.txt").exists() and (out / "labels/val/a.txt").exists()


def test_refusals_write_nothing(tmp_path: Path) -> None:
    doc = _doc()
    images = _images(tmp_path / "src", doc)
    bad = copy.deepcopy(doc)
    bad["annotations"][0]["keypoints"][0] = 500
    out = tmp_path / "out"
    report = write(bad, images, out, WriteOptions())
    assert not report.ok and report.summary["written"] is None and not out.exists()
    # another dataset already there
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.yaml").write_text("train: x\nval: x\nkpt_shape: [1, 3]\nnames: [a]\n")
    with pytest.raises(UsageError, match="not written by kpconv"):
        write(doc, images, other, WriteOptions())
    assert write(doc, images, out, WriteOptions()).ok
    renamed = copy.deepcopy(doc)
    renamed["categories"][0]["name"] = "head"
    with pytest.raises(UsageError, match="describes another dataset"):
        write(renamed, images, out, WriteOptions())


def test_never_replaces_a_folder_that_holds_the_inputs(tmp_path: Path) -> None:
    doc = _doc(images=[{"id": 1, "file_name": "images/train/a.png", "width": 100, "height": 50}])
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] == 1]
    root = _images(tmp_path / "ds", doc)
    with pytest.raises(UsageError, match="holds input images"):
        write(doc, root, root, WriteOptions())
    with pytest.raises(UsageError, match="holds the input"):
        write(doc, root / "images" / "train", root, WriteOptions())
    assert (root / "images/train/a.png").is_file()
