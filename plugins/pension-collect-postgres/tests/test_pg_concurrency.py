"""Several processes on one employer: 8 writers saving overlapping workers, and
SIGKILL in the middle of a transaction, against the throwaway server."""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import signal
import sys
import time
from typing import Any

import pg_children
import pytest
from pension_collect_postgres import PostgresStorage
from pg_children import UNIT

from pension_collect.ports.storage import RecordKind, Write

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork are POSIX")

WAIT = 120.0


@pytest.fixture(scope="module")
def ctx() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pg_children"])
    return context


def test_eight_writers_lose_nothing(url: str, ctx: Any) -> None:
    """8 processes save overlapping workers (3 of 16 at a time, read in one
    transaction, saved with the versions read in the next): every stale save is
    told (ConflictError) and leaves nothing; every save that was not told is in
    the record; each record's version counts its saves; the audit log holds one
    entry per save, each starting where the one before ended."""
    keys = [f"k{i:02d}" for i in range(16)]
    writers, saves = 8, 10
    store = PostgresStorage(url)
    with store.transaction() as tx:
        tx.put_many(RecordKind.WORKER, UNIT, [Write(k, {"marks": []}, 0) for k in keys])
    together, results = ctx.Barrier(writers), ctx.Queue()
    procs = [
        ctx.Process(
            target=pg_children.save_workers, args=(url, f"w{i}", keys, saves, together, results)
        )
        for i in range(writers)
    ]
    for p in procs:
        p.start()
    try:
        reports = [results.get(timeout=WAIT) for _ in procs]
    finally:
        for p in procs:
            p.join(WAIT)
    assert [r[2] for r in reports] == [None] * writers  # no process failed
    attempts = [a for r in reports for a in r[1]]
    saved = {mark: chosen for mark, chosen, what in attempts if what == "saved"}
    conflicts = [(mark, chosen, what) for mark, chosen, what in attempts if what != "saved"]
    assert len(saved) == writers * saves
    assert conflicts, "the writers never overlapped: the test proves nothing"
    for _, chosen, what in conflicts:
        assert what.removeprefix("conflict:") in chosen  # the conflict names a key it saved
    expected: dict[str, set[str]] = collections.defaultdict(set)
    for mark, chosen in saved.items():
        for k in chosen:
            expected[k].add(mark)
    with store.transaction() as tx:
        records = {r.key: r for r in tx.list(RecordKind.WORKER, UNIT)}
        trails = {k: tx.audit(UNIT, subject=(RecordKind.WORKER, k)) for k in keys}
    store.close()
    conflicted = {mark for mark, _, _ in conflicts}
    for k in keys:
        marks = records[k].data["marks"]
        assert set(marks) == expected[k]  # no lost update, nothing of a conflicted save
        assert len(marks) == len(set(marks))
        assert not conflicted & set(marks)
        assert records[k].version == 1 + len(marks)
        trail = trails[k]
        assert len(trail) == len(marks)  # the audit log is complete
        for i, e in enumerate(trail):
            assert e.before == {"marks": marks[:i]}  # each save starts where the last ended
            assert e.after == {"marks": marks[: i + 1]}
    total_entries = sum(len(t) for t in trails.values())
    assert total_entries == 3 * writers * saves
    print(
        f"\n8 writers: {len(saved)} saves, {len(conflicts)} conflicts reported, "
        f"{total_entries} audit entries"
    )


def _check_whole(url: str, keys: list[str]) -> int:
    """Every worker at the same generation, its version and audit trail saying
    so; returns the generation."""
    store = PostgresStorage(url)
    try:
        with store.transaction() as tx:
            recs = tx.list(RecordKind.WORKER, UNIT)
            log = tx.audit(UNIT)
    finally:
        store.close()
    gens = {r.data["gen"] for r in recs}
    assert len(gens) == 1, f"torn: generations {sorted(gens)}"
    (gen,) = gens
    assert [r.key for r in recs] == keys
    assert {r.version for r in recs} == {gen + 1}
    per_key = collections.Counter(e.subject_key for e in log)
    assert {k: per_key[k] for k in keys} == dict.fromkeys(keys, gen)
    assert len(log) == gen * len(keys)
    last = {e.subject_key: e.after for e in log}
    if gen:
        assert last == {key: {"gen": gen} for key in keys}
    return int(gen)


def test_sigkill_mid_transaction_leaves_nothing_torn(url: str, ctx: Any) -> None:
    """A process rewriting 200 workers a generation per transaction is killed
    (SIGKILL) 12 times: half of them while it waits inside a transaction whose
    first half is written, half at a random moment just after that (inside the
    transaction, at its commit, or just after). After each kill every worker is
    at one generation, with its version and audit entries, and the next process
    (which needs the employer's lock the killed one held) goes on."""
    keys = [f"w{i:03d}" for i in range(200)]
    store = PostgresStorage(url)
    with store.transaction() as tx:
        tx.put_many(
            RecordKind.WORKER, UNIT, [Write(k, {"gen": 0, "pad": "x" * 400}, 0) for k in keys]
        )
    store.close()
    rng = random.Random(20130820)
    landed: collections.Counter[str] = collections.Counter()
    gen = 0
    for run in range(12):
        pause = run % 2 == 0
        reports, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=pg_children.rewrite_generations, args=(url, keys, pause, send))
        proc.start()
        send.close()
        seen: list[tuple[str, int]] = []
        target = rng.randint(1, 3)  # the transaction to kill in
        while True:
            assert reports.poll(WAIT), f"the process hung after {seen[-1:]}"
            seen.append(reports.recv())
            if seen[-1][0] == "half" and (
                pause or len([s for s in seen if s[0] == "half"]) == target
            ):
                break
        if not pause:
            time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(WAIT)
        assert proc.exitcode == -signal.SIGKILL
        while reports.poll(0):  # what it sent before it died
            try:
                seen.append(reports.recv())
            except EOFError:
                break
        reports.close()
        now = _check_whole(url, keys)
        last_half = max(g for what, g in seen if what == "half")
        # the transaction it was killed in is absent, or (killed at its commit) whole
        assert now in (last_half - 1, last_half)
        landed["inside the transaction" if now == last_half - 1 else "at or after its commit"] += 1
        gen = now
    # the store goes on: the next transaction takes the employer's lock at once
    reports, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=pg_children.rewrite_generations, args=(url, keys, False, send))
    proc.start()
    send.close()
    assert reports.poll(WAIT)
    while reports.recv()[0] != "committed":
        assert reports.poll(WAIT)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(WAIT)
    assert _check_whole(url, keys) > gen
    assert landed["inside the transaction"] >= 6  # every paused run, at least
    print(f"\nSIGKILL: 12 kills, {dict(landed)}, generation {gen}")
