"""The overview for front ends (pension_collect.workflow.overview): the next
step and the dashboard's steps along the whole loop, the worker list's states,
search and paging, drafts and the bureau's record, on every store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.model import Segment, YearMonth, money
from pension_collect.ports.storage import CorruptRecord, RecordKind, Write
from pension_collect.ports.transport import DeclarationStatus, TransportError
from pension_collect.workflow import (
    ACTIONS,
    MAX_PAGE,
    ROW_STATES,
    CollectionSession,
    NextStep,
    NotStarted,
    PageError,
    PersonNotSynced,
    SessionClosed,
    WorkerPage,
    bureau_person,
    discard_draft,
    draft,
    next_step,
    save_draft,
    steps,
    worker_page,
    worker_rows,
)
from test_collection_scale import Recording
from workflow_fixtures import STORES, Setup, make_setup, store_url, to_declared, to_ready

OTHER_UNIT = "10099999"


def to_15(key: str) -> str:
    """The legacy 15-digit form of an 18-character number of someone born in the 1900s."""
    assert key[6:8] == "19"
    return key[:6] + key[8:17]


@pytest.fixture(params=STORES)
def s(request: pytest.FixtureRequest, tmp_path: Path) -> Setup:
    return make_setup(store_url(request.param, tmp_path))


def _next(s: Setup) -> tuple[str, str | None, tuple[str, ...]]:
    found = next_step(s.session)
    return found.action, None if found.blocked_by is None else found.blocked_by.code, found.workers


def _steps(s: Setup) -> str:
    """The dashboard as one line: ``P3:done P3.1:current ...``."""
    return " ".join(f"{x.procedure}:{x.state}" for x in steps(s.session))


def _counts(s: Setup, **expected: int) -> WorkerPage:
    page = worker_page(s.session)
    assert dict(page.counts) == {state: expected.get(state, 0) for state in ROW_STATES}
    return page


def _states(s: Setup) -> dict[str, str]:
    return {r.key: r.state for r in worker_page(s.session).rows}


def _move(s: Setup, key: str, unit_no: str) -> None:
    person = s.bureau.person_by_id(key)
    assert person is not None
    s.bureau.transfer_person(person.person_no, unit_no)


_STEPS = ["P3", "P3.1", "P3.2", "P3.3", "P3.4", "P3.5", "P3.6", "P3.7"]


def _at(current: str) -> str:
    i = _STEPS.index(current)
    return " ".join(
        f"{p}:{'done' if j < i else 'current' if j == i else 'waiting'}"
        for j, p in enumerate(_STEPS)
    )


# -- the whole loop ------------------------------------------------------------------------


def test_following_the_employers_declaration_leaves_submit_undone(s: Setup) -> None:
    """Everything received while the employer's declaration is still at the
    bureau: the next action is to follow it, but [P3.6] (submit) is current, not
    done, until the workers' declaration is submitted."""
    s.session.start()
    s.session.sync()
    s.session.collect_employer(s.dossier.employer)
    decl = s.session.submit_employer_declaration()
    s.session.print_verification_forms(s.keys)
    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms()
    s.session.record_received(list(s.keys))
    found = next_step(s.session)
    assert (found.action, found.procedure) == ("follow", "P3.6")
    assert _steps(s) == _at("P3.6")
    s.bureau.settle()
    s.session.refresh(decl.key)
    assert next_step(s.session).action == "submit"
    assert _steps(s) == _at("P3.6")
    s.session.submit_declaration()
    found = next_step(s.session)
    assert (found.action, found.procedure) == ("follow", "P3.7")
    assert _steps(s) == _at("P3.7")


def test_the_loop_step_by_step(s: Setup) -> None:
    """Each action of next_step in the order a clerk meets them, the guard that
    blocks, the workers named, the dashboard's current step and the list's
    counts per state, from the start to the last worker accepted after a
    window visit."""
    k0, k1, k2 = s.keys
    assert _next(s) == ("start", "workflow.not-started", ())
    assert _steps(s) == _at("P3")
    empty = _counts(s)
    assert (empty.rows, empty.total) == ((), 0)

    s.session.start()
    assert _next(s) == ("sync", "workflow.sync-first", ())
    assert _steps(s) == _at("P3.1")

    s.session.sync()
    assert _next(s) == ("employer", "workflow.employer-first", ())
    _counts(s, **{"not-collected": 3})

    s.session.collect_employer(s.dossier.employer)
    decl = s.session.submit_employer_declaration()
    s.bureau.settle()
    s.session.refresh(decl.key)
    assert _next(s) == ("print-verification", "workflow.verification-form", (k0, k1, k2))
    assert _steps(s) == _at("P3.2")

    s.session.print_verification_forms(s.keys)
    assert _next(s) == ("collect", "workflow.incomplete", (k0, k1, k2))
    assert _steps(s) == _at("P3.4")

    save_draft(s.session, attrs.evolve(s.workers[0], account=None))
    _counts(s, **{"incomplete": 1, "not-collected": 2})
    s.session.save_worker(s.workers[0])
    _counts(s, **{"saved": 1, "not-collected": 2})  # a draft beside a saved worker: saved
    assert worker_page(s.session).rows[0].has_draft
    assert discard_draft(s.session, k0)
    assert not worker_page(s.session).rows[0].has_draft

    for w in s.workers[1:]:
        s.session.save_worker(w)
    assert _next(s) == ("print-confirmation", "workflow.confirmation-form", (k0, k1, k2))
    assert _steps(s) == _at("P3.5")
    _counts(s, saved=3)

    s.session.print_confirmation_forms()
    assert _next(s) == ("receive", "workflow.not-received", (k0, k1, k2))
    assert _steps(s) == _at("P3.6")
    _counts(s, printed=3)
    s.session.record_received([k0])
    s.session.record_received([k1], handbook=False)  # the form without the handbook
    assert _next(s) == ("receive", "workflow.not-received", (k1, k2))
    assert _states(s) == {k0: "signed", k1: "printed", k2: "printed"}
    s.session.record_received([k1, k2])
    found = next_step(s.session)
    assert (found.action, found.procedure, found.blocked_by, found.workers) == (
        "submit",
        "P3.6",
        None,
        (),
    )
    assert _steps(s) == _at("P3.6")
    _counts(s, signed=3)

    _move(s, k2, OTHER_UNIT)  # the bureau will fail this one: bureau.other-employer
    first = s.session.submit_declaration()
    assert _next(s) == ("follow", "workflow.declaration-in-flight", ())
    assert _steps(s) == _at("P3.7")
    _counts(s, submitted=3)

    s.bureau.settle()
    s.session.follow()
    assert _next(s) == ("window-visit", "workflow.window-visit-required", (k2,))
    assert _steps(s) == _at("P3.3")
    page = _counts(s, succeeded=2, failed=1)
    failed = worker_page(s.session, status="failed").rows
    assert [r.key for r in failed] == [k2]
    assert (failed[0].outcome_code, failed[0].needs_window) == ("bureau.other-employer", True)
    assert failed[0].outcome_message_zh
    assert failed[0].declaration == first.key
    assert [r.needs_window for r in page.rows] == [False, False, True]

    _move(s, k2, s.dossier.employer.unit_no)
    s.session.record_window_visit(k2)
    assert _next(s) == ("sync-again", "workflow.sync-required", (k2,))
    assert next_step(s.session).procedure == "P3.3a"
    assert _steps(s) == _at("P3.3")

    s.session.sync()
    assert _next(s) == ("print-verification", "workflow.verification-form", (k2,))
    assert _steps(s) == _at("P3.2")
    s.session.print_verification_forms([k2])
    assert _next(s) == ("recollect", "workflow.recollection-incomplete", (k2,))
    assert _steps(s) == _at("P3.4")

    s.session.worker(k2)
    s.session.save_worker(s.workers[2])
    _counts(s, succeeded=2, saved=1)
    s.session.print_confirmation_forms([k2])
    s.session.record_received([k2])
    assert _next(s)[0] == "submit"
    second = s.session.submit_declaration()
    assert second.linked_to == first.key
    s.bureau.settle()
    s.session.follow()
    done = next_step(s.session)
    assert (done.action, done.done, done.blocked_by) == ("done", True, None)
    assert {x.state for x in steps(s.session)} == {"done"}
    _counts(s, succeeded=3)


def test_a_declaration_left_unsent_is_sent_first(s: Setup) -> None:
    """submit-draft: a submit whose call never reached the bureau leaves a
    draft; next_step says to send it (the guard: a declaration in flight)."""

    class Unreachable:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def submit(self, *args: Any, **kwargs: Any) -> DeclarationStatus:
            raise TransportError("the bureau cannot be reached")

    to_ready(s)
    cut_off = CollectionSession(
        s.storage,
        Unreachable(s.session.transport),  # type: ignore[arg-type]
        unit_no=s.dossier.employer.unit_no,
        host=s.host,
        as_of=s.dossier.as_of,
        clock=s.clock,
    )
    with pytest.raises(TransportError):
        cut_off.submit_declaration()
    assert _next(s) == ("submit-draft", "workflow.declaration-in-flight", ())
    assert next_step(s.session).procedure == "P3.6"
    _counts(s, submitted=3)  # claimed by the draft


def test_every_action_has_a_step_and_the_blocker_is_the_guard() -> None:
    """The dashboard's step of each action, and a blocker's sentences are its guard's."""
    from pension_collect.workflow import STEPS, Blocker, WindowVisitRequired
    from pension_collect.workflow.overview import _STEP_OF

    assert set(_STEP_OF) == set(ACTIONS) - {"done"}
    assert list(STEPS) == _STEPS
    assert Blocker.of(WindowVisitRequired) == Blocker(
        code="workflow.window-visit-required",
        procedure="P3.7",
        message=WindowVisitRequired.default[0],
        message_zh=WindowVisitRequired.default[1],
    )


def test_steps_takes_the_next_step_already_read() -> None:
    """steps(session, next=...) reads nothing (a closed session is fine)."""
    s = make_setup()
    found = next_step(s.session)
    s.session.close()
    assert [x.state for x in steps(s.session, next=found)][:2] == ["current", "waiting"]
    with pytest.raises(SessionClosed):
        next_step(s.session)
    with pytest.raises(SessionClosed):
        worker_page(s.session)


# -- the worker list: search, order, paging ------------------------------------------------


@pytest.fixture(scope="module")
def listed() -> Setup:
    """The example collection with every worker saved (memory store)."""
    s = make_setup()
    to_ready(s)
    return s


def _found(s: Setup, search: str) -> list[str]:
    return [r.name for r in worker_page(s.session, search=search).rows]


def test_rows_ordered_by_person_number_with_their_facts(listed: Setup) -> None:
    page = worker_page(listed.session)
    assert [(r.person_no, r.name) for r in page.rows] == [
        ("37100200001", "张伟"),
        ("37100200002", "李娜"),
        ("R0000000001", "王强"),
    ]
    row = page.rows[0]
    assert (row.key, row.status, row.in_latest_sync, row.verification_printed) == (
        "371002196503021239",
        "collected",
        True,
        True,
    )
    assert (row.confirmation_printed, row.form_received, row.handbook_received) == (
        True,
        True,
        True,
    )
    assert (row.declaration, row.outcome_code, row.outcome_message, row.has_draft) == (
        None,
        None,
        "",
        False,
    )
    assert "371002196503021239" not in repr(row)
    assert "张伟" not in repr(row)
    assert "张*" in repr(row)


def test_search_by_name_whole_identity_number_or_its_last_digits(listed: Setup) -> None:
    assert _found(listed, "李") == ["李娜"]
    assert _found(listed, " 张伟 ") == ["张伟"]
    assert _found(listed, "张　伟") == ["张伟"]  # padded as the forms pad it
    assert _found(listed, "371082197011152423") == ["李娜"]
    assert _found(listed, to_15("371082197011152423")) == ["李娜"]  # its 15-digit form
    assert _found(listed, "3516") == ["王强"]
    assert _found(listed, "2423") == ["李娜"]
    assert _found(listed, "3") == ["李娜"]  # the last digit
    assert _found(listed, "赵") == []
    assert _found(listed, "   ") == ["张伟", "李娜", "王强"]  # blank: no search
    page = worker_page(listed.session, search="9", status="saved")
    assert (page.rows, page.total, page.counts["signed"]) == ((), 0, 3)


def test_search_is_case_insensitive(s: Setup) -> None:
    """A Latin name and an identity number ending in X, searched in lower case."""
    to_declared(s)
    person = s.bureau.person_by_id(s.keys[0])
    assert person is not None
    s.session.print_verification_forms([s.keys[0]])
    s.session.save_worker(s.workers[0])
    with s.storage.transaction() as tx:  # a worker record as another release may hold it
        rec = tx.get(RecordKind.WORKER, s.dossier.employer.unit_no, s.keys[0])
        assert rec is not None
        data = {**rec.data, "worker": {**rec.data["worker"], "name": "Anna MÜLLER"}}
        tx.put_many(RecordKind.WORKER, rec.unit_no, [Write(rec.key, data, rec.version)])
    assert _found(s, "müller") == ["Anna MÜLLER"]
    assert _found(s, "ANNA") == ["Anna MÜLLER"]
    assert _found(s, "1239") == ["Anna MÜLLER"]


def test_search_by_a_check_character_x() -> None:
    s = make_setup()
    key = "37100219650302105X"
    from pension_collect.model import BureauRecord

    w = s.workers[0]
    s.bureau.add_person(
        BureauRecord(id_number=key, name="赵敏", first_work=w.first_work, birth_date=w.birth_date),
        unit_no=s.dossier.employer.unit_no,
    )
    s.session.start()
    s.session.sync()
    assert [r.key for r in worker_page(s.session, search="105x").rows] == [key]
    assert [r.key for r in worker_page(s.session, search="x").rows] == [key]
    assert [r.key for r in worker_page(s.session, search=key.lower()).rows] == [key]


def test_paging_bounds(listed: Setup) -> None:
    first = worker_page(listed.session, limit=2)
    assert [r.name for r in first.rows] == ["张伟", "李娜"]
    assert (first.total, first.has_more) == (3, True)
    rest = worker_page(listed.session, offset=2, limit=2)
    assert ([r.name for r in rest.rows], rest.total, rest.has_more) == (["王强"], 3, False)
    past = worker_page(listed.session, offset=10)
    assert (past.rows, past.total, past.offset, past.has_more) == ((), 3, 10, False)
    assert len(worker_page(listed.session, limit=MAX_PAGE).rows) == 3
    bad: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": MAX_PAGE + 1}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": "50"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 1.0}, "offset"),
        ({"status": "collected"}, "status"),
        ({"search": 1239}, "search"),
    ]
    for kwargs, field in bad:
        with pytest.raises(PageError) as info:
            worker_page(listed.session, **kwargs)
        assert (info.value.field, info.value.code) == (field, "workflow.bad-page")
        assert info.value.message
        assert info.value.message_zh
        assert isinstance(info.value, ValueError)
    with pytest.raises(PageError) as info:
        worker_page(listed.session, limit=0)
    assert str(info.value) == "workflow.bad-page: limit: must be a whole number from 1 to 500"
    assert "1 至 500" in info.value.message_zh


def test_a_damaged_worker_record_is_named(s: Setup) -> None:
    to_ready(s)
    with s.storage.transaction() as tx:
        rec = tx.get(RecordKind.WORKER, s.dossier.employer.unit_no, s.keys[1])
        assert rec is not None
        data = {**rec.data, "status": "lost"}
        tx.put_many(RecordKind.WORKER, rec.unit_no, [Write(rec.key, data, rec.version)])
    with pytest.raises(CorruptRecord) as info:
        worker_page(s.session)
    assert info.value.key == "371082********2423"
    with pytest.raises(CorruptRecord):
        next_step(s.session)


def test_the_list_reads_each_kind_once() -> None:
    """One pass: whatever the number of workers, the list reads the session
    record and each kind of record once (no read per worker), in one transaction."""
    from test_collection_scale import _recording_setup

    s, store, _ = _recording_setup(40)
    for w in s.workers:
        s.session.save_worker(w)
    store.log.clear()
    page = worker_page(s.session, limit=10)
    assert (page.total, page.counts["saved"], page.counts["not-collected"]) == (43, 3, 40)
    assert sorted(store.log) == [
        ("get", "session", "session"),
        ("list", "draft", "*"),
        ("list", "marks", "*"),
        ("list", "synced", "*"),
        ("list", "worker", "*"),
    ]
    store.log.clear()
    assert next_step(s.session).action == "collect"
    assert sorted(store.log) == [
        ("get", "session", "session"),
        ("list", "declaration", "*"),
        ("list", "marks", "*"),
        ("list", "synced", "*"),
        ("list", "worker", "*"),
    ]
    assert isinstance(store, Recording)


def test_every_matching_row_in_one_read() -> None:
    """worker_rows: the rows worker_page's pages give one after the other, from
    one read of the store (a loop over pages reads it once a page)."""
    from test_collection_scale import _recording_setup

    s, store, _ = _recording_setup(40)
    for w in s.workers:
        s.session.save_worker(w)
    paged = [
        row
        for offset in range(0, 43, 7)
        for row in worker_page(s.session, status="not-collected", offset=offset, limit=7).rows
    ]
    store.log.clear()
    rows = worker_rows(s.session, status="not-collected")
    assert len(rows) == 40
    assert rows == tuple(paged)
    assert sorted(store.log) == [
        ("get", "session", "session"),
        ("list", "draft", "*"),
        ("list", "marks", "*"),
        ("list", "synced", "*"),
        ("list", "worker", "*"),
    ]
    assert worker_rows(s.session, search=rows[0].key[-4:])[0] == rows[0]
    assert {r.state for r in worker_rows(s.session)} == {"saved", "not-collected"}
    with pytest.raises(PageError) as info:
        worker_rows(s.session, status="collected")
    assert info.value.field == "status"
    with pytest.raises(PageError) as info:
        worker_rows(s.session, verification_due=1)  # type: ignore[arg-type]
    assert info.value.field == "verification_due"


def test_a_store_of_an_earlier_release_is_moved_then_listed(s: Setup) -> None:
    """A session record still holding everybody's marks (an earlier release)
    is moved to marks records by the session, then listed (docs/workflow.md)."""
    from test_collection_scale import _old_shape

    to_declared(s)
    _old_shape(s, 1, s.keys[2])  # verification forms of sync 1 for all, a window visit
    page = worker_page(s.session)
    assert [r.verification_printed for r in page.rows] == [True, True, True]
    assert [e.action for e in s.session.audit()].count("session.migrated") == 1
    assert _next(s) == ("collect", "workflow.incomplete", tuple(s.keys))
    assert [e.action for e in s.session.audit()].count("session.migrated") == 1


# -- drafts --------------------------------------------------------------------------------


def test_drafts_round_trip(s: Setup) -> None:
    """A draft keeps what was typed, parts missing and rule errors included; it
    is replaced, read back by another session, discarded, audited, and never
    declared."""
    k0, k1, k2 = s.keys
    with pytest.raises(NotStarted):
        save_draft(s.session, s.workers[0])
    to_declared(s)
    bad = Segment(start=YearMonth(1990, 1), end=YearMonth(1993, 6), total=money("0"))
    typed = attrs.evolve(s.workers[2], history=(bad,), account=None)  # crosses the boxes
    s.clock.advance(minutes=5)
    assert save_draft(s.session, typed) == k2
    assert draft(s.session, k2) == typed
    assert draft(s.session, k2[:-1] + "x") is None  # another key
    assert draft(s.session, k0) is None
    assert draft(s.reopen(), to_15(k2)) == typed  # any form of the number
    more = attrs.evolve(typed, account=s.workers[2].account)
    save_draft(s.reopen("clerk-2"), more)
    assert draft(s.session, k2) == more
    assert _states(s)[k2] == "incomplete"

    entries = [e for e in s.session.audit() if e.subject_kind is RecordKind.DRAFT]
    assert [(e.action, e.actor, e.subject_key, e.message) for e in entries] == [
        ("draft.saved", "clerk-1", k2, "draft saved"),
        ("draft.saved", "clerk-2", k2, "draft saved"),
    ]
    assert entries[0].at == "2013-08-20T09:05:00+00:00"
    assert entries[0].before is None
    assert entries[1].before == entries[0].after

    # the others collected and declared: the drafted worker is not in the declaration
    s.session.print_verification_forms(s.keys)
    s.session.save_worker(s.workers[0])
    s.session.save_worker(s.workers[1])
    s.session.print_confirmation_forms()
    s.session.record_received([k0, k1])
    decl = s.session.submit_declaration()
    assert decl.workers == (k0, k1)
    assert draft(s.session, k2) == more

    assert discard_draft(s.session, k2)
    assert draft(s.session, k2) is None
    assert not discard_draft(s.session, k2)
    assert _states(s)[k2] == "not-collected"
    last = s.session.audit()[-1]
    assert (last.action, last.subject_kind, last.after) == (
        "draft.discarded",
        RecordKind.DRAFT,
        {"worker": None},
    )
    save_draft(s.session, typed)  # a new draft after a discard
    assert draft(s.session, k2) == typed


def test_a_draft_only_for_the_bureaus_persons(s: Setup) -> None:
    """[P3.2] A draft is kept only for a person of the latest sync or a stored worker."""
    to_declared(s)
    stranger = attrs.evolve(s.workers[0], id_number="110101199003070012")
    with pytest.raises(PersonNotSynced):
        save_draft(s.session, stranger)
    assert draft(s.session, "110101199003070012") is None


def test_bureau_person(s: Setup) -> None:
    """The bureau's record from the latest sync, or None."""
    assert bureau_person(s.session, s.keys[0]) is None  # not started
    to_declared(s)
    person = bureau_person(s.session, s.keys[2])
    assert person is not None
    assert (person.person_no, person.name, person.id_number) == (
        "R0000000001",
        "王强",
        "371083197506203516",
    )
    assert bureau_person(s.session, to_15(s.keys[2])) == person
    assert bureau_person(s.session, "110101199003070012") is None
    _move(s, s.keys[2], OTHER_UNIT)
    s.session.sync()
    assert bureau_person(s.session, s.keys[2]) is None  # gone from the latest sync


def test_next_step_repr_masks_the_workers() -> None:
    found = NextStep(action="collect", procedure="P3.4", step="x", step_zh="x",
                     workers=("371002196503021239",))  # fmt: skip
    assert "371002196503021239" not in repr(found)
    assert "371002********1239" in repr(found)


# -- the verification forms due ------------------------------------------------------------


def _due(s: Setup, **kw: Any) -> list[str]:
    return [r.key for r in worker_page(s.session, verification_due=True, **kw).rows]


def test_verification_due_are_the_workers_print_verification_names() -> None:
    """verification_due=True: persons not saved (drafts too) and failed workers
    without a verification form of the latest sync; after a window visit and a
    new sync, only the failed worker, as next_step names it [P3.2]."""
    s = make_setup()
    k0, k1, k2 = s.keys
    to_declared(s)
    assert _due(s) == [k0, k1, k2]
    s.session.print_verification_forms([k0])
    save_draft(s.session, attrs.evolve(s.workers[1], account=None))
    page = worker_page(s.session, verification_due=True)
    assert ([r.key for r in page.rows], page.total, page.verification_due) == ([k1, k2], 2, 2)
    assert _due(s, status="incomplete") == [k1]
    s.session.print_verification_forms([k1, k2])
    assert (_due(s), worker_page(s.session).verification_due) == ([], 0)

    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms()
    s.session.record_received(list(s.keys))
    _move(s, k2, OTHER_UNIT)
    s.session.submit_declaration()
    s.bureau.settle()
    s.session.follow()
    assert _due(s) == []  # failed, but the form of the latest sync is printed
    _move(s, k2, s.dossier.employer.unit_no)
    s.session.record_window_visit(k2)
    s.session.sync()
    assert _next(s) == ("print-verification", "workflow.verification-form", (k2,))
    page = worker_page(s.session, verification_due=True)
    assert ([r.key for r in page.rows], page.total, page.verification_due) == ([k2], 1, 1)
    assert (page.counts["succeeded"], page.counts["failed"]) == (2, 1)
    assert _due(s, status="failed") == [k2]
    assert _due(s, status="succeeded") == []
    assert _due(s, search=k2[-4:]) == [k2]
    assert _due(s, search=k0[-4:]) == []
    assert worker_page(s.session).total == 3  # the default: every row
    s.session.print_verification_forms([k2])
    assert _due(s) == []


def test_verification_due_must_be_a_bool() -> None:
    s = make_setup()
    with pytest.raises(PageError) as caught:
        worker_page(s.session, verification_due="yes")  # type: ignore[arg-type]
    assert caught.value.field == "verification_due"
    assert caught.value.message_zh
