"""The helpers the pages share: library_error, pdf_response, tr, collection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, g, get_flashed_messages
from pension_collect_web.accounts import Clerk
from pension_collect_web.config import WebConfig, shown_url
from pension_collect_web.context import WebState, clerk, collection, library_error, pdf_response
from pension_collect_web.errors import WebError
from pension_collect_web.i18n import tr
from web_fixtures import CLERK, ONE_STORE, UNIT

from pension_collect.errors import DossierFormatError, Problem
from pension_collect.workflow import NothingToSubmit


@ONE_STORE
def test_library_error_flashes_the_code_and_both_languages(app: Flask) -> None:
    """One store (memory): a message flashed."""
    with app.test_request_context("/"):
        library_error(NothingToSubmit())
        assert get_flashed_messages(with_categories=True) == [
            (
                "error",
                "workflow.nothing-to-submit: 没有可申报的已采集职工 "
                "(no collected worker to declare)",
            )
        ]
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        library_error(NothingToSubmit())
        assert get_flashed_messages() == [
            "workflow.nothing-to-submit: no collected worker to declare (没有可申报的已采集职工)"
        ]


@ONE_STORE
def test_library_error_lists_a_dossiers_problems(app: Flask) -> None:
    """One store (memory): messages flashed."""
    problems = [
        Problem("$.workers[0].name", "the name is empty", "姓名为空"),
        Problem("$.workers[1].id_number", "not an identity number", "不是身份证号码"),
    ]
    with app.test_request_context("/"):
        library_error(DossierFormatError(problems))
        assert get_flashed_messages() == [
            "dossier.format: 共 2 处问题,无法读取 (2 problem(s); the data cannot be read)",
            "$.workers[0].name: 姓名为空 (the name is empty)",
            "$.workers[1].id_number: 不是身份证号码 (not an identity number)",
        ]


def test_pdf_response_names_the_file_in_both_ways() -> None:
    answer = pdf_response(b"%PDF-1.4\n", "核对表 2013-08.pdf")
    assert answer.mimetype == "application/pdf"
    assert answer.get_data() == b"%PDF-1.4\n"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="2013-08.pdf"; ')
    assert "filename*=UTF-8''%E6%A0%B8%E5%AF%B9%E8%A1%A8%202013-08.pdf" in disposition
    assert answer.headers["Cache-Control"] == "no-store"
    # a name all Chinese (the summary sheet's 汇总表.pdf) has a plain ASCII name,
    # not "pdf.pdf"
    sheet = pdf_response(b"%PDF-1.4\n", "汇总表.pdf").headers["Content-Disposition"]
    assert sheet.startswith('attachment; filename="document.pdf"; ')
    assert "filename*=UTF-8''%E6%B1%87%E6%80%BB%E8%A1%A8.pdf" in sheet


@ONE_STORE
def test_tr_follows_the_lang_cookie(app: Flask) -> None:
    """One store (memory): the language cookie."""
    with app.test_request_context("/"):
        assert tr("职工", "Workers") == "职工"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert tr("职工", "Workers") == "Workers"
    with app.test_request_context("/", headers={"Cookie": "lang=fr"}):
        assert tr("职工", "Workers") == "职工"
    assert tr("职工", "Workers") == "职工"  # outside a request


def test_collection_is_the_clerks_employers(app: Flask) -> None:
    with app.test_request_context("/"):
        g.clerk = Clerk(name=CLERK, unit_no=UNIT)
        assert clerk().name == CLERK
        with collection() as session:
            assert session.unit_no == UNIT
            assert session.actor == CLERK
            assert str(session.as_of) == "2013-08"
            session.start()
            session.sync()
        assert session.closed
        with collection() as again:
            assert again.state() is not None
            entries = again.audit()
            assert {e.actor for e in entries} == {CLERK}


@ONE_STORE
def test_an_http_bureau_without_a_password_is_refused_in_the_page(
    make_app: Callable[..., Flask],
) -> None:
    """One store (memory): the bureau transport refused."""
    app = make_app(bureau_url="http://127.0.0.1:9")
    state: WebState = app.extensions["pension_collect_web"]
    with pytest.raises(WebError) as info:
        state.transport(UNIT)
    assert info.value.code == "web.bureau-password-missing"
    assert "PENSION_COLLECT_BUREAU_PASSWORD" in info.value.message_zh


def test_the_configurations_repr_shows_no_password() -> None:
    config = WebConfig(
        store_url="postgresql://clerk:s3cret-Pw@db.example/collect?sslmode=require",
        bureau_url="https://unit:other-Pw@bureau.example",
        bureau_password="bureau-Pw-123",
    )
    shown = repr(config)
    for secret in ("s3cret-Pw", "other-Pw", "bureau-Pw-123"):
        assert secret not in shown
    assert "postgresql://clerk:***@db.example/collect?sslmode=require" in shown
    assert config.store_url.endswith("s3cret-Pw@db.example/collect?sslmode=require")
    assert shown_url("sqlite:collection.db") == "sqlite:collection.db"
