"""One training epoch: forward, reduced losses, non-finite stop, AMP, clipping, LR step, progress.

Shaped like torchvision's ``references/detection/engine.py`` (losses reduced over ranks before
logging, stop on a non-finite loss), with the progress bar and metrics records kpconv needs.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import progress as kp_progress
from ..errors import KpconvError
from ._deps import torch
from .distributed import Dist, reduce_sum
from .evaluate import autocast
from .loader import worker_error
from .transforms import DROP_COUNTS, describe_dropped, no_drops

log = logging.getLogger("kpconv.train")

#: target entries for kpconv, not for the model (see kpconv.train.loader.KeypointDataset)
_NOT_FOR_MODEL = ("image_id", "dropped")


class NonFiniteLoss(KpconvError):
    """The loss became NaN or infinite: training stopped before applying that step (exit 1)."""

    exit_code = 1


@dataclass
class LoopState:
    """Counters that survive epochs and ``--resume``."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # epoch in progress (0-based)
    images: int = 0  # images trained on, all ranks together
    train_time: float = 0.0  # seconds spent in training loops (evaluation excluded)
    dropped: dict[str, int] = field(default_factory=no_drops)  # what the targets lost, run total
    since_log: dict[str, int] = field(default_factory=no_drops)  # the same since the last log line


@dataclass
class EpochStats:
    loss_sum: float = 0.0
    steps: int = 0
    images: int = 0
    seconds: float = 0.0
    stopped: bool = False
    dropped: dict[str, int] = field(default_factory=no_drops)

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / self.steps if self.steps else float("nan")

    @property
    def img_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


class StepProgress:
    """A rich bar (loss, img/s, ETA) when the CLI enabled progress on a terminal; else log lines."""

    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.total = total
        self.bar: Any = None
        if enabled and kp_progress.enabled():
            from rich.progress import TextColumn

            self.bar = kp_progress.make_bar(
                TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[ips]:.1f} img/s"),
                remaining_label="ETA",
            )
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, completed=initial, loss=float("nan"), ips=0.0)

    @property
    def shown(self) -> bool:
        return self.bar is not None

    def update(self, step: int, epoch: int, loss: float, ips: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=step, loss=loss, ips=ips,
                            description=f"epoch {epoch + 1}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _fmt_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def train_one_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: Any,
    loader: Iterable[Any],
    dist: Dist,
    state: LoopState,
    *,
    amp_dtype: torch.dtype | None,
    clip_grad: float,
    total_steps: int,
    log_every: int,
    should_stop: Callable[[LoopState], bool],
    on_step: Callable[[dict[str, Any]], None],
    bar: StepProgress,
) -> EpochStats:
    """Train until the loader is exhausted or ``should_stop(state)``; update ``state`` in place."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    stats = EpochStats()
    window: deque[tuple[float, int]] = deque(maxlen=max(2, log_every))
    device = dist.device
    start = time.perf_counter()
    window.append((start, state.images))
    for images, targets in _batches(loader):
        batch = [img.to(device, non_blocking=True).float().div_(255) for img in images]
        tgts = [{k: v.to(device, non_blocking=True) for k, v in t.items() if k not in _NOT_FOR_MODEL}
                for t in targets]
        with autocast(device, amp_dtype):
            loss_dict = model(batch, tgts)
        names = sorted(loss_dict)
        loss = sum(loss_dict[n] for n in names)
        # One all-reduce per step: every loss term (averaged), the images of all ranks and what
        # their targets lost (the counts came with the targets, from whichever process loaded them).
        counts = [float(len(batch))] + [float(sum(t.get("dropped", {}).get(k, 0) for t in targets))
                                        for k in DROP_COUNTS]
        stacked = torch.cat([torch.stack([loss_dict[n].detach().float() for n in names]),
                             torch.tensor(counts, dtype=torch.float32, device=device)])
        vec: list[float] = reduce_sum(dist, stacked).tolist()
        n_terms = len(names)
        terms = {n: v / dist.world_size for n, v in zip(names, vec[:n_terms], strict=True)}
        total = sum(terms.values())
        if not math.isfinite(total):
            parts = ", ".join(f"{n} {v:.4g}" for n, v in terms.items())
            raise NonFiniteLoss(
                f"the loss became {total} at step {state.step + 1} (epoch {state.epoch + 1}): {parts}. "
                "Training stopped before applying that step. Lower --lr, keep --clip-grad on, try "
                "--amp off, and check the data with `kpconv validate --for-training`"
            )
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            if clip_grad > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, clip_grad)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if clip_grad > 0:
                torch.nn.utils.clip_grad_norm_(params, clip_grad)
            optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()

        n_images = int(vec[n_terms])
        dropped = {k: int(v) for k, v in zip(DROP_COUNTS, vec[n_terms + 1:], strict=True)}
        for acc in (state.dropped, state.since_log, stats.dropped):
            for k, v in dropped.items():
                acc[k] = acc.get(k, 0) + v
        now = time.perf_counter()
        state.step += 1
        state.images += n_images
        state.train_time += now - start - stats.seconds
        stats.seconds = now - start
        stats.steps += 1
        stats.images += n_images
        stats.loss_sum += total
        window.append((now, state.images))
        (t0, i0), (t1, i1) = window[0], window[-1]
        ips = (i1 - i0) / (t1 - t0) if t1 > t0 else 0.0
        on_step({"type": "step", "step": state.step, "epoch": state.epoch, "lr": lr, "loss": total,
                 "losses": terms, "images": state.images, "time": round(state.train_time, 4),
                 "img_per_s": round(ips, 3), **dropped})
        bar.update(state.step, state.epoch, total, ips)
        if state.step % log_every == 0 or state.step == total_steps:
            step_time = (t1 - t0) / max(1, len(window) - 1)
            level = logging.DEBUG if bar.shown else logging.INFO
            lost = describe_dropped(state.since_log)
            log.log(level, "epoch %d step %d/%d loss %.4f (%s) lr %.3g %.1f img/s eta %s%s",
                    state.epoch + 1, state.step, total_steps, total,
                    ", ".join(f"{n.removeprefix('loss_')} {v:.3f}" for n, v in terms.items()),
                    lr, ips, _fmt_eta((total_steps - state.step) * step_time),
                    f"; since the previous line: {lost}" if lost else "")
            state.since_log = no_drops()
        if should_stop(state):
            stats.stopped = True
            break
    return stats


def _batches(loader: Iterable[Any]) -> Iterator[Any]:
    """The loader's batches; a kpconv error from a worker comes out with its own message only."""
    it = iter(loader)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except KpconvError as exc:
            raise worker_error(exc) from None
        yield batch
