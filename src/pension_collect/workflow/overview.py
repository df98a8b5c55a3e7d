"""The collection seen from above, for front ends (docs/workflow.md, "Overview for front ends").

What a dashboard or a worker list shows, read from a
:class:`~pension_collect.workflow.CollectionSession`'s store in one pass and
never changing it (but for the drafts):

* :func:`next_step`: what to do next and what blocks it, in the sheet's
  words (a :class:`NextStep` with a stable ``action``);
  :func:`decide_next_step` is the same decision over data already read;
* :func:`steps`: the procedure's steps [P3] .. [P3.7], each done, current or
  waiting;
* :func:`worker_page`: one page of the worker list (every person of the
  latest sync and every stored worker), filtered by state (:data:`ROW_STATES`)
  and searched by name or identity number, with the count of each state;
* :func:`bureau_person`: the bureau's record of a worker from the latest sync;
* drafts (:func:`save_draft`, :func:`draft`, :func:`discard_draft`): a
  worker's unfinished collection kept as typed, never checked by the rules
  and never declared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from .._privacy import id_repr, keys_repr, mask_name
from ..errors import PensionCollectError
from ..identity import canonical_id, canonical_name
from ..model import BureauRecord, Employer, Worker
from ..ports.storage import Record, RecordKind, Transaction, Write
from ..ports.transport import DeclarationState
from . import guards as G
from . import records as R
from ._audit import Audit
from .records import SessionState, StoredDeclaration, WorkerStatus

if TYPE_CHECKING:
    from .session import CollectionSession

__all__ = [
    "ACTIONS",
    "MAX_PAGE",
    "ROW_STATES",
    "STEPS",
    "Blocker",
    "Dashboard",
    "NextStep",
    "PageError",
    "Step",
    "WorkerFacts",
    "WorkerPage",
    "WorkerRow",
    "bureau_employer",
    "bureau_person",
    "dashboard",
    "decide_next_step",
    "discard_draft",
    "draft",
    "next_step",
    "save_draft",
    "steps",
    "worker_page",
    "worker_rows",
]

#: The actions :func:`next_step` names, in the order of the procedure.
ACTIONS: Final = (
    "start",
    "sync",
    "sync-again",
    "employer",
    "submit-draft",
    "window-visit",
    "print-verification",
    "recollect",
    "collect",
    "print-confirmation",
    "receive",
    "follow",
    "submit",
    "done",
)

#: The procedure's steps: paragraph -> (English, Chinese) in the sheet's words.
STEPS: Final[Mapping[str, tuple[str, str]]] = {
    "P3": (
        "Start data-quality work (no declaration left open)",
        "开始数据质量整理(无未处理完的申报)",
    ),
    "P3.1": ("Data sync and employer information", "数据同步并采集单位信息"),
    "P3.2": ("Print verification forms", "打印核对表"),
    "P3.3": ("Hand out verification forms; corrections at the window", "下发核对表,窗口修改"),
    "P3.4": ("Collect the workers", "采集职工信息"),
    "P3.5": ("Print confirmation forms (3 copies)", "打印确认表(一式三份)"),
    "P3.6": ("Receive the signed forms and submit", "收回签字确认表并提交申报"),
    "P3.7": ("Follow the result; collect the failed again", "等待处理结果,重新采集处理失败的职工"),
}

#: The step of :data:`STEPS` each action belongs to.
_STEP_OF: Final[Mapping[str, str]] = {
    "start": "P3",
    "sync": "P3.1",
    "employer": "P3.1",
    "sync-again": "P3.3",
    "window-visit": "P3.3",
    "print-verification": "P3.2",
    "collect": "P3.4",
    "recollect": "P3.4",
    "print-confirmation": "P3.5",
    "receive": "P3.6",
    "submit": "P3.6",
    "submit-draft": "P3.6",
    "follow": "P3.7",
}

#: The states of a worker row (:func:`worker_page`), in the order of the
#: procedure: state -> (English, Chinese).
ROW_STATES: Final[Mapping[str, tuple[str, str]]] = {
    "not-collected": ("not collected", "未采集"),
    "incomplete": ("incomplete (draft)", "未完成(草稿)"),
    "saved": ("saved", "已保存"),
    "printed": ("confirmation printed", "已打印确认表"),
    "signed": ("signed and received", "已签字收回"),
    "submitted": ("submitted", "已申报"),
    "succeeded": ("succeeded", "处理成功"),
    "failed": ("failed", "处理失败"),
}

#: The largest page :func:`worker_page` gives.
MAX_PAGE: Final = 500


# -- what to do next -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Blocker:
    """The guard that holds the later steps back: its error's ``code``,
    ``procedure`` and default sentences (:class:`~pension_collect.workflow.WorkflowError`)."""

    code: str
    procedure: str
    message: str
    message_zh: str

    @classmethod
    def of(cls, guard: type[G.WorkflowError]) -> Blocker:
        """The blocker of a guard's error class."""
        return cls(
            code=guard.code,
            procedure=guard.procedure,
            message=guard.default[0],
            message_zh=guard.default[1],
        )


@attrs.frozen(kw_only=True)
class NextStep:
    """What to do next (:func:`next_step`)."""

    action: str
    """One of :data:`ACTIONS`: a stable word a front end maps to its own button."""
    procedure: str
    """The paragraph of the sheet (``P3.1``, ``P3.3a``, ``P3.4g`` ...)."""
    step: str
    step_zh: str
    blocked_by: Blocker | None = None
    """The guard that refuses the later steps until this one is done (``None``:
    nothing blocks, the step is simply the next one)."""
    workers: tuple[str, ...] = attrs.field(default=(), repr=keys_repr)
    """The keys of the workers the step is about (identity numbers: masked in the repr)."""

    @property
    def done(self) -> bool:
        """The collection is done: every worker accepted."""
        return self.action == "done"


class WorkerFacts(Protocol):
    """What :func:`decide_next_step` reads of a worker: a
    :class:`~pension_collect.workflow.StoredWorker` has all of it."""

    @property
    def key(self) -> str: ...
    @property
    def status(self) -> WorkerStatus | None: ...
    @property
    def needs_window(self) -> bool: ...
    @property
    def confirmation_printed(self) -> bool: ...
    @property
    def form_received(self) -> bool: ...
    @property
    def handbook_received(self) -> bool: ...
    @property
    def declaration(self) -> str | None: ...


def _next(
    action: str,
    procedure: str,
    step: str,
    step_zh: str,
    blocked: type[G.WorkflowError] | None = None,
    keys: Iterable[str] = (),
) -> NextStep:
    return NextStep(
        action=action,
        procedure=procedure,
        step=step,
        step_zh=step_zh,
        blocked_by=None if blocked is None else Blocker.of(blocked),
        workers=tuple(keys),
    )


def decide_next_step(
    state: SessionState | None,
    persons: Collection[str],
    workers: Sequence[WorkerFacts],
    declarations: Sequence[StoredDeclaration],
) -> NextStep:
    """What to do next, from what the store holds: ``state`` (``None`` before
    the start), ``persons`` (the keys of the latest sync's persons, in order),
    the stored ``workers`` and the ``declarations``. The resume table of
    docs/workflow.md with the re-collection of [P3.7]; :func:`next_step`
    reads these and calls it."""
    if state is None:
        return _next("start", "P3", "Start data-quality work", "开始数据质量工作", G.NotStarted)
    if state.sync_no == 0:
        return _next("sync", "P3.1", "Data sync", "数据同步", G.SyncFirst)
    if state.needs_sync:
        visited = sorted(state.window_visits)
        return _next(
            "sync-again", "P3.3a", "Data sync again", "重新数据同步", G.SyncRequired, visited
        )
    if state.employer is None or state.employer_declaration is None:
        return _next(
            "employer",
            "P3.1",
            "Collect and declare the employer information",
            "单位信息采集并申报",
            G.EmployerFirst,
        )
    if any(d.state is DeclarationState.DRAFT for d in declarations):
        return _next(
            "submit-draft",
            "P3.6",
            "Send the declaration left unsent",
            "重新发送未发出的申报",
            G.DeclarationInFlight,
        )
    open_ = any(not d.state.concluded for d in declarations)
    stored = {w.key for w in workers}
    failed = [w for w in workers if w.status is WorkerStatus.FAILED]
    no_visit = [w.key for w in failed if w.needs_window and not _visited(state, w)]
    if no_visit:
        return _next(
            "window-visit",
            "P3.7",
            "Record the window visit of the workers the bureau failed",
            "登记社保窗口办理",
            G.WindowVisitRequired,
            no_visit,
        )
    to_collect = [k for k in persons if k not in stored] + [w.key for w in failed]
    unprinted = [k for k in to_collect if state.verification.get(k) != state.sync_no]
    if unprinted:
        return _next(
            "print-verification",
            "P3.2",
            "Print verification forms",
            "打印核对表",
            G.VerificationFormMissing,
            unprinted,
        )
    if failed:
        return _next(
            "recollect",
            "P3.7",
            "Collect the failed workers again",
            "重新采集处理失败的职工",
            G.RecollectionIncomplete,
            [w.key for w in failed],
        )
    if to_collect:
        return _next(
            "collect", "P3.4", "Collect the workers", "职工信息整理", G.IncompleteWorker, to_collect
        )
    collected = [w for w in workers if w.status is WorkerStatus.COLLECTED]
    unconfirmed = [w.key for w in collected if not w.confirmation_printed]
    if unconfirmed:
        return _next(
            "print-confirmation",
            "P3.5",
            "Print confirmation forms (3 copies)",
            "打印确认表(一式三份)",
            G.ConfirmationFormMissing,
            unconfirmed,
        )
    unreceived = [w.key for w in collected if not (w.form_received and w.handbook_received)]
    if unreceived:
        return _next(
            "receive",
            "P3.4g",
            "Receive the signed forms and handbooks",
            "收回签字确认表和养老手册",
            G.NotReceived,
            unreceived,
        )
    if open_:  # nothing else to do until the bureau has answered
        # workers waiting to be submitted (behind the employer's declaration, say):
        # the follow is part of [P3.6], which is not done yet
        return _next(
            "follow",
            "P3.6" if collected else "P3.7",
            "Follow the declarations",
            "查看申报处理结果",
            G.DeclarationInFlight,
        )
    if collected:
        return _next(
            "submit",
            "P3.6",
            "Print the summary sheet and submit the declaration",
            "打印汇总表并提交申报",
        )
    return _next("done", "P3.7", "Done: every worker accepted", "完成:所有职工处理成功")


def _visited(state: SessionState, w: WorkerFacts) -> bool:
    visit = state.window_visits.get(w.key)
    return visit is not None and visit.failed_in == w.declaration


def next_step(session: CollectionSession) -> NextStep:
    """What to do next in ``session`` and what blocks it, in the sheet's words
    (:func:`decide_next_step` over what the store holds). Reads only."""
    snap = _read(session, drafts=False)
    return decide_next_step(snap.state, snap.persons, snap.rows, snap.declarations)


@attrs.frozen(kw_only=True)
class Step:
    """One step of the procedure on a dashboard (:func:`steps`)."""

    procedure: str
    """``P3``, ``P3.1`` .. ``P3.7``."""
    name: str
    name_zh: str
    state: str
    """``done``, ``current`` (the step :func:`next_step` is in) or ``waiting``."""


def steps(session: CollectionSession, *, next: NextStep | None = None) -> tuple[Step, ...]:
    """The steps [P3] .. [P3.7] of :data:`STEPS`, each ``done``, ``current`` or
    ``waiting``: the step of the next action is current, those before it done,
    those after it waiting (after a failure, re-collection makes an earlier
    step current again); all done once the collection is. ``next``: the
    :func:`next_step` already read (nothing is read then)."""
    found = next_step(session) if next is None else next
    current = _STEP_OF.get(found.action)
    if found.action == "follow" and found.procedure == "P3.6":
        current = "P3.6"  # following before the workers' declaration is submitted
    order = list(STEPS)
    at = len(order) if current is None else order.index(current)
    return tuple(
        Step(
            procedure=p,
            name=STEPS[p][0],
            name_zh=STEPS[p][1],
            state="done" if i < at else "current" if i == at else "waiting",
        )
        for i, p in enumerate(order)
    )


# -- the worker list -----------------------------------------------------------------------


def _name_repr(value: object) -> str:
    return repr(mask_name(value))


@attrs.frozen(kw_only=True)
class WorkerRow:
    """One row of the worker list (:func:`worker_page`); its repr shows the key
    masked and the name as its first character."""

    key: str = attrs.field(repr=id_repr)
    """The 18-character identity number (personal data: never put it in a URL)."""
    name: str = attrs.field(repr=_name_repr)
    """The stored worker's name, else the draft's, else the bureau's."""
    person_no: str | None
    state: str
    """One of :data:`ROW_STATES`."""
    status: WorkerStatus | None = None
    """The stored worker's status (``None``: not saved)."""
    in_latest_sync: bool = False
    verification_printed: bool = False
    """A verification form was printed from the latest sync."""
    confirmation_printed: bool = False
    form_received: bool = False
    handbook_received: bool = False
    declaration: str | None = None
    """The declaration the worker was last submitted in."""
    outcome_code: str | None = None
    """The bureau's verdict: its code (``None``: none yet), messages."""
    outcome_message: str = ""
    outcome_message_zh: str = ""
    needs_window: bool = False
    """Failed for a reason only the bureau window clears ([P3.7])."""
    has_draft: bool = False
    """A draft is kept for the worker (:func:`draft`)."""


@attrs.frozen(kw_only=True)
class WorkerPage:
    """One page of the worker list (:func:`worker_page`)."""

    rows: tuple[WorkerRow, ...]
    total: int
    """How many rows match the filter and the search (all pages)."""
    counts: Mapping[str, int]
    """Rows per state of :data:`ROW_STATES` over the whole list (every state, 0 included)."""
    offset: int
    limit: int
    verification_due: int = 0
    """Rows over the whole list whose verification form of the latest sync is
    due (:func:`worker_page`'s ``verification_due``)."""

    @property
    def has_more(self) -> bool:
        """More matching rows follow this page."""
        return self.offset + len(self.rows) < self.total


class PageError(PensionCollectError, ValueError):
    """A worker page asked for with a bad argument: ``field`` names it
    (``offset``, ``limit``, ``status``, ``search``); the messages say what is allowed."""

    code = "workflow.bad-page"

    def __init__(self, field: str, message: str, message_zh: str) -> None:
        self.field = field
        self.message = message
        self.message_zh = message_zh
        super().__init__(f"{self.code}: {field}: {message}")


def _check_page(status: object, search: object, offset: object, limit: object) -> None:
    if search is not None and not isinstance(search, str):
        raise PageError(
            "search", "must be text (a name or an identity number)", "须为文本(姓名或身份证号码)"
        )
    if status is not None and status not in ROW_STATES:
        raise PageError(
            "status",
            f"unknown worker state; use one of {', '.join(ROW_STATES)}",
            f"未知的职工状态;可用:{'、'.join(v[1] for v in ROW_STATES.values())}",
        )
    if type(offset) is not int or offset < 0:
        raise PageError("offset", "must be a whole number, 0 or more", "须为 0 或更大的整数")
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise PageError(
            "limit",
            f"must be a whole number from 1 to {MAX_PAGE}",
            f"每页条数须为 1 至 {MAX_PAGE} 的整数",
        )


_ID_QUERY = re.compile(r"[0-9]+X?|X")


def _matcher(search: str) -> Callable[[WorkerRow], bool]:
    """A test of a row against a search: the name contains the text (compared
    as :func:`~pension_collect.identity.canonical_name`, case-insensitive), or
    the identity number is the text whole (15 or 18 characters) or ends with it."""
    text = canonical_name(search).casefold()
    digits = canonical_id(search)
    whole = canonical_id(digits) if len(digits) == 15 else None
    by_id = _ID_QUERY.fullmatch(digits) is not None

    def match(row: WorkerRow) -> bool:
        if by_id and (row.key.endswith(digits) or row.key == whole):
            return True
        return text in canonical_name(row.name).casefold()

    return match


def _due(row: WorkerRow) -> bool:
    """The row is still to collect (a person not saved, or a failed worker)
    and no verification form of the latest sync is printed for it: a new one
    is due before it is collected [P3.2] (the workers ``next_step`` names at
    ``print-verification``)."""
    still = row.status is None or row.status is WorkerStatus.FAILED
    return still and not row.verification_printed


def _order(row: WorkerRow) -> tuple[int, str, str]:
    return (0 if row.person_no else 1, row.person_no or "", row.key)


def worker_page(
    session: CollectionSession,
    *,
    status: str | None = None,
    search: str | None = None,
    offset: int = 0,
    limit: int = 50,
    verification_due: bool = False,
) -> WorkerPage:
    """One page of the worker list: every person of the latest sync and every
    stored worker, one :class:`WorkerRow` each, ordered by person number, then
    key (rows without a person number last).

    ``status``: only rows in that state (:data:`ROW_STATES`); ``search``: only
    rows whose name contains it or whose identity number is it or ends with it
    (case-insensitive; blank: no search); ``offset``/``limit``: the page (a
    ``limit`` from 1 to :data:`MAX_PAGE`; an offset past the end gives no
    rows); ``verification_due=True``: only the rows still to collect (a
    person not saved, a failed worker) with no verification form printed from
    the latest sync, the workers ``next_step`` names at ``print-verification``
    [P3.2] (with ``status`` and ``search``: rows matching all). ``total``
    counts the matching rows, ``counts`` every row by state,
    ``verification_due`` the rows due over the whole list. Bad arguments
    raise :class:`PageError` before anything is read. Reads the store once
    (one pass over its records); writes nothing."""
    _check_page(status, search, offset, limit)
    _check_due(verification_due)
    snap = _read(session, drafts=True)
    counts = dict.fromkeys(ROW_STATES, 0)
    due = 0
    for row in snap.rows:
        counts[row.state] += 1
        due += _due(row)
    found = _matching(snap.rows, status, search, verification_due)
    return WorkerPage(
        rows=tuple(found[offset : offset + limit]),
        total=len(found),
        counts=counts,
        offset=offset,
        limit=limit,
        verification_due=due,
    )


def worker_rows(
    session: CollectionSession,
    *,
    status: str | None = None,
    search: str | None = None,
    verification_due: bool = False,
) -> tuple[WorkerRow, ...]:
    """Every row of the worker list matching ``status``, ``search`` and
    ``verification_due`` (as :func:`worker_page` filters them), in its order,
    unpaged: what "all the workers matching the filter" acts on. Bad arguments
    raise :class:`PageError` before anything is read. Reads the store once;
    writes nothing."""
    _check_page(status, search, 0, 1)
    _check_due(verification_due)
    return tuple(_matching(_read(session, drafts=True).rows, status, search, verification_due))


def _check_due(verification_due: object) -> None:
    if type(verification_due) is not bool:
        raise PageError("verification_due", "must be True or False", "须为 True 或 False")


def _matching(
    every: list[WorkerRow], status: str | None, search: str | None, verification_due: bool
) -> list[WorkerRow]:
    """The rows matching the filters, in the list's order."""
    rows: Iterable[WorkerRow] = every
    if verification_due:
        rows = (r for r in rows if _due(r))
    if status is not None:
        rows = (r for r in rows if r.state == status)
    if search is not None and search.strip():
        match = _matcher(search)
        rows = (r for r in rows if match(r))
    return sorted(rows, key=_order)


# -- a dashboard in one read ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Dashboard:
    """What a dashboard shows, read at one moment (:func:`dashboard`)."""

    next: NextStep
    """What to do next (:func:`next_step`)."""
    steps: tuple[Step, ...]
    """The steps [P3] .. [P3.7] (:func:`steps`)."""
    state: SessionState | None
    """The session's state (``None`` before the start)."""
    counts: Mapping[str, int]
    """Rows of the worker list per state of :data:`ROW_STATES`, every state
    present (:func:`worker_page`'s ``counts``)."""
    total: int
    """Rows of the worker list: every person of the latest sync and every stored worker."""
    declarations: tuple[StoredDeclaration, ...]
    """Every declaration, oldest first (as ``CollectionSession.declarations()``)."""


def dashboard(session: CollectionSession) -> Dashboard:
    """:func:`next_step`, :func:`steps`, the session's state, the worker
    list's counts and the declarations, read in one pass over the store (one
    transaction: each kind of record once), for a dashboard that would
    otherwise read the store for each. Reads only."""
    snap = _read(session, drafts=True, with_decls=True)
    stored = [row for row in snap.rows if row.status is not None]
    found = decide_next_step(snap.state, snap.persons, stored, snap.declarations)
    counts = dict.fromkeys(ROW_STATES, 0)
    for row in snap.rows:
        counts[row.state] += 1
    return Dashboard(
        next=found,
        steps=steps(session, next=found),
        state=snap.state,
        counts=counts,
        total=len(snap.rows),
        declarations=tuple(snap.declarations),
    )


# -- reading the store in one pass -----------------------------------------------------------


@attrs.frozen
class _Snapshot:
    state: SessionState | None
    persons: list[str]
    rows: list[WorkerRow]
    """Every stored worker (for :func:`next_step`) or every row (:func:`worker_page`)."""
    declarations: list[StoredDeclaration]


def _open(session: CollectionSession) -> None:
    if session.closed:
        raise G.SessionClosed()


@attrs.frozen
class _Records:
    state: SessionState | None
    synced: list[Record]
    stored: list[Record]
    decls: list[Record]
    kept: list[Record]


def _records(session: CollectionSession, *, drafts: bool, decls: bool) -> _Records:
    """Every record the overview reads, in one transaction (one consistent
    view): the session record and the marks (the state), the synced persons,
    the workers, and the declarations or the drafts. A session record of an
    earlier release is moved to the new shape first by
    :meth:`~pension_collect.workflow.CollectionSession.state` (docs/workflow.md,
    "Stores of earlier releases"), then everything is read again."""
    unit = session.unit_no
    moved = False
    while True:
        _open(session)
        with session.storage.transaction() as tx:
            rec = tx.get(RecordKind.SESSION, unit, R.SESSION_KEY)
            if rec is None:
                return _Records(None, [], [], [], [])
            if moved or not R.has_old_shape(rec.data):
                # once moved, an old field written back meanwhile (an earlier
                # release on the same store) is left to the session's next step
                marks = tx.list(RecordKind.MARKS, unit)
                return _lists(tx, unit, R.session_state(rec, marks), drafts, decls)
        session.state()
        moved = True


def _lists(tx: Transaction, unit: str, state: SessionState, drafts: bool, decls: bool) -> _Records:
    return _Records(
        state,
        tx.list(RecordKind.SYNCED, unit) if state.sync_no else [],
        tx.list(RecordKind.WORKER, unit),
        tx.list(RecordKind.DECLARATION, unit) if decls else [],
        tx.list(RecordKind.DRAFT, unit) if drafts else [],
    )


def _read(session: CollectionSession, *, drafts: bool, with_decls: bool | None = None) -> _Snapshot:
    """The state, the latest sync's persons, the rows and the declarations.
    ``drafts``: the rows of the whole list (persons not stored, drafts),
    else only the stored workers'; ``with_decls``: the declarations read too
    (default: when the drafts are not)."""
    decls_too = not drafts if with_decls is None else with_decls
    found = _records(session, drafts=drafts, decls=decls_too)
    state = found.state
    if state is None:
        return _Snapshot(None, [], [], [])
    synced, stored, decls, kept = found.synced, found.stored, found.decls, found.kept
    persons: dict[str, Mapping[str, Any]] = {}
    for rec in synced:
        if rec.data.get("sync_no") == state.sync_no:
            persons[rec.key] = _synced(rec)
    draft_names = {rec.key: name for rec in kept if (name := _draft_name(rec)) is not None}
    rows = [_stored_row(rec, state, persons, draft_names) for rec in stored]
    if drafts:
        seen = {r.key for r in rows}
        rows += [
            _person_row(key, person, state, draft_names)
            for key, person in persons.items()
            if key not in seen
        ]
    declarations = sorted(
        (R.declaration_from(r) for r in decls), key=lambda d: (d.created_at, d.key)
    )
    return _Snapshot(state, list(persons), rows, declarations)


def _synced(rec: Record) -> Mapping[str, Any]:
    record = rec.data.get("record")
    if not isinstance(record, dict):
        raise R.unreadable(rec)
    return record


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        raise TypeError
    return value


def _stored_row(
    rec: Record,
    state: SessionState,
    persons: Mapping[str, Mapping[str, Any]],
    draft_names: Mapping[str, str],
) -> WorkerRow:
    d = rec.data
    try:
        worker = d["worker"]
        status = WorkerStatus(d["status"])
        name = _text(worker["name"]) or ""
        person_no = _text(worker.get("person_no"))
        verdict = d.get("outcome")
        code = None if verdict is None else _text(verdict["code"])
        printed = _flag(d.get("confirmation_printed", False))
        form = _flag(d.get("form_received", False))
        handbook = _flag(d.get("handbook_received", False))
        row = WorkerRow(
            key=rec.key,
            name=name,
            person_no=person_no or _person_no(persons.get(rec.key)),
            state=_row_state(status, printed, form and handbook),
            status=status,
            in_latest_sync=rec.key in persons,
            verification_printed=state.verification.get(rec.key) == state.sync_no,
            confirmation_printed=printed,
            form_received=form,
            handbook_received=handbook,
            declaration=_text(d.get("declaration")),
            outcome_code=code,
            outcome_message="" if verdict is None else _text(verdict.get("message")) or "",
            outcome_message_zh="" if verdict is None else _text(verdict.get("message_zh")) or "",
            needs_window=status is WorkerStatus.FAILED and code in R.WINDOW_CODES,
            has_draft=rec.key in draft_names,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise R.unreadable(rec) from None
    return row


def _row_state(status: WorkerStatus, printed: bool, received: bool) -> str:
    if status is WorkerStatus.SUBMITTED:
        return "submitted"
    if status is WorkerStatus.ACCEPTED:
        return "succeeded"
    if status is WorkerStatus.FAILED:
        return "failed"
    if not printed:
        return "saved"
    return "signed" if received else "printed"


def _person_no(person: Mapping[str, Any] | None) -> str | None:
    """The person number of the bureau's record (``None``: none, or not text)."""
    found = None if person is None else person.get("person_no")
    return found if isinstance(found, str) and found else None


def _person_row(
    key: str, person: Mapping[str, Any], state: SessionState, draft_names: Mapping[str, str]
) -> WorkerRow:
    drafted = draft_names.get(key)
    name = person.get("name")
    return WorkerRow(
        key=key,
        name=drafted or (name if isinstance(name, str) else ""),
        person_no=_person_no(person),
        state="not-collected" if drafted is None else "incomplete",
        in_latest_sync=True,
        verification_printed=state.verification.get(key) == state.sync_no,
        has_draft=drafted is not None,
    )


# -- the bureau's record -------------------------------------------------------------------


def bureau_person(session: CollectionSession, key: str) -> BureauRecord | None:
    """The bureau's record of a worker (an identity number in any form) as the
    latest data sync returned it: the values a page shows beside the clerk's.
    ``None`` when the latest sync does not hold the person (or none was run)."""
    key = canonical_id(key)
    _open(session)
    with session.storage.transaction() as tx:
        sess = tx.get(RecordKind.SESSION, session.unit_no, R.SESSION_KEY)
        rec = tx.get(RecordKind.SYNCED, session.unit_no, key)
    if sess is None or rec is None or rec.data.get("sync_no") != sess.data.get("sync_no"):
        return None
    return R.bureau_record(key, rec.data)


def bureau_employer(session: CollectionSession) -> Employer | None:
    """The employer as the bureau holds it, from the latest data sync: what an
    employer form shows before the employer is collected ([P3.1]), and beside
    the clerk's values after. ``None`` before the start or the first sync, or
    when the bureau returned no employer record. A stored record that is not
    an employer raises :class:`~pension_collect.ports.storage.CorruptRecord`.
    Reads only."""
    _open(session)
    with session.storage.transaction() as tx:
        sess = tx.get(RecordKind.SESSION, session.unit_no, R.SESSION_KEY)
    found = None if sess is None else sess.data.get("bureau_employer")
    if found is None:
        return None
    return R.read_stored(found, Employer, RecordKind.SESSION, R.SESSION_KEY, "$.bureau_employer")


# -- drafts --------------------------------------------------------------------------------


def _draft_name(rec: Record) -> str | None:
    """The name of a kept draft, ``None`` for a discarded one."""
    worker = rec.data.get("worker")
    if worker is None:
        return None
    name = worker.get("name") if isinstance(worker, dict) else None
    if not isinstance(name, str):
        raise R.unreadable(rec)
    return name


def _audit(session: CollectionSession) -> Audit:
    return Audit(session.unit_no, session.actor, lambda: session.clock().isoformat())


def save_draft(session: CollectionSession, worker: Worker) -> str:
    """Keep ``worker`` as typed so far, unfinished parts and rule errors
    included (a part not collected yet is ``None``), replacing the worker's
    draft; returns its key. Not checked by the rules, never declared, never
    printed. The worker must be a person of the latest data sync or a stored
    worker (:class:`~pension_collect.workflow.PersonNotSynced`); the
    collection must be started (:class:`~pension_collect.workflow.NotStarted`).
    Audited (``draft.saved``: who, when, the draft)."""
    key = canonical_id(worker.id_number)
    data = {"worker": R.CONVERTER.unstructure(worker, Worker)}
    _open(session)
    audit = _audit(session)
    with session.storage.transaction() as tx:
        sess = G.require_started(tx.get(RecordKind.SESSION, session.unit_no, R.SESSION_KEY))
        synced = tx.get(RecordKind.SYNCED, session.unit_no, key)
        current = (
            (key,) if synced and synced.data.get("sync_no") == sess.data.get("sync_no") else ()
        )
        G.require_person(key, current, tx.get(RecordKind.WORKER, session.unit_no, key))
        old = tx.get(RecordKind.DRAFT, session.unit_no, key)
        tx.put_many(
            RecordKind.DRAFT, session.unit_no, [Write(key, data, 0 if old is None else old.version)]
        )
        tx.append_audit(
            [
                audit.entry(
                    "draft.saved",
                    RecordKind.DRAFT,
                    key,
                    "draft saved",
                    before=None if old is None or old.data.get("worker") is None else old.data,
                    after=data,
                )
            ]
        )
    return key


def draft(session: CollectionSession, key: str) -> Worker | None:
    """The draft kept for a worker (an identity number in any form), or ``None``."""
    key = canonical_id(key)
    _open(session)
    with session.storage.transaction() as tx:
        rec = tx.get(RecordKind.DRAFT, session.unit_no, key)
    if rec is None or rec.data.get("worker") is None:
        return None
    return R.read_stored(rec.data["worker"], Worker, RecordKind.DRAFT, key, "$.worker")


def discard_draft(session: CollectionSession, key: str) -> bool:
    """Drop a worker's draft; ``False`` when there was none. Call it after
    the worker was saved (:meth:`~pension_collect.workflow.CollectionSession.save_worker`):
    the save does not drop it. Audited (``draft.discarded``)."""
    key = canonical_id(key)
    _open(session)
    audit = _audit(session)
    with session.storage.transaction() as tx:
        old = tx.get(RecordKind.DRAFT, session.unit_no, key)
        if old is None or old.data.get("worker") is None:
            return False
        gone: dict[str, Any] = {"worker": None}
        tx.put(RecordKind.DRAFT, session.unit_no, key, gone, expected_version=old.version)
        tx.append_audit(
            [
                audit.entry(
                    "draft.discarded",
                    RecordKind.DRAFT,
                    key,
                    "draft discarded",
                    before=old.data,
                    after=gone,
                )
            ]
        )
    return True
