"""COCO → YOLO → COCO over random datasets: the same points (1e-6 px), visibility, boxes (1e-3 px)
and categories.

A property test with a seeded generator (no extra dependency): each seed draws a dataset that
validates (1-3 categories of 1-6 keypoints with random ids, names, skeletons; images of 10 to
1,500 px, some in subfolders; points with 0-3 decimals, on the image border too; v = 0, 1, 2; crowd
instances; instances with no labelled point, which come back box-only), writes it with a random choice of options, reads
it back and compares image by image. The generator's edge cases are drawn on purpose, not left to
chance: every seed has a point on an image border and an image without instances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from kpconv.convert.builder import ParseResult, convert
from kpconv.formats.yolo import WriteOptions, read, write
from kpconv.validation import validate

SEEDS = range(40)
NAMES = ["nose", "left_eye", "right_eye", "tail", "l_paw", "r_paw", "neck"]


def random_dataset(rng: np.random.Generator, root: Path) -> dict[str, Any]:
    """A COCO keypoint dataset that validates, and its image files under ``root``."""
    n_cat = int(rng.integers(1, 4))
    same_k = bool(rng.integers(0, 2))
    k0 = int(rng.integers(1, 7))
    ids = sorted(rng.choice(np.arange(1, 30), n_cat, replace=False).tolist())
    cats = []
    for c, cid in enumerate(ids):
        k = k0 if same_k else int(rng.integers(1, 7))
        kps = [
            NAMES[j] if j < len(NAMES) else f"p{j}"
            for j in rng.permutation(len(NAMES))[:k].tolist()
        ]
        skeleton = [
            [a + 1, b + 1]
            for a, b in zip(range(k - 1), range(1, k), strict=True)
            if rng.random() < 0.7
        ]
        cats.append(
            {
                "id": cid,
                "name": f"cat{c}",
                "supercategory": "thing",
                "keypoints": kps,
                "skeleton": skeleton,
            }
        )
    images, anns = [], []
    for i in range(int(rng.integers(2, 6))):
        w, h = int(rng.integers(10, 1500)), int(rng.integers(10, 900))
        name = f"{'sub/' if rng.random() < 0.3 else ''}im{i}.png"
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (w, h), 50).save(p)
        for _ in range(0 if i == 0 else int(rng.integers(0, 4))):
            cat = cats[int(rng.integers(0, n_cat))]
            k = len(cat["keypoints"])
            decimals = int(rng.integers(0, 4))
            xs = np.round(rng.uniform(0, w, k), decimals)
            ys = np.round(rng.uniform(0, h, k), decimals)
            xs[rng.random(k) < 0.15] = w  # on the border
            ys[rng.random(k) < 0.15] = 0
            v = rng.choice([0, 1, 2], k, p=[0.25, 0.15, 0.6])
            xs[v == 0], ys[v == 0] = 0, 0
            seen = v > 0
            if seen.any():
                x0, x1 = xs[seen].min(), xs[seen].max()
                y0, y1 = ys[seen].min(), ys[seen].max()
            else:
                x0, y0 = w / 4, h / 4
                x1, y1 = x0 + 2, y0 + 2
            bx0, by0 = max(0.0, float(x0) - 1), max(0.0, float(y0) - 1)
            bx1, by1 = min(float(w), float(x1) + 1), min(float(h), float(y1) + 1)
            box = [round(bx0, 3), round(by0, 3), round(bx1 - bx0, 3), round(by1 - by0, 3)]
            kps = [
                float(t) if t % 1 else int(t) for t in np.stack([xs, ys, v], 1).reshape(-1).tolist()
            ]
            anns.append({
                "id": len(anns) + 1, "image_id": i + 1, "category_id": cat["id"], "keypoints": kps,
                "num_keypoints": int(seen.sum()), "bbox": box, "area": round(box[2] * box[3], 3),
                "iscrowd": int(rng.random() < 0.08),
            })  # fmt: skip
    return {"images": images, "annotations": anns, "categories": cats}


def _back(out: Path, splits: list[str]) -> dict[str, Any]:
    """from-yolo of every split, one document (file names reduced to the original ones)."""
    parsed, spec = ParseResult(), None
    for split in splits:
        part = read(out / "data.yaml", split).subsets[""]
        parsed.extend(part)
        spec = part.spec
    conv = convert(parsed, spec)
    assert not [f for f in conv.report.errors], conv.report.errors
    return conv.document


def _by_image(
    doc: dict[str, Any], strip: bool
) -> dict[str, list[tuple[int, list[float], list[float]]]]:
    names = {
        im["id"]: im["file_name"].split("/", 2)[2] if strip else im["file_name"]
        for im in doc["images"]
    }
    cat_name = {c["id"]: c["name"] for c in doc["categories"]}
    out: dict[str, list[tuple[int, list[float], list[float]]]] = {n: [] for n in names.values()}
    for ann in doc["annotations"]:
        out[names[ann["image_id"]]].append(
            (cat_name[ann["category_id"]], ann["keypoints"], ann["bbox"])
        )
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_round_trip(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    images = tmp_path / "src"
    doc = random_dataset(rng, images)
    assert validate(doc, images=images).errors == []
    ks = {len(c["keypoints"]) for c in doc["categories"]}
    all_seen = all(a["num_keypoints"] == len(a["keypoints"]) // 3 for a in doc["annotations"])
    options = WriteOptions(
        pad=len(ks) > 1,
        val_fraction=0.4 if rng.random() < 0.5 else None,
        seed=seed,
        kpt_dims=2 if len(ks) == 1 and all_seen and rng.random() < 0.5 else 3,
        copy=bool(rng.random() < 0.3),
    )
    report = write(doc, images, tmp_path / "yolo", options)
    assert report.ok, report.errors
    back = _back(tmp_path / "yolo", sorted(report.summary["splits"]))

    # categories: ids, names, supercategories, keypoints, skeletons
    def cat_key(c: dict[str, Any]) -> tuple[Any, ...]:
        return c["id"], c["name"], c["supercategory"], c["keypoints"], c["skeleton"]

    assert [cat_key(c) for c in back["categories"]] == [cat_key(c) for c in doc["categories"]]
    # every image, its instances in order (crowds left out; an instance without a labelled point
    # comes back as a box-only annotation, num_keypoints 0)
    want, got = _by_image(doc, strip=False), _by_image(back, strip=True)
    kept = {a["id"] for a in doc["annotations"] if not a["iscrowd"]}
    want = {n: [r for r, a in zip(rows, [x for x in doc["annotations"] if _name(doc, x) == n], strict=True)
                if a["id"] in kept] for n, rows in want.items()}  # fmt: skip
    # two instances that write the same line (box-only ones with one box) are one line to YOLO,
    # which drops the repeat (yolo.duplicate_line)
    want = {n: [r for i, r in enumerate(rows) if r not in rows[:i]] for n, rows in want.items()}
    assert got.keys() == want.keys()
    for name, rows in want.items():
        assert len(got[name]) == len(rows), name
        for (cat_a, kps_a, box_a), (cat_b, kps_b, box_b) in zip(rows, got[name], strict=True):
            assert cat_a == cat_b
            a, b = (
                np.array(kps_a, dtype=float).reshape(-1, 3),
                np.array(kps_b, dtype=float).reshape(-1, 3),
            )
            assert (
                a[:, 2] == b[:, 2]
            ).all() or options.kpt_dims == 2  # [K, 2] says only "labelled"
            assert ((a[:, 2] > 0) == (b[:, 2] > 0)).all()
            assert np.abs(a[:, :2] - b[:, :2]).max() <= 1e-6
            assert np.abs(np.array(box_a) - np.array(box_b)).max() <= 1e-3


def _name(doc: dict[str, Any], ann: dict[str, Any]) -> str:
    return next(im["file_name"] for im in doc["images"] if im["id"] == ann["image_id"])


@pytest.mark.parametrize("width", [9_999, 12_345])
def test_six_decimals_come_back_exactly_on_wide_images(tmp_path: Path, width: int) -> None:
    """The worst case of the 1e-6 px promise: the widest image of 10 decimals (and one of 15)."""
    rng = np.random.default_rng(width)
    images = tmp_path / "src"
    images.mkdir()
    Image.new("L", (width, 12), 0).save(images / "wide.png")
    xs = np.round(rng.uniform(0, width, 200), 6).tolist()
    ys = np.round(rng.uniform(0, 12, 200), 6).tolist()
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "keypoints": [x, y, 2], "num_keypoints": 1,
         "bbox": [max(0.0, x - 1), 0, 2, 12], "area": 24, "iscrowd": 0}
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]  # fmt: skip
    doc = {
        "images": [{"id": 1, "file_name": "wide.png", "width": width, "height": 12}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "dot", "keypoints": ["centre"], "skeleton": []}],
    }
    assert write(doc, images, tmp_path / "yolo", WriteOptions()).ok
    back = _back(tmp_path / "yolo", ["train"])
    assert [a["keypoints"][:2] for a in back["annotations"]] == [
        [x, y] for x, y in zip(xs, ys, strict=True)
    ]
