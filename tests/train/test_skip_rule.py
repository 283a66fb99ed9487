"""One skip rule: what ``validate --for-training`` says training skips (or keeps as a box only)
is what ``train`` does.

``fixtures/validation/gaps.json`` (after ``--fix``, which renumbers its annotation id 0) has a
crowd annotation, one without visible keypoints, and one whose box is 20 px wide but only 0.5 px
of it lies inside the image: degenerate once clipped, the case the two routes used to disagree on.
"""

from __future__ import annotations

import json

import pytest

from kpconv.train.data import validated
from kpconv.validation import validate
from kpconv.validation.checks import training_roles_of
from kpconv.validation.context import Context
from kpconv.validation.fix import fix_document
from kpconv.validation.skips import BOX_ONLY, BOX_ONLY_WORDS, SKIP_REASONS
from tests.conftest import FIXTURES

pytestmark = pytest.mark.train
GAPS = FIXTURES / "validation" / "gaps.json"


def fixed_gaps() -> dict:
    doc = json.loads(GAPS.read_text())
    fix_document(doc)
    return doc


def test_validate_and_train_skip_the_same_annotations_for_the_same_reasons(tf) -> None:
    doc = fixed_gaps()
    report = validate(doc, images=tf.images, for_training=True)
    assert report.ok, [f.to_dict() for f in report.errors]

    ctx = Context(doc=doc, for_training=True)
    roles = {int(ctx.ann.id[row]): role for row, role in enumerate(training_roles_of(ctx))}
    dry_run = {i: SKIP_REASONS[r] for i, r in roles.items() if r is not None and r != BOX_ONLY}
    vds = validated(doc, tf.images)
    trained = {
        n.annotation_id: n.message.removeprefix("skipped for training: ")
        for n in vds.notes
        if n.code == "train.annotation_skipped"
    }
    assert trained == dry_run
    assert dry_run == {
        3: SKIP_REASONS["crowd"],
        5: SKIP_REASONS["degenerate_box"],  # 127.5 + 20 on a 128-px image: 0.5 px inside
    }
    box_only = {n.annotation_id for n in vds.notes if n.code == "train.annotation_box_only"}
    assert box_only == {i for i, r in roles.items() if r == BOX_ONLY} == {4}
    # the counts the dry run prints are the trainer's counts, in the same words
    assert report.summary["training_skips"] == {
        SKIP_REASONS[k]: v for k, v in vds.skipped.items() if v
    }
    used = {i for s in vds.samples for i in s.annotation_ids}
    assert used == {1, 2, 4, 6}


def test_dry_run_findings_name_each_reason(tf) -> None:
    report = validate(fixed_gaps(), images=tf.images, for_training=True)
    lines = sorted(f.message for f in report.findings if f.code == "training.would_skip")
    assert lines == sorted(
        f"1 annotation(s) would be skipped in training: {SKIP_REASONS[r]}"
        for r in ("crowd", "degenerate_box")
    )
    (box_only,) = [f.message for f in report.findings if f.code == "training.box_only"]
    assert box_only == f"1 annotation(s) with {BOX_ONLY_WORDS}"
