"""Running a rule pack over a dossier: ``check(dossier) -> Report``.

``check`` never raises on domain data: every problem of the data is a
finding. A rule whose own code fails (a bug in a plugin's rule, say) yields a
``rules.internal-error`` finding naming the rule instead of a traceback.

What a report lists is bounded (:class:`~pension_collect.limits.Limits`): at
most ``findings_per_worker`` findings per worker and ``findings`` in all; one
``rules.too-many-findings`` finding counts the rest, an error when one of
them is.
"""

from __future__ import annotations

import datetime as _dt
import functools
import operator
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

import attrs

from .._gc import gc_paused
from ..identity import IdentityNumber, InvalidIdentityNumber
from ..limits import DEFAULT_LIMITS, Limits
from ..model import AccountYear, Category, Dossier, Segment, Worker, YearMonth, months_between
from .derive import Placement, place
from .pack import Finding, Hit, Rule, RulePack, Scope, Severity
from .parameters import ParameterSet
from .report import Report, SegmentSummary, WorkerSummary

__all__ = ["Context", "DossierView", "WorkerView", "check", "check_worker"]

INTERNAL_ERROR = "rules.internal-error"
TOO_MANY_FINDINGS = "rules.too-many-findings"

V = TypeVar("V")


@attrs.frozen(kw_only=True)
class Context:
    """What every rule may read besides the data: parameters and the dates."""

    pack: RulePack
    as_of: YearMonth
    """The collection month (the dossier's ``as_of``, else the current month)."""
    today: _dt.date

    @functools.cached_property
    def values(self) -> Mapping[str, Any]:
        """Every parameter's value in force at :attr:`as_of`."""
        params = self.pack.parameters
        return {name: params.get(name, self.as_of) for name in params.parameters}

    def param(self, name: str) -> Any:
        """The value of a pack parameter at :attr:`as_of` (``None`` if unset)."""
        return self.values.get(name)


class _computed(Generic[V]):
    """A property computed on first use and then kept on the instance.

    Like :func:`functools.cached_property` without its lock (Python 3.11
    takes one per first access; a view belongs to one ``check`` call).
    """

    def __init__(self, compute: Callable[[Any], V]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _computed[V]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> V: ...
    def __get__(self, instance: object, owner: type | None = None) -> V | _computed[V]:
        if instance is None:
            return self
        value = self._compute(instance)
        instance.__dict__[self._name] = value
        return value


_YEAR = operator.attrgetter("year")


class WorkerView:
    """One worker as the rules see it, with what several rules share computed once."""

    def __init__(self, worker: Worker, index: int, context: Context) -> None:
        self.worker = worker
        self.index = index
        self.path = f"$.workers[{index}]"
        self.context = context

    def segment_path(self, i: int) -> str:
        return f"{self.path}.history[{i}]"

    def account_path(self, i: int) -> str:
        return f"{self.path}.account[{i}]"

    @_computed
    def _identity(self) -> IdentityNumber | InvalidIdentityNumber:
        try:
            return IdentityNumber.parse(self.worker.id_number, today=self.context.today)
        except InvalidIdentityNumber as exc:
            return exc

    @_computed
    def identity(self) -> IdentityNumber | None:
        """The parsed identity number, ``None`` when it is invalid."""
        # Kept, as the other computed values: most rules read it.
        value = self._identity
        return value if isinstance(value, IdentityNumber) else None

    @property
    def identity_error(self) -> InvalidIdentityNumber | None:
        """Why the identity number is invalid, ``None`` when it is valid."""
        value = self._identity
        return value if isinstance(value, InvalidIdentityNumber) else None

    @_computed
    def birth_date(self) -> _dt.date | None:
        """From the identity number when it is valid, else as declared."""
        identity = self.identity
        return identity.birth_date if identity is not None else self.worker.birth_date

    @_computed
    def segments(self) -> list[tuple[int, Segment, Placement]]:
        """``(index, segment, placement)`` for each history segment."""
        history = self.worker.history
        if not history:
            return []
        return list(zip(range(len(history)), history, self.placements, strict=True))

    @_computed
    def account_years(self) -> list[int]:
        """The ``year`` of each collected account year, in the dossier's order."""
        account = self.worker.account
        return list(map(_YEAR, account)) if account else []

    @_computed
    def years(self) -> list[tuple[int, AccountYear]]:
        """``(index, account year)`` for each collected account year."""
        return list(enumerate(self.worker.account or ()))

    @_computed
    def placements(self) -> tuple[Placement, ...]:
        """Box and category of each history segment (empty when not collected)."""
        history = self.worker.history
        if not history:
            return ()
        upper_last = self.context.param("upper_box_last_month")
        account_start = self.context.param("account_start")
        return tuple(
            [place(s, upper_last=upper_last, account_start=account_start) for s in history]
        )


class DossierView:
    """The whole dossier, for rules of scope ``dossier``."""

    def __init__(self, dossier: Dossier, context: Context, workers: list[WorkerView]) -> None:
        self.dossier = dossier
        self.context = context
        self.workers = workers


def _finding(rule: Rule, hit: Hit) -> Finding:
    params = hit.params
    try:
        message = rule.message.format(**params)
        message_zh = rule.message_zh.format(**params)
    except (KeyError, IndexError, ValueError):
        message, message_zh = rule.message, rule.message_zh
    return Finding(
        code=rule.code,
        severity=rule.severity,
        path=hit.path,
        procedure=rule.procedure,
        message=message,
        message_zh=message_zh,
        related=hit.related,
        expected=hit.expected,
        fix=hit.fix,
        field=hit.field,
    )


def _internal_error(rule: Rule, path: str, exc: Exception) -> Finding:
    # The exception text is not shown: it could quote personal data.
    return Finding(
        code=INTERNAL_ERROR,
        severity=Severity.ERROR,
        path=path,
        message=(
            f"rule {rule.code} failed with {type(exc).__name__} on this item; the data could "
            "not be checked by it. Report this to the rule pack's maintainers."
        ),
        message_zh=(
            f"规则 {rule.code} 执行出错({type(exc).__name__}),此项未能检查;请联系规则包维护者。"
        ),
        expected=rule.code,
    )


def _too_many(path: str, omitted: int, error: bool, listed: int) -> Finding:
    """The summary of the findings not listed (at a worker's path, or ``$``)."""
    if path == "$":
        what, what_zh = f"a report lists at most {listed:,}", f"每份报告最多列出 {listed:,} 条"
    else:
        what = f"a report lists at most {listed:,} per worker"
        what_zh = f"每名职工最多列出 {listed:,} 条"
    return Finding(
        code=TOO_MANY_FINDINGS,
        severity=Severity.ERROR if error else Severity.WARNING,
        path=path,
        message=(
            f"{omitted:,} more findings are not listed: {what} "
            '(docs/dossier.md "Limits"). Correct those listed and check again.'
        ),
        message_zh=(
            f"另有 {omitted:,} 条检查结果未列出({what_zh});请先更正已列出的问题,再重新检查。"
        ),
    )


def _run(rule: Rule, view: Any, path: str, out: list[Finding]) -> None:
    try:
        for hit in rule.check(view):
            out.append(_finding(rule, hit))
    except Exception as exc:  # never let one rule's bug hide the others' findings
        out.append(_internal_error(rule, path, exc))


def _run_worker(
    view: WorkerView, rules: list[tuple[Rule, Callable[[Any], Any]]], out: list[Finding], room: int
) -> tuple[int, bool]:
    """Run worker-scope ``rules`` (each with its check function) on one
    worker, listing at most ``room`` findings in ``out``; return how many
    more there were and whether one of them is an error (the hits past the
    room are counted, not built)."""
    omitted = 0
    error = False
    for rule, check in rules:
        try:
            for hit in check(view):
                if room > 0:
                    out.append(_finding(rule, hit))
                    room -= 1
                else:
                    omitted += 1
                    error = error or rule.severity is Severity.ERROR
        except Exception as exc:  # one rule's bug must not hide the others' findings
            if room > 0:
                out.append(_internal_error(rule, view.path, exc))
                room -= 1
            else:
                omitted += 1
                error = True
    return omitted, error


def check(
    dossier: Dossier,
    pack: RulePack,
    *,
    today: _dt.date | None = None,
    limits: Limits | None = None,
) -> Report:
    """Check a dossier against ``pack`` and report every finding.

    Pure: the pack is given, never looked up (``pension_collect.check`` looks a
    pack up by name through the plugin host). ``today`` fixes the current date
    (tests; the default ``as_of``). Never raises on domain data. ``limits``
    (default :data:`~pension_collect.limits.DEFAULT_LIMITS`) bounds the
    findings listed per worker and in all.
    """
    if not isinstance(pack, RulePack):
        raise TypeError(
            "rules.check() takes a RulePack; to look a pack up by name use "
            "pension_collect.check(dossier, pack=name)"
        )
    with gc_paused():
        return _check(dossier, pack, today or _dt.date.today(), limits or DEFAULT_LIMITS)


def _check(dossier: Dossier, rule_pack: RulePack, today: _dt.date, limits: Limits) -> Report:
    as_of = dossier.as_of or YearMonth.of(today)
    plan = _plan(rule_pack, as_of, today)
    context, worker_checks, dossier_rules = plan.context, plan.worker_checks, plan.dossier_rules
    params = rule_pack.parameters
    findings: list[Finding] = []
    views = [WorkerView(w, i, context) for i, w in enumerate(dossier.workers)]
    dossier_view = DossierView(dossier, context, views)
    for rule in dossier_rules:
        _run(rule, dossier_view, "$", findings)
    segments: list[SegmentSummary] = []
    workers: list[WorkerSummary] = []
    per_worker, in_all = limits.findings_per_worker, limits.findings
    omitted, omitted_error = max(len(findings) - in_all, 0), False
    if omitted:  # dossier-scope findings past the cap (duplicate identity numbers)
        omitted_error = any(f.severity is Severity.ERROR for f in findings[in_all:])
        del findings[in_all:]
    for view in views:
        left = in_all - len(findings)
        more, error = _run_worker(view, worker_checks, findings, min(per_worker, left))
        if more:
            if left > per_worker:  # the worker's cap, not the report's: say so there
                findings.append(_too_many(view.path, more, error, per_worker))
            else:
                omitted += more
                omitted_error = omitted_error or error
        workers.append(_summarize(view, segments))
    if omitted:
        findings.append(_too_many("$", omitted, omitted_error, in_all))
    findings.sort(key=_finding_order)
    return Report(
        rule_pack=rule_pack.name,
        as_of=as_of,
        findings=tuple(findings),
        segments=tuple(segments),
        workers=tuple(workers),
        parameters=_used_parameters(rule_pack, params, as_of),
    )


def check_worker(
    worker: Worker,
    *,
    pack: RulePack,
    as_of: YearMonth,
    today: _dt.date | None = None,
    index: int = 0,
    limits: Limits | None = None,
) -> list[Finding]:
    """Worker-scope findings for one worker (what the workflow runs on every save):
    at most ``limits.findings_per_worker`` of them, and one
    ``rules.too-many-findings`` counting the rest."""
    plan = _plan(pack, as_of, today or _dt.date.today())
    per_worker = (limits or DEFAULT_LIMITS).findings_per_worker
    view = WorkerView(worker, index, plan.context)
    out: list[Finding] = []
    more, error = _run_worker(view, plan.worker_only, out, per_worker)
    if more:
        out.append(_too_many(view.path, more, error, per_worker))
    if len(out) > 1:
        out.sort(key=_finding_order)
    return out


@attrs.frozen
class _Plan:
    """What checking at one month needs besides the data: the same for every
    worker, so made once per pack, month and date (:func:`_plan`)."""

    context: Context
    """With its parameter values resolved (they depend on pack and month only)."""
    worker_checks: list[tuple[Rule, Callable[[Any], Any]]]
    """The active rules not of scope dossier, in pack order, each with its
    check function (what ``check`` runs on each worker)."""
    worker_only: list[tuple[Rule, Callable[[Any], Any]]]
    """Those of scope worker (what ``check_worker`` runs): the same list
    unless a rule's scope is neither member of :class:`Scope`."""
    dossier_rules: list[Rule]
    """The active dossier-scope rules, in pack order."""


def _make_plan(pack: RulePack, as_of: YearMonth, today: _dt.date) -> _Plan:
    context = Context(pack=pack, as_of=as_of, today=today)
    context.values  # noqa: B018 (resolved here, once, rather than by the first rule)
    params = pack.parameters
    worker_checks: list[tuple[Rule, Callable[[Any], Any]]] = []
    dossier_rules: list[Rule] = []
    for rule in pack.rules:
        if rule.is_active(params, as_of):
            if rule.scope is Scope.DOSSIER:
                dossier_rules.append(rule)
            else:
                worker_checks.append((rule, rule.check))
    worker_only = [rc for rc in worker_checks if rc[0].scope is Scope.WORKER]
    if len(worker_only) == len(worker_checks):
        worker_only = worker_checks
    return _Plan(context, worker_checks, worker_only, dossier_rules)


#: The plans made last, by (id of the pack, month, date); each entry holds its
#: pack, so an id stays that pack's while its entry is kept.
_PLANS: dict[tuple[int, YearMonth, _dt.date], tuple[RulePack, _Plan]] = {}
_PLANS_KEPT = 32
_PLANS_LOCK = threading.Lock()


def _plan(pack: RulePack, as_of: YearMonth, today: _dt.date) -> _Plan:
    """The plan for ``pack`` at ``as_of`` and ``today``, made on first use.

    Packs, their parameters and their rules are immutable, and a rule's
    ``active`` depends on parameters and month only (docs/rules.md), so what
    ``check_worker`` used to work out on every call is worked out once: the
    active rules and every parameter's value at the month.
    """
    key = (id(pack), as_of, today)
    entry = _PLANS.get(key)
    if entry is not None and entry[0] is pack:
        return entry[1]
    plan = _make_plan(pack, as_of, today)
    with _PLANS_LOCK:
        while len(_PLANS) >= _PLANS_KEPT:
            del _PLANS[next(iter(_PLANS))]  # the oldest entry
        _PLANS[key] = (pack, plan)
    return plan


def _path_key(path: str) -> tuple[Any, ...]:
    # "$.workers[12].history[3]" sorts after "$.workers[2]..." numerically.
    parts: list[Any] = []
    for chunk in path.replace("]", "").split("["):
        for piece in chunk.split("."):
            parts.append((0, int(piece)) if piece.isdigit() else (1, piece))
    return tuple(parts)


def _finding_order(f: Finding) -> tuple[Any, ...]:
    return (_path_key(f.path), f.severity is not Severity.ERROR, f.code)


def _summarize(view: WorkerView, segments: list[SegmentSummary]) -> WorkerSummary:
    # Once per worker and segment: plain locals, no dictionary keyed by the
    # categories (an Enum member's hash is a Python-level call).
    deemed = pre_account = post_account = 0
    history = view.worker.history
    path = view.path
    if history:
        for i, (segment, placed) in enumerate(zip(history, view.placements, strict=True)):
            n = months_between(segment.start, segment.end)
            category = placed.category
            segments.append(SegmentSummary(f"{path}.history[{i}]", placed.box, category, n))
            if category is _DEEMED:
                deemed += n
            elif category is _PRE_ACCOUNT:
                pre_account += n
            elif category is _POST_ACCOUNT:
                post_account += n
    identity = view._identity
    return WorkerSummary(
        path=path,
        id_number_18=identity.number if isinstance(identity, IdentityNumber) else None,
        deemed=deemed,
        pre_account=pre_account,
        post_account=post_account,
    )


_DEEMED, _PRE_ACCOUNT, _POST_ACCOUNT = Category.DEEMED, Category.PRE_ACCOUNT, Category.POST_ACCOUNT


def _used_parameters(pack: RulePack, params: ParameterSet, as_of: YearMonth) -> dict[str, Any]:
    used: set[str] = set()
    for rule in pack.rules:
        used.update(rule.uses)
    out: dict[str, Any] = {}
    for name in sorted(used):
        if name not in params:
            continue
        dated = params.parameters[name].at(as_of)
        out[name] = None if dated is None else dated
    return out
