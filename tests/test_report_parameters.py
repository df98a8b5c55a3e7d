"""The JSON report's ``parameters`` as docs/report.md writes them: months as
``"YYYY-MM"``, rates as plain decimal strings, never a class's private fields
(YearMonth's ``_index`` used to leak into every month value)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from pension_collect.dossier import example_dossier_text, loads
from pension_collect.rules import check, load_parameters
from pension_collect.rules.weihai2013 import PARAMETERS_FILE, default_pack, make_pack

TODAY = datetime.date(2026, 11, 28)

RATE_TABLE = """
[[individual_rate_reference.values]]
from = "1900-01"
source = "configured for this test"
confidence = "unknown"
value = [
  {start = "1993-01", end = "1995-12", rate = "0.03"},
  {start = "1996-01", end = "1997-12", rate = "0.04"},
]
"""


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_months_are_written_as_months() -> None:
    report = check(loads(example_dossier_text()), default_pack(), today=TODAY)
    parameters = json.loads(report.to_json())["parameters"]
    assert parameters["account_start"]["value"] == "1996-04"
    assert parameters["upper_box_last_month"]["value"] == "1992-12"
    assert parameters["forms_print_until"]["value"] == "2011-12"
    assert parameters["minimum_working_age"]["value"] == 16
    assert parameters["account_start"]["since"] == "1900-01"
    assert not {k for k in _keys(parameters) if k.startswith("_")}


def test_a_rate_table_is_written_in_the_dossier_conventions(tmp_path: Path) -> None:
    toml = tmp_path / "parameters.toml"
    toml.write_text(PARAMETERS_FILE.read_text("utf-8") + RATE_TABLE, "utf-8")
    pack = make_pack(load_parameters(toml))
    report = check(loads(example_dossier_text()), pack, today=TODAY)
    value = json.loads(report.to_json())["parameters"]["individual_rate_reference"]["value"]
    assert value == [
        {"start": "1993-01", "end": "1995-12", "rate": "0.03"},
        {"start": "1996-01", "end": "1997-12", "rate": "0.04"},
    ]
