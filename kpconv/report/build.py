"""Building a report folder: the validation result, the dataset's charts, pictures, one page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fileio import atomic_write_bytes
from ..finding import Finding, Report
from .dataset import ReportDataset, field_of
from .page import render_page
from .pictures import Picture, choose_images, draw_pictures

#: pictures drawn by default (flagged images first)
MAX_IMAGES = 200


@dataclass
class ReportOptions:
    """What to put in the report besides the validation result."""

    title: str = "kpconv report"
    images: Path | None = None  # draw pictures from this folder (none without it)
    max_images: int = MAX_IMAGES
    for_training: bool = False


@dataclass
class ReportResult:
    """What was written: the page, the pictures drawn, the report it shows."""

    index: Path
    report: Report
    pictures: list[Picture] = field(default_factory=list)


def finding_rows(report: Report, ds: ReportDataset | None) -> tuple[list[list[Any]], dict[int, list[int]]]:
    """One compact row per finding (the page's JSON) and {image id: row indexes}.

    Row: index, severity, code, message, pointer, source, image id, annotation id, image file
    name, category name, picture (filled in later, -1 none), number on the picture.
    """
    names = {im.id: im.file_name for im in ds.images} if ds else {}
    cats = ds.category_names() if ds else {}
    ann_of: dict[int, Any] = {}
    if ds:
        wanted = {f.annotation_id for f in report.findings if f.annotation_id is not None}
        for ann in ds.annotations:
            aid = field_of(ann, "id")
            if aid in wanted:
                ann_of.setdefault(aid, ann)
    rows: list[list[Any]] = []
    by_image: dict[int, list[int]] = {}
    for i, f in enumerate(report.findings):
        ann = ann_of.get(f.annotation_id) if f.annotation_id is not None else None
        image_id = f.image_id if f.image_id is not None else (field_of(ann, "image_id") if ann else None)
        category = cats.get(field_of(ann, "category_id")) if ann is not None else None  # type: ignore[arg-type]
        rows.append([i, f.severity.value, f.code, f.message, f.pointer, f.source, image_id,
                     f.annotation_id, names.get(image_id) if image_id is not None else None,
                     category, -1, 0])
        if image_id is not None:
            by_image.setdefault(image_id, []).append(i)
    return rows, by_image


def plan_pictures(report: Report, ds: ReportDataset, by_image: dict[int, list[int]],
                  max_images: int) -> list[Picture]:
    """Pictures of the flagged images (and a sample of clean ones), what to draw on each."""
    known = {im.id: im for im in ds.images}
    flagged = [iid for iid in by_image if iid in known]
    clean = [im.id for im in ds.images if im.id not in by_image]
    chosen = choose_images(flagged, clean, max_images)
    wanted = set(chosen)
    anns: dict[int, list[int]] = {}
    for i, ann in enumerate(ds.annotations):
        image_id = field_of(ann, "image_id")
        if image_id in wanted:
            anns.setdefault(image_id, []).append(i)
    out = []
    for iid in chosen:
        findings: list[Finding] = [report.findings[i] for i in by_image.get(iid, [])]
        marked = {f.annotation_id for f in findings if f.annotation_id is not None}
        mine = anns.get(iid, [])
        # the flagged instances when the findings name some, else everything on the image
        drawn = [i for i in mine if field_of(ds.annotations[i], "id") in marked] or mine
        out.append(Picture(known[iid], [ds.drawable(i) for i in drawn], findings))
    return out


def write_report(report: Report, ds: ReportDataset | None, out_dir: Path,
                 options: ReportOptions | None = None) -> ReportResult:
    """Write ``out_dir/index.html`` (and ``out_dir/images/`` with --images) for a validation report."""
    options = options or ReportOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, by_image = finding_rows(report, ds)
    pictures: list[Picture] = []
    if ds is not None and options.images is not None and options.max_images > 0:
        pictures = plan_pictures(report, ds, by_image, options.max_images)
        cats = {c["id"]: c for c in ds.categories if type(c.get("id")) is int}
        draw_pictures(pictures, options.images, out_dir, cats)
        for n, pic in enumerate(pictures):
            for mark, i in enumerate(by_image.get(pic.image.id, []), start=1):
                rows[i][10], rows[i][11] = n, mark
    html = render_page(report, ds, rows, pictures, options.title, options.for_training)
    index = out_dir / "index.html"
    atomic_write_bytes(index, html.encode("utf-8"))
    return ReportResult(index, report, pictures)
