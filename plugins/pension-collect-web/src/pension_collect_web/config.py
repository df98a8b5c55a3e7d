"""How the web front end runs: :class:`WebConfig` (the options of
``pension-collect web``, docs/web.md "Configuration")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs

from pension_collect.model import YearMonth

__all__ = ["DEFAULT_ACCOUNTS", "DEFAULT_BUREAU", "DEFAULT_STORE", "WebConfig", "shown_url"]

#: The store when ``--store`` is not given (``collection.db`` in the current folder).
DEFAULT_STORE = "sqlite:collection.db"
#: The bureau when neither ``--bureau`` nor ``$PENSION_COLLECT_BUREAU`` is given.
DEFAULT_BUREAU = "local:bureau"
#: The clerk accounts' SQLite file when ``--accounts`` is not given.
DEFAULT_ACCOUNTS = "pension-collect-web.db"


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def shown_url(url: str) -> str:
    """``url`` as it may be shown or logged: a password in it
    (``postgresql://user:secret@host/db``) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{slash}{path}"


@attrs.frozen(kw_only=True)
class WebConfig:
    """The web front end's settings; one per server (every worker process reads it)."""

    store_url: str = attrs.field(default=DEFAULT_STORE, repr=lambda url: repr(shown_url(url)))
    """The collection's store (``memory:``, ``sqlite:PATH``, ``postgresql://...``)."""
    bureau_url: str = attrs.field(default=DEFAULT_BUREAU, repr=lambda url: repr(shown_url(url)))
    """The bureau: ``local:DIR`` or ``http(s)://HOST:PORT``."""
    accounts_path: Path = attrs.field(default=Path(DEFAULT_ACCOUNTS), converter=Path)
    """The clerk accounts, web sessions and lockouts (SQLite, mode 0600)."""
    host: str = "127.0.0.1"
    """The address to listen on (only this machine unless told otherwise)."""
    port: int = 8080
    """The port to listen on (0: a free one, printed at start)."""
    workers: int = 2
    """gunicorn worker processes (always 1 for the ``memory:`` store)."""
    secure_cookies: bool = False
    """Mark the session cookie ``Secure`` on every answer (``--secure-cookies``;
    it is marked so anyway on a request that came over https)."""
    session_minutes: int = 480
    """Minutes a sign-in lasts (then the clerk signs in again)."""
    as_of: YearMonth | None = None
    """The collection month for the rules (``None``: the clock's month)."""
    bureau_password: str | None = attrs.field(default=None, repr=False)
    """The employer's bureau password for an http(s) bureau
    (``$PENSION_COLLECT_BUREAU_PASSWORD`` at start); never shown."""
    max_body: int = 32 * 1024 * 1024
    """The largest request body in bytes (a form or an uploaded workbook)."""
    trusted_proxies: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """Reverse proxies (addresses or networks) whose ``X-Forwarded-For`` gives
    the client's address (``--trusted-proxy``, :mod:`pension_collect_web.proxies`);
    none by default: no header is read."""

    @property
    def serving_workers(self) -> int:
        """The worker processes to run: one for ``memory:`` (its data lives in
        the process), else :attr:`workers`."""
        return 1 if self.store_url.lower().startswith("memory:") else max(1, self.workers)
