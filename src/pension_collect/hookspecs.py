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
    from .ports.commands import CommandRegistry
    from .ports.events import DeclarationConcluded, DeclarationSubmitted, WorkerSaved
    from .ports.forms.registry import RendererRegistry
    from .ports.rulepacks import RulePackRegistry
    from .ports.storage import StorageRegistry
    from .ports.transport import TransportRegistry

__all__ = [
    "hookimpl",
    "hookspec",
    "pension_collect_declaration_concluded",
    "pension_collect_declaration_submitted",
    "pension_collect_register_commands",
    "pension_collect_register_renderers",
    "pension_collect_register_rule_packs",
    "pension_collect_register_storage",
    "pension_collect_register_transport",
    "pension_collect_worker_saved",
]

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


@hookspec
def pension_collect_register_storage(registry: StorageRegistry) -> None:
    """Add storage factories by URL scheme (docs/storage.md).

    Call ``registry.add(scheme, factory)``; ``factory(url, **options)`` returns
    an object keeping the storage contract (:class:`pension_collect.ports.storage.Storage`,
    checked by :mod:`pension_collect.testing.contract`).
    """


@hookspec
def pension_collect_register_transport(registry: TransportRegistry) -> None:
    """Add bureau transports by URL scheme (docs/bureau.md).

    Call ``registry.add(scheme, factory)``; ``factory(url, **options)`` returns
    a :class:`pension_collect.ports.transport.Transport`.
    """


@hookspec
def pension_collect_worker_saved(event: WorkerSaved) -> None:
    """A worker's collection was saved (committed) by a workflow session ([P3.4])."""


@hookspec
def pension_collect_declaration_submitted(event: DeclarationSubmitted) -> None:
    """A declaration was submitted to the bureau and recorded ([P3.1], [P3.6])."""


@hookspec
def pension_collect_declaration_concluded(event: DeclarationConcluded) -> None:
    """The bureau concluded a declaration: succeeded, failed or partially succeeded ([P3.7])."""


@hookspec
def pension_collect_register_renderers(registry: RendererRegistry) -> None:
    """Add form renderers by name (docs/forms.md).

    Call ``registry.add(name, renderer)``; ``renderer.render(forms, out, *,
    options=None)`` writes the form for a
    :class:`pension_collect.ports.forms.FormsInput` to a binary stream and
    returns a :class:`pension_collect.ports.forms.RenderResult`. The
    built-in ``verification``, ``confirmation`` and ``summary`` are registered
    with ``default=True``: a plugin registering the same name replaces them.
    """


@hookspec
def pension_collect_register_commands(registry: CommandRegistry) -> None:
    """Add subcommands to the ``pension-collect`` command line (docs/plugins.md).

    Call ``registry.add(name, add_parser)``; ``add_parser(subparsers)`` adds
    the command's parser to the CLI's subparsers and sets
    ``parser.set_defaults(run=run)``, ``run(args)`` returning the exit status.
    The built-in commands' names are taken.
    """
