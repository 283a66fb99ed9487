"""LabelMe / X-AnyLabeling JSON files or folders → the pipeline's :class:`~kpconv.convert.pipeline.Parsed`.

:func:`read` finds and parses the files (:mod:`.reader`: one JSON file per image, shapes grouped
into instances, visibility from flags and label suffixes); the shared pipeline builds the COCO
dataset. Embedded ``imageData`` is written out as image files only after the output is written
(``Parsed.extra_files``), and never into the COCO file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ...convert.pipeline import Parsed
from ...finding import Finding
from .reader import (
    DEFAULT_CATEGORY,
    DEFAULT_OCCLUDED_SUFFIXES,
    DESCRIPTION,
    OCCLUDED_FLAGS,
    Extraction,
    LabelmeOptions,
    LabelmeParse,
    find_json_files,
    parse_paths,
    write_extractions,
)
from .writer import WriteOptions, write

__all__ = [
    "DEFAULT_CATEGORY",
    "DEFAULT_OCCLUDED_SUFFIXES",
    "DESCRIPTION",
    "OCCLUDED_FLAGS",
    "Extraction",
    "LabelmeOptions",
    "LabelmeParse",
    "find_json_files",
    "parse_paths",
    "read",
    "write",
    "write_extractions",
    "WriteOptions",
]


def read(
    sources: Sequence[Path], options: LabelmeOptions | None = None, *, exclude: Iterable[Path] = ()
) -> Parsed:
    """Every LabelMe JSON file under ``sources`` as one :class:`Parsed` (see :func:`parse_paths`)."""
    parsed = parse_paths(list(sources), options, exclude=exclude)
    n = len(parsed.files)
    title = f"{n} file{'s' if n != 1 else ''}" + (f", {parsed.files_failed} unreadable" if parsed.files_failed else "") + (
        f", {parsed.files_skipped} of another format skipped" if parsed.files_skipped else ""
    )

    def extract() -> tuple[dict[str, int], list[Finding]]:
        written, problems = write_extractions(parsed.extractions)
        return {"images_extracted": written}, problems

    return Parsed.single(
        "labelme",
        title,
        parsed.result,
        summary=parsed.summary(),
        extra_files=extract if parsed.extractions else None,
        inputs_failed=parsed.files_failed,
    )
