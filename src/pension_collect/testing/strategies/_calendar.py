"""The rule pack's dated parameters as month indices (private).

Clean data and violators are built from them: the box boundary, the account
start, the institution window, the transfer cutoff, the minimum working age
and the reference rate table.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from ...model import Category, YearMonth
from ...rules.pack import RulePack
from ...rules.parameters import RateBand
from ...rules.weihai2013 import NAME, default_pack
from ._base import _as_ym
from .scalars import BORN_FROM, FIRST_MONTH, LAST_MONTH

_MIN_INDEX = FIRST_MONTH.index
_MAX_INDEX = LAST_MONTH.index
# Kinds of history segment, as the derivation table of docs/rules.md reads
# them. Kept private and separate from pension_collect.rules.derive on
# purpose: clean data must not be derived by the code it is meant to test.
_ENT = "enterprise"
_TRA = "transfer"
_INS = "institution"
_KINDS = (_ENT, _ENT, _TRA, _INS)  # enterprise periods are the common case
_ALL_KINDS = (_ENT, _TRA, _INS)


def _resolve_pack(pack: RulePack | str | None) -> RulePack:
    """``pack`` itself, or the bundled pack for ``None`` and its name.

    The testing package sits below the plugin host, so other packs are not
    looked up by name: the caller passes the RulePack object.
    """
    if pack is None or pack == NAME:
        return default_pack()
    if isinstance(pack, RulePack):
        return pack
    raise ValueError(
        f"strategies know the built-in pack {NAME!r} by name; pass the RulePack object "
        f"for {pack!r} (e.g. pension_collect.rule_pack({pack!r}))"
    )


@attrs.frozen
class _Calendar:
    """The pack's parameters at ``as_of``, as month indices."""

    pack: RulePack
    as_of: int
    upper_last: int
    account_start: int
    window_start: int
    window_end: int
    cutoff: int
    min_age: int
    rate_table: tuple[RateBand, ...]
    print_until: int | None = None
    """The last month the forms print (rule account.not-in-bureau looks no later)."""

    @property
    def earliest_work(self) -> int:
        """The minimum-age birthday month of someone born on :data:`BORN_FROM`."""
        return (BORN_FROM.year + self.min_age) * 12 + BORN_FROM.month - 1

    def bday(self, born: _dt.date) -> int:
        """The month from which someone born on ``born`` may work (rule person.first-work-age)."""
        return (born.year + self.min_age) * 12 + born.month - 1


_MONTH_PARAMETERS = (
    "upper_box_last_month",
    "account_start",
    "institution_window_start",
    "institution_window_end",
    "cross_city_transfer_cutoff",
)


def _calendar(pack: RulePack | str | None, as_of: YearMonth | str) -> _Calendar:
    rule_pack = _resolve_pack(pack)
    month = _as_ym(as_of, "as_of")
    params = rule_pack.parameters
    values: dict[str, object] = {}
    for name in (*_MONTH_PARAMETERS, "minimum_working_age", "individual_rate_reference"):
        if name not in params:
            raise ValueError(
                f"rule pack {rule_pack.name!r} has no parameter {name!r}; these strategies "
                "need the parameters of weihai-2013 (docs/testing.md)"
            )
        values[name] = params.get(name, month)
    for name in _MONTH_PARAMETERS:
        if not isinstance(values[name], YearMonth):
            raise ValueError(f"parameter {name!r} has no month value at {month}")
    min_age = values["minimum_working_age"]
    if not isinstance(min_age, int):
        raise ValueError(f"parameter 'minimum_working_age' has no value at {month}")
    table = values["individual_rate_reference"] or ()
    assert isinstance(table, tuple)
    # Optional: without it, rule account.not-in-bureau looks at every year.
    print_until = params.get("forms_print_until", month) if "forms_print_until" in params else None

    def index(name: str) -> int:
        value = values[name]
        assert isinstance(value, YearMonth)
        return value.index

    return _Calendar(
        pack=rule_pack,
        as_of=month.index,
        upper_last=index("upper_box_last_month"),
        account_start=index("account_start"),
        window_start=index("institution_window_start"),
        window_end=index("institution_window_end"),
        cutoff=index("cross_city_transfer_cutoff"),
        min_age=min_age,
        rate_table=tuple(table),
        print_until=print_until.index if isinstance(print_until, YearMonth) else None,
    )


def _zones(cal: _Calendar, kind: str, *, lower_box_only: bool = False) -> list[tuple[int, int]]:
    """Month ranges where a segment of ``kind`` has one box and one category."""
    if kind == _ENT:
        zones = [(cal.upper_last + 1, cal.account_start - 1)]
        if not lower_box_only:
            zones.insert(0, (_MIN_INDEX, cal.upper_last))
    elif kind == _TRA:
        zones = [(_MIN_INDEX, cal.account_start - 1), (cal.account_start, _MAX_INDEX)]
    else:
        zones = [(cal.window_start, cal.window_end)]
    return [(a, b) for a, b in zones if a <= b]


def _derived(cal: _Calendar, kind: str, end: int, total: Decimal | None) -> Category | None:
    """The category docs/rules.md's table gives a non-crossing segment of ``kind``."""
    if kind == _INS:
        return Category.PRE_ACCOUNT
    if kind == _TRA:
        return Category.PRE_ACCOUNT if end < cal.account_start else Category.POST_ACCOUNT
    if end <= cal.upper_last:
        if total is None or total < 0:
            return None
        return Category.DEEMED if total == 0 else Category.PRE_ACCOUNT
    if end < cal.account_start:
        return Category.PRE_ACCOUNT
    return None  # in the pension account: no category


Option = tuple[str, int, int]


def _options(
    cal: _Calendar,
    kinds: Iterable[str],
    lo: int,
    hi: int,
    *,
    min_len: int = 1,
    lower_box_only: bool = False,
) -> list[Option]:
    """(kind, first, last): ranges inside ``lo .. hi`` where a legal segment fits."""
    out: list[Option] = []
    for kind in dict.fromkeys(kinds):
        for a, b in _zones(cal, kind, lower_box_only=lower_box_only):
            first, last = max(a, lo), min(b, hi)
            if last - first + 1 >= min_len:
                out.append((kind, first, last))
    return out


def _pick(
    draw: DrawFn, options: Sequence[Option], *, min_len: int = 1, max_len: int = 120
) -> Option:
    kind, first, last = draw(st.sampled_from(options))
    start = draw(st.integers(first, last - min_len + 1))
    end = draw(st.integers(start + min_len - 1, min(last, start + max_len - 1)))
    return kind, start, end


def _subtract(span: tuple[int, int], reserved: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [span]
    for r_lo, r_hi in reserved:
        next_pieces = []
        for a, b in pieces:
            if r_hi < a or b < r_lo:
                next_pieces.append((a, b))
                continue
            if a < r_lo:
                next_pieces.append((a, r_lo - 1))
            if r_hi < b:
                next_pieces.append((r_hi + 1, b))
        pieces = next_pieces
    return pieces


def _legal_pieces(cal: _Calendar, kind: str, start: int, end: int) -> list[Option]:
    """Cut ``start .. end`` so that every piece is a legal segment.

    An institution period keeps the part inside the window and hands the
    rest to the enterprise table; enterprise periods are cut at the box
    boundary and the account start and lose what lies in the account.
    """
    out: list[Option] = []
    if kind == _INS:
        first, last = max(start, cal.window_start), min(end, cal.window_end)
        if first > last:
            return _legal_pieces(cal, _ENT, start, end)
        if start < first:
            out.extend(_legal_pieces(cal, _ENT, start, first - 1))
        out.append((_INS, first, last))
        if last < end:
            out.extend(_legal_pieces(cal, _ENT, last + 1, end))
        return out
    for a, b in _zones(cal, kind):
        first, last = max(a, start), min(b, end)
        if first <= last:
            out.append((kind, first, last))
    return out
