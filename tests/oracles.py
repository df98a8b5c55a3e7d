"""Check characters computed from the standards' definitions, for the tests.

Independent of pension_collect on purpose: a test that built its valid
identity numbers or credit codes with :func:`pension_collect.identity.check_char`
or :func:`pension_collect.credit_code.check_char` would accept whatever those
functions compute. Each function below is the standard's formula written out;
``tests/test_identity.py`` and ``tests/test_credit_code.py`` also hold
published numbers and codes that these formulas must reproduce.
"""

from __future__ import annotations

#: GB 11643 / ISO 7064 MOD 11-2: the weight of position i (1..17) is 2**(18 - i) mod 11.
ID_WEIGHTS = tuple(2 ** (18 - i) % 11 for i in range(1, 18))
#: GB 32100's 31-character code alphabet: the digits, then the capitals without I O Z S V.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100: the weight of position i (1..17) is 3**(i - 1) mod 31.
CREDIT_WEIGHTS = tuple(3 ** (i - 1) % 31 for i in range(1, 18))
#: GB 11714 organization codes: the weights of positions 1..8.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2: the character c with (weighted sum + c) mod 11 == 1; ten is X."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def org_check_char(org8: str) -> str:
    """GB 11714: 11 - (weighted sum mod 11), letters counting from A = 10; 10 is X, 11 is 0."""
    total = sum(int(c, 36) * w for c, w in zip(org8, ORG_WEIGHTS, strict=True))
    value = (11 - total % 11) % 11
    return "X" if value == 10 else str(value)


def credit_check_char(first17: str) -> str:
    """GB 32100: 31 - (weighted sum mod 31) in the code alphabet; 31 is 0."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]
