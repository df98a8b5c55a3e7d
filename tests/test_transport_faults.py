"""Faults on the wire between the HTTP transport and the real bureau server.

A small TCP proxy on 127.0.0.1 stands between the client and the server
process and breaks exactly one kind of thing per test: the server killed
(SIGKILL) and restarted in the middle of a submission, the connection
dropped after the server committed but before the client read the reply,
500s instead of the server's answer, an answer slower than the read
timeout. Every test ends with exactly one declaration at the bureau (read
from the server's own data file), a clear result or a typed error at the
client, and nothing lost in the client's store: a CollectionSession over a
SQLite file, read back through a second session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import test_workflow as W
from bureau_server import RunningBureau, start_bureau
from pension_collect.adapters.http_transport import HttpTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.ports.transport import (
    DeclarationKind,
    DeclarationState,
    ServerError,
    TransportError,
    TransportTimeout,
    Unreachable,
)
from pension_collect.workflow import WorkerStatus
from test_workflow_http import http_setups, open_window
from workflow_fixtures import Setup, sqlite_url

_SUBMIT = ("POST", "/declarations")


class Proxy:
    """A TCP proxy for HTTP/1.1, one request per client connection.

    ``fault(action, times=1)`` arms a fault for the next submissions (POST
    to a declarations path); other requests pass. Actions: ``"drop"`` (the
    request goes to the server, the server's answer is read and thrown
    away, the client's connection closed), ``"500"`` (the same, the client
    gets a 500 JSON error instead), ``("delay", seconds)`` (the answer
    relayed late), ``("kill", callback)`` (the request goes to the server,
    then ``callback()`` runs, e.g. killing the server; the client's
    connection is closed). ``upstream`` may change (a restarted server);
    the proxy waits up to 60 s for it to accept connections.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Any] = []
        self.seen: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def fault(self, action: Any, times: int = 1) -> None:
        with self._lock:
            self.faults.extend([action] * times)

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _upstream(self) -> socket.socket:
        deadline = time.monotonic() + 60
        while True:
            host, port = self.upstream.removeprefix("http://").rsplit(":", 1)
            try:
                return socket.create_connection((host, int(port)), timeout=30)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _handle(self, client: socket.socket) -> None:
        with contextlib.closing(client):
            request = _read_request(client)
            if request is None:
                return
            head, body = request
            method, path = head.split(b" ", 2)[:2]
            line = f"{method.decode()} {path.decode()}"
            action: Any = None
            with self._lock:
                self.seen.append(line)
                if method.decode() == _SUBMIT[0] and line.endswith(_SUBMIT[1]) and self.faults:
                    action = self.faults.pop(0)
            try:
                upstream = self._upstream()
            except OSError:
                return
            with contextlib.closing(upstream):
                upstream.sendall(_close_after(head) + body)
                if isinstance(action, tuple) and action[0] == "kill":
                    action[1]()
                    return
                answer = _read_all(upstream)
            if action == "drop":
                return
            if action == "500":
                text = (
                    b'{"error":{"code":"server.internal","message":"internal error",'
                    b'"message_zh":"\\u5185\\u90e8\\u9519\\u8bef"}}'
                )
                answer = (
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(text)).encode() + b"\r\nConnection: close\r\n\r\n"
                ) + text
            elif isinstance(action, tuple) and action[0] == "delay":
                time.sleep(action[1])
            with contextlib.suppress(OSError):
                client.sendall(answer)


def _read_request(sock: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, body


def _close_after(head: bytes) -> bytes:
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            out += chunk
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    root = tmp_path_factory.mktemp("faults")
    running = start_bureau(root / "bureau", extra_args=["--processing-delay", "3600"])
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def window(server: RunningBureau) -> Iterator[ReferenceBureau]:
    with open_window(server) as bureau:
        yield bureau


@pytest.fixture
def proxy(server: RunningBureau) -> Iterator[Proxy]:
    running = Proxy(server.url)
    try:
        yield running
    finally:
        running.stop()


Ready = Callable[..., Setup]


@pytest.fixture
def ready(server: RunningBureau, window: ReferenceBureau, proxy: Proxy, tmp_path: Path) -> Ready:
    """A session over SQLite with every worker ready to submit (set up directly
    against the server), then talking to the bureau through the proxy with
    the given transport options."""

    def make(**options: Any) -> Setup:
        s = http_setups(server, window)(sqlite_url(tmp_path))
        W.to_ready(s)
        s.session.transport.close()
        unit = s.dossier.employer.unit_no
        options.setdefault("backoff", 0.05)
        s.session.transport = HttpTransport(
            proxy.url, unit_no=unit, password=server.changed[unit], **options
        )
        return s

    return make


def submits(proxy: Proxy, s: Setup) -> int:
    """How many submissions went through the proxy."""
    return proxy.seen.count(f"POST /api/v1/employers/{s.dossier.employer.unit_no}/declarations")


def at_the_bureau(s: Setup) -> list[str]:
    """The numbers of the employer's workers declarations in the server's file."""
    return [
        d.id
        for d in s.bureau.declarations(s.dossier.employer.unit_no)
        if d.kind is DeclarationKind.WORKERS
    ]


def nothing_lost(s: Setup, bureau_ids: list[str]) -> None:
    """The store, read through a second session: every worker claimed by the one
    declaration the bureau holds, recorded once; after the bureau concludes
    it, every worker accepted."""
    [bureau_id] = bureau_ids
    other = s.reopen("clerk-2")
    [decl] = [d for d in other.declarations() if d.kind is DeclarationKind.WORKERS]
    assert decl.bureau_id == bureau_id
    assert decl.state is not DeclarationState.DRAFT
    assert sorted(decl.workers) == sorted(s.keys)
    assert {w.status for w in other.workers()} == {WorkerStatus.SUBMITTED}
    actions = [e.action for e in other.audit(declaration=decl.key) if e.subject_key == decl.key]
    assert actions.count("declaration.created") == 1
    assert actions.count("declaration.submitted") == 1
    s.bureau.settle()
    followed = other.follow()
    assert [d.state for d in followed] == [DeclarationState.SUCCEEDED]
    assert {w.status for w in other.workers()} == {WorkerStatus.ACCEPTED}


class TestFaults:
    def test_server_killed_and_restarted_mid_submission(
        self, ready: Ready, server: RunningBureau, proxy: Proxy
    ) -> None:
        """The server process is killed (SIGKILL, arbiter and workers) once the
        submission has reached it, whether or not it committed, and started
        again on the same data: the transport's retry, with the same key,
        reaches the new process; the session records the one declaration."""
        s = ready(retries=8, max_wait=2)

        def kill_and_restart() -> None:
            process = server.process
            assert process is not None
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)

            def restart() -> None:
                server.stop()  # only reaps: the process is gone
                server.start()
                proxy.upstream = server.url

            threading.Thread(target=restart, daemon=True).start()

        proxy.fault(("kill", kill_and_restart))
        old_url = server.url
        decl = s.session.submit_declaration()
        assert decl.state is DeclarationState.SUBMITTED
        assert server.url != old_url
        assert (
            proxy.seen.count(f"POST /api/v1/employers/{s.dossier.employer.unit_no}/declarations")
            >= 2
        )
        nothing_lost(s, at_the_bureau(s))
        assert decl.bureau_id == at_the_bureau(s)[0]

    def test_reply_lost_after_commit_is_retried(self, ready: Ready, proxy: Proxy) -> None:
        """The server commits, the connection drops before the client reads the
        reply: the transport sends the submission again with the same key and
        gets the same declaration (200), not a second one."""
        s = ready()
        proxy.fault("drop", times=2)
        decl = s.session.submit_declaration()
        assert submits(proxy, s) == 3
        ids = at_the_bureau(s)
        assert decl.bureau_id == ids[0]
        nothing_lost(s, ids)

    def test_reply_lost_without_retries_is_a_typed_error_then_resent(
        self, ready: Ready, proxy: Proxy
    ) -> None:
        """Without retries the lost reply is Unreachable at the client; the
        declaration waits in the store as a draft and the next submit sends it
        with the same key: still one declaration."""
        s = ready(retries=0)
        proxy.fault("drop")
        with pytest.raises(Unreachable) as info:
            s.session.submit_declaration()
        assert info.value.code == "transport.unreachable"
        assert len(at_the_bureau(s)) == 1  # the server did commit
        [draft] = [d for d in s.reopen().declarations() if d.kind is DeclarationKind.WORKERS]
        assert draft.state is DeclarationState.DRAFT
        decl = s.session.submit_declaration()
        assert [decl.bureau_id] == at_the_bureau(s)
        nothing_lost(s, at_the_bureau(s))

    def test_500s_then_success(self, ready: Ready, proxy: Proxy) -> None:
        """Three 500s in place of the server's (committed) answers: each a
        ServerError at the client (a 500 is not retried), the draft kept; the
        fourth submit is answered: one declaration."""
        s = ready()
        proxy.fault("500", times=3)
        for n in range(1, 4):
            with pytest.raises(ServerError) as info:
                s.session.submit_declaration()
            assert info.value.status == 500
            assert isinstance(info.value, TransportError)
            assert submits(proxy, s) == n
            assert len(at_the_bureau(s)) == 1  # the server committed the first
        decl = s.session.submit_declaration()
        assert [decl.bureau_id] == at_the_bureau(s)
        nothing_lost(s, at_the_bureau(s))

    def test_reply_slower_than_the_read_timeout(self, ready: Ready, proxy: Proxy) -> None:
        """An answer slower than the read timeout: the transport gives up on it and
        sends the submission again with the same key (answered in time)."""
        s = ready(timeout=(5, 1.0))
        proxy.fault(("delay", 2.5))
        decl = s.session.submit_declaration()
        assert submits(proxy, s) == 2
        assert [decl.bureau_id] == at_the_bureau(s)
        nothing_lost(s, at_the_bureau(s))

    def test_slow_reply_without_retries_is_a_timeout(self, ready: Ready, proxy: Proxy) -> None:
        """Without retries the slow answer is TransportTimeout, saying that
        submitting again is safe; it is: one declaration."""
        s = ready(timeout=(5, 1.0), retries=0)
        proxy.fault(("delay", 2.5))
        with pytest.raises(TransportTimeout) as info:
            s.session.submit_declaration()
        assert "submitting again is safe" in str(info.value)
        decl = s.session.submit_declaration()
        assert [decl.bureau_id] == at_the_bureau(s)
        nothing_lost(s, at_the_bureau(s))
