"""Output targets: ``-o -`` is stdout, special files are written in place (never replaced by a
rename) or refused, regular files are replaced atomically, and write errors name the target.

Every command that writes a file goes through :func:`kpconv.fileio.atomic_write_bytes`; each
case runs through every converter and ``validate --fix``. Device targets are reached through a
link in ``tmp_path`` so that a regression replaces the link, never the device itself.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from kpconv.errors import OutputError
from kpconv.fileio import atomic_write_bytes
from tests.conftest import FIXTURES
from tests.hostile.support import LONG_CSV, coco_doc, run_limited, write_labelme


def _csv(tmp: Path, out: str) -> list[str]:
    src = tmp / "in.csv"
    src.write_text(LONG_CSV)
    return ["from-csv", str(src), "--image-size", "64x48", "-o", out]


def _labelme(tmp: Path, out: str) -> list[str]:
    write_labelme(tmp / "lm")
    return ["from-labelme", str(tmp / "lm"), "-o", out]


def _cvat(tmp: Path, out: str) -> list[str]:
    return ["from-cvat", str(FIXTURES / "cvat" / "skeleton.xml"), "-o", out]


def _fix(tmp: Path, out: str) -> list[str]:
    doc = coco_doc()
    del doc["annotations"][0]["num_keypoints"]  # something to repair
    src = tmp / "in.json"
    src.write_text(json.dumps(doc))
    return ["validate", str(src), "--fix", out]


WRITERS: dict[str, Callable[[Path, str], list[str]]] = {
    "from-csv": _csv,
    "from-labelme": _labelme,
    "from-cvat": _cvat,
    "validate --fix": _fix,
}


@pytest.mark.parametrize("writer", WRITERS)
def test_dash_writes_the_output_to_stdout(run_cli, tmp_path: Path, writer: str) -> None:
    res = run_cli(*WRITERS[writer](tmp_path, "-"))
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)  # the COCO document, and nothing else, on stdout
    assert doc["images"] and doc["categories"]
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("writer", WRITERS)
def test_dash_with_a_json_report_is_a_usage_error(run_cli, tmp_path: Path, writer: str) -> None:
    res = run_cli(*WRITERS[writer](tmp_path, "-"), "--format", "json")
    assert res.exit_code == 2
    assert "both write to standard output" in res.stderr


@pytest.mark.parametrize("writer", WRITERS)
def test_a_fifo_is_written_in_place_not_replaced(run_cli, tmp_path: Path, writer: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the writer's open returns
    try:
        res = run_cli(*WRITERS[writer](tmp_path, str(fifo)))
        got = b""
        while chunk := _read_available(reader):
            got += chunk
    finally:
        os.close(reader)
    assert res.exit_code == 0, res.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode), "the FIFO was replaced by a regular file"
    assert json.loads(got)["images"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def _read_available(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""


@pytest.mark.parametrize("writer", WRITERS)
def test_a_link_to_dev_null_stays_a_link(run_cli, tmp_path: Path, writer: str) -> None:
    link = tmp_path / "null.json"
    link.symlink_to(os.devnull)
    res = run_cli(*WRITERS[writer](tmp_path, str(link)))
    assert res.exit_code == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == os.devnull
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_link_to_a_regular_file_is_followed_and_kept(run_cli, tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    res = run_cli(*_csv(tmp_path, str(link)))
    assert res.exit_code == 0, res.stderr
    assert link.is_symlink()
    assert json.loads(target.read_text())["images"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_socket_is_refused_with_a_message(run_cli, tmp_path: Path, writer: str) -> None:
    path = tmp_path / "s.json"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        res = run_cli(*WRITERS[writer](tmp_path, str(path)))
    finally:
        sock.close()
    assert res.exit_code == 1
    assert f"{path}: is a socket" in res.stderr and "internal error" not in res.stderr
    assert stat.S_ISSOCK(path.lstat().st_mode)


@pytest.mark.parametrize("writer", WRITERS)
def test_an_empty_output_path_is_a_usage_error(run_cli, tmp_path: Path, writer: str) -> None:
    res = run_cli(*WRITERS[writer](tmp_path, ""))
    assert res.exit_code == 2
    assert "an empty path" in res.stderr and "internal error" not in res.stderr


def test_a_folder_as_output_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    res = run_cli(*_fix(tmp_path, str(tmp_path / "dir")))
    assert res.exit_code == 2
    assert f"{tmp_path / 'dir'}: is a folder" in res.stderr


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_names_the_target_not_the_temp_file(tmp_path: Path, writer: str) -> None:
    out = tmp_path / "out" / "result.json"
    out.parent.mkdir()
    args = WRITERS[writer](tmp_path, str(out))
    res = run_limited(*args, cwd=tmp_path, file_size=64)  # no room for the output
    assert res.returncode == 1, res.stderr
    assert f"{out}: cannot write: File too large" in res.stderr
    assert ".tmp" not in res.stderr and "internal error" not in res.stderr
    assert list(out.parent.iterdir()) == []  # neither the target nor a temp file


def test_a_device_that_fails_names_the_target(run_cli, tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    link = tmp_path / "full.json"
    link.symlink_to("/dev/full")
    res = run_cli(*_csv(tmp_path, str(link)))
    assert res.exit_code == 1
    assert f"{link}: cannot write: No space left on device" in res.stderr
    assert link.is_symlink()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_names_the_target(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        res = run_cli(*_csv(tmp_path, str(folder / "out.json")))
    finally:
        folder.chmod(0o755)
    assert res.exit_code == 1
    assert f"{folder / 'out.json'}: cannot write: Permission denied" in res.stderr


def test_atomic_write_keeps_the_old_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.json"
    target.write_text("old")

    def no_space(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), src)

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OutputError) as caught:
        atomic_write_bytes(target, b"new")
    assert caught.value.message == f"{target}: cannot write: No space left on device"
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]  # the temp file is gone
