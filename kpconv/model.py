"""The one internal representation: pydantic models of a COCO keypoint dataset.

Structural only: field presence and types. Semantic rules (ids, lengths, visibility, boxes) live
in :mod:`kpconv.validation`. Unknown keys are kept and written back; fields that real files omit are
optional, and ``save`` writes back only what was set, so absent stays absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import DataError
from .fileio import read_json, write_json
from .finding import error, from_pydantic_errors

Number = int | float


class _CocoModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Image(_CocoModel):
    """One image entry; ``file_name`` is relative to the images folder."""

    id: int
    file_name: str
    width: int
    height: int


class Annotation(_CocoModel):
    """One instance: ``keypoints`` is the flat ``[x1, y1, v1, x2, y2, v2, ...]`` list."""

    id: int
    image_id: int
    category_id: int
    keypoints: list[Number] = Field(default_factory=list)
    num_keypoints: int | None = None
    bbox: list[Number] | None = None
    area: Number | None = None
    iscrowd: int | None = None
    segmentation: Any = None


class Category(_CocoModel):
    """A keypoint category: ordered keypoint names and a 1-based skeleton."""

    id: int
    name: str
    supercategory: str | None = None
    keypoints: list[str] = Field(default_factory=list)
    skeleton: list[list[int]] = Field(default_factory=list)


class Dataset(_CocoModel):
    """A COCO keypoint document."""

    info: Any = None
    licenses: Any = None
    images: list[Image] = Field(default_factory=list)
    annotations: list[Annotation] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        """The plain JSON document (only fields that were set, extras included)."""
        return self.model_dump(mode="json", exclude_unset=True)


def not_object_message(doc: Any) -> str:
    """What to tell a user whose JSON document is not a COCO object (it says what it looks like)."""
    kind = {list: "array", str: "string", int: "number", float: "number", type(None): "null"}.get(type(doc), "value")
    hint = ""
    if isinstance(doc, list):
        first = doc[0] if doc and isinstance(doc[0], dict) else {}
        if "data" in first and ("annotations" in first or "predictions" in first):
            hint = " (this looks like a Label Studio export, which kpconv does not read yet)"
        else:
            hint = " (a list looks like a COCO results file, not a dataset)"
    return f"expected a COCO object with images/annotations/categories, found a JSON {kind}{hint}"


def dataset_from_document(doc: Any, *, source: str = "<input>") -> Dataset:
    """Build a :class:`Dataset` from a parsed JSON document; problems become a located DataError."""
    if not isinstance(doc, dict):
        what = not_object_message(doc)
        raise DataError(f"{source}: {what}", [error("document.not_object", what, "", source=source)])
    try:
        return Dataset.model_validate(doc)
    except ValidationError as exc:
        findings = from_pydantic_errors([dict(e) for e in exc.errors(include_url=False)])
        first = findings[0]
        msg = f"{source}{first.pointer}: {first.message}"
        if len(findings) > 1:
            msg += f" (and {len(findings) - 1} more structural problems; run `kpconv validate`)"
        raise DataError(msg, findings) from None


def load(path: str | Path) -> Dataset:
    """Read a COCO keypoint JSON file into a :class:`Dataset`.

    Raises :class:`kpconv.errors.DataError` with located findings when the file is not JSON or
    not structurally a COCO dataset; :class:`kpconv.errors.UsageError` when it does not exist.
    """
    path = Path(path)
    return dataset_from_document(read_json(path), source=str(path))


def save(dataset: Dataset | dict[str, Any], path: str | Path) -> None:
    """Write a dataset as deterministic JSON (sorted keys), atomically."""
    doc = dataset.to_document() if isinstance(dataset, Dataset) else dataset
    write_json(Path(path), doc)
