"""The keypoint spec file format as pydantic models: its JSON Schema, and located messages.

:func:`kpconv.spec.spec_from_mapping` reads well-typed specs without these models (pydantic is
slow to import, and most specs need no coercion); it uses them for anything that needs coercing
or reporting, so the format and its error messages are defined here once.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

NameOrIndex = str | int


class CategorySpecFile(BaseModel):
    """One category as written in a spec file (pairs by name or 1-based index)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    keypoints: list[str]
    skeleton: list[tuple[NameOrIndex, NameOrIndex]] = Field(default_factory=list)
    flip_pairs: list[tuple[NameOrIndex, NameOrIndex]] | None = None
    sigmas: list[float] | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    supercategory: str | None = None
    id: int | None = None


class KeypointSpecFile(BaseModel):
    """A spec file: a list of categories."""

    model_config = ConfigDict(extra="forbid")

    categories: list[CategorySpecFile]
