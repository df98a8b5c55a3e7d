"""Tests for pension_collect.identity (GB 11643-1999 identity numbers)."""

from __future__ import annotations

import datetime

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oracles import id_check_char
from pension_collect import identity
from pension_collect.identity import (
    IdentityNumber,
    InvalidIdentityBirthDate,
    InvalidIdentityChecksum,
    InvalidIdentityFormat,
    InvalidIdentityNumber,
)

#: Checked by hand against the ISO 7064 MOD 11-2 definition (and by TestCheckDigit).
KNOWN_VALID = [
    # number, area, birth date, gender
    ("371002196503021239", "371002", datetime.date(1965, 3, 2), "male"),
    ("371082197011152423", "371082", datetime.date(1970, 11, 15), "female"),
    ("371083197506203516", "371083", datetime.date(1975, 6, 20), "male"),
    ("11010519491231002X", "110105", datetime.date(1949, 12, 31), "female"),
]
KNOWN_NUMBERS = [row[0] for row in KNOWN_VALID]

DIGITS = "0123456789"
WEIGHTS_2_POW = [pow(2, 17 - i, 11) for i in range(17)]  # ISO 7064 MOD 11-2 definition

JUNK: list[object] = [
    None,
    12,
    371002196503021239,
    12.5,
    b"371002196503021239",
    bytearray(b"371002196503021239"),
    "€",
    object(),
    ["371002196503021239"],
    "",
    "   ",
    "３７１００２１９６５０３０２１２３９",  # full-width digits: str.isdigit() is True
    "٣٧١٠٠٢١٩٦٥٠٣٠٢١٢٣٩",  # Arabic-Indic digits
    "371002196503021239\x00",
    "371002196503021239\u200b",  # zero-width space is not whitespace
    "371002-19650302-1239",
    "\ud800" * 18,
    "X" * 18,
]


def make_number(area: str, born: datetime.date, seq: str) -> str:
    """Build an 18-character number, its check digit by the ISO 7064 definition."""
    first17 = f"{area}{born.year:04d}{born.month:02d}{born.day:02d}{seq}"
    return first17 + id_check_char(first17)


def make_raw_first17(area: str, ymd: str, seq: str) -> str:
    """Build a number from a raw (possibly impossible) YYYYMMDD with a right check digit."""
    first17 = area + ymd + seq
    return first17 + id_check_char(first17)


def char_value(c: str) -> int:
    """The ISO 7064 value of a check character (X is ten)."""
    return 10 if c == "X" else int(c)


def assert_no_part_of(number: str, exc: BaseException) -> None:
    """Fail if any 4-character run of *number* appears in what the exception shows."""
    assert isinstance(exc, InvalidIdentityNumber)
    shown = " ".join([str(exc), repr(exc), exc.message_zh, repr(exc.args)])
    for i in range(len(number) - 3):
        assert number[i : i + 4] not in shown, "exception text leaks part of the number"


areas = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text(alphabet=DIGITS, min_size=5, max_size=5),
)
births = st.dates(min_value=datetime.date(1880, 1, 1), max_value=datetime.date(2099, 12, 31))
seqs = st.text(alphabet=DIGITS, min_size=3, max_size=3)
valid_numbers = st.builds(make_number, areas, births, seqs)
junk = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=20),
    st.text(max_size=25),
    st.text(alphabet=DIGITS + "Xx ", min_size=14, max_size=19),
    st.lists(st.integers(), max_size=3),
)


class TestCompact:
    """compact()."""

    def test_removes_all_whitespace(self) -> None:
        """Removes spaces, tabs and the ideographic space anywhere in the text."""
        assert identity.compact(" 371002 19650302\t1239\u3000") == "371002196503021239"

    def test_uppercases_x(self) -> None:
        """Turns a lowercase x into X."""
        assert identity.compact("11010519491231002x") == "11010519491231002X"

    def test_leaves_other_characters(self) -> None:
        """Leaves other characters as they are, without validating."""
        assert identity.compact("ab-1") == "ab-1"

    def test_rejects_non_string(self) -> None:
        """Raises InvalidIdentityFormat for a non-string."""
        with pytest.raises(InvalidIdentityFormat):
            identity.compact(12)  # type: ignore[arg-type]


class TestCheckDigit:
    """check_char()."""

    @pytest.mark.parametrize("number", KNOWN_NUMBERS)
    def test_matches_known_numbers(self, number: str) -> None:
        """Returns the 18th character of each known valid number."""
        assert identity.check_char(number[:17]) == number[17]

    def test_returns_x_for_ten(self) -> None:
        """Returns X when the check value is ten."""
        assert identity.check_char("11010519491231002") == "X"

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "1234",
            "3710021965030212",
            "371002196503021239",
            "3710021965030212a",
            "３７１００２１９６５０３０２１２３",
            None,
        ],
    )
    def test_rejects_anything_but_17_ascii_digits(self, bad: object) -> None:
        """Raises InvalidIdentityFormat unless given exactly 17 ASCII digits."""
        with pytest.raises(InvalidIdentityFormat):
            identity.check_char(bad)  # type: ignore[arg-type]

    @given(st.text(alphabet=DIGITS, min_size=17, max_size=17))
    def test_satisfies_iso_7064_mod_11_2(self, first17: str) -> None:
        """Makes sum(a_i * 2**(18-i)) over all 18 characters congruent to 1 mod 11."""
        c = identity.check_char(first17)
        total = sum(int(d) * w for d, w in zip(first17, WEIGHTS_2_POW, strict=True))
        assert (total + char_value(c)) % 11 == 1


class TestTo18:
    """to_18()."""

    def test_converts_known_number(self) -> None:
        """Inserts 19 before the year and appends the check digit."""
        assert identity.to_18("371002650302123") == "371002196503021239"

    def test_compacts_first(self) -> None:
        """Ignores whitespace in the legacy number."""
        assert identity.to_18(" 371002 650302 123 ") == "371002196503021239"

    @pytest.mark.parametrize(
        "bad", ["37100265030212", "3710026503021234", "37100265030212X", "", None]
    )
    def test_rejects_anything_but_15_digits(self, bad: object) -> None:
        """Raises InvalidIdentityFormat unless given 15 digits."""
        with pytest.raises(InvalidIdentityFormat):
            identity.to_18(bad)  # type: ignore[arg-type]


class TestExceptions:
    """The exception classes and their messages."""

    @pytest.mark.parametrize(
        ("cls", "code"),
        [
            (InvalidIdentityFormat, "person.id-format"),
            (InvalidIdentityChecksum, "person.id-checksum"),
            (InvalidIdentityBirthDate, "person.id-birth-date"),
        ],
    )
    def test_codes_and_hierarchy(self, cls: type[InvalidIdentityNumber], code: str) -> None:
        """Gives each subclass its stable code under InvalidIdentityNumber and ValueError."""
        assert cls.code == code
        assert issubclass(cls, InvalidIdentityNumber)
        assert issubclass(cls, ValueError)
        exc = cls()
        assert exc.code == code
        assert str(exc)
        assert exc.message_zh

    @pytest.mark.parametrize(
        ("raw", "cls"),
        [
            ("371002196503021238", InvalidIdentityChecksum),
            ("37100219650302123", InvalidIdentityFormat),
            ("3710021965030212399", InvalidIdentityFormat),
            ("37100219650302123A", InvalidIdentityFormat),
            (make_raw_first17("371002", "19650230", "123"), InvalidIdentityBirthDate),
            (make_raw_first17("371002", "18701201", "123"), InvalidIdentityBirthDate),
            (make_raw_first17("071002", "19650302", "123"), InvalidIdentityFormat),
            ("071002650302123", InvalidIdentityFormat),
        ],
    )
    def test_messages_never_contain_the_number(
        self, raw: str, cls: type[InvalidIdentityNumber]
    ) -> None:
        """Says what is wrong in English and Chinese without any part of the number."""
        with pytest.raises(cls) as info:
            identity.validate(raw)
        assert_no_part_of(raw, info.value)
        assert "identity card" in str(info.value)
        assert "身份证" in info.value.message_zh
        assert info.value.__cause__ is None

    def test_future_birth_message_never_contains_the_number(self) -> None:
        """Reports a future birth date without any part of the number."""
        raw = "371002196503021239"
        with pytest.raises(InvalidIdentityBirthDate) as info:
            identity.validate(raw, today=datetime.date(1965, 3, 1))
        assert_no_part_of(raw, info.value)
        assert "future" in str(info.value)


class TestIdentityNumber:
    """IdentityNumber and IdentityNumber.parse()."""

    @pytest.mark.parametrize(("number", "area", "born", "gender"), KNOWN_VALID)
    def test_parses_known_numbers(
        self, number: str, area: str, born: datetime.date, gender: str
    ) -> None:
        """Exposes area code, birth date and gender of each known valid number."""
        parsed = IdentityNumber.parse(number)
        assert parsed.number == number
        assert parsed.legacy is False
        assert parsed.area_code == area
        assert parsed.birth_date == born
        assert parsed.gender == gender
        assert type(parsed.gender) is str

    def test_accepts_lowercase_x_and_spaces(self) -> None:
        """Normalizes spaces and a lowercase x."""
        assert IdentityNumber.parse(" 110105 19491231 002x ").number == "11010519491231002X"

    def test_parses_legacy_15_digit_number(self) -> None:
        """Converts a 15-digit number to 18 characters and marks it legacy."""
        parsed = IdentityNumber.parse("371002650302123")
        assert parsed.number == "371002196503021239"
        assert parsed.legacy is True
        assert parsed.birth_date == datetime.date(1965, 3, 2)
        assert parsed.gender == "male"

    def test_legacy_equals_constructed(self) -> None:
        """Compares equal to an instance built from the 18-character form."""
        assert IdentityNumber.parse("371002650302123") == IdentityNumber(
            "371002196503021239", legacy=True
        )
        assert IdentityNumber.parse("371002650302123") != IdentityNumber.parse("371002196503021239")

    def test_masked(self) -> None:
        """Keeps the first 6 and the last 4 characters."""
        assert IdentityNumber.parse("371002196503021239").masked == "371002********1239"

    def test_repr_and_str_hide_the_number(self) -> None:
        """Shows only the masked form in repr() and str()."""
        parsed = IdentityNumber.parse("371002196503021239")
        for text in (repr(parsed), str(parsed), f"{parsed}"):
            assert "371002********1239" in text
            assert "19650302" not in text
            assert "371002196503021239" not in text

    def test_is_frozen(self) -> None:
        """Refuses attribute assignment."""
        parsed = IdentityNumber.parse("371002196503021239")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            parsed.number = "371082197011152423"  # type: ignore[misc]

    def test_rejects_wrong_check_digit(self) -> None:
        """Raises InvalidIdentityChecksum when the 18th character does not match."""
        with pytest.raises(InvalidIdentityChecksum):
            IdentityNumber.parse("371002196503021238")

    def test_rejects_wrong_check_x(self) -> None:
        """Raises InvalidIdentityChecksum for an X where a digit belongs."""
        with pytest.raises(InvalidIdentityChecksum):
            IdentityNumber.parse("37100219650302123X")

    @pytest.mark.parametrize("ymd", ["19650230", "19651301", "19650001", "19650300", "19000229"])
    def test_rejects_impossible_dates(self, ymd: str) -> None:
        """Raises InvalidIdentityBirthDate for a date that does not exist."""
        with pytest.raises(InvalidIdentityBirthDate):
            IdentityNumber.parse(make_raw_first17("371002", ymd, "123"))

    def test_accepts_leap_day(self) -> None:
        """Accepts 29 February of a leap year."""
        number = make_raw_first17("371002", "20000229", "123")
        assert IdentityNumber.parse(number).birth_date == datetime.date(2000, 2, 29)

    def test_rejects_legacy_impossible_date(self) -> None:
        """Raises InvalidIdentityBirthDate for a 15-digit number with an impossible date."""
        with pytest.raises(InvalidIdentityBirthDate):
            IdentityNumber.parse("371002650230123")

    def test_birth_year_bounds(self) -> None:
        """Accepts 1880 and refuses 1879."""
        ok = make_number("371002", datetime.date(1880, 1, 1), "123")
        assert IdentityNumber.parse(ok).birth_date.year == 1880
        with pytest.raises(InvalidIdentityBirthDate):
            IdentityNumber.parse(make_number("371002", datetime.date(1879, 12, 31), "123"))

    def test_today_bounds_birth_date(self) -> None:
        """Accepts a birth on today's date and refuses one after it."""
        number = "371002196503021239"
        assert IdentityNumber.parse(number, today=datetime.date(1965, 3, 2)).number == number
        with pytest.raises(InvalidIdentityBirthDate):
            IdentityNumber.parse(number, today=datetime.date(1965, 3, 1))

    def test_future_date_allowed_without_today(self) -> None:
        """Does not judge a future birth date when today is not given."""
        number = make_number("371002", datetime.date(2099, 1, 1), "123")
        assert IdentityNumber.parse(number).birth_date == datetime.date(2099, 1, 1)

    def test_future_legacy_date_refused_with_today(self) -> None:
        """Refuses a legacy number born after today."""
        with pytest.raises(InvalidIdentityBirthDate):
            IdentityNumber.parse("371002650302123", today=datetime.date(1960, 1, 1))

    @pytest.mark.parametrize(
        "raw", [make_raw_first17("071002", "19650302", "123"), "071002650302123"]
    )
    def test_rejects_leading_zero(self, raw: str) -> None:
        """Raises InvalidIdentityFormat when the area code starts with 0."""
        with pytest.raises(InvalidIdentityFormat):
            IdentityNumber.parse(raw)

    def test_area_code_not_checked_against_birth_year(self) -> None:
        """Accepts an area code created after the holder's birth (371082 dates from 1988)."""
        parsed = IdentityNumber.parse("371082197011152423")
        assert parsed.area_code == "371082"
        assert parsed.birth_date.year < 1988

    def test_area_code_not_checked_against_any_table(self) -> None:
        """Accepts an area code that has never existed."""
        number = make_number("999999", datetime.date(1970, 1, 1), "001")
        assert IdentityNumber.parse(number).area_code == "999999"

    @pytest.mark.parametrize(
        ("raw", "cls"),
        [
            ("371002196503021238", InvalidIdentityChecksum),
            ("37100219650302123x", InvalidIdentityFormat),
            ("371002650302123", InvalidIdentityFormat),
            (make_raw_first17("371002", "19650230", "123"), InvalidIdentityBirthDate),
        ],
    )
    def test_constructor_validates(self, raw: str, cls: type[InvalidIdentityNumber]) -> None:
        """Refuses to build an instance from anything but a valid 18-character form."""
        with pytest.raises(cls):
            IdentityNumber(raw)

    def test_constructor_rejects_non_string(self) -> None:
        """Raises InvalidIdentityFormat when built from a non-string."""
        with pytest.raises(InvalidIdentityFormat):
            IdentityNumber(371002196503021239)  # type: ignore[arg-type]


class TestIsValid:
    """is_valid()."""

    @pytest.mark.parametrize("number", [*KNOWN_NUMBERS, "371002650302123", "11010519491231002x"])
    def test_true_for_valid(self, number: str) -> None:
        """Returns True for valid 18- and 15-character numbers."""
        assert identity.is_valid(number) is True

    @pytest.mark.parametrize(
        "raw", ["371002196503021238", "37100219650302123", "", "371002650230123", None]
    )
    def test_false_for_invalid(self, raw: object) -> None:
        """Returns False for an invalid number."""
        assert identity.is_valid(raw) is False

    def test_respects_today(self) -> None:
        """Returns False for a birth date after today."""
        assert identity.is_valid("371002196503021239", today=datetime.date(1965, 3, 2)) is True
        assert identity.is_valid("371002196503021239", today=datetime.date(1965, 3, 1)) is False


class TestValidate:
    """validate()."""

    def test_returns_normalized_18(self) -> None:
        """Returns the 18-character form for 18, 15 and lowercase-x input."""
        assert identity.validate(" 371002 19650302 1239 ") == "371002196503021239"
        assert identity.validate("371002650302123") == "371002196503021239"
        assert identity.validate("11010519491231002x") == "11010519491231002X"

    @pytest.mark.parametrize(
        ("raw", "cls"),
        [
            ("371002196503021238", InvalidIdentityChecksum),
            ("37100219650302123", InvalidIdentityFormat),
            (make_raw_first17("371002", "19651301", "123"), InvalidIdentityBirthDate),
        ],
    )
    def test_raises_specific_errors(self, raw: str, cls: type[InvalidIdentityNumber]) -> None:
        """Raises the subclass naming what is wrong."""
        with pytest.raises(cls):
            identity.validate(raw)


class TestMask:
    """mask()."""

    @pytest.mark.parametrize(
        ("raw", "masked"),
        [
            ("371002196503021239", "371002********1239"),
            ("11010519491231002x", "110105********002X"),
            (" 371002 19650302 1239 ", "371002********1239"),
            ("371002650302123", "371002******123"),
            ("37100219650302123", "*" * 17),
            ("abc", "***"),
            ("€", "*"),
            ("", ""),
            ("12345678901234567890", "123456**********7890"),
        ],
    )
    def test_masks(self, raw: str, masked: str) -> None:
        """Keeps only the first 6 and last 4 (or 3) characters, else stars."""
        assert identity.mask(raw) == masked

    @pytest.mark.parametrize("raw", [None, 12, b"371002196503021239", object()])
    def test_non_string_gives_empty(self, raw: object) -> None:
        """Returns an empty string for a non-string instead of raising."""
        assert identity.mask(raw) == ""  # type: ignore[arg-type]


class TestRobustness:
    """Junk input."""

    @pytest.mark.parametrize("raw", JUNK, ids=repr)
    def test_junk_raises_only_invalid_format(self, raw: object) -> None:
        """Raises InvalidIdentityFormat, never TypeError or AttributeError, for junk."""
        with pytest.raises(InvalidIdentityFormat):
            IdentityNumber.parse(raw)
        assert identity.is_valid(raw) is False
        assert isinstance(identity.mask(raw), str)  # type: ignore[arg-type]

    @given(junk)
    def test_arbitrary_input_raises_only_module_errors(self, raw: object) -> None:
        """Either parses or raises InvalidIdentityNumber, for any input."""
        try:
            parsed = IdentityNumber.parse(raw, today=datetime.date(2030, 1, 1))
        except InvalidIdentityNumber:
            assert identity.is_valid(raw, today=datetime.date(2030, 1, 1)) is False
        else:
            assert len(parsed.number) == 18
        assert isinstance(identity.mask(raw), str)  # type: ignore[arg-type]


class TestProperties:
    """Hypothesis properties over generated numbers."""

    @given(areas, births, seqs)
    def test_generated_numbers_validate(self, area: str, born: datetime.date, seq: str) -> None:
        """Validates 17 digits with a real date plus the computed check digit."""
        number = make_number(area, born, seq)
        parsed = IdentityNumber.parse(number)
        assert parsed.number == number
        assert parsed.area_code == area
        assert parsed.birth_date == born
        assert parsed.gender == ("male" if int(seq[2]) % 2 else "female")

    @given(valid_numbers, st.integers(min_value=0, max_value=17), st.sampled_from(DIGITS + "X"))
    def test_any_single_substitution_is_invalid(
        self, number: str, position: int, replacement: str
    ) -> None:
        """Makes a valid number invalid by changing any one character."""
        assume(number[position] != replacement)
        changed = number[:position] + replacement + number[position + 1 :]
        assert identity.is_valid(changed) is False

    @given(
        areas,
        st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(1999, 12, 31)),
        seqs,
    )
    def test_to_18_keeps_birth_date_and_gender(
        self, area: str, born: datetime.date, seq: str
    ) -> None:
        """Converts a 15-digit number into a valid one with the same birth date and gender."""
        number15 = f"{area}{born.year % 100:02d}{born.month:02d}{born.day:02d}{seq}"
        number18 = identity.to_18(number15)
        assert identity.is_valid(number18)
        parsed18 = IdentityNumber.parse(number18)
        parsed15 = IdentityNumber.parse(number15)
        assert parsed15.number == number18
        assert parsed15.legacy is True
        assert parsed18.birth_date == parsed15.birth_date == born
        assert parsed18.gender == parsed15.gender == ("male" if int(seq[2]) % 2 else "female")

    @given(valid_numbers)
    def test_mask_never_contains_the_middle(self, number: str) -> None:
        """Hides the birth date and keeps only the first 6 and last 4 characters."""
        masked = identity.mask(number)
        assert number[6:14] not in masked
        assert masked == number[:6] + "*" * 8 + number[14:]
        assert masked == IdentityNumber.parse(number).masked
        assert number[6:14] not in repr(IdentityNumber.parse(number))


class TestErrorTree:
    """Identity errors belong to the library's one error tree (issue: one error tree)."""

    @pytest.mark.parametrize(
        "raw",
        ["12345", "37100219650302123A", "371002196503021230", "371002196502301234"],
    )
    def test_every_refusal_is_a_pension_collect_error(self, raw: str) -> None:
        from pension_collect.errors import PensionCollectError

        with pytest.raises(PensionCollectError) as info:
            identity.validate(raw)
        assert isinstance(info.value, ValueError)
        assert info.value.code.startswith("person.id")
        assert raw not in str(info.value)


# --------------------------------------------------------------------------- comparison


def _full_width(text: str) -> str:
    """ASCII letters, digits and signs as their full-width forms, a space as U+3000."""
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


#: Names as a clerk may type them: ASCII, Chinese, the spaces and dots
#: canonical_name folds, and other characters it must leave alone.
name_text = st.text(
    alphabet=st.sampled_from(
        [
            *"张伟买提艾力Zhang wei.·•‧・．",
            *("\u3000", "\u00a0", "\t", "\u200b", "\ufeff", "Ｚ", "ｗ", "０", "\uf900", "\u2f08"),
        ]
    )
    | st.characters(),
    max_size=20,
)


class TestCanonicalId:
    """identity.canonical_id: the one key workflow, rules and bureau compare by."""

    @pytest.mark.parametrize(
        "raw",
        [
            "371002196503021239",
            "371002650302123",  # legacy form
            " 371002 19650302 1239 ",
            "３７１００２１９６５０３０２１２３９",  # full-width digits
            "３７１００２６５０３０２１２３",
            "371002196503021239\u200b",  # a zero-width space pasted along
            "\u3000371002196503021239",
        ],
    )
    def test_spellings_of_one_number(self, raw: str) -> None:
        """Every spelling of one number has the same key, its 18-digit form."""
        assert identity.canonical_id(raw) == "371002196503021239"

    def test_x_in_any_form(self) -> None:
        """A check character x, X or full-width ｘ/Ｘ is X."""
        for x in "xXｘＸ":
            assert identity.canonical_id("11010519491231002" + x) == "11010519491231002X"

    def test_legacy_number_with_an_impossible_date(self) -> None:
        """Issue 9 finding 5: a 15-digit number that cannot be parsed (month 13) still
        has the key of its 18-digit form."""
        number15 = "371002651302123"
        assert not identity.is_valid(number15)
        assert identity.canonical_id(number15) == identity.canonical_id(identity.to_18(number15))

    def test_not_a_number_is_cleaned_not_judged(self) -> None:
        """Text that is no identity number comes back trimmed and upper-cased."""
        assert identity.canonical_id(" ab 12 ") == "AB12"

    @given(st.from_regex(r"[0-9]{15}", fullmatch=True))
    def test_legacy_and_18_digit_form_agree(self, number15: str) -> None:
        """canonical_id(to_18(x)) == canonical_id(x) for every 15-digit x."""
        assert identity.canonical_id(identity.to_18(number15)) == identity.canonical_id(number15)

    @given(st.text(max_size=25) | valid_numbers)
    def test_idempotent(self, raw: str) -> None:
        """The key of a key is the key."""
        key = identity.canonical_id(raw)
        assert identity.canonical_id(key) == key

    @given(valid_numbers)
    def test_full_width_form_agrees(self, number: str) -> None:
        """The full-width spelling of a number has the number's key."""
        assert identity.canonical_id(_full_width(number)) == number

    @given(st.lists(st.text(max_size=25) | valid_numbers, max_size=20))
    def test_remembered_answers_are_the_answers(self, raws: list[str]) -> None:
        """Asked again (answers remembered), or after the remembered answers
        were forgotten, canonical_id gives what it gave the first time."""
        first = [identity.canonical_id(r) for r in raws]
        assert [identity.canonical_id(r) for r in raws] == first
        identity._CANONICAL.clear()
        assert [identity.canonical_id(r) for r in raws] == first

    def test_remembers_a_bounded_number_of_short_texts(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """At most _CANONICAL_KEPT answers are kept (then all are forgotten at
        once), and none for a text longer than any identity number."""
        monkeypatch.setattr(identity, "_CANONICAL", {})
        monkeypatch.setattr(identity, "_CANONICAL_KEPT", 5)
        bodies = [f"37100219650302{n:03d}" for n in range(12)]
        numbers = [b + id_check_char(b) for b in bodies]
        assert [identity.canonical_id(" " + n.lower()) for n in numbers] == numbers
        assert 0 < len(identity._CANONICAL) <= 5
        assert [identity.canonical_id(" " + n.lower()) for n in numbers] == numbers
        long_text = "3" * 65
        assert identity.canonical_id(long_text) == long_text
        assert long_text not in identity._CANONICAL


class TestCanonicalName:
    """identity.canonical_name: how names are compared ([P3.3a])."""

    @pytest.mark.parametrize(
        ("raw", "canonical"),
        [
            (" 张伟 ", "张伟"),
            ("张伟\u3000", "张伟"),
            ("张\u3000伟", "张伟"),  # padded to the width of a three-character name
            ("张\u00a0 伟", "张伟"),
            ("\u200b张伟\ufeff", "张伟"),
            ("买买提·艾力", "买买提·艾力"),
            ("买买提•艾力", "买买提·艾力"),
            ("买买提．艾力", "买买提·艾力"),
            ("买买提・艾力", "买买提·艾力"),
            ("买买提‧艾力", "买买提·艾力"),
            ("买买提.艾力", "买买提·艾力"),
            ("买买提 · 艾力", "买买提·艾力"),
            ("ＺＨＡＮＧ　Ｗｅｉ", "ZHANG Wei"),
            ("Zhang   Wei", "Zhang Wei"),
            ("Zhang\tWei", "Zhang Wei"),
            ("", ""),
            ("\u3000 ", ""),
        ],
    )
    def test_examples(self, raw: str, canonical: str) -> None:
        """Each spelling's canonical form."""
        assert identity.canonical_name(raw) == canonical

    @pytest.mark.parametrize(
        "kept",
        [
            "\uf900伟",  # CJK compatibility ideograph: NFC would fold it to U+8C48
            "\u2f08伟",  # Kangxi radical: NFKC would fold it to 人
            "\u2460张",  # circled digit one: NFKC would make it 1
            "\ue000伟",  # a private-use code point (a rare character)
            "ZHANG Wei",  # letter case
        ],
    )
    def test_what_is_not_folded(self, kept: str) -> None:
        """No NFC/NFKC over the whole name: Chinese characters and case stay as given."""
        assert identity.canonical_name(kept) == kept
        assert identity.MIDDLE_DOT == "\u00b7"

    @given(name_text)
    def test_idempotent(self, name: str) -> None:
        """canonical_name(canonical_name(x)) == canonical_name(x)."""
        once = identity.canonical_name(name)
        assert identity.canonical_name(once) == once

    @given(name_text)
    def test_surrounding_spaces_do_not_count(self, name: str) -> None:
        """Any spaces around a name (ASCII, ideographic, no-break) do not count."""
        canonical = identity.canonical_name(name)
        assert identity.canonical_name(f" \u3000{name}\u00a0 ") == canonical
        assert canonical == canonical.strip()

    @given(st.text(alphabet=st.sampled_from("ABCxyz0129 -'"), max_size=20))
    def test_full_width_latin_counts_as_ascii(self, name: str) -> None:
        """A Latin name typed in full-width forms is the same name."""
        assert identity.canonical_name(_full_width(name)) == identity.canonical_name(name)
