"""A test plugin that adds the rule ``acme.no-phone`` to the built-in ``weihai-2013`` pack.

It shows the smallest plugin: one ``@hookimpl`` function and one
``registry.add_rule`` call; docs/plugins.md walks through the same code.
"""

from __future__ import annotations

from collections.abc import Iterator

from pension_collect import hookimpl
from pension_collect.ports.rulepacks import RulePackRegistry
from pension_collect.rules import DossierView, Hit, Rule, Scope, Severity

CODE = "acme.no-phone"


def no_phone(view: DossierView) -> Iterator[Hit]:
    """The employer has no contact phone."""
    if not view.dossier.employer.phone:
        yield Hit(path="$.employer", field="phone")


NO_PHONE = Rule(
    code=CODE,
    severity=Severity.WARNING,
    scope=Scope.DOSSIER,
    procedure="P3.1",
    message="The employer has no contact phone; the bureau calls it about the declaration.",
    message_zh="单位未填写联系电话;社保经办机构需要通过电话联系申报事宜。",
    check=no_phone,
)


@hookimpl
def pension_collect_register_rule_packs(registry: RulePackRegistry) -> None:
    registry.add_rule("weihai-2013", NO_PHONE)
