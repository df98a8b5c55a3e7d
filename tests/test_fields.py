"""The worker editor's fields (pension_collect.workflow.fields): the layout as
the red book and the forms show it, what a clerk may type, every problem at
once, the window-only fields ([P3.3a]) and the round trip of every worker
the shipped strategies make (docs/workflow.md, "The worker editor's fields")."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pension_collect.model import (
    AccountYear,
    BureauRecord,
    Category,
    EmployerKind,
    Gender,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from pension_collect.testing.strategies import (
    WORKER_CODES,
    clean_workers,
    violating_workers,
    with_rate_reference,
    workers,
)
from pension_collect.text import printable
from pension_collect.workflow import (
    FIELD_KINDS,
    FormField,
    editor_sections,
    line_fields,
    window_only_fields,
    worker_fields,
    worker_from_fields,
)

ID18 = "371002196503021239"
#: The pack with a reference-rate table: every code has its violators.
RATE_PACK = with_rate_reference([("1993-01", "1996-03", "0.03")])
UPPER = Segment(start="1983-07", end="1992-12", total="0")
LOWER = Segment(start="1993-01", end="1996-03", total="1234.50", rate="0.03", source="red_book")
TRANSFER = Segment(start="1994-01", end="1994-12", source="transfer_in", origin="local")
INSTITUTION = Segment(
    start="1980-01", end="1982-12", employer_kind="institution", remark="机关事业缴费"
)
YEAR = AccountYear(
    year=1997,
    months=12,
    base="500.00",
    personal="60.00",
    employer_part="40.00",
    interest="1.50",
    balance="101.50",
)


def worker(**changes: object) -> Worker:
    base = Worker(
        id_number=ID18,
        name="王五",
        first_work="1983-07",
        gender="male",
        birth_date="1965-03-02",
        history=(INSTITUTION, LOWER, UPPER, TRANSFER),
        account=(YEAR,),
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def form(w: Worker) -> dict[str, str]:
    return {f.path: f.value for f in worker_fields(w)}


# -- the layout ------------------------------------------------------------------


def test_fields_in_the_red_books_order() -> None:
    fields = worker_fields(worker())
    person = [f.path for f in fields if f.section == "person"]
    assert person == [
        "$.id_number",
        "$.name",
        "$.person_no",
        "$.gender",
        "$.birth_date",
        "$.ethnicity",
        "$.hukou",
        "$.first_work",
        "$.history",
        "$.account",
    ]
    # History lines by section: upper box, lower box, transfers, institution.
    lines = [(f.section, f.line) for f in fields if f.path.endswith(".start")]
    assert lines == [("upper", 2), ("lower", 1), ("transfer", 3), ("institution", 0)]
    assert [f.path for f in fields if f.section == "account"] == [
        "$.account[0].year",
        "$.account[0].months",
        "$.account[0].base",
        "$.account[0].personal",
        "$.account[0].employer_part",
        "$.account[0].interest",
        "$.account[0].balance",
    ]
    assert {f.kind for f in fields} <= set(FIELD_KINDS)


def test_field_values_labels_and_choices() -> None:
    by_path = {f.path: f for f in worker_fields(worker())}
    end = by_path["$.history[2].end"]
    assert (end.label_zh, end.label_en, end.kind, end.value) == (
        "终止年月",
        "end month",
        "month",
        "1992-12",
    )
    assert end.required
    assert end.field == "end"
    total = by_path["$.history[1].total"]
    assert (total.kind, total.value) == ("money", "1234.50")
    assert by_path["$.history[1].rate"].value == "0.03"
    assert by_path["$.birth_date"].value == "1965-03-02"
    assert by_path["$.person_no"].value == ""
    gender = by_path["$.gender"]
    assert (gender.kind, gender.value) == ("choice", "male")
    assert gender.choices == (("male", "男", "male"), ("female", "女", "female"))
    assert by_path["$.history"].value == "yes"
    assert by_path["$.account[0].balance"].value == "101.50"
    # Personal data never in a repr.
    assert "王五" not in repr(by_path["$.name"])
    assert ID18 not in repr(by_path["$.id_number"])


def test_editor_sections_name_the_packs_months() -> None:
    names = [(s.name, s.label_zh) for s in editor_sections()]
    assert [n for n, _ in names] == [
        "person",
        "upper",
        "lower",
        "transfer",
        "institution",
        "account",
    ]
    assert "1992-12" in names[1][1]
    assert "1993-01 至 1996-03" in names[2][1]


def test_line_fields_of_an_added_line_are_empty() -> None:
    added = line_fields("history", 4)
    assert [f.path for f in added][:2] == ["$.history[4].start", "$.history[4].end"]
    assert all(f.value == "" for f in added)
    assert {f.section for f in added} == {"lower"}
    assert len(line_fields("account", 0)) == 7


# -- reading what a clerk typed ----------------------------------------------------


@pytest.mark.parametrize("typed", ["1996-03", "1996.03", "199603", "1996年3月", "１９９６.０３"])
def test_months_as_a_clerk_types_them(typed: str) -> None:
    w = worker()
    fields = form(w) | {"$.history[0].end": typed}
    new, problems = worker_from_fields(w, fields)
    assert problems == ()
    assert new is not None
    assert new.history is not None
    assert new.history[0].end == YearMonth(1996, 3)


@pytest.mark.parametrize(
    ("typed", "amount"), [("1,234.5", "1234.50"), ("¥12", "12.00"), ("0", "0.00")]
)
def test_amounts_as_a_clerk_types_them(typed: str, amount: str) -> None:
    w = worker()
    new, problems = worker_from_fields(w, form(w) | {"$.history[1].total": typed})
    assert problems == ()
    assert new is not None
    assert new.history is not None
    assert new.history[1].total == Decimal(amount)


def test_choices_by_chinese_label_or_value() -> None:
    w = worker()
    fields = form(w) | {"$.gender": "女", "$.history[2].category": "视同缴费"}
    new, problems = worker_from_fields(w, fields)
    assert problems == ()
    assert new is not None
    assert new.gender is Gender.FEMALE
    assert new.history is not None
    assert new.history[2].category is Category.DEEMED


def test_every_problem_at_once_each_at_its_path() -> None:
    w = worker()
    fields = form(w) | {
        "$.history[0].start": "1996-13",
        "$.history[1].total": "12.345",
        "$.name": "",
        "$.birth_date": "1965-02-30",
        "$.account[0].months": "twelve",
        "$.gender": "男的",
        "$.nickname": "x",
        "$.history[3].remark": "a\x00b",
    }
    new, problems = worker_from_fields(w, fields)
    assert new is None
    paths = [p.path for p in problems]
    assert sorted(paths) == sorted(
        [
            "$.history[0].start",
            "$.history[1].total",
            "$.name",
            "$.birth_date",
            "$.account[0].months",
            "$.gender",
            "$.nickname",
            "$.history[3].remark",
        ]
    )
    for problem in problems:
        assert problem.message
        assert problem.message_zh
        assert "twelve" not in problem.message + problem.message_zh
        assert "男的" not in problem.message + problem.message_zh
    by_path = {p.path: p for p in problems}
    assert "1996-04" in by_path["$.history[0].start"].message  # says what to type
    assert "两位小数" in by_path["$.history[1].total"].message_zh
    assert "U+0000" in by_path["$.history[3].remark"].message


def test_a_new_worker_needs_its_required_fields() -> None:
    new, problems = worker_from_fields(None, {"$.gender": "male"})
    assert new is None
    assert sorted(p.path for p in problems) == ["$.first_work", "$.id_number", "$.name"]
    new, problems = worker_from_fields(
        None, {"$.id_number": ID18, "$.name": "李四", "$.first_work": "1990年7月"}
    )
    assert problems == ()
    assert new == Worker(id_number=ID18, name="李四", first_work="1990-07")


def test_model_refusals_come_at_the_field() -> None:
    new, problems = worker_from_fields(
        None, {"$.id_number": ID18, "$.name": "   ", "$.first_work": "1990-07"}
    )
    assert new is None
    assert [p.path for p in problems] == ["$.name"]
    assert problems[0].message_zh == "不能为空"
    long = "x" * 1001
    _, problems = worker_from_fields(worker(), form(worker()) | {"$.history[0].remark": long})
    assert [p.path for p in problems] == ["$.history[0].remark"]
    assert "1,001" in problems[0].message


def test_the_dossier_limits_on_numbers() -> None:
    w = worker()
    fields = form(w) | {"$.account[0].year": ID18[:12], "$.history[1].total": "9" * 16}
    new, problems = worker_from_fields(w, fields)
    assert new is None
    assert sorted(p.path for p in problems) == ["$.account[0].year", "$.history[1].total"]
    assert all(ID18[:12] not in p.message + p.message_zh for p in problems)


def test_required_line_fields_and_not_text() -> None:
    w = worker()
    fields: dict[str, object] = {**form(w), "$.history[9].total": "5", "$.account[0].year": 1997}
    new, problems = worker_from_fields(w, fields)  # type: ignore[arg-type]
    assert new is None
    assert sorted(p.path for p in problems) == [
        "$.account[0].year",
        "$.history[9].end",
        "$.history[9].start",
    ]


# -- lines and parts ---------------------------------------------------------------


def test_added_removed_and_blank_lines() -> None:
    w = worker()
    fields = {k: v for k, v in form(w).items() if not k.startswith("$.history[3].")}
    fields |= {f.path: "" for f in line_fields("history", 7)}  # an empty added row
    fields |= {"$.history[5].start": "1993-01", "$.history[5].end": "1993-06"}
    new, problems = worker_from_fields(w, fields)
    assert problems == ()
    assert new is not None
    assert new.history == (
        INSTITUTION,
        LOWER,
        UPPER,
        Segment(start="1993-01", end="1993-06", source=Source.HANDBOOK),
    )


def test_part_flags() -> None:
    w = worker()
    history_paths = [k for k in form(w) if k.startswith("$.history[")]
    not_collected = form(w) | {"$.history": "否"} | dict.fromkeys(history_paths, "")
    new, problems = worker_from_fields(w, not_collected)
    assert problems == ()
    assert new is not None
    assert new.history is None
    empty = {"$.history": "yes"}
    new, _ = worker_from_fields(w, empty)
    assert new is not None
    assert new.history == ()
    assert new.account == w.account  # a part not sent is kept
    new, problems = worker_from_fields(w, form(w) | {"$.history": "no"})
    assert new is None
    assert [p.path for p in problems] == ["$.history"]
    _, problems = worker_from_fields(w, {"$.account": "maybe"})
    assert [p.path for p in problems] == ["$.account"]


def test_unchanged_values_are_kept_exactly() -> None:
    odd = Segment(start="1993-01", end="1993-12", total=Decimal("1E+2"), rate=Decimal("0.030"))
    w = worker(history=(odd,))
    assert form(w)["$.history[0].total"] == "100"
    new, problems = worker_from_fields(w, form(w))
    assert problems == ()
    assert new is not None
    assert new.history is not None
    assert new.history[0].total is not None
    assert new.history[0].total.as_tuple() == Decimal("1E+2").as_tuple()
    assert new.bureau is w.bureau


# -- window-only fields ([P3.3a]) ----------------------------------------------------


def test_window_only_fields() -> None:
    bureau = BureauRecord(person_no="37100200123", id_number=ID18, name="王五")
    w = worker(bureau=bureau, person_no="37100200123")
    locked = window_only_fields(w)
    assert [(f.path, f.code, f.procedure, f.differs) for f in locked] == [
        ("$.id_number", "workflow.window-only", "P3.3a", False),
        ("$.name", "workflow.window-only", "P3.3a", False),
        ("$.person_no", "workflow.bureau-number", None, False),
    ]
    assert "社保窗口" in locked[0].reason_zh
    assert "window" in locked[1].reason
    # The name typed differently (full-width spaces around are the same name).
    assert [f.differs for f in window_only_fields(attrs.evolve(w, name=" 王五 "))][1] is False
    assert [f.differs for f in window_only_fields(attrs.evolve(w, name="王六"))][1] is True
    assert window_only_fields(worker()) == ()
    assert [f.field for f in window_only_fields(None, BureauRecord(name="王五"))] == ["name"]


def test_a_window_only_field_is_refused_when_changed() -> None:
    bureau = BureauRecord(id_number=ID18, name="王五")
    w = worker(bureau=bureau)
    new, problems = worker_from_fields(w, form(w) | {"$.name": "王六"})
    assert new is None
    assert [p.path for p in problems] == ["$.name"]
    assert "王六" not in problems[0].message_zh
    # The bureau's value back is allowed (what the restore fix does).
    wrong = attrs.evolve(w, name="王六")
    new, problems = worker_from_fields(wrong, form(wrong) | {"$.name": "王五"})
    assert problems == ()
    assert new is not None
    assert new.name == "王五"


# -- properties --------------------------------------------------------------------


def _empty_text_absent(w: Worker) -> Worker:
    """What a form without its base gives back: the bureau's record is not a
    field, and an empty text field is nothing typed."""

    def none(text: str | None) -> str | None:
        return None if text == "" else text

    history = w.history
    if history is not None:
        history = tuple(
            attrs.evolve(s, employer_name=none(s.employer_name), remark=none(s.remark))
            for s in history
        )
    return attrs.evolve(
        w,
        bureau=None,
        person_no=none(w.person_no),
        ethnicity=none(w.ethnicity),
        history=history,
    )


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    workers()
    | clean_workers()
    | st.sampled_from(sorted(WORKER_CODES)).flatmap(
        lambda code: violating_workers(code, pack=RATE_PACK)
    )
)
def test_fields_round_trip_every_worker(w: Worker) -> None:
    fields = worker_fields(w)
    assert all(isinstance(f, FormField) and isinstance(f.value, str) for f in fields)
    texts = {f.path: f.value for f in fields}
    assert len(texts) == len(fields)
    assert worker_from_fields(w, texts) == (w, ())
    assert worker_from_fields(None, texts) == (_empty_text_absent(w), ())


_PATHS = [f.path for f in worker_fields(worker())] + [
    "$.history[12].end",
    "$.bureau.name",
    "$",
    "",
    "$.history[99999999999].start",
]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.booleans(),
    st.dictionaries(st.sampled_from(_PATHS) | st.text(max_size=12), st.text(max_size=12)),
)
def test_never_raises_on_text(with_base: bool, fields: dict[str, str]) -> None:
    new, problems = worker_from_fields(worker() if with_base else None, fields)
    assert (new is None) == bool(problems)
    for problem in problems:
        # At the path of a field or of a part, or at the unknown key sent
        # (its control characters escaped).
        assert problem.path.startswith("$") or problem.path in {printable(k) for k in fields}
        assert problem.message
        assert problem.message_zh


def test_birth_date_kept_as_a_date() -> None:
    w = worker()
    new, _ = worker_from_fields(w, form(w) | {"$.birth_date": "1965年3月12日"})
    assert new is not None
    assert new.birth_date == _dt.date(1965, 3, 12)
    assert EmployerKind.INSTITUTION is (new.history or ())[0].employer_kind
