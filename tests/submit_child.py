"""The processes of tests/test_submit_faults.py: a bureau that survives them, and
the collection loop they run (imported by the test and by its processes).

The bureau (:class:`BureauServer`) lives in the test's own process: a
reference bureau behind a socket on 127.0.0.1 (a thread per connection, one
JSON request and one JSON answer per connection, requests bounded in size,
every socket with a timeout). The processes reach it through
:class:`SocketTransport`, so killing one kills nothing of the bureau, and
the bureau can kill a process itself while a call is in flight: after it
received a declaration and before it accepted it (the request is lost), or
after it accepted it and before it answered (the answer is lost).

:func:`run_loop` is the whole collection (start .. the re-collection
declaration concluded), written to be run again from the top after a kill:
each step looks at what the store holds and does only what is missing. It
reports each step to the test through a pipe (``("step", name)`` before,
``("done", name)`` after), which is how the test times its kills and knows
where each one landed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.model import Dossier, Employer
from pension_collect.plugins import PluginHost
from pension_collect.ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    SyncResult,
    TransportError,
)
from pension_collect.workflow import (
    CollectionSession,
    DeclarationInFlight,
    SessionState,
    WorkerStatus,
)
from pg_server import plugins_for
from workflow_fixtures import Clock, example

#: Largest request or answer, in bytes (a declaration of the example's workers is ~20 KiB).
MAX_MESSAGE = 4 * 1024 * 1024
#: Seconds a socket waits for the other side.
SOCKET_TIMEOUT = 30.0
#: The employer the first workers' declaration finds a worker moved to (so the
#: bureau fails that worker and the loop has a re-collection to do).
OTHER_UNIT = "10099999"

_CONV = make_converter()


# -- the bureau, in the test's process -----------------------------------------------------


@attrs.define
class KillPlan:
    """Kill the process ``pid`` while its ``nth`` submit of ``kind`` is in flight:
    ``before`` the bureau accepts it, or ``after`` (before it answers)."""

    kind: DeclarationKind
    when: str
    nth: int = 1
    pid: int | None = None
    fired: bool = False


class BureauServer(socketserver.ThreadingTCPServer):
    """A :class:`ReferenceBureau` served on 127.0.0.1 (port chosen by the system).

    :meth:`reset` gives it a fresh bureau seeded from the example dossier.
    Asking a declaration's status first advances the bureau one stage
    (``tick``), so following a declaration concludes it. The first workers'
    declaration of a run finds the dossier's third worker moved to another
    employer (the bureau fails it: ``bureau.other-employer``); ``window``
    brings every person back (the window visit). ``plan`` kills a process
    while a submit is in flight; ``submit_delay`` holds each submit that long
    before the bureau takes it (races).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.dossier: Dossier = example()
        self.bureau = ReferenceBureau()
        self.plan: KillPlan | None = None
        self.pid_known = threading.Event()
        self.submit_delay = 0.0
        self.submits: dict[DeclarationKind, int] = {}
        self.in_flight_kills: list[str] = []
        self.moved = False
        self.reset()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def reset(self) -> None:
        """A fresh bureau for a new run (nothing planned)."""
        with self.lock:
            clock = Clock()
            self.bureau = ReferenceBureau(clock=clock, as_of=self.dossier.as_of)
            self.bureau.seed_dossier(self.dossier)
            self.plan = None
            self.pid_known.clear()
            self.submits = {}
            self.moved = False

    def set_plan(self, plan: KillPlan | None) -> None:
        with self.lock:
            self.plan = plan
            self.pid_known.clear()

    def set_pid(self, pid: int) -> None:
        with self.lock:
            if self.plan is not None:
                self.plan.pid = pid
        self.pid_known.set()

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    # -- what a request does ---------------------------------------------------------

    def answer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to a request, or ``None`` when the caller was killed."""
        op = request.get("op")
        args = request.get("args", {})
        try:
            if op == "sync":
                with self.lock:
                    result = self.bureau.sync(args["unit_no"])
                return {"ok": _sync_dict(result)}
            if op == "pending":
                with self.lock:
                    pending = self.bureau.pending_declarations(args["unit_no"])
                return {"ok": [p.to_dict() for p in pending]}
            if op == "status":
                with self.lock:
                    self.bureau.tick()
                    status = self.bureau.status(args["declaration_id"], unit_no=args["unit_no"])
                    return {"ok": status.to_dict()}
            if op == "window":
                with self.lock:
                    for person in self.bureau.persons.values():
                        if person.unit_no == OTHER_UNIT:
                            self.bureau.transfer_person(person.person_no, args["unit_no"])
                return {"ok": None}
            if op == "submit":
                return self._submit(args)
        except BureauError as exc:
            return {"error": {"bureau": True, "code": exc.code, "message": str(exc)}}
        return {"error": {"bureau": False, "code": "transport.error", "message": f"no op {op!r}"}}

    def _submit(self, args: dict[str, Any]) -> dict[str, Any] | None:
        kind = DeclarationKind(args["kind"])
        if self.submit_delay:
            time.sleep(self.submit_delay)
        with self.lock:
            n = self.submits[kind] = self.submits.get(kind, 0) + 1
            plan = self.plan
            fire = plan is not None and not plan.fired and plan.kind is kind and plan.nth == n
        if fire and plan is not None and plan.when == "before":
            self._kill(plan, "before")
            return None
        with self.lock:
            if kind is DeclarationKind.WORKERS and not self.moved:
                self.moved = True
                moved = self.bureau.person_by_id(self.dossier.workers[2].id_number)
                assert moved is not None
                self.bureau.transfer_person(moved.person_no, OTHER_UNIT)
            status = self.bureau.submit(
                args["unit_no"],
                kind,
                args["payload"],
                idempotency_key=args["idempotency_key"],
                linked_to=args.get("linked_to"),
            )
        if fire and plan is not None:
            self._kill(plan, "after")
            return None
        return {"ok": status.to_dict()}

    def _kill(self, plan: KillPlan, when: str) -> None:
        self.pid_known.wait(30)
        with self.lock:
            plan.fired = True
            pid = plan.pid
            self.in_flight_kills.append(f"{plan.kind.value}:{when}")
        assert pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class _Handler(socketserver.StreamRequestHandler):
    timeout = SOCKET_TIMEOUT
    server: BureauServer

    def handle(self) -> None:
        line = self.rfile.readline(MAX_MESSAGE + 1)
        if not line.endswith(b"\n") or len(line) > MAX_MESSAGE:
            return  # cut off or too long: no answer
        answer = self.server.answer(json.loads(line))
        if answer is None:
            return  # the caller was killed while its call was in flight
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")


def _sync_dict(result: SyncResult) -> dict[str, Any]:
    return {
        "unit_no": result.unit_no,
        "at": result.at,
        "employer": result.employer,
        "persons": list(result.persons),
    }


# -- the transport, in the processes -------------------------------------------------------


class SocketTransport:
    """A transport to :class:`BureauServer` (one connection per call)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _call(self, op: str, **args: Any) -> Any:
        data = json.dumps({"op": op, "args": args}, ensure_ascii=False).encode() + b"\n"
        if len(data) > MAX_MESSAGE:
            raise TransportError("the request is too large")
        try:
            with socket.create_connection(("127.0.0.1", self.port), SOCKET_TIMEOUT) as conn:
                conn.settimeout(SOCKET_TIMEOUT)
                conn.sendall(data)
                with conn.makefile("rb") as answer:
                    line = answer.readline(MAX_MESSAGE + 1)
        except OSError as exc:
            raise TransportError(f"the bureau cannot be reached: {exc}") from None
        if not line.endswith(b"\n"):
            raise TransportError("the bureau did not answer")
        reply = json.loads(line)
        if "error" in reply:
            error = reply["error"]
            raise (BureauError if error["bureau"] else TransportError)(error["message"])
        return reply["ok"]

    def sync(self, unit_no: str) -> SyncResult:
        d = self._call("sync", unit_no=unit_no)
        return SyncResult(
            unit_no=d["unit_no"], at=d["at"], employer=d["employer"], persons=tuple(d["persons"])
        )

    def pending_declarations(self, unit_no: str) -> list[DeclarationStatus]:
        return [DeclarationStatus.from_dict(d) for d in self._call("pending", unit_no=unit_no)]

    def submit(
        self,
        unit_no: str,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        linked_to: str | None = None,
    ) -> DeclarationStatus:
        d = self._call(
            "submit",
            unit_no=unit_no,
            kind=kind.value,
            payload=payload,
            idempotency_key=idempotency_key,
            linked_to=linked_to,
        )
        return DeclarationStatus.from_dict(d)

    def status(self, declaration_id: str, *, unit_no: str | None = None) -> DeclarationStatus:
        d = self._call("status", declaration_id=declaration_id, unit_no=unit_no)
        return DeclarationStatus.from_dict(d)

    def window(self, unit_no: str) -> None:
        """The window visit: the bureau brings its persons back to ``unit_no``."""
        self._call("window", unit_no=unit_no)

    def close(self) -> None:
        """Nothing to release: each call has its own connection."""


# -- the loop, in the processes --------------------------------------------------------------


def open_session(
    url: str, port: int, **options: Any
) -> tuple[CollectionSession, Any, SocketTransport]:
    """A session on the store ``url`` (opened with ``options``) and the bureau on
    ``port`` (no renderers: the print steps record the forms as printed
    without drawing them)."""
    dossier = example()
    host = PluginHost(load_entry_points=False, plugins=plugins_for(url))
    storage = host.open_storage(url, **options)
    transport = SocketTransport(port)
    session = CollectionSession(
        storage,
        transport,
        unit_no=dossier.employer.unit_no,
        actor=f"clerk-{os.getpid()}",
        host=host,
        as_of=dossier.as_of,
        clock=Clock(),
    )
    return session, storage, transport


def drive(
    session: CollectionSession, transport: SocketTransport, step: Callable[[str], Any]
) -> None:
    """The whole loop from wherever the store stands: each step looks at what
    is stored and does only what is missing, so running it again after a kill
    goes on where the kill stopped it. ``step(name)`` is a context manager
    around each step."""
    dossier = example()
    employer: Employer = dossier.employer
    unit = employer.unit_no
    by_key = {session.key_of(w): w for w in dossier.workers}
    keys = sorted(by_key)

    if session.state() is None:
        with step("start"):
            session.start()
    if not _state(session).sync_no:
        with step("sync"):
            session.sync()
    if _state(session).employer is None:
        with step("collect_employer"):
            session.collect_employer(employer)
    if _state(session).employer_declaration is None:
        with step("submit_employer"):
            session.submit_employer_declaration()
    key = _state(session).employer_declaration
    assert key is not None
    while not session.declaration(key).state.concluded:
        with step("refresh_employer"):
            session.refresh(key)

    for _round in range(5):
        stored = {w.key: w for w in session.workers()}
        failed = sorted(k for k, w in stored.items() if w.status is WorkerStatus.FAILED)
        if failed:
            with step("window"):
                transport.window(unit)
                for k in failed:
                    session.record_window_visit(k, "transferred back at the window")
            with step("sync"):
                session.sync()
        state = _state(session)
        todo = [k for k in keys if k not in stored or stored[k].status is WorkerStatus.FAILED]
        unprinted = [k for k in todo if state.verification.get(k) != state.sync_no]
        if unprinted:
            with step("print_verification"):
                session.print_verification_forms(unprinted)
        for k in todo:
            with step("save"):
                if k in stored:
                    session.worker(k)
                session.save_worker(by_key[k])
        collected = [w for w in session.workers() if w.status is WorkerStatus.COLLECTED]
        if any(not w.confirmation_printed for w in collected):
            with step("print_confirmation"):
                session.print_confirmation_forms()
        unreceived = [w.key for w in collected if not w.form_received]
        if unreceived:
            with step("record_received"):
                session.record_received(unreceived)
        if collected:
            with step("print_summary"):
                session.print_summary_sheet()
        decls = session.declarations()
        pending = [d for d in decls if d.kind is DeclarationKind.WORKERS and not d.state.concluded]
        if collected or any(d.state is DeclarationState.DRAFT for d in pending):
            # DeclarationInFlight: one is being followed (below)
            with step("submit_workers"), contextlib.suppress(DeclarationInFlight):
                session.submit_declaration()
        for d in session.declarations():
            while d.kind is DeclarationKind.WORKERS and not d.state.concluded:
                with step("refresh_workers"):
                    d = session.refresh(d.key)
        if all(w.status is WorkerStatus.ACCEPTED for w in session.workers()) and len(
            session.workers()
        ) == len(keys):
            return
    raise AssertionError("the loop did not complete in 5 rounds")


def _state(session: CollectionSession) -> SessionState:
    state = session.state()
    assert state is not None
    return state


def run_loop(url: str, port: int, report: Any, **options: Any) -> None:
    """A process of the fault test: the loop on the store ``url`` (opened with
    ``options``), each step reported on ``report`` (a multiprocessing
    connection); ``("finished",)`` at the end."""

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        report.send(("step", name))
        yield
        report.send(("done", name))

    session, storage, transport = open_session(url, port, **options)
    try:
        drive(session, transport, step)
    finally:
        session.close()
        storage.close()
    report.send(("finished",))
    report.close()


def race_submit(url: str, port: int, together: Any, results: Any) -> None:
    """A process of the race test: wait for the others, then submit the workers'
    declaration; report the declaration's key or the error's code."""
    session, storage, _ = open_session(url, port)
    try:
        together.wait(60)
        try:
            outcome = session.submit_declaration().key
        except DeclarationInFlight as exc:
            outcome = exc.code
        results.put((os.getpid(), outcome))
    except BaseException as exc:  # reported, so the test fails with it
        results.put((os.getpid(), repr(exc)))
    finally:
        session.close()
        storage.close()
