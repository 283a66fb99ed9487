"""``kpconv.validation`` (``kpconv.validate`` is its main function): check a COCO keypoint dataset and report every problem with its location.

The rules are small functions listed in :mod:`kpconv.validation.checks`; this module runs them and
assembles the report. :func:`validate_bytes` is the one route for bytes, a file's or a converter's
output (strict typed decode with keypoints parsed in bulk, falling back to the located slow path
when the file does not fit the strict types).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..fileio import loads_json_exact
from ..finding import Report, error
from ..progress import track
from .checks import CHECKS, STRUCTURAL_CHECKS, TRAINING_CHECKS, training_skips
from .context import MAX_PER_CODE, CheckedDocument, Context, decode_checked
from .files import check_image_files
from .summary import summarize

if TYPE_CHECKING:
    from ..model import Dataset

__all__ = ["validate", "validate_document", "validate_bytes", "decode_and_validate", "CHECKS", "STRUCTURAL_CHECKS", "TRAINING_CHECKS"]


def _not_object(doc: Any) -> Report:
    from ..model import not_object_message

    return Report(findings=[error("document.not_object", not_object_message(doc))])


def _run(ctx: Context) -> Report:
    if not ctx.structure_proven:
        for check in STRUCTURAL_CHECKS:
            check(ctx)
    for check in track(CHECKS, total=len(CHECKS), description="checking"):
        check(ctx)
    check_image_files(ctx)
    if ctx.for_training:
        for check in TRAINING_CHECKS:
            check(ctx)
    summary = summarize(ctx)
    if ctx.for_training:
        summary["training_skips"] = training_skips(ctx)
    return Report(findings=ctx.findings + ctx.overflow_findings(), summary=summary)


def validate_document(
    doc: Any, images: Path | None = None, for_training: bool = False, max_per_code: int = MAX_PER_CODE
) -> Report:
    """Validate a parsed JSON document (dicts and lists). Never raises on bad data."""
    if not isinstance(doc, dict):
        return _not_object(doc)
    return _run(Context(doc=doc, images_dir=images, for_training=for_training, max_per_code=max_per_code))


def validate_bytes(
    data: bytes | list[bytes], images: Path | None = None, for_training: bool = False,
    max_per_code: int = MAX_PER_CODE, source: str = "<input>",
) -> Report:
    """Validate a JSON file's bytes: typed fast path when the structure is right, else located slow path.

    ``data`` may be a one-item list holding the bytes; the list is emptied once the bytes are
    decoded, so a caller that keeps no other reference frees the raw file early.
    """
    return decode_and_validate(data, images, for_training, max_per_code, source)[0]


def decode_and_validate(
    data: bytes | list[bytes], images: Path | None = None, for_training: bool = False,
    max_per_code: int = MAX_PER_CODE, source: str = "<input>",
) -> tuple[Report, CheckedDocument | dict[str, Any] | None]:
    """:func:`validate_bytes`, also handing back what it decoded, for a caller that reads the
    dataset too (the report): the typed :class:`CheckedDocument`, else the plain document (a
    JSON object), else None."""
    if isinstance(data, list):
        raw = data.pop()
    else:
        raw = data
    fast = decode_checked(raw)
    if fast is not None:
        del raw, data
        ctx = Context.from_fast(fast, images_dir=images, for_training=for_training, max_per_code=max_per_code)
        return _run(ctx), fast
    try:
        # integers past 64 bits kept exact, so the checks name them as out of range
        doc = loads_json_exact(raw, source=source)
        del raw, data
    except DataError as exc:
        return Report(findings=exc.findings or [error("document.not_json", exc.message)]), None
    return validate_document(doc, images, for_training, max_per_code), doc if isinstance(doc, dict) else None


def validate(
    dataset: Dataset | dict[str, Any],
    images: Path | str | None = None,
    for_training: bool = False,
    max_per_code: int = MAX_PER_CODE,
) -> Report:
    """Check a COCO keypoint dataset; return a :class:`~kpconv.finding.Report`.

    ``dataset`` is a :class:`~kpconv.model.Dataset` or the plain JSON document. ``images`` checks
    the files (exist, readable, real size); ``for_training`` adds the Keypoint R-CNN rules and a
    dry-run count of what training would skip. Never raises on bad data.
    """
    # a Dataset (pydantic) gives its document; anything else is checked as the JSON it is
    to_document = getattr(dataset, "to_document", None)
    doc = to_document() if callable(to_document) and not isinstance(dataset, dict) else dataset
    return validate_document(doc, Path(images) if images is not None else None, for_training, max_per_code)
