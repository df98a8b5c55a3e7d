"""A real bureau server process for tests (issue 11): ``pension-collect bureau
serve`` through the console script, under gunicorn, on 127.0.0.1 on a free
port, seeded from dossiers.

    from bureau_server import running_bureau, ready_session

    with running_bureau(tmp_path / "bureau", [dossier_path], sandbox=True) as bureau:
        bureau.url                 # "http://127.0.0.1:PORT"
        bureau.unit_nos            # ["10012345"]
        bureau.passwords           # {"10012345": "<initial password>"}
        token, password = ready_session(bureau, "10012345")   # initial password changed
        bureau.changed             # {"10012345": password}: the passwords ready_session set
        bureau.restart()           # same data folder, a new port (bureau.url changes)
        bureau.logs()              # the server's standard error so far
    # stopped (SIGTERM) here

For a module-scoped fixture use :func:`start_bureau` and ``bureau.stop()``.
The interface (names, arguments, attributes) is kept stable: the transport
and CLI tests import it. Only the standard library is used (no requests).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "NEW_PASSWORD",
    "WINDOW_TOKEN",
    "RunningBureau",
    "call",
    "console_script",
    "login",
    "ready_session",
    "running_bureau",
    "seed",
    "start_bureau",
]

#: The window token the helper gives a ``--sandbox`` server (tests only).
WINDOW_TOKEN = "test-window-token-5d1f0c9a7b"
#: The password :func:`ready_session` changes an initial password to (not common, long).
NEW_PASSWORD = "Weihai-collect-2013!"

_URL = re.compile(r"serving (https?://\S+)")
_PASSWORD = re.compile(r"^employer (\S+): initial password (\S+) ", re.MULTILINE)
_REGISTERED = re.compile(r"^employer (\S+): \d+ persons registered", re.MULTILINE)

DossierLike = str | os.PathLike[str] | Mapping[str, Any]


def console_script() -> str:
    """The ``pension-collect`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("pension-collect")
    if beside.exists():
        return str(beside)
    found = shutil.which("pension-collect")
    if found is None:
        raise RuntimeError("the pension-collect console script is not installed")
    return found


def _dossier_files(data_dir: Path, dossiers: Sequence[DossierLike]) -> list[str]:
    files = []
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    for i, dossier in enumerate(dossiers):
        if isinstance(dossier, Mapping):
            path = data_dir.with_name(f"{data_dir.name}-seed-{time.monotonic_ns()}-{i}.json")
            path.write_text(json.dumps(dossier, ensure_ascii=False), encoding="utf-8")
            files.append(str(path))
        else:
            files.append(os.fspath(dossier))
    return files


def seed(
    data_dir: str | os.PathLike[str],
    dossiers: Sequence[DossierLike],
    *,
    reset_password: bool = False,
) -> tuple[list[str], dict[str, str]]:
    """Run ``pension-collect bureau seed --data DIR DOSSIER...``; the unit numbers
    registered and the initial passwords printed (new accounts only)."""
    data = Path(data_dir)
    args = [console_script(), "bureau", "seed", "--data", str(data)]
    if reset_password:
        args.append("--reset-password")
    done = subprocess.run(
        [*args, *_dossier_files(data, dossiers)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bureau seed failed ({done.returncode}): {done.stderr.strip()}")
    units = list(dict.fromkeys(_REGISTERED.findall(done.stdout)))
    return units, dict(_PASSWORD.findall(done.stdout))


class RunningBureau:
    """A bureau server process (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        args: Sequence[str],
        env: Mapping[str, str],
        window_token: str | None,
        log_path: Path,
    ) -> None:
        self.data_dir = data_dir
        self.window_token = window_token
        self.log_path = log_path
        self.unit_nos: list[str] = []
        self.passwords: dict[str, str] = {}
        self.changed: dict[str, str] = {}
        self.url = ""
        self._args = list(args)
        self._env = dict(env)
        self.process: subprocess.Popen[str] | None = None

    def __repr__(self) -> str:
        return f"RunningBureau(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers ``/api/v1/health``."""
        if self.process is not None:
            raise RuntimeError("the bureau server is running already")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [console_script(), "bureau", "serve", "--data", str(self.data_dir), *self._args],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                env=self._env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                found = _URL.search(line)
                if found:
                    self.url = found.group(1)
                    break
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the bureau server ended ({self.process.returncode}): {self.logs()[-2000:]}"
                )
        else:
            self.stop()
            raise RuntimeError(f"the bureau server did not start: {self.logs()[-2000:]}")
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status, _, _ = call(self, "GET", "/api/v1/health", timeout=5)
                if status == 200:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the bureau server does not answer: {self.logs()[-2000:]}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the server (SIGTERM; SIGKILL after ``timeout``); its exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start again on the same data folder (the URL changes)."""
        self.stop()
        self.start(timeout)

    def seed(
        self, dossiers: Sequence[DossierLike], *, reset_password: bool = False
    ) -> dict[str, str]:
        """Seed more dossiers (the server may be running); the new initial passwords."""
        units, passwords = seed(self.data_dir, dossiers, reset_password=reset_password)
        self.unit_nos.extend(u for u in units if u not in self.unit_nos)
        self.passwords.update(passwords)
        return passwords

    def logs(self) -> str:
        """Everything the server wrote on standard error so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def start_bureau(
    data_dir: str | os.PathLike[str],
    dossiers: Sequence[DossierLike] = (),
    *,
    sandbox: bool = False,
    window_token: str | None = WINDOW_TOKEN,
    workers: int = 2,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> RunningBureau:
    """Seed ``dossiers`` (paths or dossier dictionaries) into ``data_dir`` and start
    the server there on 127.0.0.1, a free port; ``extra_args`` are more
    ``serve`` options (``--token-ttl 1``). Stop it with ``.stop()``."""
    data = Path(data_dir)
    environ = dict(os.environ if env is None else env)
    environ.pop("PENSION_COLLECT_BUREAU_WINDOW_TOKEN", None)
    args = ["--host", "127.0.0.1", "--port", "0", "--workers", str(workers), *extra_args]
    if sandbox:
        args.append("--sandbox")
        if window_token is not None:
            environ["PENSION_COLLECT_BUREAU_WINDOW_TOKEN"] = window_token
    bureau = RunningBureau(
        data,
        args=args,
        env=environ,
        window_token=window_token if sandbox else None,
        log_path=data.with_name(f"{data.name}-server.log"),
    )
    if dossiers:
        bureau.seed(dossiers)
    bureau.start(timeout)
    return bureau


@contextlib.contextmanager
def running_bureau(
    data_dir: str | os.PathLike[str], dossiers: Sequence[DossierLike] = (), **options: Any
) -> Iterator[RunningBureau]:
    """:func:`start_bureau` as a context manager (stopped at the end)."""
    bureau = start_bureau(data_dir, dossiers, **options)
    try:
        yield bureau
    finally:
        bureau.stop()


def call(
    bureau: RunningBureau | str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], Any]:
    """One request (standard library only): status, headers (lower-cased names)
    and the JSON body (``None`` when empty). ``body`` is sent as JSON, ``data``
    as it is."""
    base = bureau if isinstance(bureau, str) else bureau.url
    sent = dict(headers or {})
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        sent.setdefault("Content-Type", "application/json")
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, got, raw = answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as exc:
        status, got, raw = exc.code, dict(exc.headers.items()), exc.read()
    lowered = {k.lower(): v for k, v in got.items()}
    return status, lowered, json.loads(raw) if raw else None


def login(bureau: RunningBureau | str, unit_no: str, password: str) -> dict[str, Any]:
    """``POST /api/v1/session``; the answer's body (raises unless 200)."""
    status, _, answer = call(
        bureau, "POST", "/api/v1/session", {"unit_no": unit_no, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"login failed: {status} {answer}")
    assert isinstance(answer, dict)
    return answer


def ready_session(
    bureau: RunningBureau, unit_no: str, new_password: str = NEW_PASSWORD
) -> tuple[str, str]:
    """Log in with the employer's initial password and change it to
    ``new_password`` (remembered in ``bureau.changed``); the new token and the
    password. An employer whose password :func:`ready_session` changed already
    logs in with it."""
    if unit_no in bureau.changed:
        password = bureau.changed[unit_no]
        return login(bureau, unit_no, password)["token"], password
    initial = bureau.passwords[unit_no]
    first = login(bureau, unit_no, initial)
    status, _, answer = call(
        bureau,
        "POST",
        "/api/v1/password",
        {"old_password": initial, "new_password": new_password},
        token=first["token"],
    )
    if status != 200:
        raise RuntimeError(f"password change failed: {status} {answer}")
    bureau.changed[unit_no] = new_password
    return answer["token"], new_password
