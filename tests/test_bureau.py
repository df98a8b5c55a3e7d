"""The reference bureau and the local: transport."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import Person, ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.model import BureauRecord, Worker
from pension_collect.plugins import PluginHost
from pension_collect.ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationState,
    UnknownDeclaration,
)
from pension_collect.rules import check_worker
from pension_collect.rules.weihai2013 import default_pack
from workflow_fixtures import Clock, example, keys_of, make_setup, sqlite_url, to_collecting

CONV = make_converter()
UNIT = "10012345"


#: The state the bureaus of the running test keep (set by the ``state`` fixture):
#: ``kind`` is "memory" or "sqlite", ``dir`` the test's folder, ``opened`` the
#: bureaus to close after it.
_STATE: dict[str, Any] = {"kind": "memory", "dir": None, "opened": []}


@pytest.fixture(params=["memory", "sqlite"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs the test on a memory bureau and on one in a SQLite file in tmp_path."""
    _STATE.update(kind=request.param, dir=tmp_path, opened=[])
    yield request.param
    for bureau in _STATE["opened"]:
        bureau.close()
    _STATE.update(kind="memory", dir=None, opened=[])


def _bureau(delay: _dt.timedelta = _dt.timedelta(0)) -> tuple[ReferenceBureau, Clock, list[str]]:
    clock = Clock()
    dossier = example()
    if _STATE["kind"] == "sqlite":
        n = len(_STATE["opened"])
        bureau = ReferenceBureau.open(
            _STATE["dir"] / f"bureau{n}",
            clock=clock,
            as_of=dossier.as_of,
            processing_delay=delay,
            auto_advance=False,
        )
        _STATE["opened"].append(bureau)
        assert bureau.path is not None
        assert bureau.path.is_file()
    else:
        bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of, processing_delay=delay)
        assert bureau.path is None
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


@pytest.mark.usefixtures("state")
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

    def test_seeding_again_registers_no_second_person(self) -> None:
        """Seeding the same dossier again (as ``bureau seed --reset-password``
        is run to lift a lock) updates the persons it holds: a worker without a
        person number is not registered a second time under a new number, so
        no identity number is held by two persons."""
        bureau, _, keys = _bureau()
        before = {no: p.record.id_number for no, p in bureau.persons.items()}
        assert len(before) == len(keys)
        bureau.seed_dossier(example())
        after = {no: p.record.id_number for no, p in bureau.persons.items()}
        assert after == before

    @pytest.mark.parametrize("workers", [None, 5, "a long text", {"key": "k"}])
    def test_workers_not_a_list_fails_and_blocks_nothing(self, workers: object) -> None:
        """A workers declaration whose ``workers`` is not a list (a client's bug,
        or a hostile body over HTTP) concludes failed with no outcomes: it never
        raises while advancing (which answered 500 for its status and the
        employer's pending list on every read), and a text is not taken as one
        worker per character."""
        bureau, _, _ = _bureau()
        bad = bureau.submit(
            UNIT, DeclarationKind.WORKERS, {"workers": workers}, idempotency_key="bad"
        )
        good = bureau.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="ok")
        bureau.settle()
        concluded = bureau.status(bad.id)
        assert concluded.state is DeclarationState.FAILED
        assert concluded.outcomes == ()
        assert bureau.status(good.id).state is DeclarationState.FAILED
        assert bureau.pending_declarations(UNIT) == []

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


@pytest.mark.usefixtures("state")
class TestComparison:
    """Issue 9 finding 5: the bureau compares identity and name as the rules do
    (identity.canonical_id, identity.canonical_name)."""

    @pytest.mark.parametrize("name", ["张伟 ", "\u3000张伟", "张\u3000伟", "\u200b张伟"])
    def test_name_spelling_on_the_workers_side_is_no_change(self, name: str) -> None:
        """A trailing/ideographic/padding space in the declared name is the bureau's name."""
        bureau, _, _ = _bureau()
        status = _run(bureau, attrs.evolve(example().workers[0], name=name))
        assert status.state is DeclarationState.SUCCEEDED, status.outcomes

    @pytest.mark.parametrize("held", ["张伟\u3000", " 张伟", "张　伟"])
    def test_name_spelling_on_the_bureaus_side_is_no_change(self, held: str) -> None:
        """The bureau holding the name with spaces accepts the plain spelling."""
        bureau, _, keys = _bureau()
        person = _person(bureau, keys[0])
        bureau.correct_identity(person.person_no, name=held)
        status = _run(bureau, example().workers[0])
        assert status.state is DeclarationState.SUCCEEDED, status.outcomes

    def test_middle_dot_variants_are_one_name(self) -> None:
        """A minority name with "·" at the bureau and "•" declared is the same name."""
        bureau, _, keys = _bureau()
        person = _person(bureau, keys[0])
        bureau.correct_identity(person.person_no, name="买买提·艾力")
        status = _run(bureau, attrs.evolve(example().workers[0], name="买买提•艾力"))
        assert status.state is DeclarationState.SUCCEEDED, status.outcomes

    def test_full_width_identity_number_at_the_bureau(self) -> None:
        """The bureau holding the number in full-width digits finds and accepts the worker."""
        bureau, _, keys = _bureau()
        person = _person(bureau, keys[0])
        full_width = "".join(chr(ord(c) + 0xFEE0) for c in keys[0])
        bureau.correct_identity(person.person_no, id_number=full_width)
        found = bureau.person_by_id(keys[0])
        assert found is not None
        assert found.person_no == person.person_no
        assert found.record.id_number == full_width
        status = _run(bureau, example().workers[0])
        assert status.state is DeclarationState.SUCCEEDED, status.outcomes

    def test_another_name_still_fails(self) -> None:
        """Another name, however spaced, is still a window-only change."""
        bureau, _, _ = _bureau()
        status = _run(bureau, attrs.evolve(example().workers[0], name=" 张卫\u3000"))
        assert status.outcomes[0].code == "bureau.window-only"


def _person(bureau: ReferenceBureau, key: str) -> Person:
    person = bureau.person_by_id(key)
    assert person is not None
    return person


def _synced(bureau: ReferenceBureau, key: str) -> dict[str, Any]:
    (record,) = [p for p in bureau.sync(UNIT).persons if p["id_number"] == key]
    return record


@pytest.mark.usefixtures("state")
class TestSettledAccount:
    """Issue 9 finding 6 ([P3.4e]): a settled account (养老账户已结清) shows no
    account years until the window un-settles it."""

    def test_sync_shows_no_account_years_until_unsettled(self) -> None:
        """Settled: the sync's account is empty (the rest of the record is there);
        un-settled at the window: the years are back."""
        bureau, _, keys = _bureau()
        years = [y["year"] for y in _synced(bureau, keys[1])["account"]]
        assert years == list(range(1996, 2013))
        person = _person(bureau, keys[1])
        bureau.settle_account(person.person_no)
        shown = _synced(bureau, keys[1])
        assert shown["account"] == []
        assert len(shown["history"]) == 2
        assert shown["name"] == example().workers[1].name
        assert [y["year"] for y in _synced(bureau, keys[0])["account"]] == years  # others unchanged
        bureau.unsettle_account(person.person_no)
        assert [y["year"] for y in _synced(bureau, keys[1])["account"]] == years

    def test_synced_record_makes_the_rules_ask_for_unsettling(self) -> None:
        """The settled sync, as the bureau block of the worker, is account.not-in-bureau
        for every handbook year up to 2011 (not 2012): the save is refused."""
        bureau, _, keys = _bureau()
        bureau.settle_account(_person(bureau, keys[1]).person_no)
        record = CONV.structure(_synced(bureau, keys[1]), BureauRecord)
        worker = attrs.evolve(example().workers[1], bureau=record)
        findings = check_worker(worker, pack=default_pack(), as_of=example().as_of)
        flagged = [(f.code, f.path) for f in findings if f.is_error]
        assert flagged == [
            ("account.not-in-bureau", f"$.workers[0].account[{i}]") for i in range(16)
        ]  # 1996..2011

    def test_only_years_after_the_print_cut_off_are_accepted(self) -> None:
        """A settled account and a handbook with 2012 only: no reason to un-settle,
        the bureau accepts; the settled account keeps its own years."""
        bureau, _, keys = _bureau()
        person = _person(bureau, keys[1])
        bureau.settle_account(person.person_no)
        w = example().workers[1]
        only_2012 = attrs.evolve(w, account=tuple(y for y in w.account or () if y.year == 2012))
        status = _run(bureau, example().workers[0], only_2012)
        assert [o.code for o in status.outcomes] == [None, None], status.outcomes
        bureau.unsettle_account(person.person_no)
        years = [y["year"] for y in _synced(bureau, keys[1])["account"]]
        assert years == list(range(1996, 2013))

    def test_year_2011_still_needs_unsettling(self) -> None:
        """The other side of the cut-off: a handbook year 2011 fails at a settled account."""
        bureau, _, keys = _bureau()
        bureau.settle_account(_person(bureau, keys[1]).person_no)
        w = example().workers[1]
        only_2011 = attrs.evolve(w, account=tuple(y for y in w.account or () if y.year == 2011))
        status = _run(bureau, example().workers[0], only_2011)
        assert status.outcomes[1].code == "bureau.account-settled"

    def test_nothing_collected_keeps_the_bureaus_account(self) -> None:
        """An account collected empty (handbook pages lost): the bureau's data stand."""
        bureau, _, keys = _bureau()
        status = _run(bureau, attrs.evolve(example().workers[0], account=()))
        assert status.state is DeclarationState.SUCCEEDED, status.outcomes
        years = [y["year"] for y in _synced(bureau, keys[0])["account"]]
        assert years == list(range(1996, 2013))

    @pytest.mark.parametrize("store", ["memory", "sqlite"])
    def test_caught_at_save_then_collected_after_the_window(
        self, store: str, tmp_path: Path
    ) -> None:
        """In the workflow: the settled worker's save is refused with
        account.not-in-bureau (not only after submission); after the window
        un-settles the account, a new sync and verification form, it is saved."""
        from pension_collect.workflow import RuleErrors, WorkerStatus

        s = make_setup("memory:" if store == "memory" else sqlite_url(tmp_path))
        person = _person(s.bureau, s.keys[1])
        s.bureau.settle_account(person.person_no)
        to_collecting(s)
        s.session.save_worker(s.workers[0])
        with pytest.raises(RuleErrors) as info:
            s.session.save_worker(s.workers[1])
        assert {f.code for f in info.value.errors} == {"account.not-in-bureau"}
        s.bureau.unsettle_account(person.person_no)
        s.session.record_window_visit(s.keys[1], "account un-settled")
        s.session.sync()
        s.session.print_verification_forms([s.keys[1]])
        saved = s.session.save_worker(s.workers[1])
        assert saved.status is WorkerStatus.COLLECTED


@pytest.mark.usefixtures("state")
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
        """local: names a folder, never a host; a folder and bureau= together are refused."""
        from pension_collect.errors import PensionCollectError

        host = PluginHost(load_entry_points=False)
        with pytest.raises(PensionCollectError, match="not a host"):
            host.open_transport("local://bureau.example/data")
        bureau, _, _ = _bureau()
        with pytest.raises(PensionCollectError, match="not both"):
            host.open_transport("local:elsewhere", bureau=bureau)
        with pytest.raises(PensionCollectError, match="only the bureau= option"):
            host.open_transport("local:", timeout=3)
        assert not Path("elsewhere").exists()


class TestLocalDirectory:
    """``local:DIR``: the bureau whose state is in DIR/bureau.db, auto-advancing."""

    def test_relative_and_absolute_folders_reach_one_bureau(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A bureau seeded in DIR is what local:DIR, local:/abs/DIR and local:///abs/DIR
        sync; the transport closes the bureau it opened; a declaration advances when read."""
        with ReferenceBureau.open(tmp_path / "data") as seeded:
            seeded.seed_dossier(example())
        monkeypatch.chdir(tmp_path)
        host = PluginHost(load_entry_points=False)
        for url in ("local:data", f"local:{tmp_path / 'data'}", f"local://{tmp_path / 'data'}"):
            t = host.open_transport(url)
            assert isinstance(t, LocalTransport)
            assert t.bureau.path is not None
            assert t.bureau.path.resolve() == (tmp_path / "data" / "bureau.db").resolve()
            assert sorted(p["id_number"] for p in t.sync(UNIT).persons) == sorted(
                keys_of(example())
            )
            t.close()
            with pytest.raises(BureauError, match="closed"):
                t.bureau.sync(UNIT)
        t = host.open_transport("local:data")
        d = t.submit(
            UNIT, DeclarationKind.WORKERS, _payload(example().workers[0]), idempotency_key="k"
        )
        assert d.state is DeclarationState.SUBMITTED
        assert t.status(d.id, unit_no=UNIT).state is DeclarationState.PROCESSING
        assert t.status(d.id, unit_no=UNIT).state is DeclarationState.SUCCEEDED
        t.close()

    def test_given_bureau_is_not_closed(self) -> None:
        """local: with bureau= leaves the caller's bureau open at close()."""
        bureau = ReferenceBureau()
        t = LocalTransport.open("local:", bureau=bureau)
        t.close()
        assert bureau.sync(UNIT).employer is None
