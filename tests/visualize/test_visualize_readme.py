"""The README section's demo commands run as written on the bundled fixture."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECTION = REPO / "docs" / "readme" / "visualize.md"


def _demo_commands() -> list[list[str]]:
    text = SECTION.read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "the README section has a ```sh demo block"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.startswith("kpconv ")]


def test_readme_demo_renders_the_fixture(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    commands = _demo_commands()
    assert [c[1] for c in commands] == ["visualize", "validate", "visualize"]
    for argv in commands:
        redirect = None
        if ">" in argv:
            redirect = tmp_path / argv[argv.index(">") + 1]
            argv = argv[: argv.index(">")]
        # outputs go to the temporary folder, inputs stay where the README says
        argv = [
            str(tmp_path / a) if a.startswith("out/") or a == "report.json" else a for a in argv
        ]
        res = run_cli(*argv[1:])
        if redirect is not None:
            redirect.write_text(res.stdout)
        else:
            assert res.exit_code == 0, (argv, res.stderr)
    assert len(list((tmp_path / "out" / "vis" / "images").rglob("*.png"))) == 4
    assert (tmp_path / "out" / "vis" / "sheets" / "sheet-001.png").is_file()
    assert (tmp_path / "out" / "vis" / "summary.svg").is_file()
    assert (tmp_path / "out" / "issues" / "sheets" / "sheet-001.png").is_file()
    assert (REPO / "docs" / "images" / "visualize-example.png").is_file()


def test_readme_summary_image_is_the_demos_summary_svg(run_cli, tmp_path, monkeypatch):
    """docs/images/demo-summary.svg is what the demo's `kpconv visualize` writes today (the
    converted LabelMe fixture), and the README links it; no stale summary.png is linked anywhere."""
    monkeypatch.chdir(REPO)
    image = REPO / "docs" / "images" / "demo-summary.svg"
    readme = (REPO / "README.md").read_text()
    assert "(docs/images/demo-summary.svg)" in readme
    for text in (readme, SECTION.read_text()):
        assert "summary.png" not in text
    assert "OUT/summary.svg" in SECTION.read_text()
    converted = tmp_path / "labelme.json"
    res = run_cli("from-labelme", "fixtures/labelme/demo", "--spec", "fixtures/labelme/person.yaml",
                  "-o", converted)
    assert res.exit_code == 0, res.stderr
    res = run_cli("visualize", converted, "--images", "fixtures/labelme/demo", "-o", tmp_path / "vis",
                  "--grid", "4")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "vis" / "summary.svg").read_bytes() == image.read_bytes(), (
        "regenerate docs/images/demo-summary.svg: kpconv from-labelme fixtures/labelme/demo --spec "
        "fixtures/labelme/person.yaml -o /tmp/l.json && kpconv visualize /tmp/l.json --images "
        "fixtures/labelme/demo -o /tmp/vis && cp /tmp/vis/summary.svg docs/images/demo-summary.svg"
    )
