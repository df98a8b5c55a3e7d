"""The fast paths of checking one worker (issue 15) against the slow ones they replace.

``check_worker`` takes the active rules and the parameter values at the month
from a plan made once per pack, month and date; ``account.balance`` and
``history.overlap`` skip their general algorithm in the common case. Each is
compared here with what it replaced, computed afresh: over collection months
drawn across every boundary of the sheet, and over generated accounts and
histories in and out of order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from pension_collect.model import AccountYear, Segment, Worker, YearMonth
from pension_collect.rules import ParameterSet, RateBand, RulePack, Scope, check_worker, engine
from pension_collect.rules.engine import Context, WorkerView
from pension_collect.rules.parameters import Confidence, DatedValue, Parameter
from pension_collect.rules.weihai2013 import (
    account_balance,
    account_before_start,
    account_months,
    make_pack,
    overlap,
)
from pension_collect.testing import strategies as S

TODAY = dt.date(2013, 8, 31)
PACK = make_pack()


def _with(pack: RulePack, name: str, *dated: tuple[str, Any]) -> RulePack:
    """``pack`` with parameter ``name`` replaced by the values ``(from, value)``."""
    old = pack.parameters.parameters[name]
    values = tuple(
        DatedValue(
            since=YearMonth.parse(since), value=v, source="test", confidence=Confidence.UNKNOWN
        )
        for since, v in dated
    )
    new = Parameter(name=name, description=old.description, type=old.type, values=values)
    return make_pack(ParameterSet({**pack.parameters.parameters, name: new}))


#: A reference-rate table in force from 2000-01 only: the rate rule is active
#: from that month on (it is inactive without a table).
TABLE_PACK = _with(
    PACK,
    "individual_rate_reference",
    ("1900-01", ()),
    ("2000-01", (RateBand(YearMonth(1993, 1), YearMonth(1996, 3), Decimal("0.03")),)),
)


def _boundaries(pack: RulePack) -> list[YearMonth]:
    """Every month where a parameter's value changes or that a value names,
    with the months either side."""
    months: set[YearMonth] = set()
    for parameter in pack.parameters.parameters.values():
        for dated in parameter.values:
            months.add(dated.since)
            values = dated.value if isinstance(dated.value, tuple) else (dated.value,)
            for value in values:
                if isinstance(value, YearMonth):
                    months.add(value)
                elif isinstance(value, RateBand):
                    months.update((value.start, value.end))
    return sorted({m.add(d) for m in months for d in (-1, 0, 1) if m.year > 1900})


BOUNDARY_MONTHS = sorted(set(_boundaries(PACK)) | set(_boundaries(TABLE_PACK)))
MONTHS = st.sampled_from(BOUNDARY_MONTHS) | S.year_months("1950-01", "2040-12")


class TestPlan:
    def test_the_boundaries_are_the_sheets(self) -> None:
        """The months drawn below include the sheet's boundaries (1992-12|1993-01,
        1996-03|1996-04, the reference table's first month)."""
        for text in ("1992-12", "1993-01", "1996-03", "1996-04", "1999-12", "2000-01"):
            assert YearMonth.parse(text) in BOUNDARY_MONTHS

    @given(st.sampled_from((PACK, TABLE_PACK)), MONTHS)
    def test_a_plan_equals_one_worked_out_afresh(self, pack: RulePack, as_of: YearMonth) -> None:
        """The cached active rules and parameter values are those of the pack at the month."""
        plan = engine._plan(pack, as_of, TODAY)
        params = pack.parameters
        active = [r for r in pack.rules if r.is_active(params, as_of)]
        assert [r for r, _ in plan.worker_only] == [r for r in active if r.scope is Scope.WORKER]
        assert [r for r, _ in plan.worker_checks] == [
            r for r in active if r.scope is not Scope.DOSSIER
        ]
        assert plan.dossier_rules == [r for r in active if r.scope is Scope.DOSSIER]
        assert all(check is rule.check for rule, check in plan.worker_checks)
        fresh = Context(pack=pack, as_of=as_of, today=TODAY)
        assert plan.context == fresh
        assert dict(plan.context.values) == {n: params.get(n, as_of) for n in params.parameters}
        assert engine._plan(pack, as_of, TODAY) is plan

    @given(MONTHS)
    def test_the_rate_rule_runs_only_where_a_table_is_in_force(self, as_of: YearMonth) -> None:
        """Active rules follow the month: the table pack's rate rule from 2000-01 on."""
        codes = [r.code for r, _ in engine._plan(TABLE_PACK, as_of, TODAY).worker_only]
        assert ("history.rate-reference" in codes) == (as_of >= YearMonth(2000, 1))
        assert "history.rate-reference" not in [
            r.code for r, _ in engine._plan(PACK, as_of, TODAY).worker_only
        ]

    def test_plans_are_bounded_and_follow_the_date(self) -> None:
        """At most 32 plans are kept; another date gets its own context."""
        for year in range(1990, 2030):
            engine._plan(PACK, YearMonth(year, 1), TODAY)
        assert len(engine._PLANS) <= 32
        later = engine._plan(PACK, YearMonth(2013, 8), dt.date(2014, 1, 1))
        assert later.context.today == dt.date(2014, 1, 1)

    def test_another_pack_at_the_same_month_is_checked_with_its_parameters(self) -> None:
        """No stale plan: a pack whose account starts 1998-01 finds the 1997
        year the bundled pack accepts, at the same month and date."""
        worker = _worker(account=(_year(1997, "100.00"),))
        as_of = YearMonth(2013, 8)
        assert _codes(check_worker(worker, pack=PACK, as_of=as_of, today=TODAY)) == []
        later = _with(PACK, "account_start", ("1900-01", YearMonth(1998, 1)))
        found = check_worker(worker, pack=later, as_of=as_of, today=TODAY)
        assert _codes(found) == ["account.before-start"]
        assert _codes(check_worker(worker, pack=PACK, as_of=as_of, today=TODAY)) == []


def _year(year: int, balance: str) -> AccountYear:
    """An account year adding 60.00 to the previous year's balance."""
    return AccountYear(
        year=year,
        months=12,
        base="500.00",
        personal="20.00",
        employer_part="30.00",
        interest="10.00",
        balance=balance,
    )


def _worker(
    *, account: tuple[AccountYear, ...] | None = None, history: tuple[Segment, ...] | None = None
) -> Worker:
    return Worker(
        id_number="371002198001010010",
        name="甲",
        first_work=YearMonth(1998, 1),
        history=history if history is not None else (),
        account=account if account is not None else (),
    )


def _codes(findings: Any) -> list[str]:
    return [f.code for f in findings]


def _view(worker: Worker, pack: RulePack = PACK) -> WorkerView:
    return WorkerView(worker, 4, Context(pack=pack, as_of=YearMonth(2013, 8), today=TODAY))


# -- the general algorithms, as they were before the fast paths ---------------------------


def _balance_hits_slow(view: WorkerView) -> Iterator[tuple[str, str]]:
    account = view.worker.account
    if not account:
        return
    by_year: dict[int, tuple[int, AccountYear]] = {}
    for i, y in enumerate(account):
        by_year.setdefault(y.year, (i, y))
    years = [y.year for y in account]
    if years == sorted(set(years)):
        pairs = list(zip(range(len(account)), account, (None, *account[:-1]), strict=True))
    else:
        pairs = [
            (i, y, by_year[y.year - 1][1] if y.year - 1 in by_year else None)
            for _year, (i, y) in sorted(by_year.items())
        ]
    for i, y, before in pairs:
        if before is None or before.year != y.year - 1:
            continue
        expected = before.balance + y.personal + y.employer_part + y.interest
        if expected != y.balance and abs(expected - y.balance) > Decimal("0.01"):
            yield view.account_path(i), format(expected, ".2f")


def _before_start_hits_slow(view: WorkerView) -> Iterator[tuple[str, str | None]]:
    start = view.context.param("account_start")
    first_months = 12 - start.month + 1
    for i, y in enumerate(view.worker.account or ()):
        if y.year < start.year or (y.year == start.year and y.months > first_months):
            yield view.account_path(i), "year" if y.year < start.year else "months"


def _months_hits_slow(view: WorkerView) -> Iterator[str]:
    for i, y in enumerate(view.worker.account or ()):
        if not 1 <= y.months <= 12:
            yield view.account_path(i)


def _overlap_hits_slow(view: WorkerView) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    history = view.worker.history or ()
    order = sorted(
        (i for i, s in enumerate(history) if s.start <= s.end),
        key=lambda i: (history[i].start, history[i].end, i),
    )
    reach = -1
    for j in order:
        sj = history[j]
        if reach >= 0 and history[reach].end >= sj.start:
            to = min(history[reach].end, sj.end)
            yield (
                view.segment_path(j),
                view.segment_path(reach),
                {"from": str(sj.start), "to": str(to), "other": reach + 1},
            )
        if reach < 0 or sj.end >= history[reach].end:
            reach = j


#: Years close together (runs, gaps, repeats, any order) with balances that
#: add up, are a cent off, or are anything.
_YEARS = st.integers(1995, 2001)
_AMOUNTS = st.sampled_from(["0.00", "60.00", "60.01", "59.99", "120.00", "-5.00", "1000.00"])


@st.composite
def _accounts(draw: st.DrawFn) -> tuple[AccountYear, ...]:
    n = draw(st.integers(0, 6))
    years = draw(st.lists(_YEARS, min_size=n, max_size=n))
    if draw(st.booleans()):
        years.sort()
    balance = Decimal(draw(_AMOUNTS))
    out = []
    for year in years:
        balance += Decimal(draw(_AMOUNTS))
        out.append(_year(year, format(balance, ".2f")) if draw(st.booleans()) else _year(year, "0"))
    if draw(st.booleans()):
        return tuple(out)
    return tuple(draw(st.permutations(out)))


#: Account starts in the years the accounts above hold, at any month, or anywhere.
_STARTS = st.builds(YearMonth, _YEARS, st.integers(1, 12)) | S.year_months()


class TestFastPathsFindWhatTheSlowOnesFind:
    @given(_accounts() | st.lists(S.account_years(), max_size=5).map(tuple))
    def test_account_balance(self, account: tuple[AccountYear, ...]) -> None:
        """In order or not, with gaps and repeated years: the same hits."""
        view = _view(_worker(account=account))
        hits = list(account_balance(view))
        assert [(h.path, h.expected) for h in hits] == list(_balance_hits_slow(view))
        for hit in hits:
            year = view.worker.account[int(hit.path.rsplit("[", 1)[1][:-1])].year  # type: ignore[index]
            assert hit.params["expected"] == hit.expected
            assert hit.params["year"] == (str(year) if abs(year) < 100_000 else hit.params["year"])

    @given(
        _accounts() | st.lists(S.account_years(), max_size=5).map(tuple),
        _STARTS,
        st.lists(st.integers(0, 13), min_size=6, max_size=6),
    )
    def test_account_before_start_and_months(
        self, account: tuple[AccountYear, ...], start: YearMonth, months: list[int]
    ) -> None:
        """Any account start (each month of its year), first years collected
        once, twice or not at all, months in and out of 1..12."""
        other = tuple(attrs.evolve(y, months=m) for y, m in zip(account, months, strict=False))
        for month in range(1, 13):
            pack = _with(PACK, "account_start", ("1900-01", YearMonth(start.year, month)))
            for w in (_worker(account=account), _worker(account=other)):
                view = _view(w, pack)
                got = [(h.path, h.field) for h in account_before_start(view)]
                assert got == list(_before_start_hits_slow(view))
                assert [h.path for h in account_months(view)] == list(_months_hits_slow(view))

    def test_account_balance_in_order_finds_a_wrong_year(self) -> None:
        """1997's balance should be 160.00 (100.00 + 60.00): 160.02 is found, 160.01 is not."""
        for balance, found in (("160.02", True), ("160.01", False), ("160.00", False)):
            account = (_year(1996, "100.00"), _year(1997, balance))
            hits = list(account_balance(_view(_worker(account=account))))
            assert [(h.path, h.expected) for h in hits] == (
                [("$.workers[4].account[1]", "160.00")] if found else []
            )

    @given(st.lists(S.segments(), max_size=5).map(tuple))
    def test_overlap(self, history: tuple[Segment, ...]) -> None:
        view = _view(_worker(history=history))
        got = [(h.path, h.related, h.params) for h in overlap(view)]
        assert got == list(_overlap_hits_slow(view))

    @given(st.lists(st.integers(0, 30), min_size=2, max_size=6))
    def test_overlap_of_lines_in_order(self, gaps: list[int]) -> None:
        """Lines in month order, touching (gap 0 overlaps a month) or apart."""
        month, history = YearMonth(1990, 1), []
        for gap in gaps:
            start = month.add(gap - 1)
            end = start.add(5)
            history.append(Segment(start=start, end=end, total="0"))
            month = end.add(1)
        view = _view(_worker(history=tuple(history)))
        got = [(h.path, h.related, h.params) for h in overlap(view)]
        assert got == list(_overlap_hits_slow(view))
        assert len(got) == sum(1 for gap in gaps[1:] if gap == 0)


def test_check_worker_on_the_example_shape_is_unchanged() -> None:
    """The example dossier's workers, each with a bureau record as save_worker
    attaches it (the benchmark's shape), give no finding."""
    from pension_collect.dossier import example_dossier_text, loads
    from pension_collect.model import BureauRecord

    dossier = loads(example_dossier_text())
    as_of = dossier.as_of
    assert as_of is not None
    for worker in dossier.workers:
        bureau = BureauRecord(
            id_number=worker.id_number,
            name=worker.name,
            history=worker.history,
            account=worker.account,
        )
        checked = attrs.evolve(worker, bureau=bureau)
        assert check_worker(checked, pack=PACK, as_of=as_of, today=TODAY) == []
