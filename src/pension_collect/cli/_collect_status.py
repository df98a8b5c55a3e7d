"""``pension-collect status``: where the collection stands, which step is next
and what blocks it, in the words of the session's guards (the sheet's words)."""

from __future__ import annotations

from typing import Any

from ..identity import mask
from ..workflow import guards as G
from ..workflow.overview import NextStep, decide_next_step
from ..workflow.records import SessionState, StoredDeclaration, StoredWorker

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


#: The command a clerk runs for each action of the next step (``None``: done).
_COMMANDS: dict[str, str | None] = {
    "start": "start",
    "sync": "sync",
    "sync-again": "sync",
    "employer": "employer DOSSIER",
    "submit-draft": "submit",
    "window-visit": "recollect --window WORKER",
    "print-verification": "print verification",
    "recollect": "recollect DOSSIER",
    "collect": "collect DOSSIER",
    "print-confirmation": "print confirmation",
    "receive": "receive --all",
    "follow": "follow",
    "submit": "print summary && pension-collect submit",
    "done": None,
}


def step_json(found: NextStep) -> dict[str, Any]:
    """The next step as ``status`` shows it: the command to run, the guard
    that holds the later steps back in the command line's words."""
    command = _COMMANDS[found.action]
    blocked = found.blocked_by
    return {
        "command": None if command is None else f"pension-collect {command}",
        "procedure": found.procedure,
        "step": found.step,
        "step_zh": found.step_zh,
        "blocked_by": None
        if blocked is None
        else {
            "code": blocked.code,
            "procedure": blocked.procedure,
            **dict(
                zip(
                    ("message", "message_zh"),
                    clerk_words(blocked.code, blocked.message, blocked.message_zh),
                    strict=True,
                )
            ),
            "workers": [mask(k) for k in found.workers],
        },
    }


def next_step(
    state: SessionState | None,
    persons: dict[str, str],
    workers: list[StoredWorker],
    declarations: list[StoredDeclaration],
) -> dict[str, Any]:
    """What to run next (:func:`pension_collect.workflow.overview.decide_next_step`
    in the command line's words); ``command`` is ``None`` when the collection
    is done."""
    return step_json(decide_next_step(state, persons, workers, declarations))


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
