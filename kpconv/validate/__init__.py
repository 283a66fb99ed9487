"""Validation entry point (being filled in: see kpconv/validate/checks.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..finding import Report
from ..model import Dataset


def validate(
    dataset: Dataset | dict[str, Any],
    images: Path | None = None,
    for_training: bool = False,
    spec: Any = None,
) -> Report:
    """Check a COCO keypoint dataset; return a :class:`Report` (never raises on bad data)."""
    return Report()
