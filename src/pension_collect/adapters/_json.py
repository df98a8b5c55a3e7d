"""Reading the JSON text a store keeps, fast where msgspec is installed.

A collection reads its records many times over (a worker's record some ten
times across the loop, docs/workflow.md "Scaling"), and ``json.loads`` is the
largest single cost of a read. msgspec (the ``fast`` extra) decodes the same
text about three times as fast. Its result is the same Python value: where
the two would differ it raises instead (a lone surrogate escaped in a text,
``NaN``, ``Infinity``, a number too large for a float, a byte-order mark,
text after the value), and :func:`loads` then runs ``json.loads``, which gives
what it always gave, the same value or the same error. Without msgspec it is
``json.loads``.

Writing stays ``json.dumps``: msgspec writes more types than JSON's
(``Decimal``, dates, sets, bytes) where a store must refuse them as SQLite
does (:func:`~pension_collect.ports.storage.record_text`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["loads"]


def _decoder() -> Callable[[str], Any] | None:
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.Decoder().decode


_DECODE = _decoder()


def loads(text: str) -> Any:
    """``json.loads(text)``, through msgspec when it gives the same value."""
    if _DECODE is not None:
        try:
            return _DECODE(text)
        except Exception:  # json.loads says what is wrong, or reads it alike
            pass
    return json.loads(text)
