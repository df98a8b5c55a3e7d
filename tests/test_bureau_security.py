"""The bureau server's security against the real process: the password 123456
and the printed initial password without a change, common passwords as new
ones, a wrong password many times (the lock), the per-address slow-down, an
expired and revoked tokens, employer A at employer B's data and declarations,
oversized and malformed bodies, wrong content types, path traversal in every
identifier, gunicorn's own refusals — every answer JSON — and logs without
credentials or identity numbers. The accounts' mechanics (scrypt, the lock's
doubling, tokens stored hashed) are checked in-process with a fake clock."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bureau_fixtures import employer, example
from bureau_server import NEW_PASSWORD, RunningBureau, call, login, ready_session, start_bureau
from pension_collect.server import auth
from pension_collect.server.app import ServerConfig, create_app
from pension_collect.server.auth import (
    AuthSettings,
    AuthStore,
    common_passwords,
    hash_password,
    password_problem,
    verify_password,
)
from pension_collect.server.errors import ApiError

A = "10012345"  # the example's employer
B = "20054321"
LOCKED = "50011111"  # locked by the test of the lock
FRESH = "60022222"  # keeps its initial password
REVOKE = "70033333"
ENCODED = urllib.parse.quote

#: Everything secret a test sent or received: none may appear in the logs.
SECRETS: set[str] = set()


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    root = tmp_path_factory.mktemp("secure")
    dossiers = [
        example(),
        employer(B, 3, prefix="B"),
        employer(LOCKED, 1, prefix="L", birth="19600303"),
        employer(FRESH, 1, prefix="F", birth="19610404"),
        employer(REVOKE, 1, prefix="R", birth="19620505"),
    ]
    server = start_bureau(root / "data", dossiers, extra_args=["--max-body", "100000"])
    SECRETS.update(server.passwords.values())
    SECRETS.add(NEW_PASSWORD)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    """A second server: tokens live one second, three failed logins per address."""
    root = tmp_path_factory.mktemp("strict")
    server = start_bureau(
        root / "data",
        [employer(A, 1, prefix="S", birth="19630606")],
        extra_args=["--token-ttl", "1", "--address-limit", "3"],
        workers=1,
    )
    SECRETS.update(server.passwords.values())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token_a(bureau: RunningBureau) -> str:
    token = ready_session(bureau, A)[0]
    SECRETS.add(token)
    return token


@pytest.fixture(scope="module")
def token_b(bureau: RunningBureau) -> str:
    token = ready_session(bureau, B)[0]
    SECRETS.add(token)
    return token


def _error(answer: Any) -> str:
    assert isinstance(answer, dict)
    assert set(answer) == {"error"}, answer
    assert {"code", "message", "message_zh"} <= set(answer["error"])
    code: str = answer["error"]["code"]
    return code


def _raw(bureau: RunningBureau, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as it is on a new connection; the status, headers and body."""
    parsed = urllib.parse.urlsplit(bureau.url)
    assert parsed.hostname is not None
    with socket.create_connection((parsed.hostname, parsed.port or 80), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines)}
    return int(status_line.split()[1]), headers, body


def _get(bureau: RunningBureau, path: str, token: str | None) -> tuple[int, Any]:
    """GET a path exactly as written (no client-side normalising)."""
    parsed = urllib.parse.urlsplit(bureau.url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.getheader("Content-Type") == "application/json"
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


# -- passwords ------------------------------------------------------------------------------------


def test_123456_logs_nobody_in(bureau: RunningBureau) -> None:
    for unit in (A, FRESH, "10000000"):
        status, _, answer = call(
            bureau, "POST", "/api/v1/session", {"unit_no": unit, "password": "123456"}
        )
        assert (status, _error(answer)) == (401, "auth.invalid-credentials")


def test_unknown_unit_and_wrong_password_answer_alike(bureau: RunningBureau) -> None:
    unknown = call(bureau, "POST", "/api/v1/session", {"unit_no": "99999999", "password": "x" * 12})
    wrong = call(bureau, "POST", "/api/v1/session", {"unit_no": FRESH, "password": "x" * 12})
    assert unknown[0] == wrong[0] == 401
    assert unknown[2] == wrong[2]


def test_the_printed_initial_password_alone_reads_nothing(bureau: RunningBureau) -> None:
    first = login(bureau, FRESH, bureau.passwords[FRESH])
    SECRETS.add(first["token"])
    assert first["must_change_password"] is True
    token = first["token"]
    for method, path in [
        ("GET", f"/api/v1/employers/{FRESH}/sync"),
        ("GET", f"/api/v1/employers/{FRESH}/declarations?state=pending"),
        ("GET", f"/api/v1/employers/{FRESH}/declarations/D000001"),
    ]:
        status, _, answer = call(bureau, method, path, token=token)
        assert (status, _error(answer)) == (403, "auth.password-change-required"), path
    body = {"kind": "employer", "payload": {"employer": {"unit_no": FRESH, "name": "x"}}}
    status, _, answer = call(
        bureau,
        "POST",
        f"/api/v1/employers/{FRESH}/declarations",
        body,
        token=token,
        headers={"Idempotency-Key": "k"},
    )
    assert (status, _error(answer)) == (403, "auth.password-change-required")


@pytest.fixture(scope="module")
def fresh_token(bureau: RunningBureau) -> str:
    """A token of the initial password of FRESH (good only for a password change)."""
    token: str = login(bureau, FRESH, bureau.passwords[FRESH])["token"]
    SECRETS.add(token)
    return token


@pytest.mark.parametrize(
    "new",
    [
        "123456",
        "111111",
        "888888",
        "666666",
        "123123",
        "password",
        "qwerty",
        "a123456",
        "woaini1314",
        "1234567890",
        "qwertyuiop",
        "Password123",
        "1qaz2wsx3edc",
        "iloveyou1314",
        "aaaaaaaaaaaa",
        "0123456789012",
        "9876543210",
        "short-1A!",
        f"{FRESH}-company",
        "Ab1-" * 300,
        "",
    ],
)
def test_weak_new_passwords_are_refused(bureau: RunningBureau, fresh_token: str, new: str) -> None:
    old = bureau.passwords[FRESH]
    status, _, answer = call(
        bureau,
        "POST",
        "/api/v1/password",
        {"old_password": old, "new_password": new},
        token=fresh_token,
    )
    assert status == 400
    assert _error(answer) in {"auth.weak-password", "request.invalid"}
    if new:
        assert _error(answer) == "auth.weak-password"


def test_weak_passwords_changed_nothing(bureau: RunningBureau, fresh_token: str) -> None:
    assert login(bureau, FRESH, bureau.passwords[FRESH])["must_change_password"] is True
    status, _, answer = call(bureau, "GET", f"/api/v1/employers/{FRESH}/sync", token=fresh_token)
    assert (status, _error(answer)) == (403, "auth.password-change-required")


def test_the_old_password_as_the_new_one(bureau: RunningBureau) -> None:
    old = bureau.passwords[FRESH]
    token = login(bureau, FRESH, old)["token"]
    status, _, answer = call(
        bureau, "POST", "/api/v1/password", {"old_password": old, "new_password": old}, token=token
    )
    assert (status, _error(answer)) == (400, "auth.weak-password")
    assert "old" in answer["error"]["message"]


def test_a_wrong_old_password_is_refused(bureau: RunningBureau) -> None:
    token = login(bureau, FRESH, bureau.passwords[FRESH])["token"]
    status, _, answer = call(
        bureau,
        "POST",
        "/api/v1/password",
        {"old_password": "not-the-password", "new_password": "A-good-new-one-2024"},
        token=token,
    )
    assert (status, _error(answer)) == (401, "auth.invalid-credentials")


def test_a_wrong_password_many_times_locks_the_account(bureau: RunningBureau) -> None:
    right = bureau.passwords[LOCKED]
    answers = [
        call(bureau, "POST", "/api/v1/session", {"unit_no": LOCKED, "password": f"guess-{i}"})
        for i in range(5)
    ]
    assert [a[0] for a in answers] == [401, 401, 401, 401, 423]
    status, headers, body = answers[-1]
    assert _error(body) == "auth.locked"
    assert 55 <= body["error"]["retry_after"] <= 60
    assert headers["retry-after"] == str(body["error"]["retry_after"])
    assert "locked" in body["error"]["message"]
    # locked: the right password is refused too, and so is a password change
    status, headers, body = call(
        bureau, "POST", "/api/v1/session", {"unit_no": LOCKED, "password": right}
    )
    assert (status, _error(body)) == (423, "auth.locked")
    assert int(headers["retry-after"]) >= 1


# -- tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "auth.missing-token"),
        ("Bearer", "auth.invalid-token"),
        ("Basic dXNlcjpwYXNz", "auth.invalid-token"),
        ("Bearer not-a-token-anyone-was-given", "auth.invalid-token"),
        ("Bearer " + "x" * 600, "auth.invalid-token"),
    ],
)
def test_calls_without_a_valid_token(bureau: RunningBureau, header: str | None, code: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    for method, path in [
        ("GET", f"/api/v1/employers/{A}/sync"),
        ("GET", f"/api/v1/employers/{A}/declarations"),
        ("DELETE", "/api/v1/session"),
    ]:
        status, _, answer = call(bureau, method, path, headers=headers)
        assert (status, _error(answer)) == (401, code), path


def test_logout_revokes_the_token(bureau: RunningBureau) -> None:
    token, _ = ready_session(bureau, REVOKE)
    SECRETS.add(token)
    other = login(bureau, REVOKE, NEW_PASSWORD)["token"]
    SECRETS.add(other)
    assert call(bureau, "DELETE", "/api/v1/session", token=token)[0] == 204
    status, _, answer = call(bureau, "GET", f"/api/v1/employers/{REVOKE}/sync", token=token)
    assert (status, _error(answer)) == (401, "auth.invalid-token")
    status, _, answer = call(bureau, "DELETE", "/api/v1/session", token=token)
    assert (status, _error(answer)) == (401, "auth.invalid-token")
    assert call(bureau, "GET", f"/api/v1/employers/{REVOKE}/sync", token=other)[0] == 200


def test_a_password_change_revokes_every_other_token(bureau: RunningBureau) -> None:
    first = login(bureau, REVOKE, NEW_PASSWORD)["token"]
    second = login(bureau, REVOKE, NEW_PASSWORD)["token"]
    SECRETS.update({first, second, "Changed-again-2031"})
    status, _, changed = call(
        bureau,
        "POST",
        "/api/v1/password",
        {"old_password": NEW_PASSWORD, "new_password": "Changed-again-2031"},
        token=first,
    )
    assert status == 200
    SECRETS.add(changed["token"])
    for old in (first, second):
        status, _, answer = call(bureau, "GET", f"/api/v1/employers/{REVOKE}/sync", token=old)
        assert (status, _error(answer)) == (401, "auth.invalid-token")
    new = changed["token"]
    assert call(bureau, "GET", f"/api/v1/employers/{REVOKE}/sync", token=new)[0] == 200


def test_an_expired_token(strict: RunningBureau) -> None:
    grant = login(strict, A, strict.passwords[A])
    SECRETS.add(grant["token"])
    time.sleep(1.5)
    status, _, answer = call(strict, "DELETE", "/api/v1/session", token=grant["token"])
    assert (status, _error(answer)) == (401, "auth.token-expired")
    status, _, answer = call(
        strict,
        "POST",
        "/api/v1/password",
        {"old_password": strict.passwords[A], "new_password": "Fine-new-password-9"},
        token=grant["token"],
    )
    assert (status, _error(answer)) == (401, "auth.token-expired")


def test_too_many_failures_from_one_address_slow_it_down(strict: RunningBureau) -> None:
    # Runs after the expired-token test (one good login there): three failures
    # from 127.0.0.1 and the address must wait, even with the right password.
    statuses = [
        call(strict, "POST", "/api/v1/session", {"unit_no": f"9000000{i}", "password": "x" * 10})[0]
        for i in range(3)
    ]
    assert statuses == [401, 401, 401]
    for unit, password in ((A, strict.passwords[A]), ("90000009", "y" * 10)):
        status, headers, answer = call(
            strict, "POST", "/api/v1/session", {"unit_no": unit, "password": password}
        )
        assert (status, _error(answer)) == (429, "auth.too-many-attempts")
        assert 1 <= answer["error"]["retry_after"] <= 300
        assert headers["retry-after"] == str(answer["error"]["retry_after"])


# -- employer scoping -----------------------------------------------------------------------------


def test_employer_a_cannot_read_or_submit_for_b(
    bureau: RunningBureau, token_a: str, token_b: str
) -> None:
    for method, path in [
        ("GET", f"/api/v1/employers/{B}/sync"),
        ("GET", f"/api/v1/employers/{B}/declarations"),
        ("GET", f"/api/v1/employers/{B}/declarations?state=pending"),
        ("GET", f"/api/v1/employers/{B}/declarations/D000001"),
    ]:
        status, _, answer = call(bureau, method, path, token=token_a)
        assert (status, _error(answer)) == (403, "auth.other-employer"), path
    body = {"kind": "employer", "payload": {"employer": {"unit_no": B, "name": "冒名"}}}
    status, _, answer = call(
        bureau,
        "POST",
        f"/api/v1/employers/{B}/declarations",
        body,
        token=token_a,
        headers={"Idempotency-Key": "steal-1"},
    )
    assert (status, _error(answer)) == (403, "auth.other-employer")
    # nothing was made for B
    listed = call(bureau, "GET", f"/api/v1/employers/{B}/declarations", token=token_b)[2]
    assert listed == {"declarations": [], "next_cursor": None}


def test_employer_a_cannot_follow_bs_declaration(
    bureau: RunningBureau, token_a: str, token_b: str
) -> None:
    body = {"kind": "employer", "payload": {"employer": employer(B, 0, prefix="B")["employer"]}}
    status, _, theirs = call(
        bureau,
        "POST",
        f"/api/v1/employers/{B}/declarations",
        body,
        token=token_b,
        headers={"Idempotency-Key": "b-own-1"},
    )
    assert status == 201
    path = f"/api/v1/employers/{A}/declarations"
    status, _, answer = call(bureau, "GET", f"{path}/{theirs['id']}", token=token_a)
    assert (status, _error(answer)) == (404, "bureau.unknown-declaration")
    missing = call(bureau, "GET", f"{path}/D999999", token=token_a)
    assert missing[:1] == (404,)
    assert missing[2] == answer  # word for word the answer for a number that does not exist
    # nor link to it, nor see it among its own
    mine = {"kind": "employer", "payload": {"employer": example()["employer"]}}
    status, _, answer = call(
        bureau,
        "POST",
        path,
        {**mine, "linked_to": theirs["id"]},
        token=token_a,
        headers={"Idempotency-Key": "a-link-b"},
    )
    assert (status, _error(answer)) == (404, "bureau.unknown-declaration")
    listed = call(bureau, "GET", path, token=token_a)[2]["declarations"]
    assert theirs["id"] not in [d["id"] for d in listed]
    # B's idempotency key is B's: A using it makes A's own declaration
    status, _, own = call(
        bureau, "POST", path, mine, token=token_a, headers={"Idempotency-Key": "b-own-1"}
    )
    assert status == 201
    assert own["id"] != theirs["id"]
    assert own["unit_no"] == A


def test_employer_a_cannot_collect_bs_worker(
    bureau: RunningBureau, token_a: str, token_b: str
) -> None:
    (page,) = [call(bureau, "GET", f"/api/v1/employers/{B}/sync", token=token_b)[2]]
    person = page["persons"][0]
    worker = next(
        w for w in employer(B, 3, prefix="B")["workers"] if w["person_no"] == person["person_no"]
    )
    SECRETS.add(worker["id_number"])
    body = {
        "kind": "workers",
        "payload": {"workers": [{"key": worker["id_number"], "worker": worker}]},
    }
    status, _, submitted = call(
        bureau,
        "POST",
        f"/api/v1/employers/{A}/declarations",
        body,
        token=token_a,
        headers={"Idempotency-Key": "a-takes-b-worker"},
    )
    assert status == 201
    path = f"/api/v1/employers/{A}/declarations/{submitted['id']}"
    for _ in range(5):
        followed = call(bureau, "GET", path, token=token_a)[2]
        if followed["state"] not in {"submitted", "processing"}:
            break
    assert followed["state"] == "failed"
    assert [o["code"] for o in followed["outcomes"]] == ["bureau.other-employer"]
    after = call(bureau, "GET", f"/api/v1/employers/{B}/sync", token=token_b)[2]
    assert after["persons"] == page["persons"]  # B's worker is as it was


# -- bodies ---------------------------------------------------------------------------------------


def test_an_oversized_body(bureau: RunningBureau, token_a: str) -> None:
    big = {"kind": "workers", "payload": {"pad": "x" * 200_000}}
    status, _, answer = call(
        bureau,
        "POST",
        f"/api/v1/employers/{A}/declarations",
        big,
        token=token_a,
        headers={"Idempotency-Key": "too-big"},
    )
    assert (status, _error(answer)) == (413, "request.too-large")
    # the same without a Content-Length (chunked): refused while reading
    chunks = iter([b'{"unit_no": "' + b"1" * 60_000, b"2" * 60_000 + b'", "password": "x"}'])
    status, _, answer = call(
        bureau,
        "POST",
        "/api/v1/session",
        token=None,
        headers={"Content-Type": "application/json"},
        data=chunks,  # type: ignore[arg-type]
    )
    assert (status, _error(answer)) == (413, "request.too-large")


@pytest.mark.parametrize(
    "data",
    [b"{", b"not json", b'{"unit_no": NaN}', b"\xff\xfe{}", b"[1, 2]", b'"text"', b""],
    ids=repr,
)
def test_malformed_json(bureau: RunningBureau, token_a: str, data: bytes) -> None:
    for path, token in [
        ("/api/v1/session", None),
        ("/api/v1/password", token_a),
        (f"/api/v1/employers/{A}/declarations", token_a),
    ]:
        status, _, answer = call(
            bureau,
            "POST",
            path,
            token=token,
            data=data,
            headers={"Content-Type": "application/json", "Idempotency-Key": "malformed"},
        )
        assert status == 400, path
        assert _error(answer) in {"request.malformed-json", "request.invalid"}


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "text/json"]
)
def test_a_body_that_is_not_json(bureau: RunningBureau, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = json.dumps({"unit_no": A, "password": "whatever-it-is"}).encode()
    status, _, answer = call(bureau, "POST", "/api/v1/session", data=body, headers=headers)
    assert (status, _error(answer)) == (415, "request.unsupported-media-type")


# -- paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/employers/..%2F{B}/sync",
        f"/api/v1/employers/{A}%2F..%2F{B}/sync",
        f"/api/v1/employers/{A}/../{B}/sync",
        f"/api/v1/employers/{A}/..%2F..%2F{B}%2Fsync",
        "/api/v1/employers/%2e%2e/sync",
        f"/api/v1/employers/{A}%00/sync",
        "/api/v1/employers/%00/sync",
        f"/api/v1/employers/{A}/declarations/..%2FD000001",
        f"/api/v1/employers/{A}/declarations/%2e%2e%2f%2e%2e%2f{B}%2fsync",
        f"/api/v1/employers/{A}/declarations/D000001%00",
        f"/api/v1/employers/{A}/declarations/%00",
        f"/api/v1/employers/{A}/declarations/{'%2F' * 50}",
        "/api/v1/../../etc/passwd",
        "/api/v1/employers/%ff%fe/sync",
        f"/api/v1/employers/{A}/declarations/{ENCODED('D000001/../../' + B)}",
    ],
)
def test_path_traversal_gets_a_clean_json_refusal(
    bureau: RunningBureau, token_a: str, path: str
) -> None:
    status, answer = _get(bureau, path, token_a)
    assert 400 <= status < 500
    assert _error(answer) in {
        "request.not-found",
        "auth.other-employer",
        "bureau.unknown-declaration",
        "request.bad-request",
    }


def test_unknown_paths_and_methods_answer_json(bureau: RunningBureau) -> None:
    status, _, answer = call(bureau, "GET", "/")
    assert (status, _error(answer)) == (404, "request.not-found")
    status, _, answer = call(bureau, "GET", "/api/v2/health")
    assert (status, _error(answer)) == (404, "request.not-found")
    status, headers, answer = call(bureau, "PUT", "/api/v1/health", data=b"")
    assert (status, _error(answer)) == (405, "request.method-not-allowed")
    assert "GET" in headers["allow"]
    status, _, answer = call(bureau, "PATCH", "/api/v1/session", data=b"")
    assert (status, _error(answer)) == (405, "request.method-not-allowed")
    status, headers, answer = call(bureau, "OPTIONS", f"/api/v1/employers/{A}/sync")
    assert (status, _error(answer)) == (405, "request.method-not-allowed")
    assert set(headers["allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: y\r\n" * 200 + b"\r\n", 431),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ],
    ids=["garbage", "version", "headers", "long-line"],
)
def test_gunicorns_own_refusals_are_json(
    bureau: RunningBureau, request_bytes: bytes, status: int
) -> None:
    got, headers, body = _raw(bureau, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert _error(json.loads(body)).startswith("request.")


@pytest.mark.parametrize(
    "chunked",
    [b'10\r\n{"unit_no"', b"zz\r\n{}\r\n0\r\n\r\n"],
    ids=["cut-short", "bad-chunk-size"],
)
def test_a_body_that_cannot_be_read_is_the_clients_fault(
    bureau: RunningBureau, chunked: bytes
) -> None:
    """A chunked body cut short (the client closed its side) or with a chunk
    size that is no number is 400 request.bad-request, not 500 server.internal,
    and not logged as an internal error."""
    parsed = urllib.parse.urlsplit(bureau.url)
    assert parsed.hostname is not None
    head = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((parsed.hostname, parsed.port or 80), timeout=30) as sock:
        sock.sendall(head + chunked)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    reply = b"".join(chunks)
    head_bytes, _, body = reply.partition(b"\r\n\r\n")
    assert int(head_bytes.split()[1]) == 400, reply
    assert _error(json.loads(body)) == "request.bad-request"
    assert "internal error" not in bureau.logs()


# -- in-process: the mechanics --------------------------------------------------------------------


@pytest.fixture
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """New hashes at a low scrypt cost (the mechanics, not the cost, are tested)."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2**10)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_lock_doubles(tmp_path: Path, cheap_scrypt: None) -> None:
    clock = _Clock()
    store = AuthStore(tmp_path / "bureau.db", AuthSettings(address_limit=1000), clock=clock)
    password = store.set_initial_password("U1")
    locks = []
    for _ in range(3):
        for attempt in range(5):
            with pytest.raises(ApiError) as refused:
                store.login("U1", "wrong-password", address="10.0.0.1")
            if attempt < 4:
                assert refused.value.code == "auth.invalid-credentials"
        assert refused.value.code == "auth.locked"
        assert refused.value.retry_after is not None
        locks.append(refused.value.retry_after)
        clock.now += refused.value.retry_after - 1
        with pytest.raises(ApiError) as still:
            store.login("U1", password, address="10.0.0.1")
        assert (still.value.status, still.value.retry_after) == (423, 1)
        clock.now += 1
    assert locks == [60, 120, 240]
    assert store.login("U1", password, address="10.0.0.1").must_change_password is True
    # a good login ends the doubling
    for _ in range(5):
        with pytest.raises(ApiError):
            store.login("U1", "wrong-password", address="10.0.0.1")
    with pytest.raises(ApiError) as again:
        store.login("U1", password, address="10.0.0.1")
    assert again.value.retry_after == 60


def test_the_address_window_slides(tmp_path: Path, cheap_scrypt: None) -> None:
    clock = _Clock()
    store = AuthStore(
        tmp_path / "bureau.db", AuthSettings(address_limit=2, address_window=100), clock=clock
    )
    password = store.set_initial_password("U1")
    for _ in range(2):
        with pytest.raises(ApiError):
            store.login("nobody", "wrong-password", address="10.0.0.2")
        clock.now += 10
    with pytest.raises(ApiError) as slowed:
        store.login("U1", password, address="10.0.0.2")
    assert (slowed.value.status, slowed.value.retry_after) == (429, 80)
    assert store.login("U1", password, address="10.0.0.3").token  # another address is not slowed
    clock.now += 81
    assert store.login("U1", password, address="10.0.0.2").token


def test_tokens_are_stored_hashed_and_expire(tmp_path: Path, cheap_scrypt: None) -> None:
    clock = _Clock()
    store = AuthStore(tmp_path / "bureau.db", AuthSettings(token_ttl=900), clock=clock)
    password = store.set_initial_password("U1")
    grant = store.login("U1", password, address="10.0.0.1")
    assert grant.expires_at == clock.now + 900
    assert "token" not in repr(grant)
    with sqlite3.connect(tmp_path / "bureau.db") as conn:
        stored = [r[0] for r in conn.execute("SELECT token_hash FROM auth_tokens")]
        hashes = [r[0] for r in conn.execute("SELECT password FROM auth_accounts")]
    assert stored != [grant.token]
    assert grant.token not in stored[0]
    assert len(stored[0]) == 64
    assert password not in hashes[0]
    assert store.authenticate(grant.token).unit_no == "U1"
    clock.now += 900
    with pytest.raises(ApiError) as expired:
        store.authenticate(grant.token)
    assert expired.value.code == "auth.token-expired"


def test_scrypt_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = hash_password("Same-password-1"), hash_password("Same-password-1")
    assert one != two  # a salt per password
    assert one.split("$")[:4] == ["scrypt", "16384", "8", "1"]  # parameters kept with it
    assert verify_password("Same-password-1", one)
    assert verify_password("Same-password-1", two)
    assert not verify_password("Same-password-2", one)
    for damaged in ["", "scrypt$1$2", one.replace("scrypt", "md5"), one[:-4] + "!!!!"]:
        assert not verify_password("Same-password-1", damaged)
    compared = []
    real = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    assert verify_password("Same-password-1", one)
    assert compared == [1]


def test_an_unknown_unit_costs_a_password_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AuthStore(tmp_path / "bureau.db")
    store.set_initial_password("U1")
    checked: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: checked.append(s) or real(p, s))
    with pytest.raises(ApiError):
        store.login("no-such-unit", "some-password", address="10.0.0.1")
    with pytest.raises(ApiError):
        store.login("U1", "some-password", address="10.0.0.1")
    assert len(checked) == 2  # the dummy hash for the unknown unit, the real one for U1
    assert checked[0].startswith("scrypt$")
    assert checked[0] != checked[1]


def test_the_common_password_list() -> None:
    common = common_passwords()
    assert len(common) >= 400
    for known in (
        "123456",
        "111111",
        "888888",
        "666666",
        "123123",
        "password",
        "qwerty",
        "a123456",
        "woaini1314",
        "5201314",
        "iloveyou",
        "1qaz2wsx",
    ):
        assert known in common
    assert password_problem("Correct-horse-battery", unit_no="U1") is None
    assert password_problem("PASSWORD123", unit_no="U1") is not None


def test_an_identity_number_is_refused_as_a_password() -> None:
    """A valid identity number (18 digits with its check character, or a
    15-digit legacy one) is personal data others know: refused; the same digits
    with a wrong check character are no identity number and pass."""
    from pension_collect.identity import check_char

    first17 = "11010519491231002"
    good = first17 + check_char(first17)
    wrong = first17 + ("0" if check_char(first17) != "0" else "1")
    for number in (good, f" {good} ", "110105491231002"):
        problem = password_problem(number, unit_no="U1")
        assert problem is not None
        assert "identity number" in problem[0]
        assert "公民身份号码" in problem[1]
    assert password_problem(wrong, unit_no="U1") is None


def test_a_500_says_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(ServerConfig(data_dir=tmp_path))

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("371002196503021239 and the password Secret-1234")

    with caplog.at_level(logging.ERROR, logger="pension_collect.server"):
        answer = app.test_client().get("/api/v1/boom")
    assert answer.status_code == 500
    assert answer.json == {
        "error": {
            "code": "server.internal",
            "message": "the server failed; try again later, and tell the bureau if it goes on",
            "message_zh": "服务器内部错误,请稍后重试;如持续出现请联系经办机构",
        }
    }
    assert "RuntimeError" in caplog.text
    assert "371002196503021239" not in caplog.text
    assert "Secret-1234" not in caplog.text


# -- the logs (last: every test above sent its secrets) -------------------------------------------


def test_logs_hold_no_credentials_or_identity_numbers(
    bureau: RunningBureau, strict: RunningBureau, token_a: str
) -> None:
    number = example()["workers"][0]["id_number"]
    SECRETS.add(number)
    status, _ = _get(bureau, f"/api/v1/employers/{number}/sync?cursor=secret-cursor-value", token_a)
    assert status == 403
    SECRETS.add("secret-cursor-value")
    for worker in example()["workers"]:
        SECRETS.add(worker["id_number"])
    masked = f"/api/v1/employers/{number[:6]}********{number[-4:]}/sync"
    # gunicorn writes the access line after the answer has gone: the client can
    # read the answer before the line is in the file (a run in CI did)
    deadline = time.monotonic() + 15
    while masked not in bureau.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    logs = bureau.logs() + strict.logs()
    assert '"GET /api/v1/employers/' in logs  # the access log is there
    assert masked in logs
    leaked = sorted(s for s in SECRETS if s and s in logs)
    assert leaked == []
    assert "Traceback" not in logs
