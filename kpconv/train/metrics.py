"""``metrics.jsonl`` (one JSON object per line: data, step, epoch records) and its PNG plot.

Record types: ``{"type": "data", ...}`` what training uses and skips; ``{"type": "step", "step",
"epoch", "lr", "loss", "losses": {...}, "images", "time", "img_per_s"}`` after every optimizer step
(``images`` and ``time`` are cumulative over the run: all ranks' images, training seconds without
evaluation); ``{"type": "epoch", "epoch", "step", "loss", "img_per_s", "val": {...}}``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

from ..fileio import atomic_write_bytes

log = logging.getLogger("kpconv.train")


class MetricsLog:
    """Append-only JSON lines, flushed per record (a crash loses at most the line being written)."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        """On resume: drop records written after the checkpoint's step (they will be redone)."""
        if not self.enabled or not self.path.exists():
            return
        kept = [line for line in self.path.read_bytes().splitlines()
                if line.strip() and int(orjson.loads(line).get("step", 0)) <= step]
        atomic_write_bytes(self.path, b"".join(line + b"\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("ab") as fh:
            fh.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY) + b"\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All records of a ``metrics.jsonl``."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def plot_metrics(metrics_path: Path, png_path: Path) -> bool:
    """Draw the loss curves, the learning rate and the validation AP into ``png_path``.

    Returns False (and logs why) when matplotlib is missing; the run itself is unaffected.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no %s (pip install 'kpconv[train]')", png_path.name)
        return False
    records = read_metrics(metrics_path) if metrics_path.exists() else []
    steps = [r for r in records if r.get("type") == "step"]
    epochs = [r for r in records if r.get("type") == "epoch"]
    val = [r for r in epochs if r.get("val")]
    panels = 3 if val else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.6), dpi=100)
    ax = axes[0]
    if steps:
        xs = [r["step"] for r in steps]
        ax.plot(xs, [r["loss"] for r in steps], label="loss", color="black", linewidth=1.5)
        for name in sorted(steps[-1].get("losses", {})):
            ax.plot(xs, [r.get("losses", {}).get(name, float("nan")) for r in steps],
                    label=name.removeprefix("loss_"), linewidth=0.8)
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set_title("training loss")
    ax.set_xlabel("step")
    ax = axes[1]
    if steps:
        ax.plot([r["step"] for r in steps], [r["lr"] for r in steps], color="tab:purple")
    ax.set_title("learning rate")
    ax.set_xlabel("step")
    if val:
        ax = axes[2]
        xs = [r["step"] for r in val]
        ax.plot(xs, [(r["val"].get("keypoints") or {}).get("AP") or 0.0 for r in val], "o-", label="keypoints AP")
        ax.plot(xs, [(r["val"].get("bbox") or {}).get("AP") or 0.0 for r in val], "s-", label="bbox AP")
        ax.set_ylim(0, 1)
        ax.set_title("validation")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = png_path.with_name(f".{png_path.name}.tmp.png")
    fig.savefig(tmp, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(png_path)
    return True
