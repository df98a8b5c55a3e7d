"""What a clerk types into a cell, read as a dossier value (docs/xlsx.md,
"What a clerk may type").

Each reader takes the cell's value as openpyxl gives it (``str``, ``int``,
``float``, ``bool``, ``datetime``) and returns the value of the dossier
format's JSON form (``"1996-04"``, ``"1234.50"``, ``12``), or raises
:class:`CellRefused` saying what is wrong and what to type instead, in
English and Chinese. A refusal never quotes text a clerk typed (it may be a
name or an identity number in the wrong column); a number is described by
its shape.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from .._privacy import shape, shape_zh
from ._layout import LABELS, NO, YES

_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xFFE5: 0xA5}


class CellRefused(Exception):
    """A cell's value cannot be read as its column's kind."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_zh = message_zh


def fold(text: str) -> str:
    """Full-width ASCII forms (``１９９６．０４``, ``，``) and the ideographic
    space as their ASCII forms, surrounding spaces removed."""
    return text.translate(_WIDTH).strip()


_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """The text of an OOXML string (``_x000D_`` is a carriage return,
    ``_x005F_`` an underscore): how Excel writes characters XML cannot hold
    and text that looks like such an escape. openpyxl leaves them as they are."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def escape(text: str) -> str:
    """``text`` as an OOXML string: characters XML cannot hold as ``_xHHHH_``,
    and an underscore that would start such an escape as ``_x005F_``."""
    if "_" not in text and text.isprintable():
        return text
    return _XML_UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _kind_of(value: object) -> tuple[str, str]:
    if isinstance(value, bool):
        return "a TRUE/FALSE cell", "逻辑值(TRUE/FALSE)"
    if isinstance(value, _dt.datetime | _dt.date):
        return "a date cell", "日期单元格"
    if isinstance(value, _dt.timedelta | _dt.time):
        return "a time cell", "时间单元格"
    if isinstance(value, int | float):
        return f"a number ({shape(value)})", f"数字({shape_zh(value)})"
    return "text", "文本"


# -- months and dates ----------------------------------------------------------

_MONTH_TEXT = re.compile(r"([0-9]{4})\s*[-./年]\s*([0-9]{1,2})\s*月?")
_MONTH_DIGITS = re.compile(r"([0-9]{4})([0-9]{2})")
_MONTH_HELP = (
    "type the month as 1996-04, 1996.04 or 199604, or enter a date",
    "请填写为 1996-04、1996.04 或 199604 形式的年月,或填入日期",
)


def _month_of(year: int, month: int) -> str:
    if not 1 <= month <= 12:
        raise CellRefused(
            "xlsx.month",
            f"month {month} is not 01..12; {_MONTH_HELP[0]}",
            f"月份 {month} 不在 01 至 12 之间;{_MONTH_HELP[1]}",
        )
    if not 1900 <= year <= 2199:
        raise CellRefused(
            "xlsx.month",
            f"year {year} is not 1900..2199; {_MONTH_HELP[0]}",
            f"年份 {year} 不在 1900 至 2199 之间;{_MONTH_HELP[1]}",
        )
    return f"{year:04d}-{month:02d}"


#: Date cells whose serial number is one of these was typed as a number
#: into a date-formatted cell (``1996.04`` shows as 1905-06, ``199604`` as
#: 2446-06): read as the number typed.
_TYPED_SERIALS = ((1900, 2200), (190_001, 219_913))


def read_month(value: object, serial: float | None = None) -> str:
    """``"YYYY-MM"`` from a date cell, ``1996-04``/``1996.04``/``1996年4月``/
    ``199604`` or a date (``1996/4/1``) typed as text, or the numbers Excel makes of ``199604`` and
    ``1996.04``. ``serial`` is a date cell's number (days since the
    workbook's epoch): a number a clerk typed into a month-formatted cell
    shows as a date of 1905 or the 2400s, and is read as the number."""
    if serial is not None and any(low <= serial < high for low, high in _TYPED_SERIALS):
        number = round(serial, 6)
        value = int(number) if number.is_integer() else number
    if isinstance(value, _dt.datetime | _dt.date):
        return _month_of(value.year, value.month)
    if isinstance(value, str):
        text = fold(value)
        match = _MONTH_TEXT.fullmatch(text) or _MONTH_DIGITS.fullmatch(text)
        if match is not None:
            return _month_of(int(match.group(1)), int(match.group(2)))
        match = _DATE_TEXT.fullmatch(text)  # a date typed into a text cell: any day
        if match is not None:
            y, m, d = (int(g) for g in match.groups())
            with contextlib.suppress(ValueError):  # no such day: no month either
                _dt.date(y, m, d)
                return _month_of(y, m)
    elif isinstance(value, int) and not isinstance(value, bool):
        if 100_000 <= value <= 999_999:
            return _month_of(value // 100, value % 100)
    elif isinstance(value, float) and math.isfinite(value) and 1000 <= value < 10_000:
        # 1996.04 typed into a number cell. 1996.1 may have been typed 1996.1
        # (January) or 1996.10 (October): Excel keeps no trailing zero.
        year, _, fraction = repr(value).partition(".")
        if len(fraction) == 2:
            return _month_of(int(year), int(fraction))
        if fraction == "1":
            raise CellRefused(
                "xlsx.month-ambiguous",
                f"the number {value!r} may be {year}-01 or {year}-10 (Excel drops the "
                f"trailing zero of {year}.10); type {year}-01 or {year}-10",
                f"数字 {value!r} 可能是 {year}-01 也可能是 {year}-10(Excel 会去掉 {year}.10 "
                f"末尾的 0);请填写为 {year}-01 或 {year}-10",
            )
        if len(fraction) == 1:
            return _month_of(int(year), int(fraction))
    given, given_zh = _kind_of(value)
    raise CellRefused(
        "xlsx.month",
        f"{given} that is no month; {_MONTH_HELP[0]}",
        f"{given_zh}不是年月;{_MONTH_HELP[1]}",
    )


_DATE_TEXT = re.compile(r"([0-9]{4})\s*[-./年]\s*([0-9]{1,2})\s*[-./月]\s*([0-9]{1,2})\s*日?")
_DATE_DIGITS = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


def _date_of(year: int, month: int, day: int) -> str:
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        raise CellRefused(
            "xlsx.date",
            "not a real calendar date (month or day out of range); correct it",
            "不是有效日期(月或日超出范围),请更正",
        ) from None


def read_date(value: object) -> str:
    """``"YYYY-MM-DD"`` from a date cell, or ``1965-03-02``/``1965.3.2``/
    ``1965年3月2日``/``19650302`` typed."""
    if isinstance(value, _dt.datetime | _dt.date):
        return _date_of(value.year, value.month, value.day)
    if isinstance(value, str):
        text = fold(value)
        match = _DATE_TEXT.fullmatch(text) or _DATE_DIGITS.fullmatch(text)
        if match is not None:
            return _date_of(*(int(g) for g in match.groups()))
    elif isinstance(value, int) and not isinstance(value, bool) and 10**7 <= value < 10**8:
        return _date_of(value // 10_000, value // 100 % 100, value % 100)
    given, given_zh = _kind_of(value)
    raise CellRefused(
        "xlsx.date",
        f"{given} that is no date; type the date as 1965-03-02 or 19650302, or enter a date",
        f"{given_zh}不是日期;请填写为 1965-03-02 或 19650302 形式,或填入日期",
    )


# -- amounts, rates, whole numbers --------------------------------------------

_GROUPED = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: Longer number text is no amount (and int() of it would be slow).
_MOST_CHARS = 40


def _decimal_text(value: object, code: str, what: str, what_zh: str) -> str:
    """The plain decimal text (``"-1234.5"``) of a number cell or typed text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        # repr is the shortest text that gives back the float: what Excel shows.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        text = fold(value)
        if text[:1] in ("¥", "\xa5"):
            text = text[1:].lstrip()
        if _GROUPED.fullmatch(text):
            text = text.replace(",", "")
        if len(text) <= _MOST_CHARS and _DECIMAL.fullmatch(text):
            return text
    given, given_zh = _kind_of(value)
    raise CellRefused(
        code,
        f"{given} that is no {what}",
        f"{given_zh}不是{what_zh}",
    )


def read_money(value: object) -> str:
    """An amount in yuan with two places (``"1234.50"``) from a number cell or
    text such as ``1,234.5``, ``１２３４.５０``, ``¥1,234.50``."""
    try:
        text = _decimal_text(value, "xlsx.money", "amount", "金额")
    except CellRefused as refused:
        raise CellRefused(
            refused.code,
            f"{refused.message}; type an amount in yuan such as 1234.50 or 1,234.50",
            f"{refused.message_zh};请填写以元为单位的金额,如 1234.50 或 1,234.50",
        ) from None
    whole, _, places = text.partition(".")
    places = places.rstrip("0") if len(places) > 2 else places
    if len(places) > 2:
        raise CellRefused(
            "xlsx.money",
            f"an amount with {len(places)} decimal places; round it to fen (two places)",
            f"金额有 {len(places)} 位小数;请保留到分(两位小数)",
        )
    return f"{whole}.{places:0<2}"


def read_rate(value: object) -> str:
    """A contribution rate (``"0.03"``) from a number cell, ``0.03`` or ``3%`` typed."""
    if isinstance(value, str) and fold(value).endswith("%"):
        text = _decimal_text(fold(value)[:-1], "xlsx.rate", "rate", "比例")
        return format(Decimal(text).scaleb(-2), "f")
    try:
        return _decimal_text(value, "xlsx.rate", "rate", "比例")
    except CellRefused as refused:
        raise CellRefused(
            refused.code,
            f"{refused.message}; type the rate as 0.03 or 3%",
            f"{refused.message_zh};请填写比例,如 0.03 或 3%",
        ) from None


def read_int(value: object) -> int:
    """A whole number from a number cell or typed digits."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = fold(value)
        if len(text) <= _MOST_CHARS and re.fullmatch(r"-?[0-9]+", text):
            return int(text)
    given, given_zh = _kind_of(value)
    raise CellRefused(
        "xlsx.number",
        f"{given} that is no whole number; type a whole number such as 12",
        f"{given_zh}不是整数;请填写整数,如 12",
    )


def read_worker_no(value: object) -> int:
    """A worker's number (序号): a whole number of at least 1."""
    try:
        number = read_int(value)
    except CellRefused:
        number = 0
    if 1 <= number < 10**9:
        return number
    raise CellRefused(
        "xlsx.worker-no",
        "no worker number; type the worker's 序号 from the sheet 职工 (a whole number from 1)",
        "不是职工序号;请填写职工表中该职工的序号(从 1 开始的整数)",
    )


# -- text, choices, yes/no ------------------------------------------------------

#: Significant digits Excel keeps of a number.
_DIGITS = 15
#: Whole numbers below this are exact in a number cell.
_EXACT = 10**_DIGITS


def read_text(value: object) -> str:
    """Text as typed (spaces and all: text fields are kept as they are). A
    whole number in a number cell (an employer number typed without the text
    format) is its digits; a longer one lost digits in Excel already."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT:
        return str(int(value))
    given, given_zh = _kind_of(value)
    if isinstance(value, float) and value.is_integer():
        raise CellRefused(
            "xlsx.digits-lost",
            f"{given}: Excel keeps only 15 digits of a number, so digits are lost; format "
            "the column as text (Format Cells > Text) and type it again",
            f"{given_zh}:Excel 的数字只保留 15 位有效数字,已丢失数位;请将该列设置为文本格式"
            "(设置单元格格式-文本)后重新输入",
        )
    raise CellRefused(
        "xlsx.text",
        f"{given} where text belongs; format the column as text (Format Cells > Text) "
        "and type it again",
        f"此处应为文本,而不是{given_zh};请将该列设置为文本格式(设置单元格格式-文本)后重新输入",
    )


def _choice_words(choices: type[StrEnum]) -> dict[str, str]:
    words = {}
    for member in choices:
        words[member.value.lower()] = member.value
        words[LABELS[choices][member.value]] = member.value
    return words


_WORDS = {choices: _choice_words(choices) for choices in LABELS}


def read_choice(value: object, choices: type[StrEnum]) -> str:
    """The enum value of a drop-down's Chinese label or of the English value."""
    if isinstance(value, str):
        found = _WORDS[choices].get(fold(value).lower())
        if found is not None:
            return found
    labels = "、".join(LABELS[choices].values())
    values = ", ".join(m.value for m in choices)
    given, given_zh = _kind_of(value)
    raise CellRefused(
        "xlsx.choice",
        f"{given} that is none of the choices; pick one from the drop-down: {labels} (or {values})",
        f"{given_zh}不在可选值中;请从下拉列表中选择:{labels}",
    )


def read_flag(value: object) -> bool:
    """是/否 (yes/no, TRUE/FALSE, 1/0, 有/无)."""
    if isinstance(value, bool):
        return value
    word = fold(value).lower() if isinstance(value, str) else str(value)
    if word in YES:
        return True
    if word in NO:
        return False
    given, given_zh = _kind_of(value)
    raise CellRefused(
        "xlsx.flag",
        f"{given} that is neither yes nor no; pick 是 (yes) or 否 (no) from the drop-down",
        f"{given_zh}既不是“是”也不是“否”;请从下拉列表中选择“是”或“否”",
    )


def exact_float(amount: Decimal) -> float | None:
    """``amount`` as a float when the float gives it back exactly (so a
    number cell holds it), else ``None`` (it is written as text)."""
    if not amount.is_finite() or len(amount.normalize().as_tuple().digits) > _DIGITS:
        return None  # Excel keeps 15 significant digits of a number
    try:
        number = float(amount)
    except (OverflowError, ValueError):
        return None
    if not math.isfinite(number) or abs(number) >= _EXACT:
        return None
    try:
        return number if Decimal(repr(number)) == amount else None
    except InvalidOperation:
        return None
