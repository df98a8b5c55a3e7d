"""Shape-valid, arbitrary values of every model class.

"Shape-valid" means what :func:`pension_collect.dossier.loads` can produce:
every value survives ``dumps`` then ``loads``. The *domain* content is
arbitrary: a segment may end before it starts, an identity number may be
junk, a worker may break any rule.
"""

from __future__ import annotations

import datetime as _dt

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from ...identity import canonical_id
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
)
from ._base import (
    _EMPLOYER_NAMES,
    _ETHNICITIES,
    _INSTITUTION_REMARKS,
    _as_ym,
    _strategy,
)
from .scalars import (
    _any_identity_text,
    _bad_credit_codes,
    _digits,
    _nonblank_text,
    _org_check_broken_codes,
    _person_names,
    _text,
    credit_codes,
    identity_numbers,
    money,
    rates,
    year_months,
)

__all__ = [
    "account_years",
    "bureau_records",
    "dossiers",
    "employers",
    "id_key",
    "segments",
    "workers",
]

_SEGMENTS_FROM = YearMonth(1950, 1)
_SEGMENTS_UNTIL = YearMonth(2020, 12)


def id_key(worker: Worker) -> str:
    """The key under which rule ``person.duplicate-id`` compares workers:
    :func:`pension_collect.identity.canonical_id` of the identity number.

    The 18-character form of an identity number (so a legacy 15-digit number
    and its 18-digit form are the same person), else the text cleaned of
    spaces and upper-cased. Use it as ``unique_by`` when you build lists of
    workers yourself.
    """
    return canonical_id(worker.id_number)


def employers() -> SearchStrategy[Employer]:
    """Shape-valid employers; the credit code may be absent, valid, broken or any text."""
    return st.builds(
        Employer,
        unit_no=_digits(8, 8) | _nonblank_text(),
        name=st.sampled_from(_EMPLOYER_NAMES) | _nonblank_text(),
        credit_code=st.none()
        | credit_codes()
        | _bad_credit_codes()
        | _org_check_broken_codes()
        | _text(max_size=20),
        legal_representative=st.none() | _person_names(),
        address=st.none() | _text(max_size=30),
        contact=st.none() | _person_names(),
        phone=st.none() | _digits(7, 12),
    )


_BOUNDARY_MONTHS = tuple(
    YearMonth.parse(m)
    for m in (
        "1979-12",
        "1980-01",
        "1992-12",
        "1993-01",
        "1996-03",
        "1996-04",
        "2009-12",
        "2010-01",
        "2010-12",
        "2011-01",
    )
)


def _segment_months(min_month: YearMonth, max_month: YearMonth) -> SearchStrategy[YearMonth]:
    near = [m for m in _BOUNDARY_MONTHS if min_month <= m <= max_month]
    months = year_months(min_month, max_month)
    return st.sampled_from(near) | months if near else months


def segments(
    *,
    min_month: YearMonth | str = _SEGMENTS_FROM,
    max_month: YearMonth | str = _SEGMENTS_UNTIL,
) -> SearchStrategy[Segment]:
    """Shape-valid history segments, arbitrary in content (they may break any rule).

    Months lie in ``min_month .. max_month`` (the pack's boundary months are
    drawn often); start and end are independent; amounts may be negative or
    absent; every enum field takes any value.
    """
    lo, hi = _as_ym(min_month, "min_month"), _as_ym(max_month, "max_month")
    months = _segment_months(lo, hi)
    return st.builds(
        Segment,
        start=months,
        end=months,
        total=st.none() | money(-1000, 100000),
        base=st.none() | money(-100, 50000),
        rate=st.none() | rates(0, 2),
        category=st.none() | st.sampled_from(Category),
        source=st.sampled_from(Source),
        employer_kind=st.sampled_from(EmployerKind),
        origin=st.none() | st.sampled_from(Origin),
        transferred_on=st.none() | months,
        employer_name=st.none() | st.sampled_from(_EMPLOYER_NAMES) | _text(max_size=20),
        remark=st.none()
        | st.sampled_from((*_INSTITUTION_REMARKS, "机关", ""))
        | _text(max_size=20),
    )


#: Any whole number the dossier reader takes (at most 9 digits: docs/dossier.md "Limits").
_whole_numbers = st.integers(-999_999_999, 999_999_999)


def account_years() -> SearchStrategy[AccountYear]:
    """Shape-valid account years, arbitrary in content: any year (mostly
    1990..2015), months possibly outside 1..12, balances that need not add up."""
    return st.builds(
        AccountYear,
        year=st.integers(1990, 2015) | _whole_numbers,
        months=st.integers(1, 12) | _whole_numbers,
        base=money(0, 30000),
        personal=money(-100, 5000),
        employer_part=money(-100, 10000),
        interest=money(-100, 5000),
        balance=money(-1000, 1000000),
    )


def bureau_records() -> SearchStrategy[BureauRecord]:
    """Shape-valid bureau records (what a data sync returns), every field optional."""
    return st.builds(
        BureauRecord,
        person_no=st.none() | _digits(11, 11),
        id_number=st.none() | identity_numbers() | _any_identity_text(),
        name=st.none() | _person_names() | _text(max_size=10),
        gender=st.none() | st.sampled_from(Gender),
        birth_date=st.none() | st.dates(),
        ethnicity=st.none() | st.sampled_from(_ETHNICITIES),
        hukou=st.none() | st.sampled_from(Hukou),
        first_work=st.none() | year_months(YearMonth(1940, 1), YearMonth(2015, 12)),
        history=st.none() | st.lists(segments(), max_size=3).map(tuple),
        account=st.none() | st.lists(account_years(), max_size=3).map(tuple),
    )


def workers(
    *,
    history: SearchStrategy[Segment] | None = None,
    account: SearchStrategy[AccountYear] | None = None,
    max_segments: int = 5,
    max_account_years: int = 5,
) -> SearchStrategy[Worker]:
    """Shape-valid workers, arbitrary in content (they may break any rule).

    The identity number is valid, legacy, broken or any text; gender and
    birth date are absent or anything; ``history`` and ``account`` are
    absent (not collected) or lists of ``history`` / ``account`` items
    (default: :func:`segments` / :func:`account_years`); the bureau block is
    absent or any :func:`bureau_records`.
    """
    segment_items = history if history is not None else segments()
    year_items = account if account is not None else account_years()
    return st.builds(
        Worker,
        id_number=_any_identity_text(),
        name=_person_names() | _nonblank_text(10),
        first_work=_segment_months(YearMonth(1940, 1), YearMonth(2015, 12)),
        person_no=st.none() | _digits(11, 11),
        gender=st.none() | st.sampled_from(Gender),
        birth_date=st.none() | st.dates(_dt.date(1900, 1, 1), _dt.date(2020, 12, 31)),
        ethnicity=st.none() | st.sampled_from(_ETHNICITIES),
        hukou=st.none() | st.sampled_from(Hukou),
        history=st.none() | st.lists(segment_items, max_size=max_segments).map(tuple),
        account=st.none() | st.lists(year_items, max_size=max_account_years).map(tuple),
        bureau=st.none() | bureau_records(),
    )


_arbitrary_workers = workers
_arbitrary_employers = employers


def dossiers(
    workers: SearchStrategy[Worker] | None = None,
    *,
    employers: SearchStrategy[Employer] | None = None,
    min_workers: int = 0,
    max_workers: int = 4,
    as_of: SearchStrategy[YearMonth | None] | YearMonth | None = None,
    rule_pack: SearchStrategy[str | None] | str | None = None,
    mix_in: SearchStrategy[Dossier] | None = None,
) -> SearchStrategy[Dossier]:
    """Shape-valid dossiers of ``min_workers .. max_workers`` workers.

    ``workers`` and ``employers`` default to the arbitrary :func:`workers`
    and :func:`employers` (pass :func:`clean_workers` to get dossiers of
    clean workers; see also :func:`clean_dossiers`). ``as_of`` and
    ``rule_pack`` are values or strategies; left at ``None``, ``as_of`` is
    absent or a month of 1990..2020 and ``rule_pack`` absent or
    ``"weihai-2013"`` (pass ``st.none()`` for "always absent").
    Identity numbers are not made unique (rule ``person.duplicate-id`` may
    fire).

    ``mix_in`` is drawn from instead in the simplest example (the one
    hypothesis runs first) and in about one other example in eight:
    ``dossiers(mix_in=every_violation_dossiers())`` shows a property every
    code of the pack in its first example. Its dossiers are not bounded by
    ``min_workers``/``max_workers``.
    """
    if mix_in is not None and not isinstance(mix_in, SearchStrategy):
        raise TypeError("mix_in must be a hypothesis strategy of dossiers")
    worker_items = workers if workers is not None else _arbitrary_workers()
    employer_items = employers if employers is not None else _arbitrary_employers()
    as_of_items: SearchStrategy[YearMonth | None] = (
        st.none() | year_months(YearMonth(1990, 1), YearMonth(2020, 12))
        if as_of is None
        else _strategy(as_of)
    )
    pack_items: SearchStrategy[str | None] = (
        st.none() | st.just("weihai-2013") if rule_pack is None else _strategy(rule_pack)
    )
    arbitrary = st.builds(
        Dossier,
        employer=employer_items,
        workers=st.lists(worker_items, min_size=min_workers, max_size=max_workers).map(tuple),
        rule_pack=pack_items,
        as_of=as_of_items,
    )
    return arbitrary if mix_in is None else _mixed(arbitrary, mix_in)


_EIGHTHS = st.integers(0, 7)


@st.composite
def _mixed(draw: DrawFn, usual: SearchStrategy[Dossier], rare: SearchStrategy[Dossier]) -> Dossier:
    """``rare`` in the simplest example and one time in eight, else ``usual``."""
    return draw(rare) if draw(_EIGHTHS) == 0 else draw(usual)
