"""The typed one-pass reader: msgspec decodes the file into typed mirrors.

``json.loads`` builds a dictionary per record, a string per key and value,
and the reader then walks them all again; at 10,000 workers the parsed JSON
is most of the memory and half of the time. Here msgspec decodes the UTF-8
bytes in one pass straight into :class:`msgspec.Struct` mirrors of the
model's record classes, generated from their attrs fields: each JSON value's
type (a string, a whole number that is no ``true`` or ``12.0``, a list, an
object), the required keys, ``null`` only where the model allows ``None``,
unknown keys and the enumerations are checked while decoding. What msgspec
cannot know (the money, month, date and rate formats, text length and
characters, the digits of numbers, list lengths: docs/dossier.md, "Limits")
is checked by the generated functions of :class:`~pension_collect._fastpath.FastPath`,
which then build the frozen attrs records, as for the JSON reader.

Like the other fast path this reader vouches for nothing: on any input it
does not take exactly as the detailed reader would, :func:`read` returns
``None`` and the caller reads the document again with the detailed reader,
which names every problem with its path. Mirrors are made without cyclic
garbage-collector support (``gc=False``): they hold strings, numbers and
other mirrors only.

msgspec is optional (the ``fast`` extra): importing this module raises
:class:`ImportError` without it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import types
import typing
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs
import msgspec

from .._fastpath import RECORD_CLASSES, FastPath
from ..limits import Limits
from ..model import Dossier, Money, YearMonth

__all__ = ["read"]

#: Leaves written as JSON strings in the format, read as text by msgspec and
#: parsed by the generated functions (their formats are stricter than any
#: msgspec type's).
_STRING_LEAVES = (Money, YearMonth, Decimal, _dt.date)

_FORMAT = "pension-collect/dossier"
_VERSION = 1


def _mirror_type(tp: Any, mirrors: dict[type[Any], type[msgspec.Struct]]) -> Any:
    """The msgspec type standing for the model's field type ``tp``."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or len(args) != 2:
            raise TypeError(f"unsupported field type {tp!r}")
        return _mirror_type(inner[0], mirrors) | None
    if origin is tuple:
        item, ellipsis = typing.get_args(tp)
        if ellipsis is not Ellipsis:
            raise TypeError(f"unsupported field type {tp!r}")
        return list[_mirror_type(item, mirrors)]  # type: ignore[misc]
    if tp in mirrors:
        return mirrors[tp]
    if tp in _STRING_LEAVES:
        return str
    if tp is str or tp is int:
        return tp
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp  # decoded by value; anything else is refused
    raise TypeError(f"unsupported field type {tp!r}")


def _make_mirrors() -> type[msgspec.Struct]:
    """The document's mirror (the dossier's fields and its ``format`` and
    ``version``), through those of the other record classes."""
    mirrors: dict[type[Any], type[msgspec.Struct]] = {}
    root: type[msgspec.Struct] | None = None
    for cls in RECORD_CLASSES:
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        if cls is Dossier:
            fields += [("format", str), ("version", int)]
        for field in attrs.fields(attrs.resolve_types(cls)):
            tp = _mirror_type(field.type, mirrors)
            if field.default is attrs.NOTHING:
                fields.append((field.name, tp))
            elif field.default == ():
                fields.append((field.name, tp, msgspec.field(default_factory=list)))
            else:
                fields.append((field.name, tp, field.default))
        # Required fields first, as msgspec (like dataclasses) wants them.
        fields.sort(key=lambda f: len(f) == 3)
        mirror = msgspec.defstruct(
            f"_{cls.__name__}Mirror", fields, forbid_unknown_fields=True, gc=False
        )
        if cls is Dossier:
            root = mirror
        else:
            mirrors[cls] = mirror
    assert root is not None
    return root


_ROOT: type[msgspec.Struct] = _make_mirrors()
_DECODER = msgspec.json.Decoder(_ROOT)


@functools.lru_cache(maxsize=8)
def _structure(limits: Limits) -> Any:
    """The generated Dossier function under ``limits`` (built once per limits)."""
    return FastPath(RECORD_CLASSES, limits=limits, from_structs=True)


def read(data: bytes | bytearray | memoryview | str, limits: Limits) -> Dossier | None:
    """The dossier in ``data`` (UTF-8 JSON, a BOM allowed), or ``None`` when
    this reader does not take it (the detailed reader says why)."""
    if isinstance(data, bytes | bytearray) and data[:3] == b"\xef\xbb\xbf":
        data = memoryview(data)[3:]
    elif isinstance(data, str) and data[:1] == "\ufeff":
        data = data[1:]
    try:
        root: Any = _DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return None
    del data
    if root.format != _FORMAT or root.version != _VERSION:
        return None  # the header problems alone are reported
    fast = _structure(limits)
    try:
        dossier: Dossier = fast.structure(Dossier)(root)
    except Exception:  # any refusal: the detailed reader says what and where
        return None
    finally:
        fast.forget()
    return dossier
