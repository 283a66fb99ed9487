"""Reading a file that ``torch.save`` wrote: tensors only (``weights_only=True``), and a failure
told in one line that says what the file is not.

torch's own message for a file it cannot load ends with the advice to retry with
``weights_only=False``, which runs whatever code the file holds: never shown to the user.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

from ..errors import DataError
from ._deps import torch

#: the start of a zip archive: what torch.save writes since PyTorch 1.6
_ZIP_MAGIC = b"PK"
#: the first byte of a pickle of protocol 2 or later: torch.save's legacy format
_PICKLE_MAGIC = 0x80
#: how torch's weights-only unpickler names an object it refuses to build
_BLOCKED = re.compile(r"GLOBAL\s+([\w.]+)")


def _what_it_is(head: bytes, exc: BaseException) -> str:
    """Why ``torch.load`` failed, in a few words, from the file's first bytes and the error."""
    if not head:
        return "an empty file"
    if head.startswith(_ZIP_MAGIC):
        if isinstance(exc, pickle.UnpicklingError):
            return "a zip archive whose pickle holds more than tensors"
        if isinstance(exc, RuntimeError) and "central directory" in str(exc):
            return "a zip archive cut short or damaged"
        return "a zip archive without the layout torch.save writes"
    if head[0] == _PICKLE_MAGIC:
        if isinstance(exc, EOFError):
            return "a pickle cut short"
        return "a pickle that torch.save did not write"
    return "neither a zip archive nor a pickle, the two forms torch.save writes"


def load_torch_file(path: Path) -> Any:
    """``torch.load(path)`` with tensors only, on the CPU; any failure is a one-line :class:`DataError`.

    ``<path>: not a PyTorch checkpoint (<what it is>)``, or, for a file that holds Python objects
    besides tensors, that it was refused and why; torch's text is never passed on.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol 4..." on a foreign pickle
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds: say what the file is instead
        blocked = _BLOCKED.search(str(exc))
        if blocked is not None:
            raise DataError(
                f"{path}: refused: it holds a Python object ({blocked.group(1)}) besides tensors, and "
                "building it could run code: kpconv loads tensors only"
            ) from None
        raise DataError(f"{path}: not a PyTorch checkpoint ({_what_it_is(head, exc)})") from None
