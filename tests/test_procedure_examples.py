"""Example-based tests of the ``weihai-2013`` rule pack, paragraph by paragraph.

Each test starts from the bundled example dossier (three valid workers),
changes one thing with :func:`attrs.evolve`, runs
:func:`pension_collect.rules.check` and asserts the exact findings: codes,
paths, ``expected``/``fix`` values, and that both messages are filled in and
quote neither a worker's name nor an identity number.
"""

from __future__ import annotations

import datetime
import json
import random
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

import pension_collect
from pension_collect import rules
from pension_collect.dossier import load
from pension_collect.model import (
    AccountYear,
    Category,
    Dossier,
    EmployerKind,
    Gender,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
    money,
)
from pension_collect.plugins import PluginHost
from pension_collect.rules import (
    Box,
    Confidence,
    Finding,
    Report,
    Rule,
    Scope,
    Severity,
    weihai2013,
)
from pension_collect.rules.parameters import load_parameters

TODAY = datetime.date(2026, 11, 28)
EXAMPLE_PATH = Path(pension_collect.__file__).parent / "data" / "example-dossier.json"
EXAMPLE: Dossier = load(EXAMPLE_PATH)
#: Built-ins only: an installed third-party plugin must not change these results.
HOST = PluginHost(load_entry_points=False)

ZHANG_ID = "371002196503021239"  # worker 0, male, born 1965-03-02
ZHANG_ID_15 = "371002650302123"  # its legacy 15-digit form
ZHANG_ID_FULL_WIDTH = "３７１００２１９６５０３０２１２３９"  # the same in full-width digits
#: The credit code of the first spec example: its own check character (W) is
#: right, its embedded GB 11714 organization code's check (1) is not.
OLD_SPEC_CREDIT_CODE = "91371000MA3C0EXA1W"
_PLACEHOLDER = re.compile(r"[{}]")


def ym(text: str) -> YearMonth:
    """A month from its ``"YYYY-MM"`` spelling."""
    return YearMonth.parse(text)


def seg(start: str, end: str, total: str | None = "0", **changes: Any) -> Segment:
    """A history segment; ``total`` is a money string or ``None``."""
    amount = None if total is None else money(total)
    return Segment(start=ym(start), end=ym(end), total=amount, **changes)


def _personal_strings(dossier: Dossier) -> Iterator[str]:
    for worker in dossier.workers:
        yield worker.name
        yield worker.id_number
        if worker.bureau is not None:
            yield from (v for v in (worker.bureau.name, worker.bureau.id_number) if v)


def assert_clean(finding: Finding, dossier: Dossier) -> None:
    """Both messages filled in, no template left, no name and no identity number."""
    for text in (finding.message, finding.message_zh):
        assert text.strip(), finding.code
        assert not _PLACEHOLDER.search(text), (finding.code, text)
        for secret in _personal_strings(dossier):
            assert secret not in text, finding.code
    assert re.search(r"[\u4e00-\u9fff]", finding.message_zh), finding.code


def run(dossier: Dossier, **kwargs: Any) -> Report:
    """Check ``dossier`` on the fixed day and vet every finding's messages."""
    kwargs.setdefault("host", HOST)
    report = pension_collect.check(dossier, today=TODAY, **kwargs)
    for finding in report.findings:
        assert_clean(finding, dossier)
    return report


def with_worker(index: int = 0, dossier: Dossier = EXAMPLE, **changes: Any) -> Dossier:
    """The dossier with worker ``index`` changed."""
    workers = list(dossier.workers)
    workers[index] = attrs.evolve(workers[index], **changes)
    return attrs.evolve(dossier, workers=tuple(workers))


def with_history(*segments: Segment, index: int = 0, **changes: Any) -> Dossier:
    """The dossier with worker ``index``'s contribution history replaced."""
    return with_worker(index, history=tuple(segments), **changes)


def worker0(**changes: Any) -> Worker:
    return attrs.evolve(EXAMPLE.workers[0], **changes)


def codes(report: Report, index: int = 0) -> list[str]:
    """Sorted codes of the findings about worker ``index``."""
    return sorted(f.code for f in report.for_worker(index))


def one(report: Report, code: str) -> Finding:
    """The single finding with ``code``."""
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.path) for f in report.findings]
    return found[0]


def summary(report: Report, path: str) -> tuple[Box | None, Category | None, int]:
    """(box, category, months) of the segment at ``path``."""
    (s,) = [s for s in report.segments if s.path == path]
    return s.box, s.category, s.months


# -- the example as a whole ------------------------------------------------------------


class TestExampleDossier:
    """The bundled example dossier (the same as shared/spec/example-dossier.json)."""

    def test_has_no_error(self) -> None:
        """The example checks with 0 errors."""
        report = run(EXAMPLE)
        assert report.ok
        assert report.errors == ()

    def test_example_has_no_finding_at_all(self) -> None:
        """Issue 9 finding 11: the example gives no warning either; its credit
        code is the corrected spec one, which passes the GB 11714 check."""
        assert EXAMPLE.employer.credit_code == "91371000MA3C0EXA33"
        report = run(EXAMPLE)
        assert report.findings == ()

    def test_validate_example_gives_no_credit_code_warning(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``pension-collect validate --example`` reports 0 errors and 0 warnings."""
        from pension_collect.cli import main

        assert main(["validate", "--example", "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["summary"] == {"workers": 3, "errors": 0, "warnings": 0}
        assert not [f for f in doc["findings"] if f["code"].startswith("employer.")]

    def test_month_totals_per_worker(self) -> None:
        """The report's month totals are the hand-counted ones."""
        # Worker 0: 1983-07..1992-12 deemed = 6 + 9*12 = 114 (the spec's figure);
        #           1993-01..1996-03 red book = 12 + 12 + 12 + 3 = 39 pre_account.
        # Worker 1: institution 1988-09..1994-06 = 4 + 5*12 + 6 = 70 pre_account;
        #           enterprise 1994-07..1996-03 = 6 + 12 + 3 = 21 pre_account; 91 in all.
        # Worker 2: enterprise 1995-01..1996-03 = 12 + 3 = 15 pre_account;
        #           transfer 1997-01..1999-12 = 3*12 = 36 post_account.
        report = run(EXAMPLE)
        totals = [(w.path, w.deemed, w.pre_account, w.post_account) for w in report.workers]
        assert totals == [
            ("$.workers[0]", 114, 39, 0),
            ("$.workers[1]", 0, 91, 0),
            ("$.workers[2]", 0, 15, 36),
        ]

    def test_worker_summaries_carry_the_18_digit_number(self) -> None:
        """Each worker summary holds the 18-digit identity number."""
        report = run(EXAMPLE)
        assert [w.id_number_18 for w in report.workers] == [w.id_number for w in EXAMPLE.workers]

    def test_segments_are_placed(self) -> None:
        """Each segment of the example gets its box, category and month count."""
        report = run(EXAMPLE)
        assert [(s.path, s.box, s.category, s.months) for s in report.segments] == [
            ("$.workers[0].history[0]", Box.UPPER, Category.DEEMED, 114),
            ("$.workers[0].history[1]", Box.LOWER, Category.PRE_ACCOUNT, 39),
            ("$.workers[1].history[0]", Box.LOWER, Category.PRE_ACCOUNT, 70),
            ("$.workers[1].history[1]", Box.LOWER, Category.PRE_ACCOUNT, 21),
            ("$.workers[2].history[0]", Box.LOWER, Category.PRE_ACCOUNT, 15),
            ("$.workers[2].history[1]", Box.LOWER, Category.POST_ACCOUNT, 36),
        ]


class TestInternalError:
    """A rule whose own code raises becomes a ``rules.internal-error`` finding."""

    @staticmethod
    def _boom(view: Any) -> Iterator[rules.Hit]:
        # The exception text quotes personal data: it must not reach the message.
        raise ValueError(f"cannot handle {view.worker.name} {view.worker.id_number}")
        yield  # pragma: no cover

    def test_worker_rule_failure_is_reported_per_worker(self) -> None:
        """A failing worker rule yields one internal-error finding per worker naming it."""
        boom = Rule(
            code="test.boom",
            severity=Severity.WARNING,
            message="m",
            message_zh="m",
            check=self._boom,
        )
        pack = weihai2013.make_pack().with_rules([boom])
        report = run(EXAMPLE, pack=pack)
        internal = [f for f in report.findings if f.code == "rules.internal-error"]
        assert [f.path for f in internal] == ["$.workers[0]", "$.workers[1]", "$.workers[2]"]
        for f in internal:
            assert f.severity is Severity.ERROR
            assert f.expected == "test.boom"
            assert "test.boom" in f.message
            assert "test.boom" in f.message_zh
            assert "ValueError" in f.message
            assert "cannot handle" not in f.message

    def test_other_rules_still_run(self) -> None:
        """One failing rule hides no other rule's findings."""
        boom = Rule(
            code="test.boom", severity=Severity.ERROR, message="m", message_zh="m", check=self._boom
        )
        pack = weihai2013.make_pack().with_rules([boom])
        dossier = with_worker(gender=Gender.FEMALE)
        dossier = attrs.evolve(
            dossier, employer=attrs.evolve(dossier.employer, credit_code=OLD_SPEC_CREDIT_CODE)
        )
        report = run(dossier, pack=pack)
        assert codes(report) == ["person.gender-mismatch", "rules.internal-error"]
        assert "employer.credit-code-org" in report.codes()

    def test_dossier_rule_failure_is_reported_at_the_root(self) -> None:
        """A failing dossier-scope rule yields one finding at ``$``."""

        def fails(view: Any) -> Iterator[rules.Hit]:
            raise KeyError("x")

        rule = Rule(
            code="test.boom-dossier",
            severity=Severity.ERROR,
            message="m",
            message_zh="m",
            check=fails,
            scope=Scope.DOSSIER,
        )
        report = run(EXAMPLE, pack=weihai2013.make_pack().with_rules([rule]))
        finding = one(report, "rules.internal-error")
        assert finding.path == "$"
        assert finding.expected == "test.boom-dossier"
        assert "KeyError" in finding.message


# -- [P3.1] employer ----------------------------------------------------------------------


class TestP3_1:
    """[P3.1] employer information: the unified social credit code."""

    def _employer(self, **changes: Any) -> Dossier:
        return attrs.evolve(EXAMPLE, employer=attrs.evolve(EXAMPLE.employer, **changes))

    def test_valid_code_gives_no_finding(self) -> None:
        """A valid credit code gives no employer finding."""
        report = run(self._employer(credit_code="91371000MA3EMNC04W"))
        assert report.findings == ()

    def test_absent_code_gives_no_finding(self) -> None:
        """The credit code is optional."""
        assert run(self._employer(credit_code=None)).findings == ()

    def test_wrong_check_character(self) -> None:
        """A mistyped check character is an employer.credit-code error with its reason."""
        report = run(self._employer(credit_code="91371000MA3EMNC04X"))
        finding = one(report, "employer.credit-code")
        assert (finding.path, finding.field, finding.procedure) == (
            "$.employer",
            "credit_code",
            "P3.1",
        )
        assert finding.severity is Severity.ERROR
        assert "check character" in finding.message
        assert "校验码" in finding.message_zh
        assert report.codes() == {"employer.credit-code"}

    def test_wrong_format(self) -> None:
        """A code of the wrong shape is an employer.credit-code error saying so."""
        finding = one(run(self._employer(credit_code="123")), "employer.credit-code")
        assert "wrong format" in finding.message
        assert "格式不正确" in finding.message_zh

    def test_old_spec_code_fails_the_organization_check(self) -> None:
        """The first spec example's code is the one employer.credit-code-org warning."""
        # The organization code MA3C0EXA + check "1": GB 11714 weights 3,7,9,10,5,8,4,2
        # over M=22 A=10 3 C=12 0 E=14 X=33 A=10 sum to 547; 547 mod 11 = 8 and
        # 11 - 8 = 3, so the check character should be "3", not "1".
        report = run(self._employer(credit_code=OLD_SPEC_CREDIT_CODE))
        assert [(f.code, f.path, f.severity) for f in report.findings] == [
            ("employer.credit-code-org", "$.employer", Severity.WARNING)
        ]


# -- [P3.3] verification forms ----------------------------------------------------------------


class TestP3_3a:
    """[P3.3a] identity number and name change only at the bureau window."""

    def _bureau(self, **changes: Any) -> Dossier:
        return with_worker(bureau=attrs.evolve(EXAMPLE.workers[0].bureau, **changes))

    def test_name_differs_from_bureau(self) -> None:
        """A name other than the bureau's is person.window-only-change on field name."""
        report = run(self._bureau(name="张卫"))
        finding = one(report, "person.window-only-change")
        assert (finding.path, finding.field, finding.procedure) == ("$.workers[0]", "name", "P3.3a")
        assert finding.severity is Severity.ERROR
        assert "name" in finding.message
        assert "姓名" in finding.message_zh
        assert "张卫" not in finding.message + finding.message_zh

    def test_id_differs_from_bureau(self) -> None:
        """An identity number other than the bureau's is a window-only change on id_number."""
        report = run(self._bureau(id_number="11010519491231002X"))
        finding = one(report, "person.window-only-change")
        assert (finding.path, finding.field) == ("$.workers[0]", "id_number")
        assert "identity number" in finding.message
        assert "身份证号码" in finding.message_zh

    def test_both_differ(self) -> None:
        """Name and number both changed give two findings."""
        report = run(self._bureau(name="张卫", id_number="11010519491231002X"))
        assert [f.field for f in report.for_worker(0)] == ["id_number", "name"]

    def test_legacy_form_of_the_same_number_is_no_change(self) -> None:
        """The 15-digit form of the bureau's number is the same number."""
        report = run(with_worker(id_number=ZHANG_ID_15))
        assert codes(report) == ["person.id-legacy"]

    def test_surrounding_spaces_are_no_change(self) -> None:
        """Spaces around the name are not a change of name."""
        assert codes(run(self._bureau(name=" 张伟 "))) == []

    #: (bureau's spelling, worker's spelling) of one name: compared alike by the
    #: rules, the workflow and the bureau (identity.canonical_name).
    SAME_NAME: ClassVar[list[tuple[str, str]]] = [
        ("张伟", "张伟 "),  # trailing space on the worker's side
        ("张伟\u3000", "张伟"),  # ideographic space on the bureau's side
        ("张　伟", "张伟"),  # two-character name padded for alignment
        ("张 伟", "张伟"),
        ("\u200b张伟", "张伟"),  # zero-width space from a pasted list
        ("买买提·艾力", "买买提•艾力"),  # U+00B7 / bullet
        ("买买提·艾力", "买买提．艾力"),  # full-width full stop
        ("买买提・艾力", "买买提·艾力"),  # katakana middle dot
        ("买买提 · 艾力", "买买提.艾力"),
        ("ＺＨＡＮＧ　Ｗｅｉ", "ZHANG Wei"),  # full-width Latin letters
        ("ZHANG  Wei ", "ZHANG Wei"),
    ]

    @pytest.mark.parametrize(("bureau_name", "name"), SAME_NAME)
    @pytest.mark.parametrize("swap", [False, True], ids=["as-given", "swapped"])
    def test_spelling_variants_are_no_change(self, bureau_name: str, name: str, swap: bool) -> None:
        """Issue 9 finding 5: spaces, full-width forms and middle-dot variants, on
        either side, are no change of name."""
        if swap:
            bureau_name, name = name, bureau_name
        assert codes(run(self._names(bureau_name, name))) == []

    @staticmethod
    def _names(bureau_name: str, name: str) -> Dossier:
        """Worker 0 named ``name``, the bureau holding ``bureau_name``."""
        bureau = EXAMPLE.workers[0].bureau
        assert bureau is not None
        return with_worker(name=name, bureau=attrs.evolve(bureau, name=bureau_name))

    @pytest.mark.parametrize(
        ("bureau_name", "name"),
        [
            ("张伟", "张卫 "),
            ("买买提·艾力", "买买提·艾尔"),
            ("ZHANG Wei", "ZHANG WEI"),  # letter case is kept
            ("John Smith", "JohnSmith"),  # a space between Latin words counts
            ("\u8c48伟", "\uf900伟"),  # a CJK compatibility ideograph is not folded (no NFC)
            ("人伟", "\u2f08伟"),  # nor a Kangxi radical (no NFKC)
        ],
    )
    def test_other_names_still_differ(self, bureau_name: str, name: str) -> None:
        """What canonical_name does not fold is still a window-only change."""
        finding = one(run(self._names(bureau_name, name)), "person.window-only-change")
        assert finding.field == "name"

    def test_full_width_identity_number_is_no_change(self) -> None:
        """The bureau's number in full-width digits is the worker's number."""
        assert codes(run(self._bureau(id_number=ZHANG_ID_FULL_WIDTH))) == []

    def test_legacy_form_at_the_bureau_is_no_change(self) -> None:
        """The bureau holding the 15-digit form is no change of number either."""
        assert codes(run(self._bureau(id_number=ZHANG_ID_15))) == []

    def test_no_bureau_record_gives_no_finding(self) -> None:
        """Without a bureau record (no sync yet) nothing is compared."""
        assert codes(run(with_worker(bureau=None, name="张卫"))) == []


class TestP3_3b:
    """[P3.3b] and [P3.5]: forms print data up to 2011 only."""

    def test_forms_print_until_is_2011_12(self) -> None:
        """The pack's forms_print_until parameter is 2011-12, from the procedure."""
        params = HOST.rule_pack("weihai-2013").parameters
        for month in (ym("2013-08"), ym("1996-04"), ym("2026-11")):
            assert params.get("forms_print_until", month) == ym("2011-12")
        dated = params.parameters["forms_print_until"].at(ym("2013-08"))
        assert dated is not None
        assert dated.confidence is Confidence.PROCEDURE
        assert "P3.3b" in dated.source
        assert "P3.5" in dated.source


class TestP3_3c:
    """[P3.3c] cross-city transfers done from 2010-01 on are not collected."""

    def _transfer(self, **changes: Any) -> Dossier:
        fields: dict[str, Any] = {
            "source": Source.TRANSFER_IN,
            "origin": Origin.OTHER_CITY,
            "transferred_on": ym("2010-01"),
        }
        fields.update(changes)
        return with_history(
            seg("1983-07", "1992-12"), seg("1997-01", "1999-12", "900.00", **fields)
        )

    def test_transfer_done_in_2010_01(self) -> None:
        """A cross-city transfer done 2010-01 is history.cross-city-transfer-after-2010."""
        report = run(self._transfer())
        finding = one(report, "history.cross-city-transfer-after-2010")
        assert (finding.path, finding.field, finding.procedure) == (
            "$.workers[0].history[1]",
            "transferred_on",
            "P3.3c",
        )
        assert "2010-01" in finding.message
        assert "2010-01" in finding.message_zh
        assert codes(report) == ["history.cross-city-transfer-after-2010"]

    def test_transfer_done_in_2009_12(self) -> None:
        """A cross-city transfer done 2009-12 is collected."""
        assert codes(run(self._transfer(transferred_on=ym("2009-12")))) == []

    def test_local_transfer_after_2010(self) -> None:
        """A local transfer is collected whenever it was done."""
        assert codes(run(self._transfer(origin=Origin.LOCAL, transferred_on=ym("2012-03")))) == []

    def test_transfer_date_missing(self) -> None:
        """A cross-city transfer without transferred_on is a warning."""
        report = run(self._transfer(transferred_on=None))
        finding = one(report, "history.transfer-date-missing")
        assert (finding.path, finding.field, finding.severity) == (
            "$.workers[0].history[1]",
            "transferred_on",
            Severity.WARNING,
        )
        assert codes(report) == ["history.transfer-date-missing"]

    def test_transfer_origin_missing(self) -> None:
        """A transfer without origin is history.transfer-origin-missing."""
        report = run(self._transfer(origin=None, transferred_on=None))
        finding = one(report, "history.transfer-origin-missing")
        assert (finding.path, finding.field, finding.severity, finding.procedure) == (
            "$.workers[0].history[1]",
            "origin",
            Severity.WARNING,
            "P3.3c",
        )
        assert codes(report) == ["history.transfer-origin-missing"]


# -- [P3.4] collection: the contribution history --------------------------------------------


class TestP3_4a:
    """[P3.4a] the upper box: periods up to 1992-12, deemed or pre_account by the total."""

    def test_zero_total_is_deemed(self) -> None:
        """An enterprise period to 1992-12 with total 0 is deemed, upper box."""
        report = run(with_history(seg("1983-07", "1992-12", "0")))
        assert summary(report, "$.workers[0].history[0]") == (Box.UPPER, Category.DEEMED, 114)
        assert codes(report) == []

    def test_amount_is_pre_account(self) -> None:
        """An enterprise period to 1992-12 with an amount is pre_account, upper box."""
        report = run(with_history(seg("1983-07", "1992-12", "120.50")))
        assert summary(report, "$.workers[0].history[0]") == (
            Box.UPPER,
            Category.PRE_ACCOUNT,
            114,
        )
        assert report.workers[0].pre_account == 114
        assert report.workers[0].deemed == 0

    def test_given_category_contradicts_the_total(self) -> None:
        """Total 0 declared pre_account is history.category expecting deemed."""
        report = run(with_history(seg("1983-07", "1992-12", "0", category=Category.PRE_ACCOUNT)))
        finding = one(report, "history.category")
        assert (finding.path, finding.field, finding.expected, finding.procedure) == (
            "$.workers[0].history[0]",
            "category",
            "deemed",
            "P3.4a",
        )
        assert "pre_account" in finding.message
        assert "视同缴费" in finding.message_zh
        assert "实行账户前缴费" in finding.message_zh

    def test_amount_declared_deemed(self) -> None:
        """An amount declared deemed is history.category expecting pre_account."""
        report = run(with_history(seg("1983-07", "1992-12", "10.00", category=Category.DEEMED)))
        assert one(report, "history.category").expected == "pre_account"

    def test_total_required(self) -> None:
        """An upper-box period without a total is history.total-required, expecting 0."""
        report = run(with_history(seg("1983-07", "1992-12", None)))
        finding = one(report, "history.total-required")
        assert (finding.path, finding.field, finding.expected, finding.procedure) == (
            "$.workers[0].history[0]",
            "total",
            "0",
            "P3.4a",
        )
        assert codes(report) == ["history.total-required"]
        assert summary(report, "$.workers[0].history[0]") == (Box.UPPER, None, 114)

    def test_lower_box_needs_no_total(self) -> None:
        """A lower-box period may leave the total out."""
        report = run(with_history(seg("1983-07", "1992-12"), seg("1993-01", "1996-03", None)))
        assert codes(report) == []

    def test_boundary_months(self) -> None:
        """A period ending 1992-12 is upper box; one starting 1993-01 is lower box."""
        report = run(with_history(seg("1992-12", "1992-12"), seg("1993-01", "1993-01", "5.00")))
        assert summary(report, "$.workers[0].history[0]")[0] is Box.UPPER
        assert summary(report, "$.workers[0].history[1]")[0] is Box.LOWER


class TestP3_4b:
    """[P3.4b] the lower box: red book 1993-01..1996-03, institutions 1980..2010."""

    def test_red_book_years_are_pre_account(self) -> None:
        """A red-book period 1993-01..1996-03 is lower box, pre_account."""
        report = run(
            with_history(
                seg("1983-07", "1992-12"),
                seg("1993-01", "1996-03", "491.40", source=Source.RED_BOOK),
            )
        )
        assert summary(report, "$.workers[0].history[1]") == (
            Box.LOWER,
            Category.PRE_ACCOUNT,
            39,
        )
        assert codes(report) == []

    def test_red_book_declared_post_account(self) -> None:
        """A red-book period declared post_account is history.category expecting pre_account."""
        red = seg(
            "1993-01", "1996-03", "491.40", source=Source.RED_BOOK, category=Category.POST_ACCOUNT
        )
        report = run(with_history(seg("1983-07", "1992-12"), red))
        finding = one(report, "history.category")
        assert (finding.path, finding.expected) == ("$.workers[0].history[1]", "pre_account")

    def test_institution_inside_the_window(self) -> None:
        """An institution period 1983-07..2010-12 is lower box, pre_account, no finding."""
        inst = seg(
            "1983-07",
            "2010-12",
            employer_kind=EmployerKind.INSTITUTION,
            remark="机关事业缴费",
        )
        report = run(with_history(inst))
        assert summary(report, "$.workers[0].history[0]") == (
            Box.LOWER,
            Category.PRE_ACCOUNT,
            (2010 - 1983) * 12 + 6,
        )
        assert codes(report) == []

    @pytest.mark.parametrize(
        ("start", "end"), [("1979-12", "1985-06"), ("2005-01", "2011-01"), ("1979-01", "2011-12")]
    )
    def test_institution_outside_the_window(self, start: str, end: str) -> None:
        """An institution period reaching outside 1980-01..2010-12 is history.institution-range."""
        inst = seg(start, end, employer_kind=EmployerKind.INSTITUTION, remark="机关事业缴费")
        # An older worker, so that a 1979 start is no other finding.
        dossier = with_history(
            inst,
            id_number="11010519491231002X",
            gender=Gender.FEMALE,
            birth_date=datetime.date(1949, 12, 31),
            first_work=ym("1968-09"),
            bureau=None,
        )
        report = run(dossier)
        finding = one(report, "history.institution-range")
        assert (finding.path, finding.procedure) == ("$.workers[0].history[0]", "P3.4b")
        assert "1980-01" in finding.message
        assert "2010-12" in finding.message_zh
        assert codes(report) == ["history.institution-range"]

    def test_institution_at_the_window_edges(self) -> None:
        """1980-01 and 2010-12 themselves are inside the window."""
        inst = seg(
            "1980-01", "2010-12", employer_kind=EmployerKind.INSTITUTION, remark="机关事业缴费"
        )
        dossier = with_history(
            inst,
            id_number="11010519491231002X",
            gender=Gender.FEMALE,
            birth_date=datetime.date(1949, 12, 31),
            first_work=ym("1968-09"),
            bureau=None,
        )
        assert codes(run(dossier)) == []


class TestP3_4c:
    """[P3.4c] institution remark, transfers before and after 1996-04, splits."""

    def test_institution_remark_missing(self) -> None:
        """An institution period without 机关事业缴费 is history.institution-remark."""
        inst = seg("1983-07", "1996-03", employer_kind=EmployerKind.INSTITUTION)
        report = run(with_history(inst))
        finding = one(report, "history.institution-remark")
        assert (finding.path, finding.field, finding.expected, finding.procedure) == (
            "$.workers[0].history[0]",
            "remark",
            "机关事业缴费",
            "P3.4c",
        )
        assert codes(report) == ["history.institution-remark"]

    def test_institution_remark_with_more_words(self) -> None:
        """A remark that contains 机关事业缴费 among other words is enough."""
        inst = seg(
            "1983-07",
            "1996-03",
            employer_kind=EmployerKind.INSTITUTION,
            remark="荣成一中 机关事业缴费",
        )
        assert codes(run(with_history(inst))) == []

    def test_institution_keeps_one_category_across_both_boundaries(self) -> None:
        """An institution period across 1992-12 and 1996-03 is one pre_account segment."""
        inst = seg(
            "1983-07", "2000-12", employer_kind=EmployerKind.INSTITUTION, remark="机关事业缴费"
        )
        report = run(with_history(inst))
        assert codes(report) == []
        assert summary(report, "$.workers[0].history[0]")[:2] == (Box.LOWER, Category.PRE_ACCOUNT)

    def test_transfer_before_1996_04_is_pre_account(self) -> None:
        """A transfer ending 1996-03 is lower box, pre_account."""
        transfer = seg(
            "1993-01", "1996-03", "300.00", source=Source.TRANSFER_IN, origin=Origin.LOCAL
        )
        report = run(with_history(seg("1983-07", "1992-12"), transfer))
        assert summary(report, "$.workers[0].history[1]") == (
            Box.LOWER,
            Category.PRE_ACCOUNT,
            39,
        )
        assert codes(report) == []

    def test_transfer_from_1996_04_is_post_account(self) -> None:
        """A transfer starting 1996-04 is lower box, post_account."""
        transfer = seg(
            "1996-04", "1998-12", "300.00", source=Source.TRANSFER_IN, origin=Origin.LOCAL
        )
        report = run(with_history(seg("1983-07", "1992-12"), transfer))
        assert summary(report, "$.workers[0].history[1]") == (
            Box.LOWER,
            Category.POST_ACCOUNT,
            33,
        )
        assert report.workers[0].post_account == 33
        assert codes(report) == []

    def test_transfer_declared_pre_account_after_1996_04(self) -> None:
        """A 1996-04 transfer declared pre_account is history.category expecting post_account."""
        transfer = seg(
            "1996-04",
            "1998-12",
            "300.00",
            source=Source.TRANSFER_IN,
            origin=Origin.LOCAL,
            category=Category.PRE_ACCOUNT,
        )
        report = run(with_history(seg("1983-07", "1992-12"), transfer))
        finding = one(report, "history.category")
        assert (finding.path, finding.expected) == ("$.workers[0].history[1]", "post_account")
        assert "实行账户后缴费" in finding.message_zh

    def test_enterprise_period_across_1992_12(self) -> None:
        """An enterprise period across 1992-12|1993-01 is history.crosses-box, fixed by a split."""
        report = run(with_history(seg("1983-07", "1996-03", "0", category=Category.DEEMED)))
        finding = one(report, "history.crosses-box")
        assert (finding.path, finding.procedure, finding.severity) == (
            "$.workers[0].history[0]",
            "P3.4a",
            Severity.ERROR,
        )
        # A zero total stays zero on both pieces; the given category is dropped.
        assert finding.fix == {
            "action": "split",
            "segments": [
                {"start": "1983-07", "end": "1992-12", "total": "0.00"},
                {"start": "1993-01", "end": "1996-03", "total": "0.00"},
            ],
        }
        assert "1992-12" in finding.message
        assert "1993-01" in finding.message_zh
        assert codes(report) == ["history.crosses-box"]
        assert summary(report, "$.workers[0].history[0]") == (None, None, 153)

    def test_split_with_an_amount_leaves_the_total_to_the_clerk(self) -> None:
        """A split period with an amount gets pieces without total and a note."""
        period = seg(
            "1990-01", "1994-12", "800.00", employer_name="威海第二机床厂", source=Source.RED_BOOK
        )
        report = run(with_history(seg("1983-07", "1989-12"), period))
        finding = one(report, "history.crosses-box")
        assert finding.path == "$.workers[0].history[1]"
        assert finding.fix == {
            "action": "split",
            "segments": [
                {
                    "start": "1990-01",
                    "end": "1992-12",
                    "source": "red_book",
                    "employer_name": "威海第二机床厂",
                },
                {
                    "start": "1993-01",
                    "end": "1994-12",
                    "source": "red_book",
                    "employer_name": "威海第二机床厂",
                },
            ],
            "note": "divide the total between the two periods as the handbook shows",
        }

    def test_enterprise_period_across_1996_03(self) -> None:
        """Issue 9 finding 7: an enterprise period across 1996-03|1996-04 is
        history.crosses-account-start, fixed by cutting it at 1996-03 (from
        1996-04 it is the pension account), not by a split."""
        report = run(with_history(seg("1983-07", "1992-12"), seg("1993-01", "1997-06", "700.00")))
        finding = one(report, "history.crosses-account-start")
        assert (finding.path, finding.procedure) == ("$.workers[0].history[1]", "P3.4c")
        assert finding.fix == {
            "action": "cut",
            "segments": [{"start": "1993-01", "end": "1996-03"}],
            "dropped": {"start": "1996-04", "end": "1997-06"},
            "note": "the months from 1996-04 on belong to the pension account, which the "
            "employer does not enter; enter the total of the months kept as the handbook shows",
        }
        assert "End the line at 1996-03" in finding.message
        assert "split" not in finding.message.lower()
        assert "截止到 1996-03" in finding.message_zh
        assert "养老账户" in finding.message_zh
        assert codes(report) == ["history.crosses-account-start"]

    @staticmethod
    def _apply(dossier: Dossier, path: str, fix: dict[str, Any]) -> Dossier:
        """The dossier with the segment at ``path`` replaced by the fix's segments."""
        from pension_collect.dossier import make_converter

        index = int(path.rsplit("[", 1)[1].rstrip("]"))
        history = list(dossier.workers[0].history or ())
        pieces = make_converter().structure(fix["segments"], list[Segment])
        history[index : index + 1] = pieces
        return with_worker(0, dossier, history=tuple(history))

    @pytest.mark.parametrize(
        ("period", "action"),
        [
            (seg("1993-01", "1997-06", "0"), "cut"),  # handbook
            (seg("1993-01", "1996-04", "0", source=Source.RED_BOOK), "cut"),  # red book
            (seg("1983-07", "1997-12", "0"), "cut"),  # across 1992-12 too
            (
                seg("1995-01", "1997-12", "0", source=Source.TRANSFER_IN, origin=Origin.LOCAL),
                "split",
            ),
            (
                seg("1996-03", "1996-04", "0", source=Source.TRANSFER_IN, origin=Origin.LOCAL),
                "split",
            ),
        ],
    )
    def test_applying_the_fix_leaves_no_finding(self, period: Segment, action: str) -> None:
        """The lines a crossing's fix offers are accepted by every rule: no piece
        is then rejected by history.enterprise-after-account-start."""
        before = [seg("1983-07", "1992-12")] if period.start > ym("1992-12") else []
        dossier = with_history(*before, period)
        report = run(dossier)
        finding = one(report, "history.crosses-account-start")
        assert finding.fix["action"] == action
        fixed = run(self._apply(dossier, finding.path, finding.fix))
        assert codes(fixed) == []

    def test_enterprise_period_ending_1996_03_is_no_crossing(self) -> None:
        """The last month before the account: an enterprise period up to 1996-03 is lower box."""
        report = run(with_history(seg("1983-07", "1992-12"), seg("1993-01", "1996-03", "0")))
        assert codes(report) == []
        assert summary(report, "$.workers[0].history[1]") == (
            Box.LOWER,
            Category.PRE_ACCOUNT,
            39,
        )

    def test_enterprise_period_1996_03_to_1996_04_is_cut_to_one_month(self) -> None:
        """The shortest crossing, 1996-03..1996-04, is cut to 1996-03 alone."""
        report = run(with_history(seg("1983-07", "1992-12"), seg("1996-03", "1996-04", "0")))
        finding = one(report, "history.crosses-account-start")
        assert finding.fix["segments"] == [{"start": "1996-03", "end": "1996-03", "total": "0.00"}]
        assert finding.fix["dropped"] == {"start": "1996-04", "end": "1996-04"}
        assert "note" in finding.fix
        assert "total of the months kept" not in finding.fix["note"]  # a zero total stays 0

    def test_transfer_across_1996_03(self) -> None:
        """A transfer across 1996-03|1996-04 is history.crosses-account-start, split in two."""
        transfer = seg("1995-01", "1997-12", "0", source=Source.TRANSFER_IN, origin=Origin.LOCAL)
        report = run(with_history(seg("1983-07", "1992-12"), transfer))
        finding = one(report, "history.crosses-account-start")
        assert finding.path == "$.workers[0].history[1]"
        assert finding.fix == {
            "action": "split",
            "segments": [
                {
                    "start": "1995-01",
                    "end": "1996-03",
                    "total": "0.00",
                    "source": "transfer_in",
                    "origin": "local",
                },
                {
                    "start": "1996-04",
                    "end": "1997-12",
                    "total": "0.00",
                    "source": "transfer_in",
                    "origin": "local",
                },
            ],
        }
        assert codes(report) == ["history.crosses-account-start"]

    def test_transfer_across_1992_12_is_no_crossing(self) -> None:
        """A transfer ending before 1996-04 is pre_account whatever its start."""
        transfer = seg(
            "1990-01", "1995-12", "300.00", source=Source.TRANSFER_IN, origin=Origin.LOCAL
        )
        report = run(with_history(seg("1983-07", "1989-12"), transfer))
        assert codes(report) == []

    def test_period_across_both_boundaries(self) -> None:
        """An enterprise period across both boundaries gets both findings, each
        with the whole fix: split at 1992-12|1993-01 and cut at 1996-03."""
        report = run(with_history(seg("1983-07", "1997-12", "900.00")))
        assert codes(report) == ["history.crosses-account-start", "history.crosses-box"]
        box_fix = one(report, "history.crosses-box").fix
        assert one(report, "history.crosses-account-start").fix == box_fix
        assert box_fix["action"] == "cut"
        assert [(s["start"], s["end"]) for s in box_fix["segments"]] == [
            ("1983-07", "1992-12"),
            ("1993-01", "1996-03"),
        ]
        assert box_fix["dropped"] == {"start": "1996-04", "end": "1997-12"}

    def test_text_report_shows_the_cut(self) -> None:
        """The text report says what replaces the line and what is left out."""
        from pension_collect.rules.report import format_text

        dossier = with_history(seg("1983-07", "1992-12"), seg("1993-01", "1997-06", "0"))
        report = run(dossier)
        zh = format_text(report, dossier)
        en = format_text(report, dossier, lang="en")
        assert "建议改为:1993-01..1996-03(1996-04..1997-06 属于养老账户,不录入)" in zh
        assert "replace by: 1993-01..1996-03 (1996-04..1997-06 is the pension account" in en
        assert "split into" not in en


class TestP3_4d:
    """[P3.4d] the rate reference table is missing from the sheet: the rule waits for one."""

    RATE_TABLE = """
[[individual_rate_reference.values]]
from = "1900-01"
value = [
  { start = "1993-01", end = "1995-12", rate = "0.02" },
  { start = "1996-01", end = "1996-03", rate = "0.03" },
]
source = "test: a table supplied by the user"
confidence = "unknown"
"""

    def _pack_with_table(self, tmp_path: Path) -> rules.RulePack:
        path = tmp_path / "parameters.toml"
        text = weihai2013.PARAMETERS_FILE.read_text(encoding="utf-8")
        path.write_text(text + self.RATE_TABLE, encoding="utf-8")
        return weihai2013.make_pack(load_parameters(path))

    def test_built_in_table_is_empty(self) -> None:
        """The bundled pack has no rate table and the rule is inactive."""
        pack = HOST.rule_pack("weihai-2013")
        assert pack.parameters.get("individual_rate_reference", ym("2013-08")) is None
        rule = pack.rule("history.rate-reference")
        assert not rule.is_active(pack.parameters, ym("2013-08"))

    def test_inactive_rule_reports_nothing(self) -> None:
        """Without a table an odd rate gives no finding."""
        red = seg("1993-01", "1996-03", "491.40", rate=Decimal("0.99"), source=Source.RED_BOOK)
        report = run(with_history(seg("1983-07", "1992-12"), red))
        assert codes(report) == []

    def test_supplied_table_flags_a_different_rate(self, tmp_path: Path) -> None:
        """With a supplied table a differing lower-box rate is history.rate-reference."""
        pack = self._pack_with_table(tmp_path)
        assert pack.rule("history.rate-reference").is_active(pack.parameters, ym("2013-08"))
        report = run(EXAMPLE, pack=pack)
        # Lower-box periods at 0.03 overlapping the 1993-01..1995-12 band at 0.02:
        # worker 0's red book, worker 1's 1994-07.., worker 2's 1995-01...
        assert [f.path for f in report.findings if f.code == "history.rate-reference"] == [
            "$.workers[0].history[1]",
            "$.workers[1].history[1]",
            "$.workers[2].history[0]",
        ]
        finding = report.for_worker(0)[0]
        assert finding.code == "history.rate-reference"
        assert (finding.path, finding.field, finding.expected, finding.severity) == (
            "$.workers[0].history[1]",
            "rate",
            "0.02",
            Severity.WARNING,
        )
        assert finding.procedure == "P3.4d"
        assert "0.03" in finding.message
        assert "1993-01..1995-12" in finding.message
        assert "0.02" in finding.message_zh

    def test_supplied_table_accepts_a_matching_rate(self, tmp_path: Path) -> None:
        """A lower-box rate equal to every band it overlaps gives no finding."""
        pack = self._pack_with_table(tmp_path)
        period = seg("1996-01", "1996-03", "30.00", rate=Decimal("0.03"))
        report = run(with_history(seg("1983-07", "1992-12"), period), pack=pack)
        assert codes(report) == []

    def test_supplied_table_ignores_the_upper_box(self, tmp_path: Path) -> None:
        """An upper-box rate is not compared with the lower-box table."""
        pack = self._pack_with_table(tmp_path)
        report = run(
            with_history(seg("1983-07", "1992-12", "5.00", rate=Decimal("0.5"))), pack=pack
        )
        assert codes(report) == []

    def test_report_traces_the_table(self, tmp_path: Path) -> None:
        """The report lists the table it used, with source and confidence."""
        report = run(EXAMPLE, pack=self._pack_with_table(tmp_path))
        dated = report.parameters["individual_rate_reference"]
        assert dated is not None
        assert dated.confidence is Confidence.UNKNOWN
        assert [str(b.rate) for b in dated.value] == ["0.02", "0.03"]


class TestP3_4e:
    """[P3.4e] the pension account from 1996-04 on; enterprise periods after it are not history."""

    def test_enterprise_period_after_account_start(self) -> None:
        """An enterprise period from 1996-04 on is history.enterprise-after-account-start."""
        report = run(with_history(seg("1983-07", "1992-12"), seg("1996-04", "1999-12", "300.00")))
        finding = one(report, "history.enterprise-after-account-start")
        assert (finding.path, finding.field, finding.procedure) == (
            "$.workers[0].history[1]",
            "start",
            "P3.4e",
        )
        assert "1996-04" in finding.message
        assert "1996-04" in finding.message_zh
        assert codes(report) == ["history.enterprise-after-account-start"]
        assert summary(report, "$.workers[0].history[1]") == (None, None, 45)

    def test_red_book_after_account_start_is_also_the_account(self) -> None:
        """A red-book line from 1996-04 on belongs to the account too."""
        red = seg("1996-04", "1996-12", "30.00", source=Source.RED_BOOK)
        report = run(with_history(seg("1983-07", "1992-12"), red))
        assert codes(report) == ["history.enterprise-after-account-start"]

    def test_first_account_year_may_hold_nine_months(self) -> None:
        """1996 holds April..December: 9 months pass, 10 are account.before-start."""
        account = list(EXAMPLE.workers[0].account or ())
        account[0] = attrs.evolve(account[0], months=10)
        report = run(with_worker(account=tuple(account)))
        finding = one(report, "account.before-start")
        assert (finding.path, finding.field, finding.procedure) == (
            "$.workers[0].account[0]",
            "months",
            "P3.4e",
        )
        assert "9" in finding.message
        assert codes(report) == ["account.before-start"]

    def test_year_before_the_account(self) -> None:
        """An account year 1995 is account.before-start on field year."""
        account = list(EXAMPLE.workers[0].account or ())
        account[0] = attrs.evolve(account[0], year=1995)
        bureau = attrs.evolve(EXAMPLE.workers[0].bureau, account=tuple(account))
        report = run(with_worker(account=tuple(account), bureau=bureau))
        finding = one(report, "account.before-start")
        assert (finding.path, finding.field) == ("$.workers[0].account[0]", "year")
        assert codes(report) == ["account.before-start"]

    def test_year_the_bureau_lacks(self) -> None:
        """An account year the bureau shows nothing for is account.not-in-bureau."""
        w = EXAMPLE.workers[0]
        assert w.bureau is not None
        assert w.bureau.account is not None
        bureau = attrs.evolve(
            w.bureau, account=tuple(y for y in w.bureau.account if y.year != 2005)
        )
        report = run(with_worker(bureau=bureau))
        finding = one(report, "account.not-in-bureau")
        assert (finding.path, finding.procedure, finding.severity) == (
            "$.workers[0].account[9]",
            "P3.4e",
            Severity.ERROR,
        )
        assert "2005" in finding.message
        assert "养老账户取消结清" in finding.message_zh
        assert codes(report) == ["account.not-in-bureau"]

    def test_bureau_shows_no_account_at_all(self) -> None:
        """A bureau account that is empty (a settled account) flags every handbook
        year the forms print, 1996..2011 (un-settle first); not 2012."""
        w = EXAMPLE.workers[0]
        years = [y.year for y in w.account or ()]
        assert years[-2:] == [2011, 2012]
        report = run(with_worker(bureau=attrs.evolve(w.bureau, account=())))
        flagged = [f.path for f in report.for_worker(0) if f.code == "account.not-in-bureau"]
        assert flagged == [f"$.workers[0].account[{i}]" for i in range(len(years) - 1)]

    def _bureau_without(self, *missing: int) -> Dossier:
        w = EXAMPLE.workers[0]
        assert w.bureau is not None
        assert w.bureau.account is not None
        shown = tuple(y for y in w.bureau.account if y.year not in missing)
        return with_worker(bureau=attrs.evolve(w.bureau, account=shown))

    def test_handbook_year_after_the_print_cut_off_is_no_reason(self) -> None:
        """Issue 9 finding 6 ([P3.3b]): the bureau lacking 2012 (after the 2011-12
        cut-off; the handbook has it) is no reason to un-settle."""
        assert codes(run(self._bureau_without(2012))) == []

    def test_last_year_before_the_print_cut_off_is_compared(self) -> None:
        """The other side of 2011-12|2012-01: the bureau lacking 2011 is flagged."""
        finding = one(run(self._bureau_without(2011)), "account.not-in-bureau")
        assert finding.path == "$.workers[0].account[15]"
        assert "2011" in finding.message

    def test_print_cut_off_is_the_packs_parameter(self, tmp_path: Path) -> None:
        """The cut-off is forms_print_until: moved to 2012-12, 2012 is compared."""
        text = weihai2013.PARAMETERS_FILE.read_text(encoding="utf-8")
        assert text.count('value = "2011-12"') == 1
        path = tmp_path / "parameters.toml"
        path.write_text(text.replace('value = "2011-12"', 'value = "2012-12"'), encoding="utf-8")
        pack = weihai2013.make_pack(load_parameters(path))
        finding = one(run(self._bureau_without(2012), pack=pack), "account.not-in-bureau")
        assert finding.path == "$.workers[0].account[16]"
        assert pack.rule("account.not-in-bureau").uses == ("forms_print_until",)

    def test_bureau_account_unknown(self) -> None:
        """Without the bureau's account (no sync of it) nothing is compared."""
        w = EXAMPLE.workers[0]
        report = run(with_worker(bureau=attrs.evolve(w.bureau, account=None)))
        assert codes(report) == []


class TestP3_4f:
    """[P3.4f] a worker is saved only when all three parts are collected."""

    def test_history_absent(self) -> None:
        """A worker without history is collection.incomplete on field history."""
        report = run(with_worker(history=None))
        finding = one(report, "collection.incomplete")
        assert (finding.path, finding.field, finding.procedure) == (
            "$.workers[0]",
            "history",
            "P3.4f",
        )
        assert "history" in finding.message
        assert "缴费历史" in finding.message_zh
        assert codes(report) == ["collection.incomplete"]

    def test_account_absent(self) -> None:
        """A worker without account is collection.incomplete on field account."""
        finding = one(run(with_worker(account=None)), "collection.incomplete")
        assert finding.field == "account"
        assert "养老账户" in finding.message_zh

    def test_both_absent(self) -> None:
        """Both parts absent give two findings."""
        report = run(with_worker(history=None, account=None))
        assert [f.field for f in report.for_worker(0)] == ["history", "account"]

    def test_empty_history_is_collected(self) -> None:
        """An empty history ("no red book") is collected: no finding, no months."""
        report = run(with_worker(history=()))
        assert codes(report) == []
        w = report.workers[0]
        assert (w.deemed, w.pre_account, w.post_account) == (0, 0, 0)

    def test_empty_account_is_collected(self) -> None:
        """An empty account is collected: no finding."""
        assert codes(run(with_worker(account=()))) == []


# -- person -----------------------------------------------------------------------------------


class TestPersonRules:
    """person.* codes on the worker's own fields."""

    def _id(self, number: str, **changes: Any) -> Dossier:
        return with_worker(id_number=number, bureau=None, **changes)

    @pytest.mark.parametrize(
        "number", ["37100219650302123", "3710021965030212391", "37100219650302123A", "A" * 18]
    )
    def test_id_format(self, number: str) -> None:
        """A number of the wrong shape is person.id-format."""
        report = run(self._id(number))
        finding = one(report, "person.id-format")
        assert (finding.path, finding.field, finding.severity) == (
            "$.workers[0]",
            "id_number",
            Severity.ERROR,
        )
        assert codes(report) == ["person.id-format"]

    def test_id_checksum(self) -> None:
        """A wrong check digit is person.id-checksum."""
        report = run(self._id("371002196503021238"))
        assert one(report, "person.id-checksum").field == "id_number"
        assert codes(report) == ["person.id-checksum"]

    def test_id_birth_date_not_a_date(self) -> None:
        """A month 13 inside the number is person.id-birth-date."""
        # 37100219651302123 has check digit 2 (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2).
        report = run(self._id("371002196513021232"))
        assert codes(report) == ["person.id-birth-date"]

    def test_id_birth_date_in_the_future(self) -> None:
        """A birth date after today (2026-11-28) is person.id-birth-date."""
        report = run(self._id("371002203001011236"))
        assert codes(report) == ["person.id-birth-date"]

    def test_id_legacy(self) -> None:
        """A 15-digit number is a person.id-legacy warning: the 18-digit form is
        expected, masked (it is the person's number); the fix says how to write
        it (19 after the area code, the check character appended)."""
        report = run(self._id(ZHANG_ID_15))
        finding = one(report, "person.id-legacy")
        assert (finding.path, finding.field, finding.severity, finding.expected) == (
            "$.workers[0]",
            "id_number",
            Severity.WARNING,
            ZHANG_ID[:6] + "*" * 8 + ZHANG_ID[-4:],
        )
        fix = finding.fix
        written = ZHANG_ID_15[: fix["after"]] + fix["insert"] + ZHANG_ID_15[fix["after"] :]
        assert written + fix["append"] == ZHANG_ID
        assert ZHANG_ID not in repr(finding)
        assert codes(report) == ["person.id-legacy"]
        assert report.workers[0].id_number_18 == ZHANG_ID

    def test_gender_mismatch(self) -> None:
        """Declared female on a man's number is person.gender-mismatch expecting male."""
        report = run(with_worker(gender=Gender.FEMALE))
        finding = one(report, "person.gender-mismatch")
        assert (finding.field, finding.expected) == ("gender", "male")
        assert "(male)" in finding.message
        assert "男" in finding.message_zh
        assert codes(report) == ["person.gender-mismatch"]

    def test_birth_date_mismatch(self) -> None:
        """A declared birth date other than the number's is person.birth-date-mismatch."""
        report = run(with_worker(birth_date=datetime.date(1965, 3, 3)))
        finding = one(report, "person.birth-date-mismatch")
        assert (finding.field, finding.expected) == ("birth_date", "1965-03-02")
        assert "1965-03-02" in finding.message_zh
        assert codes(report) == ["person.birth-date-mismatch"]

    def test_first_work_before_16(self) -> None:
        """First work the month before the 16th birthday month is a warning."""
        report = run(with_worker(first_work=ym("1981-02")))
        finding = one(report, "person.first-work-age")
        assert (finding.field, finding.severity) == ("first_work", Severity.WARNING)
        assert "1981-02" in finding.message
        assert "16" in finding.message_zh
        assert codes(report) == ["person.first-work-age"]

    def test_first_work_in_the_16th_birthday_month(self) -> None:
        """First work in the month of the 16th birthday is fine."""
        assert codes(run(with_worker(first_work=ym("1981-03")))) == []

    def test_duplicate_id(self) -> None:
        """A second worker with the same number is person.duplicate-id with related."""
        copy = attrs.evolve(EXAMPLE.workers[0], person_no=None)
        report = run(attrs.evolve(EXAMPLE, workers=(*EXAMPLE.workers, copy)))
        finding = one(report, "person.duplicate-id")
        assert (finding.path, finding.related, finding.field) == (
            "$.workers[3]",
            "$.workers[0]",
            "id_number",
        )

    def test_duplicate_id_in_legacy_form(self) -> None:
        """The legacy form of a number already used is a duplicate too."""
        copy = attrs.evolve(EXAMPLE.workers[0], id_number=ZHANG_ID_15)
        report = run(attrs.evolve(EXAMPLE, workers=(copy, *EXAMPLE.workers)))
        finding = one(report, "person.duplicate-id")
        assert (finding.path, finding.related) == ("$.workers[1]", "$.workers[0]")

    @pytest.mark.parametrize(
        "spelling", [ZHANG_ID_FULL_WIDTH, f" {ZHANG_ID} ", ZHANG_ID.replace("9", "9\u200b", 1)]
    )
    def test_duplicate_id_in_another_spelling(self, spelling: str) -> None:
        """Issue 9 finding 5: full-width digits or stray (invisible) spaces do not
        make another person: the worker is collected twice."""
        copy = attrs.evolve(EXAMPLE.workers[0], id_number=spelling, person_no=None)
        report = run(attrs.evolve(EXAMPLE, workers=(*EXAMPLE.workers, copy)))
        finding = one(report, "person.duplicate-id")
        assert (finding.path, finding.related) == ("$.workers[3]", "$.workers[0]")


# -- history, account: shape of the data -------------------------------------------------------


class TestHistoryRules:
    """history.* codes that check the segments' own consistency."""

    def test_month_order(self) -> None:
        """A period ending before it starts is history.month-order on field end."""
        report = run(with_history(seg("1983-07", "1989-12"), seg("1990-05", "1990-01")))
        finding = one(report, "history.month-order")
        assert (finding.path, finding.field) == ("$.workers[0].history[1]", "end")
        assert "1990-05" in finding.message
        assert codes(report) == ["history.month-order"]
        assert summary(report, "$.workers[0].history[1]") == (None, None, 0)

    def test_future(self) -> None:
        """A period ending after the collection month (2013-08) is history.future."""
        transfer = seg(
            "2012-01", "2013-09", "10.00", source=Source.TRANSFER_IN, origin=Origin.LOCAL
        )
        report = run(with_history(seg("1983-07", "1992-12"), transfer))
        finding = one(report, "history.future")
        assert (finding.path, finding.field) == ("$.workers[0].history[1]", "end")
        assert "2013-08" in finding.message
        assert codes(report) == ["history.future"]

    def test_future_uses_today_without_as_of(self) -> None:
        """Without as_of the collection month is today's (2026-11)."""
        transfer = seg(
            "2012-01", "2013-09", "10.00", source=Source.TRANSFER_IN, origin=Origin.LOCAL
        )
        dossier = attrs.evolve(with_history(seg("1983-07", "1992-12"), transfer), as_of=None)
        report = run(dossier)
        assert report.as_of == ym("2026-11")
        assert codes(report) == []

    def test_before_first_work(self) -> None:
        """A period starting before first work is history.before-first-work on field start."""
        report = run(with_history(seg("1983-06", "1992-12")))
        finding = one(report, "history.before-first-work")
        assert (finding.path, finding.field) == ("$.workers[0].history[0]", "start")
        assert "1983-07" in finding.message
        assert codes(report) == ["history.before-first-work"]

    def test_overlap(self) -> None:
        """Two periods sharing months are history.overlap with related."""
        report = run(with_history(seg("1983-07", "1992-12"), seg("1990-01", "1994-12", "50.00")))
        overlaps = [f for f in report.findings if f.code == "history.overlap"]
        assert [(f.path, f.related) for f in overlaps] == [
            ("$.workers[0].history[1]", "$.workers[0].history[0]")
        ]
        assert "1990-01..1992-12" in overlaps[0].message
        assert "line 1" in overlaps[0].message
        assert "第 1 行" in overlaps[0].message_zh

    def test_overlap_reports_the_later_start(self) -> None:
        """The finding sits on the later-starting period whatever the line order."""
        report = run(with_history(seg("1990-01", "1992-12", "50.00"), seg("1983-07", "1989-12")))
        assert codes(report) == []
        report = run(with_history(seg("1990-01", "1992-12", "50.00"), seg("1983-07", "1990-01")))
        finding = one(report, "history.overlap")
        assert (finding.path, finding.related) == (
            "$.workers[0].history[0]",
            "$.workers[0].history[1]",
        )
        assert "1990-01..1990-01" in finding.message

    def test_adjacent_periods_do_not_overlap(self) -> None:
        """Periods that meet without sharing a month are fine."""
        assert codes(run(EXAMPLE)) == []

    def test_identical_periods_pair_with_their_neighbour(self) -> None:
        """Three identical lines: two findings (line 2 with line 1, line 3 with
        line 2), not one per pair (issue 10: n(n-1)/2 findings before)."""
        line = seg("1983-07", "1992-12")
        report = run(with_history(line, line, line))
        overlaps = [(f.path, f.related) for f in report.findings if f.code == "history.overlap"]
        assert overlaps == [
            ("$.workers[0].history[1]", "$.workers[0].history[0]"),
            ("$.workers[0].history[2]", "$.workers[0].history[1]"),
        ]

    def test_overlap_with_the_period_reaching_furthest(self) -> None:
        """A long period holding two short ones: each short one is reported
        against the long one (which reaches furthest), with the shared months."""
        report = run(
            with_history(
                seg("1983-07", "1992-12"), seg("1985-01", "1986-12"), seg("1990-01", "1991-06")
            )
        )
        overlaps = [f for f in report.findings if f.code == "history.overlap"]
        assert [(f.path, f.related) for f in overlaps] == [
            ("$.workers[0].history[1]", "$.workers[0].history[0]"),
            ("$.workers[0].history[2]", "$.workers[0].history[0]"),
        ]
        assert "1985-01..1986-12" in overlaps[0].message
        assert "1990-01..1991-06" in overlaps[1].message

    def test_every_overlapping_period_is_reported_once(self) -> None:
        """Against a pairwise oracle over seeded random histories: the periods
        reported are exactly those sharing a month with an earlier-starting
        one (ties by end, then line); each once, against a period it does
        share months with, which starts no later; ``from..to`` are the shared
        months."""
        rng = random.Random(20131010)
        for _ in range(300):
            lines = []
            for _ in range(rng.randrange(2, 12)):
                start = rng.randrange(0, 60)
                lines.append((start, start + rng.randrange(-2, 24)))
            history = [
                seg(
                    str(YearMonth.from_index(1983 * 12 + a)),
                    str(YearMonth.from_index(1983 * 12 + b)),
                )
                for a, b in lines
            ]
            worker = attrs.evolve(EXAMPLE.workers[0], history=tuple(history))
            found = [
                f
                for f in rules.check_worker(
                    worker, pack=weihai2013.default_pack(), as_of=ym("2026-11"), today=TODAY
                )
                if f.code == "history.overlap"
            ]
            valid = [(a, b, i) for i, (a, b) in enumerate(lines) if a <= b]
            expected = {
                j
                for (a, b, j) in valid
                if any((c, d, i) < (a, b, j) and c <= b and a <= d for (c, d, i) in valid)
            }
            reported = [int(f.path.rsplit("[", 1)[1].rstrip("]")) for f in found]
            assert sorted(reported) == sorted(expected)
            assert len(found) <= max(len(valid) - 1, 0)
            for f, j in zip(found, reported, strict=True):
                assert f.related is not None
                i = int(f.related.rsplit("[", 1)[1].rstrip("]"))
                (a, b), (c, d) = lines[j], lines[i]
                assert (c, d, i) < (a, b, j)
                assert c <= b
                assert a <= d
                shared = (
                    YearMonth.from_index(1983 * 12 + max(a, c)),
                    YearMonth.from_index(1983 * 12 + min(b, d)),
                )
                assert f"{shared[0]}..{shared[1]}" in f.message
                assert f"line {i + 1}" in f.message

    def test_negative_amounts(self) -> None:
        """A negative total and base give one history.negative-amount each."""
        red = seg("1993-01", "1996-03", "-491.40", base=money("-420.00"), source=Source.RED_BOOK)
        report = run(with_history(seg("1983-07", "1992-12"), red))
        found = [(f.path, f.field) for f in report.findings if f.code == "history.negative-amount"]
        assert found == [("$.workers[0].history[1]", "total"), ("$.workers[0].history[1]", "base")]
        assert codes(report) == ["history.negative-amount"] * 2

    def test_negative_rate(self) -> None:
        """A negative rate is history.negative-amount on field rate."""
        red = seg("1993-01", "1996-03", "1.00", rate=Decimal("-0.03"), source=Source.RED_BOOK)
        report = run(with_history(seg("1983-07", "1992-12"), red))
        assert one(report, "history.negative-amount").field == "rate"

    def test_negative_upper_total_has_no_category(self) -> None:
        """A negative upper-box total is reported and leaves the category open."""
        report = run(with_history(seg("1983-07", "1992-12", "-1.00")))
        assert codes(report) == ["history.negative-amount"]
        assert summary(report, "$.workers[0].history[0]") == (Box.UPPER, None, 114)

    def test_transfer_fields_on_a_handbook_period(self) -> None:
        """origin or transferred_on outside a transfer is history.transfer-fields."""
        period = seg(
            "1993-01", "1996-03", "1.00", origin=Origin.LOCAL, transferred_on=ym("2001-01")
        )
        report = run(with_history(seg("1983-07", "1992-12"), period))
        found = [(f.path, f.field) for f in report.findings if f.code == "history.transfer-fields"]
        assert found == [
            ("$.workers[0].history[1]", "origin"),
            ("$.workers[0].history[1]", "transferred_on"),
        ]
        assert "origin" in report.findings[0].message or "origin" in report.findings[1].message


class TestAccountRules:
    """account.* codes on the pension account's years."""

    def _account(self, *changes: tuple[int, dict[str, Any]]) -> tuple[AccountYear, ...]:
        account = list(EXAMPLE.workers[0].account or ())
        for i, fields in changes:
            account[i] = attrs.evolve(account[i], **fields)
        return tuple(account)

    @pytest.mark.parametrize("months", [0, 13, -1])
    def test_months_out_of_range(self, months: int) -> None:
        """A year with months outside 1..12 is account.months."""
        report = run(with_worker(account=self._account((1, {"months": months}))))
        finding = one(report, "account.months")
        assert (finding.path, finding.field) == ("$.workers[0].account[1]", "months")
        assert str(months) in finding.message
        assert codes(report) == ["account.months"]

    def test_duplicate_year(self) -> None:
        """The same year twice is account.duplicate-year with related."""
        account = EXAMPLE.workers[0].account or ()
        report = run(with_worker(account=(*account, account[1])))
        finding = one(report, "account.duplicate-year")
        assert (finding.path, finding.related, finding.field) == (
            f"$.workers[0].account[{len(account)}]",
            "$.workers[0].account[1]",
            "year",
        )
        assert "1997" in finding.message
        assert codes(report) == ["account.duplicate-year"]

    def test_balance_off_by_more_than_a_fen(self) -> None:
        """A year-end balance 0.09 off is an account.balance warning expecting the sum."""
        # 2011 balance 23629.70 + 855.36 + 1496.88 + 531.67 = 26513.61
        report = run(with_worker(account=self._account((16, {"balance": money("26513.70")}))))
        finding = one(report, "account.balance")
        assert (finding.path, finding.field, finding.expected, finding.severity) == (
            "$.workers[0].account[16]",
            "balance",
            "26513.61",
            Severity.WARNING,
        )
        assert "2012" in finding.message
        assert codes(report) == ["account.balance"]

    def test_balance_within_a_fen(self) -> None:
        """A balance one fen off is tolerated."""
        report = run(with_worker(account=self._account((16, {"balance": money("26513.62")}))))
        assert codes(report) == []

    def test_first_account_year_is_never_checked(self) -> None:
        """Issue 9 finding 8: the first account year's opening balance is unknown,
        so a 1996 balance that is not personal + employer part + interest (187.20 +
        327.60 + 0.00 = 514.80) is no warning; 1997, the year after it, is checked
        against it."""
        report = run(with_worker(account=self._account((0, {"balance": money("515.80")}))))
        # 515.80 + 269.76 + 472.08 + 11.58 = 1269.22, but the handbook says 1268.22
        found = [(f.path, f.expected) for f in report.findings if f.code == "account.balance"]
        assert found == [("$.workers[0].account[1]", "1269.22")]
        assert codes(report) == ["account.balance"]

    def test_first_year_of_a_later_account_is_not_checked(self) -> None:
        """A worker whose account begins after 1996 (worker 2, from 2000): its first
        year is not checked either, its second is."""
        account = list(EXAMPLE.workers[2].account or ())
        assert account[0].year == 2000
        account[0] = attrs.evolve(account[0], balance=money("1.00"))
        report = run(with_worker(2, account=tuple(account)))
        found = [f.path for f in report.findings if f.code == "account.balance"]
        assert found == ["$.workers[2].account[1]"]

    def test_message_says_it_is_a_transcription_aid(self) -> None:
        """The warning says it is a transcription aid, the handbook stands, and the
        first year is not checked ([P3.4e]: nothing is calculated)."""
        report = run(with_worker(account=self._account((16, {"balance": money("26513.70")}))))
        finding = one(report, "account.balance")
        assert finding.severity is Severity.WARNING
        assert "transcription aid" in finding.message
        assert "handbook stands" in finding.message
        assert "first account year is never checked" in finding.message
        assert "仅为录入核对提示" in finding.message_zh
        assert "以养老手册为准" in finding.message_zh
        assert "账户首年不核对" in finding.message_zh
        assert weihai2013.default_pack().rule("account.balance").uses == ()
