"""Benchmark: ``kpconv report`` vs ``kpconv validate`` on the COCO-train-scale file, and the page's
first render in headless Chromium.

Uses the file ``bench_validate.py`` generates (57k images, 260k annotations; cached in the temp
folder). Each command runs in its own fresh Python process, timed inside it around the work
(imports excluded), as ``bench_validate.py`` does. The page is then opened from file:// in
Debian's Chromium (through Playwright) and its paint and load timings are read from the browser.

    python benchmarks/bench_report.py             # full scale (goals: report <= 2x validate, first render < 2 s)
    python benchmarks/bench_report.py --scale 0.1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import generate  # noqa: E402

CHILD = r"""
import json, sys, time
from kpconv.cli import main
import kpconv.cli.validate_cmd, kpconv.cli.report_cmd, kpconv.report, kpconv.formats.yolo  # imports outside the timing
args = sys.argv[1:]
t = time.perf_counter()
try:
    main(args)
except SystemExit:
    pass
print(json.dumps({"seconds": time.perf_counter() - t}), file=sys.stderr)
"""


def timed(args: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
        best = min(best, json.loads(proc.stderr.strip().splitlines()[-1])["seconds"])
    return best


def first_render(index: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(index.resolve().as_uri(), wait_until="load")
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            return {first_contentful_paint_ms: fcp ? fcp.startTime : -1,
                    dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
                    rows_rendered: document.querySelectorAll('#findings-body tr').length};
        }""")
        browser.close()
    return timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--path", type=Path)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    path = args.path or Path(tempfile.gettempdir()) / f"kpconv_bench_coco_{args.scale:g}.json"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, args.scale)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    out = Path(tempfile.mkdtemp(prefix="kpconv_bench_report_"))
    v = timed(["validate", str(path), "--format", "json"], args.repeat)
    r = timed(["report", str(path), "-o", str(out)], args.repeat)
    size = (out / "index.html").stat().st_size / 1e6
    print(f"kpconv validate --format json  {v:7.2f} s")
    print(f"kpconv report -o DIR           {r:7.2f} s   (index.html {size:.1f} MB)")
    print(f"ratio report/validate: {r / v:.2f}  (goal <= 2.0: {'met' if r <= 2 * v else 'NOT met'})")
    t0 = time.perf_counter()
    timing = first_render(out / "index.html")
    fcp = timing["first_contentful_paint_ms"]
    print(f"Chromium: first contentful paint {fcp:.0f} ms, DOMContentLoaded {timing['dom_content_loaded_ms']:.0f} ms,"
          f" load {timing['load_ms']:.0f} ms, {timing['rows_rendered']} rows drawn"
          f" (goal first render < 2000 ms: {'met' if 0 <= timing['load_ms'] < 2000 else 'NOT met'};"
          f" browser start included in wall {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
