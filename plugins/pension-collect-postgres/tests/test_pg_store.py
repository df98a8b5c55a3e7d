"""What only the PostgreSQL store has: URLs and passwords, the schema and its
migrations, employers kept apart, the pool, the locks."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pension_collect_postgres.plugin
import psycopg
import pytest
from pension_collect_postgres import (
    MIGRATIONS,
    SCHEMA_VERSION,
    EmployerScopeError,
    PostgresStorage,
    public_url,
)
from pension_collect_postgres.schema import SETTING
from pension_collect_postgres.testing import ThrowawayServer
from psycopg import sql

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import (
    NestedTransaction,
    RecordKind,
    SchemaVersionError,
    StorageError,
    Write,
)
from pension_collect.testing.contract import sample_entry
from pension_collect.workflow import CollectionSession

UNIT, OTHER = "10012345", "10099999"


def _host() -> PluginHost:
    return PluginHost(load_entry_points=False, plugins=[pension_collect_postgres.plugin])


def _schema_of(url: str) -> str:
    return url.rpartition("schema=")[2].partition("&")[0]


@pytest.fixture
def store(url: str) -> Iterator[PostgresStorage]:
    s = PostgresStorage(url)
    yield s
    s.close()


def _raw(server: ThrowawayServer) -> psycopg.Connection[Any]:
    """A plain connection as the store's role (autocommit)."""
    return psycopg.connect(server.url(), autocommit=True)


# -- URLs and passwords -------------------------------------------------------------------


class TestPasswords:
    def _url_with(self, server: ThrowawayServer, password: str, schema: str) -> str:
        return (
            f"postgresql://{server.role}:{password}@127.0.0.1:{server.port}/{server.dbname}"
            f"?schema={schema}"
        )

    def test_password_in_the_url_is_used_and_never_shown(self, server: ThrowawayServer) -> None:
        """A password in the URL opens the store; neither the store's url nor its
        repr holds it."""
        url = self._url_with(server, server.password, "t_pw_in_url")
        store = _host().open_storage(url)
        try:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k", {"v": 1}, expected_version=0)
            assert server.password not in store.url
            assert server.password not in repr(store)
            assert store.url == (
                f"postgresql://{server.role}@127.0.0.1:{server.port}/{server.dbname}"
                "?schema=t_pw_in_url"
            )
        finally:
            store.close()

    def test_wrong_password_is_not_in_the_error(
        self, server: ThrowawayServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A wrong password (in the URL or as a password= parameter) is refused
        with a StorageError whose message, repr and traceback never hold it; nothing
        is logged with it either."""
        secret = "Wr0ng-Secret-4711"
        urls = [
            self._url_with(server, secret, "t_wrong"),
            f"postgresql://{server.role}@127.0.0.1:{server.port}/{server.dbname}?password={secret}",
        ]
        caplog.set_level(logging.DEBUG)
        for url in urls:
            with pytest.raises(StorageError) as info:
                _host().open_storage(url)
            shown = [
                str(info.value),
                repr(info.value),
                "".join(traceback.format_exception(info.value)),
            ]
            assert all(secret not in text for text in shown)
            assert "password authentication failed" in str(info.value)
        assert secret not in caplog.text

    def test_password_from_pgpassword(
        self, server: ThrowawayServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With no password in the URL, libpq takes PGPASSWORD; a wrong one is
        not repeated in the error."""
        url = f"postgresql://{server.role}@127.0.0.1:{server.port}/{server.dbname}?schema=t_env"
        monkeypatch.setenv("PGPASSFILE", "/nonexistent")
        monkeypatch.setenv("PGPASSWORD", server.password)
        store = PostgresStorage(url)
        store.close()
        monkeypatch.setenv("PGPASSWORD", "Env-Wrong-0815")
        with pytest.raises(StorageError) as info:
            PostgresStorage(url)
        assert "Env-Wrong-0815" not in str(info.value)

    def test_password_from_a_service_file(
        self, server: ThrowawayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``postgresql://?service=NAME``: host, database, user and password from
        the service file (PGSERVICEFILE); the adapter's own options still apply."""
        service = tmp_path / "pg_service.conf"
        service.write_text(
            f"[pension]\nhost=127.0.0.1\nport={server.port}\ndbname={server.dbname}\n"
            f"user={server.role}\npassword={server.password}\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("PGSERVICEFILE", str(service))
        monkeypatch.setenv("PGPASSFILE", "/nonexistent")
        store = _host().open_storage("postgresql://?service=pension&schema=t_service")
        try:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k", {"v": 1}, expected_version=0)
            assert store.url == "postgresql://?service=pension&schema=t_service"
        finally:
            store.close()
        with _raw(server) as conn:
            n = conn.execute("SELECT count(*) FROM t_service.records").fetchone()
        assert n == (1,)

    def test_public_url(self) -> None:
        """public_url drops the password from the user part and the query only."""
        assert public_url("postgresql://u:p%40ss@h:5/db?password=x&schema=s&sslmode=require") == (
            "postgresql://u@h:5/db?schema=s&sslmode=require"
        )
        assert public_url("postgres://h/db") == "postgres://h/db"


class TestUrls:
    def test_postgres_scheme_opens_the_same_store(self, server: ThrowawayServer, url: str) -> None:
        """postgres:// is the same as postgresql://; the store's url reopens it."""
        host = _host()
        first = host.open_storage(url)
        second = host.open_storage("postgres" + url.removeprefix("postgresql"))
        again = host.open_storage(first.url)
        try:
            with first.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k", {"v": 1}, expected_version=0)
            for other in (second, again):
                with other.transaction() as tx:
                    got = tx.get(RecordKind.WORKER, UNIT, "k")
                assert got is not None
                assert got.data == {"v": 1}
        finally:
            for s in (first, second, again):
                s.close()

    def test_entry_point_registers_both_schemes(self) -> None:
        """An installed plugin is found through its entry point."""
        names = PluginHost().storage_registry().names()
        assert {"postgresql", "postgres"} <= set(names)

    @pytest.mark.parametrize(
        ("url", "options"),
        [
            ("mysql://h/db", {}),
            ("postgresql://h/db?schema=Bad-Name", {}),
            ("postgresql://h/db", {"pool_size": 3}),
            ("postgresql://h/db?pool_max_size=0", {}),
            ("postgresql://h/db?pool_max_size=many", {}),
        ],
    )
    def test_bad_urls_and_options(self, url: str, options: dict[str, Any]) -> None:
        """A URL that is not postgresql, a bad schema name, an unknown option or a
        bad pool size is refused before any connection."""
        with pytest.raises(StorageError):
            PostgresStorage(url, **options)

    def test_unreachable_server(self) -> None:
        """No server on the port: StorageError saying the connection failed."""
        with pytest.raises(StorageError, match="cannot open the store"):
            PostgresStorage("postgresql://u@127.0.0.1:1/db?connect_timeout=2")


# -- the schema -----------------------------------------------------------------------------


class TestSchema:
    def test_version_table(self, server: ThrowawayServer, store: PostgresStorage) -> None:
        """A new store has one row per applied migration in its version table."""
        with _raw(server) as conn:
            rows = conn.execute(
                sql.SQL("SELECT version FROM {}.schema_version ORDER BY version").format(
                    sql.Identifier(store.schema)
                )
            ).fetchall()
        assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
        assert store.schema_version == SCHEMA_VERSION

    def _at_version_1(self, server: ThrowawayServer, schema: str) -> None:
        with _raw(server) as conn:
            s = f'"{schema}"'
            conn.execute(f"CREATE SCHEMA {s}")
            conn.execute(
                f"CREATE TABLE {s}.schema_version (version integer PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for statement in MIGRATIONS[0]:
                conn.execute(statement.format(s=s))
            conn.execute(f"INSERT INTO {s}.schema_version (version) VALUES (1)")
            conn.execute(
                f"INSERT INTO {s}.records VALUES ('{UNIT}', 'worker', 'k', 1, '{{\"v\": 1}}')"
            )

    def test_old_schema_is_migrated_forward(self, server: ThrowawayServer, url: str) -> None:
        """A store at version 1 is brought to the current version on open: its
        records stay, the log becomes append-only."""
        self._at_version_1(server, _schema_of(url))
        store = PostgresStorage(url)
        try:
            with store.transaction() as tx:
                got = tx.get(RecordKind.WORKER, UNIT, "k")
                tx.append_audit([sample_entry("worker.saved", "k")])
        finally:
            store.close()
        assert got is not None
        assert got.data == {"v": 1}
        with _raw(server) as conn:
            versions = conn.execute(
                f'SELECT version FROM "{_schema_of(url)}".schema_version ORDER BY 1'
            ).fetchall()
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(f'DELETE FROM "{_schema_of(url)}".audit')
        assert [v[0] for v in versions] == [1, 2]

    def test_old_schema_refused_without_migrate(self, server: ThrowawayServer, url: str) -> None:
        """migrate=False (or ?migrate=false) refuses an older store instead of changing it."""
        self._at_version_1(server, _schema_of(url))
        with pytest.raises(SchemaVersionError, match="migrate=True"):
            PostgresStorage(url + "&migrate=false")
        with _raw(server) as conn:
            n = conn.execute(f'SELECT count(*) FROM "{_schema_of(url)}".schema_version').fetchone()
        assert n == (1,)

    def test_newer_schema_is_refused(self, server: ThrowawayServer, store: PostgresStorage) -> None:
        """A store written by a newer release is refused, not changed."""
        with _raw(server) as conn:
            conn.execute(
                f'INSERT INTO "{store.schema}".schema_version (version) VALUES (%s)',
                (SCHEMA_VERSION + 1,),
            )
        with pytest.raises(SchemaVersionError, match="upgrade"):
            PostgresStorage(store.url)

    def test_foreign_schema_is_refused(self, server: ThrowawayServer, url: str) -> None:
        """A schema holding another application's tables is not taken over."""
        with _raw(server) as conn:
            conn.execute(f'CREATE SCHEMA "{_schema_of(url)}"')
            conn.execute(f'CREATE TABLE "{_schema_of(url)}".accounts (x int)')
        with pytest.raises(StorageError, match="not a pension_collect store"):
            PostgresStorage(url)

    def test_processes_opening_a_new_store_at_once(self, url: str) -> None:
        """Several handles creating the same new store at once: one creates it,
        the others find it (no error from racing DDL)."""
        errors: list[BaseException] = []
        stores: list[PostgresStorage] = []
        go = threading.Barrier(4)

        def open_it() -> None:
            try:
                go.wait(30)
                stores.append(PostgresStorage(url))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for s in stores:
            s.close()
        assert errors == []
        assert len(stores) == 4

    def test_audit_log_is_append_only(
        self, server: ThrowawayServer, store: PostgresStorage
    ) -> None:
        """UPDATE, DELETE and TRUNCATE on the audit table are refused by the database."""
        with store.transaction() as tx:
            tx.append_audit([sample_entry("worker.saved", "k1")])
        with _raw(server) as conn:
            for statement in (
                "UPDATE {}.audit SET message = 'x'",
                "DELETE FROM {}.audit",
                "TRUNCATE {}.audit",
            ):
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(sql.SQL(statement).format(sql.Identifier(store.schema)))
            n = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.audit").format(sql.Identifier(store.schema))
            ).fetchone()
        assert n == (1,)

    def test_records_are_jsonb_and_indexed_for_the_lookups(
        self, server: ThrowawayServer, store: PostgresStorage
    ) -> None:
        """Records are JSONB (queried by status in SQL); the workflow's lookups
        have their indexes."""
        with store.transaction() as tx:
            tx.put_many(
                RecordKind.WORKER,
                UNIT,
                [Write("a", {"status": "failed"}, 0), Write("b", {"status": "accepted"}, 0)],
            )
        with _raw(server) as conn:
            s = sql.Identifier(store.schema)
            failed = conn.execute(
                sql.SQL(
                    'SELECT key FROM {}.records WHERE data @> \'{{"status": "failed"}}\''
                ).format(s)
            ).fetchall()
            types = dict(
                conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = %s AND column_name IN ('data', 'after')",
                    (store.schema,),
                ).fetchall()
            )
            indexes = {
                r[0]
                for r in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (store.schema,)
                )
            }
        assert failed == [("a",)]
        assert types == {"data": "jsonb", "after": "json"}
        assert {
            "records_pkey",
            "audit_subject",
            "audit_declaration",
            "records_worker_status",
            "records_declaration_state",
        } <= indexes

    def test_keys_order_byte_by_byte(self, store: PostgresStorage) -> None:
        """list() orders keys as SQLite does (by bytes), whatever the database's collation."""
        keys = ["b", "B", "a", "_x", "10", "9", "甲"]
        with store.transaction() as tx:
            for k in keys:
                tx.put(RecordKind.WORKER, UNIT, k, {}, expected_version=0)
        with store.transaction() as tx:
            got = [r.key for r in tx.list(RecordKind.WORKER, UNIT)]
        assert got == sorted(keys, key=lambda k: k.encode("utf-8"))

    def test_text_postgresql_cannot_store_is_a_storage_error_without_data(
        self, store: PostgresStorage
    ) -> None:
        """A NUL character (JSONB cannot hold it) is refused with a StorageError
        naming no data; the store stays usable."""
        with pytest.raises(StorageError) as info, store.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k", {"name": "张\u0000伟"}, expected_version=0)
        assert "张" not in str(info.value)
        with store.transaction() as tx:
            assert tx.get(RecordKind.WORKER, UNIT, "k") is None


# -- employers kept apart -------------------------------------------------------------------


class TestEmployerScope:
    def _seed(self, url: str) -> None:
        """A worker, a declaration and an audit entry of each employer."""
        store = PostgresStorage(url)
        try:
            for unit in (UNIT, OTHER):
                with store.transaction() as tx:
                    tx.put(
                        RecordKind.WORKER, unit, "k", {"status": "collected"}, expected_version=0
                    )
                    tx.put(
                        RecordKind.DECLARATION, unit, "d", {"state": "draft"}, expected_version=0
                    )
                    tx.append_audit([attrs.evolve(sample_entry("worker.saved", "k"), unit_no=unit)])
        finally:
            store.close()

    def test_scoped_handle_refuses_another_employer(self, url: str) -> None:
        """A handle opened with unit_no= reads and writes its employer's records;
        every call about another employer raises EmployerScopeError and leaves
        that employer's rows as they were."""
        self._seed(url)
        mine = PostgresStorage(url, unit_no=UNIT)
        try:
            with mine.transaction() as tx:
                assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["k"]
                tx.put(RecordKind.WORKER, UNIT, "k", {"status": "submitted"}, expected_version=1)
            calls = [
                lambda tx: tx.get(RecordKind.WORKER, OTHER, "k"),
                lambda tx: tx.list(RecordKind.WORKER, OTHER),
                lambda tx: tx.put(
                    RecordKind.WORKER, OTHER, "k", {"status": "x"}, expected_version=1
                ),
                lambda tx: tx.put_many(RecordKind.WORKER, OTHER, [Write("n", {}, 0)]),
                lambda tx: tx.audit(OTHER),
                lambda tx: tx.append_audit(
                    [attrs.evolve(sample_entry("worker.saved", "k"), unit_no=OTHER)]
                ),
            ]
            for call in calls:
                with pytest.raises(EmployerScopeError) as info, mine.transaction() as tx:
                    call(tx)
                assert info.value.code == "storage.employer-scope"
                assert OTHER not in str(info.value)
        finally:
            mine.close()
        everyone = PostgresStorage(url)
        try:
            with everyone.transaction() as tx:
                theirs = tx.get(RecordKind.WORKER, OTHER, "k")
                assert [r.key for r in tx.list(RecordKind.WORKER, OTHER)] == ["k"]
                assert len(tx.audit(OTHER)) == 1
                ours = tx.get(RecordKind.WORKER, UNIT, "k")
        finally:
            everyone.close()
        assert theirs is not None
        assert (theirs.version, theirs.data) == (1, {"status": "collected"})
        assert ours is not None
        assert ours.data == {"status": "submitted"}

    def test_the_database_hides_other_employers_from_a_scoped_connection(
        self, server: ThrowawayServer, url: str
    ) -> None:
        """Row-level security: a connection carrying a scoped handle's setting
        sees, changes and adds only its employer's rows, whatever SQL it runs."""
        self._seed(url)
        s = sql.Identifier(_schema_of(url))
        with _raw(server) as conn:
            conn.execute("SELECT set_config(%s, %s, false)", (SETTING, UNIT))
            units = conn.execute(sql.SQL("SELECT DISTINCT unit_no FROM {}.records").format(s))
            assert units.fetchall() == [(UNIT,)]
            logged = conn.execute(sql.SQL("SELECT DISTINCT unit_no FROM {}.audit").format(s))
            assert logged.fetchall() == [(UNIT,)]
            changed = conn.execute(
                sql.SQL("UPDATE {}.records SET version = version + 1 WHERE unit_no = %s").format(s),
                (OTHER,),
            )
            assert changed.rowcount == 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {}.records VALUES (%s, 'worker', 'new', 1, '{{}}')"
                    ).format(s),
                    (OTHER,),
                )
            conn.execute("SELECT set_config(%s, '', false)", (SETTING,))
            everyone = conn.execute(
                sql.SQL(
                    "SELECT unit_no, version FROM {}.records WHERE kind = 'worker' ORDER BY 1"
                ).format(s)
            ).fetchall()
        assert everyone == [(UNIT, 1), (OTHER, 1)]

    def test_one_employers_session_cannot_reach_another(self, url: str) -> None:
        """A collection session on a handle scoped to its employer works; a session
        for another employer on that handle fails at its first step, and the other
        employer's collection is untouched."""
        dossier = loads(example_dossier_text())
        assert dossier.employer.unit_no == UNIT
        host = _host()
        bureau = ReferenceBureau(as_of=dossier.as_of)
        bureau.seed_dossier(dossier)
        transport = host.open_transport("local:", bureau=bureau)
        everyone = PostgresStorage(url)
        mine = PostgresStorage(url, unit_no=UNIT)
        try:
            theirs = CollectionSession(everyone, transport, unit_no=OTHER, host=host)
            theirs.start()
            before = theirs.state()
            ours = CollectionSession(mine, transport, unit_no=UNIT, host=host, as_of=dossier.as_of)
            ours.start()
            assert ours.sync().persons
            intruder = CollectionSession(mine, transport, unit_no=OTHER, host=host)
            for step in (intruder.state, intruder.workers, intruder.start, intruder.audit):
                with pytest.raises(EmployerScopeError):
                    step()
            assert theirs.state() == before
            assert [e.action for e in theirs.audit()] == ["session.started"]
        finally:
            mine.close()
            everyone.close()

    def test_overview_counts_by_status_and_state(self, url: str) -> None:
        """overview(): per employer, workers by status and declarations by state."""
        self._seed(url)
        store = PostgresStorage(url)
        try:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k2", {"status": "collected"}, expected_version=0)
                tx.put(RecordKind.WORKER, UNIT, "k3", {"status": "failed"}, expected_version=0)
            got = store.overview()
        finally:
            store.close()
        with PostgresStorage(url, unit_no=OTHER) as scoped:
            theirs = scoped.overview()
        assert theirs == {OTHER: {"worker": {"collected": 1}, "declaration": {"draft": 1}}}
        assert got == {
            UNIT: {"worker": {"collected": 2, "failed": 1}, "declaration": {"draft": 1}},
            OTHER: {"worker": {"collected": 1}, "declaration": {"draft": 1}},
        }


# -- handles, the pool, the locks -----------------------------------------------------------


class TestHandles:
    def test_closed_store_refuses(self, url: str) -> None:
        """A closed handle refuses new transactions; closing twice is harmless."""
        store = PostgresStorage(url)
        store.close()
        store.close()
        with pytest.raises(StorageError, match="closed"), store.transaction():
            pass  # pragma: no cover - never entered

    def test_a_transaction_is_dead_after_its_block(self, url: str) -> None:
        """A transaction kept after its block refuses every call: its connection
        is back in the pool and may serve another thread."""
        with PostgresStorage(url) as store:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k", {}, expected_version=0)
            with pytest.raises(StorageError, match="ended"):
                tx.put(RecordKind.WORKER, UNIT, "k2", {}, expected_version=0)
            with pytest.raises(StorageError, match="ended"):
                tx.get(RecordKind.WORKER, UNIT, "k")
            with store.transaction() as tx:
                assert [r.key for r in tx.list(RecordKind.WORKER, UNIT)] == ["k"]

    def test_context_manager_closes(self, url: str) -> None:
        """``with PostgresStorage(url) as store`` closes the handle at the end."""
        with PostgresStorage(url) as store, store.transaction() as tx:
            tx.put(RecordKind.WORKER, UNIT, "k", {}, expected_version=0)
        with pytest.raises(StorageError, match="closed"), store.transaction():
            pass  # pragma: no cover - never entered

    def test_second_handle_in_the_same_thread_is_refused_not_deadlocked(self, url: str) -> None:
        """A thread with a transaction open through one handle that opens one
        through a second handle on the same store is refused (it would wait for
        its own employer lock)."""
        store, other = PostgresStorage(url), PostgresStorage(url)
        try:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k", {}, expected_version=0)
                with pytest.raises(NestedTransaction), other.transaction():
                    pass  # pragma: no cover - never entered
            with other.transaction() as tx:
                assert tx.get(RecordKind.WORKER, UNIT, "k") is not None
        finally:
            store.close()
            other.close()

    def test_threads_share_a_handle_up_to_the_pool_size(self, url: str) -> None:
        """Threads run transactions at once on one handle, one connection each,
        up to pool_max_size; one more waits and, past pool_timeout, is told to
        raise the pool size."""
        store = PostgresStorage(url, pool_max_size=2, pool_timeout=0.5)
        holding, release = threading.Barrier(3), threading.Event()
        errors: list[BaseException] = []

        def hold(unit: str) -> None:
            try:
                with store.transaction() as tx:
                    tx.put(RecordKind.WORKER, unit, "k", {}, expected_version=0)
                    holding.wait(30)
                    release.wait(30)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=hold, args=(u,)) for u in (UNIT, OTHER)]
        try:
            for t in threads:
                t.start()
            holding.wait(30)  # two transactions are open at once, on two connections
            with pytest.raises(StorageError, match="pool_max_size"), store.transaction():
                pass  # pragma: no cover - never entered
        finally:
            release.set()
            for t in threads:
                t.join(30)
            store.close()
        assert errors == []

    def test_one_employer_waits_another_does_not(self, url: str) -> None:
        """While a transaction holds employer A, another handle's transaction on A
        waits (and gives up after lock_timeout with a StorageError), while one on
        employer B goes through at once."""
        store = PostgresStorage(url)
        other = PostgresStorage(url, lock_timeout=2)
        outcome: dict[str, Any] = {}

        def on(unit: str) -> None:
            started = time.monotonic()
            try:
                with other.transaction() as tx:
                    tx.put(RecordKind.WORKER, unit, "k2", {}, expected_version=0)
                outcome[unit] = ("done", time.monotonic() - started)
            except StorageError as exc:
                outcome[unit] = (str(exc), time.monotonic() - started)

        try:
            with store.transaction() as tx:
                tx.put(RecordKind.WORKER, UNIT, "k", {}, expected_version=0)
                for unit in (OTHER, UNIT):
                    t = threading.Thread(target=on, args=(unit,))
                    t.start()
                    t.join(30)
        finally:
            store.close()
            other.close()
        assert outcome[OTHER][0] == "done"
        assert outcome[OTHER][1] < 2
        assert "lock_timeout" in outcome[UNIT][0]
        # it waited the lock timeout (the server's timer, which may fire a few
        # milliseconds before this process's clock says 2 s: 1.996 s was seen)
        assert outcome[UNIT][1] >= 1.9


class TestPublicApiOnly:
    def test_the_plugin_imports_only_the_public_api(self) -> None:
        """The plugin's modules import from pension_collect only its public
        contract modules, never the host, the workflow or an adapter."""
        import ast

        import pension_collect_postgres

        allowed = {
            "pension_collect.errors",
            "pension_collect.hookspecs",
            "pension_collect.ports.storage",
            "pension_collect.testing.contract",
        }
        seen: set[str] = set()
        for path in Path(pension_collect_postgres.__file__).parent.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                seen |= {n for n in names if n.split(".")[0] == "pension_collect"}
        assert seen
        assert seen <= allowed, seen - allowed
