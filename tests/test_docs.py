"""Everything public is documented in docs/, where it belongs (a name that is
not there does not exist for a user).

The rule for a public name ``n`` of module ``m`` (each name in ``m.__all__``):
some page of docs/ names the module in an inline code span (`` `m` `` or
`` `m.x` `` where ``m.x`` is not a submodule) and holds an inline code span
that is ``n`` or ``m.n``, alone or followed by a call, subscript or attribute
(`` `n` ``, `` `n(x)` ``, `` `m.n[T]` ``, `` `n.attr` ``). A name re-exported
by another public module (the same object) may be documented there instead.
A word in prose, a name in a code block or a name on a page about another
module does not count.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

import pension_collect
from pension_collect.plugins import PluginHost

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE_DIR = Path(pension_collect.__file__).resolve().parent

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


@cache
def _module_names() -> frozenset[str]:
    """Every module of the package by its file, namespace packages included
    (pkgutil does not walk a directory without ``__init__.py``)."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return frozenset(names)


def _public_modules() -> list[str]:
    return sorted(m for m in _module_names() if not any(p.startswith("_") for p in m.split(".")))


@cache
def _all_of(module_name: str) -> tuple[str, ...]:
    """A module's ``__all__``, read from its source (a computed one is imported)."""
    rel = Path(*module_name.split("."))
    path = PACKAGE_DIR.parent / rel / "__init__.py"
    if not path.exists():
        path = (PACKAGE_DIR.parent / rel).with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            assert node.value is not None
            try:
                return tuple(ast.literal_eval(node.value))
            except ValueError:
                return tuple(importlib.import_module(module_name).__all__)
    return ()


@cache
def _pages() -> dict[str, tuple[str, ...]]:
    """The inline code spans of each docs page (path relative to docs/), code
    blocks left out, whitespace inside a span collapsed."""
    pages = {}
    for path in sorted(DOCS.glob("**/*.md")):
        text = _FENCE.sub("", path.read_text(encoding="utf-8"))
        spans = tuple(" ".join(m.group(2).split()) for m in _SPAN.finditer(text))
        pages[path.relative_to(DOCS).as_posix()] = spans
    return pages


def _names_module(spans: tuple[str, ...], module_name: str) -> bool:
    """A code span of the page is ``module_name`` or starts with it and goes on
    to a name that is not a submodule (``a.b.f`` names ``a.b`` unless ``a.b.f``
    is a module)."""
    modules = _module_names()
    for span in spans:
        found = re.match(rf"{re.escape(module_name)}(?:\.(\w+))?(?![\w.])", span)
        if found and (found.group(1) is None or f"{module_name}.{found.group(1)}" not in modules):
            return True
    return False


def _documents(span: str, module_name: str, name: str) -> bool:
    """The code span documents ``name``: ``name`` or ``module.name``, alone or
    followed by a call, a subscript or an attribute."""
    qualified = rf"(?:{re.escape(module_name)}\.)?{re.escape(name)}"
    return re.fullmatch(rf"{qualified}(?:[(\[.].*)?", span, re.DOTALL) is not None


def _homes(module_name: str, name: str) -> list[str]:
    """The public modules that offer ``name`` as the same object as
    ``module_name.name`` does: its own module and every re-export of it."""
    obj = getattr(importlib.import_module(module_name), name)
    homes = [module_name]
    for other in _public_modules():
        if (
            other != module_name
            and name in _all_of(other)
            and getattr(importlib.import_module(other), name, None) is obj
        ):
            homes.append(other)
    return homes


def undocumented(module_name: str) -> list[str]:
    """The names of ``module_name.__all__`` that no docs page documents by the
    rule above, under their own module or a module that re-exports them."""
    missing = []
    for name in _all_of(module_name):
        if not any(
            _names_module(spans, home) and any(_documents(s, home, name) for s in spans)
            for home in _homes(module_name, name)
            for spans in _pages().values()
        ):
            missing.append(name)
    return missing


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

    def test_every_module_is_walked(self) -> None:
        """The module list covers namespace packages too (ports/ has no __init__.py)."""
        modules = _public_modules()
        assert "pension_collect.ports.storage" in modules
        assert "pension_collect.adapters.pdf.fonts" in modules
        assert "pension_collect" in modules

    def test_the_rule_wants_a_code_span_on_the_module_page(self) -> None:
        """A code span documents a name, qualified by its own module or not; a
        word inside a longer span, another module's qualifier or a submodule's
        path do not; code blocks and prose hold no spans."""
        rules = "pension_collect.rules"
        assert _documents("check", rules, "check")
        assert _documents("check(dossier, pack)", rules, "check")
        assert _documents("pension_collect.rules.check", rules, "check")
        assert _documents("RulePack.codes", rules, "RulePack")
        assert not _documents("checker", rules, "check")
        assert not _documents("rules.check", rules, "check")
        assert not _documents("pension_collect.check", rules, "check")
        assert not _documents("report.check", rules, "check")
        assert _names_module(("pension_collect.rules",), rules)
        assert _names_module(("pension_collect.rules.check(d, p)",), rules)
        assert not _names_module(("pension_collect.rules.engine",), rules)
        assert not _names_module(("pension_collect.rulesets",), rules)
        assert not _names_module(("pension_collect",), rules)
        page = "Use check in prose.\n\n```python\nx = `check`\n```\n\nThen `load(path)`.\n"
        text = _FENCE.sub("", page)
        assert [m.group(2) for m in _SPAN.finditer(text)] == ["load(path)"]

    @pytest.mark.parametrize("module_name", _public_modules())
    def test_public_names_are_documented(self, module_name: str) -> None:
        """Each name in a public module's __all__ is a code span on a docs page
        that names the module (module docstring of this file)."""
        missing = undocumented(module_name)
        assert missing == [], (
            f"{module_name}: public names with no `name` or `{module_name}.name` code span "
            f"on a docs page that names {module_name}: {', '.join(missing)}"
        )

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
        """Every subcommand of the CLI has its own section in docs/cli.md: a
        heading that is the command in a code span, ``## `pension-collect NAME` ``."""
        from pension_collect.cli import _parser

        parser = _parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        text = _FENCE.sub("", (DOCS / "cli.md").read_text(encoding="utf-8"))
        headings = re.findall(r"^#{2,6} +`pension-collect ([\w-]+)`\s*$", text, re.MULTILINE)
        assert sorted(sub.choices) != []
        assert [c for c in sub.choices if c not in headings] == []
        assert len(headings) == len(set(headings)), "a command has two sections"
