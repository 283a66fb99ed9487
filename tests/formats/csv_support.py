"""Helpers shared by the CSV converter tests."""

from __future__ import annotations

from pathlib import Path

from kpconv.convert.builder import Conversion, convert
from kpconv.finding import Severity
from kpconv.formats.csv import CsvOptions, ImageOptions, parse_csv
from tests.conftest import FIXTURES

CSV = FIXTURES / "csv"
MALFORMED = CSV / "malformed"
SIZED = ImageOptions(image_size=(64, 48))


def run(path: Path, **kw: object) -> Conversion:
    """Parse a CSV with these CsvOptions and build it (no user spec)."""
    return convert(parse_csv(path, CsvOptions(**kw)), None)  # type: ignore[arg-type]


def errors(conv: Conversion) -> list[str]:
    """``code: message`` of every error finding."""
    return [f"{f.code}: {f.message}" for f in conv.report.findings if f.severity is Severity.ERROR]


def write_csv(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
