"""Every word printed on the forms, in one place (Chinese; the forms are for clerks
and workers). Layout code looks labels up here; the view model carries codes."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CATEGORY",
    "FORM_TITLES",
    "GENDER",
    "HUKOU",
    "SOURCE",
    "all_label_text",
]

FORM_TITLES: Mapping[str, str] = {
    "verification": "职工养老保险信息核对表",
    "confirmation": "职工养老保险信息确认表",
    "summary": "职工养老保险信息确认表汇总表",
}
SHORT_TITLES: Mapping[str, str] = {
    "verification": "核对表",
    "confirmation": "确认表",
    "summary": "汇总表",
}

CATEGORY: Mapping[str, str] = {
    "deemed": "视同缴费",
    "pre_account": "实行账户前缴费",
    "post_account": "实行账户后缴费",
}
SOURCE: Mapping[str, str] = {
    "handbook": "养老手册",
    "red_book": "小红本",
    "transfer_in": "转入",
}
ORIGIN: Mapping[str, str] = {"local": "本市", "other_city": "跨市"}
INSTITUTION = "机关事业"
GENDER: Mapping[str, str] = {"male": "男", "female": "女"}
HUKOU: Mapping[str, str] = {"urban": "城镇", "rural": "农村"}

UNIT_NO = "单位编号"
UNIT_NAME = "单位名称"
DECLARATION = "申报编号"
WORKER = "职工"
PERSON_FIELDS: tuple[tuple[str, str], ...] = (
    ("person_no", "个人编号"),
    ("name", "姓名"),
    ("id_number", "公民身份号码"),
    ("gender", "性别"),
    ("birth_date", "出生日期"),
    ("ethnicity", "民族"),
    ("hukou", "户口性质"),
    ("first_work", "参加工作时间"),
)
SECTION_PERSON = "一、个人基本信息"
SECTION_HISTORY = "二、缴费历史"
SECTION_ACCOUNT = "三、养老账户（1996年4月起）"
BUREAU_RECORD = "社保机构记录"
CORRECTION = "更正（手写）"
ITEM = "项目"
HISTORY_HEADERS: Mapping[str, str] = {
    "seq": "序号",
    "start": "起始年月",
    "end": "终止年月",
    "months": "月数",
    "base": "缴费基数",
    "rate": "比例",
    "total": "缴费合计",
    "category": "类别",
    "source": "来源",
    "note": "单位名称 / 备注",
    "correction": CORRECTION,
}
ACCOUNT_HEADERS: Mapping[str, str] = {
    "year": "年度",
    "months": "月数",
    "base": "缴费基数",
    "personal": "个人缴费划入",
    "employer_part": "单位划入",
    "interest": "利息",
    "balance": "累计储存额",
    "correction": CORRECTION,
}
SUMMARY_HEADERS: Mapping[str, str] = {
    "seq": "序号",
    "person_no": "个人编号",
    "name": "姓名",
    "id_number": "公民身份号码",
    "deemed": "视同缴费\n月数",
    "pre_account": "实行账户前\n缴费月数",
    "post_account": "实行账户后\n缴费月数",
    "account_years": "养老账户\n年度",
    "balance": "年末累计\n储存额",
    "copies": "确认表份数",
    "note": "备注",
}
TOTAL = "合计"
CONTINUED = "（续）"
PERSONS = "人"
NOT_RECORDED = "—"
NOT_COLLECTED = "未采集"
NO_ROWS = "无"
NO_BUREAU_DATA = "社保机构暂无该职工的数据（请先进行数据同步）。"
CLIPPED = "截至{until}，合计不打印"
BLANK_ROWS_NOTE = "（空行供补充漏登的缴费历史）"

PRINT_UNTIL = "数据打印至{year}年{month}月"
PRINT_ALL = "打印全部数据"
RULE_PACK = "规则包"
PAGE_OF = "第 {page} 页  共 {pages} 页"
DOC_PAGE = "总第 {page} 页"
CHECK_CODE = "校验码"

VERIFICATION_NOTE = (
    "请逐项核对以上社保机构记录，如有不符，请在“更正（手写）”栏内填写正确内容，"
    "并将本表连同养老手册、身份证交单位经办人。姓名或公民身份号码有误的，"
    "须本人持养老手册和身份证到社保经办窗口办理更正。"
)
CONFIRMATION_STATEMENT = "本人已逐项核对以上信息，确认与本人养老手册等资料一致。"
SUMMARY_NOTE = "以上职工的确认表已由本人签字，随养老手册等资料一并报送。"
SIGN_WORKER = "职工签字："
SIGN_CLERK = "经办人签字："
SIGN_BUREAU = "社保经办机构受理人："
DATE = "日期："
YEAR, MONTH, DAY = "年", "月", "日"
SEAL = "单位（盖章）"


def all_label_text() -> str:
    """Every character the forms print besides the data (to check a font covers them)."""
    parts: list[str] = []
    for name, value in sorted(globals().items()):
        if name.startswith("_") or name == "all_label_text":
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            parts.extend(str(v) for v in value.values())
        elif isinstance(value, tuple):
            parts.extend(str(v) for pair in value for v in pair)
    return "".join(parts) + "0123456789-./:年月日\u3013"
