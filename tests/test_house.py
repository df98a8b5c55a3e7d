"""The house (issue 8): one registry behaviour, a host that can leave built-ins
out, pure rules, a lazy facade, and a print step that never mistakes a broken
renderer set-up for "no renderer"."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pension_collect
from pension_collect import hookimpl, rules
from pension_collect.adapters.pdf.renderers import ConfirmationRenderer, SummaryRenderer
from pension_collect.errors import PensionCollectError, PluginError, UnknownRulePack
from pension_collect.plugins import DEFAULT_PLUGINS, PluginHost
from pension_collect.ports.forms import RendererRegistry, UnknownRenderer
from pension_collect.ports.registry import Registry, UnknownEntry, split_scheme
from pension_collect.ports.rulepacks import RulePackRegistry
from pension_collect.ports.storage import StorageError, StorageRegistry, UnknownScheme
from pension_collect.ports.transport import TransportError, TransportRegistry, UnknownTransport
from pension_collect.rules.weihai2013 import default_pack, make_pack
from workflow_fixtures import make_setup, sqlite_url, to_collecting


def _factory(tag: str) -> Callable[..., str]:
    def factory(url: str, **options: Any) -> str:
        return tag

    return factory


def _pack(title: str) -> Any:
    import attrs

    return attrs.evolve(make_pack(), title=title)


# Each registry, with a way to make two distinguishable entries for one name and
# to read back which one won.
REGISTRIES: dict[str, tuple[Callable[[], Registry[Any]], str, Callable[[str], Any], Any]] = {
    "storage": (StorageRegistry, "memx", _factory, lambda r, n: r.get(n)("memx:")),
    "transport": (TransportRegistry, "busx", _factory, lambda r, n: r.get(n)("busx:")),
    "renderers": (
        RendererRegistry,
        "confirmation",
        lambda tag: ConfirmationRenderer() if tag == "built-in" else SummaryRenderer(),
        lambda r, n: "built-in" if isinstance(r.get(n), ConfirmationRenderer) else "plugin",
    ),
    "rule packs": (RulePackRegistry, "weihai-2013", _pack, lambda r, n: r.get(n).title),
}


@pytest.fixture(params=sorted(REGISTRIES))
def registry_case(request: pytest.FixtureRequest) -> Any:
    return REGISTRIES[request.param]


class TestOneRegistryBehaviour:
    """Storage, transport, renderer and rule-pack registries behave alike."""

    def test_a_plugin_replaces_a_built_in_registered_before_it(self, registry_case: Any) -> None:
        make, name, entry, winner = registry_case
        registry = make()
        registry.add(name, entry("built-in"), default=True)
        registry.add(name, entry("plugin"))
        registry.freeze()
        assert winner(registry, name) == "plugin"
        assert not registry.is_default(name)

    def test_a_plugin_replaces_a_built_in_registered_after_it(self, registry_case: Any) -> None:
        make, name, entry, winner = registry_case
        registry = make()
        registry.add(name, entry("plugin"))
        registry.add(name, entry("built-in"), default=True)
        registry.freeze()
        assert winner(registry, name) == "plugin"

    def test_a_built_in_alone_serves(self, registry_case: Any) -> None:
        make, name, entry, winner = registry_case
        registry = make()
        registry.add(name, entry("built-in"), default=True)
        assert winner(registry, name) == "built-in"
        assert registry.is_default(name)
        assert registry.names() == [name]

    def test_two_plugins_claiming_one_name_clash(self, registry_case: Any) -> None:
        make, name, entry, _ = registry_case
        registry = make()
        registry.add(name, entry("plugin"))
        with pytest.raises(PluginError, match="two plugins"):
            registry.add(name, entry("plugin"))

    def test_two_built_ins_claiming_one_name_clash(self, registry_case: Any) -> None:
        make, name, entry, _ = registry_case
        registry = make()
        registry.add(name, entry("built-in"), default=True)
        with pytest.raises(PluginError):
            registry.add(name, entry("built-in"), default=True)

    def test_frozen_after_set_up(self, registry_case: Any) -> None:
        make, name, entry, _ = registry_case
        registry = make()
        registry.freeze()
        assert registry.frozen
        with pytest.raises(PluginError, match="from the plugin hook"):
            registry.add(name, entry("plugin"))

    def test_an_unknown_name_is_a_lookup_error_of_the_library(self, registry_case: Any) -> None:
        make, name, entry, _ = registry_case
        registry = make()
        registry.add(name, entry("built-in"), default=True)
        with pytest.raises(PensionCollectError) as info:
            registry.get("nothing-by-this-name")
        assert isinstance(info.value, LookupError)
        assert name in str(info.value)  # says what is available


class TestRegistryErrors:
    def test_each_registry_raises_its_own_unknown_error(self) -> None:
        assert isinstance(StorageRegistry().unknown("x"), UnknownScheme)
        assert isinstance(TransportRegistry().unknown("x"), UnknownTransport)
        assert isinstance(RendererRegistry().unknown("x"), UnknownRenderer)
        assert isinstance(RulePackRegistry().unknown("x"), UnknownRulePack)
        assert isinstance(Registry[int]().unknown("x"), UnknownEntry)

    def test_a_bad_transport_url_is_a_transport_error_not_a_storage_error(self) -> None:
        """TransportRegistry no longer subclasses StorageRegistry."""
        host = PluginHost(load_entry_points=False)
        with pytest.raises(TransportError) as info:
            host.open_transport("no-scheme-here")
        assert not isinstance(info.value, StorageError)
        with pytest.raises(UnknownTransport, match="local"):
            host.open_transport("gopher://127.0.0.1/")
        with pytest.raises(UnknownScheme, match="memory"):
            host.open_storage("gopher://127.0.0.1/")

    def test_schemes_are_case_insensitive(self) -> None:
        registry = StorageRegistry()
        registry.add("MemX", _factory("a"))
        assert "memx" in registry
        assert registry.factory("MEMX:whatever")("") == "a"

    @pytest.mark.parametrize(
        ("url", "scheme"),
        [("sqlite:///x.db", "sqlite"), ("Local:", "local"), ("x", None), (":x", None), ("", None)],
    )
    def test_split_scheme(self, url: str, scheme: str | None) -> None:
        assert split_scheme(url) == scheme

    def test_host_registries_are_frozen_after_the_hook(self) -> None:
        host = PluginHost(load_entry_points=False)
        for registry in (
            host.storage_registry(),
            host.transport_registry(),
            host.renderers(),
            host.rule_packs(),
        ):
            assert registry.frozen


class TestExclude:
    def test_a_host_without_pdf_forms(self) -> None:
        host = PluginHost(load_entry_points=False, exclude=["pdf.plugin"])
        assert host.renderers().names() == []
        assert "pension_collect.adapters.pdf.plugin" not in dict(host.plugins())
        assert "memory" in host.storage_registry()

    def test_by_full_module_name(self) -> None:
        host = PluginHost(load_entry_points=False, exclude=["pension_collect.adapters.sqlite"])
        assert host.storage_registry().names() == ["memory"]

    def test_a_plugin_can_take_the_place_of_an_excluded_built_in(self) -> None:
        class MyStore:
            @hookimpl
            def pension_collect_register_storage(self, registry: StorageRegistry) -> None:
                registry.add("sqlite", _factory("mine"))

        host = PluginHost(load_entry_points=False, exclude=["sqlite"], plugins=[MyStore()])
        assert host.open_storage("sqlite:///x.db") == "mine"

    def test_an_unknown_name_is_refused_with_the_list(self) -> None:
        with pytest.raises(PluginError, match=r"pdf\.plugin"):
            PluginHost(load_entry_points=False, exclude=["pdf"])

    def test_every_built_in_can_be_left_out(self) -> None:
        host = PluginHost(load_entry_points=False, exclude=DEFAULT_PLUGINS)
        assert host.plugins() == []
        with pytest.raises(UnknownRulePack):
            host.rule_pack()


class _Clash:
    """Two plugins claiming the confirmation renderer: a broken set-up."""

    class _One:
        @hookimpl
        def pension_collect_register_renderers(self, registry: RendererRegistry) -> None:
            registry.add("confirmation", SummaryRenderer())

    class _Two:
        @hookimpl
        def pension_collect_register_renderers(self, registry: RendererRegistry) -> None:
            registry.add("confirmation", SummaryRenderer())


@pytest.mark.parametrize("store", ["memory", "sqlite"])
class TestBrokenRenderersAreNotMissingRenderers:
    def test_the_print_step_raises_and_records_nothing(self, store: str, tmp_path: Path) -> None:
        """Two clashing renderers raise PluginError at printing; the forms are not
        recorded as printed, so collecting a worker is still refused ([P3.2])."""
        url = "memory:" if store == "memory" else sqlite_url(tmp_path)
        s = make_setup(url, plugins=[_Clash._One(), _Clash._Two()])
        s.session.start()
        s.session.sync()
        s.session.collect_employer(s.dossier.employer)
        decl = s.session.submit_employer_declaration()
        s.bureau.settle()
        s.session.refresh(decl.key)
        with pytest.raises(PluginError, match="two plugins"):
            s.session.print_verification_forms(s.keys, out_dir=tmp_path / "forms")
        assert not list(tmp_path.glob("forms/*.pdf"))
        state = s.session.state()
        assert state is not None
        assert not state.verification
        with pytest.raises(PensionCollectError):
            s.session.save_worker(s.workers[0])

    def test_a_host_without_renderers_prints_nothing_but_goes_on(
        self, store: str, tmp_path: Path
    ) -> None:
        """No renderer at all (UnknownRenderer) is the documented 'no form file' case."""
        url = "memory:" if store == "memory" else sqlite_url(tmp_path)
        s = make_setup(url)
        s.host = PluginHost(load_entry_points=False, exclude=["pdf.plugin"])
        s.session.host = s.host
        to_collecting(s)
        for w in s.workers:
            s.session.save_worker(w)
        printed = s.session.print_confirmation_forms(out_dir=tmp_path / "forms")
        assert printed.files == ()
        assert printed.note is not None
        assert "no 'confirmation' renderer" in printed.note
        s.session.record_received(s.keys)


class TestPureRules:
    def test_rules_check_takes_a_pack_not_a_name(self) -> None:
        dossier = pension_collect.loads(pension_collect.dossier.example_dossier_text())
        with pytest.raises(TypeError, match=r"pension_collect\.check"):
            rules.check(dossier, "weihai-2013")  # type: ignore[arg-type]

    def test_rules_check_and_the_facade_agree(self) -> None:
        dossier = pension_collect.loads(pension_collect.dossier.example_dossier_text())
        pure = rules.check(dossier, default_pack())
        facade = pension_collect.check(dossier, host=PluginHost(load_entry_points=False))
        assert pure.to_json() == facade.to_json()

    def test_rules_check_uses_no_host(self) -> None:
        """Checking with a pack in a fresh process never imports the plugin host."""
        code = (
            "import sys\n"
            "from pension_collect.dossier import example_dossier_text, loads\n"
            "from pension_collect.rules import check\n"
            "from pension_collect.rules.weihai2013 import default_pack\n"
            "check(loads(example_dossier_text()), default_pack())\n"
            "print(sorted(m for m in sys.modules if m.startswith('pension_collect.')"
            " and m.split('.')[1] in ('plugins', 'hookspecs', 'adapters', 'workflow')))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"


class TestFacade:
    def test_names_load_on_first_use(self) -> None:
        code = (
            "import sys, pension_collect as pc\n"
            "before = 'pension_collect.rules' in sys.modules\n"
            "pc.Report\n"
            "print(before, 'pension_collect.rules' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.split() == ["False", "True"]

    def test_every_public_name_resolves(self) -> None:
        for name in pension_collect.__all__:
            assert getattr(pension_collect, name) is not None, name

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        with pytest.raises(AttributeError, match="no_such_name"):
            pension_collect.no_such_name  # noqa: B018

    def test_default_host_is_one_host(self) -> None:
        assert pension_collect.default_host() is pension_collect.default_host()
        assert not hasattr(pension_collect.plugins, "default_host")
