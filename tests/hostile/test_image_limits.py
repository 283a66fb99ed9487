"""Pixel-count limit: a tiny PNG that declares 100000×100000 pixels is refused from its header,
located, before anything decodes it (issue 14), in ``validate --images``, ``visualize``, ``train``
and ``predict``; the other images of a visualize or predict run are still drawn or predicted.

Each command runs in a fresh process under an address-space limit far below the 30 GB a decode
of the bomb would take (2 GB; 6 GB where torch is imported, which maps about 4 GB by itself).
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from kpconv.images import DEFAULT_MAX_IMAGE_PIXELS, MAX_PIXELS_ENV, pil, read_image_size
from tests.conftest import invoke_cli
from tests.hostile.support import run_limited

BOMB = (100_000, 100_000)
TORCH_MEMORY = 6 << 30


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width``×``height`` RGB pixels; its data is a few rows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * min(width, 64)) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")
    )


def _dataset(tmp_path: Path) -> tuple[Path, Path]:
    """``data.json`` and ``images/`` with bomb.png (image 1) between two real 32×24 PNGs."""
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    (images / "bomb.png").write_bytes(bomb_png(*BOMB))
    for name in ("a.png", "b.png"):
        Image.new("RGB", (32, 24), (40, 90, 140)).save(images / name)
    doc: dict[str, Any] = {
        "images": [
            {"id": 1, "file_name": "bomb.png", "width": BOMB[0], "height": BOMB[1]},
            {"id": 2, "file_name": "a.png", "width": 32, "height": 24},
            {"id": 3, "file_name": "b.png", "width": 32, "height": 24},
        ],
        "annotations": [
            {"id": i, "image_id": i, "category_id": 1, "iscrowd": 0, "keypoints": [10, 8, 2, 20, 12, 2],
             "num_keypoints": 2, "bbox": [5, 4, 20, 15], "area": 300.0}
            for i in (1, 2, 3)
        ],
        "categories": [{"id": 1, "name": "thing", "keypoints": ["head", "tail"], "skeleton": [[1, 2]]}],
    }  # fmt: skip
    path = tmp_path / "data.json"
    path.write_text(json.dumps(doc))
    return path, images


def test_the_bomb_is_small_and_pillow_sees_its_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(*BOMB))
    assert path.stat().st_size < 400
    with pil().open(path) as im:  # Pillow with its own bomb check off, as kpconv opens files
        assert im.size == BOMB
    assert read_image_size(path) == BOMB


def test_validate_images_refuses_it_located(tmp_path: Path) -> None:
    data, images = _dataset(tmp_path)
    res = run_limited("validate", data, "--images", images, "--format", "json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    found = [(i["code"], i["pointer"]) for i in report["issues"] if i["code"].startswith("image.")]
    assert found == [("image.too_large", "/images/0/file_name")]
    (issue,) = [i for i in report["issues"] if i["code"] == "image.too_large"]
    assert issue["severity"] == "error" and issue["image_id"] == 1
    assert issue["message"] == (
        f"image file {str((images / 'bomb.png').resolve())!r} is 100000x100000 = 10,000,000,000 pixels, "
        f"more than the limit of {DEFAULT_MAX_IMAGE_PIXELS:,} ({MAX_PIXELS_ENV}); not decoded"
    )


def test_the_limit_is_overridable_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, images = _dataset(tmp_path)
    monkeypatch.setenv(MAX_PIXELS_ENV, str(10**10))
    assert run_limited("validate", data, "--images", images, cwd=tmp_path).returncode == 0
    monkeypatch.setenv(
        MAX_PIXELS_ENV, "700"
    )  # 32×24 = 768 pixels: the small images are refused too
    res = run_limited("validate", data, "--images", images, "--format", "json", cwd=tmp_path)
    codes = [i["code"] for i in json.loads(res.stdout)["issues"]]
    assert res.returncode == 1 and codes.count("image.too_large") == 3
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    res = run_limited("validate", data, "--images", images, cwd=tmp_path)
    assert res.returncode == 2
    assert f"{MAX_PIXELS_ENV}='lots': expected a positive whole number of pixels" in res.stderr


def test_visualize_refuses_that_image_and_renders_the_others(tmp_path: Path) -> None:
    data, images = _dataset(tmp_path)
    out = tmp_path / "vis"
    res = run_limited("visualize", data, "--images", images, "-o", out, "--grid", "3", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "visualize.image_too_large" in res.stderr and "100000x100000" in res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert sorted(p.name for p in (out / "images").iterdir()) == ["a.png", "b.png"]
    assert "rendered 2 of 3 image(s)" in res.stderr


def test_train_is_refused_by_the_validation_gate(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data, images = _dataset(tmp_path)
    res = run_limited(
        "train",
        data,
        "--images",
        images,
        "-o",
        tmp_path / "run",
        "--device",
        "cpu",
        "--max-steps",
        "1",
        memory=TORCH_MEMORY,
        cwd=tmp_path,
        timeout=300,
    )
    assert res.returncode == 1, res.stderr
    assert "image.too_large" in res.stderr and "100000x100000" in res.stderr
    assert "MemoryError" not in res.stderr and "internal error" not in res.stderr
    assert not (tmp_path / "run" / "last.pt").exists()


@pytest.mark.slow
@pytest.mark.train
def test_predict_leaves_that_image_out_and_predicts_the_others(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tests.train.conftest import TrainFixture

    tf = TrainFixture()
    run = tmp_path / "run"
    res = invoke_cli(
        "train",
        tf.train_json,
        "--images",
        tf.images,
        "-o",
        run,
        "--spec",
        tf.spec,
        "--max-steps",
        "1",
        *tf.tiny,
    )
    assert res.exit_code == 0, res.stderr
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "bomb.png").write_bytes(bomb_png(*BOMB))
    for name in ("c00.png", "c01.png"):
        shutil.copy(tf.images / name, inputs / name)
    out = tmp_path / "results.json"
    res2 = run_limited(
        "predict",
        run / "last.pt",
        inputs,
        "-o",
        out,
        "--device",
        "cpu",
        "--threads",
        "2",
        "--score-threshold",
        "0",
        "--render",
        tmp_path / "drawn",
        "--render-threshold",
        "0",
        memory=TORCH_MEMORY,
        cwd=tmp_path,
        timeout=300,
    )
    assert res2.returncode == 1, res2.stderr  # a data problem, the other images still predicted
    assert f"predict.image_too_large: image {inputs / 'bomb.png'} is 100000x100000" in res2.stderr
    assert "on 2 image(s)" in res2.stderr
    names = {r["file_name"] for r in json.loads(out.read_text())}
    assert names <= {str(inputs / "c00.png"), str(inputs / "c01.png")}
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == ["c00.png", "c01.png"]


def test_the_training_loader_refuses_it_too(tmp_path: Path) -> None:
    """Past the gate (the file replaced after validation) the loader refuses it, not decodes it."""
    pytest.importorskip("torch")
    import numpy as np

    from kpconv.errors import DataError
    from kpconv.train.data import Sample
    from kpconv.train.loader import KeypointDataset

    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(*BOMB))
    sample = Sample(
        1,
        "bomb.png",
        path,
        BOMB[0],
        BOMB[1],
        np.zeros((0, 4)),
        np.zeros(0, np.int64),
        np.zeros((0, 2, 3)),
        (),
        0,
    )
    with pytest.raises(
        DataError, match="100000x100000 = 10,000,000,000 pixels, more than the limit"
    ):
        KeypointDataset([sample])[0]
