"""``kpconv.report``: one static HTML page (plus its pictures) to look at a dataset and every finding.

The page shows the validation result exactly as ``kpconv validate`` computes it (the caller passes
the :class:`~kpconv.finding.Report`), the dataset's charts, and, with an images folder, the flagged
images drawn by the visualizer's annotator. It opens from file:// and makes no network request.

    from kpconv.report import ReportOptions, report_dataset, write_report
    from kpconv.validation import decode_and_validate

    report, decoded = decode_and_validate(path.read_bytes())  # one decode for both
    write_report(report, report_dataset(decoded), Path("report"), ReportOptions(images=root))
"""

from __future__ import annotations

from .build import MAX_IMAGES, ReportOptions, ReportResult, finding_rows, write_report
from .dataset import ReportDataset, read_dataset, report_dataset

__all__ = ["MAX_IMAGES", "ReportDataset", "ReportOptions", "ReportResult", "finding_rows", "read_dataset", "report_dataset", "write_report"]
