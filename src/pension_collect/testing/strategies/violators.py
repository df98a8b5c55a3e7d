"""Violators: workers and dossiers that break exactly one named rule.

Each is a clean worker or dossier (:mod:`.clean`) with one thing changed or
added, so that every finding of the pack has the violator's code.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from ...identity import IdentityNumber, check_char
from ...model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    Employer,
    EmployerKind,
    Gender,
    Money,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from ...rules.pack import RulePack
from ...rules.parameters import Confidence, DatedValue, Parameter, RateBand
from ._base import _BAD_INSTITUTION_REMARKS, _GIVEN, _as_decimal, _as_ym, _one_of, _ym
from ._calendar import (
    _ALL_KINDS,
    _ENT,
    _INS,
    _MIN_INDEX,
    _TRA,
    _Calendar,
    _calendar,
    _derived,
    _options,
    _pick,
    _resolve_pack,
    _zones,
)
from .clean import (
    DEFAULT_AS_OF,
    BureauMode,
    _born_until,
    _clean_worker,
    _dossier_of,
    _draw_segment,
    clean_employers,
)
from .scalars import (
    FIRST_MONTH,
    _bad_credit_codes,
    _bad_id_formats,
    _digits,
    _org_check_broken_codes,
    money,
    rates,
    year_months,
)

__all__ = [
    "DOSSIER_CODES",
    "WORKER_CODES",
    "every_violation_dossiers",
    "violating_dossiers",
    "violating_workers",
    "with_rate_reference",
]

WorkerBuilder = Callable[[_Calendar], SearchStrategy[Worker]]
DossierBuilder = Callable[[_Calendar], SearchStrategy[Dossier]]
_WORKER_VIOLATORS: dict[str, WorkerBuilder] = {}
_DOSSIER_VIOLATORS: dict[str, DossierBuilder] = {}


def _worker_violator(code: str) -> Callable[[WorkerBuilder], WorkerBuilder]:
    def register(builder: WorkerBuilder) -> WorkerBuilder:
        _WORKER_VIOLATORS[code] = builder
        return builder

    return register


def _dossier_violator(code: str) -> Callable[[DossierBuilder], DossierBuilder]:
    def register(builder: DossierBuilder) -> DossierBuilder:
        _DOSSIER_VIOLATORS[code] = builder
        return builder

    return register


def _impossible(code: str, cal: _Calendar, why: str) -> ValueError:
    return ValueError(f"no worker can break {code} at as_of {_ym(cal.as_of)}: {why}")


def _insert(draw: DrawFn, worker: Worker, extra: Sequence[Segment]) -> Worker:
    history = list(worker.history or ())
    for segment in extra:
        history.insert(draw(st.integers(0, len(history))), segment)
    return attrs.evolve(worker, history=tuple(history))


def _around(cal: _Calendar, make: Callable[[DrawFn], list[Segment]]) -> SearchStrategy[Worker]:
    """A clean worker around violating segments: first work not after their
    start, the clean history kept off their months."""

    @st.composite
    def build(draw: DrawFn) -> Worker:
        extra = make(draw)
        spans = [(min(s.start, s.end).index, max(s.start, s.end).index) for s in extra]
        worker = draw(
            _clean_worker(cal, latest_first_work=min(a for a, _ in spans), reserved=spans)
        )
        return _insert(draw, worker, extra)

    return build()


def _segment_violator(
    code: str,
    kinds: Sequence[str],
    change: Callable[[DrawFn, _Calendar, Segment], Segment],
    *,
    min_len: int = 1,
) -> None:
    """Register a violator: one legal segment of one of ``kinds``, then ``change``."""

    def builder(cal: _Calendar) -> SearchStrategy[Worker]:
        options = _options(cal, kinds, cal.earliest_work, cal.as_of, min_len=min_len)
        if not options:
            raise _impossible(code, cal, f"no room for a {'/'.join(kinds)} period")

        def make(draw: DrawFn) -> list[Segment]:
            kind, start, end = _pick(draw, options, min_len=min_len)
            return [change(draw, cal, _draw_segment(draw, cal, kind, start, end))]

        return _around(cal, make)

    _WORKER_VIOLATORS[code] = builder


def _reverse(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, start=s.end, end=s.start)


def _wrong_category(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    kind = (
        _INS
        if s.employer_kind is EmployerKind.INSTITUTION
        else (_TRA if s.source is Source.TRANSFER_IN else _ENT)
    )
    derived = _derived(cal, kind, s.end.index, s.total)
    wrong = draw(st.sampled_from([c for c in Category if c != derived]))
    return attrs.evolve(s, category=wrong)


def _bad_remark(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, remark=draw(st.sampled_from(_BAD_INSTITUTION_REMARKS)))


def _late_cross_city(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    first = max(cal.cutoff, s.end.index)
    done = draw(st.integers(first, max(first, cal.as_of)))
    return attrs.evolve(s, origin=Origin.OTHER_CITY, transferred_on=_ym(done))


def _no_transfer_date(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, origin=Origin.OTHER_CITY, transferred_on=None)


def _no_origin(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, origin=None)


def _transfer_fields(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    which = draw(st.sampled_from(("origin", "transferred_on", "both")))
    origin = draw(st.sampled_from(Origin)) if which != "transferred_on" else None
    done = draw(year_months(s.end, max(s.end, _ym(cal.as_of)))) if which != "origin" else None
    return attrs.evolve(s, origin=origin, transferred_on=done)


def _negative(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    which = draw(st.sampled_from(("total", "base", "both")))
    negative = money(-100000, "-0.01")
    total = draw(negative) if which != "base" else s.total
    base = draw(negative) if which != "total" else s.base
    return attrs.evolve(s, total=total, base=base)


def _no_total(draw: DrawFn, cal: _Calendar, s: Segment) -> Segment:
    return attrs.evolve(s, total=None, category=draw(st.none() | st.sampled_from(Category)))


_segment_violator("history.month-order", _ALL_KINDS, _reverse, min_len=2)
_segment_violator("history.category", _ALL_KINDS, _wrong_category)
_segment_violator("history.institution-remark", (_INS,), _bad_remark)
_segment_violator("history.cross-city-transfer-after-2010", (_TRA,), _late_cross_city)
_segment_violator("history.transfer-date-missing", (_TRA,), _no_transfer_date)
_segment_violator("history.transfer-origin-missing", (_TRA,), _no_origin)
_segment_violator("history.transfer-fields", (_ENT, _INS), _transfer_fields)
_segment_violator("history.negative-amount", _ALL_KINDS, _negative)


@_worker_violator("history.total-required")
def _total_required(cal: _Calendar) -> SearchStrategy[Worker]:
    options = [
        o
        for o in _options(cal, (_ENT,), cal.earliest_work, min(cal.as_of, cal.upper_last))
        if o[2] <= cal.upper_last
    ]
    if not options:
        raise _impossible("history.total-required", cal, "no upper-box month to collect")

    def make(draw: DrawFn) -> list[Segment]:
        kind, start, end = _pick(draw, options)
        return [_no_total(draw, cal, _draw_segment(draw, cal, kind, start, end))]

    return _around(cal, make)


@_worker_violator("history.future")
def _future(cal: _Calendar) -> SearchStrategy[Worker]:
    # A period that starts by as_of and ends after it, in a zone where it has
    # a category (e.g. a transfer after the account start).
    options = [
        (kind, first, min(cal.as_of, last), last)
        for kind in _ALL_KINDS
        for first, last in ((max(a, cal.earliest_work), b) for a, b in _zones(cal, kind))
        if last > cal.as_of and first <= cal.as_of
    ]
    if not options:
        raise _impossible("history.future", cal, "no zone runs past as_of")

    def make(draw: DrawFn) -> list[Segment]:
        kind, first, start_last, zone_last = draw(st.sampled_from(options))
        start = draw(st.integers(first, start_last))
        end = draw(st.integers(cal.as_of + 1, min(zone_last, cal.as_of + 60)))
        return [_draw_segment(draw, cal, kind, start, end)]

    return _around(cal, make)


@_worker_violator("history.before-first-work")
def _before_first_work(cal: _Calendar) -> SearchStrategy[Worker]:
    _born_until(cal, cal.as_of, 1)

    @st.composite
    def build(draw: DrawFn) -> Worker:
        worker = draw(_clean_worker(cal, first_work_gap=1))
        born = IdentityNumber.parse(worker.id_number).birth_date
        options = _options(cal, _ALL_KINDS, cal.bday(born), worker.first_work.index - 1)
        kind, start, end = _pick(draw, options)
        return _insert(draw, worker, [_draw_segment(draw, cal, kind, start, end)])

    return build()


@_worker_violator("history.overlap")
def _overlap(cal: _Calendar) -> SearchStrategy[Worker]:
    options = _options(cal, _ALL_KINDS, cal.earliest_work, cal.as_of)
    if not options:
        raise _impossible("history.overlap", cal, "no room for a period")

    def make(draw: DrawFn) -> list[Segment]:
        kind, first, last = _pick(draw, options)
        shared_from = draw(st.integers(first, last))
        shared_to = draw(st.integers(shared_from, last))
        return [
            _draw_segment(draw, cal, kind, first, shared_to),
            _draw_segment(draw, cal, kind, shared_from, last),
        ]

    return _around(cal, make)


@_worker_violator("history.crosses-box")
def _crosses_box(cal: _Calendar) -> SearchStrategy[Worker]:
    starts = (cal.earliest_work, cal.upper_last)
    ends = (cal.upper_last + 1, min(cal.account_start - 1, cal.as_of))
    if starts[0] > starts[1] or ends[0] > ends[1]:
        raise _impossible("history.crosses-box", cal, "the box boundary is out of reach")

    def make(draw: DrawFn) -> list[Segment]:
        start = draw(st.integers(max(starts[0], starts[1] - 240), starts[1]))
        end = draw(st.integers(*ends))
        return [_draw_segment(draw, cal, _ENT, start, end, placed=False)]

    return _around(cal, make)


@_worker_violator("history.crosses-account-start")
def _crosses_account_start(cal: _Calendar) -> SearchStrategy[Worker]:
    before = cal.account_start - 1
    options = [
        (kind, lo)
        for kind, lo in (
            (_ENT, max(cal.upper_last + 1, cal.earliest_work)),
            (_TRA, cal.earliest_work),
        )
        if lo <= before
    ]
    if not options or cal.as_of < cal.account_start:
        raise _impossible("history.crosses-account-start", cal, "the account start is out of reach")

    def make(draw: DrawFn) -> list[Segment]:
        kind, lo = draw(st.sampled_from(options))
        start = draw(st.integers(max(lo, before - 120), before))
        end = draw(st.integers(cal.account_start, min(cal.as_of, cal.account_start + 120)))
        return [_draw_segment(draw, cal, kind, start, end, placed=False)]

    return _around(cal, make)


@_worker_violator("history.institution-range")
def _institution_range(cal: _Calendar) -> SearchStrategy[Worker]:
    variants: list[str] = []
    if cal.earliest_work < cal.window_start and cal.earliest_work <= cal.as_of:
        variants.append("before")
    if cal.as_of > cal.window_end:
        variants.append("after")
    if not variants:
        raise _impossible("history.institution-range", cal, "no month outside the window")

    def make(draw: DrawFn) -> list[Segment]:
        if draw(st.sampled_from(variants)) == "before":
            start = draw(st.integers(cal.earliest_work, min(cal.window_start - 1, cal.as_of)))
            end = draw(st.integers(start, min(cal.as_of, start + 240)))
        else:
            end = draw(st.integers(cal.window_end + 1, cal.as_of))
            start = draw(st.integers(max(cal.earliest_work, end - 240), end))
        return [_draw_segment(draw, cal, _INS, start, end)]

    return _around(cal, make)


@_worker_violator("history.enterprise-after-account-start")
def _enterprise_in_account(cal: _Calendar) -> SearchStrategy[Worker]:
    first = max(cal.account_start, cal.earliest_work)
    if first > cal.as_of:
        raise _impossible(
            "history.enterprise-after-account-start", cal, "as_of is before the account start"
        )

    def make(draw: DrawFn) -> list[Segment]:
        start = draw(st.integers(first, cal.as_of))
        end = draw(st.integers(start, min(cal.as_of, start + 120)))
        return [_draw_segment(draw, cal, _ENT, start, end, placed=False)]

    return _around(cal, make)


@_worker_violator("history.rate-reference")
def _rate_reference(cal: _Calendar) -> SearchStrategy[Worker]:
    if not cal.rate_table:
        raise _impossible(
            "history.rate-reference",
            cal,
            "the pack has no individual_rate_reference table, so the rule is inactive; pass "
            "pack=with_rate_reference([...]) (docs/testing.md)",
        )
    options = [
        (band, option)
        for band in cal.rate_table
        for option in _options(
            cal,
            _ALL_KINDS,
            max(cal.earliest_work, band.start.index),
            min(cal.as_of, band.end.index),
            lower_box_only=True,
        )
    ]
    if not options:
        raise _impossible("history.rate-reference", cal, "no band covers a lower-box month")

    def make(draw: DrawFn) -> list[Segment]:
        band, option = draw(st.sampled_from(options))
        kind, start, end = _pick(draw, [option])
        rate = draw(rates(0, Decimal("0.3"), places=4))
        if rate == band.rate:
            rate = rate + Decimal("0.01")
        return [attrs.evolve(_draw_segment(draw, cal, kind, start, end), rate=rate)]

    return _around(cal, make)


def _person_violator(code: str, change: Callable[[DrawFn, _Calendar, Worker], Worker]) -> None:
    def builder(cal: _Calendar) -> SearchStrategy[Worker]:
        _born_until(cal, cal.as_of, 0)

        @st.composite
        def build(draw: DrawFn) -> Worker:
            return change(draw, cal, draw(_clean_worker(cal)))

        return build()

    _WORKER_VIOLATORS[code] = builder


def _replace_id(draw: DrawFn, worker: Worker, new_id: str) -> Worker:
    """Put ``new_id`` in; the bureau keeps no conflicting number (that is another rule)."""
    bureau = worker.bureau
    if bureau is not None and bureau.id_number is not None:
        bureau = attrs.evolve(bureau, id_number=draw(st.sampled_from((None, new_id))))
    return attrs.evolve(worker, id_number=new_id, bureau=bureau)


_BAD_ID_FORMATS = _bad_id_formats()


def _id_format(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    return _replace_id(draw, w, draw(_BAD_ID_FORMATS))


def _id_checksum(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    right = w.id_number[17]
    wrong = draw(st.sampled_from([c for c in "0123456789X" if c != right]))
    return _replace_id(draw, w, w.id_number[:17] + wrong)


def _id_birth_date(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    year = int(w.id_number[6:10])
    variant = draw(st.sampled_from(("month", "day", "year")))
    month, day = int(w.id_number[10:12]), int(w.id_number[12:14])
    if variant == "month":
        month = draw(st.sampled_from((0, 13, 20, 99)))
    elif variant == "day":
        day = draw(st.integers(calendar.monthrange(year, month)[1] + 1, 99) | st.just(0))
    else:
        year = draw(st.integers(1000, 1879))
    first17 = f"{w.id_number[:6]}{year:04d}{month:02d}{day:02d}{w.id_number[14:17]}"
    return _replace_id(draw, w, first17 + check_char(first17))


def _id_legacy(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    return attrs.evolve(w, id_number=w.id_number[:6] + w.id_number[8:17])


def _gender_mismatch(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    number_says = Gender(IdentityNumber.parse(w.id_number).gender)
    other = Gender.FEMALE if number_says is Gender.MALE else Gender.MALE
    return attrs.evolve(w, gender=other)


def _birth_date_mismatch(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    born = IdentityNumber.parse(w.id_number).birth_date
    shift = draw(st.integers(1, 4000)) * draw(st.sampled_from((1, -1)))
    return attrs.evolve(w, birth_date=born + _dt.timedelta(days=shift))


def _first_work_age(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    born = IdentityNumber.parse(w.id_number).birth_date
    too_early = draw(st.integers(max(_MIN_INDEX, YearMonth.of(born).index), cal.bday(born) - 1))
    bureau = w.bureau
    if bureau is not None and bureau.first_work is not None:
        bureau = attrs.evolve(bureau, first_work=_ym(too_early))
    return attrs.evolve(w, first_work=_ym(too_early), bureau=bureau)


def _window_only(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    which = draw(st.sampled_from(("name", "id_number", "both")))
    bureau = w.bureau if w.bureau is not None else BureauRecord()
    name, number = bureau.name, bureau.id_number
    if which != "id_number":
        name = w.name + draw(st.text(alphabet=_GIVEN, min_size=1, max_size=1))
    if which != "name":
        seq = (int(w.id_number[14:17]) + 2 * draw(st.integers(1, 499))) % 1000
        first17 = f"{w.id_number[:14]}{seq:03d}"
        number = first17 + check_char(first17)
    return attrs.evolve(w, bureau=attrs.evolve(bureau, name=name, id_number=number))


_person_violator("person.id-format", _id_format)
_person_violator("person.id-checksum", _id_checksum)
_person_violator("person.id-birth-date", _id_birth_date)
_person_violator("person.id-legacy", _id_legacy)
_person_violator("person.gender-mismatch", _gender_mismatch)
_person_violator("person.birth-date-mismatch", _birth_date_mismatch)
_person_violator("person.first-work-age", _first_work_age)
_person_violator("person.window-only-change", _window_only)


def _account_violator(
    code: str,
    change: Callable[[DrawFn, _Calendar, Worker], Worker],
    *,
    min_years: int,
    bureau: BureauMode = "any",
    printed: bool = False,
) -> None:
    """Register a violator: a clean worker with ``min_years`` account years or
    more (``printed``: one of them a year the forms print), then ``change``."""

    def builder(cal: _Calendar) -> SearchStrategy[Worker]:
        if cal.as_of < cal.account_start:
            raise _impossible(code, cal, "as_of is before the account start")
        last_year = _ym(cal.as_of).year
        latest_first_work = min(cal.as_of, YearMonth(last_year - min_years + 1, 12).index)
        if last_year - _ym(cal.account_start).year + 1 < min_years:
            raise _impossible(code, cal, f"fewer than {min_years} account years by as_of")
        hold_year = _printed_year(cal) if printed else None
        if hold_year is not None:
            if hold_year < _ym(cal.account_start).year:
                raise _impossible(code, cal, "the forms print no account year")
            latest_first_work = min(latest_first_work, YearMonth(hold_year, 12).index)
        _born_until(cal, latest_first_work, 0)

        @st.composite
        def build(draw: DrawFn) -> Worker:
            worker = draw(
                _clean_worker(
                    cal,
                    latest_first_work=latest_first_work,
                    min_account_years=min_years,
                    hold_year=hold_year,
                    bureau=bureau,
                )
            )
            return change(draw, cal, worker)

        return build()

    _WORKER_VIOLATORS[code] = builder


def _printed_year(cal: _Calendar) -> int | None:
    """The last year the forms print (``None``: the pack prints every year)."""
    return None if cal.print_until is None else _ym(cal.print_until).year


def _with_years(w: Worker, account: Sequence[AccountYear], added: Sequence[AccountYear]) -> Worker:
    """Set the account; years ``added`` go into the bureau's account too."""
    bureau = w.bureau
    if added and bureau is not None and bureau.account is not None:
        bureau = attrs.evolve(bureau, account=bureau.account + tuple(added))
    return attrs.evolve(w, account=tuple(account), bureau=bureau)


def _before_start(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    start = _ym(cal.account_start)
    account = list(w.account or ())
    first_years = [i for i, y in enumerate(account) if y.year == start.year]
    most = 12 - start.month + 1
    if first_years and most < 12 and draw(st.booleans()):
        i = first_years[0]
        account[i] = attrs.evolve(account[i], months=draw(st.integers(most + 1, 12)))
        return _with_years(w, account, ())
    # A year at least two before the start: the balance check skips it (its
    # previous year is absent) and it does not become the start year's previous.
    year = draw(st.integers(start.year - 12, start.year - 2))
    extra = AccountYear(
        year=year,
        months=draw(st.integers(1, 12)),
        base=draw(money(300, 5000)),
        personal=draw(money(0, 500)),
        employer_part=draw(money(0, 500)),
        interest=draw(money(0, 50)),
        balance=draw(money(0, 5000)),
    )
    account.insert(draw(st.integers(0, len(account))), extra)
    return _with_years(w, account, (extra,))


def _bad_months(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    account = list(w.account or ())
    i = draw(st.integers(0, len(account) - 1))
    too_many = (
        st.integers(13, 40) if account[i].year != _ym(cal.account_start).year else st.nothing()
    )
    account[i] = attrs.evolve(account[i], months=draw(st.integers(-12, 0) | too_many))
    return _with_years(w, account, ())


def _duplicate_year(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    account = list(w.account or ())
    i = draw(st.integers(0, len(account) - 1))
    copy = account[i]
    if draw(st.booleans()):
        copy = attrs.evolve(copy, balance=draw(money(0, 100000)), interest=draw(money(0, 500)))
    account.insert(draw(st.integers(i + 1, len(account))), copy)
    return _with_years(w, account, ())


def _bad_balance(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    account = list(w.account or ())
    years = {y.year for y in account}
    # The rule checks a year only after its previous one (never the first year).
    checked = [i for i, y in enumerate(account) if y.year - 1 in years]
    i = draw(st.sampled_from(checked))
    delta = Decimal(draw(st.integers(2, 100000))) / 100 * draw(st.sampled_from((1, -1)))
    account[i] = attrs.evolve(account[i], balance=Money(account[i].balance + delta))
    return _with_years(w, account, ())


def _not_in_bureau(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    assert w.bureau is not None
    assert w.bureau.account is not None
    assert w.account
    # A year the forms print: the bureau's lacking a later one is no finding.
    last = _printed_year(cal)
    missing = draw(st.sampled_from([y.year for y in w.account if last is None or y.year <= last]))
    bureau = attrs.evolve(w.bureau, account=tuple(y for y in w.bureau.account if y.year != missing))
    return attrs.evolve(w, bureau=bureau)


def _incomplete(draw: DrawFn, cal: _Calendar, w: Worker) -> Worker:
    which = draw(st.sampled_from(("history", "account", "both")))
    history = None if which != "account" else w.history
    account = None if which != "history" else w.account
    return attrs.evolve(w, history=history, account=account)


_account_violator("account.before-start", _before_start, min_years=0)
_account_violator("account.months", _bad_months, min_years=1)
_account_violator("account.duplicate-year", _duplicate_year, min_years=1)
_account_violator("account.balance", _bad_balance, min_years=2)
_account_violator(
    "account.not-in-bureau", _not_in_bureau, min_years=1, bureau="account", printed=True
)
_person_violator("collection.incomplete", _incomplete)


_EMPLOYER_CODES: dict[str, Callable[[], SearchStrategy[str]]] = {}


def _bad_employers(codes: Callable[[], SearchStrategy[str]]) -> SearchStrategy[Employer]:
    return st.builds(attrs.evolve, clean_employers(), credit_code=codes())


def _employer_violator(code: str, codes: Callable[[], SearchStrategy[str]]) -> None:
    _EMPLOYER_CODES[code] = codes

    def builder(cal: _Calendar) -> SearchStrategy[Dossier]:
        employer = _bad_employers(codes)

        @st.composite
        def build(draw: DrawFn) -> Dossier:
            return _dossier_of(draw, cal, employer=employer, min_workers=0, max_workers=3)

        return build()

    _DOSSIER_VIOLATORS[code] = builder


_employer_violator("employer.credit-code", _bad_credit_codes)
_employer_violator("employer.credit-code-org", _org_check_broken_codes)


@_dossier_violator("person.duplicate-id")
def _duplicate_id(cal: _Calendar) -> SearchStrategy[Dossier]:
    _born_until(cal, cal.as_of, 0)

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        dossier = _dossier_of(draw, cal, employer=clean_employers(), min_workers=1, max_workers=3)
        return attrs.evolve(dossier, workers=_with_a_copy(draw, dossier.workers))

    return build()


def _with_a_copy(draw: DrawFn, workers: Sequence[Worker]) -> tuple[Worker, ...]:
    """``workers`` with one of them again, later on (under another person number, maybe)."""
    everyone = list(workers)
    i = draw(st.integers(0, len(everyone) - 1))
    copy = attrs.evolve(everyone[i], person_no=draw(st.none() | _digits(11, 11)))
    if copy.bureau is not None:
        copy = attrs.evolve(copy, bureau=attrs.evolve(copy.bureau, person_no=copy.person_no))
    everyone.insert(draw(st.integers(i + 1, len(everyone))), copy)
    return tuple(everyone)


#: Worker-scope codes :func:`violating_workers` has a strategy for.
WORKER_CODES: frozenset[str] = frozenset(_WORKER_VIOLATORS)
#: Dossier-scope codes only :func:`violating_dossiers` has a strategy for.
DOSSIER_CODES: frozenset[str] = frozenset(_DOSSIER_VIOLATORS)


def violating_workers(
    code: str, *, as_of: YearMonth | str = DEFAULT_AS_OF, pack: RulePack | str | None = None
) -> SearchStrategy[Worker]:
    """Workers on which ``pack`` at ``as_of`` reports ``code`` and nothing else.

    ``code`` is one of :data:`WORKER_CODES`. Check the worker in a dossier
    whose ``as_of`` is the same month, with the same pack (or use
    :func:`violating_dossiers`). Every finding about the worker then has
    this code (a few codes come twice: an altered balance also breaks the
    next year's). Raises :class:`ValueError` for a code without a strategy,
    or when nothing can break the rule at ``as_of`` -- ``history.rate-reference``
    needs a pack with a reference rate table (:func:`with_rate_reference`).
    """
    if code not in _WORKER_VIOLATORS:
        hint = " (a dossier-scope code: use violating_dossiers)" if code in DOSSIER_CODES else ""
        raise ValueError(f"no violator strategy for {code!r}{hint}")
    return _WORKER_VIOLATORS[code](_calendar(pack, as_of))


def violating_dossiers(
    code: str, *, as_of: YearMonth | str = DEFAULT_AS_OF, pack: RulePack | str | None = None
) -> SearchStrategy[Dossier]:
    """Dossiers on which ``pack`` reports ``code`` and nothing else.

    Every code of :data:`WORKER_CODES` and :data:`DOSSIER_CODES`: for a
    worker-scope code, one violating worker among clean ones (identity
    numbers distinct); for an employer code, a clean dossier with a broken
    credit code; for ``person.duplicate-id``, a clean dossier where a worker
    appears twice. ``as_of`` is set on the dossier.
    """
    cal = _calendar(pack, as_of)
    if code in _DOSSIER_VIOLATORS:
        return _DOSSIER_VIOLATORS[code](cal)
    if code not in _WORKER_VIOLATORS:
        raise ValueError(f"no violator strategy for {code!r}")
    violators = _WORKER_VIOLATORS[code](cal)

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        violator = draw(violators)
        return _dossier_of(
            draw,
            cal,
            employer=clean_employers(),
            special=(violator,),
            min_workers=0,
            max_workers=3,
        )

    return build()


def with_rate_reference(
    bands: Iterable[RateBand | tuple[YearMonth | str, YearMonth | str, Decimal | str]],
    *,
    pack: RulePack | str | None = None,
    since: YearMonth | str = FIRST_MONTH,
    source: str = "configured for tests",
) -> RulePack:
    """A copy of ``pack`` (default ``weihai-2013``) whose ``individual_rate_reference``
    table holds ``bands`` from ``since`` on, so rule ``history.rate-reference`` runs.

    A band is a :class:`~pension_collect.rules.RateBand` or a ``(start, end,
    rate)`` tuple such as ``("1993-01", "1996-03", "0.03")``. Needs no
    hypothesis; the other parameters are unchanged.
    """
    base = _resolve_pack(pack)
    table: list[RateBand] = []
    for band in bands:
        if isinstance(band, RateBand):
            table.append(band)
        else:
            start, end, rate = band
            table.append(
                RateBand(
                    _as_ym(start, "start"),
                    _as_ym(end, "end"),
                    _as_decimal(rate, "rate"),
                )
            )
    value = DatedValue(
        since=_as_ym(since, "since"),
        value=tuple(sorted(table, key=lambda b: b.start)),
        source=source,
        confidence=Confidence.UNKNOWN,
    )
    params: Mapping[str, Parameter] = base.parameters.parameters
    old = params.get("individual_rate_reference")
    parameter = Parameter(
        name="individual_rate_reference",
        description=old.description if old is not None else "individual rate reference table",
        type="rate_table",
        values=(value,),
    )
    parameters = attrs.evolve(
        base.parameters, parameters={**params, "individual_rate_reference": parameter}
    )
    return attrs.evolve(base, parameters=parameters)


def every_violation_dossiers(
    *, as_of: YearMonth | str = DEFAULT_AS_OF, pack: RulePack | str | None = None
) -> SearchStrategy[Dossier]:
    """Dossiers on which ``pack`` at ``as_of`` reports every code it can at once.

    One :func:`violating_workers` worker for each code of :data:`WORKER_CODES`
    that can be broken at ``as_of`` (``history.rate-reference`` only with a
    reference table, see :func:`with_rate_reference`), in random order; a
    copy of one of them further on (``person.duplicate-id``); an employer
    whose credit code is broken in one of the two ways
    (``employer.credit-code`` or ``employer.credit-code-org``: one employer
    cannot break both). ``as_of`` is set, ``rule_pack`` absent or the
    pack's name. Each worker's findings are its own code's, plus
    ``person.duplicate-id`` on the copy. About as costly to draw as thirty
    clean workers: mix it in (``dossiers(mix_in=...)``) rather than draw
    it every time.
    """
    cal = _calendar(pack, as_of)
    _born_until(cal, cal.as_of, 0)
    violators: list[SearchStrategy[Worker]] = []
    for builder in _WORKER_VIOLATORS.values():
        try:
            violators.append(builder(cal))
        except ValueError:
            continue  # this code cannot be broken at as_of (or by this pack)
    # Each employer code half the time (a one_of of the two code strategies
    # would flatten into five equal branches, one of them the second code).
    # The simplest dossier breaks the organization check: arbitrary employers
    # (models.employers) break the credit code itself far more often.
    employers = [
        _bad_employers(_EMPLOYER_CODES[code])
        for code in ("employer.credit-code-org", "employer.credit-code")
    ]

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        special = [draw(strategy) for strategy in violators]
        employer = _one_of(draw, employers)
        dossier = _dossier_of(
            draw, cal, employer=employer, special=special, min_workers=0, max_workers=0
        )
        return attrs.evolve(dossier, workers=_with_a_copy(draw, dossier.workers))

    return build()
