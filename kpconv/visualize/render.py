"""Rendering a dataset: choose images, draw each in parallel, write renders, sheets and a summary.

The CLI only parses options and calls :func:`visualize`; everything here is usable from Python.
Each image is read, drawn, encoded and written by one worker thread, in a bounded window so
memory stays flat on big datasets. OpenCV releases the GIL while decoding and encoding, so those
overlap across threads; the drawing (hundreds of tiny OpenCV calls) runs one image at a time.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import numpy as np

from ..errors import DataError, KpconvError, UsageError
from ..fileio import atomic_write_bytes, read_json
from ..finding import Finding, Severity, error, info, pointer, warning
from ..images import (
    MAX_PIXELS_ENV,
    ImageReadError,
    ImageTooLargeError,
    max_image_pixels,
    resolve_inside,
)
from ..model import Annotation, Image
from ..progress import track
from .annotator import KeypointAnnotator, display_box, given_box, keypoint_array
from .document import CocoView
from .imagefile import encode_image, load_image
from .sheet import (
    CAPTION_HEIGHT,
    CELL_HEIGHT,
    CELL_WIDTH,
    GAP,
    SheetCell,
    compose_sheet,
    sheet_layout,
    thumbnail,
)
from .summary import SUMMARY_FILE, summary_svg
from .targets import parse_target

T = TypeVar("T")
R = TypeVar("R")

_DRAW_LOCK = threading.Lock()

IMAGES_SUBDIR = "images"
SHEETS_SUBDIR = "sheets"


# -- selection ---------------------------------------------------------------------------------
@dataclass
class Selection:
    """Which images and annotations to draw (all when everything is None)."""

    image_ids: set[int] | None = None
    annotation_ids: set[int] | None = None
    category: str | None = None
    limit: int | None = None


@dataclass
class Job:
    """One image to render: its entry, the annotations to draw and the findings to show."""

    position: int
    image: Image
    annotations: list[Annotation]
    findings: list[Finding] = field(default_factory=list)
    output: Path | None = None


@dataclass
class Placement:
    """Findings of a report attached to the images and annotations they are about."""

    by_image: dict[int, list[Finding]] = field(default_factory=dict)  # image position → findings
    flagged: dict[int, set[int]] = field(
        default_factory=dict
    )  # image position → annotation positions
    unplaced: list[Finding] = field(default_factory=list)
    mismatched: int = 0  # findings whose annotation_id differs from the annotation at their pointer


def load_report(path: Path) -> list[Finding]:
    """The findings of a ``kpconv validate --format json`` report (or a bare list of findings)."""
    doc = read_json(path)
    items = doc.get("issues") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise DataError(
            f"{path}: not a kpconv validate report: expected an object with an 'issues' array "
            "(write one with `kpconv validate FILE --format json > report.json`)"
        )
    out: list[Finding] = []
    for i, item in enumerate(items):
        where = f"{path}:{pointer('issues', i) if isinstance(doc, dict) else pointer(i)}"
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise DataError(
                f"{where}: expected a finding object with a 'code', found {str(item)[:60]}"
            )
        try:
            f = Finding.from_dict(item)
        except (ValueError, TypeError) as exc:
            raise DataError(f"{where}: not a valid finding: {exc}") from None
        # ids in a hand-edited report may be strings: keep only real ints
        f = dataclasses.replace(
            f,
            image_id=f.image_id if type(f.image_id) is int else None,
            annotation_id=f.annotation_id if type(f.annotation_id) is int else None,
        )
        out.append(f)
    return out


def place_findings(view: CocoView, findings: Sequence[Finding]) -> Placement:
    """Attach each finding to the image (and annotation) it is about.

    The pointer decides (``/annotations/17/...`` is the 18th annotation of the file), then the
    finding's ``annotation_id``, then ``/images/N`` or ``image_id``. Findings about the document
    or a category are not about one picture: they end in ``unplaced``.
    """
    place = Placement()
    ann_at = dict(view.annotations)
    ann_by_id: dict[int, list[int]] = {}
    for pos, entry in view.annotations:
        ann_by_id.setdefault(entry.id, []).append(pos)
    img_positions = {pos for pos, _ in view.images}
    img_by_id: dict[int, list[int]] = {}
    for pos, img in view.images:
        img_by_id.setdefault(img.id, []).append(pos)

    def put(f: Finding, image_positions: Iterable[int], ann_pos: int | None = None) -> bool:
        placed = False
        for ip in image_positions:
            place.by_image.setdefault(ip, []).append(f)
            if ann_pos is not None:
                place.flagged.setdefault(ip, set()).add(ann_pos)
            placed = True
        return placed

    for f in findings:
        target = parse_target(f.pointer)
        placed = False
        about_annotation = target.kind in ("keypoint", "bbox", "annotation")
        ann: Annotation | None = (
            ann_at.get(target.index) if about_annotation and target.index is not None else None
        )
        if ann is not None and f.annotation_id is not None and f.annotation_id != ann.id:
            # The report is from another version of the file: trust the id, not the position.
            place.mismatched += 1
            ann = None
            about_annotation = False
        if ann is not None:
            g = f if f.annotation_id == ann.id else dataclasses.replace(f, annotation_id=ann.id)
            placed = put(g, img_by_id.get(ann.image_id, []), target.index)
        elif f.annotation_id is not None and f.annotation_id in ann_by_id:
            for ap in ann_by_id[f.annotation_id]:
                placed = put(f, img_by_id.get(ann_at[ap].image_id, []), ap) or placed
        elif about_annotation and target.index is not None:
            # the entry was not drawable: show the finding as text on its image
            img_id = (
                f.image_id if f.image_id is not None else view.raw_annotation_image_id(target.index)
            )
            placed = put(f, img_by_id.get(img_id, []) if img_id is not None else [])
        elif target.kind == "image" and target.index in img_positions:
            placed = put(f, [target.index])  # type: ignore[list-item]
        elif f.image_id is not None:
            placed = put(f, img_by_id.get(f.image_id, []))
        if not placed:
            place.unplaced.append(f)
    return place


def plan_jobs(
    view: CocoView, selection: Selection, placement: Placement | None = None
) -> tuple[list[Job], list[Finding]]:
    """The images to render, in file order, and findings about the selection itself.

    With a ``placement`` (``--issues``) only images with findings are rendered, and on them only
    the flagged annotations; the selection options narrow that further.
    """
    notes: list[Finding] = []
    cats = view.category_map()
    category_ids: set[int] | None = None
    if selection.category is not None:
        category_ids = {cid for cid, c in cats.items() if c.name == selection.category}
        if not category_ids:
            names = sorted({c.name for c in cats.values()})
            raise UsageError(
                f"--category {selection.category!r}: no such category; the dataset has: {', '.join(names) or 'none'}"
            )
    known_images = {img.id for _, img in view.images}
    known_anns = {ann.id for _, ann in view.annotations}
    for ids, known, what, opt in (
        (selection.image_ids, known_images, "image", "--image-ids"),
        (selection.annotation_ids, known_anns, "annotation", "--annotation-ids"),
    ):
        for missing in sorted((ids or set()) - known):
            notes.append(
                warning(
                    "visualize.id_not_found", f"{opt}: no {what} with id {missing} in the dataset"
                )
            )

    by_image = view.annotations_by_image()
    narrowing = selection.annotation_ids is not None or category_ids is not None

    def keep(ann: Annotation) -> bool:
        if selection.annotation_ids is not None and ann.id not in selection.annotation_ids:
            return False
        return category_ids is None or ann.category_id in category_ids

    jobs: list[Job] = []
    for pos, img in view.images:
        if selection.image_ids is not None and img.id not in selection.image_ids:
            continue
        candidates = by_image.get(img.id, [])
        findings: list[Finding] = []
        if placement is not None:
            flagged = placement.flagged.get(pos, set())
            candidates = [(p, a) for p, a in candidates if p in flagged]
            findings = placement.by_image.get(pos, [])
            if not findings:
                continue
        anns = [a for _, a in candidates if keep(a)]
        if narrowing:
            kept = {a.id for a in anns}
            findings = [f for f in findings if f.annotation_id in kept]
            if not anns and not findings:
                continue
        jobs.append(Job(pos, img, anns, findings))
        if selection.limit is not None and len(jobs) >= selection.limit:
            break
    return jobs, notes


# -- output names ------------------------------------------------------------------------------
def _safe_relative(file_name: str) -> PurePosixPath:
    parts = [
        p
        for p in PurePosixPath(file_name.replace("\\", "/")).parts
        if p not in ("", ".", "..", "/")
    ]
    parts = [p.replace(":", "_") for p in parts]
    return PurePosixPath(*parts) if parts else PurePosixPath("image")


def assign_outputs(jobs: Sequence[Job], out_dir: Path, fmt: str) -> None:
    """``OUT/images/<file_name with .fmt>``; names that collide get ``.id<N>`` (then ``.<pos>``)."""
    used: set[str] = set()
    for job in jobs:
        rel = _safe_relative(job.image.file_name)
        stem = rel.with_suffix("") if rel.suffix else rel
        candidates = (
            f"{stem}.{fmt}",
            f"{stem}.id{job.image.id}.{fmt}",
            f"{stem}.id{job.image.id}.{job.position}.{fmt}",
        )
        name = next((c for c in candidates if c.lower() not in used), candidates[-1])
        used.add(name.lower())
        job.output = out_dir / IMAGES_SUBDIR / name


def image_path(images_root: Path, file_name: str) -> tuple[Path | None, bool]:
    """(path, inside root) of an image: ``root/file_name``, else ``root/<its base name>``.

    The base-name fallback finds images of exports whose ``file_name`` carries the annotation
    tool's folder (``/data/project/img1.jpg`` next to the JSON as ``img1.jpg``).
    """
    direct = resolve_inside(images_root, file_name)
    if direct is not None and direct.is_file():
        return direct, True
    base = PurePosixPath(file_name.replace("\\", "/")).name
    if base:
        fallback = resolve_inside(images_root, base)
        if fallback is not None and fallback.is_file():
            return fallback, True
    return direct, direct is not None


# -- rendering ---------------------------------------------------------------------------------
@dataclass
class Rendered:
    """What one worker did for one job."""

    job: Job
    ok: bool
    findings: list[Finding]
    thumb: np.ndarray | None = None
    derived_boxes: int = 0
    note: str = ""


def render_job(
    job: Job,
    images_root: Path,
    annotator: KeypointAnnotator,
    categories: dict[int, Any],
    fmt: str,
    want_thumb: bool,
) -> Rendered:
    """Read, draw, encode and write one image; a missing or unreadable file becomes a finding."""
    img = job.image
    where = pointer("images", job.position, "file_name")
    path, inside = image_path(images_root, img.file_name)
    if path is None or not inside:
        msg = f"image {img.file_name!r} is outside the images folder {images_root}; not read"
        return Rendered(
            job,
            False,
            [error("visualize.image_outside_root", msg, where, image_id=img.id)],
            note="outside folder",
        )
    try:
        pixels = load_image(path)
    except FileNotFoundError:
        msg = f"image file not found: {path} (file_name {img.file_name!r})"
        return Rendered(
            job,
            False,
            [error("visualize.image_missing", msg, where, image_id=img.id)],
            note="missing",
        )
    except ImageTooLargeError as exc:
        msg = f"image {path} is {exc.reason}"
        return Rendered(
            job,
            False,
            [error("visualize.image_too_large", msg, where, image_id=img.id)],
            note="too large",
        )
    except (ImageReadError, OSError) as exc:
        reason = (
            str(exc).split(": ", 1)[-1]
            if isinstance(exc, ImageReadError)
            else (exc.strerror or str(exc))
        )
        msg = f"cannot read image {path}: {reason}"
        return Rendered(
            job,
            False,
            [error("visualize.image_unreadable", msg, where, image_id=img.id)],
            note="unreadable",
        )
    found: list[Finding] = []
    h, w = pixels.shape[:2]
    if type(img.width) is int and type(img.height) is int and (img.width, img.height) != (w, h):
        found.append(
            warning(
                "visualize.image_size_mismatch",
                f"{img.file_name}: the file is {w}x{h} px but the dataset says {img.width}x{img.height}; "
                "drawn on the file's pixels",
                pointer("images", job.position),
                image_id=img.id,
            )
        )
    # One thread draws at a time. Drawing is hundreds of tiny OpenCV calls, each dropping and
    # retaking the GIL; two threads doing that convoy on the GIL and run slower than one.
    # Reading, decoding, encoding and writing (long GIL-free calls) still overlap.
    with _DRAW_LOCK:
        drawn = annotator.annotate(
            pixels, job.annotations, categories, findings=job.findings, copy=False
        )
    assert job.output is not None
    try:
        # Renders are regenerable previews: atomic (temp + rename) but not fsynced, which per
        # image would cost as much as encoding it.
        atomic_write_bytes(job.output, encode_image(drawn, fmt), durable=False)
    except OSError as exc:
        raise KpconvError(f"{job.output}: cannot write: {exc.strerror or exc}") from None
    derived = sum(
        1
        for a in job.annotations
        if given_box(getattr(a, "bbox", None)) is None
        and display_box(None, keypoint_array(a.keypoints), w, h)[1]
    )
    return Rendered(job, True, found, thumbnail(drawn) if want_thumb else None, derived)


def ordered_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, results in order, at most ``4×workers`` in flight."""
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kpconv-visualize") as pool:
        window: deque[Future[R]] = deque()
        it = iter(items)
        for item in it:
            window.append(pool.submit(fn, item))
            if len(window) >= 4 * workers:
                break
        try:
            while window:
                result = window.popleft().result()
                nxt = next(it, None)
                if nxt is not None:
                    window.append(pool.submit(fn, nxt))
                yield result
        finally:
            for fut in window:
                fut.cancel()


def default_workers() -> int:
    """One thread per CPU the process may use (at most 16)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(16, n))


# -- contact sheet size --------------------------------------------------------------------------
#: past this many cells the layout is not even computed (``math.sqrt`` of a huge int overflows)
_GRID_CEILING = 10**9


def sheet_size(per_sheet: int) -> tuple[int, int]:
    """(width, height) in pixels of a contact sheet laid out for ``per_sheet`` cells (every sheet
    has that size, a last partial one too)."""
    cols, rows = sheet_layout(per_sheet)
    return GAP + cols * (CELL_WIDTH + GAP), GAP + rows * (CELL_HEIGHT + CAPTION_HEIGHT + GAP)


def max_grid(max_pixels: int | None = None) -> int:
    """The largest ``--grid`` whose sheet has at most ``max_pixels`` pixels (default
    :func:`kpconv.images.max_image_pixels`: a sheet is held in memory as an image is)."""
    limit = max_image_pixels() if max_pixels is None else max_pixels
    lo, hi = 0, _GRID_CEILING  # the sheet's size grows with the cell count: bisect
    while lo < hi:
        mid = (lo + hi + 1) // 2
        w, h = sheet_size(mid)
        if w * h <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_grid(grid: int | None) -> None:
    """Refuse a ``--grid`` whose contact sheet would have more pixels than
    ``$KPCONV_MAX_IMAGE_PIXELS`` (:class:`UsageError`, before any work)."""
    if grid is None:
        return
    limit = max_image_pixels()
    most = max_grid(limit)
    if grid <= most:
        return
    size = "" if grid > _GRID_CEILING else "{}x{} = {:,} pixels, ".format(*sheet_size(grid), math.prod(sheet_size(grid)))
    raise UsageError(
        f"--grid {grid}: a contact sheet of {grid:,} thumbnails would be {size}more than the limit "
        f"of {limit:,} ({MAX_PIXELS_ENV}); give --grid {most:,} or less"
    )


# -- the whole run -----------------------------------------------------------------------------
@dataclass
class VisualizeOptions:
    """How :func:`visualize` renders: format, sheets, summary, workers and the annotator style."""

    fmt: str = "png"
    grid: int | None = None
    summary: bool = True
    workers: int = 0  # 0: one per CPU
    annotator: KeypointAnnotator = field(default_factory=KeypointAnnotator)


@dataclass
class VisualizeResult:
    """What was written and what was found on the way."""

    findings: list[Finding]
    rendered: list[Path]
    sheets: list[Path]
    summary: Path | None
    selected: int
    derived_boxes: int
    unplaced: list[Finding]

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


def visualize(
    view: CocoView,
    images_root: Path,
    out_dir: Path,
    options: VisualizeOptions | None = None,
    selection: Selection | None = None,
    issues: Sequence[Finding] | None = None,
    protected: Iterable[Path] = (),
) -> VisualizeResult:
    """Render the selected images of ``view`` into ``out_dir`` (see the module docstring).

    ``issues`` (a validate report's findings) switches to drawing only flagged annotations.
    ``protected`` are input files no output may overwrite.
    """
    options = options or VisualizeOptions()
    check_grid(options.grid)
    selection = selection or Selection()
    placement = place_findings(view, issues) if issues is not None else None
    jobs, notes = plan_jobs(view, selection, placement)
    assign_outputs(jobs, out_dir, options.fmt)
    planned = [job.output for job in jobs if job.output is not None]
    if options.grid is not None:
        planned += [
            _sheet_path(out_dir, n + 1, options.fmt) for n in range(-(-len(jobs) // options.grid))
        ]
    if options.summary:
        planned.append(out_dir / SUMMARY_FILE)
    _refuse_overwriting_inputs(planned, view, images_root, out_dir, protected)
    findings = list(view.findings) + notes
    unplaced = placement.unplaced if placement is not None else []
    if unplaced:
        codes = sorted({f.code for f in unplaced})
        findings.append(
            info(
                "visualize.finding_unplaced",
                f"{len(unplaced)} finding(s) of the report are not about one image (document, category, or an "
                f"entry not in this file) and are not drawn: {', '.join(codes[:8])}{' ...' if len(codes) > 8 else ''}",
            )
        )
    if placement is not None and placement.mismatched:
        findings.append(
            warning(
                "visualize.report_mismatch",
                f"{placement.mismatched} finding(s) of the report name an annotation_id that is not the "
                "annotation at their pointer: is the report from another version of this file? "
                "Placed by annotation_id.",
            )
        )
    categories = view.category_map()
    workers = options.workers or default_workers()
    grid = options.grid

    def work(job: Job) -> Rendered:
        return render_job(
            job, images_root, options.annotator, categories, options.fmt, grid is not None
        )

    rendered: list[Path] = []
    sheets: list[Path] = []
    cells: list[SheetCell] = []
    derived = 0
    for res in track(ordered_map(work, jobs, workers), total=len(jobs), description="rendering"):
        findings.extend(res.findings)
        derived += res.derived_boxes
        if res.ok and res.job.output is not None:
            rendered.append(res.job.output)
        if grid is not None:
            n_flags = len(res.job.findings) + len(res.findings)
            cells.append(SheetCell(res.thumb, res.job.image.file_name, n_flags, res.note))
            if len(cells) == grid:
                sheets.append(_write_sheet(cells, grid, out_dir, len(sheets) + 1, options.fmt))
                cells = []
    if grid is not None and cells:
        sheets.append(_write_sheet(cells, grid, out_dir, len(sheets) + 1, options.fmt))
    summary_path = None
    if options.summary:
        summary_path = out_dir / SUMMARY_FILE
        atomic_write_bytes(summary_path, summary_svg(view).encode("utf-8"))
    return VisualizeResult(findings, rendered, sheets, summary_path, len(jobs), derived, unplaced)


def _write_sheet(
    cells: list[SheetCell], per_sheet: int, out_dir: Path, number: int, fmt: str
) -> Path:
    path = _sheet_path(out_dir, number, fmt)
    atomic_write_bytes(path, encode_image(compose_sheet(cells, per_sheet), fmt), durable=False)
    return path


def _sheet_path(out_dir: Path, number: int, fmt: str) -> Path:
    return out_dir / SHEETS_SUBDIR / f"sheet-{number:03d}.{fmt}"


def _refuse_overwriting_inputs(
    outputs: Iterable[Path],
    view: CocoView,
    images_root: Path,
    out_dir: Path,
    protected: Iterable[Path],
) -> None:
    """UsageError when any output would land on an input (the dataset, the report, an image)."""
    planned = {p.resolve() for p in outputs}
    for p in protected:
        if Path(p).resolve() in planned:
            raise UsageError(f"{p}: an output would overwrite this input; choose another -o")
    root, out = images_root.resolve(), out_dir.resolve()
    if not (out == root or root in out.parents or out in root.parents):
        return  # the output folder and the images folder do not overlap
    for _, img in view.images:
        src = resolve_inside(images_root, img.file_name)
        if src is not None and src in planned:
            raise UsageError(
                f"{src}: an output would overwrite this input image; choose another -o"
            )
