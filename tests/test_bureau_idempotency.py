"""The same Idempotency-Key with a different body is refused (the IETF draft
"The Idempotency-Key HTTP Header Field", Stripe): the bureau keeps a
fingerprint of each submission (SHA-256 of its canonical kind, payload and
linked_to) with its key; the same key and body answer the first declaration,
another body ``IdempotencyKeyReused`` in process and 422
``request.idempotency-key-reused`` over HTTP. Keys kept by a file of schema
version 1 (no fingerprint) answer as before, and such a file opens and is
migrated."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bureau_fixtures import signed_in_app
from pension_collect.adapters import bureau_state
from pension_collect.adapters.bureau_sqlite import SCHEMA_VERSION
from pension_collect.adapters.bureau_state import request_fingerprint
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import to_dict
from pension_collect.ports.transport import BureauError, DeclarationKind, IdempotencyKeyReused
from pension_collect.testing.transport_contract import CONTRACT_UNIT, contract_dossiers

UNIT = CONTRACT_UNIT
WORKERS = DeclarationKind.WORKERS
EMPLOYER = DeclarationKind.EMPLOYER


def _employer_payload() -> dict[str, Any]:
    return {"employer": to_dict(contract_dossiers()[0])["employer"]}


@pytest.fixture(params=["memory", "sqlite"])
def bureau(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReferenceBureau]:
    made = ReferenceBureau() if request.param == "memory" else ReferenceBureau.open(tmp_path)
    made.seed_dossier(contract_dossiers()[0])
    yield made
    made.close()


def test_the_same_key_and_body_answer_the_first_declaration(bureau: ReferenceBureau) -> None:
    payload = _employer_payload()
    first = bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="k1")
    # the same body with its keys in another order, linked_to left out or null
    reordered = {"employer": dict(reversed(list(payload["employer"].items())))}
    again = bureau.submit(UNIT, EMPLOYER, reordered, idempotency_key="k1", linked_to=None)
    assert again.id == first.id
    assert [d.id for d in bureau.declarations(UNIT)] == [first.id]


@pytest.mark.parametrize("change", ["payload", "kind", "linked_to"])
def test_the_same_key_with_another_body_is_refused(bureau: ReferenceBureau, change: str) -> None:
    payload = _employer_payload()
    base = bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="base")
    first = bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="k2")
    kind, linked_to = EMPLOYER, None
    other = payload
    if change == "payload":
        other = {"employer": {**payload["employer"], "name": "another name"}}
    elif change == "kind":
        kind, other = WORKERS, {"workers": []}
    else:
        linked_to = base.id
    with pytest.raises(IdempotencyKeyReused) as refused:
        bureau.submit(UNIT, kind, other, idempotency_key="k2", linked_to=linked_to)
    assert isinstance(refused.value, BureauError)
    assert refused.value.code == "request.idempotency-key-reused"
    assert "new key" in str(refused.value)
    assert "幂等键" in str(refused.value)
    # nothing was made, and the first body still answers its declaration
    assert [d.id for d in bureau.declarations(UNIT)] == [base.id, first.id]
    assert bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="k2").id == first.id


@pytest.mark.parametrize("fast", [True, False])
def test_the_fingerprint_is_of_the_canonical_body(fast: bool) -> None:
    one = request_fingerprint("workers", {"b": 1, "a": [1, "é"]}, None, fast=fast)
    assert one == request_fingerprint(WORKERS, {"a": [1, "é"], "b": 1}, None, fast=fast)
    encoding, _, digest = one.partition(":")
    assert encoding == ("msgspec" if fast else "json")  # msgspec: the fast extra, installed
    assert len(digest) == 64
    assert one != request_fingerprint("workers", {"b": 1, "a": [1, "e"]}, None, fast=fast)
    assert one != request_fingerprint("employer", {"b": 1, "a": [1, "é"]}, None, fast=fast)
    assert one != request_fingerprint("workers", {"b": 1, "a": [1, "é"]}, "D000001", fast=fast)


def test_the_json_fingerprint_is_sha256_of_the_sorted_compact_json() -> None:
    body = '{"kind":"workers","linked_to":null,"payload":{"a":[1,"é"],"b":1}}'
    expected = hashlib.sha256(body.encode("utf-8")).hexdigest()
    assert request_fingerprint("workers", {"b": 1, "a": [1, "é"]}, None, fast=False) == (
        f"json:{expected}"
    )


@pytest.mark.parametrize("stored_fast", [True, False], ids=["msgspec-kept", "json-kept"])
def test_a_process_with_the_other_encoding_compares_alike(
    bureau: ReferenceBureau, monkeypatch: pytest.MonkeyPatch, stored_fast: bool
) -> None:
    """A fingerprint kept by a process with msgspec, met by one without (or the
    other way round): the same body is the same declaration, another refused."""
    payload = _employer_payload()
    if not stored_fast:
        monkeypatch.setattr(bureau_state, "_SORTED_ENCODE", None)
    first = bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="mixed")
    monkeypatch.undo()
    if stored_fast:
        monkeypatch.setattr(bureau_state, "_SORTED_ENCODE", None)
    reordered = {"employer": dict(reversed(list(payload["employer"].items())))}
    assert bureau.submit(UNIT, EMPLOYER, reordered, idempotency_key="mixed").id == first.id
    other = {"employer": {**payload["employer"], "name": "another name"}}
    with pytest.raises(IdempotencyKeyReused):
        bureau.submit(UNIT, EMPLOYER, other, idempotency_key="mixed")
    with pytest.raises(IdempotencyKeyReused):
        bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="mixed", linked_to=first.id)


def _as_version_1(file: Path) -> None:
    """Turn a file of this release into what release 1 wrote (no fingerprints)."""
    with sqlite3.connect(file) as conn:
        conn.execute("DROP TABLE bureau_fingerprints")
        conn.execute("UPDATE bureau_schema SET version = 1")
    conn.close()


def test_a_version_1_file_opens_and_its_keys_answer_as_before(tmp_path: Path) -> None:
    assert SCHEMA_VERSION == 2
    payload = _employer_payload()
    with ReferenceBureau.open(tmp_path) as bureau:
        bureau.seed_dossier(contract_dossiers()[0])
        old = bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="old-key")
    _as_version_1(tmp_path / "bureau.db")
    with ReferenceBureau.open(tmp_path) as bureau:
        # kept without a fingerprint: the first declaration, whatever the body (as before)
        other = {"employer": {**payload["employer"], "name": "another name"}}
        assert bureau.submit(UNIT, EMPLOYER, other, idempotency_key="old-key").id == old.id
        # a new key is fingerprinted
        new = bureau.submit(UNIT, EMPLOYER, payload, idempotency_key="new-key")
        with pytest.raises(IdempotencyKeyReused):
            bureau.submit(UNIT, EMPLOYER, other, idempotency_key="new-key")
    with sqlite3.connect(tmp_path / "bureau.db") as conn:
        assert conn.execute("SELECT version FROM bureau_schema").fetchall() == [(2,)]
        rows = conn.execute("SELECT id FROM bureau_fingerprints").fetchall()
    conn.close()
    assert rows == [(new.id,)]
    with ReferenceBureau.open(tmp_path) as bureau:  # opened again: nothing to migrate
        assert [d.id for d in bureau.declarations(UNIT)] == [old.id, new.id]


# -- over HTTP (the Flask application) ------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> tuple[Any, dict[str, str]]:
    with ReferenceBureau.open(tmp_path) as bureau:
        bureau.seed_dossier(contract_dossiers()[0])
    test_client, headers = signed_in_app(tmp_path, UNIT, "Weihai-Idempotent-2013!")
    return test_client, headers


def test_over_http_another_body_is_422(client: tuple[Any, dict[str, str]]) -> None:
    test_client, auth = client
    path = f"/api/v1/employers/{UNIT}/declarations"
    body = {"kind": "employer", "payload": _employer_payload()}

    def post(data: dict[str, Any], key: str) -> Any:
        return test_client.post(path, json=data, headers={**auth, "Idempotency-Key": key})

    first = post(body, "http-1")
    assert first.status_code == 201
    again = post({**body, "linked_to": None}, "http-1")
    assert (again.status_code, again.json["id"]) == (200, first.json["id"])
    other = {"kind": "employer", "payload": {"employer": {**body["payload"]["employer"], "x": 1}}}
    refused = post(other, "http-1")
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["code"] == "request.idempotency-key-reused"
    assert "new key" in error["message"]
    assert "Idempotency-Key" in error["message_zh"]
    listed = test_client.get(path, headers=auth).json["declarations"]
    assert [d["id"] for d in listed] == [first.json["id"]]
