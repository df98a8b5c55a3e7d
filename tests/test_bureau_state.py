"""The reference bureau's state in a SQLite file (adapters.bureau_sqlite):
surviving a restart, shared by processes and threads, a killed process, files
that are not a bureau's, file modes. The bureau's behaviour on both states is
tests/test_bureau.py."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.adapters import bureau_sqlite
from pension_collect.adapters.bureau_sqlite import SCHEMA_VERSION, BureauFileError
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.model import Worker
from pension_collect.ports.transport import DeclarationKind, DeclarationState, IdempotencyKeyReused
from pension_collect.workflow import CollectionSession
from workflow_fixtures import Clock, example, keys_of

CONV = make_converter()
UNIT = "10012345"
OTHER = "10099999"

#: multiprocessing with fork: the children run this module's functions at once
#: (the parent holds no open bureau when it forks).
_MP = multiprocessing.get_context("fork")


def _payload(*workers: Worker, keys: list[str] | None = None) -> dict[str, Any]:
    keys = keys or [CollectionSession.key_of(w) for w in workers]
    return {
        "workers": [
            {"key": k, "worker": CONV.unstructure(attrs.evolve(w, bureau=None), Worker)}
            for k, w in zip(keys, workers, strict=True)
        ]
    }


def _seeded(directory: Path, **options: Any) -> ReferenceBureau:
    dossier = example()
    bureau = ReferenceBureau.open(directory, as_of=dossier.as_of, **options)
    bureau.seed_dossier(dossier)
    return bureau


def _snapshot(bureau: ReferenceBureau) -> dict[str, Any]:
    """Everything the bureau holds, as plain data."""
    return {
        "units": bureau.unit_nos(),
        "employers": {u: CONV.unstructure(e) for u, e in bureau.employers.items()},
        "persons": {
            p.person_no: (p.unit_no, p.account_settled, CONV.unstructure(p.record))
            for p in bureau.persons.values()
        },
        "declarations": {u: [d.to_dict() for d in bureau.declarations(u)] for u in (UNIT, OTHER)},
    }


class TestRestart:
    def test_close_and_reopen_gives_back_everything(self, tmp_path: Path) -> None:
        """Employers, persons (records, settled flags, unit), declarations with
        outcomes and idempotency keys survive a close; the numbering goes on."""
        clock = Clock()
        w0, w1, w2 = example().workers
        with _seeded(tmp_path / "data", clock=clock, auto_advance=False) as bureau:
            keys = keys_of(example())
            settled = bureau.person_by_id(keys[1])
            moved = bureau.person_by_id(keys[2])
            assert settled is not None
            assert moved is not None
            bureau.settle_account(settled.person_no)
            bureau.transfer_person(moved.person_no, OTHER)
            first = bureau.submit(
                UNIT, DeclarationKind.WORKERS, _payload(w0, w2), idempotency_key="first"
            )
            bureau.settle()
            pending = bureau.submit(
                UNIT, DeclarationKind.WORKERS, _payload(w0), idempotency_key="second"
            )
            before = _snapshot(bureau)
        concluded = before["declarations"][UNIT][0]
        assert concluded["state"] == "partially_succeeded"
        assert [o["code"] for o in concluded["outcomes"]] == [None, "bureau.other-employer"]
        assert before["persons"][settled.person_no][1] is True
        assert before["persons"][moved.person_no][0] == OTHER
        assert len(before["persons"][settled.person_no][2]["account"]) == 17

        with ReferenceBureau.open(tmp_path / "data", clock=clock, auto_advance=False) as again:
            assert _snapshot(again) == before
            assert again.submit(
                UNIT, DeclarationKind.WORKERS, _payload(w0, w2), idempotency_key="first"
            ).id == (first.id)
            assert again.submit(
                UNIT, DeclarationKind.WORKERS, _payload(w0), idempotency_key="second"
            ).id == (pending.id)
            # the request's fingerprint survived too: another body is refused
            with pytest.raises(IdempotencyKeyReused):
                again.submit(
                    UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="second"
                )
            third = again.submit(
                UNIT, DeclarationKind.WORKERS, _payload(w1), idempotency_key="third"
            )
            assert (first.id, pending.id, third.id) == ("D000001", "D000002", "D000003")
            again.settle()
            # The processed second declaration ran against the stored records.
            assert again.status(pending.id).state is DeclarationState.SUCCEEDED
            assert again.status(third.id).outcomes[0].code == "bureau.account-settled"

    def test_auto_advance_on_reading(self, tmp_path: Path) -> None:
        """A bureau opened with auto_advance advances a declaration one stage per
        read (status and the pending list), and no further once concluded."""
        with _seeded(tmp_path / "data") as bureau:
            assert bureau.auto_advance
            d = bureau.submit(
                UNIT,
                DeclarationKind.WORKERS,
                _payload(example().workers[0]),
                idempotency_key="k",
            )
            assert d.state is DeclarationState.SUBMITTED
            (listed,) = bureau.pending_declarations(UNIT)
            assert listed.state is DeclarationState.PROCESSING
            assert bureau.status(d.id, unit_no=UNIT).state is DeclarationState.SUCCEEDED
            assert bureau.pending_declarations(UNIT) == []
            assert bureau.status(d.id).state is DeclarationState.SUCCEEDED

    def test_processing_delay_holds_with_auto_advance(self, tmp_path: Path) -> None:
        """Reads before submitted_at + processing_delay leave it processing."""
        import datetime as _dt

        clock = Clock()
        with _seeded(
            tmp_path / "data", clock=clock, processing_delay=_dt.timedelta(hours=2)
        ) as bureau:
            d = bureau.submit(
                UNIT, DeclarationKind.WORKERS, _payload(example().workers[0]), idempotency_key="k"
            )
            for _ in range(3):
                assert bureau.status(d.id).state is DeclarationState.PROCESSING
            clock.advance(hours=2)
            assert bureau.status(d.id).state is DeclarationState.SUCCEEDED


# -- processes ------------------------------------------------------------------------------------


def _submitter(directory: str, name: str, barrier: Any, out: Any) -> None:
    """Child: at the barrier, submit 30 shared keys and 30 of its own, interleaved."""
    bureau = ReferenceBureau.open(directory, auto_advance=False)
    barrier.wait(timeout=30)
    got = []
    for i in range(30):
        shared = bureau.submit(UNIT, DeclarationKind.WORKERS, {}, idempotency_key=f"same-{i}")
        own = bureau.submit(UNIT, DeclarationKind.WORKERS, {}, idempotency_key=f"{name}-{i}")
        got.append((f"same-{i}", shared.id))
        got.append((f"{name}-{i}", own.id))
    bureau.close()
    out.put((name, got))


class TestProcesses:
    def test_two_processes_same_and_different_keys(self, tmp_path: Path) -> None:
        """Two processes submitting at once: one declaration per shared key (both
        get its number), distinct numbers for different keys, no gap."""
        _seeded(tmp_path / "data").close()
        barrier, out = _MP.Barrier(2), _MP.Queue()
        children = [
            _MP.Process(target=_submitter, args=(str(tmp_path / "data"), n, barrier, out))
            for n in ("a", "b")
        ]
        for child in children:
            child.start()
        results = dict(out.get(timeout=60) for _ in children)
        for child in children:
            child.join(timeout=30)
            assert child.exitcode == 0
        a, b = dict(results["a"]), dict(results["b"])
        for i in range(30):
            assert a[f"same-{i}"] == b[f"same-{i}"]
        numbers = {*a.values(), *b.values()}
        assert len(numbers) == 90  # 30 shared + 30 + 30 own
        assert sorted(numbers) == [f"D{n:06d}" for n in range(1, 91)]
        with ReferenceBureau.open(tmp_path / "data") as bureau:
            assert len(bureau.declarations(UNIT)) == 90

    def test_threads_share_one_bureau(self, tmp_path: Path) -> None:
        """Eight threads submitting on one SQLite bureau: distinct numbers, none lost."""
        with _seeded(tmp_path / "data", auto_advance=False) as bureau:
            ids: list[str] = []

            def work(t: int) -> None:
                for i in range(10):
                    d = bureau.submit(UNIT, DeclarationKind.WORKERS, {}, idempotency_key=f"{t}-{i}")
                    ids.append(d.id)
                    bureau.sync(UNIT)

            threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(ids) == [f"D{n:06d}" for n in range(1, 81)]


def _processor(directory: str, after: int, ready: Any) -> None:
    """Child: conclude the processing declaration; after ``after`` workers are
    processed (their records changed in the open transaction), say so and wait
    to be killed."""
    bureau = ReferenceBureau.open(directory, auto_advance=False)
    inner = bureau._process_worker
    done = 0

    def counting(*args: Any) -> Any:
        nonlocal done
        result = inner(*args)
        done += 1
        if done == after:
            ready.set()
            threading.Event().wait(60)
        return result

    bureau._process_worker = counting  # type: ignore[method-assign]
    bureau.tick()


class TestKilled:
    def test_killed_mid_processing_leaves_nothing_half_done(self, tmp_path: Path) -> None:
        """A process killed (SIGKILL) while concluding a declaration of 600 workers,
        400 of them already accepted in its transaction: the file opens, the
        declaration is still processing, no record changed; the next read concludes it."""
        directory = tmp_path / "data"
        w0, w1, w2 = example().workers
        keys = keys_of(example())
        with _seeded(directory, auto_advance=False) as bureau:
            payload = _payload(*([w0, w1, w2] * 200), keys=keys * 200)
            d = bureau.submit(UNIT, DeclarationKind.WORKERS, payload, idempotency_key="big")
            bureau.tick()
            assert bureau.status(d.id).state is DeclarationState.PROCESSING
            before = _snapshot(bureau)
        assert len(before["persons"]) == 3
        ready = _MP.Event()
        child = _MP.Process(target=_processor, args=(str(directory), 400, ready))
        child.start()
        assert ready.wait(60)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        assert child.exitcode == -signal.SIGKILL

        with ReferenceBureau.open(directory) as bureau:
            assert _snapshot(bureau) == before
            record = bureau.person_by_id(keys[0])
            assert record is not None
            assert len(record.record.history or ()) == 1  # the red-book period not added
            status = bureau.status(d.id)  # auto_advance: the read concludes it
            assert status.state is DeclarationState.SUCCEEDED
            assert len(status.outcomes) == 600
            record = bureau.person_by_id(keys[0])
            assert record is not None
            assert len(record.record.history or ()) == 2


# -- files ----------------------------------------------------------------------------------------


class TestFiles:
    def test_modes_of_a_new_folder_and_file(self, tmp_path: Path) -> None:
        """A new data folder is 0700 and bureau.db 0600 (it holds personal data)."""
        with ReferenceBureau.open(tmp_path / "a" / "b") as bureau:
            assert bureau.path == tmp_path / "a" / "b" / "bureau.db"
            assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
            assert stat.S_IMODE(bureau.path.stat().st_mode) == 0o600
            bureau.seed_dossier(example())
            journals = [bureau.path.with_name(f"bureau.db{s}") for s in ("-wal", "-shm")]
            assert [stat.S_IMODE(j.stat().st_mode) for j in journals] == [0o600, 0o600]

    @pytest.mark.parametrize("content", [b"hello, this is text\n", b"\0" * 4096])
    def test_not_sqlite_refused_and_left_alone(self, tmp_path: Path, content: bytes) -> None:
        """A file that is not SQLite: a BureauFileError naming it and what to do; unchanged."""
        (tmp_path / "bureau.db").write_bytes(content)
        with pytest.raises(BureauFileError) as info:
            ReferenceBureau.open(tmp_path)
        message = str(info.value)
        assert str(tmp_path / "bureau.db") in message
        assert "not a reference bureau's data file" in message
        assert "不是经办机构的数据文件" in message
        assert info.value.code == "bureau.data-file"
        assert (tmp_path / "bureau.db").read_bytes() == content

    def test_another_applications_database_refused(self, tmp_path: Path) -> None:
        """An SQLite file with other tables (a collection store, say) is refused untouched."""
        with sqlite3.connect(tmp_path / "bureau.db") as conn:
            conn.execute("CREATE TABLE records (kind TEXT, data TEXT)")
        before = (tmp_path / "bureau.db").read_bytes()
        with pytest.raises(BureauFileError, match="not a reference bureau's data file"):
            ReferenceBureau.open(tmp_path)
        assert (tmp_path / "bureau.db").read_bytes() == before

    def test_a_folder_in_the_files_place_refused(self, tmp_path: Path) -> None:
        (tmp_path / "bureau.db").mkdir()
        with pytest.raises(BureauFileError, match="not a reference bureau's data file"):
            ReferenceBureau.open(tmp_path)

    def test_a_data_folder_that_is_a_file(self, tmp_path: Path) -> None:
        """A data "folder" that is a file is said to be one (not "File exists");
        the file is left as it was."""
        folder = tmp_path / "data"
        folder.write_bytes(b"mine")
        with pytest.raises(BureauFileError) as info:
            ReferenceBureau.open(folder)
        message = str(info.value)
        assert f"{str(folder)!r} is a file, not a folder" in message
        assert "File exists" not in message
        assert folder.read_bytes() == b"mine"

    def test_a_data_folder_with_a_nul(self, tmp_path: Path) -> None:
        """A path holding NUL (``local:a%00b`` typed, say) is a BureauFileError,
        not the operating system's ValueError."""
        with pytest.raises(BureauFileError, match="NUL"):
            ReferenceBureau.open(tmp_path / "a\0b")

    def test_a_read_only_data_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A bureau's file SQLite cannot open for writing (on a read-only file
        system or in an immutable folder its -shm file cannot be made: 'unable
        to open database file' at the first statement, simulated here) is said
        to be unusable, with its permissions to check; never 'it holds
        something else' (which tells the operator to leave a good file alone)."""
        ReferenceBureau.open(tmp_path).close()
        connect = bureau_sqlite.sqlite3.connect

        class Unopenable(sqlite3.Connection):
            def execute(self, *args: Any) -> sqlite3.Cursor:
                raise sqlite3.OperationalError("unable to open database file")

        def read_only(file: Any, **options: Any) -> sqlite3.Connection:
            return connect(file, factory=Unopenable, **options)

        monkeypatch.setattr(bureau_sqlite.sqlite3, "connect", read_only)
        with pytest.raises(BureauFileError) as info:
            ReferenceBureau.open(tmp_path)
        message = str(info.value)
        assert "holds something else" not in message
        assert "permissions" in message
        assert str(tmp_path / "bureau.db") in message

    def test_newer_schema_refused(self, tmp_path: Path) -> None:
        """A file of a newer release: its version and the upgrade named."""
        ReferenceBureau.open(tmp_path).close()
        with sqlite3.connect(tmp_path / "bureau.db") as conn:
            conn.execute("UPDATE bureau_schema SET version = ?", (SCHEMA_VERSION + 1,))
        with pytest.raises(BureauFileError) as info:
            ReferenceBureau.open(tmp_path)
        message = str(info.value)
        assert f"schema version {SCHEMA_VERSION + 1}" in message
        assert "upgrade pension_collect" in message
        assert str(tmp_path / "bureau.db") in message

    def test_other_tables_of_the_server_kept(self, tmp_path: Path) -> None:
        """auth_* tables (the server's authentication) before and after the bureau's
        are accepted and never touched."""
        with sqlite3.connect(tmp_path / "bureau.db") as conn:
            conn.execute("CREATE TABLE auth_accounts (unit_no TEXT PRIMARY KEY, hash TEXT)")
            conn.execute("INSERT INTO auth_accounts VALUES ('10012345', 'x')")
        with _seeded(tmp_path) as bureau:
            with sqlite3.connect(tmp_path / "bureau.db") as conn:
                conn.execute("CREATE TABLE auth_tokens (token TEXT)")
            assert bureau.unit_nos() == [UNIT]
        with ReferenceBureau.open(tmp_path) as again:
            assert again.unit_nos() == [UNIT]
        with sqlite3.connect(tmp_path / "bureau.db") as conn:
            assert conn.execute("SELECT * FROM auth_accounts").fetchall() == [("10012345", "x")]
            assert conn.execute("SELECT count(*) FROM auth_tokens").fetchone() == (0,)
            mode = conn.execute("PRAGMA journal_mode").fetchone()
        assert mode == ("wal",)

    def test_closed_bureau_refuses(self, tmp_path: Path) -> None:
        """After close(), a call is a BureauFileError saying to open it again."""
        bureau = ReferenceBureau.open(tmp_path)
        bureau.close()
        bureau.close()
        with pytest.raises(BureauFileError, match="open the bureau again"):
            bureau.unit_nos()
