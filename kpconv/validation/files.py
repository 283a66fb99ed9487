"""Checks against the image files on disk (``--images DIR``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain

from ..finding import error, pointer, warning
from ..images import (
    ImageReadError,
    ImagesRoot,
    ImageTooLargeError,
    max_image_pixels,
    read_image_header,
)
from ..progress import track
from .context import Context

#: header reads per thread-pool job: a job per file would cost more than reading its header
_BATCH = 256
_THREADS = 4

Probe = tuple[int, int, int] | str | ImageTooLargeError


def _probe(path: str, limit: int) -> Probe:
    try:
        return read_image_header(path, max_pixels=limit)
    except FileNotFoundError:
        return "missing"
    except ImageTooLargeError as exc:
        return exc
    except ImageReadError as exc:
        return f"unreadable: {exc}"


def _probe_all(paths: Sequence[str], limit: int) -> Iterator[Probe]:
    """Each file's header, in order; batches on a few threads hide disk latency on big folders."""
    batches = [paths[i:i + _BATCH] for i in range(0, len(paths), _BATCH)]
    if len(batches) <= 1:
        yield from (_probe(p, limit) for p in paths)
        return
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        yield from chain.from_iterable(pool.map(lambda b: [_probe(p, limit) for p in b], batches))


def check_image_files(ctx: Context) -> None:
    """Each image file lies inside DIR, exists, can be read, is not too large to decode, and has
    the size the dataset says."""
    if ctx.images_dir is None:
        return
    root = ImagesRoot(ctx.images_dir)
    limit = max_image_pixels()
    im = ctx.img
    jobs: list[tuple[int, int, str, object, object]] = []
    for p, img_id, fn, w, h in zip(im.pos, im.id, im.file_name, im.width, im.height, strict=True):
        if not isinstance(fn, str) or not fn:
            continue
        path = root.locate(fn)
        if path is None:
            ctx.add(error("image.path_escapes", f"file_name {fn!r} points outside the images folder {str(ctx.images_dir)!r}",
                          pointer("images", p, "file_name"), image_id=img_id))
            continue
        jobs.append((p, img_id, path, w, h))
    results = _probe_all([j[2] for j in jobs], limit)
    for (p, img_id, path, dw, dh), res in track(zip(jobs, results, strict=True), total=len(jobs),
                                                description="reading image headers"):
        if isinstance(res, ImageTooLargeError):
            ctx.add(error("image.too_large", f"image file {path!r} is {res.reason}",
                          pointer("images", p, "file_name"), image_id=img_id))
            res = (res.width, res.height, 1)
        if res == "missing":
            ctx.add(error("image.file_missing", f"image file {path!r} does not exist",
                          pointer("images", p, "file_name"), image_id=img_id))
        elif isinstance(res, str):
            ctx.add(error("image.file_unreadable", res, pointer("images", p, "file_name"), image_id=img_id))
        else:
            w, h, orientation = res
            try:
                stated = (int(float(dw)), int(float(dh)))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                stated = (w, h)  # a non-numeric size is reported by the image field checks
            if stated != (w, h):
                shown = (" (the size it shows at EXIF orientation "
                         f"{orientation}: the annotations were likely made on the rotated image)"
                         if orientation >= 5 and stated == (h, w) else "")  # fmt: skip
                ctx.add(error("image.size_mismatch", f"dataset says {dw}x{dh}, the file is {w}x{h}{shown}",
                              pointer("images", p), image_id=img_id))
            elif orientation != 1:
                ctx.add(warning(
                    "image.exif_rotated",
                    f"image file {path!r} has EXIF orientation {orientation}: viewers, OpenCV's imread and "
                    f"Ultralytics show it {_ORIENTATION_WORDS[orientation]}, but these coordinates and kpconv "
                    f"train/visualize use the stored {w}x{h} pixels; check with kpconv visualize that the "
                    "keypoints line up, or rotate the pixels (PIL.ImageOps.exif_transpose) and the annotations "
                    "with them",
                    pointer("images", p), image_id=img_id,
                ))  # fmt: skip


#: what a viewer does to the stored pixels at each EXIF orientation
_ORIENTATION_WORDS = {
    2: "mirrored left-right", 3: "rotated 180°", 4: "mirrored top-bottom", 5: "transposed",
    6: "rotated 90° clockwise", 7: "transversed", 8: "rotated 90° counter-clockwise",
}  # fmt: skip
