"""Finding images and their sizes for CSV sources (kpconv.formats.csv.imagefiles)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kpconv.errors import DataError
from kpconv.finding import Severity
from kpconv.formats.csv import CsvOptions, ImageOptions, parse_csv
from kpconv.formats.csv.imagefiles import normalize_name, normalize_names, resolve_images
from tests.conftest import FIXTURES

CSV = FIXTURES / "csv"
MALFORMED = CSV / "malformed"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("labeled-data\\video\\img.png", "labeled-data/video/img.png"),
        ("./a.png", "a.png"),
        ("a//b/./c.png", "a/b/c.png"),
        ("a/b/..", "a"),
        ("a/../b.png", "b.png"),
        (" a.png ", "a.png"),
        ("/abs/x.png", "/abs/x.png"),
        ("", ""),
    ],
)
def test_normalize_name(name: str, expected: str) -> None:
    assert normalize_name(name) == expected


@pytest.mark.parametrize(
    "names",
    [
        [],
        ["a.png", "images/b.png"],  # already normal: given back as they are
        ["a.png", ""],
        ["a.png", "b/."],
        ["a.png", "b/.."],
        ["a.png", "b/"],
        ["a.png", "."],
        ["a.png", "img."],
        ["a.png", "labeled-data\\video\\img.png"],
        ["a.png", " a.png"],
        ["a.png\t", "b.png"],
        ["a//b.png", "c.png"],
        ["a.png", "./c.png"],
        ["x/\ny", "a/\n./b"],  # line ends inside names (quoted cells)
    ],
)
def test_normalize_names_is_normalize_name_of_each(names: list[str]) -> None:
    assert normalize_names(names) == [normalize_name(name) for name in names]


@pytest.mark.parametrize(
    ("names", "absolute"),
    [
        (["a.png", "b/c.png", "d:e.png"], []),
        (["a.png", "/abs/x.png"], ["/abs/x.png"]),
        (["C:/x.png", "a.png"], ["C:/x.png"]),
        (["http://host/x.png"], []),  # ":/" not after one letter: relative
    ],
)
def test_image_size_keeps_names_and_warns_about_absolute_ones(
    tmp_path: Path, names: list[str], absolute: list[str]
) -> None:
    options = ImageOptions(image_size=(64, 48))
    where = {name: f"p.csv:{i + 2}" for i, name in enumerate(names)}
    resolved = resolve_images(where, [tmp_path], options, "p.csv")
    assert resolved.file_names == {name: name for name in names}
    assert resolved.sizes == dict.fromkeys(names, (64, 48))
    warned = [f.source for f in resolved.findings if f.code == "csv.absolute_image_path"]
    assert warned == [where[name] for name in absolute]


def test_sizes_come_from_headers_not_extensions() -> None:
    names = {n: f"x.csv:{i}" for i, n in enumerate(["a.png", "b.jpg", "c.png", "d.png"], start=2)}
    out = resolve_images(names, [CSV / "images"], ImageOptions(), "x.csv")
    assert out.sizes == {"a.png": (48, 32), "b.jpg": (40, 30), "c.png": (64, 48), "d.png": (32, 24)}
    assert [f.code for f in out.findings] == ["csv.images_root"]


def test_missing_images_stop_everything_and_are_named() -> None:
    with pytest.raises(DataError) as exc:
        parse_csv(MALFORMED / "missing_image.csv", CsvOptions(images=ImageOptions(images_dir=CSV)))
    message = exc.value.message
    assert "2 of 3 image(s) missing" in message
    assert (
        "images/missing.png (line 3)" in message and "images/also_missing.png (line 4)" in message
    )
    assert "--skip-missing-images" in message and "--image-size" in message
    assert [f.code for f in exc.value.findings] == ["csv.image_missing", "csv.image_missing"]


def test_skip_missing_images_lists_every_skip() -> None:
    parsed = parse_csv(
        MALFORMED / "missing_image.csv",
        CsvOptions(images=ImageOptions(images_dir=CSV, skip_missing=True)),
    )
    assert [i.file_name for i in parsed.images] == ["images/a.png"]
    assert [inst.image for inst in parsed.instances] == ["images/a.png"]
    skips = [f for f in parsed.findings if f.code == "csv.image_skipped"]
    assert [(f.severity, f.source) for f in skips] == [
        (Severity.WARNING, f"{MALFORMED / 'missing_image.csv'}:3"),
        (Severity.WARNING, f"{MALFORMED / 'missing_image.csv'}:4"),
    ]


def test_image_size_opens_no_file() -> None:
    parsed = parse_csv(
        MALFORMED / "missing_image.csv", CsvOptions(images=ImageOptions(image_size=(640, 480)))
    )
    assert [(i.file_name, i.width, i.height) for i in parsed.images] == [
        ("images/a.png", 640, 480),
        ("images/missing.png", 640, 480),
        ("images/also_missing.png", 640, 480),
    ]


def test_unreadable_image_is_reported_like_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not an image at all")
    (tmp_path / "p.csv").write_text("image,keypoint,x,y\nbroken.png,nose,1,2\n")
    with pytest.raises(DataError, match="broken.png") as exc:
        parse_csv(tmp_path / "p.csv")
    assert [f.code for f in exc.value.findings] == ["csv.image_unreadable"]


def test_images_next_to_the_csv_when_the_path_says_otherwise(tmp_path: Path) -> None:
    # the DeepLabCut path says labeled-data/video/, the image sits next to the CSV
    folder = tmp_path / "somewhere"
    folder.mkdir()
    shutil.copy(CSV / "images" / "a.png", folder / "img000.png")
    (folder / "c.csv").write_text(
        "scorer,s,s\nbodyparts,n,n\ncoords,x,y\nlabeled-data/video/img000.png,1,2\n"
    )
    parsed = parse_csv(folder / "c.csv")
    assert [(i.file_name, i.width) for i in parsed.images] == [("img000.png", 48)]


def test_images_option_is_the_root_of_file_names(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("image,keypoint,x,y\nimages/a.png,nose,1,2\nc.png,nose,3,4\n")
    # under fixtures/csv: images/a.png is there as written, c.png is not
    with pytest.raises(DataError, match=r"1 of 2 image\(s\) missing .*c\.png \(line 3\)"):
        parse_csv(tmp_path / "p.csv", CsvOptions(images=ImageOptions(images_dir=CSV)))
    # under fixtures/csv/images: images/a.png is found by its last part, c.png as written
    parsed = parse_csv(
        tmp_path / "p.csv", CsvOptions(images=ImageOptions(images_dir=CSV / "images"))
    )
    assert [i.file_name for i in parsed.images] == ["a.png", "c.png"]


def test_absolute_paths_become_relative_to_the_root(tmp_path: Path) -> None:
    image = (CSV / "images" / "c.png").resolve()
    (tmp_path / "p.csv").write_text(f"image,keypoint,x,y\n{image},nose,1,2\n")
    parsed = parse_csv(tmp_path / "p.csv", CsvOptions(images=ImageOptions(images_dir=CSV)))
    assert [(i.file_name, i.width) for i in parsed.images] == [("images/c.png", 64)]


def test_escaping_the_root_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    shutil.copy(CSV / "images" / "a.png", tmp_path / "a.png")
    (tmp_path / "sub" / "p.csv").write_text("image,keypoint,x,y\n../a.png,nose,1,2\n")
    with pytest.raises(DataError, match="missing"):
        parse_csv(tmp_path / "sub" / "p.csv")
