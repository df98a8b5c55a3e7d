"""The ``pension-collect`` command line (docs/cli.md).

Exit statuses: 0 success (no error finding), 1 an error finding, 2 input that
cannot be read as a dossier (or another usage problem). No traceback reaches
the user for bad input: every problem is printed with its path.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TextIO

from . import __version__
from .dossier import loads
from .errors import DossierFormatError, PensionCollectError
from .model import YearMonth
from .plugins import PluginHost
from .rules import check, format_text

__all__ = ["EXAMPLE_DOSSIER", "main"]

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2

#: Modules that contribute subcommands: each has ``add_parser(subparsers)``,
#: which adds its parser and sets ``run=<function(args) -> int>`` as a default
#: (``parser.set_defaults(run=...)``). Imported only when the CLI runs.
_COMMAND_MODULES: tuple[str, ...] = (
    "pension_collect.workflow.demo",
    "pension_collect.render.cli",
)

#: Name of the bundled example dossier (three workers of a Weihai employer).
EXAMPLE_DOSSIER = "example-dossier.json"


def example_dossier_text() -> str:
    """The bundled example dossier, as JSON text."""
    return resources.files("pension_collect").joinpath("data", EXAMPLE_DOSSIER).read_text("utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pension-collect",
        description="Pension data-quality collection (养老保险数据质量整理和采集) for employers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser(
        "validate",
        help="check a dossier against a rule pack (检查采集档案)",
        description="Check a dossier file against a rule pack. Exit status: 0 no error "
        "finding, 1 an error finding, 2 the file is not a readable dossier.",
    )
    target = v.add_mutually_exclusive_group(required=True)
    target.add_argument("file", nargs="?", help="the dossier (JSON); - reads standard input")
    target.add_argument(
        "--example", action="store_true", help="validate the bundled example dossier"
    )
    v.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    v.add_argument(
        "--rule-pack", metavar="NAME", help="rule pack (default: the dossier's, else weihai-2013)"
    )
    v.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="language of the text output (default zh)",
    )

    e = sub.add_parser("example", help="write the bundled example dossier (示例档案)")
    e.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")

    r = sub.add_parser("rules", help="list the codes of a rule pack (规则列表)")
    r.add_argument("--rule-pack", metavar="NAME", help="rule pack (default weihai-2013)")
    r.add_argument("--format", choices=("text", "json"), default="text")

    sub.add_parser("plugins", help="list the registered plugins")
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
    try:
        if args.command == "validate":
            return _validate(args, sys.stdout)
        if args.command == "example":
            return _example(args)
        if args.command == "rules":
            return _rules(args, sys.stdout)
        if args.command == "plugins":
            for name, dist in PluginHost().plugins():
                print(f"{name}\t{dist or '(built-in)'}")
            return EXIT_OK
        if getattr(args, "run", None) is not None:
            status: int = args.run(args)
            return status
    except PensionCollectError as exc:
        print(f"pension-collect: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    parser.print_help()
    return EXIT_UNREADABLE


def _read(args: argparse.Namespace) -> tuple[bytes | str, str]:
    if args.example:
        return example_dossier_text(), f"<bundled {EXAMPLE_DOSSIER}>"
    if args.file == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(args.file)
    return path.read_bytes(), str(path)


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    try:
        text, source = _read(args)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        print(f"pension-collect: cannot read {args.file}: {reason}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        dossier = loads(text, source=source)
    except DossierFormatError as exc:
        _print_problems(exc, args, out)
        return EXIT_UNREADABLE
    host = PluginHost()
    report = check(dossier, pack=args.rule_pack, host=host)
    if args.format == "json":
        # Indented for a person at a terminal; compact (and fast) into a pipe or file.
        out.write(report.to_json(indent=2 if out.isatty() else None))
    else:
        out.write(format_text(report, dossier, lang=args.lang))
    return EXIT_OK if report.ok else EXIT_ERRORS


def _print_problems(exc: DossierFormatError, args: argparse.Namespace, out: TextIO) -> None:
    if args.format == "json":
        doc = {
            "format": "pension-collect/problems",
            "version": 1,
            "source": exc.source,
            "problems": [
                {"path": p.path, "message": p.message, "message_zh": p.message_zh}
                for p in exc.problems
            ],
        }
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    n = len(exc.problems)
    if args.lang == "zh":
        out.write(f"{exc.source}:无法读取为采集档案,共 {n} 处问题:\n")
        for p in exc.problems:
            out.write(f"  {p.path}: {p.message_zh or p.message}({p.message})\n")
    else:
        out.write(f"{exc.source}: not a readable dossier, {n} problem{'s' if n != 1 else ''}:\n")
        for p in exc.problems:
            out.write(f"  {p.path}: {p.message}\n")


def _example(args: argparse.Namespace) -> int:
    text = example_dossier_text()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _rules(args: argparse.Namespace, out: TextIO) -> int:
    pack = PluginHost().rule_pack(args.rule_pack)
    if args.format == "json":
        rows = [
            {
                "code": r.code,
                "severity": r.severity.value,
                "procedure": r.procedure,
                "message": r.message,
                "message_zh": r.message_zh,
                "uses": list(r.uses),
            }
            for r in pack.rules
        ]
        out.write(
            json.dumps({"rule_pack": pack.name, "rules": rows}, ensure_ascii=False, indent=2) + "\n"
        )
        return EXIT_OK
    out.write(f"{pack.name}: {pack.title}\n")
    this_month = YearMonth.of(datetime.date.today())
    for r in pack.rules:
        active = "" if r.is_active(pack.parameters, this_month) else "  (inactive)"
        out.write(f"  {r.code:42} {r.severity.value:8} {r.procedure or '-':6}{active}\n")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
