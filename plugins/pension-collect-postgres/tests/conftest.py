"""The plugin's tests run against a throwaway PostgreSQL server.

One server per test session (``pension_collect_postgres.testing.shared_server``),
started on first use and stopped at exit; each test gets an empty store of
its own (a new PostgreSQL schema). Without PostgreSQL's server binaries the
tests skip, saying so; on CI (``CI`` set) the repository's tests/conftest.py
makes any skip fail the run.

Collected only where the plugin is installed: the repository's test command
(``python -m pytest``) runs in a fresh virtual environment without it. With
``CI`` set a missing plugin is an error, not a silent absence (.ci/run
installs it).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

if importlib.util.find_spec("pension_collect_postgres") is None:
    if os.environ.get("CI"):
        raise pytest.UsageError(
            "CI is set but the PostgreSQL plugin is not installed: "
            "pip install -e plugins/pension-collect-postgres"
        )
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def server() -> object:
    """The session's throwaway PostgreSQL server (skips where there are no binaries)."""
    from pension_collect_postgres.testing import NO_SERVER, find_bindir, shared_server

    if find_bindir() is None:
        pytest.skip(NO_SERVER)
    return shared_server()


@pytest.fixture
def url(server: object) -> str:
    """The URL of an empty store of this test's own (a new schema; no password in it)."""
    from pension_collect_postgres.testing import ThrowawayServer

    assert isinstance(server, ThrowawayServer)
    return server.fresh_url()
