"""A real client reads to-cvat's output: Datumaro's CVAT importer (skipped when not installed).

Datumaro is not in the lock (it pins its own numpy/opencv); point ``KPCONV_DATUMARO_PYTHON`` at
an interpreter that has it (``python -m venv /tmp/dm && /tmp/dm/bin/pip install datumaro``).
Its CVAT reader predates skeletons: it reads each element point as a labelled point of the
image, and ignores ``outside`` in image mode (it reads the all-outside skeleton of a box-only
annotation as 5 points). So what is checked is that it parses the file, finds every image with
its size and every labelled point at its coordinates, and that its extra points are exactly the
ones written ``outside="1"``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import FIXTURES

DM_PYTHON = os.environ.get("KPCONV_DATUMARO_PYTHON", "")

SCRIPT = """
import json, sys
import datumaro as dm
ds = dm.Dataset.import_from(sys.argv[1], "cvat")
out = {}
for item in ds:
    pts = []
    for ann in item.annotations:
        if ann.type.name == "points":
            pts += [[round(v, 3) for v in ann.points[i:i + 2]] for i in range(0, len(ann.points), 2)]
    out[item.id] = {"size": list(item.media.size), "points": sorted(pts)}
print(json.dumps(out))
"""


def _datumaro_python() -> str:
    for python in (sys.executable, DM_PYTHON):
        if python and subprocess.run([python, "-c", "import datumaro"], capture_output=True).returncode == 0:
            return python
    pytest.skip("datumaro is not installed (set KPCONV_DATUMARO_PYTHON to an interpreter that has it)")


def test_datumaro_imports_to_cvat_output(tmp_path: Path, run_cli) -> None:
    python = _datumaro_python()
    dataset = FIXTURES / "train" / "train.json"
    xml = tmp_path / "export" / "annotations.xml"
    xml.parent.mkdir()
    res = run_cli("to-cvat", dataset, "--no-boxes", "-o", xml)
    assert res.exit_code == 0, res.stderr
    doc = orjson.loads(dataset.read_bytes())
    images = xml.parent / "images"  # Datumaro insists the image files exist (it only checks paths)
    images.mkdir()
    for im in doc["images"]:
        (images / im["file_name"]).touch()
    run = subprocess.run([python, "-c", SCRIPT, str(xml)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout)
    by_id = {im["id"]: im for im in doc["images"]}
    want: dict[str, dict] = {}
    for im in doc["images"]:
        want[Path(im["file_name"]).stem] = {"size": [im["height"], im["width"]], "points": []}
    for ann in doc["annotations"]:
        if ann.get("iscrowd") or not ann.get("num_keypoints"):
            continue
        kps = ann["keypoints"]
        pts = want[Path(by_id[ann["image_id"]]["file_name"]).stem]["points"]
        pts += [[round(float(kps[i]), 3), round(float(kps[i + 1]), 3)] for i in range(0, len(kps), 3) if kps[i + 2] > 0]
    assert {k: v["size"] for k, v in got.items()} == {k: v["size"] for k, v in want.items()}
    extra = 0
    for name, v in want.items():
        found = list(got[name]["points"])
        for p in v["points"]:
            found.remove(p)  # ValueError: a labelled point Datumaro did not read
        extra += len(found)
    assert extra == xml.read_text().count('outside="1"')
