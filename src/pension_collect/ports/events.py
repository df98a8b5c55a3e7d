"""Events a collection session fires through the plugin host, after the step is
committed (hooks ``pension_collect_worker_saved``,
``pension_collect_declaration_submitted``, ``pension_collect_declaration_concluded``).

Events carry keys, versions and states -- never names; ``key`` is the
worker's storage key (its 18-digit identity number), so a payroll system can
find its own record, and must treat it as personal data.
"""

from __future__ import annotations

import attrs

from .transport import DeclarationKind, DeclarationState, WorkerOutcome

__all__ = ["DeclarationConcluded", "DeclarationSubmitted", "WorkerSaved"]


@attrs.frozen(kw_only=True)
class WorkerSaved:
    """A worker's collection was saved ([P3.4])."""

    unit_no: str
    key: str
    version: int
    """The worker record's new version."""
    actor: str
    warnings: tuple[str, ...] = ()
    """Codes of the warning findings kept with the worker."""

    def __repr__(self) -> str:
        return f"WorkerSaved(unit_no={self.unit_no!r}, version={self.version}, ...)"


@attrs.frozen(kw_only=True)
class DeclarationSubmitted:
    """A declaration was submitted to the bureau ([P3.1], [P3.6])."""

    unit_no: str
    declaration: str
    """The session's key of the declaration (``workers-1`` ...)."""
    bureau_id: str
    kind: DeclarationKind
    workers: int
    linked_to: str | None = None


@attrs.frozen(kw_only=True)
class DeclarationConcluded:
    """The bureau concluded a declaration ([P3.7])."""

    unit_no: str
    declaration: str
    bureau_id: str
    kind: DeclarationKind
    state: DeclarationState
    outcomes: tuple[WorkerOutcome, ...] = ()
