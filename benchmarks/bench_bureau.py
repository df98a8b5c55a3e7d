"""Benchmark: the reference bureau processing a declaration of N workers, and a
data sync of N persons, on each state (issue 15: indexed lookups), and the
``local:`` transport's share (its JSON wire).

For each size and state (``memory``: the default dictionaries; ``sqlite``: the
bureau in DIR/bureau.db, ``ReferenceBureau.open``), one employer with N
persons is seeded (not timed), a workers declaration of all N is submitted
through ``local:`` and ticked to processing, then timed, in CPU seconds of the
process (``time.process_time``) and wall seconds:

* ``submit``: the submission through ``local:`` (the payload across the wire
  and back, the declaration stored);
* ``process``: the tick that concludes it (the bureau's checks and rules for
  every worker, each accepted person's record written);
* ``sync``: a data sync of the employer (N persons), by the bureau itself and
  through ``local:`` (``local sync``: the records across the wire too);
* ``wire`` against ``json wire``: the declaration's payload carried by the
  transport's wire (msgspec where its result equals json's) and by
  ``json.loads(json.dumps(...))``, the baseline, in the same run.

Every worker is declared without a person number, so the bureau finds each
by its identity number (the lookup issue 15 found scanning every person).
Per worker is the time over N in microseconds. The growth per doubling
between sizes n1 < n2 is (t2 / t1) ** (log 2 / log(n2 / n1)): 2.0 is linear,
4.0 quadratic (bench_collection's exponent is its log2: 1.0 linear).

``--before REV`` runs the same processing, in the same run, on the reference
bureau of an older commit (its module loaded from ``git show REV:...`` into
the installed package) at the sizes up to ``--before-upto``.

    python benchmarks/bench_bureau.py                          # 2,000, 10,000, 20,000
    python benchmarks/bench_bureau.py --sizes 500,1000 --before 56267bb --before-upto 1000
    python benchmarks/bench_bureau.py --smoke    # tiny, for CI
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib.util
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from _shared import example_workers

from pension_collect.adapters import local_transport
from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.model import Dossier, Worker
from pension_collect.ports.transport import DeclarationKind, DeclarationState

CONV = make_converter()
ROOT = Path(__file__).resolve().parent.parent


def dossier_of(n: int) -> Dossier:
    """The example dossier with its first worker copied ``n`` times under new
    identity numbers (each with the bureau's record of it), without person
    numbers: the bureau finds each person by identity number."""
    dossier, workers = example_workers(n, person_nos=False)
    made: Dossier = attrs.evolve(dossier, workers=tuple(workers))
    return made


def json_wire(data: Any) -> Any:
    """The baseline wire: what ``local:`` did before msgspec carried it."""
    return json.loads(json.dumps(data, ensure_ascii=False))


def _timed(call: Any) -> tuple[float, float, Any]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def run(bureau_class: Any, state: str, n: int, tmp: Path) -> dict[str, float]:
    """Seed; submit through local: (timed), tick to processing; time the
    concluding tick, a sync by the bureau and one through local:, and the
    payload across the wire against json's."""
    dossier = dossier_of(n)
    clock = lambda: _dt.datetime(2013, 8, 20, 9, tzinfo=_dt.UTC)  # noqa: E731
    if state == "sqlite":
        bureau = bureau_class.open(
            tmp / f"{state}-{n}", clock=clock, as_of=dossier.as_of, auto_advance=False
        )
    else:
        bureau = bureau_class(clock=clock, as_of=dossier.as_of)
    bureau.seed_dossier(dossier)
    payload = {
        "workers": [
            {"key": w.id_number, "worker": CONV.unstructure(attrs.evolve(w, bureau=None), Worker)}
            for w in dossier.workers
        ]
    }
    unit = dossier.employer.unit_no
    transport = LocalTransport(bureau)
    wire_cpu, _, crossed = _timed(lambda: local_transport._wire(payload))
    json_wire_cpu, _, by_json = _timed(lambda: json_wire(payload))
    assert crossed == by_json
    submit_cpu, _, d = _timed(
        lambda: transport.submit(unit, DeclarationKind.WORKERS, payload, idempotency_key="bench")
    )
    bureau.tick()
    process_cpu, process_wall, _ = _timed(bureau.tick)
    status = bureau.status(d.id)
    assert status.state is DeclarationState.SUCCEEDED, status.outcomes[:1]
    assert len(status.outcomes) == n
    sync_cpu, sync_wall, synced = _timed(lambda: bureau.sync(unit))
    assert len(synced.persons) == n
    local_sync_cpu, _, local_synced = _timed(lambda: transport.sync(unit))
    assert local_synced.persons == synced.persons
    if state == "sqlite":
        bureau.close()
    return {
        "submit_cpu": submit_cpu,
        "process_cpu": process_cpu,
        "process_wall": process_wall,
        "sync_cpu": sync_cpu,
        "sync_wall": sync_wall,
        "local_sync_cpu": local_sync_cpu,
        "wire_cpu": wire_cpu,
        "json_wire_cpu": json_wire_cpu,
    }


def old_bureau(rev: str) -> Any:
    """The ReferenceBureau class of commit ``rev``, loaded into the package."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/pension_collect/adapters/reference_bureau.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    import pension_collect.adapters as adapters

    path = Path(tempfile.mkdtemp()) / "_bench_old_reference_bureau.py"
    path.write_text(source, encoding="utf-8")
    name = "pension_collect.adapters._bench_old_reference_bureau"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = adapters.__name__
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.ReferenceBureau


def per_doubling(t1: float, t2: float, n1: int, n2: int) -> float:
    """Growth of a time per doubling of the size (2.0: linear)."""
    return float((t2 / t1) ** (math.log(2) / math.log(n2 / n1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,10000,20000")
    parser.add_argument("--states", default="memory,sqlite")
    parser.add_argument("--before", metavar="REV", help="also measure this commit's bureau")
    parser.add_argument("--before-upto", type=int, default=2000)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (100,200), both states, seconds (CI)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.before = "100,200", None
    sizes = [int(s) for s in args.sizes.split(",")]
    states = args.states.split(",")
    rows: dict[str, dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.before:
            old = old_bureau(args.before)
            for n in [s for s in sizes if s <= args.before_upto]:
                rows.setdefault(f"before:{args.before}:memory", {})[n] = run(
                    old, "memory", n, Path(tmp)
                )
        for state in states:
            for n in sizes:
                rows.setdefault(state, {})[n] = run(ReferenceBureau, state, n, Path(tmp))
    columns = [
        ("submit", "submit_cpu"),
        ("process", "process_cpu"),
        ("sync", "sync_cpu"),
        ("local sync", "local_sync_cpu"),
        ("wire", "wire_cpu"),
        ("json wire", "json_wire_cpu"),
    ]
    print("CPU seconds (per worker, microseconds)")
    print(f"{'state':<24}{'workers':>8}" + "".join(f"{name:>19}" for name, _ in columns))
    for state, by_size in rows.items():
        for n, t in by_size.items():
            cells = "".join(f"{t[key]:>10.3f} ({t[key] / n * 1e6:>5.0f})" for _, key in columns)
            print(f"{state:<24}{n:>8}{cells}")
            print(
                f"{'':<24}{'':>8}  wire / json wire {t['wire_cpu'] / t['json_wire_cpu']:.2f}, "
                f"process wall {t['process_wall']:.3f} s"
            )
        ns = sorted(by_size)
        for n1, n2 in itertools.pairwise(ns):
            a, b = by_size[n1], by_size[n2]
            growth = ", ".join(
                f"{name} x{per_doubling(a[key], b[key], n1, n2):.2f}"
                for name, key in columns
                if a[key] > 0 and b[key] > 0
            )
            print(f"{'':<24}{n1}->{n2} per doubling: {growth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
