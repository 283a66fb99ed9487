"""Predictions back into the tools (kpconv.convert.predictions and the writers' --dataset)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from kpconv.convert.predictions import PredictionOptions, dataset_from_results
from tests.conftest import FIXTURES

TRAIN = FIXTURES / "train" / "train.json"


def _dataset() -> dict:
    return orjson.loads(TRAIN.read_bytes())


def _results(doc: dict) -> list[dict]:
    """What kpconv predict writes for a model that found every annotation: v=1 ("predicted"),
    a score per result and per point; the last point of each scored low."""
    out = []
    for i, ann in enumerate(doc["annotations"]):
        kps = list(ann["keypoints"])
        k = len(kps) // 3
        flat = []
        for j in range(k):
            flat += [float(kps[3 * j]) + 0.25, float(kps[3 * j + 1]) - 0.25, 1]
        out.append({
            "image_id": ann["image_id"], "category_id": ann["category_id"], "bbox": ann["bbox"],
            "score": 0.9 - 0.05 * i, "keypoints": flat, "keypoint_scores": [0.8] * (k - 1) + [0.1],
        })  # fmt: skip
    return out


def test_predictions_become_visible_points_of_the_datasets_images() -> None:
    doc = _dataset()
    results = _results(doc)
    out, notes = dataset_from_results(results, doc, PredictionOptions(score_threshold=0.6, keypoint_threshold=0.5))
    assert out is not None
    assert out["images"] == doc["images"] and out["categories"] == doc["categories"]
    kept = [r for r in results if r["score"] >= 0.6]
    assert 0 < len(out["annotations"]) == len(kept) < len(results)
    first = out["annotations"][0]
    assert first["id"] == 1 and first["keypoints"][:3] == [40.25, 29.75, 2]
    assert first["keypoints"][-3:] == [0, 0, 0]  # its point scored 0.1 < 0.5
    assert first["num_keypoints"] == len(first["keypoints"]) // 3 - 1
    codes = {f.code: f.message for f in notes}
    assert f"{len(kept)} of {len(results)}" in codes["predictions.kept"]
    assert codes["predictions.low_score"].startswith(f"{len(results) - len(kept)} prediction(s)")
    assert codes["predictions.point_low_score"].startswith(f"{len(kept)} predicted point(s)")


def test_points_outside_the_image_are_left_for_the_labeller() -> None:
    doc = _dataset()
    results = _results(doc)[:1]
    results[0]["keypoints"][0] = 10_000.0
    out, notes = dataset_from_results(results, doc)
    assert out is not None and out["annotations"][0]["keypoints"][:3] == [0, 0, 0]
    assert any(f.code == "predictions.point_outside_image" for f in notes)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"image_id": 999}, "/0/image_id"),
        ({"category_id": 7}, "/0/category_id"),
        ({"keypoints": [1, 2, 1]}, "/0/keypoints"),
        ({"score": "high"}, "/0/score"),
        ({"bbox": [0, 0, -1, 3]}, "/0/bbox"),
        ({"keypoint_scores": [0.1]}, "/0/keypoint_scores"),
    ],
)
def test_a_bad_result_is_a_located_error_and_nothing_is_made(change: dict, where: str) -> None:
    doc = _dataset()
    results = _results(doc)[:2]
    results[0].update(change)
    out, findings = dataset_from_results(results, doc, source="r.json")
    assert out is None
    (bad,) = findings
    assert bad.code == "predictions.bad_result" and bad.source == f"r.json:{where}"


def test_not_a_results_list() -> None:
    out, (bad,) = dataset_from_results({"annotations": []}, _dataset())
    assert out is None and bad.code == "predictions.not_results"


@pytest.mark.parametrize("command", ["to-cvat", "to-labelme"])
def test_writers_take_predictions_and_the_tool_reads_them_back(command: str, tmp_path: Path, run_cli) -> None:
    doc = _dataset()
    results = tmp_path / "results.json"
    results.write_bytes(orjson.dumps(_results(doc)))
    out = tmp_path / ("pre.xml" if command == "to-cvat" else "pre")
    res = run_cli(command, results, "--dataset", TRAIN, "--score-threshold", "0.6",
                  "--keypoint-threshold", "0.5", "-o", out, "--format", "json")  # fmt: skip
    assert res.exit_code == 0, res.stdout + res.stderr
    report = orjson.loads(res.stdout)
    assert any(i["code"] == "predictions.kept" for i in report["issues"])
    back = tmp_path / "back.json"
    if command == "to-cvat":
        res = run_cli("from-cvat", out, "-o", back)
    else:
        res = run_cli("from-labelme", out, "--spec", FIXTURES / "train" / "spec.yaml", "-o", back)
    assert res.exit_code == 0, res.stderr
    anns = orjson.loads(back.read_bytes())["annotations"]
    expected = [r for r in _results(doc) if r["score"] >= 0.6]
    assert len(anns) == len(expected)
    assert {tuple(a["keypoints"][:2]) for a in anns} == {(r["keypoints"][0], r["keypoints"][1]) for r in expected}
    assert all(a["keypoints"][-1] == 0 for a in anns)  # the low-scored last point stays for the labeller


def test_a_bad_results_file_writes_nothing(tmp_path: Path, run_cli) -> None:
    results = tmp_path / "results.json"
    results.write_bytes(orjson.dumps([{"image_id": 1}]))
    out = tmp_path / "pre.xml"
    res = run_cli("to-cvat", results, "--dataset", TRAIN, "-o", out)
    assert res.exit_code == 1 and not out.exists()
    assert "results.json:/0/category_id" in res.stderr and "nothing written" in res.stderr
