"""Canonical JSON, the bytes a digest is taken of, written fast where msgspec is installed.

Two digests are taken of canonical JSON (``json.dumps(value,
ensure_ascii=False, separators=(",", ":"), sort_keys=True)`` in UTF-8): the
digest of what a confirmation form prints
(:func:`~pension_collect.ports.forms.printed_digest`, in its QR code and the
worker's record) and that of a declaration's payload
(:func:`~pension_collect.workflow.records.payload_digest`, in its draft and
audit entry). Both are stored and compared later, by this release or the
next, so their bytes may never change.

``json`` takes some 90 microseconds for a worker's payload; msgspec (the
``fast`` extra) writes the same bytes, keys sorted, in some 15. The two write
a value alike when it holds only what a digest is taken of: dicts with text
keys, lists, tuples, text, integers, booleans and ``None`` (the printed rows
are built of those, the payload is the unstructured model or JSON read back;
no float, no ``Decimal``, no enumeration: tests/test_canonical.py checks both
callers' values). Even then they differ in a few spellings, which
:func:`canonical_json` leaves to ``json``:

- an escape: the two escape some characters differently (both escape a
  quote, a backslash and control characters, so text with none of them is
  written alike): output holding a backslash is written again by ``json``;
- a lone surrogate (only the Python API lets one through; ``json`` writes it
  and the digest encodes it with ``surrogatepass``) and a value that holds
  itself: msgspec refuses them, and ``json`` writes or refuses as it always
  did. (Integers of any size are written alike by both.)

Without msgspec it is ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["canonical_json"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _codec() -> Callable[[Any], bytes] | None:
    try:
        import msgspec

        # ``order`` is msgspec 0.18.6's (the fast extra's lower bound); an
        # older one installed by other means leaves the digests to json
        return msgspec.json.Encoder(order="sorted").encode
    except (ImportError, TypeError):
        return None


_ENCODE = _codec()


def canonical_json(value: Any) -> bytes:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"),
    sort_keys=True)`` encoded in UTF-8 (``surrogatepass``: a lone surrogate
    is written as its three bytes), or its error, for a value of the types
    the module docstring lists."""
    if _ENCODE is not None:
        try:
            out = _ENCODE(value)
        except Exception:  # a lone surrogate, a cycle: json writes or refuses it
            pass
        else:
            if b"\\" not in out:
                return out
    return _ENCODER.encode(value).encode("utf-8", "surrogatepass")
