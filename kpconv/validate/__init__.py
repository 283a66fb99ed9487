"""``kpconv.validate``: check a COCO keypoint dataset and report every problem with its location.

The rules are small functions listed in :mod:`kpconv.validate.checks` (``CHECKS``, plus
``TRAINING_CHECKS`` for ``for_training``); this module runs them and assembles the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..finding import Report
from ..model import Dataset
from .checks import CHECKS, TRAINING_CHECKS, training_skips
from .context import MAX_PER_CODE, Context
from .files import check_image_files
from .summary import summarize

__all__ = ["validate", "validate_document", "CHECKS", "TRAINING_CHECKS"]


def validate_document(
    doc: Any,
    images: Path | None = None,
    for_training: bool = False,
    max_per_code: int = MAX_PER_CODE,
) -> Report:
    """Validate a parsed JSON document (dicts and lists). Never raises on bad data."""
    from ..finding import error

    if not isinstance(doc, dict):
        kind = {list: "array"}.get(type(doc), type(doc).__name__)
        hint = " (a list looks like a COCO results file, not a dataset)" if isinstance(doc, list) else ""
        return Report(
            findings=[error("document.not_object",
                            f"expected a COCO object with images/annotations/categories, found a JSON {kind}{hint}")],
            summary={},
        )
    ctx = Context(doc=doc, images_dir=Path(images) if images is not None else None,
                  for_training=for_training, max_per_code=max_per_code)
    for check in CHECKS:
        check(ctx)
    check_image_files(ctx)
    if for_training:
        for check in TRAINING_CHECKS:
            check(ctx)
    findings = ctx.findings + ctx.overflow_findings()
    summary = summarize(ctx)
    if for_training:
        summary["training_skips"] = training_skips(ctx)
    return Report(findings=findings, summary=summary)


def validate(
    dataset: Dataset | dict[str, Any],
    images: Path | str | None = None,
    for_training: bool = False,
    max_per_code: int = MAX_PER_CODE,
) -> Report:
    """Check a COCO keypoint dataset; return a :class:`~kpconv.finding.Report`.

    ``dataset`` is a :class:`~kpconv.model.Dataset` or the plain JSON document. ``images`` checks
    the files (exist, readable, real size); ``for_training`` adds the Keypoint R-CNN rules and a
    dry-run count of what training would skip.
    """
    doc = dataset.to_document() if isinstance(dataset, Dataset) else dataset
    return validate_document(doc, Path(images) if images is not None else None, for_training, max_per_code)
