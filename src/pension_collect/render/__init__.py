"""Paper forms: verification form (核对表), confirmation form (确认表, three copies)
and summary sheet (汇总表), drawn as PDF from a plain view model (docs/forms.md).

Importing this package does not import reportlab: renderers import it when
they render (the optional ``pdf`` extra). The QR payload check
(:func:`verify_payload`) needs neither reportlab nor segno.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from .errors import RenderError, RenderUnavailable, UnknownRenderer
from .paper import QrPayload, Verification, VerifyStatus, printed_digest, verify_payload
from .registry import PrintedWorker, Renderer, RendererRegistry, RenderOptions, RenderResult
from .view import FormsInput, WorkerSheet, forms_input, forms_input_from_workers

if TYPE_CHECKING:
    from ..plugins import PluginHost

__all__ = [
    "FormsInput",
    "PrintedWorker",
    "QrPayload",
    "RenderError",
    "RenderOptions",
    "RenderResult",
    "RenderUnavailable",
    "Renderer",
    "RendererRegistry",
    "UnknownRenderer",
    "Verification",
    "VerifyStatus",
    "WorkerSheet",
    "forms_input",
    "forms_input_from_workers",
    "printed_digest",
    "render",
    "verify_payload",
]


def render(
    form: str,
    forms: FormsInput,
    out: BinaryIO,
    *,
    options: RenderOptions | None = None,
    host: PluginHost | None = None,
) -> RenderResult:
    """Render ``form`` (``verification``, ``confirmation``, ``summary`` or a plugin's)
    through the plugin host (default: every installed plugin)."""
    if host is None:
        from ..plugins import default_host

        host = default_host()
    return host.renderer(form).render(forms, out, options=options)
