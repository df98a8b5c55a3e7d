"""The worker editor in a real browser (headless Chromium, tests/browser.py):
static/app.js adds a line to a box in the page, without a round trip, the way
the server adds it; the keyboard reaches the form in the red book's order with
the focus shown; a refused save has no serious axe violation; a save after
the sign-in ended elsewhere loses nothing typed.
"""

from __future__ import annotations

from typing import Any

from browser import WebServer, by_label, run_axe, serious, sign_in, submit_form, tab_through
from selenium.webdriver.support.ui import Select, WebDriverWait

from pension_collect.workflow import CollectionSession


def prepare(web: WebServer) -> None:
    """The example employer up to [P3.2]: synced, declared, verification forms printed."""
    dossier = web.example()
    with web.session() as session:
        session.start()
        session.sync()
        session.collect_employer(dossier.employer)
        session.submit_employer_declaration()
        session.print_verification_forms()


PREPARE = [prepare]


def open_first(driver: Any, web: WebServer) -> None:
    """The editor of the example's first worker, from the worker list."""
    sign_in(driver, web)
    driver.get(web.url + "/workers")
    person_no = web.person_no(0)
    for row in driver.find_elements("css selector", "main table tbody tr"):
        if person_no in row.text:
            row.find_element("css selector", "a[href$='/edit']").click()
            break
    else:
        raise AssertionError(f"no row of {person_no}")
    assert driver.current_url.endswith("/edit")


def named(driver: Any, path: str) -> Any:
    return driver.find_element("css selector", f'[name="{path}"]')


def test_a_line_is_added_in_the_page_and_saved(browser: Any, web: WebServer) -> None:
    d = browser
    open_first(d, web)
    submit_form(d, "填入社保记录的缴费历史")  # the bureau's upper box: 1983-07..1992-12
    submit_form(d, "填入社保记录的养老账户")
    d.execute_script("window.sameDocument = true;")
    d.find_element("css selector", "button[value='add:upper']").click()
    assert d.execute_script("return window.sameDocument === true;")  # no page load
    start = by_label(d, "第 2 行 起始年月")
    assert start.get_attribute("name") == "$.history[1].start"
    assert start.get_attribute("value") == ""
    assert d.switch_to.active_element == start
    assert Select(named(d, "$.history")).first_selected_option.get_attribute("value") == "yes"
    assert d.find_element("css selector", "button[value='remove:history:1']").text == "删除第 2 行"
    for label, value in (
        ("第 2 行 起始年月", "1993年1月"),
        ("第 2 行 终止年月", "1996.03"),
        ("第 2 行 缴费合计", "491.4"),
        ("第 2 行 缴费基数", "420"),
        ("第 2 行 缴费比例", "3%"),
        ("第 2 行 单位名称", "威海第二机床厂"),
    ):
        by_label(d, label).send_keys(value)
    Select(by_label(d, "第 2 行 账户类别")).select_by_value("pre_account")
    Select(by_label(d, "第 2 行 来源")).select_by_value("red_book")
    submit_form(d, "保存")
    assert "已保存" in d.find_element("css selector", ".messages").text
    # shown again from the store: the line is in the lower box now
    lower = d.find_element("css selector", "section.section-lower")
    assert (
        lower.find_element("css selector", '[name="$.history[1].start"]').get_attribute("value")
        == "1993-01"
    )
    dossier = web.example()
    with web.session() as session:
        stored = session.worker(CollectionSession.key_of(dossier.workers[0]))
    assert stored.worker.history == dossier.workers[0].history
    assert stored.worker.account == dossier.workers[0].account


def test_keyboard_order_and_a_refused_save(browser: Any, web: WebServer) -> None:
    d = browser
    open_first(d, web)
    d.find_element("id", "main").click()
    focused = tab_through(d, 16)
    names = [
        f.element.get_attribute("value" if f.element.tag_name == "button" else "name")
        for f in focused
    ]
    assert all(f.visible for f in focused), focused
    order = ["check", "$.id_number", "$.name", "$.gender", "$.first_work", "$.history"]
    positions = [names.index(n) for n in order]
    assert positions == sorted(positions), names
    by_label(d, "参加工作时间").clear()
    by_label(d, "参加工作时间").send_keys("1983/13")
    submit_form(d, "保存")
    first_work = by_label(d, "参加工作时间")
    assert first_work.get_attribute("aria-invalid") == "true"
    assert first_work.get_attribute("value") == "1983/13"
    summary = d.find_element("css selector", ".editor-summary")
    assert "web.field-unreadable" in summary.text
    problems = serious(run_axe(d))
    assert not problems, "\n".join(problems)


def test_a_save_after_the_sign_in_ended_loses_nothing_typed(browser: Any, web: WebServer) -> None:
    """The clerk types in the editor; meanwhile the sign-in ends (signed out
    in another tab); Save: nothing saved, what was typed is on the page
    (axe: no serious violation); signed in again in the tab the page's link
    opens, "Back to the editor" shows it in the editor again, Save saves it."""
    d = browser
    open_first(d, web)
    editor = d.current_window_handle
    submit_form(d, "填入社保记录的缴费历史")
    submit_form(d, "填入社保记录的养老账户")
    typed = by_label(d, "参加工作时间")
    typed.clear()
    typed.send_keys("1983年7月")  # as the clerk types it, not as the library writes it
    d.switch_to.new_window("tab")  # the sign-in ends elsewhere
    d.get(web.url + "/account")
    submit_form(d, "退出登录")
    d.close()
    d.switch_to.window(editor)
    submit_form(d, "保存")
    assert "请在新标签页中重新登录" in d.find_element("id", "kept-reason").text
    assert by_label(d, "参加工作时间").get_attribute("value") == "1983年7月"
    assert by_label(d, "缴费历史 第 1 行 终止年月").get_attribute("value") == "1992-12"
    problems = serious(run_axe(d))
    assert not problems, "\n".join(problems)
    with web.session() as session:
        before = session.worker(CollectionSession.key_of(web.example().workers[0])).version

    d.find_element("id", "kept-sign-in").click()  # a new tab (target=_blank)
    WebDriverWait(d, 30).until(lambda driver: len(driver.window_handles) == 2)
    d.switch_to.window(next(h for h in d.window_handles if h != editor))
    sign_in(d, web)
    d.close()
    d.switch_to.window(editor)
    submit_form(d, "放回编辑器(不保存)")
    assert "未保存:该页面已过期" in d.find_element("css selector", ".messages").text
    assert by_label(d, "参加工作时间").get_attribute("value") == "1983年7月"
    with web.session() as session:
        assert session.worker(CollectionSession.key_of(web.example().workers[0])).version == before
    submit_form(d, "保存")
    assert "已保存" in d.find_element("css selector", ".messages").text
    dossier = web.example()
    with web.session() as session:
        stored = session.worker(CollectionSession.key_of(dossier.workers[0]))
    assert stored.version == before + 1
    assert stored.worker.first_work == dossier.workers[0].first_work
    # the bureau's lines filled in: the upper box (1983-07..1992-12) only
    assert stored.worker.history == dossier.workers[0].history[:1]
