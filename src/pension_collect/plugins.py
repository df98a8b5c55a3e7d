"""The plugin host: one pluggy manager behind a small typed facade.

Built-in adapters and the built-in rule pack are plugins too: they are listed
in :data:`DEFAULT_PLUGINS` and registered through the same door as third-party
plugins. They register with ``default=True``, so a plugin registering the same
name or scheme replaces them, in whichever order the two run; a host can also
leave any of them out by name (``PluginHost(exclude=...)``). Core code calls
hooks only through :class:`PluginHost`, never through ``pm.hook`` directly.

This module is the host layer: it imports the ports and the hook
specifications, and only the workflow, the CLI and the facade import it
(docs/architecture.md).

Set ``PENSION_COLLECT_DISABLE_PLUGINS=1`` to load no third-party plugin, or to a
comma-separated list of entry-point names to block only those.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .ports.commands import CommandRegistry
from .ports.events import DeclarationConcluded, DeclarationSubmitted, WorkerSaved
from .ports.forms.registry import Renderer, RendererRegistry
from .ports.rulepacks import RulePackRegistry
from .ports.storage import Storage, StorageRegistry
from .ports.transport import Transport, TransportRegistry
from .rules.pack import RulePack

__all__ = ["DEFAULT_PLUGINS", "DISABLE_ENV", "PluginHost"]

#: Modules registered as plugins in every host, in this order.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "pension_collect.adapters.rule_packs",
    "pension_collect.adapters.memory",
    "pension_collect.adapters.sqlite",
    "pension_collect.adapters.local_transport",
    "pension_collect.adapters.http_transport",
    "pension_collect.adapters.pdf.plugin",
)

#: Environment variable: "1" blocks every entry-point plugin; a comma-separated
#: list blocks those entry-point names.
DISABLE_ENV = "PENSION_COLLECT_DISABLE_PLUGINS"


class PluginHost:
    """Owns the plugin manager and answers the core's questions through it.

    ``load_entry_points=False`` gives a host with the built-ins only (useful
    in tests); ``plugins`` registers extra plugin objects or modules;
    ``exclude`` leaves out built-ins by their name in :data:`DEFAULT_PLUGINS`
    (``"pension_collect.adapters.pdf.plugin"``) or its last part
    (``"pdf.plugin"``, ``"sqlite"``): a host without PDF forms, say, or with
    a plugin's store in place of SQLite.
    """

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        plugins: Iterable[object] = (),
        exclude: Iterable[str] = (),
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        for module_name in _builtins_without(exclude):
            self._pm.register(importlib.import_module(module_name), name=module_name)
        if load_entry_points:
            self._load_entry_points()
        for plugin in plugins:
            self._register(plugin, None)
        self._rule_packs: RulePackRegistry | None = None
        self._renderers: RendererRegistry | None = None
        self._storage: StorageRegistry | None = None
        self._transports: TransportRegistry | None = None
        self._commands: CommandRegistry | None = None
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
        self._register(plugin, name)
        self._rule_packs = None
        self._renderers = None
        self._storage = None
        self._transports = None
        self._commands = None
        self.check_pending()

    def _register(self, plugin: object, name: str | None) -> None:
        # A hook implementation whose arguments the spec lacks, or a plugin
        # registered twice, is a broken plugin like a misspelled hook.
        try:
            self._pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {name or plugin!r} cannot be registered: {exc}") from exc

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
            if plugin is None:  # pluggy's placeholder for a blocked name
                continue
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

    # -- form renderers (docs/forms.md) ------------------------------------------------

    def renderers(self) -> RendererRegistry:
        """Every form renderer the plugins provide, by name (computed once per host)."""
        if self._renderers is None:
            registry = RendererRegistry()
            self._pm.hook.pension_collect_register_renderers(registry=registry)
            registry.freeze()
            self._renderers = registry
        return self._renderers

    def renderer(self, name: str) -> Renderer:
        """The renderer called ``name`` (``verification``, ``confirmation``, ``summary`` ...)."""
        return self.renderers().get(name)

    # -- storage and transport (docs/storage.md, docs/bureau.md) ----------------

    def storage_registry(self) -> StorageRegistry:
        """Every storage factory the plugins provide, by URL scheme."""
        if self._storage is None:
            registry = StorageRegistry()
            self._pm.hook.pension_collect_register_storage(registry=registry)
            registry.freeze()
            self._storage = registry
        return self._storage

    def open_storage(self, url: str, **options: Any) -> Storage:
        """Open the store at ``url`` (``memory:``, ``sqlite:///path`` or a plugin's scheme)."""
        store: Storage = self.storage_registry().open(url, **options)
        return store

    def transport_registry(self) -> TransportRegistry:
        """Every bureau transport the plugins provide, by URL scheme."""
        if self._transports is None:
            registry = TransportRegistry()
            self._pm.hook.pension_collect_register_transport(registry=registry)
            registry.freeze()
            self._transports = registry
        return self._transports

    def open_transport(self, url: str, **options: Any) -> Transport:
        """Open a transport to the bureau at ``url`` (``local:`` or a plugin's scheme)."""
        transport: Transport = self.transport_registry().open(url, **options)
        return transport

    # -- command-line commands (docs/plugins.md) ------------------------------------

    def commands(self) -> CommandRegistry:
        """Every command-line command the plugins add, by name (computed once per host)."""
        if self._commands is None:
            registry = CommandRegistry()
            self._pm.hook.pension_collect_register_commands(registry=registry)
            registry.freeze()
            self._commands = registry
        return self._commands

    # -- workflow events -------------------------------------------------------------

    def worker_saved(self, event: WorkerSaved) -> None:
        """Tell plugins a worker was saved."""
        self._pm.hook.pension_collect_worker_saved(event=event)

    def declaration_submitted(self, event: DeclarationSubmitted) -> None:
        """Tell plugins a declaration was submitted."""
        self._pm.hook.pension_collect_declaration_submitted(event=event)

    def declaration_concluded(self, event: DeclarationConcluded) -> None:
        """Tell plugins a declaration was concluded."""
        self._pm.hook.pension_collect_declaration_concluded(event=event)

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager, for plugin authors' tests."""
        return self._pm


def _builtins_without(exclude: Iterable[str]) -> list[str]:
    """DEFAULT_PLUGINS less the excluded ones; an unknown name is a PluginError."""
    wanted = list(exclude)
    if isinstance(exclude, str):
        wanted = [exclude]
    prefix = "pension_collect.adapters."
    left = list(DEFAULT_PLUGINS)
    for name in wanted:
        matches = [m for m in left if name in (m, m.removeprefix(prefix))]
        if not matches:
            known = ", ".join(m.removeprefix(prefix) for m in DEFAULT_PLUGINS)
            raise PluginError(f"no built-in plugin named {name!r} to exclude; built-ins: {known}")
        left = [m for m in left if m not in matches]
    return left
