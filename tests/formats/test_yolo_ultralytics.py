"""The real client: Ultralytics' own dataset code reads what ``to-yolo`` writes, and kpconv reads
what Ultralytics reads.

Needs ``pip install 'kpconv[yolo-check]'`` (ultralytics; not in the CI lock: it pulls opencv-python,
which clashes with the opencv-python-headless kpconv uses); skipped when it is not importable.
Nothing is downloaded: no weights, no fonts (``YOLO_OFFLINE``), the model is built from its YAML.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kpconv.formats.yolo import WriteOptions, load_data_file, write
from kpconv.formats.yolo.checks import DATA_CHECKS
from kpconv.model import load
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
TRAIN = FIXTURES / "train"


@pytest.fixture(scope="module")
def ultralytics():
    os.environ.setdefault("YOLO_OFFLINE", "1")
    return pytest.importorskip("ultralytics")


def test_yolo_dataset_reads_the_same_instances(ultralytics, tmp_path: Path) -> None:
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import img2label_paths, verify_image_label

    doc = load(TRAIN / "train.json").to_document()
    report = write(
        doc, TRAIN / "images", tmp_path / "yolo", WriteOptions(val_fraction=0.25, seed=1)
    )
    assert report.ok
    import yaml

    data = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())
    nkpt, ndim = data["kpt_shape"]
    by_name = {im["file_name"]: im for im in doc["images"]}
    for split in ("train", "val"):
        folder = tmp_path / "yolo" / "images" / split
        dataset = YOLODataset(img_path=str(folder), data={**data, "channels": 3}, task="pose", augment=False,
                              imgsz=128, cache=False)  # fmt: skip
        assert len(dataset.labels) == len(list(folder.iterdir()))
        for label in dataset.labels:
            name = Path(label["im_file"]).name
            image = by_name[name]
            w, h = image["width"], image["height"]
            assert label["shape"] == (h, w)
            anns = [
                a
                for a in doc["annotations"]
                if a["image_id"] == image["id"] and not a.get("iscrowd")
            ]
            assert len(label["cls"]) == len(anns)
            kps = np.asarray(label["keypoints"], dtype=np.float64)  # (n, K, 3), normalised
            for ann, got in zip(anns, kps, strict=True):
                want = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
                seen = want[:, 2] > 0
                assert (got[:, 2] == want[:, 2]).all()
                assert (
                    np.abs(got[seen, 0] * w - want[seen, 0]).max(initial=0) < 1e-3
                )  # float32 in Ultralytics
                assert np.abs(got[seen, 1] * h - want[seen, 1]).max(initial=0) < 1e-3
        # and the function behind it, one pair at a time: nothing corrupt, no message
        for im_file in dataset.im_files:
            (lb_file,) = img2label_paths([im_file])
            out = verify_image_label(
                (im_file, lb_file, "", True, len(data["names"]), nkpt, ndim, False)
            )
            assert out[8] == 0 and out[9] == "", out[9]  # nc (corrupt) and msg


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("coco8-pose", set()),
        ("coco-pose", set()),
        ("hand-keypoints", set()),
        (
            "tiger-pose",
            {"yolo.flip_idx_names"},
        ),  # an identity flip_idx although the names say left/right
        ("dog-pose", {"yolo.flip_idx_missing"}),  # no flip_idx at all: fliplr silently off
    ],
)
def test_ultralytics_own_data_yaml_files(ultralytics, name: str, codes: set[str]) -> None:
    """The data.yaml variants Ultralytics ships, through kpconv's reader and flip rules."""
    from ultralytics.utils import ROOT

    cfg = ROOT / "cfg" / "datasets" / f"{name}.yaml"
    if not cfg.is_file():
        pytest.skip(f"{cfg.name} is not in this ultralytics version")
    data = load_data_file(cfg)
    for check in DATA_CHECKS:
        check(data)
    assert data.kpt_shape is not None and data.names and data.kpt_names
    # their `path:` names a folder under Ultralytics' datasets_dir, not downloaded here
    assert {f.code for f in data.findings} - {"yolo.path"} == codes


def test_one_epoch_of_a_yaml_defined_pose_model_trains_on_cpu(ultralytics, tmp_path: Path) -> None:
    """The documented command (docs/readme/yolo.md) on the to-yolo output of the training fixture."""
    from ultralytics import YOLO

    report = write(load(TRAIN / "train.json").to_document(), TRAIN / "images", tmp_path / "yolo",
                   WriteOptions(val_fraction=0.25, seed=1))  # fmt: skip
    assert report.ok
    model = YOLO("yolo11n-pose.yaml")  # built from its YAML: no weights downloaded
    model.train(data=str(tmp_path / "yolo" / "data.yaml"), epochs=1, imgsz=128, batch=4, device="cpu", workers=0,
                pretrained=False, amp=False, plots=False, val=False, project=str(tmp_path / "runs"), name="t",
                verbose=False)  # fmt: skip
    assert (tmp_path / "runs" / "t" / "weights" / "last.pt").is_file()
