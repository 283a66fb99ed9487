"""Formatting reports for people (text) and programs (JSON). Only the CLI calls this."""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

from ..fileio import dumps_json
from ..finding import Finding, Report, Severity

MAX_PER_CODE = 20

#: whether this run has printed its JSON report (the CLI prints one report, never two)
_json_emitted = False


def emit_json(doc: Any) -> None:
    """Print a command's JSON report on stdout (the one place commands print JSON)."""
    global _json_emitted
    sys.stdout.buffer.write(dumps_json(doc))
    sys.stdout.flush()
    _json_emitted = True


def json_emitted() -> bool:
    """True when :func:`emit_json` has printed a report in this run."""
    return _json_emitted


def reset_json_emitted() -> None:
    """Start of a run (the CLI can run several times in one process, as tests do)."""
    global _json_emitted
    _json_emitted = False


def _line(f: Finding) -> str:
    ids = []
    if f.image_id is not None:
        ids.append(f"image {f.image_id}")
    if f.annotation_id is not None:
        ids.append(f"annotation {f.annotation_id}")
    where = f.location()
    if f.source and f.pointer:
        where = f"{f.source} ({f.pointer})"
    tail = f" [{', '.join(ids)}]" if ids else ""
    return f"  {where}: {f.message}{tail}"


def render_findings(report: Report, *, max_per_code: int = MAX_PER_CODE) -> list[str]:
    """Findings grouped by severity then code, at most ``max_per_code`` lines per code."""
    lines: list[str] = []
    groups: dict[tuple[int, str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[(f.severity.rank, f.severity.value, f.code)].append(f)
    for (_, sev, code), items in sorted(groups.items()):
        lines.append(f"{sev.upper()} {code} ({len(items)})")
        for f in items[:max_per_code]:
            lines.append(_line(f))
        if len(items) > max_per_code:
            lines.append(f"  ... and {len(items) - max_per_code} more (use --format json for all)")
    return lines


def render_counts(report: Report) -> str:
    e, w, i = (report.count(s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    return f"{e} error(s), {w} warning(s), {i} note(s)"


def render_summary(summary: dict[str, Any]) -> list[str]:
    """Generic summary lines: scalar counts, per-code counts, the keypoint visibility table."""
    lines: list[str] = []
    for key in ("images", "annotations", "categories"):
        if key in summary:
            lines.append(f"{key}: {summary[key]}")
    conv = summary.get("converted")
    if conv:
        # its errors/warnings are the conversion's; the last line counts the output's check too
        counts = {k: v for k, v in conv.items() if k not in ("errors", "warnings")}
        stage = [f"{conv[k]} {k[:-1]}(s)" for k in ("errors", "warnings") if k in conv]
        lines.append(
            "converted: "
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
            + (f" (conversion alone: {', '.join(stage)})" if stage else "")
        )
    vis = summary.get("visibility")
    if vis:
        lines.append("keypoint visibility (v=0 / v=1 / v=2):")
        for cat_name, table in vis.items():
            lines.append(f"  {cat_name}:")
            width = max((len(k) for k in table), default=4)
            for kp, counts in table.items():
                lines.append(f"    {kp:<{width}}  {counts[0]:>8} {counts[1]:>8} {counts[2]:>8}")
    skipped = summary.get("training_skips")
    if skipped:
        lines.append("training dry run (annotations Keypoint R-CNN would skip):")
        for reason, n in skipped.items():
            lines.append(f"  {reason}: {n}")
    codes = summary.get("codes")
    if codes:
        lines.append("findings per code: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
    return lines


def render_text(report: Report, *, title: str = "") -> str:
    """The full text report: grouped findings, summary, counts."""
    lines: list[str] = []
    if title:
        lines.append(title)
    lines.extend(render_findings(report))
    summ = render_summary(report.summary)
    if summ:
        if lines:
            lines.append("")
        lines.extend(summ)
    verdict = "OK" if report.ok else "FAILED"
    lines.append(f"{verdict}: {render_counts(report)}")
    return "\n".join(lines)
