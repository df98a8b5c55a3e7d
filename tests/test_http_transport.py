"""The HTTP transport on its own: options, login and tokens, retries, error mapping.

The bureau's side is scripted at requests' adapter (no network): each test
says what the bureau answers, call by call, and checks what the transport
sent and what it raised. The transport against the real server process is
tests/test_transport_contract.py, tests/test_transport_faults.py and
tests/test_workflow_http.py.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
import urllib3.exceptions as u3
from requests.adapters import BaseAdapter

from bureau_server import (
    RunningBureau,
    call,
    console_script,
    ready_session,
    seed,
    start_bureau,
)
from pension_collect.adapters.http_transport import DEFAULT_TIMEOUT, HttpTransport
from pension_collect.dossier import to_dict
from pension_collect.plugins import PluginHost
from pension_collect.ports.transport import (
    AccountLocked,
    AuthenticationError,
    BadResponse,
    BureauError,
    DeclarationKind,
    DeclarationState,
    IdempotencyKeyReused,
    InvalidCredentials,
    LoginThrottled,
    PasswordChangeRequired,
    ServerError,
    TransportError,
    TransportTimeout,
    UnknownDeclaration,
    Unreachable,
    WeakPassword,
    WrongEmployer,
)
from pension_collect.testing.transport_contract import (
    CONTRACT_OTHER_UNIT,
    CONTRACT_UNIT,
    contract_dossiers,
)

URL = "http://bureau.test:8080"
UNIT = "10012345"
PASSWORD = "s3cret-Pass-word-1"
TOKEN = "tok-AAAAAAAAAAAAAAAAAAAA"
TOKEN2 = "tok-BBBBBBBBBBBBBBBBBBBB"

Action = Callable[[requests.PreparedRequest], requests.Response]


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Action:
    def make(request: requests.PreparedRequest) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers or {})
        if body is not None:
            if isinstance(body, bytes):
                response._content = body
            else:
                response._content = json.dumps(body).encode()
                response.headers.setdefault("Content-Type", "application/json")
        else:
            response._content = b""
        response.request = request
        response.url = request.url or ""
        return response

    return make


def error(status: int, code: str, **extra: Any) -> Action:
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    body = {"error": {"code": code, "message": "m", "message_zh": "中", **extra}}
    return answer(status, body, headers)


def raise_(exc: Exception) -> Action:
    def make(request: requests.PreparedRequest) -> requests.Response:
        raise exc

    return make


def login(token: str = TOKEN, *, must_change: bool = False) -> Action:
    return answer(
        200,
        {
            "token": token,
            "expires_at": "2030-01-01T00:00:00+00:00",
            "must_change_password": must_change,
        },
    )


def declaration(id_: str = "D000001", state: str = "submitted") -> dict[str, Any]:
    return {
        "id": id_,
        "unit_no": UNIT,
        "kind": "workers",
        "state": state,
        "submitted_at": "2013-08-20T09:00:00+00:00",
        "concluded_at": None,
        "linked_to": None,
        "outcomes": [],
        "message": "",
        "message_zh": "",
    }


def page(persons: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
    return {
        "unit_no": UNIT,
        "at": "2013-08-20T09:00:00+00:00",
        "employer": {"unit_no": UNIT, "name": "x"},
        "persons": persons,
        "next_cursor": cursor,
    }


NEVER_SENT = requests.exceptions.ConnectionError(
    u3.MaxRetryError(None, "/", u3.NewConnectionError(None, "refused"))  # type: ignore[arg-type]
)
DROPPED = requests.exceptions.ConnectionError(
    u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
)
READ_TIMEOUT = requests.exceptions.ReadTimeout("read timed out")


class Script(BaseAdapter):
    """A requests adapter answering from a script; every request is kept."""

    def __init__(self, actions: list[Action]) -> None:
        super().__init__()
        self.actions = list(actions)
        self.sent: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        self.timeouts.append(kwargs.get("timeout"))
        assert self.actions, f"no answer scripted for {request.method} {request.url}"
        return self.actions.pop(0)(request)

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [f"{r.method} {requests.utils.urlparse(r.url or '').path}" for r in self.sent]


def scripted(actions: list[Action], **options: Any) -> tuple[HttpTransport, Script, list[float]]:
    waits: list[float] = []
    options.setdefault("password", PASSWORD)
    transport = HttpTransport(URL, unit_no=UNIT, sleep=waits.append, **options)
    script = Script(actions)
    transport._session.mount("http://", script)
    return transport, script, waits


def no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc)):
        assert PASSWORD not in text
        assert TOKEN not in text
        assert TOKEN2 not in text


class TestOptions:
    def test_opened_by_scheme_through_the_host(self) -> None:
        """http and https URLs open an HttpTransport through the plugin host."""
        host = PluginHost(load_entry_points=False)
        assert {"http", "https"} <= set(host.transport_registry().names())
        for url in ("http://127.0.0.1:8000", "HTTPS://bureau.example/pension/"):
            t = host.open_transport(url, unit_no=UNIT, password=PASSWORD)
            assert isinstance(t, HttpTransport)
            t._session.close()
        assert t.url == "https://bureau.example/pension"

    def test_repr_shows_the_url_only(self) -> None:
        """The repr names the URL, never the unit's password."""
        t = HttpTransport(URL, unit_no=UNIT, password=PASSWORD)
        assert repr(t) == f"HttpTransport(url='{URL}')"
        assert PASSWORD not in repr(vars(t).get("url"))
        assert t.timeout == DEFAULT_TIMEOUT

    @pytest.mark.parametrize(
        ("url", "options", "says"),
        [
            ("http://u:" + PASSWORD + "@h/", {}, "must not hold credentials"),
            ("ftp://h/", {}, "not an HTTP bureau URL"),
            ("http:///x", {}, "not an HTTP bureau URL"),
            ("http://h/?a=1", {}, "no query"),
            ("http://h:99999/", {}, "port"),
            (URL, {"verify": False}, "cannot be switched off"),
            (URL, {"verify": ""}, "cannot be switched off"),
            (URL, {"verify": "/nonexistent/ca.pem"}, "names no CA bundle"),
            (URL, {"timeout": -1}, "timeouts"),
            (URL, {"timeout": "soon"}, "timeout="),
            (URL, {"page_size": 0}, "page_size"),
            (URL, {"page_size": 1001}, "page_size"),
            (URL, {"retries": -1}, "retries"),
            (URL, {"colour": "red"}, "unknown options"),
        ],
    )
    def test_bad_options_are_refused(self, url: str, options: dict[str, Any], says: str) -> None:
        """A URL with credentials, not HTTP, or with a query; verification off; bad
        timeouts, page sizes, retries; unknown options: a TransportError saying
        what, never quoting the password."""
        with pytest.raises(TransportError) as info:
            HttpTransport.open(url, unit_no=UNIT, password=PASSWORD, **options)
        assert says in str(info.value)
        no_secret(info.value)

    def test_login_is_required(self) -> None:
        """Without unit_no or password the factory refuses (no file is looked for)."""
        with pytest.raises(TransportError, match="unit_no="):
            HttpTransport.open(URL, password=PASSWORD)
        with pytest.raises(TransportError, match="password="):
            HttpTransport.open(URL, unit_no=UNIT)

    def test_without_requests_it_says_which_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Opening http:// without requests installed: install pension-collect[http]."""
        monkeypatch.setitem(sys.modules, "requests", None)
        host = PluginHost(load_entry_points=False)
        with pytest.raises(TransportError) as info:
            host.open_transport(URL, unit_no=UNIT, password=PASSWORD)
        assert "pension-collect[http]" in str(info.value)

    def test_environment_is_not_trusted(self, tmp_path: Path) -> None:
        """No proxies or .netrc credentials from the environment; TLS verified."""
        bundle = tmp_path / "ca.pem"
        bundle.write_text("", encoding="ascii")
        t = HttpTransport(URL, unit_no=UNIT, password=PASSWORD, verify=str(bundle))
        assert t._session.trust_env is False
        assert t._session.verify == str(bundle)
        assert HttpTransport(URL, unit_no=UNIT, password=PASSWORD)._session.verify is True


class TestLogin:
    def test_logs_in_then_calls_with_the_token(self) -> None:
        """The first call logs in with unit and password, then sends the bearer
        token; timeouts go with every request."""
        t, s, _ = scripted([login(), answer(200, {"declarations": []})], timeout=(2, 9))
        assert t.pending_declarations(UNIT) == []
        assert s.paths() == [
            "POST /api/v1/session",
            f"GET /api/v1/employers/{UNIT}/declarations",
        ]
        assert json.loads(s.sent[0].body or b"") == {"unit_no": UNIT, "password": PASSWORD}
        assert s.sent[1].headers["Authorization"] == f"Bearer {TOKEN}"
        assert "Authorization" not in s.sent[0].headers
        assert s.timeouts == [(2.0, 9.0), (2.0, 9.0)]

    def test_password_function_called_at_each_login(self) -> None:
        """A password function is asked at each login, not kept."""
        calls: list[int] = []

        def password() -> str:
            calls.append(1)
            return PASSWORD

        t, _, _ = scripted(
            [
                login(),
                error(401, "auth.token-expired"),
                login(TOKEN2),
                answer(200, {"declarations": []}),
            ],
            password=password,
        )
        t.pending_declarations(UNIT)
        assert len(calls) == 2

    def test_expired_token_logs_in_again_once_and_replays(self) -> None:
        """401 token-expired: one new login, the call replayed with the new token."""
        t, s, _ = scripted(
            [
                login(),
                error(401, "auth.token-expired"),
                login(TOKEN2),
                answer(200, {"declarations": [declaration()]}),
            ]
        )
        [d] = t.pending_declarations(UNIT)
        assert d.id == "D000001"
        assert s.sent[3].headers["Authorization"] == f"Bearer {TOKEN2}"

    def test_a_token_refused_twice_is_an_error(self) -> None:
        """A token refused again right after a new login is an AuthenticationError."""
        t, _, _ = scripted(
            [
                login(),
                error(401, "auth.invalid-token"),
                login(TOKEN2),
                error(401, "auth.invalid-token"),
            ]
        )
        with pytest.raises(AuthenticationError) as info:
            t.pending_declarations(UNIT)
        no_secret(info.value)

    def test_initial_password_must_be_changed_first(self) -> None:
        """A must-change login: no call is sent (PasswordChangeRequired) until
        change_password; the transport never changes it by itself; the new
        password is used at the next login."""
        t, s, _ = scripted(
            [
                login(must_change=True),
                login(TOKEN2),
                answer(200, {"declarations": []}),
                answer(204),
                login(),
            ]
        )
        with pytest.raises(PasswordChangeRequired) as info:
            t.pending_declarations(UNIT)
        assert info.value.code == "auth.password-change-required"
        assert s.paths() == ["POST /api/v1/session"]
        t.change_password(PASSWORD, "a-new-Pass-2")
        assert json.loads(s.sent[1].body or b"") == {
            "old_password": PASSWORD,
            "new_password": "a-new-Pass-2",
        }
        assert s.sent[1].headers["Authorization"] == f"Bearer {TOKEN}"
        assert t.pending_declarations(UNIT) == []
        t.logout()
        t.login()
        assert json.loads(s.sent[-1].body or b"")["password"] == "a-new-Pass-2"

    def test_weak_password_refused(self) -> None:
        """The bureau refusing the new password is WeakPassword; nothing changes."""
        t, _, _ = scripted([login(must_change=True), error(400, "auth.weak-password")])
        with pytest.raises(PasswordChangeRequired):
            t.login()
        with pytest.raises(WeakPassword) as info:
            t.change_password(PASSWORD, "123456")
        assert "123456" not in str(info.value)

    @pytest.mark.parametrize(
        ("action", "error_type", "after"),
        [
            (error(401, "auth.invalid-credentials"), InvalidCredentials, None),
            (error(423, "auth.locked", retry_after=300), AccountLocked, 300.0),
            (error(429, "auth.too-many-attempts", retry_after=60), LoginThrottled, 60.0),
        ],
        ids=["invalid", "locked", "throttled"],
    )
    def test_login_refusals(self, action: Action, error_type: type, after: float | None) -> None:
        """Wrong credentials, a locked account, too many attempts: typed errors
        with retry_after; a login is not retried (one request)."""
        t, s, waits = scripted([action])
        with pytest.raises(error_type) as info:
            t.sync(UNIT)
        assert getattr(info.value, "retry_after", None) == after
        assert len(s.sent) == 1
        assert waits == []
        assert info.value.message_zh
        no_secret(info.value)

    def test_login_retried_only_when_never_sent(self) -> None:
        """A login that never reached the bureau is retried; one that was sent and
        lost (connection dropped, timeout) is not."""
        t, s, waits = scripted([raise_(NEVER_SENT), login(), answer(200, {"declarations": []})])
        t.pending_declarations(UNIT)
        assert s.paths()[:2] == ["POST /api/v1/session"] * 2
        assert len(waits) == 1
        for lost, error_type in ((DROPPED, Unreachable), (READ_TIMEOUT, TransportTimeout)):
            t, s, _ = scripted([raise_(lost)])
            with pytest.raises(error_type):
                t.sync(UNIT)
            assert len(s.sent) == 1

    def test_logout_and_close(self) -> None:
        """logout revokes the token (DELETE /session); close logs out, twice is
        harmless, and a bureau gone at close raises nothing."""
        t, s, _ = scripted([login(), answer(200, {"declarations": []}), answer(204)])
        t.pending_declarations(UNIT)
        t.close()
        t.close()
        assert s.paths()[-1] == "DELETE /api/v1/session"
        assert s.sent[-1].headers["Authorization"] == f"Bearer {TOKEN}"
        with pytest.raises(TransportError, match="closed"):
            t.sync(UNIT)
        t, s, waits = scripted(
            [login(), answer(200, {"declarations": []}), *[raise_(NEVER_SENT)] * 5]
        )
        t.pending_declarations(UNIT)
        t.close()
        assert len(s.sent) == 3  # the logout is not retried: closing does not wait
        assert waits == []


class TestRetries:
    def test_idempotent_calls_retry_with_backoff(self) -> None:
        """502, 503, 504, a dropped connection and a read timeout are retried;
        each wait is a random share of backoff * 2**attempt."""
        t, s, waits = scripted(
            [
                login(),
                error(502, "x"),
                answer(503, b"<html>busy</html>", {"Content-Type": "text/html"}),
                error(504, "x"),
                raise_(DROPPED),
                raise_(READ_TIMEOUT),
                answer(200, declaration()),
            ],
            retries=5,
            backoff=0.25,
        )
        assert t.status("D000001").id == "D000001"
        assert len(s.sent) == 7
        assert len(waits) == 5
        for attempt, wait in enumerate(waits):
            assert 0 <= wait <= 0.25 * 2**attempt

    def test_retry_after_is_waited(self) -> None:
        """429 and 503 with Retry-After: that wait, not the backoff."""
        t, _, waits = scripted(
            [
                login(),
                answer(429, {"error": {"code": "x"}}, {"Retry-After": "3"}),
                answer(503, {"error": {"code": "x", "retry_after": 2}}),
                answer(200, {"declarations": []}),
            ],
            backoff=100.0,
            max_wait=10,
        )
        t.pending_declarations(UNIT)
        assert waits == [3.0, 2.0]

    def test_too_long_retry_after_is_an_error(self) -> None:
        """A Retry-After longer than max_wait is not waited for: ServerError."""
        t, s, waits = scripted(
            [login(), answer(503, {"error": {"code": "x"}}, {"Retry-After": "3600"})],
            max_wait=10,
        )
        with pytest.raises(ServerError) as info:
            t.sync(UNIT)
        assert info.value.status == 503
        assert waits == []
        assert len(s.sent) == 2

    def test_retries_run_out(self) -> None:
        """After the retries: ServerError (5xx), TransportTimeout, Unreachable."""
        cases: list[tuple[Action, type[TransportError]]] = [
            (error(502, "x"), ServerError),
            (raise_(READ_TIMEOUT), TransportTimeout),
            (raise_(DROPPED), Unreachable),
            (raise_(NEVER_SENT), Unreachable),
        ]
        for action, error_type in cases:
            t, s, waits = scripted([login(), *[action] * 3], retries=2)
            with pytest.raises(error_type) as info:
                t.sync(UNIT)
            assert len(s.sent) == 4
            assert len(waits) == 2
            assert "after 2 retries" in str(info.value)
            assert info.value.message_zh
            no_secret(info.value)

    def test_500_is_not_retried(self) -> None:
        """A 500 is raised at once (ServerError, status 500)."""
        t, s, waits = scripted([login(), error(500, "server.internal")])
        with pytest.raises(ServerError) as info:
            t.status("D000001")
        assert info.value.status == 500
        assert "retries" not in str(info.value)
        assert len(s.sent) == 2
        assert waits == []

    def test_submit_retried_with_the_same_key(self) -> None:
        """A submit whose answer was lost is sent again with the same
        Idempotency-Key and the same body; the bureau's 200 is the declaration."""
        t, s, _ = scripted(
            [
                login(),
                raise_(READ_TIMEOUT),
                raise_(DROPPED),
                error(503, "x"),
                answer(200, declaration("D000007")),
            ]
        )
        made = t.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="key-1")
        assert made.id == "D000007"
        posts = s.sent[1:]
        assert {r.headers["Idempotency-Key"] for r in posts} == {"key-1"}
        assert len({r.body for r in posts}) == 1
        assert json.loads(posts[0].body or b"") == {
            "kind": "workers",
            "payload": {"workers": []},
            "linked_to": None,
        }


class TestAnswers:
    def test_a_reused_idempotency_key_is_refused_unretried(self) -> None:
        """The bureau's 422 request.idempotency-key-reused (the key made another
        declaration) is IdempotencyKeyReused, a BureauError (the session closes
        the draft as refused), sent once: a retry would only be refused again."""
        t, s, waits = scripted([login(), error(422, "request.idempotency-key-reused")])
        with pytest.raises(IdempotencyKeyReused) as info:
            t.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key="key-1")
        assert isinstance(info.value, BureauError)
        assert info.value.code == "request.idempotency-key-reused"
        assert "new key" in str(info.value)
        assert len(s.sent) == 2
        assert waits == []

    def test_sync_follows_the_pages(self) -> None:
        """sync asks page after page with the cursor given and joins the persons."""
        t, s, _ = scripted(
            [
                login(),
                answer(200, page([{"person_no": "R1"}, {"person_no": "R2"}], "c1")),
                answer(200, page([{"person_no": "R3"}], "c2")),
                answer(200, page([], None)),
            ],
            page_size=2,
        )
        result = t.sync(UNIT)
        assert [p["person_no"] for p in result.persons] == ["R1", "R2", "R3"]
        assert result.employer == {"unit_no": UNIT, "name": "x"}
        queries = [requests.utils.urlparse(r.url or "").query for r in s.sent[1:]]
        assert queries == ["page_size=2", "page_size=2&cursor=c1", "page_size=2&cursor=c2"]

    def test_a_cursor_given_twice_is_a_bad_answer(self) -> None:
        """A bureau sending one cursor again would loop: BadResponse."""
        t, _, _ = scripted([login(), answer(200, page([], "c1")), answer(200, page([], "c1"))])
        with pytest.raises(BadResponse):
            t.sync(UNIT)

    @pytest.mark.parametrize(
        ("action", "error_type", "says"),
        [
            (error(404, "bureau.unknown-declaration"), UnknownDeclaration, "no declaration"),
            (error(422, "bureau.refused"), BureauError, "bureau.refused"),
            (error(409, "request.idempotency-conflict"), BureauError, "idempotency-conflict"),
            (error(403, "auth.other-employer"), WrongEmployer, "logged in"),
            (error(403, "auth.password-change-required"), PasswordChangeRequired, "change"),
            (answer(404, b"<html/>", {"Content-Type": "text/html"}), BadResponse, "HTTP 404"),
            (error(404, "request.not-found"), BadResponse, "bureau protocol"),
            (answer(200, b"<html/>", {"Content-Type": "text/html"}), BadResponse, "'text/html'"),
            (answer(200, b"{", {"Content-Type": "application/json"}), BadResponse, "not JSON"),
            (
                answer(200, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}),
                BadResponse,
                "not JSON",
            ),
            (answer(200, {"id": 1}), BadResponse, "wrong shape"),
        ],
        ids=[
            "unknown",
            "refused",
            "conflict",
            "other-employer",
            "must-change",
            "html-404",
            "json-404",
            "html-200",
            "broken-json",
            "too-deep-json",
            "bad-shape",
        ],
    )
    def test_error_mapping(self, action: Action, error_type: type, says: str) -> None:
        """Each answer is its typed error, bilingual, free of credentials."""
        t, _, _ = scripted([login(), action])
        with pytest.raises(error_type) as info:
            t.status("D000001")
        assert says in str(info.value)
        no_secret(info.value)
        if error_type is BureauError:
            assert not isinstance(info.value, TransportError)

    def test_another_unit_is_refused_before_sending(self) -> None:
        """A call for another unit number than the one logged in sends nothing."""
        t, s, _ = scripted([])
        for attempt in (
            lambda: t.sync("10099999"),
            lambda: t.pending_declarations("10099999"),
            lambda: t.status("D1", unit_no="10099999"),
            lambda: t.submit("10099999", DeclarationKind.WORKERS, {}, idempotency_key="k"),
        ):
            with pytest.raises(WrongEmployer):
                attempt()
        assert s.sent == []

    @pytest.mark.parametrize("key", ["", "ключ", "a key", "k\n", "k" * 129])
    def test_an_idempotency_key_the_protocol_cannot_carry(self, key: str) -> None:
        """A key that is not 1..128 printable ASCII characters is a BureauError
        naming request.idempotency-key before anything is sent (a non-Latin-1
        one was an untyped UnicodeEncodeError from http.client)."""
        t, s, _ = scripted([])
        with pytest.raises(BureauError, match=r"request\.idempotency-key") as info:
            t.submit(UNIT, DeclarationKind.WORKERS, {"workers": []}, idempotency_key=key)
        assert not isinstance(info.value, TransportError)
        assert s.sent == []

    def test_identifiers_cannot_leave_their_path(self) -> None:
        """A declaration number is one percent-encoded path segment; one that
        would be read as path steps (dots, slashes) is no declaration number:
        UnknownDeclaration, nothing sent."""
        t, s, _ = scripted([login(), error(404, "bureau.unknown-declaration")])
        with pytest.raises(UnknownDeclaration):
            t.status("D1?x=1#y %")
        assert s.sent[1].path_url == f"/api/v1/employers/{UNIT}/declarations/D1%3Fx%3D1%23y%20%25"
        for steps in (".", "..", "", "../../session", "a/b", "..\\x"):
            with pytest.raises(UnknownDeclaration):
                t.status(steps)
        assert len(s.sent) == 2

    def test_states_read_back(self) -> None:
        """A DeclarationStatus arrives with its enums."""
        t, _, _ = scripted([login(), answer(200, declaration(state="processing"))])
        assert t.status("D000001").state is DeclarationState.PROCESSING


# -- against the real server process ---------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    """The bureau server process with tokens living two seconds, seeded with the
    contract's two employers and a third one to lock."""
    first, second = contract_dossiers()
    locked = attrs.evolve(second, employer=attrs.evolve(second.employer, unit_no=LOCKED_UNIT))
    locked = attrs.evolve(locked, workers=())
    root = tmp_path_factory.mktemp("live")
    server = start_bureau(
        root / "bureau",
        [to_dict(d) for d in (first, second, locked)],
        extra_args=["--token-ttl", "2"],
    )
    try:
        yield server
    finally:
        server.stop()


LOCKED_UNIT = "10055555"
STRONG = "Weihai-Transport-2013!"


class TestAgainstTheServer:
    def test_initial_password_must_be_changed(self, live: RunningBureau) -> None:
        """The printed initial password logs in only to change it: every call is
        PasswordChangeRequired (nothing done), 123456 is refused as the new one,
        a strong one works and the calls go through."""
        initial = live.passwords[CONTRACT_OTHER_UNIT]
        t = HttpTransport(live.url, unit_no=CONTRACT_OTHER_UNIT, password=initial)
        with pytest.raises(PasswordChangeRequired):
            t.sync(CONTRACT_OTHER_UNIT)
        with pytest.raises(WeakPassword):
            t.change_password(initial, "123456")
        t.change_password(initial, STRONG)
        live.changed[CONTRACT_OTHER_UNIT] = STRONG
        assert t.pending_declarations(CONTRACT_OTHER_UNIT) == []
        t.close()
        with pytest.raises(InvalidCredentials):  # the initial password is gone
            HttpTransport(live.url, unit_no=CONTRACT_OTHER_UNIT, password=initial).login()

    def test_expired_and_revoked_tokens_are_renewed(self, live: RunningBureau) -> None:
        """A token that expired (after two seconds) or was revoked is replaced by a
        new login and the call goes through."""
        _, password = ready_session(live, CONTRACT_UNIT)
        t = HttpTransport(live.url, unit_no=CONTRACT_UNIT, password=password)
        assert len(t.sync(CONTRACT_UNIT).persons) == 3
        first = t._token
        time.sleep(2.5)
        assert len(t.sync(CONTRACT_UNIT).persons) == 3
        second = t._token
        assert second not in (None, first)
        status, _, _ = call(live, "DELETE", "/api/v1/session", token=second)
        assert status == 204
        assert t.pending_declarations(CONTRACT_UNIT) is not None
        assert t._token not in (first, second)
        t.close()
        assert t._token is None  # logged out: the token is revoked

    def test_repeated_wrong_passwords_lock_the_account(self, live: RunningBureau) -> None:
        """Wrong passwords are InvalidCredentials until the account locks: then
        AccountLocked with the seconds to wait, also for the right password.
        No message quotes a password."""
        seen: list[BaseException] = []
        for _ in range(10):
            t = HttpTransport(live.url, unit_no=LOCKED_UNIT, password="wrong-" + PASSWORD)
            try:
                t.login()
            except InvalidCredentials as exc:
                seen.append(exc)
                continue
            except AccountLocked as exc:
                seen.append(exc)
                break
        assert isinstance(seen[-1], AccountLocked)
        assert 2 <= len(seen) <= 10
        assert seen[-1].retry_after is not None
        assert seen[-1].retry_after > 0
        right = HttpTransport(live.url, unit_no=LOCKED_UNIT, password=live.passwords[LOCKED_UNIT])
        with pytest.raises(AccountLocked):
            right.login()
        for exc in seen:
            assert "wrong-" not in str(exc)
            assert live.passwords[LOCKED_UNIT] not in str(exc)

    def test_a_key_reused_for_another_declaration_over_the_wire(self, live: RunningBureau) -> None:
        """The same key and body again is the first declaration (a retried
        submit); the same key with another payload is IdempotencyKeyReused and
        makes nothing."""
        _, password = ready_session(live, CONTRACT_UNIT)
        t = HttpTransport(live.url, unit_no=CONTRACT_UNIT, password=password)
        first, _ = contract_dossiers()
        payload = {"employer": to_dict(first)["employer"]}
        made = t.submit(CONTRACT_UNIT, DeclarationKind.EMPLOYER, payload, idempotency_key="reuse")
        again = t.submit(CONTRACT_UNIT, DeclarationKind.EMPLOYER, payload, idempotency_key="reuse")
        assert again.id == made.id
        other = {"employer": {**payload["employer"], "name": "another employer name"}}
        with pytest.raises(IdempotencyKeyReused):
            t.submit(CONTRACT_UNIT, DeclarationKind.EMPLOYER, other, idempotency_key="reuse")
        t.close()

    def test_another_employers_declaration_over_the_wire(self, live: RunningBureau) -> None:
        """The server's 404 for another employer's declaration is UnknownDeclaration,
        the same as for a number that does not exist; a path trick is too."""
        _, a_password = ready_session(live, CONTRACT_UNIT)
        a = HttpTransport(live.url, unit_no=CONTRACT_UNIT, password=a_password)
        first, _ = contract_dossiers()
        made = a.submit(
            CONTRACT_UNIT,
            DeclarationKind.EMPLOYER,
            {"employer": to_dict(first)["employer"]},
            idempotency_key="live-1",
        )
        _, b_password = ready_session(live, CONTRACT_OTHER_UNIT, STRONG)
        b = HttpTransport(live.url, unit_no=CONTRACT_OTHER_UNIT, password=b_password)
        answers = []
        for number in (made.id, "D999999", f"../../{CONTRACT_UNIT}/declarations/{made.id}"):
            with pytest.raises(UnknownDeclaration) as info:
                b.status(number)
            answers.append(str(info.value))
        assert len(set(answers)) == 1
        a.close()
        b.close()


def test_https_is_verified(tmp_path: Path) -> None:
    """Over https:// the server's certificate is verified: with its CA bundle
    (verify=PATH) the calls go through; with the default (the system's
    authorities, which do not know this self-signed certificate) the
    transport refuses to talk: Unreachable, saying to give the CA bundle."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed to make the test certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    first, _ = contract_dossiers()
    _, passwords = seed(tmp_path / "data", [to_dict(first)])
    initial = passwords[CONTRACT_UNIT]
    process = subprocess.Popen(
        [
            console_script(), "bureau", "serve", "--data", str(tmp_path / "data"),
            "--port", "0", "--workers", "1", "--certfile", str(cert), "--keyfile", str(key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[3]
        assert url.startswith("https://127.0.0.1:")
        trusting = HttpTransport(url, unit_no=CONTRACT_UNIT, password=initial, verify=str(cert))
        with pytest.raises(PasswordChangeRequired):
            trusting.login()
        trusting.change_password(initial, STRONG)
        assert len(trusting.sync(CONTRACT_UNIT).persons) == 3
        trusting.close()
        default = HttpTransport(url, unit_no=CONTRACT_UNIT, password=STRONG, retries=0)
        with pytest.raises(Unreachable) as info:
            default.sync(CONTRACT_UNIT)
        assert "verify=PATH" in str(info.value)
        assert "证书" in info.value.message_zh
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
