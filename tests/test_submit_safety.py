"""Submitting safely (issue #9, findings 1, 2, 3 and 10), on memory and SQLite.

Findings 1 to 3 are about the two transactions around the bureau call: a
draft left by a lost answer, a transport error or a refusal is never stuck,
two sessions send one declaration, the employer declaration is idempotent.
Finding 10 is about what is sent: exactly what was signed. The SIGKILL fault
test and the race between processes are tests/test_submit_faults.py.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.identity import mask
from pension_collect.model import Employer
from pension_collect.ports.forms import QrPayload, forms_input, verify_payload
from pension_collect.ports.storage import AuditEntry, ConflictError, RecordKind, Storage
from pension_collect.ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    Transport,
    TransportError,
)
from pension_collect.workflow import (
    CollectionSession,
    DeclarationInFlight,
    RecordChangedOutside,
    SignedFormMismatch,
    WorkerStatus,
)
from pension_collect.workflow import guards as G
from workflow_fixtures import STORES, Setup, make_setup, store_url, to_collecting, to_ready


@pytest.fixture(params=STORES)
def s(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    setup = make_setup(store_url(request.param, tmp_path))
    yield setup
    setup.storage.close()


def _second_handle(s: Setup) -> Storage:
    """Another handle on the store of ``s`` (another connection to the file)."""
    if s.storage.url == "memory:":
        handle: Storage = s.storage.handle()  # type: ignore[attr-defined]
        return handle
    return s.host.open_storage(s.storage.url)


def _session(s: Setup, transport: Transport, storage: Storage | None = None) -> CollectionSession:
    return CollectionSession(
        storage or s.storage,
        transport,
        unit_no=s.dossier.employer.unit_no,
        actor="clerk-2",
        host=s.host,
        as_of=s.dossier.as_of,
        clock=s.clock,
    )


class _WorkerConflict:
    """A store whose transactions refuse every batch of worker records with a
    ConflictError, as when another session changed one since it was read."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.url = inner.url
        self.schema_version = inner.schema_version

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.inner.transaction() as tx:
            yield _ConflictingTx(tx)

    def close(self) -> None:
        pass


class _ConflictingTx:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def put_many(self, kind: RecordKind, unit_no: str, writes: Any) -> list[int]:
        if kind is RecordKind.WORKER:
            raise ConflictError(kind.value, writes[0].key, writes[0].expected_version, 99)
        result: list[int] = self._tx.put_many(kind, unit_no, writes)
        return result


class _Wrapped:
    """A transport that delegates to another and changes what ``submit`` does."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class LostAnswer(_Wrapped):
    """The bureau gets the declaration, the answer never comes back."""

    def submit(self, *args: Any, **kwargs: Any) -> DeclarationStatus:
        self.calls += 1
        self.inner.submit(*args, **kwargs)
        raise TransportError("the connection was reset before the answer arrived")


class Unreachable(_Wrapped):
    """The bureau is never reached."""

    def submit(self, *args: Any, **kwargs: Any) -> DeclarationStatus:
        self.calls += 1
        raise TransportError("the bureau cannot be reached")


class Refusing(_Wrapped):
    """The bureau refuses the declaration as a whole."""

    def submit(self, *args: Any, **kwargs: Any) -> DeclarationStatus:
        self.calls += 1
        raise BureauError("the bureau refuses the request")


def _bureau(s: Setup, kind: DeclarationKind) -> list[DeclarationStatus]:
    return [d for d in s.bureau.declarations(s.dossier.employer.unit_no) if d.kind is kind]


def _actions(s: Setup, action: str) -> int:
    return sum(1 for e in s.session.audit() if e.action == action)


class TestResume:
    """Finding 1: the bureau is called outside any transaction; a draft left
    behind by anything is sent again with the same key."""

    def test_lost_answer_resumes_with_the_same_key(self, s: Setup) -> None:
        """The bureau got the declaration but the answer was lost: the draft
        stays with its workers claimed; a new session sends it again with the
        same key; the bureau holds one declaration; the store is not stuck."""
        to_ready(s)
        lost = LostAnswer(s.session.transport)
        with pytest.raises(TransportError):
            _session(s, lost).submit_declaration()
        (draft,) = s.session.declarations()[-1:]
        assert (draft.key, draft.state, draft.bureau_id) == ("workers-1", "draft", None)
        assert {w.status for w in s.session.workers()} == {WorkerStatus.SUBMITTED}
        assert len(_bureau(s, DeclarationKind.WORKERS)) == 1

        decl = s.reopen().submit_declaration()
        assert (decl.key, decl.idempotency_key) == (draft.key, draft.idempotency_key)
        assert decl.state is DeclarationState.SUBMITTED
        (at_bureau,) = _bureau(s, DeclarationKind.WORKERS)
        assert decl.bureau_id == at_bureau.id
        assert _actions(s, "declaration.created") == 2  # employer-1 and workers-1
        assert _actions(s, "declaration.submitted") == 2
        assert _actions(s, "worker.submitted") == len(s.keys)

    def test_transport_error_before_the_bureau_resumes(self, s: Setup) -> None:
        """The bureau was never reached: the next submit (same session) sends
        the draft; one declaration."""
        to_ready(s)
        real = s.session.transport
        s.session.transport = Unreachable(real)
        for _ in range(2):  # as often as it fails: never stuck, never a second draft
            with pytest.raises(TransportError):
                s.session.submit_declaration()
        assert _bureau(s, DeclarationKind.WORKERS) == []
        s.session.transport = real
        decl = s.session.submit_declaration()
        assert decl.key == "workers-1"
        assert [d.id for d in _bureau(s, DeclarationKind.WORKERS)] == [decl.bureau_id]
        assert [d.key for d in s.session.declarations()] == ["employer-1", "workers-1"]

    def test_a_late_resume_records_the_conclusion(self, s: Setup) -> None:
        """A draft sent again after the bureau has concluded it records the
        conclusion at once: the workers do not stay submitted."""
        to_ready(s)
        with pytest.raises(TransportError):
            _session(s, LostAnswer(s.session.transport)).submit_declaration()
        s.bureau.settle()
        decl = s.session.submit_declaration()
        assert decl.state is DeclarationState.SUCCEEDED
        assert {w.status for w in s.session.workers()} == {WorkerStatus.ACCEPTED}
        assert _actions(s, "declaration.concluded") == 2

    def test_a_late_resume_meeting_a_changed_worker_keeps_the_draft(self, s: Setup) -> None:
        """A draft sent again after the bureau concluded it, while a worker
        record changes under the outcomes' write (ConflictError on a worker):
        the error is raised and nothing of the answer is kept (the draft stays
        a draft, no outcome is recorded); the next submit records the
        conclusion. Only a conflict on the draft itself means another session
        recorded the answer."""
        to_ready(s)
        with pytest.raises(TransportError):
            _session(s, LostAnswer(s.session.transport)).submit_declaration()
        s.bureau.settle()
        logged = [_actions(s, a) for a in ("declaration.submitted", "worker.accepted")]
        with pytest.raises(ConflictError) as info:
            _session(s, s.session.transport, _WorkerConflict(s.storage)).submit_declaration()
        assert info.value.kind == "worker"
        assert s.session.declaration("workers-1").state is DeclarationState.DRAFT
        assert {w.status for w in s.session.workers()} == {WorkerStatus.SUBMITTED}
        assert [_actions(s, a) for a in ("declaration.submitted", "worker.accepted")] == logged
        decl = s.session.submit_declaration()
        assert decl.state is DeclarationState.SUCCEEDED
        assert {w.status for w in s.session.workers()} == {WorkerStatus.ACCEPTED}

    def test_refused_declaration_closes_the_draft(self, s: Setup) -> None:
        """The bureau refuses the declaration as a whole: the error is raised, the
        draft is closed as failed, its workers are collected again; the next
        submit makes a new declaration."""
        to_ready(s)
        real = s.session.transport
        s.session.transport = Refusing(real)
        with pytest.raises(BureauError):
            s.session.submit_declaration()
        refused = s.session.declaration("workers-1")
        assert refused.state is DeclarationState.FAILED
        assert "bureau.error" in refused.message
        assert {w.status for w in s.session.workers()} == {WorkerStatus.COLLECTED}
        s.session.transport = real
        decl = s.session.submit_declaration()
        assert (decl.key, decl.state) == ("workers-2", DeclarationState.SUBMITTED)
        assert len(_bureau(s, DeclarationKind.WORKERS)) == 1
        assert _actions(s, "declaration.refused") == 1
        assert _actions(s, "worker.returned") == len(s.keys)

    def test_draft_changed_in_the_store_is_not_sent(self, s: Setup) -> None:
        """A draft whose payload was changed in the store after it was created is
        refused (RecordChangedOutside), not sent."""
        to_ready(s)
        with pytest.raises(TransportError):
            _session(s, Unreachable(s.session.transport)).submit_declaration()
        unit = s.dossier.employer.unit_no
        with s.storage.transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, unit, "workers-1")
            assert rec is not None
            data = copy.deepcopy(rec.data)
            data["payload"]["workers"][0]["worker"]["name"] = "王五"
            tx.put(RecordKind.DECLARATION, unit, "workers-1", data, expected_version=rec.version)
        with pytest.raises(RecordChangedOutside) as info:
            s.session.submit_declaration()
        assert info.value.details == [
            {"declaration": "workers-1", "problem": "payload", "fields": ["payload"]}
        ]
        assert _bureau(s, DeclarationKind.WORKERS) == []


class TestTwoSessions:
    """Finding 2: two sessions submitting at once make one declaration."""

    def test_check_and_draft_are_one_transaction(
        self, s: Setup, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Session B is between its checks and its draft when session A submits
        (through another handle, in another thread): A waits for B's
        transaction, then finds B's declaration; the bureau holds one."""
        to_ready(s)
        other = _second_handle(s)
        a = _session(s, s.session.transport, other)
        outcome: dict[str, Any] = {}

        def submit_a() -> None:
            try:
                outcome["a"] = a.submit_declaration().key
            except DeclarationInFlight as exc:
                outcome["a"] = exc.code

        real = G.require_submittable
        racer = threading.Thread(target=submit_a)

        def require_submittable_then_race(workers: Any) -> Any:
            if threading.current_thread() is not racer and not racer.ident:
                racer.start()  # B is between its checks and its draft: A goes now
                racer.join(1.0)  # A runs to its end, unless B's transaction holds it back
            return real(workers)

        monkeypatch.setattr(G, "require_submittable", require_submittable_then_race)
        b = s.session.submit_declaration()
        racer.join(60)
        other.close()
        assert not racer.is_alive()
        assert b.key == "workers-1"
        assert outcome["a"] in ("workers-1", "workflow.declaration-in-flight")
        assert len(_bureau(s, DeclarationKind.WORKERS)) == 1
        assert [d.key for d in s.session.declarations()] == ["employer-1", "workers-1"]

    def test_one_draft_sent_by_two_sessions_is_recorded_once(self, s: Setup) -> None:
        """A's answer is slow; B meanwhile sends the same draft again (same key)
        and records the answer; A then finds it recorded: one declaration at the
        bureau, one submitted entry in the audit log."""
        to_ready(s)
        arrived, release = threading.Event(), threading.Event()

        class Slow(_Wrapped):
            def submit(self, *args: Any, **kwargs: Any) -> DeclarationStatus:
                status: DeclarationStatus = self.inner.submit(*args, **kwargs)
                arrived.set()
                release.wait(30)
                return status

        other = _second_handle(s)
        a = _session(s, Slow(s.session.transport), other)
        got: dict[str, Any] = {}
        racer = threading.Thread(target=lambda: got.setdefault("a", a.submit_declaration()))
        racer.start()
        assert arrived.wait(30)
        b = s.session.submit_declaration()
        release.set()
        racer.join(60)
        other.close()
        assert got["a"].key == b.key == "workers-1"
        assert got["a"].bureau_id == b.bureau_id
        assert len(_bureau(s, DeclarationKind.WORKERS)) == 1
        log = s.session.audit(declaration="workers-1")
        assert [e.action for e in log].count("declaration.submitted") == 1
        assert [e.action for e in log].count("worker.submitted") == len(s.keys)

    def test_a_conflict_on_the_draft_looks_again(self, s: Setup) -> None:
        """On a store that lets two sessions try to create the same draft, the
        second is told (ConflictError) and the submit looks again instead of
        failing: one declaration."""
        to_ready(s)
        tried: list[str] = []

        class Racing:
            """A transaction whose first draft creation finds the key taken."""

            def __init__(self, tx: Any) -> None:
                self._tx = tx

            def put(self, kind: RecordKind, unit_no: str, key: str, data: Any, **kw: Any) -> Any:
                if kind is RecordKind.DECLARATION and kw["expected_version"] == 0 and not tried:
                    tried.append(key)
                    raise ConflictError(kind.value, key, 0, 1)
                return self._tx.put(kind, unit_no, key, data, **kw)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._tx, name)

        class RacingStore:
            def __init__(self, store: Storage) -> None:
                self._store = store

            @contextlib.contextmanager
            def transaction(self) -> Iterator[Any]:
                with self._store.transaction() as tx:
                    yield Racing(tx)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._store, name)

        session = _session(s, s.session.transport, RacingStore(s.storage))  # type: ignore[arg-type]
        decl = session.submit_declaration()
        assert tried == ["workers-1"]
        assert (decl.key, decl.state) == ("workers-1", DeclarationState.SUBMITTED)
        assert len(_bureau(s, DeclarationKind.WORKERS)) == 1


class TestEmployerDeclaration:
    """Finding 3: the employer declaration has the same draft, key and resume."""

    def _collected(self, s: Setup) -> None:
        s.session.start()
        s.session.sync()
        s.session.collect_employer(s.dossier.employer)

    def test_submitted_twice_is_one_declaration(self, s: Setup) -> None:
        """Submitting the same employer information twice makes one declaration."""
        self._collected(s)
        first = s.session.submit_employer_declaration()
        again = s.reopen().submit_employer_declaration()
        assert (again.key, again.bureau_id) == (first.key, first.bureau_id)
        assert len(_bureau(s, DeclarationKind.EMPLOYER)) == 1
        s.bureau.settle()
        s.session.refresh(first.key)
        assert s.session.submit_employer_declaration().key == "employer-1"
        assert len(_bureau(s, DeclarationKind.EMPLOYER)) == 1

    def test_lost_answer_resumes_employer_1(self, s: Setup) -> None:
        """A lost answer leaves employer-1 a draft only until the next call, which
        sends it again with its key: one declaration, and the workers may follow."""
        self._collected(s)
        with pytest.raises(TransportError):
            _session(s, LostAnswer(s.session.transport)).submit_employer_declaration()
        assert s.session.declaration("employer-1").state is DeclarationState.DRAFT
        decl = s.session.submit_employer_declaration()
        assert decl.key == "employer-1"
        assert decl.state is DeclarationState.SUBMITTED
        assert [d.id for d in _bureau(s, DeclarationKind.EMPLOYER)] == [decl.bureau_id]
        state = s.session.state()
        assert state is not None
        assert state.employer_declaration == "employer-1"

    def test_changed_information_is_declared_after_the_first(self, s: Setup) -> None:
        """Changed employer information waits for the previous declaration's
        result (DeclarationInFlight), then is declared as employer-2."""
        self._collected(s)
        first = s.session.submit_employer_declaration()
        changed: Employer = attrs.evolve(s.dossier.employer, phone="0631-5800000")
        s.session.collect_employer(changed)
        with pytest.raises(DeclarationInFlight):
            s.session.submit_employer_declaration()
        s.bureau.settle()
        s.session.refresh(first.key)
        second = s.session.submit_employer_declaration()
        assert second.key == "employer-2"
        assert len(_bureau(s, DeclarationKind.EMPLOYER)) == 2


# -- finding 10: submit exactly what was signed ---------------------------------------------


def _edit(s: Setup, key: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a worker record in the store, as another program would."""
    unit = s.dossier.employer.unit_no
    with s.storage.transaction() as tx:
        rec = tx.get(RecordKind.WORKER, unit, key)
        assert rec is not None
        data = copy.deepcopy(rec.data)
        change(data)
        tx.put(RecordKind.WORKER, unit, key, data, expected_version=rec.version)


def _nothing_declared(s: Setup) -> None:
    assert _bureau(s, DeclarationKind.WORKERS) == []
    assert [d.key for d in s.session.declarations()] == ["employer-1"]


def _edit_balance(data: dict[str, Any]) -> None:
    data["worker"]["account"][0]["balance"] = "99999.99"  # a year the form prints


class TestSubmitWhatWasSigned:
    """Finding 10: every record is checked against its key and its audit log,
    each worker declared against the digest of its signed confirmation form."""

    def test_balance_edited_after_signing(self, s: Setup) -> None:
        """A balance edited in the store after the form was signed: refused,
        naming the worker (masked) and the field; saving the worker again,
        printing, signing and receiving it lets the declaration go."""
        to_ready(s)
        _edit(s, s.keys[1], _edit_balance)
        with pytest.raises(RecordChangedOutside) as info:
            s.session.submit_declaration()
        assert info.value.code == "workflow.record-changed-outside"
        assert info.value.keys == (mask(s.keys[1]),)
        assert info.value.details == [
            {"worker": mask(s.keys[1]), "problem": "audit", "fields": ["worker"]}
        ]
        assert s.keys[1] not in str(info.value)
        _nothing_declared(s)
        s.session.worker(s.keys[1])
        s.session.save_worker(s.workers[1])
        s.session.print_confirmation_forms()
        s.session.record_received([s.keys[1]])
        assert s.session.submit_declaration().key == "workers-1"

    def test_forged_accepted_status(self, s: Setup) -> None:
        """A worker not yet received, marked accepted in the store so that it
        would be left out: refused."""
        to_collecting(s)
        for worker in s.workers:
            s.session.save_worker(worker)
        s.session.print_confirmation_forms()
        s.session.record_received(s.keys[:2])
        _edit(s, s.keys[2], lambda d: d.update(status="accepted"))
        with pytest.raises(RecordChangedOutside) as info:
            s.session.submit_declaration()
        assert info.value.details == [
            {"worker": mask(s.keys[2]), "problem": "audit", "fields": ["status"]}
        ]
        _nothing_declared(s)

    def test_forged_receipts(self, s: Setup) -> None:
        """A signed form and handbook marked received in the store, not through
        record_received: refused."""
        to_collecting(s)
        for worker in s.workers:
            s.session.save_worker(worker)
        s.session.print_confirmation_forms()
        s.session.record_received(s.keys[:2])
        _edit(s, s.keys[2], lambda d: d.update(form_received=True, handbook_received=True))
        with pytest.raises(RecordChangedOutside) as info:
            s.session.submit_declaration()
        assert info.value.keys == (mask(s.keys[2]),)
        assert info.value.details[0]["fields"] == ["form_received", "handbook_received"]
        _nothing_declared(s)

    def test_record_identity_differs_from_its_key(self, s: Setup) -> None:
        """A record holding another worker's data under its key: refused."""
        to_ready(s)
        unit = s.dossier.employer.unit_no
        with s.storage.transaction() as tx:
            theirs = tx.get(RecordKind.WORKER, unit, s.keys[1])
            mine = tx.get(RecordKind.WORKER, unit, s.keys[0])
            assert theirs is not None
            assert mine is not None
            tx.put(RecordKind.WORKER, unit, s.keys[0], theirs.data, expected_version=mine.version)
        with pytest.raises(RecordChangedOutside) as info:
            s.session.submit_declaration()
        assert info.value.details == [
            {"worker": mask(s.keys[0]), "problem": "identity", "fields": ["worker"]}
        ]
        _nothing_declared(s)

    def test_data_and_log_forged_together_still_differ_from_the_signed_form(self, s: Setup) -> None:
        """The balance edited and an audit entry appended to match it: the record
        agrees with its log, not with the digest of the form that was signed
        (SignedFormMismatch, with both check codes)."""
        to_ready(s)
        key = s.keys[0]
        signed = s.session.worker(key)
        _edit(s, key, _edit_balance)
        unit = s.dossier.employer.unit_no
        with s.storage.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, unit, key)
            assert rec is not None
            stamp = s.clock().isoformat()
            forged = AuditEntry(
                at=stamp,
                actor="x",
                unit_no=unit,
                action="worker.note",
                subject_kind=RecordKind.WORKER,
                subject_key=key,
                message="note",
                after={"worker": rec.data["worker"]},
            )
            tx.append_audit([forged])
            printed = rec.data["confirmation"]
        with pytest.raises(SignedFormMismatch) as info:
            s.session.submit_declaration()
        assert info.value.code == "workflow.signed-form-mismatch"
        assert info.value.keys == (mask(key),)
        (detail,) = info.value.details
        assert detail["signed"] == printed["digest"][:8]
        assert detail["stored"] != detail["signed"]
        _nothing_declared(s)
        # the digest stored is the one on the paper: the signed data agree with it
        dossier = attrs.evolve(s.dossier, workers=(signed.worker,))
        sheet = forms_input(dossier, pack=s.session._pack).workers[0]
        paper = QrPayload(
            unit_no=unit,
            worker=sheet.key,
            declaration_ref=None,
            print_until=printed["print_until"],
            digest=printed["digest"],
        )
        assert verify_payload(paper, dossier, pack=s.session._pack).agrees

    def test_each_worker_is_compared_at_its_own_cut_off(self, s: Setup) -> None:
        """The workers are printed again in memory grouped by the cut-off month
        stored with each: one worker's cut-off moved (record and log forged
        together, the digest left) differs from its paper, the others, at the
        cut-off they were printed with, do not."""
        to_ready(s)
        key = s.keys[2]
        unit = s.dossier.employer.unit_no
        with s.storage.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, unit, key)
            assert rec is not None
            printed = rec.data["confirmation"]
            assert printed["print_until"] == "2011-12"  # [P3.3b]
            moved = {**printed, "print_until": "2005-12"}
            tx.put(
                RecordKind.WORKER,
                unit,
                key,
                {**rec.data, "confirmation": moved},
                expected_version=rec.version,
            )
            tx.append_audit(
                [
                    AuditEntry(
                        at=s.clock().isoformat(),
                        actor="x",
                        unit_no=unit,
                        action="worker.note",
                        subject_kind=RecordKind.WORKER,
                        subject_key=key,
                        message="note",
                        after={"confirmation": moved},
                    )
                ]
            )
        with pytest.raises(SignedFormMismatch) as info:
            s.session.submit_declaration()
        assert info.value.keys == (mask(key),)
        (detail,) = info.value.details
        assert detail["signed"] == printed["digest"][:8]
        _nothing_declared(s)

    def test_untouched_records_are_submitted(self, s: Setup) -> None:
        """Nothing changed: the declaration goes, and it carries the signed data."""
        to_ready(s)
        decl = s.session.submit_declaration()
        (at_bureau,) = _bureau(s, DeclarationKind.WORKERS)
        assert decl.bureau_id == at_bureau.id
        assert set(decl.workers) == set(s.keys)
