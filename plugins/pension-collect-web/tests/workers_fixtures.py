"""Fixtures of the worker list's and the audit pages' tests (not a test module).

``many`` (the fixture function ``many_fixture``): a collection of
:data:`PERSONS` workers of the example employer, built through the library
(the bureau seeded with copies of the example's first worker under new
identity numbers, names and person numbers ``P0000000000`` ..), in these
states:

* saved: the first :data:`SAVED` (by person number); of them the first
  :data:`PRINTED` have their confirmation forms printed, and of those the first
  :data:`SIGNED` are received (signed form and handbook);
* incomplete: the person at :data:`DRAFTED` has a draft;
* not collected: the rest.

The first worker's name is HTML (:data:`HTML_NAME`); names are otherwise
Chinese, each unique.

``many_read`` (the fixture function ``many_read_fixture``): the same
collection for a test that only reads it, shared by the module's tests of a
store (``many_shared``: one app, store and bureau copy per store and module);
each test gets its own signed-in client and library session, and its end
checks the store holds what it held before (every record's version, the audit
log's length): a test that wrote is an error.

The collection is built through the library once per session (``many_built``,
on a ``memory:`` store) and each test gets its own copy: the bureau's folder
copied, the records and the audit log written into the test's store (memory,
sqlite or postgresql: web_fixtures.StoreSnapshot).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from flask import Flask
from pension_collect_web.app import create_app
from pension_collect_web.config import WebConfig
from pension_collect_web.context import WebState
from web_fixtures import (
    CLERK,
    STORES,
    UNIT,
    Built,
    StoreSnapshot,
    WebClient,
    build_collection,
    store_in,
)

from pension_collect.dossier import example_dossier_text, loads
from pension_collect.identity import check_char
from pension_collect.model import BureauRecord, Dossier, Worker
from pension_collect.workflow import CollectionSession, save_draft

__all__ = [
    "DRAFTED",
    "HTML_NAME",
    "PERSONS",
    "PRINTED",
    "SAVED",
    "SIGNED",
    "Many",
    "many_built",
    "many_fixture",
    "many_read_fixture",
    "many_shared",
    "refs_in",
    "roster",
    "rows_in",
]

PERSONS = 230
SAVED = 150
PRINTED = 40
SIGNED = 15
DRAFTED = 200
HTML_NAME = "<script>alert(1)</script>"

_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明"
_REF = re.compile(r'name="worker" value="([0-9a-f]{26,})"')
_ROW = re.compile(r'<th scope="row" class="id-number">([^<]+)</th>\s*<td>([^<]*)</td>')


def roster(example: Dossier, n: int) -> Dossier:
    """The example's employer and ``n`` copies of its first worker, each with
    its own identity number, name, person number and the bureau's record."""
    template = example.workers[0]
    assert template.birth_date is not None
    workers: list[Worker] = []
    for i in range(n):
        born = template.birth_date + dt.timedelta(days=i % 365)
        first17 = f"371002{born:%Y%m%d}{2 * (i // 365) + 3:03d}"
        id_number = first17 + check_char(first17)
        name = HTML_NAME if i == 0 else _SURNAMES[i % 20] + _GIVEN[(i // 20) % 15] + _GIVEN[i % 15]
        bureau = BureauRecord(
            id_number=id_number,
            name=name,
            gender=template.gender,
            birth_date=born,
            first_work=template.first_work,
            history=template.history,
            account=template.account,
        )
        workers.append(
            attrs.evolve(
                template,
                id_number=id_number,
                name=name,
                birth_date=born,
                person_no=f"P{i:010d}",
                bureau=bureau,
            )
        )
    return Dossier(employer=example.employer, workers=tuple(workers), as_of=example.as_of)


@attrs.define
class Many:
    """The collection of :func:`many`: its app, a signed-in client, the roster
    (its workers in person-number order) and a library session (actor ``setup``)."""

    app: Flask
    client: WebClient
    dossier: Dossier
    session: CollectionSession
    bureau_dir: Path

    def key(self, i: int) -> str:
        return self.dossier.workers[i].id_number

    def name(self, i: int) -> str:
        return self.dossier.workers[i].name


@pytest.fixture(scope="session")
def many_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The collection built once through the library (see the module's docstring)."""
    dossier = roster(loads(example_dossier_text()), PERSONS)

    def steps(session: CollectionSession) -> None:
        session.start()
        session.sync()
        session.collect_employer(dossier.employer)
        session.submit_employer_declaration()
        session.print_verification_forms()
        batch = session.save_workers(dossier.workers[:SAVED])
        assert not batch.refused, batch.refused
        keys = [w.id_number for w in dossier.workers]
        session.print_confirmation_forms(keys[:PRINTED])
        session.record_received(keys[:SIGNED])
        save_draft(session, attrs.evolve(dossier.workers[DRAFTED], history=None, account=None))

    return build_collection(tmp_path_factory.mktemp("many"), dossier, steps)


@pytest.fixture(name="many")
def many_fixture(
    many_built: Built,
    make_app: Callable[..., Flask],
    tmp_path: Path,
    library_session: Callable[..., CollectionSession],
    signed_in: Callable[..., WebClient],
) -> Many:
    folder = tmp_path / "many-bureau"
    shutil.copytree(many_built.bureau_dir, folder)
    app = make_app(clerks=[("other-clerk", "20000001")], bureau_url=f"local:{folder}")
    many_built.snapshot.restore(app.extensions["pension_collect_web"].storage)
    session = library_session(app)
    return Many(app, signed_in(app), many_built.dossier, session, folder)


@pytest.fixture(scope="module", params=STORES)
def many_shared(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    many_built: Built,
    accounts_file: Callable[..., Path],
) -> Iterator[Flask]:
    """The app over :func:`many_built`'s collection, one per store and module."""
    root = tmp_path_factory.mktemp(f"many-{request.param}")
    folder = root / "many-bureau"
    shutil.copytree(many_built.bureau_dir, folder)
    clerks = ((CLERK, UNIT), ("other-clerk", "20000001"))
    shutil.copy(accounts_file(clerks), root / "accounts.db")
    config = WebConfig(
        store_url=store_in(request.param, root),
        bureau_url=f"local:{folder}",
        accounts_path=root / "accounts.db",
        as_of=many_built.dossier.as_of,
    )
    app = create_app(config)
    app.test_client_class = WebClient
    state: WebState = app.extensions["pension_collect_web"]
    try:
        many_built.snapshot.restore(state.storage)
        yield app
    finally:
        state.close()


def _held(app: Flask) -> tuple[list[tuple[str, str, int]], int]:
    snapshot = StoreSnapshot.of(app.extensions["pension_collect_web"].storage, UNIT)
    return [(r.kind.value, r.key, r.version) for r in snapshot.records], len(snapshot.audit)


@pytest.fixture(name="many_read")
def many_read_fixture(
    many_shared: Flask,
    many_built: Built,
    library_session: Callable[..., CollectionSession],
    signed_in: Callable[..., WebClient],
) -> Iterator[Many]:
    """:func:`many` for a test that only reads (see the module's docstring)."""
    before = _held(many_shared)
    state: WebState = many_shared.extensions["pension_collect_web"]
    folder = Path(state.config.bureau_url.removeprefix("local:"))
    client = signed_in(many_shared)
    yield Many(many_shared, client, many_built.dossier, library_session(many_shared), folder)
    assert _held(many_shared) == before, "a test of many_read changed the collection"


def refs_in(html: str) -> list[str]:
    """The worker references of a list page's checkboxes, in order."""
    return _REF.findall(html)


def rows_in(html: str) -> list[tuple[str, str]]:
    """(masked identity number, name as the page has it) of a list page's rows."""
    return _ROW.findall(html)
