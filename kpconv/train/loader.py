"""torch Dataset over a :class:`~kpconv.train.data.ValidatedDataset`, the epoch sampler and the loader.

Images travel from the workers as uint8 (4× less to copy and pin than float); the engine converts
them to float on the device, where the model also resizes and normalises them.

The training stream is a function of the seed and the step alone: the sampler's order depends on
(seed, epoch), and each image's augmentation on (seed, epoch, image) (:func:`augment_seed`), not
on which process loads it or what it loaded before. A checkpoint's step therefore holds the
sampler and augmentation position, and ``--resume`` continues the same stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import DataError, KpconvError
from ..images import ImageTooLargeError, check_pixel_limit
from ._deps import torch
from .data import Sample
from .transforms import Pipeline, decode_rgb, make_sample, to_target

Item = tuple[Any, dict[str, Any]]
#: what a batch sampler yields per image: its index, or (index, augmentation seed)
Key = int | tuple[int, int]


def augment_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of image ``index``'s augmentation in ``epoch`` of a run seeded with ``seed``."""
    entropy = [seed % 2**64, epoch, index]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> np.uint64(1))


class KeypointDataset(torch.utils.data.Dataset):
    """(image uint8 [3,H,W], target) pairs; the target also carries ``image_id`` and ``dropped``.

    Items are fetched by index, or by (index, seed) to draw the augmentation from that seed.
    ``dropped`` is what the sample's targets lost (a dict of ints, see
    :data:`~kpconv.train.transforms.DROP_COUNTS`): it travels with the target, so the counts of
    a loader worker reach the training loop without any state shared between processes.
    """

    def __init__(self, samples: Sequence[Sample], transforms: Pipeline | None = None) -> None:
        self.samples = list(samples)
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: Key) -> Item:
        index, seed = key if isinstance(key, tuple) else (key, None)
        s = self.samples[index]
        try:
            check_pixel_limit(s.path)  # the validation gate checked it; the file may have changed since
        except ImageTooLargeError as exc:
            raise DataError(str(exc)) from None
        image = decode_rgb(s.path)
        h, w = int(image.shape[-2]), int(image.shape[-1])
        if (w, h) != (s.width, s.height):
            raise DataError(f"{s.path}: decoded {w}x{h}, the dataset says {s.width}x{s.height}")
        sample = make_sample(image, s.boxes, s.labels, s.keypoints)
        if self.transforms is not None:
            sample = self.transforms(sample, seed)
        img, target = to_target(sample)
        target["image_id"] = torch.tensor(s.image_id)
        target["dropped"] = sample["dropped"]
        return img, target


def worker_error(exc: KpconvError) -> KpconvError:
    """A kpconv error raised in a loader worker, without the traceback text torch wraps it in.

    torch re-raises a worker's exception as ``type(exc)("Caught X in DataLoader worker ...
    Original Traceback ...")``; the user should see only the original message.
    """
    if "DataLoader worker" not in exc.message:
        return exc
    last = [line for line in exc.message.strip().splitlines() if line.strip()][-1]
    prefix = f"{type(exc).__module__}.{type(exc).__name__}: "
    clean = type(exc)(last.removeprefix(prefix))
    clean.exit_code = exc.exit_code
    return clean


def collate(batch: list[Item]) -> tuple[tuple[Any, ...], tuple[dict[str, Any], ...]]:
    """Keep images as a tuple (their sizes differ); the model batches them itself."""
    images, targets = zip(*batch, strict=True)
    return images, targets


class EpochBatchSampler:
    """The batches of a run on one rank: reshuffled per epoch, resumable mid-epoch, seamless.

    A batch is a list of (index, :func:`augment_seed`) keys. Indices come from :class:`torch.utils.data.DistributedSampler` (also with one process), so
    every rank sees a disjoint shard and the order depends only on (seed, epoch). One iteration
    runs from epoch ``first`` (after its first ``skip`` batches: how ``--resume`` continues from
    the saved step without re-reading the images already trained on) to the last epoch, so the
    loader's workers keep prefetching across epoch boundaries instead of restarting each epoch.
    """

    def __init__(self, size: int, batch_size: int, *, shuffle: bool, seed: int,
                 world_size: int = 1, rank: int = 0) -> None:
        indices: Any = range(size)  # a sized sequence is all the sampler needs
        self.sampler: torch.utils.data.DistributedSampler[int] = torch.utils.data.DistributedSampler(
            indices, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed,
            drop_last=False,
        )
        self.batch_size = batch_size
        self.seed = seed
        self.first, self.skip, self.end = 0, 0, 1

    def plan(self, first: int, skip: int = 0, end: int | None = None) -> None:
        """Iterate epochs ``first`` (minus its first ``skip`` batches) to ``end - 1``."""
        self.first, self.skip = first, skip
        self.end = first + 1 if end is None else end

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        self.sampler.set_epoch(epoch)
        keys = [(i, augment_seed(self.seed, epoch, i)) for i in self.sampler]
        return [keys[b:b + self.batch_size] for b in range(0, len(keys), self.batch_size)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for epoch in range(self.first, self.end):
            yield from self.epoch_batches(epoch)[self.skip if epoch == self.first else 0:]

    def __len__(self) -> int:
        return max(0, (self.end - self.first) * self.batches_per_epoch - self.skip)


def make_loader(dataset: KeypointDataset, batch_sampler: Any, *, workers: int,
                pin_memory: bool) -> torch.utils.data.DataLoader:
    """A DataLoader that keeps its workers between epochs and prefetches ahead of the GPU.

    It has a generator of its own: starting it draws no number from the process's generator
    (which the model's proposal samplers use), so a resumed run's stream is not shifted.
    """
    kw: dict[str, Any] = {}
    if workers > 0:
        kw.update(persistent_workers=True, prefetch_factor=4)
    return torch.utils.data.DataLoader(
        dataset, batch_sampler=batch_sampler, num_workers=workers, collate_fn=collate,
        pin_memory=pin_memory, generator=torch.Generator(), **kw,
    )


def inference_batches(samples: Sequence[Sample], batch_size: int, *, workers: int,
                      world_size: int = 1, rank: int = 0) -> torch.utils.data.DataLoader:
    """Un-augmented batches of this rank's shard (every ``world_size``-th image, no padding)."""
    shard = list(samples)[rank::world_size]
    ds = KeypointDataset(shard, transforms=None)
    batches = [list(range(i, min(i + batch_size, len(shard)))) for i in range(0, len(shard), batch_size)]
    # a generator of its own: evaluation draws no number from the training's generator
    return torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=workers,
                                       collate_fn=collate, generator=torch.Generator())
