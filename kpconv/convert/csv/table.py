"""Reading CSV files the way people really write them, with every problem located.

Handled here, once, for every layout: a UTF-8 byte-order mark (Excel writes one), UTF-16 files
(Excel's "Unicode text"), ``,`` / ``;`` / tab / ``|`` delimiters sniffed from the header line,
quoted fields (also ones spanning lines), blank lines, and a decimal comma (``1,5``) when the
delimiter is not a comma. Numbers are parsed with their place: ``file.csv:17: column "nose_x":
"abc" is not a number``.

Big tables are read by column (:class:`ByteColumns`): when the text is plain (no quotes, every
line as wide as the header) the cells are byte ranges of the file found with numpy, numbers are
parsed from those bytes with array operations, and names become integer codes without a Python
string per cell; the columns a layout needs are read in one pass over the rows
(:meth:`Columns.read`). Only a cell that is not a plain number goes through :func:`parse_number`
(so its message is the same). Anything else is read with the ``csv`` module (:class:`ListColumns`);
both answer the same questions (:class:`Columns`).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from operator import ne
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ...errors import DataError, UsageError
from ...fileio import read_input_bytes
from ...finding import Finding, error, warning
from ...memory import gc_paused

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: Byte offsets into a file: int32 below 2 GiB (half the memory traffic of int64).
OffsetArray = npt.NDArray[np.int32] | npt.NDArray[np.int64]

#: Candidate delimiters, in the order that wins a tie.
DELIMITERS = (",", ";", "\t", "|")

#: Cell texts that mean "no value" (pandas writes NaN as an empty cell, R writes NA).
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "-nan"})


class NotANumber(ValueError):
    """A cell that should hold a number does not."""


class CsvTable:
    """A CSV file's text, split into records of strings on demand, and where each record starts.

    ``rows[i]`` is the i-th record (a blank line is an empty list, so indices stay aligned with
    records); :meth:`line` gives the 1-based line it starts on. :meth:`head` reads only the first
    records (for layout detection) and :meth:`split_columns` / :meth:`byte_columns` cut a plain
    file into columns without building a list per row (for big files).

    ``raw`` is the text as UTF-8 bytes when it was read so. Given ``raw`` and no ``text`` (an
    ASCII file), the text is only decoded when something needs all of it as a string: reading
    a big plain file column by column never does.
    """

    def __init__(
        self,
        path: Path,
        display: str,
        delimiter: str,
        text: str | None = None,
        findings: list[Finding] | None = None,
        raw: bytes | None = None,
    ) -> None:
        self.path = path
        self.display = display
        self.delimiter = delimiter
        self.findings: list[Finding] = findings if findings is not None else []
        self.raw = raw
        self._text = text if text is not None or raw is not None else ""
        self._rows: list[list[str]] | None = None
        self._lines: list[int] | None = None
        # scanned once: line() is called per instance
        self.quoted = b'"' in raw if text is None and raw is not None else '"' in self.text

    def __repr__(self) -> str:
        return (
            f"CsvTable(path={self.path!r}, display={self.display!r}, delimiter={self.delimiter!r})"
        )

    @property
    def text(self) -> str:
        """The whole text (decoded on first use when the table was made from bytes)."""
        if self._text is None:
            self._text = (self.raw or b"").decode("utf-8")
        return self._text

    def _reader(self, text: str | None = None) -> Iterator[list[str]]:
        source = io.StringIO(self.text if text is None else text, newline="")
        return csv.reader(source, delimiter=self.delimiter, skipinitialspace=True)

    @property
    def rows(self) -> list[list[str]]:
        """Every record (parsed once, on first use)."""
        if self._rows is None:
            with gc_paused():
                try:
                    self._rows = list(self._reader())
                except csv.Error as exc:
                    raise DataError(f"{self.display}: not a readable CSV file: {exc}") from None
        return self._rows

    def head(self, n: int) -> list[list[str]]:
        """The first ``n`` records (all of them when the file is shorter)."""
        if self._rows is not None:
            return self._rows[:n]
        # parse only a slice of the text that surely holds n lines (not a copy of a huge file);
        # the last record of a slice that stops early may be cut, so it is dropped
        if self._text is None and self.raw is not None:  # ASCII bytes: the same offsets
            raw = self.raw
            end = -1
            for _ in range(n + 1):
                end = raw.find(b"\n", end + 1)
                if end < 0:
                    break
            head = raw.decode("utf-8") if end < 0 else raw[: end + 1].decode("utf-8")
        else:
            end = -1
            for _ in range(n + 1):
                end = self.text.find("\n", end + 1)
                if end < 0:
                    break
            head = self.text if end < 0 else self.text[: end + 1]
        try:
            if end < 0:
                return list(islice(self._reader(head), n))
            return list(islice(self._reader(head), n + 1))[:n]
        except csv.Error as exc:
            raise DataError(f"{self.display}: not a readable CSV file: {exc}") from None

    def split_columns(self, first: int, width: int) -> list[list[str]] | None:
        """Records ``first…`` as ``width`` columns, or None unless the text is plain.

        Plain: no quotes, no space after a delimiter, no bare ``\r``, and every line from
        ``first`` on holds exactly ``width`` cells. Then the cells are what the csv module would
        give, cut by two ``str`` operations instead of one list per row.
        """
        if self.quoted or self._rows is not None:
            return None
        d = self.delimiter
        text = self.text.replace("\r\n", "\n") if "\r" in self.text else self.text
        if "\r" in text or d + " " in text:
            return None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        body = lines[first:]
        if not body or set(map(str.count, body, repeat(d))) != {width - 1}:
            return None
        cells = d.join(body).split(d)
        return [cells[j::width] for j in range(width)]

    def encoded(self) -> bytes:
        """The text as UTF-8 bytes (the file's own bytes when it was UTF-8)."""
        if self.raw is None:
            self.raw = self.text.encode("utf-8", "surrogatepass")
        return self.raw

    def byte_columns(self, first: int, width: int) -> ByteColumns | None:
        """Records ``first…`` as :class:`ByteColumns`, or None unless the text is plain.

        Plain, as for :meth:`split_columns`: no quotes, no space after a delimiter, no bare
        ``\r``, and every line from ``first`` on holds exactly ``width`` cells.
        """
        if self.quoted or width < 2 or len(self.delimiter.encode()) != 1:
            return None
        raw = self.encoded()
        d = self.delimiter.encode()
        pos = 0
        for _ in range(first):
            pos = raw.find(b"\n", pos) + 1
            if pos == 0:
                pos = len(raw)
                break
        # the scan for a delimiter between space and "0" meets every NUL, CR and space of the
        # body: only the lines before it are searched here
        scanned = 0x20 < d[0] < 0x30
        if not _plain(raw[:pos] if scanned else raw, d):
            return None
        # the file's own bytes (no copy): every read stays inside them
        found = _cell_stops(np.frombuffer(raw, dtype=np.uint8), pos, d[0], width)
        if found is None:
            return None
        stops, crlf = found
        return ByteColumns(self, first, raw, pos, stops, crlf if scanned else b"\r" in raw)

    def list_columns(self, first: int, width: int) -> ListColumns:
        """Records ``first…`` read with the csv module: blank records dropped, short ones padded,
        cells beyond ``width`` reported (``csv.extra_cells``) and ignored."""
        body = self.rows[first:]
        index: list[int] | int = first
        findings: list[Finding] = []
        if set(map(len, body)) - {width}:
            body, index, findings = regularize_rows(self, body, first, width)
        columns = [list(c) for c in zip(*body, strict=True)] if body else [[] for _ in range(width)]
        return ListColumns(self, columns, index, findings)

    @property
    def decimal_comma(self) -> bool:
        """A ``,`` inside a number is a decimal separator (only when it is not the delimiter)."""
        return self.delimiter != ","

    def line(self, index: int) -> int:
        """The 1-based line number where record ``index`` starts."""
        if self._lines is None:
            if not self.quoted:
                return index + 1  # without quotes a record cannot span lines
            self._lines = _record_lines(self.text, self.delimiter)
        if 0 <= index < len(self._lines):
            return self._lines[index]
        return index + 1

    def lines(self, indices: IntArray) -> IntArray:
        """:meth:`line` of many records at once."""
        if not self.quoted:
            return indices + 1
        return np.array([self.line(i) for i in indices.tolist()], dtype=np.int64).reshape(-1)

    def where(self, index: int, column: str | None = None) -> str:
        """``file.csv:17`` or ``file.csv:17:nose_x``: the place of a record (and column)."""
        loc = f"{self.display}:{self.line(index)}"
        return f"{loc}:{column}" if column is not None else loc

    def number(self, text: str, index: int, column: str, findings: list[Finding]) -> float | None:
        """The number in a cell of record ``index``; None when empty, NaN or not a number.

        A cell that is not a number adds a located ``csv.not_a_number`` error to ``findings``.
        """
        try:
            return parse_number(text, self.decimal_comma, "", column)
        except NotANumber as exc:
            findings.append(_located(exc, self, index))
            return None


def _record_lines(text: str, delimiter: str) -> list[int]:
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    previous = 0
    for _ in reader:
        lines.append(previous + 1)
        previous = reader.line_num
    return lines


def parse_number(text: str, decimal_comma: bool, where: str, column: str) -> float | None:
    """Parse one cell as a finite number (None for an empty/NaN cell).

    ``where`` is the record's place (``file.csv:17``); the error message names the column and the
    text found, e.g. ``file.csv:17: column "nose_x": "abc" is not a number``.
    """
    try:
        value = float(text)
    except ValueError:
        stripped = text.strip()
        if stripped.lower() in MISSING:
            return None
        comma_value = _decimal_comma(stripped) if decimal_comma else None
        if comma_value is None:
            raise NotANumber(
                f'{where}: column "{column}": {_shown(text)} is not a number'
            ) from None
        value = comma_value
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise NotANumber(f'{where}: column "{column}": {_shown(text)} is not a finite number')
    return value


def _decimal_comma(text: str) -> float | None:
    if text.count(",") == 1 and "." not in text:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return None
    return None


def _shown(text: str) -> str:
    out = text if len(text) <= 40 else text[:37] + "..."
    return '"' + out.replace('"', '\\"') + '"'


def parse_numbers(
    table: CsvTable, values: Sequence[str], first_index: Sequence[int] | int, column: str
) -> tuple[list[float], list[Finding]]:
    """A whole column as floats (NaN for empty/missing cells) and a finding per bad cell.

    ``first_index`` is the record index of ``values[0]`` (records follow one another), or one
    record index per value. The common case, every cell a plain number, runs at C speed.
    """
    inf = math.inf
    # empty cells are common (unlabelled points): read them as NaN at C speed too
    cells = ["nan" if not v else v for v in values] if "" in values else values
    try:
        out = list(map(float, cells))
    except ValueError:
        pass
    else:
        if inf not in out and -inf not in out:  # an infinity is rare: the slow path locates it
            return out, []
    out = []
    findings: list[Finding] = []
    nan = math.nan
    decimal_comma = table.decimal_comma
    for i, text in enumerate(values):
        index = first_index + i if isinstance(first_index, int) else first_index[i]
        try:
            value = parse_number(text, decimal_comma, "", column)
        except NotANumber as exc:
            findings.append(_located(exc, table, index))
            out.append(nan)
            continue
        out.append(nan if value is None else value)
    return out, findings


def _located(exc: NotANumber, table: CsvTable, index: int) -> Finding:
    # parse_number was given an empty place: the message starts with ": column ..."
    message = str(exc).partition(": ")[2]
    return not_a_number(message, table.where(index))


def not_a_number(message: str, where: str) -> Finding:
    """The ``csv.not_a_number`` finding: ``where`` is ``file.csv:17``, the message names the column."""
    return error("csv.not_a_number", message, source=where)


def decode(data: bytes, display: str) -> tuple[str, list[Finding]]:
    """Bytes → text: UTF-8 (BOM or not), UTF-16 with a BOM; anything else read as Latin-1 (warned)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise DataError(f"{display}: not valid UTF-16 text at byte {exc.start}") from None
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        note = warning(
            "csv.not_utf8",
            f"byte 0x{data[exc.start]:02x} is not UTF-8; the file was read as Latin-1 "
            "(non-ASCII names may come out wrong: save the CSV as UTF-8)",
            source=f"{display}:{line}",
        )
        return data.decode("latin-1"), [note]


def sniff_delimiter(text: str) -> str:
    """The delimiter used on the first non-blank line: the most frequent candidate outside quotes."""
    start = 0
    while True:  # the first non-blank line, without splitting the whole (maybe huge) text
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip() or end < 0:
            break
        start = end + 1
    if not line.strip():
        return ","
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def read_table(path: Path, delimiter: str | None = None, display: str | None = None) -> CsvTable:
    """Read and split a CSV file (see the module docstring for what is handled)."""
    path = Path(path)
    shown = display if display is not None else str(path)
    data = read_input_bytes(path, shown=shown, kind="CSV file")
    if data.isascii():  # valid UTF-8 as it is: decoded only if something needs the whole text
        if b"\x00" in data:
            raise DataError(f"{shown}: contains NUL bytes; this is not a text CSV file")
        delim = delimiter if delimiter else sniff_delimiter(_first_lines(data))
        table = CsvTable(path=path, display=shown, delimiter=delim, raw=data)
    else:
        text, findings = decode(data, shown)
        if "\x00" in text:
            raise DataError(f"{shown}: contains NUL bytes; this is not a text CSV file")
        delim = delimiter if delimiter else sniff_delimiter(text)
        raw = None
        if not findings and not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # read as UTF-8
            raw = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
        table = CsvTable(
            path=path, display=shown, delimiter=delim, text=text, findings=findings, raw=raw
        )
    if len(table.delimiter) != 1:
        raise UsageError(f"--delimiter: expected one character, found {table.delimiter!r}")
    return without_cut_line(table)


def without_cut_line(table: CsvTable) -> CsvTable:
    """The table without its last line when the file was cut inside it, with an error saying so.

    A file that does not end with a line break, and whose last line holds fewer cells than the
    header, ends inside a quoted cell or right after a delimiter, was cut short (a copy
    interrupted, a disk full): read as it is, its missing cells would be points silently turned
    v=0. That line is a located ``csv.cut_line`` error and is not converted; every layout reads
    its table through here, whichever reader then splits it. (A short line that ends with a line
    break is what DeepLabCut writes for a row whose last cells are empty: padded, see
    :func:`regularize_rows`. A number cut short in the last cell of a full line cannot be told
    from a file that merely lacks its final line break.)
    """
    data = table.encoded()
    if not data or data[-1:] in (b"\n", b"\r"):
        return table
    if table.quoted:  # a quoted cell may hold line breaks: the csv module finds the last record
        rows = table.rows
        index = len(rows) - 1
        cells = rows[-1] if rows else []
        start = 0
        for _ in range(table.line(index) - 1):
            start = data.find(b"\n", start) + 1
    else:
        start = data.rfind(b"\n") + 1
        index = data.count(b"\n", 0, start)
        cells = data[start:].decode("utf-8", "surrogatepass").split(table.delimiter)
    if not any(c.strip() for c in cells):
        return table
    width = max(map(len, table.head(8)))
    if len(cells) < width:
        what = f"{len(cells)} of the header's {width} cells"
    elif table.quoted and data.count(b'"', start) % 2:
        what = "inside a quoted cell"
    elif not cells[-1].strip():
        what = "it stops right after a delimiter"
    else:
        return table
    cut = error(
        "csv.cut_line",
        f"the file ends inside this line ({what}): it looks cut short; the line is not converted",
        source=table.where(index),
    )
    findings = [*table.findings, cut]
    if table._text is None:  # read as bytes: stays bytes
        return CsvTable(table.path, table.display, table.delimiter, findings=findings, raw=data[:start])
    kept = data[:start].decode("utf-8", "surrogatepass")
    return CsvTable(table.path, table.display, table.delimiter, text=kept, findings=findings)


def _first_lines(data: bytes) -> str:
    """The text up to the end of the first non-blank line (all :func:`sniff_delimiter` reads)."""
    start = 0
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            return data.decode("ascii")
        if data[start:end].decode("ascii").strip():  # (str.strip: the blank test sniff uses)
            return data[: end + 1].decode("ascii")
        start = end + 1


def regularize_rows(
    table: CsvTable, body: list[list[str]], first: int, width: int
) -> tuple[list[list[str]], list[int], list[Finding]]:
    """Fit records to the header's ``width``: drop blank ones, pad short ones, report (and drop)
    non-empty cells beyond the header. ``body[0]`` is record ``first`` of ``table``; returns the
    rows, their record indices, and the findings."""
    out: list[list[str]] = []
    index: list[int] = []
    findings: list[Finding] = []
    for i, row in enumerate(body, start=first):
        if len(row) == width:
            out.append(row)
            index.append(i)
            continue
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        elif any(c.strip() for c in row[width:]):
            findings.append(
                warning(
                    "csv.extra_cells",
                    f"{len(row)} cells but the header has {width}; the cells beyond it are ignored",
                    source=table.where(i),
                )
            )
            row = row[:width]
        else:
            row = row[:width]
        out.append(row)
        index.append(i)
    return out, index, findings


class Columns(Protocol):
    """A table body read column by column (:class:`ByteColumns` or :class:`ListColumns`).

    Row ``i`` is record :meth:`record` ``(i)`` of the table; ``findings`` holds what reading
    the rows found (``csv.extra_cells``).
    """

    table: CsvTable
    findings: list[Finding]

    def __len__(self) -> int: ...

    def record(self, row: int) -> int:
        """The table record index of row ``row``."""
        ...

    def records(self, rows: IntArray) -> IntArray:
        """:meth:`record` of many rows at once."""
        ...

    def numbers(self, j: int, column: str) -> tuple[FloatArray, list[Finding]]:
        """Column ``j`` as floats: NaN for an empty/NaN cell; a located finding per bad cell."""
        ...

    def codes(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, list[str]]:
        """Column ``j`` (or its cells in ``rows``) as integers: indices into the distinct texts."""
        ...

    def changes(self, j: int) -> BoolArray:
        """True where a row's cell in column ``j`` differs from the row before (and for row 0)."""
        ...

    def read(
        self, numbers: Mapping[int, str], codes: Iterable[int], changes: Iterable[int]
    ) -> ColumnReads:
        """:meth:`numbers` (column index → its name), :meth:`codes` and :meth:`changes` of
        several columns at once (in one pass over the rows where that is faster)."""
        ...

    def cells(self, j: int, rows: IntArray) -> list[str]:
        """The texts of column ``j`` in the given rows."""
        ...


def _repeat_byte(b: int) -> np.uint64:
    return np.uint64(b * 0x0101010101010101)


#: Bytes of text scanned per pass, rows handled per pass: numpy temporaries this size stay in
#: the CPU caches (whole-column temporaries of a million rows are several times slower).
_SCAN_CHUNK = 1 << 20
_ROWS = 1 << 14
#: Mask keeping the first k bytes of a little-endian 8-byte word (k = 0…8).
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
#: _WORD_MASKS[k][n]: the mask keeping what word k of a cell of n bytes holds of it (n < 129).
_WORD_MASKS = _KEEP[np.clip(np.arange(129)[None, :] - 8 * np.arange(16)[:, None], 0, 8)]
#: Exact powers of ten (a float division by one is correctly rounded).
_POW10 = 10.0 ** np.arange(16)
#: Odd multipliers that spread uint64 keys over hash buckets (2^64 / golden ratio, then others).
_SPREADS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
#: Hash buckets of :meth:`ByteColumns.codes`: 2^16 (tables of 512 KiB stay in the CPU cache).
_HASH_BITS = 16
#: Words of cells read at once for codes (more: a chunk of rows at a time), 32 MiB.
_WORDS_AT_ONCE = 1 << 22
#: Odd multipliers folding the words of a long text into one hash key (word k+1 times the k-th).
_FOLDS = [np.uint64((0x9E3779B97F4A7C15 * (2 * k + 3)) % (1 << 64) | 1) for k in range(64)]
_ZEROS, _DOTS, _LOW7, _HIGH4, _SIXES = (_repeat_byte(b) for b in (0x30, 0x2E, 0x7F, 0xF0, 0x06))
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_U0, _U1, _U3, _U7, _U8, _U16, _U32, _U64 = (np.uint64(k) for k in (0, 1, 3, 7, 8, 16, 32, 64))


def _plain(data: bytes, delimiter: bytes) -> bool:
    """No NUL byte, no CR but in CRLF, no space right after a delimiter."""
    if b"\0" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return False
    # (a search for one byte is much faster than for two)
    return not (b" " in data and delimiter + b" " in data)


def _cell_stops(
    buf: npt.NDArray[np.uint8], pos: int, delimiter: int, width: int
) -> tuple[OffsetArray, bool] | None:
    """Offsets of the delimiter or line end after every cell of ``buf[pos:]``, one row of
    ``width`` per line (int32 below 2 GiB), and whether a CR was met; None unless every line
    holds exactly ``width`` cells.

    A delimiter below ``0`` (``,``, tab) is found with the line ends by ONE comparison (every
    byte up to the higher of the two); the few other bytes it catches (a space inside a name,
    ``+``, the CR of CRLF) are dropped while the chunk is still in the CPU cache. For a
    delimiter above space (``,``) those are every NUL, CR and space: the body is not
    :func:`_plain` (checked here) when one is a NUL, a CR before anything but LF, or a space
    right after a delimiter.
    """
    size = len(buf)
    top = max(delimiter, 10) if delimiter < 0x30 else -1
    checks = 0x20 < delimiter < 0x30
    crlf = False
    dtype = np.int32 if size < 1 << 31 else np.int64
    cap = (size - pos) // 4 + 16  # cells of 3 bytes and more: grown when they are shorter
    out = np.empty(cap, dtype=dtype)
    line_end = np.empty(cap, dtype=bool)
    k = 0
    for at in range(pos, size, _SCAN_CHUNK):
        chunk = buf[at : at + _SCAN_CHUNK]
        found = np.flatnonzero(chunk <= top if top >= 0 else (chunk == 10) | (chunk == delimiter))
        kind = chunk[found]
        newline = kind == 10
        if top >= 0:
            real = newline | (kind == delimiter)
            if not real.all():
                if checks:
                    other = found[~real] + at
                    other_kind = kind[~real]
                    if (other_kind == 0).any():
                        return None
                    cr = other[other_kind == 13]
                    if len(cr):
                        crlf = True
                        if cr[-1] + 1 >= size or not (buf[cr + 1] == 10).all():
                            return None
                    space = other[(other_kind == 32) & (other > 0)]
                    if (buf[space - 1] == delimiter).any():
                        return None
                found, newline = found[real], newline[real]
        m = len(found)
        if k + m + 1 > cap:  # (+1: room for the end of a last line without a line end)
            cap = max(2 * cap, k + m + 1)
            out, line_end = np.resize(out, cap), np.resize(line_end, cap)
        np.add(found, at, out=out[k : k + m], casting="unsafe")
        line_end[k : k + m] = newline
        k += m
    if size > pos and buf[size - 1] != 10:
        # the last line has no line end: the end of the file is one
        out[k], line_end[k] = size, True
        k += 1
    rows = int(np.count_nonzero(line_end[:k]))
    # as many line ends as rows, each the last stop of its row: every row is `width` cells
    if k != rows * width or not line_end[width - 1 : k : width].all():
        return None
    return out[:k].reshape(rows, width), crlf


#: A plain number without sign of up to 8 bytes; group 1: the digits after its dot.
_FIXED_FORM = re.compile(rb"[0-9]*(?:\.([0-9]{1,7}))?")
_DOT_AT = [np.uint64(0xFF << (8 * (7 - d))) for d in range(8)]
_DOT_IS = [np.uint64(0x2E << (8 * (7 - d))) for d in range(8)]
_FRACTION = [
    np.uint64((0xFFFFFFFFFFFFFFFF << (8 * (8 - d))) & 0xFFFFFFFFFFFFFFFF) for d in range(8)
]
_INTEGER = [np.uint64(((1 << (8 * (8 - d))) - 1) & ~0xFF) for d in range(8)]


def _decimals(text: bytes) -> int | None:
    """Digits after the dot of a plain unsigned number of up to 8 bytes (0: no dot), else None."""
    found = _FIXED_FORM.fullmatch(text) if 0 < len(text) <= 8 else None
    if found is None or text == b".":
        return None
    return len(found.group(1) or b"")


def _fixed_numbers(
    word: npt.NDArray[np.uint64], length: IntArray, decimals: int
) -> tuple[FloatArray, BoolArray]:
    """Cells written with exactly ``decimals`` digits after a dot (1 to 7), or as integers (0),
    as floats, and which cells were written so (no sign, up to 8 bytes).

    The common case of :func:`_eight_byte_numbers` in half the operations: the cell is
    right-aligned behind ``0`` padding (the shift drops the bytes after the cell, so ``word``
    needs no mask), its dot must be where ``decimals`` puts it, and cutting it out is a fixed
    shift. The same correctly rounded value as ``float(text)``.
    """
    bits = length.astype(np.uint64) << _U3
    aligned = (word << (_U64 - bits)) | (_ZEROS >> bits)  # (numpy shifts by 64 or more give 0)
    if decimals:
        at_dot = (aligned & _DOT_AT[decimals]) == _DOT_IS[decimals]
        digits = (
            (aligned & _FRACTION[decimals])
            | ((aligned << _U8) & _INTEGER[decimals])
            | np.uint64(0x30)
        )
    else:
        at_dot = length > 0
        digits = aligned
    plain = (
        at_dot
        & ((digits & _HIGH4) == _ZEROS)
        & (((digits + _SIXES) & _HIGH4) == _ZEROS)
        & (length <= 8)
    )
    value = _eight_digits(digits - _ZEROS).astype(np.float64)
    if decimals:
        value /= _POW10[decimals]
    return value, plain


def _eight_digits(v: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Eight digit values (0-9, the first in the lowest byte) summed into one integer by three
    multiplications (Lemire's eight-digit parse)."""
    v = (v * np.uint64(2561)) >> _U8
    v = ((v & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> _U16
    return ((v & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> _U32


def _eight_byte_numbers(
    word: npt.NDArray[np.uint64], length: IntArray
) -> tuple[FloatArray, BoolArray]:
    """Cells of up to 8 bytes (``-123.45``) as floats, and which cells were such plain numbers.

    ``word`` holds a cell's bytes, zero past its end. A plain number: an optional sign, digits
    with at most one ``.`` among them, 1 to 8 digits. Bytes are handled eight at a time in one
    integer (SWAR), with no table look-up and no branch per cell: the sign and the first ``.``
    are cut out, the digits checked and right-aligned, and summed by three multiplications
    (Lemire's eight-digit parse). The integer over an exact power of ten is the correctly
    rounded double, the one ``float(text)`` gives.
    """
    lead = word & np.uint64(0xFF)
    negative = lead == 45
    signed = negative | (lead == 43)
    if signed.any():
        sign = signed.astype(np.uint64)
        word = word >> (sign << _U3)
        size = length.astype(np.uint64) - sign
    else:
        size = length.astype(np.uint64)
    # the first ".": the exact zero-byte test on word XOR "........" (bytes past the cell are
    # zero, so they XOR to non-zero), then its lowest byte (0x80 << 8k for a "." at byte k)
    x = word ^ _DOTS
    zero = ~(((x & _LOW7) + _LOW7) | x | _LOW7)
    lowest = zero & (_U0 - zero)
    below = (lowest >> _U7) - _U1  # the k bytes before the dot (every byte when there is none)
    digits = (word & below) | ((word >> _U8) & ~below)
    n_digits = size - (lowest != 0)
    shift = _U64 - (n_digits << _U3)  # right-aligns the digits (wraps past 8 digits: not plain)
    mask = _ALL >> shift  # the n_digits low bytes (numpy shifts by 64 or more give 0)
    zeros = _ZEROS & mask
    plain = (
        ((digits & _HIGH4) == zeros)
        & (((digits + (_SIXES & mask)) & _HIGH4) == zeros)
        & (n_digits - _U1 < _U8)
        & (length <= 8)
    )
    # the digit values right-aligned, the last one in the top byte
    v = _eight_digits((digits - zeros) << shift)
    # digits after the dot: n_digits - k (none without a dot, where k counts as 8)
    n_frac = np.clip(
        n_digits.view(np.int64) - (np.bitwise_count(below).astype(np.intp) >> 3), 0, 15
    )
    value = v.astype(np.float64) / _POW10[n_frac]
    if negative.any():
        np.negative(value, out=value, where=negative)
    return value, plain


def _sixteen_byte_numbers(
    words: Sequence[npt.NDArray[np.uint64]], length: IntArray
) -> tuple[FloatArray, BoolArray]:
    """Cells of up to 16 bytes as floats (up to 15 digits), and which were plain numbers.

    Byte by byte (for the rarer long cells; :func:`_eight_byte_numbers` takes the usual ones).
    """
    n = len(length)
    width = 8 * len(words)
    bytes_ = np.empty((width, n), dtype=np.uint8)
    for k in range(width):
        bytes_[k] = words[k >> 3] >> np.uint64(8 * (k & 7))  # the low byte survives
    digit = bytes_ - np.uint8(48)
    is_digit = digit < 10
    is_dot = bytes_ == 46
    lead = bytes_[0]
    signed = (lead == 45) | (lead == 43)
    other = (bytes_ != 0) & ~is_digit & ~is_dot
    other[0] &= ~signed
    n_digits = is_digit.sum(axis=0)
    dots = is_dot.sum(axis=0)
    plain = (
        (length <= width) & ~other.any(axis=0) & (dots <= 1) & (n_digits >= 1) & (n_digits <= 15)
    )
    dot_at = np.where(dots > 0, is_dot.argmax(axis=0), width)
    n_frac = (is_digit & (np.arange(width)[:, None] > dot_at)).sum(axis=0)
    mantissa = np.zeros(n, dtype=np.int64)
    for k in range(width):
        mantissa = np.where(is_digit[k], mantissa * 10 + digit[k], mantissa)
    value = mantissa / _POW10[np.minimum(n_frac, 15)]
    return np.where(lead == 45, -value, value), plain


def _word_count(length: IntArray) -> int:
    """8-byte words in the longest of these cells."""
    return (int(length.max()) + 7) // 8 if len(length) else 0


def _fold(words: Sequence[npt.NDArray[np.uint64]]) -> npt.NDArray[np.uint64]:
    """One hash key from texts' words (:meth:`ByteColumns._text_words`, two or more): the first
    word plus each later one times its own odd multiplier. The zero words past a shorter text
    add nothing, so a text has one key whatever the number of words read (and a text of up to 8
    bytes is its own key)."""
    key = words[0].copy()
    for m in range(1, len(words)):
        key += words[m] * _FOLDS[(m - 1) % len(_FOLDS)]
    return key


def _keys(words: Sequence[npt.NDArray[np.uint64]]) -> npt.NDArray[np.uint64]:
    """Hash keys of texts from their words: :func:`_fold` (one word: the word itself)."""
    return words[0] if len(words) == 1 else _fold(words)


def _buckets(key: npt.NDArray[np.uint64], spread: np.uint64, bits: int) -> npt.NDArray[np.intp]:
    """Hash buckets of ``bits`` bits: the top bits of the key times an odd multiplier."""
    return ((key * spread) >> np.uint64(64 - bits)).astype(np.intp)


def _runs(columns: Iterable[int]) -> list[tuple[int, int]]:
    """Column indices as runs of neighbours: ``[0, 1, 4]`` → ``[(0, 1), (4, 4)]``."""
    runs: list[tuple[int, int]] = []
    for j in sorted(set(columns)):
        if runs and runs[-1][1] == j - 1:
            runs[-1] = (runs[-1][0], j)
        else:
            runs.append((j, j))
    return runs


class _HashCodes:
    """Codes of one column's texts, a chunk of rows at a time, through a hash table of
    2^:data:`_HASH_BITS` buckets that holds each bucket's text (the first cell seen in it)."""

    def __init__(self, rows: int, spread: np.uint64) -> None:
        size = 1 << _HASH_BITS
        self.spread = spread
        self.claimed = np.zeros(size, dtype=bool)
        self.rep = np.zeros(size, dtype=np.int64)
        self.held: list[npt.NDArray[np.uint64]] = []  # word k of each bucket's text (0 past it)
        self.bucket = np.empty(rows, dtype=np.intp)

    def add(self, a: int, words: list[npt.NDArray[np.uint64]], rows: int) -> bool:
        """Code ``rows`` rows from ``a`` (their text words: none when all are empty); False when
        two texts meet in one bucket."""
        if not words:
            words = [np.zeros(rows, dtype=np.uint64)]
        while len(self.held) < len(words):  # texts longer than so far (earlier ones: 0 there)
            self.held.append(np.zeros(len(self.claimed), dtype=np.uint64))
        at = _buckets(_keys(words), self.spread, _HASH_BITS)
        self.bucket[a : a + rows] = at
        fresh = ~self.claimed[at]
        if fresh.any():
            first = np.flatnonzero(fresh)
            new = at[first]
            self.claimed[new] = True
            self.rep[new] = first + a
            for table, word in zip(self.held, words, strict=False):
                table[new] = word[first]
        # every cell must hold its bucket's text (two texts in one bucket: no table holds both);
        # words past the chunk's longest cell are 0
        for k, table in enumerate(self.held):
            held = table[at]
            if not (np.array_equal(held, words[k]) if k < len(words) else not held.any()):
                return False
        return True

    @property
    def crowded(self) -> bool:
        """So many texts that two in one bucket are to be expected (the birthday bound)."""
        return int(np.count_nonzero(self.claimed)) ** 2 > len(self.claimed)

    def result(self) -> tuple[IntArray, IntArray]:
        """(code per row, one row per code), codes numbering the used buckets."""
        used = np.flatnonzero(self.claimed)
        number = np.zeros(len(self.claimed), dtype=np.int64)
        number[used] = np.arange(len(used), dtype=np.int64)
        return number[self.bucket], self.rep[used]


@dataclass
class ColumnReads:
    """What :meth:`Columns.read` found, by column index."""

    numbers: dict[int, tuple[FloatArray, list[Finding]]]
    codes: dict[int, tuple[IntArray, list[str]]]
    #: rows where a cell of any of the ``changes`` columns differs from the row before, and
    #: row 0: where each run of rows with the same cells starts
    changes: BoolArray


class ByteColumns:
    """A plain table body as byte ranges: cell (i, j) is ``raw[start:stop]`` of row i, column j.

    Built by :meth:`CsvTable.byte_columns`. Every question is answered with array operations on
    the file's bytes, a chunk of rows at a time (:meth:`read` answers several at once, so a
    chunk's bytes come from memory once): a cell is read as little-endian 8-byte words (strided
    views of the bytes, one gather per cell), so names compare and hash as integers and digits
    are picked out with shifts.
    """

    def __init__(
        self,
        table: CsvTable,
        first: int,
        raw: bytes,
        body_start: int,
        stops: OffsetArray,
        crlf: bool,
    ):
        self.table = table
        self.first = first
        self.findings: list[Finding] = []
        self._raw = raw
        self._body_start = body_start
        # the delimiter or line end after each cell: row i, column j is stops[i, j]
        self._stops = stops
        self._rows, self._width = stops.shape
        self._crlf = crlf  # a CR before the line ends
        buf = np.frombuffer(raw, dtype=np.uint8)
        if len(buf) < 8:  # shorter than one word: a padded copy (zeros past the end)
            buf = np.concatenate([buf, np.zeros(8, dtype=np.uint8)])
        self._buf = buf
        self._last = len(buf) - 8  # the last offset a whole word can be read from
        # _words[p] = the 8 bytes starting at p (unaligned reads of the bytes)
        self._words = np.lib.stride_tricks.as_strided(buf, (self._last + 1, 8), (1, 1)).view("<u8")[
            :, 0
        ]
        self._blocks: dict[int, npt.NDArray[np.void]] = {}  # n bytes from each offset, by n

    def __len__(self) -> int:
        return self._rows

    def record(self, row: int) -> int:
        return self.first + row

    def records(self, rows: IntArray) -> IntArray:
        return rows + self.first

    def _span(self, a: int, b: int, j: int, last: int | None = None) -> tuple[IntArray, IntArray]:
        """(start offset, length) of the cells of column ``j`` in rows ``a…b-1`` (or of the text
        from column ``j`` to column ``last``, delimiters included)."""
        block = self._stops[a:b]
        end = j if last is None else last
        if j:
            start = np.add(block[:, j - 1], 1, dtype=np.int64)
        else:  # after the line end of the row before
            start = np.empty(b - a, dtype=np.int64)
            if b > a:
                start[0] = self._stops[a - 1, -1] + 1 if a else self._body_start
                np.add(block[:-1, -1], 1, out=start[1:], dtype=np.int64)
        return start, np.subtract(self._cut_cr(end, start, block[:, end]), start, dtype=np.int64)

    def _bounds(self, j: int, rows: IntArray) -> tuple[IntArray, IntArray]:
        """(start offset, length) of the cells of column ``j`` in ``rows``."""
        stop = self._stops[rows, j]
        if j:
            start = np.add(self._stops[rows, j - 1], 1, dtype=np.int64)
        else:
            start = np.add(self._stops[rows - 1, -1], 1, dtype=np.int64)
            start[rows == 0] = self._body_start
        return start, np.subtract(self._cut_cr(j, start, stop), start, dtype=np.int64)

    def _cut_cr(self, j: int, start: IntArray, stop: OffsetArray) -> OffsetArray:
        if self._crlf and j == self._width - 1 and len(stop):
            stop = stop - (self._buf[np.maximum(stop - 1, 0)] == 13)  # CRLF: the CR is no cell's
            stop = np.maximum(stop, start)
        return stop

    def _read(self, at: IntArray, inside: bool = False) -> npt.NDArray[np.uint64]:
        """The 8 bytes at each offset as a little-endian word; bytes past the file's end are zero.

        ``inside``: the caller knows that no offset is past :attr:`_last`.
        """
        last = self._last
        if inside or not len(at) or int(at.max()) <= last:
            return self._words[at]
        # near the end: the word that ends the file, moved down (zeros come in from the top)
        over = np.clip(at - last, 0, 8).astype(np.uint64) << _U3
        return self._words[np.minimum(at, last)] >> over

    def _text_words(
        self, start: IntArray, length: IntArray, count: int
    ) -> list[npt.NDArray[np.uint64]]:
        """The first ``count`` 8-byte words of each cell, bytes past its end zero.

        Read with ONE gather of ``8 * count`` bytes per cell (as costly as one of 8). A cell
        holds no zero byte: when ``count`` covers the longest cell, its words are its text
        exactly, length included.
        """
        if not count:
            return []
        n = len(start)
        width = 8 * count
        if n and int(start.max()) + width <= len(self._buf):
            view = self._blocks.get(width)
            if view is None:
                strided = np.lib.stride_tricks.as_strided(
                    self._buf, (len(self._buf) - width + 1, width), (1, 1)
                )
                view = self._blocks[width] = strided.view(f"V{width}")[:, 0]
            block = view[start].view("<u8").reshape(n, count)
            words = [block[:, k] for k in range(count)]
        else:  # (near the end of the file)
            words = [self._read(start + 8 * k) for k in range(count)]
        shortest = int(length.min()) if n else 0
        tabled = width < _WORD_MASKS.shape[1]  # (cells of up to 128 bytes: one look-up per mask)
        for k in range(count):
            if shortest < 8 * (k + 1):  # some cell ends before the end of word k
                keep = _WORD_MASKS[k][length] if tabled else _KEEP[np.clip(length - 8 * k, 0, 8)]
                words[k] = words[k] & keep
        return words

    def cells(self, j: int, rows: IntArray) -> list[str]:
        start, length = self._bounds(j, rows)
        raw = self._raw
        return [
            raw[s : s + n].decode("utf-8", "surrogatepass")
            for s, n in zip(start.tolist(), length.tolist(), strict=True)
        ]

    def numbers(self, j: int, column: str) -> tuple[FloatArray, list[Finding]]:
        return self.read({j: column}, (), ()).numbers[j]

    def codes(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, list[str]]:
        if rows is None:
            start, length = self._span(0, self._rows, j)
        else:
            start, length = self._bounds(j, rows)
        found = self._codes_of(start, length)
        picked = np.arange(len(length)) if rows is None else rows
        if found is None:
            # two texts share a folded key: code the texts themselves (never seen in practice)
            texts = self.cells(j, picked)
            index = {t: i for i, t in enumerate(dict.fromkeys(texts))}
            return np.fromiter(map(index.__getitem__, texts), np.int64, len(texts)), list(index)
        codes, reps = found
        return codes, self.cells(j, picked[reps])

    def changes(self, j: int) -> BoolArray:
        return self.read({}, (), (j,)).changes

    def read(
        self, numbers: Mapping[int, str], codes: Iterable[int], changes: Iterable[int]
    ) -> ColumnReads:
        n = self._rows
        values = {j: np.full(n, np.nan) for j in numbers}
        todo = {j: np.empty(n, dtype=bool) for j in numbers}
        decimals: dict[int, int | None] = {
            j: -1 for j in numbers
        }  # per column: -1 until a cell shows it
        tables: dict[int, _HashCodes | None] = {j: _HashCodes(n, _SPREADS[0]) for j in codes}
        # neighbouring key columns compare as one text: cells hold no delimiter, so two equal
        # texts of several cells are equal cells
        runs = _runs(changes)
        changed = np.zeros(n, dtype=bool)
        changed[:1] = True
        columns = sorted(set(values) | set(tables))
        for a in range(0, n, _ROWS):
            b = min(a + _ROWS, n)
            # every word read lies inside the file
            inside = int(self._stops[b - 1, -1]) <= self._last
            if runs and b > 1:
                before = max(a - 1, 0)  # and the row before: a change is from one row to the next
                differs = np.zeros(b - before - 1, dtype=bool)
                for first, last in runs:
                    start, length = self._span(before, b, first, last)
                    for word in self._text_words(start, length, _word_count(length)):
                        differs |= word[1:] != word[:-1]  # (the words of a text fix its length)
                changed[before + 1 : b] = differs
            for j in columns:
                start, length = self._span(a, b, j)
                if j in values:
                    value, plain = self._chunk_numbers(start, length, decimals, j, inside)
                    np.copyto(values[j][a:b], value, where=plain)
                    np.greater(length, 0, out=todo[j][a:b])  # (an empty cell is NaN)
                    todo[j][a:b] &= ~plain
                table = tables.get(j)
                if table is not None and not table.add(
                    a, self._text_words(start, length, _word_count(length)), b - a
                ):
                    tables[j] = None  # two texts in one bucket: coded on their own below
        return ColumnReads(
            numbers={
                j: self._other_numbers(j, column, values[j], todo[j])
                for j, column in numbers.items()
            },
            codes={j: self._coded(j, table) for j, table in tables.items()},
            changes=changed,
        )

    def _chunk_numbers(
        self,
        start: IntArray,
        length: IntArray,
        decimals: dict[int, int | None],
        j: int,
        inside: bool,
    ) -> tuple[FloatArray, BoolArray]:
        """Numbers of up to 8 bytes in a chunk of column ``j``, and which cells were such.

        Writers mostly give every number of a column the same number of decimals: the first
        cell decides it (``decimals[j]``) and :func:`_fixed_numbers` reads the cells written so;
        the others go through :func:`_eight_byte_numbers`. When too many are others, the rest of
        the column does too (``decimals[j] = None``).
        """
        word = self._read(start, inside)
        if decimals[j] == -1 and len(length):
            filled = np.flatnonzero(length)
            if len(filled):
                first = int(start[filled[0]])
                decimals[j] = _decimals(self._raw[first : first + int(length[filled[0]])])
        places = decimals[j]
        if places is None or places < 0:
            return _eight_byte_numbers(word & _KEEP[np.minimum(length, 8)], length)
        value, plain = _fixed_numbers(word, length, places)
        other = np.flatnonzero(~plain & (length > 0))
        if len(other):
            if 8 * len(other) > len(length):
                decimals[j] = None
            size = length[other]
            value[other], plain[other] = _eight_byte_numbers(
                word[other] & _KEEP[np.minimum(size, 8)], size
            )
        return value, plain

    def _coded(self, j: int, table: _HashCodes | None) -> tuple[IntArray, list[str]]:
        if table is None:
            return self.codes(j)
        codes, reps = table.result()
        return codes, self.cells(j, reps)

    def _other_numbers(
        self, j: int, column: str, out: FloatArray, todo: BoolArray
    ) -> tuple[FloatArray, list[Finding]]:
        """The cells that are not numbers of up to 8 bytes, one by one (longer ones, ``1e3``,
        ``nan``, ``1,5``…); a located finding for each that is not a number."""
        findings: list[Finding] = []
        if not todo.any():
            return out, findings
        rows = np.flatnonzero(todo)
        start, length = self._bounds(j, rows)
        longer = (length > 8) & (length <= 16)
        if longer.any():
            value, plain = _sixteen_byte_numbers(
                self._text_words(start[longer], length[longer], 2), length[longer]
            )
            done = rows[longer][plain]
            out[done] = value[plain]
            todo[done] = False
            rows = np.flatnonzero(todo)
        table = self.table
        for row, text in zip(rows.tolist(), self.cells(j, rows), strict=True):
            try:
                number = parse_number(text, table.decimal_comma, "", column)
            except NotANumber as exc:
                findings.append(_located(exc, table, self.record(row)))
                continue
            if number is not None:
                out[row] = number
        return out, findings

    def _codes_of(self, start: IntArray, length: IntArray) -> tuple[IntArray, IntArray] | None:
        """(code per cell, one cell per code); None when two texts share a folded key.

        Runs of equal texts (a name at the start of each instance of an image) are coded once.
        """
        n = len(length)
        count = max(_word_count(length), 1)
        if n * count > _WORDS_AT_ONCE:  # long texts in many rows: read a chunk of rows at a time
            return _word_codes(n, lambda rows: self._text_words(start[rows], length[rows], count))
        words = self._text_words(start, length, count)
        if n > 1:
            differs = np.zeros(n - 1, dtype=bool)
            for word in words:
                differs |= word[1:] != word[:-1]
            first = np.flatnonzero(np.concatenate(([True], differs)))
            if 2 * len(first) <= n:
                found = _word_codes(len(first), _picker([word[first] for word in words]))
                if found is None:
                    return None
                codes, reps = found
                run = np.concatenate(([0], np.cumsum(differs)))  # each row's run
                return codes[run], first[reps]
        return _word_codes(n, _picker(words))


Words = list[npt.NDArray[np.uint64]]


def _picker(words: Words) -> Callable[[slice | IntArray], Words]:
    """The words of the texts in some rows, from the words of all."""
    return lambda rows: [word[rows] for word in words]


def _word_codes(
    n: int, words_of: Callable[[slice | IntArray], Words]
) -> tuple[IntArray, IntArray] | None:
    """(code per text, one text per code) of ``n`` texts, ``words_of(rows)`` giving the words
    of some (:meth:`ByteColumns._text_words`); None when two texts share a folded key. Through
    a hash table when they are few, else by sorting; a chunk of rows at a time."""
    for spread in _SPREADS:
        table = _HashCodes(n, spread)
        for a in range(0, n, _ROWS):
            if not table.add(a, words_of(slice(a, a + _ROWS)), min(_ROWS, n - a)):
                break
        else:
            return table.result()
        if table.crowded:  # many texts: buckets are shared whatever the multiplier
            break
    key = np.empty(n, dtype=np.uint64)
    for a in range(0, n, _ROWS):
        key[a : a + _ROWS] = _keys(words_of(slice(a, a + _ROWS)))
    _, reps, codes = np.unique(key, return_index=True, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64, copy=False)
    for a in range(0, n, _ROWS):  # a folded key: every text must be its representative's
        mine = words_of(slice(a, a + _ROWS))
        if len(mine) > 1:
            theirs = words_of(reps[codes[a : a + _ROWS]])
            if not all(np.array_equal(u, v) for u, v in zip(mine, theirs, strict=True)):
                return None
    return codes, reps


class ListColumns:
    """A table body read with the csv module, as one list of texts per column."""

    def __init__(
        self,
        table: CsvTable,
        columns: list[list[str]],
        index: list[int] | int,
        findings: list[Finding],
    ):
        self.table = table
        self.columns = columns
        self.index = index  # record of row 0 (rows follow one another), or one record per row
        self.findings = findings

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def record(self, row: int) -> int:
        return self.index + row if isinstance(self.index, int) else self.index[row]

    def records(self, rows: IntArray) -> IntArray:
        if isinstance(self.index, int):
            return rows + self.index
        return np.array(self.index, dtype=np.int64)[rows]

    def numbers(self, j: int, column: str) -> tuple[FloatArray, list[Finding]]:
        values, findings = parse_numbers(self.table, self.columns[j], self.index, column)
        return np.array(values, dtype=np.float64).reshape(-1), findings

    def codes(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, list[str]]:
        texts = self.columns[j] if rows is None else self.cells(j, rows)
        index = {t: i for i, t in enumerate(dict.fromkeys(texts))}
        return np.fromiter(map(index.__getitem__, texts), np.int64, len(texts)), list(index)

    def changes(self, j: int) -> BoolArray:
        texts = self.columns[j]
        out = np.ones(len(texts), dtype=bool)
        out[1:] = np.fromiter(map(ne, texts[1:], texts[:-1]), bool, max(len(texts) - 1, 0))
        return out

    def cells(self, j: int, rows: IntArray) -> list[str]:
        texts = self.columns[j]
        return [texts[i] for i in rows.tolist()]

    def read(
        self, numbers: Mapping[int, str], codes: Iterable[int], changes: Iterable[int]
    ) -> ColumnReads:
        changed = np.zeros(len(self), dtype=bool)
        changed[:1] = True
        for j in dict.fromkeys(changes):
            changed |= self.changes(j)
        return ColumnReads(
            numbers={j: self.numbers(j, column) for j, column in numbers.items()},
            codes={j: self.codes(j) for j in codes},
            changes=changed,
        )
