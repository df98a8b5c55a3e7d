"""The collection loop of tests/test_workflow.py over HTTP, unchanged.

The end-to-end tests of ``test_workflow.TestEndToEnd`` run here as they are
written, with one difference: ``make_setup`` (the one place they get their
session from) gives a session whose transport is the built-in HTTP transport
to the real bureau server process (``pension-collect bureau serve``, on
127.0.0.1, started once for the module), on a memory store, a SQLite file
(and PostgreSQL where its plugin is installed).

Each setup is an employer of its own at the shared server: the example
dossier with another unit number and its workers' identity numbers
renumbered (same birth dates and sexes, valid check characters), seeded
through ``pension-collect bureau seed``, its initial password changed. What
the tests do "at the bureau" (the window's transfers and account
settlements, ``tick``, ``settle``) goes to the server's own state, the
SQLite file in its data folder, through a ``ReferenceBureau`` opened on
that folder in the test's process. The server runs with a processing delay
of an hour, so reading a declaration over HTTP never concludes it by itself
(it only moves a submitted one to processing); the test's bureau, whose
clock runs two days ahead, concludes it when the test ticks, with the
dossier's collection month, exactly as in-process.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

import test_workflow as W
from bureau_server import RunningBureau, ready_session, start_bureau
from pension_collect.adapters.http_transport import HttpTransport
from pension_collect.adapters.memory import MemoryStorage
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import to_dict
from pension_collect.identity import check_char
from pension_collect.model import Dossier
from pension_collect.plugins import PluginHost
from pension_collect.workflow import CollectionSession
from pg_server import plugins_for
from workflow_fixtures import Clock, Setup, example, keys_of

_UNITS = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    """The bureau server process (no employer yet; each setup seeds its own)."""
    root = tmp_path_factory.mktemp("workflow-http")
    running = start_bureau(root / "bureau", extra_args=["--processing-delay", "3600"])
    try:
        yield running
    finally:
        running.stop()


def open_window(server: RunningBureau) -> ReferenceBureau:
    """The server's state, opened in this process: the tests' bureau (its clock
    two days ahead, the example's collection month)."""
    ahead = _dt.timedelta(days=2)
    return ReferenceBureau.open(
        server.data_dir,
        clock=lambda: _dt.datetime.now(_dt.UTC) + ahead,
        as_of=example().as_of,
        auto_advance=False,
    )


@pytest.fixture(scope="module")
def window(server: RunningBureau) -> Iterator[ReferenceBureau]:
    """The tests' bureau (:func:`open_window`)."""
    with open_window(server) as bureau:
        yield bureau


def _renumbered(id_number: str, n: int) -> str:
    """The identity number with sequence digits ``n`` (birth date and sex kept)."""
    first17 = id_number[:14] + f"{n:02d}" + id_number[16]
    return first17 + check_char(first17)


def employer_of_its_own(n: int) -> Dossier:
    """The example dossier as employer ``n``: another unit number, renumbered
    workers (the bureau blocks alike), no person numbers."""
    dossier = example()
    workers = []
    for w in dossier.workers:
        block = w.bureau
        if block is not None:
            block = attrs.evolve(
                block,
                id_number=None if block.id_number is None else _renumbered(block.id_number, n),
                person_no=None,
            )
        workers.append(
            attrs.evolve(w, id_number=_renumbered(w.id_number, n), person_no=None, bureau=block)
        )
    employer = attrs.evolve(dossier.employer, unit_no=f"1077{n:04d}")
    return attrs.evolve(dossier, employer=employer, workers=tuple(workers))


@attrs.define
class _Employer:
    dossier: Dossier
    password: str
    memory: MemoryStorage | None = None


def http_setups(server: RunningBureau, window: ReferenceBureau) -> Callable[..., Setup]:
    """``make_setup`` over HTTP: the same store URL in one test is the same
    employer and store (a memory store's second open is another handle on it)."""
    made: dict[str, _Employer] = {}

    def make_setup(storage_url: str = "memory:", *, plugins: list[Any] | None = None) -> Setup:
        known = made.get(storage_url)
        if known is None:
            dossier = employer_of_its_own(next(_UNITS))
            unit = dossier.employer.unit_no
            server.seed([to_dict(dossier)])
            _, password = ready_session(server, unit)
            known = made[storage_url] = _Employer(dossier, password)
        dossier = known.dossier
        host = PluginHost(
            load_entry_points=False, plugins=[*(plugins or []), *plugins_for(storage_url)]
        )
        storage: Any
        if storage_url != "memory:":
            storage = host.open_storage(storage_url)
        elif known.memory is None:
            storage = known.memory = host.open_storage(storage_url)
        else:
            storage = known.memory.handle()
        transport = host.open_transport(
            server.url, unit_no=dossier.employer.unit_no, password=known.password
        )
        assert isinstance(transport, HttpTransport)
        clock = Clock()
        session = CollectionSession(
            storage,
            transport,
            unit_no=dossier.employer.unit_no,
            actor="clerk-1",
            host=host,
            as_of=dossier.as_of,
            clock=clock,
        )
        return Setup(dossier, window, session, storage, clock, host, keys_of(dossier))

    return make_setup


@pytest.fixture(autouse=True)
def over_http(
    monkeypatch: pytest.MonkeyPatch, server: RunningBureau, window: ReferenceBureau
) -> None:
    """test_workflow's tests get their sessions over HTTP."""
    monkeypatch.setattr(W, "make_setup", http_setups(server, window))


class TestEndToEndOverHttp(W.TestEndToEnd):
    """test_workflow.TestEndToEnd, every test as written, over HTTP."""

    def test_full_loop_in_memory(self, tmp_path: Any) -> None:
        """The full loop on a memory store (reopened as another handle on it)."""
        W.TestEndToEnd.test_full_loop_on_a_store(self, "memory", tmp_path)

    def test_the_session_really_went_over_http(self, tmp_path: Any) -> None:
        """The setups talk to the server process: an HTTP transport to its URL,
        and the declaration the session submits is in the server's data file."""
        s = W.make_setup("memory:")
        assert isinstance(s.session.transport, HttpTransport)
        W.to_ready(s)
        decl = s.session.submit_declaration()
        assert s.bureau.path is not None
        with ReferenceBureau.open(s.bureau.path.parent, auto_advance=False) as again:
            held = again.status(decl.bureau_id or "")
        assert held.unit_no == s.dossier.employer.unit_no
        assert held.kind.value == "workers"
