"""The worker list: thousands of workers with paging, search by name or
identity number (never in a URL), filter by state; many selected to print
verification or confirmation forms (PDF downloads) or to record the signed
forms and handbooks received; a roster imported from a dossier or a workbook.

The list is the endpoint ``workers.index`` (the header's nav links to it); a
worker is addressed by ``context.worker_ref(key)``, never by its identity
number. The search is posted (``/workers/search``) and kept in the clerk's
signed session cookie, so it lands neither in a URL nor in the access log;
the state filter, the verification forms due and the page are in the URL
(``?state=failed&due=verification&page=3``).
Routes, button texts and form field names: docs/web.md, "Workers".
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from pension_collect.dossier import loads
from pension_collect.errors import DossierFormatError, PensionCollectError, Problem
from pension_collect.identity import mask
from pension_collect.model import Dossier, Worker, YearMonth
from pension_collect.rules import check_worker
from pension_collect.rules.fixes import field_path
from pension_collect.workflow import (
    MAX_PAGE,
    ROW_STATES,
    AlreadyAccepted,
    CollectionSession,
    WorkerLocked,
    WorkerPage,
    WorkerRow,
    WorkerStatus,
    bureau_person,
    draft,
    window_only_fields,
    worker_page,
    worker_rows,
)
from pension_collect.xlsx import XlsxImportError, XlsxPlaces, read_xlsx_places, write_template

from ..context import collection, library_error, pdf_response, worker_key, worker_ref
from ..i18n import tr

__all__ = [
    "ACTIONS",
    "DUE_VERIFICATION",
    "PAGE_SIZE",
    "SEARCH_KEY",
    "ImportProblem",
    "bp",
    "worker_name",
]

bp = Blueprint("workers", __name__)

#: Rows on a page of the list.
PAGE_SIZE = 50
#: Where the posted search is kept (the clerk's signed session cookie).
SEARCH_KEY = "workers_search"
#: The longest search text kept.
_SEARCH_MAX = 100
#: The most workers a refusal lists by name.
_NAMED_MAX = 20
#: The actions of the selection form: value of the button ``action``.
ACTIONS = ("verification", "confirmation", "receive")


def _search() -> str:
    value = session.get(SEARCH_KEY, "")
    return value if isinstance(value, str) else ""


def _status_arg() -> str | None:
    value = request.values.get("state", "")
    if not value:
        return None
    if value not in ROW_STATES:
        abort(400)
    return value


#: The value of ``due`` that keeps the rows whose verification form is due [P3.2].
DUE_VERIFICATION = "verification"


def _due_arg() -> bool:
    """``due=verification``: only the rows whose verification form of the latest
    sync is due (``worker_page(verification_due=True)``); another value is a 400."""
    value = request.values.get("due", "")
    if value and value != DUE_VERIFICATION:
        abort(400)
    return bool(value)


def _due_value(due: bool) -> str | None:
    return DUE_VERIFICATION if due else None


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _state_label(state_name: str) -> str:
    en, zh = ROW_STATES[state_name]
    return tr(zh, en)


@bp.get("/workers")
def index() -> str:
    """The list: a page of 50 rows of the filters (``?state=``, ``?due=``) and the search."""
    status = _status_arg()
    due = _due_arg()
    search = _search()
    number = _page_arg()
    with collection() as coll:

        def read(n: int) -> WorkerPage:
            offset = (n - 1) * PAGE_SIZE
            return worker_page(
                coll,
                status=status,
                search=search or None,
                offset=offset,
                limit=PAGE_SIZE,
                verification_due=due,
            )

        page = read(number)
        last = max(1, math.ceil(page.total / PAGE_SIZE))
        if number > last:  # past the end: the last page (read again)
            number = last
            page = read(number)
        rows = [_row_view(row) for row in page.rows]
    return render_template(
        "workers.html",
        page=page,
        rows=rows,
        status=status,
        due=_due_value(due),
        due_count=page.verification_due,
        search=search,
        number=number,
        last=last,
        first_row=page.offset + 1 if page.rows else 0,
        last_row=page.offset + len(page.rows),
        states=[(name, _state_label(name), page.counts[name]) for name in ROW_STATES],
        all_count=sum(page.counts.values()),
        state_label=_state_label,
    )


def _row_view(row: WorkerRow) -> dict[str, Any]:
    return {
        "ref": worker_ref(row.key),
        "masked": mask(row.key),
        "name": row.name,
        "person_no": row.person_no or "",
        "state": row.state,
        "row": row,
    }


@bp.post("/workers")
@bp.post("/workers/search")
def search() -> Response:
    """Keep the posted search (``search``; blank or the button ``clear``: none)
    and go back to the list's first page with the same filter."""
    text = "" if "clear" in request.form else request.form.get("search", "").strip()
    status = _status_arg()
    due = _due_arg()
    if len(text) > _SEARCH_MAX:
        flash(
            tr(
                f"搜索内容过长:最多 {_SEARCH_MAX} 个字符。",
                f"The search is too long: at most {_SEARCH_MAX} characters.",
            ),
            "error",
        )
        text = ""
    if text:
        session[SEARCH_KEY] = text
    else:
        session.pop(SEARCH_KEY, None)
    return redirect(url_for("workers.index", state=status, due=_due_value(due)), code=303)


def _selected(coll: CollectionSession) -> list[str]:
    """The keys the selection form names: every matching row with ``all``,
    else the checked ``worker`` references (404 for one not the employer's)."""
    if request.form.get("all") == "1":
        rows = worker_rows(
            coll, status=_status_arg(), search=_search() or None, verification_due=_due_arg()
        )
        return [row.key for row in rows]
    refs = request.form.getlist("worker")
    if len(refs) > MAX_PAGE:
        abort(400)
    keys: list[str] = []
    for ref in refs:
        key = worker_key(ref, coll)
        if key not in keys:
            keys.append(key)
    return keys


def worker_name(coll: CollectionSession, key: str) -> str:
    """The name of the worker ``key``: the stored worker's, else the draft's,
    else the bureau's (empty when none holds it)."""
    try:
        return coll.worker(key).worker.name or ""
    except PensionCollectError:
        kept = draft(coll, key)
        if kept is not None:
            return kept.name or ""
        found = bureau_person(coll, key)
        return "" if found is None else found.name or ""


def _refused(coll: CollectionSession, exc: PensionCollectError, keys: Sequence[str]) -> None:
    """Flash the library's refusal and the selected workers it names."""
    library_error(exc)
    named = set(getattr(exc, "keys", ()) or ())
    if not named:
        return
    listed = [k for k in keys if mask(k) in named]
    for key in listed[:_NAMED_MAX]:
        flash(f"{mask(key)} {worker_name(coll, key)}", "error")
    if len(listed) > _NAMED_MAX:
        more = len(listed) - _NAMED_MAX
        flash(tr(f"……另有 {more} 名职工", f"... and {more} more workers"), "error")


def _back() -> Response:
    status = request.form.get("state") or None
    if status not in ROW_STATES:
        status = None
    due = _due_value(request.form.get("due") == DUE_VERIFICATION)
    page = request.form.get("page") or None
    return redirect(url_for("workers.index", state=status, due=due, page=page), code=303)


@bp.post("/workers/selected")
def selected() -> Response:
    """The selection form's buttons (``action``): ``verification`` [P3.2] and
    ``confirmation`` [P3.5] answer a PDF download; ``receive`` [P3.4g] records
    the signed forms and handbooks received and goes back to the list."""
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    with collection() as coll:
        keys = _selected(coll)
        if not keys:
            flash(tr("请先选择职工。", "Select workers first."), "error")
            return _back()
        if action == "receive":
            try:
                coll.record_received(keys)
            except PensionCollectError as exc:
                _refused(coll, exc, keys)
                return _back()
            flash(
                tr(
                    f"已登记收回 {len(keys)} 名职工的签字确认表和养老保险手册。",
                    f"Signed confirmation forms and handbooks of {len(keys)} workers "
                    "recorded as received.",
                ),
                "success",
            )
            return _back()
        return _print(coll, action, keys)


def _print(coll: CollectionSession, form: str, keys: list[str]) -> Response:
    with tempfile.TemporaryDirectory(prefix="pension-collect-web-") as folder:
        try:
            if form == "verification":
                printed = coll.print_verification_forms(keys, out_dir=folder)
            else:
                printed = coll.print_confirmation_forms(keys, out_dir=folder)
        except PensionCollectError as exc:
            _refused(coll, exc, keys)
            return _back()
        if not printed.files:
            flash(
                tr(
                    f"已记录打印,但未生成文件:{printed.note_zh or ''}",
                    f"The print is recorded but no file was written: {printed.note or ''}",
                ),
                "warning",
            )
            return _back()
        data = Path(printed.files[0]).read_bytes()
    name = "verification-forms.pdf" if form == "verification" else "confirmation-forms.pdf"
    return pdf_response(data, name)


# -- the roster: template and import --------------------------------------------------------


@bp.get("/workers/template.xlsx")
def template() -> Response:
    """The blank roster workbook (``pension_collect.xlsx.write_template``)."""
    with tempfile.TemporaryDirectory(prefix="pension-collect-web-") as folder:
        path = Path(folder) / "roster.xlsx"
        write_template(path)
        data = path.read_bytes()
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": 'attachment; filename="roster-template.xlsx"',
            "Cache-Control": "no-store",
        },
    )


@attrs.frozen
class ImportProblem:
    """One problem of an imported roster, where it is and what to do; for a
    worker's problem its position in the roster (``worker``: 1 for the first)
    and its identity number masked (``masked``)."""

    where: str
    sheet: str
    row: str
    column: str
    code: str
    message: str
    message_zh: str
    worker: str = ""
    masked: str = ""


_WORKER_PATH = re.compile(r"\$\.workers\[(\d+)\]")


def _problem(
    where: str,
    code: str,
    message: str,
    message_zh: str,
    *,
    sheet: str = "",
    worker: int | None = None,
    masked: str = "",
) -> ImportProblem:
    number = "" if worker is None else str(worker + 1)
    return ImportProblem(where, sheet, "", "", code, message, message_zh, number, masked)


def _raw_id(raw: Any, index: int) -> Any:
    """The identity number of the ``index``-th worker of a parsed JSON dossier
    that did not load (``None`` when it has none there)."""
    workers = raw.get("workers") if isinstance(raw, dict) else None
    if not isinstance(workers, list) or not 0 <= index < len(workers):
        return None
    found = workers[index]
    return found.get("id_number") if isinstance(found, dict) else None


def _located(data: bytes, problems: Sequence[Problem], code: str) -> list[ImportProblem]:
    """The problems of a JSON dossier that did not load, each of a worker with
    its position and its identity number masked (read from the JSON itself)."""
    try:
        raw: Any = json.loads(data)
    except ValueError:
        raw = None
    found: list[ImportProblem] = []
    for p in problems:
        hit = _WORKER_PATH.match(p.path)
        index = None if hit is None else int(hit.group(1))
        masked = "" if index is None else mask(_raw_id(raw, index))
        found.append(_problem(p.path, code, p.message, p.message_zh, worker=index, masked=masked))
    return found


def _is_json(data: bytes, filename: str) -> bool:
    return filename.lower().endswith(".json") or data.lstrip()[:1] in (b"{", b"[")


_Roster = tuple[Dossier | None, list[ImportProblem], XlsxPlaces | None]


def _read_roster(data: bytes, filename: str) -> _Roster:
    """The dossier of an uploaded JSON dossier or Excel workbook, or its
    problems; for a workbook, where each value came from."""
    if _is_json(data, filename):
        try:
            return loads(data, source="upload"), [], None
        except DossierFormatError as exc:
            return None, _located(data, exc.problems, exc.code), None
        except PensionCollectError as exc:
            message = str(getattr(exc, "message", "") or exc)
            text_zh = str(getattr(exc, "message_zh", "") or message)
            return None, [_problem("", exc.code, message, text_zh)], None
    with tempfile.TemporaryDirectory(prefix="pension-collect-web-") as folder:
        path = Path(folder) / "roster.xlsx"
        path.write_bytes(data)
        try:
            dossier, places = read_xlsx_places(path)
            return dossier, [], places
        except XlsxImportError as exc:
            return (
                None,
                [
                    ImportProblem(
                        p.path,
                        p.sheet or "",
                        "" if p.row is None else str(p.row),
                        p.column or "",
                        p.code,
                        p.message,
                        p.message_zh,
                    )
                    for p in exc.problems
                ],
                None,
            )
        except OSError:
            return (
                None,
                [
                    _problem(
                        "",
                        "xlsx.not-a-workbook",
                        "the file cannot be read as a workbook: upload an .xlsx file or a "
                        "JSON dossier",
                        "无法作为 Excel 工作簿读取:请上传 .xlsx 文件或 JSON 数据文件",
                    )
                ],
                None,
            )


def _blocked(row: WorkerRow | None, at: dict[str, Any]) -> ImportProblem | None:
    """Why the worker of ``row`` cannot be saved now, before anything is saved
    (``at``: the problem's place, :func:`_problem`'s arguments)."""
    if row is None or not row.in_latest_sync:
        return _problem(
            code="workflow.person-not-synced",
            message="not a person of the latest data sync [P3.2]: settle it at the bureau "
            "window, sync, print the verification form, then import again",
            message_zh="不在最近一次数据同步的人员中 [P3.2]:"
            "请到社保窗口办理,数据同步并打印核对表后再导入",
            **at,
        )
    if row.status in (WorkerStatus.SUBMITTED, WorkerStatus.ACCEPTED):
        # the session's own guard (require_collectable): being processed, or accepted
        error = WorkerLocked() if row.status is WorkerStatus.SUBMITTED else AlreadyAccepted()
        return _problem(
            code=error.code,
            message=f"declared already: {error.message} [{error.procedure}]",
            message_zh=f"已申报:{error.message_zh} [{error.procedure}]",
            **at,
        )
    if not row.verification_printed:
        return _problem(
            code="workflow.verification-form",
            message="print the verification form from the latest sync first [P3.2]",
            message_zh="请先打印最近一次数据同步的核对表 [P3.2]",
            **at,
        )
    return None


def _at_cell(problem: ImportProblem, places: XlsxPlaces | None) -> ImportProblem:
    """``problem`` (found in the dossier a workbook made: the rules, a guard, a
    refused save) at the workbook's cell it came from (``职工!C5``; a worker's
    or a line's whole row, ``职工!5:5``, when it names no field): the
    library's :class:`~pension_collect.xlsx.XlsxPlaces`. A JSON dossier's
    problem stays at its path."""
    if places is None or not problem.where.startswith("$"):
        return problem
    place = places.place(problem.where)
    if place.sheet is None:
        return problem
    return attrs.evolve(
        problem,
        where=place.cell or place.sheet,
        sheet=place.sheet,
        row="" if place.row is None else str(place.row),
        column=place.column or "",
    )


def _check(coll: CollectionSession, dossier: Dossier) -> list[ImportProblem]:
    """Every problem of saving ``dossier``'s workers, found before any is saved:
    another employer's roster, workers twice, persons not collectable now, and
    the rules' errors with their paths (as the save would find them); each
    worker's problem with its position and its identity number masked."""
    problems: list[ImportProblem] = []
    unit = coll.unit_no
    if dossier.employer.unit_no != unit:
        problems.append(
            _problem(
                "$.employer.unit_no",
                "web.other-employer",
                f"the roster is another employer's; this is employer {unit}'s collection",
                f"该名册属于其他单位;当前为单位 {unit} 的采集",
            )
        )
        return problems
    if not dossier.workers:
        return [
            _problem("$.workers", "web.no-workers", "the roster holds no worker", "名册中没有职工")
        ]
    rows = {row.key: row for row in worker_rows(coll)}
    pack = coll.host.rule_pack(None)
    as_of = coll.as_of or YearMonth.of(coll.clock().date())
    seen: set[str] = set()
    for i, worker in enumerate(dossier.workers):
        key = CollectionSession.key_of(worker)
        at: dict[str, Any] = {
            "where": f"$.workers[{i}]",
            "sheet": "",
            "worker": i,
            "masked": mask(key),
        }
        if key in seen:
            problems.append(
                _problem(
                    code="web.duplicate-worker",
                    message="this worker is in the roster twice",
                    message_zh="该职工在名册中重复",
                    **at,
                )
            )
            continue
        seen.add(key)
        found = _blocked(rows.get(key), at)
        if found is not None:
            problems.append(found)
            continue
        problems.extend(_rule_errors(coll, worker, key, at, pack, as_of))
    return problems


def _rule_errors(
    coll: CollectionSession,
    worker: Worker,
    key: str,
    at: dict[str, Any],
    pack: Any,
    as_of: YearMonth,
) -> Iterable[ImportProblem]:
    index: int = at["worker"]
    place = {"sheet": at["sheet"], "worker": index, "masked": at["masked"]}
    bureau = bureau_person(coll, key)
    if bureau is None:
        return
    if worker.person_no is not None:
        # the bureau's own number (read-only in the editor): the session would
        # save another one, which the bureau then fails as someone else's
        for locked in window_only_fields(worker, bureau):
            if locked.field == "person_no" and locked.differs:
                where = f"$.workers[{index}].person_no"
                yield _problem(where, locked.code, locked.reason, locked.reason_zh, **place)
    checked = attrs.evolve(worker, bureau=bureau, person_no=worker.person_no or bureau.person_no)
    for finding in check_worker(checked, pack=pack, as_of=as_of, index=index):
        if finding.is_error:
            # the finding's field too (``$.workers[0].history[1].end``): its cell
            within = field_path(finding)
            where = finding.path if within is None else f"$.workers[{index}]{within[1:]}"
            yield _problem(where, finding.code, finding.message, finding.message_zh, **place)


@bp.route("/workers/import", methods=["GET", "POST"])
def import_roster() -> Response | str | tuple[str, int]:
    """Upload a roster (``roster``: a JSON dossier or an .xlsx workbook) and save
    its workers [P3.4]: every problem listed at once and nothing saved when
    there is one."""
    if request.method == "GET":
        return render_template("workers_import.html", problems=[], saved=0)
    upload = request.files.get("roster")
    if upload is None or not upload.filename:
        flash(tr("请选择要上传的文件。", "Choose a file to upload."), "error")
        return redirect(url_for("workers.import_roster"), code=303)
    data = upload.read()
    dossier, problems, places = _read_roster(data, upload.filename)
    with collection() as coll:
        if dossier is not None:
            try:
                problems = [_at_cell(p, places) for p in _check(coll, dossier)]
            except PensionCollectError as exc:
                library_error(exc)
                return redirect(url_for("workers.import_roster"), code=303)
        if dossier is None or problems:
            return render_template("workers_import.html", problems=problems, saved=0), 422
        try:
            batch = coll.save_workers(dossier.workers)
        except PensionCollectError as exc:
            library_error(exc)
            return redirect(url_for("workers.import_roster"), code=303)
    if batch.refused:
        refused = [
            _at_cell(
                _problem(
                    f"$.workers[{r.index}]",
                    str(getattr(r.error, "code", type(r.error).__name__)),
                    str(getattr(r.error, "message", "") or r.error),
                    str(getattr(r.error, "message_zh", "") or ""),
                    worker=r.index,
                    masked=mask(CollectionSession.key_of(dossier.workers[r.index])),
                ),
                places,
            )
            for r in batch.refused
        ]
        flash(
            tr(
                f"已保存 {len(batch.saved)} 名职工,{len(refused)} 名被拒绝(见下表)。",
                f"{len(batch.saved)} workers saved, {len(refused)} refused (below).",
            ),
            "error",
        )
        return render_template("workers_import.html", problems=refused, saved=len(batch.saved)), 409
    flash(
        tr(
            f"已导入并保存 {len(batch.saved)} 名职工。",
            f"{len(batch.saved)} workers imported and saved.",
        ),
        "success",
    )
    return redirect(url_for("workers.index"), code=303)
