"""Progress bars: a no-op unless enabled; when drawn (stderr), every item still comes through."""

from __future__ import annotations

from kpconv import progress


def test_track_yields_everything_with_and_without_a_bar(capsys) -> None:
    progress.disable()
    assert list(progress.track(range(4), total=4, description="x")) == [0, 1, 2, 3]
    assert capsys.readouterr().err == ""
    progress.enable(force=True)
    try:
        assert list(progress.track(range(4), total=4, description="x")) == [0, 1, 2, 3]
    finally:
        progress.disable()


def test_make_bar_has_the_extra_fields_and_remaining_label() -> None:
    from rich.progress import TextColumn

    bar = progress.make_bar(TextColumn("loss {task.fields[loss]:.2f}"), remaining_label="ETA")
    texts = [c.text_format for c in bar.columns if isinstance(c, TextColumn)]
    assert texts == ["{task.description}", "loss {task.fields[loss]:.2f}", "ETA"]
