"""Reading images of any common kind into 8-bit colour, and encoding renders.

Input may be RGB, RGBA, grayscale, grayscale+alpha, 16-bit or float; the result is always a
contiguous ``uint8`` (h, w, 3) array in OpenCV's BGR order with the file's pixel size. EXIF
orientation is *not* applied: annotation coordinates refer to the stored pixel grid, which is
what ``kpconv validate --images`` measures too.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..images import ImageReadError, check_pixel_limit

#: transparent pixels are shown over mid-grey (neither black nor white hides the points)
ALPHA_BACKGROUND = 128.0

FORMATS = ("png", "jpg")
_JPEG_QUALITY = 95


def load_image(path: Path) -> np.ndarray:
    """Decode an image file into BGR ``uint8`` of the same pixel size.

    Raises FileNotFoundError when missing, :class:`kpconv.images.ImageTooLargeError` when the
    header declares more pixels than the limit (nothing is decoded then), and
    :class:`kpconv.images.ImageReadError` when the bytes are not an image either OpenCV or Pillow
    can decode.
    """
    check_pixel_limit(path)
    data = Path(path).read_bytes()
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    except cv2.error:  # OpenCV's own size assertions, on formats kpconv reads no header of
        img = None
    if img is None:
        img = _decode_with_pillow(path)
    return to_bgr8(img)


def _decode_with_pillow(path: Path) -> np.ndarray:
    # OpenCV lacks some formats (GIF on older builds, palette TIFFs): Pillow as a fallback.
    from ..images import pil

    Image = pil()  # noqa: N806 - PIL.Image, with kpconv's decompression-bomb setting

    try:
        with Image.open(path) as im:
            if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
                im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
            arr = np.asarray(im)
    except (Image.UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: cannot read image: {exc}") from None
    if arr.ndim == 3 and arr.shape[2] in (3, 4):  # Pillow is RGB(A); the rest of kpconv is BGR
        arr = arr[:, :, [2, 1, 0, 3][: arr.shape[2]]]
    return arr


def _alpha_unit(alpha: np.ndarray) -> np.ndarray:
    if np.issubdtype(alpha.dtype, np.integer):
        return alpha.astype(np.float32) / float(np.iinfo(alpha.dtype).max)
    return np.clip(np.nan_to_num(alpha.astype(np.float32)), 0.0, 1.0)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """8-bit values: uint8 as is; anything else stretched from its min to its max.

    A stretch (not ``>> 8``) because 16-bit PNGs are often depth or thermal images that use a
    small part of the range and would otherwise render black.
    """
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    f = arr.astype(np.float64)
    finite = np.isfinite(f)
    if not finite.any():
        return np.zeros(arr.shape, np.uint8)
    lo, hi = float(f[finite].min()), float(f[finite].max())
    if hi <= lo:
        return np.full(arr.shape, 0 if hi <= 0 else 255, np.uint8)
    f = np.where(finite, f, lo)
    return np.round((f - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def to_bgr8(img: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, gray+alpha, BGR, BGRA; any dtype) as contiguous BGR ``uint8``."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(_to_uint8(img)), cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] not in (2, 3, 4):
        raise ImageReadError(f"unsupported image layout {img.shape}")
    channels = img.shape[2]
    if channels == 3:
        return np.ascontiguousarray(_to_uint8(img))
    colour, alpha = img[:, :, : channels - 1], img[:, :, channels - 1]
    colour8 = _to_uint8(colour).astype(np.float32)
    a = _alpha_unit(alpha)[:, :, None]
    out = np.round(colour8 * a + ALPHA_BACKGROUND * (1.0 - a)).astype(np.uint8)
    if channels == 2:
        return cv2.cvtColor(np.ascontiguousarray(out[:, :, 0]), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(out)


def encode_image(img: np.ndarray, fmt: str) -> bytes:
    """PNG or JPEG bytes (deterministic for the same pixels and OpenCV build)."""
    if fmt == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    elif fmt in ("jpg", "jpeg"):
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    else:
        raise ValueError(f"unknown image format {fmt!r}; expected one of {FORMATS}")
    if not ok:
        raise ValueError(f"OpenCV could not encode a {img.shape} image as {fmt}")
    return buf.tobytes()
