"""Annotation formats that kpconv reads into, and writes from, the one COCO representation.

Each format is one module (or a small subpackage) with the same interface: ``read`` (the source
into the pipeline's :class:`~kpconv.convert.pipeline.Parsed`: the builder's raw images and
instances per subset, findings, the spec the source defines) and, where the format can be
written, ``write`` (a validated COCO dataset into the tool's own layout, as the tool itself
writes it). :data:`FORMATS` lists them; every ``from-NAME`` command is ``FORMATS[NAME]``'s
``read`` followed by the one pipeline (:func:`kpconv.convert.pipeline.convert`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Format:
    """One row of :data:`FORMATS`: the module, and which directions it supports."""

    name: str
    module: str
    reads: str  # what ``read`` takes, as the user gives it
    writes: str | None = None  # what ``write`` produces; None when it cannot be written yet

    def load(self) -> ModuleType:
        """The format's module (imported on first use: numpy, pyarrow, expat load only when needed)."""
        return importlib.import_module(self.module)


#: format name -> its module; one row per format (``kpconv from-NAME`` / ``kpconv to-NAME``)
FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("labelme", "kpconv.formats.labelme", "LabelMe / X-AnyLabeling JSON files or folders",
               "LabelMe 5.x JSON, one file per image"),
        Format("cvat", "kpconv.formats.cvat", "CVAT for images / video 1.1 XML, its zip or folder",
               "CVAT for images / video 1.1 XML, or a zip holding it"),
        Format("csv", "kpconv.formats.csv", "DeepLabCut, long, wide or SLEAP analysis CSV"),
        Format("labelstudio", "kpconv.formats.labelstudio", "a Label Studio JSON / JSON-MIN export",
               "Label Studio tasks JSON (predictions or annotations) + label config XML"),
        Format("yolo", "kpconv.formats.yolo", "Ultralytics YOLO pose data.yaml + labels", "YOLO pose dataset folder"),
    )
}
