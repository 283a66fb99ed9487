"""``kpconv from-cvat``: CVAT for images / video 1.1 XML (or CVAT's zip) → COCO keypoints."""

from __future__ import annotations

from pathlib import Path

import click

from .. import progress
from ..formats import cvat
from ..formats.cvat import DEFAULT_FRAME_PATTERN, CvatOptions, check_frame_pattern
from ..spec import KeypointSpec
from .common import (
    bbox_options,
    build_options,
    check_output,
    convert_and_finish,
    output_options,
    resolve_spec,
    spec_options,
)


@click.command(
    "from-cvat",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv from-cvat fixtures/cvat/skeleton.xml -o out/cvat.json",
)
@click.argument("src", type=click.Path(path_type=Path), metavar="SRC")
@output_options
@spec_options
@click.option(
    "--category-name",
    metavar="NAME",
    help="Category of --keypoints (default: the export's only keypoint category, else 'object'); also "
    "the category of single points that have no box, no group and no 'category.' label prefix.",
)
@click.option(
    "--subset",
    metavar="NAME",
    help="Convert only this subset (image subset attribute; 'default' for images without one). "
    "Without it, an export with several subsets gives one file per subset: OUT-<subset>.json.",
)
@click.option(
    "--frame-pattern",
    default=DEFAULT_FRAME_PATTERN,
    show_default=True,
    help="Video exports: image file name of a frame (Python format with {frame}), as CVAT names extracted frames.",
)
@click.option(
    "--visibility-attribute",
    metavar="NAME",
    help="A per-point CVAT attribute that gives visibility: 0/1/2, visible/occluded/absent, true/false "
    "(outside=1 still means v=0).",
)
@bbox_options
def command(
    src: Path,
    output: Path,
    strict: bool,
    fmt: str,
    compact: bool,
    spec_path: Path | None,
    preset: str | None,
    keypoints: str | None,
    category_name: str | None,
    subset: str | None,
    frame_pattern: str,
    visibility_attribute: str | None,
    bbox_from: str,
    bbox_margin: float,
) -> int:
    """Convert a CVAT for images 1.1 / CVAT for video 1.1 export to COCO keypoints.

    SRC is annotations.xml (- for standard input), the .zip CVAT downloads (read in place) or its unzipped folder.
    Skeletons take keypoint order and edges from the export's <meta>; outside=1 → v=0,
    occluded=1 → v=1. Multi-point <points>: the i-th point is the i-th keypoint. Single points
    per keypoint are grouped by group_id, else by the box that contains them. Video tracks give
    one image per annotated frame.
    """
    check_output(output, [src], fmt)
    check_frame_pattern(frame_pattern)
    spec: KeypointSpec | None = resolve_spec(
        spec_path, preset, keypoints, category_name or "object"
    )
    progress.enable()
    name_later = bool(keypoints) and not category_name
    options = CvatOptions(
        frame_pattern=frame_pattern,
        visibility_attribute=visibility_attribute,
        subset=subset,
        default_category=category_name,
    )
    parsed = cvat.read(src, options, None if name_later else spec)
    if name_later and keypoints:
        found = parsed.spec.names() if parsed.spec is not None else []
        spec = resolve_spec(None, None, keypoints, found[0] if len(found) == 1 else "object")
    return convert_and_finish(
        parsed,
        spec,
        build_options(bbox_from, bbox_margin, f"converted by kpconv from-cvat from {src.name}", compact=compact),
        output,
        inputs=[src],
        strict=strict,
        fmt=fmt,
    )
