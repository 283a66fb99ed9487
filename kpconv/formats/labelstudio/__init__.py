"""Label Studio: JSON / JSON-MIN exports → the pipeline's :class:`~kpconv.convert.pipeline.Parsed`
(``kpconv from-labelstudio``), and a validated COCO dataset → tasks to import plus the matching
labelling config (``kpconv to-labelstudio``).

:func:`read` parses one export file (:mod:`.reader`: percent coordinates into pixels, instances by
``parentID`` or containment through the shared assembly, keypoint order from the config's
``model_index``); :func:`write` (:mod:`.writer`) writes tasks whose regions link each point to its
box by ``parentID``, and the config (:mod:`.config`) that declares them.
"""

from __future__ import annotations

from pathlib import Path

from ...convert.pipeline import Parsed
from ...fileio import loads_json, read_input_bytes
from ...memory import gc_paused
from .config import LabelConfig, config_xml, parse_config, read_config
from .reader import (
    DESCRIPTION,
    VISIBILITY_WORDS,
    LabelStudioOptions,
    LabelStudioParse,
    file_name,
    parse_export,
)
from .writer import WriteOptions, plan, write

__all__ = [
    "DESCRIPTION",
    "VISIBILITY_WORDS",
    "LabelConfig",
    "LabelStudioOptions",
    "LabelStudioParse",
    "WriteOptions",
    "config_xml",
    "file_name",
    "parse_config",
    "parse_export",
    "plan",
    "read",
    "read_config",
    "write",
]


def read(source: Path, options: LabelStudioOptions | None = None) -> Parsed:
    """One Label Studio export file (JSON or JSON-MIN) as a :class:`Parsed` (see :func:`parse_export`)."""
    source = Path(source)
    with gc_paused():  # see the writer's plan: many small dicts, no cycles
        return _read(source, options)


def _read(source: Path, options: LabelStudioOptions | None) -> Parsed:
    doc = loads_json(
        read_input_bytes(source, kind="Label Studio export (.json)"), source=str(source)
    )
    parsed = parse_export(doc, str(source), options)
    n = parsed.tasks
    title = f"{source} ({n} task{'s' if n != 1 else ''}{', JSON-MIN' if parsed.minimal else ''})"
    return Parsed.single("labelstudio", title, parsed.result, summary=parsed.summary)
