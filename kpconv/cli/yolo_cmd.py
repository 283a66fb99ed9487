"""``kpconv to-yolo`` and ``kpconv from-yolo``: COCO keypoints ⇄ Ultralytics YOLO pose."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from .. import progress
from ..errors import UsageError
from ..fileio import loads_json, read_input_bytes
from ..finding import Report
from ..formats import yolo
from ..spec import KeypointSpec, load_spec
from ..validation import validate_bytes
from .common import (
    bbox_options,
    build_options,
    check_output,
    convert_and_finish,
    output_options,
    resolve_spec,
    spec_options,
)
from .render import emit_json, render_text

_SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@click.command(
    "from-yolo",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv from-yolo fixtures/yolo/critters/data.yaml -o out/critters.json",
)
@click.argument("data_yaml", type=click.Path(path_type=Path, dir_okay=False), metavar="DATA.yaml")
@output_options
@click.option(
    "--split", default="train", show_default=True, help="Which split of data.yaml to convert."
)
@spec_options
@bbox_options
def from_yolo_command(
    data_yaml: Path,
    output: Path,
    strict: bool,
    fmt: str,
    compact: bool,
    split: str,
    spec_path: Path | None,
    preset: str | None,
    keypoints: str | None,
    bbox_from: str,
    bbox_margin: float,
) -> int:
    """Convert one split of an Ultralytics YOLO pose dataset (its data.yaml) to COCO keypoints.

    Image sizes come from the image headers. Keypoint names: --spec, else kpt_names in data.yaml,
    else kp1..kpK. Bad label lines are located errors (labels/train/a.txt:3); the good lines still
    convert. COCO file_name values are relative to the images root the report names.
    """
    check_output(output, [data_yaml], fmt)
    category = "object"
    if keypoints:  # --keypoints names the only class's keypoints
        names = yolo.load_data_file(data_yaml).names
        if len(names) != 1:
            raise UsageError(
                f"--keypoints names one category; {data_yaml} has {len(names)} classes: use --spec"
            )
        category = names[0]
    spec = resolve_spec(spec_path, preset, keypoints, category)
    progress.enable()
    parsed = yolo.read(data_yaml, split, spec)
    options = build_options(
        bbox_from,
        bbox_margin,
        f"converted by kpconv from-yolo from {data_yaml.name} ({split})",
        compact=compact,
    )
    return convert_and_finish(parsed, spec, options, output, inputs=[data_yaml], strict=strict, fmt=fmt)


def _split_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not _SPLIT_NAME.fullmatch(value) or value in (".", "..")):
        raise click.BadParameter(f"a folder name such as train, val or test; found {value!r}")
    return value


@click.command(
    "to-yolo",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv to-yolo fixtures/train/train.json --images fixtures/train/images "
    "-o out/yolo --val-fraction 0.25",
)
@click.argument(
    "dataset", type=click.Path(path_type=Path, exists=True, dir_okay=False), metavar="DATASET.json"
)
@click.option(
    "--images",
    "images_dir",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Folder the dataset's file_name values are relative to.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder: images/<split>/, labels/<split>/, data.yaml (other splits already there are kept).",
)
@click.option(
    "--split-name",
    callback=_split_name,
    metavar="NAME",
    help="The split this file is (default: train); run once per COCO file into the same -o.",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    metavar="F",
    help="Split the images at random (by image, --seed) into train and val.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --val-fraction.")
@click.option("--copy", is_flag=True, help="Copy the images (default: symbolic links to them).")
@click.option(
    "--clip-points",
    is_flag=True,
    help="Write labelled points outside their image as not labelled (default: an error).",
)
@click.option(
    "--pad",
    is_flag=True,
    help="Categories with different keypoint counts: pad all to the largest K with 0 0 0.",
)
@click.option(
    "--kpt-dims",
    type=click.Choice(["3", "2"]),
    default="3",
    show_default=True,
    help="3: x y v per keypoint; 2: x y only (refused when a point is not labelled).",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Spec whose flip_pairs give flip_idx (default: left/right pairs from the keypoint names).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format: text on stderr, or JSON on stdout.",
)
@click.option(
    "--strict", is_flag=True, help="Warnings count as failures: exit 1 and write nothing."
)
def to_yolo_command(
    dataset: Path,
    images_dir: Path,
    output: Path,
    split_name: str | None,
    val_fraction: float | None,
    seed: int,
    copy: bool,
    clip_points: bool,
    pad: bool,
    kpt_dims: str,
    spec_path: Path | None,
    fmt: str,
    strict: bool,
) -> int:
    """Write a COCO keypoint DATASET as an Ultralytics YOLO pose dataset.

    Only a dataset that validates (with --images: every file there, sizes as stated) is written;
    any error, and nothing is. Then `yolo pose train data=OUT/data.yaml`.
    """
    if split_name is not None and val_fraction is not None:
        raise UsageError(
            "give --split-name or --val-fraction (which writes train and val), not both"
        )
    progress.enable()
    spec: KeypointSpec | None = load_spec(spec_path) if spec_path is not None else None
    data = read_input_bytes(dataset)
    checked = validate_bytes(data, images_dir, source=str(dataset))
    options = yolo.WriteOptions(
        split=split_name or "train",
        val_fraction=val_fraction,
        seed=seed,
        copy=copy,
        clip_points=clip_points,
        pad=pad,
        kpt_dims=int(kpt_dims),
        source=dataset.name,
    )
    written: Report | None = None
    if checked.passes(strict=strict):
        doc = loads_json(data, source=str(dataset))
        del data
        written = yolo.write(
            doc, images_dir, output, options, spec, protect=(dataset,), strict=strict
        )
    report = Report(
        findings=checked.findings + (written.findings if written else []),
        summary=_summary(checked, written),
    )
    ok = written is not None and written.summary.get("written") is not None
    _emit(report, fmt, dataset, output if ok else None, written)
    return 0 if ok else 1


def _summary(checked: Report, written: Report | None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        k: checked.summary[k]
        for k in ("images", "annotations", "categories")
        if k in checked.summary
    }
    if written is not None:
        summary["yolo"] = written.summary
    return summary


def _emit(
    report: Report, fmt: str, dataset: Path, output: Path | None, written: Report | None
) -> None:
    if fmt == "json":
        doc = report.to_dict()
        doc["output"] = str(output) if output is not None else None
        emit_json(doc)
        return
    click.echo(render_text(report, title=f"kpconv to-yolo: {dataset}"), err=True)
    if output is None:
        why = "the dataset does not validate" if written is None else "see the errors above"
        click.echo(f"nothing written ({why})", err=True)
        return
    splits = (written.summary.get("splits") if written else None) or {}
    listed = "; ".join(
        f"{name}: {s['images']} images, {s['instances']} instances" for name, s in splits.items()
    )
    click.echo(f"wrote {output} ({listed})", err=True)
    click.echo(f"train with: yolo pose train data={output / 'data.yaml'}", err=True)
