"""Benchmark: saving and loading N collected workers in the SQLite store.

Measured in the same run, against a baseline on the same data:

- baseline save: raw ``sqlite3`` -- ``json.dumps`` each worker record, then one
  ``executemany`` INSERT in one transaction (same pragmas: WAL,
  ``synchronous=FULL``);
- store save: ``SQLiteStorage`` -- one transaction, ``put_many`` of the records
  (versions checked, JSON serialized by the store);
- store save + audit: the same plus one audit entry per worker holding the
  record as ``after`` (what a batch save with the audit log writes; the store
  keeps the data once, the entry refers to the version);
- baseline update: raw ``sqlite3`` -- ``json.dumps`` each record with a new
  status, one ``executemany`` UPDATE;
- store update + audit: on the saved-with-audit file, ``list`` then
  ``put_many`` of every worker with a new status and one entry per worker
  showing only the status (what ``worker.submitted`` writes). The first
  update of an audited version moves it to ``record_history``: the cost the
  save no longer pays is paid here, once per version the log refers to;
- baseline load: ``SELECT`` + ``json.loads`` of each record;
- store load: ``list`` of every worker record.

Each is timed ``--repeat`` times interleaved on fresh files; the best time of
each is used. Peak memory: ``tracemalloc`` peak of one save + load, store and
baseline, measured in separate runs after the timing.

PostgreSQL, in the same run, where the plugin pension-collect-postgres is
installed (issue 12): a throwaway server (``fsync`` and
``synchronous_commit`` on, as durable as SQLite's ``synchronous=FULL``) is
started for the run; the same four phases go through ``PostgresStorage``
(``pg_save``, ``pg_save_audit``, ``pg_load``, ``pg_update_audit``), each on a
fresh schema. Then the throughput of 8 concurrent writer processes, each
saving its share of the workers one per transaction (read the version, save,
one audit entry: what ``save_worker`` writes): on SQLite (one file), on
PostgreSQL for one employer (its transactions run one at a time, by the
employer lock), and on PostgreSQL for 8 employers (one each: nothing waits).
``--no-postgres`` leaves PostgreSQL out; on CI (``CI`` set) a missing plugin or
server is an error.

    python benchmarks/bench_storage.py              # 10,000 workers
    python benchmarks/bench_storage.py --smoke      # tiny, for CI

Target (issue 3): store / baseline <= 2.0 for save and for load.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib.util
import json
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import attrs

from pension_collect.adapters.sqlite import SQLiteStorage
from pension_collect.dossier import example_dossier_text, loads, make_converter
from pension_collect.identity import check_char
from pension_collect.model import Worker
from pension_collect.ports.storage import AuditEntry, RecordKind, Write

UNIT = "10012345"
CONV = make_converter()


def make_records(n: int) -> list[tuple[str, dict[str, Any]]]:
    """N worker records shaped as the workflow stores them (17 account years each)."""
    template = loads(example_dossier_text()).workers[0]
    base = _dt.date(1960, 1, 1)
    out = []
    for i in range(n):
        born = base + _dt.timedelta(days=i)
        first17 = f"371002{born:%Y%m%d}{i % 1000:03d}"
        key = first17 + check_char(first17)
        worker = attrs.evolve(template, id_number=key, birth_date=born, person_no=f"P{i:08d}")
        data = {
            "worker": CONV.unstructure(worker, Worker),
            "status": "collected",
            "warnings": [],
            "confirmation_printed": False,
            "form_received": False,
            "handbook_received": False,
            "declaration": None,
            "outcome": None,
            "failed_in": None,
        }
        out.append((key, data))
    return out


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def baseline_save(path: Path, records: list[tuple[str, dict[str, Any]]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS records (kind TEXT, unit_no TEXT, key TEXT, version INTEGER, "
        "data TEXT, PRIMARY KEY (kind, unit_no, key)) WITHOUT ROWID"
    )
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO records VALUES (?,?,?,1,?)",
        [("worker", UNIT, key, _dumps(data)) for key, data in records],
    )
    conn.execute("COMMIT")
    conn.close()


def baseline_load(path: Path) -> list[tuple[str, int, Any]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT key, version, data FROM records WHERE kind=? AND unit_no=? ORDER BY key",
        ("worker", UNIT),
    )
    out = [(k, v, json.loads(d)) for k, v, d in rows]
    conn.close()
    return out


def _open(where: Path | str) -> Any:
    """The store at ``where``: a SQLite file, or a ``postgresql://`` URL."""
    if isinstance(where, str):
        from pension_collect_postgres import PostgresStorage

        return PostgresStorage(where)
    return SQLiteStorage(where)


def store_save(path: Path | str, records: list[tuple[str, dict[str, Any]]], audit: bool) -> None:
    store = _open(path)
    with store.transaction() as tx:
        tx.put_many(RecordKind.WORKER, UNIT, [Write(key, data, 0) for key, data in records])
        if audit:
            at = _dt.datetime.now(_dt.UTC).isoformat()
            tx.append_audit(
                [
                    AuditEntry(
                        at=at,
                        actor="bench",
                        unit_no=UNIT,
                        action="worker.saved",
                        subject_kind=RecordKind.WORKER,
                        subject_key=key,
                        message="worker collection saved as version 1",
                        after=data,
                    )
                    for key, data in records
                ]
            )
    store.close()


def _submitted(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data, status="submitted")


def baseline_update(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("BEGIN IMMEDIATE")
    rows = conn.execute(
        "SELECT key, version, data FROM records WHERE kind=? AND unit_no=? ORDER BY key",
        ("worker", UNIT),
    ).fetchall()
    conn.executemany(
        "UPDATE records SET version = version + 1, data = ? "
        "WHERE kind=? AND unit_no=? AND key=? AND version=?",
        [(_dumps(_submitted(json.loads(d))), "worker", UNIT, k, v) for k, v, d in rows],
    )
    conn.execute("COMMIT")
    conn.close()


def store_update(path: Path | str) -> None:
    store = _open(path)
    at = _dt.datetime.now(_dt.UTC).isoformat()
    with store.transaction() as tx:
        rows = tx.list(RecordKind.WORKER, UNIT)
        tx.put_many(
            RecordKind.WORKER, UNIT, [Write(r.key, _submitted(r.data), r.version) for r in rows]
        )
        tx.append_audit(
            [
                AuditEntry(
                    at=at,
                    actor="bench",
                    unit_no=UNIT,
                    action="worker.submitted",
                    subject_kind=RecordKind.WORKER,
                    subject_key=r.key,
                    message="worker submitted",
                    before={"status": r.data["status"]},
                    after={"status": "submitted"},
                )
                for r in rows
            ]
        )
    store.close()


def store_load(path: Path | str) -> int:
    store = _open(path)
    with store.transaction() as tx:
        n = len(tx.list(RecordKind.WORKER, UNIT))
    store.close()
    return n


def _store_save_audit(path: Path, records: list[tuple[str, dict[str, Any]]]) -> None:
    store_save(path, records, True)


def _save_and_load(
    save: Callable[[Path, list[tuple[str, dict[str, Any]]]], None],
    load: Callable[[Path], Any],
    path: Path,
    records: list[tuple[str, dict[str, Any]]],
) -> None:
    save(path, records)
    load(path)


def _writer(where: Path | str, unit: str, n: int, share: int, together: Any, results: Any) -> None:
    """One of the concurrent writers: saves its share of ``n`` workers, one per
    transaction (get, put, one audit entry), and reports when it started and ended."""
    mine = make_records(n)[share::WRITERS]
    store = _open(where)
    try:
        together.wait(300)
        started = time.time()
        for key, data in mine:
            with store.transaction() as tx:
                tx.get(RecordKind.WORKER, unit, key)
                tx.put(RecordKind.WORKER, unit, key, data, expected_version=0)
                tx.append_audit(
                    [
                        AuditEntry(
                            at=_dt.datetime.now(_dt.UTC).isoformat(),
                            actor=f"writer-{share}",
                            unit_no=unit,
                            action="worker.saved",
                            subject_kind=RecordKind.WORKER,
                            subject_key=key,
                            message="worker collection saved as version 1",
                            after=data,
                        )
                    ]
                )
        results.put((started, time.time(), len(mine), None))
    except BaseException as exc:  # reported: the benchmark fails with it
        results.put((0.0, 0.0, 0, repr(exc)))
    finally:
        store.close()


WRITERS = 8


def concurrent_writers(wheres: list[Path | str], units: list[str], n: int) -> float:
    """Workers saved per second by :data:`WRITERS` processes at once; writer ``i``
    saves to ``wheres[i]`` for employer ``units[i]``."""
    ctx = multiprocessing.get_context("spawn")
    together, results = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(wheres[i], units[i], n, i, together, results))
        for i in range(WRITERS)
    ]
    for p in procs:
        p.start()
    try:
        reports = [results.get(timeout=1800) for _ in procs]
    finally:
        for p in procs:
            p.join(60)
    errors = [r[3] for r in reports if r[3]]
    if errors:
        raise RuntimeError(f"a writer failed: {errors[0]}")
    saved = sum(r[2] for r in reports)
    return saved / (max(r[1] for r in reports) - min(r[0] for r in reports))


def _postgres_server() -> Any:
    """A durable throwaway server, or ``None`` (with the reason printed) where the
    plugin or the binaries are missing."""
    if importlib.util.find_spec("pension_collect_postgres") is None:
        why = "the plugin pension-collect-postgres is not installed"
    else:
        from pension_collect_postgres.testing import NO_SERVER, ThrowawayServer, find_bindir

        if find_bindir() is not None:
            return ThrowawayServer(durable=True).start()
        why = NO_SERVER
    if os.environ.get("CI"):
        raise SystemExit(f"error: PostgreSQL cannot be measured on CI: {why}")
    print(f"PostgreSQL left out: {why}", file=sys.stderr)
    return None


def _time(fn: Callable[[], Any]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out")
    parser.add_argument(
        "--writer-workers",
        type=int,
        default=2_000,
        help="workers the 8 concurrent writers save together, one per transaction",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.workers, args.repeat, args.writer_workers = 50, 1, 40
    records = make_records(args.workers)
    size = sum(len(_dumps(d)) for _, d in records)
    best: dict[str, float] = {}
    per_s: dict[str, float] = {}
    pg = None if args.no_postgres else _postgres_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for r in range(args.repeat):
                base, ours, ours_a = d / f"b{r}.db", d / f"s{r}.db", d / f"a{r}.db"
                runs: dict[str, Callable[[], Any]] = {
                    "baseline_save": partial(baseline_save, base, records),
                    "store_save": partial(store_save, ours, records, False),
                    "store_save_audit": partial(store_save, ours_a, records, True),
                    "baseline_load": partial(baseline_load, base),
                    "store_load": partial(store_load, ours),
                    "baseline_update": partial(baseline_update, base),
                    "store_update_audit": partial(store_update, ours_a),
                }
                if pg is not None:
                    pg_s, pg_a = pg.url(schema=f"s{r}"), pg.url(schema=f"a{r}")
                    runs |= {
                        "pg_save": partial(store_save, pg_s, records, False),
                        "pg_save_audit": partial(store_save, pg_a, records, True),
                        "pg_load": partial(store_load, pg_s),
                        "pg_update_audit": partial(store_update, pg_a),
                    }
                for name, fn in runs.items():
                    t = _time(fn)
                    best[name] = min(best.get(name, t), t)
            peak_base = _peak(
                partial(_save_and_load, baseline_save, baseline_load, d / "pb.db", records)
            )
            peak_ours = _peak(
                partial(_save_and_load, _store_save_audit, store_load, d / "ps.db", records)
            )
            n, units = args.writer_workers, [f"1001{i:04d}" for i in range(WRITERS)]
            per_s["sqlite_8_writers"] = concurrent_writers(
                [d / "w.db"] * WRITERS, [UNIT] * WRITERS, n
            )
            if pg is not None:
                one = pg.url(schema="writers_one")
                per_s["pg_8_writers_one_employer"] = concurrent_writers(
                    [one] * WRITERS, [UNIT] * WRITERS, n
                )
                eight = pg.url(schema="writers_eight")
                _open(eight).close()  # the schema made once, before the writers
                per_s["pg_8_writers_8_employers"] = concurrent_writers([eight] * WRITERS, units, n)
    finally:
        if pg is not None:
            pg.stop()
    figures = {
        "workers": args.workers,
        "json_bytes": size,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "ratio_save": round(best["store_save"] / best["baseline_save"], 2),
        "ratio_save_with_audit": round(best["store_save_audit"] / best["baseline_save"], 2),
        "ratio_load": round(best["store_load"] / best["baseline_load"], 2),
        "ratio_update_with_audit": round(best["store_update_audit"] / best["baseline_update"], 2),
        **{
            f"ratio_pg_{phase}_vs_sqlite": round(best[f"pg_{phase}"] / best[f"store_{phase}"], 2)
            for phase in ("save", "save_audit", "load", "update_audit")
            if f"pg_{phase}" in best
        },
        "writers": WRITERS,
        "workers_per_second": {k: round(v, 1) for k, v in per_s.items()},
        "peak_mib_baseline": round(peak_base / 2**20, 1),
        "peak_mib_store_with_audit": round(peak_ours / 2**20, 1),
        "records_mib_in_memory_json": round(size / 2**20, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{args.workers} workers, {size / 2**20:.1f} MiB of JSON, best of {args.repeat}")
        for k, v in figures["seconds"].items():
            print(f"  {k:19} {v:8.3f} s")
        print(
            f"  save ratio {figures['ratio_save']} (with audit {figures['ratio_save_with_audit']})"
        )
        print(f"  load ratio {figures['ratio_load']}  (target <= 2.0)")
        print(f"  update ratio (with audit) {figures['ratio_update_with_audit']}")
        print(
            f"  peak memory (tracemalloc): baseline {figures['peak_mib_baseline']} MiB, "
            f"store with audit {figures['peak_mib_store_with_audit']} MiB"
        )
        if "pg_save" in best:
            for phase, sqlite_phase in (
                ("pg_save", "store_save"),
                ("pg_save_audit", "store_save_audit"),
                ("pg_load", "store_load"),
                ("pg_update_audit", "store_update_audit"),
            ):
                ratio = best[phase] / best[sqlite_phase]
                print(f"  PostgreSQL / SQLite store, {phase[3:]}: {ratio:.2f}")
        print(
            f"  {WRITERS} concurrent writers, {args.writer_workers} workers, one per transaction:"
        )
        for k, v in per_s.items():
            print(f"    {k:27} {v:8.1f} workers/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
