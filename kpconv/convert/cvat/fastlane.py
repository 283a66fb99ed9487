"""The reader's fast lane: plain skeleton ``<image>`` elements read straight from the bytes.

A big CVAT for images export is mostly ``<image>`` elements holding nothing but
``<skeleton>`` elements of ``<points>`` children, and one expat callback per element costs more
than everything else the conversion does. The lane takes runs of such images from the raw
bytes of a chunk with one compiled regular expression: ``re.split`` on the ``<points>``
elements gives their values (label, outside, occluded, x, y) and, between them, the text holding
the image and skeleton tags. The values become columns (an :class:`InstanceArrays` per subset,
see :class:`FastColumns`), never one object per point.

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
* images with a non-empty ``name`` the subset has not had yet (a duplicate is merged, with a
  warning, by the expat path).

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
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..builder import InstanceArrays
from .xmlsource import parse_bytes

if TYPE_CHECKING:
    from xml.parsers.expat import XMLParserType

    from .reader import CvatReader

#: False: every byte goes through expat (the reference path the lane must equal)
ENABLED = True
#: Distinct ``<points>`` attribute layouts learned per export (each is one compiled pattern)
MAX_LAYOUTS = 8
#: A run waits for more bytes while its first image is incomplete, up to this many bytes
MAX_CARRY = 8 << 20

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_WS = rb"[ \t\r\n]"
_NAME = rb"[A-Za-z_:][-A-Za-z0-9_.:]*"
_VALUE = rb'"[^"<&\x00-\x1f]*"'
_ATTRS = rb"(?:" + _WS + rb"+" + _NAME + rb"=" + _VALUE + rb")*"
#: one image or skeleton tag (start, end or empty-element) after optional whitespace
_TAG = re.compile(_WS + rb"*<(/?)(image|skeleton)(" + _ATTRS + rb")" + _WS + rb"*(/?)>")
#: the usual text between the last point of one image and the first of the next
_NEXT_IMAGE = re.compile(
    _WS + rb"*</skeleton" + _WS + rb"*>" + _WS + rb"*</image" + _WS + rb"*>"
    + _WS + rb"*<image(" + _ATTRS + rb")" + _WS + rb"*>"
    + _WS + rb"*<skeleton(" + _ATTRS + rb")" + _WS + rb"*>" + _WS + rb"*"
)  # fmt: skip
_ATTR = re.compile(r"(" + _NAME.decode() + r')="([^"]*)"')
_POINTS_TAG = re.compile(rb"<points(" + _ATTRS + rb")" + _WS + rb"*/?>")
_LAYOUT_ATTR = re.compile(rb"(" + _WS + rb"+)(" + _NAME + rb')="')
_XML_DECL_END = re.compile(rb"\?>")
_ENCODING = re.compile(rb"encoding" + _WS + rb"*=" + _WS + rb"*[\"']([A-Za-z0-9._-]+)[\"']")
_NOT_EOL = bytes(b for b in range(256) if b not in (10, 13))

# events of the tags between points
_OPEN_IMAGE, _CLOSE_IMAGE, _OPEN_SKELETON, _CLOSE_SKELETON = range(4)
_Events = tuple[tuple[int, bytes], ...]


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


def _layout(key: tuple[tuple[bytes, bytes], ...]) -> _Layout:
    """The pattern of ``<points`` + (separator, name) pairs, each value in double quotes."""
    parts = [rb"<points"]
    slots: dict[bytes, int] = {}
    group = 0
    for sep, name in key:
        parts.append(re.escape(sep) + re.escape(name) + b'="')
        if name == b"label":
            group += 1
            slots[name] = group
            parts.append(rb'([^"<&\x00-\x1f]*)')
        elif name in (b"outside", b"occluded"):
            group += 1
            slots[name] = group
            parts.append(rb"([01])")
        elif name == b"points":
            group += 2
            slots[name] = group - 1
            parts.append(rb"([-+.0-9eE]+),([-+.0-9eE]+)")
        else:
            parts.append(rb'[^"<&\x00-\x1f]*')
        parts.append(b'"')
    parts.append(_WS + rb"*(?:/>|>" + _WS + rb"*</points" + _WS + rb"*>)")
    return _Layout(
        pattern=re.compile(b"".join(parts)),
        stride=group + 1,
        label=slots[b"label"],
        x=slots[b"points"],
        y=slots[b"points"] + 1,
        outside=slots.get(b"outside"),
        occluded=slots.get(b"occluded"),
    )


def _layout_key(text: bytes, start: int) -> tuple[tuple[bytes, bytes], ...] | None:
    """The attribute layout of the first ``<points>`` tag at or after ``start``, if learnable."""
    i = text.find(b"<points", start)
    m = _POINTS_TAG.match(text, i) if i >= 0 else None
    if m is None:
        return None
    key = tuple(_LAYOUT_ATTR.findall(m.group(1)))
    names = [name for _, name in key]
    if len(set(names)) != len(names) or b"label" not in names or b"points" not in names:
        return None
    return key


def _gap_events(gap: bytes) -> tuple[_Events, bool]:
    """The image/skeleton tags of the text between two points, and whether that is all of it
    (False: something else follows them, which the lane leaves to expat)."""
    m = _NEXT_IMAGE.fullmatch(gap)
    if m is not None:
        return _next_image(m.group(1), m.group(2)), True
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


def _next_image(image: bytes, skeleton: bytes) -> _Events:
    return (
        (_CLOSE_SKELETON, b""),
        (_CLOSE_IMAGE, b""),
        (_OPEN_IMAGE, image),
        (_OPEN_SKELETON, skeleton),
    )


def _attributes(raw: bytes) -> dict[str, str] | None:
    """A tag's attributes as expat gives them (None: a name given twice, not well-formed)."""
    pairs = _ATTR.findall(raw.decode("utf-8"))
    found = dict(pairs)
    return found if len(found) == len(pairs) else None


def utf8_document(head: bytes, final: bool) -> bool | None:
    """Whether the document is UTF-8 (declared or by default); None: its head is not complete."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if len(head) < 5 and not final:
        return None
    if not head.startswith(b"<?xml"):
        return head[:1] == b"<"
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
        self.layouts: dict[tuple[tuple[bytes, bytes], ...], _Layout] = {}
        self.limit = 8  # images per run: grows while runs succeed, so a failure costs little
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
            if at_image and self.close_end is not None:  # expat is between depth-2 elements
                self.clean = self.base + pos
            if self.clean == self.base + pos:
                taken = self._take_run(buf, pos)
                if taken < 0 and n - pos <= MAX_CARRY:
                    return pos  # its first image is not complete yet: wait for more bytes
                if taken > pos:
                    pos = taken
                    continue
                # the element at pos is for expat (up to the next image after it)
                self.clean = self.close_end = None
                first = buf.find(b"<image", pos)
                start = first + 1 if first >= 0 and not buf[pos:first].strip(b" \t\r\n") else pos
            else:
                start = pos + 1 if at_image else pos
            q = buf.find(b"<image", start)
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
        cr = buf.find(b"\r", a, b)
        if cr < 0:
            breaks = b"\n" * buf.count(b"\n", a, b)
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

        -1: no complete image after ``pos`` yet. Less than the run: the next image is for
        expat (``self.clean`` is then cleared by the caller).
        """
        ends: list[int] = []
        i = pos
        while len(ends) < self.limit:
            e = buf.find(b"</image", i)
            g = buf.find(b">", e) if e >= 0 else -1
            if g < 0:
                break
            i = g + 1
            ends.append(i - pos)
        if not ends:
            return -1
        text = buf[pos : pos + ends[-1]]
        k = self._take(text, ends)
        if k == 0 and self._relearn(text):
            k = self._take(text, ends)
        if k == 0:
            self.limit = 2
            return pos
        end = pos + ends[k - 1]
        self._fill(buf, pos, end)
        # all taken: longer runs; else the next image stopped this one, and it is tried alone
        # (with the layout of its first points if that is new) before expat gets it
        self.limit = min(self.limit * 2, 1 << 12) if k == len(ends) else 1
        self.clean = self.base + end
        return end

    def _relearn(self, text: bytes) -> bool:
        """Switch to the layout of the run's first ``<points>`` tag if it is a new one."""
        key = _layout_key(text, 0)
        if key is None:
            return False
        layout = self.layouts.get(key)
        if layout is None:
            if len(self.layouts) >= MAX_LAYOUTS:
                return False
            layout = self.layouts[key] = _layout(key)
        if layout is self.layout:
            return False
        self.layout = layout
        return True

    def _take(self, text: bytes, ends: list[int]) -> int:
        """Read the images of ``text`` (``ends``: where each ends) and hand the first k that pass
        every check to the reader; returns k."""
        layout = self.layout
        if layout is None:
            return 0
        reader = self.reader
        if reader.meta is not self.meta_seen:  # labels are checked against this <meta>
            self.meta_seen = reader.meta
            self.skeleton_labels.clear()
        # bytes expat would refuse: the images from the one holding the first go to expat
        usable = len(text)
        if not text.isascii():
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as exc:
                usable = exc.start
            for bad in (b"\xef\xbf\xbe", b"\xef\xbf\xbf"):  # U+FFFE, U+FFFF
                at = text.find(bad, 0, usable)
                usable = at if at >= 0 else usable
        for bad in (b"\x0b", b"\x0c"):  # Python's isspace() takes them, XML does not
            at = text.find(bad, 0, usable)
            usable = at if at >= 0 else usable
        k = bisect_right(ends, usable)
        if k == 0:
            return 0
        parts = layout.pattern.split(text if k == len(ends) else text[: ends[k - 1]])
        stride = layout.stride
        gaps = parts[::stride]
        n_points = len(gaps) - 1
        img_attrs, img_close, sk_img, sk_attrs, sk_open, sk_close = self._structure(gaps, n_points)
        k = min(k, len(img_close))

        # image and skeleton checks, in document order (nothing is recorded before all pass)
        images, k = self._images(img_attrs, k)
        n_sk = bisect_right(sk_img, k - 1)
        categories: list[str] = []
        for s in range(n_sk):
            category = self._skeleton_label(sk_attrs[s])
            if category is None:
                k = sk_img[s]
                n_sk = s
                break
            categories.append(category)
        values: tuple[IntArray, FloatArray, FloatArray, IntArray] | None = None
        while k > 0:
            got = self._values(parts, layout, img_close[k - 1])
            if not isinstance(got, int):
                values = got
                break
            k = bisect_right(img_close, got)  # the image holding the first bad point
        if values is None:
            return 0
        n_sk = bisect_right(sk_img, k - 1)
        label, x, y, v = values
        counts = np.asarray(sk_close[:n_sk], np.int64) - np.asarray(sk_open[:n_sk], np.int64)
        reader.add_fast(images[:k], sk_img[:n_sk], categories[:n_sk], counts, label, x, y, v)
        return k

    def _structure(
        self, gaps: list[bytes], n_points: int
    ) -> tuple[list[bytes], list[int], list[int], list[bytes], list[int], list[int]]:
        """Follow the image and skeleton tags between the points.

        Returns, per image, its start tag's attributes and the index of the gap that closes it
        (its points are those before that index), and per skeleton, its image, its start tag's
        attributes and the gaps that open and close it (its points lie between). The lists stop
        at the first tag out of place: only the images closed before it count.
        """
        img_attrs: list[bytes] = []
        img_close: list[int] = []
        sk_img: list[int] = []
        sk_attrs: list[bytes] = []
        sk_open: list[int] = []
        sk_close: list[int] = []
        if n_points:
            blank = np.fromiter(map(bytes.isspace, gaps), dtype=bool, count=n_points + 1)
            blank[0] = blank[-1] = False
            tagged: list[int] = np.flatnonzero(~blank).tolist()
        else:
            tagged = [0]
        cache = self.gap_events
        if len(cache) > 4096:
            cache.clear()
        in_image = in_skeleton = False
        image = -1
        for g in tagged:
            gap = gaps[g]
            try:
                events, whole = cache[gap]
            except KeyError:
                events, whole = _gap_events(gap)
                if not any(e[0] == _OPEN_IMAGE for e in events):
                    cache[gap] = events, whole  # an image's tags are unique: not worth keeping
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
            if not ok or not whole or (g < n_points and not in_skeleton):
                break
        # skeletons of images not closed are not part of the result
        n_sk = bisect_right(sk_img, len(img_close) - 1)
        del sk_img[n_sk:], sk_attrs[n_sk:], sk_open[n_sk:]
        del sk_close[n_sk:]
        return img_attrs, img_close, sk_img, sk_attrs, sk_open, sk_close

    def _images(
        self, img_attrs: list[bytes], k: int
    ) -> tuple[list[tuple[str, dict[str, str] | None]], int]:
        """The first images (up to k) the lane may take: (subset, attributes), None for an image
        outside the ``--subset`` being read (skipped, as the expat path does)."""
        reader = self.reader
        out: list[tuple[str, dict[str, str] | None]] = []
        taken: set[tuple[str, str]] = set()
        for j in range(k):
            a = _attributes(img_attrs[j])
            if a is None:
                return out, j
            subset = a.get("subset") or ""
            if not reader.reads_subset(subset):
                out.append((subset, None))
                continue
            name = a.get("name")
            if not name or (subset, name) in taken or reader.has_image(subset, name):
                return out, j  # no name, or a duplicate: the expat path reports it
            taken.add((subset, name))
            out.append((subset, a))
        return out, k

    def _skeleton_label(self, attrs: bytes) -> str | None:
        """The category of a skeleton start tag, or None when the lane cannot decide it."""
        try:
            return self.skeleton_labels[attrs]
        except KeyError:
            pass
        a = _attributes(attrs)
        label = a.get("label") if a is not None else None
        if label is not None and label not in self.reader.meta.sublabels:
            label = None  # not in <meta>: the expat path notes its keypoints in first-seen order
        self.skeleton_labels[attrs] = label
        return label

    def _values(
        self, parts: list[bytes], layout: _Layout, n: int
    ) -> tuple[IntArray, FloatArray, FloatArray, IntArray] | int:
        """Label codes, x, y and v of the first ``n`` points, or the index of the first point
        the expat path reads differently (an unreadable or infinite number)."""
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
        codes = list(map(code.get, names))
        if None in codes:
            for name in dict.fromkeys(names):
                if name not in code:
                    code[name] = len(self.labels)
                    self.labels.append(name.decode("utf-8"))
            codes = list(map(code.get, names))
        return np.array(codes, dtype=np.int64), x, y, v
