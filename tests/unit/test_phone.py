"""SPEC B2: recipient numbers are international mobile numbers."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bannertui.domain.errors import CountryNotAuthorized, InvalidNumber
from bannertui.domain.phone import (
    FORMAT_HINT,
    PhoneCheck,
    check_number,
    normalize_input,
    parse_allow_list,
    partial_hint,
    validate_number,
)

FR_MOBILE = "+33612345678"
FR_LANDLINE = "+33123456789"
US_NUMBER = "+12015550123"
BE_MOBILE = "+32470123456"

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


# --- normalize_input -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33 6 12 34 56 78", FR_MOBILE),
        ("  +33 6 12 34 56 78\t\n", FR_MOBILE),
        ("+33\u00a06\u202f12\u00a034 56 78", FR_MOBILE),  # non-breaking spaces
        ("+33-6-12-34-56-78", FR_MOBILE),
        ("+33 6–12—34‑56−78", FR_MOBILE),  # Unicode dashes and the minus sign
        ("+33.6.12.34.56.78", FR_MOBILE),
        ("+33 (0)6 12 34 56 78", "+330612345678"),  # no other rewriting
        ("+1 (201) 555-0123", US_NUMBER),
        ("+33/6/12/34/56/78", FR_MOBILE),
        ("0033 6 12 34 56 78", FR_MOBILE),
        ("(00)33 6 12 34 56 78", FR_MOBILE),
        ("06 12 34 56 78", "0612345678"),
        ("+0033612345678", "+0033612345678"),  # only a *leading* 00
        ("", ""),
        ("   ", ""),
        ("abc", "abc"),
    ],
)
def test_normalize_input(raw: str, expected: str) -> None:
    assert normalize_input(raw) == expected


# --- check_number --------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "+33-6-12-34-56-78",
        "+33 (6) 12.34.56.78",
        "\u00a0+33\u00a06\u00a012\u00a034\u00a056\u00a078\u00a0",
    ],
)
def test_french_mobile_is_valid(raw: str) -> None:
    result = check_number(raw, describe=True)
    assert result.valid
    assert result.error is None
    assert result.detail is None
    assert result.e164 == FR_MOBILE
    assert result.region == "FR"
    assert result.type == "MOBILE"
    assert result.region_name == "France"
    assert result.formatted == "+33 6 12 34 56 78"


def test_as_dict_has_exactly_the_cli_keys_in_order() -> None:
    assert check_number("+33 6 12 34 56 78").as_dict() == {
        "e164": FR_MOBILE,
        "region": "FR",
        "type": "MOBILE",
        "valid": True,
        "error": None,
    }
    assert list(check_number("nonsense").as_dict()) == ["e164", "region", "type", "valid", "error"]


def test_landline_is_invalid_but_understood() -> None:
    result = check_number("+33 1 23 45 67 89")
    assert not result.valid
    assert result.error == "Invalid number"
    assert result.type == "FIXED_LINE"
    assert result.e164 == FR_LANDLINE
    assert result.region == "FR"
    assert result.detail == "landline numbers are not accepted"
    assert result.as_dict() == {
        "e164": FR_LANDLINE,
        "region": "FR",
        "type": "FIXED_LINE",
        "valid": False,
        "error": "Invalid number",
    }


def test_other_non_mobile_types_are_invalid() -> None:
    result = check_number("+33 9 12 34 56 78")  # French VoIP range
    assert result.error == "Invalid number"
    assert result.type == "VOIP"
    assert result.detail == "VoIP numbers are not accepted"


def test_us_number_fixed_line_or_mobile_is_accepted() -> None:
    result = check_number("+1 201-555-0123")
    assert result.valid
    assert result.type == "FIXED_LINE_OR_MOBILE"
    assert result.region == "US"
    assert result.e164 == US_NUMBER


@pytest.mark.parametrize("raw", ["06 12 34 56 78", "0612345678", "612345678", "33612345678"])
def test_national_format_is_invalid(raw: str) -> None:
    result = check_number(raw)
    assert result.error == "Invalid number"
    assert result.e164 is None
    assert result.detail == "expected international format starting with + or 00"


def test_too_short_and_too_long_are_invalid_but_understood() -> None:
    short = check_number("+33 6 12")
    assert short.error == "Invalid number"
    assert short.region == "FR"
    assert short.detail == "too short for +33 (FR)"
    long = check_number("+33 6 12 34 56 78 9")
    assert long.error == "Invalid number"
    assert long.e164 == "+336123456789"
    assert long.detail == "too long for +33 (FR)"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "+",
        "00",
        "+0",
        "+999 123 456",  # unassigned country code
        "garbage",
        "+33 6 12 34 56 7x",
        "+1 800 FLOWERS",  # letters are not digits here
        "+33 6 12 34 56 78 ext. 12",  # no extensions on an SMS recipient
        "+33 6 12 34 56 78\x00",
        "\x00",
        "+33\ud800612345678",  # lone surrogate
        "\udfff",
        "+" + "6" * 10_000,
        "+33 6 12 34 56 78" + " " * 10_000,
        "x" * 10_000,
        "+33 6 12 34 56 78 +33 6 12 34 56 78",
        "++33612345678",
        "+33+612345678",
    ],
)
def test_garbage_is_invalid_without_raising(raw: str) -> None:
    result = check_number(raw)
    assert result.error == "Invalid number"
    assert not result.valid
    assert result.detail
    with pytest.raises(InvalidNumber):
        validate_number(raw)


def test_unicode_digits_are_understood() -> None:
    assert check_number("+３３ ６ １２ ３４ ５６ ７８").e164 == FR_MOBILE  # fullwidth


def test_non_geographic_mobile_has_region_001() -> None:
    result = check_number("+882 34 21234")
    assert result.valid
    assert result.region == "001"
    assert result.type == "MOBILE"
    assert result.region_name is None
    assert check_number("+882 34 21234", ["001"]).valid
    assert check_number("+882 34 21234", ["FR"]).error == "Country not authorized"


# --- allow-list ------------------------------------------------------------------


def test_allow_list_accepts_listed_country() -> None:
    assert check_number(FR_MOBILE, {"FR", "GB"}).valid


def test_allow_list_refuses_other_country() -> None:
    result = check_number("+32 470 12 34 56", ["GB", "FR"])
    assert result.error == "Country not authorized"
    assert not result.valid
    assert result.e164 == BE_MOBILE
    assert result.region == "BE"
    assert result.type == "MOBILE"
    assert result.detail == "+32 (BE) is not in the authorized list: FR, GB"


@pytest.mark.parametrize("allowed", [["fr"], ["Fr"], [" fr "], "fr", "be, fr"])
def test_allow_list_is_case_insensitive(allowed: list[str] | str) -> None:
    assert check_number(FR_MOBILE, allowed).valid


def test_empty_allow_list_authorizes_nothing() -> None:
    assert check_number(FR_MOBILE, []).error == "Country not authorized"
    assert check_number(FR_MOBILE, None).valid


def test_format_errors_come_before_the_country_check() -> None:
    assert check_number("+33 1 23 45 67 89", ["GB"]).error == "Invalid number"
    assert check_number("06 12 34 56 78", ["GB"]).error == "Invalid number"
    assert check_number("+33 6 12", ["GB"]).error == "Invalid number"


def test_allow_list_applies_to_the_exact_region_of_shared_codes() -> None:
    # +1 is shared by the US, Canada and the Caribbean: the region is the number's own.
    assert check_number(US_NUMBER, ["CA"]).error == "Country not authorized"
    assert check_number(US_NUMBER, ["US"]).valid


@pytest.mark.parametrize(
    ("number", "attributed", "also_valid_for"),
    [("+39 312 345 6789", "IT", "VA"), ("+44 7924 123456", "GB", "IM")],
)
def test_allow_list_honours_regions_sharing_a_range(
    number: str, attributed: str, also_valid_for: str
) -> None:
    assert check_number(number).region == attributed
    assert check_number(number, [attributed]).valid
    assert check_number(number, [also_valid_for.lower()]).valid
    assert check_number(number, ["FR"]).error == "Country not authorized"


def test_region_name_for_a_range_shared_by_several_regions() -> None:
    assert check_number("+39 312 345 6789", describe=True).region_name == "Italy"
    assert check_number("+1 201", describe=True).region_name is None  # ambiguous and invalid


# --- validate_number -------------------------------------------------------------


def test_validate_number_returns_e164() -> None:
    assert validate_number("0033 6 12 34 56 78") == FR_MOBILE
    assert validate_number("+33 6 12 34 56 78", ["fr"]) == FR_MOBILE


def test_validate_number_raises_invalid_number_with_detail() -> None:
    with pytest.raises(InvalidNumber) as landline:
        validate_number("+33 1 23 45 67 89")
    assert landline.value.name == "Invalid number"
    assert landline.value.detail == "landline numbers are not accepted"
    assert landline.value.message == "Invalid number: landline numbers are not accepted"

    with pytest.raises(InvalidNumber) as national:
        validate_number("06 12 34 56 78")
    assert national.value.detail == "expected international format starting with + or 00"


def test_validate_number_raises_country_not_authorized_with_detail() -> None:
    with pytest.raises(CountryNotAuthorized) as info:
        validate_number("+32 470 12 34 56", ["FR", "GB"])
    assert info.value.name == "Country not authorized"
    assert info.value.detail == "+32 (BE) is not in the authorized list: FR, GB"


# --- parse_allow_list ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FR,BE, gb", {"FR", "BE", "GB"}),
        ("fr", {"FR"}),
        (" fr ; be  gb,", {"FR", "BE", "GB"}),
        ("FR,FR,fr", {"FR"}),
        ("", set()),
        (" , ", set()),
    ],
)
def test_parse_allow_list(text: str, expected: set[str]) -> None:
    assert parse_allow_list(text) == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "bad"),
    [("FR,XX", "XX"), ("FRA", "FRA"), ("FR,001", "001"), ("uk", "UK"), ("F", "F")],
)
def test_parse_allow_list_names_the_bad_code(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        parse_allow_list(text)


# --- partial_hint ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("0", ""),
        ("06", FORMAT_HINT),
        ("6 12", FORMAT_HINT),
        ("+", "Type the country code (+33 for France)"),
        ("00", "Type the country code (+33 for France)"),
        ("+3", "Type the country code (+33 for France)"),
        ("+33", "France (+33)…"),
        ("0033", "France (+33)…"),
        ("+33 6", "France (+33)… +33 6"),
        ("+33612", "France (+33)… +33 6 12"),
        ("+33 6 12 34 56 78", "France (+33) · +33 6 12 34 56 78"),
        ("+33 1 23 45 67 89", "Invalid number: landline numbers are not accepted"),
        ("+33 6 12 34 56 78 9", "Invalid number: too long for +33 (FR)"),
        ("+1", "+1 (US, AG, AI, …)…"),
        ("+1 201", "+1 (US, AG, AI, …)… +1 201"),
        ("+1 201 555 0123", "United States (+1) · +1 201-555-0123"),
        ("+7", "+7 (RU, KZ)…"),
        ("+882", "+882 (international)…"),
        ("+999", "Invalid number: unknown country code"),
        ("+33x", "Invalid number: only digits may follow the +"),
        ("+" + "6" * 10_000, "Invalid number: too long"),
    ],
)
def test_partial_hint(raw: str, expected: str) -> None:
    assert partial_hint(raw) == expected


def test_partial_hint_with_allow_list() -> None:
    assert partial_hint("+32 470 12 34 56", allowed_regions=["FR"]) == (
        "Country not authorized: +32 (BE) is not in the authorized list: FR"
    )
    assert partial_hint("+32 470", allowed_regions=["FR"]) == "Belgium (+32)… +32 470"


# --- every region of the phonenumbers metadata -----------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_example_mobile_is_accepted(region: str) -> None:
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        pytest.skip(f"no example mobile number for {region}")
    e164 = _e164(example)
    result = check_number(e164, [region])
    assert result.valid, result
    assert result.e164 == e164
    assert result.type in {"MOBILE", "FIXED_LINE_OR_MOBILE"}
    # Regions sharing a calling code share ranges (AX/FI, VA/IT, IM/GB...): the
    # reported region is the one phonenumbers attributes the number to.
    assert result.region == phonenumbers.region_code_for_number(example)
    assert result.region == region or phonenumbers.is_valid_number_for_region(example, region)


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_example_fixed_line_is_refused(region: str) -> None:
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.FIXED_LINE)
    if example is None:
        pytest.skip(f"no example fixed-line number for {region}")
    result = check_number(_e164(example))
    if phonenumbers.number_type(example) == PhoneNumberType.FIXED_LINE_OR_MOBILE:
        assert result.valid, result
        assert result.type == "FIXED_LINE_OR_MOBILE"
    else:
        assert result.error == "Invalid number", result
        assert result.e164 == _e164(example)


# --- properties ------------------------------------------------------------------

_EXAMPLE_NUMBERS = [
    _e164(number)
    for region in REGIONS
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
]

_separators = st.sampled_from([" ", "-", ".", "(", ")", "/", "\u00a0", ""])


@st.composite
def _phone_like(draw: st.DrawFn) -> str:
    """An example number, possibly 00-prefixed, with separators and small edits."""
    number = draw(st.sampled_from(_EXAMPLE_NUMBERS))
    digits = list(number[1:])
    if draw(st.booleans()) and digits:  # change, drop or add a digit
        index = draw(st.integers(0, len(digits) - 1))
        edit = draw(st.sampled_from(["change", "drop", "add"]))
        digit = draw(st.sampled_from("0123456789"))
        if edit == "change":
            digits[index] = digit
        elif edit == "drop":
            del digits[index]
        else:
            digits.insert(index, digit)
    prefix = draw(st.sampled_from(["+", "00", "+ ", " +"]))
    return prefix + "".join(digit + draw(_separators) for digit in digits)


_any_input = st.one_of(
    st.text(),
    st.text(
        alphabet=st.one_of(
            st.characters(),
            st.characters(categories=["Cs"]),  # lone surrogates
            st.sampled_from("+0123456789 \x00"),
        ),
        max_size=80,
    ),
    st.from_regex(r"\A(\+|00)?[0-9 ()./-]{0,30}\Z"),
    _phone_like(),
)


@given(raw=_any_input, allowed=st.none() | st.frozensets(st.sampled_from(REGIONS), max_size=3))
def test_check_number_never_raises(raw: str, allowed: frozenset[str] | None) -> None:
    result = check_number(raw, allowed)
    assert isinstance(result, PhoneCheck)
    assert result.error in {None, "Invalid number", "Country not authorized"}
    assert result.valid == (result.error is None)
    if result.valid:
        assert result.e164 is not None
        assert result.type in {"MOBILE", "FIXED_LINE_OR_MOBILE"}
    else:
        assert result.detail
    assert isinstance(partial_hint(raw), str)


@settings(max_examples=300)
@given(raw=_any_input)
def test_valid_e164_rechecks_to_the_same_result(raw: str) -> None:
    result = check_number(raw)
    if result.valid:
        assert result.e164 is not None
        assert check_number(result.e164) == result
        assert validate_number(raw) == result.e164
