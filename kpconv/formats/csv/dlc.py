"""DeepLabCut ``CollectedData_<scorer>.csv`` (single- and multi-animal).

Header rows, each starting with its level name: ``scorer``, optionally ``individuals``,
``bodyparts``, ``coords`` (``x``/``y``, machine-labelled files also ``likelihood``). Index: one
column with the image path (``labeled-data/<video>/img0001.png``) or three (``labeled-data``,
``<video>``, ``img0001.png``) — the number is read from the leading blank cells of the ``coords``
row. Header rows may be shorter than the data (cells are carried forward from the left, as a
spreadsheet's merged cells would be); data rows may be shorter than the header (missing cells are
empty); an empty cell is an unlabelled point (v=0).

Each individual in a row is one instance of the animal category; the individual DeepLabCut names
``single`` holds the *unique* bodyparts (objects in the arena) and becomes an instance of a second
category, ``unique_bodyparts``. The project's ``config.yaml`` (two folders above the CSV, three for
the merged CSV of ``training-datasets/iteration-N/UnaugmentedDataSet_*``, or ``--config``) gives
the bodypart order (``bodyparts``, or ``multianimalbodyparts`` + ``uniquebodyparts`` when
``bodyparts: MULTI!``) and the skeleton (pairs of names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...convert.builder import ParseResult, RawInstance, RawPoint
from ...errors import DataError, UsageError
from ...fileio import decode_utf8
from ...finding import Finding, error, info, warning
from ...memory import gc_paused
from ...spec import KeypointSpec, spec_from_mapping
from .imagefiles import normalize_name
from .options import CsvOptions, LayoutResult
from .table import CsvTable

LEVELS = ("scorer", "individuals", "bodyparts", "coords")
COORDS = ("x", "y", "likelihood")
UNIQUE_INDIVIDUAL = "single"
UNIQUE_CATEGORY = "unique_bodyparts"


def looks_like(rows: list[list[str]]) -> bool:
    """True when the file starts with DeepLabCut's ``scorer`` header row."""
    for row in rows[:1]:
        return bool(row) and row[0].strip().lower() == "scorer"
    return False


@dataclass
class Header:
    """The column structure read from the header rows."""

    n_index: int
    width: int
    first_data: int
    multi_animal: bool
    individuals: list[str] = field(default_factory=list)
    # (individual, bodypart) → {"x": col, "y": col}, in column order
    slots: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)


def parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    """Parse a DeepLabCut CSV into instances (images named as written) and the source spec."""
    with gc_paused():
        return _parse(table, options)


def _parse(table: CsvTable, options: CsvOptions) -> LayoutResult:
    findings: list[Finding] = list(table.findings)
    header = read_header(table, findings)
    animal = options.category_or("animal")
    project_root = _project_root(table.path)
    config_path = options.config
    config = load_config(config_path) if config_path is not None else None
    if config_path is None and project_root is not None and (project_root / "config.yaml").is_file():
        found = load_config(project_root / "config.yaml")
        # a config.yaml two folders up that names no bodyparts is some other tool's file
        if any(key in found for key in ("bodyparts", "multianimalbodyparts", "uniquebodyparts")):
            config_path, config = project_root / "config.yaml", found
        else:
            findings.append(
                info(
                    "csv.config_ignored",
                    f"{project_root / 'config.yaml'} names no bodyparts: not a DeepLabCut config, ignored",
                    source=str(project_root / "config.yaml"),
                )
            )
    spec = build_spec(header, config, config_path, animal, findings, table.display)

    instances: list[RawInstance] = []
    image_names: dict[str, str] = {}
    seen: dict[str, tuple[int, list[tuple[str, str, float, float]]]] = {}
    rows = table.rows
    width = header.width
    n_index = header.n_index
    multi = header.multi_animal
    slots = [
        (ind, bp, cols["x"], cols["y"], f"{ind}/{bp}/x" if multi else f"{bp}/x", f"{ind}/{bp}/y" if multi else f"{bp}/y")
        for (ind, bp), cols in header.slots.items()
    ]
    for r in range(header.first_data, len(rows)):
        row = rows[r]
        if not any(c.strip() for c in row):
            continue
        where = table.where(r)
        if len(row) < width:
            row = row + [""] * (width - len(row))
        elif len(row) > width and any(c.strip() for c in row[width:]):
            findings.append(
                warning(
                    "csv.extra_cells",
                    f"{len(row)} cells but the header has {width}; the cells beyond it are ignored",
                    source=where,
                )
            )
        parts = [c.strip() for c in row[:n_index]]
        name = normalize_name("/".join(p for p in parts if p))
        if not name:
            findings.append(error("csv.missing_image_name", "the image path cells are empty; row skipped", source=where))
            continue
        points: list[tuple[str, str, float, float]] = []
        for ind, bp, xc, yc, xname, yname in slots:
            x = table.number(row[xc], r, xname, findings) if row[xc] else None
            y = table.number(row[yc], r, yname, findings) if row[yc] else None
            if x is not None and y is not None:
                points.append((ind, bp, x, y))
        previous = seen.get(name)
        if previous is not None:
            first_row, first_points = previous
            if first_points == points:
                findings.append(
                    warning(
                        "csv.duplicate_row",
                        f"image {name!r} is listed again with the same values "
                        f"(first at line {table.line(first_row)}); kept once",
                        source=where,
                    )
                )
            else:
                findings.append(
                    error(
                        "csv.conflicting_rows",
                        f"image {name!r} is listed again with different values "
                        f"(first at line {table.line(first_row)}); this row is ignored",
                        source=where,
                    )
                )
            continue
        seen[name] = (r, points)
        image_names[name] = where
        by_individual: dict[str, RawInstance] = {}
        for ind, bp, x, y in points:
            inst = by_individual.get(ind)
            if inst is None:
                unique = multi and ind == UNIQUE_INDIVIDUAL
                inst = by_individual[ind] = RawInstance(
                    image=name,
                    category=UNIQUE_CATEGORY if unique else animal,
                    source=where,
                    attributes={"individual": ind} if multi and not unique else {},
                )
            inst.points.append(RawPoint(bp, x, y, 2, f"{where}:{bp}"))
        # individuals in header order, so instance order does not depend on which parts are labelled
        instances.extend(by_individual[i] for i in header.individuals if i in by_individual)

    roots = [p for p in (project_root, table.path.parent) if p is not None]
    parsed = ParseResult(instances=instances, findings=findings, spec=spec)
    return LayoutResult(parsed, image_names, roots)


def _project_root(csv_path: Path) -> Path | None:
    """The DeepLabCut project root: ``<root>/labeled-data/<video>/CollectedData_x.csv``, or
    ``<root>/training-datasets/iteration-N/UnaugmentedDataSet_<task><date>/CollectedData_x.csv``
    (the merged file DeepLabCut writes when it creates a training set)."""
    parents = csv_path.resolve().parents
    names = [p.name for p in parents[:3]]
    training_set = (
        len(names) == 3
        and names[0].startswith("UnaugmentedDataSet_")
        and names[1].startswith("iteration-")
        and names[2] == "training-datasets"
    )
    up = 3 if training_set else 2
    if len(csv_path.parents) >= up + 2:  # keep a relative path relative: it reads better in messages
        return csv_path.parents[up]
    return parents[up] if len(parents) >= up + 1 else None


def read_header(table: CsvTable, findings: list[Finding]) -> Header:
    """Read the ``scorer``/``individuals``/``bodyparts``/``coords`` rows into a :class:`Header`."""
    rows = table.rows
    levels: dict[str, int] = {}
    r = 0
    while r < len(rows) and rows[r] and rows[r][0].strip().lower() in LEVELS:
        level = rows[r][0].strip().lower()
        if level in levels:
            raise DataError(f"{table.where(r)}: header row {level!r} appears twice")
        levels[level] = r
        r += 1
    first_data = r
    for needed in ("bodyparts", "coords"):
        if needed not in levels:
            raise DataError(
                f"{table.where(max(first_data - 1, 0))}: not a DeepLabCut header: no {needed!r} row "
                f"(found rows: {', '.join(levels) or 'none'}; expected scorer, [individuals,] bodyparts, coords)"
            )
    coords_row = rows[levels["coords"]]
    n_index = next((i for i, c in enumerate(coords_row) if i > 0 and c.strip()), 0)
    if n_index == 0:
        raise DataError(f"{table.where(levels['coords'])}: the coords row names no x/y column")
    width = max(len(rows[i]) for i in levels.values())
    filled: dict[str, list[str]] = {}
    for level, i in levels.items():
        cells = [c.strip() for c in rows[i]] + [""] * (width - len(rows[i]))
        if level != "coords":  # a blank cell repeats the one on its left (merged header cells)
            for c in range(n_index + 1, width):
                if not cells[c]:
                    cells[c] = cells[c - 1]
        filled[level] = cells
    multi = "individuals" in levels
    header = Header(n_index=n_index, width=width, first_data=first_data, multi_animal=multi)
    for c in range(n_index, width):
        coord = filled["coords"][c].lower()
        bodypart = filled["bodyparts"][c]
        individual = filled["individuals"][c] if multi else ""
        if not coord and not bodypart:
            continue
        if coord not in COORDS:
            findings.append(
                warning(
                    "csv.unknown_coordinate",
                    f"column {c + 1}: coords {filled['coords'][c]!r} is not x, y or likelihood; column ignored",
                    source=table.where(levels["coords"]),
                )
            )
            continue
        if not bodypart:
            raise DataError(f"{table.where(levels['bodyparts'])}: column {c + 1} has no bodypart name")
        if multi and not individual:
            raise DataError(f"{table.where(levels['individuals'])}: column {c + 1} has no individual name")
        slot = header.slots.setdefault((individual, bodypart), {})
        if coord in slot:
            who = f"individual {individual!r}, " if multi else ""
            raise DataError(
                f"{table.where(levels['coords'])}: column {c + 1}: {who}bodypart {bodypart!r} "
                f"has two {coord!r} columns ({slot[coord] + 1} and {c + 1})"
            )
        slot[coord] = c
        if individual not in header.individuals:
            header.individuals.append(individual)
    if not header.slots:
        raise DataError(f"{table.where(levels['bodyparts'])}: the header names no bodypart")
    for (individual, bodypart), cols in header.slots.items():
        for coord in ("x", "y"):
            if coord not in cols:
                who = f"individual {individual!r}, " if multi else ""
                raise DataError(
                    f"{table.where(levels['coords'])}: {who}bodypart {bodypart!r} has no {coord!r} column"
                )
    return header


def load_config(path: Path) -> dict[str, Any]:
    """Read a DeepLabCut ``config.yaml`` (only the keys kpconv uses are checked)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    text = decode_utf8(raw, source=str(path), code="csv.config_not_text")  # a binary file: located
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise DataError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a DeepLabCut config (a YAML mapping), found {type(data).__name__}")
    return data


def _names(value: Any, key: str, path: Path | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise DataError(f"{path}: {key}: expected a list of names, found {value!r}")
    return [str(v) for v in value]


def build_spec(
    header: Header,
    config: dict[str, Any] | None,
    config_path: Path | None,
    animal: str,
    findings: list[Finding],
    display: str,
) -> KeypointSpec:
    """The source spec: bodypart order and skeleton from the config when there is one, else the CSV's."""
    csv_animal: list[str] = []
    csv_unique: list[str] = []
    for individual, bodypart in header.slots:
        target = csv_unique if header.multi_animal and individual == UNIQUE_INDIVIDUAL else csv_animal
        if bodypart not in target:
            target.append(bodypart)
    skeleton_names: list[tuple[str, str]] = []
    if config is None:
        animal_kps, unique_kps = csv_animal, csv_unique
        source = display
    else:
        source = str(config_path)
        bodyparts = config.get("bodyparts")
        if bodyparts == "MULTI!" or (config.get("multianimalproject") and "multianimalbodyparts" in config):
            animal_kps = _names(config.get("multianimalbodyparts"), "multianimalbodyparts", config_path)
        else:
            animal_kps = _names(bodyparts, "bodyparts", config_path)
        unique_kps = _names(config.get("uniquebodyparts"), "uniquebodyparts", config_path)
        for csv_list, cfg_list, key in (
            (csv_animal, animal_kps, "bodyparts"),
            (csv_unique, unique_kps, "uniquebodyparts"),
        ):
            extra = [b for b in csv_list if b not in cfg_list]
            if extra:
                findings.append(
                    warning(
                        "csv.config_mismatch",
                        f"bodyparts {', '.join(extra)} are in the CSV but not in the config's "
                        f"{key}; added after the config's order",
                        source=str(config_path),
                    )
                )
                cfg_list.extend(extra)
        if config.get("bodyparts") != "MULTI!" and csv_animal and animal_kps != csv_animal:
            findings.append(
                info(
                    "csv.config_order",
                    f"keypoint order from {config_path}: {', '.join(animal_kps)} "
                    f"(the CSV columns are {', '.join(csv_animal)})",
                    source=str(config_path),
                )
            )
        raw_skeleton = config.get("skeleton") or []
        if not isinstance(raw_skeleton, list):
            raise DataError(f"{config_path}: skeleton: expected a list of [name, name] pairs")
        for i, pair in enumerate(raw_skeleton):
            if not isinstance(pair, list) or len(pair) != 2:
                raise DataError(f"{config_path}: skeleton[{i}]: expected a [name, name] pair, found {pair!r}")
            skeleton_names.append((str(pair[0]), str(pair[1])))
    categories: list[dict[str, Any]] = []
    for name, kps in ((animal, animal_kps), (UNIQUE_CATEGORY, unique_kps)):
        if not kps:
            continue
        edges = [[a, b] for a, b in skeleton_names if a in kps and b in kps]
        categories.append({"name": name, "keypoints": kps, "skeleton": edges})
    everything = set(animal_kps) | set(unique_kps)
    for i, (a, b) in enumerate(skeleton_names):
        if a not in everything or b not in everything:
            findings.append(
                warning(
                    "csv.skeleton_unknown",
                    f"skeleton[{i}] [{a}, {b}] names a bodypart that is not labelled; edge dropped",
                    source=str(config_path),
                )
            )
        elif not ((a in animal_kps and b in animal_kps) or (a in unique_kps and b in unique_kps)):
            findings.append(
                warning(
                    "csv.skeleton_unknown",
                    f"skeleton[{i}] [{a}, {b}] joins an animal bodypart to a unique one; edge dropped",
                    source=str(config_path),
                )
            )
    if animal == UNIQUE_CATEGORY and unique_kps:
        raise UsageError(f"--category-name {UNIQUE_CATEGORY!r} is reserved for DeepLabCut unique bodyparts")
    return spec_from_mapping({"categories": categories}, source=source)
