"""COCO keypoint AP (OKS) and box AP with pycocotools, using each category's own sigmas.

pycocotools hard-codes the 17 COCO-person OKS sigmas and crashes on any other K (cocoapi #264);
setting ``COCOeval.params.kpt_oks_sigmas`` to the spec's sigmas (one per keypoint) makes any K
work. COCOeval takes one sigma vector, so with several categories each is evaluated on its own
with its sigmas and the summary AP is the mean over categories (as COCO averages over them).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ..spec import CategorySpec, KeypointSpec
from ._deps import torch
from .data import TrainCategory, ValidatedDataset
from .distributed import Dist, broadcast_object, gather_objects
from .loader import inference_batches

log = logging.getLogger("kpconv.train")

KEYPOINT_STATS = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
BOX_STATS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def _r(x: float, nd: int = 2) -> float:
    return round(float(x), nd) + 0.0


def to_coco_results(
    outputs: Sequence[dict[str, Any]],
    image_ids: Sequence[int],
    category_of_label: dict[int, int],
    score_threshold: float = 0.0,
) -> list[dict[str, Any]]:
    """Model outputs → COCO results (bbox xywh, score, keypoints [x, y, 1]*K, keypoint_scores).

    The third keypoint value is 1 ("predicted"; COCO evaluation ignores it); per-keypoint
    confidences are in ``keypoint_scores``.
    """
    results: list[dict[str, Any]] = []
    for out, image_id in zip(outputs, image_ids, strict=True):
        boxes = out["boxes"].tolist()
        scores = out["scores"].tolist()
        labels = out["labels"].tolist()
        kps = out["keypoints"].tolist()
        kp_scores = out["keypoints_scores"].tolist() if "keypoints_scores" in out else None
        for i, score in enumerate(scores):
            if score < score_threshold or labels[i] not in category_of_label:
                continue
            x0, y0, x1, y1 = boxes[i]
            flat: list[float] = []
            for x, y, _ in kps[i]:
                flat += [_r(x), _r(y), 1]
            res: dict[str, Any] = {
                "image_id": int(image_id),
                "category_id": category_of_label[labels[i]],
                "bbox": [_r(x0), _r(y0), _r(x1 - x0), _r(y1 - y0)],
                "score": _r(score, 5),
                "keypoints": flat,
            }
            if kp_scores is not None:
                res["keypoint_scores"] = [_r(s, 3) for s in kp_scores[i]]
            results.append(res)
    results.sort(key=lambda r: (r["image_id"], -r["score"], r["category_id"]))
    return results


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager[Any]:
    if dtype is None or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype)


@torch.inference_mode()
def predict_samples(
    model: torch.nn.Module,
    vds: ValidatedDataset,
    category_of_label: dict[int, int],
    dist: Dist,
    *,
    batch_size: int = 4,
    workers: int = 0,
    amp_dtype: torch.dtype | None = None,
) -> list[dict[str, Any]]:
    """Run the model over every image of ``vds`` (sharded over ranks); COCO results on every rank."""
    was_training = model.training
    model.eval()
    device = dist.device
    mine: list[dict[str, Any]] = []
    loader = inference_batches(vds.samples, batch_size, workers=workers,
                               world_size=dist.world_size, rank=dist.rank)
    for images, targets in loader:
        batch = [img.to(device, non_blocking=True).float().div_(255) for img in images]
        with autocast(device, amp_dtype):
            outputs = model(batch)
        outputs = [{k: v.float().cpu() for k, v in o.items()} for o in outputs]
        mine += to_coco_results(outputs, [int(t["image_id"]) for t in targets], category_of_label)
    model.train(was_training)
    results = [r for part in gather_objects(dist, mine) for r in part]
    results.sort(key=lambda r: (r["image_id"], -r["score"], r["category_id"]))
    return results


def ground_truth(vds: ValidatedDataset) -> dict[str, Any]:
    """The COCO document pycocotools evaluates against: trained categories, recomputed num_keypoints.

    ``num_keypoints`` is recounted from the visibilities (COCOeval ignores an instance whose
    count is 0, and a stale count would wrongly ignore or include one).
    """
    ds = vds.dataset
    ids = {c.category_id for c in vds.categories}
    anns = []
    for a in ds.annotations:
        if a.category_id not in ids:
            continue
        vis = a.keypoints[2::3]
        x, y, w, h = (float(v) for v in (a.bbox or [0, 0, 0, 0]))
        anns.append({
            "id": a.id, "image_id": a.image_id, "category_id": a.category_id,
            "bbox": [x, y, w, h], "area": float(a.area) if a.area is not None else w * h,
            "iscrowd": int(a.iscrowd or 0), "keypoints": [float(v) for v in a.keypoints],
            "num_keypoints": int(sum(1 for v in vis if v > 0)),
        })
    cats = [{"id": c.category_id, "name": c.name, "keypoints": list(c.keypoints)} for c in vds.categories]
    images = [{"id": i.id, "file_name": i.file_name, "width": i.width, "height": i.height} for i in ds.images]
    return {"images": images, "annotations": anns, "categories": cats}


def _stats(gt: Any, dt: Any, iou_type: str, cat_id: int, sigmas: Sequence[float] | None) -> np.ndarray:
    from pycocotools.cocoeval import COCOeval

    ev = COCOeval(gt, dt, iou_type)
    ev.params.catIds = [cat_id]
    if sigmas is not None:
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints; the library must not
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)


def _named(values: np.ndarray, names: list[str]) -> dict[str, float | None]:
    # COCO writes -1 where there is no ground truth for that area range: say "none" instead.
    return {n: (None if v < 0 else round(float(v), 6)) for n, v in zip(names, values, strict=True)}


def coco_metrics(
    gt_doc: dict[str, Any],
    results: list[dict[str, Any]],
    categories: Sequence[TrainCategory],
    specs: Sequence[CategorySpec],
) -> dict[str, Any]:
    """Keypoint and box AP/AR of ``results`` against ``gt_doc``, per category with its sigmas."""
    from pycocotools.coco import COCO

    out: dict[str, Any] = {"images": len(gt_doc["images"]), "detections": len(results),
                           "per_category": {}}
    if not results:
        zeros_kp = dict.fromkeys(KEYPOINT_STATS, 0.0)
        out.update(keypoints=zeros_kp, bbox=dict.fromkeys(BOX_STATS, 0.0), note="no detections")
        for c in categories:
            out["per_category"][c.name] = {"keypoints_AP": 0.0, "bbox_AP": 0.0}
        return out
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {k: list(v) for k, v in gt_doc.items()}
        gt.createIndex()
        dt = gt.loadRes([dict(r) for r in results])
    kp_all, box_all = [], []
    for cat, spec in zip(categories, specs, strict=True):
        kp = _stats(gt, dt, "keypoints", cat.category_id, spec.sigmas)
        box = _stats(gt, dt, "bbox", cat.category_id, None)
        kp_all.append(kp)
        box_all.append(box)
        out["per_category"][cat.name] = {"keypoints_AP": _named(kp, KEYPOINT_STATS)["AP"],
                                         "bbox_AP": _named(box, BOX_STATS)["AP"],
                                         "sigmas": list(spec.sigmas)}
    out["keypoints"] = _named(_mean_valid(kp_all), KEYPOINT_STATS)
    out["bbox"] = _named(_mean_valid(box_all), BOX_STATS)
    return out


def _mean_valid(rows: list[np.ndarray]) -> np.ndarray:
    arr = np.stack(rows)
    masked = np.where(arr < 0, np.nan, arr)
    with np.errstate(all="ignore"):
        mean = np.nanmean(masked, axis=0) if len(rows) > 1 else arr[0]
    return np.where(np.isnan(mean), -1.0, mean)


def category_map(train_categories: Sequence[TrainCategory], target: ValidatedDataset) -> dict[int, int]:
    """Model label → the target dataset's category id, matched by category name.

    Raises DataError when a category of the target dataset was not trained or has another K.
    """
    from ..errors import DataError

    by_name = {c.name: c for c in train_categories}
    out: dict[int, int] = {}
    for c in target.categories:
        mine = by_name.get(c.name)
        if mine is None:
            raise DataError(f"{target.source}: category {c.name!r} was not trained "
                            f"(the model knows {sorted(by_name)})")
        if len(mine.keypoints) != len(c.keypoints):
            raise DataError(f"{target.source}: category {c.name!r} has {len(c.keypoints)} keypoints, "
                            f"the model predicts {len(mine.keypoints)}")
        out[mine.label] = c.category_id
    return out


def evaluate_model(
    model: torch.nn.Module,
    train_categories: Sequence[TrainCategory],
    vds: ValidatedDataset,
    dist: Dist,
    *,
    batch_size: int = 4,
    workers: int = 0,
    amp_dtype: torch.dtype | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Predict on ``vds`` and compute COCO metrics (rank 0 computes; every rank gets the result)."""
    mapping = category_map(train_categories, vds)
    results = predict_samples(model, vds, mapping, dist, batch_size=batch_size, workers=workers,
                              amp_dtype=amp_dtype)
    metrics: dict[str, Any] | None = None
    if dist.is_main:
        metrics = coco_metrics(ground_truth(vds), results, vds.categories, vds.category_specs())
    metrics = broadcast_object(dist, metrics)
    if metrics is None:  # cannot happen: rank 0 always computes it
        raise RuntimeError("evaluation produced no metrics on rank 0")
    return metrics, results


def format_metrics(metrics: dict[str, Any]) -> str:
    """A short human summary: keypoint AP line, box AP line, per category when several."""
    def line(kind: str, names: list[str]) -> str:
        vals = metrics.get(kind, {})
        parts = [f"{n} {vals[n]:.3f}" if vals.get(n) is not None else f"{n} -" for n in names]
        return f"{kind:<9} " + "  ".join(parts)

    lines = [line("keypoints", KEYPOINT_STATS[:5]), line("bbox", BOX_STATS[:6])]
    per = metrics.get("per_category", {})
    if len(per) > 1:
        for name, vals in per.items():
            kp, bb = vals.get("keypoints_AP"), vals.get("bbox_AP")
            lines.append(f"  {name}: keypoints AP {kp if kp is None else f'{kp:.3f}'}, "
                         f"bbox AP {bb if bb is None else f'{bb:.3f}'}")
    lines.append(f"{metrics.get('images', 0)} image(s), {metrics.get('detections', 0)} detection(s)")
    if metrics.get("note"):
        lines.append(f"note: {metrics['note']}")
    return "\n".join(lines)


def evaluate_checkpoint(
    checkpoint: Any,
    dataset: Any,
    images: Any,
    *,
    device: str = "auto",
    batch_size: int = 4,
    spec: KeypointSpec | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """COCO metrics of a checkpoint on a dataset (validated with the training rules first).

    Sigmas and flip pairs come from the checkpoint's spec; ``spec`` overrides them for the
    categories it names. The dataset's categories are matched to the model's by name.
    """
    from pathlib import Path

    from ..errors import DataError
    from ..model import Dataset, load
    from .checkpoint import model_from_checkpoint
    from .data import validated
    from .distributed import resolve_device

    dev = resolve_device(device)
    loaded = model_from_checkpoint(Path(checkpoint), dev)
    source = str(dataset) if not isinstance(dataset, Dataset) else "<dataset>"
    ds = dataset if isinstance(dataset, Dataset) else load(dataset)
    present = {c.name for c in ds.categories}
    names = [c.name for c in loaded.categories if c.name in present]
    if not names:
        raise DataError(f"{source}: none of the model's categories "
                        f"({', '.join(c.name for c in loaded.categories)}) is in this dataset")
    chosen = []
    for name in names:
        mine = spec.category(name) if spec is not None else None
        chosen.append(mine or loaded.spec.category(name))
    eval_spec = KeypointSpec(categories=[c for c in chosen if c is not None])
    vds = validated(ds, images, spec=eval_spec, categories=names, source=source)
    single = Dist(1, 0, 0, dev, False)
    return evaluate_model(loaded.model, loaded.categories, vds, single, batch_size=batch_size)
