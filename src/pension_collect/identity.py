"""Chinese resident identity numbers (公民身份号码, GB 11643-1999).

An 18-character number is laid out as::

    371002 19650302 123 9
    ^area  ^birth   ^seq ^check

* positions 1-6: the administrative division code (GB/T 2260) of the place
  where the number was *issued*;
* positions 7-14: the date of birth, ``YYYYMMDD``;
* positions 15-17: a sequence number, odd for men and even for women;
* position 18: a check character computed with ISO 7064 MOD 11-2 over the
  first 17 digits (``0``-``9`` or ``X`` for ten).

Legacy 15-digit numbers (issued before 1999) have no century (``YYMMDD``,
always 19xx) and no check digit; :func:`to_18` converts them.

The area code is deliberately **not** checked against any table of division
codes: numbers were reissued under codes that did not exist yet in the
holder's birth year (python-stdnum's ``cn.ric`` wrongly rejects those), and
codes are retired and renamed over time. Only its shape is checked: six
digits, the first one 1-9.

Identity numbers are personal data. No exception raised here ever contains
the number or any part of it; :class:`IdentityNumber`'s ``repr`` shows only
the masked form (``371002********1239``); :func:`mask` never raises, so it is
safe to call on anything before logging it.
"""

from __future__ import annotations

import datetime
import operator
import unicodedata
from typing import ClassVar

import attrs

from .errors import PensionCollectError

__all__ = [
    "MIDDLE_DOT",
    "IdentityNumber",
    "InvalidIdentityBirthDate",
    "InvalidIdentityChecksum",
    "InvalidIdentityFormat",
    "InvalidIdentityNumber",
    "canonical_id",
    "canonical_name",
    "check_char",
    "compact",
    "is_valid",
    "mask",
    "to_18",
    "validate",
]

#: ISO 7064 MOD 11-2 weights of positions 1-17 (2**(17-i) mod 11).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CODE_OFFSET = ord("0") * sum(_WEIGHTS)
#: Check character indexed by (weighted sum mod 11).
_CHECK_CHARS = "10X98765432"
_DIGITS = frozenset("0123456789")
#: Birth years before this are refused (no living holder; a typo is likelier).
MIN_BIRTH_YEAR = 1880


# --------------------------------------------------------------------------- errors


class InvalidIdentityNumber(PensionCollectError, ValueError):
    """The text is not a valid identity number.

    ``str(error)`` says in English what is wrong and what to do;
    :attr:`message_zh` says the same in Chinese. Neither ever contains the
    number or any part of it.
    """

    #: A stable, dotted code naming the kind of error.
    code: ClassVar[str] = "person.id"
    _default_message: ClassVar[str] = (
        "The identity number is not valid. Check it against the identity card and enter it again."
    )
    _default_message_zh: ClassVar[str] = "公民身份号码无效。请对照居民身份证核对后重新填写。"

    def __init__(self, message: str | None = None, *, message_zh: str | None = None) -> None:
        self.message: str = message if message is not None else self._default_message
        self.message_zh: str = message_zh if message_zh is not None else self._default_message_zh
        super().__init__(self.message)


class InvalidIdentityFormat(InvalidIdentityNumber):
    """Wrong length, wrong characters, or not a string at all."""

    code: ClassVar[str] = "person.id-format"
    _default_message: ClassVar[str] = (
        "The identity number has the wrong format: it must be 18 characters "
        "(17 digits followed by a digit or X) or a legacy 15-digit number. "
        "Check it against the identity card and enter it again."
    )
    _default_message_zh: ClassVar[str] = (
        "公民身份号码格式不正确：应为18位（前17位为数字，最后一位为数字或X）"
        "或15位旧号码。请对照居民身份证核对后重新填写。"
    )


class InvalidIdentityChecksum(InvalidIdentityNumber):
    """The 18th character does not match the first 17 (usually a typo)."""

    code: ClassVar[str] = "person.id-checksum"
    _default_message: ClassVar[str] = (
        "The identity number's check digit (the 18th character) does not match the "
        "first 17 digits, so at least one character was mistyped. Copy the number "
        "again from the identity card, character by character."
    )
    _default_message_zh: ClassVar[str] = (
        "公民身份号码校验码（第18位）与前17位不符，至少有一位录入错误。"
        "请对照居民身份证逐位重新录入。"
    )


class InvalidIdentityBirthDate(InvalidIdentityNumber):
    """The embedded date of birth is impossible, too early, or in the future."""

    code: ClassVar[str] = "person.id-birth-date"
    _default_message: ClassVar[str] = (
        "The date of birth inside the identity number is not a possible date of "
        "birth. Check the birth-date digits against the identity card and enter the "
        "number again."
    )
    _default_message_zh: ClassVar[str] = (
        "公民身份号码中的出生日期不是有效的出生日期。请对照居民身份证核对出生日期部分后重新填写。"
    )


# --------------------------------------------------------------------------- helpers


def _is_digits(text: str) -> bool:
    """True if *text* is non-empty and only ASCII digits (not ``str.isdigit``)."""
    return text.isascii() and text.isdigit()


def compact(raw: str) -> str:
    """Remove all whitespace and turn a lowercase ``x`` into ``X``.

    Nothing else is changed; the result is not validated. Raises
    :class:`InvalidIdentityFormat` if *raw* is not a string.
    """
    if not isinstance(raw, str):
        raise InvalidIdentityFormat()
    return "".join(raw.split()).replace("x", "X")


def check_char(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``).

    *first17* must be exactly 17 ASCII digits, else :class:`InvalidIdentityFormat`.
    """
    if not isinstance(first17, str) or len(first17) != 17 or not _is_digits(first17):
        raise InvalidIdentityFormat(
            "The first 17 characters of an identity number must all be digits.",
            message_zh="公民身份号码前17位必须全部为数字。",
        )
    # ASCII codes instead of int() per digit: each code is the digit + 48.
    total = sum(map(operator.mul, first17.encode("ascii"), _WEIGHTS)) - _CODE_OFFSET
    return _CHECK_CHARS[total % 11]


def to_18(number15: str) -> str:
    """Convert a legacy 15-digit number to its 18-character form.

    Inserts ``19`` before the two-digit birth year and appends the check
    digit. Only the shape is checked here (:class:`InvalidIdentityFormat` unless 15
    digits after :func:`compact`); use :func:`validate` for the date.
    """
    s = compact(number15)
    if len(s) != 15 or not _is_digits(s):
        raise InvalidIdentityFormat(
            "A legacy identity number must be exactly 15 digits.",
            message_zh="15位旧身份证号码必须为15位数字。",
        )
    first17 = s[:6] + "19" + s[6:]
    return first17 + check_char(first17)


def _leading_zero() -> InvalidIdentityFormat:
    return InvalidIdentityFormat(
        "The identity number cannot start with 0: the first six digits are an "
        "area code starting with 1-9. Check it against the identity card.",
        message_zh="公民身份号码首位不能为0（前6位为地址码，首位应为1-9）。请对照居民身份证核对。",
    )


def _check_shape(number: str) -> datetime.date:
    """Check an 18-character normalized number: format, checksum, date shape.

    Returns the birth date."""
    if len(number) != 18 or not _is_digits(number[:17]) or number[17] not in _CHECK_CHARS:
        raise InvalidIdentityFormat()
    if number[0] == "0":
        raise _leading_zero()
    if check_char(number[:17]) != number[17]:
        raise InvalidIdentityChecksum()
    return _birth_date(number)


def _birth_date(number: str) -> datetime.date:
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if year < MIN_BIRTH_YEAR:
        raise InvalidIdentityBirthDate(
            f"The birth year inside the identity number is before {MIN_BIRTH_YEAR}, "
            "which is not possible for a living holder. Check the birth-date digits "
            "against the identity card.",
            message_zh=f"公民身份号码中的出生年份早于{MIN_BIRTH_YEAR}年，不可能有效。"
            "请对照居民身份证核对出生日期部分。",
        )
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise InvalidIdentityBirthDate(
            "The date of birth inside the identity number is not a real calendar date "
            "(month or day out of range). Check the birth-date digits against the "
            "identity card.",
            message_zh="公民身份号码中的出生日期不是真实存在的日期（月或日超出范围）。"
            "请对照居民身份证核对出生日期部分。",
        ) from None


# --------------------------------------------------------------------------- value class


@attrs.frozen(repr=False)
class IdentityNumber:
    """A validated identity number, always held in its 18-character form.

    Build one with :meth:`parse`. The constructor checks format, checksum and
    date shape too (but cannot know *today*), so an instance is never
    malformed. ``repr`` shows only the masked form.
    """

    number: str
    """The 18-character normalized form (uppercase ``X``)."""
    legacy: bool = False
    """True if the number was given in the legacy 15-digit form."""
    _birth: datetime.date = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.number, str):
            raise InvalidIdentityFormat()
        # Kept: rules read the birth date several times per worker.
        object.__setattr__(self, "_birth", _check_shape(self.number))

    @classmethod
    def parse(cls, raw: object, *, today: datetime.date | None = None) -> IdentityNumber:
        """Validate *raw* (18 or legacy 15 characters) and return the number.

        Checks, in this order: format (raises :class:`InvalidIdentityFormat`), the
        check digit of an 18-character number (:class:`InvalidIdentityChecksum`), and
        the birth date -- a real date, year >= 1880, and not after *today*
        when given (:class:`InvalidIdentityBirthDate`). Whitespace is ignored and
        ``x`` accepted for ``X``. Any non-string raises :class:`InvalidIdentityFormat`.
        """
        if not isinstance(raw, str):
            raise InvalidIdentityFormat(
                "The identity number must be given as text.",
                message_zh="公民身份号码必须以文本形式填写。",
            )
        s = compact(raw)
        if len(s) == 15 and _is_digits(s):
            if s[0] == "0":
                raise _leading_zero()
            result = cls(to_18(s), legacy=True)
        elif len(s) == 18:
            result = cls(s, legacy=False)
        else:
            raise InvalidIdentityFormat()
        if today is not None and result.birth_date > today:
            raise InvalidIdentityBirthDate(
                "The date of birth inside the identity number is in the future. Check "
                "the birth-date digits against the identity card.",
                message_zh="公民身份号码中的出生日期晚于今天。请对照居民身份证核对出生日期部分。",
            )
        return result

    @property
    def area_code(self) -> str:
        """The six-digit administrative division code where it was issued."""
        return self.number[:6]

    @property
    def birth_date(self) -> datetime.date:
        """The date of birth (positions 7-14)."""
        return self._birth

    @property
    def gender(self) -> str:
        """``"male"`` if the 17th digit is odd, else ``"female"``."""
        return "male" if int(self.number[16]) % 2 else "female"

    @property
    def masked(self) -> str:
        """The number with its birth date hidden: ``371002********1239``."""
        return mask(self.number)

    def __repr__(self) -> str:
        return f"IdentityNumber({self.masked!r}, legacy={self.legacy!r})"


# --------------------------------------------------------------------------- functions


def is_valid(raw: object, *, today: datetime.date | None = None) -> bool:
    """True if :meth:`IdentityNumber.parse` accepts *raw*; never raises."""
    try:
        IdentityNumber.parse(raw, today=today)
    except InvalidIdentityNumber:
        return False
    return True


def validate(raw: object, *, today: datetime.date | None = None) -> str:
    """Return the 18-character form of *raw* or raise :class:`InvalidIdentityNumber`."""
    return IdentityNumber.parse(raw, today=today).number


def mask(raw: str) -> str:
    """Hide the personal part of an identity number; never raises.

    Works on the :func:`compact` form. 18 characters or more: keep the first
    6 and the last 4 (``371002********1239``). 15 characters: keep the first
    6 and the last 3 (``371002******239``). Anything else is all ``*`` of the
    same length; a non-string gives ``""``.
    """
    if not isinstance(raw, str):
        return ""
    s = compact(raw)
    n = len(s)
    if n >= 18:
        return s[:6] + "*" * (n - 10) + s[-4:]
    if n == 15:
        return s[:6] + "*" * 6 + s[-3:]
    return "*" * n


def canonical_id(raw: str) -> str:
    """The key a worker is known by everywhere: the 18-character form of an
    identity number, whatever form it was given in.

    Full-width digits and ``Ｘ`` count as their ASCII forms, whitespace
    (the ideographic space U+3000 too) and invisible format characters (a
    zero-width space, say) are left out, ``x`` is ``X``, and a 15-digit legacy
    number becomes its 18-character form (:func:`to_18`), so that
    ``canonical_id(to_18(x)) == canonical_id(x)`` for every 15-digit ``x``,
    even one whose birth date is impossible. Text that is no identity number
    at all comes back cleaned that way and upper-cased; this function never
    judges validity (the rules do).

    The workflow, the rules and the bureau compare identities through this one
    function, so they agree on who is who.

    It is called for the same few numbers over and over (a collection of
    20,000 workers asks some ten times per worker), so the answers for short
    texts are remembered (up to :data:`_CANONICAL_KEPT` of them, then
    forgotten all at once); an answer depends on the text alone.
    """
    if type(raw) is str:
        hit = _CANONICAL.get(raw)
        if hit is not None:
            return hit
        result = _canonical_id(raw)
        if len(raw) <= _CANONICAL_LONGEST:
            if len(_CANONICAL) >= _CANONICAL_KEPT:
                _CANONICAL.clear()
            _CANONICAL[raw] = result
        return result
    return _canonical_id(raw)


_CANONICAL: dict[str, str] = {}
"""Answers of :func:`canonical_id` by the text it was given."""
_CANONICAL_KEPT = 1 << 16
"""How many answers :func:`canonical_id` keeps (a few MiB at most)."""
_CANONICAL_LONGEST = 64
"""Texts longer than this are not kept (no identity number is that long)."""


def _canonical_id(raw: str) -> str:
    text = _fold(raw)
    try:
        return IdentityNumber.parse(text).number
    except InvalidIdentityNumber:
        pass
    s = compact(text).upper()
    if len(s) == 15 and _is_digits(s):
        return to_18(s)
    return s


#: The separator of transcribed minority names (买买提·艾力) as the identity
#: card prints it (GB 18030 A1A4): U+00B7 MIDDLE DOT.
MIDDLE_DOT = "\u00b7"

#: Characters typed for that separator: the middle dot itself, the bullet,
#: the hyphenation point (Big5 input), the bullet and dot operators, the
#: Japanese middle dots (full and half width), the Greek ano teleia, the word
#: separator middle dot, the Latin sinological dot, the small, full-width and
#: ASCII full stops.
_DOTS = frozenset("\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65\u0387\u2e31\ua78f\ufe52\uff0e.")

#: The full-width forms of ASCII (U+FF01..U+FF5E) and the ideographic space:
#: exactly the NFKC mapping of these characters, and nothing else.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _fold(text: str) -> str:
    """Full-width ASCII to ASCII, U+3000 to a space, format characters (Cf:
    zero-width spaces and joiners, the BOM, bidi marks) left out."""
    if text.isascii():
        return text
    text = text.translate(_WIDTH)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _wide(ch: str) -> bool:
    """A character of Chinese (East Asian wide) text: the ideographs, their
    extensions and private-use code points that systems give rare characters."""
    return (
        unicodedata.east_asian_width(ch) in ("W", "F")
        or 0x20000 <= ord(ch) <= 0x3FFFF
        or unicodedata.category(ch) == "Co"
    )


def canonical_name(name: str) -> str:
    """A name in the form it is compared in: two names are the same name when
    their ``canonical_name`` is equal. For comparing only; keep and show the
    name as it was given.

    What is normalised, and only that (no name differs from another by these):

    * full-width ASCII letters, digits and signs (U+FF01..U+FF5E) become ASCII,
      as NFKC maps them;
    * whitespace of any kind (the ideographic space U+3000, a no-break space)
      is trimmed at both ends; inside, a run of it becomes one space, and
      none at all between two Chinese characters (张　伟, padded for
      alignment, is 张伟) or next to a middle dot;
    * every character typed for the middle dot of a transcribed minority
      name (``·`` U+00B7, ``•``, ``‧``, ``・``, ``．``, ``.`` ...) becomes
      :data:`MIDDLE_DOT`;
    * invisible format characters (zero-width space, BOM) are left out.

    Deliberately **not** applied: NFKC or NFC to the whole name. They rewrite
    Chinese characters too (NFC maps the CJK compatibility ideographs
    U+F900..U+FAFF to unified ones, NFKC also Kangxi radicals and circled
    forms), and the bureau's records hold rare characters (生僻字) as
    distinct code points. A false difference is the safe mistake (the clerk
    keeps the bureau's spelling); a false equality would let a change through
    that only the bureau window may make. Letter case is kept as well.

    Idempotent: ``canonical_name(canonical_name(x)) == canonical_name(x)``.
    """
    text = _fold(name)
    if not _DOTS.isdisjoint(text):
        text = "".join(MIDDLE_DOT if ch in _DOTS else ch for ch in text)
    words = text.split()
    if len(words) <= 1:
        return words[0] if words else ""
    out = [words[0]]
    for word in words[1:]:
        left, right = out[-1][-1], word[0]
        if left != MIDDLE_DOT and right != MIDDLE_DOT and not (_wide(left) and _wide(right)):
            out.append(" ")
        out.append(word)
    return "".join(out)
