"""The reference bureau back end and the protocol a transport carries (docs/bureau.md)."""

from __future__ import annotations

from .protocol import (
    PENDING_STATES,
    DeclarationKind,
    DeclarationState,
    DeclarationStatus,
    SyncResult,
    Transport,
    TransportRegistry,
    WorkerOutcome,
)
from .reference import BureauError, Person, ReferenceBureau, UnknownDeclaration, canonical_id

__all__ = [
    "PENDING_STATES",
    "BureauError",
    "DeclarationKind",
    "DeclarationState",
    "DeclarationStatus",
    "Person",
    "ReferenceBureau",
    "SyncResult",
    "Transport",
    "TransportRegistry",
    "UnknownDeclaration",
    "WorkerOutcome",
    "canonical_id",
]
