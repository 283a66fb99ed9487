"""JSON Schema files generated from the pydantic models, for other tools and editors.

``python -m kpconv.schemas`` rewrites ``schemas/*.schema.json``; a test fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .fileio import dumps_json, write_json
from .model import Dataset
from .spec import spec_json_schema

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"


def generate() -> dict[str, dict[str, Any]]:
    """File name → schema document."""
    coco = Dataset.model_json_schema()
    coco["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    coco["title"] = "COCO keypoint dataset (kpconv structural model)"
    spec = spec_json_schema()
    spec["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    spec["title"] = "kpconv keypoint spec"
    return {"coco_keypoints.schema.json": coco, "keypoint_spec.schema.json": spec}


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    out = []
    for name, schema in generate().items():
        path = directory / name
        if not path.exists() or path.read_bytes() != dumps_json(schema):
            out.append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    directory = Path(argv[0]) if argv else SCHEMA_DIR
    for name, schema in generate().items():
        write_json(directory / name, schema)
        print(f"wrote {directory / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
