"""The collection commands: one employer's collection ([P3] .. [P3.7]) from the
shell, over a store (``--store URL``) and a bureau (``--bureau URL``).

``start``, ``sync``, ``employer``, ``print``, ``collect``, ``receive``,
``submit``, ``follow``, ``status``, ``recollect``, ``audit``: each is one step
of :class:`~pension_collect.workflow.CollectionSession` (docs/workflow.md),
prints a line or two for a clerk or, with ``--format json``, its versioned
JSON document (``{"format": "pension-collect/<command>", "version": 1, ...}``,
schemas in docs/schemas/). A step the procedure does not allow now is one
line in English and Chinese and exit status :data:`EXIT_REFUSED`
(docs/cli.md "The collection commands").
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

if sys.platform != "win32":
    import fcntl

from ..identity import mask
from ..ports.transport import DeclarationState
from ..workflow.guards import Progress, RuleErrors
from ..workflow.printing import FORM_NAMES, FormsPrinted
from ..workflow.records import StoredDeclaration, WorkerStatus
from ..workflow.session import CollectionSession
from . import EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE, _Parser
from ._collect_common import (
    EXIT_BUREAU,
    EXIT_REFUSED,
    EXIT_TIMEOUT,
    JSON_VERSION,
    bad_argument,
    bureau_password,
    bureau_url,
    check_unit,
    collection,
    common_options,
    declaration_json,
    declaration_line,
    document,
    emit,
    fail,
    finding_json,
    guarded,
    line,
    new_password,
    open_http,
    person_numbers,
    read_dossier,
    resolve_workers,
    shown_url,
    store_url,
    synced_persons,
    unit_of,
    worker_json,
)
from ._collect_status import clerk_words, next_step, person_states, shown_workers, status_zh

__all__ = [
    "COMMANDS",
    "EXIT_BUREAU",
    "EXIT_REFUSED",
    "EXIT_TIMEOUT",
    "JSON_VERSION",
    "add_parser",
]

#: The collection commands, in the order of the procedure.
COMMANDS = (
    "start",
    "sync",
    "employer",
    "print",
    "collect",
    "receive",
    "submit",
    "follow",
    "status",
    "recollect",
    "audit",
    "password",
)


# -- progress ----------------------------------------------------------------------------


@contextlib.contextmanager
def _progress(desc: str, unit: str) -> Iterator[Progress | None]:
    """A tqdm bar on standard error while a long step runs, only when standard
    error is a terminal (silent in scripts, pipes and tests)."""
    if sys.stderr is None or not sys.stderr.isatty():
        yield None
        return
    tqdm = importlib.import_module("tqdm").tqdm  # imported when a bar is shown
    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
    try:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        yield progress
    finally:
        bar.close()


# -- start, sync, employer ------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    with collection(args, create=True) as session:
        before = session.state()
        session.start()
        state = session.state()
        assert state is not None
        if args.format == "json":
            emit(
                {
                    **document("start", args, session),
                    "bureau": shown_url(bureau_url(args)),
                    "already_started": before is not None,
                    "started_at": state.started_at,
                    "started_by": state.started_by,
                }
            )
        else:
            again = " (already started; 已开始)" if before is not None else ""
            line(
                f"[P3] 开始数据质量工作 / Start: unit {session.unit_no}, "
                f"store {shown_url(store_url(args))}{again}"
            )
            line("next: pension-collect sync")
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    with collection(args) as session:
        result = session.sync()
        state = session.state()
        assert state is not None
        if args.format == "json":
            emit(
                {
                    **document("sync", args, session),
                    "sync_no": state.sync_no,
                    "synced_at": state.synced_at,
                    "persons": len(result.persons),
                    "employer_at_bureau": result.employer is not None,
                }
            )
        else:
            line(
                f"[P3.1] 数据同步 / Data sync #{state.sync_no}: "
                f"{len(result.persons)} persons at the bureau (社保系统中 {len(result.persons)} 人)"
            )
    return EXIT_OK


def _employer(args: argparse.Namespace) -> int:
    dossier = read_dossier(args.dossier, args)
    with collection(args, dossier=dossier) as session:
        check_unit(dossier, session, args.dossier)
        session.collect_employer(dossier.employer)
        decl = session.submit_employer_declaration()
        persons = person_numbers(session)
        if args.format == "json":
            emit(
                {
                    **document("employer", args, session),
                    "collected": True,
                    "declaration": declaration_json(decl, persons),
                }
            )
        else:
            line("[P3.1] 单位信息采集 / Employer information collected")
            line(f"[P3.1] 提交单位信息申报 / Employer declaration: {declaration_line(decl)}")
    return EXIT_OK


# -- print ------------------------------------------------------------------------------------


#: The hidden temporary file of a form being printed (pension_collect._files.write_aside).
_PARTIAL = re.compile(r"\.(?:" + "|".join(FORM_NAMES) + r")\.[0-9a-f]{16}\.partial")
#: How much older than this run a temporary file must be to be left over.
_STALE_AFTER = 60.0


def _remove_stale_partials(folder: str, started: float) -> None:
    """Remove from ``folder`` the hidden temporary files of forms that a print
    killed outright (SIGKILL, a power cut) left: only names of that pattern,
    only regular files (no link, no folder) last written a minute or more
    before this run started, and never one a print still writing holds the
    lock of (``write_aside`` locks its file while writing)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # no folder yet: nothing left over
    for entry in entries:
        if not _PARTIAL.fullmatch(entry.name):
            continue
        try:
            seen = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(seen.st_mode) or seen.st_mtime > started - _STALE_AFTER:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: still being written
            opened, now = os.fstat(fd), os.lstat(entry.path)
            if (
                (opened.st_dev, opened.st_ino)
                == (now.st_dev, now.st_ino)
                == (
                    seen.st_dev,
                    seen.st_ino,
                )
            ):
                os.unlink(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)


def _print(args: argparse.Namespace) -> int:
    started = time.time()
    with collection(args, bureau=False) as session:
        _remove_stale_partials(args.out, started)
        keys: list[str] | None = None
        if args.worker and args.form == "summary":
            fail(
                EXIT_UNREADABLE,
                "cli.summary-workers",
                "the summary sheet holds every worker whose forms were received; "
                "leave out --worker",
                "汇总表包含所有已收回确认表的职工,请不要指定 --worker",
            )
        if args.form == "summary" and not any(
            w.status is WorkerStatus.COLLECTED and w.form_received for w in session.workers()
        ):
            fail(
                EXIT_REFUSED,
                "cli.nothing-to-summarise",
                "[P3.6] no collected worker's signed confirmation form was received: print "
                "the confirmation forms, then record those that came back with "
                "'pension-collect receive' before the summary sheet",
                "[P3.6] 没有已收回签字确认表的已采集职工:请先打印确认表,并用 "
                "'pension-collect receive' 登记收回的确认表,再打印汇总表",
            )
        if args.worker:
            known = (
                synced_persons(session)
                if args.form == "verification"
                else {w.key: w.worker.person_no or "" for w in session.workers()}
            )
            keys = resolve_workers(args.worker, known)
        options: dict[str, Any] = {"out_dir": args.out, "overwrite": args.overwrite}
        if args.name:
            options["name"] = args.name
        with _progress(f"{args.form} forms", "worker") as progress:
            if args.form == "verification":
                printed = session.print_verification_forms(keys, progress=progress, **options)
            elif args.form == "confirmation":
                printed = session.print_confirmation_forms(keys, progress=progress, **options)
            else:
                printed = session.print_summary_sheet(progress=progress, **options)
        if args.format == "json":
            emit({**document("print", args, session), **_printed_json(printed)})
        else:
            line(_printed_line(printed))
    return EXIT_OK


_FORM_ZH = {"verification": "核对表", "confirmation": "确认表", "summary": "汇总表"}


def _printed_json(p: FormsPrinted) -> dict[str, Any]:
    return {
        "form": p.form,
        "workers": p.workers,
        "copies": p.copies,
        "pages": p.pages,
        "files": list(p.files),
        "note": p.note,
        "note_zh": p.note_zh,
    }


def _printed_line(p: FormsPrinted) -> str:
    head = f"打印{_FORM_ZH[p.form]} / {p.form}: {p.workers} workers"
    copies = f", {p.copies} copies" if p.copies > 1 else ""
    if p.files:
        return f"{head}{copies}, {p.pages} pages -> {', '.join(p.files)}"
    return f"{head} recorded as printed, no file ({p.note}; {p.note_zh})"


# -- collect and recollect ----------------------------------------------------------------------


def _collect(args: argparse.Namespace) -> int:
    dossier = read_dossier(args.dossier, args)
    with collection(args, bureau=False, dossier=dossier) as session:
        check_unit(dossier, session, args.dossier)
        return _save(
            args, session, "collect", list(dossier.workers), list(range(len(dossier.workers))), []
        )


def _save(
    args: argparse.Namespace,
    session: CollectionSession,
    command: str,
    workers: list[Any],
    positions: list[int],
    extra: list[tuple[str, Any]],
) -> int:
    """Save ``workers`` (at ``positions`` of the dossier), report each. A worker
    stored already is saved again over the version read here (a concurrent
    change is still a conflict); one collected and unchanged is left as it is,
    its marks (forms printed, received) kept: collecting a dossier again, after
    a refusal or a stopped run, goes on from there."""
    stored = {w.key: w for w in session.workers()}  # also the versions to save over
    unchanged = []
    todo: list[Any] = []
    where: list[int] = []
    for worker, position in zip(workers, positions, strict=True):
        before = stored.get(CollectionSession.key_of(worker)) if _valid(worker) else None
        if before is not None and _unchanged(before, worker):
            unchanged.append({"index": position, **worker_json(before)})
        else:
            todo.append(worker)
            where.append(position)
    workers, positions = todo, where
    with _progress("saving workers", "worker") as progress:
        batch = session.save_workers(workers, progress=progress)
    saved = [
        {
            "index": positions[i],
            **worker_json(w),
        }
        for i, w in zip(_indexes(batch.saved, workers), batch.saved, strict=True)
    ]
    refused: list[dict[str, Any]] = []
    for r in batch.refused:
        error = r.error
        code = getattr(error, "code", type(error).__name__)
        findings = (
            [finding_json(f) for f in error.findings] if isinstance(error, RuleErrors) else []
        )
        for f in findings:
            f["path"] = _repath(f["path"], r.index, positions[r.index])
        refused.append(
            {
                "index": positions[r.index],
                "worker": None if r.key is None else mask(r.key),
                "person_no": workers[r.index].person_no or _person_no(stored, r.key),
                "code": code,
                "procedure": getattr(error, "procedure", "") or None,
                **dict(
                    zip(
                        ("message", "message_zh"),
                        clerk_words(
                            code,
                            getattr(error, "message", None) or str(error),
                            getattr(error, "message_zh", None) or "",
                        ),
                        strict=True,
                    )
                ),
                "findings": findings,
            }
        )
    if args.format == "json":
        emit(
            {
                **document(command, args, session),
                "source": args.dossier,
                **dict(extra),
                "saved": saved,
                "unchanged": unchanged,
                "refused": refused,
            }
        )
    else:
        for s in saved:
            warn = f", {len(s['warnings'])} warnings kept" if s["warnings"] else ""
            line(
                f"[P3.4] 已保存 / saved: #{s['index']} {s['person_no'] or ''} {s['worker']} "
                f"(v{s['version']}{warn})"
            )
        for u in unchanged:
            line(
                f"[P3.4] 未变 / unchanged: #{u['index']} {u['person_no'] or ''} {u['worker']} "
                f"(v{u['version']})"
            )
        for no in refused:
            line(
                f"[{no['procedure'] or 'P3.4'}] 不能保存 / refused: #{no['index']} "
                f"{no['person_no'] or ''} {no['worker'] or ''} {no['code']}: {no['message_zh']} "
                f"({no['message']})"
            )
            for f in no["findings"]:
                line(f"    {f['severity']} {f['code']} {f['path']}: {f['message_zh']}")
        same = f", {len(unchanged)} unchanged" if unchanged else ""
        same_zh = f",未变 {len(unchanged)} 人" if unchanged else ""
        line(
            f"{len(saved)} saved{same}, {len(refused)} refused "
            f"(保存 {len(saved)} 人{same_zh},未保存 {len(refused)} 人)"
        )
    return EXIT_ERRORS if refused else EXIT_OK


def _indexes(saved: Any, workers: list[Any]) -> list[int]:
    """The batch position of each saved worker (saved in batch order)."""
    keys = [CollectionSession.key_of(w) if _valid(w) else None for w in workers]
    out, start = [], 0
    for s in saved:
        i = keys.index(s.key, start)
        out.append(i)
        start = i + 1
    return out


def _person_no(stored: dict[str, Any], key: str | None) -> str | None:
    """The person number of a stored worker (the bureau's, found at the sync)."""
    before = stored.get(key) if key is not None else None
    return None if before is None else before.worker.person_no


def _unchanged(before: Any, worker: Any) -> bool:
    """``worker`` is the data ``before`` (a collected worker) was saved with."""
    if before.status is not WorkerStatus.COLLECTED:
        return False
    person_no = worker.person_no or before.worker.person_no
    again = attrs.evolve(worker, bureau=before.worker.bureau, person_no=person_no)
    return bool(again == before.worker)


def _valid(worker: Any) -> bool:
    try:
        CollectionSession.key_of(worker)
    except Exception:  # an invalid identity number: the batch refuses it
        return False
    return True


def _repath(path: str, batch: int, dossier: int) -> str:
    prefix = f"$.workers[{batch}]"
    return f"$.workers[{dossier}]{path[len(prefix) :]}" if path.startswith(prefix) else path


def _recollect(args: argparse.Namespace) -> int:
    if args.window and args.dossier:
        fail(
            EXIT_UNREADABLE,
            "cli.usage",
            "recollect takes either --window WORKER ... or a DOSSIER, not both",
            "recollect 只能指定 --window 或档案之一",
        )
    if args.dossier:
        dossier = read_dossier(args.dossier, args)
        with collection(args, bureau=False, dossier=dossier) as session:
            check_unit(dossier, session, args.dossier)
            to_redo = set(session.failed_workers())
            picked = [
                (i, w)
                for i, w in enumerate(dossier.workers)
                if _valid(w) and CollectionSession.key_of(w) in to_redo
            ]
            found = {CollectionSession.key_of(w) for _, w in picked}
            missing = sorted(mask(k) for k in to_redo - found)
            return _save(
                args,
                session,
                "recollect",
                [w for _, w in picked],
                [i for i, _ in picked],
                [("missing", missing)],
            )
    with collection(args, bureau=False) as session:
        if args.window:
            known = person_numbers(session)
            keys = resolve_workers(args.window, known)
            for key in keys:
                session.record_window_visit(key, args.note)
        workers = session.workers()
        failed = [w for w in workers if w.status is WorkerStatus.FAILED]
        state = session.state()
        if args.format == "json":
            emit(
                {
                    **document("recollect", args, session),
                    "window_visits": [mask(k) for k in (keys if args.window else [])],
                    "failed": [
                        {
                            **worker_json(w),
                            "window_visit_recorded": bool(
                                state
                                and (v := state.window_visits.get(w.key))
                                and v.failed_in == w.declaration
                            ),
                        }
                        for w in failed
                    ],
                }
            )
        else:
            for key in keys if args.window else []:
                line(f"[P3.3a] 登记社保窗口办理 / window visit recorded: {mask(key)}")
            if not failed:
                line("no failed worker to collect again (没有需要重新采集的职工)")
            for w in failed:
                assert w.outcome is not None
                line(
                    f"[P3.7] {w.worker.person_no or ''} {mask(w.key)} failed in {w.declaration}: "
                    f"{w.outcome.code} {w.outcome.message_zh}; {_how(state, w)}"
                )
    return EXIT_OK


def _how(state: Any, w: Any) -> str:
    """What a failed worker needs next, in a few words."""
    if not w.needs_window:
        return "correct the data, then recollect DOSSIER (更正数据后重新采集)"
    visit = None if state is None else state.window_visits.get(w.key)
    if visit is None or visit.failed_in != w.declaration:
        return "a visit to the bureau window first, then recollect --window (须先到社保窗口办理)"
    if state.needs_sync or visit.sync_no >= state.sync_no:
        return "window visit recorded: sync, print verification, recollect DOSSIER (请重新同步)"
    return "print verification, then recollect DOSSIER (请打印核对表后重新采集)"


# -- receive, submit, follow -------------------------------------------------------------------


def _receive(args: argparse.Namespace) -> int:
    if not args.all and not args.worker:
        fail(
            EXIT_UNREADABLE,
            "cli.usage",
            "name the workers whose signed form and handbook came back (--worker ...) "
            "or give --all",
            "请用 --worker 指定已收回确认表和手册的职工,或用 --all 表示全部",
        )
    with collection(args, bureau=False) as session:
        workers = session.workers()
        if args.all:
            keys = [
                w.key
                for w in workers
                if w.status is WorkerStatus.COLLECTED
                and not (w.form_received and w.handbook_received)
            ]
        else:
            keys = resolve_workers(args.worker, {w.key: w.worker.person_no or "" for w in workers})
        form = not args.handbook_only
        handbook = not args.form_only
        if keys:
            session.record_received(keys, form=form, handbook=handbook)
        persons = {w.key: w.worker.person_no or "" for w in workers}
        if args.format == "json":
            emit(
                {
                    **document("receive", args, session),
                    "form": form,
                    "handbook": handbook,
                    "workers": [
                        {"worker": mask(k), "person_no": persons.get(k) or None} for k in keys
                    ],
                }
            )
        else:
            what = (
                "signed form and handbook"
                if form and handbook
                else ("signed form" if form else "handbook")
            )
            line(f"[P3.4g] 收回签字确认表和养老手册 / {what} received: {len(keys)} workers")
    return EXIT_OK


def _submit(args: argparse.Namespace) -> int:
    with collection(args) as session:
        decl = session.submit_declaration()
        persons = person_numbers(session)
        if args.format == "json":
            emit(
                {
                    **document("submit", args, session),
                    "declaration": declaration_json(decl, persons),
                }
            )
        else:
            line(f"[P3.6] 提交申报 / Declaration submitted: {declaration_line(decl)}")
            line("next: pension-collect follow")
    return EXIT_OK


def _follow(args: argparse.Namespace) -> int:
    with collection(args) as session:
        started = time.monotonic()
        watched = [d.key for d in session.declarations() if _open(d)]
        timed_out = False
        with _progress("waiting for the bureau", "declaration") as progress:
            while True:
                session.follow()
                decls = {d.key: d for d in session.declarations()}
                open_ = [k for k in watched if _open(decls[k])]
                if progress is not None:
                    progress(len(watched) - len(open_), len(watched))
                if not open_:
                    break
                if args.timeout is not None and time.monotonic() - started >= args.timeout:
                    timed_out = True
                    break
                time.sleep(args.interval)
        persons = person_numbers(session)
        followed = [decls[k] for k in watched]
        failures = [
            d for d in followed if d.state.concluded and d.state is not DeclarationState.SUCCEEDED
        ]
        if args.format == "json":
            emit(
                {
                    **document("follow", args, session),
                    "timed_out": timed_out,
                    "declarations": [declaration_json(d, persons) for d in followed],
                    "failed_workers": [mask(k) for k in session.failed_workers()],
                }
            )
        else:
            if not followed:
                line("no declaration to follow (没有待处理的申报)")
            for d in followed:
                line(f"[P3.7] 查看申报结果 / {declaration_line(d)}")
                for o in d.outcomes:
                    if not o.succeeded:
                        who = mask(o.key) if d.kind.value == "workers" else "employer"
                        line(f"    {persons.get(o.key, '')} {who} failed: {o.code} {o.message_zh}")
            if timed_out:
                line(f"still open after {args.timeout} s (仍在处理中)")
            elif failures:
                line("next: pension-collect recollect (重新采集处理失败的职工)")
    if timed_out:
        return EXIT_TIMEOUT
    return EXIT_ERRORS if failures else EXIT_OK


def _open(d: StoredDeclaration) -> bool:
    return not d.state.concluded and d.bureau_id is not None


# -- status, audit ---------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    with collection(args, bureau=False) as session:
        state = session.state()
        persons = synced_persons(session)
        workers = session.workers() if state is not None else []
        decls = session.declarations() if state is not None else []
        step = next_step(state, persons, workers, decls)
        people = person_states(state, persons, workers)
        known = {**persons, **{w.key: w.worker.person_no or "" for w in workers}}
        if args.format == "json":
            emit(
                {
                    **document("status", args, session),
                    "started": state is not None,
                    "started_at": None if state is None else state.started_at,
                    "sync_no": 0 if state is None else state.sync_no,
                    "synced_at": None if state is None else state.synced_at,
                    "needs_sync": bool(state and state.needs_sync),
                    "employer_collected": bool(state and state.employer),
                    "employer_declaration": None if state is None else state.employer_declaration,
                    "next": step,
                    "workers": people,
                    "declarations": [declaration_json(d, known) for d in decls],
                }
            )
        else:
            _status_text(session, state, step, people, decls)
    return EXIT_OK


def _status_text(
    session: CollectionSession,
    state: Any,
    step: dict[str, Any],
    people: list[dict[str, Any]],
    decls: list[StoredDeclaration],
) -> None:
    if state is None:
        line(f"unit {session.unit_no}: not started (尚未开始)")
    else:
        line(
            f"unit {session.unit_no}: started {state.started_at} by {state.started_by}; "
            f"data sync #{state.sync_no}; "
            f"employer {'collected' if state.employer else 'not collected'}"
        )
    counts: dict[str, int] = {}
    for p in people:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    if counts:
        line(", ".join(f"{n} {s} ({status_zh(s)})" for s, n in sorted(counts.items())))
    for d in decls:
        line(f"  {declaration_line(d)}")
    for p in people:
        marks = "".join(
            c if p[k] else "-"
            for c, k in (
                ("V", "verification_printed"),
                ("C", "confirmation_printed"),
                ("F", "form_received"),
                ("H", "handbook_received"),
            )
        )
        why = f" {p['outcome']['code']}" if p["outcome"] and not p["outcome"]["succeeded"] else ""
        line(
            f"  {p['person_no'] or '':14} {p['worker']} {marks} "
            f"{p['status']} {status_zh(p['status'])}{why}"
        )
    if step["command"] is None:
        line(f"[{step['procedure']}] {step['step_zh']} / {step['step']}")
        return
    line(f"next [{step['procedure']}] {step['step_zh']} / {step['step']}: {step['command']}")
    blocked = step["blocked_by"]
    if blocked:
        shown = f" ({shown_workers(blocked['workers'])})" if blocked["workers"] else ""
        line(f"  because: {blocked['message_zh']} / {blocked['message']}{shown}")


def _audit(args: argparse.Namespace) -> int:
    with collection(args, bureau=False) as session:
        (key,) = resolve_workers([args.worker], person_numbers(session))
        entries = session.audit(worker=key)
        if args.format == "json":
            emit(
                {
                    **document("audit", args, session),
                    "worker": mask(key),
                    "entries": [
                        {
                            "seq": e.seq,
                            "at": e.at,
                            "actor": e.actor,
                            "action": e.action,
                            "message": e.message,
                            "declaration": e.declaration,
                            "changed": _changed(e.before, e.after),
                            "before": e.before,
                            "after": e.after,
                        }
                        for e in entries
                    ],
                }
            )
        else:
            line(f"audit of {mask(key)}: {len(entries)} entries (变更记录 {len(entries)} 条)")
            for e in entries:
                changed = ", ".join(_changed(e.before, e.after))
                line(
                    f"  #{e.seq} {e.at} {e.actor} {e.action}: {e.message}"
                    + (f" [{changed}]" if changed else "")
                )
    return EXIT_OK


def _changed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The top-level fields an entry changed (their names, never their values)."""
    b, a = before or {}, after or {}
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _password_command(args: argparse.Namespace) -> int:
    old = bureau_password(args)
    new = new_password()
    transport = open_http(args, old)
    try:
        change = getattr(transport, "change_password", None)
        if change is None:  # pragma: no cover - every http(s) transport has it
            fail(
                EXIT_BUREAU,
                "cli.usage",
                "this bureau transport cannot change passwords",
                "该传输方式不支持修改密码",
            )
        change(old, new)
    finally:
        transport.close()
    if args.format == "json":
        emit(
            {
                "format": "pension-collect/password",
                "version": JSON_VERSION,
                "unit_no": unit_of(args),
                "bureau": shown_url(bureau_url(args)),
                "changed": True,
            }
        )
    else:
        line(
            "password changed at the bureau (密码已修改); give the new one in "
            "PENSION_COLLECT_BUREAU_PASSWORD from now on"
        )
    return EXIT_OK


# -- the parser ------------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    """Add the collection commands (:data:`COMMANDS`)."""
    parent = common_options()

    def command(
        name: str, run: Callable[[argparse.Namespace], int], help_text: str, description: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[parent], help=help_text, description=description
        )
        p.set_defaults(run=guarded(name, run))
        if isinstance(p, _Parser):  # always: the subparsers are of the main parser's class
            p.json_error = functools.partial(bad_argument, name)
        return p

    command(
        "start",
        _start,
        "[P3] start the collection (开始数据质量工作)",
        "Start the employer's collection in the store (made when new); refused while the "
        "bureau shows a declaration pending.",
    )
    command(
        "sync", _sync, "[P3.1] data sync (数据同步)", "Store the bureau's records of the employer."
    )
    p = command(
        "employer",
        _employer,
        "[P3.1] collect and declare the employer information (单位信息采集)",
        "Collect the employer information of DOSSIER and submit its declaration.",
    )
    p.add_argument("dossier", metavar="DOSSIER", help="a dossier .json or a workbook .xlsx")
    p = command(
        "print",
        _print,
        "[P3.2/P3.5/P3.6] print verification / confirmation forms, the summary sheet",
        "Print forms into --out DIR (numbered, never overwritten) and record them as printed.",
    )
    p.add_argument(
        "form", choices=FORM_NAMES, metavar="FORM", help="verification, confirmation or summary"
    )
    p.add_argument(
        "--worker",
        action="append",
        metavar="WORKER",
        help="a person number or identity number (repeatable; default all)",
    )
    p.add_argument(
        "--out", metavar="DIR", default="forms", help="folder of the PDF files (default ./forms)"
    )
    p.add_argument("--name", metavar="NAME", help="file name instead of FORM-N.pdf")
    p.add_argument("--overwrite", action="store_true", help="replace a file of that --name")
    p = command(
        "collect",
        _collect,
        "[P3.4] save the workers of a dossier or workbook (职工信息整理)",
        "Save each worker of DOSSIER; the refused ones are listed with their findings (exit 1).",
    )
    p.add_argument(
        "dossier",
        metavar="DOSSIER",
        help="a dossier .json (- for standard input) or a workbook .xlsx",
    )
    p = command(
        "receive",
        _receive,
        "[P3.4g] record signed forms and handbooks received (收回确认表和手册)",
        "Record the signed confirmation forms and handbooks that came back.",
    )
    p.add_argument(
        "--worker",
        action="append",
        metavar="WORKER",
        help="a person number or identity number (repeatable)",
    )
    p.add_argument("--all", action="store_true", help="every collected worker not yet received")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--form-only", action="store_true", help="only the signed forms")
    kind.add_argument("--handbook-only", action="store_true", help="only the handbooks")
    command(
        "submit",
        _submit,
        "[P3.6] submit the declaration (提交申报)",
        "Submit one declaration of the collected workers.",
    )
    p = command(
        "follow",
        _follow,
        "[P3.7] wait until every open declaration concludes (查看申报结果)",
        "Ask the bureau about every open declaration until each has concluded.",
    )
    p.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="give up after SECONDS (exit 6)"
    )
    p.add_argument(
        "--interval",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="between two questions (default 5)",
    )
    command(
        "status",
        _status,
        "where the collection stands, and the next step (采集进度)",
        "Show the next step, what blocks it and every worker's state.",
    )
    p = command(
        "recollect",
        _recollect,
        "[P3.7] collect the failed workers again (重新采集)",
        "Without arguments list the failed workers; --window records window visits; "
        "DOSSIER saves the failed workers found in it again.",
    )
    p.add_argument(
        "dossier",
        metavar="DOSSIER",
        nargs="?",
        help="the corrected dossier .json or workbook .xlsx",
    )
    p.add_argument(
        "--window",
        action="append",
        metavar="WORKER",
        help="record a visit to the bureau window (repeatable)",
    )
    p.add_argument(
        "--note", default="", help="a note for the window visit (no names or identity numbers)"
    )
    p = command(
        "audit",
        _audit,
        "a worker's history of changes (变更记录)",
        "List the audit log of one worker.",
    )
    p.add_argument("worker", metavar="WORKER", help="a person number or identity number")
    command(
        "password",
        _password_command,
        "change the employer's password at a bureau served over HTTP (修改单位密码)",
        "Change the employer's password at the bureau (an initial password must be changed "
        "before anything else): the current one from $PENSION_COLLECT_BUREAU_PASSWORD or a "
        "prompt, the new one from $PENSION_COLLECT_BUREAU_NEW_PASSWORD or a prompt (twice).",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < 10**7:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value
