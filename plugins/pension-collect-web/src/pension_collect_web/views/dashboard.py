"""The collection dashboard ([P3]..[P3.7]): the steps with their state, what
blocks the next one and why in the sheet's words; the data sync; the
employer's information and its declaration.

Routes (docs/web.md, "The collection dashboard"):

- ``GET /`` (``dashboard.index``): the steps [P3] .. [P3.7], each done, now or
  waiting, with its counts; the next action and what blocks it (the guard's
  sentence, the first workers it names masked); the button of the next action
  when it is one click.
- ``POST /start`` (``dashboard.start``), ``POST /sync`` (``dashboard.sync``),
  ``POST /summary-sheet`` (``dashboard.summary_sheet``: the PDF download),
  ``POST /submit`` (``dashboard.submit``), ``POST /follow``
  (``dashboard.follow``): the steps; each redirects to ``/`` with a flashed
  message in both languages (the summary sheet answers with its PDF).
- ``GET /employer`` (``dashboard.employer``), ``POST /employer`` (save it),
  ``POST /employer/submit`` (``dashboard.employer_submit``): the employer's
  information [P3.1], prefilled from the stored one, else the bureau's
  record of the latest sync; the rule findings at their fields.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from pension_collect import Dossier, Employer, check
from pension_collect.errors import PensionCollectError
from pension_collect.identity import mask
from pension_collect.limits import DEFAULT_LIMITS
from pension_collect.model import FieldValueError
from pension_collect.ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationState,
    TransportError,
)
from pension_collect.rules import Finding
from pension_collect.workflow import (
    CollectionSession,
    NextStep,
    SessionState,
    StoredDeclaration,
    bureau_employer,
    dashboard,
)

from ..context import collection, library_error, pdf_response, state
from ..i18n import tr
from .auth import KEEP_TYPED, TypedValue, kept_page

__all__ = [
    "EMPLOYER_FIELDS",
    "SHOWN",
    "STATE_LABELS",
    "bp",
    "bureau_problem",
    "declaration_state",
    "follow_all",
    "followed_message",
    "report",
    "stale_employer",
    "when",
]

bp = Blueprint("dashboard", __name__)

#: How many workers a blocker names (masked) before "and N more".
SHOWN = 5

#: A step's state on the dashboard: (Chinese, English).
STATE_LABELS: Mapping[str, tuple[str, str]] = {
    "done": ("已完成", "Done"),
    "current": ("当前步骤", "Now"),
    "waiting": ("等待", "Waiting"),
}

#: The employer form's fields: (the name of :class:`~pension_collect.Employer`'s
#: attribute and of the form's input, Chinese label, English label, at most
#: how many characters: the dossier's limits).
EMPLOYER_FIELDS: Sequence[tuple[str, str, str, int]] = tuple(
    (name, zh, en, DEFAULT_LIMITS.text_length_of("Employer", name))
    for name, zh, en in (
        ("name", "单位名称", "Employer name"),
        ("credit_code", "统一社会信用代码", "Unified social credit code"),
        ("legal_representative", "法定代表人", "Legal representative"),
        ("address", "地址", "Address"),
        ("contact", "联系人", "Contact person"),
        ("phone", "电话", "Phone"),
    )
)

_DECLARATION_STATE: Mapping[DeclarationState, tuple[str, str]] = {
    DeclarationState.DRAFT: ("草稿(未发出)", "draft (not sent)"),
    DeclarationState.SUBMITTED: ("已提交", "submitted"),
    DeclarationState.PROCESSING: ("正在处理", "processing"),
    DeclarationState.SUCCEEDED: ("处理成功", "succeeded"),
    DeclarationState.FAILED: ("处理失败", "failed"),
    DeclarationState.PARTIALLY_SUCCEEDED: ("部分成功", "partially succeeded"),
}


def declaration_state(value: DeclarationState) -> str:
    """A declaration's state in the page's language."""
    zh, en = _DECLARATION_STATE.get(value, (value.value, value.value))
    return tr(zh, en)


def when(iso: str | None) -> str:
    """A stored timestamp as the pages show it: ``2013-08-05 09:30`` (UTC)."""
    if not iso:
        return ""
    return iso[:16].replace("T", " ")


def bureau_problem(exc: PensionCollectError) -> tuple[str, str] | None:
    """What a bureau error means for the clerk, (Chinese, English): ``None``
    when ``exc`` is not the bureau's."""
    if isinstance(exc, TransportError):
        return (
            "无法连接社保系统,未作任何更改;请稍后重试,如仍出错请联系管理员。",
            "The bureau cannot be reached; nothing was changed. Try again later; "
            "if it fails again, ask the administrator.",
        )
    if isinstance(exc, BureauError):
        return (
            "社保系统拒绝了该请求。",
            "The bureau refused the request.",
        )
    return None


def report(exc: PensionCollectError) -> None:
    """Flash a refused step: a bureau error's meaning first (unreachable,
    refused), then the error's code and sentences (``context.library_error``)."""
    meaning = bureau_problem(exc)
    if meaning is not None:
        flash(tr(*meaning), "error")
    library_error(exc)


def _to_index() -> Response:
    return redirect(url_for("dashboard.index"), code=303)


def _link(endpoint: str, **values: Any) -> str | None:
    """The URL of another page (``None`` while its page does not exist yet)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# -- the dashboard ---------------------------------------------------------------------------


@attrs.frozen
class _Action:
    """The next action as the page offers it: a one-click button (POST to
    ``endpoint``), or a link to the page where it is done."""

    text: str
    endpoint: str | None = None
    href: str | None = None


def _workers_link(status: str | None = None) -> str | None:
    if status is None:
        return _link("workers.index")
    return _link("workers.index", state=status)


def _actions(found: NextStep) -> list[_Action]:
    """The buttons (or links) of ``found``'s action."""
    action = found.action
    if action == "start":
        return [_Action(tr("开始数据质量工作", "Start data-quality work"), "dashboard.start")]
    if action in ("sync", "sync-again"):
        return [_Action(tr("数据同步", "Sync"), "dashboard.sync")]
    if action == "employer":
        return [_Action(tr("单位信息采集", "Employer information"), href=url_for(".employer"))]
    if action == "submit-draft":
        return [_Action(tr("重新发送申报", "Send the declaration again"), "dashboard.submit")]
    if action == "submit":
        return [
            _Action(tr("打印汇总表", "Print the summary sheet"), "dashboard.summary_sheet"),
            _Action(tr("提交申报", "Submit the declaration"), "dashboard.submit"),
        ]
    if action == "follow":
        return [_Action(tr("查看处理结果", "Follow"), "dashboard.follow")]
    if action in ("window-visit", "recollect"):
        target = _link("declarations.recollection")
        return [_Action(tr("重新采集名单", "The re-collection list"), href=target)]
    links = {
        "collect": (("采集职工信息", "Collect the workers"), "not-collected"),
        "print-confirmation": (("打印确认表", "Print confirmation forms"), "saved"),
        "receive": (
            ("登记收回签字确认表和养老手册", "Record the signed forms received"),
            "printed",
        ),
    }
    if action == "print-verification":  # only the workers whose form is due
        target = _link("workers.index", due="verification")
        return [_Action(tr("打印核对表", "Print verification forms"), href=target)]
    if action in links:
        (zh, en), status = links[action]
        return [_Action(tr(zh, en), href=_workers_link(status))]
    return []


#: The counts of the worker list's states each step shows: (step, Chinese,
#: English, the state of ``workflow.ROW_STATES``).
_COUNTS: Sequence[tuple[str, str, str, str]] = (
    ("P3.4", "未采集", "Not collected", "not-collected"),
    ("P3.4", "未完成(草稿)", "Incomplete (drafts)", "incomplete"),
    ("P3.5", "待打印确认表", "Confirmation forms to print", "saved"),
    ("P3.5", "已打印确认表", "Confirmation forms printed", "printed"),
    ("P3.6", "已签字收回", "Signed and received", "signed"),
    ("P3.6", "待收回(签字确认表、养老手册)", "To receive (signed forms, handbooks)", "printed"),
    ("P3.7", "已申报", "Submitted", "submitted"),
    ("P3.7", "处理成功", "Succeeded", "succeeded"),
    ("P3.7", "处理失败", "Failed", "failed"),
)


@attrs.frozen
class _Fact:
    label: str
    value: str
    href: str | None = None


def _facts(
    sess: SessionState | None,
    counts: Mapping[str, int],
    total: int,
    decls: Sequence[StoredDeclaration],
    found: NextStep,
) -> dict[str, list[_Fact]]:
    """Each step's counts and facts, in the page's language."""
    facts: dict[str, list[_Fact]] = {p: [] for p in ("P3", "P3.1", "P3.2", "P3.3")}
    if sess is None:
        facts["P3"].append(_Fact(tr("状态", "State"), tr("尚未开始", "not started")))
        return facts
    facts["P3"].append(
        _Fact(tr("开始时间", "Started"), f"{when(sess.started_at)} · {sess.started_by}")
    )
    synced = tr(
        f"第 {sess.sync_no} 次,{when(sess.synced_at)}", f"{sess.sync_no}, {when(sess.synced_at)}"
    )
    facts["P3.1"].append(
        _Fact(tr("数据同步", "Data syncs"), synced if sess.sync_no else tr("尚未同步", "none yet"))
    )
    if sess.needs_sync:
        facts["P3.1"].append(
            _Fact(tr("需要重新同步", "Sync needed"), tr("窗口办理之后", "after a window visit"))
        )
    employer = tr("已采集", "collected") if sess.employer else tr("未采集", "not collected")
    facts["P3.1"].append(
        _Fact(tr("单位信息", "Employer information"), employer, url_for(".employer"))
    )
    employer_decl = next((d for d in decls if d.key == sess.employer_declaration), None)
    facts["P3.1"].append(
        _Fact(
            tr("单位信息申报", "Employer declaration"),
            declaration_state(employer_decl.state)
            if employer_decl
            else tr("未提交", "not submitted"),
            _link("declarations.show", key=employer_decl.key) if employer_decl else None,
        )
    )
    if found.action == "print-verification":
        facts["P3.2"].append(
            _Fact(tr("待打印核对表", "Verification forms to print"), str(len(found.workers)))
        )
    facts["P3.3"].append(
        _Fact(tr("已登记的窗口办理", "Window visits recorded"), str(len(sess.window_visits)))
    )
    collected = total - counts["not-collected"] - counts["incomplete"]
    facts["P3.4"] = [
        _Fact(tr("已采集", "Collected"), tr(f"{collected} / {total} 人", f"{collected} of {total}"))
    ]
    workers_decls = [d for d in decls if d.kind is DeclarationKind.WORKERS]
    facts["P3.7"] = [
        _Fact(
            tr("职工申报", "Workers' declarations"),
            str(len(workers_decls)),
            _link("declarations.index"),
        )
    ]
    for procedure, zh, en, row_state in _COUNTS:
        href = (
            _link("declarations.recollection")
            if row_state == "failed"
            else _workers_link(row_state)
        )
        facts.setdefault(procedure, []).append(_Fact(tr(zh, en), str(counts[row_state]), href))
    return facts


@bp.get("/")
def index() -> str:
    """The dashboard: the steps, the next action and what blocks it."""
    with collection() as session:
        seen = dashboard(session)  # one read of the store
    found = seen.next
    blocker = found.blocked_by
    named = [mask(k) for k in found.workers[:SHOWN]]
    more = max(len(found.workers) - SHOWN, 0)
    return render_template(
        "dashboard.html",
        next=found,
        steps=seen.steps,
        state_labels={k: tr(*v) for k, v in STATE_LABELS.items()},
        blocker=blocker,
        blocker_message=(tr(blocker.message_zh, blocker.message) if blocker else ""),
        named=named,
        more=more,
        actions=_actions(found),
        facts=_facts(seen.state, seen.counts, seen.total, seen.declarations, found),
        receive_link=_workers_link("printed"),
    )


# -- the steps -------------------------------------------------------------------------------


@bp.post("/start")
def start() -> Response:
    """[P3] Start data-quality work."""
    with collection() as session:
        try:
            session.start()
        except PensionCollectError as exc:
            report(exc)
        else:
            flash(tr("已开始数据质量工作。", "Data-quality work started."), "success")
    return _to_index()


@bp.post("/sync")
def sync() -> Response:
    """[P3.1] 数据同步: the bureau's records of the employer's persons."""
    with collection() as session:
        try:
            result = session.sync()
        except PensionCollectError as exc:
            report(exc)
        else:
            n = len(result.persons)
            flash(
                tr(
                    f"数据同步完成:社保系统有本单位 {n} 人。",
                    f"Synced: the bureau holds {n} person(s) of the employer.",
                ),
                "success",
            )
    return _to_index()


@bp.post("/summary-sheet")
def summary_sheet() -> Response:
    """[P3.6] The summary sheet (汇总表) as a PDF download."""
    with collection() as session, tempfile.TemporaryDirectory() as folder:
        try:
            printed = session.print_summary_sheet(out_dir=folder)
        except PensionCollectError as exc:
            report(exc)
            return _to_index()
        if not printed.files:
            flash(
                tr(
                    f"汇总表已登记,但未生成文件:{printed.note_zh or ''}",
                    f"The summary sheet is recorded but no file was written: {printed.note or ''}",
                ),
                "warning",
            )
            return _to_index()
        data = Path(printed.files[0]).read_bytes()
    return pdf_response(data, tr("汇总表.pdf", "summary-sheet.pdf"))


def _draft_kinds(session: CollectionSession) -> set[DeclarationKind]:
    return {d.kind for d in session.declarations() if d.state is DeclarationState.DRAFT}


@bp.post("/submit")
def submit() -> Response:
    """[P3.6] Submit the workers' declaration (a draft left unsent is sent first)."""
    with collection() as session:
        try:
            if _draft_kinds(session) == {DeclarationKind.EMPLOYER}:
                decl = session.submit_employer_declaration()
            else:
                decl = session.submit_declaration()
        except PensionCollectError as exc:
            report(exc)
        else:
            n = len(decl.workers)
            flash(
                tr(
                    f"已提交申报 {decl.key}({n} 人),社保系统状态:{declaration_state(decl.state)}。",
                    f"Declaration {decl.key} submitted ({n} worker(s)); "
                    f"at the bureau: {declaration_state(decl.state)}.",
                ),
                "success",
            )
            _flash_papers(decl.kind)
    return _to_index()


def _flash_papers(kind: DeclarationKind) -> None:
    """What the sheet tells the clerk to take to the bureau after submitting."""
    if kind is DeclarationKind.EMPLOYER:
        flash(
            tr(
                "[P3.1] 提交后请持营业执照和税务登记证复印件到社保审核。",
                "[P3.1] Now take copies of the business licence and the tax registration "
                "certificate to the bureau for review.",
            ),
            "info",
        )
    else:
        flash(
            tr(
                "[P3.6] 提交申报的第三天,请携带所有材料(职工签字的确认表一式三份,确认表汇总表,"
                "养老手册,其他缴费证明)上报社保处数据质量整理窗口。",
                "[P3.6] On the third day after submitting, take every paper (the confirmation "
                "forms signed, three copies each; the summary sheet; the pension handbooks; "
                "other proof of contributions) to the bureau's data-quality window.",
            ),
            "info",
        )


def follow_all() -> None:
    """[P3.7] ``follow()`` in the clerk's collection, its outcome flashed."""
    with collection() as session:
        try:
            followed = session.follow()
        except PensionCollectError as exc:
            report(exc)
        else:
            flash(followed_message(followed), "success")


@bp.post("/follow")
def follow() -> Response:
    """[P3.7] Ask the bureau how the declarations stand."""
    follow_all()
    return _to_index()


def followed_message(decls: Sequence[StoredDeclaration]) -> str:
    if not decls:
        return tr("没有等待处理结果的申报。", "No declaration is waiting for the bureau.")
    parts = [f"{d.key}: {declaration_state(d.state)}" for d in decls]
    return tr("处理结果:", "The bureau's answer: ") + "; ".join(parts)


# -- the employer's information [P3.1] ----------------------------------------------------------

_FIELD_NAMES = tuple(f[0] for f in EMPLOYER_FIELDS)


def _employer_values(employer: Employer | None) -> dict[str, str]:
    """The form's texts of ``employer`` (every field; ``""`` for nothing)."""
    return {name: (getattr(employer, name, None) or "") for name in _FIELD_NAMES}


def _read_employer(unit_no: str) -> tuple[Employer | None, dict[str, str], dict[str, str]]:
    """The employer typed in the form: (the employer or ``None``, the texts as
    typed, a problem per field in the page's language)."""
    texts = {name: request.form.get(name, "").strip() for name in _FIELD_NAMES}
    problems: dict[str, str] = {}
    for name, _zh, _en, limit in EMPLOYER_FIELDS:
        text = texts[name]
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
            problems[name] = tr("不能包含控制字符", "must not hold control characters")
        elif len(text) > limit:
            problems[name] = tr(
                f"共 {len(text)} 个字符,最多 {limit} 个", f"{len(text)} characters; at most {limit}"
            )
    if not texts["name"]:
        problems["name"] = tr("请填写单位名称", "type the employer's name")
    if problems:
        return None, texts, problems
    try:
        employer = Employer(
            unit_no=unit_no,
            name=texts["name"],
            **{k: v or None for k, v in texts.items() if k != "name"},
        )
    except FieldValueError as exc:
        problems[exc.field if exc.field in texts else "name"] = tr(exc.message_zh, exc.message)
        return None, texts, problems
    return employer, texts, problems


def _employer_findings(employer: Employer, session: CollectionSession) -> dict[str, list[Finding]]:
    """The rule findings of ``employer`` by form field (``""``: the employer as a whole)."""
    dossier = Dossier(employer=employer, workers=(), as_of=session.as_of)
    found: dict[str, list[Finding]] = {}
    for finding in check(dossier, host=state().host).findings:
        if finding.path != "$.employer" and not finding.path.startswith("$.employer."):
            continue
        field = finding.field if finding.field in _FIELD_NAMES else ""
        found.setdefault(field or "", []).append(finding)
    return found


def _employer_page(
    session: CollectionSession,
    *,
    texts: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    findings: dict[str, list[Finding]] | None = None,
) -> str:
    sess = session.state()
    bureau = bureau_employer(session) if sess is not None and sess.sync_no else None
    stored = sess.employer if sess is not None else None
    source = (
        "typed" if texts is not None else "stored" if stored else "bureau" if bureau else "none"
    )
    if texts is None:
        texts = _employer_values(stored or bureau)
    if findings is None and stored is not None and not problems:
        findings = _employer_findings(stored, session)
    decl = None
    if sess is not None and sess.employer_declaration is not None:
        decl = session.declaration(sess.employer_declaration)
    return render_template(
        "employer.html",
        sess=sess,
        unit_no=session.unit_no,
        fields=EMPLOYER_FIELDS,
        texts=texts,
        bureau=_employer_values(bureau) if bureau is not None else None,
        source=source,
        problems=problems or {},
        findings=findings or {},
        decl=decl,
        decl_state=declaration_state(decl.state) if decl is not None else "",
        decl_link=_link("declarations.show", key=decl.key) if decl is not None else None,
        when=when,
    )


@bp.get("/employer")
def employer() -> str:
    """[P3.1] The employer's information: the form and its declaration's state."""
    with collection() as session:
        return _employer_page(session)


@bp.post("/employer")
def employer_save() -> Response | tuple[str, int]:
    """[P3.1] 单位信息采集: save the employer's information (after a sync).
    Refused, with every problem and rule error at its field, when a field
    cannot be read or a rule finds an error; warnings are shown and saved."""
    with collection() as session:
        found, texts, problems = _read_employer(session.unit_no)
        if found is None:
            flash(
                tr("单位信息未保存:请更正标出的栏目。", "Not saved: correct the fields marked."),
                "error",
            )
            return _employer_page(session, texts=texts, problems=problems), 422
        findings = _employer_findings(found, session)
        if any(f.is_error for fs in findings.values() for f in fs):
            flash(
                tr("单位信息未保存:请更正标出的错误。", "Not saved: correct the errors marked."),
                "error",
            )
            return _employer_page(session, texts=texts, findings=findings), 422
        try:
            session.collect_employer(found)
        except PensionCollectError as exc:
            report(exc)
            return _employer_page(session, texts=texts, findings=findings), 409
    flash(tr("单位信息已保存。", "The employer information is saved."), "success")
    return redirect(url_for(".employer"), code=303)


def stale_employer(signed_in: bool) -> tuple[str, int]:
    """The answer to a POST of the employer information refused for its
    sign-in or its CSRF token (docs/web.md, "A stale form"): nothing is
    checked or stored; what was typed comes back. Signed in as a clerk of the
    form's employer (its hidden ``unit_no``): the form as typed with this
    sign-in's token, 400. Else the page of the typed values
    (:func:`~pension_collect_web.views.auth.kept_page`), 401 (not signed in)
    or 400 (signed in as another employer's clerk)."""
    texts = {name: request.form.get(name, "") for name in _FIELD_NAMES}
    unit_no = request.form.get("unit_no", "")
    if signed_in:
        with collection() as session:
            sess = session.state()
            if unit_no == session.unit_no and sess is not None and sess.sync_no:
                flash(
                    tr(
                        "单位信息未保存:该页面已过期(安全令牌与当前登录不符,例如您已在另一个"
                        "标签页重新登录),未作任何更改。您填写的内容保留在下方;请核对后再按"
                        "“保存单位信息”。",
                        "Not saved: the page was stale (its security token is not the one of "
                        "your current sign-in, e.g. you signed in again in another tab); "
                        "nothing was changed. What you typed is kept below; check it, then "
                        "press Save the employer information again.",
                    ),
                    "error",
                )
                return _employer_page(session, texts=texts, findings={}), 400
    values = [TypedValue(name, tr(zh, en), texts[name]) for name, zh, en, _ in EMPLOYER_FIELDS]
    return kept_page(
        url_for(".employer_save"), values, signed_in=signed_in, hidden=[("unit_no", unit_no)]
    )


KEEP_TYPED[f"{bp.name}.employer_save"] = stale_employer


@bp.post("/employer/submit")
def employer_submit() -> Response:
    """[P3.1] Submit the employer-information declaration."""
    with collection() as session:
        try:
            decl = session.submit_employer_declaration()
        except PensionCollectError as exc:
            report(exc)
        else:
            flash(
                tr(
                    f"单位信息申报 {decl.key} 已提交,"
                    f"社保系统状态:{declaration_state(decl.state)}。",
                    f"Employer declaration {decl.key} submitted; at the bureau: "
                    f"{declaration_state(decl.state)}.",
                ),
                "success",
            )
            _flash_papers(decl.kind)
    return redirect(url_for(".employer"), code=303)
