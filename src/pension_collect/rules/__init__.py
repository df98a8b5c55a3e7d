"""Rule packs: dated parameters plus rules with stable codes (docs/rules.md)."""

from __future__ import annotations

from .derive import Box, Placement, SegmentKind, place, split
from .engine import Context, DossierView, WorkerView, check, check_worker
from .fixes import FixNotApplicable, FixPreview, apply_fix, fix_preview, fixable
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
