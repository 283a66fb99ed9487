"""The training gate: a dataset becomes trainable only by passing validation with the training rules.

:func:`validated` is the one way to obtain a :class:`ValidatedDataset` (its constructor refuses
callers without the module's private token), so unvalidated data cannot reach the trainer, the
evaluator or the data loader, from the CLI or from the library.

It also builds the Keypoint R-CNN targets (numpy, no torch here): ``boxes`` xyxy float32 clipped to
the image, ``labels`` (category id -> contiguous 1..C in category-id order; 0 is background),
``keypoints`` [N, K, 3] float32 with v in {0, 1, 2} (coordinates zeroed where v = 0). What it skips
is counted, never silent:

- annotations: crowd (``iscrowd`` 1) and degenerate boxes (w or h < 1 px after clipping to the
  image) are skipped, each a ``train.annotation_skipped`` note; an annotation with no visible
  keypoint stays as a box target with every keypoint v=0 (``train.annotation_box_only``), as
  torchvision's reference does, so its object is not taught as background. This is the one rule
  of :mod:`kpconv.validation.skips`, which ``validate --for-training`` counts as its dry run.
- images: an image with no annotation at all is a *negative* (kept by default, ``negatives="skip"``
  drops it); an image whose annotations were *all* skipped is left out of training
  (``train.image_skipped``), because its unusable objects would otherwise be taught as background.
  Every image stays in :attr:`ValidatedDataset.samples` for evaluation and inference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import DataError, UsageError
from ..fileio import read_json
from ..finding import Finding, Report, info, pointer, warning
from ..images import resolve_inside
from ..model import Dataset, dataset_from_document
from ..spec import CategorySpec, KeypointSpec, spec_from_coco_categories
from ..validation import validate, validate_document
from ..validation.skips import BOX_ONLY, BOX_ONLY_WORDS, SKIP_REASONS, training_roles

Negatives = Literal["keep", "skip"]

_TOKEN = object()


class DatasetRefused(DataError):
    """Validation with the training rules found errors: nothing may be trained on this data."""

    def __init__(self, report: Report, source: str) -> None:
        n = len(report.errors)
        super().__init__(
            f"{source}: the dataset failed validation for training ({n} error(s)); "
            "fix them (`kpconv validate --fix` repairs some) and retry",
            report.findings,
        )
        self.report = report
        self.source = source


@dataclass(frozen=True)
class TrainCategory:
    """A trained category: the model's ``label`` (1..C) and the dataset's category."""

    label: int
    category_id: int
    name: str
    keypoints: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "id": self.category_id, "name": self.name,
                "keypoints": list(self.keypoints)}


@dataclass(frozen=True)
class Sample:
    """One image and its targets (numpy; ``keypoints`` is [N, K, 3] with v in {0, 1, 2})."""

    image_id: int
    file_name: str
    path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray
    keypoints: np.ndarray
    annotation_ids: tuple[int, ...]
    skipped: int

    @property
    def is_negative(self) -> bool:
        """No annotation at all (not: all annotations skipped)."""
        return len(self.annotation_ids) == 0 and self.skipped == 0


class ValidatedDataset:
    """A COCO keypoint dataset that passed ``kpconv.validate(..., for_training=True)``.

    Only :func:`validated` creates one. Holds the dataset, the images folder, the per-category
    spec (keypoint order, flip pairs, OKS sigmas), the label mapping, per-image targets, the
    validation report (its warnings) and the counts of what training skips.
    """

    __slots__ = ("dataset", "images", "spec", "categories", "samples", "report", "notes",
                 "skipped", "negatives", "source", "box_only")

    def __init__(
        self,
        token: object,
        *,
        dataset: Dataset,
        images: Path,
        spec: KeypointSpec,
        categories: list[TrainCategory],
        samples: list[Sample],
        report: Report,
        notes: list[Finding],
        skipped: dict[str, int],
        negatives: Negatives,
        source: str,
        box_only: int = 0,
    ) -> None:
        if token is not _TOKEN:
            raise TypeError("a ValidatedDataset is only created by kpconv.train.data.validated(...)")
        self.dataset = dataset
        self.images = images
        self.spec = spec
        self.categories = categories
        self.samples = samples
        self.report = report
        self.notes = notes
        self.skipped = skipped
        self.negatives = negatives
        self.source = source
        self.box_only = box_only

    @property
    def num_keypoints(self) -> int:
        return len(self.categories[0].keypoints)

    @property
    def num_classes(self) -> int:
        """Categories + 1 (background), what Keypoint R-CNN's ``num_classes`` means."""
        return len(self.categories) + 1

    def category_specs(self) -> list[CategorySpec]:
        """Spec of each trained category, in label order."""
        return list(self.spec.categories)

    def flip_permutations(self) -> list[list[int]] | None:
        """Per label (index 0 = background) the keypoint permutation after a horizontal flip.

        None when any trained category has no known left/right pairing: flipping is then unsafe.
        """
        perms: list[list[int]] = [list(range(self.num_keypoints))]
        for cat in self.spec.categories:
            perm = cat.flip_permutation()
            if perm is None:
                return None
            perms.append(perm)
        return perms

    def training_samples(self) -> list[Sample]:
        """The images training iterates: those with usable targets, plus negatives when kept."""
        out = []
        for s in self.samples:
            if len(s.annotation_ids):
                out.append(s)
            elif s.is_negative and self.negatives == "keep":
                out.append(s)
        return out

    def counts(self) -> dict[str, Any]:
        """What training uses and skips (for the log and ``metrics.jsonl``)."""
        used = sum(len(s.annotation_ids) for s in self.samples)
        negatives = sum(1 for s in self.samples if s.is_negative)
        all_skipped = sum(1 for s in self.samples if not len(s.annotation_ids) and s.skipped)
        return {
            "images": len(self.samples),
            "training_images": len(self.training_samples()),
            "annotations_used": used,
            "annotations_box_only": self.box_only,
            "annotations_skipped": dict(self.skipped),
            "negative_images": negatives,
            "negative_images_kept": negatives if self.negatives == "keep" else 0,
            "images_skipped_all_annotations_unusable": all_skipped,
        }

    def describe(self, role: str = "training") -> str:
        """One line for the log: images, annotations used, and every skip with its count."""
        c = self.counts()
        if role != "training":
            return (f"{self.source}: {c['images']} image(s), {c['annotations_used']} annotation(s) usable "
                    f"as targets, {sum(c['annotations_skipped'].values())} not (crowd or box < 1 px; "
                    "COCO evaluation treats those as it always does)")
        skips = ", ".join(f"{SKIP_REASONS[k]}: {v}" for k, v in c["annotations_skipped"].items() if v)
        neg = c["negative_images"]
        neg_s = f"{neg} negative image(s) {'kept' if self.negatives == 'keep' else 'skipped'}"
        return (
            f"{self.source}: {c['training_images']} of {c['images']} image(s) used for training, "
            f"{c['annotations_used']} annotation(s) ({c['annotations_box_only']} as boxes only: no visible "
            f"keypoint); skipped annotations: {skips or 'none'}; "
            f"{neg_s}; {c['images_skipped_all_annotations_unusable']} image(s) skipped "
            "(all their annotations unusable)"
        )


def _filter_categories(doc: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The document restricted to the named categories (and their annotations)."""
    cats = doc.get("categories") or []
    known = [c.get("name") for c in cats if isinstance(c, dict)]
    missing = [n for n in names if n not in known]
    if missing:
        raise UsageError(f"--category: {', '.join(map(repr, missing))} not in the dataset (it has {known})")
    keep = [c for c in cats if isinstance(c, dict) and c.get("name") in names]
    ids = {c.get("id") for c in keep}
    out = dict(doc)
    out["categories"] = keep
    out["annotations"] = [a for a in doc.get("annotations") or [] if isinstance(a, dict) and a.get("category_id") in ids]
    return out


def training_spec(dataset: Dataset, names: Sequence[str], user_spec: KeypointSpec | None) -> KeypointSpec:
    """The spec of each trained category: the user's when it names the category, else derived.

    A user spec must list the dataset category's keypoints in the same order (the targets are
    built in the dataset's order; a different order would silently scramble the sigmas and flips).
    """
    doc_cats = [c.model_dump(mode="json", exclude_unset=True) for c in dataset.categories]
    derived = spec_from_coco_categories(doc_cats)
    by_name = {c.name: c for c in dataset.categories}
    out: list[CategorySpec] = []
    for name in names:
        mine = user_spec.category(name) if user_spec is not None else None
        if mine is not None:
            if list(mine.keypoints) != list(by_name[name].keypoints):
                raise DataError(
                    f"spec category {name!r} lists keypoints {list(mine.keypoints)} but the dataset's "
                    f"category has {list(by_name[name].keypoints)}: the order must match "
                    "(convert the dataset with this spec, or fix the spec)"
                )
            out.append(mine)
            continue
        found = derived.category(name)
        if found is None:
            raise DataError(f"category {name!r}: its keypoint list cannot make a spec (run `kpconv validate`)")
        out.append(found)
    return KeypointSpec(categories=out)


def validated(
    dataset: Dataset | dict[str, Any] | str | Path,
    images: str | Path,
    *,
    spec: KeypointSpec | None = None,
    categories: Sequence[str] | None = None,
    negatives: Negatives = "keep",
    source: str | None = None,
) -> ValidatedDataset:
    """Validate ``dataset`` with the training rules and, when it passes, build the training view.

    ``dataset`` is a path, a parsed document or a :class:`~kpconv.model.Dataset`; ``images`` the
    folder its ``file_name`` values are relative to; ``spec`` an optional user spec (sigmas, flip
    pairs) for categories it names; ``categories`` restricts training to those category names.

    Raises :class:`DatasetRefused` (a DataError carrying the full report) when validation finds
    an error, :class:`~kpconv.errors.UsageError` for a bad argument.
    """
    if isinstance(dataset, str | Path):
        # the plain document, not the pydantic model: structural problems then reach the
        # validator's located report, and the model is built once, after validation passed
        source = source or str(dataset)
        dataset = read_json(Path(dataset))
    source = source or "<dataset>"
    if isinstance(dataset, Dataset):
        doc = dataset.to_document()
    elif isinstance(dataset, dict):
        doc = dict(dataset)
    else:
        raise DatasetRefused(validate_document(dataset, for_training=True), source)
    if categories:
        doc = _filter_categories(doc, categories)
    images = Path(images)
    if not images.is_dir():
        raise UsageError(f"--images {images}: not a folder")
    report = validate(doc, images=images, for_training=True)
    if not report.ok:
        raise DatasetRefused(report, source)
    ds = dataset_from_document(doc, source=source)

    used = {a.category_id for a in ds.annotations}
    trained = sorted((c for c in ds.categories if c.keypoints and c.id in used), key=lambda c: c.id)
    if not trained:
        raise DataError(f"{source}: no keypoint category has annotations: nothing to train")
    ks = {len(c.keypoints) for c in trained}
    if len(ks) != 1:
        raise DataError(f"{source}: trained categories have different keypoint counts {sorted(ks)}")
    tspec = training_spec(ds, [c.name for c in trained], spec)
    tcats = [TrainCategory(i + 1, c.id, c.name, tuple(c.keypoints)) for i, c in enumerate(trained)]
    label_of = {c.category_id: c.label for c in tcats}
    k = ks.pop()

    notes: list[Finding] = []
    for cat in tspec.categories:
        if not cat.flip_safe:
            notes.append(warning("train.flip_unsafe", cat.flip_note(), "/categories"))
    skipped: Counter[str] = Counter({r: 0 for r in SKIP_REASONS})
    roles = _training_roles(ds)
    box_only = 0
    by_image: dict[int, list[tuple[int, Any]]] = {}
    for i, ann in enumerate(ds.annotations):
        by_image.setdefault(ann.image_id, []).append((i, ann))

    samples: list[Sample] = []
    for img_index, img in enumerate(ds.images):
        path = resolve_inside(images, img.file_name)
        if path is None:  # the validator reports this; never train on a path outside DIR
            raise DataError(f"{source}{pointer('images', img_index, 'file_name')}: path escapes {images}")
        w, h = float(img.width), float(img.height)
        boxes, labels, kps, ids = [], [], [], []
        n_skipped = 0
        for i, ann in by_image.get(img.id, []):
            reason = roles[i]
            if reason == BOX_ONLY:
                box_only += 1
                notes.append(info("train.annotation_box_only", f"for training: {BOX_ONLY_WORDS}",
                                  pointer("annotations", i), image_id=img.id, annotation_id=ann.id))
            elif reason is not None:
                skipped[reason] += 1
                n_skipped += 1
                notes.append(info("train.annotation_skipped", f"skipped for training: {SKIP_REASONS[reason]}",
                                  pointer("annotations", i), image_id=img.id, annotation_id=ann.id))
                continue
            x, y, bw, bh = (float(v) for v in ann.bbox)  # type: ignore[union-attr]
            boxes.append([max(0.0, x), max(0.0, y), min(w, x + bw), min(h, y + bh)])
            labels.append(label_of[ann.category_id])
            arr = np.asarray(ann.keypoints, dtype=np.float32).reshape(k, 3)
            arr[:, 2] = np.where(arr[:, 2] > 0, np.round(arr[:, 2]), 0)
            arr[arr[:, 2] == 0, :2] = 0
            kps.append(arr)
            ids.append(ann.id)
        if not ids and n_skipped:
            notes.append(info("train.image_skipped",
                              f"all {n_skipped} annotation(s) of {img.file_name!r} are unusable: image left out of training",
                              pointer("images", img_index), image_id=img.id))
        samples.append(Sample(
            image_id=img.id, file_name=img.file_name, path=path, width=img.width, height=img.height,
            boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            labels=np.asarray(labels, dtype=np.int64),
            keypoints=np.asarray(kps, dtype=np.float32).reshape(-1, k, 3),
            annotation_ids=tuple(ids), skipped=n_skipped,
        ))
    return ValidatedDataset(
        _TOKEN, dataset=ds, images=images, spec=tspec, categories=tcats, samples=samples,
        report=report, notes=notes, skipped=dict(skipped), negatives=negatives, source=source,
        box_only=box_only,
    )


def _training_roles(ds: Dataset) -> list[str | None]:
    """Per annotation, what training does with it: the one rule of :mod:`kpconv.validation.skips`."""
    size = {img.id: (float(img.width), float(img.height)) for img in ds.images}
    anns = ds.annotations
    n = len(anns)
    wh = np.asarray([size.get(a.image_id, (np.inf, np.inf)) for a in anns], dtype=np.float64).reshape(n, 2)
    boxes = np.asarray(
        [a.bbox if a.bbox is not None and len(a.bbox) == 4 else [np.nan] * 4 for a in anns], dtype=np.float64
    ).reshape(n, 4)
    visible = np.asarray([sum(1 for v in a.keypoints[2::3] if v > 0) for a in anns], dtype=np.int64)
    crowd = np.asarray([bool(a.iscrowd) for a in anns], dtype=bool)
    return training_roles(crowd, visible, boxes, wh[:, 0], wh[:, 1])
