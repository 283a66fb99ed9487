"""Benchmark: ``kpconv validate`` (all checks) vs pycocotools ``COCO(path)`` on a COCO-train-scale file.

Generates (once, cached in the temp folder unless --path is given) a file shaped like COCO
person_keypoints_train2017: ~57k images, ~260k person annotations with 17 keypoints and polygon
segmentations (~190 MB). Each contender runs in its own fresh Python process, so its peak RSS is
its own; the time is measured inside that process around the work (imports excluded).

    python benchmarks/bench_validate.py            # full scale
    python benchmarks/bench_validate.py --scale 0.1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

CHILD = r"""
import json, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
if which == "kpconv":
    from kpconv.cli import main
    import kpconv.cli.validate_cmd  # imports outside the timing, as for pycocotools
    t = time.perf_counter()
    try:
        main(["validate", path, "--format", "json"])
    except SystemExit as exc:
        code = exc.code
    dt = time.perf_counter() - t
else:
    from pycocotools.coco import COCO
    import contextlib, io
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        COCO(path)
    dt = time.perf_counter() - t
    code = 0
# VmHWM belongs to this process image (ru_maxrss would carry the parent's peak across exec)
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": dt, "peak_rss_mb": rss, "exit": code}), file=sys.stderr)
"""


def generate(path: Path, scale: float, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_img = int(57_000 * scale)
    n_ann = int(260_000 * scale)
    images = [
        {"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480,
         "license": 1, "date_captured": "2013-11-14 16:28:13"}
        for i in range(n_img)
    ]
    img_of = rng.integers(1, n_img + 1, n_ann)
    x0 = rng.uniform(0, 500, n_ann)
    y0 = rng.uniform(0, 300, n_ann)
    w = rng.uniform(20, 139, n_ann)
    h = rng.uniform(40, 179, n_ann)
    anns = []
    for j in range(n_ann):
        v = rng.choice([0, 1, 2], size=17, p=[0.3, 0.1, 0.6])
        xs = np.round(x0[j] + rng.uniform(0, w[j], 17), 0)
        ys = np.round(y0[j] + rng.uniform(0, h[j], 17), 0)
        xs[v == 0] = 0
        ys[v == 0] = 0
        kps = np.stack([xs, ys, v], axis=1).astype(int).ravel().tolist()
        npts = int(rng.integers(16, 40))  # ~190 MB at full scale, like COCO train
        ang = np.sort(rng.uniform(0, 2 * np.pi, npts))
        poly = np.stack([x0[j] + w[j] / 2 * (1 + np.cos(ang)), y0[j] + h[j] / 2 * (1 + np.sin(ang))], 1)
        anns.append({
            "id": j + 1, "image_id": int(img_of[j]), "category_id": 1, "iscrowd": 0,
            "keypoints": kps, "num_keypoints": int((v > 0).sum()),
            "bbox": [round(float(x0[j]), 2), round(float(y0[j]), 2), round(float(w[j]), 2), round(float(h[j]), 2)],
            "area": round(float(w[j] * h[j] * 0.7), 4),
            "segmentation": [np.round(poly.ravel(), 2).tolist()],
        })
    from kpconv.spec import COCO_PERSON_KEYPOINTS, COCO_PERSON_SKELETON

    doc = {
        "info": {"description": "synthetic COCO-train-scale keypoints"},
        "licenses": [{"id": 1, "name": "synthetic", "url": ""}],
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "supercategory": "person",
                        "keypoints": COCO_PERSON_KEYPOINTS, "skeleton": [list(p) for p in COCO_PERSON_SKELETON]}],
    }
    path.write_bytes(orjson.dumps(doc))


def run(which: str, path: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, which, str(path)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    last = proc.stderr.strip().splitlines()[-1]
    out = json.loads(last)
    out["process_seconds"] = wall
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of COCO-train size (default 1.0)")
    ap.add_argument("--path", type=Path, help="where to write/read the generated file")
    ap.add_argument("--repeat", type=int, default=1, help="runs per contender (best time, max RSS)")
    args = ap.parse_args()
    path = args.path or Path(tempfile.gettempdir()) / f"kpconv_bench_coco_{args.scale:g}.json"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, args.scale)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    results = {}
    for which in ("pycocotools", "kpconv"):
        runs = [run(which, path) for _ in range(args.repeat)]
        results[which] = {"seconds": min(r["seconds"] for r in runs),
                          "process_seconds": min(r["process_seconds"] for r in runs),
                          "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "exit": runs[0]["exit"]}
        r = results[which]
        label = "kpconv validate (all checks)" if which == "kpconv" else "pycocotools COCO(path)"
        print(f"{label:32s} {r['seconds']:7.2f} s   peak RSS {r['peak_rss_mb']:7.0f} MB"
              f"   (whole process incl. interpreter and imports {r['process_seconds']:.2f} s)")
    k, p = results["kpconv"], results["pycocotools"]
    ratio = k["seconds"] / p["seconds"]
    print(f"time ratio kpconv/pycocotools: {ratio:.2f}  (goal <= 0.50: {'met' if ratio <= 0.5 else 'NOT met'})")
    rss_ok = k["peak_rss_mb"] <= p["peak_rss_mb"]
    print(f"peak RSS kpconv <= pycocotools: {'met' if rss_ok else 'NOT met'}"
          f" ({k['peak_rss_mb']:.0f} vs {p['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
