"""``pension-collect validate``'s start-up imports only what a check runs (issue 15).

The command is run in a fresh interpreter, as the benchmark
(benchmarks/bench_validate.py) runs it, and the modules it loaded are read
from that interpreter's ``sys.modules`` after it finished: a later change that
brings one of :data:`NOT_IMPORTED` back onto the path of ``validate`` fails
here. The names moved off the path still work when asked for (PEP 562
``__getattr__``; docs/rules.md, docs/dossier.md "Reading fast").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pension_collect.dossier import example_dossier_text

#: What ``pension-collect validate FILE --format json`` of a clean dossier,
#: the rule-pack cache warm, must not import.
NOT_IMPORTED = (
    # the fixes: a check proposes them by code, never applies one
    "pension_collect.rules.fixes",
    # the plugin host and its discovery: validate loads no plugin
    "pension_collect.plugins",
    "pension_collect.hookspecs",
    "pluggy",
    "importlib.metadata",
    # the other commands and the layers above the rules
    "pension_collect.cli.collect",
    "pension_collect.cli._collect_common",
    "pension_collect.cli.render",
    "pension_collect.cli.demo",
    "pension_collect.cli.bureau",
    "pension_collect.cli.xlsx",
    "pension_collect.workflow",
    "pension_collect.ports",
    "pension_collect.adapters",
    "pension_collect.server",
    "pension_collect.xlsx",
    # the streaming reader and the detailed reader (the fast path read it all)
    "pension_collect.rules.stream",
    "pension_collect._reader.stream",
    "cattrs",
    "ijson",
    # the rule pack's TOML: the cache holds its record
    "tomllib",
    # argparse's terminal width (shutil, with bz2 and lzma): asked only for help
    "shutil",
    "bz2",
    "lzma",
    # stdlib a check never needs
    "tempfile",
    "logging",
    "email",
    "urllib.request",
    "http",
    "hashlib",
    "socket",
    "subprocess",
    "calendar",
    "zoneinfo",
)

#: The child: validate, then what it imported, whether text.py compiled
#: any of its expressions (clean data needs none) and how many times the
#: cyclic collector ran during ``main``.
_CHILD = """
import gc, sys
collections = []
from pension_collect.cli import main
gc.callbacks.append(lambda phase, info: phase == 'stop' and collections.append(info))
status = main(['validate', sys.argv[1], '--format', 'json'])
sys.stdout.flush()
import json
text = sys.modules['pension_collect.text']
sys.stderr.write(json.dumps({
    'status': status,
    'modules': sorted(sys.modules),
    'compiled': len(text._COMPILED),
    'collections': len(collections),
    'gc_enabled': gc.isenabled(),
}))
"""


def _run(path: Path, cache: Path) -> tuple[dict[str, Any], str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONIOENCODING": "utf-8"}
    env.pop("PENSION_COLLECT_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    result: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return result, done.stdout


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One run of validate on the example dossier, the caches warm (the first
    run writes the generated code and the pack's record, the second the
    pack's parameters: docs/cli.md)."""
    folder = tmp_path_factory.mktemp("validate-imports")
    path = folder / "dossier.json"
    path.write_text(example_dossier_text(), encoding="utf-8")
    for _ in range(2):
        _run(path, folder / "cache")
    return _run(path, folder / "cache")


def test_validate_checks_the_dossier(validated: tuple[dict[str, Any], str]) -> None:
    """The run measured below is a real check: a JSON report of the dossier."""
    result, out = validated
    report = json.loads(out)
    assert result["status"] in (0, 1)
    assert report["format"] == "pension-collect/report"
    assert (report["summary"]["errors"] == 0) is (result["status"] == 0)
    assert report["summary"]["workers"] == len(json.loads(example_dossier_text())["workers"])


@pytest.mark.parametrize("module", NOT_IMPORTED)
def test_validate_does_not_import(validated: tuple[dict[str, Any], str], module: str) -> None:
    modules = set(validated[0]["modules"])
    assert "pension_collect.rules.engine" in modules  # the check did run
    assert module not in modules, f"{module} is on validate's start-up path again"


def test_validate_runs_no_collection(validated: tuple[dict[str, Any], str]) -> None:
    """Imports, reading, checking and the report make objects that live to
    the end: the cyclic collector is paused through ``main`` (no pass over
    them), and running again afterwards."""
    assert validated[0]["collections"] == 0
    assert validated[0]["gc_enabled"] is True


def test_validate_compiles_no_text_expression(validated: tuple[dict[str, Any], str]) -> None:
    """Clean text is answered by ``str.isprintable``: no escape expression is
    compiled at import or during the run."""
    assert validated[0]["compiled"] == 0


# -- the names moved off the path still work --------------------------------------


def test_the_fix_names_are_importable_from_rules() -> None:
    code = (
        "import sys\n"
        "import pension_collect.rules as rules\n"
        "assert 'pension_collect.rules.fixes' not in sys.modules\n"
        "assert {'apply_fix', 'fix_preview', 'fixable', 'FixPreview', 'FixNotApplicable'}"
        " <= set(dir(rules))\n"
        "from pension_collect.rules import FixNotApplicable, FixPreview, apply_fix, "
        "fix_preview, fixable\n"
        "import pension_collect.rules.fixes as fixes\n"
        "assert (apply_fix, fix_preview, fixable, FixPreview, FixNotApplicable) == "
        "(fixes.apply_fix, fixes.fix_preview, fixes.fixable, fixes.FixPreview, "
        "fixes.FixNotApplicable)\n"
        "assert issubclass(FixNotApplicable, Exception)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"]


def test_every_public_rules_name_resolves() -> None:
    import pension_collect.rules as rules

    for name in rules.__all__:
        assert getattr(rules, name) is not None, name
    namespace: dict[str, Any] = {}
    exec("from pension_collect.rules import *", namespace)  # the star import itself
    assert set(rules.__all__) <= set(namespace)


def test_an_unknown_rules_name_is_an_attribute_error() -> None:
    import pension_collect.rules as rules

    with pytest.raises(AttributeError, match="no attribute 'apply_fixes'"):
        _ = rules.apply_fixes
    with pytest.raises(ImportError):
        exec("from pension_collect.rules import apply_fixes", {})


def test_text_expressions_compiled_on_first_use_give_the_same_results() -> None:
    """The lazily compiled expressions: same answers the first time and after."""
    from pension_collect.text import json_safe, printable, refused_character

    for _ in range(2):
        assert refused_character("王\u202e伟") == 1
        assert refused_character("王\u3000伟\u200b") is None  # a space, a format character
        assert printable("a\x1bb\n") == "a\\x1bb\\n"
        assert printable("\U000e0041") == "\\U000e0041"
        assert json_safe('{\n  "n": "\u202e"\n}') == '{\n  "n": "\\u202e"\n}'
        assert json_safe('"\U000e0041"') == '"\\udb40\\udc41"'


def _help(columns: str) -> list[str]:
    env = {**os.environ, "COLUMNS": columns, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "pension_collect", "validate", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=True,
    )
    return done.stdout.splitlines()


def test_help_still_fits_the_terminal() -> None:
    """The terminal's width, asked only when help is printed, still lays it out."""
    narrow, wide = _help("50"), _help("200")
    assert len(narrow) > len(wide)
    assert max(map(len, narrow)) < 60 < max(map(len, wide))
