"""Audit: the collection's audit log and each worker's changes, who made them
and when, newest first.

- ``/audit`` (endpoint ``audit.index``, the header's nav links to it): the
  whole log of the clerk's employer, 50 entries a page (``?page=N``).
- ``/workers/<ref>/audit`` (``audit.worker``): one worker's entries (its
  saved collection, its marks, its declarations' outcomes, its drafts).

Each entry shows when, who (the clerk's name the session was opened with),
the action (a bilingual label and its code), what it is about (a worker by
its masked identity number, a declaration, the collection), the fields it
changed when the entry holds the record before and after, and the library's
summary. Routes and texts: docs/web.md, "Audit".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, render_template, request

from pension_collect.identity import mask
from pension_collect.ports.storage import AuditEntry, RecordKind

from ..context import collection, worker_key, worker_ref
from ..i18n import tr
from .workers import worker_name

__all__ = ["ACTION_LABELS", "PAGE_SIZE", "bp", "changed_fields"]

bp = Blueprint("audit", __name__)

#: Entries on a page.
PAGE_SIZE = 50

#: The label of each action the library logs: code -> (Chinese, English).
ACTION_LABELS: Mapping[str, tuple[str, str]] = {
    "session.started": ("开始采集", "collection started"),
    "session.synced": ("数据同步", "data sync"),
    "session.migrated": ("存储格式迁移", "store migrated"),
    "employer.collected": ("采集单位信息", "employer collected"),
    "forms.verification": ("打印核对表", "verification forms printed"),
    "forms.confirmation": ("打印确认表", "confirmation forms printed"),
    "worker.window-visit": ("窗口办理", "window visit"),
    "worker.saved": ("保存职工信息", "worker saved"),
    "worker.received": ("收回签字确认表/手册", "signed form / handbook received"),
    "worker.submitted": ("申报", "declared"),
    "worker.accepted": ("处理成功", "accepted by the bureau"),
    "worker.failed": ("处理失败", "failed by the bureau"),
    "worker.returned": ("退回(申报被拒)", "returned (declaration refused)"),
    "declaration.created": ("创建申报", "declaration created"),
    "declaration.submitted": ("提交申报", "declaration submitted"),
    "declaration.status": ("申报状态变化", "declaration state changed"),
    "declaration.concluded": ("申报处理完毕", "declaration concluded"),
    "declaration.refused": ("申报被拒绝", "declaration refused"),
    "draft.saved": ("保存草稿", "draft saved"),
    "draft.discarded": ("放弃草稿", "draft discarded"),
}

_PERSONAL = frozenset({RecordKind.WORKER, RecordKind.SYNCED, RecordKind.MARKS, RecordKind.DRAFT})


def changed_fields(before: Any, after: Any) -> list[str]:
    """The fields an entry changed, from its record ``before`` and ``after``:
    the top-level fields whose value differs, a nested record's (``worker``,
    ``employer``) as ``worker.name``; every field of ``after`` when there was
    nothing before; none when the entry holds no ``after``."""
    if not isinstance(after, Mapping):
        return []
    old: Mapping[str, Any] = before if isinstance(before, Mapping) else {}
    fields: list[str] = []
    for name in sorted(set(old) | set(after)):
        was, now = old.get(name), after.get(name)
        if was == now:
            continue
        if isinstance(was, Mapping) and isinstance(now, Mapping):
            inner = changed_fields(was, now)
            fields.extend(f"{name}.{field}" for field in inner)
        else:
            fields.append(name)
    return fields


def _label(action: str) -> str:
    found = ACTION_LABELS.get(action)
    return action if found is None else tr(*found)


def _entry_view(entry: AuditEntry, *, link: bool) -> dict[str, Any]:
    personal = entry.subject_kind in _PERSONAL
    return {
        "seq": entry.seq,
        "at": entry.at.replace("T", " ")[:19],
        "at_iso": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "label": _label(entry.action),
        "kind": entry.subject_kind.value,
        "subject": mask(entry.subject_key) if personal else entry.subject_key,
        "ref": worker_ref(entry.subject_key) if personal and link else None,
        "declaration": entry.declaration or "",
        "created": entry.before is None and entry.after is not None,
        "fields": [] if entry.before is None else changed_fields(entry.before, entry.after),
        "message": entry.message,
    }


def _render(
    entries: Sequence[AuditEntry], *, worker: dict[str, str] | None = None, ref: str | None = None
) -> str:
    """The page asked for (``?page=N``, clamped to the pages there are) of
    ``entries``, newest first."""
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    last = max(1, math.ceil(len(entries) / PAGE_SIZE))
    number = min(number, last)
    start = (number - 1) * PAGE_SIZE
    shown = sorted(entries, key=lambda e: e.seq, reverse=True)[start : start + PAGE_SIZE]
    return render_template(
        "audit.html",
        entries=[_entry_view(e, link=worker is None) for e in shown],
        total=len(entries),
        number=number,
        last=last,
        first_row=start + 1 if shown else 0,
        last_row=start + len(shown),
        worker=worker,
        ref=ref,
    )


@bp.get("/audit")
def index() -> str:
    """The whole audit log of the clerk's employer, newest first, paged."""
    with collection() as coll:
        entries = coll.audit()
    return _render(entries)


@bp.get("/workers/<ref>/audit")
def worker(ref: str) -> str:
    """One worker's entries (404: not a worker of the clerk's employer)."""
    with collection() as coll:
        key = worker_key(ref, coll)
        entries = coll.audit(worker=key)
        with coll.storage.transaction() as tx:  # its drafts: the store's own query
            entries += tx.audit(coll.unit_no, subject=(RecordKind.DRAFT, key))
        name = worker_name(coll, key)
    return _render(entries, worker={"masked": mask(key), "name": name}, ref=ref)
