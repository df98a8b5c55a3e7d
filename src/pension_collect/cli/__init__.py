"""The ``pension-collect`` command line (docs/cli.md).

Exit statuses: 0 success (no error finding), 1 an error finding, 2 input that
cannot be read as a dossier (or another usage problem). No traceback reaches
the user for bad input: every problem is printed with its path.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import PensionCollectError

__all__ = ["EXIT_ERRORS", "EXIT_OK", "EXIT_UNREADABLE", "main"]

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2

#: Modules that contribute subcommands: each has ``add_parser(subparsers)``,
#: which adds its parser and sets ``run=<function(args) -> int>`` as a default
#: (``parser.set_defaults(run=...)``). Imported only when the CLI runs.
_COMMAND_MODULES: tuple[str, ...] = (
    "pension_collect.cli.dossier",
    "pension_collect.cli.render",
    "pension_collect.cli.demo",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pension-collect",
        description="Pension data-quality collection (养老保险数据质量整理和采集) for employers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except BrokenPipeError:
        # The reader went away (`pension-collect rules | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return EXIT_UNREADABLE
    try:
        status: int = run(args)
    except PensionCollectError as exc:
        print(f"pension-collect: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
