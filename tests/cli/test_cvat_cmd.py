"""``kpconv from-cvat``: golden output, zip input, subsets, options, exit codes, real files."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from kpconv.cli.common import subset_output
from kpconv.model import load
from kpconv.validation import validate
from tests.conftest import FIXTURES, realdata_file

CVAT = FIXTURES / "cvat"


def test_golden_output_byte_for_byte_and_rerun_identical(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-cvat", CVAT / "skeleton.xml", "-o", out)
    assert res.exit_code == 0, res.stderr
    expected = (CVAT / "expected" / "skeleton.json").read_bytes()
    assert out.read_bytes() == expected
    assert run_cli("from-cvat", CVAT / "skeleton.xml", "-o", out).exit_code == 0
    assert out.read_bytes() == expected
    assert validate(load(out)).ok
    assert f"wrote {out}" in res.stderr and "cvat.shape_ignored" in res.stderr


def test_zip_input_gives_the_same_dataset(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "zip.json"
    res = run_cli("from-cvat", CVAT / "skeleton.zip", "-o", out)
    assert res.exit_code == 0, res.stderr
    got = json.loads(out.read_text())
    want = json.loads((CVAT / "expected" / "skeleton.json").read_text())
    got.pop("info"), want.pop("info")
    assert got == want
    assert "skeleton.zip/annotations.xml" in res.stderr


HOSTILE = [
    ("billion_laughs.xml", "billion_laughs.xml:3: refused: entity declaration"),
    ("external_entity.xml", "external_entity.xml:3: refused: external entity 'xxe'"),
    ("external_dtd.xml", "external_dtd.xml:3: refused: the XML declares a DOCTYPE"),
    ("truncated.xml", "truncated.xml:128:6: not well-formed XML: unclosed token"),
    ("wrong_root.xml", "wrong_root.xml:2:<annotation>: root element is <annotation>"),
]


@pytest.mark.parametrize(("name", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_xml_exits_1_with_located_message(
    run_cli, tmp_path: Path, name: str, message: str
) -> None:
    out = tmp_path / "out.json"
    res = run_cli("from-cvat", CVAT / "hostile" / name, "-o", out)
    assert res.exit_code == 1
    assert res.stderr.startswith(f"kpconv: error: {message}"), res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- zip limits (issue 14)


def _zip(path: Path, data: bytes, flags: int = 0, declared: int | None = None) -> Path:
    """A zip holding ``annotations.xml``; ``flags`` or-ed into its general purpose bits (0x1:
    encrypted) and ``declared`` as its unzipped size, both patched into the written headers."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("annotations.xml", data)
    raw = bytearray(path.read_bytes())
    local, central = 0, raw.index(b"PK\x01\x02")
    for at, flag_at, size_at in ((local, 6, 22), (central, 8, 24)):
        flag = struct.unpack_from("<H", raw, at + flag_at)[0] | flags
        struct.pack_into("<H", raw, at + flag_at, flag)
        if declared is not None:
            struct.pack_into("<I", raw, at + size_at, declared)
    path.write_bytes(bytes(raw))
    return path


def _bomb(n: int) -> bytes:
    """A valid export whose text is ``n`` bytes, nearly all spaces (compresses about 1,000 times)."""
    head = b'<?xml version="1.0" encoding="utf-8"?>\n<annotations>'
    return head + b" " * (n - len(head) - 14) + b"</annotations>"


def _refused(res: Any, out: Path, message: str) -> None:
    assert res.exit_code == 1, res.stderr
    assert res.stderr.startswith(f"kpconv: error: {message}"), res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert not out.exists()


def test_a_zip_bomb_is_refused_by_its_declared_size(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _zip(tmp_path / "bomb.zip", _bomb(20 << 20))
    assert bomb.stat().st_size < 100_000
    monkeypatch.setenv("KPCONV_MAX_UNZIPPED_BYTES", "10_000_000")
    out = tmp_path / "out.json"
    res = run_cli("from-cvat", bomb, "-o", out)
    _refused(
        res,
        out,
        "bomb.zip/annotations.xml: the zip member declares 20,971,520 bytes unzipped, more than "
        "the limit of 10,000,000; not read (a zip bomb? set KPCONV_MAX_UNZIPPED_BYTES",
    )
    monkeypatch.setenv("KPCONV_MAX_UNZIPPED_BYTES", str(30 << 20))
    res = run_cli("from-cvat", bomb, "-o", out)
    assert res.exit_code == 1 and "convert.no_keypoints" in res.stderr  # read: nothing in it
    monkeypatch.setenv("KPCONV_MAX_UNZIPPED_BYTES", "2GB")
    assert run_cli("from-cvat", bomb, "-o", out).exit_code == 2


def test_the_default_unzip_limit() -> None:
    from kpconv.formats.cvat.xmlsource import max_unzipped_bytes

    assert max_unzipped_bytes(1000) == 2 << 30
    assert max_unzipped_bytes(100 << 20) == 10_000 << 20  # 100 times the compressed size


def test_a_member_is_not_read_past_the_limit(tmp_path: Path) -> None:
    """The bytes read are counted too, whatever the zip's headers say."""
    from kpconv.errors import DataError
    from kpconv.formats.cvat import XmlSource, parse_cvat
    from kpconv.formats.cvat.reader import CvatReader

    bomb = _zip(tmp_path / "bomb.zip", _bomb(5 << 20))
    with pytest.raises(DataError, match="the zip member expands past the limit of 1,000,000 bytes"):
        CvatReader(XmlSource(bomb, "annotations.xml", max_bytes=1_000_000)).read()
    liar = _zip(tmp_path / "liar.zip", _bomb(5 << 20), declared=1000)
    with pytest.raises(DataError, match="liar.zip/annotations.xml: cannot read the zip member"):
        parse_cvat(liar)


def test_an_encrypted_member_is_refused(run_cli, tmp_path: Path) -> None:
    locked = _zip(tmp_path / "locked.zip", (CVAT / "skeleton.xml").read_bytes(), flags=0x1)
    out = tmp_path / "out.json"
    res = run_cli("from-cvat", locked, "-o", out)
    _refused(res, out, "locked.zip/annotations.xml: encrypted zip member")


def test_a_truncated_or_fake_zip_is_not_a_zip_archive(run_cli, tmp_path: Path) -> None:
    whole = (CVAT / "skeleton.zip").read_bytes()
    out = tmp_path / "out.json"
    for name, data in (
        ("cut.zip", whole[: len(whole) // 2]),
        ("fake.zip", b"<annotations></annotations>"),
        ("cut.xml", whole[: len(whole) - 30]),  # a zip by its first bytes, whatever its name
    ):
        (tmp_path / name).write_bytes(data)
        res = run_cli("from-cvat", tmp_path / name, "-o", out)
        _refused(res, out, f"{tmp_path / name}: not a zip archive")


USAGE = [
    (["nope.xml"], "nope.xml: file not found"),
    (
        ["{cvat}/video.xml", "--frame-pattern", "frame.png"],
        "--frame-pattern 'frame.png' does not use {frame}",
    ),
    (["{cvat}/project_subsets.xml", "--subset", "Test"], "--subset 'Test': no such subset"),
    (["{cvat}/skeleton.xml", "--keypoints", "a", "--preset", "coco-person"], "give at most one of"),
]


@pytest.mark.parametrize(
    ("args", "message"), USAGE, ids=["missing", "pattern", "subset", "two-specs"]
)
def test_usage_errors_exit_2(run_cli, tmp_path: Path, args: list[str], message: str) -> None:
    argv = [a.replace("{cvat}", str(CVAT)) for a in args]
    res = run_cli("from-cvat", *argv, "-o", tmp_path / "o.json")
    assert res.exit_code == 2
    assert message in res.stderr, res.stderr


def test_refuses_to_overwrite_its_input(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "annotations.xml"
    src.write_bytes((CVAT / "skeleton.xml").read_bytes())
    res = run_cli("from-cvat", src, "-o", src)
    assert res.exit_code == 2 and "refusing to overwrite an input" in res.stderr


def test_subsets_give_one_file_each(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "coco.json"
    res = run_cli("from-cvat", CVAT / "project_subsets.xml", "-o", out)
    assert res.exit_code == 0, res.stderr
    assert not out.exists()
    train, val = tmp_path / "coco-Train.json", tmp_path / "coco-Validation.json"
    assert [i.file_name for i in load(train).images] == ["folder a/img 1.jpg", "img0.jpg"]
    assert [(i.width, i.height) for i in load(val).images] == [(64, 48)]
    # the same categories (and ids) in every subset
    assert (
        [c.name for c in load(train).categories]
        == [c.name for c in load(val).categories]
        == ["face", "plate"]
    )
    assert "[subset Train ->" in res.stderr and f"wrote {val}" in res.stderr


def test_subset_option_writes_only_that_subset(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "val.json"
    res = run_cli("from-cvat", CVAT / "project_subsets.xml", "-o", out, "--subset", "Validation")
    assert res.exit_code == 0, res.stderr
    ds = load(out)
    assert [i.file_name for i in ds.images] == ["img0.jpg"]
    assert ds.annotations[0].keypoints == [20.0, 20.0, 1, 0, 0, 0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["val.json"]


def test_json_report_for_subsets(run_cli, tmp_path: Path) -> None:
    res = run_cli(
        "from-cvat", CVAT / "project_subsets.xml", "-o", tmp_path / "c.json", "--format", "json"
    )
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and sorted(doc["subsets"]) == ["Train", "Validation"]
    assert doc["subsets"]["Train"]["output"] == str(tmp_path / "c-Train.json")
    assert doc["spec"]["categories"][0]["skeleton"] == [["left_eye", "right_eye"]]


def test_errors_exit_1_and_strict_writes_nothing(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "sp.json"
    res = run_cli("from-cvat", CVAT / "single_points.xml", "-o", out, "--format", "json")
    assert res.exit_code == 1 and out.exists()
    doc = json.loads(res.stdout)
    codes = {i["code"] for i in doc["issues"]}
    assert {
        "cvat.point_outside_boxes",
        "cvat.point_in_several_boxes",
        "cvat.repeated_label",
    } <= codes
    located = [i["source"] for i in doc["issues"] if i["code"] == "cvat.point_outside_boxes"]
    assert located == ['single_points.xml:<image name="contained.jpg">/points[6]']
    assert validate(load(out)).ok
    strict = tmp_path / "strict.json"
    res = run_cli("from-cvat", CVAT / "single_points.xml", "-o", strict, "--strict")
    assert res.exit_code == 1 and not strict.exists() and "--strict" in res.stderr


def test_video_with_frame_pattern_and_keypoint_names(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    res = run_cli(
        "from-cvat", CVAT / "video.xml", "-o", out, "--frame-pattern", "hands/{frame:05d}.jpg"
    )
    assert res.exit_code == 0, res.stderr
    ds = load(out)
    assert [i.file_name for i in ds.images] == [
        "hands/00000.jpg",
        "hands/00001.jpg",
        "hands/00002.jpg",
        "hands/00003.jpg",
    ]
    hand = next(c.id for c in ds.categories if c.name == "hand")
    hands = [a for a in ds.annotations if a.category_id == hand]
    assert [a.image_id for a in hands] == [1, 2, 3]  # frame 3: every element outside
    assert hands[0].model_extra["attributes"] == {"side": "left", "track_id": 0}
    assert hands[0].keypoints == [100.0, 200.0, 2, 120.0, 180.0, 1, 130.0, 170.0, 2]
    assert hands[2].keypoints == [110.0, 204.0, 2, 0, 0, 0, 132.0, 172.0, 2]
    for label in ("hand", "car", "corners"):  # counted per track label
        assert f"1 frame(s) of '{label}' tracks left out because the whole shape is outside" in res.stderr
    assert "inferred spec" in res.stderr  # 'corners' keypoints come from the label, not a skeleton
    assert validate(ds).ok


def test_video_in_the_nested_track_layout(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "n.json"
    res = run_cli("from-cvat", CVAT / "video_nested.xml", "-o", out)
    assert res.exit_code == 0, res.stderr
    ds = load(out)
    assert [i.file_name for i in ds.images] == [
        "frame_000000.png",
        "frame_000001.png",
        "frame_000003.png",
    ]
    assert ds.annotations[0].model_extra["attributes"] == {"side": "left", "track_id": 0}
    assert ds.annotations[1].keypoints == [105.0, 202.0, 1, 0, 0, 0, 131.0, 171.0, 2]


BAD_VIDEO = [
    # what is broken, exit code, the located message expected on stderr
    (
        ('points="120.00,180.00"', 'points="120.00"'),
        1,
        """video.xml:<track id="0" label="hand">/skeleton[frame=0]/points[label='thumb']: """
        """skeleton point 'thumb': expected points="x,y", found '120.00'""",
    ),
    (
        ('<skeleton frame="1" ', "<skeleton "),
        1,
        'video.xml:<track id="0" label="hand">/skeleton[frame=None]: <skeleton> in a track '
        "without a frame number",
    ),
    (
        ('<skeleton frame="2" keyframe="1" z_order="0">', '<skeleton frame="2" keyframe="1"'),
        1,
        "video.xml:115:6: not well-formed XML",
    ),
]


@pytest.mark.parametrize(("change", "code", "message"), BAD_VIDEO, ids=["point", "frame", "xml"])
def test_bad_video_input_gives_a_located_message_and_exit_1(
    run_cli, tmp_path: Path, change: tuple[str, str], code: int, message: str
) -> None:
    src = tmp_path / "video.xml"
    text = (CVAT / "video.xml").read_text()
    assert change[0] in text
    src.write_text(text.replace(change[0], change[1], 1))
    res = run_cli("from-cvat", src, "-o", tmp_path / "o.json")
    assert res.exit_code == code, res.stderr
    assert message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr


def test_keypoints_option_takes_the_exports_category_name(run_cli, tmp_path: Path) -> None:
    src = tmp_path / "annotations.xml"
    src.write_text(
        "<annotations><version>1.1</version><meta><job><labels><label><name>estop</name></label></labels>"
        '</job></meta><image id="0" name="a.png" width="50" height="50">'
        '<points label="estop" occluded="0" points="1,1;9,1;1,9;9,9;5,5"/></image></annotations>'
    )
    out = tmp_path / "e.json"
    res = run_cli("from-cvat", src, "-o", out, "--keypoints", "tl,tr,bl,br,centre")
    assert res.exit_code == 0, res.stderr
    cat = load(out).categories[0]
    assert (cat.name, cat.keypoints) == ("estop", ["tl", "tr", "bl", "br", "centre"])
    res = run_cli("from-cvat", src, "-o", out, "--keypoints", "a,b,c", "--category-name", "estop")
    assert res.exit_code == 1 and "cvat.points_count" in res.stderr


def test_visibility_attribute_and_bbox_options(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "vis.json"
    res = run_cli(
        "from-cvat",
        CVAT / "skeleton.xml",
        "-o",
        out,
        "--visibility-attribute",
        "vis",
        "--bbox-from",
        "points",
    )
    assert res.exit_code == 0, res.stderr
    first = load(out).annotations[0]
    assert first.keypoints[9:12] == [100.0, 300.0, 1]  # vis=occluded on left_wrist
    assert first.bbox != [90.0, 40.0, 140.0, 290.0]  # from the points, not the drawn box


def test_subset_output_names() -> None:
    assert subset_output(Path("out/coco.json"), "Train") == Path("out/coco-Train.json")
    assert subset_output(Path("coco.json"), "my set/1") == Path("coco-my_set_1.json")
    assert subset_output(Path("coco"), "") == Path("coco-default.json")


REAL = [
    # relative path, expected exit code, output files (relative to -o's folder)
    ("datumaro-cvat-ai/tests/assets/cvat_dataset/for_images/train.xml", 0, ["o.json"]),
    ("datumaro-cvat-ai/tests/assets/cvat_dataset/for_video/annotations.xml", 0, ["o.json"]),
    (
        "datumaro/tests/assets/cvat_dataset/for_images/export_project/annotations.xml",
        0,
        ["o-Test.json", "o-Train.json", "o-Validation.json"],
    ),
    ("datumaro/tests/assets/cvat_dataset/for_images/export_task/train.xml", 0, ["o.json"]),
    ("datumaro/tests/assets/cvat_dataset/for_video/annotations.xml", 0, ["o.json"]),
    ("cvat-to-coco-duytue/annotations.xml", 0, ["o.json"]),
    ("keypoint-detection-tlpss/labeling/example/annotations.xml", 1, ["o.json"]),  # repeated labels
    ("estop-keypoints-rrl/data/annotations.xml", 0, ["o.json"]),
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("rel", "code", "files"),
    REAL,
    ids=[r[0].split("/")[0] + ":" + r[0].rsplit("/", 1)[-1] for r in REAL],
)
def test_real_files_convert_and_pass_validate(
    run_cli, tmp_path: Path, rel: str, code: int, files: list[str]
) -> None:
    res = run_cli("from-cvat", realdata_file(rel), "-o", tmp_path / "o.json")
    assert res.exit_code == code, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    for name in files:
        report = validate(load(tmp_path / name))
        assert report.ok, [f.to_dict() for f in report.errors]
    if code:
        assert (
            "cvat.repeated_label" in res.stderr
            and 'annotations.xml:<image name="3.jpeg">/points[' in res.stderr
        )
