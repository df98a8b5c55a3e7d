"""docs/bureau-openapi.yaml against the live bureau server (schemathesis):
for every operation, requests generated from the document (valid ones and
invalid ones), sent with an employer's token (and the window token for the
sandbox); no answer is a 5xx, and every answer's status, content type,
headers and body match what the document declares for it. A bounded number
of examples per operation (fewer under the ``ci`` hypothesis profile)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bureau_fixtures import employer, example
from bureau_server import WINDOW_TOKEN, RunningBureau, ready_session, start_bureau

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "bureau-openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
A = "10012345"
B = "20054321"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation and generation mode: a few under the ci profile.
EXAMPLES = max(3, min(12, settings.default.max_examples // 8))
#: Logging out would end the token the other operations use: tested by hand below.
OPERATIONS = [
    op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
    if op.label != "DELETE /api/v1/session"
]
LABELS = [op.label for op in OPERATIONS]
#: Each operation with valid data; those that take input with invalid data too.
CASES = [(op.label, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op.label, GenerationMode.NEGATIVE)
    for op in OPERATIONS
    if op.body or any(True for _ in op.iter_parameters())
]


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBureau]:
    root = tmp_path_factory.mktemp("openapi")
    server = start_bureau(
        root / "data",
        [example(), employer(B, 3, prefix="B")],
        sandbox=True,
        extra_args=["--max-body", "1000000"],
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def headers(bureau: RunningBureau) -> dict[str, str]:
    token, _ = ready_session(bureau, A)
    return {"Authorization": f"Bearer {token}", "X-Window-Token": WINDOW_TOKEN}


def _strategy(label: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    free = operation.as_strategy(generation_mode=mode)
    names = {p.name for p in operation.path_parameters}
    if "unit_no" in names:  # half of the cases at the token's own employer
        return st.one_of(free, operation.as_strategy(mode, path_parameters={"unit_no": A}))
    if "person_no" in names:
        return st.one_of(free, operation.as_strategy(mode, path_parameters={"person_no": "B0001"}))
    return free


def test_every_operation_is_covered() -> None:
    assert len(LABELS) == 12
    assert "POST /api/v1/employers/{unit_no}/declarations" in LABELS


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_the_server_keeps_the_document(
    bureau: RunningBureau, headers: dict[str, str], label: str, mode: GenerationMode
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(label, mode))
    def run(case: Any) -> None:
        case.call_and_validate(base_url=bureau.url, headers=dict(headers), checks=CHECKS)

    run()


def test_logout_keeps_the_document(bureau: RunningBureau) -> None:
    operation = SCHEMA.find_operation_by_label("DELETE /api/v1/session")
    assert operation is not None
    token, _ = ready_session(bureau, B)
    for header in (f"Bearer {token}", f"Bearer {token}", "Bearer nothing", None):
        case = operation.Case()
        sent = {} if header is None else {"Authorization": header}
        response = case.call(base_url=bureau.url, headers=sent)
        case.validate_response(response, checks=CHECKS)
    assert response.status_code == 401
