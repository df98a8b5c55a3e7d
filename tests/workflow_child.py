"""Child processes of tests/test_workflow_processes.py (run by path, tests/ on PYTHONPATH).

``save_many URL N`` and ``receive_all URL`` stop *inside* a transaction: the
store is wrapped so that, once the workflow has made every write of the
chosen transaction and before it commits, the child prints ``in-transaction``
and blocks reading its standard input. The parent kills it there, so the kill
lands between the writes and the commit by construction, not by timing. If
the parent goes away instead (standard input at its end), the child leaves
without committing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from pension_collect.ports.storage import AuditEntry, ConflictError, Storage, Transaction
from workflow_fixtures import make_setup, many_workers

IN_TRANSACTION = "in-transaction"


def _hang() -> None:
    """Tell the parent the transaction is open, then wait to be killed."""
    print(IN_TRANSACTION, flush=True)
    sys.stdin.read()  # returns only when the parent closes the pipe or dies
    os._exit(3)  # never commit, never run the transaction's exit


class _HangingTransaction:
    """Delegates to a transaction; hangs after the audit entries of ``action``."""

    def __init__(self, tx: Transaction, action: str) -> None:
        self._tx = tx
        self._action = action

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        self._tx.append_audit(entries)
        if any(e.action == self._action for e in entries):
            _hang()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class HangingStorage:
    """Delegates to a store; the transaction that appends an ``action`` audit
    entry (the workflow's last write before the commit) never commits."""

    def __init__(self, store: Storage, action: str) -> None:
        self._store = store
        self._action = action

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._store.transaction() as tx:
            yield _HangingTransaction(tx, self._action)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def save_many(url: str, n: int) -> None:
    """Save n generated workers one by one, printing ``saved i`` after each
    commit; the n-th save hangs inside its transaction."""
    s = make_setup(url)
    workers = many_workers(s.workers[2], n)
    for i, worker in enumerate(workers[:-1]):
        s.session.save_worker(worker)
        print(f"saved {i}", flush=True)
    s.session.storage = HangingStorage(s.storage, "worker.saved")
    s.session.save_worker(workers[-1])
    print("committed", flush=True)  # unreachable: the parent kills first


def receive_all(url: str) -> None:
    """Record every worker's form and handbook as received: one transaction
    writing every worker, which hangs after its last write."""
    s = make_setup(url)
    s.session.storage = HangingStorage(s.storage, "worker.received")
    s.session.record_received(s.keys)
    print("committed", flush=True)  # unreachable: the parent kills first


def save_same(url: str, ethnicity: str, ready: str, other: str) -> None:
    """Read worker 0, wait for the other process to have read it too, then save."""
    s = make_setup(url)
    s.session.worker(s.keys[0])
    Path(ready).write_text("ready")
    deadline = time.monotonic() + 20
    while not Path(other).exists():
        if time.monotonic() > deadline:
            print("timeout", flush=True)
            return
        time.sleep(0.005)
    try:
        s.session.save_worker(attrs.evolve(s.workers[0], ethnicity=ethnicity))
    except ConflictError:
        print("conflict", flush=True)
    else:
        print("saved", flush=True)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "save_many":
        save_many(args[0], int(args[1]))
    elif command == "receive_all":
        receive_all(args[0])
    else:
        save_same(*args[:4])
