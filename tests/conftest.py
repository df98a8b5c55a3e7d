"""Shared test configuration: hypothesis profiles, and no silent skips on CI.

``ci`` (selected when the environment variable CI is set, as on CI) bounds
every property test so the whole suite stays within minutes on 2 cores;
``dev`` is hypothesis' default; ``thorough`` runs many more examples
(``HYPOTHESIS_PROFILE=thorough pytest``).

When CI is set, a skipped test fails the run: the session's exit status
becomes 1 and the summary lists every skipped test with its reason. A test
skips only when something it needs is missing (a TrueType CJK font, poppler's
pdftoppm, an optional package), and CI installs all of it, so a skip there
means the installation is broken, not that the test may be left out
(docs/testing.md, "Running the suite").

The caches the library keeps in the user's cache folder (the rule-pack and
generated-code caches, ``$XDG_CACHE_HOME/pension-collect``) go to a folder
of the test session, removed at its end: the suite does not write into the
home of whoever runs it. Tests of the caches point them elsewhere themselves.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


_CACHE_HOME: list[tuple[str, str | None]] = []
"""The session's cache folder and the XDG_CACHE_HOME it replaced."""


def pytest_configure(config: pytest.Config) -> None:
    folder = tempfile.mkdtemp(prefix="pension-collect-test-cache-")
    _CACHE_HOME.append((folder, os.environ.get("XDG_CACHE_HOME")))
    os.environ["XDG_CACHE_HOME"] = folder  # child processes inherit it too


def pytest_unconfigure(config: pytest.Config) -> None:
    while _CACHE_HOME:
        folder, before = _CACHE_HOME.pop()
        if before is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = before
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _close_postgres_stores() -> Iterator[None]:
    """Stores a test opened on PostgreSQL are closed after it (tests/pg_server.py,
    imported by the tests that may open them)."""
    yield
    pg_server = sys.modules.get("pg_server")
    if pg_server is not None:
        pg_server.close_opened()


#: Skipped tests and collectors of this session: node id -> reason.
_SKIPPED: dict[str, str] = {}


def _on_ci() -> bool:
    return bool(os.environ.get("CI"))


def _note_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.setdefault(report.nodeid or "(session)", reason.removeprefix("Skipped: "))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI, a run that skipped anything fails (unless it failed already)."""
    if _on_ci() and _SKIPPED and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _on_ci() and _SKIPPED:
        terminalreporter.section("skipped on CI", sep="=", red=True, bold=True)
        terminalreporter.line(
            f"CI is set and {len(_SKIPPED)} test(s) or module(s) skipped: every test must run "
            "on CI (see .ci/run for the Debian packages, pyproject.toml for the test extras). "
            "The run fails.",
            red=True,
        )
        for nodeid, reason in sorted(_SKIPPED.items()):
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}")
