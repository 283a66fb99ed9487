"""Progress bars on stderr, shown only when the CLI turned them on and stderr is a terminal.

Library code wraps long loops in :func:`track`; by default it is a no-op, so the library never
prints. The CLI calls :func:`enable` once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_enabled = False


def enable(force: bool = False) -> None:
    """Turn progress bars on (only if stderr is a terminal, unless ``force``)."""
    global _enabled
    _enabled = force or sys.stderr.isatty()


def disable() -> None:
    global _enabled
    _enabled = False


def enabled() -> bool:
    return _enabled


def make_bar(*fields: Any, remaining_label: str | None = None) -> Any:
    """A transient rich progress bar on stderr: description, bar, n/total, ``fields`` (extra
    rich columns), elapsed and remaining time (after ``remaining_label`` when given)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    label = [TextColumn(remaining_label)] if remaining_label else []
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), *fields,
        TimeElapsedColumn(), *label, TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )


def track(iterable: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    """Yield from ``iterable``, drawing a rich progress bar on stderr when enabled."""
    if not _enabled:
        yield from iterable
        return
    with make_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in iterable:
            yield item
            bar.advance(task)
