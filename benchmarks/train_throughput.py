"""Benchmark: images/s of ``kpconv train`` end to end vs a bare torchvision loop, same model and batch.

kpconv: the real command in a fresh process, reading JPEG files from disk, with its default
augmentations (flip with left/right swap, scale jitter, photometric jitter), its data loader
workers and its default precision (bfloat16 autocast on CUDA where supported). The rate is read
from ``metrics.jsonl`` after the warm-up steps (``images`` and ``time`` are cumulative).

Bare loop: ``keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None)`` (or kpconv's
builder for the lighter backbones), the same images decoded once and kept on the device as float
tensors, the same targets, SGD, float32 unless ``--bare-amp``; no data loading at all. Both leave
``torch.backends.cudnn.benchmark`` off (on, the keypoint head re-tunes for every new number of
ROIs and runs about 10x slower).

The data is generated in a temp folder: ``--images`` synthetic 640x480 JPEG scenes with 1-3
"persons" each (17 COCO keypoints, all inside their box).

    python benchmarks/train_throughput.py                      # GPU: batch 8, min size 800
    python benchmarks/train_throughput.py --device cpu --quick # tiny CPU smoke run

Goal (issue 7): kpconv >= 1.0x the bare fp32 loop end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kpconv.spec import COCO_PERSON_KEYPOINTS, COCO_PERSON_SKELETON  # noqa: E402


def generate(root: Path, n: int, width: int, height: int, seed: int = 0) -> Path:
    """``n`` JPEG scenes and their COCO person-keypoint file under ``root``; returns the JSON path."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(n):
        bg = rng.integers(0, 255, size=(height // 8, width // 8, 3), dtype=np.uint8)
        img = Image.fromarray(bg).resize((width, height), Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(rng.integers(width // 8, width // 3)), int(rng.integers(height // 4, height // 1.5))
            x0, y0 = int(rng.integers(0, width - bw)), int(rng.integers(0, height - bh))
            xs = rng.uniform(x0 + 2, x0 + bw - 2, 17)
            ys = np.sort(rng.uniform(y0 + 2, y0 + bh - 2, 17))
            for a, b in COCO_PERSON_SKELETON:
                draw.line([(xs[a - 1], ys[a - 1]), (xs[b - 1], ys[b - 1])], fill=(255, 255, 255), width=3)
            kps: list[float] = []
            for x, y in zip(xs, ys, strict=True):
                kps += [round(float(x), 1), round(float(y), 1), 2]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1,
                         "bbox": [x0, y0, bw, bh], "area": float(bw * bh), "iscrowd": 0,
                         "keypoints": kps, "num_keypoints": 17})
        name = f"{i + 1:06d}.jpg"
        img.save(root / "images" / name, quality=90)
        images.append({"id": i + 1, "file_name": name, "width": width, "height": height})
    cat = {"id": 1, "name": "person", "supercategory": "person", "keypoints": COCO_PERSON_KEYPOINTS,
           "skeleton": [list(p) for p in COCO_PERSON_SKELETON]}
    path = root / "train.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [cat]}))
    return path


def run_kpconv(args: argparse.Namespace, dataset: Path, root: Path) -> dict:
    """``kpconv train`` in a fresh process; images/s over the steps after the warm-up."""
    run = root / "run"
    cmd = [sys.executable, "-m", "kpconv", "train", str(dataset), "--images", str(root / "images"),
           "-o", str(run), "--preset", "coco-person", "--backbone", args.backbone,
           "--batch-size", str(args.batch_size), "--min-size", str(args.min_size),
           "--max-size", str(args.max_size), "--max-steps", str(args.warmup + args.steps),
           "--epochs", "1000", "--device", args.device, "--log-every", "10",
           "--keypoint-head", args.keypoint_head, "--box-batch-size", str(args.box_batch_size),
           "--amp", args.kpconv_amp]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if proc.returncode != 0:
        raise SystemExit(f"kpconv train failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in recs if r["type"] == "step"]
    data = next(r for r in recs if r["type"] == "data")
    a, b = steps[args.warmup - 1], steps[-1]
    return {"img_per_s": (b["images"] - a["images"]) / (b["time"] - a["time"]), "amp": data["amp"],
            "device": data["device"], "steps": len(steps) - args.warmup}


def run_bare(args: argparse.Namespace, dataset: Path, root: Path) -> dict:
    """The bare loop: pre-loaded tensors on the device, no loader, no augmentation."""
    import torch
    import torchvision

    from kpconv.train.model import ModelConfig, build_model

    torch.backends.cudnn.benchmark = False
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if args.device == "auto" else args.device))
    doc = json.loads(dataset.read_text())
    by_image: dict[int, list[dict]] = {}
    for a in doc["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    images, targets = [], []
    for img in doc["images"]:
        arr = np.asarray(Image.open(root / "images" / img["file_name"]).convert("RGB"))
        images.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div(255).to(dev))
        anns = by_image[img["id"]]
        boxes = [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns]
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32, device=dev),
                        "labels": torch.ones(len(anns), dtype=torch.int64, device=dev),
                        "keypoints": torch.tensor([a["keypoints"] for a in anns], dtype=torch.float32,
                                                  device=dev).reshape(len(anns), 17, 3)})
    head = tuple(int(args.keypoint_head.split("x")[0]) for _ in range(int(args.keypoint_head.split("x")[1])))
    if args.backbone == "resnet50" and head == (512,) * 8:
        model = torchvision.models.detection.keypointrcnn_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=2, num_keypoints=17,
            min_size=args.min_size, max_size=args.max_size,
            box_batch_size_per_image=args.box_batch_size)
    else:
        model = build_model(ModelConfig(args.backbone, 2, 17, (args.min_size,), args.max_size,
                                        keypoint_head=head, box_batch_size=args.box_batch_size))
    model.to(dev).train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.005, momentum=0.9,
                          weight_decay=1e-4)
    amp = {"off": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.bare_amp]
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    bs = args.batch_size

    def step(i: int) -> None:
        idx = [(i * bs + j) % len(images) for j in range(bs)]
        ctx = torch.autocast(dev.type, dtype=amp) if amp is not None and dev.type == "cuda" else _null()
        with ctx:
            losses = model([images[k] for k in idx], [targets[k] for k in idx])
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    for i in range(args.warmup):
        step(i)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    return {"img_per_s": args.steps * bs / dt, "amp": args.bare_amp, "device": str(dev),
            "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "-",
            "torch": torch.__version__}


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto, cuda, cpu")
    p.add_argument("--images", type=int, default=64, help="synthetic JPEGs to generate")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--min-size", type=int, default=800)
    p.add_argument("--max-size", type=int, default=1333)
    p.add_argument("--backbone", default="resnet50", choices=["resnet50", "resnet18", "mobilenet_v3_large"])
    p.add_argument("--keypoint-head", default="512x8", help="CxL, as kpconv train --keypoint-head")
    p.add_argument("--box-batch-size", type=int, default=512, help="ROIs sampled per image (both sides)")
    p.add_argument("--steps", type=int, default=40, help="timed steps (after the warm-up)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--workers", type=int, default=None, help="kpconv loader workers (default: its own)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (both sides)")
    p.add_argument("--kpconv-amp", default="auto", choices=["auto", "on", "off"])
    p.add_argument("--bare-amp", default="off", choices=["off", "bfloat16", "float16"])
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke scale for CPU: 8 images 160x120, batch 2, ResNet-18, min size 128, "
                        "keypoint head 32x2, 64 ROIs, 3+1 steps")
    args = p.parse_args()
    if args.quick:
        args.images, args.width, args.height, args.batch_size = 8, 160, 120, 2
        args.min_size, args.max_size, args.backbone, args.keypoint_head = 128, 160, "resnet18", "32x2"
        args.steps, args.warmup, args.threads, args.box_batch_size = 3, 1, args.threads or 2, 64
    with tempfile.TemporaryDirectory(prefix="kpconv-bench-train-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        dataset = generate(root, args.images, args.width, args.height)
        print(f"data: {args.images} JPEG {args.width}x{args.height} in {time.perf_counter() - t:.1f}s; "
              f"batch {args.batch_size}, min size {args.min_size}, {args.backbone} "
              f"(keypoint head {args.keypoint_head}), {args.warmup} warm-up + {args.steps} timed steps")
        bare = run_bare(args, dataset, root)
        kp = run_kpconv(args, dataset, root)
    print(f"device: {bare['device']} ({bare['gpu']}), torch {bare['torch']}")
    print(f"bare torchvision loop (pre-loaded tensors, amp {bare['amp']}): {bare['img_per_s']:.2f} img/s")
    print(f"kpconv train end to end (JPEGs, augmentations, amp {kp['amp']}): {kp['img_per_s']:.2f} img/s")
    ratio = kp["img_per_s"] / bare["img_per_s"]
    print(f"ratio kpconv / bare: {ratio:.2f}x (goal >= 1.0x on the GPU)")


if __name__ == "__main__":
    main()
