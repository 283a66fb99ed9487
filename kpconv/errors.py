"""Exceptions for "cannot continue"; each carries the process exit code the CLI uses."""

from __future__ import annotations

from .finding import Finding


class KpconvError(Exception):
    """Base class: a message for the user and an exit code (1 data, 2 usage)."""

    exit_code = 1

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.findings = findings or []


class DataError(KpconvError):
    """The input data cannot be used (not JSON, not COCO, hostile XML, ...). Exit 1."""

    exit_code = 1


class UsageError(KpconvError):
    """The command was called wrongly (bad option, missing file). Exit 2."""

    exit_code = 2


class MissingDependencyError(KpconvError):
    """An optional extra (``kpconv[train]``) is needed but not installed. Exit 2."""

    exit_code = 2
