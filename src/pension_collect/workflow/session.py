"""The collection session: one employer carried through [P3] .. [P3.7].

A :class:`CollectionSession` is a state machine over storage: every step reads
what earlier steps stored, checks its guards (:mod:`.guards`, raising a typed
:class:`~pension_collect.workflow.guards.WorkflowError` that names the
paragraph), and commits its change and its audit entries (:mod:`._audit`) in
one transaction. What it stores and reads back is :mod:`.records`; forms are
printed through :mod:`.printing`. Storage, the bureau transport and form
renderers are reached only through what the caller passes in and the plugin
host.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Sequence, Sized
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

import attrs

from .._gc import gc_paused
from ..identity import InvalidIdentityNumber, canonical_id
from ..model import BureauRecord, Dossier, Employer, Worker, YearMonth
from ..plugins import PluginHost
from ..ports.events import DeclarationConcluded, DeclarationSubmitted, WorkerSaved
from ..ports.forms import forms_input_from_workers, printed_digest
from ..ports.storage import (
    AuditEntry,
    ConflictError,
    Record,
    RecordKind,
    Storage,
    Transaction,
    Write,
    record_versions,
)
from ..ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    SyncResult,
    Transport,
)
from ..rules import RulePack, check_worker
from . import guards as G
from . import records as R
from ._audit import Audit
from .printing import FormsPrinted, render_form
from .records import SaveBatch, SessionState, StoredDeclaration, StoredWorker, WorkerStatus

__all__ = ["CONFIRMATION_COPIES", "SAVE_GROUP_SECONDS", "SAVE_GROUP_WORKERS", "CollectionSession"]

#: [P3.5]: the confirmation form is printed in three copies.
CONFIRMATION_COPIES = 3
#: :meth:`CollectionSession.save_workers` commits a group of saves after this
#: many workers saved ...
SAVE_GROUP_WORKERS = 100
#: ... or once the group has taken this many seconds (wall clock), whichever
#: comes first: a commit costs more than a save on a real disk, and a group
#: holds the store's write lock for no longer than this.
SAVE_GROUP_SECONDS = 0.2


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


P = ParamSpec("P")
T = TypeVar("T")


def _bulk(step: Callable[P, T]) -> Callable[P, T]:
    """A step or query over every worker (or one a caller repeats for many),
    run with the cyclic garbage collector paused
    (:func:`~pension_collect._gc.gc_paused`, as reading a dossier is): it
    reads, converts and writes tens of thousands of small acyclic objects, and
    the collector's passes over a large collection's objects cost a seventh of
    the loop's time, growing faster than the collection and landing in
    whichever step happens to trigger a full pass (docs/workflow.md,
    "Scaling")."""

    @functools.wraps(step)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        with gc_paused():
            return step(*args, **kwargs)

    return paused


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
    override. A stale version raises
    :class:`~pension_collect.ports.storage.ConflictError`.

    The session is a context manager: leaving the ``with`` block calls
    :meth:`close`. The store and the transport belong to the caller, who opened
    them, and are not closed by the session.
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
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._require_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the session: it forgets the worker versions it remembered, and every
        later step or query raises :class:`~pension_collect.workflow.SessionClosed`.

        Closes neither the store nor the transport (the caller opened them and
        closes them; other sessions may share them). Everything the steps did is
        committed already: a new session on the same store goes on from there.
        Closing again does nothing.
        """
        self._closed = True
        self._seen.clear()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def key_of(worker: Worker) -> str:
        """The storage key of a worker: its identity number in 18-character form."""
        return canonical_id(worker.id_number)

    def _now(self) -> str:
        return self.clock().isoformat()

    def _as_of(self) -> YearMonth:
        return self.as_of or YearMonth.of(self.clock().date())

    @property
    def _audit(self) -> Audit:
        return Audit(self.unit_no, self.actor, self._now)

    def _require_open(self) -> None:
        if self._closed:
            raise G.SessionClosed()

    def _transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        self._require_open()
        return self.storage.transaction()

    def _session(self, tx: Transaction) -> Record:
        rec = G.require_started(tx.get(RecordKind.SESSION, self.unit_no, R.SESSION_KEY))
        return self._migrated(tx, rec) if R.has_old_shape(rec.data) else rec

    def _migrated(self, tx: Transaction, rec: Record) -> Record:
        """A session record of an older release, which held every person's marks
        (verification forms, window visits), split in ``tx`` into the session
        record and one marks record per person: written in the transaction that
        read it, so the store holds the old shape or the new, never half."""
        existing = {m.key: m for m in tx.list(RecordKind.MARKS, self.unit_no)}
        sess, marks = R.old_session_marks(rec, existing)
        tx.put_many(
            RecordKind.MARKS,
            self.unit_no,
            [
                Write(key, data, existing[key].version if key in existing else 0)
                for key, data in marks.items()
            ],
        )
        new = tx.put(
            RecordKind.SESSION, self.unit_no, R.SESSION_KEY, sess, expected_version=rec.version
        )
        tx.append_audit([self._audit.session_migrated(len(marks))])
        return new

    def _marks(self, tx: Transaction, key: str) -> Record | None:
        return tx.get(RecordKind.MARKS, self.unit_no, key)

    def _put_marks(
        self,
        tx: Transaction,
        writes: Iterable[tuple[str, Record | None, int | None, R.WindowVisit | None]],
    ) -> None:
        """Store each person's marks: ``(key, its marks record or None, the
        verification sync, the window visit)``."""
        tx.put_many(
            RecordKind.MARKS,
            self.unit_no,
            [
                Write(key, R.marks_data(printed, visit), 0 if rec is None else rec.version)
                for key, rec, printed, visit in writes
            ],
        )

    def _put_session(self, tx: Transaction, rec: Record, data: dict[str, Any]) -> None:
        tx.put(RecordKind.SESSION, self.unit_no, R.SESSION_KEY, data, expected_version=rec.version)

    def _workers(self, tx: Transaction) -> list[StoredWorker]:
        return [R.worker_from(r) for r in tx.list(RecordKind.WORKER, self.unit_no)]

    # -- queries ------------------------------------------------------------------------

    @_bulk
    def state(self) -> SessionState | None:
        """Where the collection stands (started, sync number, employer, forms
        printed, window visits); ``None`` before :meth:`start`."""
        with self._transaction() as tx:
            if tx.get(RecordKind.SESSION, self.unit_no, R.SESSION_KEY) is None:
                return None
            rec = self._session(tx)
            marks = tx.list(RecordKind.MARKS, self.unit_no)
        return R.session_state(rec, marks)

    def worker(self, key: str) -> StoredWorker:
        """A stored worker (remembering its version for the next save), with
        the bureau's record of the person (``worker.bureau``) from the latest
        data sync that held them."""
        with self._transaction() as tx:
            rec = tx.get(RecordKind.WORKER, self.unit_no, key)
            rec = G.require_worker(rec, key)
            sw = R.worker_from(rec)
            has = sw.worker.bureau is not None
            synced = None if has else tx.get(RecordKind.SYNCED, self.unit_no, rec.key)
        self._seen[key] = rec.version
        return _with_bureau(sw, synced)

    @_bulk
    def workers(self) -> list[StoredWorker]:
        """Every stored worker, by key, each with the bureau's record as
        :meth:`worker` gives it."""
        with self._transaction() as tx:
            recs = tx.list(RecordKind.WORKER, self.unit_no)
            stored = [R.worker_from(r) for r in recs]
            synced = (
                {r.key: r for r in tx.list(RecordKind.SYNCED, self.unit_no)}
                if any(sw.worker.bureau is None for sw in stored)
                else {}
            )
        for rec in recs:
            self._seen[rec.key] = rec.version
        return [_with_bureau(sw, synced.get(sw.key)) for sw in stored]

    def declaration(self, key: str) -> StoredDeclaration:
        """A stored declaration by its session key (:class:`UnknownDeclarationKey`
        when the session has none)."""
        with self._transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, key)
        if rec is None:
            raise G.UnknownDeclarationKey(details=key)
        return R.declaration_from(rec)

    def declarations(self) -> list[StoredDeclaration]:
        """Every declaration of the session, in the order they were made."""
        with self._transaction() as tx:
            recs = tx.list(RecordKind.DECLARATION, self.unit_no)
        decls = [R.declaration_from(r) for r in recs]
        return sorted(decls, key=lambda d: (d.created_at, d.key))

    def audit(
        self, *, worker: str | None = None, declaration: str | None = None
    ) -> list[AuditEntry]:
        """The audit log of the session, or of one worker (key) or declaration (key)."""
        with self._transaction() as tx:
            if worker is not None:
                return tx.audit(self.unit_no, subject=(RecordKind.WORKER, worker))
            return tx.audit(self.unit_no, declaration=declaration)

    @_bulk
    def failed_workers(self) -> list[str]:
        """Keys of the workers the bureau failed and that are not collected again
        yet (each record's status is read; the rest of it is not converted)."""
        with self._transaction() as tx:
            recs = tx.list(RecordKind.WORKER, self.unit_no)
        failed = []
        for rec in recs:
            self._seen[rec.key] = rec.version
            if R.status_of(rec) is WorkerStatus.FAILED:
                failed.append(rec.key)
        return failed

    # -- [P3] start ---------------------------------------------------------------------

    def start(self) -> None:
        """[P3] Start data-quality work: only when the bureau shows no declaration
        of this employer in draft, submitted or processing."""
        self._require_open()
        G.require_no_pending(self.transport.pending_declarations(self.unit_no))
        with self._transaction() as tx:
            if tx.get(RecordKind.SESSION, self.unit_no, R.SESSION_KEY) is not None:
                return  # already started: starting again is harmless
            data = R.new_session_data(started_at=self._now(), started_by=self.actor)
            tx.put(RecordKind.SESSION, self.unit_no, R.SESSION_KEY, data, expected_version=0)
            tx.append_audit([self._audit.started()])

    # -- [P3.1] sync and employer -------------------------------------------------------

    @_bulk
    def sync(self) -> SyncResult:
        """[P3.1] 数据同步: store the bureau's current records for the employer."""
        with self._transaction() as tx:
            self._session(tx)
        result = self.transport.sync(self.unit_no)
        with self._transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            sync_no = int(sess.get("sync_no", 0)) + 1
            # their versions only: every record is written again (with the sync number)
            existing = record_versions(tx, RecordKind.SYNCED, self.unit_no)
            writes = []
            for person in result.persons:
                key = R.synced_key(person)
                writes.append(Write(key, R.synced_data(sync_no, person), existing.get(key, 0)))
            tx.put_many(RecordKind.SYNCED, self.unit_no, writes)
            sess.update(
                sync_no=sync_no,
                synced_at=result.at,
                needs_sync=False,
                bureau_employer=result.employer,
            )
            self._put_session(tx, rec, sess)
            tx.append_audit([self._audit.synced(sync_no, len(result.persons))])
        return result

    def collect_employer(self, employer: Employer) -> None:
        """[P3.1] 单位信息采集: store the employer information (after a sync)."""
        G.require_own_unit(employer, self.unit_no)
        with self._transaction() as tx:
            rec = self._session(tx)
            sess = dict(rec.data)
            G.require_synced(sess)
            before = sess.get("employer")
            sess["employer"] = R.employer_data(employer)
            self._put_session(tx, rec, sess)
            tx.append_audit([self._audit.employer_collected(before, sess["employer"])])

    def submit_employer_declaration(self) -> StoredDeclaration:
        """[P3.1] Submit the employer-information declaration (allowed at once).

        As safe to call again as :meth:`submit_declaration`: a draft left by a
        crash, a lost answer or a transport error is sent again with its key.
        Employer information declared already (and not failed) is not declared
        twice: that declaration is returned. Changed information is declared
        anew once the bureau has finished with the previous declaration
        (:class:`~pension_collect.workflow.DeclarationInFlight` until then)."""
        out = self._claim(DeclarationKind.EMPLOYER, self._draft_employer)
        return out if isinstance(out, StoredDeclaration) else self._send(out)

    # -- [P3.2] verification forms ------------------------------------------------------

    @_bulk
    def print_verification_forms(
        self,
        keys: Iterable[str] | None = None,
        *,
        out_dir: str | Path | None = None,
        name: str | int | None = None,
        overwrite: bool = False,
        progress: G.Progress | None = None,
    ) -> FormsPrinted:
        """[P3.2] Print verification forms (核对表) for the selected persons (by key;
        default: every person of the latest sync) and record them as printed.

        Only the bureau's persons are collected: a key the latest data sync does
        not hold is refused (:class:`~pension_collect.workflow.PersonNotSynced`)
        and nothing is printed. The file is ``out_dir/verification-<n>.pdf``
        (next free ``n``) or ``name``; an existing file is refused
        (:class:`~pension_collect.workflow.FormExists`) unless ``overwrite``.
        ``progress(done, total)`` follows the drawing; cancelling it
        (:class:`~pension_collect.workflow.Cancelled`) writes and records nothing.
        """
        with self._transaction() as tx:
            sess = dict(self._session(tx).data)
            G.require_synced(sess)
            G.require_employer(sess)
            if keys is None:
                synced = {r.key: r.data for r in tx.list(RecordKind.SYNCED, self.unit_no)}
                current = {k: v for k, v in synced.items() if v["sync_no"] == sess["sync_no"]}
                selected = sorted(current)
            else:  # only the persons named are read
                selected = [canonical_id(k) for k in keys]
                found = self._records_of(tx, RecordKind.SYNCED, selected)
                current = {
                    k: r.data
                    for k in selected
                    if (r := found(k)) is not None and r.data["sync_no"] == sess["sync_no"]
                }
            G.require_in_sync(selected, current)
        dossier = self._form_dossier(sess, selected, current, every=keys is None)
        printed = render_form(
            self.host,
            "verification",
            dossier,
            pack=self._pack,
            out_dir=out_dir,
            name=name,
            overwrite=overwrite,
            workers=len(selected),
            progress=progress,
        )
        with self._transaction() as tx:
            sync_no = int(self._session(tx).data["sync_no"])
            held = self._records_of(tx, RecordKind.MARKS, None if keys is None else selected)
            writes = []
            for key in dict.fromkeys(selected):
                marks = held(key)
                writes.append((key, marks, sync_no, R.marks_from(marks)[1]))
            self._put_marks(tx, writes)
            tx.append_audit([self._audit.verification_printed(len(selected))])
        return printed

    def _records_of(
        self, tx: Transaction, kind: RecordKind, keys: Iterable[str] | None
    ) -> Callable[[str], Record | None]:
        """Records of ``kind`` read in ``tx``, looked up by key afterwards:
        every one in one pass when the step covers every person (``keys``
        ``None``: one range read, not a lookup per person), else each key of
        ``keys`` once, in key order. In key order, neighbouring lookups share a
        store's pages: on a SQLite file many times its page cache, 20,000
        lookups in key order took a third of the CPU of the same lookups in
        the callers' order (a worker list in payroll order)."""
        if keys is None:
            return {r.key: r for r in tx.list(kind, self.unit_no)}.get
        return {k: tx.get(kind, self.unit_no, k) for k in sorted(set(keys))}.get

    def _form_dossier(
        self, sess: dict[str, Any], keys: Sequence[str], synced: dict[str, Any], *, every: bool
    ) -> Dossier:
        """The workers of a verification form, each with the bureau's record of
        the latest sync (``synced``: every key is in it), which the form
        prints: as collected when the worker is stored (a worker collected
        before a window visit shows what the window changed), else as the
        bureau holds them. ``every``: the form is of every person synced."""
        employer = R.employer_from(sess)
        workers = []
        with self._transaction() as tx:
            stored = self._records_of(tx, RecordKind.WORKER, None if every else keys)
            for key in keys:
                bureau = R.bureau_record(key, synced[key])
                rec = stored(key)
                if rec is not None:
                    workers.append(attrs.evolve(R.worker_from(rec).worker, bureau=bureau))
                else:
                    workers.append(R.worker_from_bureau(key, bureau))
        return Dossier(employer=employer, workers=tuple(workers), as_of=self._as_of())

    # -- [P3.3a] window corrections -----------------------------------------------------

    @_bulk
    def record_window_visit(self, key: str, note: str = "") -> None:
        """[P3.3a]/[P3.4e]/[P3.7] A worker had data corrected at the bureau window:
        a new data sync (and new verification forms) is required before the next
        batch. The key must be a person of the latest sync or a stored worker
        (:class:`~pension_collect.workflow.PersonNotSynced`). For a worker the
        bureau failed, the visit answers that failure: the worker can be
        collected again after the next sync. ``note`` must not hold a name or
        identity number."""
        key = canonical_id(key)
        with self._transaction() as tx:
            rec = self._session(tx)
            sess = rec.data
            G.require_synced_once(sess)
            synced = tx.get(RecordKind.SYNCED, self.unit_no, key)
            current = () if synced is None or synced.data["sync_no"] != sess["sync_no"] else (key,)
            stored = tx.get(RecordKind.WORKER, self.unit_no, key)
            G.require_person(key, current, stored)
            prev = None if stored is None else R.worker_from(stored)
            visit = R.WindowVisit(
                key=key,
                sync_no=int(sess["sync_no"]),
                failed_in=prev.declaration if prev is not None and prev.needs_window else None,
                at=self._now(),
            )
            marks = self._marks(tx, key)
            self._put_marks(tx, [(key, marks, R.marks_from(marks)[0], visit)])
            if not sess.get("needs_sync"):
                self._put_session(tx, rec, {**sess, "needs_sync": True})
            tx.append_audit([self._audit.window_visit(key, note)])

    # -- [P3.4] collect and save --------------------------------------------------------

    @_bulk
    def save_worker(
        self,
        worker: Worker,
        *,
        expected_version: int | None = None,
        index: int | None = None,
    ) -> StoredWorker:
        """[P3.4] Save a worker's collection: all three parts collected [P3.4f],
        a person of the latest data sync [P3.2], no identity-number or name
        change [P3.3a], verification form printed from the latest sync [P3.2],
        after a failure for a window-type reason a window visit and a newer sync
        [P3.7], no rule error (warnings are kept).

        ``index`` is where the caller keeps the worker (``$.workers[index]`` of
        its dossier): the findings of a refused save
        (:class:`~pension_collect.workflow.RuleErrors`) carry their paths under
        it; without it their paths are relative to the worker
        (``$.history[2]``), as are the warnings stored with the worker.
        """
        key = self.key_of(worker)
        G.require_complete(worker, key)
        with self._transaction() as tx:
            sess = self._session(tx).data
            G.require_synced(sess)
            expected = self._seen.get(key, 0) if expected_version is None else expected_version
            stored = self._save(tx, sess, worker, key, expected, index)
        return self._announce(stored)

    def _save(
        self,
        tx: Transaction,
        sess: dict[str, Any],
        worker: Worker,
        key: str,
        expected: int,
        index: int | None,
    ) -> StoredWorker:
        """The checks and writes of :meth:`save_worker` in ``tx`` (the session
        record ``sess`` read in it); the worker as stored, at its new version."""
        old = tx.get(RecordKind.WORKER, self.unit_no, key)
        prev = None if old is None else R.worker_from(old)
        G.require_collectable(prev)
        printed, visit = R.marks_from(self._marks(tx, key))
        G.require_window_cleared(prev, visit, int(sess["sync_no"]))
        bureau = self._bureau_record(tx, sess, worker, key)
        G.require_verification_form(printed, int(sess["sync_no"]), key)
        G.require_bureau_name(bureau, worker, key)
        checked = attrs.evolve(
            worker, bureau=bureau, person_no=worker.person_no or bureau.person_no
        )
        findings = check_worker(checked, pack=self._pack, as_of=self._as_of())
        G.require_no_rule_errors([R.rebased(f, index) for f in findings], key)
        warnings = tuple(R.rebased(f, None) for f in findings if not f.is_error)
        stored = StoredWorker(
            key=key,
            version=expected + 1,
            worker=checked,
            status=WorkerStatus.COLLECTED,
            warnings=warnings,
            failed_in=_failed_in(prev),
            declaration=None if prev is None else prev.declaration,
            outcome=None if prev is None else prev.outcome,
        )
        data = R.worker_data(stored)
        new = tx.put(RecordKind.WORKER, self.unit_no, key, data, expected_version=expected)
        tx.append_audit(
            [
                self._audit.worker_saved(
                    key,
                    version=new.version,
                    warnings=len(warnings),
                    failed_in=stored.failed_in,
                    before=None if old is None else old.data,
                    after=data,
                )
            ]
        )
        return (
            stored if new.version == stored.version else attrs.evolve(stored, version=new.version)
        )

    def _announce(self, stored: StoredWorker) -> StoredWorker:
        """After the save of ``stored`` is committed: remember its version and
        tell the plugins (``worker_saved``)."""
        self._seen[stored.key] = stored.version
        self.host.worker_saved(
            WorkerSaved(
                unit_no=self.unit_no,
                key=stored.key,
                version=stored.version,
                actor=self.actor,
                warnings=tuple(w.code for w in stored.warnings),
            )
        )
        return stored

    @_bulk
    def save_workers(
        self, workers: Iterable[Worker], *, progress: G.Progress | None = None
    ) -> SaveBatch:
        """[P3.4] Save many workers, each as :meth:`save_worker` does, committed
        in groups: a group's transaction ends after :data:`SAVE_GROUP_WORKERS`
        workers or :data:`SAVE_GROUP_SECONDS` seconds, whichever comes first
        (a commit is most of a save's time on a disk; a group holds the store's
        write lock no longer than that). Each worker is saved whole with its
        audit entry or not at all; a group is committed whole or not at all.

        A worker that is refused (a :class:`~pension_collect.workflow.WorkflowError`,
        a :class:`~pension_collect.ports.storage.ConflictError`, an invalid
        identity number) is listed in :attr:`SaveBatch.refused` with its position
        and the error, and the others go on (a refusal writes nothing). A store
        failure stops the batch: the groups committed before it stay saved, the
        group it happened in is not. Findings carry ``$.workers[i]`` paths,
        ``i`` the worker's position in ``workers``.

        ``progress(done, total)`` is called after each worker (``total`` is
        ``None`` when ``workers`` has no length). Returning ``False`` or raising
        :class:`~pension_collect.workflow.Cancelled` stops the batch before the
        next worker: the group so far is committed, then
        :class:`~pension_collect.workflow.Cancelled` is raised with ``done`` and
        ``committed`` (the keys saved); the workers after it are untouched. The
        call after the last worker cannot cancel anything. A process killed in
        the middle keeps the groups committed and nothing of the one under way.
        """
        total = len(workers) if isinstance(workers, Sized) else None
        with self._transaction() as tx:
            G.require_synced(self._session(tx).data)
        saved: list[StoredWorker] = []
        keys: list[str] = []
        refused: list[R.Refusal] = []
        source = iter(enumerate(workers))
        while (first := next(source, None)) is not None:  # a group: never an empty one
            group: list[StoredWorker] = []
            versions: dict[str, int] = {}  # saved in this group, not yet committed
            cancelled: G.Cancelled | None = None
            with self._transaction() as tx:
                sess = self._session(tx).data
                G.require_synced(sess)
                ends = time.monotonic() + SAVE_GROUP_SECONDS
                for i, worker in itertools.chain([first], source):
                    try:
                        key = self.key_of(worker)
                        G.require_complete(worker, key)
                        expected = versions.get(key, self._seen.get(key, 0))
                        group.append(self._save(tx, sess, worker, key, expected, i))
                        versions[key] = group[-1].version
                    except (G.SessionClosed, G.NotStarted, G.SyncFirst):
                        raise  # the session's, not the worker's: no point going on
                    except (G.WorkflowError, ConflictError, InvalidIdentityNumber) as exc:
                        refused.append(R.Refusal(index=i, key=_key_or_none(worker), error=exc))
                    try:
                        _between(
                            progress, i + 1, total, functools.partial(_saved_keys, keys, group)
                        )
                    except G.Cancelled as exc:
                        cancelled = exc  # raised once the group is committed
                        break
                    if len(group) >= SAVE_GROUP_WORKERS or time.monotonic() >= ends:
                        break
            for stored in group:
                saved.append(self._announce(stored))
                keys.append(stored.key)
            if cancelled is not None:
                raise cancelled
        return SaveBatch(saved=tuple(saved), refused=tuple(refused))

    def _bureau_record(
        self, tx: Transaction, sess: dict[str, Any], worker: Worker, key: str
    ) -> BureauRecord:
        """The bureau's record of the worker from the latest sync [P3.2]. Without
        one: :class:`~pension_collect.workflow.WindowOnlyChange` when the worker's
        person number is held there under another identity number [P3.3a], else
        :class:`~pension_collect.workflow.PersonNotSynced`."""
        synced = tx.get(RecordKind.SYNCED, self.unit_no, key)
        if synced is not None and synced.data["sync_no"] == sess["sync_no"]:
            return R.bureau_record(key, synced.data)
        if worker.person_no:
            G.require_bureau_identity(
                tx.list(RecordKind.SYNCED, self.unit_no), sess["sync_no"], worker, key
            )
        raise G.PersonNotSynced(keys=[key])

    # -- [P3.5] confirmation forms and [P3.4g] receipts ---------------------------------

    @_bulk
    def print_confirmation_forms(
        self,
        keys: Iterable[str] | None = None,
        *,
        out_dir: str | Path | None = None,
        name: str | int | None = None,
        overwrite: bool = False,
        progress: G.Progress | None = None,
    ) -> FormsPrinted:
        """[P3.5] Print confirmation forms (确认表, 3 copies) of collected workers
        (default: every worker collected and not yet declared) into
        ``out_dir/confirmation-<n>.pdf`` or ``name`` (as
        :meth:`print_verification_forms`). A worker saved again while the forms
        were drawn is not marked printed (:class:`~pension_collect.ports.storage.ConflictError`)."""
        chosen = None if keys is None else [canonical_id(k) for k in keys]
        with self._transaction() as tx:
            sess = self._session(tx).data
            if chosen is None:
                read = {r.key: r for r in tx.list(RecordKind.WORKER, self.unit_no)}
                selected = [k for k, r in read.items() if R.status_of(r) is WorkerStatus.COLLECTED]
            else:  # only the workers named are read (the failed few of [P3.7])
                selected = chosen
                found = self._records_of(tx, RecordKind.WORKER, selected)
                read = {k: r for k in dict.fromkeys(selected) if (r := found(k)) is not None}
        G.require_known(selected, read)
        recs = {k: R.worker_from(read[k]) for k in dict.fromkeys(selected)}
        dossier = Dossier(
            employer=R.employer_from(sess),
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
            name=name,
            overwrite=overwrite,
            progress=progress,
        )
        self._mark(
            selected,
            "forms.confirmation",
            f"confirmation form printed ({CONFIRMATION_COPIES} copies)",
            {"confirmation_printed": True},
            versions={k: recs[k].version for k in selected},
            per_key=self._confirmation_printed(dossier, selected),
            read=read,
        )
        return printed

    @_bulk
    def print_summary_sheet(
        self,
        *,
        out_dir: str | Path | None = None,
        name: str | int | None = None,
        overwrite: bool = False,
        progress: G.Progress | None = None,
    ) -> FormsPrinted:
        """[P3.6] Print the summary sheet (汇总表) of the confirmation forms handed
        in, into ``out_dir/summary-<n>.pdf`` or ``name`` (as
        :meth:`print_verification_forms`)."""
        with self._transaction() as tx:
            sess = self._session(tx).data
            stored = self._workers(tx)
        workers = tuple(
            sw.worker for sw in stored if sw.status is WorkerStatus.COLLECTED and sw.form_received
        )
        dossier = Dossier(employer=R.employer_from(sess), workers=workers, as_of=self._as_of())
        return render_form(
            self.host,
            "summary",
            dossier,
            pack=self._pack,
            out_dir=out_dir,
            name=name,
            overwrite=overwrite,
            progress=progress,
        )

    @_bulk
    def record_received(
        self, keys: Iterable[str], *, form: bool = True, handbook: bool = True
    ) -> None:
        """[P3.4g] Record each worker's signed confirmation form and/or handbook as
        received. The form must have been printed for the worker's current data."""
        selected = [canonical_id(k) for k in keys]
        changes: dict[str, Any] = {}
        if form:
            changes["form_received"] = True
        if handbook:
            changes["handbook_received"] = True
        what = " and ".join(w for w, on in (("signed form", form), ("handbook", handbook)) if on)
        self._mark(
            selected,
            "worker.received",
            f"{what} received",
            changes,
            check=lambda recs: G.require_confirmation_printed_records(recs),
        )

    def _mark(
        self,
        keys: Sequence[str],
        action: str,
        message: str,
        changes: dict[str, Any],
        *,
        versions: dict[str, int] | None = None,
        per_key: dict[str, dict[str, Any]] | None = None,
        check: Callable[[list[Record]], None] | None = None,
        read: dict[str, Record] | None = None,
    ) -> None:
        """Set ``changes`` in each worker's record, with one audit entry each; all
        or none. ``versions``: the version each record must still have;
        ``per_key``: more changes for each worker; ``check``: a guard on the
        records read, in the same transaction, before anything is written;
        ``read``: the records as read earlier at those ``versions`` (not read
        again: a record changed since fails its write with
        :class:`~pension_collect.ports.storage.ConflictError`)."""
        with self._transaction() as tx:
            self._session(tx)
            keys = list(dict.fromkeys(keys))  # each worker once
            if read is not None and versions is not None:
                recs = [read[k] for k in keys]
            else:
                found = self._records_of(tx, RecordKind.WORKER, keys)
                recs = [G.require_worker(found(k), k) for k in keys]
            if check is not None:
                check(recs)
            writes = []
            entries = []
            for key, rec in zip(keys, recs, strict=True):
                expected = rec.version if versions is None else versions[key]
                these = changes if per_key is None else {**changes, **per_key[key]}
                writes.append(Write(key, {**rec.data, **these}, expected))
                before = {k: rec.data.get(k) for k in these}
                entries.append(self._audit.worker_marked(key, action, message, before, these))
            # one batch: a record changed since it was read refuses all of them
            new_versions = tx.put_many(RecordKind.WORKER, self.unit_no, writes)
            tx.append_audit(entries)
        self._seen.update(zip(keys, new_versions, strict=True))

    # -- [P3.7] following every declaration -------------------------------------------

    @_bulk
    def follow(self, *, progress: G.Progress | None = None) -> tuple[StoredDeclaration, ...]:
        """[P3.7] Ask the bureau about every submitted declaration not concluded
        yet, oldest first, each with :meth:`refresh` (its own transaction: a
        declaration and its workers' outcomes are recorded all or nothing);
        returns them as they now stand. A draft not yet sent is left to
        :meth:`submit_declaration`.

        ``progress(done, total)`` is called after each declaration; returning
        ``False`` or raising :class:`~pension_collect.workflow.Cancelled` stops
        before the next one with :class:`~pension_collect.workflow.Cancelled`
        (``committed``: the declarations refreshed).
        """
        pending = [d for d in self.declarations() if not d.state.concluded and d.bureau_id]
        followed: list[StoredDeclaration] = []
        keys: list[str] = []
        for i, decl in enumerate(pending):
            followed.append(self.refresh(decl.key))
            keys.append(decl.key)
            _between(progress, i + 1, len(pending), lambda: keys)
        return tuple(followed)

    # -- [P3.6] submit ------------------------------------------------------------------

    @_bulk
    def submit_declaration(self) -> StoredDeclaration:
        """[P3.6] Submit one declaration of the collected workers. After a failure
        ([P3.7]) it holds exactly the re-collected workers and links to the
        declaration that failed them.

        Safe to call again after anything (docs/workflow.md, "Submitting
        safely"): one transaction checks that nothing is being sent, stores the
        declaration as a draft with its idempotency key and claims its workers;
        the bureau is called outside any transaction; a second transaction
        records its answer. A draft left by a crash, a lost answer or a
        transport error, by this session or another, is sent again with the
        same key, so the bureau holds one declaration; two sessions submitting
        at once send the same draft. When the bureau refuses the declaration as
        a whole (:class:`~pension_collect.ports.transport.BureauError`, raised
        again here) the draft is closed as failed and its workers are
        collected again, to be declared in the next one.

        A new declaration is made only when every worker record matches its
        key and its audit log
        (:class:`~pension_collect.workflow.RecordChangedOutside`) and each
        worker declared matches the digest of its signed confirmation form
        (:class:`~pension_collect.workflow.SignedFormMismatch`): what is sent
        is what was signed.
        """
        out = self._claim(DeclarationKind.WORKERS, self._draft_workers)
        return out if isinstance(out, StoredDeclaration) else self._send(out)

    def _claim(
        self,
        kind: DeclarationKind,
        make: Callable[[Transaction, dict[str, Any], list[Record]], _Outgoing | StoredDeclaration],
    ) -> _Outgoing | StoredDeclaration:
        """In one transaction: the draft of ``kind`` waiting to be sent (sent
        again, with its key), else what ``make`` decides: a new draft, or a
        declaration that needs none. Checking and creating are one transaction,
        so of two sessions at once the second finds the first one's draft; a
        store that lets both try tells the second (ConflictError), which looks
        again."""
        attempts = _CLAIM_ATTEMPTS
        while True:
            try:
                with self._transaction() as tx:
                    sess = self._session(tx).data
                    recs = tx.list(RecordKind.DECLARATION, self.unit_no)
                    for rec in recs:
                        d = R.declaration_from(rec)
                        if d.kind is kind and d.state is DeclarationState.DRAFT:
                            return self._outgoing(tx, rec)
                    return make(tx, sess, recs)
            except ConflictError:
                attempts -= 1
                if not attempts:
                    raise

    def _draft_workers(
        self, tx: Transaction, sess: dict[str, Any], recs: list[Record]
    ) -> _Outgoing:
        decls = [R.declaration_from(r) for r in recs]
        G.require_synced(sess)
        G.require_employer_declared(sess)
        G.require_nothing_in_flight(decls)
        workers, stored = self._workers_as_logged(tx)
        data = {k: r.data for k, r in stored.items()}
        batch = G.require_submittable(workers)
        employer = R.employer_from(sess)
        signed: dict[str, str | None] = {}
        current: dict[str, str] = {}
        # each worker printed again in memory with the cut-off month stored at
        # its print; the workers of one cut-off (usually all) in one pass
        by_cut: dict[object, tuple[Any, list[StoredWorker]]] = {}
        for sw in batch:
            printed = data[sw.key].get(R.CONFIRMATION_FIELD)
            printed = printed if isinstance(printed, dict) else {}
            signed[sw.key] = printed.get("digest")
            until = printed.get("print_until")
            group = until if until is None or type(until) is str else object()
            by_cut.setdefault(group, (until, []))[1].append(sw)
        for until, sws in by_cut.values():
            digests = _confirmation_digests(
                employer, [sw.worker for sw in sws], self._pack, self._as_of(), until
            )[1]
            current.update(zip((sw.key for sw in sws), digests, strict=True))
        G.require_as_signed(batch, signed, current)
        linked = sorted({w.failed_in for w in batch if w.failed_in}, key=R.declaration_order)
        return self._new_draft(
            tx,
            decls,
            DeclarationKind.WORKERS,
            R.workers_payload(batch),
            workers=tuple(w.key for w in batch),
            linked_to=linked[-1] if linked else None,
            read=stored,
        )

    def _workers_as_logged(self, tx: Transaction) -> tuple[list[StoredWorker], dict[str, Record]]:
        """Every stored worker, each checked against its key and its audit log
        (with their records by key)."""
        recs = tx.list(RecordKind.WORKER, self.unit_no)
        workers = [R.worker_from(r) for r in recs]
        G.require_as_logged(
            (
                sw,
                rec.data,
                R.logged_worker_data(tx.audit(self.unit_no, subject=(RecordKind.WORKER, rec.key))),
            )
            for sw, rec in zip(workers, recs, strict=True)
        )
        return workers, {r.key: r for r in recs}

    def _draft_employer(
        self, tx: Transaction, sess: dict[str, Any], recs: list[Record]
    ) -> _Outgoing | StoredDeclaration:
        G.require_synced(sess)
        G.require_employer_to_declare(sess)
        payload = {"employer": sess["employer"]}
        mine = [r for r in recs if r.data.get("kind") == DeclarationKind.EMPLOYER.value]
        latest = max(mine, key=lambda r: R.declaration_order(r.key), default=None)
        if latest is not None:
            last = R.declaration_from(latest)
            same = latest.data.get("payload_digest") == R.payload_digest(payload)
            if same and last.state is not DeclarationState.FAILED:
                return last  # declared already: not twice
            G.require_employer_declaration_settled(last)
        decls = [R.declaration_from(r) for r in recs]
        return self._new_draft(
            tx, decls, DeclarationKind.EMPLOYER, payload, workers=(), linked_to=None
        )

    def _new_draft(
        self,
        tx: Transaction,
        decls: list[StoredDeclaration],
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        workers: tuple[str, ...],
        linked_to: str | None,
        read: dict[str, Record] | None = None,
    ) -> _Outgoing:
        """Store a new draft with its idempotency key and claim its workers
        (submitted in it: no save, no other declaration takes them). ``read``:
        worker records read earlier in ``tx`` (not read again)."""
        key = f"{kind.value}-{sum(1 for d in decls if d.kind is kind) + 1}"
        digest = R.payload_digest(payload)
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
        data = {**R.declaration_data(draft), "payload": payload, "payload_digest": digest}
        stored = tx.put(RecordKind.DECLARATION, self.unit_no, key, data, expected_version=0)
        entries = [self._audit.declaration_created(key, kind, len(workers), linked_to, digest)]
        read = read or {}
        found = self._records_of(tx, RecordKind.WORKER, (k for k in workers if k not in read))
        writes = []
        for wkey in dict.fromkeys(workers):
            wrec = read.get(wkey) or found(wkey)
            wrec = G.require_worker(wrec, wkey)
            wdata = {**wrec.data, "status": WorkerStatus.SUBMITTED.value, "declaration": key}
            writes.append(Write(wkey, wdata, wrec.version))
            entries.append(self._audit.worker_submitted(wkey, key, wrec.data["status"]))
        versions = tx.put_many(RecordKind.WORKER, self.unit_no, writes)
        self._seen.update(zip((w.key for w in writes), versions, strict=True))
        tx.append_audit(entries)
        return _Outgoing(draft, payload, self._linked_bureau(tx, linked_to), _unloaded(stored))

    def _outgoing(self, tx: Transaction, rec: Record) -> _Outgoing:
        """A stored draft to send again, checked to carry the payload it was
        created with."""
        draft = R.declaration_from(rec)
        payload = rec.data.get("payload")
        created = [
            e.after
            for e in tx.audit(self.unit_no, subject=(RecordKind.DECLARATION, draft.key))
            if e.action == "declaration.created" and e.after
        ]
        G.require_draft_as_created(
            draft.key,
            R.payload_digest(payload) if isinstance(payload, dict) else "",
            rec.data.get("payload_digest"),
            created[-1].get("payload_digest") if created else None,
        )
        assert isinstance(payload, dict)
        return _Outgoing(draft, payload, self._linked_bureau(tx, draft.linked_to), _unloaded(rec))

    def _linked_bureau(self, tx: Transaction, linked_to: str | None) -> str | None:
        """The bureau's number of the declaration a draft re-collects."""
        if linked_to is None:
            return None
        linked = tx.get(RecordKind.DECLARATION, self.unit_no, linked_to)
        return None if linked is None else linked.data.get("bureau_id")

    def _send(self, out: _Outgoing) -> StoredDeclaration:
        """Send a claimed draft to the bureau with its idempotency key, outside
        any transaction, and record the answer in one. Any error but a refusal
        leaves the draft as it is: the next submit sends it again."""
        draft = out.draft
        try:
            status = self.transport.submit(
                self.unit_no,
                draft.kind,
                out.payload,
                idempotency_key=draft.idempotency_key,
                linked_to=out.linked_bureau,
            )
        except BureauError as exc:
            self._record_refused(draft, exc)
            raise
        with self._transaction() as tx:
            try:
                # written over the draft as claimed, not read again (its
                # payload is the whole declaration)
                new = self._record_submitted(tx, out.record, draft, status)
            except ConflictError as exc:
                if (exc.kind, exc.key) != (RecordKind.DECLARATION.value, draft.key):
                    raise  # another record (a worker's outcome): nothing is kept
                # the draft changed since: another session sent it and recorded
                # the answer (or is a step behind: recorded here); nothing was
                # written before the draft's write
                rec = tx.get(RecordKind.DECLARATION, self.unit_no, draft.key)
                assert rec is not None
                if R.declaration_from(rec).state is not DeclarationState.DRAFT:
                    return R.declaration_from(rec)
                new = self._record_submitted(tx, _unloaded(rec), draft, status)
        stored = R.declaration_from(new)
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
        if stored.state.concluded:
            self._concluded(stored, status)
        return stored

    def _record_submitted(
        self, tx: Transaction, rec: Record, draft: StoredDeclaration, status: DeclarationStatus
    ) -> Record:
        """Record the bureau's answer to a draft sent: ``rec`` is the draft
        without its payload, at the version it was claimed (a draft changed
        since refuses the write first, with nothing written)."""
        data = {**rec.data, "bureau_id": status.id, "submitted_at": status.submitted_at}
        entries = [self._audit.declaration_submitted(draft.key, draft.kind, status)]
        # a draft sent again late may find the bureau further on: recorded too
        new = self._put_state(tx, rec, data, DeclarationState.SUBMITTED, status, entries)
        if draft.kind is DeclarationKind.EMPLOYER:
            srec = self._session(tx)
            self._put_session(tx, srec, {**srec.data, "employer_declaration": draft.key})
        return new

    def _record_refused(self, draft: StoredDeclaration, exc: BureauError) -> None:
        """The bureau refused the draft as a whole: it is closed as failed, and its
        workers are collected again (their signed forms still hold)."""
        with self._transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, draft.key)
            if rec is None or R.declaration_from(rec).state is not DeclarationState.DRAFT:
                return
            data = {k: v for k, v in rec.data.items() if k != "payload"}
            data.update(
                state=DeclarationState.FAILED.value,
                message=f"the bureau refused the declaration ({exc.code}): {exc}",
                message_zh=f"经办机构拒绝受理该申报({exc.code})",
                concluded_at=self._now(),
            )
            tx.put(
                RecordKind.DECLARATION, self.unit_no, draft.key, data, expected_version=rec.version
            )
            entries = [self._audit.declaration_refused(draft.key, draft.kind, exc.code)]
            found = self._records_of(tx, RecordKind.WORKER, draft.workers)
            writes = []
            for wkey in dict.fromkeys(draft.workers):
                wrec = found(wkey)
                if wrec is None or wrec.data.get("declaration") != draft.key:
                    continue
                wdata = {**wrec.data, "status": WorkerStatus.COLLECTED.value}
                writes.append(Write(wkey, wdata, wrec.version))
                entries.append(self._audit.worker_returned(wkey, draft.key))
            versions = tx.put_many(RecordKind.WORKER, self.unit_no, writes)
            self._seen.update(zip((w.key for w in writes), versions, strict=True))
            tx.append_audit(entries)

    def _put_state(
        self,
        tx: Transaction,
        rec: Record,
        data: dict[str, Any],
        previous: DeclarationState,
        status: DeclarationStatus,
        entries: list[AuditEntry],
    ) -> Record:
        """Store the bureau's state of a declaration (once concluded, with each
        worker's outcome) and the audit entries."""
        data.update(
            state=status.state.value,
            outcomes=[o.to_dict() for o in status.outcomes],
            message=status.message,
            message_zh=status.message_zh,
            concluded_at=status.concluded_at,
        )
        new = tx.put(
            RecordKind.DECLARATION, self.unit_no, rec.key, data, expected_version=rec.version
        )
        if status.state is not previous:
            if status.state.concluded and data["kind"] == DeclarationKind.WORKERS.value:
                entries.extend(self._record_outcomes(tx, rec.key, status))
            entries.append(self._audit.declaration_state(rec.key, previous, status))
        tx.append_audit(entries)
        return new

    def _concluded(self, stored: StoredDeclaration, status: DeclarationStatus) -> None:
        self.host.declaration_concluded(
            DeclarationConcluded(
                unit_no=self.unit_no,
                declaration=stored.key,
                bureau_id=status.id,
                kind=stored.kind,
                state=stored.state,
                outcomes=stored.outcomes,
            )
        )

    def _confirmation_printed(self, dossier: Dossier, keys: Sequence[str]) -> dict[str, Any]:
        """What a confirmation form printed for each worker of ``dossier`` (in
        the order of ``keys``): its digest and cut-off month, stored with the
        worker so that submitting can check the signed paper still holds."""
        until, digests = _confirmation_digests(
            dossier.employer, dossier.workers, self._pack, dossier.as_of, "pack"
        )
        return {
            key: {R.CONFIRMATION_FIELD: {"digest": digest, "print_until": until}}
            for key, digest in zip(keys, digests, strict=True)
        }

    # -- [P3.7] follow the result -------------------------------------------------------

    def refresh(self, key: str) -> StoredDeclaration:
        """[P3.7] Ask the bureau for the declaration's state; once concluded, record
        each worker's outcome (failed workers are to be collected again). The
        bureau is asked outside any transaction; a state another session has
        recorded meanwhile is not recorded twice."""
        current = self.declaration(key)
        if current.state.concluded or current.bureau_id is None:
            return current
        status = self.transport.status(current.bureau_id, unit_no=self.unit_no)
        if status.state is current.state:
            return current
        with self._transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, self.unit_no, key)
            assert rec is not None
            now = R.declaration_from(rec)
            if _STATE_ORDER[status.state] <= _STATE_ORDER[now.state]:
                return now
            new = self._put_state(tx, rec, dict(rec.data), now.state, status, [])
        stored = R.declaration_from(new)
        if stored.state.concluded:
            self._concluded(stored, status)
        return stored

    def _record_outcomes(
        self, tx: Transaction, key: str, status: DeclarationStatus
    ) -> list[AuditEntry]:
        """Each worker of a concluded declaration becomes accepted or failed."""
        entries = []
        # one write per worker, in one batch (an outcome named twice: the
        # later one's data, written over the version read)
        writes: dict[str, Write] = {}
        found = self._records_of(tx, RecordKind.WORKER, (o.key for o in status.outcomes))
        for outcome in status.outcomes:
            held = writes.get(outcome.key)
            if held is not None:
                version, before = held.expected_version, held.data
            else:
                wrec = found(outcome.key)
                if wrec is None:
                    continue
                version, before = wrec.version, wrec.data
            new_status = WorkerStatus.ACCEPTED if outcome.succeeded else WorkerStatus.FAILED
            verdict = R.verdict_data(outcome)
            failed_in = None if outcome.succeeded else key
            wdata = {
                **before,
                "status": new_status.value,
                "outcome": verdict,
                "failed_in": failed_in,
            }
            writes[outcome.key] = Write(outcome.key, wdata, version)
            entries.append(
                self._audit.worker_concluded(
                    outcome,
                    key,
                    previous=before["status"],
                    status=new_status,
                    verdict=verdict,
                    failed_in=failed_in,
                )
            )
        versions = tx.put_many(RecordKind.WORKER, self.unit_no, list(writes.values()))
        self._seen.update(zip(writes, versions, strict=True))
        return entries


#: How often a submit looks for the draft again after a conflict with another session.
_CLAIM_ATTEMPTS = 3

#: The order of a declaration's states: a later answer never moves it back.
_STATE_ORDER = {
    DeclarationState.DRAFT: 0,
    DeclarationState.SUBMITTED: 1,
    DeclarationState.PROCESSING: 2,
    DeclarationState.SUCCEEDED: 3,
    DeclarationState.FAILED: 3,
    DeclarationState.PARTIALLY_SUCCEEDED: 3,
}


@attrs.frozen
class _Outgoing:
    """A claimed declaration draft and what goes to the bureau with it."""

    draft: StoredDeclaration
    payload: dict[str, Any]
    linked_bureau: str | None
    """The bureau's number of the declaration it re-collects."""
    record: Record
    """The draft's record as claimed, without its payload."""


def _unloaded(rec: Record) -> Record:
    """A declaration record without its payload (what is kept once it is sent)."""
    data = {k: v for k, v in rec.data.items() if k != "payload"}
    return Record(rec.kind, rec.unit_no, rec.key, rec.version, data)


def _confirmation_digests(
    employer: Employer,
    workers: Sequence[Worker],
    pack: RulePack,
    as_of: YearMonth | None,
    cut_off: str | None,
) -> tuple[str | None, list[str]]:
    """The cut-off month and each worker's digest as a confirmation form prints
    them (the QR code's digest); ``cut_off`` as
    :func:`~pension_collect.ports.forms.forms_input_from_workers` takes it."""
    forms = forms_input_from_workers(employer, workers, pack=pack, as_of=as_of, cut_off=cut_off)
    unit = forms.employer.unit_no
    return forms.print_until, [
        printed_digest(unit, forms.print_until, sheet.collected) for sheet in forms.workers
    ]


def _between(
    progress: G.Progress | None,
    done: int,
    total: int | None,
    committed: Callable[[], Iterable[str]],
) -> None:
    """After ``done`` of ``total`` items of a long step: tell ``progress``, whose
    cancel stops the step (:class:`~pension_collect.workflow.Cancelled` naming
    the keys ``committed()`` gives: asked for only then, as listing every key
    committed so far after each item made a step of N items take N^2 / 2
    copies). The call after the last item cannot cancel anything."""
    if done == total:
        if progress is not None:
            progress(done, total)
        return
    try:
        G.report_progress(progress, done, total)
    except G.Cancelled as exc:
        exc.done, exc.total, exc.committed = done, total, tuple(committed())
        raise


def _saved_keys(committed: list[str], group: list[StoredWorker]) -> list[str]:
    """The keys of a batch committed so far and of the group under way."""
    return [*committed, *(sw.key for sw in group)]


def _with_bureau(sw: StoredWorker, synced: Record | None) -> StoredWorker:
    """A stored worker with the bureau's record of its synced record attached
    (a worker record keeps none: docs/storage.md); as it is when it holds one
    already (written by an earlier release) or nothing was synced for it."""
    if sw.worker.bureau is not None or synced is None:
        return sw
    bureau = R.bureau_record(sw.key, synced.data)
    return attrs.evolve(sw, worker=attrs.evolve(sw.worker, bureau=bureau))


def _key_or_none(worker: Worker) -> str | None:
    try:
        return canonical_id(worker.id_number)
    except InvalidIdentityNumber:
        return None


def _failed_in(prev: StoredWorker | None) -> str | None:
    """The declaration a worker saved again is re-collected for ([P3.7]), if any."""
    if prev is None:
        return None
    return prev.failed_in or (prev.declaration if prev.status is WorkerStatus.FAILED else None)
