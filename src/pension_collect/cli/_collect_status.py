"""``pension-collect status``: where the collection stands, which step is next
and what blocks it, in the words of the session's guards (the sheet's words)."""

from __future__ import annotations

from typing import Any

from ..identity import mask
from ..ports.transport import DeclarationState
from ..workflow import guards as G
from ..workflow.records import SessionState, StoredDeclaration, StoredWorker, WorkerStatus

#: The guards whose default sentences name a library method, in the words a
#: clerk reads at the command line: the command to run and the sheet's words.
_CLERK_WORDS: dict[str, tuple[str, str]] = {
    G.WindowVisitRequired.code: (
        "the bureau failed this worker for a reason only its window can clear; after the "
        "visit, record it with 'pension-collect recollect --window WORKER', run "
        "'pension-collect sync', 'pension-collect print verification', then collect the "
        "worker again with 'pension-collect recollect DOSSIER'",
        "该职工因须到社保窗口办理的原因处理失败:窗口办理后,请运行 "
        "'pension-collect recollect --window 职工' 登记社保窗口办理,再运行 "
        "'pension-collect sync' 重新数据同步、'pension-collect print verification' "
        "打印新的核对表,最后运行 'pension-collect recollect 档案' 重新采集",
    ),
}


_GUARDS: dict[str, type[G.WorkflowError]] = {G.WindowVisitRequired.code: G.WindowVisitRequired}


def clerk_words(code: str, message: str, message_zh: str) -> tuple[str, str]:
    """A guard's two sentences as the command line says them: its default
    sentences, when they name a library method, replaced by the commands."""
    guard = _GUARDS.get(code)
    if guard is not None and message == guard.default[0]:
        return _CLERK_WORDS[code]
    return message, message_zh


def shown_workers(workers: list[str], limit: int = 5) -> str:
    """The first ``limit`` (masked) workers, and how many more there are."""
    more = len(workers) - limit
    tail = f", ... and {more} more / 另有 {more} 人" if more > 0 else ""
    return ", ".join(workers[:limit]) + tail


def _step(
    command: str | None,
    procedure: str,
    step: str,
    step_zh: str,
    blocked: type[G.WorkflowError] | None = None,
    keys: list[str] | None = None,
) -> dict[str, Any]:
    """The next step, with the guard that holds the later steps back."""
    return {
        "command": None if command is None else f"pension-collect {command}",
        "procedure": procedure,
        "step": step,
        "step_zh": step_zh,
        "blocked_by": None
        if blocked is None
        else {
            "code": blocked.code,
            "procedure": blocked.procedure,
            **dict(
                zip(
                    ("message", "message_zh"),
                    clerk_words(blocked.code, *blocked.default),
                    strict=True,
                )
            ),
            "workers": [mask(k) for k in (keys or [])],
        },
    }


def next_step(
    state: SessionState | None,
    persons: dict[str, str],
    workers: list[StoredWorker],
    declarations: list[StoredDeclaration],
) -> dict[str, Any]:
    """What to run next (the resume table of docs/workflow.md, with the
    re-collection of [P3.7]); ``command`` is ``None`` when the collection is
    done."""
    if state is None:
        return _step("start", "P3", "Start data-quality work", "开始数据质量工作", G.NotStarted)
    if state.sync_no == 0:
        return _step("sync", "P3.1", "Data sync", "数据同步", G.SyncFirst)
    if state.needs_sync:
        visited = sorted(state.window_visits)
        return _step("sync", "P3.3a", "Data sync again", "重新数据同步", G.SyncRequired, visited)
    if state.employer is None or state.employer_declaration is None:
        return _step(
            "employer DOSSIER",
            "P3.1",
            "Collect and declare the employer information",
            "单位信息采集并申报",
            G.EmployerFirst,
        )
    drafts = [d for d in declarations if d.state is DeclarationState.DRAFT]
    if drafts:
        return _step(
            "submit",
            "P3.6",
            "Send the declaration left unsent",
            "重新发送未发出的申报",
            G.DeclarationInFlight,
        )
    open_ = [d for d in declarations if not d.state.concluded]
    by_key = {w.key: w for w in workers}
    failed = [w for w in workers if w.status is WorkerStatus.FAILED]
    no_visit = [w.key for w in failed if w.needs_window and not _visited(state, w)]
    if no_visit:
        return _step(
            "recollect --window WORKER",
            "P3.7",
            "Record the window visit of the workers the bureau failed",
            "登记社保窗口办理",
            G.WindowVisitRequired,
            no_visit,
        )
    to_collect = [k for k in persons if k not in by_key] + [w.key for w in failed]
    unprinted = [k for k in to_collect if state.verification.get(k) != state.sync_no]
    if unprinted:
        return _step(
            "print verification",
            "P3.2",
            "Print verification forms",
            "打印核对表",
            G.VerificationFormMissing,
            unprinted,
        )
    if failed:
        return _step(
            "recollect DOSSIER",
            "P3.7",
            "Collect the failed workers again",
            "重新采集处理失败的职工",
            G.RecollectionIncomplete,
            [w.key for w in failed],
        )
    if to_collect:
        return _step(
            "collect DOSSIER",
            "P3.4",
            "Collect the workers",
            "职工信息整理",
            G.IncompleteWorker,
            to_collect,
        )
    collected = [w for w in workers if w.status is WorkerStatus.COLLECTED]
    unconfirmed = [w.key for w in collected if not w.confirmation_printed]
    if unconfirmed:
        return _step(
            "print confirmation",
            "P3.5",
            "Print confirmation forms (3 copies)",
            "打印确认表(一式三份)",
            G.ConfirmationFormMissing,
            unconfirmed,
        )
    unreceived = [w.key for w in collected if not (w.form_received and w.handbook_received)]
    if unreceived:
        return _step(
            "receive --all",
            "P3.4g",
            "Receive the signed forms and handbooks",
            "收回签字确认表和养老手册",
            G.NotReceived,
            unreceived,
        )
    if open_:  # nothing else to do until the bureau has answered
        return _step(
            "follow", "P3.7", "Follow the declarations", "查看申报处理结果", G.DeclarationInFlight
        )
    if collected:
        return _step(
            "print summary && pension-collect submit",
            "P3.6",
            "Print the summary sheet and submit the declaration",
            "打印汇总表并提交申报",
        )
    return _step(None, "P3.7", "Done: every worker accepted", "完成:所有职工处理成功")


def _visited(state: SessionState, w: StoredWorker) -> bool:
    visit = state.window_visits.get(w.key)
    return visit is not None and visit.failed_in == w.declaration


def person_states(
    state: SessionState | None, persons: dict[str, str], workers: list[StoredWorker]
) -> list[dict[str, Any]]:
    """Every person of the latest sync and every stored worker, with where they stand."""
    stored = {w.key: w for w in workers}
    out = []
    for key in sorted(set(persons) | set(stored), key=lambda k: (persons.get(k, ""), k)):
        w = stored.get(key)
        printed = state is not None and state.verification.get(key) == state.sync_no
        out.append(
            {
                "worker": mask(key),
                "person_no": (w.worker.person_no if w else None) or persons.get(key) or None,
                "in_latest_sync": key in persons,
                "status": "not-collected" if w is None else w.status.value,
                "verification_printed": printed,
                "confirmation_printed": bool(w and w.confirmation_printed),
                "form_received": bool(w and w.form_received),
                "handbook_received": bool(w and w.handbook_received),
                "declaration": w.declaration if w else None,
                "warnings": [f.code for f in w.warnings] if w else [],
                "outcome": None
                if w is None or w.outcome is None
                else {
                    "succeeded": w.outcome.succeeded,
                    "code": w.outcome.code,
                    "message": w.outcome.message,
                    "message_zh": w.outcome.message_zh,
                },
                "needs_window": bool(w and w.needs_window),
            }
        )
    return out


_STATUS_ZH = {
    "not-collected": "未采集",
    "collected": "已采集",
    "submitted": "已申报",
    "accepted": "处理成功",
    "failed": "处理失败",
}


def status_zh(status: str) -> str:
    return _STATUS_ZH.get(status, status)
