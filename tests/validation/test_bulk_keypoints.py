"""The file route parses every annotation's keypoints in one pass (``parse_number_lists``).

It must give exactly what decoding each array on its own gives (values, lengths, the numbers as
found for messages), refuse exactly what the strict typed decode refuses (then the located slow
path reports it), and leave every report unchanged: each rule case of ``test_checks`` runs again
here with the bulk parse forced on (small files normally take the one-by-one decode).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import orjson
import pytest

from kpconv.fileio import dumps_json
from kpconv.finding import Severity
from kpconv.validation import context, validate, validate_bytes
from kpconv.validation.context import JsonSlices, NumberLists, decode_checked, parse_number_lists

from .test_checks import CASES, template


def raws_of(*texts: bytes) -> list[msgspec.Raw]:
    """The raw keypoint texts as the strict decode hands them over."""

    class One(msgspec.Struct):
        k: msgspec.Raw

    return [msgspec.json.decode(b'{"k": ' + t + b"}", type=One).k for t in texts]


def same(a: NumberLists, b: NumberLists) -> None:
    assert a.values.dtype == b.values.dtype == np.float64
    assert np.array_equal(a.values, b.values)
    assert a.lengths.tolist() == b.lengths.tolist()
    assert a.starts.tolist() == b.starts.tolist()
    assert len(a.lists) == len(b.lists)
    for x, y in zip(a.lists, b.lists, strict=True):
        assert x == y
        assert [type(v) for v in x] == [type(v) for v in y]  # 2 stays an int, 2.0 a float
    # -0.0 stays -0.0 (the integer -0 may parse as -0.0 in bulk: equal to 0 in every rule)
    floats = np.array([type(v) is float for x in b.lists for v in x], dtype=bool)
    assert np.array_equal(np.signbit(a.values[floats]), np.signbit(b.values[floats]))


TEXTS = [
    b"[1, 2.5, 2]",
    b"[]",
    b"[1e3, 1E-2, -0.0, -0, 0e0, 2.0, 1.5e+2, -3.25E2, 123456789012345678901234567890]",
    b"[ ]",
    b"[\n        486.7,\n        338.92,\n        2\n      ]",
    b"[0.1]",
    b"[\t7 ,\r\n 8 , 9.000000000000001 ]",
    b"[9007199254740993, 1e-400, 5e-324]",
    b"[]",
]


def test_bulk_equals_one_by_one_on_ints_floats_exponents_empty_and_whitespace() -> None:
    raws = raws_of(*TEXTS)
    bulk = parse_number_lists(raws, bulk_from=0)
    slow = parse_number_lists(raws, bulk_from=1 << 40)
    assert bulk is not None and slow is not None
    assert isinstance(bulk.lists, JsonSlices)  # the bulk route was taken
    assert not isinstance(slow.lists, JsonSlices)
    same(bulk, slow)
    assert bulk.lengths.tolist() == [3, 0, 9, 0, 3, 1, 3, 3, 0]
    assert bulk.lists[2][:3] == [1000.0, 0.01, -0.0] and type(bulk.lists[0][0]) is int
    assert bulk.lists[1:3] == [[], slow.lists[2]]


def test_bulk_parse_is_correctly_rounded_on_many_numbers() -> None:
    rng = np.random.default_rng(7)
    nums = np.concatenate([rng.normal(0, 1e3, 3000), rng.uniform(-1, 1, 3000) * 10.0 ** rng.integers(-300, 300, 3000)])
    lists = [nums[i : i + 51].tolist() for i in range(0, len(nums), 51)] + [[1, 2, 0]]
    raws = raws_of(*(orjson.dumps(x, option=orjson.OPT_INDENT_2) for x in lists))
    bulk = parse_number_lists(raws, bulk_from=0)
    assert bulk is not None and isinstance(bulk.lists, JsonSlices)
    same(bulk, parse_number_lists(raws, bulk_from=1 << 40))  # type: ignore[arg-type]
    assert np.array_equal(bulk.values[:-3], nums)


@pytest.mark.parametrize("bad", [
    b"[1, null, 3]", b'[1, "2", 3]', b"[1, [2], 3]", b"[true, 1]", b"[false]", b'[{"x": 1}]',
    b"null", b"7", b'"1,2,3"', b"{}", b"[[]]", b"[1e400]", b"[-1e999, 0]",
])  # fmt: skip
@pytest.mark.parametrize("bulk_from", [0, 1 << 40])
def test_anything_but_a_flat_array_of_numbers_is_refused(bad: bytes, bulk_from: int) -> None:
    assert parse_number_lists(raws_of(b"[1, 2, 2]", bad, b"[]"), bulk_from=bulk_from) is None


def _doc_with(keypoints: list[Any]) -> dict[str, Any]:
    doc = template()
    doc["annotations"][1]["keypoints"] = keypoints
    return doc


@pytest.mark.parametrize("keypoints", [
    [10, None, 2, 0, 0, 0, 0, 0, 0],
    [10, "10", 2, 0, 0, 0, 0, 0, 0],
    [10, [10], 2, 0, 0, 0, 0, 0, 0],
    [10, 10, True, 0, 0, 0, 0, 0, 0],
    [10, 10, {"v": 2}, 0, 0, 0, 0, 0, 0],
    None,
    "10,10,2",
])  # fmt: skip
def test_keypoints_that_are_not_numbers_go_the_located_way_with_the_same_findings(
    keypoints: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _doc_with(keypoints)
    data = dumps_json(doc)
    assert decode_checked(data) is None
    expected = validate(copy.deepcopy(doc))
    monkeypatch.setattr(context, "BULK_PARSE_FROM", 0)
    got = validate_bytes(data)
    assert got.findings == expected.findings
    assert got.summary == expected.summary
    assert any(f.severity is Severity.ERROR and "/annotations/1/keypoints" in (f.pointer or "") for f in got.findings)


def _reports(doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The dict route, the file route (compact and indented) one by one, and both again in bulk."""
    out = [validate(copy.deepcopy(doc))]
    for threshold in (1 << 40, 0):
        monkeypatch.setattr(context, "BULK_PARSE_FROM", threshold)
        out += [validate_bytes(orjson.dumps(doc)), validate_bytes(dumps_json(doc))]
    return out


@pytest.mark.parametrize("name,mutate,code,ptr,severity", CASES, ids=[c[0] for c in CASES])
def test_every_rule_case_gives_one_report_with_the_bulk_parse(
    name: str, mutate: Callable[[dict[str, Any]], None], code: str, ptr: str, severity: Severity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = template()
    mutate(doc)
    first, *others = _reports(doc, monkeypatch)
    assert any(f.code == code for f in first.findings)
    for report in others:
        assert report.findings == first.findings
        assert report.summary == first.summary


@pytest.mark.parametrize("keypoints,words", [
    ([50, 20, 3, 40, 30, 1, 60, 30, 2], "found 3 "),
    ([50, 20, 3.0, 40, 30, 1, 60, 30, 2], "found 3.0 "),
    ([50, 20, 1e0, 40, 30, 1, 60, 30, 2.5e0], "found 2.5 "),
    ([500, 20.0, 2, 40, 30, 1, 60, 30, 2], "(500, 20.0)"),
    ([5e2, 20, 2, 40, 30, 1, 60, 30, 2], "(500.0, 20)"),
    ([50, 20, 2, 40.5, 30, 0, 60, 30, 2], "(40.5, 30)"),
])  # fmt: skip
def test_messages_print_each_value_as_found(keypoints: list[Any], words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = template()
    doc["annotations"][0]["keypoints"] = keypoints
    first, *others = _reports(doc, monkeypatch)
    assert any(words in f.message for f in first.findings), [f.message for f in first.findings]
    for report in others:
        assert report.findings == first.findings
        assert report.summary == first.summary


def test_mixed_k_and_empty_keypoints_in_bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = template()
    doc["categories"].append({"id": 2, "name": "pair", "keypoints": ["a", "b"], "skeleton": []})
    doc["annotations"].append({"id": 13, "image_id": 2, "category_id": 2, "keypoints": [1, 2, 2, 3.5, 4, 1],
                               "num_keypoints": 2, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0})
    doc["annotations"].append({"id": 14, "image_id": 2, "category_id": 2, "keypoints": [],
                               "num_keypoints": 0, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0})
    doc["annotations"].append({"id": 15, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 2, 3, 4],
                               "num_keypoints": 2, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0})
    first, *others = _reports(doc, monkeypatch)
    codes = {f.code for f in first.findings}
    assert {"keypoints.length", "keypoints.length_not_multiple_of_3"} <= codes
    for report in others:
        assert report.findings == first.findings
        assert report.summary == first.summary


def test_the_checked_decode_lets_go_of_the_file_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(context, "BULK_PARSE_FROM", 0)
    data = dumps_json(template())
    before = sys.getrefcount(data)
    checked = decode_checked(data)
    assert checked is not None and isinstance(checked.keypoints.lists, JsonSlices)
    assert sys.getrefcount(data) == before
    assert checked.keypoints.lists[0] == [50, 20, 2, 40, 30, 1, 60, 30, 2]
