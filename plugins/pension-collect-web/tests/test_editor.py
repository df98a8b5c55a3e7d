"""The worker editor (views/editor.py) through Flask's test client, on every
store of the fixtures: a synced person opened prefilled from the bureau's
record, saved from months and amounts typed the clerk's ways; planted mistakes
refused with every finding at its field and in the summary; the suggested fix
applied to the form, then saved; lines added and removed without JavaScript;
a draft kept, reopened and dropped on save; the window-only fields read-only;
a version conflict; a submitted worker read-only; another employer's worker a
404; HTML in a name escaped; every input labelled, in the red book's order.

The tests that save, keep a draft or read what a store holds run on every
store; those that only render a page or parse and refuse a posted form before
anything is written run on one (``ONE_STORE``: memory), each docstring says so.
The collection up to [P3.2] is built once per session (``editor_built``) and
written into each test's own store and bureau copy (web_fixtures.StoreSnapshot).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import pytest
from flask import Flask
from pension_collect_web.views.auth import SESSION_COOKIE
from web_fixtures import ONE_STORE, UNIT, Built, WebClient, build_collection, csrf_in

from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.model import Dossier, Worker
from pension_collect.ports.storage import RecordKind
from pension_collect.workflow import (
    CollectionSession,
    WorkerStatus,
    draft,
    save_draft,
    worker_fields,
)

#: The example's first worker (张伟: upper box 1983-07..1992-12, lower box
#: 1993-01..1996-03, account 1996..2012), as the clerk types him.
FIRST = 0


class Ready:
    """The app with the example employer collected up to [P3.2]: started,
    synced, employer declared, verification forms printed."""

    def __init__(self, app: Flask, session: CollectionSession, dossier: Dossier) -> None:
        self.app = app
        self.session = session
        self.dossier = dossier

    def key(self, index: int = FIRST) -> str:
        return CollectionSession.key_of(self.dossier.workers[index])

    def url(self, index: int = FIRST) -> str:
        ref = self.app.extensions["pension_collect_web"].ref(UNIT, self.key(index))
        return f"/workers/{ref}/edit"

    def stored(self, index: int = FIRST) -> Any:
        with self.session.storage.transaction() as tx:
            return tx.get(RecordKind.WORKER, UNIT, self.key(index))


def _to_verification(session: CollectionSession) -> None:
    """[P3] to [P3.2]: started, synced, employer declared, verification forms printed."""
    dossier = loads(example_dossier_text())
    session.start()
    session.sync()
    session.collect_employer(dossier.employer)
    session.submit_employer_declaration()
    session.print_verification_forms()


@pytest.fixture(scope="session")
def editor_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The example employer collected up to [P3.2], once per session (memory store)."""
    root = tmp_path_factory.mktemp("editor")
    return build_collection(root, loads(example_dossier_text()), _to_verification)


@pytest.fixture
def bureau_dir(tmp_path: Path, editor_built: Built) -> Path:
    """This test's bureau: a copy of the one :func:`editor_built` collected with."""
    folder = tmp_path / "bureau"
    shutil.copytree(editor_built.bureau_dir, folder)
    return folder


@pytest.fixture
def ready(
    make_app: Callable[..., Flask], library_session: Callable[..., Any], editor_built: Built
) -> Ready:
    """:class:`Ready` on the test's store: :func:`editor_built`'s records and
    audit log written into it (web_fixtures.StoreSnapshot)."""
    app = make_app(clerks=[("other-clerk", "20000001")])
    editor_built.snapshot.restore(app.extensions["pension_collect_web"].storage)
    session = library_session(app)
    return Ready(app, session, loads(example_dossier_text()))


@pytest.fixture
def clerk(ready: Ready, signed_in: Callable[..., WebClient]) -> WebClient:
    return signed_in(ready.app)


def typed(worker: Worker) -> dict[str, str]:
    """The form as the clerk would send it for ``worker``, with each history
    line's section."""
    form: dict[str, str] = {}
    for f in worker_fields(worker):
        form[f.path] = f.value
        if f.line is not None and f.path.startswith("$.history"):
            form[f"section-{f.line}"] = f.section
    return form


def text(answer: Any) -> str:
    body: str = answer.get_data(as_text=True)
    return body


def note_of(html: str, input_id: str) -> list[str]:
    """The messages an input's aria-describedby names."""
    found = re.search(rf'id="{re.escape(input_id)}"[^>]*aria-describedby="([^"]+)"', html)
    assert found is not None, f"{input_id} has no aria-describedby"
    out = []
    for ref in found.group(1).split():
        message = re.search(rf'<(p|span)[^>]*id="{re.escape(ref)}"[^>]*>(.*?)</\1>', html, re.S)
        assert message is not None, f"{ref} is not on the page"
        out.append(unescape(re.sub(r"<[^>]+>", "", message.group(2))))
    return out


def line_notes(html: str, input_id: str) -> list[str]:
    """The messages under a history or account line (its first field's notes)."""
    found = re.findall(
        rf'<p class="note[^"]*" id="{re.escape(input_id)}-note-\d+">(.*?)</p>', html, re.S
    )
    assert found, f"no message at {input_id}"
    return [re.sub(r"<[^>]+>", "", n) for n in found]


def described_by_shown(html: str) -> None:
    """Every id an ``aria-describedby`` names is on the page."""
    for ref in re.findall(r'aria-describedby="([^"]+)"', html):
        for ident in ref.split():
            assert f'id="{ident}"' in html, ident


def value_of(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    assert found is not None, f"no input {name}"
    return found.group(1)


class _Form(HTMLParser):
    """The editor form's fields as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs_}
        name = found.get("name", "")
        if tag == "input" and name and found.get("type") in ("text", "hidden"):
            if name != "csrf_token":
                self.fields[name] = found.get("value", "")
        elif tag == "select" and name:
            self._select, self._first = name, None
        elif tag == "option" and self._select is not None:
            if self._first is None:
                self._first = found.get("value", "")
                self.fields[self._select] = self._first
            if "selected" in found:
                self.fields[self._select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_of(html: str) -> dict[str, str]:
    """The editor form of a page, as a browser would send it (without the button)."""
    parser = _Form()
    parser.feed(html[html.index('class="editor-form"') :])
    return parser.fields


# -- opening -------------------------------------------------------------------------------


@ONE_STORE
def test_a_synced_person_opens_prefilled_from_the_bureau(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a page rendered from the synced record; nothing is written."""
    answer = clerk.get(ready.url())
    assert answer.status_code == 200
    html = text(answer)
    bureau = ready.dossier.workers[FIRST].bureau
    assert bureau is not None
    assert value_of(html, "$.name") == "张伟"
    assert value_of(html, "$.id_number") == ready.key()  # whole, in the editor of one worker
    assert value_of(html, "$.first_work") == "1983-07"
    assert re.fullmatch(r"[0-9]+", value_of(html, "$.person_no"))  # the bureau's number
    # the parts are to be collected: not prefilled, the bureau's lines beside
    assert re.search(r'name="\$\.history">.*?<option value="no" selected>', html, re.S)
    assert "社保记录(本表未填)" in html
    assert "威海第二机床厂" in html
    assert ">社保记录<" in html  # the bureau's column
    for tag in ("[P3.4a]", "[P3.4b]", "[P3.4c]", "[P3.4e]", "[P3.3a]"):
        assert tag in html
    # window-only: read-only with the reason
    assert re.search(r'name="\$\.name" value="张伟"[^>]*readonly', html)
    assert re.search(r'name="\$\.id_number"[^>]*readonly', html)
    assert any("社保窗口" in n for n in note_of(html, "f-name"))
    # nothing stored by opening it
    assert ready.stored() is None


@ONE_STORE
def test_the_editor_in_english(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a page rendered; nothing is written."""
    clerk.set_cookie("lang", "en")
    html = text(clerk.get(ready.url()))
    assert "Worker editor" in html
    assert "Contribution history, upper box (up to 1992-12)" in html
    assert "Keep as draft" in html
    assert ">Bureau<" in html
    assert any("bureau window" in n for n in note_of(html, "f-name"))


# -- saving --------------------------------------------------------------------------------


def test_saved_from_months_and_money_typed_the_clerks_ways(ready: Ready, clerk: WebClient) -> None:
    worker = ready.dossier.workers[FIRST]
    form = typed(worker)
    form["$.history[0].start"] = "1983.07"
    form["$.history[0].end"] = "199212"
    form["$.history[1].start"] = "1993年1月"
    form["$.history[1].end"] = "1996.3"
    form["$.history[1].total"] = "¥491.40"
    form["$.account[0].balance"] = "514.8"
    form["$.first_work"] = "1983年7月"
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 303, text(answer)[:2000]
    stored = ready.session.worker(ready.key())
    assert stored.status is WorkerStatus.COLLECTED
    assert stored.worker.history == worker.history
    assert stored.worker.account == worker.account
    page = text(clerk.get(answer.headers["Location"]))
    assert "已保存" in page
    assert value_of(page, "$.history[0].end") == "1992-12"


def test_the_form_as_shown_saves_the_worker_unchanged(ready: Ready, clerk: WebClient) -> None:
    for index, worker in enumerate(ready.dossier.workers):
        before = ready.session.save_worker(worker)
        form = form_of(text(clerk.get(ready.url(index))))
        assert form["version"] == str(before.version)
        form["action"] = "save"
        answer = clerk.post_form(ready.url(index), form)
        assert answer.status_code == 303, text(answer)[:2000]
        after = ready.session.worker(ready.key(index))
        assert after.version == before.version + 1
        assert after.worker == before.worker


def test_a_segment_crossing_the_boxes_is_refused_at_its_field_then_fixed(
    ready: Ready, clerk: WebClient
) -> None:
    worker = ready.dossier.workers[FIRST]
    form = typed(worker)
    form["$.history[0].end"] = "1993-06"  # crosses 1992-12/1993-01
    form["$.history[1].start"] = "1993-07"
    form["$.history[0].category"] = ""
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 422
    html = text(answer)
    assert ready.stored() is None  # nothing saved
    assert "未保存" in html
    # the finding at its line, with its code, tag and message; in the summary with a link
    assert 'href="#f-history-0-start"' in html
    notes = re.findall(
        r'<p class="note note-error" id="f-history-0-start-note-\d+">(.*?)</p>', html, re.S
    )
    assert notes
    assert "history.crosses-box" in notes[0]
    assert "[P3.4a]" in notes[0]
    # what the clerk typed is kept
    assert value_of(html, "$.history[0].end") == "1993-06"
    # every note of a whole line is read out with each input of that line
    line_notes = re.findall(
        r'<tr id="[^"]+" class="clerk-row">(.*?)</tr>\s*<tr class="line-notes">(.*?)</tr>',
        html,
        re.S,
    )
    assert line_notes, "the crossing line has notes of its own"
    for cells, notes_row in line_notes:
        ids = re.findall(r'<p class="note[^"]*" id="([^"]+)"', notes_row)
        described = re.findall(r'<(?:input|select)[^>]*aria-describedby="([^"]*)"', cells)
        assert ids
        assert described
        for note_id in ids:
            assert all(note_id in d.split() for d in described), (note_id, described)
    button = re.search(
        r'<button[^>]*value="(fix:\d+:history\.crosses-box)"[^>]*>([^<]*)</button>', html
    )
    assert button is not None
    assert button.group(2).startswith("应用建议的修改:拆分为 1983-07..1992-12")
    form["action"] = button.group(1)
    fixed = clerk.post_form(ready.url(), form)
    assert fixed.status_code == 200
    shown = text(fixed)
    assert "已应用建议的修改" in shown
    assert ready.stored() is None
    assert value_of(shown, "$.history[0].end") == "1992-12"
    assert value_of(shown, "$.history[1].start") == "1993-01"
    assert value_of(shown, "$.history[1].end") == "1993-06"
    assert value_of(shown, "$.history[2].start") == "1993-07"
    # the fixed form saved as it is shown
    again = form_of(shown)
    again["action"] = "save"
    saved = clerk.post_form(ready.url(), again)
    assert saved.status_code == 303, text(saved)[:3000]
    history = ready.session.worker(ready.key()).worker.history
    assert [(str(s.start), str(s.end)) for s in history] == [
        ("1983-07", "1992-12"),
        ("1993-01", "1993-06"),
        ("1993-07", "1996-03"),
    ]


@ONE_STORE
def test_a_category_fix_keeps_the_other_values_typed(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form checked, its fix applied; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["$.history[0].category"] = "pre_account"  # total 0: deemed [P3.4a]
    form["$.ethnicity"] = "汉族"
    form["action"] = "check"
    html = text(clerk.post_form(ready.url(), form))
    button = re.search(r'value="(fix:\d+:history\.category)"[^>]*>([^<]*)<', html)
    assert button is not None
    assert "账户类别 -> 视同缴费" in unescape(button.group(2))
    form["action"] = button.group(1)
    shown = text(clerk.post_form(ready.url(), form))
    assert re.search(
        r'name="\$\.history\[0\]\.category">.*?<option value="deemed" selected', shown, re.S
    )
    assert value_of(shown, "$.ethnicity") == "汉族"


@ONE_STORE
def test_findings_and_the_fix_in_english(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form refused by the rules, rendered; nothing is written."""
    clerk.set_cookie("lang", "en")
    form = typed(ready.dossier.workers[FIRST])
    form["$.history[0].end"] = "1993-06"
    form["$.history[1].start"] = "1993-07"
    form["action"] = "save"
    html = unescape(text(clerk.post_form(ready.url(), form)))
    assert "Findings (1 error(s), 0 warning(s))" in html
    assert "Not saved: 1 problem(s)" in html
    assert "Apply the suggested fix: Split into 1983-07..1992-12; 1993-01..1993-06" in html
    assert "Error" in html
    assert "history.crosses-box" in html


def test_a_saved_workers_warnings_are_shown_at_their_fields(ready: Ready, clerk: WebClient) -> None:
    worker = ready.dossier.workers[FIRST]
    account = list(worker.account or ())
    account[1] = attrs.evolve(account[1], balance=account[1].balance + 100)
    stored = ready.session.save_worker(attrs.evolve(worker, account=tuple(account)))
    assert [w.code for w in stored.warnings] == ["account.balance", "account.balance"]
    html = text(clerk.get(ready.url()))
    assert "已保存 · 版本 1 · 已采集,尚未申报" in html
    assert any("提示" in n and "account.balance" in n for n in note_of(html, "f-account-1-balance"))
    assert "fix:" not in html  # the balance is shown, never applied (rules.NOT_FIXABLE)


@ONE_STORE
def test_every_finding_is_shown_when_a_part_is_missing(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form refused by the rules, rendered; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["$.account[2].months"] = "13"  # an account year wrong
    form["$.account[1].balance"] = "1368.22"  # a balance that does not add up (a warning)
    form["$.history"] = "no"  # the history not collected
    for path in [p for p in form if p.startswith("$.history[")]:
        form[path] = ""
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 422
    html = text(answer)
    assert ready.stored() is None
    assert any("workflow.incomplete" in n and "[P3.4f]" in n for n in note_of(html, "f-history"))
    assert any("account.months" in n for n in note_of(html, "f-account-2-months"))
    assert any("account.balance" in n for n in note_of(html, "f-account-1-balance"))
    assert 'aria-invalid="true"' in html
    summary = html[html.index('id="summary-title"') : html.index('class="editor-form"')]
    for target in ("#f-history", "#f-account-2-months", "#f-account-1-balance"):
        assert f'href="{target}"' in summary
    assert value_of(html, "$.account[2].months") == "13"  # kept as typed
    described_by_shown(html)


@ONE_STORE
def test_a_part_not_collected_is_said_once(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form refused, rendered; nothing is written."""
    # the rules' collection.incomplete and the session's workflow.incomplete say the
    # same thing at the same flag: the clerk reads it once, counted once
    form = typed(ready.dossier.workers[FIRST])
    form["$.account"] = "no"
    for path in [p for p in form if p.startswith("$.account[")]:
        del form[path]
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 422
    html = text(answer)
    assert ready.stored() is None
    notes = note_of(html, "f-account")
    assert len(notes) == 1
    assert "workflow.incomplete" in notes[0]
    assert "collection.incomplete" not in html
    assert "未保存:共 1 处问题" in html


@ONE_STORE
def test_the_rules_sentences_name_no_report_field(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form refused by the rules, rendered; nothing is written."""
    # the report's sentences say "(见 fix)" and "(见 related)", fields of the JSON
    # report; the page points at its button and names the other line itself
    form = typed(ready.dossier.workers[FIRST])
    form["$.history[0].end"] = "1993-05"  # crosses 1992-12/1993-01 and overlaps line 2
    form["action"] = "save"
    html = unescape(text(clerk.post_form(ready.url(), form)))
    assert "见 fix" not in html
    assert "见 related" not in html
    crosses = line_notes(html, "f-history-0-start")
    assert "history.crosses-box" in crosses[0]
    assert "请拆分为两行(见下方“应用建议的修改”按钮)。" in crosses[0]
    overlap = line_notes(html, "f-history-1-start")
    assert "history.overlap" in overlap[0]
    assert "本行与第 1 行在 1993-01 至 1993-05 重叠;同一月份只能录入一次。" in overlap[0]
    clerk.set_cookie("lang", "en")
    english = unescape(text(clerk.post_form(ready.url(), form)))
    assert "see fix" not in english
    assert "see related" not in english
    assert "Split it in two (the button “Apply the suggested fix” below)." in english


@ONE_STORE
def test_unreadable_values_are_refused_each_at_its_field(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form parsed and refused; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["$.history[1].end"] = "not a month"
    form["$.account[0].personal"] = "12.345"
    form["$.first_work"] = ""
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 422
    html = text(answer)
    for input_id in ("f-history-1-end", "f-account-0-personal", "f-first_work"):
        notes = note_of(html, input_id)
        assert any("web.field-unreadable" in n and "[P3.4]" in n for n in notes), (input_id, notes)
    assert value_of(html, "$.history[1].end") == "not a month"
    assert ready.stored() is None


# -- lines ---------------------------------------------------------------------------------


@ONE_STORE
def test_lines_are_added_and_removed_without_javascript(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form parsed and rendered again; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["$.history[1].remark"] = "kept"
    form["action"] = "add:transfer"
    added = text(clerk.post_form(ready.url(), form))
    assert value_of(added, "$.history[2].start") == ""
    assert re.search(
        r'name="\$\.history\[2\]\.source">.*?value="transfer_in" selected', added, re.S
    )
    transfer = added[added.index('id="sec-transfer"') : added.index('id="sec-institution"')]
    assert 'name="$.history[2].start"' in transfer
    assert value_of(added, "$.history[1].remark") == "kept"
    assert ">删除养老账户第 1 行<" in added
    assert ">删除第 1 行<" in added
    form["action"] = "remove:history:0"
    removed = text(clerk.post_form(ready.url(), form))
    assert value_of(removed, "$.history[0].start") == "1993-01"  # renumbered
    assert 'name="$.history[1].start"' not in removed
    assert value_of(removed, "$.history[0].remark") == "kept"
    assert ready.stored() is None


@ONE_STORE
def test_a_line_is_shown_in_the_box_of_its_months(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form parsed and rendered again; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["section-1"] = "upper"  # the lower box's line, sent as if typed in the upper box
    form["action"] = "check"
    html = text(clerk.post_form(ready.url(), form))
    lower = html[html.index('id="sec-lower"') : html.index('id="sec-transfer"')]
    assert 'name="$.history[1].start"' in lower
    assert 'name="section-1" value="lower"' in lower


@ONE_STORE
def test_the_bureaus_lines_are_filled_in(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form filled in from the synced record; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["action"] = "copy:account"
    html = text(clerk.post_form(ready.url(), form))
    bureau = ready.dossier.workers[FIRST].bureau
    assert bureau is not None
    assert bureau.account is not None
    assert value_of(html, f"$.account[{len(bureau.account) - 1}].year") == "2012"
    assert "≠" not in html[html.index('id="part-account"') :]


@ONE_STORE
def test_the_bureaus_values_differ_in_text(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a posted form compared with the synced record; nothing is written."""
    form = typed(ready.dossier.workers[FIRST])
    form["$.first_work"] = "1984-07"
    form["$.history[0].total"] = "12"
    form["action"] = "check"
    html = text(clerk.post_form(ready.url(), form))
    row = re.search(r"<th scope=\"row\"><label for=\"f-first_work\">.*?</tr>", html, re.S)
    assert row is not None
    assert "与本次采集不同" in row.group(0)
    bureau_row = re.search(r'id="line-history-0".*?<tr class="bureau-row">(.*?)</tr>', html, re.S)
    assert bureau_row is not None
    assert "≠ 不同" in bureau_row.group(1)


# -- drafts --------------------------------------------------------------------------------


def test_a_draft_is_kept_reopened_and_dropped_on_save(ready: Ready, clerk: WebClient) -> None:
    form = typed(ready.dossier.workers[FIRST])
    form["$.account"] = "no"
    for path in [p for p in form if p.startswith("$.account[")]:
        del form[path]
    form["$.ethnicity"] = "汉族"
    form["action"] = "draft"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 303
    kept = draft(ready.session, ready.key())
    assert kept is not None
    assert kept.account is None
    assert kept.ethnicity == "汉族"
    assert ready.stored() is None
    page = text(clerk.get(ready.url()))
    assert "暂存的草稿" in page
    assert value_of(page, "$.ethnicity") == "汉族"
    assert "放弃草稿" in page
    full = typed(attrs.evolve(ready.dossier.workers[FIRST], ethnicity="汉族"))
    full["action"] = "save"
    assert clerk.post_form(ready.url(), full).status_code == 303
    assert draft(ready.session, ready.key()) is None
    assert ready.session.worker(ready.key()).worker.ethnicity == "汉族"


def test_a_draft_is_discarded(ready: Ready, clerk: WebClient) -> None:
    save_draft(ready.session, attrs.evolve(ready.dossier.workers[FIRST], account=None))
    answer = clerk.post_form(ready.url(), {"action": "discard"})
    assert answer.status_code == 303
    assert draft(ready.session, ready.key()) is None


# -- guards --------------------------------------------------------------------------------


def test_window_only_fields_cannot_be_changed(ready: Ready, clerk: WebClient) -> None:
    form = typed(ready.dossier.workers[FIRST])
    form["$.name"] = "张三"
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 422
    html = text(answer)
    assert any("社保窗口" in n for n in note_of(html, "f-name"))
    assert ready.stored() is None
    form["$.name"] = "张伟"
    form["$.id_number"] = CollectionSession.key_of(ready.dossier.workers[1])
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 422
    assert ready.stored() is None
    assert ready.stored(1) is None


def test_a_conflict_keeps_the_form(ready: Ready, clerk: WebClient) -> None:
    worker = ready.dossier.workers[FIRST]
    ready.session.save_worker(worker)
    opened = text(clerk.get(ready.url()))
    version = re.search(r'name="version" value="(\d+)"', opened)
    assert version is not None
    assert version.group(1) == "1"
    ready.session.save_worker(attrs.evolve(worker, ethnicity="回族"))  # another clerk
    form = typed(worker)
    form["$.ethnicity"] = "汉族"
    form["version"] = "1"
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 409
    html = text(answer)
    assert "storage.conflict" in html
    assert "其他人已保存" in html
    assert value_of(html, "$.ethnicity") == "汉族"
    assert ready.session.worker(ready.key()).worker.ethnicity == "回族"


def test_a_guard_of_the_session_is_shown_and_nothing_changes(
    ready: Ready, clerk: WebClient
) -> None:
    ready.session.record_window_visit(ready.key())  # [P3.3a]: a sync is due first
    form = typed(ready.dossier.workers[FIRST])
    form["$.ethnicity"] = "汉族"
    form["action"] = "save"
    answer = clerk.post_form(ready.url(), form)
    assert answer.status_code == 409
    html = text(answer)
    assert "workflow.sync-required" in html
    assert value_of(html, "$.ethnicity") == "汉族"
    assert ready.stored() is None


def test_a_worker_the_bureau_failed_shows_its_verdict(
    ready: Ready, clerk: WebClient, bureau_dir: Path
) -> None:
    session = ready.session
    for worker in ready.dossier.workers:
        session.save_worker(worker)
    session.print_confirmation_forms()
    session.record_received([ready.key(i) for i in range(len(ready.dossier.workers))])
    session.print_summary_sheet()
    person_no = session.worker(ready.key()).worker.person_no
    bureau = ReferenceBureau.open(bureau_dir)
    try:
        bureau.transfer_person(person_no, "10099999")  # another employer took them over
    finally:
        bureau.close()
    declaration = session.submit_declaration()
    for _ in range(3):  # local:DIR moves a declaration one stage a read
        session.refresh(declaration.key)
    assert session.worker(ready.key()).status is WorkerStatus.FAILED
    html = text(clerk.get(ready.url()))
    assert "社保处理结果" in html
    assert "bureau.other-employer" in html
    assert "[P3.7]" in html
    form = typed(ready.dossier.workers[FIRST])
    form["action"] = "save"
    refused = text(clerk.post_form(ready.url(), form))
    assert "workflow.window-visit-required" in refused
    assert "record_window_visit" not in refused  # a clerk's sentence names no API
    assert session.worker(ready.key()).status is WorkerStatus.FAILED
    # handed back at the window, visited, synced, collected again: the verdict
    # is the last declaration's, said so (the worker is not failed any more)
    bureau = ReferenceBureau.open(bureau_dir)
    try:
        bureau.transfer_person(person_no, UNIT)
    finally:
        bureau.close()
    session.record_window_visit(ready.key(), "")
    session.sync()
    session.print_verification_forms([ready.key()])
    session.save_worker(ready.dossier.workers[FIRST])
    assert session.worker(ready.key()).status is WorkerStatus.COLLECTED
    html = text(clerk.get(ready.url()))
    assert "上次申报的社保处理结果(已重新采集)" in html
    assert "<dt>社保处理结果</dt>" not in html
    assert "bureau.other-employer" in html


def test_a_submitted_worker_is_read_only(ready: Ready, clerk: WebClient) -> None:
    session = ready.session
    for worker in ready.dossier.workers:
        session.save_worker(worker)
    keys = [ready.key(i) for i in range(len(ready.dossier.workers))]
    session.print_confirmation_forms()
    session.record_received(keys)
    session.print_summary_sheet()
    session.submit_declaration()
    html = text(clerk.get(ready.url()))
    assert "workflow.worker-locked" in html
    assert "[P3.6]" in html
    assert 'value="save"' not in html
    assert 'value="draft"' not in html
    assert re.search(r'name="\$\.ethnicity"[^>]*readonly', html)
    described_by_shown(html)
    form = typed(ready.dossier.workers[FIRST])
    form["action"] = "save"
    refused = clerk.post_form(ready.url(), form)
    assert refused.status_code == 409
    assert session.worker(ready.key()).status is WorkerStatus.SUBMITTED


def test_another_employers_worker_is_a_404(
    ready: Ready, signed_in: Callable[..., WebClient]
) -> None:
    other = signed_in(ready.app, "other-clerk")
    assert other.get(ready.url()).status_code == 404
    form = typed(ready.dossier.workers[FIRST])
    form["action"] = "save"
    assert other.post_form(ready.url(), form).status_code == 404
    assert ready.stored() is None
    assert other.get("/workers/" + "0" * 24 + "/edit").status_code == 404


def test_html_in_a_name_is_shown_escaped(ready: Ready, clerk: WebClient) -> None:
    save_draft(
        ready.session,
        attrs.evolve(ready.dossier.workers[FIRST], name='<b id="x">张伟</b>', account=None),
    )
    html = text(clerk.get(ready.url()))
    assert '<b id="x">' not in html
    assert "&lt;b id=&#34;x&#34;&gt;张伟&lt;/b&gt;" in html


# -- accessibility -------------------------------------------------------------------------


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.labels: set[str] = set()
        self.tabindex: list[str] = []

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs_}
        if "tabindex" in found:
            self.tabindex.append(found["tabindex"])
        if tag == "label" and "for" in found:
            self.labels.add(found["for"])
        if tag in ("input", "select", "textarea", "button") and found.get("type") != "hidden":
            found["tag"] = tag
            self.controls.append(found)


@ONE_STORE
def test_every_input_is_labelled_in_the_red_books_order(ready: Ready, clerk: WebClient) -> None:
    """One store (memory): a page rendered; nothing is written."""
    form = typed(ready.dossier.workers[2])  # 王强: lower box and a transfer
    form["action"] = "add:institution"
    html = text(clerk.post_form(ready.url(2), form))
    parser = _Controls()
    parser.feed(html[html.index("<main") :])
    fields = [c for c in parser.controls if c["tag"] != "button"]
    assert fields
    for control in fields:
        assert control.get("id") in parser.labels, control
    assert all(int(t) <= 0 for t in parser.tabindex)  # no tab order of its own
    names = [c.get("name", "") for c in fields]
    order = [
        "$.id_number",
        "$.name",
        "$.person_no",
        "$.gender",
        "$.birth_date",
        "$.ethnicity",
        "$.hukou",
        "$.first_work",
        "$.history",
        "$.history[0].start",  # lower box
        "$.history[1].start",  # transferred in
        "$.history[2].start",  # the institution line added
        "$.account",
        "$.account[0].year",
    ]
    positions = [names.index(n) for n in order]
    assert positions == sorted(positions)
    buttons = [c.get("value", "") for c in parser.controls if c["tag"] == "button"]
    assert buttons[0] == "check"  # Enter checks, never removes a line
    assert buttons.index("save") > buttons.index("add:account")


# -- a stale page: the sign-in ended or its token changed while typing ----------------------


def _kept_form(html: str) -> dict[str, str]:
    """The form of the page that keeps what was typed, as a browser sends it."""
    parser = _Form()
    parser.feed(html[html.index('class="kept-form"') :])
    return parser.fields


def test_an_ended_sign_in_keeps_what_was_typed(ready: Ready, clerk: WebClient) -> None:
    """The clerk types a worker; the sign-in ends meanwhile (expired, or ended
    in another tab); Save: nothing is saved and the values come back on a
    page of their own (401, not cached, without a token, nothing read from
    the store); signed in again, its button brings them back into the editor
    (400, nothing saved, this sign-in's token); Save there saves them."""
    worker = ready.dossier.workers[FIRST]
    form = typed(worker)
    form["$.first_work"] = "1983年7月"  # as typed, not as the library writes it
    form["$.history[1].total"] = "¥491.40"
    stale = clerk.csrf_token()
    assert clerk.post_form("/logout", {}).status_code == 303  # the sign-in ends
    answer = clerk.post(ready.url(), data={**form, "action": "save", "csrf_token": stale})
    assert answer.status_code == 401
    assert answer.headers["Cache-Control"] == "no-store"
    html = text(answer)
    assert "您的登录已过期(或已退出),因此没有保存。请在新标签页中重新登录" in html
    assert 'name="csrf_token"' not in html
    kept = _kept_form(html)
    assert {k: v for k, v in kept.items() if k != "version"} == form
    assert kept["version"] == "0"
    assert ready.stored() is None
    clerk.set_cookie("lang", "en")
    english = text(clerk.post(ready.url(), data={**form, "action": "save"}))
    assert "Your sign-in expired (or you signed out), so nothing was saved" in english
    clerk.delete_cookie("lang")

    assert clerk.sign_in().status_code == 303  # in a new tab
    back = clerk.post(ready.url(), data={**kept, "action": "check"})  # the page's button
    assert back.status_code == 400
    html = text(back)
    assert "未保存:该页面已过期" in html
    assert csrf_in(html) == clerk.csrf_token()
    again = form_of(html)
    for path, value in form.items():
        assert again[path] == value, path
    assert ready.stored() is None
    saved = clerk.post_form(ready.url(), {**again, "action": "save"})
    assert saved.status_code == 303, text(saved)[:2000]
    stored = ready.session.worker(ready.key())
    assert stored.worker.history == worker.history
    assert stored.worker.first_work == worker.first_work


def test_a_token_of_another_sign_in_keeps_what_was_typed(
    ready: Ready, clerk: WebClient, signed_in: Callable[..., WebClient]
) -> None:
    """Signed in again in another tab, the page's token is the old sign-in's:
    Save saves nothing and shows the editor as typed with this sign-in's
    token and the version the page was made from (a save meanwhile is
    still a conflict)."""
    worker = ready.dossier.workers[FIRST]
    ready.session.save_worker(worker)
    form = form_of(text(clerk.get(ready.url())))
    assert form["version"] == "1"
    stale = clerk.csrf_token()
    tab = signed_in(ready.app)  # signed in again in another tab: its cookie is the browser's
    cookie = tab.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    clerk.set_cookie(SESSION_COOKIE, cookie.value)
    clerk._csrf = None
    assert clerk.csrf_token() != stale
    form["$.ethnicity"] = "回族"
    answer = clerk.post(ready.url(), data={**form, "action": "save", "csrf_token": stale})
    assert answer.status_code == 400
    assert answer.headers["Cache-Control"] == "no-store"
    html = text(answer)
    assert "安全令牌与当前登录不符" in html
    assert value_of(html, "$.ethnicity") == "回族"
    assert value_of(html, "version") == "1"
    assert csrf_in(html) == clerk.csrf_token()
    assert ready.session.worker(ready.key()).worker.ethnicity == worker.ethnicity
    ready.session.save_worker(attrs.evolve(worker, ethnicity="满族"))  # someone else, meanwhile
    again = form_of(html)
    conflict = clerk.post_form(ready.url(), {**again, "action": "save"})
    assert conflict.status_code == 409
    assert "storage.conflict" in text(conflict)
    assert ready.session.worker(ready.key()).worker.ethnicity == "满族"
    # the form comes back with a token of the sign-in: a save goes through
    form = form_of(text(clerk.get(ready.url())))
    assert clerk.post_form(ready.url(), {**form, "action": "save"}).status_code == 303
