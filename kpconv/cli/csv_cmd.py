"""``kpconv from-csv``: DeepLabCut, long, wide or SLEAP analysis CSV → COCO keypoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import progress
from ..formats import csv
from ..formats.csv import DEFAULT_FRAME_PATTERN, LAYOUTS, CsvOptions, ImageOptions
from ..formats.csv.sleap import check_pattern
from ..memory import gc_paused
from .common import (
    bbox_options,
    build_options,
    check_output,
    convert_and_finish,
    output_options,
    resolve_spec,
    spec_options,
)

F = TypeVar("F", bound=Callable[..., Any])

COLUMN_ROLES = ("image", "instance", "keypoint", "x", "y", "visibility", "category")


def parse_size(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    """``640x480`` → (640, 480)."""
    if value is None:
        return None
    text = value.lower().replace("×", "x")
    parts = text.split("x")
    if len(parts) == 2 and all(p.strip().isdigit() and len(p.strip()) <= 9 for p in parts):  # an int, not 10^5000
        w, h = int(parts[0]), int(parts[1])
        if w > 0 and h > 0:
            return w, h
    raise click.BadParameter(f"expected WIDTHxHEIGHT in pixels, e.g. 640x480; found {value!r}")


def column_options(func: F) -> F:
    """``--image-column NAME`` … ``--category-column NAME`` (long and wide layouts)."""
    helps = {
        "image": "Image path column (default: image, file_name, filename, image_path, image_name, img, file, path).",
        "instance": "Instance id column (default: instance, instance_id, individual, track, object, object_id, "
        "animal, person); without one, each image holds one instance (long) / each row is one (wide).",
        "keypoint": "Long layout: keypoint name column (default: keypoint, bodypart, keypoint_name, label, part, "
        "landmark, joint, name).",
        "x": "Long layout: x column (default: x).",
        "y": "Long layout: y column (default: y).",
        "visibility": "Long layout: visibility column, 0/1/2, empty = 2 (default: v, visibility, visible, vis).",
        "category": "Category column (default: category, category_name, class); else --category-name.",
    }
    for role in reversed(COLUMN_ROLES):
        func = click.option(f"--{role}-column", f"{role}_column", metavar="NAME", help=helps[role])(func)
    return func


@click.command(
    "from-csv",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv from-csv fixtures/csv/long.csv -o out/long.json",
)
@click.argument("src", type=click.Path(path_type=Path), metavar="SRC.csv")
@output_options
@click.option(
    "--layout",
    type=click.Choice(["auto", *LAYOUTS]),
    default="auto",
    show_default=True,
    help="dlc: DeepLabCut CollectedData; long: one row per keypoint; wide: one row per instance "
    "({name}_x/{name}_y columns); sleap: SLEAP analysis CSV; auto: from the header.",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Folder the image paths in the CSV are relative to; COCO file_name values are written "
    "relative to it (default: the DeepLabCut project root or the CSV's folder, whichever holds the images).",
)
@click.option(
    "--image-size",
    metavar="WxH",
    callback=parse_size,
    help="Every image is WxH pixels: no image file is opened (for CSVs whose images are not at hand).",
)
@click.option(
    "--skip-missing-images",
    is_flag=True,
    help="Convert the rows whose image exists, list every skipped one (default: a missing image is an "
    "error and nothing is written).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="DeepLabCut config.yaml (bodypart order, skeleton); default: config.yaml of the project the CSV is in.",
)
@click.option(
    "--frame-pattern",
    default=DEFAULT_FRAME_PATTERN,
    show_default=True,
    help="SLEAP layout: image name of a frame (Python format with {frame} and {video}, or %06d style).",
)
@click.option("--delimiter", metavar="CHAR", help="Field delimiter (default: sniffed from the header: , ; tab |).")
@column_options
@spec_options
@click.option(
    "--category-name",
    metavar="NAME",
    help="Category of the instances (default: the spec's only category, else 'animal' for dlc/sleap, "
    "'object' for long/wide).",
)
@bbox_options
def command(
    src: Path,
    output: Path,
    strict: bool,
    fmt: str,
    compact: bool,
    layout: str,
    images_dir: Path | None,
    image_size: tuple[int, int] | None,
    skip_missing_images: bool,
    config_path: Path | None,
    frame_pattern: str,
    delimiter: str | None,
    spec_path: Path | None,
    preset: str | None,
    keypoints: str | None,
    category_name: str | None,
    bbox_from: str,
    bbox_margin: float,
    **columns: str | None,
) -> int:
    """Convert a keypoint CSV (DeepLabCut, long, wide or SLEAP analysis) to COCO keypoints.

    Image sizes are read from the image files (their headers, whatever the extension says); a
    missing image is an error and nothing is written, unless --skip-missing-images or
    --image-size. COCO file_name values are relative to the images root the report names: pass
    that folder to `kpconv validate --images` and `kpconv visualize --images`.
    """
    check_output(output, [src], fmt)
    if delimiter is not None and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    check_pattern(frame_pattern)
    spec = resolve_spec(spec_path, preset, keypoints, category_name or "object")
    if spec is not None and category_name is None and len(spec.categories) == 1:
        category_name = spec.categories[0].name
    options = CsvOptions(
        layout=layout,
        images=ImageOptions(images_dir=images_dir, image_size=image_size, skip_missing=skip_missing_images),
        config=config_path,
        columns={
            role: name for role in COLUMN_ROLES if (name := columns.get(f"{role}_column")) is not None
        },
        frame_pattern=frame_pattern,
        category_name=category_name,
        delimiter=delimiter,
        keypoint_names=list(spec.categories[0].keypoints) if spec is not None and len(spec.categories) == 1 else None,
    )
    progress.enable()
    with gc_paused():  # millions of small objects, no cycles: see gc_paused
        parsed = csv.read(src, options)
        inputs = [src] + ([config_path] if config_path is not None else [])
        return convert_and_finish(
            parsed,
            spec,
            build_options(bbox_from, bbox_margin, f"converted by kpconv from-csv from {src.name}", compact=compact),
            output,
            inputs=inputs,
            strict=strict,
            fmt=fmt,
        )
