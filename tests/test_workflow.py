"""The collection session: every guard tried by skipping it, events, the end-to-end loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.hookspecs import hookimpl
from pension_collect.model import Segment, YearMonth, money
from pension_collect.ports.storage import ConflictError, CorruptRecord, RecordKind
from pension_collect.ports.transport import DeclarationKind, DeclarationState
from pension_collect.workflow import (
    WINDOW_CODES,
    AlreadyAccepted,
    Cancelled,
    ConfirmationFormMissing,
    DeclarationConcluded,
    DeclarationInFlight,
    DeclarationSubmitted,
    EmployerFirst,
    FormExists,
    IncompleteWorker,
    NothingToSubmit,
    NotReceived,
    NotStarted,
    PendingDeclaration,
    PersonNotSynced,
    RecollectionIncomplete,
    RuleErrors,
    SessionClosed,
    SessionState,
    StoredWorker,
    SyncFirst,
    SyncRequired,
    VerificationFormMissing,
    WindowOnlyChange,
    WindowVisitRequired,
    WorkerLocked,
    WorkerSaved,
    WorkerStatus,
    WorkflowError,
)
from workflow_fixtures import (
    PERSISTENT_STORES,
    STORES,
    Setup,
    make_setup,
    many_workers,
    more_persons,
    sqlite_url,
    store_url,
    to_collecting,
    to_declared,
    to_ready,
)


@pytest.fixture
def s() -> Setup:
    return make_setup()


OTHER_UNIT = "10099999"


def _submit_and_conclude(s: Setup) -> str:
    decl = s.session.submit_declaration()
    s.bureau.settle()
    return s.session.refresh(decl.key).key


def _move(s: Setup, key: str, unit_no: str) -> None:
    """At the bureau: the person of ``key`` now belongs to ``unit_no``."""
    person = s.bureau.person_by_id(key)
    assert person is not None
    s.bureau.transfer_person(person.person_no, unit_no)


class TestGuards:
    def test_p3_pending_declaration_blocks_start(self, s: Setup) -> None:
        """[P3] Start is refused while the bureau shows a pending declaration."""
        s.bureau.submit(
            s.dossier.employer.unit_no, DeclarationKind.EMPLOYER, {}, idempotency_key="x"
        )
        with pytest.raises(PendingDeclaration) as info:
            s.session.start()
        assert info.value.code == "workflow.pending-declaration"
        assert info.value.procedure == "P3"
        assert s.session.state() is None

    def test_steps_before_start_refused(self, s: Setup) -> None:
        """[P3] No step runs before the session is started."""
        with pytest.raises(NotStarted):
            s.session.sync()
        with pytest.raises(NotStarted):
            s.session.save_worker(s.workers[0])

    def test_p31_employer_before_sync_refused(self, s: Setup) -> None:
        """[P3.1] Employer collection before a data sync is refused."""
        s.session.start()
        with pytest.raises(SyncFirst) as info:
            s.session.collect_employer(s.dossier.employer)
        assert info.value.procedure == "P3.1"

    def test_p31_employer_declaration_needs_employer(self, s: Setup) -> None:
        """[P3.1] The employer declaration needs the employer information collected."""
        s.session.start()
        s.session.sync()
        with pytest.raises(EmployerFirst):
            s.session.submit_employer_declaration()

    def test_p31_employer_declaration_submittable_at_once(self, s: Setup) -> None:
        """[P3.1] The employer declaration is submittable right after collection."""
        s.session.start()
        s.session.sync()
        s.session.collect_employer(s.dossier.employer)
        decl = s.session.submit_employer_declaration()
        assert decl.state is DeclarationState.SUBMITTED
        assert decl.kind is DeclarationKind.EMPLOYER

    def test_p32_verification_forms_need_employer(self, s: Setup) -> None:
        """[P3.1] Verification forms are refused before the employer is collected."""
        s.session.start()
        s.session.sync()
        with pytest.raises(EmployerFirst):
            s.session.print_verification_forms(s.keys)

    def test_p32_save_without_verification_form_refused(self, s: Setup) -> None:
        """[P3.2] A worker is saved only after their verification form was printed."""
        to_collecting(s)
        s.session.sync()  # a new sync: the printed forms are out of date
        with pytest.raises(VerificationFormMissing) as info:
            s.session.save_worker(s.workers[0])
        assert info.value.keys == ("371002********1239",)

    def test_p34f_incomplete_worker_refused(self, s: Setup) -> None:
        """[P3.4f] A worker lacking the account part is not saved."""
        to_collecting(s)
        with pytest.raises(IncompleteWorker) as info:
            s.session.save_worker(attrs.evolve(s.workers[0], account=None))
        assert info.value.details == ["account"]
        assert s.session.workers() == []

    def test_p34f_empty_part_is_explicit(self, s: Setup) -> None:
        """[P3.4f] An empty history part (no red book, nothing) is a collected part."""
        to_collecting(s)
        w = attrs.evolve(s.workers[2], history=())
        assert s.session.save_worker(w).worker.history == ()

    def test_p34_rule_errors_block_warnings_kept(self, s: Setup) -> None:
        """[P3.4] Rule errors block the save; warnings are kept with the worker."""
        to_collecting(s)
        bad = Segment(start=YearMonth(1990, 1), end=YearMonth(1993, 6), total=money("0"))
        with pytest.raises(RuleErrors) as info:
            s.session.save_worker(attrs.evolve(s.workers[0], history=(bad,)))
        assert "history.crosses-box" in str(info.value)
        assert "张伟" not in str(info.value)
        assert s.keys[0] not in str(info.value)
        transfer = attrs.evolve(s.workers[2].history[1], transferred_on=None)
        saved = s.session.save_worker(
            attrs.evolve(s.workers[2], history=(s.workers[2].history[0], transfer))
        )
        assert "history.transfer-date-missing" in {w.code for w in saved.warnings}

    def test_p33a_name_change_refused(self, s: Setup) -> None:
        """[P3.3a] A name different from the bureau's is refused (window only)."""
        to_collecting(s)
        with pytest.raises(WindowOnlyChange) as info:
            s.session.save_worker(attrs.evolve(s.workers[0], name="张三"))
        assert "张三" not in str(info.value)

    def test_p33a_id_change_refused(self, s: Setup) -> None:
        """[P3.3a] An identity number differing from the bureau's (same person number)
        is refused."""
        to_collecting(s)
        other_id = "371002196503021220"
        with pytest.raises(WindowOnlyChange) as info:
            s.session.save_worker(attrs.evolve(s.workers[0], id_number=other_id))
        assert info.value.details == ["id_number"]

    def test_p33a_sync_required_after_window(self, s: Setup) -> None:
        """[P3.3a] After a window correction the next batch needs a new sync."""
        to_collecting(s)
        s.session.record_window_visit(s.keys[0], "name corrected")
        with pytest.raises(SyncRequired):
            s.session.save_worker(s.workers[1])
        s.session.sync()
        with pytest.raises(VerificationFormMissing):
            s.session.save_worker(s.workers[1])
        s.session.print_verification_forms([s.keys[1]])
        assert s.session.save_worker(s.workers[1]).status == WorkerStatus.COLLECTED

    def test_p35_receipt_needs_confirmation_form(self, s: Setup) -> None:
        """[P3.5] A receipt is refused for a worker whose confirmation form was not printed."""
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        with pytest.raises(ConfirmationFormMissing):
            s.session.record_received([s.keys[0]])

    def test_p35_change_after_print_needs_reprint(self, s: Setup) -> None:
        """[P3.5] Saving again after printing makes the confirmation form stale."""
        to_ready(s)
        s.session.save_worker(s.workers[0])
        with pytest.raises(ConfirmationFormMissing) as info:
            s.session.submit_declaration()
        assert info.value.keys == ("371002********1239",)

    def test_p34g_submit_needs_every_receipt(self, s: Setup) -> None:
        """[P3.4g] Submission is refused until every worker's form and handbook are in."""
        to_collecting(s)
        for w in s.workers:
            s.session.save_worker(w)
        s.session.print_confirmation_forms()
        s.session.record_received(s.keys[:2])
        s.session.record_received(s.keys[2:], handbook=False)
        with pytest.raises(NotReceived) as info:
            s.session.submit_declaration()
        assert len(info.value.keys) == 1
        assert (
            s.bureau.declarations(s.dossier.employer.unit_no)[-1].kind is DeclarationKind.EMPLOYER
        )

    def test_p36_nothing_to_submit(self, s: Setup) -> None:
        """[P3.6] A declaration without collected workers is refused."""
        to_collecting(s)
        with pytest.raises(NothingToSubmit):
            s.session.submit_declaration()

    def test_p36_workers_need_employer_declaration(self, s: Setup) -> None:
        """[P3.1] The workers' declaration needs the employer declaration first."""
        s.session.start()
        s.session.sync()
        with pytest.raises(EmployerFirst):
            s.session.submit_declaration()

    def test_p36_in_flight_blocks_second_and_locks_workers(self, s: Setup) -> None:
        """[P3.6] While a declaration is processed, no second one and no save of its workers."""
        to_ready(s)
        s.session.submit_declaration()
        with pytest.raises(DeclarationInFlight):
            s.session.submit_declaration()
        with pytest.raises(WorkerLocked):
            s.session.save_worker(s.workers[0])

    def test_p37_accepted_worker_not_collected_again(self, s: Setup) -> None:
        """[P3.7] A worker the bureau accepted is not collected again."""
        to_ready(s)
        _submit_and_conclude(s)
        with pytest.raises(AlreadyAccepted):
            s.session.save_worker(s.workers[0])

    def test_p37_resubmit_needs_every_failed_worker(self, s: Setup) -> None:
        """[P3.7] Resubmission waits until every failed worker is collected again."""
        to_ready(s)
        for k in s.keys[1:]:
            _move(s, k, OTHER_UNIT)
        _submit_and_conclude(s)
        assert s.session.failed_workers() == sorted(s.keys[1:])
        for k in s.keys[1:]:
            _move(s, k, s.dossier.employer.unit_no)
            s.session.record_window_visit(k)
        s.session.sync()
        s.session.print_verification_forms(s.keys[1:])
        s.session.worker(s.keys[1])
        s.session.save_worker(s.workers[1])
        with pytest.raises(RecollectionIncomplete) as info:
            s.session.submit_declaration()
        assert info.value.keys == ("371083********3516",)

    def test_errors_are_typed_with_code_and_paragraph(self) -> None:
        """Every workflow error has a workflow.* code, Chinese text and, except the
        two that belong to no paragraph (a cancelled step, a form file that
        exists), a paragraph."""
        import pension_collect.workflow.guards as errors

        names = [n for n in errors.__all__ if n not in ("WorkflowError", "Progress")]
        for cls in [getattr(errors, n) for n in names]:
            err = cls()
            assert isinstance(err, WorkflowError)
            assert err.code.startswith("workflow.")
            assert err.message_zh
            if cls in (Cancelled, FormExists):
                assert err.procedure == ""
                continue
            assert err.procedure.startswith("P3")
            assert f"[{err.procedure}]" in str(err)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def pension_collect_worker_saved(self, event: WorkerSaved) -> None:
        self.events.append(event)

    @hookimpl
    def pension_collect_declaration_submitted(self, event: DeclarationSubmitted) -> None:
        self.events.append(event)

    @hookimpl
    def pension_collect_declaration_concluded(self, event: DeclarationConcluded) -> None:
        self.events.append(event)


class TestEvents:
    def test_events_fire_in_order(self) -> None:
        """Saved, submitted and concluded events reach a plugin, in order."""
        recorder = Recorder()
        s = make_setup(plugins=[recorder])
        to_ready(s)
        _submit_and_conclude(s)
        kinds = [type(e).__name__ for e in recorder.events]
        assert kinds == [
            "DeclarationSubmitted",
            "DeclarationConcluded",
            "WorkerSaved",
            "WorkerSaved",
            "WorkerSaved",
            "DeclarationSubmitted",
            "DeclarationConcluded",
        ]
        last = recorder.events[-1]
        assert last.state is DeclarationState.SUCCEEDED
        assert len(last.outcomes) == 3
        assert "张伟" not in repr(recorder.events[2])

    def test_no_event_when_save_refused(self) -> None:
        """A refused save fires no event."""
        recorder = Recorder()
        s = make_setup(plugins=[recorder])
        to_collecting(s)
        with pytest.raises(IncompleteWorker):
            s.session.save_worker(attrs.evolve(s.workers[0], history=None))
        assert [e for e in recorder.events if isinstance(e, WorkerSaved)] == []


class TestConcurrencyInProcess:
    def test_second_clerk_gets_conflict(self, s: Setup) -> None:
        """Two sessions saving one worker from the same version: one conflict, no loss."""
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        other = s.reopen()
        other.worker(s.keys[0])
        s.session.worker(s.keys[0])
        first = attrs.evolve(s.workers[0], ethnicity="满族")
        s.session.save_worker(first)
        with pytest.raises(ConflictError):
            other.save_worker(attrs.evolve(s.workers[0], ethnicity="回族"))
        assert s.session.worker(s.keys[0]).worker.ethnicity == "满族"
        saves = [e for e in s.session.audit(worker=s.keys[0]) if e.action == "worker.saved"]
        assert len(saves) == 2

    def test_unread_existing_worker_conflicts(self, s: Setup) -> None:
        """A session that never read a stored worker cannot overwrite it blindly."""
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        with pytest.raises(ConflictError):
            s.reopen().save_worker(s.workers[0])


class TestEndToEnd:
    @pytest.mark.parametrize("store", PERSISTENT_STORES)
    def test_full_loop_on_a_store(self, store: str, tmp_path: Path) -> None:
        """Every step on a real store (a SQLite file, a PostgreSQL database where
        its plugin is installed), as the sheet tells it: the settled
        account is caught at save ([P3.4e]) and collected after the window and a
        new sync; the bureau fails a worker another employer took over, and
        exactly that one is collected again after the window; the second
        declaration succeeds."""
        s = make_setup(store_url(store, tmp_path))
        unit = s.dossier.employer.unit_no
        settled = s.bureau.person_by_id(s.keys[1])
        assert settled is not None
        s.bureau.settle_account(settled.person_no)
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        with pytest.raises(RuleErrors) as info:
            s.session.save_worker(s.workers[1], index=1)
        assert {f.code for f in info.value.errors} == {"account.not-in-bureau"}
        assert all(f.path.startswith("$.workers[1].account[") for f in info.value.errors)
        s.session.save_worker(s.workers[2])
        # [P3.4e] un-settled at the window; sync again; a new verification form
        s.bureau.unsettle_account(settled.person_no)
        s.session.record_window_visit(s.keys[1], "account un-settled")
        with pytest.raises(SyncRequired):
            s.session.save_worker(s.workers[1])
        s.session.sync()
        with pytest.raises(VerificationFormMissing):
            s.session.save_worker(s.workers[1])
        s.session.print_verification_forms([s.keys[1]])
        assert s.session.save_worker(s.workers[1]).status is WorkerStatus.COLLECTED
        s.session.print_confirmation_forms()
        s.session.record_received(s.keys)
        # meanwhile another employer takes a worker over at the bureau
        _move(s, s.keys[2], OTHER_UNIT)
        first = s.session.submit_declaration()
        s.bureau.tick()
        assert s.session.refresh(first.key).state is DeclarationState.PROCESSING
        s.bureau.tick()
        first = s.session.refresh(first.key)
        assert first.state is DeclarationState.PARTIALLY_SUCCEEDED
        codes = {o.key: o.code for o in first.outcomes if not o.succeeded}
        assert codes == {s.keys[2]: "bureau.other-employer"}
        failed = s.session.failed_workers()
        assert failed == [s.keys[2]]
        assert s.session.worker(s.keys[2]).needs_window
        # the window sorts it out; sync again, new form, collect again
        _move(s, s.keys[2], unit)
        s.session.record_window_visit(s.keys[2])
        s.session.sync()
        s.session.print_verification_forms(failed)
        s.session.worker(s.keys[2])
        s.session.save_worker(s.workers[2])
        s.session.print_confirmation_forms()
        s.session.record_received(failed)
        second = s.session.submit_declaration()
        assert second.linked_to == first.key
        assert second.workers == tuple(failed)
        s.bureau.settle()
        second = s.session.refresh(second.key)
        assert second.state is DeclarationState.SUCCEEDED
        assert {w.status for w in s.session.workers()} == {WorkerStatus.ACCEPTED}
        # the bureau's records now hold the collected data
        synced = {p["id_number"]: p for p in s.bureau.sync(unit).persons}
        assert len(synced[s.keys[2]]["history"]) == 2
        assert len(synced[s.keys[1]]["account"]) == len(s.workers[1].account or ())
        # the audit log tells the story, per declaration and per worker
        s.storage.close()
        reopened = make_setup(store_url(store, tmp_path)).session
        actions = [e.action for e in reopened.audit()]
        assert actions[0] == "session.started"
        assert actions[-1] == "declaration.concluded"
        assert [e.action for e in reopened.audit(worker=s.keys[1])] == [
            "worker.window-visit",
            "worker.saved",
            "forms.confirmation",
            "worker.received",
            "worker.submitted",
            "worker.accepted",
        ]
        story = [e.action for e in reopened.audit(worker=s.keys[2])]
        assert story == [
            "worker.saved",
            "forms.confirmation",
            "worker.received",
            "worker.submitted",
            "worker.failed",
            "worker.window-visit",
            "worker.saved",
            "forms.confirmation",
            "worker.received",
            "worker.submitted",
            "worker.accepted",
        ]
        per_second = reopened.audit(declaration=second.key)
        assert {e.subject_key for e in per_second if e.subject_kind is RecordKind.WORKER} == set(
            failed
        )
        for entry in reopened.audit():
            assert "张伟" not in entry.message
            assert s.keys[0] not in entry.message

    @pytest.mark.parametrize("store", STORES)
    def test_submission_resumes_with_same_key(self, store: str, tmp_path: Path) -> None:
        """A submission interrupted after the bureau accepted it (the real payload,
        through the real transport; the answer never reaches the session) stays a
        draft; the next submit_declaration sends it again with the same key: one
        declaration at the bureau, holding the workers that were signed."""
        s = make_setup(_store_url(store, tmp_path))
        to_ready(s)
        real = s.session.transport
        sent: list[dict[str, Any]] = []

        class Interrupted:
            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def submit(self, *args: Any, **kwargs: Any) -> Any:
                sent.append(kwargs)
                real.submit(*args, **kwargs)
                raise KeyboardInterrupt  # Ctrl-C while the answer is on its way

        s.session.transport = Interrupted()  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt):
            s.session.submit_declaration()
        s.session.transport = real
        decl = s.session.submit_declaration()
        assert (decl.key, decl.idempotency_key) == ("workers-1", sent[0]["idempotency_key"])
        workers_decls = [
            d
            for d in s.bureau.declarations(s.dossier.employer.unit_no)
            if d.kind is DeclarationKind.WORKERS
        ]
        assert [d.id for d in workers_decls] == [decl.bureau_id]
        s.bureau.settle()
        concluded = s.session.refresh(decl.key)
        assert {o.key for o in concluded.outcomes} == set(s.keys)


def _store_url(name: str, tmp_path: Path) -> str:
    return store_url(name, tmp_path)


class TestWorkerStatus:
    def test_is_a_string_enum_with_the_stored_values(self) -> None:
        """WorkerStatus is a StrEnum whose values are the strings stored before."""
        from enum import StrEnum

        assert issubclass(WorkerStatus, StrEnum)
        assert [m.value for m in WorkerStatus] == ["collected", "submitted", "accepted", "failed"]
        assert WorkerStatus.FAILED == "failed"
        assert WorkerStatus("submitted") is WorkerStatus.SUBMITTED

    def test_stored_worker_converts_a_string_status(self) -> None:
        """A StoredWorker built with the plain string holds the member."""
        from workflow_fixtures import example

        sw = StoredWorker(key="k", version=1, worker=example().workers[0], status="failed")
        assert sw.status is WorkerStatus.FAILED
        assert repr(sw) == "StoredWorker(key='*', version=1, status='failed')"

    @pytest.mark.parametrize("store", STORES)
    def test_read_back_as_the_enum(self, store: str, tmp_path: Path) -> None:
        """Every status read back from the store is the enum member; the record
        itself holds the plain string."""
        s = make_setup(_store_url(store, tmp_path))
        to_ready(s)
        _move(s, s.keys[1], OTHER_UNIT)
        seen = {type(w.status) for w in s.session.workers()}
        assert seen == {WorkerStatus}
        assert {w.status for w in s.session.workers()} == {WorkerStatus.COLLECTED}
        decl = s.session.submit_declaration()
        assert s.session.worker(s.keys[0]).status is WorkerStatus.SUBMITTED
        s.bureau.settle()
        s.session.refresh(decl.key)
        by_key = {w.key: w.status for w in s.reopen().workers()}
        assert by_key == {
            s.keys[0]: WorkerStatus.ACCEPTED,
            s.keys[1]: WorkerStatus.FAILED,
            s.keys[2]: WorkerStatus.ACCEPTED,
        }
        assert all(type(v) is WorkerStatus for v in by_key.values())
        assert s.session.failed_workers() == [s.keys[1]]
        with s.storage.transaction() as tx:
            raw = tx.get(RecordKind.WORKER, s.dossier.employer.unit_no, s.keys[1])
        assert raw is not None
        assert type(raw.data["status"]) is str
        assert raw.data["status"] == "failed"

    @pytest.mark.parametrize("store", STORES)
    def test_unknown_status_is_a_corrupt_record(self, store: str, tmp_path: Path) -> None:
        """A record whose status is not a WorkerStatus value is reported as damaged."""
        s = make_setup(_store_url(store, tmp_path))
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        unit = s.dossier.employer.unit_no
        with s.storage.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, unit, s.keys[0])
            assert rec is not None
            tx.put(
                RecordKind.WORKER,
                unit,
                s.keys[0],
                {**rec.data, "status": "approved"},
                expected_version=rec.version,
            )
        with pytest.raises(CorruptRecord) as info:
            s.session.worker(s.keys[0])
        assert info.value.kind is RecordKind.WORKER


class TestLifecycle:
    @pytest.mark.parametrize("store", STORES)
    def test_with_block_closes_the_session_not_the_store(self, store: str, tmp_path: Path) -> None:
        """Leaving ``with`` closes the session; the store and transport it was given
        stay open for a new session, which sees what the first one did."""
        s = make_setup(_store_url(store, tmp_path))
        with s.session as session:
            assert session is s.session
            assert not session.closed
            to_collecting(s)
            session.save_worker(s.workers[0])
        assert s.session.closed
        other = s.reopen()
        assert [w.key for w in other.workers()] == [s.keys[0]]
        assert other.sync().persons  # the transport still answers

    def test_closed_session_refuses_every_step(self, s: Setup) -> None:
        """After close() steps and queries raise SessionClosed, before reaching the
        store or the bureau."""
        to_collecting(s)
        pending_calls: list[str] = []
        transport = s.session.transport
        real = transport.pending_declarations

        def spy(unit_no: str) -> Any:
            pending_calls.append(unit_no)
            return real(unit_no)

        transport.pending_declarations = spy  # type: ignore[method-assign]
        s.session.close()
        steps = [
            s.session.start,
            s.session.sync,
            s.session.state,
            s.session.workers,
            lambda: s.session.save_worker(s.workers[0]),
            lambda: s.session.print_verification_forms(s.keys),
            s.session.submit_declaration,
        ]
        for step in steps:
            with pytest.raises(SessionClosed) as info:
                step()
            assert info.value.code == "workflow.session-closed"
        assert pending_calls == []
        assert s.reopen().workers() == []

    def test_close_is_idempotent(self, s: Setup) -> None:
        """Closing twice is harmless; entering a closed session is refused."""
        s.session.close()
        s.session.close()
        assert s.session.closed
        with pytest.raises(SessionClosed), s.session:
            pass

    def test_exception_in_block_closes_and_propagates(self, s: Setup) -> None:
        """An error inside ``with`` still closes the session and is not swallowed."""
        with pytest.raises(NotStarted), s.session:
            s.session.sync()
        assert s.session.closed


# -- issue #9: the collection as the sheet says it ---------------------------------------


@pytest.fixture(params=STORES)
def ps(request: pytest.FixtureRequest, tmp_path: Path) -> Setup:
    """A fresh setup on a memory store and on a SQLite file."""
    return make_setup(_store_url(request.param, tmp_path))


NOT_AT_BUREAU = "371002197501010014"
"""A valid identity number the bureau holds no person for."""


def _synced(s: Setup, key: str) -> Any:
    from pension_collect.workflow.records import bureau_record

    with s.storage.transaction() as tx:
        rec = tx.get(RecordKind.SYNCED, s.dossier.employer.unit_no, key)
    assert rec is not None
    return bureau_record(key, rec.data)


def _forms(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


class TestOnlyTheBureausPersons:
    """Finding 4 ([P3.2]/[P3.3a]): collection is limited to the persons of the latest sync."""

    def test_print_refuses_a_person_the_sync_lacks(self, ps: Setup, tmp_path: Path) -> None:
        """A verification form for a person the latest sync lacks is refused, naming
        the masked key and the window; nothing is printed or recorded."""
        to_collecting(ps)
        out = tmp_path / "forms"
        with pytest.raises(PersonNotSynced) as info:
            ps.session.print_verification_forms([ps.keys[0], NOT_AT_BUREAU], out_dir=out)
        assert info.value.code == "workflow.person-not-synced"
        assert info.value.keys == ("371002********0014",)
        assert NOT_AT_BUREAU not in str(info.value)
        assert "bureau window" in info.value.message
        assert "sync" in info.value.message
        assert "社保窗口" in info.value.message_zh
        state = ps.session.state()
        assert state is not None
        assert NOT_AT_BUREAU not in state.verification
        assert not list(tmp_path.glob("forms/*.pdf"))

    def test_a_person_of_another_employer_is_not_collected(self, ps: Setup) -> None:
        """A worker the bureau holds under another employer at the latest sync can
        be neither printed nor saved; after the transfer and a sync, both work."""
        _move(ps, ps.keys[2], OTHER_UNIT)
        to_declared(ps)
        with pytest.raises(PersonNotSynced):
            ps.session.print_verification_forms([ps.keys[2]])
        with pytest.raises(PersonNotSynced) as info:
            ps.session.save_worker(ps.workers[2])
        assert info.value.keys == ("371083********3516",)
        assert ps.session.workers() == []
        _move(ps, ps.keys[2], ps.dossier.employer.unit_no)
        ps.session.sync()
        ps.session.print_verification_forms([ps.keys[2]])
        assert ps.session.save_worker(ps.workers[2]).status is WorkerStatus.COLLECTED

    def test_a_form_of_an_earlier_sync_is_not_enough(self, ps: Setup) -> None:
        """A person printed at sync 1 who is gone at sync 2 is refused at save."""
        to_collecting(ps)
        _move(ps, ps.keys[0], OTHER_UNIT)
        ps.session.sync()
        with pytest.raises(PersonNotSynced):
            ps.session.save_worker(ps.workers[0])
        with pytest.raises(PersonNotSynced):
            ps.session.print_verification_forms([ps.keys[0]])

    def test_default_selection_is_the_latest_sync(self, ps: Setup) -> None:
        """Without keys the forms are printed for exactly the persons of the latest sync."""
        _move(ps, ps.keys[1], OTHER_UNIT)
        to_declared(ps)
        printed = ps.session.print_verification_forms()
        assert printed.workers == 2
        state = ps.session.state()
        assert state is not None
        assert sorted(state.verification) == sorted([ps.keys[0], ps.keys[2]])

    def test_window_visit_refuses_an_unknown_key(self, ps: Setup) -> None:
        """A window visit for a key that is neither a synced person nor a stored
        worker is refused and changes nothing; a known key is accepted."""
        to_collecting(ps)
        with pytest.raises(PersonNotSynced) as info:
            ps.session.record_window_visit(NOT_AT_BUREAU, "name corrected")
        assert info.value.keys == ("371002********0014",)
        state = ps.session.state()
        assert state is not None
        assert not state.needs_sync
        assert state.window_visits == {}
        assert [e for e in ps.session.audit() if e.action == "worker.window-visit"] == []
        ps.session.record_window_visit(ps.keys[0].lower(), "name corrected")
        state = ps.session.state()
        assert state is not None
        assert state.needs_sync
        assert list(state.window_visits) == [ps.keys[0]]


class TestNamesComparedAsTheRulesDo:
    """Finding 5 ([P3.3a], workflow side): names compared by canonical_name."""

    @pytest.mark.parametrize("name", ["张伟 ", " 张伟", "张伟\u3000", "张\u3000伟"])
    def test_padding_is_not_a_name_change(self, ps: Setup, name: str) -> None:
        """A name with spaces (also ideographic) around or between the characters
        is the bureau's name: saved, as validate calls it clean."""
        to_collecting(ps)
        saved = ps.session.save_worker(attrs.evolve(ps.workers[0], name=name))
        assert saved.status is WorkerStatus.COLLECTED

    def test_padding_on_the_bureau_side(self, tmp_path: Path) -> None:
        """The bureau's record with a trailing space is the same name."""
        s = make_setup(sqlite_url(tmp_path))
        person = s.bureau.person_by_id(s.keys[0])
        assert person is not None
        person.record = attrs.evolve(person.record, name="张伟 ")
        to_collecting(s)
        assert s.session.save_worker(s.workers[0]).status is WorkerStatus.COLLECTED

    def test_another_name_is_still_refused(self, ps: Setup) -> None:
        """A different name stays a window-only change."""
        to_collecting(ps)
        with pytest.raises(WindowOnlyChange) as info:
            ps.session.save_worker(attrs.evolve(ps.workers[0], name="张 伟伟"))
        assert info.value.details == ["name"]


class TestRecollectionFollowsTheBureausReason:
    """Finding 9 ([P3.7]): a window-type failure needs the window and a newer sync."""

    def _fail_other_employer(self, s: Setup) -> str:
        to_ready(s)
        _move(s, s.keys[2], OTHER_UNIT)
        first = _submit_and_conclude(s)
        assert s.session.failed_workers() == [s.keys[2]]
        return first

    def test_window_failure_needs_visit_then_newer_sync_then_form(self, ps: Setup) -> None:
        """Failed as bureau.other-employer, the worker is not saved again unchanged:
        first the window visit, then a sync, then a new verification form."""
        first = self._fail_other_employer(ps)
        stored = ps.session.worker(ps.keys[2])
        assert stored.needs_window
        assert stored.outcome is not None
        assert stored.outcome.code == "bureau.other-employer"
        _move(ps, ps.keys[2], ps.dossier.employer.unit_no)  # the window did it
        with pytest.raises(WindowVisitRequired) as info:
            ps.session.save_worker(ps.workers[2])
        assert info.value.code == "workflow.window-visit-required"
        assert info.value.keys == ("371083********3516",)
        assert info.value.details == "bureau.other-employer"
        assert "bureau.other-employer" in info.value.message
        ps.session.record_window_visit(ps.keys[2], "transfer done")
        with pytest.raises(SyncRequired):
            ps.session.save_worker(ps.workers[2])
        ps.session.sync()
        with pytest.raises(VerificationFormMissing):
            ps.session.save_worker(ps.workers[2])
        ps.session.print_verification_forms([ps.keys[2]])
        saved = ps.session.save_worker(ps.workers[2])
        assert saved.status is WorkerStatus.COLLECTED
        assert saved.failed_in == first

    def test_a_visit_before_the_failure_does_not_count(self, ps: Setup) -> None:
        """A window visit recorded before the failure does not answer it."""
        to_ready(ps)
        ps.session.record_window_visit(ps.keys[2], "before")
        ps.session.sync()
        ps.session.print_verification_forms()
        for w in ps.workers:
            ps.session.worker(ps.session.key_of(w))
            ps.session.save_worker(w)
        ps.session.print_confirmation_forms()
        ps.session.record_received(ps.keys)
        _move(ps, ps.keys[2], OTHER_UNIT)
        _submit_and_conclude(ps)
        _move(ps, ps.keys[2], ps.dossier.employer.unit_no)
        ps.session.sync()
        ps.session.print_verification_forms([ps.keys[2]])
        ps.session.worker(ps.keys[2])
        with pytest.raises(WindowVisitRequired):
            ps.session.save_worker(ps.workers[2])

    @pytest.mark.parametrize("code", sorted(WINDOW_CODES))
    def test_every_window_code_needs_the_window(self, code: str) -> None:
        """Each of the bureau's window-type codes marks the worker as needing the window."""
        from pension_collect.ports.transport import WorkerOutcome
        from workflow_fixtures import example

        outcome = WorkerOutcome(key="k", succeeded=False, code=code)
        sw = StoredWorker(
            key="k", version=1, worker=example().workers[0], status="failed", outcome=outcome
        )
        assert sw.needs_window
        data = attrs.evolve(outcome, code="bureau.rules")
        assert not attrs.evolve(sw, outcome=data).needs_window

    def test_data_failure_is_saved_again_directly(self, ps: Setup) -> None:
        """Failed by the bureau's rules (bureau.rules: the data), the corrected worker
        is saved again at once: no window visit, no new sync."""
        from pension_collect.rules.weihai2013 import default_pack

        lenient = default_pack()
        lenient = attrs.evolve(
            lenient, rules=tuple(r for r in lenient.rules if r.code != "history.crosses-box")
        )
        ps.session._pack = lenient
        to_collecting(ps)
        bad = Segment(start=YearMonth(1983, 7), end=YearMonth(1993, 6), total=money("0"))
        wrong = attrs.evolve(ps.workers[0], history=(bad,))
        ps.session.save_worker(wrong)
        for w in ps.workers[1:]:
            ps.session.save_worker(w)
        ps.session.print_confirmation_forms()
        ps.session.record_received(ps.keys)
        first = _submit_and_conclude(ps)
        stored = ps.session.worker(ps.keys[0])
        assert stored.status is WorkerStatus.FAILED
        assert stored.outcome is not None
        assert stored.outcome.code == "bureau.rules"
        assert not stored.needs_window
        again = ps.session.save_worker(ps.workers[0])
        assert again.failed_in == first
        state = ps.session.state()
        assert state is not None
        assert state.sync_no == 1

    def test_recollection_declaration_holds_exactly_the_failed(self, ps: Setup) -> None:
        """A worker collected for the first time after a failure is not put into the
        re-collection declaration: it holds exactly the failed workers, and the
        newcomer goes into the next, unlinked declaration."""
        (newcomer,) = more_persons(ps, 1)
        new_key = ps.session.key_of(newcomer)
        first = self._fail_other_employer(ps)
        _move(ps, ps.keys[2], ps.dossier.employer.unit_no)
        ps.session.record_window_visit(ps.keys[2])
        ps.session.sync()
        ps.session.print_verification_forms([ps.keys[2], new_key])
        ps.session.worker(ps.keys[2])
        ps.session.save_worker(ps.workers[2])
        ps.session.save_worker(newcomer)
        ps.session.print_confirmation_forms()
        ps.session.record_received([ps.keys[2], new_key])
        second = ps.session.submit_declaration()
        assert second.linked_to == first
        assert second.workers == (ps.keys[2],)
        sent = ps.bureau.declarations(ps.dossier.employer.unit_no)[-1]
        assert sent.linked_to is not None
        assert ps.session.worker(new_key).status is WorkerStatus.COLLECTED
        ps.bureau.settle()
        ps.session.refresh(second.key)
        third = ps.session.submit_declaration()
        assert third.workers == (new_key,)
        assert third.linked_to is None


class TestRuleErrorsAsCheckReportsThem:
    """RuleErrors carries check()'s findings, with the caller's paths."""

    BAD = Segment(start=YearMonth(1990, 1), end=YearMonth(1993, 6), total=money("0"))

    def test_index_gives_the_callers_paths_and_the_same_findings(self, ps: Setup) -> None:
        """With index=5 the findings are check()'s for $.workers[5] of a dossier
        holding the worker there: code, path, field, related, expected, fix."""
        from pension_collect.model import Dossier
        from pension_collect.rules import check

        to_collecting(ps)
        bad = attrs.evolve(ps.workers[0], history=(self.BAD, *ps.workers[0].history[1:]))
        with pytest.raises(RuleErrors) as info:
            ps.session.save_worker(bad, index=5)
        err = info.value
        assert err.errors
        assert all(f.path.startswith("$.workers[5]") for f in err.findings)
        assert any(f.fix is not None for f in err.errors)
        checked = attrs.evolve(bad, bureau=_synced(ps, ps.keys[0]))
        others = many_workers(ps.workers[2], 5)
        dossier = Dossier(
            employer=ps.dossier.employer, workers=(*others, checked), as_of=ps.dossier.as_of
        )
        report = check(dossier, ps.host.rule_pack(None))

        def shape(fs: Any) -> list[tuple[Any, ...]]:
            return [(f.code, f.severity, f.path, f.field, f.related, f.expected, f.fix) for f in fs]

        assert shape(err.findings) == shape(report.for_worker(5))
        assert err.details == err.errors

    def test_without_index_paths_are_relative_to_the_worker(self, ps: Setup) -> None:
        """Without an index the paths are the worker's own ($.history[0]), never
        $.workers[0] of a one-worker copy; the stored warnings are too."""
        to_collecting(ps)
        bad = attrs.evolve(ps.workers[0], history=(self.BAD,))
        with pytest.raises(RuleErrors) as info:
            ps.session.save_worker(bad)
        paths = [f.path for f in info.value.findings]
        assert "$.history[0]" in paths
        assert not [p for p in paths if p.startswith("$.workers")]
        transfer = attrs.evolve(ps.workers[2].history[1], transferred_on=None)
        saved = ps.session.save_worker(
            attrs.evolve(ps.workers[2], history=(ps.workers[2].history[0], transfer))
        )
        warning = next(w for w in saved.warnings if w.code == "history.transfer-date-missing")
        assert warning.path == "$.history[1]"
        again = ps.session.worker(ps.keys[2]).warnings
        assert [(w.code, w.path, w.severity) for w in again] == [
            (w.code, w.path, w.severity) for w in saved.warnings
        ]


class TestTypedResults:
    def test_queries_return_typed_objects(self, ps: Setup) -> None:
        """state() is a SessionState, warnings are Findings, the bureau's verdict a
        WorkerOutcome, statuses StrEnum members: no dict in the results."""
        from pension_collect.ports.transport import WorkerOutcome
        from pension_collect.rules import Finding

        to_ready(ps)
        _move(ps, ps.keys[1], OTHER_UNIT)
        _submit_and_conclude(ps)
        state = ps.session.state()
        assert isinstance(state, SessionState)
        assert state.sync_no == 1
        assert state.employer == ps.dossier.employer
        for w in ps.session.workers():
            assert all(isinstance(f, Finding) for f in w.warnings)
            assert isinstance(w.outcome, WorkerOutcome)
            assert w.outcome.key == w.key
        failed = ps.session.worker(ps.keys[1])
        assert failed.outcome is not None
        assert (failed.outcome.succeeded, failed.outcome.code) == (False, "bureau.other-employer")


class TestPrintsNeverOverwrite:
    def test_each_print_gets_the_next_number(self, ps: Setup, tmp_path: Path) -> None:
        """Printing twice into one folder writes verification-1.pdf, then -2; a file
        already there (even one the program did not write) is never replaced."""
        to_declared(ps)
        out = tmp_path / "forms"
        out.mkdir()
        (out / "verification-1.pdf").write_bytes(b"the clerk's own file")
        first = ps.session.print_verification_forms(out_dir=out)
        second = ps.session.print_verification_forms(out_dir=out)
        assert [Path(f).name for f in first.files] == ["verification-2.pdf"]
        assert [Path(f).name for f in second.files] == ["verification-3.pdf"]
        assert (out / "verification-1.pdf").read_bytes() == b"the clerk's own file"
        assert (out / "verification-2.pdf").read_bytes().startswith(b"%PDF")
        assert _forms(out) == ["verification-1.pdf", "verification-2.pdf", "verification-3.pdf"]

    def test_a_name_is_never_overwritten_unless_told(self, ps: Setup, tmp_path: Path) -> None:
        """A named print refuses an existing file (FormExists; nothing recorded) and
        replaces it only with overwrite=True; a number n is <form>-<n>.pdf."""
        to_collecting(ps)
        for w in ps.workers:
            ps.session.save_worker(w)
        out = tmp_path / "forms"
        printed = ps.session.print_confirmation_forms(out_dir=out, name="round-1")
        assert [Path(f).name for f in printed.files] == ["round-1.pdf"]
        before = (out / "round-1.pdf").read_bytes()
        ps.session.save_worker(attrs.evolve(ps.workers[0], ethnicity="满族"))
        with pytest.raises(FormExists) as info:
            ps.session.print_confirmation_forms(out_dir=out, name="round-1.pdf")
        assert info.value.details == "round-1.pdf"
        assert (out / "round-1.pdf").read_bytes() == before
        assert not ps.session.worker(ps.keys[0]).confirmation_printed
        ps.session.print_confirmation_forms(out_dir=out, name="round-1", overwrite=True)
        assert (out / "round-1.pdf").read_bytes() != before
        assert ps.session.worker(ps.keys[0]).confirmation_printed
        ps.session.print_summary_sheet(out_dir=out, name=7)
        with pytest.raises(FormExists):
            ps.session.print_summary_sheet(out_dir=out, name=7)
        assert _forms(out) == ["round-1.pdf", "summary-7.pdf"]

    def test_a_name_is_a_file_name(self, ps: Setup, tmp_path: Path) -> None:
        """A name holding a folder, or a number below 1, is refused."""
        to_collecting(ps)
        out = tmp_path / "forms"
        for bad in ("../escape", "a/b", "", 0):
            with pytest.raises(ValueError, match=r"plain file name|counts from 1"):
                ps.session.print_verification_forms(out_dir=out, name=bad)
        assert not out.exists()


class TestProgressAndCancel:
    def test_save_workers_reports_and_cancels_between_workers(self, ps: Setup) -> None:
        """save_workers reports (done, total) after each worker; returning False
        stops before the next: Cancelled names what was committed, the rest is
        untouched, and each saved worker is whole with its audit entry."""
        to_collecting(ps)
        calls: list[tuple[int, int | None]] = []

        def progress(done: int, total: int | None) -> bool:
            calls.append((done, total))
            return done < 2

        with pytest.raises(Cancelled) as info:
            ps.session.save_workers(ps.workers, progress=progress)
        assert calls == [(1, 3), (2, 3)]
        assert (info.value.done, info.value.total) == (2, 3)
        assert info.value.committed == tuple(ps.keys[:2])
        assert [w.key for w in ps.session.workers()] == sorted(ps.keys[:2])
        saves = [e.subject_key for e in ps.session.audit() if e.action == "worker.saved"]
        assert saves == ps.keys[:2]
        rest = ps.session.save_workers(ps.workers[2:])
        assert [w.key for w in rest.saved] == [ps.keys[2]]

    def test_save_workers_without_length_and_raising_cancel(self, ps: Setup) -> None:
        """A generator has no total (None); a callback raising Cancelled stops too."""
        to_collecting(ps)
        seen: list[tuple[int, int | None]] = []

        def progress(done: int, total: int | None) -> None:
            seen.append((done, total))
            raise Cancelled()

        with pytest.raises(Cancelled) as info:
            ps.session.save_workers((w for w in ps.workers), progress=progress)
        assert seen == [(1, None)]
        assert info.value.committed == (ps.keys[0],)
        assert len(ps.session.workers()) == 1

    def test_save_workers_lists_refusals_with_batch_paths(self, ps: Setup) -> None:
        """A refused worker is listed with its position and error (paths under
        $.workers[i] of the batch); the others are saved."""
        to_collecting(ps)
        bad = Segment(start=YearMonth(1990, 1), end=YearMonth(1993, 6), total=money("0"))
        batch = [ps.workers[0], attrs.evolve(ps.workers[1], history=(bad,)), ps.workers[2]]
        result = ps.session.save_workers(batch)
        assert [w.key for w in result.saved] == [ps.keys[0], ps.keys[2]]
        assert [(r.index, r.key) for r in result.refused] == [(1, ps.keys[1])]
        error = result.refused[0].error
        assert isinstance(error, RuleErrors)
        assert all(f.path.startswith("$.workers[1]") for f in error.findings)
        assert ps.keys[1] not in repr(result.refused[0])

    def test_print_reports_and_a_cancel_leaves_nothing(self, ps: Setup, tmp_path: Path) -> None:
        """A print reports as the renderer goes from worker to worker; cancelled,
        it leaves no file (not even a temporary one) and records nothing."""
        to_declared(ps)
        out = tmp_path / "forms"
        calls: list[tuple[int, int | None]] = []

        def stop_after_first(done: int, total: int | None) -> bool:
            calls.append((done, total))
            return done < 1

        with pytest.raises(Cancelled):
            ps.session.print_verification_forms(out_dir=out, progress=stop_after_first)
        assert calls == [(1, 3)]
        assert _forms(out) == []
        state = ps.session.state()
        assert state is not None
        assert state.verification == {}
        calls.clear()
        printed = ps.session.print_verification_forms(
            out_dir=out, progress=lambda d, t: calls.append((d, t)) is None
        )
        assert calls == [(1, 3), (2, 3), (3, 3)]
        assert _forms(out) == ["verification-1.pdf"]
        assert printed.files

    def test_follow_every_declaration_and_cancel_between(self, ps: Setup) -> None:
        """follow() refreshes each declaration not concluded, reporting after each;
        cancelled after the first, the second is left as it was, whole."""
        ps.session.start()
        ps.session.sync()
        ps.session.collect_employer(ps.dossier.employer)
        ps.session.submit_employer_declaration()
        ps.session.print_verification_forms()
        ps.session.save_workers(ps.workers)
        ps.session.print_confirmation_forms()
        ps.session.record_received(ps.keys)
        ps.session.submit_declaration()
        ps.bureau.settle()
        calls: list[tuple[int, int | None]] = []

        def once(done: int, total: int | None) -> bool:
            calls.append((done, total))
            return False

        with pytest.raises(Cancelled) as info:
            ps.session.follow(progress=once)
        assert calls == [(1, 2)]
        assert info.value.committed == ("employer-1",)
        states = {d.key: d.state for d in ps.session.declarations()}
        assert states == {
            "employer-1": DeclarationState.SUCCEEDED,
            "workers-1": DeclarationState.SUBMITTED,
        }
        assert {w.status for w in ps.session.workers()} == {WorkerStatus.SUBMITTED}
        calls.clear()
        followed = ps.session.follow(progress=lambda d, t: calls.append((d, t)) is None)
        assert [(d.key, d.state) for d in followed] == [("workers-1", DeclarationState.SUCCEEDED)]
        assert calls == [(1, 1)]
        assert {w.status for w in ps.session.workers()} == {WorkerStatus.ACCEPTED}
        assert ps.session.follow() == ()


class _RecordingVerification:
    """A verification renderer that keeps the bureau records it was asked to print."""

    name = "verification"
    title = "核对表 (recording)"

    def __init__(self) -> None:
        self.bureau: list[list[Any]] = []

    def render(self, forms: Any, out: Any, *, options: Any = None) -> Any:
        from pension_collect.ports.forms import RenderResult

        self.bureau.append([sheet.bureau for sheet in forms.workers])
        out.write(b"%PDF-1.4 recorded")
        return RenderResult(
            form="verification", pages=1, workers=len(forms.workers), bytes_written=17, font=None
        )


class TestVerificationFormShowsTheLatestSync:
    def test_new_form_after_the_window_shows_the_new_record(
        self, ps: Setup, tmp_path: Path
    ) -> None:
        """[P3.3a] The verification form printed after a window visit and a new sync
        shows the bureau's record of that sync, also for a worker collected
        before (not the record kept at the earlier save)."""
        from pension_collect.plugins import PluginHost

        recorder = _RecordingVerification()

        class Plugin:
            @hookimpl
            def pension_collect_register_renderers(self, registry: Any) -> None:
                registry.add("verification", recorder)

        ps.host = PluginHost(load_entry_points=False, exclude=["pdf.plugin"], plugins=[Plugin()])
        ps.session.host = ps.host
        to_collecting(ps)
        ps.session.save_worker(ps.workers[2])
        person = ps.bureau.person_by_id(ps.keys[2])
        assert person is not None
        person.record = attrs.evolve(person.record, ethnicity="满族")  # the window
        ps.session.record_window_visit(ps.keys[2], "ethnicity corrected")
        ps.session.sync()
        ps.session.print_verification_forms([ps.keys[2]], out_dir=tmp_path / "forms")
        [shown] = recorder.bureau[-1]
        assert shown.person.ethnicity == "满族"
