"""Text hygiene (docs/dossier.md "Text"): the reader refuses control characters,
line separators, bidirectional controls and unpaired surrogates in text
fields, each a problem at its path; whatever reaches a terminal anyway (data
built through the Python API) is escaped by one helper, and JSON output
writes it as JSON escapes.
"""

from __future__ import annotations

import copy
import datetime
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect.cli import main, one_line
from pension_collect.dossier import example_dossier_text, loads
from pension_collect.errors import DossierFormatError, Problem
from pension_collect.limits import DEFAULT_LIMITS
from pension_collect.rules import check, format_text
from pension_collect.rules.weihai2013 import default_pack
from pension_collect.text import json_safe, printable, refused_character, refused_reason

TODAY = datetime.date(2026, 11, 28)
EXAMPLE: dict[str, Any] = json.loads(example_dossier_text())
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def ascii_json(data: Any) -> str:
    """JSON with every non-ASCII character escaped (how a lone surrogate is written)."""
    return json.dumps(data, ensure_ascii=True)


def named(name: str, field: str = "name") -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    data["workers"][0][field] = name
    return data


def read(data: dict[str, Any]) -> list[Problem]:
    try:
        loads(ascii_json(data))
    except DossierFormatError as exc:
        return list(exc.problems)
    return []


# -- what the reader refuses and accepts ----------------------------------------------------

REFUSED = [
    ("\x1b[2J\x1b[H", "\x1b", 1, "control character U+001B"),
    ("\x00", "\x00", 2, "control character U+0000"),
    ("\x07", "\x07", 2, "control character U+0007"),
    ("\t", "\t", 2, "control character U+0009"),
    ("\n职工 #2", "\n", 2, "control character U+000A"),
    ("\r", "\r", 2, "control character U+000D"),
    ("\x7f", "\x7f", 2, "control character U+007F"),
    ("\x9b2J", "\x9b", 2, "control character U+009B"),
    ("\u2028", "\u2028", 2, "line or paragraph separator U+2028"),
    ("\u2029", "\u2029", 2, "line or paragraph separator U+2029"),
    ("\u202e", "\u202e", 2, "bidirectional formatting character U+202E"),
    ("\u2066", "\u2066", 2, "bidirectional formatting character U+2066"),
    ("\u200f", "\u200f", 2, "bidirectional formatting character U+200F"),
    ("\u061c", "\u061c", 2, "bidirectional formatting character U+061C"),
    ("\ud800", "\ud800", 2, "unpaired surrogate U+D800"),
    ("\udfff\ud800", "\udfff", 2, "unpaired surrogate U+DFFF"),
]


class TestReader:
    @pytest.mark.parametrize(("inserted", "char", "position", "what"), REFUSED)
    def test_a_refused_character_is_a_problem_at_its_path(
        self, inserted: str, char: str, position: int, what: str
    ) -> None:
        name = inserted + "张伟" if position == 1 else "张" + inserted + "伟"
        (p,) = read(named(name))
        assert p.path == "$.workers[0].name"
        assert what in p.message
        assert f"at character {position}" in p.message
        assert "张" not in p.message + p.message_zh
        assert refused_character(name) == position - 1
        assert refused_reason(char)[0] in p.message

    @pytest.mark.parametrize(
        ("field", "path"),
        [
            ("remark", "$.workers[0].history[0].remark"),
            ("employer_name", "$.workers[0].history[0].employer_name"),
        ],
    )
    def test_every_text_field_is_checked(self, field: str, path: str) -> None:
        data = copy.deepcopy(EXAMPLE)
        data["workers"][0]["history"][0][field] = "a\x1b[31mb"
        data["employer"]["address"] = "\u202e威海"
        data["workers"][1]["bureau"] = {"name": "\ud83d"}
        assert [p.path for p in read(data)] == [
            "$.employer.address",
            path,
            "$.workers[1].bureau.name",
        ]

    @pytest.mark.parametrize(
        "name",
        [
            "张伟",
            "ZHANG Wei",
            "买买提·艾力",  # the identity card's middle dot
            "买买提•艾力",  # a look-alike, folded by canonical_name
            "张\u3000伟",  # the ideographic space of printed lists
            "吉\U00020bb7",  # 𠮷, written as a surrogate pair in the JSON
            "\ue000明",  # a private-use rare character
            "张\u200b伟",  # a zero-width space: invisible, harmless, ignored in comparisons
            "Zoe\u0301",  # a combining accent
        ],
    )
    def test_real_names_are_accepted(self, name: str) -> None:
        assert read(named(name)) == []
        assert loads(ascii_json(named(name))).workers[0].name == name

    def test_a_blank_name_is_blank_not_a_bad_character(self) -> None:
        (p,) = read(named("\t"))
        assert p.message == "must be a non-empty string"

    def test_both_paths_of_the_reader_agree(self) -> None:
        """The fast path refuses exactly what the detailed one reports: a
        document it accepted would not be reported, one it refused would be."""
        from pension_collect._fastpath import FastPath
        from pension_collect.dossier import _RECORD_CLASSES
        from pension_collect.model import Dossier

        fast = FastPath(_RECORD_CLASSES, limits=DEFAULT_LIMITS).structure(Dossier)
        samples = [c for c, _, _, _ in REFUSED] + ["张", "\u3000", "\ue000", "\u200b", "x" * 101]
        for text in samples:
            body = named("张" + text)
            del body["format"], body["version"]
            try:
                fast(copy.deepcopy(body))
                refused = False
            except Exception:
                refused = True
            assert refused == bool(read(named("张" + text))), repr(text)


# -- the one terminal escape ----------------------------------------------------------------


class TestPrintable:
    def test_escape_sequences_are_shown_not_obeyed(self) -> None:
        assert printable("\x1b[2J\x1b[H张伟") == "\\x1b[2J\\x1b[H张伟"
        assert printable("a\nb\tc\x9b") == "a\\nb\\tc\\x9b"
        assert printable("\u202e\u2028\ud800\U000e0001") == "\\u202e\\u2028\\ud800\\U000e0001"

    def test_printable_text_is_kept_as_it_is(self) -> None:
        for text in ("张伟", "买买提·艾力", "张\u3000伟", "\ue000明", "Zoe\u0301", "a b", ""):
            assert printable(text) == text

    def test_the_escaped_set_is_unicode_categories_cc_cf_cs_zl_zp(self) -> None:
        """Over every code point: each of the categories escaped, nothing else
        (bar unassigned code points a newer Unicode made format characters)."""
        wrong = []
        for code in range(sys.maxunicode + 1):
            char = chr(code)
            category = unicodedata.category(char)
            escaped = printable(char) != char
            if escaped != (category in ESCAPED_CATEGORIES) and not (escaped and category == "Cn"):
                wrong.append(f"U+{code:04X} {category}")
        assert wrong == []

    def test_the_command_line_uses_the_same_escape(self) -> None:
        for text in ("\x1b[2J", "张\u3000伟", "\ue000", "\u202e", "a\nb"):
            assert one_line(text) == printable(text)

    def test_json_safe_keeps_the_document_and_its_layout(self) -> None:
        value = {"name": "\x1b[2J张\u3000伟\x85\u2028\u202e\ud800\U000e0001", "n": [1, 2]}
        for indent in (None, 2):
            text = json_safe(json.dumps(value, ensure_ascii=False, indent=indent))
            assert json.loads(text) == value
            text.encode("utf-8")  # no lone surrogate left
            assert not any(printable(c) != c for c in text if c != "\n")
            assert text.count("\n") == json.dumps(value, indent=indent).count("\n")


# -- every text output ----------------------------------------------------------------------


def api_dossier(name: str) -> Any:
    """The example with a name built through the Python API (not checked by the reader)."""
    dossier = loads(example_dossier_text())
    worker = attrs.evolve(dossier.workers[0], name=name, gender=None)
    return attrs.evolve(dossier, workers=(worker, *dossier.workers[1:]))


HOSTILE = "\x1b[2J\x1b[H张伟\n职工 #2 李娜:\u202e\ud800"


class TestOutputs:
    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_the_text_report_shows_escapes_and_keeps_its_lines(self, lang: str) -> None:
        dossier = api_dossier(HOSTILE)
        dossier = attrs.evolve(
            dossier,
            workers=(attrs.evolve(dossier.workers[0], history=None), *dossier.workers[1:]),
        )
        report = check(dossier, default_pack(), today=TODAY)
        text = format_text(report, dossier, lang=lang)
        assert "\\x1b[2J\\x1b[H张伟\\n职工 #2 李娜:\\u202e\\ud800" in text
        assert all(printable(line) == line for line in text.split("\n"))
        text.encode("utf-8")
        clean = format_text(
            report,
            attrs.evolve(
                dossier,
                workers=(attrs.evolve(dossier.workers[0], name="张伟"), *dossier.workers[1:]),
            ),
            lang=lang,
        )
        assert text.count("\n") == clean.count("\n")

    def test_an_identity_number_typed_as_the_name_is_masked(self) -> None:
        """Swapped columns: the worker's heading masks a name shaped like an
        identity number, as it masks the identity number."""
        number = "371002196503021239"
        dossier = api_dossier(number)
        report = check(dossier, default_pack(), today=TODAY)
        for lang in ("zh", "en"):
            text = format_text(report, dossier, lang=lang)
            assert "371002********1239" in text
            assert number not in text

    def test_the_json_report_escapes_and_round_trips(self) -> None:
        dossier = api_dossier("张伟")
        segment = attrs.evolve(
            dossier.workers[0].history[0], remark=HOSTILE, end=dossier.workers[0].history[1].start
        )
        worker = attrs.evolve(
            dossier.workers[0], history=(segment, *dossier.workers[0].history[1:])
        )
        dossier = attrs.evolve(dossier, workers=(worker,))
        report = check(dossier, default_pack(), today=TODAY)
        remarks = [
            piece.get("remark")
            for f in report.findings
            if isinstance(f.fix, dict)
            for piece in f.fix.get("segments", ())
        ]
        assert HOSTILE in remarks  # the crossing's fix repeats the segment
        for indent in (None, 2):
            text = report.to_json(indent=indent)
            text.encode("utf-8")
            assert "\x1b" not in text
            assert "\u202e" not in text
            assert json.loads(text) == json.loads(json.dumps(report.to_dict()))

    def test_validate_prints_no_escape_sequence(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Unknown keys and a file name holding escape sequences: the problem
        list shows them escaped (keys not at all)."""
        data = copy.deepcopy(EXAMPLE)
        data["employer"]["\x1b[2Jfax"] = "1"
        data["workers"][0]["name"] = "\x1b]0;pwned\x07张伟"
        path = tmp_path / "\x1b[2Jbad.json"
        path.write_text(ascii_json(data), encoding="utf-8")
        for args in (["--lang", "en"], ["--lang", "zh"], ["--format", "json"]):
            assert main(["validate", str(path), *args]) == 2
            out = capsys.readouterr().out
            assert "\x1b" not in out
            assert "\x07" not in out
            assert "$.workers[0].name" in out
        assert "\\x1b[2Jbad.json" in main_text(["validate", str(path), "--lang", "en"], capsys)

    def test_a_lone_surrogate_is_refused_before_any_form(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Issue 10: a lone surrogate validated with exit 0 and then broke every
        render. Now validate, render and verify refuse the file (exit 2, the
        path named) and no PDF or part-file is left."""
        path = tmp_path / "d.json"
        path.write_text(ascii_json(named("\ud800")), encoding="utf-8")
        assert main(["validate", str(path)]) == 2
        assert "$.workers[0].name" in capsys.readouterr().out
        out = tmp_path / "forms.pdf"
        assert main(["render", "summary", str(path), "--out", str(out)]) == 2
        assert "$.workers[0].name" in capsys.readouterr().err
        assert main(["verify", str(path), "PC1/x"]) == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]


def main_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main(argv)
    captured = capsys.readouterr()
    return captured.out + captured.err
