"""A validated COCO keypoint dataset → CVAT for images 1.1 / CVAT for video 1.1 XML (``kpconv to-cvat``).

The layout CVAT's own exporter writes (``dump_as_cvat_annotation`` / ``dump_as_cvat_interpolation``
in ``cvat/apps/dataset_manager/formats/cvat.py``) with every attribute its importer (``load_anno``)
reads: ``<meta><task>`` declares each keypoint category as a ``skeleton`` label whose ``<svg>``
holds the edges (``data-type="edge" data-node-from/to``, 1-based in the category's keypoint
order) and one ``element node`` circle per keypoint, then each keypoint as a ``points`` label
with ``<parent>``. With ``boxes`` each category also gets a ``rectangle`` label ``<name>_box``
(CVAT gives every label one shape type: a skeleton label cannot label a box), and each
instance's bbox is a ``<box>`` in the same ``group_id`` as its skeleton.

Images: one ``<image id name width height>`` per COCO image; each instance a ``<skeleton
label source z_order>`` with all K element ``<points label source outside occluded points>``
(``outside="1"`` for v=0, placed at the box centre so that un-hiding it in CVAT shows it near
its object; ``occluded="1"`` for v=1). Video: one ``<track>`` per instance, or per
``attributes.track_id`` (what ``from-cvat`` writes), with a ``<skeleton frame keyframe
z_order>`` per frame holding the element points (``keyframe`` on each); where a track stops
before the last frame, an all-``outside`` keyframe ends it, as CVAT does. Coordinates keep
CVAT's two decimals where that is exact and every digit otherwise, so ``from-cvat`` gives the
same points back.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ...errors import UsageError
from ...fileio import atomic_write_bytes
from ...finding import Finding, Report, error, info, pointer, warning

#: label colours, in CVAT's palette order (any colour imports; these keep reruns byte-identical)
_COLORS = ("#fa3253", "#33ddff", "#34d1b7", "#ff007c", "#ddff33", "#24b353", "#b83df5", "#66ff66", "#32b7fa", "#ffcc33")  # fmt: skip
#: instances per category whose poses place the nodes of CVAT's skeleton template
_TEMPLATE_SAMPLE = 1000
_ATTR = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


@dataclass
class WriteOptions:
    """How ``to-cvat`` writes: ``boxes`` adds each bbox as a grouped ``<box>``; ``video`` writes
    CVAT for video 1.1 (tracks) instead of CVAT for images 1.1."""

    boxes: bool = True
    video: bool = False
    task_name: str = "kpconv export"
    frame_pattern: str | None = None  # None: from-cvat's default (frame_000000.png)


@dataclass
class Plan:
    """The XML ``write`` would write, and the findings that decide whether it may."""

    xml: bytes = b""
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Category:
    name: str
    keypoints: list[str]
    skeleton: list[list[int]]
    box_label: str
    # per keypoint: sum of x, y relative to the box (0..1) and how many, for the SVG template
    sums: list[list[float]] = field(default_factory=list)
    sampled: int = 0
    # per (indent, keyframe): each element's `<points label=".." ... outside="` opening
    openings: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _a(value: str) -> str:
    """An XML attribute value (in double quotes)."""
    return escape(value, _ATTR)


def num(x: float) -> str:
    """A coordinate as CVAT writes it (``150.50``), with every digit where two decimals would round."""
    s = _NUMS.get(x)
    if s is None:
        s = f"{x:.2f}"
        if float(s) != x:
            s = repr(float(x))
        if len(_NUMS) < _NUMS_MAX:  # pixel coordinates repeat: most are formatted once
            _NUMS[x] = s
    return s


_NUMS: dict[float, str] = {}
_NUMS_MAX = 1 << 18


# ------------------------------------------------------------------------------ meta
def _categories(doc: dict[str, Any], boxes: bool) -> dict[int, _Category]:
    cats = sorted(
        (c for c in doc.get("categories", []) if c.get("keypoints")), key=lambda c: c["id"]
    )
    taken = {c["name"] for c in cats}
    out: dict[int, _Category] = {}
    for c in cats:
        box = f"{c['name']}_box"
        while boxes and box in taken:
            box += "_"
        taken.add(box)
        k = len(c["keypoints"])
        out[c["id"]] = _Category(c["name"], list(c["keypoints"]), list(c.get("skeleton") or []), box,
                                 [[0.0, 0.0, 0.0] for _ in range(k)])  # fmt: skip
    return out


def _node_positions(cat: _Category) -> list[tuple[float, float]]:
    """Where each keypoint sits in CVAT's skeleton template: its mean place in the boxes (0..100),
    else around a circle."""
    import math

    k = len(cat.keypoints)
    out = []
    for i, (sx, sy, n) in enumerate(cat.sums):
        if n:
            out.append((round(10 + 80 * sx / n, 1), round(10 + 80 * sy / n, 1)))
        else:
            t = 2 * math.pi * i / max(k, 1)
            out.append((round(50 + 40 * math.sin(t), 1), round(50 - 40 * math.cos(t), 1)))
    return out


def _svg(cat: _Category) -> str:
    pos = _node_positions(cat)
    parts = []
    for a, b in cat.skeleton:
        (x1, y1), (x2, y2) = pos[a - 1], pos[b - 1]
        parts.append(f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="black" data-type="edge" '
                     f'data-node-from="{a}" stroke-width="0.5" data-node-to="{b}"></line>')  # fmt: skip
    for i, name in enumerate(cat.keypoints, 1):
        x, y = pos[i - 1]
        parts.append(f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x:g}" cy="{y:g}" stroke-width="0.1" '
                     f'data-type="element node" data-element-id="{i}" data-node-id="{i}" '
                     f'data-label-name="{_a(name)}"></circle>')  # fmt: skip
    return escape("".join(parts))


def _meta(
    cats: dict[int, _Category], options: WriteOptions, size: int, frame_size: tuple[int, int] | None
) -> str:
    lines = ["  <meta>", "    <task>", "      <id>0</id>", f"      <name>{escape(options.task_name)}</name>",
             f"      <size>{size}</size>",
             f"      <mode>{'interpolation' if options.video else 'annotation'}</mode>", "      <overlap>0</overlap>",
             "      <bugtracker></bugtracker>", "      <subset>default</subset>", "      <start_frame>0</start_frame>",
             f"      <stop_frame>{max(size - 1, 0)}</stop_frame>", "      <frame_filter></frame_filter>",
             "      <labels>"]  # fmt: skip
    for n, cat in enumerate(cats.values()):
        lines += ["        <label>", f"          <name>{escape(cat.name)}</name>",
                  f"          <color>{_COLORS[n % len(_COLORS)]}</color>", "          <type>skeleton</type>",
                  "          <attributes>", "          </attributes>", f"          <svg>{_svg(cat)}</svg>",
                  "        </label>"]  # fmt: skip
        for kp in cat.keypoints:
            lines += ["        <label>", f"          <name>{escape(kp)}</name>", "          <color>#b3b3b3</color>",
                      "          <type>points</type>", "          <attributes>", "          </attributes>",
                      f"          <parent>{escape(cat.name)}</parent>", "        </label>"]  # fmt: skip
        if options.boxes:
            lines += ["        <label>", f"          <name>{escape(cat.box_label)}</name>",
                      f"          <color>{_COLORS[n % len(_COLORS)]}</color>", "          <type>rectangle</type>",
                      "          <attributes>", "          </attributes>", "        </label>"]  # fmt: skip
    lines.append("      </labels>")
    if frame_size is not None:
        lines += ["      <original_size>", f"        <width>{frame_size[0]}</width>",
                  f"        <height>{frame_size[1]}</height>", "      </original_size>"]  # fmt: skip
    lines += ["    </task>", "  </meta>"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ instances
@dataclass
class _Instance:
    pos: int
    ann: dict[str, Any]
    cat: _Category
    image: int  # position in images


def _instances(doc: dict[str, Any], cats: dict[int, _Category], out: Plan) -> list[_Instance]:
    pos_of_image = {img["id"]: i for i, img in enumerate(doc.get("images", []))}
    found: list[_Instance] = []
    crowds = 0
    for pos, ann in enumerate(doc.get("annotations", [])):
        if ann.get("iscrowd"):
            crowds += 1
            continue
        cat = cats.get(ann.get("category_id"))  # type: ignore[arg-type]
        if cat is None or ann.get("image_id") not in pos_of_image:
            out.findings.append(warning(
                "cvat.annotation_left_out", "its category defines no keypoints (or its image is missing): "
                "not written", pointer("annotations", pos), annotation_id=ann.get("id"),
            ))  # fmt: skip
            continue
        found.append(_Instance(pos, ann, cat, pos_of_image[ann["image_id"]]))
        x, y, w, h = _box(ann)
        kps = ann.get("keypoints") or []
        # the SVG template only needs a typical pose: the first instances with a box give it
        if w > 0 and h > 0 and cat.sampled < _TEMPLATE_SAMPLE:
            cat.sampled += 1
            for i, s in enumerate(cat.sums):
                if 3 * i + 2 < len(kps) and kps[3 * i + 2] > 0:
                    s[0] += (kps[3 * i] - x) / w
                    s[1] += (kps[3 * i + 1] - y) / h
                    s[2] += 1
    if crowds:
        out.findings.append(info("cvat.crowd_left_out", f"{crowds} iscrowd annotation(s) not written: CVAT "
                                 "skeletons have no crowd regions", pointer("annotations")))  # fmt: skip
    return found


def _box(ann: dict[str, Any]) -> tuple[float, float, float, float]:
    bbox = ann.get("bbox") or [0, 0, 0, 0]
    return bbox[0], bbox[1], bbox[2], bbox[3]


def _openings(cat: _Category, indent: str, keyframe: str) -> list[str]:
    """Each element's ``<points ...outside="`` text, made once per category and layout."""
    key = (indent, keyframe)
    found = cat.openings.get(key)
    if found is None:
        source = "" if keyframe else ' source="manual"'
        found = cat.openings[key] = [
            f'{indent}<points label="{_a(name)}"{source}{keyframe} outside="'
            for name in cat.keypoints
        ]
    return found


def _elements(
    inst: _Instance, indent: str, keyframe: str = "", all_outside: bool = False
) -> list[str]:
    """The K element ``<points>`` of one skeleton (``keyframe``: the video attribute, "" in images)."""
    kps = inst.ann.get("keypoints") or []
    x, y, w, h = _box(inst.ann)
    centre = f"{num(x + w / 2)},{num(y + h / 2)}"
    close = f'">\n{indent}</points>'
    openings = _openings(inst.cat, indent, keyframe)
    if len(kps) < 3 * len(openings):
        kps = list(kps) + [0] * (3 * len(openings) - len(kps))
    lines = []
    for opening, px, py, v in zip(openings, kps[0::3], kps[1::3], kps[2::3], strict=False):
        if v <= 0:
            lines.append(f'{opening}1" occluded="0" points="{centre}{close}')
        else:
            vis = (
                '1" occluded="1'
                if all_outside and v == 1
                else '1" occluded="0'
                if all_outside
                else ('0" occluded="1' if v == 1 else '0" occluded="0')
            )
            lines.append(f'{opening}{vis}" points="{num(px)},{num(py)}{close}')
    return lines


def _box_attrs(ann: dict[str, Any]) -> str:
    x, y, w, h = _box(ann)
    return f'xtl="{num(x)}" ytl="{num(y)}" xbr="{num(x + w)}" ybr="{num(y + h)}"'


def _has_box(ann: dict[str, Any]) -> bool:
    _, _, w, h = _box(ann)
    return w > 0 and h > 0


def _image_xml(img: dict[str, Any], index: int, insts: list[_Instance], boxes: bool) -> list[str]:
    lines = [
        f'  <image id="{index}" name="{_a(str(img["file_name"]))}" width="{img["width"]}" height="{img["height"]}">'
    ]
    for group, inst in enumerate(insts, 1):
        grouped = boxes and _has_box(inst.ann)
        gid = f' group_id="{group}"' if grouped else ""
        if grouped:
            lines.append(f'    <box label="{_a(inst.cat.box_label)}" source="manual" occluded="0" {_box_attrs(inst.ann)} '
                         f'z_order="0"{gid}>\n    </box>')  # fmt: skip
        lines.append(f'    <skeleton label="{_a(inst.cat.name)}" source="manual" z_order="0"{gid}>')
        lines.extend(_elements(inst, "      "))
        lines.append("    </skeleton>")
    lines.append("  </image>")
    return lines


# ------------------------------------------------------------------------------ video
def _frames(images: list[dict[str, Any]], options: WriteOptions, out: Plan) -> list[int] | None:
    """Each image's frame number: ``images[].frame`` when every image has one, else the order of
    the file names; None (with an error) when two images claim one frame."""
    given = [img.get("frame") for img in images]
    if images and all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in given):
        frames: list[int] = [int(f) for f in given]  # type: ignore[arg-type]
        how = "images[].frame"
    else:
        order = sorted(range(len(images)), key=lambda i: str(images[i]["file_name"]))
        frames = [0] * len(images)
        for f, i in enumerate(order):
            frames[i] = f
        how = "the sorted file names"
        if images:
            out.findings.append(info("cvat.frames_by_order", "no frame numbers in images[].frame: frames "
                                     "numbered 0, 1, ... in file name order", pointer("images")))  # fmt: skip
    if len(set(frames)) != len(frames):
        out.findings.append(error("cvat.frame_repeated", "two images have the same images[].frame: a video "
                                  "has one image per frame", pointer("images")))  # fmt: skip
        return None
    from . import DEFAULT_FRAME_PATTERN  # the package, not its reader module: one public name

    pattern = options.frame_pattern or DEFAULT_FRAME_PATTERN
    renamed = sum(
        pattern.format(frame=f) != img["file_name"] for f, img in zip(frames, images, strict=True)
    )
    if renamed:
        out.findings.append(info(
            "cvat.frame_names", f"{renamed} image(s) are not named {pattern!r}: CVAT for video "
            f"names frames by number, so from-cvat reads them back as frame_NNNNNN.png (frames from {how})",
            pointer("images"),
        ))  # fmt: skip
    return frames


def _frame_size(images: list[dict[str, Any]], out: Plan) -> tuple[int, int] | None:
    sizes = {(img["width"], img["height"]) for img in images}
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:5])
        out.findings.append(error("cvat.video_sizes_differ", f"CVAT for video has one frame size; the images "
                                  f"have {len(sizes)}: {listed}", pointer("images")))  # fmt: skip
        return None
    return next(iter(sizes), (0, 0))


def _tracks(
    insts: list[_Instance], frames: list[int], out: Plan
) -> list[list[tuple[int, _Instance]]]:
    """Instances grouped into tracks: by (category, ``attributes.track_id``), else one each."""
    tracks: dict[Any, list[tuple[int, _Instance]]] = {}
    for inst in insts:
        attrs = inst.ann.get("attributes")
        tid = attrs.get("track_id") if isinstance(attrs, dict) else None
        key = (inst.cat.name, repr(tid)) if tid is not None else ("", inst.pos)
        tracks.setdefault(key, []).append((frames[inst.image], inst))
    result = []
    for members in tracks.values():
        members.sort(key=lambda m: m[0])
        seen: set[int] = set()
        for f, inst in members:
            if f in seen:
                out.findings.append(error(
                    "cvat.track_frame_twice", f"track {inst.ann['attributes']['track_id']!r} has two instances on "
                    f"frame {f}: a track holds one shape per frame", pointer("annotations", inst.pos, "attributes"),
                    annotation_id=inst.ann.get("id"),
                ))  # fmt: skip
            seen.add(f)
        result.append(members)
    return result


def _track_xml(tid: int, members: list[tuple[int, _Instance]], stop: int, boxes: bool) -> list[str]:
    cat = members[0][1].cat
    grouped = boxes and all(_has_box(inst.ann) for _, inst in members)
    gid = f' group_id="{tid + 1}"' if grouped else ""
    frames = {f for f, _ in members}
    lines = [f'  <track id="{{}}" label="{_a(cat.name)}" source="manual"{gid}>']
    box_lines = [f'  <track id="{{}}" label="{_a(cat.box_label)}" source="manual"{gid}>']
    for f, inst in members:
        ends = f + 1 <= stop and f + 1 not in frames  # CVAT ends a track with an outside keyframe
        for frame, outside in ((f, False), (f + 1, True)) if ends else ((f, False),):
            lines.append(f'    <skeleton frame="{frame}" keyframe="1" z_order="0">')
            lines.extend(_elements(inst, "      ", ' keyframe="1"', all_outside=outside))
            lines.append("    </skeleton>")
            if grouped:
                box_lines.append(f'    <box frame="{frame}" keyframe="1" outside="{int(outside)}" occluded="0" '
                                 f'{_box_attrs(inst.ann)} z_order="0">\n    </box>')  # fmt: skip
    lines.append("  </track>")
    box_lines.append("  </track>")
    return ["\n".join(lines), "\n".join(box_lines)] if grouped else ["\n".join(lines)]


# ------------------------------------------------------------------------------ planning
def plan(doc: dict[str, Any], options: WriteOptions | None = None) -> Plan:
    """Decide the CVAT XML for a validated COCO document (nothing is written)."""
    options = options or WriteOptions()
    out = Plan(summary={"mode": "video" if options.video else "images"})
    cats = _categories(doc, options.boxes)
    if not cats:
        out.findings.append(error("cvat.no_keypoint_category", "no category defines keypoints: nothing to write",
                                  pointer("categories")))  # fmt: skip
        return out
    images = doc.get("images", [])
    insts = _instances(doc, cats, out)
    body: list[str] = []
    frame_size = None
    if options.video:
        frames = _frames(images, options, out)
        frame_size = _frame_size(images, out)
        if frames is None or frame_size is None:
            return out
        stop = max(frames, default=0)
        n = 0
        for members in _tracks(insts, frames, out):
            for text in _track_xml(n, members, stop, options.boxes):
                body.append(text.replace("{}", str(n), 1))
                n += 1
        size = stop + 1 if images else 0
        out.summary.update(frames=size, tracks=n, instances=len(insts))
    else:
        per_image: list[list[_Instance]] = [[] for _ in images]
        for inst in insts:
            per_image[inst.image].append(inst)
        for i, img in enumerate(images):
            body.extend(_image_xml(img, i, per_image[i], options.boxes))
        size = len(images)
        out.summary.update(images=size, instances=len(insts))
    head = '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
    text = (
        head
        + _meta(cats, options, size, frame_size)
        + "\n".join(body)
        + ("\n" if body else "")
        + "</annotations>\n"
    )
    out.xml = text.encode("utf-8")
    return out


def zip_bytes(xml: bytes) -> bytes:
    """CVAT's upload zip: ``annotations.xml`` alone (fixed timestamp: byte-identical reruns)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        member = zipfile.ZipInfo("annotations.xml", date_time=(1980, 1, 1, 0, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED
        member.external_attr = 0o644 << 16
        zf.writestr(member, xml)
    return buf.getvalue()


def write(
    document: Any, target: Path, options: WriteOptions | None = None, *, strict: bool = False
) -> Report:
    """Write a validated dataset (a :class:`~kpconv.model.Dataset` or its document) as CVAT XML.

    ``target`` is the XML file, or a ``.zip`` holding ``annotations.xml`` (what CVAT's upload
    takes); ``-`` is standard output. Nothing is written when the plan has error findings (with
    ``strict``, warnings too); ``summary["written"]`` is then None.
    """
    to_document = getattr(document, "to_document", None)
    doc = to_document() if callable(to_document) and not isinstance(document, dict) else document
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"{target}: is a folder; -o names the XML (or .zip) file to write")
    p = plan(doc, options)
    report = Report(findings=list(p.findings), summary=dict(p.summary))
    if not report.passes(strict=strict):
        report.summary["written"] = None
        return report
    data = zip_bytes(p.xml) if target.suffix.lower() == ".zip" else p.xml
    atomic_write_bytes(target, data)
    report.summary["written"] = str(target)
    return report
