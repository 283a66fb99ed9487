"""Keypoint specs: file forms, flip pairs (explicit, derived, none), sigmas, aliases, presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpconv.errors import DataError, UsageError
from kpconv.spec import (
    COCO_PERSON_SIGMAS,
    DEFAULT_SIGMA,
    derive_flip_pairs,
    get_preset,
    load_spec,
    spec_from_coco_categories,
    spec_from_keypoints,
    spec_from_mapping,
)


def test_coco_person_preset() -> None:
    cat = get_preset("coco-person").categories[0]
    assert cat.num_keypoints == 17
    assert cat.sigmas == COCO_PERSON_SIGMAS
    assert len(cat.skeleton) == 19 and min(min(p) for p in cat.skeleton) == 1
    perm = cat.flip_permutation()
    assert perm is not None
    assert perm[1] == 2 and perm[2] == 1 and perm[0] == 0  # eyes swap, nose stays
    assert perm[15] == 16 and perm[16] == 15


@pytest.mark.parametrize(
    "names,pairs",
    [
        (["nose", "left_eye", "right_eye"], [(2, 3)]),
        (["l_paw", "r_paw", "tail"], [(1, 2)]),
        (["HandLeft", "HandRight"], [(1, 2)]),
        (["LeftHand", "RightHand"], [(1, 2)]),
        (["LFrontWheel", "RFrontWheel", "LBlade", "RBlade"], [(1, 2), (3, 4)]),
        (["snout", "leftear", "rightear", "tailbase"], [(2, 3)]),
        (["wing_l", "wing_r"], [(1, 2)]),
        (["head", "tail"], []),
    ],
)
def test_derived_flip_pairs(names: list[str], pairs: list[tuple[int, int]]) -> None:
    assert derive_flip_pairs(names) == pairs


def test_no_pairs_means_flip_unsafe_unless_declared_symmetric() -> None:
    cat = spec_from_keypoints(["head", "tail"]).categories[0]
    assert not cat.flip_safe and cat.flip_permutation() is None
    assert "unsafe" in cat.flip_note()
    sym = spec_from_mapping({"name": "onion", "keypoints": ["head", "tail"], "flip_pairs": []}).categories[0]
    assert sym.flip_safe and sym.flip_permutation() == [0, 1]


def test_spec_file_with_names_aliases_and_default_sigmas(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "categories:\n"
        "  - name: mouse\n"
        "    keypoints: [snout, leftear, rightear, tailbase]\n"
        "    skeleton: [[snout, leftear], [snout, rightear], [snout, tailbase]]\n"
        "    aliases: {nose: snout}\n"
    )
    cat = load_spec(path).categories[0]
    assert cat.skeleton == [(1, 2), (1, 3), (1, 4)]
    assert cat.sigmas == [DEFAULT_SIGMA] * 4
    assert cat.index_of("nose") == 0
    assert cat.index_of("mouse.tailbase") == 3
    assert cat.index_of("LeftEar") == 1  # case-insensitive last resort
    assert cat.index_of("whisker") is None
    assert cat.flip_source == "derived" and cat.flip_pairs == [(2, 3)]


def test_spec_json_single_category_form(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{"name": "box", "keypoints": ["a", "b"], "skeleton": [[1, 2]], "sigmas": [0.1, 0.2]}')
    cat = load_spec(path).categories[0]
    assert cat.name == "box" and cat.sigmas == [0.1, 0.2]


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"name": "x", "keypoints": ["a", "a"]}, "given twice"),
        ({"name": "x", "keypoints": ["a", "b"], "skeleton": [[0, 1]]}, "looks 0-based"),
        ({"name": "x", "keypoints": ["a", "b"], "skeleton": [["a", "c"]]}, "'c' is not one of"),
        ({"name": "x", "keypoints": ["a", "b"], "sigmas": [0.1]}, "expected 2 values"),
        ({"name": "x", "keypoints": ["a", "b"], "aliases": {"z": "q"}}, "not a keypoint name"),
        ({"name": "x", "keypoints": []}, "at least one keypoint"),
        ({"name": "x", "keypoints": ["a"], "colour": "red"}, "colour"),
    ],
)
def test_bad_spec_is_a_located_data_error(data: dict, needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        spec_from_mapping(data, source="spec.yaml")


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [\n")
    with pytest.raises(DataError, match=r"bad.yaml:\d+:\d+: not valid YAML"):
        load_spec(bad)
    with pytest.raises(UsageError):
        load_spec(tmp_path / "none.yaml")
    with pytest.raises(UsageError, match="unknown preset"):
        get_preset("horse")


def test_spec_from_coco_categories_skips_empty_and_gets_person_sigmas() -> None:
    from kpconv.spec import COCO_PERSON_KEYPOINTS

    spec = spec_from_coco_categories(
        [{"id": 1, "name": "a", "keypoints": []},
         {"id": 2, "name": "person", "keypoints": COCO_PERSON_KEYPOINTS, "skeleton": [[1, 2], [0, 5]]}]
    )
    (cat,) = spec.categories
    assert cat.sigmas == COCO_PERSON_SIGMAS
    assert cat.skeleton == [(1, 2)]  # the out-of-range pair is left to the validator
    assert cat.id == 2


def test_to_yaml_round_trips(tmp_path: Path) -> None:
    spec = get_preset("coco-person")
    path = tmp_path / "s.yaml"
    path.write_text(spec.to_yaml())
    again = load_spec(path)
    assert again.categories[0].keypoints == spec.categories[0].keypoints
    assert again.categories[0].skeleton == spec.categories[0].skeleton
    assert again.categories[0].flip_pairs == spec.categories[0].flip_pairs


PLAIN_SPECS = [
    {"categories": [{"name": "person", "keypoints": ["nose", "left_eye", "right_eye"]}]},
    {"categories": [{
        "name": "mouse", "keypoints": ["snout", "l_ear", "r_ear", "tail"], "skeleton": [["snout", "l_ear"], [1, 4]],
        "flip_pairs": [[2, "r_ear"]], "sigmas": [0.05, 1, 0.05, 0.1], "aliases": {"nose": "snout"},
        "supercategory": "animal", "id": 7,
    }]},  # fmt: skip
    {"categories": [{"name": "a", "keypoints": ["x"], "flip_pairs": []}, {"name": "b", "keypoints": ["y"], "flip_pairs": None}]},
]
COERCED_OR_BAD = [
    {"categories": [{"name": "a", "keypoints": ["x"], "sigmas": ["0.1"]}]},  # coerced by the file model
    {"categories": [{"name": "a", "keypoints": ["x"], "id": True}]},
    {"categories": [{"name": "a", "keypoints": ["x"], "colour": "red"}]},  # unknown key
    {"categories": [{"name": "a", "keypoints": ["x"], "skeleton": None}]},
    {"categories": [{"name": 3, "keypoints": ["x"]}]},
    {"categories": [{"name": "a", "keypoints": ["x"], "skeleton": [[1, 2, 3]]}]},
    {"categories": {"name": "a"}},
    {"categories": [], "extra": 1},
]


@pytest.mark.parametrize("data", PLAIN_SPECS)
def test_plain_specs_read_without_pydantic_as_the_file_model_reads_them(data: dict) -> None:
    from kpconv.spec import _plain_entries, _validated_entries

    plain = _plain_entries(data)
    assert plain is not None
    assert plain == _validated_entries(data, "<spec>")


@pytest.mark.parametrize("data", COERCED_OR_BAD)
def test_anything_else_goes_through_the_file_model(data: dict) -> None:
    from kpconv.spec import _plain_entries, _validated_entries

    assert _plain_entries(data) is None
    try:
        entries = _validated_entries(data, "<spec>")
    except DataError as exc:
        assert exc.message.startswith("<spec>: ")
    else:  # coerced: the same record type, e.g. the string sigma is now a float
        assert all(isinstance(e.sigmas, list | type(None)) for e in entries)


def test_a_spec_survives_a_checkpoint_round_trip() -> None:
    import json

    from kpconv.spec import KeypointSpec

    spec = spec_from_mapping(PLAIN_SPECS[1])
    again = KeypointSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec
    assert again.categories[0].skeleton == [(1, 2), (1, 4)] and again.categories[0].flip_pairs == [(2, 3)]


def test_another_tool_s_classes_file_is_told_it_is_not_a_spec(tmp_path: Path) -> None:
    """X-AnyLabeling's pose_classes.yaml, given as --spec: say what kpconv expects, not 'Field required'."""
    path = tmp_path / "pose_classes.yaml"
    path.write_text("has_visible: true\nclasses:\n  person:\n    - nose\n    - left_eye\n")
    with pytest.raises(DataError, match=r"pose_classes.yaml: not a kpconv spec: it has no 'categories' .*"
                       r"its top-level keys: has_visible, classes"):  # fmt: skip
        load_spec(path)
