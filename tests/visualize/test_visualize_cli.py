"""``kpconv visualize`` end to end on the bundled fixture: golden images, selection, --issues, bad input.

Golden-image tolerance: a render matches its stored PNG when the mean absolute difference over all
pixels and channels is below 1.0 grey level AND at most 0.5 % of the pixels differ by more than 32
in any channel. On the same OpenCV build renders are byte-identical (tested separately); the
tolerance only absorbs other OpenCV versions moving anti-aliased edges and Hershey glyphs by a
pixel, which touches a few edge pixels. A missing skeleton, a wrong colour family or a box in the
wrong place changes far more than that; single-point properties (v=1 vs v=2, v=0 not drawn) have
their own exact tests in test_visualize_annotator.py.

Regenerate the expected images after an intended change with
``KPCONV_UPDATE_GOLDEN=1 .venv/bin/pytest tests/visualize`` and look at them before committing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from kpconv.visualize import load_image

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "visualize"
DATASET = FIXTURE / "dataset.json"
REPORT = FIXTURE / "report.json"
EXPECTED = FIXTURE / "expected"
UPDATE = os.environ.get("KPCONV_UPDATE_GOLDEN") == "1"
NAMES = ["scene", "gray", "rgba", "depth16"]

MAX_MEAN_ABS_DIFF = 1.0
MAX_FRACTION_OFF = 0.005
OFF_THRESHOLD = 32


def assert_matches_golden(actual: Path, expected_name: str) -> None:
    expected = EXPECTED / expected_name
    if UPDATE:
        EXPECTED.mkdir(exist_ok=True)
        shutil.copyfile(actual, expected)
        return
    a = cv2.imread(str(actual), cv2.IMREAD_COLOR)
    e = cv2.imread(str(expected), cv2.IMREAD_COLOR)
    assert e is not None, f"missing golden image {expected} (run with KPCONV_UPDATE_GOLDEN=1)"
    assert a.shape == e.shape
    diff = np.abs(a.astype(np.int16) - e.astype(np.int16))
    mean = float(diff.mean())
    off = float((diff.max(axis=2) > OFF_THRESHOLD).mean())
    assert mean < MAX_MEAN_ABS_DIFF and off <= MAX_FRACTION_OFF, (
        f"{actual} differs from {expected}: mean abs diff {mean:.3f} (limit {MAX_MEAN_ABS_DIFF}), "
        f"{off:.2%} of pixels off by > {OFF_THRESHOLD} (limit {MAX_FRACTION_OFF:.1%})"
    )


def out_image(out: Path, name: str) -> Path:
    return out / "images" / "images" / f"{name}.png"


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture folder (for tests that break an image)."""
    dst = tmp_path / "fx"
    shutil.copytree(FIXTURE, dst, ignore=shutil.ignore_patterns("expected", "*.py"))
    return dst


def test_golden_renders(run_cli, tmp_path):
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out)
    assert res.exit_code == 0, res.stderr
    for name in NAMES:
        assert_matches_golden(out_image(out, name), f"{name}.png")
    assert "rendered 4 of 4" in res.stderr
    assert "1 annotation(s) have no bbox" in res.stderr


def test_every_input_kind_keeps_its_pixel_size(run_cli, tmp_path):
    out = tmp_path / "out"
    assert run_cli("visualize", DATASET, "-o", out, "--no-summary").exit_code == 0
    for name in NAMES:
        src = cv2.imread(str(FIXTURE / "images" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        dst = cv2.imread(str(out_image(out, name)), cv2.IMREAD_UNCHANGED)
        assert dst.shape[:2] == src.shape[:2] and dst.shape[2] == 3 and dst.dtype == np.uint8, name
    assert {p.name for p in (out / "images" / "images").iterdir()} == {f"{n}.png" for n in NAMES}


def test_rerun_is_byte_identical_and_independent_of_workers(run_cli, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("visualize", DATASET, "-o", a, "--grid", "3", "--workers", "1").exit_code == 0
    assert run_cli("visualize", DATASET, "-o", b, "--grid", "3", "--workers", "3").exit_code == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_issues_mode_draws_only_flagged_annotations(run_cli, tmp_path):
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out, "--issues", REPORT, "--no-summary")
    assert res.exit_code == 0, res.stderr
    # depth16 and rgba have no findings: not rendered
    assert sorted(p.name for p in (out / "images" / "images").iterdir()) == [
        "gray.png",
        "scene.png",
    ]
    assert_matches_golden(out_image(out, "scene"), "issues-scene.png")
    assert_matches_golden(out_image(out, "gray"), "issues-gray.png")
    # annotation 1 (not flagged) sits at x 14..42 on the scene: those pixels are the raw image
    raw = load_image(FIXTURE / "images" / "scene.png")
    issues = cv2.imread(str(out_image(out, "scene")))
    assert np.array_equal(issues[0:46, 10:46], raw[0:46, 10:46])
    # ... while a normal render draws it there
    normal = tmp_path / "normal"
    run_cli("visualize", DATASET, "-o", normal, "--no-summary")
    full = cv2.imread(str(out_image(normal, "scene")))
    assert not np.array_equal(full[0:46, 10:46], raw[0:46, 10:46])
    # the category-level finding is counted, not drawn
    assert "visualize.finding_unplaced" in res.stderr and "category.no_skeleton" in res.stderr


def test_issues_from_the_real_validator(run_cli, tmp_path):
    report = tmp_path / "report.json"
    res = run_cli("validate", DATASET, "--images", FIXTURE, "--format", "json")
    report.write_text(res.stdout)
    flagged_images = {f.get("image_id") for f in json.loads(res.stdout)["issues"]} - {None}
    assert flagged_images, "the fixture is meant to have findings"
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out, "--issues", report, "--grid", "4")
    assert res.exit_code == 0, res.stderr
    names = {
        img["id"]: Path(img["file_name"]).stem for img in json.loads(DATASET.read_text())["images"]
    }
    rendered = {p.stem for p in (out / "images" / "images").iterdir()}
    assert rendered == {names[i] for i in flagged_images}
    assert (out / "sheets" / "sheet-001.png").is_file()


def test_selection_options(run_cli, tmp_path):
    def rendered(*args: str) -> set[str]:
        out = tmp_path / "o".join(args).replace("-", "").replace(",", "_")
        res = run_cli("visualize", DATASET, "-o", out, "--no-summary", *args)
        assert res.exit_code == 0, res.stderr
        folder = out / "images" / "images"
        return {p.stem for p in folder.iterdir()} if folder.exists() else set()

    assert rendered("--image-ids", "2,3") == {"gray", "rgba"}
    assert rendered("--annotation-ids", "5") == {"rgba"}
    assert rendered("--category", "figure", "--limit", "2") == {"scene", "gray"}
    assert rendered("--image-ids", "4,99") == {"depth16"}


def test_selection_usage_errors(run_cli, tmp_path):
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--category", "nope")
    assert res.exit_code == 2 and "figure" in res.stderr
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--image-ids", "1,a")
    assert res.exit_code == 2
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--image-ids", "99")
    assert res.exit_code == 0 and "no image with id 99" in res.stderr


def test_unknown_id_is_reported(run_cli, tmp_path):
    res = run_cli(
        "visualize", DATASET, "-o", tmp_path / "o", "--annotation-ids", "1,77", "--no-summary"
    )
    assert res.exit_code == 0
    assert "visualize.id_not_found" in res.stderr and "77" in res.stderr


def test_contact_sheets_and_summary(run_cli, tmp_path):
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out, "--grid", "3")
    assert res.exit_code == 0
    sheets = sorted((out / "sheets").iterdir())
    assert [p.name for p in sheets] == ["sheet-001.png", "sheet-002.png"]
    a, b = (cv2.imread(str(p)) for p in sheets)
    assert a.shape == b.shape, "a partial last sheet keeps the grid"
    summary = cv2.imread(str(out / "summary.png"))
    assert summary is not None and summary.shape[1] == 900
    res = run_cli("visualize", DATASET, "-o", tmp_path / "n", "--no-summary")
    assert not (tmp_path / "n" / "summary.png").exists()


def test_missing_image_is_a_finding_the_rest_still_render(run_cli, fixture_copy, tmp_path):
    (fixture_copy / "images" / "gray.png").unlink()
    out = tmp_path / "out"
    res = run_cli("visualize", fixture_copy / "dataset.json", "-o", out, "--grid", "4")
    assert res.exit_code == 1
    assert "visualize.image_missing" in res.stderr and "gray.png" in res.stderr
    assert {p.stem for p in (out / "images" / "images").iterdir()} == {"scene", "rgba", "depth16"}
    assert (out / "sheets" / "sheet-001.png").is_file() and (out / "summary.png").is_file()


def test_unreadable_image_is_a_finding(run_cli, fixture_copy, tmp_path):
    (fixture_copy / "images" / "rgba.png").write_bytes(b"\x89PNG but not really")
    res = run_cli("visualize", fixture_copy / "dataset.json", "-o", tmp_path / "out")
    assert res.exit_code == 1
    assert "visualize.image_unreadable" in res.stderr and "rgba.png" in res.stderr
    assert "rendered 3 of 4" in res.stderr


def test_dataset_failing_validation_still_renders(run_cli, fixture_copy, tmp_path):
    doc = json.loads((fixture_copy / "dataset.json").read_text())
    doc["annotations"][0]["keypoints"][4] = "oops"  # a string coordinate
    doc["annotations"][1]["bbox"] = [1, 2]  # malformed box: derived for display
    doc["annotations"][2]["category_id"] = None  # not placeable
    doc["images"][3]["width"] = "56"
    bad = fixture_copy / "bad.json"
    bad.write_text(json.dumps(doc))
    res = run_cli("visualize", bad, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.stderr
    assert "rendered 4 of 4" in res.stderr
    assert "visualize.entry_skipped" in res.stderr and "/annotations/2" in res.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[]", "results"),
        ("{not json", "not valid JSON"),
        ('{"shapes": [], "imagePath": "a.png"}', "LabelMe"),
    ],
)
def test_not_a_coco_dataset_exits_1(run_cli, tmp_path, content, fragment):
    path = tmp_path / "x.json"
    path.write_text(content)
    res = run_cli("visualize", path, "-o", tmp_path / "out")
    assert res.exit_code == 1
    assert res.stderr.startswith("kpconv: error:") and fragment in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_missing_dataset_or_images_folder_is_usage(run_cli, tmp_path):
    assert run_cli("visualize", tmp_path / "none.json", "-o", tmp_path / "o").exit_code == 2
    res = run_cli("visualize", DATASET, "--images", tmp_path / "nowhere", "-o", tmp_path / "o")
    assert res.exit_code == 2


def test_bad_report_is_a_clear_error(run_cli, tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('{"ok": true}')
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--issues", bad)
    assert res.exit_code == 1 and "not a kpconv validate report" in res.stderr
    bad.write_text('{"issues": [{"code": "a.b", "severity": "fatal"}]}')
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--issues", bad)
    assert res.exit_code == 1 and "/issues/0" in res.stderr


def test_outputs_never_overwrite_inputs(run_cli, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copyfile(FIXTURE / "images" / "scene.png", images / "scene.png")
    doc = json.loads(DATASET.read_text())
    doc["images"] = [dict(doc["images"][0], file_name="scene.png")]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] == 1]
    (tmp_path / "d.json").write_text(json.dumps(doc))
    before = (images / "scene.png").read_bytes()
    res = run_cli("visualize", tmp_path / "d.json", "--images", images, "-o", tmp_path)
    assert res.exit_code == 2 and "overwrite" in res.stderr
    assert (images / "scene.png").read_bytes() == before


def test_parallel_writes_keep_the_umask_and_normal_file_modes(run_cli, tmp_path):
    before = os.umask(0o022)
    os.umask(before)
    out = tmp_path / "out"
    assert run_cli("visualize", DATASET, "-o", out, "--workers", "4", "--grid", "2").exit_code == 0
    after = os.umask(before)
    os.umask(after)
    assert after == before, "rendering threads must not leave the process umask changed"
    for p in out.rglob("*.png"):
        assert p.stat().st_mode & 0o777 == 0o666 & ~before, p
