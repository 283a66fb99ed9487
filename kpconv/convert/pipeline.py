"""The one convert pipeline every ``from-*`` command runs: read → spec → build → validate.

A format's ``read`` (see :data:`kpconv.formats.FORMATS`) returns a :class:`Parsed`: one
:class:`~kpconv.convert.builder.ParseResult` per output file (CVAT's subsets; one for every
other format), the spec the source defines if it has one, and the format's own facts for the
report. :func:`convert` turns it into one :class:`~kpconv.convert.builder.Conversion` per
subset, the same way for every format; the CLI commands differ only in their options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..finding import Finding
from ..spec import KeypointSpec
from .builder import BuildOptions, Conversion, ParseResult
from .builder import convert as convert_one


@dataclass
class Parsed:
    """What a format's ``read`` returns.

    ``subsets``: one ParseResult per output file, ``""`` when the source has no subsets.
    ``spec``: the spec the source defines (CVAT's skeletons, a DeepLabCut ``config.yaml``), or
    None. ``spec_from_labels``: part of that spec was only derived from label names, so it is
    printed for the user to check. ``bind_spec`` runs once the spec is chosen, for sources whose
    points are positional (CVAT's multi-point ``<points>``). ``summary``: the format's own facts,
    added to each report under ``summary[format]``. ``extra_files``: files the source carries
    that are written beside the output (LabelMe's embedded images), called after the output is
    written; returns (facts for the summary, findings). ``inputs_failed``: input files that could
    not be read at all (each reported); the CLI then writes nothing unless told to keep the rest
    (``--allow-partial``).
    """

    format: str
    title: str
    subsets: dict[str, ParseResult]
    spec: KeypointSpec | None = None
    spec_from_labels: bool = False
    bind_spec: Callable[[KeypointSpec | None], None] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    extra_files: Callable[[], tuple[dict[str, Any], list[Finding]]] | None = None
    inputs_failed: int = 0

    @classmethod
    def single(cls, format: str, title: str, result: ParseResult, **kw: Any) -> Parsed:
        """A source that gives one output file."""
        return cls(format=format, title=title, subsets={"": result}, spec=kw.pop("spec", result.spec), **kw)


def convert(
    parsed: Parsed, user_spec: KeypointSpec | None, options: BuildOptions | None = None
) -> dict[str, Conversion]:
    """Choose the spec (the user's, the source's, or inferred), build and validate each subset.

    Every subset gets the same categories and category ids (one spec for the whole source).
    """
    if parsed.bind_spec is not None:
        parsed.bind_spec(user_spec)
    out: dict[str, Conversion] = {}
    for name, result in parsed.subsets.items():
        if parsed.spec is not None:
            result.spec = parsed.spec
        conv = convert_one(result, user_spec, options)
        if user_spec is None and parsed.spec_from_labels:
            conv.spec_inferred = True
        if parsed.summary:
            conv.report.summary[parsed.format] = dict(parsed.summary)
        out[name] = conv
    return out
