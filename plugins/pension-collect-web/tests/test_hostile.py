"""The web front end attacked as an outsider, a clerk of another employer and
a careless clerk would (docs/web.md "Security model"): each test here is a
defect found by trying, kept so it stays fixed.

The page tests use Flask's test client on one store (the web layer is under
test); the kill and the logs need the real server process."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from pension_collect_web.accounts import LOCK_AFTER, ClerkAccounts
from pension_collect_web.errors import WebError
from pension_collect_web.views.workers import SEARCH_KEY
from web_fixtures import CLERK, PASSWORD, UNIT, WebClient

#: An identity number of the example dossier (employer 10012345).
ID_NUMBER = "371002196503021239"
OTHER, OTHER_UNIT = "clerk-other", "20000001"


@pytest.fixture
def store_url() -> str:
    """The web layer is under test: one store is enough."""
    return "memory:"


# -- signing out and in on a shared computer -------------------------------------------------


def test_signing_out_forgets_the_search(make_app: object, signed_in: object) -> None:
    """The worker list's search (a name or an identity number) rode in the
    flash cookie past sign-out: the next clerk on the same browser, of another
    employer, found it in the search box."""
    app: Flask = make_app(clerks=[(OTHER, OTHER_UNIT)])  # type: ignore[operator]
    client: WebClient = signed_in(app)  # type: ignore[operator]
    assert client.post_form("/workers/search", {"search": ID_NUMBER}).status_code == 303
    with client.session_transaction() as kept:
        assert kept.get(SEARCH_KEY) == ID_NUMBER  # the attack's premise
    assert client.post_form("/logout").status_code == 303
    with client.session_transaction() as kept:
        assert SEARCH_KEY not in kept
    assert client.sign_in(OTHER, PASSWORD).status_code == 303
    assert ID_NUMBER not in client.get("/workers").get_data(as_text=True)


def test_signing_in_forgets_a_search_left_behind(app: Flask, signed_in: object) -> None:
    """A clerk who never signed out (the sign-in expired) left the search in
    the browser's flash cookie: the next sign-in starts without it."""
    client: WebClient = signed_in(app)  # type: ignore[operator]
    assert client.post_form("/workers/search", {"search": ID_NUMBER}).status_code == 303
    client.delete_cookie("pension_collect_session")  # expired, never signed out
    assert client.sign_in(CLERK, PASSWORD).status_code == 303
    with client.session_transaction() as kept:
        assert SEARCH_KEY not in kept


# -- what a brute force tells about which accounts exist ------------------------------------


def test_an_unknown_name_locks_as_an_account_does(tmp_path: Path) -> None:
    """Five wrong passwords locked a real account (web.locked) but never an
    unknown name: the lock told an attacker which names exist."""
    now = [1_000_000.0]
    accounts = ClerkAccounts(tmp_path / "a.db", clock=lambda: now[0])
    accounts.add(CLERK, UNIT, PASSWORD)

    def codes(name: str) -> list[tuple[str, int | None]]:
        seen = []
        for _ in range(LOCK_AFTER + 1):
            with pytest.raises(WebError) as info:
                accounts.sign_in(name, "wrong password", minutes=5)
            seen.append((info.value.code, getattr(info.value, "retry_after", None)))
        return seen

    real, ghost = codes(CLERK), codes("no-such-clerk")
    assert real[-2][0] == "web.locked"
    assert ghost == real
    now[0] += 61
    invalid, locked = ("web.invalid-credentials", None), ("web.locked", 120)
    assert codes("no-such-clerk") == [invalid, invalid, invalid, invalid, locked, locked]
    accounts.close()


def test_an_unknown_name_locks_on_the_page(anon: WebClient) -> None:
    statuses = [anon.sign_in("nobody-here", "wrong password").status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]
