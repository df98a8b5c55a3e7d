"""The forms contract: the view model every renderer draws, the renderer
protocol and its registry, and the QR payload tying paper to data (docs/forms.md).

The three paper forms are the verification form (核对表), the confirmation
form (确认表, three copies) and the summary sheet (汇总表). The built-in PDF
renderers live in :mod:`pension_collect.adapters.pdf`; nothing here imports
reportlab. The QR payload check (:func:`verify_payload`) needs neither
reportlab nor segno.
"""

from __future__ import annotations

from .payload import QrPayload, Verification, VerifyStatus, printed_digest, verify_payload
from .registry import (
    PrintedWorker,
    Renderer,
    RendererRegistry,
    RenderError,
    RenderOptions,
    RenderResult,
    RenderUnavailable,
    UnknownRenderer,
)
from .view import FormsInput, WorkerSheet, forms_input, forms_input_from_workers

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
    "verify_payload",
]
