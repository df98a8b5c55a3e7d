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
    Cancelled,
    ConfirmationFormMissing,
    DeclarationInFlight,
    EmployerFirst,
    FormExists,
    IncompleteWorker,
    NothingToSubmit,
    NotReceived,
    NotStarted,
    PendingDeclaration,
    PersonNotSynced,
    Progress,
    RecollectionIncomplete,
    RecordChangedOutside,
    RuleErrors,
    SessionClosed,
    SignedFormMismatch,
    SyncFirst,
    SyncRequired,
    UnknownDeclarationKey,
    UnknownWorker,
    VerificationFormMissing,
    WindowOnlyChange,
    WindowVisitRequired,
    WorkerLocked,
    WorkflowError,
)
from .printing import FormsPrinted
from .records import (
    WINDOW_CODES,
    Refusal,
    SaveBatch,
    SessionState,
    StoredDeclaration,
    StoredWorker,
    WindowVisit,
    WorkerStatus,
)
from .session import CONFIRMATION_COPIES, CollectionSession

__all__ = [
    "CONFIRMATION_COPIES",
    "WINDOW_CODES",
    "AlreadyAccepted",
    "Cancelled",
    "CollectionSession",
    "ConfirmationFormMissing",
    "DeclarationConcluded",
    "DeclarationInFlight",
    "DeclarationSubmitted",
    "EmployerFirst",
    "FormExists",
    "FormsPrinted",
    "IncompleteWorker",
    "NotReceived",
    "NotStarted",
    "NothingToSubmit",
    "PendingDeclaration",
    "PersonNotSynced",
    "Progress",
    "RecollectionIncomplete",
    "RecordChangedOutside",
    "Refusal",
    "RuleErrors",
    "SaveBatch",
    "SessionClosed",
    "SessionState",
    "SignedFormMismatch",
    "StoredDeclaration",
    "StoredWorker",
    "SyncFirst",
    "SyncRequired",
    "UnknownDeclarationKey",
    "UnknownWorker",
    "VerificationFormMissing",
    "WindowOnlyChange",
    "WindowVisit",
    "WindowVisitRequired",
    "WorkerLocked",
    "WorkerSaved",
    "WorkerStatus",
    "WorkflowError",
]
