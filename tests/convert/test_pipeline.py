"""The formats table and the one convert pipeline (kpconv.formats.FORMATS, kpconv.convert.pipeline)."""

from __future__ import annotations

import inspect

import pytest

from kpconv.cli import COMMANDS as CLI_COMMANDS
from kpconv.convert.pipeline import Parsed, convert
from kpconv.formats import FORMATS
from tests.conftest import FIXTURES

COMMANDS = set(CLI_COMMANDS)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_reads_into_parsed_and_has_its_commands(name: str) -> None:
    fmt = FORMATS[name]
    module = fmt.load()
    assert inspect.signature(module.read).return_annotation in ("Parsed", Parsed)
    assert f"from-{name}" in COMMANDS
    assert (f"to-{name}" in COMMANDS) == (fmt.writes is not None)
    if fmt.writes is not None:
        assert callable(module.write)


def test_every_from_command_has_a_table_row() -> None:
    assert {c.removeprefix("from-") for c in COMMANDS if c.startswith("from-")} == set(FORMATS)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("labelme", ([FIXTURES / "labelme" / "demo"],)),
        ("cvat", (FIXTURES / "cvat" / "skeleton.xml",)),
        ("csv", (FIXTURES / "csv" / "wide.csv",)),
        ("yolo", (FIXTURES / "yolo" / "hands" / "data.yaml", "train")),
        ("labelstudio", (FIXTURES / "labelstudio" / "export.json",)),
    ],
)
def test_each_read_goes_through_the_one_pipeline(name: str, args: tuple[object, ...]) -> None:
    from kpconv.formats.csv import CsvOptions, ImageOptions

    read = FORMATS[name].load().read
    if name == "csv":
        parsed = read(*args, CsvOptions(images=ImageOptions(image_size=(640, 480))))
    else:
        parsed = read(*args)
    assert isinstance(parsed, Parsed) and parsed.format == name and parsed.subsets
    convs = convert(parsed, None)
    assert set(convs) == set(parsed.subsets)
    for conv in convs.values():
        doc = conv.document
        assert doc["images"] and doc["annotations"] and doc["categories"]
        assert conv.report.summary["converted"]["instances"] == len(doc["annotations"])
        if parsed.summary:
            assert conv.report.summary[name] == parsed.summary
