"""Hook specifications of pension_collect (pluggy project ``pension_collect``).

Plugins implement these with :data:`pension_collect.hookimpl` and declare an
entry point in the ``pension_collect`` group::

    [project.entry-points.pension_collect]
    my_pack = "my_package.plugin"

Hooks receive a *registry* to add to rather than returning values, so one
implementation can register several things and the order of plugins does not
matter. docs/plugins.md documents every hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .rules.pack import RulePackRegistry

__all__ = ["hookimpl", "hookspec", "pension_collect_register_rule_packs"]

PROJECT = "pension_collect"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator for hook implementations in plugins: ``@hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def pension_collect_register_rule_packs(registry: RulePackRegistry) -> None:
    """Add rule packs, or rules to an existing pack.

    Call ``registry.add_pack(pack)`` for a new pack and
    ``registry.add_rule(pack_name, rule)`` to extend one (the pack may be
    registered by another plugin, before or after this one).
    """
