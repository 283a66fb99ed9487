"""``kpconv visualize``: draw keypoints, skeletons and validation findings on the images."""

from __future__ import annotations

from pathlib import Path

import click

from .. import progress
from ..errors import UsageError
from ..finding import Report, Severity
from ..visualize import (
    KeypointAnnotator,
    Selection,
    VisualizeOptions,
    load_report,
    load_view,
    visualize,
)
from ..visualize.render import check_grid
from .render import render_findings


def _id_set(ctx: click.Context, param: click.Parameter, value: str | None) -> set[int] | None:
    if value is None:
        return None
    out: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.add(int(part))
        except ValueError:
            raise click.BadParameter(
                f"expected comma-separated integer ids, found {part!r}"
            ) from None
    if not out:
        raise click.BadParameter("expected at least one id, e.g. 1,2,3")
    return out


@click.command("visualize")
@click.argument("dataset", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--images",
    "images_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the images' file_names are relative to.  [default: the dataset's folder]",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder: images/ (one render per image), sheets/ (with --grid), summary.svg.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["png", "jpg"]),
    default="png",
    show_default=True,
    help="Format of the renders and sheets.",
)
@click.option("--image-ids", callback=_id_set, metavar="1,2,...", help="Only these images.")
@click.option(
    "--annotation-ids",
    callback=_id_set,
    metavar="1,2,...",
    help="Only these annotations (and the images they are on).",
)
@click.option("--category", metavar="NAME", help="Only annotations of this category.")
@click.option(
    "--limit", type=click.IntRange(min=1), help="At most this many images (in file order)."
)
@click.option(
    "--issues",
    "issues_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A `kpconv validate --format json` report: render only flagged annotations, "
    "with each finding's code and message on the picture and its keypoint or box marked.",
)
@click.option(
    "--grid",
    type=click.IntRange(min=1),
    metavar="N",
    help="Also write contact sheets of N captioned thumbnails each (flagged when an image has "
    "findings). A sheet may have at most $KPCONV_MAX_IMAGE_PIXELS pixels: N at most 3,192 by default.",
)
@click.option(
    "--summary/--no-summary",
    default=True,
    show_default=True,
    help="Write summary.svg (the report's charts): per-keypoint visibility (v=0/1/2) and instances "
    "per image.",
)
@click.option("--names", is_flag=True, help="Write each keypoint's name next to it.")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Parallel rendering threads (0: one per CPU).",
)
def command(
    dataset: Path,
    images_dir: Path | None,
    out_dir: Path,
    fmt: str,
    image_ids: set[int] | None,
    annotation_ids: set[int] | None,
    category: str | None,
    limit: int | None,
    issues_path: Path | None,
    grid: int | None,
    summary: bool,
    names: bool,
    workers: int,
) -> int:
    """Render DATASET's keypoints, skeletons and boxes onto its images, into OUTPUT.

    v=2 points are filled, v=1 hollow, v=0 not drawn; left/right keypoints blue/orange, centre
    green; a box derived from the points (the annotation has none) is dashed. Datasets that fail
    validation render too. Exit 0: all rendered; 1: an image missing, unreadable or too large
    (more pixels than $KPCONV_MAX_IMAGE_PIXELS, default 178,956,970; the rest are still rendered)
    or the file is not a COCO dataset; 2: usage.
    """
    progress.enable()
    check_grid(grid)  # a usage error before the dataset is read
    view = load_view(dataset)
    root = images_dir if images_dir is not None else dataset.parent
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "no such folder"
        raise UsageError(f"--images {root}: {what}")
    issues = load_report(issues_path) if issues_path is not None else None
    options = VisualizeOptions(
        fmt=fmt,
        grid=grid,
        summary=summary,
        workers=workers,
        annotator=KeypointAnnotator(show_names=names),
    )
    selection = Selection(
        image_ids=image_ids, annotation_ids=annotation_ids, category=category, limit=limit
    )
    protected = [dataset] + ([issues_path] if issues_path is not None else [])
    result = visualize(view, root, out_dir, options, selection, issues, protected)

    report = Report(findings=result.findings)
    lines = render_findings(report)
    if lines:
        click.echo("\n".join(lines), err=True)
    if issues is not None and not issues:
        click.echo("the report has no findings: nothing to draw", err=True)
    elif result.selected == 0:
        click.echo("no image matches the selection: nothing rendered", err=True)
    click.echo(
        f"rendered {len(result.rendered)} of {result.selected} image(s) into {out_dir / 'images'}",
        err=True,
    )
    if result.derived_boxes:
        click.echo(
            f"{result.derived_boxes} annotation(s) have no bbox: drawn dashed around their points",
            err=True,
        )
    if result.sheets:
        click.echo(
            f"wrote {len(result.sheets)} contact sheet(s) into {out_dir / 'sheets'}", err=True
        )
    if result.summary is not None:
        click.echo(f"wrote {result.summary}", err=True)
    errors = report.count(Severity.ERROR)
    return 1 if errors else 0
