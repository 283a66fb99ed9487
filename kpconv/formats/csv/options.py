"""What every CSV layout shares: the options, the result shape and the column-name lookup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...convert.builder import ParseResult
from ...errors import DataError, UsageError
from .imagefiles import ImageOptions
from .table import CsvTable

#: Records read to recognise a layout (the header and a little more).
HEAD_RECORDS = 64

#: Default ``--frame-pattern`` for SLEAP analysis CSVs: frame 17 → ``frame_000017.png``.
DEFAULT_FRAME_PATTERN = "frame_{frame:06d}.png"

#: Column roles and the header names accepted for each by default (case-insensitive), first
#: preferred. ``--<role>-column NAME`` replaces the list with exactly NAME.
COLUMN_DEFAULTS: dict[str, tuple[str, ...]] = {
    "image": ("image", "file_name", "filename", "image_path", "image_name", "img", "file", "path"),
    "instance": ("instance", "instance_id", "individual", "track", "object", "object_id", "animal", "person"),
    "keypoint": ("keypoint", "bodypart", "keypoint_name", "label", "part", "landmark", "joint", "name"),
    "x": ("x",),
    "y": ("y",),
    "visibility": ("v", "visibility", "visible", "vis"),
    "category": ("category", "category_name", "class"),
}


@dataclass
class CsvOptions:
    """How to read a keypoint CSV (every field has a sensible default)."""

    layout: str = "auto"
    images: ImageOptions = field(default_factory=ImageOptions)
    config: Path | None = None  # DeepLabCut config.yaml; found in the project root when None
    columns: dict[str, str] = field(default_factory=dict)  # role → header name (see COLUMN_DEFAULTS)
    frame_pattern: str = DEFAULT_FRAME_PATTERN
    category_name: str | None = None  # default: "animal" (dlc, sleap), "object" (long, wide)
    delimiter: str | None = None  # sniffed when None
    keypoint_names: list[str] | None = None  # wide layout with numbered columns: names by index

    def category_or(self, default: str) -> str:
        return self.category_name or default


@dataclass
class LayoutResult:
    """A layout's parse: instances name images as the CSV writes them (``image_names``)."""

    parsed: ParseResult
    image_names: dict[str, str]  # CSV image name → where first named (file.csv:17)
    roots: list[Path]  # where to look for images, preferred first


def find_column(
    header: Sequence[str],
    role: str,
    options: CsvOptions,
    *,
    required: bool,
    display: str,
    header_line: int = 1,
) -> int | None:
    """Index of the column playing ``role`` (user's name, else the documented defaults)."""
    names = [h.strip().lower() for h in header]
    wanted = options.columns.get(role)
    if wanted is not None:
        try:
            return names.index(wanted.strip().lower())
        except ValueError:
            raise UsageError(
                f"{display}:{header_line}: --{role}-column {wanted!r} is not a column; the header has: "
                f"{', '.join(repr(h) for h in header)}"
            ) from None
    for candidate in COLUMN_DEFAULTS[role]:
        if candidate in names:
            return names.index(candidate)
    if required:
        accepted = ", ".join(COLUMN_DEFAULTS[role])
        raise DataError(
            f"{display}:{header_line}: no {role} column (accepted names: {accepted}; or pass --{role}-column NAME); "
            f"the header has: {', '.join(repr(h) for h in header)}"
        )
    return None


def first_record(rows: list[list[str]]) -> int:
    """Index of the first record that is not blank (the header of long/wide/sleap files)."""
    for i, row in enumerate(rows):
        if any(cell.strip() for cell in row):
            return i
    return len(rows)


def header_record(table: CsvTable) -> tuple[int, list[str]]:
    """(index, stripped cells) of the header: the first record with a non-blank cell; (n, [])
    when none (records of blank cells only come first in few files: the first ones are looked
    at, then all)."""
    rows = table.head(HEAD_RECORDS)
    h = first_record(rows)
    if h == len(rows) == HEAD_RECORDS:
        rows = table.rows
        h = first_record(rows)
    if h >= len(rows):
        return h, []
    return h, [c.strip() for c in rows[h]]
