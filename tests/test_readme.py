"""The README is the first thing a user runs: its commands must work as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, re.S)


def test_setup_commands_and_ci_agree() -> None:
    blocks = _bash_blocks()
    demo, tests = blocks[0].strip(), blocks[1].strip()
    assert "pip install -e '.[train]'" in demo and "bash demo.sh" in demo
    readme_steps = [s.strip() for s in tests.replace("\\\n", " ").split("&&")]
    # .ci/run runs the same steps, one per line (plus `pip check`), with $PY for python3
    ci = (REPO / ".ci" / "run").read_text()
    ci_steps = [
        " ".join(line.replace("$PY", "python3").replace("--quiet ", "").split())
        for line in ci.splitlines()
        if line.startswith(("$PY", ".venv/")) and "pip check" not in line
    ]
    assert readme_steps == ci_steps
    assert "-r requirements/ci.txt" in readme_steps[1] and readme_steps[-1] == ".venv/bin/pytest"


def test_the_lock_pins_every_dependency_exactly() -> None:
    """requirements/ci.txt: one `name==version` per line, covering pyproject's dependencies."""
    import tomllib

    lock = (REPO / "requirements" / "ci.txt").read_text().splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^=\s]+", p) for p in pins), pins
    names = {re.sub(r"[-_.]+", "-", p.split("==")[0]).lower() for p in pins}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("train", "dev"):
        wanted += project["optional-dependencies"][extra]
    for req in wanted + ["pip", "setuptools"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;]", req)[0]).lower()
        assert name in names, f"{req} is not pinned in requirements/ci.txt"


def _example_commands() -> list[list[str]]:
    block = _bash_blocks()[2]
    lines = block.replace("\\\n", " ").splitlines()
    out = []
    for line in lines:
        line = line.split("#")[0].strip()
        if line.startswith("kpconv "):
            out.append(shlex.split(line))
    return out


def test_every_readme_example_names_a_real_command_and_real_fixtures() -> None:
    from kpconv.cli import COMMANDS

    commands = _example_commands()
    assert len(commands) >= 10
    for argv in commands:
        assert argv[1] in COMMANDS, argv
        for arg in argv[2:]:
            if arg.startswith("fixtures/"):
                assert (REPO / arg).exists(), arg


@pytest.mark.slow
@pytest.mark.train
def test_readme_examples_run(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(REPO)
    for argv in _example_commands():
        redirect = None
        if ">" in argv:
            redirect = tmp_path / argv[argv.index(">") + 1]
            argv = argv[: argv.index(">")]
        argv = [str(tmp_path / a) if a.startswith("out/") or a == "report.json" else a for a in argv]
        res = run_cli(*argv[1:])
        if redirect is not None:
            redirect.write_text(res.stdout)
        # errors on purpose; with --fix the exit code is the repaired copy's, which is clean
        on_purpose = "fixtures/visualize/dataset.json" in argv and argv[1] == "validate" and "--fix" not in argv
        assert res.exit_code == (1 if on_purpose else 0), (argv, res.stdout[-2000:], res.stderr[-2000:])
        assert "internal error" not in res.stderr


@pytest.mark.slow
@pytest.mark.train
def test_demo_script_runs_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    out = tmp_path / "demo"
    proc = subprocess.run(["bash", str(REPO / "demo.sh"), str(out)], capture_output=True, text=True, env=env,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("labelme.json", "cvat.json", "dlc.json", "predictions.json", "run/last.pt", "vis/summary.svg"):
        assert (out / name).exists(), name
