"""The domain model: employers, workers, contribution-history segments, account years.

Classes here are frozen, slotted attrs classes validated on construction for
*shape* only (a month is a month, money is a :class:`~decimal.Decimal` with at
most two places). Domain *judgement* -- is this segment in the right box, is
the identity number's check digit right -- lives in :mod:`pension_collect.rules`
so that a dossier with wrong data can still be loaded and reported on.

Glossary (see docs/glossary.md): a *segment* is one line of the contribution
history (缴费历史); an *account year* is one year of the individual pension
account (养老账户); the *bureau record* is what the bureau holds today (from a
data sync, 数据同步).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from decimal import Decimal
from enum import StrEnum
from typing import Any, NewType

import attrs

__all__ = [
    "AccountYear",
    "BureauRecord",
    "Category",
    "Dossier",
    "Employer",
    "EmployerKind",
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
            f'money must be a decimal string such as "453.60", not a JSON number ({value!r})'
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
        raise TypeError(f'a rate must be a decimal string such as "0.03", not a number ({value!r})')
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
        raise ValueError(f"{value!r} is not a real calendar date") from None


def _month_range(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or not 1 <= value <= 12:
        raise ValueError(f"month must be 1..12, got {value!r}")


def _year_range(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or not 1900 <= value <= 2199:
        raise ValueError(f"year must be 1900..2199, got {value!r}")


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
            raise ValueError(f'a month must be written "YYYY-MM", got {value!r}')
        month = int(value[5:])
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 01..12, got {value!r}")
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


class FieldValueError(ValueError):
    """A model field failed its shape check; ``field`` names it."""

    def __init__(self, field: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.field = field
        self.message_zh = message_zh


def _non_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str or not value.strip():
        raise FieldValueError(attribute.name, "must be a non-empty string", "不能为空")


def _optional_str(instance: object, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value is not None and type(value) is not str:
        raise FieldValueError(attribute.name, "must be a string", "应为字符串")


@attrs.frozen(kw_only=True, weakref_slot=False, repr=False)
class Employer:
    """单位: the employer whose workers are collected."""

    unit_no: str = attrs.field(validator=_non_blank)
    """单位编号: the bureau's employer number, printed on the contribution invoice."""
    name: str = attrs.field(validator=_non_blank)
    credit_code: str | None = attrs.field(default=None, validator=_optional_str)
    """统一社会信用代码 (GB 32100); checked by rule ``employer.credit-code``."""
    legal_representative: str | None = attrs.field(default=None, validator=_optional_str)
    address: str | None = attrs.field(default=None, validator=_optional_str)
    contact: str | None = attrs.field(default=None, validator=_optional_str)
    phone: str | None = attrs.field(default=None, validator=_optional_str)

    def __repr__(self) -> str:
        # The legal representative and contact are people: left out of reprs.
        return f"Employer(unit_no={self.unit_no!r}, name={self.name!r}, ...)"


@attrs.frozen(kw_only=True, weakref_slot=False)
class Segment:
    """One line of the contribution history (缴费历史), inclusive months."""

    start: YearMonth
    end: YearMonth
    total: Money | None = None
    """缴费合计; required in the upper box, ``0`` when there was none."""
    base: Money | None = None
    rate: Decimal | None = None
    category: Category | None = None
    """Given category; derived by the rule pack when absent, checked when present."""
    source: Source = Source.HANDBOOK
    employer_kind: EmployerKind = EmployerKind.ENTERPRISE
    origin: Origin | None = None
    transferred_on: YearMonth | None = None
    employer_name: str | None = attrs.field(default=None, validator=_optional_str)
    remark: str | None = attrs.field(default=None, validator=_optional_str)

    @property
    def months(self) -> int:
        """Inclusive number of months (0 when end is before start)."""
        return months_between(self.start, self.end)


@attrs.frozen(kw_only=True, weakref_slot=False)
class AccountYear:
    """One year of the individual pension account (养老账户), from 1996-04 on."""

    year: int
    months: int
    """Months contributed in the year."""
    base: Money
    """缴费基数."""
    personal: Money
    """个人缴费划入."""
    employer_part: Money
    """单位划入."""
    interest: Money
    """利息."""
    balance: Money
    """累计储存额: year-end balance."""


@attrs.frozen(kw_only=True, weakref_slot=False, repr=False)
class BureauRecord:
    """What the bureau holds for a worker today (from a data sync).

    Every field is optional; it is what the verification form prints and what
    the window-only and account checks compare against.
    """

    person_no: str | None = attrs.field(default=None, validator=_optional_str)
    id_number: str | None = attrs.field(default=None, validator=_optional_str)
    name: str | None = attrs.field(default=None, validator=_optional_str)
    gender: Gender | None = None
    birth_date: _dt.date | None = None
    ethnicity: str | None = attrs.field(default=None, validator=_optional_str)
    hukou: Hukou | None = None
    first_work: YearMonth | None = None
    history: tuple[Segment, ...] | None = None
    account: tuple[AccountYear, ...] | None = None

    def __repr__(self) -> str:
        # Never print a name or a full identity number (personal data).
        from .identity import mask

        shown = None if self.id_number is None else mask(self.id_number)
        return f"BureauRecord(id_number={shown!r}, person_no={self.person_no!r}, ...)"


@attrs.frozen(kw_only=True, weakref_slot=False, repr=False)
class Worker:
    """职工: an insured person employed by the unit, with the three collected parts.

    ``history`` and ``account`` are ``None`` when the part has not been
    collected yet and an empty tuple when it was collected with nothing to
    enter (for example "no red book").
    """

    id_number: str = attrs.field(validator=_non_blank)
    """Identity number as given: 18 chars or a legacy 15-digit number (checked by rules)."""
    name: str = attrs.field(validator=_non_blank)
    first_work: YearMonth
    """参加工作时间."""
    person_no: str | None = attrs.field(default=None, validator=_optional_str)
    """个人编号: the bureau's personal number."""
    gender: Gender | None = None
    birth_date: _dt.date | None = None
    ethnicity: str | None = attrs.field(default=None, validator=_optional_str)
    hukou: Hukou | None = None
    history: tuple[Segment, ...] | None = None
    account: tuple[AccountYear, ...] | None = None
    bureau: BureauRecord | None = None

    def __repr__(self) -> str:
        # Never print a name or a full identity number (personal data).
        from .identity import mask

        return f"Worker(id_number={mask(self.id_number)!r}, person_no={self.person_no!r}, ...)"


@attrs.frozen(kw_only=True, weakref_slot=False)
class Dossier:
    """One employer's collection: the interchange document of docs/dossier.md."""

    employer: Employer
    workers: tuple[Worker, ...] = ()
    rule_pack: str | None = None
    """Name of the rule pack; ``None`` means the default, ``weihai-2013``."""
    as_of: YearMonth | None = None
    """The month the collection is done; ``None`` means the current month."""
