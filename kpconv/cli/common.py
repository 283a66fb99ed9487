"""Options and steps shared by the converter commands (spec choice, report, atomic output)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import UsageError
from ..fileio import STDOUT, ensure_not_input
from ..finding import error
from ..spec import KeypointSpec, get_preset, load_spec, spec_from_keypoints
from .render import emit_json, render_text

if TYPE_CHECKING:  # the builder (numpy) loads with the converters, not with `kpconv validate`
    from ..convert.builder import BuildOptions, Conversion
    from ..convert.pipeline import Parsed

F = TypeVar("F", bound=Callable[..., Any])


def spec_options(func: F) -> F:
    """``--spec FILE | --preset NAME | --keypoints a,b,c`` (at most one)."""
    func = click.option(
        "--keypoints",
        "keypoints",
        metavar="A,B,C",
        help="Keypoint names in order, for one category (see the command's category option for its name).",
    )(func)
    func = click.option(
        "--preset", metavar="NAME", help="Built-in spec: coco-person."
    )(func)
    func = click.option(
        "--spec",
        "spec_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Keypoint spec file (YAML or JSON): keypoint order, skeleton, flip pairs, sigmas, aliases.",
    )(func)
    return func


def resolve_spec(
    spec_path: Path | None, preset: str | None, keypoints: str | None, category: str = "object"
) -> KeypointSpec | None:
    """The user's spec from the spec options, or None when none was given."""
    given = [x for x in (spec_path, preset, keypoints) if x]
    if len(given) > 1:
        raise UsageError("give at most one of --spec, --preset, --keypoints")
    if spec_path:
        return load_spec(spec_path)
    if preset:
        return get_preset(preset)
    if keypoints:
        names = [n.strip() for n in keypoints.split(",") if n.strip()]
        if not names:
            raise UsageError("--keypoints: expected comma-separated names, e.g. nose,left_eye")
        return spec_from_keypoints(names, category)
    return None


class OutputPath(click.ParamType):
    """A file to write: a path, or ``-`` for standard output; an empty one is a usage error.

    (``click.Path`` turns ``''`` into ``Path('.')``, a folder, before anyone can tell.)
    """

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            return value
        if str(value) == "":
            self.fail("an empty path: give a file name, or - for standard output", param, ctx)
        return Path(value)


OUTPUT_PATH = OutputPath()


def is_stdout(output: Path) -> bool:
    """True for ``-o -``."""
    return os.fspath(output) == STDOUT


def shown_output(output: Path) -> str:
    """The output as a report names it."""
    return "standard output" if is_stdout(output) else str(output)


def check_output(output: Path, inputs: Sequence[Path], fmt: str) -> None:
    """Before any work: the output is not an input, and ``-o -`` does not share stdout with the
    JSON report."""
    ensure_not_input(output, inputs)
    if is_stdout(output) and fmt == "json":
        raise UsageError("-o - and --format json would both write to standard output: give -o FILE, or --format text")


def output_options(func: F) -> F:
    """``-o OUT``, ``--strict``, ``--format text|json``, ``--compact``."""
    func = click.option(
        "--compact",
        is_flag=True,
        help="Write the output JSON without indentation (about 40% of the size; same content).",
    )(func)
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Report format: text on stderr, or JSON on stdout.",
    )(func)
    func = click.option(
        "--strict",
        is_flag=True,
        help="Any error finding: exit 1 and write nothing.",
    )(func)
    func = click.option(
        "-o",
        "--output",
        type=OUTPUT_PATH,
        required=True,
        help="Output COCO keypoint JSON (written atomically; - for stdout; a device or pipe is written in place).",
    )(func)
    return func


def convert_and_finish(
    parsed: Parsed,
    user_spec: KeypointSpec | None,
    options: BuildOptions,
    output: Path,
    *,
    inputs: Sequence[Path],
    strict: bool,
    fmt: str,
    allow_partial: bool = False,
) -> int:
    """The end of every ``from-*`` command: run the pipeline, write, report, exit code."""
    from ..convert.pipeline import convert

    convs = convert(parsed, user_spec, options)
    title = f"kpconv from-{parsed.format}: {parsed.title}"
    if len(convs) == 1:
        return finish_conversion(
            next(iter(convs.values())), output, inputs=inputs, strict=strict, fmt=fmt, title=title, parsed=parsed,
            allow_partial=allow_partial,
        )
    return finish_subsets(convs, output, inputs=inputs, strict=strict, fmt=fmt, title=title)


def subset_output(output: Path, subset: str) -> Path:
    """``OUT.json`` for subset ``Train`` → ``OUT-Train.json`` (unsafe characters become ``_``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", subset) or "default"
    return output.with_name(f"{output.stem}-{safe}{output.suffix or '.json'}")


def finish_subsets(
    convs: dict[str, Conversion], output: Path, *, inputs: Sequence[Path], strict: bool, fmt: str, title: str
) -> int:
    """Like :func:`finish_conversion` for several subsets: all outputs are written, or none (--strict)."""
    if is_stdout(output):
        raise UsageError(f"-o -: the export has {len(convs)} subsets, one file each; give -o FILE, or --subset NAME")
    paths = {name: subset_output(output, name) for name in convs}
    for path in paths.values():
        ensure_not_input(path, inputs)
    has_errors = not all(conv.report.ok for conv in convs.values())
    written = not (strict and has_errors)
    if written:
        for name, conv in convs.items():
            conv.write(paths[name])
    spec = next(iter(convs.values())).spec
    if fmt == "json":
        doc: dict[str, Any] = {
            "ok": not has_errors,
            "subsets": {},
            "spec": spec.to_file() if spec is not None else None,
        }
        for name, conv in convs.items():
            entry = conv.report.to_dict()
            entry["output"] = str(paths[name]) if written else None
            doc["subsets"][name] = entry
        emit_json(doc)
    else:
        for name, conv in convs.items():
            click.echo(
                render_text(conv.report, title=f"{title} [subset {name} -> {paths[name]}]"),
                err=True,
            )
            click.echo("", err=True)
        echo_inferred_spec(spec, any(c.spec_inferred for c in convs.values()))
        for name in convs:
            if written:
                click.echo(f"wrote {paths[name]}", err=True)
        if not written:
            click.echo(f"--strict: errors found, nothing written ({len(paths)} subsets)", err=True)
    return 1 if has_errors else 0


def finish_conversion(
    conv: Conversion,
    output: Path,
    *,
    inputs: Sequence[Path],
    strict: bool,
    fmt: str,
    title: str,
    parsed: Parsed | None = None,
    allow_partial: bool = False,
) -> int:
    """Write the output (unless --strict and errors), print the report, return the exit code.

    Exit code: 0 when no error findings; 1 when there are errors (the output is still written
    without --strict, holding everything that converted; with --strict nothing is written). When
    nothing converted (no image read from any input) nothing is written either: exit 1; nor when
    some input files could not be read at all (``parsed.inputs_failed``), unless ``allow_partial``.
    Files the source carries beside the annotations (``parsed.extra_files``) are written with the
    output.
    """
    ensure_not_input(output, inputs)
    report = conv.report
    spec = conv.spec
    converted = _add_nothing_converted(conv, output)
    partial = converted and parsed is not None and bool(parsed.inputs_failed) and not allow_partial
    if partial:
        assert parsed is not None
        converted = False
        report.findings.append(error(
            "convert.inputs_failed",
            f"{parsed.inputs_failed} input file(s) could not be read (each named above): nothing written to "
            f"{shown_output(output)}; fix them, or pass --allow-partial to write what the others hold",
        ))  # fmt: skip
    has_errors = not report.ok
    written = converted and not (strict and has_errors)
    if written:
        conv.write(output)
        if parsed is not None and parsed.extra_files is not None:
            facts, problems = parsed.extra_files()
            report.findings.extend(problems)
            report.summary.setdefault(parsed.format, {}).update(facts)
            has_errors = not report.ok
    if fmt == "json":
        doc: dict[str, Any] = report.to_dict()
        doc["output"] = shown_output(output) if written else None
        doc["spec"] = spec.to_file() if spec is not None else None
        emit_json(doc)
    else:
        text = render_text(report, title=title)
        click.echo(text, err=True)
        echo_inferred_spec(spec, conv.spec_inferred)
        if written:
            click.echo(f"wrote {shown_output(output)}", err=True)
        elif partial:
            click.echo(f"input files unreadable: nothing written to {shown_output(output)} (--allow-partial "
                       "writes the others)", err=True)  # fmt: skip
        elif not converted:
            click.echo(f"nothing converted: nothing written to {shown_output(output)}", err=True)
        else:
            click.echo(f"--strict: errors found, nothing written to {shown_output(output)}", err=True)
    return 1 if has_errors else 0


def _add_nothing_converted(conv: Conversion, output: Path) -> bool:
    """True when the conversion holds an image; else an error finding saying nothing converted
    (an empty COCO file would only hide that every input failed)."""
    if conv.report.summary["converted"]["images"]:
        return True
    conv.report.findings.append(
        error(
            "convert.nothing_converted",
            f"no input converted (no image read): nothing written to {shown_output(output)}",
        )
    )
    return False


def echo_inferred_spec(spec: KeypointSpec | None, inferred: bool) -> None:
    """Print an inferred spec on stderr so the user can save, edit and pass it back."""
    if inferred and spec is not None and spec.categories:
        click.echo("\ninferred spec (save as spec.yaml, edit, pass --spec):", err=True)
        click.echo(spec.to_yaml().rstrip(), err=True)


def bbox_options(func: F) -> F:
    """``--bbox-from auto|points`` and ``--bbox-margin FRACTION`` (see BuildOptions)."""
    func = click.option(
        "--bbox-margin",
        type=click.FloatRange(min=0),
        default=0.1,
        show_default=True,
        help="For boxes derived from points: margin as a fraction of the points' extent (at least 1 px each side).",
    )(func)
    func = click.option(
        "--bbox-from",
        "bbox_from",
        type=click.Choice(["auto", "points"]),
        default="auto",
        show_default=True,
        help="auto: the drawn box when the instance has one, else the visible points; points: always the points.",
    )(func)
    return func


def build_options(bbox_from: str, bbox_margin: float, description: str, *, compact: bool) -> BuildOptions:
    from ..convert.builder import BuildOptions

    return BuildOptions(
        bbox_source=bbox_from, bbox_margin=bbox_margin, description=description, compact=compact  # type: ignore[arg-type]
    )
