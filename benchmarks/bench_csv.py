"""Benchmark ``kpconv from-csv`` on a big long-layout CSV and a big DeepLabCut CSV.

    python benchmarks/bench_csv.py                  # 1,000,000 keypoint rows, 10,000 DLC frames
    python benchmarks/bench_csv.py --rows 200000 --frames 2000   # reduced scale

Generates its data in a temporary folder (deterministic: seeded), then times

* ``kpconv from-csv long.csv --image-size 640x480`` end to end (a fresh process, as a user runs it),
  also with ``--compact`` (the output unindented), and the start-up alone (interpreter + imports
  of the command, no work),
* the same conversion in-process, phase by phase (read + parse, build + validate, write), and
  what decoding and validating the written JSON again would cost (the builder validates from its
  own columns instead),
* ``pandas.read_csv`` of the same file alone (the reference the issue compares with), in-process
  and as a whole ``python -c`` process (interpreter and pandas import included, as kpconv's are),
* ``kpconv from-csv`` on the DeepLabCut CSV end to end.

Every measurement is the best of ``--repeat`` runs (3): on a shared machine the slower runs
measure the other processes. pandas is only used here, never by kpconv.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import resource
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


def write_long(path: Path, rows: int, per_image: int = 3) -> int:
    """``rows`` keypoint rows, 17 per instance, ``per_image`` instances per image; returns instances."""
    rng = random.Random(0)
    k = len(KEYPOINTS)
    instances = (rows + k - 1) // k
    with path.open("w", newline="") as fh:
        fh.write("image,instance,keypoint,x,y,v\n")
        written = 0
        for i in range(instances):
            image = f"images/{i // per_image:07d}.jpg"
            cx, cy = rng.uniform(50, 590), rng.uniform(50, 430)
            lines = []
            for name in KEYPOINTS:
                if written == rows:
                    break
                v = 2 if rng.random() < 0.8 else (1 if rng.random() < 0.5 else 0)
                if v:
                    x, y = cx + rng.uniform(-40, 40), cy + rng.uniform(-40, 40)
                    lines.append(f"{image},{i % per_image},{name},{x:.2f},{y:.2f},{v}\n")
                else:
                    lines.append(f"{image},{i % per_image},{name},,,0\n")
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


def run_cli(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds for ``kpconv ARGS`` in a fresh process (what a user waits for).

    CPU seconds are reported too because on a shared machine the wall time mostly measures the
    other processes.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kpconv", *args], capture_output=True, text=True, env={**os.environ}
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"kpconv failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def python_c(code: str, *args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of a fresh interpreter running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def startup() -> tuple[float, float]:
    """(wall, CPU) seconds of ``kpconv from-csv --help``: interpreter, the command's imports, no work."""
    return run_cli(["from-csv", "--help"])


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The fastest wall and the least CPU of several runs (the others measure the machine)."""
    return min(r[0] for r in runs), min(r[1] for r in runs)


def phases(src: Path, out: Path) -> dict[str, tuple[float, float]]:
    """The same conversion in-process, timed per phase: (wall, CPU) seconds."""
    from kpconv.convert.builder import convert
    from kpconv.convert.csv import CsvOptions, ImageOptions, parse_csv
    from kpconv.memory import gc_paused
    from kpconv.validation import validate_bytes

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def since(t: tuple[float, float], u: tuple[float, float]) -> tuple[float, float]:
        return u[0] - t[0], u[1] - t[1]

    with gc_paused():
        t0 = now()
        parsed = parse_csv(src, CsvOptions(images=ImageOptions(image_size=(640, 480))))
        t1 = now()
        conv = convert(parsed, None)
        t2 = now()
        conv.write(out)
        t3 = now()
        validate_bytes(conv.data)
        t4 = now()
    return {
        "read + parse": since(t0, t1),
        "build + validate": since(t1, t2),
        "write": since(t2, t3),
        "(validate_bytes of the output": since(t3, t4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="keypoint rows in the long CSV")
    ap.add_argument("--frames", type=int, default=10_000, help="frames in the DeepLabCut CSV")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (best kept)")
    args = ap.parse_args()
    # As `pip install` does: compile kpconv's modules once, so no run spends its start-up
    # compiling them (PYTHONDONTWRITEBYTECODE=1 environments never write them otherwise).
    compileall.compile_dir(Path(kpconv.__file__).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="kpconv-bench-csv-") as tmp:
        d = Path(tmp)
        long_csv = d / "long.csv"
        instances = write_long(long_csv, args.rows)
        dlc_csv = d / "labeled-data" / "video" / "CollectedData_bench.csv"
        dlc_csv.parent.mkdir(parents=True)
        write_dlc(dlc_csv, args.frames)
        size_mb = long_csv.stat().st_size / 1e6
        print(f"long CSV: {args.rows:,} keypoint rows, {instances:,} instances, {size_mb:.1f} MB")
        print(f"DLC CSV: {args.frames:,} frames x {len(INDIVIDUALS)} individuals x {len(BODYPARTS)} bodyparts")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")

        import pandas as pd

        reads = []
        for _ in range(args.repeat):
            start, cpu = time.perf_counter(), time.process_time()
            frame = pd.read_csv(long_csv)
            reads.append((time.perf_counter() - start, time.process_time() - cpu))
            assert len(frame) == args.rows
            del frame
        t_pandas, c_pandas = best(reads)
        rep = range(args.repeat)
        t_pproc, c_pproc = best([python_c("import sys, pandas; pandas.read_csv(sys.argv[1])", str(long_csv)) for _ in rep])
        t_start, c_start = best([startup() for _ in rep])
        long_args = ["from-csv", str(long_csv), "-o", str(d / "long.json"), "--image-size", "640x480"]
        t_long, c_long = best([run_cli(long_args) for _ in rep])
        compact_args = [*long_args[:3], str(d / "long-compact.json"), *long_args[4:], "--compact"]
        t_compact, c_compact = best([run_cli(compact_args) for _ in rep])
        mb_pretty, mb_compact = ((d / name).stat().st_size / 1e6 for name in ("long.json", "long-compact.json"))
        parts = phases(long_csv, d / "long-inprocess.json")
        dlc_args = ["from-csv", str(dlc_csv), "-o", str(d / "dlc.json"), "--image-size", "640x480"]
        t_dlc, c_dlc = best([run_cli(dlc_args) for _ in rep])

        n = args.rows
        print()
        print(f"best of {args.repeat} runs each       wall s       rows/s   |    CPU s   rows/CPU-s")
        print(f"pandas.read_csv alone (long):     {t_pandas:8.2f} {n / t_pandas:12,.0f}   | {c_pandas:8.2f} {n / c_pandas:12,.0f}")
        print(f"python -c 'import pandas; read_csv': {t_pproc:5.2f} {n / t_pproc:12,.0f}   | {c_pproc:8.2f} {n / c_pproc:12,.0f}"
              "   (a fresh process, as kpconv's)")
        print(f"kpconv from-csv long, end to end: {t_long:8.2f} {n / t_long:12,.0f}   | {c_long:8.2f} {n / c_long:12,.0f}"
              "   (goal >= 500,000 rows/s)")
        print(f"  ratio kpconv / pandas.read_csv: {t_long / t_pandas:8.1f} x (wall), {c_long / c_pandas:.1f} x (CPU)"
              "   (goal <= 2 x)")
        print(f"  ratio kpconv / pandas process:  {t_long / t_pproc:8.1f} x (wall), {c_long / c_pproc:.1f} x (CPU)"
              "   (both whole processes: interpreter, imports, read)")
        print(f"kpconv from-csv long --compact:   {t_compact:8.2f} {n / t_compact:12,.0f}   | {c_compact:8.2f} {n / c_compact:12,.0f}"
              f"   ({mb_compact:.0f} MB written instead of {mb_pretty:.0f} MB)")
        print(f"  ratio kpconv / pandas.read_csv: {t_compact / t_pandas:8.1f} x (wall), {c_compact / c_pandas:.1f} x (CPU)")
        print(f"  ratio kpconv / pandas process:  {t_compact / t_pproc:8.1f} x (wall), {c_compact / c_pproc:.1f} x (CPU)")
        print(f"  start-up (python + imports):    {t_start:8.2f} {'':12}   | {c_start:8.2f}")
        print("  in-process phases:")
        for name, (wall, cpu_s) in parts.items():
            print(f"    {name:<28} {wall:8.2f} {n / wall:12,.0f}   | {cpu_s:8.2f} {n / cpu_s:12,.0f}")
        print("     not part of the command: what decoding and checking the written JSON again would cost)")
        work = [v for k, v in parts.items() if not k.startswith("(")]
        w_in, c_in = sum(w for w, _ in work), sum(c for _, c in work)
        print(f"    all three (no interpreter start) {w_in:8.2f} {n / w_in:12,.0f}   | {c_in:8.2f} {n / c_in:12,.0f}"
              f"   = {w_in / t_pandas:.1f} x pandas.read_csv (wall), {c_in / c_pandas:.1f} x (CPU)")
        f = args.frames
        print(f"kpconv from-csv DLC, end to end:  {t_dlc:8.2f} {f / t_dlc:12,.0f} frames/s | {c_dlc:8.2f} {f / c_dlc:12,.0f} frames/CPU-s")


if __name__ == "__main__":
    main()
