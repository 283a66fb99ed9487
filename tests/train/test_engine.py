"""The loop's guards: a non-finite loss stops before the update; the LR schedule; the sampler."""

from __future__ import annotations

import logging
import math

import pytest

pytestmark = pytest.mark.train
torch = pytest.importorskip("torch")

from kpconv.train.config import TrainConfig  # noqa: E402
from kpconv.train.distributed import Dist  # noqa: E402
from kpconv.train.engine import LoopState, NonFiniteLoss, StepProgress, train_one_epoch  # noqa: E402
from kpconv.train.loader import (  # noqa: E402
    EpochBatchSampler,
    KeypointDataset,
    augment_seed,
    inference_batches,
    make_loader,
)
from kpconv.train.trainer import lr_factor  # noqa: E402
from kpconv.train.transforms import DROP_COUNTS  # noqa: E402


class _Diverging(torch.nn.Module):
    """Returns a finite loss on the first call, NaN on the second."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.calls = 0

    def forward(self, images, targets):
        self.calls += 1
        bad = float("nan") if self.calls == 2 else 1.0
        return {"loss_keypoint": self.w.sum() * bad, "loss_classifier": self.w.sum() * 0.5}


def test_non_finite_loss_stops_before_the_update():
    model = _Diverging()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    batch = ((torch.zeros(3, 4, 4, dtype=torch.uint8),), ({"image_id": torch.tensor(1)},))
    state = LoopState()
    seen: list[dict] = []
    with pytest.raises(NonFiniteLoss) as info:
        train_one_epoch(model, opt, sched, None, [batch, batch, batch], Dist(1, 0, 0, torch.device("cpu"), False),
                        state, amp_dtype=None, clip_grad=1.0, total_steps=3, log_every=1,
                        should_stop=lambda s: False, on_step=seen.append, bar=StepProgress(3, 0, False))
    assert state.step == 1 and len(seen) == 1
    assert "at step 2" in info.value.message and "loss_keypoint nan" in info.value.message
    assert "checkpoint" not in info.value.message  # the trainer, which knows, names it
    assert info.value.exit_code == 1
    # only the first step was applied, its gradient 1.5 clipped to norm 1.0
    assert model.w.item() == pytest.approx(1 - 0.1 * 1.0)


class _Constant(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, images, targets):
        assert all("dropped" not in t and "image_id" not in t for t in targets)  # not for the model
        return {"loss_keypoint": self.w.sum()}


def test_what_the_targets_lost_is_summed_per_step_interval_and_run(caplog):
    def target(**counts):
        return {"image_id": torch.tensor(1), "dropped": {k: counts.get(k, 0) for k in DROP_COUNTS}}

    image = torch.zeros(3, 4, 4, dtype=torch.uint8)
    batches = [
        ((image, image), (target(keypoints_pushed_out=2), target(keypoints_pushed_out=1, instances_pushed_out=1))),
        ((image,), (target(),)),
        ((image,), (target(instances_lost_keypoints=1, keypoints_pushed_out=1),)),
    ]
    model = _Constant()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    state, seen = LoopState(), []
    with caplog.at_level(logging.INFO, logger="kpconv.train"):
        stats = train_one_epoch(model, opt, sched, None, batches, Dist(1, 0, 0, torch.device("cpu"), False),
                                state, amp_dtype=None, clip_grad=0.0, total_steps=3, log_every=2,
                                should_stop=lambda s: False, on_step=seen.append, bar=StepProgress(3, 0, False))
    assert [r["keypoints_pushed_out"] for r in seen] == [3, 0, 1]
    assert [r["instances_pushed_out"] for r in seen] == [1, 0, 0]
    assert [r["instances_lost_keypoints"] for r in seen] == [0, 0, 1]
    assert [r["keypoints_outside_image"] for r in seen] == [0, 0, 0]
    assert [r["images"] for r in seen] == [2, 3, 4]
    run = {"keypoints_pushed_out": 4, "instances_pushed_out": 1, "instances_lost_keypoints": 1,
           "keypoints_outside_image": 0}
    assert state.dropped == stats.dropped == run
    # the log lines (steps 2 and 3) count what was lost since the line before
    lines = [r.getMessage() for r in caplog.records if " step " in r.getMessage()]
    assert len(lines) == 2
    assert "pushed 3 visible keypoint(s) and 1 instance(s) out of the image" in lines[0]
    assert "pushed 1 visible keypoint(s) and 0 instance(s)" in lines[1]
    assert "1 instance(s) lost every visible keypoint" in lines[1]


def test_lr_warms_up_then_follows_the_schedule():
    cfg = TrainConfig(dataset="d", images="i", output="o")
    assert lr_factor(cfg, 0, 100, 10, 10) == pytest.approx(0.001)
    assert lr_factor(cfg, 5, 100, 10, 10) == pytest.approx(0.001 + 0.999 * 0.5)
    assert lr_factor(cfg, 10, 100, 10, 10) == pytest.approx(1.0)
    assert lr_factor(cfg, 55, 100, 10, 10) == pytest.approx(0.5)
    assert lr_factor(cfg, 100, 100, 10, 10) == pytest.approx(0.0, abs=1e-12)
    step = TrainConfig(dataset="d", images="i", output="o", schedule="step", lr_steps=[2, 4])
    assert [lr_factor(step, s, 100, 0, 10) for s in (0, 19, 20, 45)] == pytest.approx([1, 1, 0.1, 0.01])
    const = TrainConfig(dataset="d", images="i", output="o", schedule="constant")
    assert lr_factor(const, 99, 100, 0, 10) == 1.0
    assert math.isfinite(lr_factor(cfg, 3, 1, 0, 1))


def test_sampler_resumes_mid_epoch_and_shards_ranks():
    full = EpochBatchSampler(10, 3, shuffle=True, seed=5)
    full.plan(2)
    batches = list(full)
    assert len(batches) == 4 and sorted(i for b in batches for i, _ in b) == list(range(10))
    # each image carries the seed of its augmentation: a function of (seed, epoch, image) only
    assert all(s == augment_seed(5, 2, i) for b in batches for i, s in b)
    assert len({s for b in batches for _, s in b}) == 10
    resumed = EpochBatchSampler(10, 3, shuffle=True, seed=5)
    resumed.plan(2, skip=2)
    assert list(resumed) == batches[2:] and len(resumed) == 2
    other_epoch = EpochBatchSampler(10, 3, shuffle=True, seed=5)
    other_epoch.plan(3)
    assert list(other_epoch) != batches
    # one iteration runs on across epochs (the loader never restarts)
    run = EpochBatchSampler(10, 3, shuffle=True, seed=5)
    run.plan(2, skip=1, end=4)
    assert list(run) == batches[1:] + list(other_epoch) and len(run) == 7
    r0 = EpochBatchSampler(10, 3, shuffle=True, seed=5, world_size=2, rank=0)
    r1 = EpochBatchSampler(10, 3, shuffle=True, seed=5, world_size=2, rank=1)
    r0.plan(0)
    r1.plan(0)
    seen0 = {i for b in r0 for i, _ in b}
    seen1 = {i for b in r1 for i, _ in b}
    assert seen0 | seen1 == set(range(10)) and not seen0 & seen1


def test_augment_seeds_differ_by_epoch_image_and_run_seed():
    seeds = {augment_seed(s, e, i) for s in (0, 1, -1) for e in range(3) for i in range(4)}
    assert len(seeds) == 36 and all(0 <= s < 2**63 for s in seeds)
    assert augment_seed(0, 1, 2) == augment_seed(0, 1, 2)


def test_starting_a_loader_draws_nothing_from_the_process_generator():
    # the model's proposal samplers draw from it: a loader started at a resume, or an evaluation
    # at a checkpoint, must not shift their stream
    before = torch.get_rng_state()
    sampler = EpochBatchSampler(4, 2, shuffle=True, seed=0)
    iter(make_loader(KeypointDataset([]), sampler, workers=0, pin_memory=False))
    iter(inference_batches([], 2, workers=0))
    assert torch.equal(torch.get_rng_state(), before)
