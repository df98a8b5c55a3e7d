"""The client's address behind a reverse proxy (``pension-collect web
--trusted-proxy``, docs/web.md "Security model"): the rule and the WSGI
middleware of :mod:`pension_collect.server.proxies`, with a bad
``--trusted-proxy`` refused as the web front end's error ``web.bad-proxy``."""

from __future__ import annotations

from collections.abc import Iterable

from pension_collect.server.proxies import (
    PEER_KEY,
    BadProxy,
    ClientAddress,
    Network,
    client_address,
)
from pension_collect.server.proxies import trusted_networks as _networks

from .errors import WebError

__all__ = ["PEER_KEY", "ClientAddress", "Network", "client_address", "trusted_networks"]


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values as networks; a value that is neither an
    address nor a network is refused (:class:`~pension_collect_web.errors.WebError`
    ``web.bad-proxy``, naming it)."""
    try:
        return _networks(values)
    except BadProxy as exc:
        raise WebError("web.bad-proxy", exc.message, exc.message_zh) from None
