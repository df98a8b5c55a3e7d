"""The JSON text a store keeps, read and written fast where msgspec is installed.

A collection reads its records many times over (a worker's record some ten
times across the loop, docs/workflow.md "Scaling"), and ``json.loads`` is the
largest single cost of a read. msgspec (the ``fast`` extra) decodes the same
text about three times as fast. Its result is the same Python value: where
the two would differ it raises instead (a lone surrogate escaped in a text,
``NaN``, ``Infinity``, a number too large for a float, a byte-order mark,
text after the value), and :func:`loads` then runs ``json.loads``, which gives
what it always gave, the same value or the same error. Without msgspec it is
``json.loads``.

Writing: msgspec writes the same compact JSON some five times as fast, but
also writes values ``json.dumps`` refuses (``Decimal``, dates, sets, bytes,
attrs instances: a store must refuse them, as
:func:`~pension_collect.ports.storage.record_text` does) and writes ``NaN`` as
``null``. So :func:`dumps` keeps msgspec's text only when reading it back
gives a value equal to the one written, which only JSON's own types do (a
``Decimal`` comes back a string, a set or a tuple a list, ``NaN`` ``None``),
and otherwise runs ``json.dumps``, which writes or refuses as it always did.
Encoding and reading back still take about half of ``json.dumps``' time.
The text may differ from ``json.dumps``' in how it spells the same value (an
escape, a float's exponent); every reader reads the same value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["SAVED_CHARS_KEPT", "SavedTexts", "dumps", "fast_dumps", "loads"]


def _codec() -> tuple[Callable[[str | bytes], Any], Callable[[Any], bytes]] | None:
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.Decoder().decode, msgspec.json.Encoder().encode


_CODEC = _codec()
_DECODE = None if _CODEC is None else _CODEC[0]
_ENCODE = None if _CODEC is None else _CODEC[1]


def loads(text: str) -> Any:
    """``json.loads(text)``, through msgspec when it gives the same value."""
    if _DECODE is not None:
        try:
            return _DECODE(text)
        except Exception:  # json.loads says what is wrong, or reads it alike
            pass
    return json.loads(text)


def fast_dumps(value: Any) -> str | None:
    """msgspec's compact JSON of ``value`` (valid UTF-8) when it reads back as
    a value equal to ``value``; ``None`` when not (or without msgspec)."""
    if _ENCODE is not None and _DECODE is not None:
        try:
            raw = _ENCODE(value)
            if _DECODE(raw) == value:
                return raw.decode("utf-8")
        except Exception:  # not JSON's own types: json.dumps writes it or says why not
            pass
    return None


def dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``'s value,
    through :func:`fast_dumps` where it gives one; raises what ``json.dumps``
    raises."""
    text = fast_dumps(value)
    if text is None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text


SAVED_CHARS_KEPT = 64 * 2**20
"""How many characters of the texts a transaction wrote a store keeps at
hand (:class:`SavedTexts`)."""


class SavedTexts:
    """The texts a transaction wrote, by the data object written (kept with
    it, so that its ``id`` is not reused): an audit image that is the very
    data saved in the same transaction (a save and its ``worker.saved``
    entry, a batch of saves and their entries) is written as that text, not
    serialized again. Only the latest :data:`SAVED_CHARS_KEPT` characters
    are kept: a step writing every worker of a large collection in one
    transaction (a print mark, the outcomes of a declaration) would
    otherwise keep every record's text alive until it commits. A forgotten
    text is serialized again if an image needs it."""

    __slots__ = ("_by_id", "_chars")

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[object, str]] = {}
        self._chars = 0

    def keep(self, data: object, text: str) -> None:
        old = self._by_id.pop(id(data), None)
        if old is not None:
            self._chars -= len(old[1])
        self._by_id[id(data)] = (data, text)
        self._chars += len(text)
        while self._chars > SAVED_CHARS_KEPT:
            oldest = next(iter(self._by_id))
            self._chars -= len(self._by_id.pop(oldest)[1])

    def text(self, data: object) -> str | None:
        """The text ``data`` (this very object) was saved as, if kept."""
        hit = self._by_id.get(id(data))
        return hit[1] if hit is not None and hit[0] is data else None

    def __len__(self) -> int:
        return len(self._by_id)
