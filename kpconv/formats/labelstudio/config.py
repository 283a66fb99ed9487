"""Label Studio's labelling config (the project's ``<View>`` XML): read for keypoint order, written
beside ``to-labelstudio``'s tasks.

What kpconv takes from a config: each ``<KeyPointLabels>`` control's ``<Label value=...>`` in order
(sorted by ``model_index`` where every label has one: label-studio-sdk's COCO/YOLO exports use that
attribute as the keypoint's index), the ``<RectangleLabels>`` / ``<PolygonLabels>`` labels (instance
categories, in config order) and the ``<Image name value="$key">`` tags (which ``data`` key holds
an image). Everything else in the config is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from ...errors import DataError
from ...fileio import read_input_bytes
from ...finding import error

#: the names ``to-labelstudio`` gives its controls (``from_name`` / ``to_name`` in every region)
IMAGE_NAME = "image"
BOX_CONTROL = "bbox"
KEYPOINT_CONTROL = "keypoints"


@dataclass
class LabelConfig:
    """The parts of a labelling config that decide a conversion."""

    keypoints: list[str] = field(
        default_factory=list
    )  # every KeyPointLabels label, in keypoint order
    keypoint_controls: dict[str, list[str]] = field(
        default_factory=dict
    )  # control name -> its labels
    box_labels: list[str] = field(default_factory=list)  # RectangleLabels then PolygonLabels labels
    image_keys: dict[str, str] = field(
        default_factory=dict
    )  # <Image name> -> data key ($image -> image)
    notes: list[str] = field(default_factory=list)  # what was assumed (printed as info findings)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def parse_config(text: bytes, source: str) -> LabelConfig:
    """A :class:`LabelConfig` from the XML bytes; not XML, or a ``model_index`` that is no
    integer, is a located :class:`DataError`."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        where = f"{source}:{line}:{col + 1}"
        raise DataError(f"{where}: not a Label Studio config (XML): {exc}",
                        [error("labelstudio.config_invalid", f"not XML: {exc}", source=where)]) from None  # fmt: skip
    cfg = LabelConfig()
    for elem in root.iter():
        kind = _local(elem.tag)
        if kind == "image":
            name, value = elem.attrib.get("name"), elem.attrib.get("value", "")
            if name and value.startswith("$"):
                cfg.image_keys[name] = value[1:]
        elif kind in ("rectanglelabels", "polygonlabels"):
            for label in elem:
                label_value = label.attrib.get("value")
                if (
                    _local(label.tag) == "label"
                    and label_value
                    and label_value not in cfg.box_labels
                ):
                    cfg.box_labels.append(label_value)
        elif kind == "keypointlabels":
            name = elem.attrib.get("name", f"keypointlabels[{len(cfg.keypoint_controls)}]")
            cfg.keypoint_controls[name] = _ordered_labels(elem, name, source, cfg.notes)
    cfg.keypoints = list(
        dict.fromkeys(k for labels in cfg.keypoint_controls.values() for k in labels)
    )
    return cfg


def _ordered_labels(control: ET.Element, name: str, source: str, notes: list[str]) -> list[str]:
    """A KeyPointLabels control's labels by ``model_index`` when all carry one, else in XML order."""
    labels: list[tuple[str, int | None]] = []
    for label in control:
        value = label.attrib.get("value")
        if _local(label.tag) != "label" or not value:
            continue
        raw = label.attrib.get("model_index")
        index: int | None = None
        if raw is not None:
            try:
                index = int(raw)
            except ValueError:
                where = f"{source}:<KeyPointLabels name={name!r}>/<Label value={value!r}>"
                raise DataError(f"{where}: model_index must be an integer, found {raw!r}",
                                [error("labelstudio.config_invalid", f"model_index {raw!r} is not an integer",
                                       source=where)]) from None  # fmt: skip
        labels.append((value, index))
    indices = [i for _, i in labels]
    if labels and all(i is not None for i in indices):
        if len(set(indices)) != len(indices):
            notes.append(
                f"<KeyPointLabels name={name!r}>: model_index values repeat; the labels' XML order is used"
            )
            return [v for v, _ in labels]
        return [v for v, _ in sorted(labels, key=lambda pair: pair[1])]  # type: ignore[arg-type,return-value]
    if any(i is not None for i in indices):
        notes.append(
            f"<KeyPointLabels name={name!r}>: only some labels have a model_index; the XML order is used"
        )
    return [v for v, _ in labels]


def read_config(path: Path) -> LabelConfig:
    """:func:`parse_config` of a file (missing → usage error)."""
    return parse_config(read_input_bytes(path, kind="label config XML file"), str(path))


def config_xml(
    categories: list[tuple[str, list[str]]], *, visibility_attribute: str | None = None
) -> str:
    """The labelling config ``to-labelstudio`` writes: an image, one ``RectangleLabels`` with the
    categories, one ``KeyPointLabels`` whose labels carry ``model_index`` (the keypoint's index in
    its category). With several categories the keypoint labels are ``category.keypoint`` (a
    control's labels must differ), which ``from-labelstudio`` resolves through the spec.
    With ``visibility_attribute``, a per-region ``Choices`` for keypoints (visible / occluded)."""
    prefix = len(categories) > 1
    lines = ["<View>", f'  <Image name="{IMAGE_NAME}" value="${IMAGE_NAME}" zoom="true"/>',
             f'  <RectangleLabels name="{BOX_CONTROL}" toName="{IMAGE_NAME}">']  # fmt: skip
    lines += [f"    <Label value={quoteattr(name)}/>" for name, _ in categories]
    lines += [
        "  </RectangleLabels>",
        f'  <KeyPointLabels name="{KEYPOINT_CONTROL}" toName="{IMAGE_NAME}" smart="true">',
    ]
    for name, keypoints in categories:
        for index, kp in enumerate(keypoints):
            value = f"{name}.{kp}" if prefix else kp
            lines.append(f'    <Label value={quoteattr(value)} model_index="{index}"/>')
    lines.append("  </KeyPointLabels>")
    if visibility_attribute:
        lines += [
            f'  <Choices name={quoteattr(visibility_attribute)} toName="{IMAGE_NAME}" perRegion="true" '
            f'whenTagName="{KEYPOINT_CONTROL}" choice="single">',
            '    <Choice value="visible"/>',
            '    <Choice value="occluded"/>',
            "  </Choices>",
        ]
    lines.append("</View>")
    return "\n".join(lines) + "\n"
