"""pension_collect: an employer's pension data-quality collection, as a library.

The core models employers, workers, contribution-history segments and pension
accounts (:mod:`pension_collect.model`), reads and writes the dossier format
(:mod:`pension_collect.dossier`) and checks it against a dated rule pack
(:mod:`pension_collect.rules`). Storage, bureau transport and form rendering
come from plugins (:mod:`pension_collect.plugins`). See docs/.
"""

from __future__ import annotations

from .dossier import dump, dumps, load, loads
from .errors import DossierFormatError, PensionCollectError, PluginError, Problem, UnknownRulePack
from .hookspecs import hookimpl
from .identity import IdentityNumber
from .model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    Employer,
    EmployerKind,
    Gender,
    Hukou,
    Money,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
    money,
)
from .plugins import PluginHost, default_host
from .rules import Finding, Report, RulePack, Severity, check

__version__ = "0.1.0"

__all__ = [
    "AccountYear",
    "BureauRecord",
    "Category",
    "Dossier",
    "DossierFormatError",
    "Employer",
    "EmployerKind",
    "Finding",
    "Gender",
    "Hukou",
    "IdentityNumber",
    "Money",
    "Origin",
    "PensionCollectError",
    "PluginError",
    "PluginHost",
    "Problem",
    "Report",
    "RulePack",
    "Segment",
    "Severity",
    "Source",
    "UnknownRulePack",
    "Worker",
    "YearMonth",
    "__version__",
    "check",
    "default_host",
    "dump",
    "dumps",
    "hookimpl",
    "load",
    "loads",
    "money",
]
