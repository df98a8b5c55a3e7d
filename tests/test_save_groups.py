"""[P3.4] ``save_workers`` commits in groups (docs/workflow.md, "Long steps"): a
group ends after ``SAVE_GROUP_WORKERS`` workers or ``SAVE_GROUP_SECONDS``;
each worker is saved whole with its audit entry, a refusal writes nothing and
the group goes on, a store failure loses only the group it happened in, a
cancel commits the group so far. On every store."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pension_collect.model import Worker
from pension_collect.ports.storage import (
    AuditEntry,
    ConflictError,
    Record,
    RecordKind,
    StorageError,
    StoreFailure,
    Write,
)
from pension_collect.workflow import Cancelled, PersonNotSynced, WorkerStatus
from pension_collect.workflow import session as session_module
from pension_collect.workflow.records import logged_worker_data
from workflow_fixtures import (
    STORES,
    Setup,
    make_setup,
    many_workers,
    more_persons,
    session_over,
    store_url,
    to_declared,
)


class _Tx:
    def __init__(self, tx: Any, store: Watched) -> None:
        self._tx = tx
        self._store = store

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        result: Record | None = self._tx.get(kind, unit_no, key)
        return result

    def list(self, kind: RecordKind, unit_no: str) -> list[Record]:
        result: list[Record] = self._tx.list(kind, unit_no)
        return result

    def put(
        self, kind: RecordKind, unit_no: str, key: str, data: dict[str, Any], **kw: Any
    ) -> Record:
        result: Record = self._tx.put(kind, unit_no, key, data, **kw)
        return result

    def put_many(
        self, kind: RecordKind, unit_no: str, writes: Sequence[Write]
    ) -> builtins.list[int]:
        result: builtins.list[int] = self._tx.put_many(kind, unit_no, writes)
        return result

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        saves = sum(e.action == "worker.saved" for e in entries)
        self._store.saves += saves
        if saves and self._store.saves == self._store.fail_at:
            raise StoreFailure("the disk went away (a test)")
        self._tx.append_audit(entries)

    def audit(self, unit_no: str, **kw: Any) -> builtins.list[AuditEntry]:
        result: builtins.list[AuditEntry] = self._tx.audit(unit_no, **kw)
        return result


class Watched:
    """A store that counts its transactions and, when told, fails the
    ``fail_at``-th worker save (its audit entry) with a StoreFailure."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = inner.url
        self.schema_version = inner.schema_version
        self.transactions = 0
        self.saves = 0
        self.fail_at = 0

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        self.transactions += 1
        with self.inner.transaction() as tx:
            yield _Tx(tx, self)

    def close(self) -> None:
        self.inner.close()


def _setup(store: str, tmp_path: Path, extra: int) -> tuple[Setup, Watched, list[Worker]]:
    """The example collection on ``store`` with ``extra`` more persons at the
    bureau, everyone synced with a verification form; returns every worker."""
    s = make_setup(store_url(store, tmp_path))
    watched = Watched(s.storage)
    s.session = session_over(s, watched)
    more = more_persons(s, extra)
    to_declared(s)
    s.session.print_verification_forms()
    return s, watched, [*s.workers, *more]


def _stored(s: Setup) -> dict[str, int]:
    """Each stored worker's version, checked to be what its audit log says."""
    out = {}
    with s.storage.transaction() as tx:
        for rec in tx.list(RecordKind.WORKER, s.session.unit_no):
            trail = tx.audit(s.session.unit_no, subject=(RecordKind.WORKER, rec.key))
            assert logged_worker_data(trail) == rec.data
            out[rec.key] = rec.version
    return out


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups of 10 workers, whatever the machine's speed."""
    monkeypatch.setattr(session_module, "SAVE_GROUP_WORKERS", 10)
    monkeypatch.setattr(session_module, "SAVE_GROUP_SECONDS", 3600.0)


@pytest.mark.parametrize("store", STORES)
def test_workers_are_committed_in_groups(store: str, tmp_path: Path, groups: None) -> None:
    """25 workers in groups of 10: three group transactions (and one that
    checks the session first), every worker saved once with its audit entry,
    progress told after each worker."""
    s, watched, workers = _setup(store, tmp_path, 22)
    assert len(workers) == 25
    told: list[int] = []
    watched.transactions = 0
    batch = s.session.save_workers(workers, progress=lambda done, total: told.append(done))
    assert watched.transactions == 1 + 3
    assert told == list(range(1, 26))
    assert not batch.refused
    keys = [s.session.key_of(w) for w in workers]
    assert [sw.key for sw in batch.saved] == keys
    assert _stored(s) == dict.fromkeys(keys, 1)


@pytest.mark.parametrize("store", STORES)
def test_a_group_ends_when_its_time_is_up(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no time for a group, each worker is committed on its own."""
    monkeypatch.setattr(session_module, "SAVE_GROUP_SECONDS", 0.0)
    s, watched, workers = _setup(store, tmp_path, 4)
    watched.transactions = 0
    batch = s.session.save_workers(workers)
    assert watched.transactions == 1 + len(workers)
    assert len(batch.saved) == len(workers) == 7


@pytest.mark.parametrize("store", STORES)
def test_a_refusal_in_a_group_writes_nothing_and_the_group_goes_on(
    store: str, tmp_path: Path, groups: None
) -> None:
    """A worker saved by another session (this one does not know its version:
    a ConflictError at the write) and one with an unknown person (refused by a
    check) in the middle of a group: both listed as refused, the stored one
    unchanged, every other worker of the group saved."""
    s, _, workers = _setup(store, tmp_path, 9)
    other = s.reopen()
    other.save_worker(workers[4])
    stranger = many_workers(s.workers[2], 12)[-1]  # not at the bureau
    batch = s.session.save_workers([*workers[:6], stranger, *workers[6:]])
    assert [(r.index, type(r.error)) for r in batch.refused] == [
        (4, ConflictError),
        (6, PersonNotSynced),
    ]
    saved = [s.session.key_of(w) for i, w in enumerate(workers) if i != 4]
    assert [sw.key for sw in batch.saved] == saved
    assert _stored(s) == dict.fromkeys([*saved, s.session.key_of(workers[4])], 1)


@pytest.mark.parametrize("store", STORES)
def test_a_store_failure_loses_only_its_group(store: str, tmp_path: Path, groups: None) -> None:
    """The 15th save fails in the store: the first group (10 workers) stays
    saved, nothing of the second group is, the error is raised; a new call
    saves the rest."""
    s, watched, workers = _setup(store, tmp_path, 22)
    watched.fail_at = 15
    with pytest.raises(StorageError):
        s.session.save_workers(workers)
    keys = [s.session.key_of(w) for w in workers]
    assert _stored(s) == dict.fromkeys(keys[:10], 1)
    watched.fail_at = 0
    batch = s.session.save_workers(workers[10:])
    assert not batch.refused
    assert _stored(s) == dict.fromkeys(keys, 1)
    assert {w.status for w in s.session.workers()} == {WorkerStatus.COLLECTED}


def test_the_keys_committed_are_listed_only_on_a_cancel(
    tmp_path: Path, groups: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: listing every key committed so far after each worker (for a
    cancel that may never come) made saving N workers copy N^2 / 2 keys. The
    list is made once, when the caller cancels, and names what was committed."""
    s, _, workers = _setup("memory", tmp_path, 22)
    made: list[int] = []
    saved_keys = session_module._saved_keys

    def counted(committed: list[str], group: list[Any]) -> list[str]:
        made.append(len(committed) + len(group))
        return saved_keys(committed, group)

    monkeypatch.setattr(session_module, "_saved_keys", counted)
    told: list[int] = []
    s.session.save_workers(workers[:20], progress=lambda done, total: told.append(done) is None)
    assert told == list(range(1, 21))
    assert made == []
    with pytest.raises(Cancelled) as info:
        s.session.save_workers(workers[20:], progress=lambda done, total: done != 3)
    keys = [s.session.key_of(w) for w in workers]
    assert made == [3]
    assert info.value.committed == tuple(keys[20:23])


@pytest.mark.parametrize("store", STORES)
def test_a_cancel_commits_the_group_so_far(store: str, tmp_path: Path, groups: None) -> None:
    """Cancelled after the 13th worker: the 13 are committed (the second group
    cut short), named in ``committed``; the rest untouched."""
    s, _, workers = _setup(store, tmp_path, 22)
    with pytest.raises(Cancelled) as info:
        s.session.save_workers(workers, progress=lambda done, total: done != 13)
    keys = [s.session.key_of(w) for w in workers]
    assert (info.value.done, info.value.total) == (13, 25)
    assert info.value.committed == tuple(keys[:13])
    assert _stored(s) == dict.fromkeys(keys[:13], 1)


@pytest.mark.parametrize("store", STORES)
def test_the_same_worker_twice_in_one_group(store: str, tmp_path: Path, groups: None) -> None:
    """A worker named twice in one batch is saved twice (version 2), as two
    saves one after the other would be, though both are in one group."""
    s, _, workers = _setup(store, tmp_path, 2)
    batch = s.session.save_workers([workers[0], workers[1], workers[0]])
    assert not batch.refused
    assert [sw.version for sw in batch.saved] == [1, 1, 2]
    assert _stored(s)[s.session.key_of(workers[0])] == 2
    assert s.session.worker(s.session.key_of(workers[0])).version == 2
