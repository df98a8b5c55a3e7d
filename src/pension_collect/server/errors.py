"""The bureau server's errors: each one JSON ``{"error": {"code", "message",
"message_zh", ...}}`` with its HTTP status (docs/bureau-server.md, "Errors").

Messages are fixed sentences: they never quote a password, a token, a name,
an identity number or anything else a client sent.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import PensionCollectError

__all__ = ["ApiError", "error_body", "json_bytes"]


class ApiError(PensionCollectError):
    """A request the server refuses: ``status`` (HTTP), ``code`` (stable),
    ``message`` (English), ``message_zh`` (Chinese), ``retry_after`` (seconds,
    for 423 and 429: also the ``Retry-After`` header)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        message_zh: str,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # type: ignore[misc]  # an instance's code, not the class's
        self.message = message
        self.message_zh = message_zh
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r})"

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.code, self.message, self.message_zh, self.retry_after)

    def headers(self) -> dict[str, str]:
        """The extra headers of the answer (``Retry-After``)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


def error_body(
    code: str, message: str, message_zh: str, retry_after: int | None = None
) -> dict[str, Any]:
    """``{"error": {"code", "message", "message_zh"[, "retry_after"]}}``."""
    inner: dict[str, Any] = {"code": code, "message": message, "message_zh": message_zh}
    if retry_after is not None:
        inner["retry_after"] = retry_after
    return {"error": inner}


def json_bytes(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON (Chinese kept as it is)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
