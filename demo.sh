#!/usr/bin/env bash
# The main job on the bundled fixtures: convert (LabelMe, CVAT, CSV) -> validate -> visualize
# -> train a few steps on the CPU with the small backbone -> evaluate -> predict.
# Usage: bash demo.sh [OUT_DIR]   (kpconv must be on PATH; default OUT_DIR: demo-out)
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-demo-out}
mkdir -p "$OUT"
step() { printf '\n==> %s\n' "$*"; }

step "convert: LabelMe, CVAT and DeepLabCut CSV fixtures to COCO keypoints"
kpconv from-labelme fixtures/labelme/demo --spec fixtures/labelme/person.yaml -o "$OUT/labelme.json"
kpconv from-cvat fixtures/cvat/skeleton.xml -o "$OUT/cvat.json"
kpconv from-csv fixtures/csv/dlc-project/labeled-data/mouse1/CollectedData_kp.csv -o "$OUT/dlc.json"

step "validate: every output passes; the images are checked too"
kpconv validate "$OUT/labelme.json" --images fixtures/labelme/demo
kpconv validate "$OUT/cvat.json"
kpconv validate fixtures/train/train.json --images fixtures/train/images --for-training

step "visualize: renders, a contact sheet and the summary figure"
kpconv visualize "$OUT/labelme.json" --images fixtures/labelme/demo -o "$OUT/vis" --grid 4

step "train: a few steps of Keypoint R-CNN (ResNet-18 FPN, 128 px) on a 5-keypoint fixture"
kpconv train fixtures/train/train.json --images fixtures/train/images -o "$OUT/run" \
    --spec fixtures/train/spec.yaml --backbone resnet18 --min-size 128 --max-size 128 \
    --keypoint-head 64x4 --max-steps 3 --batch-size 2 --seed 0

step "evaluate and predict with the checkpoint"
kpconv evaluate "$OUT/run/last.pt" fixtures/train/train.json --images fixtures/train/images
kpconv predict "$OUT/run/last.pt" fixtures/train/images/c00.png fixtures/train/images/c01.png \
    -o "$OUT/predictions.json"

step "done: outputs in $OUT/"
