"""Helpers the strategy modules share (private: not part of the API)."""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from ...model import YearMonth

T = TypeVar("T")

#: The remark every government/institution period carries ([P3.4c]).
INSTITUTION_REMARK = "机关事业缴费"
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
