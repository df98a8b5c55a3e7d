"""``Report.to_json`` writes its ``segments`` and ``workers`` items directly
(issue 15, validate's report): the text is exactly what ``json.dumps`` of
``Report.to_dict`` gives, escaped by ``json_safe``, compact or indented."""

from __future__ import annotations

import json

import attrs
import pytest

from pension_collect.dossier import example_dossier_text, loads
from pension_collect.model import Category, YearMonth
from pension_collect.plugins import PluginHost
from pension_collect.rules import Report, check
from pension_collect.rules.derive import Box
from pension_collect.rules.report import SegmentSummary, WorkerSummary
from pension_collect.text import json_safe


def _expected(report: Report, indent: int | None = None) -> str:
    return json_safe(json.dumps(report.to_dict(), ensure_ascii=False, indent=indent)) + "\n"


@pytest.fixture(scope="module")
def report() -> Report:
    """The example dossier's report, a gender changed: findings, segments in
    both boxes."""
    data = json.loads(example_dossier_text())
    worker = data["workers"][0]
    worker["gender"] = "female" if worker["gender"] == "male" else "male"
    return check(loads(json.dumps(data)), PluginHost().rule_pack(None))


def test_the_example_report(report: Report) -> None:
    assert report.findings
    assert {s.box for s in report.segments} >= {Box.UPPER, Box.LOWER}
    assert len(report.workers) == 3
    assert report.to_json() == _expected(report)
    assert report.to_json(indent=2) == _expected(report, 2)
    assert json.loads(report.to_json())["workers"] == [
        {
            "path": w.path,
            "id_number_18": w.id_number_18,
            "months": {
                "deemed": w.deemed,
                "pre_account": w.pre_account,
                "post_account": w.post_account,
            },
        }
        for w in report.workers
    ]


@pytest.mark.parametrize(
    "text", ["", "王伟", 'a"b\\c', "\x00\x1f\x7f", "\u202e\u2028\u3000", "\U000e0041", "\ud800"]
)
def test_any_text_and_number(report: Report, text: str) -> None:
    """Strings that need escapes, control and format characters, a lone
    surrogate, none; numbers large and negative; a bool where an int is."""
    segments = (
        SegmentSummary(text, Box.UPPER, Category.DEEMED, -3),
        SegmentSummary(text, None, None, 10**30),
        SegmentSummary(text, Box.LOWER, None, True),  # type: ignore[arg-type]
    )
    workers = (
        WorkerSummary(path=text, id_number_18=text, deemed=0, pre_account=-1, post_account=2**70),
        WorkerSummary(path=text, id_number_18=None, deemed=False, pre_account=1, post_account=1),  # type: ignore[arg-type]
    )
    odd = attrs.evolve(report, segments=segments, workers=workers)
    assert odd.to_json() == _expected(odd)


def test_no_items(report: Report) -> None:
    empty = attrs.evolve(report, segments=(), workers=(), as_of=YearMonth(2013, 8))
    assert empty.to_json() == _expected(empty)
    assert '"segments": [], "workers": []' in empty.to_json()
