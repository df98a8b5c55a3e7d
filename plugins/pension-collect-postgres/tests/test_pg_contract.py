"""The storage contract suite, unchanged, on PostgreSQL (with several processes)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pension_collect_postgres.plugin
import pytest
from pension_collect_postgres import PostgresStorage

from pension_collect.plugins import PluginHost
from pension_collect.ports.storage import Storage
from pension_collect.testing.contract import SharedStorageContract


class TestPostgresStorage(SharedStorageContract):
    @pytest.fixture
    def storage(self, url: str) -> Iterator[Storage]:
        host = PluginHost(load_entry_points=False, plugins=[pension_collect_postgres.plugin])
        store = host.open_storage(url)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, url: str) -> Iterator[Callable[[], Storage]]:
        opened: list[PostgresStorage] = []

        def again() -> Storage:
            opened.append(PostgresStorage(url))
            return opened[-1]

        yield again
        for store in opened:
            store.close()

    @pytest.fixture
    def process_opener(self, url: str) -> Callable[[], Storage]:
        return functools.partial(PostgresStorage, url)
