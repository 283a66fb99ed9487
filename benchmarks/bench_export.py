"""Benchmark: the LabelMe, CVAT and Label Studio writers (``kpconv to-labelme`` / ``to-cvat`` /
``to-labelstudio``) on a COCO-train-scale file.

Generates (once, cached in the temp folder) the file ``bench_validate.py`` generates: ~57k images,
~260k person annotations with 17 keypoints at full scale. Times each writer on the loaded document
(the validation every command runs first is ``bench_validate.py``'s subject) and reports
instances per second; the goal is ≥ 20,000 instances/s.

Then reads each written file back with its own command, as a fresh process (what a user waits
for): ``from-labelme`` on the LabelMe folder, ``from-labelstudio`` on the tasks, ``from-cvat`` on
the XML, and reports microseconds per instance; the goal (issue 16) is readers as fast as
``from-labelme`` per instance.

    python benchmarks/bench_export.py              # full scale
    python benchmarks/bench_export.py --scale 0.1
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import generate  # noqa: E402

from kpconv.formats import cvat, labelme, labelstudio  # noqa: E402


def _written(out: Path, name: str) -> dict[str, float]:
    """What a writer put on disk: files and MB (the writers are bound by these at full scale)."""
    where = {"to-labelme": out / "labelme", "to-cvat": out / "annotations.xml",
             "to-cvat --video": out / "video.xml", "to-labelstudio": out / "tasks.json"}[name]  # fmt: skip
    files = [p for p in where.rglob("*") if p.is_file()] if where.is_dir() else [where]
    return {"files": len(files), "output_mb": round(sum(p.stat().st_size for p in files) / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of COCO train's size")
    args = ap.parse_args()
    cache = Path(tempfile.gettempdir()) / f"kpconv_bench_coco_{args.scale:g}.json"  # bench_validate.py's cache
    if not cache.exists():
        generate(cache, args.scale)
    doc = orjson.loads(cache.read_bytes())
    n = sum(1 for a in doc["annotations"] if not a.get("iscrowd"))
    images = doc["images"]
    out = Path(tempfile.mkdtemp(prefix="kpconv-bench-export-"))
    results = {}
    try:
        runs = {
            "to-labelme": lambda: labelme.write(doc, out / "labelme"),
            "to-cvat": lambda: cvat.write(doc, out / "annotations.xml"),
            "to-cvat --video": lambda: cvat.write(doc, out / "video.xml", cvat.WriteOptions(video=True)),
            # as a Label Studio export holds them (what from-labelstudio reads back)
            "to-labelstudio": lambda: labelstudio.write(doc, out / "tasks.json", labelstudio.WriteOptions(as_="annotations")),
        }
        for name, run in runs.items():
            t = time.perf_counter()
            report = run()
            dt = time.perf_counter() - t
            assert report.summary["written"], report.findings[:3]
            results[name] = {"seconds": round(dt, 2), "instances_per_s": round(n / dt), **_written(out, name)}
        readers = {}
        reads = {
            "from-labelme": [str(out / "labelme")],
            "from-labelstudio": [str(out / "tasks.json"), "--config", str(out / "tasks.label_config.xml")],
            "from-cvat": [str(out / "annotations.xml")],
        }
        for name, argv in reads.items():
            cmd = [sys.executable, "-m", "kpconv", name, *argv, "-o", str(out / f"{name}.json"), "--compact"]
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            dt = time.perf_counter() - t
            assert done.returncode == 0, done.stderr[-2000:]
            read_back = len(orjson.loads((out / f"{name}.json").read_bytes())["annotations"])
            assert read_back == n, f"{name}: {read_back} of {n} instances read back"
            readers[name] = {"seconds": round(dt, 2), "us_per_instance": round(dt / n * 1e6, 1)}
        base = readers["from-labelme"]["seconds"]
        for entry in readers.values():
            entry["vs_from_labelme"] = round(entry["seconds"] / base, 2)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"images": len(images), "instances": n, "writers": results, "readers": readers}, indent=2))


if __name__ == "__main__":
    main()
