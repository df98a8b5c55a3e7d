"""Every measure of the forms, in one place: page, margins, type sizes, columns.

Units are PDF points (1/72 inch). Layout code reads these and nothing else.
"""

from __future__ import annotations

import attrs

__all__ = ["A4", "Column", "Style"]

#: A4 portrait (width, height) in points.
A4: tuple[float, float] = (595.2756, 841.8898)
A4_LANDSCAPE: tuple[float, float] = (A4[1], A4[0])

MARGIN_LEFT = MARGIN_RIGHT = 40.0
MARGIN_TOP = 36.0
MARGIN_BOTTOM = 40.0

TITLE_SIZE = 16.0
SUBTITLE_SIZE = 8.5
INFO_SIZE = 9.0
SECTION_SIZE = 10.0
HEADER_SIZE = 8.0
CELL_SIZE = 8.5
SMALL_SIZE = 7.0
COPY_SIZE = 13.0

ROW_HEIGHT = 14.0
HEADER_ROW_HEIGHT = 16.0
LEADING = 9.5
CELL_PAD = 3.0
SECTION_GAP = 18.0

LINE_WIDTH = 0.6
THIN_WIDTH = 0.35
FRAME_WIDTH = 0.9

QR_SIZE = 64.0
#: Quiet zone around the QR code, in modules (the standard asks for four).
QR_QUIET = 4

SEAL_WIDTH = 130.0
SEAL_HEIGHT = 84.0
SIGN_LINE = 120.0
SIGN_BLOCK_HEIGHT = 92.0


@attrs.frozen
class Column:
    """A table column: the view-model key it shows, its header, width and alignment."""

    key: str
    width: float
    align: str = "left"  # left | right | center


@attrs.frozen
class Style:
    """Page geometry of one form."""

    page: tuple[float, float] = A4

    @property
    def width(self) -> float:
        return self.page[0]

    @property
    def height(self) -> float:
        return self.page[1]

    @property
    def left(self) -> float:
        return MARGIN_LEFT

    @property
    def right(self) -> float:
        return self.page[0] - MARGIN_RIGHT

    @property
    def content_width(self) -> float:
        return self.right - self.left

    @property
    def top(self) -> float:
        return self.page[1] - MARGIN_TOP

    @property
    def bottom(self) -> float:
        return MARGIN_BOTTOM


PORTRAIT = Style(A4)
LANDSCAPE = Style(A4_LANDSCAPE)


def _fill(columns: list[Column], total: float) -> tuple[Column, ...]:
    """Give the last column whatever width the others leave."""
    used = sum(c.width for c in columns[:-1])
    last = columns[-1]
    return (*columns[:-1], Column(last.key, round(total - used, 4), last.align))


_W = PORTRAIT.content_width
_WL = LANDSCAPE.content_width

CONFIRMATION_PERSON = _fill(
    [Column("label", 68), Column("value", 190), Column("label", 68), Column("value", 0)], _W
)
VERIFICATION_PERSON = _fill(
    [
        Column("label", 58),
        Column("value", 118),
        Column("correction", 82),
        Column("label", 58),
        Column("value", 118),
        Column("correction", 0),
    ],
    _W,
)
CONFIRMATION_HISTORY = _fill(
    [
        Column("seq", 22, "center"),
        Column("start", 42, "center"),
        Column("end", 42, "center"),
        Column("months", 26, "right"),
        Column("base", 46, "right"),
        Column("rate", 28, "right"),
        Column("total", 52, "right"),
        Column("category", 66, "center"),
        Column("source", 56, "center"),
        Column("note", 0),
    ],
    _W,
)
VERIFICATION_HISTORY = _fill(
    [
        Column("seq", 22, "center"),
        Column("start", 42, "center"),
        Column("end", 42, "center"),
        Column("months", 26, "right"),
        Column("total", 52, "right"),
        Column("category", 66, "center"),
        Column("note", 140),
        Column("correction", 0),
    ],
    _W,
)
CONFIRMATION_ACCOUNT = _fill(
    [
        Column("year", 48, "center"),
        Column("months", 36, "right"),
        Column("base", 76, "right"),
        Column("personal", 80, "right"),
        Column("employer_part", 80, "right"),
        Column("interest", 76, "right"),
        Column("balance", 0, "right"),
    ],
    _W,
)
VERIFICATION_ACCOUNT = _fill(
    [
        Column("year", 40, "center"),
        Column("months", 30, "right"),
        Column("base", 62, "right"),
        Column("personal", 64, "right"),
        Column("employer_part", 64, "right"),
        Column("interest", 58, "right"),
        Column("balance", 72, "right"),
        Column("correction", 0),
    ],
    _W,
)
SUMMARY = _fill(
    [
        Column("seq", 30, "center"),
        Column("person_no", 84, "center"),
        Column("name", 70),
        Column("id_number", 120, "center"),
        Column("deemed", 62, "right"),
        Column("pre_account", 72, "right"),
        Column("post_account", 72, "right"),
        Column("account_years", 70, "center"),
        Column("balance", 86, "right"),
        Column("copies", 50, "right"),
        Column("note", 0),
    ],
    _WL,
)
#: Blank rows under the verification form's history, for periods the bureau lacks.
VERIFICATION_BLANK_ROWS = 3
