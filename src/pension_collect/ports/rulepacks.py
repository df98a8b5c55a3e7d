"""The registry the rule-pack hook fills in (docs/plugins.md).

Rule packs themselves (:class:`~pension_collect.rules.pack.RulePack`) are pure
data and functions in :mod:`pension_collect.rules`; this is only where plugins
put them, with the one registry behaviour of
:class:`~pension_collect.ports.registry.Registry`, plus extra rules a plugin
adds to a pack someone else provides.
"""

from __future__ import annotations

from ..errors import PensionCollectError, PluginError, UnknownRulePack
from ..rules.pack import DEFAULT_PACK, Rule, RulePack
from .registry import Registry

__all__ = ["RulePackRegistry"]


class RulePackRegistry(Registry[RulePack]):
    """What the ``pension_collect_register_rule_packs`` hook fills in."""

    what = "rule pack"

    def __init__(self) -> None:
        super().__init__()
        self._extra: dict[str, list[Rule]] = {}
        self._resolved: dict[str, RulePack] = {}

    def validate(self, name: str, item: RulePack) -> None:
        if not isinstance(item, RulePack):
            raise PluginError(f"rule pack {name!r} is not a RulePack")
        if item.name != name:
            raise PluginError(f"rule pack {item.name!r} registered under another name, {name!r}")

    def unknown(self, name: str) -> PensionCollectError:
        return UnknownRulePack(name, self.names())

    def add_pack(self, pack: RulePack, *, default: bool = False) -> None:
        """Register ``pack`` under its own name (``add(pack.name, pack)``)."""
        self.add(pack.name, pack, default=default)

    def add_rule(self, pack_name: str, rule: Rule) -> None:
        """Add a rule to a pack (registered before or after this call)."""
        if self.frozen:
            raise PluginError(
                f"rule {rule.code!r} added after set-up; add it from the plugin hook instead"
            )
        self._extra.setdefault(pack_name, []).append(rule)

    def freeze(self) -> None:
        """Close registration; a rule added to a pack nobody provides is a PluginError."""
        for name in self._extra:
            if name not in self:
                raise PluginError(
                    f"a plugin adds rules to rule pack {name!r}, which nobody provides"
                )
        super().freeze()

    def get(self, name: str | None = None) -> RulePack:
        """The pack with extra rules applied (the default pack when ``name`` is ``None``)."""
        name = name or DEFAULT_PACK
        if name not in self._resolved:
            self._resolved[name] = super().get(name).with_rules(self._extra.get(name, ()))
        return self._resolved[name]
