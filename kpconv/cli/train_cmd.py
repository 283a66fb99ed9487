"""``kpconv train``, ``kpconv evaluate``, ``kpconv predict`` (Keypoint R-CNN; the ``train`` extra).

Thin: parse options, call :mod:`kpconv.train`, format the result. torch is imported inside the
command functions only, so ``kpconv --help`` and ``kpconv train --help`` never import it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ..errors import UsageError
from ..fileio import dumps_json, ensure_not_input, write_json
from ..finding import Severity
from .render import render_text

_LOGGER = "kpconv"


class _EchoHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            if record.levelno >= logging.WARNING:
                msg = f"warning: {msg}"
            click.echo(msg, err=True)
        except Exception:  # a log line must never kill a run
            self.handleError(record)


@contextlib.contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """Route the library's ``kpconv.train`` log to stderr for the duration of a command."""
    from .. import progress

    logger = logging.getLogger(_LOGGER)
    handler = _EchoHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    progress.enable()
    try:
        yield
    finally:
        progress.disable()
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _refused(exc: Any, title: str) -> int:
    if _is_rank_zero():
        click.echo(render_text(exc.report, title=title), err=True)
        click.echo(f"kpconv: error: {exc.message}", err=True)
    return 1


def _int_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, found {value!r}") from None
    return out


def _float_pair(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected MIN,MAX, found {value!r}") from None
    if len(parts) != 2:
        raise click.BadParameter(f"expected MIN,MAX, found {value!r}")
    return parts[0], parts[1]


def _head(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        channels, layers = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected CHANNELSxLAYERS such as 512x8, found {value!r}") from None
    if channels < 1 or layers < 1:
        raise click.BadParameter(f"expected positive CHANNELSxLAYERS, found {value!r}")
    return [channels] * layers


# click parameter -> TrainConfig fields it sets
_CONFIG_FIELDS: dict[str, tuple[str, ...]] = {"scale_range": ("scale_min", "scale_max"), "category": ("categories",)}
_NOT_CONFIG = {"resume", "verbose", "threads"}


def _config_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _NOT_CONFIG:
            continue
        if name == "scale_range":
            out["scale_min"], out["scale_max"] = value
        elif name == "category":
            out["categories"] = list(value)
        elif isinstance(value, Path):
            out[name] = str(value)
        else:
            out[name] = value
    return out


@click.command("train", context_settings={"show_default": True})
@click.argument("dataset", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--images", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder the dataset's file_name values are relative to.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Run folder: last.pt, best.pt, metrics.jsonl, curves.png, config.json.")
@click.option("--val", type=click.Path(path_type=Path, dir_okay=False),
              help="Validation COCO JSON: keypoint/box AP after every --eval-every epochs; selects best.pt.")
@click.option("--val-images", type=click.Path(path_type=Path, file_okay=False),
              help="Images folder of --val (default: --images).")
@click.option("--spec", type=click.Path(path_type=Path, dir_okay=False),
              help="Keypoint spec (YAML/JSON): flip pairs and OKS sigmas for the categories it names.")
@click.option("--preset", metavar="NAME", help="Built-in spec: coco-person.")
@click.option("--category", multiple=True, metavar="NAME", help="Train only this category (repeatable).")
@click.option("--negatives", type=click.Choice(["keep", "skip"]), default="keep",
              help="Images with no annotation at all: train on them as background, or leave them out.")
@click.option("--backbone", type=click.Choice(["resnet50", "resnet18", "mobilenet_v3_large"]),
              default="resnet50", help="resnet50 = torchvision's keypointrcnn_resnet50_fpn; resnet18 / mobilenet_v3_large are lighter.")
@click.option("--weights", metavar="PATH",
              help="Local weights: a full model (torchvision COCO file, kpconv checkpoint) or a backbone "
                   "(ImageNet file). Nothing is downloaded; heads that do not fit are re-initialised.")
@click.option("--trainable-layers", type=click.IntRange(0, 6), default=None,
              help="Backbone stages to train (default: all from scratch, 3 with --weights).")
@click.option("--min-size", callback=_int_list, default="640,672,704,736,768,800", metavar="N[,N...]",
              help="Shorter side the model resizes to; several = multi-scale training (evaluation uses the last).")
@click.option("--max-size", type=int, default=1333, help="Longer side limit of the model's resize.")
@click.option("--keypoint-head", callback=_head, default="512x8", metavar="CxL",
              help="Keypoint head: L conv layers of C channels (512x8 is torchvision's; 64x4 for CPU tests).")
@click.option("--box-batch-size", type=int, default=512, help="ROIs sampled per image for the box head.")
@click.option("--detections-per-image", type=int, default=100, help="Most detections kept per image.")
@click.option("--epochs", type=int, default=20)
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimizer steps in total.")
@click.option("--max-time", type=float, default=None, metavar="SECONDS",
              help="Stop after this much training time (evaluation and checkpoints not counted; a resumed run counts its earlier time).")
@click.option("--batch-size", type=int, default=4, help="Images per step per process.")
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default="sgd")
@click.option("--lr", type=float, default=None,
              help="Peak learning rate [default: sgd 0.02 per 16 images, adamw 2e-4].")
@click.option("--momentum", type=float, default=0.9, help="SGD momentum.")
@click.option("--weight-decay", type=float, default=1e-4)
@click.option("--warmup-steps", type=int, default=None, help="Linear warm-up steps [default: 10% of the run, at most 1000].")
@click.option("--schedule", type=click.Choice(["cosine", "step", "constant"]), default="cosine")
@click.option("--lr-steps", callback=_int_list, default="", metavar="E[,E...]",
              help="For --schedule step: epochs at which the LR is multiplied by --lr-gamma.")
@click.option("--lr-gamma", type=float, default=0.1)
@click.option("--clip-grad", type=float, default=10.0, help="Max gradient norm (0: no clipping).")
@click.option("--amp", type=click.Choice(["auto", "on", "off"]), default="auto",
              help="Mixed precision: auto = on for CUDA, off on CPU.")
@click.option("--amp-dtype", type=click.Choice(["auto", "bfloat16", "float16"]), default="auto",
              help="auto = bfloat16 where the GPU supports it, else float16 (with a grad scaler).")
@click.option("--device", default="auto", help="auto, cpu, cuda, cuda:1 (under torchrun: each rank's GPU).")
@click.option("--workers", type=int, default=None, help="Data loader processes per GPU [default: min(8, cores - 1); 0 on CPU].")
@click.option("--threads", type=int, default=None, help="torch CPU threads (torch.set_num_threads).")
@click.option("--seed", type=int, default=0)
@click.option("--augment/--no-augment", default=True, help="Flip, scale and photometric jitter.")
@click.option("--flip-prob", type=float, default=0.5,
              help="Horizontal flip probability (left/right keypoints swapped by the spec's flip pairs).")
@click.option("--scale-range", callback=_float_pair, default="0.75,1.25", metavar="MIN,MAX",
              help="Content zoom factor range (scale jitter).")
@click.option("--translate", type=float, default=0.1, help="Random shift, as a fraction of the image size.")
@click.option("--photometric", type=float, default=0.3, help="Brightness/contrast/saturation jitter strength (0: off).")
@click.option("--eval-every", type=int, default=1, help="Evaluate on --val every N epochs (and at the end).")
@click.option("--save-every", type=int, default=None,
              help="Write last.pt (and the plot) every N epochs [default: each evaluation with --val, else every epoch]; always at the end.")
@click.option("--eval-batch-size", type=int, default=None)
@click.option("--log-every", type=int, default=20, help="Log a line every N steps (the progress bar shows every step).")
@click.option("--resume", is_flag=False, flag_value="__last__", default=None, metavar="[CHECKPOINT]",
              help="Continue exactly from a checkpoint's step (alone: RUN_DIR/last.pt). Options not "
                   "given again keep the values saved in the checkpoint; a larger --max-steps or "
                   "--epochs extends the run, on the LR schedule of the new length.")
@click.option("-v", "--verbose", is_flag=True, help="Debug log (every skipped weight tensor, every step line).")
def train_command(**params: Any) -> int:
    """Train Keypoint R-CNN on a COCO keypoint DATASET (validated first; any error: nothing trained).

    \b
    Example (CPU, seconds):
      kpconv train fixtures/train/train.json --images fixtures/train/images -o runs/demo \\
        --spec fixtures/train/spec.yaml --backbone resnet18 --min-size 128 --max-size 128 \\
        --keypoint-head 32x2 --box-batch-size 32 --max-steps 3 --batch-size 2
    Several GPUs / machines: torchrun --nproc_per_node N -m kpconv train ...
    """
    from ..train.config import TrainConfig
    from ..train.data import DatasetRefused
    from ..train.trainer import fit

    ctx = click.get_current_context()
    output: Path = params["output"]
    resume: Path | None = None
    if params["resume"] is not None:
        resume = output / "last.pt" if params["resume"] == "__last__" else Path(params["resume"])
    kwargs = _config_kwargs(params)
    if resume is not None:
        from ..train.checkpoint import load_checkpoint

        saved = load_checkpoint(resume).get("config") or {}
        for name in params:
            if name in _NOT_CONFIG or ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
                continue
            for f in _CONFIG_FIELDS.get(name, (name,)):
                if f in saved:
                    kwargs[f] = saved[f]
    cfg = TrainConfig(**kwargs)
    if params["threads"]:
        import torch

        torch.set_num_threads(params["threads"])
    with _logging(params["verbose"]):
        try:
            result = fit(cfg, resume=resume)
        except DatasetRefused as exc:
            return _refused(exc, f"{exc.source}: refused for training")
    if _is_rank_zero():
        lines = [f"run: {result.run_dir} (stopped at step {result.step}: {result.stop_reason})"]
        if result.best is not None:
            value = result.best_metric.get("value")
            shown = "-" if value is None else f"{value:.4f}"
            lines.append(f"best: {result.best} ({result.best_metric.get('metric')} {shown})")
        if result.last is not None:
            lines.append(f"last: {result.last}")
        click.echo("\n".join(lines), err=True)
    return 0


def _one_stdout_writer(*uses: tuple[str, Path | bool | None]) -> None:
    """Refuse two options that would both write to standard output (``-`` or ``--format json``)."""
    on_stdout = [name for name, value in uses
                 if value is True or (isinstance(value, Path | str) and os.fspath(value) == "-")]
    if len(on_stdout) > 1:
        raise UsageError(f"{' and '.join(on_stdout)} would both write to standard output: "
                         "give -o FILE (or --predictions FILE), or --format text")


@click.command("evaluate", context_settings={"show_default": True})
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("dataset", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--images", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder the dataset's file_name values are relative to.")
@click.option("--spec", type=click.Path(path_type=Path, dir_okay=False),
              help="Override the checkpoint's OKS sigmas for the categories this spec names.")
@click.option("--device", default="auto")
@click.option("--batch-size", type=click.IntRange(min=1), default=4)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the metrics as JSON here.")
@click.option("--predictions", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the COCO results JSON the metrics were computed from.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="Metrics on stdout as text or JSON.")
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
def evaluate_command(checkpoint: Path, dataset: Path, images: Path, spec: Path | None, device: str,
                     batch_size: int, output: Path | None, predictions: Path | None, fmt: str,
                     threads: int | None) -> int:
    """COCO keypoint AP (OKS, with the spec's own sigmas: any K) and box AP of CHECKPOINT on DATASET.

    CHECKPOINT is a .pt file or a run folder (its best.pt). The dataset is validated with the
    training rules first; categories are matched to the model's by name.
    """
    # before any import of torch or read of the checkpoint: a usage error costs nothing
    for out in (output, predictions):
        if out is not None:
            ensure_not_input(out, [dataset, checkpoint])
    _one_stdout_writer(("-o -", output), ("--predictions -", predictions), ("--format json", fmt == "json"))

    from ..spec import load_spec
    from ..train.data import DatasetRefused
    from ..train.evaluate import evaluate_checkpoint, format_metrics

    user_spec = load_spec(spec) if spec else None
    if threads:
        import torch

        torch.set_num_threads(threads)
    with _logging(False):
        try:
            metrics, results = evaluate_checkpoint(checkpoint, dataset, images, device=device,
                                                   batch_size=batch_size, spec=user_spec)
        except DatasetRefused as exc:
            return _refused(exc, f"{exc.source}: refused for evaluation")
    doc = {"checkpoint": str(checkpoint), "dataset": str(dataset), **metrics}
    if output is not None:
        write_json(output, doc)
    if predictions is not None:
        write_json(predictions, results)
    if fmt == "json":
        sys.stdout.buffer.write(dumps_json(doc))
        sys.stdout.flush()
    else:
        click.echo(format_metrics(metrics))
    return 0


@click.command("predict", context_settings={"show_default": True})
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="IMAGES...")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="COCO results JSON (written atomically).")
@click.option("--dataset", type=click.Path(path_type=Path, dir_okay=False),
              help="Take image ids from this COCO file, matching by file name (else 1..N plus file_name).")
@click.option("--images", type=click.Path(path_type=Path, file_okay=False),
              help="Root that the dataset's file_name values are relative to (for the match).")
@click.option("--score-threshold", type=click.FloatRange(0, 1), default=0.05)
@click.option("--device", default="auto")
@click.option("--batch-size", type=click.IntRange(min=1), default=2)
@click.option("--render", "render_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also draw the detections into this folder (kpconv's visualizer).")
@click.option("--render-threshold", type=click.FloatRange(0, 1), default=0.5,
              help="Only detections scoring at least this are drawn.")
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
def predict_command(checkpoint: Path, inputs: tuple[Path, ...], output: Path, dataset: Path | None,
                    images: Path | None, score_threshold: float, device: str, batch_size: int,
                    render_dir: Path | None, render_threshold: float, threads: int | None) -> int:
    """Run CHECKPOINT on IMAGES (files or folders) and write COCO results JSON."""
    from ..model import load
    from ..train.predict import predict

    ensure_not_input(output, [checkpoint, *inputs, *([dataset] if dataset else [])])
    ds = load(dataset) if dataset is not None else None
    if threads:
        import torch

        torch.set_num_threads(threads)
    if render_dir is not None and render_dir.resolve() in {Path(p).resolve() for p in inputs}:
        raise UsageError(f"--render {render_dir}: refusing to draw into an input folder")
    with _logging(False):
        res = predict(checkpoint, list(inputs), dataset=ds, images_root=images, device=device,
                      batch_size=batch_size, score_threshold=score_threshold, render_dir=render_dir,
                      render_threshold=render_threshold)
    write_json(output, res.results)
    click.echo(f"wrote {output}: {len(res.results)} detection(s) on {len(res.images)} image(s)", err=True)
    if res.rendered:
        click.echo(f"drew {len(res.rendered)} image(s) into {render_dir}", err=True)
    # an image refused (too large) is a data problem, as in visualize: the others are written
    return 1 if any(f.severity is Severity.ERROR for f in res.findings) else 0
