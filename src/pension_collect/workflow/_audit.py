"""The audit entries the session's steps write, one builder per action.

Every message is a summary for people: it names keys, counts and codes, never
a name or an identity number (``before``/``after`` hold the data itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ..ports.storage import AuditEntry, RecordKind
from ..ports.transport import DeclarationKind, DeclarationState, DeclarationStatus, WorkerOutcome
from .records import SESSION_KEY, WorkerStatus


@attrs.frozen
class Audit:
    """Builds the audit entries of one employer's session for one actor."""

    unit_no: str
    actor: str
    now: Callable[[], str]
    """The timestamp of an entry (ISO 8601), asked for each entry."""

    def entry(
        self,
        action: str,
        subject_kind: RecordKind,
        subject_key: str,
        message: str,
        *,
        declaration: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            at=self.now(),
            actor=self.actor,
            unit_no=self.unit_no,
            action=action,
            subject_kind=subject_kind,
            subject_key=subject_key,
            message=message,
            declaration=declaration,
            before=before,
            after=after,
        )

    def _session(self, action: str, message: str, **kw: Any) -> AuditEntry:
        return self.entry(action, RecordKind.SESSION, SESSION_KEY, message, **kw)

    # -- the session record ---------------------------------------------------------------

    def started(self) -> AuditEntry:
        return self._session("session.started", "collection started")

    def synced(self, sync_no: int, persons: int) -> AuditEntry:
        return self._session("session.synced", f"data sync {sync_no}: {persons} persons")

    def employer_collected(
        self, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> AuditEntry:
        return self._session(
            "employer.collected", "employer information collected", before=before, after=after
        )

    def session_migrated(self, persons: int) -> AuditEntry:
        return self._session(
            "session.migrated",
            f"per-person marks moved from the session record to {persons} marks records",
        )

    def verification_printed(self, workers: int) -> AuditEntry:
        return self._session(
            "forms.verification", f"verification forms printed for {workers} workers"
        )

    # -- workers --------------------------------------------------------------------------

    def window_visit(self, key: str, note: str) -> AuditEntry:
        return self.entry(
            "worker.window-visit",
            RecordKind.WORKER,
            key,
            "correction at the bureau window" + (f": {note}" if note else ""),
        )

    def worker_saved(
        self,
        key: str,
        *,
        version: int,
        warnings: int,
        failed_in: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any],
    ) -> AuditEntry:
        return self.entry(
            "worker.saved",
            RecordKind.WORKER,
            key,
            f"worker collection saved as version {version}"
            + (f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else "")
            + (" (collected again)" if failed_in else ""),
            declaration=failed_in,
            before=before,
            after=after,
        )

    def worker_marked(
        self, key: str, action: str, message: str, before: dict[str, Any], changes: dict[str, Any]
    ) -> AuditEntry:
        return self.entry(action, RecordKind.WORKER, key, message, before=before, after=changes)

    def worker_submitted(self, key: str, declaration: str, previous: str) -> AuditEntry:
        # ``after`` holds every field the step changes: replaying a worker's log
        # gives its record (records.logged_worker_data)
        return self.entry(
            "worker.submitted",
            RecordKind.WORKER,
            key,
            f"declared in {declaration}",
            declaration=declaration,
            before={"status": previous},
            after={"status": WorkerStatus.SUBMITTED.value, "declaration": declaration},
        )

    def worker_concluded(
        self,
        outcome: WorkerOutcome,
        declaration: str,
        *,
        previous: str,
        status: WorkerStatus,
        verdict: dict[str, Any],
        failed_in: str | None,
    ) -> AuditEntry:
        return self.entry(
            "worker.accepted" if outcome.succeeded else "worker.failed",
            RecordKind.WORKER,
            outcome.key,
            "the bureau accepted the worker"
            if outcome.succeeded
            else f"the bureau failed the worker ({outcome.code}); collect again",
            declaration=declaration,
            before={"status": previous},
            after={"status": status.value, "outcome": verdict, "failed_in": failed_in},
        )

    # -- declarations ---------------------------------------------------------------------

    def declaration_created(
        self,
        key: str,
        kind: DeclarationKind,
        workers: int,
        linked_to: str | None,
        payload_digest: str,
    ) -> AuditEntry:
        return self.entry(
            "declaration.created",
            RecordKind.DECLARATION,
            key,
            f"{kind.value} declaration drafted with {workers} workers"
            + (f", re-collecting {linked_to}" if linked_to else ""),
            declaration=key,
            after={"payload_digest": payload_digest},
        )

    def declaration_submitted(
        self, key: str, kind: DeclarationKind, status: DeclarationStatus
    ) -> AuditEntry:
        return self.entry(
            "declaration.submitted",
            RecordKind.DECLARATION,
            key,
            f"{kind.value} declaration submitted as {status.id}",
            declaration=key,
            after={"bureau_id": status.id, "state": status.state.value},
        )

    def declaration_state(
        self, key: str, previous: DeclarationState, status: DeclarationStatus
    ) -> AuditEntry:
        concluded = status.state.concluded
        ok = sum(o.succeeded for o in status.outcomes)
        return self.entry(
            "declaration.concluded" if concluded else "declaration.status",
            RecordKind.DECLARATION,
            key,
            f"{key} is {status.state.value}"
            + (f": {ok} of {len(status.outcomes)} succeeded" if concluded else ""),
            declaration=key,
            before={"state": previous.value},
            after={"state": status.state.value},
        )

    def declaration_refused(self, key: str, kind: DeclarationKind, code: str) -> AuditEntry:
        return self.entry(
            "declaration.refused",
            RecordKind.DECLARATION,
            key,
            f"{kind.value} declaration refused by the bureau as a whole ({code})",
            declaration=key,
            before={"state": DeclarationState.DRAFT.value},
            after={"state": DeclarationState.FAILED.value},
        )

    def worker_returned(self, key: str, declaration: str) -> AuditEntry:
        return self.entry(
            "worker.returned",
            RecordKind.WORKER,
            key,
            f"{declaration} was refused by the bureau; the worker is to be declared again",
            declaration=declaration,
            before={"status": WorkerStatus.SUBMITTED.value},
            after={"status": WorkerStatus.COLLECTED.value},
        )
