"""Write the hostile-input corpus: dossiers a hostile user or a clumsy clerk
could hand to ``pension-collect`` (issue 10, docs/testing.md "Hostile-input
suite").

    python tests/hostile/make_corpus.py OUT_DIR [--only NAME ...] [--list]

Each case is a file in OUT_DIR (or a special path: ``/dev/zero``, a FIFO the
test feeds without end, a 16 GiB sparse file, a directory ...) together with
what the documented behaviour is: the exit statuses ``validate`` may give
(docs/cli.md: 0 no error finding, 1 an error finding, 2 unusable input), a
text the message must contain to say *where* (a JSON path or the file name),
and secrets that must never be echoed (a shifted column's identity number or
name). ``OUT_DIR/manifest.json`` lists them.

Deterministic (seeded; the same bytes every run), standard library only, and
fast: the whole corpus, about 140 MB on disk of which 50 MB is one name and
16 GiB a sparse hole, is written in a few seconds. It is generated into a
temporary folder by the test, never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BASE_ID", "CASES", "Case", "build", "check_char", "malformed_workers", "segments_doc"]

KIB, MIB = 1 << 10, 1 << 20

#: The one seed: every random choice of the corpus comes from it.
SEED = 20131010


def check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of an 18-character identity number."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights, strict=True)) % 11]


def _id(body17: str) -> str:
    return body17 + check_char(body17)


#: The clean worker's own identity number: shown masked in text output,
#: never whole there (docs/cli.md, "Personal data").
BASE_ID = _id("37100219650302123")
#: A shifted column's data: another person's identity numbers and name, which
#: no output may echo (docs/cli.md: "a value that may be one is not quoted").
SHIFTED_ID = _id("11010519900307851")
SHIFTED_LEGACY = "371002650302123"
SHIFTED_NAME = "欧阳娜娜"


def _find_x_id() -> str:
    """An identity number whose check character is X (a clerk's favourite typo source)."""
    rng = random.Random(SEED)
    while True:
        body = f"371082{rng.randrange(1950, 1990)}0415{rng.randrange(1000):03d}"
        if check_char(body) == "X":
            return body + "X"


SHIFTED_ID_X = _find_x_id()


@dataclass(frozen=True)
class Case:
    """One hostile input and the documented behaviour of the commands on it."""

    name: str
    #: family, for the report: limits, endless, encoding, text, privacy,
    #: shape, numbers, files
    kind: str
    what: str
    #: path relative to the corpus folder, an absolute path (``/dev/zero``),
    #: or ``-`` (standard input, see ``stdin``)
    file: str
    #: exit statuses ``validate`` may give (docs/cli.md)
    exits: tuple[int, ...]
    #: text the output must contain when the input is refused: where it is
    #: (a JSON path such as ``$.workers[0].name``, or the file's name)
    where: str | None = None
    #: strings no output may contain (a shifted column's personal data)
    secrets: tuple[str, ...] = ()
    #: path opened as standard input (relative to the corpus or absolute)
    stdin: str | None = None
    #: ``file`` is a FIFO the test writes zeros into until the reader stops
    feed: bool = False
    #: exit statuses of ``render confirmation FILE --out X``; None: not run
    render: tuple[int, ...] | None = None
    #: also run ``verify FILE PAYLOAD``
    verify: bool = False
    #: a big input: larger rlimits, the JSON and English runs only
    heavy: bool = False
    #: the text output in English as well as Chinese (the default; the
    #: test runs text output for the families whose text is the point)
    both_langs: bool = False
    #: most bytes any one output (stdout or stderr) may hold
    max_output: int = 256 * KIB
    #: extra arguments for ``validate``
    args: tuple[str, ...] = ()
    #: the file's size in bytes once written (filled in by ``build``)
    size: int = field(default=0, compare=False)


# -- building blocks ---------------------------------------------------------

UPPER_SEGMENT = {"start": "1983-07", "end": "1992-12", "total": "0"}


def worker(**changes: object) -> dict[str, object]:
    """The clean worker (no finding at 2013-08), with ``changes`` applied;
    a value of ``...`` removes the key."""
    w: dict[str, object] = {
        "person_no": "37100200001",
        "id_number": BASE_ID,
        "name": "张伟",
        "gender": "male",
        "birth_date": "1965-03-02",
        "hukou": "urban",
        "first_work": "1983-07",
        "history": [
            {
                "start": "1983-07",
                "end": "1992-12",
                "total": "0",
                "category": "deemed",
                "employer_name": "威海第二机床厂",
            }
        ],
        "account": [],
    }
    for key, value in changes.items():
        if value is ...:
            w.pop(key, None)
        else:
            w[key] = value
    return w


def dossier(*workers: dict[str, object], **changes: object) -> dict[str, object]:
    d: dict[str, object] = {
        "format": "pension-collect/dossier",
        "version": 1,
        "as_of": "2013-08",
        "employer": {"unit_no": "10012345", "name": "威海示例机械有限公司"},
        "workers": list(workers) if workers else [worker()],
    }
    for key, value in changes.items():
        if value is ...:
            d.pop(key, None)
        else:
            d[key] = value
    return d


def text(doc: object) -> bytes:
    """JSON as a payroll export writes it: UTF-8, non-ASCII kept."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def ascii_json(doc: object) -> bytes:
    """JSON with every non-ASCII character escaped (``\\ud800`` stays a lone surrogate)."""
    return json.dumps(doc, ensure_ascii=True).encode("ascii")


CLEAN = text(dossier())


# -- the cases ---------------------------------------------------------------

Writer = Callable[[Path], None]
#: name -> (case, writer of its file; None: nothing to write)
_REGISTRY: dict[str, tuple[Case, Writer | None]] = {}


def case(
    data: bytes | Callable[[], bytes] | None = None,
    *,
    write: Writer | None = None,
    **kw: Any,
) -> None:
    """Register a case: its bytes (or a function giving them, for the big
    ones), or ``write``, which makes its file (a FIFO, a directory ...);
    neither when the path is not ours (``/dev/zero``, a missing file)."""
    c = Case(**kw)
    if c.name in _REGISTRY:
        raise ValueError(f"two cases named {c.name}")
    if data is not None:
        payload = data

        def write(path: Path) -> None:
            path.write_bytes(payload() if callable(payload) else payload)

    _REGISTRY[c.name] = (c, write)


def _join(items: Iterator[str] | list[str], sep: str = ", ") -> str:
    return sep.join(items)


def segments_doc(n: int) -> bytes:
    return _raw(dossier(worker(history="@@")), "[" + _join([json.dumps(UPPER_SEGMENT)] * n) + "]")


def _raw(doc: object, raw: str | bytes) -> bytes:
    """``doc`` as JSON with the one value ``"@@"`` replaced by raw JSON text."""
    out = text(doc)
    if out.count(b'"@@"') != 1:
        raise ValueError("one @@ placeholder expected")
    return out.replace(b'"@@"', raw.encode() if isinstance(raw, str) else raw)


def malformed_workers(n: int) -> bytes:
    # The 23 MB file: every worker of the wrong shape.
    one = json.dumps({"id_number": 1, "name": 2, "first_work": 3})
    return _raw(dossier(workers="@@"), "[" + _join([one] * n) + "]")


def _employer_keys(n: int) -> bytes:
    keys = _join(f'"k{i}": 0' for i in range(n))
    return _raw(dossier(employer="@@"), '{"unit_no": "10012345", "name": "威海", ' + keys + "}")


def _sparse(size: int) -> Writer:
    def write(path: Path) -> None:
        with open(path, "wb") as fh:
            fh.truncate(size)

    return write


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()
    (path / "dossier.json").write_bytes(CLEAN)


def _symlink_loop(path: Path) -> None:
    os.symlink(path.name, path)


def _dangling(path: Path) -> None:
    os.symlink("no-such-target.json", path)


def _register() -> None:
    k = "limits"
    case(
        lambda: segments_doc(2_000),
        name="segments-2000",
        kind=k,
        what="one worker with 2,000 identical segments (111 KB; n(n-1)/2 overlap findings)",
        file="segments-2000.json",
        exits=(1, 2),
        render=(0, 2),
        max_output=4 * MIB,
        both_langs=True,
    )
    case(
        lambda: segments_doc(100_000),
        name="segments-100k",
        kind=k,
        what="one worker with 100,000 identical segments (5 MB)",
        file="segments-100k.json",
        exits=(1, 2),
        heavy=True,
        max_output=4 * MIB,
    )
    case(
        lambda: malformed_workers(500_000),
        name="workers-500k-malformed",
        kind=k,
        what='500,000 workers written as {"id_number":1,"name":2,"first_work":3} (23 MB)',
        file="workers-500k-malformed.json",
        exits=(2,),
        where="$.workers",
        heavy=True,
        max_output=2 * MIB,
        both_langs=True,
    )
    case(
        lambda: _employer_keys(1_000_000),
        name="employer-keys-1m",
        kind=k,
        what="1,000,000 unknown employer keys (14 MB)",
        file="employer-keys-1m.json",
        exits=(2,),
        where="$.employer",
        heavy=True,
        max_output=2 * MIB,
        both_langs=True,
    )
    case(
        lambda: text(dossier()).replace(b'"workers": [', b'"workers": [' + b"{}, " * 1_000_000),
        name="workers-1m-empty",
        kind=k,
        what="1,000,000 empty worker objects (3 MB; 3 million missing fields)",
        file="workers-1m-empty.json",
        exits=(2,),
        where="$.workers",
        heavy=True,
        max_output=2 * MIB,
    )
    case(
        lambda: segments_doc(1).replace(
            json.dumps(UPPER_SEGMENT).encode(), b"1, " * 1_000_000 + b"1"
        ),
        name="history-1m-numbers",
        kind=k,
        what="a history of 1,000,001 numbers instead of segments",
        file="history-1m-numbers.json",
        exits=(2,),
        where="$.workers[0].history",
        heavy=True,
        max_output=2 * MIB,
    )
    case(
        lambda: text(dossier(*[worker() for _ in range(5_000)])),
        name="duplicate-id-5000",
        kind=k,
        what="5,000 copies of one worker (person.duplicate-id between every pair?)",
        file="duplicate-id-5000.json",
        exits=(1, 2),
        heavy=True,
        max_output=4 * MIB,
    )
    year = {
        "year": 1996,
        "months": 9,
        "base": "520.00",
        "personal": "187.20",
        "employer_part": "327.60",
        "interest": "0.00",
        "balance": "514.80",
    }
    case(
        text(dossier(worker(account=[year] * 2_000))),
        name="account-year-2000",
        kind=k,
        what="one account year entered 2,000 times (account.duplicate-year between every pair?)",
        file="account-year-2000.json",
        exits=(1, 2),
        max_output=4 * MIB,
    )
    case(
        lambda: _raw(dossier(worker(name="@@")), b'"' + "张".encode() * 17_500_000 + b'"'),
        name="name-50mb",
        kind=k,
        what="a 50 MB name (17.5 million characters)",
        file="name-50mb.json",
        exits=(2,),
        where="$.workers[0].name",
        render=(2,),
        heavy=True,
    )
    case(
        lambda: _raw(dossier(worker(remark="@@")), b'"' + b"x" * 2_000_000 + b'"'),
        name="unknown-key-long-value",
        kind=k,
        what="an unknown key holding a 2 MB string",
        file="unknown-key-long-value.json",
        exits=(2,),
        where="$.workers[0]",
    )
    case(
        lambda: text(dossier()).replace(
            b'"employer": {', b'"employer": {"' + b"K" * 10_000_000 + b'": 1, '
        ),
        name="key-10mb",
        kind=k,
        what="an unknown employer key 10 MB long (would the path quote it whole?)",
        file="key-10mb.json",
        exits=(2,),
        where="$.employer",
        heavy=True,
    )
    case(
        lambda: _raw(
            dossier(worker(history=[{**UPPER_SEGMENT, "remark": "@@"}])),
            b'"' + "备注".encode() * 500_000 + b'"',
        ),
        name="remark-3mb",
        kind=k,
        what="a 3 MB remark on a segment",
        file="remark-3mb.json",
        exits=(1, 2),
        max_output=4 * MIB,
    )
    case(
        lambda: text(dossier()) + b" " * (20 * MIB),
        name="trailing-spaces-20mb",
        kind=k,
        what="a clean dossier followed by 20 MB of spaces",
        file="trailing-spaces-20mb.json",
        exits=(0, 2),
        heavy=True,
    )
    case(
        lambda: text(dossier(worker(history=[{**UPPER_SEGMENT, "base": "9" * 100_000}]))),
        name="money-100k-digits",
        kind=k,
        what="a 100,000-digit amount (a valid decimal string)",
        file="money-100k-digits.json",
        exits=(1, 2),
        render=(0, 2),
    )

    k = "endless"
    case(
        None,
        name="dev-zero",
        kind=k,
        what="validate /dev/zero: endless NUL bytes; the reader stops at its input-size limit",
        file="/dev/zero",
        exits=(2,),
        where="/dev/zero",
        heavy=True,
        verify=True,
        render=(2,),
    )
    case(
        None,
        name="stdin-zero",
        kind=k,
        what="validate - with /dev/zero as standard input",
        file="-",
        stdin="/dev/zero",
        exits=(2,),
        where="<stdin>",
        heavy=True,
    )
    case(
        None,
        name="dev-urandom",
        kind=k,
        what="validate /dev/urandom: endless random bytes",
        file="/dev/urandom",
        exits=(2,),
        where="/dev/urandom",
        heavy=True,
    )
    case(
        write=_fifo,
        name="fifo-endless",
        kind=k,
        what="a FIFO the test writes zeros into without end",
        file="fifo-endless.json",
        feed=True,
        exits=(2,),
        where="fifo-endless.json",
        heavy=True,
    )
    case(
        write=_sparse(16 << 30),
        name="sparse-16g",
        kind=k,
        what="a 16 GiB sparse file (a hole of zeros)",
        file="sparse-16g.json",
        exits=(2,),
        where="sparse-16g.json",
        heavy=True,
        render=(2,),
    )
    case(
        lambda: b"[" * 100_000 + b"]" * 100_000,
        name="nesting-100k",
        kind=k,
        what="100,000 nested lists",
        file="nesting-100k.json",
        exits=(2,),
        where="$",
    )
    case(
        lambda: _raw(dossier(worker(name="@@")), b"[" * 100_000 + b"]" * 100_000),
        name="nesting-in-name",
        kind=k,
        what="a name that is 100,000 nested lists",
        file="nesting-in-name.json",
        exits=(2,),
        where="$",
    )
    case(
        lambda: b'{"a": ' * 200_000 + b"1" + b"}" * 200_000,
        name="nesting-objects-200k",
        kind=k,
        what="200,000 nested objects",
        file="nesting-objects-200k.json",
        exits=(2,),
        where="$",
    )

    k = "encoding"
    case(b"", name="empty", kind=k, what="an empty file", file="empty.json", exits=(2,), where="$")
    case(
        None,
        name="dev-null",
        kind=k,
        what="validate /dev/null",
        file="/dev/null",
        exits=(2,),
        where="/dev/null",
    )
    case(
        b"\xef\xbb\xbf" + CLEAN,
        name="bom-utf8",
        kind=k,
        what="a clean dossier with a UTF-8 byte-order mark (allowed: docs/api.md)",
        file="bom-utf8.json",
        exits=(0,),
        render=(0,),
    )
    case(
        CLEAN.decode().encode("utf-16"),
        name="utf16-bom",
        kind=k,
        what="a clean dossier in UTF-16 with its BOM (Notepad's 'Unicode')",
        file="utf16-bom.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN.decode().encode("utf-16-be"),
        name="utf16-be",
        kind=k,
        what="a clean dossier in UTF-16 big-endian, no BOM",
        file="utf16-be.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN.decode().encode("utf-32"),
        name="utf32",
        kind=k,
        what="a clean dossier in UTF-32",
        file="utf32.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN.decode().encode("gbk"),
        name="gbk",
        kind=k,
        what="a clean dossier in GBK (an old Chinese Excel's CSV-to-JSON)",
        file="gbk.json",
        exits=(2,),
        where="$",
        both_langs=True,
    )
    case(
        _raw(dossier(worker(name="@@")), b'"\xd5\xc5\xce\xb0"'),
        name="gbk-name",
        kind=k,
        what="a UTF-8 file whose one name is in GBK bytes",
        file="gbk-name.json",
        exits=(2,),
        where="$",
    )
    case(
        _raw(dossier(worker(name="@@")), b'"\xed\xa0\x80"'),
        name="cesu-surrogate",
        kind=k,
        what="a surrogate encoded as UTF-8 bytes (ED A0 80, not valid UTF-8)",
        file="cesu-surrogate.json",
        exits=(2,),
        where="$",
    )
    case(
        _raw(dossier(worker(name="@@")), b'"\xc0\xaf"'),
        name="overlong-utf8",
        kind=k,
        what="an overlong UTF-8 encoding of '/' in a name",
        file="overlong-utf8.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN[:40] + b"\x00" * 64 + CLEAN[40:],
        name="nul-bytes",
        kind=k,
        what="NUL bytes in the middle of the document",
        file="nul-bytes.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN[: len(CLEAN) // 2],
        name="truncated",
        kind=k,
        what="a clean dossier cut in half (a copy interrupted)",
        file="truncated.json",
        exits=(2,),
        where="$",
        both_langs=True,
    )
    case(
        CLEAN + b"\n{}",
        name="trailing-garbage",
        kind=k,
        what="a second document after the dossier",
        file="trailing-garbage.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN.replace(b'"version": 1,', b'"version": 1, // a comment\n'),
        name="json-comment",
        kind=k,
        what="a // comment (JSON5 habits)",
        file="json-comment.json",
        exits=(2,),
        where="$",
    )
    case(
        CLEAN.replace(b'"', b"'"),
        name="single-quotes",
        kind=k,
        what="single-quoted strings (Python's repr, not JSON)",
        file="single-quotes.json",
        exits=(2,),
        where="$",
    )

    k = "text"
    case(
        ascii_json(dossier(worker(name="\ud800"))),
        name="lone-surrogate-name",
        kind=k,
        what='a lone surrogate "\\ud800" as a name (validated, then every render failed)',
        file="lone-surrogate-name.json",
        exits=(2,),
        where="$.workers[0].name",
        render=(2,),
        verify=True,
        both_langs=True,
    )
    case(
        ascii_json(
            dossier(employer={"unit_no": "10012345", "name": "威海\udfff", "contact": "\ud83d"})
        ),
        name="lone-surrogate-employer",
        kind=k,
        what="lone surrogates in the employer's name and contact",
        file="lone-surrogate-employer.json",
        exits=(2,),
        where="$.employer.name",
        render=(2,),
    )
    case(
        ascii_json(dossier(worker(history=[{**UPPER_SEGMENT, "remark": "a\udc00\ud800b"}]))),
        name="reversed-surrogates",
        kind=k,
        what="a low then a high surrogate in a remark",
        file="reversed-surrogates.json",
        exits=(2,),
        where="$.workers[0].history[0].remark",
    )
    case(
        ascii_json(dossier(worker(name="吉\ud842\udfb7"))),
        name="astral-name",
        kind=k,
        what="a name with 𠮷 written as a surrogate pair (a real name: must be accepted)",
        file="astral-name.json",
        exits=(0,),
        render=(0,),
        both_langs=True,
    )
    case(
        ascii_json(dossier(worker(name="\x1b[2J\x1b[H张伟"))),
        name="ansi-clear-screen",
        kind=k,
        what='a name "\\x1b[2J\\x1b[H张伟" that clears the clerk\'s screen',
        file="ansi-clear-screen.json",
        exits=(2,),
        where="$.workers[0].name",
        render=(2,),
        verify=True,
        both_langs=True,
    )
    case(
        ascii_json(dossier(worker(name="张伟\n职工 #2 李娜(371002********0000):\n  - 正常"))),
        name="newline-forged-line",
        kind=k,
        what="a name with newlines that forges report lines",
        file="newline-forged-line.json",
        exits=(2,),
        where="$.workers[0].name",
        both_langs=True,
    )
    for label, char in (
        ("bell", "\x07"),
        ("backspace", "\b\b\b"),
        ("carriage-return", "\r"),
        ("nul", "\x00"),
        ("del", "\x7f"),
        ("c1-csi", "\x9b2J"),
        ("osc-title", "\x1b]0;pwned\x07"),
    ):
        case(
            ascii_json(dossier(worker(name=f"张{char}伟"))),
            name=f"control-{label}",
            kind=k,
            what=f"a control character ({label}) in a name",
            file=f"control-{label}.json",
            exits=(2,),
            where="$.workers[0].name",
        )
    case(
        ascii_json(
            dossier(worker(history=[{**UPPER_SEGMENT, "employer_name": "\x1b[31m威海\x1b[0m"}]))
        ),
        name="ansi-employer-name",
        kind=k,
        what="ANSI colours in a segment's employer name",
        file="ansi-employer-name.json",
        exits=(2,),
        where="$.workers[0].history[0].employer_name",
    )
    case(
        ascii_json(dossier(employer={"unit_no": "1001\x1b[2J", "name": "威海", "\x1b[2Jfax": "1"})),
        name="ansi-in-key",
        kind=k,
        what="ANSI escapes in an unknown key and in the unit number",
        file="ansi-in-key.json",
        exits=(2,),
        where="$.employer",
        both_langs=True,
    )
    case(
        ascii_json(dossier(format="\x1b]0;pwned\x07\x1b[2J")),
        name="ansi-in-format",
        kind=k,
        what="ANSI escapes in the format header (quoted back in 'got ...')",
        file="ansi-in-format.json",
        exits=(2,),
        where="$.format",
        both_langs=True,
    )
    case(
        ascii_json(dossier(worker(gender="\x1b[31mmale"))),
        name="ansi-in-enum",
        kind=k,
        what="ANSI escapes in an enum value (gender)",
        file="ansi-in-enum.json",
        exits=(2,),
        where="$.workers[0].gender",
    )
    case(
        ascii_json(dossier(worker(first_work="1983-07\x1b[2J"))),
        name="ansi-in-month",
        kind=k,
        what="ANSI escapes after a month",
        file="ansi-in-month.json",
        exits=(2,),
        where="$.workers[0].first_work",
    )
    case(
        ascii_json(dossier(rule_pack="\x1b[2Jweihai")),
        name="ansi-in-rule-pack",
        kind=k,
        what="ANSI escapes in the dossier's rule pack name (a control character: refused)",
        file="ansi-in-rule-pack.json",
        exits=(2,),
        where="$.rule_pack",
    )
    case(
        CLEAN,
        name="ansi-rule-pack-option",
        kind=k,
        what="--rule-pack with ANSI escapes (an unknown pack is named back)",
        file="ansi-rule-pack-option.json",
        exits=(2,),
        where="pension-collect:",
        args=("--rule-pack", "\x1b[2J\x1b[Hevil"),
    )
    case(
        CLEAN,
        name="ansi-file-name",
        kind=k,
        what="a file whose name holds ANSI escapes",
        file="\x1b[2J\x1b[Hevil.json",
        exits=(0,),
    )
    case(
        b"{not json",
        name="ansi-file-name-bad",
        kind=k,
        what="a broken file whose name holds ANSI escapes (the name is quoted back)",
        file="\x1b]0;pwned\x07bad.json",
        exits=(2,),
        where="bad.json",
        both_langs=True,
    )
    case(
        b"{not json",
        name="non-utf8-file-name",
        kind=k,
        what="a broken file whose name is not UTF-8 (bytes FF FE)",
        file=os.fsdecode(b"\xff\xfe-bad.json"),
        exits=(2,),
        where="-bad.json",
    )
    for label, char in (("rlo", "\u202e"), ("zero-width", "\u200b"), ("line-sep", "\u2028")):
        case(
            ascii_json(dossier(worker(name=f"张{char}伟"))),
            name=f"format-char-{label}",
            kind=k,
            what=f"an invisible format character ({label}) in a name: escaped on the terminal",
            file=f"format-char-{label}.json",
            exits=(0, 1, 2),
            both_langs=True,
        )
    case(
        ascii_json(dossier(worker(name="Z" + "\u0301" * 20_000))),
        name="zalgo-name",
        kind=k,
        what="a letter with 20,000 combining accents",
        file="zalgo-name.json",
        exits=(0, 1, 2),
    )
    case(
        text(dossier(worker(name="   "))),
        name="blank-name",
        kind=k,
        what="a name of spaces",
        file="blank-name.json",
        exits=(2,),
        where="$.workers[0].name",
    )

    k = "privacy"
    shifted = (
        ("first_work", SHIFTED_ID, "an identity number in first_work"),
        ("first_work", SHIFTED_NAME, "a name in first_work"),
        ("birth_date", SHIFTED_ID, "an identity number in birth_date"),
        ("gender", SHIFTED_ID_X, "an identity number ending in X in gender"),
        ("hukou", SHIFTED_NAME, "a name in hukou"),
    )
    for i, (key, value, what) in enumerate(shifted):
        case(
            text(dossier(worker(**{key: value}))),
            name=f"shifted-{key}-{i}",
            kind=k,
            what=f"a shifted column: {what}",
            file=f"shifted-{key}-{i}.json",
            exits=(2,),
            where=f"$.workers[0].{key}",
            secrets=(value,),
            verify=True,
            both_langs=True,
        )
    case(
        text(dossier(worker(history=[{**UPPER_SEGMENT, "start": SHIFTED_ID}]))),
        name="shifted-start-id",
        kind=k,
        what="a shifted column: an identity number in a segment's start month",
        file="shifted-start-id.json",
        exits=(2,),
        where="$.workers[0].history[0].start",
        secrets=(SHIFTED_ID,),
        both_langs=True,
        render=(2,),
    )
    case(
        text(dossier(worker(history=[{**UPPER_SEGMENT, "end": SHIFTED_NAME}]))),
        name="shifted-end-name",
        kind=k,
        what="a shifted column: a name in a segment's end month",
        file="shifted-end-name.json",
        exits=(2,),
        where="$.workers[0].history[0].end",
        secrets=(SHIFTED_NAME,),
        both_langs=True,
    )
    case(
        text(dossier(worker(history=[{**UPPER_SEGMENT, "transferred_on": SHIFTED_LEGACY}]))),
        name="shifted-legacy-id",
        kind=k,
        what="a shifted column: a 15-digit legacy identity number in transferred_on",
        file="shifted-legacy-id.json",
        exits=(2,),
        where="$.workers[0].history[0].transferred_on",
        secrets=(SHIFTED_LEGACY,),
    )
    case(
        text(dossier(worker(history=[{**UPPER_SEGMENT, "total": SHIFTED_ID_X}]))),
        name="shifted-money-id",
        kind=k,
        what="a shifted column: an identity number ending in X in an amount",
        file="shifted-money-id.json",
        exits=(2,),
        where="$.workers[0].history[0].total",
        secrets=(SHIFTED_ID_X,),
        both_langs=True,
    )
    case(
        text(dossier(worker(account=[{**year, "year": SHIFTED_ID}]))),
        name="shifted-year-id",
        kind=k,
        what="a shifted column: an identity number (text) as an account year",
        file="shifted-year-id.json",
        exits=(2,),
        where="$.workers[0].account[0].year",
        secrets=(SHIFTED_ID,),
    )
    case(
        text(dossier(worker(account=[{**year, "months": int(SHIFTED_ID)}]))),
        name="shifted-months-id",
        kind=k,
        what="a shifted column: an identity number (a JSON number) as months",
        file="shifted-months-id.json",
        exits=(1, 2),
        secrets=(SHIFTED_ID,),
        both_langs=True,
    )
    case(
        text(dossier(as_of=SHIFTED_ID)),
        name="shifted-as-of",
        kind=k,
        what="a shifted column: an identity number as the collection month",
        file="shifted-as-of.json",
        exits=(2,),
        where="$.as_of",
        secrets=(SHIFTED_ID,),
    )
    case(
        text(dossier(worker(bureau={"first_work": SHIFTED_NAME, "name": "张伟"}))),
        name="shifted-bureau-name",
        kind=k,
        what="a shifted column in the bureau block: a name as first_work",
        file="shifted-bureau-name.json",
        exits=(2,),
        where="$.workers[0].bureau.first_work",
        secrets=(SHIFTED_NAME,),
    )
    case(
        text(dossier(worker(**{SHIFTED_ID: SHIFTED_NAME}))),
        name="shifted-header-row",
        kind=k,
        what="a header row read as data: an identity number as a key, a name as its value",
        file="shifted-header-row.json",
        exits=(2,),
        where="$.workers[0]",
        secrets=(SHIFTED_ID, SHIFTED_NAME),
        both_langs=True,
    )
    case(
        text(dossier(worker(id_number=SHIFTED_NAME, name=BASE_ID))),
        name="swapped-name-id",
        kind=k,
        what="name and identity number swapped (read: rules report; never echoed whole)",
        file="swapped-name-id.json",
        exits=(1, 2),
        secrets=(BASE_ID,),
        both_langs=True,
    )

    k = "shape"
    for label, doc in (
        ("top-array", b"[]"),
        ("top-string", b'"pension-collect/dossier"'),
        ("top-null", b"null"),
        ("top-number", b"1"),
    ):
        case(
            doc,
            name=label,
            kind=k,
            what=f"a JSON document that is not an object ({label})",
            file=f"{label}.json",
            exits=(2,),
            where="$",
        )
    case(
        text(dossier(workers={})),
        name="workers-object",
        kind=k,
        what="workers as an object",
        file="workers-object.json",
        exits=(2,),
        where="$.workers",
    )
    case(
        text(dossier(worker(history="1983-07 to 1992-12"))),
        name="history-string",
        kind=k,
        what="a history written as a sentence",
        file="history-string.json",
        exits=(2,),
        where="$.workers[0].history",
    )
    case(
        CLEAN.replace('"name": "张伟"'.encode(), '"name": "李娜", "name": "张伟"'.encode()),
        name="duplicate-key",
        kind=k,
        what="a duplicated key (documented: the last value is kept)",
        file="duplicate-key.json",
        exits=(0,),
    )
    case(
        text(dossier(worker(name=None, id_number=None, first_work=None))),
        name="nulls",
        kind=k,
        what="null for every required field of a worker",
        file="nulls.json",
        exits=(2,),
        where="$.workers[0].name",
    )
    case(
        text(dossier(employer=...)),
        name="no-employer",
        kind=k,
        what="no employer",
        file="no-employer.json",
        exits=(2,),
        where="$.employer",
    )
    case(
        text(dossier(version="1")),
        name="version-string",
        kind=k,
        what='version "1" (a string)',
        file="version-string.json",
        exits=(2,),
        where="$.version",
    )
    case(
        text(dossier(version=True)),
        name="version-true",
        kind=k,
        what="version true (a bool is an int in Python)",
        file="version-true.json",
        exits=(2,),
        where="$.version",
    )
    case(
        text(dossier(version=1.0)),
        name="version-float",
        kind=k,
        what="version 1.0",
        file="version-float.json",
        exits=(2,),
        where="$.version",
    )

    k = "numbers"
    case(
        CLEAN.replace(b'"version": 1', b'"version": NaN'),
        name="nan-version",
        kind=k,
        what="NaN as the version",
        file="nan-version.json",
        exits=(2,),
        where="$",
    )
    case(
        text(dossier(worker(account=[{**year, "year": "@@"}]))).replace(b'"@@"', b"NaN"),
        name="nan-year",
        kind=k,
        what="NaN as an account year",
        file="nan-year.json",
        exits=(2,),
        where="$.workers[0].account[0]",
    )
    case(
        text(dossier(worker(account=[{**year, "months": "@@"}]))).replace(b'"@@"', b"Infinity"),
        name="infinity-months",
        kind=k,
        what="Infinity as months",
        file="infinity-months.json",
        exits=(2,),
        where="$.workers[0].account[0]",
    )
    case(
        text(dossier(worker(account=[{**year, "balance": "@@"}]))).replace(b'"@@"', b"-Infinity"),
        name="minus-infinity-money",
        kind=k,
        what="-Infinity as a balance",
        file="minus-infinity-money.json",
        exits=(2,),
        where="$.workers[0].account[0]",
    )
    case(
        CLEAN.replace(b'"version": 1', b'"version": 1' + b"0" * 5_000),
        name="int-5000-version",
        kind=k,
        what="a 5,001-digit version (over Python's int-to-text limit)",
        file="int-5000-version.json",
        exits=(2,),
        where="$",
    )
    case(
        text(dossier(worker(account=[{**year, "year": "@@"}]))).replace(
            b'"@@"', b"1" + b"9" * 5_000
        ),
        name="int-5000-year",
        kind=k,
        what="a 5,001-digit account year",
        file="int-5000-year.json",
        exits=(2,),
        where="$",
    )
    case(
        text(dossier(worker(account=[{**year, "year": "@@"}]))).replace(
            b'"@@"', b"1" + b"9" * 4_000
        ),
        name="int-4000-year",
        kind=k,
        what="a 4,001-digit account year (under Python's limit: parsed, then refused)",
        file="int-4000-year.json",
        exits=(1, 2),
    )
    case(
        text(dossier(worker(account=[{**year, "balance": "@@"}]))).replace(
            b'"@@"', b"1" + b"0" * 4_000 + b".5"
        ),
        name="float-4000-money",
        kind=k,
        what="a 4,000-digit JSON number as a balance (quoted back whole?)",
        file="float-4000-money.json",
        exits=(2,),
        where="$.workers[0].account[0].balance",
    )
    case(
        text(dossier(worker(account=[{**year, "balance": "@@"}]))).replace(b'"@@"', b"1e400"),
        name="float-overflow-money",
        kind=k,
        what="1e400 as a balance (a float that overflows)",
        file="float-overflow-money.json",
        exits=(2,),
        where="$.workers[0].account[0].balance",
    )
    for label, value in (
        ("exponent", "1e999999999"),
        ("huge-exponent", "1E+99999999999999999"),
        ("nan-text", "NaN"),
        ("arabic-digits", "٤٥٣.٦٠"),
        ("fullwidth-digits", "４５３.６０"),
        ("trailing-newline", "453.60\n"),
    ):
        case(
            text(dossier(worker(history=[{**UPPER_SEGMENT, "base": value}]))),
            name=f"money-{label}",
            kind=k,
            what=f"an amount written {value!r}",
            file=f"money-{label}.json",
            exits=(2,),
            where="$.workers[0].history[0].base",
        )
    case(
        text(dossier(worker(history=[{**UPPER_SEGMENT, "rate": "1E+999999"}]))),
        name="rate-exponent",
        kind=k,
        what="a rate 1E+999999 (formatting it in plain notation is a million digits)",
        file="rate-exponent.json",
        exits=(2,),
        where="$.workers[0].history[0].rate",
    )
    for label, value in (
        ("fullwidth", "１９８３-０７"),
        ("zero", "0000-00"),
        ("short", "1983-7"),
        ("far-future", "9999-12"),
    ):
        case(
            text(dossier(worker(first_work=value))),
            name=f"month-{label}",
            kind=k,
            what=f"a month written {value!r}",
            file=f"month-{label}.json",
            exits=(2,),
            where="$.workers[0].first_work",
        )
    case(
        text(dossier(worker(account=[{**year, "year": -(2**62)}]))),
        name="year-negative-huge",
        kind=k,
        what="an account year of -2**62",
        file="year-negative-huge.json",
        exits=(1, 2),
    )

    k = "files"
    case(
        write=_directory,
        name="directory",
        kind=k,
        what="a directory given as the file",
        file="a-directory",
        exits=(2,),
        where="a-directory",
        render=(2,),
        verify=True,
    )
    case(
        None,
        name="missing",
        kind=k,
        what="a file that does not exist",
        file="no-such-file.json",
        exits=(2,),
        where="no-such-file.json",
        render=(2,),
    )
    case(
        write=_symlink_loop,
        name="symlink-loop",
        kind=k,
        what="a symbolic link to itself",
        file="loop.json",
        exits=(2,),
        where="loop.json",
    )
    case(
        write=_dangling,
        name="dangling-symlink",
        kind=k,
        what="a symbolic link to nothing",
        file="dangling.json",
        exits=(2,),
        where="dangling.json",
    )
    case(
        None,
        name="name-too-long",
        kind=k,
        what="a file name of 300 characters",
        file="x" * 300 + ".json",
        exits=(2,),
        where="xxxxxxxxxx",
    )
    case(
        None,
        name="under-a-file",
        kind=k,
        what="a path through a regular file (empty.json/x.json)",
        file="empty.json/x.json",
        exits=(2,),
        where="x.json",
    )


_register()

#: Every case, in the order of the table.
CASES: tuple[Case, ...] = tuple(c for c, _ in _REGISTRY.values())


def build(out: Path, only: set[str] | None = None) -> list[Case]:
    """Write the corpus (or the cases named in ``only``) into ``out``;
    return the cases with their sizes. ``out`` must exist."""
    made: list[Case] = []
    for c, writer in _REGISTRY.values():
        if only is not None and c.name not in only:
            continue
        size = 0
        if writer is not None:
            path = out / c.file
            writer(path)
            if path.is_file() and not path.is_symlink():
                size = path.stat().st_size
        made.append(Case(**{**asdict(c), "size": size}))
    manifest = [asdict(c) for c in made]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", help="folder to write into (created)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="write only these cases")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list or args.out is None:
        for c in CASES:
            print(f"{c.name:28} {c.kind:9} exit {c.exits}  {c.what}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    made = build(args.out, set(args.only) if args.only else None)
    print(f"{len(made)} cases written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
