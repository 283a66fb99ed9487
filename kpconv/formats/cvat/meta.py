"""The ``<meta>`` block of a CVAT export: labels, skeleton sublabels and edges, frame size, subsets.

Skeletons are labels of ``<type>skeleton</type>``; their keypoints are the labels whose
``<parent>`` names the skeleton, in the order they are listed. The edges only exist in the
skeleton label's ``<svg>`` (HTML-escaped in the XML, so plain text here): ``<line
data-node-from="3" data-node-to="2">`` refers to ``<circle data-node-id="3"
data-label-name="...">``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from ...finding import Finding, warning


@dataclass
class Label:
    """One ``<label>`` of the meta (sublabels carry their ``parent``)."""

    name: str
    type: str | None = None
    parent: str | None = None
    svg: str | None = None
    attribute_types: dict[str, str] = field(default_factory=dict)


@dataclass
class Meta:
    """What the converter needs from ``<meta>``."""

    labels: dict[str, Label] = field(default_factory=dict)  # top-level labels, meta order
    sublabels: dict[str, list[Label]] = field(default_factory=dict)  # skeleton -> ordered sublabels
    edges: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # skeleton -> name pairs
    frame_size: tuple[int, int] | None = None  # first <original_size> (video)
    task_frame_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    task_subsets: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def attribute_types(self, label: str, parent: str | None = None) -> dict[str, str]:
        if parent is not None:
            for sub in self.sublabels.get(parent, []):
                if sub.name == label:
                    return sub.attribute_types
            return {}
        lab = self.labels.get(label)
        return lab.attribute_types if lab else {}


def _text(elem: Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    return elem.text.strip()


def _size(elem: Element | None) -> tuple[int, int] | None:
    if elem is None:
        return None
    try:
        w = int(float(_text(elem.find("width")) or ""))
        h = int(float(_text(elem.find("height")) or ""))
    except ValueError:
        return None
    return (w, h) if w > 0 and h > 0 else None


def read_meta(meta: Element, where: str) -> Meta:
    """Read ``<meta>`` (task, job or project with several tasks)."""
    out = Meta()
    for lab in meta.iter("label"):
        name = _text(lab.find("name"))
        if name is None:
            continue
        label = Label(
            name=name,
            type=_text(lab.find("type")),
            parent=_text(lab.find("parent")) or None,
            svg=lab.findtext("svg"),
        )
        for attr in lab.iter("attribute"):
            aname = _text(attr.find("name"))
            if aname:
                label.attribute_types[aname] = _text(attr.find("input_type")) or "text"
        if label.parent is not None:
            subs = out.sublabels.setdefault(label.parent, [])
            if any(s.name == name for s in subs):
                continue  # the same sublabel listed by the project and by a task
            subs.append(label)
        elif name not in out.labels:
            out.labels[name] = label
    for name, label in out.labels.items():
        if label.type == "skeleton" or name in out.sublabels:
            out.sublabels.setdefault(name, [])
            out.edges[name] = _svg_edges(label, out.sublabels[name], where, out.findings)
    for task in meta.iter("task"):
        tid = _text(task.find("id"))
        size = _size(task.find("original_size"))
        subset = _text(task.find("subset"))
        if tid and size:
            out.task_frame_sizes[tid] = size
        if tid and subset:
            out.task_subsets[tid] = subset
    for size_elem in meta.iter("original_size"):
        out.frame_size = _size(size_elem)
        if out.frame_size:
            break
    return out


_SVG_TAG = re.compile(r"<\s*(line|circle)\b([^>]*)>", re.IGNORECASE)
_SVG_ATTR = re.compile(r'([\w:.-]+)\s*=\s*"([^"]*)"')


def _svg_edges(
    label: Label, subs: list[Label], where: str, findings: list[Finding]
) -> list[tuple[str, str]]:
    """Skeleton edges (pairs of sublabel names) from the label's SVG drawing."""
    if not label.svg:
        return []
    nodes: dict[str, str] = {}
    raw_edges: list[tuple[str, str]] = []
    for m in _SVG_TAG.finditer(label.svg):
        attrs = {k: html.unescape(v) for k, v in _SVG_ATTR.findall(m.group(2))}
        if m.group(1).lower() == "circle":
            node, name = attrs.get("data-node-id"), attrs.get("data-label-name")
            if node is not None and name is not None:
                nodes[node] = name
        elif "data-node-from" in attrs and "data-node-to" in attrs:
            raw_edges.append((attrs["data-node-from"], attrs["data-node-to"]))
    known = {s.name for s in subs}
    edges: list[tuple[str, str]] = []
    seen: set[frozenset[str]] = set()
    loc = f'{where}:<meta>/<label name="{label.name}">/svg'
    for a, b in raw_edges:
        na, nb = nodes.get(a), nodes.get(b)
        if na is None or nb is None or na not in known or nb not in known:
            findings.append(
                warning(
                    "cvat.svg_edge_unknown_node",
                    f"skeleton {label.name!r}: edge {a}->{b} refers to a node that is not one of "
                    f"its sublabels ({', '.join(sorted(known)) or 'none'}); edge dropped",
                    source=loc,
                )
            )
            continue
        key = frozenset((na, nb))
        if na == nb or key in seen:
            continue
        seen.add(key)
        edges.append((na, nb))
    return edges


def typed_value(input_type: str | None, text: str | None) -> Any:
    """An attribute value typed by its meta ``input_type`` (checkbox → bool, number → int/float)."""
    value = (text or "").strip()
    if input_type == "checkbox" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if input_type == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        if number.is_integer() and "." not in value and "e" not in value.lower():
            return int(number)
        return number
    return value
