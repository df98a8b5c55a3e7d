"""The dossier commands: ``validate``, ``example``, ``rules`` and ``plugins`` (docs/cli.md)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from .._gc import gc_paused
from ..dossier import EXAMPLE_DOSSIER, _read_held, example_dossier_text, read_input
from ..errors import DossierFormatError
from ..limits import DEFAULT_LIMITS
from ..text import json_safe, printable
from . import EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE, say

# The plugin host, the rules and the file helpers are imported by the
# commands that use them: ``validate``'s start-up pays only for what it runs.

__all__ = ["STREAM_ABOVE", "add_parser"]

#: ``validate`` reads a dossier file larger than this (bytes) worker by
#: worker, as ``--stream`` asks (docs/cli.md).
STREAM_ABOVE = 64 * 2**20


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
    v.add_argument(
        "--stream",
        action="store_true",
        help="read the dossier worker by worker, in little memory (automatic for a file "
        f"larger than {STREAM_ABOVE // 2**20} MiB)",
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


def _read(args: argparse.Namespace, spool: Any) -> list[Any]:
    """The source's name and its content (at most the input-size limit is
    read: docs/dossier.md "Limits"; a larger file, /dev/zero or an endless
    pipe is a DossierFormatError), in a list the reader empties as it goes."""
    if args.example:
        return [f"<bundled {EXAMPLE_DOSSIER}>", example_dossier_text()]
    if args.file == "-":
        return ["<stdin>", read_input(sys.stdin.buffer if spool is None else spool.name)]
    path = Path(args.file)
    return [str(path), read_input(path)]


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    spool = None
    try:
        if args.file == "-" and args.stream:
            try:
                spool = _spool_stdin()  # the streaming reader reads a file
            except OSError as exc:
                return _cannot_read(args, exc)
            except DossierFormatError as exc:
                _print_problems(exc, args, out)
                return EXIT_UNREADABLE
        path = None if args.example else spool.name if spool is not None else args.file
        if path is not None and (args.stream or _larger_than(path, STREAM_ABOVE)):
            status = _check_streamed(path, args, out)
            if status is not None:
                return status
        return _validate_in_memory(args, out, spool)
    finally:
        if spool is not None:
            spool.close()


def _cannot_read(args: argparse.Namespace, exc: OSError) -> int:
    reason = exc.strerror or type(exc).__name__
    say(f"cannot read {args.file}: {reason}")
    return EXIT_UNREADABLE


def _larger_than(path: str, size: int) -> bool:
    try:
        return os.stat(path).st_size > size
    except OSError:
        return False  # the in-memory reader says why it cannot be read


def _validate_in_memory(args: argparse.Namespace, out: TextIO, spool: Any) -> int:
    # The collector paused for the whole check, not only for reading and
    # checking: the rules' imports, the pack and the report make objects
    # that live to the end as well (docs/cli.md, "Start-up").
    with gc_paused():
        return _validate_held(args, out, spool)


def _validate_held(args: argparse.Namespace, out: TextIO, spool: Any) -> int:
    try:
        held = _read(args, spool)
        source = held.pop(0)
        # The reader holds the only reference to the content, and drops it as
        # soon as the next stage has what it needs (peak memory).
        dossier = _read_held(held, source, DEFAULT_LIMITS)
    except OSError as exc:
        return _cannot_read(args, exc)
    except DossierFormatError as exc:
        _print_problems(exc, args, out)
        return EXIT_UNREADABLE
    from ..rules import check, format_text
    from ._packs import rule_pack

    pack = rule_pack(args.rule_pack or dossier.rule_pack)
    report = check(dossier, pack)
    if args.format == "json":
        # Indented for a person at a terminal; compact (and fast) into a pipe or file.
        out.write(report.to_json(indent=2 if out.isatty() else None))
    else:
        out.write(format_text(report, dossier, lang=args.lang))
    return EXIT_OK if report.ok else EXIT_ERRORS


def _check_streamed(path: str, args: argparse.Namespace, out: TextIO) -> int | None:
    try:
        from .._reader.stream import NotStreamed, open_streamed
    except ImportError:  # ijson is in the fast extra
        if args.stream:
            say(
                "--stream needs ijson (pip install 'pension-collect[fast]'); reading in memory "
                "(流式读取需要安装 ijson,改为整体读取)"
            )
        return None
    from ..errors import PensionCollectError
    from ..rules import format_text
    from ..rules.report import _worker_index
    from ..rules.stream import check_streamed
    from ._packs import rule_pack

    try:
        streamed = open_streamed(path, DEFAULT_LIMITS)
        # A pack the host does not know is reported once the whole file is
        # read, as without streaming (a problem of the file comes first).
        pack = rule_pack(args.rule_pack or streamed.header.rule_pack)
        report = check_streamed(streamed.header, streamed.workers(), pack)
    except (NotStreamed, PensionCollectError, OSError):
        return None  # read in memory: it says what is wrong
    with report:
        if args.format == "json":
            report.write_json(out, indent=2 if out.isatty() else None)
        else:
            names = report.names
            wanted = {_worker_index(f.path) for f in report.findings} - {None, *names}
            if wanted:  # workers named only by a dossier-scope finding (a duplicate)
                names = {**names, **_workers_at(streamed, wanted)}
            out.write(format_text(report, names, lang=args.lang))
        return EXIT_OK if report.ok else EXIT_ERRORS


def _workers_at(streamed: Any, wanted: set[int | None]) -> dict[int, Any]:
    """The workers at the ``wanted`` indexes, read again from the file."""
    return {i: w for i, w in enumerate(streamed.workers()) if i in wanted}


def _spool_stdin() -> Any:
    """Standard input in a temporary file, at most the input-size limit of it
    (a DossierFormatError beyond)."""
    import tempfile

    from ..dossier import _too_large

    limit = DEFAULT_LIMITS.input_bytes
    spool = tempfile.NamedTemporaryFile(prefix="pension-collect-", suffix=".json")  # noqa: SIM115
    try:
        total = 0
        while chunk := sys.stdin.buffer.read(1 << 20):
            total += len(chunk)
            if total > limit:
                raise _too_large(limit, "<stdin>")
            spool.write(chunk)
        spool.flush()
    except BaseException:
        spool.close()
        raise
    return spool


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
    from .._files import atomic_write, cannot_write

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
    from ..model import YearMonth
    from ..plugins import PluginHost

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
    from ..plugins import PluginHost

    for name, dist in PluginHost().plugins():
        print(f"{name}\t{dist or '(built-in)'}")
    return EXIT_OK
