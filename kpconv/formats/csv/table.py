"""Reading CSV files the way people really write them, with every problem located.

One reader for every layout: pyarrow's CSV parser splits the records (quoted fields, also ones
spanning lines, doubled quotes, CRLF) into columns of strings, each cell as written. Around it,
once: a UTF-8 byte-order mark (Excel writes one), UTF-16 files (Excel's "Unicode text"), anything
else read as Latin-1 with a warning; ``,`` / ``;`` / tab / ``|`` delimiters sniffed from the
header line; spaces that open a cell dropped (the csv module's ``skipinitialspace``); records of
another width than the first ones; a file cut inside its last line (``csv.cut_line``); the line
each record starts on; and a decimal comma (``1,5``) when the delimiter is not a comma. Numbers
are parsed with their place: ``file.csv:17: column "nose_x": "abc" is not a number``.

Limits, each a located :class:`~kpconv.errors.DataError` before the memory is spent; the
environment variable of the same name sets another (:class:`Limits`):

* ``KPCONV_MAX_CSV_BYTES``, default 1 GiB: the bytes read. A larger regular file is refused by
  its size, a pipe or device is read up to the limit and then refused (``/dev/zero`` stops).
* ``KPCONV_MAX_CSV_CELLS``, default 50,000,000: the cells, counted before parsing as the
  delimiters and line ends (a delimiter inside quotes counts too).
* ``KPCONV_MAX_CSV_CELL_BYTES``, default 65,536: the bytes of one cell.

pyarrow is called with no Python scalar and read through buffers, never ``to_numpy`` or
``pa.array``: those import pandas where it is installed (half a second or more). Its reader runs
serially: the streaming one starts I/O threads, which now and then abort the process at exit.
"""

from __future__ import annotations

import codecs
import functools
import math
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ...errors import DataError, UsageError
from ...finding import Finding, error, warning
from ...memory import gc_paused as gc_paused  # (re-exported for the CLI)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Candidate delimiters, in the order that wins a tie.
DELIMITERS = (",", ";", "\t", "|")
#: Cell texts that mean "no value" (pandas writes NaN as an empty cell, R writes NA).
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "-nan"})
#: A number that pyarrow's cast reads as ``float()`` does (others are parsed one by one).
PLAIN_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
#: The same with a decimal comma (``-0,25``), for files whose delimiter is not a comma.
COMMA_NUMBER = r"^[+-]?([0-9]+,?[0-9]*|,[0-9]+)([eE][+-]?[0-9]+)?$"
#: The table is as wide as the widest of its first records.
WIDTH_RECORDS = 64
#: Bytes pyarrow parses at a time; a record longer than that is read again in one block.
BLOCK_BYTES = 1 << 22


@dataclass(frozen=True)
class Limits:
    """How much a CSV file may hold (see the module docstring)."""

    bytes: int = 1 << 30
    cells: int = 50_000_000
    cell_bytes: int = 65_536

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, each replaced by its ``KPCONV_MAX_CSV_*`` environment variable if set."""
        return cls(
            bytes=_env_limit("KPCONV_MAX_CSV_BYTES", cls.bytes),
            cells=_env_limit("KPCONV_MAX_CSV_CELLS", cls.cells),
            cell_bytes=_env_limit("KPCONV_MAX_CSV_CELL_BYTES", cls.cell_bytes),
        )


def _env_limit(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    text = raw.strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise UsageError(f"{name}: expected a whole number of at least 1, found {raw!r}")
    return int(text)


class NotANumber(ValueError):
    """A cell that should hold a number does not."""


class CsvTable:
    """A CSV file's records as columns of strings (null for an empty cell), and their lines.

    Records are the file's non-blank lines (a quoted cell may make one span several). The table
    is as wide as the widest of its first :data:`WIDTH_RECORDS` records; ``counts`` holds each
    record's own number of cells when some differ (None when none does).
    """

    def __init__(
        self,
        path: Path,
        display: str,
        delimiter: str,
        records: pa.Table,
        counts: IntArray | None,
        lines: LineMap,
        findings: list[Finding],
    ) -> None:
        self.path = path
        self.display = display
        self.delimiter = delimiter
        #: a ``,`` inside a number is a decimal separator (when it is not the delimiter)
        self.decimal_comma = delimiter != ","
        self.records = records
        self.counts = counts
        self.findings = findings
        self._lines = lines
        self._rows: list[list[str]] | None = None

    def __repr__(self) -> str:
        return f"CsvTable(path={self.path!r}, records={len(self)}, delimiter={self.delimiter!r})"

    def __len__(self) -> int:
        return int(self.records.num_rows)

    @property
    def width(self) -> int:
        return int(self.records.num_columns)

    def head(self, n: int) -> list[list[str]]:
        """The first ``n`` records, each as its cells."""
        return self.picked(np.arange(min(n, len(self)), dtype=np.int64))

    @property
    def rows(self) -> list[list[str]]:
        """Every record as its cells (made on first use, for the layouts read row by row)."""
        if self._rows is None:
            with gc_paused():
                self._rows = self.picked(np.arange(len(self), dtype=np.int64))
        return self._rows

    def picked(self, indices: IntArray) -> list[list[str]]:
        """The records at ``indices``, each as its cells."""
        part = self.records.take(_rows(indices))
        columns = [texts(column) for column in part.columns]
        rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
        if self.counts is None:
            return rows
        return [row[:n] for row, n in zip(rows, self.counts[indices].tolist(), strict=True)]

    def line(self, index: int) -> int:
        """The 1-based line number where record ``index`` starts."""
        found = self._lines.of_records(self.records)
        if 0 <= index < len(found):
            return int(found[index])
        return int(self.lines(np.array([index], dtype=np.int64))[0])

    def lines(self, indices: IntArray) -> IntArray:
        """:meth:`line` of many records at once."""
        return self._lines.of(indices, self.records)

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

    def body(self, first: int, width: int) -> Body:
        """Records ``first…`` fitted to ``width`` cells (the header's): blank records dropped,
        short ones padded, non-empty cells beyond ``width`` reported (``csv.extra_cells``)."""
        first = min(first, len(self))
        index = np.arange(first, len(self), dtype=np.int64)
        columns = [self.records.column(j).slice(first) for j in range(min(width, self.width))]
        if self.counts is None or not (self.counts[first:] != width).any():
            return Body(self, columns, index, [])
        findings: list[Finding] = []
        odd = first + np.flatnonzero(self.counts[first:] != width)
        blank = []
        for i, row in zip(odd.tolist(), self.picked(odd), strict=True):
            if not any(c.strip() for c in row):
                blank.append(i)
            elif len(row) > width and any(c.strip() for c in row[width:]):
                findings.append(
                    warning(
                        "csv.extra_cells",
                        f"{len(row)} cells but the header has {width}; the cells beyond it are ignored",
                        source=self.where(i),
                    )
                )
        if blank:
            kept = np.flatnonzero(~np.isin(index, blank))
            index = index[kept]
            columns = [column.take(_rows(kept)) for column in columns]
        return Body(self, columns, index, findings)


def texts(column: pa.ChunkedArray | pa.Array) -> list[str]:
    """A column's cells as Python strings (an empty cell is ``""``)."""
    return list(_filled(column).to_pylist())


class Body:
    """A table's body, column by column: row ``i`` is record :meth:`record` ``(i)``.

    Every question is answered by pyarrow's compute functions on whole columns; only a cell that
    is not a plain number goes through :func:`parse_number` (so its message is the same).
    """

    def __init__(
        self,
        table: CsvTable,
        columns: list[pa.ChunkedArray],
        index: IntArray,
        findings: list[Finding],
    ) -> None:
        self.table = table
        self.findings = findings
        self._columns = columns
        self._index = index
        self._combined: dict[int, pa.Array] = {}

    def __len__(self) -> int:
        return len(self._index)

    def _cells(self, j: int) -> pa.ChunkedArray:
        if j < len(self._columns):
            return self._columns[j]
        return pa.chunked_array([pa.nulls(len(self), pa.string())])  # beyond every record

    def column(self, j: int) -> pa.Array:
        """Column ``j`` as one array, ``""`` where a cell is empty."""
        found = self._combined.get(j)
        if found is None:
            found = self._combined[j] = _filled(self._cells(j).combine_chunks())
        return found

    def record(self, row: int) -> int:
        return int(self._index[row])

    def records(self, rows: IntArray) -> IntArray:
        return self._index[rows]

    def cells(self, j: int, rows: IntArray) -> list[str]:
        """The texts of column ``j`` in the given rows."""
        return list(self.column(j).take(_rows(rows)).to_pylist())

    def codes(self, j: int, rows: IntArray | None = None) -> tuple[IntArray, list[str]]:
        """Column ``j`` (or its cells in ``rows``) as integers: indices into the distinct texts,
        numbered in the order they first appear."""
        column = self.column(j) if rows is None else self.column(j).take(_rows(rows))
        coded = pc.dictionary_encode(column)
        return _numpy(coded.indices).astype(np.int64), list(coded.dictionary.to_pylist())

    def changes(self, columns: Iterable[int]) -> BoolArray:
        """True where a row's cells in ``columns`` differ from the row before, and for row 0:
        where each run of rows with the same cells starts."""
        n = len(self)
        changed = np.zeros(n, dtype=bool)
        changed[:1] = True
        for j in dict.fromkeys(columns):
            column = self.column(j)
            changed[1:] |= _numpy(pc.not_equal(column.slice(1), column.slice(0, max(n - 1, 0))))
        return changed

    def numbers(
        self, columns: Sequence[int], header: Sequence[str]
    ) -> tuple[FloatArray, list[Finding]]:
        """Columns as floats, one row of the result per column (NaN for an empty or NaN cell),
        and a located ``csv.not_a_number`` finding per cell that is not a number, column after
        column (``header[j]`` names column ``j``). All the cells are cast at once."""
        n = len(self)
        out = np.full((len(columns), n), np.nan)
        cells = pa.chunked_array([c for j in columns for c in self._cells(j).chunks], pa.string())
        if not n or cells.null_count == len(cells):
            return out, []
        try:
            values = pc.cast(cells, pa.float64())
        except pa.ArrowInvalid:  # some cell is not a number as pyarrow reads them
            values = None
        if values is not None and not pc.any(pc.is_inf(values)).as_py():
            out[:] = _numpy(values).reshape(out.shape)  # (the usual case)
            return out, []
        flat = out.reshape(-1)
        findings = []
        for p, text in self._others(_filled(cells.combine_chunks()), flat):
            try:
                number = parse_number(text, self.table.decimal_comma, "", header[columns[p // n]])
            except NotANumber as exc:
                findings.append(_located(exc, self.table, self.record(p % n)))
                continue
            if number is not None:
                flat[p] = number
        return out, findings

    def _others(self, cells: pa.Array, out: FloatArray) -> list[tuple[int, str]]:
        """The plain numbers of ``cells`` (decimal commas too) into ``out``; the other cells
        that are not empty (``1_000``, ``inf``, ``abc``…) as (position, text)."""
        plain = _matching(cells, PLAIN_NUMBER)
        if plain.any():
            out[plain] = _numpy(pc.cast(cells.take(_rows(np.flatnonzero(plain))), pa.float64()))
        if self.table.decimal_comma:
            comma = _matching(cells, COMMA_NUMBER) & ~plain
            if comma.any():
                fixed = pc.replace_substring(cells.take(_rows(np.flatnonzero(comma))), ",", ".")
                out[comma] = _numpy(pc.cast(fixed, pa.float64()))
                plain |= comma
        lengths = _numpy(pc.binary_length(cells))
        todo = np.flatnonzero((~plain | np.isinf(out)) & (lengths > 0))  # (infinities: errors)
        out[todo] = np.nan
        return list(zip(todo.tolist(), cells.take(_rows(todo)).to_pylist(), strict=True))


def _numpy(array: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    """Numbers or booleans as numpy (a null is NaN, or 0 / False), read from the buffers."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    n, offset = len(array), array.offset
    validity, data = array.buffers()[:2]
    if pa.types.is_boolean(array.type):
        out = _bits(data, offset, n)
    else:
        dtype = np.dtype(array.type.to_pandas_dtype())
        out = (
            np.frombuffer(data, dtype=dtype, count=offset + n)[offset:] if n else np.zeros(0, dtype)
        )
    if array.null_count:
        blank = np.array(np.nan if out.dtype.kind == "f" else 0, dtype=out.dtype)
        out = np.where(_bits(validity, offset, n), out, blank)
    return out


def _bits(buffer: pa.Buffer, offset: int, n: int) -> BoolArray:
    """``n`` bits of an Arrow bitmap from bit ``offset`` (least significant bit first)."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset : offset + n].astype(bool)


def _filled(column: Any) -> Any:
    """The column with ``""`` for an empty (null) cell."""
    return column.fill_null(_empty_string()) if column.null_count else column


@functools.cache
def _empty_string() -> Any:
    """``""`` as a pyarrow scalar, made from buffers."""
    offsets = pa.py_buffer(np.zeros(2, dtype=np.int32))
    return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(b"")])[0]


def _rows(indices: npt.NDArray[np.int64]) -> pa.Array:
    """Row numbers as a pyarrow array, on the numpy buffer."""
    data = np.ascontiguousarray(indices, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def _matching(cells: pa.Array, pattern: str) -> BoolArray:
    return _numpy(pc.match_substring_regex(cells, pattern))


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


def _located(exc: NotANumber, table: CsvTable, index: int) -> Finding:
    # parse_number was given an empty place: the message starts with ": column ..."
    message = str(exc).partition(": ")[2]
    return not_a_number(message, table.where(index))


def not_a_number(message: str, where: str) -> Finding:
    """The ``csv.not_a_number`` finding: ``where`` is ``file.csv:17``, the message names the column."""
    return error("csv.not_a_number", message, source=where)


def read_table(path: Path, delimiter: str | None = None, display: str | None = None) -> CsvTable:
    """Read and split a CSV file (see the module docstring for what is handled)."""
    path = Path(path)
    shown = display if display is not None else str(path)
    limits = Limits.from_env()
    data, findings = decode(read_input(path, shown, limits.bytes), shown)
    delim = delimiter if delimiter else sniff_delimiter(_first_line(data))
    if len(delim) != 1 or not delim.isascii() or delim in '"\r\n':
        raise UsageError(
            f"--delimiter: expected one character (ASCII, not a quote or line break), found {delim!r}"
        )
    data = without_initial_spaces(data, delim.encode())
    lines = LineMap(data)
    _check_cells(data, delim, shown, limits.cells, lines)
    records, counts = _parse(data, delim, shown)
    table = CsvTable(path, shown, delim, records, counts, lines, findings)
    _check_cell_bytes(table, limits.cell_bytes)
    return without_cut_line(table, data)


def release_memory() -> None:
    """Hand back to the system what pyarrow's allocator keeps of freed tables (it would stay in
    the process while the builder runs: 140 MB after a 1M-row file)."""
    pa.default_memory_pool().release_unused()


def read_input(path: Path, shown: str, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit``: a larger regular file is refused by its size,
    a pipe or device read up to the limit and then refused (it may never end)."""
    try:
        with open(path, "rb") as fh:
            found = os.fstat(fh.fileno())
            if not stat.S_ISREG(found.st_mode):
                return _read_stream(fh, shown, limit)
            if found.st_size > limit:
                raise DataError(
                    f"{shown}: {found.st_size:,} bytes, more than the limit of {limit:,} for a CSV "
                    "file (set KPCONV_MAX_CSV_BYTES to allow more)"
                )
            return fh.read()
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a folder, expected a CSV file") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot read: {exc.strerror or exc}") from None


def _read_stream(fh: IO[bytes], shown: str, limit: int) -> bytes:
    """A pipe or device, a chunk at a time up to ``limit`` bytes; a NUL byte stops it early."""
    chunks: list[bytes] = []
    size = 0
    while chunk := fh.read(min(1 << 20, limit + 1 - size)):
        wide = (chunks[0] if chunks else chunk).startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16
        if b"\0" in chunk and not wide:
            raise DataError(f"{shown}: contains NUL bytes; this is not a text CSV file")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise DataError(
                f"{shown}: not a regular file, and it goes on past {limit:,} bytes, the limit for a "
                "CSV file: read no further (save it to a file, or set KPCONV_MAX_CSV_BYTES)"
            )
    return b"".join(chunks)


def decode(data: bytes, display: str) -> tuple[bytes, list[Finding]]:
    """Bytes → UTF-8 without a BOM: UTF-8 (BOM or not), UTF-16 with a BOM; anything else read as
    Latin-1 (warned). NUL bytes are refused."""
    findings: list[Finding] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            out = data.decode("utf-16").encode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise DataError(f"{display}: not valid UTF-16 text at byte {exc.start}") from None
    elif data.isascii():
        out = data
    else:
        out = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
        try:
            out.decode("utf-8")
        except UnicodeDecodeError as exc:
            start = exc.start + len(data) - len(out)
            line = data.count(b"\n", 0, start) + 1
            findings.append(
                warning(
                    "csv.not_utf8",
                    f"byte 0x{data[start]:02x} is not UTF-8; the file was read as Latin-1 "
                    "(non-ASCII names may come out wrong: save the CSV as UTF-8)",
                    source=f"{display}:{line}",
                )
            )
            out = data.decode("latin-1").encode("utf-8")
    if b"\0" in out:
        raise DataError(f"{display}: contains NUL bytes; this is not a text CSV file")
    return out, findings


def sniff_delimiter(text: str) -> str:
    """The delimiter used on the first non-blank line: the most frequent candidate outside quotes."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def _first_line(data: bytes) -> str:
    """The text up to the end of the first non-blank line (all :func:`sniff_delimiter` reads)."""
    start = 0
    while (end := data.find(b"\n", start)) >= 0:
        if data[start:end].strip():
            return data[: end + 1].decode("utf-8")
        start = end + 1
    return data.decode("utf-8")


def without_initial_spaces(data: bytes, delimiter: bytes) -> bytes:
    """``data`` without the spaces that open a cell (after a delimiter or at the start of a
    line, outside quotes): the csv module's ``skipinitialspace``, so ``a, "b,c"`` is two cells."""
    if b" " not in data:
        return data
    buf = np.frombuffer(data, dtype=np.uint8)
    spaces = np.flatnonzero(buf == 32)
    before = buf[spaces - 1]
    opening = (spaces == 0) | (before == delimiter[0]) | (before == 10) | (before == 13)
    if not opening.any():
        return data  # (spaces inside cells only: the usual case)
    # every space of a run that opens a cell
    run = np.cumsum(np.concatenate(([True], spaces[1:] != spaces[:-1] + 1)))
    opens = np.zeros(int(run[-1]) + 1, dtype=bool)
    opens[run[opening]] = True
    drop = spaces[opens[run]]
    if b'"' in data:  # outside quotes: after an even number of them
        drop = drop[(np.cumsum(buf == 34)[drop] & 1) == 0]
    keep = np.ones(len(buf), dtype=bool)
    keep[drop] = False
    return buf[keep].tobytes()


def _check_cells(data: bytes, delimiter: str, shown: str, limit: int, lines: LineMap) -> None:
    """Refuse a table of more than ``limit`` cells (delimiters and line ends, counted before it
    is parsed), naming the line where it passes the limit."""
    d, end = delimiter.encode(), b"\n" if b"\n" in data else b"\r"  # (old Mac files: CR alone)
    if len(data) < limit:  # (a separator is a byte)
        return
    if data.count(d) + (lines.breaks() if end == b"\n" else data.count(end)) + 1 <= limit:
        return
    seen = 0
    for at in range(0, len(data), 1 << 24):  # a chunk at a time: the separators' positions
        buf = np.frombuffer(data, dtype=np.uint8, count=min(1 << 24, len(data) - at), offset=at)
        stops = np.flatnonzero((buf == d[0]) | (buf == end[0]))
        if seen + len(stops) > limit:
            line = data.count(end, 0, at + int(stops[limit - seen])) + 1
            raise DataError(
                f"{shown}:{line}: the table goes on past {limit:,} cells, the limit for a CSV "
                "file (set KPCONV_MAX_CSV_CELLS to allow more)"
            )
        seen += len(stops)


def _options(
    names: list[str], delimiter: str, block: int, handler: Any = None
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """Every column a string as written (an empty cell is null), one thread, blank lines skipped."""
    return (
        pacsv.ReadOptions(use_threads=False, column_names=names, block_size=block),
        pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
        ),
        pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            check_utf8=False,  # (decode has made it so)
        ),
    )


@dataclass
class _OddRow:
    """A record of another width than the table's, as pyarrow's handler gets it."""

    index: int
    cells: int
    text: str


def _parse(data: bytes, delimiter: str, shown: str) -> tuple[pa.Table, IntArray | None]:
    """(the records as a table of string columns, each record's cell count when some differ)."""
    if not data or data.isspace():
        return pa.table({}), None
    names = [f"f{j}" for j in range(_width(data, delimiter))]
    odd: list[_OddRow] = []

    def on_odd_row(row: Any) -> str:
        odd.append(_OddRow(int(row.number) - 1, int(row.actual_columns), str(row.text)))
        return "skip"

    block = BLOCK_BYTES
    while True:
        odd.clear()
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data), *_options(names, delimiter, block, on_odd_row)
            )
            break
        except pa.ArrowInvalid as exc:
            if "straddling" in str(exc) and block <= len(data):  # a record longer than a block
                block = min(len(data) + 1, (1 << 31) - 1)
                continue
            raise DataError(f"{shown}: not a readable CSV file: {exc}") from None
    if not odd:
        return table, None
    return _with_odd_rows(table, odd, delimiter, shown, data[-1:] not in (b"\n", b"\r"))


def _width(data: bytes, delimiter: str) -> int:
    """Cells of the widest of the first :data:`WIDTH_RECORDS` records: a slice of the file that
    holds them, read into more columns than any of them has, so that pyarrow hands each record
    to the handler with its count."""
    end = -1
    for _ in range(WIDTH_RECORDS + 1):
        end = data.find(b"\n", end + 1)
        if end < 0:
            break
    head = data if end < 0 else data[: end + 1]
    names = [f"f{j}" for j in range(head.count(delimiter.encode()) + 2)]
    widths = [1]

    def count(row: Any) -> str:
        widths.append(int(row.actual_columns))
        return "skip"

    read, parse, _ = _options(names, delimiter, len(head) + 1, count)
    try:
        pacsv.read_csv(
            pa.py_buffer(head), read, parse, pacsv.ConvertOptions(include_columns=names[:1])
        )
    except pa.ArrowInvalid:  # the slice ends inside a quoted cell: those records are odd rows
        pass
    return max(widths)


def _with_odd_rows(
    table: pa.Table, odd: list[_OddRow], delimiter: str, shown: str, open_end: bool
) -> tuple[pa.Table, IntArray]:
    """The table with the records of another width put back in their places: read again padded
    with delimiters to the widest (so the cells they lack are null)."""
    width = max(table.num_columns, *(row.cells for row in odd))
    names = [f"f{j}" for j in range(width)]
    last = table.num_rows + len(odd) - 1
    # (a file cut inside a quoted cell ends with a quote open: closed, before the padding)
    padded = "".join(
        row.text
        + '"' * (open_end and row.index == last and row.text.count('"') % 2)
        + delimiter * (width - row.cells)
        + "\n"
        for row in odd
    ).encode()
    try:
        extra = pacsv.read_csv(pa.py_buffer(padded), *_options(names, delimiter, len(padded) + 1))
    except pa.ArrowInvalid as exc:
        raise DataError(f"{shown}: not a readable CSV file: {exc}") from None
    if extra.num_rows != len(odd):
        raise DataError(f"{shown}: not a readable CSV file: records of uneven width")
    usual = table.num_columns
    for name in names[usual:]:  # cells that no record of the usual width has
        table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    at = np.array([row.index for row in odd], dtype=np.int64)
    counts = np.full(table.num_rows + len(odd), usual, dtype=np.int64)
    counts[at] = [row.cells for row in odd]
    regular = np.ones(len(counts), dtype=bool)
    regular[at] = False
    place = np.concatenate([np.flatnonzero(regular), at])  # of each row of the two, in turn
    both = pa.concat_tables([table, extra])
    return both.take(_rows(np.argsort(place, kind="stable"))).combine_chunks(), counts


def _check_cell_bytes(table: CsvTable, limit: int) -> None:
    """Refuse a cell longer than ``limit`` bytes, naming its place."""
    chunks = [chunk for column in table.records.columns for chunk in column.chunks]
    if not chunks or (pc.max(pc.binary_length(pa.chunked_array(chunks))).as_py() or 0) <= limit:
        return  # (every cell measured at once: the usual answer)
    for j, column in enumerate(table.records.columns):
        lengths = _numpy(pc.binary_length(_filled(column.combine_chunks())))
        if not len(lengths) or lengths.max() <= limit:
            continue
        index = int(np.argmax(lengths > limit))
        (name,) = texts(column.slice(0, 1))
        place = (
            table.where(index, name)
            if index and 0 < len(name) <= 40
            else f"{table.where(index)}: column {j + 1}"
        )
        raise DataError(
            f"{place}: a cell of {int(lengths[index]):,} bytes, more than the limit of {limit:,} "
            "(set KPCONV_MAX_CSV_CELL_BYTES to allow more)"
        )


def without_cut_line(table: CsvTable, data: bytes) -> CsvTable:
    """The table without its last record when the file was cut inside it, with an error saying so.

    A file that does not end with a line break, and whose last line holds fewer cells than the
    header, ends inside a quoted cell or right after a delimiter, was cut short (a copy
    interrupted, a disk full): read as it is, its missing cells would be points silently turned
    v=0. That line is a located ``csv.cut_line`` error and is not converted; every layout reads
    its table through here. (A short line that ends with a line break is what DeepLabCut writes
    for a row whose last cells are empty: padded, see :meth:`CsvTable.body`.) A full last line
    without a line break is refused the same way: a number cut short in its last cell cannot be
    told from a whole one, and every tool that writes CSV ends the file with a line break.
    """
    last = len(table) - 1
    if last < 0 or data[-1:] in (b"\n", b"\r"):
        return table
    (cells,) = table.picked(np.array([last], dtype=np.int64))
    if not any(c.strip() for c in cells):
        return table
    width = int(table.counts[:8].max()) if table.counts is not None else table.width
    if len(cells) < width:
        what = f"{len(cells)} of the header's {width} cells"
    elif data.count(b'"', table._lines.start(table.line(last))) % 2:
        what = "inside a quoted cell"
    elif not cells[-1].strip():
        what = "it stops right after a delimiter"
    else:
        # A full line without the line break every CSV writer ends with: its last number may be
        # cut short (``26.0,4`` for ``26.0,40.0``) and the rows after it lost, which nothing in
        # the line can tell. Refused like a cut line; a whole line only needs the line break.
        what = ("no line break after it: its last number may be cut short and rows after it lost; "
                "if the line is whole, end the file with a line break")  # fmt: skip
    cut = error(
        "csv.cut_line",
        f"the file ends inside this line ({what}): it looks cut short; the line is not converted",
        source=table.where(last),
    )
    counts = table.counts[:last] if table.counts is not None else None
    return CsvTable(
        table.path, table.display, table.delimiter, table.records.slice(0, last), counts,
        table._lines, [*table.findings, cut],
    )  # fmt: skip


class LineMap:
    """Where each record starts: its 1-based line in the file.

    Records are the non-blank lines, unless a quoted cell holds a line break: then a record
    spans as many more lines as its cells hold breaks, counted record by record.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._starts: IntArray | None = None  # the offset where each line starts
        self._filled: IntArray | None = None  # the lines (0-based) that are not blank
        self._records: IntArray | None = None  # the line (1-based) of each record
        self._breaks: int | None = None

    def _scan(self) -> tuple[IntArray, IntArray]:
        if self._starts is None or self._filled is None:
            buf = np.frombuffer(self._data, dtype=np.uint8)
            ends = buf == 10
            if b"\r" in self._data:  # a CR ends a line unless an LF follows (then that does)
                ends |= (buf == 13) & ~np.concatenate((ends[1:], [False]))
            stops = np.flatnonzero(ends)
            starts = np.concatenate(([0], stops + 1))
            size = np.concatenate((stops, [len(buf)])) - starts
            at = np.minimum(starts, max(len(buf) - 1, 0))
            crlf = (size == 1) & (buf[at] == 13) if len(buf) else size > 0
            self._starts = starts.astype(np.int64)
            self._filled = np.flatnonzero((size > 0) & ~crlf).astype(np.int64)
        return self._starts, self._filled

    def breaks(self) -> int:
        """The LFs in the file."""
        if self._breaks is None:
            self._breaks = self._data.count(b"\n")
        return self._breaks

    def start(self, line: int) -> int:
        """The byte offset where 1-based ``line`` starts."""
        starts, _ = self._scan()
        return int(starts[min(line - 1, len(starts) - 1)])

    def of(self, indices: IntArray, records: pa.Table) -> IntArray:
        """The lines of the records at ``indices`` of ``records`` (past the last record: the
        lines after it)."""
        found = self.of_records(records)
        if len(indices) and int(indices.max()) >= len(found):  # past the last record
            last = int(found[-1]) if len(found) else 0
            after = [
                found[i] if i < len(found) else last + 1 + i - len(found) for i in indices.tolist()
            ]
            return np.array(after, dtype=np.int64)
        return found[indices]

    def of_records(self, records: pa.Table) -> IntArray:
        """The line of every record (worked out on first use)."""
        data, n = self._data, records.num_rows
        if (
            self._records is None
            and b"\r" not in data
            and self.breaks() + 1 - data.endswith(b"\n") == n
        ):
            # as many lines as records: a line each (a record spans lines only where a quoted
            # cell holds a break; then, with no blank line, there would be more lines)
            if b'"' not in data or not (data.startswith(b"\n") or b"\n\n" in data):
                self._records = np.arange(1, n + 1, dtype=np.int64)
        if self._records is None:
            starts, filled = self._scan()
            if len(filled) == n or b'"' not in data:
                self._records = filled[:n] + 1  # a line each
            else:
                self._records = _spanned_lines(len(starts), filled, _breaks_in_cells(records))
        return self._records


def _breaks_in_cells(records: pa.Table) -> IntArray:
    """The line breaks inside each record's cells."""
    out = np.zeros(records.num_rows, dtype=np.int64)
    for column in records.columns:
        filled = _filled(column.combine_chunks())
        lf, cr, crlf = (_numpy(pc.count_substring(filled, end)) for end in ("\n", "\r", "\r\n"))
        out += lf + cr - crlf
    return out


def _spanned_lines(n_lines: int, filled: IntArray, breaks: IntArray) -> IntArray:
    """Each record's line when record ``r`` spans ``1 + breaks[r]`` lines, blank lines between
    records skipped."""
    blank = np.ones(n_lines, dtype=bool)
    blank[filled] = False
    is_blank = blank.tolist()
    out = []
    line = 0  # 0-based
    for extra in breaks.tolist():
        while line < n_lines - 1 and is_blank[line]:
            line += 1
        out.append(line + 1)
        line += extra + 1
    return np.array(out, dtype=np.int64)
