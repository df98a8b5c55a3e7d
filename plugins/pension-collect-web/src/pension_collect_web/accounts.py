"""The clerk accounts of the web front end (docs/web.md "Security model").

:class:`ClerkAccounts` keeps, in one SQLite file of its own (mode 0600,
``--accounts``, default ``pension-collect-web.db``):

- ``clerks``: name, unit number (the employer the clerk works for), the
  scrypt hash of the password (:func:`pension_collect.server.auth.hash_password`),
  when made, failed sign-ins in a row and the lock;
- ``web_sessions``: one row per sign-in: the SHA-256 of the random session
  token (the cookie holds the token, the file only its hash), the clerk, the
  CSRF token of the session's forms, when it expires;
- ``installation``: the installation's random secret (worker references,
  Flask's signed flash messages).

Five failed sign-ins in a row lock an account (or a name no clerk has: the
table ``unknown_names``) for a minute, each further lock
twice as long (at most a day); ``pension-collect web unlock NAME`` lifts it.
Every change is one ``BEGIN IMMEDIATE`` transaction, so every gunicorn worker
sees the same accounts, sessions and locks.
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
#: Failed sign-ins in a row that lock an account; the first lock's seconds; the longest.
LOCK_AFTER, LOCK_SECONDS, LOCK_MAX_SECONDS = 5, 60.0, 86400.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS clerks (
        name TEXT PRIMARY KEY,
        unit_no TEXT NOT NULL,
        password TEXT NOT NULL,
        created TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locks INTEGER NOT NULL DEFAULT 0,
        locked_until REAL NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS web_sessions (
        token_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS web_sessions_name ON web_sessions (name)",
    "CREATE TABLE IF NOT EXISTS installation (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Failed sign-ins under names no clerk has, kept as a real account's are
    # (so a lock tells nothing about which names exist); the name only as an
    # HMAC under the installation's secret; forgotten a day after the last try.
    """CREATE TABLE IF NOT EXISTS unknown_names (
        name_hash TEXT PRIMARY KEY,
        failures INTEGER NOT NULL DEFAULT 0,
        locks INTEGER NOT NULL DEFAULT 0,
        locked_until REAL NOT NULL DEFAULT 0,
        seen REAL NOT NULL
    )""",
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
        f"the account is locked after {LOCK_AFTER} failed sign-ins; try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask the administrator "
        "('pension-collect web unlock NAME')",
        f"连续 {LOCK_AFTER} 次登录失败,账户已锁定;请在 {minutes} 分钟后重试,"
        "或请管理员解锁('pension-collect web unlock 用户名')",
        retry_after=max(1, math.ceil(seconds)),
    )


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
        return Clerk(name=name, unit_no=unit_no)

    def unlock(self, name: str) -> None:
        """Lift the lock of ``name`` and forget its failures; raises
        :class:`WebError` ``web.unknown-clerk``."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE clerks SET failures = 0, locks = 0, locked_until = 0 WHERE name = ?",
                (name,),
            )
            if cur.rowcount == 0:
                raise WebError(
                    "web.unknown-clerk",
                    "there is no clerk of that name",
                    "没有该用户名的账户",
                )

    # -- signing in -----------------------------------------------------------------------

    def sign_in(self, name: str, password: str, *, minutes: int) -> tuple[str, WebSession]:
        """A new session of ``name`` for ``minutes``: ``(token, session)``; the
        token goes into the cookie (only its hash is kept). Raises
        :class:`WebError` ``web.invalid-credentials`` or ``web.locked``; a
        failure is counted (and committed) before it is raised."""
        # The password is checked (scrypt: a fraction of a second) before the
        # write transaction, never inside it: a flood of sign-ins must not hold
        # the lock every sign-in, sign-out and lock of every process waits for.
        checked, good = self._check_password(name, password)
        refusal: WebError | None = None
        with self._transaction() as conn:
            now = self.clock()
            row = conn.execute(
                "SELECT unit_no, password, failures, locks, locked_until FROM clerks "
                "WHERE name = ?",
                (name,),
            ).fetchone()
            ghost = None if row is not None else self._unknown_name(conn, name, now)
            if row is not None and row[4] > now:
                refusal = _locked(row[4] - now)
            elif ghost is not None and ghost[3] > now:
                refusal = _locked(ghost[3] - now)
            else:
                # the hash checked must still be the account's (failures and
                # locks are counted here, in the transaction, never lost)
                good = good and row is not None and row[1] == checked
                if ghost is not None:
                    refusal = self._fail(
                        conn, ghost[0], ghost[1] + 1, ghost[2], now, table="unknown_names"
                    )
                elif row is None:
                    refusal = _invalid()
                elif not good:
                    refusal = self._fail(conn, name, row[2] + 1, row[3], now)
                else:
                    conn.execute(
                        "UPDATE clerks SET failures = 0, locks = 0, locked_until = 0 "
                        "WHERE name = ?",
                        (name,),
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

    def _check_password(self, name: str, password: str) -> tuple[str | None, bool]:
        """(the hash checked, whether ``password`` matches it), read outside any
        transaction; a locked account or name is not checked at all (as
        quick to refuse as before), an unknown name against a dummy hash."""
        conn = self._connection()
        now = self.clock()
        row = conn.execute(
            "SELECT password, locked_until FROM clerks WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            ghost = conn.execute(
                "SELECT locked_until FROM unknown_names WHERE name_hash = ?",
                (self._name_hash(name),),
            ).fetchone()
            locked = ghost is not None and ghost[0] > now
        else:
            locked = row[1] > now
        if locked:
            return None, False
        stored = row[0] if row is not None else _dummy_hash()
        good = len(password) <= _MAX_PASSWORD and verify_password(password, stored)
        return (stored if row is not None else None), good

    def _name_hash(self, name: str) -> str:
        return hmac.new(
            self.secret(), name.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()

    def _unknown_name(
        self, conn: sqlite3.Connection, name: str, now: float
    ) -> tuple[str, int, int, float]:
        """The failures kept for ``name``, no clerk's: (its hash, failures,
        locks, locked until); made on the first try, forgotten a day after
        the last one (with every other such name's)."""
        digest = self._name_hash(name)
        conn.execute(
            "DELETE FROM unknown_names WHERE seen < ? AND locked_until < ?",
            (now - LOCK_MAX_SECONDS, now),
        )
        conn.execute(
            "INSERT INTO unknown_names (name_hash, seen) VALUES (?, ?) "
            "ON CONFLICT (name_hash) DO UPDATE SET seen = excluded.seen",
            (digest, now),
        )
        found = conn.execute(
            "SELECT failures, locks, locked_until FROM unknown_names WHERE name_hash = ?",
            (digest,),
        ).fetchone()
        return digest, int(found[0]), int(found[1]), float(found[2])

    def _fail(
        self,
        conn: sqlite3.Connection,
        name: str,
        failures: int,
        locks: int,
        now: float,
        *,
        table: str = "clerks",
    ) -> WebError:
        where = "name" if table == "clerks" else "name_hash"
        if failures < LOCK_AFTER:
            conn.execute(f"UPDATE {table} SET failures = ? WHERE {where} = ?", (failures, name))
            return _invalid()
        seconds = min(LOCK_SECONDS * 2**locks, LOCK_MAX_SECONDS)
        conn.execute(
            f"UPDATE {table} SET failures = 0, locks = locks + 1, locked_until = ? "
            f"WHERE {where} = ?",
            (now + seconds, name),
        )
        return _locked(seconds)

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
