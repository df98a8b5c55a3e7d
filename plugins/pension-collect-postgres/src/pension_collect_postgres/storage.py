"""Storage ``postgresql://``: the records of many employers in one PostgreSQL database.

A :class:`PostgresStorage` is a pool of connections (psycopg 3,
``psycopg_pool``). Each transaction takes a connection from the pool, runs
``BEGIN`` .. ``COMMIT`` (READ COMMITTED) on it and gives it back.

**One employer at a time.** The first statement a transaction runs for an
employer (``unit_no``) takes a transaction-scoped advisory lock on that
employer: the transactions of one employer run one after the other, across
handles and processes, as every transaction of a SQLite file does, while
different employers never wait for each other. So a step that reads, checks
and writes (the workflow's "is a declaration already being sent? if not,
create it") runs alone for its employer, and a reading transaction sees
another's commit whole or not at all. Between transactions, saving with a
version (``expected_version``) is optimistic: a stale one raises
:class:`~pension_collect.ports.storage.ConflictError`, never a lost update.

**Scoped to an employer.** Every statement names the employer. A handle opened
with ``unit_no=`` serves that employer only: a call for another raises
:class:`EmployerScopeError` before it reaches the server, and its connections
carry the setting that the tables' row-level security policies compare with
each row, so the database itself hides the other employers' rows from them.

Passwords come from the URL, a passfile, a service file or ``PGPASSWORD``
(libpq reads them); none is kept in :attr:`PostgresStorage.url`, a repr or an
error message.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from pension_collect.errors import Problem
from pension_collect.ports.storage import (
    AuditEntry,
    ConflictError,
    CorruptRecord,
    NestedTransaction,
    Record,
    RecordKind,
    SchemaVersionError,
    StorageError,
    Write,
)

from .schema import MIGRATIONS, SCHEMA_VERSION, SETTING

_SAVED_KEPT = 64 * 2**20
"""How many characters of saved texts a transaction keeps for audit images."""

__all__ = [
    "DEFAULT_SCHEMA",
    "SCHEMES",
    "EmployerScopeError",
    "PostgresStorage",
    "PostgresTransaction",
    "public_url",
]

#: The URL schemes this adapter opens.
SCHEMES = ("postgresql", "postgres")
#: The PostgreSQL schema the tables live in unless ``schema=`` says otherwise.
DEFAULT_SCHEMA = "pension_collect"

#: Options the adapter reads from the URL's query (libpq never sees them).
_OPTIONS = frozenset(
    {
        "schema",
        "unit_no",
        "pool_min_size",
        "pool_max_size",
        "pool_timeout",
        "lock_timeout",
        "migrate",
    }
)
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class EmployerScopeError(StorageError):
    """A handle opened for one employer (``unit_no=``) was asked about another.

    Nothing was read or changed. Open a handle for that employer, or one
    without ``unit_no`` (a server process serving several employers).
    """

    code = "storage.employer-scope"

    def __init__(self) -> None:
        super().__init__(
            "this store handle serves one employer only; the record asked for belongs to another "
            "(nothing was read or changed)"
        )
        self.message_zh = (
            "该存储句柄仅服务于一个单位,所请求的记录属于其他单位(未读取或修改任何内容)"
        )


def _dumps(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _join(scheme: str, netloc: str, path: str, query: str) -> str:
    """A URL from its parts, keeping ``//`` when the host is empty (urlunsplit drops it)."""
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _split(url: str) -> tuple[str, dict[str, str], builtins.list[str]]:
    """``url`` as libpq's URL (without the adapter's options), the adapter's
    options, and the secrets it holds (to keep out of messages)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise StorageError("not a postgresql URL (write postgresql://user@host:port/database)")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in pairs if k in _OPTIONS}
    theirs = [(k, v) for k, v in pairs if k not in _OPTIONS]
    secrets = [v for k, v in pairs if k == "password" and v]
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        raw = userinfo.partition(":")[2]
        secrets += [s for s in {raw, unquote(raw)} if s]
    libpq = _join(parts.scheme, parts.netloc, parts.path, urlencode(theirs))
    return libpq, ours, secrets


def public_url(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` parameter)."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0]
    netloc = f"{userinfo}@{host}" if at else host
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if k != "password"])
    return _join(parts.scheme, netloc, parts.path, query)


class _Sql:
    """The statements of one schema (its quoted name put in once)."""

    def __init__(self, schema: str) -> None:
        s = f'"{schema}"'
        self.schema = s
        self.get = f"SELECT version, data FROM {s}.records WHERE unit_no=%s AND kind=%s AND key=%s"
        self.list = (
            f"SELECT key, version, data FROM {s}.records WHERE unit_no=%s AND kind=%s ORDER BY key"
        )
        self.versions = (
            f"SELECT key, version FROM {s}.records WHERE unit_no=%s AND kind=%s AND key = ANY(%s)"
        )
        self.all_versions = (
            f"SELECT key, version FROM {s}.records WHERE unit_no=%s AND kind=%s ORDER BY key"
        )
        self.insert = (
            f"INSERT INTO {s}.records (unit_no, kind, key, version, data) "
            "VALUES (%s, %s, %s, 1, %s::jsonb)"
        )
        self.update = (
            f"UPDATE {s}.records SET version = version + 1, data = %s::jsonb "
            "WHERE unit_no=%s AND kind=%s AND key=%s AND version=%s"
        )
        self.append = (
            f"INSERT INTO {s}.audit (at, actor, unit_no, action, subject_kind, subject_key, "
            "declaration, message, before, after) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json, %s::json)"
        )
        self.audit = (
            f"SELECT seq, at, actor, unit_no, action, subject_kind, subject_key, declaration, "
            f"message, before, after FROM {s}.audit WHERE unit_no=%s"
        )
        self.overview = (
            f"SELECT unit_no, kind, coalesce(data->>'status', data->>'state'), count(*) "
            f"FROM {s}.records WHERE kind IN ('worker', 'declaration') "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )


class _Mismatch(Exception):
    """An UPDATE matched fewer rows than asked (a stale version)."""


class PostgresTransaction:
    """A transaction of :class:`PostgresStorage` (the contract's ``Transaction``)."""

    def __init__(
        self, conn: psycopg.Connection[Any], sql: _Sql, scope: str | None, lock_prefix: str
    ) -> None:
        self._live: psycopg.Connection[Any] | None = conn
        self._sql = sql
        self._scope = scope
        self._lock_prefix = lock_prefix
        self._locked: set[str] = set()
        self._saved: dict[int, tuple[dict[str, Any], str]] = {}
        self._saved_chars = 0
        """The text each record data saved in this transaction was written as (by
        ``id``, with the object): an audit image that is the very same object is
        written as that text, as the built-in stores do (the latest
        ``_SAVED_KEPT`` only)."""

    def _keep(self, data: dict[str, Any], text: str) -> None:
        """Keep ``text`` as what ``data`` was saved as; only the latest
        ``_SAVED_KEPT`` characters are kept (a step writing every worker in one
        transaction would otherwise keep every record's text until it commits)."""
        old = self._saved.pop(id(data), None)
        if old is not None:
            self._saved_chars -= len(old[1])
        self._saved[id(data)] = (data, text)
        self._saved_chars += len(text)
        while self._saved_chars > _SAVED_KEPT:
            self._saved_chars -= len(self._saved.pop(next(iter(self._saved)))[1])

    def _image(self, data: dict[str, Any] | None) -> str | None:
        hit = None if data is None else self._saved.get(id(data))
        return hit[1] if hit is not None and hit[0] is data else _dumps(data)

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        # once the block has ended the connection is back in the pool, maybe in
        # another thread's transaction: never touch it again
        if self._live is None:
            raise StorageError("the transaction has ended; open a new one")
        return self._live

    def _end(self) -> None:
        self._live = None

    def _employer(self, *unit_nos: str) -> None:
        """Refuse another employer than the handle's; lock each employer once."""
        for unit_no in sorted(set(unit_nos)):
            if self._scope is not None and unit_no != self._scope:
                raise EmployerScopeError()
            if unit_no not in self._locked:
                self._conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (self._lock_prefix + unit_no,),
                )
                self._locked.add(unit_no)

    @staticmethod
    def _data(kind: RecordKind, key: str, data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            problem = Problem(
                "$", "a stored record must be a JSON object", "存储的记录应为 JSON 对象"
            )
            raise CorruptRecord(kind, key, [problem])
        return data

    def get(self, kind: RecordKind, unit_no: str, key: str) -> Record | None:
        self._employer(unit_no)
        row = self._conn.execute(self._sql.get, (unit_no, kind.value, key)).fetchone()
        if row is None:
            return None
        return Record(kind, unit_no, key, row[0], self._data(kind, key, row[1]))

    def list(self, kind: RecordKind, unit_no: str) -> builtins.list[Record]:
        self._employer(unit_no)
        rows = self._conn.execute(self._sql.list, (unit_no, kind.value))
        return [Record(kind, unit_no, k, v, self._data(kind, k, d)) for k, v, d in rows]

    def versions(self, kind: RecordKind, unit_no: str) -> dict[str, int]:
        """Each record's version by key, without reading the records' data."""
        self._employer(unit_no)
        return dict(self._conn.execute(self._sql.all_versions, (unit_no, kind.value)).fetchall())

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
        self._employer(unit_no)
        k = kind.value
        texts = [_dumps(w.data) for w in writes]
        inserts = [
            (unit_no, k, w.key, text)
            for w, text in zip(writes, texts, strict=True)
            if w.expected_version == 0
        ]
        updates = [
            (text, unit_no, k, w.key, w.expected_version)
            for w, text in zip(writes, texts, strict=True)
            if w.expected_version != 0
        ]
        # in key order (stable: the same key twice keeps its order): two
        # sessions writing overlapping batches take the rows' locks in the
        # same order, and neighbouring rows share pages
        inserts.sort(key=lambda row: row[2])
        updates.sort(key=lambda row: row[3])
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:  # a savepoint
                if inserts:
                    cur.executemany(self._sql.insert, inserts)
                if updates:
                    cur.executemany(self._sql.update, updates)
                    if cur.rowcount != len(updates):
                        raise _Mismatch
        except (pg_errors.UniqueViolation, _Mismatch):
            raise self._conflict(kind, unit_no, writes) from None
        for w, text in zip(writes, texts, strict=True):
            if text is not None:
                self._keep(w.data, text)
        return [w.expected_version + 1 for w in writes]

    def _conflict(self, kind: RecordKind, unit_no: str, writes: Sequence[Write]) -> ConflictError:
        keys = [w.key for w in writes]
        found = dict(self._conn.execute(self._sql.versions, (unit_no, kind.value, keys)).fetchall())
        seen: set[str] = set()
        for w in writes:
            if w.key in seen:  # the same record twice in one batch
                return ConflictError(kind.value, w.key, w.expected_version, w.expected_version + 1)
            seen.add(w.key)
            actual = found.get(w.key, 0)
            if actual != w.expected_version:
                return ConflictError(kind.value, w.key, w.expected_version, actual)
        return ConflictError(kind.value, "?", 0, 0)  # pragma: no cover - unreachable

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        self._employer(*(e.unit_no for e in entries))
        with self._conn.cursor() as cur:
            cur.executemany(
                self._sql.append,
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
                        self._image(e.before),
                        self._image(e.after),
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
        self._employer(unit_no)
        query = self._sql.audit
        params: builtins.list[Any] = [unit_no]
        if subject is not None:
            query += " AND subject_kind=%s AND subject_key=%s"
            params += [subject[0].value, subject[1]]
        if declaration is not None:
            query += " AND declaration=%s"
            params.append(declaration)
        query += " ORDER BY seq"
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
                before=r[9],
                after=r[10],
            )
            for r in self._conn.execute(query, params)
        ]


#: The transactions open in each thread, by store (its public URL and schema).
_open_here = threading.local()


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise StorageError(f"not a yes/no option value: {value!r}")


class PostgresStorage:
    """A store in a PostgreSQL database (``postgresql://user@host:port/database``).

    Options (keyword arguments, or the same names in the URL's query; a
    keyword wins): ``schema`` (the PostgreSQL schema of the tables, default
    ``pension_collect``), ``unit_no`` (serve this employer only),
    ``pool_min_size`` (connections kept open, default 1), ``pool_max_size``
    (at most, default 5: the transactions this handle runs at once),
    ``pool_timeout`` (seconds to wait for a free connection, default 30),
    ``lock_timeout`` (seconds a transaction waits for its employer's lock or
    a row, default 30), ``migrate`` (default True: bring an older schema
    forward; False refuses it). Every other query parameter goes to libpq
    (``sslmode``, ``passfile``, ``service``, ``application_name``...).
    """

    def __init__(self, url: str, **options: Any) -> None:
        libpq, from_url, self._secrets = _split(url)
        unknown = set(options) - _OPTIONS
        if unknown:
            raise StorageError(f"unknown postgresql store options: {', '.join(sorted(unknown))}")
        opts: dict[str, Any] = {**from_url, **options}
        self.url = public_url(url)
        self.schema = str(opts.get("schema", DEFAULT_SCHEMA))
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise StorageError("schema must be a lower-case SQL name (letters, digits, _)")
        scope = opts.get("unit_no")
        self.unit_no: str | None = None if scope in (None, "") else str(scope)
        try:
            min_size = int(opts.get("pool_min_size", 1))
            max_size = int(opts.get("pool_max_size", 5))
            self._pool_timeout = float(opts.get("pool_timeout", 30.0))
            lock_ms = int(float(opts.get("lock_timeout", 30.0)) * 1000)
        except ValueError:
            raise StorageError("pool sizes and timeouts must be numbers") from None
        if not 0 <= min_size <= max_size or max_size < 1:
            raise StorageError("need 0 <= pool_min_size <= pool_max_size and pool_max_size >= 1")
        self._sql = _Sql(self.schema)
        # the database (libpq's URL without the password) and the schema: two
        # handles with the same identity are one store
        self._identity = (public_url(libpq), self.schema)
        self._lock_prefix = f"pension_collect:{self.schema}:"
        self._settings = {"lock_timeout": f"{lock_ms}ms", SETTING: self.unit_no or ""}
        self._closed = False
        kwargs: dict[str, Any] = {"autocommit": True}
        if "application_name" not in libpq:
            kwargs["application_name"] = "pension_collect"
        with self._mapped("cannot open the store"):
            with psycopg.connect(libpq, **kwargs) as conn:
                self.schema_version = self._migrate(conn, _bool(opts.get("migrate", True)))
            self._pool = ConnectionPool(
                libpq,
                min_size=min_size,
                max_size=max_size,
                kwargs=kwargs,
                configure=self._configure,
                open=False,
                name=f"pension_collect:{self.schema}",
            )
            try:
                self._pool.open(wait=min_size > 0, timeout=self._pool_timeout)
            except PoolTimeout:
                self._pool.close()
                raise StorageError(
                    "cannot open the store: no connection to the PostgreSQL server within "
                    f"{self._pool_timeout:g} s"
                ) from None

    @classmethod
    def open(cls, url: str, **options: Any) -> PostgresStorage:
        """Factory of the ``postgresql:`` and ``postgres:`` schemes."""
        return cls(url, **options)

    def __repr__(self) -> str:
        scope = "" if self.unit_no is None else ", unit_no=..."
        return (
            f"PostgresStorage(url={self.url!r}, schema={self.schema!r}, "
            f"schema_version={self.schema_version}{scope})"
        )

    # -- errors ----------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in [*self._secrets, os.environ.get("PGPASSWORD", "")]:
            if secret:
                text = text.replace(secret, "***")
        return text

    @contextlib.contextmanager
    def _mapped(self, doing: str) -> Iterator[None]:
        """psycopg's errors as StorageError: a connection's message (scrubbed of
        passwords), a statement's SQLSTATE only (its text may quote the data)."""
        try:
            yield
        except pg_errors.LockNotAvailable:
            raise StorageError(
                f"{doing}: another transaction of this employer held the lock too long "
                "(lock_timeout); try again"
            ) from None
        except pg_errors.DeadlockDetected:
            raise StorageError(
                f"{doing}: a deadlock between transactions touching several employers; try again"
            ) from None
        except psycopg.OperationalError as exc:
            if exc.sqlstate is None or exc.sqlstate.startswith("08"):
                first = self._scrub(str(exc)).strip().splitlines()
                raise StorageError(
                    f"{doing}: {first[0] if first else 'connection failed'}"
                ) from None
            raise StorageError(
                f"{doing}: the server refused it (SQLSTATE {exc.sqlstate})"
            ) from None
        except psycopg.Error as exc:
            raise StorageError(
                f"{doing}: the server refused it ({type(exc).__name__}, SQLSTATE {exc.sqlstate})"
            ) from None

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self, conn: psycopg.Connection[Any], migrate: bool) -> int:
        s = self._sql.schema
        with conn.transaction():
            # one process at a time creates or migrates a schema
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"pension_collect.migrate:{self.schema}",),
            )
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                )
            }
            if tables and "schema_version" not in tables:
                raise StorageError(
                    "the PostgreSQL schema holds tables but is not a pension_collect store; "
                    "choose another schema"
                )
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {s}.schema_version ("
                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute(
                f"SELECT coalesce(max(version), 0) FROM {s}.schema_version"
            ).fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"the store has schema version {version}; this release knows up to "
                    f"{SCHEMA_VERSION} (upgrade pension-collect-postgres)"
                )
            if 0 < version < SCHEMA_VERSION and not migrate:
                raise SchemaVersionError(
                    f"the store has schema version {version}, older than {SCHEMA_VERSION}; "
                    "open it with migrate=True to bring it forward"
                )
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    conn.execute(statement.format(s=s))
                conn.execute(f"INSERT INTO {s}.schema_version (version) VALUES (%s)", (number,))
        return SCHEMA_VERSION

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        for name, value in self._settings.items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))

    # -- the contract ----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        if self._closed:
            raise StorageError("the store is closed")
        mine: set[tuple[str, str]] = _open_here.__dict__.setdefault("stores", set())
        if self._identity in mine:
            # this thread holds a transaction on the store already (through this
            # handle or another): a second one would wait for the first forever
            raise NestedTransaction()
        mine.add(self._identity)
        try:
            try:
                conn = self._pool.getconn(timeout=self._pool_timeout)
            except PoolTimeout:
                raise StorageError(
                    f"no free connection to the PostgreSQL server within {self._pool_timeout:g} s "
                    "(raise pool_max_size)"
                ) from None
            tx = PostgresTransaction(conn, self._sql, self.unit_no, self._lock_prefix)
            try:
                with self._mapped("the transaction failed"), conn.transaction():
                    yield tx
            finally:
                tx._end()
                self._pool.putconn(conn)
        finally:
            mine.discard(self._identity)

    def close(self) -> None:
        """Close the pool's connections; the store refuses new transactions."""
        if not self._closed:
            self._closed = True
            self._pool.close()

    def __enter__(self) -> PostgresStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- beyond the contract ---------------------------------------------------------------

    def overview(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per employer: workers by status and declarations by state, in one query
        (``{unit_no: {"worker": {"collected": 3}, "declaration": {"succeeded": 1}}}``).

        A handle scoped to an employer sees that employer only.
        """
        if self._closed:
            raise StorageError("the store is closed")
        out: dict[str, dict[str, dict[str, int]]] = {}
        with self._mapped("the overview failed"), self._pool.connection() as conn:
            for unit_no, kind, status, n in conn.execute(self._sql.overview):
                out.setdefault(unit_no, {}).setdefault(kind, {})[str(status)] = int(n)
        return out
