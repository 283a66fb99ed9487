"""What a finding points at: parsed from its RFC 6901 pointer into the COCO document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TargetKind = Literal["keypoint", "bbox", "annotation", "image", "other"]


def unescape_token(token: str) -> str:
    """Undo RFC 6901 escaping (``~1`` → ``/``, then ``~0`` → ``~``)."""
    return token.replace("~1", "/").replace("~0", "~")


def pointer_tokens(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer (``""`` → ``[]``)."""
    if not pointer or not pointer.startswith("/"):
        return []
    return [unescape_token(t) for t in pointer[1:].split("/")]


def _int(token: str) -> int | None:
    return int(token) if token.isdigit() else None


@dataclass(frozen=True)
class Target:
    """``kind`` of thing a finding is about; ``index`` is its position in the document's list.

    For ``keypoint``, ``keypoint`` is the 0-based keypoint (value index // 3).
    """

    kind: TargetKind
    index: int | None = None
    keypoint: int | None = None


def parse_target(pointer: str) -> Target:
    """``/annotations/17/keypoints/5`` → keypoint 1 of annotation 17; ``/annotations/17/bbox`` → box."""
    tokens = pointer_tokens(pointer)
    if len(tokens) >= 2 and tokens[0] == "annotations":
        idx = _int(tokens[1])
        if idx is None:
            return Target("other")
        rest = tokens[2:]
        if rest and rest[0] == "keypoints" and len(rest) >= 2 and _int(rest[1]) is not None:
            return Target("keypoint", idx, int(rest[1]) // 3)
        if rest and rest[0] == "bbox":
            return Target("bbox", idx)
        return Target("annotation", idx)
    if len(tokens) >= 2 and tokens[0] == "images":
        idx = _int(tokens[1])
        return Target("image", idx) if idx is not None else Target("other")
    return Target("other")
