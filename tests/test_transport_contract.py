"""The transport contract suite (pension_collect.testing.transport_contract) run
against the in-process bureau (``local:``) and against the real bureau server
process over HTTP (``http://``, started once for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bureau_server import RunningBureau, call, ready_session, start_bureau
from pension_collect.adapters.http_transport import HttpTransport
from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import to_dict
from pension_collect.plugins import PluginHost
from pension_collect.testing.transport_contract import (
    CONTRACT_OTHER_UNIT,
    CONTRACT_UNIT,
    ContractBureau,
    TransportContract,
    contract_dossiers,
)


class TestLocalTransport(TransportContract):
    @pytest.fixture
    def bureau(self) -> Iterator[ContractBureau]:
        reference = ReferenceBureau()
        for dossier in contract_dossiers():
            reference.seed_dossier(dossier)
        first, second = LocalTransport(reference), LocalTransport(reference)
        yield ContractBureau(transport=first, other=second, advance=reference.settle)
        first.close()
        second.close()


class TestLocalDirTransport(TransportContract):
    """``local:DIR``: two transports opened by URL on one bureau folder, and a
    third handle on it to seed and advance (three SQLite connections)."""

    @pytest.fixture
    def bureau(self, tmp_path: Path) -> Iterator[ContractBureau]:
        with ReferenceBureau.open(tmp_path / "bureau") as reference:
            for dossier in contract_dossiers():
                reference.seed_dossier(dossier)
            host = PluginHost(load_entry_points=False)
            first, second = (host.open_transport(f"local:{tmp_path / 'bureau'}") for _ in "ab")
            yield ContractBureau(transport=first, other=second, advance=reference.settle)
            first.close()
            second.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    """The bureau server process, seeded with the contract's two employers."""
    root = tmp_path_factory.mktemp("contract")
    running = start_bureau(root / "bureau", [to_dict(d) for d in contract_dossiers()], sandbox=True)
    try:
        yield running
    finally:
        running.stop()


def tick_until_quiet(server: RunningBureau) -> None:
    """The sandbox's tick until no declaration changes."""
    headers = {"X-Window-Token": server.window_token or ""}
    for _ in range(10):
        status, _, body = call(server, "POST", "/api/v1/sandbox/tick", {}, headers=headers)
        assert status == 200, body
        if not body["changed"]:
            return
    pytest.fail("the bureau kept changing after ten ticks")


@pytest.fixture(scope="module")
def over_http(server: RunningBureau) -> Iterator[ContractBureau]:
    """Two HTTP transports to the server (logged in once for the module)."""
    transports = []
    for unit in (CONTRACT_UNIT, CONTRACT_OTHER_UNIT):
        _, password = ready_session(server, unit)
        transports.append(HttpTransport(server.url, unit_no=unit, password=password))
    yield ContractBureau(
        transport=transports[0],
        other=transports[1],
        advance=lambda: tick_until_quiet(server),
    )
    for t in transports:
        t.close()


class TestHttpTransport(TransportContract):
    @pytest.fixture
    def bureau(self, over_http: ContractBureau) -> ContractBureau:
        return over_http
