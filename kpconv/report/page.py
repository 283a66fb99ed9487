"""The report page: semantic HTML (readable without script) plus the findings as one JSON blob."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

import orjson

from ..finding import Report, Severity
from . import charts
from .assets import CSS, JS
from .dataset import ReportDataset
from .pictures import Picture

#: findings written as HTML rows for readers without script (the script renders the rest)
STATIC_ROWS = 200
#: the table's columns: (heading, row field the script sorts by)
COLUMNS = (("#", 0), ("severity", 1), ("code", 2), ("message", 3), ("where", 4), ("image", 8), ("instance", 7))


def verdict(report: Report) -> tuple[str, str]:
    """(css class, words): errors, warnings or OK, as ``validate`` decides."""
    if not report.ok:
        return "errors", f"FAILED: {report.count(Severity.ERROR)} error(s)"
    if report.count(Severity.WARNING):
        return "warnings", f"OK with {report.count(Severity.WARNING)} warning(s)"
    return "ok", "OK"


def code_counts(report: Report) -> list[tuple[str, str, int, int]]:
    """(code, severity, findings listed, findings counted) per code, as ``validate`` counts them."""
    listed = report.codes()
    counted: dict[str, int] = dict(report.summary.get("codes") or listed)
    severity = {f.code: f.severity.value for f in reversed(report.findings)}
    return [(code, severity.get(code, ""), listed.get(code, 0), int(n)) for code, n in sorted(counted.items())]


def _json_blob(obj: Any) -> str:
    # '<' only occurs inside JSON strings, where \u003c is the same character: no '</script>'
    return orjson.dumps(obj).decode("utf-8").replace("<", "\\u003c")


def _counts_section(report: Report) -> str:
    counts = report.to_dict()["counts"]
    head = "".join(
        f'<tr><th scope="row" class="sev-{s}">{s}</th><td class="n" data-count="{s}">{counts[s]}</td></tr>'
        for s in ("error", "warning", "info")
    )
    body = "".join(
        f'<tr><td><code>{escape(code)}</code></td><td class="sev-{sev}">{sev}</td>'
        f'<td class="n" data-code="{escape(code)}">{n}</td>'
        f'<td class="n">{"" if listed == n else listed}</td></tr>'
        for code, sev, listed, n in code_counts(report)
    )
    return (
        '<section id="counts"><h2>Counts</h2><div class="charts">'
        f'<table id="severity-counts"><caption>findings by severity</caption><tbody>{head}</tbody></table>'
        '<table id="code-counts"><caption>findings by code</caption><thead><tr><th scope="col">code</th>'
        '<th scope="col">severity</th><th scope="col">count</th><th scope="col">listed</th></tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )


def _summary_section(report: Report) -> str:
    s = report.summary
    items = [(k, s[k]) for k in ("images", "annotations", "categories", "keypoints_visible") if k in s]
    if not items:
        return ""
    dl = "".join(f"<dt>{escape(k.replace('_', ' '))}</dt><dd>{v}</dd>" for k, v in items)
    return f'<section id="summary"><h2>Dataset</h2><dl class="charts">{dl}</dl></section>'


def _training_section(report: Report) -> str:
    skips: dict[str, int] = report.summary.get("training_skips") or {}
    box_only = [f for f in report.findings if f.code == "training.box_only"]
    rows = "".join(f'<tr><td>{escape(k)}</td><td class="n">{v}</td></tr>' for k, v in skips.items())
    box = "".join(f"<li>{escape(f.message)}</li>" for f in box_only[:20])
    return (
        '<section id="training"><h2>Training dry run</h2>'
        "<p>What <code>kpconv train</code> would leave out (the same rule training applies).</p>"
        + (f'<table><thead><tr><th scope="col">skipped because</th><th scope="col">annotations</th></tr></thead>'
           f"<tbody>{rows}</tbody></table>" if rows else "<p>Training skips no annotation.</p>")
        + (f"<h3>Box-only annotations ({len(box_only)})</h3><ul>{box}</ul>" if box_only else "")
        + "</section>"
    )


def _charts_section(report: Report, ds: ReportDataset | None) -> str:
    parts = []
    for cat, table in (report.summary.get("visibility") or {}).items():
        parts.append(f"<figure>{charts.visibility_chart(table, f'keypoint visibility: {cat}')}"
                     f"<figcaption>keypoint visibility, {escape(cat)}</figcaption></figure>")
    if report.summary.get("instances_per_image"):
        parts.append(f"<figure>{charts.instances_chart(report.summary['instances_per_image'])}"
                     "<figcaption>images by number of instances</figcaption></figure>")
    heat = ""
    if ds is not None and ds.annotations:
        parts.append(f"<figure>{charts.bar_chart(charts.box_sizes(ds), 'box sizes', 'COCO area: small < 32², medium < 96², large')}"
                     "<figcaption>instances by COCO size</figcaption></figure>")
        for cat, (names, grid) in charts.keypoint_heat(ds).items():
            cells = "".join(
                f'<figure><img src="{charts.heat_png(grid[j])}" alt="heat map of {escape(name)} in its box" '
                f'width="72" height="72"><figcaption>{escape(name)} ({int(grid[j].sum())})</figcaption></figure>'
                for j, name in enumerate(names)
            )
            heat += (f"<h3>Keypoint positions in their box: {escape(cat)}</h3>"
                     f'<p class="muted">v&gt;0 points, x and y as a fraction of the box (top left = box corner); '
                     f'a swapped left/right shows as mirrored maps.</p><div class="heat">{cells}</div>')
    if not parts and not heat:
        return ""
    return f'<section id="charts"><h2>Charts</h2><div class="charts">{"".join(parts)}</div>{heat}</section>'


def _static_row(r: list[Any], pictures: list[Picture]) -> str:
    pic = pictures[r[10]] if r[10] >= 0 else None
    image = "" if r[8] is None else escape(str(r[8])) + ("" if r[6] is None else f" (id {r[6]})")
    if pic is not None and pic.src:
        image = f'<a href="{escape(pic.src)}">{image}</a>'
    where = f"<code>{escape(r[4] or '/')}</code>" + (f'<div class="muted">{escape(r[5])}</div>' if r[5] else "")
    instance = "" if r[7] is None else f"{escape(r[9] + ' ') if r[9] else ''}id {r[7]}"
    return (f'<tr id="f{r[0]}"><td><a href="#f{r[0]}">#{r[0] + 1}</a></td><td class="sev-{r[1]}">{r[1]}</td>'
            f"<td><code>{escape(r[2])}</code></td><td>{escape(r[3])}</td><td>{where}</td>"
            f"<td>{image}</td><td>{instance}</td></tr>")


def _options(values: list[str]) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


def _findings_section(rows: list[list[Any]], pictures: list[Picture]) -> str:
    codes = sorted({r[2] for r in rows})
    cats = sorted({r[9] for r in rows if r[9]})
    heads = "".join(f'<th scope="col" data-col="{col}"><button type="button">{name}</button></th>'
                    for name, col in COLUMNS)
    static = "".join(_static_row(r, pictures) for r in rows[:STATIC_ROWS])
    more = (f'<p class="muted">The first {STATIC_ROWS} of {len(rows)} findings; turn on JavaScript for the rest.</p>'
            if len(rows) > STATIC_ROWS else "")
    return (
        '<section id="findings"><h2>Findings</h2>'
        '<form id="filters" class="filters" hidden>'
        '<label>severity<select name="severity"><option value="">all</option>'
        + _options(["error", "warning", "info"]) + "</select></label>"
        '<label>code<select name="code"><option value="">all</option>' + _options(codes) + "</select></label>"
        '<label>category<select name="category"><option value="">all</option>' + _options(cats) + "</select></label>"
        '<label>image name<input name="image" type="search" placeholder="part of a file name"></label>'
        '</form><p id="shown-count" class="muted" aria-live="polite"></p>'
        f'<table id="findings-table"><thead><tr>{heads}</tr></thead><tbody id="findings-body">{static}</tbody></table>'
        f'{more}<button type="button" id="show-more" hidden>show more</button></section>'
    )


def _gallery_section(pictures: list[Picture]) -> str:
    if not pictures:
        return ""
    figs = "".join(
        f'<figure><a href="{escape(p.src)}"><img loading="lazy" src="{escape(p.src)}" alt="{escape(p.image.file_name)}"></a>'
        f"<figcaption>{escape(p.image.file_name)}: {len(p.findings)} finding(s)</figcaption></figure>"
        if p.src else f'<figure><figcaption>{escape(p.image.file_name)}: {escape(p.note)}</figcaption></figure>'
        for p in pictures
    )
    flagged = sum(1 for p in pictures if p.findings)
    return (f'<section id="images"><h2>Images</h2><p class="muted">{flagged} flagged image(s) and '
            f'{len(pictures) - flagged} clean one(s), drawn by the visualizer (v=2 filled, v=1 hollow, '
            f'findings numbered).</p><div class="gallery">{figs}</div></section>')


def render_page(report: Report, ds: ReportDataset | None, rows: list[list[Any]],
                pictures: list[Picture], title: str, for_training: bool) -> str:
    """The whole ``index.html``: inline style and script, no external resource."""
    css_class, words = verdict(report)
    data = {"findings": rows, "pictures": [p.to_dict() for p in pictures]}
    severities = Counter(r[1] for r in rows)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p><span id="verdict" class="verdict {css_class}">{escape(words)}</span> '
        f'<span class="muted">{severities["error"]} error(s), {severities["warning"]} warning(s), '
        f'{severities["info"]} info listed</span></p></header><main>'
        + _counts_section(report) + _summary_section(report)
        + (_training_section(report) if for_training else "")
        + _findings_section(rows, pictures) + _charts_section(report, ds) + _gallery_section(pictures)
        + f'</main><script type="application/json" id="report-data">{_json_blob(data)}</script>'
        f"<script>{JS}</script></body></html>"
    )
