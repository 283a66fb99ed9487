"""``kpconv report``: the validation result, charts and flagged images as one static HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from .. import progress
from ..errors import DataError, UsageError
from ..finding import Report, error
from ..validation import decode_and_validate
from .render import render_counts
from .validate_cmd import is_stream, read_bytes


def write_html_report(
    file: Path, out_dir: Path, images: Path | None = None, for_training: bool = False,
    max_images: int = 200, max_per_code: int = 10_000,
) -> Report:
    """Validate ``file`` as ``kpconv validate`` does and write ``out_dir/index.html``; the report."""
    from ..formats import yolo  # numpy, the builder: only for a command that runs
    from ..report import ReportOptions, report_dataset, write_report

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"-o {out_dir}: exists and is not a folder")
    if images is not None and out_dir.resolve() == images.resolve():
        raise UsageError(f"-o {out_dir}: is the images folder; give a new folder for the report")
    options = ReportOptions(title=f"kpconv report: {file.name}", images=images,
                            max_images=max_images, for_training=for_training)
    if not is_stream(file) and yolo.looks_like_data_file(file):  # a pipe is read once: as JSON
        if images is not None or for_training:
            raise UsageError(f"{file} is a YOLO pose data.yaml: --images and --for-training apply to COCO files "
                             "(convert it with kpconv from-yolo first)")
        report = yolo.lint(file, max_per_code)
        write_report(report, None, out_dir, options)
        return report
    try:
        data = read_bytes(file)
    except DataError as exc:
        report = Report(findings=exc.findings or [error("document.not_json", exc.message)])
        write_report(report, None, out_dir, options)
        return report
    # one decode for both: the validator's typed document (else the plain one) is the report's
    report, decoded = decode_and_validate([data], images, for_training, max_per_code, source=str(file))
    del data
    write_report(report, report_dataset(decoded), out_dir, options)
    return report


@click.command("report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write index.html (and images/ with --images) into.")
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder the file_names are relative to: files are checked as validate does, and the "
              "flagged images are drawn into the report.")
@click.option("--for-training", is_flag=True,
              help="Add the Keypoint R-CNN rules and the dry run of what training would skip.")
@click.option("--max-images", type=click.IntRange(min=0), default=200, show_default=True,
              help="Draw at most this many images (flagged ones first, then a few clean ones).")
@click.option("--max-per-code", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="List at most this many findings per code (the rest are counted).")
@click.option("--strict", is_flag=True, help="Warnings count as failures (exit 1).")
def command(file: Path, out_dir: Path, images: Path | None, for_training: bool, max_images: int,
            max_per_code: int, strict: bool) -> int:
    """Write a static HTML report of FILE: verdict, counts, every finding, charts, flagged images.

    The folder's index.html opens from the file system and makes no network request. FILE may
    also be a YOLO pose data.yaml (its lint findings). Exit codes as `kpconv validate`.
    """
    progress.enable()
    report = write_html_report(file, out_dir, images, for_training, max_images, max_per_code)
    verdict = "OK" if report.passes(strict=strict) else "FAILED"
    click.echo(f"{verdict}: {render_counts(report)}; report: {out_dir / 'index.html'}")
    return 0 if report.passes(strict=strict) else 1
