"""The clerk's work by keyboard alone (issue 14, "Must show": "the loop doable
by keyboard, a browser test tabs through the editor"): in headless Chromium,
only TAB, SHIFT+TAB, ENTER, SPACE, arrow keys and typed text, never a click.

Sign in; the skip link is the first stop of every page and takes the focus
to the content; reach the worker list through the header's navigation and a
worker's editor through its link; in the editor fill the history and the
account from the bureau's record with their buttons, type a field, choose an
option, and save. Every element the focus lands on shows it (an outline or a
box shadow); every control of the editor's form is reached by TAB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from browser import (
    CLERK,
    PASSWORD,
    Focus,
    WebServer,
    describe,
    focus_visible,
    press,
    ready_to_collect,
    tab_through,
    wait_for_new_page,
)
from selenium.webdriver.common.keys import Keys

#: The most TAB presses a page may need to reach what is looked for.
MOST = 400
#: TAB presses sent at a time.
BATCH = 12


PREPARE = [ready_to_collect]


def active(driver: Any) -> Any:
    return driver.switch_to.active_element


def wait_for_page(driver: Any, old: Any) -> None:
    """Wait until the page holding ``old`` (an element) is replaced."""
    wait_for_new_page(driver, old)


def tab_to(driver: Any, wanted: Callable[[Any], bool], what: str) -> list[Focus]:
    """TAB until the focused element is ``wanted`` (TABs go in batches; the
    presses past it are taken back with SHIFT+TAB); every stop on the way
    showed the focus. The stops, the wanted one last."""
    stops: list[Focus] = []
    while len(stops) < MOST:
        batch = tab_through(driver, BATCH)
        for i, stop in enumerate(batch):
            stops.append(stop)
            assert stop.visible, f"the focus does not show on {stop.name} ({driver.current_url})"
            if wanted(stop.element):
                back = len(batch) - 1 - i
                if back:
                    tab_through(driver, back, back=True)
                for _ in range(BATCH):  # presses past the page's end left no stop
                    if active(driver) == stop.element:
                        return stops
                    tab_through(driver, 1, back=True)
                raise AssertionError(f"SHIFT+TAB did not come back to {stop.name}")
    raise AssertionError(f"{what} not reached in {MOST} TAB presses: {[s.name for s in stops]}")


def activate(driver: Any, key: str = Keys.ENTER) -> None:
    """Press ``key`` on the focused link or button and wait for the next page."""
    html = driver.find_element("tag name", "html")
    press(driver, key)
    wait_for_page(driver, html)


def named(name: str) -> Callable[[Any], bool]:
    return lambda e: e.get_attribute("name") == name


def text_is(text: str) -> Callable[[Any], bool]:
    return lambda e: (e.text or "").strip() == text


def skip_link_first(driver: Any) -> None:
    """The page's first TAB stop is the skip link, shown on screen while
    focused; ENTER on it moves the focus to the content."""
    (first,) = tab_through(driver, 1)
    assert "skip-link" in (first.element.get_attribute("class") or ""), first.name
    assert first.visible, first.name
    top = driver.execute_script("return arguments[0].getBoundingClientRect().top", first.element)
    assert top >= 0, f"the focused skip link is off screen ({top})"
    press(driver, Keys.ENTER)
    assert active(driver).get_attribute("id") == "main", describe(active(driver))
    (after,) = tab_through(driver, 1)
    inside = driver.execute_script(
        "return document.getElementById('main').contains(arguments[0])", after.element
    )
    assert inside, f"after the skip link TAB went to {after.name}, outside the content"


def test_the_editor_by_keyboard(browser: Any, web: WebServer) -> None:
    d = browser
    d.delete_all_cookies()
    d.get(web.url + "/login")

    # sign in: the name field has the focus; TAB to the password; ENTER sends
    assert active(d).get_attribute("name") == "name", describe(active(d))
    assert focus_visible(d, active(d))
    press(d, CLERK)
    (password,) = tab_through(d, 1)
    assert password.element.get_attribute("name") == "password", password.name
    assert password.visible
    press(d, PASSWORD)
    activate(d)
    assert d.current_url == web.url + "/", d.current_url

    # the dashboard: the skip link first; the header's navigation to the workers
    skip_link_first(d)
    d.get(web.url + "/")
    tab_to(d, text_is("职工"), "the navigation's link to the workers")
    activate(d)
    assert d.current_url.startswith(web.url + "/workers"), d.current_url

    # the worker list: the skip link first; the first worker's editor by its link
    skip_link_first(d)
    tab_to(d, lambda e: (e.get_attribute("href") or "").endswith("/edit"), "an editor link")
    activate(d)
    assert d.current_url.endswith("/edit"), d.current_url

    # the editor: fill the history from the bureau's record (ENTER on the button)
    skip_link_first(d)
    tab_to(d, text_is("填入社保记录的缴费历史"), "the history's fill button")
    activate(d)
    # ... and the account (SPACE on the button)
    tab_to(d, text_is("填入社保记录的养老账户"), "the account's fill button")
    activate(d, Keys.SPACE)

    # every control of the form, by TAB from the page's start to the save button:
    # type the ethnicity, choose the household kind with an arrow key
    reached: set[str] = set()
    stops = tab_to(d, named("$.ethnicity"), "the ethnicity field")
    press(d, "汉族")
    stops += tab_to(d, named("$.hukou"), "the household kind")
    press(d, Keys.ARROW_DOWN)
    stops += tab_to(d, text_is("保存"), "the save button")
    reached = {s.element.get_attribute("name") or "" for s in stops}
    controls = d.execute_script(
        "return Array.from(document.querySelectorAll("
        "'form.editor-form input[name]:not([type=hidden]), form.editor-form select[name]'"
        ")).filter(e => !e.disabled).map(e => e.name)"
    )
    assert len(controls) > 40, controls  # personal fields, a history line, 17 account years
    missed = [c for c in controls if c not in reached]
    assert not missed, f"not reached by TAB: {missed}"
    typed = d.find_element("css selector", '[name="$.ethnicity"]').get_attribute("value")
    assert typed == "汉族", typed
    hukou = d.find_element("css selector", '[name="$.hukou"]').get_attribute("value")
    assert hukou, "the arrow key chose no household kind"

    # save with ENTER on the save button
    activate(d)
    said = " ".join(m.text for m in d.find_elements("css selector", ".messages .message"))
    assert "已保存(第 1 版)" in said, said
    assert d.find_element("css selector", '[name="$.ethnicity"]').get_attribute("value") == "汉族"


def test_the_focus_check_sees_a_hidden_focus(browser: Any, web: WebServer) -> None:
    """The check itself: a control whose focus style is taken away (its outline
    and shadow set to none) is reported as not showing the focus."""
    browser.delete_all_cookies()
    browser.get(web.url + "/login")
    assert active(browser).get_attribute("name") == "name"
    browser.execute_script(
        "const e = document.getElementById('password');"
        "e.style.outline = 'none'; e.style.boxShadow = 'none';"
    )
    hidden, shown = tab_through(browser, 2)
    assert hidden.element.get_attribute("name") == "password", hidden.name
    assert not hidden.visible
    assert shown.element.tag_name == "button", shown.name
    assert shown.visible
