"""The reader's fast lane: plain skeleton ``<image>`` elements read straight from the bytes.

A big CVAT for images export is mostly ``<image>`` elements holding nothing but
``<skeleton>`` elements of ``<points>`` children, and one expat callback per element costs more
than everything else the conversion does. The lane takes runs of such images from the raw
bytes of a chunk with one compiled regular expression: ``re.split`` on the ``<points>``
elements gives their values (label, outside, occluded, x, y) and, between them, the text holding
the image and skeleton tags. The values become columns (an :class:`InstanceArrays` per subset,
see :class:`FastColumns`), never one object per point; the tags between points are read a
whole run at a time too (a regular run is one skeleton tag pair between the points of two
skeletons, an image's end and next start between two images, with the image start tag's
attribute layout learned like the points'). Runs start short and double while they succeed;
after a failure a quick look for markup the lane never takes (a box, an attribute, a comment)
leaves such images to expat without reading them twice.

Expat still reads everything else, and the lane only takes what it can prove the expat path
reads the same way, without a finding; anything else stays in the expat stream, which then
gives the located findings and errors. Taken, a run must be:

* a whole number of ``<image ...>`` ... ``</image>`` elements starting where expat is between
  two elements directly under the root (just after a depth-2 end tag, or after the lane's own
  previous run), with only XML whitespace between tags;
* made only of ``<skeleton>`` elements (attribute names unique, ``label`` one of a skeleton of
  ``<meta>``) holding only ``<points>`` elements that are empty (``/>`` or whitespace then
  ``</points>``) and whose attributes are the learned *layout* (same names in the same order
  with the same separators, e.g. ``label source outside occluded points z_order``: a layout is
  learned from the first ``<points>`` tag of a run that does not match, up to
  :data:`MAX_LAYOUTS`), ``outside`` and ``occluded`` ``0`` or ``1`` and ``points="x,y"`` two
  numbers ``float()`` reads as finite values (outside points: any numbers ``float()`` reads);
* attribute values in double quotes without ``<``, ``&`` or control characters, valid UTF-8
  without U+FFFE/U+FFFF, and a document declared (or defaulting to) UTF-8;
* images with a start and an end tag and a non-empty ``name`` the subset has not had yet (a
  duplicate is merged, with a warning, by the expat path; if the lane took the first one, the
  reader puts the instances back in document order, see ``CvatReader._finish``).

So the taken bytes are well-formed and hold no entity, comment, CDATA or processing
instruction: expat would only have called the reader's handlers on them. In the expat stream a
run is replaced by its line breaks and, for its last line, as many spaces as it has characters:
the document stays well-formed (a run is a sequence of complete depth-2 elements) and expat's
line and column numbers stay those of the file. :data:`ENABLED` turns the lane off (tests compare
both paths byte for byte).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate, compress, repeat
from operator import not_
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from ..builder import InstanceArrays
from .xmlsource import parse_bytes

if TYPE_CHECKING:
    from xml.parsers.expat import XMLParserType

    from .reader import CvatReader

#: False: every byte goes through expat (the reference path the lane must equal)
ENABLED = True
#: Distinct ``<points>`` (and ``<image>``) attribute layouts learned per export (each is a
#: compiled pattern)
MAX_LAYOUTS = 8
#: A run waits for more bytes while its first image is incomplete, up to this many bytes
MAX_CARRY = 8 << 20
#: Images per run, at most (runs start short and double while they succeed)
MAX_RUN = 1 << 12
#: Runs shorter than this are first looked through for markup the lane never takes
_LOOK_FIRST = 64
#: Images in a row the lane could not take before it leaves some to expat without a look
BACK_OFF_AFTER = 3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_Key = tuple[tuple[bytes, bytes], ...]  # an attribute layout: (separator, name) pairs

_WS = rb"[ \t\r\n]"
_NAME = rb"[A-Za-z_:][-A-Za-z0-9_.:]*"
_TEXT = rb'[^"<&\x00-\x1f]*'  # an attribute value expat reads as it is
_UNREAD_IN_VALUE = re.compile(rb"[<&\x00-\x1f]")  # what such a value cannot hold
_ATTRS = rb"(?:" + _WS + rb"+" + _NAME + rb'="' + _TEXT + rb'")*'
#: one image or skeleton tag (start, end or empty-element) after optional whitespace
_TAG = re.compile(_WS + rb"*<(/?)(image|skeleton)(" + _ATTRS + rb")" + _WS + rb"*(/?)>")
_SKELETON_START = rb"<skeleton(" + _ATTRS + rb")" + _WS + rb"*>" + _WS + rb"*"
_SKELETON_END = rb"</skeleton" + _WS + rb"*>" + _WS + rb"*"
_IMAGE_END = rb"</image" + _WS + rb"*>"
#: between the points of two skeletons of one image
_NEXT_SKELETON = re.compile(_SKELETON_END + _SKELETON_START)
#: after the last point of a run
_LAST = re.compile(_SKELETON_END + _IMAGE_END)
_ATTR = re.compile(r"(" + _NAME.decode() + r')="([^"]*)"')
#: markup the lane never takes (a box, an attribute, a comment...): found, its image is expat's
_FOREIGN = re.compile(rb"<(?!/?(?:points|skeleton|image)[ \t\r\n/>])")
_POINTS_END = _WS + rb"*(?:/>|>" + _WS + rb"*</points" + _WS + rb"*>)"
#: a whole empty <points> element: its attributes, then what ends it
_POINTS_ELEMENT = re.compile(rb"<points(" + _ATTRS + rb")(" + _POINTS_END + _WS + rb"*)")
_IMAGE_TAG = re.compile(_WS + rb"*<image(" + _ATTRS + rb")" + _WS + rb"*>")
_LAYOUT_ATTR = re.compile(rb"(" + _WS + rb"+)(" + _NAME + rb')="')
_XML_DECL_END = re.compile(rb"\?>")
_ENCODING = re.compile(rb"encoding" + _WS + rb"*=" + _WS + rb"*[\"']([A-Za-z0-9._-]+)[\"']")
_NOT_EOL = bytes(b for b in range(256) if b not in (10, 13))
#: the image attributes the reader uses
_IMAGE_FIELDS = (b"name", b"width", b"height", b"subset")

# events of the tags between points
_OPEN_IMAGE, _CLOSE_IMAGE, _OPEN_SKELETON, _CLOSE_SKELETON = range(4)
_Events = tuple[tuple[int, bytes], ...]
_UNSEEN: Any = object()  # a dict.get default no value equals


@dataclass(frozen=True)
class _Layout:
    """A compiled ``<points>`` pattern and where its values are among ``re.split``'s items."""

    pattern: re.Pattern[bytes]
    stride: int  # items per point in the split list: the text before it, then its groups
    label: int
    x: int
    y: int
    outside: int | None
    occluded: int | None


def _layout(key: _Key, end: bytes) -> _Layout:
    """The pattern of ``<points`` + (separator, name) pairs, each value in double quotes.

    ``end``: how the learned element ended (``>`` + whitespace + ``</points>``, or ``/>``, and the
    whitespace after it), tried as it is before any other valid end (a literal is cheaper to
    match). The whitespace after the element is part of the match, so the text between two
    points of one skeleton is empty.
    """
    parts = [rb"<points"]
    slots: dict[bytes, int] = {}
    group = 0
    for sep, name in key:
        parts.append(re.escape(sep) + re.escape(name) + b'="')
        if name == b"label":
            group += 1
            slots[name] = group
            parts.append(rb'([^"]*)')  # cheaper to match; each new label is checked once
        elif name in (b"outside", b"occluded"):
            group += 1
            slots[name] = group
            parts.append(rb"([01])")
        elif name == b"points":
            group += 2
            slots[name] = group - 1
            parts.append(rb"([-+.0-9eE]+),([-+.0-9eE]+)")
        else:
            parts.append(_TEXT)
        parts.append(b'"')
    parts.append(b"(?:" + re.escape(end) + b"|" + _POINTS_END + b")" + _WS + b"*")
    return _Layout(
        pattern=re.compile(b"".join(parts)),
        stride=group + 1,
        label=slots[b"label"],
        x=slots[b"points"],
        y=slots[b"points"] + 1,
        outside=slots.get(b"outside"),
        occluded=slots.get(b"occluded"),
    )


def _key(attrs: bytes, required: tuple[bytes, ...]) -> _Key | None:
    """The layout of a tag's attributes (``attrs`` matched ``_ATTRS``): None when a name repeats
    (not well-formed) or a required one is missing."""
    key = tuple(_LAYOUT_ATTR.findall(attrs))
    names = [name for _, name in key]
    if len(set(names)) != len(names) or not all(r in names for r in required):
        return None
    return key


@dataclass(frozen=True)
class _ImageLayout:
    """Patterns of the text around an image start tag of one attribute layout.

    ``first``: a run's start up to its first point; ``next``: between the last point of an
    image and the first of the next, ``framed`` the same between NUL bytes (one ``findall``
    over many such texts joined by NUL, which none of them can hold). Groups: the values of
    ``fields`` (the image attributes the reader uses, in tag order), then the skeleton start
    tag's attributes.
    """

    first: re.Pattern[bytes]
    next: re.Pattern[bytes]
    framed: re.Pattern[bytes]
    fields: tuple[str, ...]


def _image_layout(key: _Key) -> _ImageLayout:
    parts = [rb"<image"]
    fields: list[str] = []
    for sep, name in key:
        parts.append(re.escape(sep) + re.escape(name) + b'="')
        if name in _IMAGE_FIELDS:
            fields.append(name.decode())
            parts.append(b"(" + _TEXT + b")")
        else:
            parts.append(_TEXT)
        parts.append(b'"')
    tag = b"".join(parts) + _WS + rb"*>" + _WS + rb"*" + _SKELETON_START
    core = _SKELETON_END + _IMAGE_END + _WS + b"*" + tag
    return _ImageLayout(
        first=re.compile(_WS + b"*" + tag),
        next=re.compile(core),
        framed=re.compile(b"\x00" + core + b"(?=\x00)"),
        fields=tuple(fields),
    )


def _gap_events(gap: bytes) -> tuple[_Events, bool]:
    """The image/skeleton tags of the text between two points, and whether that is all of it
    (False: something else follows them, which the lane leaves to expat)."""
    events: list[tuple[int, bytes]] = []
    pos = 0
    while (m := _TAG.match(gap, pos)) is not None:
        close, name, attrs, empty = m.groups()
        if name == b"image":
            if empty or (close and attrs):  # an empty image has no end tag to find
                break
            events.append((_CLOSE_IMAGE, b"") if close else (_OPEN_IMAGE, attrs))
        elif close:
            if attrs or empty:
                break
            events.append((_CLOSE_SKELETON, b""))
        else:
            events.append((_OPEN_SKELETON, attrs))
            if empty:
                events.append((_CLOSE_SKELETON, b""))
        pos = m.end()
    return tuple(events), not gap[pos:].strip(b" \t\r\n")


def _attributes(raw: bytes) -> dict[str, str] | None:
    """A tag's attributes as expat gives them (None: a name given twice, not well-formed)."""
    pairs = _ATTR.findall(raw.decode("utf-8"))
    found = dict(pairs)
    return found if len(found) == len(pairs) else None


def _image_end(text: bytes, k: int) -> int:
    """Where the k-th ``</image>`` end tag of ``text`` ends."""
    end = 0
    for _ in range(k):
        end = text.find(b">", text.find(b"</image", end)) + 1
    return end


def utf8_document(head: bytes, final: bool) -> bool | None:
    """Whether the document is UTF-8 (declared or by default); None: its head is not complete."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if len(head) < 5 and not final:
        return None
    if not head.startswith(b"<?xml"):
        return head.lstrip(b" \t\r\n")[:1] == b"<"
    end = _XML_DECL_END.search(head)
    if end is None:
        return None if not final and len(head) < 4096 else False
    m = _ENCODING.search(head, 0, end.start())
    return m is None or m.group(1).lower() == b"utf-8"


@dataclass
class FastColumns:
    """The instances the lane took for one subset, as columns (block by block).

    ``blocks`` says where each block goes among the object instances the expat path made
    (``len(res.instances)`` when it was taken, and how many instances it holds): document order
    is restored from it when some consumer depends on it (see ``CvatReader._finish``).
    """

    image: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    counts: list[IntArray] = field(default_factory=list)
    label: list[IntArray] = field(default_factory=list)
    x: list[FloatArray] = field(default_factory=list)
    y: list[FloatArray] = field(default_factory=list)
    v: list[IntArray] = field(default_factory=list)
    blocks: list[tuple[int, int]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # image names taken (duplicates go to expat)

    def arrays(self, labels: list[str]) -> InstanceArrays:
        """One :class:`InstanceArrays` of everything taken (``labels``: the lane's label names)."""

        def cat(parts: list[npt.NDArray[np.generic]], dtype: type) -> npt.NDArray[np.generic]:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        return InstanceArrays(
            image=self.image,
            category=self.category,
            source=self.source,
            counts=cat(self.counts, np.int64),  # type: ignore[arg-type]
            labels=labels,
            label=cat(self.label, np.int64),  # type: ignore[arg-type]
            x=cat(self.x, np.float64),  # type: ignore[arg-type]
            y=cat(self.y, np.float64),  # type: ignore[arg-type]
            v=cat(self.v, np.int64),  # type: ignore[arg-type]
        )


@dataclass
class ImageRows:
    """The attributes the reader uses of a run's images, one list per attribute, in order;
    ``formed``: how many first images have well-formed start tags (no attribute twice)."""

    name: list[str | None]
    width: list[str | None]
    height: list[str | None]
    subset: list[str]
    formed: int

    @classmethod
    def of(cls, attributes: list[dict[str, str] | None]) -> ImageRows:
        formed = attributes.index(None) if None in attributes else len(attributes)
        found = cast("list[dict[str, str]]", attributes[:formed])
        return cls(
            name=[a.get("name") for a in found],
            width=[a.get("width") for a in found],
            height=[a.get("height") for a in found],
            subset=[a.get("subset") or "" for a in found],
            formed=formed,
        )

    def head(self, k: int) -> ImageRows:
        return ImageRows(
            self.name[:k], self.width[:k], self.height[:k], self.subset[:k], min(k, self.formed)
        )


@dataclass
class _Structure:
    """The tags of a run's text, followed from the start.

    Per image: its attributes and the index of the text between points that closes it (its
    points are before that index). Per skeleton: its image, its start tag's attributes, and the
    indices of the texts that open and close it (its points are between). Only images closed
    before the first tag out of place count; ``whole``: the text holds nothing else.
    """

    images: ImageRows
    img_close: list[int]
    sk_img: list[int]
    sk_attrs: list[bytes]
    sk_open: list[int]
    sk_close: list[int]
    whole: bool


class FastLane:
    """Feeds one export's chunks to the reader's expat parser, taking plain skeleton images itself.

    :meth:`feed` takes each chunk (in file order), :meth:`finish` the end of the file; bytes
    not taken reach ``parser`` in order, unchanged, through :func:`parse_bytes`.
    """

    def __init__(self, reader: CvatReader, parser: XMLParserType) -> None:
        self.reader = reader
        self.parser = parser
        self.where = reader.where
        self.buf = b""  # bytes received and not yet handled
        self.base = 0  # file offset of buf[0]
        self.expat_pos = 0  # bytes given to expat so far (its CurrentByteIndex scale)
        self.close_seen = -1  # reader.closed_at when last looked at
        # file offset just past the last depth-2 end tag expat read, while only whitespace
        # followed it
        self.close_end: int | None = None
        self.clean: int | None = None  # file offset where expat is between depth-2 elements
        self.utf8: bool | None = None  # None: the XML declaration was not seen yet
        self.layout: _Layout | None = None
        self.layouts: dict[tuple[_Key, bytes], _Layout] = {}
        self.image_layout: _ImageLayout | None = None
        self.image_layouts: dict[_Key, _ImageLayout] = {}
        self.limit = 8  # images per run: grows while runs succeed, so a failure costs little
        self.skip = 0  # after a run took nothing: where the end tag of its first image is
        self.foreign = -1  # file offset of the last markup found that the lane never takes
        self.failures = 0  # runs in a row that took nothing
        self.backoff = 0  # images still to leave to expat without a look
        self.skeleton_gaps: dict[bytes, tuple[bytes]] = {}  # text between skeletons -> attrs
        self.gap_events: dict[bytes, tuple[_Events, bool]] = {}
        self.skeleton_labels: dict[bytes, str | None] = {}
        self.meta_seen: object = None
        self.label_code: dict[bytes, int] = {}
        self.labels: list[str] = []  # label names by code (shared by every subset's columns)

    # ----------------------------------------------------------------------------- streaming
    def feed(self, chunk: bytes) -> None:
        """Handle one more chunk of the file."""
        buf = self.buf + chunk if self.buf else chunk
        if self.utf8 is None:
            self.utf8 = utf8_document(buf, final=False)
            if self.utf8 is None:
                self.buf = buf
                return
        if not self.utf8:
            self._expat(buf, 0, len(buf))
            self._advance(buf, len(buf))
            return
        self._advance(buf, self._run(buf))

    def finish(self) -> None:
        """The file ended: whatever is left goes to expat (an incomplete image included)."""
        buf = self.buf
        self._expat(buf, 0, len(buf))
        self._advance(buf, len(buf))

    def _advance(self, buf: bytes, pos: int) -> None:
        self.buf = buf[pos:]
        self.base += pos

    def _run(self, buf: bytes) -> int:
        """Take runs and feed expat the rest; returns where the bytes kept for later begin."""
        pos, n = 0, len(buf)
        while True:
            at_image = buf.startswith(b"<image", pos)
            if at_image and self.close_end is not None and not self.backoff:
                self.clean = self.base + pos  # expat is between depth-2 elements
            if self.clean == self.base + pos:
                taken = self._take_run(buf, pos)
                if taken > pos:
                    self.failures = 0
                    pos = taken
                    continue
                if taken < 0:  # its first image is not complete yet
                    if n - pos <= MAX_CARRY:
                        return pos  # wait for more bytes
                    start = pos + 1  # too big to wait for: expat reads it
                else:
                    start = self.skip  # expat reads the image at pos, up to the next one
                    # past BACK_OFF_AFTER images in a row it cannot take, leave 1, 3, 7... (up
                    # to 63) more to expat without a look: an export the lane cannot take
                    # costs it little
                    self.failures += 1
                    over = self.failures - BACK_OFF_AFTER
                    self.backoff = (1 << min(over, 6)) - 1 if over > 0 else 0
                self.clean = self.close_end = None
            else:
                start = pos + 1 if at_image else pos
            q = buf.find(b"<image", start)
            while self.backoff and q >= 0:
                after = buf.find(b"<image", q + 1)
                if after < 0:
                    break
                q = after
                self.backoff -= 1
            if q < 0:
                cut = max(pos, n - 5)  # the last bytes may begin a "<image" tag
                self._expat(buf, pos, cut)
                return cut
            self._expat(buf, pos, q)
            pos = q

    def _expat(self, buf: bytes, a: int, b: int) -> None:
        """Feed ``buf[a:b]`` to expat and note where a depth-2 element last ended in it."""
        if a >= b:
            return
        start = self.expat_pos
        parse_bytes(self.parser, buf[a:b], self.where)
        self.expat_pos += b - a
        at = self.reader.closed_at
        if at != self.close_seen:
            self.close_seen = at
            self.close_end = None
            if at != self.reader.opened_at:  # an end tag (an empty element's end is not found)
                # the tag may have begun in an earlier feed, but after the last fill (a fill is
                # only ever given between elements): the same offset maps expat to the file
                i = a + (at - start)
                self.close_end = self.base + buf.find(b">", max(i, 0)) + 1
        if self.close_end is not None:  # still only whitespace after it?
            if buf[max(self.close_end - self.base, a) : b].strip(b" \t\r\n"):
                self.close_end = None

    def _fill(self, buf: bytes, a: int, b: int) -> None:
        """Give expat the line breaks of ``buf[a:b]`` and the columns of its last line."""
        if buf.find(b"\r", a, b) < 0:
            lines = np.count_nonzero(np.frombuffer(buf, np.uint8, b - a, a) == 10)
            breaks = b"\n" * lines
            last = buf.rfind(b"\n", a, b)
        else:
            breaks = buf[a:b].translate(None, _NOT_EOL)
            last = max(buf.rfind(b"\n", a, b), buf.rfind(b"\r", a, b))
        tail = buf[last + 1 if last >= 0 else a : b]
        width = len(tail) if tail.isascii() else len(tail.decode("utf-8"))
        filler = breaks + b" " * width
        parse_bytes(self.parser, filler, self.where)
        self.expat_pos += len(filler)
        self.close_end = None  # the lane knows where its own run ends (self.clean)

    # ----------------------------------------------------------------------------- one run
    def _take_run(self, buf: bytes, pos: int) -> int:
        """Take the images from ``pos`` (a clean point) that the lane can; returns the new pos.

        -1: no complete image after ``pos`` yet. ``pos``: the next image is expat's (and
        ``self.skip`` is where its end tag is).
        """
        first = buf.find(b"</image", pos)
        first_end = buf.find(b">", first) + 1 if first >= 0 else 0
        if first_end <= 0:
            return -1
        self.skip = first
        if self.limit < _LOOK_FIRST and (
            pos <= self.foreign - self.base < first or _FOREIGN.search(buf, pos, first) is not None
        ):
            # after a failure, a quick look first: markup the lane never takes leaves the
            # image to expat without reading the run (exports with boxes, attributes...)
            self.limit = 2
            return pos
        if self.limit >= MAX_RUN:
            e = buf.rfind(b"</image", first)
        else:
            e = first
            for _ in range(self.limit - 1):
                after = buf.find(b"</image", e + 1)
                if after < 0 or buf.find(b">", after) < 0:
                    break
                e = after
        end = buf.find(b">", e) + 1
        if end <= e:  # the last end tag is not complete: the one before is
            cut = buf.rfind(b"</image", first, e)
            end = buf.find(b">", cut) + 1 if cut > first else first_end
        if self.limit < _LOOK_FIRST:  # the run stops before markup the lane never takes
            foreign = _FOREIGN.search(buf, first, end)
            if foreign is not None:
                self.foreign = self.base + foreign.start()  # the next run need not look again
                cut = buf.rfind(b"</image", first, foreign.start())
                end = buf.find(b">", cut) + 1 if cut > first else first_end
        text = buf[pos:end]
        taken = self._take(text)
        if taken == 0 and self._relearn(text):
            taken = self._take(text)
        if taken == 0:
            self.limit = 2
            return pos
        self._fill(buf, pos, pos + taken)
        # all taken: longer runs; else the next image stopped this one, and it is tried alone
        # (with the layout of its first points if that is new) before expat gets it
        self.limit = min(self.limit * 2, MAX_RUN) if taken == len(text) else 1
        self.clean = self.base + pos + taken
        return pos + taken

    def _relearn(self, text: bytes) -> bool:
        """Switch to the layout of the run's first ``<points>`` element if it is a new one."""
        i = text.find(b"<points")
        m = _POINTS_ELEMENT.match(text, i) if i >= 0 else None
        key = _key(m.group(1), (b"label", b"points")) if m is not None else None
        if m is None or key is None:
            return False
        layout = self.layouts.get((key, m.group(2)))
        if layout is None:
            if len(self.layouts) >= MAX_LAYOUTS:
                return False
            layout = self.layouts[key, m.group(2)] = _layout(key, m.group(2))
        if layout is self.layout:
            return False
        self.layout = layout
        return True

    def _take(self, text: bytes) -> int:
        """Read the images of ``text`` (a run ending with ``</image>``) and hand the first ones
        that pass every check to the reader; returns the length of text they span."""
        layout = self.layout
        if layout is None:
            return 0
        reader = self.reader
        if reader.meta is not self.meta_seen:  # labels are checked against this <meta>
            self.meta_seen = reader.meta
            self.skeleton_labels.clear()
        if not text.isascii():  # bytes expat would refuse end the run before their image
            usable = len(text)
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as exc:
                usable = exc.start
            for bad in (b"\xef\xbf\xbe", b"\xef\xbf\xbf"):  # U+FFFE, U+FFFF
                at = text.find(bad, 0, usable)
                usable = at if at >= 0 else usable
            if usable < len(text):
                e = text.rfind(b"</image", 0, usable)
                while e >= 0 and text.find(b">", e) >= usable:
                    e = text.rfind(b"</image", 0, e)
                if e < 0:
                    return 0
                text = text[: text.find(b">", e) + 1]

        parts = layout.pattern.split(text)
        stride = layout.stride
        gaps = parts[::stride]
        n_points = len(gaps) - 1
        st = self._regular(gaps, n_points) or self._general(gaps, n_points)
        k = len(st.img_close)

        # image and skeleton checks, in document order (nothing is recorded before all pass)
        read, k = self._images(st.images, k)
        sk_img = st.sk_img
        n_sk = bisect_right(sk_img, k - 1)
        labels = self.skeleton_labels
        categories = list(map(labels.get, st.sk_attrs[:n_sk], repeat(_UNSEEN)))
        if _UNSEEN in categories:
            for attrs in set(st.sk_attrs[:n_sk]) - labels.keys():
                labels[attrs] = self._skeleton_label(attrs)
            categories = list(map(labels.get, st.sk_attrs[:n_sk]))
        if None in categories:  # a skeleton the lane cannot decide: expat reads its image
            n_sk = categories.index(None)
            k = sk_img[n_sk]
        values: tuple[IntArray, FloatArray, FloatArray, IntArray] | None = None
        while k > 0:
            got = self._values(parts, layout, st.img_close[k - 1])
            if not isinstance(got, int):
                values = got
                break
            k = bisect_right(st.img_close, got)  # the image holding the first bad point
        if values is None:
            return 0
        n_sk = bisect_right(sk_img, k - 1)
        label, x, y, v = values
        counts = np.asarray(st.sk_close[:n_sk], np.int64) - np.asarray(st.sk_open[:n_sk], np.int64)
        names = cast("list[str]", categories[:n_sk])
        reader.add_fast(st.images.head(k), read[:k], sk_img[:n_sk], names, counts, label, x, y, v)
        if st.whole and k == len(st.img_close):
            return len(text)
        return _image_end(text, k)

    def _regular(self, gaps: list[bytes], n_points: int) -> _Structure | None:
        """The usual run, read a whole run at a time: between the points of two skeletons only
        their tags (or an image's end and the next image's start), every skeleton holding
        points. None: anything else (then :meth:`_general` follows the tags one by one)."""
        if n_points == 0:
            return None
        tagged = list(compress(range(n_points + 1), gaps))
        inner = list(compress(gaps, gaps))
        if tagged[0] != 0 or tagged[-1] != n_points or _LAST.fullmatch(inner[-1]) is None:
            return None
        found_first = self._image_layout_of(inner[0])
        if found_first is None:
            return None
        image, m = found_first
        mids = inner[1:-1]
        known: list[tuple[bytes] | None] = list(map(self.skeleton_gaps.get, mids))
        new = list(compress(range(len(mids)), map(not_, known)))
        turns: list[int] = []  # indices (into mids) of the texts between two images
        found: list[tuple[bytes, ...]] = []
        if new:
            unknown = [mids[i] for i in new]
            found = image.framed.findall(b"\x00" + b"\x00".join(unknown) + b"\x00")
            if len(found) == len(unknown):
                turns = new
            else:  # skeleton tags seen for the first time among them, or something else
                found = []
                cache = self.skeleton_gaps
                if len(cache) > 1024:
                    cache.clear()
                for i in new:
                    gap = mids[i]
                    s = _NEXT_SKELETON.fullmatch(gap)
                    if s is not None:
                        known[i] = cache[gap] = (s.group(1),)
                        continue
                    t = image.next.fullmatch(gap)
                    if t is None:
                        return None
                    turns.append(i)
                    found.append(t.groups())
        first = m.groups()
        columns = dict(
            zip(image.fields, zip(first[:-1], *(f[:-1] for f in found), strict=True), strict=True)
        )
        n_images = len(found) + 1

        def column(name: str) -> list[str] | None:
            values = columns.get(name)
            return None if values is None else b"\x00".join(values).decode().split("\x00")

        none: list[str | None] = [None] * n_images
        subsets = column("subset")
        images = ImageRows(
            name=column("name") or none,  # type: ignore[arg-type]
            width=column("width") or none,  # type: ignore[arg-type]
            height=column("height") or none,  # type: ignore[arg-type]
            subset=[s or "" for s in subsets] if subsets is not None else [""] * n_images,
            formed=n_images,
        )
        sk_attrs = [first[-1]] + [k[0] if k is not None else b"" for k in known]
        starts = [0] * (len(tagged) - 1)  # 1 where a skeleton is the first of its image
        for i, f in zip(turns, found, strict=True):
            sk_attrs[i + 1] = f[-1]
            starts[i + 1] = 1
        img_close = [tagged[i + 1] for i in turns]
        img_close.append(n_points)
        return _Structure(
            images=images,
            img_close=img_close,
            sk_img=list(accumulate(starts)),
            sk_attrs=sk_attrs,
            sk_open=tagged[:-1],
            sk_close=tagged[1:],
            whole=True,
        )

    def _image_layout_of(self, gap: bytes) -> tuple[_ImageLayout, re.Match[bytes]] | None:
        """The image layout a run's first text matches (learned from its image start tag if
        new), and the match."""
        current = self.image_layout
        m = current.first.fullmatch(gap) if current is not None else None
        if current is not None and m is not None:
            return current, m
        tag = _IMAGE_TAG.match(gap)
        key = _key(tag.group(1), (b"name",)) if tag is not None else None  # unnamed: expat's
        if key is None:
            return None
        layout = self.image_layouts.get(key)
        if layout is None:
            if len(self.image_layouts) >= MAX_LAYOUTS:
                return None
            layout = self.image_layouts[key] = _image_layout(key)
        m = layout.first.fullmatch(gap)
        if m is None:
            return None
        self.image_layout = layout
        return layout, m

    def _general(self, gaps: list[bytes], n_points: int) -> _Structure:
        """Follow the image and skeleton tags between the points one by one (any run)."""
        img_attrs: list[bytes] = []
        img_close: list[int] = []
        sk_img: list[int] = []
        sk_attrs: list[bytes] = []
        sk_open: list[int] = []
        sk_close: list[int] = []
        tagged = list(compress(range(n_points + 1), gaps)) if n_points else [0]
        cache = self.gap_events
        if len(cache) > 4096:
            cache.clear()
        in_image = in_skeleton = False
        image = -1
        whole = False
        for g in tagged:
            gap = gaps[g]
            try:
                events, complete = cache[gap]
            except KeyError:
                events, complete = _gap_events(gap)
                if not any(e[0] == _OPEN_IMAGE for e in events):
                    cache[gap] = events, complete  # an image's tags are unique: not kept
            ok = True
            for kind, attrs in events:
                if kind == _OPEN_SKELETON:
                    if not in_image or in_skeleton:
                        ok = False
                        break
                    sk_img.append(image)
                    sk_attrs.append(attrs)
                    sk_open.append(g)
                    in_skeleton = True
                elif kind == _CLOSE_SKELETON:
                    if not in_skeleton:
                        ok = False
                        break
                    sk_close.append(g)
                    in_skeleton = False
                elif kind == _OPEN_IMAGE:
                    if in_image:
                        ok = False
                        break
                    img_attrs.append(attrs)
                    image += 1
                    in_image = True
                else:
                    if not in_image or in_skeleton:
                        ok = False
                        break
                    img_close.append(g)
                    in_image = False
            if not ok or not complete or (g < n_points and not in_skeleton):
                break
        else:
            whole = not in_image
        # skeletons of images not closed are not part of the result
        n_img = len(img_close)
        n_sk = bisect_right(sk_img, n_img - 1)
        return _Structure(
            images=ImageRows.of([_attributes(a) for a in img_attrs[:n_img]]),
            img_close=img_close,
            sk_img=sk_img[:n_sk],
            sk_attrs=sk_attrs[:n_sk],
            sk_open=sk_open[:n_sk],
            sk_close=sk_close[:n_sk],
            whole=whole,
        )

    def _images(self, rows: ImageRows, k: int) -> tuple[list[bool], int]:
        """Whether each of the first images (up to k) that the lane may take is read (False: it
        is outside the ``--subset`` being read, skipped as the expat path does), and how many."""
        reader = self.reader
        k = min(k, rows.formed)
        one = rows.subset[0] if k else ""
        names = rows.name[:k]
        if (
            rows.subset[:k].count(one) == k
            and reader.reads_subset(one)
            and all(names)
            and len(set(names)) == k
            and not reader.has_any_image(one, cast("list[str]", names))
        ):  # the usual run: images of one subset, all read, all new
            return [True] * k, k
        read: list[bool] = []
        taken: set[tuple[str, str | None]] = set()
        for j in range(k):
            subset, name = rows.subset[j], rows.name[j]
            if not reader.reads_subset(subset):
                read.append(False)
                continue
            if not name or (subset, name) in taken or reader.has_image(subset, name):
                return read, j  # no name, or a duplicate: the expat path reports it
            taken.add((subset, name))
            read.append(True)
        return read, k

    def _skeleton_label(self, attrs: bytes) -> str | None:
        """The category of a skeleton start tag, or None when the lane cannot decide it."""
        a = _attributes(attrs)
        label = a.get("label") if a is not None else None
        if label is not None and label not in self.reader.meta.sublabels:
            label = None  # not in <meta>: the expat path notes its keypoints in first-seen order
        return label

    def _values(
        self, parts: list[bytes], layout: _Layout, n: int
    ) -> tuple[IntArray, FloatArray, FloatArray, IntArray] | int:
        """Label codes, x, y and v of the first ``n`` points, or the index of the first point
        the expat path reads differently (an unreadable or infinite number, a label holding
        what an attribute value cannot as it is)."""
        stride = layout.stride
        end = n * stride
        xs = parts[layout.x : end : stride]
        ys = parts[layout.y : end : stride]
        if layout.outside is not None:
            outside = np.frombuffer(b"".join(parts[layout.outside : end : stride]), np.uint8)
        else:
            outside = np.zeros(n, np.uint8)
        if layout.occluded is not None:
            occluded = np.frombuffer(b"".join(parts[layout.occluded : end : stride]), np.uint8)
        else:
            occluded = np.zeros(n, np.uint8)
        v = np.where(outside == 49, 0, np.where(occluded == 49, 1, 2)).astype(np.int64)
        try:
            x = np.fromiter(map(float, xs), np.float64, n)
            y = np.fromiter(map(float, ys), np.float64, n)
        except ValueError:
            for i in range(n):
                try:
                    float(xs[i]), float(ys[i])
                except ValueError:
                    return i
            raise  # pragma: no cover - one of them raised above
        absent = v == 0
        bad = ~(np.isfinite(x) & np.isfinite(y)) & ~absent
        if bad.any():
            return int(np.argmax(bad))
        x[absent] = 0.0
        y[absent] = 0.0
        names = parts[layout.label : end : stride]
        code = self.label_code
        try:
            codes = np.fromiter(map(code.__getitem__, names), np.int64, n)
        except KeyError:
            new = [name for name in dict.fromkeys(names) if name not in code]
            refused = [name for name in new if _UNREAD_IN_VALUE.search(name) is not None]
            if refused:  # '<', '&' or a control character: not well-formed, or not as it is
                return min(map(names.index, refused))
            for name in new:
                code[name] = len(self.labels)
                self.labels.append(name.decode("utf-8"))
            codes = np.fromiter(map(code.__getitem__, names), np.int64, n)
        return codes, x, y, v
