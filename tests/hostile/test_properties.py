"""Property-based tests (hypothesis) of every reader on real fixtures, truncated and byte-flipped.

For each reader (LabelMe JSON, CVAT XML, long CSV, DeepLabCut CSV, and a COCO file for
``validate``), the damaged file never gives a traceback or an "internal error", and exits 0 or 1
(never a crash code). Exit 1 always comes with a located message (the file's name with a line, or
a JSON pointer).

Truncation must never lose data silently (issue 14: 28 of 30 random truncations of a long CSV
exited 0 with a point dropped): exit 0 only when the converted document has no fewer labelled
points (v > 0) than the intact file's conversion. A CSV cut exactly at a line break (just before
or after it) is a shorter complete file, which nothing can tell from one written short, so those
cuts are left out. A byte
flip may change the data itself (a visibility 2 into 0), so for flips only the first rules hold.

``derandomize=True``: the same examples on every run, so CI is reproducible; a small
``max_examples`` keeps the module well under 40 s on 2 cores (each example is one in-process CLI
run).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import REPO, invoke_cli  # noqa: E402
from tests.hostile.support import coco_doc  # noqa: E402

FIXTURES = REPO / "fixtures"
CSV = FIXTURES / "csv"

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Reader:
    """One reader: the file to damage (inside ``root``, a private copy of its fixture) and how
    to convert it."""

    name: str
    root: Path
    target: Path  # the file the examples overwrite
    intact: bytes
    args: tuple[str, ...]  # the command, the target substituted for "{src}"
    out: Path | None  # the COCO file written (None for validate)

    def run(self, data: bytes):  # type: ignore[no-untyped-def]
        self.target.write_bytes(data)
        if self.out is not None and self.out.exists():
            self.out.unlink()
        argv = [str(self.target) if a == "{src}" else a for a in self.args]
        return invoke_cli(*argv)

    def points(self) -> int:
        """Labelled points (v > 0) in the COCO document the last run wrote."""
        assert self.out is not None
        doc = json.loads(self.out.read_bytes())
        return sum(1 for a in doc["annotations"] for v in a["keypoints"][2::3] if v > 0)


def _readers(base: Path) -> dict[str, Reader]:
    lm = base / "labelme"
    shutil.copytree(FIXTURES / "labelme" / "demo", lm)
    dlc = base / "dlc"
    shutil.copytree(CSV / "dlc-project", dlc)
    long_dir = base / "long"
    long_dir.mkdir()
    shutil.copy(CSV / "long.csv", long_dir / "long.csv")
    cvat = base / "cvat"
    cvat.mkdir()
    shutil.copy(FIXTURES / "cvat" / "skeleton.xml", cvat / "skeleton.xml")
    coco = base / "coco"
    coco.mkdir()
    (coco / "coco.json").write_text(json.dumps(coco_doc(), indent=1))
    dlc_csv = dlc / "labeled-data" / "mouse1" / "CollectedData_kp.csv"
    made = [
        Reader("labelme", lm, lm / "containment.json", b"", ("from-labelme", "{src}", "-o", str(base / "lm.json")),
               base / "lm.json"),
        Reader("cvat", cvat, cvat / "skeleton.xml", b"", ("from-cvat", "{src}", "-o", str(base / "cvat.json")),
               base / "cvat.json"),
        Reader("long-csv", long_dir, long_dir / "long.csv", b"",
               ("from-csv", "{src}", "--images", str(CSV), "-o", str(base / "long.json")), base / "long.json"),
        Reader("dlc-csv", dlc, dlc_csv, b"", ("from-csv", "{src}", "-o", str(base / "dlc.json")), base / "dlc.json"),
        Reader("validate", coco, coco / "coco.json", b"", ("validate", "{src}", "--format", "json"), None),
    ]  # fmt: skip
    for r in made:
        r.intact = r.target.read_bytes()
    return {r.name: r for r in made}


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reader]:
    return _readers(tmp_path_factory.mktemp("readers"))


@pytest.fixture(scope="module")
def baseline(readers: dict[str, Reader]) -> dict[str, int]:
    """Each converter's labelled points on its intact file (which converts cleanly)."""
    out = {}
    for name, r in readers.items():
        res = r.run(r.intact)
        assert res.exit_code == 0, (name, res.stdout, res.stderr)
        if r.out is not None:
            out[name] = r.points()
            assert out[name] > 0
    return out


def _check_common(r: Reader, res) -> None:  # type: ignore[no-untyped-def]
    text = res.stdout + res.stderr
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    assert res.exit_code in (0, 1), (res.exit_code, text)
    if res.exit_code == 1:
        assert _located(r, res), text


def _located(r: Reader, res) -> bool:  # type: ignore[no-untyped-def]
    """Some message names the damaged file (with a line or column where it has one), or points
    into the document."""
    if r.out is None:  # validate: the JSON report, each error with a pointer or a source
        report = json.loads(res.stdout)
        errors = [i for i in report["issues"] if i["severity"] == "error"]
        return bool(errors) and all(i["pointer"] or i.get("source") for i in errors)
    text = res.stdout + res.stderr
    return bool(
        re.search(rf"{re.escape(r.target.name)}(:\d+|:<|\b)", text)
        or re.search(r"(^|\s)/(images|annotations|categories)\b", text, re.M)
    )


def _last_number_cut_short(intact: bytes, cut: int) -> bool:
    """The cut falls inside the last cell of a line, which holds a number: the line keeps every
    cell, no final line break, and the number reads as another one ("4" for "40.0")."""
    start = intact.rfind(b"\n", 0, cut) + 1
    end = intact.find(b"\n", cut)
    line = intact[start : end if end >= 0 else len(intact)].rstrip(b"\r")
    kept = intact[start:cut]
    last = line.rsplit(b",", 1)[-1]
    inside_last_cell = kept.count(b",") == line.count(b",") and 0 < len(kept) < len(line)
    return (
        inside_last_cell
        and bool(re.fullmatch(rb"[-+]?[0-9.eE+-]+", last))
        and not kept.endswith(b",")
    )


NAMES = ["labelme", "cvat", "long-csv", "dlc-csv", "validate"]


@pytest.mark.parametrize("name", NAMES)
def test_truncation_never_loses_points_silently(
    readers: dict[str, Reader], baseline: dict[str, int], name: str
) -> None:
    r = readers[name]
    csv = name.endswith("csv")

    @SETTINGS
    @given(st.integers(min_value=0, max_value=len(r.intact) - 1))
    def check(cut: int) -> None:
        data = r.intact[:cut]
        # a CSV cut at a line break (just before or after it) is a shorter complete file
        cut_at_line_break = csv and (
            data.endswith((b"\n", b"\r")) or r.intact[cut : cut + 1] in (b"\n", b"\r")
        )
        res = r.run(data)
        _check_common(r, res)
        if res.exit_code == 0 and r.out is not None and not cut_at_line_break:
            found = r.points()
            assert found >= baseline[name], (
                f"{name} cut at byte {cut} of {len(r.intact)}: exit 0 with {found} labelled points, "
                f"the intact file has {baseline[name]}\n{res.stderr}"
            )

    check()


@pytest.mark.parametrize("name", NAMES)
def test_byte_flips_never_crash_and_failures_are_located(
    readers: dict[str, Reader], baseline: dict[str, int], name: str
) -> None:
    r = readers[name]
    size = len(r.intact)

    @SETTINGS
    @given(
        st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), min_size=1, max_size=4)
    )
    def check(flips: list[tuple[int, int]]) -> None:
        data = bytearray(r.intact)
        for at, byte in flips:
            data[at] = byte
        res = r.run(bytes(data))
        _check_common(r, res)

    check()


def test_a_csv_number_cut_short_at_the_end_is_told(
    readers: dict[str, Reader], baseline: dict[str, int]
) -> None:
    r = readers["dlc-csv"]
    cut = r.intact.index(b"26.0,40.0\n") + len(b"26.0,4")  # the first data row's last number, cut
    assert _last_number_cut_short(r.intact, cut)
    res = r.run(r.intact[:cut])
    _check_common(r, res)
    assert res.exit_code == 1, res.stderr
    assert "no line break after it" in res.stderr and "csv.cut_line" in res.stderr
