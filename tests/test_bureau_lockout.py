"""Failed logins count per (unit number, client address): a lock set from one
address never locks the employer out of its own, and a unit number without an
account answers exactly as one with an account under every failure count (the
same codes, the same Retry-After, the same password check against a dummy
hash), so neither a lockout nor an answer tells who is an employer. In
process (a fake clock) and through the Flask application with two client
addresses."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pension_collect.server import auth
from pension_collect.server.app import ServerConfig, create_app
from pension_collect.server.auth import AuthSettings, AuthStore
from pension_collect.server.errors import ApiError
from pension_collect.server.proxies import BadProxy, trusted_networks

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """New hashes at a low scrypt cost (the mechanics, not the cost, are tested)."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2**10)


class _Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


def _refusal(store: AuthStore, unit: str, password: str, address: str) -> tuple[int, str, Any]:
    with pytest.raises(ApiError) as refused:
        store.login(unit, password, address=address)
    return refused.value.status, refused.value.code, refused.value.retry_after


def test_a_lock_from_one_address_leaves_the_owners_address_alone(
    tmp_path: Path, cheap_scrypt: None
) -> None:
    clock = _Clock()
    store = AuthStore(tmp_path / "bureau.db", AuthSettings(address_limit=1000), clock=clock)
    password = store.set_initial_password("U1")
    answers = [_refusal(store, "U1", f"guess-{i}-x", ATTACKER) for i in range(5)]
    assert [a[:2] for a in answers] == [(401, "auth.invalid-credentials")] * 4 + [
        (423, "auth.locked")
    ]
    # locked for the attacker's address: even the right password is refused there
    assert _refusal(store, "U1", password, ATTACKER) == (423, "auth.locked", 60)
    # the employer's own address is not locked out
    assert store.login("U1", password, address=OWNER).must_change_password is True
    # and keeps its own count: four failures there lock nothing
    for i in range(4):
        assert _refusal(store, "U1", f"typo-{i}-xx", OWNER)[:2] == (401, "auth.invalid-credentials")
    assert store.login("U1", password, address=OWNER).token
    # the attacker's lock runs its course, then doubles at the next five
    clock.now += 60
    for i in range(4):
        assert _refusal(store, "U1", f"again-{i}-x", ATTACKER)[0] == 401
    assert _refusal(store, "U1", "again-4-x", ATTACKER) == (423, "auth.locked", 120)


@pytest.mark.parametrize("failures", [0, 1, 4, 5, 6, 10])
def test_a_unit_without_an_account_answers_as_one_with(
    tmp_path: Path, cheap_scrypt: None, monkeypatch: pytest.MonkeyPatch, failures: int
) -> None:
    clock = _Clock()
    store = AuthStore(tmp_path / "bureau.db", AuthSettings(address_limit=1000), clock=clock)
    store.set_initial_password("U1")
    checked: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: checked.append(s) or real(p, s))
    seen: dict[str, list[tuple[int, str, Any]]] = {}
    hashed: dict[str, int] = {}
    for unit in ("U1", "made-up-unit"):
        checked.clear()
        seen[unit] = [_refusal(store, unit, f"wrong-{i}-pw", ATTACKER) for i in range(failures + 1)]
        hashed[unit] = len(checked)
    assert seen["U1"] == seen["made-up-unit"]
    assert hashed["U1"] == hashed["made-up-unit"]  # as many scrypt checks: the same time
    expected = [(401, "auth.invalid-credentials", None)] * min(failures + 1, 4)
    if failures >= 4:
        expected.append((423, "auth.locked", 60))
        expected += [(423, "auth.locked", 60)] * (failures - 4)
    assert seen["U1"] == expected


def test_a_password_reset_lifts_every_addresss_lock(tmp_path: Path, cheap_scrypt: None) -> None:
    clock = _Clock()
    store = AuthStore(tmp_path / "bureau.db", AuthSettings(address_limit=1000), clock=clock)
    store.set_initial_password("U1")
    for address in (ATTACKER, OWNER):
        for i in range(5):
            last = _refusal(store, "U1", f"wrong-{i}-pw", address)
        assert last[1] == "auth.locked"
    password = store.set_initial_password("U1")
    assert store.login("U1", password, address=ATTACKER).token
    assert store.login("U1", password, address=OWNER).token


def test_forgotten_pairs_do_not_pile_up(tmp_path: Path, cheap_scrypt: None) -> None:
    clock = _Clock()
    settings = AuthSettings(address_limit=1000, lock_max_seconds=3600)
    store = AuthStore(tmp_path / "bureau.db", settings, clock=clock)
    for i in range(30):
        _refusal(store, f"made-up-{i}", "wrong-password", ATTACKER)
    clock.now += 3601
    _refusal(store, "made-up-x", "wrong-password", ATTACKER)
    with sqlite3.connect(tmp_path / "bureau.db") as conn:
        units = [r[0] for r in conn.execute("SELECT unit_no FROM auth_locks")]
    assert units == ["made-up-x"]


def test_the_address_limit_still_holds_across_unit_numbers(
    tmp_path: Path, cheap_scrypt: None
) -> None:
    clock = _Clock()
    store = AuthStore(tmp_path / "bureau.db", AuthSettings(address_limit=3), clock=clock)
    password = store.set_initial_password("U1")
    for i in range(3):
        assert _refusal(store, f"made-up-{i}", "wrong-password", ATTACKER)[0] == 401
    assert _refusal(store, "U1", password, ATTACKER)[:2] == (429, "auth.too-many-attempts")
    assert store.login("U1", password, address=OWNER).token


def test_over_http_two_addresses(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "bureau.db")
    password = store.set_initial_password("10012345")
    store.close()
    client = create_app(ServerConfig(data_dir=tmp_path)).test_client()

    def post(unit: str, pw: str, address: str) -> tuple[int, Any, str | None]:
        answer = client.post(
            "/api/v1/session",
            json={"unit_no": unit, "password": pw},
            environ_base={"REMOTE_ADDR": address},
        )
        return answer.status_code, answer.json, answer.headers.get("Retry-After")

    real = [post("10012345", f"guess-{i}-xx", ATTACKER) for i in range(6)]
    made_up = [post("19999999", f"guess-{i}-xx", ATTACKER) for i in range(6)]
    assert [a[0] for a in real] == [401, 401, 401, 401, 423, 423]
    assert real == made_up  # the same bodies and Retry-After: no employer to enumerate
    assert real[4][2] == "60"
    assert post("10012345", password, ATTACKER)[0] == 423
    status, body, _ = post("10012345", password, OWNER)
    assert status == 200
    assert body["must_change_password"] is True


@pytest.mark.parametrize("trusted", [False, True])
def test_over_http_behind_a_reverse_proxy(tmp_path: Path, trusted: bool) -> None:
    """Every request from the proxy (127.0.0.1) with the client's address in
    ``X-Forwarded-For``: with ``--trusted-proxy 127.0.0.1`` a lock holds for
    the client who earned it, and an address the client writes in itself
    counts for nothing; without it (the default) the header is not read and
    the lock holds for every client of the proxy."""
    store = AuthStore(tmp_path / "bureau.db")
    password = store.set_initial_password("10012345")
    store.close()
    proxies = trusted_networks(["127.0.0.1"]) if trusted else ()
    client = create_app(ServerConfig(data_dir=tmp_path, trusted_proxies=proxies)).test_client()

    def post(pw: str, forwarded: str) -> int:
        answer = client.post(
            "/api/v1/session",
            json={"unit_no": "10012345", "password": pw},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": forwarded},
        )
        return answer.status_code

    statuses = [post(f"guess-{i}-xx", f"{OWNER}, {ATTACKER}") for i in range(5)]
    assert statuses == [401] * 4 + [423]
    assert post(password, ATTACKER) == 423
    assert post(password, OWNER) == (200 if trusted else 423)


def test_a_trusted_proxy_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(BadProxy) as info:
        trusted_networks(["127.0.0.1", "proxy.example"])
    assert info.value.code == "server.bad-proxy"
    assert "--trusted-proxy proxy.example" in str(info.value)
    assert "反向代理" in info.value.message_zh


def test_an_auth_file_of_before_opens_and_its_locks_are_lifted(
    tmp_path: Path, cheap_scrypt: None
) -> None:
    """The accounts table of the release before kept a lock per account
    (failures, locks, locked_until): such a file opens, logins work, and the
    lock it held no longer counts."""
    file = tmp_path / "bureau.db"
    first = AuthStore(file)
    password = first.set_initial_password("U1")
    first.close()
    with sqlite3.connect(file) as conn:
        conn.execute("DROP TABLE auth_accounts")
        conn.execute("DROP TABLE auth_locks")
        conn.execute(
            """CREATE TABLE auth_accounts (
                unit_no TEXT PRIMARY KEY,
                password TEXT NOT NULL,
                must_change INTEGER NOT NULL,
                failures INTEGER NOT NULL DEFAULT 0,
                locks INTEGER NOT NULL DEFAULT 0,
                locked_until REAL NOT NULL DEFAULT 0
            )"""
        )
        conn.execute(
            "INSERT INTO auth_accounts VALUES ('U1', ?, 1, 0, 3, 9e12)",
            (auth.hash_password(password),),
        )
    conn.close()
    store = AuthStore(file, AuthSettings(address_limit=1000), clock=_Clock())
    assert store.login("U1", password, address=OWNER).must_change_password is True
    other = store.set_initial_password("U2")
    assert store.login("U2", other, address=OWNER).token
