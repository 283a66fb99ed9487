"""Helpers for the hostile-input tests: small generated inputs, kpconv run under a memory limit."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

#: address-space limit for a kpconv process run by these tests: far above what the small inputs
#: need (numpy and all), far below what a runaway read or quadratic table would take
MEMORY_LIMIT = 2 << 30

#: a long-layout CSV: three images, two keypoints each
LONG_CSV = (
    "image,instance,keypoint,x,y,v\n"
    "images/a.png,1,nose,10.5,8,2\n"
    "images/a.png,1,left_eye,8,6,2\n"
    "images/b.png,1,nose,20,15,2\n"
    "images/b.png,1,left_eye,22,12,1\n"
)


def run_limited(
    *args: str | Path,
    cwd: Path,
    memory: int = MEMORY_LIMIT,
    file_size: int | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    stdin: Any = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m kpconv ARGS`` in a fresh process under ``RLIMIT_AS`` (and ``RLIMIT_FSIZE``);
    ``env`` adds variables, ``stdin`` is its standard input (a file object)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size is not None:
            # a write past the limit fails with EFBIG instead of killing the process
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    environ = {k: v for k, v in os.environ.items() if k != "KPCONV_DEBUG"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "kpconv", *map(str, args)],
        cwd=cwd,
        env=environ,
        stdin=stdin,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def labelme_doc(image: str = "img.png", size: int = 32) -> dict[str, Any]:
    """A LabelMe file with one person box and a nose point (the image need not exist)."""
    return {
        "version": "5.5.0",
        "flags": {},
        "shapes": [
            {
                "label": "person",
                "points": [[2, 2], [30, 30]],
                "group_id": 0,
                "shape_type": "rectangle",
                "flags": {},
            },
            {
                "label": "nose",
                "points": [[10, 10]],
                "group_id": 0,
                "shape_type": "point",
                "flags": {},
            },
        ],
        "imagePath": image,
        "imageData": None,
        "imageHeight": size,
        "imageWidth": size,
    }


def write_labelme(folder: Path, name: str = "a.json", data: bytes | None = None) -> Path:
    """``folder/name`` holding ``data`` (default: :func:`labelme_doc` as UTF-8 JSON)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data if data is not None else json.dumps(labelme_doc()).encode())
    return path


def coco_doc() -> dict[str, Any]:
    """A small valid COCO keypoint document."""
    return {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "thing", "supercategory": "thing", "keypoints": ["a", "b"],
                        "skeleton": [[1, 2]]}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                         "keypoints": [10, 10, 2, 20, 20, 2], "num_keypoints": 2,
                         "bbox": [5.0, 5.0, 20.0, 20.0], "area": 400.0}],
    }  # fmt: skip


def one_report(stdout: str) -> dict[str, Any]:
    """The one JSON report on stdout, checked for the shape every report has."""
    report = json.loads(stdout)  # exactly one document: trailing text would fail here
    assert isinstance(report, dict)
    assert {"ok", "counts", "issues", "summary"} <= report.keys(), report.keys()
    for issue in report["issues"]:
        assert {"code", "severity", "pointer", "message"} <= issue.keys(), issue
    return report
