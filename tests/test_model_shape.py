"""Model constructors check shape and convert the obvious (docs/api.md).

A "YYYY-MM" string becomes a YearMonth, a decimal string or an int becomes
Money or a rate, a string its enum member, a list a tuple. Anything else is
refused with a FieldValueError (a FieldTypeError for a wrong type) naming the
class and the field and saying what was given by type, never the value.
Judgement stays in the rules: a well-typed but wrong worker is a model.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect import check
from pension_collect import dossier as fmt
from pension_collect.errors import DossierFormatError, PensionCollectError
from pension_collect.model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    Employer,
    EmployerKind,
    FieldTypeError,
    FieldValueError,
    Gender,
    Hukou,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from pension_collect.testing import strategies as pst
from pension_collect.text import refused_character

DOCS = Path(__file__).resolve().parents[1] / "docs"

EMPLOYER = Employer(unit_no="10012345", name="威海示例机械有限公司")
SEGMENT = {"start": YearMonth(1990, 1), "end": YearMonth(1992, 12)}
YEAR = {
    "year": 1997,
    "months": 12,
    "base": Decimal("500"),
    "personal": Decimal("240.00"),
    "employer_part": Decimal("420.00"),
    "interest": Decimal("0"),
    "balance": Decimal("660.00"),
}
WORKER = {"id_number": "371002196503021239", "name": "王小明", "first_work": YearMonth(1983, 7)}
#: Values shaped like personal data: never to appear in a message.
NAME = "王小明"
ID_NUMBER = "371002196503021239"


def minimal(cls: type[Any]) -> dict[str, Any]:
    """The required fields of ``cls`` with valid values."""
    return {
        Employer: {"unit_no": "1", "name": "x"},
        Segment: SEGMENT,
        AccountYear: YEAR,
        BureauRecord: {},
        Worker: WORKER,
        Dossier: {"employer": EMPLOYER},
    }[cls]


def refusal(cls: type[Any], field: str, value: Any) -> FieldValueError:
    """The error ``cls`` raises when ``field`` is given ``value``."""
    with pytest.raises(FieldValueError) as info:
        cls(**{**minimal(cls), field: value})
    error = info.value
    assert (error.class_name, error.field) == (cls.__name__, field)
    assert str(error).startswith(f"{cls.__name__}.{field}: must be ")
    assert error.message_zh.startswith("应为") or error.message_zh == "不能为空"
    return error


# -- the error tree ----------------------------------------------------------------


def test_the_errors_are_in_the_one_tree() -> None:
    """A shape error is a PensionCollectError with a code; a wrong type is a TypeError too."""
    wrong_type = refusal(Segment, "end", 3)
    wrong_value = refusal(Segment, "category", "nonsense")
    assert type(wrong_type) is FieldTypeError
    assert type(wrong_value) is FieldValueError
    for error in (wrong_type, wrong_value):
        assert isinstance(error, PensionCollectError)
        assert isinstance(error, ValueError)
    assert isinstance(wrong_type, TypeError)
    assert not isinstance(wrong_value, TypeError)
    assert (wrong_type.code, wrong_value.code) == ("model.field-type", "model.field-value")


def test_the_issue_examples_are_refused_at_construction() -> None:
    """Issue #8's examples fail when built, naming the first bad field."""
    with pytest.raises(FieldTypeError, match=r"^Segment\.end: .* not int$"):
        Segment(start="1990-01", end=3, total=1.5, category="nonsense")  # type: ignore[arg-type]
    with pytest.raises(FieldTypeError, match=r"^Segment\.total: .* not float$"):
        Segment(start="1990-01", end="1991-03", total=1.5, category="nonsense")  # type: ignore[arg-type]
    with pytest.raises(FieldValueError, match=r"^Segment\.category: .*none of them$"):
        Segment(start="1990-01", end="1991-03", total="1.5", category="nonsense")
    assert Dossier(employer=EMPLOYER, as_of="2014-03").as_of == YearMonth(2014, 3)


def test_evolve_checks_too() -> None:
    """attrs.evolve goes through the constructor: the same checks."""
    segment = Segment(**SEGMENT)
    with pytest.raises(FieldTypeError, match=r"^Segment\.total: "):
        attrs.evolve(segment, total=0.5)
    assert attrs.evolve(segment, total="0").total == Decimal(0)


# -- YearMonth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "field", "error"),
    [
        (2000, 13, "month", FieldValueError),
        (2000, 0, "month", FieldValueError),
        (1899, 12, "year", FieldValueError),
        (2200, 1, "year", FieldValueError),
        (2000, True, "month", FieldTypeError),
        ("2000", 1, "year", FieldTypeError),
        (2000, 1.0, "month", FieldTypeError),
    ],
)
def test_year_month_refusals(year: Any, month: Any, field: str, error: type[Exception]) -> None:
    """A month out of range, or not an int, is refused naming YearMonth's field."""
    with pytest.raises(error) as info:
        YearMonth(year, month)
    assert type(info.value) is error
    assert str(info.value).startswith(f"YearMonth.{field}: must be ")


# -- obvious conversions ---------------------------------------------------------------

_CONVERSIONS: list[tuple[type[Any], str, Any, Any]] = [
    (Segment, "start", "1993-01", YearMonth(1993, 1)),
    (Segment, "end", "1996-03", YearMonth(1996, 3)),
    (Segment, "total", "453.60", Decimal("453.60")),
    (Segment, "total", 453, Decimal(453)),
    (Segment, "total", "-1.5", Decimal("-1.5")),
    (Segment, "base", "0", Decimal(0)),
    (Segment, "rate", "0.03", Decimal("0.03")),
    (Segment, "rate", 0, Decimal(0)),
    (Segment, "rate", "-0.03", Decimal("-0.03")),
    (Segment, "category", "deemed", Category.DEEMED),
    (Segment, "source", "red_book", Source.RED_BOOK),
    (Segment, "employer_kind", "institution", EmployerKind.INSTITUTION),
    (Segment, "origin", "other_city", Origin.OTHER_CITY),
    (Segment, "transferred_on", "2009-12", YearMonth(2009, 12)),
    (AccountYear, "base", 500, Decimal(500)),
    (AccountYear, "balance", "660.00", Decimal("660.00")),
    (BureauRecord, "gender", "female", Gender.FEMALE),
    (BureauRecord, "hukou", "rural", Hukou.RURAL),
    (BureauRecord, "birth_date", "1965-03-02", dt.date(1965, 3, 2)),
    (BureauRecord, "first_work", "1983-07", YearMonth(1983, 7)),
    (BureauRecord, "history", [Segment(**SEGMENT)], (Segment(**SEGMENT),)),
    (BureauRecord, "account", [], ()),
    (Worker, "first_work", "1983-07", YearMonth(1983, 7)),
    (Worker, "gender", "male", Gender.MALE),
    (Worker, "birth_date", "1965-03-02", dt.date(1965, 3, 2)),
    (Worker, "history", [], ()),
    (Worker, "account", [AccountYear(**YEAR)], (AccountYear(**YEAR),)),
    (Dossier, "as_of", "2014-03", YearMonth(2014, 3)),
    (Dossier, "workers", [Worker(**WORKER)], (Worker(**WORKER),)),
]


@pytest.mark.parametrize(("cls", "field", "given", "expected"), _CONVERSIONS)
def test_obvious_conversions(cls: type[Any], field: str, given: Any, expected: Any) -> None:
    """Each obvious input becomes the field's type, with the value it says."""
    built = getattr(cls(**{**minimal(cls), field: given}), field)
    assert built == expected
    assert type(built) is type(expected)
    if isinstance(expected, Decimal):
        assert str(built) == str(expected)  # the places as written


def test_a_shaped_value_is_kept_as_it_is() -> None:
    """A value that already has the field's type is the very value stored."""
    history = (Segment(**SEGMENT),)
    bureau = BureauRecord()
    worker = Worker(**WORKER, history=history, bureau=bureau, gender=Gender.MALE)
    assert worker.history is history
    assert worker.bureau is bureau
    assert worker.first_work is WORKER["first_work"]
    year = AccountYear(**YEAR)
    assert all(getattr(year, k) is v for k, v in YEAR.items())


# -- refusals ------------------------------------------------------------------------------

_WRONG_TYPES: list[tuple[type[Any], str, Any, str]] = [
    (Employer, "unit_no", 10012345, "int"),
    (Employer, "name", None, "None"),
    (Employer, "credit_code", 91371000, "int"),
    (Employer, "phone", ["0631"], "list"),
    (Segment, "start", 199001, "int"),
    (Segment, "end", dt.date(1992, 12, 31), "date"),
    (Segment, "total", 1.5, "float"),
    (Segment, "total", True, "bool"),
    (Segment, "base", 500.0, "float"),
    (Segment, "rate", 0.03, "float"),
    (Segment, "category", 1, "int"),
    (Segment, "category", Source.HANDBOOK, "Source"),
    (Segment, "source", None, "None"),
    (Segment, "employer_kind", b"enterprise", "bytes"),
    (Segment, "origin", ["local"], "list"),
    (Segment, "transferred_on", 2009.12, "float"),
    (Segment, "remark", 0, "int"),
    (AccountYear, "year", "1997", "str"),
    (AccountYear, "months", 12.0, "float"),
    (AccountYear, "months", True, "bool"),
    (AccountYear, "interest", 0.5, "float"),
    (BureauRecord, "id_number", 371002196503021239, "int"),
    (BureauRecord, "birth_date", dt.datetime(1965, 3, 2), "datetime"),
    (BureauRecord, "history", {"start": "1990-01"}, "dict"),
    (BureauRecord, "account", [YEAR], "one holding dict at index 0"),
    (Worker, "id_number", 371002196503021239, "int"),
    (Worker, "name", 42, "int"),
    (Worker, "first_work", None, "None"),
    (Worker, "hukou", 1, "int"),
    (Worker, "history", "1990-01", "str"),
    (Worker, "history", (Segment(**SEGMENT), None), "one holding None at index 1"),
    (Worker, "bureau", {"name": "x"}, "dict"),
    (Dossier, "employer", {"unit_no": "1", "name": "x"}, "dict"),
    (Dossier, "workers", None, "None"),
    (Dossier, "workers", [WORKER], "one holding dict at index 0"),
    (Dossier, "rule_pack", 2013, "int"),
    (Dossier, "as_of", 201403, "int"),
]


@pytest.mark.parametrize(("cls", "field", "given", "named"), _WRONG_TYPES)
def test_wrong_types_are_refused(cls: type[Any], field: str, given: Any, named: str) -> None:
    """A value of a type the field does not take is a FieldTypeError saying which type."""
    error = refusal(cls, field, given)
    assert type(error) is FieldTypeError
    assert error.message.endswith(f", not {named}")


_WRONG_VALUES: list[tuple[type[Any], str, Any]] = [
    (Employer, "unit_no", ""),
    (Employer, "name", " \t"),
    (Segment, "start", "1993-13"),
    (Segment, "end", "1993-1"),
    (Segment, "start", "1899-12"),
    (Segment, "total", "1.555"),
    (Segment, "total", "1e3"),
    (Segment, "total", " 1.50"),
    (Segment, "total", Decimal("1.555")),
    (Segment, "total", Decimal("NaN")),
    (Segment, "base", Decimal("Infinity")),
    (Segment, "rate", "0.03 "),
    (Segment, "rate", "3%"),
    (Segment, "rate", "1e-2"),
    (Segment, "rate", Decimal("NaN")),
    (Segment, "category", "nonsense"),
    (Segment, "source", "Handbook"),
    (Segment, "origin", "elsewhere"),
    (BureauRecord, "birth_date", "1965-02-30"),
    (BureauRecord, "gender", "男"),
    (Worker, "name", ""),
    (Worker, "id_number", "   "),
    (Worker, "first_work", "1983/07"),
    (Dossier, "as_of", "2014-3"),
]


@pytest.mark.parametrize(("cls", "field", "given"), _WRONG_VALUES)
def test_wrong_values_are_refused(cls: type[Any], field: str, given: Any) -> None:
    """A value of a taken type that says nothing the field holds is a FieldValueError."""
    error = refusal(cls, field, given)
    assert type(error) is FieldValueError
    if isinstance(given, str) and given.strip():
        assert repr(given) not in str(error)


@pytest.mark.parametrize(
    ("cls", "field"),
    [
        (Segment, "start"),
        (Segment, "origin"),
        (Segment, "category"),
        (Segment, "source"),
        (BureauRecord, "gender"),
        (BureauRecord, "birth_date"),
        (Worker, "first_work"),
        (Worker, "bureau"),
        (Dossier, "as_of"),
        (Dossier, "workers"),
    ],
)
@pytest.mark.parametrize("personal", [NAME, ID_NUMBER, int(ID_NUMBER)])
def test_no_personal_value_in_a_message(cls: type[Any], field: str, personal: Any) -> None:
    """A name or identity number in the wrong field (a shifted column) is not echoed."""
    error = refusal(cls, field, personal)
    shown = str(personal)
    for text in (str(error), repr(error), error.message, error.message_zh):
        assert shown not in text
        assert shown[:6] not in text


# -- judgement stays in the rules -------------------------------------------------------------


def test_a_well_typed_but_wrong_worker_is_a_model_and_reported() -> None:
    """An invalid identity number, a period ending before it starts, a negative
    rate: the model takes them, the rules report them."""
    worker = Worker(
        id_number="37100219650302123",  # one character short
        name="王小明",
        first_work="1983-07",
        gender="female",
        history=[
            Segment(start="1991-05", end="1990-01", total="0"),
            Segment(start="1993-01", end="1996-03", total="10.00", rate="-0.03"),
        ],
        account=[],
    )
    dossier = Dossier(employer=EMPLOYER, workers=[worker], as_of="2013-08")
    codes = check(dossier).codes()
    assert {"person.id-format", "history.month-order", "history.negative-amount"} <= codes


# -- properties ------------------------------------------------------------------------------


def records(value: Any) -> list[Any]:
    """Every attrs record inside ``value`` (YearMonth leaves excluded)."""
    if attrs.has(type(value)) and type(value) is not YearMonth:
        inner = [records(getattr(value, f.name)) for f in attrs.fields(type(value))]
        return [value, *[r for rs in inner for r in rs]]
    if isinstance(value, tuple):
        return [r for item in value for r in records(item)]
    return []


def assert_rebuilds(dossier: Dossier) -> None:
    """Every record, built again from its own field values, is accepted and
    keeps each value as it is."""
    for record in records(dossier):
        values = {f.name: getattr(record, f.name) for f in attrs.fields(type(record))}
        again = type(record)(**values)
        assert again == record
        for name, value in values.items():
            assert getattr(again, name) is value, f"{type(record).__name__}.{name} changed"


@given(pst.dossiers())
def test_generated_dossiers_are_valid_models(dossier: Dossier) -> None:
    """Shape-valid strategies build only models the constructors accept, and
    they round-trip through the format."""
    assert_rebuilds(dossier)
    assert fmt.loads(fmt.dumps(dossier)) == dossier


@given(pst.clean_dossiers(max_workers=2))
def test_clean_dossiers_are_valid_models(dossier: Dossier) -> None:
    """Clean data is built from valid models too."""
    assert_rebuilds(dossier)
    assert fmt.loads(fmt.dumps(dossier)) == dossier


_TABLE_PACK = pst.with_rate_reference([("1993-01", "1996-03", "0.03")])


def _violators(code: str) -> st.SearchStrategy[Dossier]:
    pack = _TABLE_PACK if code == "history.rate-reference" else None
    return pst.violating_dossiers(code, pack=pack)


@given(st.sampled_from(sorted(pst.WORKER_CODES | pst.DOSSIER_CODES)).flatmap(_violators))
def test_violating_dossiers_are_valid_models(dossier: Dossier) -> None:
    """Data that breaks a rule is still shape-valid."""
    assert_rebuilds(dossier)
    assert fmt.loads(fmt.dumps(dossier)) == dossier


#: The rates the format writes (docs/dossier.md): 0 <= rate < 1000, six places.
_RATE_TEXT = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,6})?")
_PERSONAL = st.sampled_from([NAME, ID_NUMBER, "李秀英", "37108219781231004X"])
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.decimals(places=3, allow_nan=False),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    _PERSONAL,
    st.sampled_from(["1990-01", "2199-12", "1993-13", "0.03", "453.60", "1.5", "0", "-0"]),
    st.sampled_from(["deemed", "red_book", "institution", "other_city", "male", "urban"]),
    st.sampled_from(["1965-03-02", "1965-02-30", "", " "]),
    st.dates(),
    st.datetimes(),
    st.sampled_from([YearMonth(2000, 1), Category.DEEMED, Gender.MALE, Source.RED_BOOK]),
    st.just([]),
    st.just(()),
    st.just({}),
    st.builds(lambda: [Segment(**SEGMENT)]),
    st.builds(lambda: (AccountYear(**YEAR),)),
    st.builds(lambda: Worker(**WORKER)),
    st.builds(lambda: BureauRecord()),
    st.just(EMPLOYER),
)


def _build(cls: type[Any], values: dict[str, Any]) -> tuple[Any, FieldValueError | None]:
    """``(record, None)``, or ``(None, error)`` when the constructor refuses."""
    try:
        return cls(**values), None
    except FieldValueError as error:
        return None, error


def _in_a_dossier(record: Any) -> Dossier:
    """A dossier holding ``record`` (of any record class)."""
    if isinstance(record, Dossier):
        return record
    if isinstance(record, Employer):
        return Dossier(employer=record)
    if isinstance(record, Worker):
        return Dossier(employer=EMPLOYER, workers=(record,))
    if isinstance(record, BureauRecord):
        return _in_a_dossier(Worker(**WORKER, bureau=record))
    if isinstance(record, Segment):
        return _in_a_dossier(Worker(**WORKER, history=(record,)))
    return _in_a_dossier(Worker(**WORKER, account=(record,)))


@given(
    st.sampled_from([Employer, Segment, AccountYear, BureauRecord, Worker, Dossier]),
    st.data(),
    _JUNK,
)
def test_what_the_model_accepts_the_format_holds(
    cls: type[Any], data: st.DataObject, junk: Any
) -> None:
    """Any value in any field is either refused, naming that field, or makes a
    dossier that the format writes and reads back equal: shape is what the
    format can hold. (The reader's own bounds are the exception: the model
    takes text with a control character, a 20-digit year or amount, the
    reader names the field: docs/dossier.md "Text" and "Limits".)"""
    field = data.draw(st.sampled_from([f.name for f in attrs.fields(cls)]))
    record, error = _build(cls, {**minimal(cls), field: junk})
    if error is not None:
        assert (error.class_name, error.field) == (cls.__name__, field)
        if isinstance(junk, str) and re.search(r"[\u4e00-\u9fff]|[0-9]{6}", junk):
            assert junk not in str(error)
            assert junk not in error.message_zh
        return
    if field == "rate" and _RATE_TEXT.fullmatch(format(record.rate, "f")) is None:
        return  # a negative rate, say: the rules' to report, the format's to refuse
    dossier = _in_a_dossier(record)
    try:
        back = fmt.loads(fmt.dumps(dossier))
    except DossierFormatError as refused:
        (problem,) = refused.problems
        assert problem.path.rsplit(".", 1)[1] == field
        if isinstance(junk, str):
            assert refused_character(junk) is not None
        else:
            assert "digits" in problem.message
        return
    assert back == dossier


# -- docs/testing.md -------------------------------------------------------------------------


def _example(heading: str) -> str:
    """The first python block under the docs/testing.md heading starting with ``heading``."""
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    match = re.search(
        rf"^#+ {re.escape(heading)}.*?^```python\n(?P<code>.*?)^```", text, re.M | re.S
    )
    assert match is not None, f"docs/testing.md has no python example under {heading!r}"
    return match.group("code")


@pytest.mark.parametrize(
    ("heading", "test_name"),
    [
        ("One bad worker among good ones", "test_only_the_bad_worker_is_flagged"),
        ("Your parser never crashes", "test_dump_load"),
    ],
)
def test_testing_doc_examples_run_as_written(heading: str, test_name: str) -> None:
    """The examples of docs/testing.md that need nothing of the reader's own
    code run unchanged and pass."""
    namespace: dict[str, Any] = {"__name__": "docs_testing_example"}
    exec(compile(_example(heading), f"docs/testing.md ({heading})", "exec"), namespace)
    namespace[test_name]()


@given(st.data())
def test_testing_doc_rate_table_example_runs_as_written(data: st.DataObject) -> None:
    """The reference-rate example's strategy draws violators its pack reports."""
    namespace: dict[str, Any] = {"__name__": "docs_testing_example"}
    code = _example("A pack with a reference rate table")
    exec(compile(code, "docs/testing.md", "exec"), namespace)
    worker = data.draw(namespace["violators"])
    dossier = Dossier(employer=EMPLOYER, workers=(worker,), as_of=pst.DEFAULT_AS_OF)
    assert check(dossier, pack=namespace["pack"]).codes() == {"history.rate-reference"}
