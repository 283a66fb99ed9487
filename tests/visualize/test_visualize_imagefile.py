"""Reading RGB, RGBA, grayscale, 16-bit and float images: 8-bit BGR of the same pixel size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from kpconv.images import ImageReadError
from kpconv.visualize import encode_image, load_image, to_bgr8


def _write(path, arr) -> None:
    assert cv2.imwrite(str(path), arr)


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.full((30, 40, 3), 100, np.uint8),  # BGR
        lambda: np.full((30, 40), 100, np.uint8),  # grayscale
        lambda: np.dstack(
            [np.full((30, 40, 3), 100, np.uint8), np.full((30, 40), 255, np.uint8)]
        ),  # BGRA
        lambda: np.arange(30 * 40, dtype=np.uint16).reshape(30, 40) * 7,  # 16-bit gray
        lambda: np.dstack(
            [np.arange(30 * 40, dtype=np.uint16).reshape(30, 40)] * 3
        ),  # 16-bit colour
    ],
    ids=["rgb", "gray", "rgba", "gray16", "rgb16"],
)
def test_png_kinds_load_as_bgr8_of_the_same_size(tmp_path, make):
    path = tmp_path / "img.png"
    _write(path, make())
    img = load_image(path)
    assert img.shape == (30, 40, 3) and img.dtype == np.uint8 and img.flags.c_contiguous


def test_16_bit_with_a_small_range_is_stretched_not_black():
    depth = np.linspace(1000, 1100, 50 * 20).reshape(20, 50).astype(np.uint16)
    out = to_bgr8(depth)
    assert out.min() == 0 and out.max() == 255


def test_transparent_pixels_show_over_grey():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 2] = 255  # red, fully transparent except one pixel
    rgba[0, 0, 3] = 255
    out = to_bgr8(rgba)
    assert tuple(out[5, 5]) == (128, 128, 128)
    assert tuple(out[0, 0]) == (0, 0, 255)


def test_gray_alpha_and_float_images(tmp_path):
    la = Image.fromarray(
        np.dstack([np.full((8, 9), 200, np.uint8), np.full((8, 9), 255, np.uint8)]), "LA"
    )
    la.save(tmp_path / "la.png")
    assert load_image(tmp_path / "la.png").shape == (8, 9, 3)
    assert to_bgr8(np.random.default_rng(0).random((8, 9), dtype=np.float32)).shape == (8, 9, 3)
    assert to_bgr8(np.full((4, 4), np.nan, np.float32)).max() == 0


def test_formats_opencv_may_lack_fall_back_to_pillow(tmp_path):
    Image.fromarray(np.full((12, 14), 3, np.uint8), "P").save(tmp_path / "a.gif")
    assert load_image(tmp_path / "a.gif").shape == (12, 14, 3)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nope.png")
    (tmp_path / "bad.jpg").write_bytes(b"this is not an image")
    with pytest.raises(ImageReadError):
        load_image(tmp_path / "bad.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError):
        load_image(tmp_path / "empty.png")


def test_encoding_is_deterministic_and_round_trips():
    img = np.random.default_rng(1).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    a, b = encode_image(img, "png"), encode_image(img, "png")
    assert a == b
    assert np.array_equal(cv2.imdecode(np.frombuffer(a, np.uint8), cv2.IMREAD_COLOR), img)
    assert encode_image(img, "jpg")[:2] == b"\xff\xd8"
    with pytest.raises(ValueError):
        encode_image(img, "bmp")
