"""The bureau server under gunicorn (a pre-fork multi-worker WSGI server):
``pension-collect bureau serve`` (docs/bureau-server.md).

:class:`BureauServer` is a ``gunicorn.app.base.BaseApplication``: every worker
process builds its own application (:func:`~pension_collect.server.app.create_app`)
and opens the bureau's SQLite file itself. The arbiter stops cleanly on
SIGTERM (graceful) and SIGINT (quick).

Logs go to standard error: gunicorn's own lines and an access log of the form
``ADDRESS "METHOD PATH" STATUS BYTES MSms`` — the path without its query
string, anything shaped like an identity number in it masked, never a header
(so never a token or a password) and never a body. Requests gunicorn itself
refuses (a broken request line, too many headers) are answered with the same
JSON error body as the application's errors, never an HTML page.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from gunicorn import util as _gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.sync import SyncWorker

from .._privacy import scrub_ids
from ..text import printable
from .app import ServerConfig, create_app
from .errors import error_body, json_bytes

__all__ = ["ACCESS_LOG_FORMAT", "BureauServer", "JsonErrorWorker", "SafeLogger", "url_of"]

#: The access log's line: client address, method and path (no query), status,
#: bytes sent, milliseconds.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

_QUERY = re.compile(r"\?[^\s'\"]*")


def _clean(text: str) -> str:
    """A log text without query strings, identity numbers or unprintable characters."""
    return printable(scrub_ids(_QUERY.sub("?…", text)))


class SafeLogger(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger, keeping credentials and personal data out of the logs:
    the access log's atoms are only those of :data:`ACCESS_LOG_FORMAT` (the
    path cleaned), every error-log message is cleaned (no query string, no
    identity number) and carries no traceback; the access log goes to
    standard error (standard output is the server's one line with its URL)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.access_log.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "t": self.now(),
            "m": printable(str(environ.get("REQUEST_METHOD", "-"))),
            "U": _clean(str(environ.get("PATH_INFO", ""))),
            "s": status,
            "b": str(sent) if sent is not None else "-",
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
        }

    def _cleaned(self, msg: Any, args: tuple[Any, ...]) -> str:
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = str(msg)
        return _clean(text)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.critical(self._cleaned(msg, args))

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.error(self._cleaned(msg, args))

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.warning(self._cleaned(msg, args))

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.info(self._cleaned(msg, args))

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.debug(self._cleaned(msg, args))

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        kind = type(sys.exc_info()[1]).__name__
        self.error_log.error(f"{self._cleaned(msg, args)} ({kind})")


_GUNICORN_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("request.bad-request", "the request cannot be read as HTTP", "请求无法按 HTTP 解析"),
    403: ("request.forbidden", "the request is refused", "请求被拒绝"),
    414: ("request.uri-too-long", "the request path is too long", "请求路径过长"),
    417: (
        "request.expectation-failed",
        "the Expect header cannot be met",
        "无法满足 Expect 请求头",
    ),
    431: ("request.headers-too-large", "the request headers are too large", "请求头过大"),
    501: ("request.not-implemented", "the transfer coding is not supported", "不支持该传输编码"),
}


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` answering JSON (the message is dropped: it
    may quote the request)."""
    code, message, message_zh = _GUNICORN_ERRORS.get(
        status_int,
        ("server.internal", "the server failed; try again later", "服务器内部错误,请稍后重试"),
    )
    body = json_bytes(error_body(code, message, message_zh))
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    _gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorWorker(SyncWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's sync worker whose own error answers are JSON (see the module docstring)."""

    def init_process(self) -> None:
        _gunicorn_util.write_error = _write_json_error
        super().init_process()


def url_of(server: Any, *, tls: bool) -> str:
    """The URL the arbiter ``server`` listens on (the first listener)."""
    host, port = server.LISTENERS[0].sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


class BureauServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    """The bureau served by gunicorn: ``BureauServer(config, ...).run()``.

    ``on_ready(url)`` is called once the server listens (the CLI prints the
    URL); ``port`` 0 takes a free port."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        workers: int = 2,
        certfile: str | None = None,
        keyfile: str | None = None,
        timeout: int = 120,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.options: dict[str, Any] = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": workers,
            "worker_class": f"{__name__}.JsonErrorWorker",
            "logger_class": f"{__name__}.SafeLogger",
            "accesslog": "-",
            "errorlog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "loglevel": "info",
            "timeout": timeout,
            "graceful_timeout": 10,
            "keepalive": 2,
            "preload_app": False,
            "proc_name": "pension-collect-bureau",
            "control_socket_disable": True,
            "forwarded_allow_ips": "127.0.0.1,::1",
        }
        if certfile is not None:
            self.options["certfile"] = certfile
            self.options["keyfile"] = keyfile
        tls = certfile is not None

        def when_ready(server: Any) -> None:
            if on_ready is not None:
                on_ready(url_of(server, tls=tls))

        self.options["when_ready"] = when_ready
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.config)
