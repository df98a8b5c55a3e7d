"""The web front end attacked as an outsider, a clerk of another employer and
a careless clerk would (docs/web.md "Security model"): each test here is a
defect found by trying, kept so it stays fixed.

The page tests use Flask's test client on one store (the web layer is under
test); the kill and the logs need the real server process."""

from __future__ import annotations

import html as htmllib
import io
import json
import os
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from browser import WAIT, WebServer
from flask import Flask
from pension_collect_web.accounts import LOCK_AFTER, ClerkAccounts
from pension_collect_web.context import WebState
from pension_collect_web.errors import WebError
from pension_collect_web.views.workers import SEARCH_KEY
from test_editor import typed
from web_fixtures import CLERK, PASSWORD, UNIT, WebClient, csrf_in
from werkzeug.test import TestResponse

from pension_collect.dossier import example_dossier_text, loads
from pension_collect.workflow import CollectionSession, draft

#: An identity number of the example dossier (employer 10012345).
ID_NUMBER = "371002196503021239"
OTHER, OTHER_UNIT = "clerk-other", "20000001"


@pytest.fixture
def store_url() -> str:
    """The web layer is under test: one store is enough."""
    return "memory:"


# -- signing out and in on a shared computer -------------------------------------------------


def test_signing_out_forgets_the_search(make_app: object, signed_in: object) -> None:
    """The worker list's search (a name or an identity number) rode in the
    flash cookie past sign-out: the next clerk on the same browser, of another
    employer, found it in the search box."""
    app: Flask = make_app(clerks=[(OTHER, OTHER_UNIT)])  # type: ignore[operator]
    client: WebClient = signed_in(app)  # type: ignore[operator]
    assert client.post_form("/workers/search", {"search": ID_NUMBER}).status_code == 303
    with client.session_transaction() as kept:
        assert kept.get(SEARCH_KEY) == ID_NUMBER  # the attack's premise
    assert client.post_form("/logout").status_code == 303
    with client.session_transaction() as kept:
        assert SEARCH_KEY not in kept
    assert client.sign_in(OTHER, PASSWORD).status_code == 303
    assert ID_NUMBER not in client.get("/workers").get_data(as_text=True)


def test_signing_in_forgets_a_search_left_behind(app: Flask, signed_in: object) -> None:
    """A clerk who never signed out (the sign-in expired) left the search in
    the browser's flash cookie: the next sign-in starts without it."""
    client: WebClient = signed_in(app)  # type: ignore[operator]
    assert client.post_form("/workers/search", {"search": ID_NUMBER}).status_code == 303
    client.delete_cookie("pension_collect_session")  # expired, never signed out
    assert client.sign_in(CLERK, PASSWORD).status_code == 303
    with client.session_transaction() as kept:
        assert SEARCH_KEY not in kept


# -- what a brute force tells about which accounts exist ------------------------------------


def test_an_unknown_name_locks_as_an_account_does(tmp_path: Path) -> None:
    """Five wrong passwords locked a real account (web.locked) but never an
    unknown name: the lock told an attacker which names exist."""
    now = [1_000_000.0]
    accounts = ClerkAccounts(tmp_path / "a.db", clock=lambda: now[0])
    accounts.add(CLERK, UNIT, PASSWORD)

    def codes(name: str) -> list[tuple[str, int | None]]:
        seen = []
        for _ in range(LOCK_AFTER + 1):
            with pytest.raises(WebError) as info:
                accounts.sign_in(name, "wrong password", minutes=5, address="10.0.0.1")
            seen.append((info.value.code, getattr(info.value, "retry_after", None)))
        return seen

    real, ghost = codes(CLERK), codes("no-such-clerk")
    assert real[-2][0] == "web.locked"
    assert ghost == real
    now[0] += 61
    invalid, locked = ("web.invalid-credentials", None), ("web.locked", 120)
    assert codes("no-such-clerk") == [invalid, invalid, invalid, invalid, locked, locked]
    accounts.close()


def test_unknown_names_are_kept_hashed_and_forgotten(tmp_path: Path) -> None:
    """What the lock of unknown names keeps: no name, only an HMAC, and only
    a day past the last try (a flood of made-up names does not pile up)."""
    now = [1_000_000.0]
    accounts = ClerkAccounts(tmp_path / "a.db", clock=lambda: now[0])
    for name in ("ghost-one", "ghost-two", "ghost-three"):
        with pytest.raises(WebError):
            accounts.sign_in(name, "wrong password", minutes=5, address="10.0.0.1")
    store = sqlite3.connect(tmp_path / "a.db")
    assert store.execute("SELECT COUNT(*) FROM sign_in_locks").fetchone() == (3,)
    assert b"ghost-" not in b"".join(p.read_bytes() for p in tmp_path.glob("a.db*"))
    now[0] += 2 * 86400
    with pytest.raises(WebError):
        accounts.sign_in("ghost-four", "wrong password", minutes=5, address="10.0.0.1")
    assert store.execute("SELECT COUNT(*) FROM sign_in_locks").fetchone() == (1,)
    store.close()
    accounts.close()


def test_the_password_is_checked_without_holding_the_accounts_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scrypt (a fraction of a second) ran inside the accounts file's write
    transaction: a flood of sign-ins, anonymous, held the lock every sign-in,
    sign-out and lock of every server process waits for."""
    import pension_collect_web.accounts as module

    accounts = ClerkAccounts(tmp_path / "a.db")
    accounts.add(CLERK, UNIT, PASSWORD)
    real = module.verify_password
    free: list[bool] = []

    def verify(password: str, stored: str) -> bool:
        other = sqlite3.connect(tmp_path / "a.db", timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            free.append(True)
        except sqlite3.OperationalError:
            free.append(False)
        finally:
            other.close()
        return real(password, stored)

    monkeypatch.setattr(module, "verify_password", verify)
    for name, password in ((CLERK, "wrong password"), ("nobody-here", "wrong password")):
        with pytest.raises(WebError, match="invalid-credentials"):
            accounts.sign_in(name, password, minutes=5, address="10.0.0.1")
    token, session = accounts.sign_in(CLERK, PASSWORD, minutes=5, address="10.0.0.1")
    assert accounts.session(token) == session
    assert free == [True, True, True]
    accounts.close()


def test_an_unknown_name_locks_on_the_page(anon: WebClient) -> None:
    statuses = [anon.sign_in("nobody-here", "wrong password").status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]


# -- a careless clerk's (or a script's) enormous forms -------------------------------------


def _declared_employer(app: Flask, library_session: Callable[..., CollectionSession]) -> None:
    """The example employer up to [P3.2], through the library."""
    session = library_session(app)
    dossier = loads(example_dossier_text())
    session.start()
    session.sync()
    session.collect_employer(dossier.employer)
    session.submit_employer_declaration()
    session.print_verification_forms()


def test_ten_thousand_history_lines_are_refused_at_once(
    app: Flask, client: WebClient, library_session: Callable[..., CollectionSession]
) -> None:
    """The editor read, checked and drew every line posted: 10,000 lines took
    13 to 19 seconds of a server worker per click and answered 23 MB. More
    lines than a worker may have (``DEFAULT_LIMITS.segments``, ``.account_years``)
    are refused before any is read: 413, bilingual, nothing kept."""
    _declared_employer(app, library_session)
    ref = app.extensions["pension_collect_web"].ref(UNIT, ID_NUMBER)
    form = {"$.history": "yes", "$.account": "no"}
    for i in range(10_000):
        form[f"$.history[{i}].start"] = "1990-01"
        form[f"$.history[{i}].end"] = "1990-02"
        form[f"section-{i}"] = "lower"
    for action in ("check", "add:lower", "draft", "save"):
        started = time.perf_counter()
        answer = client.post_form(f"/workers/{ref}/edit", {**form, "action": action})
        took = time.perf_counter() - started
        assert answer.status_code == 413, (action, answer.status_code, took)
        assert "缴费历史最多 1000 行" in answer.get_data(as_text=True)
        assert len(answer.data) < 20_000
    client.set_cookie("lang", "en")
    answer = client.post_form(f"/workers/{ref}/edit", {**form, "action": "check"})
    assert "at most 1000 lines" in answer.get_data(as_text=True)
    account = {f"$.account[{i}].year": str(1000 + i) for i in range(301)}
    answer = client.post_form(f"/workers/{ref}/edit", {**account, "action": "check"})
    assert answer.status_code == 413
    with library_session(app) as session:
        assert session.workers() == []
        assert draft(session, ID_NUMBER) is None


def test_a_tampered_personal_number_is_refused_in_the_editor(
    app: Flask, client: WebClient, library_session: Callable[..., CollectionSession]
) -> None:
    """The personal number is the bureau's (read-only): one posted differently
    (another worker's, made up) is refused at its field, nothing saved."""
    _declared_employer(app, library_session)
    lib = library_session(app)
    dossier = loads(example_dossier_text())
    mine, other = dossier.workers[0], dossier.workers[1]
    assert mine.person_no
    assert other.person_no
    assert mine.person_no != other.person_no
    ref = app.extensions["pension_collect_web"].ref(UNIT, mine.id_number)
    form = {**typed(mine), "version": "0"}
    for number in (other.person_no, "99999999999"):
        answer = client.post_form(
            f"/workers/{ref}/edit", {**form, "$.person_no": number, "action": "save"}
        )
        assert answer.status_code == 422, answer.status_code
        assert "个人编号由社保分配" in answer.get_data(as_text=True)
        assert lib.workers() == []
    answer = client.post_form(f"/workers/{ref}/edit", {**form, "action": "save"})
    assert answer.status_code == 303
    assert [w.worker.person_no for w in lib.workers()] == [mine.person_no]


def test_a_roster_with_a_wrong_personal_number_is_refused(
    app: Flask, client: WebClient, library_session: Callable[..., CollectionSession]
) -> None:
    """A roster whose worker carries another person's personal number (a typo
    in the workbook, or another employer's) was imported and saved as it was;
    the bureau then failed the worker as ``bureau.id-held-by-other``, sending
    the clerk to the window for nothing. Now it is a problem at its place."""
    _declared_employer(app, library_session)
    lib = library_session(app)
    doc = json.loads(example_dossier_text())
    doc["workers"] = doc["workers"][:2]
    doc["workers"][1]["person_no"] = doc["workers"][0]["person_no"]
    answer = client.post_form(
        "/workers/import",
        {"roster": (io.BytesIO(json.dumps(doc).encode()), "roster.json")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "$.workers[1].person_no" in html
    assert "workflow.bureau-number" in html
    assert lib.workers() == []
    del doc["workers"][1]["person_no"]  # none given: the bureau's is taken
    answer = client.post_form(
        "/workers/import",
        {"roster": (io.BytesIO(json.dumps(doc).encode()), "roster.json")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 303
    numbers = sorted(w.worker.person_no or "" for w in lib.workers())
    assert numbers == sorted(
        w["person_no"] for w in json.loads(example_dossier_text())["workers"][:2]
    )


# -- double submits -------------------------------------------------------------------------


def test_a_double_submit_makes_one_declaration(
    app: Flask, client: WebClient, library_session: Callable[..., CollectionSession]
) -> None:
    """Submit clicked twice (or the browser's resubmit): one declaration, the
    second click refused with the guard's code; the employer's likewise."""
    lib = library_session(app)
    dossier = loads(example_dossier_text())
    lib.start()
    lib.sync()
    lib.collect_employer(dossier.employer)
    employer = [client.post_form("/employer/submit") for _ in range(2)]
    assert [a.status_code for a in employer] == [303, 303]
    assert [d.key for d in lib.declarations()] == ["employer-1"]
    while not lib.refresh("employer-1").state.concluded:
        pass
    lib.print_verification_forms()
    assert not lib.save_workers(dossier.workers).refused
    lib.print_confirmation_forms()
    lib.record_received([w.key for w in lib.workers()])
    first = client.post_form("/submit")
    second = client.post_form("/submit")
    assert (first.status_code, second.status_code) == (303, 303)
    assert sorted(d.key for d in lib.declarations()) == ["employer-1", "workers-1"]
    shown = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "workflow.declaration-in-flight" in shown
    submitted = [e for e in lib.audit() if e.action == "declaration.submitted"]
    assert len(submitted) == 2  # the employer's and the workers', once each


# -- garbage in URLs and forms: a 4xx page, never a 500 ----------------------------------------

GARBAGE_REFS = ["0" * 24, "f" * 24, "zzz", "..%2F..%2Fetc", "%00", "%ff%fe", "A" * 24, "1" * 300]
GARBAGE_QUERIES = [
    "page=-1",
    "page=abc",
    "page=" + "9" * 40,
    "page=1e9",
    "page=%ff",
    "state=%3Cx%3E",
]


def test_garbage_never_answers_a_server_error(app: Flask, client: WebClient) -> None:
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.arguments and r.endpoint not in ("static", "auth.lang")
    ]
    assert any("ref" in r.arguments for r in rules)
    assert any("key" in r.arguments for r in rules)
    for rule in rules:
        for value in GARBAGE_REFS:
            url = re.sub(r"<(?:[^:<>]+:)?[a-z_]+>", value, rule.rule)
            for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                if method == "GET":
                    answer = client.get(url)
                else:
                    answer = client.post_form(url, {"action": "save", "note": "x"})
                assert answer.status_code == 404, (rule.endpoint, value, answer.status_code)
                assert "页面不存在" in answer.get_data(as_text=True)
    for path in ("/workers", "/audit", "/declarations", "/recollection", "/"):
        for query in GARBAGE_QUERIES:
            answer = client.get(f"{path}?{query}")
            assert answer.status_code in (200, 400), (path, query, answer.status_code)
    token = client.csrf_token()
    posts: list[tuple[str, bytes]] = [
        ("/workers/search", b"search=%ff%fe%80"),
        ("/workers/search", b"search=\xff\xfe"),
        ("/employer", b"name=%ff%fe&name=x&phone=" + b"9" * 5000),
        ("/workers/selected", b"action=rm+-rf&worker=x"),
        ("/workers/selected", b"action=verification&worker=" + b"0" * 24),
        ("/workers/selected", b"action=verification" + b"&worker=x" * 2000),
        ("/workers/selected", b""),
        ("/workers/import", b""),
        ("/declarations/follow", b"x=1&x=2"),
    ]
    for path, body in posts:
        answer = client.post(
            path,
            data=body + b"&csrf_token=" + token.encode(),
            content_type="application/x-www-form-urlencoded",
        )
        assert answer.status_code < 500, (path, body[:40], answer.status_code)
        assert "Traceback" not in answer.get_data(as_text=True)


# -- caching and cookie flags ---------------------------------------------------------------


def test_an_error_under_static_is_not_cached(client: WebClient) -> None:
    """A file missing under /static/ answered the error page (with the clerk's
    name and employer in its header) without ``Cache-Control: no-store``."""
    answer = client.get("/static/no-such-file.css")
    assert answer.status_code == 404
    assert CLERK in answer.get_data(as_text=True)  # personal: the signed-in clerk
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    found = client.get("/static/style.css")
    assert found.status_code == 200
    assert found.headers["Content-Security-Policy"]
    assert "no-store" not in found.headers.get("Cache-Control", "")  # a file, no data


def _cookie_header(answer: TestResponse, name: str) -> str:
    found = [h for h in answer.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert found, (name, answer.headers.getlist("Set-Cookie"))
    return found[-1]


def test_the_flash_cookie_is_secure_over_https(app: Flask) -> None:
    """The flash cookie (which carries the worker list's search, an identity
    number) was ``Secure`` only with ``--secure-cookies``, never for a request
    that came over https, unlike the session cookie."""
    https = app.test_client()
    assert isinstance(https, WebClient)
    base = "https://localhost"
    token = csrf_in(https.get("/login", base_url=base).get_data(as_text=True))
    https.post(
        "/login",
        base_url=base,
        data={"name": CLERK, "password": PASSWORD, "csrf_token": token},
    )
    csrf = csrf_in(https.get("/account", base_url=base).get_data(as_text=True))
    answer = https.post(
        "/workers/search", base_url=base, data={"search": ID_NUMBER, "csrf_token": csrf}
    )
    assert answer.status_code == 303
    header = _cookie_header(answer, "pension_collect_flash")
    assert "Secure" in header
    assert "HttpOnly" in header
    plain = app.test_client()
    assert isinstance(plain, WebClient)
    assert plain.sign_in().status_code == 303
    answer = plain.post_form("/workers/search", {"search": ID_NUMBER})
    assert "Secure" not in _cookie_header(answer, "pension_collect_flash")


# -- forms posted for what the page does not offer --------------------------------------------


def test_a_window_visit_only_for_a_worker_the_list_offers_it_for(
    app: Flask, client: WebClient, library_session: Callable[..., CollectionSession]
) -> None:
    """The re-collection list offers "Record the window visit" only for a worker
    the bureau failed for a window reason and not visited since; a stale or
    tampered form for any other worker of the employer (not failed, or its
    visit recorded already: a double submit, the browser's resubmit after the
    new sync) was recorded and put the whole collection back to "sync again"."""
    _declared_employer(app, library_session)
    lib = library_session(app)
    state: WebState = app.extensions["pension_collect_web"]
    ref = state.ref(UNIT, ID_NUMBER)  # synced, collected by nobody, not failed
    before = len(lib.audit())
    answer = client.post_form(f"/recollection/{ref}/window-visit", {"note": "已办理"})
    assert answer.status_code == 303
    after = lib.state()
    assert after is not None
    assert not after.needs_sync
    assert ID_NUMBER not in after.window_visits
    assert len(lib.audit()) == before
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "未登记" in shown


# -- the real server: its logs, and a SIGKILL in the middle of a save ------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FIELD = re.compile(r"<input\b[^>]*>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def _inputs(html: str) -> list[tuple[str, str]]:
    """The named text/hidden inputs of a page (what a browser posts of them)."""
    found = []
    for tag in _FIELD.findall(html):
        attrs = dict(_ATTR.findall(tag))
        kind = attrs.get("type", "text")
        if "name" in attrs and kind not in ("submit", "checkbox", "radio", "file", "button"):
            found.append((attrs["name"], htmllib.unescape(attrs.get("value", ""))))
        elif kind in ("checkbox", "radio") and "checked" in tag and "name" in attrs:
            found.append((attrs["name"], htmllib.unescape(attrs.get("value", "on"))))
    return found


class _Browser:
    """A clerk at the real server, through ``requests`` (cookies kept)."""

    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.http = requests.Session()
        self.csrf = ""

    def sign_in(self, name: str = CLERK, password: str = PASSWORD) -> requests.Response:
        page = self.http.get(self.web.url + "/login", timeout=WAIT)
        token = _CSRF.search(page.text)
        assert token is not None
        answer = self.http.post(
            self.web.url + "/login",
            data={"name": name, "password": password, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=WAIT,
        )
        if answer.status_code == 303:
            found = _CSRF.search(self.http.get(self.web.url + "/account", timeout=WAIT).text)
            assert found is not None
            self.csrf = found.group(1)
        return answer

    def post(self, path: str, data: list[tuple[str, str]] | dict[str, str]) -> requests.Response:
        form = list(data.items()) if isinstance(data, dict) else list(data)
        form = [(k, v) for k, v in form if k != "csrf_token"] + [("csrf_token", self.csrf)]
        return self.http.post(self.web.url + path, data=form, allow_redirects=False, timeout=WAIT)

    def refs(self) -> list[str]:
        page = self.http.get(self.web.url + "/workers", timeout=WAIT).text
        return sorted(set(re.findall(r"/workers/([0-9a-f]{26,})/edit", page)))

    def complete_form(self, ref: str) -> list[tuple[str, str]]:
        """The editor's form of ``ref`` with the history and the account copied
        from the bureau's record (what a clerk does in two clicks)."""
        url = f"/workers/{ref}/edit"
        form = _inputs(self.http.get(self.web.url + url, timeout=WAIT).text)
        for action in ("copy:history", "copy:account"):
            answer = self.post(url, [*(f for f in form if f[0] != "action"), ("action", action)])
            assert answer.status_code == 200, answer.status_code
            form = _inputs(answer.text)
        return [f for f in form if f[0] != "action"] + [("action", "save")]


def _prepare(web: WebServer) -> None:
    """The example employer up to [P3.2]: synced, declared, verification forms printed."""
    with web.session() as session:
        session.start()
        session.sync()
        session.collect_employer(web.example().employer)
        session.submit_employer_declaration()
        session.print_verification_forms()


PREPARE = [_prepare]


def test_the_logs_hold_nothing_personal_after_an_attack(web: WebServer) -> None:
    clerk = _Browser(web)
    wrong = "Wrong-horse-battery-4242"
    assert clerk.sign_in(CLERK, wrong).status_code == 401
    assert clerk.sign_in("someone-else-entirely", wrong).status_code == 401
    assert clerk.sign_in().status_code == 303
    worker = web.example().workers[0]
    assert clerk.post("/workers/search", {"search": worker.id_number}).status_code == 303
    assert clerk.post("/workers/search", {"search": worker.name}).status_code == 303
    ref = clerk.refs()[0]
    typed = [("$.name", "<b>Mallory</b>"), ("$.id_number", worker.id_number)]
    assert clerk.post(f"/workers/{ref}/edit", [*typed, ("action", "check")]).status_code < 500
    assert clerk.post("/workers/search", {"search": "", "clear": "1"}).status_code == 303
    clerk.http.get(web.url + f"/workers/{ref}/edit?search={worker.id_number}", timeout=WAIT)
    clerk.http.get(web.url + "/no-such-page", timeout=WAIT)
    cookie = clerk.http.cookies.get("pension_collect_session")
    assert cookie
    assert clerk.post("/logout", {}).status_code == 303
    # the access log is written after the answer: wait for the last line
    deadline = time.monotonic() + 15
    while '"POST /logout"' not in web.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    logs = web.logs()
    assert '"POST /logout"' in logs
    personal = (CLERK, "someone-else-entirely", worker.id_number, worker.name, "Mallory")
    for secret in (*personal, PASSWORD, wrong, clerk.csrf, cookie):
        assert secret not in logs, secret
    assert '"POST /workers/search" 303' in logs  # the log was read at all


def test_a_sigkill_in_the_middle_of_a_save_leaves_the_store_whole(web: WebServer) -> None:
    clerk = _Browser(web)
    assert clerk.sign_in().status_code == 303
    refs = clerk.refs()
    forms = {ref: clerk.complete_form(ref) for ref in refs}
    answers: list[int | str] = []

    def save(ref: str) -> None:
        try:
            answers.append(clerk.post(f"/workers/{ref}/edit", forms[ref]).status_code)
        except requests.RequestException as exc:
            answers.append(type(exc).__name__)

    for ref, delay in zip(refs, (0.0, 0.03, 0.08), strict=False):
        saving = threading.Thread(target=save, args=(ref,))
        saving.start()
        time.sleep(delay)
        assert web.process is not None
        os.killpg(web.process.pid, signal.SIGKILL)
        web.process.wait(30)
        web.process = None
        saving.join(WAIT)
        web.start()
    assert len(answers) == len(refs)
    store = sqlite3.connect(web.store)
    assert store.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store.close()
    keys = [w.id_number for w in web.example().workers]
    with web.session() as session:
        stored = {w.key: w for w in session.workers()}
        for key in keys:  # whole or absent: every part, one version, one audit entry
            saves = [e for e in session.audit(worker=key) if e.action == "worker.saved"]
            if key in stored:
                assert stored[key].version == 1
                assert stored[key].worker.history is not None
                assert stored[key].worker.account is not None
                assert len(saves) == 1
            else:
                assert saves == []
    # the sign-in outlived the kills: a save that did not land is made now, once
    # (or refused by the rules: the example plants a mistake), and none twice
    for ref in refs:
        again = clerk.post(f"/workers/{ref}/edit", forms[ref])
        assert again.status_code in (303, 409, 422), again.status_code
    with web.session() as session:
        stored = {w.key: w for w in session.workers()}
        assert stored
        for key in keys:
            saves = [e for e in session.audit(worker=key) if e.action == "worker.saved"]
            assert len(saves) == (1 if key in stored else 0)
