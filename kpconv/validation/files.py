"""Checks against the image files on disk (``--images DIR``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..finding import error, pointer
from ..images import ImageReadError, read_image_size, resolve_inside
from ..progress import track
from .context import Context


def _probe(path: Path) -> tuple[int, int] | str:
    try:
        return read_image_size(path)
    except FileNotFoundError:
        return "missing"
    except ImageReadError as exc:
        return f"unreadable: {exc}"


def check_image_files(ctx: Context) -> None:
    """Each image file lies inside DIR, exists, can be read, and has the size the dataset says."""
    root = ctx.images_dir
    if root is None:
        return
    im = ctx.img
    jobs: list[tuple[int, int, Path, object, object]] = []
    for p, img_id, fn, w, h in zip(im.pos, im.id, im.file_name, im.width, im.height, strict=True):
        if not isinstance(fn, str) or not fn:
            continue
        path = resolve_inside(root, fn)
        if path is None:
            ctx.add(error("image.path_escapes", f"file_name {fn!r} points outside the images folder {str(root)!r}",
                          pointer("images", p, "file_name"), image_id=img_id))
            continue
        jobs.append((p, img_id, path, w, h))
    # Header reads are I/O bound: a few threads hide disk latency on big folders.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = pool.map(_probe, [j[2] for j in jobs])
        for (p, img_id, path, dw, dh), res in track(zip(jobs, results, strict=True), total=len(jobs),
                                                    description="reading image headers"):
            if res == "missing":
                ctx.add(error("image.file_missing", f"image file {str(path)!r} does not exist",
                              pointer("images", p, "file_name"), image_id=img_id))
            elif isinstance(res, str):
                ctx.add(error("image.file_unreadable", res, pointer("images", p, "file_name"), image_id=img_id))
            else:
                w, h = res
                try:
                    same = int(float(dw)) == w and int(float(dh)) == h  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    same = True  # a non-numeric size is reported by the image field checks
                if not same:
                    ctx.add(error("image.size_mismatch", f"dataset says {dw}x{dh}, the file is {w}x{h}",
                                  pointer("images", p), image_id=img_id))
