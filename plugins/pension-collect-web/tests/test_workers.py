"""The worker list (/workers): paging, counts, the state filter, the posted
search, printing the selected workers' forms as PDF downloads, recording
receipts, importing a roster; on every store of the fixtures, but for the
tests marked ``ONE_STORE`` (a page rendered, a request refused before it is
read: memory only, each docstring says so)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attrs
import openpyxl
import pypdf
import pytest
from flask import Flask
from pension_collect_web.views import workers as workers_view
from web_fixtures import CLERK, ONE_STORE, WebClient
from workers_fixtures import (
    DRAFTED,
    HTML_NAME,
    PERSONS,
    PRINTED,
    SAVED,
    SIGNED,
    Many,
    many_fixture,  # noqa: F401  (the fixture ``many``)
    many_read_fixture,  # noqa: F401  (the fixture ``many_read``)
    many_shared,  # noqa: F401  (its app, one per store and module)
    refs_in,
    rows_in,
)

from pension_collect.dossier import dumps
from pension_collect.identity import mask
from pension_collect.model import Dossier
from pension_collect.workflow import ROW_STATES, WorkerStatus
from pension_collect.xlsx import write_xlsx

EXPECTED = {
    "not-collected": PERSONS - SAVED - 1,
    "incomplete": 1,
    "saved": SAVED - PRINTED,
    "printed": PRINTED - SIGNED,
    "signed": SIGNED,
    "submitted": 0,
    "succeeded": 0,
    "failed": 0,
}
_STATE = re.compile(r'class="state state-([a-z-]+)"')


def _html(client: WebClient, url: str = "/workers") -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.get_data(as_text=True)


def _search(client: WebClient, text: str, url: str = "/workers/search") -> str:
    answer = client.post_form(url, {"search": text})
    assert answer.status_code == 303
    assert not text or text not in unquote(answer.location)
    return _html(client, answer.location)


def _ref(many: Many, i: int) -> str:
    """The reference of worker ``i`` as the list gives it (found by a search)."""
    found = refs_in(_search(many.client, many.key(i)))
    many.client.post_form("/workers/search", {"clear": "1"})
    assert len(found) == 1
    return found[0]


def _flashed(client: WebClient, answer: object) -> str:
    location = getattr(answer, "location", None)
    assert location, "no redirect"
    return _html(client, location)


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


# -- the list ----------------------------------------------------------------------------------


def test_pages_of_fifty_with_first_previous_next_last_and_bounds(many_read: Many) -> None:
    """Reads only: the collection the module's tests share (``many_read``)."""
    many = many_read
    first = _html(many.client)
    assert "第 1–50 条,共 230 条" in first
    rows = rows_in(first)
    assert len(rows) == 50
    assert rows[1] == (mask(many.key(1)), many.name(1))  # by person number
    assert rows[49] == (mask(many.key(49)), many.name(49))
    assert 'rel="next"' in first
    assert 'rel="last"' in first
    assert 'rel="prev"' not in first
    third = _html(many.client, "/workers?page=3")
    assert "第 101–150 条,共 230 条" in third
    assert rows_in(third)[0] == (mask(many.key(100)), many.name(100))
    assert 'href="/workers?page=2" rel="prev"' in third
    assert 'href="/workers?page=4" rel="next"' in third
    last = _html(many.client, "/workers?page=5")
    assert "第 201–230 条,共 230 条" in last
    assert len(rows_in(last)) == 30
    assert 'rel="next"' not in last
    assert 'rel="prev"' in last
    assert rows_in(_html(many.client, "/workers?page=99")) == rows_in(last)
    assert rows_in(_html(many.client, "/workers?page=0")) == rows
    assert rows_in(_html(many.client, "/workers?page=abc")) == rows


def test_counts_per_state_and_each_filter(many_read: Many) -> None:
    """Reads only: the collection the module's tests share (``many_read``)."""
    many = many_read
    page = _html(many.client)
    assert f'全部 <span class="count">({PERSONS})</span>' in page
    for state, count in EXPECTED.items():
        label = ROW_STATES[state][1]
        assert f'{label} <span class="count">({count})</span>' in page
        filtered = _html(many.client, f"/workers?state={state}")
        if count:
            assert f"共 {count} 条" in filtered
            assert set(_STATE.findall(filtered)) == {state}
            assert len(_STATE.findall(filtered)) == min(count, 50)
        else:
            assert "没有符合条件的职工" in filtered
            assert not _STATE.findall(filtered)
    drafted = rows_in(_html(many.client, "/workers?state=incomplete"))
    assert drafted == [(mask(many.key(DRAFTED)), many.name(DRAFTED))]
    assert many.client.get("/workers?state=bogus").status_code == 400


def test_search_by_name_whole_id_and_last_digits_posted_never_in_the_url(many_read: Many) -> None:
    """Reads only: the collection the module's tests share (``many_read``)."""
    many = many_read
    client = many.client
    assert rows_in(_search(client, many.name(7))) == [(mask(many.key(7)), many.name(7))]
    assert rows_in(_search(client, many.key(123))) == [(mask(many.key(123)), many.name(123))]
    suffix = many.key(123)[-5:]
    expected = [i for i in range(PERSONS) if many.key(i).endswith(suffix)]
    found = rows_in(_search(client, suffix))
    assert found == [(mask(many.key(i)), many.name(i)) for i in expected]
    surname = "赵"
    with_it = [i for i in range(PERSONS) if surname in many.name(i)]
    page = _search(client, surname)
    assert f"共 {len(with_it)} 条" in page
    assert "已按搜索内容筛选" in page
    # the search stays with the filter: saved workers named 赵
    saved = [i for i in with_it if PRINTED <= i < SAVED]
    assert len(rows_in(_html(client, "/workers?state=saved"))) == len(saved)
    # posting to /workers searches too, keeping the filter in the redirect
    answer = client.post_form("/workers?state=saved", {"search": many.name(60)})
    assert answer.status_code == 303
    assert answer.location.endswith("/workers?state=saved")
    assert rows_in(_html(client, answer.location)) == [(mask(many.key(60)), many.name(60))]
    assert "共 230 条" in _search(client, "")
    client.post_form("/workers/search", {"search": many.name(9)})
    cleared = client.post_form("/workers/search", {"search": many.name(9), "clear": "1"})
    assert "共 230 条" in _html(client, cleared.location)


@ONE_STORE
def test_english_and_html_in_a_name_escaped(many: Many) -> None:
    """One store (memory): a page rendered."""
    page = _html(many.client)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HTML_NAME not in page
    many.client.set_cookie("lang", "en")
    english = _html(many.client)
    assert "Rows 1–50 of 230" in english
    assert "Print verification forms [P3.2]" in english


def test_print_verification_forms_of_the_checked_workers(many: Many) -> None:
    refs = refs_in(_html(many.client, "/workers?page=4"))[:3]
    before = len(many.session.audit())
    answer = many.client.post_form(
        "/workers/selected", {"worker": refs, "action": "verification", "page": "4"}
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    pages, text = _pdf_text(answer.data)
    assert pages == 3
    for i in (150, 151, 152):
        assert f"公民身份号码 {many.key(i)}" in text
    assert text.count("公民身份号码 ") == 3
    logged = many.session.audit()[before:]
    assert [e.action for e in logged] == ["forms.verification"]
    assert logged[0].actor == CLERK


def test_print_confirmation_forms_of_all_matching_the_filter(many: Many) -> None:
    _search(many.client, "赵")
    chosen = [i for i in range(PRINTED, SAVED) if "赵" in many.name(i)]
    answer = many.client.post_form(
        "/workers/selected", {"all": "1", "state": "saved", "action": "confirmation"}
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    pages, text = _pdf_text(answer.data)
    assert pages == 3 * len(chosen)  # three copies each
    assert sorted(set(re.findall(r"公民身份号码 (\S+)", text))) == sorted(
        many.key(i) for i in chosen
    )
    for i in chosen:
        assert many.session.worker(many.key(i)).confirmation_printed
    others = [i for i in range(PRINTED, SAVED) if i not in chosen]
    assert not many.session.worker(many.key(others[0])).confirmation_printed
    page = _search(many.client, "")
    label = ROW_STATES["printed"][1]
    assert f'{label} <span class="count">({PRINTED - SIGNED + len(chosen)})</span>' in page


def test_receive_refused_names_the_workers_and_changes_nothing(many: Many) -> None:
    printed, saved = PRINTED - 1, SAVED - 1
    refs = [_ref(many, printed), _ref(many, saved)]
    answer = many.client.post_form("/workers/selected", {"worker": refs, "action": "receive"})
    assert answer.status_code == 303
    page = _flashed(many.client, answer)
    assert "workflow.confirmation-form" in page
    assert f"{mask(many.key(saved))} {many.name(saved)}" in page
    assert (
        f"{mask(many.key(printed))} "
        not in page.split('<div class="messages">')[1].split("</div>")[0]
    )
    assert not many.session.worker(many.key(printed)).form_received  # all or nothing
    assert not many.session.worker(many.key(saved)).form_received


def test_receive_every_printed_worker(many: Many) -> None:
    answer = many.client.post_form(
        "/workers/selected", {"all": "1", "state": "printed", "action": "receive"}
    )
    assert answer.status_code == 303
    page = _flashed(many.client, answer)
    assert f"已登记收回 {PRINTED - SIGNED} 名职工的签字确认表和养老保险手册" in page
    assert f'{ROW_STATES["signed"][1]} <span class="count">({PRINTED})</span>' in page
    for i in (SIGNED, PRINTED - 1):
        stored = many.session.worker(many.key(i))
        assert stored.form_received
        assert stored.handbook_received
    assert not many.session.worker(many.key(PRINTED)).form_received


def test_refusals_without_a_selection_or_for_a_worker_not_saved(many: Many) -> None:
    answer = many.client.post_form("/workers/selected", {"action": "confirmation"})
    assert "请先选择职工" in _flashed(many.client, answer)
    ref = _ref(many, SAVED + 3)
    before = len(many.session.audit())
    answer = many.client.post_form("/workers/selected", {"worker": [ref], "action": "confirmation"})
    assert answer.status_code == 303
    page = _flashed(many.client, answer)
    assert "workflow.unknown-worker" in page
    assert mask(many.key(SAVED + 3)) in page
    assert len(many.session.audit()) == before
    bad = many.client.post_form("/workers/selected", {"worker": [ref], "action": "delete"})
    assert bad.status_code == 400


def test_another_employers_worker_is_a_404(many: Many, signed_in: Callable[..., WebClient]) -> None:
    ref = _ref(many, PRINTED)
    other = signed_in(many.app, "other-clerk")
    answer = other.post_form("/workers/selected", {"worker": [ref], "action": "receive"})
    assert answer.status_code == 404
    assert not many.session.worker(many.key(PRINTED)).form_received
    assert other.get(f"/workers/{ref}/audit").status_code == 404
    assert "共 230 条" not in _html(other)
    made_up = many.client.post_form(
        "/workers/selected", {"worker": ["0" * 24], "action": "receive"}
    )
    assert made_up.status_code == 404


# -- importing a roster --------------------------------------------------------------------------


def _upload(client: WebClient, data: bytes, filename: str) -> tuple[int, str]:
    answer = client.post_form(
        "/workers/import",
        {"roster": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    return answer.status_code, answer.get_data(as_text=True) if answer.status_code != 303 else (
        _flashed(client, answer)
    )


def _part(many: Many, indexes: range | list[int]) -> Dossier:
    return attrs.evolve(many.dossier, workers=tuple(many.dossier.workers[i] for i in indexes))


@ONE_STORE
def test_template_download(many: Many, tmp_path: Path) -> None:
    """One store (memory): a file made by the page."""
    answer = many.client.get("/workers/template.xlsx")
    assert answer.status_code == 200
    assert answer.data[:2] == b"PK"
    assert "attachment" in answer.headers["Content-Disposition"]
    (tmp_path / "t.xlsx").write_bytes(answer.data)
    titles = openpyxl.load_workbook(tmp_path / "t.xlsx", read_only=True).sheetnames
    assert "职工" in titles
    assert "单位" in titles


def test_import_a_good_workbook_saves_its_workers(many: Many, tmp_path: Path) -> None:
    chosen = range(SAVED + 1, SAVED + 6)
    path = tmp_path / "good.xlsx"
    write_xlsx(_part(many, chosen), path)
    status, page = _upload(many.client, path.read_bytes(), "good.xlsx")
    assert status == 303, page  # then the list
    assert "已导入并保存 5 名职工" in page
    for i in chosen:
        assert many.session.worker(many.key(i)).status is WorkerStatus.COLLECTED


def _column(sheet: object, header: str) -> str:
    for cell in next(sheet.iter_rows(min_row=1, max_row=1)):  # type: ignore[attr-defined]
        if str(cell.value or "").startswith(header):
            return str(cell.column_letter)
    raise AssertionError(f"no column {header}")


def test_import_a_bad_workbook_lists_every_problem_and_saves_nothing(
    many: Many, tmp_path: Path
) -> None:
    chosen = range(SAVED + 1, SAVED + 4)
    path = tmp_path / "bad.xlsx"
    write_xlsx(_part(many, chosen), path)
    book = openpyxl.load_workbook(path)
    sheet = book["职工"]
    rows = [cell.row for cell in sheet["A"] if cell.row > 1 and cell.value not in (None, "")]
    birth = _column(sheet, "出生日期")
    name = _column(sheet, "姓名")
    sheet[f"{birth}{rows[-1]}"] = "not a date"
    sheet[f"{name}{rows[0]}"] = "=A1"
    book.save(path)
    status, page = _upload(many.client, path.read_bytes(), "bad.xlsx")
    assert status == 422
    assert "未保存任何职工" in page
    assert f"职工!{birth}{rows[-1]}" in page
    assert f"职工!{name}{rows[0]}" in page
    assert "xlsx.formula" in page
    for i in chosen:
        assert "workflow.unknown-worker" in _unknown(many, i)


def _problem_rows(page: str) -> list[str]:
    """The rows of the import's problem table, as text."""
    table = page[page.index('class="import-problems"') :]
    return [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def _rows_of(book: Any, dossier: Dossier) -> tuple[list[int], dict[int, list[int]]]:
    """Each worker's row on the sheet 职工 (found by identity number) and the
    rows of its lines on the sheet 缴费历史 (found by its 序号)."""
    workers, history = book["职工"], book["缴费历史"]
    ids, nos = _column(workers, "身份证号码"), _column(workers, "序号")
    by_id = {str(c.value): c.row for c in workers[ids] if c.row > 1}
    rows = [by_id[w.id_number] for w in dossier.workers]
    linked = _column(history, "职工序号")
    lines: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        no = workers[f"{nos}{row}"].value
        lines[i] = [c.row for c in history[linked] if c.row > 2 and c.value == no]
    return rows, lines


def test_import_problems_found_after_reading_a_workbook_name_their_cells(
    many: Many, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules' errors and the guards' refusals of the workers a workbook
    makes are shown at the workbook's cells (the library's XlsxPlaces): a
    name changed at its cell on 职工, a history line at its row on 缴费历史;
    a save the session refuses (the checks ahead switched off) at the
    worker's row."""
    part = _part(many, range(SAVED + 40, SAVED + 43))
    renamed_worker = attrs.evolve(part.workers[1], name="王某某")  # not the bureau's name [P3.3a]
    part = attrs.evolve(part, workers=(part.workers[0], renamed_worker, part.workers[2]))
    path = tmp_path / "rules.xlsx"
    write_xlsx(part, path)
    book = openpyxl.load_workbook(path)
    rows, lines = _rows_of(book, part)
    name = _column(book["职工"], "姓名")
    end = _column(book["缴费历史"], "截止年月")
    book["缴费历史"][f"{end}{lines[2][0]}"] = "1993-05"  # the upper box's line into 1993
    book.save(path)
    status, page = _upload(many.client, path.read_bytes(), "rules.xlsx")
    assert status == 422
    shown = _problem_rows(page)
    renamed = [r for r in shown if "person.window-only-change" in r]
    assert len(renamed) == 1
    assert f"职工!{name}{rows[1]}" in renamed[0]
    assert "第 2 名" in renamed[0]
    crossing = [r for r in shown if "history.crosses-box" in r]
    assert len(crossing) == 1
    assert f"缴费历史!{lines[2][0]}:{lines[2][0]}" in crossing[0]
    assert "第 3 名" in crossing[0]
    for row in shown:
        assert "$.workers" not in row  # every problem at a cell or a row of the workbook
    for i in range(3):
        assert _unknown(many, SAVED + 40 + i) == "workflow.unknown-worker"

    monkeypatch.setattr(workers_view, "_check", lambda coll, dossier: [])
    book["缴费历史"][f"{end}{lines[2][0]}"] = str(part.workers[2].history[0].end)  # type: ignore[index]
    book.save(path)
    status, page = _upload(many.client, path.read_bytes(), "rules.xlsx")
    assert status == 409
    refused = [r for r in _problem_rows(page) if "workflow.window-only" in r]
    assert len(refused) == 1
    assert f"职工!{rows[1]}:{rows[1]}" in refused[0]


def _unknown(many: Many, i: int) -> str:
    try:
        many.session.worker(many.key(i))
    except Exception as exc:  # the library's UnknownWorker
        return str(getattr(exc, "code", exc))
    return "saved"


def _one_renamed(many: Many, good: int, renamed: int) -> bytes:
    """A JSON dossier of two workers, the second under another name than the
    bureau's (the rules' error ``person.window-only-change``, [P3.3a])."""
    dossier = _part(many, [good, renamed])
    workers = (dossier.workers[0], attrs.evolve(dossier.workers[1], name="王某某"))
    return dumps(attrs.evolve(dossier, workers=workers)).encode("utf-8")


def test_import_a_json_dossier_with_a_rule_error_saves_nothing(many: Many) -> None:
    good, renamed = SAVED + 10, SAVED + 11
    status, page = _upload(many.client, _one_renamed(many, good, renamed), "roster.json")
    assert status == 422
    assert "$.workers[1]" in page
    assert "person.window-only-change" in page
    assert _unknown(many, good) == "workflow.unknown-worker"
    status, page = _upload(many.client, b'{"format": "nonsense"', "roster.json")
    assert status == 422
    assert "未保存任何职工" in page


def test_import_another_employers_roster_or_a_person_not_collectable(many: Many) -> None:
    other = attrs.evolve(
        _part(many, [SAVED + 20]),
        employer=attrs.evolve(many.dossier.employer, unit_no="20000001"),
    )
    status, page = _upload(many.client, dumps(other).encode("utf-8"), "other.json")
    assert status == 422
    assert "web.other-employer" in page
    text = json.loads(dumps(_part(many, [SAVED + 21, SAVED + 21])))
    status, page = _upload(many.client, json.dumps(text).encode("utf-8"), "twice.json")
    assert status == 422
    assert "web.duplicate-worker" in page
    assert "$.workers[1]" in page
    assert _unknown(many, SAVED + 21) == "workflow.unknown-worker"


@ONE_STORE
def test_an_upload_over_the_size_limit_is_a_bilingual_413(
    make_app: Callable[..., Flask], signed_in: Callable[..., WebClient]
) -> None:
    """One store (memory): a request refused by its size, before it is read."""
    app = make_app(max_body=20_000)
    client = signed_in(app)
    status, page = _upload(client, b"x" * 50_000, "big.xlsx")
    assert status == 413
    assert "提交的内容过大" in page
    client.set_cookie("lang", "en")
    status, page = _upload(client, b"x" * 50_000, "big.xlsx")
    assert status == 413
    assert "Too large" in page


def test_a_refusal_the_checks_did_not_foresee_is_listed_and_the_others_saved(
    many: Many, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the page's checks ahead switched off: the session's own refusal is shown
    monkeypatch.setattr(workers_view, "_check", lambda coll, dossier: [])
    good, renamed = SAVED + 30, SAVED + 31
    status, page = _upload(many.client, _one_renamed(many, good, renamed), "roster.json")
    assert status == 409
    assert "已保存 1 名职工;以下职工被拒绝" in page
    assert "$.workers[1]" in page
    assert "workflow.window-only" in page
    assert many.session.worker(many.key(good)).status is WorkerStatus.COLLECTED
    assert _unknown(many, renamed) == "workflow.unknown-worker"
