"""The web front end's errors: each a
:class:`~pension_collect.errors.PensionCollectError` with a ``code`` and its
sentence in English (``message``) and Chinese (``message_zh``); ``str()`` is
both, on one line (what ``pension-collect web`` prints, exit status 2)."""

from __future__ import annotations

from pension_collect.errors import PensionCollectError

__all__ = ["WebError"]


class WebError(PensionCollectError):
    """A refusal of the web front end or of its commands (docs/web.md lists the codes).

    ``code`` is per instance (``web.weak-password``, ``web.locked`` ...);
    ``retry_after`` is the seconds a lock still lasts, or the address must
    wait (``web.locked``, ``web.too-many-attempts``)."""

    code = "web.error"

    def __init__(
        self, code: str, message: str, message_zh: str, *, retry_after: int | None = None
    ) -> None:
        self.code = code  # type: ignore[misc]  # an instance's own code
        self.message = message
        self.message_zh = message_zh
        self.retry_after = retry_after
        super().__init__(f"{code}: {message} ({message_zh})")
