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

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

import attrs

from ..dossier import make_converter, problems_of
from ..errors import Problem
from ..identity import canonical_id, mask
from ..model import BureauRecord, Employer, Worker, YearMonth
from ..ports.storage import CorruptRecord, Record, RecordKind
from ..ports.transport import DeclarationKind, DeclarationState, WorkerOutcome
from ..rules import Finding

__all__ = ["StoredDeclaration", "StoredWorker", "WorkerStatus"]

T = TypeVar("T")

CONVERTER = make_converter()
"""The converter the session stores model objects with."""

SESSION_KEY = "session"
"""The key of the one :attr:`~pension_collect.ports.storage.RecordKind.SESSION`
record of an employer."""


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
    warnings: tuple[dict[str, Any], ...] = ()
    confirmation_printed: bool = False
    form_received: bool = False
    handbook_received: bool = False
    declaration: str | None = None
    """The declaration the worker was last submitted in."""
    outcome: dict[str, Any] | None = None
    """The bureau's last verdict: ``succeeded``, ``code``, ``message``, ``message_zh``."""
    failed_in: str | None = None
    """The declaration that failed the worker, while being collected again."""

    def __repr__(self) -> str:
        return (
            f"StoredWorker(key={mask(self.key)!r}, version={self.version}, "
            f"status={self.status.value!r})"
        )


@attrs.frozen(kw_only=True)
class StoredDeclaration:
    """A declaration as the session stores it."""

    key: str
    """The session's name for it: ``employer-1``, ``workers-1``, ``workers-2`` ..."""
    version: int
    kind: DeclarationKind
    state: DeclarationState
    idempotency_key: str
    workers: tuple[str, ...] = ()
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


def new_session_data(*, started_at: str, started_by: str) -> dict[str, Any]:
    """The session record's data when the collection starts."""
    return {
        "started_at": started_at,
        "started_by": started_by,
        "sync_no": 0,
        "synced_at": None,
        "needs_sync": False,
        "employer": None,
        "employer_declaration": None,
        "verification": {},
    }


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
    """A stored worker's record data (the status as its plain string value)."""
    return {
        "worker": CONVERTER.unstructure(sw.worker, Worker),
        "status": sw.status.value,
        "warnings": list(sw.warnings),
        "confirmation_printed": sw.confirmation_printed,
        "form_received": sw.form_received,
        "handbook_received": sw.handbook_received,
        "declaration": sw.declaration,
        "outcome": sw.outcome,
        "failed_in": sw.failed_in,
    }


def worker_from(rec: Record) -> StoredWorker:
    """The stored worker of a record (:class:`CorruptRecord` when it is damaged)."""
    d = rec.data
    worker = read_stored(d.get("worker"), Worker, rec.kind, rec.key, "$.worker")
    try:
        return _stored_worker(rec, d, worker)
    except (KeyError, TypeError, ValueError):
        raise unreadable(rec) from None


def _stored_worker(rec: Record, d: dict[str, Any], worker: Worker) -> StoredWorker:
    return StoredWorker(
        key=rec.key,
        version=rec.version,
        worker=worker,
        status=d["status"],
        warnings=tuple(d.get("warnings", ())),
        confirmation_printed=d.get("confirmation_printed", False),
        form_received=d.get("form_received", False),
        handbook_received=d.get("handbook_received", False),
        declaration=d.get("declaration"),
        outcome=d.get("outcome"),
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


def finding_dict(f: Finding) -> dict[str, Any]:
    """A rule finding as warnings and error details hold it (no personal data)."""
    return {
        "code": f.code,
        "severity": f.severity.value,
        "path": f.path,
        "procedure": f.procedure,
        "message": f.message,
        "message_zh": f.message_zh,
    }


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
