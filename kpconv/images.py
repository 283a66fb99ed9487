"""Image files on disk: sizes read from headers (extensions can lie), paths kept inside a root."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pil() -> Any:
    """PIL.Image, imported on first use (commands that read no image never pay for it)."""
    from PIL import Image

    # Real datasets hold huge scans; reading a header is safe, decoding is the caller's choice.
    Image.MAX_IMAGE_PIXELS = None
    return Image


class ImageReadError(Exception):
    """An image file exists but cannot be read or identified."""


def read_image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header, whatever the extension says.

    Raises FileNotFoundError when missing, :class:`ImageReadError` when unreadable.
    """
    image = pil()
    try:
        with image.open(path) as im:
            return int(im.width), int(im.height)
    except FileNotFoundError:
        raise
    except (image.UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageReadError(f"{path}: cannot read image: {exc}") from None


def resolve_inside(root: Path, file_name: str) -> Path | None:
    """``root / file_name`` if it stays inside ``root`` (no ``../`` escape, no absolute path)."""
    if Path(file_name).is_absolute():
        return None
    candidate = (root / file_name).resolve()
    try:
        candidate.relative_to(root.resolve())
    except ValueError:
        return None
    return candidate
