"""The limits of docs/dossier.md "Limits": each bound lets through what is just
under it and refuses what is just over it with a problem at its path; the
reports' caps count what they leave out; the worst inputs of issue 10 finish
within a CPU and memory budget set by rlimits in a child process.
"""

from __future__ import annotations

import copy
import datetime
import io
import json
import os
import resource
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from pension_collect import rules
from pension_collect.dossier import (
    dumps,
    example_dossier_text,
    from_dict,
    load,
    loads,
    read_input,
)
from pension_collect.errors import DossierFormatError, Problem
from pension_collect.limits import DEFAULT_LIMITS, Limits
from pension_collect.model import Dossier, YearMonth
from pension_collect.rules import Hit, Rule, Severity, check, check_worker
from pension_collect.rules.weihai2013 import default_pack

TODAY = datetime.date(2026, 11, 28)
EXAMPLE: dict[str, Any] = json.loads(example_dossier_text())
#: The first segment of the first worker (1983-07..1992-12, total 0): the
#: corpus's "identical segments" are copies of one like it.
SEGMENT: dict[str, Any] = EXAMPLE["workers"][0]["history"][0]
ACCOUNT_YEAR: dict[str, Any] = EXAMPLE["workers"][0]["account"][0]
PACK = default_pack()
EXAMPLE_DOSSIER = loads(example_dossier_text())


def doc(change: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """A copy of the example dossier, changed by ``change``."""
    data = copy.deepcopy(EXAMPLE)
    if change is not None:
        change(data)
    return data


def problems(data: dict[str, Any] | bytes | str, limits: Limits | None = None) -> list[Problem]:
    """The problems of reading ``data``; empty when it reads."""
    text = data if isinstance(data, bytes | str) else json.dumps(data, ensure_ascii=False)
    try:
        loads(text, limits=limits)
    except DossierFormatError as exc:
        return list(exc.problems)
    return []


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def worker(i: int) -> dict[str, Any]:
    """A copy of the example's first worker with its own person number."""
    out = copy.deepcopy(EXAMPLE["workers"][0])
    out["person_no"] = f"P{i}"
    return out


def run_limited(code: str, *, cpu: int, memory_mib: int, timeout: float = 600) -> str:
    """Run ``code`` in a fresh interpreter whose CPU seconds and address space
    are capped by rlimits set in the child; return its standard output.
    Exceeding the CPU limit kills it (SIGXCPU), the memory one makes it fail
    with MemoryError: either fails the test."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        memory = memory_mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=timeout,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return done.stdout


# -- Limits itself -------------------------------------------------------------------------


class TestLimitsObject:
    def test_defaults_are_the_documented_ones(self) -> None:
        """docs/dossier.md's table: the defaults the command line uses."""
        assert (
            Limits(
                input_bytes=128 * 2**20,
                workers=100_000,
                segments=1_000,
                account_years=300,
                name_length=100,
                text_length=1_000,
                number_digits=9,
                amount_digits=15,
                problems=1_000,
                findings_per_worker=100,
                findings=100_000,
            )
            == DEFAULT_LIMITS
        )

    @pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
    def test_every_bound_is_a_positive_whole_number(self, bad: Any) -> None:
        for field in attrs.fields(Limits):
            with pytest.raises(ValueError, match=field.name):
                Limits(**{field.name: bad})

    def test_names_get_the_name_length(self) -> None:
        limits = Limits(name_length=7, text_length=9)
        assert limits.text_length_of("Worker", "name") == 7
        assert limits.text_length_of("Segment", "employer_name") == 7
        assert limits.text_length_of("Segment", "remark") == 9
        assert limits.text_length_of("Worker", "id_number") == 9


# -- input size ------------------------------------------------------------------------------


class TestInputSize:
    TEXT = example_dossier_text().encode("utf-8")

    def test_text_of_the_limit_reads(self) -> None:
        limits = Limits(input_bytes=len(self.TEXT))
        assert loads(self.TEXT, limits=limits).employer.unit_no == "10012345"
        assert loads(self.TEXT.decode("utf-8"), limits=limits).workers

    def test_one_byte_more_is_refused_at_the_root(self) -> None:
        limits = Limits(input_bytes=len(self.TEXT) - 1)
        p = only(problems(self.TEXT, limits))
        assert p.path == "$"
        assert f"larger than {len(self.TEXT) - 1:,} bytes" in p.message
        assert "输入大小上限" in p.message_zh

    def test_a_path_just_under_and_just_over(self, tmp_path: Path) -> None:
        path = tmp_path / "d.json"
        path.write_bytes(self.TEXT)
        assert load(path, limits=Limits(input_bytes=len(self.TEXT))).workers
        with pytest.raises(DossierFormatError) as caught:
            load(path, limits=Limits(input_bytes=len(self.TEXT) - 1))
        assert caught.value.source == str(path)
        assert only(list(caught.value.problems)).path == "$"

    def test_a_huge_regular_file_is_refused_before_it_is_read(self, tmp_path: Path) -> None:
        """A 16 GiB sparse file: refused from its size, nothing read."""
        path = tmp_path / "sparse.json"
        with open(path, "wb") as fh:
            fh.truncate(16 << 30)
        with pytest.raises(DossierFormatError) as caught:
            read_input(path)
        assert "input-size limit" in caught.value.problems[0].message

    def test_an_endless_stream_is_read_only_to_the_limit(self) -> None:
        """A stream that never ends (what /dev/zero and a FIFO are): the reader
        stops one chunk past the limit at most."""

        class Endless(io.RawIOBase):
            given = 0

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> int:
                n = len(buffer)
                buffer[:n] = b"\0" * n
                self.given += n
                return n

        stream = Endless()
        with pytest.raises(DossierFormatError) as caught:
            read_input(stream, limits=Limits(input_bytes=3 * 2**20 + 5))
        assert only(list(caught.value.problems)).path == "$"
        assert 3 * 2**20 + 5 < stream.given <= 4 * 2**20 + 5

    def test_a_text_stream_and_a_short_stream(self) -> None:
        assert read_input(io.StringIO("abc"), limits=Limits(input_bytes=3)) == "abc"
        assert read_input(io.BytesIO(b"abc"), limits=Limits(input_bytes=3)) == b"abc"
        with pytest.raises(DossierFormatError):
            read_input(io.BytesIO(b"abcd"), limits=Limits(input_bytes=3))

    def test_a_fifo_fed_without_end_stops(self, tmp_path: Path) -> None:
        """A FIFO a writer fills without end: read_input returns a refusal,
        and the writer then sees the pipe closed."""
        fifo = tmp_path / "endless.json"
        os.mkfifo(fifo)
        stop = threading.Event()

        def feed() -> None:
            with open(fifo, "wb") as out:
                try:
                    while not stop.is_set():
                        out.write(b" " * 65536)
                except BrokenPipeError:
                    pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            with pytest.raises(DossierFormatError):
                read_input(fifo, limits=Limits(input_bytes=2 * 2**20))
        finally:
            stop.set()
            writer.join(timeout=10)
        assert not writer.is_alive()

    @pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
    def test_dev_zero_through_the_command_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``validate /dev/zero`` stops at the (default) input-size limit: exit 2,
        one problem at $ naming the file."""
        from pension_collect.cli import main

        assert main(["validate", "/dev/zero", "--lang", "en"]) == 2
        out = capsys.readouterr().out
        assert out.startswith("/dev/zero: not a readable dossier, 1 problem")
        assert "$: larger than 134,217,728 bytes" in out


# -- list lengths ----------------------------------------------------------------------------


class TestListLengths:
    def test_workers_just_under_and_just_over(self) -> None:
        data = doc(lambda d: d.update(workers=[worker(i) for i in range(5)]))
        assert problems(data, Limits(workers=5)) == []
        p = only(problems(data, Limits(workers=4)))
        assert p.path == "$.workers"
        assert "holds 5 items; at most 4 are read (limit workers" in p.message
        assert "超过上限 4 项" in p.message_zh

    @pytest.mark.parametrize(
        ("part", "item", "bound"),
        [("history", SEGMENT, "segments"), ("account", ACCOUNT_YEAR, "account_years")],
    )
    @pytest.mark.parametrize("where", ["worker", "bureau"])
    def test_a_workers_lists_and_the_bureaus_copies(
        self, part: str, item: dict[str, Any], bound: str, where: str
    ) -> None:
        def data(n: int) -> dict[str, Any]:
            def change(d: dict[str, Any]) -> None:
                del d["workers"][1:]
                target = d["workers"][0]
                target.update(history=[], account=[], bureau={})
                if where == "bureau":
                    target = target["bureau"]
                target[part] = [dict(item) for _ in range(n)]

            return doc(change)

        limits = Limits(**{bound: 3})
        assert problems(data(3), limits) == []
        p = only(problems(data(4), limits))
        assert p.path == "$.workers[0]." + ("bureau." if where == "bureau" else "") + part
        assert f"holds 4 items; at most 3 are read (limit {bound}" in p.message

    def test_default_segment_limit_on_the_corpus_case(self) -> None:
        """The 2,000 identical segments of issue 10, read with the default
        limits: one problem at the history, nothing examined inside it."""
        data = doc(lambda d: d["workers"][0].update(history=[SEGMENT] * 2_000))
        p = only(problems(data))
        assert p.path == "$.workers[0].history"
        assert "holds 2,000 items; at most 1,000" in p.message
        assert problems(doc(lambda d: d["workers"][0].update(history=[SEGMENT] * 1_000))) == []


# -- text lengths ----------------------------------------------------------------------------


class TestTextLengths:
    CASES = (
        # (set the field, path, which bound)
        (lambda d, v: d["workers"][0].update(name=v), "$.workers[0].name", "name"),
        (lambda d, v: d["employer"].update(contact=v), "$.employer.contact", "name"),
        (lambda d, v: d["employer"].update(name=v), "$.employer.name", "name"),
        (
            lambda d, v: d["workers"][0]["history"][0].update(employer_name=v),
            "$.workers[0].history[0].employer_name",
            "name",
        ),
        (
            lambda d, v: d["workers"][0]["history"][0].update(remark=v),
            "$.workers[0].history[0].remark",
            "text",
        ),
        (lambda d, v: d["employer"].update(address=v), "$.employer.address", "text"),
        (
            lambda d, v: d["workers"][2].update(bureau={"name": v}),
            "$.workers[2].bureau.name",
            "name",
        ),
    )

    @pytest.mark.parametrize(("put", "path", "bound"), CASES)
    def test_just_under_and_just_over(
        self, put: Callable[[dict[str, Any], str], Any], path: str, bound: str
    ) -> None:
        limits = Limits(name_length=12, text_length=30)
        longest = 12 if bound == "name" else 30
        fits = doc(lambda d: put(d, "张" * longest))
        assert problems(fits, limits) == []
        over = doc(lambda d: put(d, "张" * (longest + 1)))
        p = only(problems(over, limits))
        assert p.path == path
        assert f"text of {longest + 1} characters; at most {longest} are read" in p.message
        assert "张" not in p.message + p.message_zh  # the text is not quoted

    def test_default_name_length_on_a_50_mb_name(self) -> None:
        """The corpus's 50 MB name is refused at its path (the input itself is
        under the input-size limit)."""
        data = doc(lambda d: d["workers"][0].update(name="张" * 17_500_000))
        p = only(problems(data))
        assert p.path == "$.workers[0].name"
        assert "text of 17,500,000 characters; at most 100" in p.message

    def test_the_python_api_takes_long_text(self) -> None:
        """Limits bound the reader, not the model: a caller may build a worker
        with a long name, and read it back with a raised limit."""
        long = attrs.evolve(EXAMPLE_DOSSIER.workers[0], name="张" * 1_000)
        text = dumps(attrs.evolve(EXAMPLE_DOSSIER, workers=(long,)))
        assert only(problems(text)).path == "$.workers[0].name"
        assert loads(text, limits=Limits(name_length=1_000)).workers[0].name == "张" * 1_000


# -- numbers -------------------------------------------------------------------------------


class TestNumbers:
    def test_whole_numbers_just_under_and_just_over(self) -> None:
        def months(value: int) -> dict[str, Any]:
            return doc(lambda d: d["workers"][0]["account"][0].update(months=value))

        limits = Limits(number_digits=4)
        for fits in (9999, -9999, 12):
            assert [p.path for p in problems(months(fits), limits) if "digits" in p.message] == []
        for over in (10_000, -10_000):
            p = only(problems(months(over), limits))
            assert p.path == "$.workers[0].account[0].months"
            assert p.message.startswith("a whole number of 5 digits; at most 4 digits are read")
            assert str(over) not in p.message + p.message_zh

    def test_an_identity_number_as_months_is_not_quoted(self) -> None:
        number = 110105199003078512
        data = doc(lambda d: d["workers"][0]["account"][0].update(months=number))
        p = only(problems(data))
        assert p.path == "$.workers[0].account[0].months"
        assert "a whole number of 18 digits" in p.message
        assert str(number) not in p.message + p.message_zh

    def test_rules_do_not_quote_such_a_number_either(self) -> None:
        """Through the Python API (no reader): account.months and
        account.duplicate-year give the number's size, not the number."""
        number = 110105199003078512
        first = attrs.evolve(EXAMPLE_DOSSIER.workers[0].account[0], months=number, year=number)
        worker = attrs.evolve(EXAMPLE_DOSSIER.workers[0], account=(first, first))
        found = check_worker(worker, pack=PACK, as_of=YearMonth(2013, 8), today=TODAY)
        shown = {f.code: (f.message, f.message_zh) for f in found}
        assert "not a 18-digit number" in shown["account.months"][0]
        assert "一个 18 位数" in shown["account.months"][1]
        assert "The year a 18-digit number is entered twice" in shown["account.duplicate-year"][0]
        assert all(str(number) not in en + zh for en, zh in shown.values())

    def test_amounts_just_under_and_just_over(self) -> None:
        def base(value: str) -> dict[str, Any]:
            return doc(lambda d: d["workers"][0]["history"][1].update(base=value))

        limits = Limits(amount_digits=6)
        assert problems(base("999999.99"), limits) == []
        assert problems(base("-999999"), limits) == []
        p = only(problems(base("1000000"), limits))
        assert p.path == "$.workers[0].history[1].base"
        assert p.message.startswith("an amount of 7 digits before the point; at most 6")
        p = only(problems(base("9" * 100_000)))  # the corpus's 100,000-digit amount
        assert "an amount of 100,000 digits" in p.message


# -- problems listed -------------------------------------------------------------------------


def _broken_workers(n: int) -> dict[str, Any]:
    """``n`` workers written as the corpus writes them: three problems each."""
    return doc(lambda d: d.update(workers=[{"id_number": 1, "name": 2, "first_work": 3}] * n))


class TestProblemsListed:
    def test_just_the_cap_lists_them_all(self) -> None:
        """Two broken workers: six problems, all listed with a cap of six."""
        found = problems(_broken_workers(2), Limits(problems=6))
        assert [p.path for p in found] == [
            "$.workers[0].id_number",
            "$.workers[0].name",
            "$.workers[0].first_work",
            "$.workers[1].id_number",
            "$.workers[1].name",
            "$.workers[1].first_work",
        ]

    def test_one_more_is_counted_in_a_last_problem(self) -> None:
        found = problems(_broken_workers(2), Limits(problems=5))
        assert len(found) == 6
        assert [p.path for p in found[:5]] == [
            "$.workers[0].id_number",
            "$.workers[0].name",
            "$.workers[0].first_work",
            "$.workers[1].id_number",
            "$.workers[1].name",
        ]
        last = found[-1]
        assert last.path == "$"
        assert last.message.startswith("1 more problems not listed: the reader lists the first 5")
        assert "1 处问题未列出" in last.message_zh

    def test_items_past_the_cap_are_counted_not_examined(self) -> None:
        """100 broken workers, a cap of 10: the reader stops examining after the
        cap and says how many more there are at least (each unexamined worker
        is one at least: 100 workers, 300 problems in truth)."""
        found = problems(_broken_workers(100), Limits(problems=10))
        assert len(found) == 11
        assert all(p.path.startswith("$.workers[") for p in found[:10])
        message = found[-1].message
        assert message.startswith("at least ")
        at_least = int(message.split()[2].replace(",", ""))
        assert 10 + at_least <= 300
        # The workers after the fourth (each has three problems) are counted:
        # 96 of them, at least one problem each.
        assert at_least >= 96

    def test_unknown_keys_past_the_cap(self) -> None:
        data = doc(lambda d: d["employer"].update({f"k{i:03d}": 1 for i in range(50)}))
        found = problems(data, Limits(problems=20))
        assert [p.path for p in found[:20]] == [f"$.employer.k{i:03d}" for i in range(20)]
        assert found[-1].message.startswith("30 more problems not listed")

    def test_a_million_unknown_keys_and_500k_broken_workers_in_bounds(self) -> None:
        """The corpus's 1,000,000 unknown employer keys (14 MB; 1.8 GB before)
        and 100,000 broken workers (as many as the default limit reads; the
        500,000 of the corpus are refused by it unexamined) are refused with
        1,001 problems each, in a child limited to 30 CPU seconds and 1.5 GB
        of address space."""
        out = run_limited(
            """
            import json
            from pension_collect.dossier import loads, example_dossier_text
            from pension_collect.errors import DossierFormatError
            example = json.loads(example_dossier_text())
            unknown = {f"k{i}": 1 for i in range(1_000_000)}
            keys = dict(example, employer=dict(example["employer"], **unknown))
            bad = {"id_number": 1, "name": 2, "first_work": 3}
            broken = dict(example, workers=[bad] * 100_000)
            too_many = dict(example, workers=[bad] * 500_000)
            for data in (keys, broken, too_many):
                text = json.dumps(data).encode()
                del data
                try:
                    loads(text)
                except DossierFormatError as exc:
                    print(len(exc.problems), exc.problems[-1].path, exc.problems[-1].message[:40])
            """,
            cpu=30,
            memory_mib=1536,
        )
        lines = out.splitlines()
        assert lines[0] == "1001 $ 999,000 more problems not listed: the re"
        assert lines[1].startswith("1001 $ at least ")
        assert lines[2].startswith("1 $.workers holds 500,000 items")


# -- findings listed -------------------------------------------------------------------------


def _noisy(n: int, severity: Severity, code: str = "test.noisy") -> Rule:
    """A rule giving ``n`` hits per worker."""

    def noisy(view: rules.WorkerView) -> Iterator[Hit]:
        for _ in range(n):
            yield Hit(path=view.path)

    return Rule(code=code, severity=severity, message="m", message_zh="m", check=noisy)


class TestFindingsListed:
    def test_per_worker_just_the_cap(self) -> None:
        pack = PACK.with_rules([_noisy(5, Severity.WARNING)])
        report = check(EXAMPLE_DOSSIER, pack, today=TODAY, limits=Limits(findings_per_worker=5))
        assert [f.code for f in report.findings] == ["test.noisy"] * 15
        assert report.ok

    def test_per_worker_one_more_is_summarized(self) -> None:
        pack = PACK.with_rules([_noisy(6, Severity.WARNING)])
        report = check(EXAMPLE_DOSSIER, pack, today=TODAY, limits=Limits(findings_per_worker=5))
        for i in range(3):
            found = report.for_worker(i)
            assert [f.code for f in found].count("test.noisy") == 5
            (summary,) = [f for f in found if f.code == "rules.too-many-findings"]
            assert summary.path == f"$.workers[{i}]"
            assert summary.severity is Severity.WARNING
            assert summary.message.startswith("1 more findings are not listed")
            assert "at most 5 per worker" in summary.message
        assert report.ok  # only warnings were left out

    def test_an_error_left_out_makes_the_summary_an_error(self) -> None:
        pack = PACK.with_rules(
            [_noisy(5, Severity.WARNING), _noisy(1, Severity.ERROR, "test.error")]
        )
        report = check(EXAMPLE_DOSSIER, pack, today=TODAY, limits=Limits(findings_per_worker=5))
        assert "test.error" not in report.codes()
        assert not report.ok
        assert {f.severity for f in report.findings if f.code == "rules.too-many-findings"} == {
            Severity.ERROR
        }

    def test_the_report_cap(self) -> None:
        """12 findings per worker, 3 workers, a report cap of 20: 20 listed
        (the third worker's cut short), the other 16 counted at $."""
        pack = PACK.with_rules([_noisy(12, Severity.ERROR)])
        limits = Limits(findings_per_worker=50, findings=20)
        report = check(EXAMPLE_DOSSIER, pack, today=TODAY, limits=limits)
        listed = [f for f in report.findings if f.code == "test.noisy"]
        assert len(listed) == 20
        (summary,) = [f for f in report.findings if f.code == "rules.too-many-findings"]
        assert (summary.path, summary.severity) == ("$", Severity.ERROR)
        assert summary.message.startswith(
            "16 more findings are not listed: a report lists at most 20"
        )
        assert len(report.workers) == 3  # every worker is still summarized

    def test_check_worker_is_capped_too(self) -> None:
        pack = PACK.with_rules([_noisy(7, Severity.ERROR)])
        found = check_worker(
            EXAMPLE_DOSSIER.workers[0],
            pack=pack,
            as_of=EXAMPLE_DOSSIER.as_of or YearMonth.of(TODAY),
            today=TODAY,
            limits=Limits(findings_per_worker=3),
        )
        assert [f.code for f in found].count("test.noisy") == 3
        (summary,) = [f for f in found if f.code == "rules.too-many-findings"]
        assert summary.message.startswith("4 more findings")


# -- the worst inputs of issue 10 ------------------------------------------------------------


def _identical(n: int) -> Dossier:
    data = doc(lambda d: d["workers"][0].update(history=[SEGMENT] * n))
    return from_dict(data, limits=Limits(segments=n))


class TestLinearRules:
    def test_2000_identical_segments_give_one_finding_per_neighbour(self) -> None:
        """n(n-1)/2 = 1,999,000 findings before; now the overlap rule gives one
        per segment after the first, and the report lists the first 100."""
        dossier = _identical(2_000)
        everything = check(dossier, PACK, today=TODAY, limits=Limits(findings_per_worker=10_000))
        overlaps = [f for f in everything.findings if f.code == "history.overlap"]
        assert len(overlaps) == 1_999
        assert [(f.path, f.related) for f in overlaps[:2]] == [
            ("$.workers[0].history[1]", "$.workers[0].history[0]"),
            ("$.workers[0].history[2]", "$.workers[0].history[1]"),
        ]
        report = check(dossier, PACK, today=TODAY)
        assert len(report.for_worker(0)) == 101
        (summary,) = [f for f in report.findings if f.code == "rules.too-many-findings"]
        assert summary.message.startswith("1,899 more findings")
        assert summary.severity is Severity.ERROR

    def test_duplicates_are_counted_through_dictionaries(self) -> None:
        """5,000 copies of one worker: one duplicate-id finding per copy after
        the first; 2,000 copies of one account year: one per copy."""
        dossier = from_dict(doc(lambda d: d.update(workers=[worker(i) for i in range(5_000)])))
        report = check(dossier, PACK, today=TODAY)
        assert len([f for f in report.findings if f.code == "person.duplicate-id"]) == 4_999
        years = from_dict(
            doc(lambda d: d["workers"][0].update(account=[ACCOUNT_YEAR] * 2_000)),
            limits=Limits(account_years=2_000),
        )
        everything = check(years, PACK, today=TODAY, limits=Limits(findings_per_worker=10_000))
        assert len([f for f in everything.findings if f.code == "account.duplicate-year"]) == 1_999

    def test_100k_segments_finish_within_a_cpu_budget(self) -> None:
        """One worker with 100,000 identical segments (never finished before):
        read through the Python API with a raised limit, checked and written
        as JSON in a child limited to 20 CPU seconds and 1.5 GB."""
        out = run_limited(
            """
            import datetime, json
            from pension_collect.dossier import from_dict, example_dossier_text
            from pension_collect.limits import Limits
            from pension_collect.rules import check, format_text
            from pension_collect.rules.weihai2013 import default_pack
            data = json.loads(example_dossier_text())
            data["workers"][0]["history"] = [data["workers"][0]["history"][0]] * 100_000
            dossier = from_dict(data, limits=Limits(segments=100_000))
            report = check(dossier, default_pack(), today=datetime.date(2026, 11, 28))
            text = format_text(report, dossier)
            print(len(report.findings), len(report.to_json()) < 16_000_000, len(text) < 100_000)
            """,
            cpu=20,
            memory_mib=1536,
        )
        assert out.split() == ["101", "True", "True"]
