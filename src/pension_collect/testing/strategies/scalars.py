"""Scalars: months, amounts, rates, identity numbers and credit codes.

The valid ones are public (:func:`year_months`, :func:`money`, :func:`rates`,
:func:`identity_numbers`, :func:`credit_codes`); the broken identity numbers
and credit codes the other families use stay private.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ... import credit_code as _cc
from ...identity import check_char
from ...model import Gender, Money, YearMonth
from ._base import _GIVEN, _SURNAMES, _WEIHAI_AREAS, _as_decimal, _as_ym, _fixed, _scaled, _ym

__all__ = [
    "BORN_FROM",
    "BORN_UNTIL",
    "FIRST_MONTH",
    "LAST_MONTH",
    "credit_codes",
    "identity_numbers",
    "money",
    "rates",
    "year_months",
]

#: Earliest birth date of generated identity numbers.
BORN_FROM = _dt.date(1930, 1, 1)
#: Latest birth date of generated identity numbers.
BORN_UNTIL = _dt.date(1995, 12, 31)
#: The first and last month the model allows.
FIRST_MONTH = YearMonth(1900, 1)
LAST_MONTH = YearMonth(2199, 12)


def year_months(
    min_value: YearMonth | str = FIRST_MONTH,
    max_value: YearMonth | str = LAST_MONTH,
) -> SearchStrategy[YearMonth]:
    """Months from ``min_value`` to ``max_value`` inclusive (``"YYYY-MM"`` accepted).

    The defaults are the whole range the model allows (1900-01 .. 2199-12).
    Shrinks towards ``min_value``.
    """
    lo, hi = _as_ym(min_value, "min_value"), _as_ym(max_value, "max_value")
    if lo > hi:
        raise ValueError("min_value must not be after max_value")
    return st.integers(lo.index, hi.index).map(_ym)


def money(
    min_value: Decimal | str | int = Decimal("0"),
    max_value: Decimal | str | int = Decimal("100000"),
) -> SearchStrategy[Money]:
    """Amounts in yuan: :class:`~decimal.Decimal` with at most two places.

    Spelled with two places (``Decimal("1.50")``) or shorter (``Decimal("1.5")``,
    ``Decimal("2")``), never with a positive exponent; all of them are valid
    :data:`~pension_collect.model.Money` and survive the dossier format.
    The bounds (inclusive) must have at most two places; negative amounts
    are allowed when ``min_value`` is negative.
    """
    lo = _scaled(_as_decimal(min_value, "min_value"), 2, "min_value")
    hi = _scaled(_as_decimal(max_value, "max_value"), 2, "max_value")
    if lo > hi:
        raise ValueError("min_value must not be greater than max_value")
    return st.builds(
        lambda fen, trim: Money(_fixed(fen, 2, trim)), st.integers(lo, hi), st.booleans()
    )


def rates(
    min_value: Decimal | str | int = Decimal("0"),
    max_value: Decimal | str | int = Decimal("1"),
    *,
    places: int = 4,
) -> SearchStrategy[Decimal]:
    """Contribution rates as the dossier format writes them (``Decimal("0.03")``).

    Non-negative, below 1000, at most ``places`` (0..6) decimal places: the
    format's ``"0.03"`` spelling. Bounds are inclusive.
    """
    if not 0 <= places <= 6:
        raise ValueError("places must be 0..6 (the dossier format's limit)")
    low = _as_decimal(min_value, "min_value")
    high = _as_decimal(max_value, "max_value")
    if low < 0 or high >= 1000:
        raise ValueError("rates are written 0 .. 999.999999 in the dossier format")
    lo = _scaled(low, places, "min_value")
    hi = _scaled(high, places, "max_value")
    if lo > hi:
        raise ValueError("min_value must not be greater than max_value")
    return st.builds(lambda n, trim: _fixed(n, places, trim), st.integers(lo, hi), st.booleans())


def _id_number(area: int, born: _dt.date, seq: int, legacy: bool) -> str:
    if legacy:
        return f"{area:06d}{born:%y%m%d}{seq:03d}"
    first17 = f"{area:06d}{born.year:04d}{born.month:02d}{born.day:02d}{seq:03d}"
    return first17 + check_char(first17)


def _areas() -> SearchStrategy[int]:
    return st.sampled_from(_WEIHAI_AREAS) | st.integers(100000, 999999)


def _sequences(gender: Gender | str | None) -> SearchStrategy[int]:
    if gender is None:
        return st.integers(0, 999)
    parity = 1 if Gender(gender) is Gender.MALE else 0
    return st.integers(0, 499).map(lambda n: 2 * n + parity)


def identity_numbers(
    *,
    legacy: bool = False,
    born_from: _dt.date = BORN_FROM,
    born_until: _dt.date = BORN_UNTIL,
    gender: Gender | str | None = None,
) -> SearchStrategy[str]:
    """Valid identity numbers (GB 11643), as text.

    18 characters with the check character computed by
    :func:`pension_collect.identity.check_char`, or with ``legacy=True`` the
    15-digit form (birth years 1900..1999 only). The area code is any six
    digits with a first digit 1-9 (Weihai's codes are drawn often); the birth
    date lies in ``born_from .. born_until`` (1930 .. 1995 by default);
    ``gender`` fixes the parity of the sequence number.
    """
    if born_from > born_until:
        raise ValueError("born_from must not be after born_until")
    if born_from.year < 1880:
        raise ValueError("identity numbers hold birth years from 1880 on")
    if legacy and not (born_from.year >= 1900 and born_until.year <= 1999):
        raise ValueError("legacy 15-digit numbers hold birth years 1900..1999 only")
    return st.builds(
        _id_number,
        _areas(),
        st.dates(born_from, born_until),
        _sequences(gender),
        st.just(legacy),
    )


def _credit_code(authority: str, kind: str, division: int, org8: str) -> str:
    first17 = f"{authority}{kind}{division:06d}{org8}{_cc.organization_check_char(org8)}"
    return first17 + _cc.check_char(first17)


def _org_codes() -> SearchStrategy[str]:
    return st.text(alphabet=_cc.ALPHABET, min_size=8, max_size=8)


def credit_codes() -> SearchStrategy[str]:
    """Valid unified social credit codes (GB 32100), as
    :func:`pension_collect.credit_code.validate` accepts them.

    Any registration authority of the code alphabet, letters (``Y``, ``N``,
    ``A`` ...) included; any category character; six digits of division
    code; an organization code with its GB 11714 check character; the GB
    32100 check character.
    """
    return st.builds(
        _credit_code,
        st.sampled_from("9" + _cc.ALPHABET),
        st.sampled_from("1" + _cc.ALPHABET),
        st.sampled_from((371000, 371002, 371082)) | st.integers(0, 999999),
        _org_codes(),
    )


def _bad_credit_codes() -> SearchStrategy[str]:
    """Codes that fail the format or the position-18 check (rule employer.credit-code)."""

    def wrong_last(code: str, other: str) -> str:
        return code[:17] + (
            other if other != code[17] else _cc.ALPHABET[_cc.ALPHABET.index(other) - 1]
        )

    def forbidden(code: str, pos: int, letter: str) -> str:
        return code[:pos] + letter + code[pos + 1 :]

    def letter_in_division(code: str, pos: int, letter: str) -> str:
        return code[:pos] + letter + code[pos + 1 :]

    def wrong_length(code: str, cut: int, extra: str) -> str:
        return code[:cut] if cut < 18 else code + extra

    valid = credit_codes()
    return st.one_of(
        st.builds(wrong_last, valid, st.sampled_from(_cc.ALPHABET)),
        st.builds(forbidden, valid, st.integers(0, 17), st.sampled_from("IOZSV")),
        st.builds(letter_in_division, valid, st.integers(2, 7), st.sampled_from("ABCHKY")),
        st.builds(
            wrong_length,
            valid,
            st.integers(0, 18),
            st.text(alphabet=_cc.ALPHABET, min_size=1, max_size=3),
        ),
    )


def _org_check_broken_codes() -> SearchStrategy[str]:
    """Codes whose position-18 check is right but whose organization check is not."""

    def build(authority: str, kind: str, division: int, org8: str, wrong: str) -> str:
        right = _cc.organization_check_char(org8)
        if wrong == right:
            wrong = _cc.ALPHABET[_cc.ALPHABET.index(wrong) - 1]
        first17 = f"{authority}{kind}{division:06d}{org8}{wrong}"
        return first17 + _cc.check_char(first17)

    return st.builds(
        build,
        st.sampled_from(_cc.ALPHABET),
        st.sampled_from(_cc.ALPHABET),
        st.integers(0, 999999),
        _org_codes(),
        st.sampled_from(_cc.ALPHABET),
    )


def _broken_ids() -> SearchStrategy[str]:
    """Identity numbers with one thing wrong: check digit, format or birth date."""

    def wrong_check(number: str, other: str) -> str:
        return number[:17] + (other if other != number[17] else "0" if other != "0" else "1")

    def bad_date(area: int, year: int, month: int, day: int, seq: int) -> str:
        first17 = f"{area:06d}{year:04d}{month:02d}{day:02d}{seq:03d}"
        return first17 + check_char(first17)

    return st.one_of(
        st.builds(wrong_check, identity_numbers(), st.sampled_from("0123456789X")),
        _bad_id_formats(),
        st.builds(
            bad_date,
            _areas(),
            st.integers(1930, 1995),
            st.integers(0, 12),
            st.integers(29, 99),
            st.integers(0, 999),
        ),
    )


def _bad_id_formats() -> SearchStrategy[str]:
    """Text rule person.id-format rejects (never a 15-digit or valid 18-char number)."""

    def letter_inside(number: str, pos: int, letter: str) -> str:
        return number[:pos] + letter + number[pos + 1 :]

    def wrong_last(number: str, letter: str) -> str:
        return number[:17] + letter

    def leading_zero(number: str) -> str:
        return "0" + number[1:]

    return st.one_of(
        _digits(1, 25).filter(lambda s: len(s) not in (15, 18)),
        st.builds(letter_inside, identity_numbers(), st.integers(0, 16), st.sampled_from("ABCOZ")),
        st.builds(wrong_last, identity_numbers(), st.sampled_from("ABCYZ-")),
        st.builds(leading_zero, identity_numbers()),
        st.builds(leading_zero, identity_numbers(legacy=True)),
    )


def _any_identity_text() -> SearchStrategy[str]:
    return st.one_of(
        identity_numbers(),
        identity_numbers(legacy=True),
        _broken_ids(),
        _nonblank_text(20),
    )


#: The characters the dossier reader accepts in text (docs/dossier.md "Text"):
#: no control characters, line separators, bidi controls or surrogates.
_TEXT_CHARS = st.characters(
    exclude_categories=("Cc", "Cs"),
    exclude_characters="\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069",
)


def _text(min_size: int = 0, max_size: int = 20) -> SearchStrategy[str]:
    return st.text(_TEXT_CHARS, min_size=min_size, max_size=max_size)


def _nonblank_text(max_size: int = 20) -> SearchStrategy[str]:
    return _text(1, max_size).map(lambda s: s if s.strip() else s + "x")


def _person_names() -> SearchStrategy[str]:
    return st.builds(
        lambda surname, given: surname + given,
        st.sampled_from(_SURNAMES),
        st.text(alphabet=_GIVEN, min_size=1, max_size=2),
    )


def _digits(min_size: int, max_size: int) -> SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=min_size, max_size=max_size)
