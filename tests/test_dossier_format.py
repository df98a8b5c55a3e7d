"""The dossier format's handling of junk: every problem, with its exact JSON path.

Input goes through :func:`pension_collect.dossier.loads` (and, for the exit
status and output, the CLI in test_cli.py). Every problem's messages are
checked for names and identity numbers, which must never be echoed.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import pension_collect
from pension_collect import dossier as fmt
from pension_collect.errors import DossierFormatError, Problem
from pension_collect.model import Dossier, Employer

EXAMPLE_PATH = Path(pension_collect.__file__).parent / "data" / "example-dossier.json"
EXAMPLE_TEXT = EXAMPLE_PATH.read_text(encoding="utf-8")
EXAMPLE: Dossier = fmt.load(EXAMPLE_PATH)

#: People named in the example (workers, legal representative, contact) and their numbers.
PERSONAL = (
    "张伟",
    "李娜",
    "王强",
    "赵刚",
    "孙丽",
    "371002196503021239",
    "371082197011152423",
    "371083197506203516",
)


def example() -> dict[str, Any]:
    """A fresh, mutable copy of the example dossier's JSON data."""
    data: dict[str, Any] = json.loads(EXAMPLE_TEXT)
    return data


def problems_of(document: dict[str, Any] | list[Any] | str | bytes) -> list[Problem]:
    """The problems reading ``document`` raises (JSON-encoded first when not text)."""
    text = document if isinstance(document, str | bytes) else json.dumps(document)
    with pytest.raises(DossierFormatError) as info:
        fmt.loads(text, source="dossier.json")
    found = list(info.value.problems)
    assert found, "a DossierFormatError without problems"
    for p in found:
        assert p.path.startswith("$"), p
        assert p.message.strip(), p
        assert p.message_zh.strip(), p
        for secret in PERSONAL:
            assert secret not in p.message, (p.path, secret)
            assert secret not in p.message_zh, (p.path, secret)
            assert secret not in str(info.value), (p.path, secret)
    return found


def paths_of(document: dict[str, Any] | list[Any] | str | bytes) -> list[str]:
    """The paths of the problems reading ``document`` raises, in order."""
    return [p.path for p in problems_of(document)]


def changed(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """The example's JSON data after ``mutate`` (which changes it in place)."""
    data = example()
    mutate(data)
    return data


def only(document: dict[str, Any] | list[Any] | str | bytes) -> Problem:
    """The single problem reading ``document`` raises."""
    found = problems_of(document)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


class TestNotADossier:
    """Input that is not a JSON object at all."""

    def test_not_json(self) -> None:
        """Broken JSON is one problem at ``$`` with line and column."""
        p = only('{"format": "pension-collect/dossier",\n  "version": }')
        assert p.path == "$"
        assert p.message.startswith("not valid JSON")
        assert "line 2" in p.message
        assert "第 2 行" in p.message_zh

    def test_empty_file(self) -> None:
        """An empty file is not valid JSON."""
        assert only("").message.startswith("not valid JSON")

    def test_not_utf8(self) -> None:
        """A GBK-encoded file (what Chinese Windows tools write) is "not UTF-8"."""
        p = only(EXAMPLE_TEXT.encode("gbk"))
        assert p.path == "$"
        assert p.message.startswith("not UTF-8 text")
        assert "UTF-8" in p.message_zh

    @pytest.mark.parametrize(
        ("document", "kind"), [("[]", "a list"), ('"x"', "a string"), ("null", "null"), ("1", "")]
    )
    def test_not_an_object(self, document: str, kind: str) -> None:
        """A JSON array, string, null or number is one problem at ``$``."""
        p = only(document)
        assert p.path == "$"
        assert p.message.startswith("a dossier is a JSON object")
        assert kind in p.message

    def test_array_of_dossiers(self) -> None:
        """A list holding a valid dossier is still not a dossier."""
        assert only(json.dumps([example()])).path == "$"


class TestHeader:
    """``format`` and ``version``."""

    def test_wrong_format(self) -> None:
        """Another format name is a problem at ``$.format``."""
        p = only(changed(lambda d: d.update(format="pension-collect/report")))
        assert p.path == "$.format"
        assert "pension-collect/dossier" in p.message

    def test_missing_format(self) -> None:
        """A missing format is a problem at ``$.format``."""
        assert only(changed(lambda d: d.pop("format"))).path == "$.format"

    @pytest.mark.parametrize("version", [2, 0, "1", 1.0, True, None])
    def test_wrong_version(self, version: object) -> None:
        """Any version but the integer 1 is a problem at ``$.version``."""
        p = only(changed(lambda d: d.update(version=version)))
        assert p.path == "$.version"
        assert "1" in p.message
        assert "版本" in p.message_zh

    def test_missing_version(self) -> None:
        """A missing version is a problem at ``$.version`` saying what to write."""
        p = only(changed(lambda d: d.pop("version")))
        assert (p.path, p.message) == ("$.version", "missing; write 1")

    def test_both_wrong(self) -> None:
        """A wrong format and a wrong version are both reported."""
        assert paths_of(changed(lambda d: d.update(format="x", version=2))) == [
            "$.format",
            "$.version",
        ]


def _segment(data: dict[str, Any], worker: int = 0, line: int = 0) -> dict[str, Any]:
    segment: dict[str, Any] = data["workers"][worker]["history"][line]
    return segment


class TestMonthsAndDates:
    """Months are ``"YYYY-MM"``; dates ``"YYYY-MM-DD"``."""

    @pytest.mark.parametrize("month", ["1993-13", "1993-00", "1993-1", "1993/01", "93-01", ""])
    def test_bad_month_string(self, month: str) -> None:
        """A month of the wrong spelling is a problem at its exact path."""
        p = only(changed(lambda d: _segment(d, 0, 1).update(start=month)))
        assert p.path == "$.workers[0].history[1].start"
        assert "YYYY-MM" in p.message_zh

    def test_month_13_says_why(self) -> None:
        """Month 13 is rejected with the allowed range."""
        p = only(changed(lambda d: _segment(d).update(end="1993-13")))
        assert p.path == "$.workers[0].history[0].end"
        assert "01..12" in p.message

    def test_month_as_number(self) -> None:
        """A month written as a number is a problem."""
        p = only(changed(lambda d: d["workers"][2].update(first_work=199501)))
        assert p.path == "$.workers[2].first_work"

    def test_bad_as_of(self) -> None:
        """``as_of`` is a month too."""
        assert only(changed(lambda d: d.update(as_of="2013-8"))).path == "$.as_of"

    def test_impossible_birth_date(self) -> None:
        """A date that does not exist is a problem at ``birth_date``."""
        p = only(changed(lambda d: d["workers"][1].update(birth_date="1970-02-30")))
        assert p.path == "$.workers[1].birth_date"
        assert "calendar" in p.message

    def test_month_in_the_bureau_block(self) -> None:
        """A bad month inside the bureau's history is located there."""
        p = only(changed(lambda d: d["workers"][0]["bureau"]["history"][0].update(start="1983-7")))
        assert p.path == "$.workers[0].bureau.history[0].start"


class TestMoney:
    """Money is a decimal string with at most two places; never a JSON number."""

    @pytest.mark.parametrize("amount", [491.4, 0, 491, -1.5])
    def test_json_number(self, amount: float) -> None:
        """A JSON float or int where money belongs is a problem saying to quote it."""
        p = only(changed(lambda d: _segment(d, 0, 1).update(total=amount)))
        assert p.path == "$.workers[0].history[1].total"
        assert "not a JSON number" in p.message
        assert "不能是数字" in p.message_zh

    @pytest.mark.parametrize(
        "amount", ["1.234", "1e3", "1E3", " 12", "12 ", "+12", "1,000.00", "", "00", ".5", "NaN"]
    )
    def test_bad_string(self, amount: str) -> None:
        """A money string that is not plain decimal with two places at most is a problem."""
        p = only(changed(lambda d: _segment(d, 0, 1).update(base=amount)))
        assert p.path == "$.workers[0].history[1].base"
        assert "at most two places" in p.message

    @pytest.mark.parametrize("amount", ["0", "12", "12.3", "453.60", "-1.00"])
    def test_good_string(self, amount: str) -> None:
        """Plain decimal strings are read (a negative one is for the rules to judge)."""
        data = changed(lambda d: _segment(d, 0, 1).update(total=amount))
        history = fmt.loads(json.dumps(data)).workers[0].history
        assert history is not None
        assert str(history[1].total) == amount

    def test_money_in_an_account_year(self) -> None:
        """An account amount as a JSON number is located in the account."""
        p = only(changed(lambda d: d["workers"][1]["account"][3].update(balance=2603.99)))
        assert p.path == "$.workers[1].account[3].balance"

    def test_rate_as_number(self) -> None:
        """A rate is a decimal string too."""
        p = only(changed(lambda d: _segment(d, 0, 1).update(rate=0.03)))
        assert p.path == "$.workers[0].history[1].rate"


def _unknown_key_cases() -> Iterator[tuple[str, Callable[[dict[str, Any]], Any], str]]:
    yield "top", lambda d: d, "$.extra"
    yield "employer", lambda d: d["employer"], "$.employer.extra"
    yield "worker", lambda d: d["workers"][2], "$.workers[2].extra"
    yield "segment", lambda d: d["workers"][1]["history"][1], "$.workers[1].history[1].extra"
    yield "account year", lambda d: d["workers"][0]["account"][16], "$.workers[0].account[16].extra"
    yield "bureau", lambda d: d["workers"][0]["bureau"], "$.workers[0].bureau.extra"
    yield (
        "bureau segment",
        lambda d: d["workers"][0]["bureau"]["history"][0],
        "$.workers[0].bureau.history[0].extra",
    )
    yield (
        "bureau account year",
        lambda d: d["workers"][2]["bureau"]["account"][0],
        "$.workers[2].bureau.account[0].extra",
    )


class TestUnknownKeys:
    """Unknown keys are errors at every level (a typo must not vanish)."""

    @pytest.mark.parametrize(
        ("where", "container", "path"), list(_unknown_key_cases()), ids=lambda v: str(v)
    )
    def test_unknown_key(
        self, where: str, container: Callable[[dict[str, Any]], Any], path: str
    ) -> None:
        """An unknown key is a problem at its own path."""
        p = only(changed(lambda d: container(d).update(extra="x")))
        assert p.path == path, where
        assert "unknown key" in p.message
        assert "未知字段" in p.message_zh

    def test_typo_of_a_known_key(self) -> None:
        """A misspelled optional key is reported, not ignored."""
        p = only(changed(lambda d: _segment(d).update(remarks="机关事业缴费")))
        assert p.path == "$.workers[0].history[0].remarks"

    def test_several_unknown_keys_in_one_object(self) -> None:
        """Each unknown key of one object is its own problem."""
        paths = paths_of(changed(lambda d: d["employer"].update(fax="1", mobile="2")))
        assert sorted(paths) == ["$.employer.fax", "$.employer.mobile"]


class TestRequiredAndValues:
    """Missing keys, null, blank text, values outside an enumeration."""

    @pytest.mark.parametrize(
        ("mutate", "path"),
        [
            (lambda d: d.pop("employer"), "$.employer"),
            (lambda d: d["employer"].pop("unit_no"), "$.employer.unit_no"),
            (lambda d: d["workers"][1].pop("name"), "$.workers[1].name"),
            (lambda d: d["workers"][1].pop("id_number"), "$.workers[1].id_number"),
            (lambda d: d["workers"][2].pop("first_work"), "$.workers[2].first_work"),
            (lambda d: _segment(d, 1, 0).pop("start"), "$.workers[1].history[0].start"),
            (
                lambda d: d["workers"][0]["account"][2].pop("balance"),
                "$.workers[0].account[2].balance",
            ),
        ],
    )
    def test_missing_required_key(self, mutate: Callable[[dict[str, Any]], Any], path: str) -> None:
        """A missing required key is "required but missing" at its path."""
        p = only(changed(mutate))
        assert (p.path, p.message) == (path, "required but missing")
        assert p.message_zh == "必填项缺失"

    @pytest.mark.parametrize(
        ("mutate", "path"),
        [
            (lambda d: d["workers"][0].update(first_work=None), "$.workers[0].first_work"),
            (lambda d: _segment(d).update(end=None), "$.workers[0].history[0].end"),
            (lambda d: d["workers"][0].update(name=None), "$.workers[0].name"),
            (lambda d: d.update(employer=None), "$.employer"),
            (
                lambda d: d["workers"][0]["account"][0].update(year=None),
                "$.workers[0].account[0].year",
            ),
        ],
    )
    def test_null_for_required(self, mutate: Callable[[dict[str, Any]], Any], path: str) -> None:
        """null where a value is required is a problem at its path."""
        p = only(changed(mutate))
        assert p.path == path
        assert "null" in p.message

    def test_null_for_optional_is_absent(self) -> None:
        """null for an optional field reads as absent."""
        data = changed(lambda d: d["workers"][0].update(gender=None, ethnicity=None))
        worker = fmt.loads(json.dumps(data)).workers[0]
        assert (worker.gender, worker.ethnicity) == (None, None)

    @pytest.mark.parametrize(
        ("mutate", "path"),
        [
            (lambda d: d["workers"][1].update(name=""), "$.workers[1].name"),
            (lambda d: d["workers"][1].update(name="  "), "$.workers[1].name"),
            (lambda d: d["workers"][1].update(id_number=" "), "$.workers[1].id_number"),
            (lambda d: d["employer"].update(name=""), "$.employer.name"),
            (lambda d: d["employer"].update(unit_no="\t"), "$.employer.unit_no"),
        ],
    )
    def test_blank_text(self, mutate: Callable[[dict[str, Any]], Any], path: str) -> None:
        """A blank required text is a problem at its path."""
        p = only(changed(mutate))
        assert (p.path, p.message, p.message_zh) == (path, "must be a non-empty string", "不能为空")

    @pytest.mark.parametrize(
        ("mutate", "path", "allowed"),
        [
            (lambda d: d["workers"][0].update(gender="m"), "$.workers[0].gender", "'female'"),
            (lambda d: d["workers"][0].update(gender="男"), "$.workers[0].gender", "'male'"),
            (lambda d: d["workers"][2].update(hukou="城镇"), "$.workers[2].hukou", "'urban'"),
            (
                lambda d: _segment(d).update(category="deemd"),
                "$.workers[0].history[0].category",
                "'deemed'",
            ),
            (
                lambda d: _segment(d, 0, 1).update(source="redbook"),
                "$.workers[0].history[1].source",
                "'red_book'",
            ),
            (
                lambda d: _segment(d, 1, 0).update(employer_kind="government"),
                "$.workers[1].history[0].employer_kind",
                "'institution'",
            ),
            (
                lambda d: _segment(d, 2, 1).update(origin="other-city"),
                "$.workers[2].history[1].origin",
                "'other_city'",
            ),
        ],
    )
    def test_value_outside_the_enumeration(
        self, mutate: Callable[[dict[str, Any]], Any], path: str, allowed: str
    ) -> None:
        """A value outside an enumeration is a problem listing the allowed values."""
        p = only(changed(mutate))
        assert p.path == path
        assert allowed in p.message
        assert allowed in p.message_zh

    def test_enum_value_is_not_echoed(self) -> None:
        """A name or number in an enumerated field (a shifted column) is not quoted back."""
        p = only(changed(lambda d: d["workers"][0].update(hukou="371002196503021239")))
        assert p.path == "$.workers[0].hukou"
        p = only(changed(lambda d: d["workers"][0].update(gender="张伟")))
        assert p.path == "$.workers[0].gender"

    def test_id_number_as_json_number_is_not_echoed(self) -> None:
        """An identity number exported as a number is a problem that does not quote it."""
        data = changed(lambda d: d["workers"][0].update(id_number=371002196503021239))
        p = only(data)
        assert p.path == "$.workers[0].id_number"
        assert "not a number" in p.message
        assert not any(ch.isdigit() for ch in p.message + p.message_zh)

    def test_whole_number_required(self) -> None:
        """A year or month count as a string or boolean is a problem."""
        assert paths_of(
            changed(
                lambda d: (
                    d["workers"][0]["account"][0].update(months="9"),
                    d["workers"][0]["account"][1].update(year=True),
                )
            )
        ) == ["$.workers[0].account[0].months", "$.workers[0].account[1].year"]


class TestShapes:
    """A list where an object belongs and vice versa."""

    @pytest.mark.parametrize(
        ("mutate", "path", "expected"),
        [
            (lambda d: d.update(employer=[]), "$.employer", "must be an object"),
            (lambda d: d.update(workers={}), "$.workers", "must be a list"),
            (lambda d: d["workers"].__setitem__(1, []), "$.workers[1]", "must be an object"),
            (
                lambda d: d["workers"][0].update(history={}),
                "$.workers[0].history",
                "must be a list",
            ),
            (
                lambda d: d["workers"][0].update(account="none"),
                "$.workers[0].account",
                "must be a list",
            ),
            (
                lambda d: d["workers"][0].update(bureau=[]),
                "$.workers[0].bureau",
                "must be an object",
            ),
            (
                lambda d: d["workers"][0]["history"].__setitem__(0, ["1983-07", "1992-12"]),
                "$.workers[0].history[0]",
                "must be an object",
            ),
            (
                lambda d: d["workers"][0]["bureau"].update(account={}),
                "$.workers[0].bureau.account",
                "must be a list",
            ),
            (lambda d: d["employer"].update(name=["x"]), "$.employer.name", "must be a string"),
        ],
    )
    def test_wrong_container(
        self, mutate: Callable[[dict[str, Any]], Any], path: str, expected: str
    ) -> None:
        """A container of the wrong kind is one problem at its path."""
        p = only(changed(mutate))
        assert p.path == path
        assert p.message.startswith(expected)


class TestSeveralProblems:
    """Every problem of a document is reported at once."""

    def test_every_problem_with_its_path(self) -> None:
        """Ten problems in nine objects are ten problems with exact paths."""

        def mutate(d: dict[str, Any]) -> None:
            d["extra"] = 1
            d["employer"]["fax"] = "0631-0000000"
            _segment(d, 0, 1)["total"] = 491.4
            d["workers"][1]["gender"] = "f"
            d["workers"][2]["account"][0]["months"] = "12"
            fourth = copy.deepcopy(d["workers"][0])
            fourth["history"][1]["start"] = "1993-13"
            fourth["name"] = " "  # in the same object as other problems
            fourth["bureau"]["nickname"] = "x"
            fourth["account"][5]["balance"] = 5113.52
            d["workers"].append(fourth)

        problems = problems_of(changed(mutate))
        assert sorted(p.path for p in problems) == sorted(
            [
                "$.extra",
                "$.employer.fax",
                "$.workers[0].history[1].total",
                "$.workers[1].gender",
                "$.workers[2].account[0].months",
                "$.workers[3].history[1].start",
                "$.workers[3].history[1].total",  # copied from worker 0 with its float
                "$.workers[3].name",
                "$.workers[3].bureau.nickname",
                "$.workers[3].account[5].balance",
            ]
        )

    def test_error_text_lists_every_problem(self) -> None:
        """The exception's text counts the problems and gives one line each."""
        data = changed(lambda d: (d.update(extra=1), _segment(d).update(start="1983-13")))
        with pytest.raises(DossierFormatError) as info:
            fmt.loads(json.dumps(data), source="in.json")
        text = str(info.value)
        assert text.startswith("2 problems in in.json")
        assert "\n  $.extra: unknown key" in text
        assert "\n  $.workers[0].history[0].start: month must be 01..12" in text
        assert info.value.source == "in.json"
        assert info.value.code == "dossier.format"

    def test_problems_in_every_worker(self) -> None:
        """The same mistake in each worker is reported once per worker."""
        data = changed(lambda d: [w.update(hukou="city") for w in d["workers"]])
        assert paths_of(data) == [f"$.workers[{i}].hukou" for i in range(3)]


class TestRoundTrip:
    """dump, then load, gives the same dossier."""

    def test_example_round_trip(self) -> None:
        """The example survives dumps/loads unchanged."""
        assert fmt.loads(fmt.dumps(EXAMPLE)) == EXAMPLE

    def test_dumps_is_a_fixed_point(self) -> None:
        """Dumping what was loaded from a dump gives the same text."""
        text = fmt.dumps(EXAMPLE)
        assert fmt.dumps(fmt.loads(text)) == text

    def test_dump_writes_the_header_first_and_money_as_strings(self) -> None:
        """The JSON starts with format and version, keeps Chinese, writes money as strings."""
        data = json.loads(fmt.dumps(EXAMPLE))
        assert list(data)[:4] == ["format", "version", "rule_pack", "as_of"]
        assert (data["format"], data["version"]) == ("pension-collect/dossier", 1)
        assert data["workers"][0]["history"][0]["total"] == "0.00"
        assert data["workers"][0]["history"][1]["rate"] == "0.03"
        assert "张伟" in fmt.dumps(EXAMPLE)
        assert not any(isinstance(v, float) for v in _leaves(data))

    def test_same_data_as_the_example_file(self) -> None:
        """The dumped JSON equals the example file's data, amounts normalised to two places."""
        original = example()
        dumped = json.loads(fmt.dumps(EXAMPLE))
        for worker in (*original["workers"], *(w["bureau"] for w in original["workers"])):
            for segment in worker["history"]:
                segment["total"] = f"{float(segment['total']):.2f}"
        assert dumped == original

    def test_minimal_dossier(self) -> None:
        """A dossier with an employer and nothing else round-trips."""
        minimal = Dossier(employer=Employer(unit_no="1", name="x"))
        assert json.loads(fmt.dumps(minimal)) == {
            "format": "pension-collect/dossier",
            "version": 1,
            "employer": {"unit_no": "1", "name": "x"},
        }
        assert fmt.loads(fmt.dumps(minimal)) == minimal

    def test_load_from_open_files(self, tmp_path: Path) -> None:
        """load reads a path, a binary file and a text file alike."""
        path = tmp_path / "d.json"
        path.write_text(EXAMPLE_TEXT, encoding="utf-8")
        assert fmt.load(path) == EXAMPLE
        assert fmt.load(str(path)) == EXAMPLE
        with path.open("rb") as fh:
            assert fmt.load(fh) == EXAMPLE
        with path.open(encoding="utf-8") as fh:
            assert fmt.load(fh) == EXAMPLE

    def test_load_names_the_file_in_errors(self, tmp_path: Path) -> None:
        """A problem read from a path carries the path as its source."""
        path = tmp_path / "bad.json"
        path.write_text("[]", encoding="utf-8")
        with pytest.raises(DossierFormatError) as info:
            fmt.load(path)
        assert info.value.source == str(path)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


class TestDumpIsAtomic:
    """dump never leaves a half-written file."""

    def _old(self, tmp_path: Path) -> tuple[Path, bytes]:
        path = tmp_path / "dossier.json"
        old = b'{"old": "content"}\n'
        path.write_bytes(old)
        return path, old

    def test_dump_replaces_the_file(self, tmp_path: Path) -> None:
        """dump writes the whole new content and leaves no temporary file."""
        path, _old = self._old(tmp_path)
        fmt.dump(EXAMPLE, path)
        assert fmt.load(path) == EXAMPLE
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dossier.json"]

    def test_unserializable_content_keeps_the_old_file(self, tmp_path: Path) -> None:
        """When the new content cannot be serialized the old file is untouched."""
        path, old = self._old(tmp_path)
        # The constructor refuses it (tests/test_model_shape.py): forced in.
        broken = attrs.evolve(EXAMPLE)
        object.__setattr__(broken, "rule_pack", object())
        with pytest.raises(TypeError):
            fmt.dump(broken, path)
        assert path.read_bytes() == old
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dossier.json"]

    def test_failing_rename_keeps_the_old_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the final rename fails the old file is intact and the temporary one removed."""
        path, old = self._old(tmp_path)

        def refuse(src: Any, dst: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", refuse)
        with pytest.raises(OSError, match="No space left"):
            fmt.dump(EXAMPLE, path)
        assert path.read_bytes() == old
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dossier.json"]

    def test_failing_write_keeps_the_old_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When flushing to disk fails the old file is intact and the temporary one removed."""
        path, old = self._old(tmp_path)

        def fail(fd: int) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "fsync", fail)
        with pytest.raises(OSError, match="Input/output"):
            fmt.dump(EXAMPLE, path)
        assert path.read_bytes() == old
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dossier.json"]

    def test_dump_into_a_missing_directory_fails_cleanly(self, tmp_path: Path) -> None:
        """dump into a directory that does not exist raises and creates nothing."""
        with pytest.raises(FileNotFoundError):
            fmt.dump(EXAMPLE, tmp_path / "missing" / "d.json")
        assert list(tmp_path.iterdir()) == []
