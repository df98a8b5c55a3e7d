"""What a collection session stores, and the mapping between it and records.

:class:`StoredWorker` and :class:`StoredDeclaration` are what the session's
queries return; :class:`WorkerStatus` is where a worker stands. The functions
below turn them (and the session's own state, the employer, the bureau's
synced persons) into the JSON-ready ``data`` of a
:class:`~pension_collect.ports.storage.Record` and back. Reading a record
that was damaged in the store raises
:class:`~pension_collect.ports.storage.CorruptRecord`, which says where.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

import attrs

from .._canonical import canonical_json
from .._privacy import keyed_repr, keys_repr
from ..dossier import make_converter, problems_of
from ..errors import Problem
from ..identity import canonical_id, mask
from ..model import BureauRecord, Employer, Worker, YearMonth
from ..ports.storage import AuditEntry, CorruptRecord, Record, RecordKind
from ..ports.transport import DeclarationKind, DeclarationState, WorkerOutcome
from ..rules import Finding, Report, Severity

__all__ = [
    "WINDOW_CODES",
    "Refusal",
    "SaveBatch",
    "SessionState",
    "StoredDeclaration",
    "StoredWorker",
    "WindowVisit",
    "WorkerStatus",
]

T = TypeVar("T")

CONVERTER = make_converter()
"""The converter the session stores model objects with."""

SESSION_KEY = "session"
"""The key of the one :attr:`~pension_collect.ports.storage.RecordKind.SESSION`
record of an employer."""

#: The bureau's outcome codes (docs/bureau.md) that only the bureau window can
#: clear: the person is unknown there, belongs to another employer, has an
#: identity number held by another person, an identity number or name only the
#: window may change ([P3.3a]), or a settled account ([P3.4e]). A worker failed
#: for one of them is collected again only after a window visit and a new data
#: sync ([P3.7]); any other failure (``bureau.rules``, ``bureau.format``: the
#: data itself) is corrected and saved again directly.
WINDOW_CODES: frozenset[str] = frozenset(
    {
        "bureau.unknown-person",
        "bureau.id-held-by-other",
        "bureau.other-employer",
        "bureau.window-only",
        "bureau.account-settled",
    }
)


class WorkerStatus(StrEnum):
    """Where a worker stands (the ``status`` of :class:`StoredWorker`).

    A string enum: stored as its value, equal to it (``WorkerStatus.FAILED ==
    "failed"``), read back as the member.
    """

    COLLECTED = "collected"
    """Saved, not yet declared (or collected again after a failure)."""
    SUBMITTED = "submitted"
    """In a declaration the bureau is processing."""
    ACCEPTED = "accepted"
    """The bureau processed the worker successfully."""
    FAILED = "failed"
    """The bureau failed the worker: collect again ([P3.7])."""


@attrs.frozen(kw_only=True, repr=False)
class StoredWorker:
    """A worker as the session stores it."""

    key: str
    version: int
    worker: Worker
    status: WorkerStatus = attrs.field(converter=WorkerStatus)
    """A :class:`WorkerStatus` (its string value is converted)."""
    warnings: tuple[Finding, ...] = ()
    """The rule warnings kept at the last save, with paths relative to the worker
    (``$.history[2]``)."""
    confirmation_printed: bool = False
    form_received: bool = False
    handbook_received: bool = False
    declaration: str | None = None
    """The declaration the worker was last submitted in."""
    outcome: WorkerOutcome | None = None
    """The bureau's last verdict (``succeeded``, ``code``, ``message``, ``message_zh``)."""
    failed_in: str | None = None
    """The declaration that failed the worker, while being collected again."""

    @property
    def needs_window(self) -> bool:
        """The bureau failed the worker for a reason only its window clears
        (:data:`WINDOW_CODES`): record the visit, sync, print a new verification
        form, then collect again ([P3.7])."""
        return (
            self.status is WorkerStatus.FAILED
            and self.outcome is not None
            and self.outcome.code in WINDOW_CODES
        )

    def __repr__(self) -> str:
        return (
            f"StoredWorker(key={mask(self.key)!r}, version={self.version}, "
            f"status={self.status.value!r})"
        )


@attrs.frozen(kw_only=True, repr=False)
class Refusal:
    """A worker of a batch save that was not saved, and why."""

    index: int
    """Its position in the batch (``$.workers[index]``)."""
    key: str | None
    """Its key (``None`` when its identity number is not valid)."""
    error: Exception
    """What refused it: a :class:`~pension_collect.workflow.WorkflowError`, a
    :class:`~pension_collect.ports.storage.ConflictError`, an
    :class:`~pension_collect.identity.InvalidIdentityNumber`."""

    def __repr__(self) -> str:
        key = None if self.key is None else mask(self.key)
        code = getattr(self.error, "code", type(self.error).__name__)
        return f"Refusal(index={self.index}, key={key!r}, error={code!r})"


@attrs.frozen(kw_only=True)
class SaveBatch:
    """What a batch save did (:meth:`CollectionSession.save_workers`)."""

    saved: tuple[StoredWorker, ...] = ()
    """The workers saved, each committed, in batch order."""
    refused: tuple[Refusal, ...] = ()
    """The workers not saved, in batch order."""


@attrs.frozen(kw_only=True)
class StoredDeclaration:
    """A declaration as the session stores it."""

    key: str
    """The session's name for it: ``employer-1``, ``workers-1``, ``workers-2`` ..."""
    version: int
    kind: DeclarationKind
    state: DeclarationState
    idempotency_key: str
    workers: tuple[str, ...] = attrs.field(default=(), repr=keys_repr)
    """The keys of the workers declared (identity numbers: masked in the repr)."""
    bureau_id: str | None = None
    linked_to: str | None = None
    outcomes: tuple[WorkerOutcome, ...] = ()
    message: str = ""
    message_zh: str = ""
    created_at: str = ""
    submitted_at: str | None = None
    concluded_at: str | None = None


# -- reading model objects ---------------------------------------------------------------


def read_stored(value: Any, cls: type[T], kind: RecordKind, key: str, path: str) -> T:
    """A model object kept in a record; :class:`CorruptRecord` says where it is
    damaged (a record edited by hand or by another program)."""
    try:
        result: T = CONVERTER.structure(value, cls)
    except Exception:
        problems = problems_of(value, cls, path=path) or [
            Problem(path, "cannot be read", "无法读取")
        ]
        raise CorruptRecord(kind, key, problems) from None
    return result


def unreadable(rec: Record) -> CorruptRecord:
    """The error for a record whose fields are not the shape this release writes."""
    return CorruptRecord(
        rec.kind,
        rec.key,
        [
            Problem(
                "$",
                "the record's fields do not have the shape this release writes",
                "记录的字段与本版本写入的结构不符",
            )
        ],
    )


# -- the session record --------------------------------------------------------------------


@attrs.frozen(kw_only=True, repr=False)
class WindowVisit:
    """A worker's visit to the bureau window, as the session recorded it ([P3.3a], [P3.7])."""

    key: str
    sync_no: int
    """The latest data sync when the visit was recorded: only a later sync shows
    what the window changed."""
    failed_in: str | None = None
    """The declaration whose failure the visit answers (``None``: a correction
    before the worker was declared)."""
    at: str = ""

    def __repr__(self) -> str:
        return f"WindowVisit(key={mask(self.key)!r}, sync_no={self.sync_no})"


@attrs.frozen(kw_only=True)
class SessionState:
    """Where the collection of one employer stands (:meth:`CollectionSession.state`)."""

    started_at: str
    started_by: str
    sync_no: int = 0
    """How many data syncs were run (0: none yet)."""
    synced_at: str | None = None
    needs_sync: bool = False
    """A window visit was recorded since the latest sync: sync before the next batch."""
    employer: Employer | None = None
    """The collected employer information."""
    employer_declaration: str | None = None
    """The session key of the employer declaration, once submitted."""
    verification: Mapping[str, int] = attrs.field(factory=dict, repr=keyed_repr)
    """Worker key -> the sync whose verification form was printed for them (from
    each person's marks record)."""
    window_visits: Mapping[str, WindowVisit] = attrs.field(factory=dict, repr=keyed_repr)
    """Worker key -> the latest window visit recorded for them (from each
    person's marks record)."""


def session_state(rec: Record, marks: Iterable[Record] = ()) -> SessionState:
    """The typed state of the session record and the marks records of its
    persons (:class:`CorruptRecord` when damaged)."""
    d = rec.data
    employer = None if d.get("employer") is None else employer_from(d)
    verification: dict[str, int] = {}
    visits: dict[str, WindowVisit] = {}
    for m in marks:
        printed, visit = marks_from(m)
        if printed is not None:
            verification[m.key] = printed
        if visit is not None:
            visits[m.key] = visit
    try:
        return SessionState(
            started_at=d["started_at"],
            started_by=d["started_by"],
            sync_no=int(d.get("sync_no", 0)),
            synced_at=d.get("synced_at"),
            needs_sync=bool(d.get("needs_sync", False)),
            employer=employer,
            employer_declaration=d.get("employer_declaration"),
            verification=verification,
            window_visits=visits,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise unreadable(rec) from None


def window_visit_data(visit: WindowVisit) -> dict[str, Any]:
    """A window visit as a marks record's ``window_visit`` holds it."""
    return {"sync_no": visit.sync_no, "failed_in": visit.failed_in, "at": visit.at}


def new_session_data(*, started_at: str, started_by: str) -> dict[str, Any]:
    """The session record's data when the collection starts. It holds nothing
    per person: what the session marks for a person is that person's marks
    record (:func:`marks_data`)."""
    return {
        "started_at": started_at,
        "started_by": started_by,
        "sync_no": 0,
        "synced_at": None,
        "needs_sync": False,
        "employer": None,
        "employer_declaration": None,
    }


# -- a person's marks ------------------------------------------------------------------------


def marks_data(verification: int | None, visit: WindowVisit | None) -> dict[str, Any]:
    """A :attr:`~pension_collect.ports.storage.RecordKind.MARKS` record's data:
    ``verification``, the sync the person's verification form was printed from
    (``None``: none printed), and ``window_visit``, the latest window visit
    recorded for them (``None``: none)."""
    return {
        "verification": verification,
        "window_visit": None if visit is None else window_visit_data(visit),
    }


def marks_from(rec: Record | None) -> tuple[int | None, WindowVisit | None]:
    """The verification sync and the window visit of a person's marks record
    (``(None, None)`` without one; :class:`CorruptRecord` when it is damaged)."""
    if rec is None:
        return None, None
    d = rec.data
    try:
        printed = d.get("verification")
        visit = d.get("window_visit")
        return (
            None if printed is None else _whole(printed),
            None if visit is None else _visit(rec.key, visit),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise unreadable(rec) from None


def _whole(value: Any) -> int:
    if type(value) is not int:
        raise TypeError
    return value


def _visit(key: str, v: Mapping[str, Any]) -> WindowVisit:
    failed_in, at = v.get("failed_in"), v.get("at", "")
    if not (failed_in is None or isinstance(failed_in, str)) or not isinstance(at, str):
        raise TypeError
    return WindowVisit(key=key, sync_no=_whole(v["sync_no"]), failed_in=failed_in, at=at)


OLD_SESSION_FIELDS = ("verification", "window_visits")
"""The session record's fields of releases before per-person marks records:
key -> sync of the printed verification form, key -> window visit."""


def old_session_marks(
    rec: Record, existing: Mapping[str, Record]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A session record of the old shape (:data:`OLD_SESSION_FIELDS`) split into
    the session record's new data and each person's marks data, laid over the
    person's ``existing`` marks record (:class:`CorruptRecord` when the old
    fields are damaged)."""
    d = rec.data
    try:
        verification = {str(k): _whole(v) for k, v in (d.get("verification") or {}).items()}
        visits = {str(k): _visit(str(k), v) for k, v in (d.get("window_visits") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise unreadable(rec) from None
    marks: dict[str, dict[str, Any]] = {}
    for key in sorted({*verification, *visits}):
        printed, visit = marks_from(existing.get(key))
        marks[key] = marks_data(verification.get(key, printed), visits.get(key, visit))
    session = {k: v for k, v in d.items() if k not in OLD_SESSION_FIELDS}
    return session, marks


def has_old_shape(data: Mapping[str, Any]) -> bool:
    """The session record still holds the per-person fields of an older release."""
    return any(f in data for f in OLD_SESSION_FIELDS)


def employer_data(employer: Employer) -> dict[str, Any]:
    """The employer as the session record holds it."""
    data: dict[str, Any] = CONVERTER.unstructure(employer, Employer)
    return data


def employer_from(sess: Mapping[str, Any]) -> Employer:
    """The collected employer of the session record's data."""
    return read_stored(sess["employer"], Employer, RecordKind.SESSION, SESSION_KEY, "$.employer")


# -- synced persons ------------------------------------------------------------------------


def synced_key(person: Mapping[str, Any]) -> str:
    """The key a person of a data sync is stored under."""
    return canonical_id(str(person.get("id_number") or person.get("person_no")))


def synced_data(sync_no: int, person: dict[str, Any]) -> dict[str, Any]:
    """A synced person's record data: the bureau's record and the sync it came from."""
    return {"sync_no": sync_no, "record": person}


def bureau_record(key: str, data: Mapping[str, Any]) -> BureauRecord:
    """The bureau's record of a synced person's record data."""
    return read_stored(data["record"], BureauRecord, RecordKind.SYNCED, key, "$.record")


def worker_from_bureau(key: str, bureau: BureauRecord) -> Worker:
    """A worker not collected yet, as the bureau holds them (for a verification form)."""
    return Worker(
        id_number=bureau.id_number or key,
        name=bureau.name or "-",
        first_work=bureau.first_work or YearMonth(1900, 1),
        person_no=bureau.person_no,
        gender=bureau.gender,
        birth_date=bureau.birth_date,
        bureau=bureau,
    )


# -- workers -------------------------------------------------------------------------------


def worker_data(sw: StoredWorker) -> dict[str, Any]:
    """A stored worker's record data (the status as its plain string value).

    The worker is kept without the bureau's record it was checked against
    (half of a worker's data): the person's synced record holds it, and the
    session's queries give it back from there (:meth:`~pension_collect.workflow.
    CollectionSession.worker`); records written by earlier releases, which
    hold it inline, are read as they are."""
    worker = sw.worker if sw.worker.bureau is None else attrs.evolve(sw.worker, bureau=None)
    return {
        "worker": CONVERTER.unstructure(worker, Worker),
        "status": sw.status.value,
        "warnings": findings_data(sw.warnings),
        "confirmation_printed": sw.confirmation_printed,
        "form_received": sw.form_received,
        "handbook_received": sw.handbook_received,
        "declaration": sw.declaration,
        "outcome": None if sw.outcome is None else verdict_data(sw.outcome),
        "failed_in": sw.failed_in,
    }


def worker_from(rec: Record) -> StoredWorker:
    """The stored worker of a record (:class:`CorruptRecord` when it is damaged)."""
    d = rec.data
    worker = read_stored(d.get("worker"), Worker, rec.kind, rec.key, "$.worker")
    try:
        return _stored_worker(rec, d, worker)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise unreadable(rec) from None


def status_of(rec: Record) -> WorkerStatus:
    """A worker record's status alone (:class:`CorruptRecord` when it is not one
    of :class:`WorkerStatus`), for a step that needs no more of the record."""
    status = rec.data.get("status")
    if type(status) is str:
        try:
            return WorkerStatus(status)
        except ValueError:
            pass
    raise unreadable(rec)


def _stored_worker(rec: Record, d: dict[str, Any], worker: Worker) -> StoredWorker:
    verdict = d.get("outcome")
    return StoredWorker(
        key=rec.key,
        version=rec.version,
        worker=worker,
        status=d["status"],
        warnings=tuple(finding_from(f) for f in d.get("warnings", ())),
        confirmation_printed=d.get("confirmation_printed", False),
        form_received=d.get("form_received", False),
        handbook_received=d.get("handbook_received", False),
        declaration=d.get("declaration"),
        outcome=None if verdict is None else WorkerOutcome(key=rec.key, **verdict),
        failed_in=d.get("failed_in"),
    )


def verdict_data(outcome: WorkerOutcome) -> dict[str, Any]:
    """The bureau's verdict as a worker record keeps it (:attr:`StoredWorker.outcome`)."""
    return {
        "succeeded": outcome.succeeded,
        "code": outcome.code,
        "message": outcome.message,
        "message_zh": outcome.message_zh,
    }


_NO_MONTH = YearMonth(2000, 1)


def findings_data(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Rule findings in the validation report's JSON form (docs/report.md), as a
    worker record keeps its warnings (no personal data)."""
    # The report's own serialisation, so stored findings read like a report's;
    # a report's month plays no part in its findings' form.
    report = Report(
        rule_pack="", as_of=_NO_MONTH, findings=tuple(findings), segments=(), workers=()
    )
    out: list[dict[str, Any]] = report.to_dict()["findings"]
    return out


def finding_from(d: Mapping[str, Any]) -> Finding:
    """A finding of :func:`findings_data` read back (``expected`` and ``fix`` in
    their JSON form)."""
    return Finding(
        code=d["code"],
        severity=Severity(d["severity"]),
        path=d["path"],
        message=d["message"],
        message_zh=d["message_zh"],
        procedure=d.get("procedure"),
        related=d.get("related"),
        expected=d.get("expected"),
        fix=d.get("fix"),
        field=d.get("field"),
    )


def rebased(f: Finding, index: int | None) -> Finding:
    """A finding of :func:`~pension_collect.rules.check_worker` run with index 0,
    with its paths where the caller has the worker: ``$.workers[index]...`` or,
    without an index, relative to the worker (``$.history[2]``)."""
    root = "$" if index is None else f"$.workers[{index}]"
    related = None if f.related is None else _rebase(f.related, root)
    return attrs.evolve(f, path=_rebase(f.path, root), related=related)


def _rebase(path: str, root: str) -> str:
    prefix = "$.workers[0]"
    if path == prefix or path.startswith((prefix + ".", prefix + "[")):
        return root + path[len(prefix) :]
    return path


# -- declarations --------------------------------------------------------------------------


def declaration_data(sd: StoredDeclaration) -> dict[str, Any]:
    """A stored declaration's record data."""
    return {
        "kind": sd.kind.value,
        "state": sd.state.value,
        "idempotency_key": sd.idempotency_key,
        "workers": list(sd.workers),
        "bureau_id": sd.bureau_id,
        "linked_to": sd.linked_to,
        "outcomes": [o.to_dict() for o in sd.outcomes],
        "message": sd.message,
        "message_zh": sd.message_zh,
        "created_at": sd.created_at,
        "submitted_at": sd.submitted_at,
        "concluded_at": sd.concluded_at,
    }


def declaration_from(rec: Record) -> StoredDeclaration:
    """The stored declaration of a record (:class:`CorruptRecord` when it is damaged)."""
    try:
        return _stored_declaration(rec, rec.data)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise unreadable(rec) from None


def _stored_declaration(rec: Record, d: dict[str, Any]) -> StoredDeclaration:
    return StoredDeclaration(
        key=rec.key,
        version=rec.version,
        kind=DeclarationKind(d["kind"]),
        state=DeclarationState(d["state"]),
        idempotency_key=d["idempotency_key"],
        workers=tuple(d.get("workers", ())),
        bureau_id=d.get("bureau_id"),
        linked_to=d.get("linked_to"),
        outcomes=tuple(WorkerOutcome.from_dict(o) for o in d.get("outcomes", ())),
        message=d.get("message", ""),
        message_zh=d.get("message_zh", ""),
        created_at=d.get("created_at", ""),
        submitted_at=d.get("submitted_at"),
        concluded_at=d.get("concluded_at"),
    )


def workers_payload(batch: Iterable[StoredWorker]) -> dict[str, Any]:
    """What a workers' declaration sends the bureau: each worker without the
    bureau's own record."""
    return {
        "workers": [
            {
                "key": w.key,
                "worker": CONVERTER.unstructure(attrs.evolve(w.worker, bureau=None), Worker),
            }
            for w in batch
        ]
    }


def declaration_order(key: str) -> tuple[str, int]:
    """Sort key of session declaration keys: ``workers-2`` before ``workers-10``."""
    kind, _, n = key.rpartition("-")
    return (kind, int(n) if n.isdigit() else 0)


# -- submitting exactly what was signed ------------------------------------------------------

CONFIRMATION_FIELD = "confirmation"
"""The field of a worker record that holds what its confirmation form printed:
``{"digest": <32 hex digits>, "print_until": "YYYY-MM" | None}`` (the digest
is :func:`~pension_collect.ports.forms.printed_digest`, the one in the form's
QR code; its first 8 digits are printed as 校验码). Saving the worker again
leaves it out: the print is stale."""


def payload_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a declaration's payload as canonical JSON: what a draft
    stores and its ``declaration.created`` audit entry logs, so a draft resent
    after a crash is checked to be the one created."""
    digest = hashlib.sha256()
    workers = payload.get("workers") if len(payload) == 1 else None
    if type(workers) is list:
        # a workers' declaration, a worker at a time: the same bytes as the
        # whole text at once, without holding it (60 MB at 20,000 workers)
        digest.update(b'{"workers":[')
        for i, item in enumerate(workers):
            if i:
                digest.update(b",")
            digest.update(canonical_json(item))
        digest.update(b"]}")
    else:
        digest.update(canonical_json(payload))
    return digest.hexdigest()


def logged_worker_data(trail: Sequence[AuditEntry]) -> dict[str, Any] | None:
    """A worker record's data as its audit log (oldest first) gives it: the
    ``after`` of the latest ``worker.saved`` entry (the whole record) with the
    ``after`` of each later entry laid over it (every step that changes a
    worker record logs the fields it sets). ``None`` without a save."""
    data: dict[str, Any] | None = None
    for entry in trail:
        if entry.action == "worker.saved":
            data = dict(entry.after or {})
        elif data is not None and entry.after:
            data.update(entry.after)
    return data
