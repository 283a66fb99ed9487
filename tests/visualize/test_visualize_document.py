"""Loading for drawing: broken COCO still loads (what is drawable), non-COCO is a clear error."""

from __future__ import annotations

import pytest

from kpconv.errors import DataError
from kpconv.visualize import view_from_document

GOOD_IMAGE = {"id": 1, "file_name": "a.png", "width": 10, "height": 10}
GOOD_ANN = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 1, 2]}
GOOD_CAT = {"id": 1, "name": "c", "keypoints": ["p"], "skeleton": []}


def doc(**over):
    base = {"images": [GOOD_IMAGE], "annotations": [GOOD_ANN], "categories": [GOOD_CAT]}
    base.update(over)
    return base


def test_valid_document_uses_the_model():
    view = view_from_document(doc())
    assert view.structurally_valid and not view.findings
    assert [p for p, _ in view.annotations] == [0]


def test_entries_failing_the_model_are_kept_when_drawable_and_skipped_otherwise():
    anns = [
        GOOD_ANN,
        dict(GOOD_ANN, id=2, keypoints=[1, "x", 2]),  # bad value: still drawable
        dict(GOOD_ANN, id=3, category_id=[1]),  # a list for an id: cannot be placed
        "not an object",
    ]
    view = view_from_document(doc(annotations=anns, images=[GOOD_IMAGE, {"id": 2}]))
    assert not view.structurally_valid
    assert [p for p, _ in view.annotations] == [0, 1]
    assert [p for p, _ in view.images] == [0]
    skipped = sorted(f.pointer for f in view.findings)
    assert skipped == ["/annotations/2", "/annotations/3", "/images/1"]
    assert all(f.code == "visualize.entry_skipped" for f in view.findings)
    by_ptr = {f.pointer: f for f in view.findings}
    assert by_ptr["/annotations/2"].annotation_id == 3 and by_ptr["/annotations/2"].image_id == 1


def test_a_section_that_is_not_a_list_is_reported():
    view = view_from_document(doc(annotations={"a": 1}))
    assert view.annotations == [] and view.findings[0].pointer == "/annotations"


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ([{"image_id": 1, "keypoints": []}], "results"),
        ("text", "found a JSON str"),
        ({"shapes": [], "imagePath": "a.jpg"}, "LabelMe"),
        ({"foo": 1}, "not a COCO dataset"),
    ],
)
def test_not_a_coco_dataset_is_a_clear_error(document, fragment):
    with pytest.raises(DataError) as exc:
        view_from_document(document, source="x.json")
    assert fragment in exc.value.message and "x.json" in exc.value.message
