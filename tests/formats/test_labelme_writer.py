"""kpconv.formats.labelme.writer: COCO → LabelMe 5.x JSON, and back through from-labelme."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kpconv.formats.labelme import WriteOptions, write
from kpconv.formats.labelme.writer import json_name
from tests.conftest import FIXTURES, invoke_cli, realdata_file

#: (dataset, the folder its file_name values are relative to)
DATASETS = [
    (FIXTURES / "visualize" / "dataset.json", FIXTURES / "visualize"),
    (FIXTURES / "train" / "train.json", FIXTURES / "train" / "images"),
    (FIXTURES / "crossformat" / "expected.json", None),
]


# ------------------------------------------------------------------------------ shared helpers
def spec_file(doc: dict[str, Any], path: Path) -> Path:
    """A spec file (JSON is YAML) with the dataset's categories: keypoints and skeleton by name."""
    cats = []
    for c in doc["categories"]:
        if not c.get("keypoints"):
            continue
        names = c["keypoints"]
        cats.append({"name": c["name"], "keypoints": names,
                     "skeleton": [[names[a - 1], names[b - 1]] for a, b in c.get("skeleton") or []]})  # fmt: skip
    path.write_text(json.dumps({"categories": cats}), encoding="utf-8")
    return path


def written_annotations(doc: dict[str, Any], box_only: bool = False) -> list[dict[str, Any]]:
    """The annotations a writer can carry: not crowds, with at least one labelled keypoint (or,
    with ``box_only``, a box alone: a lone rectangle, a skeleton with every element outside)."""
    return [
        a
        for a in doc["annotations"]
        if not a.get("iscrowd") and (box_only or any(v > 0 for v in a["keypoints"][2::3]))
    ]


def comparable(
    doc: dict[str, Any], annotations: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What a round trip keeps: images (name, size), categories (name, keypoints, skeleton) and
    per image the instances (category, keypoints, bbox), in a stable order."""
    cats = {c["id"]: c for c in doc["categories"]}
    names = {i["id"]: i["file_name"] for i in doc["images"]}
    anns = annotations if annotations is not None else doc["annotations"]
    rows = sorted(
        (
            (
                names[a["image_id"]],
                cats[a["category_id"]]["name"],
                [round(x, 3) for x in a["keypoints"]],
            ),
            json.dumps({"keypoints": a["keypoints"], "bbox": a["bbox"]}),
        )
        for a in anns
    )
    return {
        "images": sorted((i["file_name"], i["width"], i["height"]) for i in doc["images"]),
        "categories": sorted(
            (c["name"], c["keypoints"], sorted(map(sorted, c.get("skeleton") or [])))
            for c in doc["categories"]
            if c.get("keypoints")
        ),  # fmt: skip
        "instances": [(key[0], key[1], json.loads(rest)) for key, rest in rows],
    }


def assert_same_coco(
    before: dict[str, Any], after: dict[str, Any], annotations: list[dict[str, Any]] | None = None
) -> None:
    """Equal images, categories and instances: points and boxes to 1e-6 px, visibility exact."""
    a, b = comparable(before, annotations), comparable(after)
    assert a["images"] == b["images"]
    assert a["categories"] == b["categories"]
    assert len(a["instances"]) == len(b["instances"])
    for (fa, ca, xa), (fb, cb, xb) in zip(a["instances"], b["instances"], strict=True):
        assert (fa, ca) == (fb, cb)
        assert xa["keypoints"][2::3] == xb["keypoints"][2::3]  # visibility
        assert xa["keypoints"] == pytest.approx(xb["keypoints"], abs=1e-6)
        assert xa["bbox"] == pytest.approx(xb["bbox"], abs=1e-6)


# ------------------------------------------------------------------------------ structure
def _doc() -> dict[str, Any]:
    return {
        "images": [{"id": 1, "file_name": "sub/a.jpg", "width": 100, "height": 80},
                   {"id": 2, "file_name": "b.png", "width": 50, "height": 40}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0,
             "num_keypoints": 2, "keypoints": [15.25, 25.5, 2, 0, 0, 0, 20, 30, 1]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 10, 20, 20], "area": 400, "iscrowd": 0,
             "num_keypoints": 1, "keypoints": [55, 15, 2, 0, 0, 0, 0, 0, 0]},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"],
                        "skeleton": [[1, 2], [1, 3]], "supercategory": "person"}],
    }  # fmt: skip


def test_one_labelme_file_per_image_as_labelme_writes_it(tmp_path: Path) -> None:
    report = write(_doc(), tmp_path / "out", WriteOptions(images=tmp_path / "imgs"))
    assert report.summary == {
        "files": 2,
        "instances": 2,
        "points": 3,
        "written": str(tmp_path / "out"),
    }
    a = json.loads((tmp_path / "out" / "sub" / "a.json").read_text())
    assert list(a) == [
        "version",
        "flags",
        "shapes",
        "imagePath",
        "imageData",
        "imageHeight",
        "imageWidth",
    ]
    assert a["version"].startswith("5.") and a["flags"] == {} and a["imageData"] is None
    assert (a["imageWidth"], a["imageHeight"]) == (100, 80)
    assert a["imagePath"] == "../../imgs/sub/a.jpg"  # relative to the JSON file
    shapes = a["shapes"]
    assert [(s["shape_type"], s["label"], s["group_id"]) for s in shapes] == [
        ("rectangle", "person", 0), ("point", "nose", 0), ("point", "right_eye", 0),  # left_eye v=0: left out
        ("rectangle", "person", 1), ("point", "nose", 1),
    ]  # fmt: skip
    assert list(shapes[0]) == [
        "label",
        "points",
        "group_id",
        "description",
        "shape_type",
        "flags",
        "mask",
    ]
    assert shapes[0]["points"] == [[10, 20], [40, 60]]
    assert (
        shapes[1]["points"] == [[15.25, 25.5]]
        and shapes[1]["flags"] == {}
        and "difficult" not in shapes[1]
    )
    assert shapes[2]["flags"] == {"occluded": True} and shapes[2]["difficult"] is True  # v=1
    b = json.loads((tmp_path / "out" / "b.json").read_text())
    assert b["shapes"] == [] and b["imagePath"] == "../imgs/b.png"


def test_without_images_the_json_sits_beside_the_image(tmp_path: Path) -> None:
    write(_doc(), tmp_path)
    assert json.loads((tmp_path / "sub" / "a.json").read_text())["imagePath"] == "a.jpg"


def test_several_categories_prefix_points_only_where_no_rectangle_names_the_category(
    tmp_path: Path,
) -> None:
    doc = _doc()
    doc["categories"].append({"id": 2, "name": "dog", "keypoints": ["nose"], "skeleton": []})
    doc["annotations"].append({"id": 3, "image_id": 2, "category_id": 2, "bbox": [5, 5, 0, 0], "area": 0,
                               "iscrowd": 0, "num_keypoints": 1, "keypoints": [5, 5, 2]})  # fmt: skip
    write(doc, tmp_path)
    shapes = json.loads((tmp_path / "b.json").read_text())["shapes"]
    assert [(s["shape_type"], s["label"]) for s in shapes] == [("point", "dog.nose")]
    assert json.loads((tmp_path / "sub" / "a.json").read_text())["shapes"][1]["label"] == "nose"


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("a.jpg", "a.json"),
        ("x/y/b.c.png", "x/y/b.c.json"),
        ("./c.jpg", "c.json"),
        ("../d.jpg", None),
        ("/e.jpg", None),
    ],
)
def test_json_name(file_name: str, expected: str | None) -> None:
    assert json_name(file_name) == expected


def test_clashing_names_and_names_leaving_the_folder_refuse_everything(tmp_path: Path) -> None:
    doc = _doc()
    doc["images"].append({"id": 3, "file_name": "b.jpg", "width": 5, "height": 5})
    doc["images"].append({"id": 4, "file_name": "../x.jpg", "width": 5, "height": 5})
    report = write(doc, tmp_path / "out")
    assert {f.code for f in report.findings} == {
        "labelme.json_name_clash",
        "labelme.file_name_outside",
    }
    assert report.summary["written"] is None and not (tmp_path / "out").exists()


def test_rerun_is_byte_identical(tmp_path: Path) -> None:
    write(_doc(), tmp_path / "1")
    write(_doc(), tmp_path / "2")
    for name in ("sub/a.json", "b.json"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


# ------------------------------------------------------------------------------ round trips
def round_trip(
    dataset: Path, images: Path | None, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """COCO → to-labelme → from-labelme → COCO (with the dataset's own categories as the spec)."""
    before = json.loads(dataset.read_text())
    out = tmp_path / "labelme"
    args: list[str | Path] = [dataset, "-o", out] + (["--images", images] if images else [])
    first = invoke_cli("to-labelme", *args)
    assert first.exit_code == 0, first.stderr
    spec = spec_file(before, tmp_path / "spec.yaml")
    back = tmp_path / "back.json"
    read_args: list[str | Path] = [out, "--spec", spec, "-o", back] + (
        ["--images", images] if images else []
    )
    second = invoke_cli("from-labelme", *read_args)
    assert second.exit_code == 0, second.stderr
    return before, json.loads(back.read_text())


def validated(dataset: Path, images: Path | None, tmp_path: Path) -> Path:
    """The dataset, or its ``validate --fix`` copy when it has errors (the visualize fixture is
    flawed on purpose)."""
    fixed = tmp_path / f"fixed-{dataset.name}"
    result = invoke_cli(
        "validate", dataset, "--fix", fixed, *(["--images", images] if images else [])
    )
    assert result.exit_code in (0, 1), result.stderr
    return fixed if fixed.exists() else dataset


@pytest.mark.parametrize(("dataset", "images"), DATASETS, ids=lambda p: getattr(p, "name", ""))
def test_round_trip_gives_the_same_coco(dataset: Path, images: Path | None, tmp_path: Path) -> None:
    dataset = validated(dataset, images, tmp_path)
    before, after = round_trip(dataset, images, tmp_path)
    # a box-only annotation (num_keypoints 0) comes back from its lone rectangle
    assert_same_coco(before, after, written_annotations(before, box_only=True))
    # and once more: LabelMe → COCO → LabelMe → COCO is stable
    again = tmp_path / "again"
    again.mkdir()
    (again / "d.json").write_text(json.dumps(after))
    _, after2 = round_trip(again / "d.json", images, again)
    assert_same_coco(after, after2)


def test_round_trip_of_a_real_labelme_file(tmp_path: Path) -> None:
    source = realdata_file("kkimgaug/tests/src_labelme/json/img_dog_cat.json")
    coco = tmp_path / "coco.json"
    images = source.parent.parent / "img"
    first = invoke_cli("from-labelme", source, "--images", images, "-o", coco)
    assert first.exit_code in (0, 1), first.stderr
    doc = json.loads(coco.read_text())
    doc["annotations"] = written_annotations(doc)
    (tmp_path / "clean.json").write_text(json.dumps(doc))
    before, after = round_trip(tmp_path / "clean.json", images, tmp_path)
    assert_same_coco(before, after)
