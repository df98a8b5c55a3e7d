"""The stores' JSON reader and writer (``pension_collect.adapters._json``) give
what ``json.loads`` gives: the same value, or the same error, on any text."""

from __future__ import annotations

import datetime as _dt
import enum
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect.adapters import _json


class Shade(enum.Enum):
    RED = "red"


@attrs.define
class Plain:
    x: int


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


def written(value: Any) -> tuple[str, str]:
    """What ``json.dumps`` as the stores call it makes of ``value``: the value
    its text reads back as (``json.loads``), or the error."""
    try:
        return (
            "value",
            repr(json.loads(json.dumps(value, ensure_ascii=False, separators=(",", ":")))),
        )
    except Exception as exc:  # the kind of error is what is compared
        return ("error", type(exc).__name__)


def ours(value: Any) -> tuple[str, str]:
    try:
        return ("value", repr(json.loads(_json.dumps(value))))
    except Exception as exc:  # the kind of error is what is compared
        return ("error", type(exc).__name__)


TUPLED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(TUPLED)
def test_any_value_is_written_as_json_dumps_writes_it(value: Any) -> None:
    """Tuples, non-text keys, NaN and infinities included: the same value back,
    or the same refusal."""
    assert ours(value) == written(value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": Decimal("1.5")},
        {"a": _dt.date(2020, 1, 2)},
        {"a": {1, 2}},
        {"a": b"bytes"},
        {"a": float("nan")},
        {"a": float("inf")},
        {"a": "\ud800"},
        {"\ud800": 1},
        {1: "a", "1": "b"},
        {"a": (1, 2)},
        {"a": Shade.RED},
        {"a": Plain(1)},
        {"a": 10**5000},
    ],
)
def test_what_msgspec_would_write_differently_json_dumps_decides(value: Any) -> None:
    assert ours(value) == written(value)
    assert _json.fast_dumps(value) is None


def test_plain_records_take_the_fast_path() -> None:
    value = {"worker": {"name": "张三", "history": [{"start": "1990-01"}]}, "n": 2**70, "ok": True}
    text = _json.fast_dumps(value)
    assert text is not None
    assert json.loads(text) == value
    assert _json.dumps(value) == text
