"""Exceptions for "cannot continue"; each carries the process exit code the CLI uses.

Each also carries a finding code, so that the CLI's one catch can report it as the same record
every other problem is reported with (:meth:`KpconvError.to_report`).
"""

from __future__ import annotations

from .finding import Finding, Report, error


class KpconvError(Exception):
    """Base class: a message for the user and an exit code (1 data, 2 usage)."""

    exit_code = 1
    #: the finding code of the error when it carries no findings of its own
    code = "error"

    def __init__(
        self, message: str, findings: list[Finding] | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.findings = findings or []
        if code is not None:
            self.code = code

    def to_report(self) -> Report:
        """The error as a report: its findings (or one made from the message) and the exit code."""
        findings = self.findings or [error(self.code, self.message)]
        return failure_report(findings, self.message, self.exit_code)


def failure_report(findings: list[Finding], message: str, exit_code: int) -> Report:
    """The report of a command that could not continue: ``summary`` holds the message and exit code."""
    return Report(findings=list(findings), summary={"error": message, "exit_code": exit_code})


class DataError(KpconvError):
    """The input data cannot be used (not JSON, not COCO, hostile XML, ...). Exit 1."""

    exit_code = 1
    code = "input.invalid"


class OutputError(KpconvError):
    """The output cannot be written (read-only folder, full disk, a socket). Exit 1."""

    exit_code = 1
    code = "output.cannot_write"


class UsageError(KpconvError):
    """The command was called wrongly (bad option, missing file). Exit 2."""

    exit_code = 2
    code = "usage.invalid"


class MissingDependencyError(KpconvError):
    """An optional extra (``kpconv[train]``) is needed but not installed. Exit 2."""

    exit_code = 2
    code = "usage.missing_dependency"
