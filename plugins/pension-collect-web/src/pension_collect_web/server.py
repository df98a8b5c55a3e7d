"""The web front end under gunicorn: :class:`WebServer`.

Every worker process builds its own application (:func:`~pension_collect_web.app.create_app`:
its own store connection and bureau transport); the ``memory:`` store runs in
one worker. The access log is the bureau server's
(:class:`pension_collect.server.runner.SafeLogger`): ``ADDRESS "METHOD PATH"
STATUS BYTES MSms``, the path without its query string, never a header (so
never a cookie) and never a body. The arbiter stops cleanly on SIGTERM.

Requests gunicorn refuses itself, before the application sees them (a
request line it cannot read: 400; too long: 414; headers too many or too
large: 431), are answered by :class:`SecureErrorWorker` with a bilingual page
and the application's security headers
(:data:`~pension_collect_web.app.SECURITY_HEADERS`, ``Cache-Control:
no-store``), never gunicorn's page quoting the request.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from gunicorn import util as _gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.sync import SyncWorker

from pension_collect.server.runner import ACCESS_LOG_FORMAT, url_of

from .app import SECURITY_HEADERS, create_app
from .config import WebConfig

__all__ = ["SecureErrorWorker", "WebServer"]

#: The answers gunicorn gives itself: status -> (title zh, title en, advice zh, advice en).
_REFUSED: dict[int, tuple[str, str, str, str]] = {
    400: (
        "请求无效",
        "Bad request",
        "请求无法按 HTTP 解析。",
        "The request cannot be read as HTTP.",
    ),
    403: ("请求被拒绝", "Forbidden", "该请求被拒绝。", "The request is refused."),
    414: (
        "网址过长",
        "URI too long",
        "请求的网址过长,请返回上一页重试。",
        "The address asked for is too long; go back and try again.",
    ),
    417: (
        "无法满足请求",
        "Expectation failed",
        "无法满足 Expect 请求头。",
        "The Expect header cannot be met.",
    ),
    431: (
        "请求头过大",
        "Request headers too large",
        "请求头过多或过大;请清除本站的 Cookie 后重试。",
        "The request's headers are too many or too large; clear this site's cookies and try again.",
    ),
    501: (
        "不支持该请求",
        "Not implemented",
        "不支持该传输编码。",
        "The transfer coding is not supported.",
    ),
}
_FAILED = (
    "服务器内部错误",
    "Internal error",
    "请稍后重试;如仍出错,请联系管理员。",
    "Try again later; if it fails again, ask the administrator.",
)


def _refused_answer(status: int, reason: str) -> bytes:
    """The whole HTTP answer to a request gunicorn refused with ``status``:
    a bilingual page (gunicorn's message is dropped: it may quote the
    request line, a query string with an identity number) with the
    security headers of every page."""
    title_zh, title_en, advice_zh, advice_en = _REFUSED.get(status, _FAILED)
    body = (
        '<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title_zh} / {title_en}</title>\n"
        '<link rel="stylesheet" href="/static/style.css">\n</head>\n<body>\n<main>\n'
        f'<h1>{title_zh} <span lang="en">/ {title_en}</span></h1>\n'
        f'<p>{advice_zh}</p>\n<p lang="en">{advice_en}</p>\n'
        '<p><a href="/">返回首页 <span lang="en">/ Home</span></a></p>\n'
        "</main>\n</body>\n</html>\n"
    ).encode()
    reason = "".join(c for c in reason if 0x20 <= ord(c) < 0x7F) or "Error"
    head = [
        f"HTTP/1.1 {int(status)} {reason}",
        "Connection: close",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items()),
        "Cache-Control: no-store",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _write_refused(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering :func:`_refused_answer`."""
    _gunicorn_util.write_nonblock(sock, _refused_answer(status_int, reason))


class SecureErrorWorker(SyncWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's sync worker whose own error answers carry the security
    headers (see the module docstring). gunicorn has no setting for its
    error page: every worker class writes it through ``gunicorn.util.write_error``,
    which this worker replaces in its own process when it starts (as the
    bureau server's :class:`pension_collect.server.runner.JsonErrorWorker`)."""

    def init_process(self) -> None:
        _gunicorn_util.write_error = _write_refused
        super().init_process()


class WebServer(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    """The web front end served by gunicorn: ``WebServer(config, on_ready=...).run()``.

    ``on_ready(url)`` is called once the server listens; ``config.port`` 0
    takes a free port."""

    def __init__(
        self,
        config: WebConfig,
        *,
        on_ready: Callable[[str], None] | None = None,
        timeout: int = 120,
    ) -> None:
        self.config = config
        host, port = config.host, config.port
        self.options: dict[str, Any] = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": config.serving_workers,
            "worker_class": f"{__name__}.SecureErrorWorker",
            "logger_class": "pension_collect.server.runner.SafeLogger",
            "accesslog": "-",
            "errorlog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "loglevel": "info",
            "timeout": timeout,
            "graceful_timeout": 10,
            "keepalive": 2,
            "preload_app": False,
            "proc_name": "pension-collect-web",
            "control_socket_disable": True,
            "forwarded_allow_ips": "127.0.0.1,::1",
        }

        def when_ready(server: Any) -> None:
            if on_ready is not None:
                on_ready(url_of(server, tls=False))

        self.options["when_ready"] = when_ready
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        log = logging.getLogger("pension_collect_web")
        if not log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[%(process)d] [%(levelname)s] %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False
        return create_app(self.config)
