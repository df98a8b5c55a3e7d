"""Rules, findings and rule packs.

A :class:`RulePack` is dated parameters (data) plus a list of :class:`Rule`.
Each rule has a stable code (docs/rules.md), a severity, the procedure
paragraph it enforces, a message in English and Chinese, and a check function
that *yields* :class:`Hit` values; the engine turns hits into
:class:`Finding` objects. Packs reach the core through the plugin hook
``pension_collect_register_rule_packs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol

import attrs

from .._privacy import scrubbed_repr
from ..errors import PluginError
from .parameters import ParameterSet

__all__ = [
    "DEFAULT_PACK",
    "Finding",
    "Hit",
    "Rule",
    "RulePack",
    "Scope",
    "Severity",
    "WorkerFold",
]

#: Name of the pack used when a dossier names none.
DEFAULT_PACK = "weihai-2013"


class Severity(StrEnum):
    """An error blocks saving and submission; a warning is kept and shown."""

    ERROR = "error"
    WARNING = "warning"


class Scope(StrEnum):
    """What a rule's check function receives."""

    WORKER = "worker"  # a WorkerView, once per worker
    DOSSIER = "dossier"  # a DossierView, once per dossier (employer-level rules)


@attrs.frozen(kw_only=True)
class Hit:
    """What a check function yields: where, and the data of the finding."""

    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict, repr=scrubbed_repr)
    """Values for the message templates (never a name or an identity number)."""
    related: str | None = None
    expected: Any = attrs.field(default=None, repr=scrubbed_repr)
    fix: Any = attrs.field(default=None, repr=scrubbed_repr)
    field: str | None = None
    """The field of the object at ``path`` concerned, where one is."""


class WorkerFold(Protocol):
    """A dossier-scope check done in one pass over the workers (the streaming
    reader's form of it: docs/rules.md, "Rules across workers").

    ``add`` is called with each worker's view in order, ``finish`` once
    afterwards; ``finish`` gives the hits the rule's ``check`` gives on the
    whole dossier, in the same order.
    """

    def add(self, view: Any) -> None:
        """Take one worker (a ``WorkerView``) into account."""

    def finish(self) -> Iterable[Hit]:
        """The hits, once every worker was added."""


@attrs.frozen(kw_only=True)
class Rule:
    """One check with a stable public code."""

    code: str
    severity: Severity
    message: str
    """English template, ``str.format``-ed with the hit's params; says what to do."""
    message_zh: str
    """Chinese template for clerks (same params)."""
    check: Callable[[Any], Iterable[Hit]] = attrs.field(repr=False)
    """``check(view)``: a WorkerView or a DossierView, as ``scope`` says."""
    procedure: str | None = None
    """The procedure paragraph it enforces (``"P3.4a"``), where one does."""
    scope: Scope = Scope.WORKER
    uses: tuple[str, ...] = ()
    """Names of the pack parameters the rule reads (the report traces them)."""
    active: Callable[[ParameterSet, Any], bool] | None = attrs.field(default=None, repr=False)
    """Optional: ``active(parameters, as_of)`` is false when the rule cannot run
    (e.g. no reference table is configured)."""
    fold: Callable[[Any], WorkerFold] | None = attrs.field(default=None, repr=False)
    """Dossier-scope rules, optional: ``fold(view)`` (a ``DossierView`` without
    its workers) gives a :class:`WorkerFold` doing the same check in one pass.
    The streaming reader uses it; a dossier-scope rule without one makes it
    keep every worker's view in memory (docs/rules.md)."""

    def is_active(self, parameters: ParameterSet, as_of: Any) -> bool:
        """Whether the rule runs with these parameters at this month."""
        return self.active is None or self.active(parameters, as_of)


@attrs.frozen(kw_only=True)
class Finding:
    """One result of a rule on a dossier: the report format's ``findings`` item."""

    code: str
    severity: Severity
    path: str
    message: str
    message_zh: str
    procedure: str | None = None
    related: str | None = None
    expected: Any = attrs.field(default=None, repr=scrubbed_repr)
    """The right value; an identity number in it is masked in the repr (docs/privacy.md)."""
    fix: Any = attrs.field(default=None, repr=scrubbed_repr)
    field: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@attrs.frozen(kw_only=True)
class RulePack:
    """A named set of rules with its dated parameters."""

    name: str
    title: str
    parameters: ParameterSet
    rules: tuple[Rule, ...]
    description: str = ""

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.code in seen:
                raise PluginError(f"rule pack {self.name!r} has two rules with code {rule.code!r}")
            seen.add(rule.code)

    @property
    def codes(self) -> tuple[str, ...]:
        """Every rule code of the pack, in order."""
        return tuple(r.code for r in self.rules)

    def rule(self, code: str) -> Rule:
        """The rule with this code; :class:`KeyError` when there is none."""
        for r in self.rules:
            if r.code == code:
                return r
        raise KeyError(code)

    def with_rules(self, extra: Iterable[Rule]) -> RulePack:
        """A copy of the pack with more rules."""
        return attrs.evolve(self, rules=self.rules + tuple(extra))
