"""The renderer protocol and the registry the renderer hook fills in.

A renderer turns a :class:`~pension_collect.ports.forms.FormsInput` (a plain
view model built from a dossier) into a document written to a binary stream.
Renderers reach the core through the hook ``pension_collect_register_renderers``
(docs/forms.md); the built-in ones are ``verification``, ``confirmation`` and
``summary``. This module does not import reportlab.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

import attrs

from ...errors import PensionCollectError, PluginError
from ..registry import Registry

if TYPE_CHECKING:
    from .view import FormsInput

__all__ = [
    "DEFAULT_COPIES",
    "FontChoice",
    "PrintedWorker",
    "RenderError",
    "RenderOptions",
    "RenderResult",
    "RenderUnavailable",
    "Renderer",
    "RendererRegistry",
    "UnknownRenderer",
]

#: The copies of a confirmation form [P3.5]: three, each marked which it is.
DEFAULT_COPIES: tuple[str, ...] = (
    "第一联 社保经办机构留存",
    "第二联 用人单位留存",
    "第三联 职工本人留存",
)


class RenderError(PensionCollectError):
    """A form could not be rendered (a bad font path, a broken plugin renderer ...)."""

    code = "render.error"


class RenderUnavailable(RenderError):
    """The PDF renderers need the optional ``pdf`` extra (reportlab, segno)."""

    code = "render.unavailable"

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(
            f"rendering PDF forms needs {missing}: pip install 'pension-collect[pdf]' "
            f"(打印表格需要安装 {missing})"
        )


class UnknownRenderer(RenderError, LookupError):
    """A renderer was asked for by a name no plugin registers."""

    code = "render.unknown"

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(sorted(available))
        super().__init__(
            f"no form renderer named {name!r}; available: {', '.join(self.available) or 'none'}"
        )


@attrs.frozen(kw_only=True)
class FontChoice:
    """The font a document's text is set in (reported by every render)."""

    name: str
    """The name registered with reportlab."""
    family: str
    """Human name: ``WenQuanYi Zen Hei`` or ``STSong-Light``."""
    kind: str
    """``ttf`` (embedded TrueType subset) or ``cid`` (CID font, not embedded)."""
    path: str | None = None
    subfont_index: int | None = None
    """Index into a TrueType collection (``.ttc``)."""
    how: str = ""
    """How it was chosen: ``configured``, ``fontconfig``, ``fallback``, ``forced``."""
    note: str | None = None
    """Why a TrueType font was not used, when it was not."""

    def describe(self) -> str:
        """One line for a clerk or a log: family, kind and file."""
        if self.kind == "ttf":
            where = f"{self.path}#{self.subfont_index}" if self.subfont_index else f"{self.path}"
            return f"{self.family} (TrueType subset embedded, {where}; {self.how})"
        tail = f"; {self.note}" if self.note else ""
        return f"{self.family} (CID font, not embedded; {self.how}{tail})"


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


class RendererRegistry(Registry[Renderer]):
    """What the ``pension_collect_register_renderers`` hook fills in: renderers by
    name (the one registry behaviour of :class:`~pension_collect.ports.registry.Registry`)."""

    what = "renderer"

    def validate(self, name: str, item: Renderer) -> None:
        if not isinstance(item, Renderer):
            raise PluginError(f"renderer {name!r} has no render(forms, out) method")

    def unknown(self, name: str) -> PensionCollectError:
        return UnknownRenderer(name, self.names())
