"""Keypoint CSV files → the pipeline's :class:`~kpconv.convert.pipeline.Parsed` (:func:`read`).

Four layouts, one module each, all reading through :mod:`.table` (pyarrow's CSV parser, with
the BOM, delimiter sniffing, located number errors and the limits around it) and finding images
through :mod:`.imagefiles`:

* ``dlc`` — DeepLabCut ``CollectedData_<scorer>.csv`` (:mod:`.dlc`)
* ``long`` — one row per keypoint (:mod:`.long`)
* ``wide`` — one row per instance, ``{name}_x``/``{name}_y`` columns (:mod:`.wide`)
* ``sleap`` — SLEAP analysis CSV (:mod:`.sleap`)

``layout="auto"`` picks one from the header (:func:`detect_layout`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...convert.builder import ParseResult, RawImage
from ...convert.pipeline import Parsed
from ...errors import DataError, UsageError
from . import dlc, long, sleap, wide
from .imagefiles import ImageOptions, resolve_images
from .options import DEFAULT_FRAME_PATTERN, CsvOptions, LayoutResult, header_record
from .table import CsvTable, read_table, release_memory

__all__ = [
    "CsvOptions",
    "DEFAULT_FRAME_PATTERN",
    "ImageOptions",
    "LAYOUTS",
    "detect_layout",
    "parse_csv",
    "parse_table",
    "read",
    "read_table",
]

LAYOUTS: dict[str, Callable[[CsvTable, CsvOptions], LayoutResult]] = {
    "dlc": dlc.parse,
    "long": long.parse,
    "wide": wide.parse,
    "sleap": sleap.parse,
}


def detect_layout(table: CsvTable, options: CsvOptions | None = None) -> str:
    """The layout a table is written in, from its header; DataError when none fits."""
    opts = options or CsvOptions()
    h, header = header_record(table)
    if not header:
        raise DataError(f"{table.display}: the file is empty")
    if dlc.looks_like([header]):
        return "dlc"
    if sleap.looks_like(header):
        return "sleap"
    if set(opts.columns) & {"keypoint", "x", "y", "visibility"}:
        return "long"  # only the long layout has these columns: the user has said which it is
    if long.looks_like(header, opts):
        return "long"
    if wide.looks_like(header):
        return "wide"
    shown = ", ".join(repr(c) for c in header[:12]) + (", …" if len(header) > 12 else "")
    raise DataError(
        f"{table.display}:{table.line(h)}: cannot tell the CSV layout from the header ({shown}); "
        "expected a DeepLabCut header (scorer/bodyparts/coords rows), a SLEAP analysis header "
        "(track, frame_idx, node.x, …), long columns (image, keypoint, x, y) or wide columns "
        "(nose_x, nose_y, …); pass --layout and the column options"
    )


def parse_table(table: CsvTable, options: CsvOptions | None = None) -> ParseResult:
    """Parse an already-read table (layout, images, sizes) into a ParseResult."""
    opts = options or CsvOptions()
    layout = opts.layout if opts.layout != "auto" else detect_layout(table, opts)
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; choose one of auto, {', '.join(LAYOUTS)}")
    result = LAYOUTS[layout](table, opts)
    return attach_images(result, opts.images, table.display)


def parse_csv(path: Path, options: CsvOptions | None = None) -> ParseResult:
    """Read a keypoint CSV file and parse it (see the module docstring for the layouts)."""
    opts = options or CsvOptions()
    table = read_table(Path(path), delimiter=opts.delimiter)
    try:
        return parse_table(table, opts)
    finally:
        del table
        release_memory()


def read(path: Path, options: CsvOptions | None = None) -> Parsed:
    """A keypoint CSV file as the pipeline's :class:`Parsed` (see :func:`parse_csv`)."""
    return Parsed.single("csv", str(path), parse_csv(path, options))


def attach_images(result: LayoutResult, options: ImageOptions, display: str) -> ParseResult:
    """Resolve the image names, read sizes, rename instances to their COCO ``file_name``."""
    parsed = result.parsed
    resolved = resolve_images(result.image_names, result.roots, options, display)
    file_names = resolved.file_names
    chosen = list(map(file_names.get, result.image_names))
    found = [file_name for file_name in chosen if file_name is not None]
    images: dict[str, RawImage] = {}
    if len(found) == len(chosen) == len(set(found)):
        # every image found, each under a file name of its own (the usual case): no test per name
        sizes = list(map(resolved.sizes.__getitem__, found))
        made = map(
            RawImage,
            found,
            [w for w, _ in sizes],
            [h for _, h in sizes],
            result.image_names.values(),
        )
        images = dict(zip(found, made, strict=True))
    else:
        for where, file_name in zip(result.image_names.values(), chosen, strict=True):
            if file_name is None or file_name in images:
                continue
            w, h = resolved.sizes[file_name]
            images[file_name] = RawImage(file_name=file_name, width=w, height=h, source=where)
    kept = []
    for inst in parsed.instances:
        file_name = file_names.get(inst.image)
        if file_name is None:
            continue  # its image was skipped (--skip-missing-images): listed in the findings
        inst.image = file_name
        kept.append(inst)
    return ParseResult(
        images=list(images.values()),
        instances=kept,
        findings=parsed.findings + resolved.findings,
        spec=parsed.spec,
    )

