"""Tests for pension_collect.credit_code (GB 32100-2015 unified social credit codes)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oracles import credit_check_char, org_check_char
from pension_collect import credit_code
from pension_collect.credit_code import (
    ALPHABET,
    InvalidCreditCode,
    InvalidCreditCodeChecksum,
    InvalidCreditCodeFormat,
)

#: Real codes found online (most from python-stdnum's test suite, the Weihai
#: 91371000MA3... ones from public invoices); each satisfies both checks.
REAL_CODES = [
    "91110000600037341L",
    "91110000710926094P",
    "121200004013590816",
    "9144030071526726XG",
    "91330100716105852F",
    "91310115MA1K3BTP2B",
    "91340600MA2PBM9HXD",
    "91420684MA4927PJ7B",
    "91620105L015101280",
    "91620105MA73NBBLXE",
    "91371000MA3EMNC04W",
    "91371000MA3N6WYW1J",
    "91371000MA3T67Q306",
]

#: The example of the project specification: its position-18 check is right, but
#: its organization code MA3C0EXA needs check 3 at position 17, not 1.
SPEC_EXAMPLE = "91371000MA3C0EXA1W"
SPEC_EXAMPLE_CORRECTED = "91371000MA3C0EXA33"

DIGITS = "0123456789"
FORBIDDEN = "IOZSV"
ORG_VALUE = {c: i for i, c in enumerate(DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ")}

JUNK: list[object] = [
    None,
    12,
    91371000,
    1.5,
    b"91110000600037341L",
    bytearray(b"91110000600037341L"),
    "€",
    object(),
    ["91110000600037341L"],
    "",
    "    ",
    "９１１１００００６０００３７３４１Ｌ",  # full-width
    "9111000060003734\ufb00",  # ligature 'ff' must not uppercase into FF
    "91110000600037341L\x00",
    "91110000600037341L\u200b",
    "\ud800" * 18,
]


def make_code(head8: str, org8: str) -> str:
    """Build a code from positions 1-8 and an organization body, both checks by
    the standards' definitions (GB 11714, GB 32100)."""
    first17 = head8 + org8 + org_check_char(org8)
    return first17 + credit_check_char(first17)


def with_char(code: str, position: int, char: str) -> str:
    """Return *code* with the character at 0-based *position* replaced."""
    return code[:position] + char + code[position + 1 :]


def org_char_value(c: str) -> int:
    """The GB 11714 value of an organization check character."""
    return 10 if c == "X" else int(c)


def assert_raises_reason(raw: object, cls: type[InvalidCreditCode], reason: str) -> None:
    """Assert validate() raises *cls* with *reason* and the shared code."""
    with pytest.raises(cls) as info:
        credit_code.validate(raw)
    assert info.value.reason == reason
    assert info.value.code == "employer.credit-code"


codes = st.builds(
    make_code,
    st.builds(
        lambda a, b: a + b,
        st.text(alphabet=ALPHABET, min_size=2, max_size=2),
        st.text(alphabet=DIGITS, min_size=6, max_size=6),
    ),
    st.text(alphabet=ALPHABET, min_size=8, max_size=8),
)
junk = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=20),
    st.text(max_size=25),
    st.text(alphabet=ALPHABET + "abcxyz IOZSV", min_size=16, max_size=20),
)


class TestCompact:
    """compact()."""

    def test_removes_whitespace_and_uppercases(self) -> None:
        """Removes whitespace anywhere and uppercases ASCII letters."""
        assert credit_code.compact(" 91371000 ma3eMNC04w\t") == "91371000MA3EMNC04W"

    def test_uppercases_only_ascii(self) -> None:
        """Leaves non-ASCII letters alone, so a ligature never becomes two letters."""
        assert credit_code.compact("a\ufb00ß") == "A\ufb00ß"

    def test_rejects_non_string(self) -> None:
        """Raises InvalidCreditCodeFormat for a non-string."""
        with pytest.raises(InvalidCreditCodeFormat):
            credit_code.compact(None)  # type: ignore[arg-type]


class TestCheckChar:
    """check_char() (position 18)."""

    @pytest.mark.parametrize("code", REAL_CODES)
    def test_matches_real_codes(self, code: str) -> None:
        """Returns the 18th character of each real code."""
        assert credit_code.check_char(code[:17]) == code[17]

    def test_spec_example_position_18_is_right(self) -> None:
        """Finds the specification example's 18th character consistent with the first 17."""
        assert credit_code.check_char(SPEC_EXAMPLE[:17]) == "W"

    @pytest.mark.parametrize(
        "bad", ["", "9111000060003734", "91110000600037341L", "9111000060003734I", None]
    )
    def test_rejects_anything_but_17_alphabet_characters(self, bad: object) -> None:
        """Raises InvalidCreditCodeFormat unless given 17 characters of the alphabet."""
        with pytest.raises(InvalidCreditCodeFormat):
            credit_code.check_char(bad)  # type: ignore[arg-type]

    @given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
    def test_weighted_sum_with_check_is_multiple_of_31(self, first17: str) -> None:
        """Makes sum(value * 3**i) over positions 1-17 plus the check value divisible by 31."""
        c = credit_code.check_char(first17)
        total = sum(ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
        assert (total + ALPHABET.index(c)) % 31 == 0


class TestOrganizationCheckChar:
    """organization_check_char() (position 17, GB 11714)."""

    @pytest.mark.parametrize(
        ("org8", "check"),
        [("71610585", "2"), ("71526726", "X"), ("MA01G0FB", "0"), ("MA3EMNC0", "4")],
    )
    def test_known_organization_codes(self, org8: str, check: str) -> None:
        """Returns the check character of real organization codes (X for ten, 0 for eleven)."""
        assert credit_code.organization_check_char(org8) == check

    def test_spec_example_needs_3(self) -> None:
        """Computes 3, not the 1 the specification example has, for MA3C0EXA."""
        assert credit_code.organization_check_char(SPEC_EXAMPLE[8:16]) == "3"
        assert SPEC_EXAMPLE[16] == "1"

    @pytest.mark.parametrize(("org8", "check"), [("0000000A", "2"), ("0000000Z", "7")])
    def test_letters_count_from_ten(self, org8: str, check: str) -> None:
        """Counts A as 10 and Z as 35, including letters the credit-code alphabet lacks."""
        assert credit_code.organization_check_char(org8) == check

    @pytest.mark.parametrize("bad", ["", "7161058", "716105852", "ma3c0exa", "MA3C0EX-", None])
    def test_rejects_anything_but_8_digits_or_capitals(self, bad: object) -> None:
        """Raises InvalidCreditCodeFormat unless given 8 digits or capital letters."""
        with pytest.raises(InvalidCreditCodeFormat):
            credit_code.organization_check_char(bad)  # type: ignore[arg-type]

    @given(st.text(alphabet=DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=8))
    def test_weighted_sum_with_check_is_multiple_of_11(self, org8: str) -> None:
        """Makes the weighted sum plus the check value divisible by 11."""
        c = credit_code.organization_check_char(org8)
        weights = (3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(ORG_VALUE[ch] * w for ch, w in zip(org8, weights, strict=True))
        assert (total + org_char_value(c)) % 11 == 0


class TestValidate:
    """validate()."""

    @pytest.mark.parametrize("code", REAL_CODES)
    def test_accepts_real_codes(self, code: str) -> None:
        """Returns each real code unchanged."""
        assert credit_code.validate(code) == code

    def test_rejects_spec_example_on_organization_check(self) -> None:
        """Rejects the specification example because its organization code check fails."""
        assert_raises_reason(SPEC_EXAMPLE, InvalidCreditCodeChecksum, "org-checksum")

    def test_accepts_corrected_spec_example(self) -> None:
        """Accepts the specification example with the organization check fixed to 3."""
        assert credit_code.validate(SPEC_EXAMPLE_CORRECTED) == SPEC_EXAMPLE_CORRECTED

    def test_compacts(self) -> None:
        """Returns the compact form of spaced, lowercase input."""
        assert credit_code.validate(" 91371000 ma3emnc04w ") == "91371000MA3EMNC04W"

    @pytest.mark.parametrize("authority", ["Y", "N", "A", "1", "5"])
    def test_accepts_letter_and_digit_authorities(self, authority: str) -> None:
        """Accepts any alphabet character as registration authority (position 1)."""
        code = make_code(authority + "1371000", "MA3C0EXA")
        assert credit_code.validate(code) == code

    @pytest.mark.parametrize("position", range(18))
    @pytest.mark.parametrize("letter", FORBIDDEN)
    def test_rejects_forbidden_letters(self, position: int, letter: str) -> None:
        """Raises a format error for I, O, Z, S or V at any position."""
        assert_raises_reason(
            with_char(REAL_CODES[0], position, letter), InvalidCreditCodeFormat, "format"
        )

    @pytest.mark.parametrize("position", range(2, 8))
    def test_rejects_letters_in_division_code(self, position: int) -> None:
        """Raises a format error for a letter in positions 3-8, even with right checks."""
        code = make_code(with_char("91371000", position, "A"), "MA3C0EXA")
        assert_raises_reason(code, InvalidCreditCodeFormat, "format")

    @pytest.mark.parametrize("raw", ["", "91110000600037341", "91110000600037341L1", "9" * 30])
    def test_rejects_wrong_length(self, raw: str) -> None:
        """Raises a format error unless the code has 18 characters."""
        assert_raises_reason(raw, InvalidCreditCodeFormat, "format")

    def test_rejects_wrong_final_check(self) -> None:
        """Raises a checksum error with reason 'checksum' for a wrong 18th character."""
        assert_raises_reason("91110000600037341M", InvalidCreditCodeChecksum, "checksum")

    def test_rejects_wrong_organization_check(self) -> None:
        """Raises reason 'org-checksum' when only the organization check is wrong."""
        first17 = "91110000600037349"  # right one is 1
        code = first17 + credit_check_char(first17)
        assert_raises_reason(code, InvalidCreditCodeChecksum, "org-checksum")


class TestIsValid:
    """is_valid()."""

    def test_true_for_valid(self) -> None:
        """Returns True for a real code."""
        assert credit_code.is_valid("91371000MA3T67Q306") is True

    @pytest.mark.parametrize("raw", [SPEC_EXAMPLE, "91110000600037341M", "9111", None, 12])
    def test_false_for_invalid(self, raw: object) -> None:
        """Returns False for an invalid code or a non-string."""
        assert credit_code.is_valid(raw) is False


class TestExceptions:
    """The exception classes and their messages."""

    @pytest.mark.parametrize(
        ("cls", "reason"),
        [
            (InvalidCreditCodeFormat, "format"),
            (InvalidCreditCodeChecksum, "checksum"),
        ],
    )
    def test_code_and_default_reason(self, cls: type[InvalidCreditCode], reason: str) -> None:
        """Shares the code employer.credit-code and gives each subclass its reason."""
        assert issubclass(cls, InvalidCreditCode)
        assert issubclass(cls, ValueError)
        exc = cls()
        assert exc.code == cls.code == InvalidCreditCode.code == "employer.credit-code"
        assert exc.reason == reason

    @pytest.mark.parametrize(
        "raw", [SPEC_EXAMPLE, "91110000600037341M", "9111000060003734IL", "9111000060003734"]
    )
    def test_messages_in_english_and_chinese(self, raw: str) -> None:
        """Says what to do in English and Chinese, without repeating the code."""
        with pytest.raises(InvalidCreditCode) as info:
            credit_code.validate(raw)
        assert "business licence" in str(info.value)
        assert "营业执照" in info.value.message_zh
        assert raw not in str(info.value)
        assert raw[8:16] not in str(info.value)


class TestRobustness:
    """Junk input."""

    @pytest.mark.parametrize("raw", JUNK, ids=repr)
    def test_junk_raises_only_format_error(self, raw: object) -> None:
        """Raises InvalidCreditCodeFormat, never TypeError or AttributeError, for junk."""
        assert_raises_reason(raw, InvalidCreditCodeFormat, "format")
        assert credit_code.is_valid(raw) is False

    @given(junk)
    def test_arbitrary_input_raises_only_module_errors(self, raw: object) -> None:
        """Either validates or raises InvalidCreditCode, for any input."""
        result: str | None = None
        reason: str | None = None
        try:
            result = credit_code.validate(raw)
        except InvalidCreditCode as exc:
            reason = exc.reason
        if result is None:
            assert reason in {"format", "checksum", "org-checksum"}
        else:
            assert len(result) == 18
            assert set(result) <= set(ALPHABET)


class TestProperties:
    """Hypothesis properties over generated codes."""

    @given(codes)
    def test_generated_codes_validate(self, code: str) -> None:
        """Validates any alphabet head, digit division code and organization body."""
        assert credit_code.validate(code) == code
        assert credit_code.validate(code.lower()) == code

    @given(codes, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
    def test_any_single_substitution_is_invalid(
        self, code: str, position: int, replacement: str
    ) -> None:
        """Makes a valid code invalid by changing any one character."""
        assume(code[position] != replacement)
        assert credit_code.is_valid(with_char(code, position, replacement)) is False


class TestErrorTree:
    """Credit-code errors belong to the library's one error tree."""

    @pytest.mark.parametrize(
        "raw", ["91371000MA3C0EXA3", "91371000MA3C0EXA34", "IO371000MA3C0EXA33"]
    )
    def test_every_refusal_is_a_pension_collect_error(self, raw: str) -> None:
        from pension_collect.errors import PensionCollectError

        with pytest.raises(PensionCollectError) as info:
            credit_code.validate(raw)
        assert isinstance(info.value, ValueError)
        assert info.value.code == "employer.credit-code"
