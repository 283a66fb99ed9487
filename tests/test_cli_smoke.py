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
