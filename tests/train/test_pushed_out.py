"""What the augmentation pushes out of the images is counted: loader workers, log, metrics.jsonl, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import invoke_cli

pytestmark = pytest.mark.train
torch = pytest.importorskip("torch")

from kpconv.spec import load_spec  # noqa: E402
from kpconv.train.data import validated  # noqa: E402
from kpconv.train.loader import EpochBatchSampler, KeypointDataset, make_loader  # noqa: E402
from kpconv.train.transforms import DROP_COUNTS, Pipeline, ScaleJitter  # noqa: E402

# a 2.5-3x zoom about a shifted centre: keypoints near the image borders leave it
ZOOM = ("--scale-range", "2.5,3", "--translate", "0.3")


def _dropped(loader) -> list[dict[str, int]]:
    return [t["dropped"] for _, targets in loader for t in targets]


def test_counts_come_back_from_loader_workers(tf):
    vds = validated(tf.train_json, tf.images, spec=load_spec(tf.spec))
    dataset = KeypointDataset(vds.training_samples(), Pipeline([ScaleJitter((2.5, 3.0), 0.3)]))

    def counts(workers: int) -> list[dict[str, int]]:
        sampler = EpochBatchSampler(len(dataset), 3, shuffle=True, seed=0)
        return _dropped(make_loader(dataset, sampler, workers=workers, pin_memory=False))

    in_main = counts(0)
    assert len(in_main) == len(dataset) and all(set(c) == set(DROP_COUNTS) for c in in_main)
    assert sum(c["keypoints_pushed_out"] for c in in_main) > 0
    assert counts(1) == in_main  # the same seeds, the same counts, from another process


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _train(tf, run: Path, *args: str | Path) -> str:
    res = invoke_cli(
        "train",
        tf.train_json,
        "--images",
        tf.images,
        "-o",
        run,
        "--spec",
        tf.spec,
        *tf.tiny,
        *ZOOM,
        *args,
    )
    assert res.exit_code == 0, res.stderr
    return res.stderr


@pytest.mark.slow
def test_metrics_and_log_count_what_was_pushed_out_over_a_resumed_run(tf, tmp_path, torch_threads):
    run = tmp_path / "run"
    err = _train(tf, run, "--max-steps", "2")
    recs = _records(run)
    steps = [r for r in recs if r["type"] == "step"]
    assert [r["step"] for r in steps] == [1, 2]
    assert all(isinstance(r[k], int) and r[k] >= 0 for r in steps for k in DROP_COUNTS)
    pushed = sum(r["keypoints_pushed_out"] for r in steps)
    assert pushed > 0  # the zoom pushes points of the fixture out
    (end,) = [r for r in recs if r["type"] == "end"]
    assert end["step"] == 2 and all(end[k] == sum(r[k] for r in steps) for k in DROP_COUNTS)
    (epoch,) = [r for r in recs if r["type"] == "epoch"]
    assert all(epoch[k] == end[k] for k in DROP_COUNTS)
    assert f"augmentation pushed {pushed} visible keypoint(s)" in err  # the run total, in the log
    assert "since the previous line: augmentation pushed" in err  # and per log interval
    ckpt = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["dropped"] == {k: end[k] for k in DROP_COUNTS}

    # resumed, the run total goes on from the checkpoint's
    res = invoke_cli(
        "train",
        tf.train_json,
        "--images",
        tf.images,
        "-o",
        run,
        "--resume",
        "--max-steps",
        "3",
        "--threads",
        "2",
    )
    assert res.exit_code == 0, res.stderr
    recs = _records(run)
    steps = [r for r in recs if r["type"] == "step"]
    assert [r["step"] for r in steps] == [1, 2, 3]
    last = [r for r in recs if r["type"] == "end"][-1]
    assert last["step"] == 3 and all(last[k] == sum(r[k] for r in steps) for k in DROP_COUNTS)


@pytest.mark.slow
def test_without_augmentation_nothing_is_pushed_out(tf, tmp_path, torch_threads):
    run = tmp_path / "plain"
    err = _train(tf, run, "--max-steps", "1", "--no-augment")
    (end,) = [r for r in _records(run) if r["type"] == "end"]
    assert all(end[k] == 0 for k in DROP_COUNTS)
    assert "augmentation pushed no visible keypoint and no instance out of the images" in err
