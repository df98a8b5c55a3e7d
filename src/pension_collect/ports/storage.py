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
import json
import re
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from .._privacy import id_repr
from ..errors import PensionCollectError, PluginError, Problem
from ..identity import mask
from .registry import Registry, split_scheme

__all__ = [
    "AuditEntry",
    "ConflictError",
    "CorruptAuditEntry",
    "CorruptRecord",
    "NestedTransaction",
    "NotAStore",
    "Record",
    "RecordKind",
    "SchemaVersionError",
    "Storage",
    "StorageError",
    "StorageFactory",
    "StorageRegistry",
    "StoreBusy",
    "StoreClosed",
    "StoreDamaged",
    "StoreFailure",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnavailable",
    "Transaction",
    "TransactionEnded",
    "UnknownScheme",
    "UnstorableData",
    "Write",
    "audit_texts",
    "find_unstorable",
    "record_text",
    "record_versions",
    "scheme_of",
    "subject_of",
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

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message_zh = message_zh


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
    MARKS = "marks"
    """What the session marked for one person: the sync their verification form
    was printed from, their latest window visit."""
    DRAFT = "draft"
    """A worker's unfinished collection, kept as typed: never checked by the
    rules, never declared (:mod:`pension_collect.workflow.overview`)."""


_PERSONAL_KINDS = frozenset({"worker", "synced", "marks", "draft"})
"""The kinds keyed by an identity number (shown masked)."""

_KIND_ZH = {
    RecordKind.SESSION: "采集会话",
    RecordKind.WORKER: "职工",
    RecordKind.DECLARATION: "申报",
    RecordKind.SYNCED: "同步数据",
    RecordKind.MARKS: "核对与窗口标记",
    RecordKind.DRAFT: "职工草稿",
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
        self.key = mask(key) if kind in _PERSONAL_KINDS else key
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


def record_versions(tx: Transaction, kind: RecordKind, unit_no: str) -> dict[str, int]:
    """The version of every record of a kind for an employer, by key: what a
    step needs to write over all of them (a data sync writes every person's
    record again). A store's transaction may offer it as ``versions(kind,
    unit_no)``, reading neither the records' data nor more than their keys
    (SQLite, PostgreSQL and memory do); for one without it, its records are
    listed."""
    versions: Callable[[RecordKind, str], dict[str, int]] | None = getattr(tx, "versions", None)
    if versions is not None:
        return versions(kind, unit_no)
    return {r.key: r.version for r in tx.list(kind, unit_no)}


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


# -- failures of a store (docs/storage.md, "When a store fails") ------------------------------


class StoreFailure(StorageError):
    """A store cannot be used as it is: its file is not a store, is damaged,
    read-only, on a full disk, locked by another program, or cannot be reached.

    ``where`` names the store (its file, or its URL without credentials);
    ``detail`` what the adapter saw, with no data in it (SQLite's error name,
    ``SQLITE_FULL``). ``str()`` says what happened and what to do,
    ``message_zh`` the same in Chinese. Nothing of the step that met it was
    saved: a transaction is whole or nothing. Subclasses name the cause; this
    class itself is what is left (an adapter error of no known kind).
    """

    code = "storage.failure"
    what: ClassVar[str] = "the store refused the operation"
    what_zh: ClassVar[str] = "存储拒绝了该操作"
    todo: ClassVar[str] = (
        "nothing of this step was saved; do it again, and if it fails again keep a copy of the "
        "store and report the code"
    )
    todo_zh: ClassVar[str] = (
        "本步骤未保存任何内容;请重做,如再次失败请保留存储文件的副本并报告错误代码"
    )

    def __init__(
        self,
        where: str,
        *,
        reason: str | None = None,
        reason_zh: str | None = None,
        detail: str = "",
    ) -> None:
        self.where = where
        self.reason = reason or self.what
        self.detail = detail
        extra = f" ({detail})" if detail else ""
        super().__init__(f"the store {where}: {self.reason}{extra}; {self.todo}")
        self.message_zh = f"存储 {where}:{reason_zh or self.what_zh}{extra};{self.todo_zh}"


class NotAStore(StoreFailure):
    """The file exists but is not a pension_collect store (empty, not a SQLite
    database, or another application's database). It is never taken over or
    re-created: a new store is made only where no file exists yet."""

    code = "storage.not-a-store"
    what = "the file is not a pension_collect store"
    what_zh = "该文件不是 pension_collect 存储"
    todo = (
        "nothing was changed; check the path. If this is your store, it is damaged: restore it "
        "from a backup. To start a new store, give the name of a file that does not exist yet"
    )
    todo_zh = (
        "未作任何修改;请核对路径。若这是您的存储,则它已损坏,请从备份恢复;"
        "如需新建存储,请指定一个尚不存在的文件名"
    )


class StoreDamaged(StoreFailure):
    """The file is a store (or was one) but cannot be read: truncated, malformed
    pages, a schema or schema version this library never writes."""

    code = "storage.damaged"
    what = "the store file is damaged"
    what_zh = "存储文件已损坏"
    todo = (
        "nothing was saved; stop using the file, keep a copy of it (with its -wal and -shm files) "
        "and restore the store from a backup (the sqlite3 tool's .recover may save what is "
        "readable)"
    )
    todo_zh = "未保存任何内容;请停止使用该文件,保留其副本(连同 -wal 与 -shm 文件),并从备份恢复存储"


class StoreReadOnly(StoreFailure):
    """The store cannot be written: the file or its folder is read-only, or
    the disk is write-protected. Reported when the store is opened, before
    any step."""

    code = "storage.read-only"
    what = "the store cannot be written (the file or its folder is read-only)"
    what_zh = "存储无法写入(文件或其所在文件夹为只读)"
    todo = (
        "nothing was saved; make the file and its folder writable (SQLite also writes FILE-wal "
        "and FILE-shm beside it), or copy the store to a writable folder and open the copy"
    )
    todo_zh = (
        "未保存任何内容;请使文件及其所在文件夹可写(SQLite 还需在旁边写入 -wal 与 -shm 文件),"
        "或将存储复制到可写的文件夹后打开副本"
    )


class StoreFull(StoreFailure):
    """The disk (or the server's space) holding the store is full."""

    code = "storage.disk-full"
    what = "the disk holding the store is full"
    what_zh = "存储所在的磁盘已满"
    todo = (
        "nothing of this step was saved (the store is as it was before it); free space on that "
        "disk, then do the step again"
    )
    todo_zh = "本步骤未保存任何内容(存储保持原状);请清理该磁盘的空间后重做本步骤"


class StoreBusy(StoreFailure):
    """Another program held the store's lock longer than the handle waits."""

    code = "storage.busy"
    what = "another program held the store's lock too long"
    what_zh = "其他程序占用存储的时间过长"
    todo = (
        "nothing of this step was saved; close the other program using the file (another "
        "pension-collect, the sqlite3 tool) or wait, then do the step again"
    )
    todo_zh = "本步骤未保存任何内容;请关闭正在使用该文件的其他程序或稍候,然后重做本步骤"


class StoreUnavailable(StoreFailure):
    """The store cannot be reached: its folder is missing, the path is a
    folder, permission is denied, or the disk reports a read or write error."""

    code = "storage.unavailable"
    what = "the store cannot be opened or read"
    what_zh = "无法打开或读取存储"
    todo = "nothing was saved; check the path, the folder and the disk, then try again"
    todo_zh = "未保存任何内容;请检查路径、文件夹和磁盘后重试"


class StoreClosed(StorageError):
    """The handle was closed; open the store again."""

    code = "storage.closed"

    def __init__(self) -> None:
        super().__init__("the store is closed; open it again to go on")
        self.message_zh = "存储已关闭;请重新打开后继续"


class TransactionEnded(StorageError):
    """A transaction was used after it ended (committed, rolled back, or ended
    by a failure of the store); nothing was done: start a new one."""

    code = "storage.transaction-ended"

    def __init__(self) -> None:
        super().__init__(
            "the transaction has ended (committed, rolled back, or ended by an earlier failure); "
            "nothing was done: start a new transaction"
        )
        self.message_zh = (
            "该事务已结束(已提交、已回滚或因先前的错误而结束);未执行任何操作,请开启新事务"
        )


class CorruptAuditEntry(StorageError, ValueError):
    """An entry of the audit log cannot be read back (its JSON or its text is
    damaged, edited by another program).

    ``seq`` says which entry, ``problems`` what is wrong (``$.after``:
    damaged JSON; ``$.actor``: text that is not UTF-8 ...). Reading changed
    nothing and the records are unaffected; the log is append-only, so the
    entry is mended only by restoring the store from a backup.
    """

    code = "storage.corrupt-audit"

    def __init__(self, seq: object, problems: Iterable[Problem]) -> None:
        self.seq = seq if type(seq) is int else None
        self.problems: tuple[Problem, ...] = tuple(problems)
        which = f"entry {self.seq}" if self.seq is not None else "an entry"
        which_zh = f"第 {self.seq} 条记录" if self.seq is not None else "一条记录"
        super().__init__(
            f"{which} of the audit log cannot be read; nothing was changed and the records are "
            "unaffected: restore the store from a backup to mend it"
            + "".join(f"\n  {p}" for p in self.problems)
        )
        self.message_zh = (
            f"审计日志中的{which_zh}无法读取;未作任何修改,其他记录不受影响:请从备份恢复存储"
        )


class UnstorableData(StorageError, ValueError):
    """Data given to a store cannot be stored: a text that is not valid Unicode
    (a lone surrogate such as ``"\\ud800"``, from a damaged file or a bug), or
    a value JSON has no form for. Every adapter refuses the same data, before
    writing anything: nothing of the batch was saved.

    ``subject`` says what was being saved (a worker's key masked), ``path``
    where inside it (``$.worker.name``; ``key`` for the record's key).
    """

    code = "storage.unstorable"

    def __init__(self, subject: str, path: str, reason: str, reason_zh: str) -> None:
        self.subject = subject
        self.path = path
        self.reason = reason
        self.reason_zh = reason_zh
        super().__init__(
            f"the {subject} cannot be stored: {path}: {reason}; nothing was saved: correct the "
            "data at its source and save again"
        )
        self.message_zh = (
            f"{subject} 无法保存:{path}:{reason_zh};未保存任何内容,请在数据来源处更正后重新保存"
        )


def subject_of(kind: RecordKind, key: str) -> str:
    """How an error names a record: ``worker record 371002********1239`` (a
    worker's or a synced person's key, an identity number, masked)."""
    shown = mask(key) if kind in _PERSONAL_KINDS else key
    if not _encodable(shown):
        shown = "?"
    return f"{kind.value} record {shown}"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
_JSON_LEAVES = (str, int, float, bool, type(None))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _member(path: str, key: object) -> str:
    """The path of a mapping's member, never showing personal data: a field
    name as ``.name``, anything else (an identity number used as a key, say)
    masked."""
    if isinstance(key, str) and _NAME.match(key):
        return f"{path}.{key}"
    shown = mask(key if isinstance(key, str) else str(key))
    return f'{path}["{shown if _encodable(shown) else "?"}"]'


def find_unstorable(value: Any, path: str = "$") -> tuple[str, str, str] | None:
    """Where ``value`` holds something no store keeps, or ``None``.

    The first such place as ``(path, reason, reason_zh)``: a text that is not
    valid Unicode (a lone surrogate, in a value or a key), a mapping key that
    is not text or a number, a value of a type JSON has no form for, a number
    too long to write, a container inside itself. Iterative (any depth).
    """
    stack: list[tuple[str, Any]] = [(path, value)]
    seen: set[int] = set()
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            if not _encodable(v):
                return (where, "text that is not valid Unicode", "文本含无效的 Unicode 字符")
        elif isinstance(v, bool) or v is None or isinstance(v, float):
            continue
        elif isinstance(v, int):
            try:
                str(v)
            except ValueError:  # more digits than int -> str converts (4,300)
                return (where, "a number too long to store", "数字过长,无法保存")
        elif isinstance(v, dict | list | tuple):
            if id(v) in seen:
                return (where, "a value that contains itself", "值包含其自身")
            seen.add(id(v))
            if isinstance(v, dict):
                for k, item in reversed(list(v.items())):
                    if isinstance(k, str) and not _encodable(k):
                        return (
                            _member(where, k),
                            "a key that is not valid Unicode",
                            "键含无效的 Unicode 字符",
                        )
                    if not isinstance(k, _JSON_LEAVES):
                        return (_member(where, k), "a key that is not text", "键不是文本")
                    stack.append((_member(where, k), item))
            else:
                stack.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(v))))
        else:
            return (
                where,
                f"a value of type {type(v).__name__}, which JSON cannot hold",
                f"类型为 {type(v).__name__} 的值无法以 JSON 保存",
            )
    return None


def _refused(subject: str, value: Any, path: str = "$") -> UnstorableData:
    """The error for ``value``, which JSON or UTF-8 refused: the first place
    :func:`find_unstorable` finds (or ``path`` itself when the value is only
    nested too deeply)."""
    found = find_unstorable(value, path)
    if found is None:
        found = (path, "data nested too deeply to store", "数据嵌套过深,无法保存")
    return UnstorableData(subject, *found)


def _json_text(subject: str, value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise _refused(subject, value) from None
    return text


def record_text(kind: RecordKind, unit_no: str, key: str, data: Any) -> str:
    """The compact JSON text (non-ASCII as is) a store keeps for a record's
    ``data``, once the record is known to be storable: ``unit_no`` and
    ``key`` valid Unicode text, ``data`` a mapping JSON can write and UTF-8
    can encode. :class:`UnstorableData` names the first place that is not
    (``key``, ``$.worker.name`` ...). Every adapter refuses what this
    refuses, so a record one store takes the others take too."""
    subject = subject_of(kind, key) if isinstance(key, str) else f"{kind.value} record"
    for name, value in (("unit_no", unit_no), ("key", key)):
        if not isinstance(value, str) or not _encodable(value):
            raise UnstorableData(subject, name, "not valid Unicode text", "不是有效的 Unicode 文本")
    if not isinstance(data, dict):
        raise UnstorableData(
            subject,
            "$",
            "a record's data must be a mapping (a JSON object)",
            "记录的数据应为映射(JSON 对象)",
        )
    return _json_text(subject, data)


_ENTRY_TEXT = ("at", "actor", "unit_no", "action", "subject_key", "message")


def audit_texts(entries: Sequence[AuditEntry]) -> list[tuple[str | None, str | None]]:
    """The JSON texts of the entries' ``before`` and ``after`` (``None`` for
    none), once every entry is known to be storable: its text fields valid
    Unicode, its images mappings JSON can write. :class:`UnstorableData` names
    the entry (``audit entry 2 of 3``) and the place (``$.after.worker.name``)."""
    out: list[tuple[str | None, str | None]] = []
    n = len(entries)
    for i, e in enumerate(entries):
        subject = f"audit entry {i + 1} of {n}"
        for name in _ENTRY_TEXT:
            value = getattr(e, name)
            if not isinstance(value, str) or not _encodable(value):
                raise UnstorableData(
                    subject, f"$.{name}", "not valid Unicode text", "不是有效的 Unicode 文本"
                )
        if e.declaration is not None and (
            not isinstance(e.declaration, str) or not _encodable(e.declaration)
        ):
            raise UnstorableData(
                subject, "$.declaration", "not valid Unicode text", "不是有效的 Unicode 文本"
            )
        images: list[str | None] = []
        for name, image in (("before", e.before), ("after", e.after)):
            if image is None:
                images.append(None)
            elif not isinstance(image, dict):
                raise UnstorableData(
                    subject, f"$.{name}", "must be a mapping (a JSON object)", "应为映射(JSON 对象)"
                )
            else:
                try:
                    images.append(_json_text(subject, image))
                except UnstorableData as exc:
                    raise UnstorableData(
                        subject, f"$.{name}{exc.path[1:]}", exc.reason, exc.reason_zh
                    ) from None
        out.append((images[0], images[1]))
    return out
