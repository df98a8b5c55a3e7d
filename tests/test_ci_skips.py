"""tests/conftest.py fails a run on CI that skipped anything (docs/testing.md,
"Running the suite"): checked on a small suite run in a child pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

SUITE = """
import pytest

def test_runs():
    assert True

@pytest.mark.skipif(True, reason="no poppler here")
def test_marked():
    pass

def test_skips_inside():
    pytest.skip("no font here")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
"""

MODULE_SKIP = """
import pytest

pytest.importorskip("a_module_that_is_not_installed")

def test_never_collected():
    pass
"""


def _run(tmp_path: Path, ci: str | None, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``files`` beside a copy of tests/conftest.py, CI set to
    ``ci`` (unset when ``None``)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SKIPPING = {"test_suite.py": SUITE, "test_optional.py": MODULE_SKIP}
NOT_SKIPPING = {
    "test_suite.py": SUITE.replace(
        '@pytest.mark.skipif(True, reason="no poppler here")', ""
    ).replace('pytest.skip("no font here")', "pass")
}


class TestSkipsFailOnCI:
    def test_skips_fail_the_run_on_ci(self, tmp_path: Path) -> None:
        """With CI set, the run exits 1 and lists every skip with its reason
        (a skipif mark, a skip in the test, a module-level importorskip)."""
        run = _run(tmp_path, "true", SKIPPING)
        assert run.returncode == 1, run.stdout
        assert "3 test(s) or module(s) skipped" in run.stdout
        listed = run.stdout.split("skipped on CI", 1)[1]
        for nodeid, reason in (
            ("test_suite.py::test_marked", "no poppler here"),
            ("test_suite.py::test_skips_inside", "no font here"),
            ("test_optional.py", "a_module_that_is_not_installed"),
        ):
            line = next(x for x in listed.splitlines() if x.startswith(f"SKIPPED {nodeid}:"))
            assert reason in line
        assert "test_expected_failure" not in listed

    def test_skips_pass_off_ci(self, tmp_path: Path) -> None:
        """Without CI the same suite passes, its skips reported as usual."""
        run = _run(tmp_path, None, SKIPPING)
        assert run.returncode == 0, run.stdout
        assert "skipped on CI" not in run.stdout
        assert "1 passed, 3 skipped, 1 xfailed" in run.stdout

    def test_no_skip_passes_on_ci(self, tmp_path: Path) -> None:
        """On CI a run without skips passes (an expected failure is not a skip)."""
        run = _run(tmp_path, "1", NOT_SKIPPING)
        assert run.returncode == 0, run.stdout
        assert "3 passed, 1 xfailed" in run.stdout

    def test_a_worse_status_is_kept(self, tmp_path: Path) -> None:
        """A run interrupted by a collection error keeps pytest's status 2."""
        run = _run(tmp_path, "true", {**SKIPPING, "test_broken.py": "def broken(:\n"})
        assert run.returncode == 2, run.stdout
        assert "skipped on CI" in run.stdout
