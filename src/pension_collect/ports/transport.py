"""The bureau protocol: what a transport carries between an employer and the bureau.

Everything here is JSON-ready (strings, numbers, lists, dictionaries), so the
same protocol runs in-process (``local:``) and, later, over the wire. Workers
and employers travel in the dossier format (docs/dossier.md).

A transport (:class:`Transport`) answers four questions: ``sync``,
``pending_declarations``, ``submit`` (idempotent by key) and ``status``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import attrs

from ..errors import PensionCollectError, PluginError
from .registry import Registry, split_scheme

__all__ = [
    "PENDING_STATES",
    "AccountLocked",
    "AuthenticationError",
    "BadResponse",
    "BureauError",
    "DeclarationKind",
    "DeclarationState",
    "DeclarationStatus",
    "IdempotencyKeyReused",
    "InvalidCredentials",
    "LoginThrottled",
    "PasswordChangeRequired",
    "ServerError",
    "SyncResult",
    "Transport",
    "TransportError",
    "TransportFactory",
    "TransportRegistry",
    "TransportTimeout",
    "UnknownDeclaration",
    "UnknownTransport",
    "Unreachable",
    "WeakPassword",
    "WorkerOutcome",
    "WrongEmployer",
]


class TransportError(PensionCollectError):
    """The bureau cannot be reached as asked (bad URL, no such transport, a broken link)."""

    code = "transport.error"


class UnknownTransport(TransportError, LookupError):
    """No installed plugin handles the bureau URL's scheme."""

    code = "transport.unknown-scheme"

    def __init__(self, scheme: str, available: Sequence[str]) -> None:
        self.scheme = scheme
        self.available = tuple(sorted(available))
        super().__init__(
            f"no transport for URL scheme {scheme!r}; installed: "
            f"{', '.join(self.available) or 'none'}"
        )


class _Bilingual(TransportError):
    """A transport error with its sentence in English (``message``) and Chinese
    (``message_zh``); ``str()`` shows both. No credential, token or personal
    data is ever put into either."""

    def __init__(self, message: str, message_zh: str) -> None:
        self.message = message
        self.message_zh = message_zh
        super().__init__(f"{message} ({message_zh})")


class Unreachable(_Bilingual):
    """No connection to the bureau could be made, or it broke before an answer
    came (after the transport's retries)."""

    code = "transport.unreachable"


class TransportTimeout(_Bilingual):
    """The bureau did not connect or answer within the timeout (after the
    transport's retries). A submission may still have reached the bureau:
    submitting again with the same idempotency key is safe."""

    code = "transport.timeout"


class ServerError(_Bilingual):
    """The bureau answered with a server error (5xx), after the transport's
    retries; ``status`` is the HTTP status."""

    code = "transport.server-error"

    def __init__(self, message: str, message_zh: str, *, status: int) -> None:
        self.status = status
        super().__init__(message, message_zh)


class BadResponse(_Bilingual):
    """The answer is not the bureau protocol (not JSON, the wrong shape, a page
    of something that is not a bureau at this URL)."""

    code = "transport.bad-response"


class WrongEmployer(_Bilingual):
    """The transport is logged in as another employer than the one asked for."""

    code = "transport.other-employer"


class AuthenticationError(_Bilingual):
    """The bureau does not accept the employer's login (base of the
    authentication errors)."""

    code = "auth.error"


class InvalidCredentials(AuthenticationError):
    """Unit number and password do not match (the bureau gives the same answer
    for an unknown unit number)."""

    code = "auth.invalid-credentials"


class AccountLocked(AuthenticationError):
    """The account is locked after repeated failed logins; ``retry_after`` is
    how many seconds until a login may be tried again (``None``: not said)."""

    code = "auth.locked"

    def __init__(self, message: str, message_zh: str, *, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(message, message_zh)


class LoginThrottled(AuthenticationError):
    """Too many login attempts from this address; ``retry_after`` seconds to wait."""

    code = "auth.too-many-attempts"

    def __init__(self, message: str, message_zh: str, *, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(message, message_zh)


class PasswordChangeRequired(AuthenticationError):
    """The password is an initial one: it must be changed (the transport's
    ``change_password(old, new)``) before any other call. A transport never
    changes a password by itself."""

    code = "auth.password-change-required"


class WeakPassword(AuthenticationError):
    """The bureau refuses the new password (too common, too short, the unit
    number, the old one); the password is unchanged."""

    code = "auth.weak-password"


class BureauError(PensionCollectError):
    """The bureau refuses a request as a whole (not a per-worker outcome)."""

    code = "bureau.error"


class UnknownDeclaration(BureauError, LookupError):
    """No declaration has that number, or none of the employer asking (the
    bureau gives the same answer for both)."""

    code = "bureau.unknown-declaration"


class IdempotencyKeyReused(BureauError):
    """The idempotency key was used before for a different declaration (another
    kind, payload or link): a new declaration needs a new key."""

    code = "request.idempotency-key-reused"


class DeclarationKind(StrEnum):
    """What a declaration carries."""

    EMPLOYER = "employer"
    """单位信息采集申报 ([P3.1])."""
    WORKERS = "workers"
    """职工信息采集申报 ([P3.6])."""


class DeclarationState(StrEnum):
    """申报状态 as the bureau's home page counts them."""

    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已提交
    PROCESSING = "processing"  # 正在处理
    SUCCEEDED = "succeeded"  # 处理成功
    FAILED = "failed"  # 处理失败
    PARTIALLY_SUCCEEDED = "partially_succeeded"  # 部分成功

    @property
    def concluded(self) -> bool:
        """True once the bureau has finished with the declaration."""
        return self not in PENDING_STATES

    @property
    def zh(self) -> str:
        """The Chinese name."""
        return _STATE_ZH[self]


#: The states [P3] requires to be empty before data-quality work starts.
PENDING_STATES = frozenset(
    {DeclarationState.DRAFT, DeclarationState.SUBMITTED, DeclarationState.PROCESSING}
)

_STATE_ZH = {
    DeclarationState.DRAFT: "草稿",
    DeclarationState.SUBMITTED: "已提交",
    DeclarationState.PROCESSING: "正在处理",
    DeclarationState.SUCCEEDED: "处理成功",
    DeclarationState.FAILED: "处理失败",
    DeclarationState.PARTIALLY_SUCCEEDED: "部分成功",
}


@attrs.frozen(kw_only=True)
class WorkerOutcome:
    """The bureau's verdict on one worker of a declaration."""

    key: str
    """The worker's key in the declaration (the 18-digit identity number)."""
    succeeded: bool
    code: str | None = None
    """Why it failed, e.g. ``bureau.other-employer`` (docs/bureau.md)."""
    message: str = ""
    message_zh: str = ""

    def __repr__(self) -> str:
        return f"WorkerOutcome(succeeded={self.succeeded}, code={self.code!r}, ...)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerOutcome:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@attrs.frozen(kw_only=True)
class DeclarationStatus:
    """A declaration as the bureau shows it."""

    id: str
    """The bureau's declaration number."""
    unit_no: str
    kind: DeclarationKind
    state: DeclarationState
    submitted_at: str
    concluded_at: str | None = None
    linked_to: str | None = None
    """The declaration this one re-collects ([P3.7])."""
    outcomes: tuple[WorkerOutcome, ...] = ()
    message: str = ""
    message_zh: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = attrs.asdict(self, recurse=False)
        out["kind"] = self.kind.value
        out["state"] = self.state.value
        out["outcomes"] = [o.to_dict() for o in self.outcomes]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeclarationStatus:
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        fields["kind"] = DeclarationKind(fields["kind"])
        fields["state"] = DeclarationState(fields["state"])
        fields["outcomes"] = tuple(WorkerOutcome.from_dict(o) for o in fields.get("outcomes", ()))
        return cls(**fields)


@attrs.frozen(kw_only=True)
class SyncResult:
    """What a data sync (数据同步) returns for an employer."""

    unit_no: str
    at: str
    employer: dict[str, Any] | None
    """The employer as the bureau holds it (dossier format), ``None`` if unknown."""
    persons: tuple[dict[str, Any], ...] = ()
    """Each insured person of the employer as a ``bureau`` block (dossier format)."""

    def __repr__(self) -> str:
        return f"SyncResult(unit_no={self.unit_no!r}, persons={len(self.persons)}, ...)"


@runtime_checkable
class Transport(Protocol):
    """A connection to the bureau. Credentials never appear in reprs or errors."""

    def sync(self, unit_no: str) -> SyncResult:
        """数据同步: the bureau's current records for the employer."""
        ...

    def pending_declarations(self, unit_no: str) -> list[DeclarationStatus]:
        """The employer's declarations in draft, submitted or processing ([P3])."""
        ...

    def submit(
        self,
        unit_no: str,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        linked_to: str | None = None,
    ) -> DeclarationStatus:
        """Submit a declaration; the same ``idempotency_key`` twice makes one declaration."""
        ...

    def status(self, declaration_id: str, *, unit_no: str | None = None) -> DeclarationStatus:
        """The declaration's current state and, once concluded, per-worker outcomes.

        ``unit_no`` is the employer asking: the bureau answers only the
        employer a declaration belongs to, and raises :class:`UnknownDeclaration`
        for another employer's declaration as for one that does not exist (so
        numbers cannot be probed). The collection session always gives it; a
        transport that authenticates the employer otherwise may ignore it.
        """
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


#: A transport factory: ``factory(url, **options) -> Transport``.
TransportFactory = Callable[..., Transport]


class TransportRegistry(Registry[TransportFactory]):
    """Transport factories by URL scheme, filled by ``pension_collect_register_transport``.

    The one registry behaviour (:class:`~pension_collect.ports.registry.Registry`);
    names are URL schemes, lower-cased.
    """

    what = "transport scheme"

    def normalize(self, name: str) -> str:
        return name.lower()

    def validate(self, name: str, item: TransportFactory) -> None:
        if not callable(item):
            raise PluginError(f"the {self.what} {name!r} factory is not callable")

    def unknown(self, name: str) -> PensionCollectError:
        return UnknownTransport(name, self.names())

    def factory(self, url: str) -> TransportFactory:
        """The factory for ``url``'s scheme; raises :class:`UnknownTransport`."""
        scheme = split_scheme(url)
        if scheme is None:
            raise TransportError(
                f"not a bureau URL: {url!r} (write e.g. local:) (不是有效的经办机构地址)"
            )
        return self.get(scheme)

    def open(self, url: str, **options: Any) -> Transport:
        """Open ``url`` with its scheme's factory."""
        return self.factory(url)(url, **options)
