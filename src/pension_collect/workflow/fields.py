"""A worker as the fields of an editor's form, and back (docs/workflow.md,
"The worker editor's fields").

:func:`worker_fields` lays a worker out as a flat list of :class:`FormField`
(path, labels, kind, the value as text), in the order the red book and the
forms show it: personal information, the contribution history by section
(upper box, lower box, transfers, government/institution periods), the
pension account year by year. :func:`worker_from_fields` reads what a clerk
typed back into a :class:`~pension_collect.model.Worker`, with every problem
at once, each at its path, in English and Chinese; it never raises on the
text. :func:`window_only_fields` says which fields the editor shows read-only
and why ([P3.3a]).

Pure: nothing is stored and no rule is run (the session's ``save_worker``
does both). Months, dates, amounts, rates and choices are read as the Excel
roster reads them (docs/xlsx.md, "What a clerk may type"): ``1996-04``,
``1996.04``, ``199604`` and ``1996年4月`` are one month.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs

from ..errors import Problem
from ..identity import canonical_id, canonical_name
from ..limits import DEFAULT_LIMITS, Limits
from ..model import (
    AccountYear,
    BureauRecord,
    Category,
    EmployerKind,
    FieldValueError,
    Gender,
    Hukou,
    Origin,
    Segment,
    Source,
    Worker,
    YearMonth,
)
from ..rules.fixes import FIELD_LABELS
from ..rules.pack import RulePack
from ..rules.weihai2013 import default_pack
from ..text import printable, refused_character, refused_reason
from ..xlsx._layout import LABELS
from ..xlsx._values import (
    CellRefused,
    read_choice,
    read_date,
    read_flag,
    read_int,
    read_money,
    read_month,
    read_rate,
)

__all__ = [
    "FIELD_KINDS",
    "EditorSection",
    "FormField",
    "LockedField",
    "editor_sections",
    "line_fields",
    "window_only_fields",
    "worker_fields",
    "worker_from_fields",
]

#: The kinds of field: what the value is and how a clerk's text is read.
FIELD_KINDS = ("text", "month", "date", "money", "rate", "int", "choice", "flag")

_ENGLISH: dict[type[StrEnum], dict[str, str]] = {
    Gender: {"male": "male", "female": "female"},
    Hukou: {"urban": "urban", "rural": "rural"},
    Category: {"deemed": "deemed", "pre_account": "pre-account", "post_account": "post-account"},
    Source: {"handbook": "handbook", "red_book": "red book", "transfer_in": "transferred in"},
    EmployerKind: {"enterprise": "enterprise", "institution": "government or institution"},
    Origin: {"local": "this city", "other_city": "another city"},
}


def _choices(enum: type[StrEnum]) -> tuple[tuple[str, str, str], ...]:
    return tuple((m.value, LABELS[enum][m.value], _ENGLISH[enum][m.value]) for m in enum)


@attrs.frozen
class _Spec:
    field: str
    kind: str
    required: bool = False
    enum: type[StrEnum] | None = None
    default: Any = None


_PERSON = (
    _Spec("id_number", "text", True),
    _Spec("name", "text", True),
    _Spec("person_no", "text"),
    _Spec("gender", "choice", enum=Gender),
    _Spec("birth_date", "date"),
    _Spec("ethnicity", "text"),
    _Spec("hukou", "choice", enum=Hukou),
    _Spec("first_work", "month", True),
)
_SEGMENT = (
    _Spec("start", "month", True),
    _Spec("end", "month", True),
    _Spec("total", "money"),
    _Spec("base", "money"),
    _Spec("rate", "rate"),
    _Spec("category", "choice", enum=Category),
    _Spec("source", "choice", enum=Source, default=Source.HANDBOOK),
    _Spec("employer_kind", "choice", enum=EmployerKind, default=EmployerKind.ENTERPRISE),
    _Spec("origin", "choice", enum=Origin),
    _Spec("transferred_on", "month"),
    _Spec("employer_name", "text"),
    _Spec("remark", "text"),
)
_ACCOUNT = (
    _Spec("year", "int", True),
    _Spec("months", "int", True),
    _Spec("base", "money", True),
    _Spec("personal", "money", True),
    _Spec("employer_part", "money", True),
    _Spec("interest", "money", True),
    _Spec("balance", "money", True),
)
_SPECS = {"worker": _PERSON, "segment": _SEGMENT, "account": _ACCOUNT}
_BY_NAME = {record: {s.field: s for s in specs} for record, specs in _SPECS.items()}
_PART_RECORD = {"history": "segment", "account": "account"}
_PART_LABELS = {
    "history": ("缴费历史已采集", "contribution history collected"),
    "account": ("养老账户已采集", "pension account collected"),
}


@attrs.frozen(kw_only=True, repr=False)
class FormField:
    """One field of the worker editor.

    ``path`` is relative to the worker (``$.name``, ``$.history[2].end``,
    ``$.account[0].balance``; ``$.history`` and ``$.account`` are the flags
    "this part is collected"), the same path a finding of
    :func:`~pension_collect.rules.check_worker` names with ``field``.
    ``value`` is the text the input shows (``""`` for nothing); ``choices``
    holds ``(value, label_zh, label_en)`` for a ``choice`` or ``flag``.
    """

    path: str
    label_zh: str
    label_en: str
    kind: str
    """One of :data:`FIELD_KINDS`."""
    value: str
    section: str
    """The :class:`EditorSection` the field is shown in (its ``name``)."""
    line: int | None = None
    """The index of its history line or account year; ``None`` for the others."""
    field: str | None = None
    """The model field (``end``); ``None`` for the part flags."""
    required: bool = False
    choices: tuple[tuple[str, str, str], ...] = ()

    def __repr__(self) -> str:
        # The value may be a name or an identity number: never in a repr.
        return f"FormField(path={self.path!r}, kind={self.kind!r})"


@attrs.frozen(kw_only=True)
class EditorSection:
    """A block of the editor, as the red book and the forms lay it out:
    ``person``, ``upper`` (history up to the box's last month), ``lower``
    (enterprise history from the next month to the month before the account
    start), ``transfer`` (transferred-in periods), ``institution``
    (government/institution periods), ``account`` (the pension account)."""

    name: str
    label_zh: str
    label_en: str


@attrs.frozen(kw_only=True)
class LockedField:
    """A field the clerk may not change in the editor, and why.

    ``code`` is ``workflow.window-only`` (identity number and name: only the
    bureau window changes them, [P3.3a]) or ``workflow.bureau-number`` (the
    personal number the bureau gave). ``differs`` is true when the worker's
    value is not the bureau's (a finding ``person.window-only-change`` says to
    restore it)."""

    path: str
    field: str
    code: str
    reason: str
    reason_zh: str
    procedure: str | None
    differs: bool


def _params(pack: RulePack | None, as_of: YearMonth | None) -> tuple[YearMonth, YearMonth]:
    """The box boundary and the account start of ``pack`` at ``as_of``
    (weihai-2013's 1992-12 and 1996-04 where the pack has none)."""
    params = (pack or default_pack()).parameters
    month = as_of or YearMonth.of(_dt.date.today())
    names = params.parameters
    upper = params.get("upper_box_last_month", month) if "upper_box_last_month" in names else None
    start = params.get("account_start", month) if "account_start" in names else None
    return (
        upper if isinstance(upper, YearMonth) else YearMonth(1992, 12),
        start if isinstance(start, YearMonth) else YearMonth(1996, 4),
    )


def editor_sections(
    pack: RulePack | None = None, *, as_of: YearMonth | None = None
) -> tuple[EditorSection, ...]:
    """The editor's sections in order, labelled with the months of ``pack``
    (default ``weihai-2013``) in force at ``as_of`` (default this month):
    upper box up to 1992-12, lower box 1993-01..1996-03."""
    upper, start = _params(pack, as_of)
    first, last = upper.add(1), start.add(-1)
    return (
        EditorSection(name="person", label_zh="个人信息", label_en="Personal information"),
        EditorSection(
            name="upper",
            label_zh=f"缴费历史 上面的框({upper} 及以前)",
            label_en=f"Contribution history, upper box (up to {upper})",
        ),
        EditorSection(
            name="lower",
            label_zh=f"缴费历史 下面的框({first} 至 {last})",
            label_en=f"Contribution history, lower box ({first} to {last})",
        ),
        EditorSection(name="transfer", label_zh="转入期间", label_en="Transferred-in periods"),
        EditorSection(
            name="institution",
            label_zh="机关事业缴费期间",
            label_en="Government or institution periods",
        ),
        EditorSection(name="account", label_zh="养老账户", label_en="Pension account"),
    )


def _section_of(segment: Segment, upper: YearMonth) -> str:
    if segment.employer_kind is EmployerKind.INSTITUTION:
        return "institution"
    if segment.source is Source.TRANSFER_IN:
        return "transfer"
    return "upper" if segment.start <= upper else "lower"


def _text(value: object) -> str:
    """A value as the editor shows it."""
    if value is None:
        return ""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def _field(
    record: str, spec: _Spec, path: str, value: object, section: str, line: int | None
) -> FormField:
    zh, en = FIELD_LABELS[record][spec.field]
    return FormField(
        path=path,
        label_zh=zh,
        label_en=en,
        kind=spec.kind,
        value=_text(value),
        section=section,
        line=line,
        field=spec.field,
        required=spec.required,
        choices=_choices(spec.enum) if spec.enum is not None else (),
    )


_FLAG_CHOICES = (("yes", "是", "yes"), ("no", "否", "no"))


def _flag(part: str, collected: bool, section: str) -> FormField:
    zh, en = _PART_LABELS[part]
    return FormField(
        path=f"$.{part}",
        label_zh=zh,
        label_en=en,
        kind="flag",
        value="yes" if collected else "no",
        section=section,
        choices=_FLAG_CHOICES,
    )


def line_fields(
    part: str, index: int, line: Segment | AccountYear | None = None, *, section: str | None = None
) -> tuple[FormField, ...]:
    """The fields of one history line (``part="history"``) or account year
    (``"account"``) at ``index``: empty ones for a line the clerk adds (the
    editor's "add a line"), else ``line``'s. ``section`` defaults to the
    line's (``lower`` for an empty history line)."""
    record = _PART_RECORD[part]
    if section is None:
        if isinstance(line, Segment):
            section = _section_of(line, _params(None, None)[0])
        else:
            section = "account" if part == "account" else "lower"
    out = []
    for spec in _SPECS[record]:
        value = getattr(line, spec.field) if line is not None else None
        path = f"$.{part}[{index}].{spec.field}"
        out.append(_field(record, spec, path, value, section, index))
    return tuple(out)


def worker_fields(
    worker: Worker, *, pack: RulePack | None = None, as_of: YearMonth | None = None
) -> tuple[FormField, ...]:
    """Every editable field of ``worker``, in the editor's order: personal
    information, the part flags, each history line by section (upper box,
    lower box, transfers, institution periods; within a section in the
    worker's order), each account year. ``pack`` (default ``weihai-2013``)
    at ``as_of`` (default this month) gives the box boundary. The bureau's
    record is not among them: it is shown beside, never edited."""
    upper, _ = _params(pack, as_of)
    out = [
        _field("worker", s, f"$.{s.field}", getattr(worker, s.field), "person", None)
        for s in _PERSON
    ]
    out.append(_flag("history", worker.history is not None, "person"))
    out.append(_flag("account", worker.account is not None, "person"))
    history = worker.history or ()
    by_section: dict[str, list[int]] = {"upper": [], "lower": [], "transfer": [], "institution": []}
    for i, segment in enumerate(history):
        by_section[_section_of(segment, upper)].append(i)
    for name, indexes in by_section.items():
        for i in indexes:
            out.extend(line_fields("history", i, history[i], section=name))
    for i, year in enumerate(worker.account or ()):
        out.extend(line_fields("account", i, year, section="account"))
    return tuple(out)


# -- window-only fields ([P3.3a]) ------------------------------------------------------

_WINDOW_REASON = (
    "Only the bureau window changes the {what}: the worker goes there in person with the "
    "handbook and ID card; then run a data sync and print a new verification form.",
    "{what_zh}只能由职工本人持养老手册和身份证原件到社保窗口修改;修改后先做数据同步,再打印新的核对表。",
)
_NUMBER_REASON = (
    "The personal number is the bureau's: it comes with the data sync.",
    "个人编号由社保分配,随数据同步取得。",
)


def window_only_fields(
    worker: Worker | None, bureau: BureauRecord | None = None
) -> tuple[LockedField, ...]:
    """The fields of a worker the editor shows read-only, with the reason:
    the identity number and the name when the worker's synced bureau record
    (``bureau``, default ``worker.bureau``) holds them ([P3.3a], code
    ``workflow.window-only``), and the personal number when it holds one
    (``workflow.bureau-number``). Nothing for a worker the bureau does not
    know (a new hire typed in by the clerk)."""
    record = bureau if bureau is not None else (worker.bureau if worker is not None else None)
    if record is None:
        return ()
    out = []
    for field, what, what_zh in (
        ("id_number", "identity number", "身份证号码"),
        ("name", "name", "姓名"),
    ):
        held = getattr(record, field)
        if held is None:
            continue
        differs = worker is not None and not _same(field, held, getattr(worker, field))
        out.append(
            LockedField(
                path=f"$.{field}",
                field=field,
                code="workflow.window-only",
                reason=_WINDOW_REASON[0].format(what=what),
                reason_zh=_WINDOW_REASON[1].format(what_zh=what_zh),
                procedure="P3.3a",
                differs=differs,
            )
        )
    if record.person_no is not None:
        out.append(
            LockedField(
                path="$.person_no",
                field="person_no",
                code="workflow.bureau-number",
                reason=_NUMBER_REASON[0],
                reason_zh=_NUMBER_REASON[1],
                procedure=None,
                differs=worker is not None and worker.person_no != record.person_no,
            )
        )
    return tuple(out)


def _same(field: str, held: str, value: str) -> bool:
    """As the rules and the bureau compare them (docs/rules.md)."""
    if held == value:
        return True
    if field == "id_number":
        return canonical_id(held) == canonical_id(value)
    if field == "name":
        return canonical_name(held) == canonical_name(value)
    return False


# -- reading the form back -------------------------------------------------------------

_PATH = re.compile(
    r"\$\.(?:(?P<part>history|account)\[(?P<index>[0-9]{1,9})\]\.)?(?P<field>[a-z_]+)"
)
_READERS = {
    "month": read_month,
    "date": read_date,
    "money": read_money,
    "rate": read_rate,
    "int": read_int,
}


class _Problems:
    def __init__(self, most: int) -> None:
        self.items: list[Problem] = []
        self.most = most

    def add(self, path: str, message: str, message_zh: str) -> None:
        if len(self.items) < self.most:
            self.items.append(Problem(path, message, message_zh))


def _parse(
    spec: _Spec, record: str, text: str, path: str, problems: _Problems, limits: Limits
) -> tuple[bool, Any]:
    """``(ok, value)`` of a field's text; a blank text is ``None`` (or the
    field's default)."""
    if text == "" or (spec.kind != "text" and not text.strip()):
        if spec.required:
            zh, en = FIELD_LABELS[record][spec.field]
            problems.add(path, f"the {en} is required; fill it in", f"{zh}必须填写")
            return False, None
        return True, spec.default
    try:
        if spec.kind == "text":
            return _checked_text(record, spec.field, text, path, problems, limits)
        if spec.kind == "choice":
            assert spec.enum is not None
            return True, read_choice(text, spec.enum)
        value = _READERS[spec.kind](text)
    except CellRefused as refused:
        problems.add(path, refused.message, refused.message_zh)
        return False, None
    return _bounded(spec.kind, value, path, problems, limits)


def _bounded(
    kind: str, value: Any, path: str, problems: _Problems, limits: Limits
) -> tuple[bool, Any]:
    """The dossier format's bounds on numbers (docs/dossier.md "Limits"): a
    whole number of at most ``number_digits`` digits (a longer one is an
    identity number in the wrong field), an amount of at most
    ``amount_digits`` before the point."""
    if kind == "int" and not -(10**limits.number_digits) < value < 10**limits.number_digits:
        most = limits.number_digits
        problems.add(
            path,
            f"a number of more than {most} digits; a count or a year, not an identity number",
            f"数字超过 {most} 位(是否填错了栏?);此处应为月数或年度",
        )
        return False, None
    if kind == "money" and Decimal(value).adjusted() >= limits.amount_digits:
        most = limits.amount_digits
        problems.add(
            path,
            f"an amount of more than {most} digits before the point; check it",
            f"金额整数部分超过 {most} 位;请核对",
        )
        return False, None
    return True, value


def _checked_text(
    record: str, field: str, text: str, path: str, problems: _Problems, limits: Limits
) -> tuple[bool, Any]:
    class_name = {"worker": "Worker", "segment": "Segment", "account": "AccountYear"}[record]
    longest = limits.text_length_of(class_name, field)
    if len(text) > longest:
        problems.add(
            path,
            f"text of {len(text):,} characters; at most {longest:,} are kept; shorten it",
            f"文本长 {len(text):,} 个字符,超过上限 {longest:,} 个;请缩短",
        )
        return False, None
    at = refused_character(text)
    if at is not None:
        what, what_zh = refused_reason(text[at])
        problems.add(
            path,
            f"holds {what} at character {at + 1}; remove it",
            f"第 {at + 1} 个字符是{what_zh};请删除",
        )
        return False, None
    return True, text


def _value(
    spec: _Spec,
    record: str,
    path: str,
    texts: Mapping[str, str],
    base: object,
    problems: _Problems,
    limits: Limits,
) -> tuple[bool, Any]:
    """A field's value: its text read, or the base's value when the text is
    what the editor showed for it (unchanged) or absent."""
    held = getattr(base, spec.field) if base is not None else spec.default
    if spec.field not in texts:
        if base is None and spec.required:
            zh, en = FIELD_LABELS[record][spec.field]
            problems.add(path, f"the {en} is required; fill it in", f"{zh}必须填写")
            return False, None
        return True, held
    text = texts[spec.field]
    if base is not None and text == _text(held):
        return True, held
    return _parse(spec, record, text, path, problems, limits)


def _build(cls: type[Any], values: dict[str, Any], path: str, problems: _Problems) -> Any:
    try:
        return cls(**values)
    except FieldValueError as exc:
        problems.add(f"{path}.{exc.field}", exc.message, exc.message_zh)
        return None


def worker_from_fields(
    base: Worker | None,
    fields: Mapping[str, str],
    *,
    limits: Limits | None = None,
) -> tuple[Worker | None, tuple[Problem, ...]]:
    """Read an editor's form back: ``fields`` maps paths of
    :func:`worker_fields` (or of :func:`line_fields` for added lines) to the
    text typed. Returns ``(worker, ())``, or ``(None, problems)`` with every
    problem at once, each at its path, in English and Chinese (never the text
    typed). Never raises on the text.

    ``base`` is the worker the form was made from (``None`` for a new one):
    a field left out of ``fields`` keeps its value, a text equal to what
    :func:`worker_fields` showed keeps it exactly, and the bureau's record
    is kept. A part (``history``, ``account``) with none of its paths in
    ``fields`` is kept; one with some is rebuilt from them: its lines in the
    order of their indexes, a line whose fields are all blank left out (a
    removed line is one whose paths are not sent), the flag ``$.history``
    (``yes``/``no``, 是/否) saying whether the part is collected. A window-only
    field (:func:`window_only_fields`) may be sent unchanged or with the
    bureau's value, nothing else.
    """
    limits = limits or DEFAULT_LIMITS
    problems = _Problems(limits.problems)
    most_keys = (
        2 + len(_PERSON) + len(_SEGMENT) * limits.segments + len(_ACCOUNT) * limits.account_years
    )
    if len(fields) > most_keys:
        problems.add(
            "$",
            f"more than {most_keys:,} fields; the form is not a worker's",
            f"字段超过 {most_keys:,} 个,不是职工的表单",
        )
        return None, tuple(problems.items)
    person: dict[str, str] = {}
    flags: dict[str, str] = {}
    lines: dict[str, dict[int, dict[str, str]]] = {"history": {}, "account": {}}
    for path, text in fields.items():
        match = _PATH.fullmatch(path) if isinstance(path, str) else None
        where = printable(path) if isinstance(path, str) and len(path) <= 80 else "$"
        if match is None:
            problems.add(where, "not a field of the worker editor", "不是职工编辑页的字段")
            continue
        part, name = match.group("part"), match.group("field")
        if not isinstance(text, str):
            problems.add(path, "the value is not text", "值不是文本")
            continue
        if part is None:
            if name in _PART_RECORD:
                flags[name] = text
            elif name in _BY_NAME["worker"]:
                person[name] = text
            else:
                problems.add(path, "not a field of the worker editor", "不是职工编辑页的字段")
            continue
        if name not in _BY_NAME[_PART_RECORD[part]]:
            problems.add(path, "not a field of the worker editor", "不是职工编辑页的字段")
            continue
        lines[part].setdefault(int(match.group("index")), {})[name] = text

    values: dict[str, Any] = {}
    for spec in _PERSON:
        ok, value = _value(spec, "worker", f"$.{spec.field}", person, base, problems, limits)
        if ok:
            values[spec.field] = value
    if base is not None:
        _check_locked(base, values, problems)
    values["history"] = _part("history", Segment, base, flags, lines, problems, limits)
    values["account"] = _part("account", AccountYear, base, flags, lines, problems, limits)
    values["bureau"] = base.bureau if base is not None else None
    if problems.items:
        return None, tuple(problems.items)
    worker = _build(Worker, values, "$", problems)
    return (
        (worker, ()) if worker is not None and not problems.items else (None, tuple(problems.items))
    )


def _check_locked(base: Worker, values: dict[str, Any], problems: _Problems) -> None:
    for locked in window_only_fields(base):
        if locked.field not in values:
            continue
        new = values[locked.field]
        held = getattr(base.bureau, locked.field) if base.bureau is not None else None
        if new == getattr(base, locked.field) or (
            isinstance(new, str) and isinstance(held, str) and _same(locked.field, held, new)
        ):
            continue
        problems.add(locked.path, locked.reason, locked.reason_zh)


_Part = tuple[Any, ...] | None


def _part(
    part: str,
    cls: type[Any],
    base: Worker | None,
    flags: Mapping[str, str],
    lines: Mapping[str, Mapping[int, Mapping[str, str]]],
    problems: _Problems,
    limits: Limits,
) -> _Part:
    held: _Part = getattr(base, part) if base is not None else None
    given = lines[part]
    if part not in flags and not given:
        return held
    collected = True
    if part in flags:
        try:
            collected = read_flag(flags[part])
        except CellRefused as refused:
            problems.add(f"$.{part}", refused.message, refused.message_zh)
            return held
    blank = {i for i, texts in given.items() if all(not t.strip() for t in texts.values())}
    if not collected:
        if len(blank) < len(given):
            zh, en = _PART_LABELS[part]
            problems.add(
                f"$.{part}",
                f"lines are filled in but '{en}' says no; say yes or empty the lines",
                f"已填写数据行,但“{zh}”为否;请选“是”或清空这些行",
            )
        return None
    most = limits.segments if part == "history" else limits.account_years
    if len(given) - len(blank) > most:
        problems.add(
            f"$.{part}",
            f"more than {most:,} lines; a worker has at most {most:,}",
            f"超过 {most:,} 行;每名职工最多 {most:,} 行",
        )
        return held
    record = _PART_RECORD[part]
    out = []
    for index in sorted(given):
        if index in blank:
            continue
        path = f"$.{part}[{index}]"
        base_line = held[index] if held is not None and index < len(held) else None
        texts = given[index]
        values: dict[str, Any] = {}
        ok = True
        for spec in _SPECS[record]:
            good, value = _value(
                spec, record, f"{path}.{spec.field}", texts, base_line, problems, limits
            )
            ok = ok and good
            if good and value is not None:
                values[spec.field] = value
        if ok:
            built = _build(cls, values, path, problems)
            if built is not None:
                out.append(built)
    return tuple(out)
