"""The audit pages (/audit, /workers/<ref>/audit) and the declared states of
the worker list (submitted, succeeded, failed with the bureau's reason), on
every store of the fixtures (but for the one marked ``ONE_STORE``: a page
rendered, memory only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import attrs
from flask import Flask
from pension_collect_web.views.audit import changed_fields
from web_fixtures import CLERK, ONE_STORE, WebClient
from workers_fixtures import (
    DRAFTED,
    PRINTED,
    SAVED,
    Many,
    many_fixture,  # noqa: F401  (the fixture ``many``)
    many_read_fixture,  # noqa: F401  (the fixture ``many_read``)
    many_shared,  # noqa: F401  (its app, one per store and module)
    refs_in,
    rows_in,
)

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.identity import mask
from pension_collect.model import Dossier
from pension_collect.workflow import ROW_STATES, CollectionSession

_ACTION = re.compile(r'<span class="status-code">([a-z.-]+)</span></td>')
_ACTOR = re.compile(r'<td class="audit-actor">([^<]*)</td>')
_LABELLED = re.compile(r'<td>([^<]+) <span class="status-code">([a-z.-]+)</span></td>')
_FIELDS = re.compile(r'<td class="audit-fields">([^<]*)</td>')


def _html(client: WebClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.get_data(as_text=True)


def _ref(many: Many, i: int) -> str:
    answer = many.client.post_form("/workers/search", {"search": many.key(i)})
    found = refs_in(_html(many.client, answer.location))
    many.client.post_form("/workers/search", {"clear": "1"})
    assert len(found) == 1
    return found[0]


def test_changed_fields() -> None:
    assert changed_fields(None, None) == []
    assert changed_fields({"a": 1}, {"a": 1, "b": 2}) == ["b"]
    before = {"status": "collected", "worker": {"name": "x", "gender": "male"}, "v": 1}
    after = {"status": "collected", "worker": {"name": "y", "gender": "male"}, "v": 2}
    assert changed_fields(before, after) == ["v", "worker.name"]


def test_the_whole_log_newest_first_paged(many_read: Many) -> None:
    """Reads only: the collection the module's tests share (``many_read``)."""
    many = many_read
    total = len(many.session.audit())
    assert total > 150  # a saved entry per worker, and more
    first = _html(many.client, "/audit")
    last_page = -(-total // 50)
    assert f"第 1–50 条,共 {total} 条(最新的在前)" in first
    actions = _ACTION.findall(first)
    assert len(actions) == 50
    assert actions[0] == "draft.saved"  # the fixture's last step
    assert actions[1] == "worker.received"
    last = _html(many.client, f"/audit?page={last_page}")
    assert _ACTION.findall(last)[-1] == "session.started"
    assert _ACTION.findall(_html(many.client, "/audit?page=9999")) == _ACTION.findall(last)
    assert set(_ACTOR.findall(first)) == {"setup"}
    # a worker's entry links to the worker's own log, by reference
    assert f'href="/workers/{_ref(many, DRAFTED)}/audit">{mask(many.key(DRAFTED))}</a>' in first


def test_a_clerks_receipt_is_in_the_workers_log_with_the_clerks_name(many: Many) -> None:
    i = PRINTED - 1
    ref = _ref(many, i)
    answer = many.client.post_form("/workers/selected", {"worker": [ref], "action": "receive"})
    assert answer.status_code == 303
    page = _html(many.client, f"/workers/{ref}/audit")
    assert mask(many.key(i)) in page
    assert many.name(i) in page
    assert many.key(i) not in page  # masked only
    assert _ACTION.findall(page) == [
        "worker.received",
        "forms.confirmation",
        "worker.saved",
    ]
    assert _ACTOR.findall(page) == [CLERK, "setup", "setup"]
    fields = _FIELDS.findall(page)
    assert fields[0] == "form_received, handbook_received"
    assert fields[-1] == "新建"
    whole = _html(many.client, "/audit")
    assert _ACTION.findall(whole)[0] == "worker.received"
    assert _ACTOR.findall(whole)[0] == CLERK


def test_an_import_by_a_clerk_is_logged_under_the_clerks_name(many: Many, tmp_path: Path) -> None:
    import io

    from pension_collect.dossier import dumps

    i = SAVED + 2
    part = attrs.evolve(many.dossier, workers=(many.dossier.workers[i],))
    answer = many.client.post_form(
        "/workers/import",
        {"roster": (io.BytesIO(dumps(part).encode("utf-8")), "one.json")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 303
    page = _html(many.client, f"/workers/{_ref(many, i)}/audit")
    assert _ACTION.findall(page) == ["worker.saved"]
    assert _ACTOR.findall(page) == [CLERK]


def test_a_drafts_entries_and_other_employers(
    many_read: Many, signed_in: Callable[..., WebClient]
) -> None:
    """Reads only: the collection the module's tests share (``many_read``)."""
    many = many_read
    ref = _ref(many, DRAFTED)
    page = _html(many.client, f"/workers/{ref}/audit")
    assert _ACTION.findall(page) == ["draft.saved"]
    assert "保存草稿" in page
    other = signed_in(many.app, "other-clerk")
    assert other.get(f"/workers/{ref}/audit").status_code == 404
    assert "暂无记录" in _html(other, "/audit")
    assert many.client.get("/workers/nothex/audit").status_code == 404
    assert many.client.get(f"/workers/{'a' * 24}/audit").status_code == 404


@ONE_STORE
def test_html_in_a_name_is_escaped_on_the_workers_log(many: Many) -> None:
    """One store (memory): a page rendered."""
    page = _html(many.client, f"/workers/{_ref(many, 0)}/audit")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(" not in page


def test_declared_workers_submitted_succeeded_and_failed_with_the_reason(
    app: Flask,
    client: WebClient,
    bureau_dir: Path,
    example_dossier: Dossier,
    library_session: Callable[..., CollectionSession],
) -> None:
    session = library_session(app)
    session.start()
    session.sync()
    session.collect_employer(example_dossier.employer)
    session.submit_employer_declaration()
    session.print_verification_forms()
    saved = [w.key for w in session.save_workers(example_dossier.workers).saved]
    assert len(saved) >= 2
    session.print_confirmation_forms(saved)
    session.record_received(saved)
    session.print_summary_sheet()
    session.submit_declaration()
    page = _html(client, "/workers?state=submitted")
    assert f"共 {len(saved)} 条" in page
    moved = next(w for w in example_dossier.workers if w.id_number in saved)
    with ReferenceBureau.open(bureau_dir) as bureau:
        assert moved.person_no is not None
        bureau.transfer_person(moved.person_no, "20000009")
        bureau.settle()
    session.follow()
    failed = _html(client, "/workers?state=failed")
    assert rows_in(failed) == [(mask(moved.id_number), moved.name)]
    assert "bureau.other-employer" in failed
    assert "须先到社保窗口办理" in failed
    stored = session.worker(moved.id_number)
    assert stored.outcome is not None
    assert stored.outcome.message_zh in failed
    counts = _html(client, "/workers")
    label = ROW_STATES["succeeded"][1]
    assert f'{label} <span class="count">({len(saved) - 1})</span>' in counts
    client.set_cookie("lang", "en")
    english = _html(client, "/workers?state=failed")
    assert stored.outcome.message in english
    assert "(the bureau window first)" in english
    # every action of the whole loop has its label in both languages
    for lang, url in (("en", "/audit"), ("zh", "/audit")):
        client.set_cookie("lang", lang)
        labelled = _LABELLED.findall(_html(client, url))
        assert labelled
        assert all(label != code for label, code in labelled), labelled
