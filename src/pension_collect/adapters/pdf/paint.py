"""Drawing: a small painter interface over a reportlab canvas, and the chunked
document that streams pages to the output.

Layout code draws only through :class:`Painter` (text, lines, boxes and a
placed QR code), so the benchmark can replay the very same strings and lines
on a bare reportlab canvas, and tests can record what a page holds.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO, Protocol

from ..._version import __version__
from ...ports.forms.registry import RenderError
from .fonts import FontSet
from .pdfstream import PdfStreamWriter

__all__ = ["CanvasPainter", "ChunkedDocument", "Document", "Painter"]


class Painter(Protocol):
    """What layout code may draw on a page (or on a form reused by pages)."""

    def text(self, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        """Draw one line of text with its baseline at ``y``; ``align`` is about ``x``."""

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float) -> None:
        """Draw a straight line."""

    def rect(self, x: float, y: float, w: float, h: float, width: float) -> None:
        """Draw a rectangle's outline."""

    def place(self, key: str, x: float, y: float, scale: float) -> None:
        """Place the form defined under ``key`` (a QR code, a page body) at ``x, y``."""


class Document(Protocol):
    """Where forms draw pages: :class:`ChunkedDocument`, or a recorder in tests."""

    pages: int

    def page(self) -> Painter:
        """Start a page and return its painter."""

    def end_page(self) -> None:
        """Finish the current page."""

    def boundary(self) -> None:
        """A point between workers where the document may flush what it holds."""

    def define_qr(self, key: str, matrix: Sequence[Sequence[int]], quiet: int) -> None:
        """Define a QR code (a unit square) for :meth:`Painter.place` under ``key``."""

    def begin_form(self, key: str) -> Painter:
        """Start drawing a form (drawn once, placed on several pages) under ``key``."""

    def end_form(self) -> None:
        """Finish the form begun last."""


_NUMBERS: dict[float, str] = {}


def _num(value: float) -> str:
    """A number as a PDF operand, to a thousandth of a point (cached: coordinates repeat)."""
    text = _NUMBERS.get(value)
    if text is None:
        text = (f"{value:.3f}").rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
        if len(_NUMBERS) < 65536:
            _NUMBERS[value] = text
    return text


class _TextEncoder:
    """Text as PDF string operands for one reportlab document (a chunk).

    A TrueType font is split into reportlab's subsets, whose codes are given
    per document, so an encoder serves one document only; each distinct
    string is encoded once.
    """

    def __init__(self, canvas: Any) -> None:
        from reportlab.lib.rl_accel import escapePDF
        from reportlab.pdfbase.pdfmetrics import getFont

        self._doc = canvas._doc
        self._escape = escapePDF
        self._font = getFont
        self._cache: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}

    def encode(self, font_name: str, text: str) -> tuple[tuple[str, str], ...]:
        """``(PDF font resource, escaped string)`` pieces of ``text`` in ``font_name``."""
        key = (font_name, text)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._encode(font_name, text)
        return found

    def _encode(self, font_name: str, text: str) -> tuple[tuple[str, str], ...]:
        font = self._font(font_name)
        doc = self._doc
        if font._dynamicFont:  # TrueType: subsets of up to 256 glyphs
            escape = self._escape
            return tuple(
                (font.getSubsetInternalName(subset, doc), escape(part))
                for subset, part in font.splitString(text, doc)
            )
        if font._multiByte:  # the CID font
            return ((doc.getInternalFontName(font.fontName), font.formatForPdf(text)),)
        raise RenderError(f"font {font_name} is neither TrueType nor CID")  # pragma: no cover


class CanvasPainter:
    """A :class:`Painter` on a reportlab canvas that writes the PDF operators itself.

    reportlab's drawing calls format every number through a general routine
    and make a text object per string; this painter writes the same operators
    directly (numbers to a thousandth of a point, each distinct string encoded
    once per document), all text of a page (or form) in one text object, a
    font or line width set only when it changes. Forms are placed through
    the canvas (``doForm``), so reportlab keeps the resources right.
    """

    def __init__(self, canvas: Any, fonts: FontSet) -> None:
        self._c = canvas
        self._fonts = fonts
        self._encoder = _TextEncoder(canvas)
        self._g: list[str] = []
        self._t: list[str] = []
        self._font: tuple[str, float] | None = None
        self._width: float | None = None

    def reset(self) -> None:
        """Forget the graphics state (a page or form starts from the defaults)."""
        self._g = []
        self._t = []
        self._font = None
        self._width = None

    def _flush_graphics(self) -> None:
        if self._g:
            self._c.addLiteral("\n".join(self._g))
            self._g = []

    def flush(self) -> None:
        """Put the collected lines, then the collected text, on the page (or form)."""
        self._flush_graphics()
        if self._t:
            self._c.addLiteral("BT\n" + "\n".join(self._t) + "\nET")
        self._t = []
        self._font = None

    def text(self, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        if not text:
            return
        fonts = self._fonts
        if align != "left":
            w = fonts.width(text, size)
            x -= w if align == "right" else w / 2
        out = self._t
        encode = self._encoder.encode
        runs = fonts.runs(text)
        ys = _num(y)
        for font, part in runs:
            out.append(f"1 0 0 1 {_num(x)} {ys} Tm")
            for pdf_font, data in encode(font, part):
                if self._font != (pdf_font, size):
                    out.append(f"{pdf_font} {_num(size)} Tf")
                    self._font = (pdf_font, size)
                out.append(f"({data}) Tj")
            if len(runs) > 1:
                x += fonts.width(part, size)

    def _set_width(self, width: float) -> None:
        self._g.append(f"{_num(width)} w")
        self._width = width

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float) -> None:
        if self._width != width:
            self._set_width(width)
        self._g.append(f"{_num(x1)} {_num(y1)} m {_num(x2)} {_num(y2)} l S")

    def rect(self, x: float, y: float, w: float, h: float, width: float) -> None:
        if self._width != width:
            self._set_width(width)
        self._g.append(f"{_num(x)} {_num(y)} {_num(w)} {_num(h)} re S")

    def place(self, key: str, x: float, y: float, scale: float) -> None:
        self._flush_graphics()
        c = self._c
        c.addLiteral(f"q {_num(scale)} 0 0 {_num(scale)} {_num(x)} {_num(y)} cm")
        c.doForm(key)
        c.addLiteral("Q")  # the line width set before is in force again


# reportlab reads its A85 switch from a process-wide setting while saving;
# saves of our chunks are serialized so the switch is never seen half-set.
_SAVE_LOCK = threading.Lock()


@contextmanager
def _no_ascii85() -> Iterator[None]:
    from reportlab import rl_config

    with _SAVE_LOCK:
        saved = rl_config.useA85
        rl_config.useA85 = 0  # binary Flate streams: a quarter smaller than ASCII85
        try:
            yield
        finally:
            rl_config.useA85 = saved


class ChunkedDocument:
    """A PDF written to ``out`` a chunk of pages at a time.

    Pages go into a small reportlab document; at a :meth:`boundary` (between
    workers) the chunk is saved and streamed to the output once it holds
    ``chunk_pages`` pages. QR codes are defined per chunk (:meth:`define_qr`),
    so a code must be defined after the boundary before the pages that use it.
    """

    def __init__(
        self,
        out: BinaryIO,
        fonts: FontSet,
        *,
        pagesize: tuple[float, float],
        title: str,
        chunk_pages: int = 240,
    ) -> None:
        self._writer = PdfStreamWriter(
            out, title=title, producer=f"pension_collect {__version__} (ReportLab)"
        )
        self._fonts = fonts
        self._pagesize = pagesize
        self._chunk_pages = max(1, chunk_pages)
        self._canvas: Any = None
        self._buffer: io.BytesIO | None = None
        self._painter: CanvasPainter | None = None
        self._in_chunk = 0
        self.pages = 0
        """Pages started so far (the current page's number while drawing it)."""

    def _open(self) -> None:
        from reportlab.pdfgen.canvas import Canvas

        self._buffer = io.BytesIO()
        self._canvas = Canvas(self._buffer, pagesize=self._pagesize, invariant=1, pageCompression=1)
        self._painter = CanvasPainter(self._canvas, self._fonts)
        self._in_chunk = 0

    def _flush(self) -> None:
        if self._canvas is None or self._buffer is None:
            return
        with _no_ascii85():
            self._canvas.save()
        self._writer.add_chunk(self._buffer.getvalue())
        self._canvas = self._buffer = self._painter = None
        self._in_chunk = 0

    def boundary(self) -> None:
        """A point where the chunk may end (call between workers)."""
        if self._in_chunk >= self._chunk_pages:
            self._flush()

    def define_qr(self, key: str, matrix: Sequence[Sequence[int]], quiet: int) -> None:
        """Define a QR code as a form in the current chunk, in a unit square.

        Each row's runs of dark modules become one rectangle; the quiet zone of
        ``quiet`` modules is left white around it.
        """
        if self._canvas is None:
            self._open()
        c = self._canvas
        n = len(matrix)
        side = n + 2 * quiet
        c.beginForm(key, 0, 0, 1, 1)
        unit = f"{1.0 / side:.6f}"
        ops = [f"{unit} 0 0 {unit} 0 0 cm"]
        for r, row in enumerate(matrix):
            y = side - quiet - r - 1
            start = -1
            for col, dark in enumerate((*row, 0)):
                if dark and start < 0:
                    start = col
                elif not dark and start >= 0:
                    ops.append(f"{quiet + start} {y} {col - start} 1 re")
                    start = -1
        ops.append("f")
        c.addLiteral("\n".join(ops))
        c.endForm()

    def page(self) -> CanvasPainter:
        """Start a page and return its painter."""
        if self._canvas is None:
            self._open()
        assert self._painter is not None
        self._painter.reset()
        self.pages += 1
        self._in_chunk += 1
        return self._painter

    def end_page(self) -> None:
        """Finish the current page."""
        assert self._painter is not None
        self._painter.flush()
        self._canvas.showPage()

    def begin_form(self, key: str) -> CanvasPainter:
        """Start a form in the current chunk (page-sized, drawn in page coordinates)."""
        if self._canvas is None:
            self._open()
        assert self._painter is not None
        width, height = self._pagesize
        self._canvas.beginForm(key, 0, 0, width, height)
        self._painter.reset()
        return self._painter

    def end_form(self) -> None:
        """Finish the form begun last."""
        assert self._painter is not None
        self._painter.flush()
        self._canvas.endForm()
        self._painter.reset()

    def close(self) -> int:
        """Stream the last chunk and finish the file; returns the bytes written."""
        self._flush()
        return self._writer.close()
