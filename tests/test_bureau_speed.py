"""The in-process bureau's share of the collection loop (issue 15): the
``local:`` wire through msgspec gives exactly what JSON gives, and processing a
declaration does work in proportion to its workers (indexed lookups, each
declared identity number parsed once), on the memory and the SQLite state.

No timings here: the figures are benchmarks/bench_bureau.py's."""

from __future__ import annotations

import collections
import datetime as _dt
import decimal
import enum
import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pension_collect.adapters import bureau_state, local_transport, reference_bureau
from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import make_converter
from pension_collect.identity import canonical_id, check_char
from pension_collect.model import BureauRecord, Dossier, Worker
from pension_collect.ports.transport import DeclarationKind, DeclarationState
from workflow_fixtures import example, many_workers

CONV = make_converter()

# -- the wire -------------------------------------------------------------------------------------

_TEXT = st.text(
    st.characters(codec=None, exclude_categories=()),  # every code point, lone surrogates too
    max_size=12,
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)  # beyond 64 bits
    | st.floats()  # NaN and the infinities too
    | _TEXT
    | st.sampled_from(["职工", "张伟", "Ｘ", "\u2028", "\x00", "é"])
)
_KEYS = _TEXT | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_TEXT, inner, max_size=4)
        | st.dictionaries(_KEYS, inner, max_size=4)
    ),
    max_leaves=20,
)


class _Plain(enum.Enum):
    A = 1


class _Int(enum.IntEnum):
    A = 1


class _Str(enum.StrEnum):
    A = "a"


@attrs.frozen
class _Attrs:
    a: int = 1


#: Values JSON refuses or carries differently (msgspec writes most of them).
_AWKWARD = st.sampled_from(
    [
        {1, 2},
        frozenset({"a"}),
        decimal.Decimal("1.50"),
        b"bytes",
        bytearray(b"x"),
        _dt.date(2013, 8, 20),
        _dt.datetime(2013, 8, 20, 9, tzinfo=_dt.UTC),
        uuid.UUID(int=5),
        _Plain.A,
        _Int.A,
        _Str.A,
        _Attrs(),
        {(1, 2): "tuple key"},
        {_Int.A: "enum key"},
        collections.OrderedDict(b=1, a=2),
        float("nan"),
        [float("-inf")],
        {"1": "text key", 1: "int key"},
    ]
)
_MIXED = st.recursive(
    _SCALARS | _AWKWARD,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _outcome(wire: Callable[[Any], Any], value: Any) -> tuple[str, str]:
    """What crossing gave, spelt exactly (``repr`` tells a list from a tuple, 1
    from 1.0 and True, and shows NaN), or the error's type and message."""
    try:
        return ("value", repr(wire(value)))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def _containers(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _containers(item)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from _containers(item)


@pytest.fixture
def without_msgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_transport, "_CODEC", None)


class TestWire:
    def test_msgspec_is_used_here(self) -> None:
        """The suite runs with msgspec installed, so the fast path is the one tested."""
        assert local_transport._CODEC is not None

    @given(_JSONISH)
    def test_same_as_json(self, value: Any) -> None:
        """Payloads of JSON's types (non-ASCII and lone surrogates, big ints,
        NaN and infinities, tuples, non-text keys, nested) cross exactly as
        ``json.loads(json.dumps(...))`` carries them, or fail with its error."""
        assert _outcome(local_transport._wire, value) == _outcome(local_transport._json_wire, value)

    @given(_MIXED)
    def test_same_refusals_as_json(self, value: Any) -> None:
        """Values JSON refuses (sets, Decimal, bytes, dates, UUIDs, plain enums,
        attrs instances, tuple keys) are refused with json's error; those it
        carries differently (NaN, enums of int or str, duplicate keys once
        written) come out as json gives them."""
        assert _outcome(local_transport._wire, value) == _outcome(local_transport._json_wire, value)

    @pytest.mark.parametrize(
        ("value", "error", "words"),
        [
            ({1, 2}, TypeError, "Object of type set is not JSON serializable"),
            ({"d": decimal.Decimal("1")}, TypeError, "Object of type Decimal"),
            ([_Plain.A], TypeError, "Object of type _Plain"),
            ({(1,): 2}, TypeError, "keys must be str, int, float, bool or None"),
        ],
    )
    def test_named_refusals(self, value: Any, error: type[Exception], words: str) -> None:
        """The refusals, spelt out (msgspec alone would write every one of them)."""
        with pytest.raises(error, match=words.replace("(", r"\(")):
            local_transport._wire(value)

    def test_circular_value_refused_as_json_refuses_it(self) -> None:
        """A value holding itself: json's ValueError, not msgspec's RecursionError."""
        loop: list[Any] = []
        loop.append(loop)
        with pytest.raises(ValueError, match="Circular reference detected"):
            local_transport._wire(loop)

    def test_exact_values(self) -> None:
        """Tuples become lists, keys text, NaN stays NaN, big ints and
        non-ASCII text cross unchanged."""
        got = local_transport._wire(
            {"t": (1, (2, 3)), 1: "one", "n": float("nan"), "big": 2**100, "名": "张伟\u2028"}
        )
        assert list(got) == ["t", "1", "n", "big", "名"]
        assert got["t"] == [1, [2, 3]]
        assert type(got["t"][1]) is list
        assert got["1"] == "one"
        assert math.isnan(got["n"])
        assert got["big"] == 2**100
        assert got["名"] == "张伟\u2028"

    @given(_JSONISH)
    def test_shares_nothing(self, value: Any) -> None:
        """No dict or list of what crossed is one of what was sent."""
        got = local_transport._wire(value)
        sent = {id(c) for c in _containers(value)}
        assert not any(id(c) in sent for c in _containers(got))

    @pytest.mark.usefixtures("without_msgspec")
    @given(_MIXED)
    def test_without_msgspec_json_carries(self, value: Any) -> None:
        """Without msgspec (the ``fast`` extra) json carries everything, as before."""
        assert local_transport._CODEC is None
        assert _outcome(local_transport._wire, value) == _outcome(local_transport._json_wire, value)

    def test_transport_answers_as_before(self) -> None:
        """Through the transport: a sync, a submit and its status give the same
        values with msgspec as without it."""
        results = []
        for codec in (local_transport._CODEC, None):
            saved = local_transport._CODEC
            local_transport._CODEC = codec
            try:
                bureau, dossier = _bureau("memory", None, 3)
                t = LocalTransport(bureau)
                unit = dossier.employer.unit_no
                synced = t.sync(unit)
                d = t.submit(unit, DeclarationKind.WORKERS, _payload(dossier), idempotency_key="k")
                bureau.settle()
                results.append((synced, d, t.status(d.id, unit_no=unit)))
            finally:
                local_transport._CODEC = saved
        assert results[0] == results[1]
        assert results[0][2].state is DeclarationState.SUCCEEDED


# -- processing -----------------------------------------------------------------------------------


def _dossier(n: int) -> Dossier:
    """The example dossier's first worker ``n`` times under new identity
    numbers, without person numbers, each seeded with its history and account
    (so the bureau's checks pass)."""
    dossier = example()
    template = dossier.workers[0]
    block = BureauRecord(history=template.history, account=template.account)
    workers = [attrs.evolve(w, bureau=block) for w in many_workers(template, n)]
    return attrs.evolve(dossier, workers=tuple(workers))


def _bureau(state: str, tmp: Path | None, n: int) -> tuple[ReferenceBureau, Dossier]:
    dossier = _dossier(n)
    clock = lambda: _dt.datetime(2013, 8, 20, 9, tzinfo=_dt.UTC)  # noqa: E731
    if state == "sqlite":
        assert tmp is not None
        bureau = ReferenceBureau.open(
            tmp / f"bureau-{n}", clock=clock, as_of=dossier.as_of, auto_advance=False
        )
    else:
        bureau = ReferenceBureau(clock=clock, as_of=dossier.as_of)
    bureau.seed_dossier(dossier)
    return bureau, dossier


def _payload(dossier: Dossier) -> dict[str, Any]:
    return {
        "workers": [
            {"key": w.id_number, "worker": CONV.unstructure(attrs.evolve(w, bureau=None), Worker)}
            for w in dossier.workers
        ]
    }


class _Counting:
    """A bureau state that counts the calls made of it (and the persons they
    read) and passes them on."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: collections.Counter[str] = collections.Counter()
        self.read = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name in ("employers", "persons"):
            self.calls[name] += 1
            return target
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            result = target(*args, **kwargs)
            if isinstance(result, list):
                self.read += len(result)
            return result

        return counted


def _processing_calls(
    state: str, tmp: Path, n: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[collections.Counter[str], int, int]:
    """The state calls, persons listed and identity numbers parsed by the bureau
    while it concludes a declaration of ``n`` workers (all accepted)."""
    bureau, dossier = _bureau(state, tmp, n)
    unit = dossier.employer.unit_no
    d = bureau.submit(unit, DeclarationKind.WORKERS, _payload(dossier), idempotency_key="k")
    bureau.tick()  # submitted -> processing
    counting = _Counting(bureau.state)
    parsed = [0]

    def counted_canonical_id(raw: str) -> str:
        parsed[0] += 1
        return canonical_id(raw)

    monkeypatch.setattr(bureau, "_state", counting)
    monkeypatch.setattr(reference_bureau, "canonical_id", counted_canonical_id)
    monkeypatch.setattr(bureau_state, "canonical_id", counted_canonical_id)
    assert bureau.tick() == [d.id]
    monkeypatch.undo()
    status = bureau.status(d.id)
    assert status.state is DeclarationState.SUCCEEDED
    assert len(status.outcomes) == n
    bureau.close()
    return counting.calls, counting.read, parsed[0]


@pytest.mark.parametrize("state", ["memory", "sqlite"])
def test_processing_work_grows_with_the_workers(
    state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concluding a declaration of 2n workers asks the state twice as many
    questions as one of n, each answered by an index: no listing of all
    persons or declarations, no person read but the declared ones; each
    declared identity number is parsed once (the held persons' numbers were
    parsed when they were stored)."""
    small = _processing_calls(state, tmp_path / "a", 6, monkeypatch)
    large = _processing_calls(state, tmp_path / "b", 12, monkeypatch)
    for calls, _, _ in (small, large):
        assert not {"persons", "employers", "persons_of", "declarations_of"} & set(calls), calls
    assert small[1] == large[1]  # the pending list (one declaration), nothing per worker
    assert (small[2], large[2]) == (6, 12)
    per_worker = {"person_by_id", "put_person"}
    for name in small[0].keys() | large[0].keys():
        if name in per_worker:
            assert (small[0][name], large[0][name]) == (6, 12), name
        else:  # the pending list, the declaration itself: read, its payload, written back
            assert small[0][name] == large[0][name], name


@pytest.mark.parametrize("state", ["memory", "sqlite"])
def test_corrected_identity_number_is_parsed_again(state: str, tmp_path: Path) -> None:
    """The canonical form a person keeps follows their record: after the
    window corrects the number, the person is found by the new number only,
    and a declaration of the new number is accepted, of the old refused."""
    bureau, dossier = _bureau(state, tmp_path, 2)
    unit = dossier.employer.unit_no
    worker = dossier.workers[0]
    person = bureau.person_by_id(worker.id_number)
    assert person is not None
    first17 = worker.id_number[:14] + "005"  # the same birth date, another man
    new_number = first17 + check_char(first17)
    old = attrs.evolve(worker, bureau=None, person_no=person.person_no)
    new = attrs.evolve(old, id_number=f" {new_number[:6]} {new_number[6:]} ")  # not canonical
    bureau.correct_identity(person.person_no, id_number=new_number)
    assert bureau.person_by_id(worker.id_number) is None
    found = bureau.person_by_id(new_number)
    assert found is not None
    assert found.person_no == person.person_no
    outcomes = []
    for key, declared in (("old", old), ("new", new)):
        payload = {"workers": [{"key": key, "worker": CONV.unstructure(declared, Worker)}]}
        d = bureau.submit(unit, DeclarationKind.WORKERS, payload, idempotency_key=key)
        bureau.settle()
        outcomes.append(bureau.status(d.id).outcomes[0])
    assert outcomes[0].code == "bureau.window-only"
    assert outcomes[1].succeeded, outcomes[1]
    bureau.close()


def test_person_equality_ignores_the_kept_key() -> None:
    """Whether a person's canonical number was worked out yet changes neither
    equality nor the repr (which shows no identity number)."""
    record = BureauRecord(id_number="371002196503020033", name="张伟")
    a = bureau_state.Person(person_no="R1", unit_no="U", record=record)
    b = bureau_state.Person(person_no="R1", unit_no="U", record=record)
    assert bureau_state.person_id_key(a) == "371002196503020033"
    assert a == b
    assert "371002" not in repr(a)


@pytest.mark.parametrize("state", ["memory", "sqlite"])
def test_sync_pages_follow_transfers(state: str, tmp_path: Path) -> None:
    """The persons of an employer page by person number as the state holds
    them, also after persons leave and join (the memory state keeps the
    employer's numbers sorted between changes): each page is the numbers
    after ``after`` of the employer's persons, at most ``limit``."""
    bureau, dossier = _bureau(state, tmp_path, 7)
    unit = dossier.employer.unit_no
    numbers = sorted(p.person_no for p in bureau.persons.values())
    assert len(numbers) == 7

    def expected(after: str, limit: int | None) -> list[str]:
        mine = sorted(p.person_no for p in bureau.persons.values() if p.unit_no == unit)
        return [no for no in mine if no > after][:limit]

    def pages() -> None:
        for after in ["", numbers[0], numbers[3], numbers[3] + "0", numbers[-1], "~"]:
            for limit in (None, 0, 1, 3, 100):
                with bureau.state.transaction(write=False):
                    got = [
                        p.person_no for p in bureau.state.persons_of(unit, after=after, limit=limit)
                    ]
                assert got == expected(after, limit), (after, limit)

    pages()
    bureau.transfer_person(numbers[2], "other")
    bureau.transfer_person(numbers[5], None)
    pages()
    assert numbers[2] not in expected("", None)
    bureau.transfer_person(numbers[2], unit)
    pages()
    assert numbers[2] in expected("", None)
    bureau.close()


def test_memory_pages_slice_as_before() -> None:
    """A negative ``limit`` on the memory state leaves out the last persons of
    what follows ``after``, as slicing the list did."""
    state = bureau_state.MemoryBureauState()
    for i in range(6):
        record = BureauRecord(id_number=f"37100219650302{i:03d}0")
        state.put_person(bureau_state.Person(person_no=f"R{i}", unit_no="U", record=record))
    assert [p.person_no for p in state.persons_of("U", after="R1", limit=-1)] == ["R2", "R3", "R4"]
    assert state.persons_of("U", after="R4", limit=-3) == []
