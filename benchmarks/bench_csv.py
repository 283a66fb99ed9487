"""Benchmark ``kpconv from-csv`` on a big long-layout CSV (plain and quoted) and a DeepLabCut CSV.

    python benchmarks/bench_csv.py                  # 1,000,000 keypoint rows, 10,000 DLC frames
    python benchmarks/bench_csv.py --rows 200000 --frames 2000   # reduced scale

Generates its data in a temporary folder (deterministic: seeded), then times, each as a fresh
process (what a user waits for), the best of ``--repeat`` runs (on a shared machine the slower
runs measure the other processes):

* **the floor**: a bare ``python -c`` process that reads the long CSV with pyarrow's CSV reader
  (the library kpconv reads CSV with), groups its rows into instances with numpy, and writes the
  same COCO JSON with orjson; the benchmark checks that its bytes equal kpconv's output. The
  goal: ``kpconv from-csv`` at most 1.5 x the floor.
* ``kpconv from-csv long.csv --image-size 640x480`` on the plain file, on the same file with a
  quoted header, and with every text cell quoted (``"images/0000000.jpg",0,"nose",…``, as
  ``csv.QUOTE_NONNUMERIC`` writes it). The goal: no cliff, quoting costs < 20 % more;
* the same conversion in-process, phase by phase (read + parse, build + validate, write), and
  pyarrow's ``read_csv`` of the file alone;
* ``kpconv from-csv`` on the DeepLabCut CSV.

Peak RSS is that of each process (``wait4``), the best run's.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kpconv

KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
BODYPARTS = ["snout", "leftear", "rightear", "neck", "spine", "tailbase"]
INDIVIDUALS = ["mouse1", "mouse2"]

#: The floor: read with pyarrow, group with numpy, the box rule of kpconv.geometry, write with
#: orjson exactly the document kpconv writes for this file (a keypoint spec inferred in
#: first-seen order, images sorted by name, instances in row order). It relies on what the
#: generated file guarantees: the rows of an instance follow one another, no keypoint twice.
#: The garbage collector is off while it builds the lists, as kpconv's is (gc_paused).
FLOOR = r"""
import gc, sys
class NoPandas:  # as if pandas were not installed: pyarrow's to_numpy imports it (~0.5 s)
    def find_spec(self, name, *args):
        if name.partition(".")[0] == "pandas":
            raise ImportError(name)
sys.meta_path.insert(0, NoPandas())
import numpy as np, orjson, pyarrow.compute as pc, pyarrow.csv as csv
from kpconv.geometry import boxes_from_points, round_px_array
gc.disable()  # millions of lists, no cycles
src, out, name, width, height = sys.argv[1], sys.argv[2], sys.argv[3], 640, 480
t = csv.read_csv(src)
image = t["image"].combine_chunks()
instance = t["instance"].to_numpy()
changes = pc.not_equal(image[1:], image[:-1]).to_numpy(zero_copy_only=False) | (instance[1:] != instance[:-1])
starts = np.flatnonzero(np.concatenate(([True], changes)))
codes = pc.dictionary_encode(t["keypoint"]).combine_chunks()
names = codes.dictionary.to_pylist()
k = len(names)
x, y = (t[c].to_numpy().astype(np.float64) for c in "xy")
v = t["v"].to_numpy()
v = np.where(np.isnan(x + y) | (v <= 0), 0, np.where(v >= 2, 2, 1))
inst = np.repeat(np.arange(len(starts)), np.diff(starts, append=len(v)))
slot = inst * k + codes.indices.to_numpy()
n = len(starts)
xs, ys, vs = np.zeros(n * k), np.zeros(n * k), np.zeros(n * k, np.int8)
xs[slot], ys[slot], vs[slot] = x, y, v
xs, ys, vs = xs.reshape(n, k), ys.reshape(n, k), vs.reshape(n, k)
num = np.count_nonzero(vs, axis=1)
keep = num > 0
xs, ys, vs, num = xs[keep], ys[keep], vs[keep], num[keep]
files, image_ids = np.unique(image.take(starts).to_numpy(zero_copy_only=False)[keep], return_inverse=True)
m = len(num)
boxes = boxes_from_points(xs, ys, vs > 0, np.full(m, float(width)), np.full(m, float(height)))
areas = round_px_array(boxes[:, 2] * boxes[:, 3])
seen = vs > 0
flat = np.zeros((m, k, 3), dtype=object)
flat[..., 0][seen], flat[..., 1][seen], flat[..., 2][seen] = xs[seen], ys[seen], vs[seen]
order = np.argsort(image_ids, kind="stable")
anns = [
    {"id": i, "image_id": im + 1, "category_id": 1, "keypoints": kps, "num_keypoints": c,
     "bbox": b, "area": a, "iscrowd": 0, "segmentation": []}
    for i, (im, kps, c, b, a) in enumerate(zip(image_ids[order].tolist(), flat[order].reshape(m, 3 * k).tolist(),
                                               num[order].tolist(), boxes[order].tolist(), areas[order].tolist()), 1)
]
doc = {
    "info": {"description": f"converted by kpconv from-csv from {name}", "version": sys.argv[4]},
    "licenses": [],
    "images": [{"id": i, "file_name": f, "width": width, "height": height} for i, f in enumerate(files.tolist(), 1)],
    "annotations": anns,
    "categories": [{"id": 1, "name": "object", "supercategory": "object", "keypoints": names, "skeleton": []}],
}
opts = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
with open(out, "wb") as fh:
    fh.write(orjson.dumps(doc, option=opts))
"""


def write_long(path: Path, rows: int, per_image: int = 3, quote: str = "") -> int:
    """``rows`` keypoint rows, 17 per instance, ``per_image`` instances per image; returns instances.

    ``quote``: ``""`` plain, ``"header"`` the header cells quoted, ``"cells"`` the header and every
    text cell quoted (as ``csv.QUOTE_NONNUMERIC`` writes).
    """
    rng = random.Random(0)
    k = len(KEYPOINTS)
    instances = (rows + k - 1) // k
    q = '"' if quote == "cells" else ""
    with path.open("w", newline="") as fh:
        header = "image,instance,keypoint,x,y,v"
        fh.write((",".join(f'"{c}"' for c in header.split(",")) if quote else header) + "\n")
        written = 0
        for i in range(instances):
            image = f"{q}images/{i // per_image:07d}.jpg{q}"
            cx, cy = rng.uniform(50, 590), rng.uniform(50, 430)
            lines = []
            for name in KEYPOINTS:
                if written == rows:
                    break
                v = 2 if rng.random() < 0.8 else (1 if rng.random() < 0.5 else 0)
                if v:
                    x, y = cx + rng.uniform(-40, 40), cy + rng.uniform(-40, 40)
                    lines.append(f"{image},{i % per_image},{q}{name}{q},{x:.2f},{y:.2f},{v}\n")
                else:
                    lines.append(f"{image},{i % per_image},{q}{name}{q},,,0\n")
                written += 1
            fh.write("".join(lines))
    return instances


def write_dlc(path: Path, frames: int) -> None:
    """A multi-animal DeepLabCut CSV (4 header rows, 3 index columns) with ``frames`` rows."""
    rng = random.Random(1)
    cols = [(ind, bp) for ind in INDIVIDUALS for bp in BODYPARTS]
    with path.open("w", newline="") as fh:
        fh.write("scorer,,," + ",".join(["bench"] * 2 * len(cols)) + "\n")
        fh.write("individuals,,," + ",".join(ind for ind, _ in cols for _ in "xy") + "\n")
        fh.write("bodyparts,,," + ",".join(bp for _, bp in cols for _ in "xy") + "\n")
        fh.write("coords,,," + ",".join(c for _ in cols for c in "xy") + "\n")
        for f in range(frames):
            cells = []
            for _ in cols:
                if rng.random() < 0.1:
                    cells += ["", ""]
                else:
                    cells += [f"{rng.uniform(0, 640):.3f}", f"{rng.uniform(0, 480):.3f}"]
            fh.write(f"labeled-data,video,img{f:05d}.png," + ",".join(cells) + "\n")


Run = tuple[float, float, float]  # wall s, CPU s, peak RSS MB


def timed(argv: list[str]) -> Run:
    """(wall s, CPU s, peak RSS MB) of one process; CPU too because on a shared machine the wall
    time partly measures the other processes."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        sys.exit(f"{argv[:4]} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best(runs: list[Run]) -> Run:
    """The fastest wall, the least CPU and the smallest peak of several runs."""
    return min(r[0] for r in runs), min(r[1] for r in runs), min(r[2] for r in runs)


def kpconv_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "kpconv", *args]


def phases(src: Path, out: Path) -> dict[str, tuple[float, float]]:
    """The same conversion in-process, timed per phase: (wall, CPU) seconds."""
    import pyarrow.csv

    from kpconv.convert.builder import convert
    from kpconv.formats.csv import CsvOptions, ImageOptions, parse_csv
    from kpconv.memory import gc_paused

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def since(t: tuple[float, float], u: tuple[float, float]) -> tuple[float, float]:
        return u[0] - t[0], u[1] - t[1]

    with gc_paused():
        t0 = now()
        pyarrow.csv.read_csv(src)
        t1 = now()
        parsed = parse_csv(src, CsvOptions(images=ImageOptions(image_size=(640, 480))))
        t2 = now()
        conv = convert(parsed, None)
        t3 = now()
        conv.write(out)
        t4 = now()
    return {
        "(pyarrow read_csv alone)": since(t0, t1),
        "read + parse": since(t1, t2),
        "build + validate": since(t2, t3),
        "write": since(t3, t4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000, help="keypoint rows in the long CSV")
    ap.add_argument("--frames", type=int, default=10_000, help="frames in the DeepLabCut CSV")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (best kept)")
    args = ap.parse_args()
    # As `pip install` does: compile kpconv's modules once, so no run spends its start-up
    # compiling them (PYTHONDONTWRITEBYTECODE=1 environments never write them otherwise).
    compileall.compile_dir(Path(kpconv.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="kpconv-bench-csv-") as tmp:
        d = Path(tmp)
        # one file name in three folders: the outputs (which name their source) must be equal
        variants = {
            name: d / name.replace(" ", "-") / "long.csv"
            for name in ("plain", "quoted header", "quoted cells")
        }
        for src in variants.values():
            src.parent.mkdir()
        instances = write_long(variants["plain"], args.rows)
        write_long(variants["quoted header"], args.rows, quote="header")
        write_long(variants["quoted cells"], args.rows, quote="cells")
        dlc_csv = d / "labeled-data" / "video" / "CollectedData_bench.csv"
        dlc_csv.parent.mkdir(parents=True)
        write_dlc(dlc_csv, args.frames)
        size_mb = variants["plain"].stat().st_size / 1e6
        print(f"long CSV: {args.rows:,} keypoint rows, {instances:,} instances, {size_mb:.1f} MB")
        print(
            f"DLC CSV: {args.frames:,} frames x {len(INDIVIDUALS)} individuals x {len(BODYPARTS)} bodyparts"
        )
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), kpconv from {Path(kpconv.__file__).parent}"
        )

        def measure(argv: list[str]) -> Run:
            return best([timed(argv) for _ in range(args.repeat)])

        def convert(src: Path, out: Path) -> Run:
            return measure(
                kpconv_cli("from-csv", str(src), "-o", str(out), "--image-size", "640x480")
            )

        floor_out = d / "floor.json"
        floor = measure(
            [
                sys.executable,
                "-c",
                FLOOR,
                str(variants["plain"]),
                str(floor_out),
                "long.csv",
                kpconv.__version__,
            ]
        )
        startup = measure(kpconv_cli("from-csv", "--help"))
        runs = {name: convert(src, src.with_suffix(".json")) for name, src in variants.items()}
        written = [src.with_suffix(".json").read_bytes() for src in variants.values()]
        same = floor_out.read_bytes() == written[0]
        quoted_same = written[1] == written[2] == written[0]
        parts = phases(variants["plain"], d / "long-inprocess.json")
        dlc = convert(dlc_csv, d / "dlc.json")

        n = args.rows
        print()
        print(
            f"best of {args.repeat} runs each                 wall s       rows/s |   CPU s   peak MB"
        )
        print(
            f"floor (pyarrow + numpy + orjson process): {floor[0]:6.2f} {n / floor[0]:12,.0f} | {floor[1]:7.2f} {floor[2]:9.0f}"
            f"   (same bytes as kpconv's output: {'yes' if same else 'NO'})"
        )
        print(
            f"kpconv from-csv --help (start-up):        {startup[0]:6.2f} {'':12} | {startup[1]:7.2f} {startup[2]:9.0f}"
        )
        for name, (wall, cpu, rss) in runs.items():
            print(
                f"kpconv from-csv long, {name + ':':<19} {wall:6.2f} {n / wall:12,.0f} | {cpu:7.2f} {rss:9.0f}"
            )
        plain = runs["plain"]
        print(
            f"  ratio kpconv / floor:                   {plain[0] / floor[0]:6.2f} x (wall), {plain[1] / floor[1]:.2f} x (CPU)   (goal <= 1.5 x)"
        )
        for name in ("quoted header", "quoted cells"):
            wall, cpu, _ = runs[name]
            print(
                f"  {name} / plain:                {wall / plain[0] - 1:+7.0%} (wall), {cpu / plain[1] - 1:+.0%} (CPU)   (goal < +20 %)"
            )
        print(f"  quoted variants give the same output:   {'yes' if quoted_same else 'NO'}")
        print("  in-process phases:")
        for name, (wall, cpu_s) in parts.items():
            print(f"    {name:<37} {wall:6.2f} {n / wall:12,.0f} | {cpu_s:7.2f}")
        f = args.frames
        print(
            f"kpconv from-csv DLC, end to end:          {dlc[0]:6.2f} {f / dlc[0]:12,.0f} frames/s | {dlc[1]:7.2f} {dlc[2]:9.0f}"
        )


if __name__ == "__main__":
    main()
