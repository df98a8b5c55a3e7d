"""Rule packs: dated parameters plus rules with stable codes (docs/rules.md).

The fix names (:func:`apply_fix`, :func:`fix_preview`, :func:`fixable`,
:class:`FixPreview`, :class:`FixNotApplicable`, from
:mod:`pension_collect.rules.fixes`) are imported when first used (PEP 562):
checking a dossier (``pension-collect validate``) never loads the fixes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .derive import Box, Placement, SegmentKind, place, split
from .engine import Context, DossierView, WorkerView, check, check_worker
from .pack import DEFAULT_PACK, Finding, Hit, Rule, RulePack, Scope, Severity
from .parameters import (
    Confidence,
    DatedValue,
    Parameter,
    ParameterError,
    ParameterSet,
    RateBand,
    load_parameters,
)
from .report import (
    REPORT_FORMAT,
    REPORT_VERSION,
    Report,
    SegmentSummary,
    WorkerSummary,
    format_text,
)

if TYPE_CHECKING:
    from .fixes import FixNotApplicable, FixPreview, apply_fix, fix_preview, fixable

#: The public names imported on first use, and their module.
_LAZY: dict[str, str] = dict.fromkeys(
    ("FixNotApplicable", "FixPreview", "apply_fix", "fix_preview", "fixable"),
    "pension_collect.rules.fixes",
)

__all__ = [
    "DEFAULT_PACK",
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "Box",
    "Confidence",
    "Context",
    "DatedValue",
    "DossierView",
    "Finding",
    "FixNotApplicable",
    "FixPreview",
    "Hit",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "Placement",
    "RateBand",
    "Report",
    "Rule",
    "RulePack",
    "Scope",
    "SegmentKind",
    "SegmentSummary",
    "Severity",
    "WorkerSummary",
    "WorkerView",
    "apply_fix",
    "check",
    "check_worker",
    "fix_preview",
    "fixable",
    "format_text",
    "load_parameters",
    "place",
    "split",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
