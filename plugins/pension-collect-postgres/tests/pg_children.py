"""What the processes of test_pg_concurrency.py run (a module of its own: the
forkserver imports it in each process)."""

from __future__ import annotations

import random
import time
from typing import Any

from pension_collect_postgres import PostgresStorage

from pension_collect.ports.storage import AuditEntry, ConflictError, RecordKind, Write

UNIT = "10012345"


def entry(key: str, action: str, before: Any, after: Any, actor: str) -> AuditEntry:
    return AuditEntry(
        at="2013-08-20T09:00:00+00:00",
        actor=actor,
        unit_no=UNIT,
        action=action,
        subject_kind=RecordKind.WORKER,
        subject_key=key,
        message=f"{action} test entry",
        before=before,
        after=after,
    )


def save_workers(
    url: str, name: str, keys: list[str], saves: int, together: Any, results: Any
) -> None:
    """A clerk saving workers: read three of them in one transaction, think a
    moment, save them with the versions read (and an audit entry each) in the
    next; on a conflict, read again. Reports every attempt: the mark it wrote,
    the keys, and whether it was saved or which key conflicted."""
    rng = random.Random(name)
    attempts: list[tuple[str, list[str], str]] = []
    store = PostgresStorage(url)
    try:
        together.wait(120)  # every process has opened the store: all start at once
        saved = 0
        while saved < saves:
            chosen = sorted(rng.sample(keys, 3))
            with store.transaction() as tx:
                read = [tx.get(RecordKind.WORKER, UNIT, k) for k in chosen]
            time.sleep(rng.uniform(0.0, 0.006))
            mark = f"{name}:{len(attempts)}"
            writes, log = [], []
            for rec in read:
                assert rec is not None
                after = {"marks": [*rec.data["marks"], mark]}
                writes.append(Write(rec.key, after, rec.version))
                log.append(entry(rec.key, "worker.saved", rec.data, after, name))
            try:
                with store.transaction() as tx:
                    tx.put_many(RecordKind.WORKER, UNIT, writes)
                    tx.append_audit(log)
            except ConflictError as exc:
                attempts.append((mark, chosen, f"conflict:{exc.key}"))
                continue
            attempts.append((mark, chosen, "saved"))
            saved += 1
        results.put((name, attempts, None))
    except BaseException as exc:  # reported, so the parent fails with it
        results.put((name, attempts, repr(exc)))
    finally:
        store.close()


def rewrite_generations(url: str, keys: list[str], pause: bool, report: Any) -> None:
    """Rewrite every worker, generation after generation, each generation one
    transaction (half the workers, a report, the other half, the audit
    entries, commit). With ``pause`` it stops after the first half of its
    first transaction, so a kill lands inside it."""
    store = PostgresStorage(url)
    half = len(keys) // 2
    while True:
        with store.transaction() as tx:
            recs = tx.list(RecordKind.WORKER, UNIT)
            gen = recs[0].data["gen"] + 1
            writes = [Write(r.key, {"gen": gen, "pad": r.data["pad"]}, r.version) for r in recs]
            tx.put_many(RecordKind.WORKER, UNIT, writes[:half])
            report.send(("half", gen))
            if pause:
                time.sleep(120)
            tx.put_many(RecordKind.WORKER, UNIT, writes[half:])
            tx.append_audit(
                [entry(r.key, "worker.rewritten", None, {"gen": gen}, "rewriter") for r in recs]
            )
        report.send(("committed", gen))
