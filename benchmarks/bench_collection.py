"""Benchmark: the whole collection loop at N workers, step by step (issue 15).

One run carries one employer with N workers through every step of
docs/workflow.md over a store and a bureau transport, and times each step
(CPU seconds of the process, ``time.process_time``, and wall seconds):

    start, sync, employer (collect, declare, the bureau's answer),
    print verification forms, save_worker x N (``save_workers``),
    print confirmation forms, record_received, print summary sheet, submit,
    bureau processing (the reference bureau checks the declaration: ``settle``),
    follow (outcomes recorded), record_window_visit x failed, second sync,
    print verification forms of the failed, recollect (``save_worker`` x failed),
    confirmation and receipts of the failed, second submit, second bureau
    processing (the failed only), second follow.

1% of the workers (at least one) are taken over by another employer at the
bureau before the first declaration is processed, so the bureau fails them
(``bureau.other-employer``, a window-type reason); they are handed back at
the window, and collected again exactly as docs/workflow.md says. The whole
loop is the sum of the steps; setting up (making the workers, seeding the
bureau) is not timed.

Every installed store is measured: ``memory:``, ``sqlite:`` (a file in a
temporary folder) and, where the plugin pension-collect-postgres and the
PostgreSQL server binaries are installed, ``postgresql:`` on a throwaway
server started for the run (as durable as SQLite's ``synchronous=FULL``; on
CI, ``CI`` set, a missing plugin or server is an error). Transports:
``local:`` (the reference bureau in-process, so its CPU is the process's) with
every store, and, where the server extra is installed, ``http://`` with the
stores of ``--http-stores`` (default SQLite): each run seeds a bureau data
folder (``pension-collect bureau seed``), starts ``pension-collect bureau
serve --sandbox`` on a free port, changes the initial password, and moves the
bureau on with the sandbox window services (transfers, ``tick`` for the
processing); the server's CPU (its processes, read from /proc) is added to the
step's CPU and given apart as ``server_cpu``. On CI a missing server extra is
an error. With PostgreSQL the database server's CPU is not counted: compare
wall times.

Forms: off (no ``out_dir``: the print steps record the print and write no
file) at every size, on (PDF files written) at sizes up to ``--forms-upto``.

Each run is a fresh interpreter (no run inherits another's heap or garbage
collector state) reading bytecode, as an installed package does (written by a
first untimed run into a temporary ``PYTHONPYCACHEPREFIX``); ``--repeat`` runs
of each (store, size, forms) are interleaved and the median of each step is
used. Between two sizes n1 < n2 the growth exponent of a step is log(t2 / t1)
/ log(n2 / n1) on CPU time (1.0: linear; 2.0: quadratic); a step shorter than
5 ms at n1 gets none. It is computed for each repeat from that repeat's two
runs (run close together, so a slow spell of the shared machine hits both
sides alike), and the median of those is the step's exponent, printed with
their lowest and highest: a step whose exponents straddle a bound swings with
the machine's load, one whose lowest is above it grows faster than its
workers. Nothing is dropped: with one repeat the exponent is that repeat's.
Also printed: the exponent of the median times and that of the fastest times
(the least disturbed run of each size: another process on a shared machine
only ever adds CPU time, through caches, memory bandwidth and a shared core).

``--before DIR`` runs the same children, in the same run, on another source
tree (``DIR/src`` first on the path, e.g. an export of an older commit) at the
sizes up to ``--before-upto``, forms off: before and after figures side by
side.

    python benchmarks/bench_collection.py                 # 2,000, 10,000, 20,000 workers
    python benchmarks/bench_collection.py --smoke         # tiny, for CI
    python benchmarks/bench_collection.py --sizes 1000,2000 --stores sqlite --json
    python benchmarks/bench_collection.py --callgrind --stores memory --forms-upto 0

``--callgrind`` runs each child once under ``valgrind --tool=callgrind``
(some 60 times slower) and counts the instructions of every step: each step
is bracketed by a call of ``os.getloadavg``, and callgrind dumps its counts
at each (``--dump-before=os_getloadavg``; a Python built without symbols
has no such function to find, and the run stops saying so). A count is the
same on every run, whatever else the machine does: the growth exponents of
the counts are a measure no other process moves. They count instructions,
not time (cache misses, page faults and the kernel's work are not in them:
docs/workflow.md). The CPU and wall figures of such a run are valgrind's.
The http transport is left out (its server is another process).

Targets (issue 15): every step's growth exponent from 10k to 20k at most
1.15; the whole loop at 20,000 workers without form files under 60 s CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _shared import (
    callgrind_command,
    callgrind_parts,
    example_workers,
    postgres_server,
    require_valgrind,
)

#: The steps in the order they run (names of the figures).
STEPS = (
    "start",
    "sync",
    "employer",
    "print_verification",
    "save_worker_xN",
    "print_confirmation",
    "record_received",
    "print_summary",
    "submit",
    "bureau_processing",
    "follow",
    "record_window_visit_xfailed",
    "sync_again",
    "print_verification_failed",
    "recollect_xfailed",
    "confirmation_received_failed",
    "submit_again",
    "bureau_processing_failed",
    "follow_again",
)

OTHER_UNIT = "10099999"
SHORT = 0.005
"""Seconds under which a step gets no growth exponent (too short to measure)."""

SHORT_INSTRUCTIONS = 5_000_000
"""Instructions under which a step gets no growth exponent (``--callgrind``)."""

MARK_ENV = "PENSION_BENCH_MARKS"
"""Set in a child run under callgrind: each step is bracketed by a call of
``os.getloadavg``, whose C function (:data:`_shared.MARK_SYMBOL`) callgrind dumps its
counts before (``--dump-before``), so each dump holds one step or one gap."""


# -- one run (in a child process) ------------------------------------------------------------


def _workers(n: int) -> tuple[Any, list[Any]]:
    """The example dossier's first worker copied ``n`` times with new identity
    and person numbers (and the bureau's record of each)."""
    return example_workers(n, person_nos=True)


class LocalBureau:
    """The reference bureau in this process (``local:``)."""

    def __init__(self, dossier: Any, host: Any) -> None:
        from pension_collect.adapters.reference_bureau import ReferenceBureau

        self.bureau = ReferenceBureau(as_of=dossier.as_of)
        self.bureau.seed_dossier(dossier)
        self.transport = host.open_transport("local:", bureau=self.bureau)

    def transfer(self, person_no: str, unit_no: str) -> None:
        self.bureau.transfer_person(person_no, unit_no)

    def process(self) -> None:
        self.bureau.settle()

    def server_cpu(self) -> float:
        return 0.0

    def close(self) -> None:
        self.transport.close()


WINDOW_TOKEN = "bench-collection-window-token"
NEW_PASSWORD = "Bench-collection-2013!"


class HttpBureau:
    """``pension-collect bureau serve --sandbox`` in a data folder of ``tmp``,
    seeded with the dossier; the session reaches it over HTTP. The server's CPU
    (its master and worker processes, from /proc) is measured beside the
    process's."""

    def __init__(self, dossier: Any, host: Any, tmp: str) -> None:
        import re
        import select

        from pension_collect.dossier import dumps

        script = str(Path(sys.executable).with_name("pension-collect"))
        data, seed = Path(tmp) / "bureau", Path(tmp) / "seed.json"
        seed.write_text(dumps(dossier, indent=None), encoding="utf-8")
        done = subprocess.run(
            [script, "bureau", "seed", "--data", str(data), str(seed)],
            capture_output=True,
            text=True,
            check=True,
        )
        unit = dossier.employer.unit_no
        found = re.search(rf"^employer {unit}: initial password (\S+) ", done.stdout, re.M)
        if found is None:
            raise SystemExit(f"bureau seed printed no initial password: {done.stdout[-500:]}")
        env = dict(os.environ, PENSION_COLLECT_BUREAU_WINDOW_TOKEN=WINDOW_TOKEN)
        self.server = subprocess.Popen(
            [
                script,
                "bureau",
                "serve",
                "--data",
                str(data),
                "--port",
                "0",
                "--sandbox",
                "--max-body",
                str(2**30),
                "--workers",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.server.stdout is not None
        ready, _, _ = select.select([self.server.stdout], [], [], 120)
        line = self.server.stdout.readline() if ready else ""
        served = re.search(r"serving (http://\S+)", line)
        if served is None:
            self.close()
            raise SystemExit(f"the bureau server did not start: {line!r}")
        self.url = served.group(1)
        self.transport = host.open_transport(
            self.url, unit_no=unit, password=found.group(1), timeout=600
        )
        self.transport.change_password(found.group(1), NEW_PASSWORD)

    def _window(self, path: str, body: dict[str, Any] | None = None) -> Any:
        import urllib.request

        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body or {}).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "X-Window-Token": WINDOW_TOKEN},
        )
        with urllib.request.urlopen(request, timeout=600) as answer:
            return json.loads(answer.read())

    def transfer(self, person_no: str, unit_no: str) -> None:
        self._window(f"/api/v1/sandbox/persons/{person_no}/transfer", {"unit_no": unit_no})

    def process(self) -> None:
        for _ in range(10):  # as settle(): tick until nothing is due
            if not self._window("/api/v1/sandbox/tick")["changed"]:
                return

    def server_cpu(self) -> float:
        """CPU seconds of the server's processes (the master and its children)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(entry.name), int(fields[1])
            if self.server.pid in (pid, ppid):
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.transport.close()
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()


def run_once(
    n: int, store_url: str, forms_dir: str | None, transport: str = "local", tmp: str = ""
) -> dict[str, Any]:
    """The whole loop at ``n`` workers on ``store_url`` and the bureau over
    ``transport`` (``local`` or ``http``); CPU and wall seconds per step."""
    from pension_collect.model import Dossier
    from pension_collect.plugins import PluginHost
    from pension_collect.workflow import CollectionSession

    example, workers = _workers(n)
    dossier = Dossier(employer=example.employer, workers=tuple(workers), as_of=example.as_of)
    unit = dossier.employer.unit_no
    host = PluginHost()
    bureau = LocalBureau(dossier, host) if transport == "local" else HttpBureau(dossier, host, tmp)
    storage = host.open_storage(store_url)
    session = CollectionSession(
        storage, bureau.transport, unit_no=unit, actor="bench", host=host, as_of=dossier.as_of
    )
    keys = [session.key_of(w) for w in workers]
    by_key = dict(zip(keys, workers, strict=True))
    person_no = {k: w.person_no for k, w in by_key.items()}
    taken = keys[:: max(1, min(100, n))][: max(1, n // 100)]
    out: dict[str, dict[str, float]] = {}
    state: dict[str, Any] = {}

    mark = os.getloadavg if os.environ.get(MARK_ENV) else None

    def step(name: str, fn: Callable[[], Any]) -> Any:
        if mark is not None:
            mark()
        c0, w0, s0 = time.process_time(), time.perf_counter(), bureau.server_cpu()
        result = fn()
        server = bureau.server_cpu() - s0
        if mark is not None:
            mark()
        out[name] = {
            "cpu": time.process_time() - c0 + server,
            "wall": time.perf_counter() - w0,
            "server_cpu": server,
        }
        return result

    def employer() -> None:
        session.collect_employer(dossier.employer)
        decl = session.submit_employer_declaration()
        bureau.process()
        session.refresh(decl.key)

    def saved() -> None:
        batch = session.save_workers(workers)
        if batch.refused:
            raise SystemExit(f"{len(batch.refused)} workers refused: {batch.refused[0]!r}")

    def submit() -> None:
        state["decl"] = session.submit_declaration()

    def visits() -> None:
        state["failed"] = failed = session.failed_workers()
        if sorted(failed) != sorted(taken):
            raise SystemExit(f"the bureau failed {len(failed)} workers, not {len(taken)}")
        for key in failed:
            session.record_window_visit(key)

    def recollect() -> None:
        for key in state["failed"]:
            session.save_worker(by_key[key])

    def confirmation_failed() -> None:
        session.print_confirmation_forms(state["failed"], out_dir=forms_dir)
        session.record_received(state["failed"])

    def follow_again() -> None:
        (decl,) = session.follow()
        if decl.state.value != "succeeded":
            raise SystemExit(f"the re-collection ended {decl.state.value}")

    step("start", session.start)
    step("sync", session.sync)
    step("employer", employer)
    step("print_verification", lambda: session.print_verification_forms(out_dir=forms_dir))
    step("save_worker_xN", saved)
    step("print_confirmation", lambda: session.print_confirmation_forms(out_dir=forms_dir))
    step("record_received", lambda: session.record_received(keys))
    step("print_summary", lambda: session.print_summary_sheet(out_dir=forms_dir))
    for key in taken:  # at the bureau, not timed: another employer takes them over
        bureau.transfer(person_no[key], OTHER_UNIT)
    step("submit", submit)
    step("bureau_processing", bureau.process)
    step("follow", session.follow)
    for key in taken:  # the window hands them back
        bureau.transfer(person_no[key], unit)
    step("record_window_visit_xfailed", visits)
    step("sync_again", session.sync)
    step(
        "print_verification_failed",
        lambda: session.print_verification_forms(state["failed"], out_dir=forms_dir),
    )
    step("recollect_xfailed", recollect)
    step("confirmation_received_failed", confirmation_failed)
    step("submit_again", submit)
    step("bureau_processing_failed", bureau.process)
    step("follow_again", follow_again)
    storage.close()
    bureau.close()
    return {"steps": out, "failed": len(taken)}


def _child(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store_url.replace("{tmp}", tmp)
        forms = str(Path(tmp) / "forms") if args.forms else None
        if forms is not None:
            Path(forms).mkdir()
        result = run_once(args.workers, url, forms, args.transport, tmp)
    print(json.dumps(result))
    return 0


# -- the parent: runs, medians, exponents -----------------------------------------------------


def _http_available() -> bool:
    """Whether ``pension-collect bureau serve`` can run here (the server extra),
    printing why not; on CI its absence is an error."""
    script = Path(sys.executable).with_name("pension-collect")
    missing = [m for m in ("flask", "gunicorn", "requests") if importlib.util.find_spec(m) is None]
    if not missing and script.exists():
        done = subprocess.run(
            [str(script), "bureau", "serve", "--help"], capture_output=True, check=False
        )
        if done.returncode == 0:
            return True
        why = "pension-collect has no command bureau serve"
    else:
        why = f"the server extra is not installed ({', '.join(missing) or 'pension-collect'})"
    if os.environ.get("CI"):
        raise SystemExit(f"error: the HTTP bureau cannot be measured on CI: {why}")
    print(f"HTTP bureau left out: {why}", file=sys.stderr)
    return False


#: Where the children keep bytecode (set by main): a package installed by pip
#: has its modules compiled, so a lazy import inside a step reads bytecode
#: rather than compiling the module (PYTHONDONTWRITEBYTECODE in the parent's
#: environment would make every run compile them).
PYCACHE: dict[str, str] = {}


def _run_child(
    n: int,
    url: str,
    forms: bool,
    src: str | None,
    timeout: float,
    transport: str,
    callgrind: str | None = None,
) -> dict[str, dict[str, float]]:
    """One run in a fresh interpreter; with ``callgrind`` (a folder for its
    files) under ``valgrind --tool=callgrind``, each step's instruction count
    added as ``instructions``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | PYCACHE
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(src) / "src"), *filter(None, [env.get("PYTHONPATH")])]
        )
    cmd = [sys.executable, __file__, "--child", "--workers", str(n), "--store-url", url]
    cmd += ["--transport", transport]
    if forms:
        cmd.append("--forms")
    out_file = None
    if callgrind is not None:
        prefix, out_file = callgrind_command(callgrind)
        # the same hash seed in every run: set and dict layouts, so counts, repeat
        env |= {MARK_ENV: "1", "PYTHONHASHSEED": "0"}
        cmd = [*prefix, *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"a run failed ({n} workers, {url}):\n{done.stderr[-3000:]}")
    steps: dict[str, dict[str, float]] = json.loads(done.stdout.splitlines()[-1])["steps"]
    measures = ["cpu", "wall", "server_cpu"]
    if out_file is not None:
        # part 1 is start-up and setting up, then each step and the gap after it
        counts = callgrind_parts(out_file, 2 * len(STEPS) + 1)
        for i, name in enumerate(STEPS):
            steps[name]["instructions"] = counts[1 + 2 * i]
        measures.append("instructions")
    steps["whole_loop"] = {m: sum(s[m] for s in steps.values()) for m in measures}
    return steps


def _exponent(t1: float, t2: float, n1: int, n2: int, short: float = SHORT) -> float | None:
    if t1 < short or t2 <= 0:
        return None
    return round(math.log(t2 / t1) / math.log(n2 / n1), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,10000,20000", help="workers, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stores", default="memory,sqlite,postgresql")
    parser.add_argument("--transports", default="local,http")
    parser.add_argument(
        "--http-stores", default="sqlite", help="the stores the http transport runs with"
    )
    parser.add_argument(
        "--forms-upto", type=int, default=2000, help="forms on at sizes up to this too"
    )
    parser.add_argument("--before", metavar="DIR", help="also run the source tree DIR")
    parser.add_argument("--before-upto", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a run may take")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="also count each step's instructions under valgrind (one run each, some 60x slower)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store-url", help=argparse.SUPPRESS)
    parser.add_argument("--forms", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--transport", default="local", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    if args.smoke:
        args.sizes, args.repeat, args.forms_upto = "20,40", 1, 40
    callgrind = None
    if args.callgrind:
        require_valgrind()
        # counts repeat exactly: one run of each; the bureau server's and
        # PostgreSQL's instructions are other processes', not counted
        args.repeat, args.timeout = 1, args.timeout * 100
        if "http" in args.transports:
            print(
                "--callgrind: the http transport left out (its server is another process)",
                file=sys.stderr,
            )
            args.transports = "local"
        callgrind = tempfile.TemporaryDirectory()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    stores = [s.strip() for s in args.stores.split(",")]
    pg = postgres_server() if "postgresql" in stores else None
    if pg is None:
        stores = [s for s in stores if s != "postgresql"]
    transports = [t.strip() for t in args.transports.split(",")]
    if "http" in transports and not _http_available():
        transports.remove("http")
    pairs = [(store, "local") for store in stores if "local" in transports]
    pairs += [
        (store, "http") for store in stores if "http" in transports and store in args.http_stores
    ]
    cache = tempfile.TemporaryDirectory()
    PYCACHE["PYTHONPYCACHEPREFIX"] = cache.name
    trees: list[tuple[str, str | None]] = [("after", None)]
    if args.before:
        trees.append(("before", args.before))
    runs: dict[tuple[str, str, str, int, bool], list[dict[str, dict[str, float]]]] = {}
    try:
        for _, src in trees:  # bytecode written before anything is timed
            _run_child(10, "memory:", True, src, args.timeout, "local")
        for r in range(args.repeat):
            for n in sizes:
                for store, transport in pairs:
                    for forms in (False, True) if n <= args.forms_upto else (False,):
                        for tree, src in trees:
                            if tree == "before" and (
                                n > args.before_upto or forms or transport != "local"
                            ):
                                continue
                            if store == "memory":
                                url = "memory:"
                            elif store == "sqlite":
                                url = "sqlite://{tmp}/collection.db"
                            else:
                                assert pg is not None
                                url = pg.url(schema=f"{tree}_{transport}_{n}_{int(forms)}_{r}")
                            steps = _run_child(
                                n,
                                url,
                                forms,
                                src,
                                args.timeout,
                                transport,
                                None if callgrind is None else callgrind.name,
                            )
                            runs.setdefault((tree, store, transport, n, forms), []).append(steps)
                            print(
                                f"{tree:6} {store:10} {transport:5} {n:6} "
                                f"forms {'on ' if forms else 'off'} "
                                f"run {r + 1}: whole loop {steps['whole_loop']['cpu']:.2f} s CPU"
                                + (
                                    f", {steps['whole_loop']['instructions'] / 1e9:.2f} G "
                                    "instructions"
                                    if callgrind is not None
                                    else ""
                                ),
                                file=sys.stderr,
                            )
    finally:
        cache.cleanup()
        if callgrind is not None:
            callgrind.cleanup()
        if pg is not None:
            pg.stop()
    figures = _figures(runs, sizes)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures)
    return 0


def _figures(
    runs: dict[tuple[str, str, str, int, bool], list[dict[str, dict[str, float]]]],
    sizes: list[int],
) -> dict[str, Any]:
    """Medians per step, and the growth exponents between consecutive sizes."""
    out: list[dict[str, Any]] = []
    for (tree, store, transport, n, forms), reps in sorted(runs.items()):
        measures = ["cpu", "wall", "server_cpu"]
        if all("instructions" in rep["whole_loop"] for rep in reps):
            measures.append("instructions")
        median = {
            name: {m: round(statistics.median(rep[name][m] for rep in reps), 4) for m in measures}
            for name in (*STEPS, "whole_loop")
        }
        out.append(
            {"tree": tree, "store": store, "transport": transport, "workers": n}
            | {"forms": forms, "runs": len(reps), "steps": median}
        )
    growth: list[dict[str, Any]] = []
    for a in out:
        later = [
            b
            for b in out
            if (b["tree"], b["store"], b["transport"], b["forms"])
            == (a["tree"], a["store"], a["transport"], a["forms"])
            and b["workers"] > a["workers"]
        ]
        if not later:
            continue
        b = min(later, key=lambda x: x["workers"])
        group = (a["tree"], a["store"], a["transport"])
        reps_a = runs[(*group, a["workers"], a["forms"])]
        reps_b = runs[(*group, b["workers"], b["forms"])]
        exponent: dict[str, float | None] = {}
        spread: dict[str, list[float] | None] = {}
        for name in (*STEPS, "whole_loop"):
            # repeat r at n1 against repeat r at n2: run close together
            paired = [
                _exponent(ra[name]["cpu"], rb[name]["cpu"], a["workers"], b["workers"])
                for ra, rb in zip(reps_a, reps_b, strict=False)
            ]
            known = [e for e in paired if e is not None]
            if len(known) < len(paired) or not known:
                exponent[name], spread[name] = None, None
            else:
                exponent[name] = round(statistics.median(known), 2)
                spread[name] = [min(known), max(known)]
        counted = "instructions" in a["steps"]["whole_loop"]
        counted = counted and "instructions" in b["steps"]["whole_loop"]
        growth.append(
            {
                "tree": a["tree"],
                "store": a["store"],
                "transport": a["transport"],
                "forms": a["forms"],
                "from": a["workers"],
                "to": b["workers"],
                "exponent": exponent,
                "exponent_range": spread,
                "exponent_of_medians": {
                    name: _exponent(
                        a["steps"][name]["cpu"], b["steps"][name]["cpu"], a["workers"], b["workers"]
                    )
                    for name in (*STEPS, "whole_loop")
                },
                "exponent_of_fastest": {
                    name: _exponent(
                        min(r[name]["cpu"] for r in reps_a),
                        min(r[name]["cpu"] for r in reps_b),
                        a["workers"],
                        b["workers"],
                    )
                    for name in (*STEPS, "whole_loop")
                },
            }
            | (
                {
                    "instruction_exponent": {
                        name: _exponent(
                            a["steps"][name]["instructions"],
                            b["steps"][name]["instructions"],
                            a["workers"],
                            b["workers"],
                            SHORT_INSTRUCTIONS,
                        )
                        for name in (*STEPS, "whole_loop")
                    }
                }
                if counted
                else {}
            )
        )
    return {"sizes": sizes, "runs": out, "growth": growth}


def _print(figures: dict[str, Any]) -> None:
    for run in figures["runs"]:
        print(
            f"\n{run['tree']}: {run['store']}, {run['transport']}, {run['workers']} workers, forms "
            f"{'on' if run['forms'] else 'off'} (median of {run['runs']}): CPU s / wall s"
        )
        for name, t in run["steps"].items():
            count = t.get("instructions")
            print(
                f"  {name:30} {t['cpu']:9.3f} {t['wall']:9.3f}"
                + ("" if count is None else f" {count / 1e6:12.1f} M instructions")
            )
    for g in figures["growth"]:
        print(
            f"\ngrowth exponent, {g['tree']}: {g['store']}, {g['transport']}, "
            f"forms {'on' if g['forms'] else 'off'}, "
            f"{g['from']} -> {g['to']} workers (CPU; median of the repeats' exponents, "
            "lowest..highest, exponent of the median times, of the fastest times)"
        )
        for name, e in g["exponent"].items():
            spread, of_medians = g["exponent_range"][name], g["exponent_of_medians"][name]
            fastest = g["exponent_of_fastest"][name]
            print(
                f"  {name:30} {'-' if e is None else f'{e:5.2f}'}"
                + ("" if spread is None else f"  {spread[0]:5.2f}..{spread[1]:5.2f}")
                + ("" if of_medians is None else f"  {of_medians:5.2f}")
                + ("" if fastest is None else f"  {fastest:5.2f}")
            )
        counted = g.get("instruction_exponent")
        if counted is not None:
            print(
                f"growth exponent of the instruction counts (callgrind), {g['store']}, "
                f"{g['from']} -> {g['to']} workers"
            )
            for name, e in counted.items():
                print(f"  {name:30} {'-' if e is None else f'{e:5.2f}'}")


if __name__ == "__main__":
    sys.exit(main())
