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

A new store is made only where no file exists yet: it is built under a
temporary name in the same folder and linked into place whole, so a file that
is there is a complete store or is refused, never taken over or re-created:
an empty file (what ``touch`` makes, or a store truncated to nothing), a file
cut short, anything that is not SQLite, another application's database. A
store that cannot be written is refused when it is opened. Every failure is
one of the typed errors of :mod:`pension_collect.ports.storage`, and none
quotes stored data (docs/storage.md, "When a store fails").
"""

from __future__ import annotations

import builtins
import errno
import functools
import json
import operator
import os
import secrets
import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import attrs

from ..errors import Problem
from ..hookspecs import hookimpl
from ..ports.storage import (
    AuditEntry,
    ConflictError,
    CorruptAuditEntry,
    CorruptRecord,
    NestedTransaction,
    NotAStore,
    Record,
    RecordKind,
    SchemaVersionError,
    StorageError,
    StorageRegistry,
    StoreBusy,
    StoreClosed,
    StoreDamaged,
    StoreFailure,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
    TransactionEnded,
    UnstorableData,
    Write,
    audit_texts,
    record_text,
)
from ._json import SavedTexts, dumps, loads

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStorage", "path_of"]

#: ``PRAGMA application_id`` of a pension_collect store ("PCOL").
APPLICATION_ID = 0x50434F4C


_third = operator.itemgetter(2)
_fourth = operator.itemgetter(3)


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
    if "?" in rest or "#" in rest:
        # not a file name: options read from a URL would otherwise become part
        # of it and make a second store beside the one meant
        raise StorageError(
            "a sqlite URL takes no query or fragment (?... or #...): give the file's path "
            "alone, and options (timeout, synchronous, migrate) to open_storage"
        )
    if rest.startswith("//"):
        rest = rest[2:]
        if not rest.startswith("/"):
            raise StorageError("sqlite URL with a host is not supported; write sqlite:///path")
    return Path(rest)


# -- reading what is stored ----------------------------------------------------------------


class _Undecodable:
    """A TEXT value that is not UTF-8, as the connection's text factory reads
    it: never the bytes themselves (they may hold a name or an identity number)."""

    __slots__ = ("at",)

    def __init__(self, at: int) -> None:
        self.at = at

    def __repr__(self) -> str:
        return f"<text that is not UTF-8 at byte {self.at}>"


def _text(raw: bytes) -> str | _Undecodable:
    """The connection's text factory: strict UTF-8. The sqlite3 module's own
    error for bad bytes quotes the whole value, a record with its identity
    numbers included; this gives a marker instead, which the reader names."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _Undecodable(exc.start)


def _bad_text(path: str, value: object) -> Problem:
    if isinstance(value, _Undecodable):
        return Problem(
            path,
            f"the stored text is not UTF-8 (byte {value.at}): damaged, or written by another "
            "program",
            f"存储的文本不是 UTF-8 编码(第 {value.at} 字节):已损坏或由其他程序写入",
        )
    return Problem(path, "the stored value is not text", "存储的值不是文本")


def _parse(text: object) -> dict[str, Any] | Problem:
    """A stored JSON object, or the :class:`Problem` with it (at ``$``)."""
    if type(text) is not str:
        return _bad_text("$", text)
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        return Problem(
            "$",
            f"the stored JSON is damaged: {exc.msg} at line {exc.lineno} column {exc.colno}",
            f"存储的 JSON 已损坏:第 {exc.lineno} 行第 {exc.colno} 列",
        )
    except (ValueError, RecursionError, TypeError):
        return Problem("$", "the stored data is not JSON text", "存储的数据不是 JSON 文本")
    if type(data) is not dict:
        return Problem("$", "a stored record must be a JSON object", "存储的记录应为 JSON 对象")
    return data


_BAD_VERSION = Problem(
    "version",
    "the stored version is not a whole number of 1 or more",
    "存储的版本号不是大于等于 1 的整数",
)


def _checked(kind: RecordKind, unit_no: str, key: object, version: object, text: object) -> Record:
    """A record read row by row, or :class:`CorruptRecord` naming each
    damaged column (``key``, ``version``) and the data's problem (``$``)."""
    if type(key) is not str:
        raise CorruptRecord(kind, "?", [_bad_text("key", key)])
    problems = [] if type(version) is int and version >= 1 else [_BAD_VERSION]
    data = _parse(text)
    if isinstance(data, Problem):
        problems.append(data)
    if problems or not isinstance(data, dict) or type(version) is not int:
        raise CorruptRecord(kind, key, problems)
    return Record(kind, unit_no, key, version, data)


_AUDIT_TEXT = ("at", "actor", "unit_no", "action", "subject_kind", "subject_key")
_KINDS = frozenset(k.value for k in RecordKind)


def _audit_entry(row: Sequence[Any]) -> AuditEntry:
    """An audit row as an entry, or :class:`CorruptAuditEntry` naming each
    damaged field."""
    seq, at, actor, unit_no, action, subject_kind, subject_key, declaration, message = row[:9]
    problems: list[Problem] = []
    for name, value in zip(_AUDIT_TEXT, row[1:7], strict=True):
        if type(value) is not str:
            problems.append(_bad_text(f"$.{name}", value))
    if type(declaration) is not str and declaration is not None:
        problems.append(_bad_text("$.declaration", declaration))
    if type(message) is not str:
        problems.append(_bad_text("$.message", message))
    if type(subject_kind) is str and subject_kind not in _KINDS:
        problems.append(Problem("$.subject_kind", "not a kind of record", "不是有效的记录类型"))
    images: list[dict[str, Any] | None] = []
    for name, text in (("before", row[9]), ("after", row[10])):
        if text is None:
            images.append(None)
            continue
        image = _parse(text)
        if isinstance(image, Problem):
            problems.append(attrs.evolve(image, path=f"$.{name}"))
            images.append(None)
        else:
            images.append(image)
    if problems or type(seq) is not int:
        raise CorruptAuditEntry(seq, problems)
    return AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        unit_no=unit_no,
        action=action,
        subject_kind=RecordKind(subject_kind),
        subject_key=subject_key,
        declaration=declaration,
        message=message,
        before=images[0],
        after=images[1],
    )


def _dumps(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return dumps(data)


# -- failures as typed errors --------------------------------------------------------------

#: What a call into SQLite may raise: its errors, and a UnicodeDecodeError when
#: an error message quotes a damaged schema that is not UTF-8.
_SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def _writable(path: Path) -> bool:
    """Whether the file and its folder can be written (root too: a read-only
    mount or an immutable file says no)."""
    folder = path.parent
    return os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 256 * 1024
    except OSError:
        return False


def _failure(exc: Exception, where: str, doing: str) -> StorageError:
    """SQLite's error as one of the typed store errors. Only SQLite's error
    name is kept: the text of an error may quote the data."""
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    detail = f"{name} while {doing}"
    primary = code & 0xFF if isinstance(code, int) else None
    if isinstance(exc, UnicodeDecodeError):
        # SQLite's message quoted the file's damaged schema, in bytes that are not UTF-8
        primary = sqlite3.SQLITE_CORRUPT
    if primary == sqlite3.SQLITE_FULL:
        return StoreFull(where, detail=detail)
    if primary == sqlite3.SQLITE_READONLY:
        return StoreReadOnly(where, detail=detail)
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StoreDamaged(
            where,
            reason="SQLite finds the file malformed",
            reason_zh="SQLite 发现文件格式已损坏",
            detail=detail,
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusy(where, detail=detail)
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM):
        path = Path(where)
        if _nearly_full(path):
            return StoreFull(where, detail=detail)
        if not _writable(path):
            return StoreReadOnly(where, detail=detail)
        if primary == sqlite3.SQLITE_IOERR:
            return StoreUnavailable(
                where,
                reason="the disk reported a read or write error",
                reason_zh="磁盘报告读写错误",
                detail=detail,
            )
        return StoreUnavailable(where, detail=detail)
    return StoreFailure(where, detail=detail)


def _os_failure(exc: OSError, where: str, doing: str, *, writing: bool = True) -> StoreFailure:
    """A file system error (creating or checking the file) as a typed error."""
    number = exc.errno or 0
    detail = f"{errno.errorcode.get(number, type(exc).__name__)} while {doing}"
    if number in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return StoreFull(where, detail=detail)
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        if writing:
            return StoreReadOnly(where, detail=detail)
        return StoreUnavailable(
            where,
            reason="no permission to read the file",
            reason_zh="无权读取该文件",
            detail=detail,
        )
    if number == errno.ENOENT:
        return StoreUnavailable(
            where, reason="its folder does not exist", reason_zh="其所在文件夹不存在", detail=detail
        )
    if number in (errno.ENOTDIR, errno.EISDIR):
        return StoreUnavailable(
            where,
            reason="a folder stands where a file is expected, or a file where a folder is",
            reason_zh="路径中文件与文件夹的位置不符",
            detail=detail,
        )
    return StoreUnavailable(where, detail=detail)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back whatever transaction is open (SQLite may have rolled it back
    itself after a failure); a failure to do so leaves the file as the last
    commit left it."""
    if conn.in_transaction:
        with suppress(*_SQLITE_ERRORS):
            conn.execute("ROLLBACK")


# -- the file: creating it whole, recognising it ---------------------------------------------

_MAGIC = b"SQLite format 3\x00"
#: Create a file that does not exist yet, never through a symbolic link.
_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_LINK_UNSUPPORTED = frozenset(
    {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}
)


def _truncated(where: str, size: int) -> StoreDamaged:
    return StoreDamaged(
        where,
        reason=f"the file is cut short ({size} bytes, not a whole number of pages)",
        reason_zh=f"文件被截断({size} 字节,不是整数个页面)",
    )


def _check_file(path: Path, where: str) -> None:
    """Refuse, before SQLite opens it, a file that is not a whole SQLite
    database: SQLite itself takes an empty file, or one shorter than a page,
    for a new database (and would make an empty store of it)."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise StoreUnavailable(
                where, reason="the path is a folder, not a file", reason_zh="该路径是文件夹而非文件"
            )
        if not stat.S_ISREG(info.st_mode):
            raise NotAStore(
                where, reason="the path is not an ordinary file", reason_zh="该路径不是普通文件"
            )
        with open(path, "rb") as f:
            head = f.read(100)
    except FileNotFoundError:
        raise StoreUnavailable(
            where,
            reason="the file does not exist (a symbolic link to nothing?)",
            reason_zh="文件不存在(是否为指向不存在文件的符号链接?)",
        ) from None
    except OSError as exc:
        raise _os_failure(exc, where, "reading the file", writing=False) from None
    size = info.st_size
    if size == 0:
        raise NotAStore(where, reason="the file is empty (0 bytes)", reason_zh="文件为空(0 字节)")
    if not head.startswith(_MAGIC):
        if len(head) < len(_MAGIC) and _MAGIC.startswith(head):
            raise _truncated(where, size)
        raise NotAStore(
            where, reason="the file is not a SQLite database", reason_zh="该文件不是 SQLite 数据库"
        )
    if len(head) < 100:
        raise _truncated(where, size)
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        raise StoreDamaged(
            where, reason="its SQLite header is damaged", reason_zh="其 SQLite 文件头已损坏"
        )
    if size < page or size % page:
        raise _truncated(where, size)


def _initialize(conn: sqlite3.Connection, version: int = 0) -> None:
    """Apply the migrations from ``version`` and mark the file as a store."""
    for step in MIGRATIONS[version:]:
        step(conn)
    if version < SCHEMA_VERSION:
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _fsync(path: Path, *, folder: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if folder:
            return  # a folder that cannot be opened to sync (not every system can)
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not folder:
            raise
    finally:
        os.close(fd)


def _create(path: Path, where: str) -> None:
    """Make a new, empty store at ``path`` (where no file exists), whole: built
    and synced under a temporary name in the same folder, then linked into
    place, which never replaces a file. If another process made the store
    meanwhile, that one is kept."""
    folder = path.parent
    temp = folder / f".{path.name}.{secrets.token_hex(8)}.new"
    try:
        fd = os.open(temp, _EXCLUSIVE, 0o644)
        os.close(fd)
    except OSError as exc:
        raise _os_failure(exc, where, "creating the store") from None
    try:
        try:
            conn = sqlite3.connect(temp, isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("BEGIN IMMEDIATE")
                _initialize(conn)
                conn.execute("COMMIT")
                # WAL from the first moment the file is seen (the header says so)
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
        except _SQLITE_ERRORS as exc:
            raise _failure(exc, where, "creating the store") from None
        try:
            _fsync(temp)
            _place(temp, path)
            _fsync(folder, folder=True)
        except OSError as exc:
            raise _os_failure(exc, where, "creating the store") from None
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(OSError):
                os.unlink(f"{temp}{suffix}")


def _place(temp: Path, path: Path) -> None:
    """Link the finished store to its name; where hard links are not
    supported (FAT, some shares), copy it into a file created exclusively.
    Neither replaces a file that appeared meanwhile."""
    try:
        os.link(temp, path)
        return
    except FileExistsError:
        return
    except OSError as exc:
        if exc.errno not in _LINK_UNSUPPORTED:
            raise
    try:
        fd = os.open(path, _EXCLUSIVE, 0o644)
    except FileExistsError:
        return
    try:
        with open(fd, "wb") as out, open(temp, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with suppress(OSError):
            os.unlink(path)  # created exclusively above: the half copy is ours
        raise


def _uri(path: Path) -> str:
    """A ``file:`` URI opening the existing file only (SQLite never creates it)."""
    return Path(os.path.abspath(path)).as_uri() + "?mode=rw"


# -- the schema ------------------------------------------------------------------------------


def _schema_of(conn: sqlite3.Connection) -> dict[tuple[str, str], object]:
    """Tables (with their columns), indexes and triggers of a file."""
    out: dict[tuple[str, str], object] = {}
    objects = conn.execute(
        "SELECT type, name, tbl_name FROM sqlite_master "
        "WHERE type IN ('table', 'index', 'trigger') AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for kind, name, table in objects:
        if type(name) is not str:
            continue  # not UTF-8: none of ours
        if kind == "table":
            out[(kind, name)] = tuple(
                conn.execute(
                    'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)',
                    (name,),
                )
            )
        else:
            out[(kind, name)] = table
    return out


@functools.cache
def _expected_schema() -> dict[tuple[str, str], object]:
    """The schema :data:`MIGRATIONS` make (built once in memory)."""
    conn = sqlite3.connect(":memory:")
    try:
        _initialize(conn)
        return _schema_of(conn)
    finally:
        conn.close()


def _check_schema(conn: sqlite3.Connection, where: str) -> None:
    found = _schema_of(conn)
    wrong = sorted(key[1] for key, shape in _expected_schema().items() if found.get(key) != shape)
    if wrong:
        raise StoreDamaged(
            where,
            reason=(
                f"its tables are not those of schema version {SCHEMA_VERSION} "
                f"({', '.join(wrong)} missing or changed)"
            ),
            reason_zh=f"其数据表与第 {SCHEMA_VERSION} 版结构不符({', '.join(wrong)} 缺失或被改动)",
        )


# -- the adapter -----------------------------------------------------------------------------


class _Mismatch(Exception):
    """An UPDATE matched fewer rows than asked (a stale version)."""


def _nothing() -> None:
    """No undo: a single statement undoes itself."""


class SQLiteTransaction:
    """A transaction of :class:`SQLiteStorage`."""

    def __init__(self, conn: sqlite3.Connection, where: str = "") -> None:
        self._conn = conn
        self._where = where
        self._live = True
        self._saved = SavedTexts()
        """The text each record data saved in this transaction was written as
        (by ``id``, with the object itself, which keeps the id from being reused):
        an audit image that is the very same object is written as that text,
        not serialized again (a save and its ``worker.saved`` entry). Only the
        latest 64 MiB are kept (:class:`._json.SavedTexts`)."""

    def _image(self, data: dict[str, Any] | None) -> str | None:
        if data is None:
            return None
        kept = self._saved.text(data)
        return kept if kept is not None else _dumps(data)

    def _check(self) -> sqlite3.Connection:
        """The connection, if this transaction is still the open one."""
        if not self._live or not self._conn.in_transaction:
            # ended, or rolled back by SQLite after a failure: a statement now
            # would run outside any transaction
            raise TransactionEnded()
        return self._conn

    def _fail(self, exc: Exception, doing: str) -> StorageError:
        return _failure(exc, self._where, doing)

    def _version(self, kind: RecordKind, unit_no: str, key: str) -> int:
        row = self._conn.execute(
            "SELECT version FROM records WHERE kind=? AND unit_no=? AND key=?",
            (kind.value, unit_no, key),
        ).fetchone()
        if row is None:
            return 0
        if type(row[0]) is not int or row[0] < 1:
            raise CorruptRecord(kind, key, [_BAD_VERSION])
        return row[0]

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        conn = self._check()
        try:
            row = conn.execute(
                "SELECT version, CAST(data AS TEXT) FROM records "
                "WHERE kind=? AND unit_no=? AND key=?",
                (kind.value, unit_no, key),
            ).fetchone()
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "reading a record") from None
        except UnicodeEncodeError:
            return None  # a key no store can hold is in none
        if row is None:
            return None
        return _checked(kind, unit_no, key, row[0], row[1])

    def list(self, kind: RecordKind, unit_no: str) -> builtins.list[Record]:
        conn = self._check()
        sql = (
            "SELECT key, version, CAST(data AS TEXT) FROM records "
            "WHERE kind=? AND unit_no=? ORDER BY key"
        )
        args = (kind.value, unit_no)
        out: builtins.list[Record] | None
        try:
            try:
                # streamed from the cursor: each row's text is freed once parsed
                out = [
                    Record(kind, unit_no, key, version, loads(data))
                    for key, version, data in conn.execute(sql, args)
                ]
            except (ValueError, RecursionError, TypeError):
                out = None
            if out is None or any(
                type(r.data) is not dict
                or type(r.version) is not int
                or r.version < 1
                or type(r.key) is not str
                for r in out
            ):
                out = None
                # a damaged record: the row-by-row pass (same transaction) names it
                return [_checked(kind, unit_no, k, v, d) for k, v, d in conn.execute(sql, args)]
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "reading records") from None
        except UnicodeEncodeError:
            return []  # an employer no store can hold has no records
        return out

    def versions(self, kind: RecordKind, unit_no: str) -> dict[str, int]:
        """Each record's version by key, without reading the records' data
        (:func:`~pension_collect.ports.storage.record_versions`)."""
        conn = self._check()
        sql = "SELECT key, version FROM records WHERE kind=? AND unit_no=? ORDER BY key"
        try:
            found = dict(conn.execute(sql, (kind.value, unit_no)).fetchall())
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "reading records") from None
        except UnicodeEncodeError:
            return {}  # an employer no store can hold has no records
        if all(type(k) is str and type(v) is int and v >= 1 for k, v in found.items()):
            return found
        # a damaged record: the full read names it
        return {r.key: r.version for r in self.list(kind, unit_no)}

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
        conn = self._check()
        k = kind.value
        try:
            if type(unit_no) is not str or any(
                type(w.data) is not dict or type(w.key) is not str for w in writes
            ):
                raise TypeError  # what record_text refuses, refused alike
            texts = [dumps(w.data) for w in writes]
            inserts = [
                (k, unit_no, w.key, text)
                for w, text in zip(writes, texts, strict=True)
                if w.expected_version == 0
            ]
            updates = [
                (text, k, unit_no, w.key, w.expected_version)
                for w, text in zip(writes, texts, strict=True)
                if w.expected_version != 0
            ]
        except (TypeError, ValueError, RecursionError):
            raise _unstorable_write(kind, unit_no, writes) from None
        # Written in key order (a stable sort: the same key twice keeps its
        # order): neighbouring rows share pages, so a batch in the caller's
        # order (a payroll list) dirties far fewer pages of a large file.
        inserts.sort(key=_third)
        updates.sort(key=_fourth)
        # One row is one statement, which SQLite applies whole or not at all
        # (a refused statement leaves the transaction as it was): only a batch
        # needs a savepoint to be undone as one (and a save writes one row).
        batch = len(writes) > 1
        try:
            if batch:
                conn.execute("SAVEPOINT put_many")
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "saving records") from None
        undo = self._undo if batch else _nothing
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
            undo()
            try:
                raise self._conflict(kind, unit_no, writes) from None
            except _SQLITE_ERRORS as exc:
                raise self._fail(exc, "saving records") from None
        except UnicodeEncodeError:
            undo()
            raise _unstorable_write(kind, unit_no, writes) from None
        except _SQLITE_ERRORS as exc:
            undo()
            raise self._fail(exc, "saving records") from None
        except BaseException:
            undo()
            raise
        try:
            if batch:
                conn.execute("RELEASE put_many")
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "saving records") from None
        for w, text in zip(writes, texts, strict=True):
            self._saved.keep(w.data, text)
        return [w.expected_version + 1 for w in writes]

    def _undo(self) -> None:
        """Undo the batch (when SQLite has not already rolled back the whole
        transaction after a failure)."""
        if self._conn.in_transaction:
            with suppress(*_SQLITE_ERRORS):
                self._conn.execute("ROLLBACK TO put_many")
                self._conn.execute("RELEASE put_many")

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
        conn = self._check()
        try:
            rows = [
                (
                    e.at,
                    e.actor,
                    e.unit_no,
                    e.action,
                    e.subject_kind.value,
                    e.subject_key,
                    e.declaration,
                    e.message,
                    self._image(e.before),
                    self._image(e.after),
                )
                for e in entries
            ]
        except (TypeError, ValueError, RecursionError):
            raise _unstorable_entries(entries) from None
        batch = len(rows) > 1  # one row: one statement, whole or not at all (put_many)
        try:
            if batch:
                conn.execute("SAVEPOINT append_audit")
            try:
                conn.executemany(
                    "INSERT INTO audit (at, actor, unit_no, action, subject_kind, subject_key, "
                    "declaration, message, before, after) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
            except BaseException:
                if batch and conn.in_transaction:
                    with suppress(*_SQLITE_ERRORS):
                        conn.execute("ROLLBACK TO append_audit")
                        conn.execute("RELEASE append_audit")
                raise
            if batch:
                conn.execute("RELEASE append_audit")
        except UnicodeEncodeError:
            raise _unstorable_entries(entries) from None
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "writing the audit log") from None

    def audit(
        self,
        unit_no: str,
        *,
        subject: tuple[RecordKind, str] | None = None,
        declaration: str | None = None,
    ) -> builtins.list[AuditEntry]:
        conn = self._check()
        sql = (
            "SELECT seq, at, actor, unit_no, action, subject_kind, subject_key, declaration, "
            "message, CAST(before AS TEXT), CAST(after AS TEXT) FROM audit WHERE unit_no=?"
        )
        params: builtins.list[Any] = [unit_no]
        if subject is not None:
            sql += " AND subject_kind=? AND subject_key=?"
            params += [subject[0].value, subject[1]]
        if declaration is not None:
            sql += " AND declaration=?"
            params.append(declaration)
        sql += " ORDER BY seq"
        try:
            return [_audit_entry(r) for r in conn.execute(sql, params)]
        except _SQLITE_ERRORS as exc:
            raise self._fail(exc, "reading the audit log") from None
        except UnicodeEncodeError:
            return []  # text no store can hold names no entry


def _unstorable_write(kind: RecordKind, unit_no: str, writes: Sequence[Write]) -> StorageError:
    """What in a batch SQLite or JSON refused (:func:`record_text` says)."""
    for w in writes:
        try:
            record_text(kind, unit_no, w.key, w.data)
        except UnstorableData as exc:
            return exc
    return StoreFailure("", detail="a value SQLite refused")  # pragma: no cover - unreachable


def _unstorable_entries(entries: Sequence[AuditEntry]) -> StorageError:
    """What in a batch of audit entries SQLite or JSON refused."""
    try:
        audit_texts(entries)
    except UnstorableData as exc:
        return exc
    return StoreFailure("", detail="a value SQLite refused")  # pragma: no cover - unreachable


_OPTIONS = frozenset({"timeout", "synchronous", "migrate"})


class SQLiteStorage:
    """A store in one SQLite file (``sqlite:///path``).

    Options: ``timeout`` (seconds to wait for another process's transaction,
    default 30), ``synchronous`` (``"FULL"`` default, or ``"NORMAL"``: still
    safe when a process is killed, not on power loss), ``migrate`` (default
    True: bring an older file forward; False refuses an older file).

    Where no file exists, a new store is made (whole, see the module); a file
    that is there must be a store: anything else raises
    :class:`~pension_collect.ports.storage.NotAStore` or
    :class:`~pension_collect.ports.storage.StoreDamaged`, a store that cannot
    be written :class:`~pension_collect.ports.storage.StoreReadOnly`.
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
        if not isinstance(synchronous, str) or synchronous.upper() not in (
            "FULL",
            "NORMAL",
            "EXTRA",
        ):
            raise StorageError("synchronous must be FULL, NORMAL or EXTRA")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
            raise StorageError("timeout must be a number of seconds, 0 or more")
        self.path = Path(path)
        self.url = url or f"sqlite:///{self.path}"
        self._where = str(self.path)
        self._lock = threading.RLock()
        self._in_tx = False
        self._closed = False
        self.schema_version = 0
        if not os.path.lexists(self.path):
            _create(self.path, self._where)
        _check_file(self.path, self._where)
        try:
            self._conn = sqlite3.connect(
                _uri(self.path),
                uri=True,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except _SQLITE_ERRORS as exc:
            raise _failure(exc, self._where, "opening the store") from None
        self._conn.text_factory = _text
        try:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            except _SQLITE_ERRORS as exc:
                raise _failure(exc, self._where, "opening the store") from None
            self.schema_version = self._migrate(migrate)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open(cls, url: str, **options: Any) -> SQLiteStorage:
        """Factory of the ``sqlite:`` scheme."""
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise StorageError(
                f"unknown sqlite store options: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(_OPTIONS))})"
            )
        return cls(path_of(url), url=url, **options)

    def _migrate(self, migrate: bool) -> int:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._version(migrate)
                _initialize(conn, version)
                _check_schema(conn, self._where)
                if version == SCHEMA_VERSION:
                    # nothing to change: a write, rolled back, finds a read-only
                    # file now rather than at the first step
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    conn.execute("ROLLBACK")
                else:
                    conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except _SQLITE_ERRORS as exc:
            raise _failure(exc, self._where, "opening the store") from None
        return SCHEMA_VERSION

    def _version(self, migrate: bool) -> int:
        """The file's schema version, once it is known to be a store's."""
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID:
            if app_id != 0 or objects or version != 0:
                raise NotAStore(
                    self._where,
                    reason="the file is a SQLite database but not a pension_collect store",
                    reason_zh="该文件是 SQLite 数据库,但不是 pension_collect 存储",
                )
            return 0  # an empty SQLite database: made a store
        if version < 1:
            raise StoreDamaged(
                self._where,
                reason=f"its schema version ({version}) is not one pension_collect writes",
                reason_zh=f"其结构版本号({version})不是 pension_collect 会写入的值",
            )
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the store has schema version {version}; this release knows up to "
                f"{SCHEMA_VERSION} (upgrade pension_collect)",
                f"存储的结构版本为 {version},本版本最高支持 {SCHEMA_VERSION}"
                "(请升级 pension_collect)",
            )
        if version < SCHEMA_VERSION and not migrate:
            raise SchemaVersionError(
                f"the store has schema version {version}, older than {SCHEMA_VERSION}; "
                "open it with migrate=True to bring it forward",
                f"存储的结构版本为 {version},低于 {SCHEMA_VERSION};请以 migrate=True 打开以升级",
            )
        return int(version)

    @contextmanager
    def transaction(self) -> Iterator[SQLiteTransaction]:
        with self._lock:
            if self._closed:
                raise StoreClosed()
            if self._in_tx:
                raise NestedTransaction()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except _SQLITE_ERRORS as exc:
                raise _failure(exc, self._where, "starting a transaction") from None
            self._in_tx = True
            tx = SQLiteTransaction(conn, self._where)
            try:
                yield tx
                if not conn.in_transaction:
                    raise TransactionEnded()  # SQLite rolled it back after a failure
                conn.execute("COMMIT")
            except _SQLITE_ERRORS as exc:
                _rollback(conn)
                raise _failure(exc, self._where, "saving") from None
            except BaseException:
                _rollback(conn)
                raise
            finally:
                tx._live = False
                self._in_tx = False

    def close(self) -> None:
        self._closed = True
        with suppress(*_SQLITE_ERRORS):
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStorage(path={str(self.path)!r}, schema_version={self.schema_version})"


@hookimpl
def pension_collect_register_storage(registry: StorageRegistry) -> None:
    """Built-in ``sqlite:`` storage."""
    registry.add("sqlite", SQLiteStorage.open, default=True)
