"""Placing report findings on images/annotations, planning jobs, naming outputs, ordered parallel map."""

from __future__ import annotations

from pathlib import Path

from kpconv.finding import Finding, Severity
from kpconv.visualize import Selection, place_findings, plan_jobs, view_from_document
from kpconv.visualize.render import Job, assign_outputs, ordered_map
from kpconv.visualize.targets import parse_target, pointer_tokens


def F(pointer: str = "", **kw) -> Finding:
    return Finding(kw.pop("code", "x.y"), kw.pop("severity", Severity.WARNING), "m", pointer, **kw)


def make_view():
    images = [{"id": 10 + i, "file_name": f"{i}.png", "width": 8, "height": 8} for i in range(3)]
    anns = [
        {"id": 100, "image_id": 10, "category_id": 1, "keypoints": [1, 1, 2]},
        {"id": 101, "image_id": 10, "category_id": 1, "keypoints": [2, 2, 2]},
        {"id": 102, "image_id": 11, "category_id": 1, "keypoints": [3, 3, 2]},
        {"id": 103, "image_id": 12, "category_id": None, "keypoints": [3, 3, 2]},  # not drawable
    ]
    cats = [{"id": 1, "name": "c", "keypoints": ["p"], "skeleton": []}]
    return view_from_document({"images": images, "annotations": anns, "categories": cats})


def test_pointer_parsing():
    assert parse_target("/annotations/17/keypoints/5").keypoint == 1
    assert parse_target("/annotations/17/keypoints/5").index == 17
    assert parse_target("/annotations/3/bbox/2").kind == "bbox"
    assert parse_target("/annotations/3/num_keypoints").kind == "annotation"
    assert parse_target("/images/2/width").kind == "image"
    assert parse_target("/categories/0/skeleton").kind == "other"
    assert parse_target("").kind == "other"
    assert pointer_tokens("/a~1b/c~0d") == ["a/b", "c~d"]


def test_findings_are_placed_by_pointer_then_id():
    view = make_view()
    findings = [
        F("/annotations/1/keypoints/0"),  # no annotation_id: filled in from the pointer
        F(annotation_id=102),  # id only
        F("/images/2/width"),
        F(image_id=11),
        F("/categories/0/skeleton"),
        F("/annotations/3/category_id"),  # not drawable: shown as text on its image (12)
    ]
    place = place_findings(view, findings)
    assert [f.annotation_id for f in place.by_image[0]] == [101]
    assert place.flagged == {0: {1}, 1: {2}}
    assert len(place.by_image[1]) == 2 and len(place.by_image[2]) == 2
    assert [f.pointer for f in place.unplaced] == ["/categories/0/skeleton"]
    assert place.mismatched == 0


def test_a_stale_report_is_placed_by_annotation_id_and_counted():
    view = make_view()
    place = place_findings(view, [F("/annotations/0/bbox", annotation_id=102)])
    assert place.mismatched == 1
    assert place.flagged == {1: {2}}


def test_issues_plan_draws_only_flagged_annotations():
    view = make_view()
    place = place_findings(view, [F("/annotations/1/keypoints/0", annotation_id=101)])
    jobs, notes = plan_jobs(view, Selection(), place)
    assert [(j.image.id, [a.id for a in j.annotations]) for j in jobs] == [(10, [101])]
    assert not notes


def test_plan_without_report_renders_every_image_with_all_its_annotations():
    jobs, _ = plan_jobs(make_view(), Selection())
    assert [(j.image.id, [a.id for a in j.annotations]) for j in jobs] == [
        (10, [100, 101]),
        (11, [102]),
        (12, []),
    ]
    jobs, _ = plan_jobs(make_view(), Selection(annotation_ids={101, 102}, limit=1))
    assert [(j.image.id, [a.id for a in j.annotations]) for j in jobs] == [(10, [101])]


def test_output_names_mirror_file_names_and_never_collide(tmp_path):
    view = view_from_document(
        {
            "images": [
                {"id": 1, "file_name": "a.jpg", "width": 1, "height": 1},
                {"id": 2, "file_name": "a.png", "width": 1, "height": 1},
                {"id": 3, "file_name": "../../etc/x.jpg", "width": 1, "height": 1},
                {"id": 4, "file_name": "sub\\b.jpeg", "width": 1, "height": 1},
            ],
            "annotations": [],
            "categories": [],
        }
    )
    jobs = [Job(pos, img, []) for pos, img in view.images]
    assign_outputs(jobs, tmp_path, "png")
    names = [j.output.relative_to(tmp_path / "images").as_posix() for j in jobs]
    assert names == ["a.png", "a.id2.png", "etc/x.png", "sub/b.png"]
    assert all(tmp_path in Path(j.output).parents for j in jobs)


def test_ordered_map_keeps_order_with_threads():
    items = list(range(50))
    assert list(ordered_map(lambda x: x * x, items, 4)) == [x * x for x in items]
    assert list(ordered_map(lambda x: -x, items, 1)) == [-x for x in items]
