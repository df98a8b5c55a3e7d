"""Storage ``memory:``: a store in this process's memory (tests, trials).

Transactions are serialized by a lock and staged on copies, so a step that
raises leaves nothing behind. Data is copied in and out: a caller changing a
dictionary it got back does not change the store.

Each open of ``memory:`` is a new, empty store; :meth:`MemoryStorage.handle`
gives a second handle on the same store (another thread's, or another
session's), isolated as the storage contract requires: a transaction of one
handle waits for the other's to end and never sees its uncommitted writes.
Transactions do not nest: a thread that opens a transaction on the store while
it has one open (through any handle) gets
:class:`~pension_collect.ports.storage.NestedTransaction` rather than a
deadlock.

Records are kept as the JSON text SQLite would keep
(:func:`~pension_collect.ports.storage.record_text`), so this store takes and
refuses exactly what the SQLite store does (a lone surrogate in a name, a
value JSON cannot write: :class:`~pension_collect.ports.storage.UnstorableData`)
and gives back what SQLite would (a tuple comes back a list).
"""

from __future__ import annotations

import builtins
import copy
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from attrs import evolve

from ..hookspecs import hookimpl
from ..ports.storage import (
    AuditEntry,
    ConflictError,
    NestedTransaction,
    Record,
    RecordKind,
    StorageError,
    StorageRegistry,
    StoreClosed,
    TransactionEnded,
    Write,
    audit_texts,
    record_text,
)

__all__ = ["SCHEMA_VERSION", "MemoryStorage", "MemoryTransaction"]

#: The memory store's schema version (it has no migrations: it lives one process).
SCHEMA_VERSION = 1

_Key = tuple[str, str, str]


class MemoryTransaction:
    """A transaction of :class:`MemoryStorage` (staged; applied on commit)."""

    def __init__(self, records: dict[_Key, tuple[int, str]], audit_len: int) -> None:
        self._base = records
        self._staged: dict[_Key, tuple[int, str]] = {}
        self._audit: builtins.list[AuditEntry] = []
        self._audit_base = audit_len
        self.audit_source: builtins.list[AuditEntry] = []
        self._live = True

    def _check(self) -> None:
        if not self._live:
            raise TransactionEnded()

    def _lookup(self, k: _Key) -> tuple[int, str] | None:
        if k in self._staged:
            return self._staged[k]
        return self._base.get(k)

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        self._check()
        found = self._lookup((kind.value, unit_no, key))
        if found is None:
            return None
        return Record(kind, unit_no, key, found[0], json.loads(found[1]))

    def list(self, kind: RecordKind, unit_no: str) -> builtins.list[Record]:
        self._check()
        keys = {k for k in self._base if k[0] == kind.value and k[1] == unit_no}
        keys.update(k for k in self._staged if k[0] == kind.value and k[1] == unit_no)
        out = []
        for k in sorted(keys):
            version, text = self._lookup(k) or (0, "{}")
            out.append(Record(kind, unit_no, k[2], version, json.loads(text)))
        return out

    def put(
        self,
        kind: RecordKind,
        unit_no: str,
        key: str,
        data: dict[str, Any],
        *,
        expected_version: int,
    ) -> Record:
        (version,) = self.put_many(kind, unit_no, [Write(key, data, expected_version)])
        return Record(kind, unit_no, key, version, data)

    def put_many(
        self, kind: RecordKind, unit_no: str, writes: Sequence[Write]
    ) -> builtins.list[int]:
        self._check()
        texts = [record_text(kind, unit_no, w.key, w.data) for w in writes]
        staged = dict(self._staged)  # all or none: a refused write undoes the batch
        versions = []
        try:
            for w, text in zip(writes, texts, strict=True):
                k = (kind.value, unit_no, w.key)
                found = self._lookup(k)
                actual = 0 if found is None else found[0]
                if actual != w.expected_version:
                    raise ConflictError(kind.value, w.key, w.expected_version, actual)
                self._staged[k] = (actual + 1, text)
                versions.append(actual + 1)
        except BaseException:
            self._staged = staged
            raise
        return versions

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        self._check()
        texts = audit_texts(entries)
        self._audit.extend(
            evolve(
                e,
                before=None if before is None else json.loads(before),
                after=None if after is None else json.loads(after),
            )
            for e, (before, after) in zip(entries, texts, strict=True)
        )

    def audit(
        self,
        unit_no: str,
        *,
        subject: tuple[RecordKind, str] | None = None,
        declaration: str | None = None,
    ) -> builtins.list[AuditEntry]:
        self._check()
        pending = [_with_seq(e, self._audit_base + i + 1) for i, e in enumerate(self._audit)]
        out = []
        for e in [*self.audit_source, *pending]:
            if e.unit_no != unit_no:
                continue
            if subject is not None and (e.subject_kind, e.subject_key) != subject:
                continue
            if declaration is not None and e.declaration != declaration:
                continue
            out.append(copy.deepcopy(e))
        return out


def _with_seq(entry: AuditEntry, seq: int) -> AuditEntry:
    return evolve(entry, seq=seq)


class _Store:
    """The data of one memory store, shared by its handles."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None
        """The thread holding the open transaction, if any."""
        self.records: dict[_Key, tuple[int, str]] = {}
        """Each record's version and JSON text."""
        self.audit: builtins.list[AuditEntry] = []


class MemoryStorage:
    """A handle on a store held in memory; one new store per :meth:`open`
    (``memory:``), more handles on it with :meth:`handle`."""

    schema_version = SCHEMA_VERSION

    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self._store = _Store()
        self._closed = False

    @classmethod
    def open(cls, url: str, **options: Any) -> MemoryStorage:
        """Factory of the ``memory:`` scheme (no options)."""
        if url.lower() != "memory:":
            raise StorageError(f"a memory store URL is just 'memory:', not {url!r}")
        if options:
            raise StorageError(f"memory: takes no options ({', '.join(sorted(options))} given)")
        return cls(url)

    def handle(self) -> MemoryStorage:
        """A second, independent handle on this same store: its own
        transactions and its own :meth:`close`, the same records and audit log."""
        other = MemoryStorage(self.url)
        other._store = self._store
        return other

    @contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        if self._closed:
            raise StoreClosed()
        store = self._store
        me = threading.get_ident()
        if store.owner == me:
            raise NestedTransaction()
        with store.lock:
            store.owner = me
            tx = MemoryTransaction(store.records, len(store.audit))
            try:
                tx.audit_source = store.audit
                yield tx
                # commit: only reached when the block did not raise
                store.records.update(tx._staged)
                base = len(store.audit)
                store.audit.extend(_with_seq(e, base + i + 1) for i, e in enumerate(tx._audit))
            finally:
                tx._live = False
                store.owner = None

    def close(self) -> None:
        """Close this handle (other handles on the store stay open)."""
        self._closed = True

    def __repr__(self) -> str:
        return f"MemoryStorage(url={self.url!r})"


@hookimpl
def pension_collect_register_storage(registry: StorageRegistry) -> None:
    """Built-in ``memory:`` storage."""
    registry.add("memory", MemoryStorage.open, default=True)
