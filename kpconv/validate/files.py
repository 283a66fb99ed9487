"""Checks against the image files on disk (``--images DIR``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..finding import error, pointer
from ..images import ImageReadError, read_image_size, resolve_inside
from ..progress import track
from .context import Context, is_int


def _probe(path: Path) -> tuple[int, int] | str:
    try:
        return read_image_size(path)
    except FileNotFoundError:
        return "missing"
    except ImageReadError as exc:
        return f"unreadable: {exc}"


def check_image_files(ctx: Context) -> None:
    """Each image file exists inside DIR, can be read, and has the size the dataset says."""
    root = ctx.images_dir
    if root is None:
        return
    jobs: list[tuple[int, dict, Path]] = []
    for i, img in enumerate(ctx.images):
        if type(img) is not dict or not isinstance(img.get("file_name"), str) or not img["file_name"]:
            continue
        img_id = img.get("id") if is_int(img.get("id")) else None
        path = resolve_inside(root, img["file_name"])
        if path is None:
            ctx.add(error("image.path_escapes",
                          f"file_name {img['file_name']!r} points outside the images folder {str(root)!r}",
                          pointer("images", i, "file_name"), image_id=img_id))
            continue
        jobs.append((i, img, path))
    # Header reads are I/O bound: a few threads hide disk latency on big folders.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = pool.map(_probe, [p for _, _, p in jobs])
        for (i, img, path), res in track(zip(jobs, results, strict=True), total=len(jobs), description="images"):
            img_id = img.get("id") if is_int(img.get("id")) else None
            if res == "missing":
                ctx.add(error("image.file_missing", f"image file {str(path)!r} does not exist",
                              pointer("images", i, "file_name"), image_id=img_id))
            elif isinstance(res, str):
                ctx.add(error("image.file_unreadable", res, pointer("images", i, "file_name"), image_id=img_id))
            else:
                w, h = res
                dw, dh = img.get("width"), img.get("height")
                try:
                    same = int(float(dw)) == w and int(float(dh)) == h  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    same = True  # a non-numeric size is reported by check_image_fields
                if not same:
                    ctx.add(error("image.size_mismatch",
                                  f"dataset says {dw}x{dh}, the file {img['file_name']!r} is {w}x{h}",
                                  pointer("images", i), image_id=img_id))
