"""The client's address behind a reverse proxy (``--trusted-proxy``, docs/web.md
"Security model"): sign-in failures are counted per client address, so
behind a proxy that address must be the client's, not the proxy's; and a
client must not be able to choose it. The rule on its own, then through
Flask's test client (the web layer is under test: one store, memory); the
real server with the option is tested in test_cli_web.py."""

from __future__ import annotations

import pytest
from flask import Flask
from pension_collect_web.accounts import LOCK_AFTER
from pension_collect_web.errors import WebError
from pension_collect_web.proxies import PEER_KEY, client_address, trusted_networks
from web_fixtures import CLERK, PASSWORD, WebClient

from pension_collect.errors import PensionCollectError

PROXY = "127.0.0.1"
ALICE, MALLORY = "198.51.100.20", "203.0.113.7"


@pytest.fixture
def store_url() -> str:
    """The web layer is under test: one store is enough."""
    return "memory:"


LOCAL = trusted_networks(["127.0.0.1", "::1"])
CHAIN = trusted_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # no trusted proxies: no header is read
        (PROXY, ALICE, (), PROXY),
        (MALLORY, ALICE, LOCAL, MALLORY),  # a peer that is no proxy chooses nothing
        (PROXY, None, LOCAL, PROXY),  # no header: the proxy itself asked
        (PROXY, "", LOCAL, PROXY),
        (PROXY, ALICE, LOCAL, ALICE),
        (PROXY, f" {ALICE} ", LOCAL, ALICE),
        # what the client wrote itself is left of what the proxy added
        (PROXY, f"{ALICE}, {MALLORY}", LOCAL, MALLORY),
        (PROXY, f"10.9.9.9, {ALICE}, {MALLORY}", LOCAL, MALLORY),
        # two proxies: the nearest added the farther one's address
        (PROXY, f"{ALICE}, 10.1.2.3", CHAIN, ALICE),
        (PROXY, f"{MALLORY}, {ALICE}, 10.1.2.3", CHAIN, ALICE),
        (PROXY, "10.1.2.3", CHAIN, "10.1.2.3"),  # only proxies: the farthest one
        # not an address list: the walk stops at the last address it trusted
        (PROXY, "unknown", LOCAL, PROXY),
        (PROXY, f"{ALICE}, garbage", LOCAL, PROXY),
        (PROXY, f"garbage, {ALICE}", LOCAL, ALICE),
        (PROXY, f"{ALICE}, 10.1.2.3, x", CHAIN, PROXY),
        # IPv6, and an IPv4 proxy seen as IPv4-mapped IPv6
        ("::1", "2001:db8::7", LOCAL, "2001:db8::7"),
        ("::ffff:127.0.0.1", ALICE, LOCAL, ALICE),
        ("not an address", ALICE, LOCAL, "not an address"),
    ],
)
def test_the_client_address(
    peer: str, forwarded: str | None, trusted: tuple[object, ...], client: str
) -> None:
    assert client_address(peer, forwarded, trusted) == client  # type: ignore[arg-type]


def test_a_trusted_proxy_that_is_not_an_address_is_refused() -> None:
    assert [str(n) for n in trusted_networks(["127.0.0.1", "10.0.0.0/8", "::1", "10.1.2.3/8"])] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
    ]
    for bad in ("proxy.example", "10.0.0.0/33", "", "1.2.3.4.5"):
        with pytest.raises(WebError) as info:
            trusted_networks(["127.0.0.1", bad])
        assert info.value.code == "web.bad-proxy"
        assert f"--trusted-proxy {bad}" in info.value.message
        assert "反向代理" in info.value.message_zh
        assert isinstance(info.value, PensionCollectError)


def _behind(app: Flask, forwarded: str | None, peer: str = PROXY) -> WebClient:
    """A browser whose requests reach the server from ``peer`` with
    ``X-Forwarded-For: forwarded``."""
    client = app.test_client()
    assert isinstance(client, WebClient)
    client.environ_base = {**client.environ_base, "REMOTE_ADDR": peer}
    if forwarded is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client


def _lock_out(client: WebClient) -> None:
    statuses = [client.sign_in(CLERK, f"guess {i}").status_code for i in range(LOCK_AFTER)]
    assert statuses == [401] * (LOCK_AFTER - 1) + [429]
    assert client.sign_in(CLERK, PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_one_clients_lock_leaves_the_others_alone(
    make_app: object,
) -> None:
    app = make_app(trusted_proxies=(PROXY,))  # type: ignore[operator]
    _lock_out(_behind(app, MALLORY))
    assert _behind(app, ALICE).sign_in(CLERK, PASSWORD).status_code == 303
    # the client cannot name another address: Mallory's own stays last
    assert _behind(app, f"{ALICE}, {MALLORY}").sign_in(CLERK, PASSWORD).status_code == 429


def test_without_trusted_proxies_the_header_is_not_read(make_app: object) -> None:
    """The default: every client of one proxy has the proxy's address, so a
    lock there holds for them all (why the option exists), and a client
    writing the header chooses nothing."""
    app = make_app()  # type: ignore[operator]
    _lock_out(_behind(app, MALLORY))
    assert _behind(app, ALICE).sign_in(CLERK, PASSWORD).status_code == 429


def test_a_client_that_is_no_proxy_chooses_nothing(make_app: object) -> None:
    app = make_app(trusted_proxies=(PROXY,))  # type: ignore[operator]
    _lock_out(_behind(app, ALICE, peer=MALLORY))
    assert _behind(app, "198.51.100.99", peer=MALLORY).sign_in(CLERK, PASSWORD).status_code == 429
    assert _behind(app, None, peer=ALICE).sign_in(CLERK, PASSWORD).status_code == 303


def test_the_proxys_own_address_is_kept_for_the_request(make_app: object) -> None:
    app = make_app(trusted_proxies=(PROXY,))  # type: ignore[operator]
    seen: dict[str, str] = {}

    @app.before_request
    def look() -> None:
        from flask import request

        seen.update(client=str(request.remote_addr), peer=str(request.environ[PEER_KEY]))

    _behind(app, ALICE).get("/login")
    assert seen == {"client": ALICE, "peer": PROXY}


def test_an_app_with_a_bad_trusted_proxy_is_not_made(make_app: object) -> None:
    with pytest.raises(WebError) as info:
        make_app(trusted_proxies=("localhost",))  # type: ignore[operator]
    assert info.value.code == "web.bad-proxy"
