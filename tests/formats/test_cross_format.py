"""One scene, four source formats, one COCO document (issue 13).

``fixtures/crossformat`` holds the same two-frame scene written by hand as LabelMe JSON, CVAT for
images 1.1, CVAT for video 1.1 and a long-layout CSV (see its README). Each is converted with the
real CLI and must give ``expected.json`` once the fields that name the source are taken out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import FIXTURES

SCENE = FIXTURES / "crossformat"
SPEC = SCENE / "spec.yaml"
EXPECTED = SCENE / "expected.json"

#: format -> (CLI arguments before ``-o OUT``, the subcommand named in ``info.description``)
CASES: dict[str, tuple[list[str | Path], str]] = {
    "labelme": (["from-labelme", SCENE / "labelme", "--spec", SPEC], "from-labelme"),
    "cvat_images": (["from-cvat", SCENE / "cvat_images.xml", "--spec", SPEC], "from-cvat"),
    "cvat_video": (["from-cvat", SCENE / "cvat_video.xml", "--spec", SPEC], "from-cvat"),
    # No image files in the scene: a CSV gives no size, so it is stated (the others carry it).
    "csv_long": (
        ["from-csv", SCENE / "points.csv", "--spec", SPEC, "--image-size", "64x48"],
        "from-csv",
    ),
}

#: video only: the track each annotation comes from (A and C are track 0, B is track 1)
VIDEO_TRACKS = [0, 1, 0]


def _load(path: Path) -> dict[str, Any]:
    return orjson.loads(path.read_bytes())


def _without_source_fields(doc: dict[str, Any], fmt: str, subcommand: str) -> dict[str, Any]:
    """The document less what legitimately names its source; each removed value is checked first."""
    # info.description names the subcommand (and, for CVAT and CSV, the input file's name).
    description = doc["info"].pop("description")
    assert description.startswith(f"converted by kpconv {subcommand}"), description
    if fmt == "cvat_video":
        # A video frame is an index into the video: CVAT for video images carry their frame
        # number, which no image-based format has.
        assert [image.pop("frame") for image in doc["images"]] == [0, 1]
        # Track ids exist only in video exports; they are kept as attributes.track_id. Nothing
        # else may be in attributes (the skeleton label declares no attributes).
        tracks = [ann.pop("attributes") for ann in doc["annotations"]]
        assert tracks == [{"track_id": t} for t in VIDEO_TRACKS]
    return doc


def test_expected_document_is_the_scene() -> None:
    """The facts of the scene, spelled out, so a wrong expected.json cannot pass the comparison."""
    doc = _load(EXPECTED)
    assert doc["categories"] == [
        {
            "id": 1,
            "keypoints": ["nose", "left_eye", "right_eye", "neck"],
            "name": "person",
            "skeleton": [[1, 2], [1, 3], [1, 4]],
            "supercategory": "person",
        }
    ]
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in doc["images"]] == [
        (1, "frame_000000.png", 64, 48),
        (2, "frame_000001.png", 64, 48),
    ]
    anns = doc["annotations"]
    assert [(a["id"], a["image_id"], a["category_id"]) for a in anns] == [
        (1, 1, 1),
        (2, 1, 1),
        (3, 2, 1),
    ]
    # A: all four labelled, right_eye occluded. B: right_eye not labelled (0,0,0), neck occluded.
    # C: left_eye occluded, neck not labelled.
    assert [a["keypoints"] for a in anns] == [
        [12.5, 10, 2, 15, 8, 2, 10, 8, 1, 12, 20, 2],
        [40, 14, 2, 43.5, 11.25, 2, 0, 0, 0, 41, 30, 1],
        [30, 20, 2, 33, 17, 1, 27, 17, 2, 0, 0, 0],
    ]
    # num_keypoints counts v>0 (occluded included)
    assert [a["num_keypoints"] for a in anns] == [4, 3, 3]
    # Boxes derived from the labelled points (v=1 included): extent + 10 % margin, at least
    # 1 px a side. A: x 10..15 -> 9..16, y 8..20 -> 6.8..21.2. B: x 40..43.5 -> 39..44.5,
    # y 11.25..30 -> 9.375..31.875. C: x 27..33 -> 26..34, y 17..20 -> 16..21.
    assert [a["bbox"] for a in anns] == [
        [9, 6.8, 7, pytest.approx(14.4)],
        [39, 9.375, 5.5, 22.5],
        [26, 16, 8, 5],
    ]
    assert [a["area"] for a in anns] == [pytest.approx(100.8), 123.75, 40]
    assert all(a["iscrowd"] == 0 and a["segmentation"] == [] for a in anns)
    assert all("attributes" not in a for a in anns)


@pytest.mark.parametrize("fmt", list(CASES))
def test_every_format_gives_the_expected_document(run_cli, tmp_path: Path, fmt: str) -> None:
    args, subcommand = CASES[fmt]
    out = tmp_path / f"{fmt}.json"
    res = run_cli(*args, "-o", out)
    # exit 0: no error finding (the tiny boxes' area.too_small_for_oks and LabelMe's
    # labelme.image_missing are warnings)
    assert res.exit_code == 0, res.stderr
    got = _without_source_fields(_load(out), fmt, subcommand)
    want = _without_source_fields(_load(EXPECTED), "csv_long", "from-csv")
    assert got == want
