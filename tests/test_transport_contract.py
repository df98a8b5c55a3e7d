"""The transport contract suite (pension_collect.testing.transport_contract) run
against the in-process bureau (``local:``) and the bureau server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.testing.transport_contract import (
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
