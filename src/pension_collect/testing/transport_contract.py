"""The transport contract suite: what every bureau transport must pass (docs/testing.md).

Subclass :class:`TransportContract` in a test module and provide one fixture,
``bureau``, giving a :class:`ContractBureau`: a bureau seeded with the two
employers of :func:`contract_dossiers` (each worker as the person its
``bureau`` block describes), a transport acting as the first employer
(:data:`CONTRACT_UNIT`), one acting as the second (:data:`CONTRACT_OTHER_UNIT`),
and a way to advance the bureau's processing::

    import pytest
    from pension_collect.testing.transport_contract import (
        ContractBureau, TransportContract, contract_dossiers,
    )

    class TestMyTransport(TransportContract):
        @pytest.fixture
        def bureau(self):
            server = start_my_bureau()
            for dossier in contract_dossiers():
                server.seed(dossier)
            a = open_my_transport(server.url, unit_no=CONTRACT_UNIT, ...)
            b = open_my_transport(server.url, unit_no=CONTRACT_OTHER_UNIT, ...)
            yield ContractBureau(transport=a, other=b, advance=server.process_all)
            a.close(); b.close()

The bureau may be shared by several tests (a server started once per module):
every test makes its own declarations with fresh idempotency keys and asks
``advance`` to conclude what is due before it counts pending ones.

Needs pytest; imports only pension_collect's base and ports modules (no
adapter, no plugin host), so a transport plugin's suite can use it.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from ..dossier import example_dossier_text, loads, make_converter
from ..identity import canonical_id, check_char
from ..model import Dossier, Employer, Worker
from ..ports.transport import (
    PENDING_STATES,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    SyncResult,
    Transport,
    UnknownDeclaration,
)

__all__ = [
    "CONTRACT_OTHER_UNIT",
    "CONTRACT_UNIT",
    "UNKNOWN_PERSON_ID",
    "ContractBureau",
    "TransportContract",
    "contract_dossiers",
    "workers_payload",
]

#: The first employer's unit number (the bundled example dossier's).
CONTRACT_UNIT = "10012345"
#: The second employer's unit number.
CONTRACT_OTHER_UNIT = "10066666"
#: A valid identity number the bureau holds no person for.
UNKNOWN_PERSON_ID = "37100219750101" + "001" + check_char("37100219750101001")
#: The number of a declaration no bureau gives in a test.
_NO_SUCH_DECLARATION = "D999999"

_CONV = make_converter()


@attrs.frozen(kw_only=True)
class ContractBureau:
    """What a :class:`TransportContract` test needs (the ``bureau`` fixture)."""

    transport: Transport
    """A transport acting as :data:`CONTRACT_UNIT`."""
    other: Transport
    """A transport acting as :data:`CONTRACT_OTHER_UNIT`, to the same bureau."""
    advance: Callable[[], None]
    """Conclude every declaration that is due (tick until nothing changes)."""


def contract_dossiers() -> tuple[Dossier, Dossier]:
    """The two employers a contract bureau is seeded with: the bundled example
    dossier (:data:`CONTRACT_UNIT`, three workers) and a second employer
    (:data:`CONTRACT_OTHER_UNIT`) with one worker of its own."""
    first = loads(example_dossier_text())
    assert first.employer.unit_no == CONTRACT_UNIT
    template = first.workers[0]
    first17 = "37100219800101" + "002"
    own = attrs.evolve(
        template,
        id_number=first17 + check_char(first17),
        birth_date=_dt.date(1980, 1, 1),
        person_no=None,
        bureau=None,
    )
    second = attrs.evolve(
        first,
        employer=Employer(unit_no=CONTRACT_OTHER_UNIT, name="威海市契约测试有限公司"),
        workers=(own,),
    )
    return first, second


def workers_payload(workers: tuple[Worker, ...] | list[Worker]) -> dict[str, Any]:
    """A workers declaration's payload (docs/bureau.md): each worker keyed by its
    18-digit identity number, without the bureau's block."""
    return {
        "workers": [
            {
                "key": canonical_id(w.id_number),
                "worker": _CONV.unstructure(attrs.evolve(w, bureau=None), Worker),
            }
            for w in workers
        ]
    }


def _key() -> str:
    return f"contract-{uuid.uuid4().hex}"


def _employer_payload(dossier: Dossier) -> dict[str, Any]:
    return {"employer": _CONV.unstructure(dossier.employer, Employer)}


def _conclude(bureau: ContractBureau, declaration_id: str) -> DeclarationStatus:
    """Advance the bureau until the declaration is concluded (a few rounds)."""
    status = bureau.transport.status(declaration_id, unit_no=CONTRACT_UNIT)
    for _ in range(10):
        if status.state.concluded:
            return status
        bureau.advance()
        status = bureau.transport.status(declaration_id, unit_no=CONTRACT_UNIT)
    pytest.fail(f"declaration {declaration_id} not concluded after advancing ten times")


class TransportContract:
    """Tests every bureau transport passes; subclass it and provide ``bureau``."""

    @pytest.fixture
    def bureau(self) -> ContractBureau:
        """The seeded bureau and its two transports (override)."""
        pytest.fail("the transport's test class provides a 'bureau' fixture")

    # -- sync ---------------------------------------------------------------------

    def test_sync_shape(self, bureau: ContractBureau) -> None:
        """A sync names the employer, the time, the employer's record and one bureau
        block per person of the employer (with its person number), in person-number
        order, and nobody else's."""
        first, second = contract_dossiers()
        result = bureau.transport.sync(CONTRACT_UNIT)
        assert isinstance(result, SyncResult)
        assert result.unit_no == CONTRACT_UNIT
        assert _dt.datetime.fromisoformat(result.at).tzinfo is not None
        assert result.employer is not None
        assert result.employer["unit_no"] == CONTRACT_UNIT
        assert result.employer["name"] == first.employer.name
        ids = [canonical_id(p["id_number"]) for p in result.persons]
        assert sorted(ids) == sorted(canonical_id(w.id_number) for w in first.workers)
        numbers = [p["person_no"] for p in result.persons]
        assert all(isinstance(n, str) and n for n in numbers)
        assert numbers == sorted(numbers)
        other = bureau.other.sync(CONTRACT_OTHER_UNIT)
        assert [canonical_id(p["id_number"]) for p in other.persons] == [
            canonical_id(second.workers[0].id_number)
        ]
        assert not set(numbers) & {p["person_no"] for p in other.persons}

    def test_sync_is_json_and_not_shared(self, bureau: ContractBureau) -> None:
        """What a sync returns is plain JSON data the caller owns: changing it
        changes nothing at the bureau."""
        result = bureau.transport.sync(CONTRACT_UNIT)
        text = json.dumps({"employer": result.employer, "persons": list(result.persons)})
        assert json.loads(text)["employer"]["unit_no"] == CONTRACT_UNIT
        result.persons[0]["name"] = "changed"
        assert result.employer is not None
        result.employer["name"] = "changed"
        again = bureau.transport.sync(CONTRACT_UNIT)
        assert "changed" not in {p.get("name") for p in again.persons}
        assert again.employer is not None
        assert again.employer["name"] != "changed"

    # -- pending and submit ---------------------------------------------------------

    def test_pending_lists_a_declaration_until_concluded(self, bureau: ContractBureau) -> None:
        """[P3] A submitted declaration is pending (submitted or processing) until
        the bureau concludes it; then it is no longer listed."""
        bureau.advance()
        assert bureau.transport.pending_declarations(CONTRACT_UNIT) == []
        first, _ = contract_dossiers()
        made = bureau.transport.submit(
            CONTRACT_UNIT,
            DeclarationKind.EMPLOYER,
            _employer_payload(first),
            idempotency_key=_key(),
        )
        assert made.state is DeclarationState.SUBMITTED
        assert (made.unit_no, made.kind) == (CONTRACT_UNIT, DeclarationKind.EMPLOYER)
        pending = bureau.transport.pending_declarations(CONTRACT_UNIT)
        assert [d.id for d in pending] == [made.id]
        assert pending[0].state in PENDING_STATES
        assert bureau.other.pending_declarations(CONTRACT_OTHER_UNIT) == []
        done = _conclude(bureau, made.id)
        assert done.state is DeclarationState.SUCCEEDED
        assert bureau.transport.pending_declarations(CONTRACT_UNIT) == []

    def test_same_key_twice_is_one_declaration(self, bureau: ContractBureau) -> None:
        """The same idempotency key twice gives the same declaration; another key
        makes another one."""
        bureau.advance()
        first, _ = contract_dossiers()
        payload = workers_payload(first.workers)
        key = _key()
        one = bureau.transport.submit(
            CONTRACT_UNIT, DeclarationKind.WORKERS, payload, idempotency_key=key
        )
        two = bureau.transport.submit(
            CONTRACT_UNIT, DeclarationKind.WORKERS, payload, idempotency_key=key
        )
        assert two.id == one.id
        assert two.submitted_at == one.submitted_at
        other = bureau.transport.submit(
            CONTRACT_UNIT, DeclarationKind.WORKERS, payload, idempotency_key=_key()
        )
        assert other.id != one.id
        pending = [d.id for d in bureau.transport.pending_declarations(CONTRACT_UNIT)]
        assert sorted(pending) == sorted([one.id, other.id])

    def test_same_key_at_once_is_one_declaration(self, bureau: ContractBureau) -> None:
        """Eight submissions with one key at the same moment make one declaration."""
        bureau.advance()
        first, _ = contract_dossiers()
        payload = workers_payload(first.workers)
        key = _key()
        ids: list[str] = []
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def submit() -> None:
            try:
                start.wait()
                made = bureau.transport.submit(
                    CONTRACT_UNIT, DeclarationKind.WORKERS, payload, idempotency_key=key
                )
                ids.append(made.id)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=submit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert len(ids) == 8
        assert len(set(ids)) == 1
        pending = [d.id for d in bureau.transport.pending_declarations(CONTRACT_UNIT)]
        assert pending == ids[:1]

    def test_a_key_belongs_to_its_employer(self, bureau: ContractBureau) -> None:
        """Another employer using the same key gets a declaration of its own, never
        the first employer's."""
        first, second = contract_dossiers()
        key = _key()
        mine = bureau.transport.submit(
            CONTRACT_UNIT, DeclarationKind.EMPLOYER, _employer_payload(first), idempotency_key=key
        )
        theirs = bureau.other.submit(
            CONTRACT_OTHER_UNIT,
            DeclarationKind.EMPLOYER,
            _employer_payload(second),
            idempotency_key=key,
        )
        assert theirs.id != mine.id
        assert theirs.unit_no == CONTRACT_OTHER_UNIT

    # -- status ---------------------------------------------------------------------

    def test_status_answers_what_submit_made(self, bureau: ContractBureau) -> None:
        """status() gives the declaration submit made: number, employer, kind, time."""
        first, _ = contract_dossiers()
        made = bureau.transport.submit(
            CONTRACT_UNIT,
            DeclarationKind.WORKERS,
            workers_payload(first.workers[:1]),
            idempotency_key=_key(),
        )
        got = bureau.transport.status(made.id, unit_no=CONTRACT_UNIT)
        assert isinstance(got, DeclarationStatus)
        assert (got.id, got.unit_no, got.kind, got.submitted_at) == (
            made.id,
            CONTRACT_UNIT,
            DeclarationKind.WORKERS,
            made.submitted_at,
        )
        assert got.linked_to is None

    def test_another_employers_declaration_is_unknown(self, bureau: ContractBureau) -> None:
        """Another employer's declaration is UnknownDeclaration, with word for word
        the answer a number that does not exist gets."""
        first, _ = contract_dossiers()
        made = bureau.transport.submit(
            CONTRACT_UNIT,
            DeclarationKind.EMPLOYER,
            _employer_payload(first),
            idempotency_key=_key(),
        )
        with pytest.raises(UnknownDeclaration) as theirs:
            bureau.other.status(made.id, unit_no=CONTRACT_OTHER_UNIT)
        with pytest.raises(UnknownDeclaration) as nothing:
            bureau.other.status(_NO_SUCH_DECLARATION, unit_no=CONTRACT_OTHER_UNIT)
        assert str(theirs.value) == str(nothing.value)
        assert theirs.value.code == nothing.value.code == "bureau.unknown-declaration"
        with pytest.raises(UnknownDeclaration):
            bureau.transport.status(_NO_SUCH_DECLARATION, unit_no=CONTRACT_UNIT)

    def test_outcomes_after_processing(self, bureau: ContractBureau) -> None:
        """Once concluded a workers declaration has one outcome per worker, keyed as
        sent; a person the bureau does not hold fails bureau.unknown-person; the
        state follows the outcomes."""
        first, _ = contract_dossiers()
        stranger = attrs.evolve(
            first.workers[0],
            id_number=UNKNOWN_PERSON_ID,
            birth_date=_dt.date(1975, 1, 1),
            person_no=None,
        )
        payload = workers_payload([*first.workers, stranger])
        made = bureau.transport.submit(
            CONTRACT_UNIT, DeclarationKind.WORKERS, payload, idempotency_key=_key()
        )
        done = _conclude(bureau, made.id)
        assert done.concluded_at is not None
        keys = [item["key"] for item in payload["workers"]]
        assert sorted(o.key for o in done.outcomes) == sorted(keys)
        by_key = {o.key: o for o in done.outcomes}
        assert not by_key[UNKNOWN_PERSON_ID].succeeded
        assert by_key[UNKNOWN_PERSON_ID].code == "bureau.unknown-person"
        assert by_key[UNKNOWN_PERSON_ID].message_zh
        for o in done.outcomes:
            assert o.succeeded or o.code
        ok = sum(o.succeeded for o in done.outcomes)
        expected = DeclarationState.FAILED if ok == 0 else DeclarationState.PARTIALLY_SUCCEEDED
        assert done.state is expected
        assert done.message
        assert done.message_zh

    def test_employer_declaration_concludes_with_one_outcome(self, bureau: ContractBureau) -> None:
        """An employer declaration of the employer's own record succeeds with one
        outcome keyed by the unit number."""
        first, _ = contract_dossiers()
        made = bureau.transport.submit(
            CONTRACT_UNIT,
            DeclarationKind.EMPLOYER,
            _employer_payload(first),
            idempotency_key=_key(),
        )
        done = _conclude(bureau, made.id)
        assert done.state is DeclarationState.SUCCEEDED
        assert [(o.key, o.succeeded) for o in done.outcomes] == [(CONTRACT_UNIT, True)]

    # -- linked_to --------------------------------------------------------------------

    def test_linked_to(self, bureau: ContractBureau) -> None:
        """[P3.7] A re-collection links to the declaration it follows; a link to a
        number that does not exist or to another employer's declaration is
        UnknownDeclaration, and nothing is made."""
        first, second = contract_dossiers()
        payload = workers_payload(first.workers[:1])
        earlier = bureau.transport.submit(
            CONTRACT_UNIT, DeclarationKind.WORKERS, payload, idempotency_key=_key()
        )
        later = bureau.transport.submit(
            CONTRACT_UNIT,
            DeclarationKind.WORKERS,
            payload,
            idempotency_key=_key(),
            linked_to=earlier.id,
        )
        assert later.linked_to == earlier.id
        assert bureau.transport.status(later.id, unit_no=CONTRACT_UNIT).linked_to == earlier.id
        theirs = bureau.other.submit(
            CONTRACT_OTHER_UNIT,
            DeclarationKind.EMPLOYER,
            _employer_payload(second),
            idempotency_key=_key(),
        )
        bureau.advance()
        for link in (_NO_SUCH_DECLARATION, theirs.id):
            with pytest.raises(UnknownDeclaration):
                bureau.transport.submit(
                    CONTRACT_UNIT,
                    DeclarationKind.WORKERS,
                    payload,
                    idempotency_key=_key(),
                    linked_to=link,
                )
        assert bureau.transport.pending_declarations(CONTRACT_UNIT) == []
