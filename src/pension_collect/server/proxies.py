"""The client's address behind a reverse proxy (``--trusted-proxy`` of
``pension-collect bureau serve`` and of ``pension-collect web``;
docs/bureau-server.md, docs/web.md).

Failed logins and sign-ins are counted per client address. Behind a reverse
proxy every request comes from the proxy's address, so without this one
client's failures would lock every employer or clerk out.
Given the proxies the server may trust, :class:`ClientAddress` takes the
client's address from ``X-Forwarded-For`` the way nginx's ``real_ip``
module does with ``real_ip_recursive on``: only when the request comes from
a trusted proxy, and walking the header from its right end (what the
nearest proxy added) past every trusted address; the first address that is
not a trusted proxy is the client. What a client writes into the header
itself sits further left and is never reached unless every address right of
it is a trusted proxy. A header that is not a list of addresses leaves the
address where the walk stopped. Without trusted proxies (the default) no
header is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import PensionCollectError

__all__ = [
    "PEER_KEY",
    "BadProxy",
    "ClientAddress",
    "Network",
    "client_address",
    "trusted_networks",
]

#: One trusted proxy: an address or a network (``10.0.0.0/8``).
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Where the proxy's own address is kept in the WSGI environment.
PEER_KEY = "pension_collect.peer"


class BadProxy(PensionCollectError):
    """A ``--trusted-proxy`` that is neither an IP address nor a network
    (the message names it: an option's value, no personal data)."""

    code = "server.bad-proxy"

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(f"{message} ({message_zh})")
        self.message = message
        self.message_zh = message_zh


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values as networks; a value that is neither an
    address nor a network is refused (:class:`BadProxy`), naming it."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            shown = value if value.isprintable() and len(value) <= 64 else repr(value[:64])
            raise BadProxy(
                f"--trusted-proxy {shown}: not an IP address or network; give the reverse "
                "proxy's address as it connects to this server (127.0.0.1, 10.0.0.5, 10.0.0.0/8)",
                f"--trusted-proxy {shown} 不是 IP 地址或网段:请填写反向代理连接本服务时的地址"
                "(如 127.0.0.1、10.0.0.5、10.0.0.0/8)",
            ) from None
    return tuple(out)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: tuple[Network, ...]
) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in nets)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address of a request from ``peer`` carrying
    ``X-Forwarded-For: forwarded_for``, trusting the proxies ``trusted``
    (the module's rule); ``peer`` when it is not a trusted proxy."""
    current = _address(peer)
    if not trusted or current is None or not _trusted(current, trusted) or not forwarded_for:
        return peer
    client = peer
    for text in reversed(forwarded_for.split(",")):
        found = _address(text)
        if found is None:
            break  # not an address list: the client is the last address trusted to say so
        client = str(found)
        if not _trusted(found, trusted):
            break
    return client


class ClientAddress:
    """WSGI middleware: ``REMOTE_ADDR`` becomes the client's address
    (:func:`client_address`); the proxy's is kept under ``PEER_KEY``."""

    def __init__(self, app: Callable[..., Any], trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = str(environ.get("REMOTE_ADDR") or "")
        environ[PEER_KEY] = peer
        environ["REMOTE_ADDR"] = client_address(
            peer, environ.get("HTTP_X_FORWARDED_FOR"), self.trusted
        )
        return self.app(environ, start_response)
