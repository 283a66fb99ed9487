"""Checkpoints: ``{model, optimizer, lr_scheduler, scaler, epoch, step, config, model_config, spec,
categories, metrics, best, rng}``, written atomically, read back with ``weights_only=True``.

Everything besides tensors is plain JSON-like data (the spec as a dict, the config as a dict, the
random generators' states as tensors and numbers: :func:`rng_state`), so loading never unpickles
code.
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import DataError, UsageError
from ..fileio import NEW_FILE_MODE
from ..spec import KeypointSpec
from ._deps import torch
from .data import TrainCategory
from .model import ModelConfig, build_model
from .torchfile import load_torch_file

FORMAT = "kpconv-keypointrcnn"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temp file next to ``path``, then ``os.replace`` (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save({"format": FORMAT, "kpconv_version": __version__, **state}, tmp)
        os.chmod(tmp, NEW_FILE_MODE)  # mkstemp makes 0600; a checkpoint is a normal file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rng_state(device: torch.device) -> dict[str, Any]:
    """This process's random generators (Python, numpy, torch CPU, and ``device``'s when CUDA)."""
    version, mt, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": {"version": version, "state": torch.tensor(mt, dtype=torch.int64), "gauss": gauss},
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
    }


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Put back what :func:`rng_state` saved (the CUDA state only on a CUDA ``device``)."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state(("MT19937", npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["gauss"]))
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and state["cuda"] is not None:
        torch.cuda.set_rng_state(state["cuda"], device)


def link_checkpoint(src: Path, dst: Path) -> None:
    """Make ``dst`` the same checkpoint as ``src`` (a hard link: no second copy of the weights).

    ``src`` is later replaced by a new file (``os.replace``), so ``dst`` keeps this version.
    Falls back to copying where the filesystem has no hard links.
    """
    import shutil

    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A kpconv checkpoint as a dict (tensors on CPU); UsageError/DataError when it is not one."""
    path = Path(path)
    if path.is_dir():
        if (path / "best.pt").is_file():
            path = path / "best.pt"
        else:
            raise UsageError(f"{path}: a folder without best.pt; give the checkpoint file")
    if not path.is_file():
        raise UsageError(f"{path}: checkpoint not found")
    ckpt = load_torch_file(path)  # corrupt, truncated, or a pickle with code in it: one line
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise DataError(f"{path}: not a kpconv checkpoint (for plain weights use "
                        "`kpconv train --weights FILE`)")
    return ckpt


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint, with what it predicts."""

    model: torch.nn.Module
    model_config: ModelConfig
    categories: list[TrainCategory]
    spec: KeypointSpec
    checkpoint: dict[str, Any]


def model_from_checkpoint(path: Path, device: torch.device) -> LoadedModel:
    """Rebuild the network of a checkpoint and load its weights, in eval mode on ``device``."""
    ckpt = load_checkpoint(path)
    mcfg = ModelConfig.from_dict(ckpt["model_config"])
    model = build_model(mcfg)
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()
    cats = [TrainCategory(int(c["label"]), int(c["id"]), str(c["name"]), tuple(c["keypoints"]))
            for c in ckpt["categories"]]
    spec = KeypointSpec.from_json(ckpt["spec"])
    return LoadedModel(model, mcfg, cats, spec, ckpt)
