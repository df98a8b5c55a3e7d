"""The collection workflow: a session carrying one employer through [P3] .. [P3.7]
(docs/workflow.md)."""

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
    SyncFirst,
    SyncRequired,
    UnknownWorker,
    VerificationFormMissing,
    WindowOnlyChange,
    WorkerLocked,
    WorkflowError,
)
from .printing import FormsPrinted
from .session import (
    CONFIRMATION_COPIES,
    CollectionSession,
    StoredDeclaration,
    StoredWorker,
    WorkerStatus,
)

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
