"""The bureau server's WSGI application: the bureau protocol over HTTP
(docs/bureau-openapi.yaml, docs/bureau-server.md).

:func:`create_app` builds a Flask application over a reference bureau whose
state is in ``config.data_dir`` (``ReferenceBureau.open``, with
``auto_advance``) and the accounts of :mod:`pension_collect.server.auth` in
the same file. Each process opens the bureau on its first request (a gunicorn
worker never shares its parent's connections).

Every answer is JSON; every error ``{"error": {"code", "message",
"message_zh"}}`` (404, 405, 413 and 500 too); a 500 says ``server.internal``
and nothing more (the log names the error's type and the route, never data).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .._version import __version__
from ..adapters.reference_bureau import IdentityNumberHeld, ReferenceBureau
from ..dossier import make_converter
from ..limits import DEFAULT_LIMITS
from ..model import BureauRecord
from ..ports.transport import (
    BureauError,
    DeclarationKind,
    IdempotencyKeyReused,
    UnknownDeclaration,
)
from .auth import AuthSettings, AuthStore, TokenInfo
from .errors import ApiError, error_body, json_bytes
from .proxies import ClientAddress, Network

__all__ = ["MAX_PAGE_SIZE", "PAGE_SIZE", "ServerConfig", "create_app"]

#: Persons of a sync page when ``page_size`` is not given, and the most a page holds.
PAGE_SIZE, MAX_PAGE_SIZE = 500, 1000
#: The most workers one declaration may hold (the dossier reader's limit).
_MAX_WORKERS = DEFAULT_LIMITS.workers

_LOG = logging.getLogger("pension_collect.server")
_CONV = make_converter()
_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_BEARER = re.compile(r"Bearer ([\x21-\x7e]{1,512})", re.IGNORECASE)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """How the server runs (the options of ``pension-collect bureau serve``)."""

    data_dir: Path = attrs.field(converter=Path)
    """The bureau's data folder (``DIR/bureau.db``)."""
    auth: AuthSettings = attrs.field(factory=AuthSettings)
    processing_delay: float = 0.0
    """Seconds from submission until a declaration may conclude."""
    max_body: int = 64 * 1024 * 1024
    """The largest request body, in bytes (``--max-body``; 413 beyond)."""
    sandbox: bool = False
    """Serve the window services under ``/api/v1/sandbox/`` (``--sandbox``)."""
    window_token: str | None = attrs.field(default=None, repr=False)
    """The token the window services need (``X-Window-Token``)."""
    trusted_proxies: tuple[Network, ...] = ()
    """Reverse proxies whose ``X-Forwarded-For`` gives the client's address
    for the login limits (``--trusted-proxy``, :mod:`pension_collect.server.proxies`);
    none by default: no header is read."""


# -- JSON in and out ----------------------------------------------------------------------------


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), status=status, headers=headers, mimetype="application/json")


def _bad(code: str, message: str, message_zh: str) -> ApiError:
    return ApiError(400, code, message, message_zh)


def _invalid(field: str, what: str, what_zh: str) -> ApiError:
    return _bad(
        "request.invalid",
        f"the field {field!r} of the body {what}",
        f"请求体字段 {field} {what_zh}",
    )


def _body() -> dict[str, Any]:
    """The request's JSON object (415 when not JSON, 400 when unreadable, 413 when too large)."""
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            "request.unsupported-media-type",
            "the body must be JSON, sent as 'Content-Type: application/json'",
            "请求体必须是 JSON,请使用 Content-Type: application/json",
        )
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    try:
        if request.content_length is None:
            # Chunked (no Content-Length): read one byte more than the limit, so a
            # body over it is refused rather than cut short.
            raw = request.environ["wsgi.input"].read(limit + 1)
        else:
            raw = request.get_data(cache=False)  # a Content-Length over the limit: 413
    except HTTPException:
        raise
    except Exception:  # the server's reader: a body cut short, a chunk size that is no number
        raise _bad(
            "request.bad-request",
            "the request body cannot be read (cut short or badly chunked)",
            "请求体无法读取(不完整或分块格式错误)",
        ) from None
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad(
            "request.malformed-json",
            "the body is not valid JSON in UTF-8",
            "请求体不是有效的 UTF-8 JSON",
        ) from None
    if not isinstance(data, dict):
        raise _bad("request.invalid", "the body must be a JSON object", "请求体必须是 JSON 对象")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _text(body: dict[str, Any], field: str, *, longest: int = 1000, optional: bool = False) -> Any:
    """A text field of the body (``None`` allowed when ``optional``)."""
    if field not in body:
        if optional:
            return None
        raise _invalid(field, "is missing", "缺失")
    value = body[field]
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > longest:
        raise _invalid(
            field,
            f"must be a text of 1 to {longest} characters",
            f"必须是 1 至 {longest} 个字符的文本",
        )
    return value


# -- the application ------------------------------------------------------------------------------


class _Bureau:
    """The process's bureau and account store, opened on first use."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._bureau: ReferenceBureau | None = None
        self._auth: AuthStore | None = None

    def bureau(self) -> ReferenceBureau:
        with self._lock:
            if self._bureau is None:
                self._bureau = ReferenceBureau.open(
                    self._config.data_dir,
                    processing_delay=_dt.timedelta(seconds=self._config.processing_delay),
                    auto_advance=True,
                )
            return self._bureau

    def auth(self) -> AuthStore:
        with self._lock:
            if self._auth is None:
                self._auth = AuthStore(self._config.data_dir / "bureau.db", self._config.auth)
            return self._auth


def create_app(config: ServerConfig) -> Flask:
    """The WSGI application serving the bureau in ``config.data_dir``."""
    app = Flask("pension_collect.server")
    if config.trusted_proxies:
        app.wsgi_app = ClientAddress(app.wsgi_app, config.trusted_proxies)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = config.max_body
    app.config["MAX_FORM_MEMORY_SIZE"] = config.max_body
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False  # OPTIONS: 405, JSON like every refusal
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    held = _Bureau(config)
    _register_errors(app)

    def client() -> str:
        return request.remote_addr or "unknown"

    def who(*, allow_must_change: bool = False) -> TokenInfo:
        header = request.headers.get("Authorization")
        token = None
        if header:
            found = _BEARER.fullmatch(header.strip())
            if found is None:
                raise ApiError(
                    401,
                    "auth.invalid-token",
                    "the Authorization header is not 'Bearer <token>'",
                    "Authorization 请求头格式应为 Bearer <令牌>",
                )
            token = found.group(1)
        info = held.auth().authenticate(token)
        if info.must_change_password and not allow_must_change:
            raise ApiError(
                403,
                "auth.password-change-required",
                "the initial password must be changed first (POST /api/v1/password)",
                "必须先修改初始密码",
            )
        return info

    def employer(unit_no: str) -> TokenInfo:
        info = who()
        if not hmac.compare_digest(
            info.unit_no.encode("utf-8", "surrogatepass"), unit_no.encode("utf-8", "surrogatepass")
        ):
            raise ApiError(
                403,
                "auth.other-employer",
                "the token belongs to another employer; only its own unit number may be used",
                "令牌属于其他单位,只能访问本单位的数据",
            )
        return info

    # -- session -------------------------------------------------------------------------------

    @app.get("/api/v1/health")
    def health() -> Response:
        return _json({"status": "ok", "version": __version__})

    @app.post("/api/v1/session")
    def login() -> Response:
        body = _body()
        unit_no = _text(body, "unit_no")
        password = _text(body, "password", longest=1024)
        grant = held.auth().login(unit_no, password, address=client())
        return _json(grant.to_dict())

    @app.delete("/api/v1/session")
    def logout() -> Response:
        held.auth().revoke(who(allow_must_change=True))
        return Response(status=204)

    @app.post("/api/v1/password")
    def change_password() -> Response:
        info = who(allow_must_change=True)
        body = _body()
        old = _text(body, "old_password", longest=1024)
        new = _text(body, "new_password", longest=2**20)  # too long: auth.weak-password
        grant = held.auth().change_password(info, old, new, address=client())
        return _json(grant.to_dict())

    # -- the protocol -------------------------------------------------------------------------

    @app.get("/api/v1/employers/<unit_no>/sync")
    def sync(unit_no: str) -> Response:
        employer(unit_no)
        page_size = _page_size(request.args.get("page_size"))
        after = _cursor(request.args.get("cursor"), _PERSON_CURSOR) or ""
        bureau = held.bureau()
        with bureau.state.transaction(write=False):
            known = bureau.state.employer(unit_no)
            # one more than the page: whether another page follows
            persons = bureau.state.persons_of(unit_no, after=after, limit=page_size + 1)
            page = persons[:page_size]
            more = len(persons) > page_size
            body = {
                "unit_no": unit_no,
                "at": bureau.clock().isoformat(),
                "employer": None if known is None else _CONV.unstructure(known),
                "persons": [_CONV.unstructure(bureau.shown(p), BureauRecord) for p in page],
                "next_cursor": _encode_cursor(page[-1].person_no) if more and page else None,
            }
        return _json(body)

    @app.get("/api/v1/employers/<unit_no>/declarations")
    def declarations(unit_no: str) -> Response:
        employer(unit_no)
        state = request.args.get("state")
        if state not in (None, "pending"):
            raise _bad(
                "request.state",
                "the only state filter is 'pending' (or none, for every declaration)",
                "state 参数只能是 pending(或不提供)",
            )
        page_size = _page_size(request.args.get("page_size"))
        after = _cursor(request.args.get("cursor"), _DECLARATION_CURSOR)
        bureau = held.bureau()
        # one more than the page: whether another page follows
        if state is None:
            found = bureau.declarations(unit_no, after=after, limit=page_size + 1)
        else:
            found = bureau.pending_declarations(unit_no, after=after, limit=page_size + 1)
        page = found[:page_size]
        more = len(found) > page_size
        return _json(
            {
                "declarations": [d.to_dict() for d in page],
                "next_cursor": _encode_cursor(page[-1].id, _DECLARATION_CURSOR) if more else None,
            }
        )

    @app.post("/api/v1/employers/<unit_no>/declarations")
    def submit(unit_no: str) -> Response:
        employer(unit_no)
        key = request.headers.get("Idempotency-Key", "")
        if _KEY.fullmatch(key) is None:
            raise _bad(
                "request.idempotency-key",
                "the header Idempotency-Key is required: 1 to 128 printable ASCII characters, "
                "the same for every retry of one declaration",
                "必须提供 Idempotency-Key 请求头(1 至 128 个可打印 ASCII 字符,重试时保持不变)",
            )
        body = _body()
        kind = body.get("kind")
        if kind not in {k.value for k in DeclarationKind}:
            raise _invalid("kind", "must be 'employer' or 'workers'", "必须是 employer 或 workers")
        payload = body.get("payload")
        if not isinstance(payload, dict):
            raise _invalid("payload", "must be a JSON object", "必须是 JSON 对象")
        workers = payload.get("workers")
        if isinstance(workers, list) and len(workers) > _MAX_WORKERS:
            # each is processed and answered as an outcome: a small body of many
            # empty workers would make answers of gigabytes
            raise _invalid(
                "payload.workers",
                f"holds more than {_MAX_WORKERS:,} workers; split the declaration",
                f"超过 {_MAX_WORKERS} 名职工,请分批申报",
            )
        linked_to = _text(body, "linked_to", longest=128, optional=True)
        bureau = held.bureau()
        with bureau.state.transaction(write=False):
            before = bureau.state.declaration_by_key(unit_no, key)
        try:
            status = bureau.submit(
                unit_no,
                DeclarationKind(kind),
                payload,
                idempotency_key=key,
                linked_to=linked_to,
            )
        except UnknownDeclaration:
            raise _unknown_declaration() from None
        except IdempotencyKeyReused:
            raise ApiError(
                422,
                "request.idempotency-key-reused",
                "this Idempotency-Key was used before for a different declaration (another "
                "kind, payload or linked_to); use a new key for a new declaration, and the "
                "same key only to send the same declaration again",
                "该 Idempotency-Key 已用于另一份不同的申报(类型、内容或关联申报不同);"
                "新的申报请使用新的 Idempotency-Key,重发同一申报时才使用相同的 Key",
            ) from None
        return _json(status.to_dict(), 200 if before is not None else 201)

    @app.get("/api/v1/employers/<unit_no>/declarations/<declaration_id>")
    def status(unit_no: str, declaration_id: str) -> Response:
        employer(unit_no)
        try:
            found = held.bureau().status(declaration_id, unit_no=unit_no)
        except UnknownDeclaration:
            raise _unknown_declaration() from None
        return _json(found.to_dict())

    if config.sandbox and config.window_token:
        _sandbox(app, held, config.window_token)
    return app


def _sandbox(app: Flask, held: _Bureau, window_token: str) -> None:
    """The sandbox-only window services (``--sandbox``)."""
    expected = window_token.encode("utf-8")

    def window() -> ReferenceBureau:
        given = request.headers.get("X-Window-Token", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            raise ApiError(
                401,
                "auth.invalid-window-token",
                "the window services need the server's window token (X-Window-Token)",
                "窗口业务需要服务器的窗口令牌(X-Window-Token)",
            )
        return held.bureau()

    def person(bureau: ReferenceBureau, person_no: str, change: Callable[[], None]) -> Response:
        with bureau.state.transaction(write=False):
            known = bureau.state.person(person_no) is not None
        if not known:
            raise ApiError(
                404,
                "bureau.unknown-person",
                "the bureau holds no insured person with this person number",
                "社保系统中没有该个人编号的参保人员",
            )
        change()
        with bureau.state.transaction(write=False):
            held_person = bureau.state.person(person_no)
        assert held_person is not None
        return _json(
            {
                "person_no": held_person.person_no,
                "unit_no": held_person.unit_no,
                "account_settled": held_person.account_settled,
            }
        )

    @app.post("/api/v1/sandbox/tick")
    def tick() -> Response:
        return _json({"changed": window().tick()})

    @app.post("/api/v1/sandbox/persons/<person_no>/transfer")
    def transfer(person_no: str) -> Response:
        bureau = window()
        body = _body()
        if "unit_no" not in body:
            raise _invalid("unit_no", "is missing", "缺失")
        unit_no = _text(body, "unit_no", optional=True)
        return person(bureau, person_no, lambda: bureau.transfer_person(person_no, unit_no))

    @app.post("/api/v1/sandbox/persons/<person_no>/settle")
    def settle(person_no: str) -> Response:
        bureau = window()
        return person(bureau, person_no, lambda: bureau.settle_account(person_no))

    @app.post("/api/v1/sandbox/persons/<person_no>/unsettle")
    def unsettle(person_no: str) -> Response:
        bureau = window()
        return person(bureau, person_no, lambda: bureau.unsettle_account(person_no))

    @app.post("/api/v1/sandbox/persons/<person_no>/correct-identity")
    def correct_identity(person_no: str) -> Response:
        bureau = window()
        body = _body()
        id_number = _text(body, "id_number", optional=True)
        name = _text(body, "name", longest=100, optional=True)

        def correct() -> None:
            try:
                bureau.correct_identity(person_no, id_number=id_number, name=name)
            except IdentityNumberHeld:
                raise ApiError(
                    409,
                    "bureau.id-held-by-other",
                    "another insured person holds this identity number; nothing was changed",
                    "该公民身份号码已被其他参保人员使用,未作更改",
                ) from None

        return person(bureau, person_no, correct)


# -- paging ---------------------------------------------------------------------------------


def _page_size(text: str | None) -> int:
    if text is None:
        return PAGE_SIZE
    if text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_PAGE_SIZE:
        return int(text)
    raise _bad(
        "request.page-size",
        f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}",
        f"page_size 必须是 1 至 {MAX_PAGE_SIZE} 的整数",
    )


#: What a cursor continues after: a person number (sync) or a declaration number.
_PERSON_CURSOR, _DECLARATION_CURSOR = b"p:", b"d:"


def _encode_cursor(after: str, kind: bytes = _PERSON_CURSOR) -> str:
    return base64.urlsafe_b64encode(kind + after.encode("utf-8")).decode("ascii")


def _cursor(text: str | None, kind: bytes) -> str | None:
    """The person number (``kind`` :data:`_PERSON_CURSOR`) or the declaration
    number (:data:`_DECLARATION_CURSOR`) a cursor continues after (``None``:
    from the start); a cursor of the other kind is refused."""
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        if not raw.startswith(kind):
            raise ValueError(text)
        return raw[len(kind) :].decode("utf-8")
    except (ValueError, UnicodeError, binascii.Error):
        raise _bad(
            "request.cursor",
            "the cursor is not one this server gave; start again without a cursor",
            "cursor 无效,请不带 cursor 从第一页重新开始",
        ) from None


def _unknown_declaration() -> ApiError:
    return ApiError(
        404,
        "bureau.unknown-declaration",
        "the bureau holds no declaration with this number for this employer; "
        "check the declaration number",
        "社保系统中没有本单位的该申报编号,请核对申报编号",
    )


# -- errors ---------------------------------------------------------------------------------

_HTTP_CODES: dict[int, tuple[str, str, str]] = {
    400: ("request.bad-request", "the request cannot be read", "请求无法解析"),
    404: ("request.not-found", "there is nothing at this path", "该路径不存在"),
    405: (
        "request.method-not-allowed",
        "this path does not take this method",
        "该路径不支持此请求方法",
    ),
    413: (
        "request.too-large",
        "the request body is larger than the server takes",
        "请求体超过服务器允许的大小",
    ),
    414: ("request.uri-too-long", "the request path is too long", "请求路径过长"),
    415: (
        "request.unsupported-media-type",
        "the body must be JSON, sent as 'Content-Type: application/json'",
        "请求体必须是 JSON",
    ),
    431: ("request.headers-too-large", "the request headers are too large", "请求头过大"),
}


def _route() -> str:
    """The route of the request, without any value from its path or query."""
    rule = request.url_rule
    return f"{request.method} {rule.rule if rule is not None else '(no route)'}"


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _json(exc.body(), exc.status, exc.headers())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status >= 500:
            _LOG.error("HTTP %d on %s", status, _route())
            return _internal()
        code, message, message_zh = _HTTP_CODES.get(
            status, ("request.refused", "the request is refused", "请求被拒绝")
        )
        headers = {}
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return _json(error_body(code, message, message_zh), status, headers)

    @app.errorhandler(BureauError)
    def bureau_error(exc: BureauError) -> Response:
        if exc.code == "bureau.data-file":
            _LOG.error("the bureau's data file failed on %s", _route())
            return _internal()
        return _json(
            error_body(
                "bureau.error",
                "the bureau refuses the request (it holds no such employer)",
                "经办机构拒绝该请求(没有该单位)",
            ),
            422,
        )

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> Response:
        # The type and the route only: an exception's message may quote data.
        _LOG.error("internal error (%s) on %s", type(exc).__name__, _route())
        return _internal()

    @app.after_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _internal() -> Response:
    return _json(
        error_body(
            "server.internal",
            "the server failed; try again later, and tell the bureau if it goes on",
            "服务器内部错误,请稍后重试;如持续出现请联系经办机构",
        ),
        500,
    )
