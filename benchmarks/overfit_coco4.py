"""Overfit check: ``kpconv train`` on the 4 real COCO images of mmpose's test data, then ``kpconv evaluate``.

No pretrained weights exist offline, so the model starts from scratch and must memorise 4 images
(12 usable persons, 17 keypoints; 2 persons with no visible keypoint are skipped and counted).
Reaching a keypoint AP near 1 on them proves the targets, the flips (COCO's left/right swap), the
OKS sigmas and the evaluation are right end to end.

The documented flags (README, docs/readme/train.md) mirror the reference bare loop of issue 7
(from scratch, AdamW 2e-4, fp16 autocast, min size 512, the 4 images as one batch, random flips
with the COCO flip map; no scale or photometric jitter)::

    kpconv train test_coco.json --images DIR -o RUN --val test_coco.json --preset coco-person \\
      --optimizer adamw --lr 2e-4 --schedule constant --warmup-steps 0 --batch-size 4 \\
      --min-size 512 --amp on --amp-dtype float16 --scale-range 1,1 --translate 0 \\
      --photometric 0 --epochs 100000 --max-time 120 --eval-every 20
    kpconv evaluate RUN/best.pt test_coco.json --images DIR

    python benchmarks/overfit_coco4.py                         # GPU, 120 s of training
    python benchmarks/overfit_coco4.py --device cpu --quick    # CPU smoke run (AP stays ~0)

Goal (issue 7): keypoint AP >= 0.95 on those images within 2 minutes of training, on the GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("KPCONV_REALDATA", REPO.parent / "shared" / "realdata"))
COCO4 = "mmpose/tests/data/coco"

#: the documented flags (see the module docstring and docs/readme/train.md)
FLAGS = [
    "--preset", "coco-person", "--optimizer", "adamw", "--lr", "2e-4", "--schedule", "constant",
    "--warmup-steps", "0", "--batch-size", "4", "--min-size", "512", "--amp", "on",
    "--amp-dtype", "float16", "--scale-range", "1,1", "--translate", "0", "--photometric", "0",
    "--epochs", "100000", "--eval-every", "20",
]
#: CPU smoke scale: the same command, a tiny model for 3 steps
QUICK = [
    "--preset", "coco-person", "--optimizer", "adamw", "--lr", "2e-4", "--schedule", "constant",
    "--warmup-steps", "0", "--batch-size", "4", "--min-size", "128", "--max-size", "192",
    "--backbone", "resnet18", "--keypoint-head", "32x2", "--box-batch-size", "64",
    "--detections-per-image", "20", "--scale-range", "1,1", "--translate", "0", "--photometric", "0",
    "--epochs", "3", "--eval-every", "3", "--threads", "2",
]


def kpconv(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "kpconv", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--realdata", type=Path, default=REALDATA, help="the shared real-data folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-time", type=float, default=120.0, help="seconds of training (evaluation excluded)")
    p.add_argument("--out", type=Path, default=None, help="run folder to keep (default: a temp folder)")
    p.add_argument("--quick", action="store_true", help="CPU smoke scale (tiny model, 3 steps)")
    args = p.parse_args()
    folder = args.realdata / COCO4
    dataset = folder / "test_coco.json"
    if not dataset.is_file():
        raise SystemExit(f"{dataset} not found (set --realdata or KPCONV_REALDATA)")
    with tempfile.TemporaryDirectory(prefix="kpconv-overfit-") as tmp:
        run = args.out or Path(tmp) / "run"
        flags = QUICK if args.quick else [*FLAGS, "--max-time", f"{args.max_time:g}"]
        cmd = ["train", str(dataset), "--images", str(folder), "-o", str(run), "--val", str(dataset),
               "--device", args.device, *flags]
        print("kpconv " + " ".join(cmd))
        t = time.perf_counter()
        proc = kpconv(*cmd)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"kpconv train failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        data = next(r for r in recs if r["type"] == "data")
        print(f"device {data['device']}, amp {data['amp']}, flip {data['flip']}; skipped: "
              f"{data['train']['annotations_skipped']}; wall {wall:.0f}s (imports and evaluations included)")
        print("training seconds -> validation keypoint AP (bbox AP):")
        for r in recs:
            if r["type"] == "epoch" and r.get("val"):
                kp, bb = r["val"]["keypoints"]["AP"], r["val"]["bbox"]["AP"]
                print(f"  {r['time']:7.1f}s  step {r['step']:5d}  {kp if kp is not None else '-':>6}  ({bb})")
        ev = kpconv("evaluate", str(run / "best.pt"), str(dataset), "--images", str(folder),
                    "--device", args.device, "--format", "json")
        if ev.returncode != 0:
            raise SystemExit(f"kpconv evaluate failed ({ev.returncode}):\n{ev.stderr[-4000:]}")
        m = json.loads(ev.stdout)
        print(f"kpconv evaluate best.pt: keypoints AP {m['keypoints']['AP']}, bbox AP {m['bbox']['AP']} "
              f"({m['detections']} detections on {m['images']} images)")
        if not args.quick:
            print(f"goal keypoint AP >= 0.95 within {args.max_time:g}s: "
                  f"{'met' if (m['keypoints']['AP'] or 0) >= 0.95 else 'NOT met'}")


if __name__ == "__main__":
    main()
