"""The dataset as the report reads it: images, annotations and categories, tolerant of bad entries.

The report reads what the validator decoded (:func:`kpconv.validation.decode_and_validate`): the
typed document with its keypoints parsed in bulk when the file fits the validator's strict
types, else the plain JSON object, whose entries the report cannot use are left out (the
validation findings say what is wrong with them). Keypoints are one
:class:`~kpconv.validation.context.NumberLists` either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from ..fileio import loads_json_exact
from ..validation.context import CheckedDocument, NumberLists, decode_checked


@dataclass
class ReportImage:
    id: int
    file_name: str
    width: int | None
    height: int | None


@dataclass
class ReportDataset:
    """The entries a report draws and charts (annotations as found: structs or dicts, their
    keypoints in ``keypoints``, row ``i`` for annotation ``i``)."""

    images: list[ReportImage] = field(default_factory=list)
    annotations: list[Any] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    keypoints: NumberLists | None = None

    def category_names(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for c in self.categories:
            if type(c.get("id")) is int:
                out.setdefault(c["id"], str(c.get("name", c["id"])))
        return out

    def drawable(self, i: int) -> dict[str, Any]:
        """Annotation ``i`` as the visualizer's annotator draws it."""
        ann = self.annotations[i]
        keypoints = list(self.keypoints.lists[i]) if self.keypoints is not None else []
        return {k: field_of(ann, k) for k in ("id", "image_id", "category_id", "bbox")} | {"keypoints": keypoints}


_PLAIN = frozenset((int, float, str, list, bool))


def field_of(entry: Any, name: str) -> Any:
    """``entry[name]`` of a dict or a msgspec struct; None when absent."""
    if type(entry) is dict:
        return entry.get(name)
    value = getattr(entry, name, None)
    return value if type(value) in _PLAIN else None


def _int(v: Any) -> int | None:
    return v if type(v) is int else None


def report_dataset(decoded: CheckedDocument | dict[str, Any] | None) -> ReportDataset | None:
    """The report's view of what :func:`~kpconv.validation.decode_and_validate` decoded."""
    if isinstance(decoded, CheckedDocument):
        doc = decoded.doc
        return ReportDataset(
            [ReportImage(i.id, i.file_name, i.width, i.height) for i in doc.images],
            list(doc.annotations),
            [c for c in doc.categories if isinstance(c, dict)],
            decoded.keypoints,
        )
    if isinstance(decoded, dict):
        return dataset_from_document(decoded)
    return None


def read_dataset(data: bytes, source: str = "<input>") -> ReportDataset | None:
    """The report's view of a COCO file's bytes; None when it is not a JSON object."""
    checked = decode_checked(data)
    if checked is not None:
        return report_dataset(checked)
    try:
        doc = loads_json_exact(data, source=source)
    except DataError:
        return None
    return report_dataset(doc) if isinstance(doc, dict) else None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


#: a float64 holds integers up to about 1.8e308; a larger one is no coordinate the report can chart
_LARGEST = 1 << 1023


def _numbers(value: Any) -> list[Any]:
    """A keypoint list of plain numbers, else empty (the report leaves it out; the validation
    findings say what is wrong with it)."""
    if isinstance(value, list) and all(
        type(v) is float or (type(v) is int and -_LARGEST < v < _LARGEST) for v in value
    ):
        return value
    return []


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
    keypoints = NumberLists.of([_numbers(e.get("keypoints")) for e in annotations])
    return ReportDataset(images, annotations, _list(doc, "categories"), keypoints)
