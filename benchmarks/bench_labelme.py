"""Benchmark ``kpconv from-labelme`` against the ``labelme2coco`` package on generated LabelMe files.

Generates N LabelMe JSON files (default 5,000) in a temp folder: 1-3 people per image, each a
rectangle and the 17 COCO-person points sharing one ``group_id``. Then times, pinned to one CPU
core where the OS allows it:

* kpconv in-process (parse + build + validate + write, exactly what the command does);
* kpconv as a subprocess (``kpconv from-labelme DIR -o OUT --preset coco-person``, start-up included);
* ``labelme2coco.get_coco_from_labelme_folder`` + writing its JSON (it makes boxes, not
  keypoints: every point becomes a 1x1 box annotation, so its output is not comparable in kind;
  it is the nearest LabelMe -> COCO converter that runs on the same folder).

Usage: python benchmarks/bench_labelme.py [--files 5000] [--with-images] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
W, H = 640, 480


def generate(folder: Path, n: int, with_images: bool, seed: int = 0) -> int:
    """Write n LabelMe files (and tiny images of the declared size if asked); returns the people count."""
    rng = random.Random(seed)
    people = 0
    jpeg: bytes | None = None
    if with_images:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (W, H), (128, 128, 128)).save(buf, format="JPEG", quality=50)
        jpeg = buf.getvalue()
    for i in range(n):
        shapes = []
        for gid in range(rng.randint(1, 3)):
            people += 1
            x0, y0 = rng.uniform(0, W - 200), rng.uniform(0, H - 300)
            x1, y1 = x0 + rng.uniform(80, 200), y0 + rng.uniform(150, 300)
            shapes.append({"label": "person", "points": [[x0, y0], [x1, y1]], "group_id": gid,
                           "description": "", "shape_type": "rectangle", "flags": {}, "mask": None})  # fmt: skip
            for name in KEYPOINTS:
                flags = {"occluded": True} if rng.random() < 0.1 else {}
                shapes.append({"label": name, "points": [[rng.uniform(x0, x1), rng.uniform(y0, y1)]],
                               "group_id": gid, "description": "", "shape_type": "point",
                               "flags": flags, "mask": None})  # fmt: skip
        doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"img_{i:05d}.jpg",
               "imageData": None, "imageHeight": H, "imageWidth": W}  # fmt: skip
        (folder / f"img_{i:05d}.json").write_text(json.dumps(doc, indent=2))
        if jpeg is not None:
            (folder / f"img_{i:05d}.jpg").write_bytes(jpeg)
    return people


def run_kpconv_inprocess(folder: Path, out: Path, profile: bool) -> float:
    from kpconv.convert.builder import BuildOptions, convert
    from kpconv.convert.labelme import LabelmeOptions, gc_paused, parse_paths
    from kpconv.model import save
    from kpconv.spec import get_preset

    spec = get_preset("coco-person")

    def once() -> None:
        parsed = parse_paths([folder], LabelmeOptions(spec=spec), exclude=[out])
        with gc_paused():
            conv = convert(parsed.result, spec, BuildOptions())
        save(conv.dataset, out)

    if profile:
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.runcall(once)
        dt = time.perf_counter() - t0
        stats = pstats.Stats(prof, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        return dt
    t0 = time.perf_counter()
    once()
    return time.perf_counter() - t0


def run_kpconv_subprocess(folder: Path, out: Path) -> float:
    exe = Path(sys.executable).with_name("kpconv")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "kpconv"])]
    cmd += ["from-labelme", str(folder), "-o", str(out), "--preset", "coco-person", "--format", "json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"kpconv failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return dt


def run_labelme2coco(folder: Path, out: Path) -> float | None:
    try:
        import logging

        from labelme2coco.labelme2coco import get_coco_from_labelme_folder
        from sahi.utils.file import save_json
    except ImportError as exc:
        print(f"labelme2coco not runnable here: {exc}")
        return None
    logging.disable(logging.INFO)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - tqdm writes its bar to stderr
    old = sys.stderr
    sys.stderr = devnull
    try:
        t0 = time.perf_counter()
        coco = get_coco_from_labelme_folder(str(folder))
        save_json(coco.json, str(out))
        return time.perf_counter() - t0
    finally:
        sys.stderr = old
        devnull.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--with-images", action="store_true", help="also write a 640x480 JPEG per file (headers get checked)")
    ap.add_argument("--profile", action="store_true", help="cProfile the in-process kpconv run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the best is reported (shared machines are noisy)")
    ap.add_argument("--no-labelme2coco", action="store_true")
    args = ap.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, inherited by children
    tmp = Path(tempfile.mkdtemp(prefix="kpconv-bench-labelme-"))
    try:
        data = tmp / "data"
        data.mkdir()
        t0 = time.perf_counter()
        people = generate(data, args.files, args.with_images)
        print(f"generated {args.files} LabelMe files, {people} people, {people * 17} points "
              f"({'with' if args.with_images else 'without'} images) in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        n = args.files

        r = max(1, args.repeat)
        t_in = min(run_kpconv_inprocess(data, tmp / "kpconv_inproc.json", args.profile and i == 0) for i in range(r))
        print(f"kpconv from-labelme (in-process):  {t_in:7.2f} s  {n / t_in:8.0f} files/s  (best of {r})")
        t_sub = min(run_kpconv_subprocess(data, tmp / "kpconv_cli.json") for _ in range(r))
        print(f"kpconv from-labelme (subprocess):  {t_sub:7.2f} s  {n / t_sub:8.0f} files/s  (best of {r}, start-up included)")
        coco = json.loads((tmp / "kpconv_cli.json").read_text())
        print(f"  -> {len(coco['images'])} images, {len(coco['annotations'])} keypoint annotations")
        if not args.no_labelme2coco:
            runs = [run_labelme2coco(data, tmp / "labelme2coco.json") for _ in range(r)]
            if all(t is not None for t in runs):
                t_l2c = min(t for t in runs if t is not None)
                other = json.loads((tmp / "labelme2coco.json").read_text())
                print(f"labelme2coco {'(boxes only)':<21} {t_l2c:7.2f} s  {n / t_l2c:8.0f} files/s  (best of {r}, in-process)")
                print(f"  -> {len(other['images'])} images, {len(other['annotations'])} box annotations "
                      "(every point a 1x1 box; no keypoints)")  # fmt: skip
                print(f"ratio kpconv/labelme2coco (files/s): in-process {t_l2c / t_in:.1f}x, "
                      f"kpconv subprocess vs labelme2coco in-process {t_l2c / t_sub:.1f}x")  # fmt: skip
        goal = 2000
        print(f"goal >= {goal} files/s on one core: {'met' if n / t_in >= goal else 'NOT met'} "
              f"(in-process {n / t_in:.0f} files/s)")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
