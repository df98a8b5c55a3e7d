"""The house: nothing imports upward, and no import circle (docs/architecture.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layers import SRC, edges, import_circles, layer_of, layer_table, upward_imports


def test_the_table_names_every_module() -> None:
    """Every module under src/pension_collect belongs to a layer of the table."""
    layers = layer_table()
    modules = {e.source for e in edges()} | {e.target for e in edges()}
    assert modules, "the walk found no import at all"
    assert [m for m in sorted(modules) if layer_of(m, layers) is None] == []


def test_no_import_runs_up_the_layers() -> None:
    """Runtime and type-only imports go to the same or an allowed lower layer."""
    assert upward_imports() == []


def test_no_import_circle() -> None:
    """No two modules import each other, directly or around a circle."""
    assert import_circles() == []


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A copy of the source tree to plant bad imports in."""
    copy = tmp_path / "src"
    shutil.copytree(SRC / "pension_collect", copy / "pension_collect")
    return copy


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


class TestTheCheckCatches:
    def test_a_planted_upward_import(self, planted: Path) -> None:
        """rules importing the host is reported with its file, line and layers."""
        _append(
            planted / "pension_collect" / "rules" / "derive.py", "from ..plugins import PluginHost"
        )
        found = upward_imports(planted)
        assert len(found) == 1
        assert found[0].startswith("pension_collect.rules.derive:")
        assert "(rules) import of pension_collect.plugins (host)" in found[0]

    def test_a_planted_type_only_upward_import(self, planted: Path) -> None:
        """An upward import under TYPE_CHECKING counts too."""
        _append(
            planted / "pension_collect" / "ports" / "events.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..workflow.session import CollectionSession",
        )
        found = upward_imports(planted)
        assert len(found) == 1
        assert "type-only import of pension_collect.workflow.session (workflow)" in found[0]

    def test_an_adapter_importing_the_host(self, planted: Path) -> None:
        _append(
            planted / "pension_collect" / "adapters" / "memory.py", "import pension_collect.plugins"
        )
        assert any(
            "(adapters) import of pension_collect.plugins" in f for f in upward_imports(planted)
        )

    def test_a_planted_circle_within_one_layer(self, planted: Path) -> None:
        """model <-> identity would be a circle inside base: reported."""
        _append(planted / "pension_collect" / "identity.py", "from .model import YearMonth")
        _append(planted / "pension_collect" / "model.py", "from .identity import mask")
        circles = import_circles(planted)
        assert any({"pension_collect.identity", "pension_collect.model"} <= set(c) for c in circles)

    def test_a_module_outside_the_table(self, planted: Path) -> None:
        (planted / "pension_collect" / "stray.py").write_text("from .plugins import PluginHost\n")
        found = upward_imports(planted)
        assert "pension_collect.stray is in no layer of docs/architecture.md" in found


def test_importing_identity_loads_base_modules_only() -> None:
    """``import pension_collect.identity`` loads no rules, ports, host or forms."""
    code = (
        "import sys, pension_collect.identity\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('pension_collect')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    layers = layer_table()
    assert "pension_collect.identity" in out
    assert sorted({layer_of(m, layers).name for m in out if m != "pension_collect"}) == ["base"]
    assert "pension_collect.rules" not in out
    assert "pension_collect.plugins" not in out
