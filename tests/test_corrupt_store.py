"""The corrupt-store suite (issue #10): a table of damaged store files, made
here from a real store the workflow filled, each opened, read whole and saved
into. Every outcome is a clean read or a typed ``StorageError`` whose message,
Chinese message, repr and traceback hold no name and no identity number of
the store; a file that is refused is left as it was (never re-created), and a
truncated store never reads as an empty one.

The table: the file emptied, zeroed, made text, truncated at many seeded
random offsets and at every page boundary, single and multiple bytes flipped
at seeded random offsets, every page zeroed in turn, a damaged header; and,
edited with the sqlite3 module, a newer, negative or zero schema version,
another application's id, text, real and blob record versions, a text version
column, missing or changed tables, invalid UTF-8 in every record, in a key and
in audit fields, damaged audit JSON. ``test_outcome_counts`` prints the
counts (``pytest -s``).
"""

from __future__ import annotations

import collections
import contextlib
import random
import sqlite3
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.adapters.sqlite import SCHEMA_VERSION, SQLiteStorage
from pension_collect.ports.storage import (
    CorruptAuditEntry,
    CorruptRecord,
    NotAStore,
    RecordKind,
    SchemaVersionError,
    StorageError,
    StoreDamaged,
)
from pension_collect.testing.contract import sample_entry
from workflow_fixtures import make_setup, sqlite_url, to_collecting

SEED = 20130820
TRUNCATIONS = 80
FLIPS = 120
MULTI_FLIPS = 30


@attrs.frozen
class Good:
    """The undamaged store the table is made from."""

    data: bytes
    unit_no: str
    keys: frozenset[tuple[RecordKind, str]]
    secrets: tuple[str, ...]
    """Names, identity numbers (and their birth dates), the employer's people."""
    page: int
    audit_rows: int


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Good:
    folder = tmp_path_factory.mktemp("good")
    s = make_setup(sqlite_url(folder))
    to_collecting(s)
    for w in s.workers:
        s.session.save_worker(w)
    unit = s.dossier.employer.unit_no
    keys: set[tuple[RecordKind, str]] = set()
    with s.storage.transaction() as tx:
        for kind in RecordKind:
            keys.update((kind, r.key) for r in tx.list(kind, unit))
        audit_rows = len(tx.audit(unit))
    s.storage.close()  # the WAL is checkpointed into the file
    db = folder / "collection.db"
    assert not Path(f"{db}-wal").exists()
    secrets: list[str] = []
    for w in s.workers:
        secrets += [w.name, w.id_number, w.id_number[6:14]]
        if w.bureau is not None:
            secrets.append(w.bureau.name)
    employer = s.dossier.employer
    secrets += [
        x
        for x in (employer.legal_representative, employer.contact, employer.phone)
        if x is not None
    ]
    data = db.read_bytes()
    return Good(
        data=data,
        unit_no=unit,
        keys=frozenset(keys),
        secrets=tuple(sorted(set(secrets))),
        page=int.from_bytes(data[16:18], "big"),
        audit_rows=audit_rows,
    )


# -- the table of damaged files --------------------------------------------------------------

Damage = Callable[[Good, Path], None]


@attrs.frozen
class Case:
    name: str
    family: str
    damage: Damage
    expect: type[StorageError] | None = None
    """An error the case must give (somewhere in its trial), if any."""


def _write(data: bytes) -> Damage:
    def damage(good: Good, path: Path) -> None:
        path.write_bytes(data)

    return damage


def _bytes(edit: Callable[[bytes], bytes]) -> Damage:
    def damage(good: Good, path: Path) -> None:
        path.write_bytes(edit(good.data))

    return damage


def _flipped(offsets: list[tuple[int, int]]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        out = bytearray(data)
        for offset, mask in offsets:
            out[offset % len(out)] ^= mask
        return bytes(out)

    return edit


def _zero_page(page: int, size: int) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        return data[: page * size] + bytes(size) + data[(page + 1) * size :]

    return edit


def _sql(*statements: str, audit: bool = False) -> Damage:
    """Edit a copy of the good store with the sqlite3 module (the audit log's
    append-only triggers dropped for the edit and put back when ``audit``)."""

    def damage(good: Good, path: Path) -> None:
        path.write_bytes(good.data)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            triggers = [
                sql
                for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
            ]
            if audit:
                conn.execute("DROP TRIGGER audit_no_update")
                conn.execute("DROP TRIGGER audit_no_delete")
            for statement in statements:
                conn.execute(statement)
            if audit:
                for sql in triggers:
                    conn.execute(sql)
        finally:
            conn.close()

    return damage


def _each_row(good: Good, path: Path) -> list[tuple[str, str, bytes]]:
    """(kind, key, data as UTF-8) of every record of the good store."""
    path.write_bytes(good.data)
    with sqlite3.connect(path) as conn:
        rows = [
            (kind, key, data.encode("utf-8"))
            for kind, key, data in conn.execute("SELECT kind, key, data FROM records ORDER BY 1, 2")
        ]
    conn.close()
    path.unlink()
    return rows


def _bad_utf8_record(index: int) -> Damage:
    """Record ``index``'s JSON with a byte that is never UTF-8 in the middle."""

    def damage(good: Good, path: Path) -> None:
        kind, key, data = _each_row(good, path)[index]
        middle = len(data) // 2
        bad = (data[:middle] + b"\xff" + data[middle:]).hex()
        _sql(
            f"UPDATE records SET data = CAST(x'{bad}' AS TEXT) "
            f"WHERE kind = '{kind}' AND key = '{key}'"
        )(good, path)

    return damage


def _bad_utf8_audit(index: int) -> Damage:
    """Audit entry ``index``'s ``after`` (or ``message`` when it has none) with
    a byte that is never UTF-8 in the middle."""

    def damage(good: Good, path: Path) -> None:
        path.write_bytes(good.data)
        with sqlite3.connect(path) as conn:
            seq, message, after = conn.execute(
                "SELECT seq, message, after FROM audit ORDER BY seq LIMIT 1 OFFSET ?", (index,)
            ).fetchone()
        conn.close()
        column, text = ("message", message) if after is None else ("after", after)
        data = text.encode("utf-8")
        bad = (data[: len(data) // 2] + b"\xff" + data[len(data) // 2 :]).hex()
        _sql(f"UPDATE audit SET {column} = CAST(x'{bad}' AS TEXT) WHERE seq = {seq}", audit=True)(
            good, path
        )

    return damage


def _first_worker(good: Good) -> str:
    return min(key for kind, key in good.keys if kind is RecordKind.WORKER)


def _worker_edit(template: str) -> Damage:
    """An UPDATE of the first worker's row: ``template`` gets ``{where}``."""

    def damage(good: Good, path: Path) -> None:
        where = f"kind = 'worker' AND key = '{_first_worker(good)}'"
        _sql(template.format(where=where))(good, path)

    return damage


def _bad_utf8_key(good: Good, path: Path) -> None:
    bad = (_first_worker(good).encode() + b"\xfe").hex()
    _worker_edit(f"UPDATE records SET key = CAST(x'{bad}' AS TEXT) WHERE {{where}}")(good, path)


def _audit_edit(column: str, value: str, row: int | None = None) -> Damage:
    where = (
        ""
        if row is None
        else f" WHERE seq = (SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET {row})"
    )
    return _sql(f"UPDATE audit SET {column} = {value}{where}", audit=True)


def _text_version_column(good: Good, path: Path) -> None:
    _sql(
        "CREATE TABLE records2 (kind TEXT NOT NULL, unit_no TEXT NOT NULL, key TEXT NOT NULL, "
        "version TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, unit_no, key)) "
        "WITHOUT ROWID",
        "INSERT INTO records2 SELECT kind, unit_no, key, CAST(version AS TEXT), data FROM records",
        "DROP TABLE records",
        "ALTER TABLE records2 RENAME TO records",
    )(good, path)


def _with_wal(noise: bytes) -> Damage:
    def damage(good: Good, path: Path) -> None:
        path.write_bytes(good.data)
        Path(f"{path}-wal").write_bytes(noise)

    return damage


def cases(good: Good) -> list[Case]:
    rng = random.Random(SEED)
    size = len(good.data)
    pages = size // good.page
    out = [
        Case("empty", "whole file", _write(b""), NotAStore),
        Case("zeroed", "whole file", _write(bytes(size)), NotAStore),
        Case("text", "whole file", _write("这不是数据库\n".encode() * 100), NotAStore),
        Case("random bytes", "whole file", _write(rng.randbytes(size)), NotAStore),
        Case("one byte", "whole file", _write(good.data[:1]), StoreDamaged),
        Case(
            "header then text",
            "whole file",
            _write(good.data[:16] + b"text " * 1000),
            StoreDamaged,
        ),
        Case(
            "page size 3",
            "whole file",
            _bytes(lambda d: d[:16] + (3).to_bytes(2, "big") + d[18:]),
            StoreDamaged,
        ),
    ]
    offsets = {rng.randrange(1, size) for _ in range(TRUNCATIONS)}
    offsets |= {1, 15, 16, 99, 100, 101, 511, 512}
    offsets |= {k * good.page for k in range(1, pages)}
    out += [
        Case(f"truncated at {n}", "truncated", _bytes(lambda d, n=n: d[:n]))
        for n in sorted(offsets)
    ]
    out += [
        Case(f"byte {n} flipped", "flipped", _bytes(_flipped([(n, rng.randrange(1, 256))])))
        for n in sorted(rng.randrange(size) for _ in range(FLIPS))
    ]
    for i in range(MULTI_FLIPS):
        flips = [(rng.randrange(size), rng.randrange(1, 256)) for _ in range(16)]
        out.append(Case(f"16 bytes flipped #{i}", "flipped", _bytes(_flipped(flips))))
    out += [
        Case(f"page {k + 1} zeroed", "zeroed page", _bytes(_zero_page(k, good.page)))
        for k in range(pages)
    ]
    out += [
        Case(
            "schema version newer",
            "schema",
            _sql(f"PRAGMA user_version={SCHEMA_VERSION + 1}"),
            SchemaVersionError,
        ),
        Case("schema version -1", "schema", _sql("PRAGMA user_version=-1"), StoreDamaged),
        Case(
            "schema version -2^31", "schema", _sql("PRAGMA user_version=-2147483648"), StoreDamaged
        ),
        Case("schema version 0", "schema", _sql("PRAGMA user_version=0"), StoreDamaged),
        Case("another application's id", "schema", _sql("PRAGMA application_id=1"), NotAStore),
        Case("application id 0", "schema", _sql("PRAGMA application_id=0"), NotAStore),
        Case("text version column", "schema", _text_version_column, StoreDamaged),
        Case("records table dropped", "schema", _sql("DROP TABLE records"), StoreDamaged),
        Case("audit table dropped", "schema", _sql("DROP TABLE audit"), StoreDamaged),
        Case(
            "append-only trigger dropped",
            "schema",
            _sql("DROP TRIGGER audit_no_update"),
            StoreDamaged,
        ),
        Case("index dropped", "schema", _sql("DROP INDEX audit_subject"), StoreDamaged),
        Case(
            "column added", "schema", _sql("ALTER TABLE records ADD COLUMN note TEXT"), StoreDamaged
        ),
        Case("a table of the clerk's added", "schema", _sql("CREATE TABLE notes (x)")),
        Case(
            "record version 'abc'",
            "record",
            _worker_edit("UPDATE records SET version = 'abc' WHERE {where}"),
            CorruptRecord,
        ),
        Case(
            "record version 1.5",
            "record",
            _worker_edit("UPDATE records SET version = 1.5 WHERE {where}"),
            CorruptRecord,
        ),
        Case(
            "record version x'01'",
            "record",
            _worker_edit("UPDATE records SET version = x'01' WHERE {where}"),
            CorruptRecord,
        ),
        Case(
            "record data not JSON",
            "record",
            _worker_edit("UPDATE records SET data = '{{broken' WHERE {where}"),
            CorruptRecord,
        ),
        Case(
            "record data an array",
            "record",
            _worker_edit("UPDATE records SET data = '[1]' WHERE {where}"),
            CorruptRecord,
        ),
        Case(
            "record data a number",
            "record",
            _worker_edit("UPDATE records SET data = 5 WHERE {where}"),
            CorruptRecord,
        ),
        Case(
            "record data a blob",
            "record",
            _worker_edit("UPDATE records SET data = CAST(data AS BLOB) WHERE {where}"),
        ),
        Case("record key not UTF-8", "record", _bad_utf8_key, CorruptRecord),
        Case(
            "audit after not JSON",
            "audit",
            _audit_edit("after", "'{\"worker\": '", 3),
            CorruptAuditEntry,
        ),
        Case(
            "audit before an array", "audit", _audit_edit("before", "'[1]'", 4), CorruptAuditEntry
        ),
        Case("audit every after damaged", "audit", _audit_edit("after", "'{'"), CorruptAuditEntry),
        Case(
            "audit actor not UTF-8",
            "audit",
            _audit_edit("actor", "CAST(x'ff' AS TEXT)", 0),
            CorruptAuditEntry,
        ),
        Case(
            "audit after not UTF-8",
            "audit",
            _audit_edit("after", "CAST(x'7b22ff' AS TEXT)", 2),
            CorruptAuditEntry,
        ),
        Case(
            "audit kind unknown",
            "audit",
            _audit_edit("subject_kind", "'person'", 1),
            CorruptAuditEntry,
        ),
        Case("audit time a blob", "audit", _audit_edit("at", "x'35'", 1), CorruptAuditEntry),
        Case("garbage WAL beside it", "wal", _with_wal(rng.randbytes(3 * good.page + 32))),
    ]
    out += [
        Case(
            f"record {i + 1} not UTF-8", "invalid UTF-8 record", _bad_utf8_record(i), CorruptRecord
        )
        for i in range(len(good.keys))
    ]
    out += [
        Case(
            f"audit entry {i + 1}: after damaged",
            "audit",
            _audit_edit("after", "'{\"x\"'", i),
            CorruptAuditEntry,
        )
        for i in range(0, good.audit_rows, 3)
    ]
    out += [
        Case(
            f"audit entry {i + 1} not UTF-8",
            "invalid UTF-8 audit entry",
            _bad_utf8_audit(i),
            CorruptAuditEntry,
        )
        for i in range(good.audit_rows)
    ]
    return out


# -- one trial: open, read everything, save --------------------------------------------------


@attrs.define
class Trial:
    errors: list[tuple[str, StorageError]] = attrs.Factory(list)
    raw: list[tuple[str, BaseException]] = attrs.Factory(list)
    listed: set[tuple[RecordKind, str]] | None = None
    opened: bool = False

    @property
    def outcome(self) -> str:
        if self.raw:
            return "raw exception"
        return "typed error" if self.errors else "clean read"


def _try(trial: Trial, op: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except StorageError as exc:
        trial.errors.append((op, exc))
    except Exception as exc:  # what the suite is here to catch
        trial.raw.append((op, exc))
    return None


def _run(good: Good, path: Path) -> Trial:
    trial = Trial()
    store = _try(trial, "open", lambda: SQLiteStorage(path, timeout=1))
    if store is None:
        return trial
    trial.opened = True
    unit = good.unit_no
    try:
        listed: set[tuple[RecordKind, str]] = set()
        complete = True
        for kind in RecordKind:

            def read(kind: RecordKind = kind) -> None:
                with store.transaction() as tx:
                    # the versions alone (no data read): a damaged version or
                    # key is the error listing gives; damaged data is not read
                    versions = tx.versions(kind, unit)
                    records = tx.list(kind, unit)
                    listed.update((kind, r.key) for r in records)
                    assert versions == {r.key: r.version for r in records}

            if _try(trial, f"list {kind.value}", lambda read=read: read() or True) is None:
                complete = False
        trial.listed = listed if complete else None
        for kind, key in sorted(good.keys):

            def get(kind: RecordKind = kind, key: str = key) -> None:
                with store.transaction() as tx:
                    tx.get(kind, unit, key)

            _try(trial, "get", get)
        first = _first_worker(good)

        def audit() -> None:
            with store.transaction() as tx:
                tx.audit(unit)
                tx.audit(unit, subject=(RecordKind.WORKER, first))

        def save_new() -> None:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, unit, "probe", {"saved": True}, expected_version=0)
                tx.append_audit([sample_entry("worker.saved", "probe")])

        def save_again() -> None:
            with store.transaction() as tx:
                rec = tx.get(RecordKind.WORKER, unit, first)
                if rec is not None:
                    tx.put(RecordKind.WORKER, unit, first, rec.data, expected_version=rec.version)

        def read_back() -> None:
            with store.transaction() as tx:
                tx.get(RecordKind.WORKER, unit, "probe")

        for op, fn in (
            ("audit", audit),
            ("save new", save_new),
            ("save again", save_again),
            ("read back", read_back),
        ):
            _try(trial, op, fn)
    finally:
        _try(trial, "close", store.close)
    return trial


@pytest.fixture(scope="module")
def table(good: Good, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Case, Trial, bool]]:
    """Each case with its trial and whether the damaged file was left as it was
    (checked when the store was refused at opening)."""
    folder = tmp_path_factory.mktemp("damaged")
    out = []
    for i, case in enumerate(cases(good)):
        path = folder / f"case{i}.db"
        case.damage(good, path)
        before = path.read_bytes()
        trial = _run(good, path)
        unchanged = trial.opened or path.read_bytes() == before
        out.append((case, trial, unchanged))
    return out


# -- what every case must show ---------------------------------------------------------------


def test_no_raw_exception(table: list[tuple[Case, Trial, bool]]) -> None:
    """Opening, reading and saving each damaged file: a typed error or a clean
    read, never anything else."""
    raw = [
        f"{case.name}: {op}: {type(exc).__name__}"
        for case, trial, _ in table
        for op, exc in trial.raw
    ]
    assert raw == []


def test_no_personal_data_in_any_error(good: Good, table: list[tuple[Case, Trial, bool]]) -> None:
    """No name, identity number (nor its birth date) nor the employer's people in
    any error's message, Chinese message, repr, problems or traceback."""
    checked = 0
    for case, trial, _ in table:
        for op, exc in trial.errors:
            text = "\n".join(
                [
                    str(exc),
                    repr(exc),
                    getattr(exc, "message_zh", ""),
                    *(str(p) for p in getattr(exc, "problems", ())),
                    *traceback.format_exception(exc),
                ]
            )
            leaked = [s for s in good.secrets if s in text]
            assert leaked == [], f"{case.name}: {op}: {type(exc).__name__}"
            checked += 1
    assert checked > 100


def test_every_error_is_typed_and_says_what_to_do(table: list[tuple[Case, Trial, bool]]) -> None:
    """Each error has a storage code and a Chinese message beside the English."""
    for case, trial, _ in table:
        for op, exc in trial.errors:
            assert exc.code.startswith("storage."), (case.name, op)
            assert getattr(exc, "message_zh", ""), (case.name, op, exc.code)


def test_expected_errors(table: list[tuple[Case, Trial, bool]]) -> None:
    """The cases that must be refused are, with the error they must give."""
    for case, trial, _ in table:
        if case.expect is not None:
            got = [type(exc) for _, exc in trial.errors]
            assert any(issubclass(t, case.expect) for t in got), (case.name, got)


def test_refused_files_are_left_as_they_were(table: list[tuple[Case, Trial, bool]]) -> None:
    """A file refused at opening is not written to: not re-created, not taken over."""
    assert [case.name for case, _, unchanged in table if not unchanged] == []


def test_a_truncated_store_never_reads_as_an_empty_one(
    good: Good, table: list[tuple[Case, Trial, bool]]
) -> None:
    """A truncated file either gives a typed error, or (cut in pages no record
    used) reads every record: never an empty store made of it."""
    for case, trial, _ in table:
        if case.family in ("truncated", "whole file") and trial.listed is not None:
            assert trial.listed == good.keys, case.name


def test_invalid_utf8_is_a_corrupt_record_naming_the_masked_key(
    good: Good, table: list[tuple[Case, Trial, bool]]
) -> None:
    """The sqlite3 module's own error quoted the whole record (identity number
    included); the store names the record, masked, and the byte."""
    rows = [(c, t) for c, t, _ in table if c.family == "invalid UTF-8 record"]
    assert len(rows) == len(good.keys)
    for case, trial in rows:
        corrupt = [exc for _, exc in trial.errors if isinstance(exc, CorruptRecord)]
        assert corrupt, case.name
        assert all("not UTF-8" in str(p) for exc in corrupt for p in exc.problems)


def test_outcome_counts(table: list[tuple[Case, Trial, bool]]) -> None:
    """The counts for the closing note (shown with ``pytest -s``)."""
    by_family: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    codes: collections.Counter[str] = collections.Counter()
    for case, trial, _ in table:
        by_family[case.family][trial.outcome] += 1
        codes.update({exc.code for _, exc in trial.errors})
    total: collections.Counter[str] = sum(by_family.values(), collections.Counter())
    lines = [f"{'family':<26} {'cases':>5} {'typed error':>11} {'clean read':>10}"]
    for family, counts in [*sorted(by_family.items()), ("all", total)]:
        lines.append(
            f"{family:<26} {counts.total():>5} {counts['typed error']:>11} "
            f"{counts['clean read']:>10}"
        )
    lines.append("codes (cases): " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
    print("\n" + "\n".join(lines))
    assert total["raw exception"] == 0
    assert total.total() >= TRUNCATIONS + FLIPS + MULTI_FLIPS
    assert total["typed error"] > 0
    assert total["clean read"] > 0


def test_the_damaged_file_table_is_reproducible(good: Good) -> None:
    """The table is built from a fixed seed: the same cases every run."""
    assert [c.name for c in cases(good)] == [c.name for c in cases(good)]


# -- a new store, and files that are not one --------------------------------------------------


def _put(store: SQLiteStorage, key: str, data: dict[str, Any] | None = None) -> None:
    with store.transaction() as tx:
        tx.put(RecordKind.WORKER, "u", key, data or {"k": key}, expected_version=0)


def _keys(store: SQLiteStorage) -> list[str]:
    with store.transaction() as tx:
        return [r.key for r in tx.list(RecordKind.WORKER, "u")]


def test_a_new_store_is_made_where_no_file_exists(tmp_path: Path) -> None:
    """No file: a new store, and nothing else left in the folder (the temporary
    file it was built in is gone)."""
    store = SQLiteStorage(tmp_path / "c.db")
    _put(store, "k")
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db"]
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    again = SQLiteStorage(tmp_path / "c.db")
    assert _keys(again) == ["k"]
    again.close()


def test_an_empty_file_is_refused_not_made_a_store(tmp_path: Path) -> None:
    """An empty file (``touch``, or a store truncated to nothing) is refused and
    left empty; the message says how to start a new store."""
    db = tmp_path / "c.db"
    db.touch()
    with pytest.raises(NotAStore) as info:
        SQLiteStorage(db)
    assert info.value.code == "storage.not-a-store"
    assert "empty" in str(info.value)
    assert "does not exist yet" in str(info.value)
    assert "新建" in info.value.message_zh
    assert db.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db"]


def test_stores_made_at_once_are_one_store(tmp_path: Path) -> None:
    """Eight handles opening one new path at the same moment: every one opens,
    all on the same store (none finds a half-made file), no temporary file left."""
    import threading

    db = tmp_path / "c.db"
    barrier = threading.Barrier(8)
    opened: list[SQLiteStorage] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            opened.append(SQLiteStorage(db))
        except BaseException as exc:  # collected for the assertion
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    _put(opened[0], "one")
    assert all(_keys(store) == ["one"] for store in opened)
    for store in opened:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db"]


def test_without_hard_links_the_store_is_copied_into_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without hard links (FAT, some shares) the finished store
    is copied into a file created exclusively."""
    import errno
    import os

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    store = SQLiteStorage(tmp_path / "c.db")
    _put(store, "k")
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db"]
    again = SQLiteStorage(tmp_path / "c.db")
    assert _keys(again) == ["k"]
    again.close()


def test_paths_that_are_no_store_file(tmp_path: Path) -> None:
    """A symbolic link to nothing, a folder, a device, a pipe, a missing folder:
    each refused with its reason, nothing created, nothing blocks."""
    import os

    dangling = tmp_path / "link.db"
    dangling.symlink_to(tmp_path / "target.db")
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    refused = {
        dangling: "does not exist",
        tmp_path: "folder",
        Path(os.devnull): "not an ordinary file",
        fifo: "not an ordinary file",
        tmp_path / "missing" / "c.db": "folder does not exist",
    }
    for path, reason in refused.items():
        with pytest.raises(StorageError) as info:
            SQLiteStorage(path)
        assert reason in str(info.value), path
        assert info.value.code in ("storage.unavailable", "storage.not-a-store"), path
    assert not (tmp_path / "target.db").exists()
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    "options",
    [{"foo": 1}, {"timeout": "x"}, {"timeout": -1}, {"synchronous": 3}, {"synchronous": "OFF"}],
)
def test_bad_options_are_storage_errors(tmp_path: Path, options: dict[str, Any]) -> None:
    """Options the store does not know, or values it cannot use: StorageError,
    and no file made."""
    from pension_collect.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    with pytest.raises(StorageError):
        host.open_storage(f"sqlite://{tmp_path}/c.db", **options)
    assert list(tmp_path.iterdir()) == []


def test_a_store_locked_too_long_is_busy(tmp_path: Path) -> None:
    """Another program holding the write lock past the timeout: StoreBusy, at
    opening and at a step; the store is usable once it lets go."""
    from pension_collect.ports.storage import StoreBusy

    db = tmp_path / "c.db"
    store = SQLiteStorage(db, timeout=0.1)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy) as info, store.transaction():
            pass  # pragma: no cover - never entered
        assert info.value.code == "storage.busy"
        with pytest.raises(StoreBusy):
            SQLiteStorage(db, timeout=0.1)
    finally:
        other.execute("ROLLBACK")
        other.close()
    _put(store, "k")
    assert _keys(store) == ["k"]
    store.close()


# -- a read-only or full disk ----------------------------------------------------------------
#
# As root (CI), chmod does not stop a write: a read-only bind mount, an
# immutable file (chattr +i) and a small tmpfs do. Without root, chmod does.
# A test that can do neither skips, and on CI a skip fails the run.


def _sh(*cmd: str | Path) -> bool:
    import subprocess

    return subprocess.run([str(c) for c in cmd], capture_output=True, check=False).returncode == 0


def _root() -> bool:
    import os

    return os.geteuid() == 0


@pytest.fixture
def mounted() -> Iterator[list[Path]]:
    """Mount points to unmount at the end of the test."""
    points: list[Path] = []
    yield points
    for point in reversed(points):
        if not _sh("umount", point):
            _sh("umount", "-l", point)


def _read_only_view(folder: Path, mounted: list[Path]) -> Path:
    """``folder`` as a read-only folder: a read-only bind mount of it (root), or
    itself made read-only with chmod."""
    import os
    import stat

    if not _root():
        for p in folder.iterdir():
            p.chmod(stat.S_IRUSR)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return folder
    view = folder.with_name(folder.name + "-ro")
    view.mkdir()
    if not _sh("mount", "--bind", folder, view):
        pytest.skip("a read-only bind mount needs mount(8) with CAP_SYS_ADMIN")
    mounted.append(view)
    if not _sh("mount", "-o", "remount,bind,ro", view):
        pytest.skip("a read-only bind mount needs mount(8) with CAP_SYS_ADMIN")
    assert not os.access(view, os.W_OK)
    return view


def _small_disk(folder: Path, mounted: list[Path], size: str = "512k") -> Path:
    folder.mkdir()
    if not _root() or not _sh("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder):
        pytest.skip("a full disk is a small tmpfs, which needs root and mount(8)")
    mounted.append(folder)
    return folder


def _fill(folder: Path) -> Path:
    """Fill the disk of ``folder`` to the last byte with one file."""
    import os
    import shutil

    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, bytes(chunk))
    finally:
        os.close(fd)
    assert shutil.disk_usage(folder).free == 0
    return filler


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_store_in_a_read_only_folder_is_refused_when_opened(
    tmp_path: Path, mounted: list[Path]
) -> None:
    """Read-only folder and file: refused at opening, before any step, with what
    to do; a new store there is refused too; nothing written."""
    from pension_collect.ports.storage import StoreReadOnly

    folder = tmp_path / "store"
    folder.mkdir()
    store = SQLiteStorage(folder / "c.db")
    _put(store, "k")
    store.close()
    before = _tree(folder)
    view = _read_only_view(folder, mounted)
    for name in ("c.db", "new.db"):
        with pytest.raises(StoreReadOnly) as info:
            SQLiteStorage(view / name)
        assert info.value.code == "storage.read-only"
        assert "writable" in str(info.value)
        assert "只读" in info.value.message_zh
    assert _tree(view) == before


def test_an_immutable_store_file_is_refused_when_opened(tmp_path: Path) -> None:
    """A store file that cannot be written (``chattr +i``; chmod without root) in
    a writable folder: refused at opening rather than at the first save; usable
    again once writable, its records intact."""
    import stat

    from pension_collect.ports.storage import StoreReadOnly

    db = tmp_path / "c.db"
    store = SQLiteStorage(db)
    _put(store, "k")
    store.close()
    if _root():
        if not _sh("chattr", "+i", db):
            pytest.skip("chattr +i is not supported on this file system")
    else:
        db.chmod(stat.S_IRUSR)
    try:
        with pytest.raises(StoreReadOnly):
            SQLiteStorage(db)
    finally:
        if _root():
            _sh("chattr", "-i", db)
        else:
            db.chmod(stat.S_IRUSR | stat.S_IWUSR)
    again = SQLiteStorage(db)
    assert _keys(again) == ["k"]
    again.close()


def test_a_full_disk_refuses_a_step_whole(tmp_path: Path, mounted: list[Path]) -> None:
    """Saving on a full disk: StoreFull, and of the refused batch (records and
    audit entries) nothing is in the store; the store reads as before; once
    space is freed the same batch saves."""
    from pension_collect.ports.storage import StoreFull, Write

    disk = _small_disk(tmp_path / "disk", mounted)
    store = SQLiteStorage(disk / "c.db")
    _put(store, "before")
    filler = _fill(disk)
    saved: list[str] = []
    refused: StoreFull | None = None
    for n in range(200):
        batch = [Write(f"b{n}-{i}", {"pad": "字" * 2000}, 0) for i in range(5)]
        try:
            with store.transaction() as tx:
                tx.put_many(RecordKind.WORKER, "u", batch)
                tx.append_audit([sample_entry("worker.saved", w.key) for w in batch])
        except StoreFull as exc:
            refused = exc
            break
        saved += [w.key for w in batch]
    assert refused is not None
    assert refused.code == "storage.disk-full"
    assert "free space" in str(refused)
    assert "磁盘已满" in refused.message_zh
    expected = sorted(["before", *saved])
    assert _keys(store) == expected
    with store.transaction() as tx:
        assert len(tx.audit("10012345")) == len(saved)
    filler.unlink()
    with store.transaction() as tx:
        tx.put_many(RecordKind.WORKER, "u", batch)
    store.close()
    again = SQLiteStorage(disk / "c.db")
    assert _keys(again) == sorted([*expected, *(w.key for w in batch)])
    again.close()


def test_a_new_store_on_a_full_disk_leaves_nothing(tmp_path: Path, mounted: list[Path]) -> None:
    """Making a store on a full disk: StoreFull, and neither the store's name nor
    a temporary file is left."""
    from pension_collect.ports.storage import StoreFull

    disk = _small_disk(tmp_path / "disk", mounted)
    _fill(disk)
    with pytest.raises(StoreFull):
        SQLiteStorage(disk / "new.db")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_opening_a_store_on_a_full_disk(tmp_path: Path, mounted: list[Path]) -> None:
    """A store whose disk filled up while it was closed (no room for its -shm):
    StoreFull at opening; opened as before once space is freed."""
    from pension_collect.ports.storage import StoreFull

    disk = _small_disk(tmp_path / "disk", mounted)
    store = SQLiteStorage(disk / "c.db")
    _put(store, "k")
    store.close()
    filler = _fill(disk)
    with pytest.raises(StoreFull):
        SQLiteStorage(disk / "c.db")
    filler.unlink()
    again = SQLiteStorage(disk / "c.db")
    assert _keys(again) == ["k"]
    again.close()


def test_a_transaction_used_after_it_ended(tmp_path: Path) -> None:
    """A transaction kept past its block refuses (a statement would otherwise
    run outside any transaction); memory and SQLite alike."""
    from pension_collect.adapters.memory import MemoryStorage
    from pension_collect.ports.storage import TransactionEnded

    for store in (MemoryStorage(), SQLiteStorage(tmp_path / "c.db")):
        with store.transaction() as tx:
            pass
        with pytest.raises(TransactionEnded):
            tx.put(RecordKind.WORKER, "u", "late", {}, expected_version=0)
        with pytest.raises(TransactionEnded):
            tx.get(RecordKind.WORKER, "u", "late")
        with store.transaction() as again:
            assert again.get(RecordKind.WORKER, "u", "late") is None
        store.close()
