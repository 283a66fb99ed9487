"""``kpconv visualize`` end to end on the bundled fixture: golden images, selection, --issues, bad input.

Golden renders test drawing, not font rasterisation. OpenCV releases rasterise Hershey text
differently (4.x and 5.x differ in glyph shapes and in ``getTextSize``, so label boxes change
width too), while points, lines, circles and boxes come out byte-identical. So a render is checked
in two parts:

1. against its stored PNG, everywhere except where text was drawn (text and its shaded
   background, recorded while rendering and stored beside each golden as ``<name>.text.png``; the
   union of the two masks is left out): at most 0.1 % of those pixels may differ by more than 16
   grey levels, and the mean difference must stay under 0.25;
2. against the dataset itself, wherever text lies: every labelled keypoint's marker at its
   coordinates (v=2 filled with its side's colour family: left blue, right orange, centre green;
   v=1 hollow), every skeleton edge between two labelled points drawn in its colour, every given
   box's sides in the box colour.

``test_golden_check_catches_*`` mutate a render or its dataset and assert the check fails: a
missing skeleton edge, a wrong colour family, v=1 drawn like v=2, a moved box; and
``test_golden_check_tolerates_other_text`` that different text inside the text regions passes.

Regenerate the expected images after an intended change with
``KPCONV_UPDATE_GOLDEN=1 .venv/bin/pytest tests/visualize`` and look at them before committing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

import kpconv.visualize.drawing as drawing
import kpconv.visualize.render as render
from kpconv.visualize import load_image
from kpconv.visualize.palette import keypoint_colours, name_side

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "visualize"
DATASET = FIXTURE / "dataset.json"
REPORT = FIXTURE / "report.json"
EXPECTED = FIXTURE / "expected"
UPDATE = os.environ.get("KPCONV_UPDATE_GOLDEN") == "1"
NAMES = ["scene", "gray", "rgba", "depth16"]

OFF_THRESHOLD = 16
MAX_FRACTION_OFF = 0.001
MAX_MEAN_ABS_DIFF = 0.25
#: text is anti-aliased past its nominal box by about a pixel
TEXT_MARGIN = 2
#: how far from a keypoint its marker covers edges and box sides (px, these small images)
MARKER_REACH = 3.6

#: text drawn after the markers (the findings panel, finding tags, keypoint names) covers them
DRAWN_OVER = {"_draw_panel", "_draw_finding_marks", "_draw_names"}


@dataclass
class TextMask:
    under: np.ndarray  # text drawn before the markers and edges (instance labels)
    over: np.ndarray  # text drawn after them

    @property
    def all(self) -> np.ndarray:
        return self.under | self.over


TextMasks = dict[bytes, TextMask]


@pytest.fixture
def text_masks(monkeypatch: pytest.MonkeyPatch) -> TextMasks:
    """Record where text is drawn in each render: {encoded image bytes: boolean mask}.

    Every text pixel goes through ``drawing.shade_rect`` (label and panel backgrounds) or
    ``cv2.putText`` inside ``kpconv.visualize.drawing``; both are wrapped to mark their boxes,
    and ``render.encode_image`` files the finished mask under the bytes it encoded.
    """
    pending: dict[int, TextMask] = {}
    done: TextMasks = {}

    def empty(img: np.ndarray) -> TextMask:
        return TextMask(np.zeros(img.shape[:2], bool), np.zeros(img.shape[:2], bool))

    def mark(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, pad: int) -> None:
        h, w = img.shape[:2]
        masks = pending.setdefault(img.__array_interface__["data"][0], empty(img))
        frame, over = sys._getframe(1), False
        while frame is not None and not over:
            over, frame = frame.f_code.co_name in DRAWN_OVER, frame.f_back
        mask = masks.over if over else masks.under
        mask[
            max(0, y0 - pad) : max(0, min(h, y1 + pad)), max(0, x0 - pad) : max(0, min(w, x1 + pad))
        ] = True

    real_shade = drawing.shade_rect

    def shade_rect(img, x0, y0, x1, y1, colour, alpha):  # type: ignore[no-untyped-def]
        mark(img, x0, y0, x1, y1, 0)
        real_shade(img, x0, y0, x1, y1, colour, alpha)

    class TextRecordingCv2:
        def __getattr__(self, name: str) -> object:
            return getattr(cv2, name)

        @staticmethod
        def putText(img, text, org, font, scale, colour, thickness=1, line_type=8, *rest):  # type: ignore[no-untyped-def]  # noqa: N802
            (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
            mark(img, org[0], org[1] - th, org[0] + tw, org[1] + base, TEXT_MARGIN + thickness)
            return cv2.putText(img, text, org, font, scale, colour, thickness, line_type, *rest)

    real_encode = render.encode_image

    def encode_image(img: np.ndarray, fmt: str) -> bytes:
        data = real_encode(img, fmt)
        key = img.__array_interface__["data"][0]
        done[data] = pending.pop(key, None) or empty(img)
        return data

    monkeypatch.setattr(drawing, "shade_rect", shade_rect)
    monkeypatch.setattr(drawing, "cv2", TextRecordingCv2())
    monkeypatch.setattr(render, "encode_image", encode_image)
    return done


def read_mask(path: Path) -> np.ndarray:
    m = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert m is not None, f"missing text mask {path} (run with KPCONV_UPDATE_GOLDEN=1)"
    return m > 0


def compare_outside_text(
    actual: np.ndarray, expected: np.ndarray, text: np.ndarray, what: str
) -> None:
    """Part 1: the pixels outside ``text`` match the golden within the module's tolerance."""
    assert actual.shape == expected.shape, f"{what}: size {actual.shape} != {expected.shape}"
    keep = ~text
    diff = np.abs(actual.astype(np.int16) - expected.astype(np.int16))[keep]
    mean = float(diff.mean()) if diff.size else 0.0
    off = float((diff.max(axis=1) > OFF_THRESHOLD).mean()) if diff.size else 0.0
    assert mean < MAX_MEAN_ABS_DIFF and off <= MAX_FRACTION_OFF, (
        f"{what}: outside text, mean abs diff {mean:.3f} (limit {MAX_MEAN_ABS_DIFF}), "
        f"{off:.2%} of pixels off by > {OFF_THRESHOLD} (limit {MAX_FRACTION_OFF:.1%})"
    )


def _near(
    img: np.ndarray,
    x: float,
    y: float,
    bgr: tuple[int, int, int],
    tol: int,
    same_family: bool = False,
) -> bool:
    """Some pixel next to (x, y) is within ``tol`` (max channel) of ``bgr`` (and of its family)."""
    h, w = img.shape[:2]
    cx, cy = int(round(x)), int(round(y))
    if not (0 <= cx < w and 0 <= cy < h):
        return False
    patch = img[max(0, cy - 1) : cy + 2, max(0, cx - 1) : cx + 2].reshape(-1, 3)
    close = np.abs(patch.astype(int) - np.asarray(bgr)).max(axis=1) <= tol
    if same_family:
        family = _family(np.asarray(bgr))
        close &= np.asarray([_family(p) == family for p in patch])
    return bool(close.any())


def _family(bgr: np.ndarray) -> str:
    b, g, r = (int(c) for c in bgr)
    if b > r + 40 and b >= g - 60:
        return "left"
    if r > b + 60:
        return "right"
    if g > r + 20 and g > b + 20:
        return "centre"
    return "none"


def _segment_drawn(
    img: np.ndarray,
    a: tuple[float, float],
    b: tuple[float, float],
    rgb: tuple[int, int, int],
    skip: np.ndarray,
    tol: int,
    same_family: bool = False,
) -> tuple[int, int]:
    """(hits, samples): pixels along a→b in colour ``rgb``, leaving out samples on ``skip``."""
    (x0, y0), (x1, y1) = a, b
    n = max(3, int(np.hypot(x1 - x0, y1 - y0)))
    hits = total = 0
    for t in np.linspace(0, 1, n):
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        cx, cy = int(round(x)), int(round(y))
        if not (0 <= cy < skip.shape[0] and 0 <= cx < skip.shape[1]) or skip[cy, cx]:
            continue
        total += 1
        hits += _near(img, x, y, (rgb[2], rgb[1], rgb[0]), tol, same_family)
    return hits, total


def check_drawn_from_data(
    img: np.ndarray,
    doc: dict,
    image_id: int,
    annotation_ids: set[int] | None = None,
    text: TextMask | None = None,
) -> None:
    """Part 2: markers, skeleton edges and given boxes of ``image_id`` are where the data says.

    Markers cover edges and box sides near them, and text drawn over the picture (``text.over``)
    covers anything: those samples are left out. Box sides under a label are left out too (labels
    are drawn over boxes).
    """
    cat = doc["categories"][0]
    names = cat["keypoints"]
    colours = keypoint_colours(names, len(names))
    h, w = img.shape[:2]
    text = text or TextMask(np.zeros((h, w), bool), np.zeros((h, w), bool))
    anns = [a for a in doc["annotations"] if a["image_id"] == image_id]
    # a marker is a disc of radius 2 in a dark ring of radius 3 on these small images
    markers = np.zeros((h, w), bool)
    yy, xx = np.mgrid[0:h, 0:w]
    for ann in anns:
        for x, y, v in np.asarray(ann["keypoints"], float).reshape(-1, 3):
            if v > 0:
                markers |= (xx - x) ** 2 + (yy - y) ** 2 <= MARKER_REACH**2
    for ann in anns:
        if annotation_ids is not None and ann["id"] not in annotation_ids:
            continue
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        where = f"annotation {ann['id']}"
        for i, (x, y, v) in enumerate(kp.tolist()):
            if (
                v == 0
                or not (0 <= round(x) < w and 0 <= round(y) < h)
                or text.over[round(y), round(x)]
            ):
                continue
            side = name_side(names[i]) or "centre"
            centre = img[int(round(y)), int(round(x))]
            if v == 2:
                assert _family(centre) == side, (
                    f"{where}: keypoint {names[i]} (v=2) should be filled in the {side} colour family, "
                    f"found BGR {centre.tolist()} at its centre"
                )
                continue
            assert _family(centre) != side, (
                f"{where}: keypoint {names[i]} (v=1) should be hollow, found it filled"
            )
            rgb = colours.colours[i]
            ring = [
                _near(img, x + dx * 2, y + dy * 2, (rgb[2], rgb[1], rgb[0]), 48)
                for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
            ]
            assert sum(ring) >= 2, f"{where}: keypoint {names[i]} (v=1) has no ring in its colour"
        for a, b in cat["skeleton"]:
            if kp[a - 1, 2] <= 0 or kp[b - 1, 2] <= 0:
                continue
            rgb = colours.edge_colour(a - 1, b - 1)
            # anti-aliased 1-px lines blend with what is below: near in colour and of its family
            hits, total = _segment_drawn(
                img, kp[a - 1, :2], kp[b - 1, :2], rgb, markers | text.over, 72, True
            )
            # an edge longer than two markers shows between them, unless text covers it
            long = np.hypot(*(kp[a - 1, :2] - kp[b - 1, :2])) > 2 * MARKER_REACH + 3
            hidden = _segment_drawn(img, kp[a - 1, :2], kp[b - 1, :2], rgb, ~text.over, 255)[1] > 0
            assert hits >= 0.75 * total and (hits > 0 or not long or hidden), (
                f"{where}: skeleton edge {names[a - 1]}-{names[b - 1]} not drawn in RGB {rgb} "
                f"({hits} of {total} samples)"
            )
        if ann.get("bbox"):
            bx, by, bw, bh = ann["bbox"]
            x1, y1 = bx + bw, by + bh
            for side in (((bx, by), (bx, y1)), ((x1, by), (x1, y1)), ((bx, y1), (x1, y1))):
                hits, total = _segment_drawn(img, *side, (225, 225, 225), markers | text.all, 24)
                assert hits >= 0.75 * total, (
                    f"{where}: box side {side} not drawn ({hits} of {total} samples)"
                )


def assert_render_ok(
    actual: Path,
    expected_name: str,
    masks: TextMasks,
    doc: dict | None = None,
    annotation_ids: set[int] | None = None,
) -> None:
    """``actual`` (a file the CLI wrote) passes both parts against ``expected/<expected_name>``."""
    data = actual.read_bytes()
    assert data in masks, f"{actual}: no text mask recorded (was it rendered in this process?)"
    stem = Path(expected_name).stem
    golden, golden_text = EXPECTED / expected_name, EXPECTED / f"{stem}.text.png"
    if UPDATE:
        EXPECTED.mkdir(exist_ok=True)
        shutil.copyfile(actual, golden)
        cv2.imwrite(str(golden_text), masks[data].all.astype(np.uint8) * 255)
        return
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    expected = cv2.imread(str(golden), cv2.IMREAD_COLOR)
    assert expected is not None, f"missing golden image {golden} (run with KPCONV_UPDATE_GOLDEN=1)"
    compare_outside_text(
        img, expected, masks[data].all | read_mask(golden_text), f"{actual} vs {golden}"
    )
    doc = doc if doc is not None else json.loads(DATASET.read_text())
    image_id = next(i["id"] for i in doc["images"] if Path(i["file_name"]).stem == actual.stem)
    check_drawn_from_data(img, doc, image_id, annotation_ids, masks[data])


def out_image(out: Path, name: str) -> Path:
    return out / "images" / "images" / f"{name}.png"


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture folder (for tests that break an image)."""
    dst = tmp_path / "fx"
    shutil.copytree(FIXTURE, dst, ignore=shutil.ignore_patterns("expected", "*.py"))
    return dst


def test_golden_renders(run_cli, tmp_path, text_masks):
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out)
    assert res.exit_code == 0, res.stderr
    for name in NAMES:
        assert_render_ok(out_image(out, name), f"{name}.png", text_masks)
    assert "rendered 4 of 4" in res.stderr
    assert "1 annotation(s) have no bbox" in res.stderr


# -- the golden check itself: it fails on what matters and tolerates text -------------------------
def _render_scene(run_cli: Callable, tmp_path: Path, doc: dict, name: str) -> Path:
    images = tmp_path / name
    (images / "images").mkdir(parents=True)
    shutil.copyfile(FIXTURE / "images" / "scene.png", images / "images" / "scene.png")
    doc = dict(doc, images=[i for i in doc["images"] if i["id"] == 1])
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] == 1]
    (images / "d.json").write_text(json.dumps(doc))
    res = run_cli(
        "visualize", images / "d.json", "--images", images, "-o", images / "out", "--no-summary"
    )
    assert res.exit_code == 0, res.stderr
    return out_image(images / "out", "scene")


def _check_scene(path: Path, masks: TextMasks, doc: dict) -> None:
    assert_render_ok(path, "scene.png", masks, doc)


@pytest.mark.skipif(UPDATE, reason="checks the golden check, not the goldens")
def test_golden_check_passes_the_unchanged_scene(run_cli, tmp_path, text_masks):
    doc = json.loads(DATASET.read_text())
    _check_scene(_render_scene(run_cli, tmp_path, doc, "same"), text_masks, doc)


def _mutated(edit: Callable[[dict], None]) -> dict:
    doc = json.loads(DATASET.read_text())
    edit(doc)
    return doc


MUTATIONS = {
    # skeleton [1, 2] is head-left_shoulder: drop it from the picture, not from the check's data
    "missing skeleton edge": lambda d: d["categories"][0].update(
        skeleton=d["categories"][0]["skeleton"][1:]
    ),
    # annotation 1's left_hand (index 3) is v=1: draw it as v=2
    "v=1 drawn like v=2": lambda d: d["annotations"][0]["keypoints"].__setitem__(3 * 3 + 2, 2),
    "box moved 3 px": lambda d: d["annotations"][0].update(bbox=[17.0, 10.0, 28.0, 42.0]),
}


@pytest.mark.skipif(UPDATE, reason="checks the golden check, not the goldens")
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_golden_check_catches_a_wrong_render(run_cli, tmp_path, text_masks, mutation):
    truth = json.loads(DATASET.read_text())
    path = _render_scene(run_cli, tmp_path, _mutated(MUTATIONS[mutation]), "mutated")
    with pytest.raises(AssertionError):
        _check_scene(path, text_masks, truth)


@pytest.mark.skipif(UPDATE, reason="checks the golden check, not the goldens")
def test_golden_check_catches_a_wrong_colour_family(run_cli, tmp_path, text_masks):
    truth = json.loads(DATASET.read_text())
    path = _render_scene(run_cli, tmp_path, truth, "colours")
    img = cv2.imread(str(path))
    swapped = cv2.imencode(".png", np.ascontiguousarray(img[:, :, ::-1]))[
        1
    ].tobytes()  # blue <-> orange
    text_masks[swapped] = text_masks[path.read_bytes()]
    path.write_bytes(swapped)
    with pytest.raises(AssertionError, match="colour family|outside text"):
        _check_scene(path, text_masks, truth)
    # the data check alone catches it too, wherever text hides the golden comparison
    with pytest.raises(AssertionError, match="colour family"):
        check_drawn_from_data(cv2.imread(str(path)), truth, 1)


@pytest.mark.skipif(UPDATE, reason="checks the golden check, not the goldens")
def test_golden_check_catches_an_edge_missing_under_a_label(run_cli, tmp_path, text_masks):
    """An edge hidden from the golden comparison by a label's text mask is still checked."""
    truth = json.loads(DATASET.read_text())
    path = _render_scene(run_cli, tmp_path, _mutated(MUTATIONS["missing skeleton edge"]), "e")
    text = text_masks[path.read_bytes()]
    x0, y0 = truth["annotations"][0]["keypoints"][0:2]
    assert text.under[round(y0) + 3, round(x0) - 3], "the edge is meant to run under the label"
    with pytest.raises(AssertionError, match="skeleton edge head-left_shoulder"):
        check_drawn_from_data(cv2.imread(str(path)), truth, 1, text=text)


@pytest.mark.skipif(UPDATE, reason="checks the golden check, not the goldens")
def test_golden_check_tolerates_other_text(run_cli, tmp_path, text_masks):
    """Another OpenCV's glyphs: noise inside the recorded text regions still passes."""
    truth = json.loads(DATASET.read_text())
    path = _render_scene(run_cli, tmp_path, truth, "text")
    mask = text_masks[path.read_bytes()].all
    img = cv2.imread(str(path))
    rng = np.random.default_rng(0)
    # keep the markers and edges themselves (text never covers them: labels are drawn first)
    drawn = np.zeros(mask.shape, bool)
    check = truth["annotations"][:2]
    for ann in check:
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        for x, y, v in kp:
            if v > 0:
                drawn[max(0, int(y) - 4) : int(y) + 5, max(0, int(x) - 4) : int(x) + 5] = True
    noisy = mask & ~drawn
    img[noisy] = rng.integers(0, 255, size=(int(noisy.sum()), 3), dtype=np.uint8)
    data = cv2.imencode(".png", img)[1].tobytes()
    text_masks[data] = text_masks[path.read_bytes()]
    path.write_bytes(data)
    _check_scene(path, text_masks, truth)


def test_every_input_kind_keeps_its_pixel_size(run_cli, tmp_path):
    out = tmp_path / "out"
    assert run_cli("visualize", DATASET, "-o", out, "--no-summary").exit_code == 0
    for name in NAMES:
        src = cv2.imread(str(FIXTURE / "images" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        dst = cv2.imread(str(out_image(out, name)), cv2.IMREAD_UNCHANGED)
        assert dst.shape[:2] == src.shape[:2] and dst.shape[2] == 3 and dst.dtype == np.uint8, name
    assert {p.name for p in (out / "images" / "images").iterdir()} == {f"{n}.png" for n in NAMES}


def test_rerun_is_byte_identical_and_independent_of_workers(run_cli, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("visualize", DATASET, "-o", a, "--grid", "3", "--workers", "1").exit_code == 0
    assert run_cli("visualize", DATASET, "-o", b, "--grid", "3", "--workers", "3").exit_code == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_issues_mode_draws_only_flagged_annotations(run_cli, tmp_path, text_masks):
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out, "--issues", REPORT, "--no-summary")
    assert res.exit_code == 0, res.stderr
    # depth16 and rgba have no findings: not rendered
    assert sorted(p.name for p in (out / "images" / "images").iterdir()) == [
        "gray.png",
        "scene.png",
    ]
    flagged = {
        f["annotation_id"]
        for f in json.loads(REPORT.read_text())["issues"]
        if f.get("annotation_id")
    }
    assert_render_ok(
        out_image(out, "scene"), "issues-scene.png", text_masks, annotation_ids=flagged
    )
    assert_render_ok(out_image(out, "gray"), "issues-gray.png", text_masks, annotation_ids=flagged)
    # annotation 1 (not flagged) sits at x 14..42 on the scene: those pixels are the raw image
    raw = load_image(FIXTURE / "images" / "scene.png")
    issues = cv2.imread(str(out_image(out, "scene")))
    assert np.array_equal(issues[0:46, 10:46], raw[0:46, 10:46])
    # ... while a normal render draws it there
    normal = tmp_path / "normal"
    run_cli("visualize", DATASET, "-o", normal, "--no-summary")
    full = cv2.imread(str(out_image(normal, "scene")))
    assert not np.array_equal(full[0:46, 10:46], raw[0:46, 10:46])
    # the category-level finding is counted, not drawn
    assert "visualize.finding_unplaced" in res.stderr and "category.no_skeleton" in res.stderr


def test_issues_from_the_real_validator(run_cli, tmp_path):
    report = tmp_path / "report.json"
    res = run_cli("validate", DATASET, "--images", FIXTURE, "--format", "json")
    report.write_text(res.stdout)
    flagged_images = {f.get("image_id") for f in json.loads(res.stdout)["issues"]} - {None}
    assert flagged_images, "the fixture is meant to have findings"
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out, "--issues", report, "--grid", "4")
    assert res.exit_code == 0, res.stderr
    names = {
        img["id"]: Path(img["file_name"]).stem for img in json.loads(DATASET.read_text())["images"]
    }
    rendered = {p.stem for p in (out / "images" / "images").iterdir()}
    assert rendered == {names[i] for i in flagged_images}
    assert (out / "sheets" / "sheet-001.png").is_file()


def test_selection_options(run_cli, tmp_path):
    def rendered(*args: str) -> set[str]:
        out = tmp_path / "o".join(args).replace("-", "").replace(",", "_")
        res = run_cli("visualize", DATASET, "-o", out, "--no-summary", *args)
        assert res.exit_code == 0, res.stderr
        folder = out / "images" / "images"
        return {p.stem for p in folder.iterdir()} if folder.exists() else set()

    assert rendered("--image-ids", "2,3") == {"gray", "rgba"}
    assert rendered("--annotation-ids", "5") == {"rgba"}
    assert rendered("--category", "figure", "--limit", "2") == {"scene", "gray"}
    assert rendered("--image-ids", "4,99") == {"depth16"}


def test_selection_usage_errors(run_cli, tmp_path):
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--category", "nope")
    assert res.exit_code == 2 and "figure" in res.stderr
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--image-ids", "1,a")
    assert res.exit_code == 2
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--image-ids", "99")
    assert res.exit_code == 0 and "no image with id 99" in res.stderr


def test_unknown_id_is_reported(run_cli, tmp_path):
    res = run_cli(
        "visualize", DATASET, "-o", tmp_path / "o", "--annotation-ids", "1,77", "--no-summary"
    )
    assert res.exit_code == 0
    assert "visualize.id_not_found" in res.stderr and "77" in res.stderr


def test_contact_sheets_and_summary(run_cli, tmp_path):
    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out, "--grid", "3")
    assert res.exit_code == 0
    sheets = sorted((out / "sheets").iterdir())
    assert [p.name for p in sheets] == ["sheet-001.png", "sheet-002.png"]
    a, b = (cv2.imread(str(p)) for p in sheets)
    assert a.shape == b.shape, "a partial last sheet keeps the grid"
    assert f"wrote {out / 'summary.svg'}" in res.stderr
    assert {p.name for p in out.iterdir()} == {"images", "sheets", "summary.svg"}
    res = run_cli("visualize", DATASET, "-o", tmp_path / "n", "--no-summary")
    assert res.exit_code == 0 and "summary" not in res.stderr
    assert not (tmp_path / "n" / "summary.svg").exists()


SVG = "{http://www.w3.org/2000/svg}"


def _summary_numbers(svg_path: Path) -> tuple[dict[str, dict[str, list[int]]], dict[str, int], set[str]]:
    """What summary.svg shows: {category: {keypoint: [v0, v1, v2]}} from each bar's title (and the
    counts written beside it), {instances: images} from the histogram's bar titles, the bar fills."""
    import re
    import xml.etree.ElementTree as ET

    root = ET.parse(svg_path).getroot()  # well-formed standalone XML, or this raises
    assert root.tag == f"{SVG}svg" and root.get("width") and root.get("height")
    assert root.find(f"{SVG}rect").get("fill") == "#fff", "a white background for image viewers"
    visibility: dict[str, dict[str, list[int]]] = {}
    instances: dict[str, int] = {}
    fills: set[str] = set()
    texts = [t.text for t in root.iter(f"{SVG}text")]
    cat = None
    for el in root.iter():
        if el.tag == f"{SVG}text" and el.text and el.text.startswith("keypoint visibility: "):
            cat = re.fullmatch(r"keypoint visibility: (.+) \(\d+ instances\)", el.text).group(1)
            visibility[cat] = {}
        title = el.find(f"{SVG}title")
        if el.tag == f"{SVG}rect" and title is not None:  # a visibility bar segment
            name, level, n = re.fullmatch(r"(.+) v=(\d): (\d+)", title.text).groups()
            visibility[cat].setdefault(name, [0, 0, 0])[int(level)] = int(n)
            fills.add(el.get("fill"))
        elif el.tag == f"{SVG}g" and title is not None:  # a histogram bar
            key, n = title.text.rsplit(": ", 1)
            instances[key] = int(n)
            assert str(n) in texts
    for table in visibility.values():  # the counts are also written out, for viewers without tooltips
        for counts in table.values():
            assert all(str(n) in texts for n in counts)
    return visibility, instances, fills


def test_summary_svg_charts_the_validators_numbers_with_the_reports_code(run_cli, tmp_path):
    from kpconv.report import charts

    out = tmp_path / "out"
    res = run_cli("visualize", DATASET, "-o", out)
    assert res.exit_code == 0 and f"wrote {out / 'summary.svg'}" in res.stderr
    summary_file = out / "summary.svg"
    assert summary_file.is_file(), "the summary is written by default"
    expected = json.loads(run_cli("validate", DATASET, "--format", "json").stdout)["summary"]
    visibility, instances, fills = _summary_numbers(summary_file)
    assert visibility == expected["visibility"] and visibility["figure"]["left_foot"] == [1, 2, 3]
    assert instances == expected["instances_per_image"] == {"1": 2, "2": 2}
    assert fills == set(charts._V_COLOURS), "the report's colours"
    # one chart code: the report's page draws the same visibility bars
    page_chart = charts.visibility_chart(expected["visibility"]["figure"], "x")
    for name, counts in expected["visibility"]["figure"].items():
        for level, n in enumerate(counts):
            assert f"<title>{name} v={level}: {n}</title>" in page_chart
            assert f"<title>{name} v={level}: {n}</title>" in summary_file.read_text()


def test_summary_of_a_dataset_without_keypoints_or_images(run_cli, tmp_path):
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "thing"}]}
    (tmp_path / "d.json").write_text(json.dumps(doc))
    res = run_cli("visualize", tmp_path / "d.json", "-o", tmp_path / "o")
    assert res.exit_code == 0, res.stderr
    visibility, instances, _ = _summary_numbers(tmp_path / "o" / "summary.svg")
    assert visibility == {} and instances == {}
    text = (tmp_path / "o" / "summary.svg").read_text()
    assert "no keypoint annotations to count" in text and "no images" in text


def test_missing_image_is_a_finding_the_rest_still_render(run_cli, fixture_copy, tmp_path):
    (fixture_copy / "images" / "gray.png").unlink()
    out = tmp_path / "out"
    res = run_cli("visualize", fixture_copy / "dataset.json", "-o", out, "--grid", "4")
    assert res.exit_code == 1
    assert "visualize.image_missing" in res.stderr and "gray.png" in res.stderr
    assert {p.stem for p in (out / "images" / "images").iterdir()} == {"scene", "rgba", "depth16"}
    assert (out / "sheets" / "sheet-001.png").is_file() and (out / "summary.svg").is_file()


def test_unreadable_image_is_a_finding(run_cli, fixture_copy, tmp_path):
    (fixture_copy / "images" / "rgba.png").write_bytes(b"\x89PNG but not really")
    res = run_cli("visualize", fixture_copy / "dataset.json", "-o", tmp_path / "out")
    assert res.exit_code == 1
    assert "visualize.image_unreadable" in res.stderr and "rgba.png" in res.stderr
    assert "rendered 3 of 4" in res.stderr


def test_dataset_failing_validation_still_renders(run_cli, fixture_copy, tmp_path):
    doc = json.loads((fixture_copy / "dataset.json").read_text())
    doc["annotations"][0]["keypoints"][4] = "oops"  # a string coordinate
    doc["annotations"][1]["bbox"] = [1, 2]  # malformed box: derived for display
    doc["annotations"][2]["category_id"] = None  # not placeable
    doc["images"][3]["width"] = "56"
    bad = fixture_copy / "bad.json"
    bad.write_text(json.dumps(doc))
    res = run_cli("visualize", bad, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.stderr
    assert "rendered 4 of 4" in res.stderr
    assert "visualize.entry_skipped" in res.stderr and "/annotations/2" in res.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[]", "results"),
        ("{not json", "not valid JSON"),
        ('{"shapes": [], "imagePath": "a.png"}', "LabelMe"),
    ],
)
def test_not_a_coco_dataset_exits_1(run_cli, tmp_path, content, fragment):
    path = tmp_path / "x.json"
    path.write_text(content)
    res = run_cli("visualize", path, "-o", tmp_path / "out")
    assert res.exit_code == 1
    assert res.stderr.startswith("kpconv: error:") and fragment in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_missing_dataset_or_images_folder_is_usage(run_cli, tmp_path):
    assert run_cli("visualize", tmp_path / "none.json", "-o", tmp_path / "o").exit_code == 2
    res = run_cli("visualize", DATASET, "--images", tmp_path / "nowhere", "-o", tmp_path / "o")
    assert res.exit_code == 2


def test_bad_report_is_a_clear_error(run_cli, tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('{"ok": true}')
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--issues", bad)
    assert res.exit_code == 1 and "not a kpconv validate report" in res.stderr
    bad.write_text('{"issues": [{"code": "a.b", "severity": "fatal"}]}')
    res = run_cli("visualize", DATASET, "-o", tmp_path / "o", "--issues", bad)
    assert res.exit_code == 1 and "/issues/0" in res.stderr


def test_outputs_never_overwrite_inputs(run_cli, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copyfile(FIXTURE / "images" / "scene.png", images / "scene.png")
    doc = json.loads(DATASET.read_text())
    doc["images"] = [dict(doc["images"][0], file_name="scene.png")]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] == 1]
    (tmp_path / "d.json").write_text(json.dumps(doc))
    before = (images / "scene.png").read_bytes()
    res = run_cli("visualize", tmp_path / "d.json", "--images", images, "-o", tmp_path)
    assert res.exit_code == 2 and "overwrite" in res.stderr
    assert (images / "scene.png").read_bytes() == before


def test_parallel_writes_keep_the_umask_and_normal_file_modes(run_cli, tmp_path):
    before = os.umask(0o022)
    os.umask(before)
    out = tmp_path / "out"
    assert run_cli("visualize", DATASET, "-o", out, "--workers", "4", "--grid", "2").exit_code == 0
    after = os.umask(before)
    os.umask(after)
    assert after == before, "rendering threads must not leave the process umask changed"
    for p in out.rglob("*.png"):
        assert p.stat().st_mode & 0o777 == 0o666 & ~before, p
