"""The browser tests' helpers (docs/web.md, "Browser tests"; not a test module).

One headless Chromium for the whole test session (Debian's ``/usr/bin/chromium``
driven through ``/usr/bin/chromedriver`` by selenium, never a browser or driver
selenium-manager would download), and one web server per test module, started
as a clerk's administrator would: through the real console script.

    from browser import WebServer, sign_in, by_label, run_axe

    def test_x(browser, web):                 # fixtures: conftest.py imports them
        sign_in(browser, web)                 # the module's clerk
        browser.get(web.url + "/workers")
        by_label(browser, "搜索").send_keys("张")

The fixtures:

* ``browser`` (session): the driver; skipped, with the reason, when chromium or
  chromedriver is missing (CI fails on any skip: .ci/run installs them);
* ``web`` (module): ``pension-collect bureau seed --data DIR`` (the example
  dossier), ``pension-collect web adduser`` (the password from
  ``$PENSION_COLLECT_WEB_PASSWORD``), then ``pension-collect web --store
  sqlite:PATH --bureau local:DIR --host 127.0.0.1 --port FREE``, waited for on
  ``/health`` and stopped by SIGTERM after the module. A test module may set
  ``PREPARE`` to a list of steps run before the server starts: collection
  commands on the same store and bureau (``("start",)``, ``("sync",)``) or
  functions of the :class:`WebServer` (``ready_to_collect``: up to the
  verification forms; ``web.at_bureau(...)``: what only the bureau does).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CHROMEDRIVER",
    "CHROMIUM",
    "CLERK",
    "IMAGES",
    "PASSWORD",
    "UNIT",
    "Focus",
    "WebServer",
    "browser",
    "by_label",
    "console_script",
    "describe",
    "download",
    "downloads",
    "focus_visible",
    "missing_browser",
    "new_driver",
    "press",
    "ready_to_collect",
    "run_axe",
    "screenshot",
    "serious",
    "sign_in",
    "start_web",
    "submit_form",
    "tab_through",
    "web",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The repository (screenshots go to its docs/img).
ROOT = Path(__file__).resolve().parents[3]
IMAGES = ROOT / "docs" / "img"
AXE = Path(__file__).resolve().parent / "fixtures" / "axe-core" / "axe.min.js"
#: The example dossier's employer, its clerk and the clerk's password (strong
#: enough for ``password_problem``; a test password, never a default).
UNIT = "10012345"
CLERK = "clerk-sun"
PASSWORD = "Weihai-collect-2013!"
#: Chromium's flags: headless, no network of its own, a fixed window.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
#: How long a page may take (the server shares 2 cores with other work).
WAIT = 30.0


# -- the browser ----------------------------------------------------------------------------


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: apt-get install {package} (Debian; .ci/run installs it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is missing: pip install -e 'plugins/pension-collect-web[test]'"
    return None


def new_driver(profile: Path) -> Any:
    """A headless Chromium with a fresh profile in ``profile`` (selenium never
    looks for or downloads a driver: the paths are given and SE_OFFLINE is set)."""
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    downloads = profile / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    driver.set_page_load_timeout(WAIT)
    return driver


def downloads(driver: Any) -> set[Path]:
    """The files downloaded and not yet taken by :func:`download` (complete ones)."""
    folder: Path = driver.downloads
    return {
        p for p in folder.iterdir() if p.is_file() and not p.name.endswith((".crdownload", ".tmp"))
    }


def download(driver: Any, click: Callable[[], object], timeout: float = WAIT) -> Path:
    """Do ``click`` (a form's print button) and wait for the one file it downloads;
    it is moved aside (``downloads/taken/N-NAME``), so that the next download
    of the same name is seen too (Chrome would write over it)."""
    folder: Path = driver.downloads
    taken = folder / "taken"
    taken.mkdir(exist_ok=True)
    for left in downloads(driver):
        left.rename(taken / f"left-{time.monotonic_ns()}-{left.name}")
    click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = downloads(driver)
        partial = [p for p in folder.iterdir() if p.name.endswith(".crdownload")]
        if new and not partial:
            (found,) = new
            kept = taken / f"{len(list(taken.iterdir())) + 1}-{found.name}"
            found.rename(kept)
            return kept
        time.sleep(0.1)
    shown = driver.find_elements("css selector", ".messages, [role=alert]")
    said = " / ".join(m.text for m in shown)
    raise AssertionError(f"nothing was downloaded from {driver.current_url}; the page says: {said}")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's headless Chromium (skipped, saying why, without one)."""
    reason = missing_browser()
    if reason is not None:
        pytest.skip(reason)
    driver = new_driver(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


# -- the web server -------------------------------------------------------------------------


def console_script() -> str:
    """The ``pension-collect`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("pension-collect")
    if beside.exists():
        return str(beside)
    found = shutil.which("pension-collect")
    if found is None:
        raise RuntimeError("the pension-collect console script is not installed")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class WebServer:
    """A ``pension-collect web`` process over a SQLite store and a ``local:DIR``
    bureau in ``folder``, with one clerk of the example employer."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bureau_dir = folder / "bureau"
        self.store = folder / "collection.db"
        self.accounts = folder / "web-accounts.db"
        self.dossier = folder / "dossier.json"
        self.log_path = folder / "web-server.log"
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"WebServer(url={self.url!r})"

    @property
    def store_url(self) -> str:
        return f"sqlite:{self.store}"

    @property
    def bureau_url(self) -> str:
        return f"local:{self.bureau_dir}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of the commands: nothing of the caller's ``PENSION_COLLECT_*``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PENSION_COLLECT_")}
        env.update(extra)
        return env

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``pension-collect ARGS`` in the folder; raises with its output when it fails
        (exit 1 of ``follow``/``collect``, "done, something to act on", passes)."""
        done = subprocess.run(
            [console_script(), *args],
            cwd=self.folder,
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(
                f"pension-collect {args[0]} failed ({done.returncode}): "
                f"{done.stderr.strip()[-2000:]}"
            )
        return done

    def collection(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """A collection command (``start``, ``sync``, ``employer dossier.json`` ...)
        on the server's store and bureau, as the clerk's employer."""
        return self.run(
            command,
            *args,
            "--store",
            self.store_url,
            "--bureau",
            self.bureau_url,
            env=self.env(PENSION_COLLECT_UNIT=UNIT, PENSION_COLLECT_ACTOR="clerk-cli"),
        )

    def at_bureau(self, change: Callable[[Any], object]) -> None:
        """What only the bureau does (its window, its back office): ``change``
        is called with the reference bureau of ``local:DIR`` (SQLite state,
        shared with the server's process)."""
        from pension_collect.adapters.reference_bureau import ReferenceBureau

        bureau = ReferenceBureau.open(self.bureau_dir)
        try:
            change(bureau)
        finally:
            bureau.close()

    @contextlib.contextmanager
    def session(self, actor: str = "clerk-lib") -> Iterator[Any]:
        """A ``CollectionSession`` of the clerk's employer over the server's store
        and bureau, in this process (to prepare a state quickly; the pages are
        tested through the browser)."""
        from pension_collect.plugins import PluginHost
        from pension_collect.workflow import CollectionSession

        host = PluginHost()
        storage = host.open_storage(self.store_url)
        transport = host.open_transport(self.bureau_url)
        try:
            with CollectionSession(
                storage, transport, unit_no=UNIT, actor=actor, host=host, as_of=self.as_of()
            ) as session:
                yield session
        finally:
            transport.close()
            storage.close()

    def example(self) -> Any:
        """The example dossier (as seeded)."""
        from pension_collect.dossier import loads

        return loads(self.dossier.read_text(encoding="utf-8"))

    def as_of(self) -> Any:
        """The example dossier's collection month (the server's ``--as-of``)."""
        return self.example().as_of

    def person_no(self, index: int) -> str:
        """The person number of the example dossier's worker ``index``."""
        doc = json.loads(self.dossier.read_text(encoding="utf-8"))
        number: str = doc["workers"][index]["person_no"]
        return number

    def seed(self) -> str:
        """``pension-collect bureau seed``: the example employer and its three workers
        at the bureau; its output (the initial password it prints once is the
        HTTP server's; ``local:DIR`` needs none)."""
        from pension_collect.dossier import example_dossier_text

        self.dossier.write_text(example_dossier_text(), encoding="utf-8")
        return self.run("bureau", "seed", "--data", str(self.bureau_dir), str(self.dossier)).stdout

    def add_clerk(self, name: str = CLERK, unit: str = UNIT, password: str = PASSWORD) -> None:
        """``pension-collect web adduser NAME --unit UNIT``, the password from the environment."""
        self.run(
            "web",
            "adduser",
            name,
            "--unit",
            unit,
            "--accounts",
            str(self.accounts),
            env=self.env(PENSION_COLLECT_WEB_PASSWORD=password),
        )

    def start(self, timeout: float = 60.0) -> None:
        """Serve on 127.0.0.1 on a free port; wait until ``/health`` answers 200."""
        if self.process is not None:
            raise RuntimeError("the web server is running already")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [
            console_script(),
            "web",
            "--store",
            self.store_url,
            "--bureau",
            self.bureau_url,
            "--accounts",
            str(self.accounts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--as-of",
            str(self.as_of()),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                cwd=self.folder,
                env=self.env(),
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"the web server ended ({code}): {self.logs()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "/health", timeout=5) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the web server does not answer /health: {self.logs()[-2000:]}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (SIGKILL to its process group after ``timeout``); its exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        return process.returncode

    def logs(self) -> str:
        """What the server wrote so far (standard output and error)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def get(self, path: str) -> tuple[int, bytes]:
        """A plain GET (no cookie): the status and body."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=WAIT) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def ready_to_collect(web: WebServer) -> None:
    """A ``PREPARE`` step: [P3]..[P3.2] through the library, the workers ready to
    collect (started, synced, the employer collected and its declaration
    submitted, the verification forms printed)."""
    dossier = web.example()
    with web.session() as session:
        session.start()
        session.sync()
        session.collect_employer(dossier.employer)
        session.submit_employer_declaration()
        session.print_verification_forms()


#: A preparation step: a collection command's arguments, or a function of the server.
Prepare = Sequence[str] | Callable[["WebServer"], object]


def start_web(folder: Path, prepare: Sequence[Prepare] = ()) -> WebServer:
    """Seed the bureau, add the clerk, run the ``prepare`` steps, serve."""
    folder.mkdir(parents=True, exist_ok=True)
    server = WebServer(folder)
    server.seed()
    server.add_clerk()
    for step in prepare:
        if callable(step):
            step(server)
        else:
            server.collection(*step)
    server.start()
    return server


@pytest.fixture(scope="module")
def web(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    """The module's web server (its module's ``PREPARE`` commands run first)."""
    prepare: Sequence[Prepare] = getattr(request.module, "PREPARE", ())
    server = start_web(tmp_path_factory.mktemp("web"), prepare)
    try:
        yield server
    finally:
        status = server.stop()
        assert status == 0 or status == -signal.SIGTERM, (status, server.logs()[-2000:])


# -- pages ----------------------------------------------------------------------------------


def _wait(driver: Any, condition: Any, timeout: float = WAIT) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _loaded(driver: Any) -> None:
    _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def sign_in(driver: Any, web: WebServer, name: str = CLERK, password: str = PASSWORD) -> None:
    """Sign in on ``/login`` through its labelled fields (nothing to do when the
    browser is signed in already: ``/login`` sends it on)."""
    driver.get(web.url + "/login")
    if "/login" not in driver.current_url:
        return
    by_label(driver, "用户名", "Name").send_keys(name)
    by_label(driver, "密码", "Password").send_keys(password)
    submit_form(driver)
    assert not driver.current_url.endswith("/login"), _page_text(driver)


def _page_text(driver: Any) -> str:
    text: str = driver.find_element("tag name", "body").text
    return text[:2000]


def submit_form(driver: Any, button: str | None = None, within: Any = None) -> None:
    """Press a form's submit button (the one whose text or value holds ``button``,
    else the first in ``within`` or the page) and wait for the next page."""
    root = within if within is not None else driver
    buttons = root.find_elements(
        "css selector", "button[type=submit], button:not([type]), input[type=submit]"
    )
    if button is not None:
        buttons = [
            b
            for b in buttons
            if button in (b.text or "") or button in (b.get_attribute("value") or "")
        ]
    assert buttons, f"no submit button {button!r} on {driver.current_url}"
    old = driver.find_element("tag name", "html")
    buttons[0].click()
    wait_for_new_page(driver, old)


def wait_for_new_page(driver: Any, old: Any) -> None:
    """Wait until the page holding ``old`` (an element) is replaced and the new
    one has loaded."""
    _wait(driver, lambda d: _gone(old))
    _loaded(driver)


#: What chromedriver answers, besides a stale-element error, when asked about
#: an element of a page the browser has just left (the new page's document is
#: taking its place): the element is gone all the same.
_GONE_MESSAGES = ("does not belong to the document", "No node with given id")


def _gone(element: Any) -> bool:
    """Whether ``element``'s page was replaced (selenium's ``staleness_of``,
    which takes chromedriver's "node ... does not belong to the document"
    answer, seen mid-navigation, for a failure)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if any(m in str(exc) for m in _GONE_MESSAGES):
            return True
        raise
    return False


def by_label(driver: Any, *texts: str) -> Any:
    """The form control labelled with one of ``texts``: a ``<label>`` holding the
    text (its ``for`` control, or the control inside it), or ``aria-label``.
    A control found another way would not be labelled: not found here."""
    for text in texts:
        for label in driver.find_elements("xpath", "//label"):
            if text not in label.text:
                continue
            target = label.get_attribute("for")
            if target:
                found = driver.find_elements("id", target)
                if found:
                    return found[0]
            inside = label.find_elements("css selector", "input, select, textarea")
            if inside:
                return inside[0]
        literal = json.dumps(text)
        found = driver.find_elements("css selector", f"[aria-label*={literal}]")
        if found:
            return found[0]
    raise AssertionError(
        f"no control labelled {texts!r} on {driver.current_url}:\n{_page_text(driver)}"
    )


def describe(element: Any) -> str:
    """A short name of an element: tag, id, name, text."""
    tag = element.tag_name
    ident = element.get_attribute("id") or element.get_attribute("name") or ""
    text = (element.text or element.get_attribute("value") or "").strip().splitlines()
    return f"<{tag}{'#' + ident if ident else ''}>{text[0][:40] if text else ''}"


class Focus:
    """One TAB press: the element focused after it, its short description and
    whether it was shown focused (:func:`focus_visible`) at that moment."""

    def __init__(self, element: Any, name: str, visible: bool) -> None:
        self.element = element
        self.name = name
        self.visible = visible

    def __repr__(self) -> str:
        return f"Focus({self.name!r}, visible={self.visible})"


_FOCUS_LOG = """
if (!window.__focusLog) {
  window.__focusLog = [];
  const look = (e) => {
    const s = getComputedStyle(e);
    return [s.outlineStyle, s.outlineWidth, s.boxShadow, s.borderColor, s.backgroundColor];
  };
  let probing = false;
  document.addEventListener('focusin', (event) => {
    if (probing) return;
    const e = event.target;
    const now = look(e);
    let visible = now[0] !== 'none' && now[1] !== '0px';
    if (!visible && e !== document.body) {
      probing = true;
      e.blur();
      const blurred = look(e);
      e.focus();
      probing = false;
      visible = JSON.stringify(now.slice(2)) !== JSON.stringify(blurred.slice(2));
    }
    const ident = e.id || e.getAttribute('name') || '';
    const text = ((e.innerText || e.value || '') + '').trim().split('\\n')[0].slice(0, 40);
    const name = '<' + e.tagName.toLowerCase() + (ident ? '#' + ident : '') + '>' + text;
    window.__focusLog.push([e, name, visible]);
  }, true);
}
window.__focusLog.length = 0;
"""


def tab_through(driver: Any, presses: int, *, back: bool = False) -> list[Focus]:
    """Press TAB (SHIFT+TAB with ``back``) ``presses`` times from where the focus
    is, in one go; what was focused after each press, and whether it showed
    (as :func:`focus_visible` judges, at the moment it got the focus: a
    ``focusin`` listener records it). Past the page's last stop the focus goes
    to the browser's own controls: no entry for that press."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.execute_script(_FOCUS_LOG)
    chain = ActionChains(driver)
    if back:
        chain.key_down(Keys.SHIFT).send_keys(Keys.TAB * presses).key_up(Keys.SHIFT)
    else:
        chain.send_keys(Keys.TAB * presses)
    chain.perform()
    log = driver.execute_script("return window.__focusLog")
    return [Focus(element, name, bool(visible)) for element, name, visible in log]


def press(driver: Any, *keys: str) -> None:
    """Send keys to whatever has the focus (``Keys.ENTER``, ``Keys.SPACE``, text)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def focus_visible(driver: Any, element: Any) -> bool:
    """The focused ``element`` is shown focused: an outline, or a box shadow or
    border that differs from the same element unfocused."""
    style = driver.execute_script(
        "const s = getComputedStyle(arguments[0]);"
        "return [s.outlineStyle, s.outlineWidth, s.boxShadow, s.borderColor, s.backgroundColor];",
        element,
    )
    outline_style, outline_width, shadow, border, background = style
    if outline_style not in ("none", "") and outline_width not in ("0px", ""):
        return True
    blurred = driver.execute_script(
        "const e = arguments[0]; e.blur();"
        "const s = getComputedStyle(e);"
        "const r = [s.boxShadow, s.borderColor, s.backgroundColor]; e.focus(); return r;",
        element,
    )
    return bool([shadow, border, background] != blurred)


def screenshot(driver: Any, name: str, *, whole: bool = False) -> Path:
    """Save the page as docs/img/web-NAME.png (the docs show it; commit it with
    ``git add -f``: .gitignore leaves out *.png): what the window shows, or with
    ``whole`` the whole page (the window made as tall as the page, at most
    2,400 pixels, for the picture)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"web-{name}.png"
    size = driver.get_window_size()
    if whole:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        chrome = size["height"] - driver.execute_script("return window.innerHeight")
        driver.set_window_size(size["width"], min(int(height) + chrome, 2400))
    try:
        assert driver.save_screenshot(str(path)), path
    finally:
        if whole:
            driver.set_window_size(size["width"], size["height"])
    return path


# -- accessibility (axe-core, tests/fixtures/axe-core) -----------------------------------------


def run_axe(driver: Any, tags: Sequence[str] = ("wcag2a", "wcag2aa")) -> list[dict[str, Any]]:
    """axe-core's violations of the page in the browser (the rules of ``tags``)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(WAIT)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done({violations: r.violations}))"
        ".catch(e => done({error: String(e)}));",
        list(tags),
    )
    assert "error" not in result, result.get("error")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def serious(violations: Sequence[dict[str, Any]]) -> list[str]:
    """The serious and critical violations, one line each: rule, impact, what
    it is about and the target selectors of every failing element."""
    lines = []
    for v in violations:
        if v.get("impact") in ("serious", "critical"):
            targets = [" ".join(map(str, node.get("target", []))) for node in v.get("nodes", [])]
            lines.append(f"{v['id']} ({v['impact']}): {v.get('help', '')} at {targets}")
    return lines
