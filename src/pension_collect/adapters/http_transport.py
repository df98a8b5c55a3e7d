"""Transports ``http://`` and ``https://``: the bureau protocol over HTTP, on requests.

The protocol is docs/bureau-openapi.yaml (everything under ``/api/v1``). One
:class:`HttpTransport` is one employer's connection: it logs in with the unit
number and password its caller gives (never from a file of its own), keeps
the bearer token in memory, logs in again once when the token expires and
replays the call. Idempotent calls (sync pages, pending declarations, status)
and submissions (with the same ``Idempotency-Key``, so the bureau makes one
declaration) are retried with exponential backoff and jitter on connection
errors, timeouts, 502/503/504 and 429; a login is retried only when it never
reached the bureau. Every failure is a typed error of
:mod:`pension_collect.ports.transport`, in English and Chinese, free of
credentials, tokens and personal data (docs/bureau.md, "The HTTP transport").

requests is imported only when a transport is opened: it comes with the
``http`` extra (``pip install "pension-collect[http]"``).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from .._privacy import scrub_ids
from .._version import __version__
from ..hookspecs import hookimpl
from ..ports.transport import (
    AccountLocked,
    AuthenticationError,
    BadResponse,
    BureauError,
    DeclarationKind,
    DeclarationStatus,
    IdempotencyKeyReused,
    InvalidCredentials,
    LoginThrottled,
    PasswordChangeRequired,
    ServerError,
    SyncResult,
    TransportError,
    TransportRegistry,
    TransportTimeout,
    UnknownDeclaration,
    Unreachable,
    WeakPassword,
    WrongEmployer,
)
from ..text import printable

if TYPE_CHECKING:
    import requests

__all__ = ["DEFAULT_TIMEOUT", "HttpTransport", "Password"]

#: (connect, read) timeout in seconds when the caller gives none.
DEFAULT_TIMEOUT = (5.0, 60.0)
#: A password: the text, or a function of no arguments returning it (read at
#: each login, e.g. from the caller's secret store).
Password = str | Callable[[], str]

_API = "/api/v1"
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_UNKNOWN_DECLARATION = (
    "the bureau holds no declaration with this number for this employer; "
    "check the declaration number",
    "社保系统中没有本单位的该申报编号,请核对申报编号",
)
_TOKEN_PROBLEMS = frozenset({"auth.token-expired", "auth.invalid-token", "auth.missing-token"})
_PAGE_SIZE_MAX = 1000
#: An Idempotency-Key the protocol takes (docs/bureau-openapi.yaml).
_KEY = re.compile(r"[\x21-\x7e]{1,128}")


def _requests() -> Any:
    try:
        import requests
    except ImportError:
        raise TransportError(
            "the http:// and https:// bureau transport needs requests: "
            'pip install "pension-collect[http]" '
            "(HTTP 传输需要 requests,请安装 pension-collect[http])"
        ) from None
    return requests


def _base_url(url: str) -> str:
    """The bureau's base URL without a trailing slash; refuses what is no bureau URL."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    shown = f"{scheme}://{parts.hostname or ''}"
    if scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(
            f"not an HTTP bureau URL: {shown!r}; write http://HOST:PORT or https://HOST "
            "(不是有效的 HTTP 经办机构地址)"
        )
    if parts.username is not None or parts.password is not None:
        raise TransportError(
            "a bureau URL must not hold credentials; give unit_no= and password= "
            "as options (经办机构地址中不得包含用户名或密码,请以参数传入)"
        )
    if parts.query or parts.fragment:
        raise TransportError(
            f"a bureau URL has no query or fragment: {shown!r} (经办机构地址不得包含查询或片段)"
        )
    try:
        port = parts.port
    except ValueError:
        raise TransportError(
            f"the port of the bureau URL {shown!r} is not a number 1..65535 (端口号无效)"
        ) from None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def _timeouts(value: Any) -> tuple[float, float]:
    if isinstance(value, bool):
        value = None
    if isinstance(value, int | float):
        pair = (float(value), float(value))
    elif isinstance(value, tuple | list) and len(value) == 2:
        pair = (float(value[0]), float(value[1]))
    else:
        raise TransportError(
            "timeout= is seconds, or a (connect, read) pair of seconds (超时设置无效)"
        )
    if not all(0 < t < 86400 for t in pair):
        raise TransportError("timeouts are more than 0 and less than a day (超时设置无效)")
    return pair


def _retry_after(value: str | None) -> float | None:
    """Seconds of a Retry-After header (seconds or an HTTP date), ``None`` if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class _Answer:
    """An HTTP answer reduced to what the transport needs."""

    __slots__ = ("body", "headers", "retried", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.retried = 0
        """How many times the request was sent again before this answer."""

    @property
    def error(self) -> dict[str, Any]:
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return err if isinstance(err, dict) else {}

    @property
    def code(self) -> str:
        code = self.error.get("code")
        return code if isinstance(code, str) else ""

    def retry_after(self) -> float | None:
        after = _retry_after(self.headers.get("Retry-After"))
        if after is None:
            value = self.error.get("retry_after")
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                after = float(value)
        return after


class _NotSent(Exception):
    """The request never reached the bureau (no connection was made)."""


class HttpTransport:
    """The bureau protocol over HTTP(S) for one employer (``unit_no``).

    Options (``host.open_transport(url, **options)``):

    - ``unit_no``, ``password`` (required): the employer's login. ``password``
      is the text or a function of no arguments returning it, called at each
      login; neither is stored anywhere but in this object's memory.
    - ``timeout``: seconds, or ``(connect, read)``; default :data:`DEFAULT_TIMEOUT`.
    - ``verify``: ``True`` (the system's certificate authorities, the
      default) or the path of a CA bundle; verification cannot be switched off.
    - ``retries``: retries of a call that may be retried (default 4);
      ``backoff``: the first wait in seconds, doubled each time, with full
      jitter (default 0.5); ``max_wait``: the longest wait, also the longest
      ``Retry-After`` honoured (default 30).
    - ``page_size``: persons per sync page and declarations per page of the
      pending list (default 500, at most 1000).
    - ``pool_size``: connections kept per host (default 10).
    - ``proxies``: requests' proxy mapping; proxies and credentials from the
      environment (``HTTP_PROXY``, ``.netrc``) are never used.
    - ``sleep``: the function waits go through (tests).
    """

    def __init__(
        self,
        url: str,
        *,
        unit_no: str,
        password: Password,
        timeout: Any = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        page_size: int = 500,
        pool_size: int = 10,
        proxies: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = _base_url(url)
        if not isinstance(unit_no, str) or not unit_no.strip(".") or "/" in unit_no:
            raise TransportError("unit_no= is the employer's unit number (缺少单位编号)")
        if not (isinstance(password, str) and password) and not callable(password):
            raise TransportError(
                "password= is the employer's password, or a function returning it (缺少密码)"
            )
        if verify is False or not (verify is True or (isinstance(verify, str) and verify)):
            raise TransportError(
                "verify= is True or the path of a CA bundle: TLS verification cannot be "
                "switched off (verify 只能为 True 或 CA 证书文件路径,不能关闭证书校验)"
            )
        if isinstance(verify, str) and not os.path.exists(verify):
            # requests would raise a bare OSError at the first call
            raise TransportError(
                f"verify= names no CA bundle: {printable(verify[:200])!r} does not exist; "
                "give the path of the bureau's CA bundle (a PEM file, or a folder of them) "
                "(verify 指定的 CA 证书文件不存在)"
            )
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
            raise TransportError("retries= is a whole number 0..20 (重试次数无效)")
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            page_size = 0
        if not 1 <= page_size <= _PAGE_SIZE_MAX:
            raise TransportError(f"page_size= is 1..{_PAGE_SIZE_MAX} (每页人数无效)")
        self.unit_no = unit_no
        self.timeout = _timeouts(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.max_wait = float(max_wait)
        self.page_size = page_size
        self._password = password
        self._sleep = sleep
        self._token: str | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._must_change = False
        rq = _requests()
        session = rq.Session()
        session.trust_env = False  # no .netrc credentials, no proxies from the environment
        session.verify = verify
        session.proxies = dict(proxies or {})
        session.headers.update(
            {"User-Agent": f"pension-collect/{__version__}", "Accept": "application/json"}
        )
        adapter = rq.adapters.HTTPAdapter(
            pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session: requests.Session = session

    @classmethod
    def open(cls, url: str, **options: Any) -> HttpTransport:
        """Factory of the ``http`` and ``https`` schemes (options: see the class)."""
        known = {
            "unit_no",
            "password",
            "timeout",
            "verify",
            "retries",
            "backoff",
            "max_wait",
            "page_size",
            "pool_size",
            "proxies",
            "sleep",
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise TransportError(
                f"unknown options of an HTTP bureau transport: {unknown}; known: "
                f"{sorted(known)} (未知的传输参数)"
            )
        for required in ("unit_no", "password"):
            if required not in options:
                raise TransportError(
                    f"an HTTP bureau transport needs {required}= (the employer's login) "
                    "(HTTP 传输需要单位编号和密码)"
                )
        return cls(url, **options)

    def __repr__(self) -> str:
        return f"HttpTransport(url={self.url!r})"

    # -- the protocol ---------------------------------------------------------

    def sync(self, unit_no: str) -> SyncResult:
        """数据同步, following the pages into one :class:`SyncResult`."""
        path = self._employer_path(unit_no, "sync")
        persons: list[dict[str, Any]] = []
        first: dict[str, Any] | None = None
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params = {"page_size": str(self.page_size)}
            if cursor is not None:
                params["cursor"] = cursor
            page = self._json_object(self._call("GET", path, params=params).body)
            if first is None:
                first = page
            batch = page.get("persons")
            if not isinstance(batch, list) or not all(isinstance(p, dict) for p in batch):
                raise _bad("a sync page without its persons")
            persons.extend(batch)
            cursor = page.get("next_cursor")
            if cursor is None:
                break
            if not isinstance(cursor, str) or cursor in seen:
                raise _bad("a sync page whose next cursor is not new text")
            seen.add(cursor)
        employer = first.get("employer")
        at = first.get("at")
        if not isinstance(at, str) or not (employer is None or isinstance(employer, dict)):
            raise _bad("a sync page without its time or employer")
        return SyncResult(unit_no=unit_no, at=at, employer=employer, persons=tuple(persons))

    def pending_declarations(self, unit_no: str) -> list[DeclarationStatus]:
        """The pending declarations, following the pages (``page_size`` a page;
        a bureau that sends no ``next_cursor`` answers them all in one)."""
        path = self._employer_path(unit_no, "declarations")
        found: list[DeclarationStatus] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params = {"state": "pending", "page_size": str(self.page_size)}
            if cursor is not None:
                params["cursor"] = cursor
            body = self._json_object(self._call("GET", path, params=params).body)
            items = body.get("declarations")
            if not isinstance(items, list):
                raise _bad("a list of declarations without its declarations")
            found.extend(_status(item) for item in items)
            cursor = body.get("next_cursor")
            if cursor is None:
                return found
            if not isinstance(cursor, str) or cursor in seen:
                raise _bad("a page of declarations whose next cursor is not new text")
            seen.add(cursor)

    def submit(
        self,
        unit_no: str,
        kind: DeclarationKind,
        payload: dict[str, Any],
        *,
        idempotency_key: str,
        linked_to: str | None = None,
    ) -> DeclarationStatus:
        """Submit a declaration; retried with the same ``Idempotency-Key``, so the
        bureau makes one declaration however often it is sent."""
        path = self._employer_path(unit_no, "declarations")
        if _KEY.fullmatch(idempotency_key) is None:
            # the header cannot carry it (or the bureau would refuse it): said alike, unsent
            raise BureauError(
                "the bureau refuses the request (request.idempotency-key): an Idempotency-Key "
                "is 1 to 128 printable ASCII characters "
                "(Idempotency-Key 必须是 1 至 128 个可打印 ASCII 字符)"
            )
        body = {"kind": DeclarationKind(kind).value, "payload": payload, "linked_to": linked_to}
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answer = self._call("POST", path, data=data, headers={"Idempotency-Key": idempotency_key})
        return _status(answer.body)

    def status(self, declaration_id: str, *, unit_no: str | None = None) -> DeclarationStatus:
        """The declaration's state; the bureau answers only the employer logged in
        (another employer's declaration is :class:`UnknownDeclaration`)."""
        # ".", ".." and slashes would be read as path steps on the way (a server
        # decodes %2F before routing): no declaration number holds them
        if (
            not isinstance(declaration_id, str)
            or not declaration_id.strip(".")
            or "/" in declaration_id
            or "\\" in declaration_id
        ):
            raise UnknownDeclaration(f"{_UNKNOWN_DECLARATION[0]} ({_UNKNOWN_DECLARATION[1]})")
        path = self._employer_path(
            self.unit_no if unit_no is None else unit_no, "declarations", declaration_id
        )
        return _status(self._call("GET", path).body)

    def close(self) -> None:
        """Log out (the token is revoked at the bureau when it can be reached) and
        release the connections. Closing twice is harmless."""
        if self._closed:
            return
        try:
            self.logout()
        except TransportError:
            pass
        finally:
            self._closed = True
            self._session.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the account ----------------------------------------------------------

    def login(self) -> None:
        """Log in now (every call logs in by itself when it needs to). Raises
        :class:`PasswordChangeRequired` when the password is an initial one."""
        with self._lock:
            self._login_locked()
        self._must_not_change()

    def change_password(self, old: str, new: str) -> None:
        """Change the employer's password at the bureau (an initial password
        must be changed before any other call). Later logins of this transport
        use ``new``; every other token of the account is revoked by the bureau.
        Raises :class:`WeakPassword` when the bureau refuses ``new``,
        :class:`InvalidCredentials` when ``old`` is wrong."""
        if not isinstance(old, str) or not isinstance(new, str):
            raise TransportError("passwords are text (密码必须是文本)")
        with self._lock:
            if self._token is None:
                self._login_locked(password=old)
            token = self._token
        body = json.dumps({"old_password": old, "new_password": new}).encode("utf-8")
        answer = self._request("POST", f"{_API}/password", data=body, token=token)
        if answer.status == 401 and answer.code in _TOKEN_PROBLEMS:
            with self._lock:
                self._login_locked(password=old)
                token = self._token
            answer = self._request("POST", f"{_API}/password", data=body, token=token)
        if answer.status != 200:
            raise self._error(answer)
        with self._lock:
            self._take_token(answer)
            self._password = new

    def logout(self) -> None:
        """Revoke the token at the bureau (``DELETE /api/v1/session``); the next
        call logs in again."""
        with self._lock:
            token, self._token = self._token, None
            self._must_change = False
        if token is None:
            return
        answer = self._request("DELETE", f"{_API}/session", token=token, retries=0)
        if answer.status not in (204, 401):
            raise self._error(answer)

    # -- internals ------------------------------------------------------------

    def _employer_path(self, unit_no: str, *rest: str) -> str:
        if unit_no != self.unit_no:
            raise WrongEmployer(
                "this bureau connection is logged in as another employer; open one "
                "with that employer's unit number and password",
                "此连接以其他单位的身份登录,请用该单位的单位编号和密码另行连接",
            )
        parts = [urllib.parse.quote(p, safe="") for p in (unit_no, *rest)]
        return f"{_API}/employers/" + "/".join(parts)

    def _must_not_change(self) -> None:
        if self._must_change:
            raise PasswordChangeRequired(
                "the password is an initial password: change it with "
                "change_password(old, new) before any other call",
                "当前密码为初始密码,须先修改密码(change_password)才能办理其他业务",
            )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> _Answer:
        """One protocol call with a token: logs in when needed, logs in again once
        when the token has expired or was revoked, and maps every failure."""
        relogged = False
        while True:
            with self._lock:
                if self._closed:
                    raise TransportError("the bureau connection is closed (连接已关闭)")
                if self._token is None:
                    self._login_locked()
                token = self._token
            self._must_not_change()
            answer = self._request(
                method, path, params=params, data=data, headers=headers, token=token
            )
            if answer.status == 401 and answer.code in _TOKEN_PROBLEMS and not relogged:
                relogged = True
                with self._lock:
                    if self._token == token:
                        self._token = None
                continue
            if answer.status >= 400:
                raise self._error(answer)
            return answer

    def _login_locked(self, *, password: str | None = None) -> None:
        """POST /api/v1/session (the caller holds the lock). Retried only when the
        request never reached the bureau."""
        if password is None:
            password = self._password() if callable(self._password) else self._password
        if not isinstance(password, str):
            raise TransportError("the password function returned no text (密码函数未返回文本)")
        body = json.dumps({"unit_no": self.unit_no, "password": password}).encode("utf-8")
        answer = self._request("POST", f"{_API}/session", data=body, login=True)
        if answer.status != 200:
            raise self._error(answer)
        self._take_token(answer)

    def _take_token(self, answer: _Answer) -> None:
        body = self._json_object(answer.body)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise _bad("a login answer without a token")
        self._token = token
        self._must_change = body.get("must_change_password") is True

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        login: bool = False,
        retries: int | None = None,
    ) -> _Answer:
        """Send one request, retrying what may be retried (at most ``retries``
        times, default the transport's); the answer (any status) or a typed
        error when the bureau could not be reached."""
        limit = self.retries if retries is None else retries
        rq = _requests()
        all_headers = dict(headers or {})
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        url = self.url + path
        attempt = 0
        while True:
            wait: float | None = None
            try:
                try:
                    response = self._session.request(
                        method,
                        url,
                        params=params,
                        data=data,
                        headers=all_headers,
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
                except rq.exceptions.ConnectTimeout as exc:
                    raise _NotSent() from exc
                except rq.exceptions.ConnectionError as exc:
                    if _never_sent(exc):
                        raise _NotSent() from exc
                    raise
            except _NotSent as exc:
                cause = exc.__cause__
                if attempt >= limit:
                    raise self._unreached(cause, limit) from None
            except (
                rq.exceptions.Timeout,
                rq.exceptions.ConnectionError,
                rq.exceptions.ChunkedEncodingError,
            ) as exc:
                if login or attempt >= limit:
                    raise self._unreached(exc, attempt) from None
            except rq.exceptions.RequestException as exc:
                raise self._unreached(exc, attempt) from None
            else:
                answer = self._answer(response)
                answer.retried = attempt
                if login or answer.status not in _RETRY_STATUSES or attempt >= limit:
                    return answer
                wait = answer.retry_after()
                if wait is not None and wait > self.max_wait:
                    return answer
            self._sleep(self._backoff(attempt) if wait is None else wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_wait, self.backoff * 2**attempt))

    def _answer(self, response: Any) -> _Answer:
        try:
            content = response.content
        except Exception as exc:  # the body broke off: the connection is gone
            raise self._unreached(exc, None) from None
        finally:
            response.close()
        status = int(response.status_code)
        body: Any = None
        if content:
            kind = response.headers.get("Content-Type", "")
            if not kind.split(";")[0].strip().lower().endswith("json"):
                if status >= 500:
                    return _Answer(status, response.headers, None)
                media = scrub_ids(printable(kind.split(";")[0].strip()[:60]))
                raise _bad(f"an answer of type {media!r} (HTTP {status})")
            try:
                body = json.loads(content)
            except (ValueError, RecursionError):  # RecursionError: nested too deep
                raise _bad(f"an answer with status {status} that is not JSON") from None
        return _Answer(status, response.headers, body)

    def _unreached(self, exc: BaseException | None, retried: int | None) -> TransportError:
        rq = _requests()
        if isinstance(exc, rq.exceptions.SSLError):
            return Unreachable(
                f"the TLS certificate of the bureau at {self.url} cannot be verified; "
                "give its CA bundle with verify=PATH",
                "无法验证经办机构的 TLS 证书,请以 verify=证书文件路径 指定 CA 证书",
            )
        if isinstance(exc, rq.exceptions.Timeout):
            return TransportTimeout(
                f"the bureau at {self.url} did not answer in time{_after(retried)}; "
                "a submission may have reached it: "
                "submitting again is safe",
                "经办机构未在规定时间内响应;申报可能已送达,重新提交不会重复申报",
            )
        return Unreachable(
            f"the bureau at {self.url} cannot be reached{_after(retried)}; "
            "check the network and the address, then try again",
            "无法连接经办机构,请检查网络和地址后重试",
        )

    def _error(self, answer: _Answer) -> Exception:
        """The typed error of an answer with an error status."""
        status, code = answer.status, answer.code
        if code == "auth.invalid-credentials":
            return InvalidCredentials(
                "the unit number or the password is wrong", "单位编号或密码错误"
            )
        if code == "auth.locked" or status == 423:
            after = answer.retry_after()
            when = "" if after is None else f" for {after:g} seconds"
            when_zh = "" if after is None else f",{after:g} 秒后再试"
            return AccountLocked(
                f"the account is locked after repeated failed logins{when}",
                f"多次登录失败,账户已锁定{when_zh}",
                retry_after=after,
            )
        if code == "auth.too-many-attempts":
            after = answer.retry_after()
            return LoginThrottled(
                "too many login attempts from this address; wait and try again",
                "本地址登录尝试过多,请稍后再试",
                retry_after=after,
            )
        if code == "auth.password-change-required":
            with self._lock:
                self._must_change = True
            return PasswordChangeRequired(
                "the password is an initial password: change it with "
                "change_password(old, new) before any other call",
                "当前密码为初始密码,须先修改密码(change_password)才能办理其他业务",
            )
        if code == "auth.weak-password":
            return WeakPassword(
                "the bureau refuses the new password (too common, too short, the unit "
                "number or the old password); the password is unchanged",
                "新密码过于简单(常见密码、过短、与单位编号或原密码相同),密码未修改",
            )
        if code == "auth.other-employer":
            return WrongEmployer(
                "the bureau answers only the employer logged in",
                "经办机构只受理已登录单位的业务",
            )
        if code.startswith("auth.") or status == 401:
            return AuthenticationError(
                f"the bureau refuses the login ({printable(code[:60]) or status})",
                "经办机构拒绝登录",
            )
        if code == "bureau.unknown-declaration":
            return UnknownDeclaration(f"{_UNKNOWN_DECLARATION[0]} ({_UNKNOWN_DECLARATION[1]})")
        if code == "request.idempotency-key-reused":
            return IdempotencyKeyReused(
                "the bureau refuses the request (request.idempotency-key-reused): this "
                "Idempotency-Key was used before for a different declaration; use a new key "
                "for a new declaration (该幂等键已用于另一份不同的申报,新的申报请使用新的幂等键)"
            )
        if status >= 500:
            return ServerError(
                f"the bureau at {self.url} failed to answer (HTTP {status})"
                f"{_after(answer.retried)}; try again later",
                f"经办机构服务器错误(HTTP {status}),请稍后重试",
                status=status,
            )
        if status == 429:
            return ServerError(
                f"the bureau at {self.url} is busy (HTTP {status}); try again later",
                f"经办机构繁忙(HTTP {status}),请稍后重试",
                status=status,
            )
        if status in (404, 405) and not code.startswith("bureau."):
            return BadResponse(
                f"{self.url} does not answer the bureau protocol (HTTP {status}); "
                "check the bureau's address",
                "该地址不是经办机构接口,请核对地址",
            )
        err = answer.error
        message = err.get("message") if isinstance(err.get("message"), str) else ""
        message_zh = err.get("message_zh") if isinstance(err.get("message_zh"), str) else ""
        # The bureau's own words, with any identity number in them masked.
        shown = scrub_ids(printable(str(message)[:300])) or f"HTTP {status}"
        shown_zh = scrub_ids(printable(str(message_zh)[:300])) or "经办机构拒绝该请求"
        return BureauError(
            f"the bureau refuses the request ({printable(code[:60]) or status}): "
            f"{shown} ({shown_zh})"
        )

    @staticmethod
    def _json_object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad("an answer that is not a JSON object")
        return body


def _never_sent(exc: BaseException) -> bool:
    """Whether a requests ConnectionError happened before the request was sent
    (no connection could be made)."""
    import urllib3.exceptions as u3

    reason: Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(
        reason, u3.NewConnectionError | u3.ConnectTimeoutError | u3.NameResolutionError
    )


def _after(retried: int | None) -> str:
    """The words " (after N retries)" when the request was sent again."""
    return f" (after {retried} retries)" if retried else ""


def _bad(what: str) -> BadResponse:
    return BadResponse(
        f"the bureau sent {what}; it does not follow the bureau protocol",
        "经办机构的应答不符合接口规范",
    )


def _status(body: Any) -> DeclarationStatus:
    if not isinstance(body, dict):
        raise _bad("a declaration that is not a JSON object")
    try:
        return DeclarationStatus.from_dict(body)
    except (KeyError, TypeError, ValueError):
        raise _bad("a declaration of the wrong shape") from None


@hookimpl
def pension_collect_register_transport(registry: TransportRegistry) -> None:
    """Built-in ``http:`` and ``https:`` transports."""
    registry.add("http", HttpTransport.open, default=True)
    registry.add("https", HttpTransport.open, default=True)
