"""The worker editor: personal information, the contribution history laid out
as the red book (upper box ..1992-12, lower box 1993-01..1996-03, transfers,
institution periods), the pension account by year; the bureau's values beside
the clerk's; the rule findings at their fields with the suggested fix applied
in one click; the window-only fields ([P3.3a]) read-only with the reason.

One page, ``/workers/<ref>/edit`` (``ref``: ``context.worker_ref(key)``;
``context.worker_key`` resolves it, 404 when not the clerk's employer's).
GET shows the worker's kept draft, else the saved worker, else a person of the
latest data sync prefilled from the bureau's record
(:func:`pension_collect.workflow.bureau_person`). POST takes the form as typed
and does what its button says (``action``):

* ``save``: :meth:`CollectionSession.save_worker`; refused with every finding
  at its field and a summary at the top, the form kept as typed;
* ``draft`` / ``discard``: :func:`~pension_collect.workflow.save_draft` /
  :func:`~pension_collect.workflow.discard_draft`;
* ``check``: the rules run on the form, nothing stored (also Enter's button);
* ``add:<section>``, ``remove:<part>:<line>``, ``copy:<part>``: a line added,
  removed, or the bureau's lines filled in (nothing stored);
* ``fix:<n>:<code>``: the n-th finding's suggested fix applied to the form
  (:func:`pension_collect.rules.apply_fix`), shown, not saved.

Everything goes through pension_collect's public API: the form's fields
(:mod:`pension_collect.workflow.fields`), the rules and their fixes
(:mod:`pension_collect.rules`), the session and the overview's drafts.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

import attrs
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from pension_collect.errors import PensionCollectError, Problem
from pension_collect.identity import canonical_id, canonical_name
from pension_collect.limits import DEFAULT_LIMITS
from pension_collect.model import BureauRecord, FieldValueError, Worker, YearMonth
from pension_collect.ports.storage import ConflictError
from pension_collect.rules import (
    Finding,
    FixNotApplicable,
    RulePack,
    apply_fix,
    check_worker,
    fix_preview,
    fixable,
)
from pension_collect.rules.fixes import field_path
from pension_collect.workflow import (
    AlreadyAccepted,
    Blocker,
    CollectionSession,
    FormField,
    IncompleteWorker,
    LockedField,
    RuleErrors,
    StoredWorker,
    UnknownWorker,
    WindowOnlyChange,
    WorkerLocked,
    WorkerStatus,
    bureau_person,
    discard_draft,
    draft,
    editor_sections,
    line_fields,
    save_draft,
    window_only_fields,
    worker_fields,
    worker_from_fields,
)

from ..context import collection, library_error, state, worker_key, worker_key_or_none
from ..i18n import tr
from .auth import KEEP_TYPED

__all__ = ["FIELD_PROBLEM", "HISTORY_SECTIONS", "KeptField", "bp", "stale_form"]

bp = Blueprint("editor", __name__)

#: The code a form value the library cannot read is shown with (a month,
#: an amount, a required field left empty): the message says what to type.
FIELD_PROBLEM = "web.field-unreadable"
#: The sections of the contribution history, in the red book's order.
HISTORY_SECTIONS = ("upper", "lower", "transfer", "institution")

#: A saved worker's status in words.
_STATUS = {
    WorkerStatus.COLLECTED: ("已采集,尚未申报", "collected, not declared yet"),
    WorkerStatus.SUBMITTED: ("已申报,社保处理中", "declared, the bureau is processing it"),
    WorkerStatus.ACCEPTED: ("处理成功", "accepted by the bureau"),
    WorkerStatus.FAILED: ("处理失败,需重新采集", "failed by the bureau: collect again"),
}
#: The procedure's paragraph of each section.
_SECTION_TAGS = {
    "person": ("P3.4",),
    "upper": ("P3.4a",),
    "lower": ("P3.4b",),
    "transfer": ("P3.4c",),
    "institution": ("P3.4b", "P3.4c"),
    "account": ("P3.4e",),
}
#: A short name of each section for the "add a line" buttons.
_SECTION_SHORT = {
    "upper": ("上面的框", "upper box"),
    "lower": ("下面的框", "lower box"),
    "transfer": ("转入期间", "transferred-in periods"),
    "institution": ("机关事业期间", "government or institution periods"),
    "account": ("养老账户", "pension account"),
}
#: What a line added to a section starts with (besides empty inputs).
_SECTION_DEFAULTS = {
    "transfer": {"source": "transfer_in"},
    "institution": {"employer_kind": "institution"},
}
_LINE = re.compile(r"\$\.(history|account)\[([0-9]{1,6})\]\.([a-z_]{1,40})")
_FIX = re.compile(r"fix:([0-9]{1,4}):([a-z0-9.-]{1,80})")
_REMOVE = re.compile(r"remove:(history|account):([0-9]{1,6})")
_MOST_FIELDS = 20_000
#: The most lines of each part a worker may have (the dossier's limits).
_MOST_LINES = {"history": DEFAULT_LIMITS.segments, "account": DEFAULT_LIMITS.account_years}


class TooManyLines(RequestEntityTooLarge):
    """A form with more lines than a worker may have: refused before any is read."""

    bilingual = (
        f"表单的行数过多:缴费历史最多 {DEFAULT_LIMITS.segments} 行,养老账户最多 "
        f"{DEFAULT_LIMITS.account_years} 行。未作任何更改。",
        f"The form has too many lines: the contribution history takes at most "
        f"{DEFAULT_LIMITS.segments} lines, the pension account at most "
        f"{DEFAULT_LIMITS.account_years}. Nothing was changed.",
    )


# -- what the template shows -----------------------------------------------------------


@attrs.define
class Note:
    """A message at a field, a line or the worker: a finding of the rules, a
    value the library cannot read, or a guard's refusal."""

    id: str
    code: str
    procedure: str | None
    text: str
    severity: str  # "error" or "warning"
    target: str  # the id of the input (or line) it belongs to
    where: str  # the field's label, for the summary
    fix_value: str | None = None
    fix_label: str | None = None


@attrs.define
class FieldView:
    path: str
    id: str
    label: str
    kind: str
    value: str
    options: list[tuple[str, str]]
    required: bool = False
    readonly: bool = False
    locked: str | None = None
    locked_tag: str | None = None
    bureau: str | None = None
    differs: bool = False
    notes: list[Note] = attrs.field(factory=list)
    hint: str | None = None

    @property
    def describedby(self) -> str:
        ids = [n.id for n in self.notes]
        if self.locked:
            ids.append(f"{self.id}-locked")
        if self.hint and not self.readonly:  # the hint is shown only to type into
            ids.append(f"{self.id}-hint")
        return " ".join(ids)

    @property
    def invalid(self) -> bool:
        return any(n.severity == "error" for n in self.notes)


@attrs.define
class BureauCell:
    text: str
    differs: bool


@attrs.define
class LineView:
    part: str
    index: int
    id: str
    section: str
    fields: list[FieldView]
    notes: list[Note] = attrs.field(factory=list)
    bureau: list[BureauCell] | None = None


@attrs.define
class SectionView:
    name: str
    label: str
    tags: tuple[str, ...]
    part: str
    columns: list[str]
    lines: list[LineView]
    unmatched: list[list[str]]
    add_label: str


@attrs.define
class Loaded:
    """The worker the page starts from."""

    key: str
    stored: StoredWorker | None
    kept: Worker | None
    bureau: BureauRecord | None
    base: Worker | None
    source: str  # draft, stored, bureau, none


# -- paths and ids ---------------------------------------------------------------------


def _id(path: str) -> str:
    """The HTML id of a form path: ``$.history[2].end`` -> ``f-history-2-end``."""
    rest = re.sub(r"[^a-z0-9_]+", "-", path.lower()).strip("-")
    return f"f-{rest}" if rest else "f-worker"


def _line_id(part: str, index: int) -> str:
    return f"line-{part}-{index}"


def _as_of() -> YearMonth:
    return state().config.as_of or YearMonth.of(_dt.date.today())


def _pack() -> RulePack:
    return state().host.rule_pack(None)


@functools.cache
def _blank_person() -> tuple[FormField, ...]:
    """The personal fields and the part flags (labels, kinds, choices; the
    same for every pack and month)."""
    template = Worker(id_number="0", name="-", first_work="1900-01")
    return tuple(f for f in worker_fields(template) if f.line is None)


@functools.cache
def _columns(part: str) -> tuple[FormField, ...]:
    """The fields of a line of ``part`` in order: the tables' columns."""
    return line_fields(part, 0, None)


# -- loading ---------------------------------------------------------------------------


def _prefill(key: str, bureau: BureauRecord) -> Worker | None:
    """A person of the latest sync as the bureau holds them: personal
    information only; the contribution history and the account are to be
    collected (the bureau's lines are shown beside, and can be filled in)."""
    try:
        return Worker(
            id_number=bureau.id_number or key,
            name=bureau.name or "",
            first_work=bureau.first_work,  # type: ignore[arg-type]
            person_no=bureau.person_no,
            gender=bureau.gender,
            birth_date=bureau.birth_date,
            ethnicity=bureau.ethnicity,
            hukou=bureau.hukou,
            bureau=bureau,
        )
    except (FieldValueError, ValueError, TypeError):
        return None


def _load(session: CollectionSession, key: str) -> Loaded:
    try:
        stored: StoredWorker | None = session.worker(key)
    except UnknownWorker:
        stored = None
    kept = draft(session, key)
    bureau = bureau_person(session, key)
    if kept is not None:
        return Loaded(key, stored, kept, bureau, kept, "draft")
    if stored is not None:
        return Loaded(key, stored, None, bureau, stored.worker, "stored")
    if bureau is not None:
        base = _prefill(key, bureau)
        return Loaded(key, None, None, bureau, base, "bureau" if base is not None else "none")
    return Loaded(key, None, None, None, None, "none")


def _texts_of(worker: Worker) -> tuple[dict[str, str], dict[int, str]]:
    """The form's texts of ``worker`` and the section of each history line."""
    texts: dict[str, str] = {}
    hints: dict[int, str] = {}
    for f in worker_fields(worker, pack=_pack(), as_of=_as_of()):
        texts[f.path] = f.value
        if f.line is not None and f.path.startswith("$.history"):
            hints[f.line] = f.section
    return texts, hints


def _initial_texts(loaded: Loaded) -> tuple[dict[str, str], dict[int, str]]:
    if loaded.base is not None:
        return _texts_of(loaded.base)
    texts = {f.path: "" for f in _blank_person()}
    texts["$.id_number"] = loaded.key
    texts["$.history"] = texts["$.account"] = "no"
    return texts, {}


def _form_texts(
    form: MultiDict[str, str], *, drop: tuple[str, int] | None = None
) -> tuple[dict[str, str], dict[int, str]]:
    """The form's texts as posted, its lines numbered 0, 1, ... in their
    order (``drop``: a line removed), and the section of each history line."""
    texts: dict[str, str] = {}
    lines: dict[str, dict[int, dict[str, str]]] = {"history": {}, "account": {}}
    for name in list(form.keys())[:_MOST_FIELDS]:
        if not name.startswith("$"):
            continue
        value = form.get(name, "")
        found = _LINE.fullmatch(name)
        if found is None:
            texts[name] = value
            continue
        part, index = found.group(1), int(found.group(2))
        if drop is not None and drop == (part, index):
            continue
        lines[part].setdefault(index, {})[found.group(3)] = value
        if len(lines[part]) > _MOST_LINES[part]:
            raise TooManyLines()
    hints: dict[int, str] = {}
    for part, by_index in lines.items():
        for new, old in enumerate(sorted(by_index)):
            for field, value in by_index[old].items():
                texts[f"$.{part}[{new}].{field}"] = value
            if part == "history":
                hint = form.get(f"section-{old}", "")
                hints[new] = hint if hint in HISTORY_SECTIONS else "lower"
    return texts, hints


def _line_indexes(texts: Mapping[str, str], part: str) -> list[int]:
    found = set()
    for path in texts:
        m = _LINE.fullmatch(path)
        if m is not None and m.group(1) == part:
            found.add(int(m.group(2)))
    return sorted(found)


def _filled_lines(texts: Mapping[str, str], part: str) -> list[int]:
    """The form's lines of ``part`` the library reads (a line left all empty is
    left out): the worker's line ``j`` is the form's line ``result[j]``."""
    out = []
    for index in _line_indexes(texts, part):
        prefix = f"$.{part}[{index}]."
        if any(v.strip() for p, v in texts.items() if p.startswith(prefix)):
            out.append(index)
    return out


def _add_line(texts: dict[str, str], hints: dict[int, str], section: str) -> None:
    part = "account" if section == "account" else "history"
    index = len(_line_indexes(texts, part))
    defaults = _SECTION_DEFAULTS.get(section, {})
    for f in line_fields(part, index, None, section=section):
        texts[f.path] = defaults.get(f.field or "", "")
    if part == "history":
        hints[index] = section
    texts[f"$.{part}"] = "yes"


def _copy_bureau(
    texts: dict[str, str], hints: dict[int, str], part: str, bureau: BureauRecord | None
) -> bool:
    """The bureau's lines of ``part`` put in the form in place of the typed ones."""
    lines = getattr(bureau, part, None) if bureau is not None else None
    if not lines:
        return False
    for path in [p for p in texts if p.startswith(f"$.{part}[")]:
        del texts[path]
    if part == "history":
        hints.clear()
    holder = Worker(id_number="0", name="-", first_work="1900-01", **{part: lines})
    for f in worker_fields(holder, pack=_pack(), as_of=_as_of()):
        if f.line is not None:
            texts[f.path] = f.value
            if part == "history":
                hints[f.line] = f.section
    texts[f"$.{part}"] = "yes"
    return True


# -- reading and checking --------------------------------------------------------------


def _read(loaded: Loaded, texts: Mapping[str, str]) -> tuple[Worker | None, list[Problem]]:
    worker, problems = worker_from_fields(loaded.base, texts)
    found = list(problems)
    if worker is not None and canonical_id(worker.id_number) != loaded.key:
        reason = _window_reason(loaded, "id_number")
        found.append(Problem("$.id_number", reason[0], reason[1]))
        worker = None
    return worker, found


def _window_reason(loaded: Loaded, field: str) -> tuple[str, str]:
    for locked in window_only_fields(loaded.base, loaded.bureau):
        if locked.field == field:
            return locked.reason, locked.reason_zh
    blocker = Blocker.of(WindowOnlyChange)
    return blocker.message, blocker.message_zh


def _checked(worker: Worker, bureau: BureauRecord | None) -> Worker:
    """The worker as the session checks it: with the bureau's record."""
    record = bureau if bureau is not None else worker.bureau
    if record is None:
        return worker
    return attrs.evolve(worker, bureau=record, person_no=worker.person_no or record.person_no)


def _page_words(text: str, fix: bool) -> str:
    """A rule's sentence as the page says it: the report's sentences point at
    its fields `fix` and `related` (for a program reading the JSON report); on
    the page the fix is the button below the message, or none, and the other
    line is named in the sentence itself."""
    button_zh = "(见下方“应用建议的修改”按钮)" if fix else ""
    button_en = " (the button “Apply the suggested fix” below)" if fix else ""
    for said, meant in (
        ("(见 fix)", button_zh),
        (":见 fix)", ")"),
        (" (see fix)", button_en),
        (": see fix)", ")"),
        ("(见 related)", ""),
        (" (see related)", ""),
    ):
        text = text.replace(said, meant)
    return text


def _check(worker: Worker, bureau: BureauRecord | None) -> list[Finding]:
    return check_worker(_checked(worker, bureau), pack=_pack(), as_of=_as_of())


# -- building the page -----------------------------------------------------------------


def _show(value: object, choices: Iterable[tuple[str, str, str]] = ()) -> str:
    """A value of the bureau's record as the page shows it."""
    if value is None:
        return ""
    if isinstance(value, StrEnum):
        for val, zh, en in choices:
            if val == value.value:
                return tr(zh, en)
        return value.value
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def _person_differs(field: str, clerk: object, held: object) -> bool:
    if held is None or clerk is None:
        return held is not None and clerk is None
    if field == "id_number" and isinstance(clerk, str) and isinstance(held, str):
        return canonical_id(clerk) != canonical_id(held)
    if field == "name" and isinstance(clerk, str) and isinstance(held, str):
        return canonical_name(clerk) != canonical_name(held)
    return bool(clerk != held)


def _options(f: FormField, value: str) -> list[tuple[str, str]]:
    out = [(val, tr(zh, en)) for val, zh, en in f.choices]
    if value and all(val != value for val, _ in out):
        out.append((value, value))  # what was typed is never lost
    return out


class Page:
    """The editor page's view model, built from the form's texts."""

    def __init__(
        self,
        loaded: Loaded,
        texts: dict[str, str],
        hints: dict[int, str],
        *,
        worker: Worker | None = None,
        problems: Iterable[Problem] = (),
        findings: Iterable[Finding] = (),
        refusals: Iterable[tuple[str, str, str, str, str]] = (),
    ) -> None:
        self.loaded = loaded
        self.texts = texts
        self.hints = hints
        self.worker = worker
        self.locked: Blocker | None = None
        stored = loaded.stored
        if stored is not None and stored.status is WorkerStatus.SUBMITTED:
            self.locked = Blocker.of(WorkerLocked)
        elif stored is not None and stored.status is WorkerStatus.ACCEPTED:
            self.locked = Blocker.of(AlreadyAccepted)
        self.window: dict[str, LockedField] = {
            lf.path: lf for lf in window_only_fields(loaded.base, loaded.bureau)
        }
        self.fields: dict[str, FieldView] = {}
        self.person: list[FieldView] = []
        self.flags: dict[str, FieldView] = {}
        self.sections: list[SectionView] = []
        self.lines: dict[tuple[str, int], LineView] = {}
        self.worker_notes: list[Note] = []
        self.summary: list[Note] = []
        self._build()
        for problem in problems:
            self._note_problem(problem)
        for index, finding in enumerate(findings):
            self._note_finding(index, finding)
        for path, code, procedure, text_zh, text_en in refusals:
            self._attach(path, code, procedure, tr(text_zh, text_en), "error")
        self.summary.sort(key=lambda n: n.severity != "error")

    @functools.cached_property
    def filled(self) -> dict[str, list[int]]:
        """The form's filled lines by part (:func:`_filled_lines`)."""
        return {part: _filled_lines(self.texts, part) for part in ("history", "account")}

    @property
    def errors(self) -> int:
        """The errors shown (the summary's count)."""
        return sum(1 for n in self.summary if n.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.summary) - self.errors

    # the fields

    def _field(self, f: FormField, *, hidden_label: str | None = None) -> FieldView:
        value = self.texts.get(f.path, "")
        label = tr(f.label_zh, f.label_en)
        view = FieldView(
            path=f.path,
            id=_id(f.path),
            label=hidden_label or label,
            kind=f.kind,
            value=value,
            options=_options(f, value),
            required=f.required,
            readonly=self.locked is not None,
        )
        if f.kind == "month":
            view.hint = tr("如 1996-04、1996.04、199604 或 1996年4月", "e.g. 1996-04, 199604")
        window = self.window.get(f.path)
        if window is not None:
            view.readonly = True
            view.locked = tr(window.reason_zh, window.reason)
            view.locked_tag = window.procedure
        self.fields[f.path] = view
        return view

    def _build(self) -> None:
        bureau = self.loaded.bureau
        worker = self.worker
        if worker is not None:
            # each line read shown in the box of its months and kind, as saved
            filled = self.filled["history"]
            for f in worker_fields(worker, pack=_pack(), as_of=_as_of()):
                if f.line is not None and f.path.startswith("$.history[") and f.line < len(filled):
                    self.hints[filled[f.line]] = f.section
        for f in _blank_person():
            view = self._field(f)
            if f.line is None and f.field is None:
                self.flags[f.path] = view
                continue
            self.person.append(view)
            assert f.field is not None
            if bureau is not None:
                held = getattr(bureau, f.field, None)
                view.bureau = _show(held, f.choices)
                if worker is not None:
                    view.differs = _person_differs(f.field, getattr(worker, f.field), held)
                elif held is not None:
                    raw = held.value if isinstance(held, StrEnum) else view.bureau
                    view.differs = raw.strip() != view.value.strip()
        canonical = self._canonical_lines()
        bureau_lines = self._bureau_lines()
        used: set[tuple[str, int]] = set()
        sections = editor_sections(_pack(), as_of=_as_of())
        indexes = {part: _line_indexes(self.texts, part) for part in ("history", "account")}
        for section in sections:
            if section.name == "person":
                continue
            part = "account" if section.name == "account" else "history"
            columns = [tr(f.label_zh, f.label_en) for f in _columns(part)]
            lines: list[LineView] = []
            for index in indexes[part]:
                if part == "history" and self.hints.get(index, "lower") != section.name:
                    continue
                line = self._line(part, index, section.name)
                line.bureau = self._match(part, index, canonical, bureau_lines, used)
                lines.append(line)
            unmatched = [
                texts
                for (bpart, bindex), (bsection, texts) in bureau_lines.items()
                if bpart == part and bsection == section.name and (bpart, bindex) not in used
            ]
            zh, en = _SECTION_SHORT[section.name]
            self.sections.append(
                SectionView(
                    name=section.name,
                    label=tr(section.label_zh, section.label_en),
                    tags=_SECTION_TAGS[section.name],
                    part=part,
                    columns=columns,
                    lines=lines,
                    unmatched=[self._display_bureau(part, t) for t in unmatched],
                    add_label=tr(f"添加一行({zh})", f"Add a line ({en})"),
                )
            )

    def _line(self, part: str, index: int, section: str) -> LineView:
        fields = []
        for f in line_fields(part, index, None, section=section):
            zh, en = f.label_zh, f.label_en
            if part == "account":
                hidden = tr(f"养老账户 第 {index + 1} 行 {zh}", f"Account line {index + 1}, {en}")
            else:
                hidden = tr(f"第 {index + 1} 行 {zh}", f"Line {index + 1}, {en}")
            fields.append(self._field(f, hidden_label=hidden))
        line = LineView(
            part=part, index=index, id=_line_id(part, index), section=section, fields=fields
        )
        self.lines[(part, index)] = line
        return line

    def _canonical_lines(self) -> dict[tuple[str, int], dict[str, str]]:
        """The texts of the form's lines as the library writes them (the form
        read into a worker): what is compared with the bureau's."""
        out: dict[tuple[str, int], dict[str, str]] = {}
        if self.worker is None:
            for path, value in self.texts.items():
                m = _LINE.fullmatch(path)
                if m is not None:
                    out.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = value.strip()
            return out
        filled = self.filled
        for f in worker_fields(self.worker, pack=_pack(), as_of=_as_of()):
            if f.line is None or f.field is None:
                continue
            part = "history" if f.path.startswith("$.history") else "account"
            if f.line < len(filled[part]):
                out.setdefault((part, filled[part][f.line]), {})[f.field] = f.value
        return out

    def _bureau_lines(self) -> dict[tuple[str, int], tuple[str, dict[str, str]]]:
        bureau = self.loaded.bureau
        if bureau is None or not (bureau.history or bureau.account):
            return {}
        holder = Worker(
            id_number="0",
            name="-",
            first_work="1900-01",
            history=bureau.history or (),
            account=bureau.account or (),
        )
        out: dict[tuple[str, int], tuple[str, dict[str, str]]] = {}
        for f in worker_fields(holder, pack=_pack(), as_of=_as_of()):
            if f.line is None or f.field is None:
                continue
            part = "history" if f.path.startswith("$.history") else "account"
            entry = out.setdefault((part, f.line), (f.section, {}))
            entry[1][f.field] = f.value
        return out

    def _match(
        self,
        part: str,
        index: int,
        canonical: Mapping[tuple[str, int], Mapping[str, str]],
        bureau_lines: Mapping[tuple[str, int], tuple[str, Mapping[str, str]]],
        used: set[tuple[str, int]],
    ) -> list[BureauCell] | None:
        """The bureau's line of the same start month (history) or year (account)."""
        mine = canonical.get((part, index), {})
        key_field = "start" if part == "history" else "year"
        wanted = mine.get(key_field, "")
        if not wanted:
            return None
        for bkey, (_, theirs) in bureau_lines.items():
            if bkey[0] != part or bkey in used or theirs.get(key_field) != wanted:
                continue
            used.add(bkey)
            shown = self._display_bureau(part, theirs)
            cells = []
            for f, text in zip(_columns(part), shown, strict=True):
                field = f.field or ""
                cells.append(BureauCell(text, theirs.get(field, "") != mine.get(field, "")))
            return cells
        return None

    def _display_bureau(self, part: str, texts: Mapping[str, str]) -> list[str]:
        out = []
        for f in _columns(part):
            value = texts.get(f.field or "", "")
            for val, zh, en in f.choices:
                if val == value:
                    value = tr(zh, en)
            out.append(value)
        return out

    # the messages

    def _target(self, path: str) -> tuple[str, str, FieldView | LineView | None]:
        """(target id, label, the field or line) of a path in the form."""
        view = self.fields.get(path)
        if view is not None:
            return view.id, view.label, view
        m = re.fullmatch(r"\$\.(history|account)\[([0-9]+)\]", path)
        if m is not None:
            line = self.lines.get((m.group(1), int(m.group(2))))
            if line is not None:
                label = tr(f"第 {line.index + 1} 行", f"line {line.index + 1}")
                return line.fields[0].id, label, line
        return "f-worker", tr("职工", "the worker"), None

    def _attach(
        self,
        path: str,
        code: str,
        procedure: str | None,
        text: str,
        severity: str,
        fix: tuple[str, str] | None = None,
    ) -> Note:
        target, where, view = self._target(path)
        holder = view.notes if view is not None else self.worker_notes
        note = Note(
            id=f"{target}-note-{len(holder)}",
            code=code,
            procedure=procedure,
            text=text,
            severity=severity,
            target=target,
            where=where,
            fix_value=fix[0] if fix else None,
            fix_label=fix[1] if fix else None,
        )
        holder.append(note)
        self.summary.append(note)
        return note

    def _note_problem(self, problem: Problem) -> None:
        text = tr(problem.message_zh or problem.message, problem.message)
        self._attach(problem.path, FIELD_PROBLEM, "P3.4", text, "error")

    def _form_path(self, finding: Finding) -> str:
        """The form path of a finding: the worker's line j is the form's
        j-th filled line."""
        path = field_path(finding) or "$"
        m = re.match(r"\$\.(history|account)\[([0-9]+)\]", path)
        if m is None:
            return path
        filled = self.filled[m.group(1)]
        index = int(m.group(2))
        if index < len(filled):
            return f"$.{m.group(1)}[{filled[index]}]{path[m.end() :]}"
        return path

    def _note_finding(self, index: int, finding: Finding) -> None:
        text = tr(finding.message_zh or finding.message, finding.message)
        fix = None
        if self.locked is None and self.worker is not None and fixable(finding):
            try:
                preview = fix_preview(_checked(self.worker, self.loaded.bureau), finding)
            except FixNotApplicable:
                preview = None
            if preview is not None:
                if preview.action in ("split", "cut"):
                    change = (preview.text_zh, preview.text_en)
                else:
                    change = (
                        f"{preview.label_zh} -> {preview.value_zh}",
                        f"{preview.label_en} -> {preview.value}",
                    )
                label = tr(f"应用建议的修改:{change[0]}", f"Apply the suggested fix: {change[1]}")
                fix = (f"fix:{index}:{finding.code}", label)
        severity = "error" if finding.is_error else "warning"
        text = _page_words(text, fix is not None)
        self._attach(self._form_path(finding), finding.code, finding.procedure, text, severity, fix)


# -- the views -------------------------------------------------------------------------


def _render(
    ref: str, page: Page, status: int = 200, *, version: int | None = None
) -> tuple[str, int]:
    """The editor page; ``version``: the saved worker's version the form was
    made from, when it is not the stored one (a form kept from a stale page)."""
    loaded = page.loaded
    stored = loaded.stored
    if version is None:
        version = stored.version if stored is not None else 0
    name = page.texts.get("$.name", "")
    body = render_template(
        "editor.html",
        ref=ref,
        page=page,
        name=name,
        id_number=page.texts.get("$.id_number", loaded.key),
        source=loaded.source,
        stored=stored,
        has_draft=loaded.kept is not None,
        version=version,
        status=tr(*_STATUS[stored.status]) if stored is not None else None,
        hints=page.hints,
    )
    return body, status


@bp.get("/workers/<ref>/edit")
def edit(ref: str) -> tuple[str, int]:
    """The editor of one worker (``ref``: ``context.worker_ref(key)``)."""
    with collection() as session:
        key = worker_key(ref, session)
        loaded = _load(session, key)
        texts, hints = _initial_texts(loaded)
        findings: list[Finding] = []
        worker = loaded.base
        if loaded.source == "draft" and worker is not None:
            findings = _check(worker, loaded.bureau)
        elif loaded.source == "stored" and loaded.stored is not None:
            findings = list(loaded.stored.warnings)
        if loaded.source == "draft":
            flash(
                tr(
                    "显示的是暂存的草稿(尚未保存)。",
                    "This is the draft kept earlier (not saved yet).",
                ),
                "info",
            )
        return _render(ref, Page(loaded, texts, hints, worker=worker, findings=findings))


@bp.post("/workers/<ref>/edit")
def act(ref: str) -> Response | tuple[str, int]:
    """What the form's button says (``action``): save, draft, discard, check,
    add/remove/copy a line, apply a fix."""
    action = request.form.get("action", "check")
    with collection() as session:
        key = worker_key(ref, session)
        loaded = _load(session, key)
        if loaded.stored is not None and loaded.stored.status in (
            WorkerStatus.SUBMITTED,
            WorkerStatus.ACCEPTED,
        ):
            blocker = Blocker.of(
                WorkerLocked if loaded.stored.status is WorkerStatus.SUBMITTED else AlreadyAccepted
            )
            flash(f"{blocker.code}: {tr(blocker.message_zh, blocker.message)}", "error")
            texts, hints = _initial_texts(loaded)
            return _render(ref, Page(loaded, texts, hints, worker=loaded.base), 409)
        drop = None
        removing = _REMOVE.fullmatch(action)
        if removing is not None:
            drop = (removing.group(1), int(removing.group(2)))
        texts, hints = _form_texts(request.form, drop=drop)
        if action == "discard":
            return _discard(session, ref, loaded)
        if action.startswith("add:"):
            section = action[4:]
            if section not in (*HISTORY_SECTIONS, "account"):
                abort(400)
            _add_line(texts, hints, section)
            return _shown(ref, loaded, texts, hints, check=False)
        if action.startswith("copy:"):
            part = action[5:]
            if part not in ("history", "account"):
                abort(400)
            if not _copy_bureau(texts, hints, part, loaded.bureau):
                flash(
                    tr("社保记录中没有这一部分的数据。", "The bureau's record has no lines here."),
                    "info",
                )
            return _shown(ref, loaded, texts, hints, check=False)
        if removing is not None:
            return _shown(ref, loaded, texts, hints, check=False)
        fixing = _FIX.fullmatch(action)
        if fixing is not None:
            return _fix(ref, loaded, texts, hints, int(fixing.group(1)), fixing.group(2))
        if action == "draft":
            return _draft(session, ref, loaded, texts, hints)
        if action == "save":
            version = request.form.get("version", "0")
            return _save(
                session, ref, loaded, texts, hints, int(version) if version.isdigit() else 0
            )
        return _shown(ref, loaded, texts, hints, check=True)


def _shown(
    ref: str, loaded: Loaded, texts: dict[str, str], hints: dict[int, str], *, check: bool
) -> tuple[str, int]:
    """The form again, as typed; ``check``: with the rules' findings."""
    worker, problems = _read(loaded, texts)
    findings = _check(worker, loaded.bureau) if check and worker is not None else []
    if check and worker is not None and not problems:
        errors = sum(1 for f in findings if f.is_error)
        flash(
            tr(
                f"检查完成:{errors} 处错误,{len(findings) - errors} 条提示(尚未保存)。",
                f"Checked: {errors} error(s), {len(findings) - errors} warning(s) (not saved yet).",
            ),
            "info",
        )
    page = Page(
        loaded,
        texts,
        hints,
        worker=worker,
        problems=problems if check else (),
        findings=findings,
    )
    return _render(
        ref, page, 422 if check and (problems or any(f.is_error for f in findings)) else 200
    )


def _fix(
    ref: str, loaded: Loaded, texts: dict[str, str], hints: dict[int, str], index: int, code: str
) -> tuple[str, int]:
    worker, problems = _read(loaded, texts)
    if worker is None:
        page = Page(loaded, texts, hints, problems=problems)
        return _render(ref, page, 422)
    findings = _check(worker, loaded.bureau)
    if index >= len(findings) or findings[index].code != code:
        library_error(
            FixNotApplicable(
                "stale",
                code,
                "the form changed since the finding was shown; check it again",
                "表单在显示该检查结果后已更改;请重新检查",
            )
        )
        return _render(ref, Page(loaded, texts, hints, worker=worker, findings=findings), 409)
    finding = findings[index]
    try:
        fixed = apply_fix(_checked(worker, loaded.bureau), finding)
        preview = fix_preview(_checked(worker, loaded.bureau), finding)
    except FixNotApplicable as exc:
        library_error(exc)
        return _render(ref, Page(loaded, texts, hints, worker=worker, findings=findings), 409)
    new_texts, new_hints = _texts_of(fixed)
    flash(
        tr(
            f"已应用建议的修改:{preview.text_zh}。尚未保存:请检查后按“保存”。",
            f"The suggested fix is applied: {preview.text_en}. Not saved yet: check it, "
            "then press Save.",
        ),
        "success",
    )
    new_findings = _check(fixed, loaded.bureau)
    return _render(ref, Page(loaded, new_texts, new_hints, worker=fixed, findings=new_findings))


def _draft(
    session: CollectionSession,
    ref: str,
    loaded: Loaded,
    texts: dict[str, str],
    hints: dict[int, str],
) -> Response | tuple[str, int]:
    worker, problems = _read(loaded, texts)
    if worker is None:
        flash(
            tr(
                f"草稿未暂存:{len(problems)} 处无法读取,请先更正(见各栏下的说明)。",
                f"The draft was not kept: {len(problems)} value(s) cannot be read; "
                "correct them first (see under each field).",
            ),
            "error",
        )
        return _render(ref, Page(loaded, texts, hints, problems=problems), 422)
    try:
        save_draft(session, worker)
    except PensionCollectError as exc:
        library_error(exc)
        return _render(ref, Page(loaded, texts, hints, worker=worker), 409)
    flash(
        tr(
            "已暂存草稿(尚未保存;以后可继续编辑)。",
            "Kept as a draft (not saved; you can go on with it later).",
        ),
        "success",
    )
    return redirect(url_for("editor.edit", ref=ref), code=303)


def _discard(session: CollectionSession, ref: str, loaded: Loaded) -> Response:
    if discard_draft(session, loaded.key):
        flash(tr("草稿已放弃。", "The draft is discarded."), "success")
    else:
        flash(tr("没有暂存的草稿。", "There is no draft."), "info")
    return redirect(url_for("editor.edit", ref=ref), code=303)


def _save(
    session: CollectionSession,
    ref: str,
    loaded: Loaded,
    texts: dict[str, str],
    hints: dict[int, str],
    version: int,
) -> Response | tuple[str, int]:
    worker, problems = _read(loaded, texts)
    if worker is None:
        _refused(len(problems))
        return _render(ref, Page(loaded, texts, hints, problems=problems), 422)
    try:
        saved = session.save_worker(worker, expected_version=version)
    except RuleErrors as exc:
        _refused(len(exc.errors))
        page = Page(loaded, texts, hints, worker=worker, findings=exc.findings)
        return _render(ref, page, 422)
    except IncompleteWorker as exc:
        refusals = [
            (f"$.{part}", exc.code, exc.procedure, exc.message_zh, exc.message)
            for part in ("history", "account")
            if getattr(worker, part) is None
        ]
        # the rules' collection.incomplete says the same at the same flag: shown once
        refused = {refusal[0] for refusal in refusals}
        findings = [
            f
            for f in _check(worker, loaded.bureau)
            if not (f.code == "collection.incomplete" and field_path(f) in refused)
        ]
        _refused(len(refusals) + sum(1 for f in findings if f.is_error))
        page = Page(loaded, texts, hints, worker=worker, findings=findings, refusals=refusals)
        return _render(ref, page, 422)
    except WindowOnlyChange as exc:
        _refused(1)
        refusals = [("$.name", exc.code, exc.procedure, exc.message_zh, exc.message)]
        return _render(ref, Page(loaded, texts, hints, worker=worker, refusals=refusals), 422)
    except ConflictError:
        flash(
            tr(
                "storage.conflict: 在您编辑期间,其他人已保存了该职工;您填写的内容仍在下方,"
                "未保存。请在新窗口打开该职工核对后再保存。",
                "storage.conflict: someone else saved this worker while you were editing; "
                "what you typed is still below, not saved. Open the worker in a new window, "
                "compare, then save again.",
            ),
            "error",
        )
        return _render(ref, Page(loaded, texts, hints, worker=worker), 409)
    except PensionCollectError as exc:
        library_error(exc)
        return _render(ref, Page(loaded, texts, hints, worker=worker), 409)
    discard_draft(session, loaded.key)
    kept = len(saved.warnings)
    flash(
        tr(
            f"已保存(第 {saved.version} 版)" + (f",{kept} 条提示。" if kept else "。"),
            f"Saved (version {saved.version})" + (f", {kept} warning(s)." if kept else "."),
        ),
        "success",
    )
    return redirect(url_for("editor.edit", ref=ref), code=303)


# -- a form posted from a stale page ---------------------------------------------------


@attrs.frozen
class KeptField:
    """A value of a form kept from a stale page: the input's name, its label, the value."""

    name: str
    label: str
    value: str


def _kept_fields(texts: Mapping[str, str], hints: Mapping[int, str]) -> list[KeptField]:
    """The posted values, each with its label (the library's, by path), in
    the form's order; the history lines' boxes as hidden-free text fields."""
    labels = {f.path: tr(f.label_zh, f.label_en) for f in _blank_person()}
    columns = {
        part: {f.field: tr(f.label_zh, f.label_en) for f in _columns(part)}
        for part in ("history", "account")
    }
    parts = {"history": tr("缴费历史", "History"), "account": tr("养老账户", "Account")}
    out = []
    for path, value in texts.items():
        m = _LINE.fullmatch(path)
        if m is not None:
            part, line, field = m.group(1), int(m.group(2)), m.group(3)
            column = columns[part].get(field, field)
            label = tr(
                f"{parts[part]} 第 {line + 1} 行 {column}",
                f"{parts[part]} line {line + 1}, {column}",
            )
        else:
            label = labels.get(path, path)
        out.append(KeptField(path, label, value))
    for line, section in sorted(hints.items()):
        out.append(
            KeptField(
                f"section-{line}",
                tr(f"缴费历史 第 {line + 1} 行 所在的框", f"History line {line + 1}, box"),
                section,
            )
        )
    return out


def stale_form(signed_in: bool) -> tuple[str, int]:
    """The answer to a POST of the editor refused for its sign-in or its CSRF
    token (docs/web.md, "The worker editor", "A stale page"): nothing is
    stored, whatever the button; what was typed comes back.

    Signed in (the token is another sign-in's: the clerk signed in again in
    another tab): the editor again, as typed, with this sign-in's token and
    the version the form was made from (a save meanwhile is still a
    conflict), 400. Not signed in (the sign-in expired or was ended): a page
    of the posted values only (nothing read from the store: no one is
    signed in to read it for), with a button that posts them back, 401."""
    ref = str((request.view_args or {}).get("ref", ""))
    texts, hints = _form_texts(request.form)
    posted = request.form.get("version", "0")
    version = int(posted) if posted.isdigit() and len(posted) < 10 else 0
    if signed_in:
        # the clerk is signed in: the page a GET of the editor shows, with
        # the values typed; a cross-site POST never gets here (the session
        # cookie is SameSite=Strict) and its answer cannot be read anyway
        with collection() as session:
            # None: signed in again as another employer's clerk
            key = worker_key_or_none(ref, session)
            if key is not None:
                loaded = _load(session, key)
                flash(
                    tr(
                        "未保存:该页面已过期(安全令牌与当前登录不符,例如您已在另一个标签页"
                        "重新登录),未作任何更改。您填写的内容保留在下方;请核对后再按“保存”。",
                        "Not saved: the page was stale (its security token is not the one of "
                        "your current sign-in, e.g. you signed in again in another tab); nothing "
                        "was changed. What you typed is kept below; check it, then press Save "
                        "again.",
                    ),
                    "error",
                )
                page = Page(loaded, texts, hints, worker=_read(loaded, texts)[0])
                return _render(ref, page, 400, version=version)
    body = render_template(
        "editor_kept.html",
        ref=ref,
        fields=_kept_fields(texts, hints),
        version=version,
        signed_in=signed_in,
    )
    return body, 400 if signed_in else 401


KEEP_TYPED[f"{bp.name}.act"] = stale_form


def _refused(count: int) -> None:
    flash(
        tr(
            f"未保存:共 {count} 处问题,见下方列表及各栏下的说明。您填写的内容已保留。",
            f"Not saved: {count} problem(s), listed below and under each field. "
            "What you typed is kept.",
        ),
        "error",
    )
