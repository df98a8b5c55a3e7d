"""Hypothesis strategies for pension_collect's model, clean data and rule violators.

Three families (docs/testing.md shows how to use them in your own suite):

* **Shape-valid, arbitrary** values of every model class: :func:`year_months`,
  :func:`money`, :func:`rates`, :func:`identity_numbers`, :func:`credit_codes`,
  :func:`employers`, :func:`segments`, :func:`account_years`,
  :func:`bureau_records`, :func:`workers`, :func:`dossiers`. "Shape-valid"
  means what :func:`pension_collect.dossier.loads` can produce: every value
  survives ``dumps`` then ``loads``. The *domain* content is arbitrary: a
  segment may end before it starts, an identity number may be junk.
* **Clean** data: :func:`clean_workers`, :func:`clean_employers` and
  :func:`clean_dossiers` give data on which a rule pack (``weihai-2013`` by
  default) reports no error and no warning. They are built constructively
  from the pack's dated parameters (box boundary, account start,
  institution window, transfer cutoff, minimum working age, reference rate
  table), not filtered, so generating them is fast.
* **Violators**: :func:`violating_workers` and :func:`violating_dossiers` give
  data that breaks exactly one named rule (every finding of the pack has that
  code). :data:`WORKER_CODES` and :data:`DOSSIER_CODES` list the codes they
  know.

Dates and the pack: clean data and violators depend on the collection month
``as_of`` (default 2013-08) and on the pack; check them with the same ones::

    report = check(dossier, pack=pack)         # dossier.as_of is set for you

Workers carry no ``as_of`` of their own: put one in a dossier whose ``as_of``
is the month you generated it for (or use :func:`clean_dossiers` /
:func:`violating_dossiers`, which do that).

Generated identity numbers and names are random, not taken from real people.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from .. import credit_code as _cc
from ..identity import IdentityNumber, InvalidIdentityNumber, check_char, compact
from ..model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    Employer,
    EmployerKind,
    Gender,
    Hukou,
    Money,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from ..rules.pack import RulePack
from ..rules.parameters import Confidence, DatedValue, Parameter, RateBand

__all__ = [
    "BORN_FROM",
    "BORN_UNTIL",
    "DEFAULT_AS_OF",
    "DOSSIER_CODES",
    "FIRST_MONTH",
    "INSTITUTION_REMARK",
    "LAST_MONTH",
    "WORKER_CODES",
    "account_years",
    "bureau_records",
    "clean_dossiers",
    "clean_employers",
    "clean_workers",
    "credit_codes",
    "dossiers",
    "employers",
    "id_key",
    "identity_numbers",
    "money",
    "rates",
    "segments",
    "violating_dossiers",
    "violating_workers",
    "with_rate_reference",
    "workers",
    "year_months",
]

T = TypeVar("T")

#: The collection month clean data and violators are made for by default.
DEFAULT_AS_OF = YearMonth(2013, 8)
#: Earliest birth date of generated identity numbers.
BORN_FROM = _dt.date(1930, 1, 1)
#: Latest birth date of generated identity numbers.
BORN_UNTIL = _dt.date(1995, 12, 31)
#: The remark every government/institution period carries ([P3.4c]).
INSTITUTION_REMARK = "机关事业缴费"

#: The first and last month the model allows.
FIRST_MONTH = YearMonth(1900, 1)
LAST_MONTH = YearMonth(2199, 12)
_SEGMENTS_FROM = YearMonth(1950, 1)
_SEGMENTS_UNTIL = YearMonth(2020, 12)
_MIN_INDEX = FIRST_MONTH.index
_MAX_INDEX = LAST_MONTH.index

# Kinds of history segment, as the derivation table of docs/rules.md reads
# them. Kept private and separate from pension_collect.rules.derive on
# purpose: clean data must not be derived by the code it is meant to test.
_ENT = "enterprise"
_TRA = "transfer"
_INS = "institution"
_KINDS = (_ENT, _ENT, _TRA, _INS)  # enterprise periods are the common case

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗于丛谷鞠"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅志海波玉兰"
_EMPLOYER_NAMES = (
    "威海第二机床厂",
    "荣成市第一中学",
    "乳山市建筑公司",
    "文登市纺织厂",
    "威海示例机械有限公司",
    "青岛某贸易公司",
    "环翠区卫生院",
    "威海市水产公司",
)
_ETHNICITIES = ("汉族", "回族", "满族", "朝鲜族", "蒙古族")
#: Weihai's area codes (环翠, 文登, 荣成, 乳山 ...): most numbers a Weihai employer sees.
_WEIHAI_AREAS = (371000, 371002, 371003, 371081, 371082, 371083, 370631)
_INSTITUTION_REMARKS = (
    INSTITUTION_REMARK,
    f"{INSTITUTION_REMARK}（荣成市第一中学）",
    f"原{INSTITUTION_REMARK}",
)
_BAD_INSTITUTION_REMARKS: tuple[str | None, ...] = (
    None,
    "",
    "机关",
    "事业单位缴费",
    "机关 事业缴费",
)


# --------------------------------------------------------------------------- helpers


def _ym(index: int) -> YearMonth:
    return YearMonth.from_index(index)


def _as_ym(value: YearMonth | str, name: str) -> YearMonth:
    if isinstance(value, YearMonth):
        return value
    if isinstance(value, str):
        return YearMonth.parse(value)
    raise TypeError(f"{name} must be a YearMonth or a 'YYYY-MM' string")


def _as_decimal(value: Decimal | str | int, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"{name} must be a Decimal, a decimal string or an int (not a float)")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be finite")
    return result


def _scaled(value: Decimal, places: int, name: str) -> int:
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{name} has more than {places} decimal places")
    return int(scaled)


def _trim(value: Decimal) -> Decimal:
    """The shortest spelling of ``value`` with a non-positive exponent (``1.50`` -> ``1.5``)."""
    shortest = value.normalize()
    exponent = shortest.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        shortest = shortest.quantize(Decimal(1))
    return shortest


def _fixed(units: int, places: int, trim: bool) -> Decimal:
    value = Decimal(units).scaleb(-places)
    return _trim(value) if trim else value


def _strategy(value: SearchStrategy[T] | T) -> SearchStrategy[T]:
    return value if isinstance(value, SearchStrategy) else st.just(value)


def _last_day(month: YearMonth) -> _dt.date:
    return _dt.date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# Hot paths draw through these instead of building strategies per draw:
# hypothesis validates every new strategy object, which dominates the cost
# of drawing a clean worker otherwise.
_BOOLEANS = st.booleans()


def _maybe(draw: DrawFn, value: T) -> T | None:
    """``value`` or ``None`` (shrinks to ``value``)."""
    return value if draw(_BOOLEANS) else None


def _one_of(draw: DrawFn, items: Sequence[T]) -> T:
    """One of ``items`` (shrinks to the first)."""
    return items[draw(st.integers(0, len(items) - 1))]


def _none_or_one_of(draw: DrawFn, items: Sequence[T]) -> T | None:
    """``None`` or one of ``items``, in one draw (shrinks to ``None``)."""
    i = draw(st.integers(0, len(items)))
    return None if i == 0 else items[i - 1]


def _none_or(draw: DrawFn, strategy: SearchStrategy[T]) -> T | None:
    """``None`` or a value of ``strategy``, drawn only when needed."""
    return draw(strategy) if draw(_BOOLEANS) else None


def id_key(worker: Worker) -> str:
    """The key under which rule ``person.duplicate-id`` compares workers.

    The 18-character form of a valid identity number (so a legacy 15-digit
    number and its 18-digit form are the same person), else the compacted
    text. Use it as ``unique_by`` when you build lists of workers yourself.
    """
    try:
        return IdentityNumber.parse(worker.id_number).number
    except InvalidIdentityNumber:
        return compact(worker.id_number)


# --------------------------------------------------------------------------- scalars


def year_months(
    min_value: YearMonth | str = FIRST_MONTH,
    max_value: YearMonth | str = LAST_MONTH,
) -> SearchStrategy[YearMonth]:
    """Months from ``min_value`` to ``max_value`` inclusive (``"YYYY-MM"`` accepted).

    The defaults are the whole range the model allows (1900-01 .. 2199-12).
    Shrinks towards ``min_value``.
    """
    lo, hi = _as_ym(min_value, "min_value"), _as_ym(max_value, "max_value")
    if lo > hi:
        raise ValueError("min_value must not be after max_value")
    return st.integers(lo.index, hi.index).map(_ym)


def money(
    min_value: Decimal | str | int = Decimal("0"),
    max_value: Decimal | str | int = Decimal("100000"),
) -> SearchStrategy[Money]:
    """Amounts in yuan: :class:`~decimal.Decimal` with at most two places.

    Spelled with two places (``Decimal("1.50")``) or shorter (``Decimal("1.5")``,
    ``Decimal("2")``), never with a positive exponent; all of them are valid
    :data:`~pension_collect.model.Money` and survive the dossier format.
    The bounds (inclusive) must have at most two places; negative amounts
    are allowed when ``min_value`` is negative.
    """
    lo = _scaled(_as_decimal(min_value, "min_value"), 2, "min_value")
    hi = _scaled(_as_decimal(max_value, "max_value"), 2, "max_value")
    if lo > hi:
        raise ValueError("min_value must not be greater than max_value")
    return st.builds(
        lambda fen, trim: Money(_fixed(fen, 2, trim)), st.integers(lo, hi), st.booleans()
    )


def rates(
    min_value: Decimal | str | int = Decimal("0"),
    max_value: Decimal | str | int = Decimal("1"),
    *,
    places: int = 4,
) -> SearchStrategy[Decimal]:
    """Contribution rates as the dossier format writes them (``Decimal("0.03")``).

    Non-negative, below 1000, at most ``places`` (0..6) decimal places: the
    format's ``"0.03"`` spelling. Bounds are inclusive.
    """
    if not 0 <= places <= 6:
        raise ValueError("places must be 0..6 (the dossier format's limit)")
    low = _as_decimal(min_value, "min_value")
    high = _as_decimal(max_value, "max_value")
    if low < 0 or high >= 1000:
        raise ValueError("rates are written 0 .. 999.999999 in the dossier format")
    lo = _scaled(low, places, "min_value")
    hi = _scaled(high, places, "max_value")
    if lo > hi:
        raise ValueError("min_value must not be greater than max_value")
    return st.builds(lambda n, trim: _fixed(n, places, trim), st.integers(lo, hi), st.booleans())


def _id_number(area: int, born: _dt.date, seq: int, legacy: bool) -> str:
    if legacy:
        return f"{area:06d}{born:%y%m%d}{seq:03d}"
    first17 = f"{area:06d}{born.year:04d}{born.month:02d}{born.day:02d}{seq:03d}"
    return first17 + check_char(first17)


def _areas() -> SearchStrategy[int]:
    return st.sampled_from(_WEIHAI_AREAS) | st.integers(100000, 999999)


def _sequences(gender: Gender | str | None) -> SearchStrategy[int]:
    if gender is None:
        return st.integers(0, 999)
    parity = 1 if Gender(gender) is Gender.MALE else 0
    return st.integers(0, 499).map(lambda n: 2 * n + parity)


def identity_numbers(
    *,
    legacy: bool = False,
    born_from: _dt.date = BORN_FROM,
    born_until: _dt.date = BORN_UNTIL,
    gender: Gender | str | None = None,
) -> SearchStrategy[str]:
    """Valid identity numbers (GB 11643), as text.

    18 characters with the check character computed by
    :func:`pension_collect.identity.check_char`, or with ``legacy=True`` the
    15-digit form (birth years 1900..1999 only). The area code is any six
    digits with a first digit 1-9 (Weihai's codes are drawn often); the birth
    date lies in ``born_from .. born_until`` (1930 .. 1995 by default);
    ``gender`` fixes the parity of the sequence number.
    """
    if born_from > born_until:
        raise ValueError("born_from must not be after born_until")
    if born_from.year < 1880:
        raise ValueError("identity numbers hold birth years from 1880 on")
    if legacy and not (born_from.year >= 1900 and born_until.year <= 1999):
        raise ValueError("legacy 15-digit numbers hold birth years 1900..1999 only")
    return st.builds(
        _id_number,
        _areas(),
        st.dates(born_from, born_until),
        _sequences(gender),
        st.just(legacy),
    )


def _credit_code(authority: str, kind: str, division: int, org8: str) -> str:
    first17 = f"{authority}{kind}{division:06d}{org8}{_cc.organization_check_char(org8)}"
    return first17 + _cc.check_char(first17)


def _org_codes() -> SearchStrategy[str]:
    return st.text(alphabet=_cc.ALPHABET, min_size=8, max_size=8)


def credit_codes() -> SearchStrategy[str]:
    """Valid unified social credit codes (GB 32100), as
    :func:`pension_collect.credit_code.validate` accepts them.

    Any registration authority of the code alphabet, letters (``Y``, ``N``,
    ``A`` ...) included; any category character; six digits of division
    code; an organization code with its GB 11714 check character; the GB
    32100 check character.
    """
    return st.builds(
        _credit_code,
        st.sampled_from("9" + _cc.ALPHABET),
        st.sampled_from("1" + _cc.ALPHABET),
        st.sampled_from((371000, 371002, 371082)) | st.integers(0, 999999),
        _org_codes(),
    )


def _bad_credit_codes() -> SearchStrategy[str]:
    """Codes that fail the format or the position-18 check (rule employer.credit-code)."""

    def wrong_last(code: str, other: str) -> str:
        return code[:17] + (
            other if other != code[17] else _cc.ALPHABET[_cc.ALPHABET.index(other) - 1]
        )

    def forbidden(code: str, pos: int, letter: str) -> str:
        return code[:pos] + letter + code[pos + 1 :]

    def letter_in_division(code: str, pos: int, letter: str) -> str:
        return code[:pos] + letter + code[pos + 1 :]

    def wrong_length(code: str, cut: int, extra: str) -> str:
        return code[:cut] if cut < 18 else code + extra

    valid = credit_codes()
    return st.one_of(
        st.builds(wrong_last, valid, st.sampled_from(_cc.ALPHABET)),
        st.builds(forbidden, valid, st.integers(0, 17), st.sampled_from("IOZSV")),
        st.builds(letter_in_division, valid, st.integers(2, 7), st.sampled_from("ABCHKY")),
        st.builds(
            wrong_length,
            valid,
            st.integers(0, 18),
            st.text(alphabet=_cc.ALPHABET, min_size=1, max_size=3),
        ),
    )


def _org_check_broken_codes() -> SearchStrategy[str]:
    """Codes whose position-18 check is right but whose organization check is not."""

    def build(authority: str, kind: str, division: int, org8: str, wrong: str) -> str:
        right = _cc.organization_check_char(org8)
        if wrong == right:
            wrong = _cc.ALPHABET[_cc.ALPHABET.index(wrong) - 1]
        first17 = f"{authority}{kind}{division:06d}{org8}{wrong}"
        return first17 + _cc.check_char(first17)

    return st.builds(
        build,
        st.sampled_from(_cc.ALPHABET),
        st.sampled_from(_cc.ALPHABET),
        st.integers(0, 999999),
        _org_codes(),
        st.sampled_from(_cc.ALPHABET),
    )


def _nonblank_text(max_size: int = 20) -> SearchStrategy[str]:
    return st.text(min_size=1, max_size=max_size).map(lambda s: s if s.strip() else s + "x")


def _person_names() -> SearchStrategy[str]:
    return st.builds(
        lambda surname, given: surname + given,
        st.sampled_from(_SURNAMES),
        st.text(alphabet=_GIVEN, min_size=1, max_size=2),
    )


def _digits(min_size: int, max_size: int) -> SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)


# --------------------------------------------------------------------------- model classes


def employers() -> SearchStrategy[Employer]:
    """Shape-valid employers; the credit code may be absent, valid, broken or any text."""
    return st.builds(
        Employer,
        unit_no=_digits(8, 8) | _nonblank_text(),
        name=st.sampled_from(_EMPLOYER_NAMES) | _nonblank_text(),
        credit_code=st.none()
        | credit_codes()
        | _bad_credit_codes()
        | _org_check_broken_codes()
        | st.text(max_size=20),
        legal_representative=st.none() | _person_names(),
        address=st.none() | st.text(max_size=30),
        contact=st.none() | _person_names(),
        phone=st.none() | _digits(7, 12),
    )


def clean_employers() -> SearchStrategy[Employer]:
    """Employers the pack accepts: the credit code is absent or valid."""
    return st.builds(
        Employer,
        unit_no=_digits(8, 8),
        name=st.sampled_from(_EMPLOYER_NAMES),
        credit_code=st.none() | credit_codes(),
        legal_representative=st.none() | _person_names(),
        address=st.none() | st.just("山东省威海市环翠区示例路1号"),
        contact=st.none() | _person_names(),
        phone=st.none() | st.just("0631-5200000"),
    )


_BOUNDARY_MONTHS = tuple(
    YearMonth.parse(m)
    for m in (
        "1979-12",
        "1980-01",
        "1992-12",
        "1993-01",
        "1996-03",
        "1996-04",
        "2009-12",
        "2010-01",
        "2010-12",
        "2011-01",
    )
)


def _segment_months(min_month: YearMonth, max_month: YearMonth) -> SearchStrategy[YearMonth]:
    near = [m for m in _BOUNDARY_MONTHS if min_month <= m <= max_month]
    months = year_months(min_month, max_month)
    return st.sampled_from(near) | months if near else months


def segments(
    *,
    min_month: YearMonth | str = _SEGMENTS_FROM,
    max_month: YearMonth | str = _SEGMENTS_UNTIL,
) -> SearchStrategy[Segment]:
    """Shape-valid history segments, arbitrary in content (they may break any rule).

    Months lie in ``min_month .. max_month`` (the pack's boundary months are
    drawn often); start and end are independent; amounts may be negative or
    absent; every enum field takes any value.
    """
    lo, hi = _as_ym(min_month, "min_month"), _as_ym(max_month, "max_month")
    months = _segment_months(lo, hi)
    return st.builds(
        Segment,
        start=months,
        end=months,
        total=st.none() | money(-1000, 100000),
        base=st.none() | money(-100, 50000),
        rate=st.none() | rates(0, 2),
        category=st.none() | st.sampled_from(Category),
        source=st.sampled_from(Source),
        employer_kind=st.sampled_from(EmployerKind),
        origin=st.none() | st.sampled_from(Origin),
        transferred_on=st.none() | months,
        employer_name=st.none() | st.sampled_from(_EMPLOYER_NAMES) | st.text(max_size=20),
        remark=st.none()
        | st.sampled_from((*_INSTITUTION_REMARKS, "机关", ""))
        | st.text(max_size=20),
    )


def account_years() -> SearchStrategy[AccountYear]:
    """Shape-valid account years, arbitrary in content: any year (mostly
    1990..2015), months possibly outside 1..12, balances that need not add up."""
    return st.builds(
        AccountYear,
        year=st.integers(1990, 2015) | st.integers(),
        months=st.integers(1, 12) | st.integers(),
        base=money(0, 30000),
        personal=money(-100, 5000),
        employer_part=money(-100, 10000),
        interest=money(-100, 5000),
        balance=money(-1000, 1000000),
    )


def bureau_records() -> SearchStrategy[BureauRecord]:
    """Shape-valid bureau records (what a data sync returns), every field optional."""
    return st.builds(
        BureauRecord,
        person_no=st.none() | _digits(11, 11),
        id_number=st.none() | identity_numbers() | _any_identity_text(),
        name=st.none() | _person_names() | st.text(max_size=10),
        gender=st.none() | st.sampled_from(Gender),
        birth_date=st.none() | st.dates(),
        ethnicity=st.none() | st.sampled_from(_ETHNICITIES),
        hukou=st.none() | st.sampled_from(Hukou),
        first_work=st.none() | year_months(YearMonth(1940, 1), YearMonth(2015, 12)),
        history=st.none() | st.lists(segments(), max_size=3).map(tuple),
        account=st.none() | st.lists(account_years(), max_size=3).map(tuple),
    )


def _broken_ids() -> SearchStrategy[str]:
    """Identity numbers with one thing wrong: check digit, format or birth date."""

    def wrong_check(number: str, other: str) -> str:
        return number[:17] + (other if other != number[17] else "0" if other != "0" else "1")

    def bad_date(area: int, year: int, month: int, day: int, seq: int) -> str:
        first17 = f"{area:06d}{year:04d}{month:02d}{day:02d}{seq:03d}"
        return first17 + check_char(first17)

    return st.one_of(
        st.builds(wrong_check, identity_numbers(), st.sampled_from("0123456789X")),
        _bad_id_formats(),
        st.builds(
            bad_date,
            _areas(),
            st.integers(1930, 1995),
            st.integers(0, 12),
            st.integers(29, 99),
            st.integers(0, 999),
        ),
    )


def _bad_id_formats() -> SearchStrategy[str]:
    """Text rule person.id-format rejects (never a 15-digit or valid 18-char number)."""

    def letter_inside(number: str, pos: int, letter: str) -> str:
        return number[:pos] + letter + number[pos + 1 :]

    def wrong_last(number: str, letter: str) -> str:
        return number[:17] + letter

    def leading_zero(number: str) -> str:
        return "0" + number[1:]

    return st.one_of(
        _digits(1, 25).filter(lambda s: len(s) not in (15, 18)),
        st.builds(letter_inside, identity_numbers(), st.integers(0, 16), st.sampled_from("ABCOZ")),
        st.builds(wrong_last, identity_numbers(), st.sampled_from("ABCYZ-")),
        st.builds(leading_zero, identity_numbers()),
        st.builds(leading_zero, identity_numbers(legacy=True)),
    )


def _any_identity_text() -> SearchStrategy[str]:
    return st.one_of(
        identity_numbers(),
        identity_numbers(legacy=True),
        _broken_ids(),
        _nonblank_text(20),
    )


def workers(
    *,
    history: SearchStrategy[Segment] | None = None,
    account: SearchStrategy[AccountYear] | None = None,
    max_segments: int = 5,
    max_account_years: int = 5,
) -> SearchStrategy[Worker]:
    """Shape-valid workers, arbitrary in content (they may break any rule).

    The identity number is valid, legacy, broken or any text; gender and
    birth date are absent or anything; ``history`` and ``account`` are
    absent (not collected) or lists of ``history`` / ``account`` items
    (default: :func:`segments` / :func:`account_years`); the bureau block is
    absent or any :func:`bureau_records`.
    """
    segment_items = history if history is not None else segments()
    year_items = account if account is not None else account_years()
    return st.builds(
        Worker,
        id_number=_any_identity_text(),
        name=_person_names() | _nonblank_text(10),
        first_work=_segment_months(YearMonth(1940, 1), YearMonth(2015, 12)),
        person_no=st.none() | _digits(11, 11),
        gender=st.none() | st.sampled_from(Gender),
        birth_date=st.none() | st.dates(_dt.date(1900, 1, 1), _dt.date(2020, 12, 31)),
        ethnicity=st.none() | st.sampled_from(_ETHNICITIES),
        hukou=st.none() | st.sampled_from(Hukou),
        history=st.none() | st.lists(segment_items, max_size=max_segments).map(tuple),
        account=st.none() | st.lists(year_items, max_size=max_account_years).map(tuple),
        bureau=st.none() | bureau_records(),
    )


_arbitrary_workers = workers
_arbitrary_employers = employers


def dossiers(
    workers: SearchStrategy[Worker] | None = None,
    *,
    employers: SearchStrategy[Employer] | None = None,
    min_workers: int = 0,
    max_workers: int = 4,
    as_of: SearchStrategy[YearMonth | None] | YearMonth | None = None,
    rule_pack: SearchStrategy[str | None] | str | None = None,
) -> SearchStrategy[Dossier]:
    """Shape-valid dossiers of ``min_workers .. max_workers`` workers.

    ``workers`` and ``employers`` default to the arbitrary :func:`workers`
    and :func:`employers` (pass :func:`clean_workers` to get dossiers of
    clean workers; see also :func:`clean_dossiers`). ``as_of`` and
    ``rule_pack`` are values or strategies; left at ``None``, ``as_of`` is
    absent or a month of 1990..2020 and ``rule_pack`` absent or
    ``"weihai-2013"`` (pass ``st.none()`` for "always absent").
    Identity numbers are not made unique (rule ``person.duplicate-id`` may
    fire).
    """
    worker_items = workers if workers is not None else _arbitrary_workers()
    employer_items = employers if employers is not None else _arbitrary_employers()
    as_of_items: SearchStrategy[YearMonth | None] = (
        st.none() | year_months(YearMonth(1990, 1), YearMonth(2020, 12))
        if as_of is None
        else _strategy(as_of)
    )
    pack_items: SearchStrategy[str | None] = (
        st.none() | st.just("weihai-2013") if rule_pack is None else _strategy(rule_pack)
    )
    return st.builds(
        Dossier,
        employer=employer_items,
        workers=st.lists(worker_items, min_size=min_workers, max_size=max_workers).map(tuple),
        rule_pack=pack_items,
        as_of=as_of_items,
    )


# --------------------------------------------------------------------------- the pack's calendar


def _bundled_pack() -> RulePack:
    from ..rules.weihai2013 import default_pack

    return default_pack()


def _resolve_pack(pack: RulePack | str | None) -> RulePack:
    from ..rules.weihai2013 import NAME

    if pack is None or pack == NAME:
        return _bundled_pack()
    if isinstance(pack, RulePack):
        return pack
    raise ValueError(
        f"strategies know the built-in pack {NAME!r} by name; pass the RulePack object "
        f"for {pack!r} (e.g. pension_collect.rule_pack({pack!r}))"
    )


@attrs.frozen
class _Calendar:
    """The pack's parameters at ``as_of``, as month indices."""

    pack: RulePack
    as_of: int
    upper_last: int
    account_start: int
    window_start: int
    window_end: int
    cutoff: int
    min_age: int
    rate_table: tuple[RateBand, ...]

    @property
    def earliest_work(self) -> int:
        """The minimum-age birthday month of someone born on :data:`BORN_FROM`."""
        return (BORN_FROM.year + self.min_age) * 12 + BORN_FROM.month - 1

    def bday(self, born: _dt.date) -> int:
        """The month from which someone born on ``born`` may work (rule person.first-work-age)."""
        return (born.year + self.min_age) * 12 + born.month - 1


_MONTH_PARAMETERS = (
    "upper_box_last_month",
    "account_start",
    "institution_window_start",
    "institution_window_end",
    "cross_city_transfer_cutoff",
)


def _calendar(pack: RulePack | str | None, as_of: YearMonth | str) -> _Calendar:
    rule_pack = _resolve_pack(pack)
    month = _as_ym(as_of, "as_of")
    params = rule_pack.parameters
    values: dict[str, object] = {}
    for name in (*_MONTH_PARAMETERS, "minimum_working_age", "individual_rate_reference"):
        if name not in params:
            raise ValueError(
                f"rule pack {rule_pack.name!r} has no parameter {name!r}; these strategies "
                "need the parameters of weihai-2013 (docs/testing.md)"
            )
        values[name] = params.get(name, month)
    for name in _MONTH_PARAMETERS:
        if not isinstance(values[name], YearMonth):
            raise ValueError(f"parameter {name!r} has no month value at {month}")
    min_age = values["minimum_working_age"]
    if not isinstance(min_age, int):
        raise ValueError(f"parameter 'minimum_working_age' has no value at {month}")
    table = values["individual_rate_reference"] or ()
    assert isinstance(table, tuple)

    def index(name: str) -> int:
        value = values[name]
        assert isinstance(value, YearMonth)
        return value.index

    return _Calendar(
        pack=rule_pack,
        as_of=month.index,
        upper_last=index("upper_box_last_month"),
        account_start=index("account_start"),
        window_start=index("institution_window_start"),
        window_end=index("institution_window_end"),
        cutoff=index("cross_city_transfer_cutoff"),
        min_age=min_age,
        rate_table=tuple(table),
    )


def _zones(cal: _Calendar, kind: str, *, lower_box_only: bool = False) -> list[tuple[int, int]]:
    """Month ranges where a segment of ``kind`` has one box and one category."""
    if kind == _ENT:
        zones = [(cal.upper_last + 1, cal.account_start - 1)]
        if not lower_box_only:
            zones.insert(0, (_MIN_INDEX, cal.upper_last))
    elif kind == _TRA:
        zones = [(_MIN_INDEX, cal.account_start - 1), (cal.account_start, _MAX_INDEX)]
    else:
        zones = [(cal.window_start, cal.window_end)]
    return [(a, b) for a, b in zones if a <= b]


def _derived(cal: _Calendar, kind: str, end: int, total: Decimal | None) -> Category | None:
    """The category docs/rules.md's table gives a non-crossing segment of ``kind``."""
    if kind == _INS:
        return Category.PRE_ACCOUNT
    if kind == _TRA:
        return Category.PRE_ACCOUNT if end < cal.account_start else Category.POST_ACCOUNT
    if end <= cal.upper_last:
        if total is None or total < 0:
            return None
        return Category.DEEMED if total == 0 else Category.PRE_ACCOUNT
    if end < cal.account_start:
        return Category.PRE_ACCOUNT
    return None  # in the pension account: no category


Option = tuple[str, int, int]


def _options(
    cal: _Calendar,
    kinds: Iterable[str],
    lo: int,
    hi: int,
    *,
    min_len: int = 1,
    lower_box_only: bool = False,
) -> list[Option]:
    """(kind, first, last): ranges inside ``lo .. hi`` where a legal segment fits."""
    out: list[Option] = []
    for kind in dict.fromkeys(kinds):
        for a, b in _zones(cal, kind, lower_box_only=lower_box_only):
            first, last = max(a, lo), min(b, hi)
            if last - first + 1 >= min_len:
                out.append((kind, first, last))
    return out


def _pick(
    draw: DrawFn, options: Sequence[Option], *, min_len: int = 1, max_len: int = 120
) -> Option:
    kind, first, last = draw(st.sampled_from(options))
    start = draw(st.integers(first, last - min_len + 1))
    end = draw(st.integers(start + min_len - 1, min(last, start + max_len - 1)))
    return kind, start, end


def _subtract(span: tuple[int, int], reserved: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [span]
    for r_lo, r_hi in reserved:
        next_pieces = []
        for a, b in pieces:
            if r_hi < a or b < r_lo:
                next_pieces.append((a, b))
                continue
            if a < r_lo:
                next_pieces.append((a, r_lo - 1))
            if r_hi < b:
                next_pieces.append((r_hi + 1, b))
        pieces = next_pieces
    return pieces


def _legal_pieces(cal: _Calendar, kind: str, start: int, end: int) -> list[Option]:
    """Cut ``start .. end`` so that every piece is a legal segment.

    An institution period keeps the part inside the window and hands the
    rest to the enterprise table; enterprise periods are cut at the box
    boundary and the account start and lose what lies in the account.
    """
    out: list[Option] = []
    if kind == _INS:
        first, last = max(start, cal.window_start), min(end, cal.window_end)
        if first > last:
            return _legal_pieces(cal, _ENT, start, end)
        if start < first:
            out.extend(_legal_pieces(cal, _ENT, start, first - 1))
        out.append((_INS, first, last))
        if last < end:
            out.extend(_legal_pieces(cal, _ENT, last + 1, end))
        return out
    for a, b in _zones(cal, kind):
        first, last = max(a, start), min(b, end)
        if first <= last:
            out.append((kind, first, last))
    return out


# Strategies the clean-data draws reuse (built once).
_CATEGORIES = tuple(Category)
_HUKOU = tuple(Hukou)
_ZERO = money(0, 0)
_TOTALS = money(0, 20000)
_POSITIVE_TOTALS = money("0.01", 20000)
_BASES = money(100, 20000)
_SEGMENT_RATES = rates(0, Decimal("0.2"), places=3)
_AREAS = _areas()
_PERSON_NAMES = _person_names()
_RAW_PERIODS = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 240), st.sampled_from(_KINDS)), max_size=4
)


def _table_rates(cal: _Calendar, start: int, end: int) -> set[Decimal]:
    return {b.rate for b in cal.rate_table if b.start.index <= end and start <= b.end.index}


def _draw_rate(draw: DrawFn, cal: _Calendar, kind: str, start: int, end: int) -> Decimal | None:
    in_lower_box = not (kind == _ENT and end <= cal.upper_last)
    if in_lower_box and cal.rate_table:
        reference = _table_rates(cal, start, end)
        if len(reference) > 1:
            return None
        if len(reference) == 1:
            return _maybe(draw, next(iter(reference)))
    return _none_or(draw, _SEGMENT_RATES)


def _draw_transfer_fields(
    draw: DrawFn, cal: _Calendar, end: int
) -> tuple[Origin, YearMonth | None]:
    # A cross-city transfer is collected only when it was done before the
    # cutoff; a transfer is done after the period it moves.
    last_other = min(cal.cutoff - 1, max(end, cal.as_of))
    if end <= last_other and draw(_BOOLEANS):
        return Origin.OTHER_CITY, _ym(draw(st.integers(end, last_other)))
    done = _maybe(draw, _ym(draw(st.integers(end, max(end, cal.as_of)))))
    return Origin.LOCAL, done


def _draw_segment(
    draw: DrawFn, cal: _Calendar, kind: str, start: int, end: int, *, placed: bool = True
) -> Segment:
    """A segment of ``kind`` over ``start .. end`` that breaks no rule by itself.

    ``placed=False`` is for periods the table gives no category (crossing a
    boundary, or in the pension account): any category may then be given
    and no total is required.
    """
    upper = kind == _ENT and end <= cal.upper_last and placed
    if upper:
        total: Money | None = draw(_ZERO if draw(_BOOLEANS) else _POSITIVE_TOTALS)
    else:
        total = _none_or(draw, _TOTALS)
    source = Source.HANDBOOK
    origin: Origin | None = None
    transferred_on: YearMonth | None = None
    if kind == _TRA:
        source = Source.TRANSFER_IN
        origin, transferred_on = _draw_transfer_fields(draw, cal, end)
    elif kind == _ENT and not upper:
        source = _one_of(draw, (Source.HANDBOOK, Source.RED_BOOK))
    category: Category | None
    if placed:
        derived = _derived(cal, kind, end, total)
        category = _maybe(draw, derived) if derived is not None else None
        rate = _draw_rate(draw, cal, kind, start, end)
    else:
        category = _none_or_one_of(draw, _CATEGORIES)
        rate = _none_or(draw, _SEGMENT_RATES)
    remark: str | None
    if kind == _INS:
        remark = _one_of(draw, _INSTITUTION_REMARKS)
    else:
        remark = _none_or_one_of(draw, ("补缴", "学徒期", ""))
    return Segment(
        start=_ym(start),
        end=_ym(end),
        total=total,
        base=_none_or(draw, _BASES),
        rate=rate,
        category=category,
        source=source,
        employer_kind=EmployerKind.INSTITUTION if kind == _INS else EmployerKind.ENTERPRISE,
        origin=origin,
        transferred_on=transferred_on,
        employer_name=_none_or_one_of(draw, _EMPLOYER_NAMES),
        remark=remark,
    )


def _draw_history(
    draw: DrawFn, cal: _Calendar, first_work: int, reserved: Sequence[tuple[int, int]]
) -> list[Segment]:
    raw = draw(_RAW_PERIODS)
    pieces: list[Option] = []
    cursor = first_work
    for gap, length, kind in raw:
        start = cursor + gap
        if start > cal.as_of:
            break
        end = min(start + length - 1, cal.as_of)
        cursor = end + 1
        for a, b in _subtract((start, end), reserved):
            pieces.extend(_legal_pieces(cal, kind, a, b))
    history = [_draw_segment(draw, cal, kind, a, b) for kind, a, b in pieces]
    if len(history) > 1 and draw(_BOOLEANS):
        history = list(draw(st.permutations(history)))
    return history


def _draw_account_run(
    draw: DrawFn, cal: _Calendar, first_work: int, min_years: int
) -> list[AccountYear]:
    """Consecutive account years whose balances add up (rule account.balance)."""
    if cal.as_of < cal.account_start:
        return []
    start = _ym(cal.account_start)
    last_year = _ym(cal.as_of).year
    first_year = max(start.year, _ym(first_work).year)
    if last_year - first_year + 1 < max(min_years, 1):
        return []
    year0 = draw(st.integers(first_year, last_year - max(min_years, 1) + 1))
    count = draw(st.integers(min_years, last_year - year0 + 1))
    personal_rate = Decimal(draw(st.integers(3, 8))) / 100
    employer_rate = Decimal(draw(st.integers(3, 11))) / 100
    interest_rate = Decimal(draw(st.integers(0, 60))) / 1000
    balance = Decimal(0) if year0 == start.year else Decimal(draw(st.integers(0, 5000000))) / 100
    # One draw per year (its months); the base grows by a drawn yearly rate.
    base0 = Decimal(draw(st.integers(300, 5000)))
    growth = 1 + Decimal(draw(st.integers(0, 15))) / 100
    out: list[AccountYear] = []
    # Full years, except the first (when it is the account's first year) and
    # at most one other year with fewer months (joined or left mid-year).
    short_year = year0 + draw(st.integers(0, count)) if count else year0
    for year in range(year0, year0 + count):
        most = 12 - start.month + 1 if year == start.year else 12
        months = draw(st.integers(1, most)) if year in (start.year, short_year) else most
        base = _cents(base0 * growth ** (year - year0))
        personal = _cents(base * months * personal_rate)
        employer_part = _cents(base * months * employer_rate)
        interest = _cents(balance * interest_rate)
        balance = balance + personal + employer_part + interest
        out.append(
            AccountYear(
                year=year,
                months=months,
                base=Money(base),
                personal=Money(personal),
                employer_part=Money(employer_part),
                interest=Money(interest),
                balance=Money(balance),
            )
        )
    return out


BureauMode = Literal["any", "none", "account"]


def _born_until(cal: _Calendar, latest_first_work: int, gap: int) -> _dt.date:
    """Latest birth date that leaves a legal first-work month <= ``latest_first_work``."""
    birth_index = latest_first_work - gap - 12 * cal.min_age
    if birth_index < YearMonth.of(BORN_FROM).index:
        raise ValueError(
            f"no clean worker can start work by {_ym(latest_first_work)}: the earliest "
            f"birth date is {BORN_FROM} and the minimum working age {cal.min_age}"
        )
    return min(BORN_UNTIL, _last_day(_ym(birth_index)))


@st.composite
def _clean_worker(
    draw: DrawFn,
    cal: _Calendar,
    *,
    latest_first_work: int | None = None,
    first_work_gap: int = 0,
    reserved: Sequence[tuple[int, int]] = (),
    min_account_years: int = 0,
    bureau: BureauMode = "any",
) -> Worker:
    latest = cal.as_of if latest_first_work is None else min(latest_first_work, cal.as_of)
    born_until = _born_until(cal, latest, first_work_gap)
    area = draw(_AREAS)
    born = _dt.date.fromordinal(draw(st.integers(BORN_FROM.toordinal(), born_until.toordinal())))
    seq = draw(st.integers(0, 999))
    id_number = _id_number(area, born, seq, legacy=False)
    gender = Gender.MALE if seq % 2 else Gender.FEMALE
    earliest = cal.bday(born) + first_work_gap
    first_work = earliest + draw(st.integers(0, max(0, latest - earliest)))
    name = draw(_PERSON_NAMES)
    history = _draw_history(draw, cal, first_work, reserved)
    run = _draw_account_run(draw, cal, first_work, min_account_years)
    lo = draw(st.integers(0, max(0, len(run) - min_account_years)))
    hi = draw(st.integers(lo + min(min_account_years, len(run) - lo), len(run)))
    account = run[lo:hi]
    number = draw(st.integers(-1, 9999999))
    person_no = None if number < 0 else f"3710{number:07d}"

    record: BureauRecord | None = None
    mode = bureau if bureau != "any" else _one_of(draw, ("none", "some", "account"))
    if mode != "none":
        legacy_form = f"{id_number[:6]}{id_number[8:17]}"
        record = BureauRecord(
            person_no=person_no,
            id_number=_none_or_one_of(draw, (id_number, legacy_form)),
            name=_none_or_one_of(draw, (name, f" {name} ")),
            gender=_maybe(draw, gender),
            birth_date=_maybe(draw, born),
            first_work=_maybe(draw, _ym(first_work)),
            history=tuple(history[: draw(st.integers(0, len(history)))]),
            account=tuple(run) if mode == "account" else _maybe(draw, tuple(run)),
        )
    return Worker(
        id_number=id_number,
        name=name,
        first_work=_ym(first_work),
        person_no=person_no,
        gender=_maybe(draw, gender),
        birth_date=_maybe(draw, born),
        ethnicity=_none_or_one_of(draw, _ETHNICITIES),
        hukou=_none_or_one_of(draw, _HUKOU),
        history=tuple(history),
        account=tuple(account),
        bureau=record,
    )


def clean_workers(
    as_of: YearMonth | str = DEFAULT_AS_OF, *, pack: RulePack | str | None = None
) -> SearchStrategy[Worker]:
    """Workers on which ``pack`` (default ``weihai-2013``) reports nothing at ``as_of``.

    Built from the pack's parameters at ``as_of``: a valid 18-digit identity
    number (birth 1930..1995) with gender and birth date absent or equal to
    the number's; first work from the minimum-age birthday on; a history of
    non-overlapping periods after first work and up to ``as_of`` -- upper box
    enterprise periods up to the box's last month (total 0 = deemed, else
    pre-account), lower box enterprise periods (handbook or red book) up to
    the account start, institution periods inside the window with the remark
    机关事业缴费, transfers (cross-city ones done before the cutoff, with
    ``transferred_on``) -- each with its category absent or the derived one;
    consecutive account years from the account start with balances that add
    up (the first year holds at most the months from the account start);
    and a bureau block that is absent or agrees (same name and number, every
    collected account year present). With a reference rate table in the
    pack, lower-box rates agree with it.
    """
    cal = _calendar(pack, as_of)
    _born_until(cal, cal.as_of, 0)
    return _clean_worker(cal)


def _dossier_of(
    draw: DrawFn,
    cal: _Calendar,
    *,
    employer: SearchStrategy[Employer],
    special: Sequence[Worker] = (),
    min_workers: int,
    max_workers: int,
) -> Dossier:
    """Clean workers (unique identity numbers) with ``special`` ones inserted at random places."""
    taken = {id_key(w) for w in special}
    clean = draw(
        st.lists(_clean_worker(cal), min_size=min_workers, max_size=max_workers, unique_by=id_key)
    )
    everyone = [w for w in clean if id_key(w) not in taken]
    for worker in special:
        everyone.insert(draw(st.integers(0, len(everyone))), worker)
    name = cal.pack.name
    return Dossier(
        employer=draw(employer),
        workers=tuple(everyone),
        rule_pack=draw(st.none() | st.just(name)),
        as_of=_ym(cal.as_of),
    )


def clean_dossiers(
    as_of: YearMonth | str = DEFAULT_AS_OF,
    *,
    pack: RulePack | str | None = None,
    min_workers: int = 0,
    max_workers: int = 4,
) -> SearchStrategy[Dossier]:
    """Dossiers on which ``pack`` reports nothing: a :func:`clean_employers`
    employer, :func:`clean_workers` with distinct identity numbers, and
    ``as_of`` set. ``rule_pack`` is absent or the pack's name: check with
    ``check(dossier, pack=pack)`` when you pass a pack of your own."""
    cal = _calendar(pack, as_of)
    _born_until(cal, cal.as_of, 0)

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        return _dossier_of(
            draw, cal, employer=clean_employers(), min_workers=min_workers, max_workers=max_workers
        )

    return build()


# --------------------------------------------------------------------------- violators

WorkerBuilder = Callable[[_Calendar], SearchStrategy[Worker]]
DossierBuilder = Callable[[_Calendar], SearchStrategy[Dossier]]
_WORKER_VIOLATORS: dict[str, WorkerBuilder] = {}
_DOSSIER_VIOLATORS: dict[str, DossierBuilder] = {}


def _worker_violator(code: str) -> Callable[[WorkerBuilder], WorkerBuilder]:
    def register(builder: WorkerBuilder) -> WorkerBuilder:
        _WORKER_VIOLATORS[code] = builder
        return builder

    return register


def _dossier_violator(code: str) -> Callable[[DossierBuilder], DossierBuilder]:
    def register(builder: DossierBuilder) -> DossierBuilder:
        _DOSSIER_VIOLATORS[code] = builder
        return builder

    return register


def _impossible(code: str, cal: _Calendar, why: str) -> ValueError:
    return ValueError(f"no worker can break {code} at as_of {_ym(cal.as_of)}: {why}")


def _insert(draw: DrawFn, worker: Worker, extra: Sequence[Segment]) -> Worker:
    history = list(worker.history or ())
    for segment in extra:
        history.insert(draw(st.integers(0, len(history))), segment)
    return attrs.evolve(worker, history=tuple(history))


def _around(cal: _Calendar, make: Callable[[DrawFn], list[Segment]]) -> SearchStrategy[Worker]:
    """A clean worker around violating segments: first work not after their
    start, the clean history kept off their months."""

    @st.composite
    def build(draw: DrawFn) -> Worker:
        extra = make(draw)
        spans = [(min(s.start, s.end).index, max(s.start, s.end).index) for s in extra]
        worker = draw(
            _clean_worker(cal, latest_first_work=min(a for a, _ in spans), reserved=spans)
        )
        return _insert(draw, worker, extra)

    return build()


def _segment_violator(
    code: str,
    kinds: Sequence[str],
    change: Callable[[DrawFn, _Calendar, Segment], Segment],
    *,
    min_len: int = 1,
) -> None:
    """Register a violator: one legal segment of one of ``kinds``, then ``change``."""

    def builder(cal: _Calendar) -> SearchStrategy[Worker]:
        options = _options(cal, kinds, cal.earliest_work, cal.as_of, min_len=min_len)
        if not options:
            raise _impossible(code, cal, f"no room for a {'/'.join(kinds)} period")

        def make(draw: DrawFn) -> list[Segment]:
            kind, start, end = _pick(draw, options, min_len=min_len)
            return [change(draw, cal, _draw_segment(draw, cal, kind, start, end))]

        return _around(cal, make)

    _WORKER_VIOLATORS[code] = builder


_ALL_KINDS = (_ENT, _TRA, _INS)


def _reverse(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, start=s.end, end=s.start)


def _wrong_category(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    kind = (
        _INS
        if s.employer_kind is EmployerKind.INSTITUTION
        else (_TRA if s.source is Source.TRANSFER_IN else _ENT)
    )
    derived = _derived(cal, kind, s.end.index, s.total)
    wrong = draw(st.sampled_from([c for c in Category if c != derived]))
    return attrs.evolve(s, category=wrong)


def _bad_remark(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, remark=draw(st.sampled_from(_BAD_INSTITUTION_REMARKS)))


def _late_cross_city(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    first = max(cal.cutoff, s.end.index)
    done = draw(st.integers(first, max(first, cal.as_of)))
    return attrs.evolve(s, origin=Origin.OTHER_CITY, transferred_on=_ym(done))


def _no_transfer_date(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, origin=Origin.OTHER_CITY, transferred_on=None)


def _no_origin(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, origin=None)


def _transfer_fields(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    which = draw(st.sampled_from(("origin", "transferred_on", "both")))
    origin = draw(st.sampled_from(Origin)) if which != "transferred_on" else None
    done = draw(year_months(s.end, max(s.end, _ym(cal.as_of)))) if which != "origin" else None
    return attrs.evolve(s, origin=origin, transferred_on=done)


def _negative(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    which = draw(st.sampled_from(("total", "base", "both")))
    negative = money(-100000, "-0.01")
    total = draw(negative) if which != "base" else s.total
    base = draw(negative) if which != "total" else s.base
    return attrs.evolve(s, total=total, base=base)


def _no_total(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, total=None, category=draw(st.none() | st.sampled_from(Category)))


_segment_violator("history.month-order", _ALL_KINDS, _reverse, min_len=2)
_segment_violator("history.category", _ALL_KINDS, _wrong_category)
_segment_violator("history.institution-remark", (_INS,), _bad_remark)
_segment_violator("history.cross-city-transfer-after-2010", (_TRA,), _late_cross_city)
_segment_violator("history.transfer-date-missing", (_TRA,), _no_transfer_date)
_segment_violator("history.transfer-origin-missing", (_TRA,), _no_origin)
_segment_violator("history.transfer-fields", (_ENT, _INS), _transfer_fields)
_segment_violator("history.negative-amount", _ALL_KINDS, _negative)


@_worker_violator("history.total-required")
def _total_required(cal: _Calendar) -> SearchStrategy[Worker]:
    options = [
        o
        for o in _options(cal, (_ENT,), cal.earliest_work, min(cal.as_of, cal.upper_last))
        if o[2] <= cal.upper_last
    ]
    if not options:
        raise _impossible("history.total-required", cal, "no upper-box month to collect")

    def make(draw: DrawFn) -> list[Segment]:
        kind, start, end = _pick(draw, options)
        return [_no_total(draw, cal, _draw_segment(draw, cal, kind, start, end))]

    return _around(cal, make)


@_worker_violator("history.future")
def _future(cal: _Calendar) -> SearchStrategy[Worker]:
    # A period that starts by as_of and ends after it, in a zone where it has
    # a category (e.g. a transfer after the account start).
    options = [
        (kind, first, min(cal.as_of, last), last)
        for kind in _ALL_KINDS
        for first, last in ((max(a, cal.earliest_work), b) for a, b in _zones(cal, kind))
        if last > cal.as_of and first <= cal.as_of
    ]
    if not options:
        raise _impossible("history.future", cal, "no zone runs past as_of")

    def make(draw: DrawFn) -> list[Segment]:
        kind, first, start_last, zone_last = draw(st.sampled_from(options))
        start = draw(st.integers(first, start_last))
        end = draw(st.integers(cal.as_of + 1, min(zone_last, cal.as_of + 60)))
        return [_draw_segment(draw, cal, kind, start, end)]

    return _around(cal, make)


@_worker_violator("history.before-first-work")
def _before_first_work(cal: _Calendar) -> SearchStrategy[Worker]:
    _born_until(cal, cal.as_of, 1)

    @st.composite
    def build(draw: DrawFn) -> Worker:
        worker = draw(_clean_worker(cal, first_work_gap=1))
        born = IdentityNumber.parse(worker.id_number).birth_date
        options = _options(cal, _ALL_KINDS, cal.bday(born), worker.first_work.index - 1)
        kind, start, end = _pick(draw, options)
        return _insert(draw, worker, [_draw_segment(draw, cal, kind, start, end)])

    return build()


@_worker_violator("history.overlap")
def _overlap(cal: _Calendar) -> SearchStrategy[Worker]:
    options = _options(cal, _ALL_KINDS, cal.earliest_work, cal.as_of)
    if not options:
        raise _impossible("history.overlap", cal, "no room for a period")

    def make(draw: DrawFn) -> list[Segment]:
        kind, first, last = _pick(draw, options)
        shared_from = draw(st.integers(first, last))
        shared_to = draw(st.integers(shared_from, last))
        return [
            _draw_segment(draw, cal, kind, first, shared_to),
            _draw_segment(draw, cal, kind, shared_from, last),
        ]

    return _around(cal, make)


@_worker_violator("history.crosses-box")
def _crosses_box(cal: _Calendar) -> SearchStrategy[Worker]:
    starts = (cal.earliest_work, cal.upper_last)
    ends = (cal.upper_last + 1, min(cal.account_start - 1, cal.as_of))
    if starts[0] > starts[1] or ends[0] > ends[1]:
        raise _impossible("history.crosses-box", cal, "the box boundary is out of reach")

    def make(draw: DrawFn) -> list[Segment]:
        start = draw(st.integers(max(starts[0], starts[1] - 240), starts[1]))
        end = draw(st.integers(*ends))
        return [_draw_segment(draw, cal, _ENT, start, end, placed=False)]

    return _around(cal, make)


@_worker_violator("history.crosses-account-start")
def _crosses_account_start(cal: _Calendar) -> SearchStrategy[Worker]:
    before = cal.account_start - 1
    options = [
        (kind, lo)
        for kind, lo in (
            (_ENT, max(cal.upper_last + 1, cal.earliest_work)),
            (_TRA, cal.earliest_work),
        )
        if lo <= before
    ]
    if not options or cal.as_of < cal.account_start:
        raise _impossible("history.crosses-account-start", cal, "the account start is out of reach")

    def make(draw: DrawFn) -> list[Segment]:
        kind, lo = draw(st.sampled_from(options))
        start = draw(st.integers(max(lo, before - 120), before))
        end = draw(st.integers(cal.account_start, min(cal.as_of, cal.account_start + 120)))
        return [_draw_segment(draw, cal, kind, start, end, placed=False)]

    return _around(cal, make)


@_worker_violator("history.institution-range")
def _institution_range(cal: _Calendar) -> SearchStrategy[Worker]:
    variants: list[str] = []
    if cal.earliest_work < cal.window_start and cal.earliest_work <= cal.as_of:
        variants.append("before")
    if cal.as_of > cal.window_end:
        variants.append("after")
    if not variants:
        raise _impossible("history.institution-range", cal, "no month outside the window")

    def make(draw: DrawFn) -> list[Segment]:
        if draw(st.sampled_from(variants)) == "before":
            start = draw(st.integers(cal.earliest_work, min(cal.window_start - 1, cal.as_of)))
            end = draw(st.integers(start, min(cal.as_of, start + 240)))
        else:
            end = draw(st.integers(cal.window_end + 1, cal.as_of))
            start = draw(st.integers(max(cal.earliest_work, end - 240), end))
        return [_draw_segment(draw, cal, _INS, start, end)]

    return _around(cal, make)


@_worker_violator("history.enterprise-after-account-start")
def _enterprise_in_account(cal: _Calendar) -> SearchStrategy[Worker]:
    first = max(cal.account_start, cal.earliest_work)
    if first > cal.as_of:
        raise _impossible(
            "history.enterprise-after-account-start", cal, "as_of is before the account start"
        )

    def make(draw: DrawFn) -> list[Segment]:
        start = draw(st.integers(first, cal.as_of))
        end = draw(st.integers(start, min(cal.as_of, start + 120)))
        return [_draw_segment(draw, cal, _ENT, start, end, placed=False)]

    return _around(cal, make)


@_worker_violator("history.rate-reference")
def _rate_reference(cal: _Calendar) -> SearchStrategy[Worker]:
    if not cal.rate_table:
        raise _impossible(
            "history.rate-reference",
            cal,
            "the pack has no individual_rate_reference table, so the rule is inactive; pass "
            "pack=with_rate_reference([...]) (docs/testing.md)",
        )
    options = [
        (band, option)
        for band in cal.rate_table
        for option in _options(
            cal,
            _ALL_KINDS,
            max(cal.earliest_work, band.start.index),
            min(cal.as_of, band.end.index),
            lower_box_only=True,
        )
    ]
    if not options:
        raise _impossible("history.rate-reference", cal, "no band covers a lower-box month")

    def make(draw: DrawFn) -> list[Segment]:
        band, option = draw(st.sampled_from(options))
        kind, start, end = _pick(draw, [option])
        rate = draw(rates(0, Decimal("0.3"), places=4))
        if rate == band.rate:
            rate = rate + Decimal("0.01")
        return [attrs.evolve(_draw_segment(draw, cal, kind, start, end), rate=rate)]

    return _around(cal, make)


# -- person -------------------------------------------------------------------------------


def _person_violator(code: str, change: Callable[[DrawFn, _Calendar, Worker], Worker]) -> None:
    def builder(cal: _Calendar) -> SearchStrategy[Worker]:
        _born_until(cal, cal.as_of, 0)

        @st.composite
        def build(draw: DrawFn) -> Worker:
            return change(draw, cal, draw(_clean_worker(cal)))

        return build()

    _WORKER_VIOLATORS[code] = builder


def _replace_id(draw: DrawFn, worker: Worker, new_id: str) -> Worker:
    """Put ``new_id`` in; the bureau keeps no conflicting number (that is another rule)."""
    bureau = worker.bureau
    if bureau is not None and bureau.id_number is not None:
        bureau = attrs.evolve(bureau, id_number=draw(st.sampled_from((None, new_id))))
    return attrs.evolve(worker, id_number=new_id, bureau=bureau)


_BAD_ID_FORMATS = _bad_id_formats()


def _id_format(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    return _replace_id(draw, w, draw(_BAD_ID_FORMATS))


def _id_checksum(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    right = w.id_number[17]
    wrong = draw(st.sampled_from([c for c in "0123456789X" if c != right]))
    return _replace_id(draw, w, w.id_number[:17] + wrong)


def _id_birth_date(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    year = int(w.id_number[6:10])
    variant = draw(st.sampled_from(("month", "day", "year")))
    month, day = int(w.id_number[10:12]), int(w.id_number[12:14])
    if variant == "month":
        month = draw(st.sampled_from((0, 13, 20, 99)))
    elif variant == "day":
        day = draw(st.integers(calendar.monthrange(year, month)[1] + 1, 99) | st.just(0))
    else:
        year = draw(st.integers(1000, 1879))
    first17 = f"{w.id_number[:6]}{year:04d}{month:02d}{day:02d}{w.id_number[14:17]}"
    return _replace_id(draw, w, first17 + check_char(first17))


def _id_legacy(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    return attrs.evolve(w, id_number=w.id_number[:6] + w.id_number[8:17])


def _gender_mismatch(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    number_says = Gender(IdentityNumber.parse(w.id_number).gender)
    other = Gender.FEMALE if number_says is Gender.MALE else Gender.MALE
    return attrs.evolve(w, gender=other)


def _birth_date_mismatch(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    born = IdentityNumber.parse(w.id_number).birth_date
    shift = draw(st.integers(1, 4000)) * draw(st.sampled_from((1, -1)))
    return attrs.evolve(w, birth_date=born + _dt.timedelta(days=shift))


def _first_work_age(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    born = IdentityNumber.parse(w.id_number).birth_date
    too_early = draw(st.integers(max(_MIN_INDEX, YearMonth.of(born).index), cal.bday(born) - 1))
    bureau = w.bureau
    if bureau is not None and bureau.first_work is not None:
        bureau = attrs.evolve(bureau, first_work=_ym(too_early))
    return attrs.evolve(w, first_work=_ym(too_early), bureau=bureau)


def _window_only(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    which = draw(st.sampled_from(("name", "id_number", "both")))
    bureau = w.bureau if w.bureau is not None else BureauRecord()
    name, number = bureau.name, bureau.id_number
    if which != "id_number":
        name = w.name + draw(st.text(alphabet=_GIVEN, min_size=1, max_size=1))
    if which != "name":
        seq = (int(w.id_number[14:17]) + 2 * draw(st.integers(1, 499))) % 1000
        first17 = f"{w.id_number[:14]}{seq:03d}"
        number = first17 + check_char(first17)
    return attrs.evolve(w, bureau=attrs.evolve(bureau, name=name, id_number=number))


_person_violator("person.id-format", _id_format)
_person_violator("person.id-checksum", _id_checksum)
_person_violator("person.id-birth-date", _id_birth_date)
_person_violator("person.id-legacy", _id_legacy)
_person_violator("person.gender-mismatch", _gender_mismatch)
_person_violator("person.birth-date-mismatch", _birth_date_mismatch)
_person_violator("person.first-work-age", _first_work_age)
_person_violator("person.window-only-change", _window_only)


# -- account and collection ---------------------------------------------------------------


def _account_violator(
    code: str,
    change: Callable[[DrawFn, _Calendar, Worker], Worker],
    *,
    min_years: int,
    bureau: BureauMode = "any",
) -> None:
    def builder(cal: _Calendar) -> SearchStrategy[Worker]:
        if cal.as_of < cal.account_start:
            raise _impossible(code, cal, "as_of is before the account start")
        last_year = _ym(cal.as_of).year
        latest_first_work = min(cal.as_of, YearMonth(last_year - min_years + 1, 12).index)
        if last_year - _ym(cal.account_start).year + 1 < min_years:
            raise _impossible(code, cal, f"fewer than {min_years} account years by as_of")
        _born_until(cal, latest_first_work, 0)

        @st.composite
        def build(draw: DrawFn) -> Worker:
            worker = draw(
                _clean_worker(
                    cal,
                    latest_first_work=latest_first_work,
                    min_account_years=min_years,
                    bureau=bureau,
                )
            )
            return change(draw, cal, worker)

        return build()

    _WORKER_VIOLATORS[code] = builder


def _with_years(w: Worker, account: Sequence[AccountYear], added: Sequence[AccountYear]) -> Worker:
    """Set the account; years ``added`` go into the bureau's account too."""
    bureau = w.bureau
    if added and bureau is not None and bureau.account is not None:
        bureau = attrs.evolve(bureau, account=bureau.account + tuple(added))
    return attrs.evolve(w, account=tuple(account), bureau=bureau)


def _before_start(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    start = _ym(cal.account_start)
    account = list(w.account or ())
    first_years = [i for i, y in enumerate(account) if y.year == start.year]
    most = 12 - start.month + 1
    if first_years and most < 12 and draw(st.booleans()):
        i = first_years[0]
        account[i] = attrs.evolve(account[i], months=draw(st.integers(most + 1, 12)))
        return _with_years(w, account, ())
    # A year at least two before the start: the balance check skips it (its
    # previous year is absent) and it does not become the start year's previous.
    year = draw(st.integers(start.year - 12, start.year - 2))
    extra = AccountYear(
        year=year,
        months=draw(st.integers(1, 12)),
        base=draw(money(300, 5000)),
        personal=draw(money(0, 500)),
        employer_part=draw(money(0, 500)),
        interest=draw(money(0, 50)),
        balance=draw(money(0, 5000)),
    )
    account.insert(draw(st.integers(0, len(account))), extra)
    return _with_years(w, account, (extra,))


def _bad_months(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    account = list(w.account or ())
    i = draw(st.integers(0, len(account) - 1))
    too_many = (
        st.integers(13, 40) if account[i].year != _ym(cal.account_start).year else st.nothing()
    )
    account[i] = attrs.evolve(account[i], months=draw(st.integers(-12, 0) | too_many))
    return _with_years(w, account, ())


def _duplicate_year(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    account = list(w.account or ())
    i = draw(st.integers(0, len(account) - 1))
    copy = account[i]
    if draw(st.booleans()):
        copy = attrs.evolve(copy, balance=draw(money(0, 100000)), interest=draw(money(0, 500)))
    account.insert(draw(st.integers(i + 1, len(account))), copy)
    return _with_years(w, account, ())


def _bad_balance(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    account = list(w.account or ())
    years = {y.year for y in account}
    start_year = _ym(cal.account_start).year
    checked = [i for i, y in enumerate(account) if y.year - 1 in years or y.year == start_year]
    i = draw(st.sampled_from(checked))
    delta = Decimal(draw(st.integers(2, 100000))) / 100 * draw(st.sampled_from((1, -1)))
    account[i] = attrs.evolve(account[i], balance=Money(account[i].balance + delta))
    return _with_years(w, account, ())


def _not_in_bureau(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    assert w.bureau is not None
    assert w.bureau.account is not None
    assert w.account
    missing = draw(st.sampled_from([y.year for y in w.account]))
    bureau = attrs.evolve(w.bureau, account=tuple(y for y in w.bureau.account if y.year != missing))
    return attrs.evolve(w, bureau=bureau)


def _incomplete(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    which = draw(st.sampled_from(("history", "account", "both")))
    history = None if which != "account" else w.history
    account = None if which != "history" else w.account
    return attrs.evolve(w, history=history, account=account)


_account_violator("account.before-start", _before_start, min_years=0)
_account_violator("account.months", _bad_months, min_years=1)
_account_violator("account.duplicate-year", _duplicate_year, min_years=1)
_account_violator("account.balance", _bad_balance, min_years=2)
_account_violator("account.not-in-bureau", _not_in_bureau, min_years=1, bureau="account")
_person_violator("collection.incomplete", _incomplete)


# -- dossier scope ------------------------------------------------------------------------


def _employer_violator(code: str, codes: Callable[[], SearchStrategy[str]]) -> None:
    def builder(cal: _Calendar) -> SearchStrategy[Dossier]:
        employer = st.builds(attrs.evolve, clean_employers(), credit_code=codes())

        @st.composite
        def build(draw: DrawFn) -> Dossier:
            return _dossier_of(draw, cal, employer=employer, min_workers=0, max_workers=3)

        return build()

    _DOSSIER_VIOLATORS[code] = builder


_employer_violator("employer.credit-code", _bad_credit_codes)
_employer_violator("employer.credit-code-org", _org_check_broken_codes)


@_dossier_violator("person.duplicate-id")
def _duplicate_id(cal: _Calendar) -> SearchStrategy[Dossier]:
    _born_until(cal, cal.as_of, 0)

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        dossier = _dossier_of(draw, cal, employer=clean_employers(), min_workers=1, max_workers=3)
        everyone = list(dossier.workers)
        i = draw(st.integers(0, len(everyone) - 1))
        copy = attrs.evolve(everyone[i], person_no=draw(st.none() | _digits(11, 11)))
        if copy.bureau is not None:
            copy = attrs.evolve(copy, bureau=attrs.evolve(copy.bureau, person_no=copy.person_no))
        everyone.insert(draw(st.integers(i + 1, len(everyone))), copy)
        return attrs.evolve(dossier, workers=tuple(everyone))

    return build()


#: Worker-scope codes :func:`violating_workers` has a strategy for.
WORKER_CODES: frozenset[str] = frozenset(_WORKER_VIOLATORS)
#: Dossier-scope codes only :func:`violating_dossiers` has a strategy for.
DOSSIER_CODES: frozenset[str] = frozenset(_DOSSIER_VIOLATORS)


def violating_workers(
    code: str, *, as_of: YearMonth | str = DEFAULT_AS_OF, pack: RulePack | str | None = None
) -> SearchStrategy[Worker]:
    """Workers on which ``pack`` at ``as_of`` reports ``code`` and nothing else.

    ``code`` is one of :data:`WORKER_CODES`. Check the worker in a dossier
    whose ``as_of`` is the same month, with the same pack (or use
    :func:`violating_dossiers`). Every finding about the worker then has
    this code (a few codes come twice: an altered balance also breaks the
    next year's). Raises :class:`ValueError` for a code without a strategy,
    or when nothing can break the rule at ``as_of`` -- ``history.rate-reference``
    needs a pack with a reference rate table (:func:`with_rate_reference`).
    """
    if code not in _WORKER_VIOLATORS:
        hint = " (a dossier-scope code: use violating_dossiers)" if code in DOSSIER_CODES else ""
        raise ValueError(f"no violator strategy for {code!r}{hint}")
    return _WORKER_VIOLATORS[code](_calendar(pack, as_of))


def violating_dossiers(
    code: str, *, as_of: YearMonth | str = DEFAULT_AS_OF, pack: RulePack | str | None = None
) -> SearchStrategy[Dossier]:
    """Dossiers on which ``pack`` reports ``code`` and nothing else.

    Every code of :data:`WORKER_CODES` and :data:`DOSSIER_CODES`: for a
    worker-scope code, one violating worker among clean ones (identity
    numbers distinct); for an employer code, a clean dossier with a broken
    credit code; for ``person.duplicate-id``, a clean dossier where a worker
    appears twice. ``as_of`` is set on the dossier.
    """
    cal = _calendar(pack, as_of)
    if code in _DOSSIER_VIOLATORS:
        return _DOSSIER_VIOLATORS[code](cal)
    if code not in _WORKER_VIOLATORS:
        raise ValueError(f"no violator strategy for {code!r}")
    violators = _WORKER_VIOLATORS[code](cal)

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        violator = draw(violators)
        return _dossier_of(
            draw,
            cal,
            employer=clean_employers(),
            special=(violator,),
            min_workers=0,
            max_workers=3,
        )

    return build()


def with_rate_reference(
    bands: Iterable[RateBand | tuple[YearMonth | str, YearMonth | str, Decimal | str]],
    *,
    pack: RulePack | str | None = None,
    since: YearMonth | str = FIRST_MONTH,
    source: str = "configured for tests",
) -> RulePack:
    """A copy of ``pack`` (default ``weihai-2013``) whose ``individual_rate_reference``
    table holds ``bands`` from ``since`` on, so rule ``history.rate-reference`` runs.

    A band is a :class:`~pension_collect.rules.RateBand` or a ``(start, end,
    rate)`` tuple such as ``("1993-01", "1996-03", "0.03")``. Needs no
    hypothesis; the other parameters are unchanged.
    """
    base = _resolve_pack(pack)
    table: list[RateBand] = []
    for band in bands:
        if isinstance(band, RateBand):
            table.append(band)
        else:
            start, end, rate = band
            table.append(
                RateBand(
                    _as_ym(start, "start"),
                    _as_ym(end, "end"),
                    _as_decimal(rate, "rate"),
                )
            )
    value = DatedValue(
        since=_as_ym(since, "since"),
        value=tuple(sorted(table, key=lambda b: b.start)),
        source=source,
        confidence=Confidence.UNKNOWN,
    )
    params: Mapping[str, Parameter] = base.parameters.parameters
    old = params.get("individual_rate_reference")
    parameter = Parameter(
        name="individual_rate_reference",
        description=old.description if old is not None else "individual rate reference table",
        type="rate_table",
        values=(value,),
    )
    parameters = attrs.evolve(
        base.parameters, parameters={**params, "individual_rate_reference": parameter}
    )
    return attrs.evolve(base, parameters=parameters)
