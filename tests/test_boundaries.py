"""Every boundary month of the procedure sheet, pinned on both sides.

For each month where the ``weihai-2013`` pack's answer changes (docs/rules.md;
procedure [P3.3b], [P3.3c], [P3.4a]-[P3.4e]; the 16th birthday of the Labour
Law), one example on each side of it, so that a change moving the boundary by
one month in either direction fails a test:

=====================  ==============================  ===========================
boundary               last month of one side          first month of the other
=====================  ==============================  ===========================
upper box              1992-12 upper (deemed/pre)      1993-01 lower (pre_account)
account start          1996-03 pre_account             1996-04 account / post_account
institution window     1979-12 outside, 1980-01 in     2010-12 in, 2011-01 outside
cross-city cutoff      2009-12 collected               2010-01 not collected
forms print until      2011 checked against bureau     2012 not checked
collection month       as_of                           as_of + 1 is the future
minimum working age    the 16th birthday's month       the month before it
first work             a period from first work        one starting a month earlier
=====================  ==============================  ===========================

The expected codes, boxes and categories are the sheet's, written out here;
nothing is computed by the code under test.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from pension_collect.model import (
    AccountYear,
    BureauRecord,
    Dossier,
    Employer,
    EmployerKind,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from pension_collect.rules import Report, check
from pension_collect.rules.weihai2013 import default_pack

PACK = default_pack()
TODAY = datetime.date(2013, 8, 31)
AS_OF = YearMonth(2013, 8)
EMPLOYER = Employer(unit_no="10012345", name="威海示例机械有限公司")
#: GB 11643's own example number: a woman born 1949-12-31 (16 in 1965-12).
ID_NUMBER = "11010519491231002X"
FIRST_WORK = YearMonth(1966, 1)
INSTITUTION = {"employer_kind": EmployerKind.INSTITUTION, "remark": "机关事业缴费"}
TRANSFER = {"source": Source.TRANSFER_IN, "origin": Origin.LOCAL}


def ym(text: str) -> YearMonth:
    return YearMonth.parse(text)


def seg(start: str, end: str, total: str | None = "0", **fields: Any) -> Segment:
    """A history segment (an enterprise handbook period unless ``fields`` say otherwise)."""
    amount = None if total is None else Decimal(total)
    return Segment(start=ym(start), end=ym(end), total=amount, **fields)


def year(number: int, months: int = 12) -> AccountYear:
    """An account year; one year alone is never checked for its balance."""
    money = Decimal("100.00")
    return AccountYear(
        year=number,
        months=months,
        base=money,
        personal=money,
        employer_part=money,
        interest=Decimal("0.00"),
        balance=Decimal("200.00"),
    )


def run(
    *history: Segment,
    account: tuple[AccountYear, ...] = (),
    as_of: YearMonth = AS_OF,
    **changes: Any,
) -> Report:
    """Check one worker (no bureau block unless given) at ``as_of``."""
    fields: dict[str, Any] = {
        "id_number": ID_NUMBER,
        "name": "王芳",
        "first_work": FIRST_WORK,
        "history": history,
        "account": account,
    }
    fields.update(changes)
    dossier = Dossier(employer=EMPLOYER, workers=(Worker(**fields),), as_of=as_of)
    return check(dossier, pack=PACK, today=TODAY)


#: (segment, codes, box, category) for history segments on each side of a boundary.
SEGMENT_CASES = {
    # [P3.4a] the upper box: periods up to and including 1992-12.
    "enterprise to 1992-12, total 0: upper, deemed": (
        seg("1992-12", "1992-12", "0"),
        set(),
        "upper",
        "deemed",
    ),
    "enterprise to 1992-12 with an amount: upper, pre_account": (
        seg("1992-12", "1992-12", "5.00"),
        set(),
        "upper",
        "pre_account",
    ),
    "enterprise from 1993-01, total 0: lower, pre_account": (
        seg("1993-01", "1993-01", "0"),
        set(),
        "lower",
        "pre_account",
    ),
    "enterprise to 1992-12 without a total: total required": (
        seg("1992-12", "1992-12", None),
        {"history.total-required"},
        "upper",
        None,
    ),
    "enterprise from 1993-01 without a total: none required": (
        seg("1993-01", "1993-01", None),
        set(),
        "lower",
        "pre_account",
    ),
    "enterprise 1992-12..1993-01 crosses the box": (
        seg("1992-12", "1993-01"),
        {"history.crosses-box"},
        None,
        None,
    ),
    "enterprise 1992-11..1992-12 crosses nothing": (
        seg("1992-11", "1992-12"),
        set(),
        "upper",
        "deemed",
    ),
    "enterprise 1993-01..1993-02 crosses nothing": (
        seg("1993-01", "1993-02"),
        set(),
        "lower",
        "pre_account",
    ),
    # [P3.4b], [P3.4c], [P3.4e] the individual account from 1996-04.
    "enterprise to 1996-03: lower, pre_account": (
        seg("1996-03", "1996-03"),
        set(),
        "lower",
        "pre_account",
    ),
    "enterprise from 1996-04: the pension account": (
        seg("1996-04", "1996-04"),
        {"history.enterprise-after-account-start"},
        None,
        None,
    ),
    "enterprise 1996-03..1996-04 crosses the account start": (
        seg("1996-03", "1996-04"),
        {"history.crosses-account-start"},
        None,
        None,
    ),
    "transfer to 1996-03: pre_account": (
        seg("1996-03", "1996-03", **TRANSFER),
        set(),
        "lower",
        "pre_account",
    ),
    "transfer from 1996-04: post_account": (
        seg("1996-04", "1996-04", **TRANSFER),
        set(),
        "lower",
        "post_account",
    ),
    "transfer 1996-03..1996-04 crosses the account start": (
        seg("1996-03", "1996-04", **TRANSFER),
        {"history.crosses-account-start"},
        "lower",
        None,
    ),
    "transfer 1992-12..1993-01 crosses no box": (
        seg("1992-12", "1993-01", **TRANSFER),
        set(),
        "lower",
        "pre_account",
    ),
    # [P3.4b] government/institution periods 1980-01..2010-12, always pre_account.
    "institution in 1979-12: outside the window": (
        seg("1979-12", "1979-12", **INSTITUTION),
        {"history.institution-range"},
        "lower",
        "pre_account",
    ),
    "institution in 1980-01: inside the window": (
        seg("1980-01", "1980-01", **INSTITUTION),
        set(),
        "lower",
        "pre_account",
    ),
    "institution in 2010-12: inside the window": (
        seg("2010-12", "2010-12", **INSTITUTION),
        set(),
        "lower",
        "pre_account",
    ),
    "institution in 2011-01: outside the window": (
        seg("2011-01", "2011-01", **INSTITUTION),
        {"history.institution-range"},
        "lower",
        "pre_account",
    ),
    "institution 1992-12..1996-04 keeps one category": (
        seg("1992-12", "1996-04", **INSTITUTION),
        set(),
        "lower",
        "pre_account",
    ),
    # [P3.3c] cross-city transfers done from 2010-01 on are not collected.
    "cross-city transfer done 2009-12: collected": (
        seg(
            "2005-01",
            "2005-12",
            source=Source.TRANSFER_IN,
            origin=Origin.OTHER_CITY,
            transferred_on=ym("2009-12"),
        ),
        set(),
        "lower",
        "post_account",
    ),
    "cross-city transfer done 2010-01: not collected": (
        seg(
            "2005-01",
            "2005-12",
            source=Source.TRANSFER_IN,
            origin=Origin.OTHER_CITY,
            transferred_on=ym("2010-01"),
        ),
        {"history.cross-city-transfer-after-2010"},
        "lower",
        "post_account",
    ),
    # The collection month: a period may end in it, not after it.
    "a period ending in the collection month 2013-08": (
        seg("2013-01", "2013-08", **TRANSFER),
        set(),
        "lower",
        "post_account",
    ),
    "a period ending 2013-09, after the collection month": (
        seg("2013-01", "2013-09", **TRANSFER),
        {"history.future"},
        "lower",
        "post_account",
    ),
    # First work: a period may start in its month, not before.
    "a period from the first-work month 1966-01": (
        seg("1966-01", "1966-12"),
        set(),
        "upper",
        "deemed",
    ),
    "a period from 1965-12, before first work": (
        seg("1965-12", "1966-12"),
        {"history.before-first-work"},
        "upper",
        "deemed",
    ),
}


@pytest.mark.parametrize("case", list(SEGMENT_CASES))
def test_segment_on_each_side_of_a_boundary(case: str) -> None:
    """The codes, box and category of a segment next to a boundary month."""
    segment, codes, box, category = SEGMENT_CASES[case]
    report = run(segment)
    assert report.codes() == codes
    (line,) = report.segments
    assert (line.box, line.category) == (box, category)


@pytest.mark.parametrize(
    ("as_of", "end", "codes"),
    [
        ("2011-05", "2011-05", set()),
        ("2011-05", "2011-06", {"history.future"}),
        ("2013-08", "2013-08", set()),
        ("2013-08", "2013-09", {"history.future"}),
    ],
)
def test_the_collection_month_is_the_dossiers(as_of: str, end: str, codes: set[str]) -> None:
    """history.future starts the month after the dossier's as_of, whatever it is."""
    report = run(seg("2005-01", end, **TRANSFER), as_of=ym(as_of))
    assert report.codes() == codes


@pytest.mark.parametrize(
    ("account", "codes"),
    [
        ((year(1995),), {"account.before-start"}),
        ((year(1996, months=9),), set()),
        ((year(1996, months=10),), {"account.before-start"}),
        ((year(1997, months=12),), set()),
    ],
    ids=["1995", "1996 with 9 months", "1996 with 10 months", "1997 with 12 months"],
)
def test_the_account_starts_1996_04(account: tuple[AccountYear, ...], codes: set[str]) -> None:
    """[P3.4e] no account year before 1996, and 1996 holds April..December only."""
    assert run(account=account).codes() == codes


@pytest.mark.parametrize(
    ("number", "codes"),
    [(2011, {"account.not-in-bureau"}), (2012, set())],
)
def test_the_forms_print_up_to_2011(number: int, codes: set[str]) -> None:
    """[P3.3b] a handbook year the bureau lacks is un-settled only up to 2011, the
    forms' last year."""
    bureau = BureauRecord(account=())
    assert run(account=(year(number),), bureau=bureau).codes() == codes


@pytest.mark.parametrize(
    ("first_work", "codes"),
    [("1965-11", {"person.first-work-age"}), ("1965-12", set())],
)
def test_first_work_from_the_16th_birthday_month(first_work: str, codes: set[str]) -> None:
    """Born 1949-12-31: 16 in 1965-12, so first work 1965-11 is too early."""
    assert run(first_work=ym(first_work)).codes() == codes
