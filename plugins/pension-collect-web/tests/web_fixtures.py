"""The page tests' fixtures (not a test module; conftest.py imports them).

The app is built in the test's process (``create_app``) and driven with
Flask's test client; the browser tests use tests/browser.py instead.

* ``example_dossier``: the bundled example dossier (employer ``UNIT`` =
  10012345, three workers, as_of 2013-08), a ``pension_collect`` Dossier.
* ``bureau_dir``: a folder holding a reference bureau (``local:DIR``) seeded
  with the example dossier's bureau blocks.
* ``store_url``: the test's store, parametrized over :data:`STORES`: memory,
  sqlite and, where pension-collect-postgres is installed, postgresql (a
  schema of the plugin's throwaway server per test).
* ``make_app``: ``make_app(clerks=[(name, unit_no), ...], **config)`` -> a
  Flask app of ``create_app(WebConfig(...))`` over ``store_url`` and
  ``bureau_dir`` (as_of the example's month), with the account ``CLERK``
  (password ``PASSWORD``) of the example's employer and the extra ``clerks``
  (same password); keywords override :class:`WebConfig` fields; closed after
  the test. Its test client is a :class:`WebClient`.
* ``app``: ``make_app()``.
* ``client``: a :class:`WebClient` of ``app`` signed in as ``CLERK``:
  ``client.post_form(url, data)`` posts a form with the session's CSRF token,
  ``client.csrf_token()`` gives that token.
* ``anon``: a :class:`WebClient` of ``app``, not signed in.
* ``signed_in``: ``signed_in(app, name=CLERK, password=PASSWORD)`` -> a new
  :class:`WebClient` signed in as that clerk (another employer's clerk: add
  it with ``make_app(clerks=[("other", "20000001")])``).
* ``library_session``: ``library_session(app, actor="setup", unit_no=UNIT)``
  -> a ``CollectionSession`` over the app's own store and bureau, to set a
  state up through the library before looking at a page (closed after the
  test).

``csrf_in(html)`` reads the CSRF token of a page's first form.

Speed (CI runs every test on every store): the clerk accounts of a
``make_app`` (``CLERK`` and the extra ``clerks``, each password an scrypt hash)
are made once per session and copied into the test's own accounts file
(``shutil.copy``, mode 0600 kept); a collection a test needs set up through
many workflow steps is built once per session on a ``memory:`` store and a
seeded bureau, kept as a :class:`StoreSnapshot` (every record and the audit
log, read through the storage port) and written into each test's own store
(memory, sqlite or postgresql) with :meth:`StoreSnapshot.restore`, next to a
copy of the bureau's folder. Each test still gets its own store, bureau and
accounts: nothing one test changes is seen by another.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from browser import CLERK, PASSWORD, UNIT
from flask import Flask
from flask.testing import FlaskClient
from pension_collect_web.accounts import ClerkAccounts
from pension_collect_web.app import create_app
from pension_collect_web.config import WebConfig
from pension_collect_web.context import WebState
from werkzeug.test import TestResponse

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.model import Dossier
from pension_collect.ports.storage import AuditEntry, Record, RecordKind, Storage, Write
from pension_collect.workflow import CollectionSession

__all__ = [
    "CLERK",
    "ONE_STORE",
    "PASSWORD",
    "STORES",
    "UNIT",
    "Built",
    "StoreSnapshot",
    "WebClient",
    "accounts_file",
    "anon",
    "app",
    "build_collection",
    "bureau_dir",
    "client",
    "csrf_in",
    "example_dossier",
    "library_session",
    "make_app",
    "signed_in",
    "store_in",
    "store_url",
]

#: The stores the web's tests run on; PostgreSQL where its plugin is installed.
STORES = [
    "memory",
    "sqlite",
    *(["postgresql"] if importlib.util.find_spec("pension_collect_postgres") else []),
]

#: ``@ONE_STORE`` runs a test on the ``memory:`` store only: for a test whose
#: behaviour does not depend on the store (a page rendered, a value escaped, a
#: form parsed or refused before anything is written); its docstring says so.
ONE_STORE = pytest.mark.parametrize("store_url", ["memory"], indirect=True)

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


class WebClient(FlaskClient):
    """Flask's test client, with the session's CSRF token at hand."""

    _csrf: str | None = None

    def csrf_token(self) -> str:
        """The CSRF token of this client's session (read from its account page)."""
        if self._csrf is None:
            page = self.get("/account")
            assert page.status_code == 200, page.status_code
            self._csrf = csrf_in(page.get_data(as_text=True))
        return self._csrf

    def post_form(
        self, url: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> TestResponse:
        """POST ``data`` (lists for repeated fields) to ``url`` with the CSRF token."""
        form = dict(data or {})
        form.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=form, **kwargs)

    def sign_in(self, name: str = CLERK, password: str = PASSWORD) -> TestResponse:
        """Sign in through the sign-in form, as a browser would."""
        token = csrf_in(self.get("/login").get_data(as_text=True))
        self._csrf = None
        return self.post("/login", data={"name": name, "password": password, "csrf_token": token})


@attrs.frozen
class StoreSnapshot:
    """Every record and the audit log of one employer in a store, read through
    the storage port, to be written into another store (of any scheme)."""

    unit_no: str
    records: tuple[Record, ...]
    audit: tuple[AuditEntry, ...]

    @classmethod
    def of(cls, storage: Storage, unit_no: str) -> StoreSnapshot:
        with storage.transaction() as tx:
            records = tuple(r for kind in RecordKind for r in tx.list(kind, unit_no))
            audit = tuple(tx.audit(unit_no))
        return cls(unit_no, records, audit)

    def restore(self, storage: Storage) -> None:
        """Write the records (each new: version 1) and the audit log (in order,
        numbered by the store) into ``storage``, which holds none of them."""
        with storage.transaction() as tx:
            for kind in RecordKind:
                writes = [Write(r.key, r.data, 0) for r in self.records if r.kind is kind]
                if writes:
                    tx.put_many(kind, self.unit_no, writes)
            tx.append_audit([attrs.evolve(entry, seq=0) for entry in self.audit])


@attrs.frozen
class Built:
    """A collection built once (:func:`build_collection`): its dossier, its
    bureau's folder (never opened again: copy it) and its store's snapshot."""

    dossier: Dossier
    bureau_dir: Path
    snapshot: StoreSnapshot


def build_collection(
    root: Path, dossier: Dossier, steps: Callable[[CollectionSession], None]
) -> Built:
    """Seed a bureau in ``root/bureau`` with ``dossier``, run ``steps`` on a
    session (actor ``setup``) of the employer ``UNIT`` over a ``memory:``
    store and that bureau, and keep what the store then holds."""
    folder = root / "bureau"
    with ReferenceBureau.open(folder, as_of=dossier.as_of) as bureau:
        bureau.seed_dossier(dossier)
    config = WebConfig(
        store_url="memory:",
        bureau_url=f"local:{folder}",
        accounts_path=root / "accounts.db",
        as_of=dossier.as_of,
    )
    state: WebState = create_app(config).extensions["pension_collect_web"]
    session = CollectionSession(
        state.storage,
        state.transport(UNIT),
        unit_no=UNIT,
        actor="setup",
        host=state.host,
        as_of=dossier.as_of,
    )
    try:
        steps(session)
        snapshot = StoreSnapshot.of(state.storage, UNIT)
    finally:
        session.close()
        state.close()
    return Built(dossier, folder, snapshot)


@pytest.fixture(scope="session")
def accounts_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``accounts_file(clerks)`` -> an accounts file holding ``CLERK`` and the
    ``clerks`` (password ``PASSWORD``), made once per session: copy it."""
    folder = tmp_path_factory.mktemp("accounts")
    made: dict[tuple[tuple[str, str], ...], Path] = {}

    def file(clerks: tuple[tuple[str, str], ...]) -> Path:
        if clerks not in made:
            path = folder / f"accounts-{len(made)}.db"
            accounts = ClerkAccounts(path)
            try:
                for name, unit in clerks:
                    accounts.add(name, unit, PASSWORD)
            finally:
                accounts.close()
            made[clerks] = path
        return made[clerks]

    return file


@pytest.fixture
def example_dossier() -> Dossier:
    return loads(example_dossier_text())


@pytest.fixture
def bureau_dir(tmp_path: Path, example_dossier: Dossier) -> Path:
    folder = tmp_path / "bureau"
    with ReferenceBureau.open(folder, as_of=example_dossier.as_of) as bureau:
        bureau.seed_dossier(example_dossier)
    return folder


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_in(request.param, tmp_path)


def store_in(kind: str, folder: Path) -> str:
    """A new, empty store of ``kind`` (one of :data:`STORES`) for ``folder``:
    ``memory:``, a SQLite file in it, or a PostgreSQL schema named after it."""
    if kind == "memory":
        return "memory:"
    if kind == "sqlite":
        return f"sqlite:{folder / 'collection.db'}"
    from pension_collect_postgres.testing import NO_SERVER, find_bindir, shared_server

    if find_bindir() is None:
        pytest.skip(NO_SERVER)
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()
    return str(shared_server().url(schema=f"web_{digest[:16]}"))


@pytest.fixture
def make_app(
    tmp_path: Path,
    store_url: str,
    bureau_dir: Path,
    example_dossier: Dossier,
    accounts_file: Callable[..., Path],
) -> Iterator[Callable[..., Flask]]:
    made: list[WebState] = []

    def make(clerks: list[tuple[str, str]] | None = None, **options: Any) -> Flask:
        settings: dict[str, Any] = {
            "store_url": store_url,
            "bureau_url": f"local:{bureau_dir}",
            "accounts_path": tmp_path / f"accounts-{len(made)}.db",
            "as_of": example_dossier.as_of,
        }
        settings.update(options)
        accounts = ((CLERK, UNIT), *(clerks or []))
        if "accounts_path" not in options:
            shutil.copy(accounts_file(accounts), settings["accounts_path"])
        app = create_app(WebConfig(**settings))
        state: WebState = app.extensions["pension_collect_web"]
        made.append(state)
        if "accounts_path" in options:
            for name, unit in accounts:
                state.accounts.add(name, unit, PASSWORD)
        app.test_client_class = WebClient
        return app

    yield make
    for state in made:
        state.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def signed_in() -> Callable[..., WebClient]:
    def sign(app: Flask, name: str = CLERK, password: str = PASSWORD) -> WebClient:
        client = app.test_client()
        assert isinstance(client, WebClient)
        answer = client.sign_in(name, password)
        assert answer.status_code == 303, answer.status_code
        return client

    return sign


@pytest.fixture
def client(app: Flask, signed_in: Callable[..., WebClient]) -> WebClient:
    return signed_in(app)


@pytest.fixture
def anon(app: Flask) -> WebClient:
    client = app.test_client()
    assert isinstance(client, WebClient)
    return client


@pytest.fixture
def library_session() -> Iterator[Callable[..., CollectionSession]]:
    opened: list[CollectionSession] = []

    def open_session(app: Flask, actor: str = "setup", unit_no: str = UNIT) -> CollectionSession:
        state: WebState = app.extensions["pension_collect_web"]
        session = CollectionSession(
            state.storage,
            state.transport(unit_no),
            unit_no=unit_no,
            actor=actor,
            host=state.host,
            as_of=state.config.as_of,
        )
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()
