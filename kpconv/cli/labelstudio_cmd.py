"""``kpconv from-labelstudio`` and ``kpconv to-labelstudio``: Label Studio exports ↔ COCO keypoints."""

from __future__ import annotations

from pathlib import Path

import click

from .. import progress
from ..fileio import ensure_not_input
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
from .export_cmd import _DATASET, _FORMAT, _STRICT, _export, prediction_options


@click.command(
    "from-labelstudio",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv from-labelstudio fixtures/labelstudio/export.json "
    "--config fixtures/labelstudio/label_config.xml -o out/labelstudio.json",
)
@click.argument("src", type=click.Path(path_type=Path), metavar="EXPORT.json")
@output_options
@spec_options
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), metavar="LABEL_CONFIG.xml",
    help="The project's labelling config: keypoint order from <KeyPointLabels> (model_index when every label has one).",
)  # fmt: skip
@click.option(
    "--source", type=click.Choice(["annotations", "predictions"]), default="annotations", show_default=True,
    help="Which regions to convert: the annotations, or the predictions (pre-annotations).",
)  # fmt: skip
@click.option(
    "--annotator", metavar="ID",
    help="Take the annotation by this user (completed_by id or e-mail; model_version for predictions). "
    "Default: the ground-truth annotation, else the first one (the others are named in a warning).",
)  # fmt: skip
@click.option(
    "--visibility-attribute", metavar="NAME",
    help="A per-point Choices/TextArea (control name) that gives visibility: 0/1/2, visible/occluded/absent.",
)  # fmt: skip
@click.option(
    "--category-name", metavar="NAME",
    help="Category of points-only instances (no rectangle/polygon; default: the only box label, else 'object').",
)  # fmt: skip
@click.option(
    "--image-root", metavar="PREFIX",
    help="URL/path prefix of data.image that file_name is relative to (default rules: see the docs).",
)  # fmt: skip
@bbox_options
def from_labelstudio_command(
    src: Path,
    output: Path,
    strict: bool,
    fmt: str,
    compact: bool,
    spec_path: Path | None,
    preset: str | None,
    keypoints: str | None,
    config_path: Path | None,
    source: str,
    annotator: str | None,
    visibility_attribute: str | None,
    category_name: str | None,
    image_root: str | None,
    bbox_from: str,
    bbox_margin: float,
) -> int:
    """Convert a Label Studio JSON (or JSON-MIN with region ids) export to COCO keypoints.

    keypointlabels x/y are percent of original_width/height (pixels = value / 100 x size). A point
    joins the rectangle/polygon its parentID names, else the one that contains it. Keypoint order:
    --spec, else the --config labels (model_index), else first appearance. Every point is v=2
    (Label Studio has no visibility) unless --visibility-attribute maps a per-point choice.
    """
    from ..formats import labelstudio

    check_output(output, [src] + ([config_path] if config_path else []), fmt)
    spec: KeypointSpec | None = resolve_spec(
        spec_path, preset, keypoints, category_name or "object"
    )
    config = labelstudio.read_config(config_path) if config_path is not None else None
    progress.enable()
    options = labelstudio.LabelStudioOptions(
        source=source,  # type: ignore[arg-type]
        annotator=annotator,
        config=config,
        spec=spec,
        visibility_attribute=visibility_attribute,
        category=category_name,
        image_root=image_root,
    )
    parsed = labelstudio.read(src, options)
    return convert_and_finish(
        parsed,
        spec,
        build_options(
            bbox_from, bbox_margin, f"{labelstudio.DESCRIPTION} from {src.name}", compact=compact
        ),
        output,
        inputs=[src],
        strict=strict,
        fmt=fmt,
    )


@click.command(
    "to-labelstudio",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv to-labelstudio fixtures/train/train.json -o out/tasks.json",
)
@_DATASET
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
    help="The tasks JSON to import into Label Studio; - for stdout (then give --config-out).",
)  # fmt: skip
@click.option(
    "--image-root", default="/data/local-files/?d=", show_default=True, metavar="PREFIX",
    help="data.image = PREFIX + file_name (URL-escaped): e.g. /data/local-files/?d=images/ or https://host/bucket/.",
)  # fmt: skip
@click.option(
    "--as", "as_", type=click.Choice(["predictions", "annotations"]), default="predictions", show_default=True,
    help="Write the regions as predictions (pre-annotations to correct) or as annotations.",
)  # fmt: skip
@click.option(
    "--config-out", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
    help="Where the matching labelling config goes (default: <output stem>.label_config.xml beside it).",
)  # fmt: skip
@click.option(
    "--model-version", default="kpconv", show_default=True, help="model_version of the predictions."
)
@click.option(
    "--visibility-attribute", metavar="NAME",
    help="Keep visibility: a per-point Choices NAME (visible/occluded) in the tasks and the config.",
)  # fmt: skip
@click.option(
    "--images", "images_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Folder the file_name values are relative to: the validation then checks the images too.",
)  # fmt: skip
@prediction_options
@_FORMAT
@_STRICT
def to_labelstudio_command(
    dataset: Path,
    output: Path,
    image_root: str,
    as_: str,
    config_out: Path | None,
    model_version: str,
    visibility_attribute: str | None,
    images_dir: Path | None,
    results_dataset: Path | None,
    score_threshold: float,
    keypoint_threshold: float | None,
    fmt: str,
    strict: bool,
) -> int:
    """Write a COCO keypoint DATASET as Label Studio tasks (tasks.json) and their labelling config.

    Each instance: a rectanglelabels box and a keypointlabels point per labelled keypoint with
    parentID = the box; coordinates in percent. v=0 points are left out; v=1 read back as v=2
    unless --visibility-attribute is given. Set the config in the project, then import the tasks.
    With --dataset, DATASET.json is a COCO results file (kpconv predict): its predictions become
    pre-annotations with their scores. Only a dataset that validates is written.
    """
    from ..formats import labelstudio

    options = labelstudio.WriteOptions(
        image_root=image_root, as_=as_, config_out=config_out, model_version=model_version,
        visibility_attribute=visibility_attribute,
    )  # fmt: skip
    inputs = [dataset, *([results_dataset] if results_dataset else [])]
    check_output(output, inputs, fmt)
    ensure_not_input(labelstudio.writer.config_path(output, options), inputs)
    return _export("to-labelstudio", dataset, images_dir, output, fmt, strict,
                   lambda doc: labelstudio.write(doc, output, options, strict=strict),
                   (results_dataset, score_threshold, keypoint_threshold))  # fmt: skip
