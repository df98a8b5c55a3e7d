"""The built-in rule pack, weihai-2013, registered like any plugin's (docs/rules.md)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..ports.rulepacks import RulePackRegistry
from ..rules.weihai2013 import default_pack

__all__ = ["pension_collect_register_rule_packs"]


@hookimpl
def pension_collect_register_rule_packs(registry: RulePackRegistry) -> None:
    """Register weihai-2013 as a built-in (a plugin may replace it by name)."""
    registry.add_pack(default_pack(), default=True)
