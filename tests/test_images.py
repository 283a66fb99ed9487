"""kpconv.images: header sizes (PNG and JPEG read here, the rest by Pillow), the pixel limit, and
file names kept inside an images folder."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from kpconv import images
from kpconv.errors import UsageError
from kpconv.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    MAX_PIXELS_ENV,
    ImageReadError,
    ImagesRoot,
    ImageTooLargeError,
    max_image_pixels,
    read_image_header,
    read_image_size,
    resolve_inside,
)


def _encoded(fmt: str, mode: str, size: tuple[int, int] = (37, 23), **save: object) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(7)
    im = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def _exif(orientation: int = 6) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "kpconv"
    exif[0x0112] = orientation  # the stored size is still what the size is
    return exif.tobytes()


def _exif_big_endian(orientation: int) -> bytes:
    """An EXIF block in Motorola byte order ("MM"), as many cameras write it."""
    entries = [(0x010F, 2, 7, b"kpconv\0"), (0x0112, 3, 1, orientation.to_bytes(2, "big") + b"\0\0")]
    ifd = len(entries).to_bytes(2, "big")
    extra = b""
    data_at = 8 + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in entries:
        if len(value) > 4:
            ifd += tag.to_bytes(2, "big") + kind.to_bytes(2, "big") + count.to_bytes(4, "big")
            ifd += (data_at + len(extra)).to_bytes(4, "big")
            extra += value
        else:
            ifd += tag.to_bytes(2, "big") + kind.to_bytes(2, "big") + count.to_bytes(4, "big") + value
    return b"Exif\0\0" + b"MM\0*" + (8).to_bytes(4, "big") + ifd + b"\0\0\0\0" + extra


FILES = {
    "png-rgb": lambda: _encoded("PNG", "RGB"),
    "png-palette-transparent": lambda: _encoded("PNG", "P", transparency=0, optimize=True),
    "png-gray16": lambda: _encoded("PNG", "I;16"),
    "png-rgba-dpi": lambda: _encoded("PNG", "RGBA", dpi=(300, 300)),
    "png-1bit": lambda: _encoded("PNG", "1"),
    "jpeg-baseline": lambda: _encoded("JPEG", "RGB"),
    "jpeg-progressive-exif": lambda: _encoded("JPEG", "RGB", progressive=True, exif=_exif()),
    "jpeg-exif-orientation-3": lambda: _encoded("JPEG", "RGB", exif=_exif(3)),
    "jpeg-exif-orientation-8-motorola": lambda: _encoded("JPEG", "RGB", exif=_exif_big_endian(8)),
    "jpeg-gray-icc": lambda: _encoded("JPEG", "L", icc_profile=b"\0" * 3000),
    "jpeg-cmyk": lambda: _encoded("JPEG", "CMYK"),
}


def _outcome(read: object, path: Path) -> object:
    try:
        return read(path)  # type: ignore[operator]
    except ImageReadError as exc:
        return str(exc)


@pytest.mark.parametrize("name", sorted(FILES))
def test_png_and_jpeg_sizes_are_read_without_pillow(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "image.bin"  # the extension does not matter
    path.write_bytes(FILES[name]())
    expected = images._pillow_header(path)
    monkeypatch.setattr(images, "_pillow_header", lambda p: pytest.fail("Pillow was asked"))
    assert read_image_header(path) == expected
    assert read_image_size(path) == expected[:2] == (37, 23)


@pytest.mark.parametrize(
    ("name", "orientation"),
    [("jpeg-baseline", 1), ("jpeg-progressive-exif", 6), ("jpeg-exif-orientation-3", 3),
     ("jpeg-exif-orientation-8-motorola", 8), ("png-rgb", 1)],
)  # fmt: skip
def test_exif_orientation_is_read_as_pillow_reads_it(name: str, orientation: int, tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "image.bin"
    path.write_bytes(FILES[name]())
    with Image.open(path) as im:
        pillow = im.getexif().get(0x0112, 1) if im.format == "JPEG" else 1
    assert read_image_header(path) == (37, 23, orientation) and pillow == orientation


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on flipped EXIF bytes
@pytest.mark.parametrize("name", sorted(FILES))
def test_every_truncation_and_byte_flip_reads_as_pillow_reads_it(name: str, tmp_path: Path) -> None:
    """The same size, or the same error message, as Pillow alone gives: the header reader
    answers only where it is sure and leaves every broken file to Pillow."""
    data = FILES[name]()
    rng = np.random.default_rng(3)
    cases = [data[:n] for n in range(0, min(len(data), 300), 3)]
    for _ in range(150):
        flipped = bytearray(data)
        flipped[int(rng.integers(0, min(len(data), 700)))] ^= int(rng.integers(1, 256))
        cases.append(bytes(flipped))
    path = tmp_path / "case.img"
    for case in cases:
        path.write_bytes(case)
        assert _outcome(read_image_header, path) == _outcome(images._pillow_header, path), len(case)


def test_other_formats_go_to_pillow(tmp_path: Path) -> None:
    for fmt in ("GIF", "BMP", "WEBP", "TIFF"):
        path = tmp_path / f"image.{fmt.lower()}"
        path.write_bytes(_encoded(fmt, "RGB"))
        assert read_image_size(path) == (37, 23)


def test_missing_unreadable_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_image_size(tmp_path / "gone.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(
        ImageReadError, match="text.png: cannot read image: cannot identify image file"
    ):
        read_image_size(tmp_path / "text.png")
    with pytest.raises(ImageReadError, match="Is a directory"):
        read_image_size(tmp_path)


def test_pixel_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(_encoded("PNG", "RGB"))
    assert read_image_size(path, max_pixels=37 * 23) == (37, 23)
    with pytest.raises(ImageTooLargeError) as info:
        read_image_size(path, max_pixels=37 * 23 - 1)
    assert (info.value.width, info.value.height, info.value.limit) == (37, 23, 850)
    assert (
        str(info.value)
        == f"{path}: 37x23 = 851 pixels, more than the limit of 850 ({MAX_PIXELS_ENV}); not decoded"
    )
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)
    assert max_image_pixels() == DEFAULT_MAX_IMAGE_PIXELS == 178_956_970
    monkeypatch.setenv(MAX_PIXELS_ENV, " 1_000 ")
    assert max_image_pixels() == 1000
    for bad in ("0", "-5", "1e9", "many"):
        monkeypatch.setenv(MAX_PIXELS_ENV, bad)
        with pytest.raises(UsageError, match="expected a positive whole number of pixels"):
            max_image_pixels()


def test_images_root_keeps_files_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.png").write_bytes(b"x")
    (root / "in.png").write_bytes(b"x")
    os.symlink(outside, root / "away")  # a folder symlink leaving the root
    os.symlink(outside / "x.png", root / "out.png")  # a file symlink leaving the root
    os.symlink(root / "in.png", root / "sub" / "alias.png")  # a file symlink staying inside
    os.symlink(root / "in.png", outside / "back.png")  # out through a folder, back by a file
    real = str(root.resolve())
    where = ImagesRoot(root)
    expected = {
        "in.png": f"{real}/in.png",
        "sub/missing.png": f"{real}/sub/missing.png",
        "sub/./../in.png": f"{real}/in.png",
        "sub//alias.png": f"{real}/in.png",
        "sub/alias.png": f"{real}/in.png",
        "away/back.png": f"{real}/in.png",
        ".": real,
        "../outside/x.png": None,
        "sub/../../outside/x.png": None,
        "/etc/passwd": None,
        "away/x.png": None,
        "out.png": None,
        "nul\0.png": f"{real}/nul\0.png",
        "../nul\0.png": None,
    }
    for name, want in expected.items():
        assert where.locate(name) == want, name
        assert resolve_inside(root, name) == (None if want is None else Path(want)), name


def test_validate_flags_an_exif_rotated_image_and_explains_a_rotated_size(tmp_path: Path) -> None:
    """`validate --images`: stored pixels are what coordinates refer to; an EXIF-rotated JPEG is a
    warning, and a stated size that is exactly the rotated one says so in the mismatch error."""
    import orjson

    from kpconv.validation import validate_bytes

    (tmp_path / "a.jpg").write_bytes(_encoded("JPEG", "RGB", exif=_exif(6)))
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 37, "height": 23}],
        "annotations": [],
        "categories": [{"id": 1, "name": "p", "keypoints": ["a"], "skeleton": []}],
    }
    report = validate_bytes(orjson.dumps(doc), tmp_path)
    (rotated,) = [f for f in report.findings if f.code == "image.exif_rotated"]
    assert "EXIF orientation 6" in rotated.message and rotated.pointer == "/images/0"
    doc["images"][0].update(width=23, height=37)
    report = validate_bytes(orjson.dumps(doc), tmp_path)
    (mismatch,) = [f for f in report.findings if f.code == "image.size_mismatch"]
    assert "EXIF orientation 6" in mismatch.message
    assert not [f for f in report.findings if f.code == "image.exif_rotated"]
