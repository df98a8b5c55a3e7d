"""Storage: where a collection lives between steps (docs/storage.md).

A store is opened by URL through the plugin host
(:meth:`pension_collect.plugins.PluginHost.open_storage`): ``memory:`` and
``sqlite:///path`` are built in; plugins add schemes with the hook
``pension_collect_register_storage``.

The contract every adapter keeps (and :mod:`pension_collect.testing.contract`
checks):

* everything happens inside :meth:`Storage.transaction`; a transaction is
  whole or nothing, and nothing of it is visible to others before it commits;
* transactions do not nest: opening one while the same thread has one open
  on the store raises :class:`NestedTransaction` (the workflow never nests,
  and never calls the bureau inside a transaction);
* two handles on one store (two opens of the same file or database; for a
  store in this process's memory, a second handle on the same store object)
  are isolated from each other: a transaction of one never sees what
  the other has not committed; a store that lives in a file or a server is
  shared the same way by handles in other processes;
* a record carries a version; :meth:`Transaction.put` with a stale
  ``expected_version`` raises :class:`ConflictError` (optimistic concurrency:
  the second of two clerks saving one worker is told, nothing is lost), also
  between handles and processes: of two creating one key, one is told;
* the audit log is append-only: entries are added, never changed or removed;
* a store has a schema version and applies forward migrations on open.

Records are JSON-ready dictionaries; the workflow maps them to the model.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import attrs

from .._privacy import id_repr
from ..errors import PensionCollectError, PluginError, Problem
from ..identity import mask
from .registry import Registry, split_scheme

__all__ = [
    "AuditEntry",
    "ConflictError",
    "CorruptRecord",
    "NestedTransaction",
    "Record",
    "RecordKind",
    "SchemaVersionError",
    "Storage",
    "StorageError",
    "StorageFactory",
    "StorageRegistry",
    "Transaction",
    "UnknownScheme",
    "Write",
    "scheme_of",
]


class StorageError(PensionCollectError):
    """A store cannot do what was asked (bad URL, unreadable file, ...)."""

    code = "storage.error"


class UnknownScheme(StorageError, LookupError):
    """No installed plugin handles the URL's scheme."""

    code = "storage.unknown-scheme"

    def __init__(self, what: str, scheme: str, available: Sequence[str]) -> None:
        self.scheme = scheme
        self.available = tuple(sorted(available))
        super().__init__(
            f"no {what} for URL scheme {scheme!r}; installed: {', '.join(self.available) or 'none'}"
        )


class SchemaVersionError(StorageError):
    """The store was written by a newer release (its schema version is unknown here)."""

    code = "storage.schema-version"


class ConflictError(StorageError):
    """Someone else saved the record since it was read (optimistic concurrency).

    ``kind`` and ``key`` say which record; ``expected`` and ``actual`` are the
    versions (``actual`` is 0 when the record does not exist). Reload, re-apply
    the change, save again.
    """

    code = "storage.conflict"

    def __init__(self, kind: str, key: str, expected: int, actual: int) -> None:
        self.kind = kind
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{kind} record was changed by someone else (expected version {expected}, "
            f"found {actual}); reload it and apply the change again"
        )
        self.message_zh = "该记录已被他人修改,请重新读取后再保存"


class NestedTransaction(StorageError):
    """A transaction was opened while this thread already has one open on the
    store. Finish the open transaction first: a step reads, decides and writes
    in one transaction, and calls nothing slow (the bureau) inside it."""

    code = "storage.nested-transaction"

    def __init__(self) -> None:
        super().__init__(
            "transactions do not nest: this thread already has a transaction open on the "
            "store; finish it first"
        )
        self.message_zh = "事务不能嵌套:本线程在该存储上已有未结束的事务,请先结束它"


class RecordKind(StrEnum):
    """What a record is."""

    SESSION = "session"
    """The collection session of one employer (its state and the last sync)."""
    WORKER = "worker"
    """One worker's collected data and status."""
    DECLARATION = "declaration"
    """One declaration (申报) and its outcome."""
    SYNCED = "synced"
    """What the latest data sync returned for one person (the bureau's record)."""


_KIND_ZH = {
    RecordKind.SESSION: "采集会话",
    RecordKind.WORKER: "职工",
    RecordKind.DECLARATION: "申报",
    RecordKind.SYNCED: "同步数据",
}


class CorruptRecord(StorageError, ValueError):
    """A stored record cannot be read back: its JSON is damaged, or its data no
    longer has the shape this release writes (edited by hand or by another
    program).

    ``kind`` and ``key`` say which record (a worker's or a synced person's key
    is an identity number: masked), ``problems`` what is wrong and where, as
    JSON paths inside the record's data (``$.worker.account[3].balance``).
    Reading changed nothing; the other records are unaffected. Restore the
    record from a backup or from the audit log (the ``after`` of its latest
    entry), or correct it by hand.
    """

    code = "storage.corrupt-record"

    def __init__(self, kind: RecordKind, key: str, problems: Iterable[Problem]) -> None:
        self.kind = kind
        self.key = mask(key) if kind in (RecordKind.WORKER, RecordKind.SYNCED) else key
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        super().__init__(
            f"the stored {kind.value} record {self.key} cannot be read ({n} problem"
            f"{'s' if n != 1 else ''}); nothing was changed: restore it from a backup or "
            "from the audit log, or correct it by hand" + "".join(f"\n  {p}" for p in self.problems)
        )
        self.message_zh = (
            f"存储中的{_KIND_ZH[kind]}记录 {self.key} 无法读取(共 {n} 处问题),未作任何修改;"
            "请从备份或审计日志恢复该记录,或手工更正"
        )


@attrs.frozen
class Record:
    """A stored record: its identity, version and JSON-ready data."""

    kind: RecordKind
    unit_no: str
    key: str
    version: int
    data: dict[str, Any]

    def __repr__(self) -> str:
        # data may hold names and identity numbers: never shown
        return f"Record(kind={self.kind.value!r}, version={self.version}, ...)"


@attrs.frozen
class Write:
    """One put of a batch: ``expected_version`` 0 means "must not exist yet".

    Its repr shows the key masked (a worker's key is an identity number) and
    never the data (docs/privacy.md)."""

    key: str = attrs.field(repr=id_repr)
    data: dict[str, Any] = attrs.field(repr=False)
    expected_version: int


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One line of the append-only audit log: who did what, when, before and after.

    ``message`` is a summary for people and never holds a name or an identity
    number; ``before``/``after`` hold the data itself. ``seq`` is given by the
    store on append (0 before).
    """

    at: str
    """ISO 8601 timestamp (UTC) of the step."""
    actor: str
    """Who: the clerk (or system) that did it."""
    unit_no: str
    action: str
    """What, as a dotted code: ``worker.saved``, ``declaration.submitted`` ..."""
    subject_kind: RecordKind
    subject_key: str
    message: str
    declaration: str | None = None
    """The declaration the entry belongs to, if any (to read the log per declaration)."""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    seq: int = 0

    def __repr__(self) -> str:
        return f"AuditEntry(seq={self.seq}, action={self.action!r}, at={self.at!r}, ...)"


def utc_now_iso() -> str:
    """The current time as the audit log writes it."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


class Transaction(Protocol):
    """What a step may do with a store; see the module docstring for the contract."""

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        """The record, or ``None``."""
        ...

    def list(self, kind: RecordKind, unit_no: str) -> builtins.list[Record]:
        """Every record of a kind for an employer, ordered by key."""
        ...

    def put(
        self,
        kind: RecordKind,
        unit_no: str,
        key: str,
        data: dict[str, Any],
        *,
        expected_version: int,
    ) -> Record:
        """Create (``expected_version=0``) or replace a record; raises :class:`ConflictError`."""
        ...

    def put_many(
        self, kind: RecordKind, unit_no: str, writes: Sequence[Write]
    ) -> builtins.list[int]:
        """Several puts at once (all or none); returns the new versions."""
        ...

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Add entries to the audit log."""
        ...

    def audit(
        self,
        unit_no: str,
        *,
        subject: tuple[RecordKind, str] | None = None,
        declaration: str | None = None,
    ) -> builtins.list[AuditEntry]:
        """Audit entries of an employer in order, optionally of one subject or declaration."""
        ...


@runtime_checkable
class Storage(Protocol):
    """An open store."""

    url: str
    schema_version: int

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """A transaction: committed when the block ends, rolled back if it raises.

        Raises :class:`NestedTransaction` when this thread already has one open
        on the store. Another thread's (or process's) transaction on the same
        store either waits for this one or works on what was committed before
        it; it never sees this one's uncommitted writes.
        """
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


#: A storage factory: ``factory(url, **options) -> Storage``.
StorageFactory = Callable[..., Storage]


def scheme_of(url: str) -> str:
    """The scheme of a store or transport URL (``"sqlite"`` for ``sqlite:///x.db``)."""
    scheme = split_scheme(url)
    if scheme is None:
        raise StorageError(f"not a URL: {url!r} (write e.g. memory: or sqlite:///path/file.db)")
    return scheme


class StorageRegistry(Registry[StorageFactory]):
    """Storage factories by URL scheme, filled by ``pension_collect_register_storage``.

    The one registry behaviour (:class:`~pension_collect.ports.registry.Registry`);
    names are URL schemes, lower-cased.
    """

    what = "storage scheme"

    def normalize(self, name: str) -> str:
        return name.lower()

    def validate(self, name: str, item: StorageFactory) -> None:
        if not callable(item):
            raise PluginError(f"the {self.what} {name!r} factory is not callable")

    def unknown(self, name: str) -> PensionCollectError:
        return UnknownScheme("storage", name, self.names())

    def factory(self, url: str) -> StorageFactory:
        """The factory for ``url``'s scheme; raises :class:`UnknownScheme`."""
        return self.get(scheme_of(url))

    def open(self, url: str, **options: Any) -> Storage:
        """Open ``url`` with its scheme's factory."""
        return self.factory(url)(url, **options)
