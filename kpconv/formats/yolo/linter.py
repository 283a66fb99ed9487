"""``kpconv validate DATA.yaml``: the linter for YOLO pose datasets.

Every rule of :mod:`.checks` on ``data.yaml`` and on every label line of every split, plus what
reading the splits finds (missing folders, unreadable or tiny images, labels without images). The
report has the same shape, JSON form and exit codes as a COCO validation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ...finding import Finding, Report, Severity
from .checks import DATA_CHECKS, LINT_CHECKS
from .datafile import load_data_file
from .reader import read_split

MAX_PER_CODE = 10_000


def lint(data_yaml: Path, max_per_code: int = MAX_PER_CODE) -> Report:
    """Check a YOLO pose dataset (its ``data.yaml``, every split's labels and images).

    Raises :class:`~kpconv.errors.DataError` only when ``data.yaml`` is not a YAML mapping.
    """
    data = load_data_file(Path(data_yaml))
    for check in DATA_CHECKS + LINT_CHECKS:
        check(data)
    findings: list[Finding] = list(data.findings)
    seen: set[Finding] = set()
    splits: dict[str, dict[str, int]] = {}
    if data.kpt_shape is not None and data.names:
        for split in data.splits:
            sr = read_split(data, split)
            # splits may share files (val: images/train): one finding per problem, not per split
            for f in sr.findings:
                if f not in seen:
                    seen.add(f)
                    findings.append(f)
            n_lines = len(sr.lines) if sr.lines is not None else 0
            splits[split] = {
                "images": len(sr.images),
                "label_files": sr.label_files,
                "instances": n_lines,
            }
    codes = Counter(f.code for f in findings)
    summary: dict[str, Any] = {
        "format": "yolo-pose",
        "images": sum(s["images"] for s in splits.values()),
        "annotations": sum(s["instances"] for s in splits.values()),
        "categories": len(data.names),
        "kpt_shape": [data.kpt_shape.k, data.kpt_shape.ndim] if data.kpt_shape else None,
        "splits": splits,
        "codes": dict(sorted(codes.items())),
    }
    return Report(findings=_capped(findings, codes, max_per_code), summary=summary)


def _capped(findings: list[Finding], codes: Counter[str], max_per_code: int) -> list[Finding]:
    """At most ``max_per_code`` findings per code, then one saying how many more there are."""
    if all(n <= max_per_code for n in codes.values()):
        return findings
    seen: Counter[str] = Counter()
    out: list[Finding] = []
    for f in findings:
        seen[f.code] += 1
        if seen[f.code] <= max_per_code:
            out.append(f)
    for code, n in codes.items():
        if n > max_per_code:
            sev = next(f.severity for f in findings if f.code == code)
            out.append(
                Finding(
                    code,
                    Severity(sev),
                    f"{n - max_per_code} more findings with this code not listed "
                    f"(the first {max_per_code} are)",
                )
            )
    return out
