"""A test plugin that adds a second rule pack, ``acme-2020``, with its own parameters.

The pack reuses three rules of ``weihai-2013`` that read only the parameters
its TOML file (``acme-2020.toml``, next to this module) defines, and adds one
of its own. Its account starts 1998-01 instead of 1996-04, so the same
dossier is judged differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pension_collect import hookimpl
from pension_collect.ports.rulepacks import RulePackRegistry
from pension_collect.rules import (
    Hit,
    Rule,
    RulePack,
    Severity,
    WorkerView,
    load_parameters,
    weihai2013,
)

NAME = "acme-2020"
PARAMETERS_FILE = Path(__file__).with_name("acme-2020.toml")
BORROWED = (
    "history.enterprise-after-account-start",
    "history.crosses-account-start",
    "collection.incomplete",
)


def no_person_no(view: WorkerView) -> Iterator[Hit]:
    """The worker has no bureau personal number."""
    if view.worker.person_no is None:
        yield Hit(path=view.path, field="person_no")


def make_pack() -> RulePack:
    """The ``acme-2020`` pack."""
    weihai = {rule.code: rule for rule in weihai2013.RULES}
    own = Rule(
        code="acme.person-no",
        severity=Severity.WARNING,
        message="No personal number; copy it from the handbook.",
        message_zh="未填写个人编号;请从养老手册抄录。",
        check=no_person_no,
    )
    return RulePack(
        name=NAME,
        title="Acme city 2020 (test pack)",
        parameters=load_parameters(PARAMETERS_FILE),
        rules=(*(weihai[code] for code in BORROWED), own),
    )


@hookimpl
def pension_collect_register_rule_packs(registry: RulePackRegistry) -> None:
    registry.add_pack(make_pack())
