"""Benchmark: the bureau protocol over HTTP on loopback against the bureau in-process.

Measured in the same run, on the same data (one employer with N persons, the
example dossier's first worker copied under new identity numbers, as
``bench_bureau.py`` makes them), for three transports:

- ``http``: the built-in HTTP transport to ``pension-collect bureau serve``
  (a child process under gunicorn, on 127.0.0.1, its state a SQLite file);
- ``local-dir``: ``local:DIR``, the reference bureau in this process on a
  SQLite file seeded alike (the same storage as the server: the ratio
  http / local-dir is the cost of the wire);
- ``local``: ``local:``, the reference bureau in memory.

Phases, each in wall seconds and in CPU seconds (for ``http`` the client's
process and the server's process tree together, read from /proc: on a
loaded machine the wall time of two processes says little about cost):

- ``sync``: a data sync of the N persons (over HTTP: pages of 1,000);
- ``submit``: one workers declaration of the N workers (the payload as the
  collection session sends it);
- ``process``: following the declaration until the bureau has concluded it
  (every worker checked and accepted; over HTTP the server advances it when
  it is read).

Each transport's phases run in a fresh interpreter of their own (the client
side, and for ``local`` and ``local-dir`` the bureau too), so that no side
pays for another's objects in its garbage collector.

Then the server's requests a second with 8 concurrent clients (8 processes,
each with its own transport and login, each asking for the employer's
pending declarations in a loop for ``--seconds``), beside 1 client: for an
employer with nothing on file (the server's own cost of an authenticated
call), and for the employer holding the N-worker declaration.

    python benchmarks/bench_transport.py            # 10,000 persons and workers
    python benchmarks/bench_transport.py --smoke    # tiny, for CI
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from pension_collect.adapters.http_transport import HttpTransport
from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.identity import canonical_id
from pension_collect.model import Dossier, Worker
from pension_collect.ports.transport import (
    DeclarationKind,
    DeclarationState,
    PasswordChangeRequired,
    Transport,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bureau import dossier_of

CONV = make_converter()
_SERVING = re.compile(r"serving (http://127\.0\.0\.1:[0-9]+)")
PASSWORD = "Bench-transport-2013!"
#: A second employer, with nothing on file, for the requests/s runs.
SMALL_UNIT = "10012399"


def payload_of(dossier: Dossier) -> dict[str, Any]:
    """The workers declaration's payload, as the collection session sends it."""
    return {
        "workers": [
            {
                "key": canonical_id(w.id_number),
                "worker": CONV.unstructure(attrs.evolve(w, bureau=None), Worker),
            }
            for w in dossier.workers
        ]
    }


def seed(data: Path, dossier: Dossier) -> str:
    """The employer and its persons in ``data/bureau.db``; its initial password."""
    with ReferenceBureau.open(data) as bureau:
        bureau.seed_dossier(dossier)
    from pension_collect.server.auth import AuthStore

    accounts = AuthStore(data / "bureau.db")
    try:
        return accounts.set_initial_password(dossier.employer.unit_no)
    finally:
        accounts.close()


class Server:
    """``pension-collect bureau serve`` in a child process on a free loopback port."""

    def __init__(self, data: Path, workers: int) -> None:
        script = Path(sys.executable).with_name("pension-collect")
        command = (
            [str(script)] if script.exists() else [sys.executable, "-m", "pension_collect.cli"]
        )
        self.log = data.with_name("server.log")
        with self.log.open("ab") as log:
            self.child = subprocess.Popen(
                [
                    *command,
                    "bureau",
                    "serve",
                    "--data",
                    str(data),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--workers",
                    str(workers),
                    "--max-body",
                    str(1024 * 1024 * 1024),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        assert self.child.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.child.stdout], [], [], 0.2)
            if ready:
                found = _SERVING.search(self.child.stdout.readline().decode())
                if found:
                    self.url = found.group(1)
                    return
            if self.child.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"the bureau server did not start; see {self.log}")

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            try:
                self.child.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.child.pid, signal.SIGKILL)
                self.child.wait(30)
        if self.child.stdout is not None:
            self.child.stdout.close()


def http_transport(url: str, unit: str, password: str) -> HttpTransport:
    return HttpTransport(url, unit_no=unit, password=password, timeout=(5, 3600), page_size=1000)


def tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of process ``pid`` and its children so far
    (Linux /proc); 0 for ``None``."""
    if pid is None:
        return 0.0
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _timed(
    figures: dict[str, float], phase: str, server: int | None, call: Callable[[], Any]
) -> Any:
    """Run ``call``; record its wall seconds and CPU seconds (this process, plus
    the server's process tree when ``server`` is its pid)."""
    gc.collect()
    wall, cpu, other = time.perf_counter(), time.process_time(), tree_cpu(server)
    result = call()
    figures[phase] = time.perf_counter() - wall
    figures[f"{phase}_cpu"] = time.process_time() - cpu + tree_cpu(server) - other
    return result


def phases(
    transport: Transport, dossier: Dossier, payload: dict[str, Any], server: int | None = None
) -> dict[str, float]:
    """Sync, submit, follow until concluded: wall and CPU seconds of each."""
    unit = dossier.employer.unit_no
    n = len(dossier.workers)
    figures: dict[str, float] = {}
    synced = _timed(figures, "sync", server, lambda: transport.sync(unit))
    assert len(synced.persons) == n, len(synced.persons)
    made = _timed(
        figures,
        "submit",
        server,
        lambda: transport.submit(
            unit, DeclarationKind.WORKERS, payload, idempotency_key=f"bench-{time.time_ns()}"
        ),
    )

    def follow() -> Any:
        status = made
        for _ in range(10):  # submitted -> processing -> concluded, one stage a read
            if status.state.concluded:
                break
            status = transport.status(made.id, unit_no=unit)
        return status

    done = _timed(figures, "process", server, follow)
    assert done.state is DeclarationState.SUCCEEDED, done.outcomes[:1]
    assert len(done.outcomes) == n
    return figures


def _measure(kind: str, n: int, where: str, password: str, server: int | None) -> dict[str, float]:
    """The phases for one transport, in this (fresh) process: ``local`` seeds a
    bureau in memory here, ``local-dir`` opens the seeded folder ``where``,
    ``http`` talks to the server at ``where`` (its password changed already)."""
    dossier = dossier_of(n)
    payload = payload_of(dossier)
    transport: Transport
    if kind == "local":
        memory = ReferenceBureau(as_of=dossier.as_of, auto_advance=True)
        memory.seed_dossier(dossier)
        transport = LocalTransport(memory)
    elif kind == "local-dir":
        transport = LocalTransport(ReferenceBureau.open(where, as_of=dossier.as_of))
    else:
        http = http_transport(where, dossier.employer.unit_no, password)
        http.login()  # not timed: the login is no part of a phase
        transport = http
    try:
        return phases(transport, dossier, payload, server)
    finally:
        transport.close()


def measured(
    kind: str, n: int, where: str, password: str = "", server: int | None = None
) -> dict[str, float]:
    """:func:`_measure` in a fresh interpreter (every side with a heap of its own
    size, as the server's workers have)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, float] = pool.apply(_measure, (kind, n, where, password, server))
    return result


def _client(url: str, unit: str, password: str, seconds: float, start: Any, out: Any) -> None:
    transport = http_transport(url, unit, password)
    transport.login()
    start.wait()
    done = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        transport.pending_declarations(unit)
        done += 1
    out.put(done)
    transport.close()


def requests_per_second(url: str, unit: str, password: str, clients: int, seconds: float) -> float:
    """Requests a second the server answers for ``clients`` concurrent processes."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(clients + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(url, unit, password, seconds, start, out))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    start.wait()
    began = time.perf_counter()
    total = sum(out.get(timeout=seconds + 600) for _ in procs)
    elapsed = max(time.perf_counter() - began, seconds)
    for p in procs:
        p.join(60)
    return total / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000, help="persons and workers (10,000)")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="length of each requests/s run (10)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument(
        "--server-workers", type=int, default=2, help="the server's worker processes (2)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.smoke:
        args.persons, args.seconds, args.clients = 50, 0.5, 2
    n = args.persons
    dossier = dossier_of(n)
    unit = dossier.employer.unit_no
    size = len(json.dumps(payload_of(dossier), ensure_ascii=False).encode())
    figures: dict[str, Any] = {"persons": n, "payload_mib": round(size / 2**20, 1)}
    with tempfile.TemporaryDirectory(prefix="bench-transport-") as tmp:
        root = Path(tmp)
        # local: (memory) and local:DIR (SQLite), the same data, each measured
        # in a fresh process
        figures["local"] = measured("local", n, "")
        seed(root / "local-dir", dossier)
        figures["local-dir"] = measured("local-dir", n, str(root / "local-dir"))
        initial = seed(root / "http", dossier)
        server = Server(root / "http", args.server_workers)
        try:
            first = http_transport(server.url, unit, initial)
            with contextlib.suppress(PasswordChangeRequired):  # as it must be: changed first
                first.login()
            first.change_password(initial, PASSWORD)
            first.close()
            figures["http"] = measured("http", n, server.url, PASSWORD, server.child.pid)
            # requests/s: an employer with nothing on file (the server's own cost
            # per authenticated call), and the one with the N-worker declaration
            small = attrs.evolve(
                dossier, employer=attrs.evolve(dossier.employer, unit_no=SMALL_UNIT), workers=()
            )
            initial_small = seed(root / "http", small)
            other = http_transport(server.url, SMALL_UNIT, initial_small)
            with contextlib.suppress(PasswordChangeRequired):
                other.login()
            other.change_password(initial_small, PASSWORD)
            other.close()
            for clients in (1, args.clients):
                figures[f"rps_{clients}"] = requests_per_second(
                    server.url, SMALL_UNIT, PASSWORD, clients, args.seconds
                )
            figures[f"rps_{args.clients}_big"] = requests_per_second(
                server.url, unit, PASSWORD, args.clients, args.seconds
            )
        finally:
            server.stop()
    for phase in ("sync", "submit", "process"):
        for base in ("local-dir", "local"):
            for what in ("", "_cpu"):
                figures[f"ratio{what}_{phase}_http_{base}"] = (
                    figures["http"][phase + what] / figures[base][phase + what]
                )
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"bench_transport: {n} persons/workers, payload {figures['payload_mib']} MiB, "
        f"server workers {args.server_workers}; seconds wall / CPU (http: client + server)"
    )
    print(
        f"  {'phase':8} {'local':>15} {'local:DIR':>15} {'http':>15}"
        f"  http/DIR wall, CPU  http/local wall, CPU"
    )
    for phase in ("sync", "submit", "process"):
        cells = [
            f"{figures[t][phase]:6.2f} / {figures[t][phase + '_cpu']:6.2f}"
            for t in ("local", "local-dir", "http")
        ]
        print(
            f"  {phase:8} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15}"
            f"  {figures[f'ratio_{phase}_http_local-dir']:8.2f}"
            f" {figures[f'ratio_cpu_{phase}_http_local-dir']:5.2f}"
            f"  {figures[f'ratio_{phase}_http_local']:10.2f}"
            f" {figures[f'ratio_cpu_{phase}_http_local']:5.2f}"
        )
    print(
        "  throughput (wall): "
        + "; ".join(
            f"{t} sync {n / figures[t]['sync']:.0f}/s, submit+process "
            f"{n / (figures[t]['submit'] + figures[t]['process']):.0f}/s"
            for t in ("local", "local-dir", "http")
        )
    )
    print(
        f"  requests/s (pending declarations, nothing on file): 1 client "
        f"{figures['rps_1']:.0f}, {args.clients} clients {figures[f'rps_{args.clients}']:.0f}; "
        f"the employer with the {n}-worker declaration, {args.clients} clients "
        f"{figures[f'rps_{args.clients}_big']:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
