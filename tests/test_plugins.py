"""The plugin host: rule packs and rules from plugins, entry points, broken plugins.

The test plugins in tests/plugins/ are plain modules, registered with
``PluginHost(load_entry_points=False, plugins=[module])``; entry-point loading
is tested with a fake distribution.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

import pension_collect
from pension_collect import hookimpl, hookspecs, rules
from pension_collect.dossier import load
from pension_collect.errors import PluginError, UnknownRulePack
from pension_collect.model import Dossier, Segment, YearMonth, money
from pension_collect.plugins import DEFAULT_PLUGINS, DISABLE_ENV, PluginHost
from pension_collect.ports.rulepacks import RulePackRegistry
from pension_collect.rules import Hit, Rule, RulePack, Severity, weihai2013
from pension_collect.rules.parameters import ParameterSet

TESTS = Path(__file__).resolve().parent
DOCS = TESTS.parent / "docs"
TODAY = datetime.date(2026, 11, 28)
EXAMPLE: Dossier = load(Path(pension_collect.__file__).parent / "data" / "example-dossier.json")


def _plugin_module(name: str) -> ModuleType:
    """Import tests/plugins/<name>.py by path (independent of pytest's import mode)."""
    spec = importlib.util.spec_from_file_location(
        f"pension_collect_test_plugins.{name}", TESTS / "plugins" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


extra_rule = _plugin_module("extra_rule")
second_pack = _plugin_module("second_pack")


def host(*plugins: object) -> PluginHost:
    """A host with the built-ins and ``plugins``, no entry points."""
    return PluginHost(load_entry_points=False, plugins=plugins)


def ym(text: str) -> YearMonth:
    return YearMonth.parse(text)


def with_history(*segments: Segment) -> Dossier:
    """The example with worker 0's history replaced."""
    worker = attrs.evolve(EXAMPLE.workers[0], history=segments)
    return attrs.evolve(EXAMPLE, workers=(worker, *EXAMPLE.workers[1:]))


def codes_of(report: rules.Report, index: int) -> list[str]:
    return sorted(f.code for f in report.for_worker(index))


def _pack(name: str, title: str = "test pack", rules_: tuple[Rule, ...] = ()) -> RulePack:
    return RulePack(name=name, title=title, parameters=ParameterSet({}), rules=rules_)


class TestExtraRule:
    """A plugin adds ``acme.no-phone`` to the built-in pack (tests/plugins/extra_rule.py)."""

    def test_rule_joins_the_pack(self) -> None:
        """The extra rule is the last rule of weihai-2013."""
        pack = host(extra_rule).rule_pack("weihai-2013")
        assert pack.codes[-1] == "acme.no-phone"
        assert pack.codes[:-1] == weihai2013.make_pack().codes

    def test_rule_appears_in_reports(self) -> None:
        """A dossier whose employer has no phone gets the plugin's finding."""
        dossier = attrs.evolve(EXAMPLE, employer=attrs.evolve(EXAMPLE.employer, phone=None))
        report = pension_collect.check(dossier, host=host(extra_rule), today=TODAY)
        (finding,) = [f for f in report.findings if f.code == "acme.no-phone"]
        assert (finding.path, finding.field, finding.severity, finding.procedure) == (
            "$.employer",
            "phone",
            Severity.WARNING,
            "P3.1",
        )
        assert "联系电话" in finding.message_zh

    def test_rule_is_silent_when_satisfied(self) -> None:
        """The example has a phone: no finding from the plugin."""
        report = pension_collect.check(EXAMPLE, host=host(extra_rule), today=TODAY)
        assert "acme.no-phone" not in report.codes()

    def test_without_the_plugin(self) -> None:
        """A host without the plugin does not know the rule."""
        assert "acme.no-phone" not in host().rule_pack().codes

    def test_registered_later(self) -> None:
        """A plugin registered on an existing host is seen by the next lookup."""
        h = host()
        assert "acme.no-phone" not in h.rule_pack().codes
        h.register(extra_rule)
        assert "acme.no-phone" in h.rule_pack().codes


class TestSecondPack:
    """A plugin adds the pack ``acme-2020`` with its own parameters (second_pack.py)."""

    AFTER_1996 = Segment(start=ym("1996-04"), end=ym("1997-12"), total=money("300.00"))

    def test_pack_is_registered(self) -> None:
        """The host lists both packs; the default stays weihai-2013."""
        h = host(second_pack)
        assert h.rule_packs().names() == ["acme-2020", "weihai-2013"]
        assert h.rule_pack().name == "weihai-2013"
        assert h.rule_pack("acme-2020").codes == (
            "history.enterprise-after-account-start",
            "history.crosses-account-start",
            "collection.incomplete",
            "acme.person-no",
        )

    def test_selected_by_name(self) -> None:
        """``check(pack="acme-2020")`` judges by the pack's own account start (1998-01)."""
        dossier = with_history(self.AFTER_1996)
        h = host(second_pack)
        weihai = pension_collect.check(dossier, host=h, today=TODAY)
        assert codes_of(weihai, 0) == ["history.enterprise-after-account-start"]
        acme = pension_collect.check(dossier, pack="acme-2020", host=h, today=TODAY)
        assert acme.rule_pack == "acme-2020"
        assert codes_of(acme, 0) == []
        assert str(acme.parameters["account_start"].value) == "1998-01"  # type: ignore[union-attr]

    def test_selected_by_the_dossier(self) -> None:
        """A dossier whose rule_pack is acme-2020 is checked against that pack."""
        dossier = attrs.evolve(
            with_history(Segment(start=ym("1997-06"), end=ym("1998-06"), total=money("0"))),
            rule_pack="acme-2020",
        )
        report = pension_collect.check(dossier, host=host(second_pack), today=TODAY)
        assert report.rule_pack == "acme-2020"
        (split,) = [f for f in report.for_worker(0) if f.code == "history.crosses-account-start"]
        assert [(s["start"], s["end"]) for s in split.fix["segments"]] == [
            ("1997-06", "1997-12"),
            ("1998-01", "1998-06"),
        ]
        # Worker 2 of the example has no personal number: the pack's own rule.
        assert [f.path for f in report.findings if f.code == "acme.person-no"] == ["$.workers[2]"]

    def test_argument_overrides_the_dossier(self) -> None:
        """An explicit pack wins over the dossier's rule_pack."""
        dossier = attrs.evolve(EXAMPLE, rule_pack="acme-2020")
        report = pension_collect.check(
            dossier, pack="weihai-2013", host=host(second_pack), today=TODAY
        )
        assert report.rule_pack == "weihai-2013"

    def test_unknown_without_the_plugin(self) -> None:
        """Without the plugin the pack is unknown, and the error lists what is installed."""
        dossier = attrs.evolve(EXAMPLE, rule_pack="acme-2020")
        with pytest.raises(UnknownRulePack) as info:
            pension_collect.check(dossier, host=host(), today=TODAY)
        assert info.value.name == "acme-2020"
        assert info.value.available == ("weihai-2013",)

    def test_both_plugins_together(self) -> None:
        """The extra rule goes to weihai-2013 only, not to acme-2020."""
        h = host(extra_rule, second_pack)
        assert "acme.no-phone" in h.rule_pack("weihai-2013").codes
        assert "acme.no-phone" not in h.rule_pack("acme-2020").codes


class _ClashingPack:
    """Registers acme-2020 again, not as a default."""

    @hookimpl
    def pension_collect_register_rule_packs(self, registry: RulePackRegistry) -> None:
        registry.add_pack(_pack("acme-2020"))


class _OrphanRule:
    """Adds a rule to a pack nobody provides."""

    @hookimpl
    def pension_collect_register_rule_packs(self, registry: RulePackRegistry) -> None:
        registry.add_rule("nobody-1999", extra_rule.NO_PHONE)


class _Misspelled:
    """Implements ``pension_collect_register_rule_pack`` (singular): no such hook."""

    @hookimpl
    def pension_collect_register_rule_pack(self, registry: RulePackRegistry) -> None:
        raise AssertionError("never called")


class _WrongArgument:
    """Implements the right hook with an argument the spec does not have."""

    @hookimpl
    def pension_collect_register_rule_packs(self, registery: RulePackRegistry) -> None:
        raise AssertionError("never called")


class TestBrokenPlugins:
    """A broken plugin fails loudly with PluginError, never silently."""

    def test_same_pack_name_twice(self) -> None:
        """Two plugins registering the same non-default pack name raise PluginError."""
        h = host(second_pack, _ClashingPack())
        with pytest.raises(PluginError, match="acme-2020"):
            h.rule_packs()

    def test_rule_for_a_missing_pack(self) -> None:
        """A rule added to a pack nobody provides raises PluginError naming the pack."""
        with pytest.raises(PluginError, match="nobody-1999"):
            host(_OrphanRule()).rule_packs()

    def test_misspelled_hook_at_construction(self) -> None:
        """A misspelled hook name fails check_pending() when the host is built."""
        with pytest.raises(PluginError, match="pension_collect_register_rule_pack"):
            host(_Misspelled())

    def test_misspelled_hook_registered_later(self) -> None:
        """A misspelled hook registered on a live host fails check_pending()."""
        h = host()
        with pytest.raises(PluginError, match="unknown hook"):
            h.register(_Misspelled())

    def test_check_pending_on_the_manager(self) -> None:
        """check_pending() itself raises PluginError for an unknown hook."""
        h = host()
        h.manager.register(_Misspelled())  # behind the facade's back
        with pytest.raises(PluginError, match="pension_collect_register_rule_pack"):
            h.check_pending()

    def test_wrong_argument_name(self) -> None:
        """A hook implementation with an argument the spec lacks raises PluginError."""
        with pytest.raises(PluginError, match="registery"):
            host(_WrongArgument())

    def test_registered_twice(self) -> None:
        """Registering the same plugin twice raises PluginError."""
        h = host(extra_rule)
        with pytest.raises(PluginError):
            h.register(extra_rule)

    def test_duplicate_codes_in_a_pack(self) -> None:
        """A pack with two rules of one code cannot be built."""
        with pytest.raises(PluginError, match=r"acme\.no-phone"):
            _pack("twice", rules_=(extra_rule.NO_PHONE, extra_rule.NO_PHONE))

    def test_registry_closes_after_the_hook(self) -> None:
        """Adding to the registry after the hook ran raises PluginError."""
        registry = host().rule_packs()
        with pytest.raises(PluginError):
            registry.add_pack(_pack("late"))
        with pytest.raises(PluginError):
            registry.add_rule("weihai-2013", extra_rule.NO_PHONE)


def _replacement_pack() -> RulePack:
    def always(view: Any) -> Any:
        yield Hit(path=view.path)

    rule = Rule(
        code="local.always",
        severity=Severity.WARNING,
        message="Always.",
        message_zh="总是。",
        check=always,
    )
    return RulePack(
        name="weihai-2013",
        title="Weihai, locally amended",
        parameters=weihai2013.make_pack().parameters,
        rules=(rule,),
    )


class _Replacement:
    """Registers its own ``weihai-2013``."""

    @hookimpl
    def pension_collect_register_rule_packs(self, registry: RulePackRegistry) -> None:
        registry.add_pack(_replacement_pack())


class TestReplacingTheBuiltIn:
    """The built-in pack is registered ``trylast`` with ``default=True``: a plugin replaces it."""

    def test_plugin_replaces_the_built_in(self) -> None:
        """A plugin's weihai-2013 is the one the host serves."""
        pack = host(_Replacement()).rule_pack("weihai-2013")
        assert pack.title == "Weihai, locally amended"
        assert pack.codes == ("local.always",)

    def test_replacement_registered_after_the_host(self) -> None:
        """Registering the replacement on a live host replaces it too (trylast)."""
        h = host()
        assert h.rule_pack().title != "Weihai, locally amended"
        h.register(_Replacement())
        report = pension_collect.check(EXAMPLE, host=h, today=TODAY)
        assert report.codes() == {"local.always"}
        assert [f.path for f in report.findings] == ["$.workers[0]", "$.workers[1]", "$.workers[2]"]

    def test_extra_rules_apply_to_the_replacement(self) -> None:
        """Rules other plugins add to weihai-2013 go to the replacement."""
        pack = host(extra_rule, _Replacement()).rule_pack()
        assert pack.codes == ("local.always", "acme.no-phone")

    def test_built_in_registered_first_is_replaced(self) -> None:
        """A plugin's pack replaces the built-in even when the built-in registered first:
        the registry decides, not the hook call order."""
        registry = RulePackRegistry()
        registry.add_pack(_pack("weihai-2013", title="built-in"), default=True)
        registry.add_pack(_pack("weihai-2013", title="mine"))
        registry.freeze()
        assert registry.get("weihai-2013").title == "mine"

    def test_registry_default_semantics(self) -> None:
        """A default pack yields to one already registered under its name."""
        registry = RulePackRegistry()
        mine = _pack("weihai-2013", title="mine")
        registry.add_pack(mine)
        registry.add_pack(_pack("weihai-2013", title="built-in"), default=True)
        registry.freeze()
        assert registry.get("weihai-2013").title == "mine"


class _FakeRenderer:
    """Stands in for a form renderer; never asked to render here."""

    name = "confirmation"
    title = "确认表 confirmation form (test)"

    def render(self, forms: Any, out: Any, *, options: Any = None) -> Any:
        raise AssertionError("not rendered in these tests")


_STORE, _TRANSPORT, _RENDERER = object(), object(), _FakeRenderer()


class _ReplacesEveryBuiltIn:
    """Registers the built-ins' names (not as defaults) in every registry hook."""

    @hookimpl
    def pension_collect_register_storage(self, registry: Any) -> None:
        registry.add("memory", lambda url, **options: _STORE)

    @hookimpl
    def pension_collect_register_transport(self, registry: Any) -> None:
        registry.add("local", lambda url, **options: _TRANSPORT)

    @hookimpl
    def pension_collect_register_renderers(self, registry: Any) -> None:
        registry.add("confirmation", _RENDERER)


class TestOtherRegistriesFollowTheSameRules:
    """Storage, transport and renderer built-ins yield to plugins like the rule pack does."""

    def test_plugin_replaces_built_in_storage(self) -> None:
        """A plugin's ``memory`` storage scheme replaces the built-in one."""
        assert host(_ReplacesEveryBuiltIn()).open_storage("memory:") is _STORE

    def test_plugin_replaces_built_in_transport(self) -> None:
        """A plugin's ``local`` transport scheme replaces the built-in one."""
        assert host(_ReplacesEveryBuiltIn()).open_transport("local:") is _TRANSPORT

    def test_plugin_replaces_built_in_renderer(self) -> None:
        """A plugin's ``confirmation`` renderer replaces the built-in one."""
        assert host(_ReplacesEveryBuiltIn()).renderer("confirmation") is _RENDERER

    def test_built_ins_are_there_without_plugins(self) -> None:
        """Without plugins the built-in schemes and renderers are registered."""
        h = host()
        assert {"memory", "sqlite"} <= set(h.storage_registry().names())
        assert "local" in h.transport_registry().names()
        assert {"verification", "confirmation", "summary"} <= set(h.renderers().names())
        assert h.renderer("confirmation") is not _RENDERER

    @pytest.mark.parametrize(
        "ask",
        [
            lambda h: h.open_storage("memory:"),
            lambda h: h.open_transport("local:"),
            lambda h: h.renderers(),
        ],
        ids=["storage", "transport", "renderers"],
    )
    def test_two_plugins_claiming_one_name(self, ask: Any) -> None:
        """Two plugins registering the same name (neither a default) raise PluginError."""
        with pytest.raises(PluginError):
            ask(host(_ReplacesEveryBuiltIn(), _ReplacesEveryBuiltIn()))


class _FakeDistribution:
    """The part of importlib.metadata.Distribution that pluggy reads."""

    def __init__(self, *entry_points: importlib.metadata.EntryPoint) -> None:
        self.entry_points = list(entry_points)
        self.metadata = {"name": "acme-pension-plugins"}
        self.version = "1.0"

    @property
    def project_name(self) -> str:
        return self.metadata["name"]


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a distribution declares extra_rule in the ``pension_collect`` group."""
    monkeypatch.setitem(sys.modules, "acme_pension_plugins_extra", extra_rule)
    dist = _FakeDistribution(
        importlib.metadata.EntryPoint(
            name="acme_extra", value="acme_pension_plugins_extra", group="pension_collect"
        ),
        # Another project's group: never loaded by this host.
        importlib.metadata.EntryPoint(
            name="acme_other", value="no_such_module_anywhere", group="pytest11"
        ),
    )
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [dist])
    monkeypatch.delenv(DISABLE_ENV, raising=False)


class TestEntryPoints:
    """Third-party plugins come from entry points in the ``pension_collect`` group."""

    def test_group_name(self) -> None:
        """The pluggy project and entry-point group is pension_collect."""
        assert hookspecs.PROJECT == "pension_collect"
        assert pension_collect.hookimpl is hookspecs.hookimpl

    @pytest.mark.usefixtures("installed")
    def test_entry_point_is_loaded(self) -> None:
        """An installed plugin is registered under its entry-point name with its distribution."""
        h = PluginHost()
        assert ("acme_extra", "acme-pension-plugins 1.0") in h.plugins()
        assert "acme.no-phone" in h.rule_pack().codes

    @pytest.mark.usefixtures("installed")
    @pytest.mark.parametrize("value", ["1", "true", "yes", "all", " 1 "])
    def test_disable_all(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        """PENSION_COLLECT_DISABLE_PLUGINS=1 loads no entry-point plugin."""
        monkeypatch.setenv(DISABLE_ENV, value)
        h = PluginHost()
        assert [name for name, _ in h.plugins()] == list(DEFAULT_PLUGINS)
        assert "acme.no-phone" not in h.rule_pack().codes

    @pytest.mark.usefixtures("installed")
    def test_disable_by_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A comma-separated list blocks those entry-point names only."""
        monkeypatch.setenv(DISABLE_ENV, "something_else, acme_extra")
        assert "acme_extra" not in [name for name, _ in PluginHost().plugins()]
        monkeypatch.setenv(DISABLE_ENV, "something_else")
        assert "acme_extra" in [name for name, _ in PluginHost().plugins()]

    @pytest.mark.usefixtures("installed")
    def test_not_loaded_when_asked_not_to(self) -> None:
        """``load_entry_points=False`` ignores installed plugins."""
        assert "acme_extra" not in [name for name, _ in host().plugins()]

    def test_failing_plugin_names_itself(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A plugin whose module cannot be imported raises PluginError naming it."""
        dist = _FakeDistribution(
            importlib.metadata.EntryPoint(
                name="acme_broken", value="acme_module_that_is_not_there", group="pension_collect"
            )
        )
        monkeypatch.setattr(importlib.metadata, "distributions", lambda: [dist])
        monkeypatch.delenv(DISABLE_ENV, raising=False)
        with pytest.raises(PluginError, match="acme_module_that_is_not_there"):
            PluginHost()

    def test_built_ins_are_plugins(self) -> None:
        """Every DEFAULT_PLUGINS module is registered, first and in order, as built-in."""
        listed = host().plugins()
        assert listed[: len(DEFAULT_PLUGINS)] == [(name, None) for name in DEFAULT_PLUGINS]


def _hook_names() -> list[str]:
    """Every hook specification of pension_collect.hookspecs, read at collection time."""
    marker = f"{hookspecs.PROJECT}_spec"
    return sorted(
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and getattr(value, marker, None) is not None
    )


def _test_sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(TESTS.glob("**/test_*.py"))}


class TestHooksAreDocumentedAndTested:
    """Every hook has a section in docs/plugins.md and a test that names it."""

    def test_there_are_hooks(self) -> None:
        """The hook list is read from hookspecs and is not empty."""
        assert "pension_collect_register_rule_packs" in _hook_names()

    @pytest.mark.parametrize("hook", _hook_names())
    def test_hook_is_documented(self, hook: str) -> None:
        """docs/plugins.md has a ``##`` section whose heading names the hook."""
        text = (DOCS / "plugins.md").read_text(encoding="utf-8")
        assert re.search(rf"^##+ .*\b{re.escape(hook)}\b", text, re.MULTILINE), (
            f"add a '## {hook}' section to docs/plugins.md"
        )

    @pytest.mark.parametrize("hook", _hook_names())
    def test_hook_has_a_test(self, hook: str) -> None:
        """Some tests/**/test_*.py file names the hook (a test exercises it)."""
        mentions = [p.name for p, text in _test_sources().items() if hook in text]
        assert mentions, f"no test under tests/ mentions {hook}"
