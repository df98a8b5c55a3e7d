"""pension_collect.workflow.bureau_employer: the employer as the bureau holds
it, from the latest data sync (what an employer form is prefilled with), on
every store."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from pension_collect.model import Employer
from pension_collect.ports.storage import CorruptRecord, RecordKind
from pension_collect.workflow import SessionClosed, bureau_employer
from workflow_fixtures import STORES, Setup, make_setup, store_url


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
