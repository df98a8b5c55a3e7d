"""What the web's dashboard and employer page read from the overview
(pension_collect.workflow.overview), on every store: ``bureau_employer``, the
employer as the bureau holds it from the latest data sync (what an employer
form is prefilled with), and ``dashboard``, the dashboard's next step, steps,
state, worker counts and declarations in one read."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from pension_collect.model import Employer
from pension_collect.ports.storage import CorruptRecord, RecordKind
from pension_collect.workflow import (
    Dashboard,
    SessionClosed,
    bureau_employer,
    dashboard,
    next_step,
    steps,
    worker_page,
)
from test_collection_scale import _recording_setup
from workflow_fixtures import STORES, Setup, make_setup, store_url, to_declared, to_ready


@pytest.fixture(params=STORES)
def s(request: pytest.FixtureRequest, tmp_path: Path) -> Setup:
    return make_setup(store_url(request.param, tmp_path))


def test_the_bureaus_employer_from_the_latest_sync(s: Setup) -> None:
    assert bureau_employer(s.session) is None  # not started
    s.session.start()
    assert bureau_employer(s.session) is None  # no sync yet
    s.session.sync()
    found = bureau_employer(s.session)
    assert found == Employer(
        unit_no="10012345",
        name="威海示例机械有限公司",
        credit_code="91371000MA3C0EXA33",
        legal_representative="赵刚",
        address="山东省威海市环翠区示例路1号",
        contact="孙丽",
        phone="0631-5200000",
    )
    # the clerk's information is the session's, the bureau's stays as synced
    s.session.collect_employer(attrs.evolve(found, phone="0631-5200001"))
    assert bureau_employer(s.session) == found
    # the bureau changes its record: the next sync shows it
    s.bureau.add_employer(attrs.evolve(found, address="山东省威海市环翠区示例路2号"))
    assert bureau_employer(s.session) == found
    s.session.sync()
    again = bureau_employer(s.session)
    assert again is not None
    assert again.address == "山东省威海市环翠区示例路2号"


def test_a_damaged_record_and_a_closed_session(s: Setup) -> None:
    s.session.start()
    s.session.sync()
    unit = s.session.unit_no
    with s.storage.transaction() as tx:
        rec = tx.get(RecordKind.SESSION, unit, "session")
        assert rec is not None
        damaged = {**rec.data, "bureau_employer": {"unit_no": unit, "name": 7}}
        tx.put(RecordKind.SESSION, unit, "session", damaged, expected_version=rec.version)
    with pytest.raises(CorruptRecord) as caught:
        bureau_employer(s.session)
    assert "$.bureau_employer" in str(caught.value)
    s.session.close()
    with pytest.raises(SessionClosed):
        bureau_employer(s.session)


def _separately(s: Setup) -> Dashboard:
    """The overview as the separate calls give it."""
    page = worker_page(s.session, limit=1)
    found = next_step(s.session)
    return Dashboard(
        next=found,
        steps=steps(s.session),
        state=s.session.state(),
        counts=page.counts,
        total=page.total,
        declarations=tuple(s.session.declarations()),
    )


def test_dashboard_is_the_separate_calls_along_the_loop(s: Setup) -> None:
    seen = [dashboard(s.session)]
    assert seen[0] == _separately(s)
    assert seen[0].next.action == "start"
    assert seen[0].state is None
    assert seen[0].total == 0
    to_declared(s)
    s.session.print_verification_forms()
    s.session.save_worker(s.workers[0])
    partly = dashboard(s.session)
    assert partly == _separately(s)
    assert partly.next.action == "collect"
    assert (partly.total, partly.counts["saved"], partly.counts["not-collected"]) == (3, 1, 2)
    assert [d.key for d in partly.declarations] == ["employer-1"]
    s.session.save_workers(s.workers[1:])
    s.session.print_confirmation_forms()
    s.session.record_received(s.keys)
    ready = dashboard(s.session)
    assert ready == _separately(s)
    assert ready.next.action == "submit"
    assert ready.counts["signed"] == 3
    s.session.submit_declaration()
    s.bureau.settle()
    s.session.follow()
    done = dashboard(s.session)
    assert done == _separately(s)
    assert done.next.done
    assert done.counts["succeeded"] == 3
    assert [x.state for x in done.steps] == ["done"] * 8


def test_dashboard_after_a_failure(s: Setup) -> None:
    to_ready(s)
    decl = s.session.submit_declaration()
    person = s.bureau.person_by_id(s.keys[1])
    assert person is not None
    s.bureau.transfer_person(person.person_no, "10099999")
    s.bureau.settle()
    s.session.refresh(decl.key)
    found = dashboard(s.session)
    assert found == _separately(s)
    assert found.next.action == "window-visit"
    assert found.next.workers == (s.keys[1],)
    assert found.counts["failed"] == 1


def test_dashboard_reads_each_kind_once() -> None:
    s, store, _ = _recording_setup(20)
    for w in s.workers:
        s.session.save_worker(w)
    store.log.clear()
    found = dashboard(s.session)
    assert (found.total, found.counts["saved"], found.next.action) == (23, 3, "collect")
    assert sorted(store.log) == [
        ("get", "session", "session"),
        ("list", "declaration", "*"),
        ("list", "draft", "*"),
        ("list", "marks", "*"),
        ("list", "synced", "*"),
        ("list", "worker", "*"),
    ]
