"""The ``pension_collect_register_commands`` hook: plugins add CLI commands."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

import pension_collect.plugins as plugins_module
from pension_collect import cli
from pension_collect.errors import PensionCollectError, PluginError
from pension_collect.hookspecs import hookimpl
from pension_collect.plugins import PluginHost
from pension_collect.ports.commands import CommandRegistry, UnknownCommand


class _Greeter:
    """A plugin adding ``greet [--fail] [--status N]``."""

    def __init__(self, name: str = "greet", *, add: bool = True) -> None:
        self.name = name
        self.add = add
        self.ran: list[argparse.Namespace] = []

    def _run(self, args: argparse.Namespace) -> int:
        self.ran.append(args)
        if args.fail:
            raise PensionCollectError("the greeting failed (问候失败)")
        print("hello from a plugin")
        return int(args.status)

    def _add_parser(self, sub: Any) -> None:
        if not self.add:
            return
        parser = sub.add_parser(self.name, help="say hello")
        parser.add_argument("--fail", action="store_true")
        parser.add_argument("--status", default="0")
        parser.set_defaults(run=self._run)

    @hookimpl
    def pension_collect_register_commands(self, registry: CommandRegistry) -> None:
        registry.add(self.name, self._add_parser)


@pytest.fixture
def with_plugin(monkeypatch: pytest.MonkeyPatch):
    """Make the CLI's host carry the given plugin object."""

    def install(plugin: object) -> None:
        real = PluginHost

        def host(**kwargs: Any) -> PluginHost:
            return real(load_entry_points=False, plugins=[plugin])

        monkeypatch.setattr(plugins_module, "PluginHost", host)

    return install


def test_host_collects_commands_and_freezes() -> None:
    plugin = _Greeter()
    host = PluginHost(load_entry_points=False, plugins=[plugin])
    registry = host.commands()
    assert registry.names() == ["greet"]
    assert registry.frozen
    with pytest.raises(PluginError, match="after set-up"):
        registry.add("late", lambda sub: None)
    with pytest.raises(UnknownCommand) as info:
        registry.get("nosuch")
    assert info.value.code == "plugins.unknown-command"
    assert info.value.available == ("greet",)


def test_host_without_plugins_has_no_commands() -> None:
    assert PluginHost(load_entry_points=False).commands().names() == []


@pytest.mark.parametrize("name", ["", "Web", "1web", "web serve", "web/x", "a" * 41, "-web"])
def test_bad_command_names_refused(name: str) -> None:
    with pytest.raises(PluginError):
        CommandRegistry().add(name, lambda sub: None)


def test_longest_good_name_and_hyphens_accepted() -> None:
    registry = CommandRegistry()
    registry.add("a" * 40, lambda sub: None)
    registry.add("web-2", lambda sub: None)
    assert registry.names() == ["a" * 40, "web-2"]


def test_non_callable_refused() -> None:
    with pytest.raises(PluginError, match="callable"):
        CommandRegistry().add("web", "not a function")  # type: ignore[arg-type]


def test_two_plugins_one_command_refused() -> None:
    with pytest.raises(PluginError, match="two plugins"):
        PluginHost(load_entry_points=False, plugins=[_Greeter(), _Greeter()]).commands()


def test_cli_runs_plugin_command(with_plugin, capsys: pytest.CaptureFixture[str]) -> None:
    plugin = _Greeter()
    with_plugin(plugin)
    assert cli.main(["greet", "--status", "4"]) == 4
    assert capsys.readouterr().out == "hello from a plugin\n"
    assert len(plugin.ran) == 1


def test_cli_plugin_command_error_is_one_line(
    with_plugin, capsys: pytest.CaptureFixture[str]
) -> None:
    with_plugin(_Greeter())
    assert cli.main(["greet", "--fail"]) == cli.EXIT_UNREADABLE
    err = capsys.readouterr().err
    assert err == "pension-collect: the greeting failed (问候失败)\n"


def test_cli_help_lists_plugin_command(with_plugin, capsys: pytest.CaptureFixture[str]) -> None:
    with_plugin(_Greeter())
    assert cli.main(["--help"]) == 0
    assert "greet" in capsys.readouterr().out


def test_plugin_may_not_take_a_builtin_name(
    with_plugin, capsys: pytest.CaptureFixture[str]
) -> None:
    with_plugin(_Greeter("status"))
    # a built-in command line does not even load the plugins' commands
    assert cli.main(["status", "--help"]) == 0
    capsys.readouterr()
    assert cli.main(["--help"]) == cli.EXIT_UNREADABLE
    err = capsys.readouterr().err
    assert "'status', which is a built-in command" in err
    assert "Traceback" not in err


def test_plugin_adding_no_parser_is_reported(
    with_plugin, capsys: pytest.CaptureFixture[str]
) -> None:
    with_plugin(_Greeter(add=False))
    assert cli.main(["greet"]) == cli.EXIT_UNREADABLE
    assert "added no parser" in capsys.readouterr().err


def test_builtin_command_does_not_build_a_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(**kwargs: Any) -> PluginHost:
        raise AssertionError("the host was built for a built-in command")

    monkeypatch.setattr(plugins_module, "PluginHost", broken)
    assert cli.main(["example"]) == 0
    assert '"format"' in capsys.readouterr().out


def test_unknown_command_still_an_argument_error(
    with_plugin, capsys: pytest.CaptureFixture[str]
) -> None:
    with_plugin(_Greeter())
    assert cli.main(["nosuch"]) == cli.EXIT_UNREADABLE
    err = capsys.readouterr().err
    assert "invalid choice: 'nosuch'" in err
    assert "'greet'" in err
