"""The ``pension-collect`` command line (docs/cli.md).

Exit statuses: 0 success (no error finding), 1 an error finding, 2 input that
cannot be used (not a readable dossier, a file that cannot be read or
written, a bad argument: one line on standard error), 3 an internal error (a
bug: one line naming the error's type, asking for a report), 130 interrupted
(Ctrl-C). No traceback ever reaches the user (``PENSION_COLLECT_TRACEBACK=1``
prints it after the line, for a bug report).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from .._gc import gc_paused

# Imports only (attrs, typing, the error classes): objects that live as long
# as the process, nothing for the cyclic collector to find; its passes over
# them would be some 2% of a short command's time (docs/cli.md, "Start-up").
with gc_paused():
    from .._version import __version__
    from ..errors import PensionCollectError
    from ..text import printable

__all__ = [
    "EXIT_ERRORS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNREADABLE",
    "main",
]

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130

#: Modules that contribute subcommands: each has ``add_parser(subparsers)``,
#: which adds its parser and sets ``run=<function(args) -> int>`` as a default
#: (``parser.set_defaults(run=...)``). Imported only when the CLI runs.
_COMMAND_MODULES: tuple[str, ...] = (
    "pension_collect.cli.dossier",
    "pension_collect.cli.render",
    "pension_collect.cli.demo",
    "pension_collect.cli.bureau",
    "pension_collect.cli.xlsx",
    "pension_collect.cli.collect",
)

#: The commands of ``pension_collect.cli.dossier``: when one of them is run,
#: only that module is imported, not every command's (the start-up time of
#: ``validate``, docs/dossier.md "Reading fast").
_DOSSIER_COMMANDS = frozenset({"validate", "example", "rules", "plugins"})


#: errno values of a failed write to standard output.
_OUTPUT_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EIO", "EDQUOT", "EFBIG") if hasattr(errno, name)
)


def one_line(text: str) -> str:
    """``text`` made safe for one line of a terminal: every character that is
    not printable (line breaks, escape sequences, other controls) is shown as
    its Python escape (``\\n``, ``\\x1b``); spaces, the ideographic space and
    private-use characters (rare characters in names) are kept. The one
    escape of every text output: :func:`pension_collect.text.printable`."""
    return printable(text)


def say(message: str) -> None:
    """Print a problem on standard error: ``pension-collect: `` and ``message``,
    each of its lines made safe for a terminal (one line, unless the message
    lists problems one per line, as a dossier's format error does)."""
    first, *more = message.split("\n")
    # Standard error gone: the exit status is all there is.
    with contextlib.suppress(OSError, ValueError):
        print(
            f"pension-collect: {one_line(first)}", *map(one_line, more), sep="\n", file=sys.stderr
        )


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, which asks for the terminal's width only when
    it lays out text (:meth:`format_help`). argparse makes a formatter for each
    ``add_argument`` (to check a metavar); its own asks every time, and the
    asking imports :mod:`shutil` (with :mod:`bz2`, :mod:`lzma`), which a
    command that prints no help does not need (``validate``'s start-up)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        self._asked_position = max_help_position
        self._width_known = width is not None
        super().__init__(prog, indent_increment, max_help_position, 80 if width is None else width)

    def format_help(self) -> str:
        if not self._width_known:  # as argparse.HelpFormatter.__init__ sets them
            import shutil

            width = shutil.get_terminal_size().columns - 2
            self._max_help_position = min(
                self._asked_position, max(width - 20, self._indent_increment * 2)
            )
            self._width = width
            self._width_known = True
        return super().format_help()


class _Parser(argparse.ArgumentParser):
    """Argument errors: one line on standard error, exit status 2 (no usage block).

    A command whose parser has ``json_error`` set (the collection commands)
    also answers an argument error of a command line asking for ``--format
    json`` by calling it with the message and the hint, before the line."""

    json_error: Callable[[str], None] | None = None
    json_wanted = False

    def _get_formatter(self) -> argparse.HelpFormatter:
        if self.formatter_class is argparse.HelpFormatter:
            return _Formatter(prog=self.prog)
        return self.formatter_class(prog=self.prog)

    def error(self, message: str) -> NoReturn:
        hint = f"see '{self.prog} --help'"
        if self.json_error is not None and self.json_wanted:
            self.json_error(message)
        self.exit(EXIT_UNREADABLE, f"{self.prog}: {one_line(message)} ({hint})\n")


def _json_wanted(argv: Sequence[str]) -> bool:
    """The command line asks for ``--format json`` (``--format=json`` and the
    abbreviations argparse accepts, down to ``--fo``, too)."""
    words = list(argv)
    for i, word in enumerate(words):
        option, eq, value = word.partition("=")
        if len(option) < 4 or not "--format".startswith(option):
            continue
        if (value if eq else (words[i + 1] if i + 1 < len(words) else "")) == "json":
            return True
    return False


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pension-collect",
        description="Pension data-quality collection (养老保险数据质量整理和采集) for employers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # ``prog``: what argparse would lay out (the program's name: this parser
    # has no positional argument), without a formatter asking the terminal.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog=parser.prog)

    # ``argv`` given: the command line to be parsed (``None``: every command).
    command = next((word for word in argv or () if not word.startswith("-")), None)
    modules = ("pension_collect.cli.dossier",) if command in _DOSSIER_COMMANDS else _COMMAND_MODULES
    for module_name in modules:
        importlib.import_module(module_name).add_parser(sub)
    if command is None or command not in sub.choices:
        # help, or a command no built-in module has: the plugins' commands
        _add_plugin_commands(sub)
    parser.set_defaults(commands=tuple(sub.choices))
    wanted = _json_wanted(argv or ())
    for command_parser in sub.choices.values():
        if isinstance(command_parser, _Parser):
            command_parser.json_wanted = wanted
    chosen = sub.choices.get(command or "")
    if isinstance(chosen, _Parser):  # the main parser says `unrecognized arguments`
        parser.json_error, parser.json_wanted = chosen.json_error, wanted
    return parser


def _add_plugin_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """Add the commands plugins register (``pension_collect_register_commands``):
    a plugin may not take a built-in command's name, and its ``add_parser``
    must add a parser of the name it registered."""
    from ..errors import PluginError
    from ..plugins import PluginHost

    registry = PluginHost().commands()
    for name in registry.names():
        if name in sub.choices:
            raise PluginError(
                f"a plugin registers the command {name!r}, which is a built-in command; "
                "uninstall the plugin or block it with PENSION_COLLECT_DISABLE_PLUGINS"
            )
        registry.get(name)(sub)
        if name not in sub.choices:
            raise PluginError(f"the plugin command {name!r} added no parser of that name")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status (never raises,
    never prints a traceback)."""
    closed = sys.stdout is None  # started with standard output closed (`>&-`)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    if closed:
        say("standard output is closed; nothing can be printed (标准输出已关闭)")
        return EXIT_UNREADABLE
    try:
        try:
            # Imports only (the command's modules): their objects live as
            # long as the process, nothing for the collector to find.
            with gc_paused():
                parser = _parser(sys.argv[1:] if argv is None else argv)
        except PensionCollectError as exc:  # a broken plugin command
            say(str(exc))
            return EXIT_UNREADABLE
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, an argument error
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or EXIT_OK
            return EXIT_UNREADABLE
        status = _dispatch(args)
        sys.stdout.flush()
        _save_caches()
        return status
    except BrokenPipeError:
        # The reader went away (`pension-collect rules | head`): not an error.
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        say("interrupted (已中断)")
        return EXIT_INTERRUPTED
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_ERRNOS:
            return _internal(exc)
        # Standard output cannot be written (a full disk, a broken device).
        _silence_stdout()
        say(f"cannot write the output: {exc.strerror or type(exc).__name__} (无法写出结果)")
        return EXIT_UNREADABLE
    except Exception as exc:
        return _internal(exc)


def _save_caches() -> None:
    """Keep the attrs methods this run compiled for the next (docs/cli.md,
    "Start-up"): a command imports classes after its last fast path."""
    attrs_code = sys.modules.get("pension_collect._attrs_code")
    if attrs_code is not None:
        attrs_code.save()


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last
    flush has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # no file descriptor (captured output): nothing left to flush


def _internal(exc: BaseException) -> int:
    """An exception no code path expected: a bug. Its message may quote data (a
    name, an identity number), so only its type is shown."""
    say(
        f"internal error ({type(exc).__name__}); please report it with the command you ran "
        "(内部错误,请报告); PENSION_COLLECT_TRACEBACK=1 shows the details"
    )
    if os.environ.get("PENSION_COLLECT_TRACEBACK") == "1":
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_INTERNAL


def _dispatch(args: argparse.Namespace) -> int:
    run = getattr(args, "run", None)
    if run is None:
        commands = ", ".join(args.commands)
        say(f"a command is needed: {commands} (see 'pension-collect --help')")
        return EXIT_UNREADABLE
    try:
        status: int = run(args)
    except PensionCollectError as exc:
        say(str(exc))
        return EXIT_UNREADABLE
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
