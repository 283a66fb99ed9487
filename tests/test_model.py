"""The COCO model: extras kept, absent stays absent, atomic deterministic save, located load errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kpconv
from kpconv.errors import DataError, UsageError
from kpconv.schemas import stale


def test_round_trip_keeps_extras_and_absence(tmp_path: Path) -> None:
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3, "flickr_url": "x"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 2.0],
                         "foot_kpts": [0, 0, 0], "attributes": {"occluded": False}}],
        "categories": [{"id": 1, "name": "p", "keypoints": ["n"]}],
    }
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    ds = kpconv.load(src)
    out = tmp_path / "out.json"
    kpconv.save(ds, out)
    again = json.loads(out.read_text())
    ann = again["annotations"][0]
    assert ann["foot_kpts"] == [0, 0, 0] and ann["attributes"] == {"occluded": False}
    assert "bbox" not in ann and "area" not in ann and "num_keypoints" not in ann
    assert again["images"][0]["flickr_url"] == "x"
    assert "info" not in again
    first = out.read_bytes()
    kpconv.save(kpconv.load(out), out)
    assert out.read_bytes() == first  # deterministic bytes
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind


def test_load_errors_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [}')
    with pytest.raises(DataError, match=r"bad.json:1:13: not valid JSON"):
        kpconv.load(bad)
    lst = tmp_path / "list.json"
    lst.write_text("[]")
    with pytest.raises(DataError, match="results file"):
        kpconv.load(lst)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"images": [{"id": "x", "file_name": "a", "width": 1, "height": 1}]}')
    with pytest.raises(DataError, match=r"/images/0/id"):
        kpconv.load(wrong)
    with pytest.raises(UsageError):
        kpconv.load(tmp_path / "missing.json")


def test_validate_accepts_the_model() -> None:
    ds = kpconv.Dataset.model_validate({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 2], "num_keypoints": 1,
                         "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "p", "keypoints": ["n"], "skeleton": []}],
    })
    assert kpconv.validate(ds).ok


def test_schemas_are_up_to_date() -> None:
    assert stale() == [], "schemas/ are stale: run `python -m kpconv.schemas`"


def test_saved_files_get_normal_permissions(tmp_path: Path) -> None:
    import os

    out = tmp_path / "o.json"
    kpconv.save({"images": [], "annotations": [], "categories": []}, out)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
