"""The built-in form renderers, registered like any plugin's (docs/forms.md)."""

from __future__ import annotations

from ...hookspecs import hookimpl
from ...ports.forms.registry import RendererRegistry
from .renderers import ConfirmationRenderer, SummaryRenderer, VerificationRenderer

__all__ = ["pension_collect_register_renderers"]


@hookimpl
def pension_collect_register_renderers(registry: RendererRegistry) -> None:
    """Register ``verification``, ``confirmation`` and ``summary`` (a plugin may replace them)."""
    registry.add("verification", VerificationRenderer(), default=True)
    registry.add("confirmation", ConfirmationRenderer(), default=True)
    registry.add("summary", SummaryRenderer(), default=True)
