"""The workbook's layout: its sheets, their columns, the drop-down choices
(docs/xlsx.md, "The workbook").

Pure data, no openpyxl: the writer and the reader share it, so what one
writes the other reads.
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from ..model import Category, EmployerKind, Gender, Hukou, Origin, Source

#: What a column holds; decides its cell format, how a clerk's typing is
#: read, and its width.
KINDS = ("text", "month", "date", "money", "rate", "int", "choice", "flag", "worker", "check")


@attrs.frozen
class Column:
    """One column of a sheet: its Chinese header (row 1), its English name
    (row 2: the dossier field it holds, or a name of the workbook's own),
    its kind and, for a choice, the enum whose values it takes."""

    zh: str
    en: str
    kind: str
    required: bool = False
    choices: type[StrEnum] | None = None
    width: int = 0
    """Fixed width in characters; 0: from the header and the data."""


@attrs.frozen
class Sheet:
    """One sheet: its title, English name and columns."""

    title: str
    en: str
    columns: tuple[Column, ...]
    required: bool = False

    def column(self, en: str) -> Column:
        for column in self.columns:
            if column.en == en:
                return column
        raise KeyError(en)


#: The Chinese labels of every choice, by enum value (what the drop-downs offer;
#: the English values are read too).
LABELS: dict[type[StrEnum], dict[str, str]] = {
    Gender: {"male": "男", "female": "女"},
    Hukou: {"urban": "城镇", "rural": "农村"},
    Category: {
        "deemed": "视同缴费",
        "pre_account": "实行账户前缴费",
        "post_account": "实行账户后缴费",
    },
    Source: {"handbook": "养老手册", "red_book": "小红本", "transfer_in": "转入"},
    EmployerKind: {"enterprise": "企业", "institution": "机关事业"},
    Origin: {"local": "本市", "other_city": "跨市"},
}

#: The words of a yes/no column (缴费历史已采集 ...), the first of each is written.
YES = ("是", "yes", "y", "true", "1", "有")
NO = ("否", "no", "n", "false", "0", "无")

_WORKER = Column("职工序号", "worker", "worker", required=True, width=10)
_CHECK = Column("职工姓名(核对)", "worker_name", "check", width=12)

_SEGMENT_COLUMNS = (
    _WORKER,
    _CHECK,
    Column("起始年月", "start", "month", required=True),
    Column("截止年月", "end", "month", required=True),
    Column("缴费合计", "total", "money"),
    Column("缴费基数", "base", "money"),
    Column("缴费比例", "rate", "rate"),
    Column("账户类别", "category", "choice", choices=Category),
    Column("来源", "source", "choice", choices=Source),
    Column("单位性质", "employer_kind", "choice", choices=EmployerKind),
    Column("转入地", "origin", "choice", choices=Origin),
    Column("转入年月", "transferred_on", "month"),
    Column("单位名称", "employer_name", "text"),
    Column("备注", "remark", "text"),
)

_ACCOUNT_COLUMNS = (
    _WORKER,
    _CHECK,
    Column("年度", "year", "int", required=True),
    Column("缴费月数", "months", "int", required=True),
    Column("缴费基数", "base", "money", required=True),
    Column("个人缴费划入", "personal", "money", required=True),
    Column("单位划入", "employer_part", "money", required=True),
    Column("利息", "interest", "money", required=True),
    Column("累计储存额", "balance", "money", required=True),
)

EMPLOYER = Sheet(
    "单位",
    "employer",
    (
        Column("单位编号", "unit_no", "text", required=True),
        Column("单位名称", "name", "text", required=True),
        Column("统一社会信用代码", "credit_code", "text"),
        Column("法定代表人", "legal_representative", "text"),
        Column("地址", "address", "text"),
        Column("联系人", "contact", "text"),
        Column("电话", "phone", "text"),
        Column("采集月份", "as_of", "month"),
        Column("规则包", "rule_pack", "text"),
    ),
    required=True,
)

WORKERS = Sheet(
    "职工",
    "workers",
    (
        Column("序号", "no", "worker", required=True, width=8),
        Column("身份证号码", "id_number", "text", required=True),
        Column("姓名", "name", "text", required=True),
        Column("参加工作时间", "first_work", "month", required=True),
        Column("个人编号", "person_no", "text"),
        Column("性别", "gender", "choice", choices=Gender),
        Column("出生日期", "birth_date", "date"),
        Column("民族", "ethnicity", "text"),
        Column("户口性质", "hukou", "choice", choices=Hukou),
        Column("缴费历史已采集", "history_collected", "flag"),
        Column("养老账户已采集", "account_collected", "flag"),
    ),
    required=True,
)

HISTORY = Sheet("缴费历史", "history", _SEGMENT_COLUMNS)
ACCOUNT = Sheet("养老账户", "account", _ACCOUNT_COLUMNS)

BUREAU = Sheet(
    "社保个人信息",
    "bureau",
    (
        _WORKER,
        _CHECK,
        Column("个人编号", "person_no", "text"),
        Column("身份证号码", "id_number", "text"),
        Column("姓名", "name", "text"),
        Column("性别", "gender", "choice", choices=Gender),
        Column("出生日期", "birth_date", "date"),
        Column("民族", "ethnicity", "text"),
        Column("户口性质", "hukou", "choice", choices=Hukou),
        Column("参加工作时间", "first_work", "month"),
        Column("有缴费历史", "history_present", "flag"),
        Column("有养老账户", "account_present", "flag"),
    ),
)
BUREAU_HISTORY = Sheet("社保缴费历史", "bureau_history", _SEGMENT_COLUMNS)
BUREAU_ACCOUNT = Sheet("社保养老账户", "bureau_account", _ACCOUNT_COLUMNS)

#: The title of the sheet of explanations (written, never read).
ABOUT = "说明"

#: Every data sheet, in the workbook's order (after 说明).
SHEETS: tuple[Sheet, ...] = (
    EMPLOYER,
    WORKERS,
    HISTORY,
    ACCOUNT,
    BUREAU,
    BUREAU_HISTORY,
    BUREAU_ACCOUNT,
)

#: The first data row: row 1 holds the Chinese headers, row 2 the English names.
FIRST_DATA_ROW = 3
