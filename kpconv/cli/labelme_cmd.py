"""``kpconv from-labelme``: LabelMe / X-AnyLabeling JSON files or folders → COCO keypoints."""

from __future__ import annotations

from pathlib import Path

import click

from .. import progress
from ..errors import UsageError
from ..formats import labelme
from ..memory import gc_paused
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


def _category_map(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        label, sep, name = item.partition("=")
        if not sep or not label.strip() or not name.strip():
            raise UsageError(f"--category {item!r}: expected LABEL=NAME, e.g. --category human=person")
        out[label.strip()] = name.strip()
    return out


def _check_categories(mapping: dict[str, str], spec: KeypointSpec | None) -> None:
    if spec is None:
        return
    for label, name in mapping.items():
        if spec.category(name) is None:
            raise UsageError(
                f"--category {label}={name}: {name!r} is not a category of the spec "
                f"(spec categories: {', '.join(spec.names())})"
            )


@click.command(
    "from-labelme",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "Example: kpconv from-labelme fixtures/labelme/demo --spec fixtures/labelme/person.yaml "
        "-o out/labelme.json"
    ),
)
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="SRC...")
@output_options
@spec_options
@click.option(
    "--category",
    "category_items",
    multiple=True,
    metavar="LABEL=NAME",
    help="Instance label (rectangle/polygon label; 'object' for points-only instances) -> spec category. Repeatable.",
)
@bbox_options
@click.option(
    "--occluded-suffix",
    "occluded_suffixes",
    multiple=True,
    metavar="S",
    help=f"Point-label suffix meaning v=1, e.g. _occ (repeatable; replaces the default {labelme.DEFAULT_OCCLUDED_SUFFIXES[0]!r}).",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder holding the images; COCO file_name is relative to it (default: the common parent of the images).",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="When some files cannot be read (each is named), still write what the others hold (exit 1). "
    "Without it nothing is written.",
)
@click.option(
    "--extract-images",
    "extract_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write embedded base64 imageData out as image files here (never into the COCO file).",
)
def command(
    sources: tuple[Path, ...],
    output: Path,
    strict: bool,
    fmt: str,
    compact: bool,
    spec_path: Path | None,
    preset: str | None,
    keypoints: str | None,
    category_items: tuple[str, ...],
    bbox_from: str,
    bbox_margin: float,
    occluded_suffixes: tuple[str, ...],
    images_dir: Path | None,
    extract_dir: Path | None,
    allow_partial: bool,
) -> int:
    """Convert LabelMe / X-AnyLabeling JSON files (or folders, searched recursively) to COCO keypoints.

    Shapes sharing a group_id (0 included) form one instance; ungrouped points join the one
    rectangle/polygon that contains them. Point labels name keypoints (spec aliases and
    'person.nose' prefixes work). v=1 from 'difficult', an 'occluded' flag or a label suffix.
    Without a spec, one is inferred from the labels and printed.
    """
    mapping = _category_map(category_items)
    targets = set(mapping.values())
    spec = resolve_spec(
        spec_path, preset, keypoints, category=next(iter(targets)) if len(targets) == 1 else "object"
    )
    _check_categories(mapping, spec)
    if images_dir is not None and not images_dir.is_dir():
        raise UsageError(f"--images {images_dir}: no such folder")
    named_files = [s for s in sources if s.is_file()]
    check_output(output, named_files, fmt)
    progress.enable()

    options = labelme.LabelmeOptions(
        categories=mapping,
        occluded_suffixes=tuple(occluded_suffixes) or labelme.DEFAULT_OCCLUDED_SUFFIXES,
        images_dir=images_dir,
        extract_dir=extract_dir,
        spec=spec,
    )
    with gc_paused():
        parsed = labelme.read(list(sources), options, exclude=[output])
        return convert_and_finish(
            parsed,
            spec,
            build_options(bbox_from, bbox_margin, labelme.DESCRIPTION, compact=compact),
            output,
            # files found in folders never include the output (read excludes it): checking the
            # named files is enough, and resolving thousands of paths again is not free
            inputs=named_files,
            strict=strict,
            fmt=fmt,
            allow_partial=allow_partial,
        )
