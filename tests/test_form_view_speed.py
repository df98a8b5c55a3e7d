"""The forms' view model and the confirmation forms' digests do not change when
their building gets faster (issue 15): a digest is printed on signed paper as a
QR code, so a changed digest would turn good paper into bad.

Two guards:

- pinned literals: the digests and a hash of the whole view of the bundled
  example dossier (four cut-offs, and its workers with every category left to
  the rule pack), taken from the builder as it was before it was made faster;
- a reference builder written out here, straight from docs/forms.md (the
  attrs constructors, ``str`` of every value, the digest's canonical JSON
  through ``json.dumps``), which the library's view and digests must equal on
  generated workers and bureau records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from pension_collect.model import (
    AccountYear,
    BureauRecord,
    Dossier,
    Segment,
    Worker,
    YearMonth,
    months_between,
)
from pension_collect.ports.forms import forms_input, forms_input_from_workers, printed_digest
from pension_collect.ports.forms.view import (
    AccountLine,
    FormsInput,
    HistoryLine,
    PersonLines,
    WorkerData,
    WorkerSheet,
    worker_key,
)
from pension_collect.rules.derive import place
from pension_collect.rules.pack import RulePack
from pension_collect.testing.strategies import bureau_records, workers
from render_fixtures import example, host

# -- pinned: taken from the builder before it was made faster ----------------------------

#: cut-off -> (printed cut-off, each example worker's digest, SHA-256 of the whole view)
PINNED: dict[str | None, tuple[str | None, tuple[str, str, str], str]] = {
    "pack": (
        "2011-12",
        (
            "AF280680461BDF7C95226ABCA1E2BFEA",
            "59CC0582EC1EA5637DA6775B8AC082D5",
            "E9B3AF55FF73630478E52B40457A079C",
        ),
        "8f643f8ed2b7a1ef814e432c10927404c18c367740e937856182c6e406effef8",
    ),
    None: (
        None,
        (
            "DA03EA6E36C4AC0C9E7AA7E64229D72F",
            "60C31FBC078E90B72CD83B134E40FBCE",
            "3346FE3F12F5A1AA389E2DF12E69CBE0",
        ),
        "208e29a7db33ba510069d8f2e628eaf48906c9116fb793a90042846fc810a2b4",
    ),
    "1998-06": (
        "1998-06",
        (
            "99AB6E36D24B54B8353FC4D419525D22",
            "DCE1ACAC0739D250DF18889309D6A048",
            "8B98A29CF78B0FD8460D94DB1DE44F6B",
        ),
        "3751440dd59dea9a01f652d81b4c6940c4fe90ed76461bd9234b27d8bc121133",
    ),
    "1993-01": (
        "1993-01",
        (
            "981BB31EB3ABCA020C45C18D84ECABCA",
            "9739CA5C0D44F2ACA098149DF3416588",
            "0E3747D1922ECC6394023D18C6C9DFAC",
        ),
        "86959f96a7dcff0209788c4cfe6d4f3fa599401c1918cbf9868148cefdf4fd1f",
    ),
}

#: The example with every segment's category removed (the pack derives them).
PINNED_DERIVED = (
    "2011-12",
    (
        "AF280680461BDF7C95226ABCA1E2BFEA",
        "59CC0582EC1EA5637DA6775B8AC082D5",
        "E9B3AF55FF73630478E52B40457A079C",
    ),
    "8f643f8ed2b7a1ef814e432c10927404c18c367740e937856182c6e406effef8",
)


def _view_text(forms: FormsInput) -> str:
    """Every field of the view (the sheets' bureau sides, keys, withheld
    counts included) as canonical JSON."""
    head = {k: v for k, v in attrs.asdict(forms, recurse=True).items() if k != "workers"}
    sheets = [attrs.asdict(s, recurse=True) for s in forms.workers]
    return json.dumps(
        {"forms": head, "workers": sheets},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _pinned(forms: FormsInput) -> tuple[str | None, tuple[str, ...], str]:
    unit = forms.employer.unit_no
    digests = tuple(printed_digest(unit, forms.print_until, s.collected) for s in forms.workers)
    view = hashlib.sha256(_view_text(forms).encode()).hexdigest()
    return forms.print_until, digests, view


def _pack(dossier: Dossier) -> RulePack:
    return host().rule_pack(dossier.rule_pack)


class TestPinned:
    def test_example_at_each_cut_off(self) -> None:
        """The example's digests and whole view are what they were, at the
        pack's cut-off, none, one clipping a segment, one before the account."""
        dossier = example()
        pack = _pack(dossier)
        for cut, expected in PINNED.items():
            forms = forms_input(dossier, pack=pack, cut_off=cut, declaration_ref="D-1")
            assert _pinned(forms) == expected, cut

    def test_example_with_derived_categories(self) -> None:
        """With no category given the pack derives the ones the example gives:
        the same digests and view."""
        dossier = example()
        stripped = tuple(
            attrs.evolve(
                w,
                history=tuple(attrs.evolve(s, category=None) for s in w.history or ()),
            )
            for w in dossier.workers
        )
        assert any(s.category is not None for w in dossier.workers for s in w.history or ())
        forms = forms_input(
            attrs.evolve(dossier, workers=stripped), pack=_pack(dossier), declaration_ref="D-1"
        )
        assert _pinned(forms) == PINNED_DERIVED

    def test_account_year_printed_only_when_whole(self) -> None:
        """An account year is printed when all of it lies before the cut-off:
        2003 at 2003-12, not at 2003-11 (the example's years run 1996..2012)."""
        dossier = example()
        pack = _pack(dossier)
        for cut, last, withheld in (("2003-11", 2002, 10), ("2003-12", 2003, 9)):
            sheet = forms_input(dossier, pack=pack, cut_off=cut).workers[0]
            assert sheet.collected.account is not None
            assert sheet.collected.account[-1].year == last
            assert sheet.collected.withheld == withheld


# -- the reference builder ------------------------------------------------------------------


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def _ref_history(
    segments: tuple[Segment, ...] | None,
    until: YearMonth | None,
    upper_last: YearMonth | None,
    account_start: YearMonth | None,
) -> tuple[tuple[HistoryLine, ...] | None, int]:
    if segments is None:
        return None, 0
    lines = []
    withheld = 0
    for seg in segments:
        if until is not None and seg.start > until:
            withheld += 1
            continue
        clipped = until is not None and seg.end > until
        end = until if until is not None and clipped else seg.end
        category = seg.category
        if category is None and upper_last is not None and account_start is not None:
            category = place(seg, upper_last=upper_last, account_start=account_start).category
        lines.append(
            HistoryLine(
                start=str(seg.start),
                end=str(end),
                months=months_between(seg.start, end),
                total=None if clipped else _text(seg.total),
                base=_text(seg.base),
                rate=_text(seg.rate),
                category=_text(category),
                source=seg.source.value,
                employer_kind=seg.employer_kind.value,
                origin=_text(seg.origin),
                employer_name=seg.employer_name,
                remark=seg.remark,
                clipped=clipped,
            )
        )
    return tuple(lines), withheld


def _ref_account(
    years: tuple[AccountYear, ...] | None, until: YearMonth | None
) -> tuple[tuple[AccountLine, ...] | None, int]:
    if years is None:
        return None, 0
    # a year is printed when all of it lies before the cut-off
    printed = [y for y in years if until is None or (y.year, 12) <= (until.year, until.month)]
    lines = tuple(
        AccountLine(
            year=y.year,
            months=y.months,
            base=str(y.base),
            personal=str(y.personal),
            employer_part=str(y.employer_part),
            interest=str(y.interest),
            balance=str(y.balance),
        )
        for y in printed
    )
    return lines, len(years) - len(printed)


def _ref_data(
    record: Worker | BureauRecord,
    until: YearMonth | None,
    upper_last: YearMonth | None,
    account_start: YearMonth | None,
) -> WorkerData:
    history, h_withheld = _ref_history(record.history, until, upper_last, account_start)
    account, a_withheld = _ref_account(record.account, until)
    return WorkerData(
        person=PersonLines(
            person_no=record.person_no,
            name=record.name,
            id_number=record.id_number,
            gender=_text(record.gender),
            birth_date=_text(record.birth_date),
            ethnicity=record.ethnicity,
            hukou=_text(record.hukou),
            first_work=_text(record.first_work),
        ),
        history=history,
        account=account,
        withheld=h_withheld + a_withheld,
    )


def _ref_sheets(
    workers: Sequence[Worker],
    until: YearMonth | None,
    upper_last: YearMonth | None,
    account_start: YearMonth | None,
) -> list[WorkerSheet]:
    return [
        WorkerSheet(
            index=i,
            key=worker_key(w.person_no, w.id_number),
            collected=_ref_data(w, until, upper_last, account_start),
            bureau=None
            if w.bureau is None
            else _ref_data(w.bureau, until, upper_last, account_start),
        )
        for i, w in enumerate(workers)
    ]


def _ref_digest(unit_no: str, print_until: str | None, data: WorkerData) -> str:
    """docs/forms.md: the first 128 bits of the SHA-256 of the canonical JSON."""
    p = data.person
    canonical: dict[str, Any] = {
        "v": 1,
        "unit_no": unit_no,
        "print_until": print_until,
        "person": [
            p.person_no,
            p.name,
            p.id_number,
            p.gender,
            p.birth_date,
            p.ethnicity,
            p.hukou,
            p.first_work,
        ],
        "history": None
        if data.history is None
        else [list(attrs.astuple(h, recurse=False)) for h in data.history],
        "account": None
        if data.account is None
        else [list(attrs.astuple(a, recurse=False)) for a in data.account],
    }
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32].upper()


def _month(pack: RulePack, name: str, at: YearMonth) -> YearMonth | None:
    if name not in pack.parameters:
        return None
    value = pack.parameters.get(name, at)
    return value if isinstance(value, YearMonth) else None


_CUT_OFFS = st.sampled_from(
    ["pack", None, "1996-12", "1998-06", "2003-11", "2005-01", "2011-12", "2012-01"]
)


def _with_shared_bureau(worker: Worker) -> Worker:
    """The worker with a bureau record sharing its history and account tuples
    (what a data sync read back gives: the same objects)."""
    return attrs.evolve(
        worker,
        bureau=BureauRecord(
            person_no=worker.person_no,
            id_number=worker.id_number,
            name=worker.name,
            history=worker.history,
            account=worker.account,
        ),
    )


@given(
    ws=st.lists(
        workers(max_segments=6, max_account_years=6)
        | workers().map(_with_shared_bureau)
        | st.builds(
            attrs.evolve,
            workers(max_segments=2, max_account_years=2),
            bureau=bureau_records(),
        ),
        max_size=4,
    ),
    cut=_CUT_OFFS,
    as_of=st.sampled_from([YearMonth(2013, 8), YearMonth(2026, 1)]),
)
def test_view_and_digests_equal_the_reference(
    ws: list[Worker], cut: str | None, as_of: YearMonth
) -> None:
    """Every sheet (both sides, keys, withheld counts; attrs equality checks
    the classes too) and every digest equal the reference builder's, through
    iteration, indexing and slicing."""
    example_dossier = example()
    pack = _pack(example_dossier)
    forms = forms_input_from_workers(
        example_dossier.employer, ws, pack=pack, as_of=as_of, cut_off=cut
    )
    until = _month(pack, "forms_print_until", as_of) if cut == "pack" else None
    if cut not in ("pack", None):
        until = YearMonth.parse(cut)
    assert forms.print_until == (None if until is None else str(until))
    expected = _ref_sheets(
        ws,
        until,
        _month(pack, "upper_box_last_month", as_of),
        _month(pack, "account_start", as_of),
    )
    assert list(forms.workers) == expected
    assert [forms.workers[i] for i in range(len(ws))] == expected
    assert list(forms.workers[1:]) == expected[1:]
    unit = forms.employer.unit_no
    assert [printed_digest(unit, forms.print_until, s.collected) for s in forms.workers] == [
        _ref_digest(unit, forms.print_until, s.collected) for s in expected
    ]


def test_bureau_side_equal_in_value_prints_its_own_text() -> None:
    """The bureau's lines are shared with the collected ones only when they are
    the same objects: an account year equal in value but written otherwise
    ("520.0" == "520.00" as Decimals) prints as the bureau wrote it."""
    dossier = example()
    worker = dossier.workers[0]
    assert worker.account
    assert worker.history
    first = worker.account[0]
    assert str(first.base) == "520.00"
    bureau_year = attrs.evolve(first, base="520.0")
    assert bureau_year == first
    segment = worker.history[1]
    assert segment.rate is not None
    bureau_segment = attrs.evolve(segment, rate=str(segment.rate) + "0")
    assert bureau_segment == segment
    bureau = BureauRecord(
        id_number=worker.id_number,
        history=(worker.history[0], bureau_segment),
        account=(bureau_year, *worker.account[1:]),
    )
    forms = forms_input(
        attrs.evolve(dossier, workers=(attrs.evolve(worker, bureau=bureau),)), pack=_pack(dossier)
    )
    sheet = forms.workers[0]
    assert sheet.bureau is not None
    assert sheet.bureau.account
    assert sheet.bureau.history
    assert sheet.collected.account
    assert sheet.collected.history
    assert (sheet.collected.account[0].base, sheet.bureau.account[0].base) == ("520.00", "520.0")
    assert (sheet.collected.history[1].rate, sheet.bureau.history[1].rate) == ("0.03", "0.030")
