"""The stores' JSON reader (``pension_collect.adapters._json.loads``) gives
what ``json.loads`` gives: the same value, or the same error, on any text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect.adapters import _json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def outcome(read: Any, text: str) -> tuple[str, str]:
    try:
        return ("value", repr(read(text)))
    except Exception as exc:  # the kind of error is what is compared
        return ("error", f"{type(exc).__name__}: {exc}")


@given(JSON_VALUES)
def test_any_json_reads_as_json_loads_reads_it(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, separators=(",", ":"))):
        assert outcome(_json.loads, text) == outcome(json.loads, text)


@given(st.text(max_size=30))
def test_any_text_reads_or_fails_as_json_loads(text: str) -> None:
    assert outcome(_json.loads, text) == outcome(json.loads, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":"\\ud800"}',  # a lone surrogate escaped: msgspec refuses, json reads it
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":-Infinity}',
        '{"a":1e400}',  # json: inf
        '{"a":1,"a":2}',
        '{"a":123456789012345678901234567890}',
        "\ufeff{}",
        '{"a":1} x',
        '{"a":"\x01"}',
        "[" * 5000 + "]" * 5000,
        "",
        "1",
        '{"a":-0.0}',
    ],
)
def test_where_msgspec_differs_json_loads_decides(text: str) -> None:
    assert outcome(_json.loads, text) == outcome(json.loads, text)


def test_msgspec_is_used_when_installed() -> None:
    """The fast decoder is what reads, not a fallback that always runs (msgspec
    is a test dependency)."""
    assert _json._DECODE is not None
