"""``GET /api/v1/employers/{unit_no}/declarations`` in pages, as the sync:
``page_size`` 1..1000 (500 when absent), an opaque ``next_cursor`` (``null``
on the last page), ``declarations`` as before; with ``state=pending`` too.
The states' paged lookups (memory and SQLite), the server through the Flask
application, and the HTTP transport following the pages of the pending list."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bureau_fixtures import signed_in_app
from pension_collect.adapters.bureau_sqlite import SQLiteBureauState
from pension_collect.adapters.bureau_state import BureauState, Declaration, MemoryBureauState
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import to_dict
from pension_collect.ports.transport import BadResponse, DeclarationKind, DeclarationState
from pension_collect.testing.transport_contract import CONTRACT_UNIT, contract_dossiers
from test_http_transport import answer, declaration, login, scripted

UNIT = CONTRACT_UNIT
WHEN = _dt.datetime(2013, 8, 20, tzinfo=_dt.UTC)


@pytest.fixture(params=["memory", "sqlite"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BureauState]:
    made: BureauState = (
        MemoryBureauState()
        if request.param == "memory"
        else SQLiteBureauState.open(tmp_path / "bureau.db")
    )
    with made.transaction(write=True):
        for n in range(1, 8):
            unit = UNIT if n % 3 else "OTHER"  # 3 and 6 are another employer's
            made.add_declaration(
                Declaration(
                    id="",
                    unit_no=unit,
                    kind=DeclarationKind.WORKERS,
                    idempotency_key=f"k{n}",
                    payload={},
                    state=DeclarationState.SUCCEEDED if n in (2, 5) else DeclarationState.SUBMITTED,
                    submitted_at=WHEN,
                )
            )
    yield made
    made.close()


def _ids(found: list[Declaration]) -> list[str]:
    return [d.id for d in found]


def test_the_states_page_declarations(state: BureauState) -> None:
    with state.transaction(write=False):
        assert _ids(state.declarations_of(UNIT)) == [
            "D000001",
            "D000002",
            "D000004",
            "D000005",
            "D000007",
        ]
        assert _ids(state.declarations_of(UNIT, limit=2)) == ["D000001", "D000002"]
        assert _ids(state.declarations_of(UNIT, after="D000002", limit=2)) == [
            "D000004",
            "D000005",
        ]
        # after another employer's declaration: this employer's that follow it
        assert _ids(state.declarations_of(UNIT, after="D000003")) == [
            "D000004",
            "D000005",
            "D000007",
        ]
        assert _ids(state.declarations_of(UNIT, after="D000007")) == []
        assert _ids(state.declarations_of(UNIT, after="D999999")) == []
        assert _ids(state.declarations_of(UNIT, limit=0)) == []
        assert _ids(state.pending(UNIT)) == ["D000001", "D000004", "D000007"]
        assert _ids(state.pending(UNIT, after="D000001", limit=1)) == ["D000004"]
        assert _ids(state.pending(after="D000003")) == ["D000004", "D000006", "D000007"]
        assert _ids(state.pending(UNIT, after="nothing")) == []


# -- the server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, str], list[str]]:
    """The server over a bureau whose employer has 7 declarations (the 2nd and
    5th concluded), and a token of the employer; the declaration numbers."""
    root = tmp_path_factory.mktemp("paging")
    with ReferenceBureau.open(root, auto_advance=False) as bureau:
        bureau.seed_dossier(contract_dossiers()[0])
        payload = {"employer": to_dict(contract_dossiers()[0])["employer"]}
        ids = [
            bureau.submit(UNIT, DeclarationKind.EMPLOYER, payload, idempotency_key=f"p{n}").id
            for n in range(7)
        ]
        bureau.auto_advance = True
        for number in (ids[1], ids[4]):  # each read advances it: concluded at the second
            bureau.status(number)
            bureau.status(number)
    test_client, headers = signed_in_app(root, UNIT, "Weihai-Paging-2013!")
    return test_client, headers, ids


def _get(client: tuple[Any, dict[str, str], list[str]], query: str) -> tuple[int, Any]:
    test_client, auth, _ = client
    got = test_client.get(f"/api/v1/employers/{UNIT}/declarations{query}", headers=auth)
    return got.status_code, got.json


def _all_pages(
    client: tuple[Any, dict[str, str], list[str]], query: str, states: list[str] | None = None
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        more = "" if cursor is None else f"&cursor={cursor}"
        status, body = _get(client, f"{query}{more}")
        assert status == 200
        assert set(body) == {"declarations", "next_cursor"}
        pages.append([d["id"] for d in body["declarations"]])
        if states is not None:
            states.extend(d["state"] for d in body["declarations"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20


def test_declarations_come_in_pages(client: tuple[Any, dict[str, str], list[str]]) -> None:
    ids = client[2]
    assert _all_pages(client, "?page_size=3") == [ids[0:3], ids[3:6], ids[6:7]]
    assert _all_pages(client, "?page_size=7") == [ids]
    assert _all_pages(client, "?page_size=1") == [[i] for i in ids]
    # without page_size: 500 a page, so all of these in one, and next_cursor null
    status, body = _get(client, "")
    assert status == 200
    assert [d["id"] for d in body["declarations"]] == ids
    assert body["next_cursor"] is None


def test_the_pending_list_comes_in_pages(client: tuple[Any, dict[str, str], list[str]]) -> None:
    ids = client[2]
    pending = [ids[0], ids[2], ids[3], ids[5], ids[6]]
    # the first page's read advances them all one stage (to processing), the
    # later pages' reads do not: one list read, one stage
    states: list[str] = []
    pages = _all_pages(client, "?state=pending&page_size=2", states)
    assert pages == [pending[0:2], pending[2:4], pending[4:5]]
    assert states == ["processing"] * 5
    # the next read, whole, advances them again (the delay is 0: concluded)
    status, body = _get(client, "?state=pending")
    assert (status, body) == (200, {"declarations": [], "next_cursor": None})


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?page_size=0", "request.page-size"),
        ("?page_size=1001", "request.page-size"),
        ("?page_size=x", "request.page-size"),
        ("?cursor=not-a-cursor", "request.cursor"),
        ("?cursor=cDpSMDAwMDAwMDAwMQ==", "request.cursor"),  # a sync cursor ("p:...")
        ("?state=done&page_size=2", "request.state"),
    ],
)
def test_bad_pages_are_refused(
    client: tuple[Any, dict[str, str], list[str]], query: str, code: str
) -> None:
    status, body = _get(client, query)
    assert (status, body["error"]["code"]) == (400, code)


# -- the transport ------------------------------------------------------------------------


def test_the_transport_follows_the_pending_pages() -> None:
    def listed(ids: list[str], cursor: str | None) -> Any:
        return answer(200, {"declarations": [declaration(i) for i in ids], "next_cursor": cursor})

    t, s, _ = scripted(
        [login(), listed(["D1", "D2"], "c1"), listed(["D3"], "c2"), listed([], None)],
        page_size=2,
    )
    assert [d.id for d in t.pending_declarations(UNIT)] == ["D1", "D2", "D3"]
    queries = [requests.utils.urlparse(r.url or "").query for r in s.sent[1:]]
    assert queries == [
        "state=pending&page_size=2",
        "state=pending&page_size=2&cursor=c1",
        "state=pending&page_size=2&cursor=c2",
    ]


def test_the_transport_reads_an_unpaged_answer_whole() -> None:
    """A bureau of before (no next_cursor) answers the list in one."""
    t, s, _ = scripted([login(), answer(200, {"declarations": [declaration("D9")]})])
    assert [d.id for d in t.pending_declarations(UNIT)] == ["D9"]
    assert len(s.sent) == 2


def test_the_transport_refuses_a_cursor_given_twice() -> None:
    page = {"declarations": [], "next_cursor": "c1"}
    t, _, _ = scripted([login(), answer(200, page), answer(200, page)])
    with pytest.raises(BadResponse):
        t.pending_declarations(UNIT)
    assert json.dumps(page)
