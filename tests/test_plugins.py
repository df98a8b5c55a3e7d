"""The plugin host: rule packs and rules from plugins, entry points, broken plugins.

The test plugins in tests/plugins/ are plain modules, registered with
``PluginHost(load_entry_points=False, plugins=[module])``; entry-point loading
is tested with a fake distribution.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import io
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import attrs
import pytest

import pension_collect
from pension_collect import hookimpl, hookspecs, rules
from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.adapters.memory import MemoryStorage
from pension_collect.adapters.reference_bureau import ReferenceBureau
from pension_collect.dossier import load
from pension_collect.errors import PluginError, UnknownRulePack
from pension_collect.model import Dossier, Segment, YearMonth, money
from pension_collect.plugins import DEFAULT_PLUGINS, DISABLE_ENV, PluginHost
from pension_collect.ports.events import DeclarationConcluded, DeclarationSubmitted, WorkerSaved
from pension_collect.ports.forms import FormsInput, RenderResult
from pension_collect.ports.forms.registry import RendererRegistry
from pension_collect.ports.rulepacks import RulePackRegistry
from pension_collect.ports.storage import RecordKind, Storage, StorageRegistry
from pension_collect.ports.transport import DeclarationKind, DeclarationState, TransportRegistry
from pension_collect.rules import Hit, Rule, RulePack, Scope, Severity, weihai2013
from pension_collect.rules.parameters import ParameterSet
from pension_collect.workflow import CollectionSession
from workflow_fixtures import Clock, make_setup, to_collecting

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
        (cut,) = [f for f in report.for_worker(0) if f.code == "history.crosses-account-start"]
        # An enterprise period is cut at the pack's own account start (1998-01).
        assert cut.fix["action"] == "cut"
        assert [(s["start"], s["end"]) for s in cut.fix["segments"]] == [("1997-06", "1997-12")]
        assert cut.fix["dropped"] == {"start": "1998-01", "end": "1998-06"}
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
    """The built-in pack is registered with ``default=True``: a plugin replaces it."""

    def test_plugin_replaces_the_built_in(self) -> None:
        """A plugin's weihai-2013 is the one the host serves."""
        pack = host(_Replacement()).rule_pack("weihai-2013")
        assert pack.title == "Weihai, locally amended"
        assert pack.codes == ("local.always",)

    def test_replacement_registered_after_the_host(self) -> None:
        """Registering the replacement on a live host replaces it too (the registry's
        default rule, not the hook order)."""
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


class _Probe:
    """Watches one host of a hook's test: every hook call, with the plugins
    whose implementations it ran."""

    def __init__(self) -> None:
        self.host: PluginHost | None = None
        self.plugin: object = None
        self.calls: list[tuple[str, list[object]]] = []

    def host_with(self, plugin: object) -> PluginHost:
        """A host with the built-ins and ``plugin``, watched from the start."""
        return self.watch(host(plugin), plugin)

    def watch(self, h: PluginHost, plugin: object) -> PluginHost:
        assert self.host is None, "a hook's test watches one host"
        self.host, self.plugin = h, plugin
        h.manager.add_hookcall_monitoring(self._before, lambda *args: None)
        return h

    def _before(self, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        self.calls.append((hook_name, [impl.plugin for impl in impls]))


def _session(
    h: PluginHost, *, storage: Storage | None = None, transport: Any = None
) -> CollectionSession:
    """A session for the example's employer on the given store and transport
    (default: memory and a local transport to a bureau seeded with the example)."""
    clock = Clock()
    if transport is None:
        bureau = ReferenceBureau(clock=clock, as_of=EXAMPLE.as_of)
        bureau.seed_dossier(EXAMPLE)
        transport = h.open_transport("local:", bureau=bureau)
    return CollectionSession(
        storage if storage is not None else h.open_storage("memory:"),
        transport,
        unit_no=EXAMPLE.employer.unit_no,
        actor="clerk-1",
        host=h,
        as_of=EXAMPLE.as_of,
        clock=clock,
    )


def _always(view: Any) -> Iterator[Hit]:
    yield Hit(path="$.employer", field="name")


class _RulePacksPlugin:
    pack = RulePack(
        name="hook-probe",
        title="weihai-2013's parameters, one rule",
        parameters=weihai2013.make_pack().parameters,
        rules=(
            Rule(
                code="probe.always",
                severity=Severity.WARNING,
                scope=Scope.DOSSIER,
                procedure="P3.1",
                message="always reported",
                message_zh="总是报告",
                check=_always,
            ),
        ),
    )

    @hookimpl
    def pension_collect_register_rule_packs(self, registry: RulePackRegistry) -> None:
        registry.add_pack(self.pack)


def _rule_packs_case(probe: _Probe) -> None:
    """A plugin's pack is found by name by the facade's check, and its rule runs."""
    h = probe.host_with(_RulePacksPlugin())
    report = pension_collect.check(EXAMPLE, pack="hook-probe", host=h, today=TODAY)
    assert report.codes() == {"probe.always"}
    assert pension_collect.rule_pack("hook-probe", host=h) == _RulePacksPlugin.pack


class _StoragePlugin:
    def __init__(self) -> None:
        self.opened: list[tuple[str, dict[str, Any]]] = []
        self.stores: list[MemoryStorage] = []

    @hookimpl
    def pension_collect_register_storage(self, registry: StorageRegistry) -> None:
        registry.add("probe", self.open)

    def open(self, url: str, **options: Any) -> MemoryStorage:
        self.opened.append((url, options))
        self.stores.append(MemoryStorage())
        return self.stores[-1]


def _storage_case(probe: _Probe) -> None:
    """A plugin's scheme opens its store with the URL and options, and the
    workflow writes into that store."""
    plugin = _StoragePlugin()
    h = probe.host_with(plugin)
    session = _session(h, storage=h.open_storage("PROBE://desk-1", shelf="A"))
    assert plugin.opened == [("PROBE://desk-1", {"shelf": "A"})]
    session.start()
    session.sync()
    (store,) = plugin.stores
    with store.transaction() as tx:
        synced = tx.list(RecordKind.SYNCED, EXAMPLE.employer.unit_no)
        audit = tx.audit(EXAMPLE.employer.unit_no)
    assert len(synced) == len(EXAMPLE.workers)
    assert len(audit) >= 2


class _TransportPlugin:
    def __init__(self) -> None:
        self.opened: list[str] = []
        self.called: list[str] = []

    @hookimpl
    def pension_collect_register_transport(self, registry: TransportRegistry) -> None:
        registry.add("probe", self.open)

    def open(self, url: str, **options: Any) -> Any:
        self.opened.append(url)
        local = LocalTransport.open("local:", **options)
        plugin = self

        class Counting:
            def __getattr__(self, name: str) -> Any:
                plugin.called.append(name)
                return getattr(local, name)

        return Counting()


def _transport_case(probe: _Probe) -> None:
    """A plugin's scheme opens the transport the workflow then talks to the bureau through."""
    plugin = _TransportPlugin()
    h = probe.host_with(plugin)
    bureau = ReferenceBureau(as_of=EXAMPLE.as_of)
    bureau.seed_dossier(EXAMPLE)
    session = _session(h, transport=h.open_transport("probe://bureau", bureau=bureau))
    assert plugin.opened == ["probe://bureau"]
    session.start()
    result = session.sync()
    assert {"pending_declarations", "sync"} <= set(plugin.called)
    assert len(result.persons) == len(EXAMPLE.workers)


class _RenderersPlugin:
    """Registers itself as the renderer ``probe-form``."""

    name = "probe-form"
    title = "probe form"

    def __init__(self) -> None:
        self.seen: list[FormsInput] = []

    @hookimpl
    def pension_collect_register_renderers(self, registry: RendererRegistry) -> None:
        registry.add("probe-form", self)

    def render(self, forms: FormsInput, out: BinaryIO, *, options: Any = None) -> RenderResult:
        self.seen.append(forms)
        data = f"probe {forms.employer.unit_no} {len(forms.workers)}".encode()
        out.write(data)
        return RenderResult(
            form="probe-form",
            pages=1,
            workers=len(forms.workers),
            bytes_written=len(data),
            font=None,
        )


def _renderers_case(probe: _Probe) -> None:
    """The facade's render reaches a plugin's form by name with the dossier's view model."""
    plugin = _RenderersPlugin()
    h = probe.host_with(plugin)
    out = io.BytesIO()
    result = pension_collect.render("probe-form", EXAMPLE, out, host=h)
    assert out.getvalue() == f"probe {EXAMPLE.employer.unit_no} 3".encode()
    assert (result.form, result.workers, result.bytes_written) == (
        "probe-form",
        3,
        len(out.getvalue()),
    )
    (forms,) = plugin.seen
    assert forms.employer.unit_no == EXAMPLE.employer.unit_no


class _WorkerSavedPlugin:
    def __init__(self) -> None:
        self.events: list[WorkerSaved] = []

    @hookimpl
    def pension_collect_worker_saved(self, event: WorkerSaved) -> None:
        self.events.append(event)


def _worker_saved_case(probe: _Probe) -> None:
    """Saving a worker tells the plugin which worker, which version, who."""
    plugin = _WorkerSavedPlugin()
    s = make_setup(plugins=[plugin])
    probe.watch(s.host, plugin)
    to_collecting(s)
    assert plugin.events == []
    s.session.save_worker(s.workers[1])
    (event,) = plugin.events
    assert (event.unit_no, event.key, event.version, event.actor) == (
        EXAMPLE.employer.unit_no,
        s.keys[1],
        1,
        "clerk-1",
    )


class _DeclarationSubmittedPlugin:
    def __init__(self) -> None:
        self.events: list[DeclarationSubmitted] = []

    @hookimpl
    def pension_collect_declaration_submitted(self, event: DeclarationSubmitted) -> None:
        self.events.append(event)


def _declaration_submitted_case(probe: _Probe) -> None:
    """Submitting the employer declaration tells the plugin which declaration went."""
    plugin = _DeclarationSubmittedPlugin()
    s = make_setup(plugins=[plugin])
    probe.watch(s.host, plugin)
    s.session.start()
    s.session.sync()
    s.session.collect_employer(s.dossier.employer)
    assert plugin.events == []
    decl = s.session.submit_employer_declaration()
    (event,) = plugin.events
    assert (event.declaration, event.kind) == (decl.key, DeclarationKind.EMPLOYER)
    assert event.bureau_id


class _DeclarationConcludedPlugin:
    def __init__(self) -> None:
        self.events: list[DeclarationConcluded] = []

    @hookimpl
    def pension_collect_declaration_concluded(self, event: DeclarationConcluded) -> None:
        self.events.append(event)


def _declaration_concluded_case(probe: _Probe) -> None:
    """The bureau concluding a declaration reaches the plugin on the next refresh."""
    plugin = _DeclarationConcludedPlugin()
    s = make_setup(plugins=[plugin])
    probe.watch(s.host, plugin)
    s.session.start()
    s.session.sync()
    s.session.collect_employer(s.dossier.employer)
    decl = s.session.submit_employer_declaration()
    assert plugin.events == []
    s.bureau.settle()
    s.session.refresh(decl.key)
    (event,) = plugin.events
    assert (event.declaration, event.state) == (decl.key, DeclarationState.SUCCEEDED)


class _CommandsPlugin:
    """Registers the command ``probe-cmd WORD``."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def _run(self, args: Any) -> int:
        self.ran.append(args.word)
        return 7

    def _add_parser(self, sub: Any) -> None:
        parser = sub.add_parser("probe-cmd")
        parser.add_argument("word")
        parser.set_defaults(run=self._run)

    @hookimpl
    def pension_collect_register_commands(self, registry: Any) -> None:
        registry.add("probe-cmd", self._add_parser)


def _commands_case(probe: _Probe) -> None:
    """A plugin's command is added to a command line and runs with its arguments."""
    import argparse

    plugin = _CommandsPlugin()
    h = probe.host_with(plugin)
    registry = h.commands()
    assert registry.names() == ["probe-cmd"]
    parser = argparse.ArgumentParser(prog="pension-collect")
    registry.get("probe-cmd")(parser.add_subparsers())
    args = parser.parse_args(["probe-cmd", "hello"])
    assert args.run(args) == 7
    assert plugin.ran == ["hello"]


#: Each hook's test: it registers an implementation of that hook (and of no
#: other) on a watched host and asserts the effect of the implementation.
HOOK_TESTS: dict[str, Callable[[_Probe], None]] = {
    "pension_collect_register_rule_packs": _rule_packs_case,
    "pension_collect_register_storage": _storage_case,
    "pension_collect_register_transport": _transport_case,
    "pension_collect_register_renderers": _renderers_case,
    "pension_collect_worker_saved": _worker_saved_case,
    "pension_collect_declaration_submitted": _declaration_submitted_case,
    "pension_collect_declaration_concluded": _declaration_concluded_case,
    "pension_collect_register_commands": _commands_case,
}


class TestHooksAreDocumentedAndTested:
    """Every hook has a section in docs/plugins.md and a test that registers
    an implementation of it and sees that implementation called and its effect."""

    def test_there_are_hooks(self) -> None:
        """The hook list is read from hookspecs and is not empty."""
        assert "pension_collect_register_rule_packs" in _hook_names()

    def test_no_test_for_a_hook_that_is_gone(self) -> None:
        """HOOK_TESTS names only hooks that exist."""
        assert sorted(set(HOOK_TESTS) - set(_hook_names())) == []

    @pytest.mark.parametrize("hook", _hook_names())
    def test_hook_is_documented(self, hook: str) -> None:
        """docs/plugins.md has a ``##`` section whose heading names the hook."""
        text = (DOCS / "plugins.md").read_text(encoding="utf-8")
        assert re.search(rf"^##+ .*\b{re.escape(hook)}\b", text, re.MULTILINE), (
            f"add a '## {hook}' section to docs/plugins.md"
        )

    @pytest.mark.parametrize("hook", _hook_names())
    def test_hook_takes_effect(self, hook: str) -> None:
        """The hook's test (HOOK_TESTS) passes; its plugin implements exactly
        this hook; the host called the hook and ran the plugin's implementation."""
        assert hook in HOOK_TESTS, f"add a test of {hook} to HOOK_TESTS in tests/test_plugins.py"
        probe = _Probe()
        HOOK_TESTS[hook](probe)
        assert probe.host is not None, "the hook's test must watch its host (_Probe.watch)"
        implemented = [c.name for c in probe.host.manager.get_hookcallers(probe.plugin) or []]
        assert implemented == [hook], f"the test's plugin implements {implemented}, not [{hook}]"
        ran = {name for name, impls in probe.calls if probe.plugin in impls}
        assert ran == {hook}, f"the host ran the plugin's {sorted(ran)}, not {hook}"
