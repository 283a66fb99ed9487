"""Reading and writing files safely: atomic writes, deterministic JSON, located decode errors.

Every file kpconv writes goes through :func:`atomic_write_bytes`: ``-`` is stdout, a device, pipe
or socket (or a link to one) is written in place or refused, never replaced, and a regular file
is replaced atomically. Every JSON file kpconv reads is decoded by :func:`loads_json`: a UTF-8
byte-order mark is accepted, UTF-16/32 text, bytes that are not UTF-8 and NaN get messages that
say what the file is.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from .errors import DataError, OutputError, UsageError
from .finding import error

JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
COMPACT_JSON_OPTIONS = JSON_OPTIONS & ~orjson.OPT_INDENT_2


#: the output path that means standard output
STDOUT = "-"


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to the file ``path`` names; ``-`` is standard output.

    A regular file (or a new one) is written via a temp file in the same folder and
    ``os.replace``: a crash or a full disk leaves either the old file or no file, never half a
    file. A link to a regular file is followed (the link stays). A device, pipe or socket, or a
    link to one, is never replaced by a rename: a device or pipe is written in place, a socket
    refused. ``durable=False`` skips the fsync (still atomic, not flushed to disk before
    returning): for many regenerable outputs such as rendered previews, where an fsync per file
    costs as much as producing it. Failures are :class:`OutputError` naming ``path``.
    """
    if os.fspath(path) == STDOUT:
        _write_stdout(data)
        return
    path = Path(path)
    try:
        found = path.stat()  # follows links: what a link points to decides
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise UsageError(f"{path}: is a folder; give the name of a file to write")
    if found is not None and not stat.S_ISREG(found.st_mode):
        _write_in_place(path, data, found.st_mode)
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        _replace_atomically(path, data, durable)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _replace_atomically(path: Path, data: bytes, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 minus umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_in_place(path: Path, data: bytes, mode: int) -> None:
    """Write to a device or pipe as it is (opened, not created, truncated or replaced)."""
    if stat.S_ISSOCK(mode):
        raise OutputError(f"{path}: is a socket; kpconv writes to files, devices, pipes or - (stdout)")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _write_stdout(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    except OSError as exc:
        raise OutputError(f"standard output: cannot write: {exc.strerror or exc}") from None


def _read_umask() -> int:
    # os.umask can only be read by setting it: done once, at import, before any worker thread
    # exists. Toggling it per write raced between threads (one could "restore" another's 0 and
    # leave the process with umask 0, i.e. world-writable outputs).
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()

#: the mode ``open()`` gives a new file (0666 minus the umask); for files made with mkstemp (0600)
NEW_FILE_MODE = 0o666 & ~_UMASK


def _umask() -> int:
    return _UMASK


#: the deepest nesting orjson writes (it reads 1,024 levels): a fixed limit of the writer
MAX_WRITE_DEPTH = 254


def dumps_json(obj: Any, *, compact: bool = False) -> bytes:
    """Deterministic JSON bytes: sorted keys, 2-space indent (none when ``compact``), trailing newline.

    An object nested deeper than :data:`MAX_WRITE_DEPTH` levels is a :class:`DataError`.
    """
    # the newline is appended in place, not by a copy
    try:
        return orjson.dumps(obj, option=COMPACT_JSON_OPTIONS if compact else JSON_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if "Recursion limit" not in str(exc):
            raise
        what = (f"the document nests deeper than {MAX_WRITE_DEPTH} levels, the most the JSON writer "
                "(orjson) writes: flatten the deep value")
        raise DataError(what, code="document.too_deep") from None


def write_json(path: Path, obj: Any, *, compact: bool = False) -> None:
    """Write ``obj`` as deterministic JSON (unindented when ``compact``), atomically; a
    :class:`DataError` naming ``path`` when it cannot be written as JSON (nothing is written)."""
    try:
        data = dumps_json(obj, compact=compact)
    except DataError as exc:
        shown = "standard output" if os.fspath(path) == STDOUT else str(path)
        what = f"nothing written: {exc.message}"
        raise DataError(f"{shown}: {what}", [error(exc.code, what, source=shown)]) from None
    atomic_write_bytes(Path(path), data)


#: what a byte-order mark or the NUL pattern of the first bytes says a file is (RFC 8259 8.1)
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"),
)  # fmt: skip
_WIDE_BY_NULS = {
    (True, True, True, False): "UTF-32", (False, True, True, True): "UTF-32",
    (True, False, True, False): "UTF-16", (False, True, False, True): "UTF-16",
}  # fmt: skip
_UTF8_BOM = b"\xef\xbb\xbf"
#: what people write for a non-finite number, which JSON cannot hold
_NON_FINITE = re.compile(r"[-+]?(?:nan|inf(?:inity)?)", re.IGNORECASE)


def _wide_encoding(head: bytes) -> str | None:
    """``UTF-16`` or ``UTF-32`` when the first bytes say so, else None."""
    for bom, name in _WIDE_ENCODINGS:
        if head.startswith(bom):
            return name
    if len(head) < 4 or not head[:4].isascii():
        return None
    # without a mark, the NULs around the first two (ASCII) characters give it away
    a, b, c, d = (byte == 0 for byte in head[:4])
    return _WIDE_BY_NULS.get((a, b, c, d))


def utf8_bytes(data: bytes, *, source: str, code: str = "document.not_json") -> bytes:
    """A text file's bytes without a UTF-8 byte-order mark; UTF-16/32 text is a :class:`DataError`.

    The one check every JSON (and spec) reader makes, so that a BOM is accepted everywhere and a
    file saved as "Unicode" is told as such everywhere.
    """
    wide = _wide_encoding(data[:4])
    if wide is not None:
        what = f"{wide} text: save as UTF-8"
        raise DataError(f"{source}: {what}", [error(code, what, source=source)])
    return data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data


def decode_utf8(data: bytes, *, source: str, code: str = "document.not_json") -> str:
    """A text file's bytes as text (see :func:`utf8_bytes`); a byte that is not UTF-8 is a
    located :class:`DataError` that says the file is binary or in another encoding."""
    data = utf8_bytes(data, source=source, code=code)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        where = f"{source}:{line}:{column}"
        what = f"byte 0x{data[exc.start]:02x} is not UTF-8 text: a binary file, or text to save as UTF-8"
        raise DataError(f"{where}: {what}", [error(code, what, source=where)]) from None


def loads_json(data: bytes | str, *, source: str = "<input>", code: str = "document.not_json") -> Any:
    """Parse JSON; a decode error becomes a located :class:`DataError` (line and column).

    A UTF-8 byte-order mark is skipped; UTF-16/32 text, bytes that are not UTF-8 and NaN or
    Infinity (not JSON) get messages that say so. ``code`` is the finding's code.
    """
    if isinstance(data, str):
        data = data.removeprefix("\ufeff")
    else:
        data = utf8_bytes(data, source=source, code=code)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" in exc.msg and isinstance(data, bytes):
            decode_utf8(data, source=source, code=code)  # raises, located
        where = f"{source}:{exc.lineno}:{exc.colno}"
        what = f"not valid JSON: {exc.msg}"
        doc, pos = exc.doc, exc.pos
        start = pos - 1 if 0 < pos <= len(doc) and doc[pos - 1] in "-+" else pos
        found = _NON_FINITE.match(doc, start) if 0 <= start < len(doc) else None
        if found is not None:
            what = f"{found.group(0)} is not JSON (JSON has no NaN or Infinity): write null or a number"
        raise DataError(f"{where}: {what}", [error(code, what, "", source=where)]) from None


#: the environment variable that sets :func:`max_stream_bytes`
MAX_STREAM_ENV = "KPCONV_MAX_STREAM_BYTES"
#: the most bytes read from an input that is not a regular file (a pipe, a device, standard
#: input): such a file has no size to check first, and may never end (``/dev/zero``)
DEFAULT_MAX_STREAM_BYTES = 1 << 30
#: bytes read at a time from a pipe or device
STREAM_CHUNK = 1 << 20


def max_stream_bytes() -> int:
    """``$KPCONV_MAX_STREAM_BYTES`` when set, else :data:`DEFAULT_MAX_STREAM_BYTES` (1 GiB)."""
    raw = os.environ.get(MAX_STREAM_ENV, "")
    text = raw.strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_STREAM_BYTES
    if not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise UsageError(f"{MAX_STREAM_ENV}: expected a whole number of bytes, at least 1, found {raw!r}")
    return int(text)


def stream_too_long(shown: str, limit: int, code: str = "input.too_long") -> DataError:
    """The located error for a pipe or device that goes on past ``limit`` bytes."""
    what = (
        f"not a regular file, and it goes on past {limit:,} bytes: read no further "
        f"(save it to a file, or set {MAX_STREAM_ENV} to allow more)"
    )
    return DataError(f"{shown}: {what}", [error(code, what, source=shown)])


def read_stream(fh: Any, shown: str, limit: int | None = None, head: bytes = b"") -> bytes:
    """The rest of a pipe or device opened as ``fh`` (after ``head``, already read), at most
    ``limit`` bytes in all (default :func:`max_stream_bytes`); more is a :class:`DataError`.

    Read a chunk at a time into one growing buffer: memory stays about the bytes read, never
    past the limit, however long the stream would go on.
    """
    limit = max_stream_bytes() if limit is None else limit
    buf = bytearray(head)
    if len(buf) > limit:
        raise stream_too_long(shown, limit)
    while chunk := fh.read(min(STREAM_CHUNK, limit + 1 - len(buf))):
        buf += chunk
        if len(buf) > limit:
            raise stream_too_long(shown, limit)
    return bytes(buf)


def is_regular(fh: Any) -> bool:
    """Whether the open file ``fh`` is a regular file (not a pipe, device or socket)."""
    return stat.S_ISREG(os.fstat(fh.fileno()).st_mode)


def read_input_bytes(path: Path, *, shown: str | None = None, kind: str = "file", limit: int | None = None) -> bytes:
    """An input file's bytes; missing or a folder → :class:`UsageError`, unreadable → :class:`DataError`.

    A regular file is read whole; a pipe, device or standard input (``-``) at most ``limit``
    bytes (default :func:`max_stream_bytes`), then refused with a located message.
    """
    shown = shown if shown is not None else str(path)
    try:
        if os.fspath(path) == STDOUT:  # "-": standard input
            return read_stream(sys.stdin.buffer, "standard input" if shown == STDOUT else shown, limit)
        with open(path, "rb") as fh:
            if is_regular(fh):
                return fh.read()
            return read_stream(fh, shown, limit)
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a folder, expected a {kind}") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot read: {exc.strerror or exc}") from None


#: 19 digits in a row: perhaps an integer outside the signed 64-bit range (9223372036854775807)
_LONG_DIGITS = re.compile(rb"\d{19}")


def _exact_json(data: bytes) -> Any:
    import msgspec

    try:
        return msgspec.json.decode(data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def loads_json_exact(data: bytes, *, source: str = "<input>", code: str = "document.not_json") -> Any:
    """:func:`loads_json`, with every integer exact: orjson reads one past 64 bits as a float
    (``2**100`` as ``1.2676506002282294e+30``) and refuses one past float range ("number is
    infinity"), so a document that may hold one (19 digits in a row) is read again by msgspec,
    which keeps Python's big ints. The validator then names each as out of range, at its pointer.
    """
    try:
        doc = loads_json(data, source=source, code=code)
    except DataError:
        exact = _exact_json(data) if _LONG_DIGITS.search(data) else None
        if exact is None:
            raise
        return exact
    if _LONG_DIGITS.search(data):
        exact = _exact_json(data)
        if exact is not None:
            return exact
    return doc


def read_json(path: Path) -> Any:
    """Read and parse a JSON file (integers exact, see :func:`loads_json_exact`); missing file →
    :class:`UsageError`, bad JSON → :class:`DataError`."""
    return loads_json_exact(read_input_bytes(path), source=str(path))


def ensure_not_input(output: Path, inputs: Iterable[Path]) -> None:
    """Refuse to write an output over one of the inputs (inputs are never modified)."""
    if os.fspath(output) == STDOUT:
        return
    out = Path(output).resolve()
    for src in inputs:
        if Path(src).resolve() == out:
            raise UsageError(f"{output}: refusing to overwrite an input file; choose another -o")
