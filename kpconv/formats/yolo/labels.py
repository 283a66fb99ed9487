"""YOLO pose label files: every line of a split's ``.txt`` files tokenised and parsed at once.

A label line is ``class cx cy w h`` then K × ``x y v`` (or K × ``x y``), whitespace separated,
normalised to 0–1. Files are read whole and parsed a few megabytes at a time with numpy: token
boundaries from a whitespace mask, tokens per line from the newline positions, the numbers with
one ``np.fromstring`` call (a token that is not a number sends that chunk through ``float()``
line by line, which says which token it was). A line with the wrong number of columns or a value
that is not a number is a finding at ``file.txt:LINE``; the other lines are kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from ...finding import Finding, error
from .datafile import KptShape

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: bytes of label text parsed per numpy pass (bounds the temporary arrays)
CHUNK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"
#: errors that make Ultralytics' verify_image_label drop the whole image, not just the line
SKIPS_IMAGE = " (Ultralytics skips the whole image)"


@dataclass
class LabelLines:
    """The label lines with the right column count, their values, and where each came from."""

    files: list[str]  # display name of each label file (index = ``file``)
    file: IntArray  # per line
    line: IntArray  # per line: 1-based line number in its file
    values: FloatArray  # (lines, columns)

    def __len__(self) -> int:
        return len(self.file)

    def source(self, i: int) -> str:
        return f"{self.files[int(self.file[i])]}:{int(self.line[i])}"

    def subset(self, keep: npt.NDArray[np.bool_]) -> LabelLines:
        return LabelLines(self.files, self.file[keep], self.line[keep], self.values[keep])


#: a finding about one line: (file index, line number, finding), for sorting into file order
LineFinding = tuple[int, int, Finding]


def column_name(col: int, ndim: int) -> str:
    """What column ``col`` (0-based) of a label line holds: ``class``, ``cx`` … ``keypoint 3 y``."""
    if col < 5:
        return ("class", "cx", "cy", "w", "h")[col]
    k, part = divmod(col - 5, ndim)
    return f"keypoint {k + 1} {'xyv'[part]}"


def columns_message(found: int, shape: KptShape) -> str:
    """``expected 5 + 17*3 = 56 columns, found 55`` plus what the count suggests."""
    msg = f"expected {shape.formula()} columns, found {found}"
    rest = found - 5
    other = 5 - shape.ndim  # 3 <-> 2
    if found == 5:
        hint = "a box without keypoints (a detection label)"
    elif rest > 0 and rest == shape.k * other:
        hint = f"{shape.k} keypoints of {other} values: kpt_shape [{shape.k}, {other}]?"
    elif rest > 0 and rest % shape.ndim == 0:
        hint = f"{rest // shape.ndim} keypoints of {shape.ndim} values, not {shape.k}"
    else:
        hint = ""
    return msg + (f" ({hint})" if hint else "") + SKIPS_IMAGE


def _read_files(paths: Sequence[str]) -> list[bytes | OSError]:
    """Each file's bytes (or the error), runs of files read by a few threads: the reads wait on
    the disk, not on Python."""

    def run(start: int) -> list[bytes | OSError]:
        out: list[bytes | OSError] = []
        for path in paths[start : start + 512]:
            try:
                with open(path, "rb", buffering=0) as fh:
                    out.append(fh.readall())
            except OSError as exc:
                out.append(exc)
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [r for part in pool.map(run, range(0, len(paths), 512)) for r in part]


def read_label_files(
    paths: Sequence[str], shown: Sequence[str], shape: KptShape
) -> tuple[LabelLines, list[LineFinding]]:
    """Parse the label files ``paths`` (``shown``: their display names) into :class:`LabelLines`."""
    found: list[LineFinding] = []
    parts: list[tuple[IntArray, IntArray, FloatArray]] = []
    bufs: list[bytes] = []
    ids: list[int] = []
    size = 0
    for i, data in enumerate(_read_files(paths)):
        if isinstance(data, OSError):
            what = f"cannot read: {data.strerror}"
            found.append((i, 0, error("yolo.label_unreadable", what, source=shown[i])))
            continue
        bufs.append(data)
        ids.append(i)
        size += len(data)
        if size >= CHUNK_BYTES:
            parts.append(_parse_chunk(bufs, ids, shape, shown, found))
            bufs, ids, size = [], [], 0
    if bufs:
        parts.append(_parse_chunk(bufs, ids, shape, shown, found))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return LabelLines(list(shown), empty, empty.copy(), np.zeros((0, shape.columns))), found
    return (
        LabelLines(
            list(shown),
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        ),
        found,
    )


def _parse_chunk(
    bufs: list[bytes],
    ids: list[int],
    shape: KptShape,
    shown: Sequence[str],
    found: list[LineFinding],
) -> tuple[IntArray, IntArray, FloatArray]:
    """(file, line, values) of the well-formed lines of some files; the others become findings."""
    texts = []
    for data in bufs:
        if data.startswith(_BOM):
            data = data[3:]
        if data and not data.endswith(b"\n"):
            data += b"\n"
        texts.append(data)
    n_lines = np.fromiter((t.count(b"\n") for t in texts), np.int64, len(texts))
    big = b"".join(texts)
    arr = np.frombuffer(big, dtype=np.uint8)
    space = (arr == 32) | ((arr >= 9) & (arr <= 13))
    first = ~space
    first[1:] &= space[:-1]
    starts = np.flatnonzero(first)
    newlines = np.flatnonzero(arr == 10)
    counts = np.bincount(np.searchsorted(newlines, starts), minlength=len(newlines))
    file_of = np.repeat(np.asarray(ids, dtype=np.int64), n_lines)
    line_no = (
        np.arange(len(newlines), dtype=np.int64)
        - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
        + 1
    )

    columns = shape.columns
    for li in np.flatnonzero((counts != columns) & (counts > 0)).tolist():
        f, n = int(file_of[li]), int(line_no[li])
        found.append(
            (
                f,
                n,
                error(
                    "yolo.columns",
                    columns_message(int(counts[li]), shape),
                    source=f"{shown[f]}:{n}",
                ),
            )
        )
    good = np.flatnonzero(counts == columns)
    flat = _json_numbers(arr, space, starts)
    if flat is None:
        flat = _numbers(big, len(starts))
    if flat is not None:
        offset = np.cumsum(counts) - counts
        values = flat[offset[good][:, None] + np.arange(columns)]
    else:
        values, ok = _numbers_by_line(big, good, shape, file_of, line_no, shown, found)
        good = good[ok]
    return file_of[good], line_no[good], values


def _json_numbers(
    arr: npt.NDArray[np.uint8], space: npt.NDArray[np.bool_], starts: IntArray
) -> FloatArray | None:
    """Every token, parsed as one JSON array (the whitespace before each token made a comma):
    orjson reads numbers three times as fast as ``np.fromstring``. None when some token is not
    a JSON number (``1.``, ``.5``, ``nan``, a word): then the caller's slower route says which."""
    if len(arr) and not _NUMBER_BYTES[arr].all():  # only digits . - + e E and whitespace
        return None
    keep = ~space
    commas = starts[1:] - 1  # the whitespace byte in front of each token but the first
    keep[commas] = True
    text = arr.copy()
    text[commas] = 44
    try:
        values = np.array(orjson.loads(b"[" + text[keep].tobytes() + b"]"), dtype=np.float64)
    except (orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
        return None
    return values if values.shape == (len(starts),) else None


#: the bytes a whitespace-separated list of JSON numbers is made of
_NUMBER_BYTES = np.zeros(256, dtype=bool)
_NUMBER_BYTES[list(b"0123456789.-+eE \t\n\r\x0b\x0c")] = True


def _numbers(text: bytes, expected: int) -> FloatArray | None:
    """Every whitespace-separated number of ``text`` (``np.fromstring``: exponents, ``nan``),
    or None when some token is not one."""
    with warnings.catch_warnings():
        # numpy warns (here: raises) when it stops before the end: a token that is not a number
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(text, dtype=np.float64, sep=" ")  # type: ignore[call-overload]
        except (ValueError, DeprecationWarning):
            return None
    return flat if len(flat) == expected else None


def _numbers_by_line(
    text: bytes,
    good: IntArray,
    shape: KptShape,
    file_of: IntArray,
    line_no: IntArray,
    shown: Sequence[str],
    found: list[LineFinding],
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """The slow path: ``float()`` per token of the right-sized lines; the first bad token located."""
    lines = text.split(b"\n")
    rows: list[list[float]] = []
    ok = np.ones(len(good), dtype=bool)
    for j, li in enumerate(good.tolist()):
        tokens = lines[li].split()
        try:
            rows.append([float(t) for t in tokens])
        except ValueError:
            col = next(c for c, t in enumerate(tokens) if not _is_number(t))
            token = tokens[col].decode("utf-8", "replace")[:40]
            f, n = int(file_of[li]), int(line_no[li])
            found.append((f, n, error(
                "yolo.not_a_number",
                f"column {col + 1} ({column_name(col, shape.ndim)}): {token!r} is not a number" + SKIPS_IMAGE,
                source=f"{shown[f]}:{n}",
            )))  # fmt: skip
            ok[j] = False
    return np.array(rows, dtype=np.float64).reshape(-1, shape.columns), ok


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
