"""Benchmark ``kpconv to-yolo`` and ``kpconv from-yolo`` against Ultralytics' ``convert_coco``.

    python benchmarks/bench_yolo.py                 # 50,000 images, 250,000 instances (17 keypoints)
    python benchmarks/bench_yolo.py --scale 0.1     # 5,000 images, 25,000 instances
    python benchmarks/bench_yolo.py --ultralytics-python /tmp/ulv/bin/python
    python benchmarks/bench_yolo.py --tmp /dev/shm  # files on tmpfs: the work, not the disk

Generates (deterministic, seeded) a COCO keypoint file and its image files in a temporary folder:
three real PNG files of different sizes, hard-linked under every image name (headers are real,
disk use is not). Then times, each as a whole fresh process (interpreter start and imports
included, as a user runs it), best of ``--repeat`` runs:

* ``kpconv to-yolo DATA.json --images DIR -o OUT`` (validation with the image headers included),
* ``kpconv from-yolo OUT/data.yaml -o back.json`` (every label line, every image header),
* Ultralytics ``convert_coco(labels_dir, use_keypoints=True)`` on the same COCO file, timed inside
  its process around the call (its import, about 2 s, left out; it reads no image and writes no
  images folder nor data.yaml), when ``--ultralytics-python`` (default: this interpreter) can
  import ultralytics.

It also checks the round trip: the COCO file that comes back holds the same points (to 1e-6 px),
visibility, boxes (to 1e-3 px) and categories.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

K = 17
KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
SIZES = [(640, 480), (480, 640), (1280, 720)]

ULTRALYTICS = r"""
import json, sys, time
from ultralytics.data.converter import convert_coco
t = time.perf_counter()
convert_coco(sys.argv[1], sys.argv[2], use_keypoints=True)
print(json.dumps({"seconds": time.perf_counter() - t}), file=sys.stderr)
"""


def generate(root: Path, scale: float, seed: int = 0) -> Path:
    """``root/person_keypoints.json`` and ``root/images/`` (hard links to 3 real PNGs)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    n_img, n_ann = max(1, int(50_000 * scale)), max(1, int(250_000 * scale))
    images_dir = root / "images"
    images_dir.mkdir(parents=True)
    sources = []
    for w, h in SIZES:
        src = root / f"source_{w}x{h}.png"
        Image.new("L", (w, h), 90).save(src)
        sources.append(src)
    size_of = rng.integers(0, len(SIZES), n_img)
    images = []
    for i in range(n_img):
        name = f"{i + 1:07d}.png"
        os.link(sources[size_of[i]], images_dir / name)
        w, h = SIZES[size_of[i]]
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
    img_of = np.sort(rng.integers(0, n_img, n_ann))
    wh = np.asarray(SIZES, dtype=np.float64)[size_of[img_of]]
    bw, bh = wh[:, 0] * rng.uniform(0.05, 0.4, n_ann), wh[:, 1] * rng.uniform(0.1, 0.6, n_ann)
    x0, y0 = rng.uniform(0, 1, n_ann) * (wh[:, 0] - bw), rng.uniform(0, 1, n_ann) * (wh[:, 1] - bh)
    xs = np.round(x0[:, None] + rng.uniform(0, 1, (n_ann, K)) * bw[:, None], 2)
    ys = np.round(y0[:, None] + rng.uniform(0, 1, (n_ann, K)) * bh[:, None], 2)
    v = rng.choice([0, 1, 2], size=(n_ann, K), p=[0.3, 0.1, 0.6])
    v[:, 0] = 2
    xs[v == 0], ys[v == 0] = 0, 0
    kps = np.stack([xs, ys, v], axis=-1).reshape(n_ann, 3 * K).tolist()
    boxes = np.round(np.stack([x0, y0, bw, bh], axis=1), 2).tolist()
    anns = [
        {"id": j + 1, "image_id": int(img_of[j]) + 1, "category_id": 1, "iscrowd": 0,
         "keypoints": [int(t) if t.is_integer() else t for t in kps[j]], "num_keypoints": int((v[j] > 0).sum()),
         "bbox": boxes[j], "area": round(boxes[j][2] * boxes[j][3], 2)}
        for j in range(n_ann)
    ]  # fmt: skip
    cat = {"id": 1, "name": "person", "supercategory": "person", "keypoints": KEYPOINTS,
           "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7]]}  # fmt: skip
    path = root / "coco" / "person_keypoints.json"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps({"images": images, "annotations": anns, "categories": [cat]}))
    return path


def timed(argv: list[str], repeat: int, before: object = None) -> float:
    """Best wall time of ``repeat`` runs of a command (``before`` called ahead of each run)."""
    best = float("inf")
    for _ in range(repeat):
        if callable(before):
            before()
        t = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        best = min(best, dt)
    return best


def ultralytics_time(python: str, coco: Path, out: Path, repeat: int) -> float | None:
    probe = subprocess.run([python, "-c", "import ultralytics"], capture_output=True)
    if probe.returncode != 0:
        return None
    best = float("inf")
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run([python, "-c", ULTRALYTICS, str(coco.parent), str(out)], capture_output=True,
                              text=True, env={**os.environ, "YOLO_OFFLINE": "1"})  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"convert_coco failed:\n{proc.stderr[-3000:]}")
        best = min(best, json.loads(proc.stderr.strip().splitlines()[-1])["seconds"])
    return best


def check_round_trip(coco: Path, back: Path) -> str:
    """The same points (1e-6 px), visibility, boxes (1e-3 px) and categories, image by image."""
    a, b = orjson.loads(coco.read_bytes()), orjson.loads(back.read_bytes())

    def by_image(doc: dict) -> dict[str, list[list[float]]]:
        names = {im["id"]: im["file_name"].rsplit("/", 1)[-1] for im in doc["images"]}
        out: dict[str, list[list[float]]] = {}
        for ann in doc["annotations"]:
            out.setdefault(names[ann["image_id"]], []).append(ann["keypoints"] + ann["bbox"])
        return out

    ra, rb = by_image(a), by_image(b)
    assert ra.keys() == rb.keys(), "images with annotations differ"
    worst = 0.0
    for name, rows in ra.items():
        x, y = np.asarray(rows, dtype=np.float64), np.asarray(rb[name], dtype=np.float64)
        assert x.shape == y.shape, name
        kp, bx = np.abs(x[:, : 3 * K] - y[:, : 3 * K]), np.abs(x[:, 3 * K :] - y[:, 3 * K :])
        assert kp.max() <= 1e-6 and bx.max() <= 1e-3, name
        worst = max(worst, float(kp.max()))
    strip = ("id", "name", "keypoints", "skeleton", "supercategory")
    assert [{k: c.get(k) for k in strip} for c in a["categories"]] == [
        {k: c.get(k) for k in strip} for c in b["categories"]
    ]
    return f"round trip OK: {len(b['annotations'])} instances, largest keypoint difference {worst:.2g} px"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of 50,000 images / 250,000 instances"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement (the best is kept)"
    )
    parser.add_argument(
        "--ultralytics-python",
        default=sys.executable,
        help="interpreter that can import ultralytics (default: this one)",
    )
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--tmp", type=Path, help="make the temporary folder here (e.g. /dev/shm: the work "
                        "without the disk, which a busy machine makes slow and erratic for file creation)")  # fmt: skip
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_yolo_", dir=args.tmp))
    try:
        t = time.perf_counter()
        coco = generate(root / "data", args.scale)
        print(f"generated {coco} in {time.perf_counter() - t:.1f} s")
        kpconv = [sys.executable, "-m", "kpconv"]
        out = root / "yolo"
        to_yolo = timed(kpconv + ["to-yolo", str(coco), "--images", str(root / "data" / "images"), "-o", str(out)],
                        args.repeat, before=lambda: shutil.rmtree(out, ignore_errors=True))  # fmt: skip
        back = root / "back.json"
        from_yolo = timed(
            kpconv + ["from-yolo", str(out / "data.yaml"), "-o", str(back)], args.repeat
        )
        print(check_round_trip(coco, back))
        ul = ultralytics_time(args.ultralytics_python, coco, root / "ultralytics", args.repeat)
        n_img, n_ann = max(1, int(50_000 * args.scale)), max(1, int(250_000 * args.scale))
        print(f"\n{n_img:,} images, {n_ann:,} instances, K = {K} (best of {args.repeat})")
        print(f"  kpconv to-yolo   (whole process)       {to_yolo:8.2f} s")
        print(f"  kpconv from-yolo (whole process)       {from_yolo:8.2f} s")
        if ul is None:
            print(f"  ultralytics convert_coco: not importable by {args.ultralytics_python}")
        else:
            print(f"  ultralytics convert_coco (call only)   {ul:8.2f} s")
            print(
                f"  ratio: to-yolo {ul / to_yolo:.1f}x, from-yolo {ul / from_yolo:.1f}x faster than convert_coco"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
