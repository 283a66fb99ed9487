"""``evaluate`` and ``predict``: two things on standard output are refused, as the converters
refuse ``-o -`` with ``--format json`` (issue 14), and before any import of torch or read of the
checkpoint: the usage error is instant, also where torch is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import invoke_cli

#: modules a refusal must not need: each set to None, so importing it raises ImportError
HEAVY = (
    "torch",
    "torchvision",
    "kpconv.train",
    "kpconv.train.evaluate",
    "kpconv.train.data",
    "kpconv.train.predict",
    "kpconv.train.checkpoint",
)


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HEAVY:
        monkeypatch.setitem(sys.modules, name, None)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    ckpt, data = tmp_path / "model.pt", tmp_path / "data.json"
    ckpt.write_bytes(b"not a checkpoint")
    data.write_text("{}")
    return ckpt, data


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            ["-o", "-", "--format", "json"],
            "-o - and --format json would both write to standard output",
        ),
        (
            ["--predictions", "-", "--format", "json"],
            "--predictions - and --format json would both write",
        ),
        (
            ["-o", "-", "--predictions", "-"],
            "-o - and --predictions - would both write to standard output",
        ),
    ],
)
def test_evaluate_refuses_two_writers_on_stdout(
    no_torch: None, tmp_path: Path, extra: list[str], said: str
) -> None:
    ckpt, data = _files(tmp_path)
    res = invoke_cli("evaluate", ckpt, data, "--images", tmp_path, *extra)
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert said in res.stdout + res.stderr
    assert "torch" not in (res.stdout + res.stderr).lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json", "model.pt"]


def test_evaluate_refusal_with_json_is_one_report(no_torch: None, tmp_path: Path) -> None:
    import json

    ckpt, data = _files(tmp_path)
    res = invoke_cli("evaluate", ckpt, data, "--images", tmp_path, "-o", "-", "--format", "json")
    assert res.exit_code == 2
    report = json.loads(res.stdout)  # the one JSON document on stdout: the refusal
    assert (
        report["ok"] is False
        and "would both write to standard output" in report["issues"][0]["message"]
    )


def test_predict_has_one_stdout_writer(no_torch: None, tmp_path: Path) -> None:
    # predict writes its results with -o (- is stdout) and its messages on stderr; it has no
    # --format, so the combination is a usage error before anything runs
    ckpt, _ = _files(tmp_path)
    res = invoke_cli("predict", ckpt, tmp_path, "-o", "-", "--format", "json")
    assert res.exit_code == 2
    assert "--format" in res.stdout + res.stderr
