"""The reference bureau and the local: transport."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs
import pytest

from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.model import Worker
from pension_collect.plugins import PluginHost
from pension_collect.ports.transport import DeclarationKind, DeclarationState, UnknownDeclaration
from workflow_fixtures import Clock, example, keys_of

CONV = make_converter()
UNIT = "10012345"


def _bureau(delay: _dt.timedelta = _dt.timedelta(0)) -> tuple[ReferenceBureau, Clock, list[str]]:
    clock = Clock()
    dossier = example()
    bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of, processing_delay=delay)
    bureau.seed_dossier(dossier)
    return bureau, clock, keys_of(dossier)


def _payload(*workers: Worker) -> dict[str, Any]:
    return {
        "workers": [
            {
                "key": k,
                "worker": CONV.unstructure(attrs.evolve(w, bureau=None), Worker),
            }
            for k, w in zip(keys_of(example())[: len(workers)], workers, strict=True)
        ]
    }


def _run(bureau: ReferenceBureau, *workers: Worker, key: str = "k1") -> Any:
    status = bureau.submit(UNIT, DeclarationKind.WORKERS, _payload(*workers), idempotency_key=key)
    bureau.settle()
    return bureau.status(status.id)


class TestReferenceBureau:
    def test_sync_returns_seeded_persons(self) -> None:
        """A sync returns the employer and one bureau record per seeded worker."""
        bureau, _, keys = _bureau()
        result = bureau.sync(UNIT)
        assert result.employer is not None
        assert result.employer["unit_no"] == UNIT
        assert sorted(p["id_number"] for p in result.persons) == sorted(keys)
        assert all(p["person_no"] for p in result.persons)

    def test_same_idempotency_key_one_declaration(self) -> None:
        """Submitting twice with one key makes one declaration."""
        bureau, _, _ = _bureau()
        a = bureau.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="same")
        b = bureau.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="same")
        c = bureau.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="other")
        assert a.id == b.id != c.id
        assert len(bureau.declarations(UNIT)) == 2

    def test_nothing_happens_without_tick(self) -> None:
        """A declaration stays submitted until ticked, then processing, then concluded."""
        bureau, _, _ = _bureau()
        d = bureau.submit(
            UNIT, DeclarationKind.WORKERS, _payload(example().workers[0]), idempotency_key="k"
        )
        assert bureau.status(d.id).state is DeclarationState.SUBMITTED
        assert [p.id for p in bureau.pending_declarations(UNIT)] == [d.id]
        bureau.tick()
        assert bureau.status(d.id).state is DeclarationState.PROCESSING
        bureau.tick()
        assert bureau.status(d.id).state is DeclarationState.SUCCEEDED
        assert bureau.pending_declarations(UNIT) == []

    def test_injected_clock_delays_conclusion(self) -> None:
        """With a processing delay, ticks before the clock reaches it conclude nothing."""
        bureau, clock, _ = _bureau(_dt.timedelta(days=3))
        d = bureau.submit(
            UNIT, DeclarationKind.WORKERS, _payload(example().workers[0]), idempotency_key="k"
        )
        bureau.tick()
        bureau.tick()
        assert bureau.status(d.id).state is DeclarationState.PROCESSING
        clock.advance(days=3)
        bureau.tick()
        assert bureau.status(d.id).state is DeclarationState.SUCCEEDED

    def test_other_employer_fails(self) -> None:
        """A person belonging to another employer at the bureau fails."""
        bureau, _, keys = _bureau()
        person = bureau.person_by_id(keys[0])
        assert person is not None
        bureau.transfer_person(person.person_no, "10099999")
        status = _run(bureau, example().workers[0])
        assert status.state is DeclarationState.FAILED
        assert status.outcomes[0].code == "bureau.other-employer"

    def test_id_held_by_other_person_fails(self) -> None:
        """An identity number the bureau holds for another person fails."""
        bureau, _, _ = _bureau()
        w0, w1 = example().workers[:2]
        clash = attrs.evolve(w1, id_number=w0.id_number)
        status = _run(bureau, clash)
        assert status.outcomes[0].code == "bureau.id-held-by-other"
        assert w0.id_number not in status.outcomes[0].message

    def test_settled_account_fails(self) -> None:
        """A settled account that was never un-settled fails."""
        bureau, _, keys = _bureau()
        person = bureau.person_by_id(keys[0])
        assert person is not None
        bureau.settle_account(person.person_no)
        assert _run(bureau, example().workers[0]).outcomes[0].code == "bureau.account-settled"
        bureau.unsettle_account(person.person_no)
        assert _run(bureau, example().workers[0], key="k2").state is DeclarationState.SUCCEEDED

    def test_name_change_fails(self) -> None:
        """A name differing from the bureau's record fails (window only)."""
        bureau, _, _ = _bureau()
        status = _run(bureau, attrs.evolve(example().workers[0], name="张三"))
        assert status.outcomes[0].code == "bureau.window-only"

    def test_rule_errors_fail(self) -> None:
        """The bureau runs the rule set: an incomplete worker fails."""
        bureau, _, _ = _bureau()
        status = _run(bureau, attrs.evolve(example().workers[0], account=None))
        assert status.outcomes[0].code == "bureau.rules"
        assert "collection.incomplete" in status.outcomes[0].message

    def test_partial_success_and_records_updated(self) -> None:
        """One good and one bad worker: partially succeeded; the good one's records change."""
        bureau, _, keys = _bureau()
        w0, w1 = example().workers[:2]
        status = _run(bureau, w0, attrs.evolve(w1, name="改名"))
        assert status.state is DeclarationState.PARTIALLY_SUCCEEDED
        assert [o.succeeded for o in status.outcomes] == [True, False]
        synced = {p["id_number"]: p for p in bureau.sync(UNIT).persons}
        assert len(synced[keys[0]]["history"]) == 2  # the red-book period is now known

    def test_unknown_declaration(self) -> None:
        """Asking for a declaration that does not exist raises."""
        bureau, _, _ = _bureau()
        with pytest.raises(UnknownDeclaration):
            bureau.status("D999999")


class TestLocalTransport:
    def test_opened_through_host(self) -> None:
        """local: opens through the plugin host, on the given bureau."""
        bureau, _, _ = _bureau()
        t = PluginHost(load_entry_points=False).open_transport("local:", bureau=bureau)
        assert isinstance(t, LocalTransport)
        assert t.bureau is bureau
        assert t.sync(UNIT).unit_no == UNIT

    def test_payload_is_copied(self) -> None:
        """Changing a payload after submitting it does not change the bureau's copy."""
        bureau, _, _ = _bureau()
        t = LocalTransport(bureau)
        payload = _payload(example().workers[0])
        d = t.submit(UNIT, DeclarationKind.WORKERS, payload, idempotency_key="k")
        payload["workers"].clear()
        bureau.settle()
        assert len(t.status(d.id).outcomes) == 1
        assert t.status(d.id).state is DeclarationState.SUCCEEDED

    def test_bad_url(self) -> None:
        """local: takes no path."""
        from pension_collect.errors import PensionCollectError

        with pytest.raises(PensionCollectError):
            PluginHost(load_entry_points=False).open_transport("local:elsewhere")
