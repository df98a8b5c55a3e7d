"""Failed sign-ins count per (name, client address) and per address
(docs/web.md "Security model"): a lock set from one address never locks a
clerk out of its own, a name no clerk has answers exactly as a clerk's at every
failure count (the same page, status, wait and scrypt check), more than
``ADDRESS_LIMIT`` failures from one address make it wait whatever the names,
``unlock`` and ``add`` lift the locks of a name from every address, and an
accounts file of the schema before opens and works.

Through Flask's test client with two client addresses (``REMOTE_ADDR``), and
on ``ClerkAccounts`` with a fake clock. The web layer is under test: one
store (memory)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from pension_collect_web.accounts import (
    ADDRESS_LIMIT,
    ADDRESS_WINDOW,
    LOCK_AFTER,
    SCHEMA_VERSION,
    ClerkAccounts,
)
from pension_collect_web.errors import WebError
from web_fixtures import CLERK, PASSWORD, UNIT, WebClient, csrf_in
from werkzeug.test import TestResponse

from pension_collect.server.auth import hash_password

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"
GHOST = "no-such-clerk"


@pytest.fixture
def store_url() -> str:
    """The web layer is under test: one store is enough."""
    return "memory:"


class _Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> _Clock:
    """The app's accounts on a fake clock."""
    fake = _Clock()
    app.extensions["pension_collect_web"].accounts.clock = fake
    return fake


def _at(app: Flask, address: str) -> WebClient:
    """A browser at the client address ``address``."""
    client = app.test_client()
    assert isinstance(client, WebClient)
    client.environ_base = {**client.environ_base, "REMOTE_ADDR": address}
    return client


def _shown(answer: TestResponse, name: str) -> tuple[int, str | None, str]:
    """What a refusal tells: status, Retry-After, the page with the name typed blanked."""
    page = answer.get_data(as_text=True).replace(name, "NAME")
    return answer.status_code, answer.headers.get("Retry-After"), page


def test_a_lock_from_one_address_leaves_the_clerks_own_alone(app: Flask, clock: _Clock) -> None:
    attacker, owner = _at(app, ATTACKER), _at(app, OWNER)
    statuses = [attacker.sign_in(CLERK, f"guess {i} wrong").status_code for i in range(LOCK_AFTER)]
    assert statuses == [401] * (LOCK_AFTER - 1) + [429]
    # locked for the attacker's address: even the right password is refused there
    refused = attacker.sign_in(CLERK, PASSWORD)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "60")
    assert "账户已对此地址锁定" in refused.get_data(as_text=True)
    # the clerk's own address signs in, and keeps its own count
    assert owner.sign_in(CLERK, PASSWORD).status_code == 303
    other = _at(app, OWNER)
    assert [other.sign_in(CLERK, "wrong").status_code for _ in range(LOCK_AFTER - 1)] == [401] * 4
    assert other.sign_in(CLERK, PASSWORD).status_code == 303
    # the lock of the attacker's address ends when it says
    clock.now += 61
    assert attacker.sign_in(CLERK, PASSWORD).status_code == 303


def test_a_name_without_an_account_answers_as_a_clerks_at_every_count(
    app: Flask, clock: _Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pension_collect_web.accounts as module

    checked: list[str] = []
    real = module.verify_password

    def verify(password: str, stored: str) -> bool:
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(module, "verify_password", verify)
    browser = _at(app, ATTACKER)
    browser.set_cookie("lang", "en")
    clerk_answers, ghost_answers, clerk_checks, ghost_checks = [], [], [], []
    for _ in range(2):
        for _ in range(LOCK_AFTER + 1):
            for name, answers, checks in (
                (CLERK, clerk_answers, clerk_checks),
                (GHOST, ghost_answers, ghost_checks),
            ):
                checked.clear()
                answers.append(_shown(browser.sign_in(name, "wrong password"), name))
                checks.append([s.split("$")[:4] for s in checked])
        clock.now += ADDRESS_WINDOW + 1  # the lock over, the address's count too
    assert ghost_answers == clerk_answers
    assert ghost_checks == clerk_checks
    statuses = [(status, wait) for status, wait, _ in clerk_answers]
    first = [(401, None)] * (LOCK_AFTER - 1) + [(429, "60"), (429, "60")]
    # the second round (after the first lock): the next lock twice as long
    assert statuses == first + [(401, None)] * (LOCK_AFTER - 1) + [(429, "120"), (429, "120")]
    # one scrypt check of the same cost per try, none while locked: the dummy
    # hash of a name without an account is checked as a clerk's hash is
    scrypt = [["scrypt", *hash_password("x").split("$")[1:4]]]
    assert clerk_checks == ([scrypt] * (LOCK_AFTER - 1) + [scrypt, []]) * 2
    assert "the account is locked for this address" in clerk_answers[LOCK_AFTER - 1][2]


def test_more_than_the_limit_from_one_address_waits_whatever_the_names(
    app: Flask, clock: _Clock
) -> None:
    attacker, owner = _at(app, ATTACKER), _at(app, OWNER)
    attacker.set_cookie("lang", "en")
    names = [f"guess-{i}" for i in range(ADDRESS_LIMIT // (LOCK_AFTER - 1) + 1)]
    tries = [(name, n) for name in names for n in range(LOCK_AFTER - 1)][:ADDRESS_LIMIT]
    for name, n in tries:  # fewer than LOCK_AFTER each: no pair is locked
        assert attacker.sign_in(name, f"wrong {n}").status_code == 401
        clock.now += 1
    refused = attacker.sign_in(CLERK, PASSWORD)  # also the right password
    wait = int(ADDRESS_WINDOW) - ADDRESS_LIMIT
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, str(wait))
    assert f"wait {wait} s" in refused.get_data(as_text=True)
    assert _shown(attacker.sign_in(GHOST, PASSWORD), GHOST)[:2] == (429, str(wait))
    # another address is not slowed down
    assert owner.sign_in(CLERK, PASSWORD).status_code == 303
    # the window moves on: the oldest failure leaves it, and one more try may come
    clock.now += wait
    assert attacker.sign_in("guess-fresh", "wrong again").status_code == 401
    assert attacker.sign_in(CLERK, PASSWORD).status_code == 429
    clock.now += ADDRESS_WINDOW
    assert attacker.sign_in(CLERK, PASSWORD).status_code == 303


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[tuple[ClerkAccounts, _Clock]]:
    fake = _Clock()
    made = ClerkAccounts(tmp_path / "a.db", clock=fake)
    made.add(CLERK, UNIT, PASSWORD)
    yield made, fake
    made.close()


def _fail_until_locked(accounts: ClerkAccounts, name: str, address: str) -> int | None:
    """``LOCK_AFTER`` wrong passwords of ``name`` from ``address``: the lock's seconds."""
    for _ in range(LOCK_AFTER - 1):
        with pytest.raises(WebError, match="invalid-credentials"):
            accounts.sign_in(name, "wrong password", minutes=5, address=address)
    with pytest.raises(WebError, match=r"web\.locked") as locked:
        accounts.sign_in(name, "wrong password", minutes=5, address=address)
    return locked.value.retry_after


def test_a_sign_in_ends_the_doubling_of_its_own_address(
    accounts: tuple[ClerkAccounts, _Clock],
) -> None:
    store, clock = accounts
    assert _fail_until_locked(store, CLERK, ATTACKER) == 60
    clock.now += 61
    assert _fail_until_locked(store, CLERK, ATTACKER) == 120
    # another address's locks do not double from the attacker's
    assert _fail_until_locked(store, CLERK, OWNER) == 60
    clock.now += 121
    store.sign_in(CLERK, PASSWORD, minutes=5, address=ATTACKER)
    assert _fail_until_locked(store, CLERK, ATTACKER) == 60
    # the owner's address still doubles: the attacker's sign-in is not its own
    clock.now += 61
    assert _fail_until_locked(store, CLERK, OWNER) == 120


def test_unlock_and_add_lift_the_locks_of_a_name_from_every_address(
    accounts: tuple[ClerkAccounts, _Clock],
) -> None:
    store, _ = accounts
    for address in (ATTACKER, OWNER):
        _fail_until_locked(store, CLERK, address)
        _fail_until_locked(store, "new-clerk", address)
    store.unlock(CLERK)
    for address in (ATTACKER, OWNER):
        store.sign_in(CLERK, PASSWORD, minutes=5, address=address)
    with pytest.raises(WebError, match="unknown-clerk"):
        store.unlock("new-clerk")  # no clerk yet: its locks stay
    store.add("new-clerk", UNIT, PASSWORD)
    for address in (ATTACKER, OWNER):
        store.sign_in("new-clerk", PASSWORD, minutes=5, address=address)


#: The accounts file's schema before locks per client address (version 0).
_OLD_SCHEMA = (
    """CREATE TABLE clerks (
        name TEXT PRIMARY KEY,
        unit_no TEXT NOT NULL,
        password TEXT NOT NULL,
        created TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locks INTEGER NOT NULL DEFAULT 0,
        locked_until REAL NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "CREATE INDEX web_sessions_name ON web_sessions (name)",
    "CREATE TABLE installation (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE unknown_names (
        name_hash TEXT PRIMARY KEY,
        failures INTEGER NOT NULL DEFAULT 0,
        locks INTEGER NOT NULL DEFAULT 0,
        locked_until REAL NOT NULL DEFAULT 0,
        seen REAL NOT NULL
    )""",
)


def test_an_accounts_file_of_the_schema_before_opens_and_works(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "old.db"
    secret = "ab" * 32
    token = "an-old-session-token"
    clock = _Clock()
    old = sqlite3.connect(path)
    for statement in _OLD_SCHEMA:
        old.execute(statement)
    old.execute("INSERT INTO installation VALUES ('secret', ?)", (secret,))
    # the clerk locked for everyone by the old release, a day to go
    old.execute(
        "INSERT INTO clerks VALUES (?, ?, ?, '2026-01-01T00:00:00+00:00', 3, 4, ?)",
        (CLERK, UNIT, hash_password(PASSWORD), clock.now + 86400),
    )
    old.execute(
        "INSERT INTO web_sessions VALUES (?, ?, 'csrf-of-old', ?)",
        (hashlib.sha256(token.encode()).hexdigest(), CLERK, clock.now + 3600),
    )
    old.execute("INSERT INTO unknown_names VALUES ('00', 2, 1, ?, ?)", (clock.now + 60, clock.now))
    old.commit()
    old.close()

    store = ClerkAccounts(path, clock=clock)
    try:
        assert store.secret() == bytes.fromhex(secret)  # worker references still read
        assert store.count() == 1
        kept = store.session(token)  # signed-in clerks stay signed in
        assert kept is not None
        assert (kept.clerk.name, kept.csrf) == (CLERK, "csrf-of-old")
        # the old lock for everyone is lifted by the upgrade
        store.sign_in(CLERK, PASSWORD, minutes=5, address=OWNER)
        # and the new locks work on it, per address
        assert _fail_until_locked(store, CLERK, ATTACKER) == 60
        store.sign_in(CLERK, PASSWORD, minutes=5, address=OWNER)
        store.unlock(CLERK)
        store.add("second-clerk", UNIT, PASSWORD)
        store.sign_in("second-clerk", PASSWORD, minutes=5, address=ATTACKER)
    finally:
        store.close()

    check = sqlite3.connect(path)
    columns = [row[1] for row in check.execute("PRAGMA table_info(clerks)")]
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    version = check.execute("PRAGMA user_version").fetchone()[0]
    check.close()
    assert columns == ["name", "unit_no", "password", "created"]
    assert "unknown_names" not in tables
    assert "sign_in_locks" in tables
    assert version == SCHEMA_VERSION
    # opened again: nothing more to do, nothing lost
    again = ClerkAccounts(path, clock=clock)
    try:
        assert again.count() == 2
        assert again.session(token) is not None
    finally:
        again.close()


def test_the_address_is_the_one_the_server_sees(app: Flask, clock: _Clock) -> None:
    """A forwarded-for header names no other address: locked is locked."""
    attacker = _at(app, ATTACKER)
    for _ in range(LOCK_AFTER):
        attacker.sign_in(CLERK, "wrong password")
    forged = attacker.post(
        "/login",
        data={
            "name": CLERK,
            "password": PASSWORD,
            "csrf_token": csrf_in(attacker.get("/login").get_data(as_text=True)),
        },
        headers={"X-Forwarded-For": OWNER, "X-Real-IP": OWNER},
    )
    assert forged.status_code == 429
