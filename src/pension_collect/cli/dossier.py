"""The dossier commands: ``validate``, ``example``, ``rules`` and ``plugins`` (docs/cli.md)."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .._files import atomic_write, cannot_write
from ..dossier import EXAMPLE_DOSSIER, example_dossier_text, loads, read_input
from ..errors import DossierFormatError
from ..model import YearMonth
from ..plugins import PluginHost
from ..rules import check, format_text
from ..text import json_safe, printable
from . import EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE, say

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    """Add ``validate``, ``example``, ``rules`` and ``plugins``."""
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

    p = sub.add_parser("plugins", help="list the registered plugins")
    v.set_defaults(run=lambda args: _validate(args, sys.stdout))
    e.set_defaults(run=_example)
    r.set_defaults(run=lambda args: _rules(args, sys.stdout))
    p.set_defaults(run=_plugins)


def _read(args: argparse.Namespace) -> tuple[bytes | str, str]:
    # At most the input-size limit is read (docs/dossier.md "Limits"): a
    # larger file, /dev/zero or an endless pipe is a DossierFormatError.
    if args.example:
        return example_dossier_text(), f"<bundled {EXAMPLE_DOSSIER}>"
    if args.file == "-":
        return read_input(sys.stdin.buffer), "<stdin>"
    path = Path(args.file)
    return read_input(path), str(path)


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    try:
        text, source = _read(args)
        dossier = loads(text, source=source)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        say(f"cannot read {args.file}: {reason}")
        return EXIT_UNREADABLE
    except DossierFormatError as exc:
        _print_problems(exc, args, out)
        return EXIT_UNREADABLE
    pack = PluginHost().rule_pack(args.rule_pack or dossier.rule_pack)
    report = check(dossier, pack)
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
        out.write(json_safe(json.dumps(doc, ensure_ascii=False, indent=2)) + "\n")
        return
    # Each line terminal-safe (the file name is the user's; so may a path be).
    n = len(exc.problems)
    source = printable(str(exc.source))
    if args.lang == "zh":
        out.write(f"{source}:无法读取为采集档案,共 {n} 处问题:\n")
        for p in exc.problems:
            out.write(printable(f"  {p.path}: {p.message_zh or p.message}({p.message})") + "\n")
    else:
        out.write(f"{source}: not a readable dossier, {n} problem{'s' if n != 1 else ''}:\n")
        for p in exc.problems:
            out.write(printable(f"  {p.path}: {p.message}") + "\n")


def _example(args: argparse.Namespace) -> int:
    text = example_dossier_text()
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with atomic_write(args.out, overwrite=True) as stream:
            stream.write(text.encode("utf-8"))
    except OSError as exc:  # an OutputError, or a full disk while writing
        say(str(cannot_write(args.out, exc)))
        return EXIT_UNREADABLE
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


def _plugins(args: argparse.Namespace) -> int:
    for name, dist in PluginHost().plugins():
        print(f"{name}\t{dist or '(built-in)'}")
    return EXIT_OK
