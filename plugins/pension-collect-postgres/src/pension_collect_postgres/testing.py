"""A throwaway PostgreSQL server for tests and benchmarks.

:class:`ThrowawayServer` makes a cluster in a new temporary directory
(``initdb``), starts it (``pg_ctl``) on a free port of 127.0.0.1 with its
Unix socket in the same directory, creates an ordinary role (not a superuser,
so row-level security applies to it) with a random password and a database
it owns, and writes the password to a passfile there: the URLs it gives
(:meth:`ThrowawayServer.url`) hold no password, only ``passfile=``. ``stop()``
stops the server and removes the directory.

PostgreSQL refuses to run as root. Run as root, the server runs as the
system user ``postgres`` (there when Debian's server package is installed) or,
failing that, a system user ``pcpg`` created with ``useradd``.

The binaries are found by :func:`find_bindir`: ``$PENSION_COLLECT_PG_BINDIR``,
then ``pg_config --bindir``, then ``/usr/lib/postgresql/<version>/bin``
(newest first), then ``initdb`` on ``PATH``.

:func:`shared_server` is one server per process, started on first use and
stopped when the process exits; :func:`fresh_url` gives a URL on it with a
schema of its own, i.e. an empty store.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql

__all__ = [
    "BINDIR_ENV",
    "NO_SERVER",
    "ThrowawayServer",
    "find_bindir",
    "fresh_url",
    "shared_server",
]

#: Environment variable naming the directory of initdb, pg_ctl and postgres.
BINDIR_ENV = "PENSION_COLLECT_PG_BINDIR"

#: Why the PostgreSQL tests cannot run here (the message of their skip).
NO_SERVER = (
    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: install Debian's "
    f"postgresql package, or set {BINDIR_ENV} to the directory that holds them"
)

_TOOLS = ("initdb", "pg_ctl", "postgres")
_SERVER_USER = "pcpg"


def _has_tools(path: Path) -> bool:
    return all(os.access(path / tool, os.X_OK) for tool in _TOOLS)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The directory of the PostgreSQL server binaries, or ``None``."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(Path(os.environ[BINDIR_ENV]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    return next((c for c in candidates if _has_tools(c)), None)


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as: ``None`` (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _SERVER_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            _SERVER_USER,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(_SERVER_USER)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ThrowawayServer:
    """A PostgreSQL cluster in a temporary directory, for tests and benchmarks.

    ``durable=False`` (the default, for tests) turns ``fsync`` off: a killed
    client still leaves every transaction whole or absent, only a crash of
    the machine could lose data. Benchmarks pass ``durable=True`` to measure
    what a real server does on commit. ``role`` is the ordinary role the URLs
    connect as; ``password`` is its password (in the passfile, never in a URL).
    """

    role = "clerk"
    dbname = "pension_collect"
    superuser = "postgres"

    def __init__(
        self, *, durable: bool = False, bindir: Path | None = None, max_connections: int = 200
    ) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise RuntimeError(NO_SERVER)
        self.bindir = found
        self.durable = durable
        self.max_connections = max_connections
        self.password = secrets.token_hex(16)
        self.port = 0
        self.dir: Path | None = None
        self._user = _server_user()
        self._owner_pid = os.getpid()

    def __repr__(self) -> str:
        return f"ThrowawayServer(port={self.port}, dir={str(self.dir)!r})"

    # -- running the server's programs -------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.dir is not None
        kwargs: dict[str, Any] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
            **kwargs,
        )

    @property
    def data_dir(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    @property
    def passfile(self) -> Path:
        assert self.dir is not None
        return self.dir / "pgpass"

    def start(self) -> ThrowawayServer:
        """initdb, start on a free port, create the role and the database."""
        self.dir = Path(tempfile.mkdtemp(prefix="pension-pg-"))
        try:
            if self._user is not None:
                os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)
            os.chmod(self.dir, 0o755)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-locale",
                "--encoding=UTF8",
                "--no-sync",
            )
            self._start_on_a_free_port()
            self._create_role_and_database()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_a_free_port(self) -> None:
        last = ""
        for _ in range(5):
            self.port = _free_port()
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.dir}'",
                "max_connections": str(self.max_connections),
                "fsync": "on" if self.durable else "off",
                "synchronous_commit": "on" if self.durable else "off",
                "full_page_writes": "on" if self.durable else "off",
                "log_min_messages": "warning",
            }
            text = "".join(f"{k} = {v}\n" for k, v in settings.items())
            (self.data_dir / "postgresql.auto.conf").write_text(text, encoding="utf-8")
            log = str(self.data_dir.parent / "server.log")
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                log,
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if done.returncode == 0:
                return
            last = done.stdout + done.stderr
        raise RuntimeError(f"the throwaway PostgreSQL server did not start: {last.strip()}")

    def admin(self) -> psycopg.Connection[Any]:
        """A connection as the superuser, over the Unix socket (autocommit)."""
        return psycopg.connect(
            host=str(self.dir),
            port=self.port,
            user=self.superuser,
            dbname="postgres",
            autocommit=True,
        )

    def _create_role_and_database(self) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.role), sql.Literal(self.password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(self.dbname), sql.Identifier(self.role)
                )
            )
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"127.0.0.1:{self.port}:{self.dbname}:{self.role}:{self.password}\n")

    def url(self, schema: str | None = None, **params: str) -> str:
        """A ``postgresql://`` URL as the ordinary role, password from the passfile;
        ``schema`` and other query parameters added as given."""
        query: dict[str, str] = {"passfile": str(self.passfile)}
        if schema is not None:
            query["schema"] = schema
        query.update(params)
        return (
            f"postgresql://{quote(self.role)}@127.0.0.1:{self.port}/{quote(self.dbname)}?"
            + urlencode(query)
        )

    def fresh_url(self, **params: str) -> str:
        """A URL with a schema no one has used yet: an empty store."""
        return self.url(schema=f"t_{secrets.token_hex(6)}", **params)

    def stop(self) -> None:
        """Stop the server (at once: nothing in it is kept) and remove its directory."""
        if os.getpid() != self._owner_pid or self.dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False
            )
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> ThrowawayServer:
        return self.start() if self.dir is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: ThrowawayServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> ThrowawayServer:
    """This process's throwaway server, started on first use and stopped at exit.

    Raises :class:`RuntimeError` (with :data:`NO_SERVER`) where there are no
    PostgreSQL binaries.
    """
    global _shared
    with _shared_lock:
        if _shared is None or _shared.dir is None:
            server = ThrowawayServer().start()
            atexit.register(server.stop)
            _shared = server
        return _shared


def fresh_url(**params: str) -> str:
    """A URL for an empty store (a new schema) on :func:`shared_server`."""
    return shared_server().fresh_url(**params)
