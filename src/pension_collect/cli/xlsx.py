"""``pension-collect export-xlsx`` and ``pension-collect import-xlsx`` (docs/cli.md, docs/xlsx.md).

export-xlsx: ``pension-collect export-xlsx DOSSIER OUT.xlsx`` writes a dossier
as an Excel workbook; ``export-xlsx --template OUT.xlsx`` a blank one to fill
in. import-xlsx: ``pension-collect import-xlsx IN.xlsx OUT.json`` reads a
workbook back as a dossier, or lists every problem with its cell and writes
nothing. Exit status 0 written, 2 unreadable input or unwritable output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .._files import atomic_write, cannot_write
from ..dossier import dumps, loads, read_input
from ..errors import DossierFormatError
from ..text import json_safe, printable
from . import EXIT_OK, EXIT_UNREADABLE, say
from .dossier import _print_problems

__all__ = ["add_parser"]

#: The ``format`` of the problems document of ``import-xlsx --format json``
#: (docs/xlsx-problems.v1.json: the JSON reader's problems document
#: with each problem's sheet, row, column, cell and code).
PROBLEMS_FORMAT = "pension-collect/xlsx-problems"


def add_parser(sub: Any) -> None:
    """Add ``export-xlsx`` and ``import-xlsx``."""
    e = sub.add_parser(
        "export-xlsx",
        help="write a dossier as an Excel workbook, or a blank one (导出 Excel 工作簿)",
        description="Write a dossier as an Excel workbook: one sheet per part, Chinese and "
        "English headers, drop-downs, month and money formats. --template writes a blank "
        "workbook to fill in. Exit status: 0 written, 2 unreadable dossier or unwritable output.",
    )
    e.add_argument(
        "paths",
        metavar="DOSSIER OUT.xlsx",
        nargs="+",
        help="the dossier (JSON; - reads standard input) and the workbook to write; with "
        "--template only the workbook",
    )
    e.add_argument("--template", action="store_true", help="write a blank workbook to fill in")
    e.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    e.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of problems")
    e.set_defaults(run=lambda args: _export(args, e, sys.stdout))

    i = sub.add_parser(
        "import-xlsx",
        help="read an Excel workbook as a dossier (导入 Excel 工作簿)",
        description="Read an Excel workbook (written by export-xlsx or filled in from its "
        "template) and write the dossier as JSON. Every problem is listed with its sheet, "
        "row, column and cell, and nothing is written. Exit status: 0 written, 2 the workbook "
        "is not a readable dossier or the output cannot be written.",
    )
    i.add_argument("workbook", metavar="IN.xlsx", help="the workbook to read")
    i.add_argument("out", metavar="OUT.json", help="the dossier to write; - for standard output")
    i.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    i.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of problems")
    i.set_defaults(run=lambda args: _import(args, sys.stdout))


def _write(path: str, write: Any) -> bool:
    """Run ``write``; an unwritable target is one line and ``False``."""
    try:
        write()
    except OSError as exc:  # an OutputError, or a full disk while writing
        say(str(cannot_write(path, exc)))
        return False
    return True


def _report(out: TextIO, args: argparse.Namespace, text: str, doc: dict[str, Any]) -> None:
    if args.format == "json":
        out.write(json_safe(json.dumps(doc, ensure_ascii=False)) + "\n")
    else:
        out.write(printable(text) + "\n")


def _export(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ..xlsx import write_template, write_xlsx

    if args.template:
        if len(args.paths) != 1:
            parser.error("--template takes one argument, the workbook to write (OUT.xlsx)")
        (target,) = args.paths
        if not _write(target, lambda: write_template(target)):
            return EXIT_UNREADABLE
        _report(out, args, f"{target}: blank workbook", {"out": target, "workers": 0})
        return EXIT_OK
    if len(args.paths) != 2:
        parser.error("give the dossier and the workbook to write: DOSSIER OUT.xlsx")
    source, target = args.paths
    try:
        if source == "-":
            dossier = loads(read_input(sys.stdin.buffer), source="<stdin>")
        else:
            dossier = loads(read_input(Path(source)), source=source)
    except OSError as exc:
        say(f"cannot read {source}: {exc.strerror or type(exc).__name__}")
        return EXIT_UNREADABLE
    except DossierFormatError as exc:
        _print_problems(exc, args, out)
        return EXIT_UNREADABLE
    if not _write(target, lambda: write_xlsx(dossier, target)):
        return EXIT_UNREADABLE
    n = len(dossier.workers)
    _report(out, args, f"{target}: {n} workers", {"out": target, "workers": n})
    return EXIT_OK


def _import(args: argparse.Namespace, out: TextIO) -> int:
    from ..xlsx import XlsxImportError, read_xlsx

    source, target = args.workbook, args.out
    try:
        dossier = read_xlsx(source)
    except OSError as exc:
        say(f"cannot read {source}: {exc.strerror or type(exc).__name__}")
        return EXIT_UNREADABLE
    except XlsxImportError as exc:
        _print_xlsx_problems(exc, args, out)
        return EXIT_UNREADABLE
    text = dumps(dossier)
    n = len(dossier.workers)
    if target == "-":
        out.write(text)
        return EXIT_OK
    if not _write(target, lambda: _dump(text, target)):
        return EXIT_UNREADABLE
    _report(out, args, f"{target}: {n} workers", {"out": target, "workers": n})
    return EXIT_OK


def _dump(text: str, target: str) -> None:
    with atomic_write(target, overwrite=True) as stream:
        stream.write(text.encode("utf-8"))


def _print_xlsx_problems(exc: Any, args: argparse.Namespace, out: TextIO) -> None:
    if args.format == "json":
        doc = {
            "format": PROBLEMS_FORMAT,
            "version": 1,
            "source": exc.source,
            "problems": [
                {
                    "path": p.path,
                    "sheet": p.sheet,
                    "row": p.row,
                    "column": p.column,
                    "cell": p.cell,
                    "code": p.code,
                    "message": p.message,
                    "message_zh": p.message_zh,
                }
                for p in exc.problems
            ],
        }
        out.write(json_safe(json.dumps(doc, ensure_ascii=False, indent=2)) + "\n")
        return
    n = len(exc.problems)
    source = printable(str(exc.source))
    if args.lang == "zh":
        out.write(f"{source}:无法读取为采集档案,共 {n} 处问题:\n")
    else:
        out.write(f"{source}: not a readable dossier, {n} problem{'s' if n != 1 else ''}:\n")
    for p in exc.problems:
        where = p.path if p.column is None else f"{p.path} [{p.column}]"
        message = f"{p.message_zh}({p.message})" if args.lang == "zh" else p.message
        out.write(printable(f"  {where}: {message}") + "\n")
