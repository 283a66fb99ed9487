"""The one record every kpconv module reports problems with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    """How bad a finding is: errors block training and fail validation."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


def escape_pointer_token(token: str | int) -> str:
    """Escape one RFC 6901 reference token (``~`` → ``~0``, ``/`` → ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Build an RFC 6901 JSON Pointer from tokens: ``pointer("annotations", 3, "bbox")``."""
    return "".join("/" + escape_pointer_token(t) for t in tokens)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) about a dataset or a source file.

    ``code`` is a stable dotted identifier (``keypoints.length``); ``pointer`` is an RFC 6901
    JSON Pointer into the COCO document ("" for the whole document); ``source`` is where known the
    place in the source file (``file.xml:<image name="a.jpg">/skeleton[2]``, ``points.csv:17:nose_x``).
    """

    code: str
    severity: Severity
    message: str
    pointer: str = ""
    image_id: int | None = None
    annotation_id: int | None = None
    source: str | None = None
    fixable: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "pointer": self.pointer,
            "message": self.message,
        }
        if self.image_id is not None:
            out["image_id"] = self.image_id
        if self.annotation_id is not None:
            out["annotation_id"] = self.annotation_id
        if self.source is not None:
            out["source"] = self.source
        if self.fixable:
            out["fixable"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=str(data["code"]),
            severity=Severity(data.get("severity", "error")),
            message=str(data.get("message", "")),
            pointer=str(data.get("pointer", "")),
            image_id=data.get("image_id"),
            annotation_id=data.get("annotation_id"),
            source=data.get("source"),
            fixable=bool(data.get("fixable", False)),
        )

    def location(self) -> str:
        """Human-readable location: the source place when known, else the JSON pointer."""
        if self.source:
            return self.source
        return self.pointer or "/"


def error(code: str, message: str, pointer: str = "", **kw: Any) -> Finding:
    return Finding(code, Severity.ERROR, message, pointer, **kw)


def warning(code: str, message: str, pointer: str = "", **kw: Any) -> Finding:
    return Finding(code, Severity.WARNING, message, pointer, **kw)


def info(code: str, message: str, pointer: str = "", **kw: Any) -> Finding:
    return Finding(code, Severity.INFO, message, pointer, **kw)


def from_pydantic_errors(
    errors: Iterable[dict[str, Any]], *, base: Sequence[str | int] = (), code_prefix: str = "schema"
) -> list[Finding]:
    """Map pydantic's ``{type, loc, msg, input}`` error records into findings."""
    out: list[Finding] = []
    for err in errors:
        loc = tuple(base) + tuple(err.get("loc", ()))
        kind = str(err.get("type", "invalid"))
        found = err.get("input")
        try:
            found_s = repr(found)
        except RecursionError:  # a value nested past Python's stack (JSON allows 1,024 levels)
            found_s = f"a {type(found).__name__} nested too deep to show"
        if len(found_s) > 60:
            found_s = found_s[:57] + "..."
        out.append(
            error(
                f"{code_prefix}.{kind}",
                f"{err.get('msg', 'invalid value')} (found {found_s})",
                pointer(*loc),
            )
        )
    return out


@dataclass
class Report:
    """The result of validating or converting: findings plus a summary."""

    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def codes(self) -> Counter[str]:
        return Counter(f.code for f in self.findings)

    def passes(self, *, strict: bool = False) -> bool:
        """True when no errors (and, with ``strict``, no warnings either)."""
        if strict:
            return not any(f.severity in (Severity.ERROR, Severity.WARNING) for f in self.findings)
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": {s.value: self.count(s) for s in Severity},
            "issues": [f.to_dict() for f in self.findings],
            "summary": self.summary,
        }
