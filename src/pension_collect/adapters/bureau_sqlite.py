"""The reference bureau's state in a SQLite file (``DIR/bureau.db``), shared by
threads and processes and surviving restarts (docs/bureau.md, "The bureau's state").

The tables are ``bureau_*``; the file may hold other applications' tables of
the bureau server (its authentication keeps ``auth_*`` tables there) and they
are left alone. Every write is one ``BEGIN IMMEDIATE`` transaction in WAL mode
with ``synchronous=FULL``: a process killed in the middle leaves all of it or
none of it, and another process waits for the write lock (``timeout``
seconds) rather than failing. The unique index on (unit number, idempotency
key) makes one declaration of two processes submitting the same key at once.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..dossier import make_converter
from ..model import BureauRecord, Employer
from ..ports.transport import (
    PENDING_STATES,
    BureauError,
    DeclarationKind,
    DeclarationState,
    WorkerOutcome,
)
from . import _json
from .bureau_state import (
    Declaration,
    Person,
    declaration_id,
    known_id_key,
    person_id_key,
    person_no_of,
)

__all__ = ["BUREAU_DB", "SCHEMA_VERSION", "BureauFileError", "SQLiteBureauState"]

#: The file name of the bureau's state in its data folder.
BUREAU_DB = "bureau.db"

#: The schema version this release writes (table ``bureau_schema``); a file of
#: an older version is brought up to it when opened (:data:`_MIGRATIONS`).
SCHEMA_VERSION = 2

_CONV = make_converter()

_PENDING = tuple(sorted(s.value for s in PENDING_STATES))
_IN_PENDING = f"state IN ({', '.join(repr(s) for s in _PENDING)})"

#: A declaration's request fingerprint (by declaration number), in a table of
#: its own: a column added to ``bureau_declarations`` would come after its
#: large payload, and reading it would walk the payload's pages.
_FINGERPRINTS = """CREATE TABLE bureau_fingerprints (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL
    )"""

_SCHEMA = (
    "CREATE TABLE bureau_schema (version INTEGER NOT NULL)",
    "CREATE TABLE bureau_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE bureau_employers (unit_no TEXT PRIMARY KEY, data TEXT NOT NULL)",
    """CREATE TABLE bureau_persons (
        seq INTEGER PRIMARY KEY,
        person_no TEXT NOT NULL UNIQUE,
        unit_no TEXT,
        id_key TEXT,
        settled INTEGER NOT NULL,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX bureau_persons_unit ON bureau_persons (unit_no, person_no)",
    "CREATE INDEX bureau_persons_id ON bureau_persons (id_key, seq)",
    """CREATE TABLE bureau_declarations (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        unit_no TEXT NOT NULL,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        state TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        linked_to TEXT,
        concluded_at TEXT,
        outcomes TEXT NOT NULL,
        message TEXT NOT NULL,
        message_zh TEXT NOT NULL,
        -- last: a large payload's overflow pages are never walked to read
        -- the columns above (a pending list or a status stays cheap)
        payload TEXT NOT NULL,
        UNIQUE (unit_no, idempotency_key)
    )""",
    "CREATE INDEX bureau_declarations_unit ON bureau_declarations (unit_no, seq)",
    "CREATE INDEX bureau_declarations_state ON bureau_declarations (unit_no, state, seq)",
    f"CREATE INDEX bureau_declarations_pending ON bureau_declarations (seq) WHERE {_IN_PENDING}",
    _FINGERPRINTS,
)

#: What brings a file of version N to N + 1, by N (each run in the one
#: transaction that opens the file, with the version it ends at).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: the fingerprint of the request that made each declaration (the
    # same idempotency key with another body is refused); a declaration of
    # version 1 has none and answers its key as before
    1: (_FINGERPRINTS,),
}

#: Tables another part of the bureau server may keep in the same file.
_NEIGHBOURS = ("auth_", "sqlite_")

_DECLARATION_COLUMNS = (
    "id, unit_no, kind, idempotency_key, state, submitted_at, linked_to, "
    "concluded_at, outcomes, message, message_zh, "
    "(SELECT fingerprint FROM bureau_fingerprints f WHERE f.id = bureau_declarations.id)"
)


class BureauFileError(BureauError):
    """The bureau's data file cannot be used: not a bureau's file, written by a
    newer release, busy, damaged or closed. The message names the file and what
    to do, never what it holds."""

    code = "bureau.data-file"


def _dumps(data: Any) -> str:
    """Compact JSON text of ``data`` (:func:`._json.dumps`: json.dumps' value and
    errors, written through msgspec where installed)."""
    return _json.dumps(data)


def _when(text: str | None) -> _dt.datetime | None:
    return None if text is None else _dt.datetime.fromisoformat(text)


class SQLiteBureauState:
    """A bureau state in a SQLite file (see the module docstring); open it with
    :meth:`open`. One connection, used by one thread at a time (a reentrant
    lock); every process opens its own."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._depth = 0
        self._writing = False

    def __repr__(self) -> str:
        return f"SQLiteBureauState(path={str(self.path)!r})"

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, timeout: float = 60.0) -> SQLiteBureauState:
        """Open (or make) the bureau file ``path``.

        A missing folder is made (mode 0700), a missing file too (mode 0600: it
        holds personal data). A file that is not a bureau's, or one written
        by a newer release, is refused with :class:`BureauFileError`.
        """
        file = Path(path)
        if "\0" in str(file):
            raise BureauFileError(
                f"the bureau's data folder {str(file.parent)!r} holds a NUL character; "
                "give a folder's path (经办机构数据目录路径含有 NUL 字符,请指定目录)"
            )
        if file.parent.exists() and not file.parent.is_dir():
            raise BureauFileError(
                f"the bureau's data folder {str(file.parent)!r} is a file, not a folder; "
                "give a folder (经办机构数据目录是一个文件而不是目录,请指定目录)"
            )
        try:
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not file.exists():
                with suppress(FileExistsError):
                    os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise BureauFileError(
                f"cannot make the bureau's data file {str(file)!r} ({exc.strerror}); "
                "check the folder and its permissions "
                "(无法创建经办机构数据文件,请检查目录及其权限)"
            ) from None
        if file.is_dir():
            raise _not_a_bureau(file)
        try:
            conn = sqlite3.connect(
                file, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error:
            raise _unusable(file) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            _check(conn, file)  # before anything is written to a file that may be another's
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            _prepare(conn, file)
        except BureauFileError:
            conn.close()
            raise
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise _busy(file) from None
            if "unable to open" in str(exc) or "readonly" in str(exc):
                # a read-only file system, an immutable folder or file: no -shm, no write
                raise _unusable(file) from None
            raise _not_a_bureau(file) from None
        except sqlite3.DatabaseError:
            conn.close()
            raise _not_a_bureau(file) from None
        return cls(file, conn)

    def close(self) -> None:
        """Close the connection (once; later calls do nothing)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[None]:
        with self._lock:
            if self._depth:
                if write and not self._writing:
                    raise RuntimeError("a write inside a read transaction of the bureau state")
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._failure(exc) from None
            self._depth, self._writing = 1, write
            try:
                yield
            except BaseException:
                self._depth = 0
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise self._failure(exc) from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise BureauFileError(
                f"the bureau's data file {str(self.path)!r} was closed; open the bureau again "
                "(经办机构数据文件已关闭,请重新打开)"
            )
        return self._conn

    def _failure(self, exc: sqlite3.Error) -> BureauFileError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return _busy(self.path)
        return BureauFileError(
            f"the bureau's data file {str(self.path)!r} failed ({type(exc).__name__}); "
            "check the disk and the file, restore it from a backup if it is damaged "
            "(经办机构数据文件出错,请检查磁盘和文件,如已损坏请从备份恢复)"
        )

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        if not self._depth:
            raise RuntimeError("the bureau state is used outside a transaction")
        try:
            return self._connection().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._failure(exc) from None

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        if not self._writing:
            raise RuntimeError("the bureau state is written outside a write transaction")
        self._rows(sql, args)

    # -- employers ----------------------------------------------------------------------------

    @property
    def employers(self) -> Mapping[str, Employer]:
        return _Employers(self)

    @property
    def persons(self) -> Mapping[str, Person]:
        return _Persons(self)

    def employer(self, unit_no: str) -> Employer | None:
        rows = self._rows("SELECT data FROM bureau_employers WHERE unit_no = ?", (unit_no,))
        return _CONV.structure(_json.loads(rows[0][0]), Employer) if rows else None

    def put_employer(self, employer: Employer) -> None:
        data = _dumps(_CONV.unstructure(employer, Employer))
        self._write(
            "INSERT INTO bureau_employers (unit_no, data) VALUES (?, ?) "
            "ON CONFLICT (unit_no) DO UPDATE SET data = excluded.data",
            (employer.unit_no, data),
        )

    def unit_nos(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT unit_no FROM bureau_employers ORDER BY unit_no")]

    # -- persons ------------------------------------------------------------------------------

    _PERSON = "SELECT person_no, unit_no, settled, record, id_key FROM bureau_persons"

    @staticmethod
    def _person(row: Any) -> Person:
        record = _CONV.structure(_json.loads(row[3]), BureauRecord)
        person = Person(
            person_no=row[0], unit_no=row[1], account_settled=bool(row[2]), record=record
        )
        return known_id_key(person, record.id_number, row[4])

    def person(self, person_no: str) -> Person | None:
        rows = self._rows(f"{self._PERSON} WHERE person_no = ?", (person_no,))
        return self._person(rows[0]) if rows else None

    def put_person(self, person: Person) -> None:
        record = _dumps(_CONV.unstructure(person.record, BureauRecord))
        self._write(
            "INSERT INTO bureau_persons (person_no, unit_no, id_key, settled, record) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_no) DO UPDATE SET "
            "unit_no = excluded.unit_no, id_key = excluded.id_key, "
            "settled = excluded.settled, record = excluded.record",
            (
                person.person_no,
                person.unit_no,
                person_id_key(person),
                int(person.account_settled),
                record,
            ),
        )

    def person_by_id(self, canonical: str) -> Person | None:
        rows = self._rows(f"{self._PERSON} WHERE id_key = ? ORDER BY seq LIMIT 1", (canonical,))
        return self._person(rows[0]) if rows else None

    def persons_of(
        self, unit_no: str, *, after: str = "", limit: int | None = None
    ) -> list[Person]:
        rows = self._rows(
            f"{self._PERSON} WHERE unit_no = ? AND person_no > ? ORDER BY person_no LIMIT ?",
            (unit_no, after, -1 if limit is None else limit),
        )
        return [self._person(r) for r in rows]

    def person_nos(self) -> list[str]:
        """Every person number held, in the order they were added."""
        return [r[0] for r in self._rows("SELECT person_no FROM bureau_persons ORDER BY seq")]

    def new_person_no(self) -> str:
        rows = self._rows("SELECT value FROM bureau_counters WHERE name = 'person'")
        n = rows[0][0] if rows else 1
        while True:
            candidate = person_no_of(n)
            n += 1
            if not self._rows("SELECT 1 FROM bureau_persons WHERE person_no = ?", (candidate,)):
                break
        self._write(
            "INSERT INTO bureau_counters (name, value) VALUES ('person', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (n,),
        )
        return candidate

    # -- declarations -------------------------------------------------------------------------

    @staticmethod
    def _declaration(row: Any) -> Declaration:
        return Declaration(
            id=row[0],
            unit_no=row[1],
            kind=DeclarationKind(row[2]),
            idempotency_key=row[3],
            payload=None,
            state=DeclarationState(row[4]),
            submitted_at=_dt.datetime.fromisoformat(row[5]),
            linked_to=row[6],
            concluded_at=_when(row[7]),
            outcomes=tuple(WorkerOutcome.from_dict(o) for o in _json.loads(row[8])),
            message=row[9],
            message_zh=row[10],
            fingerprint=row[11],
        )

    def _declarations(
        self,
        where: str,
        args: tuple[Any, ...],
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Declaration]:
        if after is not None:
            # no declaration of that number: nothing (the subquery is NULL)
            where += " AND seq > (SELECT seq FROM bureau_declarations WHERE id = ?)"
            args = (*args, after)
        sql = (
            f"SELECT {_DECLARATION_COLUMNS} FROM bureau_declarations WHERE {where} "
            "ORDER BY seq LIMIT ?"
        )
        rows = self._rows(sql, (*args, -1 if limit is None else max(limit, 0)))
        return [self._declaration(r) for r in rows]

    def declaration(self, declaration_id: str) -> Declaration | None:
        found = self._declarations("id = ?", (declaration_id,))
        return found[0] if found else None

    def declaration_by_key(self, unit_no: str, idempotency_key: str) -> Declaration | None:
        found = self._declarations(
            "unit_no = ? AND idempotency_key = ?", (unit_no, idempotency_key)
        )
        return found[0] if found else None

    def declarations_of(
        self, unit_no: str, *, after: str | None = None, limit: int | None = None
    ) -> list[Declaration]:
        return self._declarations("unit_no = ?", (unit_no,), after=after, limit=limit)

    def pending(
        self, unit_no: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[Declaration]:
        if unit_no is None:
            return self._declarations(_IN_PENDING, (), after=after, limit=limit)
        return self._declarations(
            f"unit_no = ? AND {_IN_PENDING}", (unit_no,), after=after, limit=limit
        )

    def add_declaration(self, declaration: Declaration) -> Declaration:
        (n,) = self._rows("SELECT coalesce(max(seq), 0) + 1 FROM bureau_declarations")[0]
        declaration.id = declaration_id(n)
        d = declaration
        self._write(
            "INSERT INTO bureau_declarations (seq, id, unit_no, kind, idempotency_key, payload, "
            "state, submitted_at, linked_to, concluded_at, outcomes, message, message_zh) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                n,
                d.id,
                d.unit_no,
                d.kind.value,
                d.idempotency_key,
                _dumps(d.payload or {}),
                d.state.value,
                d.submitted_at.isoformat(),
                d.linked_to,
                None if d.concluded_at is None else d.concluded_at.isoformat(),
                _dumps([o.to_dict() for o in d.outcomes]),
                d.message,
                d.message_zh,
            ),
        )
        if d.fingerprint is not None:
            self._write(
                "INSERT INTO bureau_fingerprints (id, fingerprint) VALUES (?, ?)",
                (d.id, d.fingerprint),
            )
        return declaration

    def put_declaration(self, declaration: Declaration) -> None:
        d = declaration
        self._write(
            "UPDATE bureau_declarations SET state = ?, concluded_at = ?, outcomes = ?, "
            "message = ?, message_zh = ? WHERE id = ?",
            (
                d.state.value,
                None if d.concluded_at is None else d.concluded_at.isoformat(),
                _dumps([o.to_dict() for o in d.outcomes]),
                d.message,
                d.message_zh,
                d.id,
            ),
        )

    def payload(self, declaration: Declaration) -> dict[str, Any]:
        if declaration.payload is not None:
            return declaration.payload
        rows = self._rows("SELECT payload FROM bureau_declarations WHERE id = ?", (declaration.id,))
        if not rows:
            return {}
        data = _json.loads(rows[0][0])
        return data if isinstance(data, dict) else {}


class _Employers(Mapping[str, Employer]):
    """Read-only view of the employers in the file."""

    def __init__(self, state: SQLiteBureauState) -> None:
        self._state = state

    def __getitem__(self, unit_no: str) -> Employer:
        with self._state.transaction(write=False):
            found = self._state.employer(unit_no)
        if found is None:
            raise KeyError(unit_no)
        return found

    def __iter__(self) -> Iterator[str]:
        with self._state.transaction(write=False):
            return iter(self._state.unit_nos())

    def __len__(self) -> int:
        with self._state.transaction(write=False):
            return int(self._state._rows("SELECT count(*) FROM bureau_employers")[0][0])


class _Persons(Mapping[str, Person]):
    """Read-only view of the persons in the file (copies: change them through the bureau)."""

    def __init__(self, state: SQLiteBureauState) -> None:
        self._state = state

    def __getitem__(self, person_no: str) -> Person:
        with self._state.transaction(write=False):
            found = self._state.person(person_no)
        if found is None:
            raise KeyError(person_no)
        return found

    def __iter__(self) -> Iterator[str]:
        with self._state.transaction(write=False):
            return iter(self._state.person_nos())

    def __len__(self) -> int:
        with self._state.transaction(write=False):
            return int(self._state._rows("SELECT count(*) FROM bureau_persons")[0][0])

    def values(self) -> Any:
        with self._state.transaction(write=False):
            rows = self._state._rows(f"{SQLiteBureauState._PERSON} ORDER BY seq")
            return [SQLiteBureauState._person(r) for r in rows]


# -- opening -------------------------------------------------------------------------------------


def _check(conn: sqlite3.Connection, file: Path) -> int:
    """The version of the bureau's schema the file holds, this release's or an
    older one (``0``: none yet, and no tables but those of the bureau server's
    other parts); raises :class:`BureauFileError` for any other file."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "bureau_schema" in tables:
        rows = conn.execute("SELECT version FROM bureau_schema").fetchall()
        version = rows[0][0] if len(rows) == 1 else None
        if not isinstance(version, int) or version < 1:
            raise _not_a_bureau(file)
        if version > SCHEMA_VERSION:
            raise BureauFileError(
                f"the bureau's data file {str(file)!r} has schema version {version}, "
                f"newer than this release's {SCHEMA_VERSION}: upgrade pension_collect "
                "to open it, or give another data folder "
                "(数据文件由较新版本写入,请升级 pension_collect 或换用其他数据目录)"
            )
        return version
    if any(not t.startswith(_NEIGHBOURS) for t in tables):
        raise _not_a_bureau(file)
    return 0


def _prepare(conn: sqlite3.Connection, file: Path) -> None:
    """Check the file's schema, write it into a file with none, or bring an
    older one up to this release's (in one transaction, so two processes
    opening a file make or migrate it once)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _check(conn, file)
        if not version:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT INTO bureau_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version < SCHEMA_VERSION:
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    conn.execute(statement)
            conn.execute("UPDATE bureau_schema SET version = ?", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _not_a_bureau(file: Path) -> BureauFileError:
    return BureauFileError(
        f"{str(file)!r} is not a reference bureau's data file (it holds something else); "
        "give the folder of a bureau's data, or an empty or new folder, and leave this file "
        "as it is (不是经办机构的数据文件,请指定经办机构数据目录或新的空目录)"
    )


def _unusable(file: Path) -> BureauFileError:
    return BureauFileError(
        f"cannot open the bureau's data file {str(file)!r} for writing; check the file, "
        "its folder and their permissions (and that the file system is not read-only) "
        "(无法打开或写入经办机构数据文件,请检查文件、目录及其权限)"
    )


def _busy(file: Path) -> BureauFileError:
    return BureauFileError(
        f"the bureau's data file {str(file)!r} stayed locked by another process; "
        "try again when it has finished (经办机构数据文件被其他进程占用,请稍后重试)"
    )
