"""``pension-collect web`` through the real console script: ``web adduser``
(the password from the environment; weak ones and a name taken refused),
``web unlock``, and ``web`` itself started as a process on a free port,
answering ``/health`` and ``/login``, logging no query string, password or
identity number, and stopping cleanly on SIGTERM."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import stat
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browser import console_script
from pension_collect_web.accounts import LOCK_AFTER
from pension_collect_web.app import CSP
from web_fixtures import CLERK, PASSWORD, UNIT, csrf_in

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import example_dossier_text, loads

ID_NUMBER = "110101199003074514"


def run(
    *args: str, cwd: Path, password: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PENSION_COLLECT_")}
    if password is not None:
        environ["PENSION_COLLECT_WEB_PASSWORD"] = password
    environ.update(env or {})
    return subprocess.run(
        [console_script(), "web", *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_adduser_creates_an_account(tmp_path: Path) -> None:
    done = run("adduser", CLERK, "--unit", UNIT, cwd=tmp_path, password=PASSWORD)
    assert done.returncode == 0, done.stderr
    assert f"clerk {CLERK} of employer {UNIT} created" in done.stdout
    path = tmp_path / "pension-collect-web.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in done.stdout + done.stderr
    taken = run("adduser", CLERK, "--unit", UNIT, cwd=tmp_path, password="Other-passphrase-7")
    assert taken.returncode == 2
    assert "web.name-taken" in taken.stderr
    assert "已存在" in taken.stderr
    assert len(taken.stderr.strip().splitlines()) == 1


def test_adduser_refuses_weak_and_missing_passwords(tmp_path: Path) -> None:
    weak = (
        ("123456", "shorter than 10 characters", "少于 10 个字符"),
        ("password123", "most common passwords", "最常用的密码"),
    )
    adduser = ("adduser", CLERK, "--unit", UNIT)
    # CI time: the refusals without a password (they stop before the accounts file
    # is opened) run beside the weak ones; the weak ones one after the other (each
    # opens the accounts file, which the first creates)
    with ThreadPoolExecutor(max_workers=3) as pool:
        missing_run = pool.submit(run, *adduser, cwd=tmp_path)
        argument_run = pool.submit(run, *adduser, "--password", PASSWORD, cwd=tmp_path)
        weak_runs = [run(*adduser, cwd=tmp_path, password=p) for p, _, _ in weak]
    for (password, reason, reason_zh), done in zip(weak, weak_runs, strict=True):
        assert done.returncode == 2
        assert "web.weak-password" in done.stderr
        assert reason in done.stderr
        assert reason_zh in done.stderr
        assert password not in done.stderr
    missing = missing_run.result()
    assert missing.returncode == 2
    assert "web.password-missing" in missing.stderr
    assert "PENSION_COLLECT_WEB_PASSWORD" in missing.stderr
    argument = argument_run.result()
    assert argument.returncode == 2
    assert "unrecognized arguments" in argument.stderr
    # no account was made: the server refuses to start, saying what to do
    serve = run("--port", "0", cwd=tmp_path)
    assert serve.returncode == 2
    assert "web.no-account" in serve.stderr
    assert "web adduser" in serve.stderr
    assert "请先运行" in serve.stderr


# -- the server ---------------------------------------------------------------------------------


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, folder: Path) -> None:
        self.process, self.url, self.folder = process, url, folder
        self.log = folder / "server.log"
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        return self._open(urllib.request.Request(self.url + path, headers=headers or {}))

    def post(
        self, path: str, data: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers=headers or {}
        )
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.read().decode(), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), dict(exc.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    dossier = loads(example_dossier_text())
    with ReferenceBureau.open(folder / "bureau", as_of=dossier.as_of) as bureau:
        bureau.seed_dossier(dossier)
    assert run("adduser", CLERK, "--unit", UNIT, cwd=folder, password=PASSWORD).returncode == 0
    log = folder / "server.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PENSION_COLLECT_")}
    with log.open("w") as err:
        process = subprocess.Popen(
            [
                console_script(),
                "web",
                "--store",
                "sqlite:collection.db",
                "--bureau",
                "local:bureau",
                "--port",
                "0",
                "--as-of",
                "2013-08",
                "--trusted-proxy",
                "127.0.0.1",
            ],
            cwd=folder,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,  # its own process group: the teardown ends its workers too
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"serving (http://127\.0\.0\.1:\d+) \(2 workers\)", line)
        assert found, (line, log.read_text())
        yield Served(process, found.group(1), folder)
    finally:
        if process.poll() is None:  # a run without the SIGTERM test, or a failed one
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_the_server_answers(served: Served) -> None:
    status, body, headers = served.get("/health")
    assert status == 200
    assert '"status":"ok"' in body.replace(" ", "")
    status, body, headers = served.get("/login")
    assert status == 200
    assert 'name="password"' in body
    assert headers["X-Frame-Options"] == "DENY"
    status, _, headers = served.get("/account")
    assert status == 302
    assert headers["Location"].endswith("/login?next=/account")


def test_sign_in_over_http_and_the_log_keeps_nothing_personal(served: Served) -> None:
    status, body, _ = served.get(f"/login?next=/account&id={ID_NUMBER}")
    assert status == 200
    token = csrf_in(body)
    status, _, headers = served.post(
        "/login",
        {"name": CLERK, "password": PASSWORD, "csrf_token": token, "next": "/account"},
    )
    assert status == 303, headers
    status, body, _ = served.get("/account")
    assert status == 200
    assert UNIT in body
    served.post("/login", {"name": CLERK, "password": "typed-wrong-Secret", "csrf_token": "x"})
    # the access log is written after the answer: wait for the last line
    deadline = time.monotonic() + 15
    while '"POST /login" 303' not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = served.log.read_text()
    assert '"GET /login" 200' in log
    assert '"POST /login" 303' in log
    for secret in (ID_NUMBER, PASSWORD, "typed-wrong-Secret", "csrf_token", "next=", CLERK):
        assert secret not in log, secret
    assert "pension_collect_session" not in log


def test_behind_a_trusted_proxy_sign_in_limits_count_the_client(served: Served) -> None:
    """Served with ``--trusted-proxy 127.0.0.1``: requests from this machine
    carrying ``X-Forwarded-For`` (as a reverse proxy here adds it) are counted
    under the client's address, so one client's lock leaves the others
    alone, and what a client writes left of it counts for nothing; the
    access log shows the client's address."""
    served = Served(served.process, served.url, served.folder)  # a browser not signed in
    status, body, _ = served.get("/login")
    token = csrf_in(body)
    mallory = {"X-Forwarded-For": "198.51.100.77, 203.0.113.66"}
    answers = [
        served.post("/login", {"name": CLERK, "password": f"no {i}", "csrf_token": token}, mallory)
        for i in range(LOCK_AFTER)
    ][-1]
    assert answers[0] == 429
    status, _, _ = served.post(
        "/login",
        {"name": CLERK, "password": PASSWORD, "csrf_token": token},
        {"X-Forwarded-For": "203.0.113.66"},
    )
    assert status == 429  # Mallory's own address: locked
    status, _, _ = served.post(
        "/login",
        {"name": CLERK, "password": PASSWORD, "csrf_token": token},
        {"X-Forwarded-For": "198.51.100.77"},
    )
    assert status == 303  # the address Mallory wrote in is another client's
    deadline = time.monotonic() + 15
    while "198.51.100.77 " not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "203.0.113.66 " in served.log.read_text()
    assert "198.51.100.77 " in served.log.read_text()


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start(tmp_path: Path) -> None:
    done = run("--port", "0", "--trusted-proxy", "proxy.example", cwd=tmp_path)
    assert done.returncode == 2
    assert "web.bad-proxy" in done.stderr
    assert "--trusted-proxy proxy.example" in done.stderr
    assert "反向代理" in done.stderr


def test_unlock_and_an_http_bureau_without_its_password(served: Served) -> None:
    unknown = run("unlock", "nobody", cwd=served.folder)
    assert unknown.returncode == 2
    assert "web.unknown-clerk" in unknown.stderr
    assert run("unlock", CLERK, cwd=served.folder).returncode == 0
    http = run("--bureau", "http://127.0.0.1:9", "--port", "0", cwd=served.folder)
    assert http.returncode == 2
    assert "web.bureau-password-missing" in http.stderr
    assert "PENSION_COLLECT_BUREAU_PASSWORD" in http.stderr


def _raw(served: Served, request: bytes) -> tuple[int, dict[str, str], str]:
    """Send ``request`` as it is over a socket: (status, headers, body) of the answer."""
    parts = urllib.parse.urlsplit(served.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body.decode()


@pytest.mark.parametrize(
    ("request_bytes", "status", "title"),
    [
        (  # a request line longer than gunicorn reads (4094 bytes), an identity number in it
            b"GET /workers?search="
            + ID_NUMBER.encode()
            + b"&x="
            + b"a" * 5000
            + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
            "网址过长",
        ),
        (b"NOT AN HTTP REQUEST LINE " + ID_NUMBER.encode() + b"\r\n\r\n", 400, "请求无效"),
        (  # more header fields than gunicorn reads (100)
            b"GET / HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-N%d: v\r\n" % i for i in range(150))
            + b"\r\n",
            431,
            "请求头过大",
        ),
    ],
    ids=["414-uri-too-long", "400-bad-request-line", "431-headers-too-large"],
)
def test_gunicorns_own_refusals_carry_the_security_headers(
    served: Served, request_bytes: bytes, status: int, title: str
) -> None:
    """A request gunicorn refuses before the application sees it is answered
    with the headers of every page and a bilingual page quoting nothing of
    the request (its message could hold an identity number)."""
    got, headers, body = _raw(served, request_bytes)
    assert got == status
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body.encode())
    assert title in body
    assert ID_NUMBER not in body
    assert "<script" not in body
    assert "style=" not in body
    assert ID_NUMBER not in served.log.read_text()  # gunicorn's warning is cleaned too


def test_sigterm_stops_the_server_cleanly(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(30) == 0
    log = served.log.read_text()
    assert "Shutting down" in log
    assert "Traceback" not in log
