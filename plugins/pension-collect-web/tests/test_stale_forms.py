"""What a clerk typed in the employer information form [P3.1] and a window
visit's note [P3.7] survives a POST from a stale page (docs/web.md, "A stale
form"), as the worker editor's does (test_editor.py): the sign-in ended
(401: a page of the values typed, nothing stored, a button that posts them
back) or the page's token another sign-in's (400: the form as typed with this
sign-in's token, nothing stored); a clerk of another employer signed in gets
the page of the values, never the other employer's form filled with them.

The web layer is under test: one store (memory)."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pension_collect_web.views.auth import SESSION_COOKIE
from test_dashboard import _employer_form, page
from test_declarations import OTHER_UNIT, at_bureau, move, ready_to_submit
from web_fixtures import CLERK, PASSWORD, WebClient, csrf_in

from pension_collect.model import Dossier
from pension_collect.workflow import CollectionSession

OTHER = "clerk-other"


@pytest.fixture
def store_url() -> str:
    """The web layer is under test: one store is enough."""
    return "memory:"


def _text(answer: Any) -> str:
    body: str = answer.get_data(as_text=True)
    return body


def kept_values(html: str) -> dict[str, str]:
    """The form of the page that keeps what was typed, as a browser sends it."""
    form = html[html.index('class="kept-form"') : html.index("</form>", html.index("kept-form"))]
    assert 'name="csrf_token"' not in form
    found = {
        name: htmllib.unescape(value)
        for name, value in re.findall(
            r'<input type="(?:text|hidden)"[^>]*? name="([^"]*)" value="([^"]*)"', form
        )
    }
    for name, value in re.findall(r'<textarea[^>]*? name="([^"]*)"[^>]*>([^<]*)</textarea>', form):
        found[name] = htmllib.unescape(value)
    return found


def employer_typed(html: str) -> dict[str, str]:
    """The employer form's values on a page."""
    form = html[html.index('class="employer-form"') :]
    return {
        name: htmllib.unescape(value)
        for name, value in re.findall(
            r'<input id="employer-\w+" name="(\w+)" type="text" value="([^"]*)"', form
        )
    }


def other_tab(client: WebClient, app: Flask, name: str = CLERK) -> None:
    """Signed in again (as ``name``) in another tab: its cookie is now the browser's."""
    tab = app.test_client()
    assert tab.sign_in(name, PASSWORD).status_code == 303  # type: ignore[attr-defined]
    cookie = tab.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    client.set_cookie(SESSION_COOKIE, cookie.value)
    client._csrf = None  # type: ignore[attr-defined]


# -- the employer information [P3.1] --------------------------------------------------------


@pytest.fixture
def synced(app: Flask, library_session: Callable[..., CollectionSession]) -> CollectionSession:
    lib = library_session(app)
    lib.start()
    lib.sync()
    return lib


def test_an_ended_sign_in_keeps_the_employer_typed(
    client: WebClient, synced: CollectionSession, example_dossier: Dossier
) -> None:
    typed = _employer_form(
        example_dossier, contact="王 <五>", address='济南市 "历下区" 1 号', phone="0531-1234567"
    )
    assert 'name="unit_no"' in page(client, "/employer")
    stale = client.csrf_token()
    assert client.post_form("/logout", {}).status_code == 303  # the sign-in ends
    answer = client.post(
        "/employer", data={**typed, "unit_no": synced.unit_no, "csrf_token": stale}
    )
    assert answer.status_code == 401
    assert answer.headers["Cache-Control"] == "no-store"
    html = _text(answer)
    assert "您的登录已过期(或已退出),因此未作任何更改" in html
    assert "联系人" in html  # each value at its label
    kept = kept_values(html)
    assert kept == {**typed, "unit_no": synced.unit_no}
    assert synced.state().employer is None  # type: ignore[union-attr]
    client.set_cookie("lang", "en")
    english = _text(client.post("/employer", data=kept))
    assert "Your sign-in expired (or you signed out), so nothing was changed" in english
    client.delete_cookie("lang")

    assert client.sign_in().status_code == 303  # in a new tab
    back = client.post("/employer", data=kept)  # the page's button: no token
    assert back.status_code == 400
    html = _text(back)
    assert "单位信息未保存:该页面已过期" in html
    assert csrf_in(html) == client.csrf_token()
    assert employer_typed(html) == typed
    assert synced.state().employer is None  # type: ignore[union-attr]
    saved = client.post_form("/employer", {**employer_typed(html), "unit_no": synced.unit_no})
    assert saved.status_code == 303
    stored = synced.state().employer  # type: ignore[union-attr]
    assert stored is not None
    assert (stored.contact, stored.address) == ("王 <五>", '济南市 "历下区" 1 号')


def test_a_token_of_another_sign_in_keeps_the_employer_typed(
    app: Flask, client: WebClient, synced: CollectionSession, example_dossier: Dossier
) -> None:
    assert client.get("/employer").status_code == 200
    stale = client.csrf_token()
    other_tab(client, app)
    assert client.csrf_token() != stale
    typed = _employer_form(example_dossier, contact="孙丽", phone="0531-7654321")
    answer = client.post(
        "/employer", data={**typed, "unit_no": synced.unit_no, "csrf_token": stale}
    )
    assert answer.status_code == 400
    assert answer.headers["Cache-Control"] == "no-store"
    html = _text(answer)
    assert "安全令牌与当前登录不符" in html
    assert employer_typed(html) == typed
    assert csrf_in(html) == client.csrf_token()
    assert synced.state().employer is None  # type: ignore[union-attr]


def test_another_employers_clerk_gets_the_values_not_its_form(
    make_app: Callable[..., Flask],
    library_session: Callable[..., CollectionSession],
    example_dossier: Dossier,
) -> None:
    app = make_app(clerks=[(OTHER, OTHER_UNIT)])
    lib = library_session(app)
    lib.start()
    lib.sync()
    other = library_session(app, unit_no=OTHER_UNIT)
    client = app.test_client()
    assert client.sign_in().status_code == 303  # type: ignore[attr-defined]
    stale = client.csrf_token()  # type: ignore[attr-defined]
    other_tab(client, app, OTHER)  # type: ignore[arg-type]
    typed = _employer_form(example_dossier, contact="孙丽")
    answer = client.post("/employer", data={**typed, "unit_no": lib.unit_no, "csrf_token": stale})
    assert answer.status_code == 400
    html = _text(answer)
    assert "当前登录的用户也不是该单位的用户" in html
    assert kept_values(html) == {**typed, "unit_no": lib.unit_no}
    assert 'class="employer-form"' not in html
    assert lib.state().employer is None  # type: ignore[union-attr]
    assert other.state() is None


# -- a window visit's note [P3.7] -----------------------------------------------------------


@pytest.fixture
def failed(
    app: Flask,
    library_session: Callable[..., CollectionSession],
    example_dossier: Dossier,
    bureau_dir: Path,
) -> tuple[CollectionSession, str]:
    """A worker failed by the bureau for a window reason (taken over by another
    employer): (the library's session, its key)."""
    lib = library_session(app)
    ready_to_submit(lib, example_dossier)
    lib.submit_declaration()
    key = lib.key_of(example_dossier.workers[2])
    at_bureau(bureau_dir, lambda bureau: move(bureau, key, OTHER_UNIT))
    while not lib.refresh("workers-1").state.concluded:
        pass
    assert lib.failed_workers() == [key]
    return lib, key


def _visit_url(client: WebClient) -> str:
    found = re.search(
        r'action="(/recollection/[0-9a-f]+/window-visit)"', page(client, "/recollection")
    )
    assert found is not None
    return found.group(1)


def _note_box(html: str) -> tuple[str, str]:
    """The note's box on the re-collection list: (its attributes, its text)."""
    box = re.search(r'<textarea id="note-[0-9a-f]+"([^>]*)>([^<]*)</textarea>', html)
    assert box is not None
    return box.group(1), htmllib.unescape(box.group(2))


def test_an_ended_sign_in_keeps_the_window_visits_note(
    client: WebClient, failed: tuple[CollectionSession, str]
) -> None:
    lib, key = failed
    url = _visit_url(client)
    note = '已在窗口办理转入 <手续> "齐全"'
    stale = client.csrf_token()
    assert client.post_form("/logout", {}).status_code == 303
    answer = client.post(url, data={"note": note, "csrf_token": stale})
    assert answer.status_code == 401
    assert answer.headers["Cache-Control"] == "no-store"
    html = _text(answer)
    assert "您的登录已过期(或已退出)" in html
    assert f'action="{url}"' in html
    kept = kept_values(html)
    assert kept == {"note": note}
    assert key not in lib.state().window_visits  # type: ignore[union-attr]

    assert client.sign_in().status_code == 303
    back = client.post(url, data=kept)  # the page's button: no token
    assert back.status_code == 400
    html = _text(back)
    assert "未登记:该页面已过期" in html
    attributes, shown = _note_box(html)
    assert shown == note
    assert "aria-invalid" not in attributes
    assert csrf_in(html) == client.csrf_token()
    assert key not in lib.state().window_visits  # type: ignore[union-attr]
    assert client.post_form(url, {"note": shown}).status_code == 303
    assert key in lib.state().window_visits  # type: ignore[union-attr]
    entry = lib.audit()[-1]
    assert (entry.action, entry.message) == (
        "worker.window-visit",
        f"correction at the bureau window: {note}",
    )


def test_a_token_of_another_sign_in_keeps_the_window_visits_note(
    app: Flask, client: WebClient, failed: tuple[CollectionSession, str]
) -> None:
    lib, key = failed
    url = _visit_url(client)
    stale = client.csrf_token()
    other_tab(client, app)
    answer = client.post(url, data={"note": "窗口已办理", "csrf_token": stale})
    assert answer.status_code == 400
    html = _text(answer)
    assert "安全令牌与当前登录不符" in html
    assert _note_box(html)[1] == "窗口已办理"
    assert csrf_in(html) == client.csrf_token()
    assert key not in lib.state().window_visits  # type: ignore[union-attr]
    # recorded meanwhile (another tab): the note comes back on its own page, saying why
    lib.record_window_visit(key, "")
    late = client.post(url, data={"note": "窗口已办理", "csrf_token": stale})
    assert late.status_code == 400
    html = _text(late)
    assert "该职工已不需要登记窗口办理" in html
    assert kept_values(html) == {"note": "窗口已办理"}
