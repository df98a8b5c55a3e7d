"""The dossier interchange format, version 1 (``pension-collect/dossier``).

One cattrs converter reads and writes it (docs/dossier.md). Reading is strict:
unknown keys, floats where money belongs, a month ``"1993-13"`` are errors, and
:class:`~pension_collect.errors.DossierFormatError` lists *every* problem with
its JSON path, not only the first.

Reading takes a fast path first (no error bookkeeping) and, only when that
fails, structures the document again with cattrs' detailed validation to
collect every problem. Valid input, the common case, pays nothing for it.

Reading is bounded (docs/dossier.md, "Limits"): the input size, the number of
workers, segments and account years, the length of text, and the number of
problems listed, by :class:`~pension_collect.limits.Limits`; text fields hold
printable text only (:mod:`pension_collect.text`).
"""

from __future__ import annotations

import datetime as _dt
import functools
import heapq
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import attrs

from ._fastpath import RECORD_CLASSES, FastPath, unstructure_functions
from ._gc import gc_paused
from ._privacy import shape, shape_zh
from .errors import DossierFormatError, Problem
from .limits import DEFAULT_LIMITS, Limits
from .model import (
    Category,
    Dossier,
    EmployerKind,
    FieldValueError,
    Gender,
    Hukou,
    Money,
    Origin,
    Segment,
    Source,
    YearMonth,
    _money_from_str,
    parse_date,
    parse_money,
    parse_rate,
)
from .text import refused_character, refused_reason

if TYPE_CHECKING:
    # cattrs is imported when a converter is first built (writing, or the
    # detailed reader explaining a refusal), not to read a valid dossier.
    import cattrs

__all__ = [
    "EXAMPLE_DOSSIER",
    "FORMAT",
    "VERSION",
    "dump",
    "dumps",
    "example_dossier_text",
    "from_dict",
    "load",
    "loads",
    "make_converter",
    "problems_of",
    "read_input",
    "segment_to_dict",
    "to_dict",
]

#: The value of the ``format`` key of every dossier.
FORMAT = "pension-collect/dossier"
#: The only version this release reads and writes.
VERSION = 1

T = TypeVar("T")

_ENUMS: tuple[type[Enum], ...] = (Gender, Hukou, Category, Source, EmployerKind, Origin)
_RECORD_CLASSES = RECORD_CLASSES


class _ShapeError(ValueError):
    """A leaf problem with a Chinese twin of its message."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message_zh = message_zh


def _strict_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    # The value is not echoed: a number in a text field is typically an
    # identity number exported as a spreadsheet number (personal data).
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _ShapeError(
            "must be a string (in quotes), not a number", "应为字符串(加引号),而不是数字"
        )
    raise _ShapeError(
        f"must be a string, not {_json_type(value)}",
        f"应为字符串,而不是{_json_type_zh(value)}",
    )


def _strict_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    raise _ShapeError(
        f"must be a whole number, not {_json_type(value)}",
        f"应为整数,而不是{_json_type_zh(value)}",
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return shape(value)  # the value itself is never quoted (docs/privacy.md)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _json_type_zh(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "布尔值"
    if isinstance(value, int | float):
        return shape_zh(value)
    if isinstance(value, str):
        return "字符串"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__


def _leaf(parse: Callable[[Any], T], zh: str) -> Callable[[Any, Any], T]:
    def hook(value: Any, _: Any) -> T:
        if value is None:
            raise _ShapeError("required; null is not allowed here", "必填项不能为 null")
        try:
            return parse(value)
        except (TypeError, ValueError) as exc:
            raise _ShapeError(str(exc), zh) from None

    return hook


def _money_hook(value: Any, _: Any) -> Money:
    # Called for every amount (millions in a large dossier): straight to the
    # cached string parser, the general one only for errors and odd types.
    try:
        if type(value) is str:
            return _money_from_str(value)
        return parse_money(value)
    except (TypeError, ValueError) as exc:
        if value is None:
            raise _ShapeError("required; null is not allowed here", "必填项不能为 null") from None
        raise _ShapeError(
            str(exc), '金额应为最多两位小数的字符串,如 "453.60"(不能是数字)'
        ) from None


def _bounded_int(limits: Limits) -> Callable[[Any, Any], int]:
    most = limits.number_digits

    def hook(value: Any, type_: Any) -> int:
        number = _strict_int(value, type_)
        if not -(10**most) < number < 10**most:
            # Its size only: a number this long is an identity number in the
            # wrong column (personal data).
            raise _ShapeError(
                f"{shape(number)}; at most {most} digits are read (docs/dossier.md "
                '"Limits"): a count or a year, not an identity number',
                f"{shape_zh(number)},超过 {most} 位(是否错列?)",
            )
        return number

    return hook


def _bounded_money(limits: Limits) -> Callable[[Any, Any], Money]:
    most = limits.amount_digits

    def hook(value: Any, type_: Any) -> Money:
        amount = _money_hook(value, type_)
        if amount.adjusted() >= most:
            raise _ShapeError(
                f"an amount of {amount.adjusted() + 1:,} digits before the point; at most "
                f'{most} are read (docs/dossier.md "Limits")',
                f"金额整数部分 {amount.adjusted() + 1:,} 位,超过 {most} 位",
            )
        return amount

    return hook


def _plain_decimal(value: Decimal) -> str:
    return format(value, "f")


def _enum_value(member: Enum) -> Any:
    return member.value


def _enum_hook(value: Any, cls: type[Enum]) -> Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        # The value is not echoed: a shifted spreadsheet column can put a name
        # or an identity number here (personal data).
        shown = "this value" if isinstance(value, str | int | float) else _json_type(value)
        raise _ShapeError(
            f"{shown} is not allowed; use one of {allowed}",
            f"取值无效,可选值:{allowed}",
        ) from None


class _Budget:
    """How many problems the detailed pass has found so far, against the cap
    (:attr:`Limits.problems`): past it, the rest of each list is only counted."""

    __slots__ = ("cap", "spent", "unexamined")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.spent = 0
        self.unexamined = 0
        """Items refused but not examined (each holds at least one problem)."""


#: The budget of the detailed pass running in this thread or task.
_BUDGET: ContextVar[_Budget | None] = ContextVar("pension_collect_problem_budget", default=None)


class _NotListed(Exception):
    """A list whose refused items were counted, not examined (no problem of its own)."""


def _too_many(count: int, most: int, name: str) -> _ShapeError:
    return _ShapeError(
        f"holds {count:,} items; at most {most:,} are read (limit {name}, docs/dossier.md "
        '"Limits"); split the data or check the export that wrote it',
        f"共 {count:,} 项,超过上限 {most:,} 项(见 docs/dossier.md 的 Limits);请拆分或检查导出程序",
    )


def _tuple_hook(
    conv: cattrs.Converter, detailed: bool, limits: Limits | None, fast: FastPath | None
) -> Callable[[Any, Any], Any]:
    from cattrs.errors import IterableValidationError, IterableValidationNote

    def hook(value: Any, type_: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _ShapeError(
                f"must be a list, not {_json_type(value)}",
                f"应为列表,而不是{_json_type_zh(value)}",
            )
        (item_type, _ellipsis) = type_.__args__
        if limits is not None:
            most = limits.items_of(item_type.__name__)
            if most is not None and len(value) > most:
                raise _too_many(len(value), most, limits.limit_name(item_type.__name__) or "")
        handler = conv.get_structure_hook(item_type)
        if not detailed:
            return tuple([handler(v, item_type) for v in value])
        budget = _BUDGET.get()
        out: list[Any] = []
        errors: list[Exception] = []
        for i, v in enumerate(value):
            if budget is not None and budget.spent >= budget.cap:
                # Enough problems to list: the rest are counted, not examined.
                budget.unexamined += _count_refused(value, i, item_type, fast)
                if not errors:
                    raise _NotListed()
                break
            before = 0 if budget is None else budget.spent
            try:
                out.append(handler(v, item_type))
            except Exception as exc:  # collected and re-raised as a group below
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring item @ index {i}", i, item_type),
                ]
                errors.append(exc)
                if budget is not None:
                    # The item's problems, nested lists' included (they spent
                    # their own while it was structured).
                    budget.spent = before + _count(exc)
        if errors:
            raise IterableValidationError("invalid items", errors, type_)
        return tuple(out)

    return hook


def _count_refused(items: list[Any], start: int, item_type: Any, fast: FastPath | None) -> int:
    """How many of ``items[start:]`` the fast path refuses (each has a problem)."""
    if fast is None:
        return len(items) - start
    structure = fast.structure(item_type)
    refused = 0
    for i in range(start, len(items)):
        try:
            structure(items[i])
        except Exception:  # any refusal: the item has at least one problem
            refused += 1
    return refused


def make_converter(*, detailed: bool = False, limits: Limits | None = None) -> cattrs.Converter:
    """The converter of dossier format v1.

    ``detailed=True`` collects every problem (slower); the default stops at
    the first one and is used for the fast path. ``limits`` bounds list and
    text lengths and refuses what :func:`pension_collect.text.refused_character`
    finds, as the reader does; without it the converter checks the model's
    shape only (what a store reads back).
    """
    fast = FastPath(_RECORD_CLASSES, limits=limits)
    if detailed:
        return _make_converter(True, None, limits, fast)
    return _make_converter(False, fast, limits, None)


def _make_converter(
    detailed: bool,
    fast: FastPath | None,
    limits: Limits | None = None,
    counting: FastPath | None = None,
) -> cattrs.Converter:
    import cattrs
    from cattrs.gen import make_dict_structure_fn

    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=detailed)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int if limits is None else _bounded_int(limits))
    conv.register_structure_hook(
        YearMonth, _leaf(YearMonth.parse, '月份应写作 "YYYY-MM",月为 01-12')
    )
    conv.register_unstructure_hook(YearMonth, str)
    conv.register_structure_hook(Money, _money_hook if limits is None else _bounded_money(limits))
    conv.register_unstructure_hook(Money, lambda d: format(d, ".2f"))
    conv.register_structure_hook(Decimal, _leaf(parse_rate, '比例应为小数字符串,如 "0.03"'))
    # A rate in plain notation: Decimal("1E+1") is written "10", as it is read.
    conv.register_unstructure_hook(Decimal, _plain_decimal)
    conv.register_structure_hook(_dt.date, _leaf(parse_date, '日期应写作 "YYYY-MM-DD"'))
    conv.register_unstructure_hook(_dt.date, _dt.date.isoformat)
    # Each enum class by name: they are str subclasses, and singledispatch
    # would otherwise hand them to the str hook.
    for enum_cls in _ENUMS:
        conv.register_structure_hook(enum_cls, _enum_hook)
        conv.register_unstructure_hook(enum_cls, _enum_value)
    conv.register_structure_hook_func(
        lambda t: getattr(t, "__origin__", None) is tuple,
        _tuple_hook(conv, detailed, limits, counting),
    )
    for cls in _RECORD_CLASSES:
        if fast is not None:
            # Generated from the model: inline type checks, cached leaves,
            # no per-field hook calls (see _fastpath). Anything they do not
            # accept goes to the detailed converter.
            conv.register_structure_hook(cls, _plain_hook(fast.structure(cls)))
        else:
            # The detailed path runs field validators (a blank name) beside the
            # other fields' checks, so that every problem of a record is
            # reported, and says what was expected of a non-object.
            overrides = _validated_fields(cls, conv, limits)
            structure = make_dict_structure_fn(
                cls, conv, _cattrs_forbid_extra_keys=True, **overrides
            )
            conv.register_structure_hook(cls, _record_hook(cls, structure))
    # Generated beside the structure functions: what cattrs' omit-if-default
    # functions give through the leaf hooks above, in one line per field.
    for cls, unstructure in _unstructure_functions().items():
        conv.register_unstructure_hook(cls, unstructure)
    return conv


@functools.cache
def _unstructure_functions() -> dict[type[Any], Callable[[Any], dict[str, Any]]]:
    return unstructure_functions(_RECORD_CLASSES)


def _plain_hook(structure: Callable[[Any], T]) -> Callable[[Any, Any], T]:
    def hook(value: Any, _: Any) -> T:
        return structure(value)

    return hook


def _validated_fields(
    cls: type[Any], conv: cattrs.Converter, limits: Limits | None
) -> dict[str, Any]:
    """Per-field structure hooks that also run the model's attrs validator,
    and, with ``limits``, hold text fields to their length and characters."""
    from cattrs.gen import override

    out: dict[str, Any] = {}
    for field in attrs.fields(attrs.resolve_types(cls)):
        hook = conv.get_structure_hook(field.type)
        validator = field.validator
        if validator is not None:
            hook = _validated(field, validator, hook)
        if limits is not None and field.type in (str, str | None):
            # After the validator: a blank name is "blank", not a bad character.
            hook = _text_checked(hook, limits.text_length_of(cls.__name__, field.name))
        if hook is not conv.get_structure_hook(field.type):
            out[field.name] = override(struct_hook=hook)
    return out


def _text_checked(inner: Callable[[Any, Any], Any], longest: int) -> Callable[[Any, Any], Any]:
    """A text field's hook that also holds the text to ``longest`` characters
    and the reader's characters (docs/dossier.md "Text")."""

    def hook(value: Any, type_: Any) -> Any:
        text = inner(value, type_)
        if text is not None:
            _check_text(text, longest)
        return text

    return hook


def _check_text(text: str, longest: int) -> None:
    """Refuse text longer than ``longest`` or holding a refused character
    (the text is not quoted; its length and the character's code point are)."""
    if len(text) > longest:
        raise _ShapeError(
            f"text of {len(text):,} characters; at most {longest:,} are read (docs/dossier.md "
            '"Limits"); shorten it',
            f"文本长 {len(text):,} 个字符,超过上限 {longest:,} 个;请缩短",
        )
    at = refused_character(text)
    if at is not None:
        what, what_zh = refused_reason(text[at])
        raise _ShapeError(
            f'holds {what} at character {at + 1}; remove it (docs/dossier.md "Text")',
            f"第 {at + 1} 个字符是{what_zh};请删除",
        )


def _validated(
    field: attrs.Attribute[Any], validator: Any, inner: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], Any]:
    def hook(value: Any, type_: Any) -> Any:
        result = inner(value, type_)
        try:
            validator(None, field, result)
        except FieldValueError as exc:
            # The path names the field; the message says what is wrong with it.
            raise _ShapeError(exc.message, exc.message_zh) from None
        return result

    return hook


def _record_hook(cls: type[T], inner: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    zh_name = _CLASS_ZH.get(cls.__name__, cls.__name__)

    def hook(value: Any, type_: Any) -> T:
        if type(value) is not dict:
            raise _ShapeError(
                f"must be an object ({{...}}), not {_json_type(value)}",
                f"应为对象({zh_name}),而不是{_json_type_zh(value)}",
            )
        return inner(value, type_)

    return hook


_CLASS_ZH = {
    "Employer": "单位信息",
    "Segment": "缴费历史",
    "AccountYear": "养老账户年度",
    "BureauRecord": "社保现有数据",
    "Worker": "职工",
    "Dossier": "采集档案",
}


@functools.cache
def _writer() -> cattrs.Converter:
    """The unbounded fast converter: writing (built on first use)."""
    return _make_converter(False, FastPath(_RECORD_CLASSES))


@functools.cache
def _unbounded_detailed() -> cattrs.Converter:
    """The unbounded detailed converter: :func:`problems_of` for stored
    records (what a store holds is what the model accepts)."""
    return make_converter(detailed=True)


def __getattr__(name: str) -> Any:
    # The converters are built on first use (start-up time of ``validate``);
    # these names stay for code and tests that used them.
    if name == "_FAST":
        return _writer()
    if name == "_DETAILED":
        return _unbounded_detailed()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=8)
def _readers(limits: Limits) -> tuple[FastPath, cattrs.Converter, cattrs.Converter]:
    """The reader's fast path, fast and detailed converters under ``limits``
    (built once per distinct limits)."""
    fast_path = FastPath(_RECORD_CLASSES, limits=limits)
    fast = _make_converter(False, fast_path, limits)
    return fast_path, fast, _make_converter(True, None, limits, fast_path)


# -- reading -----------------------------------------------------------------


def from_dict(data: Any, *, source: str | None = None, limits: Limits | None = None) -> Dossier:
    """Structure a parsed JSON document into a :class:`~pension_collect.model.Dossier`.

    Raises :class:`~pension_collect.errors.DossierFormatError` listing every
    problem with its path (the first ``limits.problems`` of them, and one
    more saying how many more there are). ``limits`` defaults to
    :data:`~pension_collect.limits.DEFAULT_LIMITS`.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    if type(data) is not dict:
        raise DossierFormatError(
            [
                Problem(
                    "$",
                    f"a dossier is a JSON object, not {_json_type(data)}",
                    "采集档案应为 JSON 对象",
                )
            ],
            source=source,
        )
    header = _check_header(data)
    if header:
        raise DossierFormatError(header, source=source)
    body = {k: v for k, v in data.items() if k not in ("format", "version")}
    fast_path, fast, detailed = _readers(limits)
    try:
        with gc_paused():
            return fast.structure(body, Dossier)
    except Exception:
        pass  # slow path below says exactly what and where
    finally:
        fast_path.forget()
    budget = _Budget(limits.problems)
    token = _BUDGET.set(budget)
    try:
        return detailed.structure(body, Dossier)
    except Exception as exc:
        sink = _Sink(limits.problems)
        _collect(exc, "$", sink)
        raise DossierFormatError(sink.listed(budget.unexamined), source=source) from None
    finally:
        _BUDGET.reset(token)
        fast_path.forget()


def problems_of(data: Any, cls: type[Any], *, path: str = "$") -> list[Problem]:
    """Every shape problem of ``data`` read as a ``cls`` of the format (one of
    the model's record classes), each with its JSON path under ``path``;
    empty when it reads. Used to say where a stored record is damaged."""
    try:
        _unbounded_detailed().structure(data, cls)
    except Exception as exc:
        sink = _Sink(DEFAULT_LIMITS.problems)
        _collect(exc, path, sink)
        return sink.listed(0)
    return []


def _check_header(data: dict[str, Any]) -> list[Problem]:
    problems = []
    fmt = data.get("format")
    if fmt != FORMAT:
        problems.append(
            Problem(
                "$.format",
                f'must be "{FORMAT}"' + ("" if fmt is None else f", got {_shorten(fmt)}"),
                f'format 应为 "{FORMAT}"',
            )
        )
    version = data.get("version")
    if version != VERSION or type(version) is not int:
        problems.append(
            Problem(
                "$.version",
                f"version {_shorten(version)} is not supported; this release reads version "
                f"{VERSION}"
                if version is not None
                else f"missing; write {VERSION}",
                f"不支持的版本;本程序读取版本 {VERSION}",
            )
        )
    return problems


def _shorten(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Sink:
    """The problems listed (the first ``cap``) and the count of the rest."""

    __slots__ = ("cap", "more", "problems")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.problems: list[Problem] = []
        self.more = 0

    def append(self, problem: Problem) -> None:
        if len(self.problems) < self.cap:
            self.problems.append(problem)
        else:
            self.more += 1

    def room(self) -> int:
        return max(self.cap - len(self.problems), 0)

    def listed(self, unexamined: int) -> list[Problem]:
        """The problems, and one more counting those not listed."""
        if not self.more and not unexamined:
            return self.problems
        at_least = "at least " if unexamined else ""
        more = self.more + unexamined
        return [
            *self.problems,
            Problem(
                "$",
                f"{at_least}{more:,} more problems not listed: the reader lists the first "
                f'{self.cap:,} (docs/dossier.md "Limits"); correct those and read the file again',
                f"另有{'至少 ' if unexamined else ' '}{more:,} 处问题未列出"
                f"(最多列出 {self.cap:,} 处);请先更正以上问题,再重新读取",
            ),
        ]


def _count(exc: BaseException) -> int:
    """The number of problems in an exception of the detailed pass."""
    sink = _Sink(0)
    _collect(exc, "", sink)
    return sink.more


#: An unknown key shown in its path: what a field name looks like. Any other
#: (a header row's identity number or name, a control character, a very long
#: key) is counted at its object's path, not quoted.
_SHOWN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}").fullmatch


def _unknown_keys(keys: set[str], path: str, out: _Sink) -> None:
    room = out.room()
    shown: Iterator[str] | list[str] = (
        sorted(keys) if len(keys) <= room else heapq.nsmallest(room, keys)
    )
    for key in shown:
        if _SHOWN_KEY(key) is not None:
            out.append(
                Problem(
                    f"{path}.{key}",
                    "unknown key (a typo?); remove it or correct its name (see docs/dossier.md)",
                    "未知字段(可能拼写错误),请删除或更正",
                )
            )
        else:
            out.append(
                Problem(
                    path,
                    "an unknown key that is no field name (not quoted: it may be personal data "
                    "or hold unprintable characters); remove it (see docs/dossier.md)",
                    "未知字段(非字段名,不显示其内容);请删除",
                )
            )
    out.more += len(keys) - min(len(keys), room)


def _collect(exc: BaseException, path: str, out: _Sink) -> None:
    """Flatten cattrs' exception groups into (path, message) problems."""
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )
    from cattrs.v import format_exception as _cattrs_format_exception

    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if hasattr(note, "name"):
                _collect(sub, f"{path}.{note.name}", out)
            else:
                _collect(sub, f"{path}[{note.index}]", out)
        for sub in without:
            _collect(sub, path, out)
        return
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            _collect(member, path, out)
        return
    if isinstance(exc, ForbiddenExtraKeysError):
        _unknown_keys(exc.extra_fields, path, out)
        return
    if isinstance(exc, _NotListed):
        return  # counted in the budget's unexamined items
    if isinstance(exc, KeyError):
        out.append(Problem(path, "required but missing", "必填项缺失"))
        return
    if isinstance(exc, _ShapeError):
        out.append(Problem(path, str(exc), exc.message_zh))
        return
    if isinstance(exc, FieldValueError):
        # attrs validators of the model (e.g. a blank name)
        out.append(Problem(f"{path}.{exc.field}", exc.message, exc.message_zh))
        return
    if isinstance(exc, TypeError | ValueError):
        out.append(Problem(path, str(exc), "取值无效"))
        return
    out.append(Problem(path, _cattrs_format_exception(exc, None), "无法读取"))


def loads(text: str | bytes, *, source: str | None = None, limits: Limits | None = None) -> Dossier:
    """Read a dossier from JSON text (bytes must be UTF-8; a BOM is allowed).

    ``limits`` defaults to :data:`~pension_collect.limits.DEFAULT_LIMITS`;
    text longer than ``limits.input_bytes`` (bytes, or characters for a
    ``str``) is refused unread.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    if len(text) > limits.input_bytes:
        raise _too_large(limits.input_bytes, source)
    holder = [text]
    del text
    return _read_held(holder, source, limits)


def _typed_reader() -> Callable[[Any, Limits], Dossier | None] | None:
    """The typed one-pass reader (:mod:`pension_collect._reader.fast`), or
    ``None`` without msgspec."""
    try:
        from ._reader.fast import read
    except ImportError:
        return None
    return read


def _read_held(holder: list[Any], source: str | None, limits: Limits) -> Dossier:
    """Read the document ``holder[0]`` (its only reference: each stage drops
    the one before as soon as the next has it, so that the bytes, the text,
    the parsed JSON and the model are not all held at once; docs/dossier.md,
    "Reading fast")."""
    typed = _typed_reader()
    if typed is not None:
        with gc_paused():
            dossier = typed(holder[0], limits)
        if dossier is not None:
            holder.clear()
            return dossier
    text = holder.pop()
    # Parsing and structuring make millions of acyclic objects: nothing for
    # the collector to find, and its passes would cost a third of the time.
    if isinstance(text, bytes | bytearray):
        text = _decode(text, source)
    with gc_paused():
        data = _parse_json(text, source)
        del text
        dossier = from_dict(data, source=source, limits=limits)
        del data  # the parsed JSON goes before the collector resumes
    return dossier


def _decode(data: bytes | bytearray, source: str | None) -> str:
    try:
        # json.loads would guess UTF-16/32 from the bytes; the format is UTF-8.
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DossierFormatError(
            [
                Problem(
                    "$",
                    f"not UTF-8 text (byte {exc.start}); save the file as UTF-8",
                    "文件不是 UTF-8 编码,请另存为 UTF-8",
                )
            ],
            source=source,
        ) from None


def _parse_json(text: str, source: str | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DossierFormatError(
            [
                Problem(
                    "$",
                    f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                    f"不是有效的 JSON:第 {exc.lineno} 行第 {exc.colno} 列",
                )
            ],
            source=source,
        ) from None
    except (ValueError, RecursionError):
        # json.loads' other refusals: an integer longer than Python's limit
        # (4300 digits, ValueError) or nesting deeper than the recursion limit.
        raise DossierFormatError(
            [
                Problem(
                    "$",
                    "not readable JSON: a number is too long or the nesting too deep",
                    "无法读取 JSON:数字过长或嵌套层数过多",
                )
            ],
            source=source,
        ) from None


def load(
    file: str | os.PathLike[str] | IO[bytes] | IO[str], *, limits: Limits | None = None
) -> Dossier:
    """Read a dossier from a path or an open file (at most
    ``limits.input_bytes`` of it are read: see :func:`read_input`)."""
    limits = DEFAULT_LIMITS if limits is None else limits
    source = str(Path(file)) if isinstance(file, str | os.PathLike) else _stream_name(file)
    return _read_held([read_input(file, limits=limits)], source, limits)


def read_input(
    file: str | os.PathLike[str] | IO[bytes] | IO[str], *, limits: Limits | None = None
) -> bytes | str:
    """The content of a path or an open file, read up to the input-size limit
    (``limits.input_bytes``, default :data:`~pension_collect.limits.DEFAULT_LIMITS`).

    A regular file larger than the limit is refused before it is read; any
    other (a pipe, a FIFO, ``/dev/zero``) is read in chunks and refused as
    soon as it holds more. The refusal is a
    :class:`~pension_collect.errors.DossierFormatError` at ``$``; a file that
    cannot be opened or read raises :class:`OSError`.
    """
    limit = (DEFAULT_LIMITS if limits is None else limits).input_bytes
    if isinstance(file, str | os.PathLike):
        with open(file, "rb") as stream:
            return _read_bounded(stream, limit, str(Path(file)))
    return _read_bounded(file, limit, _stream_name(file))


def _stream_name(file: IO[Any]) -> str | None:
    name = getattr(file, "name", None)
    return name if isinstance(name, str) else None


_CHUNK = 1 << 20


def _read_bounded(stream: IO[Any], limit: int, source: str | None) -> bytes | str:
    size = None
    try:
        info = os.fstat(stream.fileno())
        if stat.S_ISREG(info.st_mode):
            size = info.st_size
    except (AttributeError, OSError, ValueError):
        pass  # not a file descriptor (BytesIO, StringIO): read in chunks
    if size is not None and size > limit:
        raise _too_large(limit, source)
    # A regular file in one read of its size (and one more byte: it may have
    # grown); anything else chunk by chunk.
    first = stream.read(min(limit, size) + 1 if size is not None else min(_CHUNK, limit + 1))
    chunks = [first]
    total = len(first)
    while first and total <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise _too_large(limit, source)
    data: bytes | str = chunks[0] if len(chunks) == 1 else chunks[0][:0].join(chunks)
    return data


def _too_large(limit: int, source: str | None) -> DossierFormatError:
    return DossierFormatError(
        [
            Problem(
                "$",
                f"larger than {limit:,} bytes, the input-size limit (docs/dossier.md "
                '"Limits"); a dossier that large is not read (split it by workers)',
                f"超过输入大小上限 {limit:,} 字节,不予读取(可按职工拆分为多个档案)",
            )
        ],
        source=source,
    )


# -- writing -----------------------------------------------------------------


def to_dict(dossier: Dossier) -> dict[str, Any]:
    """The JSON-ready dictionary of a dossier (money as two-place strings)."""
    body: dict[str, Any] = _writer().unstructure(dossier, Dossier)
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    for key in ("rule_pack", "as_of"):
        if key in body:
            out[key] = body.pop(key)
    out.update(body)
    return out


def segment_to_dict(segment: Segment) -> dict[str, Any]:
    """One history segment in its dossier-format form (used in findings' fixes)."""
    out: dict[str, Any] = _writer().unstructure(segment, Segment)
    return out


def dumps(dossier: Dossier, *, indent: int | None = 2) -> str:
    """Serialize a dossier to JSON text (UTF-8, Chinese kept readable)."""
    return json.dumps(to_dict(dossier), ensure_ascii=False, indent=indent) + "\n"


def dump(dossier: Dossier, path: str | os.PathLike[str]) -> None:
    """Write a dossier to ``path`` atomically: the old file stays whole until
    the new one is complete on disk."""
    import tempfile

    target = Path(path)
    text = dumps(dossier).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Name of the bundled example dossier (three workers of a Weihai employer).
EXAMPLE_DOSSIER = "example-dossier.json"


def example_dossier_text() -> str:
    """The bundled example dossier, as JSON text."""
    from importlib import resources

    return resources.files("pension_collect").joinpath("data", EXAMPLE_DOSSIER).read_text("utf-8")
