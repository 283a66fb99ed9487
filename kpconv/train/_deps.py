"""Import guard for the ``train`` extra: importing this module imports torch and torchvision.

Every module of :mod:`kpconv.train` that needs torch imports it through here first, so a missing
extra is one clear :class:`~kpconv.errors.MissingDependencyError` (exit 2), never an ImportError
traceback. Nothing outside ``kpconv.train`` imports torch.
"""

from __future__ import annotations

from ..errors import MissingDependencyError

INSTALL_HINT = "pip install 'kpconv[train]'"

try:
    import torch
    import torchvision
    import torchvision.models.detection as detection
    from torchvision import tv_tensors
    from torchvision.transforms import v2
    from torchvision.transforms.v2 import functional as F
except ImportError as exc:  # pragma: no cover - exercised by a test that hides torch
    raise MissingDependencyError(
        f"training needs torch and torchvision ({exc.name or 'torch'} is not installed): "
        f"{INSTALL_HINT}"
    ) from None

__all__ = ["INSTALL_HINT", "F", "detection", "torch", "torchvision", "tv_tensors", "v2"]
