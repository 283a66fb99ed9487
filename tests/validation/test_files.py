"""``validate --images``: the file checks (escapes, symlinks, missing, unreadable, too large, size)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kpconv.validation import validate_document


def _doc(names: list[str], size: tuple[int, int] = (8, 6)) -> dict[str, Any]:
    return {
        "images": [
            {"id": i + 1, "file_name": n, "width": size[0], "height": size[1]}
            for i, n in enumerate(names)
        ],
        "annotations": [],
        "categories": [{"id": 1, "name": "thing", "keypoints": ["a"], "skeleton": []}],
    }


def _found(doc: dict[str, Any], root: Path) -> list[tuple[str, str, str]]:
    report = validate_document(doc, root)
    return [(f.code, f.pointer, f.message) for f in report.findings if f.code.startswith("image.")]


def _png(path: Path, size: tuple[int, int] = (8, 6)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, 90).save(path)


def test_symlinks_are_followed_and_must_stay_inside(tmp_path: Path) -> None:
    root, outside = tmp_path / "images", tmp_path / "elsewhere"
    _png(root / "a.png")
    _png(outside / "x.png")
    os.symlink(outside / "x.png", root / "out.png")
    os.symlink(outside, root / "away")
    os.symlink(root / "a.png", root / "alias.png")
    linked_root = tmp_path / "linked"
    os.symlink(root, linked_root)
    names = [
        "a.png",
        "alias.png",
        "out.png",
        "away/x.png",
        "../elsewhere/x.png",
        str(outside / "x.png"),
    ]
    found = _found(_doc(names), linked_root)  # the root itself may be a symlink
    assert [(c, p) for c, p, _ in found] == [
        ("image.path_escapes", "/images/2/file_name"),
        ("image.path_escapes", "/images/3/file_name"),
        ("image.path_escapes", "/images/4/file_name"),
        ("image.path_escapes", "/images/5/file_name"),
    ]
    assert (
        found[0][2] == f"file_name 'out.png' points outside the images folder {str(linked_root)!r}"
    )


def test_messages_name_the_resolved_file(tmp_path: Path) -> None:
    root = tmp_path / "images"
    _png(root / "sub" / "a.png", (9, 6))
    (root / "text.png").write_text("not an image")
    found = _found(_doc(["sub/a.png", "sub/gone.png", "text.png", "nul\0.png"]), root)
    real = root.resolve()
    assert found == [
        ("image.size_mismatch", "/images/0", "dataset says 8x6, the file is 9x6"),
        ("image.file_missing", "/images/1/file_name", f"image file {str(real / 'sub' / 'gone.png')!r} does not exist"),
        ("image.file_unreadable", "/images/2/file_name",
         f"unreadable: {real / 'text.png'}: cannot read image: cannot identify image file {str(real / 'text.png')!r}"),
        ("image.file_unreadable", "/images/3/file_name",
         f"unreadable: {real}/nul\0.png: cannot read image: embedded null byte"),
    ]  # fmt: skip


def test_findings_keep_the_dataset_order_over_many_files(tmp_path: Path) -> None:
    """Headers are read in batches on threads; the findings still come in image order."""
    root = tmp_path / "images"
    _png(root / "small.png", (8, 6))
    _png(root / "wide.png", (9, 6))
    names = []
    for i in range(700):
        name = f"{i:04d}.png"
        os.link(root / ("wide.png" if i % 97 == 5 else "small.png"), root / name)
        names.append(name)
    names[300] = "gone.png"
    found = _found(_doc(names), root)
    assert [p for _, p, _ in found] == [
        "/images/5", "/images/102", "/images/199", "/images/296", "/images/300/file_name", "/images/393",
        "/images/490", "/images/587", "/images/684",
    ]  # fmt: skip
