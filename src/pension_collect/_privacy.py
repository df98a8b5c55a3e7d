"""The masking policy (docs/privacy.md): how personal data may appear in a
``repr``, a ``str`` or a message.

* An identity number is shown only masked (:func:`pension_collect.identity.mask`:
  ``371002********1239``, the birth date and sequence hidden); so is a worker's
  key, which is their 18-character identity number.
* A person's name is shown as its first character and one ``*`` (``张*``),
  or left out.
* A contact person, legal representative, phone number, address and any free
  text typed by a clerk (a remark) are left out of reprs.
* A value that may be any of these (a field given the wrong thing: a shifted
  spreadsheet column) is described by its shape (:func:`shape`: its type and
  length), never quoted.
* Credentials are never shown at all.

The ``*_repr`` functions fit attrs' ``field(repr=...)``: each takes the field's
value and returns the text shown after ``name=``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .identity import mask

__all__ = [
    "id_repr",
    "keyed_repr",
    "keys_repr",
    "mask_id",
    "mask_keys",
    "mask_name",
    "scrub_ids",
    "scrubbed_repr",
    "shape",
    "shape_zh",
]


def mask_id(value: object) -> str | None:
    """An identity number (or a worker key) masked; ``None`` stays ``None``.

    Never raises: anything that is not a string is ``""``."""
    if value is None:
        return None
    return mask(value) if isinstance(value, str) else ""


def mask_name(value: object) -> str | None:
    """A name as its first character and one ``*`` (``张*``), whatever its
    length; ``None`` stays ``None``, an empty or non-string value is ``""``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return ""
    return value.strip()[0] + "*"


def mask_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """Worker keys (identity numbers), each masked."""
    return tuple(mask(k) for k in keys)


def id_repr(value: object) -> str:
    """``repr`` of a masked identity number (for ``attrs.field(repr=id_repr)``)."""
    return repr(mask_id(value))


def keys_repr(value: Iterable[str]) -> str:
    """``repr`` of a tuple of worker keys, each masked."""
    return repr(mask_keys(value))


def keyed_repr(value: Mapping[str, Any]) -> str:
    """``repr`` of a mapping whose keys are worker keys: the keys masked, the
    values by their own ``repr``."""
    return "{" + ", ".join(f"{mask(k)!r}: {v!r}" for k, v in value.items()) + "}"


#: Anything shaped like an identity number inside a longer text: 17 digits and
#: a digit or X, or 15 digits, not part of a longer run of digits.
_ID_LIKE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


def scrub_ids(text: str) -> str:
    """``text`` with everything shaped like an identity number masked: for
    values that are not known to hold none (a rule's ``expected`` or ``fix``
    from a plugin)."""
    return _ID_LIKE.sub(lambda m: mask(m.group()), text)


def scrubbed_repr(value: object) -> str:
    """``repr`` of a value with every identity number inside it masked."""
    return scrub_ids(repr(value))


def _digit_count(value: int) -> int:
    try:
        return len(str(abs(value)))
    except ValueError:  # beyond sys.get_int_max_str_digits(): near enough
        return int(abs(value).bit_length() * 0.30103) + 1


def _digits_or_letters(text: str) -> str:
    if text.isascii() and text.isdigit():
        return " digits"
    return " characters"


def shape(value: object) -> str:
    """What a value is, by type and length only, in English: ``a text of 18
    digits``, ``a whole number of 18 digits``, ``a decimal number``, ``a list
    of 3 items``. Never any part of the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        n = _digit_count(value)
        return f"a whole number of {n} digit{'s' if n != 1 else ''}"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        if not value:
            return "an empty text"
        unit = _digits_or_letters(value) if len(value) != 1 else " character"
        return f"a text of {len(value)}{unit}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def shape_zh(value: object) -> str:
    """:func:`shape` in Chinese: ``18 位数字的文本``, ``18 位整数``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "布尔值"
    if isinstance(value, int):
        return f"{_digit_count(value)} 位整数"
    if isinstance(value, float):
        return "小数"
    if isinstance(value, str):
        if not value:
            return "空文本"
        if value.isascii() and value.isdigit():
            return f"{len(value)} 位数字的文本"
        return f"{len(value)} 个字符的文本"
    if isinstance(value, list | tuple):
        return f"{len(value)} 项的列表"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__
