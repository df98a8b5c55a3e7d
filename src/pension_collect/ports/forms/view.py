"""The view model of the forms: plain, already-formatted data built from the model.

Layout code draws what is here and decides nothing about the domain: which
rows are printed (the cut-off month of the rule pack's ``forms_print_until``
parameter [P3.3b], [P3.5]), each segment's category (derived by the rule pack
when the dossier gives none) and the summary's month counts are settled here.

Every value is a string as printed (money ``"491.40"``, months ``"1993-01"``)
or ``None`` where nothing is recorded. Sequences of workers are lazy: a
:class:`SheetSequence` builds each worker's sheet when it is asked for, so a
renderer can stream ten thousand workers without holding them all.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import overload

import attrs

from ...model import (
    AccountYear,
    BureauRecord,
    Dossier,
    Employer,
    Segment,
    Worker,
    YearMonth,
    months_between,
)
from ...rules.derive import place
from ...rules.pack import RulePack

__all__ = [
    "AccountLine",
    "EmployerLines",
    "FormsInput",
    "HistoryLine",
    "PersonLines",
    "SheetSequence",
    "SummaryRow",
    "SummaryTotals",
    "WorkerData",
    "WorkerSheet",
    "forms_input",
    "forms_input_from_workers",
    "summary_rows",
    "worker_key",
]

#: Name of the rule-pack parameter that holds the forms' cut-off month.
PRINT_UNTIL_PARAMETER = "forms_print_until"


@attrs.frozen(kw_only=True)
class EmployerLines:
    """The employer as printed in every form's header.

    The repr shows the unit's number, name and credit code; the address,
    contact and phone are left out (docs/privacy.md)."""

    unit_no: str
    name: str
    credit_code: str | None = None
    address: str | None = attrs.field(default=None, repr=False)
    contact: str | None = attrs.field(default=None, repr=False)
    phone: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True, repr=False)
class PersonLines:
    """Personal information as printed; codes (``male``) for enumerations."""

    person_no: str | None = None
    name: str | None = None
    id_number: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    ethnicity: str | None = None
    hukou: str | None = None
    first_work: str | None = None

    def __repr__(self) -> str:
        # personal data: never in a repr
        return f"PersonLines(person_no={self.person_no!r}, ...)"


@attrs.frozen(kw_only=True)
class HistoryLine:
    """One printed contribution-history segment."""

    start: str
    end: str
    """The segment's end, or the cut-off month when the segment runs past it."""
    months: int
    total: str | None
    base: str | None
    rate: str | None
    category: str | None
    """``deemed`` / ``pre_account`` / ``post_account`` (given, else derived)."""
    source: str
    employer_kind: str
    origin: str | None
    employer_name: str | None
    remark: str | None = attrs.field(repr=False)
    """Free text: left out of the repr (docs/privacy.md)."""
    clipped: bool = False
    """The segment runs past the cut-off: printed up to it, total withheld."""


@attrs.frozen(kw_only=True)
class AccountLine:
    """One printed pension-account year."""

    year: int
    months: int
    base: str
    personal: str
    employer_part: str
    interest: str
    balance: str


@attrs.frozen(kw_only=True)
class WorkerData:
    """One side of a worker: the collected data or the bureau's record."""

    person: PersonLines
    history: tuple[HistoryLine, ...] | None
    """``None``: not collected (or the bureau holds none)."""
    account: tuple[AccountLine, ...] | None
    withheld: int = 0
    """Rows after the cut-off month that are not printed (a count only)."""

    @property
    def months(self) -> Mapping[str, int]:
        """Printed months by category (``deemed``, ``pre_account``, ``post_account``)."""
        out = {"deemed": 0, "pre_account": 0, "post_account": 0}
        for line in self.history or ():
            if line.category in out:
                out[line.category] += line.months
        return out

    @property
    def balance(self) -> str | None:
        """Year-end balance of the last printed account year."""
        return self.account[-1].balance if self.account else None

    @property
    def account_years(self) -> str | None:
        """``"1996-2011"``: the first and last printed account years."""
        if not self.account:
            return None
        first, last = self.account[0].year, self.account[-1].year
        return str(first) if first == last else f"{first}-{last}"


@attrs.frozen(kw_only=True, repr=False)
class WorkerSheet:
    """Everything the forms print about one worker."""

    index: int
    """Position in the dossier: ``$.workers[index]``."""
    key: str
    """Worker key of the QR payload: ``P<person_no>``, else ``H<hash of the id number>``."""
    collected: WorkerData
    """What the confirmation form and the summary print."""
    bureau: WorkerData | None
    """What the verification form prints; ``None`` when the bureau holds nothing."""

    def __repr__(self) -> str:
        return f"WorkerSheet(index={self.index}, key={self.key!r}, ...)"


@attrs.frozen(kw_only=True)
class FormsInput:
    """What every renderer receives: the employer, the workers, the cut-off."""

    employer: EmployerLines
    workers: Sequence[WorkerSheet]
    """The selected workers, in print order (may be a lazy :class:`SheetSequence`)."""
    print_until: str | None
    """Cut-off month ``"2011-12"`` from the rule pack; ``None`` prints everything."""
    rule_pack: str
    declaration_ref: str | None = None
    """The declaration the papers belong to (printed, and in the QR payload)."""


# -- building ------------------------------------------------------------------


def _s(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def _enum(value: object) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def worker_key(person_no: str | None, id_number: str) -> str:
    """The worker key of the QR payload.

    ``P`` + the bureau's personal number where there is one, else ``H`` + 16 hex
    digits of a SHA-256 of the 18-character identity number: the payload (which
    a scanner may log) never carries a name or an identity number.
    """
    if person_no:
        return "P" + person_no
    import hashlib

    from ...identity import InvalidIdentityNumber, compact, to_18

    try:
        number = compact(id_number)
        if len(number) == 15:
            number = to_18(number)
    except InvalidIdentityNumber:
        number = id_number
    digest = hashlib.sha256(f"pension-collect/worker/v1:{number}".encode()).hexdigest()
    return "H" + digest[:16].upper()


@attrs.frozen
class _Cut:
    """Parameters the builder needs from the rule pack, resolved once."""

    until: YearMonth | None
    upper_last: YearMonth | None
    account_start: YearMonth | None


def _history(
    segments: tuple[Segment, ...] | None, cut: _Cut
) -> tuple[tuple[HistoryLine, ...] | None, int]:
    if segments is None:
        return None, 0
    lines: list[HistoryLine] = []
    withheld = 0
    until = cut.until
    for seg in segments:
        if until is not None and seg.start > until:
            withheld += 1
            continue
        clipped = until is not None and seg.end > until
        end = until if clipped and until is not None else seg.end
        category = _enum(seg.category)
        if category is None and cut.upper_last is not None and cut.account_start is not None:
            placed = place(seg, upper_last=cut.upper_last, account_start=cut.account_start)
            category = _enum(placed.category)
        lines.append(
            HistoryLine(
                start=str(seg.start),
                end=str(end),
                months=months_between(seg.start, end),
                total=None if clipped else _s(seg.total),
                base=_s(seg.base),
                rate=_s(seg.rate),
                category=category,
                source=str(seg.source.value),
                employer_kind=str(seg.employer_kind.value),
                origin=_enum(seg.origin),
                employer_name=seg.employer_name,
                remark=seg.remark,
                clipped=clipped,
            )
        )
    return tuple(lines), withheld


def _account(
    years: tuple[AccountYear, ...] | None, cut: _Cut
) -> tuple[tuple[AccountLine, ...] | None, int]:
    if years is None:
        return None, 0
    lines: list[AccountLine] = []
    withheld = 0
    for y in years:
        # An account year is printed only when all of it lies before the cut-off.
        if cut.until is not None and (y.year, 12) > (cut.until.year, cut.until.month):
            withheld += 1
            continue
        lines.append(
            AccountLine(
                year=y.year,
                months=y.months,
                base=str(y.base),
                personal=str(y.personal),
                employer_part=str(y.employer_part),
                interest=str(y.interest),
                balance=str(y.balance),
            )
        )
    return tuple(lines), withheld


def _data(record: Worker | BureauRecord, cut: _Cut) -> WorkerData:
    history, h_withheld = _history(record.history, cut)
    account, a_withheld = _account(record.account, cut)
    return WorkerData(
        person=PersonLines(
            person_no=record.person_no,
            name=record.name,
            id_number=record.id_number,
            gender=_enum(record.gender),
            birth_date=_s(record.birth_date),
            ethnicity=record.ethnicity,
            hukou=_enum(record.hukou),
            first_work=_s(record.first_work),
        ),
        history=history,
        account=account,
        withheld=h_withheld + a_withheld,
    )


def _sheet(worker: Worker, index: int, cut: _Cut) -> WorkerSheet:
    return WorkerSheet(
        index=index,
        key=worker_key(worker.person_no, worker.id_number),
        collected=_data(worker, cut),
        bureau=None if worker.bureau is None else _data(worker.bureau, cut),
    )


class SheetSequence(Sequence[WorkerSheet]):
    """A lazy sequence of worker sheets: each is built when it is asked for."""

    def __init__(self, workers: Sequence[Worker], indices: Sequence[int], cut: _Cut) -> None:
        self._workers = workers
        self._indices = indices
        self._cut = cut

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, i: int) -> WorkerSheet: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[WorkerSheet]: ...
    def __getitem__(self, i: int | slice) -> WorkerSheet | Sequence[WorkerSheet]:
        if isinstance(i, slice):
            return SheetSequence(self._workers, self._indices[i], self._cut)
        index = self._indices[i]
        return _sheet(self._workers[index], index, self._cut)

    def __iter__(self) -> Iterator[WorkerSheet]:
        workers, cut = self._workers, self._cut
        for index in self._indices:
            yield _sheet(workers[index], index, cut)


def _param(pack: RulePack, name: str, month: YearMonth) -> YearMonth | None:
    if name not in pack.parameters:
        return None
    value = pack.parameters.get(name, month)
    return value if isinstance(value, YearMonth) else None


def forms_input_from_workers(
    employer: Employer,
    workers: Sequence[Worker],
    *,
    pack: RulePack,
    as_of: YearMonth | None = None,
    declaration_ref: str | None = None,
    select: Sequence[int] | None = None,
    cut_off: str | None = "pack",
) -> FormsInput:
    """The view model of ``workers`` (any sequence, possibly lazy) of ``employer``.

    ``select`` picks workers by position (default: all, in order). The cut-off
    month is the pack's ``forms_print_until`` parameter in force at ``as_of``
    (default: this month); a pack without it prints everything. ``cut_off``
    overrides it: a month ``"2011-12"``, or ``None`` to print everything.
    """
    month = as_of or YearMonth.of(_dt.date.today())
    if cut_off == "pack":
        until = _param(pack, PRINT_UNTIL_PARAMETER, month)
    else:
        until = None if cut_off is None else YearMonth.parse(cut_off)
    cut = _Cut(
        until=until,
        upper_last=_param(pack, "upper_box_last_month", month),
        account_start=_param(pack, "account_start", month),
    )
    indices: Sequence[int] = range(len(workers)) if select is None else tuple(select)
    for i in indices:
        if not 0 <= i < len(workers):
            raise IndexError(f"worker index {i} is out of range (0..{len(workers) - 1})")
    return FormsInput(
        employer=EmployerLines(
            unit_no=employer.unit_no,
            name=employer.name,
            credit_code=employer.credit_code,
            address=employer.address,
            contact=employer.contact,
            phone=employer.phone,
        ),
        workers=SheetSequence(workers, indices, cut),
        print_until=None if cut.until is None else str(cut.until),
        rule_pack=pack.name,
        declaration_ref=declaration_ref,
    )


def forms_input(
    dossier: Dossier,
    *,
    pack: RulePack,
    declaration_ref: str | None = None,
    select: Sequence[int] | None = None,
    cut_off: str | None = "pack",
) -> FormsInput:
    """The view model of a dossier, for any renderer.

    ``pack`` gives the cut-off month and the box boundaries
    (``pension_collect.forms_input`` looks it up by name through the plugin
    host). ``select`` picks workers by position (default: all); ``cut_off``
    overrides the pack's cut-off month (``"2011-12"``, or ``None`` for none).
    """
    return forms_input_from_workers(
        dossier.employer,
        dossier.workers,
        pack=pack,
        as_of=dossier.as_of,
        declaration_ref=declaration_ref,
        select=select,
        cut_off=cut_off,
    )


# -- the summary sheet --------------------------------------------------------


@attrs.frozen(kw_only=True, repr=False)
class SummaryRow:
    """One line of the summary sheet (汇总表): a worker whose forms are handed in."""

    seq: int
    index: int
    """Position of the worker in the dossier."""
    key: str
    person_no: str | None
    name: str | None
    id_number: str | None
    deemed: int
    pre_account: int
    post_account: int
    account_years: str | None
    balance: str | None
    copies: int
    complete: bool
    """Both history and account were collected."""

    def __repr__(self) -> str:
        return f"SummaryRow(seq={self.seq}, key={self.key!r}, ...)"


@attrs.frozen(kw_only=True)
class SummaryTotals:
    """The totals line of the summary sheet."""

    workers: int
    deemed: int
    pre_account: int
    post_account: int
    balance: str
    copies: int


def summary_rows(
    forms: FormsInput, *, copies: int = 3
) -> tuple[tuple[SummaryRow, ...], SummaryTotals]:
    """The summary sheet's lines (one per worker) and its totals."""
    rows: list[SummaryRow] = []
    deemed = pre = post = 0
    copies_total = 0
    balance = Decimal("0.00")
    for seq, sheet in enumerate(forms.workers, start=1):
        data = sheet.collected
        months = data.months
        rows.append(
            SummaryRow(
                seq=seq,
                index=sheet.index,
                key=sheet.key,
                person_no=data.person.person_no,
                name=data.person.name,
                id_number=data.person.id_number,
                deemed=months["deemed"],
                pre_account=months["pre_account"],
                post_account=months["post_account"],
                account_years=data.account_years,
                balance=data.balance,
                copies=copies,
                complete=data.history is not None and data.account is not None,
            )
        )
        deemed += months["deemed"]
        pre += months["pre_account"]
        post += months["post_account"]
        copies_total += copies
        if data.balance is not None:
            balance += Decimal(data.balance)
    totals = SummaryTotals(
        workers=len(rows),
        deemed=deemed,
        pre_account=pre,
        post_account=post,
        balance=str(balance.quantize(Decimal("0.01"))),
        copies=copies_total,
    )
    return tuple(rows), totals
