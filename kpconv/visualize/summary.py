"""The dataset summary file ``summary.svg``: the report's charts of the validator's summary.

It charts :func:`kpconv.validation.validate`'s ``summary["visibility"]`` and
``summary["instances_per_image"]`` with :func:`kpconv.report.charts.summary_svg`, the chart code
``kpconv report`` draws its page with, so the file, the report and ``kpconv validate`` agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .document import CocoView

#: the summary's file name in the output folder
SUMMARY_FILE = "summary.svg"


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def summary_svg(view: CocoView) -> str:
    """The standalone SVG document of ``view``'s validation summary (title: its counts)."""
    # imported here: kpconv.report draws its pictures with this package (a cycle at import time)
    from ..report.charts import summary_svg as chart_summary
    from ..validation import validate

    summary = validate(view.doc).summary
    counts = ", ".join(
        _count(int(summary.get(key) or 0), noun)
        for key, noun in (("images", "image"), ("annotations", "annotation"), ("categories", "category"))
    )
    return chart_summary(summary, f"dataset summary: {counts}")
