"""The plugin: adds ``pension-collect web`` through ``pension_collect_register_commands``.

Flask and the rest of the front end are imported only when the command runs,
so other commands do not pay for them.
"""

from __future__ import annotations

import argparse
from typing import Any

from pension_collect.hookspecs import hookimpl
from pension_collect.ports.commands import CommandRegistry

__all__ = ["pension_collect_register_commands"]


def _add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    from .cli import add_parser

    add_parser(subparsers)


@hookimpl
def pension_collect_register_commands(registry: CommandRegistry) -> None:
    """Register the ``web`` command (docs/web.md)."""
    registry.add("web", _add_parser)
