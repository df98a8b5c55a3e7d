"""Helpers shared by the render tests: the example dossier, rendering to bytes,
and reading PDFs back with pypdf."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pension_collect
from pension_collect import forms_input
from pension_collect.adapters.pdf.fonts import find_cjk_fonts
from pension_collect.dossier import loads
from pension_collect.model import Dossier
from pension_collect.plugins import PluginHost
from pension_collect.ports.forms import FormsInput, RenderOptions, RenderResult

EXAMPLE_PATH = Path(pension_collect.__file__).parent / "data" / "example-dossier.json"

_LATE_YEAR = re.compile(r"(?<![0-9A-Za-z.])20(1[2-9]|[2-9][0-9])(?![0-9A-Za-z.])")


def late_year(page: str, pack: str = "weihai-2013") -> str | None:
    """A year after 2011 printed as a year or month (not an amount, a hex digest
    or the rule pack's name), else ``None``."""
    found = _LATE_YEAR.search(page.replace(pack, ""))
    return None if found is None else found.group(0)


def example() -> Dossier:
    """The bundled example dossier (three workers, account years 1996..2012)."""
    return loads(EXAMPLE_PATH.read_bytes(), source="example")


def host() -> PluginHost:
    """A host with the built-ins only."""
    return PluginHost(load_entry_points=False)


def render_bytes(
    form: str,
    dossier: Dossier,
    *,
    font: str | None = "cid",
    declaration_ref: str | None = "DECL-1",
    select: Sequence[int] | None = None,
    chunk_pages: int = 240,
) -> tuple[bytes, RenderResult]:
    """Render ``form`` of ``dossier`` into memory through the plugin host."""
    h = host()
    forms = forms_input(dossier, host=h, declaration_ref=declaration_ref, select=select)
    out = io.BytesIO()
    result = h.renderer(form).render(
        forms, out, options=RenderOptions(font=font, chunk_pages=chunk_pages)
    )
    return out.getvalue(), result


def page_texts(pdf: bytes) -> list[str]:
    """The text of every page, as pypdf extracts it."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf), strict=True).pages]


def has_ttf() -> bool:
    """A TrueType CJK font is reachable through fontconfig on this machine."""
    return bool(find_cjk_fonts())


class HalfThenFail:
    """A renderer (of any form) that writes half a PDF, then raises ``error``."""

    title = "half"

    def __init__(self, error: BaseException, name: str = "summary") -> None:
        self.error = error
        self.name = name

    def render(
        self, forms: FormsInput, out: BinaryIO, *, options: RenderOptions | None = None
    ) -> RenderResult:
        out.write(b"%PDF-1.4 half a document")
        raise self.error
