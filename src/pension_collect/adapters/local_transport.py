"""Transport ``local:``: the reference bureau called in-process.

``local:`` is a fresh bureau in memory (or the one given as ``bureau=``);
``local:DIR`` (a relative or absolute folder) is the bureau whose state is in
``DIR/bureau.db``, the folder ``pension-collect bureau serve --data DIR``
serves, opened with ``auto_advance`` so declarations advance when read.

Payloads and answers pass through JSON on the way, as they would over a wire,
so the caller and the bureau never share a mutable object. Where msgspec is
installed (the ``fast`` extra) it carries them, about two and a half times as
fast as ``json``, its check included (benchmarks/bench_bureau.py): its
encoding read back is kept only when it equals what was sent, which only
JSON's own types do (a tuple, a set, a ``Decimal``, a date, ``NaN`` or a
non-text key come back different, or msgspec refuses them); otherwise
``json.dumps`` and ``json.loads`` carry it, which give what they always gave,
the same value or the same error. Either way what crosses is exactly what
JSON gives, a fresh value sharing nothing with what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
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


def _json_wire(data: Any) -> Any:
    """What crosses a JSON wire: ``json.loads(json.dumps(data))``."""
    return json.loads(json.dumps(data, ensure_ascii=False))


def _codec() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]] | None:
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.Encoder().encode, msgspec.json.Decoder().decode


_CODEC = _codec()


def _wire(data: Any) -> Any:
    """:func:`_json_wire`'s value (or error), through msgspec when that gives it
    (see the module docstring)."""
    if _CODEC is not None:
        encode, decode = _CODEC
        try:
            back = decode(encode(data))
            if back == data:
                return back
        except Exception:  # not JSON's own types: json says what crosses, or why not
            pass
    return _json_wire(data)


class LocalTransport:
    """A transport to a reference bureau in this process
    (:class:`~pension_collect.adapters.reference_bureau.ReferenceBureau`).

    ``bureau`` is the bureau to call (option of the ``local:`` URL); a fresh,
    empty one is made when none is given. ``owned``: :meth:`close` closes the
    bureau (the transport opened it).
    """

    def __init__(
        self, bureau: ReferenceBureau | None = None, *, url: str = "local:", owned: bool = False
    ) -> None:
        self.url = url
        self.bureau = bureau if bureau is not None else ReferenceBureau()
        self._owned = owned

    @classmethod
    def open(cls, url: str, **options: Any) -> LocalTransport:
        """Factory of the ``local:`` scheme: ``local:`` (option: ``bureau=``) or
        ``local:DIR`` (no options)."""
        scheme, _, rest = url.partition(":")
        if scheme.lower() != "local":
            raise PensionCollectError(
                f"not a local transport URL: {url!r} (write local: or local:DIR)"
            )
        bureau = options.pop("bureau", None)
        if options:
            raise PensionCollectError(
                f"local: takes only the bureau= option, not {sorted(options)}"
            )
        if not rest:
            return cls(bureau, url=url)
        if bureau is not None:
            raise PensionCollectError(
                "local:DIR opens the bureau in DIR; give either a folder or bureau=, not both "
                "(请只指定数据目录或 bureau= 之一)"
            )
        if rest.startswith("//"):
            rest = rest[2:]
            if not rest.startswith("/"):
                raise PensionCollectError(
                    f"a local transport URL names a folder, not a host: {url!r}; write "
                    "local:DIR, local:/absolute/dir or local:///absolute/dir "
                    "(local: 后应为数据目录,如 local:/srv/bureau)"
                )
        return cls(ReferenceBureau.open(Path(rest), auto_advance=True), url=url, owned=True)

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
        """Close the bureau when this transport opened it (``local:DIR``)."""
        if self._owned:
            self.bureau.close()

    def __repr__(self) -> str:
        return f"LocalTransport(url={self.url!r})"


@hookimpl
def pension_collect_register_transport(registry: TransportRegistry) -> None:
    """Built-in ``local:`` transport."""
    registry.add("local", LocalTransport.open, default=True)
