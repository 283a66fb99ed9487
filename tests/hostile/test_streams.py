"""Inputs that are not regular files: a FIFO, a device (``/dev/zero``), standard input.

Such an input has no size to check first and may never end, so it is read once, a chunk at a
time, at most ``KPCONV_MAX_STREAM_BYTES`` bytes (default 1 GiB; CSV has its own
``KPCONV_MAX_CSV_BYTES``), then refused with a located message (issue 14: "cannot read: None" on
a pipe; from-cvat and visualize read special files without a bound). Every case runs in a fresh
process under a memory limit, with the FIFO fed by a writer process, and checks the exit code,
the message and that nothing was written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kpconv.fileio import DEFAULT_MAX_STREAM_BYTES, MAX_STREAM_ENV, max_stream_bytes
from tests.conftest import REPO
from tests.hostile.support import coco_doc, one_report, run_limited

LIMIT = 1_000_000
SMALL = {MAX_STREAM_ENV: str(LIMIT)}
TOO_LONG = (
    f"not a regular file, and it goes on past {LIMIT:,} bytes: read no further "
    f"(save it to a file, or set {MAX_STREAM_ENV} to allow more)"
)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@contextmanager
def fifo(tmp_path: Path, data: bytes, repeat: bytes = b"", name: str = "in.fifo") -> Iterator[Path]:
    """A FIFO that a writer process fills with ``data`` (then ``repeat`` without end, if given)."""
    path = tmp_path / name
    os.mkfifo(path)
    script = (
        "import sys\n"
        "f = open(sys.argv[1], 'wb')\n"
        "f.write(bytes.fromhex(sys.argv[2]))\n"
        "r = bytes.fromhex(sys.argv[3])\n"
        "while r:\n"
        "    f.write(r * 4096)\n"
        "f.close()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(path), data.hex(), repeat.hex()],
        stderr=subprocess.DEVNULL,
    )
    try:
        yield path
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait(10)


COCO = json.dumps(coco_doc()).encode()
ENDLESS_JSON = (b'{"images": [', b" ")


def test_validate_reads_a_fifo(tmp_path: Path) -> None:
    with fifo(tmp_path, COCO) as src:
        res = run_limited("validate", src, "--format", "json", cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert one_report(res.stdout)["ok"] is True
    assert "cannot read" not in res.stderr


def test_validate_fix_reads_a_fifo_once(tmp_path: Path) -> None:
    doc = coco_doc()
    del doc["annotations"][0]["area"]  # fixable
    out = tmp_path / "fixed.json"
    with fifo(tmp_path, json.dumps(doc).encode()) as src:
        res = run_limited("validate", src, "--fix", out, cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())["annotations"][0]["area"] == 400.0


def test_validate_reads_standard_input_as_dash(tmp_path: Path) -> None:
    src = tmp_path / "coco.json"
    src.write_bytes(COCO)
    with src.open("rb") as fh:
        res = run_limited("validate", "-", "--format", "json", cwd=tmp_path, stdin=fh)
    assert res.returncode == 0, res.stderr
    assert one_report(res.stdout)["ok"] is True
    with src.open("rb") as fh:
        res = run_limited("validate", "/dev/stdin", cwd=tmp_path, stdin=fh)
    assert res.returncode == 0, res.stderr


def test_validate_stops_an_endless_fifo_at_the_limit(tmp_path: Path) -> None:
    with fifo(tmp_path, *ENDLESS_JSON) as src:
        res = run_limited("validate", src, "--format", "json", cwd=tmp_path, env=SMALL, timeout=60)
    assert res.returncode == 1, res.stderr
    (issue,) = one_report(res.stdout)["issues"]
    assert issue["code"] == "input.too_long" and issue["message"] == TOO_LONG
    assert issue["source"] == str(src)


def test_validate_fix_writes_nothing_from_an_endless_fifo(tmp_path: Path) -> None:
    out = tmp_path / "fixed.json"
    with fifo(tmp_path, *ENDLESS_JSON) as src:
        res = run_limited("validate", src, "--fix", out, cwd=tmp_path, env=SMALL, timeout=60)
    assert res.returncode == 1
    assert f"{src}: {TOO_LONG}" in res.stdout
    assert not out.exists()


def test_validate_refuses_dev_zero_from_its_first_bytes(tmp_path: Path) -> None:
    res = run_limited("validate", "/dev/zero", cwd=tmp_path, timeout=60)
    assert res.returncode == 1
    assert "/dev/zero:1:1: not JSON" in res.stdout


def test_report_reads_a_fifo_and_stops_an_endless_one(tmp_path: Path) -> None:
    with fifo(tmp_path, COCO) as src:
        res = run_limited("report", src, "-o", tmp_path / "ok", cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    with fifo(tmp_path, *ENDLESS_JSON, name="endless.fifo") as src:
        res = run_limited(
            "report", src, "-o", tmp_path / "rep", cwd=tmp_path, env=SMALL, timeout=60
        )
    assert res.returncode == 1, res.stderr
    assert "input.too_long" in (tmp_path / "rep" / "index.html").read_text()


def test_visualize_stops_an_endless_fifo(tmp_path: Path) -> None:
    out = tmp_path / "vis"
    with fifo(tmp_path, *ENDLESS_JSON) as src:
        res = run_limited("visualize", src, "-o", out, cwd=tmp_path, env=SMALL, timeout=60)
    assert res.returncode == 1, res.stderr
    assert f"{src}: {TOO_LONG}" in res.stderr
    assert not out.exists()


CVAT_XML = (REPO / "fixtures" / "cvat" / "skeleton.xml").read_bytes()


def test_from_cvat_reads_a_fifo(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with fifo(tmp_path, CVAT_XML) as src:
        res = run_limited("from-cvat", src, "-o", out, cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())["annotations"]


def test_from_cvat_reads_standard_input_as_dash(tmp_path: Path) -> None:
    """As validate does: ``-`` was "-: file not found"; a pipe and a redirected file both read."""
    out, src = tmp_path / "out.json", tmp_path / "a.xml"
    src.write_bytes(CVAT_XML)
    with src.open("rb") as fh:
        res = run_limited("from-cvat", "-", "-o", out, cwd=tmp_path, timeout=60, stdin=fh)
    assert res.returncode == 0, res.stderr
    from_file = tmp_path / "file.json"
    assert run_limited("from-cvat", src, "-o", from_file, cwd=tmp_path, timeout=60).returncode == 0
    assert json.loads(out.read_text())["annotations"] == json.loads(from_file.read_text())["annotations"]
    piped = subprocess.run(
        [sys.executable, "-m", "kpconv", "from-cvat", "-", "-o", str(tmp_path / "piped.json")],
        input=CVAT_XML[: len(CVAT_XML) // 2], capture_output=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert piped.returncode == 1
    assert b"/dev/stdin:" in piped.stderr and b"not well-formed XML" in piped.stderr
    assert not (tmp_path / "piped.json").exists()


def test_from_cvat_stops_an_endless_fifo(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    head = b'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
    with fifo(tmp_path, head, b"<meta></meta>\n") as src:
        res = run_limited("from-cvat", src, "-o", out, cwd=tmp_path, env=SMALL, timeout=60)
    assert res.returncode == 1, res.stderr
    assert f"{src.name}: {TOO_LONG}" in res.stderr
    assert not out.exists()


BAD_XML = b'<annotations><image name="a.jpg" width="3"><points label=x points="1,2"/></image>'


def test_from_cvat_names_a_fifo_by_its_path(tmp_path: Path) -> None:
    """Not by its last part alone (``63:1:57`` for ``<(cat f.xml)``): as validate and from-labelme do."""
    out = tmp_path / "out.json"
    with fifo(tmp_path, BAD_XML) as src:
        res = run_limited("from-cvat", src, "-o", out, cwd=tmp_path, timeout=60)
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip() == f"kpconv: error: {src}:1:57: not well-formed XML: not well-formed (invalid token)"
    assert not out.exists()


def test_from_cvat_names_a_process_substitution_by_its_dev_fd_path(tmp_path: Path) -> None:
    """``kpconv from-cvat <(cat f.xml)``: the shell passes ``/dev/fd/N``, a pipe."""
    out = tmp_path / "out.json"
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, BAD_XML)
        os.close(write_end)
        res = subprocess.run(
            [sys.executable, "-m", "kpconv", "from-cvat", f"/dev/fd/{read_end}", "-o", str(out)],
            cwd=tmp_path, pass_fds=(read_end,), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(read_end)
    assert res.returncode == 1, res.stderr
    assert f"kpconv: error: /dev/fd/{read_end}:1:57: not well-formed XML" in res.stderr
    assert not out.exists()


def test_from_cvat_refuses_dev_zero(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = run_limited("from-cvat", "/dev/zero", "-o", out, cwd=tmp_path, timeout=60)
    assert res.returncode == 1, res.stderr
    assert "zero:1:0: not well-formed XML" in res.stderr
    assert not out.exists()


LABELME = json.dumps({
    "version": "5.5.0", "flags": {}, "imagePath": "a.png", "imageData": None, "imageHeight": 48, "imageWidth": 64,
    "shapes": [{"label": "nose", "points": [[10, 8]], "group_id": None, "shape_type": "point", "flags": {}}],
}).encode()  # fmt: skip


def test_from_labelme_reads_a_fifo_named_as_src(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with fifo(tmp_path, LABELME, name="a.json") as src:
        res = run_limited("from-labelme", src, "-o", out, cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())["annotations"]


def test_from_labelme_stops_an_endless_fifo(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with fifo(tmp_path, b'{"shapes": [', b" ", name="a.json") as src:
        res = run_limited("from-labelme", src, "-o", out, cwd=tmp_path, env=SMALL, timeout=60)
    assert res.returncode == 1, res.stderr
    assert f"{src.name}: {TOO_LONG}" in res.stderr
    assert not out.exists()


def test_the_limit_is_documented_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_stream_bytes() == DEFAULT_MAX_STREAM_BYTES == 1 << 30
    monkeypatch.setenv(MAX_STREAM_ENV, "2_000")
    assert max_stream_bytes() == 2000
    from kpconv.errors import UsageError

    monkeypatch.setenv(MAX_STREAM_ENV, "lots")
    with pytest.raises(UsageError, match=f"{MAX_STREAM_ENV}: expected a whole number of bytes"):
        max_stream_bytes()
    doc = (REPO / "docs" / "readme" / "hostile.md").read_text()
    assert MAX_STREAM_ENV in doc and "1 GiB" in doc
