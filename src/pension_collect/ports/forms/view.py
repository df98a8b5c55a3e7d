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
import functools
import hashlib
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, overload

import attrs

from ...identity import InvalidIdentityNumber, compact, to_18
from ...model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    Employer,
    EmployerKind,
    Gender,
    Hukou,
    Origin,
    Segment,
    Source,
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


def worker_key(person_no: str | None, id_number: str) -> str:
    """The worker key of the QR payload.

    ``P`` + the bureau's personal number where there is one, else ``H`` + 16 hex
    digits of a SHA-256 of the 18-character identity number: the payload (which
    a scanner may log) never carries a name or an identity number.
    """
    if person_no:
        return "P" + person_no
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
    last_year: int | None = attrs.field(init=False)
    """The last account year printed: all of it lies before the cut-off."""

    def __attrs_post_init__(self) -> None:
        until = self.until
        last = None if until is None else until.year - (until.month != 12)
        object.__setattr__(self, "last_year", last)


# The view of every worker is built twice in a collection (each confirmation
# digest at printing and again at submit: issue 15), some 20 account lines a
# worker. Its classes are frozen attrs classes whose ``__init__`` takes keywords
# and sets each slot through ``object.__setattr__``; the values here are model
# values already checked, so the builder below makes each instance with
# ``object.__new__`` and sets its slots through the slots' own descriptors,
# about half the instructions of the ``__init__`` (13.5k -> 7.7k an account
# line in a cachegrind micro-benchmark; ``object.__setattr__`` alone: 10.8k,
# a mutable twin class switched to the frozen one: 12.1k). The
# setters are looked up at import in each class's field order, which is
# checked against ``attrs.fields`` there, so a field added to a class cannot be
# forgotten here; tests/test_form_view_speed.py checks the result equals the
# attrs constructors' on generated workers and pins the example's digests.

_Setter = Callable[[Any, Any], None]
_new = object.__new__


def _check_codes() -> None:
    """The model's enumerations are StrEnums: ``str(member)`` is the member's
    value (printed as a code), a C call where ``member.value`` is a Python
    property. Checked at import."""
    for codes in (Category, EmployerKind, Gender, Hukou, Origin, Source):
        if any(str(member) != member.value for member in codes):  # pragma: no cover
            raise TypeError(f"{codes.__name__}: str() of a member is not its value")


_check_codes()


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[_Setter, ...]:
    """A setter for each of ``cls``'s fields ``names``: the slot's descriptor."""
    found = tuple(f.name for f in attrs.fields(cls))
    if found != names:  # pragma: no cover - a class changed without the builder
        raise TypeError(f"{cls.__name__}: the view builder sets {names}, the class has {found}")
    setters: list[_Setter] = []
    for name in names:
        slot = cls.__dict__.get(name)
        if isinstance(slot, types.MemberDescriptorType):
            setters.append(slot.__set__)
        else:  # pragma: no cover - an attrs laying its slots out otherwise
            setters.append(functools.partial(_set_field, name))
    return tuple(setters)


def _set_field(name: str, instance: object, value: object) -> None:  # pragma: no cover
    object.__setattr__(instance, name, value)


_HISTORY_FIELDS = (
    "start",
    "end",
    "months",
    "total",
    "base",
    "rate",
    "category",
    "source",
    "employer_kind",
    "origin",
    "employer_name",
    "remark",
    "clipped",
)
"""A :class:`HistoryLine`'s fields in their order (the builder's and the digest's)."""
_ACCOUNT_FIELDS = ("year", "months", "base", "personal", "employer_part", "interest", "balance")
"""An :class:`AccountLine`'s fields in their order."""
_HISTORY_SLOTS = _slot_setters(HistoryLine, _HISTORY_FIELDS)
_ACCOUNT_SLOTS = _slot_setters(AccountLine, _ACCOUNT_FIELDS)
_PERSON_SLOTS = _slot_setters(
    PersonLines,
    ("person_no", "name", "id_number", "gender", "birth_date", "ethnicity", "hukou", "first_work"),
)
_DATA_SLOTS = _slot_setters(WorkerData, ("person", "history", "account", "withheld"))
_SHEET_SLOTS = _slot_setters(WorkerSheet, ("index", "key", "collected", "bureau"))


def _history(
    segments: tuple[Segment, ...] | None, cut: _Cut
) -> tuple[tuple[HistoryLine, ...] | None, int]:
    if segments is None:
        return None, 0
    (
        set_start,
        set_end,
        set_months,
        set_total,
        set_base,
        set_rate,
        set_category,
        set_source,
        set_employer_kind,
        set_origin,
        set_employer_name,
        set_remark,
        set_clipped,
    ) = _HISTORY_SLOTS
    lines: list[HistoryLine] = []
    until = cut.until
    upper_last, account_start = cut.upper_last, cut.account_start
    for seg in segments:
        start = seg.start
        if until is not None and start > until:
            continue
        clipped = until is not None and seg.end > until
        end = until if clipped and until is not None else seg.end
        category = seg.category
        if category is None and upper_last is not None and account_start is not None:
            category = place(seg, upper_last=upper_last, account_start=account_start).category
        total, base, rate, origin = seg.total, seg.base, seg.rate, seg.origin
        line = _new(HistoryLine)
        set_start(line, str(start))
        set_end(line, str(end))
        set_months(line, months_between(start, end))
        set_total(line, None if clipped or total is None else str(total))
        set_base(line, None if base is None else str(base))
        set_rate(line, None if rate is None else str(rate))
        set_category(line, None if category is None else str(category))
        set_source(line, str(seg.source))
        set_employer_kind(line, str(seg.employer_kind))
        set_origin(line, None if origin is None else str(origin))
        set_employer_name(line, seg.employer_name)
        set_remark(line, seg.remark)
        set_clipped(line, clipped)
        lines.append(line)
    return tuple(lines), len(segments) - len(lines)


def _account(
    years: tuple[AccountYear, ...] | None, cut: _Cut
) -> tuple[tuple[AccountLine, ...] | None, int]:
    if years is None:
        return None, 0
    (
        set_year,
        set_months,
        set_base,
        set_personal,
        set_employer_part,
        set_interest,
        set_balance,
    ) = _ACCOUNT_SLOTS
    lines: list[AccountLine] = []
    append = lines.append
    last = cut.last_year
    for y in years:
        # An account year is printed only when all of it lies before the cut-off.
        if last is not None and y.year > last:
            continue
        line = _new(AccountLine)
        set_year(line, y.year)
        set_months(line, y.months)
        set_base(line, str(y.base))
        set_personal(line, str(y.personal))
        set_employer_part(line, str(y.employer_part))
        set_interest(line, str(y.interest))
        set_balance(line, str(y.balance))
        append(line)
    return tuple(lines), len(years) - len(lines)


def _person(record: Worker | BureauRecord) -> PersonLines:
    (
        set_person_no,
        set_name,
        set_id_number,
        set_gender,
        set_birth_date,
        set_ethnicity,
        set_hukou,
        set_first_work,
    ) = _PERSON_SLOTS
    gender, born, hukou, first_work = (
        record.gender,
        record.birth_date,
        record.hukou,
        record.first_work,
    )
    person = _new(PersonLines)
    set_person_no(person, record.person_no)
    set_name(person, record.name)
    set_id_number(person, record.id_number)
    set_gender(person, None if gender is None else str(gender))
    set_birth_date(person, None if born is None else born.isoformat())
    set_ethnicity(person, record.ethnicity)
    set_hukou(person, None if hukou is None else str(hukou))
    set_first_work(person, None if first_work is None else str(first_work))
    return person


def _data(
    record: Worker | BureauRecord,
    history: tuple[tuple[HistoryLine, ...] | None, int],
    account: tuple[tuple[AccountLine, ...] | None, int],
) -> WorkerData:
    set_person, set_history, set_account, set_withheld = _DATA_SLOTS
    data = _new(WorkerData)
    set_person(data, _person(record))
    set_history(data, history[0])
    set_account(data, account[0])
    set_withheld(data, history[1] + account[1])
    return data


def _sheet(worker: Worker, index: int, cut: _Cut) -> WorkerSheet:
    history = _history(worker.history, cut)
    account = _account(worker.account, cut)
    bureau = worker.bureau
    bureau_data = None
    if bureau is not None:
        # A data sync read back shares the bureau's lists with the collected
        # ones when they are equal (the same objects): their lines are the same.
        bureau_data = _data(
            bureau,
            history if bureau.history is worker.history else _history(bureau.history, cut),
            account if bureau.account is worker.account else _account(bureau.account, cut),
        )
    set_index, set_key, set_collected, set_bureau = _SHEET_SLOTS
    sheet = _new(WorkerSheet)
    set_index(sheet, index)
    set_key(sheet, worker_key(worker.person_no, worker.id_number))
    set_collected(sheet, _data(worker, history, account))
    set_bureau(sheet, bureau_data)
    return sheet


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
