"""Excel rosters (pension_collect.xlsx, docs/xlsx.md): the round trip, the
workbook's layout, what clerks type, every problem at its cell, hostile
workbooks.

Workbooks "filled in by a clerk" are written here with openpyxl's ordinary
(not write-only) mode, cell by cell, the way Excel stores what is typed:
dates as date cells, numbers as numbers, text as text.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings

from pension_collect import dossier as dossier_format
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.errors import PensionCollectError
from pension_collect.limits import Limits
from pension_collect.model import AccountYear, Dossier, Employer, Segment, Worker, YearMonth
from pension_collect.testing.strategies import (
    clean_dossiers,
    dossiers,
    every_violation_dossiers,
)
from pension_collect.xlsx import (
    XlsxImportError,
    XlsxPlace,
    XlsxProblem,
    XlsxUnavailable,
    read_xlsx,
    read_xlsx_places,
    write_template,
    write_xlsx,
)

EXAMPLE = loads(example_dossier_text())
SHEET_TITLES = [
    "说明",
    "单位",
    "职工",
    "缴费历史",
    "养老账户",
    "社保个人信息",
    "社保缴费历史",
    "社保养老账户",
]
#: Writing a workbook takes some 50 ms: the round trips are bounded.
ROUND_TRIP = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def problems_of(path: Path, limits: Limits | None = None) -> list[XlsxProblem]:
    with pytest.raises(XlsxImportError) as caught:
        read_xlsx(path, limits=limits)
    return list(caught.value.problems)


def codes_at(problems: list[XlsxProblem]) -> set[tuple[str, str | None]]:
    return {(p.code, p.cell) for p in problems}


# -- the round trip ----------------------------------------------------------------


@ROUND_TRIP
@given(dossiers(mix_in=every_violation_dossiers()))
def test_round_trip_of_any_dossier(
    tmp_path_factory: pytest.TempPathFactory, dossier: Dossier
) -> None:
    """Any dossier the format holds (every rule broken, any text, the bureau's
    blocks, absent and empty parts) comes back equal."""
    path = tmp_path_factory.mktemp("rt") / "d.xlsx"
    write_xlsx(dossier, path)
    assert read_xlsx(path) == dossier


@ROUND_TRIP
@given(clean_dossiers())
def test_round_trip_of_clean_dossiers(
    tmp_path_factory: pytest.TempPathFactory, dossier: Dossier
) -> None:
    path = tmp_path_factory.mktemp("rt") / "d.xlsx"
    write_xlsx(dossier, path)
    assert read_xlsx(path) == dossier


def test_round_trip_of_the_example(tmp_path: Path) -> None:
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    back = read_xlsx(tmp_path / "e.xlsx")
    assert back == EXAMPLE
    assert dossier_format.to_dict(back) == dossier_format.to_dict(EXAMPLE)


def _one_worker(**segment: Any) -> Dossier:
    return Dossier(
        employer=Employer(unit_no="10012345", name="威海示例", credit_code=""),
        workers=(
            Worker(
                id_number="371002196503021239",
                name="张伟",
                first_work="1983-07",
                birth_date=dt.date(1850, 2, 3),
                history=(Segment(start="1900-01", end="2199-12", **segment),),
                account=(),
            ),
        ),
        as_of=YearMonth(2013, 8),
    )


@pytest.mark.parametrize(
    "segment",
    [
        {"remark": "=SUM(A1:A9)", "employer_name": "+1"},  # text, never a formula
        {"remark": "_x0041_ and _x005F_", "employer_name": "_x"},  # looks like an escape
        {"remark": "\ufffe\uffff", "employer_name": "\u200b"},  # no XML character
        {"remark": "", "employer_name": " "},  # empty text is ="" ; spaces kept
        {"total": Decimal("123456789012345.67")},  # more digits than a float holds
        {"total": Decimal("-0.01"), "base": Decimal("0"), "rate": Decimal("0.000001")},
        {"rate": Decimal("999.999999")},
    ],
)
def test_round_trip_of_awkward_values(tmp_path: Path, segment: dict[str, Any]) -> None:
    dossier = _one_worker(**segment)
    write_xlsx(dossier, tmp_path / "a.xlsx")
    assert read_xlsx(tmp_path / "a.xlsx") == dossier


def test_cells_are_typed_and_formatted(tmp_path: Path) -> None:
    """Months are date cells shown yyyy-mm, amounts numbers shown with two
    places, a choice its Chinese label, text a text cell; an amount a float
    cannot hold is text; an empty text the formula =""."""
    dossier = _one_worker(
        total=Decimal("453.60"), remark="", employer_name="=x", category="deemed", source="red_book"
    )
    dossier = Dossier(
        employer=dossier.employer,
        workers=(
            dossier.workers[0],
            Worker(
                id_number="x",
                name="李",
                first_work="1990-01",
                account=(
                    AccountYear(
                        year=1996,
                        months=9,
                        base=Decimal("123456789012345.67"),
                        personal=Decimal("1"),
                        employer_part=Decimal("2"),
                        interest=Decimal("3"),
                        balance=Decimal("4"),
                    ),
                ),
            ),
        ),
    )
    write_xlsx(dossier, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    history = wb["缴费历史"]
    assert [c.value for c in history[1]][:4] == [
        "职工序号",
        "职工姓名(核对)",
        "起始年月",
        "截止年月",
    ]
    assert [c.value for c in history[2]][:4] == ["worker", "worker_name", "start", "end"]
    start, total = history["C3"], history["E3"]
    assert start.value == "1900-01"  # 1906 and before: text (a date cell would look typed)
    assert history["D3"].value == dt.datetime(2199, 12, 1)
    assert history["D3"].number_format == "yyyy-mm"
    assert total.value == 453.6
    assert total.number_format == "#,##0.00"
    assert history["H3"].value == "视同缴费"
    assert history["I3"].value == "小红本"
    assert history["M3"].value == "=x"
    assert history["M3"].data_type == "s"
    assert history["N3"].value == '=""'
    assert history["N3"].data_type == "f"
    account = wb["养老账户"]
    assert account["E3"].value == "123456789012345.67"
    assert account["E3"].data_type == "s"
    assert account["F3"].value == 1
    workers = wb["职工"]
    assert workers["G3"].value == "1850-02-03"  # before 1900: text
    assert workers["J3"].value == "是"
    assert workers["K3"].value == "是"
    assert workers["J4"].value == "否"
    assert workers["K4"].value == "是"
    assert wb["单位"]["C3"].value == '=""'


def test_layout(tmp_path: Path) -> None:
    """Sheets in order, frozen headers, drop-downs for every choice, widths that
    fit the headers and the data, text columns formatted as text."""
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "e.xlsx")
    assert wb.sheetnames == SHEET_TITLES
    for title in SHEET_TITLES[1:]:
        assert wb[title].freeze_panes == "A3"
    history = wb["缴费历史"]
    lists = {str(v.sqref): v.formula1 for v in history.data_validations.dataValidation}
    assert lists == {
        "H3:H1048576": '"视同缴费,实行账户前缴费,实行账户后缴费"',
        "I3:I1048576": '"养老手册,小红本,转入"',
        "J3:J1048576": '"企业,机关事业"',
        "K3:K1048576": '"本市,跨市"',
    }
    workers = wb["职工"]
    lists = {str(v.sqref): v.formula1 for v in workers.data_validations.dataValidation}
    assert lists == {
        "F3:F1048576": '"男,女"',
        "I3:I1048576": '"城镇,农村"',
        "J3:J1048576": '"是,否"',
        "K3:K1048576": '"是,否"',
    }
    # 身份证号码: 18 characters, text; 缴费历史已采集: 7 Chinese characters (14 wide)
    assert workers.column_dimensions["B"].width >= 18
    assert workers.column_dimensions["J"].width >= 14
    assert workers.column_dimensions["B"].number_format == "@"
    assert wb["单位"].column_dimensions["B"].width >= 2 * len("威海示例机械有限公司")


def test_template(tmp_path: Path) -> None:
    write_template(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == SHEET_TITLES
    for title in SHEET_TITLES[1:]:
        assert wb[title].max_row == 2  # the two header rows, no data
    assert codes_at(problems_of(tmp_path / "t.xlsx")) == {("xlsx.no-employer", "单位!3:3")}


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing leaves the old file whole and nothing beside it;
    a symbolic link is not written through."""
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old")
    from pension_collect.xlsx import _write

    def broken(ws: Any, cells: Any, rows: Any) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(_write, "_write_rows", broken)
    with pytest.raises(RuntimeError):
        write_xlsx(EXAMPLE, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]
    monkeypatch.undo()
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    with pytest.raises(PensionCollectError) as caught:
        write_xlsx(EXAMPLE, link)
    assert caught.value.code == "output.symlink"
    assert target.read_bytes() == b"old"


def test_without_openpyxl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(XlsxUnavailable) as caught:
        write_xlsx(EXAMPLE, tmp_path / "x.xlsx")
    assert isinstance(caught.value, ImportError)
    assert "pension-collect[xlsx]" in str(caught.value)
    with pytest.raises(XlsxUnavailable):
        read_xlsx(tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


# -- a clerk's workbook ---------------------------------------------------------------

HISTORY_HEADERS = [
    "职工序号",
    "职工姓名(核对)",
    "起始年月",
    "截止年月",
    "缴费合计",
    "缴费基数",
    "缴费比例",
    "账户类别",
    "来源",
]
ACCOUNT_HEADERS = [
    "职工序号",
    "年度",
    "缴费月数",
    "缴费基数",
    "个人缴费划入",
    "单位划入",
    "利息",
    "累计储存额",
]


def clerk_workbook(path: Path, *, broken: bool) -> None:
    """A workbook as a clerk fills one in Excel: date cells, text months with
    dots and full-width digits, amounts as numbers and as text with commas,
    trailing spaces, no English header row on one sheet, an extra sheet of
    notes. ``broken`` adds a bad month, a bad amount, a merged header cell
    (which hides a required column), a missing required column, a formula and
    an extra sheet with data."""
    wb = openpyxl.Workbook()
    employer = wb.active
    employer.title = "单位"
    employer.append(["单位编号", "单位名称", "采集月份"])  # no English row: data in row 2
    employer.append(["10012345", "威海示例机械有限公司 ", dt.datetime(2013, 8, 1)])

    workers = wb.create_sheet("职工")
    workers.append(
        [
            "序号",
            "身份证号码",
            "姓名",
            "参加工作时间",
            "性别",
            "出生日期",
            "缴费历史已采集",
            "养老账户已采集",
        ]
    )
    workers.append(
        [
            "no",
            "id_number",
            "name",
            "first_work",
            "gender",
            "birth_date",
            "history_collected",
            "account_collected",
        ]
    )
    workers.append(
        [
            1,
            "371002196503021239",
            "张伟",
            dt.datetime(1983, 7, 1),
            "男",
            dt.datetime(1965, 3, 2),
            "是",
            None,
        ]
    )
    workers.append([2, "371082197011152423", "李娜", "1996.04", "女 ", "1970.11.15", None, "是"])

    history = wb.create_sheet("缴费历史")
    history.append(HISTORY_HEADERS)
    history.append(
        ["worker", "worker_name", "start", "end", "total", "base", "rate", "category", "source"]
    )
    history.append(
        [1, "张伟", dt.datetime(1983, 7, 1), "1992.12", "0", None, None, "视同缴费", None]
    )
    history.append(
        [
            1,
            "张伟",
            "１９９３－０１",
            "199603",
            491.4,
            "1,260.00",
            "3%",
            "实行账户前缴费",
            "小红本 ",
        ]
    )
    history.append(
        [
            2,
            None,
            "1996-13" if broken else "1996-04",
            201312,
            None,
            1234.567 if broken else 1234.56,
            0.08,
            None,
            None,
        ]
    )

    account = wb.create_sheet("养老账户")
    headers = [h for h in ACCOUNT_HEADERS if not (broken and h == "利息")]
    account.append(headers)
    values = {
        "职工序号": 1,
        "年度": 1996,
        "缴费月数": "9",
        "缴费基数": 450,
        "个人缴费划入": "162",
        "单位划入": 283.5,
        "利息": 0,
        "累计储存额": "445.50",
    }
    account.append([values[h] for h in headers])

    if broken:
        history.merge_cells("C1:D1")  # the clerk merged 起始年月 and 截止年月
        history["E5"] = "=E3+E4"
        notes = wb.create_sheet("Sheet1")
        notes["A1"] = "备忘:李娜的红本待补"
    else:
        wb.create_sheet("Sheet2")  # an empty extra sheet is harmless
    wb.save(path)


def test_clerk_workbook_reads(tmp_path: Path) -> None:
    clerk_workbook(tmp_path / "c.xlsx", broken=False)
    got = read_xlsx(tmp_path / "c.xlsx")
    assert got.as_of == YearMonth(2013, 8)
    assert got.employer.name == "威海示例机械有限公司 "  # text is kept as typed
    zhang, li = got.workers
    assert zhang.first_work == YearMonth(1983, 7)
    assert str(zhang.birth_date) == "1965-03-02"
    assert li.first_work == YearMonth(1996, 4)
    assert str(li.birth_date) == "1970-11-15"
    assert li.gender is not None
    assert li.gender.value == "female"
    assert zhang.history is not None
    assert len(zhang.history) == 2
    deemed, red = zhang.history
    assert (str(deemed.start), str(deemed.end), deemed.total) == (
        "1983-07",
        "1992-12",
        Decimal("0"),
    )
    assert deemed.category is not None
    assert deemed.category.value == "deemed"
    assert (str(red.start), str(red.end)) == ("1993-01", "1996-03")
    assert (red.total, red.base, red.rate) == (Decimal("491.40"), Decimal("1260"), Decimal("0.03"))
    assert red.source.value == "red_book"
    # 养老账户已采集 left empty: collected, since the worker has account rows
    assert zhang.account is not None
    assert len(zhang.account) == 1
    year = zhang.account[0]
    assert (year.year, year.months, year.base, year.employer_part, year.balance) == (
        1996,
        9,
        Decimal("450"),
        Decimal("283.5"),
        Decimal("445.5"),
    )
    assert li.history is not None
    assert [str(s.start) for s in li.history] == ["1996-04"]
    assert li.history[0].base == Decimal("1234.56")
    assert li.history[0].rate == Decimal("0.08")
    assert li.account == ()  # 是, and no rows: collected, nothing to enter


def test_clerk_workbook_problems(tmp_path: Path) -> None:
    """Every problem at once, each at its cell, and no dossier."""
    path = tmp_path / "c.xlsx"
    clerk_workbook(path, broken=True)
    problems = problems_of(path)
    assert codes_at(problems) == {
        ("xlsx.merged", "缴费历史!C1:D1"),
        ("xlsx.no-header", "缴费历史!D3"),
        ("xlsx.missing-column", "缴费历史!1:1"),
        ("xlsx.month", "缴费历史!C5"),
        ("xlsx.money", "缴费历史!F5"),
        ("xlsx.formula", "缴费历史!E5"),
        ("xlsx.missing-column", "养老账户!1:1"),
        ("xlsx.unknown-sheet", "Sheet1"),
    }
    by_cell = {p.cell: p for p in problems}
    month = by_cell["缴费历史!C5"]
    assert (month.sheet, month.row, month.column) == ("缴费历史", 5, "起始年月")
    assert "1996-04" in month.message
    assert "1996-04" in month.message_zh
    money = by_cell["缴费历史!F5"]
    assert (money.row, money.column) == (5, "缴费基数")
    assert "3 decimal places" in money.message
    assert "两位小数" in money.message_zh
    missing = {p.column for p in problems if p.code == "xlsx.missing-column"}
    assert missing == {"截止年月", "利息"}
    for problem in problems:
        assert problem.message
        assert problem.message_zh
        assert "张伟" not in problem.message + problem.message_zh


def test_error_text_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    clerk_workbook(path, broken=True)
    with pytest.raises(XlsxImportError) as caught:
        read_xlsx(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"8 problems in {path}; the workbook is not a readable dossier"
    assert len(lines) == 9
    assert "  缴费历史!C5 [起始年月]: " in "\n".join(lines)


def test_dossier_reader_problems_at_their_cells(tmp_path: Path) -> None:
    """What the dossier reader refuses (a blank name, a control character, a
    month number beyond the limit) is named by its cell too."""
    path = tmp_path / "r.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["职工"]["C4"] = "   "  # 姓名 of the second worker: blank
    wb["缴费历史"]["N3"] = "备注\u202e"  # a bidirectional control in a remark
    wb["养老账户"]["D3"] = 1234567890123  # 缴费月数: an identity-number-sized count
    wb.save(path)
    problems = problems_of(path)
    assert codes_at(problems) == {
        ("xlsx.dossier", "职工!C4"),
        ("xlsx.dossier", "缴费历史!N3"),
        ("xlsx.dossier", "养老账户!D3"),
    }
    by_cell = {p.cell: p for p in problems}
    assert by_cell["缴费历史!N3"].column == "备注"
    assert "U+202E" in by_cell["缴费历史!N3"].message
    assert "1234567890123" not in by_cell["养老账户!D3"].message


def test_read_xlsx_places_names_the_cell_of_each_value(tmp_path: Path) -> None:
    """read_xlsx_places reads the dossier read_xlsx reads and says, for a path
    of it, the cell its value came from: checked against the cells
    themselves, with an empty row between two workers on the sheet 职工."""
    path = tmp_path / "r.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["职工"].insert_rows(4)  # the second worker moves to row 5
    wb.save(path)
    dossier, places = read_xlsx_places(path)
    assert dossier == read_xlsx(path) == EXAMPLE
    assert repr(places) == "XlsxPlaces()"
    wb = openpyxl.load_workbook(path)

    def value(place: XlsxPlace) -> Any:
        assert place.cell is not None
        sheet, cell = place.cell.split("!")
        return wb[sheet][cell].value

    assert places.place("$.workers[1].name") == XlsxPlace("职工", 5, "姓名", "职工!C5")
    assert value(places.place("$.workers[1].name")) == EXAMPLE.workers[1].name
    assert places.place("$.workers[1]") == XlsxPlace("职工", 5, None, "职工!5:5")
    assert value(places.place("$.workers[0].history")) == "是"  # the 已采集 flag
    for i, worker in enumerate(EXAMPLE.workers):
        assert value(places.place(f"$.workers[{i}].id_number")) == worker.id_number
        for j, segment in enumerate(worker.history or ()):
            end = places.place(f"$.workers[{i}].history[{j}].end")
            assert (end.sheet, end.column) == ("缴费历史", "截止年月")
            written = value(end)
            assert (written.year, written.month) == (segment.end.year, segment.end.month)
            line = places.place(f"$.workers[{i}].history[{j}]")
            assert line.cell == f"缴费历史!{end.row}:{end.row}"
        for j, year in enumerate(worker.account or ()):
            balance = value(places.place(f"$.workers[{i}].account[{j}].balance"))
            assert Decimal(str(balance)) == year.balance
    bureau = places.place("$.workers[0].bureau.history[0].start")
    assert bureau.sheet == "社保缴费历史"
    assert places.place("$.employer.name") == XlsxPlace("单位", 3, "单位名称", "单位!B3")
    assert places.place("$.nothing") == XlsxPlace(None, None, None, None)
    assert places.place("$.workers[9]") == XlsxPlace("职工", None, None, "职工")


def test_links_between_sheets(tmp_path: Path) -> None:
    """A row for no worker, a name that is not the worker's, a 否 with rows, a
    worker number twice."""
    path = tmp_path / "l.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["缴费历史"]["A3"] = 9
    wb["缴费历史"]["B4"] = "王五"
    wb["职工"]["J5"] = "否"  # the third worker has history rows
    wb["职工"]["A4"] = 1
    wb.save(path)
    got = codes_at(problems_of(path))
    assert ("xlsx.unknown-worker", "缴费历史!A3") in got
    assert ("xlsx.name-mismatch", "缴费历史!B4") in got
    assert ("xlsx.collected-flag", "职工!J5") in got
    assert ("xlsx.worker-no", "职工!A4") in got


@pytest.mark.parametrize(
    ("typed", "month"),
    [
        (dt.datetime(1996, 4, 1), "1996-04"),
        (dt.datetime(1996, 4, 17, 13, 5), "1996-04"),
        ("1996-04", "1996-04"),
        ("1996.04", "1996-04"),
        ("1996.4", "1996-04"),
        ("1996/04", "1996-04"),
        ("1996年4月", "1996-04"),
        ("199604", "1996-04"),
        (199604, "1996-04"),
        (1996.04, "1996-04"),
        (1996.12, "1996-12"),
        (1996.2, "1996-02"),
        ("１９９６．０４", "1996-04"),
        ("1996-04   ", "1996-04"),
        ("\u30001996-04\u3000", "1996-04"),
        ("1996/4/1", "1996-04"),  # a date typed into a text-formatted cell
        ("1996-04-01", "1996-04"),
        ("1996年4月15日", "1996-04"),
    ],
)
def test_months_as_clerks_type_them(tmp_path: Path, typed: object, month: str) -> None:
    path = tmp_path / "m.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["职工"]["D3"] = typed
    wb.save(path)
    assert str(read_xlsx(path).workers[0].first_work) == month


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        (1996.1, "xlsx.month-ambiguous"),  # 1996.1 or 1996.10?
        ("1996-13", "xlsx.month"),
        ("1996", "xlsx.month"),
        (1996, "xlsx.month"),
        ("371002196503021239", "xlsx.month"),
        (True, "xlsx.month"),
        ("1899-12", "xlsx.month"),
        ("1996/2/30", "xlsx.month"),
    ],
)
def test_months_refused(tmp_path: Path, typed: object, code: str) -> None:
    path = tmp_path / "m.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["职工"]["D3"] = typed
    wb.save(path)
    (problem,) = problems_of(path)
    assert (problem.code, problem.cell, problem.column) == (code, "职工!D3", "参加工作时间")
    assert "371002196503021239" not in problem.message + problem.message_zh


def test_a_date_typed_as_digits_into_the_date_formatted_column(tmp_path: Path) -> None:
    # Typing 19650302 into the template's date-formatted 出生日期 stores the
    # number (Excel shows #####: no date that far); docs/xlsx.md reads it.
    path = tmp_path / "d.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    cell = wb["职工"]["G3"]
    assert cell.is_date  # the column is date-formatted
    cell.value = 19650302
    cell.number_format = wb["职工"]["G4"].number_format
    wb.save(path)
    assert read_xlsx(path).workers[0].birth_date == dt.date(1965, 3, 2)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        (491.4, "491.40"),
        (12, "12.00"),
        ("1,234.50", "1234.50"),
        ("１，２３４．５", "1234.50"),
        ("¥1,234", "1234.00"),
        (" 453.60 ", "453.60"),
        ("-0.5", "-0.50"),
        ("12.300", "12.30"),
    ],
)
def test_amounts_as_clerks_type_them(tmp_path: Path, typed: object, amount: str) -> None:
    path = tmp_path / "a.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["养老账户"]["I3"] = typed  # 累计储存额
    wb.save(path)
    account = read_xlsx(path).workers[0].account
    assert account is not None
    assert format(account[0].balance, ".2f") == amount


@pytest.mark.parametrize(
    "typed", [1234.567, "12,34.5", "1.2.3", "abc", dt.datetime(2000, 1, 1), "1e5"]
)
def test_amounts_refused(tmp_path: Path, typed: object) -> None:
    path = tmp_path / "a.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["养老账户"]["I3"] = typed
    wb.save(path)
    assert codes_at(problems_of(path)) == {("xlsx.money", "养老账户!I3")}


def test_identity_number_in_a_number_cell(tmp_path: Path) -> None:
    """Excel keeps 15 digits: an 18-digit number cell has lost digits; a whole
    number of up to 15 digits (an employer number) is its digits."""
    path = tmp_path / "i.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["职工"]["B3"] = 3.71002196503021e17
    wb["单位"]["A3"] = 10012345
    wb.save(path)
    (problem,) = problems_of(path)
    assert (problem.code, problem.cell) == ("xlsx.digits-lost", "职工!B3")
    wb["职工"]["B3"] = "371002196503021239"
    wb.save(path)
    assert read_xlsx(path).employer.unit_no == "10012345"


def test_columns_found_by_header(tmp_path: Path) -> None:
    """Columns in another order, headers in English only, optional columns
    left out: the same dossier."""
    wb = openpyxl.Workbook()
    employer = wb.active
    employer.title = "单位"
    employer.append(["name", "unit_no"])
    employer.append(["威海示例", "10012345"])
    workers = wb.create_sheet("职工")
    workers.append(["姓名", "身份证号码", "参加工作时间", "序号"])
    workers.append(["张伟", "371002196503021239", "1983-07", 1])
    wb.save(tmp_path / "o.xlsx")
    got = read_xlsx(tmp_path / "o.xlsx")
    assert got == Dossier(
        employer=Employer(unit_no="10012345", name="威海示例"),
        workers=(Worker(id_number="371002196503021239", name="张伟", first_work="1983-07"),),
    )


# -- limits and hostile workbooks -------------------------------------------------------


def _rezip(source: Path, target: Path, replace: dict[str, bytes], add: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
        for name, data in add.items():
            new.writestr(name, data)


def _only(path: Path, limits: Limits | None = None) -> tuple[str, str | None]:
    (problem,) = problems_of(path, limits)
    return problem.code, problem.cell


def test_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_text("单位编号,单位名称\n", "utf-8")
    assert _only(tmp_path / "a.xlsx") == ("xlsx.not-a-workbook", None)
    (tmp_path / "b.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert _only(tmp_path / "b.xls") == ("xlsx.old-format", None)
    write_xlsx(EXAMPLE, tmp_path / "c.xlsx")
    data = (tmp_path / "c.xlsx").read_bytes()
    (tmp_path / "c.xlsx").write_bytes(data[: len(data) // 2])  # truncated
    assert _only(tmp_path / "c.xlsx") == ("xlsx.not-a-workbook", None)
    with zipfile.ZipFile(tmp_path / "d.xlsx", "w") as z:
        z.writestr("hello.txt", "hi")
    assert _only(tmp_path / "d.xlsx") == ("xlsx.not-a-workbook", None)
    (tmp_path / "dir.xlsx").mkdir()
    assert _only(tmp_path / "dir.xlsx") == ("xlsx.not-a-file", None)
    os.mkfifo(tmp_path / "fifo.xlsx")  # opened without waiting for a writer
    assert _only(tmp_path / "fifo.xlsx") == ("xlsx.not-a-file", None)
    with pytest.raises(FileNotFoundError):
        read_xlsx(tmp_path / "missing.xlsx")


def test_zip_bomb(tmp_path: Path) -> None:
    """Parts that unpack to more than four times the input-size limit are
    refused from the archive's directory, before anything is unpacked."""
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    _rezip(tmp_path / "e.xlsx", tmp_path / "bomb.xlsx", {}, {"xl/media/zeros.bin": bytes(2**22)})
    assert (tmp_path / "bomb.xlsx").stat().st_size < 100_000
    limits = Limits(input_bytes=2**20)
    assert _only(tmp_path / "bomb.xlsx", limits) == ("xlsx.too-large", None)
    assert _only(tmp_path / "e.xlsx", Limits(input_bytes=1000)) == ("xlsx.too-large", None)
    assert read_xlsx(tmp_path / "e.xlsx", limits=limits) == EXAMPLE


@pytest.mark.parametrize(("size", "refused"), [(2**19 + 1, True), (2**19 - 64, False)])
def test_a_shared_strings_table_over_half_the_input_limit(
    tmp_path: Path, size: int, refused: bool
) -> None:
    """openpyxl holds the whole shared-strings table (a 7.7 MB file with 153 MB of
    shared text took 594 MB): the table may unpack to half the input-size limit,
    judged from the archive's directory; one byte over is refused."""
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    head = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
    tail = "</t></si></sst>"
    table = (head + "A" * (size - len(head) - len(tail)) + tail).encode()
    assert len(table) == size
    _rezip(tmp_path / "e.xlsx", tmp_path / "s.xlsx", {}, {"xl/sharedStrings.xml": table})
    limits = Limits(input_bytes=2**20)
    if refused:
        assert _only(tmp_path / "s.xlsx", limits) == ("xlsx.too-large", None)
    else:
        assert read_xlsx(tmp_path / "s.xlsx", limits=limits) == EXAMPLE


def test_macros_links_and_dtds(tmp_path: Path) -> None:
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    _rezip(tmp_path / "e.xlsx", tmp_path / "m.xlsm", {}, {"xl/vbaProject.bin": b"\xd0\xcf"})
    assert _only(tmp_path / "m.xlsm") == ("xlsx.macros", None)
    link = b'<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    _rezip(
        tmp_path / "e.xlsx", tmp_path / "l.xlsx", {}, {"xl/externalLinks/externalLink1.xml": link}
    )
    assert _only(tmp_path / "l.xlsx") == ("xlsx.external-links", None)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>'
    )
    _rezip(tmp_path / "e.xlsx", tmp_path / "x.xlsx", {}, {"xl/sharedStrings.xml": laughs})
    assert _only(tmp_path / "x.xlsx") == ("xlsx.unsafe-xml", None)


def _sheet_xml(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    index = wb.sheetnames.index(title) + 1
    wb.close()
    return f"xl/worksheets/sheet{index}.xml"


def test_huge_dimension_and_far_cells(tmp_path: Path) -> None:
    """A sheet that claims the whole grid and holds a cell in its last row
    and column is read cell by cell, never padded: one problem."""
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    name = _sheet_xml(tmp_path / "e.xlsx", "职工")
    with zipfile.ZipFile(tmp_path / "e.xlsx") as z:
        xml = z.read(name).decode("utf-8")
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    xml = xml.replace("</sheetData>", far)
    xml = (
        xml.replace("<sheetPr", '<dimension ref="A1:XFD1048576"/><sheetPr', 1)
        if "<dimension" not in xml
        else xml
    )
    _rezip(tmp_path / "e.xlsx", tmp_path / "h.xlsx", {name: xml.encode("utf-8")}, {})
    assert _only(tmp_path / "h.xlsx") == ("xlsx.no-header", "职工!XFD1048576")


def test_empty_styled_rows_are_not_held(tmp_path: Path) -> None:
    """A sheet of empty styled rows (up to 1,048,576 of them) is streamed:
    memory does not grow with its length (openpyxl's own parser kept every
    row element, some 450 bytes each: 470 MB for a whole sheet)."""
    import tracemalloc

    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    name = _sheet_xml(tmp_path / "e.xlsx", "养老账户")
    with zipfile.ZipFile(tmp_path / "e.xlsx") as z:
        xml = z.read(name).decode("utf-8")
    rows = "".join(
        f'<row r="{r}" s="1" customFormat="1"><c r="A{r}" s="1"/><c r="B{r}" s="1"/></row>'
        for r in range(100, 20_100)
    )
    # as Excel writes it: the dimension first (without it openpyxl's
    # load_workbook reads the whole sheet to find its size)
    xml = xml.replace("<sheetPr", '<dimension ref="A1:I20099"/><sheetPr', 1)
    _rezip(
        tmp_path / "e.xlsx",
        tmp_path / "r.xlsx",
        {name: xml.replace("</sheetData>", rows + "</sheetData>").encode()},
        {},
    )
    tracemalloc.start()
    try:
        got = read_xlsx(tmp_path / "r.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == EXAMPLE
    assert peak < 6 * 2**20, peak  # 20,000 rows held: some 10 MB


def test_rows_beyond_the_limits(tmp_path: Path) -> None:
    write_xlsx(EXAMPLE, tmp_path / "e.xlsx")
    problems = problems_of(tmp_path / "e.xlsx", Limits(workers=2))
    assert ("xlsx.too-many-rows", "职工!5:5") in codes_at(problems)


def test_problems_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    for row in range(3, 20):  # 17 amounts of the first 17 account years
        wb["养老账户"][f"E{row}"] = "x"
    wb.save(path)
    problems = problems_of(path, Limits(problems=5))
    assert len(problems) == 6
    assert problems[-1].code == "xlsx.too-many-problems"
    assert problems[-1].message.startswith("12 more problems not listed")


def test_text_of_a_problem() -> None:
    problem = XlsxProblem("缴费历史", 14, "起始年月", "缴费历史!C14", "xlsx.month", "m", "中")
    assert str(problem) == "缴费历史!C14 [起始年月]: m (中)"
    assert problem.path == "缴费历史!C14"
    assert XlsxProblem(None, None, None, None, "xlsx.macros", "m", "中").path == "workbook"


def test_a_missing_column_is_said_once(tmp_path: Path) -> None:
    """Without its 职工序号 column a sheet's rows belong to no worker: one
    problem at the header row, not one per row; merged data cells are named."""
    path = tmp_path / "w.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    wb["养老账户"].delete_cols(1)
    wb["缴费历史"].merge_cells("A3:A4")  # one 职工序号 for two rows
    wb.save(path)
    assert codes_at(problems_of(path)) == {
        ("xlsx.missing-column", "养老账户!1:1"),
        ("xlsx.merged", "缴费历史!A3:A4"),
        ("xlsx.worker-no", "缴费历史!A4"),
    }


def test_a_missing_sheet_is_said_once(tmp_path: Path) -> None:
    """Without the sheet 职工 no row of the other sheets belongs to a worker,
    and without 单位 there is no employer: one problem each."""
    path = tmp_path / "s.xlsx"
    write_xlsx(EXAMPLE, path)
    wb = openpyxl.load_workbook(path)
    del wb["职工"]
    del wb["单位"]
    wb.save(path)
    assert codes_at(problems_of(path)) == {
        ("xlsx.missing-sheet", "单位"),
        ("xlsx.missing-sheet", "职工"),
    }


def test_every_problem_code_is_documented() -> None:
    """Each ``xlsx.*`` code the package raises is named in docs/xlsx.md."""
    import re

    root = Path(__file__).resolve().parents[1]
    source = "".join(p.read_text("utf-8") for p in (root / "src/pension_collect/xlsx").glob("*.py"))
    codes = set(re.findall(r'"(xlsx\.[a-z-]+)"', source))
    assert len(codes) > 25
    docs = (root / "docs" / "xlsx.md").read_text("utf-8")
    assert sorted(c for c in codes if f"`{c}`" not in docs) == []
