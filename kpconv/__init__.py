"""kpconv: keypoint annotations (LabelMe, CVAT, CSV) → validated COCO keypoints → Keypoint R-CNN."""

from __future__ import annotations

__version__ = "0.1.0"

from .finding import Finding, Report, Severity  # noqa: E402
from .model import Annotation, Category, Dataset, Image, load, save  # noqa: E402
from .spec import KeypointSpec, get_preset, load_spec  # noqa: E402
from .validate import validate  # noqa: E402

__all__ = [
    "Annotation",
    "Category",
    "Dataset",
    "Finding",
    "Image",
    "KeypointSpec",
    "Report",
    "Severity",
    "__version__",
    "get_preset",
    "load",
    "load_spec",
    "save",
    "validate",
]
