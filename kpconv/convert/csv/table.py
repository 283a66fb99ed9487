"""Reading CSV files the way people really write them, with every problem located.

Handled here, once, for every layout: a UTF-8 byte-order mark (Excel writes one), UTF-16 files
(Excel's "Unicode text"), ``,`` / ``;`` / tab / ``|`` delimiters sniffed from the header line,
quoted fields (also ones spanning lines), blank lines, and a decimal comma (``1,5``) when the
delimiter is not a comma. Numbers are parsed with their place: ``file.csv:17: column "nose_x":
"abc" is not a number``.

Big tables are read a column at a time (:class:`ByteColumns`): when the text is plain (no quotes,
every line as wide as the header) the cells are byte ranges of the file found with numpy, numbers
are parsed from those bytes with array operations, and names become integer codes without a
Python string per cell. Only a cell that is not a plain number goes through :func:`parse_number`
(so its message is the same). Anything else is read with the ``csv`` module (:class:`ListColumns`);
both answer the same questions (:class:`Columns`).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Iterator, Sequence
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
        return f"CsvTable(path={self.path!r}, display={self.display!r}, delimiter={self.delimiter!r})"

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
        if b"\0" in raw or (b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")):
            return None
        if b" " in raw and d + b" " in raw:  # (a search for one byte is much faster than for two)
            return None
        pos = 0
        for _ in range(first):
            pos = raw.find(b"\n", pos) + 1
            if pos == 0:
                pos = len(raw)
                break
        size = len(raw)
        # the bytes, a line end if the last line has none, and zeros so that 8-byte reads
        # starting in the last cell stay inside the buffer
        buf = np.zeros(size + 9, dtype=np.uint8)
        buf[:size] = np.frombuffer(raw, dtype=np.uint8)
        end = size
        if size > pos and raw[-1:] != b"\n":
            buf[size] = 10
            end = size + 1
        # every delimiter and line end, a few MiB at a time (temporaries stay in cache)
        found: list[IntArray] = []
        lines = 0
        for at in range(pos, end, _TEXT_CHUNK):
            chunk = buf[at : min(at + _TEXT_CHUNK, end)]
            newline = chunk == 10
            lines += int(np.count_nonzero(newline))
            found.append(np.flatnonzero(newline | (chunk == d[0])) + at)
        stops_flat = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        if len(stops_flat) != lines * width:
            return None
        stops = stops_flat.reshape(-1, width)
        # as many line ends as rows, each the last stop of its row: every row is `width` cells
        if not (buf[stops[:, -1]] == 10).all():
            return None
        return ByteColumns(self, first, raw, buf, stops)

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
            raise NotANumber(f'{where}: column "{column}": {_shown(text)} is not a number') from None
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
        table = CsvTable(path=path, display=shown, delimiter=delim, text=text, findings=findings, raw=raw)
    if len(table.delimiter) != 1:
        raise UsageError(f"--delimiter: expected one character, found {table.delimiter!r}")
    return table


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

    def cells(self, j: int, rows: IntArray) -> list[str]:
        """The texts of column ``j`` in the given rows."""
        ...


def _repeat_byte(b: int) -> np.uint64:
    return np.uint64(b * 0x0101010101010101)


#: Bytes of text scanned per pass, rows handled per pass: numpy temporaries this size stay in
#: the CPU caches (whole-column temporaries of a million rows are several times slower).
_TEXT_CHUNK = 1 << 22
_ROWS = 1 << 16
#: Mask keeping the first k bytes of a little-endian 8-byte word (k = 0…8).
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
#: Exact powers of ten (a float division by one is correctly rounded).
_POW10 = 10.0 ** np.arange(16)
#: Odd multipliers that spread uint64 keys over hash buckets (2^64 / golden ratio, then others).
_SPREADS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_ZEROS, _DOTS, _LOW7, _HIGH4, _SIXES = (_repeat_byte(b) for b in (0x30, 0x2E, 0x7F, 0xF0, 0x06))
_U8, _U16, _U32 = np.uint64(8), np.uint64(16), np.uint64(32)
_BYTE_INDEX = np.uint64(0x0001020304050607)
#: "0" bytes in the low k bytes of a word (k = 0…8): the left padding of k missing digits.
_ZERO_PAD = _ZEROS & _KEEP


def _eight_byte_numbers(word: npt.NDArray[np.uint64], length: IntArray) -> tuple[FloatArray, BoolArray]:
    """Cells of up to 8 bytes (``-123.45``) as floats, and which cells were such plain numbers.

    A plain number: an optional sign, digits with at most one ``.`` among them, 1 to 8 digits.
    Bytes are handled eight at a time in one integer (SWAR): the sign and the dot are cut out,
    the digits right-aligned behind ``0`` padding, checked, and summed by three multiplications
    (Lemire's eight-digit parse). The integer over an exact power of ten is the correctly
    rounded double, the one ``float(text)`` gives.
    """
    lead = word & np.uint64(0xFF)
    negative = lead == 45
    signed = negative | (lead == 43)
    if signed.any():
        word = np.where(signed, word >> _U8, word)
        size = (length - signed).astype(np.uint64)
    else:
        size = length.astype(np.uint64)
    # the first ".": the exact zero-byte test on word XOR "........" (bytes past the cell are
    # zero, so they XOR to non-zero)
    x = word ^ _DOTS
    zero = ~(((x & _LOW7) + _LOW7) | x | _LOW7)
    has_dot = zero != 0
    lowest = (zero & (~zero + np.uint64(1))) >> np.uint64(7)  # 1 << 8k for the first dot at k
    dot = (lowest * _BYTE_INDEX) >> np.uint64(56)  # k: the multiplication moves byte 7-k of it up
    dot = np.where(has_dot, dot, np.minimum(size, np.uint64(8)))  # (a longer cell is not plain)
    dot_bits = dot << np.uint64(3)
    digits = (word & _KEEP[dot]) | ((word >> (dot_bits + _U8)) << dot_bits)
    n_digits = size - has_dot
    pad = np.uint64(8) - np.minimum(n_digits, np.uint64(8))
    eight = (digits << (pad << np.uint64(3))) | _ZERO_PAD[pad]
    plain = (
        ((eight & _HIGH4) == _ZEROS)
        & (((eight + _SIXES) & _HIGH4) == _ZEROS)
        & (n_digits >= 1)
        & (length <= 8)
    )
    v = eight - _ZEROS
    v = ((v & _repeat_byte(0x0F)) * np.uint64(2561)) >> _U8
    v = ((v & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> _U16
    v = ((v & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> _U32
    # digits after the dot (without a dot: dot == size, and the -1 that wraps is clipped to 0)
    n_frac = np.clip((size - dot - np.uint64(1)).astype(np.int64), 0, 15)
    value = v.astype(np.float64) / _POW10[n_frac]
    if negative.any():
        value = np.where(negative, -value, value)
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
    plain = (length <= width) & ~other.any(axis=0) & (dots <= 1) & (n_digits >= 1) & (n_digits <= 15)
    dot_at = np.where(dots > 0, is_dot.argmax(axis=0), width)
    n_frac = (is_digit & (np.arange(width)[:, None] > dot_at)).sum(axis=0)
    mantissa = np.zeros(n, dtype=np.int64)
    for k in range(width):
        mantissa = np.where(is_digit[k], mantissa * 10 + digit[k], mantissa)
    value = mantissa / _POW10[np.minimum(n_frac, 15)]
    return np.where(lead == 45, -value, value), plain


def _bucket_codes(key: npt.NDArray[np.uint64]) -> tuple[IntArray, IntArray] | None:
    """(code per row, one row per code) for keys with few distinct values; None when they
    do not spread over a small hash table without two keys in one bucket."""
    n = len(key)
    bits = 16
    if not n or int(key.max()) < 1 << bits:  # texts of one or two bytes: the key is the bucket
        return _table_codes(key.astype(np.intp), n, bits)
    for spread in _SPREADS:
        bucket = ((key * spread) >> np.uint64(64 - bits)).astype(np.intp)
        table = np.zeros(1 << bits, dtype=np.uint64)
        table[bucket] = key
        if (table[bucket] == key).all():
            return _table_codes(bucket, n, bits)
    return None


def _table_codes(bucket: npt.NDArray[np.intp], n: int, bits: int) -> tuple[IntArray, IntArray]:
    """Codes numbering the used buckets, and one row holding each."""
    rep = np.zeros(1 << bits, dtype=np.int64)
    rep[bucket] = np.arange(n, dtype=np.int64)
    used = np.flatnonzero(np.bincount(bucket, minlength=1 << bits))
    code = np.zeros(1 << bits, dtype=np.int64)
    code[used] = np.arange(len(used), dtype=np.int64)
    return code[bucket], rep[used]


class ByteColumns:
    """A plain table body as byte ranges: cell (i, j) is ``raw[start:stop]`` of row i, column j.

    Built by :meth:`CsvTable.byte_columns`. Every question is answered with array operations on
    the file's bytes: a cell is read as little-endian 8-byte words (one strided view of the
    buffer), so names compare and hash as integers and digits are picked out with shifts.
    """

    def __init__(self, table: CsvTable, first: int, raw: bytes, buf: npt.NDArray[np.uint8], stops: IntArray):
        self.table = table
        self.first = first
        self.findings: list[Finding] = []
        self._raw = raw
        self._buf = buf
        # the delimiter or line end after each cell, row after row: column j is stops[j::width]
        self._width = stops.shape[1] if stops.ndim == 2 else 1
        self._stops = stops.reshape(-1)
        self._rows = len(self._stops) // self._width
        self._crlf = b"\r" in raw
        # _words[p] = the 8 bytes starting at p (unaligned reads of the padded buffer)
        self._words = np.lib.stride_tricks.as_strided(buf, (len(buf) - 7, 8), (1, 1)).view("<u8")[:, 0]

    def __len__(self) -> int:
        return self._rows

    def record(self, row: int) -> int:
        return self.first + row

    def records(self, rows: IntArray) -> IntArray:
        return rows + self.first

    def span(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, IntArray]:
        """(start, stop) byte offsets of the cells of column ``j`` (in ``rows``, or all)."""
        w, stops = self._width, self._stops
        if rows is None:
            stop = stops[j::w]
            if j:
                start = stops[j - 1 :: w] + 1
            else:  # after the line end of the row before
                start = np.empty(self._rows, dtype=np.int64)
                if self._rows:
                    start[0] = self._body_start()
                    start[1:] = stops[w - 1 : -1 : w] + 1
        else:
            at = rows * w + j
            stop = stops[at]
            start = stops[np.maximum(at - 1, 0)] + 1
            if not j:
                start[rows == 0] = self._body_start()
        if self._crlf and j == w - 1 and len(stop):
            stop = stop - (self._buf[np.maximum(stop - 1, 0)] == 13)  # CRLF: the CR is no cell's
            stop = np.maximum(stop, start)
        return start, stop

    def _body_start(self) -> int:
        pos = 0
        for _ in range(self.first):
            pos = self._raw.find(b"\n", pos) + 1
        return pos

    def _gather(self, start: IntArray, length: IntArray, count: int) -> list[npt.NDArray[np.uint64]]:
        """The first ``count`` 8-byte words of the cells at ``start`` (zero past their end).

        A cell never holds a zero byte, so its words identify its text exactly. Called on a chunk
        of rows at a time: nothing a column long is kept.
        """
        out = []
        last = len(self._words) - 1
        for m in range(0, 8 * count, 8):
            # a cell shorter than m bytes reads some word inside the buffer: the mask zeroes it
            at = start + m if not len(start) or int(start.max()) + m <= last else np.minimum(start + m, last)
            word = self._words[at]
            if (length < m + 8).any():
                word &= _KEEP[np.minimum(np.maximum(length - m, 0), 8)]
            out.append(word)
        return out

    def _lengths(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, IntArray, int]:
        """(cell starts, cell lengths, words in the longest cell) of column ``j`` (in ``rows``)."""
        start, stop = self.span(j, rows)
        length = stop - start
        return start, length, (int(length.max()) + 7) // 8 if len(length) else 0

    def cells(self, j: int, rows: IntArray) -> list[str]:
        start, stop = self.span(j, rows)
        raw = self._raw
        return [
            raw[s:e].decode("utf-8", "surrogatepass") for s, e in zip(start.tolist(), stop.tolist(), strict=True)
        ]

    def changes(self, j: int) -> BoolArray:
        start, length, count = self._lengths(j)
        n = len(length)
        out = np.ones(n, dtype=bool)
        for a in range(1, n, _ROWS):
            b = min(a + _ROWS, n)
            # rows a-1 … b-1: each compared with the one before
            size = length[a - 1 : b]
            differs = size[1:] != size[:-1]
            for word in self._gather(start[a - 1 : b], size, count):
                differs |= word[1:] != word[:-1]
            out[a:b] = differs
        return out

    def codes(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, list[str]]:
        start, length, count = self._lengths(j, rows)
        n = len(length)
        if not count:  # every cell empty
            return np.zeros(n, dtype=np.int64), [""] if n else []
        key = np.empty(n, dtype=np.uint64)
        for a in range(0, n, _ROWS):
            words = self._gather(start[a : a + _ROWS], length[a : a + _ROWS], count)
            folded = words[0]
            for word in words[1:]:
                folded = folded * np.uint64(1_000_003) + word  # several words: checked below
            key[a : a + _ROWS] = folded
        found = _bucket_codes(key)
        if found is not None:
            codes, reps = found
        else:  # many distinct texts: sort
            _, reps, codes = np.unique(key, return_index=True, return_inverse=True)
            codes = codes.reshape(-1)
        same = bool((length[reps][codes] == length).all())
        if same and count > 1:  # a folded key: every word must be its representative's
            rep_words = self._gather(start[reps], length[reps], count)
            for a in range(0, n, _ROWS):
                words = self._gather(start[a : a + _ROWS], length[a : a + _ROWS], count)
                code = codes[a : a + _ROWS]
                if not all(bool((rep[code] == word).all()) for rep, word in zip(rep_words, words, strict=True)):
                    same = False
                    break
        picked = np.arange(n) if rows is None else rows
        if not same:  # two texts share a key: code the texts themselves (never seen in practice)
            texts = self.cells(j, picked)
            index = {t: i for i, t in enumerate(dict.fromkeys(texts))}
            return np.fromiter(map(index.__getitem__, texts), np.int64, n), list(index)
        return codes.astype(np.int64, copy=False), self.cells(j, picked[reps])

    def numbers(self, j: int, column: str) -> tuple[FloatArray, list[Finding]]:
        start, length, count = self._lengths(j)
        n = len(length)
        out = np.full(n, np.nan)
        todo = length > 0  # an empty cell is NaN
        if count:
            for a in range(0, n, _ROWS):
                b = min(a + _ROWS, n)
                (word,) = self._gather(start[a:b], length[a:b], 1)
                value, plain = _eight_byte_numbers(word, length[a:b])
                np.copyto(out[a:b], value, where=plain)
                todo[a:b] &= ~plain
            longer = np.flatnonzero(todo & (length > 8) & (length <= 16))
            if len(longer):
                size = length[longer]
                value, plain = _sixteen_byte_numbers(self._gather(start[longer], size, 2), size)
                out[longer[plain]] = value[plain]
                todo[longer[plain]] = False
        findings: list[Finding] = []
        table = self.table
        slow = np.flatnonzero(todo)
        for row, text in zip(slow.tolist(), self.cells(j, slow), strict=True):
            try:
                number = parse_number(text, table.decimal_comma, "", column)
            except NotANumber as exc:
                findings.append(_located(exc, table, self.record(row)))
                continue
            if number is not None:
                out[row] = number
        return out, findings


class ListColumns:
    """A table body read with the csv module, as one list of texts per column."""

    def __init__(self, table: CsvTable, columns: list[list[str]], index: list[int] | int, findings: list[Finding]):
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
