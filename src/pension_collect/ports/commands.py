"""Command-line commands contributed by plugins (``pension_collect_register_commands``).

A plugin adds subcommands to ``pension-collect`` by registering, under the
command's name, a function that adds the command's parser to the CLI's
subparsers and sets ``run``::

    def add_parser(subparsers):
        parser = subparsers.add_parser("web", help="...")
        parser.add_argument("--port", type=int, default=8080)
        parser.set_defaults(run=run)          # run(args) -> exit status

    @hookimpl
    def pension_collect_register_commands(registry):
        registry.add("web", add_parser)

``run(args)`` returns the exit status; a
:class:`~pension_collect.errors.PensionCollectError` it raises is printed as
one line on standard error with exit status 2, like the built-in commands'.
The names of the built-in commands are taken: a plugin registering one is a
:class:`~pension_collect.errors.PluginError` when the CLI starts
(docs/plugins.md).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from ..errors import PensionCollectError, PluginError
from .registry import Registry, UnknownEntry

__all__ = ["CommandAdder", "CommandRegistry", "UnknownCommand"]

#: ``add_parser(subparsers)``: adds the command's parser (the object
#: ``argparse.ArgumentParser.add_subparsers`` returned) and sets ``run``.
CommandAdder = Callable[["argparse._SubParsersAction[Any]"], object]

#: A command name: lower-case letters, digits and hyphens, a letter first.
_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}\Z")


class UnknownCommand(UnknownEntry):
    """No plugin registers a command of that name."""

    code = "plugins.unknown-command"

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__("command", name, available)


class CommandRegistry(Registry[CommandAdder]):
    """Plugin commands by name, filled by ``pension_collect_register_commands``.

    The one registry behaviour (:class:`~pension_collect.ports.registry.Registry`).
    Names are what a user types after ``pension-collect``: lower-case letters,
    digits and hyphens, starting with a letter (at most 40 characters).
    """

    what = "command"

    def validate(self, name: str, item: CommandAdder) -> None:
        if not _NAME.match(name):
            raise PluginError(
                f"a command name is lower-case letters, digits and hyphens, "
                f"starting with a letter, not {name!r}"
            )
        if not callable(item):
            raise PluginError(f"the command {name!r} needs a callable add_parser(subparsers)")

    def unknown(self, name: str) -> PensionCollectError:
        return UnknownCommand(name, self.names())
