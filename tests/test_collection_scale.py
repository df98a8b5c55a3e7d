"""The collection grows linearly in workers (issue 15): what the session marks
for a person lives in that person's own record, never in one record holding
everybody, and an older store whose session record still holds everybody's
marks is moved to the new shape when it is read, in one transaction. And the
memory store copies what it keeps: nothing a caller changes reaches it.

Speed itself is benchmarks/bench_collection.py's (no timed assertion here):
these tests check what is read and written, which decides how the time grows.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect.adapters import _json
from pension_collect.adapters.memory import MemoryStorage
from pension_collect.identity import mask
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import (
    AuditEntry,
    CorruptRecord,
    Record,
    RecordKind,
    Storage,
    Write,
)
from pension_collect.ports.transport import (
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    WorkerOutcome,
)
from pension_collect.workflow import (
    CollectionSession,
    ConfirmationFormMissing,
    VerificationFormMissing,
    WindowVisit,
)
from pension_collect.workflow.records import CONVERTER, payload_digest
from pg_server import plugins_for
from workflow_fixtures import (
    STORES,
    Setup,
    make_setup,
    more_persons,
    session_over,
    sqlite_url,
    store_url,
    to_collecting,
    to_declared,
)

# -- a store that records what each transaction reads and writes ----------------------------


class _Tx:
    def __init__(self, tx: Any, log: list[tuple[str, str, str]]) -> None:
        self._tx = tx
        self._log = log

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        self._log.append(("get", kind.value, key))
        result: Record | None = self._tx.get(kind, unit_no, key)
        return result

    def list(self, kind: RecordKind, unit_no: str) -> list[Record]:
        self._log.append(("list", kind.value, "*"))
        result: list[Record] = self._tx.list(kind, unit_no)
        return result

    def versions(self, kind: RecordKind, unit_no: str) -> dict[str, int]:
        self._log.append(("versions", kind.value, "*"))
        result: dict[str, int] = self._tx.versions(kind, unit_no)
        return result

    def put(
        self, kind: RecordKind, unit_no: str, key: str, data: dict[str, Any], **kw: Any
    ) -> Record:
        self._log.append(("put", kind.value, key))
        result: Record = self._tx.put(kind, unit_no, key, data, **kw)
        return result

    def put_many(self, kind: RecordKind, unit_no: str, writes: Sequence[Write]) -> list[int]:
        self._log.append(("batch", kind.value, str(len(writes))))
        self._log.extend(("put", kind.value, w.key) for w in writes)
        result: list[int] = self._tx.put_many(kind, unit_no, writes)
        return result

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        self._tx.append_audit(entries)

    def audit(self, unit_no: str, **kw: Any) -> list[AuditEntry]:
        self._log.append(("audit", "", str(kw.get("subject") or kw.get("declaration") or "*")))
        result: list[AuditEntry] = self._tx.audit(unit_no, **kw)
        return result


class Recording:
    """A memory store that logs each read and write: ``(op, kind, key)``."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.url = "memory:"
        self.schema_version = self.inner.schema_version
        self.log: list[tuple[str, str, str]] = []

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self.inner.transaction() as tx:
            yield _Tx(tx, self.log)

    def close(self) -> None:
        self.inner.close()


def _recording_setup(extra: int) -> tuple[Setup, Recording, list[str]]:
    """The example session on a recording store, with ``extra`` more persons of
    the employer at the bureau; every person synced and given a verification form."""
    s = make_setup()
    store = Recording()
    s.session = session_over(s, store)
    s.storage = store  # type: ignore[assignment]
    more = more_persons(s, extra)
    to_declared(s)
    s.session.print_verification_forms()
    return s, store, [s.session.key_of(w) for w in more]


def _session_text(store: Recording, unit: str) -> str:
    with store.inner.transaction() as tx:
        rec = tx.get(RecordKind.SESSION, unit, "session")
    assert rec is not None
    return json.dumps(rec.data, sort_keys=True)


SESSION_FIELDS = {
    "started_at",
    "started_by",
    "sync_no",
    "synced_at",
    "needs_sync",
    "employer",
    "employer_declaration",
    "bureau_employer",
}


def test_the_session_record_does_not_grow_with_the_persons() -> None:
    """Verification forms for 3 or 63 persons, window visits for some: the
    session record is the same text, and holds no field per person; each
    person's marks are their own record."""
    small, small_store, _ = _recording_setup(0)
    large, large_store, more = _recording_setup(60)
    unit = small.dossier.employer.unit_no
    for s, keys in ((small, small.keys[:1]), (large, [*large.keys[:1], *more[:20]])):
        for key in keys:
            s.session.record_window_visit(key)
        s.session.sync()
    assert _session_text(small_store, unit) == _session_text(large_store, unit)
    with large_store.inner.transaction() as tx:
        session = tx.get(RecordKind.SESSION, unit, "session")
        marks = {r.key: r.data for r in tx.list(RecordKind.MARKS, unit)}
    assert session is not None
    assert set(session.data) == SESSION_FIELDS
    assert len(marks) == 63
    assert marks[more[0]] == {
        "verification": 1,
        "window_visit": {"sync_no": 1, "failed_in": None, "at": "2013-08-20T09:00:00+00:00"},
    }
    assert marks[more[30]] == {"verification": 1, "window_visit": None}
    state = large.session.state()
    assert state is not None
    assert state.verification == dict.fromkeys([*large.keys, *more], 1)
    assert set(state.window_visits) == {large.keys[0], *more[:20]}
    assert state.window_visits[more[5]] == WindowVisit(
        key=more[5], sync_no=1, at="2013-08-20T09:00:00+00:00"
    )


def test_a_save_reads_and_writes_only_its_own_person() -> None:
    """save_worker among 63 persons: one get of the session record and of the
    worker's own records (worker, marks, synced), one put of its worker
    record; no list of anything."""
    s, store, _ = _recording_setup(60)
    store.log.clear()
    s.session.save_worker(s.workers[0])
    key = s.keys[0]
    assert sorted(store.log) == sorted(
        [
            ("get", "session", "session"),
            ("get", "worker", key),
            ("get", "marks", key),
            ("get", "synced", key),
            ("put", "worker", key),
        ]
    )


def test_a_window_visit_writes_only_its_person_and_a_small_session_record() -> None:
    """record_window_visit: the person's marks record; the session record only
    for the first visit since the latest sync (to say a sync is due), never a
    record holding every person."""
    s, store, more = _recording_setup(60)
    store.log.clear()
    s.session.record_window_visit(more[0])
    puts = [(kind, key) for op, kind, key in store.log if op == "put"]
    assert puts == [("marks", more[0]), ("session", "session")]
    store.log.clear()
    s.session.record_window_visit(more[1])
    puts = [(kind, key) for op, kind, key in store.log if op == "put"]
    assert puts == [("marks", more[1])]
    assert all(op != "list" for op, _, _ in store.log)


def test_confirmation_forms_of_named_workers_read_only_those() -> None:
    """[P3.7] print_confirmation_forms(keys) for the few failed workers of a
    large collection reads those workers' records (each once), not every worker's; the
    default (every collected worker) lists them once and reads none again."""
    s, store, more = _recording_setup(30)
    for w in s.workers:
        s.session.save_worker(w)
    store.log.clear()
    s.session.print_confirmation_forms([s.keys[1], s.keys[1], s.keys[2]])
    reads = sorted((op, kind, key) for op, kind, key in store.log if op in ("get", "list"))
    assert reads == sorted(
        [
            ("get", "session", "session"),
            ("get", "session", "session"),
            ("get", "worker", s.keys[1]),
            ("get", "worker", s.keys[2]),
        ]
    )
    assert [(kind, key) for op, kind, key in store.log if op == "put"] == [
        ("worker", s.keys[1]),
        ("worker", s.keys[2]),
    ]
    assert [w.confirmation_printed for w in s.session.workers()] == [False, True, True]
    store.log.clear()
    s.session.print_confirmation_forms()
    reads = [(op, kind) for op, kind, _ in store.log if op in ("get", "list")]
    assert sorted(reads) == [("get", "session"), ("get", "session"), ("list", "worker")]
    assert all(w.confirmation_printed for w in s.session.workers())
    assert len(more) == 30


def test_verification_forms_of_everyone_read_each_kind_once() -> None:
    """[P3.2] print_verification_forms() of every person synced reads the synced
    persons, their worker records and their marks in one pass each (a range
    read, not a lookup per person: the lookups' cost grows with the store) and
    writes the marks as one batch; of named persons, it reads only theirs."""
    s, store, more = _recording_setup(30)
    s.session.save_worker(s.workers[0])
    store.log.clear()
    s.session.print_verification_forms()
    reads = sorted((op, kind) for op, kind, _ in store.log if op in ("get", "list"))
    assert reads == [
        ("get", "session"),
        ("get", "session"),
        ("list", "marks"),
        ("list", "synced"),
        ("list", "worker"),
    ]
    everyone = sorted([*s.keys, *more])
    assert [op for op, _, _ in store.log if op == "batch"] == ["batch"]
    assert sorted(key for op, kind, key in store.log if op == "put") == everyone
    state = s.session.state()
    assert state is not None
    assert {k: state.verification[k] for k in everyone} == dict.fromkeys(everyone, state.sync_no)
    store.log.clear()
    s.session.print_verification_forms([more[3], s.keys[0]])
    reads = sorted((op, kind, key) for op, kind, key in store.log if op in ("get", "list"))
    assert reads == sorted(
        [("get", "session", "session")] * 2
        + [
            (("get", kind, k))
            for kind in ("synced", "worker", "marks")
            for k in (more[3], s.keys[0])
        ]
    )


def test_marking_steps_write_one_batch() -> None:
    """The receipts of every worker and a declaration's workers are each written
    as one batch (one put_many), not a write per worker."""
    s, store, _ = _recording_setup(5)
    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms()
    store.log.clear()
    s.session.record_received(s.keys)
    assert [e for e in store.log if e[0] == "batch"] == [("batch", "worker", str(len(s.keys)))]
    s.session.print_summary_sheet()
    store.log.clear()
    s.session.submit_declaration()
    batches = [e for e in store.log if e[0] == "batch" and e[1] == "worker"]
    assert batches == [("batch", "worker", str(len(s.keys)))]


def _gets(store: Recording, kind: str) -> list[str]:
    return [key for op, k, key in store.log if op == "get" and k == kind]


def test_lookups_of_named_records_go_in_key_order() -> None:
    """Steps that look up many named records read each once and in key order,
    whatever order they were named in (a payroll list): neighbouring records
    share a store's pages, and on a SQLite file many times its page cache
    20,000 lookups in key order cost a third of those in a payroll order.
    Following a declaration reads its workers in key order too, and writes
    them as one batch."""
    s = make_setup()
    store = Recording()
    s.session = session_over(s, store)
    more = more_persons(s, 12)
    to_declared(s)
    s.session.print_verification_forms()
    workers = [*s.workers, *more]
    assert not s.session.save_workers(workers).refused
    keys = [s.session.key_of(w) for w in workers]
    named = keys[::-1] + keys[:2]  # out of order, two named twice
    assert named != sorted(named)
    store.log.clear()
    s.session.print_verification_forms(named)
    for kind in ("synced", "worker", "marks"):
        assert _gets(store, kind) == sorted(keys), kind
    store.log.clear()
    s.session.print_confirmation_forms(named)
    assert _gets(store, "worker") == sorted(keys)
    store.log.clear()
    s.session.record_received(named)
    assert _gets(store, "worker") == sorted(keys)
    s.session.print_summary_sheet()
    s.session.submit_declaration()
    s.bureau.settle()
    store.log.clear()
    (decl,) = s.session.follow()
    assert decl.state.value == "succeeded"
    assert _gets(store, "worker") == sorted(keys)
    assert [e for e in store.log if e[0] == "batch" and e[1] == "worker"] == [
        ("batch", "worker", str(len(keys)))
    ]


def test_a_sync_reads_the_versions_of_the_synced_records_not_their_data() -> None:
    """[P3.1] A data sync writes every person's synced record again (with the
    sync number) as one batch, reading only their versions first: the
    records' data is not read (at 20,000 persons, 50 MB of JSON)."""
    s, store, more = _recording_setup(6)
    store.log.clear()
    s.session.sync()
    synced = [(op, key) for op, kind, key in store.log if kind == "synced"]
    everyone = sorted([*s.keys, *more])
    assert synced[:2] == [("versions", "*"), ("batch", str(len(everyone)))]
    assert sorted(synced[2:]) == [("put", k) for k in everyone]
    with store.inner.transaction() as tx:
        versions = {
            r.key: r.version for r in tx.list(RecordKind.SYNCED, s.dossier.employer.unit_no)
        }
    assert versions == dict.fromkeys(everyone, 2)


class _NamedTwice:
    """The session's transport, but the bureau's answer names the first
    worker twice: accepted, then failed (a bureau that corrected itself)."""

    def __init__(self, inner: Any, key: str) -> None:
        self._inner = inner
        self._key = key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def status(self, declaration_id: str, **kw: Any) -> DeclarationStatus:
        status: DeclarationStatus = self._inner.status(declaration_id, **kw)
        if status.kind is not DeclarationKind.WORKERS or not status.state.concluded:
            return status
        first = WorkerOutcome(key=self._key, succeeded=True)
        later = WorkerOutcome(
            key=self._key, succeeded=False, code="bureau.other-employer", message="moved"
        )
        others = tuple(o for o in status.outcomes if o.key != self._key)
        return attrs.evolve(
            status, state=DeclarationState.PARTIALLY_SUCCEEDED, outcomes=(first, *others, later)
        )


def test_an_outcome_named_twice_is_written_once_and_logged_twice() -> None:
    """[P3.7] An answer naming a worker twice: the worker's record is written
    once (in the one batch of the declaration's workers) with the later
    verdict, and each verdict has its audit entry, the second following the
    first; the record still matches its audit log, so the worker is
    collected again and declared."""
    s, store, _ = _recording_setup(3)
    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms()
    s.session.record_received(s.keys)
    decl = s.session.submit_declaration()
    s.bureau.settle()
    twice = s.keys[0]
    s.session.transport = _NamedTwice(s.session.transport, twice)
    store.log.clear()
    (done,) = s.session.follow()
    assert done.state is DeclarationState.PARTIALLY_SUCCEEDED
    assert [e for e in store.log if e[0] == "batch" and e[1] == "worker"] == [
        ("batch", "worker", str(len(s.keys)))
    ]
    assert [k for op, kind, k in store.log if op == "put" and kind == "worker"].count(twice) == 1
    stored = s.session.worker(twice)
    assert stored.status.value == "failed"
    assert stored.version == 2 + 3  # saved, printed, received, submitted; concluded once
    trail = [e for e in s.session.audit(worker=twice) if e.declaration == decl.key]
    verdicts = [(e.action, e.before, (e.after or {}).get("status")) for e in trail[-2:]]
    assert verdicts == [
        ("worker.accepted", {"status": "submitted"}, "accepted"),
        ("worker.failed", {"status": "accepted"}, "failed"),
    ]
    assert s.session.failed_workers() == [twice]
    s.session.transport = s.session.transport._inner
    s.bureau.transfer_person(s.workers[0].person_no, s.dossier.employer.unit_no)
    s.session.record_window_visit(twice)
    s.session.sync()
    s.session.print_verification_forms([twice])
    s.session.save_worker(s.workers[0])
    s.session.print_confirmation_forms([twice])
    s.session.record_received([twice])
    again = s.session.submit_declaration()
    assert again.workers == (twice,)


def test_a_sent_draft_is_not_read_back() -> None:
    """Submitting stores the draft with its payload (the whole declaration)
    and, once the bureau has answered, writes the answer over the draft as it
    was claimed: the draft is not read again (a second session that recorded
    the answer first makes the write fail, and only then is it read)."""
    s, store, _ = _recording_setup(5)
    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms()
    s.session.record_received(s.keys)
    store.log.clear()
    decl = s.session.submit_declaration()
    ops = [(op, key) for op, kind, key in store.log if kind == "declaration"]
    assert ops == [("list", "*"), ("put", decl.key), ("put", decl.key)]
    assert decl.state.value == "submitted"
    assert decl.bureau_id
    with store.inner.transaction() as tx:  # sent: the payload is not kept
        rec = tx.get(RecordKind.DECLARATION, s.dossier.employer.unit_no, decl.key)
    assert rec is not None
    assert "payload" not in rec.data
    assert len(rec.data["payload_digest"]) == 64  # the digest stays, to check a resend


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    payload=st.one_of(
        st.builds(lambda ws: {"workers": ws}, st.lists(_JSON, max_size=5)),
        st.dictionaries(st.sampled_from(["workers", "employer", "x", "工"]), _JSON, max_size=3),
    )
)
def test_the_payload_digest_is_that_of_the_whole_text(payload: dict[str, Any]) -> None:
    """A workers' declaration's digest, taken a worker at a time, is the
    SHA-256 of the whole canonical text, as drafts stored by earlier releases
    (and their audit entries) hold it; any other payload's too."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert payload_digest(payload) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_known_payload_digest() -> None:
    """The digest of a small workers' payload, written out by hand."""
    payload = {"workers": [{"key": "1", "worker": {"name": "张伟", "b": [1, None]}}, {}]}
    text = '{"workers":[{"key":"1","worker":{"b":[1,null],"name":"张伟"}},{}]}'
    assert payload_digest(payload) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def _set_status(store: Recording, unit: str, key: str, status: str) -> None:
    """A worker record's status set in the store, as another program would."""
    with store.inner.transaction() as tx:
        rec = tx.get(RecordKind.WORKER, unit, key)
        assert rec is not None
        data = {**rec.data, "status": status}
        tx.put(RecordKind.WORKER, unit, key, data, expected_version=rec.version)


def test_failed_workers_reads_the_status_alone() -> None:
    """failed_workers lists the worker records once; a status that is not one
    of the workflow's is named as a damaged record (CorruptRecord), as every
    other read of it does."""
    s, store, _ = _recording_setup(5)
    for w in s.workers:
        s.session.save_worker(w)
    unit = s.dossier.employer.unit_no
    _set_status(store, unit, s.keys[1], "failed")
    store.log.clear()
    assert s.session.failed_workers() == [s.keys[1]]
    assert store.log == [("list", "worker", "*")]
    _set_status(store, unit, s.keys[2], "lost")
    with pytest.raises(CorruptRecord) as info:
        s.session.failed_workers()
    assert info.value.key == mask(s.keys[2])


def test_receipts_refused_for_an_unprinted_form_among_printed_ones() -> None:
    """record_received reads each worker's record once and refuses, naming
    the worker, when its confirmation form was not printed; nothing is marked."""
    s, store, _ = _recording_setup(5)
    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms(s.keys[:2])
    store.log.clear()
    with pytest.raises(ConfirmationFormMissing) as info:
        s.session.record_received(s.keys)
    assert info.value.keys == (mask(s.keys[2]),)
    assert [op for op, _, _ in store.log].count("put") == 0
    assert sorted(k for op, kind, k in store.log if kind == "worker") == sorted(s.keys)
    s.session.record_received(s.keys[:2])
    assert [w.form_received for w in s.session.workers()] == [True, True, False]


def test_a_worker_record_does_not_repeat_the_bureau_record() -> None:
    """A worker record keeps the worker without the bureau's record it was
    checked against (the person's synced record holds it): half the text a
    step reads and writes. worker() and workers() give it back: the record
    save_worker checked against; after a later sync, the bureau's record as
    that sync shows it ([P3.3a]: a name corrected at the window)."""
    s, store, _ = _recording_setup(3)
    unit = s.dossier.employer.unit_no
    saved = s.session.save_worker(s.workers[0])
    key = s.keys[0]
    assert saved.worker.bureau is not None
    with store.inner.transaction() as tx:
        rec = tx.get(RecordKind.WORKER, unit, key)
        synced = tx.get(RecordKind.SYNCED, unit, key)
    assert rec is not None
    assert synced is not None
    assert "bureau" not in rec.data["worker"]
    assert synced.data["record"]["history"]  # the bureau's block is kept there, once
    assert s.session.worker(key).worker == saved.worker
    assert [w.worker for w in s.session.workers()] == [saved.worker]
    person_no = saved.worker.person_no
    assert person_no is not None
    s.bureau.correct_identity(person_no, name="王五")
    s.session.sync()
    assert s.session.worker(key).worker.bureau.name == "王五"  # type: ignore[union-attr]
    assert s.session.worker(key).worker.name == saved.worker.name
    assert s.session.workers()[0].worker.bureau == s.session.worker(key).worker.bureau


def test_a_worker_record_of_an_earlier_release_keeps_its_bureau_record() -> None:
    """A worker record written before this change (the bureau's record
    inline, its audit log saying so) is read as it is and declared as it is;
    the marks of the steps after it keep it."""
    s, store, _ = _recording_setup(0)
    unit = s.dossier.employer.unit_no
    for w in s.workers:
        s.session.save_worker(w)
    key = s.keys[1]
    bureau = s.session.worker(key).worker.bureau
    assert bureau is not None
    inline = attrs.evolve(bureau, name="旧名")
    with store.inner.transaction() as tx:
        rec = tx.get(RecordKind.WORKER, unit, key)
        assert rec is not None
        worker = {**rec.data["worker"], "bureau": CONVERTER.unstructure(inline)}
        tx.put(
            RecordKind.WORKER,
            unit,
            key,
            {**rec.data, "worker": worker},
            expected_version=rec.version,
        )
        tx.append_audit(
            [
                AuditEntry(
                    at="2013-08-20T09:00:00+00:00",
                    actor="an earlier release",
                    unit_no=unit,
                    action="worker.saved",
                    subject_kind=RecordKind.WORKER,
                    subject_key=key,
                    message="saved",
                    after={**rec.data, "worker": worker},
                )
            ]
        )
    assert s.session.worker(key).worker.bureau == inline
    assert {w.key: w.worker.bureau for w in s.session.workers()}[key] == inline
    s.session.print_confirmation_forms()
    s.session.record_received(s.keys)
    decl = s.session.submit_declaration()
    assert set(decl.workers) == set(s.keys)
    s.bureau.settle()
    s.session.follow()
    with store.inner.transaction() as tx:
        rec = tx.get(RecordKind.WORKER, unit, key)
    assert rec is not None
    assert rec.data["status"] == "accepted"
    assert rec.data["worker"]["bureau"]["name"] == "旧名"


# -- a session record of the old shape --------------------------------------------------------


def _old_shape(s: Setup, sync_no: int, visit_key: str) -> dict[str, Any]:
    """The session record as releases before per-person marks wrote it: every
    person's verification sync and window visit in it."""
    unit = s.dossier.employer.unit_no
    with s.storage.transaction() as tx:
        rec = tx.get(RecordKind.SESSION, unit, "session")
        assert rec is not None
        data = {
            **rec.data,
            "verification": dict.fromkeys(s.keys, sync_no),
            "window_visits": {
                visit_key: {"sync_no": sync_no, "failed_in": None, "at": "2013-08-19T10:00:00"}
            },
        }
        tx.put(RecordKind.SESSION, unit, "session", data, expected_version=rec.version)
    return data


def _records(storage: Storage, unit: str) -> tuple[Record, list[Record]]:
    with storage.transaction() as tx:
        session = tx.get(RecordKind.SESSION, unit, "session")
        marks = tx.list(RecordKind.MARKS, unit)
    assert session is not None
    return session, marks


@pytest.mark.parametrize("store", STORES)
def test_an_old_session_record_is_moved_to_marks_records_when_read(
    store: str, tmp_path: Path
) -> None:
    """A store whose session record holds every person's marks opens; the first
    read moves them into one marks record each and drops them from the session
    record (one audit entry says so); the next read writes nothing; the
    collection goes on from the moved marks."""
    s = make_setup(store_url(store, tmp_path))
    to_declared(s)
    unit = s.dossier.employer.unit_no
    old = _old_shape(s, 1, s.keys[2])
    before, marks = _records(s.storage, unit)
    assert marks == []
    assert before.data == old

    session = s.reopen()
    state = session.state()
    assert state is not None
    assert state.verification == dict.fromkeys(s.keys, 1)
    assert state.window_visits == {
        s.keys[2]: WindowVisit(key=s.keys[2], sync_no=1, at="2013-08-19T10:00:00")
    }
    after, marks = _records(s.storage, unit)
    assert after.version == before.version + 1
    moved = ("verification", "window_visits")
    assert after.data == {k: v for k, v in old.items() if k not in moved}
    assert {m.key: m.data for m in marks} == {
        s.keys[0]: {"verification": 1, "window_visit": None},
        s.keys[1]: {"verification": 1, "window_visit": None},
        s.keys[2]: {
            "verification": 1,
            "window_visit": {"sync_no": 1, "failed_in": None, "at": "2013-08-19T10:00:00"},
        },
    }
    migrated = [e for e in session.audit() if e.action == "session.migrated"]
    assert [e.message for e in migrated] == [
        "per-person marks moved from the session record to 3 marks records"
    ]

    assert session.state() == state  # read again: nothing more to move
    assert _records(s.storage, unit)[0].version == after.version
    for w in s.workers:
        session.save_worker(w)
    assert [w.status.value for w in session.workers()] == ["collected"] * 3


def test_an_old_sqlite_file_is_collected_to_the_end(tmp_path: Path) -> None:
    """A SQLite file whose session record has the old shape (written here with
    sqlite3, as an older release left it: forms printed, one worker saved, a
    window visit) is opened by a new session, which saves the others and
    submits; the marks moved are those the file held."""
    s = make_setup(sqlite_url(tmp_path))
    to_collecting(s)
    s.session.save_worker(s.workers[0])
    unit = s.dossier.employer.unit_no
    db = tmp_path / "collection.db"
    s.storage.close()
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute("SELECT data FROM records WHERE kind = 'session'").fetchone()
        data = json.loads(text)
        data["verification"] = dict.fromkeys(s.keys, data["sync_no"])
        data["window_visits"] = {}
        conn.execute("UPDATE records SET data = ? WHERE kind = 'session'", (json.dumps(data),))
        conn.execute("DELETE FROM records WHERE kind = 'marks'")
    conn.close()

    host = PluginHost(load_entry_points=False)
    storage = host.open_storage(sqlite_url(tmp_path))
    try:
        session = CollectionSession(
            storage,
            s.session.transport,
            unit_no=unit,
            actor="clerk-2",
            host=host,
            as_of=s.dossier.as_of,
            clock=s.clock,
        )
        for w in s.workers[1:]:
            session.save_worker(w)
        session.print_confirmation_forms()
        session.record_received(s.keys)
        decl = session.submit_declaration()
        assert sorted(decl.workers) == sorted(s.keys)
        session_rec, marks = _records(storage, unit)
        assert "verification" not in session_rec.data
        assert {m.key: m.data["verification"] for m in marks} == dict.fromkeys(s.keys, 1)
    finally:
        storage.close()


@pytest.mark.parametrize("store", STORES)
def test_the_move_is_all_or_nothing(store: str, tmp_path: Path) -> None:
    """The move is written in the transaction of the step that read the old
    record: a step refused after it leaves the store as it was (the old shape,
    no marks record), and old marks that cannot be read are a CorruptRecord
    with nothing changed."""
    s = make_setup(store_url(store, tmp_path))
    to_declared(s)
    unit = s.dossier.employer.unit_no
    _old_shape(s, 1, s.keys[2])
    with s.storage.transaction() as tx:  # no form printed for the first worker
        rec = tx.get(RecordKind.SESSION, unit, "session")
        assert rec is not None
        data = {**rec.data, "verification": {s.keys[1]: 1}}
        tx.put(RecordKind.SESSION, unit, "session", data, expected_version=rec.version)
    old = data
    session = s.reopen()
    with pytest.raises(VerificationFormMissing):
        session.save_worker(s.workers[0])
    rec, marks = _records(s.storage, unit)
    assert (rec.data, marks) == (old, [])

    with s.storage.transaction() as tx:
        damaged = {**old, "window_visits": {s.keys[2]: {"sync_no": "one"}}}
        tx.put(RecordKind.SESSION, unit, "session", damaged, expected_version=rec.version)
    with pytest.raises(CorruptRecord) as info:
        session.state()
    assert info.value.kind is RecordKind.SESSION
    assert _records(s.storage, unit)[1] == []
    assert s.keys[2] not in str(info.value)


# -- the memory store copies ------------------------------------------------------------------


def test_the_memory_store_keeps_its_own_copy() -> None:
    """What a caller saved, got back, listed or read from the audit log, changed
    afterwards at any depth, changes nothing in the store."""
    store = MemoryStorage()
    data: dict[str, Any] = {"worker": {"account": [{"year": 2012, "balance": "1.00"}]}, "n": [1]}
    after: dict[str, Any] = {"worker": {"account": [{"year": 2012}]}}
    with store.transaction() as tx:
        tx.put(RecordKind.WORKER, "u", "k", data, expected_version=0)
        tx.append_audit(
            [
                AuditEntry(
                    at="2013-08-20T09:00:00+00:00",
                    actor="a",
                    unit_no="u",
                    action="worker.saved",
                    subject_kind=RecordKind.WORKER,
                    subject_key="k",
                    message="saved",
                    after=after,
                )
            ]
        )
        data["worker"]["account"][0]["balance"] = "changed in the transaction"
        got = tx.get(RecordKind.WORKER, "u", "k")
        assert got is not None
        got.data["worker"]["account"].append("got, changed")
    data["n"].append(2)
    after["worker"]["account"][0]["year"] = 1999
    with store.transaction() as tx:
        got = tx.get(RecordKind.WORKER, "u", "k")
        listed = tx.list(RecordKind.WORKER, "u")
        [entry] = tx.audit("u", subject=(RecordKind.WORKER, "k"))
        assert got is not None
        assert entry.after is not None
        got.data["n"].append("got")
        listed[0].data["worker"]["account"].clear()
        entry.after["worker"]["account"][0]["year"] = 1066
    with store.transaction() as tx:
        again = tx.get(RecordKind.WORKER, "u", "k")
        [entry] = tx.audit("u")
    assert again is not None
    assert again.data == {"worker": {"account": [{"year": 2012, "balance": "1.00"}]}, "n": [1]}
    assert entry.after == {"worker": {"account": [{"year": 2012}]}}
    assert entry.seq == 1


def test_the_memory_audit_log_reads_by_subject_and_declaration() -> None:
    """The indexed log gives what a filter of the whole log gives, committed
    entries and the transaction's own, in order, with their numbers."""
    store = MemoryStorage()

    def entry(i: int, key: str, declaration: str | None, unit: str = "u") -> AuditEntry:
        return AuditEntry(
            at=f"t{i}",
            actor="a",
            unit_no=unit,
            action="x",
            subject_kind=RecordKind.WORKER,
            subject_key=key,
            message=f"m{i}",
            declaration=declaration,
        )

    plan = [("k1", None), ("k2", "d1"), ("k1", "d1"), ("k3", None), ("k1", "d2")]
    with store.transaction() as tx:
        tx.append_audit([entry(i, k, d) for i, (k, d) in enumerate(plan[:3])])
        tx.append_audit([entry(9, "k1", "d1", unit="other")])
    with store.transaction() as tx:
        tx.append_audit([entry(i + 3, k, d) for i, (k, d) in enumerate(plan[3:])])
        by_k1 = tx.audit("u", subject=(RecordKind.WORKER, "k1"))
        by_d1 = tx.audit("u", declaration="d1")
        both = tx.audit("u", subject=(RecordKind.WORKER, "k1"), declaration="d1")
        every = tx.audit("u")
    assert [(e.message, e.seq) for e in by_k1] == [("m0", 1), ("m2", 3), ("m4", 6)]
    assert [(e.message, e.seq) for e in by_d1] == [("m1", 2), ("m2", 3)]
    assert [(e.message, e.seq) for e in both] == [("m2", 3)]
    assert [e.seq for e in every] == [1, 2, 3, 5, 6]


@pytest.mark.parametrize("store", STORES)
def test_a_saved_record_is_written_once_as_its_audit_image(store: str, tmp_path: Path) -> None:
    """An audit image that is the very object a put of the same transaction
    saved is written as the text saved (serialized once, as a save and its
    ``worker.saved`` entry are): it shows what the record holds, also when
    the caller changed the object in between; any other image is its own."""
    url = store_url(store, tmp_path)
    storage = PluginHost(load_entry_points=False, plugins=plugins_for(url)).open_storage(url)
    data: dict[str, Any] = {"status": "collected", "n": [1]}
    other: dict[str, Any] = {"status": "collected", "n": [1]}
    try:
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "k", data, expected_version=0)
            data["n"].append("changed after the save")
            other["n"].append("its own")
            tx.append_audit(
                [
                    AuditEntry(
                        at="t",
                        actor="a",
                        unit_no="u",
                        action="worker.saved",
                        subject_kind=RecordKind.WORKER,
                        subject_key="k",
                        message="saved",
                        before=other,
                        after=data,
                    )
                ]
            )
        with storage.transaction() as tx:
            [entry] = tx.audit("u")
            saved = tx.get(RecordKind.WORKER, "u", "k")
    finally:
        storage.close()
    assert saved is not None
    assert entry.after == saved.data == {"status": "collected", "n": [1]}
    assert entry.before == {"status": "collected", "n": [1, "its own"]}


@pytest.mark.parametrize("store", STORES)
def test_a_long_transaction_keeps_only_the_latest_saved_texts(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that writes every worker in one transaction does not keep every
    record's text until it commits: only the latest SAVED_CHARS_KEPT
    characters (here made 2,048: 64 of these records). An image of data
    written earlier (its text forgotten) is serialized anew and shows the
    object as it is at append time; the image of the latest save is still
    the text saved."""
    monkeypatch.setattr(_json, "SAVED_CHARS_KEPT", 2048)
    if store == "postgresql":
        import pension_collect_postgres.storage as pg_storage

        monkeypatch.setattr(pg_storage, "_SAVED_KEPT", 2048)
    url = store_url(store, tmp_path)
    storage = PluginHost(load_entry_points=False, plugins=plugins_for(url)).open_storage(url)
    datas: list[dict[str, Any]] = [{"status": "collected", "n": [i]} for i in range(200)]
    try:
        with storage.transaction() as tx:
            for i, d in enumerate(datas[:100]):
                tx.put(RecordKind.WORKER, "u", f"k{i:03d}", d, expected_version=0)
            tx.put_many(
                RecordKind.WORKER,
                "u",
                [Write(f"k{i:03d}", datas[i], 0) for i in range(100, 200)],
            )
            kept = len(tx._saved)  # type: ignore[attr-defined]
            assert 2048 // 34 <= kept <= 2048 // 30
            datas[0]["n"].append("changed after the save")
            datas[199]["n"].append("changed after the save")
            tx.append_audit(
                [
                    AuditEntry(
                        at="t",
                        actor="a",
                        unit_no="u",
                        action="worker.saved",
                        subject_kind=RecordKind.WORKER,
                        subject_key=key,
                        message="saved",
                        after=d,
                    )
                    for key, d in (("k000", datas[0]), ("k199", datas[199]))
                ]
            )
        with storage.transaction() as tx:
            first, last = tx.audit("u")
            records = tx.list(RecordKind.WORKER, "u")
    finally:
        storage.close()
    assert len(records) == 200
    assert first.after == {"status": "collected", "n": [0, "changed after the save"]}
    assert last.after == {"status": "collected", "n": [199]} == records[199].data


def test_the_memory_store_rebuilds_an_audit_entry_as_evolve_would() -> None:
    """The memory store copies audit entries with a direct constructor (not
    attrs.evolve): every field of the entry is carried, so a field added to
    AuditEntry without it fails here."""
    from pension_collect.adapters.memory import _entry

    entry = AuditEntry(
        at="2013-08-20T09:00:00+00:00",
        actor="clerk",
        unit_no="u",
        action="worker.saved",
        subject_kind=RecordKind.WORKER,
        subject_key="k",
        message="saved",
        declaration="workers-1",
        before={"a": 1},
        after={"b": 2},
        seq=7,
    )
    copied = _entry(entry, {"x": 1}, None, 9)
    assert copied == attrs.evolve(entry, before={"x": 1}, after=None, seq=9)
    assert {f.name for f in attrs.fields(AuditEntry)} == {
        "at",
        "actor",
        "unit_no",
        "action",
        "subject_kind",
        "subject_key",
        "message",
        "declaration",
        "before",
        "after",
        "seq",
    }
