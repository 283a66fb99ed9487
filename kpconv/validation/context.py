"""What the checks share: the document's records, id indexes, and columns built once.

Two ways in, one set of semantic checks:

* **fast path** (the CLI on a file, and every converter on the bytes it writes): ``msgspec``
  decodes the bytes straight into typed records holding only the fields the rules read
  (segmentations are skipped, not built; each ``keypoints`` array is kept as its raw JSON text).
  All keypoint arrays are then parsed in one pass into one float64 array
  (:func:`parse_number_lists`), not number by number into Python objects. If the strict decode
  succeeds and every ``keypoints`` is a flat array of numbers, every structural rule is proven to
  hold and only the semantic rules run.
* **slow path** (a file that does not fit the strict types, or a document given as dicts): the
  plain JSON document; structural rules run first, field by field, with exact pointers.

The semantic rules work on :class:`AnnotationColumns` / :class:`ImageColumns` and on numpy
keypoint blocks, the same for both paths. A pydantic object per annotation would cost more than
the whole time budget on a COCO-scale file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Annotated, Any, overload

import msgspec
import numpy as np

from ..finding import Finding, Severity

MAX_PER_CODE = 10_000

#: marks a field that is absent from its record (as opposed to present and null)
MISSING: Any = msgspec.UNSET

REQUIRED_ANNOTATION_FIELDS = ("id", "image_id", "category_id", "keypoints")
REQUIRED_IMAGE_FIELDS = ("id", "file_name", "width", "height")
REQUIRED_CATEGORY_FIELDS = ("id", "name")


#: every integer the checks read must fit in a signed 64-bit integer: numpy, pycocotools and
#: torch hold ids (and sizes, flags, counts) so, and JSON writers (orjson) refuse larger ones
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: an integer of the strict typed decode: a larger one does not fit (the slow path locates it)
Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]


def is_int(v: Any) -> bool:
    """An integer (not a bool) in the signed 64-bit range."""
    return type(v) is int and INT64_MIN <= v <= INT64_MAX


def is_big_int(v: Any) -> bool:
    """An integer outside the signed 64-bit range (JSON allows any number of digits)."""
    return type(v) is int and not INT64_MIN <= v <= INT64_MAX


def is_number(v: Any) -> bool:
    """A float, or an integer in the signed 64-bit range."""
    t = type(v)
    return t is float or (t is int and INT64_MIN <= v <= INT64_MAX)


def numeric_string(v: Any) -> float | None:
    """The number a string like ``"3264"`` holds, or None."""
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


# ----------------------------------------------------------------------------- fast decode
class FastImage(msgspec.Struct):
    id: Int64
    file_name: str
    width: Int64
    height: Int64


class RawAnnotation(msgspec.Struct):
    """An annotation of the strict typed decode, ``keypoints`` left as its JSON text (parsed in
    bulk); a large integer (past 64 bits) does not fit ``Int64`` and sends the file to the slow
    path, which locates it."""

    id: Int64
    image_id: Int64
    category_id: Int64
    keypoints: msgspec.Raw
    num_keypoints: Int64 | None | msgspec.UnsetType = msgspec.UNSET
    bbox: list[Int64 | float] | None | msgspec.UnsetType = msgspec.UNSET
    area: Int64 | float | None | msgspec.UnsetType = msgspec.UNSET
    iscrowd: Int64 | None | msgspec.UnsetType = msgspec.UNSET


class RawDocument(msgspec.Struct):
    images: list[FastImage]
    annotations: list[RawAnnotation]
    categories: list[dict[str, Any]]


_RAW_DECODER = msgspec.json.Decoder(RawDocument)
_NUMBERS = list[int | float]
_NUMBERS_DECODER = msgspec.json.Decoder(_NUMBERS)

_WHITESPACE = b" \t\r\n"
#: the bytes a flat JSON array of numbers is made of, once its whitespace is gone
_NUMBER_ARRAY_BYTES = b"0123456789+-.eE,[]"
_BRACKETS_TO_COMMAS = bytes.maketrans(b"[]", b",,")
#: below this many bytes of keypoint text the arrays are decoded one by one: as fast at that
#: size, and a small file's check does not pay for importing pyarrow (about 0.3 s)
BULK_PARSE_FROM = 1 << 20


class JsonSlices(Sequence[list[int | float]]):
    """Item ``i``: the number array ``text[opens[i]:closes[i] + 1]`` decoded on demand.

    The values exactly as found (``2`` stays an int, ``2.0`` a float) for the few messages that
    print them, without a Python object per number for all the others.
    """

    def __init__(self, text: bytes, opens: np.ndarray, closes: np.ndarray) -> None:
        self._text, self._opens, self._closes = text, opens, closes

    def __len__(self) -> int:
        return len(self._opens)

    @overload
    def __getitem__(self, i: int) -> list[int | float]: ...
    @overload
    def __getitem__(self, i: slice) -> list[list[int | float]]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        a, b = int(self._opens[i]), int(self._closes[i])
        return _NUMBERS_DECODER.decode(self._text[a : b + 1])


@dataclass
class NumberLists:
    """Many JSON number arrays as one float64 array: array ``i`` is ``values[starts[i]:][:lengths[i]]``.

    ``lists`` gives each array's values as found (ints stay ints), for messages.
    """

    values: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    lists: Sequence[list[int | float]]

    @classmethod
    def of(cls, lists: Sequence[list[int | float]]) -> NumberLists:
        """The arrays of ``lists`` (of numbers); OverflowError for an integer past float64."""
        lengths = np.fromiter(map(len, lists), np.int64, len(lists))
        values = np.fromiter(chain.from_iterable(lists), np.float64, int(lengths.sum()))
        starts = np.zeros(len(lists), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        return cls(values, starts, lengths, lists)


def _number_lists_one_by_one(raws: Sequence[Any]) -> NumberLists | None:
    """Each array decoded on its own, as the strict typed decode does; None when one does not fit."""
    try:
        found = NumberLists.of([_NUMBERS_DECODER.decode(r) for r in raws])
    except (msgspec.ValidationError, msgspec.DecodeError, OverflowError):
        return None
    return found if np.isfinite(found.values).all() else None


def parse_number_lists(raws: Sequence[Any], bulk_from: int | None = None) -> NumberLists | None:
    """Parse JSON texts that should each be a flat array of numbers, all in one pass.

    None where one is not (null, a string, a nested array, an object, a bare number...) or holds
    a number out of float64 range: exactly where a strict ``list[int | float]`` decode fails.

    The texts are joined and stripped of whitespace; the bytes that remain must all be number
    bytes, commas and brackets, with exactly one ``[`` per text, at its start (texts are valid
    JSON: msgspec checked them). Then the per-array counts come from the positions of the commas
    and brackets, and all numbers are parsed by one Arrow cast (correctly rounded, as msgspec).
    Anything unexpected falls back to decoding the arrays one by one, and so do inputs under
    ``bulk_from`` bytes in all (default :data:`BULK_PARSE_FROM`).
    """
    n = len(raws)
    sizes = np.fromiter(map(len, raws), np.int64, n)
    if n == 0 or int(sizes.sum()) < (BULK_PARSE_FROM if bulk_from is None else bulk_from):
        return _number_lists_one_by_one(raws)
    joined = b"".join(raws)
    firsts = np.cumsum(sizes) - sizes
    if not (np.frombuffer(joined, np.uint8)[firsts] == ord("[")).all():
        return _number_lists_one_by_one(raws)
    text = joined.translate(None, _WHITESPACE)
    del joined
    if text.translate(None, _NUMBER_ARRAY_BYTES) or text.count(b"[") != n:
        return _number_lists_one_by_one(raws)
    delim = np.flatnonzero(np.frombuffer(text.translate(_BRACKETS_TO_COMMAS), np.uint8) == ord(","))
    tb = np.frombuffer(text, np.uint8)
    kind = tb[delim]
    open_at = np.flatnonzero(kind == ord("["))
    close_at = np.flatnonzero(kind == ord("]"))
    if len(close_at) != n:
        return _number_lists_one_by_one(raws)
    opens, closes = delim[open_at], delim[close_at]
    # an array's commas are the delimiters between its brackets: one fewer than its numbers
    lengths = close_at - open_at - (tb[opens + 1] == ord("]"))
    # token boundaries in the text without its delimiters: each delimiter's position less the
    # delimiters before it; adjacent delimiters ("][", "[]") give one boundary
    bounds = delim - np.arange(len(delim), dtype=np.int64)
    bounds = bounds[np.concatenate(([True], bounds[1:] != bounds[:-1]))]
    del delim, kind
    total = int(lengths.sum())
    if len(bounds) - 1 != total:
        return _number_lists_one_by_one(raws)
    digits = text.translate(None, b",[]")
    import pyarrow as pa  # here: only a big file pays for the import

    try:
        if len(digits) < 2**31:  # 32-bit offsets: half the memory
            strings = pa.StringArray.from_buffers(total, pa.py_buffer(bounds.astype(np.int32)), pa.py_buffer(digits))
        else:
            strings = pa.LargeStringArray.from_buffers(total, pa.py_buffer(bounds), pa.py_buffer(digits))
        del bounds
        floats = strings.cast(pa.float64())
        del strings
        if floats.null_count:
            return _number_lists_one_by_one(raws)
        # read through the buffer: pyarrow's to_numpy imports pandas (~0.4 s) on every call
        values = np.frombuffer(floats.buffers()[1], np.float64, len(floats), floats.offset * 8).copy()
        del floats
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _number_lists_one_by_one(raws)
    if not np.isfinite(values).all():  # out of float64 range: the strict decode rejects it too
        return _number_lists_one_by_one(raws)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return NumberLists(values, starts, lengths, JsonSlices(text, opens, closes))


@dataclass
class CheckedDocument:
    """A file's strict decode for the validator: the records, and every annotation's keypoints parsed."""

    doc: RawDocument
    keypoints: NumberLists


def decode_checked(data: bytes) -> CheckedDocument | None:
    """The validator's strict typed decode; None when the document does not fit (then use the slow path).

    The validator's and the report's one typed decode. The raw keypoint texts are dropped once
    parsed, so the file's bytes are not kept alive by them.
    """
    try:
        doc = _RAW_DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        # RecursionError: nesting deeper than Python's stack, even under a key the types skip;
        # the slow path's parser (orjson, 1,024 levels) locates it ("depth limit exceeded")
        return None
    kp = parse_number_lists([a.keypoints for a in doc.annotations])
    if kp is None:
        return None
    if len(kp.values) and float(np.abs(kp.values).max()) >= 2.0**63:
        # perhaps an integer past 64 bits (as RawAnnotation's Int64 refuses): the slow path
        # tells an integer from a float of that size, and locates it
        return None
    for a in doc.annotations:
        a.keypoints = None  # type: ignore[assignment]  # parsed; frees the file's bytes
    return CheckedDocument(doc, kp)


# ----------------------------------------------------------------------------- columns
@dataclass
class ImageColumns:
    """Images with an integer id: their positions and fields (values as found)."""

    pos: list[int]
    id: list[int]
    file_name: list[Any]
    width: list[Any]
    height: list[Any]


@dataclass
class AnnotationColumns:
    """Annotations with integer id, image_id and category_id: positions and fields.

    Absent fields hold :data:`MISSING`; present-but-null hold None.
    """

    pos: np.ndarray
    id: np.ndarray
    image_id: np.ndarray
    category_id: np.ndarray
    #: per row, the values as found (a :class:`JsonSlices` on the fast path: decoded on demand)
    keypoints: Sequence[Any]
    num_keypoints: list[Any]
    bbox: list[Any]
    area: list[Any]
    iscrowd: list[Any]

    def __len__(self) -> int:
        return len(self.pos)


@dataclass
class KeypointBlock:
    """Annotations whose keypoints are 3*K finite numbers for one K.

    ``rows`` index into :class:`AnnotationColumns`; ``kp`` is float64 of shape (n, K, 3).
    """

    k: int
    rows: np.ndarray
    kp: np.ndarray

    @property
    def x(self) -> np.ndarray:
        return self.kp[:, :, 0]

    @property
    def y(self) -> np.ndarray:
        return self.kp[:, :, 1]

    @property
    def v(self) -> np.ndarray:
        return self.kp[:, :, 2]


@dataclass
class Context:
    """The document being validated and everything derived from it once."""

    doc: dict[str, Any]
    images_dir: Path | None = None
    for_training: bool = False
    max_per_code: int = MAX_PER_CODE
    fast: RawDocument | None = None
    #: every annotation's keypoints, parsed in bulk (with ``fast``)
    fast_keypoints: NumberLists | None = None
    findings: list[Finding] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _overflow: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_fast(cls, checked: CheckedDocument, **kw: Any) -> Context:
        fast = checked.doc
        doc = {"images": fast.images, "annotations": fast.annotations, "categories": fast.categories}
        return cls(doc=doc, fast=fast, fast_keypoints=checked.keypoints, **kw)

    @property
    def structure_proven(self) -> bool:
        """True when the strict decode proved every structural rule."""
        return self.fast is not None

    # -- the lists (non-lists are reported by the document checks and treated as empty) ----
    def _list(self, key: str) -> list[Any]:
        value = self.doc.get(key)
        return value if isinstance(value, list) else []

    @cached_property
    def images(self) -> list[Any]:
        return self._list("images")

    @cached_property
    def annotations(self) -> list[Any]:
        return self._list("annotations")

    @cached_property
    def categories(self) -> list[Any]:
        return self._list("categories")

    # -- reporting -------------------------------------------------------------------------
    def add(self, f: Finding) -> None:
        """Record a finding; beyond ``max_per_code`` per code only the count is kept."""
        n = self._counts.get(f.code, 0)
        self._counts[f.code] = n + 1
        if n < self.max_per_code:
            self.findings.append(f)
        else:
            self._overflow[f.code] = self._overflow.get(f.code, 0) + 1

    def overflow_findings(self) -> list[Finding]:
        out = []
        for code, n in self._overflow.items():
            sev = next((f.severity for f in self.findings if f.code == code), Severity.WARNING)
            out.append(Finding(code, sev, f"{n} more findings with this code not listed (the first {self.max_per_code} are)"))
        return out

    # -- columns ---------------------------------------------------------------------------
    @cached_property
    def img(self) -> ImageColumns:
        if self.fast is not None:
            ims = self.fast.images
            return ImageColumns(
                pos=list(range(len(ims))),
                id=[m.id for m in ims],
                file_name=[m.file_name for m in ims],
                width=[m.width for m in ims],
                height=[m.height for m in ims],
            )
        pos = [i for i, m in enumerate(self.images) if type(m) is dict and is_int(m.get("id"))]
        recs: list[dict[str, Any]] = [self.images[i] for i in pos]
        return ImageColumns(
            pos=pos,
            id=[m["id"] for m in recs],
            file_name=[m.get("file_name", MISSING) for m in recs],
            width=[m.get("width", MISSING) for m in recs],
            height=[m.get("height", MISSING) for m in recs],
        )

    @cached_property
    def ann(self) -> AnnotationColumns:
        if self.fast is not None:
            anns = self.fast.annotations
            pos = np.arange(len(anns), dtype=np.int64)
            return AnnotationColumns(
                pos=pos,
                id=np.fromiter((a.id for a in anns), np.int64, len(anns)),
                image_id=np.fromiter((a.image_id for a in anns), np.int64, len(anns)),
                category_id=np.fromiter((a.category_id for a in anns), np.int64, len(anns)),
                keypoints=self.fast_keypoints.lists if self.fast_keypoints is not None else [],
                num_keypoints=[a.num_keypoints for a in anns],
                bbox=[a.bbox for a in anns],
                area=[a.area for a in anns],
                iscrowd=[a.iscrowd for a in anns],
            )
        plist = [
            i for i, a in enumerate(self.annotations)
            if type(a) is dict and is_int(a.get("id")) and is_int(a.get("image_id"))
            and is_int(a.get("category_id"))
        ]  # fmt: skip
        recs: list[dict[str, Any]] = [self.annotations[i] for i in plist]
        return AnnotationColumns(
            pos=np.asarray(plist, dtype=np.int64),
            id=np.asarray([a["id"] for a in recs], dtype=np.int64),
            image_id=np.asarray([a["image_id"] for a in recs], dtype=np.int64),
            category_id=np.asarray([a["category_id"] for a in recs], dtype=np.int64),
            keypoints=[a.get("keypoints", MISSING) for a in recs],
            num_keypoints=[a.get("num_keypoints", MISSING) for a in recs],
            bbox=[a.get("bbox", MISSING) for a in recs],
            area=[a.get("area", MISSING) for a in recs],
            iscrowd=[a.get("iscrowd", MISSING) for a in recs],
        )

    def ann_ids(self, row: int) -> dict[str, int]:
        """``annotation_id``/``image_id`` keywords for a finding about column row ``row``."""
        return {"annotation_id": int(self.ann.id[row]), "image_id": int(self.ann.image_id[row])}

    # -- indexes ---------------------------------------------------------------------------
    @cached_property
    def image_by_id(self) -> dict[int, int]:
        """Image id → position (first occurrence)."""
        out: dict[int, int] = {}
        for p, i in zip(self.img.pos, self.img.id, strict=True):
            out.setdefault(i, p)
        return out

    @cached_property
    def image_size(self) -> dict[int, tuple[float, float]]:
        """Image id → (width, height) where both are positive numbers (numeric strings too)."""
        out: dict[int, tuple[float, float]] = {}
        if self.structure_proven:  # ints guaranteed; reversed so the first occurrence of an id wins
            im = self.img
            return {i: (float(w), float(h)) for i, w, h in zip(reversed(im.id), reversed(im.width),
                                                               reversed(im.height), strict=True) if w > 0 and h > 0}
        for i, w, h in zip(self.img.id, self.img.width, self.img.height, strict=True):
            if i in out:
                continue
            w = w if is_number(w) else numeric_string(w)
            h = h if is_number(h) else numeric_string(h)
            if w is not None and h is not None and w > 0 and h > 0:
                out[i] = (float(w), float(h))
        return out

    @cached_property
    def category_by_id(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for i, cat in enumerate(self.categories):
            if isinstance(cat, dict) and is_int(cat.get("id")):
                out.setdefault(cat["id"], i)
        return out

    @cached_property
    def category_k(self) -> dict[int, int]:
        """Category id → number of keypoints (categories whose ``keypoints`` is a list)."""
        out: dict[int, int] = {}
        for cid, i in self.category_by_id.items():
            kps = self.categories[i].get("keypoints")
            if isinstance(kps, list):
                out[cid] = len(kps)
        return out

    @cached_property
    def used_category_ids(self) -> set[int]:
        return set(np.unique(self.ann.category_id).tolist())

    @cached_property
    def expected_k(self) -> np.ndarray:
        """Per annotation row: K of its category, -1 when unknown."""
        ck = self.category_k
        return np.asarray([ck.get(c, -1) for c in self.ann.category_id.tolist()], dtype=np.int64)

    @cached_property
    def keypoint_lengths(self) -> np.ndarray:
        """Per annotation row: len(keypoints), -1 when not a list."""
        if self.fast_keypoints is not None:
            return self.fast_keypoints.lengths
        return np.asarray([len(k) if type(k) is list else -1 for k in self.ann.keypoints], dtype=np.int64)

    @cached_property
    def blocks(self) -> list[KeypointBlock]:
        """Keypoint arrays grouped by K for rows whose keypoints are 3*K finite numbers."""
        exp = self.expected_k
        ok = (exp > 0) & (self.keypoint_lengths == 3 * exp)
        ks = np.unique(exp[ok]).tolist()
        if self.fast_keypoints is not None:
            return [self._fast_block(k, np.flatnonzero(ok & (exp == k))) for k in ks]
        kcol = self.ann.keypoints
        out = []
        for k in ks:
            rows = np.nonzero(ok & (exp == k))[0]
            lists = [kcol[r] for r in rows.tolist()]
            try:  # fromiter over one chain is ~2x faster than np.array on a list of lists
                arr = np.fromiter(chain.from_iterable(lists), np.float64, len(lists) * 3 * k).reshape(-1, 3 * k)
            except (TypeError, ValueError, OverflowError):
                keep = [j for j, row in enumerate(lists) if all(is_number(x) for x in row)]
                rows = rows[keep]
                arr = np.array([lists[j] for j in keep], dtype=np.float64).reshape(len(keep), 3 * k)
            good = np.isfinite(arr).all(axis=1)
            if not good.all():
                rows, arr = rows[good], arr[good]
            out.append(KeypointBlock(k=k, rows=rows, kp=arr.reshape(-1, k, 3)))
        return out

    def _fast_block(self, k: int, rows: np.ndarray) -> KeypointBlock:
        """The block of ``rows`` (all 3*k values long) from the bulk-parsed values (all finite)."""
        kp = self.fast_keypoints
        assert kp is not None
        if len(rows) * 3 * k == len(kp.values):  # the usual case, every value in this block: a view
            arr = kp.values
        else:
            arr = kp.values[kp.starts[rows][:, None] + np.arange(3 * k)]
        return KeypointBlock(k=k, rows=rows, kp=arr.reshape(-1, k, 3))

    @cached_property
    def visible_counts(self) -> np.ndarray:
        """Per annotation row: its points with v > 0, -1 when its keypoints are unusable."""
        out = np.full(len(self.ann), -1, dtype=np.int64)
        for blk in self.blocks:
            out[blk.rows] = (blk.v > 0).sum(axis=1)
        return out

    @cached_property
    def bboxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, boxes[n, 4]) for annotation rows whose bbox is 4 finite numbers."""
        col = self.ann.bbox
        rows = [r for r, b in enumerate(col) if type(b) is list and len(b) == 4]
        lists = [col[r] for r in rows]
        try:
            arr = np.fromiter(chain.from_iterable(lists), np.float64, 4 * len(lists)).reshape(-1, 4)
        except (TypeError, ValueError, OverflowError):
            keep = [j for j, b in enumerate(lists) if all(is_number(x) for x in b)]
            rows = [rows[j] for j in keep]
            arr = np.array([lists[j] for j in keep], dtype=np.float64).reshape(-1, 4)
        r = np.asarray(rows, dtype=np.int64)
        good = np.isfinite(arr).all(axis=1)
        return r[good], arr[good]

    @cached_property
    def image_wh(self) -> np.ndarray:
        """Per annotation row: (width, height) of its image, inf when unknown."""
        sizes = self.image_size
        out = np.full((len(self.ann), 2), np.inf)
        if not sizes or not len(self.ann):
            return out
        ids = np.fromiter(sizes.keys(), np.int64, len(sizes))
        wh = np.array(list(sizes.values()), dtype=np.float64).reshape(-1, 2)
        order = np.argsort(ids)
        ids, wh = ids[order], wh[order]
        idx = np.clip(np.searchsorted(ids, self.ann.image_id), 0, len(ids) - 1)
        found = ids[idx] == self.ann.image_id
        out[found] = wh[idx[found]]
        return out

    def keypoint_value(self, row: int, j: int) -> Any:
        return self.ann.keypoints[row][j]
