"""The built-in renderers: light objects, reportlab is imported only to render.

Besides the protocol's ``render(forms, out, *, options=None)`` they accept, for
convenience, a :class:`~pension_collect.model.Dossier` instead of the view model
(built with ``pack``, by default the built-in weihai-2013 pack when the
dossier names no other), a path
instead of a stream, and ``copies=N`` as a short form of the copy markings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

import attrs

from ..._files import atomic_write
from ...model import Dossier
from ...ports.forms.registry import (
    DEFAULT_COPIES,
    RenderError,
    RenderOptions,
    RenderResult,
    RenderUnavailable,
)
from ...ports.forms.view import FormsInput, forms_input
from ...rules.pack import RulePack
from ...rules.weihai2013 import NAME as _WEIHAI
from ...rules.weihai2013 import default_pack

__all__ = ["ConfirmationRenderer", "SummaryRenderer", "VerificationRenderer", "copy_labels"]

_Draw = Callable[..., RenderResult]


def copy_labels(copies: int) -> tuple[str, ...]:
    """Markings for ``copies`` copies: the three standard ones, then ``第N联``."""
    extra = tuple(f"第{n}联" for n in range(len(DEFAULT_COPIES) + 1, copies + 1))
    return (DEFAULT_COPIES + extra)[:copies]


def _draw(name: str) -> _Draw:
    try:
        from . import forms
    except ImportError as exc:  # reportlab or segno missing
        raise RenderUnavailable(exc.name or "reportlab") from None
    draw: _Draw = getattr(forms, f"render_{name}")
    return draw


def _builtin_pack(dossier: Dossier) -> RulePack:
    if dossier.rule_pack not in (None, _WEIHAI):
        raise RenderError(
            f"the dossier names rule pack {dossier.rule_pack!r}: pass pack= (or render "
            f"through pension_collect.render, which looks it up)"
        )
    return default_pack()


class _Builtin:
    name = ""
    title = ""

    def render(
        self,
        forms: FormsInput | Dossier,
        out: BinaryIO | str | os.PathLike[str],
        *,
        options: RenderOptions | None = None,
        copies: int | None = None,
        declaration_ref: str | None = None,
        pack: RulePack | None = None,
    ) -> RenderResult:
        """Write the form to ``out`` (a binary stream, or a path to create)."""
        if isinstance(forms, Dossier):
            forms = forms_input(
                forms, pack=pack or _builtin_pack(forms), declaration_ref=declaration_ref
            )
        options = options or RenderOptions()
        if copies is not None:
            options = attrs.evolve(options, copies=copy_labels(copies))
        draw = _draw(self.name)
        if isinstance(out, str | os.PathLike):
            with atomic_write(out, overwrite=True) as stream:  # never a torn file, nor via a link
                return draw(forms, stream, options=options)
        return draw(forms, out, options=options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class VerificationRenderer(_Builtin):
    """核对表 verification form [P3.2]: the bureau's record, room to correct by hand."""

    name = "verification"
    title = "核对表 verification form"


class ConfirmationRenderer(_Builtin):
    """确认表 confirmation form [P3.5]: the collected data, three marked copies, QR code."""

    name = "confirmation"
    title = "确认表 confirmation form"


class SummaryRenderer(_Builtin):
    """汇总表 summary sheet [P3.6]: one line per worker handed in, with totals."""

    name = "summary"
    title = "汇总表 summary sheet"
