"""Benchmark ``kpconv visualize`` against a bare ``cv2.imread`` + ``cv2.imwrite`` loop.

    python benchmarks/bench_visualize.py [--images 2000] [--format jpg] [--workers 0]

Generates N synthetic 640x480 JPEGs with 3 people each (17 COCO keypoints, v=0/1/2 mixed, a
box each) in a temporary folder, then times

* the bare loop: for every file ``cv2.imread`` then ``cv2.imwrite`` in the same output format,
  one after another (what any rendering must at least do), and
* ``python -m kpconv visualize DATASET --images DIR -o OUT --format FMT`` as a subprocess
  (start-up, JSON loading, drawing, encoding, the summary figure: the whole command).

Prints images/s for both and the ratio (goal: visualize within 1.5x of the bare loop's time).
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

import cv2
import numpy as np

W, H = 640, 480
PEOPLE = 3
REPO = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(REPO))
from kpconv.spec import COCO_PERSON_KEYPOINTS, COCO_PERSON_SKELETON  # noqa: E402

# a standing person's 17 keypoints, unit height, centred on the hips
POSE = np.array(
    [
        (0.0, -0.42), (-0.03, -0.45), (0.03, -0.45), (-0.06, -0.43), (0.06, -0.43),
        (-0.12, -0.3), (0.12, -0.3), (-0.16, -0.12), (0.16, -0.12), (-0.18, 0.04), (0.18, 0.04),
        (-0.08, 0.02), (0.08, 0.02), (-0.09, 0.25), (0.09, 0.25), (-0.1, 0.48), (0.1, 0.48),
    ]
)  # fmt: skip


def make_data(folder: Path, n: int, seed: int = 0) -> Path:
    """Write ``n`` JPEGs and their COCO file into ``folder``; return the COCO path."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([80 + 80 * yy / H, 100 + 60 * xx / W, 140 - 40 * yy / H], axis=2)
    images, anns = [], []
    for i in range(n):
        img = base.copy()
        for _ in range(6):  # a few blocks so the JPEG is not trivially compressible
            x0, y0 = rng.integers(0, W - 60), rng.integers(0, H - 60)
            img[y0 : y0 + rng.integers(20, 160), x0 : x0 + rng.integers(20, 160)] = rng.integers(
                0, 255, 3
            )
        img += rng.normal(0, 8, (H, W, 1)).astype(np.float32)
        name = f"img{i:05d}.jpg"
        cv2.imwrite(
            str(folder / name),
            np.clip(img, 0, 255).astype(np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, 90],
        )
        images.append({"id": i + 1, "file_name": name, "width": W, "height": H})
        for _ in range(PEOPLE):
            scale = rng.uniform(150, 300)
            cx, cy = rng.uniform(80, W - 80), rng.uniform(160, H - 160)
            pts = POSE * scale + (cx, cy) + rng.normal(0, 4, POSE.shape)
            vis = rng.choice([0, 1, 2], size=17, p=[0.15, 0.15, 0.7])
            kps: list[float] = []
            for (x, y), v in zip(pts.tolist(), vis.tolist(), strict=True):
                kps += [0, 0, 0] if v == 0 else [round(x, 1), round(y, 1), v]
            x0, y0 = pts.min(axis=0) - 10
            x1, y1 = pts.max(axis=0) + 10
            anns.append({
                "id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "keypoints": kps,
                "num_keypoints": int((vis > 0).sum()), "iscrowd": 0,
                "bbox": [round(float(x0), 1), round(float(y0), 1), round(float(x1 - x0), 1), round(float(y1 - y0), 1)],
                "area": round(float((x1 - x0) * (y1 - y0)), 1),
            })  # fmt: skip
    cat = {"id": 1, "name": "person", "supercategory": "person", "keypoints": COCO_PERSON_KEYPOINTS,
           "skeleton": [list(e) for e in COCO_PERSON_SKELETON]}  # fmt: skip
    path = folder / "dataset.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [cat]}))
    return path


def bare_loop(files: list[Path], out: Path, fmt: str) -> float:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for f in files:
        img = cv2.imread(str(f))
        cv2.imwrite(str(out / f"{f.stem}.{fmt}"), img)
    return time.perf_counter() - t0


def run_visualize(dataset: Path, images: Path, out: Path, fmt: str, workers: int) -> float:
    cmd = [sys.executable, "-m", "kpconv", "visualize", str(dataset), "--images", str(images),
           "-o", str(out), "--format", fmt, "--workers", str(workers)]  # fmt: skip
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"kpconv visualize failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", type=int, default=2000, help="number of images (default 2000)")
    ap.add_argument(
        "--format",
        choices=["jpg", "png"],
        default="jpg",
        help="output format of both (default jpg)",
    )
    ap.add_argument(
        "--workers", type=int, default=0, help="kpconv visualize --workers (0: one per CPU)"
    )
    ap.add_argument(
        "--repeat", type=int, default=2, help="alternate the two timings this often, keep the best"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kpconv-bench-vis-") as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        t0 = time.perf_counter()
        dataset = make_data(src, args.images)
        files = sorted(src.glob("*.jpg"))
        print(f"generated {len(files)} {W}x{H} JPEGs, {PEOPLE} people x 17 keypoints each, "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        for f in files:  # warm the page cache so neither timing pays for the first read
            f.read_bytes()
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"CPUs available: {cpus}; OpenCV {cv2.__version__}; output format: {args.format}")
        # Alternated and best-of: on a shared machine other load hits either timing at random.
        bares, viss = [], []
        for r in range(max(1, args.repeat)):
            bares.append(bare_loop(files, root / f"bare{r}", args.format))
            viss.append(run_visualize(dataset, src, root / f"vis{r}", args.format, args.workers))
        print(
            "runs (s): bare "
            + ", ".join(f"{t:.2f}" for t in bares)
            + "; visualize "
            + ", ".join(f"{t:.2f}" for t in viss)
        )
        bare, vis = min(bares), min(viss)
        n = len(files)
        print(f"bare cv2.imread + cv2.imwrite loop : {bare:7.2f} s  {n / bare:7.1f} images/s")
        print(f"kpconv visualize (whole command)   : {vis:7.2f} s  {n / vis:7.1f} images/s")
        ratio = vis / bare
        verdict = "within" if ratio <= 1.5 else "NOT within"
        print(f"ratio visualize / bare = {ratio:.2f}x ({verdict} the 1.5x goal)")


if __name__ == "__main__":
    main()
