"""The renderer protocol and the registry the renderer hook fills in.

A renderer turns a :class:`~pension_collect.render.view.FormsInput` (a plain
view model built from a dossier) into a document written to a binary stream.
Renderers reach the core through the hook ``pension_collect_register_renderers``
(docs/forms.md); the built-in ones are ``verification``, ``confirmation`` and
``summary``. This module does not import reportlab.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

import attrs

from ..errors import PluginError
from .errors import UnknownRenderer

if TYPE_CHECKING:
    from .fonts import FontChoice
    from .view import FormsInput

__all__ = [
    "PrintedWorker",
    "RenderOptions",
    "RenderResult",
    "Renderer",
    "RendererRegistry",
]

#: The copies of a confirmation form [P3.5]: three, each marked which it is.
DEFAULT_COPIES: tuple[str, ...] = (
    "第一联 社保经办机构留存",
    "第二联 用人单位留存",
    "第三联 职工本人留存",
)


@attrs.frozen(kw_only=True)
class RenderOptions:
    """How to render; every field has a sensible default."""

    font: str | None = None
    """Font spec: ``None``/``"auto"`` (``PENSION_COLLECT_FONT``, else fontconfig,
    else the CID font), ``"cid"`` (force STSong-Light), or a TrueType path with
    an optional collection index: ``/path/wqy-zenhei.ttc#0``."""
    copies: tuple[str, ...] = DEFAULT_COPIES
    """Copy markings of the confirmation form, one copy each."""
    chunk_pages: int = 240
    """Pages rendered in memory before they are streamed to the output."""
    title: str | None = None
    """Document title in the PDF's metadata (default: the form's Chinese name)."""


@attrs.frozen(kw_only=True)
class PrintedWorker:
    """What was printed for one worker."""

    index: int
    """Position of the worker in the dossier (``$.workers[index]``)."""
    key: str
    """The worker key of the QR payload (``P<person_no>`` or ``H<hash>``)."""
    first_page: int
    """1-based page of the output where the worker's form starts."""
    pages: int
    """Pages printed for the worker (all copies)."""
    digest: str | None = None
    """Digest of the printed data (confirmation form only)."""
    payload: str | None = None
    """The QR payload printed on each copy (confirmation form only)."""


@attrs.frozen(kw_only=True)
class RenderResult:
    """What a renderer reports about the document it wrote."""

    form: str
    """The renderer's name: ``verification``, ``confirmation``, ``summary`` ..."""
    pages: int
    workers: int
    bytes_written: int
    font: FontChoice | None
    """The font the text was set in (``None`` for a renderer without text)."""
    printed: tuple[PrintedWorker, ...] = ()
    fallback_chars: int = 0
    """Characters the main font lacked, set in the CID fallback font instead."""


@runtime_checkable
class Renderer(Protocol):
    """A form renderer: ``render(forms, out) -> RenderResult``.

    ``out`` is a binary stream opened for writing; it need not be seekable.
    A renderer must not close it. Identical input gives identical bytes.
    """

    name: str
    title: str
    """Human name, Chinese then English: ``"确认表 confirmation form"``."""

    def render(
        self, forms: FormsInput, out: BinaryIO, *, options: RenderOptions | None = None
    ) -> RenderResult: ...


class RendererRegistry:
    """What the ``pension_collect_register_renderers`` hook fills in."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._frozen = False

    def add(self, name: str, renderer: Renderer, *, default: bool = False) -> None:
        """Register ``renderer`` under ``name``. Built-ins pass ``default=True``:
        a plugin that registered the same name replaces them."""
        if self._frozen:
            raise PluginError("renderers can only be registered from the hook")
        if not isinstance(renderer, Renderer):
            raise PluginError(f"renderer {name!r} has no render(forms, out) method")
        if name in self._renderers:
            if default:
                return
            raise PluginError(f"two plugins register a renderer named {name!r}")
        self._renderers[name] = renderer

    def freeze(self) -> None:
        """Close registration; called by the plugin host after the hook ran."""
        self._frozen = True

    def names(self) -> list[str]:
        """Names of every registered renderer, sorted."""
        return sorted(self._renderers)

    def get(self, name: str) -> Renderer:
        """The renderer called ``name``; :class:`UnknownRenderer` if none is."""
        try:
            return self._renderers[name]
        except KeyError:
            raise UnknownRenderer(name, self._renderers) from None

    def __contains__(self, name: object) -> bool:
        return name in self._renderers
