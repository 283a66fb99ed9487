"""The dataset as the report reads it: images, annotations and categories, tolerant of bad entries.

A file that fits the validator's strict types is decoded with its fast decoder
(:func:`kpconv.validation.context.decode_fast`, msgspec: skips segmentations without building
them); any other JSON object is read as plain dicts and the entries the report cannot use are
left out (the validation findings say what is wrong with them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from ..fileio import loads_json
from ..validation.context import decode_fast


@dataclass
class ReportImage:
    id: int
    file_name: str
    width: int | None
    height: int | None


@dataclass
class ReportDataset:
    """The entries a report draws and charts (annotations as found: structs or dicts)."""

    images: list[ReportImage] = field(default_factory=list)
    annotations: list[Any] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)

    def category_names(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for c in self.categories:
            if type(c.get("id")) is int:
                out.setdefault(c["id"], str(c.get("name", c["id"])))
        return out


def field_of(entry: Any, name: str) -> Any:
    """``entry[name]`` of a dict or a msgspec struct; None when absent."""
    if isinstance(entry, dict):
        return entry.get(name)
    value = getattr(entry, name, None)
    return value if isinstance(value, int | float | str | list) else None


def _int(v: Any) -> int | None:
    return v if type(v) is int else None


def read_dataset(data: bytes, source: str = "<input>") -> ReportDataset | None:
    """The report's view of a COCO file's bytes; None when it is not a JSON object."""
    fast = decode_fast(data)
    if fast is not None:
        return ReportDataset(
            [ReportImage(i.id, i.file_name, i.width, i.height) for i in fast.images],
            list(fast.annotations),
            [c for c in fast.categories if isinstance(c, dict)],
        )
    try:
        doc = loads_json(data, source=source)
    except DataError:
        return None
    if not isinstance(doc, dict):
        return None
    return dataset_from_document(doc)


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def dataset_from_document(doc: dict[str, Any]) -> ReportDataset:
    """Keep the entries with integer ids (and, for images, a file name)."""
    images = [
        ReportImage(e["id"], e["file_name"], _int(e.get("width")), _int(e.get("height")))
        for e in _list(doc, "images")
        if type(e.get("id")) is int and isinstance(e.get("file_name"), str) and e["file_name"]
    ]
    annotations = [
        e for e in _list(doc, "annotations")
        if all(type(e.get(k)) is int for k in ("id", "image_id", "category_id"))
    ]
    return ReportDataset(images, annotations, _list(doc, "categories"))
