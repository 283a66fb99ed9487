"""Image files on disk: sizes read from headers (extensions can lie), paths kept inside a root,
and the pixel-count limit checked before anything is decoded.

PNG and JPEG headers are read here from the first bytes of the file (a few microseconds); anything
else, and any PNG or JPEG this reader is not sure about, goes to Pillow, so a size is returned only
when Pillow would return the same one and every error is Pillow's own.
"""

from __future__ import annotations

import os
import posixpath
import re
import zlib
from pathlib import Path
from typing import Any, Literal

from .errors import UsageError

#: the environment variable that overrides :data:`DEFAULT_MAX_IMAGE_PIXELS`
MAX_PIXELS_ENV = "KPCONV_MAX_IMAGE_PIXELS"
#: Pillow's own ``DecompressionBombError`` threshold (2 × ``Image.MAX_IMAGE_PIXELS``): about
#: 537 MB as 8-bit RGB, and several times that while a 16-bit or alpha image is converted
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970


def pil() -> Any:
    """PIL.Image, imported on first use (commands that read no image never pay for it)."""
    from PIL import Image

    # kpconv checks the pixel count itself (check_pixel_limit), before decoding, with a located
    # message; Pillow's own check would raise at open time, where only the header is read.
    Image.MAX_IMAGE_PIXELS = None
    return Image


class ImageReadError(Exception):
    """An image file exists but cannot be read or identified."""


class ImageTooLargeError(ImageReadError):
    """The header declares more pixels than :func:`max_image_pixels`; the image is not decoded."""

    def __init__(self, path: Path | str, width: int, height: int, limit: int) -> None:
        self.width, self.height, self.limit = width, height, limit
        self.reason = (
            f"{width}x{height} = {width * height:,} pixels, more than the limit of {limit:,} "
            f"({MAX_PIXELS_ENV}); not decoded"
        )
        super().__init__(f"{path}: {self.reason}")


def max_image_pixels() -> int:
    """The largest pixel count kpconv decodes: ``$KPCONV_MAX_IMAGE_PIXELS``, else Pillow's threshold."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(
            f"{MAX_PIXELS_ENV}={raw!r}: expected a positive whole number of pixels "
            f"(default {DEFAULT_MAX_IMAGE_PIXELS})"
        )
    return value


def read_image_size(path: Path | str, *, max_pixels: int | None = None) -> tuple[int, int]:
    """(width, height) from the file header, whatever the extension says.

    Raises FileNotFoundError when missing, :class:`ImageReadError` when unreadable, and with
    ``max_pixels`` :class:`ImageTooLargeError` when the header declares more pixels than that.
    """
    width, height, _ = read_image_header(path, max_pixels=max_pixels)
    return width, height


def read_image_header(path: Path | str, *, max_pixels: int | None = None) -> tuple[int, int, int]:
    """(width, height, EXIF orientation) of the stored pixels; orientation 1 when none is given.

    The orientation is read for JPEG (and MPO) files only, as Pillow's ``getexif`` and the
    tools that honour it (LabelMe, Ultralytics' ``exif_size``, OpenCV's ``imread``) read it;
    2-8 mean a viewer shows the image mirrored or rotated (5-8: width and height swapped).
    Errors as :func:`read_image_size`.
    """
    header = _header_size(path)
    if header is None:
        header = _pillow_header(path)
    width, height, _ = header
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(path, width, height, max_pixels)
    return header


def check_pixel_limit(path: Path | str) -> None:
    """Raise :class:`ImageTooLargeError` when the header declares more than :func:`max_image_pixels`.

    Call before decoding. Any other problem (missing, unreadable) is left to the decoder, which
    says what it is in its own words.
    """
    try:
        read_image_size(path, max_pixels=max_image_pixels())
    except ImageTooLargeError:
        raise
    except (OSError, ImageReadError, ValueError):
        pass


def _pillow_header(path: Path | str) -> tuple[int, int, int]:
    image = pil()
    try:
        with image.open(path) as im:
            orientation = 1
            if im.format in ("JPEG", "MPO") and "exif" in im.info:
                orientation = _orientation_value(im.getexif().get(_ORIENTATION_TAG, 1))
            return int(im.width), int(im.height), orientation
    except FileNotFoundError:
        raise
    except (image.UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageReadError(f"{path}: cannot read image: {exc}") from None


# -- PNG and JPEG headers ----------------------------------------------------------------------
# Each reader returns the size only where Pillow's opener accepts the file with that size, and
# None (Pillow decides, with its own message) for anything unusual: a broken checksum, a chunk or
# marker whose content Pillow interprets and might refuse, junk between markers, a truncated file.

_FIRST_READ = 4096
#: longer chunks and segments, and headers (all that precedes the image data) longer than
#: _MAX_HEADER, are rare: left to Pillow
_MAX_SEGMENT = 1 << 20
_MAX_HEADER = 4 << 20

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: (bit depth, colour type) → the bytes Pillow requires of a tRNS chunk (2 grey, 6 RGB, else any);
#: the keys are the combinations Pillow can open
_PNG_TRNS_MIN = {
    (1, 0): 2, (2, 0): 2, (4, 0): 2, (8, 0): 2, (16, 0): 2, (8, 2): 6, (16, 2): 6,
    (1, 3): 0, (2, 3): 0, (4, 3): 0, (8, 3): 0, (8, 4): 0, (16, 4): 0, (8, 6): 0, (16, 6): 0,
}  # fmt: skip
#: chunks Pillow reads before IDAT and the length below which it refuses them
_PNG_MIN_LENGTH = {b"PLTE": 0, b"tEXt": 0, b"gAMA": 4, b"cHRM": 32, b"sRGB": 1, b"pHYs": 9}
#: chunks whose content Pillow parses in ways this reader does not repeat (compressed text, ICC
#: profiles, animation, EXIF, an IHDR again or IEND before the data)
_PNG_PILLOW_ONLY = {b"IHDR", b"IEND", b"iCCP", b"zTXt", b"iTXt", b"eXIf", b"acTL", b"fcTL", b"fdAT"}
_CHUNK_TYPE = re.compile(rb"\w\w\w\w")

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xDE}
#: markers without a length field (Pillow reads the next marker straight after them)
_JPEG_STANDALONE = {0xC8, *range(0xD0, 0xDA), *range(0xF0, 0xFE)}
#: APPn payloads Pillow parses further (JFIF and Adobe need 7 bytes; Photoshop and MPF are left
#: to Pillow)
_JPEG_APP_CHECKS = ((0xE0, b"JFIF"), (0xEE, b"Adobe"))
_JPEG_APP_PILLOW_ONLY = ((0xED, b"Photoshop 3.0\x00"), (0xE2, b"MPF\x00"))


class _Window:
    """Bytes of an open file by offset, read a few KiB at a time (pread: no seeks to track)."""

    __slots__ = ("fd", "buf", "start")

    def __init__(self, fd: int, head: bytes) -> None:
        self.fd, self.buf, self.start = fd, head, 0

    def at(self, pos: int, n: int) -> bytes:
        """``n`` bytes from ``pos`` (fewer at the end of the file)."""
        off = pos - self.start
        if off < 0 or off + n > len(self.buf):
            self.buf, self.start, off = os.pread(self.fd, max(n, _FIRST_READ), pos), pos, 0
        return self.buf[off : off + n]


def _header_size(path: Path | str) -> tuple[int, int, int] | None:
    """PNG or JPEG (width, height, orientation) from the first bytes; None when Pillow should decide."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except (OSError, ValueError):
        return None  # Pillow raises the same error, worded as before
    try:
        head = os.read(fd, _FIRST_READ)
        if head.startswith(_PNG_SIGNATURE):
            size = _png_size(_Window(fd, head))
            return None if size is None else (*size, 1)
        if head.startswith(b"\xff\xd8\xff"):
            return _jpeg_size(_Window(fd, head))
        return None
    except OSError:
        return None
    finally:
        os.close(fd)


def _png_size(f: _Window) -> tuple[int, int] | None:
    first = f.at(8, 8)
    if len(first) < 8 or first[4:] != b"IHDR":
        return None
    length = int.from_bytes(first[:4], "big")
    if length < 13 or length > _MAX_SEGMENT:
        return None
    ihdr = f.at(16, length + 4)
    if len(ihdr) < length + 4 or zlib.crc32(ihdr[:-4], zlib.crc32(b"IHDR")) != int.from_bytes(
        ihdr[-4:], "big"
    ):
        return None
    width, height = int.from_bytes(ihdr[0:4], "big"), int.from_bytes(ihdr[4:8], "big")
    trns_min = _PNG_TRNS_MIN.get((ihdr[8], ihdr[9]))
    if trns_min is None or ihdr[11] or width <= 0 or height <= 0:
        return None
    pos = 16 + len(ihdr)
    while pos < _MAX_HEADER:
        head = f.at(pos, 8)
        if len(head) < 8 or not _CHUNK_TYPE.match(head[4:]):
            return None
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if kind == b"IDAT":
            return width, height
        minimum = trns_min if kind == b"tRNS" else _PNG_MIN_LENGTH.get(kind, 0)
        if kind in _PNG_PILLOW_ONLY or length < minimum or length > _MAX_SEGMENT:
            return None
        body = f.at(pos + 8, length + 4)
        if len(body) < length + 4 or zlib.crc32(body[:-4], zlib.crc32(kind)) != int.from_bytes(
            body[-4:], "big"
        ):
            return None
        pos += 12 + length
    return None


def _jpeg_size(f: _Window) -> tuple[int, int, int] | None:
    pos, size, orientation = 2, None, 1
    while pos < _MAX_HEADER:
        head = f.at(pos, 4)
        if len(head) < 2 or head[0] != 0xFF:
            return None  # junk between markers, or the end of the file
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker < 0xC0 or len(head) < 4:
            return None  # no marker Pillow knows, or the file ends
        n = int.from_bytes(head[2:4], "big") - 2
        if n < 0 or n > _MAX_SEGMENT:
            return None
        body = f.at(pos + 4, n)
        if len(body) < n or not _jpeg_segment_ok(marker, body):
            return None
        if marker in _JPEG_SOF:
            size = (body[3] << 8 | body[4], body[1] << 8 | body[2])
        elif marker == 0xE1 and body.startswith(b"Exif\x00\x00") and orientation == 1:
            found = _exif_orientation(body[6:])
            if found is None:
                return None  # an EXIF block this reader cannot follow: Pillow decides
            orientation = found
        elif marker == 0xDA:  # start of scan: the header ends
            return (*size, orientation) if size is not None and size[0] > 0 and size[1] > 0 else None
        pos += 4 + n
    return None


_ORIENTATION_TAG = 0x0112
#: TIFF field type -> bytes per value (BYTE, ASCII, SHORT, LONG, RATIONAL, ... DOUBLE)
_TIFF_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def _orientation_value(value: object) -> int:
    """An orientation tag's value as 1-8 (anything else: 1, no transform, as Pillow's
    ``exif_transpose`` treats it)."""
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _exif_orientation(tiff: bytes) -> int | None:
    """The orientation in IFD0 of an EXIF (TIFF) block: 1 when absent; None when the block is
    not one this reader can walk (Pillow decides then)."""
    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order: Literal["little", "big"] = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return None
    count = int.from_bytes(tiff[ifd : ifd + 2], order)
    found = 1
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) < 12:
            return None
        tag, kind = int.from_bytes(entry[:2], order), int.from_bytes(entry[2:4], order)
        n = int.from_bytes(entry[4:8], order)
        width = _TIFF_TYPE_SIZE.get(kind)
        if width is None or (n * width > 4 and int.from_bytes(entry[8:12], order) + n * width > len(tiff)):
            return None  # an entry Pillow may read differently (or refuse)
        if tag == _ORIENTATION_TAG:
            if kind != 3 or n != 1:  # one SHORT, as the standard says
                return None
            found = _orientation_value(int.from_bytes(entry[8:10], order))
    return found


def _jpeg_segment_ok(marker: int, body: bytes) -> bool:
    """Whether Pillow's handler for this segment accepts it (the checks it makes at open time)."""
    if marker in _JPEG_SOF:
        return len(body) >= 6 and body[0] == 8 and body[5] in (1, 3, 4)
    if marker == 0xDB:  # quantisation tables, each 1 + 64 or 1 + 128 bytes
        rest = body
        while rest:
            need = 65 if rest[0] < 16 else 129
            if len(rest) < need:
                return False
            rest = rest[need:]
        return True
    if any(marker == m and body.startswith(p) for m, p in _JPEG_APP_PILLOW_ONLY):
        return False
    return not any(
        marker == m and body.startswith(p) and len(body) < 7 for m, p in _JPEG_APP_CHECKS
    )


# -- paths inside a root -----------------------------------------------------------------------
class ImagesRoot:
    """An images folder, resolved once; :meth:`locate` keeps each file name inside it.

    The answer is ``Path(root / file_name).resolve()`` checked to lie inside ``root.resolve()``,
    symlinks followed, computed with string operations: each sub-folder is resolved once, and a
    file is resolved on its own only when it is itself a symlink or its name holds ``.``/``..``.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.real = os.path.realpath(root)
        self._prefix = self.real if self.real.endswith("/") else self.real + "/"
        self._dirs: dict[str, str] = {"": self._prefix}

    def _inside(self, real: str) -> bool:
        return real == self.real or real.startswith(self._prefix)

    def locate(self, file_name: str) -> str | None:
        """The real path of ``root/file_name``; None when it leaves the root (``../``, absolute, symlink)."""
        if file_name.startswith("/"):
            return None
        if "\x00" in file_name:  # no such file can exist: decided by the text alone
            joined = posixpath.normpath(self._prefix + file_name)
            return joined if self._inside(joined) else None
        folder, _, base = file_name.rpartition("/")
        if (
            base in ("", ".", "..")
            or "/./" in f"/{folder}/"
            or "/../" in f"/{folder}/"
            or "//" in folder
        ):
            real = os.path.realpath(self._prefix + file_name)
            return real if self._inside(real) else None
        prefix = self._dirs.get(folder)
        if prefix is None:
            resolved = os.path.realpath(self._prefix + folder)
            prefix = self._dirs[folder] = resolved if resolved.endswith("/") else resolved + "/"
        real = prefix + base
        if not self._inside(prefix) or os.path.islink(real):
            real = os.path.realpath(real)
        return real if self._inside(real) else None


def resolve_inside(root: Path, file_name: str) -> Path | None:
    """``root / file_name`` if it stays inside ``root`` (no ``../`` escape, no absolute path)."""
    found = ImagesRoot(root).locate(file_name)
    return None if found is None else Path(found)
