"""The plugin host: one pluggy manager behind a small typed facade.

Built-in adapters and the built-in rule pack are plugins too: they are listed
in :data:`DEFAULT_PLUGINS` and registered through the same door as third-party
plugins (with ``trylast=True``, so a plugin can replace what they provide).
Core code calls hooks only through :class:`PluginHost`, never through
``pm.hook`` directly.

Set ``PENSION_COLLECT_DISABLE_PLUGINS=1`` to load no third-party plugin, or to a
comma-separated list of entry-point names to block only those.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable

import pluggy

from . import hookspecs
from .errors import PluginError
from .rules.pack import RulePack, RulePackRegistry

__all__ = ["DEFAULT_PLUGINS", "DISABLE_ENV", "PluginHost", "default_host"]

#: Modules registered as plugins in every host, in this order.
DEFAULT_PLUGINS: tuple[str, ...] = ("pension_collect.rules.weihai2013",)

#: Environment variable: "1" blocks every entry-point plugin; a comma-separated
#: list blocks those entry-point names.
DISABLE_ENV = "PENSION_COLLECT_DISABLE_PLUGINS"


class PluginHost:
    """Owns the plugin manager and answers the core's questions through it.

    ``load_entry_points=False`` gives a host with the built-ins only (useful
    in tests); ``plugins`` registers extra plugin objects or modules.
    """

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        plugins: Iterable[object] = (),
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        for module_name in DEFAULT_PLUGINS:
            self._pm.register(importlib.import_module(module_name), name=module_name)
        if load_entry_points:
            self._load_entry_points()
        for plugin in plugins:
            self._pm.register(plugin)
        self._rule_packs: RulePackRegistry | None = None
        self.check_pending()

    def _load_entry_points(self) -> None:
        blocked = os.environ.get(DISABLE_ENV, "").strip()
        if blocked in ("1", "true", "yes", "all"):
            return
        for name in filter(None, (b.strip() for b in blocked.split(","))):
            self._pm.set_blocked(name)
        try:
            self._pm.load_setuptools_entrypoints(hookspecs.PROJECT)
        except Exception as exc:  # a broken third-party plugin must say who it is
            raise PluginError(f"a pension_collect plugin failed to load: {exc!r}") from exc

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register one more plugin (module or object) and re-validate."""
        self._pm.register(plugin, name=name)
        self._rule_packs = None
        self.check_pending()

    def check_pending(self) -> None:
        """Fail loudly on hook implementations that match no hook (a misspelling)."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc

    def plugins(self) -> list[tuple[str, str | None]]:
        """(name, distribution) of every registered plugin, built-ins included."""
        dists = {id(p): d for p, d in self._pm.list_plugin_distinfo()}
        out = []
        for name, plugin in self._pm.list_name_plugin():
            dist = dists.get(id(plugin))
            out.append((name, None if dist is None else f"{dist.project_name} {dist.version}"))
        return out

    # -- rule packs -------------------------------------------------------------

    def rule_packs(self) -> RulePackRegistry:
        """Every rule pack the plugins provide (computed once per host)."""
        if self._rule_packs is None:
            registry = RulePackRegistry()
            self._pm.hook.pension_collect_register_rule_packs(registry=registry)
            registry.freeze()
            self._rule_packs = registry
        return self._rule_packs

    def rule_pack(self, name: str | None = None) -> RulePack:
        """The rule pack called ``name`` (the default pack when ``None``)."""
        return self.rule_packs().get(name)

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager, for plugin authors' tests."""
        return self._pm


_default: PluginHost | None = None


def default_host() -> PluginHost:
    """A host with every installed plugin, created on first use.

    Embedding applications that need isolation create their own
    :class:`PluginHost` and pass it explicitly instead.
    """
    global _default
    if _default is None:
        _default = PluginHost()
    return _default
