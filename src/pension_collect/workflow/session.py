"""The collection session: one employer carried through [P3] .. [P3.7].

A :class:`CollectionSession` is a state machine over storage: every step reads
what earlier steps stored, checks its guard (raising a typed
:class:`~pension_collect.workflow.errors.WorkflowError` that names the
paragraph), and commits its change and its audit entries in one transaction.
Storage, the bureau transport and form renderers are reached only through
what the caller passes in and the plugin host.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from ..dossier import make_converter, problems_of
from ..errors import Problem
from ..identity import canonical_id, mask
from ..model import BureauRecord, Dossier, Employer, Worker, YearMonth
from ..plugins import PluginHost
from ..ports.events import DeclarationConcluded, DeclarationSubmitted, WorkerSaved
from ..ports.storage import (
    AuditEntry,
    CorruptRecord,
    Record,
    RecordKind,
    Storage,
    Transaction,
    Write,
)
from ..ports.transport import (
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    SyncResult,
    Transport,
    WorkerOutcome,
)
from ..rules import Finding, RulePack, check_worker
from . import guards as E
from .printing import FormsPrinted, render_form

__all__ = [
    "CONFIRMATION_COPIES",
    "CollectionSession",
    "StoredDeclaration",
    "StoredWorker",
    "WorkerStatus",
]

_CONV = make_converter()
T = TypeVar("T")
_SESSION_KEY = "session"
#: [P3.5]: the confirmation form is printed in three copies.
CONFIRMATION_COPIES = 3


class WorkerStatus:
    """Where a worker stands (the ``status`` of :class:`StoredWorker`)."""

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
    status: str
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
            f"StoredWorker(key={mask(self.key)!r}, version={self.version}, status={self.status!r})"
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


def _stored(value: Any, cls: type[T], kind: RecordKind, key: str, path: str) -> T:
    """A model object kept in a record; :class:`CorruptRecord` says where it is
    damaged (a record edited by hand or by another program)."""
    try:
        result: T = _CONV.structure(value, cls)
    except Exception:
        problems = problems_of(value, cls, path=path) or [
            Problem(path, "cannot be read", "无法读取")
        ]
        raise CorruptRecord(kind, key, problems) from None
    return result


def _unreadable(rec: Record) -> CorruptRecord:
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


def _worker_data(sw: StoredWorker) -> dict[str, Any]:
    return {
        "worker": _CONV.unstructure(sw.worker, Worker),
        "status": sw.status,
        "warnings": list(sw.warnings),
        "confirmation_printed": sw.confirmation_printed,
        "form_received": sw.form_received,
        "handbook_received": sw.handbook_received,
        "declaration": sw.declaration,
        "outcome": sw.outcome,
        "failed_in": sw.failed_in,
    }


def _worker_from(rec: Record) -> StoredWorker:
    d = rec.data
    worker = _stored(d.get("worker"), Worker, rec.kind, rec.key, "$.worker")
    try:
        return _stored_worker(rec, d, worker)
    except (KeyError, TypeError, ValueError):
        raise _unreadable(rec) from None


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


def _decl_data(sd: StoredDeclaration) -> dict[str, Any]:
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


def _decl_from(rec: Record) -> StoredDeclaration:
    try:
        return _stored_declaration(rec, rec.data)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _unreadable(rec) from None


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


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "path": f.path,
        "procedure": f.procedure,
        "message": f.message,
        "message_zh": f.message_zh,
    }


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


class CollectionSession:
    """The collection of one employer (``unit_no``) over a store and a bureau transport.

    ``actor`` is who does the steps (written to the audit log); ``host`` the
    plugin host (rule packs, renderers, event hooks; default: a new
    :class:`~pension_collect.plugins.PluginHost` with every installed plugin, as
    the facade's functions use);
    ``pack`` the rule pack or its name; ``as_of`` the collection month for the
    rules (default: the clock's month); ``clock`` the time source (tests).

    Workers are keyed by their 18-digit identity number (:meth:`key_of`).
    Saving a worker that exists needs the version last read: the session
    remembers the versions it read or wrote; pass ``expected_version`` to
    override. A stale version raises :class:`~pension_collect.storage.ConflictError`.
    """

    def __init__(
        self,
        storage: Storage,
        transport: Transport,
        *,
        unit_no: str,
        actor: str = "clerk",
        host: PluginHost | None = None,
        pack: RulePack | str | None = None,
        as_of: YearMonth | None = None,
        clock: Callable[[], _dt.datetime] = _utc_now,
    ) -> None:
        self.storage = storage
        self.transport = transport
        self.unit_no = unit_no
        self.actor = actor
        self.host = host if host is not None else PluginHost()
        self._pack = pack if isinstance(pack, RulePack) else self.host.rule_pack(pack)
        self.as_of = as_of
        self.clock = clock
        self._seen: dict[str, int] = {}

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def key_of(worker: Worker) -> str:
        """The storage key of a worker: its identity number in 18-character form."""
        return canonical_id(worker.id_number)

    def _now(self) -> str:
        return self.clock().isoformat()

    def _entry(
        self,
        action: str,
        subject_kind: RecordKind,
        subject_key: str,
        message: str,
        *,
        declaration: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            at=self._now(),
            actor=self.actor,
            unit_no=self.unit_no,
            action=action,
            subject_kind=subject_kind,
            subject_key=subject_key,
            message=message,
            declaration=declaration,
            before=before,
            after=after,
        )

    def _session(self, tx: Transaction) -> Record:
        rec = tx.get(RecordKind.SESSION, self.unit_no, _SESSION_KEY)
        if rec is None:
            raise E.NotStarted()
        return rec

    def _put_session(self, tx: Transaction, rec: Record, data: dict[str, Any]) -> None:
        tx.put(RecordKind.SESSION, self.unit_no, _SESSION_KEY, data, expected_version=rec.version)

    def _synced(self, tx: Transaction, sess: dict[str, Any]) -> None:
        if not sess.get("sync_no"):
            raise E.SyncFirst()
        if sess.get("needs_sync"):
            raise E.SyncRequired()

    # -- queries ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The session's stored state (started, sync number, employer, ...); ``{}``
        before :meth:`start`."""
        with self.storage.transaction() as tx:
            rec = tx.get(RecordKind.SESSION, self.unit_no, _SESSION_KEY)
            return {} if rec is None else rec.data

    def worker(self, key: str) -> StoredWorker:
        """A stored worker (remembering its version for the next save)."""
        with self.storage.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, self.unit_no, key)
        if rec is None:
            raise E.UnknownWorker(keys=[key])
        self._seen[key] = rec.version
        return _worker_from(rec)

    def workers(self) -> list[StoredWorker]:
        """Every stored worker, by key."""
        with self.storage.transaction() as tx:
            recs = tx.list(RecordKind.WORKER, self.unit_no)
        for rec in recs:
            self._seen[rec.key] = rec.version
        return [_worker_from(r) for r in recs]

    def declaration(self, key: str) -> StoredDeclaration:
        """A stored declaration by its session key."""
        with self.storage.transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, key)
        if rec is None:
            raise LookupError(f"no declaration {key!r}")
        return _decl_from(rec)

    def declarations(self) -> list[StoredDeclaration]:
        """Every declaration of the session, in the order they were made."""
        with self.storage.transaction() as tx:
            recs = tx.list(RecordKind.DECLARATION, self.unit_no)
        decls = [_decl_from(r) for r in recs]
        return sorted(decls, key=lambda d: (d.created_at, d.key))

    def audit(
        self, *, worker: str | None = None, declaration: str | None = None
    ) -> list[AuditEntry]:
        """The audit log of the session, or of one worker (key) or declaration (key)."""
        with self.storage.transaction() as tx:
            if worker is not None:
                return tx.audit(self.unit_no, subject=(RecordKind.WORKER, worker))
            return tx.audit(self.unit_no, declaration=declaration)

    def failed_workers(self) -> list[str]:
        """Keys of the workers the bureau failed and that are not collected again yet."""
        return [w.key for w in self.workers() if w.status == WorkerStatus.FAILED]

    # -- [P3] start -----------------------------------------------------------------

    def start(self) -> None:
        """[P3] Start data-quality work: only when the bureau shows no declaration
        of this employer in draft, submitted or processing."""
        pending = self.transport.pending_declarations(self.unit_no)
        if pending:
            raise E.PendingDeclaration(details=[p.id for p in pending])
        with self.storage.transaction() as tx:
            if tx.get(RecordKind.SESSION, self.unit_no, _SESSION_KEY) is not None:
                return  # already started: starting again is harmless
            data = {
                "started_at": self._now(),
                "started_by": self.actor,
                "sync_no": 0,
                "synced_at": None,
                "needs_sync": False,
                "employer": None,
                "employer_declaration": None,
                "verification": {},
            }
            tx.put(RecordKind.SESSION, self.unit_no, _SESSION_KEY, data, expected_version=0)
            tx.append_audit(
                [
                    self._entry(
                        "session.started", RecordKind.SESSION, _SESSION_KEY, "collection started"
                    )
                ]
            )

    # -- [P3.1] sync and employer ------------------------------------------------------

    def sync(self) -> SyncResult:
        """[P3.1] 数据同步: store the bureau's current records for the employer."""
        with self.storage.transaction() as tx:
            self._session(tx)
        result = self.transport.sync(self.unit_no)
        with self.storage.transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            sync_no = int(sess.get("sync_no", 0)) + 1
            existing = {r.key: r.version for r in tx.list(RecordKind.SYNCED, self.unit_no)}
            writes = []
            for person in result.persons:
                key = canonical_id(str(person.get("id_number") or person.get("person_no")))
                data = {"sync_no": sync_no, "record": person}
                writes.append(Write(key, data, existing.get(key, 0)))
            tx.put_many(RecordKind.SYNCED, self.unit_no, writes)
            sess.update(
                sync_no=sync_no,
                synced_at=result.at,
                needs_sync=False,
                bureau_employer=result.employer,
            )
            self._put_session(tx, rec, sess)
            tx.append_audit(
                [
                    self._entry(
                        "session.synced",
                        RecordKind.SESSION,
                        _SESSION_KEY,
                        f"data sync {sync_no}: {len(result.persons)} persons",
                    )
                ]
            )
        return result

    def collect_employer(self, employer: Employer) -> None:
        """[P3.1] 单位信息采集: store the employer information (after a sync)."""
        if employer.unit_no != self.unit_no:
            raise E.WorkflowError("the employer information names another unit number")
        with self.storage.transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            self._synced(tx, sess)
            before = sess.get("employer")
            sess["employer"] = _CONV.unstructure(employer, Employer)
            self._put_session(tx, rec, sess)
            tx.append_audit(
                [
                    self._entry(
                        "employer.collected",
                        RecordKind.SESSION,
                        _SESSION_KEY,
                        "employer information collected",
                        before=before,
                        after=sess["employer"],
                    )
                ]
            )

    def submit_employer_declaration(self) -> StoredDeclaration:
        """[P3.1] Submit the employer-information declaration (allowed at once)."""
        with self.storage.transaction() as tx:
            sess = self._session(tx).data
            self._synced(tx, sess)
            if sess.get("employer") is None:
                raise E.EmployerFirst("collect the employer information first", "请先采集单位信息")
            payload = {"employer": sess["employer"]}
        return self._submit(DeclarationKind.EMPLOYER, payload, workers=(), linked_to=None)

    # -- [P3.2] verification forms -------------------------------------------------------

    def print_verification_forms(
        self, keys: Iterable[str] | None = None, *, out_dir: str | Path | None = None
    ) -> FormsPrinted:
        """[P3.2] Print verification forms (核对表) for the selected workers (by key;
        default: every person of the latest sync) and record them as printed."""
        with self.storage.transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            self._synced(tx, sess)
            if sess.get("employer") is None:
                raise E.EmployerFirst()
            synced = {r.key: r.data for r in tx.list(RecordKind.SYNCED, self.unit_no)}
            current = {k: v for k, v in synced.items() if v["sync_no"] == sess["sync_no"]}
            selected = sorted(current) if keys is None else [canonical_id(k) for k in keys]
        dossier = self._form_dossier(sess, selected, current)
        printed = render_form(
            self.host,
            "verification",
            dossier,
            pack=self._pack,
            out_dir=out_dir,
            workers=len(selected),
        )
        with self.storage.transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            verification = dict(sess.get("verification", {}))
            for key in selected:
                verification[key] = sess["sync_no"]
            sess["verification"] = verification
            self._put_session(tx, rec, sess)
            tx.append_audit(
                [
                    self._entry(
                        "forms.verification",
                        RecordKind.SESSION,
                        _SESSION_KEY,
                        f"verification forms printed for {len(selected)} workers",
                    )
                ]
            )
        return printed

    def _form_dossier(
        self, sess: dict[str, Any], keys: Sequence[str], synced: dict[str, Any]
    ) -> Dossier:
        employer = _stored(
            sess["employer"], Employer, RecordKind.SESSION, _SESSION_KEY, "$.employer"
        )
        workers = []
        with self.storage.transaction() as tx:
            for key in keys:
                rec = tx.get(RecordKind.WORKER, self.unit_no, key)
                if rec is not None:
                    workers.append(_worker_from(rec).worker)
                    continue
                person = synced.get(key, {}).get("record")
                if person is None:
                    continue
                bureau = _stored(person, BureauRecord, RecordKind.SYNCED, key, "$.record")
                workers.append(
                    Worker(
                        id_number=bureau.id_number or key,
                        name=bureau.name or "-",
                        first_work=bureau.first_work or YearMonth(1900, 1),
                        person_no=bureau.person_no,
                        gender=bureau.gender,
                        birth_date=bureau.birth_date,
                        bureau=bureau,
                    )
                )
        return Dossier(employer=employer, workers=tuple(workers), as_of=self._as_of())

    def _as_of(self) -> YearMonth:
        return self.as_of or YearMonth.of(self.clock().date())

    # -- [P3.3a] window corrections -------------------------------------------------------

    def record_window_visit(self, key: str, note: str = "") -> None:
        """[P3.3a]/[P3.4e] A worker had data corrected at the bureau window: a new
        data sync (and new verification forms) is required before the next batch.
        ``note`` must not hold a name or identity number."""
        with self.storage.transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            sess["needs_sync"] = True
            self._put_session(tx, rec, sess)
            tx.append_audit(
                [
                    self._entry(
                        "worker.window-visit",
                        RecordKind.WORKER,
                        key,
                        "correction at the bureau window" + (f": {note}" if note else ""),
                    )
                ]
            )

    # -- [P3.4] collect and save ---------------------------------------------------------

    def save_worker(self, worker: Worker, *, expected_version: int | None = None) -> StoredWorker:
        """[P3.4] Save a worker's collection: all three parts collected [P3.4f],
        no identity-number or name change [P3.3a], no rule error (warnings are
        kept), verification form printed since the latest sync [P3.2]."""
        key = self.key_of(worker)
        if worker.history is None or worker.account is None:
            missing = [p for p in ("history", "account") if getattr(worker, p) is None]
            raise E.IncompleteWorker(keys=[key], details=missing)
        with self.storage.transaction() as tx:
            sess = self._session(tx).data
            self._synced(tx, sess)
            if sess.get("verification", {}).get(key) != sess["sync_no"]:
                raise E.VerificationFormMissing(keys=[key])
            synced = tx.get(RecordKind.SYNCED, self.unit_no, key)
            bureau: BureauRecord | None = None
            if synced is not None and synced.data["sync_no"] == sess["sync_no"]:
                bureau = _stored(
                    synced.data["record"], BureauRecord, RecordKind.SYNCED, key, "$.record"
                )
            elif worker.person_no:
                self._check_person_no(tx, sess, worker, key)
            if bureau is not None and bureau.name is not None and bureau.name != worker.name:
                raise E.WindowOnlyChange(keys=[key], details=["name"])
            checked = attrs.evolve(
                worker,
                bureau=bureau,
                person_no=worker.person_no or (bureau.person_no if bureau else None),
            )
            findings = check_worker(checked, pack=self._pack, as_of=self._as_of())
            errors = [f for f in findings if f.is_error]
            if errors:
                if any(f.code == "person.window-only-change" for f in errors):
                    raise E.WindowOnlyChange(keys=[key], details=[_finding_dict(f) for f in errors])
                codes = ", ".join(sorted({f.code for f in errors}))
                raise E.RuleErrors(
                    f"the data has errors ({codes}); correct them and save again",
                    f"数据有错误({codes}),请更正后再保存",
                    keys=[key],
                    details=[_finding_dict(f) for f in errors],
                )
            warnings = tuple(_finding_dict(f) for f in findings if not f.is_error)
            old = tx.get(RecordKind.WORKER, self.unit_no, key)
            failed_in = None
            if old is not None:
                prev = _worker_from(old)
                if prev.status == WorkerStatus.SUBMITTED:
                    raise E.WorkerLocked(keys=[key])
                if prev.status == WorkerStatus.ACCEPTED:
                    raise E.AlreadyAccepted(keys=[key])
                failed_in = prev.failed_in or (
                    prev.declaration if prev.status == WorkerStatus.FAILED else None
                )
            expected = expected_version
            if expected is None:
                expected = self._seen.get(key, 0)
            stored = StoredWorker(
                key=key,
                version=expected + 1,
                worker=checked,
                status=WorkerStatus.COLLECTED,
                warnings=warnings,
                failed_in=failed_in,
                declaration=None if old is None else _worker_from(old).declaration,
            )
            data = _worker_data(stored)
            new = tx.put(RecordKind.WORKER, self.unit_no, key, data, expected_version=expected)
            n_warn = len(warnings)
            tx.append_audit(
                [
                    self._entry(
                        "worker.saved",
                        RecordKind.WORKER,
                        key,
                        f"worker collection saved as version {new.version}"
                        + (f" ({n_warn} warning{'s' if n_warn != 1 else ''})" if n_warn else "")
                        + (" (collected again)" if failed_in else ""),
                        declaration=failed_in,
                        before=None if old is None else old.data,
                        after=data,
                    )
                ]
            )
        self._seen[key] = new.version
        self.host.worker_saved(
            WorkerSaved(
                unit_no=self.unit_no,
                key=key,
                version=new.version,
                actor=self.actor,
                warnings=tuple(w["code"] for w in warnings),
            )
        )
        return attrs.evolve(stored, version=new.version)

    def _check_person_no(
        self, tx: Transaction, sess: dict[str, Any], worker: Worker, key: str
    ) -> None:
        for rec in tx.list(RecordKind.SYNCED, self.unit_no):
            person = rec.data["record"]
            if rec.data["sync_no"] == sess["sync_no"] and person.get("person_no") == (
                worker.person_no
            ):
                if rec.key != key:
                    raise E.WindowOnlyChange(keys=[key], details=["id_number"])
                return

    # -- [P3.5] confirmation forms and [P3.4g] receipts -----------------------------------------

    def print_confirmation_forms(
        self, keys: Iterable[str] | None = None, *, out_dir: str | Path | None = None
    ) -> FormsPrinted:
        """[P3.5] Print confirmation forms (确认表, 3 copies) of collected workers
        (default: every worker collected and not yet declared)."""
        with self.storage.transaction() as tx:
            sess = self._session(tx).data
            recs = {r.key: _worker_from(r) for r in tx.list(RecordKind.WORKER, self.unit_no)}
        if keys is None:
            selected = [k for k, sw in recs.items() if sw.status == WorkerStatus.COLLECTED]
        else:
            selected = [canonical_id(k) for k in keys]
        missing = [k for k in selected if k not in recs]
        if missing:
            raise E.UnknownWorker(keys=missing)
        dossier = Dossier(
            employer=_stored(
                sess["employer"], Employer, RecordKind.SESSION, _SESSION_KEY, "$.employer"
            ),
            workers=tuple(recs[k].worker for k in selected),
            as_of=self._as_of(),
        )
        printed = render_form(
            self.host,
            "confirmation",
            dossier,
            pack=self._pack,
            out_dir=out_dir,
            copies=CONFIRMATION_COPIES,
        )
        self._mark(
            selected,
            "forms.confirmation",
            f"confirmation form printed ({CONFIRMATION_COPIES} copies)",
            {"confirmation_printed": True},
        )
        return printed

    def print_summary_sheet(self, *, out_dir: str | Path | None = None) -> FormsPrinted:
        """[P3.6] Print the summary sheet (汇总表) of the confirmation forms handed in."""
        with self.storage.transaction() as tx:
            sess = self._session(tx).data
            recs = tx.list(RecordKind.WORKER, self.unit_no)
        workers = tuple(
            sw.worker
            for sw in map(_worker_from, recs)
            if sw.status == WorkerStatus.COLLECTED and sw.form_received
        )
        dossier = Dossier(
            employer=_stored(
                sess["employer"], Employer, RecordKind.SESSION, _SESSION_KEY, "$.employer"
            ),
            workers=workers,
            as_of=self._as_of(),
        )
        return render_form(self.host, "summary", dossier, pack=self._pack, out_dir=out_dir)

    def record_received(
        self, keys: Iterable[str], *, form: bool = True, handbook: bool = True
    ) -> None:
        """[P3.4g] Record each worker's signed confirmation form and/or handbook as
        received. The form must have been printed for the worker's current data."""
        selected = [canonical_id(k) for k in keys]
        with self.storage.transaction() as tx:
            self._session(tx)
            not_printed = []
            for key in selected:
                rec = tx.get(RecordKind.WORKER, self.unit_no, key)
                if rec is None:
                    raise E.UnknownWorker(keys=[key])
                if not _worker_from(rec).confirmation_printed:
                    not_printed.append(key)
            if not_printed:
                raise E.ConfirmationFormMissing(keys=not_printed)
        changes: dict[str, Any] = {}
        if form:
            changes["form_received"] = True
        if handbook:
            changes["handbook_received"] = True
        what = " and ".join(w for w, on in (("signed form", form), ("handbook", handbook)) if on)
        self._mark(selected, "worker.received", f"{what} received", changes)

    def _mark(
        self, keys: Sequence[str], action: str, message: str, changes: dict[str, Any]
    ) -> None:
        with self.storage.transaction() as tx:
            self._session(tx)
            entries = []
            for key in keys:
                rec = tx.get(RecordKind.WORKER, self.unit_no, key)
                if rec is None:
                    raise E.UnknownWorker(keys=[key])
                data = {**rec.data, **changes}
                new = tx.put(
                    RecordKind.WORKER, self.unit_no, key, data, expected_version=rec.version
                )
                self._seen[key] = new.version
                entries.append(
                    self._entry(
                        action,
                        RecordKind.WORKER,
                        key,
                        message,
                        before={k: rec.data.get(k) for k in changes},
                        after=changes,
                    )
                )
            tx.append_audit(entries)

    # -- [P3.6] submit -----------------------------------------------------------------

    def submit_declaration(self) -> StoredDeclaration:
        """[P3.6] Submit one declaration of every collected worker. After a failure
        ([P3.7]) it holds exactly the re-collected workers and links to the
        declaration that failed them."""
        with self.storage.transaction() as tx:
            sess = self._session(tx).data
            self._synced(tx, sess)
            if sess.get("employer_declaration") is None:
                raise E.EmployerFirst()
            decls = [_decl_from(r) for r in tx.list(RecordKind.DECLARATION, self.unit_no)]
            drafts = [d for d in decls if d.state is DeclarationState.DRAFT]
            for d in drafts:
                if d.kind is DeclarationKind.WORKERS:
                    return self._send(d)  # resume a submission cut short
            in_flight = [
                d
                for d in decls
                if d.kind is DeclarationKind.WORKERS
                and d.state in (DeclarationState.SUBMITTED, DeclarationState.PROCESSING)
            ]
            if in_flight:
                raise E.DeclarationInFlight(details=[d.key for d in in_flight])
            workers = [_worker_from(r) for r in tx.list(RecordKind.WORKER, self.unit_no)]
        failed = [w.key for w in workers if w.status == WorkerStatus.FAILED]
        if failed:
            raise E.RecollectionIncomplete(keys=failed)
        batch = [w for w in workers if w.status == WorkerStatus.COLLECTED]
        if not batch:
            raise E.NothingToSubmit()
        unprinted = [w.key for w in batch if not w.confirmation_printed]
        if unprinted:
            raise E.ConfirmationFormMissing(keys=unprinted)
        missing = [w.key for w in batch if not (w.form_received and w.handbook_received)]
        if missing:
            raise E.NotReceived(keys=missing)
        linked = sorted({w.failed_in for w in batch if w.failed_in}, key=_decl_order)
        payload = {
            "workers": [
                {
                    "key": w.key,
                    "worker": _CONV.unstructure(attrs.evolve(w.worker, bureau=None), Worker),
                }
                for w in batch
            ]
        }
        return self._submit(
            DeclarationKind.WORKERS,
            payload,
            workers=tuple(w.key for w in batch),
            linked_to=linked[-1] if linked else None,
        )

    def _submit(
        self,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        workers: tuple[str, ...],
        linked_to: str | None,
    ) -> StoredDeclaration:
        # Two commits around the call: the draft (with its idempotency key) is
        # stored first, so a crash after the bureau accepted it resubmits with
        # the same key and the bureau still holds one declaration.
        with self.storage.transaction() as tx:
            n = sum(
                1 for r in tx.list(RecordKind.DECLARATION, self.unit_no) if r.data["kind"] == kind
            )
            key = f"{kind.value}-{n + 1}"
            draft = StoredDeclaration(
                key=key,
                version=1,
                kind=kind,
                state=DeclarationState.DRAFT,
                idempotency_key=f"{self.unit_no}/{key}/{uuid.uuid4().hex}",
                workers=workers,
                linked_to=linked_to,
                created_at=self._now(),
            )
            data = _decl_data(draft)
            data["payload"] = payload
            tx.put(RecordKind.DECLARATION, self.unit_no, key, data, expected_version=0)
            tx.append_audit(
                [
                    self._entry(
                        "declaration.created",
                        RecordKind.DECLARATION,
                        key,
                        f"{kind.value} declaration drafted with {len(workers)} workers"
                        + (f", re-collecting {linked_to}" if linked_to else ""),
                        declaration=key,
                    )
                ]
            )
        return self._send(draft)

    def _send(self, draft: StoredDeclaration) -> StoredDeclaration:
        with self.storage.transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, draft.key)
            assert rec is not None
            payload = rec.data["payload"]
            linked_bureau = None
            if draft.linked_to:
                linked = tx.get(RecordKind.DECLARATION, self.unit_no, draft.linked_to)
                linked_bureau = None if linked is None else linked.data.get("bureau_id")
        status = self.transport.submit(
            self.unit_no,
            draft.kind,
            payload,
            idempotency_key=draft.idempotency_key,
            linked_to=linked_bureau,
        )
        with self.storage.transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, draft.key)
            assert rec is not None
            data = dict(rec.data)
            data.pop("payload", None)
            data.update(
                state=status.state.value,
                bureau_id=status.id,
                submitted_at=status.submitted_at,
            )
            new = tx.put(
                RecordKind.DECLARATION, self.unit_no, draft.key, data, expected_version=rec.version
            )
            entries = [
                self._entry(
                    "declaration.submitted",
                    RecordKind.DECLARATION,
                    draft.key,
                    f"{draft.kind.value} declaration submitted as {status.id}",
                    declaration=draft.key,
                    after={"bureau_id": status.id, "state": status.state.value},
                )
            ]
            for key in draft.workers:
                wrec = tx.get(RecordKind.WORKER, self.unit_no, key)
                assert wrec is not None
                wdata = {**wrec.data, "status": WorkerStatus.SUBMITTED, "declaration": draft.key}
                tx.put(RecordKind.WORKER, self.unit_no, key, wdata, expected_version=wrec.version)
                self._seen[key] = wrec.version + 1
                entries.append(
                    self._entry(
                        "worker.submitted",
                        RecordKind.WORKER,
                        key,
                        f"declared in {draft.key}",
                        declaration=draft.key,
                        before={"status": wrec.data["status"]},
                        after={"status": WorkerStatus.SUBMITTED},
                    )
                )
            if draft.kind is DeclarationKind.EMPLOYER:
                srec = self._session(tx)
                self._put_session(tx, srec, {**srec.data, "employer_declaration": draft.key})
            tx.append_audit(entries)
        stored = _decl_from(new)
        self.host.declaration_submitted(
            DeclarationSubmitted(
                unit_no=self.unit_no,
                declaration=stored.key,
                bureau_id=status.id,
                kind=stored.kind,
                workers=len(stored.workers),
                linked_to=stored.linked_to,
            )
        )
        return stored

    # -- [P3.7] follow the result -----------------------------------------------------------

    def refresh(self, key: str) -> StoredDeclaration:
        """[P3.7] Ask the bureau for the declaration's state; once concluded, record
        each worker's outcome (failed workers are to be collected again)."""
        current = self.declaration(key)
        if current.state.concluded or current.bureau_id is None:
            return current
        status = self.transport.status(current.bureau_id)
        if status.state is current.state:
            return current
        with self.storage.transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, key)
            assert rec is not None
            data = {
                **rec.data,
                "state": status.state.value,
                "outcomes": [o.to_dict() for o in status.outcomes],
                "message": status.message,
                "message_zh": status.message_zh,
                "concluded_at": status.concluded_at,
            }
            new = tx.put(
                RecordKind.DECLARATION, self.unit_no, key, data, expected_version=rec.version
            )
            entries = []
            if status.state.concluded and current.kind is DeclarationKind.WORKERS:
                entries.extend(self._record_outcomes(tx, key, status))
            ok = sum(o.succeeded for o in status.outcomes)
            entries.append(
                self._entry(
                    "declaration.concluded" if status.state.concluded else "declaration.status",
                    RecordKind.DECLARATION,
                    key,
                    f"{key} is {status.state.value}"
                    + (
                        f": {ok} of {len(status.outcomes)} succeeded"
                        if status.state.concluded
                        else ""
                    ),
                    declaration=key,
                    before={"state": current.state.value},
                    after={"state": status.state.value},
                )
            )
            tx.append_audit(entries)
        stored = _decl_from(new)
        if status.state.concluded:
            self.host.declaration_concluded(
                DeclarationConcluded(
                    unit_no=self.unit_no,
                    declaration=key,
                    bureau_id=status.id,
                    kind=stored.kind,
                    state=stored.state,
                    outcomes=stored.outcomes,
                )
            )
        return stored

    def _record_outcomes(
        self, tx: Transaction, key: str, status: DeclarationStatus
    ) -> list[AuditEntry]:
        entries = []
        for outcome in status.outcomes:
            wrec = tx.get(RecordKind.WORKER, self.unit_no, outcome.key)
            if wrec is None:
                continue
            new_status = WorkerStatus.ACCEPTED if outcome.succeeded else WorkerStatus.FAILED
            verdict = {
                "succeeded": outcome.succeeded,
                "code": outcome.code,
                "message": outcome.message,
                "message_zh": outcome.message_zh,
            }
            wdata = {
                **wrec.data,
                "status": new_status,
                "outcome": verdict,
                "failed_in": None if outcome.succeeded else key,
            }
            tx.put(
                RecordKind.WORKER, self.unit_no, outcome.key, wdata, expected_version=wrec.version
            )
            self._seen[outcome.key] = wrec.version + 1
            entries.append(
                self._entry(
                    "worker.accepted" if outcome.succeeded else "worker.failed",
                    RecordKind.WORKER,
                    outcome.key,
                    "the bureau accepted the worker"
                    if outcome.succeeded
                    else f"the bureau failed the worker ({outcome.code}); collect again",
                    declaration=key,
                    before={"status": wrec.data["status"]},
                    after={"status": new_status, "outcome": verdict},
                )
            )
        return entries


def _decl_order(key: str) -> tuple[str, int]:
    kind, _, n = key.rpartition("-")
    return (kind, int(n) if n.isdigit() else 0)
