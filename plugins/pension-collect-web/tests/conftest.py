"""The web plugin's tests.

Collected only where the plugin is installed (the repository's test command
installs it: README, .ci/run). With ``CI`` set a missing plugin is an error,
not a silent absence.

Fixtures (imported below; each module's docstring says more):

- tests/web_fixtures.py, the page tests (the app in this process, Flask's
  test client): ``example_dossier``, ``bureau_dir`` (a reference bureau seeded
  with the example dossier), ``store_url`` (memory, sqlite and postgresql
  where its plugin is installed), ``make_app(clerks=..., **config)``, ``app``,
  ``client`` (signed in as the example employer's clerk;
  ``client.post_form(url, data)`` adds the CSRF token), ``anon``,
  ``signed_in(app, name)``, ``library_session(app)`` (a CollectionSession on
  the app's own store and bureau);
- tests/browser.py, the browser tests: ``browser`` (headless chromium) and
  ``web`` (the server started through the console script).
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

    # the 230-worker collection built once per session (test_workers, test_audit): workers_fixtures
    from workers_fixtures import many_built  # noqa: F401
