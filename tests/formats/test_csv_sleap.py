"""The SLEAP analysis CSV layout: frame index → image name by pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.errors import UsageError
from kpconv.finding import Severity
from kpconv.formats.csv.sleap import frame_name, video_name
from kpconv.validation import validate
from tests.formats.csv_support import CSV, SIZED, errors, run, write_csv


def write(tmp_path: Path, text: str, name: str = "wide.csv") -> Path:
    return write_csv(tmp_path, text, name)


def test_sleap_fixture() -> None:
    conv = run(CSV / "sleap" / "labels.000_clip.analysis.csv")
    assert errors(conv) == []
    ds = conv.dataset
    assert ds.categories[0].keypoints == ["A", "B"]
    assert [(i.file_name, i.width, i.height) for i in ds.images] == [
        ("frame_000000.png", 64, 48),
        ("frame_000003.png", 64, 48),
    ]
    assert [(a.image_id, a.keypoints, a.model_extra.get("attributes")) for a in ds.annotations] == [
        (1, [10.5, 12.25, 2, 30.0, 20.0, 2], {"track": "track_0"}),
        (1, [40.0, 30.0, 2, 0, 0, 0], {"track": "track_1"}),  # nan = unlabelled
        (2, [20.0, 10.0, 2, 22.0, 14.0, 2], None),  # empty track: no attribute
    ]
    assert validate(ds, images=CSV / "sleap").errors == []


def test_sleap_frame_pattern_with_video(tmp_path: Path) -> None:
    conv = run(
        CSV / "sleap" / "labels.000_clip.analysis.csv",
        frame_pattern="{video}/img{frame:04d}.jpg",
        images=SIZED,
    )
    assert [i.file_name for i in conv.dataset.images] == ["clip/img0000.jpg", "clip/img0003.jpg"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("frame_{frame:06d}.png", "frame_000017.png"), ("img%05d.jpg", "img00017.jpg"), ("{video}_{frame}.png", "v_17.png")],
)
def test_frame_name(pattern: str, expected: str) -> None:
    assert frame_name(pattern, 17, "v") == expected


@pytest.mark.parametrize("pattern", ["{frames}.png", "same.png", "{frame:q}.png"])
def test_bad_frame_pattern_is_a_usage_error(pattern: str) -> None:
    with pytest.raises(UsageError, match="--frame-pattern"):
        run(CSV / "sleap" / "labels.000_clip.analysis.csv", frame_pattern=pattern, images=SIZED)


def test_video_name() -> None:
    assert video_name(Path("minimal_instance.000_centered_pair_low_quality.analysis.csv")) == "centered_pair_low_quality"
    assert video_name(Path("tracks.csv")) == "tracks"


def test_sleap_bad_frame_index(tmp_path: Path) -> None:
    path = write(tmp_path, "track,frame_idx,A.x,A.y\n,1.5,1,2\n,x,3,4\n,2,5,6\n", "t.analysis.csv")
    conv = run(path, images=SIZED)
    found = [(f.code, f.source) for f in conv.report.findings if f.severity is Severity.ERROR]
    assert found == [("csv.bad_frame", f"{path}:2"), ("csv.not_a_number", f"{path}:3")]
    assert [i.file_name for i in conv.dataset.images] == ["frame_000002.png"]
