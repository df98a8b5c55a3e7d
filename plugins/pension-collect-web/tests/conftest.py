"""The web plugin's tests.

Collected only where the plugin is installed (the repository's test command
installs it: README, .ci/run). With ``CI`` set a missing plugin is an error,
not a silent absence.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

if importlib.util.find_spec("pension_collect_web") is None:
    if os.environ.get("CI"):
        raise pytest.UsageError(
            "CI is set but the web plugin is not installed: "
            "pip install -e plugins/pension-collect-web"
        )
    collect_ignore_glob = ["test_*.py"]
else:
    # the browser tests' fixtures, ``browser`` (session) and ``web`` (module): tests/browser.py
    from browser import browser, web  # noqa: F401

    # the page tests' fixtures (bureau, stores, apps, signed-in clients): tests/web_fixtures.py
    from web_fixtures import *  # noqa: F403
