"""Where a history segment goes (box) and what it is (category).

The derivation table of docs/rules.md, as one pure function. A segment that
runs across a boundary where box or category change has no single placement:
:func:`place` reports the boundaries it crosses and :func:`split` cuts it.
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from ..model import Category, EmployerKind, Segment, Source, YearMonth

__all__ = ["Box", "Placement", "SegmentKind", "place", "split"]


class Box(StrEnum):
    """The two boxes of the contribution-history screen."""

    UPPER = "upper"  # 上面的框: up to 1992-12
    LOWER = "lower"  # 下面的框


class SegmentKind(StrEnum):
    """How the derivation table reads a segment."""

    ENTERPRISE = "enterprise"  # enterprise period, handbook or red book
    TRANSFER = "transfer"  # transferred in (转入), enterprise
    INSTITUTION = "institution"  # government organ / public institution (机关事业)


@attrs.frozen
class Placement:
    """Box and category of a segment; ``None`` where the table gives none."""

    kind: SegmentKind
    box: Box | None
    category: Category | None
    crosses: tuple[YearMonth, ...] = ()
    """First months after each boundary the segment runs across."""
    in_account: bool = False
    """Enterprise period from the account start on: it is the pension account."""


# The placements without crossings are few: made once here, shared (they are
# immutable) and picked by branches in place() (a cache keyed on the enum
# members would hash each member through a Python-level call).
_ENTERPRISE, _TRANSFER, _INSTITUTION = (
    SegmentKind.ENTERPRISE,
    SegmentKind.TRANSFER,
    SegmentKind.INSTITUTION,
)
_INSTITUTION_EMPLOYER, _TRANSFER_IN = EmployerKind.INSTITUTION, Source.TRANSFER_IN
_UPPER, _LOWER = Box.UPPER, Box.LOWER
_DEEMED, _PRE, _POST = Category.DEEMED, Category.PRE_ACCOUNT, Category.POST_ACCOUNT
_ENTERPRISE_UNPLACED = Placement(_ENTERPRISE, None, None)
_ENTERPRISE_UPPER = Placement(_ENTERPRISE, _UPPER, None)
_ENTERPRISE_UPPER_DEEMED = Placement(_ENTERPRISE, _UPPER, _DEEMED)
_ENTERPRISE_UPPER_PRE = Placement(_ENTERPRISE, _UPPER, _PRE)
_ENTERPRISE_LOWER_PRE = Placement(_ENTERPRISE, _LOWER, _PRE)
_ENTERPRISE_IN_ACCOUNT = Placement(_ENTERPRISE, None, None, in_account=True)
_TRANSFER_UNPLACED = Placement(_TRANSFER, None, None)
_TRANSFER_PRE = Placement(_TRANSFER, _LOWER, _PRE)
_TRANSFER_POST = Placement(_TRANSFER, _LOWER, _POST)
_INSTITUTION_UNPLACED = Placement(_INSTITUTION, None, None)
_INSTITUTION_PRE = Placement(_INSTITUTION, _LOWER, _PRE)


def kind_of(segment: Segment) -> SegmentKind:
    """Institution first (it keeps one category whatever its source), then transfers."""
    if segment.employer_kind is EmployerKind.INSTITUTION:
        return SegmentKind.INSTITUTION
    if segment.source is Source.TRANSFER_IN:
        return SegmentKind.TRANSFER
    return SegmentKind.ENTERPRISE


def place(segment: Segment, *, upper_last: YearMonth, account_start: YearMonth) -> Placement:
    """Box and category of ``segment`` under the derivation table.

    ``upper_last`` is the last month of the upper box (1992-12 in weihai-2013),
    ``account_start`` the first month of the individual account (1996-04).
    """
    start, end = segment.start, segment.end
    # kind_of(), inlined (once per segment checked)
    if segment.employer_kind is _INSTITUTION_EMPLOYER:
        return _INSTITUTION_UNPLACED if end < start else _INSTITUTION_PRE
    if segment.source is _TRANSFER_IN:
        kind = _TRANSFER
        if end < start:
            return _TRANSFER_UNPLACED
        if end < account_start:
            return _TRANSFER_PRE
        if start >= account_start:
            return _TRANSFER_POST
        return Placement(kind, _LOWER, None, (account_start,))
    kind = _ENTERPRISE
    if end < start:
        return _ENTERPRISE_UNPLACED
    crosses: list[YearMonth] = []
    if start <= upper_last < end:
        crosses.append(upper_last.add(1))
    if start < account_start <= end:
        crosses.append(account_start)
    if crosses:
        return Placement(kind, None, None, tuple(crosses))
    if end <= upper_last:
        total = segment.total
        if total is None or total < 0:
            return _ENTERPRISE_UPPER
        return _ENTERPRISE_UPPER_DEEMED if total == 0 else _ENTERPRISE_UPPER_PRE
    if end < account_start:
        return _ENTERPRISE_LOWER_PRE
    return _ENTERPRISE_IN_ACCOUNT


def split(segment: Segment, at: YearMonth) -> tuple[Segment, Segment]:
    """Cut ``segment`` before month ``at``: ``start..at-1`` and ``at..end``.

    Amounts cannot be divided by rule: a zero total stays zero on both parts,
    any other total is left out (``None``) for the clerk to divide from the
    handbook. The given category is dropped so that each part's is derived.
    """
    if not segment.start < at <= segment.end:
        raise ValueError("the split month must fall after the start and not after the end")
    zero = segment.total is not None and segment.total == 0
    total = segment.total if zero else None
    first = attrs.evolve(segment, end=at.add(-1), total=total, category=None)
    second = attrs.evolve(segment, start=at, total=total, category=None)
    return first, second
