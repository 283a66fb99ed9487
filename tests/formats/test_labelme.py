"""LabelMe / X-AnyLabeling parsing: fixtures, one-field-changed cases, real files, golden output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kpconv.convert.builder import BuildOptions, Conversion, convert
from kpconv.errors import UsageError
from kpconv.fileio import dumps_json
from kpconv.finding import Severity
from kpconv.formats.labelme import (
    DESCRIPTION,
    LabelmeOptions,
    LabelmeParse,
    find_json_files,
    parse_paths,
    write_extractions,
)
from kpconv.spec import load_spec, spec_from_keypoints, spec_from_mapping
from kpconv.validation import validate
from tests.conftest import FIXTURES, realdata_file

LM = FIXTURES / "labelme"
DEMO = LM / "demo"
CASES = LM / "cases"
PERSON = LM / "person.yaml"


def run(sources: list[Path] | Path, **opts: Any) -> tuple[LabelmeParse, Conversion]:
    """Parse and build like the command does (the user spec, if any, goes to both)."""
    srcs = sources if isinstance(sources, list) else [sources]
    spec = opts.get("spec")
    parsed = parse_paths(srcs, LabelmeOptions(**opts))
    conv = convert(parsed.result, spec, BuildOptions(description=DESCRIPTION))
    return parsed, conv


def codes(conv: Conversion, severity: Severity | None = None) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in conv.report.findings:
        if severity is None or f.severity is severity:
            out[f.code] = out.get(f.code, 0) + 1
    return out


def assert_valid(conv: Conversion, images: Path | None = None) -> None:
    """The built dataset passes the validator with no error (and with the images, when given)."""
    report = validate(conv.dataset, images=images)
    assert not report.errors, [f.to_dict() for f in report.errors]


def kps_by_name(conv: Conversion, ann: dict[str, Any]) -> dict[str, tuple[float, float, int]]:
    cats = {c["id"]: c for c in conv.dataset.to_document()["categories"]}
    names = cats[ann["category_id"]]["keypoints"]
    k = ann["keypoints"]
    return {n: (k[3 * i], k[3 * i + 1], k[3 * i + 2]) for i, n in enumerate(names)}


# --------------------------------------------------------------------------- demo fixtures


def test_demo_converts_validates_and_matches_golden_bytes(tmp_path: Path) -> None:
    parsed, conv = run(DEMO, spec=load_spec(PERSON))
    assert conv.report.ok, [f.to_dict() for f in conv.report.errors]
    assert parsed.images_root == DEMO.resolve()
    assert_valid(conv, images=DEMO)
    doc = conv.dataset.to_document()
    assert dumps_json(doc) == (LM / "expected" / "demo.json").read_bytes()


def test_demo_rerun_is_byte_identical() -> None:
    first = dumps_json(run(DEMO, spec=load_spec(PERSON))[1].dataset.to_document())
    second = dumps_json(run(DEMO, spec=load_spec(PERSON))[1].dataset.to_document())
    assert first == second


def test_demo_file_names_relative_to_common_image_parent() -> None:
    _, conv = run(DEMO, spec=load_spec(PERSON))
    names = [img["file_name"] for img in conv.dataset.to_document()["images"]]
    # xany_person.json lives in labels/ and says ..\images\xany_person.png (Windows separators)
    assert names == ["containment.png", "images/xany_person.png", "points_only.png", "two_people.png"]


def test_two_people_group_ids_zero_and_one_with_visibility_rules() -> None:
    _, conv = run(DEMO / "two_people.json", spec=load_spec(PERSON))
    anns = conv.dataset.to_document()["annotations"]
    assert len(anns) == 2
    a, b = (kps_by_name(conv, x) for x in anns)
    assert a["left_shoulder"][2] == 1  # flags: {"occluded": true}
    assert a["nose"] == (24.0, 14.0, 2)
    assert b["nose"] == (72.0, 16.0, 2)  # "person.nose": category prefix
    assert b["left_eye"] == (76.0, 13.0, 2)  # "leye": spec alias
    assert b["right_eye"][2] == 1  # "right_eye:occluded": default suffix
    assert b["right_shoulder"] == (0, 0, 0)  # absent from the instance
    assert anns[1]["bbox"] == [52.0, 6.0, 40.0, 56.0]  # corners given bottom-right first
    assert anns[0]["num_keypoints"] == 5 and anns[1]["num_keypoints"] == 4


def test_x_anylabeling_four_corner_rectangle_difficult_and_visible() -> None:
    _, conv = run(DEMO / "labels" / "xany_person.json", spec=load_spec(PERSON))
    (ann,) = conv.dataset.to_document()["annotations"]
    kp = kps_by_name(conv, ann)
    assert ann["bbox"] == [10.0, 6.0, 44.0, 54.0]
    assert kp["left_eye"][2] == 1  # difficult: true
    assert kp["right_eye"][2] == 2  # visible: false is the canvas state, not keypoint visibility
    assert ann["segmentation"] == []


def test_points_only_image_is_one_instance_with_derived_box() -> None:
    _, conv = run(DEMO / "points_only.json", spec=load_spec(PERSON))
    (ann,) = conv.dataset.to_document()["annotations"]
    assert ann["num_keypoints"] == 5
    assert ann["bbox"][0] < 16 and ann["bbox"][2] > 16  # around the points, with a margin
    assert_valid(conv)


def test_containment_assigns_points_to_rectangles_polygon_and_four_corner_box() -> None:
    _, conv = run(DEMO / "containment.json", spec=load_spec(PERSON))
    anns = conv.dataset.to_document()["annotations"]
    assert [a["num_keypoints"] for a in anns] == [2, 2, 3]
    assert anns[1]["segmentation"] == [[65.0, 2.0, 86.0, 20.0, 80.0, 62.0, 50.0, 62.0, 44.0, 20.0]]
    assert anns[1]["bbox"] == [44.0, 2.0, 42.0, 60.0]  # the polygon's extent
    assert kps_by_name(conv, anns[1])["right_eye"] == (61.0, 10.0, 2)
    assert conv.report.ok


def test_without_spec_infers_one_from_labels() -> None:
    parsed, conv = run(DEMO)
    assert conv.spec_inferred
    assert conv.spec is not None and conv.spec.names() == ["person"]
    # first-seen order over the sorted files (containment.json first), prefixes and suffixes removed
    assert conv.spec.categories[0].keypoints[:3] == ["nose", "left_shoulder", "right_eye"]
    assert "convert.spec_inferred" in codes(conv)
    assert "leye" in conv.spec.categories[0].keypoints  # no alias without a spec
    assert_valid(conv)


# --------------------------------------------------------------------------- scenario fixtures


CASE_TABLE = [
    # file, expected finding codes (all must appear), annotations written, exit-worthy (errors)
    ("outside_box.json", {"labelme.point_outside_boxes": 1}, 2, True),
    ("ambiguous.json", {"labelme.point_ambiguous": 1}, 2, True),
    ("ignored_shapes.json", {"labelme.shape_ignored": 5}, 1, False),
    ("embedded.json", {"labelme.image_embedded": 1}, 1, False),
]


@pytest.mark.parametrize(("name", "expected", "n_anns", "has_errors"), CASE_TABLE)
def test_case_fixtures(name: str, expected: dict[str, int], n_anns: int, has_errors: bool) -> None:
    _, conv = run(CASES / name, spec=load_spec(PERSON))
    found = codes(conv)
    for code, n in expected.items():
        assert found.get(code) == n, found
    assert len(conv.dataset.annotations) == n_anns
    assert (not conv.report.ok) is has_errors
    assert_valid(conv)


def test_point_outside_every_box_is_located_and_not_assigned() -> None:
    _, conv = run(CASES / "outside_box.json", spec=load_spec(PERSON))
    (f,) = [f for f in conv.report.findings if f.code == "labelme.point_outside_boxes"]
    assert f.severity is Severity.ERROR
    assert f.source == f"{CASES / 'outside_box.json'}:shapes[4]"
    assert "left_eye" in f.message and "(48, 2)" in f.message
    for ann in conv.dataset.to_document()["annotations"]:
        assert kps_by_name(conv, ann)["left_eye"] == (0, 0, 0)


def test_point_in_two_boxes_is_ambiguous_and_names_both() -> None:
    _, conv = run(CASES / "ambiguous.json", spec=load_spec(PERSON))
    (f,) = [f for f in conv.report.findings if f.code == "labelme.point_ambiguous"]
    assert f.source == f"{CASES / 'ambiguous.json'}:shapes[2]"
    assert "shapes[0]" in f.message and "shapes[1]" in f.message
    anns = conv.dataset.to_document()["annotations"]
    assert [kps_by_name(conv, a)["nose"][2] for a in anns] == [0, 0]


def test_ignored_shapes_are_info_with_their_index() -> None:
    _, conv = run(CASES / "ignored_shapes.json", spec=load_spec(PERSON))
    ignored = [f for f in conv.report.findings if f.code == "labelme.shape_ignored"]
    assert all(f.severity is Severity.INFO for f in ignored)
    assert [f.source.rsplit(":", 1)[1] for f in ignored if f.source] == [f"shapes[{i}]" for i in range(5)]
    assert {"'circle'", "'line'", "'linestrip'", "'mask'", "'rotation'"} == {f.message.split()[0] for f in ignored}


def test_embedded_image_is_never_in_coco_and_can_be_extracted(tmp_path: Path) -> None:
    out = tmp_path / "images"
    parsed, conv = run(CASES / "embedded.json", spec=load_spec(PERSON), extract_dir=out)
    text = dumps_json(conv.dataset.to_document())
    assert b"iVBOR" not in text and b"imageData" not in text
    assert [e.target.name for e in parsed.extractions] == ["embedded.png"]
    assert not (out / "embedded.png").exists()  # nothing is written while parsing
    written, problems = write_extractions(parsed.extractions)
    assert (written, problems) == (1, [])
    assert Image.open(out / "embedded.png").size == (16, 12)
    assert conv.dataset.images[0].file_name == "embedded.png"
    assert parsed.images_root == out.resolve()
    assert_valid(conv, images=out)
    # again: the same bytes are already there, nothing to do
    assert write_extractions(parsed.extractions) == (0, [])
    # a different file in the way is never overwritten
    (out / "embedded.png").write_bytes(b"not the same")
    written, problems = write_extractions(parsed.extractions)
    assert written == 0 and [p.code for p in problems] == ["labelme.extract_conflict"]
    assert (out / "embedded.png").read_bytes() == b"not the same"


# --------------------------------------------------------------------------- one field changed


def template() -> dict[str, Any]:
    """A valid LabelMe document: one person (group 0), two points, image next to the JSON."""
    return {
        "version": "5.5.0",
        "flags": {},
        "shapes": [
            {"label": "person", "points": [[2, 2], [30, 30]], "group_id": 0, "shape_type": "rectangle", "flags": {}},
            {"label": "nose", "points": [[10, 10]], "group_id": 0, "shape_type": "point", "flags": {}},
            {"label": "left_eye", "points": [[12, 8]], "group_id": 0, "shape_type": "point", "flags": {}},
        ],
        "imagePath": "img.png",
        "imageData": None,
        "imageHeight": 32,
        "imageWidth": 32,
    }


def write_case(tmp_path: Path, doc: Any, name: str = "a.json", image: tuple[int, int] | None = (32, 32)) -> Path:
    path = tmp_path / name
    path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    if image is not None:
        Image.new("RGB", image).save(tmp_path / "img.png")
    return path


def _set(path: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> Any:
        target: Any = doc
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        for k in keys[:-1]:
            target = target[k]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
        return doc

    return change


_DELETE = object()

MALFORMED = [
    # id, change, code, severity, source suffix
    ("three_coords", _set("shapes.1.points", [[10, 10, 1]]), "labelme.bad_points", "error", ":shapes[1].points[0]"),
    ("two_points_in_point", _set("shapes.1.points", [[10, 10], [11, 11]]), "labelme.bad_points", "error", ":shapes[1].points"),
    ("coords_are_strings", _set("shapes.2.points", [["12", "8"]]), "labelme.bad_points", "error", ":shapes[2].points[0]"),
    ("points_not_list", _set("shapes.2.points", {"x": 1}), "labelme.bad_points", "error", ":shapes[2].points"),
    ("rect_three_points", _set("shapes.0.points", [[2, 2], [30, 2], [30, 30]]), "labelme.bad_points", "error", ":shapes[0].points"),
    ("rect_zero_width", _set("shapes.0.points", [[2, 2], [2, 30]]), "labelme.bad_points", "error", ":shapes[0].points"),
    ("label_number", _set("shapes.1.label", 3), "labelme.bad_field", "error", ":shapes[1].label"),
    ("label_empty", _set("shapes.1.label", "  "), "labelme.bad_field", "error", ":shapes[1].label"),
    ("group_id_string", _set("shapes.1.group_id", "zero"), "labelme.bad_field", "error", ":shapes[1].group_id"),
    ("group_id_bool", _set("shapes.1.group_id", True), "labelme.bad_field", "error", ":shapes[1].group_id"),
    ("shape_not_object", _set("shapes.1", ["nose"]), "labelme.bad_field", "error", ":shapes[1]"),
    ("shape_type_number", _set("shapes.1.shape_type", 1), "labelme.bad_field", "error", ":shapes[1].shape_type"),
    ("flags_list", _set("shapes.1.flags", ["occluded"]), "labelme.bad_field", "error", ":shapes[1].flags"),
    ("width_string", _set("imageWidth", "32"), "labelme.bad_field", "error", ":imageWidth"),
    ("image_path_number", _set("imagePath", 5), "labelme.bad_field", "error", ":imagePath"),
    ("missing_image", _set("imagePath", "gone.png"), "labelme.image_missing", "warning", ":imagePath"),
    ("size_mismatch", _set("imageWidth", 64), "labelme.image_size_mismatch", "error", ":imageWidth"),
    ("shapes_missing", _set("shapes", _DELETE), "labelme.not_labelme", "error", ""),
    ("circle", _set("shapes.2.shape_type", "circle"), "labelme.shape_ignored", "info", ":shapes[2]"),
    ("bad_image_data", _set("imageData", "!!!notbase64"), "labelme.image_data_invalid", "error", ":imageData"),
]


@pytest.mark.parametrize(("change", "code", "severity", "suffix"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_one_field_changed_gives_located_finding(
    tmp_path: Path, change: Any, code: str, severity: str, suffix: str
) -> None:
    doc = change(template())
    if code == "labelme.image_data_invalid":
        (tmp_path / "img.png").unlink(missing_ok=True)
        path = write_case(tmp_path, doc, image=None)
    else:
        path = write_case(tmp_path, doc)
    _, conv = run(path, spec=spec_from_keypoints(["nose", "left_eye"], "person"))
    hits = [f for f in conv.report.findings if f.code == code]
    assert hits, codes(conv)
    assert hits[0].severity.value == severity
    assert hits[0].source == f"{path}{suffix}"
    assert_valid(conv)


def test_not_json_is_located_with_line_and_column(tmp_path: Path) -> None:
    path = write_case(tmp_path, b'{"shapes": [\n  {"label": }\n]}')
    _, conv = run(path)
    (f,) = [f for f in conv.report.findings if f.code == "labelme.not_json"]
    assert f.source == f"{path}:2:13"
    assert f.severity is Severity.ERROR


def test_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    write_case(tmp_path, template(), "good.json")
    write_case(tmp_path, b"not json at all", "bad.json")
    write_case(tmp_path, [1, 2], "list.json")
    write_case(tmp_path, {"imagePath": "x.png", "shapes": 3}, "broken.json")
    parsed, conv = run(tmp_path, spec=spec_from_keypoints(["nose", "left_eye"], "person"))
    assert parsed.files_failed == 2 and parsed.files_skipped == 1
    assert codes(conv, Severity.ERROR) == {"labelme.not_json": 1, "labelme.not_labelme": 1}
    (skipped,) = [f for f in conv.report.findings if f.code == "labelme.other_files_skipped"]
    assert "list.json (JSON list" in skipped.message
    assert len(conv.dataset.annotations) == 1
    assert_valid(conv, images=tmp_path)


def test_folder_scans_skip_json_of_another_format_but_named_files_are_errors(tmp_path: Path) -> None:
    """A COCO file or a config beside the LabelMe files is not a failure when a folder is
    scanned (one note lists them); named on the command line it is an error (the user meant it)."""
    write_case(tmp_path, template(), "good.json")
    write_case(tmp_path, {"images": [], "annotations": [], "categories": []}, "coco.json")
    write_case(tmp_path, {"name": "settings"}, "config.json")
    parsed, conv = run(tmp_path, spec=spec_from_keypoints(["nose", "left_eye"], "person"))
    assert parsed.files_failed == 0 and parsed.files_skipped == 2
    assert not codes(conv, Severity.ERROR)
    (skipped,) = [f for f in conv.report.findings if f.code == "labelme.other_files_skipped"]
    assert "coco.json (COCO)" in skipped.message and skipped.severity is Severity.INFO
    parsed, conv = run(tmp_path / "coco.json", spec=spec_from_keypoints(["nose", "left_eye"], "person"))
    assert parsed.files_failed == 1 and codes(conv, Severity.ERROR) == {"labelme.not_labelme": 1}


def test_image_size_from_header_when_json_has_none(tmp_path: Path) -> None:
    doc = template()
    doc["imageWidth"] = doc["imageHeight"] = None
    path = write_case(tmp_path, doc, image=(40, 36))
    _, conv = run(path)
    img = conv.dataset.images[0]
    assert (img.width, img.height) == (40, 36)
    assert conv.report.ok


def test_x_anylabeling_minus_one_size_means_unknown(tmp_path: Path) -> None:
    doc = template()
    doc["imageWidth"] = doc["imageHeight"] = -1
    path = write_case(tmp_path, doc, image=None)
    _, conv = run(path)
    assert "convert.image_size_unknown" in codes(conv, Severity.ERROR)
    assert "labelme.image_missing" in codes(conv)


def test_image_size_mismatch_uses_the_image(tmp_path: Path) -> None:
    doc = template()
    doc["imageHeight"] = 99
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    assert conv.dataset.images[0].height == 32
    (f,) = [f for f in conv.report.findings if f.code == "labelme.image_size_mismatch"]
    assert "32x99" in f.message and "32x32" in f.message


def test_exif_rotated_jpeg_is_reported(tmp_path: Path) -> None:
    doc = template()
    doc["imagePath"] = "rot.jpg"
    doc["imageWidth"], doc["imageHeight"] = 20, 32  # LabelMe shows the rotated image
    path = write_case(tmp_path, doc, image=None)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (32, 20)).save(tmp_path / "rot.jpg", exif=exif)
    _, conv = run(path)
    found = codes(conv)
    assert found.get("labelme.image_exif_rotated") == 1
    assert "labelme.image_size_mismatch" not in found
    assert (conv.dataset.images[0].width, conv.dataset.images[0].height) == (20, 32)


def test_shape_without_shape_type_is_a_polygon_like_labelme(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"][0] = {"label": "person", "points": [[2, 2], [30, 2], [30, 30], [2, 30]], "group_id": 0}
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    assert conv.dataset.annotations[0].segmentation == [[2.0, 2.0, 30.0, 2.0, 30.0, 30.0, 2.0, 30.0]]


def test_duplicate_and_unknown_keypoints_are_located(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"].append({"label": "nose", "points": [[11, 11]], "group_id": 0, "shape_type": "point"})
    doc["shapes"].append({"label": "tail", "points": [[11, 12]], "group_id": 0, "shape_type": "point"})
    path = write_case(tmp_path, doc)
    _, conv = run(path, spec=spec_from_keypoints(["nose", "left_eye"], "person"))
    by_code = {f.code: f for f in conv.report.findings}
    assert by_code["convert.duplicate_keypoint"].source == f"{path}:shapes[3]"
    assert by_code["convert.unknown_keypoint"].source == f"{path}:shapes[4]"
    assert_valid(conv)


def test_group_with_two_rectangles_and_conflicting_labels(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"].append({"label": "human", "points": [[0, 0], [20, 31]], "group_id": 0, "shape_type": "rectangle"})
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    found = codes(conv, Severity.WARNING)
    assert found["labelme.group_multiple_boxes"] == 1 and found["labelme.group_label_conflict"] == 1
    assert conv.dataset.annotations[0].bbox == [0.0, 0.0, 30.0, 31.0]
    assert conv.dataset.categories[0].name == "person"


def test_ungrouped_point_beside_groups_without_boxes(tmp_path: Path) -> None:
    doc = template()
    del doc["shapes"][0]
    doc["shapes"].append({"label": "right_eye", "points": [[8, 8]], "group_id": None, "shape_type": "point"})
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    (f,) = [f for f in conv.report.findings if f.code == "labelme.point_ungrouped"]
    assert f.source == f"{path}:shapes[2]"


def test_prefixed_point_in_two_boxes_prefers_the_box_of_its_category(tmp_path: Path) -> None:
    # shared assembly rule (as CVAT): `person.nose` inside a `person` and a `dog` box is the person's
    doc = template()
    doc["shapes"] = [
        {"label": "person", "points": [[2, 2], [20, 20]], "group_id": None, "shape_type": "rectangle"},
        {"label": "dog", "points": [[10, 10], [30, 30]], "group_id": None, "shape_type": "rectangle"},
        {"label": "person.nose", "points": [[15, 15]], "group_id": None, "shape_type": "point"},
        {"label": "dog.nose", "points": [[25, 25]], "group_id": None, "shape_type": "point"},
    ]
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    assert "labelme.point_ambiguous" not in codes(conv)
    by_cat = {conv.dataset.categories[a.category_id - 1].name: a for a in conv.dataset.annotations}
    assert set(by_cat) == {"person", "dog"}
    assert by_cat["person"].bbox == [2.0, 2.0, 18.0, 18.0]


def test_degenerate_polygon_gives_no_box(tmp_path: Path) -> None:
    # shared assembly rule (as CVAT): a polygon without area is no bbox; the box comes from the points
    doc = template()
    doc["shapes"][0] = {"label": "person", "points": [[2, 2], [20, 2], [30, 2]], "group_id": 0, "shape_type": "polygon"}
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    (ann,) = conv.dataset.annotations
    assert ann.bbox[2] > 0 and ann.bbox[3] > 0


def test_box_without_points_is_a_warning_not_an_instance(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"].append({"label": "car", "points": [[1, 1], [5, 5]], "group_id": None, "shape_type": "rectangle"})
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    (f,) = [f for f in conv.report.findings if f.code == "labelme.instance_without_points"]
    assert f.severity is Severity.WARNING and f.source == f"{path}:shapes[3]" and "'car'" in f.message
    assert len(conv.dataset.annotations) == 1


def test_a_box_without_points_of_a_keypoint_category_is_box_only(tmp_path: Path) -> None:
    """A person nobody clicked the points of (COCO has many: num_keypoints 0, a detection target
    in training); what to-labelme writes for one."""
    doc = template()
    doc["shapes"].append({"label": "person", "points": [[20, 4], [28, 12]], "group_id": 1, "shape_type": "rectangle"})
    doc["shapes"].append({"label": "car", "points": [[1, 1], [5, 5]], "group_id": 2, "shape_type": "rectangle"})
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    anns = conv.document["annotations"]
    assert [(a["num_keypoints"], a["bbox"]) for a in anns] == [(2, [2.0, 2.0, 28.0, 28.0]), (0, [20.0, 4.0, 8.0, 8.0])]
    assert codes(conv)["convert.box_only"] == 1
    (f,) = [f for f in conv.report.findings if f.code == "labelme.instance_without_points"]
    assert "'car'" in f.message and f.source == f"{path}:shapes[4]"


# --------------------------------------------------------------------------- visibility options


def test_custom_occluded_suffix_and_a_spec_that_owns_the_full_label(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"][1]["label"] = "nose_occ"
    doc["shapes"][2]["label"] = "left_eye_occ"
    path = write_case(tmp_path, doc)
    _, conv = run(path, occluded_suffixes=("_occ",))
    ann = conv.dataset.to_document()["annotations"][0]
    assert [v for v in ann["keypoints"][2::3]] == [1, 1]
    # a spec with a keypoint really named "left_eye_occ" keeps that label whole
    spec = spec_from_keypoints(["nose", "left_eye_occ"], "person")
    _, conv = run(path, occluded_suffixes=("_occ",), spec=spec)
    kp = kps_by_name(conv, conv.dataset.to_document()["annotations"][0])
    assert kp["nose"][2] == 1 and kp["left_eye_occ"][2] == 2


@pytest.mark.parametrize(
    ("extra", "v"),
    [
        ({"flags": {"occluded": True}}, 1),
        ({"flags": {"Occluded": True}}, 1),
        ({"flags": {"occluded": False}}, 2),
        ({"flags": {"truncated": True}}, 2),
        ({"difficult": True}, 1),
        ({"difficult": "true"}, 1),
        ({"difficult": False}, 2),
        ({"visible": False}, 2),
        ({}, 2),
    ],
)
def test_visibility_table(tmp_path: Path, extra: dict[str, Any], v: int) -> None:
    doc = template()
    doc["shapes"][1].update(extra)
    path = write_case(tmp_path, doc)
    _, conv = run(path)
    assert kps_by_name(conv, conv.dataset.to_document()["annotations"][0])["nose"][2] == v


# --------------------------------------------------------------------------- categories


def test_category_option_maps_labels(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"][0]["label"] = "human"
    path = write_case(tmp_path, doc)
    _, conv = run(path, categories={"human": "person"})
    assert [c.name for c in conv.dataset.categories] == ["person"]


def test_one_category_spec_takes_every_label_with_a_note(tmp_path: Path) -> None:
    doc = template()
    doc["shapes"][0]["label"] = "human"
    path = write_case(tmp_path, doc)
    _, conv = run(path, spec=spec_from_keypoints(["nose", "left_eye"], "person"))
    assert [c.name for c in conv.dataset.categories] == ["person"]
    assert "labelme.category_assumed" in codes(conv, Severity.INFO)
    assert len(conv.dataset.annotations) == 1


def test_points_only_instance_takes_spec_category_that_knows_its_labels(tmp_path: Path) -> None:
    doc = template()
    del doc["shapes"][0]
    for s in doc["shapes"]:
        s["group_id"] = None
    path = write_case(tmp_path, doc)
    spec = spec_from_mapping(
        {"categories": [{"name": "cat", "keypoints": ["tail"]}, {"name": "person", "keypoints": ["nose", "left_eye"]}]}
    )
    _, conv = run(path, spec=spec)
    assert conv.dataset.annotations[0].category_id == 2


# --------------------------------------------------------------------------- images and roots


def test_images_option_makes_file_names_relative_to_it(tmp_path: Path) -> None:
    labels, images = tmp_path / "labels", tmp_path / "pictures" / "set1"
    labels.mkdir()
    images.mkdir(parents=True)
    doc = template()
    doc["imagePath"] = "C:\\Users\\someone\\data\\img.png"  # written on another machine
    (labels / "a.json").write_text(json.dumps(doc))
    Image.new("RGB", (32, 32)).save(images / "img.png")
    parsed, conv = run(labels, images_dir=tmp_path / "pictures")
    assert "labelme.image_missing" in codes(conv)  # not at DIR/imagePath nor DIR/img.png
    parsed, conv = run(labels, images_dir=images)
    assert conv.dataset.images[0].file_name == "img.png"
    assert "labelme.image_missing" not in codes(conv)
    assert_valid(conv, images=images)


def test_image_path_with_parent_dirs_resolves_and_root_is_reported(tmp_path: Path) -> None:
    (tmp_path / "json").mkdir()
    (tmp_path / "img").mkdir()
    doc = template()
    doc["imagePath"] = "../img/pic.png"
    (tmp_path / "json" / "a.json").write_text(json.dumps(doc))
    Image.new("RGB", (32, 32)).save(tmp_path / "img" / "pic.png")
    parsed, conv = run(tmp_path / "json")
    assert parsed.images_root == (tmp_path / "img").resolve()
    assert conv.dataset.images[0].file_name == "pic.png"
    (note,) = [f for f in conv.report.findings if f.code == "labelme.images_root"]
    assert str(tmp_path / "img") in note.message
    assert_valid(conv, images=parsed.images_root)


def test_two_files_for_one_image_are_merged_with_a_warning(tmp_path: Path) -> None:
    write_case(tmp_path, template(), "a.json")
    write_case(tmp_path, template(), "b.json")
    _, conv = run(tmp_path)
    assert codes(conv).get("labelme.image_shared") == 1
    assert len(conv.dataset.images) == 1 and len(conv.dataset.annotations) == 2


# --------------------------------------------------------------------------- finding files


def test_find_json_files_recursive_sorted_hidden_and_output_skipped(tmp_path: Path) -> None:
    for rel in ["b.json", "a/z.JSON", "a/y.json", ".hidden/x.json", "a/.x.json", "notes.txt", "out.json"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("{}")
    found = find_json_files([tmp_path, tmp_path / "b.json"], exclude=[tmp_path / "out.json"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/y.json", "a/z.JSON", "b.json"]
    with pytest.raises(UsageError, match="no such file"):
        find_json_files([tmp_path / "nope"])


def test_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no .json files"):
        parse_paths([tmp_path])


# --------------------------------------------------------------------------- real files


@pytest.mark.realdata
def test_real_dog_cat_polygons_points_by_containment() -> None:
    path = realdata_file("kkimgaug/tests/src_labelme/json/img_dog_cat.json")
    spec = spec_from_mapping(
        {"categories": [{"name": n, "keypoints": ["mouth", "nose", "eye_right", "eye_left"]} for n in ("dog", "cat")]}
    )
    parsed, conv = run(path, spec=spec)
    assert conv.report.ok, [f.to_dict() for f in conv.report.errors]
    doc = conv.dataset.to_document()
    # imagePath "../img/img_dog_cat.jpg": resolved, found, and the root is its folder
    assert doc["images"] == [{"id": 1, "file_name": "img_dog_cat.jpg", "width": 710, "height": 398}]
    assert parsed.images_root == (path.parent.parent / "img").resolve()
    dog, cat = doc["annotations"]
    names = {c["id"]: c["name"] for c in doc["categories"]}
    assert (names[dog["category_id"]], names[cat["category_id"]]) == ("dog", "cat")
    assert kps_by_name(conv, dog)["eye_left"] == (0, 0, 0)
    assert dog["num_keypoints"] == 3 and cat["num_keypoints"] == 4
    assert len(dog["segmentation"][0]) == 43 * 2
    assert_valid(conv, images=parsed.images_root)


@pytest.mark.realdata
def test_real_dog_cat_without_spec_one_category_via_category_option() -> None:
    path = realdata_file("kkimgaug/tests/src_labelme/json/img_dog_cat.json")
    _, conv = run(path, categories={"dog": "animal", "cat": "animal"})
    assert conv.spec is not None and conv.spec.categories[0].keypoints == ["mouth", "nose", "eye_right", "eye_left"]
    dog = conv.dataset.to_document()["annotations"][0]
    assert kps_by_name(conv, dog)["eye_left"] == (0, 0, 0)
    assert_valid(conv)


@pytest.mark.realdata
def test_real_primitives_only_the_point_matters() -> None:
    path = realdata_file("labelme-wkentaro/examples/primitives/primitives.json")
    _, conv = run(path)
    found = codes(conv)
    assert found["labelme.shape_ignored"] == 4  # circle, line, linestrip, mask
    assert found["labelme.instance_without_points"] == 3  # 2 rectangles, 1 polygon, no points inside
    assert found["labelme.boxes_ignored"] == 1
    (ann,) = conv.dataset.to_document()["annotations"]
    assert ann["keypoints"] == [345.0, 174.0, 2]
    assert conv.report.ok
    assert_valid(conv, images=path.parent)


@pytest.mark.realdata
def test_real_bbox_only_file_gives_a_clear_verdict() -> None:
    path = realdata_file("labelme-wkentaro/examples/bbox_detection/data_annotated/2011_000003.json")
    _, conv = run(path)
    found = codes(conv)
    assert found["labelme.instance_without_points"] == 2
    assert found["convert.no_keypoints"] == 1  # no labels: nothing to infer a spec from
    assert not conv.report.ok
    assert conv.dataset.annotations == []
    # with a spec there is nothing wrong, just nothing to convert
    _, conv = run(path, spec=load_spec(PERSON))
    assert conv.report.ok and conv.dataset.annotations == []
    assert_valid(conv, images=path.parent)


@pytest.mark.realdata
def test_real_embedded_image_data_with_image_path_naming_the_json(tmp_path: Path) -> None:
    path = realdata_file("labelme-wkentaro/examples/tutorial/apc2016_obj3.json")
    parsed, conv = run(path, spec=load_spec(PERSON))
    assert codes(conv).get("labelme.image_embedded") == 1
    assert "labelme.image_missing" not in codes(conv)
    assert conv.dataset.images[0].file_name == "apc2016_obj3.jpg"
    assert (conv.dataset.images[0].width, conv.dataset.images[0].height) == (1210, 907)
    assert codes(conv)["labelme.instance_without_points"] == 4  # polygons only
    parsed, conv = run(path, spec=load_spec(PERSON), extract_dir=tmp_path / "x")
    assert write_extractions(parsed.extractions) == (1, [])
    assert Image.open(tmp_path / "x" / "apc2016_obj3.jpg").size == (1210, 907)
    assert_valid(conv, images=tmp_path / "x")

