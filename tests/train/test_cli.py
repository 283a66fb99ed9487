"""``kpconv train / evaluate / predict`` end to end on the 5-keypoint fixture (CPU, tiny model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import invoke_cli

pytestmark = pytest.mark.train
torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]


def kpconv(*args: str | Path) -> tuple[int, str, str]:
    """Run ``kpconv ARGS`` in-process; (exit code, stdout, stderr)."""
    res = invoke_cli(*args)
    return res.exit_code, res.stdout, res.stderr


def records(run: Path, kind: str) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


@pytest.fixture(scope="module")
def trained(tf, tmp_path_factory):
    """One tiny run of 2 steps with validation, shared by the tests that only read it."""
    old = torch.get_num_threads()
    run = tmp_path_factory.mktemp("train") / "run"
    code, out, err = kpconv("train", tf.train_json, "--images", tf.images, "-o", run, "--spec", tf.spec,
                            "--val", tf.train_json, "--max-steps", "2", *tf.tiny)
    torch.set_num_threads(old)
    assert code == 0, err
    return run, err


@pytest.mark.slow
def test_train_writes_checkpoints_metrics_and_plot(trained):
    run, err = trained
    for name in ("last.pt", "best.pt", "metrics.jsonl", "curves.png", "config.json"):
        assert (run / name).is_file(), name
    ckpt = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert {"model", "optimizer", "lr_scheduler", "epoch", "step", "config", "spec", "categories"} <= set(ckpt)
    assert ckpt["step"] == 2 and ckpt["epoch"] == 0
    assert ckpt["categories"] == [{"label": 1, "id": 1, "name": "critter",
                                   "keypoints": ["head", "left_hand", "right_hand", "left_foot", "right_foot"]}]
    assert ckpt["spec"]["categories"][0]["sigmas"] == [0.05, 0.08, 0.08, 0.09, 0.09]
    assert ckpt["model_config"]["num_keypoints"] == 5 and ckpt["model_config"]["num_classes"] == 2
    data = records(run, "data")[0]
    assert data["train"]["annotations_skipped"] == {"crowd": 1, "unusable_keypoints": 0, "missing_box": 0, "degenerate_box": 0}
    assert data["flip"] == "on"
    steps = records(run, "step")
    assert [r["step"] for r in steps] == [1, 2]
    assert all(r["loss"] > 0 and r["images"] > 0 and "loss_keypoint" in r["losses"] for r in steps)
    epoch = records(run, "epoch")[0]
    assert "AP" in epoch["val"]["keypoints"]
    # the skips are in the log too, never silent
    assert "crowd annotation (iscrowd 1): 1" in err and "(1 as boxes only: no visible keypoint)" in err
    assert "flip pairs (explicit): left_hand<->right_hand" in err
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_resume_continues_from_the_saved_step(trained, tf, tmp_path, torch_threads):
    run, _ = trained
    more = tmp_path / "more"
    code, _, err = kpconv("train", tf.train_json, "--images", tf.images, "-o", more,
                          "--resume", run / "last.pt", "--max-steps", "3", "--threads", "2")
    assert code == 0, err
    assert "resuming" in err and "at step 2" in err
    assert [r["step"] for r in records(more, "step")] == [3]  # steps 1-2 were not redone
    ckpt = torch.load(more / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 3
    # options not given again come from the checkpoint: the tiny model, the spec's sigmas
    assert ckpt["config"]["backbone"] == "resnet18" and ckpt["config"]["keypoint_head"] == [32, 32]
    assert ckpt["config"]["max_steps"] == 3
    saved = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["lr_scheduler"]["last_epoch"] == saved["lr_scheduler"]["last_epoch"] + 1


@pytest.mark.slow
def test_resume_in_place_and_run_dir_protection(tf, tmp_path, torch_threads):
    run = tmp_path / "run"
    args = ["train", tf.train_json, "--images", tf.images, "-o", run, "--max-steps", "1", *tf.tiny]
    assert kpconv(*args)[0] == 0
    code, _, err = kpconv(*args)
    assert code == 2 and "already holds a run" in err and "--resume" in err
    code, _, err = kpconv("train", tf.train_json, "--images", tf.images, "-o", run, "--resume",
                          "--max-steps", "2", "--threads", "2")
    assert code == 0, err
    assert [r["step"] for r in records(run, "step")] == [1, 2]
    # no --val: best.pt follows the training loss
    assert torch.load(run / "best.pt", map_location="cpu", weights_only=True)["best"]["metric"] == "train loss"


def test_invalid_dataset_is_refused_and_nothing_trained(tf, tmp_path):
    run = tmp_path / "run"
    code, _, err = kpconv("train", tf.invalid_json, "--images", tf.images, "-o", run, *tf.tiny)
    assert code == 1
    assert "keypoints.length" in err and "area.missing" in err
    assert "failed validation for training" in err
    assert not (run / "last.pt").exists() and not (run / "metrics.jsonl").exists()


def test_weights_default_is_refused(tf, tmp_path):
    code, _, err = kpconv("train", tf.train_json, "--images", tf.images, "-o", tmp_path / "r",
                          "--weights", "DEFAULT", *tf.tiny)
    assert code == 2
    assert "never downloads" in err and "https://download.pytorch.org/models/" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_evaluate_reports_keypoint_ap_for_k5(trained, tf, tmp_path, torch_threads):
    run, _ = trained
    out = tmp_path / "metrics.json"
    preds = tmp_path / "preds.json"
    code, stdout, err = kpconv("evaluate", run / "best.pt", tf.train_json, "--images", tf.images,
                               "-o", out, "--predictions", preds, "--threads", "2")
    assert code == 0, err
    assert stdout.startswith("keypoints AP ")
    doc = json.loads(out.read_text())
    assert 0.0 <= doc["keypoints"]["AP"] <= 1.0 and 0.0 <= doc["bbox"]["AP"] <= 1.0
    assert doc["per_category"]["critter"]["sigmas"] == [0.05, 0.08, 0.08, 0.09, 0.09]
    assert doc["images"] == 8
    results = json.loads(preds.read_text())
    assert all(len(r["keypoints"]) == 15 for r in results)
    # a run folder means its best.pt; --format json is machine-readable
    code, stdout, _ = kpconv("evaluate", run, tf.train_json, "--images", tf.images, "--format", "json",
                             "--threads", "2")
    assert code == 0 and json.loads(stdout)["keypoints"] == doc["keypoints"]


def test_evaluate_refuses_an_invalid_dataset(trained, tf):
    run, _ = trained
    code, _, err = kpconv("evaluate", run / "best.pt", tf.invalid_json, "--images", tf.images)
    assert code == 1 and "keypoints.length" in err


@pytest.mark.slow
def test_predict_writes_coco_results(trained, tf, tmp_path, torch_threads):
    run, _ = trained
    out = tmp_path / "results.json"
    code, _, err = kpconv("predict", run / "best.pt", tf.images / "c00.png", tf.images / "c01.png",
                          "-o", out, "--score-threshold", "0", "--threads", "2")
    assert code == 0, err
    res = json.loads(out.read_text())
    assert {r["image_id"] for r in res} <= {1, 2}
    assert {r["file_name"] for r in res} <= {str(tf.images / "c00.png"), str(tf.images / "c01.png")}
    assert all(r["category_id"] == 1 and len(r["keypoints"]) == 15 and len(r["bbox"]) == 4 for r in res)
    # with --dataset the ids are the dataset's, matched by file name
    code, _, err = kpconv("predict", run / "best.pt", tf.images / "c06.png", "-o", out,
                          "--dataset", tf.train_json, "--images", tf.images, "--score-threshold", "0",
                          "--threads", "2")
    assert code == 0, err
    res = json.loads(out.read_text())
    assert {r["image_id"] for r in res} <= {7} and all("file_name" not in r for r in res)


@pytest.mark.slow
def test_predict_render(trained, tf, tmp_path, torch_threads):
    pytest.importorskip("kpconv.visualize")
    run, _ = trained
    code, _, err = kpconv("predict", run / "best.pt", tf.images, "-o", tmp_path / "r.json",
                          "--render", tmp_path / "drawn", "--render-threshold", "0", "--threads", "2")
    assert code == 0, err
    drawn = sorted(p.name for p in (tmp_path / "drawn").iterdir())
    assert drawn == [f"c0{i}.png" for i in range(8)]


def test_predict_unknown_image_in_dataset_is_refused(trained, tf, tmp_path):
    run, _ = trained
    other = tmp_path / "zzz.png"
    other.write_bytes((tf.images / "c00.png").read_bytes())
    code, _, err = kpconv("predict", run / "best.pt", other, "-o", tmp_path / "r.json",
                          "--dataset", tf.train_json)
    assert code == 1 and "no unique images entry" in err


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)


def test_help_does_not_import_torch():
    proc = _python(
        "import sys\n"
        "from kpconv.cli import main\n"
        "for args in (['--help'], ['train', '--help'], ['evaluate', '--help'], ['predict', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "print('torch' in sys.modules)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("False")


def test_missing_train_extra_says_how_to_install(tf, tmp_path):
    proc = _python(
        "import sys\n"
        "sys.modules['torch'] = None  # as if torch were not installed\n"
        "from kpconv.cli import main\n"
        f"main(['train', {str(tf.train_json)!r}, '--images', {str(tf.images)!r}, '-o', {str(tmp_path / 'r')!r}])\n"
    )
    assert proc.returncode == 2
    assert "pip install 'kpconv[train]'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_weights_from_a_local_checkpoint(trained, tf, tmp_path, torch_threads):
    run, _ = trained
    code, _, err = kpconv("train", tf.train_json, "--images", tf.images, "-o", tmp_path / "ft",
                          "--weights", run / "last.pt", "--max-steps", "1", *tf.tiny)
    assert code == 0, err
    assert "(full model): loaded" in err
    ckpt = torch.load(tmp_path / "ft" / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["model_config"]["frozen_norm"] is True  # fine-tuning setup: frozen BatchNorm


def test_undecodable_image_in_a_loader_worker_is_one_clean_line(tf, tmp_path, torch_threads):
    import shutil

    images = tmp_path / "images"
    shutil.copytree(tf.images, images)
    data = (images / "c03.jpg").read_bytes()
    (images / "c03.jpg").write_bytes(data[: len(data) // 3])  # header intact, body truncated
    code, _, err = kpconv("train", tf.train_json, "--images", images, "-o", tmp_path / "r",
                          "--max-steps", "4", *tf.tiny, "--workers", "1", "--batch-size", "8")
    assert code == 1, err
    assert "c03.jpg: cannot decode image" in err
    assert "Traceback" not in err and "DataLoader worker" not in err


@pytest.mark.slow
def test_same_seed_same_run_and_same_predictions(tf, tmp_path, torch_threads):
    losses = []
    for name in ("a", "b"):
        code, _, err = kpconv("train", tf.train_json, "--images", tf.images, "-o", tmp_path / name,
                              "--max-steps", "2", "--seed", "3", *tf.tiny)
        assert code == 0, err
        losses.append([(r["loss"], r["losses"]) for r in records(tmp_path / name, "step")])
    assert losses[0] == losses[1]
    outs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        assert kpconv("predict", tmp_path / name / "last.pt", tf.images / "c02.png", "-o", out,
                      "--threads", "2")[0] == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
