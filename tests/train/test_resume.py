"""``--resume``: the same stream as a straight run, the new schedule when extended, the truth on divergence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import invoke_cli

pytestmark = [pytest.mark.train, pytest.mark.slow]
torch = pytest.importorskip("torch")

# 8 images in batches of 3: 3 steps per epoch (3 + 3 + 2 images), so step 4 is mid-epoch 2
BATCH = ("--batch-size", "3")


def train(tf, run: Path, *args: str) -> str:
    res = invoke_cli("train", tf.train_json, "--images", tf.images, "-o", run, "--spec", tf.spec,
                     *tf.tiny, *BATCH, *args)
    assert res.exit_code == 0, res.stderr
    return res.stderr


def resume(tf, run: Path, *args: str) -> tuple[int, str]:
    res = invoke_cli("train", tf.train_json, "--images", tf.images, "-o", run, "--resume",
                     "--threads", "2", *args)
    return res.exit_code, res.stderr


def steps(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "step"]


def test_four_plus_four_resumed_steps_equal_eight_straight(tf, tmp_path, torch_threads):
    const = ("--schedule", "constant", "--warmup-steps", "0")
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tf, straight, *const, "--max-steps", "8")
    train(tf, split, *const, "--max-steps", "4")
    # the resumed half loads its images in a worker process: the augmentation of an image is
    # seeded by (seed, epoch, image), so where it is drawn does not matter
    code, err = resume(tf, split, "--max-steps", "8", "--workers", "1")
    assert code == 0, err
    assert "not exact" not in err
    a, b = steps(straight), steps(split)
    assert [r["step"] for r in b] == list(range(1, 9))
    for ra, rb in zip(a, b, strict=True):
        assert rb["lr"] == ra["lr"]
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-5, abs=1e-6), rb["step"]
        assert rb["losses"] == pytest.approx(ra["losses"], rel=1e-5, abs=1e-6), rb["step"]
    wa = torch.load(straight / "last.pt", map_location="cpu", weights_only=True)
    wb = torch.load(split / "last.pt", map_location="cpu", weights_only=True)
    assert wa["step"] == wb["step"] == 8
    for name, tensor in wa["model"].items():
        assert torch.allclose(wb["model"][name].float(), tensor.float(), rtol=1e-4, atol=1e-6), name
    assert len(wb["rng"]) == 1  # one process: one set of generator states


def test_extending_a_run_follows_the_new_schedule(tf, tmp_path, torch_threads):
    from kpconv.train.config import TrainConfig
    from kpconv.train.trainer import lr_factor

    run = tmp_path / "run"
    train(tf, run, "--max-steps", "4")  # cosine over 4 steps, no warm-up: it ends at LR 0
    lr0 = 0.02 * 3 / 16  # the default SGD LR for batch 3
    code, err = resume(tf, run, "--max-steps", "5")
    assert code == 0, err
    cfg = TrainConfig(dataset="d", images="i", output="o", max_steps=5)
    fifth = steps(run)[4]
    assert fifth["step"] == 5
    # the step after the resume runs at the new schedule's LR at step 4 of 5, not at the old 0
    assert fifth["lr"] == pytest.approx(lr0 * lr_factor(cfg, 4, 5, 0, 3))
    assert fifth["lr"] == pytest.approx(lr0 * 0.5 * (1 + math.cos(math.pi * 4 / 5)))


def test_an_old_checkpoint_resumes_with_a_warning_and_a_new_lr_is_used(tf, tmp_path, torch_threads):
    run = tmp_path / "run"
    train(tf, run, "--max-steps", "1", "--schedule", "constant", "--warmup-steps", "0")
    ckpt = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    del ckpt["rng"]  # as kpconv wrote them before the generators were saved
    torch.save(ckpt, run / "last.pt")
    code, err = resume(tf, run, "--max-steps", "2", "--lr", "0.001")
    assert code == 0, err
    assert "--resume is not exact: the checkpoint holds no random generator states" in err
    assert steps(run)[1]["lr"] == pytest.approx(0.001)


def test_divergence_names_the_checkpoint_that_exists(tf, tmp_path, torch_threads):
    run = tmp_path / "run"
    huge = ("--lr", "1e6", "--schedule", "constant", "--warmup-steps", "0")
    res = invoke_cli("train", tf.train_json, "--images", tf.images, "-o", run, "--spec", tf.spec,
                     *tf.tiny, *BATCH, *huge, "--max-steps", "3")
    assert res.exit_code == 1, res.stderr
    assert "the loss became" in res.stderr
    assert "no checkpoint has been written yet" in res.stderr
    assert "last checkpoint in the run folder" not in res.stderr
    assert not (run / "last.pt").exists()

    train(tf, run, *huge, "--max-steps", "1")  # one step (its loss is computed before the update)
    code, err = resume(tf, run, "--max-steps", "3")
    assert code == 1, err
    assert "the loss became" in err and f"{run / 'last.pt'} (step 1)" in err
