"""The typed one-pass reader (msgspec, pension_collect._reader.fast) against
the JSON reader: the same dossier from every document the JSON reader takes,
a refusal (``None``) for every document it refuses, and through ``loads`` the
same problems with their paths (the detailed reader explains a refusal)."""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect import dossier as fmt
from pension_collect._reader import fast
from pension_collect.errors import DossierFormatError, Problem
from pension_collect.limits import DEFAULT_LIMITS, Limits
from pension_collect.model import Dossier
from pension_collect.testing import strategies as pst

SMALL = Limits(segments=2, account_years=2, name_length=3, text_length=8, number_digits=4)

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3000),
    st.integers(10**9, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "0", "1.5", "12.345", "1e2", "2013-07", "2013-13", "male"]),
    st.sampled_from(["1996-04-01", "0.03", "deemed", "red_book", "\x1b[2J", "a\u202eb"]),
    st.text(max_size=12),
    st.just([]),
    st.just({}),
)


def text_of(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def by_json(text: str, limits: Limits) -> Dossier | None:
    """What the JSON reader (json.loads, then the dict fast path or the
    detailed converter) makes of ``text``; ``None`` when it refuses it."""
    try:
        return fmt.from_dict(json.loads(text), limits=limits)
    except DossierFormatError:
        return None


def exact(dossier: Dossier) -> str:
    return repr(attrs.asdict(dossier, recurse=True))


def _locations(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_locations(item, (*here, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_locations(item, (*here, i)))
    return out


@st.composite
def corrupted(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one place replaced, removed or given an extra key
    (the header included)."""
    body: dict[str, Any] = fmt.to_dict(draw(pst.dossiers(max_workers=2)))
    where = draw(st.sampled_from(_locations(body)[1:]))
    parent = body
    for step in where[:-1]:
        parent = parent[step]
    last = where[-1]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "remove":
        del parent[last]
    elif action == "add" and isinstance(parent[last], dict):
        parent[last][draw(st.sampled_from(["extra", "name", "year", "start"]))] = draw(_JUNK)
    else:
        parent[last] = draw(_JUNK)
    return body


@given(pst.dossiers(), st.sampled_from([DEFAULT_LIMITS, SMALL]))
def test_the_same_dossier_as_the_json_reader(dossier: Dossier, limits: Limits) -> None:
    text = fmt.dumps(dossier)
    typed, reference = fast.read(text.encode("utf-8"), limits), by_json(text, limits)
    assert (typed is None) == (reference is None)
    if limits is DEFAULT_LIMITS:
        assert typed == dossier
    if typed is not None and reference is not None:
        assert exact(typed) == exact(reference)


@given(corrupted(), st.sampled_from([DEFAULT_LIMITS, SMALL]))
def test_corrupted_documents_get_the_same_answer(body: dict[str, Any], limits: Limits) -> None:
    text = text_of(body)
    typed, reference = fast.read(text.encode("utf-8"), limits), by_json(text, limits)
    assert (typed is None) == (reference is None)
    if typed is not None and reference is not None:
        assert exact(typed) == exact(reference)


def _problems(text: str | bytes, typed: bool, monkeypatch: pytest.MonkeyPatch) -> list[Problem]:
    with monkeypatch.context() as patch:
        if not typed:
            patch.setattr(fmt, "_typed_reader", lambda: None)
        try:
            fmt.loads(text)
        except DossierFormatError as exc:
            return exc.problems
    return []


@given(corrupted())
def test_loads_lists_the_same_problems_either_way(body: dict[str, Any]) -> None:
    """When the typed reader refuses, the detailed reader lists every problem
    with its path, exactly as without msgspec."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        text = text_of(body)
        assert _problems(text, True, monkeypatch) == _problems(text, False, monkeypatch)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (b'{"format": "pension-collect/dossier", "version": 1, "employer": 1}', "$.employer"),
        (b"\xef\xbb\xbf[1]", "$"),
        (b'{"format": "x", "version": 1, "employer": {}}', "$.format"),
        (b'{"format": "pension-collect/dossier", "version": 1.0}', "$.version"),
        (b"\xff\xfe{}", "$"),
        (
            b'{"format": "pension-collect/dossier", "version": 1, "employer": {"unit_no": "1", '
            b'"name": "\\ud800"}}',
            "$.employer.name",
        ),
    ],
)
def test_refusals_are_explained_with_their_path(text: bytes, path: str) -> None:
    assert fast.read(text, DEFAULT_LIMITS) is None
    with pytest.raises(DossierFormatError) as info:
        fmt.loads(text)
    assert info.value.problems[0].path == path


def test_a_bom_and_text_are_read() -> None:
    text = fmt.example_dossier_text()
    expected = by_json(text, DEFAULT_LIMITS)
    assert expected is not None
    assert fast.read(b"\xef\xbb\xbf" + text.encode("utf-8"), DEFAULT_LIMITS) == expected
    assert fast.read("\ufeff" + text, DEFAULT_LIMITS) == expected


def test_a_duplicated_key_keeps_the_last_value_as_json_does() -> None:
    text = fmt.example_dossier_text().replace(
        '"format": "pension-collect/dossier"',
        '"as_of": "2001-01", "format": "pension-collect/dossier"',
    )
    data = json.loads(text)
    typed = fast.read(text.encode("utf-8"), DEFAULT_LIMITS)
    assert typed is not None
    assert typed == fmt.from_dict(copy.deepcopy(data))
    assert str(typed.as_of) == data["as_of"] != "2001-01"


def test_the_limits_hold() -> None:
    """Each bound refuses on the typed path too (and the detailed reader names it)."""
    text = fmt.example_dossier_text()
    for limits in (Limits(workers=2), Limits(segments=1), Limits(name_length=2)):
        assert fast.read(text.encode("utf-8"), limits) is None
        with pytest.raises(DossierFormatError):
            fmt.loads(text, limits=limits)
