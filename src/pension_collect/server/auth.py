"""Accounts, passwords, failed-login limits and tokens of the bureau server
(docs/bureau-server.md, "Security").

The state is kept in the bureau's own SQLite file (``DIR/bureau.db``), in the
tables ``auth_accounts``, ``auth_tokens``, ``auth_address_failures`` and
``auth_locks``,
through a connection of this module's own, so every gunicorn worker process
sees the same accounts, locks and tokens. Every change is one ``BEGIN
IMMEDIATE`` transaction.

- Passwords: :func:`hash_password` (``hashlib.scrypt``, a random salt per
  password, the parameters stored with the hash), checked by
  :func:`verify_password` with ``hmac.compare_digest``; an unknown unit is
  checked against a dummy hash, so its answer takes as long as a wrong password.
- New passwords: :func:`password_problem` (the most common passwords, too
  short, one character repeated, a run of digits, the unit number, the old one).
- Failed logins: per (unit number, client address), :attr:`AuthSettings.lock_after`
  failures in a row lock that pair (423, doubling each time): the employer's own
  address keeps logging in, and a unit number without an account locks alike
  (it cannot be told from a real one); per client address, more than
  :attr:`AuthSettings.address_limit` failures within
  :attr:`AuthSettings.address_window` seconds slow it down (429).
- Tokens: random (``secrets``), stored as their SHA-256 only, expiring after
  :attr:`AuthSettings.token_ttl` seconds, revoked by logout and by a password change.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import itertools
import math
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from importlib import resources
from pathlib import Path

import attrs

from ..identity import is_valid
from .errors import ApiError

__all__ = [
    "AuthSettings",
    "AuthStore",
    "Grant",
    "TokenInfo",
    "common_passwords",
    "hash_password",
    "new_initial_password",
    "password_problem",
    "verify_password",
]

#: scrypt's cost parameters for new hashes (n, r, p); about 16 MiB and some
#: 50 ms a hash. Old hashes keep the parameters stored with them.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_KEY_BYTES = 32
#: Longer passwords are refused without being hashed (a password of megabytes
#: would be an attack on the CPU, not a password).
MAX_PASSWORD = 1024
MIN_PASSWORD = 10

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS auth_accounts (
        unit_no TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        must_change INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS auth_tokens (
        token_hash TEXT PRIMARY KEY,
        unit_no TEXT NOT NULL,
        must_change INTEGER NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS auth_tokens_unit ON auth_tokens (unit_no)",
    "CREATE TABLE IF NOT EXISTS auth_address_failures (address TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS auth_address_failures_at ON auth_address_failures (address, at)",
    # Failed logins per (unit number, client address), whether or not the unit has
    # an account: a lock set from one address never locks out another, and a
    # made-up unit number locks exactly as a real one (no way to tell them apart).
    """CREATE TABLE IF NOT EXISTS auth_locks (
        unit_no TEXT NOT NULL,
        address TEXT NOT NULL,
        failures INTEGER NOT NULL,
        locks INTEGER NOT NULL,
        locked_until REAL NOT NULL,
        last_at REAL NOT NULL,
        PRIMARY KEY (unit_no, address)
    )""",
    "CREATE INDEX IF NOT EXISTS auth_locks_last ON auth_locks (last_at)",
)


@attrs.frozen(kw_only=True)
class AuthSettings:
    """The server's authentication limits (``pension-collect bureau serve`` options)."""

    token_ttl: float = 900.0
    """Seconds a token lives (``--token-ttl``; 15 minutes)."""
    lock_after: int = 5
    """Failed logins in a row, of one unit number from one client address, that
    lock that unit number for that address."""
    lock_seconds: float = 60.0
    """The first lock's length; each further lock doubles it."""
    lock_max_seconds: float = 86400.0
    """The longest lock (one day)."""
    address_limit: int = 20
    """Failed logins from one client address within :attr:`address_window` that
    slow it down (``--address-limit``)."""
    address_window: float = 300.0
    """The window of :attr:`address_limit`, in seconds."""


@attrs.frozen(kw_only=True)
class Grant:
    """A token given by a login or a password change (the body of the answer)."""

    token: str = attrs.field(repr=False)
    expires_at: float
    must_change_password: bool

    def to_dict(self) -> dict[str, object]:
        """``{"token", "expires_at", "must_change_password"}`` (``expires_at`` ISO 8601, UTC)."""
        when = _dt.datetime.fromtimestamp(self.expires_at, _dt.UTC).replace(microsecond=0)
        return {
            "token": self.token,
            "expires_at": when.isoformat(),
            "must_change_password": self.must_change_password,
        }


@attrs.frozen(kw_only=True)
class TokenInfo:
    """Who a valid token speaks for."""

    unit_no: str
    must_change_password: bool
    token_hash: str = attrs.field(repr=False)


# -- passwords -----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_KEY_BYTES,
    )


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key`` (salt and key in base64): a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` (a :func:`hash_password` text)
    was made from, compared in constant time; a damaged hash matches nothing."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of the most common passwords (``common-passwords.txt``,
    lower-cased), refused as new passwords."""
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _digit_run(password: str) -> bool:
    """Digits each one more, or each one less, than the one before (``0123456789``,
    ``9876543210``, wrapping ``7890123``)."""
    if not password.isascii() or not password.isdigit() or len(password) < 2:
        return False
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(password)}
    return steps in ({1}, {9})


def password_problem(new: str, *, unit_no: str, old: str | None = None) -> tuple[str, str] | None:
    """Why ``new`` is refused as a password, ``(English, Chinese)``, or ``None``."""
    folded = new.casefold()
    if len(new) < MIN_PASSWORD:
        return (
            f"the new password is shorter than {MIN_PASSWORD} characters",
            f"新密码少于 {MIN_PASSWORD} 个字符",
        )
    if len(new) > MAX_PASSWORD:
        return (
            f"the new password is longer than {MAX_PASSWORD} characters",
            f"新密码超过 {MAX_PASSWORD} 个字符",
        )
    if folded in common_passwords():
        return (
            "the new password is one of the most common passwords",
            "新密码是最常用的密码之一",
        )
    if len(set(new)) == 1 or _digit_run(new):
        return (
            "the new password is one character repeated or a run of digits",
            "新密码是同一字符重复或连续数字",
        )
    if is_valid(new.strip()):
        return (
            "the new password is an identity number (personal data others know)",
            "新密码是公民身份号码(他人可能知道的个人信息)",
        )
    if unit_no and unit_no.casefold() in folded:
        return ("the new password contains the unit number", "新密码包含单位编号")
    if old is not None and hmac.compare_digest(
        new.encode("utf-8", "surrogatepass"), old.encode("utf-8", "surrogatepass")
    ):
        return ("the new password is the old one", "新密码与原密码相同")
    return None


def new_initial_password() -> str:
    """A random initial password (16 characters from ``secrets``) that passes
    :func:`password_problem`."""
    while True:
        password = secrets.token_urlsafe(12)
        if password_problem(password, unit_no="") is None:
            return password


# -- errors ---------------------------------------------------------------------------------------


def _invalid_credentials() -> ApiError:
    return ApiError(
        401,
        "auth.invalid-credentials",
        "the unit number or the password is wrong",
        "单位编号或密码错误",
    )


def _locked(seconds: float) -> ApiError:
    return ApiError(
        423,
        "auth.locked",
        "the account is locked after repeated failed logins; try again after retry_after "
        "seconds, or ask the bureau to reset the password",
        "多次登录失败,账户已锁定;请在 retry_after 秒后重试,或请经办机构重置密码",
        retry_after=max(1, math.ceil(seconds)),
    )


def _too_many(seconds: float) -> ApiError:
    return ApiError(
        429,
        "auth.too-many-attempts",
        "too many failed logins from this address; try again after retry_after seconds",
        "该地址登录失败次数过多,请在 retry_after 秒后重试",
        retry_after=max(1, math.ceil(seconds)),
    )


# -- the store ------------------------------------------------------------------------------------


class AuthStore:
    """The accounts and tokens in ``path`` (the bureau's SQLite file).

    One connection per thread, opened on first use in that process (a
    gunicorn worker never uses its parent's). ``clock`` gives seconds since
    the epoch (tests)."""

    def __init__(
        self,
        path: str | Path,
        settings: AuthSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.settings = settings or AuthSettings()
        self.clock = clock
        self._timeout = timeout
        self._local = threading.local()
        with self._transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
        _dummy_hash()  # made now, so that the first unknown unit takes no longer than the next

    def __repr__(self) -> str:
        return f"AuthStore(path={str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
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

    # -- accounts ----------------------------------------------------------------------------

    def has_account(self, unit_no: str) -> bool:
        """Whether the employer has an account."""
        row = (
            self._connection()
            .execute("SELECT 1 FROM auth_accounts WHERE unit_no = ?", (unit_no,))
            .fetchone()
        )
        return row is not None

    def set_initial_password(self, unit_no: str) -> str:
        """Give the employer a new random initial password (it must be changed at
        the first login) and return it; every token of the account is revoked,
        its locks (from every address) lifted."""
        password = new_initial_password()
        hashed = hash_password(password)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO auth_accounts (unit_no, password, must_change) VALUES (?, ?, 1) "
                "ON CONFLICT (unit_no) DO UPDATE SET password = excluded.password, "
                "must_change = 1",
                (unit_no, hashed),
            )
            conn.execute("DELETE FROM auth_tokens WHERE unit_no = ?", (unit_no,))
            conn.execute("DELETE FROM auth_locks WHERE unit_no = ?", (unit_no,))
        return password

    # -- logging in ---------------------------------------------------------------------------

    def _address_check(self, conn: sqlite3.Connection, address: str, now: float) -> None:
        window = self.settings.address_window
        conn.execute("DELETE FROM auth_address_failures WHERE at <= ?", (now - window,))
        count, oldest = conn.execute(
            "SELECT COUNT(*), MIN(at) FROM auth_address_failures WHERE address = ?", (address,)
        ).fetchone()
        if count >= self.settings.address_limit:
            raise _too_many(oldest + window - now)

    def _fail(self, conn: sqlite3.Connection, unit_no: str, address: str, now: float) -> ApiError:
        """Count a failed login of the (unit number, address) pair and of the
        address; the error to answer. The same for a unit number with an
        account and one without."""
        conn.execute(
            "INSERT INTO auth_address_failures (address, at) VALUES (?, ?)", (address, now)
        )
        # pairs neither locked nor failing for the longest lock are forgotten
        # (made-up unit numbers would otherwise pile up)
        conn.execute(
            "DELETE FROM auth_locks WHERE last_at < ? AND locked_until < ?",
            (now - self.settings.lock_max_seconds, now),
        )
        row = conn.execute(
            "SELECT failures, locks FROM auth_locks WHERE unit_no = ? AND address = ?",
            (unit_no, address),
        ).fetchone()
        failures, locks = (0, 0) if row is None else row
        failures += 1
        until = 0.0
        error = _invalid_credentials()
        if failures >= self.settings.lock_after:
            seconds = min(self.settings.lock_seconds * 2**locks, self.settings.lock_max_seconds)
            failures, locks, until = 0, locks + 1, now + seconds
            error = _locked(seconds)
        conn.execute(
            "INSERT INTO auth_locks (unit_no, address, failures, locks, locked_until, last_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (unit_no, address) DO UPDATE SET "
            "failures = excluded.failures, locks = excluded.locks, "
            "locked_until = excluded.locked_until, last_at = excluded.last_at",
            (unit_no, address, failures, locks, until, now),
        )
        return error

    def _check_password(
        self, conn: sqlite3.Connection, unit_no: str, password: str, address: str
    ) -> bool:
        """Check the password of ``unit_no`` from ``address`` (limits first);
        raises the error to answer, or returns whether the account must change
        its password. A unit number without an account takes the same path
        (its password checked against a dummy hash), so no answer and no
        timing tells it from a real one."""
        now = self.clock()
        self._address_check(conn, address, now)
        lock = conn.execute(
            "SELECT locked_until FROM auth_locks WHERE unit_no = ? AND address = ?",
            (unit_no, address),
        ).fetchone()
        if lock is not None and lock[0] > now:
            raise _locked(lock[0] - now)
        row = conn.execute(
            "SELECT password, must_change FROM auth_accounts WHERE unit_no = ?", (unit_no,)
        ).fetchone()
        stored = row[0] if row is not None else _dummy_hash()
        good = len(password) <= MAX_PASSWORD and verify_password(password, stored)
        if row is None or not good:
            raise self._fail(conn, unit_no, address, now)
        # a good login ends the doubling of this address's locks
        conn.execute("DELETE FROM auth_locks WHERE unit_no = ? AND address = ?", (unit_no, address))
        return bool(row[1])

    def _raise_after_commit(self, action: Callable[[sqlite3.Connection], Grant]) -> Grant:
        """Run ``action`` in a transaction; a refusal keeps what it counted (the
        failure is committed before the error is answered)."""
        refusal: ApiError | None = None
        with self._transaction() as conn:
            try:
                return action(conn)
            except ApiError as exc:
                refusal = exc
        raise refusal

    def login(self, unit_no: str, password: str, *, address: str) -> Grant:
        """A token for the unit number and password; raises :class:`ApiError`
        (401 ``auth.invalid-credentials``, 423 ``auth.locked``, 429
        ``auth.too-many-attempts``)."""

        def action(conn: sqlite3.Connection) -> Grant:
            must_change = self._check_password(conn, unit_no, password, address)
            return self._grant(conn, unit_no, must_change)

        return self._raise_after_commit(action)

    def change_password(self, who: TokenInfo, old: str, new: str, *, address: str) -> Grant:
        """Change the password of the token's account: a new token, every other
        token revoked. Raises :class:`ApiError` (400 ``auth.weak-password``, 401
        ``auth.invalid-credentials``, 423, 429)."""

        def action(conn: sqlite3.Connection) -> Grant:
            self._check_password(conn, who.unit_no, old, address)
            problem = password_problem(new, unit_no=who.unit_no, old=old)
            if problem is not None:
                raise ApiError(
                    400,
                    "auth.weak-password",
                    f"{problem[0]}; choose another password",
                    f"{problem[1]},请另选密码",
                )
            conn.execute(
                "UPDATE auth_accounts SET password = ?, must_change = 0 WHERE unit_no = ?",
                (hash_password(new), who.unit_no),
            )
            conn.execute("DELETE FROM auth_tokens WHERE unit_no = ?", (who.unit_no,))
            return self._grant(conn, who.unit_no, False)

        return self._raise_after_commit(action)

    def _grant(self, conn: sqlite3.Connection, unit_no: str, must_change: bool) -> Grant:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        expires = now + self.settings.token_ttl
        # Tokens expired for a day are forgotten (until then they are 'expired', not 'invalid').
        conn.execute("DELETE FROM auth_tokens WHERE expires_at < ?", (now - 86400,))
        conn.execute(
            "INSERT INTO auth_tokens (token_hash, unit_no, must_change, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (_token_hash(token), unit_no, int(must_change), expires),
        )
        return Grant(token=token, expires_at=expires, must_change_password=must_change)

    # -- tokens --------------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> TokenInfo:
        """Who ``token`` speaks for; raises :class:`ApiError` 401
        (``auth.missing-token``, ``auth.invalid-token``, ``auth.token-expired``)."""
        if not token:
            raise ApiError(
                401,
                "auth.missing-token",
                "this call needs a token: log in (POST /api/v1/session) and send "
                "'Authorization: Bearer <token>'",
                "需要令牌:请先登录,并在请求头中提供令牌",
            )
        digest = _token_hash(token)
        row = (
            self._connection()
            .execute(
                "SELECT unit_no, must_change, expires_at FROM auth_tokens WHERE token_hash = ?",
                (digest,),
            )
            .fetchone()
        )
        if row is None:
            raise ApiError(
                401,
                "auth.invalid-token",
                "the token is unknown or was revoked; log in again",
                "令牌无效或已撤销,请重新登录",
            )
        if row[2] <= self.clock():
            raise ApiError(
                401,
                "auth.token-expired",
                "the token has expired; log in again",
                "令牌已过期,请重新登录",
            )
        return TokenInfo(unit_no=row[0], must_change_password=bool(row[1]), token_hash=digest)

    def revoke(self, who: TokenInfo) -> None:
        """Revoke the token (logout)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM auth_tokens WHERE token_hash = ?", (who.token_hash,))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
