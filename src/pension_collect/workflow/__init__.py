"""The collection workflow: a session carrying one employer through [P3] .. [P3.7]
(docs/workflow.md).

``session`` holds the steps, ``guards`` the checks that decide whether a step
may run and the typed errors they raise, ``records`` what the session stores
and its mapping to storage records, ``printing`` the bridge to form renderers.
"""

from __future__ import annotations

from ..ports.events import DeclarationConcluded, DeclarationSubmitted, WorkerSaved
from .guards import (
    AlreadyAccepted,
    ConfirmationFormMissing,
    DeclarationInFlight,
    EmployerFirst,
    IncompleteWorker,
    NothingToSubmit,
    NotReceived,
    NotStarted,
    PendingDeclaration,
    RecollectionIncomplete,
    RuleErrors,
    SessionClosed,
    SyncFirst,
    SyncRequired,
    UnknownWorker,
    VerificationFormMissing,
    WindowOnlyChange,
    WorkerLocked,
    WorkflowError,
)
from .printing import FormsPrinted
from .records import StoredDeclaration, StoredWorker, WorkerStatus
from .session import CONFIRMATION_COPIES, CollectionSession

__all__ = [
    "CONFIRMATION_COPIES",
    "AlreadyAccepted",
    "CollectionSession",
    "ConfirmationFormMissing",
    "DeclarationConcluded",
    "DeclarationInFlight",
    "DeclarationSubmitted",
    "EmployerFirst",
    "FormsPrinted",
    "IncompleteWorker",
    "NotReceived",
    "NotStarted",
    "NothingToSubmit",
    "PendingDeclaration",
    "RecollectionIncomplete",
    "RuleErrors",
    "SessionClosed",
    "StoredDeclaration",
    "StoredWorker",
    "SyncFirst",
    "SyncRequired",
    "UnknownWorker",
    "VerificationFormMissing",
    "WindowOnlyChange",
    "WorkerLocked",
    "WorkerSaved",
    "WorkerStatus",
    "WorkflowError",
]
