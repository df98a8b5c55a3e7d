"""The clerk accounts of the web front end (docs/web.md "Security model").

:class:`ClerkAccounts` keeps, in one SQLite file of its own (mode 0600,
``--accounts``, default ``pension-collect-web.db``):

- ``clerks``: name, unit number (the employer the clerk works for), the
  scrypt hash of the password (:func:`pension_collect.server.auth.hash_password`),
  when made;
- ``web_sessions``: one row per sign-in: the SHA-256 of the random session
  token (the cookie holds the token, the file only its hash), the clerk, the
  CSRF token of the session's forms, when it expires;
- ``installation``: the installation's random secret (worker references,
  Flask's signed flash messages);
- ``sign_in_locks``: failed sign-ins per (name, client address), the name
  only as an HMAC under the secret, whether or not a clerk has it;
- ``sign_in_address_failures``: each failed sign-in's client address and time.

Five failed sign-ins in a row of one name from one client address lock that
name for that address (the clerk keeps signing in from every other) for a
minute, each further lock of the pair twice as long (at most a day); a name
no clerk has is counted and locked exactly alike, so a lock tells nothing
about which names exist. More than :data:`ADDRESS_LIMIT` failures within
:data:`ADDRESS_WINDOW` seconds from one address, whatever the names, and the
address waits. ``pension-collect web unlock NAME`` lifts the name's locks
from every address. Every change is one ``BEGIN IMMEDIATE`` transaction, so
every gunicorn worker sees the same accounts, sessions and locks.

Files of earlier versions are brought up to date when opened
(:data:`SCHEMA_VERSION`, SQLite's ``user_version``): their lock columns of
``clerks`` and their table ``unknown_names`` (a lock for everyone) are
dropped, so such a lock is lifted by the upgrade.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

import attrs

from pension_collect.server.auth import hash_password, password_problem, verify_password
from pension_collect.text import printable

from .errors import WebError

__all__ = ["MAX_NAME", "Clerk", "ClerkAccounts", "WebSession"]

#: The longest clerk name (characters).
MAX_NAME = 64
#: The longest password checked (a longer one is refused without hashing).
_MAX_PASSWORD = 1024
#: Failed sign-ins in a row, of one name from one client address, that lock the
#: name for that address; the first lock's seconds; the longest.
LOCK_AFTER, LOCK_SECONDS, LOCK_MAX_SECONDS = 5, 60.0, 86400.0
#: Failed sign-ins from one client address, whatever the names, within
#: ``ADDRESS_WINDOW`` seconds, after which the address waits (also with the
#: right password): how many names and passwords one address can try.
ADDRESS_LIMIT, ADDRESS_WINDOW = 20, 300.0
#: The accounts file's schema (SQLite's ``user_version``): 0 the files before
#: locks per client address (lock columns in ``clerks``, ``unknown_names``).
SCHEMA_VERSION = 1
#: The longest client address kept (an IPv6 address is at most 45 characters).
_MAX_ADDRESS = 100

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS clerks (
        name TEXT PRIMARY KEY,
        unit_no TEXT NOT NULL,
        password TEXT NOT NULL,
        created TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS web_sessions (
        token_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS web_sessions_name ON web_sessions (name)",
    "CREATE TABLE IF NOT EXISTS installation (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Failed sign-ins per (name, client address), whether or not a clerk has
    # the name (kept only as an HMAC under the installation's secret): a lock
    # set from one address never locks out another, and a made-up name locks
    # exactly as a real one; forgotten a day after the last failure.
    """CREATE TABLE IF NOT EXISTS sign_in_locks (
        name_hash TEXT NOT NULL,
        address TEXT NOT NULL,
        failures INTEGER NOT NULL,
        locks INTEGER NOT NULL,
        locked_until REAL NOT NULL,
        last_at REAL NOT NULL,
        PRIMARY KEY (name_hash, address)
    )""",
    "CREATE INDEX IF NOT EXISTS sign_in_locks_last ON sign_in_locks (last_at)",
    "CREATE TABLE IF NOT EXISTS sign_in_address_failures (address TEXT NOT NULL, at REAL NOT NULL)",
    """CREATE INDEX IF NOT EXISTS sign_in_address_failures_at
        ON sign_in_address_failures (address, at)""",
)


@attrs.frozen(kw_only=True)
class Clerk:
    """A signed-in clerk: the name (the audit log's actor) and the employer's unit number."""

    name: str
    unit_no: str


@attrs.frozen(kw_only=True)
class WebSession:
    """A valid sign-in: the clerk, its forms' CSRF token, when it expires (epoch seconds)."""

    clerk: Clerk
    csrf: str = attrs.field(repr=False)
    expires_at: float
    token_hash: str = attrs.field(repr=False)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _invalid() -> WebError:
    return WebError(
        "web.invalid-credentials",
        "the name or the password is wrong",
        "用户名或密码错误",
    )


def _locked(seconds: float) -> WebError:
    minutes = max(1, math.ceil(seconds / 60))
    return WebError(
        "web.locked",
        f"the account is locked for this address after {LOCK_AFTER} failed sign-ins; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}, or ask the "
        "administrator ('pension-collect web unlock NAME')",
        f"从此地址连续 {LOCK_AFTER} 次登录失败,账户已对此地址锁定;请在 {minutes} 分钟后重试,"
        "或请管理员解锁('pension-collect web unlock 用户名')",
        retry_after=max(1, math.ceil(seconds)),
    )


def _too_many(seconds: float) -> WebError:
    wait = max(1, math.ceil(seconds))
    return WebError(
        "web.too-many-attempts",
        f"too many failed sign-ins from this address (more than {ADDRESS_LIMIT} in "
        f"{int(ADDRESS_WINDOW // 60)} minutes); wait {wait} s and try again",
        f"此地址登录失败次数过多({int(ADDRESS_WINDOW // 60)} 分钟内超过 {ADDRESS_LIMIT} 次);"
        f"请等待 {wait} 秒后重试",
        retry_after=wait,
    )


def _address(address: str) -> str:
    """The client address as kept (``-`` when the server was not told one)."""
    return address[:_MAX_ADDRESS] if address else "-"


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file of an earlier version up to :data:`SCHEMA_VERSION` (in the
    opening transaction). Version 0 locked an account for everyone: its lock
    columns of ``clerks`` and its table ``unknown_names`` are dropped (such a
    lock is lifted by the upgrade; the failures per address start afresh)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version >= SCHEMA_VERSION:
        return
    columns = {row[1] for row in conn.execute("PRAGMA table_info(clerks)")}
    for column in ("failures", "locks", "locked_until"):
        if column in columns:
            conn.execute(f"ALTER TABLE clerks DROP COLUMN {column}")
    conn.execute("DROP TABLE IF EXISTS unknown_names")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def check_name(name: str) -> str:
    """``name`` as a clerk name (trimmed), or :class:`WebError` ``web.bad-name``."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or printable(name) != name or name.startswith("-"):
        raise WebError(
            "web.bad-name",
            f"a clerk name is 1 to {MAX_NAME} printable characters, not starting with '-'",
            f"用户名应为 1 至 {MAX_NAME} 个可打印字符,且不以 '-' 开头",
        )
    return name


class ClerkAccounts:
    """The accounts, sessions and locks in the SQLite file ``path`` (made with
    mode 0600). One connection per thread, opened on first use in its process;
    ``clock`` gives seconds since the epoch (tests)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self._timeout = timeout
        self._local = threading.local()
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        with self._transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            _migrate(conn)
            if conn.execute("SELECT 1 FROM installation WHERE key = 'secret'").fetchone() is None:
                conn.execute(
                    "INSERT INTO installation (key, value) VALUES ('secret', ?)",
                    (secrets.token_hex(32),),
                )
        _dummy_hash()

    def __repr__(self) -> str:
        return f"ClerkAccounts(path={str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            self._local.conn = conn
            # WAL and shared-memory files get the main file's mode from SQLite.
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- the installation ---------------------------------------------------------------

    def secret(self) -> bytes:
        """The installation's random secret (32 bytes), made with the file."""
        row = (
            self._connection()
            .execute("SELECT value FROM installation WHERE key = 'secret'")
            .fetchone()
        )
        return bytes.fromhex(row[0])

    # -- accounts -------------------------------------------------------------------------

    def count(self) -> int:
        """How many clerk accounts there are."""
        return int(self._connection().execute("SELECT COUNT(*) FROM clerks").fetchone()[0])

    def add(self, name: str, unit_no: str, password: str) -> Clerk:
        """Create the account ``name`` of the employer ``unit_no``; raises
        :class:`WebError` (``web.bad-name``, ``web.bad-unit``,
        ``web.weak-password`` with the reason, ``web.name-taken``)."""
        name = check_name(name)
        unit_no = unit_no.strip()
        if not unit_no or len(unit_no) > 64 or printable(unit_no) != unit_no:
            raise WebError(
                "web.bad-unit",
                "give the employer's unit number with --unit (1 to 64 printable characters)",
                "请用 --unit 指定单位编号(1 至 64 个可打印字符)",
            )
        problem = password_problem(password, unit_no=unit_no)
        if problem is None and name.casefold() in password.casefold():
            problem = ("the new password contains the clerk's name", "新密码包含用户名")
        if problem is not None:
            raise WebError(
                "web.weak-password",
                f"{problem[0]}; choose another password",
                f"{problem[1]},请另选密码",
            )
        hashed = hash_password(password)
        created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM clerks WHERE name = ?", (name,)).fetchone():
                raise WebError(
                    "web.name-taken",
                    f"there is a clerk named {name!r} already; choose another name",
                    f"用户名 {name} 已存在,请另选用户名",
                )
            conn.execute(
                "INSERT INTO clerks (name, unit_no, password, created) VALUES (?, ?, ?, ?)",
                (name, unit_no, hashed, created),
            )
            # failures counted under the name before it was a clerk's are not the new clerk's
            conn.execute("DELETE FROM sign_in_locks WHERE name_hash = ?", (self._name_hash(name),))
        return Clerk(name=name, unit_no=unit_no)

    def unlock(self, name: str) -> None:
        """Lift the locks of ``name`` from every client address and forget its
        failures; raises :class:`WebError` ``web.unknown-clerk``."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM clerks WHERE name = ?", (name,)).fetchone() is None:
                raise WebError(
                    "web.unknown-clerk",
                    "there is no clerk of that name",
                    "没有该用户名的账户",
                )
            conn.execute("DELETE FROM sign_in_locks WHERE name_hash = ?", (self._name_hash(name),))

    # -- signing in -----------------------------------------------------------------------

    def sign_in(
        self, name: str, password: str, *, minutes: int, address: str
    ) -> tuple[str, WebSession]:
        """A new session of ``name`` for ``minutes``: ``(token, session)``; the
        token goes into the cookie (only its hash is kept). ``address`` is the
        client's (``request.remote_addr``): failures are counted and locked
        per (name, address) and per address. Raises :class:`WebError`
        ``web.invalid-credentials``, ``web.locked`` or
        ``web.too-many-attempts``; a failure is counted (and committed) before
        it is raised. A name no clerk has takes the same path (its password
        checked against a dummy hash, its failures counted and locked alike):
        no answer and no timing tells it from a clerk's."""
        address = _address(address)
        digest = self._name_hash(name)
        # The password is checked (scrypt: a fraction of a second) before the
        # write transaction, never inside it: a flood of sign-ins must not hold
        # the lock every sign-in, sign-out and lock of every process waits for.
        checked, good = self._check_password(name, digest, password, address)
        refusal: WebError | None = None
        with self._transaction() as conn:
            now = self.clock()
            refusal = self._refusal(conn, digest, address, now)
            if refusal is None:
                row = conn.execute(
                    "SELECT unit_no, password FROM clerks WHERE name = ?", (name,)
                ).fetchone()
                # the hash checked must still be the account's (failures and
                # locks are counted here, in the transaction, never lost)
                good = good and row is not None and row[1] == checked
                if row is None or not good:
                    refusal = self._fail(conn, digest, address, now)
                else:
                    # a good sign-in ends the doubling of this address's locks
                    conn.execute(
                        "DELETE FROM sign_in_locks WHERE name_hash = ? AND address = ?",
                        (digest, address),
                    )
                    token = secrets.token_urlsafe(32)
                    session = WebSession(
                        clerk=Clerk(name=name, unit_no=row[0]),
                        csrf=secrets.token_urlsafe(32),
                        expires_at=now + minutes * 60,
                        token_hash=_token_hash(token),
                    )
                    conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now,))
                    conn.execute(
                        "INSERT INTO web_sessions (token_hash, name, csrf, expires_at) "
                        "VALUES (?, ?, ?, ?)",
                        (session.token_hash, name, session.csrf, session.expires_at),
                    )
                    return token, session
        assert refusal is not None
        raise refusal

    def _refusal(
        self, conn: sqlite3.Connection, digest: str, address: str, now: float
    ) -> WebError | None:
        """The error refusing any password of the name ``digest`` from
        ``address`` now (too many failures from the address, the pair locked),
        else ``None``."""
        oldest, count = conn.execute(
            "SELECT MIN(at), COUNT(*) FROM sign_in_address_failures WHERE address = ? AND at > ?",
            (address, now - ADDRESS_WINDOW),
        ).fetchone()
        if count >= ADDRESS_LIMIT:
            return _too_many(oldest + ADDRESS_WINDOW - now)
        lock = conn.execute(
            "SELECT locked_until FROM sign_in_locks WHERE name_hash = ? AND address = ?",
            (digest, address),
        ).fetchone()
        if lock is not None and lock[0] > now:
            return _locked(lock[0] - now)
        return None

    def _check_password(
        self, name: str, digest: str, password: str, address: str
    ) -> tuple[str | None, bool]:
        """(the hash checked, whether ``password`` matches it), read outside any
        transaction; when the address or the pair is refused now, nothing is
        checked (as quick to refuse for any name), an unknown name against a
        dummy hash."""
        conn = self._connection()
        if self._refusal(conn, digest, address, self.clock()) is not None:
            return None, False
        row = conn.execute("SELECT password FROM clerks WHERE name = ?", (name,)).fetchone()
        stored = row[0] if row is not None else _dummy_hash()
        good = len(password) <= _MAX_PASSWORD and verify_password(password, stored)
        return (stored if row is not None else None), good

    def _name_hash(self, name: str) -> str:
        return hmac.new(
            self.secret(), name.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()

    def _fail(self, conn: sqlite3.Connection, digest: str, address: str, now: float) -> WebError:
        """Count a failed sign-in of the (name, address) pair and of the
        address; the error to answer. The same for a clerk's name and any other."""
        conn.execute("DELETE FROM sign_in_address_failures WHERE at <= ?", (now - ADDRESS_WINDOW,))
        conn.execute(
            "INSERT INTO sign_in_address_failures (address, at) VALUES (?, ?)", (address, now)
        )
        # pairs neither locked nor failing for the longest lock are forgotten
        # (made-up names would otherwise pile up)
        conn.execute(
            "DELETE FROM sign_in_locks WHERE last_at < ? AND locked_until < ?",
            (now - LOCK_MAX_SECONDS, now),
        )
        row = conn.execute(
            "SELECT failures, locks FROM sign_in_locks WHERE name_hash = ? AND address = ?",
            (digest, address),
        ).fetchone()
        failures, locks = (0, 0) if row is None else (int(row[0]), int(row[1]))
        failures += 1
        until = 0.0
        error = _invalid()
        if failures >= LOCK_AFTER:
            seconds = min(LOCK_SECONDS * 2**locks, LOCK_MAX_SECONDS)
            failures, locks, until = 0, locks + 1, now + seconds
            error = _locked(seconds)
        conn.execute(
            "INSERT INTO sign_in_locks (name_hash, address, failures, locks, locked_until, "
            "last_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name_hash, address) DO UPDATE SET "
            "failures = excluded.failures, locks = excluded.locks, "
            "locked_until = excluded.locked_until, last_at = excluded.last_at",
            (digest, address, failures, locks, until, now),
        )
        return error

    def session(self, token: str | None) -> WebSession | None:
        """The valid session of the cookie's ``token`` (``None``: none, unknown,
        revoked, expired)."""
        if not token or len(token) > 256:
            return None
        digest = _token_hash(token)
        row = (
            self._connection()
            .execute(
                "SELECT s.name, c.unit_no, s.csrf, s.expires_at FROM web_sessions s "
                "JOIN clerks c ON c.name = s.name WHERE s.token_hash = ?",
                (digest,),
            )
            .fetchone()
        )
        if row is None or row[3] <= self.clock():
            return None
        return WebSession(
            clerk=Clerk(name=row[0], unit_no=row[1]),
            csrf=row[2],
            expires_at=row[3],
            token_hash=digest,
        )

    def sign_out(self, session: WebSession) -> None:
        """Revoke the session (its cookie is worth nothing from now on)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (session.token_hash,))
