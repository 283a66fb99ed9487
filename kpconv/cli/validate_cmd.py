"""``kpconv validate``: check a COCO keypoint file; text or JSON report; optional fixed copy.

A YOLO pose ``data.yaml`` (told by its content) is linted instead: the same report, JSON output
and exit codes (:func:`kpconv.formats.yolo.lint`).
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import click

from .. import progress
from ..errors import DataError, UsageError
from ..fileio import STDOUT as STDIN
from ..fileio import is_regular, loads_json, read_stream, utf8_bytes, write_json
from ..finding import Report, error
from ..validation import validate_bytes, validate_document
from ..validation.fix import fix_document
from .common import OUTPUT_PATH, check_output, is_stdout, shown_output
from .render import emit_json, render_counts, render_text

#: a file whose first byte can't start a JSON object is refused without reading the rest
_PEEK = 4096


def read_bytes(path: Path) -> bytes:
    """Read a file; refuse obvious non-JSON (1 GB of garbage) after a peek, not a full read.

    A pipe or device (``/dev/stdin``, a FIFO) is read once, at most ``$KPCONV_MAX_STREAM_BYTES``
    (:func:`kpconv.fileio.max_stream_bytes`); ``-`` is standard input.
    """
    shown = "standard input" if str(path) == STDIN else str(path)
    try:
        if str(path) == STDIN:
            return _checked(read_stream(sys.stdin.buffer, shown), shown)
        with path.open("rb") as fh:
            if not is_regular(fh):  # no seeking back: the peeked head is kept, the rest read bounded
                head = fh.read(_PEEK)
                _peek(head, shown)
                return _checked(read_stream(fh, shown, head=head), shown)
            head = fh.read(_PEEK)
            _peek(head, shown)
            fh.seek(0)
            data = fh.read()  # one buffer: `head + rest` would hold the file twice
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _checked(data: bytes, shown: str) -> bytes:
    _peek(data[:_PEEK], shown)
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def _peek(head: bytes, shown: str) -> None:
    utf8_bytes(head, source=shown)  # UTF-16/32 text is told as such
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise DataError(f"{shown}: the file is empty",
                        [error("document.not_json", "the file is empty", source=shown)])
    if stripped and stripped[:1] not in (b"{", b"["):
        what = f"not JSON: expected '{{' to start a COCO object, found {stripped[:16]!r}"
        where = f"{shown}:1:1"
        raise DataError(f"{where}: {what}", [error("document.not_json", what, source=where)])


def is_stream(path: Path) -> bool:
    """``-`` (standard input), or a path to something that is not a regular file or folder (a
    pipe, a device): read once, so not read again nor sniffed for YAML first."""
    if str(path) == STDIN:
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@click.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder the file_names are relative to: check each file exists, is readable, has the stated size.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: grouped findings and a summary; json: {ok, counts, issues, summary} on stdout.")
@click.option("--strict", is_flag=True, help="Warnings count as failures (exit 1).")
@click.option("--for-training", is_flag=True,
              help="Add the Keypoint R-CNN rules and a dry-run count of what training would skip.")
@click.option("--fix", "fix_out", type=OUTPUT_PATH,
              help="Write a repaired copy here (mechanical fixes only; every change listed; - for stdout). "
              "The input is never touched. The exit code is then that of the repaired copy.")
@click.option("--compact", is_flag=True, help="With --fix: write the repaired copy without indentation (about 40% of the size).")
@click.option("--max-per-code", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="List at most this many findings per code (the rest are counted).")
@click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the HTML report here instead (the same as `kpconv report FILE -o DIR`).")
def command(
    file: Path, images: Path | None, fmt: str, strict: bool, for_training: bool,
    fix_out: Path | None, compact: bool, max_per_code: int, html_dir: Path | None = None,
) -> int:
    """Check a COCO keypoint dataset and report every problem with its location.

    FILE may also be the data.yaml of an Ultralytics YOLO pose dataset: its kpt_shape, flip_idx,
    names and every label line of every split are checked.

    Exit 0: no errors (warnings allowed); 1: errors (or warnings with --strict); 2: usage.
    With --fix OUT the exit code is the repaired copy's: 0 when it is clean, 1 when problems
    remain, so `kpconv validate in.json --fix fixed.json && kpconv train fixed.json ...` works.
    """
    progress.enable()
    if html_dir is not None:  # an alias of `kpconv report`
        from .report_cmd import command as report_command

        return click.get_current_context().invoke(
            report_command, file=file, out_dir=html_dir, images=images, for_training=for_training,
            max_per_code=max_per_code, strict=strict)
    from ..formats import yolo  # numpy, the builder: only for a command that runs

    stream = is_stream(file)
    if not stream and yolo.looks_like_data_file(file):
        if images is not None or fix_out is not None or for_training or compact:
            raise UsageError(
                f"{file} is a YOLO pose data.yaml: --images, --fix, --compact and --for-training "
                "apply to COCO files (convert it with kpconv from-yolo first)"
            )
        report = yolo.lint(file, max_per_code)
        _emit(report, fmt, file, None, [])
        return 0 if report.passes(strict=strict) else 1
    if compact and fix_out is None:
        raise UsageError("--compact applies to the --fix output: give --fix OUT.json too")
    if fix_out is not None:
        check_output(fix_out, [file], fmt)
    try:
        data = read_bytes(file)
    except DataError as exc:
        report = Report(findings=exc.findings or [error("document.not_json", exc.message)])
        _emit(report, fmt, file, None, [])
        return 1
    kept = data if stream and fix_out is not None else None  # a pipe cannot be read again
    holder = [data]
    del data  # validate_bytes drops the bytes once decoded: peak memory is the records, not both
    report = validate_bytes(holder, images, for_training, max_per_code, source=str(file))
    changes = []
    fixed_report = None
    # An empty summary means no COCO object was read: the report says why, and nothing is written.
    if fix_out is not None and report.summary and _out_of_range(report):
        # --fix cannot choose a value for an id or number past 64 bits, and no JSON writer
        # (nor pycocotools) takes one: nothing is written, the report says where
        click.echo(f"--fix: nothing written to {shown_output(fix_out)}: integers out of the signed "
                   "64-bit range cannot be repaired; correct them in the source", err=True)
    elif fix_out is not None and report.summary:
        # read again rather than keep the parsed document through validation (peak memory)
        doc = loads_json(kept if kept is not None else read_bytes(file), source=str(file))
        changes = fix_document(doc)
        try:
            write_json(fix_out, doc, compact=compact)
        except DataError as exc:  # nested deeper than the JSON writer goes: the report says so
            click.echo(f"--fix: {exc.message}", err=True)
            report.findings.extend(exc.findings)
            changes = []
        else:
            fixed_report = validate_document(doc, images, for_training, max_per_code)
    _emit(report, fmt, file, fixed_report, changes, fix_out, strict)
    # with a repaired copy written, its state decides: what a script goes on to use is that file
    final = fixed_report if fixed_report is not None else report
    return 0 if final.passes(strict=strict) else 1


def _out_of_range(report: Report) -> bool:
    return any(f.code in ("ids.out_of_range", "number.out_of_range") for f in report.findings)


def _emit(report: Report, fmt: str, file: Path, fixed: Report | None, changes: list,  # type: ignore[type-arg]
          fix_out: Path | None = None, strict: bool = False) -> None:
    if fmt == "json":
        doc = report.to_dict()
        doc["file"] = str(file)
        if fixed is not None:
            doc["fix"] = {
                "output": str(fix_out),
                "changes": [c.to_dict() for c in changes],
                "ok_after_fix": fixed.ok,
                "counts_after_fix": fixed.to_dict()["counts"],
            }
        emit_json(doc)
        return
    err = fix_out is not None and is_stdout(fix_out)  # stdout holds the repaired copy
    click.echo(render_text(report, title=f"{file}"), err=err)
    if fixed is not None and fix_out is not None:
        click.echo(f"\n--fix: {len(changes)} change(s) written to {shown_output(fix_out)}:", err=err)
        for c in changes[:50]:
            click.echo(f"  {c.pointer}: {c.code[4:]}: {c.message}", err=err)
        if len(changes) > 50:
            click.echo(f"  ... and {len(changes) - 50} more (use --format json for all)", err=err)
        verdict = "OK" if fixed.passes(strict=strict) else "FAILED"
        click.echo(f"after the fix: {verdict}: {render_counts(fixed)}", err=err)
