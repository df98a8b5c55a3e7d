"""Storage: the contract suite on memory and SQLite, and what only SQLite has."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pension_collect.adapters.memory import MemoryStorage
from pension_collect.adapters.sqlite import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    SQLiteStorage,
    path_of,
)
from pension_collect.errors import PluginError
from pension_collect.hookspecs import hookimpl
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import (
    NestedTransaction,
    RecordKind,
    SchemaVersionError,
    Storage,
    StorageError,
    StorageRegistry,
    UnknownScheme,
    scheme_of,
)
from pension_collect.testing.contract import SharedStorageContract, StorageContract, sample_entry


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        store = PluginHost(load_entry_points=False).open_storage("memory:")
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, storage: MemoryStorage) -> Callable[[], Storage]:
        return storage.handle

    def test_second_handle_in_the_same_thread_is_refused_not_deadlocked(self) -> None:
        """A thread with a transaction open through one handle that opens another
        through a second handle is refused (it would wait for itself)."""
        store = MemoryStorage()
        other = store.handle()
        with store.transaction(), pytest.raises(NestedTransaction), other.transaction():
            pass  # pragma: no cover - never entered
        with other.transaction() as tx:
            assert tx.list(RecordKind.WORKER, "u") == []

    def test_closing_a_handle_keeps_the_store(self) -> None:
        """Closing one handle closes neither the store nor its other handles."""
        store = MemoryStorage()
        other = store.handle()
        with store.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "k", {}, expected_version=0)
        store.close()
        with pytest.raises(StorageError), store.transaction():
            pass  # pragma: no cover - never entered
        with other.transaction() as tx:
            assert tx.get(RecordKind.WORKER, "u", "k") is not None

    def test_each_open_is_a_new_store(self) -> None:
        """Two opens of memory: are two separate stores."""
        host = PluginHost(load_entry_points=False)
        a, b = host.open_storage("memory:"), host.open_storage("memory:")
        with a.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "k", {}, expected_version=0)
        with b.transaction() as tx:
            assert tx.get(RecordKind.WORKER, "u", "k") is None

    def test_closed_store_refuses(self) -> None:
        """A closed memory store refuses new transactions."""
        store = MemoryStorage()
        store.close()
        with pytest.raises(StorageError), store.transaction():
            pass


class TestSQLiteStorage(SharedStorageContract):
    @pytest.fixture
    def db(self, tmp_path: Path) -> Path:
        return tmp_path / "collection.db"

    @pytest.fixture
    def storage(self, db: Path) -> Iterator[Storage]:
        store = PluginHost(load_entry_points=False).open_storage(f"sqlite://{db}")
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, db: Path) -> Iterator[Callable[[], Storage]]:
        opened: list[SQLiteStorage] = []

        def again() -> Storage:
            opened.append(SQLiteStorage(db))
            return opened[-1]

        yield again
        for store in opened:
            store.close()

    @pytest.fixture
    def process_opener(self, db: Path) -> Callable[[], Storage]:
        return functools.partial(SQLiteStorage, db)

    def test_file_is_plain_sqlite(self, storage: Storage, db: Path) -> None:
        """The store is a file the sqlite3 module reads: records as JSON text."""
        with storage.transaction() as tx:
            tx.put(RecordKind.WORKER, "u", "k", {"name": "张伟"}, expected_version=0)
        conn = sqlite3.connect(db)
        rows = conn.execute("SELECT kind, key, version, data FROM records").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.close()
        assert rows == [("worker", "k", 1, '{"name":"张伟"}')]
        assert version == SCHEMA_VERSION

    def test_audit_log_is_append_only(self, storage: Storage, db: Path) -> None:
        """UPDATE and DELETE on the audit table are refused by the file itself."""
        with storage.transaction() as tx:
            tx.append_audit([sample_entry("worker.saved", "k1")])
        conn = sqlite3.connect(db)
        try:
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute("UPDATE audit SET message = 'rewritten'")
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute("DELETE FROM audit")
        finally:
            conn.close()

    def test_old_schema_is_migrated_forward(self, tmp_path: Path) -> None:
        """A file at schema version 1 is brought to the current version on open."""
        db = tmp_path / "old.db"
        conn = sqlite3.connect(db)
        MIGRATIONS[0](conn)
        conn.execute("INSERT INTO records VALUES ('worker', 'u', 'k', 1, '{\"v\": 1}')")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute("PRAGMA user_version=1")
        conn.commit()
        conn.close()
        store = SQLiteStorage(db)
        try:
            with store.transaction() as tx:
                got = tx.get(RecordKind.WORKER, "u", "k")
        finally:
            store.close()
        conn = sqlite3.connect(db)
        triggers = conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.close()
        assert got is not None
        assert got.data == {"v": 1}
        assert version == SCHEMA_VERSION
        assert sorted(t[0] for t in triggers) == ["audit_no_delete", "audit_no_update"]

    def test_old_schema_refused_without_migrate(self, tmp_path: Path) -> None:
        """migrate=False refuses an older file instead of changing it."""
        db = tmp_path / "old.db"
        conn = sqlite3.connect(db)
        MIGRATIONS[0](conn)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute("PRAGMA user_version=1")
        conn.commit()
        conn.close()
        with pytest.raises(SchemaVersionError):
            SQLiteStorage(db, migrate=False)

    def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        """A file from a newer release is refused, not damaged."""
        db = tmp_path / "new.db"
        SQLiteStorage(db).close()
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
        conn.commit()
        conn.close()
        with pytest.raises(SchemaVersionError, match="upgrade"):
            SQLiteStorage(db)

    def test_foreign_database_is_refused(self, tmp_path: Path) -> None:
        """Another application's SQLite file is not taken over."""
        db = tmp_path / "other.db"
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        with pytest.raises(StorageError, match="not a pension_collect store"):
            SQLiteStorage(db)

    def test_closed_store_refuses(self, storage: Storage) -> None:
        """A closed SQLite handle refuses new transactions with a StorageError."""
        storage.close()
        with pytest.raises(StorageError, match="closed"), storage.transaction():
            pass  # pragma: no cover - never entered


class TestStorageUrls:
    def test_sqlite_paths(self) -> None:
        """sqlite:///abs and sqlite:rel name the file they say."""
        assert path_of("sqlite:///tmp/x.db") == Path("/tmp/x.db")
        assert path_of("sqlite:data/x.db") == Path("data/x.db")

    @pytest.mark.parametrize("url", ["sqlite:", "sqlite://host/x.db", "memory:x"])
    def test_bad_urls(self, url: str) -> None:
        """Malformed store URLs raise StorageError."""
        host = PluginHost(load_entry_points=False)
        with pytest.raises(StorageError):
            host.open_storage(url)

    @pytest.mark.parametrize("tail", ["?synchronous=normal", "?", "#frag", "?timeout=5#x"])
    def test_sqlite_url_with_a_query_is_refused(self, tmp_path: Path, tail: str) -> None:
        """Options in a sqlite URL's query would become part of the file name
        (a second, empty store beside the one meant): refused, saying where
        options go, and no file is made."""
        host = PluginHost(load_entry_points=False)
        with pytest.raises(StorageError, match="takes no query") as info:
            host.open_storage(f"sqlite:///{tmp_path}/c.db{tail}")
        assert "open_storage" in str(info.value)
        assert list(tmp_path.iterdir()) == []

    def test_unknown_scheme(self) -> None:
        """An unknown scheme names the installed ones."""
        with pytest.raises(UnknownScheme, match="memory, sqlite"):
            PluginHost(load_entry_points=False).open_storage("postgres://x")

    def test_scheme_of_requires_colon(self) -> None:
        """A string without a scheme is not a URL."""
        with pytest.raises(StorageError):
            scheme_of("collection.db")


class TestStorageRegistry:
    def test_plugin_replaces_builtin(self) -> None:
        """A plugin's factory for a built-in scheme wins over the built-in."""

        class Plugin:
            @hookimpl
            def pension_collect_register_storage(self, registry: StorageRegistry) -> None:
                registry.add("memory", lambda url, **kw: "plugin store")

        host = PluginHost(load_entry_points=False, plugins=[Plugin()])
        assert host.open_storage("memory:") == "plugin store"

    def test_two_plugins_one_scheme(self) -> None:
        """Two plugins claiming one scheme is a plugin error."""
        registry = StorageRegistry()
        registry.add("pg", lambda url: None)
        with pytest.raises(PluginError):
            registry.add("pg", lambda url: None)
