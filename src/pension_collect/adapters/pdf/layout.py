"""Layout primitives shared by the forms: wrapped cells, table rows, page furniture.

Nothing here knows the domain: it places strings it is given. Text wraps with
reportlab's CJK rule (``wordWrap='CJK'``: a line may break between any two
Chinese characters, Latin words stay whole) only when it does not fit its cell.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

import attrs

from . import labels, styles
from .fonts import FontSet
from .paint import Painter
from .styles import Column, Style

__all__ = ["Fitted", "Layout", "Row"]

#: The most characters one table cell prints: a longer value is cut to this
#: length, its last character an ellipsis (docs/forms.md), so that an absurd
#: value (a 1 MB name) renders as fast as a normal one and a row stays shorter
#: than a page.
CELL_CAP = 200
#: The same for one value in a form's header (a name, the unit's name).
HEADER_CAP = 100
#: The smallest type (points) a line of the header is shrunk to before it is
#: wrapped (:meth:`Layout.fit`).
MIN_FIT_SIZE = 6.0
#: The type (points) of a header line wrapped onto two lines of its box.
WRAPPED_SIZE = 5.5


def clip(text: str, cap: int = CELL_CAP) -> str:
    """``text`` cut to ``cap`` characters, the last of them "…", when longer."""
    return text if len(text) <= cap else text[: cap - 1] + "…"


@attrs.frozen
class Row:
    """A table row ready to draw: each cell's lines, and the row's height.

    The repr leaves the cells' text out (names, identity numbers: docs/privacy.md)."""

    cells: tuple[tuple[str, ...], ...] = attrs.field(repr=False)
    height: float
    span: bool = False
    """One cell across all columns (a message such as 无 or 未采集)."""
    size: float = styles.CELL_SIZE
    header: bool = False


@attrs.frozen
class Fitted:
    """Text set to fit a box (:meth:`Layout.fit`): its type size, the distance
    between baselines, and its lines. The repr leaves the text out."""

    size: float
    leading: float
    lines: tuple[str, ...] = attrs.field(repr=False)


class Layout:
    """Measures and draws for one document (one font set, one page style)."""

    def __init__(self, fonts: FontSet, style: Style) -> None:
        self.fonts = fonts
        self.style = style
        self._wrap = functools.lru_cache(maxsize=2048)(self._wrap_uncached)
        self._fit = functools.lru_cache(maxsize=1024)(self._fit_uncached)

    # -- text --------------------------------------------------------------------

    def _wrap_uncached(self, text: str, width: float, size: float) -> tuple[str, ...]:
        if len(text) * size <= width or self.fonts.width(text, size) <= width:
            return (text,)
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph

        style = ParagraphStyle(
            "cell",
            fontName=self.fonts.primary,
            fontSize=size,
            leading=styles.LEADING,
            wordWrap="CJK",
        )
        para = Paragraph(escape(text), style)
        para.wrap(width, 1e6)
        lines = tuple("".join(str(w) for w in words).strip() for _extra, words in para.blPara.lines)
        return lines or (text,)

    def wrap(self, text: str, width: float, size: float) -> tuple[str, ...]:
        """``text`` broken into lines no wider than ``width`` (CJK rules), after
        it is cut to :data:`CELL_CAP` characters (:func:`clip`)."""
        if not text:
            return ("",)
        text = self.fonts.printable(clip(text))
        if "\n" in text:
            return tuple(
                line for part in text.split("\n") for line in self._wrap(part, width, size)
            )
        return self._wrap(text, width, size)

    def fit(
        self, text: str, width: float, height: float, size: float, *, max_lines: int = 0
    ) -> Fitted:
        """``text`` set within a box ``width`` wide and ``height`` high, at most at ``size``.

        On one line at ``size`` when it fits; else on one line shrunk to fit,
        down to :data:`MIN_FIT_SIZE`; else wrapped (CJK rules) at
        :data:`WRAPPED_SIZE` onto as many lines as the height holds, the last
        line cut with an ellipsis when even they do not hold it all (or more
        than ``max_lines`` would be needed, when given). Nothing is drawn
        outside the box.
        """
        return self._fit(self.fonts.printable(text), width, height, size, max_lines)

    def _fit_uncached(
        self, text: str, width: float, height: float, size: float, max_lines: int
    ) -> Fitted:
        width_at = self.fonts.width
        full = width_at(text, size)
        if full <= width:
            return Fitted(size, height, (text,))
        shrunk = math.floor(size * width / full * 10) / 10
        if shrunk >= MIN_FIT_SIZE and width_at(text, shrunk) <= width:
            return Fitted(shrunk, height, (text,))
        small = min(WRAPPED_SIZE, size)
        room = max(1, int(height // (small * 1.15)))
        if max_lines:
            room = min(room, max_lines)
        leading = height / room
        wrapped = self._wrap(text, width, small)
        lines = list(wrapped[:room])
        for i, line in enumerate(lines):
            # a line that does not fit (a Latin word longer than the box), or the
            # last one when more would follow: cut, with an ellipsis
            if width_at(line, small) > width or (i == room - 1 and len(wrapped) > room):
                while line and width_at(line + "…", small) > width:
                    line = line[:-1]
                lines[i] = line + "…"
        return Fitted(small, leading, tuple(lines))

    def draw_fitted(
        self, p: Painter, x: float, top: float, fitted: Fitted, align: str = "left"
    ) -> None:
        """Draw :meth:`fit`'s lines from ``top`` down, each centred in its leading."""
        size, leading = fitted.size, fitted.leading
        # CJK glyphs reach about 0.88 of the size above the baseline, 0.12 below.
        drop = (leading - size) / 2 + 0.88 * size
        for i, line in enumerate(fitted.lines):
            p.text(x, top - i * leading - drop, line, size, align)

    # -- rows --------------------------------------------------------------------

    def row(
        self,
        columns: Sequence[Column],
        values: Sequence[str | None],
        *,
        size: float = styles.CELL_SIZE,
        header: bool = False,
    ) -> Row:
        """A row of ``values`` (``None`` prints nothing), wrapped to the columns."""
        pad2 = 2 * styles.CELL_PAD
        cells = tuple(
            self.wrap(v or "", c.width - pad2, size) for c, v in zip(columns, values, strict=True)
        )
        lines = max(len(c) for c in cells)
        height = styles.HEADER_ROW_HEIGHT if header else styles.ROW_HEIGHT
        if lines > 1:
            height = max(height, lines * styles.LEADING + pad2)
        return Row(cells, height, size=size, header=header)

    def header_row(self, columns: Sequence[Column], titles: dict[str, str] | None = None) -> Row:
        """The header row of a table: each column's title from ``titles``."""
        names = titles or {}
        return self.row(
            columns, [names.get(c.key, "") for c in columns], size=styles.HEADER_SIZE, header=True
        )

    def span_row(self, columns: Sequence[Column], text: str) -> Row:
        """One cell across the table's width."""
        width = sum(c.width for c in columns) - 2 * styles.CELL_PAD
        lines = self.wrap(text, width, styles.CELL_SIZE)
        height = styles.ROW_HEIGHT
        if len(lines) > 1:
            height = len(lines) * styles.LEADING + 2 * styles.CELL_PAD
        return Row((lines,), height, span=True)

    def paragraph(self, text: str, size: float, width: float | None = None) -> tuple[str, ...]:
        """A paragraph's lines at the content width (or ``width``)."""
        return self.wrap(text, width or self.style.content_width, size)

    # -- drawing -----------------------------------------------------------------

    def draw_table(
        self, p: Painter, top: float, columns: Sequence[Column], rows: Sequence[Row]
    ) -> float:
        """Draw rows (the header is simply the first) from ``top`` down; returns the bottom."""
        x0 = self.style.left
        right = x0 + sum(c.width for c in columns)
        y = top
        p.line(x0, y, right, y, styles.FRAME_WIDTH)
        inner: list[tuple[float, float]] = []  # vertical line spans, per row
        for row in rows:
            bottom = y - row.height
            if row.span:
                self._cell(p, x0, right, y, row, row.cells[0], "left")
            else:
                x = x0
                for column, cell in zip(columns, row.cells, strict=True):
                    align = "center" if row.header else column.align
                    self._cell(p, x, x + column.width, y, row, cell, align)
                    x += column.width
                inner.append((y, bottom))
            p.line(x0, bottom, right, bottom, styles.THIN_WIDTH)
            y = bottom
        p.line(x0, y, right, y, styles.FRAME_WIDTH)
        p.line(x0, top, x0, y, styles.FRAME_WIDTH)
        p.line(right, top, right, y, styles.FRAME_WIDTH)
        # inner verticals: one line per run of consecutive non-spanning rows
        runs: list[tuple[float, float]] = []
        for a, b in inner:
            if runs and abs(runs[-1][1] - a) < 0.01:
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
        x = x0
        for column in columns[:-1]:
            x += column.width
            for a, b in runs:
                p.line(x, a, x, b, styles.THIN_WIDTH)
        return y

    def _cell(
        self,
        p: Painter,
        x0: float,
        x1: float,
        top: float,
        row: Row,
        lines: Sequence[str],
        align: str,
    ) -> None:
        size = row.size
        lead = styles.LEADING
        block_bottom = top - row.height + (row.height - len(lines) * lead) / 2
        if align == "right":
            x = x1 - styles.CELL_PAD
        elif align == "center":
            x = (x0 + x1) / 2
        else:
            x = x0 + styles.CELL_PAD
        n = len(lines)
        for i, text in enumerate(lines):
            baseline = block_bottom + (n - 1 - i) * lead + (lead - 0.78 * size) / 2
            p.text(x, baseline, text, size, align)

    def draw_lines(
        self, p: Painter, top: float, lines: Sequence[str], size: float, leading: float
    ) -> float:
        """Left-aligned lines of text from ``top`` down; returns the bottom."""
        y = top
        for text in lines:
            y -= leading
            p.text(self.style.left, y + (leading - size) / 2, text, size)
        return y

    def signature_block(
        self, p: Painter, top: float, signers: Sequence[str], *, seal: bool = True
    ) -> float:
        """Signature and date lines for each signer, and the employer's seal box."""
        left = self.style.left
        y = top - 30
        for signer in signers:
            p.text(left, y, signer, styles.INFO_SIZE)
            x = left + self.fonts.width(signer, styles.INFO_SIZE) + 2
            p.line(x, y - 3, x + styles.SIGN_LINE, y - 3, styles.LINE_WIDTH)
            x += styles.SIGN_LINE + 18
            self.date_line(p, x, y)
            y -= 34
        if seal:
            w, h = styles.SEAL_WIDTH, styles.SEAL_HEIGHT
            x = self.style.right - w
            box_top = top - 8
            p.rect(x, box_top - h, w, h, styles.LINE_WIDTH)
            p.text(x + 6, box_top - 14, labels.SEAL, styles.INFO_SIZE)
            tail = f"{labels.YEAR}      {labels.MONTH}      {labels.DAY}"
            p.text(x + w - 8, box_top - h + 8, tail, styles.INFO_SIZE, "right")
        return top - styles.SIGN_BLOCK_HEIGHT

    def date_line(self, p: Painter, x: float, y: float) -> float:
        """``日期：____年___月___日`` with drawn lines; returns the end x."""
        size = styles.INFO_SIZE
        p.text(x, y, labels.DATE, size)
        x += self.fonts.width(labels.DATE, size) + 2
        for gap, word in ((34.0, labels.YEAR), (22.0, labels.MONTH), (22.0, labels.DAY)):
            p.line(x, y - 3, x + gap, y - 3, styles.LINE_WIDTH)
            x += gap + 1
            p.text(x, y, word, size)
            x += self.fonts.width(word, size) + 1
        return x

    def footer(self, p: Painter, left: str, middle: str, right: str) -> None:
        """The footer line: form and copy, page of pages, running page number."""
        style = self.style
        y = style.bottom - 8
        p.line(style.left, style.bottom - 2, style.right, style.bottom - 2, styles.THIN_WIDTH)
        p.text(style.left, y - styles.SMALL_SIZE, left, styles.SMALL_SIZE)
        p.text(
            (style.left + style.right) / 2,
            y - styles.SMALL_SIZE,
            middle,
            styles.SMALL_SIZE,
            "center",
        )
        p.text(style.right, y - styles.SMALL_SIZE, right, styles.SMALL_SIZE, "right")
