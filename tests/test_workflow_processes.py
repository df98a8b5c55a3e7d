"""Crash safety and concurrency with real processes on a real SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pension_collect.dossier import make_converter
from pension_collect.model import Worker
from pension_collect.ports.storage import RecordKind
from workflow_fixtures import make_setup, many_workers, sqlite_url, to_collecting

HERE = Path(__file__).resolve().parent
CHILD = str(HERE / "workflow_child.py")
CONV = make_converter()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    return env


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
class TestCrashSafety:
    def test_sigkill_mid_batch_leaves_whole_workers(self, tmp_path: Path) -> None:
        """Killing a process mid-batch leaves each worker saved whole or not at all,
        and the audit log agrees with the data."""
        url = sqlite_url(tmp_path)
        s = make_setup(url)
        to_collecting(s)
        batch = many_workers(s.workers[2], 400)
        s.session.print_verification_forms([s.session.key_of(w) for w in batch])
        s.storage.close()
        child = subprocess.Popen(
            [sys.executable, CHILD, "save_many", url, str(len(batch))],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert child.stdout is not None
        seen = 0
        deadline = time.monotonic() + 60
        while seen < 25 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seen += line.startswith("saved")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        assert seen == 25

        after = make_setup(url)
        expected = {after.session.key_of(w): w for w in batch}
        with after.storage.transaction() as tx:
            records = {r.key: r for r in tx.list(RecordKind.WORKER, after.dossier.employer.unit_no)}
        saved = {k: r for k, r in records.items() if k in expected}
        assert 25 <= len(saved) < len(batch)
        for key, rec in saved.items():
            worker = CONV.structure(rec.data["worker"], Worker)
            assert worker.history == expected[key].history
            assert worker.account == expected[key].account
            assert rec.version == 1
            assert rec.data["status"] == "collected"
        log = [e for e in after.session.audit() if e.action == "worker.saved"]
        assert {e.subject_key for e in log} == set(saved)
        assert len(log) == len(saved)
        for entry in log:
            assert entry.after == saved[entry.subject_key].data


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
