"""Loading a COCO file for drawing: tolerant of everything but "this is not a COCO dataset".

Visualizing exists to look at broken data, so a file that fails validation still loads: when the
whole document passes the pydantic :class:`~kpconv.model.Dataset` model it is used as is; when it
does not, each image, annotation and category entry is checked on its own and the ones that
pass are kept (the others become ``visualize.entry_skipped`` findings). Only a file that is not
JSON, or JSON that is not a COCO object at all, is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import DataError
from ..fileio import read_json
from ..finding import Finding, error, from_pydantic_errors, pointer, warning
from ..model import Annotation, Category, Dataset, Image, dataset_from_document

_SECTIONS = ("images", "annotations", "categories")


@dataclass
class CocoView:
    """The drawable part of a COCO document, every entry with its position in the file.

    Positions (``images[i][0]``) are what JSON Pointers in findings index, so a finding on
    ``/annotations/17`` can be placed even after unusable entries were skipped.
    """

    doc: dict[str, Any]
    images: list[tuple[int, Image]] = field(default_factory=list)
    annotations: list[tuple[int, Annotation]] = field(default_factory=list)
    categories: list[tuple[int, Category]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    structurally_valid: bool = True

    def category_map(self) -> dict[int, Category]:
        """category id → category (the first one when ids repeat)."""
        out: dict[int, Category] = {}
        for _, cat in self.categories:
            out.setdefault(cat.id, cat)
        return out

    def annotations_by_image(self) -> dict[int, list[tuple[int, Annotation]]]:
        out: dict[int, list[tuple[int, Annotation]]] = {}
        for pos, ann in self.annotations:
            out.setdefault(ann.image_id, []).append((pos, ann))
        return out

    def raw_annotation_image_id(self, position: int) -> int | None:
        """The ``image_id`` written in annotation ``position`` even if the entry was skipped."""
        anns = self.doc.get("annotations")
        if (
            isinstance(anns, list)
            and 0 <= position < len(anns)
            and isinstance(anns[position], dict)
        ):
            v = anns[position].get("image_id")
            return v if type(v) is int else None
        return None


def _not_coco_hint(doc: dict[str, Any]) -> str:
    if "shapes" in doc and ("imagePath" in doc or "imageData" in doc):
        return " (this looks like a LabelMe file: convert it with `kpconv from-labelme` first)"
    return ""


def view_from_document(doc: Any, *, source: str = "<input>") -> CocoView:
    """A :class:`CocoView` of a parsed JSON document; DataError only when it is not COCO at all."""
    if not isinstance(doc, dict):
        dataset_from_document(doc, source=source)  # raises the shared "not an object" DataError
        raise AssertionError("unreachable")
    if not any(key in doc for key in _SECTIONS[:2]):
        found = ", ".join(sorted(map(str, doc))[:8]) or "nothing"
        msg = (
            f"{source}: not a COCO dataset: expected 'images' and 'annotations' at the top level, "
            f"found {found}{_not_coco_hint(doc)}"
        )
        raise DataError(msg, [error("document.not_coco", msg)])
    try:
        ds = Dataset.model_validate(doc)
    except ValidationError:
        return _salvage(doc)
    return CocoView(
        doc=doc,
        images=list(enumerate(ds.images)),
        annotations=list(enumerate(ds.annotations)),
        categories=list(enumerate(ds.categories)),
    )


def load_view(path: Path) -> CocoView:
    """Read a COCO file for drawing (see :func:`view_from_document`)."""
    return view_from_document(read_json(path), source=str(path))


def _entries(doc: dict[str, Any], key: str, view: CocoView) -> Iterator[tuple[int, Any]]:
    section = doc.get(key)
    if section is None:
        return
    if not isinstance(section, list):
        view.findings.append(
            warning(
                "visualize.entry_skipped",
                f"{key} must be an array, found {type(section).__name__}; nothing in it can be drawn",
                pointer(key),
            )
        )
        return
    yield from enumerate(section)


#: fields an entry needs to be drawn at all (ints must be real ints, not strings or booleans)
_ESSENTIAL: dict[str, tuple[tuple[str, type], ...]] = {
    "images": (("id", int), ("file_name", str)),
    "annotations": (("id", int), ("image_id", int), ("category_id", int)),
    "categories": (("id", int),),
}


def _essentials_ok(key: str, entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    return all(type(entry.get(name)) is kind for name, kind in _ESSENTIAL[key]) and (
        key != "images" or bool(entry["file_name"])
    )


def _salvage(doc: dict[str, Any]) -> CocoView:
    """Keep every entry that can be drawn; one finding per entry that cannot.

    An entry that fails its model but has its essentials (ids, file name) is kept unvalidated:
    the drawing code reads keypoints and boxes tolerantly, and ``kpconv validate`` reports
    what is wrong with it.
    """
    view = CocoView(doc=doc, structurally_valid=False)
    models: tuple[tuple[str, type[BaseModel], list[Any]], ...] = (
        ("images", Image, view.images),
        ("annotations", Annotation, view.annotations),
        ("categories", Category, view.categories),
    )
    for key, model, into in models:
        for pos, entry in _entries(doc, key, view):
            try:
                into.append((pos, model.model_validate(entry)))
                continue
            except ValidationError as exc:
                details: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False)]
                problems = from_pydantic_errors(details, base=(key, pos))
            if _essentials_ok(key, entry):
                into.append((pos, model.model_construct(**entry)))
                continue
            first = problems[0]
            view.findings.append(
                warning(
                    "visualize.entry_skipped",
                    f"{key[:-1]} not drawn: {first.pointer}: {first.message}",
                    pointer(key, pos),
                    image_id=_int_field(entry, "image_id" if key == "annotations" else "id")
                    if key != "categories"
                    else None,
                    annotation_id=_int_field(entry, "id") if key == "annotations" else None,
                )
            )
    return view


def _int_field(entry: Any, name: str) -> int | None:
    if isinstance(entry, dict) and type(entry.get(name)) is int:
        return int(entry[name])
    return None
