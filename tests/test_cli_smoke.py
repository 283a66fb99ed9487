from __future__ import annotations

import os

import pytest


def test_help_lists_every_command_without_importing_them(run_cli):
    res = run_cli("--help")
    assert res.exit_code == 0
    for name in ("from-labelme", "from-cvat", "from-csv", "validate", "visualize", "train"):
        assert name in res.stdout


def test_unknown_command_is_usage_error(run_cli):
    res = run_cli("no-such-command")
    assert res.exit_code == 2
    assert "No such command" in res.stderr


def _fresh(code: str) -> str:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.strip()


def test_import_kpconv_and_the_cli_load_neither_numpy_nor_pydantic() -> None:
    """Start-up: every command pays for what `import kpconv` loads."""
    out = _fresh("import sys, kpconv, kpconv.cli; print(sorted({'numpy', 'pydantic', 'PIL', 'yaml'} & set(sys.modules)))")
    assert out == "[]"


@pytest.mark.parametrize(
    "code,expected",
    [
        ("c._quiet_blas(['from-cvat', 'a.xml'])", "1"),
        ("c._quiet_blas(['--help'])", "1"),
        ("c._quiet_blas(['train', 'd.json'])", "None"),  # torch work keeps the default
        ("import numpy; c._quiet_blas(['validate'])", "None"),  # numpy already started
    ],
)
def test_openblas_stays_single_threaded_only_where_nothing_needs_it(code: str, expected: str) -> None:
    assert _fresh(f"import os, kpconv.cli as c; {code}; print(os.environ.get('OPENBLAS_NUM_THREADS'))") == expected


@pytest.mark.parametrize(
    "command",
    [
        ["from-csv", "fixtures/csv/long.csv", "--image-size", "640x480"],
        ["from-cvat", "fixtures/cvat/skeleton.xml"],
        ["from-labelme", "fixtures/labelme/demo"],
    ],
    ids=["csv", "cvat", "labelme"],
)
def test_compact_writes_the_same_document_without_indentation(run_cli, tmp_path, command: list[str]) -> None:
    import orjson

    from kpconv.validation import validate_bytes

    from .conftest import REPO

    args = [str(REPO / a) if a.startswith("fixtures/") else a for a in command]
    pretty, compact = tmp_path / "pretty.json", tmp_path / "compact.json"
    first = run_cli(*args, "-o", str(pretty))
    second = run_cli(*args, "-o", str(compact), "--compact")
    assert (first.exit_code, first.stderr.replace(str(pretty), "OUT")) == (
        second.exit_code, second.stderr.replace(str(compact), "OUT"))  # fmt: skip
    data = compact.read_bytes()
    assert data.endswith(b"}\n") and data.count(b"\n") == 1  # one line
    assert orjson.loads(data) == orjson.loads(pretty.read_bytes())
    assert len(data) < 0.7 * pretty.stat().st_size
    assert validate_bytes(data).findings == validate_bytes(pretty.read_bytes()).findings
