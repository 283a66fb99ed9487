"""kpconv: keypoint annotations (LabelMe, CVAT, CSV) → validated COCO keypoints → Keypoint R-CNN."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any  # noqa: E402

from .finding import Finding, Report, Severity  # noqa: E402
from .spec import KeypointSpec, get_preset, load_spec  # noqa: E402

if TYPE_CHECKING:
    from .model import Annotation, Category, Dataset, Image, load, save
    from .validation import validate

#: names served on first use (PEP 562): the pydantic COCO model, which converting and
#: validating never need, and the validator, which needs numpy. `import kpconv` stays light,
#: and the command line decides how numpy starts before anything imports it.
_LAZY = {name: "model" for name in ("Annotation", "Category", "Dataset", "Image", "load", "save")}
_LAZY["validate"] = "validation"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
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
