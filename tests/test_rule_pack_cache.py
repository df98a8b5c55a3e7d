"""The rule-pack cache of ``validate`` (pension_collect.cli._packs): the first
run builds the plugin host and records which plugins implement the rule-pack
hook; later runs take the built-in pack without the host only on a record
for the same key saying the built-in alone implements it; any other file is
ignored and replaced; a folder that cannot be written means no cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pension_collect.plugins
from pension_collect.cli import _packs
from pension_collect.errors import UnknownRulePack
from pension_collect.hookspecs import hookimpl
from pension_collect.model import YearMonth
from pension_collect.ports.rulepacks import RulePackRegistry
from pension_collect.rules import Hit, Rule, Severity
from pension_collect.rules.weihai2013 import default_pack

BUILT_IN = "pension_collect.adapters.rule_packs"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(_packs.NO_CACHE_ENV, raising=False)
    monkeypatch.delenv("PENSION_COLLECT_DISABLE_PLUGINS", raising=False)
    return tmp_path / "pension-collect" / "rule-packs.json"


class Hosts:
    """Counts the plugin hosts built (and can add a plugin to each)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, plugin: object | None = None) -> None:
        self.built = 0
        real = pension_collect.plugins.PluginHost

        def make(*args: Any, **kwargs: Any) -> Any:
            self.built += 1
            if plugin is not None:
                kwargs["plugins"] = [plugin]
            return real(*args, **kwargs)

        monkeypatch.setattr(pension_collect.plugins, "PluginHost", make)


def test_the_first_run_records_and_the_next_needs_no_host(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = Hosts(monkeypatch)
    assert _packs.rule_pack(None) == default_pack()
    assert hosts.built == 1
    record = json.loads(cache.read_text("utf-8"))
    assert record["format"] == "pension-collect/rule-pack-cache"
    assert record["plugins"] == [BUILT_IN]
    assert _packs.rule_pack("weihai-2013") == default_pack()
    assert _packs.rule_pack(None) == default_pack()
    assert hosts.built == 1


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"\x80\x81 not UTF-8",
        b"[1, 2]",
        b'{"format": "pension-collect/rule-pack-cache"}',
        b"{" * 10_000,
        b" " * 70_000,
    ],
)
def test_a_damaged_file_is_ignored_and_replaced(
    cache: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_bytes(damage)
    hosts = Hosts(monkeypatch)
    assert _packs.rule_pack(None) == default_pack()
    assert hosts.built == 1
    assert json.loads(cache.read_text("utf-8"))["plugins"] == [BUILT_IN]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(key="0" * 64),
        lambda r: r.update(plugins=[BUILT_IN, "other"]),
        lambda r: r.update(plugins=[BUILT_IN, 1]),
        lambda r: r.update(version=99),
        lambda r: r.update(extra=True),
    ],
)
def test_a_record_not_exactly_ours_builds_the_host(
    cache: Path, monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    _packs.rule_pack(None)
    record = json.loads(cache.read_text("utf-8"))
    change(record)
    cache.write_text(json.dumps(record), "utf-8")
    hosts = Hosts(monkeypatch)
    _packs.rule_pack(None)
    assert hosts.built == 1


def test_another_pack_name_always_asks_the_host(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _packs.rule_pack(None)
    hosts = Hosts(monkeypatch)
    with pytest.raises(UnknownRulePack):
        _packs.rule_pack("no-such-pack")
    assert hosts.built == 1


class _ExtraRule:
    """A plugin adding a rule to weihai-2013 (it implements the hook)."""

    @hookimpl
    def pension_collect_register_rule_packs(self, registry: RulePackRegistry) -> None:
        registry.add_rule(
            "weihai-2013",
            Rule(
                code="test.always",
                severity=Severity.WARNING,
                message="always",
                message_zh="总是",
                check=lambda view: iter([Hit(path=view.path)]),
            ),
        )


def test_a_plugin_implementing_the_hook_is_recorded_and_used(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = Hosts(monkeypatch, plugin=_ExtraRule())
    assert "test.always" in _packs.rule_pack(None).codes
    assert "test.always" in _packs.rule_pack(None).codes
    assert hosts.built == 2
    assert BUILT_IN in json.loads(cache.read_text("utf-8"))["plugins"]
    assert len(json.loads(cache.read_text("utf-8"))["plugins"]) == 2


def test_the_blocked_plugins_are_part_of_the_key(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _packs.rule_pack(None)
    first = json.loads(cache.read_text("utf-8"))["key"]
    monkeypatch.setenv("PENSION_COLLECT_DISABLE_PLUGINS", "postgres")
    hosts = Hosts(monkeypatch)
    _packs.rule_pack(None)
    assert hosts.built == 1
    assert json.loads(cache.read_text("utf-8"))["key"] != first


def test_every_plugin_blocked_needs_no_host_nor_file(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PENSION_COLLECT_DISABLE_PLUGINS", "1")
    hosts = Hosts(monkeypatch)
    assert _packs.rule_pack(None) == default_pack()
    assert hosts.built == 0
    assert not cache.exists()


def test_turned_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_packs.NO_CACHE_ENV, "1")
    hosts = Hosts(monkeypatch)
    _packs.rule_pack(None)
    _packs.rule_pack(None)
    assert hosts.built == 2
    assert not cache.exists()


def test_a_cache_folder_that_is_a_file_means_no_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.parent.parent.mkdir(parents=True, exist_ok=True)
    cache.parent.write_text("not a folder", "utf-8")
    hosts = Hosts(monkeypatch)
    assert _packs.rule_pack(None) == default_pack()
    assert _packs.rule_pack(None) == default_pack()
    assert hosts.built == 2
    assert list(cache.parent.parent.iterdir()) == [cache.parent]


def test_a_relative_xdg_cache_home_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(_packs.NO_CACHE_ENV, raising=False)
    assert _packs.cache_path() == tmp_path / ".cache" / "pension-collect" / "rule-packs.json"


def test_the_parameters_are_read_from_their_copy(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second run takes the built-in pack's parameters from the JSON copy
    (no TOML parse), and gets the same pack."""
    import tomllib

    _packs.rule_pack(None)
    _packs.rule_pack(None)
    copy = cache.parent / "weihai-2013-parameters.json"
    record = json.loads(copy.read_text("utf-8"))
    assert record["format"] == "pension-collect/parameters-cache"
    assert record["data"]["account_start"]["values"][0]["value"] == "1996-04"

    def no_toml(text: str) -> Any:
        raise AssertionError("the TOML file was parsed")

    monkeypatch.setattr(tomllib, "loads", no_toml)
    assert _packs.rule_pack(None) == default_pack()


@pytest.mark.parametrize(
    "change",
    [
        # a value changed: the checksum no longer matches
        lambda r: r["data"]["account_start"]["values"][0].update(value="2001-01"),
        # the checksum matches, the data is no parameter file
        lambda r: r.update(data=[1], crc32=_packs._checksum([1])),
        lambda r: r.update(data={"x": "y"}, crc32=_packs._checksum({"x": "y"})),
        lambda r: r.update(key=[]),
        lambda r: r.pop("crc32"),
    ],
)
def test_a_damaged_parameters_copy_is_not_trusted(
    cache: Path, monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    _packs.rule_pack(None)
    _packs.rule_pack(None)
    copy = cache.parent / "weihai-2013-parameters.json"
    record = json.loads(copy.read_text("utf-8"))
    change(record)
    copy.write_text(json.dumps(record), "utf-8")
    pack = _packs.rule_pack(None)
    assert pack == default_pack()
    assert pack.parameters.get("account_start", YearMonth(2013, 8)) == YearMonth(1996, 4)
    assert (
        json.loads(copy.read_text("utf-8"))["data"]["account_start"]["values"][0]["value"]
        == "1996-04"
    )
