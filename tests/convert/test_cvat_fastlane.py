"""The CVAT reader's fast lane gives exactly what the expat path gives.

Every case is converted twice, with the lane on and off (``fastlane.ENABLED``), and must give
the same output bytes, the same report (findings with codes, messages, sources and order; the
summary) or the same error. Cases: every fixture, every real CVAT file, the benchmark's
generated export, and hand-made exports aimed at the lane's edges (mixed images, duplicates,
layouts, chunk boundaries, numbers, bytes expat refuses). Each also says whether the lane must
have taken some images, so that a case cannot pass by never reaching it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.bench_cvat import generate
from kpconv.convert.builder import BuildOptions
from kpconv.convert.cvat import CvatOptions, convert_export, fastlane, parse_cvat, xmlsource
from kpconv.errors import KpconvError
from kpconv.spec import KeypointSpec, spec_from_mapping
from tests.conftest import FIXTURES, REALDATA, realdata_file
from tests.convert.test_cvat import transient_peak

CVAT = FIXTURES / "cvat"

SVG = (
    "&lt;line data-type=&quot;edge&quot; data-node-from=&quot;1&quot; "
    "data-node-to=&quot;2&quot;&gt;&lt;/line&gt;"
    "&lt;circle data-type=&quot;element node&quot; data-node-id=&quot;1&quot; "
    "data-label-name=&quot;nose&quot;&gt;&lt;/circle&gt;"
    "&lt;circle data-type=&quot;element node&quot; data-node-id=&quot;2&quot; "
    "data-label-name=&quot;left_eye&quot;&gt;&lt;/circle&gt;"
)
META = f"""
  <meta>
    <task>
      <labels>
        <label><name>person</name><type>skeleton</type><attributes></attributes><svg>{SVG}</svg></label>
        <label><name>nose</name><type>points</type><attributes></attributes><parent>person</parent></label>
        <label><name>left_eye</name><type>points</type><attributes></attributes><parent>person</parent></label>
        <label><name>right_eye</name><type>points</type><attributes></attributes><parent>person</parent></label>
        <label><name>hand</name><type>skeleton</type><attributes></attributes></label>
        <label><name>a</name><type>points</type><attributes></attributes><parent>hand</parent></label>
        <label><name>b</name><type>points</type><attributes></attributes><parent>hand</parent></label>
        <label><name>car</name><type>rectangle</type><attributes></attributes></label>
      </labels>
    </task>
  </meta>"""


def _points(
    label: str, x: str = "10.5", y: str = "20.25", outside: str = "0", occluded: str = "0"
) -> str:
    return (
        f'      <points label="{label}" source="manual" outside="{outside}" occluded="{occluded}" '
        f'points="{x},{y}" z_order="0">\n      </points>\n'
    )


def _skeleton(
    *points: str, label: str = "person", attrs: str = ' source="manual" z_order="0"'
) -> str:
    return f'    <skeleton label="{label}"{attrs}>\n' + "".join(points) + "    </skeleton>\n"


def _image(name: str, *content: str, attrs: str = ' width="100" height="80"', i: int = 0) -> str:
    return f'  <image id="{i}" name="{name}"{attrs}>\n' + "".join(content) + "  </image>\n"


def _person(x: float = 10.0, y: float = 20.0) -> str:
    return _skeleton(
        _points("nose", f"{x:.2f}", f"{y:.2f}"),
        _points("left_eye", f"{x + 3:.2f}", f"{y + 1:.2f}", occluded="1"),
        _points("right_eye", f"{x - 3:.2f}", f"{y + 1:.2f}", outside="1"),
    )


def _doc(
    *images: str, meta: str = META, head: str = '<?xml version="1.0" encoding="utf-8"?>\n'
) -> str:
    return (
        f"{head}<annotations>\n  <version>1.1</version>{meta}\n"
        + "".join(images)
        + "</annotations>\n"
    )


def _plain(n: int, start: int = 0) -> list[str]:
    return [
        _image(f"img_{i:03d}.jpg", _person(10 + i, 20 + i), _person(40 + i, 30), i=i)
        for i in range(start, start + n)
    ]


def _outcome(
    path: Path,
    on: bool,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int | None = None,
    options: CvatOptions | None = None,
    spec: KeypointSpec | None = None,
) -> tuple[Any, int]:
    """(what the conversion gives: outputs and reports, or the error; images the lane read)."""
    monkeypatch.setattr(fastlane, "ENABLED", on)
    monkeypatch.setattr(xmlsource, "CHUNK_SIZE", chunk or (1 << 20))
    try:
        export = parse_cvat(path, options, spec)
        convs = convert_export(export, spec, BuildOptions())
    except KpconvError as exc:
        return ("error", type(exc).__name__, exc.message, exc.findings), 0
    out = {
        name: (conv.data, conv.report.findings, conv.report.summary, conv.spec_inferred)
        for name, conv in convs.items()
    }
    return (export.mode, export.subsets_seen, out), export.fast_images


def _same(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> int:
    """Assert both paths give the same; returns how many images the lane read."""
    fast, taken = _outcome(path, True, monkeypatch, **kw)
    slow, none = _outcome(path, False, monkeypatch, **kw)
    assert none == 0
    assert fast == slow
    return taken


def _write(tmp_path: Path, text: str, name: str = "annotations.xml", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- files


FIXTURE_FILES = sorted(p for p in CVAT.rglob("*") if p.suffix in (".xml", ".zip"))


@pytest.mark.parametrize(
    "path", FIXTURE_FILES, ids=[str(p.relative_to(CVAT)) for p in FIXTURE_FILES]
)
@pytest.mark.parametrize("chunk", [None, 61])
def test_fixtures(path: Path, chunk: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(path, monkeypatch, chunk=chunk)


REAL = [
    "datumaro-cvat-ai/tests/assets/cvat_dataset/for_images/train.xml",
    "datumaro-cvat-ai/tests/assets/cvat_dataset/for_video/annotations.xml",
    "datumaro/tests/assets/cvat_dataset/for_images/export_project/annotations.xml",
    "datumaro/tests/assets/cvat_dataset/for_images/export_task/train.xml",
    "datumaro/tests/assets/cvat_dataset/for_video/annotations.xml",
    "cvat-to-coco-duytue/annotations.xml",
    "keypoint-detection-tlpss/labeling/example/annotations.xml",
    "estop-keypoints-rrl/data/annotations.xml",
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    "rel", REAL, ids=[r.split("/")[0] + ":" + r.rsplit("/", 1)[-1] for r in REAL]
)
@pytest.mark.parametrize("chunk", [None, 97])
def test_real_files(rel: str, chunk: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(realdata_file(rel), monkeypatch, chunk=chunk)


@pytest.mark.realdata
def test_every_real_cvat_file_is_listed() -> None:
    if not REALDATA.exists():
        pytest.skip("no real data")
    found = {
        str(p.relative_to(REALDATA))
        for p in REALDATA.rglob("*.xml")
        if b"<annotations" in p.read_bytes()[:4096]
    }
    assert found == set(REAL)


@pytest.mark.realdata
def test_real_skeleton_export_is_read_by_the_lane(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CVAT's own layout (label occluded source outside points z_order) after a mixed image."""
    path = realdata_file("datumaro-cvat-ai/tests/assets/cvat_dataset/for_images/train.xml")
    assert _same(path, monkeypatch) == 0  # its two images hold boxes and polylines too
    text = path.read_text(encoding="utf-8")
    skeleton = text[text.index("    <skeleton") : text.index("  </image>")]
    extra = "".join(
        f'  <image height="8" id="{i}" name="more{i}.jpg" width="8">\n{skeleton}  </image>\n'
        for i in range(2, 7)
    )
    more = _write(tmp_path, text.replace("</annotations>", extra + "</annotations>"))
    assert _same(more, monkeypatch) == 5


@pytest.mark.parametrize("n", [1, 37])
@pytest.mark.parametrize("chunk", [None, 500, 4096])
def test_generated_benchmark_export(
    tmp_path: Path, n: int, chunk: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bench.xml"
    generate(path, n)
    taken = _same(path, monkeypatch, chunk=chunk)
    assert taken >= n - 2  # the first image follows <meta>; a tiny chunk may cost one more
    assert taken == n


# --------------------------------------------------------------------------- hand-made exports

BOX = '    <box label="car" source="manual" occluded="0" xtl="1" ytl="2" xbr="30" ybr="40" z_order="0">\n    </box>\n'
CVAT_ORDER = (
    '      <points label="{k}" occluded="0" source="manual" outside="0" points="{x},{y}" '
    'z_order="0">\n      </points>\n'
)


def _cvat_order(label: str, x: str, y: str) -> str:
    return CVAT_ORDER.format(k=label, x=x, y=y)


def _layout_images(n: int, start: int, points: Any) -> list[str]:
    return [
        _image(
            f"l{i}.jpg",
            _skeleton(points("nose", str(i), "2"), points("left_eye", "3", str(i))),
            i=i,
        )
        for i in range(start, start + n)
    ]


LONELY_META = """
  <meta><task><labels>
    <label><name>lonely</name><type>skeleton</type><attributes></attributes></label>
  </labels></task></meta>"""
TWICE_META = """
  <meta><task><labels>
    <label><name>twice</name><type>skeleton</type><attributes></attributes></label>
    <label><name>k</name><type>points</type><parent>twice</parent></label>
    <label><name>k</name><type>points</type><parent>other</parent></label>
    <label><name>other</name><type>skeleton</type></label>
  </labels></task></meta>"""
VIDEO_META = META.replace(
    "<labels>", "<original_size><width>100</width><height>80</height></original_size><labels>"
)
TRACK = (
    '  <track id="0" label="person" source="manual">\n'
    '    <skeleton frame="0" keyframe="1" outside="0" occluded="0" z_order="0">\n    </skeleton>\n'
    '    <track id="1" label="nose"><points frame="0" outside="0" occluded="0" keyframe="1" points="5,6" z_order="0"/></track>\n'
    "  </track>\n"
)
#: the same track as CVAT writes it: the element points inside each per-frame <skeleton>
TRACK_CVAT = (
    '  <track id="0" label="person" source="manual">\n'
    '    <skeleton frame="0" keyframe="1" z_order="0">\n'
    '      <points label="nose" keyframe="1" outside="0" occluded="0" points="5.00,6.00">\n      </points>\n'
    '      <points label="left_eye" keyframe="1" outside="1" occluded="0" points="7.00,8.00">\n      </points>\n'
    "    </skeleton>\n"
    '    <skeleton frame="1" keyframe="0" z_order="0">\n'
    '      <points label="nose" keyframe="0" outside="0" occluded="1" points="5.50,6.50">\n      </points>\n'
    '      <points label="left_eye" keyframe="0" outside="1" occluded="0" points="7.00,8.00">\n      </points>\n'
    "    </skeleton>\n"
    "  </track>\n"
)

# id -> (document, keyword arguments for _same, images the lane must read at least)
CASES: dict[str, tuple[str, dict[str, Any], int]] = {
    "plain": (_doc(*_plain(5)), {}, 5),
    "mixed fast and slow images": (
        _doc(
            *_plain(2),
            _image("box.jpg", _person(), BOX, i=10),
            *_plain(2, 2),
            _image(
                "attr.jpg",
                _skeleton(_points("nose"), '      <attribute name="pose">up</attribute>\n'),
                i=11,
            ),
            _image(
                "single.jpg",
                _points("person.nose", "1", "2"),
                _points("person.left_eye", "3", "4"),
                i=12,
            ),
            *_plain(1, 4),
            _image("box2.jpg", BOX, _person(), i=13),
            *_plain(1, 5),
        ),
        {},
        6,
    ),
    "duplicate: fast first, then expat": (
        _doc(*_plain(2), _image("img_000.jpg", _person(5, 5), BOX, i=9), *_plain(1, 2)),
        {},
        3,
    ),
    "duplicate: expat first, then fast": (
        _doc(_image("img_001.jpg", BOX, _person(), i=9), *_plain(3)),
        {},
        2,
    ),
    "duplicate within one run": (_doc(*_plain(3), *_plain(2), *_plain(1, 5)), {}, 4),
    "duplicate: the same image twice, both plain": (_doc(*_plain(1), *_plain(1)), {}, 1),
    "outside and occluded values": (
        _doc(
            *_plain(1),
            _image(
                "o.jpg",
                _skeleton(
                    _points("nose", "abc", "", outside="1"), _points("left_eye", outside="2")
                ),
            ),
            _image(
                "p.jpg",
                _skeleton(
                    _points("nose", occluded="true"),
                    _points("right_eye", "1e999", "1", outside="1"),
                ),
            ),
            _image(
                "q.jpg",
                _skeleton(
                    _points("nose", "1e999", "1", outside="1"), _points("left_eye", "1", "-1e400")
                ),
            ),
            _image(
                "r.jpg",
                _skeleton(_points("nose", "1e999", "-1e999", outside="1"), _points("left_eye")),
            ),
            *_plain(1, 1),
        ),
        {},
        3,
    ),
    "numbers float() reads (or not)": (
        _doc(
            *[
                _image(f"n{i}.jpg", _skeleton(_points("nose", x, "7")), i=i)
                for i, x in enumerate(
                    [
                        "+5",
                        ".5",
                        "5.",
                        "1e5",
                        "-0.0",
                        "00012.500",
                        "1E-3",
                        "-.25e+2",
                        "1.2.3",
                        "e5",
                        "",
                        "1e",
                        "+-1",
                        "123456789012345678901234567890.5",
                    ]
                )
            ]
        ),
        {},
        9,
    ),
    "three numbers or none": (
        _doc(
            *_plain(1),
            _image("t.jpg", _skeleton(_points("nose", "1", "2,3"))),
            _image("u.jpg", _skeleton(_points("nose", "1;2", "3"))),
            *_plain(1, 1),
        ),
        {},
        2,
    ),
    "keypoints not in the skeleton": (
        _doc(
            _image(
                "k.jpg",
                _skeleton(_points("nose"), _points("tail"), _points("nose", "1", "1"), _points("")),
            )
        ),
        {},
        1,
    ),
    "skeleton not in meta": (
        _doc(*_plain(1), _image("g.jpg", _skeleton(_points("nose"), label="ghost")), *_plain(1, 1)),
        {},
        2,
    ),
    "skeletons of two categories and group_id": (
        _doc(
            _image(
                "h.jpg",
                _skeleton(
                    _points("a"), _points("b", "1", "2"), label="hand", attrs=' group_id="3"'
                ),
                _person(),
            ),
            _image("i.jpg", _skeleton(label="hand"), _person()),
        ),
        {},
        2,
    ),
    "skeleton without sublabels: spec inferred from the labels": (
        _doc(
            *[
                _image(f"z{i}.jpg", _skeleton(_points("p"), _points("q"), label="lonely"), i=i)
                for i in range(3)
            ],
            meta=LONELY_META,
        ),
        {},
        3,
    ),
    "meta that is not a valid spec": (
        _doc(
            *[_image(f"w{i}.jpg", _skeleton(_points("k"), label="twice"), i=i) for i in range(2)],
            meta=TWICE_META,
        ),
        {},
        2,
    ),
    "no meta": (_doc(*_plain(3), meta=""), {}, 0),
    "images before the meta": (
        _doc(*_plain(2), meta="").replace(
            "</annotations>", META + "\n" + "".join(_plain(2, 2)) + "</annotations>"
        ),
        {},
        2,
    ),
    "a second meta changes the skeletons": (
        _doc(*_plain(2)).replace(
            "</annotations>", LONELY_META + "\n" + "".join(_plain(2, 2)) + "</annotations>"
        ),
        {},
        2,
    ),
    "layouts: CVAT's, minimal, extra attributes, newlines, then back": (
        _doc(
            *_layout_images(3, 0, _cvat_order),
            *_layout_images(
                2, 3, lambda k, x, y: f'      <points label="{k}" points="{x},{y}"/>\n'
            ),
            *_layout_images(
                2,
                5,
                lambda k, x, y: (
                    f'      <points\n        label="{k}"\n        points="{x},{y}"\n        outside="0" occluded="1" extra="e" />\n'
                ),
            ),
            *_layout_images(2, 7, _cvat_order),
            *_layout_images(2, 9, lambda k, x, y: _points(k, x, y)),
        ),
        {},
        11,
    ),
    "layouts the lane leaves to expat": (
        _doc(
            *_plain(1),
            *_layout_images(
                1, 1, lambda k, x, y: f"      <points label='{k}' points='{x},{y}'/>\n"
            ),
            *_layout_images(
                1, 2, lambda k, x, y: f'      <points label = "{k}" points="{x},{y}"/>\n'
            ),
            *_layout_images(1, 3, lambda k, x, y: f'      <points points="{x},{y}"/>\n'),
            *_layout_images(
                1, 4, lambda k, x, y: f'      <points label="{k}" points="{x},{y}">text</points>\n'
            ),
            *_layout_images(
                1,
                5,
                lambda k, x, y: (
                    f'      <points label="{k}" points="{x},{y}"><attribute name="v">1</attribute></points>\n'
                ),
            ),
            *_plain(1, 6),
        ),
        {},
        2,
    ),
    "image attributes in any order": (
        _doc(
            '  <image height="8" name="b.jpg" width="9" id="1">\n' + _person() + "  </image>\n",
            '  <image name="c.jpg" id="2" task_id="4" width="12.7" height="x">\n'
            + _person()
            + "  </image>\n",
            '  <image id="3" name="d.jpg">\n' + _person() + "  </image>\n",
            '  <image id="4" name="">\n' + _person() + "  </image>\n",
            '  <image id="5">\n' + _person() + "  </image>\n",
            *_plain(1),
        ),
        {},
        4,
    ),
    "whitespace in tags": (
        _doc(
            '  <image id="1" name="s.jpg" width="5" height="5" >\n    <skeleton label="person"\n>\n'
            '      <points label="nose" outside="0" occluded="0" points="1,2" z_order="0" ></points >\n'
            '      <points label="left_eye" outside="0" occluded="0" points="1,2" z_order="0"\t/>\n'
            "    </skeleton >\n  </image\n>\n",
            *_plain(1),
        ),
        {},
        1,
    ),
    "empty images and skeletons": (
        _doc(
            *_plain(1),
            '  <image id="1" name="e1.jpg" width="5" height="5">\n  </image>\n',
            '  <image id="2" name="e2.jpg" width="5" height="5"/>\n',
            '  <image id="3" name="e3.jpg" width="5" height="5">\n    <skeleton label="person"/>\n    <skeleton label="person"></skeleton>\n  </image>\n',
            *_plain(2, 1),
            '  <image id="4" name="e4.jpg" width="5" height="5"></image>\n',
        ),
        {},
        5,
    ),
    "comments, CDATA, processing instructions and entities": (
        _doc(
            *_plain(1),
            '  <image id="1" name="c1.jpg" width="5" height="5"><!-- note -->\n'
            + _person()
            + "  </image>\n",
            '  <image id="2" name="c2.jpg" width="5" height="5">\n'
            + _skeleton(_points("nose"), "<![CDATA[ x ]]>")
            + "  </image>\n",
            '  <image id="3" name="c3.jpg" width="5" height="5">\n<?pi x?>'
            + _person()
            + "  </image>\n",
            '  <image id="4" name="a&amp;b.jpg" width="5" height="5">\n'
            + _person()
            + "  </image>\n",
            _image("c5.jpg", _skeleton(_points("n&#111;se"))),
            '  <!-- <image id="6" name="hidden.jpg">\n' + _person() + "  </image> -->\n",
            *_plain(2, 1),
        ),
        {},
        2,
    ),
    "text between elements": (
        _doc(*_plain(1), _image("t.jpg", "  words\n", _person()), "  more words\n", *_plain(1, 1)),
        {},
        1,
    ),
    "non-ASCII names and labels": (
        _doc(
            _image("été/中文 😀.jpg", _person(), _skeleton(_points("nose"), _points("é"))),
            *_plain(1),
        ).replace(
            "<name>nose</name>",
            "<name>nose</name></label><label><name>é</name><type>points</type><parent>person</parent>",
        ),
        {},
        2,
    ),
    "subsets": (
        _doc(
            *[
                _image(
                    f"s{i}.jpg",
                    _person(),
                    attrs=f' subset="{["Train", "Validation"][i % 3 == 0]}" width="9" height="9"',
                    i=i,
                )
                for i in range(7)
            ],
            *_plain(2),
        ),
        {},
        9,
    ),
    "subsets, one selected": (
        _doc(
            *[
                _image(
                    f"s{i}.jpg",
                    _person(),
                    attrs=f' subset="{["Train", "Validation"][i % 3 == 0]}" width="9" height="9"',
                    i=i,
                )
                for i in range(7)
            ],
            *_plain(2),
        ),
        {"options": CvatOptions(subset="Validation")},
        9,
    ),
    "subsets, default selected": (
        _doc(
            *[
                _image(
                    f"s{i}.jpg",
                    _person(),
                    attrs=f' subset="{["Train", ""][i % 3 == 0]}" width="9" height="9"',
                    i=i,
                )
                for i in range(7)
            ],
            *_plain(2),
        ),
        {"options": CvatOptions(subset="default")},
        9,
    ),
    "subsets, none such": (_doc(*_plain(3)), {"options": CvatOptions(subset="Test")}, 0),
    "visibility attribute, a user spec": (
        _doc(
            *_plain(3),
            _image(
                "v.jpg",
                _skeleton(
                    _points("nose"),
                    '      <points label="left_eye" outside="0" occluded="0" points="1,2" z_order="0"><attribute name="vis">0</attribute></points>\n',
                ),
            ),
        ),
        {
            "options": CvatOptions(visibility_attribute="vis"),
            "spec": spec_from_mapping(
                {"name": "person", "keypoints": ["nose", "left_eye", "right_eye"]}
            ),
        },
        3,
    ),
    "video tracks after images, a frame named like an image": (
        _doc(
            *_plain(2),
            _image("frame_000000.png", _person(1, 1)),
            TRACK,
            *_plain(1, 2),
            meta=VIDEO_META,
        ),
        {},
        3,
    ),
    "video track in CVAT's layout between images, a frame named like an image": (
        _doc(
            *_plain(2),
            _image("frame_000001.png", _person(1, 1)),
            TRACK_CVAT,
            *_plain(1, 2),
            meta=VIDEO_META,
        ),
        {},
        3,
    ),
    "no XML declaration, BOM": (
        "\ufeff" + _doc(*_plain(3), head=""),
        {},
        3,
    ),
    "declared UTF-8 in capitals": (
        _doc(*_plain(2), head='<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'),
        {},
        2,
    ),
    "values holding > and quotes": (
        _doc(
            _image("a>b 'q'.jpg", _skeleton(_points("nose"), _points("left_eye")), i=1),
            *_plain(2),
        ).replace(
            "<name>nose</name>",
            "<name>nose</name></label><label><name>n>s</name><type>points</type><parent>person</parent>",
        ),
        {},
        3,
    ),
    "everything on one line": (
        _doc(*_plain(3), _image("box.jpg", BOX, i=9), *_plain(2, 3)).replace("\n", ""),
        {},
        4,
    ),
    "labels expat decodes or normalizes": (
        _doc(
            *_plain(2),
            _image("e.jpg", _skeleton(_points("n&amp;se"), _points("left_eye")), i=7),
            _image(
                "t.jpg", _skeleton(_points("no\tse"), _points("left\neye"), _points("a\rb")), i=8
            ),
            *_plain(2, 2),
        ),
        {},
        4,
    ),
    "declared Latin-1: the lane stays off": (
        _doc(*_plain(2), head='<?xml version="1.0" encoding="ISO-8859-1"?>\n'),
        {},
        0,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("chunk", [None, 7, 64, 333])
def test_hand_made(
    case: str, chunk: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, kwargs, least = CASES[case]
    monkeypatch.setattr(fastlane, "BACK_OFF_AFTER", 1000)  # every image is tried (counted below)
    taken = _same(_write(tmp_path, text), monkeypatch, chunk=chunk, **kwargs)
    assert taken >= least


@pytest.mark.parametrize("chunk", [None, 50])
def test_crlf_line_ends(chunk: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _doc(*_plain(2), _image("box.jpg", _person(), BOX), *_plain(2, 2))
    assert _same(_write(tmp_path, text, newline="\r\n"), monkeypatch, chunk=chunk) == 4
    cut = text.replace("</annotations>", "").encode().replace(b"\n", b"\r\n")[:-40]
    (tmp_path / "cut.xml").write_bytes(cut)
    _same(tmp_path / "cut.xml", monkeypatch, chunk=chunk)


BROKEN = {
    "truncated in a plain image": lambda t: t[: t.index("img_003.jpg") + 200],
    "truncated after a plain image": lambda t: t[: t.index("img_004.jpg") - 13],
    "junk after the root": lambda t: t + "".join(_plain(2, 9)),
    "unclosed image": lambda t: t.replace('  </image>\n  <image id="3"', '  <image id="3"', 1),
    "control character in whitespace": lambda t: t.replace(
        "\n      </points>", "\n  \x01  </points>", 40
    ),
    "vertical tab in whitespace": lambda t: t.replace(
        "\n      </points>", "\n  \x0b  </points>", 40
    ),
    "form feed between images": lambda t: t.replace('  <image id="2"', '\x0c <image id="2"'),
    "invalid UTF-8 in a value": lambda t: t.replace('source="manual"', 'source="man\udcffual"', 30),
    "U+FFFE in a label": lambda t: t.replace('label="nose"', 'label="no\ufffese"', 5),
    "]]> in text": lambda t: t.replace("\n      </points>", "]]></points>", 40),
    "duplicate attribute in a skeleton": lambda t: t.replace(
        ' source="manual" z_order="0">', ' z_order="0" z_order="1">', 4
    ),
    "duplicate attribute in an image": lambda t: t.replace(
        'name="img_002.jpg"', 'name="img_002.jpg" name="x"'
    ),
    "duplicate attribute in points": lambda t: t.replace(
        ' z_order="0">\n      </points>', ' z_order="0" z_order="1">\n      </points>', 30
    ),
    "< in a value": lambda t: t.replace('source="manual" outside', 'source="man<ual" outside', 25),
    "one line, truncated": lambda t: t.replace("\n", "")[:3000],
    "< in a label": lambda t: t.replace('label="left_eye"', 'label="left<eye"', 7),
    "mismatched end tag": lambda t: t.replace("    </skeleton>", "    </skeletons>", 5),
    "end tag of the root inside": lambda t: t.replace(
        '  <image id="3"', '</annotations>\n  <image id="3"'
    ),
    "undefined entity": lambda t: t.replace('name="img_002.jpg"', 'name="img&x;002.jpg"'),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
@pytest.mark.parametrize("chunk", [None, 64])
def test_broken_xml_gives_the_same_located_error(
    case: str, chunk: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = BROKEN[case](_doc(*_plain(6)))
    path = tmp_path / "broken.xml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    fast, _ = _outcome(path, True, monkeypatch, chunk=chunk)
    slow, _ = _outcome(path, False, monkeypatch, chunk=chunk)
    assert fast == slow
    assert fast[0] == "error" and fast[1] == "DataError", fast


def test_image_larger_than_the_carry_goes_to_expat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _image("big.jpg", *[_person(i, i) for i in range(40)])
    path = _write(tmp_path, _doc(*_plain(2), big, *_plain(2, 2)))
    monkeypatch.setattr(fastlane, "MAX_CARRY", 1000)
    assert _same(path, monkeypatch, chunk=200) >= 3


def test_layouts_beyond_the_limit_go_to_expat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(
        tmp_path, CASES["layouts: CVAT's, minimal, extra attributes, newlines, then back"][0]
    )
    monkeypatch.setattr(fastlane, "MAX_LAYOUTS", 1)
    monkeypatch.setattr(fastlane, "BACK_OFF_AFTER", 1000)
    assert _same(path, monkeypatch) == 5  # the first layout (CVAT's) only


def test_order_of_a_merged_duplicate_image_is_the_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain image taken by the lane, the same name later with a box: one image entry whose
    annotations keep document order (the lane's first), as the expat path gives."""
    path = _write(tmp_path, CASES["duplicate: fast first, then expat"][0])
    assert _same(path, monkeypatch) == 3
    monkeypatch.setattr(fastlane, "ENABLED", True)
    export = parse_cvat(path)
    res = export.subsets[""]
    assert res.arrays is None  # turned back into objects, in document order
    assert [i.source.rsplit(":", 1)[-1] for i in res.instances if i.image == "img_000.jpg"] == [
        '<image name="img_000.jpg">/skeleton[1]',
        '<image name="img_000.jpg">/skeleton[2]',
        '<image name="img_000.jpg">/skeleton[1]',
    ]


# --------------------------------------------------------------------------- numbers and memory


def test_numbers_are_bit_identical_to_float(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    texts = []
    for _ in range(3000):
        value = rng.uniform(-5000, 5000) * 10 ** rng.randint(-12, 12)
        form = rng.randrange(5)
        if form == 0:
            texts.append(repr(value))
        elif form == 1:
            texts.append(f"{value:.{rng.randint(0, 25)}f}")
        elif form == 2:
            texts.append(f"{value:.{rng.randint(1, 20)}e}")
        elif form == 3:
            texts.append(str(rng.randint(-(10**20), 10**20)))
        else:
            texts.append(
                "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 28)))
                + "."
                + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 28)))
            )
    pairs = [(texts[i], texts[-1 - i]) for i in range(len(texts))]
    images = [
        _image(
            f"r{i}.jpg",
            _skeleton(*[_points("nose", x, y) for x, y in pairs[i * 100 : (i + 1) * 100]]),
            i=i,
        )
        for i in range(len(pairs) // 100)
    ]
    path = _write(tmp_path, _doc(*images))
    assert _same(path, monkeypatch) == len(images)
    monkeypatch.setattr(fastlane, "ENABLED", True)
    cols = parse_cvat(path).subsets[""].columns()
    expected_x = np.array([float(x) for x, _ in pairs])
    expected_y = np.array([float(y) for _, y in pairs])
    assert cols.x.view(np.int64).tolist() == expected_x.view(np.int64).tolist()
    assert cols.y.view(np.int64).tolist() == expected_y.view(np.int64).tolist()


def test_memory_of_the_lane_does_not_grow_with_the_number_of_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xmlsource, "CHUNK_SIZE", 1 << 14)
    sizes = {}
    for n in (200, 2000):
        path = _write(tmp_path, _doc(*_plain(n)), name=f"a{n}.xml")
        peak, export = transient_peak(path)
        assert export.fast_images > 0
        sizes[n] = (path.stat().st_size, peak)
    (small_xml, small_peak), (big_xml, big_peak) = sizes[200], sizes[2000]
    assert big_xml > 9 * small_xml
    assert big_peak < 1.5 * small_peak, sizes


# --------------------------------------------------------------------------- random mixtures


def _pool(rng: random.Random, i: int) -> str:
    """One image of a random kind (most plain, as in a real export)."""
    name = f"p{rng.randrange(40)}.jpg" if rng.random() < 0.1 else f"img{i}.jpg"
    kind = rng.randrange(20)
    if kind < 9:
        return _image(
            name,
            *[_person(rng.uniform(0, 90), rng.uniform(0, 70)) for _ in range(rng.randint(1, 3))],
            i=i,
        )
    if kind == 9:
        return _image(name, _person(), BOX, i=i)
    if kind == 10:
        return _image(
            name, _skeleton(_points("nose"), '      <attribute name="a">1</attribute>\n'), i=i
        )
    if kind == 11:
        return f'  <image id="{i}" name="{name}" width="9" height="9">\n  </image>\n'
    if kind == 12:
        return f'  <image id="{i}" name="{name}" width="9" height="9"/>\n'
    if kind == 13:
        return _image(
            name, _skeleton(*[_cvat_order(k, "1.5", "2") for k in ("nose", "left_eye")]), i=i
        )
    if kind == 14:
        return _image(
            name,
            _person(),
            attrs=f' subset="{rng.choice(["Train", "Val"])}" width="9" height="9"',
            i=i,
        )
    if kind == 15:
        return _image(f"é{i}/中.jpg", _person(), i=i)
    if kind == 16:
        return _image(
            name, _skeleton(_points("nose", rng.choice(["1e999", "x", "-0", "7.25"]), "3")), i=i
        )
    if kind == 17:
        return "  <!-- a comment -->\n" + _image(name, _person(), i=i)
    if kind == 18:
        return _image(name, _skeleton(label="hand"), _skeleton(_points("a"), label="hand"), i=i)
    return _image(name, _skeleton(_points("nose"), label=rng.choice(["ghost", "person"])), i=i)


@pytest.mark.parametrize("seed", range(24))
def test_random_mixtures(seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    text = _doc(*[_pool(rng, i) for i in range(rng.randint(5, 60))])
    if seed % 4 == 3:
        text = text.replace("\n", "\r\n")
    if seed % 6 == 5:
        text = text[: rng.randrange(len(text) // 2, len(text))]  # truncated somewhere
    monkeypatch.setattr(fastlane, "MAX_RUN", rng.choice([4, 16, 1 << 12]))
    monkeypatch.setattr(fastlane, "_LOOK_FIRST", rng.choice([0, 4, 64]))
    monkeypatch.setattr(fastlane, "BACK_OFF_AFTER", rng.choice([0, 1, 3, 1000]))
    path = tmp_path / "mix.xml"
    path.write_bytes(text.encode("utf-8"))
    for chunk in (None, rng.randint(20, 400), rng.randint(400, 5000)):
        _same(path, monkeypatch, chunk=chunk)


def test_utf16_export_is_left_to_expat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _doc(*_plain(3), head='<?xml version="1.0" encoding="utf-16"?>\n')
    path = tmp_path / "utf16.xml"
    path.write_bytes(text.encode("utf-16"))
    assert _same(path, monkeypatch) == 0
    assert _same(path, monkeypatch, chunk=33) == 0


@pytest.mark.parametrize(
    "texts",
    [
        ["1280", "720", "007", "+5", "-0", " 12 ", "1_000", "１２"],
        ["12.7", "8"],
        ["99999999999999999999", "1"],
        ["1e3", "x", "", None, "0x10"],
        [],
    ],
)
def test_image_sizes_read_in_bulk_as_one_by_one(texts: list[str | None]) -> None:
    from kpconv.convert.cvat.reader import _int, _ints

    assert _ints(texts) == [_int(t) for t in texts]


def test_an_export_the_lane_cannot_take_is_left_to_expat_with_few_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images with boxes one after the other: after a few, the lane leaves runs of them to expat
    without looking (its cost stays small); a plain stretch later is read by it again."""
    images = [_image(f"b{i}.jpg", _person(), BOX, i=i) for i in range(300)] + _plain(150)
    path = _write(tmp_path, _doc(*images))
    looks: list[int] = []
    take_run = fastlane.FastLane._take_run

    def counted(self: fastlane.FastLane, buf: bytes, pos: int) -> int:
        looks.append(pos)
        return take_run(self, buf, pos)

    monkeypatch.setattr(fastlane.FastLane, "_take_run", counted)
    taken = _same(path, monkeypatch)
    assert 150 - 63 <= taken < 150  # up to 63 plain images may be passed over while backing off
    assert len(looks) < 40  # instead of one per image with a box
