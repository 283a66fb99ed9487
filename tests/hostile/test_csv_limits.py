"""CSV limits: total cells, cell length, and bytes read (a pipe or device that never ends).

Each case runs ``kpconv from-csv`` in a fresh process under a memory limit (``RLIMIT_AS``), on
small inputs generated here, and checks the exit code, the located message, and that nothing
was written. The limits and their variables are documented in docs/readme/from-csv.md.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from kpconv.formats.csv.table import Limits
from tests.conftest import REPO
from tests.hostile.support import LONG_CSV, MEMORY_LIMIT, one_report

#: a 200 KB long-layout CSV whose keypoint names are 100,000 characters (it took 1.7 GB)
LONG_NAME = "k" * 100_000
LONG_NAMES_CSV = "image,instance,keypoint,x,y,v\n" + "".join(
    f"images/a.png,{i},{LONG_NAME},{i + 1},{i + 1},2\n" for i in range(2)
)


def kpconv(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, shell_input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m kpconv ARGS`` under the memory limit; ``shell_input``: a shell command whose
    output is the process's standard input."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    command = [sys.executable, "-m", "kpconv", *map(str, args)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KPCONV_")}
    environ.update(env or {})
    if shell_input is not None:
        pipeline = f"{shell_input} | {' '.join(_quoted(c) for c in command)}"
        command = ["bash", "-o", "pipefail", "-c", pipeline]
    return subprocess.run(
        command, cwd=cwd, env=environ, preexec_fn=limit, capture_output=True, text=True, timeout=120
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def test_a_cell_longer_than_the_limit_is_refused_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "names.csv").write_text(LONG_NAMES_CSV)
    res = kpconv("from-csv", "names.csv", "--image-size", "64x48", "-o", "out.json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr[-2000:]
    assert (
        "names.csv:2:keypoint: a cell of 100,000 bytes, more than the limit of 65,536 "
        "(set KPCONV_MAX_CSV_CELL_BYTES to allow more)"
    ) in res.stderr
    assert not (tmp_path / "out.json").exists()


def test_the_cell_limit_is_raised_by_its_variable(tmp_path: Path) -> None:
    (tmp_path / "names.csv").write_text(LONG_NAMES_CSV)
    res = kpconv(
        "from-csv", "names.csv", "--image-size", "64x48", "-o", "out.json", "--format", "json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_CELL_BYTES": "100000"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["categories"][0]["keypoints"] == [LONG_NAME]
    assert len(doc["annotations"]) == 2


def test_a_quoted_cell_spanning_lines_is_measured_whole(tmp_path: Path) -> None:
    note = "\n".join(["a line of a long note"] * 200)  # 4,399 bytes, no line of it long
    (tmp_path / "notes.csv").write_text(f'image,keypoint,x,y,note\na.png,nose,1,2,"{note}"\n')
    res = kpconv(
        "from-csv", "notes.csv", "--image-size", "64x48", "-o", "out.json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_CELL_BYTES": "4000"},
    )  # fmt: skip
    assert res.returncode == 1
    assert "notes.csv:2:note: a cell of 4,399 bytes, more than the limit of 4,000" in res.stderr


def test_a_table_with_more_cells_than_the_limit_is_refused_where_it_passes_it(
    tmp_path: Path,
) -> None:
    rows = "".join(f"images/{i}.png,1,nose,{i},{i},2\n" for i in range(100_000))
    (tmp_path / "many.csv").write_text("image,instance,keypoint,x,y,v\n" + rows)
    res = kpconv(
        "from-csv", "many.csv", "--image-size", "64x48", "-o", "out.json", "--format", "json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_CELLS": "60000"},
    )  # fmt: skip
    assert res.returncode == 1, res.stderr[-2000:]
    (issue,) = one_report(res.stdout)["issues"]
    # 10,001 records of 6 cells pass 60,000: the 10,001st, on line 10,001
    assert issue["message"] == (
        "many.csv:10001: the table goes on past 60,000 cells, the limit for a CSV file "
        "(set KPCONV_MAX_CSV_CELLS to allow more)"
    )
    assert not (tmp_path / "out.json").exists()
    res = kpconv(
        "from-csv", "many.csv", "--image-size", "64x48", "-o", "out.json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_CELLS": "600006"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]


def test_dev_zero_stops_at_once(tmp_path: Path) -> None:
    res = kpconv("from-csv", "/dev/zero", "--image-size", "64x48", "-o", "out.json", cwd=tmp_path)
    assert res.returncode == 1
    assert "/dev/zero: contains NUL bytes; this is not a text CSV file" in res.stderr


def test_a_pipe_that_never_ends_is_read_up_to_the_limit(tmp_path: Path) -> None:
    res = kpconv(
        "from-csv", "/dev/stdin", "--image-size", "64x48", "-o", "out.json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_BYTES": "3000000"}, shell_input="yes images/a.png,nose,1,2",
    )  # fmt: skip
    assert res.returncode == 1, res.stderr[-2000:]
    assert (
        "/dev/stdin: not a regular file, and it goes on past 3,000,000 bytes, the limit for a "
        "CSV file: read no further (save it to a file, or set KPCONV_MAX_CSV_BYTES)"
    ) in res.stderr
    assert not (tmp_path / "out.json").exists()


def test_a_pipe_within_the_limit_converts(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(LONG_CSV)
    res = kpconv(
        "from-csv", "/dev/stdin", "--image-size", "64x48", "-o", "out.json",
        cwd=tmp_path, shell_input="cat in.csv",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(json.loads((tmp_path / "out.json").read_text())["annotations"]) == 2


def test_a_regular_file_over_the_byte_limit_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(LONG_CSV)
    res = kpconv(
        "from-csv", "in.csv", "--image-size", "64x48", "-o", "out.json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_BYTES": "100"},
    )  # fmt: skip
    assert res.returncode == 1
    assert (
        f"in.csv: {len(LONG_CSV):,} bytes, more than the limit of 100 for a CSV file "
        "(set KPCONV_MAX_CSV_BYTES to allow more)"
    ) in res.stderr


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1e9"])
def test_a_bad_limit_value_is_a_usage_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "in.csv").write_text(LONG_CSV)
    res = kpconv(
        "from-csv", "in.csv", "--image-size", "64x48", "-o", "out.json",
        cwd=tmp_path, env={"KPCONV_MAX_CSV_CELLS": value},
    )  # fmt: skip
    assert res.returncode == 2
    assert (
        f"KPCONV_MAX_CSV_CELLS: expected a whole number of at least 1, found {value!r}"
        in res.stderr
    )


def test_the_limits_and_their_defaults_are_documented() -> None:
    doc = (REPO / "docs" / "readme" / "from-csv.md").read_text()
    defaults = Limits()
    for variable, default in [
        ("KPCONV_MAX_CSV_BYTES", defaults.bytes),
        ("KPCONV_MAX_CSV_CELLS", defaults.cells),
        ("KPCONV_MAX_CSV_CELL_BYTES", defaults.cell_bytes),
    ]:
        assert f"`{variable}` | {default:,}" in doc, variable
