"""Benchmark: saving and loading N collected workers in the stores, against raw sqlite3.

Measured in the same run, on the same data, each phase on a fresh file:

- raw save: ``sqlite3`` -- serialize each worker record (msgspec where it
  is installed, as the stores then do, without their read-back check; else
  ``json.dumps``), one ``executemany`` INSERT, in one transaction; and
  ``raw json`` save, the same with ``json.dumps`` (the baseline of earlier
  releases, whose stores wrote with it);
- raw save + audit: the same plus the same audit rows the store writes (one
  per worker holding the record as ``after``: the text serialized once and
  written twice, record and audit row; the columns, ``seq``, indexes and
  append-only triggers of the store's own schema);
- store save: ``SQLiteStorage`` -- one transaction, ``put_many`` of the records
  (versions checked, JSON serialized by the store);
- store save + audit: the same plus one audit entry per worker holding the
  record as ``after`` (what ``save_worker`` writes);
- memory save: ``MemoryStorage`` -- one transaction, ``put_many`` (it keeps the
  records' JSON text);
- raw update + audit: every record read, given a new status, written back
  with one ``executemany`` UPDATE, and one audit row per worker showing only
  the status; store update + audit: ``list`` then ``put_many`` of every worker
  with a new status and the same entries (what ``worker.submitted`` writes);
- raw load: ``SELECT`` + parse each record (msgspec, else ``json.loads``);
  store load: ``list``.

Every file is made with the store's schema (the raw runs execute the store's
own migrations on a plain connection), with the same pragmas (WAL,
``synchronous=FULL``). Each phase is timed ``--repeat`` times, interleaved, in
CPU seconds of the process (``time.process_time``: the machine is shared, and
a loaded machine stretches wall time more than CPU time) and wall seconds; the
ratios are medians over the repeats of the ratio within one repeat. Peak
memory: ``tracemalloc`` peak of one save + load, store and raw, after the
timing.

Targets (issue 15): store save + audit <= 1.1x raw save + audit and <= 1.3x raw
save without audit; memory save <= 1.2x raw save (CPU). Both against the raw
runs with msgspec (the stricter: a raw program gets msgspec's speed without
checking what it writes) and with ``json.dumps``.

PostgreSQL, in the same run, where the plugin pension-collect-postgres is
installed (issue 12): a throwaway server (``fsync`` and
``synchronous_commit`` on, as durable as SQLite's ``synchronous=FULL``) is
started for the run; the same four phases go through ``PostgresStorage``
(``pg_save``, ``pg_save_audit``, ``pg_load``, ``pg_update_audit``), each on a
fresh schema, in wall seconds (the server's CPU is not the process's). Then
the throughput of 8 concurrent writer processes, each saving its share of the
workers one per transaction (read the version, save, one audit entry: what
``save_worker`` writes): on SQLite (one file), on PostgreSQL for one employer
(its transactions run one at a time, by the employer lock), and on PostgreSQL
for 8 employers (one each: nothing waits). ``--no-postgres`` leaves
PostgreSQL out; on CI (``CI`` set) a missing plugin or server is an error.

    python benchmarks/bench_storage.py              # 10,000 workers
    python benchmarks/bench_storage.py --smoke      # tiny, for CI
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import multiprocessing
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import attrs
from _shared import postgres_server

from pension_collect.adapters.memory import MemoryStorage
from pension_collect.adapters.sqlite import MIGRATIONS, SCHEMA_VERSION, SQLiteStorage
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


def _raw_codec() -> tuple[Callable[[Any], str], Callable[[str], Any]]:
    """What the raw runs serialize and parse with: msgspec where it is installed
    (the stores use it then: a raw program would too), else ``json``. No
    read-back check, no fallback: the cheapest a raw program could do."""
    try:
        import msgspec
    except ImportError:
        return (lambda d: json.dumps(d, ensure_ascii=False, separators=(",", ":"))), json.loads
    encode, decode = msgspec.json.Encoder().encode, msgspec.json.Decoder().decode
    return (lambda d: encode(d).decode("utf-8")), decode


_dumps, _loads = _raw_codec()


def _json_dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _raw_conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def make_raw_file(path: Path) -> None:
    """An empty file with the store's own schema (its migrations run on a plain
    connection): the same tables, indexes and triggers the store writes into."""
    conn = _raw_conn(path)
    conn.execute("BEGIN IMMEDIATE")
    for step in MIGRATIONS:
        step(conn)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")
    conn.close()


def make_store_file(path: Path) -> None:
    """An empty store file, made by the store (outside the timing)."""
    SQLiteStorage(path).close()


SAVED_MESSAGE = "worker collection saved as version 1"


def baseline_save(
    path: Path,
    records: list[tuple[str, dict[str, Any]]],
    audit: bool,
    dumps: Callable[[Any], str] = _dumps,
) -> None:
    """Raw sqlite3: each record serialized once (``dumps``); with ``audit`` the
    same text is also the ``after`` of an audit row per worker (the store's
    columns)."""
    conn = _raw_conn(path)
    conn.execute("BEGIN IMMEDIATE")
    rows = [("worker", UNIT, key, dumps(data)) for key, data in records]
    conn.executemany(
        "INSERT INTO records (kind, unit_no, key, version, data) VALUES (?,?,?,1,?)", rows
    )
    if audit:
        at = _dt.datetime.now(_dt.UTC).isoformat()
        conn.executemany(
            "INSERT INTO audit (at, actor, unit_no, action, subject_kind, subject_key, "
            "declaration, message, before, after) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (at, "bench", UNIT, "worker.saved", "worker", key, None, SAVED_MESSAGE, None, text)
                for _, _, key, text in rows
            ],
        )
    conn.execute("COMMIT")
    conn.close()


def memory_save(records: list[tuple[str, dict[str, Any]]], audit: bool) -> None:
    """The memory store: one transaction, ``put_many`` (and the audit entries)."""
    store = MemoryStorage()
    with store.transaction() as tx:
        _put(tx, records, audit)
    store.close()


def baseline_load(path: Path) -> list[tuple[str, int, Any]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT key, version, data FROM records WHERE kind=? AND unit_no=? ORDER BY key",
        ("worker", UNIT),
    )
    out = [(k, v, _loads(d)) for k, v, d in rows]
    conn.close()
    return out


def _open(where: Path | str) -> Any:
    """The store at ``where``: a SQLite file, or a ``postgresql://`` URL."""
    if isinstance(where, str):
        from pension_collect_postgres import PostgresStorage

        return PostgresStorage(where)
    return SQLiteStorage(where)


def _put(tx: Any, records: list[tuple[str, dict[str, Any]]], audit: bool) -> None:
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
                    message=SAVED_MESSAGE,
                    after=data,
                )
                for key, data in records
            ]
        )


def store_save(path: Path | str, records: list[tuple[str, dict[str, Any]]], audit: bool) -> None:
    store = _open(path)
    with store.transaction() as tx:
        _put(tx, records, audit)
    store.close()


def _submitted(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data, status="submitted")


def baseline_update(path: Path) -> None:
    """Raw sqlite3: every record read, given a new status and written back, with
    the audit rows the store writes (only the status, before and after)."""
    conn = _raw_conn(path)
    conn.execute("BEGIN IMMEDIATE")
    rows = [
        (k, v, _loads(d))
        for k, v, d in conn.execute(
            "SELECT key, version, data FROM records WHERE kind=? AND unit_no=? ORDER BY key",
            ("worker", UNIT),
        )
    ]
    conn.executemany(
        "UPDATE records SET version = version + 1, data = ? "
        "WHERE kind=? AND unit_no=? AND key=? AND version=?",
        [(_dumps(_submitted(d)), "worker", UNIT, k, v) for k, v, d in rows],
    )
    at = _dt.datetime.now(_dt.UTC).isoformat()
    conn.executemany(
        "INSERT INTO audit (at, actor, unit_no, action, subject_kind, subject_key, "
        "declaration, message, before, after) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                at,
                "bench",
                UNIT,
                "worker.submitted",
                "worker",
                k,
                None,
                "worker submitted",
                _dumps({"status": d["status"]}),
                _dumps({"status": "submitted"}),
            )
            for k, _, d in rows
        ],
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
    make_store_file(path)
    store_save(path, records, True)


def _baseline_save_audit(path: Path, records: list[tuple[str, dict[str, Any]]]) -> None:
    make_raw_file(path)
    baseline_save(path, records, True)


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


def _time(fn: Callable[[], Any]) -> tuple[float, float]:
    """CPU and wall seconds of ``fn()``."""
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def _peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


#: The ratios judged, each ``(name, phase, baseline phase)``, on CPU time.
RATIOS = (
    ("save", "store_save", "baseline_save"),
    ("save_with_audit_vs_raw_with_audit", "store_save_audit", "baseline_save_audit"),
    ("save_with_audit_vs_raw_without_audit", "store_save_audit", "baseline_save"),
    ("save_with_audit_vs_raw_json_with_audit", "store_save_audit", "baseline_json_save_audit"),
    ("save_with_audit_vs_raw_json_without_audit", "store_save_audit", "baseline_json_save"),
    ("memory_save_vs_raw_save", "memory_save", "baseline_save"),
    ("load", "store_load", "baseline_load"),
    ("update_with_audit_vs_raw_with_audit", "store_update_audit", "baseline_update"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out")
    parser.add_argument(
        "--no-writers", action="store_true", help="leave the concurrent writers out"
    )
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
    times: dict[str, list[tuple[float, float]]] = {}
    per_s: dict[str, float] = {}
    pg = None if args.no_postgres else postgres_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for r in range(args.repeat):
                base, base_a = d / f"b{r}.db", d / f"ba{r}.db"
                json_base, json_base_a = d / f"j{r}.db", d / f"ja{r}.db"
                ours, ours_a = d / f"s{r}.db", d / f"a{r}.db"
                for path in (base, base_a, json_base, json_base_a):
                    make_raw_file(path)
                for path in (ours, ours_a):
                    make_store_file(path)
                runs: dict[str, Callable[[], Any]] = {
                    "baseline_save": partial(baseline_save, base, records, False),
                    "store_save": partial(store_save, ours, records, False),
                    "baseline_save_audit": partial(baseline_save, base_a, records, True),
                    "baseline_json_save": partial(
                        baseline_save, json_base, records, False, _json_dumps
                    ),
                    "baseline_json_save_audit": partial(
                        baseline_save, json_base_a, records, True, _json_dumps
                    ),
                    "store_save_audit": partial(store_save, ours_a, records, True),
                    "memory_save": partial(memory_save, records, False),
                    "baseline_load": partial(baseline_load, base),
                    "store_load": partial(store_load, ours),
                    "baseline_update": partial(baseline_update, base_a),
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
                    times.setdefault(name, []).append(_time(fn))
            peak_base = _peak(
                partial(_save_and_load, _baseline_save_audit, baseline_load, d / "pb.db", records)
            )
            peak_ours = _peak(
                partial(_save_and_load, _store_save_audit, store_load, d / "ps.db", records)
            )
            n, units = args.writer_workers, [f"1001{i:04d}" for i in range(WRITERS)]
            if not args.no_writers:
                per_s["sqlite_8_writers"] = concurrent_writers(
                    [d / "w.db"] * WRITERS, [UNIT] * WRITERS, n
                )
            if pg is not None and not args.no_writers:
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
    cpu = {k: statistics.median(c for c, _ in v) for k, v in times.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in times.items()}
    figures = {
        "workers": args.workers,
        "json_bytes": size,
        "repeats": args.repeat,
        "cpu_seconds": {k: round(v, 4) for k, v in cpu.items()},
        "wall_seconds": {k: round(v, 4) for k, v in wall.items()},
        "ratios_cpu": {
            name: round(
                statistics.median(a[0] / b[0] for a, b in zip(times[x], times[y], strict=True)), 2
            )
            for name, x, y in RATIOS
        },
        "ratios_wall": {
            name: round(
                statistics.median(a[1] / b[1] for a, b in zip(times[x], times[y], strict=True)), 2
            )
            for name, x, y in RATIOS
        },
        **{
            f"ratio_pg_{phase}_vs_sqlite_wall": round(
                wall[f"pg_{phase}"] / wall[f"store_{phase}"], 2
            )
            for phase in ("save", "save_audit", "load", "update_audit")
            if f"pg_{phase}" in wall
        },
        "writers": WRITERS,
        "workers_per_second": {k: round(v, 1) for k, v in per_s.items()},
        "peak_mib_baseline_with_audit": round(peak_base / 2**20, 1),
        "peak_mib_store_with_audit": round(peak_ours / 2**20, 1),
        "records_mib_in_memory_json": round(size / 2**20, 1),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{args.workers} workers, {size / 2**20:.1f} MiB of JSON, "
            f"median of {args.repeat}: CPU s / wall s"
        )
        for k in cpu:
            print(f"  {k:20} {cpu[k]:8.3f} {wall[k]:8.3f}")
        print("  ratios (median of the per-repeat ratios): CPU / wall")
        for name, _, _ in RATIOS:
            print(
                f"    {name:42} {figures['ratios_cpu'][name]:5.2f} "
                f"{figures['ratios_wall'][name]:5.2f}"
            )
        print(
            f"  peak memory (tracemalloc): raw with audit {figures['peak_mib_baseline_with_audit']}"
            f" MiB, store with audit {figures['peak_mib_store_with_audit']} MiB"
        )
        for phase in ("save", "save_audit", "load", "update_audit"):
            if f"pg_{phase}" in wall:
                ratio = wall[f"pg_{phase}"] / wall[f"store_{phase}"]
                print(f"  PostgreSQL / SQLite store, {phase} (wall): {ratio:.2f}")
        if per_s:
            print(
                f"  {WRITERS} concurrent writers, {args.writer_workers} workers, "
                "one per transaction:"
            )
        for k, v in per_s.items():
            print(f"    {k:27} {v:8.1f} workers/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
