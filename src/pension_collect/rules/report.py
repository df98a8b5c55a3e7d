"""The validation report (``pension-collect/report`` version 1) and its text form."""

from __future__ import annotations

import datetime as _dt
import io
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

import attrs

from .._privacy import scrub_ids
from ..identity import mask
from ..model import Category, Dossier, Worker, YearMonth
from ..text import json_safe, printable
from .derive import Box
from .pack import Finding, Severity

if TYPE_CHECKING:
    from .parameters import DatedValue

__all__ = [
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "Report",
    "SegmentSummary",
    "StreamedReport",
    "WorkerSummary",
    "format_text",
    "segment_dict",
    "worker_dict",
]

REPORT_FORMAT = "pension-collect/report"
REPORT_VERSION = 1


@attrs.frozen
class SegmentSummary:
    """Where one history segment goes: the report's ``segments`` item."""

    path: str
    box: Box | None
    category: Category | None
    months: int


@attrs.frozen(kw_only=True, repr=False)
class WorkerSummary:
    """Month totals of one worker: the report's ``workers`` item."""

    path: str
    id_number_18: str | None
    """The 18-digit form of the identity number, ``None`` when it is invalid."""
    deemed: int
    pre_account: int
    post_account: int

    def __repr__(self) -> str:
        shown = None if self.id_number_18 is None else mask(self.id_number_18)
        return f"WorkerSummary(path={self.path!r}, id_number_18={shown!r}, ...)"


class _Findings:
    """What both reports answer from their findings."""

    __slots__ = ()
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when no finding is an error (exit status 0 of ``validate``)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def codes(self) -> set[str]:
        """The set of codes found."""
        return {f.code for f in self.findings}

    def for_worker(self, index: int) -> list[Finding]:
        """Findings about worker ``index`` (its fields, segments and account years)."""
        prefix = f"$.workers[{index}]"
        return [f for f in self.findings if f.path == prefix or f.path.startswith(prefix + ".")]


@attrs.frozen(kw_only=True)
class Report(_Findings):
    """Everything :func:`~pension_collect.rules.check` found and derived."""

    rule_pack: str
    as_of: YearMonth
    findings: tuple[Finding, ...]
    segments: tuple[SegmentSummary, ...]
    workers: tuple[WorkerSummary, ...]
    parameters: dict[str, DatedValue | None] = attrs.field(factory=dict)
    """The pack parameters the rules used, as in force at :attr:`as_of`."""

    def to_dict(self, *, items: bool = True) -> dict[str, Any]:
        """The report in its JSON form (docs/report.md; ``items=False``:
        without its ``segments`` and ``workers``, for :meth:`to_json`)."""
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "rule_pack": self.rule_pack,
            "as_of": str(self.as_of),
            "summary": {
                "workers": len(self.workers),
                "errors": len(self.errors),
                "warnings": len(self.warnings),
            },
            "findings": [_finding_dict(f) for f in self.findings],
            "segments": [segment_dict(s) for s in self.segments] if items else None,
            "workers": [worker_dict(w) for w in self.workers] if items else None,
            "parameters": _parameters_dict(self.parameters),
        }

    @property
    def worker_count(self) -> int:
        """The number of workers checked (the report's ``summary.workers``)."""
        return len(self.workers)

    def to_json(self, *, indent: int | None = None) -> str:
        """The JSON text, compact by default: ``json`` indents with its pure
        Python encoder, several times slower on a large report. Characters
        that are not printable are written as ``\\u`` escapes
        (:func:`pension_collect.text.json_safe`): the text is valid UTF-8 and
        harmless on a terminal whatever the data holds."""
        if indent is not None:
            return json_safe(json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)) + "\n"
        # Compact: the ``segments`` and ``workers`` items (one per segment
        # and per worker: most of the text) written directly, as json.dumps
        # writes them (_segment_json, _worker_json), the rest by json.dumps.
        marks = {name: f"@@pension-collect items {name} {id(self)}@@" for name in _ITEMS}
        text = json.dumps({**self.to_dict(items=False), **marks}, ensure_ascii=False)
        for name, write in _ITEMS.items():
            before, _, text = text.partition(json.dumps(marks[name]))
            text = before + "[" + ", ".join(map(write, getattr(self, name))) + "]" + text
        return json_safe(text) + "\n"


def segment_dict(s: SegmentSummary) -> dict[str, Any]:
    """One ``segments`` item of the JSON report."""
    return {
        "path": s.path,
        "box": None if s.box is None else s.box.value,
        "category": None if s.category is None else s.category.value,
        "months": s.months,
    }


def worker_dict(w: WorkerSummary) -> dict[str, Any]:
    """One ``workers`` item of the JSON report."""
    return {
        "path": w.path,
        "id_number_18": w.id_number_18,
        "months": {
            "deemed": w.deemed,
            "pre_account": w.pre_account,
            "post_account": w.post_account,
        },
    }


#: How json.dumps(..., ensure_ascii=False) writes a string (the C encoder
#: when there is one): quoted, escaped.
_json_string = json.encoder.encode_basestring


def _segment_json(s: SegmentSummary) -> str:
    """``json.dumps(segment_dict(s), ensure_ascii=False)``, the common types
    written without its call (an int's text is its ``repr``, an enumeration
    member's its value's)."""
    path, box, category, months = s.path, s.box, s.category, s.months
    if type(path) is not str or type(months) is not int:
        return json.dumps(segment_dict(s), ensure_ascii=False)
    box_text = "null" if box is None else _json_string(box._value_)
    category_text = "null" if category is None else _json_string(category._value_)
    return (
        f'{{"path": {_json_string(path)}, "box": {box_text}, '
        f'"category": {category_text}, "months": {months!r}}}'
    )


def _worker_json(w: WorkerSummary) -> str:
    """``json.dumps(worker_dict(w), ensure_ascii=False)``, as :func:`_segment_json`."""
    path, id_number, deemed, pre, post = (
        w.path,
        w.id_number_18,
        w.deemed,
        w.pre_account,
        w.post_account,
    )
    if (
        type(path) is not str
        or (id_number is not None and type(id_number) is not str)
        or type(deemed) is not int
        or type(pre) is not int
        or type(post) is not int
    ):
        return json.dumps(worker_dict(w), ensure_ascii=False)
    id_text = "null" if id_number is None else _json_string(id_number)
    return (
        f'{{"path": {_json_string(path)}, "id_number_18": {id_text}, '
        f'"months": {{"deemed": {deemed!r}, "pre_account": {pre!r}, "post_account": {post!r}}}}}'
    )


#: The report's item lists to_json writes directly, in the order of the text.
_ITEMS: dict[str, Any] = {"segments": _segment_json, "workers": _worker_json}


def _parameters_dict(parameters: Mapping[str, DatedValue | None]) -> dict[str, Any]:
    return {
        name: None
        if v is None
        else {
            "value": _jsonable(v.value),
            "since": str(v.since),
            "source": v.source,
            "confidence": v.confidence.value,
        }
        for name, v in parameters.items()
    }


class StreamedReport(_Findings):
    """What :func:`pension_collect.rules.stream.check_streamed` found: the
    report of :class:`Report`, with its ``segments`` and ``workers`` items in
    two spool files (JSON, one item a line) instead of memory.

    :meth:`write_json` writes the same text as ``Report.to_json`` on the
    same dossier, reading the spools as it goes; :meth:`close` removes them.
    The findings (at most ``Limits.findings`` of them, and the summary) are
    in memory, as in a :class:`Report`.
    """

    def __init__(
        self,
        *,
        rule_pack: str,
        as_of: YearMonth,
        findings: tuple[Finding, ...],
        worker_count: int,
        parameters: dict[str, DatedValue | None],
        segments: IO[str],
        workers: IO[str],
        names: Mapping[int, Worker] | None = None,
    ) -> None:
        self.rule_pack = rule_pack
        self.as_of = as_of
        self.findings = findings
        self.worker_count = worker_count
        self.parameters = parameters
        self._spools = {"segments": segments, "workers": workers}
        self.names: dict[int, Worker] = dict(names or {})
        """The workers with findings, by index, as far as they were kept (for
        the headings of :func:`format_text`)."""

    def close(self) -> None:
        """Remove the spool files."""
        for spool in self._spools.values():
            spool.close()

    def __enter__(self) -> StreamedReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_json(self, out: IO[str], *, indent: int | None = None) -> None:
        """Write the JSON report to ``out`` (the text ``Report.to_json`` gives)."""
        marks = {name: f"@@pension-collect spool {name} {id(self)}@@" for name in self._spools}
        head = {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "rule_pack": self.rule_pack,
            "as_of": str(self.as_of),
            "summary": {
                "workers": self.worker_count,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
            },
            "findings": [_finding_dict(f) for f in self.findings],
            "segments": marks["segments"],
            "workers": marks["workers"],
            "parameters": _parameters_dict(self.parameters),
        }
        text = json.dumps(head, ensure_ascii=False, indent=indent)
        for name, spool in self._spools.items():
            before, _, text = text.partition(json.dumps(marks[name]))
            out.write(json_safe(before))
            _write_items(spool, out, indent)
        out.write(json_safe(text) + "\n")

    def to_json(self, *, indent: int | None = None) -> str:
        """The JSON text (all of it in memory: for small reports and tests)."""
        buffer = io.StringIO()
        self.write_json(buffer, indent=indent)
        return buffer.getvalue()


def _write_items(spool: IO[str], out: IO[str], indent: int | None) -> None:
    """A spooled list (one compact JSON item a line) as a JSON array, written
    as ``json.dumps`` writes it at the second level of the report."""
    spool.seek(0)
    first = True
    for line in spool:
        item = line.rstrip("\n")
        if indent is None:
            out.write(("[" if first else ", ") + json_safe(item))
        else:
            pad = " " * (2 * indent)
            body = json.dumps(json.loads(item), ensure_ascii=False, indent=indent)
            body = "\n".join(pad + piece for piece in body.split("\n"))
            out.write(("[\n" if first else ",\n") + json_safe(body))
        first = False
    if first:
        out.write("[]")
    else:
        out.write("]" if indent is None else "\n" + " " * indent + "]")


def _finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {"code": f.code, "severity": f.severity.value, "path": f.path}
    if f.field is not None:
        out["field"] = f.field
    if f.related is not None:
        out["related"] = f.related
    if f.procedure is not None:
        out["procedure"] = f.procedure
    out["message"] = f.message
    out["message_zh"] = f.message_zh
    if f.expected is not None:
        out["expected"] = _jsonable(f.expected)
    if f.fix is not None:
        out["fix"] = _jsonable(f.fix)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value.value if isinstance(value, Category | Box) else value
    # Written as the dossier format writes them (docs/dossier.md,
    # "Conventions"): a month "1996-04", never YearMonth's fields (its
    # private ``_index`` among them); a rate or an amount in plain notation.
    if type(value) is YearMonth:
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if attrs.has(type(value)):
        return _jsonable(attrs.asdict(value, recurse=False))
    return str(value)


# -- text for clerks -------------------------------------------------------------------

_SEVERITY_ZH = {Severity.ERROR: "错误", Severity.WARNING: "提示"}
_SEVERITY_EN = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def _groups(report: Report | StreamedReport) -> Iterator[tuple[int | None, list[Finding]]]:
    current: int | None = -1
    bucket: list[Finding] = []
    for f in report.findings:
        index = _worker_index(f.path)
        if index != current and bucket:
            yield current, bucket
            bucket = []
        current = index
        bucket.append(f)
    if bucket:
        yield current, bucket


def _worker_index(path: str) -> int | None:
    if not path.startswith("$.workers["):
        return None
    return int(path[len("$.workers[") : path.index("]")])


_FIELD_ZH = {
    "id_number": "身份证号码",
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "first_work": "参加工作时间",
    "credit_code": "统一社会信用代码",
    "history": "缴费历史",
    "account": "养老账户",
    "start": "起始年月",
    "end": "终止年月",
    "total": "缴费合计",
    "base": "缴费基数",
    "rate": "缴费比例",
    "category": "账户类别",
    "remark": "备注",
    "origin": "转入来源",
    "transferred_on": "转移年月",
    "year": "年度",
    "months": "月数",
    "balance": "累计储存额",
}
_PART_ZH = {"history": "缴费历史", "account": "养老账户"}
_PART_EN = {"history": "contribution history", "account": "pension account"}


def _where(path: str, index: int | None, field: str | None, lang: str) -> str:
    zh = lang == "zh"
    if index is None:
        place = ("单位信息" if zh else "employer") if path.startswith("$.employer") else path
    else:
        rest = path[path.index("]") + 1 :]
        if not rest:
            place = "个人信息" if zh else "personal information"
        else:
            part, _, tail = rest.lstrip(".").partition("[")
            n = int(tail.rstrip("]")) + 1 if tail else None
            names = _PART_ZH if zh else _PART_EN
            label = names.get(part, part)
            if n is None:
                place = label
            elif zh:
                place = f"{label}第 {n} 行"
            else:
                place = f"{label} line {n}"
    if field is not None and not (index is not None and path.endswith(f".{field}")):
        place += f"({_FIELD_ZH.get(field, field)})" if zh else f" ({field})"
    return place


def format_text(
    report: Report | StreamedReport,
    dossier: Dossier | Mapping[int, Worker] | None = None,
    *,
    lang: str = "zh",
) -> str:
    """The report as text a clerk can act on: grouped by worker (name and
    masked identity number), each finding with what to do.

    ``dossier`` gives the headings their names: the dossier checked, or a
    mapping from a worker's index to the worker (the streaming reader keeps
    only the workers with findings). ``lang`` is ``"zh"`` (Chinese, the
    default) or ``"en"``. Each line is
    terminal-safe: a character that is not printable (an escape sequence in a
    name built through the Python API) is shown escaped
    (:func:`pension_collect.text.printable`), so one line of the report is
    one line on the screen.
    """
    zh = lang == "zh"
    lines: list[str] = []
    errors, warnings = len(report.errors), len(report.warnings)
    if zh:
        lines.append(
            f"规则包 {report.rule_pack},采集月份 {report.as_of}:"
            f"共 {report.worker_count} 名职工,{errors} 个错误,{warnings} 个提示。"
        )
    else:
        lines.append(
            f"Rule pack {report.rule_pack}, collection month {report.as_of}: "
            f"{_n(report.worker_count, 'worker')}, {_n(errors, 'error')}, "
            f"{_n(warnings, 'warning')}."
        )
    for index, findings in _groups(report):
        lines.append("")
        if index is None:
            lines.append("单位 / 档案:" if zh else "Employer / dossier:")
        else:
            lines.append(_worker_heading(index, dossier, zh))
        for f in findings:
            severity = _SEVERITY_ZH[f.severity] if zh else _SEVERITY_EN[f.severity]
            where = _where(f.path, index, f.field, lang)
            message = f.message_zh if zh else f.message
            para = f" [{f.procedure}]" if f.procedure else ""
            lines.append(
                f"  - {severity} {f.code}{para} {where}:{message}"
                if zh
                else f"  - {severity} {f.code}{para} at {where}: {message}"
            )
            shown = _expected_text(f.expected, zh)
            if shown is not None:
                lines.append(shown)
            shown_fix = _fix_text(f.fix, zh)
            if shown_fix is not None:
                lines.append(shown_fix)
    if not report.findings:
        lines.append("")
        lines.append("全部通过检查。" if zh else "Everything passed.")
    return "\n".join([printable(line) for line in lines]) + "\n"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _fix_text(fix: Any, zh: bool) -> str | None:
    """The line a ``split`` or ``cut`` fix adds to the text report."""
    if not isinstance(fix, dict) or fix.get("action") not in ("split", "cut"):
        return None
    parts = [f"{p['start']}..{p['end']}" for p in fix.get("segments", ())]
    if fix["action"] == "split":
        return (
            f"      建议拆分为:{';'.join(parts)}" if zh else f"      split into: {'; '.join(parts)}"
        )
    dropped = fix.get("dropped") or {}
    gone = f"{dropped.get('start')}..{dropped.get('end')}"
    if zh:
        return f"      建议改为:{';'.join(parts)}({gone} 属于养老账户,不录入)"
    return f"      replace by: {'; '.join(parts)} ({gone} is the pension account, not entered)"


def _expected_text(expected: Any, zh: bool) -> str | None:
    if isinstance(expected, str | int) and not isinstance(expected, bool):
        return f"      应为:{expected}" if zh else f"      expected: {expected}"
    return None


def _worker_heading(
    index: int, dossier: Dossier | Mapping[int, Worker] | None, zh: str | bool
) -> str:
    worker: Worker | None = None
    if isinstance(dossier, Dossier):
        worker = dossier.workers[index] if index < len(dossier.workers) else None
    elif dossier is not None:
        worker = dossier.get(index)
    if worker is None:
        return f"职工 #{index + 1}" if zh else f"Worker #{index + 1}"
    # An identity number typed into the name (swapped columns) is masked too.
    name = scrub_ids(worker.name)
    who = f"{name}({mask(worker.id_number)})" if zh else f"{name} ({mask(worker.id_number)})"
    return f"职工 #{index + 1} {who}:" if zh else f"Worker #{index + 1} {who}:"
