"""Storage ``memory:``: a store in this process's memory (tests, trials).

Transactions are serialized by a lock and staged (only what they write is
staged, with an undo for a batch that fails half-way), so a step that raises
leaves nothing behind.

Copies. Nothing is shared with the caller: a record is kept as its JSON text
(below) and parsed anew by each read, so a caller changing what it saved or
what it got back, at any depth, changes nothing in the store. An audit entry
is kept as the frozen :class:`~pension_collect.ports.storage.AuditEntry`
(shared by every read: it cannot change) without its ``before`` and
``after``, which are kept as JSON text and parsed anew for each read. No
``copy.deepcopy``: serializing is what a save must do anyway to refuse what
SQLite refuses, and parsing (:func:`._json.loads`) rebuilds a record faster than a copy walking
its structure in Python (docs/storage.md, "Benchmark"). The audit log is
indexed per employer, subject and declaration: reading one worker's entries
costs what they are, not the whole log.

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
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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
from ._json import SavedTexts, fast_dumps, loads

__all__ = ["SCHEMA_VERSION", "MemoryStorage", "MemoryTransaction"]

#: The memory store's schema version (it has no migrations: it lives one process).
SCHEMA_VERSION = 1

_Group = tuple[str, str]
"""A kind and an employer: the records :meth:`MemoryTransaction.list` reads."""
_Stored = tuple[int, str]
"""A record's version and JSON text."""


class _Logged:
    """An audit entry as the store keeps it: the entry without its images
    (a frozen instance, shared by every read) and the JSON texts of ``before``
    and ``after``, parsed anew for each read (so a caller cannot change them)."""

    __slots__ = ("after", "before", "entry")

    def __init__(self, entry: AuditEntry, before: str | None, after: str | None) -> None:
        self.entry = entry
        self.before = before
        self.after = after

    def read(self) -> AuditEntry:
        if self.before is None and self.after is None:
            return self.entry
        return _entry(
            self.entry,
            None if self.before is None else loads(self.before),
            None if self.after is None else loads(self.after),
            self.entry.seq,
        )


class _Log:
    """The audit log of one store, indexed per employer, per subject and per
    declaration, so that reading one worker's entries costs what they are."""

    def __init__(self) -> None:
        self.entries: builtins.list[_Logged] = []
        self.by_unit: dict[str, builtins.list[int]] = {}
        self.by_subject: dict[tuple[str, str, str], builtins.list[int]] = {}
        self.by_declaration: dict[tuple[str, str], builtins.list[int]] = {}

    def add(self, logged: _Logged) -> None:
        at = len(self.entries)
        e = logged.entry
        self.entries.append(logged)
        self.by_unit.setdefault(e.unit_no, []).append(at)
        self.by_subject.setdefault((e.unit_no, e.subject_kind.value, e.subject_key), []).append(at)
        if e.declaration is not None:
            self.by_declaration.setdefault((e.unit_no, e.declaration), []).append(at)

    def find(
        self, unit_no: str, subject: tuple[RecordKind, str] | None, declaration: str | None
    ) -> builtins.list[_Logged]:
        if subject is not None:
            at = self.by_subject.get((unit_no, subject[0].value, subject[1]), [])
        elif declaration is not None:
            at = self.by_declaration.get((unit_no, declaration), [])
        else:
            at = self.by_unit.get(unit_no, [])
        found = [self.entries[i] for i in at]
        if subject is not None and declaration is not None:
            found = [x for x in found if x.entry.declaration == declaration]
        return found


def _entry(e: AuditEntry, before: Any, after: Any, seq: int) -> AuditEntry:
    """``e`` with these ``before``, ``after`` and ``seq`` (``attrs.evolve``'s
    result, built directly: the store does this for every entry it keeps and
    every one it reads, and evolve's generic path cost a twentieth of a
    collection on this store)."""
    return AuditEntry(
        at=e.at,
        actor=e.actor,
        unit_no=e.unit_no,
        action=e.action,
        subject_kind=e.subject_kind,
        subject_key=e.subject_key,
        message=e.message,
        declaration=e.declaration,
        before=before,
        after=after,
        seq=seq,
    )


def _record_text(kind: RecordKind, unit_no: str, w: Write) -> str:
    """:func:`~pension_collect.ports.storage.record_text` of a write, through
    :func:`~pension_collect.adapters._json.fast_dumps` when the record is
    plainly storable (text key and employer, a dict of JSON's own types);
    ``record_text`` itself, which names what is wrong, otherwise."""
    if type(unit_no) is str and type(w.key) is str and type(w.data) is dict:
        try:
            unit_no.encode("utf-8")
            w.key.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            text = fast_dumps(w.data)
            if text is not None:
                return text
    return record_text(kind, unit_no, w.key, w.data)


def _matches(
    e: AuditEntry, unit_no: str, subject: tuple[RecordKind, str] | None, declaration: str | None
) -> bool:
    return (
        e.unit_no == unit_no
        and (subject is None or (e.subject_kind, e.subject_key) == subject)
        and (declaration is None or e.declaration == declaration)
    )


class MemoryTransaction:
    """A transaction of :class:`MemoryStorage` (staged; applied on commit)."""

    def __init__(self, records: dict[_Group, dict[str, _Stored]], log: _Log) -> None:
        self._base = records
        self._staged: dict[_Group, dict[str, _Stored]] = {}
        self._log = log
        self._pending: builtins.list[_Logged] = []
        self._live = True
        self._saved = SavedTexts()
        """The text each record data saved in this transaction was kept as (by
        ``id``, with the object, which keeps the id from being reused): an audit
        image that is the very same object is kept as that text, as SQLite does.
        The latest 64 MiB of them are kept (:class:`._json.SavedTexts`)."""

    def _saved_text(self, image: dict[str, Any] | None) -> str | None:
        """An image's text: the one saved for that very object, else msgspec's
        where it reads back equal (:func:`~pension_collect.adapters._json.
        fast_dumps`, as a record's), else ``None``: ``audit_texts`` writes it
        or names what it refuses."""
        if image is None:
            return None
        kept = self._saved.text(image)
        if kept is not None:
            return kept
        return fast_dumps(image) if type(image) is dict else None

    def _check(self) -> None:
        if not self._live:
            raise TransactionEnded()

    def _lookup(self, group: _Group, key: str) -> _Stored | None:
        staged = self._staged.get(group)
        if staged is not None and key in staged:
            return staged[key]
        return self._base.get(group, {}).get(key)

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        self._check()
        found = self._lookup((kind.value, unit_no), key)
        if found is None:
            return None
        return Record(kind, unit_no, key, found[0], loads(found[1]))

    def list(self, kind: RecordKind, unit_no: str) -> builtins.list[Record]:
        self._check()
        group = (kind.value, unit_no)
        both = {**self._base.get(group, {}), **self._staged.get(group, {})}
        return [
            Record(kind, unit_no, key, both[key][0], loads(both[key][1])) for key in sorted(both)
        ]

    def versions(self, kind: RecordKind, unit_no: str) -> dict[str, int]:
        """Each record's version by key (:func:`~pension_collect.ports.storage.record_versions`)."""
        self._check()
        group = (kind.value, unit_no)
        both = {**self._base.get(group, {}), **self._staged.get(group, {})}
        return {key: both[key][0] for key in sorted(both)}

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
        texts = [_record_text(kind, unit_no, w) for w in writes]
        group = (kind.value, unit_no)
        staged = self._staged.setdefault(group, {})
        undo: dict[str, _Stored | None] = {}  # all or none: a refused write undoes the batch
        versions = []
        try:
            for w, text in zip(writes, texts, strict=True):
                found = self._lookup(group, w.key)
                actual = 0 if found is None else found[0]
                if actual != w.expected_version:
                    raise ConflictError(kind.value, w.key, w.expected_version, actual)
                undo.setdefault(w.key, staged.get(w.key))
                staged[w.key] = (actual + 1, text)
                versions.append(actual + 1)
        except BaseException:
            for key, before in undo.items():
                if before is None:
                    del staged[key]
                else:
                    staged[key] = before
            raise
        for w, text in zip(writes, texts, strict=True):
            self._saved.keep(w.data, text)
        return versions

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        self._check()
        saved = [(self._saved_text(e.before), self._saved_text(e.after)) for e in entries]
        texts = audit_texts(
            [
                e
                if b is None and a is None
                else _entry(
                    e, e.before if b is None else None, e.after if a is None else None, e.seq
                )
                for e, (b, a) in zip(entries, saved, strict=True)
            ]
        )
        self._pending.extend(
            _Logged(_entry(e, None, None, e.seq), b or before, a or after)
            for e, (before, after), (b, a) in zip(entries, texts, saved, strict=True)
        )

    def audit(
        self,
        unit_no: str,
        *,
        subject: tuple[RecordKind, str] | None = None,
        declaration: str | None = None,
    ) -> builtins.list[AuditEntry]:
        self._check()
        found = self._log.find(unit_no, subject, declaration)
        base = len(self._log.entries)
        pending = [
            _Logged(_entry(x.entry, None, None, base + i + 1), x.before, x.after)
            for i, x in enumerate(self._pending)
            if _matches(x.entry, unit_no, subject, declaration)
        ]
        return [x.read() for x in [*found, *pending]]

    def _commit(self) -> None:
        for group, staged in self._staged.items():
            self._base.setdefault(group, {}).update(staged)
        base = len(self._log.entries)
        for i, x in enumerate(self._pending):
            self._log.add(_Logged(_entry(x.entry, None, None, base + i + 1), x.before, x.after))


class _Store:
    """The data of one memory store, shared by its handles."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None
        """The thread holding the open transaction, if any."""
        self.records: dict[_Group, dict[str, _Stored]] = {}
        """Each record's version and JSON text, by kind and employer, then key."""
        self.log = _Log()


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
            tx = MemoryTransaction(store.records, store.log)
            try:
                yield tx
                tx._commit()  # only reached when the block did not raise
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
