"""Keypoint colours: left and right in two colour families, centre points in a third.

A keypoint's side comes from its category's flip pairs (the spec's naming conventions,
:func:`kpconv.spec.derive_flip_pairs`); within a pair the one whose name says "left" is left. Each
pair gets one shade, the same in both families, so ``left_wrist`` and ``right_wrist`` read as a
matched pair (dark blue / dark orange) while neighbouring pairs get contrasting shades.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..spec import derive_flip_pairs

Side = Literal["left", "right", "centre"]
RGB = tuple[int, int, int]

#: (dark, light) ends of each family, in RGB
LEFT_FAMILY: tuple[RGB, RGB] = ((20, 80, 210), (120, 205, 255))
RIGHT_FAMILY: tuple[RGB, RGB] = ((215, 60, 20), (255, 195, 70))
CENTRE_FAMILY: tuple[RGB, RGB] = ((30, 150, 60), (175, 235, 95))

_GOLDEN = 0.6180339887498949

_LEFT_NAME = re.compile(
    r"(^|[^a-z])left|left($|[^a-z])|^l[_.\- ]|[_.\- ]l$|^L[A-Z_.]|(^|[a-z])L\d*$|Left|LEFT",
    re.ASCII,
)
_RIGHT_NAME = re.compile(
    r"(^|[^a-z])right|right($|[^a-z])|^r[_.\- ]|[_.\- ]r$|^R[A-Z_.]|(^|[a-z])R\d*$|Right|RIGHT",
    re.ASCII,
)


def name_side(name: str) -> Side | None:
    """Which side a keypoint name says it is on (``left_eye``, ``L_Eye``, ``LFrontWheel``)."""
    left = bool(_LEFT_NAME.search(name))
    right = bool(_RIGHT_NAME.search(name))
    if left and not right:
        return "left"
    if right and not left:
        return "right"
    return None


def _single_letter_pairs(names: Sequence[str], used: set[int]) -> list[tuple[int, int]]:
    """Display-only extra pairs: names equal but for one ``L``↔``R`` letter (``forelegL1``/``forelegR1``).

    The spec does not derive these (too loose to decide a training flip); for colouring a picture
    a wrong guess costs nothing.
    """
    index = {n: i for i, n in enumerate(names)}
    out: list[tuple[int, int]] = []
    for i, name in enumerate(names):
        if i in used:
            continue
        for pos, ch in enumerate(name):
            if ch not in "LR":
                continue
            mirror = name[:pos] + ("R" if ch == "L" else "L") + name[pos + 1 :]
            j = index.get(mirror)
            if j is not None and j != i and j not in used:
                first, second = (i, j) if ch == "L" else (j, i)
                out.append((first + 1, second + 1))
                used.update((i, j))
                break
    return out


@dataclass(frozen=True)
class KeypointColours:
    """Per keypoint (0-based) its side and RGB colour; per side the colour for skeleton edges."""

    sides: tuple[Side, ...]
    colours: tuple[RGB, ...]

    def edge_colour(self, a: int, b: int) -> RGB:
        """Colour of the edge between keypoints ``a`` and ``b`` (0-based): its side's, else centre."""
        sa, sb = self.sides[a], self.sides[b]
        if sa == sb and sa != "centre":
            return _EDGE_LEFT if sa == "left" else _EDGE_RIGHT
        return _EDGE_CENTRE


def _mix(family: tuple[RGB, RGB], t: float) -> RGB:
    dark, light = family
    return (
        round(dark[0] + (light[0] - dark[0]) * t),
        round(dark[1] + (light[1] - dark[1]) * t),
        round(dark[2] + (light[2] - dark[2]) * t),
    )


_EDGE_LEFT, _EDGE_RIGHT, _EDGE_CENTRE = (
    _mix(f, 0.35) for f in (LEFT_FAMILY, RIGHT_FAMILY, CENTRE_FAMILY)
)


def _shade(i: int) -> float:
    """Well-spread shades for consecutive indices (golden-ratio steps)."""
    return (i * _GOLDEN) % 1.0


def keypoint_colours(
    names: Sequence[str], count: int, flip_pairs: Sequence[tuple[int, int]] | None = None
) -> KeypointColours:
    """Colours for ``count`` keypoints named ``names`` (may be shorter: the rest are centre).

    ``flip_pairs`` (1-based) come from a spec; when None they are derived from the names.
    """
    names = [str(n) for n in names][:count]
    if flip_pairs is None:
        pairs = list(derive_flip_pairs(names)) if len(set(names)) == len(names) else []
        used = {i - 1 for p in pairs for i in p}
        pairs += _single_letter_pairs(names, used)
    else:
        pairs = [(a, b) for a, b in flip_pairs if 1 <= a <= count and 1 <= b <= count]
    sides: list[Side] = ["centre"] * count
    colours: list[RGB] = [(0, 0, 0)] * count
    in_pair: set[int] = set()
    for n, (a, b) in enumerate(pairs):
        left, right = a - 1, b - 1
        if (
            name_side(names[right] if right < len(names) else "") == "left"
            or name_side(names[left] if left < len(names) else "") == "right"
        ):
            left, right = right, left
        t = _shade(n)
        sides[left], sides[right] = "left", "right"
        colours[left], colours[right] = _mix(LEFT_FAMILY, t), _mix(RIGHT_FAMILY, t)
        in_pair.update((left, right))
    c = 0
    for i in range(count):
        if i in in_pair:
            continue
        side = name_side(names[i]) if i < len(names) else None
        if side is not None:  # an unpaired "left_x": still left-coloured
            sides[i] = side
            colours[i] = _mix(LEFT_FAMILY if side == "left" else RIGHT_FAMILY, _shade(c))
        else:
            colours[i] = _mix(CENTRE_FAMILY, _shade(c))
        c += 1
    return KeypointColours(tuple(sides), tuple(colours))
