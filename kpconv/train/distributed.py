"""DDP under ``torchrun``: detected from the environment, the same command on one machine or many.

``torchrun --nproc_per_node N -m kpconv train ...`` sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``;
without them (or with ``WORLD_SIZE=1``) training runs in one process. Backend: NCCL on CUDA,
gloo on CPU. Rank 0 logs, writes metrics and checkpoints; losses and evaluation results are
gathered from every rank.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..errors import UsageError
from ._deps import torch

log = logging.getLogger("kpconv.train")


@dataclass(frozen=True)
class Dist:
    """This process's place in the run."""

    world_size: int
    rank: int
    local_rank: int
    device: torch.device
    initialized: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` → this rank's GPU when there is one, else CPU; ``cuda`` → ``cuda:LOCAL_RANK``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available here (torch {torch.__version__}); use --device cpu")
        if name == "cuda":
            name = f"cuda:{local_rank}"
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"--device {name}: {exc}") from None


def setup(device: str = "auto") -> Dist:
    """Join the process group when launched by torchrun; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local)
    if world <= 1:
        return Dist(1, 0, 0, dev, False)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend, timeout=timedelta(minutes=30))
    if rank != 0:
        # One voice: only rank 0 logs progress (errors still surface on every rank).
        logging.getLogger("kpconv").setLevel(logging.ERROR)
    log.info("distributed: %d processes, backend %s", world, backend)
    return Dist(world, rank, local, dev, True)


def teardown(dist: Dist) -> None:
    if dist.initialized and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def barrier(dist: Dist) -> None:
    if dist.enabled:
        torch.distributed.barrier()


def reduce_mean(dist: Dist, values: torch.Tensor) -> torch.Tensor:
    """Average a tensor over ranks (identity in one process)."""
    if not dist.enabled:
        return values
    values = values.clone()
    torch.distributed.all_reduce(values)
    return values / dist.world_size


def reduce_sum(dist: Dist, values: torch.Tensor) -> torch.Tensor:
    if not dist.enabled:
        return values
    values = values.clone()
    torch.distributed.all_reduce(values)
    return values


def gather_objects(dist: Dist, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (a list of length world_size, on every rank)."""
    if not dist.enabled:
        return [obj]
    out: list[Any] = [None] * dist.world_size
    torch.distributed.all_gather_object(out, obj)
    return out


def broadcast_object(dist: Dist, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not dist.enabled:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]
