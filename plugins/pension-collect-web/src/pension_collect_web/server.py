"""The web front end under gunicorn: :class:`WebServer`.

Every worker process builds its own application (:func:`~pension_collect_web.app.create_app`:
its own store connection and bureau transport); the ``memory:`` store runs in
one worker. The access log is the bureau server's
(:class:`pension_collect.server.runner.SafeLogger`): ``ADDRESS "METHOD PATH"
STATUS BYTES MSms``, the path without its query string, never a header (so
never a cookie) and never a body. The arbiter stops cleanly on SIGTERM.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from pension_collect.server.runner import ACCESS_LOG_FORMAT, url_of

from .app import create_app
from .config import WebConfig

__all__ = ["WebServer"]


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
