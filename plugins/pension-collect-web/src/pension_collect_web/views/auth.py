"""Signing in and out, the sign-in check of every page, CSRF, the language
switch and the health check (docs/web.md "Security model").

- Every page but ``/login``, ``/health``, ``/lang/<code>`` and ``/static/*``
  needs a signed-in clerk; anyone else is sent to ``/login?next=PATH`` (a
  local path only: never another site).
- The session cookie holds a random token (the accounts file keeps its hash):
  HttpOnly, SameSite=Strict, Secure with ``--secure-cookies`` or over https;
  it ends at sign-out or after ``session_minutes``.
- Every POST carries the CSRF token of the session (``{{ csrf_field() }}``);
  the sign-in form the token of a cookie of its own. A POST without the right
  token is refused: 400 and a bilingual page.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import attrs
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from .. import __version__
from ..context import state
from ..errors import WebError
from ..i18n import LANG_COOKIE, LANGS, tr

__all__ = [
    "KEEP_TYPED",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "TypedValue",
    "bp",
    "csrf_token",
    "kept_page",
    "safe_next",
]

bp = Blueprint("auth", __name__)

#: The cookie of a sign-in (its random token).
SESSION_COOKIE = "pension_collect_session"
#: The cookie of the sign-in form's CSRF token (before there is a session).
LOGIN_COOKIE = "pension_collect_login"
#: The pages anyone may see.
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.health", "auth.lang", "static"})
#: Forms that keep what was typed when their POST is refused for its sign-in
#: or its CSRF token: endpoint -> ``handler(signed_in)``, the answer (it stores
#: nothing). views/editor.py registers the worker editor's, views/dashboard.py
#: the employer information's, views/declarations.py the window visit's.
KEEP_TYPED: dict[str, Callable[[bool], ResponseReturnValue]] = {}

_LOG = logging.getLogger("pension_collect_web")


class CsrfRefused(BadRequest):
    """A POST without the right CSRF token."""

    bilingual = (
        "表单已过期或来源不明(缺少安全令牌),未作任何更改。请刷新页面后重新提交。",
        "The form has expired or did not come from this site (its security token is "
        "missing or wrong); nothing was changed. Reload the page and submit it again.",
    )


def safe_next(value: str | None) -> str | None:
    """``value`` when it is a path on this site (``/workers?page=2``), else
    ``None``: never another site (``//evil``, ``https://...``, ``/\\evil``)."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def csrf_token() -> str:
    """The CSRF token of this request's forms: the session's, or before
    signing in the sign-in form's own (a cookie)."""
    session = g.get("web_session")
    if session is not None:
        token: str = session.csrf
        return token
    login: str | None = g.get("login_csrf")
    if login is None:
        login = request.cookies.get(LOGIN_COOKIE) or ""
        if len(login) != 43:
            login = secrets.token_urlsafe(32)
            g.new_login_csrf = login
        g.login_csrf = login
    return login


def _secure() -> bool:
    return bool(state().config.secure_cookies or request.is_secure)


@bp.before_app_request
def _guard() -> Response | None:
    accounts = state().accounts
    session = accounts.session(request.cookies.get(SESSION_COOKIE))
    g.web_session = session
    g.clerk = session.clerk if session is not None else None
    if session is None and request.endpoint not in OPEN_ENDPOINTS:
        if request.method in ("GET", "HEAD"):
            target = request.full_path.rstrip("?")
            return redirect(url_for("auth.login", next=safe_next(target)))
        if request.method == "POST" and request.endpoint in KEEP_TYPED:
            return _keep_typed(signed_in=False)
        return redirect(url_for("auth.login"), code=303)
    if request.method == "POST":
        expected = session.csrf if session is not None else request.cookies.get(LOGIN_COOKIE)
        given = request.form.get("csrf_token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            if request.endpoint in KEEP_TYPED:
                return _keep_typed(signed_in=session is not None)
            raise CsrfRefused()
    return None


def _keep_typed(*, signed_in: bool) -> Response:
    """A refused POST of a form that keeps what was typed: its own answer."""
    _LOG.info("stale form kept on %s", request.endpoint or "-")
    handler = KEEP_TYPED[request.endpoint or ""]
    return current_app.make_response(handler(signed_in))


@attrs.frozen
class TypedValue:
    """A value typed in a form refused for its sign-in or its token: the
    input's name, its label, the value, whether it is a text area."""

    name: str
    label: str
    value: str
    multiline: bool = False


def kept_page(
    action: str,
    values: Sequence[TypedValue],
    *,
    signed_in: bool,
    hidden: Sequence[tuple[str, str]] = (),
    reason: str | None = None,
) -> tuple[str, int]:
    """The page of a form's typed ``values`` when the form itself cannot be
    shown (docs/web.md, "A stale form"): nothing read from the store, each
    value in a labelled box, and a button that posts them (and ``hidden``) to
    ``action`` again without a CSRF token, so that, once signed in, the form
    comes back as typed. 401 when no one is signed in, 400 when the clerk
    signed in now is not of the form's employer (``signed_in``; ``reason``,
    in the page's language, says another why)."""
    return render_template(
        "form_kept.html",
        action=action,
        values=values,
        hidden=hidden,
        signed_in=signed_in,
        reason=reason,
    ), (400 if signed_in else 401)


@bp.after_app_request
def _login_cookie(response: Response) -> Response:
    token = g.get("new_login_csrf")
    if token is not None:
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=_secure(),
            path="/",
        )
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form; POST signs in (name, password) and goes to ``next``."""
    target = safe_next(request.values.get("next")) or "/"
    if g.get("clerk") is not None and request.method == "GET":
        return redirect(target)
    if request.method == "GET":
        return render_template("login.html", next=safe_next(request.args.get("next")))
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    st = state()
    try:
        # the address the server sees (the proxy's, behind one): failures are
        # counted and locked per (name, address) and per address
        token, session = st.accounts.sign_in(
            name,
            password,
            minutes=st.config.session_minutes,
            address=request.remote_addr or "",
        )
    except WebError as exc:
        _LOG.info("sign-in refused: %s", exc.code)
        message = tr(exc.message_zh, exc.message)
        page = render_template(
            "login.html", next=safe_next(request.form.get("next")), error=message, name=name
        )
        retry_after = getattr(exc, "retry_after", None)
        if exc.code in ("web.locked", "web.too-many-attempts") and retry_after is not None:
            return page, 429, {"Retry-After": str(retry_after)}
        return page, 401
    # Whatever a clerk before left in this browser's flash cookie (the worker
    # list's search: a name or an identity number) is not the new clerk's.
    flask_session.clear()
    response = redirect(target, code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=st.config.session_minutes * 60,
        httponly=True,
        samesite="Strict",
        secure=_secure(),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/", httponly=True, samesite="Strict")
    del session
    return response


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the session is revoked, its cookie removed."""
    session = g.get("web_session")
    if session is not None:
        state().accounts.sign_out(session)
    g.web_session = g.clerk = None
    flask_session.clear()  # the search (a name or an identity number) goes too
    flash(tr("已退出登录。", "You have signed out."), "info")
    response = redirect(url_for("auth.login"), code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=_secure()
    )
    return response


@bp.get("/health")
def health() -> Response:
    """``{"status": "ok", "version": ...}``: the server answers (no sign-in)."""
    return jsonify(status="ok", version=__version__)


@bp.get("/lang/<code>")
def lang(code: str) -> Response:
    """Switch the language (``zh`` or ``en``) and go back to ``next`` (a local path)."""
    response = redirect(safe_next(request.args.get("next")) or "/", code=303)
    if code in LANGS:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86400,
            httponly=True,
            samesite="Lax",
            secure=_secure(),
            path="/",
        )
    return response


@bp.get("/account")
def account() -> str:
    """The signed-in clerk's account: name, employer, when the sign-in ends."""
    return render_template("account.html", session=g.web_session)
