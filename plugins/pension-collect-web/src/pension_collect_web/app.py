"""The WSGI application of the web front end: :func:`create_app`.

One application per process (a gunicorn worker builds its own): it opens the
store, the bureau transport and the clerk accounts once (a
:class:`~pension_collect_web.context.WebState`), registers the pages'
Blueprints, and answers every page with the security headers of docs/web.md
("Security model"): a Content-Security-Policy without inline script or style,
``X-Frame-Options: DENY``, ``nosniff``, ``Referrer-Policy: no-referrer`` and
``Cache-Control: no-store``. Errors are bilingual pages, never a traceback;
the log names an unexpected error's type and the page, never data.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Flask, Response, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response as BaseResponse

from pension_collect.errors import PensionCollectError
from pension_collect.plugins import PluginHost

from .config import WebConfig
from .context import WebState, worker_ref
from .i18n import LANGS, lang, tr
from .proxies import ClientAddress, trusted_networks
from .views import audit, auth, dashboard, declarations, editor, workers

__all__ = ["CSP", "SECURITY_HEADERS", "create_app"]

#: The Content-Security-Policy of every answer: only this server's own files,
#: no inline script or style, no frames, forms post only here.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: The security headers of every answer (besides ``Cache-Control``), also of
#: the answers gunicorn gives itself (:mod:`pension_collect_web.server`).
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_LOG = logging.getLogger("pension_collect_web")

#: The title of an error page by HTTP status, (Chinese, English), and what to do.
_ERRORS: dict[int, tuple[str, str, str, str]] = {
    400: (
        "请求无效",
        "Bad request",
        "请返回上一页,刷新后重试。",
        "Go back, reload the page and try again.",
    ),
    403: ("无权访问", "Forbidden", "该页面不属于本单位。", "This page is not your employer's."),
    404: (
        "页面不存在",
        "Page not found",
        "该页面不存在,或不属于本单位。",
        "There is no such page, or it is not your employer's.",
    ),
    405: (
        "不支持该操作",
        "Method not allowed",
        "请使用页面上的按钮和链接。",
        "Use the page's buttons and links.",
    ),
    409: (
        "无法完成该操作",
        "The step cannot be done",
        "请返回上一页。",
        "Go back to the page before.",
    ),
    413: (
        "提交的内容过大",
        "Too large",
        "请缩小文件后重试。",
        "Send a smaller file.",
    ),
    500: (
        "服务器内部错误",
        "Internal error",
        "请稍后重试;如仍出错,请联系管理员。",
        "Try again later; if it fails again, ask the administrator.",
    ),
}


def _url_or_none(endpoint: str) -> str | None:
    """The URL of ``endpoint``, ``None`` when no page has it (yet)."""
    from flask import url_for

    try:
        return url_for(endpoint)
    except BuildError:
        return None


def csrf_field() -> Markup:
    """The hidden CSRF field every POST form carries (``{{ csrf_field() }}``)."""
    token = auth.csrf_token()
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)


def error_page(status: int, detail: tuple[str, str] | None = None) -> Response:
    """The bilingual error page of HTTP ``status``; ``detail`` (Chinese,
    English) replaces the standard advice."""
    title_zh, title_en, advice_zh, advice_en = _ERRORS.get(status, _ERRORS[500])
    if detail is not None:
        advice_zh, advice_en = detail
    body = render_template(
        "error.html",
        status=status,
        title=tr(title_zh, title_en),
        advice=tr(advice_zh, advice_en),
    )
    return Response(body, status=status, mimetype="text/html")


class _FlashCookie(SecureCookieSessionInterface):
    """Flask's signed cookie (flashed messages, the worker list's search), made
    ``Secure`` over https as the session cookie is, not only when told."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)


def create_app(config: WebConfig, *, host: PluginHost | None = None) -> Flask:
    """The web front end over ``config``'s store and bureau (``host``: the
    plugin host, default every installed plugin)."""
    trusted = trusted_networks(config.trusted_proxies)  # refused before anything opens
    app = Flask("pension_collect_web")
    if trusted:
        app.wsgi_app = ClientAddress(app.wsgi_app, trusted)  # type: ignore[method-assign]
    app.session_interface = _FlashCookie()
    held = WebState(config, host=host)
    app.extensions["pension_collect_web"] = held
    app.config.update(
        MAX_CONTENT_LENGTH=config.max_body,
        MAX_FORM_MEMORY_SIZE=config.max_body,
        # Flask's signed cookie carries the flashed messages and the worker
        # list's search; the sign-in is the server-side session of views/auth.py.
        SECRET_KEY=hmac.new(held.secret, b"flask-flash", hashlib.sha256).hexdigest(),
        SESSION_COOKIE_NAME="pension_collect_flash",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(
        tr=tr,
        lang=lang,
        LANGS=LANGS,
        csrf_field=csrf_field,
        clerk=lambda: g.get("clerk"),
        worker_ref=worker_ref,
        url_or_none=_url_or_none,
    )
    for module in (auth, dashboard, workers, editor, declarations, audit):
        app.register_blueprint(module.bp)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        if request.endpoint != "static" or response.status_code >= 400:
            # (an error page under /static/ names the signed-in clerk too)
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> BaseResponse:
        if exc.code is None or exc.code < 400:
            return exc.get_response()
        detail = getattr(exc, "bilingual", None)
        response = error_page(exc.code, detail)
        if exc.code == 405:
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(PensionCollectError)
    def refused(exc: PensionCollectError) -> Response:
        # A library error no page caught: its code and sentences carry no
        # personal data (docs/privacy.md), so the clerk sees them.
        _LOG.info("refused %s on %s", exc.code, request.endpoint or "-")
        message = str(getattr(exc, "message", None) or exc)
        message_zh = str(getattr(exc, "message_zh", None) or message)
        return error_page(409, (f"{exc.code}: {message_zh}", f"{exc.code}: {message}"))

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> Response:
        _LOG.error("internal error %s on %s", type(exc).__name__, request.endpoint or "-")
        return error_page(InternalServerError.code)

    return app
