"""A file that is not a checkpoint, given to ``evaluate``, ``predict`` or ``train --weights``.

Before issue 14 kpconv passed torch's whole message on, and it ends with "Re-running `torch.load`
with `weights_only` set to `False` will likely succeed": advice to unpickle a stranger's file,
which runs any code it holds. Now the message names the file and says what it is not, in one
line, exit 1; a checkpoint that holds code is refused without running it.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.hostile.support import one_report, run_limited

torch = pytest.importorskip("torch")

from kpconv.errors import DataError  # noqa: E402
from kpconv.train.torchfile import load_torch_file  # noqa: E402

TRAIN = REPO / "fixtures" / "train"
#: torch and torchvision need more address space than the readers' default limit
MEMORY = 6 << 30
#: torch's advice, in any of its wordings: never shown
ADVICE = ("weights_only", "Re-running", "torch.load", "arbitrary code")


class RunsCode:
    """Unpickled, it would create ``marker``: proof that a refused file ran nothing."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _saved(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _zip_of_text() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    return buf.getvalue()


#: (name, bytes, what the message says the file is)
GARBAGE = [
    ("text", b"not a checkpoint", "neither a zip archive nor a pickle, the two forms torch.save writes"),
    ("random", random.Random(14).randbytes(4096), "neither a zip archive nor a pickle, the two forms torch.save writes"),
    ("empty", b"", "an empty file"),
    ("zip", _zip_of_text(), "a zip archive without the layout torch.save writes"),
    ("cut", _saved({"w": torch.zeros(64)})[:300], "a zip archive cut short or damaged"),
    ("pickle", pickle.dumps({"a": 1}, protocol=4),
     "a pickle that torch.save did not write"),
]  # fmt: skip


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    for words in ADVICE:
        assert words not in stderr, stderr


@pytest.mark.parametrize(("data", "what"), [(d, w) for _, d, w in GARBAGE], ids=[n for n, _, _ in GARBAGE])
def test_the_message_says_what_the_file_is_not(tmp_path: Path, data: bytes, what: str) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    with pytest.raises(DataError) as caught:
        load_torch_file(path)
    assert caught.value.message == f"{path}: not a PyTorch checkpoint ({what})"
    _clean(caught.value.message)


def test_a_checkpoint_holding_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "model.pt"
    path.write_bytes(_saved({"model": RunsCode(marker)}))
    with pytest.raises(DataError) as caught:
        load_torch_file(path)
    message = caught.value.message
    assert message.startswith(f"{path}: refused: it holds a Python object (")
    assert "system" in message and "kpconv loads tensors only" in message
    _clean(message)
    assert not marker.exists()


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.pt"
    path.write_text("not a checkpoint")
    return path


def test_evaluate_in_json_too(tmp_path: Path) -> None:
    ckpt = _garbage(tmp_path)
    args = ("evaluate", ckpt, TRAIN / "train.json", "--images", TRAIN / "images", "--device", "cpu")
    res = run_limited(*args, cwd=tmp_path, memory=MEMORY)
    assert res.returncode == 1, res.stderr
    _clean(res.stderr)
    assert res.stderr.strip() == (
        f"kpconv: error: {ckpt}: not a PyTorch checkpoint "
        "(neither a zip archive nor a pickle, the two forms torch.save writes)"
    )
    res = run_limited(*args, "--format", "json", cwd=tmp_path, memory=MEMORY)
    assert res.returncode == 1, res.stderr
    _clean(res.stderr + res.stdout)
    (issue,) = one_report(res.stdout)["issues"]
    assert issue["severity"] == "error" and f"{ckpt}: not a PyTorch checkpoint (" in issue["message"]


def test_predict(tmp_path: Path) -> None:
    ckpt, out = _garbage(tmp_path), tmp_path / "pred.json"
    res = run_limited("predict", ckpt, TRAIN / "images" / "c00.png", "-o", out, "--device", "cpu",
                      cwd=tmp_path, memory=MEMORY)  # fmt: skip
    assert res.returncode == 1, res.stderr
    _clean(res.stderr)
    assert f"kpconv: error: {ckpt}: not a PyTorch checkpoint (" in res.stderr
    assert not out.exists()


def test_train_weights(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    weights, run = tmp_path / "weights.pth", tmp_path / "run"
    weights.write_bytes(_saved(RunsCode(marker)))
    res = run_limited("train", TRAIN / "train.json", "--images", TRAIN / "images", "-o", run, "--weights", weights,
                      "--backbone", "resnet18", "--max-steps", "1", "--device", "cpu", cwd=tmp_path, memory=MEMORY)  # fmt: skip
    assert res.returncode == 1, res.stderr
    _clean(res.stderr)
    assert f"kpconv: error: {weights}: refused: it holds a Python object (" in res.stderr
    assert not marker.exists() and not (run / "last.pt").exists()
    weights.write_bytes(json.dumps({"backbone": [1, 2]}).encode())
    res = run_limited("train", TRAIN / "train.json", "--images", TRAIN / "images", "-o", run, "--weights", weights,
                      "--backbone", "resnet18", "--max-steps", "1", "--device", "cpu", cwd=tmp_path, memory=MEMORY)  # fmt: skip
    assert res.returncode == 1, res.stderr
    _clean(res.stderr)
    assert f"{weights}: not a PyTorch checkpoint (neither a zip archive nor a pickle" in res.stderr
