"""The rule pack ``weihai-2013``: the Weihai bureau's 2013 procedure as rules.

Registered through the plugin hook like any third-party pack (this module is
in :data:`pension_collect.plugins.DEFAULT_PLUGINS`). Every code below is
public API, documented in docs/rules.md: never renamed, never reused.
Messages never quote a name or an identity number.
"""

from __future__ import annotations

import functools
import operator
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import credit_code
from ..dossier import segment_to_dict
from ..identity import canonical_id, canonical_name
from ..model import AccountYear, Category, Segment, Source, YearMonth
from .derive import Box, Placement, SegmentKind, split
from .engine import DossierView, WorkerView
from .pack import Hit, Rule, RulePack, Scope, Severity
from .parameters import ParameterError, ParameterSet, load_parameters

__all__ = ["NAME", "PARAMETERS_FILE", "REQUIRED_PARAMETERS", "RULES", "default_pack", "make_pack"]

NAME = "weihai-2013"
PARAMETERS_FILE = Path(__file__).parent / "packs" / NAME / "parameters.toml"
INSTITUTION_REMARK = "机关事业缴费"
_BALANCE_TOLERANCE = Decimal("0.01")

_CATEGORY_ZH = {
    Category.DEEMED: "视同缴费",
    Category.PRE_ACCOUNT: "实行账户前缴费",
    Category.POST_ACCOUNT: "实行账户后缴费",
}


# -- person ---------------------------------------------------------------------------


def _id_error(code: str) -> Any:
    def rule(view: WorkerView) -> Iterator[Hit]:
        error = view.identity_error
        if error is not None and error.code == code:
            yield Hit(path=view.path, field="id_number")

    rule.__name__ = f"check_{code.replace('.', '_').replace('-', '_')}"
    return rule


def id_legacy(view: WorkerView) -> Iterator[Hit]:
    identity = view.identity
    if identity is not None and identity.legacy:
        # The 18-digit form is the person's number: masked here (docs/privacy.md);
        # the fix says how to write it from the 15 digits the clerk has.
        check = identity.number[-1]
        yield Hit(
            path=view.path,
            field="id_number",
            expected=identity.masked,
            fix={
                "action": "to_18",
                "insert": "19",
                "after": 6,
                "append": check,
                "note": "insert 19 after the first six digits and append the check "
                f"character {check}; the full 18-digit form is the report's "
                "workers[].id_number_18",
            },
        )


def gender_mismatch(view: WorkerView) -> Iterator[Hit]:
    identity, gender = view.identity, view.worker.gender
    # A Gender is a StrEnum: compared with the identity's text as its value is.
    if identity is not None and gender is not None and gender != identity.gender:
        yield Hit(
            path=view.path,
            field="gender",
            expected=identity.gender,
            params={"expected": identity.gender, "expected_zh": _GENDER_ZH[identity.gender]},
        )


_GENDER_ZH = {"male": "男", "female": "女"}


def birth_date_mismatch(view: WorkerView) -> Iterator[Hit]:
    identity, declared = view.identity, view.worker.birth_date
    if identity is not None and declared is not None and declared != identity.birth_date:
        yield Hit(
            path=view.path,
            field="birth_date",
            expected=identity.birth_date.isoformat(),
            params={"expected": identity.birth_date.isoformat()},
        )


def first_work_age(view: WorkerView) -> Iterator[Hit]:
    born = view.birth_date
    min_age = view.context.param("minimum_working_age")
    if born is None or min_age is None:
        return
    # The month of the minimum-age birthday; working from that month on is fine.
    allowed_index = (born.year + min_age) * 12 + born.month - 1
    if view.worker.first_work.index < allowed_index:
        yield Hit(
            path=view.path,
            field="first_work",
            params={"age": min_age, "first_work": str(view.worker.first_work)},
        )


def window_only_change(view: WorkerView) -> Iterator[Hit]:
    # Compared as the workflow and the bureau compare them: identity numbers
    # in 18-digit form (a legacy 15-digit number is no change), names through
    # canonical_name (spaces around, full-width forms, middle-dot variants).
    bureau = view.worker.bureau
    if bureau is None:
        return
    worker = view.worker
    if bureau.id_number is not None and not _same_id(bureau.id_number, view):
        yield Hit(
            path=view.path,
            field="id_number",
            params={"field": "identity number", "field_zh": "身份证号码"},
        )
    if (
        bureau.name is not None
        and bureau.name != worker.name
        and canonical_name(bureau.name) != canonical_name(worker.name)
    ):
        yield Hit(path=view.path, field="name", params={"field": "name", "field_zh": "姓名"})


def _same_id(bureau_number: str, view: WorkerView) -> bool:
    return bureau_number == view.worker.id_number or canonical_id(bureau_number) == _key(view)


def _key(view: WorkerView) -> str:
    """The worker's identity in canonical form (the parsed number when it is valid)."""
    identity = view.identity
    return identity.number if identity is not None else canonical_id(view.worker.id_number)


def duplicate_id(view: DossierView) -> Iterator[Hit]:
    first_seen: dict[str, str] = {}
    for worker in view.workers:
        key = _key(worker)
        if key in first_seen:
            yield Hit(path=worker.path, field="id_number", related=first_seen[key])
        else:
            first_seen[key] = worker.path


_ID_18 = re.compile(r"[0-9]{17}[0-9X]").fullmatch


class _DuplicateIds:
    """``person.duplicate-id`` in one pass (the streaming reader's form).

    An 18-character key is kept as one 8-byte integer (17 digits and the check
    character: ``int(digits) * 11 + check``, one to one), in an array indexed
    by worker (-1 for the rare other keys, kept in a dictionary): 8 bytes a
    worker. A bit map of 2**23 bits (1 MiB, whatever the number of workers)
    marks the keys seen; a key whose bit is already set may be a duplicate.
    At the end one scan over the array gathers the workers of those keys only,
    and the hits come in the order ``duplicate_id`` gives them.
    """

    _BITS = 1 << 23

    def __init__(self, view: DossierView) -> None:
        self._keys = array("q")
        self._seen = bytearray(self._BITS // 8)
        self._maybe: set[int] = set()
        self._other: dict[str, int] = {}
        self._hits: list[tuple[int, int]] = []

    def add(self, view: WorkerView) -> None:
        key = _key(view)
        if _ID_18(key) is None:
            self._keys.append(-1)
            if key in self._other:
                self._hits.append((view.index, self._other[key]))
            else:
                self._other[key] = view.index
            return
        number = int(key[:17]) * 11 + (10 if key[17] == "X" else int(key[17]))
        self._keys.append(number)
        bit = (number * 0x9E3779B97F4A7C15 >> 17) & (self._BITS - 1)
        byte, mask = bit >> 3, 1 << (bit & 7)
        if self._seen[byte] & mask:
            self._maybe.add(number)
        else:
            self._seen[byte] |= mask

    def finish(self) -> Iterator[Hit]:
        hits, maybe = self._hits, self._maybe
        first: dict[int, int] = {}
        if maybe:
            for index, number in enumerate(self._keys):
                if number in maybe:
                    if number in first:
                        hits.append((index, first[number]))
                    else:
                        first[number] = index
        hits.sort()
        for index, first_index in hits:
            yield Hit(
                path=f"$.workers[{index}]", field="id_number", related=f"$.workers[{first_index}]"
            )


# -- employer -------------------------------------------------------------------------


def _credit_code_problem(view: DossierView) -> credit_code.InvalidCreditCode | None:
    code = view.dossier.employer.credit_code
    if code is None:
        return None
    try:
        credit_code.validate(code)
    except credit_code.InvalidCreditCode as exc:
        return exc
    return None


class _NoWorkers:
    """The one-pass form of a dossier-scope rule that reads no worker."""

    def __init__(self, check: Callable[[DossierView], Iterable[Hit]], view: DossierView) -> None:
        self._check = check
        self._view = view

    def add(self, view: WorkerView) -> None:
        pass

    def finish(self) -> Iterable[Hit]:
        return self._check(self._view)


def _no_workers(
    check: Callable[[DossierView], Iterable[Hit]],
) -> Callable[[DossierView], _NoWorkers]:
    return functools.partial(_NoWorkers, check)


def employer_credit_code(view: DossierView) -> Iterator[Hit]:
    problem = _credit_code_problem(view)
    if problem is not None and problem.reason != "org-checksum":
        yield Hit(
            path="$.employer",
            field="credit_code",
            params={"reason": problem.message, "reason_zh": problem.message_zh},
        )


def employer_credit_code_org(view: DossierView) -> Iterator[Hit]:
    # A code whose own check character (position 18) is right but whose
    # embedded organization code (GB 11714) fails its check: every issued code
    # we know of passes it, yet a typo cannot produce this, so it is worth a
    # look at the licence, not a block.
    problem = _credit_code_problem(view)
    if problem is not None and problem.reason == "org-checksum":
        yield Hit(path="$.employer", field="credit_code")


# -- history --------------------------------------------------------------------------


def month_order(view: WorkerView) -> Iterator[Hit]:
    for i, s, _ in view.segments:
        if s.end < s.start:
            yield Hit(
                path=view.segment_path(i),
                field="end",
                params={"start": str(s.start), "end": str(s.end)},
            )


def future(view: WorkerView) -> Iterator[Hit]:
    as_of = view.context.as_of
    for i, s, _ in view.segments:
        if s.end > as_of:
            yield Hit(
                path=view.segment_path(i),
                field="end",
                params={"end": str(s.end), "as_of": str(as_of)},
            )


def before_first_work(view: WorkerView) -> Iterator[Hit]:
    first = view.worker.first_work
    for i, s, _ in view.segments:
        if s.start < first:
            yield Hit(
                path=view.segment_path(i),
                field="start",
                params={"start": str(s.start), "first_work": str(first)},
            )


def overlap(view: WorkerView) -> Iterator[Hit]:
    """One finding per segment that shares months with an earlier-starting one.

    In (start, end) order, each segment is compared with the one before it
    that reaches furthest: when any earlier segment overlaps it, that one
    does. So every overlapping segment is reported, once, against a real
    partner, and ``n`` segments give at most ``n - 1`` findings (n log n, by
    sorting), not one per pair.
    """
    history = view.worker.history
    if not history or len(history) < 2:
        return
    # The common case first: each segment in month order and ending before the
    # next one starts. Then the sort below keeps the lines' order and none
    # reaches the next: no finding.
    end = None
    for s in history:
        if s.end < s.start or (end is not None and end >= s.start):
            break
        end = s.end
    else:
        return
    order = sorted(
        (i for i, s in enumerate(history) if s.start <= s.end),
        key=lambda i: (history[i].start, history[i].end, i),
    )
    reach = -1  # the earlier segment that ends latest (ties: the later line)
    for j in order:
        sj = history[j]
        if reach >= 0 and history[reach].end >= sj.start:
            yield Hit(
                path=view.segment_path(j),
                related=view.segment_path(reach),
                params={
                    "from": str(sj.start),
                    "to": str(min(history[reach].end, sj.end)),
                    "other": reach + 1,
                },
            )
        if reach < 0 or sj.end >= history[reach].end:
            reach = j


def _crossing(boundary_param: str, kinds: tuple[SegmentKind, ...], *, after_upper: bool) -> Any:
    def rule(view: WorkerView) -> Iterator[Hit]:
        if after_upper:
            boundary = view.context.param("upper_box_last_month").add(1)
        else:
            boundary = view.context.param(boundary_param)
        account_start = view.context.param("account_start")
        for i, s, placed in view.segments:
            if placed.crosses and placed.kind in kinds and boundary in placed.crosses:
                params = {
                    "start": str(s.start),
                    "end": str(s.end),
                    "last": str(boundary.add(-1)),
                    "first": str(boundary),
                }
                if not after_upper:
                    todo, todo_zh = _ACCOUNT_START_TODO[placed.kind]
                    params["todo"] = todo.format(**params)
                    params["todo_zh"] = todo_zh.format(**params)
                yield Hit(
                    path=view.segment_path(i),
                    fix=_crossing_fix(s, placed, account_start),
                    params=params,
                )

    return rule


#: What history.crosses-account-start asks for, by the kind of segment ([P3.4c/e]).
_ACCOUNT_START_TODO = {
    SegmentKind.ENTERPRISE: (
        "an enterprise period is history only up to {last}; from {first} on it is the "
        "pension account, which the employer does not enter. End the line at {last} (see fix).",
        "企业缴费期间只录入到 {last};{first} 以后属于养老账户,单位不录入。请将本行截止到 {last}(见 fix)。",
    ),
    SegmentKind.TRANSFER: (
        "the transferred-in months up to {last} are pre_account, those from {first} on "
        "post_account. Split it in two (see fix).",
        "转入期间 {last} 及以前为实行账户前缴费,{first} 起为实行账户后缴费。请拆分为两行(见 fix)。",
    ),
}


def _crossing_fix(s: Segment, placed: Placement, account_start: YearMonth) -> dict[str, Any]:
    """The lines that replace a segment running across boundaries: split at each
    boundary it crosses, except that an enterprise segment is cut at the account
    start (its months from then on are the pension account, [P3.4e]). The result
    crosses nothing, so no other rule rejects a piece of it."""
    pieces = [s]
    dropped: Segment | None = None
    for boundary in placed.crosses:  # in month order
        first, second = split(pieces.pop(), boundary)
        pieces.append(first)
        if placed.kind is SegmentKind.ENTERPRISE and boundary == account_start:
            dropped = second
        else:
            pieces.append(second)
    fix: dict[str, Any] = {
        "action": "split" if dropped is None else "cut",
        "segments": [segment_to_dict(p) for p in pieces],
    }
    amount = s.total is not None and pieces[0].total is None
    if dropped is None:
        if amount:
            fix["note"] = "divide the total between the two periods as the handbook shows"
        return fix
    fix["dropped"] = {"start": str(dropped.start), "end": str(dropped.end)}
    fix["note"] = (
        f"the months from {dropped.start} on belong to the pension account, which the "
        "employer does not enter"
        + ("; enter the total of the months kept as the handbook shows" if amount else "")
    )
    return fix


crosses_box = _crossing("upper_box_last_month", (SegmentKind.ENTERPRISE,), after_upper=True)
crosses_account_start = _crossing(
    "account_start", (SegmentKind.ENTERPRISE, SegmentKind.TRANSFER), after_upper=False
)


def category(view: WorkerView) -> Iterator[Hit]:
    for i, s, placed in view.segments:
        if s.category is not None and placed.category is not None and s.category != placed.category:
            yield Hit(
                path=view.segment_path(i),
                field="category",
                expected=placed.category.value,
                params={
                    "given": s.category.value,
                    "expected": placed.category.value,
                    "given_zh": _CATEGORY_ZH[s.category],
                    "expected_zh": _CATEGORY_ZH[placed.category],
                },
            )


def total_required(view: WorkerView) -> Iterator[Hit]:
    for i, s, placed in view.segments:
        if placed.box is Box.UPPER and s.total is None:
            yield Hit(path=view.segment_path(i), field="total", expected="0")


def institution_remark(view: WorkerView) -> Iterator[Hit]:
    for i, s, placed in view.segments:
        if placed.kind is SegmentKind.INSTITUTION and (
            s.remark is None or INSTITUTION_REMARK not in s.remark
        ):
            yield Hit(path=view.segment_path(i), field="remark", expected=INSTITUTION_REMARK)


def institution_range(view: WorkerView) -> Iterator[Hit]:
    first = view.context.param("institution_window_start")
    last = view.context.param("institution_window_end")
    for i, s, placed in view.segments:
        if placed.kind is SegmentKind.INSTITUTION and (s.start < first or s.end > last):
            yield Hit(
                path=view.segment_path(i),
                params={"first": str(first), "last": str(last)},
            )


def enterprise_after_account_start(view: WorkerView) -> Iterator[Hit]:
    start = view.context.param("account_start")
    for i, _s, placed in view.segments:
        if placed.in_account:
            yield Hit(
                path=view.segment_path(i), field="start", params={"account_start": str(start)}
            )


def cross_city_transfer(view: WorkerView) -> Iterator[Hit]:
    cutoff = view.context.param("cross_city_transfer_cutoff")
    for i, s, _ in view.segments:
        if (
            s.source is Source.TRANSFER_IN
            and s.origin is not None
            and s.origin.value == "other_city"
            and s.transferred_on is not None
            and s.transferred_on >= cutoff
        ):
            yield Hit(
                path=view.segment_path(i),
                field="transferred_on",
                params={"transferred_on": str(s.transferred_on), "cutoff": str(cutoff)},
            )


def transfer_date_missing(view: WorkerView) -> Iterator[Hit]:
    for i, s, _ in view.segments:
        if (
            s.source is Source.TRANSFER_IN
            and s.origin is not None
            and s.origin.value == "other_city"
            and s.transferred_on is None
        ):
            yield Hit(path=view.segment_path(i), field="transferred_on")


def transfer_origin_missing(view: WorkerView) -> Iterator[Hit]:
    for i, s, _ in view.segments:
        if s.source is Source.TRANSFER_IN and s.origin is None:
            yield Hit(path=view.segment_path(i), field="origin")


def transfer_fields(view: WorkerView) -> Iterator[Hit]:
    for i, s, _ in view.segments:
        if s.source is not Source.TRANSFER_IN:
            if s.origin is not None:
                yield Hit(path=view.segment_path(i), field="origin", params={"field": "origin"})
            if s.transferred_on is not None:
                yield Hit(
                    path=view.segment_path(i),
                    field="transferred_on",
                    params={"field": "transferred_on"},
                )


def negative_amount(view: WorkerView) -> Iterator[Hit]:
    for i, s, _ in view.segments:
        total, base, rate = s.total, s.base, s.rate
        if total is not None and total < 0:
            yield Hit(path=view.segment_path(i), field="total", params={"field": "total"})
        if base is not None and base < 0:
            yield Hit(path=view.segment_path(i), field="base", params={"field": "base"})
        if rate is not None and rate < 0:
            yield Hit(path=view.segment_path(i), field="rate", params={"field": "rate"})


def _rate_table_active(parameters: ParameterSet, as_of: Any) -> bool:
    return bool(parameters.get("individual_rate_reference", as_of))


def rate_reference(view: WorkerView) -> Iterator[Hit]:
    table = view.context.param("individual_rate_reference") or ()
    for i, s, placed in view.segments:
        if s.rate is None or placed.box is not Box.LOWER:
            continue
        for band in table:
            if band.start <= s.end and s.start <= band.end and band.rate != s.rate:
                yield Hit(
                    path=view.segment_path(i),
                    field="rate",
                    expected=str(band.rate),
                    params={
                        "rate": str(s.rate),
                        "expected": str(band.rate),
                        "start": str(band.start),
                        "end": str(band.end),
                    },
                )
                break


# -- account --------------------------------------------------------------------------


def account_before_start(view: WorkerView) -> Iterator[Hit]:
    start = view.context.param("account_start")
    account = view.worker.account
    if not account:
        return
    years = view.account_years
    first_year, lowest = start.year, min(years)
    if lowest > first_year:
        return  # the common case, without a loop
    months_in_first_year = 12 - start.month + 1
    # The other common case: the account's first year collected once and no
    # year before it, so that only its months can be wrong.
    if (
        lowest == first_year
        and years.count(first_year) == 1
        and account[years.index(first_year)].months <= months_in_first_year
    ):
        return
    for i, y in view.years:
        if y.year < start.year or (y.year == start.year and y.months > months_in_first_year):
            yield Hit(
                path=view.account_path(i),
                field="year" if y.year < start.year else "months",
                params={
                    "year": y.year,
                    "account_start": str(start),
                    "months": months_in_first_year,
                },
            )


def _number(name: str, value: int) -> dict[str, str]:
    """``name`` and ``name_zh`` for a message: the number when it can be a
    count or a year, else only its size (an identity number typed into the
    wrong column is personal data)."""
    if -100_000 < value < 100_000:
        return {name: str(value), f"{name}_zh": str(value)}
    digits = len(str(abs(value))) if abs(value) < 10**4000 else "thousands of"
    return {name: f"a {digits}-digit number", f"{name}_zh": f"一个 {digits} 位数"}


_MONTHS = operator.attrgetter("months")


def account_months(view: WorkerView) -> Iterator[Hit]:
    account = view.worker.account
    if not account:
        return
    months = list(map(_MONTHS, account))
    if min(months) >= 1 and max(months) <= 12:
        return  # the common case, without a loop in Python
    for i, y in view.years:
        if not 1 <= y.months <= 12:
            yield Hit(path=view.account_path(i), field="months", params=_number("months", y.months))


def account_duplicate_year(view: WorkerView) -> Iterator[Hit]:
    years = view.account_years
    if len(set(years)) == len(years):
        return
    seen: dict[int, int] = {}
    for i, y in view.years:
        if y.year in seen:
            yield Hit(
                path=view.account_path(i),
                field="year",
                related=view.account_path(seen[y.year]),
                params=_number("year", y.year),
            )
        else:
            seen[y.year] = i


def account_balance(view: WorkerView) -> Iterator[Hit]:
    account = view.worker.account
    if not account or len(account) < 2:
        return  # no year with its previous year collected
    years = view.account_years
    if years != sorted(set(years)):
        yield from _account_balance_unordered(view, account, years)
        return
    # The common case, each year after the one before it: one pass, no pairs
    # built. The same sum, in the same order, as the other case's.
    before, last_year = account[0], years[0]
    for i in range(1, len(account)):
        y = account[i]
        year = years[i]
        # Only a year whose previous year is collected: the first account year's
        # opening balance is unknown (a transfer may have brought one), and so is
        # a year's after a gap. The sheet calculates nothing ([P3.4e]).
        if last_year == year - 1:
            expected = sum((y.personal, y.employer_part, y.interest), before.balance)
            balance = y.balance
            if expected != balance and abs(expected - balance) > _BALANCE_TOLERANCE:
                yield _balance_hit(view, i, year, expected)
        before, last_year = y, year


def _account_balance_unordered(
    view: WorkerView, account: tuple[AccountYear, ...], years: list[int]
) -> Iterator[Hit]:
    """``account.balance`` where years are out of order or repeated: each
    year's previous year is looked up (the first line of a repeated year)."""
    by_year: dict[int, tuple[int, AccountYear]] = {}
    for i, y in enumerate(account):
        by_year.setdefault(y.year, (i, y))
    for year, (i, y) in sorted(by_year.items()):
        found = by_year.get(year - 1)
        if found is None:
            continue
        before = found[1]
        expected = sum((y.personal, y.employer_part, y.interest), before.balance)
        if expected != y.balance and abs(expected - y.balance) > _BALANCE_TOLERANCE:
            yield _balance_hit(view, i, year, expected)


def _balance_hit(view: WorkerView, i: int, year: int, expected: Decimal) -> Hit:
    shown = format(expected, ".2f")
    return Hit(
        path=view.account_path(i),
        field="balance",
        expected=shown,
        params={**_number("year", year), "expected": shown},
    )


def account_not_in_bureau(view: WorkerView) -> Iterator[Hit]:
    bureau = view.worker.bureau
    account = view.worker.account
    if bureau is None or bureau.account is None or not account or bureau.account is account:
        return  # (the same tuple: the dossier reader shares a repeated block)
    known = {y.year for y in bureau.account}
    if known.issuperset(view.account_years):
        return
    # Forms print up to the cut-off ([P3.3b]): a later year is not on the form,
    # so the bureau's showing nothing for it is no reason to un-settle.
    cutoff = view.context.param("forms_print_until")
    last_year = None if cutoff is None else cutoff.year
    for i, y in view.years:
        if y.year not in known and (last_year is None or y.year <= last_year):
            yield Hit(path=view.account_path(i), params=_number("year", y.year))


# -- collection -----------------------------------------------------------------------


def incomplete(view: WorkerView) -> Iterator[Hit]:
    worker = view.worker
    if worker.history is None:
        yield Hit(
            path=view.path, field="history", params={"part": "history", "part_zh": "缴费历史"}
        )
    if worker.account is None:
        yield Hit(
            path=view.path, field="account", params={"part": "account", "part_zh": "养老账户"}
        )


# -- the pack -------------------------------------------------------------------------

E, W = Severity.ERROR, Severity.WARNING

#: Every rule of the pack, in report order. docs/rules.md documents each code.
RULES: tuple[Rule, ...] = (
    Rule(
        code="employer.credit-code",
        severity=E,
        scope=Scope.DOSSIER,
        procedure="P3.1",
        message="The unified social credit code is not valid ({reason}); copy it again from the business licence.",
        message_zh="统一社会信用代码无效({reason_zh});请对照营业执照重新填写。",
        check=employer_credit_code,
        fold=_no_workers(employer_credit_code),
    ),
    Rule(
        code="employer.credit-code-org",
        severity=W,
        scope=Scope.DOSSIER,
        procedure="P3.1",
        message="The organization code inside the unified social credit code (positions 9-17, GB 11714) fails its own check although the code's last character is right; compare the code with the business licence.",
        message_zh="统一社会信用代码中的组织机构代码(第9至17位)校验不符;请对照营业执照核实。",
        check=employer_credit_code_org,
        fold=_no_workers(employer_credit_code_org),
    ),
    Rule(
        code="person.id-format",
        severity=E,
        message="The identity number is neither 18 characters (17 digits and a digit or X) nor a 15-digit legacy number; copy it again from the ID card.",
        message_zh="身份证号码格式错误(应为18位,末位可为X,或15位旧号码);请对照身份证重新填写。",
        check=_id_error("person.id-format"),
    ),
    Rule(
        code="person.id-checksum",
        severity=E,
        message="The identity number's check digit is wrong (GB 11643): a digit was mistyped; copy it again from the ID card.",
        message_zh="身份证号码校验位不正确(有数字录错);请对照身份证重新填写。",
        check=_id_error("person.id-checksum"),
    ),
    Rule(
        code="person.id-birth-date",
        severity=E,
        message="The birth date inside the identity number is not a real date or lies in the future; copy the number again from the ID card.",
        message_zh="身份证号码中的出生日期不存在或晚于今天;请对照身份证重新填写。",
        check=_id_error("person.id-birth-date"),
    ),
    Rule(
        code="person.id-legacy",
        severity=W,
        message="A 15-digit legacy identity number: the bureau uses its 18-digit form; enter that one (insert 19 after the first six digits and append the check character: see fix).",
        message_zh="这是15位旧身份证号码;请改用对应的18位号码(在前6位后插入19,末尾加校验码:见 fix)。",
        check=id_legacy,
    ),
    Rule(
        code="person.gender-mismatch",
        severity=E,
        message="The gender differs from the one the identity number gives ({expected}); correct the gender.",
        message_zh="性别与身份证号码不符(号码显示为{expected_zh});请更正性别。",
        check=gender_mismatch,
    ),
    Rule(
        code="person.birth-date-mismatch",
        severity=E,
        message="The birth date differs from the one in the identity number ({expected}); correct the birth date.",
        message_zh="出生日期与身份证号码不符(号码显示为{expected});请更正出生日期。",
        check=birth_date_mismatch,
    ),
    Rule(
        code="person.first-work-age",
        severity=W,
        message="First work {first_work} is before the worker's {age}th birthday; check the date against the handbook.",
        message_zh="参加工作时间 {first_work} 早于{age}周岁;请对照养老手册核实。",
        check=first_work_age,
        uses=("minimum_working_age",),
    ),
    Rule(
        code="person.window-only-change",
        severity=E,
        procedure="P3.3a",
        message="The {field} differs from the bureau's record. Only the bureau window may change it: the worker goes there in person with the handbook and ID card; then run a data sync and print a new verification form. Restore the bureau's value here.",
        message_zh="{field_zh}与社保现有数据不一致。身份证号码和姓名只能由职工本人持养老手册和身份证原件到社保窗口修改;修改后先做数据同步,再打印新的核对表。此处请恢复为社保数据。",
        check=window_only_change,
    ),
    Rule(
        code="person.duplicate-id",
        severity=E,
        scope=Scope.DOSSIER,
        message="The same identity number is used by another worker of this dossier (see related); each worker is collected once.",
        message_zh="本档案中另有职工使用同一身份证号码(见 related);每名职工只能采集一次。",
        check=duplicate_id,
        fold=_DuplicateIds,
    ),
    Rule(
        code="history.month-order",
        severity=E,
        message="The period ends ({end}) before it starts ({start}); correct the months.",
        message_zh="终止年月 {end} 早于起始年月 {start};请更正。",
        check=month_order,
    ),
    Rule(
        code="history.future",
        severity=E,
        message="The period ends {end}, after the collection month {as_of}; correct the end month.",
        message_zh="终止年月 {end} 晚于采集月份 {as_of};请更正。",
        check=future,
    ),
    Rule(
        code="history.before-first-work",
        severity=E,
        message="The period starts {start}, before first work {first_work}; correct the start month or the first-work month.",
        message_zh="起始年月 {start} 早于参加工作时间 {first_work};请更正起始年月或参加工作时间。",
        check=before_first_work,
    ),
    Rule(
        code="history.overlap",
        severity=E,
        message="This period shares the months {from}..{to} with line {other} (see related); a month is entered once.",
        message_zh="本行与第 {other} 行在 {from} 至 {to} 重叠(见 related);同一月份只能录入一次。",
        check=overlap,
    ),
    Rule(
        code="history.crosses-box",
        severity=E,
        procedure="P3.4a",
        message="The enterprise period {start}..{end} runs across {last}|{first}: the part up to {last} goes in the upper box, the rest in the lower box. Split it in two (see fix).",
        message_zh="企业缴费期间 {start} 至 {end} 跨越 {last}/{first}:{last} 及以前录入上面的框,之后录入下面的框。请拆分为两行(见 fix)。",
        check=crosses_box,
        uses=("upper_box_last_month", "account_start"),
    ),
    Rule(
        code="history.crosses-account-start",
        severity=E,
        procedure="P3.4c",
        message="The period {start}..{end} runs across {last}|{first}, where the individual account begins: {todo}",
        message_zh="期间 {start} 至 {end} 跨越个人账户建立时间 {last}/{first}:{todo_zh}",
        check=crosses_account_start,
        uses=("account_start",),
    ),
    Rule(
        code="history.category",
        severity=E,
        procedure="P3.4a",
        message="The category is {given} but this period is {expected} (see expected); change the category.",
        message_zh="账户类别填为“{given_zh}”,本期间应为“{expected_zh}”;请更正账户类别。",
        check=category,
        uses=("upper_box_last_month", "account_start"),
    ),
    Rule(
        code="history.total-required",
        severity=E,
        procedure="P3.4a",
        message="An upper-box period needs its contribution total; enter 0 when there was none (the period is then deemed).",
        message_zh="上面的框必须填写缴费合计;没有就填0(账户类别为视同缴费)。",
        check=total_required,
        uses=("upper_box_last_month",),
    ),
    Rule(
        code="history.institution-remark",
        severity=E,
        procedure="P3.4c",
        message="A government/institution period needs the remark 机关事业缴费; add it.",
        message_zh="机关事业缴费期间须在备注中加上“机关事业缴费”。",
        check=institution_remark,
    ),
    Rule(
        code="history.institution-range",
        severity=E,
        procedure="P3.4b",
        message="Government/institution periods are collected from {first} to {last} only; correct the months or leave out the part outside.",
        message_zh="机关事业缴费只采集 {first} 至 {last} 期间;请更正年月或去掉范围以外的部分。",
        check=institution_range,
        uses=("institution_window_start", "institution_window_end"),
    ),
    Rule(
        code="history.enterprise-after-account-start",
        severity=E,
        procedure="P3.4e",
        message="Enterprise periods from {account_start} on belong to the pension account, not the history: remove this line (the bureau's system holds them).",
        message_zh="{account_start} 以后的企业缴费属于养老账户,不在缴费历史中录入;请删除本行。",
        check=enterprise_after_account_start,
        uses=("account_start",),
    ),
    Rule(
        code="history.cross-city-transfer-after-2010",
        severity=E,
        procedure="P3.3c",
        message="A transfer from another city done {transferred_on} (from {cutoff} on) is handled by the bureau's system automatically; remove this line.",
        message_zh="{cutoff} 以后办理的跨市转移({transferred_on})由社保系统自动处理,不用采集;请删除本行。",
        check=cross_city_transfer,
        uses=("cross_city_transfer_cutoff",),
    ),
    Rule(
        code="history.transfer-date-missing",
        severity=W,
        procedure="P3.3c",
        message="A transfer from another city without the month it was done (transferred_on): without it, it cannot be told whether the bureau handles it; add the month.",
        message_zh="跨市转入未填写办理转移的年月(transferred_on),无法判断是否由社保系统自动处理;请补填。",
        check=transfer_date_missing,
    ),
    Rule(
        code="history.transfer-origin-missing",
        severity=W,
        procedure="P3.3c",
        message="A transferred-in period without its origin (local or other_city): add it so that cross-city transfers can be recognised.",
        message_zh="转入期间未填写转入来源(本市或跨市);请补填,以便识别跨市转移。",
        check=transfer_origin_missing,
    ),
    Rule(
        code="history.transfer-fields",
        severity=E,
        message="{field} is only for transferred-in periods (source transfer_in); remove it or set the source.",
        message_zh="{field} 只适用于转入期间(source 为 transfer_in);请删除或更正来源。",
        check=transfer_fields,
    ),
    Rule(
        code="history.negative-amount",
        severity=E,
        message="The {field} is negative; amounts and rates are never below zero.",
        message_zh="{field} 为负数;金额和比例不能小于零。",
        check=negative_amount,
    ),
    Rule(
        code="history.rate-reference",
        severity=W,
        procedure="P3.4d",
        message="The rate {rate} differs from the reference rate {expected} for {start}..{end}; check it against the handbook.",
        message_zh="缴费比例 {rate} 与参考比例 {expected}({start} 至 {end})不符;请对照养老手册核实。",
        check=rate_reference,
        uses=("individual_rate_reference",),
        active=_rate_table_active,
    ),
    Rule(
        code="account.before-start",
        severity=E,
        procedure="P3.4e",
        message="The pension account starts {account_start}: no year before it, and at most {months} months in its first year; correct the year or the months.",
        message_zh="养老账户自 {account_start} 起建立:不能有之前的年度,首年最多 {months} 个月;请更正年度或月数。",
        check=account_before_start,
        uses=("account_start",),
    ),
    Rule(
        code="account.months",
        severity=E,
        message="A year has 1 to 12 contribution months, not {months}; correct the months.",
        message_zh="年度缴费月数应为1至12,而不是 {months_zh};请更正。",
        check=account_months,
    ),
    Rule(
        code="account.duplicate-year",
        severity=E,
        message="The year {year} is entered twice (see related); keep one line per year.",
        message_zh="{year_zh} 年度录入了两次(见 related);每年只录一行。",
        check=account_duplicate_year,
    ),
    Rule(
        code="account.balance",
        severity=W,
        message="A transcription aid only: nothing is calculated and the handbook stands ([P3.4e]). The year-end balance of {year} is not the previous year's balance plus personal, employer part and interest ({expected}); check that the figures were copied from the handbook correctly, and keep them if the handbook says so. (The first account year is never checked: its opening balance is unknown.)",
        message_zh="仅为录入核对提示:采集不做计算,以养老手册为准。{year_zh} 年末累计储存额不等于上年余额加个人缴费、单位划入和利息({expected});请核对是否照手册录入无误,手册如此则保留原数。(账户首年不核对:其年初余额未知。)",
        check=account_balance,
    ),
    Rule(
        code="account.not-in-bureau",
        severity=E,
        procedure="P3.4e",
        message="The bureau shows nothing for {year}: the worker's account must first be un-settled (养老账户取消结清) at the bureau window; then the data appear on the verification form and need not be entered.",
        message_zh="社保系统中没有 {year_zh} 年度的账户数据:须先到社保窗口办理“养老账户取消结清”,之后数据会显示在核对表中,不需要单位录入。",
        check=account_not_in_bureau,
        uses=("forms_print_until",),
    ),
    Rule(
        code="collection.incomplete",
        severity=E,
        procedure="P3.4f",
        message="The {part} part has not been collected; a worker is saved only when personal information, contribution history and pension account are all collected (an empty part is entered as empty).",
        message_zh="尚未采集{part_zh};只有个人信息、缴费历史、养老账户都采集后才能保存(没有数据的部分也要明确采集为空)。",
        check=incomplete,
    ),
)


#: Parameters every ``weihai-2013`` parameter file must define.
REQUIRED_PARAMETERS: tuple[str, ...] = (
    "upper_box_last_month",
    "account_start",
    "institution_window_start",
    "institution_window_end",
    "cross_city_transfer_cutoff",
    "forms_print_until",
    "minimum_working_age",
    "individual_rate_reference",
)


def make_pack(parameters: ParameterSet | None = None) -> RulePack:
    """The pack, with its bundled parameters or the ``parameters`` given
    (a user's own reference-rate table, say).

    Raises :class:`~pension_collect.rules.ParameterError` when ``parameters``
    lacks one of :data:`REQUIRED_PARAMETERS`.
    """
    if parameters is None:
        parameters = load_parameters(PARAMETERS_FILE)
    missing = [name for name in REQUIRED_PARAMETERS if name not in parameters]
    if missing:
        raise ParameterError(
            f"the weihai-2013 pack needs the parameters {', '.join(missing)}; copy them from "
            f"the bundled {PARAMETERS_FILE.name}"
        )
    return RulePack(
        name=NAME,
        title="Weihai 2013 pension data-quality collection (威海 2013 企业数据质量整理和采集)",
        parameters=parameters,
        rules=RULES,
        description="The Weihai bureau's 2013 instruction sheet, paragraphs P3 to P3.7.",
    )


@functools.cache
def default_pack() -> RulePack:
    """The pack with its bundled parameters, built once per process."""
    return make_pack()
