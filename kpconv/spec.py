"""Keypoint specs: per category the ordered keypoint names, skeleton, flip pairs, OKS sigmas, aliases.

A spec file (YAML or JSON) looks like::

    categories:
      - name: person
        keypoints: [nose, left_eye, right_eye]
        skeleton: [[nose, left_eye], [nose, right_eye]]   # names or 1-based indices
        flip_pairs: [[left_eye, right_eye]]                # optional; derived from names when absent
        sigmas: [0.026, 0.025, 0.025]                      # optional; DEFAULT_SIGMA each when absent
        aliases: {snout: nose}                             # optional: source label -> keypoint name

A single category may also be written at the top level (``name:``/``keypoints:`` without
``categories:``). Flip pairs: when the file gives none, they are derived from left/right naming
(``left_x``/``right_x``, ``l_x``/``r_x``, ``LeftX``/``RightX``, ``xLeft``/``xRight``, ``LX``/``RX``,
``x_l``/``x_r``, ``leftx``/``rightx``). If nothing pairs up, flipping is *unsafe* (a horizontal flip
would need a permutation nobody gave). Writing ``flip_pairs: []`` explicitly declares a symmetric
keypoint set: flipping is then safe with no swaps.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .errors import DataError, UsageError
from .fileio import decode_utf8, loads_json, read_input_bytes

#: OKS sigma used for keypoints whose spec gives none. It is the median of COCO-person's 17
#: per-keypoint sigmas (the value COCO uses for the hips/shoulders-scale points), a middle-of-the
#: road tolerance; give real per-keypoint sigmas in the spec for meaningful AP on other sets.
DEFAULT_SIGMA = 0.072

COCO_PERSON_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
COCO_PERSON_SKELETON = [
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
]  # fmt: skip
COCO_PERSON_SIGMAS = [
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
]  # fmt: skip

Pair = tuple[int, int]
NameOrIndex = str | int


@dataclass
class CategoryEntry:
    """One category as a spec file writes it, its types checked (pairs by name or 1-based index).

    The file format's schema is :class:`kpconv.specfile.CategorySpecFile`; this is the same record
    without pydantic, which only loads when a file needs its located error message.
    """

    name: str
    keypoints: list[str]
    skeleton: list[tuple[NameOrIndex, NameOrIndex]] = field(default_factory=list)
    flip_pairs: list[tuple[NameOrIndex, NameOrIndex]] | None = None
    sigmas: list[float] | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    supercategory: str | None = None
    id: int | None = None


_ENTRY_FIELDS = frozenset(f.name for f in fields(CategoryEntry))


FlipSource = Literal["explicit", "derived", "none"]


@dataclass
class CategorySpec:
    """A resolved category spec: pairs as 1-based index tuples, everything checked."""

    name: str
    keypoints: list[str]
    skeleton: list[Pair] = field(default_factory=list)
    flip_pairs: list[Pair] = field(default_factory=list)
    flip_source: FlipSource = "none"
    sigmas: list[float] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    supercategory: str | None = None
    id: int | None = None

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    @property
    def flip_safe(self) -> bool:
        """True when a horizontal flip has a known left/right permutation (maybe empty)."""
        return self.flip_source != "none"

    def flip_permutation(self) -> list[int] | None:
        """0-based permutation to apply after a horizontal flip, or None when unsafe."""
        if not self.flip_safe:
            return None
        perm = list(range(self.num_keypoints))
        for a, b in self.flip_pairs:
            perm[a - 1], perm[b - 1] = b - 1, a - 1
        return perm

    def flip_note(self) -> str:
        """One line saying how flipping is configured (for logs and reports)."""
        if self.flip_source == "none":
            return (
                f"category {self.name!r}: no left/right keypoint pairs known; horizontal flip is "
                "unsafe (give flip_pairs in the spec, or flip_pairs: [] for a symmetric set)"
            )
        names = ", ".join(f"{self.keypoints[a - 1]}<->{self.keypoints[b - 1]}" for a, b in self.flip_pairs)
        return f"category {self.name!r}: flip pairs ({self.flip_source}): {names or 'none (symmetric)'}"

    def index_of(self, label: str) -> int | None:
        """0-based index of the keypoint a source label names, or None.

        Tries, in order: the exact name, an alias, the part after a ``category.`` prefix, then a
        case-insensitive match of each.
        """
        table, lowered = self._lookups()
        for candidate in _label_candidates(label):
            if candidate in table:
                return table[candidate]
        for candidate in _label_candidates(label):
            if candidate.lower() in lowered:
                return lowered[candidate.lower()]
        return None

    def _lookups(self) -> tuple[dict[str, int], dict[str, int]]:
        """Name (and alias) → index, exact and lower-cased: built once, not per lookup (a
        converter looks up every label, and K lookups of an O(K) build were quadratic in K).

        Rebuilt when ``keypoints`` or ``aliases`` is replaced or changes length.
        """
        # the cache keeps the list and dict it was built from: compared by identity and length
        kps, aliases = self.keypoints, self.aliases
        cached = self.__dict__.get("_lookup_cache")
        if cached is not None:
            (old_kps, n_kps, old_aliases, n_aliases), *tables = cached
            if old_kps is kps and n_kps == len(kps) and old_aliases is aliases and n_aliases == len(aliases):
                return tables[0], tables[1]
        table = {name: i for i, name in enumerate(self.keypoints)}
        for alias, target in self.aliases.items():
            if target in table:
                table.setdefault(alias, table[target])
        lowered: dict[str, int] = {}
        for k, v in table.items():
            lowered[k.lower()] = v  # the last of names equal but for case, as before
        self.__dict__["_lookup_cache"] = ((kps, len(kps), aliases, len(aliases)), table, lowered)
        return table, lowered

    def to_coco_category(self, category_id: int) -> dict[str, Any]:
        """The COCO ``categories`` entry for this spec."""
        out: dict[str, Any] = {
            "id": category_id,
            "name": self.name,
            "supercategory": self.supercategory if self.supercategory is not None else self.name,
            "keypoints": list(self.keypoints),
            "skeleton": [[a, b] for a, b in self.skeleton],
        }
        return out

    def to_file(self) -> dict[str, Any]:
        """This category as a spec-file entry (pairs by name, easy to read and edit)."""
        out: dict[str, Any] = {"name": self.name, "keypoints": list(self.keypoints)}
        out["skeleton"] = [[self.keypoints[a - 1], self.keypoints[b - 1]] for a, b in self.skeleton]
        if self.flip_source == "explicit" or self.flip_pairs:
            out["flip_pairs"] = [
                [self.keypoints[a - 1], self.keypoints[b - 1]] for a, b in self.flip_pairs
            ]
        out["sigmas"] = list(self.sigmas)
        if self.aliases:
            out["aliases"] = dict(self.aliases)
        if self.supercategory is not None:
            out["supercategory"] = self.supercategory
        return out


@dataclass
class KeypointSpec:
    """A resolved spec for one or more categories."""

    categories: list[CategorySpec]

    def to_json(self) -> dict[str, Any]:
        """Every field, as JSON types (what a checkpoint stores; :meth:`from_json` reads it back)."""
        return {"categories": [
            {**asdict(c), "skeleton": [list(p) for p in c.skeleton], "flip_pairs": [list(p) for p in c.flip_pairs]}
            for c in self.categories
        ]}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeypointSpec:
        """The spec :meth:`to_json` wrote."""
        cats = []
        for c in data["categories"]:
            c = dict(c)
            c["skeleton"] = [(int(a), int(b)) for a, b in c.get("skeleton", [])]
            c["flip_pairs"] = [(int(a), int(b)) for a, b in c.get("flip_pairs", [])]
            cats.append(CategorySpec(**c))
        return cls(categories=cats)

    def category(self, name: str) -> CategorySpec | None:
        for cat in self.categories:
            if cat.name == name:
                return cat
        return None

    def names(self) -> list[str]:
        return [c.name for c in self.categories]

    def to_file(self) -> dict[str, Any]:
        return {"categories": [c.to_file() for c in self.categories]}

    def to_yaml(self) -> str:
        import yaml  # only for printing or reading YAML specs

        return yaml.safe_dump(self.to_file(), sort_keys=False, default_flow_style=None)


def _label_candidates(label: str) -> list[str]:
    label = label.strip()
    out = [label]
    if "." in label:
        out.append(label.rsplit(".", 1)[1])
    return out


_LR_WORD = re.compile(r"(left|right|Left|Right|LEFT|RIGHT)")
_SWAP_WORD = {"left": "right", "right": "left", "Left": "Right", "Right": "Left",
              "LEFT": "RIGHT", "RIGHT": "LEFT"}  # fmt: skip


def _mirror_names(name: str) -> list[str]:
    """Names that would be ``name``'s left/right counterpart under common conventions."""
    out: list[str] = []
    if _LR_WORD.search(name):
        out.append(_LR_WORD.sub(lambda m: _SWAP_WORD[m.group(0)], name))
    for a, b in (("l_", "r_"), ("L_", "R_"), ("l.", "r."), ("L.", "R.")):
        if name.startswith(a):
            out.append(b + name[len(a):])
        elif name.startswith(b):
            out.append(a + name[len(b):])
    for a, b in (("_l", "_r"), ("_L", "_R"), (".l", ".r"), (".L", ".R")):
        if name.endswith(a):
            out.append(name[: -len(a)] + b)
        elif name.endswith(b):
            out.append(name[: -len(b)] + a)
    # "LFrontWheel" / "RFrontWheel": a capital L/R followed by another capital.
    if len(name) > 1 and name[0] in "LR" and name[1].isupper():
        out.append(("R" if name[0] == "L" else "L") + name[1:])
    return out


def derive_flip_pairs(keypoints: list[str]) -> list[Pair]:
    """1-based left/right pairs found from naming conventions (each keypoint in at most one)."""
    index = {name: i for i, name in enumerate(keypoints)}
    used: set[int] = set()
    pairs: list[Pair] = []
    for i, name in enumerate(keypoints):
        if i in used:
            continue
        for mirror in _mirror_names(name):
            j = index.get(mirror)
            if j is not None and j != i and j not in used:
                pairs.append((i + 1, j + 1))
                used.update((i, j))
                break
    return pairs


def _resolve_pairs(
    pairs: list[tuple[NameOrIndex, NameOrIndex]], keypoints: list[str], where: str
) -> list[Pair]:
    index = {name: i + 1 for i, name in enumerate(keypoints)}
    out: list[Pair] = []
    for n, pair in enumerate(pairs):
        resolved: list[int] = []
        for item in pair:
            if isinstance(item, int):
                if not 1 <= item <= len(keypoints):
                    raise DataError(
                        f"{where}[{n}]: index {item} is outside 1..{len(keypoints)} "
                        f"(indices are 1-based{'; this looks 0-based' if item == 0 else ''})"
                    )
                resolved.append(item)
            else:
                if item not in index:
                    raise DataError(f"{where}[{n}]: {item!r} is not one of the keypoints {keypoints}")
                resolved.append(index[item])
        out.append((resolved[0], resolved[1]))
    return out


def resolve_category(entry: CategoryEntry, where: str = "categories[0]") -> CategorySpec:
    """Check one spec-file category and turn it into a :class:`CategorySpec`."""
    kps = list(entry.keypoints)
    if not kps:
        raise DataError(f"{where}.keypoints: a keypoint category needs at least one keypoint")
    seen: set[str] = set()
    for i, name in enumerate(kps):
        if name in seen:
            raise DataError(f"{where}.keypoints[{i}]: keypoint name {name!r} is given twice")
        seen.add(name)
    skeleton = _resolve_pairs(list(entry.skeleton), kps, f"{where}.skeleton")
    if entry.flip_pairs is None:
        flip_pairs = derive_flip_pairs(kps)
        source: FlipSource = "derived" if flip_pairs else "none"
    else:
        flip_pairs = _resolve_pairs(list(entry.flip_pairs), kps, f"{where}.flip_pairs")
        source = "explicit"
        members = [i for pair in flip_pairs for i in pair]
        if len(members) != len(set(members)):
            raise DataError(f"{where}.flip_pairs: a keypoint appears in more than one pair")
    if entry.sigmas is None:
        sigmas = [DEFAULT_SIGMA] * len(kps)
    else:
        if len(entry.sigmas) != len(kps):
            raise DataError(
                f"{where}.sigmas: expected {len(kps)} values (one per keypoint), found {len(entry.sigmas)}"
            )
        if any(not (s > 0) for s in entry.sigmas):
            raise DataError(f"{where}.sigmas: every sigma must be a positive number")
        sigmas = list(entry.sigmas)
    for alias, target in entry.aliases.items():
        if target not in seen:
            raise DataError(f"{where}.aliases.{alias}: target {target!r} is not a keypoint name")
    return CategorySpec(
        name=entry.name,
        keypoints=kps,
        skeleton=skeleton,
        flip_pairs=flip_pairs,
        flip_source=source,
        sigmas=sigmas,
        aliases=dict(entry.aliases),
        supercategory=entry.supercategory,
        id=entry.id,
    )


def spec_from_mapping(data: Any, *, source: str = "<spec>") -> KeypointSpec:
    """Build a spec from a parsed YAML/JSON mapping (multi-category or single-category form)."""
    if isinstance(data, dict) and "categories" not in data and "keypoints" in data:
        data = {"categories": [data]}
    if isinstance(data, dict) and "categories" not in data:
        keys = ", ".join(map(str, list(data)[:5])) or "none"
        raise DataError(
            f"{source}: not a kpconv spec: it has no 'categories' (a list of {{name, keypoints, ...}}) "
            f"nor 'keypoints' (one category); its top-level keys: {keys} (the README's \"Keypoint specs\" shows the format)"
        )
    entries = _plain_entries(data)
    if entries is None:  # something to coerce or to report: the file model says what and where
        entries = _validated_entries(data, source)
    cats = [resolve_category(c, f"{source}: categories[{i}]") for i, c in enumerate(entries)]
    names = [c.name for c in cats]
    if len(set(names)) != len(names):
        raise DataError(f"{source}: category names must be unique, found {names}")
    return KeypointSpec(categories=cats)


def _plain_entries(data: Any) -> list[CategoryEntry] | None:
    """The categories when every value already has its exact type, else None.

    This is what presets, inferred specs and most files hold; it needs no coercion, so the
    result is what the pydantic file model would give. Anything else (a string where a number
    belongs, an unknown key, a wrong type) returns None and goes through that model.
    """
    if type(data) is not dict or data.keys() != {"categories"} or type(data["categories"]) is not list:
        return None
    out = []
    for entry in data["categories"]:
        if type(entry) is not dict or not entry.keys() <= _ENTRY_FIELDS:
            return None
        name, kps = entry.get("name"), entry.get("keypoints")
        if type(name) is not str or type(kps) is not list or not all(type(k) is str for k in kps):
            return None
        skeleton = _plain_pairs(entry.get("skeleton", []))
        flips = entry.get("flip_pairs")
        flip_pairs = None if flips is None else _plain_pairs(flips)
        if skeleton is None or (flips is not None and flip_pairs is None):
            return None
        sigmas = entry.get("sigmas")
        if sigmas is not None and (type(sigmas) is not list or not all(type(v) in (int, float) for v in sigmas)):
            return None
        aliases = entry.get("aliases", {})
        if type(aliases) is not dict or not all(type(k) is str and type(v) is str for k, v in aliases.items()):
            return None
        sup, cid = entry.get("supercategory"), entry.get("id")
        if (sup is not None and type(sup) is not str) or (cid is not None and type(cid) is not int):
            return None
        out.append(CategoryEntry(
            name, list(kps), skeleton, flip_pairs, None if sigmas is None else [float(v) for v in sigmas],
            dict(aliases), sup, cid,
        ))  # fmt: skip
    return out


def _plain_pairs(value: Any) -> list[tuple[NameOrIndex, NameOrIndex]] | None:
    if type(value) is not list:
        return None
    out: list[tuple[NameOrIndex, NameOrIndex]] = []
    for pair in value:
        if type(pair) not in (list, tuple) or len(pair) != 2 or not all(type(v) in (str, int) for v in pair):
            return None
        out.append((pair[0], pair[1]))
    return out


def _validated_entries(data: Any, source: str) -> list[CategoryEntry]:
    """The categories through the pydantic file model: coerced, or a located DataError."""
    from pydantic import ValidationError

    from .specfile import KeypointSpecFile

    try:
        parsed = KeypointSpecFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise DataError(f"{source}: {loc}: {err['msg']}") from None
    return [CategoryEntry(**c.model_dump()) for c in parsed.categories]


def load_spec(path: str | Path) -> KeypointSpec:
    """Read a spec from a YAML or JSON file."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: spec file not found")
    raw = read_input_bytes(path, kind="spec file")
    if path.suffix.lower() == ".json":
        data = loads_json(raw, source=str(path), code="spec.not_text")
    else:
        import yaml

        text = decode_utf8(raw, source=str(path), code="spec.not_text")  # a binary file: located
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            raise DataError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return spec_from_mapping(data, source=str(path))


def spec_from_keypoints(names: list[str], category: str = "object") -> KeypointSpec:
    """A one-category spec from a list of keypoint names (no skeleton, derived flips)."""
    return spec_from_mapping({"name": category, "keypoints": names}, source="--keypoints")


def coco_person_spec() -> KeypointSpec:
    """The COCO person preset: 17 keypoints, COCO's skeleton, flip pairs and OKS sigmas."""
    return spec_from_mapping(
        {
            "name": "person",
            "supercategory": "person",
            "keypoints": COCO_PERSON_KEYPOINTS,
            "skeleton": [list(p) for p in COCO_PERSON_SKELETON],
            "sigmas": COCO_PERSON_SIGMAS,
        },
        source="preset coco-person",
    )


PRESETS = {"coco-person": coco_person_spec}


def get_preset(name: str) -> KeypointSpec:
    """A built-in spec by name (``coco-person``)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise UsageError(f"unknown preset {name!r}; available: {', '.join(sorted(PRESETS))}") from None


def spec_from_coco_categories(categories: list[dict[str, Any]]) -> KeypointSpec:
    """Derive a spec from a COCO file's categories (skip those without keypoints).

    Skeleton pairs are taken as 1-based; out-of-range pairs are dropped here (the validator
    reports them). Categories named after the COCO person set get COCO's sigmas.
    """
    cats: list[CategorySpec] = []
    for i, cat in enumerate(categories):
        kps = [str(k) for k in (cat.get("keypoints") or [])]
        if not kps or len(set(kps)) != len(kps):
            continue
        k = len(kps)
        skeleton = [
            (int(a), int(b))
            for a, b in (pair for pair in (cat.get("skeleton") or []) if len(pair) == 2)
            if isinstance(a, int | float) and isinstance(b, int | float) and 1 <= a <= k and 1 <= b <= k
        ]
        sigmas = COCO_PERSON_SIGMAS if kps == COCO_PERSON_KEYPOINTS else None
        entry = CategoryEntry(
            name=str(cat.get("name", f"category_{i}")),
            keypoints=kps,
            skeleton=[(a, b) for a, b in skeleton],
            sigmas=list(sigmas) if sigmas is not None else None,
            supercategory=cat.get("supercategory") if isinstance(cat.get("supercategory"), str) else None,
            id=cat.get("id") if isinstance(cat.get("id"), int) else None,
        )
        cats.append(resolve_category(entry, f"categories[{i}]"))
    return KeypointSpec(categories=cats)


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema of the spec file format."""
    from .specfile import KeypointSpecFile

    return KeypointSpecFile.model_json_schema()
