"""The report in a real browser: rows, counts, a filter, an opened finding, no network, no errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kpconv.cli.report_cmd import write_html_report
from tests.conftest import FIXTURES, invoke_cli

pytestmark = pytest.mark.browser
FIXTURE = FIXTURES / "visualize" / "dataset.json"


def _validate_json(*args: str | Path) -> dict:  # type: ignore[type-arg]
    res = invoke_cli("validate", *args, "--format", "json")
    return json.loads(res.stdout)


def _shown_counts(page: object) -> dict[str, int]:
    cells = page.query_selector_all("#severity-counts td[data-count]")  # type: ignore[attr-defined]
    return {c.get_attribute("data-count"): int(c.inner_text()) for c in cells}


def test_report_of_a_fixture_with_errors(tmp_path: Path, open_page) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    res = invoke_cli("report", FIXTURE, "--images", FIXTURES / "visualize", "-o", out)
    assert res.exit_code == 1, res.stderr
    expected = _validate_json(FIXTURE, "--images", FIXTURES / "visualize")
    opened = open_page(out / "index.html")
    page = opened.page

    assert "FAILED" in page.inner_text("#verdict")
    assert _shown_counts(page) == expected["counts"]
    rows = page.query_selector_all("#findings-body tr:not(.detail)")
    assert len(rows) == len(expected["issues"])
    assert [r.query_selector("code").inner_text() for r in rows] == [i["code"] for i in expected["issues"]]

    # a filter leaves the matching rows
    page.select_option("select[name=severity]", "error")
    errors = [i for i in expected["issues"] if i["severity"] == "error"]
    assert len(page.query_selector_all("#findings-body tr:not(.detail)")) == len(errors)
    assert f"showing {len(errors)} of {len(errors)}" in page.inner_text("#shown-count")
    page.select_option("select[name=severity]", "")
    page.fill("input[name=image]", "no-such-image")
    assert page.query_selector_all("#findings-body tr") == []
    page.fill("input[name=image]", "")

    # opening a finding (its permalink) shows its image, drawn
    first_on_image = next(n for n, i in enumerate(expected["issues"]) if "image_id" in i)
    page.click(f"#f{first_on_image} a")
    page.wait_for_selector("tr.detail img")
    page.wait_for_function("document.querySelector('tr.detail img').complete")
    assert page.eval_on_selector("tr.detail img", "img => img.naturalWidth") > 0
    assert page.evaluate("location.hash") == f"#f{first_on_image}"

    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert opened.outside_requests() == []
    assert opened.errors == []


def test_a_permalink_opens_its_finding(tmp_path: Path, open_page) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report"
    write_html_report(FIXTURE, out, FIXTURES / "visualize")
    opened = open_page(out / "index.html")
    opened.page.goto((out / "index.html").resolve().as_uri() + "#f2")
    opened.page.wait_for_selector("tr.open#f2")
    assert opened.page.query_selector("tr.detail img") is not None
    assert opened.errors == []


@pytest.mark.realdata
def test_every_real_coco_file_reports_the_counts_validate_prints(tmp_path: Path, realdata: Path,
                                                                    open_page) -> None:  # type: ignore[no-untyped-def]
    files = [Path(realdata / json.loads(line)["local"]) for line in (realdata / "FILES.jsonl").read_text().splitlines()
             if line.strip()]
    coco = [f for f in files if f.suffix == ".json" and f.is_file() and _is_coco(f)]
    assert coco, "no COCO file in the real data"
    for n, path in enumerate(coco):
        out = tmp_path / f"r{n}"
        res = invoke_cli("report", path, "-o", out)
        assert res.exit_code in (0, 1), (path, res.stderr)
        expected = _validate_json(path)
        opened = open_page(out / "index.html")
        assert opened.errors == [], (path, opened.errors)
        assert opened.outside_requests() == [], path
        assert _shown_counts(opened.page) == expected["counts"], path
        shown = opened.page.evaluate("JSON.parse(document.getElementById('report-data').textContent).findings.length")
        assert shown == len(expected["issues"]), path
        opened.page.context.close()


def _is_coco(path: Path) -> bool:
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and "annotations" in doc and "images" in doc


@pytest.mark.realdata
def test_screenshot_of_a_real_report(tmp_path: Path, realdata: Path, open_page) -> None:  # type: ignore[no-untyped-def]
    """The README's picture: mmpose's COCO test file with its images, one finding opened.

    ``KPCONV_UPDATE_SCREENSHOT=1`` writes it to docs/images/report.png.
    """
    coco = realdata / "mmpose" / "tests" / "data" / "coco"
    if not (coco / "test_coco.json").is_file():
        pytest.skip("mmpose's COCO test file is absent")
    out = tmp_path / "report"
    write_html_report(coco / "test_coco.json", out, coco)
    opened = open_page(out / "index.html", width=1100)
    page = opened.page
    page.click("#f0 a")
    page.wait_for_function("document.querySelector('tr.detail img') && document.querySelector('tr.detail img').complete")
    assert page.eval_on_selector("tr.detail img", "img => img.naturalWidth") > 0
    assert opened.errors == [] and opened.outside_requests() == []
    shot = tmp_path / "report.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": 1100, "height": 1300})
    if os.environ.get("KPCONV_UPDATE_SCREENSHOT"):
        target = Path(__file__).resolve().parents[2] / "docs" / "images" / "report.png"
        target.write_bytes(shot.read_bytes())
