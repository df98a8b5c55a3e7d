"""Canonical JSON (pension_collect._canonical): the bytes both digests are
taken of are ``json.dumps(value, ensure_ascii=False, separators=(",", ":"),
sort_keys=True)`` in UTF-8, whether msgspec writes them or ``json`` does, and
the values the two digests are taken of hold only the types for which that
holds (docs/forms.md, docs/workflow.md: a digest stored by an earlier release
must still match)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect import _canonical
from pension_collect._canonical import canonical_json
from pension_collect.dossier import make_converter
from pension_collect.model import Worker
from pension_collect.plugins import PluginHost
from pension_collect.ports.forms import forms_input_from_workers
from pension_collect.ports.forms import payload as forms_payload
from pension_collect.workflow import records as R
from workflow_fixtures import make_setup, to_declared


def _reference(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode("utf-8", "surrogatepass")


# Text of every kind: quotes, backslashes, control characters, U+2028, DEL,
# lone surrogates, characters beyond the BMP (keys sort by code point).
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=8) | st.sampled_from(
    ["", '"', "\\", "\n", "\x00", "\x7f", "\u2028", "\ud800", "😀", "\uffff", "工", "a/b"]
)
_INTS = st.integers() | st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64])
_JSON = st.recursive(
    st.none() | st.booleans() | _INTS | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_TEXT, inner, max_size=4)
    ),
    max_leaves=16,
)


@given(_JSON)
def test_the_bytes_are_json_s(value: Any) -> None:
    """For dicts with text keys, lists, tuples, text, integers (of any size),
    booleans and None: json's canonical bytes, escapes and lone surrogates
    included."""
    assert canonical_json(value) == _reference(value)


@given(_JSON)
def test_without_msgspec_json_writes_them(value: Any) -> None:
    """Without msgspec (the fast extra) json writes the same bytes."""
    saved = _canonical._ENCODE
    _canonical._ENCODE = None
    try:
        assert canonical_json(value) == _reference(value)
    finally:
        _canonical._ENCODE = saved


def test_msgspec_writes_plain_text_and_json_the_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """msgspec's bytes are kept for text without escapes; a value whose text
    needs one, or a lone surrogate, is written by json."""
    if _canonical._ENCODE is None:
        pytest.skip("msgspec is not installed (the fast extra)")
    calls: list[Any] = []
    real = _canonical._ENCODER.encode

    def counted(value: Any) -> str:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(_canonical._ENCODER, "encode", counted)
    assert canonical_json({"b": ["张伟", 1], "a": None}) == '{"a":null,"b":["张伟",1]}'.encode()
    assert calls == []
    for value in ({"name": 'a "quoted" name'}, {"name": "\ud800"}):
        assert canonical_json(value) == _reference(value)
    assert len(calls) == 2
    big = {"n": [2**70, -(2**64)]}  # msgspec writes them as json does
    assert (
        canonical_json(big)
        == _reference(big)
        == b'{"n":[1180591620717411303424,-18446744073709551616]}'
    )
    assert len(calls) == 2


def test_a_value_json_refuses_is_refused() -> None:
    """A value json cannot write (a value that holds itself) raises json's error."""
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference"):
        canonical_json(looped)


_LEAVES = (str, int, bool, type(None))


def _plain(value: Any) -> bool:
    """Only dicts with str keys, lists, tuples and str/int/bool/None leaves
    (exactly those types: no float, Decimal, date or enumeration)."""
    if type(value) in _LEAVES:
        return True
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) in (list, tuple):
        return all(_plain(v) for v in value)
    return False


def test_plain_tells_the_types_apart() -> None:
    """The check below refuses what would make the two writers differ."""
    from decimal import Decimal

    from pension_collect.model import Gender

    assert _plain({"a": [1, "x", None, True, ("y",)]})
    for bad in (1.0, Decimal("1.00"), Gender.MALE, {1: "x"}, {"a": [float("nan")]}):
        assert not _plain(bad)


def test_the_digests_are_taken_of_plain_values(tmp_path: Any) -> None:
    """What both digests are taken of, for workers of the example collection
    collected in full (history, account, the bureau's record): the printed
    rows of each confirmation form and the declaration's payload hold only
    the types canonical_json writes as json does."""
    s = make_setup(f"sqlite:{tmp_path / 'c.db'}")
    to_declared(s)
    host = PluginHost()
    employer = s.dossier.employer
    forms = forms_input_from_workers(
        employer,
        list(s.workers),
        pack=host.rule_pack(s.dossier.rule_pack),
        as_of=s.dossier.as_of,
        cut_off=None,
    )
    rows = [
        forms_payload._canonical(employer.unit_no, forms.print_until, sheet.collected)
        for sheet in forms.workers
    ]
    assert rows
    assert all(r["history"] for r in rows)
    assert all(r["account"] for r in rows)
    assert all(_plain(r) for r in rows)
    converter = make_converter()
    for w in s.workers:
        item = converter.unstructure(w, Worker)
        assert _plain(item)
        assert canonical_json(item) == _reference(item)
    s.session.print_verification_forms()
    assert not s.session.save_workers(s.workers).refused
    batch = s.session.workers()
    payload = R.workers_payload(batch)
    assert len(payload["workers"]) == len(s.workers)
    assert _plain(payload)
    assert canonical_json(payload) == _reference(payload)


def test_an_msgspec_without_order_leaves_the_digests_to_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """msgspec before 0.18.6 has no ``order``: its Encoder refuses the
    keyword, and json writes the digests (the import does not fail)."""
    msgspec = pytest.importorskip("msgspec")

    def old_encoder(**kwargs: Any) -> Any:
        raise TypeError(f"unexpected keyword argument {next(iter(kwargs))!r}")

    monkeypatch.setattr(msgspec.json, "Encoder", old_encoder)
    assert _canonical._codec() is None
