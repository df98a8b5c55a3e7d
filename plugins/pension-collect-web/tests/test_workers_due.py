"""The worker list's filter of the verification forms due [P3.2]
(``/workers?due=verification``, the dashboard's link to it) and the roster
import's problems located by the worker's position and masked identity
number. One store (memory): the filter itself is the library's
(``worker_page(verification_due=True)``, tests/test_overview.py)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import attrs
import pypdf
from pension_collect_web.views import workers as workers_view
from web_fixtures import ONE_STORE, WebClient
from workers_fixtures import (
    DRAFTED,
    PERSONS,
    SAVED,
    Many,
    many_built,  # noqa: F401  (the fixture ``many_built``)
    many_fixture,  # noqa: F401  (the fixture ``many``)
    rows_in,
)

from pension_collect.dossier import dumps
from pension_collect.identity import mask
from pension_collect.model import Dossier
from pension_collect.workflow import WorkerRow, WorkerStatus
from pension_collect.xlsx import write_xlsx

#: The persons left without a verification form of the second sync.
DUE = (SAVED + 2, DRAFTED, PERSONS - 1)
_COUNT = re.compile(r'class="filter-due"[^>]*>[^<]*<span class="count">\((\d+)\)</span>')


def _html(client: WebClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.get_data(as_text=True)


def _second_sync(many: Many) -> None:
    """A new data sync; every person not saved but those of :data:`DUE` gets
    its verification form of it."""
    many.session.sync()
    printed = [many.key(i) for i in range(SAVED, PERSONS) if i not in DUE]
    many.session.print_verification_forms(printed)


@ONE_STORE
def test_the_verification_forms_due_filter_and_printing_exactly_them(many: Many) -> None:
    client = many.client
    assert _COUNT.findall(_html(client, "/workers")) == ["0"]  # every form printed
    _second_sync(many)
    page = _html(client, "/workers")
    assert _COUNT.findall(page) == [str(len(DUE))]
    assert 'href="/workers?due=verification"' in page
    due = _html(client, "/workers?due=verification")
    assert rows_in(due) == [(mask(many.key(i)), many.name(i)) for i in DUE]
    assert f"共 {len(DUE)} 条" in due
    assert '<input type="hidden" name="due" value="verification">' in due
    assert 'class="filter-due" aria-current="true"' in due
    # with a state: the incomplete (drafted) person only
    both = _html(client, "/workers?state=incomplete&due=verification")
    assert rows_in(both) == [(mask(many.key(DRAFTED)), many.name(DRAFTED))]
    assert client.get("/workers?due=bogus").status_code == 400
    # a search keeps the filter in its redirect
    answer = client.post_form("/workers/search?due=verification", {"search": "zz-none"})
    assert answer.status_code == 303
    assert answer.location.endswith("/workers?due=verification")
    client.post_form("/workers/search", {"clear": "1"})

    answer = client.post_form(
        "/workers/selected", {"all": "1", "due": "verification", "action": "verification"}
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(answer.data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == len(DUE)
    assert sorted(re.findall(r"公民身份号码 (\S+)", text)) == sorted(many.key(i) for i in DUE)
    assert _COUNT.findall(_html(client, "/workers")) == ["0"]
    assert "没有符合条件的职工" in _html(client, "/workers?due=verification")
    client.set_cookie("lang", "en")
    assert "Verification form due" in _html(client, "/workers")


@ONE_STORE
def test_the_dashboards_print_verification_link_is_the_filter(many: Many) -> None:
    _second_sync(many)
    page = _html(many.client, "/")
    assert 'class="button" href="/workers?due=verification"' in page


# -- the roster import's problems, located ----------------------------------------------------


def _upload(client: WebClient, data: bytes, filename: str) -> tuple[int, str]:
    answer = client.post_form(
        "/workers/import",
        {"roster": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    return answer.status_code, answer.get_data(as_text=True)


def _part(many: Many, indexes: list[int]) -> Dossier:
    return attrs.evolve(many.dossier, workers=tuple(many.dossier.workers[i] for i in indexes))


def _cells(page: str) -> list[tuple[str, str, str]]:
    """(where, worker position, masked number) of each problem row."""
    found = re.findall(
        r'<th scope="row">([^<]*)</th>\s*<td class="import-worker">([^<]*)</td>\s*'
        r'<td class="id-number">([^<]*)</td>\s*<td>([^<]*)</td>',
        page,
    )
    return [(where, worker, masked) for where, worker, masked, _sheet in found]


@ONE_STORE
def test_a_json_dossiers_problems_name_the_worker_no_and_masked_number(many: Many) -> None:
    good, renamed = SAVED + 10, SAVED + 11
    dossier = _part(many, [good, renamed])
    workers = (dossier.workers[0], attrs.evolve(dossier.workers[1], name="王某某"))
    status, page = _upload(
        many.client, dumps(attrs.evolve(dossier, workers=workers)).encode(), "roster.json"
    )
    assert status == 422
    cells = _cells(page)
    assert cells, page
    assert all(w.startswith("$.workers[1]") for w, _n, _m in cells)
    assert all((n, m) == ("第 2 名", mask(many.key(renamed))) for _w, n, m in cells)
    assert many.key(renamed) not in page
    # a dossier that does not load: the position and the number read from the JSON
    raw = json.loads(dumps(_part(many, [good, renamed])))
    raw["workers"][1]["name"] = 5
    status, page = _upload(many.client, json.dumps(raw).encode(), "roster.json")
    assert status == 422
    cells = _cells(page)
    assert cells, page
    assert all(n == "第 2 名" and m == mask(many.key(renamed)) for _w, n, m in cells)
    assert many.key(renamed) not in page


@ONE_STORE
def test_a_workbooks_worker_problem_names_the_sheet_position_and_masked_number(
    many: Many, tmp_path: Path
) -> None:
    path = tmp_path / "twice.xlsx"
    twice = SAVED + 21
    write_xlsx(_part(many, [SAVED + 20, twice, twice]), path)
    status, page = _upload(many.client, path.read_bytes(), "twice.xlsx")
    assert status == 422
    assert "web.duplicate-worker" in page
    # at the third worker's row of the sheet 职工 (the headers are rows 1 and 2)
    assert ("职工!5:5", "第 3 名", mask(many.key(twice))) in _cells(page)
    assert "<td>职工</td>" in page
    assert "<td>5</td>" in page
    assert many.key(twice) not in page
    many.client.set_cookie("lang", "en")
    _status, english = _upload(many.client, path.read_bytes(), "twice.xlsx")
    assert "no. 3" in english
    assert "Worker no. in the roster" in english


def test_a_declared_worker_is_named_submitted_or_accepted() -> None:
    key = "37100219800101003X"
    at = {"where": "$.workers[4]", "sheet": "", "worker": 4, "masked": mask(key)}

    def row(status: WorkerStatus) -> WorkerRow:
        state = "submitted" if status is WorkerStatus.SUBMITTED else "succeeded"
        return WorkerRow(
            key=key,
            name="x",
            person_no=None,
            state=state,
            status=status,
            in_latest_sync=True,
            verification_printed=True,
        )

    locked = workers_view._blocked(row(WorkerStatus.SUBMITTED), at)
    accepted = workers_view._blocked(row(WorkerStatus.ACCEPTED), at)
    assert locked is not None
    assert accepted is not None
    assert (locked.code, accepted.code) == ("workflow.worker-locked", "workflow.already-accepted")
    assert "declared already" in locked.message
    assert "declaration" in locked.message
    assert "已申报" in accepted.message_zh
    assert "已处理成功" in accepted.message_zh
    assert (accepted.worker, accepted.masked) == ("5", "371002********003X")
