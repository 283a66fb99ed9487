"""YOLO pose → the builder's raw images and instances (``kpconv from-yolo``), and one split's files
read and checked (shared with the linter).

Coordinates are denormalised with each image's size read from its header and rounded to 1e-6 px
(what ``to-yolo`` writes comes back exactly to that precision). Keypoint names come from the
``--spec``, else ``kpt_names``, else ``kp1..kpK``; flip pairs from a valid ``flip_idx``, else from
the names; category ids, supercategories and skeletons from the block ``to-yolo`` writes.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...convert.builder import ParseResult, RawImage, RawInstance, instances_from_columns
from ...convert.pipeline import Parsed
from ...errors import DataError, UsageError
from ...finding import Finding, Severity, error, info, warning
from ...images import ImageReadError, read_image_header
from ...progress import track
from ...spec import KeypointSpec, spec_from_mapping
from .checks import DATA_CHECKS, check_lines, usable_flip_idx
from .datafile import DataFile, KptShape, label_path, load_data_file, split_files
from .labels import LabelLines, read_label_files

IntArray = npt.NDArray[np.int64]
#: Ultralytics skips images smaller than this on either side (``verify_image_label``)
MIN_IMAGE_SIDE = 10


@dataclass
class SplitRead:
    """One split: its readable images with their sizes, its checked label lines, the findings."""

    name: str
    images: list[str] = field(default_factory=list)  # absolute paths
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (width, height) per image
    lines: LabelLines | None = None
    image_of_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    label_files: int = 0
    findings: list[Finding] = field(default_factory=list)


def _probe(path: str) -> tuple[int, int, int] | str:
    try:
        return read_image_header(Path(path))
    except FileNotFoundError:
        return "cannot read: no such file (a link to an image that has moved?)"
    except ImageReadError as exc:
        return str(exc)


def _probe_all(paths: list[str], description: str) -> list[tuple[int, int, int] | str]:
    """Every image's size (or why not), a few threads each reading a run of headers: disk latency
    is hidden without a future per image."""
    runs = [paths[i : i + 512] for i in range(0, len(paths), 512)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = track(
            pool.map(lambda run: [_probe(p) for p in run], runs),
            total=len(runs),
            description=description,
        )
        return [r for part in done for r in part]


def read_split(data: DataFile, split: str) -> SplitRead:
    """Find the split's images and label files, parse and check every label line, read image sizes."""
    if data.kpt_shape is None or not data.names:
        raise DataError(
            f"{data.path}: no usable kpt_shape and names; nothing can be read", list(data.findings)
        )
    shape: KptShape = data.kpt_shape
    files = split_files(data, split)
    out = SplitRead(split, findings=list(files.findings))
    labels = [label_path(img) for img in files.images]
    with_label = _label_files(data, labels, files.label_dirs, out)
    lines, found = read_label_files([labels[i] for i in with_label], [data.display(labels[i]) for i in with_label],
                                    shape)  # fmt: skip
    lines, more = check_lines(lines, shape, len(data.names))
    found += more
    image_of_line = (
        np.asarray(with_label, dtype=np.int64)[lines.file] if len(lines) else np.zeros(0, np.int64)
    )
    readable = _image_sizes(data, files.images, split, out)
    if not readable.all():  # unreadable images leave with their lines
        keep = readable[image_of_line]
        lines, image_of_line = lines.subset(keep), (np.cumsum(readable) - 1)[image_of_line[keep]]
    out.images = [p for p, ok in zip(files.images, readable.tolist(), strict=True) if ok]
    out.lines, out.image_of_line = lines, image_of_line
    found.sort(key=lambda t: (lines.files[t[0]], t[1]))
    out.findings = [f for _, _, f in found] + out.findings
    return out


def _label_files(
    data: DataFile, labels: list[str], label_dirs: set[str], out: SplitRead
) -> list[int]:
    """The indices of the images that have a label file (one listing per label folder, not a stat
    per image); label files no image points to are warnings."""
    listed: dict[str, set[str]] = {}
    for folder in {os.path.dirname(p) for p in labels} | label_dirs:
        try:
            listed[folder] = {n for n in os.listdir(folder) if n.endswith(".txt")}
        except OSError:
            listed[folder] = set()
    with_label = [
        i for i, p in enumerate(labels) if os.path.basename(p) in listed[os.path.dirname(p)]
    ]
    out.label_files = len(with_label)
    expected = set(labels)
    for path in sorted(os.path.join(d, n) for d, names in listed.items() for n in names):
        if path not in expected:
            out.findings.append(warning(
                "yolo.label_without_image", "a label file without an image: its lines are not read "
                "(Ultralytics reads labels only through their images)", source=data.display(path),
            ))  # fmt: skip
    return with_label


def _image_sizes(
    data: DataFile, images: list[str], split: str, out: SplitRead
) -> npt.NDArray[np.bool_]:
    """Each readable image's (width, height) into ``out.sizes``; which images could be read.

    The size is the one Ultralytics normalises by: for a JPEG whose EXIF orientation swaps the
    sides (5-8), the shown size (``exif_size``; ``cv2.imread`` rotates the pixels to match), so
    the COCO coordinates are in the rotated frame, and the image is flagged.
    """
    readable = np.ones(len(images), dtype=bool)
    for i, (path, res) in enumerate(
        zip(images, _probe_all(images, f"reading {split} image headers"), strict=True)
    ):
        if isinstance(res, str):
            readable[i] = False
            out.findings.append(error("yolo.image_unreadable", f"{res}; the image and its labels are left out",
                                      source=data.display(path)))  # fmt: skip
            continue
        w, h, orientation = res
        if orientation >= 5:
            w, h = h, w
        if orientation != 1:
            out.findings.append(warning(
                "yolo.image_exif_rotated", f"EXIF orientation {orientation}: Ultralytics reads this JPEG "
                f"rotated or mirrored, so its labels are in that frame and so are the COCO coordinates "
                f"({w}x{h}); kpconv train/visualize use the stored pixels: rotate them first "
                "(PIL.ImageOps.exif_transpose)", source=data.display(path),
            ))  # fmt: skip
        if min(w, h) < MIN_IMAGE_SIDE:
            out.findings.append(warning(
                "yolo.image_too_small", f"{w}x{h} px: Ultralytics skips images under "
                f"{MIN_IMAGE_SIDE} px on a side", source=data.display(path),
            ))  # fmt: skip
        out.sizes.append((w, h))
    return readable


# ------------------------------------------------------------------------------ from-yolo
def spec_from_data(data: DataFile) -> tuple[KeypointSpec, list[Finding]]:
    """The spec ``data.yaml`` implies: names, kpt_names (else kp1..kpK), flip pairs, the kpconv block."""
    assert data.kpt_shape is not None
    k = data.kpt_shape.k
    notes: list[Finding] = []
    block = {c.get("class"): c for c in data.kpconv.get("categories", []) if isinstance(c, dict)}
    flip = usable_flip_idx(data)
    cats: list[dict[str, Any]] = []
    unnamed = []
    for cls, name in data.names.items():
        extra = block.get(cls, {})
        given = extra.get("keypoints")
        own_k = given if isinstance(given, int) and 0 < given <= k else k
        names = data.kpt_names.get(cls)
        if names is None:
            unnamed.append(name)
            names = [f"kp{i + 1}" for i in range(k)]
        entry: dict[str, Any] = {"name": name, "keypoints": names[:own_k]}
        if flip is not None:
            entry["flip_pairs"] = [
                [i + 1, j + 1] for i, j in enumerate(flip[:own_k]) if i < j < own_k
            ]
        for key in ("id", "supercategory", "skeleton"):
            if key in extra:
                entry[key] = extra[key]
        cats.append(entry)
    if unnamed:
        notes.append(info(
            "yolo.keypoints_unnamed", f"no kpt_names for {', '.join(map(repr, unnamed))}: keypoints named "
            f"kp1..kp{k} (name them with kpt_names in data.yaml or --spec)", source=data.where(),
        ))  # fmt: skip
    return spec_from_mapping({"categories": cats}, source=str(data.path)), notes


def _labels_of(spec: KeypointSpec, data: DataFile) -> tuple[list[str], IntArray]:
    """The label names and a (classes, K) table: the label of each class's j-th keypoint column."""
    assert data.kpt_shape is not None
    k = data.kpt_shape.k
    labels: dict[str, int] = {}
    table = np.zeros((len(data.names), k), dtype=np.int64)
    for cls, name in data.names.items():
        cat = spec.category(name)
        kps = list(cat.keypoints) if cat is not None else []
        if len(kps) > k:
            raise DataError(
                f"category {name!r} of the spec has {len(kps)} keypoints, but kpt_shape says {k} "
                f"({data.where('kpt_shape')})"
            )
        kps += [f"kp{j + 1}" for j in range(len(kps), k)]
        for j, kp in enumerate(kps):
            table[cls, j] = labels.setdefault(kp, len(labels))
    return list(labels), table


def _file_names(images: list[str], root: Path) -> tuple[Path, list[str]]:
    """COCO file_name of each image: relative to the dataset root (or to the folder all share)."""
    base = os.path.normpath(root.absolute())
    if images and not all(p.startswith(base + os.sep) for p in images):
        base = (
            os.path.commonpath(images + [base]) if all(os.path.isabs(p) for p in images) else base
        )
        if any(p == base for p in images):
            base = os.path.dirname(base)
    cut = len(base) + 1
    return Path(base), [p[cut:].replace(os.sep, "/") for p in images]


def read(
    data_yaml: Path, split: str = "train", spec: KeypointSpec | None = None
) -> Parsed:
    """``data.yaml`` and one split's labels → the pipeline's :class:`Parsed`.

    The COCO ``file_name`` values are relative to ``summary["images_root"]``: pass it as
    ``--images`` to ``kpconv validate`` and ``kpconv visualize``.
    """
    data = load_data_file(Path(data_yaml))
    blocking = [
        f
        for f in data.findings
        if f.severity is Severity.ERROR and f.code in ("yolo.kpt_shape", "yolo.names")
    ]
    if blocking:
        raise DataError(f"{blocking[0].source}: {blocking[0].message}", list(data.findings))
    if split not in data.splits:
        have = ", ".join(data.splits) or "none"
        raise UsageError(
            f"{data_yaml}: no split {split!r} (splits: {have}); choose one with --split"
        )
    for check in DATA_CHECKS:
        check(data)
    parsed = ParseResult(findings=list(data.findings))
    own_spec, notes = spec_from_data(data)
    parsed.spec = own_spec
    if spec is None:
        parsed.findings.extend(notes)
    sr = read_split(data, split)
    parsed.findings.extend(sr.findings)
    root, names = _file_names(sr.images, data.root)
    parsed.images = [RawImage(n, w, h, source=data.display(p))
                     for n, (w, h), p in zip(names, sr.sizes, sr.images, strict=True)]  # fmt: skip
    assert sr.lines is not None and data.kpt_shape is not None
    labels, table = _labels_of(spec or own_spec, data)
    parsed.instances = _instances(sr, data.kpt_shape, names, labels, table, list(data.names.values()))
    shown = os.path.relpath(root)
    shown = str(root) if shown.startswith("..") else shown
    parsed.findings.append(info(
        "yolo.images_root", f"file_name values are relative to {shown}: pass --images {shown} to "
        "kpconv validate / kpconv visualize", source=data.where(split),
    ))  # fmt: skip
    return Parsed.single(
        "yolo", f"{data_yaml} ({split})", parsed, summary={"split": split, "images_root": str(root)}
    )


def _instances(
    sr: SplitRead,
    shape: KptShape,
    file_names: list[str],
    labels: list[str],
    table: IntArray,
    classes: list[str],
) -> list[RawInstance]:
    """One instance per kept label line with its labelled points (columns, no per-point code)."""
    lines = sr.lines
    assert lines is not None
    n = len(lines)
    values = lines.values
    sizes = np.asarray(sr.sizes, dtype=np.float64).reshape(-1, 2)
    w, h = sizes[sr.image_of_line, 0], sizes[sr.image_of_line, 1]
    pts = values[:, 5:].reshape(n, shape.k, shape.ndim)
    px, py = pts[..., 0], pts[..., 1]
    if shape.ndim == 3:
        vis = pts[..., 2].astype(np.int64)
    else:  # no v: 0 0 and negative coordinates mean "not labelled" (Ultralytics masks the negatives)
        vis = np.where(((px == 0) & (py == 0)) | (px < 0) | (py < 0), 0, 2)
    line_of, kp = np.nonzero(vis > 0)
    cls = values[:, 0].astype(np.int64)
    box = values[:, 1:5]
    bw, bh = box[:, 2] * w, box[:, 3] * h
    bbox = np.column_stack([box[:, 0] * w - bw / 2, box[:, 1] * h - bh / 2, bw, bh])
    return instances_from_columns(
        image=[file_names[i] for i in sr.image_of_line.tolist()],
        category=[classes[c] for c in cls.tolist()],
        source=[
            f"{lines.files[f]}:{ln}"
            for f, ln in zip(lines.file.tolist(), lines.line.tolist(), strict=True)
        ],
        counts=np.bincount(line_of, minlength=n).astype(np.int64),
        labels=labels or ["kp1"],
        label=table[cls[line_of], kp],
        x=np.round(px[line_of, kp] * w[line_of], 6),
        y=np.round(py[line_of, kp] * h[line_of], 6),
        v=vis[line_of, kp],
        bbox=bbox,
    )
