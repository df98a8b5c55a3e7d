"""The collection dashboard (/) and the employer's information (/employer):
each step's button walked through on a fresh collection, the page's state
after each, the guards' refusals shown, the bureau's errors in both languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from web_fixtures import ONE_STORE, UNIT, WebClient

from pension_collect.workflow import CollectionSession


def text(html: str) -> str:
    """The page's text: tags dropped, blanks folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def page(client: WebClient, url: str = "/", *, en: bool = False) -> str:
    """The page at ``url`` (200), in English with ``en``."""
    if en:
        client.set_cookie("lang", "en")
    try:
        answer = client.get(url)
    finally:
        if en:
            client.delete_cookie("lang")
    assert answer.status_code == 200, answer.status_code
    return answer.get_data(as_text=True)


def step_state(html: str, procedure: str) -> str:
    """The state class of step ``procedure`` (``done``, ``current``, ``waiting``)."""
    found = re.search(
        rf'class="dashboard-step dashboard-step-(\w+)" id="step-{procedure.replace(".", "-")}"',
        html,
    )
    assert found is not None, procedure
    return found.group(1)


def follow_post(client: WebClient, url: str, data: dict[str, Any] | None = None) -> str:
    answer = client.post_form(url, data)
    assert answer.status_code == 303, answer.status_code
    return page(client, answer.headers["Location"])


@ONE_STORE
def test_a_fresh_collection_offers_start(client: WebClient) -> None:
    """One store (memory): a page rendered from an empty store."""
    html = page(client)
    assert "[P3]" in html
    assert "[P3.7]" in html
    assert "开始数据质量工作" in html
    assert "workflow.not-started" in html
    assert step_state(html, "P3") == "current"
    assert step_state(html, "P3.1") == "waiting"
    assert "[P3] 开始数据质量整理(无未处理完的申报) 当前步骤" in text(html)
    assert "[P3.1] 数据同步并采集单位信息 等待" in text(html)
    english = text(page(client, en=True))
    assert "[P3] Start data-quality work (no declaration left open) Now" in english
    assert "[P3.7] Follow the result; collect the failed again Waiting" in english
    assert "Start data-quality work" in english
    assert "the collection has not been started; start it first" in english


def test_each_step_walked_through(
    app: Flask,
    client: WebClient,
    library_session: Callable[..., CollectionSession],
    example_dossier: Any,
    tmp_path: Any,
) -> None:
    # [P3] start
    html = follow_post(client, "/start")
    assert "已开始数据质量工作" in html
    assert step_state(html, "P3") == "done"
    assert step_state(html, "P3.1") == "current"
    assert "workflow.sync-first" in html
    assert "数据同步" in html
    # [P3.1] sync
    html = follow_post(client, "/sync")
    assert "数据同步完成:社保系统有本单位 3 人" in html
    assert "workflow.employer-first" in html
    assert 'href="/employer"' in html
    lib = library_session(app)
    assert lib.state().sync_no == 1
    # [P3.1] the employer: the form is the bureau's record until saved
    form = page(client, "/employer")
    assert "显示社保系统登记的单位信息" in form
    assert 'value="威海示例机械有限公司"' in form
    assert 'value="91371000MA3C0EXA33"' in form
    assert "尚未提交单位信息申报" in form
    assert "提交单位信息申报" not in form.split("尚未提交单位信息申报")[1].split("<h2>")[0]
    employer = example_dossier.employer
    fields = {
        "name": employer.name,
        "credit_code": employer.credit_code,
        "legal_representative": employer.legal_representative,
        "address": employer.address,
        "contact": employer.contact,
        "phone": "0631-5200001",
    }
    html = follow_post(client, "/employer", fields)
    assert "单位信息已保存" in html
    assert "显示已保存的单位信息" in html
    assert 'value="0631-5200001"' in html
    assert "社保系统登记: 0631-5200000" in text(html)
    stored = lib.state().employer
    assert stored is not None
    assert stored.phone == "0631-5200001"
    assert stored.unit_no == UNIT
    html = follow_post(client, "/employer/submit")
    assert "单位信息申报 employer-1 已提交" in html
    # what the sheet tells the clerk to do next, in its words [P3.1]
    assert "[P3.1] 提交后请持营业执照和税务登记证复印件到社保审核。" in html
    assert lib.state().employer_declaration == "employer-1"
    # [P3.2] the next step: verification forms, done on the workers' page
    html = page(client)
    assert step_state(html, "P3.1") == "done"
    assert step_state(html, "P3.2") == "current"
    assert "workflow.verification-form" in html
    assert "371002********1239" in html
    assert "待打印核对表" in text(html)
    lib.print_verification_forms()
    # [P3.4] collecting is the editor's; two of the three saved
    html = page(client)
    assert step_state(html, "P3.4") == "current"
    assert "workflow.incomplete" in html
    assert "已采集 0 / 3 人" in text(html)
    batch = lib.save_workers(example_dossier.workers[:2])
    assert not batch.refused
    html = page(client)
    assert "已采集 2 / 3 人" in text(html)
    assert "371083********3516" in html
    assert "371002********1239" not in html
    lib.save_workers(example_dossier.workers[2:])
    # [P3.5] confirmation forms
    html = page(client)
    assert step_state(html, "P3.5") == "current"
    assert "workflow.confirmation-form" in html
    assert "待打印确认表 3" in text(html)
    lib.print_confirmation_forms()
    # [P3.4g] receipts, on the workers' list
    html = page(client)
    assert step_state(html, "P3.6") == "current"
    assert "workflow.not-received" in html
    assert "待收回(签字确认表、养老手册) 3" in text(html)
    keys = [w.key for w in lib.workers()]
    lib.record_received(keys)
    # the employer declaration is still at the bureau: follow it first
    html = page(client)
    assert "已签字收回 3" in text(html)
    assert "workflow.declaration-in-flight" in html
    assert 'action="/submit"' not in html
    # following it is part of [P3.6]: not "done" before anything is submitted
    assert step_state(html, "P3.6") == "current"
    assert step_state(html, "P3.7") == "waiting"
    html = follow_post(client, "/follow")
    assert "employer-1: 正在处理" in html
    html = follow_post(client, "/follow")
    assert "employer-1: 处理成功" in html
    # [P3.6] the summary sheet and the submit are one click each
    assert 'action="/summary-sheet"' in html
    assert 'action="/submit"' in html
    assert "打印汇总表" in html
    assert "提交申报" in html
    sheet = client.post_form("/summary-sheet")
    assert sheet.status_code == 200
    assert sheet.mimetype == "application/pdf"
    assert sheet.get_data().startswith(b"%PDF")
    html = follow_post(client, "/submit")
    assert "已提交申报 workers-1(3 人)" in html
    assert (
        "[P3.6] 提交申报的第三天,请携带所有材料(职工签字的确认表一式三份,确认表汇总表,"
        "养老手册,其他缴费证明)上报社保处数据质量整理窗口。"
    ) in html
    assert "营业执照" not in html  # the employer's papers only after the employer's
    assert [d.key for d in lib.declarations()] == ["employer-1", "workers-1"]
    assert {w.status.value for w in lib.workers()} == {"submitted"}
    # [P3.7] follow: the local bureau advances a declaration one stage per reading
    html = page(client)
    assert step_state(html, "P3.7") == "current"
    assert 'action="/follow"' in html
    assert "查看处理结果" in html
    for _ in range(3):
        html = follow_post(client, "/follow")
        if "workers-1: 处理成功" in html:
            break
    assert "workers-1: 处理成功" in html
    assert {w.status.value for w in lib.workers()} == {"accepted"}
    html = page(client)
    assert "所有职工均已处理成功" in html
    assert "处理成功 3" in text(html)
    assert all(step_state(html, p) == "done" for p in ("P3", "P3.1", "P3.4", "P3.7"))
    assert "[P3.7] 等待处理结果,重新采集处理失败的职工 已完成" in text(html)


def _employer_form(example_dossier: Any, **changes: str) -> dict[str, str]:
    employer = example_dossier.employer
    form = {
        name: getattr(employer, name) or ""
        for name in ("name", "credit_code", "legal_representative", "address", "contact", "phone")
    }
    form.update(changes)
    return form


def test_employer_refusals_at_their_fields(
    app: Flask,
    client: WebClient,
    library_session: Callable[..., CollectionSession],
    example_dossier: Any,
) -> None:
    lib = library_session(app)
    # before a sync: no form, the guard's words
    html = page(client, "/employer")
    assert "workflow.sync-first" in html
    assert 'name="credit_code"' not in html
    lib.start()
    # the step itself refused before a sync: nothing stored
    answer = client.post_form("/employer", _employer_form(example_dossier))
    assert answer.status_code == 409
    assert "workflow.sync-first" in answer.get_data(as_text=True)
    assert lib.state().employer is None
    lib.sync()
    # a rule error (the credit code's check character): not saved, shown at the field
    bad = _employer_form(example_dossier, credit_code="91371000MA3C0EXA34", phone="1")
    answer = client.post_form("/employer", bad)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "单位信息未保存:请更正标出的错误" in html
    field = html[html.index('id="employer-credit_code"') :]
    field = field[: field.index("</p>")]
    assert 'aria-invalid="true"' in field
    assert "employer.credit-code" in field
    assert "统一社会信用代码无效" in field
    assert 'value="91371000MA3C0EXA34"' in field  # what was typed is kept
    assert 'value="1"' in html
    assert lib.state().employer is None
    # a blank name, a control character, a text too long: each at its field
    answer = client.post_form(
        "/employer",
        _employer_form(example_dossier, name="  ", contact="孙\x07丽", address="路" * 1001),
    )
    assert answer.status_code == 422
    html = text(answer.get_data(as_text=True))
    assert "请填写单位名称" in html
    assert "不能包含控制字符" in html
    assert "共 1001 个字符,最多 1000 个" in html
    assert lib.state().employer is None
    # in English
    client.set_cookie("lang", "en")
    answer = client.post_form("/employer", bad)
    client.delete_cookie("lang")
    english = text(answer.get_data(as_text=True))
    assert "The unified social credit code is not valid" in english
    assert "Not saved: correct the errors marked." in english
    # submitting before the employer is saved: the guard's refusal
    html = follow_post(client, "/employer/submit")
    assert "workflow.employer-first" in html
    assert lib.declarations() == []
    # saved: the findings of the stored employer shown, the declaration submitted
    html = follow_post(client, "/employer", _employer_form(example_dossier))
    assert "单位信息已保存" in html
    assert "提交单位信息申报" in html
    html = follow_post(client, "/employer/submit")
    assert '<dd id="employer-declaration-state">已提交</dd>' in html
    assert 'href="/declarations/employer-1"' in html
    # the same information again is the same declaration
    html = follow_post(client, "/employer/submit")
    assert [d.key for d in lib.declarations()] == ["employer-1"]


def test_steps_refused_out_of_order(
    app: Flask, client: WebClient, library_session: Callable[..., CollectionSession]
) -> None:
    lib = library_session(app)
    for url, code in (("/sync", "workflow.not-started"), ("/submit", "workflow.not-started")):
        html = follow_post(client, url)
        assert code in html
        assert 'class="message message-error"' in html
    assert lib.state() is None
    lib.start()
    html = follow_post(client, "/follow")
    assert "没有等待处理结果的申报" in html
    answer = client.post_form("/summary-sheet")
    assert answer.status_code == 303
    html = page(client, answer.headers["Location"])
    assert "workflow.sync-first" in html
    # GET is not a step
    assert client.get("/sync").status_code == 405
