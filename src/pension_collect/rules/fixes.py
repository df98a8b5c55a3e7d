"""One-click fixes: a rule finding's suggested fix applied to a worker.

Some findings say what the right value is: ``expected`` (the value of
``field`` at ``path``) or ``fix`` (a dict with an ``"action"``: ``to_18``,
``split``, ``cut``). :func:`apply_fix` applies one to a worker and returns a
new, frozen :class:`~pension_collect.model.Worker`; :func:`fixable` says
whether a finding carries a fix this module applies; :func:`fix_preview` says
what it will change, for a button label (``将 终止年月 改为 1992-12``).

Pure, like every rule module: nothing is stored, nothing is checked again;
check the worker again after a fix (a fix changes the lines' numbering: a
split adds one). Which codes of ``weihai-2013`` carry a fix, and the one that
carries a figure but no fix (``account.balance``): docs/rules.md, "Suggested
fixes".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import PensionCollectError
from ..identity import InvalidIdentityNumber, to_18
from ..model import Category, FieldValueError, Gender, Segment, Worker, YearMonth
from .derive import split
from .pack import Finding

__all__ = [
    "FIELD_LABELS",
    "NOT_FIXABLE",
    "FixNotApplicable",
    "FixPreview",
    "apply_fix",
    "field_path",
    "fix_preview",
    "fixable",
    "relative_path",
]

#: Chinese and English label of each editable field, by record and field
#: name: ``FIELD_LABELS["segment"]["end"] == ("终止年月", "end month")``. The
#: records are ``worker`` (personal information), ``segment`` (a line of the
#: contribution history) and ``account`` (a year of the pension account).
FIELD_LABELS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "worker": {
        "id_number": ("身份证号码", "identity number"),
        "name": ("姓名", "name"),
        "person_no": ("个人编号", "personal number"),
        "gender": ("性别", "gender"),
        "birth_date": ("出生日期", "birth date"),
        "ethnicity": ("民族", "ethnicity"),
        "hukou": ("户口性质", "household registration"),
        "first_work": ("参加工作时间", "first work"),
    },
    "segment": {
        "start": ("起始年月", "start month"),
        "end": ("终止年月", "end month"),
        "total": ("缴费合计", "contribution total"),
        "base": ("缴费基数", "contribution base"),
        "rate": ("缴费比例", "rate"),
        "category": ("账户类别", "category"),
        "source": ("来源", "source"),
        "employer_kind": ("单位性质", "kind of employer"),
        "origin": ("转入地", "transferred from"),
        "transferred_on": ("转入年月", "month of transfer"),
        "employer_name": ("单位名称", "employer name"),
        "remark": ("备注", "remark"),
    },
    "account": {
        "year": ("年度", "year"),
        "months": ("缴费月数", "months"),
        "base": ("缴费基数", "contribution base"),
        "personal": ("个人缴费划入", "personal contributions"),
        "employer_part": ("单位划入", "employer part"),
        "interest": ("利息", "interest"),
        "balance": ("累计储存额", "year-end balance"),
    },
}

#: Codes whose finding carries a figure that is shown, never applied:
#: ``account.balance``'s ``expected`` is a sum the collection does not make
#: (the handbook stands, [P3.4e]), a hint for checking the transcription.
NOT_FIXABLE: frozenset[str] = frozenset({"account.balance"})

_WORKER_PATH = re.compile(r"\$(?:\.workers\[[0-9]{1,9}\])?")
_LINE_PATH = re.compile(r"(history|account)\[([0-9]{1,9})\]")

_CATEGORY_ZH = {
    "deemed": "视同缴费",
    "pre_account": "实行账户前缴费",
    "post_account": "实行账户后缴费",
}
_GENDER_ZH = {"male": "男", "female": "女"}


class FixNotApplicable(PensionCollectError, ValueError):
    """A finding's fix cannot be applied to this worker.

    ``reason`` says why: ``no-fix`` (the finding carries none, or one this
    module does not apply), ``path`` (the path names no line of this worker),
    ``stale`` (the line or field no longer holds what the finding was made
    on: check the worker again). ``message`` and ``message_zh`` say it for a
    clerk; neither quotes a name or an identity number.
    """

    code = "rules.fix-not-applicable"

    def __init__(self, reason: str, code: str, message: str, message_zh: str) -> None:
        super().__init__(f"{code}: {message}")
        self.reason = reason
        self.finding_code = code
        self.message = message
        self.message_zh = message_zh


@attrs.frozen(kw_only=True, repr=False)
class FixPreview:
    """What :func:`apply_fix` will change: ``path`` (relative to the worker:
    ``$``, ``$.history[1]``, ``$.account[0]``), ``field`` (``None`` for a split
    or a cut, which replace the line), the field's labels, and ``value``, the
    new value as shown (a month ``1992-12``, an amount ``0``, a category's
    Chinese and English words in ``value_zh``/``value``, the lines of a split
    ``1990-01..1992-12; 1993-01..1994-06``). ``text_zh`` and ``text_en`` are
    the button label."""

    path: str
    field: str | None
    label_zh: str
    label_en: str
    value: str
    value_zh: str
    action: str
    """``set`` (a field gets a value), ``split``, ``cut``, ``to_18`` or
    ``restore`` (the bureau's identity number or name back, [P3.3a])."""

    @property
    def text_zh(self) -> str:
        if self.action == "split":
            return f"拆分为 {self.value_zh}"
        if self.action == "cut":
            return f"改为 {self.value_zh}"
        return f"将 {self.label_zh} 改为 {self.value_zh}"

    @property
    def text_en(self) -> str:
        if self.action == "split":
            return f"Split into {self.value}"
        if self.action == "cut":
            return f"Replace by {self.value}"
        return f"Change {self.label_en} to {self.value}"

    def __repr__(self) -> str:
        # The value may be an identity number (to_18): never in a repr.
        return f"FixPreview(path={self.path!r}, field={self.field!r}, action={self.action!r})"


def relative_path(path: str) -> str:
    """A finding's path relative to its worker: ``$.workers[3].history[1]`` and
    ``$.history[1]`` give ``$.history[1]``; ``$.workers[3]`` gives ``$``.
    Raises :class:`FixNotApplicable` (reason ``path``) for any other path."""
    rest = path
    worker = _WORKER_PATH.match(path)
    if worker is not None:
        rest = path[worker.end() :]
        if not rest:
            return "$"
        if rest[0] != ".":
            raise _no_path("", path)
        rest = rest[1:]
    line = _LINE_PATH.fullmatch(rest)
    if line is None:
        raise _no_path("", path)
    return f"$.{line[1]}[{int(line[2])}]"


def field_path(finding: Finding) -> str | None:
    """Where a finding belongs in a worker editor: its path relative to the
    worker with its field (``$.history[1].end``, ``$.gender``), the line or
    the worker alone when it names no field (``$.history[1]``, ``$``): the
    path of a :class:`~pension_collect.workflow.FormField`. ``None`` for a
    path that is not in a worker (``$.employer``)."""
    try:
        rel = relative_path(finding.path)
    except FixNotApplicable:
        return None
    if finding.field is None:
        return rel
    return f"{rel}.{finding.field}"


def _no_path(code: str, path: str) -> FixNotApplicable:
    return FixNotApplicable(
        "path",
        code,
        f"the path {path[:80]!r} names no line of a worker; check the worker again",
        f"路径 {path[:80]!r} 不指向职工的任何一行;请重新检查该职工",
    )


def _stale(code: str, what: str, what_zh: str) -> FixNotApplicable:
    return FixNotApplicable(
        "stale",
        code,
        f"{what} no longer holds what the finding was made on; check the worker again",
        f"{what_zh}已不是检查时的内容;请重新检查该职工",
    )


#: Codes found on an empty field: their value is set only while it is empty.
_WAS_EMPTY = frozenset({"history.total-required"})

#: The finding whose fix is the bureau's own value ([P3.3a]: restore it here);
#: the finding carries no value (a name is never in a report), the worker's
#: bureau record has it.
_RESTORE = "person.window-only-change"


def _action(finding: Finding) -> str | None:
    if finding.code == _RESTORE and finding.field in ("id_number", "name"):
        return "restore"
    fix = finding.fix
    if isinstance(fix, Mapping):
        action = fix.get("action")
        if action in ("split", "cut") and isinstance(fix.get("segments"), list | tuple):
            return str(action)
        if action == "to_18":
            return "to_18"
        return None
    if fix is None and finding.expected is not None and finding.field is not None:
        return "set"
    return None


def fixable(finding: Finding) -> bool:
    """True when the finding carries a fix :func:`apply_fix` applies: an
    ``expected`` value for its ``field``, a ``to_18``, ``split`` or ``cut``
    fix, or ``person.window-only-change`` (the bureau's value restored); never
    for a code of :data:`NOT_FIXABLE`. Whether it still applies to the worker
    is :func:`apply_fix`'s to say."""
    if finding.code in NOT_FIXABLE:
        return False
    action = _action(finding)
    if action == "set":
        record = _record_of(finding.path)
        return record is not None and finding.field in FIELD_LABELS[record]
    return action is not None


def _record_of(path: str) -> str | None:
    try:
        rel = relative_path(path)
    except FixNotApplicable:
        return None
    if rel == "$":
        return "worker"
    return "segment" if rel.startswith("$.history") else "account"


def _not_fixable(finding: Finding) -> FixNotApplicable:
    if finding.code in NOT_FIXABLE:
        return FixNotApplicable(
            "no-fix",
            finding.code,
            "this finding's figure is for checking the transcription only; the handbook "
            "stands, nothing is calculated: correct the figures by hand if they were copied wrong",
            "此项提示的数值仅供核对录入;以养老手册为准,采集不做计算:如录错请手工更正",
        )
    return FixNotApplicable(
        "no-fix",
        finding.code,
        "this finding carries no suggested fix; correct the data by hand as its message says",
        "此项检查结果没有建议的更正;请按提示手工更正",
    )


def _locate(worker: Worker, finding: Finding) -> tuple[str, int]:
    """The part (``""``, ``history``, ``account``) and line the finding names."""
    try:
        rel = relative_path(finding.path)
    except FixNotApplicable:
        raise _no_path(finding.code, finding.path) from None
    if rel == "$":
        return "", -1
    part, _, rest = rel[2:].partition("[")
    index = int(rest[:-1])
    lines = getattr(worker, part)
    if lines is None or index >= len(lines):
        raise _no_path(finding.code, finding.path)
    return part, index


def _replace(worker: Worker, part: str, index: int, new: tuple[Any, ...]) -> Worker:
    lines = getattr(worker, part)
    changes: dict[str, Any] = {part: (*lines[:index], *new, *lines[index + 1 :])}
    return attrs.evolve(worker, **changes)


def apply_fix(worker: Worker, finding: Finding) -> Worker:
    """``worker`` with ``finding``'s suggested fix applied at its path.

    The path may be a dossier's (``$.workers[3].history[1]``: the worker
    index is not compared, ``worker`` is the worker it names) or relative to
    the worker (``$.history[1]``, ``$``). Raises :class:`FixNotApplicable`
    (``rules.fix-not-applicable``) when the finding carries no fix, the path
    names no line of ``worker``, or the line no longer holds what the finding
    was made on (a split whose period changed, a 15-digit number already
    replaced): check the worker again and use the new findings.
    """
    action = _action(finding)
    if action is None or not fixable(finding):
        raise _not_fixable(finding)
    part, index = _locate(worker, finding)
    if action == "restore":
        return _restored(worker, finding)
    if action == "to_18":
        return attrs.evolve(worker, id_number=_eighteen(worker, finding))
    if action in ("split", "cut"):
        if part != "history":
            raise _no_path(finding.code, finding.path)
        return _replace(worker, part, index, _pieces(worker.history or (), index, finding))
    assert finding.field is not None
    try:
        if part == "":
            return attrs.evolve(worker, **{finding.field: _converted(finding)})
        line = getattr(worker, part)[index]
        new_line = attrs.evolve(line, **{finding.field: _converted(finding, line)})
    except FieldValueError:
        raise _not_fixable(finding) from None
    return _replace(worker, part, index, (new_line,))


def _restored(worker: Worker, finding: Finding) -> Worker:
    """The bureau's identity number or name back in the worker ([P3.3a])."""
    bureau = worker.bureau
    value = None if bureau is None else getattr(bureau, finding.field or "")
    if not isinstance(value, str) or not value.strip():
        raise _stale(finding.code, "the bureau's record", "社保现有数据")
    if finding.field == "id_number":
        return attrs.evolve(worker, id_number=value)
    return attrs.evolve(worker, name=value)


def _eighteen(worker: Worker, finding: Finding) -> str:
    fix = finding.fix
    assert isinstance(fix, Mapping)
    try:
        number = to_18(worker.id_number)
    except InvalidIdentityNumber:
        raise _stale(finding.code, "the identity number", "身份证号码") from None
    if "append" in fix and str(fix["append"]) != number[-1]:
        raise _stale(finding.code, "the identity number", "身份证号码")
    return number


def _pieces(history: tuple[Segment, ...], index: int, finding: Finding) -> tuple[Segment, ...]:
    """The lines that replace ``history[index]``: cut from the current line at
    the fix's months, so what the clerk changed since (a remark) is kept."""
    fix = finding.fix
    assert isinstance(fix, Mapping)
    current = history[index]
    try:
        bounds = [(YearMonth.parse(p["start"]), YearMonth.parse(p["end"])) for p in fix["segments"]]
        last = bounds[-1][1]
        if fix["action"] == "cut":
            last = YearMonth.parse(fix["dropped"]["end"])
    except (KeyError, TypeError, ValueError, IndexError):
        raise _not_fixable(finding) from None
    if bounds[0][0] != current.start or last != current.end:
        raise _stale(finding.code, f"line {index + 1}", f"第 {index + 1} 行")
    pieces: list[Segment] = []
    rest: Segment | None = current
    for start, end in bounds:
        if rest is None or rest.start != start:
            raise _not_fixable(finding)
        if end < rest.end:
            piece, rest = split(rest, end.add(1))
        else:
            piece, rest = _whole(rest), None
        pieces.append(piece)
    return tuple(pieces)


def _whole(segment: Segment) -> Segment:
    """A line that a split leaves whole as a piece: its category is derived."""
    return attrs.evolve(segment, category=None)


def _converted(finding: Finding, line: Any = None) -> Any:
    """The finding's ``expected`` as the field's value."""
    field, expected = finding.field, finding.expected
    if field == "remark" and line is not None:
        remark = line.remark
        if remark is not None and remark.strip():
            if str(expected) in remark:
                raise _stale(finding.code, "the remark", "备注")
            return f"{remark} {expected}"
        return str(expected)
    if isinstance(expected, bool | float):
        raise _not_fixable(finding)  # the model takes neither (money is never a float)
    if finding.code in _WAS_EMPTY and line is not None and getattr(line, field or "") is not None:
        # Filled in since the check: the clerk's value is not overwritten.
        raise _stale(finding.code, "the value", "该项")
    return expected  # the model's converters read "1992-12", "0", "male", 12, Decimal


def _shown(record: str, field: str | None, value: Any) -> tuple[str, str]:
    """A new value as shown: English (or the plain value) and Chinese."""
    text = str(value)
    if record == "segment" and field == "category" and text in _CATEGORY_ZH:
        return text, _CATEGORY_ZH[text]
    if record == "worker" and field == "gender" and text in _GENDER_ZH:
        return text, _GENDER_ZH[text]
    return text, text


def fix_preview(worker: Worker, finding: Finding) -> FixPreview:
    """What :func:`apply_fix` will change, for a button label:
    ``fix_preview(w, f).text_zh == "将 终止年月 改为 1992-12"``. Raises
    :class:`FixNotApplicable` exactly when :func:`apply_fix` would."""
    fixed = apply_fix(worker, finding)
    action = _action(finding)
    assert action is not None
    part, index = _locate(worker, finding)
    rel = "$" if part == "" else f"$.{part}[{index}]"
    if action in ("split", "cut"):
        fix = finding.fix
        assert isinstance(fix, Mapping)
        assert fixed.history is not None
        count = len(fix["segments"])
        lines = fixed.history[index : index + count]
        value = "; ".join(f"{s.start}..{s.end}" for s in lines)
        value_zh = ";".join(f"{s.start}..{s.end}" for s in lines)
        if action == "cut":
            dropped = fix["dropped"]
            gone = f"{dropped['start']}..{dropped['end']}"
            value += f" ({gone} is the pension account, not entered)"
            value_zh += f"({gone} 属于养老账户,不录入)"
        return FixPreview(
            path=rel,
            field=None,
            label_zh="缴费历史",
            label_en="contribution history",
            value=value,
            value_zh=value_zh,
            action=action,
        )
    if action in ("to_18", "restore"):
        changed = "id_number" if action == "to_18" else finding.field or ""
        zh, en = FIELD_LABELS["worker"][changed]
        shown = getattr(fixed, changed)
        return FixPreview(
            path=rel,
            field=changed,
            label_zh=zh,
            label_en=en,
            value=shown,
            value_zh=shown,
            action=action,
        )
    record = "worker" if part == "" else ("segment" if part == "history" else "account")
    assert finding.field is not None
    field = finding.field
    target = fixed if part == "" else getattr(fixed, part)[index]
    new_value = getattr(target, field)
    if isinstance(new_value, Category | Gender):
        new_value = new_value.value
    value, value_zh = _shown(record, field, new_value)
    zh, en = FIELD_LABELS[record][field]
    return FixPreview(
        path=rel,
        field=field,
        label_zh=zh,
        label_en=en,
        value=value,
        value_zh=value_zh,
        action="set",
    )
