"""The plugin: registers the ``postgresql:`` and ``postgres:`` storage schemes.

Installed, it is found through the entry point ``postgres`` in the group
``pension_collect``; in a test, pass the module to a host
(``PluginHost(plugins=[pension_collect_postgres.plugin])``). psycopg is
imported when a store is first opened, not when the plugin is loaded.
"""

from __future__ import annotations

from typing import Any

from pension_collect.hookspecs import hookimpl
from pension_collect.ports.storage import Storage, StorageRegistry

__all__ = ["open_storage", "pension_collect_register_storage"]


def open_storage(url: str, **options: Any) -> Storage:
    """The factory of both schemes: a :class:`~pension_collect_postgres.PostgresStorage`."""
    from .storage import PostgresStorage

    return PostgresStorage.open(url, **options)


@hookimpl
def pension_collect_register_storage(registry: StorageRegistry) -> None:
    """``postgresql://`` and ``postgres://`` stores."""
    registry.add("postgresql", open_storage)
    registry.add("postgres", open_storage)
