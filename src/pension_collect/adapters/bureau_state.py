"""Where the reference bureau keeps what it holds: employers, insured persons,
declarations (docs/bureau.md, "The bureau's state").

:class:`BureauState` is what :class:`~pension_collect.adapters.reference_bureau.ReferenceBureau`
asks of a state; :class:`MemoryBureauState` keeps it in dictionaries (the
default: a fresh bureau per process), and
:class:`~pension_collect.adapters.bureau_sqlite.SQLiteBureauState` in a SQLite
file shared by threads and processes. Every lookup the bureau makes is indexed:
a person by person number and by canonical identity number
(:func:`pension_collect.identity.canonical_id`), the persons of an employer, a
declaration by number, by (employer, idempotency key) and the pending ones.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import attrs

from ..identity import canonical_id
from ..model import BureauRecord, Employer
from ..ports.transport import (
    PENDING_STATES,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    WorkerOutcome,
)

__all__ = [
    "BureauState",
    "Declaration",
    "MemoryBureauState",
    "Person",
    "request_fingerprint",
    "same_request",
]


@attrs.define(kw_only=True, repr=False)
class Person:
    """An insured person as the bureau holds them."""

    person_no: str
    unit_no: str | None
    """The employer the person belongs to (``None``: none)."""
    record: BureauRecord
    account_settled: bool = False
    """养老账户已结清: the account was settled. Until the window un-settles it
    (:meth:`~pension_collect.adapters.reference_bureau.ReferenceBureau.unsettle_account`),
    a sync shows no account years for the person, so the verification form
    shows none ([P3.4e]); the years stay in :attr:`record` and reappear once it
    is un-settled."""
    _id_key: tuple[str, str] | None = attrs.field(default=None, init=False, eq=False)
    """The record's identity number and its canonical form, once worked out
    (:func:`person_id_key`): the bureau processes a person's declaration
    without parsing the number again."""

    def __repr__(self) -> str:
        return f"Person(person_no={self.person_no!r}, unit_no={self.unit_no!r}, ...)"


@attrs.define(kw_only=True, repr=False)
class Declaration:
    """A declaration as the bureau holds it (its payload: the workers' data)."""

    id: str
    unit_no: str
    kind: DeclarationKind
    idempotency_key: str
    payload: dict[str, Any] | None
    """The declared data; ``None`` when the state left it unread (read it with
    :meth:`BureauState.payload`)."""
    state: DeclarationState
    submitted_at: _dt.datetime
    linked_to: str | None = None
    concluded_at: _dt.datetime | None = None
    outcomes: tuple[WorkerOutcome, ...] = ()
    message: str = ""
    message_zh: str = ""
    fingerprint: str | None = None
    """:func:`request_fingerprint` of the request that made it (``None``: made
    by a release that kept none): the same key with another body is refused."""

    def __repr__(self) -> str:
        return (
            f"Declaration(id={self.id!r}, unit_no={self.unit_no!r}, "
            f"kind={self.kind.value!r}, state={self.state.value!r}, ...)"
        )

    def status(self) -> DeclarationStatus:
        """The declaration as the protocol shows it."""
        return DeclarationStatus(
            id=self.id,
            unit_no=self.unit_no,
            kind=self.kind,
            state=self.state,
            submitted_at=self.submitted_at.isoformat(),
            concluded_at=None if self.concluded_at is None else self.concluded_at.isoformat(),
            linked_to=self.linked_to,
            outcomes=self.outcomes,
            message=self.message,
            message_zh=self.message_zh,
        )


def _sorted_encoder() -> Any:
    """msgspec's JSON encoder with sorted keys (the ``fast`` extra), or ``None``."""
    try:
        import msgspec

        return msgspec.json.Encoder(order="sorted").encode
    except (ImportError, TypeError):  # not installed, or a release without ``order``
        return None


_SORTED_ENCODE = _sorted_encoder()

#: The encodings a fingerprint may be of: the first part of its text.
FINGERPRINT_JSON, FINGERPRINT_MSGSPEC = "json", "msgspec"


def request_fingerprint(
    kind: DeclarationKind | str, payload: Any, linked_to: str | None, *, fast: bool = True
) -> str:
    """``ENCODING:SHA256HEX`` of a submission's canonical body ``{"kind",
    "payload", "linked_to"}``: its JSON with the keys of every object sorted
    and no spaces, in UTF-8, so neither the order of keys nor a ``linked_to``
    left out rather than ``null`` makes a difference.

    The JSON is msgspec's where it is installed (``msgspec:``; some eight
    times as fast as ``json.dumps`` on a large declaration) unless ``fast``
    is false or msgspec cannot write the body, else ``json.dumps``' (``json:``).
    The two spell a few values differently (a float's exponent), so a
    fingerprint is compared only with one of the same encoding
    (:func:`same_request`)."""
    body = {"kind": DeclarationKind(kind).value, "payload": payload, "linked_to": linked_to}
    if fast and _SORTED_ENCODE is not None:
        try:
            raw: bytes = _SORTED_ENCODE(body)
        except Exception:  # a lone surrogate, a huge integer: json.dumps writes those
            pass
        else:
            return f"{FINGERPRINT_MSGSPEC}:{hashlib.sha256(raw).hexdigest()}"
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{FINGERPRINT_JSON}:{digest}"


def same_request(
    fingerprint: str,
    mine: str,
    request: tuple[DeclarationKind | str, Any, str | None],
    stored: Callable[[], tuple[DeclarationKind | str, Any, str | None]],
) -> bool:
    """Whether a request — ``(kind, payload, linked_to)``, whose
    :func:`request_fingerprint` is ``mine`` — is the one a declaration's
    ``fingerprint`` was made of: the fingerprints compared in the same encoding
    (``mine`` again in ``json`` when the declaration's is), or, when this
    process cannot write the declaration's encoding (msgspec not installed
    here), the request compared with ``stored()`` — the declaration's kind,
    payload and link — value by value."""
    encoding = fingerprint.partition(":")[0]
    kind, payload, linked_to = request
    if encoding == mine.partition(":")[0]:
        return mine == fingerprint
    if encoding == FINGERPRINT_JSON:
        return request_fingerprint(kind, payload, linked_to, fast=False) == fingerprint
    if encoding == FINGERPRINT_MSGSPEC and _SORTED_ENCODE is not None:
        return False  # msgspec wrote the declaration's and cannot write this one's: not alike
    was_kind, was_payload, was_link = stored()
    return (
        DeclarationKind(kind) == DeclarationKind(was_kind)
        and linked_to == was_link
        and payload == was_payload
    )


def declaration_id(n: int) -> str:
    """The ``n``-th declaration number: ``D000001`` ..."""
    return f"D{n:06d}"


def person_no_of(n: int) -> str:
    """The ``n``-th person number the bureau assigns: ``R0000000001`` ..."""
    return f"R{n:010d}"


def id_key(record: BureauRecord) -> str | None:
    """The index key of a record's identity number (``None``: it has none)."""
    return canonical_id(record.id_number) if record.id_number else None


def person_id_key(person: Person) -> str | None:
    """:func:`id_key` of the person's record, parsed once per identity number:
    the canonical form is kept on the person beside the number it came from,
    and used again while the record holds that same number."""
    raw = person.record.id_number
    if not raw:
        return None
    known = person._id_key
    if known is not None and known[0] == raw:
        return known[1]
    key = canonical_id(raw)
    person._id_key = (raw, key)
    return key


def known_id_key(person: Person, raw: str | None, key: str | None) -> Person:
    """``person``, told that its record's identity number ``raw`` has the
    canonical form ``key`` (a state that stores the key gives it back with the
    record, so reading a person parses nothing)."""
    if raw and key is not None:
        person._id_key = (raw, key)
    return person


class BureauState(Protocol):
    """What the reference bureau keeps, and the indexed lookups it makes.

    Every call happens inside :meth:`transaction`; the objects returned are the
    state's own (memory) or copies (SQLite): a change counts once it is given
    back with ``put_*``.
    """

    @property
    def employers(self) -> Mapping[str, Employer]:
        """Every employer held, by unit number (treat as read-only)."""
        ...

    @property
    def persons(self) -> Mapping[str, Person]:
        """Every person held, by person number (treat as read-only)."""
        ...

    def transaction(self, *, write: bool) -> AbstractContextManager[None]:
        """One transaction: all of its writes count, or none (``write``: it
        writes, and holds the write lock from its start). Nested calls join
        the outer transaction."""
        ...

    def employer(self, unit_no: str) -> Employer | None:
        """The employer with this unit number."""
        ...

    def put_employer(self, employer: Employer) -> None:
        """Hold (or replace) an employer."""
        ...

    def unit_nos(self) -> list[str]:
        """The unit numbers of every employer held, in order."""
        ...

    def person(self, person_no: str) -> Person | None:
        """The person with this person number."""
        ...

    def put_person(self, person: Person) -> None:
        """Hold (or replace, by person number) a person."""
        ...

    def person_by_id(self, canonical: str) -> Person | None:
        """The first person (in the order they were added) holding this
        identity number, given in its canonical form."""
        ...

    def persons_of(
        self, unit_no: str, *, after: str = "", limit: int | None = None
    ) -> list[Person]:
        """The persons of an employer, by person number: those after ``after``,
        at most ``limit`` (a sync page; the bureau server pages with them)."""
        ...

    def new_person_no(self) -> str:
        """A person number no person holds (``R0000000001`` ...)."""
        ...

    def declaration(self, declaration_id: str) -> Declaration | None:
        """The declaration with this number."""
        ...

    def declaration_by_key(self, unit_no: str, idempotency_key: str) -> Declaration | None:
        """The employer's declaration submitted with this idempotency key."""
        ...

    def declarations_of(
        self, unit_no: str, *, after: str | None = None, limit: int | None = None
    ) -> list[Declaration]:
        """The employer's declarations, oldest first: those submitted after the
        declaration numbered ``after`` (none when no declaration has that
        number), at most ``limit`` (a page; the bureau server pages with them)."""
        ...

    def pending(
        self, unit_no: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[Declaration]:
        """Declarations in a pending state (of one employer, or all), oldest
        first; ``after`` and ``limit`` as for :meth:`declarations_of`."""
        ...

    def add_declaration(self, declaration: Declaration) -> Declaration:
        """Hold a new declaration; its ``id`` is replaced by the next number."""
        ...

    def put_declaration(self, declaration: Declaration) -> None:
        """Store a held declaration's state, outcomes and messages (not its payload)."""
        ...

    def payload(self, declaration: Declaration) -> dict[str, Any]:
        """A declaration's payload."""
        ...

    def close(self) -> None:
        """Release what the state holds open."""
        ...


class MemoryBureauState:
    """A bureau state in dictionaries: gone with the process.

    ``employers`` and ``persons`` are the dictionaries themselves (change
    persons through the bureau, which keeps the indexes). Thread-safe through
    one reentrant lock; picklable.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.employers: dict[str, Employer] = {}
        self.persons: dict[str, Person] = {}
        self._declarations: dict[str, Declaration] = {}
        self._by_key: dict[tuple[str, str], str] = {}
        self._of_unit: dict[str, list[str]] = {}
        self._pending: dict[str, None] = {}
        self._order: dict[str, int] = {}  # declaration number -> its place, from 1
        self._next_person = 1
        self._seq: dict[str, int] = {}
        self._indexed: dict[str, tuple[str | None, str | None]] = {}
        self._by_id: dict[str, set[str]] = {}
        self._by_unit: dict[str | None, set[str]] = {}
        self._sorted: dict[str | None, list[str]] = {}  # _by_unit's sets in order, when asked

    def __repr__(self) -> str:
        return (
            f"MemoryBureauState(employers={len(self.employers)}, persons={len(self.persons)}, "
            f"declarations={len(self._declarations)})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        if "_order" not in state:  # pickled before declarations were paged
            self._order = {i: n for n, i in enumerate(self._declarations, 1)}

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[None]:
        with self._lock:
            yield

    def close(self) -> None:
        pass

    # -- employers ---------------------------------------------------------------------------

    def employer(self, unit_no: str) -> Employer | None:
        return self.employers.get(unit_no)

    def put_employer(self, employer: Employer) -> None:
        self.employers[employer.unit_no] = employer

    def unit_nos(self) -> list[str]:
        return sorted(self.employers)

    # -- persons -----------------------------------------------------------------------------

    def person(self, person_no: str) -> Person | None:
        return self.persons.get(person_no)

    def put_person(self, person: Person) -> None:
        no = person.person_no
        if no not in self._seq:
            self._seq[no] = len(self._seq)
        self.persons[no] = person
        new = (person.unit_no, person_id_key(person))
        old = self._indexed.get(no)
        if old == new:
            return
        if old is not None:
            self._by_unit[old[0]].discard(no)
            self._sorted.pop(old[0], None)
            if old[1] is not None:
                self._by_id[old[1]].discard(no)
        self._indexed[no] = new
        self._by_unit.setdefault(new[0], set()).add(no)
        self._sorted.pop(new[0], None)
        if new[1] is not None:
            self._by_id.setdefault(new[1], set()).add(no)

    def person_by_id(self, canonical: str) -> Person | None:
        holders = self._by_id.get(canonical)
        if not holders:
            return None
        return self.persons[min(holders, key=self._seq.__getitem__)]

    def persons_of(
        self, unit_no: str, *, after: str = "", limit: int | None = None
    ) -> list[Person]:
        numbers = self._sorted.get(unit_no)
        if numbers is None:  # sorted once per change of the employer's persons, not per page
            numbers = self._sorted[unit_no] = sorted(self._by_unit.get(unit_no, ()))
        start = bisect.bisect_right(numbers, after)
        if limit is None:
            end = len(numbers)
        elif limit >= 0:
            end = start + limit
        else:  # as a slice of what follows ``after``: all but the last -limit
            end = max(start, len(numbers) + limit)
        return [self.persons[no] for no in numbers[start:end]]

    def new_person_no(self) -> str:
        while True:
            candidate = person_no_of(self._next_person)
            self._next_person += 1
            if candidate not in self.persons:
                return candidate

    # -- declarations ------------------------------------------------------------------------

    def declaration(self, declaration_id: str) -> Declaration | None:
        return self._declarations.get(declaration_id)

    def declaration_by_key(self, unit_no: str, idempotency_key: str) -> Declaration | None:
        found = self._by_key.get((unit_no, idempotency_key))
        return None if found is None else self._declarations[found]

    def _after(self, after: str | None) -> int | None:
        """The place of declaration ``after`` (0: from the start; None: no such one)."""
        if after is None:
            return 0
        return self._order.get(after)

    def declarations_of(
        self, unit_no: str, *, after: str | None = None, limit: int | None = None
    ) -> list[Declaration]:
        place = self._after(after)
        if place is None:
            return []
        ids = self._of_unit.get(unit_no, [])
        start = bisect.bisect_right(ids, place, key=self._order.__getitem__)
        end = len(ids) if limit is None else start + max(limit, 0)
        return [self._declarations[i] for i in ids[start:end]]

    def pending(
        self, unit_no: str | None = None, *, after: str | None = None, limit: int | None = None
    ) -> list[Declaration]:
        place = self._after(after)
        if place is None:
            return []
        out: list[Declaration] = []
        for i in self._pending:
            if limit is not None and len(out) >= limit:
                break
            d = self._declarations[i]
            if (unit_no is None or d.unit_no == unit_no) and self._order[i] > place:
                out.append(d)
        return out

    def add_declaration(self, declaration: Declaration) -> Declaration:
        declaration.id = declaration_id(len(self._declarations) + 1)
        self._order[declaration.id] = len(self._declarations) + 1
        self._declarations[declaration.id] = declaration
        self._by_key[(declaration.unit_no, declaration.idempotency_key)] = declaration.id
        self._of_unit.setdefault(declaration.unit_no, []).append(declaration.id)
        self.put_declaration(declaration)
        return declaration

    def put_declaration(self, declaration: Declaration) -> None:
        self._declarations[declaration.id] = declaration
        if declaration.state in PENDING_STATES:
            self._pending[declaration.id] = None
        else:
            self._pending.pop(declaration.id, None)

    def payload(self, declaration: Declaration) -> dict[str, Any]:
        return declaration.payload or {}
