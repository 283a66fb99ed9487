"""The thin command line: each command parses options, calls the library, formats the result.

Commands are imported lazily so ``kpconv validate`` never imports torch. Errors are caught in one
place (:func:`main`): a :class:`kpconv.errors.KpconvError` becomes its message on stderr and its
exit code (1 data problems, 2 usage), never a traceback; with ``--format json`` also one JSON
report on stdout, the same ``{ok, counts, issues, summary}`` a command prints when it runs through.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import KpconvError, failure_report
from ..finding import Finding, error
from . import render

#: command name -> "module:attribute" (one table, no plugin machinery)
COMMANDS: dict[str, tuple[str, str]] = {
    "from-labelme": ("kpconv.cli.labelme_cmd:command", "LabelMe / X-AnyLabeling JSON -> COCO keypoints."),
    "from-cvat": ("kpconv.cli.cvat_cmd:command", "CVAT for images/video 1.1 XML (or zip) -> COCO keypoints."),
    "from-csv": ("kpconv.cli.csv_cmd:command", "DeepLabCut, long, wide or SLEAP CSV -> COCO keypoints."),
    "from-yolo": ("kpconv.cli.yolo_cmd:from_yolo_command", "Ultralytics YOLO pose data.yaml + labels -> COCO keypoints."),
    "to-yolo": ("kpconv.cli.yolo_cmd:to_yolo_command", "A validated COCO keypoint dataset -> YOLO pose (images, labels, data.yaml)."),
    "to-labelme": ("kpconv.cli.export_cmd:to_labelme_command", "A validated COCO keypoint dataset -> LabelMe JSON, one file per image."),
    "to-cvat": ("kpconv.cli.export_cmd:to_cvat_command", "A validated COCO keypoint dataset -> CVAT for images/video 1.1 XML (or zip)."),
    "from-labelstudio": ("kpconv.cli.labelstudio_cmd:from_labelstudio_command", "Label Studio JSON / JSON-MIN export -> COCO keypoints."),
    "to-labelstudio": ("kpconv.cli.labelstudio_cmd:to_labelstudio_command", "A validated COCO keypoint dataset -> Label Studio tasks + label config."),
    "validate": ("kpconv.cli.validate_cmd:command", "Check a COCO keypoint dataset; optionally write a fixed copy."),
    "visualize": ("kpconv.cli.visualize_cmd:command", "Draw keypoints, skeletons and findings on the images."),
    "report": ("kpconv.cli.report_cmd:command", "A static HTML page of a dataset: verdict, every finding, charts, flagged images."),
    "train": ("kpconv.cli.train_cmd:train_command", "Train Keypoint R-CNN on a validated dataset (kpconv[train])."),
    "evaluate": ("kpconv.cli.train_cmd:evaluate_command", "COCO keypoint/box AP of a checkpoint on a dataset."),
    "predict": ("kpconv.cli.train_cmd:predict_command", "Run a checkpoint on images -> COCO results JSON."),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        module = importlib.import_module(module_name)
        cmd = getattr(module, attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table, so `kpconv --help` imports no command module (and never torch).
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[1]) for name, entry in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kpconv")
def cli() -> None:
    """Convert keypoint annotations to COCO, validate, visualize, and train Keypoint R-CNN.

    Exit codes: 0 ok, 1 data problems (errors found, or warnings with --strict), 2 usage.
    """


#: commands that do linear algebra (torch, and numpy through it); the others do none
_BLAS_COMMANDS = frozenset({"train", "evaluate", "predict"})


def _quiet_blas(args: list[str]) -> None:
    """Keep OpenBLAS to one thread in a fresh process whose command does no linear algebra.

    numpy's OpenBLAS starts a thread per core at import, and their spin-up costs about 0.1 s of
    CPU on every run of every command. Only set when numpy is not loaded yet (a library caller's
    process is left alone) and the user has not chosen.
    """
    if "numpy" in sys.modules:
        return
    command = next((a for a in args if not a.startswith("-")), "")
    if command not in _BLAS_COMMANDS:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _wants_json(args: list[str]) -> bool:
    """True when the command line asks for ``--format json`` (read before click parses it, so
    that a usage error is reported as JSON too)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--format=json" or (arg == "--format" and args[i + 1 : i + 2] == ["json"]):
            return True
    return False


def _fail(message: str, exit_code: int, as_json: bool, findings: list[Finding] | None = None,
          code: str = "usage.invalid") -> None:
    """Exit with ``exit_code``; with --format json, first the failure as the one report on stdout
    (unless the command printed its report already)."""
    if as_json and not render.json_emitted():
        report = failure_report(findings or [error(code, message)], message, exit_code)
        render.emit_json(report.to_dict())
    sys.exit(exit_code)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    _quiet_blas(args)
    as_json = _wants_json(args)
    render.reset_json_emitted()
    try:
        rv = cli.main(args=argv, prog_name="kpconv", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        _fail(exc.format_message(), 2, as_json)
    except click.Abort:
        click.echo("kpconv: aborted", err=True)
        _fail("aborted", 130, as_json, code="interrupted")
    except KpconvError as exc:
        click.echo(f"kpconv: error: {exc.message}", err=True)
        _fail(exc.message, exc.exit_code, as_json, exc.to_report().findings)
    except KeyboardInterrupt:
        click.echo("kpconv: interrupted", err=True)
        _fail("interrupted", 130, as_json, code="interrupted")
    except Exception as exc:  # a bug in kpconv: say so in one line, traceback on request
        if os.environ.get("KPCONV_DEBUG"):
            raise
        message = f"internal error: {type(exc).__name__}: {exc}"
        click.echo(f"kpconv: {message} (set KPCONV_DEBUG=1 for a traceback and please report it)", err=True)
        _fail(message, 1, as_json, code="internal.error")
    sys.exit(rv if isinstance(rv, int) else 0)
