"""Shared test helpers: the real-data folder (skipped when absent) and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
REALDATA = Path(os.environ.get("KPCONV_REALDATA", REPO.parent / "shared" / "realdata"))


@pytest.fixture
def realdata() -> Path:
    """``../shared/realdata``; the test is skipped when the folder is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} not present")
    return REALDATA


def realdata_file(relative: str) -> Path:
    """A file under the real-data folder, or skip the test when it is absent."""
    path = REALDATA / relative
    if not path.exists():
        pytest.skip(f"real data file {path} not present")
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def invoke_cli(*args: str | Path) -> CliResult:
    """Run ``kpconv ARGS...`` in-process through the real entry point; exit code and streams."""
    from kpconv.cli import main

    runner = CliRunner()
    with runner.isolation() as streams:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return CliResult(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    """:func:`invoke_cli` as a fixture."""
    return invoke_cli
