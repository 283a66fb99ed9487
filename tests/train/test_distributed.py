"""``torchrun --nproc_per_node 2 -m kpconv train``: DDP with gloo on CPU, rank 0 writes the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]
torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]


def test_two_process_gloo_run(tf, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "kpconv", "train", str(tf.train_json), "--images", str(tf.images), "-o", str(run),
           "--spec", str(tf.spec), "--val", str(tf.train_json), "--max-steps", "2", *tf.tiny,
           "--threads", "1"]  # the last --threads wins
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "distributed: 2 processes, backend gloo" in proc.stderr
    # rank 0 alone logs: each line once
    assert proc.stderr.count("model: Keypoint R-CNN") == 1
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    data = next(r for r in lines if r["type"] == "data")
    assert data["world_size"] == 2
    steps = [r for r in lines if r["type"] == "step"]
    # batch 2 per process, 2 processes: 4 images per step, counted over both ranks
    assert [r["images"] for r in steps] == [4, 8]
    # the 8 fixture images are split 4/4: one epoch is 2 steps of 2 x 2 images
    epoch = next(r for r in lines if r["type"] == "epoch")
    assert epoch["complete"] is True and epoch["val"]["images"] == 8
    ckpt = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 2 and not any(k.startswith("module.") for k in ckpt["model"])
    # every rank's generators, for an exact --resume (seeded seed + rank: they differ)
    assert len(ckpt["rng"]) == 2
    assert not torch.equal(ckpt["rng"][0]["torch"], ckpt["rng"][1]["torch"])
    assert (run / "best.pt").is_file()
