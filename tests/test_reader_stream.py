"""The streaming reader (pension_collect._reader.stream) and checker
(pension_collect.rules.stream) against the in-memory ones: on the same file
the same report (JSON, indented JSON, text), the same findings under any
bounds, the same exit status and output through ``validate --stream``; any
file it does not take is read in memory (the same problems, the same exit)."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pension_collect import dossier as fmt
from pension_collect._reader.stream import NotStreamed, open_streamed
from pension_collect.cli import main
from pension_collect.limits import DEFAULT_LIMITS, Limits
from pension_collect.model import Dossier, Worker, YearMonth
from pension_collect.rules import check, format_text
from pension_collect.rules.stream import check_streamed
from pension_collect.rules.weihai2013 import default_pack
from pension_collect.testing import strategies as pst

TODAY = datetime.date(2026, 11, 28)
PACK = default_pack()

#: Identity numbers to repeat across workers: valid ones, the legacy form of
#: the first (the same person), one ending in X, junk.
POOL = (
    "371002196503021239",
    "371002650302123",
    "11010519491231002X",
    "110105194912310021",
    "not a number",
    "371002196503021238",
)


@st.composite
def repeated_ids(draw: st.DrawFn) -> Dossier:
    """A dossier whose workers share identity numbers (person.duplicate-id)."""
    dossier = draw(pst.dossiers(max_workers=6))
    workers = tuple(
        attrs.evolve(w, id_number=draw(st.sampled_from(POOL))) if draw(st.booleans()) else w
        for w in dossier.workers
    )
    return attrs.evolve(dossier, workers=workers)


DOSSIERS = st.one_of(
    pst.dossiers(mix_in=pst.every_violation_dossiers()),
    repeated_ids(),
    pst.clean_dossiers(max_workers=3),
)
BOUNDS = st.sampled_from(
    [
        DEFAULT_LIMITS,
        Limits(findings=1),
        Limits(findings=3, findings_per_worker=1),
        Limits(findings=5, findings_per_worker=2),
        Limits(findings_per_worker=1),
    ]
)


def write(dossier: Dossier | str, folder: Path) -> Path:
    path = folder / "dossier.json"
    path.write_text(dossier if isinstance(dossier, str) else fmt.dumps(dossier), "utf-8")
    return path


def streamed_report(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[str, str, str, Any]:
    streamed = open_streamed(path, limits)
    with check_streamed(
        streamed.header, streamed.workers(), PACK, today=TODAY, limits=limits
    ) as report:
        names = dict(enumerate(streamed.workers()))
        return (
            report.to_json(),
            report.to_json(indent=2),
            format_text(report, names, lang="en"),
            report.findings,
        )


@given(DOSSIERS, BOUNDS)
def test_the_same_report_as_in_memory(dossier: Dossier, limits: Limits) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write(dossier, Path(tmp))
        loaded = fmt.load(path)
        report = check(loaded, PACK, today=TODAY, limits=limits)
        as_json, indented, text, findings = streamed_report(path, limits)
    assert findings == report.findings
    assert as_json == report.to_json()
    assert indented == report.to_json(indent=2)
    assert text == format_text(report, loaded, lang="en")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = main(list(argv))
    return status, out.getvalue()


@settings(max_examples=10)  # six runs of the command each
@given(st.one_of(pst.dossiers(mix_in=pst.every_violation_dossiers()), repeated_ids()))
def test_validate_stream_prints_what_validate_prints(dossier: Dossier) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(write(dossier, Path(tmp)))
        for extra in ([], ["--format", "json"], ["--lang", "en"]):
            assert run("validate", path, "--stream", *extra) == run("validate", path, *extra)


def _example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fmt.example_dossier_text())
    return data


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def _moved(key: str) -> str:
    """The example with ``key`` written after the workers."""
    data = _example()
    value = data.pop(key)
    data[key] = value
    return _text(data)


def _header_last() -> str:
    data = _example()
    workers = data.pop("workers")
    return _text({"workers": workers, **data})


def _worker_changed(change: Any) -> str:
    data = _example()
    change(data["workers"][1])
    return _text(data)


CASES = {
    "as_of after the workers": _moved("as_of"),
    "employer after the workers": _moved("employer"),
    "header after the workers": _header_last(),
    "a byte-order mark": "\ufeff" + fmt.example_dossier_text(),
}
REFUSED = {
    # Any surrogate escape, even a pair (one character, accepted in memory):
    # yajl would read an unpaired one as "?".
    "a paired surrogate escape": fmt.example_dossier_text().replace(
        '"name": "', '"name": "\\ud842\\udfb7', 1
    ),
    "an unpaired surrogate escape": fmt.example_dossier_text().replace(
        '"name": "', '"name": "\\ud800', 2
    ),
    "a repeated top-level key": fmt.example_dossier_text().replace(
        '"as_of": "2013-08"', '"as_of": "2013-08", "as_of": "2012-01"'
    ),
    "an unknown top-level key": _text({**_example(), "extra": [1, 2]}),
    "an unknown key in a worker": _worker_changed(lambda w: w.update(nmae="x")),
    "a worker's wrong month": _worker_changed(lambda w: w.update(first_work="1990-13")),
    "a worker not an object": _text({**_example(), "workers": [1, *_example()["workers"]]}),
    "the wrong version": fmt.example_dossier_text().replace('"version": 1', '"version": true'),
    "not JSON": fmt.example_dossier_text()[:-20],
    "no employer": _text({k: v for k, v in _example().items() if k != "employer"}),
    "a control character": fmt.example_dossier_text().replace('"name": "', '"name": "\\u001b', 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_files_written_otherwise_are_streamed_alike(case: str, tmp_path: Path) -> None:
    path = write(CASES[case], tmp_path)
    open_streamed(path, DEFAULT_LIMITS)  # taken
    loaded = fmt.load(path)
    report = check(loaded, PACK, today=TODAY)
    as_json, _, text, _ = streamed_report(path)
    assert as_json == report.to_json()
    assert text == format_text(report, loaded, lang="en")


def _not_streamed(path: Path, limits: Limits = DEFAULT_LIMITS) -> bool:
    try:
        streamed = open_streamed(path, limits)
        for _ in streamed.workers():
            pass
    except NotStreamed:
        return True
    return False


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_it_does_not_take_is_read_in_memory(case: str, tmp_path: Path) -> None:
    """The streaming reader refuses; ``validate --stream`` then prints exactly
    what ``validate`` prints (the problems with their paths, or the report
    when the in-memory reader takes the file)."""
    path = write(REFUSED[case], tmp_path)
    assert _not_streamed(path)
    for extra in ([], ["--format", "json"]):
        assert run("validate", str(path), "--stream", *extra) == run("validate", str(path), *extra)


def test_the_limits_hold(tmp_path: Path) -> None:
    path = write(fmt.example_dossier_text(), tmp_path)
    size = path.stat().st_size
    assert not _not_streamed(path)
    for limits in (
        Limits(workers=2),
        Limits(input_bytes=size - 1),
        Limits(segments=1),
        Limits(name_length=2),
        Limits(account_years=1),
    ):
        assert _not_streamed(path, limits), limits
    assert not _not_streamed(path, Limits(input_bytes=size))


def test_workers_are_read_one_at_a_time(tmp_path: Path) -> None:
    """The checker asks for the next worker only when done with the last:
    the reader is never ahead of it by more than one."""
    dossier = fmt.loads(fmt.example_dossier_text())
    given_out: list[int] = []

    def workers() -> Any:
        for i, worker in enumerate(dossier.workers):
            given_out.append(i)
            yield worker

    header = attrs.evolve(dossier, workers=())
    checked: list[int] = []
    pack = PACK.with_rules(())
    original = check_streamed.__globals__["_worker_hits"]

    def spy(view: Any, rules: Any, per_worker: int) -> Any:
        checked.append(view.index)
        assert given_out[-1] == view.index
        return original(view, rules, per_worker)

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(check_streamed.__globals__, "_worker_hits", spy)
        with check_streamed(header, workers(), pack, today=TODAY) as report:
            assert report.worker_count == len(dossier.workers)
    assert checked == list(range(len(dossier.workers)))


def test_validate_streams_standard_input(tmp_path: Path) -> None:
    text = fmt.example_dossier_text()
    path = write(text, tmp_path)
    expected = run("validate", str(path), "--format", "json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))
        assert run("validate", "-", "--stream", "--format", "json") == expected


def test_a_large_file_is_streamed_automatically(tmp_path: Path) -> None:
    from pension_collect.cli import dossier as cli_dossier

    path = write(fmt.example_dossier_text(), tmp_path)
    calls: list[str] = []
    original = cli_dossier._check_streamed

    def spy(*args: Any) -> Any:
        calls.append(args[0])
        return original(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli_dossier, "_check_streamed", spy)
        run("validate", str(path))
        assert calls == []
        patch.setattr(cli_dossier, "STREAM_ABOVE", path.stat().st_size - 1)
        run("validate", str(path))
        assert calls == [str(path)]


def test_duplicates_by_their_one_pass_form() -> None:
    """The fold of person.duplicate-id gives the hits of its check, in its order."""
    rule = PACK.rule("person.duplicate-id")
    first_work = YearMonth.parse("1990-01")
    workers = [
        Worker(id_number=number, name="x", first_work=first_work)
        for number in (*POOL, *POOL[:3], POOL[0], "371002650302123")
    ]
    dossier = attrs.evolve(fmt.loads(fmt.example_dossier_text()), workers=tuple(workers))
    expected = check(dossier, PACK.with_rules(()), today=TODAY).findings
    with tempfile.TemporaryDirectory() as tmp:
        path = write(dossier, Path(tmp))
        _, _, _, findings = streamed_report(path)
    assert findings == expected
    # 1 is 0's legacy form, 6, 7, 9 and 10 repeat 0 or its legacy form, 8 repeats 2.
    assert [(f.path, f.related) for f in findings if f.code == rule.code] == [
        ("$.workers[1]", "$.workers[0]"),
        ("$.workers[6]", "$.workers[0]"),
        ("$.workers[7]", "$.workers[0]"),
        ("$.workers[8]", "$.workers[2]"),
        ("$.workers[9]", "$.workers[0]"),
        ("$.workers[10]", "$.workers[0]"),
    ]


def test_without_ijson_stream_reads_in_memory(tmp_path: Path) -> None:
    """--stream without the fast extra: one line says so, the output is the same."""
    path = str(write(fmt.example_dossier_text(), tmp_path))
    expected = run("validate", path, "--format", "json")
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "pension_collect._reader.stream", None)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["validate", path, "--stream", "--format", "json"])
    assert (status, out.getvalue()) == expected
    assert "--stream needs ijson" in err.getvalue()
