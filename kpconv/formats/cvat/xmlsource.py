"""Opening a CVAT export (``annotations.xml``, CVAT's ``.zip`` or an unzipped folder) and streaming it.

The XML is read in chunks and fed to an expat parser; the reader takes what each chunk completed,
so memory stays bounded by about one chunk plus the converted output. Hostile
XML is refused before the parser sees it: the prolog (everything before the root element, the
only place a DTD and its entity declarations can appear) is first fed to :mod:`defusedxml`'s
parser, which raises on entity declarations and external references; a DOCTYPE of any kind is
refused too (CVAT never writes one). Expat's own billion-laughs amplification limit stays on as
a second line of defence.

A zip is read in place, within limits: a ``.zip`` that is not a zip archive (truncated,
damaged) and an encrypted member are refused, and so is a member that declares, or turns out
while read, to expand past :func:`max_unzipped_bytes` (a zip bomb). A pipe or device (a FIFO,
``/dev/stdin``) is streamed as XML, at most :func:`kpconv.fileio.max_stream_bytes` bytes.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ErrorString, ExpatError, ParserCreate, XMLParserType

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from ...errors import DataError, UsageError
from ...fileio import max_stream_bytes, stream_too_long
from ...finding import error
from ...progress import track

CHUNK_SIZE = 1 << 20  # 1 MiB: large enough that Python overhead per chunk is negligible

#: the environment variable that sets the limit on a zip member's unzipped size, in bytes
MAX_UNZIPPED_ENV = "KPCONV_MAX_UNZIPPED_BYTES"
#: the unzipped size a member may always reach (2 GiB: an export of several million skeletons)
DEFAULT_MAX_UNZIPPED = 2 << 30
#: how many times its compressed size a member may expand to, when that is more
MAX_UNZIP_RATIO = 100


@dataclass(frozen=True)
class XmlSource:
    """Where the annotations XML is: a file, or a member of a zip archive."""

    path: Path
    member: str | None = None
    max_bytes: int | None = None  # a zip member: the most bytes it may expand to; a stream: read
    #: a pipe or device (not a regular file): read once, at most ``max_bytes``, never seeked
    stream: bool = False

    @property
    def display(self) -> str:
        """How locations name the XML in messages (``annotations.xml``, ``task.zip/annotations.xml``).

        A pipe or device keeps its whole path, as every other reader names it: ``/dev/fd/63``, not
        a bare ``63``.
        """
        if self.stream:
            return str(self.path)
        if self.member is None:
            return self.path.name
        return f"{self.path.name}/{self.member}"

    def size(self) -> int:
        if self.stream:
            return 0
        if self.member is None:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.path) as zf:
            return zf.getinfo(self.member).file_size


def refused(code: str, message: str, where: str) -> DataError:
    """A located :class:`DataError` carrying the matching finding."""
    text = f"{where}: {message}"
    return DataError(text, [error(code, message, source=where)])


def max_unzipped_bytes(compressed: int) -> int:
    """The most bytes a zip member of ``compressed`` bytes may expand to.

    ``$KPCONV_MAX_UNZIPPED_BYTES`` when set, else the larger of 2 GiB and 100 times the
    compressed size (a CVAT XML export compresses 4 to 12 times; a zip bomb, about 1,000 times).
    """
    raw = os.environ.get(MAX_UNZIPPED_ENV, "")
    text = raw.strip().replace("_", "")
    if not text:
        return max(DEFAULT_MAX_UNZIPPED, MAX_UNZIP_RATIO * compressed)
    if not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise UsageError(f"{MAX_UNZIPPED_ENV}: expected a whole number of bytes, found {raw!r}")
    return int(text)


def _too_large(limit: int, where: str, declared: int | None = None) -> DataError:
    found = (
        f"declares {declared:,} bytes unzipped, more than the limit of {limit:,}; not read"
        if declared is not None
        else f"expands past the limit of {limit:,} bytes; read no further"
    )
    return refused(
        "cvat.zip_too_large",
        f"the zip member {found} (a zip bomb? set {MAX_UNZIPPED_ENV} to allow more)",
        where,
    )


def _looks_like_zip(path: Path) -> bool:
    """Named ``.zip``, or a regular file that starts as a zip does."""
    if path.suffix.lower() == ".zip":
        return True
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def open_source(path: Path) -> XmlSource:
    """Find the annotations XML in ``path`` (an XML file, CVAT's zip, or an unzipped export
    folder; ``-`` is standard input, read as a stream like a pipe)."""
    if os.fspath(path) == "-":
        path = Path("/dev/stdin")
    path = Path(path)
    if path.is_dir():
        candidate = path / "annotations.xml"
        if not candidate.is_file():
            raise UsageError(
                f"{path}: folder has no annotations.xml (give the XML file or the zip)"
            )
        return XmlSource(candidate)
    if not path.exists():
        raise UsageError(f"{path}: file not found")
    if not path.is_file():
        # a pipe or device (/dev/stdin, a FIFO): no size, no seeking (a zip needs both), maybe
        # no end: streamed as XML, at most $KPCONV_MAX_STREAM_BYTES
        return XmlSource(path, max_bytes=max_stream_bytes(), stream=True)
    if not zipfile.is_zipfile(path):
        if _looks_like_zip(path):
            raise refused(
                "cvat.bad_zip",
                "not a zip archive (no zip directory at its end: truncated or damaged? "
                "download the export again)",
                str(path),
            )
        return XmlSource(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist() if not i.filename.endswith("/")}
    except (zipfile.BadZipFile, OSError) as exc:
        raise refused("cvat.bad_zip", f"not a readable zip archive: {exc}", str(path)) from None
    member = _annotations_member(path, list(infos))
    info, where = infos[member], f"{path.name}/{member}"
    if info.flag_bits & 0x1:
        raise refused(
            "cvat.zip_encrypted",
            "encrypted zip member: kpconv reads no password-protected archive (unzip it, "
            "then give annotations.xml or the folder)",
            where,
        )
    limit = max_unzipped_bytes(info.compress_size)
    if info.file_size > limit:
        raise _too_large(limit, where, declared=info.file_size)
    return XmlSource(path, member, limit)


def _annotations_member(path: Path, names: list[str]) -> str:
    xmls = [n for n in names if n.lower().endswith(".xml")]
    exact = [n for n in xmls if n == "annotations.xml"]
    nested = [n for n in xmls if n.rsplit("/", 1)[-1] == "annotations.xml"]
    if exact:
        return exact[0]
    if len(nested) == 1:
        return nested[0]
    if len(xmls) == 1:
        return xmls[0]
    found = ", ".join(xmls[:10]) or "no XML file at all"
    raise refused(
        "cvat.zip_without_annotations",
        f"expected one annotations.xml in the zip (CVAT for images/video 1.1 export), found: {found}",
        str(path),
    )


class _RootReached(Exception):
    """Raised by the prolog guard at the first element: the prolog is over and was clean."""


class _GuardTarget:
    root: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.root = tag
        raise _RootReached

    def end(self, tag: str) -> None:  # pragma: no cover - never reached
        pass


class _PrologGuard(DefusedXMLParser):  # type: ignore[misc]
    """defusedxml's parser fed only the prolog; it also notes a DOCTYPE without entities."""

    def __init__(self) -> None:
        self.guard_target = _GuardTarget()
        super().__init__(
            target=self.guard_target, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        self.doctype: tuple[str, str | None] | None = None
        self.parser.StartDoctypeDeclHandler = self._doctype_seen

    def _doctype_seen(self, name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
        self.doctype = (name, sysid)

    @property
    def line(self) -> int:
        return int(self.parser.CurrentLineNumber)


def _check_prolog(guard: _PrologGuard, chunk: bytes, where: str, root: str) -> bool:
    """Feed one chunk to the guard; True once the root element is reached (prolog clean, right root)."""
    try:
        guard.feed(chunk)
    except _RootReached:
        if guard.doctype is not None:
            name, sysid = guard.doctype
            ext = f" referring to the external DTD {sysid!r}" if sysid else ""
            raise refused(
                "cvat.dtd_refused",
                f"refused: the XML declares a DOCTYPE <!DOCTYPE {name}>{ext}; CVAT exports never "
                "do, and DTDs are how entity-expansion and external-entity attacks work",
                f"{where}:{guard.line}",
            ) from None
        found = guard.guard_target.root
        if found != root:
            raise refused(
                "cvat.wrong_root",
                f"root element is <{found}>, expected <{root}> "
                "(a CVAT for images 1.1 or CVAT for video 1.1 export)",
                f"{where}:{guard.line}:<{found}>",
            ) from None
        return True
    except EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise refused(
                "cvat.external_entity_refused",
                f"refused: external entity {exc.name!r} (SYSTEM {exc.sysid!r}) would read another "
                "file or URL; CVAT exports never declare entities",
                f"{where}:{guard.line}",
            ) from None
        raise refused(
            "cvat.entity_refused",
            f"refused: entity declaration {exc.name!r} (entity expansion, 'billion laughs'); "
            "CVAT exports never declare entities",
            f"{where}:{guard.line}",
        ) from None
    except ExternalReferenceForbidden as exc:
        raise refused(
            "cvat.external_entity_refused",
            f"refused: external reference {exc.sysid!r}; CVAT exports never use one",
            f"{where}:{guard.line}",
        ) from None
    except DTDForbidden as exc:  # pragma: no cover - forbid_dtd is off; kept for safety
        raise refused(
            "cvat.dtd_refused", f"refused: DOCTYPE {exc.name!r}", f"{where}:{guard.line}"
        ) from None
    except ParseError as exc:
        raise _syntax_error(exc, where) from None
    return False


def _syntax_error(exc: ParseError | ExpatError, where: str) -> DataError:
    code: int | None
    if isinstance(exc, ExpatError):
        line, col, code = exc.lineno, exc.offset, exc.code
    else:
        (line, col), code = getattr(exc, "position", (0, 0)), getattr(exc, "code", None)
    reason = ErrorString(code) if isinstance(code, int) else str(exc)
    if reason in ("no element found", "unclosed token"):
        reason = f"{reason}: the XML ends before the document is complete (truncated file?)"
    elif line == 1 and col == 0:
        reason = f"{reason} (is this a CVAT XML export?)"
    return refused("cvat.xml_syntax", f"not well-formed XML: {reason}", f"{where}:{line}:{col}")


def _chunks(fh: IO[bytes], chunk_size: int, limit: int | None, where: str, stream: bool = False) -> Iterator[bytes]:
    read = 0
    while True:
        data = fh.read(chunk_size)
        if not data:
            return
        read += len(data)
        if limit is not None and read > limit:
            raise stream_too_long(where, limit) if stream else _too_large(limit, where)
        yield data


def new_parser() -> XMLParserType:
    """An expat parser for the document body: attributes as dicts, text buffered.

    The caller installs Start/End/CharacterData handlers; :func:`feed` drives it.
    """
    parser = ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    return parser


def feed(
    source: XmlSource,
    parser: XMLParserType,
    root: str = "annotations",
    chunk_size: int | None = None,
    after_chunk: Callable[[], None] | None = None,
) -> None:
    """Stream the XML of ``source`` into ``parser`` in chunks (progress bar on the CLI).

    Before a byte reaches ``parser``, the prolog is checked by the defusedxml guard: entities,
    external references, DOCTYPEs and a root element other than ``root`` are refused with a
    located :class:`DataError`; broken XML (truncated, not XML) is a located DataError too.
    ``after_chunk`` is called each time a chunk has been parsed.
    """
    where = source.display
    chunk_size = chunk_size or CHUNK_SIZE
    guard: _PrologGuard | None = _PrologGuard()
    total = max(1, -(-source.size() // chunk_size))
    zf: zipfile.ZipFile | None = None
    try:
        if source.member is None:
            fh: IO[bytes] = source.path.open("rb")
        else:
            zf = zipfile.ZipFile(source.path)
            fh = zf.open(source.member)
        with fh:
            for chunk in track(
                _chunks(fh, chunk_size, source.max_bytes, where, source.stream),
                total=total,
                description=f"reading {where} (MiB)",
            ):
                if guard is not None and _check_prolog(guard, chunk, where, root):
                    guard = None
                parse_bytes(parser, chunk, where)
                if after_chunk is not None:
                    after_chunk()
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise refused("cvat.bad_zip", f"cannot read the zip member: {exc}", where) from None
    except OSError as exc:
        raise DataError(f"{source.path}: cannot read: {exc.strerror or exc}") from None
    finally:
        if zf is not None:
            zf.close()
    parse_bytes(parser, b"", where, final=True)


def parse_bytes(parser: XMLParserType, data: bytes, where: str, final: bool = False) -> None:
    """``parser.Parse(data, final)``; expat's error becomes a located :class:`DataError`."""
    try:
        parser.Parse(data, final)
    except ExpatError as exc:
        raise _syntax_error(exc, where) from None
