"""Submit and follow: the declarations list (/declarations), one declaration
(/declarations/<key>: progress, per-worker outcomes, Refresh), the
re-collection list (/recollection: what to do for each reason, the window
visit recorded) and the guards' refusals, on every store (the unreachable
bureau on one: ``ONE_STORE``, its docstring says why)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from test_dashboard import follow_post, page, step_state, text
from web_fixtures import ONE_STORE, UNIT, WebClient

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.identity import mask
from pension_collect.model import Dossier, Employer
from pension_collect.workflow import CollectionSession

OTHER_UNIT = "20000001"


def at_bureau(folder: Path, change: Callable[[ReferenceBureau], object]) -> None:
    """What only the bureau does (its window): on the app's ``local:DIR`` bureau."""
    bureau = ReferenceBureau.open(folder)
    try:
        change(bureau)
    finally:
        bureau.close()


def ready_to_submit(lib: CollectionSession, dossier: Dossier) -> None:
    """Through the library: started, synced, employer declared and concluded,
    every worker collected, printed and received."""
    lib.start()
    lib.sync()
    lib.collect_employer(dossier.employer)
    decl = lib.submit_employer_declaration()
    while not lib.refresh(decl.key).state.concluded:
        pass
    lib.print_verification_forms()
    assert not lib.save_workers(dossier.workers).refused
    lib.print_confirmation_forms()
    lib.record_received([w.key for w in lib.workers()])


@pytest.fixture
def lib(app: Flask, library_session: Callable[..., CollectionSession]) -> CollectionSession:
    return library_session(app)


@pytest.fixture
def transferred(lib: CollectionSession, example_dossier: Dossier, bureau_dir: Path) -> str:
    """The workers' declaration submitted, its third worker taken over by another
    employer at the bureau before it is processed; that worker's key."""
    ready_to_submit(lib, example_dossier)
    lib.submit_declaration()
    key = lib.key_of(example_dossier.workers[2])
    at_bureau(bureau_dir, lambda bureau: move(bureau, key, OTHER_UNIT))
    return key


def move(bureau: ReferenceBureau, key: str, unit: str) -> None:
    if unit not in bureau.employers:
        bureau.add_employer(Employer(unit_no=unit, name="另一单位"))
    person = bureau.person_by_id(key)
    assert person is not None
    bureau.transfer_person(person.person_no, unit)


def outcome_rows(html: str) -> list[str]:
    """The rows of the outcomes table, as text."""
    body = html[html.index('<table class="outcomes">') :]
    return [text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]]


def test_submit_refused_before_receiving(
    client: WebClient, lib: CollectionSession, example_dossier: Dossier
) -> None:
    ready_to_submit(lib, example_dossier)
    # one worker saved again: its confirmation form is stale
    lib.save_worker(example_dossier.workers[0])
    before = len(lib.audit())
    html = page(client)
    assert 'action="/submit"' not in html
    html = follow_post(client, "/submit")
    assert "workflow.confirmation-form" in html
    assert "请先打印该职工当前数据的确认表" in html
    assert [d.key for d in lib.declarations()] == ["employer-1"]
    assert len(lib.audit()) == before
    # printed again, not received yet
    lib.print_confirmation_forms([lib.key_of(example_dossier.workers[0])])
    html = follow_post(client, "/submit")
    assert "workflow.not-received" in html
    assert [d.key for d in lib.declarations()] == ["employer-1"]
    assert {w.status.value for w in lib.workers()} == {"collected"}


def test_the_employers_declaration_is_not_shown_as_one_of_workers(
    client: WebClient, lib: CollectionSession, example_dossier: Dossier
) -> None:
    # [P3.1] the employer's declaration holds no worker: no "Workers 1" and no
    # outcome row of a masked unit number without a name
    ready_to_submit(lib, example_dossier)
    html = page(client, "/declarations/employer-1")
    assert '<span class="procedure-tag">[P3.1]</span></h1>' in html
    assert '<dd id="declaration-state">处理成功</dd>' in html
    assert "职工人数" not in html
    assert "成功 / 失败" not in html
    assert '<table class="outcomes">' not in html
    assert "每名职工的处理结果" not in html
    listed = text(page(client, "/declarations"))
    assert "employer-1 单位信息申报 处理成功" in listed
    row = listed[listed.index("employer-1 单位信息申报") :]
    assert row.endswith("— — —"), row


def test_progress_outcomes_window_visit_and_recollection(
    client: WebClient,
    lib: CollectionSession,
    example_dossier: Dossier,
    bureau_dir: Path,
    transferred: str,
) -> None:
    key = transferred
    names = [w.name for w in example_dossier.workers]
    # the list: both declarations, newest first, the Follow button
    html = page(client, "/declarations")
    assert html.index("workers-1") < html.index("employer-1")
    listed = text(html)
    assert "workers-1 职工信息申报 已提交" in listed
    assert "employer-1 单位信息申报 处理成功" in listed
    assert 'action="/declarations/follow"' in html
    # one declaration: submitted, every worker waiting
    html = page(client, "/declarations/workers-1")
    assert '<dd id="declaration-state">已提交</dd>' in html
    assert '<li class="progress-current" aria-current="step">已提交</li>' in html
    rows = outcome_rows(html)
    assert len(rows) == 3
    assert all("等待处理结果" in r for r in rows)
    assert any(mask(key) in r and names[2] in r for r in rows)
    assert key not in html  # identity numbers masked
    # Refresh: the local bureau takes it one stage per reading
    html = follow_post(client, "/declarations/workers-1/refresh")
    assert "已刷新:workers-1 正在处理" in html
    html = follow_post(client, "/declarations/workers-1/refresh")
    assert "已刷新:workers-1 部分成功" in html
    assert "处理完成: 部分成功" in html
    assert 'action="/declarations/workers-1/refresh"' not in html  # concluded
    rows = outcome_rows(html)
    failed = [r for r in rows if "处理失败" in r]
    assert len(failed) == 1
    assert mask(key) in failed[0]
    assert "bureau.other-employer" in failed[0]
    assert "社保系统中此人属于其他单位" in failed[0]
    assert sum("处理成功" in r for r in rows) == 2
    assert lib.failed_workers() == [key]
    # in English: the state and what to do
    english = text(page(client, "/declarations/workers-1", en=True))
    assert "partially succeeded" in english
    assert "At the bureau the person belongs to another employer" in english
    # the dashboard: the window visit first
    html = page(client)
    assert "workflow.window-visit-required" in html
    assert mask(key) in html
    assert 'href="/recollection"' in html
    # the re-collection list: the reason, what to do, the window visit's form
    html = page(client, "/recollection")
    assert mask(key) in html
    assert names[2] in html
    assert "请到社保窗口办理转入本单位的手续" in text(html)
    found = re.search(r'action="/recollection/([0-9a-f]{26,})/window-visit"', html)
    assert found is not None
    ref = found.group(1)
    assert 'name="note"' in html
    assert f'href="/workers/{ref}/edit"' in html
    # a note holding a number is refused: nothing recorded
    before = len(lib.audit())
    refused = client.post_form(f"/recollection/{ref}/window-visit", {"note": f"{key} 已办理"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "说明中不要填写身份证号码" in html
    # the note as typed is still in its box, the problem at it
    kept = re.search(rf'<textarea id="note-{ref}"([^>]*)>([^<]*)</textarea>', html)
    assert kept is not None
    assert kept.group(2) == f"{key} 已办理"
    assert 'aria-invalid="true"' in kept.group(1)
    assert f'aria-describedby="note-{ref}-problem"' in kept.group(1)
    assert re.search(rf'id="note-{ref}-problem"[^>]*>.*说明中不要填写身份证号码', html, re.S)
    assert len(lib.audit()) == before
    state = lib.state()
    assert state is not None
    assert key not in state.window_visits
    # the visit recorded, with its note in the audit log
    html = follow_post(client, f"/recollection/{ref}/window-visit", {"note": "已办理转移"})
    assert f"已登记 {mask(key)} 的窗口办理" in html
    state = lib.state()
    assert state is not None
    assert state.window_visits[key].failed_in == "workers-1"
    assert state.needs_sync
    assert "窗口办理已登记:请在工作台重新数据同步" in html
    assert f'action="/recollection/{ref}/window-visit"' not in html
    assert len(lib.audit()) == before + 1
    # the dashboard: sync again [P3.3a]
    html = page(client)
    assert "workflow.sync-required" in html
    assert step_state(html, "P3.3") == "current"
    at_bureau(bureau_dir, lambda bureau: move(bureau, key, UNIT))
    html = follow_post(client, "/sync")
    assert "workflow.verification-form" in html
    assert mask(key) in html
    # a new verification form; the worker collected again, printed, received
    lib.print_verification_forms([key])
    assert "请在职工信息页面重新采集并保存" in page(client, "/recollection")
    assert "workflow.recollection-incomplete" in page(client)
    lib.save_worker(example_dossier.workers[2])
    lib.print_confirmation_forms([key])
    lib.record_received([key])
    assert "没有需要重新采集的职工" in page(client, "/recollection")
    html = follow_post(client, "/submit")
    assert "已提交申报 workers-2(1 人)" in html
    html = page(client, "/declarations/workers-2")
    assert 'href="/declarations/workers-1"' in html
    assert "重新采集,关联申报" in html
    assert 'href="/declarations/workers-2"' in page(client, "/declarations/workers-1")
    for _ in range(3):
        html = follow_post(client, "/declarations/follow")
        if "workers-2: 处理成功" in html:
            break
    assert "workers-2: 处理成功" in html
    assert "所有职工均已处理成功" in page(client)


def test_another_employers_declaration_is_a_404(
    make_app: Callable[..., Flask],
    signed_in: Callable[..., WebClient],
    library_session: Callable[..., CollectionSession],
    example_dossier: Dossier,
) -> None:
    app = make_app(clerks=[("other-clerk", OTHER_UNIT)])
    lib = library_session(app)
    ready_to_submit(lib, example_dossier)
    lib.submit_declaration()
    ours = signed_in(app)
    assert ours.get("/declarations/workers-1").status_code == 200
    ref = re.search(r'href="/workers/([0-9a-f]{26,})/edit"', page(ours, "/declarations/workers-1"))
    assert ref is not None
    theirs = signed_in(app, "other-clerk")
    for url in ("/declarations/workers-1", "/declarations/employer-1", "/declarations/nope"):
        assert theirs.get(url).status_code == 404
    assert ours.get("/declarations/nope").status_code == 404
    assert ours.get("/declarations/" + "x" * 101).status_code == 404
    assert "workers-1" not in page(theirs, "/declarations")
    before = len(lib.audit())
    assert theirs.post_form("/declarations/workers-1/refresh").status_code == 404
    answer = theirs.post_form(f"/recollection/{ref.group(1)}/window-visit", {"note": ""})
    assert answer.status_code == 404
    assert len(lib.audit()) == before
    assert lib.declaration("workers-1").state.value == "submitted"


@ONE_STORE
def test_the_bureau_unreachable_is_a_bilingual_message(
    make_app: Callable[..., Flask], signed_in: Callable[..., WebClient]
) -> None:
    """One store (memory): the bureau unreachable (its retries are most of the time),
    refused before the store is written."""
    app = make_app(bureau_url="http://127.0.0.1:9", bureau_password="a-bureau-password-1")
    client = signed_in(app)
    html = follow_post(client, "/start")
    assert "无法连接社保系统,未作任何更改" in html
    assert "transport.unreachable" in html
    assert "Traceback" not in html
    assert "workflow.not-started" in html  # still not started
    client.set_cookie("lang", "en")
    answer = client.post_form("/start")
    html = page(client, answer.headers["Location"], en=True)
    assert "The bureau cannot be reached; nothing was changed" in html


def test_outcomes_and_the_recollection_list_are_paged(
    client: WebClient,
    lib: CollectionSession,
    example_dossier: Dossier,
    bureau_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pension_collect_web.views import declarations

    monkeypatch.setattr(declarations, "OUTCOMES_PAGE", 2)
    monkeypatch.setattr(declarations, "RECOLLECTION_PAGE", 1)
    ready_to_submit(lib, example_dossier)
    decl = lib.submit_declaration()
    moved = [lib.key_of(w) for w in example_dossier.workers[1:]]
    for key in moved:
        at_bureau(bureau_dir, lambda bureau, key=key: move(bureau, key, OTHER_UNIT))
    lib.follow()
    lib.follow()
    assert lib.declaration(decl.key).state.value == "partially_succeeded"
    first = page(client, "/declarations/workers-1")
    second = page(client, "/declarations/workers-1?page=2")
    assert len(outcome_rows(first)) == 2
    assert len(outcome_rows(second)) == 1
    assert "第 2 页,共 2 页" in second
    assert 'href="/declarations/workers-1?page=2"' in first
    assert outcome_rows(page(client, "/declarations/workers-1?page=99")) == outcome_rows(second)
    assert outcome_rows(page(client, "/declarations/workers-1?page=x")) == outcome_rows(first)
    shown = [r.split()[0] for r in outcome_rows(first) + outcome_rows(second)]
    assert sorted(shown) == sorted(mask(k) for k in lib.declaration(decl.key).workers)
    listed = [page(client, f"/recollection?page={n}") for n in (1, 2)]
    assert "共 2 人,第 1 页,共 2 页" in text(listed[0])
    assert "共 2 人,第 2 页,共 2 页" in text(page(client, "/recollection?page=9"))
    assert [sum(mask(k) in html for k in moved) for html in listed] == [1, 1]
    assert all(mask(k) in listed[0] + listed[1] for k in moved)
    assert "2 名职工处理失败" in page(client, "/declarations")
