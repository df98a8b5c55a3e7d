"""Checking a dossier worker by worker: the streaming reader's ``check``.

:func:`check_streamed` gives the report :func:`~pension_collect.rules.check`
gives on the same dossier -- the same findings, in the same order, with the
same bounds -- while holding one worker at a time:

- worker-scope rules run on each worker as it comes;
- dossier-scope rules run through their one-pass form (``Rule.fold``:
  ``person.duplicate-id`` keeps 16 bytes a worker); a dossier-scope rule
  without one gets every worker's view, kept in memory for it;
- the ``segments`` and ``workers`` items of the report go to two temporary
  spool files (:class:`~pension_collect.rules.report.StreamedReport`);
- the findings listed are those ``check`` lists. ``check`` lists the
  dossier-scope findings first and the workers' after them, each under
  :class:`~pension_collect.limits.Limits`; here the dossier-scope findings are
  known only at the end, so each worker's first ``findings_per_worker``
  findings, its number of hits and the position of its last error are kept,
  and the bounds are applied at the end, in ``check``'s order. Once the
  findings kept reach ``Limits.findings`` (with no dossier-scope finding at
  all), no later worker can have a finding listed, and only their counts are
  kept.
"""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
from collections.abc import Iterable
from typing import Any

from ..limits import DEFAULT_LIMITS, Limits
from ..model import Dossier, Worker, YearMonth
from .engine import (
    Context,
    DossierView,
    WorkerView,
    _finding,
    _finding_order,
    _internal_error,
    _run,
    _summarize,
    _too_many,
    _used_parameters,
)
from .pack import Finding, Rule, RulePack, Scope, Severity
from .report import SegmentSummary, StreamedReport, _worker_index, segment_dict, worker_dict

__all__ = ["check_streamed"]


class _Kept:
    """One worker's findings as the report may list them."""

    __slots__ = ("findings", "hits", "last_error", "path")

    def __init__(self, path: str, findings: list[Finding], hits: int, last_error: int) -> None:
        self.path = path
        self.findings = findings
        self.hits = hits
        self.last_error = last_error


def _step(listed: int, hits: int, per_worker: int, in_all: int) -> int:
    """The findings listed after a worker with ``hits`` hits, ``listed``
    before it (``check``'s bounds: the worker's, the report's)."""
    left = in_all - listed
    room = min(per_worker, left)
    if hits <= room:
        return listed + hits
    return listed + per_worker + 1 if left > per_worker else in_all


def _worker_hits(
    view: WorkerView, rules: list[Rule], per_worker: int
) -> tuple[list[Finding], int, int]:
    """Run worker-scope ``rules`` on one worker as ``check`` does: its first
    ``per_worker`` findings, its number of hits and the position of its last
    error among them (-1: none)."""
    out: list[Finding] = []
    hits, last_error = 0, -1
    for rule in rules:
        try:
            for hit in rule.check(view):
                if hits < per_worker:
                    out.append(_finding(rule, hit))
                if rule.severity is Severity.ERROR:
                    last_error = hits
                hits += 1
        except Exception as exc:  # one rule's bug must not hide the others' findings
            if hits < per_worker:
                out.append(_internal_error(rule, view.path, exc))
            last_error = hits
            hits += 1
    return out, hits, last_error


def check_streamed(
    header: Dossier,
    workers: Iterable[Worker],
    pack: RulePack,
    *,
    today: _dt.date | None = None,
    limits: Limits | None = None,
) -> StreamedReport:
    """Check the workers given one at a time, against ``pack``.

    ``header`` holds the employer, ``rule_pack`` and ``as_of`` (its workers
    are not read). The result is a :class:`~pension_collect.rules.report.StreamedReport`
    (close it, or use it in a ``with`` block, to remove its spool files); its
    JSON and text are those of :func:`~pension_collect.rules.check` on the
    dossier of these workers. Whatever ``workers`` raises is raised (the
    spool files removed).
    """
    today = today or _dt.date.today()
    limits = limits or DEFAULT_LIMITS
    segments_spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - the report closes it
    workers_spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - the report closes it
    try:
        # The collector is not paused (as check pauses it): little is alive at
        # once, and a cycle made by a worker (an invalid identity number's
        # exception and its traceback) is collected, not kept to the end.
        return _check(header, workers, pack, today, limits, segments_spool, workers_spool)
    except BaseException:
        segments_spool.close()
        workers_spool.close()
        raise


def _check(
    header: Dossier,
    workers: Iterable[Worker],
    pack: RulePack,
    today: _dt.date,
    limits: Limits,
    segments_spool: Any,
    workers_spool: Any,
) -> StreamedReport:
    as_of = header.as_of or YearMonth.of(today)
    context = Context(pack=pack, as_of=as_of, today=today)
    params = pack.parameters
    worker_rules: list[Rule] = []
    dossier_rules: list[Rule] = []
    for rule in pack.rules:
        if rule.is_active(params, as_of):
            (dossier_rules if rule.scope is Scope.DOSSIER else worker_rules).append(rule)
    kept_views: list[WorkerView] = []
    dossier_view = DossierView(header, context, kept_views)
    keep_views = any(rule.fold is None for rule in dossier_rules)
    folds: dict[str, Any] = {}
    broken: dict[str, Exception] = {}
    for rule in dossier_rules:
        if rule.fold is not None:
            try:
                folds[rule.code] = rule.fold(dossier_view)
            except Exception as exc:
                broken[rule.code] = exc

    per_worker, in_all = limits.findings_per_worker, limits.findings
    kept: list[_Kept] = []
    names: dict[int, Worker] = {}
    listed = 0  # what check would have listed so far, were there no dossier-scope finding
    late_hits, late_error = 0, False  # past the report's bound whatever comes first
    count = 0
    dumps = json.dumps
    for index, worker in enumerate(workers):
        count += 1
        view = WorkerView(worker, index, context)
        for code, fold in folds.items():
            if code not in broken:
                try:
                    fold.add(view)
                except Exception as exc:
                    broken[code] = exc
        if keep_views:
            kept_views.append(view)
        found, hits, last_error = _worker_hits(view, worker_rules, per_worker)
        if hits:
            if listed >= in_all:
                late_hits += hits
                late_error = late_error or last_error >= 0
            else:
                kept.append(_Kept(view.path, found, hits, last_error))
                names[index] = worker
                listed = _step(listed, hits, per_worker, in_all)
        segments: list[SegmentSummary] = []
        summary = _summarize(view, segments)
        for segment in segments:
            segments_spool.write(dumps(segment_dict(segment), ensure_ascii=False) + "\n")
        workers_spool.write(dumps(worker_dict(summary), ensure_ascii=False) + "\n")
        del view, worker

    findings: list[Finding] = []
    for rule in dossier_rules:
        if rule.fold is None:
            _run(rule, dossier_view, "$", findings)
        elif rule.code in broken:
            findings.append(_internal_error(rule, "$", broken[rule.code]))
        else:
            try:
                for hit in folds[rule.code].finish():
                    findings.append(_finding(rule, hit))
            except Exception as exc:
                findings.append(_internal_error(rule, "$", exc))
    omitted, omitted_error = max(len(findings) - in_all, 0), False
    if omitted:
        omitted_error = any(f.severity is Severity.ERROR for f in findings[in_all:])
        del findings[in_all:]
    for record in kept:
        left = in_all - len(findings)
        room = min(per_worker, left)
        findings.extend(record.findings[:room])
        more = record.hits - room
        if more > 0:
            error = record.last_error >= room
            if left > per_worker:
                findings.append(_too_many(record.path, more, error, per_worker))
            else:
                omitted += more
                omitted_error = omitted_error or error
    omitted += late_hits
    omitted_error = omitted_error or late_error
    if omitted:
        findings.append(_too_many("$", omitted, omitted_error, in_all))
    findings.sort(key=_finding_order)
    listed_paths = {_worker_index(f.path) for f in findings}
    return StreamedReport(
        rule_pack=pack.name,
        as_of=as_of,
        findings=tuple(findings),
        worker_count=count,
        parameters=_used_parameters(pack, params, as_of),
        segments=segments_spool,
        workers=workers_spool,
        names={i: w for i, w in names.items() if i in listed_paths},
    )
