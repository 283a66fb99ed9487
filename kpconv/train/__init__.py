"""``kpconv.train``: Keypoint R-CNN on validated COCO keypoint datasets (needs ``kpconv[train]``).

Split like torchvision's ``references/detection``:

- :mod:`~kpconv.train.data` — the gate: :func:`validated` is the only way to a
  :class:`ValidatedDataset`; targets built by kpconv, skips counted (no torch);
- :mod:`~kpconv.train.transforms` — RGB decoding, flips that swap left/right by the spec,
  scale and photometric jitter, visibility carried alongside the points;
- :mod:`~kpconv.train.model` — the network for any K and C, local weights only;
- :mod:`~kpconv.train.engine` / :mod:`~kpconv.train.trainer` — the loop and the run;
- :mod:`~kpconv.train.evaluate` — COCO keypoint/box AP with the spec's own OKS sigmas;
- :mod:`~kpconv.train.predict` — COCO results JSON; :mod:`~kpconv.train.distributed` — DDP.

Only this package imports torch, and only when a train/evaluate/predict command runs; a missing
extra is a :class:`~kpconv.errors.MissingDependencyError` naming ``pip install 'kpconv[train]'``.
"""

from __future__ import annotations

from .data import DatasetRefused, ValidatedDataset, validated

__all__ = ["DatasetRefused", "ValidatedDataset", "validated"]
