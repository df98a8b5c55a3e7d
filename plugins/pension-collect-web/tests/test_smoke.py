"""The skeleton answers: sign in, the account page, sign out, a library session."""

from __future__ import annotations

from web_fixtures import CLERK, UNIT


def test_signed_in_client_sees_its_account(client, library_session, app) -> None:
    page = client.get("/account")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert CLERK in html
    assert UNIT in html
    session = library_session(app)
    session.start()
    assert session.state() is not None
    answer = client.post_form("/logout")
    assert answer.status_code == 303
    assert client.get("/account").status_code == 302
