"""Reading a workbook as a dossier (docs/xlsx.md, "Reading a workbook").

Three stages, each bounded:

1. the file: at most ``Limits.input_bytes``; a zip archive (else: an old .xls,
   an encrypted workbook, or no workbook at all); its parts unpacked at most
   four times that (a zip bomb is refused from the sizes in its directory,
   which :mod:`zipfile` holds each part to); no macros, no links to other
   workbooks, no DTD in any XML part (entity expansion);
2. the sheets, streamed by openpyxl's read-only parser: every cell read as
   its column's kind (:mod:`._values`), headers found by name, formulas,
   error values and merged cells refused, each problem with its cell;
3. the dossier: the cells' values go through
   :func:`pension_collect.dossier.from_dict`, the reader of JSON dossiers,
   whose problems are mapped back to the cells they came from.

Nothing is returned unless all three found no problem.
"""

from __future__ import annotations

import datetime
import os
import re
import stat
import warnings
import zipfile
from collections.abc import Generator
from typing import IO, Any

import attrs

from ..dossier import from_dict
from ..errors import DossierFormatError
from ..limits import DEFAULT_LIMITS, Limits
from ..model import Dossier
from ._errors import XlsxImportError, XlsxPlaces, XlsxProblem, openpyxl_module
from ._layout import (
    ABOUT,
    ACCOUNT,
    BUREAU,
    BUREAU_ACCOUNT,
    BUREAU_HISTORY,
    EMPLOYER,
    FIRST_DATA_ROW,
    HISTORY,
    SHEETS,
    WORKERS,
    Column,
    Sheet,
)
from ._values import (
    CellRefused,
    fold,
    read_choice,
    read_date,
    read_flag,
    read_int,
    read_money,
    read_month,
    read_rate,
    read_text,
    read_worker_no,
    unescape,
)

#: The parts of a workbook may unpack to this many times ``Limits.input_bytes``.
UNPACKED_FACTOR = 4
#: The shared-strings table (``xl/sharedStrings.xml``), which openpyxl holds
#: whole in memory (about four times its size), may unpack to at most
#: ``Limits.input_bytes`` divided by this.
SHARED_STRINGS_DIVISOR = 2
_SHARED_STRINGS = "xl/sharedstrings.xml"
#: Parts in one workbook (a real one has a few dozen).
MOST_PARTS = 10_000
#: Bytes of an XML part read to find its first element (its prolog: a DTD there is refused).
_PROLOG_BYTES = 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EMPTY_TEXT = '=""'


class _Fatal(Exception):
    """The workbook as a whole cannot be read: no cell is looked at."""


class _Problems:
    """The problems found, the first ``cap`` kept, the rest counted."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[XlsxProblem] = []
        self.more = 0
        self.at_least = False

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(
        self,
        code: str,
        message: str,
        message_zh: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        cell: str | None = None,
    ) -> None:
        if len(self.items) >= self.cap:
            self.more += 1
            return
        if cell is None and sheet is not None:
            cell = sheet if row is None else f"{sheet}!{row}:{row}"
        self.items.append(XlsxProblem(sheet, row, column, cell, code, message, message_zh))

    def listed(self) -> list[XlsxProblem]:
        order = {s.title: i for i, s in enumerate(SHEETS)}
        items = sorted(
            self.items,
            key=lambda p: (
                -1 if p.sheet is None else order.get(p.sheet, len(order)),
                p.row or 0,
                _column_number(p.cell),
            ),
        )
        if self.more:
            items.append(
                XlsxProblem(
                    None,
                    None,
                    None,
                    None,
                    "xlsx.too-many-problems",
                    f"{'at least ' if self.at_least else ''}{self.more:,} more problems not "
                    f'listed: the first {self.cap:,} are (docs/dossier.md "Limits"); correct '
                    "those and import again",
                    f"另有{'至少' if self.at_least else ''} {self.more:,} 处问题未列出"
                    f"(最多列出 {self.cap:,} 处);请先更正以上问题,再重新导入",
                )
            )
        return items


_CELL_REF = re.compile(r"!([A-Z]+)[0-9]+$")


def _column_number(cell: str | None) -> int:
    match = _CELL_REF.search(cell or "")
    if match is None:
        return 0
    number = 0
    for char in match.group(1):
        number = number * 26 + ord(char) - 64
    return number


def _letter(index: int) -> str:
    """The column letters of the 1-based column ``index``."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- stage 1: the file ------------------------------------------------------------


def _workbook_problem(code: str, message: str, message_zh: str) -> _Fatal:
    fatal = _Fatal(message)
    fatal.args = (code, message, message_zh)
    return fatal


def _check_file(stream: IO[bytes], limits: Limits) -> zipfile.ZipFile:
    info = os.fstat(stream.fileno())
    if info.st_size > limits.input_bytes:
        raise _workbook_problem(
            "xlsx.too-large",
            f"larger than {limits.input_bytes:,} bytes, the input-size limit (docs/dossier.md "
            '"Limits"); split the workbook by workers',
            f"超过输入大小上限 {limits.input_bytes:,} 字节;请按职工拆分为多个工作簿",
        )
    head = stream.read(8)
    stream.seek(0)
    if head == _OLE_MAGIC:
        raise _workbook_problem(
            "xlsx.old-format",
            "an Excel 97-2003 workbook (.xls) or an encrypted one; save it as an Excel "
            "Workbook (.xlsx) without a password",
            "这是 Excel 97-2003 工作簿(.xls)或加密的工作簿;请另存为不设密码的 Excel 工作簿(.xlsx)",
        )
    if head[:4] != _ZIP_MAGIC:
        raise _not_a_workbook()
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _not_a_workbook() from None
    try:
        _check_parts(archive, infos, limits)
    except BaseException:
        archive.close()
        raise
    return archive


def _not_a_workbook() -> _Fatal:
    return _workbook_problem(
        "xlsx.not-a-workbook",
        "not an Excel workbook (.xlsx), or a damaged one; save it from Excel as an Excel "
        "Workbook (.xlsx)",
        "不是 Excel 工作簿(.xlsx)或文件已损坏;请用 Excel 另存为 Excel 工作簿(.xlsx)",
    )


def _check_parts(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(infos) > MOST_PARTS:
        raise _not_a_workbook()
    most = UNPACKED_FACTOR * limits.input_bytes
    if sum(i.file_size for i in infos) > most:
        raise _workbook_problem(
            "xlsx.too-large",
            f"unpacks to more than {most:,} bytes ({UNPACKED_FACTOR} times the input-size "
            'limit, docs/dossier.md "Limits"): a zip bomb, or a workbook to split by workers',
            f"解压后超过 {most:,} 字节(压缩炸弹,或需按职工拆分的工作簿)",
        )
    shared = sum(i.file_size for i in infos if i.filename.lower() == _SHARED_STRINGS)
    if shared > limits.input_bytes // SHARED_STRINGS_DIVISOR:
        most = limits.input_bytes // SHARED_STRINGS_DIVISOR
        raise _workbook_problem(
            "xlsx.too-large",
            f"its shared-strings table unpacks to more than {most:,} bytes (half the "
            'input-size limit, docs/dossier.md "Limits"; openpyxl holds the whole table, '
            "about four times its size): split the workbook by workers",
            f"共享字符串表解压后超过 {most:,} 字节,请按职工拆分工作簿",
        )
    names = {i.filename.lower() for i in infos}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise _not_a_workbook()
    if any(i.flag_bits & 0x1 for i in infos):
        raise _not_a_workbook()
    if any(n.endswith("vbaproject.bin") for n in names) or "xl/workbook.bin" in names:
        raise _workbook_problem(
            "xlsx.macros",
            "a workbook with macros (.xlsm) or a binary one (.xlsb); save it as an Excel "
            "Workbook (.xlsx): macros are never run or kept",
            "这是含宏(.xlsm)或二进制(.xlsb)的工作簿;请另存为 Excel 工作簿(.xlsx),"
            "宏不会被执行或保留",
        )
    if any(n.startswith("xl/externallinks/") for n in names):
        raise _workbook_problem(
            "xlsx.external-links",
            "the workbook links to other workbooks (external links); break the links "
            "(Data > Edit Links > Break Link) or paste the values, then save again",
            "工作簿链接了其他工作簿(外部链接);请断开链接(数据-编辑链接-断开链接)或粘贴为数值后重新保存",
        )
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")):
            with archive.open(info) as part:
                prolog = part.read(_PROLOG_BYTES)
            if not _plain_prolog(prolog):
                raise _workbook_problem(
                    "xlsx.unsafe-xml",
                    "a part of the workbook declares a DTD (XML entities) or does not start "
                    "like XML; no spreadsheet program writes that: save the workbook again "
                    "from Excel",
                    "工作簿中的某个部件声明了 DTD(XML 实体)或不是正常的 XML;请用 Excel 重新保存",
                )


_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_ELEMENT_START = re.compile(rb"<[A-Za-z_:]")


def _plain_prolog(data: bytes) -> bool:
    """Whether the XML ``data`` starts (after a BOM, its declaration,
    comments and space) with an element: no DOCTYPE, no entities."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16", errors="ignore")
        except UnicodeError:
            return False
        data = text.encode("utf-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    position = 0
    while True:
        match = _PROLOG_ITEM.match(data, position)
        if match is None or match.end() == position:
            break
        position = match.end()
    if not data[position:]:
        return True  # an empty part (openpyxl refuses it if it matters)
    return _ELEMENT_START.match(data, position) is not None


# -- stage 2: the sheets ----------------------------------------------------------


class _Header:
    """Where each known column of a sheet is, from its header row."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.index: dict[int, Column] = {}
        self.where: dict[str, int] = {}
        self.ignored: set[int] = set()
        self.unnamed: set[int] = set()
        self.data_from = FIRST_DATA_ROW
        self.missing = False
        self.checked = False
        """Whether a required column is missing (its values are not asked for row by row)."""

    def letter(self, en: str) -> str | None:
        index = self.where.get(en)
        return None if index is None else _letter(index)


_HEADER_SPACE = re.compile(r"\s+")


def _names(sheet: Sheet) -> dict[str, Column]:
    names: dict[str, Column] = {}
    for column in sheet.columns:
        for name in (column.zh, column.en, f"{column.zh}{column.en}", f"{column.zh} {column.en}"):
            names[_HEADER_SPACE.sub("", fold(name)).lower()] = column
    return names


_NAMES = {sheet.title: _names(sheet) for sheet in SHEETS}


class _Reader:
    """Stage 2: every sheet's cells into the dossier's JSON form, with where each came from."""

    def __init__(self, wb: Any, limits: Limits, problems: _Problems) -> None:
        self.wb = wb
        self.limits = limits
        self.problems = problems
        self.data: dict[str, Any] = {}
        self.headers: dict[str, _Header] = {}
        self.employer_row = 0
        self.worker_rows: list[int] = []
        self.workers: list[dict[str, Any]] = []
        self.numbers: dict[int, int] = {}
        self.names: list[str | None] = []
        # per sheet title: for each worker index, the rows of its items
        self.item_rows: dict[str, list[list[int]]] = {}
        self.bureau_rows: dict[int, int] = {}
        self.flags: dict[tuple[int, str], tuple[bool, str, int]] = {}
        self.failed: set[str] = set()
        """JSON paths whose cell had a problem already (the dossier reader's
        problem there, a missing value, is not repeated)."""

    # -- the workbook's sheets ---------------------------------------------

    def read(self) -> dict[str, Any]:
        titles = {fold(t): t for t in self.wb.sheetnames}
        known = {fold(s.title): s for s in SHEETS} | {s.en: s for s in SHEETS}
        found: dict[str, str] = {}
        for folded, title in titles.items():
            sheet = known.get(folded) or known.get(folded.lower())
            if sheet is not None and sheet.title not in found:
                found[sheet.title] = title
            elif folded != ABOUT:
                self._unknown_sheet(title)
        for sheet in SHEETS:
            title = found.get(sheet.title)
            if title is None:
                if sheet.required:
                    self.problems.add(
                        "xlsx.missing-sheet",
                        f"the sheet {sheet.title} ({sheet.en}) is missing; add it (the "
                        "template, pension-collect export-xlsx --template, has every sheet)",
                        f"缺少工作表“{sheet.title}”;请添加(模板中有全部工作表)",
                        sheet=sheet.title,
                    )
                    if sheet is EMPLOYER:
                        self.failed.add("$.employer")
                continue
            self._sheet(sheet, title)
        self._finish_workers()
        self.data["workers"] = self.workers
        if "employer" not in self.data and EMPLOYER.title in found:
            self.problems.add(
                "xlsx.no-employer",
                "the sheet 单位 holds no employer; fill in its row 3 (单位编号, 单位名称 ...)",
                "单位表中没有单位信息;请填写第 3 行(单位编号、单位名称等)",
                sheet=found[EMPLOYER.title],
                row=FIRST_DATA_ROW,
            )
            self.failed.add("$.employer")
        return self.data

    def _unknown_sheet(self, title: str) -> None:
        ws = self.wb[title]
        if not hasattr(ws, "_get_source"):
            return  # a chart sheet holds no data
        for _, cells in self._rows(ws, title, merges=False):
            if any(c["value"] is not None for c in cells):
                names = "、".join(s.title for s in SHEETS)
                self.problems.add(
                    "xlsx.unknown-sheet",
                    f"a sheet this program does not read holds data; only the sheets {names} "
                    "(and 说明) are read: move its data there, or delete or empty the sheet",
                    f"该工作表不会被读取,但其中有数据;只读取以下工作表:{names}(及说明)。"
                    "请将数据移到相应工作表,或删除/清空该工作表",
                    sheet=title,
                )
                return

    def _rows(
        self, ws: Any, title: str, *, merges: bool = True
    ) -> Generator[tuple[int, list[dict[str, Any]]], None, None]:
        from openpyxl.worksheet._reader import WorkSheetParser

        wb = self.wb
        with ws._get_source() as source:
            parser = WorkSheetParser(
                source,
                ws._shared_strings,
                data_only=False,
                epoch=wb.epoch,
                # dates made below: openpyxl makes a number too far for a
                # date (19650302 typed into a date cell) an error value
                date_formats=set(),
                timedelta_formats=set(),
            )
            try:
                for number, cells in _parse(parser):
                    for cell in cells:
                        if cell["data_type"] == "n" and cell["style_id"] in wb._date_formats:
                            _as_date(cell, wb)
                    yield number, cells
            except Exception:  # openpyxl or the XML parser on a damaged sheet
                self.problems.add(
                    "xlsx.damaged-sheet",
                    "the sheet is damaged (not readable XML); save the workbook again from Excel",
                    "工作表已损坏;请用 Excel 重新保存工作簿",
                    sheet=title,
                )
                return
            merged = parser.merged_cells if merges else None
            for ref in [] if merged is None else [str(m.coord) for m in merged.mergeCell]:
                self.problems.add(
                    "xlsx.merged",
                    f"merged cells {ref}: only the first holds a value; unmerge them and fill "
                    "in every cell",
                    f"合并单元格 {ref}:只有第一个单元格有值;请取消合并并逐格填写",
                    sheet=title,
                    row=_row_of(ref),
                    cell=f"{title}!{ref}",
                )

    # -- one sheet ---------------------------------------------------------

    def _sheet(self, sheet: Sheet, title: str) -> None:
        ws = self.wb[title]
        header = _Header(sheet)
        self.headers[sheet.title] = header
        most = self._most_rows(sheet)
        seen = 0
        rows = self._rows(ws, title)
        for number, cells in rows:
            if number == 1:
                self._header(header, title, cells)
                self._missing_columns(header, title)
                continue
            if not header.checked:
                self._missing_columns(header, title)
            if number == 2 and self._english_row(header, cells):
                continue
            if number == 2:
                header.data_from = 2
            values = self._values(header, title, number, cells)
            if values is None:
                continue
            seen += 1
            if seen > most:
                self._too_many_rows(sheet, title, number, most)
                rows.close()
                break
            self._row(sheet, title, number, values)
        if not header.checked and sheet.required:
            self._missing_columns(header, title)

    def _missing_columns(self, header: _Header, title: str) -> None:
        """A problem for each required column the header row does not have."""
        header.checked = True
        for column in header.sheet.columns:
            if column.required and column.en not in header.where:
                header.missing = True
                self.problems.add(
                    "xlsx.missing-column",
                    f"the required column {column.zh} ({column.en}) is missing; add it to the "
                    "header rows (row 1 Chinese, row 2 English)",
                    f"缺少必填列“{column.zh}”;请在表头(第 1 行中文、第 2 行英文)中添加",
                    sheet=title,
                    row=1,
                    column=column.zh,
                )

    def _most_rows(self, sheet: Sheet) -> int:
        if sheet is EMPLOYER:
            return 1
        if sheet in (WORKERS, BUREAU):
            return self.limits.workers
        per = self.limits.segments if sheet in (HISTORY, BUREAU_HISTORY) else None
        per = per or self.limits.account_years
        return self.limits.workers * per

    def _too_many_rows(self, sheet: Sheet, title: str, number: int, most: int) -> None:
        if sheet is EMPLOYER:
            self.problems.add(
                "xlsx.employer-rows",
                "the sheet 单位 holds one employer in one row; a second row holds data: "
                "delete it (one workbook per employer)",
                "单位表只填写一行;此行多余,请删除(每个单位一个工作簿)",
                sheet=title,
                row=number,
            )
            return
        self.problems.add(
            "xlsx.too-many-rows",
            f'more than {most:,} rows (docs/dossier.md "Limits"); the rest of the sheet is '
            "not read: split the workbook",
            f"超过 {most:,} 行,其余各行未读取;请拆分工作簿",
            sheet=title,
            row=number,
        )

    def _header(self, header: _Header, title: str, cells: list[dict[str, Any]]) -> None:
        names = _NAMES[header.sheet.title]
        for cell in cells:
            value = cell["value"]
            index = cell["column"]
            if value is None:
                continue
            text = unescape(value) if isinstance(value, str) else str(value)
            column = names.get(_HEADER_SPACE.sub("", fold(text)).lower())
            ref = f"{title}!{_letter(index)}1"
            if column is None:
                header.ignored.add(index)
                names_list = "、".join(c.zh for c in header.sheet.columns)
                self.problems.add(
                    "xlsx.unknown-column",
                    "a column this sheet does not have; its cells would be lost: correct its "
                    f"header or delete the column (the columns are: {names_list})",
                    f"本表没有此列,其数据不会被读取;请更正列名或删除该列(本表的列:{names_list})",
                    sheet=title,
                    row=1,
                    cell=ref,
                )
            elif column.en in header.where:
                header.ignored.add(index)
                self.problems.add(
                    "xlsx.duplicate-column",
                    f"a second column {column.zh} ({column.en}); delete one of them",
                    f"列“{column.zh}”重复;请删除其中一列",
                    sheet=title,
                    row=1,
                    column=column.zh,
                    cell=ref,
                )
            else:
                header.index[index] = column
                header.where[column.en] = index

    def _english_row(self, header: _Header, cells: list[dict[str, Any]]) -> bool:
        """Whether row 2 is the row of English names (else it holds data)."""
        values = [(c["column"], c["value"]) for c in cells if c["value"] is not None]
        if not values:
            return True
        for index, value in values:
            column = header.index.get(index)
            if not isinstance(value, str):
                return False
            text = fold(unescape(value)).lower()
            if column is not None and text != column.en:
                return False
            if column is None and text not in _NAMES[header.sheet.title]:
                return False
        return True

    def _values(
        self, header: _Header, title: str, number: int, cells: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The row's cells by column name, each read as its column's kind;
        ``None`` for an empty row. A cell that cannot be read is a problem
        and is left out (its path goes to ``failed`` with the column's)."""
        raw: dict[str, tuple[Any, str]] = {}
        for cell in cells:
            value = cell["value"]
            if value is None:
                continue
            index = cell["column"]
            column = header.index.get(index)
            ref = f"{title}!{_letter(index)}{number}"
            kind = cell["data_type"]
            if column is None:
                if index in header.ignored or index in header.unnamed:
                    continue
                header.unnamed.add(index)
                self.problems.add(
                    "xlsx.no-header",
                    "data in a column without a header (a merged or deleted header cell?); "
                    "give the column its header or delete the data",
                    "此列没有列名(表头单元格被合并或删除?),其数据不会被读取;请补上列名或删除数据",
                    sheet=title,
                    row=number,
                    cell=ref,
                )
                continue
            if kind == "f":
                if isinstance(value, str) and value.replace(" ", "") == _EMPTY_TEXT:
                    raw[column.en] = ("", ref)
                    continue
                self.problems.add(
                    "xlsx.formula",
                    "a formula; type the value itself (copy, then Paste Special > Values); "
                    'only ="" (empty text) is read',
                    '此单元格是公式;请填写数值本身(复制后选择性粘贴为数值);只接受 ="" 表示空文本',
                    sheet=title,
                    row=number,
                    column=column.zh,
                    cell=ref,
                )
                raw[column.en] = (_FAILED, ref)
                continue
            if kind == "e":
                self.problems.add(
                    "xlsx.error-value",
                    "an error value (such as #N/A or #VALUE!); type the value itself",
                    "此单元格是错误值(如 #N/A、#VALUE!);请填写正确的值",
                    sheet=title,
                    row=number,
                    column=column.zh,
                    cell=ref,
                )
                raw[column.en] = (_FAILED, ref)
                continue
            if isinstance(value, str):
                value = unescape(value)
                if column.kind not in ("text", "check") and not fold(value):
                    continue  # spaces only: an empty cell
            raw[column.en] = (value, ref)
        if not raw:
            return None
        out: dict[str, Any] = {}
        for en, (value, ref) in raw.items():
            column = header.sheet.column(en)
            if value is _FAILED:
                out[en] = _FAILED
                continue
            try:
                out[en] = _read(column, value, self.wb.epoch)
            except CellRefused as refused:
                self.problems.add(
                    refused.code,
                    refused.message,
                    refused.message_zh,
                    sheet=title,
                    row=number,
                    column=column.zh,
                    cell=ref,
                )
                out[en] = _FAILED
        return out

    # -- one row -----------------------------------------------------------

    def _row(self, sheet: Sheet, title: str, number: int, values: dict[str, Any]) -> None:
        if sheet is EMPLOYER:
            self.employer_row = number
            employer: dict[str, Any] = {}
            for en, value in values.items():
                target = self.data if en in ("as_of", "rule_pack") else employer
                path = f"$.{en}" if target is self.data else f"$.employer.{en}"
                if value is _FAILED:
                    self.failed.add(path)
                else:
                    target[en] = value
            self.data["employer"] = employer
            return
        if sheet is WORKERS:
            self._worker(title, number, values)
            return
        index = self._worker_of(sheet, title, number, values)
        if index is None:
            return
        if sheet is BUREAU:
            self._bureau(title, number, index, values)
            return
        rows = self.item_rows.setdefault(sheet.title, [])
        while len(rows) < len(self.workers):
            rows.append([])
        item: dict[str, Any] = {}
        prefix = _ITEM_PREFIX[sheet.title].format(index, len(rows[index]))
        self._take(values, item, prefix, (index, title, number))
        rows[index].append(number)
        holder = self.workers[index]
        if sheet in (BUREAU_HISTORY, BUREAU_ACCOUNT):
            holder = holder.setdefault("bureau", {})
        holder.setdefault(_ITEM_FIELD[sheet.title], []).append(item)

    def _worker(self, title: str, number: int, values: dict[str, Any]) -> None:
        index = len(self.workers)
        no = values.get("no")
        header = self.headers[WORKERS.title]
        if no is None and header.letter("no") is not None:
            self.problems.add(
                "xlsx.worker-no",
                "the worker's 序号 is empty; give every worker a number (1, 2, 3 ...), which "
                "the other sheets use to name the worker",
                "序号为空;请为每名职工填写序号(1、2、3……),其他工作表用序号指明职工",
                sheet=title,
                row=number,
                column="序号",
                cell=_ref(title, header.letter("no"), number),
            )
        elif isinstance(no, int):
            if no in self.numbers:
                self.problems.add(
                    "xlsx.worker-no",
                    f"the 序号 {no} is given to an earlier worker too (row "
                    f"{self.worker_rows[self.numbers[no]]}); give each worker its own",
                    f"序号 {no} 与第 {self.worker_rows[self.numbers[no]]} 行的职工重复;"
                    "每名职工的序号应不同",
                    sheet=title,
                    row=number,
                    column="序号",
                    cell=_ref(title, header.letter("no"), number),
                )
            else:
                self.numbers[no] = index
        worker: dict[str, Any] = {}
        self._take(values, worker, f"$.workers[{index}]", (index, title, number), _WORKER_FLAGS)
        self.workers.append(worker)
        self.worker_rows.append(number)
        name = worker.get("name")
        self.names.append(name if isinstance(name, str) else None)

    def _worker_of(
        self, sheet: Sheet, title: str, number: int, values: dict[str, Any]
    ) -> int | None:
        no = values.get("worker")
        header = self.headers[sheet.title]
        ref = _ref(title, header.letter("worker"), number)
        if no is _FAILED or header.letter("worker") is None or WORKERS.title not in self.headers:
            return None  # a refused cell, no such column, no sheet 职工: said already
        if no is None:
            self.problems.add(
                "xlsx.worker-no",
                "the 职工序号 is empty; give the 序号 of the worker (sheet 职工) this row "
                "belongs to",
                "职工序号为空;请填写该行所属职工在职工表中的序号",
                sheet=title,
                row=number,
                column=sheet.column("worker").zh,
                cell=ref,
            )
            return None
        index = self.numbers.get(no)
        if index is None:
            self.problems.add(
                "xlsx.unknown-worker",
                f"no worker has the 序号 {no} on the sheet 职工; correct the 职工序号 or add "
                "the worker",
                f"职工表中没有序号为 {no} 的职工;请更正职工序号或添加该职工",
                sheet=title,
                row=number,
                column=sheet.column("worker").zh,
                cell=ref,
            )
            return None
        check = values.get("worker_name")
        known = self.names[index]
        if (
            isinstance(check, str)
            and check.strip()
            and known is not None
            and known.strip()
            and check.strip() != known.strip()
        ):
            self.problems.add(
                "xlsx.name-mismatch",
                f"the name differs from the name of worker {no} on the sheet 职工 (row "
                f"{self.worker_rows[index]}); is the 职工序号 right? Correct it, or empty "
                "the name cell",
                f"姓名与职工表中序号 {no} 的职工(第 {self.worker_rows[index]} 行)不一致;"
                "请核对职工序号,或清空此姓名单元格",
                sheet=title,
                row=number,
                column=sheet.column("worker_name").zh,
                cell=_ref(title, header.letter("worker_name"), number),
            )
        return index

    def _bureau(self, title: str, number: int, index: int, values: dict[str, Any]) -> None:
        header = self.headers[BUREAU.title]
        if index in self.bureau_rows:
            self.problems.add(
                "xlsx.worker-no",
                f"a second row for this worker (the first is row {self.bureau_rows[index]}); "
                "the bureau holds one record per worker: delete one",
                f"同一职工的第二行(第一行为第 {self.bureau_rows[index]} 行);"
                "每名职工只有一条社保记录,请删除一行",
                sheet=title,
                row=number,
                column=BUREAU.column("worker").zh,
                cell=_ref(title, header.letter("worker"), number),
            )
            return
        self.bureau_rows[index] = number
        bureau = self.workers[index].setdefault("bureau", {})
        path = f"$.workers[{index}].bureau"
        self._take(values, bureau, path, (index, title, number), _BUREAU_FLAGS)

    def _take(
        self,
        values: dict[str, Any],
        target: dict[str, Any],
        path: str,
        where: tuple[int, str, int],
        flags: tuple[str, ...] = (),
    ) -> None:
        """The row's values into ``target`` (the dossier's object at
        ``path``); a refused cell's path into ``failed``; the worker's yes/no
        ``flags`` (by its index, with the sheet and row) aside."""
        index, title, number = where
        for en, value in values.items():
            if en in _LINKS:
                continue
            if en in flags:
                if value is not _FAILED:
                    self.flags[(index, en)] = (value, title, number)
            elif value is _FAILED:
                self.failed.add(f"{path}.{en}")
            else:
                target[en] = value

    def _finish_workers(self) -> None:
        """Absent or empty history and account, from the 已采集 flags and the rows."""
        for index, worker in enumerate(self.workers):
            bureau = worker.get("bureau")
            for holder, flag, field, sheet in (
                (worker, "history_collected", "history", HISTORY),
                (worker, "account_collected", "account", ACCOUNT),
                (bureau, "history_present", "history", BUREAU_HISTORY),
                (bureau, "account_present", "account", BUREAU_ACCOUNT),
            ):
                if holder is None:
                    continue
                given = self.flags.get((index, flag))
                has_rows = field in holder
                if given is None:
                    continue  # collected exactly when it has rows
                collected, title, number = given
                if collected and not has_rows:
                    holder[field] = []
                elif not collected and has_rows:
                    where = WORKERS if holder is worker else BUREAU
                    letter = self.headers[where.title].letter(flag)
                    self.problems.add(
                        "xlsx.collected-flag",
                        f"否 (no) here, yet the sheet {sheet.title} has rows for this worker; "
                        "make it 是 (yes), or delete those rows",
                        f"此处为“否”,但工作表“{sheet.title}”中有该职工的数据行;请改为“是”或删除这些行",
                        sheet=title,
                        row=number,
                        column=where.column(flag).zh,
                        cell=_ref(title, letter, number),
                    )


#: The columns that link a row to its worker (not dossier fields).
_LINKS = frozenset({"no", "worker", "worker_name"})
_WORKER_FLAGS = ("history_collected", "account_collected")
_BUREAU_FLAGS = ("history_present", "account_present")


class _Failed:
    """A cell that had a problem (it is left out of the dossier)."""


_FAILED: Any = _Failed()

_ITEM_PREFIX = {
    HISTORY.title: "$.workers[{}].history[{}]",
    ACCOUNT.title: "$.workers[{}].account[{}]",
    BUREAU_HISTORY.title: "$.workers[{}].bureau.history[{}]",
    BUREAU_ACCOUNT.title: "$.workers[{}].bureau.account[{}]",
}
_ITEM_FIELD = {
    HISTORY.title: "history",
    ACCOUNT.title: "account",
    BUREAU_HISTORY.title: "history",
    BUREAU_ACCOUNT.title: "account",
}


def _ref(title: str, letter: str | None, row: int) -> str:
    return f"{title}!{row}:{row}" if letter is None else f"{title}!{letter}{row}"


def _parse(parser: Any) -> Generator[tuple[int, list[dict[str, Any]]], None, None]:
    """``parser.parse()`` for what is read here, the rows and the merged
    cells, each row dropped from the tree once read and its dimensions
    (height, style) not kept: openpyxl's own loop keeps both to the end of
    the sheet (some 450 bytes a row, 470 MB for a sheet of 1,048,576 empty
    styled rows)."""
    from openpyxl.worksheet._reader import MERGE_TAG, ROW_TAG
    from openpyxl.worksheet.merge import MergeCells
    from openpyxl.xml.functions import iterparse

    parents: list[Any] = []
    for event, element in iterparse(parser.source, events=("start", "end")):
        if event == "start":
            parents.append(element)
            continue
        parents.pop()
        if element.tag == ROW_TAG:
            row = parser.parse_row(element)
            parser.row_dimensions.clear()  # a styled row's height and style: not read
            element.clear()
            if parents:
                parents[-1].remove(element)
            yield row
        elif element.tag == MERGE_TAG:
            parser.merged_cells = MergeCells.from_tree(element)
            element.clear()


def _as_date(cell: dict[str, Any], wb: Any) -> None:
    """A number in a date-formatted cell as openpyxl makes it a date; one no
    date can be (Excel shows #####) stays a number, which a month or date
    column may read (199604, 19650302)."""
    from openpyxl.utils.datetime import from_excel

    try:
        value = from_excel(
            cell["value"], wb.epoch, timedelta=cell["style_id"] in wb._timedelta_formats
        )
    except (OverflowError, ValueError):
        return
    cell["value"], cell["data_type"] = value, "d"


def _row_of(ref: str) -> int | None:
    match = re.match(r"[A-Z]+([0-9]+)", ref)
    return None if match is None else int(match.group(1))


def _read(column: Column, value: Any, epoch: Any) -> Any:
    kind = column.kind
    if kind in ("text", "check"):
        return read_text(value)
    if kind == "month":
        if isinstance(value, datetime.datetime | datetime.date):
            from openpyxl.utils.datetime import to_excel

            return read_month(value, float(to_excel(value, epoch)))
        return read_month(value)
    if kind == "date":
        return read_date(value)
    if kind == "money":
        return read_money(value)
    if kind == "rate":
        return read_rate(value)
    if kind == "int":
        return read_int(value)
    if kind == "worker":
        return read_worker_no(value)
    if kind == "flag":
        return read_flag(value)
    assert column.choices is not None
    return read_choice(value, column.choices)


# -- stage 3: the dossier reader's problems, at their cells -----------------------

_PATH = re.compile(
    r"\$(?:\.(?P<top>employer|as_of|rule_pack|workers))?"
    r"(?:\.(?P<efield>[a-z_]+))?"
    r"(?:\[(?P<w>[0-9]+)\])?"
    r"(?P<bureau>\.bureau)?"
    r"(?:\.(?P<list>history|account)(?:\[(?P<i>[0-9]+)\])?)?"
    r"(?:\.(?P<field>[a-z_]+))?"
)


def _where(reader: _Reader, path: str) -> tuple[str | None, int | None, str | None, str | None]:
    """The sheet, row, column header and cell of a JSON path of the dossier made."""
    match = _PATH.fullmatch(path)
    if match is None or match.group("top") is None:
        return None, None, None, None
    top = match.group("top")
    if top in ("employer", "as_of", "rule_pack"):
        field = match.group("efield") if top == "employer" else top
        return _at(reader, EMPLOYER, reader.employer_row or None, field)
    w = match.group("w")
    if w is None:
        return WORKERS.title, None, None, WORKERS.title
    index = int(w)
    listed, item, field = match.group("list"), match.group("i"), match.group("field")
    bureau = match.group("bureau") is not None
    if listed is not None and item is not None:
        sheet = {
            (False, "history"): HISTORY,
            (False, "account"): ACCOUNT,
            (True, "history"): BUREAU_HISTORY,
            (True, "account"): BUREAU_ACCOUNT,
        }[(bureau, listed)]
        rows = reader.item_rows.get(sheet.title, [])
        position = int(item)
        row = rows[index][position] if index < len(rows) and position < len(rows[index]) else None
        return _at(reader, sheet, row, field)
    if bureau:
        flag = {"history": "history_present", "account": "account_present"}.get(listed or "")
        return _at(reader, BUREAU, reader.bureau_rows.get(index), flag or field)
    flag = {"history": "history_collected", "account": "account_collected"}.get(listed or "")
    row = reader.worker_rows[index] if index < len(reader.worker_rows) else None
    return _at(reader, WORKERS, row, flag or field)


def _at(
    reader: _Reader, sheet: Sheet, row: int | None, field: str | None
) -> tuple[str | None, int | None, str | None, str | None]:
    try:
        column = sheet.column(field) if field is not None else None
    except KeyError:
        column = None
    header = reader.headers.get(sheet.title)
    letter = header.letter(column.en) if header is not None and column is not None else None
    if row is None:
        return sheet.title, None, None if column is None else column.zh, sheet.title
    return sheet.title, row, None if column is None else column.zh, _ref(sheet.title, letter, row)


_MESSAGES = {
    "required but missing": (
        "required but empty; fill in this cell",
        "必填项为空,请填写",
    ),
}


def _dossier_problems(reader: _Reader, error: DossierFormatError, problems: _Problems) -> None:
    for problem in error.problems:
        if problem.path in reader.failed:
            continue
        if problem.path == "$" and "more problems not listed" in problem.message:
            # the reader stopped listing (and examining) at its cap: so many
            # problems are at least one more than the list holds
            problems.at_least = True
            if len(problems.items) >= problems.cap:
                problems.more += 1
                continue
        sheet, row, column, cell = _where(reader, problem.path)
        if sheet is not None and column is not None and cell == f"{sheet}!{row}:{row}":
            header = reader.headers.get(sheet)
            if header is not None and header.missing:
                continue  # the column is missing: said once, not on every row
        message, message_zh = _MESSAGES.get(problem.message, (problem.message, problem.message_zh))
        if sheet is None and problem.path != "$":
            message = f"{problem.path}: {message}"
        problems.add(
            "xlsx.dossier",
            message,
            message_zh,
            sheet=sheet,
            row=row,
            column=column,
            cell=cell,
        )


# -- the whole ---------------------------------------------------------------------


def read_workbook(path: str | os.PathLike[str], limits: Limits | None) -> Dossier:
    return _read_workbook(path, limits)[0]


def read_workbook_places(
    path: str | os.PathLike[str], limits: Limits | None
) -> tuple[Dossier, XlsxPlaces]:
    dossier, reader = _read_workbook(path, limits)
    # only the rows and the headers' letters stay: never a value
    reader.wb = None
    reader.data, reader.workers, reader.names, reader.flags = {}, [], [], {}
    return dossier, XlsxPlaces(lambda where: _where(reader, where))


def _read_workbook(path: str | os.PathLike[str], limits: Limits | None) -> tuple[Dossier, _Reader]:
    limits = DEFAULT_LIMITS if limits is None else limits
    source = os.fspath(path)
    problems = _Problems(limits.problems)
    openpyxl = openpyxl_module()
    # Not blocking: a FIFO opens at once (and is refused as no regular file).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise XlsxImportError(
            [
                XlsxProblem(
                    None,
                    None,
                    None,
                    None,
                    "xlsx.not-a-file",
                    "not a regular file (a folder, a pipe, a device); give the workbook's "
                    "file (.xlsx)",
                    "不是普通文件(文件夹、管道或设备);请给出工作簿文件(.xlsx)",
                )
            ],
            source=source,
        )
    with os.fdopen(fd, "rb") as stream:
        try:
            archive = _check_file(stream, limits)
        except _Fatal as fatal:
            code, message, message_zh = fatal.args
            raise XlsxImportError(
                [XlsxProblem(None, None, None, None, code, message, message_zh)], source=source
            ) from None
        archive.close()
        stream.seek(0)
        with warnings.catch_warnings():
            # openpyxl warns of the parts it does not keep (extensions, defined names)
            warnings.simplefilter("ignore")
            try:
                wb = openpyxl.load_workbook(
                    stream, read_only=True, data_only=False, keep_links=False, keep_vba=False
                )
            except Exception:  # openpyxl on a damaged workbook: any exception type
                raise XlsxImportError(
                    [
                        XlsxProblem(
                            None,
                            None,
                            None,
                            None,
                            "xlsx.not-a-workbook",
                            "not a readable Excel workbook (a part is missing or damaged); "
                            "save it from Excel as an Excel Workbook (.xlsx)",
                            "无法读取的 Excel 工作簿(部件缺失或损坏);"
                            "请用 Excel 另存为 Excel 工作簿(.xlsx)",
                        )
                    ],
                    source=source,
                ) from None
            try:
                reader = _Reader(wb, limits, problems)
                data = reader.read()
            finally:
                wb.close()
    try:
        dossier = from_dict(
            {"format": "pension-collect/dossier", "version": 1, **data},
            source=source,
            # the problems at cells refused already are dropped: room for them
            limits=attrs.evolve(limits, problems=limits.problems + len(reader.failed)),
        )
    except DossierFormatError as error:
        _dossier_problems(reader, error, problems)
        raise XlsxImportError(problems.listed(), source=source) from None
    if problems or problems.more:
        raise XlsxImportError(problems.listed(), source=source)
    return dossier, reader
