"""pension_collect: an employer's pension data-quality collection, as a library.

This module is the facade (docs/api.md): the names most programs need, and the
one place that reaches for the default plugin host (:func:`default_host`) when
a caller passes none. Everything below it is importable on its own and loads
only its own layer (docs/architecture.md):

- base: :mod:`~pension_collect.model`, :mod:`~pension_collect.dossier`,
  :mod:`~pension_collect.identity`, :mod:`~pension_collect.credit_code`,
  :mod:`~pension_collect.errors`;
- :mod:`pension_collect.rules`: pure checks, ``rules.check(dossier, pack)``;
- :mod:`pension_collect.ports`: every contract a plugin implements;
- the host: :mod:`~pension_collect.hookspecs`, :mod:`~pension_collect.plugins`;
- :mod:`pension_collect.workflow`: the guarded collection session;
- :mod:`pension_collect.adapters`: the built-in plugins.

Names are imported when first used (PEP 562), so ``import
pension_collect.identity`` does not load the rule engine, the host or the forms.
"""

from __future__ import annotations

import datetime as _dt
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from ._version import __version__

if TYPE_CHECKING:
    from .dossier import dump, dumps, load, loads
    from .errors import (
        DossierFormatError,
        PensionCollectError,
        PluginError,
        Problem,
        UnknownRulePack,
    )
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
    from .plugins import PluginHost
    from .ports.forms import FormsInput, RenderOptions, RenderResult, Verification
    from .ports.forms.payload import QrPayload
    from .rules import Finding, Report, RulePack, Severity
    from .workflow import CollectionSession

#: Where each lazily imported public name lives.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("dump", "dumps", "load", "loads"), "pension_collect.dossier"),
    **dict.fromkeys(
        ("DossierFormatError", "PensionCollectError", "PluginError", "Problem", "UnknownRulePack"),
        "pension_collect.errors",
    ),
    "hookimpl": "pension_collect.hookspecs",
    "IdentityNumber": "pension_collect.identity",
    **dict.fromkeys(
        (
            "AccountYear",
            "BureauRecord",
            "Category",
            "Dossier",
            "Employer",
            "EmployerKind",
            "Gender",
            "Hukou",
            "Money",
            "Origin",
            "Segment",
            "Source",
            "Worker",
            "YearMonth",
            "money",
        ),
        "pension_collect.model",
    ),
    "PluginHost": "pension_collect.plugins",
    **dict.fromkeys(
        ("FormsInput", "RenderOptions", "RenderResult", "Verification"),
        "pension_collect.ports.forms",
    ),
    **dict.fromkeys(("Finding", "Report", "RulePack", "Severity"), "pension_collect.rules"),
    "CollectionSession": "pension_collect.workflow",
}

__all__ = [
    "AccountYear",
    "BureauRecord",
    "Category",
    "CollectionSession",
    "Dossier",
    "DossierFormatError",
    "Employer",
    "EmployerKind",
    "Finding",
    "FormsInput",
    "Gender",
    "Hukou",
    "IdentityNumber",
    "Money",
    "Origin",
    "PensionCollectError",
    "PluginError",
    "PluginHost",
    "Problem",
    "RenderOptions",
    "RenderResult",
    "Report",
    "RulePack",
    "Segment",
    "Severity",
    "Source",
    "UnknownRulePack",
    "Verification",
    "Worker",
    "YearMonth",
    "__version__",
    "check",
    "default_host",
    "dump",
    "dumps",
    "forms_input",
    "hookimpl",
    "load",
    "loads",
    "money",
    "render",
    "rule_pack",
    "verify_payload",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pension_collect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# -- the default host -------------------------------------------------------------

_default: PluginHost | None = None


def default_host() -> PluginHost:
    """A host with every installed plugin, created on first use.

    Every facade function below uses it when no ``host`` is passed. Embedding
    applications that need isolation create their own
    :class:`~pension_collect.plugins.PluginHost` and pass it instead.
    """
    global _default
    if _default is None:
        from .plugins import PluginHost

        _default = PluginHost()
    return _default


def rule_pack(name: str | None = None, *, host: PluginHost | None = None) -> RulePack:
    """The rule pack called ``name`` (default ``weihai-2013``) from the plugins."""
    return (host or default_host()).rule_pack(name)


def _pack_for(dossier: Dossier, pack: RulePack | str | None, host: PluginHost | None) -> RulePack:
    from .rules import RulePack

    if isinstance(pack, RulePack):
        return pack
    return rule_pack(pack or dossier.rule_pack, host=host)


# -- the everyday functions ----------------------------------------------------------


def check(
    dossier: Dossier,
    *,
    pack: RulePack | str | None = None,
    host: PluginHost | None = None,
    today: _dt.date | None = None,
) -> Report:
    """Check a dossier against a rule pack and report every finding.

    ``pack`` is a pack or its name (default: the dossier's ``rule_pack``, else
    ``weihai-2013``), looked up through ``host`` (default: :func:`default_host`).
    ``today`` fixes the current date (tests; the default ``as_of``). Raises
    only :class:`~pension_collect.errors.UnknownRulePack`; domain problems are
    findings. The pure form is :func:`pension_collect.rules.check`.
    """
    from .rules import check as _check

    return _check(dossier, _pack_for(dossier, pack, host), today=today)


def forms_input(
    dossier: Dossier,
    *,
    pack: RulePack | str | None = None,
    host: PluginHost | None = None,
    declaration_ref: str | None = None,
    select: Sequence[int] | None = None,
    cut_off: str | None = "pack",
) -> FormsInput:
    """The forms' view model of a dossier, its pack looked up as :func:`check` does
    (:func:`pension_collect.ports.forms.forms_input` takes the pack itself)."""
    from .ports.forms import forms_input as _forms_input

    return _forms_input(
        dossier,
        pack=_pack_for(dossier, pack, host),
        declaration_ref=declaration_ref,
        select=select,
        cut_off=cut_off,
    )


def render(
    form: str,
    forms: FormsInput | Dossier,
    out: BinaryIO,
    *,
    options: RenderOptions | None = None,
    pack: RulePack | str | None = None,
    host: PluginHost | None = None,
) -> RenderResult:
    """Render ``form`` (``verification``, ``confirmation``, ``summary`` or a
    plugin's) to the binary stream ``out`` through the plugin host.

    ``forms`` is the view model, or a dossier (its view model is built with
    ``pack`` as :func:`forms_input` does).
    """
    from .model import Dossier

    host = host or default_host()
    if isinstance(forms, Dossier):
        forms = forms_input(forms, pack=pack, host=host)
    return host.renderer(form).render(forms, out, options=options)


def verify_payload(
    payload: str | QrPayload,
    dossier: Dossier,
    *,
    pack: RulePack | str | None = None,
    host: PluginHost | None = None,
    declaration_ref: str | None = None,
) -> Verification:
    """Check a scanned confirmation-form payload against stored data, the pack
    looked up as :func:`check` does (docs/forms.md)."""
    from .ports.forms import verify_payload as _verify

    return _verify(
        payload, dossier, pack=_pack_for(dossier, pack, host), declaration_ref=declaration_ref
    )
