"""The dossier reader's fast path: structure functions generated from the model.

A valid dossier of 10,000 workers holds some 200,000 records and a million
amounts. cattrs' generated functions call one hook per field and the frozen
classes' ``__init__`` sets each slot through ``object.__setattr__``; on valid
input, the common case, both are most of the reading time. The functions made
here, one per record class of :mod:`pension_collect.model` and generated from
its attrs fields (so a new field cannot be forgotten):

- check each value's JSON type inline and parse amounts and months through
  plain dictionaries used as bounded caches (amounts and months repeat);
- guarantee by those inline checks what the model's converters check: a
  value they let through has exactly its field's type, on which the field's
  shape converter is the identity, so it is not called (an import-time check
  refuses a field whose converter is not its type's shape converter);
- run the model's attrs validators on the fields that have them (a blank
  name);
- given the reader's :class:`~pension_collect.limits.Limits`, hold text and
  lists to them: a text field longer than its bound or holding a character
  the reader refuses (:func:`pension_collect.text.refused_character`), a list
  of more records than its bound, raise like any other refusal;
- build the frozen instance through a mutable twin class with the same slots,
  whose class is then switched to the frozen one (one ``__class__``
  assignment instead of one ``object.__setattr__`` per field). An import-time
  check falls back to ``object.__setattr__`` should a future attrs lay the
  slots out differently;
- share the structured tuple of a list equal to the list of the same record
  type structured just before it: a data sync's ``bureau`` block repeats the
  collected account.

They vouch for nothing: any input they do not accept exactly as the detailed
cattrs converter would makes them raise (any exception), and the reader then
runs the detailed converter, which names every problem with its path. The test
suite checks both paths agree on generated and corrupted documents, and that
what they build is what the model's constructors build from the same values.

Their source is registered in :mod:`linecache` under a unique name, as cattrs
does for its generated functions, so that a traceback through one shows its
lines.
"""

from __future__ import annotations

import datetime as _dt
import linecache
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import attrs

from . import _attrs_code
from . import model as _model
from ._cache import CodeCache, cache_folder
from .limits import Limits
from .model import Money, YearMonth, _money_from_str, _money_text, parse_date, parse_rate
from .text import refused_character

__all__ = ["CACHE_LIMIT", "RECORD_CLASSES", "FastPath", "unstructure_functions"]

#: The record classes of the dossier format, innermost first (what the
#: readers generate functions for).
RECORD_CLASSES: tuple[type[Any], ...] = (
    _model.Employer,
    _model.Segment,
    _model.AccountYear,
    _model.BureauRecord,
    _model.Worker,
    _model.Dossier,
)

#: Entries kept by each leaf cache before it is emptied (bounds its memory).
CACHE_LIMIT = 16384


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


_MISSING = _Missing()
_NONE_TYPE = type(None)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, ``(tp, False)`` otherwise."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not _NONE_TYPE]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _can_switch_class(cls: type[Any], twin: type[Any]) -> bool:
    try:
        probe = object.__new__(twin)
        probe.__class__ = cls
    except TypeError:
        return False
    return type(probe) is cls


class FastPath:
    """Generated structure functions for a set of frozen, slotted attrs classes.

    ``structure(cls)`` gives the function for one of them: it takes the
    parsed JSON value and returns the instance, or raises. ``switch_class``
    may be set ``False`` to build instances through ``object.__setattr__``
    (what an attrs release with another slot layout gets automatically).
    ``limits``, when given, bounds text and list lengths and refuses the
    characters the dossier reader refuses (``None``: the model's shape only,
    what a store reads back). ``from_structs=True`` makes functions that
    read each field as an attribute of a typed mirror instance (what
    :mod:`pension_collect._reader.fast` decodes with msgspec, which has
    already checked the JSON types, the required and the unknown keys)
    instead of a key of a parsed JSON object.
    """

    def __init__(
        self,
        classes: tuple[type[Any], ...],
        *,
        switch_class: bool = True,
        limits: Limits | None = None,
        from_structs: bool = False,
    ) -> None:
        self._classes = classes
        self._from_structs = from_structs
        self._switch_class = switch_class
        self._limits = limits
        self._money: dict[str, Money] = {}
        self._months: dict[str, YearMonth] = {}
        self._memos: list[list[Any]] = []
        self._functions: dict[type[Any], Callable[[Any], Any]] = {}
        namespace = self._namespace()
        for cls in classes:
            self._compile(cls, namespace)
        _code_cache().save()

    _attrs_code.save()

    def structure(self, cls: type[Any]) -> Callable[[Any], Any]:
        """The generated structure function of ``cls``."""
        return self._functions[cls]

    def forget(self) -> None:
        """Drop the shared-list memos (they hold the last lists read)."""
        for memo in self._memos:
            memo[0] = (None, None)

    # -- leaves ---------------------------------------------------------------

    def _money_miss(self, value: Any) -> Money:
        # _money_from_str inlined (a third of the amounts miss the cache)
        if type(value) is not str or _money_text(value) is None:
            return _money_from_str(value)  # raises its ValueError, as before
        # Money(...) is the identity, through a Python-level call
        amount: Money = Decimal(value)  # type: ignore[assignment]
        limits = self._limits
        if limits is not None and amount.adjusted() >= limits.amount_digits:
            raise ValueError("too many digits")
        cache = self._money
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[value] = amount
        return amount

    def _month_miss(self, value: Any) -> YearMonth:
        month = YearMonth.parse(value)
        cache = self._months
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[value] = month
        return month

    def _namespace(self) -> dict[str, Any]:
        return {
            "_MISSING": _MISSING,
            "_new": object.__new__,
            "_setattr": object.__setattr__,
            "_money_get": self._money.get,
            "_money": self._money,
            "_money_text": _money_text,
            "_Decimal": Decimal,
            "_money_miss": self._money_miss,
            "_month_get": self._months.get,
            "_month_miss": self._month_miss,
            "_parse_rate": parse_rate,
            "_parse_date": parse_date,
            "_refused": refused_character,
            "_list": list,
            "_dict": dict,
            "_str": str,
            "_int": int,
            "_tuple": tuple,
        }

    # -- code generation --------------------------------------------------------

    def _compile(self, cls: type[Any], ns: dict[str, Any]) -> None:
        name = cls.__name__
        fields = attrs.fields(attrs.resolve_types(cls))
        if set(getattr(cls, "__slots__", ())) != {f.name for f in fields}:
            raise TypeError(f"{name}: the fast path needs a slotted class without extra slots")
        if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
            raise TypeError(f"{name}: the fast path does not run init hooks")
        twin = type(f"_{name}Builder", (), {"__slots__": tuple(cls.__slots__)})
        switch = self._switch_class and _can_switch_class(cls, twin)
        ns[f"_C_{name}"] = cls
        ns[f"_T_{name}"] = twin
        lines = [
            f"def structure_{name}(d):",
            "    if type(d) is not _dict:",
            f"        raise TypeError('{name}: not an object')",
        ]
        if self._from_structs:
            del lines[1:]  # a typed mirror instance, its defaults filled in
        required = 0
        for field in fields:
            if not field.init:
                raise TypeError(f"{name}.{field.name}: the fast path needs init fields")
            var = f"f_{field.name}"
            tp, optional = _unwrap_optional(field.type)
            key = field.name  # cattrs' default: the attribute's name
            if self._from_structs:
                lines.append(f"    v = d.{key}")
                lines.extend(
                    self._leaf(tp, optional, var, ns, indent="    ", owner=(name, field.name))
                )
            elif field.default is attrs.NOTHING:
                required += 1
                lines.append(f"    v = d[{key!r}]")
                body = self._leaf(tp, optional, var, ns, indent="    ", owner=(name, field.name))
                lines.extend(body)
            else:
                if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                    raise TypeError(f"{name}.{field.name}: factories are not supported")
                ns[f"_D_{name}_{field.name}"] = field.default
                lines.append(f"    v = d.get({key!r}, _MISSING)")
                lines.append("    if v is _MISSING:")
                lines.append(f"        {var} = _D_{name}_{field.name}")
                lines.append("    else:")
                lines.append("        n += 1")
                lines.extend(
                    self._leaf(tp, optional, var, ns, indent="        ", owner=(name, field.name))
                )
            if field.converter is not None:
                _check_converter(name, field)
            if field.validator is not None:
                ns[f"_V_{name}_{field.name}"] = field.validator
                ns[f"_A_{name}_{field.name}"] = field
                lines.append(f"    _V_{name}_{field.name}(None, _A_{name}_{field.name}, {var})")
        if not self._from_structs:
            # the count of keys read must be the count of keys given: no unknown key
            lines.insert(3, f"    n = {required}")
            lines.append("    if len(d) != n:")
            lines.append(f"        raise KeyError('{name}: unknown key')")
        if switch:
            lines.append(f"    o = _new(_T_{name})")
            lines.extend(f"    o.{f.name} = f_{f.name}" for f in fields)
            lines.append(f"    o.__class__ = _C_{name}")
        else:
            lines.append(f"    o = _new(_C_{name})")
            lines.extend(f"    _setattr(o, {f.name!r}, f_{f.name})" for f in fields)
        lines.append("    return o")
        source = "\n".join(lines)
        exec(_compiled(source, _register_source(f"structure_{name}", source)), ns)
        self._functions[cls] = ns[f"structure_{name}"]

    def _leaf(
        self,
        tp: Any,
        optional: bool,
        var: str,
        ns: dict[str, Any],
        *,
        indent: str,
        owner: tuple[str, str],
    ) -> list[str]:
        """Lines that check ``v`` and set ``var`` to its structured value
        (``owner``: the class and field names, for the text bounds)."""
        body = self._convert(tp, var, ns, owner)
        if optional:
            body = ["if v is None:", f"    {var} = None", "else:", *("    " + b for b in body)]
        return [indent + line for line in body]

    def _convert(self, tp: Any, var: str, ns: dict[str, Any], owner: tuple[str, str]) -> list[str]:
        """Lines (unindented) that structure a non-null ``v`` of type ``tp`` into ``var``."""
        # Read from typed mirrors, a str or int field holds exactly a str or
        # an int (msgspec refuses anything else, ``true`` and ``12.0``
        # included), and an enumeration field a member: no check of the type.
        typed = self._from_structs
        type_check = (
            []
            if typed
            else [
                f"if type(v) is not {'_str' if tp is str else '_int'}:",
                "    raise TypeError('wrong type')",
            ]
        )
        if tp is str and self._limits is not None:
            # isprintable() first: true for almost every field, and then no
            # character is refused.
            longest = self._limits.text_length_of(*owner)
            return [
                *type_check,
                f"if len(v) > {longest} or not (v.isprintable() or _refused(v) is None):",
                "    raise ValueError('text refused')",
                f"{var} = v",
            ]
        if tp is int and self._limits is not None:
            most = 10**self._limits.number_digits
            return [
                *type_check,
                f"if not -{most} < v < {most}:",
                "    raise ValueError('too many digits')",
                f"{var} = v",
            ]
        if tp is str or tp is int:
            return [*type_check, f"{var} = v"]
        if tp is Money and typed:
            # A cache miss parsed inline (a third of the amounts: balances and
            # interest rarely repeat). What msgspec read is a str; any refusal
            # sends the document to the detailed reader, whatever the message.
            digits = (
                []
                if self._limits is None
                else [
                    f"    if {var}.adjusted() >= {self._limits.amount_digits}:",
                    "        raise ValueError('too many digits')",
                ]
            )
            return [
                f"{var} = _money_get(v)",
                f"if {var} is None:",
                "    if _money_text(v) is None:",
                "        raise ValueError('not an amount')",
                f"    {var} = _Decimal(v)",
                *digits,
                f"    if len(_money) >= {CACHE_LIMIT}:",
                "        _money.clear()",
                f"    _money[v] = {var}",
            ]
        if tp is Money or tp is YearMonth:
            kind = "money" if tp is Money else "month"
            return [f"{var} = _{kind}_get(v)", f"if {var} is None:", f"    {var} = _{kind}_miss(v)"]
        if tp is Decimal or tp is _dt.date:
            return [f"{var} = {'_parse_rate' if tp is Decimal else '_parse_date'}(v)"]
        if isinstance(tp, type) and issubclass(tp, Enum):
            if typed:
                return [f"{var} = v"]
            table = f"_E_{tp.__name__}"
            ns[table] = {m.value: m for m in tp}
            return [f"{var} = {table}[v]"]
        if typing.get_origin(tp) is tuple:
            item, ellipsis = typing.get_args(tp)
            if ellipsis is not Ellipsis or item not in self._classes:
                raise TypeError(f"unsupported field type {tp!r}")
            return [f"{var} = {self._tuple_function(item, ns)}(v)"]
        if tp in self._classes:
            return [f"{var} = structure_{tp.__name__}(v)"]
        raise TypeError(f"unsupported field type {tp!r}")

    def _tuple_function(self, item: type[Any], ns: dict[str, Any]) -> str:
        """A function structuring a list of ``item`` records into a tuple.

        A list equal to the one this function structured last (a bureau block
        repeating the collected account) gets the same tuple: the records are
        immutable. Plain equality takes ``1 == 1.0 == True``, so the integer
        fields' types are checked as well; every other leaf of these records
        is a string or null, which compare exactly.
        """
        name = f"tuple_of_{item.__name__}"
        if name in ns:
            return name
        most = None if self._limits is None else self._limits.items_of(item.__name__)
        bound = (
            []
            if most is None
            else [f"    if len(v) > {most}:", "        raise ValueError('too many')"]
        )
        fields = attrs.fields(item)
        nested = any(
            tp in self._classes or typing.get_origin(tp) is tuple
            for tp, _ in (_unwrap_optional(f.type) for f in fields)
        )
        if nested:  # workers: never repeated, not worth comparing
            source = "\n".join(
                [
                    f"def {name}(v):",
                    "    if type(v) is not _list:",
                    "        raise TypeError('not a list')",
                    *bound,
                    f"    return _tuple([structure_{item.__name__}(i) for i in v])",
                ]
            )
        else:
            memo: list[Any] = [(None, None)]
            self._memos.append(memo)
            ns[f"_M_{item.__name__}"] = memo
            # Decoded into typed mirrors, a whole number is an int already.
            ns[f"_check_ints_{item.__name__}"] = _int_checker(
                () if self._from_structs else tuple(f.name for f in fields if f.type is int)
            )
            source = "\n".join(
                [
                    f"def {name}(v):",
                    "    if type(v) is not _list:",
                    "        raise TypeError('not a list')",
                    *bound,
                    f"    last, result = _M_{item.__name__}[0]",
                    f"    if v == last and _check_ints_{item.__name__}(v):"
                    if not self._from_structs
                    else "    if v == last:",
                    "        return result",
                    f"    result = _tuple([structure_{item.__name__}(i) for i in v])",
                    f"    _M_{item.__name__}[0] = (v, result)",
                    "    return result",
                ]
            )
        exec(_compiled(source, _register_source(name, source)), ns)
        return name


def unstructure_functions(
    classes: tuple[type[Any], ...] = RECORD_CLASSES,
) -> dict[type[Any], Callable[[Any], dict[str, Any]]]:
    """Generated unstructure functions of ``classes`` (record class -> function
    of an instance giving its JSON-ready dictionary).

    They give exactly what cattrs' ``make_dict_unstructure_fn`` with
    ``_cattrs_omit_if_default=True`` gives through the dossier converter's
    leaf hooks (a field equal to its default left out, a month as
    ``"YYYY-MM"``, an amount with two places, a rate in plain notation, a date
    in ISO form, an enumeration as its value, a tuple of records as a list):
    the test suite compares the two on generated documents. cattrs calls a
    hook per field and an ``Optional`` wrapper per nullable one; here each
    field is one line, and amounts, which repeat, are formatted once each
    (a bounded cache; zero, whose sign shows in the text, is never cached).
    A collection unstructures every worker on each save and each declaration.
    """
    amounts: dict[Decimal, str] = {}

    def amount(value: Decimal) -> str:
        text = format(value, ".2f")
        if value:  # equal non-zero amounts write alike; -0 and 0 do not
            if len(amounts) >= CACHE_LIMIT:
                amounts.clear()
            amounts[value] = text
        return text

    ns: dict[str, Any] = {
        "_amount_get": amounts.get,
        "_amount": amount,
        "_format": format,
        "_str": str,
    }
    out: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}
    for cls in classes:
        name = cls.__name__
        lines = [f"def unstructure_{name}(o):", "    res = {}"]
        for field in attrs.fields(attrs.resolve_types(cls)):
            tp, optional = _unwrap_optional(field.type)
            body = [f"res[{field.name!r}] = {_unstructured(tp, classes, ns)}"]
            lines.append(f"    v = o.{field.name}")
            if field.default is attrs.NOTHING:
                if optional:
                    body = ["if v is None:", f"    res[{field.name!r}] = None", "else:"] + [
                        "    " + b for b in body
                    ]
                lines.extend("    " + b for b in body)
                continue
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                raise TypeError(f"{name}.{field.name}: factories are not supported")
            ns[f"_D_{name}_{field.name}"] = default
            test = "v is not None" if default is None else f"v != _D_{name}_{field.name}"
            if optional and default is not None:
                body = ["if v is None:", f"    res[{field.name!r}] = None", "else:"] + [
                    "    " + b for b in body
                ]
            lines.append(f"    if {test}:")
            lines.extend("        " + b for b in body)
        lines.append("    return res")
        source = "\n".join(lines)
        exec(_compiled(source, _register_source(f"unstructure_{name}", source)), ns)
        out[cls] = ns[f"unstructure_{name}"]
    _code_cache().save()
    _attrs_code.save()
    return out


def _unstructured(tp: Any, classes: tuple[type[Any], ...], ns: dict[str, Any]) -> str:
    """The expression unstructuring a non-null ``v`` of type ``tp``."""
    if tp is str or tp is int:
        return "v"
    if tp is Money:
        return "(_amount_get(v) or _amount(v))"
    if tp is YearMonth:
        return "_str(v)"
    if tp is Decimal:
        return "_format(v, 'f')"
    if tp is _dt.date:
        return "v.isoformat()"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "v._value_"
    if typing.get_origin(tp) is tuple:
        item, ellipsis = typing.get_args(tp)
        if ellipsis is Ellipsis and item in classes:
            return f"[unstructure_{item.__name__}(i) for i in v]"
    elif tp in classes:
        return f"unstructure_{tp.__name__}(v)"
    raise TypeError(f"unsupported field type {tp!r}")


def _int_checker(keys: tuple[str, ...]) -> Callable[[list[Any]], bool]:
    if not keys:
        return lambda items: True

    def check(items: list[Any]) -> bool:
        for item in items:
            for key in keys:
                if type(item[key]) is not int:
                    return False
        return True

    return check


def _check_converter(name: str, field: attrs.Attribute[Any]) -> None:
    """Refuse a field whose converter the inline checks do not stand for."""
    shape = getattr(field.converter, "__wrapped__", None)
    if shape is None or _model._CONVERTER_OF.get(field.type) is not shape:
        raise TypeError(
            f"{name}.{field.name}: the fast path stands only for the shape converter "
            "of the field's type (pension_collect.model._CONVERTER_OF)"
        )


def _register_source(function: str, source: str) -> str:
    """A file name for generated ``source``, with its lines put in
    :mod:`linecache` so that tracebacks show them (as cattrs does).

    The name is unique: another source for the same function (another
    :class:`FastPath`, other options) gets ``-2``, ``-3`` ...
    """
    lines = [line + "\n" for line in source.splitlines()]
    count = 1
    while True:
        suffix = "" if count == 1 else f"-{count}"
        filename = f"<pension_collect generated {function}{suffix}>"
        # (size, mtime, lines, name); no mtime: linecache.checkcache keeps it
        cached = (len(source), None, lines, filename)
        if linecache.cache.setdefault(filename, cached) == cached:
            return filename
        count += 1


# -- the compiled code cache -------------------------------------------------------

#: The cache file of compiled generated code, in the cache folder
#: (:func:`pension_collect._cache.cache_folder`).
CODE_CACHE_FILE = "generated-code.bin"
#: Entries kept at most (each a distinct generated function and file name;
#: a fast path has nine, a file of them some 3 KiB each, well below the
#: cache's size bound).
_CODE_ENTRIES = 128


class _CodeCache(CodeCache):
    """The generated-code cache: :class:`pension_collect._cache.CodeCache`
    holding at most :data:`_CODE_ENTRIES` entries."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path, most=_CODE_ENTRIES)


_CODE_CACHES: list[_CodeCache] = []


def _code_cache() -> _CodeCache:
    """This process's code cache, for the cache folder now in force."""
    folder = cache_folder()
    path = None if folder is None else folder / CODE_CACHE_FILE
    if not _CODE_CACHES or _CODE_CACHES[0].path != path:
        _CODE_CACHES[:] = [_CodeCache(path)]
    return _CODE_CACHES[0]


def _compiled(source: str, filename: str) -> types.CodeType:
    return _code_cache().code(source, filename)
