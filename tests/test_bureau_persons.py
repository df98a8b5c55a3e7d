"""One person per identity number at the reference bureau: ``add_person`` of a
number the bureau holds under another person number, a dossier seeded with a
worker whose person number is not the holder's, and the window's identity
correction to another person's number are each refused with
``IdentityNumberHeld`` (the number masked in the message) and change nothing;
the holder's own person number replaces its record, and a dossier seeded
again registers nobody twice. Over the memory and the SQLite state, the
``pension-collect bureau seed`` command and the sandbox window service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from bureau_fixtures import example
from pension_collect.adapters.reference_bureau import IdentityNumberHeld, ReferenceBureau
from pension_collect.cli import main
from pension_collect.dossier import loads
from pension_collect.model import BureauRecord, Dossier
from pension_collect.ports.transport import BureauError

HELD = "371002196503021239"  # the example's first worker (person 37100200001)
MASKED = "371002********1239"
UNIT = "10012345"


def _dossier(data: dict[str, Any]) -> Dossier:
    return loads(json.dumps(data, ensure_ascii=False))


@pytest.fixture(params=["memory", "sqlite"])
def bureau(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReferenceBureau]:
    made = ReferenceBureau() if request.param == "memory" else ReferenceBureau.open(tmp_path)
    made.seed_dossier(_dossier(example()))
    yield made
    made.close()


def _snapshot(bureau: ReferenceBureau) -> dict[str, tuple[str | None, str | None, str | None]]:
    return {no: (p.unit_no, p.record.id_number, p.record.name) for no, p in bureau.persons.items()}


def _refused(exc: pytest.ExceptionInfo[IdentityNumberHeld]) -> str:
    text = str(exc.value)
    assert isinstance(exc.value, BureauError)
    assert isinstance(exc.value, ValueError)
    assert exc.value.code == "bureau.id-held-by-other"
    assert HELD not in text  # never the number itself
    assert MASKED in text
    assert "person number" in text
    assert "人员编号" in text
    return text


@pytest.mark.parametrize(
    "number", [HELD, HELD.lower(), " 371002 196503021239", "371002650302123"], ids=repr
)
def test_adding_a_held_identity_number_again_is_refused(
    bureau: ReferenceBureau, number: str
) -> None:
    """Without a person number, or with another one, in any form of the number
    (a 15-digit legacy form too): refused, nothing held."""
    before = _snapshot(bureau)
    for person_no in (None, "R-NEW-1"):
        with pytest.raises(IdentityNumberHeld) as refused:
            bureau.add_person(
                BureauRecord(id_number=number, name="李四"), unit_no=UNIT, person_no=person_no
            )
        if number == HELD:
            _refused(refused)
    assert _snapshot(bureau) == before
    holder = bureau.person_by_id(HELD)
    assert holder is not None
    assert holder.person_no == "37100200001"


def test_the_holders_person_number_replaces_its_record(bureau: ReferenceBureau) -> None:
    count = len(bureau.persons)
    person = bureau.add_person(
        BureauRecord(id_number=HELD, name="张三丰"), unit_no=UNIT, person_no="37100200001"
    )
    assert person.person_no == "37100200001"
    assert len(bureau.persons) == count
    assert bureau.persons["37100200001"].record.name == "张三丰"
    # a record carrying the holder's person number is the same
    bureau.add_person(
        BureauRecord(id_number=HELD, name="张三", person_no="37100200001"), unit_no=UNIT
    )
    assert len(bureau.persons) == count


def test_a_new_identity_number_is_a_new_person(bureau: ReferenceBureau) -> None:
    count = len(bureau.persons)
    person = bureau.add_person(BureauRecord(id_number="110101199003074477"), unit_no=UNIT)
    assert person.person_no not in ("37100200001", "37100200002")
    assert len(bureau.persons) == count + 1


def test_seeding_again_still_reuses_the_persons(bureau: ReferenceBureau) -> None:
    before = _snapshot(bureau)
    bureau.seed_dossier(_dossier(example()))
    assert _snapshot(bureau) == before


def test_a_dossier_giving_a_held_number_another_person_number(bureau: ReferenceBureau) -> None:
    """The second worker's identity number is held under 37100200002: a
    dossier naming another person number for it is refused, its position named,
    and nothing of it held (not even its first worker's or employer's change)."""
    data = example()
    data["employer"]["name"] = "another name"
    data["workers"][0]["name"] = "张三丰"
    data["workers"][1]["person_no"] = "R-OTHER"
    data["workers"][1]["id_number"] = HELD
    data["workers"][1]["bureau"]["id_number"] = HELD
    before = _snapshot(bureau)
    employer_before = bureau.employers[UNIT]
    with pytest.raises(IdentityNumberHeld) as refused:
        bureau.seed_dossier(_dossier(data))
    text = _refused(refused)
    assert "worker 2 of the dossier" in text
    assert "第 2 名职工" in text
    assert _snapshot(bureau) == before
    assert bureau.employers[UNIT] == employer_before


def test_a_dossier_holding_one_number_twice_under_two_person_numbers() -> None:
    bureau = ReferenceBureau()
    data = example()
    second = dict(data["workers"][0], person_no="R-OTHER")
    data["workers"] = [data["workers"][0], second]
    with pytest.raises(IdentityNumberHeld) as refused:
        bureau.seed_dossier(_dossier(data))
    assert "worker 2 of the dossier" in _refused(refused)
    assert len(bureau.persons) == 0


def test_the_window_cannot_give_a_person_anothers_number(bureau: ReferenceBureau) -> None:
    before = _snapshot(bureau)
    with pytest.raises(IdentityNumberHeld) as refused:
        bureau.correct_identity("37100200002", id_number=HELD)
    _refused(refused)
    assert _snapshot(bureau) == before
    # its own number, in another form, is no clash
    bureau.correct_identity("37100200001", id_number=HELD.lower())
    holder = bureau.person_by_id(HELD)
    assert holder is not None
    assert holder.person_no == "37100200001"


def test_bureau_seed_refuses_the_dossier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PENSION_COLLECT_BUREAU_WINDOW_TOKEN", raising=False)
    data = example()
    (tmp_path / "first.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    data["workers"][1]["person_no"] = "R-OTHER"
    data["workers"][1]["id_number"] = HELD
    data["workers"][1]["bureau"]["id_number"] = HELD
    clash = tmp_path / "clash.json"
    clash.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    folder = str(tmp_path / "d")
    assert main(["bureau", "seed", "--data", folder, str(tmp_path / "first.json")]) == 0
    capsys.readouterr()
    assert main(["bureau", "seed", "--data", folder, str(clash)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert str(clash) in err
    assert "worker 2 of the dossier" in err
    assert MASKED in err
    assert HELD not in err
    with ReferenceBureau.open(folder) as bureau:
        assert len(bureau.persons) == 3
        assert attrs.asdict(bureau.persons["37100200002"].record)["id_number"] != HELD
