"""One-click fixes (pension_collect.rules.fixes): every fixable rule of
weihai-2013 by example, the refusals, and the property that applying a
finding's fix removes it without adding an error of the same code at the same
place (docs/rules.md, "Suggested fixes")."""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pension_collect.model import (
    AccountYear,
    BureauRecord,
    Category,
    Dossier,
    EmployerKind,
    Gender,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from pension_collect.rules import Finding, RulePack, Severity, check, check_worker
from pension_collect.rules.fixes import (
    NOT_FIXABLE,
    FixNotApplicable,
    apply_fix,
    field_path,
    fix_preview,
    fixable,
    relative_path,
)
from pension_collect.rules.weihai2013 import default_pack
from pension_collect.testing.strategies import (
    DEFAULT_AS_OF,
    WORKER_CODES,
    every_violation_dossiers,
    violating_workers,
    with_rate_reference,
)

AS_OF = YearMonth.parse(DEFAULT_AS_OF) if isinstance(DEFAULT_AS_OF, str) else DEFAULT_AS_OF
TODAY = _dt.date(2013, 8, 20)
ID18 = "371002196503021239"  # born 1965-03-02, male (17th digit 3)
ID15 = "371002650302123"  # the same person's legacy number
RATE_PACK = with_rate_reference([("1993-01", "1996-03", "0.03")])

#: The codes of weihai-2013 whose findings carry a fix apply_fix applies.
FIXABLE_CODES = (
    "person.id-legacy",
    "person.gender-mismatch",
    "person.birth-date-mismatch",
    "person.window-only-change",
    "history.crosses-box",
    "history.crosses-account-start",
    "history.category",
    "history.total-required",
    "history.institution-remark",
    "history.rate-reference",
)


def worker(**changes: object) -> Worker:
    base = Worker(
        id_number=ID18,
        name="王五",
        first_work="1983-07",
        gender="male",
        birth_date="1965-03-02",
        history=(),
        account=(),
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def account_year(year: int, *, interest: str, balance: str) -> AccountYear:
    """A year of 500 base, 60 personal, 40 employer part."""
    return AccountYear(
        year=year,
        months=12,
        base="500",
        personal="60",
        employer_part="40",
        interest=interest,
        balance=balance,
    )


def made(
    path: str, *, field: str | None = None, expected: object = None, code: str = "mine.rule"
) -> Finding:
    """A finding as a rule of one's own pack could make it."""
    return Finding(
        code=code,
        severity=Severity.WARNING,
        path=path,
        message="m",
        message_zh="m",
        field=field,
        expected=expected,
    )


def findings(w: Worker, pack: RulePack | None = None) -> list[Finding]:
    return check_worker(w, pack=pack or default_pack(), as_of=AS_OF, today=TODAY, index=3)


def only(w: Worker, code: str, pack: RulePack | None = None) -> Finding:
    found = [f for f in findings(w, pack) if f.code == code]
    assert len(found) == 1, [f.code for f in findings(w, pack)]
    return found[0]


def fixed(w: Worker, code: str, pack: RulePack | None = None) -> tuple[Worker, Finding]:
    finding = only(w, code, pack)
    assert fixable(finding)
    new = apply_fix(w, finding)
    assert code not in {f.code for f in findings(new, pack)}
    return new, finding


# -- personal information --------------------------------------------------------


def test_gender_mismatch() -> None:
    w = worker(gender="female")
    new, finding = fixed(w, "person.gender-mismatch")
    assert new.gender is Gender.MALE
    preview = fix_preview(w, finding)
    assert (preview.path, preview.field, preview.action) == ("$", "gender", "set")
    assert preview.text_zh == "将 性别 改为 男"
    assert preview.text_en == "Change gender to male"


def test_birth_date_mismatch() -> None:
    w = worker(birth_date="1965-03-12")
    new, finding = fixed(w, "person.birth-date-mismatch")
    assert new.birth_date == _dt.date(1965, 3, 2)
    assert fix_preview(w, finding).text_zh == "将 出生日期 改为 1965-03-02"


def test_id_legacy_becomes_the_18_digit_form() -> None:
    w = worker(id_number=ID15)
    new, finding = fixed(w, "person.id-legacy")
    assert new.id_number == ID18
    preview = fix_preview(w, finding)
    assert (preview.field, preview.action, preview.value) == ("id_number", "to_18", ID18)
    assert ID18 not in repr(preview)
    # Applied twice: the 15-digit number is gone, the fix is stale.
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(new, finding)
    assert info.value.reason == "stale"
    assert info.value.code == "rules.fix-not-applicable"


def test_window_only_change_restores_the_bureaus_values() -> None:
    bureau = BureauRecord(id_number=ID18, name="王五")
    w = worker(name="王六", bureau=bureau)
    new, finding = fixed(w, "person.window-only-change")
    assert new.name == "王五"
    assert finding.field == "name"
    preview = fix_preview(w, finding)
    assert (preview.text_zh, preview.field, preview.action) == (
        "将 姓名 改为 王五",
        "name",
        "restore",
    )
    # The bureau holds the 18-digit number; the clerk typed another one.
    other = "110101199003070011"  # a valid number of someone else
    w2 = worker(id_number=other, birth_date=None, bureau=bureau)
    new2, _ = fixed(w2, "person.window-only-change")
    assert new2.id_number == ID18
    # No bureau record on the worker: nothing to restore from.
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(attrs.evolve(w, bureau=None), finding)
    assert info.value.reason == "stale"


# -- contribution history --------------------------------------------------------


def test_crosses_box_split() -> None:
    seg = Segment(start="1990-01", end="1994-06", total="0", remark="车间")
    w = worker(history=(seg,))
    new, finding = fixed(w, "history.crosses-box")
    assert finding.path == "$.workers[3].history[0]"
    assert new.history == (
        Segment(start="1990-01", end="1992-12", total="0", remark="车间"),
        Segment(start="1993-01", end="1994-06", total="0", remark="车间"),
    )
    preview = fix_preview(w, finding)
    assert preview.action == "split"
    assert preview.text_zh == "拆分为 1990-01..1992-12;1993-01..1994-06"
    assert preview.text_en == "Split into 1990-01..1992-12; 1993-01..1994-06"


def test_crosses_box_split_of_an_amount_reveals_total_required() -> None:
    # A total cannot be divided by rule: the upper piece then needs its total.
    seg = Segment(start="1990-01", end="1994-06", total="1200.00")
    new, _ = fixed(worker(history=(seg,)), "history.crosses-box")
    assert new.history is not None
    assert [s.total for s in new.history] == [None, None]
    assert [f.code for f in findings(new) if f.is_error] == ["history.total-required"]


def test_crosses_account_start_cut_of_an_enterprise_period() -> None:
    seg = Segment(start="1993-01", end="1997-06", category="pre_account")
    w = worker(history=(Segment(start="1983-07", end="1992-12", total="0"), seg))
    new, finding = fixed(w, "history.crosses-account-start")
    assert new.history is not None
    assert new.history[1] == Segment(start="1993-01", end="1996-03")
    assert len(new.history) == 2
    assert fix_preview(w, finding).text_zh == (
        "改为 1993-01..1996-03(1996-04..1997-06 属于养老账户,不录入)"
    )


def test_crosses_account_start_split_of_a_transfer() -> None:
    seg = Segment(start="1995-01", end="1997-06", source="transfer_in", origin="local")
    new, _ = fixed(worker(history=(seg,)), "history.crosses-account-start")
    assert new.history == (
        Segment(start="1995-01", end="1996-03", source="transfer_in", origin="local"),
        Segment(start="1996-04", end="1997-06", source="transfer_in", origin="local"),
    )


def test_a_period_across_both_boundaries_is_fixed_by_either_finding() -> None:
    seg = Segment(start="1983-07", end="1997-06", total="0")
    w = worker(history=(seg,))
    codes = ("history.crosses-box", "history.crosses-account-start")
    for code in codes:
        new = apply_fix(w, only(w, code))
        assert new.history == (
            Segment(start="1983-07", end="1992-12", total="0"),
            Segment(start="1993-01", end="1996-03", total="0"),
        )
        assert not {f.code for f in findings(new)} & set(codes)


def test_category() -> None:
    seg = Segment(start="1993-01", end="1995-12", category="deemed")
    w = worker(history=(seg,))
    new, finding = fixed(w, "history.category")
    assert new.history is not None
    assert new.history[0].category is Category.PRE_ACCOUNT
    assert fix_preview(w, finding).text_zh == "将 账户类别 改为 实行账户前缴费"
    assert fix_preview(w, finding).text_en == "Change category to pre_account"


def test_total_required() -> None:
    w = worker(history=(Segment(start="1983-07", end="1992-12"),))
    new, finding = fixed(w, "history.total-required")
    assert new.history is not None
    assert new.history[0].total == Decimal("0")
    assert fix_preview(w, finding).text_zh == "将 缴费合计 改为 0"
    # A total typed since the check is not overwritten.
    typed = worker(history=(Segment(start="1983-07", end="1992-12", total="300"),))
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(typed, finding)
    assert info.value.reason == "stale"


def test_institution_remark_added_and_kept() -> None:
    seg = Segment(start="1993-01", end="1995-12", employer_kind=EmployerKind.INSTITUTION)
    new, _ = fixed(worker(history=(seg,)), "history.institution-remark")
    assert new.history is not None
    assert new.history[0].remark == "机关事业缴费"
    with_text = worker(history=(attrs.evolve(seg, remark="调入"),))
    new2, _ = fixed(with_text, "history.institution-remark")
    assert new2.history is not None
    assert new2.history[0].remark == "调入 机关事业缴费"


def test_rate_reference() -> None:
    seg = Segment(start="1993-01", end="1995-12", rate="0.05")
    new, _ = fixed(worker(history=(seg,)), "history.rate-reference", RATE_PACK)
    assert new.history is not None
    assert new.history[0].rate == Decimal("0.03")


# -- what is not fixed -----------------------------------------------------------


def test_account_balance_is_shown_never_applied() -> None:
    account = (
        account_year(1997, interest="0", balance="100"),
        account_year(1998, interest="5", balance="999"),
    )
    w = worker(account=account)
    finding = only(w, "account.balance")
    assert finding.expected == "205.00"
    assert "account.balance" in NOT_FIXABLE
    assert not fixable(finding)
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(w, finding)
    assert info.value.reason == "no-fix"
    assert "手册" in info.value.message_zh
    with pytest.raises(FixNotApplicable):
        fix_preview(w, finding)


def test_a_finding_without_fix_is_refused() -> None:
    w = worker(history=(Segment(start="1995-01", end="1994-01"),))
    finding = only(w, "history.month-order")
    assert not fixable(finding)
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(w, finding)
    assert info.value.reason == "no-fix"
    assert info.value.finding_code == "history.month-order"


def test_a_stale_split_is_refused() -> None:
    w = worker(history=(Segment(start="1990-01", end="1994-06", total="0"),))
    finding = only(w, "history.crosses-box")
    moved = worker(history=(Segment(start="1990-01", end="1995-06", total="0"),))
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(moved, finding)
    assert info.value.reason == "stale"
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(worker(history=()), finding)
    assert info.value.reason == "path"


def test_relative_paths() -> None:
    assert relative_path("$.workers[12].history[3]") == "$.history[3]"
    assert relative_path("$.history[3]") == "$.history[3]"
    assert relative_path("history[3]") == "$.history[3]"
    assert relative_path("$.workers[2]") == "$"
    assert relative_path("$") == "$"
    assert relative_path("$.workers[0].account[1]") == "$.account[1]"
    for bad in (
        "$.employer",
        "$.workers[1].history",
        "$.workers[x]",
        "account",
        "",
        "$history[1]",
        "$.",
        "$.workers[1].",
    ):
        with pytest.raises(FixNotApplicable) as info:
            relative_path(bad)
        assert info.value.reason == "path"
    # A finding at a path relative to the worker is applied as well.
    w = worker(gender="female")
    finding = attrs.evolve(only(w, "person.gender-mismatch"), path="$")
    assert apply_fix(w, finding).gender is Gender.MALE


def test_field_path_names_the_editors_field() -> None:
    w = worker(gender="female", history=(Segment(start="1983-07", end="1992-12"),))
    by_code = {f.code: f for f in findings(w)}
    assert field_path(by_code["person.gender-mismatch"]) == "$.gender"
    assert field_path(by_code["history.total-required"]) == "$.history[0].total"
    overlap = made("$.workers[3].history[2]", code="history.overlap")
    assert field_path(overlap) == "$.history[2]"
    assert field_path(attrs.evolve(overlap, path="$.employer", field="credit_code")) is None
    assert field_path(attrs.evolve(overlap, path="$")) == "$"
    assert field_path(attrs.evolve(overlap, path="$", field="name")) == "$.name"


def test_a_hand_made_finding_with_a_wrong_value_is_refused() -> None:
    w = worker(history=(Segment(start="1993-01", end="1995-12"),))
    finding = made("$.history[0]", field="category", expected="no-such-category")
    assert fixable(finding)
    with pytest.raises(FixNotApplicable) as info:
        apply_fix(w, finding)
    assert info.value.reason == "no-fix"


def test_a_pack_of_ones_own_may_give_any_field_a_value() -> None:
    """A plugin's rule whose hit carries an int, a Decimal or a month for a field."""
    year = attrs.evolve(account_year(1997, interest="0", balance="100"), months=13)
    w = worker(account=(year,), history=(Segment(start="1993-01", end="1995-12"),))
    cases: list[tuple[str, str, object, str, object]] = [
        ("$.workers[0].account[0]", "months", 12, "account", 12),
        ("$.account[0]", "interest", Decimal("1.25"), "account", Decimal("1.25")),
        ("$.history[0]", "end", "1995-06", "history", YearMonth(1995, 6)),
    ]
    for path, field, expected, part, value in cases:
        finding = made(path, field=field, expected=expected)
        assert fixable(finding)
        assert getattr(getattr(apply_fix(w, finding), part)[0], field) == value
    floated = attrs.evolve(finding, field="total", expected=1.5)
    with pytest.raises(FixNotApplicable):
        apply_fix(w, floated)
    assert fix_preview(w, finding).text_en == "Change end month to 1995-06"


def test_origin_and_source_enums_survive() -> None:
    seg = Segment(start="1995-01", end="1997-06", source=Source.TRANSFER_IN, origin=Origin.LOCAL)
    new, _ = fixed(worker(history=(seg,)), "history.crosses-account-start")
    assert new.history is not None
    assert {s.source for s in new.history} == {Source.TRANSFER_IN}


# -- the property ----------------------------------------------------------------


def _pack(code: str) -> RulePack:
    return RATE_PACK if code == "history.rate-reference" else default_pack()


@st.composite
def violators(draw: st.DrawFn) -> tuple[str, Worker]:
    code = draw(st.sampled_from(sorted(WORKER_CODES)))
    return code, draw(violating_workers(code, pack=_pack(code)))


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(violators())
def test_applying_a_fix_removes_its_finding(case: tuple[str, Worker]) -> None:
    _fixes_remove_their_findings(*case)


def _fixes_remove_their_findings(code: str, w: Worker) -> None:
    pack = _pack(code)
    before = findings(w, pack)
    for finding in before:
        if not fixable(finding):
            assert finding.code not in FIXABLE_CODES
            # A finding with a suggested value is fixable unless listed as not.
            suggests = finding.expected is not None or finding.fix is not None
            assert not suggests or finding.code in NOT_FIXABLE
            continue
        assert finding.code in FIXABLE_CODES
        new = apply_fix(w, finding)
        after = findings(new, pack)
        place = (finding.code, finding.path, finding.field)
        assert place not in {(f.code, f.path, f.field) for f in after}
        # No finding of the same code at the same place that was not there before.
        here = {(f.code, f.path, f.field) for f in after if f.code == finding.code}
        assert here <= {(f.code, f.path, f.field) for f in before} - {place}
        preview = fix_preview(w, finding)
        assert preview.text_zh.startswith(("将 ", "拆分为 ", "改为 "))
        assert preview.text_en.startswith(("Change ", "Split into ", "Replace by "))


@pytest.mark.parametrize("code", FIXABLE_CODES)
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_fixable_code_is_fixed(code: str, data: st.DataObject) -> None:
    w = data.draw(violating_workers(code, pack=_pack(code)))
    _fixes_remove_their_findings(code, w)
    assert any(f.code == code and fixable(f) for f in findings(w, _pack(code)))


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(every_violation_dossiers(pack=RATE_PACK))
def test_every_suggested_value_of_the_pack_applies(dossier: Dossier) -> None:
    """Every code at once: a finding that suggests a value is fixable (or
    listed in NOT_FIXABLE), and its fix applies to its worker."""
    report = check(dossier, RATE_PACK, today=TODAY)
    seen = set()
    for finding in report.findings:
        suggests = finding.expected is not None or finding.fix is not None
        if not finding.path.startswith("$.workers[") or not suggests:
            assert not fixable(finding) or finding.code == "person.window-only-change"
            continue
        seen.add(finding.code)
        if finding.code in NOT_FIXABLE:
            assert not fixable(finding)
            continue
        assert fixable(finding), finding.code
        index = int(finding.path.split("[", 2)[1].split("]")[0])
        assert isinstance(apply_fix(dossier.workers[index], finding), Worker)
    assert seen >= set(FIXABLE_CODES) - {"person.window-only-change"}


def test_every_fixable_code_has_a_violator() -> None:
    assert set(FIXABLE_CODES) <= set(WORKER_CODES)


def test_docs_list_the_fixable_codes() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text("utf-8")
    section = text.split("## Suggested fixes", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z.-]+)` \|", section, re.MULTILINE)
    assert listed == list(FIXABLE_CODES)
    assert "`account.balance`" in section
