"""The domain model: employers, workers, contribution-history segments, account years.

Classes here are frozen, slotted attrs classes checked on construction for
*shape* only: a month is a :class:`YearMonth`, money is a
:class:`~decimal.Decimal` with at most two places, a category is a
:class:`Category` -- what the dossier format can write and read back. The
obvious is converted (``"1993-01"`` to a month, ``"453.60"`` or ``453`` to
money, ``"deemed"`` to :attr:`Category.DEEMED`, a list to a tuple); anything
else is refused with a :class:`FieldValueError` naming the class and field.
Domain *judgement* -- is this segment in the right box, is the identity
number's check digit right, does the period end after it starts -- lives in
:mod:`pension_collect.rules` so that a dossier with wrong data can still be
loaded and reported on.

Glossary (see docs/glossary.md): a *segment* is one line of the contribution
history (缴费历史); an *account year* is one year of the individual pension
account (养老账户); the *bureau record* is what the bureau holds today (from a
data sync, 数据同步).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any, NewType, TypeVar

import attrs

from ._privacy import id_repr, shape
from .errors import PensionCollectError

__all__ = [
    "AccountYear",
    "BureauRecord",
    "Category",
    "Dossier",
    "Employer",
    "EmployerKind",
    "FieldTypeError",
    "FieldValueError",
    "Gender",
    "Hukou",
    "Money",
    "Origin",
    "Segment",
    "Source",
    "Worker",
    "YearMonth",
    "money",
    "months_between",
    "parse_date",
    "parse_money",
    "parse_rate",
]

#: Money in yuan: a :class:`~decimal.Decimal` with at most two places (fen).
#: Never a float.
Money = NewType("Money", Decimal)

_RATE_RE = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,6})?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_money(value: object) -> Money:
    """Parse a decimal string in yuan (``"453.60"``) into :data:`Money`.

    Accepts a :class:`~decimal.Decimal` with at most two places as well.
    Raises :class:`ValueError` (or :class:`TypeError` for a float or int, which
    the dossier format forbids) with a message saying what to write instead.
    """
    if type(value) is str:
        return _money_from_str(value)
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if not value.is_finite() or not isinstance(exponent, int) or exponent < -2:
            raise ValueError("money must be finite with at most two decimal places")
        return Money(value)
    if isinstance(value, bool | int | float):
        raise TypeError(
            f'money must be a decimal string such as "453.60", not a JSON number ({shape(value)})'
        )
    raise TypeError(f"money must be a decimal string, not {type(value).__name__}")


# Decimal's own canonical spelling of a finite amount with at most two places
# (what ``str(Decimal(s)) == s`` accepts): no spaces, "+", "1_000", leading
# zeros, exponents or non-ASCII digits.
_money_text = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?").fullmatch


def _money_from_str(value: str) -> Money:
    # Hot path: a dossier holds millions of amounts.
    if type(value) is str and _money_text(value) is not None:
        return Money(Decimal(value))
    raise ValueError(
        'money must be a decimal string in yuan with at most two places, e.g. "453.60"'
    )


def money(value: str | Decimal) -> Money:
    """Short form of :func:`parse_money` for code and tests: ``money("12.30")``."""
    return parse_money(value)


def parse_rate(value: object) -> Decimal:
    """Parse a contribution rate written as a decimal string (``"0.03"``)."""
    if type(value) is str:
        if _RATE_RE.fullmatch(value) is None:
            raise ValueError('a rate must be a decimal string such as "0.03"')
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, bool | int | float):
        raise TypeError(
            f'a rate must be a decimal string such as "0.03", not a number ({shape(value)})'
        )
    raise TypeError(f"a rate must be a decimal string, not {type(value).__name__}")


def parse_date(value: object) -> _dt.date:
    """Parse ``"YYYY-MM-DD"``."""
    if type(value) is not str:
        raise TypeError(f'a date must be a string "YYYY-MM-DD", not {type(value).__name__}')
    if _DATE_RE.fullmatch(value) is None:
        raise ValueError('a date must be written "YYYY-MM-DD"')
    try:
        return _dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        raise ValueError("not a real calendar date (month or day out of range)") from None


class FieldValueError(PensionCollectError, ValueError):
    """A model field was given a value of the wrong shape.

    ``class_name`` and ``field`` name it (``Segment.total``); ``message`` and
    ``message_zh`` say what the field takes and what it was given -- by type
    (``float``, ``a str that is not a month 01..12 of 1900..2199``), never
    the value itself, which may be a name or an identity number. The
    dossier reader puts ``message`` under the field's JSON path.
    """

    code = "model.field-value"

    def __init__(self, class_name: str, field: str, message: str, message_zh: str) -> None:
        super().__init__(f"{class_name}.{field}: {message}")
        self.class_name = class_name
        self.field = field
        self.message = message
        self.message_zh = message_zh


class FieldTypeError(FieldValueError, TypeError):
    """A model field was given a value of a type it does not take (a float for
    money, an int for a month); also a :class:`TypeError`."""

    code = "model.field-type"


class _Refused(Exception):
    """Raised by a shape converter or validator; re-raised as ``error`` with
    the class and field named (see :func:`_name_fields`)."""

    def __init__(self, error: type[FieldValueError], message: str, message_zh: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.message_zh = message_zh

    def named(self, class_name: str, field: str) -> FieldValueError:
        return self.error(class_name, field, self.message, self.message_zh)


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _wrong_type(value: object, expected: str, expected_zh: str) -> _Refused:
    given = _type_name(value)
    return _Refused(
        FieldTypeError, f"must be {expected}, not {given}", f"应为{expected_zh},而不是 {given}"
    )


def _wrong_value(given: str, given_zh: str, expected: _Expected) -> _Refused:
    return _Refused(
        FieldValueError,
        f"must be {expected[0]}, not {given}",
        f"应为{expected[1]},而不是{given_zh}",
    )


def _month_range(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _int_in(value, 1, 12, "YearMonth", attribute.name)


def _year_range(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _int_in(value, 1900, 2199, "YearMonth", attribute.name)


def _int_in(value: object, low: int, high: int, class_name: str, field: str) -> None:
    if type(value) is not int:
        raise _wrong_type(value, f"an int {low}..{high}", f"{low}..{high} 的整数").named(
            class_name, field
        )
    if not low <= value <= high:
        # A month or year number is not personal data: it is shown.
        raise FieldValueError(
            class_name,
            field,
            f"must be {low}..{high}, not {value}",
            f"应为 {low}..{high},而不是 {value}",
        )


@attrs.frozen(eq=False, order=False)
class YearMonth:
    """A calendar month, written ``"YYYY-MM"`` in the dossier format.

    Equality, hashing and ordering go through :attr:`index`, kept in a slot:
    the rules compare months constantly.
    """

    year: int = attrs.field(validator=_year_range)
    month: int = attrs.field(validator=_month_range)
    _index: int = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", self.year * 12 + self.month - 1)

    def __eq__(self, other: object) -> bool:
        if type(other) is YearMonth:
            return self._index == other._index
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._index)

    def __lt__(self, other: YearMonth) -> bool:
        if type(other) is YearMonth:
            return self._index < other._index
        return NotImplemented

    def __le__(self, other: YearMonth) -> bool:
        if type(other) is YearMonth:
            return self._index <= other._index
        return NotImplemented

    def __gt__(self, other: YearMonth) -> bool:
        if type(other) is YearMonth:
            return self._index > other._index
        return NotImplemented

    def __ge__(self, other: YearMonth) -> bool:
        if type(other) is YearMonth:
            return self._index >= other._index
        return NotImplemented

    @classmethod
    def parse(cls, value: object) -> YearMonth:
        """Parse ``"YYYY-MM"``; raises :class:`ValueError`/:class:`TypeError`."""
        if type(value) is not str:
            raise TypeError(f'a month must be a string "YYYY-MM", not {type(value).__name__}')
        return _parse_year_month(value)

    @classmethod
    def _parse_uncached(cls, value: str) -> YearMonth:
        digits = value[:4] + value[5:]
        # ASCII only: str.isdigit() and int() also take "２０１３" or "٢٠١٣".
        if len(value) != 7 or value[4] != "-" or not (digits.isascii() and digits.isdigit()):
            raise ValueError(f'a month must be written "YYYY-MM", not {shape(value)}')
        month = int(value[5:])
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 01..12, not {value[5:]!r}")
        return cls(int(value[:4]), month)

    @classmethod
    def from_index(cls, index: int) -> YearMonth:
        """The month whose :attr:`index` is ``index``."""
        return _from_index(index)

    @classmethod
    def of(cls, day: _dt.date) -> YearMonth:
        """The month a date falls in."""
        return cls(day.year, day.month)

    @property
    def index(self) -> int:
        """Months since year 0: consecutive months differ by one."""
        return self._index

    def add(self, months: int) -> YearMonth:
        """The month ``months`` later (earlier when negative)."""
        return YearMonth.from_index(self.index + months)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# Months repeat endlessly in a dossier; YearMonth is immutable.
_parse_year_month = functools.lru_cache(maxsize=4096)(YearMonth._parse_uncached)


@functools.lru_cache(maxsize=4096)
def _from_index(index: int) -> YearMonth:
    year, month0 = divmod(index, 12)
    return YearMonth(year, month0 + 1)


def months_between(start: YearMonth, end: YearMonth) -> int:
    """Inclusive count of months from ``start`` to ``end`` (0 when end < start)."""
    return max(0, end.index - start.index + 1)


class Gender(StrEnum):
    """性别."""

    MALE = "male"
    FEMALE = "female"


class Hukou(StrEnum):
    """户口性质: urban or rural household registration."""

    URBAN = "urban"
    RURAL = "rural"


class Category(StrEnum):
    """账户类别 of a contribution-history segment."""

    #: 视同缴费: years worked before personal contributions existed
    DEEMED = "deemed"
    #: 实行账户前缴费: contributions before the individual account began
    PRE_ACCOUNT = "pre_account"
    #: 实行账户后缴费: contributions after the individual account began
    POST_ACCOUNT = "post_account"


class Source(StrEnum):
    """Where a segment was read from."""

    HANDBOOK = "handbook"  # 养老手册
    RED_BOOK = "red_book"  # 小红本
    TRANSFER_IN = "transfer_in"  # 转入


class EmployerKind(StrEnum):
    """Kind of employer the segment was worked for."""

    ENTERPRISE = "enterprise"  # 企业
    INSTITUTION = "institution"  # 机关事业单位


class Origin(StrEnum):
    """Where a transferred-in period comes from."""

    LOCAL = "local"  # 本市
    OTHER_CITY = "other_city"  # 跨市


# -- shape: converters and validators -------------------------------------------
#
# A field's converter checks the type of what it is given and converts the
# obvious; given a value that already has the field's type it returns that
# very value. The dossier reader's fast path, whose inline checks produce
# exactly those types, therefore need not call it (pension_collect._fastpath
# checks at import that every field's converter is its type's one below).
# Validators check what a type cannot say (a blank name). Both raise _Refused;
# _name_fields makes that a FieldValueError naming the class and the field.

_E = TypeVar("_E", bound=StrEnum)
_R = TypeVar("_R")
_Expected = tuple[str, str]

_MONTH: _Expected = ('a YearMonth or a "YYYY-MM" string', 'YearMonth 或 "YYYY-MM" 字符串')
_MONEY: _Expected = (
    'Money (a Decimal with at most two places), a decimal string such as "453.60" or an int',
    '金额(最多两位小数的 Decimal)、如 "453.60" 的小数字符串或整数',
)
_RATE: _Expected = (
    'a finite Decimal, a decimal string such as "0.03" or an int',
    '有限的 Decimal、如 "0.03" 的小数字符串或整数',
)
# A plain decimal number: what Decimal reads without exponent, spaces or "+".
_decimal_text = re.compile(r"-?[0-9]+(?:\.[0-9]+)?").fullmatch
_DATE: _Expected = (
    'a datetime.date or a "YYYY-MM-DD" string',
    'datetime.date 或 "YYYY-MM-DD" 字符串',
)


def _expect(expected: _Expected, optional: bool) -> _Expected:
    return (f"{expected[0]} (or None)", f"{expected[1]}(或 None)") if optional else expected


def _wrong_str(what: str, what_zh: str, expected: _Expected) -> _Refused:
    """A str of the right type that says nothing the field takes (not echoed:
    a shifted column can put a name or an identity number anywhere)."""
    return _Refused(
        FieldValueError,
        f"must be {expected[0]}, not a str that is {what}",
        f"应为{expected[1]},而不是{what_zh}的字符串",
    )


def _to_month(value: object, optional: bool) -> YearMonth:
    if type(value) is YearMonth:
        return value
    if type(value) is str:
        try:
            return _parse_year_month(value)
        except ValueError:
            raise _wrong_str(
                "not a month 01..12 of 1900..2199", "无效月份", _expect(_MONTH, optional)
            ) from None
    raise _wrong_type(value, *_expect(_MONTH, optional))


def _to_money(value: object, optional: bool) -> Money:
    if type(value) is Decimal:
        exponent = value.as_tuple().exponent
        if type(exponent) is int and exponent >= -2:
            return Money(value)
        expected = _expect(_MONEY, optional)
        if type(exponent) is int:
            raise _wrong_value(
                "a Decimal with more than two places", "超过两位小数的 Decimal", expected
            )
        raise _wrong_value("a Decimal that is not finite", "非有限的 Decimal", expected)
    if type(value) is str:
        if _money_text(value) is not None:
            return Money(Decimal(value))
        raise _wrong_str("not such an amount", "无效金额", _expect(_MONEY, optional))
    if type(value) is int:
        return Money(Decimal(value))
    if isinstance(value, Decimal):  # a subclass: as a plain Decimal
        return _to_money(Decimal(value), optional)
    raise _wrong_type(value, *_expect(_MONEY, optional))


def _to_rate(value: object, optional: bool) -> Decimal:
    # Any finite rate: a negative one is for rule history.negative-amount to
    # report (the dossier format writes only 0 <= rate < 1000).
    if type(value) is Decimal:
        if value.is_finite():
            return value
        raise _wrong_value(
            "a Decimal that is not finite", "非有限的 Decimal", _expect(_RATE, optional)
        )
    if type(value) is str:
        if _decimal_text(value) is not None:
            return Decimal(value)
        raise _wrong_str("not a decimal number", "无效小数", _expect(_RATE, optional))
    if type(value) is int:
        return Decimal(value)
    if isinstance(value, Decimal):
        return _to_rate(Decimal(value), optional)
    raise _wrong_type(value, *_expect(_RATE, optional))


def _to_date(value: object, optional: bool) -> _dt.date:
    if type(value) is _dt.date:
        return value
    if type(value) is str:
        try:
            return parse_date(value)
        except ValueError:
            raise _wrong_str("not a real date", "无效日期", _expect(_DATE, optional)) from None
    raise _wrong_type(value, *_expect(_DATE, optional))  # a datetime too: it has a time


def _to_enum(cls: type[_E], value: object, optional: bool) -> _E:
    if type(value) is cls:
        return value
    values = ", ".join(f'"{m.value}"' for m in cls)
    expected = _expect(
        (f"a {cls.__name__} or one of {values}", f"{cls.__name__} 或 {values}"), optional
    )
    if type(value) is str:  # a plain str; another enum's member is refused
        try:
            return cls(value)
        except ValueError:
            raise _wrong_str("none of them", "取值不在其中", expected) from None
    raise _wrong_type(value, *expected)


def _a(name: str) -> str:
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def _to_record(cls: type[_R], value: object, optional: bool) -> _R:
    if isinstance(value, cls):
        return value
    name = cls.__name__
    raise _wrong_type(value, *_expect((_a(name), name), optional))


def _to_records(cls: type[_R], value: object, optional: bool) -> tuple[_R, ...]:
    name = cls.__name__
    expected = _expect((f"a tuple or list of {name}", f"{name} 的元组或列表"), optional)
    if type(value) is tuple:
        items: tuple[Any, ...] = value
    elif type(value) is list:
        items = tuple(value)
    else:
        raise _wrong_type(value, *expected)
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            given = _type_name(item)
            raise _Refused(
                FieldTypeError,
                f"must be {expected[0]}, not one holding {given} at index {i}",
                f"应为{expected[1]},而第 {i} 项是 {given}",
            )
    return items


def _int(value: int) -> int:
    if type(value) is int:
        return value
    raise _wrong_type(value, "an int", "整数")


def _text_or_none(value: str | None) -> str | None:
    if value is None or type(value) is str:
        return value
    raise _wrong_type(value, "a str or None", "字符串或 None")


def _non_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str:
        raise _wrong_type(value, "a non-empty string", "非空字符串")
    if not value.strip():
        raise _Refused(FieldValueError, "must be a non-empty string", "不能为空")


def _month(value: YearMonth | str) -> YearMonth:
    return _to_month(value, False)


def _month_or_none(value: YearMonth | str | None) -> YearMonth | None:
    return None if value is None else _to_month(value, True)


def _money(value: Decimal | str | int) -> Money:
    return _to_money(value, False)


def _money_or_none(value: Decimal | str | int | None) -> Money | None:
    return None if value is None else _to_money(value, True)


def _rate_or_none(value: Decimal | str | int | None) -> Decimal | None:
    return None if value is None else _to_rate(value, True)


def _date_or_none(value: _dt.date | str | None) -> _dt.date | None:
    return None if value is None else _to_date(value, True)


def _gender_or_none(value: Gender | str | None) -> Gender | None:
    return None if value is None else _to_enum(Gender, value, True)


def _hukou_or_none(value: Hukou | str | None) -> Hukou | None:
    return None if value is None else _to_enum(Hukou, value, True)


def _category_or_none(value: Category | str | None) -> Category | None:
    return None if value is None else _to_enum(Category, value, True)


def _source(value: Source | str) -> Source:
    return _to_enum(Source, value, False)


def _employer_kind(value: EmployerKind | str) -> EmployerKind:
    return _to_enum(EmployerKind, value, False)


def _origin_or_none(value: Origin | str | None) -> Origin | None:
    return None if value is None else _to_enum(Origin, value, True)


def _name_fields(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs field transformer: the class's converters and validators raise a
    :class:`FieldValueError` (or :class:`FieldTypeError`) naming the class and
    the field. The converter keeps the shape converter as ``__wrapped__``."""
    out = []
    for field in fields:
        changes: dict[str, Any] = {}
        if field.converter is not None:
            changes["converter"] = _named_converter(cls.__name__, field.name, field.converter)
        if field.validator is not None:
            changes["validator"] = _named_validator(cls.__name__, field.name, field.validator)
        out.append(field.evolve(**changes) if changes else field)
    return out


def _named_converter(class_name: str, name: str, convert: Any) -> Callable[[Any], Any]:
    @functools.wraps(convert)
    def converter(value: Any) -> Any:
        try:
            return convert(value)
        except _Refused as refused:
            raise refused.named(class_name, name) from None

    return converter


def _named_validator(class_name: str, name: str, validate: Any) -> Callable[..., None]:
    @functools.wraps(validate)
    def validator(instance: Any, attribute: Any, value: Any) -> None:
        try:
            validate(instance, attribute, value)
        except _Refused as refused:
            raise refused.named(class_name, name) from None

    return validator


@attrs.frozen(kw_only=True, weakref_slot=False, repr=False, field_transformer=_name_fields)
class Employer:
    """单位: the employer whose workers are collected."""

    unit_no: str = attrs.field(validator=_non_blank)
    """单位编号: the bureau's employer number, printed on the contribution invoice."""
    name: str = attrs.field(validator=_non_blank)
    credit_code: str | None = attrs.field(default=None, converter=_text_or_none)
    """统一社会信用代码 (GB 32100); checked by rule ``employer.credit-code``."""
    legal_representative: str | None = attrs.field(default=None, converter=_text_or_none)
    address: str | None = attrs.field(default=None, converter=_text_or_none)
    contact: str | None = attrs.field(default=None, converter=_text_or_none)
    phone: str | None = attrs.field(default=None, converter=_text_or_none)

    def __repr__(self) -> str:
        # The legal representative, contact, phone and address: left out of
        # reprs (docs/privacy.md); the unit's own number and name are not personal.
        return f"Employer(unit_no={self.unit_no!r}, name={self.name!r}, ...)"


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=_name_fields)
class Segment:
    """One line of the contribution history (缴费历史), inclusive months."""

    start: YearMonth = attrs.field(converter=_month)
    end: YearMonth = attrs.field(converter=_month)
    total: Money | None = attrs.field(default=None, converter=_money_or_none)
    """缴费合计; required in the upper box, ``0`` when there was none."""
    base: Money | None = attrs.field(default=None, converter=_money_or_none)
    rate: Decimal | None = attrs.field(default=None, converter=_rate_or_none)
    category: Category | None = attrs.field(default=None, converter=_category_or_none)
    """Given category; derived by the rule pack when absent, checked when present."""
    source: Source = attrs.field(default=Source.HANDBOOK, converter=_source)
    employer_kind: EmployerKind = attrs.field(
        default=EmployerKind.ENTERPRISE, converter=_employer_kind
    )
    origin: Origin | None = attrs.field(default=None, converter=_origin_or_none)
    transferred_on: YearMonth | None = attrs.field(default=None, converter=_month_or_none)
    employer_name: str | None = attrs.field(default=None, converter=_text_or_none)
    remark: str | None = attrs.field(default=None, converter=_text_or_none, repr=False)
    """Free text: left out of the repr (docs/privacy.md)."""

    @property
    def months(self) -> int:
        """Inclusive number of months (0 when end is before start)."""
        return months_between(self.start, self.end)


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=_name_fields)
class AccountYear:
    """One year of the individual pension account (养老账户), from 1996-04 on."""

    year: int = attrs.field(converter=_int)
    months: int = attrs.field(converter=_int)
    """Months contributed in the year."""
    base: Money = attrs.field(converter=_money)
    """缴费基数."""
    personal: Money = attrs.field(converter=_money)
    """个人缴费划入."""
    employer_part: Money = attrs.field(converter=_money)
    """单位划入."""
    interest: Money = attrs.field(converter=_money)
    """利息."""
    balance: Money = attrs.field(converter=_money)
    """累计储存额: year-end balance."""


def _segments_or_none(
    value: tuple[Segment, ...] | list[Segment] | None,
) -> tuple[Segment, ...] | None:
    return None if value is None else _to_records(Segment, value, True)


def _account_or_none(
    value: tuple[AccountYear, ...] | list[AccountYear] | None,
) -> tuple[AccountYear, ...] | None:
    return None if value is None else _to_records(AccountYear, value, True)


@attrs.frozen(kw_only=True, weakref_slot=False, repr=False, field_transformer=_name_fields)
class BureauRecord:
    """What the bureau holds for a worker today (from a data sync).

    Every field is optional; it is what the verification form prints and what
    the window-only and account checks compare against.
    """

    person_no: str | None = attrs.field(default=None, converter=_text_or_none)
    id_number: str | None = attrs.field(default=None, converter=_text_or_none)
    name: str | None = attrs.field(default=None, converter=_text_or_none)
    gender: Gender | None = attrs.field(default=None, converter=_gender_or_none)
    birth_date: _dt.date | None = attrs.field(default=None, converter=_date_or_none)
    ethnicity: str | None = attrs.field(default=None, converter=_text_or_none)
    hukou: Hukou | None = attrs.field(default=None, converter=_hukou_or_none)
    first_work: YearMonth | None = attrs.field(default=None, converter=_month_or_none)
    history: tuple[Segment, ...] | None = attrs.field(default=None, converter=_segments_or_none)
    account: tuple[AccountYear, ...] | None = attrs.field(default=None, converter=_account_or_none)

    def __repr__(self) -> str:
        # Never print a name or a full identity number (docs/privacy.md).
        shown = id_repr(self.id_number)
        return f"BureauRecord(id_number={shown}, person_no={self.person_no!r}, ...)"


def _bureau_or_none(value: BureauRecord | None) -> BureauRecord | None:
    return None if value is None else _to_record(BureauRecord, value, True)


@attrs.frozen(kw_only=True, weakref_slot=False, repr=False, field_transformer=_name_fields)
class Worker:
    """职工: an insured person employed by the unit, with the three collected parts.

    ``history`` and ``account`` are ``None`` when the part has not been
    collected yet and an empty tuple when it was collected with nothing to
    enter (for example "no red book").
    """

    id_number: str = attrs.field(validator=_non_blank)
    """Identity number as given: 18 chars or a legacy 15-digit number (checked by rules)."""
    name: str = attrs.field(validator=_non_blank)
    first_work: YearMonth = attrs.field(converter=_month)
    """参加工作时间."""
    person_no: str | None = attrs.field(default=None, converter=_text_or_none)
    """个人编号: the bureau's personal number."""
    gender: Gender | None = attrs.field(default=None, converter=_gender_or_none)
    birth_date: _dt.date | None = attrs.field(default=None, converter=_date_or_none)
    ethnicity: str | None = attrs.field(default=None, converter=_text_or_none)
    hukou: Hukou | None = attrs.field(default=None, converter=_hukou_or_none)
    history: tuple[Segment, ...] | None = attrs.field(default=None, converter=_segments_or_none)
    account: tuple[AccountYear, ...] | None = attrs.field(default=None, converter=_account_or_none)
    bureau: BureauRecord | None = attrs.field(default=None, converter=_bureau_or_none)

    def __repr__(self) -> str:
        # Never print a name or a full identity number (docs/privacy.md).
        return f"Worker(id_number={id_repr(self.id_number)}, person_no={self.person_no!r}, ...)"


def _employer(value: Employer) -> Employer:
    return _to_record(Employer, value, False)


def _workers(value: tuple[Worker, ...] | list[Worker]) -> tuple[Worker, ...]:
    return _to_records(Worker, value, False)


@attrs.frozen(kw_only=True, weakref_slot=False, field_transformer=_name_fields)
class Dossier:
    """One employer's collection: the interchange document of docs/dossier.md."""

    employer: Employer = attrs.field(converter=_employer)
    workers: tuple[Worker, ...] = attrs.field(default=(), converter=_workers)
    rule_pack: str | None = attrs.field(default=None, converter=_text_or_none)
    """Name of the rule pack; ``None`` means the default, ``weihai-2013``."""
    as_of: YearMonth | None = attrs.field(default=None, converter=_month_or_none)
    """The month the collection is done; ``None`` means the current month."""


#: The shape converter of each field type of the record classes: every field
#: with a converter uses its type's one (the fast path relies on it).
_CONVERTER_OF: dict[Any, Callable[[Any], Any]] = {
    YearMonth: _month,
    YearMonth | None: _month_or_none,
    Money: _money,
    Money | None: _money_or_none,
    Decimal | None: _rate_or_none,
    _dt.date | None: _date_or_none,
    int: _int,
    str | None: _text_or_none,
    Gender | None: _gender_or_none,
    Hukou | None: _hukou_or_none,
    Category | None: _category_or_none,
    Source: _source,
    EmployerKind: _employer_kind,
    Origin | None: _origin_or_none,
    tuple[Segment, ...] | None: _segments_or_none,
    tuple[AccountYear, ...] | None: _account_or_none,
    tuple[Worker, ...]: _workers,
    Employer: _employer,
    BureauRecord | None: _bureau_or_none,
}
