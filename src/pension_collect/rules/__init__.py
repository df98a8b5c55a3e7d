"""Rule packs: dated parameters plus rules with stable codes (docs/rules.md)."""

from __future__ import annotations

from .derive import Box, Kind, Placement, place, split
from .engine import Context, DossierView, WorkerView, check, check_worker
from .pack import DEFAULT_PACK, Finding, Hit, Rule, RulePack, RulePackRegistry, Scope, Severity
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
    "Hit",
    "Kind",
    "Parameter",
    "ParameterError",
    "ParameterSet",
    "Placement",
    "RateBand",
    "Report",
    "Rule",
    "RulePack",
    "RulePackRegistry",
    "Scope",
    "SegmentSummary",
    "Severity",
    "WorkerSummary",
    "WorkerView",
    "check",
    "check_worker",
    "format_text",
    "load_parameters",
    "place",
    "split",
]
