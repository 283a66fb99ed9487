"""Reading and writing files safely: atomic writes, deterministic JSON, located decode errors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from .errors import DataError, UsageError
from .finding import error

JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
COMPACT_JSON_OPTIONS = JSON_OPTIONS & ~orjson.OPT_INDENT_2


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``.

    A crash or a full disk leaves either the old file or no file, never half a file.
    ``durable=False`` skips the fsync (still atomic, not flushed to disk before returning): for
    many regenerable outputs such as rendered previews, where an fsync per file costs as much
    as producing it.
    """
    path = Path(path)
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


def dumps_json(obj: Any, *, compact: bool = False) -> bytes:
    """Deterministic JSON bytes: sorted keys, 2-space indent (none when ``compact``), trailing newline."""
    # the newline is appended in place, not by a copy
    return orjson.dumps(obj, option=COMPACT_JSON_OPTIONS if compact else JSON_OPTIONS)


def write_json(path: Path, obj: Any, *, compact: bool = False) -> None:
    """Write ``obj`` as deterministic JSON (unindented when ``compact``), atomically."""
    atomic_write_bytes(Path(path), dumps_json(obj, compact=compact))


def loads_json(data: bytes | str, *, source: str = "<input>") -> Any:
    """Parse JSON; a decode error becomes a located :class:`DataError` (line and column)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        where = f"{source}:{exc.lineno}:{exc.colno}"
        what = f"not valid JSON: {exc.msg}"
        raise DataError(f"{where}: {what}", [error("document.not_json", what, "", source=where)]) from None


def read_input_bytes(path: Path, *, shown: str | None = None, kind: str = "file") -> bytes:
    """An input file's bytes; missing or a folder → :class:`UsageError`, unreadable → :class:`DataError`."""
    shown = shown if shown is not None else str(path)
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a folder, expected a {kind}") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot read: {exc.strerror}") from None


def read_json(path: Path) -> Any:
    """Read and parse a JSON file; missing file → :class:`UsageError`, bad JSON → :class:`DataError`."""
    return loads_json(read_input_bytes(path), source=str(path))


def ensure_not_input(output: Path, inputs: Iterable[Path]) -> None:
    """Refuse to write an output over one of the inputs (inputs are never modified)."""
    out = Path(output).resolve()
    for src in inputs:
        if Path(src).resolve() == out:
            raise UsageError(f"{output}: refusing to overwrite an input file; choose another -o")
