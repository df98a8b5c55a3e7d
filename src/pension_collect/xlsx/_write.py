"""Writing a dossier, or a blank roster, as an Excel workbook (openpyxl's
write-only mode: rows are streamed, not held).

Layout, formats and drop-downs: docs/xlsx.md, "The workbook".
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import os
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .._files import atomic_write
from ..model import AccountYear, BureauRecord, Dossier, Segment, Worker, YearMonth
from ._layout import (
    ABOUT,
    ACCOUNT,
    BUREAU,
    BUREAU_ACCOUNT,
    BUREAU_HISTORY,
    EMPLOYER,
    HISTORY,
    LABELS,
    NO,
    SHEETS,
    WORKERS,
    Sheet,
)
from ._values import escape, exact_float

#: Number formats by column kind (Excel's codes).
_FORMATS = {
    "text": "@",
    "check": "@",
    "month": "yyyy-mm",
    "date": "yyyy-mm-dd",
    "money": "#,##0.00",
    "rate": "0.00####",
    "int": "0",
    "worker": "0",
    "choice": "@",
    "flag": "@",
}
#: Widths (characters) a column of the kind needs at least.
_MIN_WIDTH = {"month": 10, "date": 12, "money": 14, "rate": 10, "int": 8}
_MOST_WIDTH = 50
#: Rows measured for the widths of text columns.
_MEASURED = 1000
_YES = "是"
_NO = NO[0]
_EMPTY_TEXT = '=""'
#: Months up to this year are written as text, not as date cells.
_TYPED_YEARS = 1906

Row = Sequence[Any]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    # Excel has no empty text constant: ="" is one (read back as "").
    return escape(value) if value else _EMPTY_TEXT


def _month(value: YearMonth | None) -> _dt.date | str | None:
    if value is None:
        return None
    if value.year <= _TYPED_YEARS:
        # a date cell of 1905/1906 would read as a number typed (_values._TYPED_SERIALS)
        return str(value)
    return _dt.date(value.year, value.month, 1)


def _date(value: _dt.date | None) -> _dt.date | str | None:
    if value is None:
        return None
    # Excel counts days from 1900; an earlier date is written as text.
    return value if value.year >= 1900 else value.isoformat()


def _amount(value: Decimal | None, places: str) -> float | str | None:
    if value is None:
        return None
    number = exact_float(value)
    return number if number is not None else format(value, places)


def _choice(value: StrEnum | None) -> str | None:
    return None if value is None else LABELS[type(value)][value.value]


def _flag(value: object) -> str:
    return _NO if value is None else _YES


def _employer_rows(dossier: Dossier) -> Iterator[Row]:
    e = dossier.employer
    yield (
        _text(e.unit_no),
        _text(e.name),
        _text(e.credit_code),
        _text(e.legal_representative),
        _text(e.address),
        _text(e.contact),
        _text(e.phone),
        _month(dossier.as_of),
        _text(dossier.rule_pack),
    )


def _worker_rows(workers: Sequence[Worker]) -> Iterator[Row]:
    for no, w in enumerate(workers, 1):
        yield (
            no,
            _text(w.id_number),
            _text(w.name),
            _month(w.first_work),
            _text(w.person_no),
            _choice(w.gender),
            _date(w.birth_date),
            _text(w.ethnicity),
            _choice(w.hukou),
            _flag(w.history),
            _flag(w.account),
        )


def _segment_rows(no: int, name: str | None, segments: Iterable[Segment]) -> Iterator[Row]:
    for s in segments:
        yield (
            no,
            name,
            _month(s.start),
            _month(s.end),
            _amount(s.total, ".2f"),
            _amount(s.base, ".2f"),
            _amount(s.rate, "f"),
            _choice(s.category),
            _choice(s.source),
            _choice(s.employer_kind),
            _choice(s.origin),
            _month(s.transferred_on),
            _text(s.employer_name),
            _text(s.remark),
        )


def _account_rows(no: int, name: str | None, years: Iterable[AccountYear]) -> Iterator[Row]:
    for a in years:
        yield (
            no,
            name,
            a.year,
            a.months,
            _amount(a.base, ".2f"),
            _amount(a.personal, ".2f"),
            _amount(a.employer_part, ".2f"),
            _amount(a.interest, ".2f"),
            _amount(a.balance, ".2f"),
        )


def _bureau_row(no: int, name: str | None, b: BureauRecord) -> Row:
    return (
        no,
        name,
        _text(b.person_no),
        _text(b.id_number),
        _text(b.name),
        _choice(b.gender),
        _date(b.birth_date),
        _text(b.ethnicity),
        _choice(b.hukou),
        _month(b.first_work),
        _flag(b.history),
        _flag(b.account),
    )


def _rows(dossier: Dossier, sheet: Sheet) -> Iterator[Row]:
    workers = dossier.workers
    if sheet is EMPLOYER:
        yield from _employer_rows(dossier)
        return
    if sheet is WORKERS:
        yield from _worker_rows(workers)
        return
    for no, w in enumerate(workers, 1):
        name = _text(w.name)
        b = w.bureau
        if sheet is HISTORY:
            yield from _segment_rows(no, name, w.history or ())
        elif sheet is ACCOUNT:
            yield from _account_rows(no, name, w.account or ())
        elif b is None:
            continue
        elif sheet is BUREAU:
            yield _bureau_row(no, name, b)
        elif sheet is BUREAU_HISTORY:
            yield from _segment_rows(no, name, b.history or ())
        elif sheet is BUREAU_ACCOUNT:
            yield from _account_rows(no, name, b.account or ())


_ABOUT_LINES = (
    ("pension-collect 采集档案工作簿", "pension-collect dossier workbook (format version 1)"),
    ("", ""),
    (
        "每个工作表第 1 行为中文列名,第 2 行为英文字段名,从第 3 行起每行一条数据。",
        "Row 1 of each sheet holds the Chinese headers, row 2 the English field names; "
        "data starts in row 3.",
    ),
    ("单位:一行,单位信息及采集月份、规则包。", "单位 (employer): one row."),
    (
        "职工:每名职工一行;序号用于在其他工作表中指明职工。",
        "职工 (workers): one row per worker; its 序号 names the worker on the other sheets.",
    ),
    (
        "缴费历史、养老账户:每行一段缴费历史或一个账户年度,职工序号指明所属职工。",
        "缴费历史 (history), 养老账户 (account): one row per segment or account year, "
        "职工序号 names the worker.",
    ),
    (
        "社保个人信息、社保缴费历史、社保养老账户:数据同步得到的社保现有数据。",
        "社保个人信息, 社保缴费历史, 社保养老账户: what the bureau holds (from a data sync).",
    ),
    (
        "年月填写为 1996-04、1996.04、199604 或日期;金额以元为单位,最多两位小数。",
        "Months: 1996-04, 1996.04, 199604 or a date; amounts in yuan, at most two places.",
    ),
    (
        "“已采集”为“否”且无数据行表示尚未采集;为“是”且无数据行表示已采集、无内容。",
        "已采集 否 (no) with no rows: not collected yet; 是 (yes) with no rows: collected, "
        "nothing to enter.",
    ),
    ('空白文本请填写 ="";请勿填写其他公式。', 'Empty text is ="" ; no other formulas.'),
    ("说明见 docs/xlsx.md。", "See docs/xlsx.md."),
)


def _openpyxl() -> Any:
    from ._errors import openpyxl_module

    return openpyxl_module()


def _styled(ws: Any, value: Any, number_format: str | None = None, **style: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if number_format is not None:
        cell.number_format = number_format
    for key, item in style.items():
        setattr(cell, key, item)
    return cell


def _setup_sheet(wb: Any, sheet: Sheet, first: list[Row]) -> tuple[Any, list[Any]]:
    """The sheet with its widths, formats, frozen headers and drop-downs, its
    two header rows written; returns it and one cell per column to write
    values through (so each value gets its column's format)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = wb.create_sheet(sheet.title)
    ws.freeze_panes = "A3"
    for index, column in enumerate(sheet.columns):
        letter = get_column_letter(index + 1)
        width = max(_width(column.zh), len(column.en), _MIN_WIDTH.get(column.kind, 0))
        if column.width:
            width = max(width, column.width)
        elif column.kind in ("text", "check", "choice"):
            for row in first:
                value = row[index]
                if isinstance(value, str):
                    width = max(width, min(_width(value), _MOST_WIDTH))
        dimension = ws.column_dimensions[letter]
        dimension.width = width + 2
        dimension.number_format = _FORMATS[column.kind]
        words: tuple[str, ...] = ()
        if column.choices is not None:
            words = tuple(LABELS[column.choices].values())
        elif column.kind == "flag":
            words = (_YES, _NO)
        if words:
            validation = DataValidation(
                type="list",
                formula1='"' + ",".join(words) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="请从列表中选择",
                error="请从下拉列表中选择 (pick a value from the list): " + "、".join(words),
            )
            validation.add(f"{letter}3:{letter}1048576")
            ws.data_validations.append(validation)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    grey = Font(italic=True, color="666666")
    ws.append(
        [
            _styled(ws, c.zh, font=bold, fill=fill, alignment=Alignment(horizontal="center"))
            for c in sheet.columns
        ]
    )
    ws.append([_styled(ws, c.en, font=grey, fill=fill) for c in sheet.columns])
    cells = [_styled(ws, None, _FORMATS[c.kind]) for c in sheet.columns]
    return ws, cells


def _write_rows(ws: Any, cells: list[Any], rows: Iterable[Row]) -> None:
    width = len(cells)
    append = ws.append
    for row in rows:
        out: list[Any] = [None] * width
        for index, value in enumerate(row):
            if value is None:
                continue
            cell = cells[index]
            cell.value = value
            if type(value) is str and value != _EMPTY_TEXT:
                cell.data_type = "s"  # text that starts with "=" is no formula
            out[index] = cell
        append(out)


def _about(wb: Any) -> None:
    ws = wb.create_sheet(ABOUT)
    ws.column_dimensions["A"].width = 70
    ws.column_dimensions["B"].width = 90
    for zh, en in _ABOUT_LINES:
        ws.append([zh or None, en or None])


def _fill(wb: Any, dossier: Dossier | None) -> None:
    _about(wb)
    for sheet in SHEETS:
        rows: Iterator[Row] = _rows(dossier, sheet) if dossier is not None else iter(())
        first = list(itertools.islice(rows, _MEASURED))
        ws, cells = _setup_sheet(wb, sheet, first)
        _write_rows(ws, cells, first)
        _write_rows(ws, cells, rows)


def _discard(wb: Any) -> None:
    """Close the sheets' streams and remove openpyxl's temporary files of a
    workbook that will not be saved."""
    for ws in wb._sheets:
        with contextlib.suppress(Exception):
            if ws._rows is not None:
                ws._rows.close()
        writer = getattr(ws, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(Exception):
                writer.cleanup()


def write_workbook(dossier: Dossier | None, path: str | os.PathLike[str]) -> None:
    wb = _openpyxl().Workbook(write_only=True)
    try:
        _fill(wb, dossier)
        with atomic_write(path, overwrite=True) as stream:
            wb.save(stream)
    except BaseException:
        _discard(wb)
        raise
