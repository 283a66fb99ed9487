"""``kpconv from-labelstudio`` / ``kpconv to-labelstudio`` end to end: exit codes, reports, files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, invoke_cli, realdata_file

LS = FIXTURES / "labelstudio"
CONFIG = LS / "label_config.xml"
TRAIN = FIXTURES / "train" / "train.json"


def test_fixture_exits_0_and_writes_the_golden_file(tmp_path: Path) -> None:
    out = tmp_path / "coco.json"
    res = invoke_cli(
        "from-labelstudio",
        LS / "export.json",
        "--config",
        CONFIG,
        "--visibility-attribute",
        "visibility",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.stderr
    assert out.read_bytes() == (LS / "expected" / "export.json").read_bytes()
    assert "labelstudio.several_annotations" in res.stderr and f"wrote {out}" in res.stderr


def test_json_report_names_the_format_facts(tmp_path: Path) -> None:
    res = invoke_cli(
        "from-labelstudio",
        LS / "export.json",
        "-o",
        tmp_path / "c.json",
        "--format",
        "json",
        "--source",
        "predictions",
    )
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["summary"]["labelstudio"]["source"] == "predictions"
    assert report["summary"]["labelstudio"]["keypoint_order"] == "first appearance"
    assert report["spec"]["categories"][0]["name"] == "person"


def test_real_export(tmp_path: Path) -> None:
    data = "label-studio-sdk/tests/custom/converter/data/test_export_yolo"
    export, config = (
        realdata_file(f"{data}/data_keypoints.json"),
        realdata_file(f"{data}/label_config_keypoints.xml"),
    )
    res = invoke_cli("from-labelstudio", export, "--config", config, "-o", tmp_path / "c.json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads((tmp_path / "c.json").read_text())
    assert (
        len(doc["categories"][0]["keypoints"]) == 17 and doc["annotations"][0]["num_keypoints"] == 3
    )


def test_bad_regions_exit_1_with_located_findings_and_no_traceback(tmp_path: Path) -> None:
    tasks = json.loads((LS / "export.json").read_text())
    tasks[0]["annotations"][0]["result"][1]["value"]["x"] = 130.0
    tasks[0]["annotations"][0]["result"][2].pop("original_width")
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    res = invoke_cli("from-labelstudio", tmp_path / "export.json", "-o", tmp_path / "c.json")
    assert res.exit_code == 1
    assert "export.json:task[0]/annotations[0]/result[1]/value/x" in res.stderr
    assert "export.json:task[0]/annotations[0]/result[2]/original_width" in res.stderr
    assert "Traceback" not in res.stderr


def test_strict_writes_nothing_on_errors(tmp_path: Path) -> None:
    tasks = json.loads((LS / "export.json").read_text())
    tasks[0]["annotations"][0]["result"][6]["parentID"] = "nowhere"
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    res = invoke_cli(
        "from-labelstudio", tmp_path / "export.json", "-o", tmp_path / "c.json", "--strict"
    )
    assert res.exit_code == 1 and "labelstudio.parent_missing" in res.stderr
    assert not (tmp_path / "c.json").exists()


def test_not_an_export_exits_1_with_one_line(tmp_path: Path) -> None:
    for content, message in (
        ("{}", "expected a Label Studio export"),
        ("[]", "holds no tasks"),
        ("[1", "not valid JSON"),
    ):
        (tmp_path / "e.json").write_text(content)
        res = invoke_cli("from-labelstudio", tmp_path / "e.json", "-o", tmp_path / "c.json")
        assert res.exit_code == 1 and message in res.stderr and "Traceback" not in res.stderr
        assert not (tmp_path / "c.json").exists()


def test_json_min_without_ids_is_refused(tmp_path: Path) -> None:
    res = invoke_cli(
        "from-labelstudio",
        LS / "export_min_noids.json",
        "-o",
        tmp_path / "c.json",
        "--format",
        "json",
    )
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["issues"][0]["code"] == "labelstudio.min_without_ids"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert (
        invoke_cli(
            "from-labelstudio", tmp_path / "missing.json", "-o", tmp_path / "c.json"
        ).exit_code
        == 2
    )
    res = invoke_cli(
        "from-labelstudio",
        LS / "export.json",
        "--config",
        tmp_path / "none.xml",
        "-o",
        tmp_path / "c.json",
    )
    assert res.exit_code == 2
    res = invoke_cli("from-labelstudio", LS / "export.json", "-o", LS / "export.json")
    assert res.exit_code == 2  # never over the input
    assert (
        invoke_cli("to-labelstudio", TRAIN, "-o", "-").exit_code == 2
    )  # stdout needs --config-out


def test_to_labelstudio_writes_tasks_and_config_and_reads_back(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.json"
    res = invoke_cli(
        "to-labelstudio", TRAIN, "-o", tasks, "--as", "annotations", "--visibility-attribute", "vis"
    )
    assert res.exit_code == 0, res.stderr
    config = tmp_path / "tasks.label_config.xml"
    assert config.exists() and "model_index" in config.read_text()
    assert f"wrote {tasks}" in res.stderr
    back = tmp_path / "back.json"
    res = invoke_cli(
        "from-labelstudio", tasks, "--config", config, "--visibility-attribute", "vis", "-o", back
    )
    assert res.exit_code == 0, res.stderr
    before, after = json.loads(TRAIN.read_text()), json.loads(back.read_text())
    assert [i["file_name"] for i in after["images"]] == sorted(
        i["file_name"] for i in before["images"]
    )
    # every annotation comes back, the box-only one (no labelled keypoint) from its rectangle
    assert len(after["annotations"]) == len([a for a in before["annotations"] if not a.get("iscrowd")])
    assert sum(a["num_keypoints"] == 0 for a in after["annotations"]) == sum(
        not any(a["keypoints"][2::3]) for a in before["annotations"] if not a.get("iscrowd")
    )


def test_to_labelstudio_refuses_a_dataset_that_does_not_validate(tmp_path: Path) -> None:
    res = invoke_cli(
        "to-labelstudio",
        FIXTURES / "visualize" / "dataset.json",
        "-o",
        tmp_path / "t.json",
        "--format",
        "json",
    )
    assert res.exit_code == 1
    assert json.loads(res.stdout)["output"] is None
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "t.label_config.xml").exists()


def test_to_labelstudio_stdout_with_config_out(tmp_path: Path) -> None:
    res = invoke_cli("to-labelstudio", TRAIN, "-o", "-", "--config-out", tmp_path / "c.xml")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "c.xml").exists()


def test_predictions_back_as_pre_annotations_with_their_scores(tmp_path: Path) -> None:
    doc = json.loads(TRAIN.read_text())
    results = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9 - 0.1 * i,
         "keypoints": [v if j % 3 != 2 else 1 for j, v in enumerate(a["keypoints"])]}
        for i, a in enumerate(doc["annotations"][:3])
    ]  # fmt: skip
    (tmp_path / "results.json").write_text(json.dumps(results))
    tasks = tmp_path / "tasks.json"
    res = invoke_cli(
        "to-labelstudio",
        tmp_path / "results.json",
        "--dataset",
        TRAIN,
        "--score-threshold",
        "0.75",
        "-o",
        tasks,
    )
    assert res.exit_code == 0, res.stderr
    written = json.loads(tasks.read_text())
    preds = [p for t in written for p in t["predictions"] if p["result"]]
    scores = sorted({r["score"] for p in preds for r in p["result"]})
    assert scores == [0.8, 0.9]  # 0.7 is below the threshold
    assert all(0.8 <= p["score"] <= 0.9 for p in preds)
    back = tmp_path / "back.json"
    res = invoke_cli(
        "from-labelstudio",
        tasks,
        "--config",
        tmp_path / "tasks.label_config.xml",
        "--source",
        "predictions",
        "-o",
        back,
    )
    assert res.exit_code == 0, res.stderr
    assert len(json.loads(back.read_text())["annotations"]) == 2
