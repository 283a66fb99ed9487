"""Reading CSV files the way people really write them, with every problem located.

Handled here, once, for every layout: a UTF-8 byte-order mark (Excel writes one), UTF-16 files
(Excel's "Unicode text"), ``,`` / ``;`` / tab / ``|`` delimiters sniffed from the header line,
quoted fields (also ones spanning lines), blank lines, and a decimal comma (``1,5``) when the
delimiter is not a comma. Numbers are parsed with their place: ``file.csv:17: column "nose_x":
"abc" is not a number``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from pathlib import Path

from ...errors import DataError, UsageError
from ...finding import Finding, error, warning
from ...memory import gc_paused

#: Candidate delimiters, in the order that wins a tie.
DELIMITERS = (",", ";", "\t", "|")

#: Cell texts that mean "no value" (pandas writes NaN as an empty cell, R writes NA).
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "-nan"})


class NotANumber(ValueError):
    """A cell that should hold a number does not."""


@dataclass
class CsvTable:
    """A CSV file's text, split into records of strings on demand, and where each record starts.

    ``rows[i]`` is the i-th record (a blank line is an empty list, so indices stay aligned with
    records); :meth:`line` gives the 1-based line it starts on. :meth:`head` reads only the first
    records (for layout detection) and :meth:`split_columns` cuts a plain file into columns
    without building a list per row (for big files).
    """

    path: Path
    display: str
    delimiter: str
    text: str = field(repr=False, default="")
    findings: list[Finding] = field(default_factory=list)
    _rows: list[list[str]] | None = field(default=None, repr=False)
    _lines: list[int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.quoted = '"' in self.text  # scanned once: line() is called per instance

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
        end = -1
        for _ in range(n + 1):
            end = self.text.find("\n", end + 1)
            if end < 0:
                break
        try:
            if end < 0:
                return list(islice(self._reader(), n))
            return list(islice(self._reader(self.text[: end + 1]), n + 1))[:n]
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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a folder, expected a CSV file") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot read: {exc.strerror}") from None
    text, findings = decode(data, shown)
    if "\x00" in text:
        raise DataError(f"{shown}: contains NUL bytes; this is not a text CSV file")
    delim = delimiter if delimiter else sniff_delimiter(text)
    if len(delim) != 1:
        raise UsageError(f"--delimiter: expected one character, found {delim!r}")
    return CsvTable(path=path, display=shown, delimiter=delim, text=text, findings=findings)
