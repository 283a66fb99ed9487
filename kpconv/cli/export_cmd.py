"""``kpconv to-labelme`` and ``kpconv to-cvat``: a validated COCO keypoint dataset back into the tools.

Both run the same way as ``to-yolo``: the dataset is validated first and refused (exit 1, the
report printed, nothing written) when it has errors; then the format's ``write`` takes the
validated document. With ``--dataset``, the argument is a COCO results file (``kpconv
predict``): its predictions become the annotations of that dataset's images
(:mod:`kpconv.convert.predictions`), so the tools get pre-annotations to correct.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import progress
from ..fileio import dumps_json, loads_json, read_input_bytes
from ..finding import Finding, Report
from ..validation import validate_bytes
from .common import check_output, shown_output
from .render import emit_json, render_text

_DATASET = click.argument(
    "dataset", type=click.Path(path_type=Path, exists=True, dir_okay=False), metavar="DATASET.json"
)
_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Report format: text on stderr, or JSON on stdout.",
)  # fmt: skip
_STRICT = click.option(
    "--strict", is_flag=True, help="Warnings count as failures: exit 1 and write nothing."
)


def prediction_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--dataset``, ``--score-threshold``, ``--keypoint-threshold``: the argument is then a COCO
    results file whose predictions are written as pre-annotations."""
    for option in reversed((
        click.option(
            "--dataset", "results_dataset", type=click.Path(path_type=Path, exists=True, dir_okay=False),
            metavar="DATASET.json",
            help="The argument is a COCO results file (kpconv predict -o): write its predictions as the "
            "annotations of this dataset's images and categories (pre-annotations to correct).",
        ),
        click.option(
            "--score-threshold", type=click.FloatRange(min=0), default=0.5, show_default=True,
            help="With --dataset: predictions scoring below this are left out.",
        ),
        click.option(
            "--keypoint-threshold", type=click.FloatRange(min=0), default=None,
            help="With --dataset: predicted points whose keypoint_scores entry is below this are left "
            "unlabelled for the labeller to place (default: every point kept).",
        ),
    )):  # fmt: skip
        func = option(func)
    return func


def _input(
    path: Path, results_dataset: Path | None, score_threshold: float, keypoint_threshold: float | None
) -> tuple[bytes | None, list[Finding]]:
    """The dataset's bytes: the file itself, or (``--dataset``) the predictions of the results file
    ``path`` made into annotations of that dataset (None when the results cannot be read)."""
    if results_dataset is None:
        return read_input_bytes(path), []
    from ..convert.predictions import PredictionOptions, dataset_from_results

    results = loads_json(read_input_bytes(path), source=str(path))
    dataset = loads_json(read_input_bytes(results_dataset), source=str(results_dataset))
    if not isinstance(dataset, dict):
        from ..errors import DataError

        raise DataError(f"{results_dataset}: expected a COCO dataset (a JSON object), found {type(dataset).__name__}")
    doc, findings = dataset_from_results(
        results, dataset, PredictionOptions(score_threshold, keypoint_threshold), source=str(path)
    )
    return (dumps_json(doc) if doc is not None else None), findings


def _export(
    command: str, dataset: Path, images: Path | None, output: Path, fmt: str, strict: bool,
    write: Callable[[dict[str, Any]], Report], predictions: tuple[Path | None, float, float | None] = (None, 0.5, None),
) -> int:  # fmt: skip
    """Validate DATASET, write it with ``write`` when it passes, print the report; the exit code."""
    progress.enable()
    data, notes = _input(dataset, *predictions)
    if data is None:
        checked = Report(findings=notes)
    else:
        checked = validate_bytes(data, images, source=str(dataset))
        checked.findings[:0] = notes
    written: Report | None = None
    if data is not None and checked.passes(strict=strict):
        doc = loads_json(data, source=str(dataset))
        del data
        written = write(doc)
    summary: dict[str, Any] = {
        k: checked.summary[k]
        for k in ("images", "annotations", "categories")
        if k in checked.summary
    }
    if written is not None:
        summary[command.removeprefix("to-")] = written.summary
    report = Report(
        findings=checked.findings + (written.findings if written else []), summary=summary
    )
    ok = written is not None and written.summary.get("written") is not None
    written_facts: dict[str, Any] = written.summary if written is not None else {}
    if fmt == "json":
        doc_out = report.to_dict()
        doc_out["output"] = shown_output(output) if ok else None
        emit_json(doc_out)
    else:
        click.echo(render_text(report, title=f"kpconv {command}: {dataset}"), err=True)
        if not ok:
            why = "the dataset does not validate" if written is None else "see the findings above"
            click.echo(f"nothing written ({why})", err=True)
        else:
            facts = ", ".join(
                f"{v} {k}" for k, v in written_facts.items() if k not in ("written", "mode")
            )
            click.echo(f"wrote {shown_output(output)} ({facts})", err=True)
    return 0 if ok else 1


@click.command(
    "to-labelme",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv to-labelme fixtures/train/train.json --images fixtures/train/images -o out/labelme",
)
@_DATASET
@click.option(
    "--images", "images_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Folder the dataset's file_name values are relative to (imagePath points there; also checked by "
    "the validation). Default: the JSON files go beside the images, -o being the image folder.",
)  # fmt: skip
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path, file_okay=False),
    help="Output folder: one OUT/<file_name less its suffix>.json per image.",
)  # fmt: skip
@prediction_options
@_FORMAT
@_STRICT
def to_labelme_command(
    dataset: Path, images_dir: Path | None, output: Path, results_dataset: Path | None,
    score_threshold: float, keypoint_threshold: float | None, fmt: str, strict: bool,
) -> int:  # fmt: skip
    """Write a COCO keypoint DATASET as LabelMe 5.x JSON files, one per image.

    Each instance: a rectangle (its bbox) and a point per labelled keypoint, one group_id per
    instance; occluded points (v=1) flagged, unlabelled ones (v=0) left out. `kpconv from-labelme
    OUT --images DIR --spec SPEC` reads them back into the same COCO. Only a dataset that
    validates is written.
    """
    from ..formats import labelme

    check_output(output, [dataset, *([results_dataset] if results_dataset else [])], fmt)
    options = labelme.WriteOptions(images=images_dir)
    return _export("to-labelme", dataset, images_dir, output, fmt, strict,
                   lambda doc: labelme.write(doc, output, options, strict=strict),
                   (results_dataset, score_threshold, keypoint_threshold))  # fmt: skip


@click.command(
    "to-cvat",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: kpconv to-cvat fixtures/train/train.json -o out/annotations.zip",
)
@_DATASET
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
    help="annotations.xml, or a .zip holding annotations.xml (what CVAT's upload takes); - for stdout.",
)  # fmt: skip
@click.option(
    "--boxes/--no-boxes", default=True, show_default=True,
    help="Write each bbox as a <box> (label <category>_box) grouped with its skeleton.",
)  # fmt: skip
@click.option(
    "--video", is_flag=True,
    help="CVAT for video 1.1: one track per instance (or per attributes.track_id); frames from "
    "images[].frame, else the file name order.",
)  # fmt: skip
@click.option(
    "--images", "images_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Folder the file_name values are relative to: the validation then checks the images too.",
)  # fmt: skip
@prediction_options
@_FORMAT
@_STRICT
def to_cvat_command(
    dataset: Path,
    output: Path,
    boxes: bool,
    video: bool,
    images_dir: Path | None,
    results_dataset: Path | None,
    score_threshold: float,
    keypoint_threshold: float | None,
    fmt: str,
    strict: bool,
) -> int:
    """Write a COCO keypoint DATASET as CVAT for images 1.1 XML (or CVAT for video 1.1 with --video).

    Each category becomes a skeleton label (its keypoints as sublabels, its edges in the SVG);
    each instance a <skeleton> with all K points: outside="1" for v=0, occluded="1" for v=1.
    Upload it in CVAT as "CVAT 1.1"; `kpconv from-cvat` reads it back into the same COCO. Only a
    dataset that validates is written.
    """
    from ..formats import cvat

    check_output(output, [dataset, *([results_dataset] if results_dataset else [])], fmt)
    options = cvat.WriteOptions(boxes=boxes, video=video, task_name=dataset.stem)
    return _export("to-cvat", dataset, images_dir, output, fmt, strict,
                   lambda doc: cvat.write(doc, output, options, strict=strict),
                   (results_dataset, score_threshold, keypoint_threshold))  # fmt: skip
