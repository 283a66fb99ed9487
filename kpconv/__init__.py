"""kpconv: keypoint annotations (LabelMe, CVAT, CSV) → validated COCO keypoints → Keypoint R-CNN."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any  # noqa: E402

from .finding import Finding, Report, Severity  # noqa: E402
from .spec import KeypointSpec, get_preset, load_spec  # noqa: E402
from .validate import validate  # noqa: E402

if TYPE_CHECKING:
    from .model import Annotation, Category, Dataset, Image, load, save

#: names served by kpconv.model, imported on first use: converting and validating never need
#: the pydantic COCO model, and every command pays its import at start-up otherwise
_MODEL_NAMES = frozenset({"Annotation", "Category", "Dataset", "Image", "load", "save"})


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'kpconv' has no attribute {name!r}")

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
