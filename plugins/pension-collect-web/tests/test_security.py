"""The web front end's security (docs/web.md "Security model"): no page
without signing in, CSRF on every POST, the lockout, weak passwords refused,
the cookies' flags, the headers, no open redirect, no personal data in the
logs, another employer's worker a 404, HTML shown escaped.

The tests marked ``ONE_STORE`` run on the memory store only: sign-in,
sessions, lockout, cookies, headers and error pages live in the accounts file
and the app, not in the collection's store (each docstring says so); the
worker references of two employers run on every store.

The URL map is walked as it is when the tests run, so every page added later
is held to the same rules."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from pension_collect_web.accounts import LOCK_AFTER, ClerkAccounts
from pension_collect_web.app import CSP
from pension_collect_web.context import WebState, collection, worker_key, worker_ref
from pension_collect_web.errors import WebError
from pension_collect_web.views.auth import (
    KEEP_TYPED,
    LOGIN_COOKIE,
    OPEN_ENDPOINTS,
    SESSION_COOKIE,
)
from web_fixtures import CLERK, ONE_STORE, PASSWORD, UNIT, WebClient, csrf_in
from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule

from pension_collect.dossier import example_dossier_text, loads
from pension_collect.workflow import CollectionSession

#: An identity number (valid check character) and a name, to look for in logs.
ID_NUMBER = "110101199003074514"
TEMPLATES = Path(__import__("pension_collect_web").__file__).parent / "templates"


@pytest.fixture
def store_url() -> str:
    """These tests are about the web layer: one store is enough."""
    return "memory:"


def _url(rule: Rule) -> str:
    """A URL of ``rule`` with a made-up value for each of its arguments."""
    values = dict.fromkeys(rule.arguments, "0" * 24)
    for name, converter in rule._converters.items():
        if type(converter).__name__ in ("IntegerConverter", "FloatConverter"):
            values[name] = "1"
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
    return url


def _rules(app: Flask, method: str) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if method in (r.methods or ())]


def _protected(app: Flask, method: str) -> list[tuple[str, str]]:
    return [(r.endpoint, _url(r)) for r in _rules(app, method) if r.endpoint not in OPEN_ENDPOINTS]


# -- signing in ------------------------------------------------------------------------------


@ONE_STORE
def test_no_page_without_sign_in(app: Flask, anon: WebClient) -> None:
    """One store (memory): sign-in required, decided before any store is read."""
    methods = {"GET", "POST", "PUT", "PATCH", "DELETE"}
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) & methods):
            answer = anon.open(_url(rule), method=method)
            if method == "POST" and rule.endpoint in KEEP_TYPED:
                # the editor keeps what was typed: a page of the posted values
                # only, saying to sign in again (test_editor.py)
                assert answer.status_code == 401, rule.endpoint
                assert "请在新标签页中重新登录" in answer.get_data(as_text=True)
                checked.append(rule.endpoint)
                continue
            assert answer.status_code in (302, 303), (rule.endpoint, method, answer.status_code)
            assert answer.headers["Location"].startswith("/login"), rule.endpoint
            assert CLERK not in answer.get_data(as_text=True)
            checked.append(rule.endpoint)
    assert "auth.account" in checked
    assert "auth.logout" in checked
    # a URL no page has: sent to sign in too (nothing tells which pages exist)
    assert anon.get("/no-such-page").headers["Location"].startswith("/login")


@ONE_STORE
def test_the_open_pages_answer_without_sign_in(anon: WebClient) -> None:
    """One store (memory): pages open without sign-in."""
    assert anon.get("/health").get_json()["status"] == "ok"
    login = anon.get("/login")
    assert login.status_code == 200
    assert 'name="password"' in login.get_data(as_text=True)
    assert anon.get("/static/style.css").status_code == 200
    assert anon.get("/lang/en?next=/login").status_code == 303


@ONE_STORE
def test_a_protected_page_sends_to_sign_in_and_back(anon: WebClient) -> None:
    """One store (memory): a redirect to sign-in."""
    answer = anon.get("/account")
    assert answer.headers["Location"] == "/login?next=/account"
    token = csrf_in(anon.get(answer.headers["Location"]).get_data(as_text=True))
    signed = anon.post(
        "/login",
        data={"name": CLERK, "password": PASSWORD, "csrf_token": token, "next": "/account"},
    )
    assert signed.status_code == 303
    assert signed.headers["Location"] == "/account"
    assert anon.get("/account").status_code == 200


@ONE_STORE
def test_sign_out_revokes_the_session(app: Flask, client: WebClient, anon: WebClient) -> None:
    """One store (memory): web sessions live in the accounts file, not the store."""
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    assert client.post_form("/logout").status_code == 303
    assert client.get("/account").status_code == 302
    anon.set_cookie(SESSION_COOKIE, cookie.value)  # the old token, replayed
    assert anon.get("/account").status_code == 302


@ONE_STORE
def test_a_wrong_password_says_so_in_both_languages(anon: WebClient) -> None:
    """One store (memory): accounts live in their own file."""
    answer = anon.sign_in(CLERK, "not the password")
    assert answer.status_code == 401
    html = answer.get_data(as_text=True)
    assert "用户名或密码错误" in html
    assert anon.get_cookie(SESSION_COOKIE) is None
    anon.set_cookie("lang", "en")
    answer = anon.sign_in("nobody", "not the password")
    assert answer.status_code == 401
    assert "the name or the password is wrong" in answer.get_data(as_text=True)


@ONE_STORE
def test_lockout_after_five_failures(app: Flask, anon: WebClient) -> None:
    """One store (memory): lockout lives in the accounts file."""
    for _ in range(LOCK_AFTER - 1):
        assert anon.sign_in(CLERK, "wrong password").status_code == 401
    locked = anon.sign_in(CLERK, "wrong password")
    assert locked.status_code == 429
    html = locked.get_data(as_text=True)
    assert "账户已对此地址锁定" in html
    assert "1 分钟后重试" in html
    # the right password does not open a locked account
    assert anon.sign_in(CLERK, PASSWORD).status_code == 429
    anon.set_cookie("lang", "en")
    assert "the account is locked for this address after 5 failed sign-ins" in anon.sign_in(
        CLERK, PASSWORD
    ).get_data(as_text=True)
    app.extensions["pension_collect_web"].accounts.unlock(CLERK)
    assert anon.sign_in(CLERK, PASSWORD).status_code == 303


def test_locks_double(tmp_path: Path) -> None:
    now = [1_000_000.0]
    accounts = ClerkAccounts(tmp_path / "a.db", clock=lambda: now[0])
    accounts.add(CLERK, UNIT, PASSWORD)

    def fail_five() -> WebError:
        for _ in range(LOCK_AFTER - 1):
            with pytest.raises(WebError, match="invalid-credentials"):
                accounts.sign_in(CLERK, "wrong", minutes=5, address="10.0.0.1")
        with pytest.raises(WebError) as info:
            accounts.sign_in(CLERK, "wrong", minutes=5, address="10.0.0.1")
        return info.value

    assert fail_five().retry_after == 60
    now[0] += 61
    assert fail_five().retry_after == 120
    now[0] += 60
    with pytest.raises(WebError, match=r"web\.locked"):
        accounts.sign_in(CLERK, PASSWORD, minutes=5, address="10.0.0.1")
    now[0] += 61
    token, session = accounts.sign_in(CLERK, PASSWORD, minutes=5, address="10.0.0.1")
    assert accounts.session(token) == session
    now[0] += 5 * 60
    assert accounts.session(token) is None  # expired
    accounts.close()


@ONE_STORE
def test_the_accounts_file_is_private_and_keeps_no_token(app: Flask, client: WebClient) -> None:
    """One store (memory): the accounts file, not the store."""
    path = app.extensions["pension_collect_web"].config.accounts_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert cookie.value.encode() not in data
    assert PASSWORD.encode() not in data


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("123456", "少于 10 个字符"),
        ("1234567890", "最常用的密码"),
        ("password123", "最常用的密码"),
        ("aaaaaaaaaaaa", "同一字符重复"),
        ("xx10012345xx", "包含单位编号"),
        ("my-clerk1-is-great", "包含用户名"),
        (ID_NUMBER, "身份号码"),
    ],
)
def test_weak_passwords_are_refused(tmp_path: Path, password: str, reason: str) -> None:
    accounts = ClerkAccounts(tmp_path / "a.db")
    with pytest.raises(WebError) as info:
        accounts.add("clerk1", UNIT, password)
    assert info.value.code == "web.weak-password"
    assert reason in info.value.message_zh
    assert password not in str(info.value)
    assert accounts.count() == 0
    accounts.close()


def test_a_name_taken_is_refused(tmp_path: Path) -> None:
    accounts = ClerkAccounts(tmp_path / "a.db")
    accounts.add(CLERK, UNIT, PASSWORD)
    with pytest.raises(WebError, match=r"web\.name-taken"):
        accounts.add(CLERK, "20000001", "Another-fine-passphrase")
    assert accounts.count() == 1
    accounts.close()


# -- CSRF ----------------------------------------------------------------------------------


def _csrf_refused(answer: Any) -> bool:
    html = answer.get_data(as_text=True)
    return answer.status_code == 400 and "安全令牌" in html and "未作任何更改" in html


@ONE_STORE
def test_csrf_is_refused_on_every_post(app: Flask, client: WebClient) -> None:
    """One store (memory): a POST refused before any store is written (the
    editor's answers with the form kept: test_editor.py)."""
    posts = _protected(app, "POST")
    assert ("auth.logout", "/logout") in posts
    for endpoint, url in posts:
        assert _csrf_refused(client.post(url, data={})), endpoint
        assert _csrf_refused(client.post(url, data={"csrf_token": "x" * 43})), endpoint
    # nothing happened: still signed in
    assert client.get("/account").status_code == 200
    client.set_cookie("lang", "en")
    english = client.post("/logout", data={}).get_data(as_text=True)
    assert "security token is missing or wrong); nothing was changed" in english


@ONE_STORE
def test_csrf_of_another_session_is_refused(
    app: Flask, client: WebClient, signed_in: Callable[..., WebClient]
) -> None:
    """One store (memory): a POST refused before any store is touched."""
    other = signed_in(app)
    assert other.csrf_token() != client.csrf_token()
    answer = client.post("/logout", data={"csrf_token": other.csrf_token()})
    assert _csrf_refused(answer)


@ONE_STORE
def test_the_sign_in_form_needs_its_csrf_token(anon: WebClient) -> None:
    """One store (memory): the sign-in form."""
    assert _csrf_refused(anon.post("/login", data={"name": CLERK, "password": PASSWORD}))
    anon.get("/login")
    answer = anon.post("/login", data={"name": CLERK, "password": PASSWORD, "csrf_token": "x"})
    assert _csrf_refused(answer)
    assert anon.get_cookie(SESSION_COOKIE) is None


# -- cookies and headers ---------------------------------------------------------------------


def _set_cookie(answer: Any, name: str) -> str:
    found = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(found) == 1, answer.headers.getlist("Set-Cookie")
    return found[0]


@ONE_STORE
def test_session_cookie_flags(app: Flask, anon: WebClient) -> None:
    """One store (memory): cookies."""
    login = anon.get("/login")
    assert "HttpOnly" in _set_cookie(login, LOGIN_COOKIE)
    header = _set_cookie(anon.sign_in(), SESSION_COOKIE)
    assert "HttpOnly" in header
    assert "SameSite=Strict" in header
    assert "Path=/" in header
    assert "Secure" not in header  # plain http on 127.0.0.1, no --secure-cookies


@ONE_STORE
def test_session_cookie_is_secure_when_told_or_over_https(
    make_app: Callable[..., Flask],
) -> None:
    """One store (memory): cookies."""
    told = make_app(secure_cookies=True).test_client()
    assert isinstance(told, WebClient)
    # a Secure cookie is not sent back over http: read the header only
    assert "Secure" in _set_cookie(told.sign_in(), SESSION_COOKIE)
    https = make_app().test_client()
    token = csrf_in(https.get("/login", base_url="https://localhost").get_data(as_text=True))
    answer = https.post(
        "/login",
        base_url="https://localhost",
        data={"name": CLERK, "password": PASSWORD, "csrf_token": token},
    )
    assert "Secure" in _set_cookie(answer, SESSION_COOKIE)


@ONE_STORE
def test_security_headers(client: WebClient, anon: WebClient) -> None:
    """One store (memory): response headers."""
    for answer in (client.get("/account"), anon.get("/login"), anon.get("/health")):
        assert answer.headers["Content-Security-Policy"] == CSP
        assert "unsafe-inline" not in CSP
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_any_template() -> None:
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I
    )
    templates = sorted(TEMPLATES.glob("*.html"))
    assert len(templates) >= 3
    found = {t.name: inline.findall(t.read_text("utf-8")) for t in templates}
    assert {name: hits for name, hits in found.items() if hits} == {}


def _raising(
    make_app: Callable[..., Flask], signed_in: Callable[..., WebClient], exc: Exception
) -> WebClient:
    """A client signed in to an app with a page ``/raise`` raising ``exc``."""
    app = make_app()

    def raising() -> str:
        raise exc

    app.add_url_rule("/raise", "raise", raising)
    return signed_in(app)


@ONE_STORE
def test_error_pages_are_bilingual_and_without_traceback(
    make_app: Callable[..., Flask], signed_in: Callable[..., WebClient], caplog: Any
) -> None:
    """One store (memory): error pages rendered."""
    client = _raising(make_app, signed_in, ValueError(f"{ID_NUMBER} 张三 broke"))
    with caplog.at_level(logging.DEBUG):
        answer = client.get("/raise")
    assert answer.status_code == 500
    html = answer.get_data(as_text=True)
    assert "服务器内部错误" in html
    assert ID_NUMBER not in html
    assert "Traceback" not in html
    assert "ValueError" in caplog.text
    assert ID_NUMBER not in caplog.text
    assert "张三" not in caplog.text
    client.set_cookie("lang", "en")
    missing = client.get("/account/nothing")
    assert missing.status_code == 404
    assert "Page not found" in missing.get_data(as_text=True)


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/\t/evil.example",
        "evil.example",
    ],
)
@ONE_STORE
def test_no_open_redirect(anon: WebClient, target: str) -> None:
    """One store (memory): a redirect target parsed."""
    token = csrf_in(anon.get("/login").get_data(as_text=True))
    answer = anon.post(
        "/login",
        data={"name": CLERK, "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/"
    switched = anon.get("/lang/en", query_string={"next": target})
    assert switched.headers["Location"] == "/"
    assert "evil" not in anon.get("/login", query_string={"next": target}).get_data(as_text=True)


@ONE_STORE
def test_the_language_switch_returns_to_the_page(anon: WebClient) -> None:
    """One store (memory): a redirect and a cookie."""
    answer = anon.get("/lang/en", query_string={"next": "/login?next=/account"})
    assert answer.headers["Location"] == "/login?next=/account"
    assert 'lang="en"' in anon.get("/login").get_data(as_text=True)
    anon.get("/lang/zh")
    assert 'lang="zh-CN"' in anon.get("/login").get_data(as_text=True)


# -- personal data -----------------------------------------------------------------------------


@ONE_STORE
def test_logs_carry_no_name_or_password(anon: WebClient, caplog: Any) -> None:
    """One store (memory): the sign-in log."""
    with caplog.at_level(logging.DEBUG):
        anon.sign_in(CLERK, "Secret-typed-wrong-1")
        anon.sign_in("some-other-name", PASSWORD)
        anon.sign_in(CLERK, PASSWORD)
    assert "web.invalid-credentials" in caplog.text
    for secret in ("Secret-typed-wrong-1", PASSWORD, "some-other-name", CLERK):
        assert secret not in caplog.text


@ONE_STORE
def test_html_in_a_clerk_name_is_shown_escaped(
    make_app: Callable[..., Flask], signed_in: Callable[..., WebClient]
) -> None:
    """One store (memory): a clerk name escaped on a page."""
    name = '<b id="x">clerk</b>'
    app = make_app(clerks=[(name, UNIT)])
    html = signed_in(app, name).get("/account").get_data(as_text=True)
    assert name not in html
    assert "&lt;b id=&#34;x&#34;&gt;clerk&lt;/b&gt;" in html


@pytest.fixture
def two_employers(
    make_app: Callable[..., Flask], library_session: Callable[..., Any]
) -> tuple[Flask, str]:
    """The app with a clerk of another employer; the example employer synced
    (its first worker's key)."""
    app = make_app(clerks=[("other-clerk", "20000001")])
    session = library_session(app)
    session.start()
    session.sync()
    return app, CollectionSession.key_of(loads(example_dossier_text()).workers[0])


def _as(app: Flask, name: str, unit: str) -> Any:
    from pension_collect_web.accounts import Clerk

    ctx = app.test_request_context("/")
    ctx.push()
    g.clerk = Clerk(name=name, unit_no=unit)
    return ctx


def test_another_employers_worker_is_not_found(two_employers: tuple[Flask, str]) -> None:
    app, key = two_employers
    ctx = _as(app, CLERK, UNIT)
    try:
        ref = worker_ref(key)
        assert re.fullmatch(r"[0-9a-f]{60}", ref)  # 12 bytes of tag, 18 of the sealed key
        assert key not in ref
        assert key.encode() not in bytes.fromhex(ref)
        assert worker_key(ref) == key
        with collection() as session:
            assert worker_key(ref, session) == key
        assert worker_ref(key) == ref  # stable
    finally:
        ctx.pop()
    ctx = _as(app, "other-clerk", "20000001")
    try:
        with pytest.raises(NotFound):
            worker_key(ref)  # the example employer's worker, asked by another employer
        with pytest.raises(NotFound):
            worker_key(worker_ref(key))  # its own reference of that key: not its worker
        with pytest.raises(NotFound):
            worker_key("not-a-ref")
    finally:
        ctx.pop()


class _Counting:
    """A transaction that counts its reads and refuses to list (a scan)."""

    def __init__(self, tx: Any, counts: dict[str, int]) -> None:
        self._tx, self._counts = tx, counts

    def get(self, *args: Any) -> Any:
        self._counts["get"] += 1
        return self._tx.get(*args)

    def list(self, *args: Any) -> Any:
        self._counts["list"] += 1
        raise AssertionError("a worker reference must not list the employer's records")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


def test_a_worker_reference_reads_at_most_three_records(
    two_employers: tuple[Flask, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any reference, known, unknown or made up, costs at most three reads by
    key (worker, synced, draft), never a list of the employer's records: in a
    fresh process (nothing remembered) as in the one that handed it out."""
    app, key = two_employers
    web_state: WebState = app.extensions["pension_collect_web"]
    counts = {"get": 0, "list": 0}
    real = web_state.storage.transaction

    @contextlib.contextmanager
    def counting() -> Iterator[Any]:
        with real() as tx:
            yield _Counting(tx, counts)

    ctx = _as(app, CLERK, UNIT)
    try:
        ref = worker_ref(key)
        fresh = WebState(web_state.config)  # another process of the installation
        try:
            assert fresh.ref(UNIT, key) == ref  # stable across processes and restarts
            assert fresh.key_of(UNIT, ref) == key
        finally:
            fresh.close()
        monkeypatch.setattr(web_state.storage, "transaction", counting)
        with collection() as session:
            assert worker_key(ref, session) == key
            assert counts["list"] == 0
            assert counts["get"] <= 3
            made_up = [
                "0" * 24,  # a reference of before: not read back
                "0" * 60,
                "ab" * 40,
                ref[:-2] + ("00" if ref[-2:] != "00" else "01"),  # altered
                worker_ref("110101199001011234"),  # well made, no such worker here
            ]
            for bad in made_up:
                before = dict(counts)
                with pytest.raises(NotFound):
                    worker_key(bad, session)
                assert counts["list"] == 0
                assert counts["get"] - before["get"] <= 3, bad
    finally:
        ctx.pop()


@ONE_STORE
def test_a_library_error_no_page_caught_is_shown_with_its_code(
    make_app: Callable[..., Flask], signed_in: Callable[..., WebClient], caplog: Any
) -> None:
    """One store (memory): an error page rendered."""
    from pension_collect.workflow import NothingToSubmit

    client = _raising(make_app, signed_in, NothingToSubmit(keys=[ID_NUMBER]))
    with caplog.at_level(logging.DEBUG):
        answer = client.get("/raise")
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "workflow.nothing-to-submit: 没有可申报的已采集职工" in html
    assert ID_NUMBER not in html
    assert ID_NUMBER not in caplog.text
    client.set_cookie("lang", "en")
    html = client.get("/raise").get_data(as_text=True)
    assert "workflow.nothing-to-submit: no collected worker to declare" in html
