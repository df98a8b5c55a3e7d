"""PostgreSQL for the workflow's tests: where the plugin pension-collect-postgres
is installed, the store ``postgresql`` joins ``memory`` and ``sqlite``
(``workflow_fixtures.STORES``).

The server is the plugin's throwaway one (``pension_collect_postgres.testing``):
started on first use, one per test session, stopped at exit. Each test's
store is a schema of its own, named after the test's ``tmp_path`` (so two
opens in one test reach the same store). Where the plugin is installed but
there are no PostgreSQL binaries, the test skips, saying so (a failure on CI).
Stores opened through :func:`plugins_for`'s plugin are closed after each test
(tests/conftest.py), so their pools do not pile up connections.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from pension_collect.hookspecs import hookimpl
from pension_collect.ports.storage import Storage, StorageRegistry

_opened: list[Storage] = []


def installed() -> bool:
    """Whether the PostgreSQL plugin is installed."""
    return importlib.util.find_spec("pension_collect_postgres") is not None


def url_for(tmp_path: Path) -> str:
    """The URL of the store of the test whose ``tmp_path`` this is (empty at first)."""
    from pension_collect_postgres.testing import NO_SERVER, find_bindir, shared_server

    if find_bindir() is None:
        pytest.skip(NO_SERVER)
    digest = hashlib.sha256(str(tmp_path.resolve()).encode("utf-8")).hexdigest()
    return shared_server().url(schema=f"w_{digest[:16]}")


class _Tracking:
    """The plugin's schemes, each store remembered to be closed after the test."""

    @hookimpl
    def pension_collect_register_storage(self, registry: StorageRegistry) -> None:
        registry.add("postgresql", self.open)
        registry.add("postgres", self.open)

    @staticmethod
    def open(url: str, **options: Any) -> Storage:
        from pension_collect_postgres.plugin import open_storage

        store = open_storage(url, **options)
        _opened.append(store)
        return store


def plugins_for(url: str) -> list[object]:
    """The plugins a host needs to open ``url``: the PostgreSQL one for its schemes."""
    return [_Tracking()] if url.startswith(("postgresql:", "postgres:")) else []


def close_opened() -> None:
    """Close every store opened through :func:`plugins_for` (after each test)."""
    while _opened:
        _opened.pop().close()
