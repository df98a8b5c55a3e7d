"""The reference bureau: what the bureau's back end does with a declaration.

It holds the bureau's records (employers; insured persons with their history
and account as the bureau knows them), answers data syncs and
pending-declaration queries, accepts declarations idempotently and processes
them with its own checks: the rule set, plus what only the bureau knows (the
person belongs to another employer, the identity number is held by another
person, the account was settled and never un-settled). On success its records
change, so the next sync shows the collected data.

Processing is deterministic: nothing happens until :meth:`ReferenceBureau.tick`
is called (or, with ``auto_advance``, until a declaration is read), and times
come from an injectable ``clock``.

Its state lives in memory (:class:`~pension_collect.adapters.bureau_state.MemoryBureauState`,
the default) or in a SQLite file shared by processes
(:meth:`ReferenceBureau.open`, :mod:`pension_collect.adapters.bureau_sqlite`).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import attrs

from .._gc import gc_paused
from .._privacy import mask_id
from ..dossier import make_converter
from ..identity import canonical_id, canonical_name
from ..model import AccountYear, BureauRecord, Dossier, Employer, Worker, YearMonth
from ..ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    IdempotencyKeyReused,
    SyncResult,
    UnknownDeclaration,
    WorkerOutcome,
)
from ..rules import RulePack, check_worker
from ..rules.weihai2013 import default_pack
from .bureau_sqlite import BUREAU_DB, SQLiteBureauState
from .bureau_state import (
    BureauState,
    Declaration,
    MemoryBureauState,
    Person,
    id_key,
    person_id_key,
    request_fingerprint,
    same_request,
)

__all__ = ["IdentityNumberHeld", "Person", "ReferenceBureau"]

_CONV = make_converter()


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _fail(key: str, code: str, message: str, message_zh: str) -> WorkerOutcome:
    return WorkerOutcome(
        key=key, succeeded=False, code=code, message=message, message_zh=message_zh
    )


class IdentityNumberHeld(BureauError, ValueError):
    """A person would be held with an identity number the bureau already holds
    for another person number (:meth:`ReferenceBureau.add_person`,
    :meth:`~ReferenceBureau.seed_dossier`, :meth:`~ReferenceBureau.correct_identity`):
    refused, since lookups by identity number would become ambiguous. The
    message shows the number masked, never whole."""

    code = "bureau.id-held-by-other"


def _held(number: str | None, position: int | None = None) -> IdentityNumberHeld:
    shown = mask_id(number or "")
    where = "" if position is None else f"worker {position} of the dossier: "
    where_zh = "" if position is None else f"档案第 {position} 名职工:"
    return IdentityNumberHeld(
        f"{where}the bureau already holds the identity number {shown} under another "
        "person number; give that person number to replace the person's record, or "
        f"correct the identity number ({where_zh}经办机构已有公民身份号码为 {shown} 的"
        "另一参保人员;如需更新该人员记录请使用其人员编号,否则请更正身份证号码)"
    )


class ReferenceBureau:
    """An in-process bureau back end (see the module docstring).

    ``clock`` gives the current time (default: the system clock, UTC);
    ``processing_delay`` is how long after submission a declaration may be
    concluded; ``pack`` is the rule pack its checks run (default: the
    built-in weihai-2013 pack: the bureau runs its own published rules, not
    the employer's plugins); ``as_of`` the collection month its
    rules use (default: the clock's month). ``state`` is where it keeps its
    records (default: a fresh :class:`MemoryBureauState`; :meth:`open` gives
    one in a SQLite file). ``auto_advance``: reading a declaration
    (:meth:`status`, :meth:`pending_declarations`) first advances it one
    stage as :meth:`tick` would, so no background work is needed.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], _dt.datetime] = _utc_now,
        processing_delay: _dt.timedelta = _dt.timedelta(0),
        pack: RulePack | None = None,
        as_of: YearMonth | None = None,
        state: BureauState | None = None,
        auto_advance: bool = False,
    ) -> None:
        self.clock = clock
        self.processing_delay = processing_delay
        self.as_of = as_of
        self.auto_advance = auto_advance
        self._pack = pack
        self._state: BureauState = state if state is not None else MemoryBureauState()

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        clock: Callable[[], _dt.datetime] = _utc_now,
        processing_delay: _dt.timedelta = _dt.timedelta(0),
        pack: RulePack | None = None,
        as_of: YearMonth | None = None,
        auto_advance: bool = True,
    ) -> ReferenceBureau:
        """A bureau whose state is in ``data_dir/bureau.db`` (folder made with
        mode 0700 and file with 0600 when missing), shared safely by threads
        and processes and surviving restarts. Raises
        :class:`~pension_collect.adapters.bureau_sqlite.BureauFileError` for a
        file that is not a bureau's or comes from a newer release."""
        state = SQLiteBureauState.open(Path(data_dir) / BUREAU_DB)
        return cls(
            clock=clock,
            processing_delay=processing_delay,
            pack=pack,
            as_of=as_of,
            state=state,
            auto_advance=auto_advance,
        )

    @property
    def state(self) -> BureauState:
        """Where the bureau keeps its records."""
        return self._state

    @property
    def path(self) -> Path | None:
        """The SQLite file of the state (``None``: the state is in memory)."""
        return self._state.path if isinstance(self._state, SQLiteBureauState) else None

    def close(self) -> None:
        """Release the state (the SQLite connection); a memory bureau keeps working."""
        self._state.close()

    def __enter__(self) -> ReferenceBureau:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ReferenceBureau(state={self._state!r}, auto_advance={self.auto_advance})"

    def _read(self) -> AbstractContextManager[None]:
        return self._state.transaction(write=False)

    def _write(self) -> AbstractContextManager[None]:
        return self._state.transaction(write=True)

    # -- records ---------------------------------------------------------------

    @property
    def pack(self) -> RulePack:
        """The rule pack the bureau's own checks run."""
        if self._pack is None:
            self._pack = default_pack()
        return self._pack

    @property
    def employers(self) -> Mapping[str, Employer]:
        """The employers held, by unit number (read only: change them with
        :meth:`add_employer` or an employer declaration)."""
        return self._state.employers

    @property
    def persons(self) -> Mapping[str, Person]:
        """The persons held, by person number (read only: change them through
        the window services)."""
        return self._state.persons

    def unit_nos(self) -> list[str]:
        """The unit numbers of the employers held, in order."""
        with self._read():
            return self._state.unit_nos()

    def add_employer(self, employer: Employer) -> None:
        """Hold (or replace) an employer's record."""
        with self._write():
            self._state.put_employer(employer)

    def add_person(
        self,
        record: BureauRecord,
        *,
        unit_no: str | None,
        person_no: str | None = None,
        account_settled: bool = False,
    ) -> Person:
        """Hold an insured person; a person number is given when none is. The
        person number of a person held replaces that person's record.

        Raises :class:`IdentityNumberHeld` (and changes nothing) when the
        record's identity number (compared through ``canonical_id``) is held
        by a person of another person number: give that number to replace
        its record."""
        with self._write():
            if person_no is None:
                person_no = record.person_no
            self._check_identity(record.id_number, person_no)
            if person_no is None:
                person_no = self._state.new_person_no()
            record = attrs.evolve(record, person_no=person_no)
            person = Person(
                person_no=person_no,
                unit_no=unit_no,
                record=record,
                account_settled=account_settled,
            )
            self._state.put_person(person)
            return person

    def _check_identity(self, id_number: str | None, person_no: str | None) -> None:
        """Refuse an identity number held by a person of another number."""
        key = canonical_id(id_number) if id_number else None
        if key is None:
            return
        holder = self._state.person_by_id(key)
        if holder is not None and holder.person_no != person_no:
            raise _held(id_number)

    def seed_dossier(self, dossier: Dossier) -> dict[str, Person]:
        """Hold the dossier's employer and, for each worker, the person its ``bureau``
        block describes (or its own personal data when it has none), in one
        transaction. A worker without a person number whose identity number
        the bureau holds is that person (a dossier seeded again registers
        nobody twice).

        Returns the persons by the worker's canonical identity number. Raises
        :class:`IdentityNumberHeld` naming the worker's position (and holds
        nothing of the dossier) when a worker's person number is not the one
        the bureau, or an earlier worker of the dossier, holds its identity
        number under.
        """
        planned = []
        # the identity numbers this dossier holds, each with its person number
        # (None: a new person yet to be numbered)
        mine: dict[str, str | None] = {}
        with self._write():
            for position, worker in enumerate(dossier.workers, 1):
                block = worker.bureau or BureauRecord()
                record = attrs.evolve(
                    block,
                    id_number=block.id_number or worker.id_number,
                    name=block.name or worker.name,
                    gender=block.gender or worker.gender,
                    birth_date=block.birth_date or worker.birth_date,
                    first_work=block.first_work or worker.first_work,
                    history=block.history if block.history is not None else (),
                    account=block.account if block.account is not None else (),
                )
                person_no = worker.person_no or record.person_no
                key = id_key(record)
                if key is not None:
                    if key in mine:
                        holder: str | None = mine[key]
                        known = True
                    else:
                        held = self._state.person_by_id(key)
                        holder, known = (None, False) if held is None else (held.person_no, True)
                    if person_no is None:
                        # seeded before (a dossier seeded again): the same person
                        person_no = holder
                    elif known and holder != person_no:
                        raise _held(record.id_number, position)
                    mine[key] = person_no
                planned.append((worker, record, person_no))
            self._state.put_employer(dossier.employer)
            out = {}
            for worker, record, person_no in planned:
                if person_no is None and (key := id_key(record)) is not None:
                    held = self._state.person_by_id(key)  # an earlier worker, same number
                    person_no = None if held is None else held.person_no
                person = self.add_person(
                    record, unit_no=dossier.employer.unit_no, person_no=person_no
                )
                out[canonical_id(worker.id_number)] = person
        return out

    def person_by_id(self, id_number: str) -> Person | None:
        """The person holding an identity number, if any (compared through
        :func:`~pension_collect.identity.canonical_id`; indexed)."""
        with self._read():
            return self._state.person_by_id(canonical_id(id_number))

    def _change_person(self, person_no: str, **changes: Any) -> None:
        with self._write():
            person = self._state.person(person_no)
            if person is None:
                raise KeyError(person_no)
            for name, value in changes.items():
                setattr(person, name, value)
            self._state.put_person(person)

    def transfer_person(self, person_no: str, unit_no: str | None) -> None:
        """Window service: the person now belongs to ``unit_no`` (劳动关系转移)."""
        self._change_person(person_no, unit_no=unit_no)

    def settle_account(self, person_no: str) -> None:
        """Mark the person's account as settled (结清): syncs show no account
        years for the person until :meth:`unsettle_account`."""
        self._change_person(person_no, account_settled=True)

    def unsettle_account(self, person_no: str) -> None:
        """Window service: 养老账户取消结清 ([P3.4e]); the next sync shows the
        person's account years again."""
        self._change_person(person_no, account_settled=False)

    def correct_identity(
        self, person_no: str, *, id_number: str | None = None, name: str | None = None
    ) -> None:
        """Window service: correct a person's identity number or name ([P3.3a]).
        An identity number another person holds is refused
        (:class:`IdentityNumberHeld`, nothing changed)."""
        with self._write():
            person = self._state.person(person_no)
            if person is None:
                raise KeyError(person_no)
            changes: dict[str, Any] = {}
            if id_number is not None:
                self._check_identity(id_number, person_no)
                changes["id_number"] = id_number
            if name is not None:
                changes["name"] = name
            person.record = attrs.evolve(person.record, **changes)
            self._state.put_person(person)

    def shown(self, person: Person) -> BureauRecord:
        """The person's record as a sync shows it (and so the verification form):
        a settled account shows no account years ([P3.4e]), an empty ``account``
        rather than an unknown one, so that the rule ``account.not-in-bureau``
        compares against it."""
        if person.account_settled:
            return attrs.evolve(person.record, account=())
        return person.record

    def _as_of(self) -> YearMonth:
        return self.as_of or YearMonth.of(self.clock().date())

    def _printed_years(self, account: tuple[AccountYear, ...] | None) -> list[int]:
        """The years of ``account`` the forms print: up to the pack's
        ``forms_print_until`` ([P3.3b]; all years when the pack has no such parameter)."""
        parameters = self.pack.parameters
        cutoff = (
            parameters.get("forms_print_until", self._as_of())
            if "forms_print_until" in parameters
            else None
        )
        return [y.year for y in account or () if cutoff is None or y.year <= cutoff.year]

    # -- the protocol ----------------------------------------------------------

    def sync(self, unit_no: str) -> SyncResult:
        """数据同步: the employer's record and each of its persons' records."""
        with self._read():
            employer = self._state.employer(unit_no)
            persons = self._state.persons_of(unit_no)
            return SyncResult(
                unit_no=unit_no,
                at=self.clock().isoformat(),
                employer=None if employer is None else _CONV.unstructure(employer, Employer),
                persons=tuple(_CONV.unstructure(self.shown(p), BureauRecord) for p in persons),
            )

    def pending_declarations(
        self, unit_no: str, *, after: str | None = None, limit: int | None = None
    ) -> list[DeclarationStatus]:
        """The employer's declarations in draft, submitted or processing
        (with ``auto_advance``, each first advanced one stage when due), oldest
        first; a page of them with ``after`` (those submitted after the
        declaration of that number) and ``limit`` (at most so many). Only the
        first page (``after`` ``None``) advances declarations, so a list read
        page by page advances each once, as a list read whole does."""
        if self.auto_advance and after is None:
            with self._read():
                due = [d.id for d in self._state.pending(unit_no) if self._due(d, self.clock())]
            for declaration_id in due:
                self._advance(declaration_id)
        with self._read():
            return [d.status() for d in self._state.pending(unit_no, after=after, limit=limit)]

    def declarations(
        self, unit_no: str, *, after: str | None = None, limit: int | None = None
    ) -> list[DeclarationStatus]:
        """Every declaration of the employer, oldest first; a page of them with
        ``after`` and ``limit`` as for :meth:`pending_declarations`."""
        with self._read():
            found = self._state.declarations_of(unit_no, after=after, limit=limit)
            return [d.status() for d in found]

    def submit(
        self,
        unit_no: str,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        linked_to: str | None = None,
    ) -> DeclarationStatus:
        """Accept a declaration. The same key again with the same kind, payload
        and link returns the same declaration; with another, it is refused with
        :class:`~pension_collect.ports.transport.IdempotencyKeyReused` (a key
        kept by a release without fingerprints returns its declaration)."""
        # worked out before the write lock is taken (a large declaration's JSON)
        fingerprint = request_fingerprint(kind, payload, linked_to)
        with self._write():
            existing = self._state.declaration_by_key(unit_no, idempotency_key)
            if existing is not None:
                if existing.fingerprint is not None and not same_request(
                    existing.fingerprint,
                    fingerprint,
                    (kind, payload, linked_to),
                    lambda: (existing.kind, self._state.payload(existing), existing.linked_to),
                ):
                    raise IdempotencyKeyReused(
                        "this idempotency key was used before for a different declaration "
                        "(another kind, payload or linked declaration); use a new key for a "
                        "new declaration, and the same key only to send the same one again "
                        "(该幂等键已用于另一份不同的申报;新的申报请使用新的幂等键)"
                    )
                return existing.status()
            if self._state.employer(unit_no) is None:
                raise BureauError("the bureau holds no employer with this unit number")
            linked = None if linked_to is None else self._state.declaration(linked_to)
            if linked_to is not None and (linked is None or linked.unit_no != unit_no):
                raise UnknownDeclaration(
                    "the linked declaration is not one of this employer's declarations "
                    "(关联的申报不是本单位的申报)"
                )
            decl = Declaration(
                id="",
                unit_no=unit_no,
                kind=DeclarationKind(kind),
                idempotency_key=idempotency_key,
                payload=payload,
                state=DeclarationState.SUBMITTED,
                submitted_at=self.clock(),
                linked_to=linked_to,
                fingerprint=fingerprint,
            )
            return self._state.add_declaration(decl).status()

    def status(self, declaration_id: str, *, unit_no: str | None = None) -> DeclarationStatus:
        """A declaration's current state and outcomes (with ``auto_advance``,
        first advanced one stage when due).

        ``unit_no`` is the employer asking: another employer's declaration is
        refused with the same :class:`UnknownDeclaration` as a number that
        does not exist, so declaration numbers (given in sequence) cannot be
        probed. ``None`` is the bureau itself (its back office, tests)."""
        with self._read():
            decl = self._state.declaration(declaration_id)
            if decl is None or (unit_no is not None and decl.unit_no != unit_no):
                raise UnknownDeclaration(
                    "the bureau holds no declaration with this number for this employer; "
                    "check the declaration number "
                    "(社保系统中没有本单位的该申报编号,请核对申报编号)"
                )
            if not (self.auto_advance and self._due(decl, self.clock())):
                return decl.status()
        self._advance(declaration_id)
        with self._read():
            decl = self._state.declaration(declaration_id)
            assert decl is not None
            return decl.status()

    # -- processing -------------------------------------------------------------

    def tick(self) -> list[str]:
        """Advance every due declaration one stage (submitted -> processing ->
        concluded), each in its own transaction; returns the ids that changed."""
        now = self.clock()
        with self._read():
            due = [d.id for d in self._state.pending() if self._due(d, now)]
        return [i for i in due if self._advance(i, now)]

    def settle(self, max_ticks: int = 10) -> None:
        """Tick until nothing is pending (tests and the demo)."""
        for _ in range(max_ticks):
            if not self.tick():
                return

    def _due(self, decl: Declaration, now: _dt.datetime) -> bool:
        return decl.state is DeclarationState.SUBMITTED or (
            decl.state is DeclarationState.PROCESSING
            and now >= decl.submitted_at + self.processing_delay
        )

    def _advance(self, declaration_id: str, now: _dt.datetime | None = None) -> bool:
        """Advance one declaration one stage when it is (still) due: its new
        state, outcomes and every record it changes in one transaction."""
        with self._write():
            now = self.clock() if now is None else now
            decl = self._state.declaration(declaration_id)
            if decl is None or not self._due(decl, now):
                return False
            if decl.state is DeclarationState.SUBMITTED:
                decl.state = DeclarationState.PROCESSING
            else:
                self._conclude(decl, now)
            self._state.put_declaration(decl)
            return True

    def _conclude(self, decl: Declaration, now: _dt.datetime) -> None:
        payload = self._state.payload(decl)
        if decl.kind is DeclarationKind.EMPLOYER:
            outcomes: tuple[WorkerOutcome, ...] = (self._process_employer(decl, payload),)
        else:
            items = payload.get("workers", [])
            if not isinstance(items, list):
                # not a list (null, a number, a text, an object): no worker to read
                items = []
            as_of, today = self._as_of(), now.date()
            # tens of thousands of small acyclic objects per declaration: the
            # collector's passes over them free nothing (as for a session's steps)
            with gc_paused():
                outcomes = tuple(self._process_worker(decl, item, as_of, today) for item in items)
        decl.outcomes = outcomes
        ok = sum(o.succeeded for o in outcomes)
        if outcomes and ok == len(outcomes):
            decl.state = DeclarationState.SUCCEEDED
            decl.message, decl.message_zh = "processed successfully", "处理成功"
        elif ok == 0:
            decl.state = DeclarationState.FAILED
            decl.message, decl.message_zh = "processing failed", "处理失败"
        else:
            decl.state = DeclarationState.PARTIALLY_SUCCEEDED
            decl.message = f"{ok} of {len(outcomes)} succeeded"
            decl.message_zh = f"部分成功:{len(outcomes)} 人中 {ok} 人成功"
        decl.concluded_at = now

    def _process_employer(self, decl: Declaration, payload: dict[str, Any]) -> WorkerOutcome:
        try:
            employer = _CONV.structure(payload["employer"], Employer)
        except Exception:
            return _fail(
                decl.unit_no,
                "bureau.format",
                "the employer information cannot be read",
                "单位信息格式错误",
            )
        if employer.unit_no != decl.unit_no:
            return _fail(
                decl.unit_no,
                "bureau.unit-mismatch",
                "the employer information names another unit number",
                "单位信息中的单位编号与申报单位不符",
            )
        self._state.put_employer(employer)
        return WorkerOutcome(
            key=decl.unit_no, succeeded=True, message="accepted", message_zh="成功"
        )

    def _process_worker(
        self, decl: Declaration, item: Any, as_of: YearMonth, today: _dt.date
    ) -> WorkerOutcome:
        key = str(item.get("key", "?")) if isinstance(item, dict) else "?"
        try:
            worker = _CONV.structure(item["worker"], Worker)
        except Exception:
            return _fail(
                key, "bureau.format", "the worker's data cannot be read", "职工数据格式错误"
            )
        worker_id = canonical_id(worker.id_number)  # the one parse of the declared number
        holder = self._state.person_by_id(worker_id)
        if holder is not None and holder.person_no == worker.person_no:
            person: Person | None = holder  # the usual case: one lookup
        else:
            person = self._state.person(worker.person_no) if worker.person_no else None
            if person is None:
                person = holder
        failure = self._bureau_checks(decl.unit_no, key, worker, worker_id, person, holder)
        if failure is not None:
            return failure
        assert person is not None
        checked = attrs.evolve(worker, bureau=self.shown(person))
        errors = [
            f for f in check_worker(checked, pack=self.pack, as_of=as_of, today=today) if f.is_error
        ]
        if errors:
            codes = ", ".join(sorted({f.code for f in errors}))
            first = errors[0]
            return _fail(
                key,
                "bureau.rules",
                f"the data fails the bureau's checks ({codes}): {first.message}",
                f"数据未通过审核({codes}):{first.message_zh}",
            )
        person.record = attrs.evolve(
            person.record,
            gender=worker.gender or person.record.gender,
            birth_date=worker.birth_date or person.record.birth_date,
            ethnicity=worker.ethnicity or person.record.ethnicity,
            hukou=worker.hukou or person.record.hukou,
            first_work=worker.first_work,
            history=worker.history,
            account=self._account_after(person, worker),
        )
        self._state.put_person(person)
        return WorkerOutcome(key=key, succeeded=True, message="accepted", message_zh="成功")

    @staticmethod
    def _account_after(person: Person, worker: Worker) -> tuple[AccountYear, ...] | None:
        """The person's account after an accepted collection ([P3.4e]): the
        collected years; the bureau's own when none were collected (the handbook
        pages are lost: the bureau's data stand) or when the account is settled
        (only the window un-settles it; years after the print cut-off, which
        pass the checks, do not change a settled account)."""
        if person.account_settled or not worker.account:
            return person.record.account
        return worker.account

    def _bureau_checks(
        self,
        unit_no: str,
        key: str,
        worker: Worker,
        worker_id: str,
        person: Person | None,
        holder: Person | None,
    ) -> WorkerOutcome | None:
        """Why the bureau refuses the worker before its rules run (``None``: it
        does not). ``worker_id`` is the declared number's canonical form;
        ``holder`` the person holding it."""
        if person is None:
            return _fail(
                key,
                "bureau.unknown-person",
                "the bureau holds no insured person with this identity number; "
                "register the person at the bureau window first",
                "社保系统中无此参保人员,请先到社保窗口办理参保登记",
            )
        if holder is not None and holder.person_no != person.person_no:
            return _fail(
                key,
                "bureau.id-held-by-other",
                "the identity number is held by another insured person; "
                "the worker must clear this up at the bureau window ([P3.3a])",
                "该公民身份号码已被其他参保人员使用,请职工本人到社保窗口核实更正",
            )
        if person.unit_no != unit_no:
            return _fail(
                key,
                "bureau.other-employer",
                "the person belongs to another employer at the bureau; "
                "the employment transfer must be done at the bureau window first",
                "该人员在社保系统中属于其他单位,请先到社保窗口办理转移手续",
            )
        rec = person.record
        if (rec.id_number and person_id_key(person) != worker_id) or (
            rec.name and canonical_name(rec.name) != canonical_name(worker.name)
        ):
            return _fail(
                key,
                "bureau.window-only",
                "the identity number or name differs from the bureau's record; "
                "only the bureau window may change them ([P3.3a])",
                "身份证号码或姓名与社保记录不符,只能由本人到社保窗口更正",
            )
        if person.account_settled and self._printed_years(worker.account):
            return _fail(
                key,
                "bureau.account-settled",
                "the pension account was settled and never un-settled; un-settle it "
                "(养老账户取消结清) at the bureau window, then collect again ([P3.4e])",
                "养老账户已结清,请先到社保窗口办理养老账户取消结清,再重新采集",
            )
        return None
