"""Resuming after a restart (docs/workflow.md): a process killed with SIGKILL at
every boundary between the collection's steps, and inside the transaction of
each, leaves a SQLite store from which a new session finishes the collection
with the table of docs/workflow.md (resume_child.resume), doing every step
exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pension_collect.adapters.sqlite import path_of
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import RecordKind
from pension_collect.ports.transport import DeclarationKind, DeclarationState
from pension_collect.workflow import CollectionSession, WorkerStatus
from resume_child import AT, open_bureau, open_session, resume
from workflow_child import IN_TRANSACTION
from workflow_fixtures import Clock, example, sqlite_url

HERE = Path(__file__).resolve().parent

BOUNDARIES = [
    "start",
    "sync",
    "employer",
    "employer-declared",
    "verification",
    "between-1",
    "between-2",
    "save",
    "confirmation",
    "received",
    "summary",
]
"""After each step (between-N: a batch save after its N-th worker)."""

INSIDE = [
    "in:session.started",
    "in:session.synced",
    "in:employer.collected",
    "in:forms.verification",
    "in:worker.saved",
    "in:forms.confirmation",
    "in:worker.received",
]
"""Inside each step's transaction, after its writes, before its commit."""


def _killed_at(url: str, directory: Path, stop: str) -> None:
    """Run the collection in a child until ``stop``, then SIGKILL it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    child = subprocess.Popen(
        [sys.executable, str(HERE / "resume_child.py"), url, str(directory), stop],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    watchdog = threading.Timer(120, child.kill)  # a guard against a hung child only
    watchdog.start()
    try:
        marker = AT + stop if not stop.startswith("in:") else IN_TRANSACTION
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if lines[-1] == marker:
                break
        else:
            pytest.fail(f"the child never reached {stop}; it printed {lines}")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        watchdog.cancel()
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def _story(session: CollectionSession) -> list[tuple[str, str]]:
    return [(e.action, e.subject_key) for e in session.audit()]


def _finish(url: str, directory: Path) -> tuple[CollectionSession, list[str]]:
    """A new session on the store finishes the collection; the bureau's
    declarations of the employer are returned as kinds."""
    dossier = example()
    clock = Clock()
    bureau = open_bureau(directory, dossier, clock)
    storage = PluginHost(load_entry_points=False).open_storage(url)
    session = open_session(storage, bureau, dossier, clock)
    decl = resume(session, bureau, dossier, directory / "forms")
    assert decl.state is DeclarationState.SUCCEEDED
    kinds = [d.kind.value for d in bureau.declarations(dossier.employer.unit_no)]
    return session, kinds


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """The audit story of the whole collection run without a kill."""
    directory = tmp_path_factory.mktemp("uninterrupted")
    session, kinds = _finish(sqlite_url(directory), directory)
    assert kinds == [DeclarationKind.EMPLOYER.value, DeclarationKind.WORKERS.value]
    return _story(session)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("stop", BOUNDARIES + INSIDE)
def test_killed_then_resumed_by_a_new_session(
    stop: str, tmp_path: Path, uninterrupted: list[tuple[str, str]]
) -> None:
    """Killed at ``stop``, the collection is finished by a new session on the same
    SQLite file: the store is intact, every step was done exactly once (the
    audit log tells the same story as a run without a kill), each worker is
    accepted, the bureau holds one employer and one workers' declaration, and
    no form file was overwritten."""
    url = sqlite_url(tmp_path)
    _killed_at(url, tmp_path, stop)
    conn = sqlite3.connect(path_of(url))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    session, kinds = _finish(url, tmp_path)
    assert kinds == [DeclarationKind.EMPLOYER.value, DeclarationKind.WORKERS.value]
    assert _story(session) == uninterrupted
    assert {w.status for w in session.workers()} == {WorkerStatus.ACCEPTED}
    with session.storage.transaction() as tx:
        versions = [r.version for r in tx.list(RecordKind.WORKER, session.unit_no)]
    assert len(versions) == 3
    forms = sorted(p.name for p in (tmp_path / "forms").iterdir())
    assert not [n for n in forms if not n.endswith(".pdf")]
    for form in ("verification", "confirmation", "summary"):
        numbers = sorted(int(n[len(form) + 1 : -4]) for n in forms if n.startswith(form + "-"))
        assert numbers == list(range(1, len(numbers) + 1)), forms
    if stop == "in:forms.verification":  # placed, not recorded: printed again, not replaced
        assert "verification-2.pdf" in forms
