"""Everything public is documented in docs/ (a name that is not there does not
exist for a user)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import pension_collect
from pension_collect.plugins import PluginHost

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("**/*.md")))


def _public_modules() -> list[str]:
    names = ["pension_collect"]
    for info in pkgutil.walk_packages(pension_collect.__path__, "pension_collect."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


class TestDocs:
    def test_every_rule_code_is_in_rules_md(self) -> None:
        """Every code of every installed pack appears in docs/rules.md."""
        text = (DOCS / "rules.md").read_text(encoding="utf-8")
        host = PluginHost(load_entry_points=False)
        missing = [
            code
            for name in host.rule_packs().names()
            for code in host.rule_pack(name).codes
            if f"`{code}`" not in text
        ]
        assert missing == []

    def test_every_parameter_is_in_rules_md(self) -> None:
        """Every parameter of the built-in pack appears in docs/rules.md."""
        text = (DOCS / "rules.md").read_text(encoding="utf-8")
        pack = PluginHost(load_entry_points=False).rule_pack("weihai-2013")
        assert [n for n in pack.parameters.parameters if f"`{n}`" not in text] == []

    @pytest.mark.parametrize("module_name", _public_modules())
    def test_public_names_are_documented(self, module_name: str) -> None:
        """Each name in a public module's __all__ is mentioned in docs/."""
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # an optional extra that is not installed
            pytest.skip(f"{module_name} needs an optional dependency: {exc}")
        text = _docs_text()
        names = getattr(module, "__all__", [])
        missing = [n for n in names if not re.search(rf"\b{re.escape(n)}\b", text)]
        assert missing == [], f"{module_name}: undocumented public names"

    def test_dossier_fields_are_documented(self) -> None:
        """Every field of the model classes appears in docs/dossier.md."""
        import attrs

        from pension_collect import model

        text = (DOCS / "dossier.md").read_text(encoding="utf-8")
        missing = []
        for cls in (
            model.Employer,
            model.Worker,
            model.Segment,
            model.AccountYear,
            model.BureauRecord,
            model.Dossier,
        ):
            for field in attrs.fields(cls):
                if field.init and f"`{field.name}`" not in text:
                    missing.append(f"{cls.__name__}.{field.name}")
        assert missing == []

    def test_cli_commands_are_documented(self) -> None:
        """Every subcommand of the CLI has a section in docs/cli.md."""
        import argparse

        from pension_collect.cli import _parser

        parser = _parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        text = (DOCS / "cli.md").read_text(encoding="utf-8")
        assert [c for c in sub.choices if f"pension-collect {c}" not in text] == []
