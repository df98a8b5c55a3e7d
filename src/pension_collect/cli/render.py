"""``pension-collect render`` and ``pension-collect verify`` (docs/forms.md).

render: ``pension-collect render FORM DOSSIER --out FILE.pdf [--worker W ...]``
draws the verification form, the confirmation forms or the summary sheet of
the selected workers (all by default) into one PDF and says which font it used.

verify: ``pension-collect verify DOSSIER [PAYLOAD ...]`` checks scanned
confirmation-form QR payloads (arguments, else one per line of standard
input) against the dossier: exit 0 when every paper agrees, 1 when one does
not, 2 when the dossier cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .._files import OutputError, atomic_write, cannot_write
from ..dossier import loads, read_input
from ..errors import DossierFormatError
from ..model import Dossier
from ..text import json_safe
from . import one_line, say

__all__ = ["add_parser", "select_workers"]

EXIT_OK, EXIT_DIFFER, EXIT_UNREADABLE = 0, 1, 2


def add_parser(sub: Any) -> None:
    """Add the ``render`` and ``verify`` subcommands."""
    r = sub.add_parser(
        "render",
        help="print forms as PDF: verification, confirmation, summary (打印核对表/确认表/汇总表)",
        description="Draw the verification forms (核对表), the confirmation forms (确认表, "
        "three copies) or the summary sheet (汇总表) of a dossier's workers into one PDF. "
        "Exit status: 0 written, 2 unreadable dossier or bad option.",
    )
    r.add_argument(
        "form", metavar="FORM", help="verification, confirmation, summary (or a plugin's)"
    )
    r.add_argument("dossier", metavar="DOSSIER", help="the dossier (JSON); - reads standard input")
    r.add_argument("--out", metavar="FILE.pdf", required=True, help="the PDF to write")
    r.add_argument(
        "--worker",
        metavar="PERSON_NO_OR_INDEX",
        action="append",
        default=None,
        help="select a worker by personal number, else by 0-based position in the dossier "
        "(repeatable; default: every worker)",
    )
    r.add_argument(
        "--declaration", metavar="REF", help="declaration reference printed and in the QR"
    )
    r.add_argument("--rule-pack", metavar="NAME", help="rule pack (default: the dossier's)")
    r.add_argument(
        "--font",
        metavar="SPEC",
        help="auto (default), cid (STSong-Light), or a TrueType file[#index]; "
        "default from PENSION_COLLECT_FONT",
    )
    r.set_defaults(run=_render)

    v = sub.add_parser(
        "verify",
        help="check scanned confirmation-form QR payloads against a dossier (核验确认表二维码)",
        description="Check confirmation-form QR payloads (arguments, else one per line of "
        "standard input) against the stored dossier. Exit status: 0 every paper agrees, "
        "1 one does not, 2 the dossier cannot be read.",
    )
    v.add_argument("dossier", metavar="DOSSIER", help="the stored dossier (JSON)")
    v.add_argument("payload", metavar="PAYLOAD", nargs="*", help="scanned payload text (PC1/...)")
    v.add_argument("--declaration", metavar="REF", help="the paper must belong to this declaration")
    v.add_argument("--rule-pack", metavar="NAME", help="rule pack (default: the dossier's)")
    v.add_argument("--format", choices=("text", "json"), default="text")
    v.add_argument("--lang", choices=("zh", "en"), default="zh")
    v.set_defaults(run=_verify)


def _load(path: str) -> Dossier | None:
    try:
        # At most the input-size limit is read (docs/dossier.md "Limits").
        if path == "-":
            data = read_input(sys.stdin.buffer)
            source = "<stdin>"
        else:
            data = read_input(path)
            source = path
        return loads(data, source=source)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        say(f"cannot read {path}: {reason}")
        return None
    except DossierFormatError as exc:
        say(str(exc))
        return None


#: Bounds on the payloads read from standard input: the bytes in all (300,000
#: payloads of about 80 bytes fit), and the bytes of one line (longer is no
#: payload: its start is checked, and reported ``malformed``).
_PAYLOAD_INPUT_BYTES = 32 * 2**20
_PAYLOAD_LINE_BYTES = 4096


def _stdin_payloads() -> list[str] | None:
    """The payloads on standard input, one a line (blank lines skipped); bytes
    that are not UTF-8 are replaced (such a line is ``malformed``, not a
    crash). ``None`` (said on standard error) past the bound."""
    stream: IO[Any] = getattr(sys.stdin, "buffer", sys.stdin)
    payloads: list[str] = []
    total = 0
    while line := stream.readline(_PAYLOAD_LINE_BYTES + 1):
        total += len(line)
        rest = line
        while len(rest) > _PAYLOAD_LINE_BYTES and rest[-1:] not in ("\n", b"\n"):
            if total > _PAYLOAD_INPUT_BYTES:
                break
            rest = stream.readline(_PAYLOAD_LINE_BYTES + 1)  # the rest of an overlong line
            total += len(rest)
        if total > _PAYLOAD_INPUT_BYTES:
            say(
                f"standard input holds more than {_PAYLOAD_INPUT_BYTES:,} bytes of payloads; "
                "give them in parts (标准输入中的二维码内容过多,请分批核验)"
            )
            return None
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        if text.strip():
            payloads.append(text.strip()[:_PAYLOAD_LINE_BYTES])
    return payloads


def select_workers(dossier: Dossier, wanted: Sequence[str]) -> list[int]:
    """Positions of the workers named by personal number or 0-based position.

    A personal number wins over a position; a position is written in ASCII
    digits only (a full-width ``０`` or a superscript ``¹`` is no position).
    Raises :class:`LookupError` naming what matched nothing.
    """
    by_person = {w.person_no: i for i, w in enumerate(dossier.workers) if w.person_no}
    out: list[int] = []
    for item in wanted:
        if item in by_person:
            out.append(by_person[item])
        elif item.isascii() and item.isdigit() and int(item) < len(dossier.workers):
            out.append(int(item))
        else:
            raise LookupError(item)
    return out


def _render(args: argparse.Namespace) -> int:
    from ..plugins import PluginHost
    from ..ports.forms.registry import RenderError, RenderOptions
    from ..ports.forms.view import forms_input

    dossier = _load(args.dossier)
    if dossier is None:
        return EXIT_UNREADABLE
    host = PluginHost()
    try:
        renderer = host.renderer(args.form)
    except RenderError as exc:
        say(str(exc))
        return EXIT_UNREADABLE
    try:
        select = None if not args.worker else select_workers(dossier, args.worker)
    except LookupError as exc:
        say(
            f"no worker with personal number or position {exc.args[0]!r} "
            "(没有该个人编号或序号的职工)"
        )
        return EXIT_UNREADABLE
    pack = host.rule_pack(args.rule_pack or dossier.rule_pack)
    forms = forms_input(dossier, pack=pack, declaration_ref=args.declaration, select=select)
    out = Path(args.out)
    try:
        with atomic_write(args.out, overwrite=True) as stream:
            result = renderer.render(forms, stream, options=RenderOptions(font=args.font))
    except OSError as exc:
        if exc.filename is not None and not isinstance(exc, OutputError):
            # a file the renderer read (a font)
            message = f"{exc.filename}: {exc.strerror or type(exc).__name__}"
        else:  # the output refused, or writing it failed (a full disk)
            message = str(cannot_write(out, exc))
        say(message)
        return EXIT_UNREADABLE
    font = result.font.describe() if result.font is not None else "-"
    print(
        f"{one_line(str(out))}: {result.form}, {result.workers} workers, {result.pages} pages, "
        f"{result.bytes_written} bytes\nfont: {font}"
    )
    if result.fallback_chars:
        print(
            f"note: the font lacks {result.fallback_chars} characters: set in STSong-Light, "
            "or printed as 〓 (字体缺字,已用备用字体或〓代替)"
        )
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from ..plugins import PluginHost
    from ..ports.forms.payload import verify_payload

    dossier = _load(args.dossier)
    if dossier is None:
        return EXIT_UNREADABLE
    payloads = list(args.payload) or _stdin_payloads()
    if payloads is None:
        return EXIT_UNREADABLE
    pack = PluginHost().rule_pack(args.rule_pack or dossier.rule_pack)
    results = [
        verify_payload(p, dossier, pack=pack, declaration_ref=args.declaration) for p in payloads
    ]
    if args.format == "json":
        doc = {
            "format": "pension-collect/verification",
            "version": 1,
            "agree": all(r.agrees for r in results) and bool(results),
            "papers": [r.to_dict() for r in results],
        }
        sys.stdout.write(json_safe(json.dumps(doc, ensure_ascii=False, indent=2)) + "\n")
    else:
        for r in results:
            who = r.payload.worker if r.payload is not None else "?"
            where = "" if r.worker_index is None else f" $.workers[{r.worker_index}]"
            text = r.message_zh if args.lang == "zh" else r.message
            print(f"{r.status.value}\t{one_line(who)}{where}\t{one_line(text)}")
    return EXIT_OK if results and all(r.agrees for r in results) else EXIT_DIFFER
