"""Accessibility of every page in a real browser (issue 14, "Must show"):
axe-core (tests/fixtures/axe-core, WCAG 2 A and AA rules) finds no violation
of impact serious or critical on the sign-in page, the dashboard, the worker
list, the worker editor, the declarations and the audit page; every form
control is labelled.

The pages are seen with something on them: before the server starts the
library carries the example employer to a concluded declaration in which the
bureau failed one worker (taken over by another employer), so the
declarations page shows outcomes and the re-collection list; one worker is
left to collect, whose editor is seen refusing a mistake with its findings.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser import (
    WebServer,
    ready_to_collect,
    run_axe,
    serious,
    sign_in,
    submit_form,
)

OTHER_UNIT = "10099999"


def prepare(web: WebServer) -> None:
    """The loop up to a partly succeeded declaration, through the library: the
    first two workers collected and declared, the bureau fails the second
    (another employer took them over, ``bureau.other-employer``); the third
    is left to collect (its editor is open for typing)."""
    ready_to_collect(web)
    dossier = web.example()
    with web.session() as session:
        batch = session.save_workers(dossier.workers[:2])  # the third left to collect
        assert not batch.refused, batch.refused
        session.print_confirmation_forms()
        session.record_received([w.key for w in session.workers()])
        session.print_summary_sheet()
        person = web.person_no(1)
        web.at_bureau(lambda bureau: bureau.transfer_person(person, OTHER_UNIT))
        declaration = session.submit_declaration()
        for _ in range(3):  # local:DIR advances a declaration one stage per read
            session.refresh(declaration.key)
        assert session.failed_workers(), "the bureau failed no worker"


PREPARE = [prepare]

#: The header's navigation: page -> its link's text (Chinese, the default language).
NAV = {"dashboard": "工作台", "workers": "职工", "declarations": "申报", "audit": "审计"}


def unlabelled(driver: Any) -> list[str]:
    """The visible form controls without a label: no ``<label for>``, no
    enclosing ``<label>``, no ``aria-label`` or ``aria-labelledby``, no ``title``."""
    found: list[str] = driver.execute_script(
        """
        const out = [];
        for (const e of document.querySelectorAll('input, select, textarea')) {
          if (e.type === 'hidden' || e.type === 'submit' || e.type === 'button') continue;
          if (!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)) continue;
          const named = (e.labels && e.labels.length) || e.getAttribute('aria-label')
            || e.getAttribute('aria-labelledby') || e.getAttribute('title');
          if (!named) out.push(e.outerHTML.slice(0, 160));
        }
        return out;
        """
    )
    return found


def check_page(driver: Any, page: str) -> None:
    """No serious or critical axe violation and no unlabelled control on the page."""
    problems = serious(run_axe(driver))
    assert not problems, f"{page} ({driver.current_url}):\n" + "\n".join(problems)
    missing = unlabelled(driver)
    assert not missing, f"{page}: controls without a label: {missing}"


def open_nav(driver: Any, page: str) -> None:
    """Follow the header's link to ``page`` (as a clerk would)."""
    link = driver.find_element("css selector", "nav.site-nav").find_element("link text", NAV[page])
    link.click()
    assert driver.find_element("tag name", "h1").text, page


def test_sign_in_page(browser: Any, web: WebServer) -> None:
    browser.delete_all_cookies()
    browser.get(web.url + "/login")
    check_page(browser, "login")


def test_the_check_finds_what_it_looks_for(browser: Any, web: WebServer) -> None:
    """The check itself: an unlabelled input and grey-on-white text planted on
    the sign-in page are found, named by rule and selector."""
    browser.delete_all_cookies()
    browser.get(web.url + "/login")
    browser.execute_script(
        """
        const input = document.createElement('input');
        input.id = 'planted-input';
        document.querySelector('main').appendChild(input);
        const faint = document.createElement('p');
        faint.id = 'planted-text';
        faint.textContent = '浅灰色的说明文字 faint text';
        faint.style.color = '#bbbbbb';  // set from script: the CSP allows it
        faint.style.background = '#ffffff';
        document.querySelector('main').appendChild(faint);
        """
    )
    problems = serious(run_axe(browser))
    assert any(p.startswith("label (critical)") and "#planted-input" in p for p in problems), (
        problems
    )
    assert any(
        p.startswith("color-contrast (serious)") and "#planted-text" in p for p in problems
    ), problems
    assert unlabelled(browser) == ['<input id="planted-input">']


@pytest.mark.parametrize("page", list(NAV))
def test_page(browser: Any, web: WebServer, page: str) -> None:
    sign_in(browser, web)
    open_nav(browser, page)
    check_page(browser, page)


def test_editor(browser: Any, web: WebServer) -> None:
    sign_in(browser, web)
    open_nav(browser, "workers")
    editors = browser.find_elements("css selector", "table.workers-table a[href$='/edit']")
    assert len(editors) == 3, "the worker list shows no worker to open"
    editors[0].click()
    assert browser.find_elements("css selector", "form.editor-form"), browser.current_url
    check_page(browser, "editor")


def test_editor_with_findings(browser: Any, web: WebServer) -> None:
    """The editor refusing a save: findings at their fields, fix buttons, the summary."""
    sign_in(browser, web)
    open_nav(browser, "workers")
    row = [
        r
        for r in browser.find_elements("css selector", "table.workers-table tbody tr")
        if "未采集" in r.text
    ]
    assert len(row) == 1, [r.text for r in row]
    row[0].find_element("css selector", "a[href$='/edit']").click()
    submit_form(browser, "填入社保记录的缴费历史")
    end = browser.find_element("css selector", '[name="$.history[0].end"]')
    end.clear()
    end.send_keys("1993-05")
    submit_form(browser, "检查")
    assert browser.find_elements("css selector", ".editor-summary"), browser.current_url
    check_page(browser, "editor with findings")
    # landmarks of one name would leave a screen reader guessing which is which
    # (axe's best-practice rule landmark-unique: the account part and its one
    # section once shared the name 养老账户)
    twins = [v["id"] for v in run_axe(browser, ("best-practice",)) if v["id"] == "landmark-unique"]
    assert twins == []


def test_declaration_and_recollection(browser: Any, web: WebServer) -> None:
    sign_in(browser, web)
    open_nav(browser, "declarations")
    browser.find_element("css selector", "table.declarations tbody tr th a").click()
    assert browser.find_elements("css selector", "table.outcomes"), browser.current_url
    check_page(browser, "declaration")
    browser.find_element("link text", "重新采集名单").click()
    assert browser.find_elements("css selector", ".recollect-item"), browser.current_url
    check_page(browser, "re-collection list")


def test_the_pages_that_keep_what_was_typed(browser: Any, web: WebServer) -> None:
    """A form posted after the sign-in ended (its cookie gone): the page of the
    values typed, a text box (the employer information) and a text area (a
    window visit's note), each labelled (docs/web.md, "A stale form")."""
    sign_in(browser, web)
    browser.get(web.url + "/employer")
    contact = browser.find_element("id", "employer-contact")
    contact.clear()
    contact.send_keys("王五")
    browser.delete_cookie("pension_collect_session")  # the sign-in ended
    submit_form(browser, "保存单位信息")
    assert browser.find_element("id", "kept-reason").text, browser.current_url
    boxes = browser.find_elements("css selector", "form.kept-form input[name=contact]")
    assert [b.get_attribute("value") for b in boxes] == ["王五"]
    check_page(browser, "employer information kept")
    sign_in(browser, web)
    browser.get(web.url + "/recollection")
    browser.find_element("css selector", "textarea[name=note]").send_keys("窗口已办理")
    browser.delete_cookie("pension_collect_session")
    submit_form(browser, "登记窗口办理")
    notes = browser.find_elements("css selector", "form.kept-form textarea[name=note]")
    assert [n.get_attribute("value") for n in notes] == ["窗口已办理"]
    check_page(browser, "window visit's note kept")


@pytest.mark.parametrize(
    ("page", "path"),
    [
        ("employer", "/employer"),
        ("roster import", "/workers/import"),
        ("account", "/account"),
        ("not found", "/workers/000000000000000000000000/edit"),
    ],
)
def test_other_pages(browser: Any, web: WebServer, page: str, path: str) -> None:
    sign_in(browser, web)
    browser.get(web.url + path)
    check_page(browser, page)


def test_english(browser: Any, web: WebServer) -> None:
    """The dashboard in English (the header's language switch), then back to Chinese."""
    sign_in(browser, web)
    browser.find_element("link text", "English").click()
    try:
        assert browser.find_element("tag name", "html").get_attribute("lang") == "en"
        check_page(browser, "dashboard in English")
    finally:
        browser.find_element("link text", "中文").click()
    assert browser.find_element("tag name", "html").get_attribute("lang").startswith("zh")
