"""The storage contract suite: what every storage adapter must pass (docs/storage.md).

Subclass :class:`StorageContract` in a test module and provide two fixtures::

    from pension_collect.testing.contract import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            store = open_my_store(tmp_path)
            yield store
            store.close()

        @pytest.fixture
        def reopen(self, storage):
            # a second, independent handle on the same store
            return lambda: open_my_store_again(...)

Needs pytest; imports nothing else from :mod:`pension_collect.testing`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..ports.storage import AuditEntry, ConflictError, RecordKind, Storage, Write

__all__ = ["StorageContract", "sample_entry"]

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
        raise NotImplementedError("the adapter's test class provides a 'storage' fixture")

    @pytest.fixture
    def reopen(self, storage: Storage) -> Callable[[], Storage]:
        """A second handle on the same store (override; default: the same object)."""
        return lambda: storage

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

    def test_put_many_returns_versions(self, storage: Storage) -> None:
        """A batch of creates and updates returns each record's new version."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "b", {"v": 1}, expected_version=0)
        with storage.transaction() as tx:
            versions = tx.put_many(
                RecordKind.WORKER, UNIT, [Write("a", {"v": 1}, 0), Write("b", {"v": 2}, 1)]
            )
        assert versions == [1, 2]

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
