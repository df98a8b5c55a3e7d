"""Clean data: employers, workers and dossiers on which the pack reports nothing.

Built constructively from the pack's dated parameters at the collection
month (:mod:`._calendar`), not filtered, so generating them is fast.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from ...model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    Employer,
    EmployerKind,
    Gender,
    Hukou,
    Money,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from ...rules.pack import RulePack
from ._base import (
    _BOOLEANS,
    _EMPLOYER_NAMES,
    _ETHNICITIES,
    _INSTITUTION_REMARKS,
    INSTITUTION_REMARK,
    _cents,
    _last_day,
    _maybe,
    _none_or,
    _none_or_one_of,
    _one_of,
    _ym,
)
from ._calendar import (
    _ENT,
    _INS,
    _KINDS,
    _TRA,
    Option,
    _Calendar,
    _calendar,
    _derived,
    _legal_pieces,
    _subtract,
)
from .models import id_key
from .scalars import (
    BORN_FROM,
    BORN_UNTIL,
    _areas,
    _digits,
    _id_number,
    _person_names,
    credit_codes,
    money,
    rates,
)

__all__ = [
    "DEFAULT_AS_OF",
    "INSTITUTION_REMARK",
    "clean_dossiers",
    "clean_employers",
    "clean_workers",
]

#: The collection month clean data and violators are made for by default.
DEFAULT_AS_OF = YearMonth(2013, 8)


def clean_employers() -> SearchStrategy[Employer]:
    """Employers the pack accepts: the credit code is absent or valid."""
    return st.builds(
        Employer,
        unit_no=_digits(8, 8),
        name=st.sampled_from(_EMPLOYER_NAMES),
        credit_code=st.none() | credit_codes(),
        legal_representative=st.none() | _person_names(),
        address=st.none() | st.just("山东省威海市环翠区示例路1号"),
        contact=st.none() | _person_names(),
        phone=st.none() | st.just("0631-5200000"),
    )


# Strategies the clean-data draws reuse (built once).
_CATEGORIES = tuple(Category)
_HUKOU = tuple(Hukou)
_ZERO = money(0, 0)
_TOTALS = money(0, 20000)
_POSITIVE_TOTALS = money("0.01", 20000)
_BASES = money(100, 20000)
_SEGMENT_RATES = rates(0, Decimal("0.2"), places=3)
_AREAS = _areas()
_PERSON_NAMES = _person_names()
_RAW_PERIODS = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 240), st.sampled_from(_KINDS)), max_size=4
)


def _table_rates(cal: _Calendar, start: int, end: int) -> set[Decimal]:
    return {b.rate for b in cal.rate_table if b.start.index <= end and start <= b.end.index}


def _draw_rate(draw: DrawFn, cal: _Calendar, kind: str, start: int, end: int) -> Decimal | None:
    in_lower_box = not (kind == _ENT and end <= cal.upper_last)
    if in_lower_box and cal.rate_table:
        reference = _table_rates(cal, start, end)
        if len(reference) > 1:
            return None
        if len(reference) == 1:
            return _maybe(draw, next(iter(reference)))
    return _none_or(draw, _SEGMENT_RATES)


def _draw_transfer_fields(
    draw: DrawFn, cal: _Calendar, end: int
) -> tuple[Origin, YearMonth | None]:
    # A cross-city transfer is collected only when it was done before the
    # cutoff; a transfer is done after the period it moves.
    last_other = min(cal.cutoff - 1, max(end, cal.as_of))
    if end <= last_other and draw(_BOOLEANS):
        return Origin.OTHER_CITY, _ym(draw(st.integers(end, last_other)))
    done = _maybe(draw, _ym(draw(st.integers(end, max(end, cal.as_of)))))
    return Origin.LOCAL, done


def _draw_segment(
    draw: DrawFn, cal: _Calendar, kind: str, start: int, end: int, *, placed: bool = True
) -> Segment:
    """A segment of ``kind`` over ``start .. end`` that breaks no rule by itself.

    ``placed=False`` is for periods the table gives no category (crossing a
    boundary, or in the pension account): any category may then be given
    and no total is required.
    """
    upper = kind == _ENT and end <= cal.upper_last and placed
    if upper:
        total: Money | None = draw(_ZERO if draw(_BOOLEANS) else _POSITIVE_TOTALS)
    else:
        total = _none_or(draw, _TOTALS)
    source = Source.HANDBOOK
    origin: Origin | None = None
    transferred_on: YearMonth | None = None
    if kind == _TRA:
        source = Source.TRANSFER_IN
        origin, transferred_on = _draw_transfer_fields(draw, cal, end)
    elif kind == _ENT and not upper:
        source = _one_of(draw, (Source.HANDBOOK, Source.RED_BOOK))
    category: Category | None
    if placed:
        derived = _derived(cal, kind, end, total)
        category = _maybe(draw, derived) if derived is not None else None
        rate = _draw_rate(draw, cal, kind, start, end)
    else:
        category = _none_or_one_of(draw, _CATEGORIES)
        rate = _none_or(draw, _SEGMENT_RATES)
    remark: str | None
    if kind == _INS:
        remark = _one_of(draw, _INSTITUTION_REMARKS)
    else:
        remark = _none_or_one_of(draw, ("补缴", "学徒期", ""))
    return Segment(
        start=_ym(start),
        end=_ym(end),
        total=total,
        base=_none_or(draw, _BASES),
        rate=rate,
        category=category,
        source=source,
        employer_kind=EmployerKind.INSTITUTION if kind == _INS else EmployerKind.ENTERPRISE,
        origin=origin,
        transferred_on=transferred_on,
        employer_name=_none_or_one_of(draw, _EMPLOYER_NAMES),
        remark=remark,
    )


def _draw_history(
    draw: DrawFn, cal: _Calendar, first_work: int, reserved: Sequence[tuple[int, int]]
) -> list[Segment]:
    raw = draw(_RAW_PERIODS)
    pieces: list[Option] = []
    cursor = first_work
    for gap, length, kind in raw:
        start = cursor + gap
        if start > cal.as_of:
            break
        end = min(start + length - 1, cal.as_of)
        cursor = end + 1
        for a, b in _subtract((start, end), reserved):
            pieces.extend(_legal_pieces(cal, kind, a, b))
    history = [_draw_segment(draw, cal, kind, a, b) for kind, a, b in pieces]
    if len(history) > 1 and draw(_BOOLEANS):
        history = list(draw(st.permutations(history)))
    return history


def _draw_account_run(
    draw: DrawFn, cal: _Calendar, first_work: int, min_years: int, hold_year: int | None = None
) -> list[AccountYear]:
    """Consecutive account years whose balances add up (rule account.balance),
    starting by ``hold_year`` when it is given."""
    if cal.as_of < cal.account_start:
        return []
    start = _ym(cal.account_start)
    last_year = _ym(cal.as_of).year
    first_year = max(start.year, _ym(first_work).year)
    if last_year - first_year + 1 < max(min_years, 1):
        return []
    latest_year0 = last_year - max(min_years, 1) + 1
    if hold_year is not None:
        latest_year0 = min(latest_year0, hold_year)
    year0 = draw(st.integers(first_year, latest_year0))
    count = draw(st.integers(min_years, last_year - year0 + 1))
    personal_rate = Decimal(draw(st.integers(3, 8))) / 100
    employer_rate = Decimal(draw(st.integers(3, 11))) / 100
    interest_rate = Decimal(draw(st.integers(0, 60))) / 1000
    balance = Decimal(0) if year0 == start.year else Decimal(draw(st.integers(0, 5000000))) / 100
    # One draw per year (its months); the base grows by a drawn yearly rate.
    base0 = Decimal(draw(st.integers(300, 5000)))
    growth = 1 + Decimal(draw(st.integers(0, 15))) / 100
    out: list[AccountYear] = []
    # Full years, except the first (when it is the account's first year) and
    # at most one other year with fewer months (joined or left mid-year).
    short_year = year0 + draw(st.integers(0, count)) if count else year0
    for year in range(year0, year0 + count):
        most = 12 - start.month + 1 if year == start.year else 12
        months = draw(st.integers(1, most)) if year in (start.year, short_year) else most
        base = _cents(base0 * growth ** (year - year0))
        personal = _cents(base * months * personal_rate)
        employer_part = _cents(base * months * employer_rate)
        interest = _cents(balance * interest_rate)
        balance = balance + personal + employer_part + interest
        out.append(
            AccountYear(
                year=year,
                months=months,
                base=Money(base),
                personal=Money(personal),
                employer_part=Money(employer_part),
                interest=Money(interest),
                balance=Money(balance),
            )
        )
    return out


BureauMode = Literal["any", "none", "account"]


def _born_until(cal: _Calendar, latest_first_work: int, gap: int) -> _dt.date:
    """Latest birth date that leaves a legal first-work month <= ``latest_first_work``."""
    birth_index = latest_first_work - gap - 12 * cal.min_age
    if birth_index < YearMonth.of(BORN_FROM).index:
        raise ValueError(
            f"no clean worker can start work by {_ym(latest_first_work)}: the earliest "
            f"birth date is {BORN_FROM} and the minimum working age {cal.min_age}"
        )
    return min(BORN_UNTIL, _last_day(_ym(birth_index)))


@st.composite
def _clean_worker(
    draw: DrawFn,
    cal: _Calendar,
    *,
    latest_first_work: int | None = None,
    first_work_gap: int = 0,
    reserved: Sequence[tuple[int, int]] = (),
    min_account_years: int = 0,
    hold_year: int | None = None,
    bureau: BureauMode = "any",
) -> Worker:
    # hold_year (with min_account_years >= 1 and a first work by its December):
    # the collected account holds a year up to it.
    latest = cal.as_of if latest_first_work is None else min(latest_first_work, cal.as_of)
    born_until = _born_until(cal, latest, first_work_gap)
    area = draw(_AREAS)
    born = _dt.date.fromordinal(draw(st.integers(BORN_FROM.toordinal(), born_until.toordinal())))
    seq = draw(st.integers(0, 999))
    id_number = _id_number(area, born, seq, legacy=False)
    gender = Gender.MALE if seq % 2 else Gender.FEMALE
    earliest = cal.bday(born) + first_work_gap
    first_work = earliest + draw(st.integers(0, max(0, latest - earliest)))
    name = draw(_PERSON_NAMES)
    history = _draw_history(draw, cal, first_work, reserved)
    run = _draw_account_run(draw, cal, first_work, min_account_years, hold_year)
    latest_lo = max(0, len(run) - min_account_years)
    if hold_year is not None and run:
        latest_lo = min(latest_lo, hold_year - run[0].year)
    lo = draw(st.integers(0, latest_lo))
    hi = draw(st.integers(lo + min(min_account_years, len(run) - lo), len(run)))
    account = run[lo:hi]
    number = draw(st.integers(-1, 9999999))
    person_no = None if number < 0 else f"3710{number:07d}"

    record: BureauRecord | None = None
    mode = bureau if bureau != "any" else _one_of(draw, ("none", "some", "account"))
    if mode != "none":
        legacy_form = f"{id_number[:6]}{id_number[8:17]}"
        record = BureauRecord(
            person_no=person_no,
            id_number=_none_or_one_of(draw, (id_number, legacy_form)),
            name=_none_or_one_of(draw, (name, f" {name} ")),
            gender=_maybe(draw, gender),
            birth_date=_maybe(draw, born),
            first_work=_maybe(draw, _ym(first_work)),
            history=tuple(history[: draw(st.integers(0, len(history)))]),
            account=tuple(run) if mode == "account" else _maybe(draw, tuple(run)),
        )
    return Worker(
        id_number=id_number,
        name=name,
        first_work=_ym(first_work),
        person_no=person_no,
        gender=_maybe(draw, gender),
        birth_date=_maybe(draw, born),
        ethnicity=_none_or_one_of(draw, _ETHNICITIES),
        hukou=_none_or_one_of(draw, _HUKOU),
        history=tuple(history),
        account=tuple(account),
        bureau=record,
    )


def clean_workers(
    as_of: YearMonth | str = DEFAULT_AS_OF, *, pack: RulePack | str | None = None
) -> SearchStrategy[Worker]:
    """Workers on which ``pack`` (default ``weihai-2013``) reports nothing at ``as_of``.

    Built from the pack's parameters at ``as_of``: a valid 18-digit identity
    number (birth 1930..1995) with gender and birth date absent or equal to
    the number's; first work from the minimum-age birthday on; a history of
    non-overlapping periods after first work and up to ``as_of`` -- upper box
    enterprise periods up to the box's last month (total 0 = deemed, else
    pre-account), lower box enterprise periods (handbook or red book) up to
    the account start, institution periods inside the window with the remark
    机关事业缴费, transfers (cross-city ones done before the cutoff, with
    ``transferred_on``) -- each with its category absent or the derived one;
    consecutive account years from the account start with balances that add
    up (the first year holds at most the months from the account start);
    and a bureau block that is absent or agrees (same name and number, every
    collected account year present). With a reference rate table in the
    pack, lower-box rates agree with it.
    """
    cal = _calendar(pack, as_of)
    _born_until(cal, cal.as_of, 0)
    return _clean_worker(cal)


def _dossier_of(
    draw: DrawFn,
    cal: _Calendar,
    *,
    employer: SearchStrategy[Employer],
    special: Sequence[Worker] = (),
    min_workers: int,
    max_workers: int,
) -> Dossier:
    """Clean workers (unique identity numbers) with ``special`` ones inserted at random places."""
    taken = {id_key(w) for w in special}
    clean = draw(
        st.lists(_clean_worker(cal), min_size=min_workers, max_size=max_workers, unique_by=id_key)
    )
    everyone = [w for w in clean if id_key(w) not in taken]
    for worker in special:
        everyone.insert(draw(st.integers(0, len(everyone))), worker)
    name = cal.pack.name
    return Dossier(
        employer=draw(employer),
        workers=tuple(everyone),
        rule_pack=draw(st.none() | st.just(name)),
        as_of=_ym(cal.as_of),
    )


def clean_dossiers(
    as_of: YearMonth | str = DEFAULT_AS_OF,
    *,
    pack: RulePack | str | None = None,
    min_workers: int = 0,
    max_workers: int = 4,
) -> SearchStrategy[Dossier]:
    """Dossiers on which ``pack`` reports nothing: a :func:`clean_employers`
    employer, :func:`clean_workers` with distinct identity numbers, and
    ``as_of`` set. ``rule_pack`` is absent or the pack's name: check with
    ``check(dossier, pack=pack)`` when you pass a pack of your own."""
    cal = _calendar(pack, as_of)
    _born_until(cal, cal.as_of, 0)

    @st.composite
    def build(draw: DrawFn) -> Dossier:
        return _dossier_of(
            draw, cal, employer=clean_employers(), min_workers=min_workers, max_workers=max_workers
        )

    return build()
