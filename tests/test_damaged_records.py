"""A record damaged outside the library (edited by hand, another program) is
reported with its kind, masked key and the place inside it; nothing is changed
and the other records stay readable. Real SQLite files, edited with sqlite3."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pension_collect.dossier import problems_of
from pension_collect.identity import mask
from pension_collect.model import Worker
from pension_collect.ports.storage import CorruptRecord, RecordKind
from workflow_fixtures import Setup, make_setup, sqlite_url, to_collecting


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Setup, Path]:
    """Every example worker saved in a real SQLite file."""
    s = make_setup(sqlite_url(tmp_path))
    to_collecting(s)
    for w in s.workers:
        s.session.save_worker(w)
    return s, tmp_path / "collection.db"


def _rows(db: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return {
            key: (version, data)
            for key, version, data in conn.execute(
                "SELECT key, version, data FROM records WHERE kind = 'worker'"
            )
        }


def _damage(db: Path, key: str, text: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE records SET data = ? WHERE kind = 'worker' AND key = ?", (text, key))


def _edited(db: Path, key: str, edit: Any) -> None:
    data = json.loads(_rows(db)[key][1])
    edit(data)
    _damage(db, key, json.dumps(data, ensure_ascii=False))


def _no_personal_data(s: Setup, exc: CorruptRecord) -> None:
    text = f"{exc} {exc.message_zh} {exc!r} {[str(p) for p in exc.problems]}"
    for w in s.workers:
        assert w.id_number not in text
        assert w.name not in text


def test_a_wrong_amount_is_named_with_its_path(saved: tuple[Setup, Path]) -> None:
    """An amount edited into a JSON number: the record, the path, what to do."""
    s, db = saved
    key = s.keys[0]

    def edit(data: dict[str, Any]) -> None:
        data["worker"]["account"][1]["balance"] = 1234.5

    _edited(db, key, edit)
    with pytest.raises(CorruptRecord) as info:
        s.session.worker(key)
    exc = info.value
    assert exc.code == "storage.corrupt-record"
    assert exc.kind is RecordKind.WORKER
    assert exc.key == mask(key)
    assert [p.path for p in exc.problems] == ["$.worker.account[1].balance"]
    assert "backup" in str(exc)
    assert "审计日志" in exc.message_zh
    _no_personal_data(s, exc)


def test_every_problem_of_the_record_is_listed(saved: tuple[Setup, Path]) -> None:
    """Several damaged places in one record are all listed."""
    s, db = saved
    key = s.keys[1]

    def edit(data: dict[str, Any]) -> None:
        data["worker"]["first_work"] = "1990-13"
        data["worker"]["history"][0]["typo"] = 1
        del data["worker"]["name"]

    _edited(db, key, edit)
    with pytest.raises(CorruptRecord) as info:
        s.session.workers()
    assert sorted(p.path for p in info.value.problems) == [
        "$.worker.first_work",
        "$.worker.history[0].typo",
        "$.worker.name",
    ]
    assert info.value.key == mask(key)


def test_damaged_json_is_named_by_the_store(saved: tuple[Setup, Path]) -> None:
    """Text that is not JSON any more: the SQLite adapter says which record."""
    s, db = saved
    key = s.keys[2]
    _damage(db, key, '{"worker": {"id_number": ')
    for read in (lambda: s.session.worker(key), s.session.workers):
        with pytest.raises(CorruptRecord) as info:
            read()
        assert info.value.key == mask(key)
        [problem] = info.value.problems
        assert problem.path == "$"
        assert "damaged" in problem.message
        _no_personal_data(s, info.value)


@pytest.mark.parametrize("text", ["[1, 2]", "null", '"text"'])
def test_a_record_that_is_not_an_object(saved: tuple[Setup, Path], text: str) -> None:
    s, db = saved
    _damage(db, s.keys[0], text)
    with pytest.raises(CorruptRecord) as info:
        s.session.workers()
    assert [p.path for p in info.value.problems] == ["$"]


def test_missing_bookkeeping_fields(saved: tuple[Setup, Path]) -> None:
    """A record whose worker reads but whose status is gone is still named."""
    s, db = saved
    key = s.keys[0]
    _edited(db, key, lambda data: data.pop("status"))
    with pytest.raises(CorruptRecord) as info:
        s.session.worker(key)
    assert info.value.key == mask(key)


def test_reading_changes_nothing_and_others_stay_readable(saved: tuple[Setup, Path]) -> None:
    """The damaged row is left as it was (for the clerk to restore); the other
    workers are read as before."""
    s, db = saved
    damaged, intact = s.keys[0], s.keys[1]
    expected = s.session.worker(intact).worker
    _damage(db, damaged, "{broken")
    before = _rows(db)
    with pytest.raises(CorruptRecord):
        s.session.worker(damaged)
    assert s.session.worker(intact).worker == expected
    assert _rows(db) == before


def test_restoring_from_the_audit_log_mends_it(saved: tuple[Setup, Path]) -> None:
    """What the error advises works: the latest audit entry's ``after`` of the
    record, written back, reads again."""
    s, db = saved
    key = s.keys[0]
    expected = s.session.worker(key).worker
    _damage(db, key, "{broken")
    with pytest.raises(CorruptRecord):
        s.session.worker(key)
    with s.storage.transaction() as tx:
        entries = tx.audit(s.dossier.employer.unit_no, subject=(RecordKind.WORKER, key))
    last = next(e.after for e in reversed(entries) if e.after is not None)
    _damage(db, key, json.dumps(last, ensure_ascii=False))
    assert s.session.worker(key).worker == expected


def test_problems_of_is_empty_for_a_good_record() -> None:
    """``problems_of`` finds nothing in what the library writes."""
    s = make_setup()
    to_collecting(s)
    stored = s.session.save_worker(s.workers[0])
    from pension_collect.workflow.records import CONVERTER

    assert problems_of(CONVERTER.unstructure(stored.worker, Worker), Worker) == []
    assert [p.path for p in problems_of({"name": "x"}, Worker, path="$.w")] == [
        "$.w.id_number",
        "$.w.first_work",
    ]


def test_printing_names_the_damaged_record(saved: tuple[Setup, Path]) -> None:
    """The form steps, which list every worker, name the damaged one too."""
    s, db = saved
    key = s.keys[1]
    _edited(db, key, lambda data: data.pop("status"))
    for step in (s.session.print_confirmation_forms, s.session.print_summary_sheet):
        with pytest.raises(CorruptRecord) as info:
            step()
        assert info.value.key == mask(key)
    with pytest.raises(CorruptRecord):
        s.session.record_received([key])
