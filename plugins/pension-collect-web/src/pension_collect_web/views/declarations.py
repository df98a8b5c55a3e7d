"""Submit and follow ([P3.5]..[P3.7]): the declarations' progress and
per-worker outcomes, refreshing them from the bureau, and the re-collection
list with what to do at the window for each reason.

Routes (docs/web.md, "Submit and follow"):

- ``GET /declarations`` (``declarations.index``): every declaration of the
  collection (kind, state, created, submitted, concluded, counts) and the
  Follow button (``POST /declarations/follow``, ``declarations.follow``).
- ``GET /declarations/<key>`` (``declarations.show``): one declaration, its
  progress (submitted -> processing -> concluded) and each worker's outcome
  (masked identity number, name, the bureau's reason), 100 a page
  (``?page=N``); ``POST /declarations/<key>/refresh``
  (``declarations.refresh``) asks the bureau again. A key that is not a
  declaration of the clerk's employer is a 404.
- ``GET /recollection`` (``declarations.recollection``): the workers the
  bureau failed [P3.7], each with what to do for its reason; a window-type
  reason needs the visit recorded (``POST /recollection/<ref>/window-visit``,
  ``declarations.window_visit``, field ``note``), then a sync and a new
  verification form; then the worker is collected again in the editor.

The receipts step ([P3.4g]) is on the worker list (select, "receive"); the
submit and the summary sheet are the dashboard's buttons.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import overload

import attrs
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from pension_collect.errors import PensionCollectError
from pension_collect.identity import mask
from pension_collect.ports.transport import DeclarationKind, DeclarationState
from pension_collect.workflow import (
    WINDOW_CODES,
    CollectionSession,
    SessionState,
    StoredDeclaration,
    StoredWorker,
    UnknownDeclarationKey,
    UnknownWorker,
    worker_page,
)

from ..context import collection, worker_key, worker_key_or_none, worker_ref
from ..i18n import tr
from .auth import KEEP_TYPED, TypedValue, kept_page
from .dashboard import declaration_state, follow_all, report, when

__all__ = [
    "NOTE_LIMIT",
    "OUTCOMES_PAGE",
    "REASONS",
    "RECOLLECTION_PAGE",
    "bp",
    "stale_visit",
    "what_to_do",
]

bp = Blueprint("declarations", __name__)

#: Per-worker outcomes shown on one page of a declaration.
OUTCOMES_PAGE = 100
#: Failed workers shown on one page of the re-collection list.
RECOLLECTION_PAGE = 50
#: The longest note of a window visit (characters).
NOTE_LIMIT = 200
#: What to do for each reason the bureau fails a worker: code ->
#: (Chinese, English, the procedure's paragraph). The codes of
#: ``pension_collect.workflow.WINDOW_CODES`` are cleared only at the bureau
#: window; any other reason is the data's, corrected in the editor.
REASONS: Mapping[str, tuple[str, str, str]] = {
    "bureau.unknown-person": (
        "社保系统没有此人的参保记录:请职工带身份证到社保窗口办理参保登记。",
        "The bureau has no insured person with this identity number: the worker "
        "registers at the bureau window with the identity card.",
        "P3.3a",
    ),
    "bureau.id-held-by-other": (
        "社保系统中该身份证号码属于另一人:请带身份证和户口簿到社保窗口核实更正。",
        "At the bureau the identity number is held by another person: have it checked "
        "and corrected at the window (identity card and household register).",
        "P3.3a",
    ),
    "bureau.other-employer": (
        "社保系统中此人属于其他单位:请到社保窗口办理转入本单位的手续。",
        "At the bureau the person belongs to another employer: have the transfer to "
        "this employer done at the window.",
        "P3.3a",
    ),
    "bureau.window-only": (
        "身份证号码或姓名与社保系统登记不同,只能在社保窗口修改:请带身份证和户口簿到窗口办理。",
        "The identity number or the name differs from the bureau's record and only the "
        "window changes them: bring the identity card and household register there.",
        "P3.3a",
    ),
    "bureau.account-settled": (
        "养老账户已结清:请到社保窗口办理撤销结清。",
        "The pension account is settled: have the settlement undone at the window.",
        "P3.4e",
    ),
}
_DATA_REASON = (
    "请在职工信息页面按社保系统的说明更正数据,保存后重新打印确认表、签字收回,再提交申报。",
    "Correct the data in the worker editor as the bureau says, save it, print the "
    "confirmation form again, have it signed and received, then submit.",
    "P3.7",
)
_KEY = re.compile(r"[A-Za-z0-9._-]{1,100}")


def what_to_do(code: str | None) -> tuple[str, str, str]:
    """What to do for a worker the bureau failed with ``code``: (Chinese,
    English, paragraph); a code not in ``WINDOW_CODES`` is corrected in the editor."""
    if code in WINDOW_CODES:
        return REASONS.get(
            code or "",
            (
                "只能在社保窗口办理:请到窗口办理后登记。",
                "Only the bureau window clears this: go there, then record the visit.",
                "P3.3a",
            ),
        )
    return _DATA_REASON


def _kind(kind: DeclarationKind) -> str:
    if kind is DeclarationKind.EMPLOYER:
        return tr("单位信息申报", "employer information")
    return tr("职工信息申报", "workers' information")


def _declaration(session: CollectionSession, key: str) -> StoredDeclaration:
    """The declaration ``key`` of the clerk's employer; 404 for anything else."""
    if not _KEY.fullmatch(key):
        abort(404)
    try:
        return session.declaration(key)
    except UnknownDeclarationKey:
        abort(404)


# -- the list --------------------------------------------------------------------------------


@attrs.frozen
class _Row:
    decl: StoredDeclaration
    kind: str
    state: str
    succeeded: int
    failed: int
    employer: bool
    """The employer's declaration [P3.1]: no worker in it (its outcome is its state)."""


def _row(decl: StoredDeclaration) -> _Row:
    ok = sum(1 for o in decl.outcomes if o.succeeded)
    return _Row(
        decl=decl,
        kind=_kind(decl.kind),
        state=declaration_state(decl.state),
        succeeded=ok,
        failed=len(decl.outcomes) - ok,
        employer=decl.kind is DeclarationKind.EMPLOYER,
    )


@bp.get("/declarations")
def index() -> str:
    """Every declaration of the collection, newest first."""
    with collection() as session:
        decls = session.declarations()
        failed = worker_page(session, status="failed", limit=1).total
    rows = [_row(d) for d in reversed(decls)]
    pending = any(not d.state.concluded for d in decls)
    return render_template(
        "declarations.html", rows=rows, pending=pending, failed=failed, when=when
    )


@bp.post("/declarations/follow")
def follow() -> Response:
    """[P3.7] Ask the bureau about every declaration not concluded yet."""
    follow_all()
    return redirect(url_for(".index"), code=303)


# -- one declaration -------------------------------------------------------------------------

_PROGRESS = (
    ("submitted", "已提交", "submitted"),
    ("processing", "正在处理", "processing"),
    ("concluded", "处理完成", "concluded"),
)


def _progress(decl: StoredDeclaration) -> list[tuple[str, str]]:
    """The declaration's progress: (label, ``done``/``current``/``waiting``) per stage."""
    state = decl.state
    if state is DeclarationState.DRAFT:
        at = -1
    elif state is DeclarationState.SUBMITTED:
        at = 0
    elif state is DeclarationState.PROCESSING:
        at = 1
    else:
        at = 2
    out = []
    for i, (_name, zh, en) in enumerate(_PROGRESS):
        label = tr(zh, en)
        if i == 2 and state.concluded:
            label = f"{label}: {declaration_state(state)}"
        out.append((label, "done" if i < at else "current" if i == at else "waiting"))
    return out


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@attrs.frozen
class _Outcome:
    masked: str
    name: str
    ref: str | None
    state: str
    label: str
    code: str | None
    reason: str
    todo: tuple[str, str, str] | None


def _name(session: CollectionSession, key: str) -> tuple[str, StoredWorker | None]:
    try:
        stored = session.worker(key)
    except UnknownWorker:
        return "", None
    return stored.worker.name, stored


def _outcomes(session: CollectionSession, decl: StoredDeclaration, page: int) -> list[_Outcome]:
    """The page's per-worker outcomes (pending ones while the bureau has not concluded)."""
    verdicts = {o.key: o for o in decl.outcomes}
    keys = list(decl.workers) or [o.key for o in decl.outcomes]
    chosen = keys[(page - 1) * OUTCOMES_PAGE : page * OUTCOMES_PAGE]
    out = []
    for key in chosen:
        name, stored = _name(session, key)
        verdict = verdicts.get(key)
        if verdict is None:
            state, label, reason, todo = "pending", tr("等待处理结果", "waiting"), "", None
        elif verdict.succeeded:
            state, label, reason, todo = "succeeded", tr("处理成功", "succeeded"), "", None
        else:
            state, label = "failed", tr("处理失败", "failed")
            reason = tr(
                verdict.message_zh or verdict.message, verdict.message or verdict.message_zh
            )
            still = stored is not None and stored.status.value == "failed"
            todo = what_to_do(verdict.code) if still else None
        out.append(
            _Outcome(
                masked=mask(key),
                name=name,
                ref=worker_ref(key) if stored is not None else None,
                state=state,
                label=label,
                code=None if verdict is None else verdict.code,
                reason=reason,
                todo=todo,
            )
        )
    return out


@bp.get("/declarations/<key>")
def show(key: str) -> str:
    """One declaration: its progress and each worker's outcome."""
    with collection() as session:
        decl = _declaration(session, key)
        employer = decl.kind is DeclarationKind.EMPLOYER
        total = len(decl.workers) or len(decl.outcomes)
        last = max(1, math.ceil(total / OUTCOMES_PAGE))
        page = min(_page_arg(), last)
        # the employer's declaration has no worker: its outcome is its state
        outcomes = [] if employer else _outcomes(session, decl, page)
        linked = [d.key for d in session.declarations() if d.linked_to == decl.key]
    ok = sum(1 for o in decl.outcomes if o.succeeded)
    return render_template(
        "declaration.html",
        decl=decl,
        employer=employer,
        kind=_kind(decl.kind),
        state=declaration_state(decl.state),
        progress=_progress(decl),
        outcomes=outcomes,
        total=total,
        succeeded=ok,
        failed=len(decl.outcomes) - ok,
        page=page,
        last=last,
        linked=linked,
        when=when,
    )


@bp.post("/declarations/<key>/refresh")
def refresh(key: str) -> Response:
    """[P3.7] Ask the bureau how the declaration stands."""
    with collection() as session:
        decl = _declaration(session, key)
        try:
            decl = session.refresh(decl.key)
        except PensionCollectError as exc:
            report(exc)
        else:
            flash(
                tr(
                    f"已刷新:{decl.key} {declaration_state(decl.state)}。",
                    f"Refreshed: {decl.key} is {declaration_state(decl.state)}.",
                ),
                "success",
            )
    return redirect(url_for(".show", key=key), code=303)


# -- the re-collection list [P3.7] -----------------------------------------------------------


@attrs.frozen
class _Failed:
    ref: str
    masked: str
    name: str
    code: str | None
    reason: str
    declaration: str | None
    todo: tuple[str, str, str]
    window: bool
    visited_at: str | None
    next_zh: str
    next_en: str


def _failed(session: CollectionSession, sess: SessionState, keys: Sequence[str]) -> list[_Failed]:
    out = []
    for key in keys:
        stored = session.worker(key)
        outcome = stored.outcome
        code = None if outcome is None else outcome.code
        reason = "" if outcome is None else tr(outcome.message_zh, outcome.message)
        visit = sess.window_visits.get(key)
        visited = visit is not None and visit.failed_in == stored.declaration
        if stored.needs_window and not visited:
            nxt = (
                "到社保窗口办理,然后在下面登记。",
                "Go to the bureau window, then record the visit below.",
            )
        elif stored.needs_window and sess.needs_sync:
            nxt = (
                "窗口办理已登记:请在工作台重新数据同步。",
                "Visit recorded: sync again on the dashboard.",
            )
        elif stored.needs_window and sess.verification.get(key) != sess.sync_no:
            nxt = (
                "已重新同步:请在职工列表重新打印核对表。",
                "Synced again: print a new verification form on the worker list.",
            )
        else:
            nxt = (
                "请在职工信息页面重新采集并保存。",
                "Collect the worker again in the editor and save.",
            )
        out.append(
            _Failed(
                ref=worker_ref(key),
                masked=mask(key),
                name=stored.worker.name,
                code=code,
                reason=reason,
                declaration=stored.declaration,
                todo=what_to_do(code),
                window=stored.needs_window,
                visited_at=visit.at if visited and visit is not None else None,
                next_zh=nxt[0],
                next_en=nxt[1],
            )
        )
    return out


@bp.get("/recollection")
def recollection() -> str:
    """[P3.7] The workers the bureau failed, each with what to do
    (``RECOLLECTION_PAGE`` a page, ``?page=N``)."""
    return _recollection(_page_arg())


@overload
def _recollection(number: int, typed: tuple[str, str, str] | None = None) -> str: ...


@overload
def _recollection(number: int, typed: tuple[str, str, str], *, stale: str) -> str | None: ...


def _recollection(
    number: int, typed: tuple[str, str, str] | None = None, *, stale: str | None = None
) -> str | None:
    """The re-collection list's page ``number``; ``typed``: (ref, note, problem)
    of a window visit's note refused, shown again at its field. With
    ``stale`` (a message): only when the form of ``typed`` is on the page
    (its worker there, its visit due), the message flashed on it; else ``None``."""
    with collection() as session:
        sess = session.state()
        found = worker_page(
            session,
            status="failed",
            offset=(number - 1) * RECOLLECTION_PAGE,
            limit=RECOLLECTION_PAGE,
        )
        last = max(1, math.ceil(found.total / RECOLLECTION_PAGE))
        if number > last:  # past the end: the last page (read again)
            number = last
            found = worker_page(
                session,
                status="failed",
                offset=(number - 1) * RECOLLECTION_PAGE,
                limit=RECOLLECTION_PAGE,
            )
        keys = [row.key for row in found.rows]
        failed = _failed(session, sess, keys) if sess is not None else []
    if stale is not None:
        if typed is None or not any(
            f.ref == typed[0] and f.window and not f.visited_at for f in failed
        ):
            return None
        flash(stale, "error")
    return render_template(
        "declaration_recollection.html",
        failed=failed,
        total=found.total,
        page=number,
        last=last,
        note_limit=NOTE_LIMIT,
        when=when,
        editor=_editor_link,
        typed=typed,
    )


def _editor_link(ref: str) -> str:
    return url_for("editor.edit", ref=ref)


_ID_LIKE = re.compile(r"[0-9]{6,}")


def _visit_due(session: CollectionSession, key: str) -> bool:
    """Whether the re-collection list offers the window visit of ``key``: failed
    by the bureau for a window reason, no visit recorded since."""
    try:
        stored = session.worker(key)
    except PensionCollectError:
        return False
    if not stored.needs_window:
        return False
    sess = session.state()
    visit = None if sess is None else sess.window_visits.get(key)
    return visit is None or visit.failed_in != stored.declaration


@bp.post("/recollection/<ref>/window-visit")
def window_visit(ref: str) -> Response | tuple[str, int]:
    """[P3.7] Record that a failed worker's matter was done at the bureau window."""
    note = request.form.get("note", "").strip()
    problem: tuple[str, str] | None = None
    if len(note) > NOTE_LIMIT:
        problem = (
            f"说明最多 {NOTE_LIMIT} 个字符。",
            f"The note takes at most {NOTE_LIMIT} characters.",
        )
    elif _ID_LIKE.search(note) or any(ord(c) < 0x20 for c in note):
        problem = (
            "说明中不要填写身份证号码、个人编号等号码或控制字符。",
            "The note must not hold identity or personal numbers (or control characters).",
        )
    with collection() as session:
        key = worker_key(ref, session)
        due = _visit_due(session, key)
    if problem is not None and due:
        # the note refused: the page again with the note as typed, the problem at it
        flash(tr(*problem) + " " + tr("未登记。", "Nothing was recorded."), "error")
        return _recollection(_page_arg(), (ref, note, tr(*problem))), 422
    with collection() as session:
        key = worker_key(ref, session)
        if problem is None and not due:
            # a stale or tampered form: the list offers it for none other
            problem = (
                "该职工不在需要登记窗口办理的名单中(未被社保退回,或已登记)。",
                "This worker is not one whose window visit is due (not failed by the "
                "bureau for a window reason, or recorded already).",
            )
        if problem is not None:
            flash(tr(*problem) + " " + tr("未登记。", "Nothing was recorded."), "error")
            return redirect(url_for(".recollection"), code=303)
        try:
            session.record_window_visit(key, note)
        except PensionCollectError as exc:
            report(exc)
        else:
            flash(
                tr(
                    f"已登记 {mask(key)} 的窗口办理。"
                    "下一步:在工作台重新数据同步,再打印新的核对表。",
                    f"The window visit of {mask(key)} is recorded. Next: sync again on the "
                    "dashboard, then print a new verification form.",
                ),
                "success",
            )
    return redirect(url_for(".recollection"), code=303)


def stale_visit(signed_in: bool) -> tuple[str, int]:
    """The answer to a POST of a window visit refused for its sign-in or its
    CSRF token (docs/web.md, "A stale form"): nothing is recorded; the note
    typed comes back. Signed in, the visit still due: the re-collection list
    with the note in its box and this sign-in's token, 400. Else the page of
    the note (:func:`~pension_collect_web.views.auth.kept_page`): 401 when no
    one is signed in, 400 when the worker is not the signed-in clerk's
    employer's or its visit is no longer due."""
    ref = str((request.view_args or {}).get("ref", ""))
    note = request.form.get("note", "")
    number = _page_arg()
    reason = None
    if signed_in:
        with collection() as session:
            # None: signed in again as another employer's clerk
            key = worker_key_or_none(ref, session)
            due = key is not None and _visit_due(session, key)
        if due:
            page = _recollection(
                number,
                (ref, note, ""),
                stale=tr(
                    "未登记:该页面已过期(安全令牌与当前登录不符,例如您已在另一个标签页"
                    "重新登录),未作任何更改。您填写的说明保留在该职工的框中;请核对后再按"
                    "“登记窗口办理”。",
                    "Not recorded: the page was stale (its security token is not the one "
                    "of your current sign-in, e.g. you signed in again in another tab); "
                    "nothing was changed. The note you typed is kept in the worker's box; "
                    "check it, then press Record the window visit again.",
                ),
            )
            if page is not None:
                return page, 400
        if key is not None:
            reason = tr(
                "未登记:该页面已过期,未作任何更改;该职工已不需要登记窗口办理(已登记,或不再"
                "因窗口原因失败)。您填写的说明保留在下方。",
                "Not recorded: the page was stale; nothing was changed. This worker's window "
                "visit is no longer due (recorded already, or no longer failed for a window "
                "reason). The note you typed is kept below.",
            )
    action = (
        url_for(".window_visit", ref=ref, page=number)
        if number > 1
        else url_for(".window_visit", ref=ref)
    )
    label = tr("办理情况说明(窗口办理)", "Note of the window visit")
    return kept_page(
        action,
        [TypedValue("note", label, note, multiline=True)],
        signed_in=signed_in,
        reason=reason,
    )


KEEP_TYPED[f"{bp.name}.window_visit"] = stale_visit
