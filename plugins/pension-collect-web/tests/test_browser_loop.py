"""The whole collection loop in a real browser, as a clerk does it (issue 14,
"Must show"): headless Chromium against ``pension-collect web`` started through
its console script, over a SQLite store and the reference bureau in
``local:DIR`` (tests/browser.py).

Sign in; start; sync; the employer's information and its declaration; print
the verification forms (a PDF download, read back); collect the first worker
in the editor from the red book, with a mistake planted (the deemed period of
the upper box typed as ending 1993-05): the save is refused with the finding
at its line in Chinese, the one-click fix splits the line at 1992-12/1993-01,
the save goes through; the two other workers from an uploaded dossier; print
the confirmation forms (three copies each); record the signed forms and
handbooks; print the summary sheet; submit; follow until the bureau
concludes. The bureau fails the second worker, whom another employer took
over meanwhile (what only the bureau knows): the declaration page shows them
failed with the bureau's reason; the bureau's window hands them back, the
clerk records the window visit, syncs again, prints their new verification
form, collects them again, prints, receives, submits, follows: succeeded,
the collection done. The first worker's audit log shows the clerk's changes.

Screenshots for the docs (docs/img/web-*.png): the dashboard before the
first submission, the editor showing the finding, the declaration page with
the failed worker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pypdf
from browser import (
    UNIT,
    WAIT,
    WebServer,
    by_label,
    download,
    screenshot,
    sign_in,
    submit_form,
)
from selenium.webdriver.support.ui import Select

from pension_collect.dossier import example_dossier_text

#: The employer that takes the second worker over at the bureau.
OTHER_UNIT = "10099999"
#: The example dossier's workers by their person numbers (个人编号).
FIRST, SECOND, THIRD = "37100200001", "37100200002", "R0000000001"


# -- what the clerk sees ----------------------------------------------------------------------


def messages(driver: Any) -> str:
    """The flashed messages of the page, one per line."""
    found = driver.find_elements("css selector", ".messages .message")
    return "\n".join(m.text for m in found)


def main_text(driver: Any) -> str:
    text: str = driver.find_element("tag name", "main").text
    return text


def dashboard(driver: Any, web: WebServer) -> None:
    driver.find_element("css selector", "nav.site-nav").find_element("link text", "工作台").click()
    assert driver.current_url == web.url + "/", driver.current_url


def workers_list(driver: Any, state: str | None = None) -> None:
    """The worker list (filtered by ``state``, a link of the filter with its count)."""
    driver.find_element("css selector", "nav.site-nav").find_element("link text", "职工").click()
    if state is not None:
        nav = driver.find_element("css selector", "nav.workers-filter")
        nav.find_element("partial link text", state).click()


def row_of(driver: Any, person_no: str) -> Any:
    """The worker list's row of the worker with ``person_no``."""
    for row in driver.find_elements("css selector", "table.workers-table tbody tr"):
        if person_no in row.text:
            return row
    raise AssertionError(f"no row of {person_no} in the list:\n{main_text(driver)}")


def open_editor(driver: Any, person_no: str) -> None:
    workers_list(driver)
    row_of(driver, person_no).find_element("link text", "编辑").click()
    assert driver.current_url.endswith("/edit"), driver.current_url


def select_workers(driver: Any, person_nos: list[str] | None) -> None:
    """Tick the rows of ``person_nos``, or "every worker matching" for ``None``."""
    if person_nos is None:
        driver.find_element("id", "select-all-matching").click()
        return
    for person_no in person_nos:
        row_of(driver, person_no).find_element("css selector", "input[type=checkbox]").click()


def print_forms(driver: Any, action: str, person_nos: list[str] | None = None) -> pypdf.PdfReader:
    """Tick workers on the list shown, press the print button ``action``
    (``verification``, ``confirmation``); the PDF downloaded, read back."""
    select_workers(driver, person_nos)
    button = driver.find_element("css selector", f"form.workers-select button[value={action}]")
    return read_pdf(download(driver, button.click))


def read_pdf(path: Path) -> pypdf.PdfReader:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), data[:20]
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) >= 1
    return reader


def pdf_text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def receive(driver: Any, person_nos: list[str] | None) -> None:
    """[P3.4g] The signed forms and handbooks of the printed workers came back."""
    workers_list(driver, "已打印确认表")
    select_workers(driver, person_nos)
    submit_form(driver, "登记收回签字确认表和手册")
    count = 3 if person_nos is None else len(person_nos)
    assert f"已登记收回 {count} 名职工" in messages(driver), messages(driver)


def field(driver: Any, path: str) -> Any:
    """The editor's control of a dossier path (``$.history[0].end``); it is labelled."""
    element = driver.find_element("css selector", f'[name="{path}"]')
    ident = element.get_attribute("id")
    assert driver.find_elements("css selector", f'label[for="{ident}"]'), f"{path} has no label"
    return element


def type_into(driver: Any, path: str, value: str) -> None:
    element = field(driver, path)
    element.clear()
    element.send_keys(value)


def choose(driver: Any, path: str, value: str) -> None:
    Select(field(driver, path)).select_by_value(value)


def summary_button(driver: Any) -> Any:
    """The dashboard's button printing the summary sheet (a PDF download)."""
    actions = driver.find_element("css selector", ".dashboard-actions")
    return actions.find_element("xpath", ".//button[contains(., '打印汇总表')]")


def follow_on_dashboard(driver: Any) -> None:
    """Press the dashboard's "查看处理结果" (follow) while it is the next step."""
    for _ in range(5):
        buttons = driver.find_elements(
            "xpath", "//div[@class='dashboard-actions']//button[contains(., '查看处理结果')]"
        )
        if not buttons:
            return
        submit_form(driver, "查看处理结果")
    raise AssertionError(f"the dashboard still says to follow:\n{main_text(driver)}")


def follow(driver: Any, web: WebServer, final: str) -> str:
    """[P3.7] The latest declaration's page, refreshed until the bureau concluded
    it (``local:DIR`` advances a declaration one stage a read); its state."""
    driver.find_element("css selector", "nav.site-nav").find_element("link text", "申报").click()
    driver.find_element("css selector", "table.declarations tbody tr th a").click()
    deadline = time.monotonic() + WAIT
    state = driver.find_element("id", "declaration-state").text
    while state != final and time.monotonic() < deadline:
        assert state in ("已提交", "正在处理", "草稿"), state
        submit_form(driver, "刷新")
        state = driver.find_element("id", "declaration-state").text
    assert state == final, (state, main_text(driver))
    return state


# -- the loop -----------------------------------------------------------------------------------


def test_the_whole_loop_in_the_browser(browser: Any, web: WebServer) -> None:
    d = browser
    sign_in(d, web)
    assert d.current_url == web.url + "/"

    # [P3] start; [P3.1] data sync
    submit_form(d, "开始数据质量工作")
    assert "已开始数据质量工作" in messages(d)
    submit_form(d, "数据同步")
    assert "社保系统有本单位 3 人" in messages(d)

    # [P3.1] the employer's information (prefilled from the bureau) and its declaration
    d.find_element("css selector", ".dashboard-actions").find_element(
        "link text", "单位信息采集"
    ).click()
    assert by_label(d, "单位名称").get_attribute("value") == "威海示例机械有限公司"
    submit_form(d, "保存单位信息")
    assert "单位信息已保存" in messages(d)
    submit_form(d, "提交单位信息申报")
    assert d.find_element("id", "employer-declaration-state").text in ("已提交", "处理成功")

    # [P3.2] verification forms of every worker: one PDF, a page each
    dashboard(d, web)
    d.find_element("css selector", ".dashboard-actions").find_element(
        "link text", "打印核对表"
    ).click()
    forms = print_forms(d, "verification")
    text = pdf_text(forms)
    assert len(forms.pages) == 3, len(forms.pages)
    assert text.count("职工养老保险信息核对表") == 3
    for person_no in (FIRST, SECOND, THIRD):
        assert person_no in text

    # [P3.4] the first worker from the red book, in the editor, with a mistake:
    # the deemed period of the upper box typed as ending 1993-05
    open_editor(d, FIRST)
    type_into(d, "$.ethnicity", "汉族")
    choose(d, "$.hukou", "urban")
    submit_form(d, "填入社保记录的缴费历史")
    assert field(d, "$.history[0].end").get_attribute("value") == "1992-12"
    type_into(d, "$.history[0].end", "1993-05")
    submit_form(d, "添加一行(下面的框)")
    for path, value in (
        ("$.history[1].start", "1993-06"),
        ("$.history[1].end", "1996-03"),
        ("$.history[1].total", "491.40"),
        ("$.history[1].base", "420.00"),
        ("$.history[1].rate", "0.03"),
        ("$.history[1].employer_name", "威海第二机床厂"),
    ):
        type_into(d, path, value)
    choose(d, "$.history[1].category", "pre_account")
    choose(d, "$.history[1].source", "red_book")
    choose(d, "$.history[1].employer_kind", "enterprise")
    submit_form(d, "填入社保记录的养老账户")
    assert field(d, "$.history[0].end").get_attribute("value") == "1993-05"
    submit_form(d, "保存")

    # refused: the finding at its line, in Chinese, with its one-click fix
    assert "已保存 · 版本" not in main_text(d)
    notes = d.find_elements(
        "xpath", "//p[contains(@class, 'note')][contains(., '跨越 1992-12/1993-01')]"
    )
    assert len(notes) == 1, main_text(d)
    note = notes[0]
    assert "history.crosses-box" in note.text
    assert "1992-12 及以前录入上面的框" in note.text
    # at its line: the row just below the first line's, which the summary links to
    line = note.find_element("xpath", "./ancestor::tr[1]/preceding-sibling::tr[1]")
    start = line.find_element("css selector", '[name="$.history[0].start"]')
    summary = d.find_element("css selector", ".editor-summary")
    assert "跨越 1992-12/1993-01" in summary.text
    link = summary.find_element("css selector", f'a[href="#{start.get_attribute("id")}"]')
    assert "第 1 行" in link.text, link.text
    assert field(d, "$.history[0].end").get_attribute("value") == "1993-05"  # the form kept
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", note)
    screenshot(d, "editor")
    fix = note.find_element("css selector", "button.fix-button")
    assert fix.text.endswith("拆分为 1983-07..1992-12;1993-01..1993-05"), fix.text
    submit_form(d, fix.text)
    assert field(d, "$.history[0].end").get_attribute("value") == "1992-12"
    assert field(d, "$.history[1].start").get_attribute("value") == "1993-01"
    assert field(d, "$.history[1].end").get_attribute("value") == "1993-05"
    assert field(d, "$.history[2].start").get_attribute("value") == "1993-06"
    submit_form(d, "保存")
    assert "已保存 · 版本 1" in main_text(d), main_text(d)

    # [P3.4] the two others from a dossier the payroll software wrote
    roster = json.loads(example_dossier_text())
    roster["workers"] = roster["workers"][1:]
    upload = web.folder / "roster.json"
    upload.write_text(json.dumps(roster, ensure_ascii=False), encoding="utf-8")
    workers_list(d)
    d.find_element("link text", "上传 Excel 名册或 JSON 数据文件 [P3.4]").click()
    by_label(d, "名册文件").send_keys(str(upload))
    submit_form(d, "导入并保存")
    assert "已导入并保存 2 名职工" in messages(d), messages(d)
    workers_list(d, "已保存")
    for person_no in (FIRST, SECOND, THIRD):
        assert "已保存" in row_of(d, person_no).text

    # [P3.5] confirmation forms, three copies each
    forms = print_forms(d, "confirmation")
    text = pdf_text(forms)
    assert len(forms.pages) % 3 == 0, len(forms.pages)
    assert len(forms.pages) >= 9, len(forms.pages)
    for person_no in (FIRST, SECOND, THIRD):
        assert text.count(person_no) >= 3, person_no
    # [P3.4g] signed forms and handbooks back
    receive(d, None)

    # meanwhile, at the bureau: another employer takes the second worker over
    second = web.person_no(1)
    web.at_bureau(lambda bureau: bureau.transfer_person(second, OTHER_UNIT))

    # [P3.6] the summary sheet, then submit (once the employer's declaration
    # has its answer: the dashboard says to follow it first)
    dashboard(d, web)
    follow_on_dashboard(d)
    screenshot(d, "dashboard", whole=True)
    actions = d.find_element("css selector", ".dashboard-actions")
    summary = read_pdf(
        download(d, actions.find_element("xpath", ".//button[contains(., '打印汇总表')]").click)
    )
    assert "汇总表" in pdf_text(summary)
    submit_form(d, "提交申报")
    assert "workers-" in messages(d) or "已提交" in messages(d), messages(d)

    # [P3.7] follow: partly succeeded, the second worker failed with the bureau's reason
    follow(d, web, "部分成功")
    outcomes = d.find_element("css selector", "table.outcomes").text
    failed = [r for r in outcomes.splitlines() if "处理失败" in r or "失败" in r]
    assert len(failed) == 1, outcomes
    assert "bureau.other-employer" in failed[0], outcomes
    screenshot(d, "declaration", whole=True)

    # the window hands the worker back; the clerk records the visit
    web.at_bureau(lambda bureau: bureau.transfer_person(second, UNIT))
    d.find_element("link text", "重新采集名单").click()
    by_label(d, "办理情况说明").send_keys("窗口已办理转回")
    submit_form(d, "登记窗口办理")
    # [P3.3a] a data sync, a new verification form, then collect again
    dashboard(d, web)
    submit_form(d, "数据同步")
    workers_list(d, "处理失败")
    forms = print_forms(d, "verification", [SECOND])
    assert len(forms.pages) == 1
    assert SECOND in pdf_text(forms)
    open_editor(d, SECOND)
    submit_form(d, "保存")
    assert "已保存(第" in messages(d), messages(d)
    assert "已采集,尚未申报" in main_text(d), main_text(d)
    workers_list(d, "已保存")
    forms = print_forms(d, "confirmation", [SECOND])
    assert len(forms.pages) % 3 == 0
    assert SECOND in pdf_text(forms)
    receive(d, [SECOND])
    dashboard(d, web)
    actions = d.find_element("css selector", ".dashboard-actions")
    read_pdf(
        download(d, actions.find_element("xpath", ".//button[contains(., '打印汇总表')]").click)
    )
    submit_form(d, "提交申报")
    follow(d, web, "处理成功")
    dashboard(d, web)
    assert "所有职工均已处理成功" in main_text(d), main_text(d)

    # the audit: the first worker's changes, who made them and when
    workers_list(d)
    row_of(d, FIRST).find_element("link text", "审计").click()
    actions = [
        (r.find_element("css selector", ".audit-actor").text, r.text)
        for r in d.find_elements("css selector", "table.audit-table tbody tr")
    ]
    assert any(a == "clerk-sun" and "worker.saved" in t for a, t in actions), actions
    assert any("worker.received" in t for _, t in actions), actions
