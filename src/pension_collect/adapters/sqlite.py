"""Storage ``sqlite:///path``: the embedded default, one file a clerk can back up.

The file is an ordinary SQLite database (open it with ``sqlite3 FILE``):
table ``records`` holds the session, workers and declarations as JSON text
with a version number; table ``audit`` is the append-only audit log (triggers
refuse UPDATE and DELETE). ``PRAGMA user_version`` is the schema version;
:data:`MIGRATIONS` bring an older file forward when it is opened.

Each transaction is ``BEGIN IMMEDIATE`` .. ``COMMIT`` in WAL mode with
``synchronous=FULL``: a killed process leaves every transaction either
committed whole or not at all, and a second process waits for the first
(``timeout`` seconds) rather than failing. Because every transaction takes the
write lock when it begins, a step that reads, checks and then writes (the
workflow's "is a declaration already being sent? if not, create it") is
serialized across handles and processes. Transactions do not nest
(:class:`~pension_collect.ports.storage.NestedTransaction`).
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..hookspecs import hookimpl
from ..ports.storage import (
    AuditEntry,
    ConflictError,
    CorruptRecord,
    NestedTransaction,
    Record,
    RecordKind,
    SchemaVersionError,
    StorageError,
    StorageRegistry,
    Write,
)

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStorage", "path_of"]

#: ``PRAGMA application_id`` of a pension_collect store ("PCOL").
APPLICATION_ID = 0x50434F4C


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE records (
            kind TEXT NOT NULL,
            unit_no TEXT NOT NULL,
            key TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            data TEXT NOT NULL,
            PRIMARY KEY (kind, unit_no, key)
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            unit_no TEXT NOT NULL,
            action TEXT NOT NULL,
            subject_kind TEXT NOT NULL,
            subject_key TEXT NOT NULL,
            declaration TEXT,
            message TEXT NOT NULL,
            before TEXT,
            after TEXT
        )"""
    )


def _v2(conn: sqlite3.Connection) -> None:
    # Reading the log per worker and per declaration; the log is append-only.
    conn.execute("CREATE INDEX audit_subject ON audit (unit_no, subject_kind, subject_key)")
    conn.execute("CREATE INDEX audit_declaration ON audit (declaration)")
    for op in ("UPDATE", "DELETE"):
        conn.execute(
            f"""CREATE TRIGGER audit_no_{op.lower()} BEFORE {op} ON audit
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        )


#: Forward migrations: ``MIGRATIONS[i]`` brings schema version ``i`` to ``i + 1``.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2)
#: The schema version this release writes.
SCHEMA_VERSION = len(MIGRATIONS)


def path_of(url: str) -> Path:
    """The file of a ``sqlite:`` URL: ``sqlite:///abs/path.db`` or ``sqlite:rel/path.db``."""
    scheme, _, rest = url.partition(":")
    if scheme.lower() != "sqlite" or not rest:
        raise StorageError(f"not a sqlite URL: {url!r} (write sqlite:///path/to/file.db)")
    if rest.startswith("//"):
        rest = rest[2:]
        if not rest.startswith("/"):
            raise StorageError("sqlite URL with a host is not supported; write sqlite:///path")
    return Path(rest)


def _record_data(kind: RecordKind, key: str, text: str) -> dict[str, Any]:
    """A record's stored JSON text as data, or :class:`CorruptRecord` saying why."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(
            "$",
            f"the stored JSON is damaged: {exc.msg} at line {exc.lineno} column {exc.colno}",
            f"存储的 JSON 已损坏:第 {exc.lineno} 行第 {exc.colno} 列",
        )
        raise CorruptRecord(kind, key, [problem]) from None
    except (ValueError, RecursionError, TypeError):
        problem = Problem("$", "the stored data is not JSON text", "存储的数据不是 JSON 文本")
        raise CorruptRecord(kind, key, [problem]) from None
    if type(data) is not dict:
        problem = Problem("$", "a stored record must be a JSON object", "存储的记录应为 JSON 对象")
        raise CorruptRecord(kind, key, [problem])
    return data


def _dumps(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class _Mismatch(Exception):
    """An UPDATE matched fewer rows than asked (a stale version)."""


class SQLiteTransaction:
    """A transaction of :class:`SQLiteStorage`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _version(self, kind: RecordKind, unit_no: str, key: str) -> int:
        row = self._conn.execute(
            "SELECT version FROM records WHERE kind=? AND unit_no=? AND key=?",
            (kind.value, unit_no, key),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        row = self._conn.execute(
            "SELECT version, data FROM records WHERE kind=? AND unit_no=? AND key=?",
            (kind.value, unit_no, key),
        ).fetchone()
        if row is None:
            return None
        return Record(kind, unit_no, key, row[0], _record_data(kind, key, row[1]))

    def list(self, kind: RecordKind, unit_no: str) -> builtins.list[Record]:
        sql = "SELECT key, version, data FROM records WHERE kind=? AND unit_no=? ORDER BY key"
        args = (kind.value, unit_no)
        loads = json.loads
        out: builtins.list[Record] | None
        try:
            # streamed from the cursor: each row's text is freed once parsed
            out = [
                Record(kind, unit_no, key, version, loads(data))
                for key, version, data in self._conn.execute(sql, args)
            ]
        except (ValueError, RecursionError, TypeError):
            out = None
        if out is None or any(type(r.data) is not dict for r in out):
            out = None
            # a damaged record: the row-by-row pass (same transaction) names it
            return [
                Record(kind, unit_no, k, v, _record_data(kind, k, data))
                for k, v, data in self._conn.execute(sql, args)
            ]
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
        k = kind.value
        inserts = [(k, unit_no, w.key, _dumps(w.data)) for w in writes if w.expected_version == 0]
        updates = [
            (_dumps(w.data), k, unit_no, w.key, w.expected_version)
            for w in writes
            if w.expected_version != 0
        ]
        conn = self._conn
        conn.execute("SAVEPOINT put_many")
        try:
            if inserts:
                conn.executemany(
                    "INSERT INTO records (kind, unit_no, key, version, data) VALUES (?,?,?,1,?)",
                    inserts,
                )
            if updates:
                cur = conn.executemany(
                    "UPDATE records SET version = version + 1, data = ? "
                    "WHERE kind=? AND unit_no=? AND key=? AND version=?",
                    updates,
                )
                if cur.rowcount != len(updates):
                    raise _Mismatch
        except (sqlite3.IntegrityError, _Mismatch):
            conn.execute("ROLLBACK TO put_many")
            conn.execute("RELEASE put_many")
            raise self._conflict(kind, unit_no, writes) from None
        except BaseException:
            conn.execute("ROLLBACK TO put_many")
            conn.execute("RELEASE put_many")
            raise
        conn.execute("RELEASE put_many")
        return [w.expected_version + 1 for w in writes]

    def _conflict(self, kind: RecordKind, unit_no: str, writes: Sequence[Write]) -> ConflictError:
        seen: set[str] = set()
        for w in writes:
            actual = self._version(kind, unit_no, w.key)
            if w.key in seen:  # the same record twice in one batch
                return ConflictError(kind.value, w.key, w.expected_version, w.expected_version + 1)
            seen.add(w.key)
            if actual != w.expected_version:
                return ConflictError(kind.value, w.key, w.expected_version, actual)
        return ConflictError(kind.value, "?", 0, 0)  # pragma: no cover - unreachable

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        self._conn.executemany(
            "INSERT INTO audit (at, actor, unit_no, action, subject_kind, subject_key, "
            "declaration, message, before, after) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    e.at,
                    e.actor,
                    e.unit_no,
                    e.action,
                    e.subject_kind.value,
                    e.subject_key,
                    e.declaration,
                    e.message,
                    _dumps(e.before),
                    _dumps(e.after),
                )
                for e in entries
            ],
        )

    def audit(
        self,
        unit_no: str,
        *,
        subject: tuple[RecordKind, str] | None = None,
        declaration: str | None = None,
    ) -> builtins.list[AuditEntry]:
        sql = (
            "SELECT seq, at, actor, unit_no, action, subject_kind, subject_key, declaration, "
            "message, before, after FROM audit WHERE unit_no=?"
        )
        params: builtins.list[Any] = [unit_no]
        if subject is not None:
            sql += " AND subject_kind=? AND subject_key=?"
            params += [subject[0].value, subject[1]]
        if declaration is not None:
            sql += " AND declaration=?"
            params.append(declaration)
        sql += " ORDER BY seq"
        return [
            AuditEntry(
                seq=r[0],
                at=r[1],
                actor=r[2],
                unit_no=r[3],
                action=r[4],
                subject_kind=RecordKind(r[5]),
                subject_key=r[6],
                declaration=r[7],
                message=r[8],
                before=None if r[9] is None else json.loads(r[9]),
                after=None if r[10] is None else json.loads(r[10]),
            )
            for r in self._conn.execute(sql, params)
        ]


class SQLiteStorage:
    """A store in one SQLite file (``sqlite:///path``).

    Options: ``timeout`` (seconds to wait for another process's transaction,
    default 30), ``synchronous`` (``"FULL"`` default, or ``"NORMAL"``: still
    safe when a process is killed, not on power loss), ``migrate`` (default
    True: bring an older file forward; False refuses an older file).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        url: str | None = None,
        timeout: float = 30.0,
        synchronous: str = "FULL",
        migrate: bool = True,
    ) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise StorageError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = Path(path)
        self.url = url or f"sqlite:///{self.path}"
        self._lock = threading.RLock()
        self._in_tx = False
        self._closed = False
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the store file: {exc}") from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self.schema_version = self._migrate(migrate)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open(cls, url: str, **options: Any) -> SQLiteStorage:
        """Factory of the ``sqlite:`` scheme."""
        return cls(path_of(url), url=url, **options)

    def _migrate(self, migrate: bool) -> int:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"not a usable SQLite file: {exc}") from None
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id != APPLICATION_ID and (app_id != 0 or tables):
                raise StorageError("the file is a SQLite database but not a pension_collect store")
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"the store has schema version {version}; this release knows up to "
                    f"{SCHEMA_VERSION} (upgrade pension_collect)"
                )
            if version < SCHEMA_VERSION and version > 0 and not migrate:
                raise SchemaVersionError(
                    f"the store has schema version {version}, older than {SCHEMA_VERSION}; "
                    "open it with migrate=True to bring it forward"
                )
            for step in MIGRATIONS[version:]:
                step(conn)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return SCHEMA_VERSION

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTransaction]:
        with self._lock:
            if self._closed:
                raise StorageError("the store is closed")
            if self._in_tx:
                raise NestedTransaction()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot start a transaction: {exc}") from None
            self._in_tx = True
            try:
                yield SQLiteTransaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._in_tx = False

    def close(self) -> None:
        self._closed = True
        self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStorage(path={str(self.path)!r}, schema_version={self.schema_version})"


@hookimpl
def pension_collect_register_storage(registry: StorageRegistry) -> None:
    """Built-in ``sqlite:`` storage."""
    registry.add("sqlite", SQLiteStorage.open, default=True)
