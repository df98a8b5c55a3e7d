"""Transport ``local:``: the reference bureau called in-process.

Payloads and answers pass through JSON on the way, as they would over a wire,
so the caller and the bureau never share a mutable object.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import PensionCollectError
from ..hookspecs import hookimpl
from ..ports.transport import (
    DeclarationKind,
    DeclarationStatus,
    SyncResult,
    TransportRegistry,
)
from .reference_bureau import ReferenceBureau

__all__ = ["LocalTransport"]


def _wire(data: Any) -> Any:
    return json.loads(json.dumps(data, ensure_ascii=False))


class LocalTransport:
    """A transport to a reference bureau in this process
    (:class:`~pension_collect.adapters.reference_bureau.ReferenceBureau`).

    ``bureau`` is the bureau to call (option of the ``local:`` URL); a fresh,
    empty one is made when none is given.
    """

    def __init__(self, bureau: ReferenceBureau | None = None, *, url: str = "local:") -> None:
        self.url = url
        self.bureau = bureau if bureau is not None else ReferenceBureau()

    @classmethod
    def open(cls, url: str, **options: Any) -> LocalTransport:
        """Factory of the ``local:`` scheme (option: ``bureau=``)."""
        if url.lower() != "local:":
            raise PensionCollectError(f"a local transport URL is just 'local:', not {url!r}")
        bureau = options.pop("bureau", None)
        if options:
            raise PensionCollectError(
                f"local: takes only the bureau= option, not {sorted(options)}"
            )
        return cls(bureau, url=url)

    def sync(self, unit_no: str) -> SyncResult:
        result = self.bureau.sync(unit_no)
        return SyncResult(
            unit_no=result.unit_no,
            at=result.at,
            employer=_wire(result.employer),
            persons=tuple(_wire(list(result.persons))),
        )

    def pending_declarations(self, unit_no: str) -> list[DeclarationStatus]:
        return [
            DeclarationStatus.from_dict(_wire(s.to_dict()))
            for s in self.bureau.pending_declarations(unit_no)
        ]

    def submit(
        self,
        unit_no: str,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        linked_to: str | None = None,
    ) -> DeclarationStatus:
        status = self.bureau.submit(
            unit_no, kind, _wire(payload), idempotency_key=idempotency_key, linked_to=linked_to
        )
        return DeclarationStatus.from_dict(_wire(status.to_dict()))

    def status(self, declaration_id: str, *, unit_no: str | None = None) -> DeclarationStatus:
        status = self.bureau.status(declaration_id, unit_no=unit_no)
        return DeclarationStatus.from_dict(_wire(status.to_dict()))

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"LocalTransport(url={self.url!r})"


@hookimpl
def pension_collect_register_transport(registry: TransportRegistry) -> None:
    """Built-in ``local:`` transport."""
    registry.add("local", LocalTransport.open, default=True)
