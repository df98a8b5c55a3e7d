"""Where a history segment goes (box) and what it is (category).

The derivation table of docs/rules.md, as one pure function. A segment that
runs across a boundary where box or category change has no single placement:
:func:`place` reports the boundaries it crosses and :func:`split` cuts it.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _fixed(
    kind: SegmentKind, box: Box | None, category: Category | None, in_account: bool
) -> Placement:
    # The placements without crossings are few: made once, shared (immutable).
    return Placement(kind, box, category, in_account=in_account)


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
    kind = kind_of(segment)
    start, end = segment.start, segment.end
    if end < start:
        return _fixed(kind, None, None, False)
    if kind is SegmentKind.INSTITUTION:
        return _fixed(kind, Box.LOWER, Category.PRE_ACCOUNT, False)
    if kind is SegmentKind.TRANSFER:
        if end < account_start:
            return _fixed(kind, Box.LOWER, Category.PRE_ACCOUNT, False)
        if start >= account_start:
            return _fixed(kind, Box.LOWER, Category.POST_ACCOUNT, False)
        return Placement(kind, Box.LOWER, None, (account_start,))
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
            category = None
        else:
            category = Category.DEEMED if total == 0 else Category.PRE_ACCOUNT
        return _fixed(kind, Box.UPPER, category, False)
    if end < account_start:
        return _fixed(kind, Box.LOWER, Category.PRE_ACCOUNT, False)
    return _fixed(kind, None, None, True)


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
