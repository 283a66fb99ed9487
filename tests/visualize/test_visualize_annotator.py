"""The annotator: visibility styles, colours by side, skeleton rules, derived boxes, finding marks."""

from __future__ import annotations

import numpy as np
import pytest

from kpconv.finding import Finding, Severity
from kpconv.model import Annotation, Category
from kpconv.spec import get_preset
from kpconv.visualize import KeypointAnnotator, display_box, keypoint_array
from kpconv.visualize.palette import keypoint_colours

GREY = 128
CAT = {
    "id": 1,
    "name": "thing",
    "keypoints": ["left_tip", "right_tip", "centre"],
    "skeleton": [[1, 3], [2, 3]],
}


def blank(h: int = 64, w: int = 64) -> np.ndarray:
    return np.full((h, w, 3), GREY, np.uint8)


def ann(kps: list[float], bbox: list[float] | None = None, ann_id: int = 1) -> dict:
    out = {"id": ann_id, "image_id": 1, "category_id": 1, "keypoints": kps}
    if bbox is not None:
        out["bbox"] = bbox
    return out


def plain() -> KeypointAnnotator:
    """No boxes or labels: only points and skeleton, so pixel checks see just those."""
    return KeypointAnnotator(show_boxes=False, show_labels=False, radius=4)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 0


def test_v2_filled_v1_hollow_v0_not_drawn():
    img = blank()
    v2 = plain().annotate(img, [ann([32, 32, 2, 0, 0, 0, 0, 0, 0])], CAT)
    v1 = plain().annotate(img, [ann([32, 32, 1, 0, 0, 0, 0, 0, 0])], CAT)
    v0 = plain().annotate(img, [ann([32, 32, 0, 0, 0, 0, 0, 0, 0])], CAT)
    assert np.array_equal(v0, img), "a v=0 point must not be drawn at all"
    assert changed(v2, img).any() and changed(v1, img).any()
    assert not np.array_equal(v1, v2), "v=1 and v=2 must look different"
    # v=2 is a filled disc: its centre is the point's colour; v=1 is a ring: its centre shows the image
    assert tuple(v1[32, 32]) == (GREY, GREY, GREY)
    assert tuple(v2[32, 32]) != (GREY, GREY, GREY)
    # both are drawn in the same colour (the keypoint's), on the ring for v=1
    ring_colours = {tuple(v1[32, 32 + dx]) for dx in (3, 4)}
    assert tuple(v2[32, 32]) in ring_colours


def test_v0_point_with_coordinates_is_still_not_drawn():
    img = blank()
    out = plain().annotate(img, [ann([10, 10, 0, 50, 50, 2, 30, 30, 2])], CAT)
    assert np.array_equal(out[2:18, 2:18], img[2:18, 2:18])


def test_skeleton_edges_only_between_visible_points():
    img = blank()
    # edge 2-3 joins (50,10) and (10,50): its midpoint (30,30) is far from both points
    both = plain().annotate(img, [ann([0, 0, 0, 50, 10, 2, 10, 50, 1])], CAT)
    one_hidden = plain().annotate(img, [ann([0, 0, 0, 50, 10, 2, 10, 50, 0])], CAT)
    assert changed(both, img)[30, 30]
    assert not changed(one_hidden, img)[30, 30]


def test_skeleton_is_one_based_and_out_of_range_edges_are_skipped():
    img = blank()
    cat = dict(CAT, skeleton=[[0, 1], [2, 9]])  # 0-based / out of range: nothing to draw
    out = plain().annotate(img, [ann([10, 10, 2, 50, 50, 2, 30, 30, 2])], cat)
    assert not changed(out, img)[20, 20] and not changed(out, img)[40, 40]


def test_left_and_right_points_get_different_colour_families():
    colours = keypoint_colours(["left_tip", "right_tip", "centre"], 3)
    assert colours.sides == ("left", "right", "centre")
    (lr, lg, lb), (rr, rg, rb), (cr, cg, cb) = colours.colours
    assert lb > lr, "left is a blue shade"
    assert rr > rb, "right is an orange shade"
    assert cg > cr and cg > cb, "centre is a green shade"


def test_coco_person_pairs_share_a_shade_per_pair():
    spec = get_preset("coco-person").categories[0]
    colours = keypoint_colours(spec.keypoints, 17, spec.flip_pairs)
    i, j = spec.keypoints.index("left_wrist"), spec.keypoints.index("right_wrist")
    assert colours.sides[i] == "left" and colours.sides[j] == "right"
    assert colours.sides[spec.keypoints.index("nose")] == "centre"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["L_Eye", "R_Eye", "Nose"], ("left", "right", "centre")),
        (
            ["forelegL1", "forelegR1", "neck"],
            ("left", "right", "centre"),
        ),  # zebra: display-only pairing
        (["leftear", "rightear", "snout"], ("left", "right", "centre")),  # DeepLabCut openfield
        (["LFrontWheel", "RFrontWheel", "Fork"], ("left", "right", "centre")),
        (["shoulder1", "shoulder2"], ("centre", "centre")),
    ],
)
def test_sides_from_real_naming_conventions(names, expected):
    assert keypoint_colours(names, len(names)).sides == expected


def test_missing_bbox_is_derived_from_visible_points_and_drawn_dashed():
    kp = keypoint_array([10, 10, 2, 50, 40, 1, 60, 60, 0])
    box, derived = display_box(None, kp, 64, 64)
    assert derived and box is not None
    x0, y0, x1, y1 = box
    assert x0 < 10 and y0 < 10 and x1 > 50 and y1 > 40 and y1 < 60, "v=0 points do not count"
    given, was_derived = display_box([5, 5, 20, 20], kp, 64, 64)
    assert given == (5, 5, 25, 25) and not was_derived

    annot = KeypointAnnotator(show_labels=False, radius=2, thickness=1)
    img = blank(80, 80)
    kps = [20, 20, 2, 60, 60, 2, 0, 0, 0]
    dashed = annot.annotate(img, [ann(kps)], CAT)
    bx = display_box(None, keypoint_array(kps), 80, 80)[0]
    solid = annot.annotate(img, [ann(kps, [bx[0], bx[1], bx[2] - bx[0], bx[3] - bx[1]])], CAT)
    row = int(round(bx[1]))
    span = slice(int(bx[0]) + 2, int(bx[2]) - 2)
    assert changed(solid, img)[row, span].all(), "a given box is a solid line"
    dashes = changed(dashed, img)[row, span]
    assert dashes.any() and not dashes.all(), "a derived box is dashed"


def test_sizes_scale_with_the_image():
    annot = KeypointAnnotator()
    small, large = annot.metrics(64, 64), annot.metrics(1080, 1920)
    assert large.radius > small.radius and large.thickness > small.thickness
    assert large.font_scale > small.font_scale
    fixed = KeypointAnnotator(radius=7, thickness=3).metrics(64, 64)
    assert (fixed.radius, fixed.thickness) == (7, 3)


def test_accepts_models_dicts_and_a_category_mapping():
    img = blank()
    a = ann([10, 10, 2, 50, 50, 2, 30, 30, 1], [5, 5, 50, 50])
    from_dicts = KeypointAnnotator().annotate(img, [a], {1: CAT})
    from_models = KeypointAnnotator().annotate(img, [Annotation(**a)], {1: Category(**CAT)})
    assert np.array_equal(from_dicts, from_models)
    assert np.array_equal(img, blank()), "the input array is not modified"


def test_unknown_category_still_draws_points_without_skeleton():
    img = blank()
    out = plain().annotate(img, [ann([10, 10, 2, 50, 50, 2, 30, 30, 2])], {7: CAT})
    assert changed(out, img)[10, 10]


def test_rgb_channel_order_swaps_colours():
    img = blank()
    a = [ann([32, 32, 2, 0, 0, 0, 0, 0, 0])]
    bgr = plain().annotate(img, a, CAT)
    rgb = KeypointAnnotator(
        show_boxes=False, show_labels=False, radius=4, channel_order="rgb"
    ).annotate(img, a, CAT)
    assert np.array_equal(bgr[..., ::-1], rgb)


def test_grayscale_and_16_bit_arrays_are_accepted_and_keep_their_size():
    gray16 = np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50
    out = plain().annotate(gray16, [ann([5, 5, 2, 0, 0, 0, 0, 0, 0])], CAT)
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8


def test_broken_keypoints_are_drawn_as_far_as_possible():
    img = blank()
    weird = ann(
        [10, 10, 2, None, "x", 2, 30, 30, 2, 40]
    )  # a non-number triple, a trailing partial one
    out = plain().annotate(img, [weird], CAT)
    assert changed(out, img)[10, 10] and changed(out, img)[30, 30]
    huge = ann([1e30, -1e30, 2, 30, 30, 2, 0, 0, 0], [1e30, 0, 5, 5])
    plain().annotate(img, [huge], CAT)  # must not raise or overflow


def test_finding_marks_the_named_keypoint_and_lists_it():
    img = blank()
    a = ann([12, 12, 2, 52, 12, 2, 32, 40, 2])
    f = Finding(
        "keypoints.outside_image",
        Severity.WARNING,
        "point is odd",
        "/annotations/0/keypoints/3",
        annotation_id=1,
    )
    without = plain().annotate(img, [a], CAT)
    marked = plain().annotate(img, [a], CAT, findings=[f])
    diff = changed(marked, without)
    # a square around keypoint 1 (52, 12), nothing new around keypoint 0 (12, 12)
    assert diff[2:22, 40:64].any()
    assert not diff[4:20, 4:20].any()
    # the panel with the code and message goes where it hides least of the annotation (here: the bottom)
    assert diff[56:, :].any()


def test_finding_about_another_annotation_is_listed_but_marks_nothing():
    img = blank()
    a = ann([12, 12, 2, 52, 12, 2, 32, 40, 2])
    other = Finding("x.y", Severity.ERROR, "m", "/annotations/5/keypoints/3", annotation_id=99)
    without = plain().annotate(img, [a], CAT)
    diff = changed(plain().annotate(img, [a], CAT, findings=[other]), without)
    assert diff.any(), "listed in the panel"
    assert not diff[2:22, 40:64].any(), "no mark on this annotation's keypoint"
