"""``visualize --grid N``: the contact sheet's size follows from N and the thumbnail size, so a
huge N is a usage error before anything is read or written (issue 14: ``--grid 100000`` on 2
images took 9.5 GB in 30 s). The limit is the image pixel limit, ``KPCONV_MAX_IMAGE_PIXELS``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpconv.errors import UsageError
from kpconv.images import DEFAULT_MAX_IMAGE_PIXELS, MAX_PIXELS_ENV
from kpconv.visualize.render import VisualizeOptions, check_grid, max_grid, sheet_size, visualize
from tests.conftest import REPO
from tests.hostile.support import coco_doc, run_limited


def _dataset(tmp_path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), (40, 90, 140)).save(tmp_path / "a.png")
    src = tmp_path / "data.json"
    src.write_text(json.dumps(coco_doc()))
    return src


def test_the_largest_grid_fits_the_pixel_limit() -> None:
    most = max_grid(DEFAULT_MAX_IMAGE_PIXELS)
    assert most == 3192
    w, h = sheet_size(most)
    assert w * h <= DEFAULT_MAX_IMAGE_PIXELS
    w, h = sheet_size(most + 1)
    assert w * h > DEFAULT_MAX_IMAGE_PIXELS


@pytest.mark.parametrize("grid", ["100000", "3193", str(10**40)])
def test_a_huge_grid_is_a_usage_error_and_nothing_is_written(tmp_path: Path, grid: str) -> None:
    src = _dataset(tmp_path)
    out = tmp_path / "vis"
    res = run_limited("visualize", src, "-o", out, "--grid", grid, cwd=tmp_path, timeout=60)
    assert res.returncode == 2, res.stderr
    assert (
        f"kpconv: error: --grid {grid}: a contact sheet of {int(grid):,} thumbnails would be"
        in res.stderr
    )
    assert (
        f"more than the limit of {DEFAULT_MAX_IMAGE_PIXELS:,} ({MAX_PIXELS_ENV}); give --grid 3,192 or less"
        in res.stderr
    )
    assert not out.exists()


def test_the_grid_limit_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _dataset(tmp_path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000000")  # 16 cells: 1044x860
    res = run_limited(
        "visualize", src, "-o", tmp_path / "a", "--grid", "17", cwd=tmp_path, timeout=60
    )
    assert res.returncode == 2 and "give --grid 16 or less" in res.stderr
    res = run_limited(
        "visualize", src, "-o", tmp_path / "b", "--grid", "16", cwd=tmp_path, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "b" / "sheets" / "sheet-001.png").is_file()


def test_the_python_api_refuses_too(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--grid 100000: a contact sheet"):
        check_grid(100000)
    from kpconv.visualize import load_view

    src = _dataset(tmp_path)
    with pytest.raises(UsageError):
        visualize(load_view(src), tmp_path, tmp_path / "vis", VisualizeOptions(grid=10**6))
    assert not (tmp_path / "vis").exists()


def test_the_limit_is_documented() -> None:
    text = (REPO / "docs" / "readme" / "visualize.md").read_text()
    assert "3,192" in text and MAX_PIXELS_ENV in text
