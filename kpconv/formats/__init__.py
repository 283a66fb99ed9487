"""Annotation formats that kpconv reads into, and writes from, the one COCO representation.

Each format is one module (or a small subpackage) with the same interface: ``read`` (the source
into the builder's raw images and instances plus findings) and, where the format can be written,
``write`` (a validated COCO dataset into the tool's own layout, as the tool itself writes it).
The LabelMe, CVAT and CSV readers predate this package and live in :mod:`kpconv.convert`.
"""

from __future__ import annotations

#: format name -> module (imported on first use; one row per format)
FORMATS: dict[str, str] = {
    "yolo": "kpconv.formats.yolo",
}
