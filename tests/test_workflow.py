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
    AlreadyAccepted,
    ConfirmationFormMissing,
    DeclarationConcluded,
    DeclarationInFlight,
    DeclarationSubmitted,
    EmployerFirst,
    IncompleteWorker,
    NothingToSubmit,
    NotReceived,
    NotStarted,
    PendingDeclaration,
    RecollectionIncomplete,
    RuleErrors,
    SessionClosed,
    StoredWorker,
    SyncFirst,
    SyncRequired,
    VerificationFormMissing,
    WindowOnlyChange,
    WorkerLocked,
    WorkerSaved,
    WorkerStatus,
    WorkflowError,
)
from workflow_fixtures import Setup, make_setup, sqlite_url, to_collecting, to_ready


@pytest.fixture
def s() -> Setup:
    return make_setup()


def _submit_and_conclude(s: Setup) -> str:
    decl = s.session.submit_declaration()
    s.bureau.settle()
    return s.session.refresh(decl.key).key


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
        assert s.session.state() == {}

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
        assert "history.transfer-date-missing" in {w["code"] for w in saved.warnings}

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
        s.session.print_verification_forms([other_id])
        with pytest.raises(WindowOnlyChange):
            s.session.save_worker(attrs.evolve(s.workers[0], id_number=other_id))

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
        persons = {k: s.bureau.person_by_id(k) for k in s.keys}
        for k in s.keys[1:]:
            person = persons[k]
            assert person is not None
            s.bureau.settle_account(person.person_no)
        to_ready(s)
        _submit_and_conclude(s)
        assert s.session.failed_workers() == sorted(s.keys[1:])
        for k in s.keys[1:]:
            person = persons[k]
            assert person is not None
            s.bureau.unsettle_account(person.person_no)
        s.session.worker(s.keys[1])
        s.session.save_worker(s.workers[1])
        with pytest.raises(RecollectionIncomplete) as info:
            s.session.submit_declaration()
        assert info.value.keys == ("371083********3516",)

    def test_errors_are_typed_with_code_and_paragraph(self) -> None:
        """Every workflow error has a workflow.* code, a paragraph and Chinese text."""
        import pension_collect.workflow.guards as errors

        classes = [getattr(errors, n) for n in errors.__all__ if n != "WorkflowError"]
        for cls in classes:
            err = cls()
            assert isinstance(err, WorkflowError)
            assert err.code.startswith("workflow.")
            assert err.procedure.startswith("P3")
            assert err.message_zh
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
    def test_full_loop_on_sqlite_file(self, tmp_path: Path) -> None:
        """Every step on a real SQLite file; the bureau fails two workers for its own
        reasons; exactly those are collected again and the second declaration succeeds."""
        s = make_setup(sqlite_url(tmp_path))
        unit = s.dossier.employer.unit_no
        settled = s.bureau.person_by_id(s.keys[1])
        moved = s.bureau.person_by_id(s.keys[2])
        assert settled is not None
        assert moved is not None
        s.bureau.settle_account(settled.person_no)
        s.bureau.transfer_person(moved.person_no, "10099999")
        to_ready(s)
        first = s.session.submit_declaration()
        s.bureau.tick()
        assert s.session.refresh(first.key).state is DeclarationState.PROCESSING
        s.bureau.tick()
        first = s.session.refresh(first.key)
        assert first.state is DeclarationState.PARTIALLY_SUCCEEDED
        codes = {o.key: o.code for o in first.outcomes if not o.succeeded}
        assert codes == {s.keys[1]: "bureau.account-settled", s.keys[2]: "bureau.other-employer"}
        failed = s.session.failed_workers()
        assert failed == sorted(codes)
        # the window sorts both out; sync again, new forms, collect again
        s.bureau.unsettle_account(settled.person_no)
        s.bureau.transfer_person(moved.person_no, unit)
        for key in failed:
            s.session.record_window_visit(key)
        s.session.sync()
        s.session.print_verification_forms(failed)
        for w in s.workers[1:]:
            s.session.worker(s.session.key_of(w))
            s.session.save_worker(w)
        s.session.print_confirmation_forms()
        s.session.record_received(failed)
        second = s.session.submit_declaration()
        assert second.linked_to == first.key
        assert set(second.workers) == set(failed)
        s.bureau.settle()
        second = s.session.refresh(second.key)
        assert second.state is DeclarationState.SUCCEEDED
        assert {w.status for w in s.session.workers()} == {WorkerStatus.ACCEPTED}
        # the bureau's records now hold the collected data
        synced = {p["id_number"]: p for p in s.bureau.sync(unit).persons}
        assert len(synced[s.keys[2]]["history"]) == 2
        # the audit log tells the story, per declaration and per worker
        s.storage.close()
        reopened = make_setup(sqlite_url(tmp_path)).session
        actions = [e.action for e in reopened.audit()]
        assert actions[0] == "session.started"
        assert actions[-1] == "declaration.concluded"
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

    def test_submission_resumes_with_same_key(self, s: Setup) -> None:
        """A submission cut short after the bureau accepted it resumes as one declaration."""
        to_ready(s)
        real_send = s.session._send
        calls: list[str] = []

        def crash_after_bureau(draft: Any) -> Any:
            s.session.transport.submit(
                s.session.unit_no,
                draft.kind,
                {"workers": []},
                idempotency_key=draft.idempotency_key,
            )
            calls.append(draft.key)
            raise KeyboardInterrupt

        s.session._send = crash_after_bureau  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            s.session.submit_declaration()
        s.session._send = real_send  # type: ignore[method-assign]
        decl = s.session.submit_declaration()
        assert decl.key == calls[0]
        workers_decls = [
            d
            for d in s.bureau.declarations(s.dossier.employer.unit_no)
            if d.kind is DeclarationKind.WORKERS
        ]
        assert len(workers_decls) == 1


def _store_url(name: str, tmp_path: Path) -> str:
    return "memory:" if name == "memory" else sqlite_url(tmp_path)


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

    @pytest.mark.parametrize("store", ["memory", "sqlite"])
    def test_read_back_as_the_enum(self, store: str, tmp_path: Path) -> None:
        """Every status read back from the store is the enum member; the record
        itself holds the plain string."""
        s = make_setup(_store_url(store, tmp_path))
        settled = s.bureau.person_by_id(s.keys[1])
        assert settled is not None
        s.bureau.settle_account(settled.person_no)
        to_ready(s)
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

    @pytest.mark.parametrize("store", ["memory", "sqlite"])
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
    @pytest.mark.parametrize("store", ["memory", "sqlite"])
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
