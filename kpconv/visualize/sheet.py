"""Contact sheets: many rendered images as captioned thumbnails on one picture."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from . import drawing as d

#: thumbnail area of one cell, in pixels (the caption strip comes below it)
CELL_WIDTH = 256
CELL_HEIGHT = 192
CAPTION_HEIGHT = 18
GAP = 4
_BACKGROUND = (36, 36, 36)
_CELL_BACKGROUND = (58, 58, 58)
_TEXT = (230, 230, 230)
_FLAG = (200, 40, 255)  # BGR magenta, the error colour of the finding overlay


def thumbnail(img: np.ndarray, width: int = CELL_WIDTH, height: int = CELL_HEIGHT) -> np.ndarray:
    """``img`` fitted into ``width``×``height`` (aspect kept, centred on the cell colour).

    Small images are enlarged too (up to 4×) so a sheet of 64-px images is still readable.
    """
    h, w = img.shape[:2]
    scale = min(width / w, height / h, 4.0)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(img, (tw, th), interpolation=interp)
    cell = np.empty((height, width, 3), np.uint8)
    cell[...] = _CELL_BACKGROUND
    x0, y0 = (width - tw) // 2, (height - th) // 2
    cell[y0 : y0 + th, x0 : x0 + tw] = small
    return cell


@dataclass
class SheetCell:
    """One thumbnail (None when the image could not be read) and its caption."""

    thumb: np.ndarray | None
    name: str
    findings: int = 0
    note: str = ""


def sheet_layout(count: int) -> tuple[int, int]:
    """(columns, rows) for ``count`` cells: as square as possible, wider than tall."""
    cols = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / cols))
    return cols, rows


def compose_sheet(cells: Sequence[SheetCell], per_sheet: int) -> np.ndarray:
    """One sheet laid out for ``per_sheet`` cells (a last, partial sheet keeps the same grid)."""
    cols, rows = sheet_layout(per_sheet)
    cw, ch = CELL_WIDTH, CELL_HEIGHT + CAPTION_HEIGHT
    sheet = np.empty((GAP + rows * (ch + GAP), GAP + cols * (cw + GAP), 3), np.uint8)
    sheet[...] = _BACKGROUND
    scale = 0.4
    for i, cell in enumerate(cells[:per_sheet]):
        r, c = divmod(i, cols)
        x0, y0 = GAP + c * (cw + GAP), GAP + r * (ch + GAP)
        if cell.thumb is not None:
            sheet[y0 : y0 + CELL_HEIGHT, x0 : x0 + CELL_WIDTH] = cell.thumb
        else:
            sheet[y0 : y0 + CELL_HEIGHT, x0 : x0 + CELL_WIDTH] = _CELL_BACKGROUND
            d.put_text(
                sheet, cell.note or "not rendered", (x0 + 8, y0 + CELL_HEIGHT // 2), 0.5, _FLAG, 1
            )
        base_y = y0 + CELL_HEIGHT + CAPTION_HEIGHT - 5
        flag = f"! {cell.findings}" if cell.findings else ""
        flag_w = d.text_size(flag, scale, 1)[0] + 6 if flag else 0
        if flag:
            sheet[y0 + CELL_HEIGHT : y0 + ch, x0 + cw - flag_w : x0 + cw] = _FLAG
            d.put_text(sheet, flag, (x0 + cw - flag_w + 3, base_y), scale, (255, 255, 255), 1)
        name = d.fit_text(cell.name, cw - flag_w - 6, scale, 1)
        d.put_text(sheet, name, (x0 + 2, base_y), scale, _TEXT, 1)
    return sheet
