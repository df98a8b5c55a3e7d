"""``pension-collect demo [--out DIR]``: the whole collection loop on the example dossier.

The bundled example dossier's employer is carried through every step with a
SQLite store in DIR and the reference bureau in-process, as the sheet tells
it ([P3] .. [P3.7]). The bureau is seeded from the dossier's ``bureau`` blocks
with two faults only it knows:

* one worker's account was settled (养老账户已结清) and never un-settled, so
  the sync shows no account years for them and the save is refused
  ([P3.4e], ``account.not-in-bureau``): the account is un-settled at the
  bureau window, the employer syncs again, prints a new verification form and
  collects the worker;
* another worker is taken over by another employer at the bureau while the
  collection runs, so the bureau fails them (``bureau.other-employer``) and
  the first declaration partly succeeds; the transfer is done at the window,
  the employer syncs again, prints a new verification form, collects exactly
  that worker again and resubmits, linked to the first declaration
  ([P3.7]); the second declaration succeeds.

Every step is printed with its procedure paragraph and name in Chinese and
English; DIR/result.json records every declaration's final status and
per-worker outcomes (docs/workflow.md).

With ``--http`` (:func:`run_demo` ``http=True``) the same collection goes
over HTTP: the demo seeds the bureau's state in ``DIR/bureau/``, starts
``pension-collect bureau serve --sandbox`` on a free loopback port in a
child process (a window token it generates, given to the child in its
environment), logs in with the initial password, changes it (the
transport never does by itself), and does the bureau window's part through
the sandbox endpoints; the child is stopped at the end, on an error and on
Ctrl-C too. result.json names the transport (``"transport": "http"`` or
``"local"``).

DIR is the demo's own: it must be new, empty, or hold nothing but the demo's
earlier output, which it recognises positively (:func:`check_demo_folder`):
the marker file ``.pension-collect-demo`` it writes first (or an earlier
run's ``result.json`` with its format tag), the store ``collection.db`` whose
records are all the example employer's and whose audit log names only the
demo's clerk, the numbered forms in ``forms/``. Anything else and the demo
refuses the folder (:class:`DemoFolderRefused`) and touches nothing: it never
deletes a store it did not create.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib.util
import json
import os
import re
import secrets
import select
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TextIO

from .._files import atomic_write, ensure_folder, is_temporary_name
from ..adapters.http_transport import HttpTransport
from ..adapters.reference_bureau import ReferenceBureau
from ..adapters.sqlite import APPLICATION_ID
from ..dossier import example_dossier_text, loads
from ..errors import PensionCollectError
from ..identity import mask
from ..model import Dossier
from ..plugins import PluginHost
from ..ports.transport import PasswordChangeRequired, Transport
from ..workflow.guards import RuleErrors
from ..workflow.printing import FormsPrinted
from ..workflow.records import StoredDeclaration, WorkerStatus
from ..workflow.session import CollectionSession
from . import one_line

__all__ = [
    "DEMO_ACTOR",
    "MARKER",
    "RESULT_FORMAT",
    "DemoFolderRefused",
    "DemoServerFailed",
    "add_parser",
    "check_demo_folder",
    "run_demo",
]

#: The ``format`` of DIR/result.json.
RESULT_FORMAT = "pension-collect/demo-result"
#: The file the demo writes first into its folder, and its content: how it
#: knows the folder for its own.
MARKER = ".pension-collect-demo"
_MARKER_TEXT = "pension-collect/demo-folder 1\n"
#: The clerk the demo's audit log names.
DEMO_ACTOR = "demo-clerk"
_OTHER_UNIT = "10099999"
_STORE = "collection.db"
_STORE_SIDECARS = ("-wal", "-shm", "-journal")
#: The bureau's data folder of ``--http`` (its state and the server's log).
_BUREAU = "bureau"
_BUREAU_FILES = ("bureau.db", *(f"bureau.db{s}" for s in _STORE_SIDECARS), "server.log")
_WINDOW_TOKEN_ENV = "PENSION_COLLECT_BUREAU_WINDOW_TOKEN"
_SERVING = re.compile(r"serving (http://127\.0\.0\.1:[0-9]+)")
_SERVER_START = 60.0
_FORM = re.compile(r"(?:verification|confirmation|summary)-[0-9]+\.pdf")
_RESULT_LIMIT = 16 * 1024 * 1024


class DemoFolderRefused(PensionCollectError):
    """``demo --out DIR``: DIR is not the demo's (``demo.folder-refused``); nothing
    in it was touched. ``reason``/``reason_zh`` say what was found."""

    code = "demo.folder-refused"

    def __init__(self, folder: str, reason: str, reason_zh: str) -> None:
        self.folder = folder
        self.message = (
            f"{folder!r} is not a folder the demo can use: {reason}; give a new or empty "
            "folder (--out DIR), nothing was changed"
        )
        self.message_zh = (
            f"演示不能使用文件夹 {folder!r}:{reason_zh};请指定新的或空的文件夹,未作任何改动"
        )
        super().__init__(f"{self.message} ({self.message_zh})")


class DemoServerFailed(PensionCollectError):
    """``demo --http``: the bureau server child did not start or answer
    (``demo.server-failed``); ``message``/``message_zh`` say what and where its
    log is."""

    code = "demo.server-failed"

    def __init__(self, reason: str, reason_zh: str) -> None:
        self.message = f"the bureau server for the demo failed: {reason}"
        self.message_zh = f"演示用的经办机构服务未能运行:{reason_zh}"
        super().__init__(f"{self.message} ({self.message_zh})")


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _regular(path: Path) -> bool:
    st = _lstat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def _marked(directory: Path) -> bool:
    """The marker, or an earlier run's result.json with its format tag."""
    marker = directory / MARKER
    if _regular(marker) and marker.stat().st_size <= len(_MARKER_TEXT):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if marker.read_text(encoding="utf-8") == _MARKER_TEXT:
                return True
    result = directory / "result.json"
    if not _regular(result) or result.stat().st_size > _RESULT_LIMIT:
        return False
    try:
        doc = json.loads(result.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == RESULT_FORMAT


def _demo_store(db: Path, unit_no: str) -> bool:
    """Whether ``db`` is a store of the demo's: a pension_collect SQLite store
    whose records and audit entries are all of ``unit_no``, written by the
    demo's clerk (read only; an empty file, a killed first run's, holds no data)."""
    st = _lstat(db)
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    if st.st_size == 0:
        return True
    # Read only, and without creating the -wal and -shm files SQLite makes for a
    # reader: immutable when there is no write-ahead log to read.
    live = any(os.path.lexists(f"{db}{suffix}") for suffix in ("-wal", "-shm"))
    mode = "mode=ro" if live else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?{mode}", uri=True)
    except sqlite3.Error:
        return False
    try:
        (app,) = conn.execute("PRAGMA application_id").fetchone()
        units = conn.execute(
            "SELECT unit_no FROM records UNION SELECT unit_no FROM audit"
        ).fetchall()
        actors = conn.execute("SELECT DISTINCT actor FROM audit").fetchall()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return (
        app == APPLICATION_ID
        and {u for (u,) in units} <= {unit_no}
        and {a for (a,) in actors} <= {DEMO_ACTOR}
    )


def check_demo_folder(out_dir: str | Path, unit_no: str) -> bool:
    """Refuse ``out_dir`` (:class:`DemoFolderRefused`) unless it is new, empty,
    or holds only the demo's earlier output for the employer ``unit_no`` (see
    the module docstring); whether it holds such output. Reads only."""
    text = os.fspath(out_dir)
    if not text:
        raise DemoFolderRefused(text, "an empty name", "名称为空")
    directory = Path(text)
    try:
        st = os.stat(directory)  # a link to a folder is that folder
    except FileNotFoundError:
        return False
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DemoFolderRefused(text, reason, reason) from None
    if not stat.S_ISDIR(st.st_mode):
        raise DemoFolderRefused(text, "it is not a folder", "它不是文件夹")
    names = _names(text, directory)
    if not names:
        return False
    if not _marked(directory):
        raise DemoFolderRefused(
            text,
            f"it holds files and no earlier demo output ({_shown(names)})",
            f"其中有文件但不是演示的输出({_shown(names)})",
        )
    ours = {
        MARKER,
        "result.json",
        "forms",
        _BUREAU,
        _STORE,
        *(_STORE + s for s in _STORE_SIDECARS),
    }
    _no_strangers(text, "", [n for n in names if n not in ours and not is_temporary_name(n)])
    if _BUREAU in names:
        bureau = directory / _BUREAU
        st_bureau = _lstat(bureau)
        if st_bureau is None or not stat.S_ISDIR(st_bureau.st_mode):
            raise DemoFolderRefused(text, f"{_BUREAU} is not a folder", f"{_BUREAU} 不是文件夹")
        _no_strangers(
            text,
            _BUREAU,
            [n for n in _names(text, bureau) if n not in _BUREAU_FILES or not _regular(bureau / n)],
        )
    for name in (MARKER, "result.json"):
        if name in names and not _regular(directory / name):
            raise DemoFolderRefused(text, f"{name} is not a file", f"{name} 不是普通文件")
    if "forms" in names:
        _check_forms(text, directory / "forms")
    sidecars = [n for n in names if n.startswith(_STORE) and n != _STORE]
    if (_STORE in names or sidecars) and not _demo_store(directory / _STORE, unit_no):
        raise DemoFolderRefused(
            text,
            f"{_STORE} is not the demo's store (its records are not the example's)",
            f"{_STORE} 不是演示的数据库(其记录不是示例单位的)",
        )
    return True


def _check_forms(text: str, forms: Path) -> None:
    st = _lstat(forms)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise DemoFolderRefused(text, "forms is not a folder", "forms 不是文件夹")
    strangers = [
        n
        for n in _names(text, forms)
        if not (_FORM.fullmatch(n) or is_temporary_name(n)) or not _regular(forms / n)
    ]
    _no_strangers(text, "forms", strangers)


def _names(text: str, folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DemoFolderRefused(text, reason, reason) from None


def _shown(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")


def _no_strangers(text: str, sub: str, strangers: list[str]) -> None:
    """Refuse the folder for ``strangers`` found in it (``sub``: in that subfolder)."""
    if strangers:
        where, where_zh = (f"{sub} holds", f"{sub} 中") if sub else ("it holds", "其中")
        raise DemoFolderRefused(
            text,
            f"{where} files the demo did not write ({_shown(strangers)})",
            f"{where_zh}有非演示生成的文件({_shown(strangers)})",
        )


def _prepare(out_dir: str | Path, unit_no: str) -> Path:
    """Check the folder (:func:`check_demo_folder`), make it and mark it; remove
    the demo's own earlier store."""
    earlier = check_demo_folder(out_dir, unit_no)
    directory = Path(out_dir)
    ensure_folder(directory)
    if not _regular(directory / MARKER):
        with atomic_write(directory / MARKER, overwrite=False) as stream:
            stream.write(_MARKER_TEXT.encode("utf-8"))
    if earlier:
        db = directory / _STORE
        for suffix in ("", *_STORE_SIDECARS):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        for name in _BUREAU_FILES:
            (directory / _BUREAU / name).unlink(missing_ok=True)
    return directory


class _Clock:
    """A deterministic clock: 2013-08-20 09:00 UTC, one minute later per reading."""

    def __init__(self) -> None:
        self.now = _dt.datetime(2013, 8, 20, 9, 0, tzinfo=_dt.UTC)

    def __call__(self) -> _dt.datetime:
        self.now += _dt.timedelta(minutes=1)
        return self.now


def _decl_json(d: StoredDeclaration) -> dict[str, Any]:
    return {
        "declaration": d.key,
        "kind": d.kind.value,
        "bureau_id": d.bureau_id,
        "state": d.state.value,
        "state_zh": d.state.zh,
        "linked_to": d.linked_to,
        "message": d.message,
        "message_zh": d.message_zh,
        "workers": [
            {
                "worker": mask(o.key) if d.kind.value == "workers" else o.key,
                "succeeded": o.succeeded,
                "code": o.code,
                "message": o.message,
                "message_zh": o.message_zh,
            }
            for o in d.outcomes
        ],
    }


Step = Callable[[str, str, str, str], None]
Printed = Callable[[FormsPrinted], str]


class _Window(Protocol):
    """What the demo does at the bureau's window (and its back office)."""

    def settle_account(self, person_no: str) -> None: ...

    def unsettle_account(self, person_no: str) -> None: ...

    def transfer_person(self, person_no: str, unit_no: str | None) -> None: ...

    def tick(self) -> list[str]: ...

    def settle(self, max_ticks: int = 10) -> None: ...


class _SandboxWindow:
    """The window services of a ``bureau serve --sandbox`` server, called over
    HTTP with the window token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._token = token

    def __repr__(self) -> str:
        return f"_SandboxWindow(url={self.url!r})"

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + "/api/v1/sandbox" + path,
            data=json.dumps(body or {}).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "X-Window-Token": self._token},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read() or b"null")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            status = getattr(exc, "code", None)
            raise DemoServerFailed(
                f"the window service {path.split('/')[-1]} answered {status or type(exc).__name__}",
                f"窗口服务调用失败({status or type(exc).__name__})",
            ) from None

    def _person(self, person_no: str, what: str, body: dict[str, Any] | None = None) -> None:
        self._post(f"/persons/{urllib.parse.quote(person_no, safe='')}/{what}", body)

    def settle_account(self, person_no: str) -> None:
        self._person(person_no, "settle")

    def unsettle_account(self, person_no: str) -> None:
        self._person(person_no, "unsettle")

    def transfer_person(self, person_no: str, unit_no: str | None) -> None:
        self._person(person_no, "transfer", {"unit_no": unit_no})

    def tick(self) -> list[str]:
        changed = self._post("/tick").get("changed", [])
        return [str(c) for c in changed]

    def settle(self, max_ticks: int = 10) -> None:
        for _ in range(max_ticks):
            if not self.tick():
                return


def _seed_bureau(data: Path, dossier: Dossier) -> tuple[dict[str, str], str]:
    """The example employer and its persons in the bureau's state in ``data``,
    with an account and a new initial password; the person numbers by key
    and the password (kept in memory, never printed)."""
    try:
        from ..server.auth import AuthStore
    except ImportError:  # pragma: no cover - the server extra is part of [test]
        raise DemoServerFailed(
            "the bureau server needs the 'server' extra: pip install 'pension-collect[server]'",
            "需要安装 server 扩展",
        ) from None
    with ReferenceBureau.open(data) as bureau:
        persons = bureau.seed_dossier(dossier)
    accounts = AuthStore(data / "bureau.db")
    try:
        password = accounts.set_initial_password(dossier.employer.unit_no)
    finally:
        accounts.close()
    return {key: p.person_no for key, p in persons.items()}, password


@contextlib.contextmanager
def _bureau_server(data: Path, window_token: str) -> Iterator[str]:
    """``pension-collect bureau serve --sandbox`` on a free loopback port in a
    child process, its log in ``data/server.log``; its URL. The child is
    stopped (SIGTERM, then SIGKILL) when the block ends, however it ends."""
    env = dict(os.environ)
    env[_WINDOW_TOKEN_ENV] = window_token
    command = [
        sys.executable,
        "-m",
        "pension_collect.cli",
        "bureau",
        "serve",
        "--data",
        str(data),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--sandbox",
    ]
    log = data / "server.log"
    with log.open("ab") as log_file:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=env,
            start_new_session=True,
        )
    # SIGTERM (and SIGHUP) would end this process without its finally blocks,
    # leaving the server serving: while the child runs they end it like an
    # exception (exit status 128 + the signal), so the child is stopped.
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGHUP):
            previous[number] = signal.signal(number, _exit_on_signal)
    try:
        yield _server_url(child, log)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _stop(child)


def _exit_on_signal(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def _server_url(child: subprocess.Popen[bytes], log: Path) -> str:
    """The URL the child prints once it listens (and answers its health check)."""
    assert child.stdout is not None
    deadline = time.monotonic() + _SERVER_START
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], 0.2)
        if ready:
            line = child.stdout.readline()
            seen += line
            found = _SERVING.search(line.decode("utf-8", "replace"))
            if found:
                url = found.group(1)
                _health(url, deadline)
                return url
        if child.poll() is not None:
            said = seen.decode("utf-8", "replace").strip().splitlines()
            raise DemoServerFailed(
                f"it ended with status {child.returncode} ({one_line(said[-1]) if said else ''}); "
                f"its log: {one_line(str(log))}",
                f"服务进程已退出(状态 {child.returncode}),日志见 {one_line(str(log))}",
            )
    raise DemoServerFailed(
        f"it did not start within {_SERVER_START:g} seconds; its log: {one_line(str(log))}",
        f"服务未能在规定时间内启动,日志见 {one_line(str(log))}",
    )


def _health(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise DemoServerFailed("it does not answer its health check", "服务没有响应健康检查")
        time.sleep(0.05)


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop the server child (its own process group): SIGTERM, then SIGKILL."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)  # the arbiter stops its workers
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(20)
    if child.stdout is not None:
        child.stdout.close()


def run_demo(
    out_dir: str | Path,
    *,
    out: TextIO | None = None,
    host: PluginHost | None = None,
    http: bool = False,
) -> dict[str, Any]:
    """Run the demo into ``out_dir``; print the steps to ``out``; return result.json's content.

    ``out_dir`` must be new, empty or hold only the demo's earlier output
    (:class:`DemoFolderRefused` otherwise, nothing touched); a rerun replaces
    the demo's own store and keeps its forms (they number on). ``http``:
    the bureau is a server child process on a free loopback port, reached
    over HTTP (the module docstring); :class:`DemoServerFailed` when it
    cannot be started.
    """
    if http:
        _require_http_extras()
    stream = out if out is not None else sys.stdout
    dossier = loads(example_dossier_text(), source="<bundled example-dossier.json>")
    unit_no = dossier.employer.unit_no
    directory = _prepare(out_dir, unit_no)
    host = host if host is not None else PluginHost()
    keys = [CollectionSession.key_of(w) for w in dossier.workers]
    demo = _Demo(directory, stream, host, dossier, keys)
    if not http:
        clock = _Clock()
        bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of)
        persons = {k: p.person_no for k, p in bureau.seed_dossier(dossier).items()}
        transport = host.open_transport("local:", bureau=bureau)
        return demo.run(bureau, persons, transport, clock, "local")
    data = directory / _BUREAU
    persons, password = _seed_bureau(data, dossier)
    window_token = secrets.token_urlsafe(32)
    with _bureau_server(data, window_token) as url:
        stream.write(f"pension-collect demo: bureau server {url} (child process, sandbox)\n")
        transport = host.open_transport(url, unit_no=unit_no, password=password)
        if not isinstance(transport, HttpTransport):  # a plugin's http scheme
            transport.close()
            raise DemoServerFailed(
                "the http scheme is not the built-in HTTP transport", "http 传输不是内置实现"
            )
        try:
            _new_password(transport, password, demo.step)
        except BaseException:
            transport.close()
            raise
        return demo.run(_SandboxWindow(url, window_token), persons, transport, _Clock(), "http")


#: What ``--http`` needs installed: the server (the 'server' extra) and the
#: transport (the 'http' extra).
_HTTP_MODULES = {"flask": "server", "gunicorn": "server", "requests": "http"}


def _require_http_extras() -> None:
    """Refuse ``--http`` before anything is touched when an extra is missing
    (the child would only say so in its log)."""
    missing = sorted(
        {
            extra
            for module, extra in _HTTP_MODULES.items()
            if importlib.util.find_spec(module) is None
        }
    )
    if missing:
        extras = ",".join(missing)
        raise DemoServerFailed(
            f"--http needs the extras {extras}: pip install 'pension-collect[{extras}]'; "
            "nothing was changed",
            f"--http 需要安装扩展 {extras}:pip install 'pension-collect[{extras}]';未作任何改动",
        )


def _new_password(transport: HttpTransport, initial: str, step: Step) -> None:
    """Log in with the initial password and change it: the bureau refuses any
    other call until then."""
    try:
        transport.login()
    except PasswordChangeRequired:
        pass
    else:
        raise DemoServerFailed(
            "the bureau accepted the initial password without a change",
            "经办机构未要求修改初始密码",
        )
    step("P3", "登录经办机构", "Log in to the bureau", "initial password: a change is required")
    new = secrets.token_urlsafe(18)
    transport.change_password(initial, new)
    step("P3", "修改初始密码", "Change the initial password", "changed (kept in memory only)")


class _Demo:
    """One run of the demo's collection, whichever transport carries it."""

    def __init__(
        self,
        directory: Path,
        stream: TextIO,
        host: PluginHost,
        dossier: Dossier,
        keys: list[str],
    ) -> None:
        self.directory = directory
        self.stream = stream
        self.host = host
        self.dossier = dossier
        self.keys = keys
        self.steps: list[dict[str, Any]] = []
        self.forms: list[str] = []
        self.notes: set[str] = set()

    def step(self, paragraph: str, zh: str, en: str, what: str) -> None:
        self.steps.append({"procedure": paragraph, "step_zh": zh, "step": en, "result": what})
        self.stream.write(f"[{paragraph}] {zh} / {en}: {what}\n")
        self.stream.flush()

    def printed(self, result: FormsPrinted) -> str:
        self.forms.extend(result.files)
        if result.files:
            copies = f", {result.copies} copies" if result.copies > 1 else ""
            return f"{result.workers} workers{copies}, {result.pages} pages -> " + ", ".join(
                str(Path(f).relative_to(self.directory)) for f in result.files
            )
        self.notes.add(result.note or "")
        return f"{result.workers} workers recorded as printed ({result.note})"

    def run(
        self,
        bureau: _Window,
        persons: dict[str, str],
        transport: Transport,
        clock: _Clock,
        transport_name: str,
    ) -> dict[str, Any]:
        """The collection ([P3] .. [P3.7]); writes result.json."""
        directory, dossier, keys, step, printed = (
            self.directory,
            self.dossier,
            self.keys,
            self.step,
            self.printed,
        )
        unit_no = dossier.employer.unit_no
        forms_dir = directory / "forms"
        db = directory / _STORE
        # What only the bureau knows: one worker's account was settled (结清) and
        # never un-settled; another is about to be taken over by another employer.
        settled, moved = persons[keys[1]], persons[keys[2]]
        try:
            bureau.settle_account(settled)
            store = self.host.open_storage(f"sqlite://{db.resolve()}")
        except BaseException:
            transport.close()
            raise
        try:
            session = CollectionSession(
                store,
                transport,
                unit_no=unit_no,
                actor=DEMO_ACTOR,
                host=self.host,
                pack=dossier.rule_pack,
                as_of=dossier.as_of,
                clock=clock,
            )
            self.stream.write(f"pension-collect demo: unit {unit_no}, store {one_line(str(db))}\n")
            session.start()
            step("P3", "开始数据质量工作", "Start data-quality work", "no pending declaration")
            synced = session.sync()
            step("P3.1", "数据同步", "Data sync", f"{len(synced.persons)} persons at the bureau")
            session.collect_employer(dossier.employer)
            step("P3.1", "单位信息采集", "Employer information collection", "collected")
            emp = session.submit_employer_declaration()
            step("P3.1", "提交单位信息申报", "Submit employer declaration", f"{emp.bureau_id}")
            bureau.settle()
            emp = session.refresh(emp.key)
            step("P3.7", "查看申报结果", "Declaration result", f"{emp.key}: {emp.state.value}")

            refused = _first_round(session, step, printed, dossier, keys, forms_dir)
            for key in refused:
                # [P3.4e] the handbook has account years the verification form does not show
                bureau.unsettle_account(persons[key])
                _window(
                    session,
                    step,
                    key,
                    "account.not-in-bureau",
                    "account un-settled (养老账户取消结清)",
                )
            _collect_again(session, step, printed, dossier, refused, forms_dir)

            bureau.transfer_person(moved, _OTHER_UNIT)
            step(
                "bureau",
                "社保系统(仅社保知道)",
                "At the bureau (only it knows)",
                f"{mask(keys[2])} taken over by another employer ({_OTHER_UNIT})",
            )
            decl = _submit_and_follow(session, bureau, step, printed, forms_dir)

            failed = session.failed_workers()
            for key in failed:
                stored = session.worker(key)
                reason = stored.outcome.code if stored.outcome else None
                bureau.transfer_person(persons[key], unit_no)
                _window(session, step, key, reason, "employment transfer done (劳动关系转回)")
            _collect_again(session, step, printed, dossier, failed, forms_dir)
            decl2 = _submit_and_follow(session, bureau, step, printed, forms_dir)
            declarations = [_decl_json(d) for d in session.declarations()]
            log = session.audit()
        finally:
            transport.close()
            store.close()

        outcome = {
            "format": RESULT_FORMAT,
            "version": 1,
            "unit_no": unit_no,
            "store": str(db),
            "transport": transport_name,
            "forms": self.forms,
            "forms_note": sorted(n for n in self.notes if n) or None,
            "audit_entries": len(log),
            "steps": self.steps,
            "first_declaration": decl.key,
            "recollection_declaration": decl2.key,
            "declarations": declarations,
        }
        with atomic_write(directory / "result.json", overwrite=True) as result_file:
            result_file.write((json.dumps(outcome, ensure_ascii=False, indent=2) + "\n").encode())
        where = one_line(str(directory / "result.json"))
        self.stream.write(f"result: {where} ({decl2.key}: {decl2.state.value})\n")
        return outcome


def _first_round(
    session: CollectionSession,
    step: Step,
    printed: Printed,
    dossier: Dossier,
    keys: list[str],
    forms_dir: Path,
) -> list[str]:
    """[P3.2] .. [P3.4] for every worker of the dossier; the keys of the workers
    whose save was refused."""
    result = session.print_verification_forms(keys, out_dir=forms_dir)
    step("P3.2", "打印核对表", "Print verification forms", printed(result))
    batch = session.save_workers(dossier.workers)
    saved = {w.key: w for w in batch.saved}
    refusals = {r.key: r.error for r in batch.refused}
    for key in keys:
        if key in saved:
            w = saved[key]
            warn = f", {len(w.warnings)} warnings kept" if w.warnings else ""
            step(
                "P3.4",
                "职工信息整理(个人信息、缴费历史、养老账户)",
                "Collect worker (personal info, history, account)",
                f"{mask(key)} saved (v{w.version}{warn})",
            )
            continue
        error = refusals[key]
        if not isinstance(error, RuleErrors):
            raise error
        first = error.errors[0]
        step(
            first.procedure or "P3.4",
            "职工信息整理:不能保存",
            "Collect worker: save refused",
            f"{mask(key)} {first.code} at {first.path}: {first.message_zh}",
        )
    return [key for key in keys if key in refusals]


def _window(
    session: CollectionSession, step: Step, key: str, reason: str | None, what: str
) -> None:
    """The worker has it sorted out at the bureau window; the visit is recorded."""
    session.record_window_visit(key, what)
    step("P3.3a", "社保窗口办理", "At the bureau window", f"{mask(key)} ({reason}): {what}")


def _collect_again(
    session: CollectionSession,
    step: Step,
    printed: Printed,
    dossier: Dossier,
    keys: list[str],
    forms_dir: Path,
) -> None:
    """[P3.3a] after the window: sync again, new verification forms, collect."""
    synced = session.sync()
    step("P3.3a", "重新数据同步", "Data sync again", f"{len(synced.persons)} persons")
    result = session.print_verification_forms(keys, out_dir=forms_dir)
    step("P3.2", "打印新的核对表", "Print new verification forms", printed(result))
    by_key = {CollectionSession.key_of(w): w for w in dossier.workers}
    for key in keys:
        again = any(w.key == key for w in session.workers())
        saved = session.save_worker(by_key[key])
        step(
            "P3.7" if again else "P3.4",
            "重新采集" if again else "职工信息整理",
            "Collect again" if again else "Collect worker",
            f"{mask(key)} saved (v{saved.version})",
        )


def _submit_and_follow(
    session: CollectionSession,
    bureau: _Window,
    step: Step,
    printed: Printed,
    forms_dir: Path,
) -> StoredDeclaration:
    keys = [w.key for w in session.workers() if w.status is WorkerStatus.COLLECTED]
    result = session.print_confirmation_forms(keys, out_dir=forms_dir)
    step("P3.5", "打印确认表(一式三份)", "Print confirmation forms (3 copies)", printed(result))
    session.record_received(keys)
    step(
        "P3.4g",
        "收回签字确认表和养老手册",
        "Signed forms and handbooks received",
        f"{len(keys)} workers",
    )
    result = session.print_summary_sheet(out_dir=forms_dir)
    step("P3.6", "打印汇总表", "Print summary sheet", printed(result))
    decl = session.submit_declaration()
    linked = f", re-collecting {decl.linked_to}" if decl.linked_to else ""
    step(
        "P3.6",
        "提交申报",
        "Submit declaration",
        f"{decl.key} as {decl.bureau_id}, {len(decl.workers)} workers{linked}",
    )
    while not decl.state.concluded:
        bureau.tick()
        decl = session.refresh(decl.key)
        step("P3.7", "等待处理结果", "Follow the declaration", f"{decl.key}: {decl.state.value}")
    for o in decl.outcomes:
        verdict = "succeeded" if o.succeeded else f"failed ({o.code}): {o.message_zh}"
        step("P3.7", "职工处理结果", "Worker outcome", f"{mask(o.key)} {verdict}")
    return decl


def _run(args: argparse.Namespace) -> int:
    outcome = run_demo(args.out, http=args.http)
    last = outcome["declarations"][-1]
    return 0 if last["state"] == "succeeded" else 1


def add_parser(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="run the whole collection on the example dossier (演示完整采集流程)",
        description="Carry the bundled example dossier's employer through every step of "
        "the collection with a SQLite store in DIR and the reference bureau in-process; "
        "write DIR/result.json.",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="pension-collect-demo",
        help="directory for the store, the forms and result.json (default ./pension-collect-demo)",
    )
    p.add_argument(
        "--http",
        action="store_true",
        help="run the bureau server in a child process on a free loopback port and collect "
        "over HTTP (needs the http and server extras) (通过 HTTP 连接经办机构服务)",
    )
    p.set_defaults(run=_run)
