"""Linear in K: spec lookups use tables built once (a lookup used to rebuild its table, so a
conversion with K keypoints took O(K²): 20,000 keypoint columns ran 28 s and more, 50,000 over
120 s). Not a timing test: the bound is 20x what the linear code needs on a loaded 2-core machine,
and several times less than the quadratic code took."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kpconv.spec import spec_from_keypoints
from tests.hostile.support import run_limited

K = 50_000


def test_fifty_thousand_keypoint_columns_convert_in_seconds(tmp_path: Path) -> None:
    names = [f"kp{i}" for i in range(K)]
    header = ",".join(["image"] + [f"{n}_{axis}" for n in names for axis in "xy"])
    row = ",".join(["a.png"] + [str(i % 50 + 1) for i in range(2 * K)])
    (tmp_path / "wide.csv").write_text(f"{header}\n{row}\n")  # 800 KB
    start = time.perf_counter()
    res = run_limited(
        "from-csv", "wide.csv", "--image-size", "64x64", "-o", "out.json", cwd=tmp_path, timeout=180
    )
    elapsed = time.perf_counter() - start
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((tmp_path / "out.json").read_text())
    assert len(doc["categories"][0]["keypoints"]) == K
    assert doc["annotations"][0]["num_keypoints"] == K
    # about 3 s here (over 120 s when quadratic)
    assert elapsed < 60, f"{elapsed:.1f} s for {K} keypoints"


def test_lookups_follow_a_replaced_keypoint_list() -> None:
    cat = spec_from_keypoints(["a", "b"]).categories[0]
    assert cat.index_of("B") == 1
    cat.keypoints = ["b", "a"]
    assert cat.index_of("b") == 0 and cat.index_of("A") == 1
    cat.aliases = {"snout": "a"}
    assert cat.index_of("snout") == 1
