"""``fit``: the whole training run (gate, model, loop, evaluation, checkpoints, metrics, plot).

The shape of torchvision's ``references/detection/train.py``: build data and model, then per
epoch train, evaluate, checkpoint. Rank 0 writes everything into RUN_DIR:

- ``last.pt`` every ``--save-every`` epochs (default: every evaluation with ``--val``, else every
  epoch) and when the run stops, ``best.pt`` when the selection metric improves: validation
  keypoint AP with ``--val``, else the mean training loss of a saving epoch;
- ``metrics.jsonl`` (see :mod:`kpconv.train.metrics`), ``curves.png``, ``config.json``. What the
  augmentation pushed out of the images (:data:`~kpconv.train.transforms.DROP_COUNTS`) is in every
  step and epoch record, in the log, and summed over the run (checkpoints carry the sum) in the
  ``end`` record and the last log line.

``--resume`` is exact: a checkpoint holds every rank's random generators besides the model and
optimizer, and the data stream is a function of (seed, step) (see :mod:`kpconv.train.loader`), so
N steps, a resume and M more steps train as N + M straight steps would. The LR schedule is not
taken from the checkpoint: it is the one the (possibly extended) configuration defines, at the
saved step.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..fileio import write_json
from ..spec import KeypointSpec, get_preset, load_spec
from ._deps import torch
from .checkpoint import link_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import TrainConfig
from .data import ValidatedDataset, validated
from .distributed import Dist, barrier, gather_objects, setup, teardown
from .engine import LoopState, NonFiniteLoss, StepProgress, train_one_epoch
from .evaluate import evaluate_model, format_metrics
from .loader import EpochBatchSampler, KeypointDataset, make_loader
from .metrics import MetricsLog, plot_metrics
from .model import ModelConfig, build_model, check_weights_argument, load_weights
from .transforms import DROP_COUNTS, Pipeline, describe_dropped, train_pipeline

log = logging.getLogger("kpconv.train")


@dataclass
class RunResult:
    """What a run produced."""

    run_dir: Path
    last: Path | None
    best: Path | None
    step: int
    epoch: int
    stop_reason: str
    best_metric: dict[str, Any] = field(default_factory=dict)
    val_metrics: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    if cfg.amp == "off":
        return None
    if device.type != "cuda":
        if cfg.amp == "on":
            log.warning("--amp on: mixed precision is for CUDA; training in float32 on %s", device)
        return None
    if cfg.amp_dtype == "float16":
        return torch.float16
    if cfg.amp_dtype == "bfloat16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def lr_factor(cfg: TrainConfig, step: int, total: int, warmup: int, steps_per_epoch: int) -> float:
    """LR multiplier at ``step``: linear warm-up from 0.001, then cosine / step / constant."""
    if warmup > 0 and step < warmup:
        return 0.001 + (1 - 0.001) * step / warmup
    if cfg.schedule == "cosine":
        span = max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / span)))
    if cfg.schedule == "step":
        epoch = step // max(1, steps_per_epoch)
        return cfg.lr_gamma ** sum(1 for m in cfg.lr_steps if epoch >= m)
    return 1.0


def _user_spec(cfg: TrainConfig) -> KeypointSpec | None:
    if cfg.spec:
        return load_spec(cfg.spec)
    if cfg.preset:
        return get_preset(cfg.preset)
    return None


def _check_run_dir(run_dir: Path, resuming: bool) -> None:
    if not resuming and (run_dir / "last.pt").exists():
        raise UsageError(f"{run_dir} already holds a run (last.pt): continue it with --resume, "
                         "or choose another -o")
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"-o {run_dir}: exists and is not a folder")


def fit(cfg: TrainConfig, *, resume: Path | None = None) -> RunResult:
    """Train Keypoint R-CNN as ``cfg`` says; ``resume`` continues a checkpoint from its step.

    Raises :class:`~kpconv.train.data.DatasetRefused` (nothing trained) when the dataset fails
    validation, UsageError for bad options, :class:`~kpconv.train.engine.NonFiniteLoss` when
    the loss diverges.
    """
    cfg.check()
    weights = check_weights_argument(cfg.weights, cfg.backbone) if resume is None else None
    dist = setup(cfg.device)
    try:
        return _fit(cfg, dist, weights, resume)
    finally:
        teardown(dist)


def _fit(cfg: TrainConfig, dist: Dist, weights: Path | None, resume: Path | None) -> RunResult:
    run_dir = Path(cfg.output)
    _check_run_dir(run_dir, resume is not None)
    ckpt = load_checkpoint(resume) if resume is not None else None
    _seed(cfg.seed + dist.rank)
    # cuDNN autotuning re-tunes for every new number of ROIs in the keypoint head (~10x slower).
    torch.backends.cudnn.benchmark = False

    spec = KeypointSpec.from_json(ckpt["spec"]) if ckpt else _user_spec(cfg)
    train_vds = validated(cfg.dataset, cfg.images, spec=spec, categories=cfg.categories or None,
                          negatives=cfg.negatives)
    log.info("%s", train_vds.describe())
    for note in train_vds.notes:
        if note.code == "train.flip_unsafe":
            log.warning("%s", note.message)
    val_vds = _validation_set(cfg, train_vds)
    barrier(dist)

    perms = train_vds.flip_permutations()
    flip = "off (--no-augment)" if not cfg.augment else "off (--flip-prob 0)" if cfg.flip_prob == 0 else "on"
    if cfg.augment and cfg.flip_prob > 0 and perms is None:
        flip = "off (a category has no left/right pairs; give flip_pairs in --spec)"
        log.warning("horizontal flip disabled: %s", "; ".join(
            c.flip_note() for c in train_vds.spec.categories if not c.flip_safe))
    elif flip == "on":
        for c in train_vds.spec.categories:
            log.info("%s", c.flip_note())
    transforms = (train_pipeline(perms, flip_prob=cfg.flip_prob, scale=(cfg.scale_min, cfg.scale_max),
                                 translate=cfg.translate, photometric=cfg.photometric)
                  if cfg.augment else Pipeline([]))

    samples = train_vds.training_samples()
    # box-only targets (no visible keypoint) train the detector, but without one visible
    # keypoint among the targets there are no keypoints to learn
    if not any((s.keypoints[..., 2] > 0).any() for s in samples):
        raise DataError(f"{train_vds.source}: no image has a usable annotation with a visible keypoint "
                        f"({train_vds.describe()}): nothing to train")
    dataset = KeypointDataset(samples, transforms)
    sampler = EpochBatchSampler(len(dataset), cfg.batch_size, shuffle=True, seed=cfg.seed,
                                world_size=dist.world_size, rank=dist.rank)
    workers = cfg.workers if cfg.workers is not None else _default_workers(dist)
    loader = make_loader(dataset, sampler, workers=workers, pin_memory=dist.device.type == "cuda")
    spe = sampler.batches_per_epoch

    mcfg = ModelConfig.from_dict(ckpt["model_config"]) if ckpt else ModelConfig(
        backbone=cfg.backbone, num_classes=train_vds.num_classes,
        num_keypoints=train_vds.num_keypoints, min_size=tuple(cfg.min_size), max_size=cfg.max_size,
        trainable_layers=cfg.trainable_layers, frozen_norm=weights is not None,
        keypoint_head=tuple(cfg.keypoint_head), box_batch_size=cfg.box_batch_size,
        detections_per_image=cfg.detections_per_image)
    if ckpt:
        _check_resume_fits(ckpt, mcfg, train_vds)
    model = build_model(mcfg)
    if weights is not None:
        load_weights(model, weights)
    model.to(dist.device)

    params = [p for p in model.parameters() if p.requires_grad]
    lr = cfg.default_lr(dist.world_size)
    if cfg.optimizer == "adamw":
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    total = cfg.epochs * spe if cfg.max_steps is None else min(cfg.epochs * spe, cfg.max_steps)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else min(1000, total // 10)
    amp_dtype = _amp_dtype(cfg, dist.device)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None

    state = LoopState()
    best: dict[str, Any] = {"metric": "val keypoints AP" if val_vds else "train loss", "value": None, "step": None}
    metrics_log = MetricsLog(run_dir / "metrics.jsonl", enabled=dist.is_main)
    if ckpt:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        saved_dropped = ckpt.get("dropped") or {}
        state = LoopState(step=int(ckpt["step"]), epoch=int(ckpt["epoch"]),
                          images=int(ckpt.get("images", 0)), train_time=float(ckpt.get("train_time", 0.0)),
                          dropped={k: int(saved_dropped.get(k, 0)) for k in DROP_COUNTS})
        best = dict(ckpt.get("best") or best)
        if int(ckpt.get("steps_per_epoch", spe)) != spe:
            log.warning("steps per epoch changed (%s -> %d: other batch size or process count); "
                        "epochs are counted anew from step %d", ckpt.get("steps_per_epoch"), spe, state.step)
        metrics_log.truncate_after(state.step)
        log.info("resuming %s at step %d (epoch %d)", resume, state.step, state.step // spe + 1)
    scheduler = _schedule(optimizer, lr, state.step, lambda s: lr_factor(cfg, s, total, warmup, spe))

    net: torch.nn.Module = model
    if dist.enabled:
        ids = [dist.device.index] if dist.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    data_counts = train_vds.counts()
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json", {"config": cfg.to_dict(), "model": mcfg.to_dict(),
                                             "spec": train_vds.spec.to_file()})
        metrics_log.write({"type": "data", "step": state.step, "train": data_counts,
                           "val": val_vds.counts() if val_vds else None, "flip": flip,
                           "world_size": dist.world_size, "device": str(dist.device),
                           "amp": str(amp_dtype).removeprefix("torch.") if amp_dtype else "off",
                           "resumed": resume is not None})
    log.info("model: Keypoint R-CNN %s, %d class(es) + background, K=%d, %s on %s%s, %d step(s) "
             "(%d per epoch), batch %d x %d process(es)", mcfg.backbone, mcfg.num_classes - 1,
             mcfg.num_keypoints, cfg.optimizer, dist.device,
             f" with {str(amp_dtype).removeprefix('torch.')} autocast" if amp_dtype else "",
             total, spe, cfg.batch_size, dist.world_size)

    def should_stop(s: LoopState) -> bool:
        if s.step >= total:
            return True
        return cfg.max_time is not None and s.train_time >= cfg.max_time

    last_path = run_dir / "last.pt"
    best_path = run_dir / "best.pt"
    saved = (resume, state.step) if resume is not None else None  # the newest checkpoint of the run
    val_metrics: dict[str, Any] | None = None
    stop_reason = "finished"
    if state.step >= total:
        stop_reason = f"nothing to do: the run is already at step {state.step} of {total}"
        log.info("%s (raise --epochs or --max-steps to continue)", stop_reason)
    bar = StepProgress(total, state.step, enabled=dist.is_main)
    start_epoch = state.step // spe
    sampler.plan(start_epoch, state.step - start_epoch * spe, cfg.epochs)
    if ckpt:
        _restore_rng(ckpt, cfg, dist)  # last: nothing else may draw a number before the loop
    batches = iter(loader) if state.step < total else iter(())
    try:
        for epoch in range(start_epoch, cfg.epochs):
            if state.step >= total:
                break
            state.epoch = epoch
            epoch_left = (epoch + 1) * spe - state.step
            stats = train_one_epoch(
                net, optimizer, scheduler, scaler, itertools.islice(batches, epoch_left), dist, state,
                amp_dtype=amp_dtype,
                clip_grad=cfg.clip_grad, total_steps=total, log_every=cfg.log_every,
                should_stop=should_stop, on_step=metrics_log.write, bar=bar)
            finished_all = state.step >= total or epoch == cfg.epochs - 1 or stats.stopped
            record: dict[str, Any] = {"type": "epoch", "epoch": epoch, "step": state.step,
                                      "loss": stats.mean_loss, "img_per_s": round(stats.img_per_s, 3),
                                      "time": round(state.train_time, 4), "complete": state.step % spe == 0,
                                      **stats.dropped}
            evaluated = val_vds is not None and ((epoch + 1) % cfg.eval_every == 0 or finished_all)
            if val_vds is not None and evaluated:
                # Evaluation runs in float32: under autocast torchvision decodes boxes in the
                # half-precision dtype (bfloat16 resolves ~4 px at 1000 px), which blurs AP.
                val_metrics, _ = evaluate_model(
                    model, train_vds.categories, val_vds, dist,
                    batch_size=cfg.eval_batch_size or cfg.batch_size, workers=min(workers, 2))
                record["val"] = val_metrics
                log.info("epoch %d validation:\n%s", epoch + 1, format_metrics(val_metrics))
            save_every = cfg.save_every or (cfg.eval_every if val_vds is not None else 1)
            save = (epoch + 1) % save_every == 0 or finished_all
            # Short epochs (tiny datasets) would spend their time writing checkpoints and plots:
            # only epochs that save or evaluate do, and only they log at INFO.
            lost = describe_dropped(stats.dropped)
            log.log(logging.INFO if save or evaluated else logging.DEBUG,
                    "epoch %d: mean loss %.4f, %.1f img/s%s", epoch + 1, stats.mean_loss, stats.img_per_s,
                    f"; {lost}" if lost else "")
            improved = _update_best(best, record, state.step) if evaluated or (val_vds is None and save) else False
            # every rank's generators (a collective: every rank decides the same `save or improved`)
            rngs = gather_objects(dist, rng_state(dist.device)) if save or improved else []
            if dist.is_main:
                metrics_log.write(record)
                if save or improved:
                    ck = _checkpoint_state(model, optimizer, scheduler, scaler, state, spe, cfg, mcfg,
                                           train_vds, val_metrics, best, rngs)
                    save_checkpoint(last_path, ck)
                    if improved:
                        link_checkpoint(last_path, best_path)
                    plot_metrics(run_dir / "metrics.jsonl", run_dir / "curves.png")
            if save or improved:
                saved = (last_path, state.step)
            barrier(dist)
            if stats.stopped:
                if cfg.max_time is not None and state.train_time >= cfg.max_time and state.step < total:
                    stop_reason = f"--max-time {cfg.max_time:g}s reached"
                elif cfg.max_steps is not None and state.step >= cfg.max_steps:
                    stop_reason = f"--max-steps {cfg.max_steps} reached"
                break
    except NonFiniteLoss as exc:
        raise NonFiniteLoss(f"{exc.message}; {_saved_note(saved)}") from None
    finally:
        bar.close()
    log.info("stopped at step %d: %s; best %s %s at step %s", state.step, stop_reason, best["metric"],
             _fmt(best["value"]), best["step"])
    log.info("over the run: %s", describe_dropped(state.dropped)
             or "augmentation pushed no visible keypoint and no instance out of the images")
    # the run total (a resumed run's includes the steps before the checkpoint)
    metrics_log.write({"type": "end", "step": state.step, "epoch": state.epoch, "stop_reason": stop_reason,
                       "images": state.images, "time": round(state.train_time, 4), **state.dropped})
    return RunResult(run_dir=run_dir, last=last_path if last_path.exists() else None,
                     best=best_path if best_path.exists() else None, step=state.step, epoch=state.epoch,
                     stop_reason=stop_reason, best_metric=best, val_metrics=val_metrics,
                     data=data_counts)


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.4f}"


def _default_workers(dist: Dist) -> int:
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if dist.device.type != "cuda":
        return 0  # on CPU the model needs the cores more than the loader does
    return max(1, min(8, cpus // dist.world_size - 1))


def _validation_set(cfg: TrainConfig, train_vds: ValidatedDataset) -> ValidatedDataset | None:
    if not cfg.val:
        return None
    from ..model import load

    ds = load(cfg.val)
    names = [c.name for c in train_vds.categories if any(vc.name == c.name for vc in ds.categories)]
    if not names:
        raise UsageError(f"--val {cfg.val}: none of the trained categories "
                         f"({', '.join(c.name for c in train_vds.categories)}) is in it")
    vds = validated(ds, cfg.val_images or cfg.images, spec=train_vds.spec, categories=names,
                    negatives="keep", source=cfg.val)
    log.info("validation set: %s", vds.describe("evaluation"))
    return vds


def _schedule(optimizer: torch.optim.Optimizer, lr: float, step: int,
              factor: Callable[[int], float]) -> torch.optim.lr_scheduler.LambdaLR:
    """The LR schedule at ``step``: every group's LR is ``lr * factor(step)`` from now on.

    Built after a checkpoint's optimizer state is loaded, it overrides the LR saved there: a run
    extended with a larger --max-steps (or given a new --lr) continues on the new schedule at
    once, not on the old one's last LR (0 at the end of a cosine).
    """
    for group in optimizer.param_groups:
        group["initial_lr"] = lr
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor, last_epoch=step - 1)


def _restore_rng(ckpt: dict[str, Any], cfg: TrainConfig, dist: Dist) -> None:
    """This rank's random generators as the checkpoint left them; a warning when that cannot be exact."""
    states = ckpt.get("rng") or []
    saved = ckpt.get("config") or {}
    why = []
    if not states:
        why.append("the checkpoint holds no random generator states (written by an older kpconv)")
    elif len(states) != dist.world_size:
        why.append(f"it was written by {len(states)} process(es), this run has {dist.world_size}")
    for name in ("seed", "batch_size"):
        if name in saved and saved[name] != getattr(cfg, name):
            why.append(f"--{name.replace('_', '-')} changed ({saved[name]} -> {getattr(cfg, name)})")
    if len(states) == dist.world_size:
        set_rng_state(states[dist.rank], dist.device)
    if why:
        log.warning("--resume is not exact: %s; the run goes on with other random draws than an "
                    "uninterrupted run would have made", "; ".join(why))


def _saved_note(saved: tuple[Path, int] | None) -> str:
    if saved is None:
        return "no checkpoint has been written yet"
    path, step = saved
    return f"{path} (step {step}) holds the last saved state"


def _check_resume_fits(ckpt: dict[str, Any], mcfg: ModelConfig, vds: ValidatedDataset) -> None:
    names = [c["name"] for c in ckpt["categories"]]
    if names != [c.name for c in vds.categories] or mcfg.num_keypoints != vds.num_keypoints:
        raise UsageError(
            f"--resume: the checkpoint was trained on categories {names} with K={mcfg.num_keypoints}, "
            f"this dataset has {[c.name for c in vds.categories]} with K={vds.num_keypoints}; "
            "to start from its weights on new data use --weights CHECKPOINT instead")


def _update_best(best: dict[str, Any], record: dict[str, Any], step: int) -> bool:
    if best["metric"] == "val keypoints AP":
        if "val" not in record:
            return False
        value = (record["val"].get("keypoints") or {}).get("AP")
        value = -1.0 if value is None else float(value)
        better = best["value"] is None or value > best["value"]
    else:
        value = float(record["loss"])
        better = math.isfinite(value) and (best["value"] is None or value < best["value"])
    if better:
        best.update(value=value, step=step)
    return better


def _checkpoint_state(model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
                      state: LoopState, spe: int, cfg: TrainConfig, mcfg: ModelConfig,
                      vds: ValidatedDataset, val_metrics: dict[str, Any] | None,
                      best: dict[str, Any], rngs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "lr_scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": state.epoch,
        "step": state.step,
        "steps_per_epoch": spe,
        "images": state.images,
        "train_time": state.train_time,
        "dropped": dict(state.dropped),  # run totals of transforms.DROP_COUNTS
        "config": cfg.to_dict(),
        "model_config": mcfg.to_dict(),
        "spec": vds.spec.to_json(),
        "categories": [c.to_dict() for c in vds.categories],
        "metrics": val_metrics,
        "best": dict(best),
        "rng": rngs,  # per rank (index = rank): see checkpoint.rng_state
    }
