"""Crash safety and concurrency with real processes on a real SQLite file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import attrs
import pytest

from pension_collect.adapters.sqlite import path_of
from pension_collect.dossier import make_converter
from pension_collect.model import Worker
from pension_collect.ports.storage import RecordKind
from workflow_child import IN_TRANSACTION
from workflow_fixtures import make_setup, many_workers, sqlite_url, to_collecting

HERE = Path(__file__).resolve().parent
CHILD = str(HERE / "workflow_child.py")
CONV = make_converter()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    return env


def _run_until_in_transaction(args: list[str]) -> tuple[subprocess.Popen[str], list[str]]:
    """Start a child and read its lines until it reports it is inside its
    last, open transaction (workflow_child.py); the lines before are returned."""
    child = subprocess.Popen(
        [sys.executable, CHILD, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert child.stdout is not None
    # A guard against a hung child, not a timing: the kill arrives on a signal.
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    lines = []
    try:
        for line in child.stdout:
            if line.strip() == IN_TRANSACTION:
                return child, lines
            lines.append(line.strip())
    finally:
        watchdog.cancel()
    child.wait()
    pytest.fail(f"the child never reached its transaction; it printed {lines}")


def _kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert child.stdin is not None
    child.stdin.close()
    assert child.stdout is not None
    assert child.stdout.read() == ""  # it never got to say "committed"
    child.stdout.close()


def _write_locked(url: str) -> bool:
    """Another connection cannot start a write transaction on the file now."""
    conn = sqlite3.connect(path_of(url), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        conn.close()
    return False


def _integrity(url: str) -> str:
    conn = sqlite3.connect(path_of(url))
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
class TestCrashSafety:
    """A process killed inside an open SQLite transaction: the child reports
    from inside the transaction, after its writes and before the commit, and
    waits; the parent checks the write lock is held and kills it."""

    def test_sigkill_inside_a_save_keeps_the_committed_ones(self, tmp_path: Path) -> None:
        """Killed inside the 13th save: the 12 committed saves are whole, with
        their audit entries; the 13th left no record and no audit entry; the
        store opens, passes SQLite's integrity check and saves the 13th."""
        url = sqlite_url(tmp_path)
        s = make_setup(url)
        to_collecting(s)
        batch = many_workers(s.workers[2], 13)
        # the bureau holds the batch as it holds the template (only its persons are collected)
        assert s.workers[2].bureau is not None
        block = attrs.evolve(s.workers[2].bureau, id_number=None, birth_date=None, person_no=None)
        held = tuple(attrs.evolve(w, bureau=block) for w in batch)
        s.bureau.seed_dossier(attrs.evolve(s.dossier, workers=held))
        s.session.sync()
        s.session.print_verification_forms([s.session.key_of(w) for w in batch])
        s.storage.close()

        child, lines = _run_until_in_transaction(["save_many", url, str(len(batch))])
        assert lines == [f"saved {i}" for i in range(12)]
        assert _write_locked(url)
        _kill(child)

        assert _integrity(url) == "ok"
        after = make_setup(url)
        assert not _write_locked(url)
        expected = {after.session.key_of(w): w for w in batch}
        with after.storage.transaction() as tx:
            records = {r.key: r for r in tx.list(RecordKind.WORKER, after.dossier.employer.unit_no)}
        saved = {k: r for k, r in records.items() if k in expected}
        killed = after.session.key_of(batch[-1])
        assert set(saved) == {after.session.key_of(w) for w in batch[:-1]}
        for key, rec in saved.items():
            worker = CONV.structure(rec.data["worker"], Worker)
            assert worker.history == expected[key].history
            assert worker.account == expected[key].account
            assert rec.version == 1
            assert rec.data["status"] == "collected"
        log = [e for e in after.session.audit() if e.action == "worker.saved"]
        assert sorted(e.subject_key for e in log) == sorted(saved)
        for entry in log:
            assert entry.after == saved[entry.subject_key].data
        assert after.session.save_worker(batch[-1]).version == 1
        assert [e.subject_key for e in after.session.audit(worker=killed)] == [killed]

    def test_sigkill_inside_a_many_worker_transaction_writes_none(self, tmp_path: Path) -> None:
        """Killed after recording every worker's form as received, before the
        commit: no worker is marked received, no version moved, no audit
        entry was added; the same step then succeeds."""
        url = sqlite_url(tmp_path)
        s = make_setup(url)
        to_collecting(s)
        for worker in s.workers:
            s.session.save_worker(worker)
        s.session.print_confirmation_forms()
        before = {k: s.session.worker(k) for k in s.keys}
        audit_before = s.session.audit()
        s.storage.close()

        child, lines = _run_until_in_transaction(["receive_all", url])
        assert lines == []
        assert _write_locked(url)
        _kill(child)

        assert _integrity(url) == "ok"
        after = make_setup(url)
        for key, old in before.items():
            now = after.session.worker(key)
            assert now.version == old.version
            assert (now.form_received, now.handbook_received) == (False, False)
        assert after.session.audit() == audit_before
        after.session.record_received(after.keys)
        assert all(after.session.worker(k).form_received for k in after.keys)


class TestTwoProcesses:
    def test_same_worker_one_conflict_no_lost_update(self, tmp_path: Path) -> None:
        """Two sessions in two processes save one worker: one conflict, no lost update."""
        url = sqlite_url(tmp_path)
        s = make_setup(url)
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        s.storage.close()
        ready = [tmp_path / "a.ready", tmp_path / "b.ready"]
        names = {"满族": 0, "回族": 1}
        procs = [
            subprocess.Popen(
                [sys.executable, CHILD, "save_same", url, eth, str(ready[i]), str(ready[1 - i])],
                stdout=subprocess.PIPE,
                text=True,
                env=_env(),
            )
            for eth, i in names.items()
        ]
        results = [p.communicate(timeout=60)[0].strip() for p in procs]
        assert sorted(results) == ["conflict", "saved"]
        winner = list(names)[results.index("saved")]
        after = make_setup(url)
        stored = after.session.worker(after.keys[0])
        assert stored.version == 2
        assert stored.worker.ethnicity == winner
        saves = [e for e in after.session.audit(worker=after.keys[0]) if e.action == "worker.saved"]
        assert len(saves) == 2
        assert saves[-1].after is not None
        assert saves[-1].after["worker"]["ethnicity"] == winner
