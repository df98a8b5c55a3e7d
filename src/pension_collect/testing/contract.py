"""The storage contract suite: what every storage adapter must pass (docs/storage.md).

Subclass :class:`StorageContract` (a store that lives in one process) or
:class:`SharedStorageContract` (a store several processes share: a file, a
server) in a test module and provide the fixtures::

    import functools
    from pension_collect.testing.contract import SharedStorageContract

    class TestMyStorage(SharedStorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            store = open_my_store(tmp_path)
            yield store
            store.close()

        @pytest.fixture
        def reopen(self, storage, tmp_path):
            # a second, really distinct handle on the same store
            handles = []
            yield lambda: handles.append(open_my_store(tmp_path)) or handles[-1]
            for h in handles:
                h.close()

        @pytest.fixture
        def process_opener(self, tmp_path):
            # picklable: opens the same store in another process
            return functools.partial(open_my_store, tmp_path)

``storage`` and ``reopen`` are what :class:`StorageContract` needs;
:class:`SharedStorageContract` needs ``process_opener`` too.

Needs pytest; imports nothing else from :mod:`pension_collect.testing`. The
tests with several processes start them with :mod:`multiprocessing`'s
``spawn`` method, so they run the same on Linux, macOS and Windows.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ..ports.storage import (
    AuditEntry,
    ConflictError,
    NestedTransaction,
    RecordKind,
    Storage,
    Write,
    record_versions,
)

__all__ = ["SharedStorageContract", "StorageContract", "sample_entry"]

UNIT = "10012345"


def sample_entry(action: str, key: str, *, declaration: str | None = None) -> AuditEntry:
    """An audit entry for tests."""
    return AuditEntry(
        at="2013-08-20T09:00:00+00:00",
        actor="tester",
        unit_no=UNIT,
        action=action,
        subject_kind=RecordKind.WORKER,
        subject_key=key,
        message=f"{action} test entry",
        declaration=declaration,
        before={"n": 0},
        after={"n": 1},
    )


class _Boom(Exception):
    pass


class StorageContract:
    """Tests every storage adapter passes; subclass it and provide the fixtures."""

    @pytest.fixture
    def storage(self) -> Storage:
        """An empty, open store (override)."""
        pytest.fail("the adapter's test class provides a 'storage' fixture")

    @pytest.fixture
    def reopen(self, storage: Storage) -> Callable[[], Storage]:
        """A callable giving a second, really distinct handle on the same store
        (override): another connection to the same file or database; for a
        store in this process's memory, another handle on the same store object."""
        pytest.fail("the adapter's test class provides a 'reopen' fixture")

    def test_schema_version(self, storage: Storage) -> None:
        """A store reports a positive schema version."""
        assert isinstance(storage.schema_version, int)
        assert storage.schema_version >= 1

    def test_create_then_get(self, storage: Storage) -> None:
        """A created record comes back with its data and version 1."""
        data: dict[str, Any] = {"name": "张伟", "amount": "491.40", "parts": [1, None, {"a": True}]}
        with storage.transaction() as tx:
            rec = tx.put(RecordKind.WORKER, UNIT, "k1", data, expected_version=0)
            assert rec.version == 1
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert got is not None
        assert (got.version, got.data) == (1, data)

    def test_missing_record_is_none(self, storage: Storage) -> None:
        """Getting a record that does not exist gives None."""
        with storage.transaction() as tx:
            assert tx.get(RecordKind.WORKER, UNIT, "nobody") is None

    def test_update_increments_version(self, storage: Storage) -> None:
        """Replacing a record at its current version gives the next version."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
        with storage.transaction() as tx:
            rec = tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 2}, expected_version=1)
        assert rec.version == 2
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert got is not None
        assert got.data == {"v": 2}

    def test_create_existing_conflicts(self, storage: Storage) -> None:
        """Creating a record that exists raises a conflict and changes nothing."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
        with pytest.raises(ConflictError) as info, storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 99}, expected_version=0)
        assert (info.value.expected, info.value.actual) == (0, 1)
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert got is not None
        assert got.data == {"v": 1}

    def test_stale_version_conflicts(self, storage: Storage) -> None:
        """Saving with a stale version raises a conflict; the newer data stays."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 2}, expected_version=1)
        with pytest.raises(ConflictError) as info, storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": "lost?"}, expected_version=1)
        assert info.value.actual == 2
        assert info.value.code == "storage.conflict"
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert got is not None
        assert (got.version, got.data) == (2, {"v": 2})

    def test_conflict_message_has_no_data(self, storage: Storage) -> None:
        """A conflict's message does not contain the record's key or data."""
        key = "371002196503021239"
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, key, {"name": "张伟"}, expected_version=0)
        with pytest.raises(ConflictError) as info, storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, key, {"name": "张伟"}, expected_version=0)
        assert key not in str(info.value)
        assert "张伟" not in str(info.value)

    def test_rollback_leaves_nothing(self, storage: Storage) -> None:
        """A transaction that raises leaves neither records nor audit entries."""

        def failing_step() -> None:
            with storage.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
                tx.append_audit([sample_entry("worker.saved", "k1")])
                raise _Boom

        with pytest.raises(_Boom):
            failing_step()
        with storage.transaction() as tx:
            assert tx.get(RecordKind.WORKER, UNIT, "k1") is None
            assert tx.audit(UNIT) == []

    def test_reads_see_own_writes(self, storage: Storage) -> None:
        """Inside a transaction, reads see the transaction's own writes."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
            assert got is not None
            assert got.version == 1
            assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["k1"]

    def test_put_many_is_all_or_nothing(self, storage: Storage) -> None:
        """A batch with one stale write applies none of its writes."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "b", {"v": 1}, expected_version=0)
        writes = [Write("a", {"v": 1}, 0), Write("b", {"v": 2}, 5), Write("c", {"v": 1}, 0)]
        with pytest.raises(ConflictError) as info, storage.transaction() as tx:
            tx.put_many(RecordKind.WORKER, UNIT, writes)
        assert info.value.key == "b"
        with storage.transaction() as tx:
            assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["b"]

    def test_refused_write_leaves_the_transaction_going_on(self, storage: Storage) -> None:
        """A refused put or batch inside a transaction undoes only itself: the
        transaction's earlier writes stay, later ones are made, and the commit
        keeps exactly those (a single write and a batch alike)."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "b", {"v": 1}, expected_version=0)
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "a", {"v": 1}, expected_version=0)
            with pytest.raises(ConflictError):  # creating what exists: one write
                tx.put(RecordKind.WORKER, UNIT, "b", {"v": "no"}, expected_version=0)
            with pytest.raises(ConflictError):  # a stale version: one write
                tx.put(RecordKind.WORKER, UNIT, "b", {"v": "no"}, expected_version=7)
            with pytest.raises(ConflictError):  # a batch with one stale write
                tx.put_many(
                    RecordKind.WORKER, UNIT, [Write("c", {"v": "no"}, 0), Write("b", {}, 7)]
                )
            tx.put(RecordKind.WORKER, UNIT, "b", {"v": 2}, expected_version=1)
            tx.put(RecordKind.WORKER, UNIT, "d", {"v": 1}, expected_version=0)
            assert tx.get(RecordKind.WORKER, UNIT, "c") is None
        with storage.transaction() as tx:
            got = {r.key: (r.version, r.data) for r in tx.list(RecordKind.WORKER, UNIT)}
        assert got == {"a": (1, {"v": 1}), "b": (2, {"v": 2}), "d": (1, {"v": 1})}

    def test_put_many_returns_versions(self, storage: Storage) -> None:
        """A batch of creates and updates returns each record's new version."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "b", {"v": 1}, expected_version=0)
        with storage.transaction() as tx:
            versions = tx.put_many(
                RecordKind.WORKER, UNIT, [Write("a", {"v": 1}, 0), Write("b", {"v": 2}, 1)]
            )
        assert versions == [1, 2]

    def test_put_many_out_of_key_order(self, storage: Storage) -> None:
        """A batch in no particular key order (a store may write it in key
        order) returns each write's version in the order given, stores each
        write's own data, and names the stale write when one is; the same key
        twice in one batch is refused."""
        with storage.transaction() as tx:
            tx.put_many(RecordKind.WORKER, UNIT, [Write(k, {"v": 1}, 0) for k in ("m", "c", "x")])
        writes = [
            Write("z", {"k": "z"}, 0),
            Write("x", {"k": "x"}, 1),
            Write("a", {"k": "a"}, 0),
            Write("c", {"k": "c"}, 1),
        ]
        with storage.transaction() as tx:
            assert tx.put_many(RecordKind.WORKER, UNIT, writes) == [1, 2, 1, 2]
        with storage.transaction() as tx:
            got = {r.key: (r.version, r.data) for r in tx.list(RecordKind.WORKER, UNIT)}
        assert got == {
            "a": (1, {"k": "a"}),
            "c": (2, {"k": "c"}),
            "m": (1, {"v": 1}),
            "x": (2, {"k": "x"}),
            "z": (1, {"k": "z"}),
        }
        stale = [Write("y", {}, 0), Write("m", {}, 1), Write("c", {}, 1)]
        with pytest.raises(ConflictError) as info, storage.transaction() as tx:
            tx.put_many(RecordKind.WORKER, UNIT, stale)
        assert (info.value.key, info.value.expected, info.value.actual) == ("c", 1, 2)
        twice = [Write("x", {"n": 1}, 2), Write("a", {}, 1), Write("x", {"n": 2}, 2)]
        with pytest.raises(ConflictError), storage.transaction() as tx:
            tx.put_many(RecordKind.WORKER, UNIT, twice)
        with storage.transaction() as tx:
            after = {r.key: (r.version, r.data) for r in tx.list(RecordKind.WORKER, UNIT)}
        assert after == got

    def test_record_versions(self, storage: Storage) -> None:
        """record_versions gives each record's version by key, of one kind of
        one employer, the transaction's own writes included (through the
        store's ``versions`` where it has one)."""
        with storage.transaction() as tx:
            tx.put_many(RecordKind.SYNCED, UNIT, [Write(k, {"v": 1}, 0) for k in ("b", "a")])
            tx.put(RecordKind.SYNCED, "other-unit", "c", {}, expected_version=0)
            tx.put(RecordKind.WORKER, UNIT, "d", {}, expected_version=0)
        with storage.transaction() as tx:
            tx.put(RecordKind.SYNCED, UNIT, "a", {"v": 2}, expected_version=1)
            tx.put(RecordKind.SYNCED, UNIT, "e", {"v": 1}, expected_version=0)
            got = record_versions(tx, RecordKind.SYNCED, UNIT)
            assert got == {"a": 2, "b": 1, "e": 1}
            assert got == {r.key: r.version for r in tx.list(RecordKind.SYNCED, UNIT)}
            assert record_versions(tx, RecordKind.DECLARATION, UNIT) == {}
        with storage.transaction() as tx:
            assert record_versions(tx, RecordKind.SYNCED, UNIT) == {"a": 2, "b": 1, "e": 1}

    def test_list_filters_and_orders(self, storage: Storage) -> None:
        """Listing gives one kind of one employer, ordered by key."""
        with storage.transaction() as tx:
            for key in ("c", "a", "b"):
                tx.put(RecordKind.WORKER, UNIT, key, {"k": key}, expected_version=0)
            tx.put(RecordKind.WORKER, "other-unit", "a0", {}, expected_version=0)
            tx.put(RecordKind.DECLARATION, UNIT, "a1", {}, expected_version=0)
        with storage.transaction() as tx:
            assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["a", "b", "c"]
            assert [r.data["k"] for r in tx.list(RecordKind.WORKER, UNIT)] == ["a", "b", "c"]

    def test_returned_data_is_a_copy(self, storage: Storage) -> None:
        """Changing data a read returned does not change the store."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"list": [1]}, expected_version=0)
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
            assert got is not None
            got.data["list"].append(2)
        with storage.transaction() as tx:
            again = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert again is not None
        assert again.data == {"list": [1]}

    def test_audit_in_order_per_subject_and_declaration(self, storage: Storage) -> None:
        """The audit log is read in order, per worker and per declaration."""
        with storage.transaction() as tx:
            tx.append_audit([sample_entry("worker.saved", "k1")])
            tx.append_audit(
                [
                    sample_entry("worker.saved", "k2"),
                    sample_entry("worker.submitted", "k1", declaration="workers-1"),
                ]
            )
        with storage.transaction() as tx:
            everything = tx.audit(UNIT)
            per_worker = tx.audit(UNIT, subject=(RecordKind.WORKER, "k1"))
            per_decl = tx.audit(UNIT, declaration="workers-1")
            other = tx.audit("other-unit")
        assert [e.action for e in everything] == [
            "worker.saved",
            "worker.saved",
            "worker.submitted",
        ]
        seqs = [e.seq for e in everything]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 3
        assert seqs[0] >= 1
        assert [e.action for e in per_worker] == ["worker.saved", "worker.submitted"]
        assert [e.subject_key for e in per_decl] == ["k1"]
        assert per_decl[0].before == {"n": 0}
        assert per_decl[0].after == {"n": 1}
        assert other == []

    def test_second_handle_sees_commits(
        self, storage: Storage, reopen: Callable[[], Storage]
    ) -> None:
        """A committed write is visible through a second handle on the store."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
            tx.append_audit([sample_entry("worker.saved", "k1")])
        other = reopen()
        with other.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
            log = tx.audit(UNIT)
        assert got is not None
        assert got.data == {"v": 1}
        assert [e.action for e in log] == ["worker.saved"]

    def test_two_handles_one_conflict(
        self, storage: Storage, reopen: Callable[[], Storage]
    ) -> None:
        """Two handles saving the same read version: the second gets a conflict."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "nobody"}, expected_version=0)
        other = reopen()
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "first"}, expected_version=1)
        with pytest.raises(ConflictError), other.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "second"}, expected_version=1)
        with other.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert got is not None
        assert (got.version, got.data) == (2, {"by": "first"})

    # -- transactions do not nest ----------------------------------------------------------

    def test_nested_transaction_refused(self, storage: Storage) -> None:
        """A transaction opened inside another on the same handle is refused with
        NestedTransaction; the outer one goes on and commits."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
            with pytest.raises(NestedTransaction) as info, storage.transaction():
                pass  # pragma: no cover - never entered
            tx.put(RecordKind.WORKER, UNIT, "k2", {"v": 2}, expected_version=0)
        assert info.value.code == "storage.nested-transaction"
        with storage.transaction() as tx:
            assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["k1", "k2"]

    def test_nested_refusal_leaves_the_store_usable(self, storage: Storage) -> None:
        """A refused nested transaction that ends the outer one rolls the outer
        back, and the next transaction starts normally."""

        def nesting_step() -> None:
            with storage.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
                with storage.transaction():
                    pass  # pragma: no cover - never entered

        with pytest.raises(NestedTransaction):
            nesting_step()
        with storage.transaction() as tx:
            assert tx.get(RecordKind.WORKER, UNIT, "k1") is None
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
        with storage.transaction() as tx:
            assert tx.get(RecordKind.WORKER, UNIT, "k1") is not None

    # -- two handles -----------------------------------------------------------------------

    def test_reopen_is_a_distinct_handle(
        self, storage: Storage, reopen: Callable[[], Storage]
    ) -> None:
        """``reopen`` gives another handle: writes through either are seen by the
        other, and closing it leaves the first open."""
        other = reopen()
        assert other is not storage
        with other.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "other"}, expected_version=0)
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
            tx.put(RecordKind.WORKER, UNIT, "k2", {"by": "first"}, expected_version=0)
        assert got is not None
        assert got.data == {"by": "other"}
        with other.transaction() as tx:
            assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["k1", "k2"]
        other.close()
        with storage.transaction() as tx:
            assert len(tx.list(RecordKind.WORKER, UNIT)) == 2

    def test_uncommitted_writes_invisible_to_other_handle(
        self, storage: Storage, reopen: Callable[[], Storage]
    ) -> None:
        """While one handle's transaction has written and not committed, another
        handle's transaction (in another thread) either waits or reads around
        it; it never sees those writes, which are then rolled back."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
        other = reopen()
        seen: dict[str, Any] = {}

        def read() -> None:
            with other.transaction() as tx:
                rec = tx.get(RecordKind.WORKER, UNIT, "k1")
                seen["k1"] = None if rec is None else (rec.version, rec.data)
                seen["k2"] = tx.get(RecordKind.WORKER, UNIT, "k2")
                seen["audit"] = len(tx.audit(UNIT))

        reader = threading.Thread(target=read)

        def writing_step() -> None:
            with storage.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 2}, expected_version=1)
                tx.put(RecordKind.WORKER, UNIT, "k2", {"v": 1}, expected_version=0)
                tx.append_audit([sample_entry("worker.saved", "k1")])
                reader.start()
                reader.join(0.3)  # a store that does not make it wait reads now
                raise _Boom

        with pytest.raises(_Boom):
            writing_step()
        reader.join(60)
        assert not reader.is_alive()
        assert seen == {"k1": (1, {"v": 1}), "k2": None, "audit": 0}

    def test_other_handle_sees_a_commit_whole(
        self, storage: Storage, reopen: Callable[[], Storage]
    ) -> None:
        """A transaction of another handle sees all of a concurrent commit or
        none of it, never a part."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 1}, expected_version=0)
        other = reopen()
        seen: dict[str, Any] = {}

        def read() -> None:
            with other.transaction() as tx:
                rec = tx.get(RecordKind.WORKER, UNIT, "k1")
                seen["k1"] = None if rec is None else rec.version
                seen["k2"] = tx.get(RecordKind.WORKER, UNIT, "k2") is not None

        reader = threading.Thread(target=read)
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"v": 2}, expected_version=1)
            reader.start()
            reader.join(0.2)
            tx.put(RecordKind.WORKER, UNIT, "k2", {"v": 1}, expected_version=0)
        reader.join(60)
        assert not reader.is_alive()
        assert (seen["k1"], seen["k2"]) in ((1, False), (2, True))

    def test_two_handles_create_one_key_once(
        self, storage: Storage, reopen: Callable[[], Storage]
    ) -> None:
        """Two handles creating one key: the second is told (ConflictError), the
        first one's record stays."""
        other = reopen()
        with storage.transaction() as tx:
            tx.put(RecordKind.DECLARATION, UNIT, "d1", {"by": "first"}, expected_version=0)
        with pytest.raises(ConflictError), other.transaction() as tx:
            tx.put(RecordKind.DECLARATION, UNIT, "d1", {"by": "second"}, expected_version=0)
        with other.transaction() as tx:
            got = tx.get(RecordKind.DECLARATION, UNIT, "d1")
        assert got is not None
        assert (got.version, got.data) == (1, {"by": "first"})


class SharedStorageContract(StorageContract):
    """The contract of a store several processes share (a file, a server):
    everything :class:`StorageContract` checks, and the same with processes.
    Subclass it instead and provide the fixture ``process_opener`` too."""

    @pytest.fixture
    def process_opener(self) -> Callable[[], Storage]:
        """A picklable callable that opens the same store in another process
        (override), e.g. ``functools.partial(MyStorage, path)``."""
        pytest.fail("the adapter's test class provides a 'process_opener' fixture")

    @staticmethod
    def _processes() -> Any:
        return multiprocessing.get_context("spawn")

    def test_processes_stale_version_conflicts(
        self, storage: Storage, process_opener: Callable[[], Storage]
    ) -> None:
        """Another process reads a record, this one saves it, the other saves
        its stale version: the other is told (ConflictError); this one's save stays."""
        ctx = self._processes()
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "nobody"}, expected_version=0)
        read, go, results = ctx.Event(), ctx.Event(), ctx.Queue()
        child = ctx.Process(target=_save_stale, args=(process_opener, read, go, results))
        child.start()
        try:
            assert read.wait(120), "the other process never read the record"
            with storage.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "this"}, expected_version=1)
            go.set()
            outcome = results.get(timeout=120)
        finally:
            child.join(120)
        assert outcome == "conflict"
        with storage.transaction() as tx:
            got = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert got is not None
        assert (got.version, got.data) == (2, {"by": "this"})

    def test_processes_increment_without_lost_update(
        self, storage: Storage, process_opener: Callable[[], Storage]
    ) -> None:
        """Three processes increment one counter, each reading it in one
        transaction and writing it with the version read in the next (retrying
        on a conflict): every increment is kept, with its audit entry."""
        ctx = self._processes()
        n, each = 3, 15
        with storage.transaction() as tx:
            tx.put(RecordKind.SESSION, UNIT, "counter", {"n": 0}, expected_version=0)
        together, results = ctx.Barrier(n), ctx.Queue()
        children = [
            ctx.Process(target=_increment, args=(process_opener, f"p{i}", each, together, results))
            for i in range(n)
        ]
        for child in children:
            child.start()
        try:
            outcomes = [results.get(timeout=120) for _ in children]
        finally:
            for child in children:
                child.join(120)
        assert [o[3] for o in outcomes] == [None] * n  # no process failed
        assert sorted(o[1] for o in outcomes) == [each] * n
        with storage.transaction() as tx:
            got = tx.get(RecordKind.SESSION, UNIT, "counter")
            log = tx.audit(UNIT, subject=(RecordKind.WORKER, "counter"))
        assert got is not None
        assert got.data["n"] == n * each
        assert got.version == n * each + 1
        assert len(log) == n * each

    def test_processes_create_one_key_once(
        self, storage: Storage, process_opener: Callable[[], Storage]
    ) -> None:
        """Four processes at once each check whether a key exists and create it
        if not, in one transaction: exactly one creates it; the others find it
        or are told (ConflictError)."""
        ctx = self._processes()
        together, results = ctx.Barrier(4), ctx.Queue()
        children = [
            ctx.Process(target=_create_once, args=(process_opener, f"p{i}", together, results))
            for i in range(4)
        ]
        for child in children:
            child.start()
        try:
            outcomes = dict(results.get(timeout=120) for _ in children)
        finally:
            for child in children:
                child.join(120)
        created = [name for name, what in outcomes.items() if what == "created"]
        assert len(created) == 1
        assert set(outcomes.values()) <= {"created", "found", "conflict"}
        with storage.transaction() as tx:
            got = tx.get(RecordKind.DECLARATION, UNIT, "draft")
        assert got is not None
        assert (got.version, got.data) == (1, {"by": created[0]})


# -- what the other processes run (module level: the spawn method imports them) ----------------


def _save_stale(opener: Callable[[], Storage], read: Any, go: Any, results: Any) -> None:
    store = opener()
    try:
        with store.transaction() as tx:
            rec = tx.get(RecordKind.WORKER, UNIT, "k1")
        assert rec is not None
        read.set()
        go.wait(120)
        try:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k1", {"by": "other"}, expected_version=rec.version)
        except ConflictError:
            results.put("conflict")
        else:
            results.put("saved")
    except BaseException as exc:  # reported, so the parent fails with it
        results.put(repr(exc))
    finally:
        store.close()


def _increment(
    opener: Callable[[], Storage], name: str, each: int, together: Any, results: Any
) -> None:
    store = opener()
    done = conflicts = 0
    try:
        together.wait(120)  # every process has opened the store: all start at once
        while done < each:
            with store.transaction() as tx:
                rec = tx.get(RecordKind.SESSION, UNIT, "counter")
            assert rec is not None
            time.sleep(0.002)  # a clerk between reading and saving: others may save
            try:
                with store.transaction() as tx:
                    data = {"n": rec.data["n"] + 1, "by": name}
                    tx.put(RecordKind.SESSION, UNIT, "counter", data, expected_version=rec.version)
                    tx.append_audit([sample_entry("counter.incremented", "counter")])
            except ConflictError:
                conflicts += 1
                continue
            done += 1
        results.put((name, done, conflicts, None))
    except BaseException as exc:  # reported, so the parent fails with it
        results.put((name, done, conflicts, repr(exc)))
    finally:
        store.close()


def _create_once(opener: Callable[[], Storage], name: str, together: Any, results: Any) -> None:
    store = opener()
    try:
        together.wait(120)  # every process has opened the store: all start at once
        try:
            with store.transaction() as tx:
                if tx.get(RecordKind.DECLARATION, UNIT, "draft") is not None:
                    what = "found"
                else:
                    tx.put(RecordKind.DECLARATION, UNIT, "draft", {"by": name}, expected_version=0)
                    what = "created"
        except ConflictError:
            what = "conflict"
        results.put((name, what))
    except BaseException as exc:  # reported, so the parent fails with it
        results.put((name, repr(exc)))
    finally:
        store.close()
