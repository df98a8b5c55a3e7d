"""The reader's fast path agrees with the detailed cattrs converter.

Reading structures a document with functions generated from the model
(``pension_collect._fastpath``) and falls back to the detailed converter,
which names every problem, when they refuse. These tests hold the two to the
same answer: on valid documents both build the same dossier; on corrupted
ones the fast path accepts exactly what the detailed converter accepts.
"""

from __future__ import annotations

import copy
import gc
import json
import linecache
import re
import sys
import traceback
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pension_collect
from pension_collect import dossier as fmt
from pension_collect._fastpath import CACHE_LIMIT, FastPath
from pension_collect._gc import gc_paused
from pension_collect.errors import DossierFormatError
from pension_collect.model import (
    AccountYear,
    BureauRecord,
    Dossier,
    Employer,
    Segment,
    Worker,
    YearMonth,
    _money_from_str,
    _month,
    _name_fields,
)
from pension_collect.testing import strategies as pst

EXAMPLE = Path(pension_collect.__file__).parent / "data" / "example-dossier.json"
RECORDS = (Employer, Segment, AccountYear, BureauRecord, Worker, Dossier)
FAST = FastPath(RECORDS)
SETATTR = FastPath(RECORDS, switch_class=False)


def body_of(dossier: Dossier) -> dict[str, Any]:
    """The JSON body (without format/version) of a dossier, as json.loads gives it."""
    data: dict[str, Any] = json.loads(fmt.dumps(dossier))
    del data["format"], data["version"]
    return data


def fast(body: Any, path: FastPath = FAST) -> Dossier | None:
    """What the fast path makes of ``body``; ``None`` when it refuses it."""
    try:
        result: Dossier = path.structure(Dossier)(copy.deepcopy(body))
    except Exception:
        return None
    return result


def detailed(body: Any) -> Dossier | None:
    """What the detailed converter makes of ``body``; ``None`` when it refuses it."""
    try:
        result: Dossier = fmt._DETAILED.structure(copy.deepcopy(body), Dossier)
    except Exception:
        return None
    return result


def exact(dossier: Dossier) -> str:
    """Every field of every record, with its Python spelling (``Decimal('1.0')``
    and ``Decimal('1.00')`` are equal but not the same amount as written)."""
    return repr(attrs.asdict(dossier, recurse=True))


def records(value: Any) -> list[Any]:
    """Every attrs instance inside ``value``."""
    if attrs.has(type(value)):
        inner = [records(getattr(value, f.name)) for f in attrs.fields(type(value))]
        return [value, *[r for rs in inner for r in rs]]
    if isinstance(value, tuple):
        return [r for item in value for r in records(item)]
    return []


# -- valid documents -----------------------------------------------------------


@given(pst.dossiers())
def test_valid_documents_give_the_same_dossier(dossier: Dossier) -> None:
    """Both paths build a dossier equal to the one written, field for field."""
    body = body_of(dossier)
    by_fast, by_detailed = fast(body), detailed(body)
    assert by_fast is not None, "the fast path refused a valid document"
    assert by_detailed is not None
    assert by_fast == by_detailed == dossier
    assert exact(by_fast) == exact(by_detailed)
    assert hash(by_fast) == hash(dossier)


@given(pst.dossiers(max_workers=2))
def test_instances_are_the_frozen_classes(dossier: Dossier) -> None:
    """What the fast path builds is an instance of the model's class, still frozen."""
    built = fast(body_of(dossier))
    assert built is not None
    for record in records(built):
        assert type(record) in RECORDS or type(record).__name__ == "YearMonth"
        name = attrs.fields(type(record))[0].name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(record, name, getattr(record, name))


@given(pst.dossiers(max_workers=2))
def test_setattr_construction_gives_the_same(dossier: Dossier) -> None:
    """The fallback construction (for an attrs with another slot layout) agrees."""
    body = body_of(dossier)
    by_setattr, by_switch = fast(body, SETATTR), fast(body)
    assert by_setattr is not None
    assert by_switch is not None
    assert exact(by_setattr) == exact(by_switch)


@given(pst.dossiers(max_workers=2))
def test_what_it_builds_the_constructors_keep_as_it_is(dossier: Dossier) -> None:
    """The fast path calls no converter: every value it sets already has its
    field's type, so the model's constructor, given the same values, accepts
    them and keeps each one as it is (its converters' checks hold)."""
    built = fast(body_of(dossier))
    assert built is not None
    for record in records(built):
        if type(record) is YearMonth:
            continue
        values = {f.name: getattr(record, f.name) for f in attrs.fields(type(record))}
        again = type(record)(**values)
        for name, value in values.items():
            assert getattr(again, name) is value, f"{type(record).__name__}.{name}"


@attrs.frozen(kw_only=True, weakref_slot=False)
class _Stripped:
    name: str = attrs.field(converter=str.strip)


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=_name_fields)
class _Mismatched:
    year: int = attrs.field(converter=_month)


@pytest.mark.parametrize("cls", [_Stripped, _Mismatched])
def test_a_converter_it_does_not_stand_for_is_refused(cls: type[Any]) -> None:
    """A field whose converter is not its type's shape converter stops the
    generation: the fast path would skip a conversion the model makes."""
    with pytest.raises(TypeError, match="shape converter"):
        FastPath((cls,))


def test_the_class_switch_is_used_here() -> None:
    """On this attrs the twin-class construction is available (the speed depends on it)."""
    source = FAST.structure(AccountYear).__code__.co_names
    assert "__class__" in source
    assert (
        "_setattr" in FastPath(RECORDS, switch_class=False).structure(AccountYear).__code__.co_names
    )


# -- corrupted documents ---------------------------------------------------------

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "0", "1.5", "12.345", "1e2", "2013-07", "2013-13", "male"]),
    st.sampled_from(["1996-04-01", "0.03", "deemed", "red_book", "institution", "local"]),
    st.text(max_size=6),
    st.just([]),
    st.just({}),
)


def _locations(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_locations(item, (*here, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_locations(item, (*here, i)))
    return out


def _at(value: Any, where: tuple[Any, ...]) -> Any:
    for step in where:
        value = value[step]
    return value


@st.composite
def corrupted(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one place replaced, removed or given an extra key."""
    body = body_of(draw(pst.dossiers(max_workers=2)))
    where = draw(st.sampled_from(_locations(body)[1:]))
    parent, last = _at(body, where[:-1]), where[-1]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace":
        parent[last] = draw(_JUNK)
    elif action == "remove":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][draw(st.sampled_from(["extra", "name", "year", "start"]))] = draw(_JUNK)
    else:
        parent[last] = draw(_JUNK)
    return body


@given(corrupted())
def test_corrupted_documents_get_the_same_answer(body: dict[str, Any]) -> None:
    """The fast path accepts exactly what the detailed converter accepts."""
    by_fast, by_detailed = fast(body), detailed(body)
    assert (by_fast is None) == (by_detailed is None)
    if by_fast is not None and by_detailed is not None:
        assert exact(by_fast) == exact(by_detailed)


@st.composite
def mirrored(draw: st.DrawFn) -> dict[str, Any]:
    """A worker whose bureau block repeats its account or history, maybe with a change."""
    worker = draw(pst.workers(max_account_years=3, max_segments=3))
    body = body_of(Dossier(employer=draw(pst.employers()), workers=(worker,)))
    data = body["workers"][0]
    key = draw(st.sampled_from(["account", "history"]))
    data.setdefault(key, [])
    bureau = data.setdefault("bureau", {})
    bureau[key] = copy.deepcopy(data[key])
    if bureau[key] and draw(st.booleans()):
        where = draw(st.sampled_from(_locations(bureau[key])[1:]))
        _at(bureau[key], where[:-1])[where[-1]] = draw(
            _JUNK | st.sampled_from([1.0, True, 12.0, 2000.0])
        )
    return body


@given(mirrored())
def test_a_repeated_list_is_shared_only_when_it_is_the_same(body: dict[str, Any]) -> None:
    """A bureau block equal to the collected data shares its records; one that only
    compares equal in Python (``12.0 == 12``, ``True == 1``) is not taken for it."""
    by_fast, by_detailed = fast(body), detailed(body)
    assert (by_fast is None) == (by_detailed is None)
    if by_fast is not None and by_detailed is not None:
        assert exact(by_fast) == exact(by_detailed)


def test_the_bureau_account_shares_the_collected_records() -> None:
    """A sync's repeat of the account is one tuple in memory, not two."""
    data = json.loads(EXAMPLE.read_text("utf-8"))
    worker = next(w for w in data["workers"] if w.get("account"))
    worker.setdefault("bureau", {})["account"] = copy.deepcopy(worker["account"])
    loaded = fmt.loads(json.dumps(data))
    index = data["workers"].index(worker)
    read = loaded.workers[index]
    assert read.bureau is not None
    assert read.bureau.account is read.account


def test_a_float_in_a_repeated_account_is_reported() -> None:
    """``"months": 12.0`` in the bureau's copy compares equal to 12 but is an error."""
    data = json.loads(EXAMPLE.read_text("utf-8"))
    index, worker = next((i, w) for i, w in enumerate(data["workers"]) if w.get("account"))
    copied = copy.deepcopy(worker["account"])
    copied[0]["months"] = float(copied[0]["months"])
    worker.setdefault("bureau", {})["account"] = copied
    with pytest.raises(DossierFormatError) as info:
        fmt.loads(json.dumps(data))
    assert [p.path for p in info.value.problems] == [f"$.workers[{index}].bureau.account[0].months"]


# -- generated source in tracebacks ------------------------------------------------


def _traceback_of(call: Any, *args: Any) -> str:
    try:
        call(*args)
    except Exception as exc:
        return "".join(traceback.format_exception(exc))
    raise AssertionError("expected an exception")


def test_a_traceback_shows_the_generated_source() -> None:
    """A traceback through a generated function shows its file name and line."""
    year = {"year": "1996", "months": 12}
    text = _traceback_of(FAST.structure(AccountYear), year)
    assert 'File "<pension_collect generated structure_AccountYear' in text
    assert "raise TypeError('wrong type')" in text
    worker = {"id_number": "1", "name": "x", "first_work": "1990-01", "history": [{}]}
    nested = _traceback_of(FAST.structure(Worker), worker)
    for function in ("structure_Worker", "tuple_of_Segment", "structure_Segment"):
        assert f"<pension_collect generated {function}" in nested
    assert "f_history = tuple_of_Segment(v)" in nested


def test_each_generated_source_has_its_own_name() -> None:
    """Two fast paths with different code register two names, each with its lines."""
    switched = FAST.structure(AccountYear).__code__.co_filename
    set_one_by_one = SETATTR.structure(AccountYear).__code__.co_filename
    assert switched != set_one_by_one
    assert any("o.__class__ = " in line for line in linecache.getlines(switched))
    assert any("_setattr(o, " in line for line in linecache.getlines(set_one_by_one))
    assert not any("o.__class__ = " in line for line in linecache.getlines(set_one_by_one))
    again = FastPath(RECORDS).structure(AccountYear).__code__.co_filename
    assert again == switched  # the same source: the same entry


# -- leaves ----------------------------------------------------------------------


def _canonical_amount(text: str) -> bool:
    """The format's rule for an amount, stated through Decimal itself: the text
    is Decimal's own spelling of a finite value with at most two places."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return False
    exponent = value.as_tuple().exponent
    return (
        str(value) == text
        and value.is_finite()
        and isinstance(exponent, int)
        and -2 <= exponent <= 0
    )


_AMOUNTISH = st.from_regex(re.compile(r"[-+ 0-9.eE_１٣]{0,8}"), fullmatch=True)


@given(_AMOUNTISH | st.text(max_size=8) | st.decimals(places=2, allow_nan=False).map(str))
def test_amount_spelling_is_decimals_own(text: str) -> None:
    """The amount pattern accepts exactly Decimal's canonical two-place spelling."""
    try:
        parsed = _money_from_str(text)
    except ValueError:
        assert not _canonical_amount(text)
    else:
        assert _canonical_amount(text)
        assert str(parsed) == text


def test_leaf_caches_are_bounded() -> None:
    """Distinct amounts beyond the cache limit do not grow the cache past it."""
    path = FastPath(RECORDS)
    year = path.structure(AccountYear)
    for i in range(CACHE_LIMIT + 500):
        amount = f"{i}.{i % 100:02d}"
        built = year(
            {
                "year": 2000,
                "months": 12,
                "base": amount,
                "personal": "1.00",
                "employer_part": "2.00",
                "interest": "0.00",
                "balance": amount,
            }
        )
        assert built.base == Decimal(amount)
    assert 0 < len(path._money) <= CACHE_LIMIT


# -- the collector -------------------------------------------------------------------


class _Node:
    """A tracked object the collector knows (slotted instances are tracked)."""

    __slots__ = ("link",)

    def __init__(self) -> None:
        self.link: object = None


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="3.14's incremental collector has other generations"
)
def test_bulk_work_leaves_its_objects_in_the_oldest_generation() -> None:
    """After a pause, what it allocated is old: the next young collection does
    not traverse it, and the collector is on again."""
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
        made = [_Node() for _ in range(20_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.get_count()[0] < 1000
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(node) in oldest for node in made[::1000])


def test_a_frozen_process_keeps_its_frozen_objects() -> None:
    """A process that froze objects (pre-fork servers) finds them still frozen."""
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            _made = [_Node() for _ in range(1000)]
        assert gc.get_freeze_count() >= frozen > 0
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_disabled_collector_stays_disabled() -> None:
    """Reading in a program that runs without the collector leaves it off."""
    gc.disable()
    try:
        fmt.loads(EXAMPLE.read_bytes())
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- unstructuring ---------------------------------------------------------------


def _cattrs_unstructure() -> Any:
    """The dossier converter with cattrs' own omit-if-default unstructure
    functions (what the generated ones stand for)."""
    from cattrs.gen import make_dict_unstructure_fn

    conv = fmt.make_converter()
    for cls in RECORDS:
        conv.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True)
        )
    return conv


CATTRS = _cattrs_unstructure()


@given(pst.dossiers())
def test_generated_unstructure_gives_what_cattrs_gives(dossier: Dossier) -> None:
    conv = fmt.make_converter()
    ours = conv.unstructure(dossier, Dossier)
    theirs = CATTRS.unstructure(dossier, Dossier)
    assert ours == theirs
    # the same text: key order, list (not tuple), every leaf's type
    assert json.dumps(ours, ensure_ascii=False) == json.dumps(theirs, ensure_ascii=False)
    for worker in dossier.workers:
        assert conv.unstructure(worker, Worker) == CATTRS.unstructure(worker, Worker)


def test_unstructure_writes_defaults_and_zero_signs_as_cattrs() -> None:
    """A field equal to its default is left out, a non-default one written; an
    amount of -0.00 keeps its sign after 0.00 was written (zero is never cached),
    equal amounts of other spellings write alike."""
    conv = fmt.make_converter()
    year = {"year": 2000, "months": 12, "interest": "0.00", "balance": "1.5"}
    a = AccountYear(**year, base="0.00", personal="-0.00", employer_part="3")  # type: ignore[arg-type]
    b = AccountYear(**year, base="-0.00", personal="0.0", employer_part="3.00")  # type: ignore[arg-type]
    for item in (a, b, a):
        assert conv.unstructure(item, AccountYear) == CATTRS.unstructure(item, AccountYear)
    assert conv.unstructure(a, AccountYear)["personal"] == "-0.00"
    assert conv.unstructure(b, AccountYear)["base"] == "-0.00"
    assert conv.unstructure(b, AccountYear)["employer_part"] == "3.00"
    seg = Segment(start="2000-01", end="2000-12", source="red_book", employer_kind="enterprise")  # type: ignore[arg-type]
    out = conv.unstructure(seg, Segment)
    assert out == CATTRS.unstructure(seg, Segment)
    assert out["source"] == "red_book"
    assert "employer_kind" not in out
    assert "total" not in out
