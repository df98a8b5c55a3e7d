"""Child processes of tests/test_workflow_processes.py (run with ``python -m``-less path)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import attrs

from pension_collect.ports.storage import ConflictError
from workflow_fixtures import make_setup, many_workers


def save_many(url: str, n: int) -> None:
    """Save n generated workers one by one, reporting progress on stdout."""
    s = make_setup(url)
    for i, worker in enumerate(many_workers(s.workers[2], n)):
        s.session.save_worker(worker)
        print(f"saved {i}", flush=True)
    print("done", flush=True)


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
    if sys.argv[1] == "save_many":
        save_many(sys.argv[2], int(sys.argv[3]))
    else:
        save_same(*sys.argv[2:6])
