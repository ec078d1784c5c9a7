"""Recipient numbers (SPEC B2): international format, mobile only.

Validation relies entirely on the metadata shipped with :mod:`phonenumbers`;
there is no hand-written country table here.  The rules, in order:

1. the input, once separators are removed (:func:`normalize_input`), starts
   with ``+`` (a leading ``00`` counts as ``+``); no default region is assumed;
2. only digits follow the ``+`` (no letters, no extension);
3. :func:`phonenumbers.is_valid_number` accepts it;
4. its type is ``MOBILE`` or ``FIXED_LINE_OR_MOBILE`` (the latter for the
   regions, such as the US, where the two cannot be told apart);
5. when an allow-list is given, the number's region is in it (or, for
   regions sharing a calling code and its ranges, such as IT and VA, the
   number is also valid for an allowed region).

Failing 1-4 is "Invalid number", failing 5 is "Country not authorized".
Non-geographic numbers (``+882``, ``+881``...) have the region ``"001"``.

The English country names come from :mod:`phonenumbers.geocoder`, which loads
a large data set: it is imported on first use only, so importing this module
stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)

from bannertui.domain.errors import CountryNotAuthorized, InvalidNumber

__all__ = [
    "COUNTRY_CODE_HINT",
    "FORMAT_HINT",
    "MAX_INPUT_LENGTH",
    "NON_GEOGRAPHIC_REGION",
    "PhoneCheck",
    "check_number",
    "normalize_input",
    "parse_allow_list",
    "partial_hint",
    "validate_number",
]

MAX_INPUT_LENGTH = 64
"""Longest accepted input once normalized (E.164 itself is at most 16 characters)."""

_MAX_RAW_LENGTH = 256
"""Longer raw inputs are refused before any work is done on them."""

NON_GEOGRAPHIC_REGION = "001"

FORMAT_HINT = "Type the number in international format (+33 6 12 34 56 78)"
COUNTRY_CODE_HINT = "Type the country code (+33 for France)"

_INVALID = InvalidNumber.name
_NOT_AUTHORIZED = CountryNotAuthorized.name

_ACCEPTED_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

_TYPE_LABELS = {
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "UAN",
    PhoneNumberType.VOICEMAIL: "voicemail",
}

_PARSE_DETAILS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

_TOO_SHORT_PARSE_ERRORS = frozenset(
    {
        NumberParseException.NOT_A_NUMBER,
        NumberParseException.TOO_SHORT_AFTER_IDD,
        NumberParseException.TOO_SHORT_NSN,
    }
)
_TOO_SHORT_REASONS = frozenset({ValidationResult.TOO_SHORT, ValidationResult.INVALID_LENGTH})

# Separators removed by normalize_input, besides whitespace and dash punctuation (Pd).
_SEPARATORS = frozenset(".()/\u2212")  # U+2212 MINUS SIGN is not in Pd

# "+" then Unicode decimal digits only: phonenumbers maps them to ASCII itself.
_INTERNATIONAL_DIGITS_RE = re.compile(r"\+\d+")


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """What :func:`check_number` understood of an input, and its verdict.

    ``e164``, ``region``, ``type``, ``region_name`` and ``formatted`` are filled
    whenever the number could be parsed, even when it is refused, so that the UI
    can show what it understood.  ``error`` is ``None`` or the exact SPEC B12
    name ("Invalid number", "Country not authorized"); ``detail`` says why.
    """

    e164: str | None
    region: str | None
    type: str | None
    error: str | None
    region_name: str | None = None
    formatted: str | None = None
    detail: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, str | bool | None]:
        """The machine-readable verdict printed by the CLI (exactly these keys, in this order)."""
        return {
            "e164": self.e164,
            "region": self.region,
            "type": self.type,
            "valid": self.valid,
            "error": self.error,
        }


def normalize_input(raw: str) -> str:
    """Strip ``raw``, drop spaces, dashes, dots, parentheses and slashes, turn a leading 00 into +.

    Spaces are any Unicode whitespace (including non-breaking spaces) and dashes
    any Unicode dash (category Pd) or the minus sign.  Nothing else is rewritten.
    """
    text = "".join(
        ch
        for ch in raw.strip()
        if not (ch.isspace() or ch in _SEPARATORS or unicodedata.category(ch) == "Pd")
    )
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def check_number(
    raw: str, allowed_regions: Iterable[str] | None = None, *, describe: bool = False
) -> PhoneCheck:
    """Check ``raw`` against SPEC B2 and the optional allow-list; never raises.

    ``describe`` fills ``region_name`` (the English country name), which loads
    phonenumbers' geocoder data the first time: for display, not for the rules.

    ``allowed_regions`` holds ISO 3166 alpha-2 codes, in any case (a single
    string is read as a comma-separated list).  ``None`` means every country is
    authorized; an empty collection means none is.
    """
    if len(raw) > _MAX_RAW_LENGTH:
        return _invalid("too long")
    text = normalize_input(raw)
    if not text:
        return _invalid("the number is empty")
    if not text.startswith("+"):
        return _invalid("expected international format starting with + or 00")
    if len(text) > MAX_INPUT_LENGTH:
        return _invalid("too long")
    if not _INTERNATIONAL_DIGITS_RE.fullmatch(text):
        return _invalid("only digits may follow the +")
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        return _invalid(_PARSE_DETAILS.get(exc.error_type, "not a phone number"))

    region = phonenumbers.region_code_for_number(number)
    number_type = phonenumbers.number_type(number)

    def verdict(error: str | None, detail: str | None = None) -> PhoneCheck:
        return PhoneCheck(
            e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
            region=region,
            type=PhoneNumberType.to_string(number_type),
            error=error,
            region_name=_country_name_for_number(number) if describe else None,
            formatted=phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
            detail=detail,
        )

    label = _label(number.country_code, region)
    if not phonenumbers.is_valid_number(number):
        return verdict(_INVALID, _invalid_detail(number, label))
    if number_type not in _ACCEPTED_TYPES:
        kind = _TYPE_LABELS.get(number_type, "non-mobile")
        return verdict(_INVALID, f"{kind} numbers are not accepted")
    if allowed_regions is not None:
        allowed = _normalize_regions(allowed_regions)
        if not _is_authorized(number, region, allowed):
            listed = ", ".join(sorted(allowed)) if allowed else "(empty)"
            return verdict(_NOT_AUTHORIZED, f"{label} is not in the authorized list: {listed}")
    return verdict(None)


def validate_number(raw: str, allowed_regions: Iterable[str] | None = None) -> str:
    """The E.164 form of ``raw``, or :class:`InvalidNumber` / :class:`CountryNotAuthorized`."""
    result = check_number(raw, allowed_regions)
    if result.error == _NOT_AUTHORIZED:
        raise CountryNotAuthorized(result.detail)
    if result.error is not None or result.e164 is None:
        raise InvalidNumber(result.detail)
    return result.e164


def parse_allow_list(text: str) -> frozenset[str]:
    """Parse ``"FR,BE, gb"`` into ``{"FR", "BE", "GB"}``.

    Codes are separated by commas, semicolons or whitespace, in any case.  Raises
    :class:`ValueError` naming the first code phonenumbers does not support.
    An empty text gives an empty set (which, passed to :func:`check_number`,
    authorizes no country).
    """
    codes = [code.upper() for code in re.split(r"[\s,;]+", text) if code]
    for code in codes:
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region code: {code!r}")
    return frozenset(codes)


def partial_hint(raw: str, *, allowed_regions: Iterable[str] | None = None) -> str:
    """A short plain-text hint for an input being typed.

    - ``""`` for an empty input (or a lone ``0``, which may become ``00``);
    - :data:`FORMAT_HINT` when the input is not international;
    - the country once its code is recognised, with the digits formatted as
      typed (``"France (+33)… +33 6 12"``);
    - for a complete, acceptable number, the country and the formatted number
      (``"France (+33) · +33 6 12 34 56 78"``);
    - otherwise the refusal, as ``"Invalid number: landline numbers are not accepted"``.
    """
    if len(raw) > _MAX_RAW_LENGTH:
        return f"{_INVALID}: too long"
    text = normalize_input(raw)
    if text in ("", "0"):
        return ""
    if not text.startswith("+"):
        return FORMAT_HINT
    if text == "+":
        return COUNTRY_CODE_HINT
    if len(text) > MAX_INPUT_LENGTH:
        return f"{_INVALID}: too long"
    if not _INTERNATIONAL_DIGITS_RE.fullmatch(text):
        return f"{_INVALID}: only digits may follow the +"
    digits = "".join(str(int(ch)) for ch in text[1:])  # any Unicode digit -> ASCII
    code = _leading_country_code(digits)
    if code is None:
        return f"{_INVALID}: unknown country code" if len(digits) >= 3 else COUNTRY_CODE_HINT
    country_code, code_length = code
    label = _country_label(country_code)
    if len(digits) == code_length:
        return f"{label}…"

    result = check_number(text, allowed_regions, describe=True)
    if result.valid:
        country = f"{result.region_name} (+{country_code})" if result.region_name else label
        return f"{country} · {result.formatted}"
    if result.error == _INVALID and _is_incomplete(text):
        return f"{label}… {_as_you_type('+' + digits)}"
    return f"{result.error}: {result.detail}"


# --- helpers ------------------------------------------------------------------


def _invalid(detail: str) -> PhoneCheck:
    return PhoneCheck(e164=None, region=None, type=None, error=_INVALID, detail=detail)


def _label(country_code: int | None, region: str | None) -> str:
    """``"+32 (BE)"``, or ``"+1"`` when the region is ambiguous."""
    return f"+{country_code} ({region})" if region else f"+{country_code}"


def _invalid_detail(number: PhoneNumber, label: str) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.TOO_SHORT:
        return f"too short for {label}"
    if reason == ValidationResult.TOO_LONG:
        return f"too long for {label}"
    if reason == ValidationResult.INVALID_LENGTH:
        return f"wrong length for {label}"
    return f"not a valid number for {label}"


def _is_incomplete(text: str) -> bool:
    """Whether ``text`` is refused only for being too short (more digits may make it valid)."""
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        return exc.error_type in _TOO_SHORT_PARSE_ERRORS
    if phonenumbers.is_valid_number(number):
        return False
    return phonenumbers.is_possible_number_with_reason(number) in _TOO_SHORT_REASONS


def _is_authorized(number: PhoneNumber, region: str | None, allowed: frozenset[str]) -> bool:
    """Whether the number's region is allowed.

    Regions sharing a calling code (IT and VA, GB and IM, FI and AX...) often
    share number ranges, and phonenumbers then attributes the number to the
    main region: such a number is also authorized by any allowed region it is
    valid for.
    """
    if region in allowed:
        return True
    if number.country_code is None:
        return False
    return any(
        phonenumbers.is_valid_number_for_region(number, other)
        for other in phonenumbers.region_codes_for_country_code(number.country_code)
        if other in allowed
    )


def _normalize_regions(regions: Iterable[str]) -> frozenset[str]:
    if isinstance(regions, str):
        regions = regions.split(",")
    return frozenset(code.strip().upper() for code in regions)


def _leading_country_code(digits: str) -> tuple[int, int] | None:
    """The country calling code ``digits`` starts with, and its length (codes are prefix-free)."""
    if digits.startswith("0"):
        return None
    for length in range(1, min(3, len(digits)) + 1):
        country_code = int(digits[:length])
        if phonenumbers.region_code_for_country_code(country_code) != "ZZ":
            return country_code, length
    return None


def _country_label(country_code: int) -> str:
    """How a country calling code reads in a hint.

    ``"France (+33)"``, ``"+7 (RU, KZ)"``, ``"+44 (GB, GG, IM, …)"`` or ``"+882 (international)"``.
    """
    regions = phonenumbers.region_codes_for_country_code(country_code)
    if regions == (NON_GEOGRAPHIC_REGION,):
        return f"+{country_code} (international)"
    if len(regions) == 1:
        name = _country_name_for_number(PhoneNumber(country_code=country_code))
        return f"{name or regions[0]} (+{country_code})"
    shown = ", ".join(regions[:3]) + (", …" if len(regions) > 3 else "")
    return f"+{country_code} ({shown})"


def _as_you_type(text: str) -> str:
    """``text`` (``+`` and ASCII digits) formatted as phonenumbers formats it while typing."""
    formatter = phonenumbers.AsYouTypeFormatter("ZZ")
    formatted = text
    for ch in text:
        formatted = formatter.input_digit(ch)
    return formatted


def warm_up() -> None:
    """Load the country-name data now (it takes a moment the first time), e.g. from a thread
    when a form opens, so that typing never waits for it."""
    from phonenumbers import geocoder  # noqa: F401


def _country_name_for_number(number: PhoneNumber) -> str | None:
    """The English name of the number's country, or ``None`` when unknown or ambiguous."""
    # Imported on first use: phonenumbers.geocoder loads ~20 MB of geographic data.
    from phonenumbers import geocoder

    # country_name_for_number gives "" when several regions share the number
    # (+39 for IT and VA); description_for_valid_number, asked on behalf of a
    # user from another region ("ZZ"), names the region phonenumbers attributes
    # the number to (documented: "the phone number's region will be returned").
    name = geocoder.country_name_for_number(number, "en")
    if not name and phonenumbers.region_code_for_number(number) is not None:
        name = geocoder.description_for_valid_number(number, "en", region="ZZ")
    return name or None
