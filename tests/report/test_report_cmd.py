"""``kpconv report`` without a browser: the page holds what ``kpconv validate --format json`` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kpconv.finding import Report, error, warning
from kpconv.report import ReportOptions, finding_rows, read_dataset, write_report
from kpconv.report.charts import box_sizes, keypoint_heat
from kpconv.report.pictures import choose_images
from tests.conftest import FIXTURES, invoke_cli

FIXTURE = FIXTURES / "visualize" / "dataset.json"


def _page_data(index: Path) -> dict:  # type: ignore[type-arg]
    html = index.read_text()
    blob = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert blob is not None
    return json.loads(blob.group(1))


def _severity_counts(index: Path) -> dict[str, int]:
    return {s: int(n) for s, n in re.findall(r'data-count="(\w+)">(\d+)<', index.read_text())}


@pytest.mark.parametrize("extra", [[], ["--for-training"]])
def test_the_page_holds_validates_findings_and_counts(tmp_path: Path, extra: list[str]) -> None:
    args = [FIXTURE, "--images", FIXTURES / "visualize", *extra]
    res = invoke_cli("report", *args, "-o", tmp_path / "r")
    expected = json.loads(invoke_cli("validate", *args, "--format", "json").stdout)
    assert res.exit_code == 1 and "FAILED" in res.stdout
    index = tmp_path / "r" / "index.html"
    assert _severity_counts(index) == expected["counts"]
    rows = _page_data(index)["findings"]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (i["severity"], i["code"], i["message"], i["pointer"]) for i in expected["issues"]]
    for code, n in expected["summary"]["codes"].items():
        assert f'data-code="{code}">{n}<' in index.read_text()
    assert ("Training dry run" in index.read_text()) == bool(extra)


def test_flagged_images_are_drawn_and_linked(tmp_path: Path) -> None:
    out = tmp_path / "r"
    invoke_cli("report", FIXTURE, "--images", FIXTURES / "visualize", "-o", out)
    data = _page_data(out / "index.html")
    flagged = {r[6] for r in data["findings"] if r[6] is not None}
    drawn = [p for p in data["pictures"] if p["src"]]
    assert len(drawn) >= len(flagged) and all((out / p["src"]).is_file() for p in drawn)
    for r in data["findings"]:
        if r[6] is not None:
            assert r[10] >= 0 and r[11] >= 1  # its picture and its number on it


def test_max_images_bounds_the_pictures(tmp_path: Path) -> None:
    invoke_cli("report", FIXTURE, "--images", FIXTURES / "visualize", "--max-images", "1", "-o", tmp_path / "r")
    assert len(list((tmp_path / "r" / "images").iterdir())) == 1
    assert choose_images([1, 2], [3, 4, 5, 6], 4, clean_sample=8) == [1, 2, 3, 5]


def test_the_page_makes_no_network_request(tmp_path: Path) -> None:
    invoke_cli("report", FIXTURE, "--images", FIXTURES / "visualize", "-o", tmp_path / "r")
    html = (tmp_path / "r" / "index.html").read_text()
    # the only URL is SVG's namespace name, which is never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)


def test_html_alias_of_validate(tmp_path: Path) -> None:
    res = invoke_cli("validate", FIXTURE, "--html", tmp_path / "r")
    assert res.exit_code == 1 and (tmp_path / "r" / "index.html").is_file()


def test_yolo_data_yaml_gets_its_lint_findings(tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images\nval: images\nkpt_shape: [3, 3]\nnames: {0: cat}\n")
    res = invoke_cli("report", data, "-o", tmp_path / "r")
    expected = json.loads(invoke_cli("validate", data, "--format", "json").stdout)
    assert res.exit_code == (0 if expected["ok"] else 1)
    assert _severity_counts(tmp_path / "r" / "index.html") == expected["counts"]


def test_not_json_is_a_report_too(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("hello")
    res = invoke_cli("report", bad, "-o", tmp_path / "r")
    assert res.exit_code == 1
    assert _page_data(tmp_path / "r" / "index.html")["findings"][0][2] == "document.not_json"


def test_script_breaking_text_is_escaped(tmp_path: Path) -> None:
    report = Report(findings=[error("x.y", "</script><script>alert(1)</script>")])
    write_report(report, None, tmp_path, ReportOptions())
    html = (tmp_path / "index.html").read_text()
    assert "<script>alert" not in html
    assert _page_data(tmp_path / "index.html")["findings"][0][3] == "</script><script>alert(1)</script>"


def test_rows_carry_image_and_category_from_the_annotation() -> None:
    ds = read_dataset(FIXTURE.read_bytes())
    assert ds is not None
    rows, by_image = finding_rows(Report(findings=[warning("a.b", "m", "/annotations/1", annotation_id=2)]), ds)
    assert rows[0][6] == 1 and rows[0][8] and rows[0][9] == "figure" and by_image == {1: [0]}


def test_charts_count_coco_sizes_and_normalised_positions() -> None:
    ds = read_dataset(FIXTURE.read_bytes())
    assert ds is not None
    sizes = box_sizes(ds)
    assert sum(sizes.values()) <= len(ds.annotations) and sizes["large"] == 0
    (names, grid), = keypoint_heat(ds).values()
    assert grid.shape == (len(names), 24, 24) and grid.sum() > 0


def test_typed_and_plain_documents_chart_and_draw_the_same() -> None:
    """The report reads what the validator decoded: the typed document when the file fits its
    types, else the plain one (here: one image id past 64 bits). Both give the same charts and
    the same annotations to draw."""
    from kpconv.report.dataset import report_dataset
    from kpconv.validation import decode_and_validate

    data = FIXTURE.read_bytes()
    doc = json.loads(data)
    doc["images"].append({"id": 2**70, "file_name": "huge-id.png", "width": 8, "height": 8})
    _, typed = decode_and_validate(data)
    _, plain = decode_and_validate(json.dumps(doc).encode())
    assert not isinstance(typed, dict) and isinstance(plain, dict)
    a, b = report_dataset(typed), report_dataset(plain)
    assert a is not None and b is not None
    assert box_sizes(a) == box_sizes(b)
    heat_a, heat_b = keypoint_heat(a), keypoint_heat(b)
    assert heat_a.keys() == heat_b.keys() and heat_a
    for name in heat_a:
        assert heat_a[name][0] == heat_b[name][0]
        assert (heat_a[name][1] == heat_b[name][1]).all()
    assert [a.drawable(i) for i in range(len(a.annotations))] == [b.drawable(i) for i in range(len(b.annotations))]
    assert a.drawable(0)["keypoints"] == doc["annotations"][0]["keypoints"]


def test_report_decodes_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kpconv.validation import context

    calls = []
    real = context.decode_checked
    monkeypatch.setattr("kpconv.validation.decode_checked", lambda data: calls.append(1) or real(data))
    monkeypatch.setattr("kpconv.report.dataset.decode_checked", lambda data: calls.append(1) or real(data))
    res = invoke_cli("report", FIXTURE, "-o", tmp_path / "r")
    assert res.exit_code == 1 and (tmp_path / "r" / "index.html").is_file()
    assert calls == [1]
