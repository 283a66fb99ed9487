"""``kpconv from-cvat``: CVAT for images / video 1.1 XML (or CVAT's zip) → COCO keypoints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from .. import progress
from ..convert.builder import Conversion
from ..convert.cvat import (
    DEFAULT_FRAME_PATTERN,
    CvatOptions,
    check_frame_pattern,
    convert_export,
    parse_cvat,
)
from ..errors import UsageError
from ..fileio import ensure_not_input
from ..spec import KeypointSpec
from .common import (
    bbox_options,
    build_options,
    check_output,
    echo_inferred_spec,
    finish_conversion,
    is_stdout,
    output_options,
    resolve_spec,
    spec_options,
)
from .render import emit_json, render_text


def subset_output(output: Path, subset: str) -> Path:
    """``OUT.json`` for subset ``Train`` → ``OUT-Train.json`` (unsafe characters become ``_``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", subset) or "default"
    return output.with_name(f"{output.stem}-{safe}{output.suffix or '.json'}")


def _finish_subsets(
    convs: dict[str, Conversion], output: Path, *, src: Path, strict: bool, fmt: str, title: str
) -> int:
    """Like :func:`finish_conversion` for several subsets: all outputs are written, or none (--strict)."""
    if is_stdout(output):
        raise UsageError(f"-o -: the export has {len(convs)} subsets, one file each; give -o FILE, or --subset NAME")
    paths = {name: subset_output(output, name) for name in convs}
    for path in paths.values():
        ensure_not_input(path, [src])
    has_errors = not all(conv.report.ok for conv in convs.values())
    written = not (strict and has_errors)
    if written:
        for name, conv in convs.items():
            conv.write(paths[name])
    spec = next(iter(convs.values())).spec
    if fmt == "json":
        doc: dict[str, Any] = {
            "ok": not has_errors,
            "subsets": {},
            "spec": spec.to_file() if spec is not None else None,
        }
        for name, conv in convs.items():
            entry = conv.report.to_dict()
            entry["output"] = str(paths[name]) if written else None
            doc["subsets"][name] = entry
        emit_json(doc)
    else:
        for name, conv in convs.items():
            click.echo(
                render_text(conv.report, title=f"{title} [subset {name} -> {paths[name]}]"),
                err=True,
            )
            click.echo("", err=True)
        echo_inferred_spec(spec, any(c.spec_inferred for c in convs.values()))
        for name in convs:
            if written:
                click.echo(f"wrote {paths[name]}", err=True)
        if not written:
            click.echo(f"--strict: errors found, nothing written ({len(paths)} subsets)", err=True)
    return 1 if has_errors else 0


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

    SRC is annotations.xml, the .zip CVAT downloads (read in place) or its unzipped folder.
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
    export = parse_cvat(src, options, None if name_later else spec)
    if name_later and keypoints:
        found = export.keypoint_categories()
        spec = resolve_spec(None, None, keypoints, found[0] if len(found) == 1 else "object")
    convs = convert_export(
        export,
        spec,
        build_options(bbox_from, bbox_margin, f"converted by kpconv from-cvat from {src.name}", compact=compact),
    )
    title = f"kpconv from-cvat: {export.source.display} ({export.mode})"
    if len(convs) == 1:
        return finish_conversion(
            next(iter(convs.values())), output, inputs=[src], strict=strict, fmt=fmt, title=title
        )
    return _finish_subsets(convs, output, src=src, strict=strict, fmt=fmt, title=title)
