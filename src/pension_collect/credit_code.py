"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

A code is 18 characters from the alphabet ``0-9 A-H J-N P-R T U W-Y`` (31
characters; no ``I O Z S V``)::

    9 1 371000 MA3C0EXA3 3
    ^ ^ ^      ^         ^check (position 18)
    | | |      organization code, GB 11714 (positions 9-17, own check at 17)
    | | administrative division code of the registering authority (3-8)
    | category of the organization (2)
    registration authority (1)

Position 1 is accepted as any character of the alphabet: besides the digits,
letter authorities such as ``Y`` (other), ``N`` (agriculture) and ``A``
exist (python-stdnum's ``cn.uscc`` wrongly rejects them). Position 2 is any
character of the alphabet too; positions 3-8 must be digits. Neither the
division code nor the authority/category pair is checked against a table.

Two check characters are verified:

* position 17, the GB 11714 check of the organization code: weights
  ``3 7 9 10 5 8 4 2`` over the values of positions 9-16 (digits as
  themselves, letters ``A``-``Z`` as 10-35), ``c = 11 - sum % 11``, 10 is
  ``X`` and 11 is ``0``;
* position 18, the GB 32100 check: weights ``3**i mod 31`` (``1 3 9 27 19
  ...``) over the alphabet values of positions 1-17, ``c = 31 - sum % 31``,
  31 is 0, mapped back through the alphabet.

Finding on the organization-code check (researched before enforcing it):
every real code we could find satisfies it -- the 147 real codes in
python-stdnum's test suite (old numeric org codes, post-2015 ``MA...`` codes
and individual businesses ``92...``), and eight real Weihai codes
``91371000MA3...`` seen in invoices and a code-signing certificate. Codes
issued since 2015 embed an organization code assigned under GB 11714, so
they carry its check character. The check is therefore enforced; a failure
is reported with ``reason == "org-checksum"``. Note that the example code
``91371000MA3C0EXA1W`` given in this project's specification FAILS it:
its position-18 check is right, but the organization code ``MA3C0EXA`` needs
check ``3`` at position 17, not ``1`` (with ``3`` the code would be
``91371000MA3C0EXA33``). It looks invented, not issued.
"""

from __future__ import annotations

from typing import ClassVar

from .errors import PensionCollectError

__all__ = [
    "ALPHABET",
    "InvalidCreditCode",
    "InvalidCreditCodeChecksum",
    "InvalidCreditCodeFormat",
    "check_char",
    "compact",
    "is_valid",
    "organization_check_char",
    "validate",
]

#: The 31 characters a code may use, in the order of their values 0-30.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
#: GB 32100 weights of positions 1-17 (3**i mod 31).
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714 weights of the eight organization-code characters.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# --------------------------------------------------------------------------- errors


class InvalidCreditCode(PensionCollectError, ValueError):
    """The text is not a valid unified social credit code.

    ``str(error)`` says in English what is wrong and what to do;
    :attr:`message_zh` says the same in Chinese; :attr:`reason` says which
    check failed (``"format"``, ``"checksum"`` or ``"org-checksum"``).
    """

    #: A stable, dotted code naming the kind of error (same for all subclasses).
    code: ClassVar[str] = "employer.credit-code"
    _default_reason: ClassVar[str] = "invalid"
    _default_message: ClassVar[str] = (
        "The unified social credit code is not valid. Check it against the business "
        "licence and enter it again."
    )
    _default_message_zh: ClassVar[str] = "统一社会信用代码无效。请对照营业执照核对后重新填写。"

    def __init__(
        self,
        message: str | None = None,
        *,
        message_zh: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.reason: str = reason if reason is not None else self._default_reason
        self.message: str = message if message is not None else self._default_message
        self.message_zh: str = message_zh if message_zh is not None else self._default_message_zh
        super().__init__(self.message)


class InvalidCreditCodeFormat(InvalidCreditCode):
    """Wrong length, a character outside the alphabet, or not a string."""

    _default_reason: ClassVar[str] = "format"
    _default_message: ClassVar[str] = (
        "The unified social credit code has the wrong format: it must be 18 characters, "
        "digits and capital letters except I, O, Z, S and V, with digits in positions "
        "3-8. Check it against the business licence and enter it again."
    )
    _default_message_zh: ClassVar[str] = (
        "统一社会信用代码格式不正确：应为18位数字或大写字母（不使用I、O、Z、S、V），"
        "第3至8位为数字。请对照营业执照核对后重新填写。"
    )


class InvalidCreditCodeChecksum(InvalidCreditCode):
    """A check character does not match (usually a typo).

    :attr:`reason` is ``"checksum"`` for the final (18th) character and
    ``"org-checksum"`` for the organization code's own check (17th).
    """

    _default_reason: ClassVar[str] = "checksum"
    _default_message: ClassVar[str] = (
        "The unified social credit code's check character (the 18th) does not match "
        "the first 17 characters, so at least one character was mistyped. Copy the "
        "code again from the business licence, character by character."
    )
    _default_message_zh: ClassVar[str] = (
        "统一社会信用代码校验码（第18位）与前17位不符，至少有一位录入错误。"
        "请对照营业执照逐位重新录入。"
    )


def _org_checksum_error() -> InvalidCreditCodeChecksum:
    return InvalidCreditCodeChecksum(
        "The organization code inside the unified social credit code (characters "
        "9-17) fails its own check, so at least one of those characters is wrong "
        "(usually mistyped). Copy the code again from the business licence, character "
        "by character.",
        message_zh="统一社会信用代码中的组织机构代码（第9至17位）校验不通过，"
        "至少有一位有误（通常是录入错误）。请对照营业执照逐位重新录入。",
        reason="org-checksum",
    )


# --------------------------------------------------------------------------- functions


def compact(raw: str) -> str:
    """Remove all whitespace and uppercase ASCII letters; nothing is validated.

    Only ASCII letters are uppercased (so e.g. a ligature cannot turn into
    valid letters). Raises :class:`InvalidCreditCodeFormat` for a non-string.
    """
    if not isinstance(raw, str):
        raise InvalidCreditCodeFormat(
            "The unified social credit code must be given as text.",
            message_zh="统一社会信用代码必须以文本形式填写。",
        )
    return "".join(raw.split()).translate(_ASCII_UPPER)


def check_char(first17: str) -> str:
    """Return the GB 32100 check character (position 18) for 17 characters.

    Raises :class:`InvalidCreditCodeFormat` unless *first17* is 17 characters
    of :data:`ALPHABET`.
    """
    if not isinstance(first17, str) or len(first17) != 17 or not all(c in _VALUE for c in first17):
        raise InvalidCreditCodeFormat()
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organization_check_char(org8: str) -> str:
    """Return the GB 11714 check character for an 8-character organization code.

    Digits count as themselves and capital letters ``A``-``Z`` as 10-35.
    Raises :class:`InvalidCreditCodeFormat` for anything else.
    """
    if (
        not isinstance(org8, str)
        or len(org8) != 8
        or not all(c in _DIGITS or c in _UPPER for c in org8)
    ):
        raise InvalidCreditCodeFormat(
            "An organization code body must be 8 digits or capital letters.",
            message_zh="组织机构代码本体应为8位数字或大写字母。",
        )
    total = sum(
        (int(c) if c in _DIGITS else ord(c) - ord("A") + 10) * w
        for c, w in zip(org8, _ORG_WEIGHTS, strict=True)
    )
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def validate(raw: object) -> str:
    """Return the compact form of *raw* or raise :class:`InvalidCreditCode`.

    Checks the format, then the position-18 check character (``reason ==
    "checksum"``), then the organization code's check at position 17
    (``reason == "org-checksum"``).
    """
    if not isinstance(raw, str):
        raise InvalidCreditCodeFormat(
            "The unified social credit code must be given as text.",
            message_zh="统一社会信用代码必须以文本形式填写。",
        )
    s = compact(raw)
    if len(s) != 18 or not all(c in _VALUE for c in s) or not all(c in _DIGITS for c in s[2:8]):
        raise InvalidCreditCodeFormat()
    if check_char(s[:17]) != s[17]:
        raise InvalidCreditCodeChecksum()
    if organization_check_char(s[8:16]) != s[16]:
        raise _org_checksum_error()
    return s


def is_valid(raw: object) -> bool:
    """True if :func:`validate` accepts *raw*; never raises."""
    try:
        validate(raw)
    except InvalidCreditCode:
        return False
    return True
