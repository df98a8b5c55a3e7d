"""Helpers shared by the workflow, bureau and demo tests (not a conftest)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import attrs

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.model import BureauRecord, Dossier, Worker
from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import Storage
from pension_collect.workflow import CollectionSession
from pg_server import installed as _postgres_installed
from pg_server import plugins_for, url_for

#: The stores the workflow's tests run on; PostgreSQL where its plugin is installed.
STORES = ["memory", "sqlite", *(["postgresql"] if _postgres_installed() else [])]
#: Those a second open reaches again (not ``memory:``, a new store per open).
PERSISTENT_STORES = [s for s in STORES if s != "memory"]


class Clock:
    """A test clock: starts 2013-08-20 09:00 UTC; ``advance`` moves it."""

    def __init__(self) -> None:
        self.now = _dt.datetime(2013, 8, 20, 9, 0, tzinfo=_dt.UTC)

    def __call__(self) -> _dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += _dt.timedelta(**delta)


def example() -> Dossier:
    """The bundled example dossier."""
    return loads(example_dossier_text())


def keys_of(dossier: Dossier) -> list[str]:
    return [CollectionSession.key_of(w) for w in dossier.workers]


@attrs.define
class Setup:
    dossier: Dossier
    bureau: ReferenceBureau
    session: CollectionSession
    storage: Storage
    clock: Clock
    host: PluginHost
    keys: list[str]

    @property
    def workers(self) -> tuple[Worker, ...]:
        return self.dossier.workers

    def reopen(self, actor: str = "clerk-2") -> CollectionSession:
        """A second session on the same store and bureau."""
        return CollectionSession(
            self.storage,
            self.session.transport,
            unit_no=self.dossier.employer.unit_no,
            actor=actor,
            host=self.host,
            as_of=self.dossier.as_of,
            clock=self.clock,
        )


def make_setup(storage_url: str = "memory:", *, plugins: list[Any] | None = None) -> Setup:
    """A fresh session on the example dossier, bureau seeded from its bureau blocks."""
    dossier = example()
    clock = Clock()
    host = PluginHost(
        load_entry_points=False, plugins=[*(plugins or []), *plugins_for(storage_url)]
    )
    bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of)
    bureau.seed_dossier(dossier)
    storage = host.open_storage(storage_url)
    transport = host.open_transport("local:", bureau=bureau)
    session = CollectionSession(
        storage,
        transport,
        unit_no=dossier.employer.unit_no,
        actor="clerk-1",
        host=host,
        as_of=dossier.as_of,
        clock=clock,
    )
    return Setup(dossier, bureau, session, storage, clock, host, keys_of(dossier))


def to_declared(s: Setup) -> None:
    """Start, sync, employer collected and declared (and concluded); no forms yet."""
    s.session.start()
    s.session.sync()
    s.session.collect_employer(s.dossier.employer)
    decl = s.session.submit_employer_declaration()
    s.bureau.settle()
    s.session.refresh(decl.key)


def to_collecting(s: Setup) -> None:
    """Start, sync, employer collected and declared (and concluded), forms printed."""
    to_declared(s)
    s.session.print_verification_forms(s.keys)


def to_ready(s: Setup) -> None:
    """Every worker saved, confirmation printed, form and handbook received."""
    to_collecting(s)
    for w in s.workers:
        s.session.save_worker(w)
    s.session.print_confirmation_forms()
    s.session.record_received(s.keys)


def sqlite_url(tmp_path: Path, name: str = "collection.db") -> str:
    return f"sqlite://{(tmp_path / name).resolve()}"


def store_url(store: str, tmp_path: Path) -> str:
    """The URL of the test's store named in :data:`STORES` (the same for one ``tmp_path``)."""
    if store == "memory":
        return "memory:"
    if store == "postgresql":
        return url_for(tmp_path)
    return sqlite_url(tmp_path)


def many_workers(template: Worker, n: int) -> list[Worker]:
    """``n`` distinct valid workers shaped like ``template`` (new identity numbers)."""
    from pension_collect.identity import check_char

    out = []
    base = _dt.date(1975, 1, 1)
    for i in range(n):
        born = base + _dt.timedelta(days=i)
        first17 = f"371002{born:%Y%m%d}{(i % 499) * 2 + 1:03d}"
        out.append(
            attrs.evolve(
                template,
                id_number=first17 + check_char(first17),
                birth_date=born,
                person_no=None,
                bureau=None,
            )
        )
    return out


def session_over(s: Setup, storage: Any) -> CollectionSession:
    """A session like ``s.session`` over another store (a wrapper of ``s.storage``)."""
    return CollectionSession(
        storage,
        s.session.transport,
        unit_no=s.dossier.employer.unit_no,
        actor="clerk-1",
        host=s.host,
        as_of=s.dossier.as_of,
        clock=s.clock,
    )


def more_persons(s: Setup, n: int) -> list[Worker]:
    """``n`` more workers shaped like the example's third, each a person of the
    employer at the bureau (not yet synced)."""
    more = many_workers(s.workers[2], n)
    for w in more:
        s.bureau.add_person(
            BureauRecord(
                id_number=w.id_number,
                name=w.name,
                gender=w.gender,
                birth_date=w.birth_date,
                first_work=w.first_work,
                history=w.history,
                account=w.account,
            ),
            unit_no=s.dossier.employer.unit_no,
        )
    return more
