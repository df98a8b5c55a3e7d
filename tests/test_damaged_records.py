"""A record damaged outside the library (edited by hand, another program) is
reported with its kind, masked key and the place inside it; nothing is changed
and the other records stay readable. Real SQLite files, edited with sqlite3.

And the other way: data no store can keep (a lone surrogate, a value JSON has
no form for) is refused by memory and SQLite alike, before anything is saved."""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve

from pension_collect.adapters.memory import MemoryStorage
from pension_collect.adapters.sqlite import SQLiteStorage
from pension_collect.dossier import problems_of
from pension_collect.identity import mask
from pension_collect.model import Worker
from pension_collect.ports.storage import (
    CorruptRecord,
    RecordKind,
    Storage,
    UnstorableData,
    Write,
)
from pension_collect.testing.contract import UNIT, sample_entry
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


# -- text that is not UTF-8 in the file ------------------------------------------------------


def test_invalid_utf8_in_any_record_is_named_without_its_data(saved: tuple[Setup, Path]) -> None:
    """Each record in turn given a byte that is never UTF-8: the sqlite3 module's
    own error quoted the whole record, identity number included; the store
    raises CorruptRecord naming the record (masked) and the byte, through the
    session too, and reading the other records goes on."""
    s, db = saved
    unit = s.dossier.employer.unit_no
    expected = [w.worker for w in s.session.workers()]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, key, data FROM records ORDER BY kind, key").fetchall()
    conn.close()
    assert len(rows) >= 8
    for kind, key, data in rows:
        raw = data.encode("utf-8")
        bad = raw[: len(raw) // 2] + b"\xff" + raw[len(raw) // 2 :]
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE records SET data = CAST(? AS TEXT) WHERE kind = ? AND key = ?",
                (bad, kind, key),
            )
        conn.close()
        reads: list[Any] = [
            lambda kind=kind, key=key: _in_tx(s, lambda tx: tx.get(RecordKind(kind), unit, key)),
            lambda kind=kind: _in_tx(s, lambda tx: tx.list(RecordKind(kind), unit)),
        ]
        if kind == "worker":
            reads += [lambda key=key: s.session.worker(key), s.session.workers]
        for read in reads:
            with pytest.raises(CorruptRecord) as info:
                read()
            assert info.value.kind is RecordKind(kind)
            [problem] = info.value.problems
            assert "not UTF-8" in problem.message
            _no_personal_data(s, info.value)
            assert key not in repr(info.value) or kind in ("session", "declaration")
        _damage_kind(db, kind, key, data)
    assert [w.worker for w in s.session.workers()] == expected


def _in_tx(s: Setup, read: Any) -> Any:
    with s.storage.transaction() as tx:
        return read(tx)


def _damage_kind(db: Path, kind: str, key: str, text: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE records SET data = ? WHERE kind = ? AND key = ?", (text, kind, key))
    conn.close()


# -- what no store keeps: refused alike by memory and SQLite ---------------------------------


def _stores(tmp_path: Path) -> list[Storage]:
    return [MemoryStorage(), SQLiteStorage(tmp_path / "c.db")]


def _deep(depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    inner = data
    for _ in range(depth):
        inner["x"] = {}
        inner = inner["x"]
    return data


UNSTORABLE = [
    ("lone surrogate in a name", "k", {"worker": {"name": "张\ud800伟"}}, "$.worker.name"),
    (
        "lone surrogate in a list",
        "k",
        {"history": [{"remark": "ok"}, {"remark": "\udfff"}]},
        "$.history[1].remark",
    ),
    ("lone surrogate in a member name", "k", {"w": {"na\ud800me": 1}}, '$.w["*****"]'),
    ("lone surrogate in the key", "3710\udc0002", {}, "key"),
    ("a set", "k", {"tags": {1, 2}}, "$.tags"),
    ("a date", "k", {"on": _dt.date(2013, 8, 20)}, "$.on"),
    ("a member named by a tuple", "k", {"m": {(1, 2): 1}}, '$.m["*****"]'),
    ("a number too long to write", "k", {"n": 10**5000}, "$.n"),
    ("nested too deeply", "k", _deep(100_000), "$"),
    ("not a mapping", "k", [1, 2], "$"),
]


@pytest.mark.parametrize(
    ("key", "data", "path"),
    [case[1:] for case in UNSTORABLE],
    ids=[case[0] for case in UNSTORABLE],
)
def test_both_stores_refuse_the_same_data_the_same_way(
    tmp_path: Path, key: str, data: Any, path: str
) -> None:
    """Memory and SQLite refuse the same data with the same UnstorableData (its
    path, its message), save nothing of it, and go on working; saving into
    SQLite raised a raw UnicodeEncodeError (quoting the record) while memory
    took it."""
    messages = []
    for store in _stores(tmp_path):
        with store.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "before", {"v": 1}, expected_version=0)
            with pytest.raises(UnstorableData) as info:
                tx.put(RecordKind.WORKER, "u", key, data, expected_version=0)
            tx.put(RecordKind.WORKER, "u", "after", {"v": 2}, expected_version=0)
        assert info.value.code == "storage.unstorable"
        assert info.value.path == path
        assert "\ud800" not in str(info.value)
        str(info.value).encode("utf-8")  # printable: no lone surrogate in it
        messages.append((str(info.value), info.value.message_zh))
        with store.transaction() as tx:
            assert [r.key for r in tx.list(RecordKind.WORKER, "u")] == ["after", "before"]
        store.close()
    assert messages[0] == messages[1]


def test_a_refused_batch_saves_nothing_of_itself_alike(tmp_path: Path) -> None:
    """put_many with one unstorable write: none of the batch is saved (what the
    transaction did before it stays), in both stores."""
    for store in _stores(tmp_path):
        with store.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "a", {"v": 1}, expected_version=0)
            batch = [Write("b", {"v": 1}, 0), Write("c", {"name": "\ud800"}, 0)]
            with pytest.raises(UnstorableData) as info:
                tx.put_many(RecordKind.WORKER, "u", batch)
            assert info.value.path == "$.name"
            assert info.value.subject == "worker record *"
        with store.transaction() as tx:
            assert [r.key for r in tx.list(RecordKind.WORKER, "u")] == ["a"]
        store.close()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"after": {"worker": {"name": "\ud800"}}}, "$.after.worker.name"),
        ({"before": {"tags": {1}}}, "$.before.tags"),
        ({"actor": "clerk\udc80"}, "$.actor"),
        ({"message": "saved \ud800"}, "$.message"),
        ({"declaration": "workers-\ud800"}, "$.declaration"),
    ],
)
def test_both_stores_refuse_the_same_audit_entries(
    tmp_path: Path, change: dict[str, Any], path: str
) -> None:
    """An audit entry no store can keep: refused alike, none of its batch kept."""
    messages = []
    for store in _stores(tmp_path):
        entries = [sample_entry("worker.saved", "k1"), evolve(sample_entry("x", "k2"), **change)]
        with store.transaction() as tx:
            with pytest.raises(UnstorableData) as info:
                tx.append_audit(entries)
            assert tx.audit(UNIT) == []
        assert info.value.path == path
        assert info.value.subject == "audit entry 2 of 2"
        messages.append(str(info.value))
        store.close()
    assert messages[0] == messages[1]


def test_both_stores_give_back_what_json_keeps(tmp_path: Path) -> None:
    """A tuple comes back a list, a number as a member name comes back text: in
    memory as in SQLite."""
    for store in _stores(tmp_path):
        with store.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "k", {"t": (1, 2), "m": {3: "x"}}, expected_version=0)
        with store.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, "u", "k")
        assert rec is not None
        assert rec.data == {"t": [1, 2], "m": {"3": "x"}}
        store.close()


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_saving_a_worker_with_a_lone_surrogate(tmp_path: Path, store: str) -> None:
    """A worker whose remark holds a lone surrogate (the reader refuses one; a
    program may still build one): the save is refused with UnstorableData on
    either store, no record and no audit entry written, nothing personal in
    the message."""
    s = make_setup("memory:" if store == "memory" else sqlite_url(tmp_path))
    to_collecting(s)
    worker = s.workers[0]
    history = list(worker.history)
    history[0] = evolve(history[0], remark="备注\ud800")
    with s.storage.transaction() as tx:
        entries_before = len(tx.audit(s.dossier.employer.unit_no))
    with pytest.raises(UnstorableData) as info:
        s.session.save_worker(evolve(worker, history=tuple(history)))
    assert info.value.path == "$.worker.history[0].remark"
    text = f"{info.value} {info.value!r} {info.value.message_zh}"
    for w in s.workers:
        assert w.id_number not in text
        assert w.name not in text
    with s.storage.transaction() as tx:
        assert tx.get(RecordKind.WORKER, s.dossier.employer.unit_no, s.keys[0]) is None
        assert len(tx.audit(s.dossier.employer.unit_no)) == entries_before
