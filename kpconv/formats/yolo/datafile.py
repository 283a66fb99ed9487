"""The ``data.yaml`` of an Ultralytics YOLO pose dataset, and the image and label files it names.

Read as Ultralytics reads it (``ultralytics/data/utils.py`` ``check_det_dataset``, ``data/base.py``
``get_img_files``, ``img2label_paths``): ``path`` is the dataset root (absent or empty: this file's
folder; relative: this file's folder, then the working directory); each split (``train``,
``val``, ``test``) is a folder searched recursively for images, a ``.txt`` list of image paths
(``./x`` relative to the list), or a list of either; an image's label file is its path with the
last ``/images/`` replaced by ``/labels/`` and the suffix by ``.txt``.

Problems with the file itself are findings located at its lines (``data.yaml:7``); only a file
that cannot be read as a YAML mapping raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...fileio import read_input_bytes
from ...finding import Finding, error, info, warning

#: image suffixes Ultralytics reads (``IMG_FORMATS``), lower case, without the dot
IMAGE_SUFFIXES = frozenset(
    {"bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "pfm", "tif", "tiff", "webp"}
)
#: the split keys Ultralytics resolves against ``path``
SPLIT_KEYS = ("train", "val", "test", "minival")
#: the key ``kpconv to-yolo`` writes to restore COCO categories on the way back (Ultralytics ignores it)
KPCONV_KEY = "kpconv"


@dataclass(frozen=True)
class KptShape:
    """``kpt_shape: [K, ndim]``: K keypoints of ``x y`` (ndim 2) or ``x y v`` (ndim 3) each."""

    k: int
    ndim: int

    @property
    def columns(self) -> int:
        """Values per label line: class, 4 box values, then K × ndim."""
        return 5 + self.k * self.ndim

    def formula(self) -> str:
        return f"5 + {self.k}*{self.ndim} = {self.columns}"


@dataclass
class DataFile:
    """A parsed ``data.yaml``: what it says, where it says it, and what is wrong with it."""

    path: Path
    doc: dict[str, Any]
    key_lines: dict[str, int]
    root: Path
    kpt_shape: KptShape | None = None
    names: dict[int, str] = field(default_factory=dict)
    kpt_names: dict[int, list[str]] = field(default_factory=dict)
    kpt_names_source: str = ""
    flip_idx: list[int] | None = None
    splits: dict[str, list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def where(self, key: str | None = None) -> str:
        """The place of ``key`` in this file (``data.yaml:7``), or the file itself."""
        line = self.key_lines.get(key) if key else None
        return f"{self.path}:{line}" if line else str(self.path)

    def display(self, path: Path | str) -> str:
        """``path`` as findings show it: relative to this file's folder where it lies inside."""
        text = os.fspath(path)
        base = self._base
        return text[len(base) :] if text.startswith(base) else text

    @cached_property
    def _base(self) -> str:
        return os.path.normpath(self.path.parent.absolute()) + os.sep

    @property
    def kpconv(self) -> dict[str, Any]:
        """The block ``kpconv to-yolo`` wrote (empty when absent or not a mapping)."""
        block = self.doc.get(KPCONV_KEY)
        return block if isinstance(block, dict) else {}


def _yaml() -> Any:
    import yaml  # only for YOLO datasets and specs

    return yaml


def parse_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """The YAML document and the line of each top-level key; bad YAML → located DataError."""
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
        doc = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
        raise DataError(
            f"{where}: {what}", [error("yolo.yaml_syntax", what, source=where)]
        ) from None
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            lines.setdefault(str(key.value), key.start_mark.line + 1)
    return doc, lines


def load_data_file(path: Path) -> DataFile:
    """Read a ``data.yaml``; missing → UsageError, not a YAML mapping → DataError, the rest findings."""
    path = Path(path)
    raw = read_input_bytes(path, kind="data.yaml file")
    text = raw.decode("utf-8-sig", errors="replace")
    doc, lines = parse_yaml(text, str(path))
    if not isinstance(doc, dict):
        what = f"expected a YAML mapping (path, train, val, kpt_shape, names, ...), found {type(doc).__name__}"
        raise DataError(f"{path}: {what}", [error("yolo.not_a_data_file", what, source=str(path))])
    data = DataFile(path=path, doc=doc, key_lines=lines, root=path.parent.absolute())
    _read_root(data)
    _read_kpt_shape(data)
    _read_names(data)
    _read_kpt_names(data)
    _read_flip_idx(data)
    _read_splits(data)
    return data


def looks_like_data_file(path: Path) -> bool:
    """True for a ``.yaml``/``.yml`` file that is not JSON, or any YAML mapping with ``kpt_shape``,
    or with ``names`` and a split key."""
    try:
        if path.stat().st_size > 1 << 20:  # data.yaml files are small; a big file is something else
            return False
        raw = path.read_bytes()
    except OSError:
        return False
    head = raw.lstrip(b"\xef\xbb\xbf").lstrip()
    if not head or head[:1] in (b"{", b"["):
        return False
    if path.suffix.lower() in (".yaml", ".yml"):
        return True  # even when broken: its located YAML error is then the answer
    try:
        doc, _ = parse_yaml(raw.decode("utf-8-sig", errors="replace"), str(path))
    except DataError:
        return False
    if not isinstance(doc, dict):
        return False
    return "kpt_shape" in doc or ("names" in doc and any(k in doc for k in ("train", "val")))


def _read_root(data: DataFile) -> None:
    """``path``: absent/empty → this file's folder; relative → this folder, then the working directory."""
    value = data.doc.get("path")
    if value in (None, ""):
        return
    if not isinstance(value, str):
        data.findings.append(
            error("yolo.path", f"path must be a string, found {value!r}", source=data.where("path"))
        )
        return
    given = Path(value).expanduser()
    if given.is_absolute():
        data.root = given
    else:
        here = data.path.parent.absolute() / given
        data.root = here if here.exists() or not given.exists() else given.absolute()
    if not data.root.is_dir():
        where = (
            ""
            if given.is_absolute()
            else " (looked next to this file and in the working directory)"
        )
        data.findings.append(error(
            "yolo.path", f"path {value!r}: the dataset root {str(data.root)!r} is not a folder{where}; "
            "Ultralytics would also try its datasets_dir setting", source=data.where("path"),
        ))  # fmt: skip


def _read_kpt_shape(data: DataFile) -> None:
    value = data.doc.get("kpt_shape")
    where = data.where("kpt_shape")
    if value is None:
        data.findings.append(error(
            "yolo.kpt_shape", "no kpt_shape: not a pose dataset (expected kpt_shape: [K, 3] or [K, 2])",
            source=where,
        ))  # fmt: skip
        return
    ok = (
        isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)
        and value[0] >= 1 and value[1] in (2, 3)
    )  # fmt: skip
    if not ok:
        data.findings.append(error(
            "yolo.kpt_shape", f"kpt_shape must be [K, 2] or [K, 3] with K >= 1, found {value!r}", source=where,
        ))  # fmt: skip
        return
    data.kpt_shape = KptShape(int(value[0]), int(value[1]))


def _read_names(data: DataFile) -> None:
    value, nc = data.doc.get("names"), data.doc.get("nc")
    where = data.where("names")
    if value is None:
        if type(nc) is int and nc > 0:
            data.names = {i: f"class_{i}" for i in range(nc)}
            data.findings.append(
                info(
                    "yolo.names",
                    f"no names: classes named class_0..class_{nc - 1} from nc",
                    source=data.where("nc"),
                )
            )
        else:
            data.findings.append(
                error(
                    "yolo.names", "no names (and no nc): the class names are unknown", source=where
                )
            )
        return
    if isinstance(value, list):
        value = dict(enumerate(value))
    if not isinstance(value, dict) or not value:
        data.findings.append(
            error("yolo.names", f"names must be a list or a mapping, found {value!r}", source=where)
        )
        return
    names: dict[int, str] = {}
    for key, name in value.items():
        try:
            names[int(key)] = str(name)
        except (TypeError, ValueError):
            data.findings.append(
                error("yolo.names", f"class index {key!r} is not an integer", source=where)
            )
            return
    if sorted(names) != list(range(len(names))):
        data.findings.append(error(
            "yolo.names", f"{len(names)} classes need the indices 0..{len(names) - 1}, found {sorted(names)}",
            source=where,
        ))  # fmt: skip
        return
    if type(nc) is int and nc != len(names):
        data.findings.append(
            error(
                "yolo.names",
                f"nc: {nc} but names lists {len(names)} classes",
                source=data.where("nc"),
            )
        )
    data.names = dict(sorted(names.items()))


def _name_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    return None


def _read_kpt_names(data: DataFile) -> None:
    """``kpt_names: {class: [names]}`` (a list of lists, or one flat list, also read), else the
    non-standard top-level ``keypoints: [names]`` some datasets carry."""
    value = data.doc.get("kpt_names")
    key = "kpt_names"
    if value is None and _name_list(data.doc.get("keypoints")) is not None:
        value, key = data.doc["keypoints"], "keypoints"
    if value is None:
        return
    where = data.where(key)
    per_class: dict[int, Any]
    if _name_list(value) is not None:  # one flat list: every class
        per_class = {c: value for c in data.names} or {0: value}
    elif isinstance(value, list):
        per_class = dict(enumerate(value))
    elif isinstance(value, dict):
        per_class = {}
        for c, names in value.items():
            try:
                per_class[int(c)] = names
            except (TypeError, ValueError):
                data.findings.append(
                    warning(
                        "yolo.kpt_names",
                        f"{key}: class {c!r} is not an integer; ignored",
                        source=where,
                    )
                )
    else:
        data.findings.append(
            warning(
                "yolo.kpt_names",
                f"{key} must map class -> list of names, found {value!r}",
                source=where,
            )
        )
        return
    k = data.kpt_shape.k if data.kpt_shape else None
    for c, names in sorted(per_class.items()):
        as_list = _name_list(names)
        if as_list is None:
            data.findings.append(
                warning(
                    "yolo.kpt_names",
                    f"{key}[{c}]: expected a list of names, found {names!r}",
                    source=where,
                )
            )
        elif k is not None and len(as_list) != k:
            data.findings.append(warning(
                "yolo.kpt_names", f"{key}[{c}]: kpt_shape says {k} keypoints, the list names {len(as_list)}; not used",
                source=where,
            ))  # fmt: skip
        elif len(set(as_list)) != len(as_list):
            dup = sorted({n for n in as_list if as_list.count(n) > 1})
            data.findings.append(
                warning(
                    "yolo.kpt_names",
                    f"{key}[{c}]: names given twice: {dup}; not used",
                    source=where,
                )
            )
        else:
            data.kpt_names[c] = as_list
    if key == "keypoints" and data.kpt_names:
        data.findings.append(info(
            "yolo.kpt_names", "keypoint names read from the non-standard top-level 'keypoints:' list "
            "(Ultralytics reads kpt_names: {class: [names]})", source=where,
        ))  # fmt: skip
    data.kpt_names_source = key


def _read_flip_idx(data: DataFile) -> None:
    value = data.doc.get("flip_idx")
    if value is None:
        return
    if not isinstance(value, list) or not all(type(v) is int for v in value):
        data.findings.append(
            error(
                "yolo.flip_idx",
                f"flip_idx must be a list of integers, found {value!r}",
                source=data.where("flip_idx"),
            )
        )
        return
    data.flip_idx = list(value)


def _read_splits(data: DataFile) -> None:
    doc = data.doc
    for key in SPLIT_KEYS:
        value = doc.get(key)
        if key == "val" and value is None:
            value = doc.get("validation")
        if value in (None, "", []):
            continue
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v for v in items):
            data.findings.append(
                error(
                    "yolo.split",
                    f"{key} must be a path or a list of paths, found {value!r}",
                    source=data.where(key),
                )
            )
            continue
        data.splits[key] = list(items)


# ------------------------------------------------------------------------------ split files
def label_path(image: str) -> str:
    """Ultralytics' ``img2label_paths`` for one path: last ``/images/`` → ``/labels/``, suffix → ``.txt``."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(image.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def is_image_name(name: str) -> bool:
    return name.rpartition(".")[2].lower() in IMAGE_SUFFIXES and "." in name


@dataclass
class SplitFiles:
    """The images of one split (absolute path strings, sorted) and the label folders to search."""

    name: str
    images: list[str] = field(default_factory=list)
    label_dirs: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)


def split_files(data: DataFile, split: str) -> SplitFiles:
    """Every image file of ``split``, as Ultralytics finds them; missing entries are findings."""
    out = SplitFiles(split)
    where = data.where(split if split in data.key_lines else "validation")
    found: list[str] = []
    skipped: list[str] = []
    for entry in data.splits.get(split, []):
        target = (data.root / entry).absolute()
        if not target.exists() and entry.startswith("../"):
            target = (data.root / entry[3:]).absolute()
        if target.is_dir():
            _walk_images(os.path.normpath(target), found, skipped)
            out.label_dirs.add(
                os.path.dirname(label_path(os.path.join(os.path.normpath(target), "x.jpg")))
            )
        elif target.is_file() and is_image_name(target.name):
            found.append(os.path.normpath(target))
        elif target.is_file():
            found.extend(_listed_images(data, target, out.findings))
        else:
            out.findings.append(error(
                "yolo.split_missing", f"{split}: {entry!r} does not exist (looked for {str(target)!r})", source=where,
            ))  # fmt: skip
    if skipped:
        shown = ", ".join(data.display(s) for s in sorted(skipped)[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        out.findings.append(info(
            "yolo.not_an_image", f"{split}: {len(skipped)} file(s) that are not images left out: {shown}{more}",
            source=where,
        ))  # fmt: skip
    out.images = sorted(dict.fromkeys(found))
    return out


def _walk_images(top: str, found: list[str], skipped: list[str]) -> None:
    # glob("**/*.*") as Ultralytics lists a folder: hidden files and folders are not matched
    for folder, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            (found if is_image_name(name) else skipped).append(os.path.join(folder, name))


def _listed_images(data: DataFile, listing: Path, findings: list[Finding]) -> list[str]:
    """The images a ``.txt`` list names: ``./x`` (and any relative path) relative to the list."""
    out: list[str] = []
    text = listing.read_bytes().decode("utf-8-sig", errors="replace")
    for n, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        path = Path(entry)
        full = path if path.is_absolute() else listing.parent / entry
        if not is_image_name(path.name):
            continue
        if not full.is_file():
            findings.append(
                error(
                    "yolo.image_missing",
                    f"listed image {entry!r} does not exist",
                    source=f"{data.display(listing)}:{n}",
                )
            )
            continue
        out.append(os.path.normpath(full.absolute()))
    return out
